/* SPDX-License-Identifier: MIT */
/*
 * Curve25519 keys (X25519, RFC 7748) on libsodium: WireGuard node keys,
 * ephemerals and the Diffie-Hellman that rejects low-order results.
 * sodium_init() must have succeeded first (each program's main does it).
 */
#ifndef MESH_CRYPTO_KEYS_H
#define MESH_CRYPTO_KEYS_H

#include <stdbool.h>
#include <stdint.h>

enum key_lengths {
	KEY_LEN = 32,
};

/** Fill @priv with a fresh random X25519 private key, already clamped. */
void key_generate_private(uint8_t priv[KEY_LEN]);

/**
 * Clamp @priv in place as X25519 does (clear bits 0-2 and 255, set bit 254).
 * Storing keys clamped makes them print as wg(8) prints them.
 */
void key_clamp_private(uint8_t priv[KEY_LEN]);

/** Derive the public key of @priv (clamped internally). Returns 0 or -EINVAL. */
int key_public_from_private(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN]);

/**
 * X25519(@priv, @pub) into @out. Returns -EINVAL, with @out zeroed, when the
 * result is all zero, i.e. @pub is a low-order point; WireGuard aborts the
 * handshake then. @out may alias @priv or @pub.
 */
int key_dh(uint8_t out[KEY_LEN], const uint8_t priv[KEY_LEN], const uint8_t pub[KEY_LEN]);

/** True when all KEY_LEN bytes of @key are zero, in constant time. */
bool key_is_zero(const uint8_t key[KEY_LEN]);

#endif
