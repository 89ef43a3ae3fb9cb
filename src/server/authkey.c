// SPDX-License-Identifier: MIT
/*
 * Auth key text, generation and hashing. The hash covers the prefix too, so a
 * stored hash only ever matches the key it was made for.
 */
#include "server/authkey.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "util/encoding.h"

static const char key_scheme[] = "mskey-";
static const char hash_context[] = "meshcontrol auth key v1";

static void hash_key(uint8_t hash[AUTHKEY_HASH_LEN], const char *prefix, const char *secret)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, (const uint8_t *)hash_context, sizeof(hash_context) - 1,
				AUTHKEY_HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)prefix, AUTHKEY_PREFIX_LEN);
	crypto_generichash_update(&st, (const uint8_t *)secret, AUTHKEY_SECRET_LEN);
	crypto_generichash_final(&st, hash, AUTHKEY_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

static bool lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int authkey_generate(char key[AUTHKEY_STR_LEN + 1], char prefix[AUTHKEY_PREFIX_LEN + 1],
		     uint8_t hash[AUTHKEY_HASH_LEN])
{
	uint8_t raw[AUTHKEY_PREFIX_LEN / 2 + AUTHKEY_SECRET_LEN / 2];
	char *secret = key + sizeof(key_scheme) - 1 + AUTHKEY_PREFIX_LEN + 1;

	randombytes_buf(raw, sizeof(raw));
	memcpy(key, key_scheme, sizeof(key_scheme) - 1);
	enc_hex_encode(prefix, raw, AUTHKEY_PREFIX_LEN / 2);
	memcpy(key + sizeof(key_scheme) - 1, prefix, AUTHKEY_PREFIX_LEN);
	key[sizeof(key_scheme) - 1 + AUTHKEY_PREFIX_LEN] = '-';
	enc_hex_encode(secret, raw + AUTHKEY_PREFIX_LEN / 2, AUTHKEY_SECRET_LEN / 2);
	hash_key(hash, prefix, secret);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

int authkey_parse(const char *key, char prefix[AUTHKEY_PREFIX_LEN + 1],
		  uint8_t hash[AUTHKEY_HASH_LEN])
{
	const char *p = key + sizeof(key_scheme) - 1;

	memset(prefix, 0, AUTHKEY_PREFIX_LEN + 1);
	memset(hash, 0, AUTHKEY_HASH_LEN);
	if (strnlen(key, AUTHKEY_STR_LEN + 1) != AUTHKEY_STR_LEN ||
	    memcmp(key, key_scheme, sizeof(key_scheme) - 1) || p[AUTHKEY_PREFIX_LEN] != '-' ||
	    !lower_hex(p, AUTHKEY_PREFIX_LEN) ||
	    !lower_hex(p + AUTHKEY_PREFIX_LEN + 1, AUTHKEY_SECRET_LEN))
		return -EINVAL;
	memcpy(prefix, p, AUTHKEY_PREFIX_LEN);
	hash_key(hash, prefix, p + AUTHKEY_PREFIX_LEN + 1);
	return 0;
}

bool authkey_hash_equal(const uint8_t a[AUTHKEY_HASH_LEN], const uint8_t b[AUTHKEY_HASH_LEN])
{
	return sodium_memcmp(a, b, AUTHKEY_HASH_LEN) == 0;
}
