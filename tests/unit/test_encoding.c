// SPDX-License-Identifier: MIT
/*
 * encoding: RFC 7748 keys in the base64 `wg` prints, RFC 4648 §10 vectors,
 * round trips over random data, and every malformed form we must refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "util/compiler.h"
#include "util/encoding.h"

/* RFC 7748 §6.1: Alice's X25519 private and public keys. */
static const char alice_priv_hex[] =
	"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pub_hex[] =
	"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
/* The same keys as `wg genkey`/`wg pubkey` spell them (checked with wg(8)). */
static const char alice_priv_b64[] = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
static const char alice_pub_b64[] = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=";

static const uint8_t alice_pub[32] = {0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54,
				      0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
				      0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4,
				      0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};

static bool is_zeroed(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void test_known_keys(void **state)
{
	uint8_t priv[32], pub[32], derived[32];
	char b64[ENC_KEY_B64_LEN + 1], hex[ENC_KEY_HEX_LEN + 1];

	(void)state;
	assert_int_equal(enc_key_from_hex(pub, alice_pub_hex), 0);
	assert_memory_equal(pub, alice_pub, 32);
	enc_key_to_base64(b64, pub);
	assert_string_equal(b64, alice_pub_b64);
	enc_key_to_hex(hex, pub);
	assert_string_equal(hex, alice_pub_hex);

	assert_int_equal(enc_key_from_base64(priv, alice_priv_b64), 0);
	enc_key_to_hex(hex, priv);
	assert_string_equal(hex, alice_priv_hex);

	/* The decoded private key really is Alice's: it yields her public key. */
	assert_int_equal(crypto_scalarmult_base(derived, priv), 0);
	assert_memory_equal(derived, alice_pub, 32);
	assert_int_equal(enc_key_from_base64(pub, alice_pub_b64), 0);
	assert_memory_equal(pub, alice_pub, 32);

	/* Hex decoding takes either case. */
	{
		char upper[ENC_KEY_HEX_LEN + 1];
		size_t i;

		for (i = 0; i < ENC_KEY_HEX_LEN; i++)
			upper[i] = (char)((alice_pub_hex[i] >= 'a' && alice_pub_hex[i] <= 'f')
						  ? alice_pub_hex[i] - 'a' + 'A'
						  : alice_pub_hex[i]);
		upper[ENC_KEY_HEX_LEN] = '\0';
		memset(pub, 0, sizeof(pub));
		assert_int_equal(enc_key_from_hex(pub, upper), 0);
		assert_memory_equal(pub, alice_pub, 32);
	}
	sodium_memzero(priv, sizeof(priv));
}

static void test_edge_keys(void **state)
{
	uint8_t key[32], back[32];
	char b64[ENC_KEY_B64_LEN + 1];

	(void)state;
	memset(key, 0, sizeof(key));
	enc_key_to_base64(b64, key);
	assert_string_equal(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	memset(key, 0xff, sizeof(key));
	enc_key_to_base64(b64, key);
	/* 256 one bits: 42 full sextets, then 4 bits + 2 zero bits = 60 = '8'. */
	assert_string_equal(b64, "//////////////////////////////////////////8=");
	assert_int_equal(enc_key_from_base64(back, b64), 0);
	assert_memory_equal(back, key, 32);
}

static void test_round_trip_random(void **state)
{
	uint8_t key[32], back[32];
	char b64[ENC_KEY_B64_LEN + 1], hex[ENC_KEY_HEX_LEN + 1];
	int i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		randombytes_buf(key, sizeof(key));
		enc_key_to_base64(b64, key);
		assert_int_equal(strlen(b64), ENC_KEY_B64_LEN);
		assert_int_equal(b64[43], '=');
		assert_int_equal(enc_key_from_base64(back, b64), 0);
		assert_memory_equal(back, key, 32);
		enc_key_to_hex(hex, key);
		assert_int_equal(strlen(hex), ENC_KEY_HEX_LEN);
		memset(back, 0, sizeof(back));
		assert_int_equal(enc_key_from_hex(back, hex), 0);
		assert_memory_equal(back, key, 32);
	}
}

static void expect_b64_key_error(const char *s)
{
	uint8_t key[32];

	memset(key, 0xa5, sizeof(key));
	if (enc_key_from_base64(key, s) != -EINVAL)
		fail_msg("accepted base64 key \"%s\"", s ? s : "(null)");
	assert_true(is_zeroed(key, sizeof(key)));
}

static void test_base64_key_invalid(void **state)
{
	char s[64];
	size_t i;

	(void)state;
	expect_b64_key_error(NULL);
	expect_b64_key_error("");
	expect_b64_key_error("=");
	/* Lengths: one short, one long, no padding, double padding. */
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm=");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=x");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbT==");
	/* A 33-byte value is 44 characters too, with no padding. */
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA");
	/* URL-safe alphabet, stray characters, white space. */
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2-Og0mOBr066SpjqqbTmo=");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2.Og0mOBr066SpjqqbTmo=");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2 Og0mOBr066SpjqqbTmo=");
	expect_b64_key_error(" hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm\n=");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo\n");
	/* Padding in the middle. */
	expect_b64_key_error("hSDwCYkwp1R0i33ctD7=Wg2/Og0mOBr066SpjqqbTmo=");

	/*
	 * Non-canonical: 'o' is 40 = 101000b; the two low bits are unused and
	 * must be zero. 'p', 'q', 'r' (41..43) decode to the same key.
	 */
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmq=");
	expect_b64_key_error("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmr=");
	expect_b64_key_error("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=");
	expect_b64_key_error("//////////////////////////////////////////9=");

	/* An embedded NUL ends the string: 43 characters is too short. */
	memcpy(s, alice_pub_b64, sizeof(alice_pub_b64));
	s[20] = '\0';
	expect_b64_key_error(s);

	/* Every byte that is not in the alphabet, at every position. */
	for (i = 0; i < 43; i += 7) {
		int c;

		for (c = 1; c < 256; c++) {
			if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '+' || c == '/')
				continue;
			memcpy(s, alice_pub_b64, sizeof(alice_pub_b64));
			s[i] = (char)c;
			expect_b64_key_error(s);
		}
	}
}

static void expect_hex_key_error(const char *s)
{
	uint8_t key[32];

	memset(key, 0xa5, sizeof(key));
	if (enc_key_from_hex(key, s) != -EINVAL)
		fail_msg("accepted hex key \"%s\"", s ? s : "(null)");
	assert_true(is_zeroed(key, sizeof(key)));
}

static void test_hex_key_invalid(void **state)
{
	char s[80];

	(void)state;
	expect_hex_key_error(NULL);
	expect_hex_key_error("");
	/* 63, 65 and 66 digits. */
	expect_hex_key_error("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6");
	expect_hex_key_error("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a0");
	expect_hex_key_error("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a00");
	expect_hex_key_error("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6g");
	expect_hex_key_error("0x20f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	expect_hex_key_error(" 520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	expect_hex_key_error("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6 ");
	expect_hex_key_error("8520f009:8930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6");
	expect_hex_key_error("8520f009 930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	memcpy(s, alice_pub_hex, sizeof(alice_pub_hex));
	s[10] = '\0';
	expect_hex_key_error(s);
}

static void test_hex_generic(void **state)
{
	static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	uint8_t out[8];
	char hex[2 * sizeof(bytes) + 1];

	(void)state;
	enc_hex_encode(hex, bytes, sizeof(bytes));
	assert_string_equal(hex, "00017f80abff");
	assert_int_equal(enc_hex_decode(out, sizeof(bytes), "00017F80ABff", 12), 0);
	assert_memory_equal(out, bytes, sizeof(bytes));

	/* Lengths must match exactly; a trailing NUL is not required. */
	assert_int_equal(enc_hex_decode(out, 2, "abcdef", 4), 0);
	assert_int_equal(out[0], 0xab);
	assert_int_equal(out[1], 0xcd);
	assert_int_equal(enc_hex_decode(out, 3, "abcd", 4), -EINVAL);
	assert_int_equal(enc_hex_decode(out, 2, "abcdef", 6), -EINVAL);
	assert_int_equal(enc_hex_decode(out, 1, "a", 1), -EINVAL);
	/* An embedded NUL or white space inside the counted length. */
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(enc_hex_decode(out, 2, "ab\0d", 4), -EINVAL);
	assert_true(is_zeroed(out, 2));
	assert_int_equal(enc_hex_decode(out, 2, "ab d", 4), -EINVAL);
	assert_int_equal(enc_hex_decode(out, 2, "ab:d", 4), -EINVAL);
	/* Empty is empty. */
	assert_int_equal(enc_hex_decode(out, 0, "", 0), 0);
	enc_hex_encode(hex, bytes, 0);
	assert_string_equal(hex, "");
}

/* RFC 4648 §10 test vectors. */
static void test_base64_generic(void **state)
{
	static const struct {
		const char *in, *out;
	} vec[] = {
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	char b64[16];
	uint8_t out[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(vec); i++) {
		size_t len = strlen(vec[i].in);

		assert_int_equal(enc_base64_len(len), strlen(vec[i].out));
		enc_base64_encode(b64, (const uint8_t *)vec[i].in, len);
		assert_string_equal(b64, vec[i].out);
		n = 99;
		assert_int_equal(
			enc_base64_decode(out, sizeof(out), &n, vec[i].out, strlen(vec[i].out)), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, vec[i].in, len);
	}

	/* Exactly enough room works; one byte less is -ENOBUFS. */
	assert_int_equal(enc_base64_decode(out, 6, &n, "Zm9vYmFy", 8), 0);
	assert_int_equal(n, 6);
	assert_int_equal(enc_base64_decode(out, 5, &n, "Zm9vYmFy", 8), -ENOBUFS);
	assert_int_equal(enc_base64_decode(out, 1, &n, "Zg==", 4), 0);
	assert_int_equal(enc_base64_decode(out, 0, &n, "Zg==", 4), -ENOBUFS);

	/* Bad forms. */
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "Zg=", 3), -EINVAL);
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "Zg", 2), -EINVAL);
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "Zh==", 4), -EINVAL);
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "Zm9=", 4), -EINVAL);
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "Z===", 4), -EINVAL);
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "====", 4), -EINVAL);
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "Zg==Zg==", 8), -EINVAL);
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "Zm9v\0mFy", 8), -EINVAL);
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "Zm9v YmE", 8), -EINVAL);
	/* Bytes >= 0x80 (libsodium 1.0.18 alone would read them as '/'). */
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "Zm9\x80", 4), -EINVAL);
	assert_int_equal(enc_base64_decode(out, sizeof(out), &n, "\xffm9v", 4), -EINVAL);
	assert_int_equal(n, 0);
	assert_true(is_zeroed(out, sizeof(out)));
}

static void test_base64_generic_random(void **state)
{
	uint8_t in[100], out[100];
	char b64[140];
	size_t len, n;
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		len = randombytes_uniform(sizeof(in) + 1);
		randombytes_buf(in, len);
		enc_base64_encode(b64, in, len);
		assert_int_equal(strlen(b64), enc_base64_len(len));
		assert_int_equal(enc_base64_decode(out, sizeof(out), &n, b64, strlen(b64)), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, in, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_keys),
		cmocka_unit_test(test_edge_keys),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_base64_key_invalid),
		cmocka_unit_test(test_hex_key_invalid),
		cmocka_unit_test(test_hex_generic),
		cmocka_unit_test(test_base64_generic),
		cmocka_unit_test(test_base64_generic_random),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
