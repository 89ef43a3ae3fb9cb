// SPDX-License-Identifier: MIT
/*
 * Fuzz target for magicsock/stun: the input is one UDP payload.
 *
 * Properties checked besides memory safety:
 *  - stun_parse() accepts only what stun_is_message() recognises;
 *  - a parsed XOR-MAPPED-ADDRESS survives a round trip through our own
 *    response builder (same transaction id, same address and port);
 *  - MESSAGE-INTEGRITY checking never reads outside the message.
 */
#include <string.h>

#include "fuzz.h"
#include "magicsock/stun.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[STUN_MAX_MESSAGE];
	struct stun_message m, again;
	size_t n;

	if (stun_parse(data, size, &m))
		return 0;
	FUZZ_CHECK(stun_is_message(data, size));
	if (m.has_integrity)
		(void)stun_check_integrity(data, size, &m, (const uint8_t *)"key", 3);
	if (!m.has_xor_mapped)
		return 0;
	n = stun_build_binding_response(out, sizeof(out), m.txid, &m.xor_mapped, "fuzz");
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(stun_parse(out, n, &again) == 0);
	FUZZ_CHECK(again.has_xor_mapped && again.has_fingerprint);
	FUZZ_CHECK(!memcmp(again.txid, m.txid, STUN_TXID_LEN));
	FUZZ_CHECK(again.xor_mapped.port == m.xor_mapped.port);
	FUZZ_CHECK(ip_addr_equal(&again.xor_mapped.addr, &m.xor_mapped.addr));
	return 0;
}
