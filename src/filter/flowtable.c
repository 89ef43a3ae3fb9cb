// SPDX-License-Identifier: MIT
/*
 * The flow table: one array of slots, chained hash buckets and a doubly
 * linked LRU list through slot indices, and a free list. Lookups and inserts
 * are O(1) plus the length of one chain, which stays short because there are
 * at least as many buckets as slots and the bucket hash is keyed.
 */
#include "filter/flowtable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "filter/siphash.h"

_Static_assert(sizeof(struct flow_key) == 40, "flow keys are hashed and compared as bytes");

enum {
	NIL = UINT32_MAX,
};

struct slot {
	struct flow_entry e;
	uint32_t hash;	/* bucket hash of e.key, kept for unlinking */
	uint32_t hnext; /* hash chain, or the free list */
	uint32_t prev;	/* LRU: towards the most recently used */
	uint32_t next;	/* LRU: towards the least recently used */
};

struct flowtable {
	struct slot *slots;
	uint32_t *buckets;
	uint32_t mask;
	uint32_t capacity;
	uint32_t count;
	uint32_t head; /* most recently used */
	uint32_t tail; /* least recently used */
	uint32_t free;
	uint64_t evictions;
	uint8_t hash_key[SIPHASH_KEY_LEN];
};

/* SipHash-1-3, the hash-table variant (see siphash.h). */
static uint32_t key_hash(const struct flowtable *ft, const struct flow_key *k)
{
	return (uint32_t)siphash_compute(ft->hash_key, k, sizeof(*k), 1, 3);
}

static void reset(struct flowtable *ft)
{
	for (uint32_t i = 0; i <= ft->mask; i++)
		ft->buckets[i] = NIL;
	for (uint32_t i = 0; i < ft->capacity; i++)
		ft->slots[i].hnext = i + 1 < ft->capacity ? i + 1 : NIL;
	ft->free = 0;
	ft->count = 0;
	ft->head = ft->tail = NIL;
}

int flowtable_create(struct flowtable **out, size_t capacity)
{
	struct flowtable *ft;
	size_t nbuckets = 1;

	*out = NULL;
	if (!capacity || capacity > FLOWTABLE_MAX_CAPACITY)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOMEM;
	while (nbuckets < capacity)
		nbuckets <<= 1;
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return -ENOMEM;
	ft->slots = calloc(capacity, sizeof(*ft->slots));
	ft->buckets = calloc(nbuckets, sizeof(*ft->buckets));
	if (!ft->slots || !ft->buckets) {
		flowtable_destroy(ft);
		return -ENOMEM;
	}
	ft->capacity = (uint32_t)capacity;
	ft->mask = (uint32_t)nbuckets - 1;
	randombytes_buf(ft->hash_key, sizeof(ft->hash_key));
	reset(ft);
	*out = ft;
	return 0;
}

void flowtable_destroy(struct flowtable *ft)
{
	if (!ft)
		return;
	free(ft->slots);
	free(ft->buckets);
	free(ft);
}

static uint32_t find(const struct flowtable *ft, const struct flow_key *k, uint32_t hash)
{
	uint32_t i = ft->buckets[hash & ft->mask];

	while (i != NIL &&
	       (ft->slots[i].hash != hash || memcmp(&ft->slots[i].e.key, k, sizeof(*k)) != 0))
		i = ft->slots[i].hnext;
	return i;
}

static void lru_unlink(struct flowtable *ft, uint32_t i)
{
	struct slot *s = &ft->slots[i];

	if (s->prev != NIL)
		ft->slots[s->prev].next = s->next;
	else
		ft->head = s->next;
	if (s->next != NIL)
		ft->slots[s->next].prev = s->prev;
	else
		ft->tail = s->prev;
}

static void lru_push(struct flowtable *ft, uint32_t i)
{
	struct slot *s = &ft->slots[i];

	s->prev = NIL;
	s->next = ft->head;
	if (ft->head != NIL)
		ft->slots[ft->head].prev = i;
	else
		ft->tail = i;
	ft->head = i;
}

static void touch(struct flowtable *ft, uint32_t i)
{
	if (ft->head == i)
		return;
	lru_unlink(ft, i);
	lru_push(ft, i);
}

static void release(struct flowtable *ft, uint32_t i)
{
	struct slot *s = &ft->slots[i];
	uint32_t *link = &ft->buckets[s->hash & ft->mask];

	while (*link != i)
		link = &ft->slots[*link].hnext;
	*link = s->hnext;
	lru_unlink(ft, i);
	s->hnext = ft->free;
	ft->free = i;
	ft->count--;
}

static bool expired(const struct slot *s, uint64_t now)
{
	return now >= s->e.expires;
}

struct flow_entry *flowtable_lookup(struct flowtable *ft, const struct flow_key *key, uint64_t now)
{
	uint32_t i = find(ft, key, key_hash(ft, key));

	if (i == NIL)
		return NULL;
	if (expired(&ft->slots[i], now)) {
		release(ft, i);
		return NULL;
	}
	touch(ft, i);
	return &ft->slots[i].e;
}

struct flow_entry *flowtable_insert(struct flowtable *ft, const struct flow_key *key, uint64_t now,
				    bool *created)
{
	uint32_t hash = key_hash(ft, key), i = find(ft, key, hash);
	struct slot *s;

	if (i != NIL) {
		s = &ft->slots[i];
		if (created)
			*created = expired(s, now);
		if (expired(s, now)) {
			s->e.expires = 0;
			s->e.state = 0;
		}
		touch(ft, i);
		return &s->e;
	}
	if (ft->free == NIL) {
		if (!expired(&ft->slots[ft->tail], now))
			ft->evictions++;
		release(ft, ft->tail);
	}
	i = ft->free;
	s = &ft->slots[i];
	ft->free = s->hnext;
	memset(&s->e, 0, sizeof(s->e));
	s->e.key = *key;
	s->hash = hash;
	s->hnext = ft->buckets[hash & ft->mask];
	ft->buckets[hash & ft->mask] = i;
	lru_push(ft, i);
	ft->count++;
	if (created)
		*created = true;
	return &s->e;
}

bool flowtable_remove(struct flowtable *ft, const struct flow_key *key)
{
	uint32_t i = find(ft, key, key_hash(ft, key));

	if (i == NIL)
		return false;
	release(ft, i);
	return true;
}

size_t flowtable_expire(struct flowtable *ft, uint64_t now, size_t budget)
{
	uint32_t i = ft->tail;
	size_t freed = 0;

	while (i != NIL && budget--) {
		uint32_t prev = ft->slots[i].prev;

		if (expired(&ft->slots[i], now)) {
			release(ft, i);
			freed++;
		}
		i = prev;
	}
	return freed;
}

void flowtable_clear(struct flowtable *ft)
{
	reset(ft);
}

size_t flowtable_count(const struct flowtable *ft)
{
	return ft->count;
}

size_t flowtable_capacity(const struct flowtable *ft)
{
	return ft->capacity;
}

uint64_t flowtable_evictions(const struct flowtable *ft)
{
	return ft->evictions;
}
