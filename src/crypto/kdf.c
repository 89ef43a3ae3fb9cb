// SPDX-License-Identifier: MIT
/*
 * HMAC and HKDF over BLAKE2s. Every buffer that held key material is wiped
 * before return; outputs are staged in locals so callers may alias them with
 * the inputs.
 */
#include "crypto/kdf.h"

#include <string.h>

#include <sodium.h>

enum hmac_pads {
	HMAC_IPAD = 0x36,
	HMAC_OPAD = 0x5c,
};

void hmac_blake2s(uint8_t out[BLAKE2S_HASH_SIZE], const void *key, size_t keylen, const void *in,
		  size_t inlen)
{
	uint8_t x_key[BLAKE2S_BLOCK_SIZE] = {0};
	uint8_t i_hash[BLAKE2S_HASH_SIZE];
	struct blake2s_state s;
	size_t i;

	if (keylen > BLAKE2S_BLOCK_SIZE)
		blake2s(x_key, BLAKE2S_HASH_SIZE, key, keylen, NULL, 0);
	else if (keylen)
		memcpy(x_key, key, keylen);

	for (i = 0; i < BLAKE2S_BLOCK_SIZE; i++)
		x_key[i] ^= HMAC_IPAD;
	blake2s_init(&s, BLAKE2S_HASH_SIZE);
	blake2s_update(&s, x_key, BLAKE2S_BLOCK_SIZE);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, i_hash);

	for (i = 0; i < BLAKE2S_BLOCK_SIZE; i++)
		x_key[i] ^= HMAC_IPAD ^ HMAC_OPAD;
	blake2s_init(&s, BLAKE2S_HASH_SIZE);
	blake2s_update(&s, x_key, BLAKE2S_BLOCK_SIZE);
	blake2s_update(&s, i_hash, BLAKE2S_HASH_SIZE);
	blake2s_final(&s, out);

	sodium_memzero(x_key, sizeof(x_key));
	sodium_memzero(i_hash, sizeof(i_hash));
}

void hkdf_blake2s(uint8_t t1[BLAKE2S_HASH_SIZE], uint8_t *t2, uint8_t *t3, const void *key,
		  size_t keylen, const void *in, size_t inlen)
{
	uint8_t prk[BLAKE2S_HASH_SIZE];
	/* T(n) = HMAC(prk, T(n-1) || n); T(0) is empty. */
	uint8_t t[3][BLAKE2S_HASH_SIZE + 1];

	hmac_blake2s(prk, key, keylen, in, inlen);

	t[0][0] = 1;
	hmac_blake2s(t[0], prk, sizeof(prk), t[0], 1);
	if (!t2)
		goto out_copy;

	t[0][BLAKE2S_HASH_SIZE] = 2;
	hmac_blake2s(t[1], prk, sizeof(prk), t[0], sizeof(t[0]));
	if (!t3)
		goto out_copy;

	t[1][BLAKE2S_HASH_SIZE] = 3;
	hmac_blake2s(t[2], prk, sizeof(prk), t[1], sizeof(t[1]));

out_copy:
	memcpy(t1, t[0], BLAKE2S_HASH_SIZE);
	if (t2) {
		memcpy(t2, t[1], BLAKE2S_HASH_SIZE);
		if (t3)
			memcpy(t3, t[2], BLAKE2S_HASH_SIZE);
	}
	sodium_memzero(prk, sizeof(prk));
	sodium_memzero(t, sizeof(t));
}

void kdf_blake2s(uint8_t t1[BLAKE2S_HASH_SIZE], uint8_t *t2, uint8_t *t3,
		 const uint8_t chaining_key[BLAKE2S_HASH_SIZE], const void *in, size_t inlen)
{
	hkdf_blake2s(t1, t2, t3, chaining_key, BLAKE2S_HASH_SIZE, in, inlen);
}
