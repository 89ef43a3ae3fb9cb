// SPDX-License-Identifier: MIT
/*
 * mac1/mac2 and cookie replies: the known-answer values (MAC keys, mac1 and
 * mac2 of the vector initiation, the vector cookie reply), the under-load
 * flow end to end, cookie and secret lifetimes, one reply per mac1, source
 * binding, tampering and bad lengths.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/blake2s.h"
#include "crypto/keys.h"
#include "wg/cookie.h"
#include "wg/noise.h"
#include "wg/wg_proto.h"

#define SEC(s) ((uint64_t)(s)*WG_NSEC_PER_SEC)

static const uint64_t t0 = SEC(5000);

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void assert_hex_equal(const uint8_t *got, size_t len, const char *want_hex)
{
	uint8_t want[256];

	assert_int_equal(unhex(want, sizeof(want), want_hex), len);
	assert_memory_equal(got, want, len);
}

/* The known-answer vector's keys and messages (see test_noise.c). */
static const char kat_i_pub[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char kat_r_pub[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char kat_initiation[] =
	"0100000044332211358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"
	"c4d95d121b13f6ff24fe1e983a4c71ae6c55e2763a0d1de7643d6725687b49e7a55fea10050d69b8"
	"b69a79893d649b339434a506fe739697f7b0e3c44db2dfd4872741d32a58246ebde269f3d65e7713"
	"b0ee5979e1cce713c9afa3e300000000000000000000000000000000";
static const char kat_response[] =
	"02000000887766554433221179a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89"
	"af85a51a5088f4559e6cb5e5720e4523f573eb9b9bd8572e82c36cc7b6d7a521da35d32d00000000"
	"000000000000000000000000";
static const char kat_cookie_reply[] =
	"0300000044332211a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7"
	"3aadda47c0113a2249c6b0ac31e91099405f6d1bc9517720b19311bb5db78ea8";

/* Scripted randomness for the checker: hand out these bytes, then libsodium's. */
struct script {
	uint8_t bytes[128];
	size_t len, pos;
};

static void script_random(void *ctx, void *buf, size_t len)
{
	struct script *s = ctx;

	if (s->pos + len <= s->len) {
		memcpy(buf, s->bytes + s->pos, len);
		s->pos += len;
	} else {
		randombytes_buf(buf, len);
	}
}

static void test_kat_macs(void **state)
{
	uint8_t ipub[32], rpub[32], msg[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN];
	struct cookie_maker to_r, to_i;
	struct cookie_checker at_r, at_i;

	(void)state;
	unhex(ipub, 32, kat_i_pub);
	unhex(rpub, 32, kat_r_pub);
	cookie_maker_init(&to_r, rpub);
	cookie_checker_init(&at_r, rpub, NULL, NULL);
	assert_hex_equal(to_r.message_mac1_key, 32,
			 "52c0a95717f46ba7941f80cec1ead35984c9f023a996170d9e47e314d260dc96");
	assert_memory_equal(at_r.message_mac1_key, to_r.message_mac1_key, 32);
	assert_hex_equal(at_r.cookie_encryption_key, 32,
			 "da2c25a7f8182d2a7a58b0978d9dcd7e5f76c3fcf138fd6e5754404304cacba0");
	assert_memory_equal(to_r.cookie_decryption_key, at_r.cookie_encryption_key, 32);

	/* mac1 of the vector initiation, recomputed over its first 116 bytes. */
	unhex(msg, sizeof(msg), kat_initiation);
	memset(msg + INITIATION_OFF_MAC1, 0xee, 32);
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0);
	assert_hex_equal(msg, sizeof(msg), kat_initiation);
	assert_true(to_r.have_sent_mac1);
	assert_memory_equal(to_r.last_mac1_sent, msg + INITIATION_OFF_MAC1, 16);
	assert_int_equal(cookie_validate_packet(&at_r, msg, sizeof(msg), NULL, 0, false, t0),
			 COOKIE_MAC_VALID_NO_COOKIE);

	/* The response's mac1 is keyed with the initiator's public key. */
	cookie_maker_init(&to_i, ipub);
	cookie_checker_init(&at_i, ipub, NULL, NULL);
	unhex(resp, sizeof(resp), kat_response);
	memset(resp + RESPONSE_OFF_MAC1, 0, 32);
	cookie_add_mac_to_packet(&to_i, resp, sizeof(resp), t0);
	assert_hex_equal(resp, sizeof(resp), kat_response);
	assert_int_equal(cookie_validate_packet(&at_i, resp, sizeof(resp), NULL, 0, false, t0),
			 COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(cookie_validate_packet(&at_r, resp, sizeof(resp), NULL, 0, false, t0),
			 COOKIE_MAC_INVALID);

	/* mac2 with the vector's cookie 00..0f. */
	for (int i = 0; i < 16; i++)
		to_r.cookie[i] = (uint8_t)i;
	to_r.have_cookie = true;
	to_r.cookie_birth_ns = t0;
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0);
	assert_hex_equal(msg + INITIATION_OFF_MAC2, 16, "719ebf6e7dcafcfdd041d6c28d70ce63");
}

static void test_kat_cookie_reply_consume(void **state)
{
	uint8_t rpub[32], msg[MESSAGE_INITIATION_LEN], reply[MESSAGE_COOKIE_REPLY_LEN];
	struct cookie_maker to_r;

	(void)state;
	unhex(rpub, 32, kat_r_pub);
	cookie_maker_init(&to_r, rpub);
	unhex(reply, sizeof(reply), kat_cookie_reply);

	/* No mac1 sent yet: there is nothing the reply can answer. */
	assert_int_equal(cookie_message_consume(&to_r, reply, sizeof(reply), t0), -ENOENT);

	unhex(msg, sizeof(msg), kat_initiation);
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0);
	assert_int_equal(cookie_message_consume(&to_r, reply, sizeof(reply), t0 + 7), 0);
	assert_hex_equal(to_r.cookie, 16, "000102030405060708090a0b0c0d0e0f");
	assert_true(to_r.have_cookie);
	assert_int_equal(to_r.cookie_birth_ns, t0 + 7);
	assert_false(to_r.have_sent_mac1);
	/* One cookie per mac1: the same reply again is refused. */
	assert_int_equal(cookie_message_consume(&to_r, reply, sizeof(reply), t0), -ENOENT);

	/* And the next initiation carries the vector's mac2. */
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0 + 8);
	assert_hex_equal(msg + INITIATION_OFF_MAC2, 16, "719ebf6e7dcafcfdd041d6c28d70ce63");
}

/* The reply we build: header, echoed index, nonce from the RNG, cookie = MAC(secret, source). */
static void test_cookie_reply_create(void **state)
{
	uint8_t rpub[32], msg[MESSAGE_INITIATION_LEN], reply[MESSAGE_COOKIE_REPLY_LEN];
	uint8_t want_cookie[16];
	static const uint8_t src[] = {192, 0, 2, 1, 0xca, 0xfe};
	struct cookie_checker at_r;
	struct cookie_maker to_r;
	struct script rng = {.len = 24 + 32};

	(void)state;
	for (int i = 0; i < 24; i++)
		rng.bytes[i] = (uint8_t)(0xa0 + i);
	memset(rng.bytes + 24, 0x5a, 32); /* the cookie secret */
	unhex(rpub, 32, kat_r_pub);
	cookie_checker_init(&at_r, rpub, script_random, &rng);
	cookie_maker_init(&to_r, rpub);
	unhex(msg, sizeof(msg), kat_initiation);
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0);

	assert_int_equal(
		cookie_message_create(&at_r, reply, msg, sizeof(msg), src, sizeof(src), t0), 0);
	assert_int_equal(rng.pos, 24 + 32);
	assert_hex_equal(reply, 32,
			 "0300000044332211a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7");
	assert_int_equal(wg_message_classify(reply, sizeof(reply)), MESSAGE_HANDSHAKE_COOKIE);

	blake2s(want_cookie, 16, src, sizeof(src), rng.bytes + 24, 32);
	assert_int_equal(cookie_message_consume(&to_r, reply, sizeof(reply), t0), 0);
	assert_memory_equal(to_r.cookie, want_cookie, 16);

	/* The sealed cookie is bound to the answered mac1 (AD): another message's won't open it. */
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0); /* same bytes, same mac1 */
	assert_int_equal(cookie_message_consume(&to_r, reply, sizeof(reply), t0), 0);
	msg[10] ^= 1;
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0); /* a different mac1 */
	assert_int_equal(cookie_message_consume(&to_r, reply, sizeof(reply), t0), -EBADMSG);
	assert_true(to_r.have_sent_mac1);
}

/* The whole under-load exchange with real handshake messages. */
static void test_under_load_flow(void **state)
{
	uint8_t ipriv[32], ipub[32], rpriv[32], rpub[32];
	uint8_t init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN];
	uint8_t reply[MESSAGE_COOKIE_REPLY_LEN], zero[16] = {0};
	static const uint8_t src[] = {10, 0, 0, 1, 0x12, 0x34}, other[] = {10, 0, 0, 2, 0x12, 0x34};
	struct noise_static_identity iid;
	struct noise_handshake ihs;
	struct cookie_maker to_r, to_i;
	struct cookie_checker at_r, at_i;

	(void)state;
	key_generate_private(ipriv);
	key_generate_private(rpriv);
	assert_int_equal(key_public_from_private(ipub, ipriv), 0);
	assert_int_equal(key_public_from_private(rpub, rpriv), 0);
	assert_int_equal(noise_static_identity_set(&iid, ipriv), 0);
	noise_handshake_init(&ihs, &iid, rpub, NULL);
	cookie_maker_init(&to_r, rpub);
	cookie_checker_init(&at_r, rpub, NULL, NULL);
	cookie_maker_init(&to_i, ipub);
	cookie_checker_init(&at_i, ipub, NULL, NULL);

	assert_int_equal(
		noise_handshake_create_initiation(&ihs, init, 0xabcdef01, SEC(1700000000), NULL),
		0);
	cookie_add_mac_to_packet(&to_r, init, sizeof(init), t0);
	assert_memory_equal(init + INITIATION_OFF_MAC2, zero, 16);
	/* Not under load mac1 suffices; under load the missing mac2 earns a cookie reply. */
	assert_int_equal(
		cookie_validate_packet(&at_r, init, sizeof(init), src, sizeof(src), false, t0),
		COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(
		cookie_validate_packet(&at_r, init, sizeof(init), src, sizeof(src), true, t0),
		COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(
		cookie_message_create(&at_r, reply, init, sizeof(init), src, sizeof(src), t0), 0);
	assert_memory_equal(reply + COOKIE_REPLY_OFF_RECEIVER_INDEX,
			    init + INITIATION_OFF_SENDER_INDEX, 4);
	assert_int_equal(cookie_message_consume(&to_r, reply, sizeof(reply), t0 + SEC(1)), 0);

	/* The retransmitted initiation carries mac2 and passes, from the same source only. */
	assert_int_equal(
		noise_handshake_create_initiation(&ihs, init, 0xabcdef02, SEC(1700000005), NULL),
		0);
	cookie_add_mac_to_packet(&to_r, init, sizeof(init), t0 + SEC(5));
	assert_memory_not_equal(init + INITIATION_OFF_MAC2, zero, 16);
	assert_int_equal(cookie_validate_packet(&at_r, init, sizeof(init), src, sizeof(src), true,
						t0 + SEC(5)),
			 COOKIE_MAC_VALID_WITH_COOKIE);
	assert_int_equal(cookie_validate_packet(&at_r, init, sizeof(init), other, sizeof(other),
						true, t0 + SEC(5)),
			 COOKIE_MAC_VALID_NO_COOKIE);
	/* A corrupted mac2 only means "no cookie"; mac1 alone still holds. */
	init[INITIATION_OFF_MAC2] ^= 1;
	assert_int_equal(cookie_validate_packet(&at_r, init, sizeof(init), src, sizeof(src), true,
						t0 + SEC(5)),
			 COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(cookie_validate_packet(&at_r, init, sizeof(init), src, sizeof(src), false,
						t0 + SEC(5)),
			 COOKIE_MAC_VALID_NO_COOKIE);

	/* Cookie replies answer responses too (the initiator under load). */
	memset(resp, 0, sizeof(resp));
	wg_put_le32(resp, MESSAGE_HANDSHAKE_RESPONSE);
	wg_put_le32(resp + RESPONSE_OFF_SENDER_INDEX, 0x99887766);
	cookie_add_mac_to_packet(&to_i, resp, sizeof(resp), t0);
	assert_int_equal(
		cookie_validate_packet(&at_i, resp, sizeof(resp), other, sizeof(other), true, t0),
		COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(
		cookie_message_create(&at_i, reply, resp, sizeof(resp), other, sizeof(other), t0),
		0);
	assert_int_equal(wg_get_le32(reply + COOKIE_REPLY_OFF_RECEIVER_INDEX), 0x99887766);
	assert_int_equal(cookie_message_consume(&to_i, reply, sizeof(reply), t0), 0);
	cookie_add_mac_to_packet(&to_i, resp, sizeof(resp), t0);
	assert_int_equal(
		cookie_validate_packet(&at_i, resp, sizeof(resp), other, sizeof(other), true, t0),
		COOKIE_MAC_VALID_WITH_COOKIE);
	cookie_checker_wipe(&at_i);
	cookie_maker_wipe(&to_i);
	assert_false(at_i.have_keys);
}

/* The sender stops using a cookie 5 s before the minter's secret can rotate. */
static void test_cookie_lifetimes(void **state)
{
	uint8_t rpub[32], msg[MESSAGE_INITIATION_LEN], reply[MESSAGE_COOKIE_REPLY_LEN];
	uint8_t zero[16] = {0};
	static const uint8_t src[] = {127, 0, 0, 1, 0, 80};
	const uint64_t max_use = SEC(WG_COOKIE_SECRET_MAX_AGE - WG_COOKIE_SECRET_LATENCY);
	struct cookie_checker at_r;
	struct cookie_maker to_r;
	uint8_t rpriv[32];

	(void)state;
	key_generate_private(rpriv);
	assert_int_equal(key_public_from_private(rpub, rpriv), 0);
	cookie_checker_init(&at_r, rpub, NULL, NULL);
	cookie_maker_init(&to_r, rpub);
	randombytes_buf(msg, sizeof(msg));
	wg_put_le32(msg, MESSAGE_HANDSHAKE_INITIATION);

	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0);
	assert_int_equal(
		cookie_message_create(&at_r, reply, msg, sizeof(msg), src, sizeof(src), t0), 0);
	assert_int_equal(at_r.secret_birth_ns, t0);
	assert_int_equal(cookie_message_consume(&to_r, reply, sizeof(reply), t0), 0);

	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0 + max_use - 1);
	assert_memory_not_equal(msg + INITIATION_OFF_MAC2, zero, 16);
	assert_int_equal(cookie_validate_packet(&at_r, msg, sizeof(msg), src, sizeof(src), true,
						t0 + max_use - 1),
			 COOKIE_MAC_VALID_WITH_COOKIE);
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0 + max_use);
	assert_memory_equal(msg + INITIATION_OFF_MAC2, zero, 16);

	/* The minter's secret: valid up to COOKIE_SECRET_MAX_AGE, replaced at it. */
	to_r.cookie_birth_ns = t0 + SEC(100); /* pretend it is still fresh for the sender */
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0 + SEC(WG_COOKIE_SECRET_MAX_AGE) - 1);
	assert_int_equal(cookie_validate_packet(&at_r, msg, sizeof(msg), src, sizeof(src), true,
						t0 + SEC(WG_COOKIE_SECRET_MAX_AGE) - 1),
			 COOKIE_MAC_VALID_WITH_COOKIE);
	assert_int_equal(at_r.secret_birth_ns, t0);
	assert_int_equal(cookie_validate_packet(&at_r, msg, sizeof(msg), src, sizeof(src), true,
						t0 + SEC(WG_COOKIE_SECRET_MAX_AGE)),
			 COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(at_r.secret_birth_ns, t0 + SEC(WG_COOKIE_SECRET_MAX_AGE));
}

static void test_tampered_reply(void **state)
{
	uint8_t rpub[32], rpriv[32], msg[MESSAGE_RESPONSE_LEN], reply[MESSAGE_COOKIE_REPLY_LEN];
	uint8_t bad[MESSAGE_COOKIE_REPLY_LEN];
	struct cookie_checker at_r;
	struct cookie_maker to_r;

	(void)state;
	key_generate_private(rpriv);
	assert_int_equal(key_public_from_private(rpub, rpriv), 0);
	cookie_checker_init(&at_r, rpub, NULL, NULL);
	cookie_maker_init(&to_r, rpub);
	randombytes_buf(msg, sizeof(msg));
	wg_put_le32(msg, MESSAGE_HANDSHAKE_RESPONSE);
	cookie_add_mac_to_packet(&to_r, msg, sizeof(msg), t0);
	assert_int_equal(cookie_message_create(&at_r, reply, msg, sizeof(msg), NULL, 0, t0), 0);

	/* Receiver index (bytes 4-7) is how the caller routes it; all else is authenticated. */
	for (size_t pos = 0; pos < sizeof(reply); pos++) {
		if (pos >= COOKIE_REPLY_OFF_RECEIVER_INDEX && pos < COOKIE_REPLY_OFF_NONCE)
			continue;
		memcpy(bad, reply, sizeof(bad));
		bad[pos] ^= 0x20;
		assert_int_equal(cookie_message_consume(&to_r, bad, sizeof(bad), t0), -EBADMSG);
		assert_true(to_r.have_sent_mac1);
		assert_false(to_r.have_cookie);
	}
	/* A reply sealed by someone else's cookie key. */
	{
		struct cookie_maker to_x;
		uint8_t xpub[32];

		randombytes_buf(xpub, sizeof(xpub));
		cookie_maker_init(&to_x, xpub);
		cookie_add_mac_to_packet(&to_x, msg, sizeof(msg), t0);
		assert_int_equal(cookie_message_consume(&to_x, reply, sizeof(reply), t0), -EBADMSG);
	}
	assert_int_equal(cookie_message_consume(&to_r, reply, sizeof(reply), t0), 0);
}

static void test_bad_lengths_and_types(void **state)
{
	uint8_t rpub[32] = {9}, buf[200], reply[MESSAGE_COOKIE_REPLY_LEN];
	static const size_t lens[] = {0, 3, 4, 31, 32, 63, 65, 91, 93, 147, 149, 200};
	struct cookie_checker at_r, none;
	struct cookie_maker to_r;

	(void)state;
	cookie_checker_init(&at_r, rpub, NULL, NULL);
	cookie_checker_init(&none, NULL, NULL, NULL);
	cookie_maker_init(&to_r, rpub);

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		for (uint32_t type = 0; type <= 5; type++) {
			uint8_t *m = malloc(lens[k] ? lens[k] : 1); /* exact size for ASan */

			assert_non_null(m);
			memset(m, 0, lens[k] ? lens[k] : 1);
			if (lens[k] >= 4)
				wg_put_le32(m, type);
			assert_int_equal(
				cookie_validate_packet(&at_r, m, lens[k], NULL, 0, true, t0),
				COOKIE_MAC_INVALID);
			assert_int_equal(
				cookie_message_create(&at_r, reply, m, lens[k], NULL, 0, t0),
				-EINVAL);
			to_r.have_sent_mac1 = true;
			assert_int_equal(cookie_message_consume(&to_r, m, lens[k], t0), -EBADMSG);
			free(m);
		}
	}
	/* Right lengths, wrong types. */
	memset(buf, 0, sizeof(buf));
	wg_put_le32(buf, MESSAGE_DATA);
	assert_int_equal(
		cookie_validate_packet(&at_r, buf, MESSAGE_INITIATION_LEN, NULL, 0, false, t0),
		COOKIE_MAC_INVALID);
	assert_int_equal(cookie_message_consume(&to_r, buf, MESSAGE_COOKIE_REPLY_LEN, t0),
			 -EBADMSG);
	wg_put_le32(buf, MESSAGE_HANDSHAKE_RESPONSE);
	assert_int_equal(
		cookie_validate_packet(&at_r, buf, MESSAGE_INITIATION_LEN, NULL, 0, false, t0),
		COOKIE_MAC_INVALID);

	/* Without an identity nothing validates and no reply is made. */
	wg_put_le32(buf, MESSAGE_HANDSHAKE_INITIATION);
	cookie_add_mac_to_packet(&to_r, buf, MESSAGE_INITIATION_LEN, t0);
	assert_int_equal(
		cookie_validate_packet(&at_r, buf, MESSAGE_INITIATION_LEN, NULL, 0, false, t0),
		COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(
		cookie_validate_packet(&none, buf, MESSAGE_INITIATION_LEN, NULL, 0, false, t0),
		COOKIE_MAC_INVALID);
	assert_int_equal(
		cookie_message_create(&none, reply, buf, MESSAGE_INITIATION_LEN, NULL, 0, t0),
		-EINVAL);
	cookie_checker_set_public(&none, rpub);
	assert_int_equal(
		cookie_validate_packet(&none, buf, MESSAGE_INITIATION_LEN, NULL, 0, false, t0),
		COOKIE_MAC_VALID_NO_COOKIE);
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_macs),
		cmocka_unit_test(test_kat_cookie_reply_consume),
		cmocka_unit_test(test_cookie_reply_create),
		cmocka_unit_test(test_under_load_flow),
		cmocka_unit_test(test_cookie_lifetimes),
		cmocka_unit_test(test_tampered_reply),
		cmocka_unit_test(test_bad_lengths_and_types),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
