// SPDX-License-Identifier: MIT
/*
 * X25519 through libsodium. crypto_scalarmult_curve25519() clamps the scalar
 * itself and returns -1 for an all-zero output (small-order input points),
 * which is exactly WireGuard's "reject the zero DH result" rule.
 */
#include "crypto/keys.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

_Static_assert(KEY_LEN == crypto_scalarmult_curve25519_BYTES, "X25519 key size");
_Static_assert(KEY_LEN == crypto_scalarmult_curve25519_SCALARBYTES, "X25519 scalar size");

void key_clamp_private(uint8_t priv[KEY_LEN])
{
	priv[0] &= 248;
	priv[31] = (uint8_t)((priv[31] & 127) | 64);
}

void key_generate_private(uint8_t priv[KEY_LEN])
{
	randombytes_buf(priv, KEY_LEN);
	key_clamp_private(priv);
}

int key_public_from_private(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN])
{
	if (crypto_scalarmult_curve25519_base(pub, priv) != 0) {
		sodium_memzero(pub, KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

int key_dh(uint8_t out[KEY_LEN], const uint8_t priv[KEY_LEN], const uint8_t pub[KEY_LEN])
{
	uint8_t shared[KEY_LEN];
	int ret = 0;

	if (crypto_scalarmult_curve25519(shared, priv, pub) != 0)
		ret = -EINVAL;
	else
		memcpy(out, shared, KEY_LEN);
	if (ret)
		sodium_memzero(out, KEY_LEN);
	sodium_memzero(shared, sizeof(shared));
	return ret;
}

bool key_is_zero(const uint8_t key[KEY_LEN])
{
	return sodium_is_zero(key, KEY_LEN) == 1;
}
