// SPDX-License-Identifier: MIT
/*
 * BLAKE2s, HMAC-BLAKE2s and the WireGuard KDF against published vectors:
 * RFC 7693 Appendix B and the Appendix E self-test grand hash, keyed entries
 * of the BLAKE2 reference KAT (key 00..1f, input 00..n-1), wireguard-go's
 * KDF vectors; plus incremental-vs-one-shot and HMAC-vs-naive properties.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/blake2s.h"
#include "crypto/kdf.h"

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = strlen(hex) / 2;

	assert_true(strlen(hex) % 2 == 0);
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
	uint8_t want[512];
	size_t n = unhex(want, sizeof(want), want_hex);

	assert_int_equal(n, len);
	assert_memory_equal(got, want, len);
}

static void test_rfc7693_abc(void **state)
{
	uint8_t out[BLAKE2S_HASH_SIZE];

	(void)state;
	blake2s(out, sizeof(out), "abc", 3, NULL, 0);
	assert_hex_equal(out, sizeof(out),
			 "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	/* BLAKE2 reference KAT, unkeyed empty input. */
	blake2s(out, sizeof(out), NULL, 0, NULL, 0);
	assert_hex_equal(out, sizeof(out),
			 "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
}

/* RFC 7693 Appendix E: deterministic input generator (a Fibonacci-like LCG). */
static void selftest_seq(uint8_t *out, size_t len, uint32_t seed)
{
	uint32_t a = 0xDEAD4BADu * seed, b = 1, t;

	for (size_t i = 0; i < len; i++) {
		t = a + b;
		a = b;
		b = t;
		out[i] = (uint8_t)(t >> 24);
	}
}

/*
 * Hash every outlen in {16,20,28,32} x inlen in {0,3,64,65,255,1024}, keyed
 * and unkeyed, into one grand hash: catches parameter-block bugs (keyed
 * 16-byte MAC is WireGuard's mac1/mac2) and block-boundary bugs at once.
 */
static void test_rfc7693_selftest(void **state)
{
	static const size_t md_len[] = {16, 20, 28, 32};
	static const size_t in_len[] = {0, 3, 64, 65, 255, 1024};
	uint8_t in[1024], md[32], key[32];
	struct blake2s_state ctx;

	(void)state;
	blake2s_init(&ctx, 32);
	for (size_t i = 0; i < 4; i++) {
		size_t outlen = md_len[i];

		for (size_t j = 0; j < 6; j++) {
			size_t inlen = in_len[j];

			selftest_seq(in, inlen, (uint32_t)inlen);
			blake2s(md, outlen, in, inlen, NULL, 0);
			blake2s_update(&ctx, md, outlen);

			selftest_seq(key, outlen, (uint32_t)outlen);
			blake2s(md, outlen, in, inlen, key, outlen);
			blake2s_update(&ctx, md, outlen);
		}
	}
	blake2s_final(&ctx, md);
	assert_hex_equal(md, 32,
			 "6a411f08ce25adcdfb02aba641451cec53c598b24f4fc787fbdc88797f4c1dfe");
}

/* BLAKE2 reference testvectors/blake2s-test.txt: key = 00..1f, input = 00..n-1. */
static const struct {
	size_t inlen;
	const char *hash;
} keyed_kat[] = {
	{0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49"},
	{1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1"},
	{2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803"},
	{3, "1d220dbe2ee134661fdf6d9e74b41704710556f2f6e5a091b227697445dbea6b"},
	{31, "b6156f72d380ee9ea6acd190464f2307a5c179ef01fd71f99f2d0f7a57360aea"},
	{32, "c03bc642b20959cbe133a0303e0c1abff3e31ec8e1a328ec8565c36decff5265"},
	{33, "2c3e08176f760c6264c3a2cd66fec6c3d78de43fc192457b2a4a660a1e0eb22b"},
	{63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd"},
	{64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4"},
	{65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8"},
	{254, "db444c15597b5f1a03d1f9edd16e4a9f43a667cc275175dfa2b704e3bb1a9b83"},
	{255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd"},
};

static void test_keyed_kat(void **state)
{
	uint8_t key[BLAKE2S_KEY_SIZE], in[256], out[BLAKE2S_HASH_SIZE];

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(keyed_kat) / sizeof(keyed_kat[0]); i++) {
		blake2s(out, sizeof(out), in, keyed_kat[i].inlen, key, sizeof(key));
		assert_hex_equal(out, sizeof(out), keyed_kat[i].hash);
	}
}

static void one_shot_vs_split(const uint8_t *in, size_t n, size_t outlen, const uint8_t *key,
			      size_t keylen)
{
	uint8_t want[32], got[32];
	struct blake2s_state s;

	blake2s(want, outlen, in, n, key, keylen);
	for (size_t split = 0; split <= n; split++) {
		if (keylen)
			blake2s_init_key(&s, outlen, key, keylen);
		else
			blake2s_init(&s, outlen);
		blake2s_update(&s, in, split);
		blake2s_update(&s, in + split, n - split);
		blake2s_final(&s, got);
		if (memcmp(got, want, outlen))
			fail_msg("n=%zu outlen=%zu keylen=%zu split=%zu differs", n, outlen, keylen,
				 split);
	}
	/* Byte at a time, and in three pieces around a block boundary. */
	if (keylen)
		blake2s_init_key(&s, outlen, key, keylen);
	else
		blake2s_init(&s, outlen);
	for (size_t i = 0; i < n; i++)
		blake2s_update(&s, in + i, 1);
	blake2s_final(&s, got);
	assert_memory_equal(got, want, outlen);
	if (n > 130) {
		if (keylen)
			blake2s_init_key(&s, outlen, key, keylen);
		else
			blake2s_init(&s, outlen);
		blake2s_update(&s, in, 63);
		blake2s_update(&s, in + 63, 65);
		blake2s_update(&s, in + 128, n - 128);
		blake2s_final(&s, got);
		assert_memory_equal(got, want, outlen);
	}
}

static void test_incremental(void **state)
{
	static const size_t lens[] = {0, 1, 63, 64, 65, 127, 128, 129, 300};
	uint8_t in[300], key[32];

	(void)state;
	randombytes_buf(in, sizeof(in));
	randombytes_buf(key, sizeof(key));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		one_shot_vs_split(in, lens[i], 32, NULL, 0);
		one_shot_vs_split(in, lens[i], 16, key, 32);
		one_shot_vs_split(in, lens[i], 32, key, 1);
	}
}

static void test_mac16_is_not_truncation(void **state)
{
	uint8_t key[32] = {1}, in[40] = {2}, mac16[16], hash32[32];

	(void)state;
	blake2s(mac16, 16, in, sizeof(in), key, sizeof(key));
	blake2s(hash32, 32, in, sizeof(in), key, sizeof(key));
	assert_memory_not_equal(mac16, hash32, 16);
}

static void test_aliasing_and_wipe(void **state)
{
	uint8_t buf[64], want[32], zero[sizeof(struct blake2s_state)] = {0};
	struct blake2s_state s;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	blake2s(want, 32, buf, sizeof(buf), buf, 32);
	blake2s(buf, 32, buf, sizeof(buf), buf, 32); /* out aliases in and key */
	assert_memory_equal(buf, want, 32);

	blake2s_init(&s, 32);
	blake2s_update(&s, "secret", 6);
	blake2s_final(&s, want);
	assert_memory_equal(&s, zero, sizeof(s));
}

/* HMAC-BLAKE2s values computed with an independent implementation (CPython hmac + blake2s). */
static void test_hmac_vectors(void **state)
{
	uint8_t key[131], out[32];
	const char *m;

	(void)state;
	memset(key, 0x0b, 20);
	m = "Hi There";
	hmac_blake2s(out, key, 20, m, strlen(m));
	assert_hex_equal(out, 32,
			 "65a8b7c5cc9136d424e82c37e2707e74e913c0655b99c75f40edf387453a3260");

	m = "what do ya want for nothing?";
	hmac_blake2s(out, "Jefe", 4, m, strlen(m));
	assert_hex_equal(out, 32,
			 "90b6281e2f3038c9056af0b4a7e763cae6fe5d9eb4386a0ec95237890c104ff0");

	memset(key, 0xaa, sizeof(key));
	m = "Test Using Larger Than Block-Size Key - Hash Key First";
	hmac_blake2s(out, key, 131, m, strlen(m));
	assert_hex_equal(out, 32,
			 "d23d79394f53d536a096e6514447eeaabb05ded01be32c1937da6a8f7103bc4e");

	m = "exactly one block of key";
	hmac_blake2s(out, key, 64, m, strlen(m));
	assert_hex_equal(out, 32,
			 "63b6ccc3137be0eb4f64acf15ad6c99142d1316dcea9699984c40d43c9502cc3");
}

/* The textbook definition, with buffers: H((K ^ opad) || H((K ^ ipad) || m)). */
static void naive_hmac(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *in,
		       size_t inlen)
{
	uint8_t k[64] = {0}, inner[64 + 512], outer[64 + 32];

	assert_true(inlen <= 512);
	if (keylen > 64)
		blake2s(k, 32, key, keylen, NULL, 0);
	else
		memcpy(k, key, keylen);
	for (int i = 0; i < 64; i++) {
		inner[i] = k[i] ^ 0x36;
		outer[i] = k[i] ^ 0x5c;
	}
	memcpy(inner + 64, in, inlen);
	blake2s(outer + 64, 32, inner, 64 + inlen, NULL, 0);
	blake2s(out, 32, outer, sizeof(outer), NULL, 0);
}

static void test_hmac_vs_naive(void **state)
{
	uint8_t key[200], in[512], got[32], want[32];

	(void)state;
	for (int iter = 0; iter < 500; iter++) {
		size_t keylen = randombytes_uniform(sizeof(key) + 1);
		size_t inlen = randombytes_uniform(sizeof(in) + 1);

		randombytes_buf(key, sizeof(key));
		randombytes_buf(in, sizeof(in));
		hmac_blake2s(got, key, keylen, in, inlen);
		naive_hmac(want, key, keylen, in, inlen);
		assert_memory_equal(got, want, 32);
	}
}

/* wireguard-go device/kdf_test.go. */
static const struct {
	const char *key, *input, *t0, *t1, *t2;
} kdf_vectors[] = {
	{"test-key", "test-input",
	 "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
	 "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
	 "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24"},
	{"wireguard", "wireguard",
	 "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
	 "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
	 "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160"},
	{"", "", "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
	 "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
	 "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e"},
};

static void test_kdf_vectors(void **state)
{
	uint8_t t0[32], t1[32], t2[32];

	(void)state;
	for (size_t i = 0; i < sizeof(kdf_vectors) / sizeof(kdf_vectors[0]); i++) {
		const char *k = kdf_vectors[i].key, *in = kdf_vectors[i].input;

		/* KDF1, KDF2 and KDF3 agree on their common prefix. */
		hkdf_blake2s(t0, NULL, NULL, k, strlen(k), in, strlen(in));
		assert_hex_equal(t0, 32, kdf_vectors[i].t0);
		hkdf_blake2s(t0, t1, NULL, k, strlen(k), in, strlen(in));
		assert_hex_equal(t0, 32, kdf_vectors[i].t0);
		assert_hex_equal(t1, 32, kdf_vectors[i].t1);
		hkdf_blake2s(t0, t1, t2, k, strlen(k), in, strlen(in));
		assert_hex_equal(t0, 32, kdf_vectors[i].t0);
		assert_hex_equal(t1, 32, kdf_vectors[i].t1);
		assert_hex_equal(t2, 32, kdf_vectors[i].t2);
	}
}

/* kdf_blake2s is hkdf_blake2s with a 32-byte chaining key, and outputs may alias inputs. */
static void test_kdf_chaining_key_and_aliasing(void **state)
{
	uint8_t c[32], in[40], a1[32], a2[32], a3[32], b1[32], b2[32], b3[32];

	(void)state;
	randombytes_buf(c, sizeof(c));
	randombytes_buf(in, sizeof(in));
	hkdf_blake2s(a1, a2, a3, c, sizeof(c), in, sizeof(in));
	kdf_blake2s(b1, b2, b3, c, in, sizeof(in));
	assert_memory_equal(a1, b1, 32);
	assert_memory_equal(a2, b2, 32);
	assert_memory_equal(a3, b3, 32);

	/* C = KDF1(C, x) and (C, k) = KDF2(C, x) in place. */
	memcpy(b1, c, 32);
	kdf_blake2s(b1, NULL, NULL, b1, in, sizeof(in));
	assert_memory_equal(b1, a1, 32);
	memcpy(b1, c, 32);
	kdf_blake2s(b1, b2, NULL, b1, in, sizeof(in));
	assert_memory_equal(b1, a1, 32);
	assert_memory_equal(b2, a2, 32);
	/* Output aliasing the input. */
	memcpy(b3, in, 32);
	kdf_blake2s(b3, NULL, NULL, c, b3, 32);
	hkdf_blake2s(a1, NULL, NULL, c, 32, in, 32);
	assert_memory_equal(b3, a1, 32);
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7693_abc),
		cmocka_unit_test(test_rfc7693_selftest),
		cmocka_unit_test(test_keyed_kat),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_mac16_is_not_truncation),
		cmocka_unit_test(test_aliasing_and_wipe),
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_hmac_vs_naive),
		cmocka_unit_test(test_kdf_vectors),
		cmocka_unit_test(test_kdf_chaining_key_and_aliasing),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
