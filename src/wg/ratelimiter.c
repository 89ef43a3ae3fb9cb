// SPDX-License-Identifier: MIT
/*
 * Handshake rate limiter: a fixed pool of entries chained into hash buckets
 * by 32-bit indices. The bucket is chosen by SipHash under a random key so
 * that a sender cannot aim many addresses at one chain. Tokens are counted in
 * nanoseconds: a packet costs 1 s / 20, and a bucket holds at most 5 packets.
 */
#include "wg/ratelimiter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/compiler.h"

enum ratelimiter_values {
	NSEC_PER_SEC = 1000000000,
	PACKET_COST = NSEC_PER_SEC / WG_RATELIMITER_PACKETS_PER_SECOND,
	TOKEN_MAX = PACKET_COST * WG_RATELIMITER_PACKETS_BURSTABLE,
	IDLE_EXPIRY = NSEC_PER_SEC,
};

/* End of a chain (UINT32_MAX does not fit an enum constant). */
static const uint32_t NIL = UINT32_MAX;

_Static_assert(WG_RATELIMITER_KEY_LEN == crypto_shorthash_KEYBYTES, "SipHash key size");
_Static_assert(NSEC_PER_SEC % WG_RATELIMITER_PACKETS_PER_SECOND == 0, "exact packet cost");
_Static_assert(IDLE_EXPIRY >= TOKEN_MAX, "an expired entry must have refilled");

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

struct ratelimiter_entry {
	uint64_t last_ns;
	uint64_t tokens; /* in ns of credit, at most TOKEN_MAX */
	uint64_t addr;	 /* IPv4 address or IPv6 /64, host order */
	uint32_t next;
	uint8_t family;
};

int wg_ratelimiter_init(struct wg_ratelimiter *r, size_t capacity)
{
	size_t nbuckets = 1;

	memset(r, 0, sizeof(*r));
	if (capacity == 0 || capacity > WG_RATELIMITER_MAX_CAPACITY)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	/* About one entry per bucket when full: chains stay short. */
	while (nbuckets < capacity)
		nbuckets <<= 1;

	r->entries = calloc(capacity, sizeof(*r->entries));
	if (!r->entries)
		return -ENOMEM;
	r->buckets = malloc(nbuckets * sizeof(*r->buckets));
	if (!r->buckets)
		goto err_free_entries;

	for (size_t i = 0; i < nbuckets; i++)
		r->buckets[i] = NIL;
	for (size_t i = 0; i < capacity; i++)
		r->entries[i].next = i + 1 < capacity ? (uint32_t)(i + 1) : NIL;
	r->free_head = 0;
	r->bucket_mask = (uint32_t)(nbuckets - 1);
	r->capacity = (uint32_t)capacity;
	r->count = 0;
	randombytes_buf(r->key, sizeof(r->key));
	return 0;

err_free_entries:
	free(r->entries);
	r->entries = NULL;
	return -ENOMEM;
}

void wg_ratelimiter_free(struct wg_ratelimiter *r)
{
	free(r->entries);
	free(r->buckets);
	sodium_memzero(r, sizeof(*r));
}

static bool idle(const struct ratelimiter_entry *e, uint64_t now_ns)
{
	return now_ns > e->last_ns && now_ns - e->last_ns > IDLE_EXPIRY;
}

/* Unlink the entry at *@link and return it to the free pool. */
static void entry_release(struct wg_ratelimiter *r, uint32_t *link)
{
	uint32_t i = *link;

	*link = r->entries[i].next;
	r->entries[i].next = r->free_head;
	r->free_head = i;
	r->count--;
}

bool wg_ratelimiter_allow(struct wg_ratelimiter *r, int family, const uint8_t *ip, uint64_t now_ns)
{
	unsigned char input[1 + 8], hash[crypto_shorthash_BYTES];
	struct ratelimiter_entry *e;
	uint64_t addr = 0, h;
	uint32_t *link, i;

	/*
	 * A dual-stack socket reports IPv4 sources as ::ffff:a.b.c.d; keyed by
	 * their /64 they would all share one bucket.
	 */
	if (family == 6 && !memcmp(ip, v4_mapped_prefix, sizeof(v4_mapped_prefix))) {
		family = 4;
		ip += sizeof(v4_mapped_prefix);
	}
	if (family == 4) {
		for (int k = 0; k < 4; k++)
			addr = addr << 8 | ip[k];
	} else if (family == 6) {
		for (int k = 0; k < 8; k++)
			addr = addr << 8 | ip[k];
	} else {
		return false;
	}
	input[0] = (unsigned char)family;
	for (int k = 0; k < 8; k++)
		input[1 + k] = (unsigned char)(addr >> (56 - 8 * k));
	crypto_shorthash(hash, input, sizeof(input), r->key);
	memcpy(&h, hash, sizeof(h));

	/* Walk the chain, reclaiming idle entries met on the way. */
	link = &r->buckets[h & r->bucket_mask];
	while ((i = *link) != NIL) {
		e = &r->entries[i];
		if (e->addr == addr && e->family == family) {
			uint64_t elapsed = now_ns > e->last_ns ? now_ns - e->last_ns : 0;
			uint64_t tokens = elapsed >= TOKEN_MAX ? TOKEN_MAX : e->tokens + elapsed;

			if (tokens > TOKEN_MAX)
				tokens = TOKEN_MAX;
			if (now_ns > e->last_ns)
				e->last_ns = now_ns;
			if (tokens < PACKET_COST) {
				e->tokens = tokens;
				return false;
			}
			e->tokens = tokens - PACKET_COST;
			return true;
		}
		if (idle(e, now_ns))
			entry_release(r, link);
		else
			link = &e->next;
	}

	if (unlikely(r->free_head == NIL))
		return false;
	i = r->free_head;
	e = &r->entries[i];
	r->free_head = e->next;
	r->count++;
	e->addr = addr;
	e->family = (uint8_t)family;
	e->last_ns = now_ns;
	e->tokens = TOKEN_MAX - PACKET_COST;
	e->next = *link;
	*link = i;
	return true;
}

void wg_ratelimiter_gc(struct wg_ratelimiter *r, uint64_t now_ns)
{
	for (uint32_t b = 0; r->count && b <= r->bucket_mask; b++) {
		uint32_t *link = &r->buckets[b];

		while (*link != NIL) {
			if (idle(&r->entries[*link], now_ns))
				entry_release(r, link);
			else
				link = &r->entries[*link].next;
		}
	}
}
