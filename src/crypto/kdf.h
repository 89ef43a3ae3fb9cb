/* SPDX-License-Identifier: MIT */
/*
 * HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256, 64-byte block) and WireGuard's
 * KDF1/2/3, an HKDF (RFC 5869) on top of it. This HMAC is used only inside
 * the KDF; WireGuard's mac1/mac2/cookie are keyed BLAKE2s, not HMAC.
 */
#ifndef MESH_CRYPTO_KDF_H
#define MESH_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/blake2s.h"

/**
 * HMAC-BLAKE2s-256 of @in under @key. A key longer than the 64-byte block is
 * hashed first, as RFC 2104 requires. @key/@in may be NULL when their length
 * is 0, and @out may alias either of them.
 */
void hmac_blake2s(uint8_t out[BLAKE2S_HASH_SIZE], const void *key, size_t keylen, const void *in,
		  size_t inlen);

/**
 * HKDF-BLAKE2s with a @keylen-byte salt @key (any length, NULL if 0): the
 * same as kdf_blake2s() otherwise. wireguard-go's KDF test vectors use short
 * keys, so the general form is public too.
 */
void hkdf_blake2s(uint8_t t1[BLAKE2S_HASH_SIZE], uint8_t *t2, uint8_t *t3, const void *key,
		  size_t keylen, const void *in, size_t inlen);

/**
 * WireGuard's KDFn(C, input): prk = HMAC(C, input), T1 = HMAC(prk, 0x01),
 * T2 = HMAC(prk, T1 || 0x02), T3 = HMAC(prk, T2 || 0x03). Pass NULL for @t2
 * (and @t3) to stop after fewer outputs; @t3 needs @t2. Outputs may alias
 * @chaining_key or @in (C = KDF1(C, x) is the common case), and every
 * intermediate is wiped.
 */
void kdf_blake2s(uint8_t t1[BLAKE2S_HASH_SIZE], uint8_t *t2, uint8_t *t3,
		 const uint8_t chaining_key[BLAKE2S_HASH_SIZE], const void *in, size_t inlen);

#endif
