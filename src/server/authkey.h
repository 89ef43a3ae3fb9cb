/* SPDX-License-Identifier: MIT */
/*
 * Auth keys as text: "mskey-PREFIX-SECRET", PREFIX 12 and SECRET 48 lowercase
 * hex digits. The prefix is stored in the clear to find the key (and to name
 * it in listings and logs); the secret is never stored, only a keyed BLAKE2b
 * hash of prefix and secret, compared in constant time.
 */
#ifndef MESH_SERVER_AUTHKEY_H
#define MESH_SERVER_AUTHKEY_H

#include <stdbool.h>
#include <stdint.h>

enum authkey_lengths {
	AUTHKEY_PREFIX_LEN = 12, /* hex digits */
	AUTHKEY_SECRET_LEN = 48, /* hex digits: 192 bits */
	AUTHKEY_HASH_LEN = 32,
	/* "mskey-" PREFIX "-" SECRET, NUL excluded */
	AUTHKEY_STR_LEN = 6 + AUTHKEY_PREFIX_LEN + 1 + AUTHKEY_SECRET_LEN,
};

/**
 * Make a new random key: its text into @key, its lookup prefix into @prefix and
 * the hash to store into @hash. The caller wipes @key (sodium_memzero) once it
 * has been shown. Returns 0.
 */
int authkey_generate(char key[AUTHKEY_STR_LEN + 1], char prefix[AUTHKEY_PREFIX_LEN + 1],
		     uint8_t hash[AUTHKEY_HASH_LEN]);

/**
 * Split a key a node presented into its prefix and the hash of its secret.
 * Returns 0, or -EINVAL if @key does not have the exact shape (surrounding white
 * space is not trimmed: keys are machine-passed).
 */
int authkey_parse(const char *key, char prefix[AUTHKEY_PREFIX_LEN + 1],
		  uint8_t hash[AUTHKEY_HASH_LEN]);

/** Compare two key hashes in constant time. */
bool authkey_hash_equal(const uint8_t a[AUTHKEY_HASH_LEN], const uint8_t b[AUTHKEY_HASH_LEN]);

#endif
