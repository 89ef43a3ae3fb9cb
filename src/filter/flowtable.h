/* SPDX-License-Identifier: MIT */
/*
 * A bounded table of flows with expiry and least-recently-used eviction: the
 * packet filter's memory of what this node started, so that replies come
 * back in. Every entry lives in one array allocated at creation; nothing is
 * allocated afterwards. Time comes in as an argument (milliseconds of a
 * monotonic clock), so tests drive it with a fake clock.
 *
 * Rules that the tests check against a model:
 *  - an entry is live while now < expires; flowtable_lookup() of an expired
 *    entry frees it and reports a miss;
 *  - lookup and insert of a live entry make it the most recently used;
 *  - inserting into a full table frees the least recently used entry (live
 *    or not) first; flowtable_evictions() counts the live ones lost that way;
 *  - flowtable_expire() frees expired entries from the least recently used
 *    end, looking at no more than a given number of entries.
 *
 * Buckets are chosen with SipHash-1-3 under a random key, so that a peer who
 * can make this node send packets cannot aim them all at one chain.
 */
#ifndef MESH_FILTER_FLOWTABLE_H
#define MESH_FILTER_FLOWTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum flowtable_limits {
	FLOWTABLE_MAX_CAPACITY = 1 << 22,
};

/*
 * A flow as seen from this node: @laddr/@lport is the local end (the source of
 * the packets it sends), @raddr/@rport the remote one. ICMP echo flows keep the
 * identifier in @lport and 0 in @rport. @kind separates independent uses of one
 * table. Unused bytes (the tail of IPv4 addresses, @pad) must be zero, so that
 * keys compare and hash as bytes: build keys from a zeroed struct.
 */
struct flow_key {
	uint8_t family; /* enum ip_family */
	uint8_t proto;
	uint8_t kind;
	uint8_t pad;
	uint16_t lport;
	uint16_t rport;
	uint8_t laddr[16];
	uint8_t raddr[16];
};

/* One entry. Callers may change @expires and @state of what they get back. */
struct flow_entry {
	struct flow_key key;
	uint64_t expires; /* ms; the entry is live while now < expires */
	uint8_t state;	  /* the caller's (the filter keeps TCP state here) */
};

struct flowtable;

/**
 * Create a table for up to @capacity flows (1 to FLOWTABLE_MAX_CAPACITY).
 * Returns 0, -EINVAL for a bad capacity, or -ENOMEM.
 */
int flowtable_create(struct flowtable **out, size_t capacity);

/** Free @ft. NULL is allowed. */
void flowtable_destroy(struct flowtable *ft);

/**
 * The live entry for @key at time @now, made the most recently used, or NULL.
 * An expired entry for @key is freed.
 */
struct flow_entry *flowtable_lookup(struct flowtable *ft, const struct flow_key *key, uint64_t now);

/**
 * The entry for @key, created if there is none (then with expires = 0 and
 * state = 0: the caller sets both), made the most recently used. When the
 * table is full, the least recently used entry is freed first. Never fails.
 * *@created (if not NULL) tells whether the entry is new, which an expired
 * entry for @key also counts as.
 */
struct flow_entry *flowtable_insert(struct flowtable *ft, const struct flow_key *key, uint64_t now,
				    bool *created);

/** Free the entry for @key, if any. Returns true if there was one. */
bool flowtable_remove(struct flowtable *ft, const struct flow_key *key);

/**
 * Free expired entries at @now, walking from the least recently used end over
 * at most @budget entries. Returns the number freed.
 */
size_t flowtable_expire(struct flowtable *ft, uint64_t now, size_t budget);

/** Free every entry. */
void flowtable_clear(struct flowtable *ft);

/** Entries in use, expired ones not yet freed included. */
size_t flowtable_count(const struct flowtable *ft);

/** The capacity given at creation. */
size_t flowtable_capacity(const struct flowtable *ft);

/** Live entries freed to make room, since creation. */
uint64_t flowtable_evictions(const struct flowtable *ft);

#endif
