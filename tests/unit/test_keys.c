// SPDX-License-Identifier: MIT
/*
 * X25519 key helpers: RFC 7748 §5.2 scalar-multiplication vectors (including
 * the 1000-iteration chain), the §6.1 Alice/Bob exchange, rejection of
 * low-order points, clamping of generated keys.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/keys.h"

static void unhex(uint8_t out[KEY_LEN], const char *hex)
{
	assert_int_equal(strlen(hex), 2 * KEY_LEN);
	for (size_t i = 0; i < KEY_LEN; i++) {
		unsigned int v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void assert_key_hex(const uint8_t key[KEY_LEN], const char *hex)
{
	uint8_t want[KEY_LEN];

	unhex(want, hex);
	assert_memory_equal(key, want, KEY_LEN);
}

static const char alice_priv[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pub[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char bob_priv[] = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char bob_pub[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char shared[] = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

static void test_rfc7748_alice_bob(void **state)
{
	uint8_t a[KEY_LEN], b[KEY_LEN], pub[KEY_LEN], peer[KEY_LEN], out[KEY_LEN];

	(void)state;
	unhex(a, alice_priv);
	unhex(b, bob_priv);
	assert_int_equal(key_public_from_private(pub, a), 0);
	assert_key_hex(pub, alice_pub);
	assert_int_equal(key_public_from_private(pub, b), 0);
	assert_key_hex(pub, bob_pub);

	unhex(peer, bob_pub);
	assert_int_equal(key_dh(out, a, peer), 0);
	assert_key_hex(out, shared);
	unhex(peer, alice_pub);
	assert_int_equal(key_dh(out, b, peer), 0);
	assert_key_hex(out, shared);

	/* Clamping is idempotent and does not change the result. */
	key_clamp_private(a);
	unhex(peer, bob_pub);
	assert_int_equal(key_dh(out, a, peer), 0);
	assert_key_hex(out, shared);
}

static void test_rfc7748_scalarmult(void **state)
{
	uint8_t k[KEY_LEN], u[KEY_LEN], out[KEY_LEN];

	(void)state;
	unhex(k, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
	unhex(u, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	assert_int_equal(key_dh(out, k, u), 0);
	assert_key_hex(out, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");

	unhex(k, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	unhex(u, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	assert_int_equal(key_dh(out, k, u), 0);
	assert_key_hex(out, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

/* k = u = 9; repeat k, u = X25519(k, u), k. Also exercises out aliasing priv. */
static void test_rfc7748_iterated(void **state)
{
	uint8_t k[KEY_LEN] = {9}, u[KEY_LEN] = {9}, prev[KEY_LEN];

	(void)state;
	for (int i = 1; i <= 1000; i++) {
		memcpy(prev, k, KEY_LEN);
		assert_int_equal(key_dh(k, k, u), 0);
		memcpy(u, prev, KEY_LEN);
		if (i == 1)
			assert_key_hex(
				k,
				"422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	}
	assert_key_hex(k, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

/* Points whose multiples are all zero: DH must fail and leave zeros behind. */
static void test_low_order_points_rejected(void **state)
{
	static const char *const points[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t priv[KEY_LEN], pub[KEY_LEN], out[KEY_LEN];

	(void)state;
	unhex(priv, alice_priv);
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		unhex(pub, points[i]);
		memset(out, 0xa5, sizeof(out));
		assert_int_equal(key_dh(out, priv, pub), -EINVAL);
		assert_true(key_is_zero(out));
	}
}

static void test_generate_clamped_and_agree(void **state)
{
	uint8_t a[KEY_LEN], b[KEY_LEN], pa[KEY_LEN], pb[KEY_LEN], s1[KEY_LEN], s2[KEY_LEN];

	(void)state;
	for (int i = 0; i < 64; i++) {
		key_generate_private(a);
		key_generate_private(b);
		assert_int_equal(a[0] & 7, 0);
		assert_int_equal(a[31] & 0x80, 0);
		assert_int_equal(a[31] & 0x40, 0x40);
		assert_memory_not_equal(a, b, KEY_LEN);
		assert_int_equal(key_public_from_private(pa, a), 0);
		assert_int_equal(key_public_from_private(pb, b), 0);
		assert_int_equal(key_dh(s1, a, pb), 0);
		assert_int_equal(key_dh(s2, b, pa), 0);
		assert_memory_equal(s1, s2, KEY_LEN);
		assert_false(key_is_zero(s1));
	}
}

static void test_key_is_zero(void **state)
{
	uint8_t k[KEY_LEN] = {0};

	(void)state;
	assert_true(key_is_zero(k));
	for (size_t i = 0; i < KEY_LEN; i++) {
		k[i] = 0x80;
		assert_false(key_is_zero(k));
		k[i] = 0;
	}
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7748_alice_bob),
		cmocka_unit_test(test_rfc7748_scalarmult),
		cmocka_unit_test(test_rfc7748_iterated),
		cmocka_unit_test(test_low_order_points_rejected),
		cmocka_unit_test(test_generate_clamped_and_agree),
		cmocka_unit_test(test_key_is_zero),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
