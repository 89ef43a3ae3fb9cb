/* SPDX-License-Identifier: MIT */
/*
 * BLAKE2s (RFC 7693), which libsodium lacks. WireGuard needs three flavours
 * of it: unkeyed 32-byte HASH, keyed 16-byte MAC (the output length lives in
 * the parameter block, so it is not a truncated 32-byte hash) and the
 * incremental interface that HMAC and mixHash feed with several inputs.
 */
#ifndef MESH_CRYPTO_BLAKE2S_H
#define MESH_CRYPTO_BLAKE2S_H

#include <stddef.h>
#include <stdint.h>

enum blake2s_lengths {
	BLAKE2S_BLOCK_SIZE = 64,
	BLAKE2S_HASH_SIZE = 32,
	BLAKE2S_KEY_SIZE = 32,
};

struct blake2s_state {
	uint32_t h[8];
	uint32_t t[2];
	uint32_t f[2];
	uint8_t buf[BLAKE2S_BLOCK_SIZE];
	size_t buflen;
	size_t outlen;
};

/**
 * Start an unkeyed hash producing @outlen bytes (1..BLAKE2S_HASH_SIZE). An
 * out-of-range length is a programming error and aborts the process.
 */
void blake2s_init(struct blake2s_state *s, size_t outlen);

/**
 * Start a keyed hash (BLAKE2s-MAC) producing @outlen bytes (1..32) under the
 * @keylen-byte key (1..BLAKE2S_KEY_SIZE). Out-of-range lengths abort. The
 * key block is absorbed now and wiped from the stack.
 */
void blake2s_init_key(struct blake2s_state *s, size_t outlen, const void *key, size_t keylen);

/** Absorb @inlen bytes of @in; any split of the input gives the same digest. */
void blake2s_update(struct blake2s_state *s, const void *in, size_t inlen);

/** Write the s->outlen-byte digest to @out and wipe the whole state. */
void blake2s_final(struct blake2s_state *s, uint8_t *out);

/**
 * One-shot BLAKE2s of @in into @outlen bytes at @out, keyed when @keylen is
 * non-zero (@key may be NULL when @keylen is 0). @out may alias @in or @key.
 */
void blake2s(uint8_t *out, size_t outlen, const void *in, size_t inlen, const void *key,
	     size_t keylen);

#endif
