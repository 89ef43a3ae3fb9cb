/* SPDX-License-Identifier: MIT */
/*
 * Per-source token bucket for handshake messages under load: 20 packets per
 * second with a burst of 5, keyed by IPv4 address or IPv6 /64. The table has
 * a fixed capacity and never grows; time is passed in so tests can fake it.
 */
#ifndef MESH_WG_RATELIMITER_H
#define MESH_WG_RATELIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wg_ratelimiter_limits {
	WG_RATELIMITER_PACKETS_PER_SECOND = 20,
	WG_RATELIMITER_PACKETS_BURSTABLE = 5,
	WG_RATELIMITER_DEFAULT_CAPACITY = 65536,
	WG_RATELIMITER_MAX_CAPACITY = 1 << 24,
	WG_RATELIMITER_KEY_LEN = 16,
};

struct ratelimiter_entry;

struct wg_ratelimiter {
	struct ratelimiter_entry *entries;
	uint32_t *buckets; /* chain heads: indices into entries */
	uint32_t bucket_mask;
	uint32_t free_head; /* chain of unused entries */
	uint32_t capacity;
	uint32_t count; /* read-only: entries in use */
	unsigned char key[WG_RATELIMITER_KEY_LEN];
};

/**
 * Allocate a table for at most @capacity sources (1..WG_RATELIMITER_MAX_CAPACITY)
 * and pick a random hash key. Returns 0, -EINVAL, -ENOMEM or -EIO (libsodium
 * failed to initialise).
 */
int wg_ratelimiter_init(struct wg_ratelimiter *r, size_t capacity);

/** Release the table and wipe its key; @r may be initialised again. */
void wg_ratelimiter_free(struct wg_ratelimiter *r);

/**
 * Take one token for the source @ip (family 4: 4 bytes, 6: 16 bytes of which
 * the /64 counts; an IPv4-mapped address counts as IPv4) at monotonic time
 * @now_ns. Returns true if the packet may be processed. A new source starts
 * with a full burst. When the table is full and holds no idle entry on the
 * way, a new source is refused (rate limited), since growing would let a flood
 * exhaust memory. Unknown families are refused. Only call it on an @r that
 * wg_ratelimiter_init() set up successfully.
 */
bool wg_ratelimiter_allow(struct wg_ratelimiter *r, int family, const uint8_t *ip, uint64_t now_ns);

/**
 * Drop every source not seen for more than a second (its bucket would be full
 * again, so forgetting it changes nothing). Call it about once a second.
 */
void wg_ratelimiter_gc(struct wg_ratelimiter *r, uint64_t now_ns);

#endif
