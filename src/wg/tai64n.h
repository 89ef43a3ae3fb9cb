/* SPDX-License-Identifier: MIT */
/*
 * TAI64N timestamps for handshake initiations: 12 bytes, big-endian
 * (2^62 + 10 + unix seconds) || big-endian nanoseconds. Big-endian so that
 * the responder's replay check is a plain byte comparison.
 */
#ifndef MESH_WG_TAI64N_H
#define MESH_WG_TAI64N_H

#include <stdint.h>

#include "wg/wg_proto.h"

enum tai64n_constants {
	TAI64N_LEN = NOISE_TIMESTAMP_LEN,
	/* Nanoseconds are rounded down to a multiple of 2^24 (~16.8 ms): no precise clock leaks. */
	TAI64N_WHITENER_MASK = (1 << 24) - 1,
};

/* The label of unix second 0 (TAI64 epoch offset plus the 10 s TAI-UTC offset of 1970). */
#define TAI64N_BASE UINT64_C(0x400000000000000a)

/**
 * Encode the wall-clock time @unix_ns (nanoseconds since 1970, CLOCK_REALTIME)
 * into @out, whitening the nanoseconds.
 */
void tai64n_encode(uint8_t out[TAI64N_LEN], uint64_t unix_ns);

/** Encode the current CLOCK_REALTIME time, as tai64n_encode() does. */
void tai64n_now(uint8_t out[TAI64N_LEN]);

/** Compare two timestamps: <0, 0 or >0 as @a is before, equal to or after @b. */
int tai64n_compare(const uint8_t a[TAI64N_LEN], const uint8_t b[TAI64N_LEN]);

#endif
