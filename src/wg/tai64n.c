// SPDX-License-Identifier: MIT
/*
 * TAI64N encoding. The order of two encodings equals the order of their
 * times because both fields are big-endian and nanoseconds stay below 10^9.
 */
#include "wg/tai64n.h"

#include <string.h>
#include <time.h>

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void tai64n_encode(uint8_t out[TAI64N_LEN], uint64_t unix_ns)
{
	uint64_t secs = TAI64N_BASE + unix_ns / WG_NSEC_PER_SEC;
	uint32_t nsec = (uint32_t)(unix_ns % WG_NSEC_PER_SEC) & ~(uint32_t)TAI64N_WHITENER_MASK;

	put_be32(out, (uint32_t)(secs >> 32));
	put_be32(out + 4, (uint32_t)secs);
	put_be32(out + 8, nsec);
}

void tai64n_now(uint8_t out[TAI64N_LEN])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	tai64n_encode(out, (uint64_t)ts.tv_sec * WG_NSEC_PER_SEC + (uint64_t)ts.tv_nsec);
}

int tai64n_compare(const uint8_t a[TAI64N_LEN], const uint8_t b[TAI64N_LEN])
{
	return memcmp(a, b, TAI64N_LEN);
}
