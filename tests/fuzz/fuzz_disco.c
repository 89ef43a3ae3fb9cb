// SPDX-License-Identifier: MIT
/*
 * Fuzz target for magicsock/disco: the input is one UDP payload (or relayed
 * packet) opened with a fixed shared key, the one the seed corpus was sealed
 * with (keys below: crypto_box key pairs from fixed seeds).
 *
 * Properties checked besides memory safety:
 *  - disco_open() accepts only what disco_is_message() recognises;
 *  - whatever opens re-seals and opens again to the same message.
 */
#include <string.h>

#include <sodium.h>

#include "fuzz.h"
#include "magicsock/disco.h"

static uint8_t shared[32], sender_pub[32];

static void init_keys(void)
{
	static bool done;
	uint8_t seed[32], a_priv[32], b_pub[32], b_priv[32];

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	memset(seed, 'a', sizeof(seed));
	crypto_box_seed_keypair(sender_pub, a_priv, seed);
	memset(seed, 'b', sizeof(seed));
	crypto_box_seed_keypair(b_pub, b_priv, seed);
	FUZZ_CHECK(disco_shared_key(shared, b_priv, sender_pub) == 0);
	done = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[DISCO_HEADER_LEN + DISCO_TAG_LEN + 2 + 44 + DISCO_MAX_PADDING];
	struct disco_msg m, again;
	size_t n;

	init_keys();
	if (disco_open(data, size, shared, &m))
		return 0;
	FUZZ_CHECK(disco_is_message(data, size));
	n = disco_seal(out, sizeof(out), sender_pub, shared, &m);
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(disco_open(out, n, shared, &again) == 0);
	FUZZ_CHECK(again.type == m.type && again.n_endpoints == m.n_endpoints);
	FUZZ_CHECK(!memcmp(again.txid, m.txid, sizeof(m.txid)));
	return 0;
}
