// SPDX-License-Identifier: MIT
/*
 * Intrusive chained hash tables for session indices and peer public keys.
 * Tables double when they hold more entries than buckets; they never shrink
 * (a device that once had N peers will likely have them again).
 */
#include "wg/peerlookup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { INITIAL_BUCKETS = 64 };

static int alloc_buckets(void ***buckets, size_t n)
{
	*buckets = calloc(n, sizeof(void *));
	return *buckets ? 0 : -ENOMEM;
}

/* ---- index table ---- */

static size_t index_bucket(const struct wg_index_table *t, uint32_t index)
{
	/* Indices are our own random numbers: their low bits are uniform. */
	return index & t->mask;
}

int wg_index_table_init(struct wg_index_table *t)
{
	memset(t, 0, sizeof(*t));
	t->mask = INITIAL_BUCKETS - 1;
	return alloc_buckets((void ***)&t->buckets, INITIAL_BUCKETS);
}

void wg_index_table_free(struct wg_index_table *t)
{
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

static void index_grow(struct wg_index_table *t)
{
	size_t n = (t->mask + 1) * 2;
	struct wg_index_entry **b;

	if (alloc_buckets((void ***)&b, n))
		return; /* keep the longer chains; correctness is unaffected */
	for (size_t i = 0; i <= t->mask; i++) {
		struct wg_index_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->index & (n - 1)];
			b[e->index & (n - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->mask = n - 1;
}

static bool index_in_use(const struct wg_index_table *t, uint32_t index)
{
	for (const struct wg_index_entry *e = t->buckets[index_bucket(t, index)]; e; e = e->next)
		if (e->index == index)
			return true;
	return false;
}

static void index_link(struct wg_index_table *t, struct wg_index_entry *e)
{
	size_t b = index_bucket(t, e->index);

	e->next = t->buckets[b];
	t->buckets[b] = e;
	e->hashed = true;
	t->count++;
}

void wg_index_table_remove(struct wg_index_table *t, struct wg_index_entry *e)
{
	struct wg_index_entry **pp;

	if (!e->hashed)
		return;
	for (pp = &t->buckets[index_bucket(t, e->index)]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			t->count--;
			break;
		}
	}
	e->next = NULL;
	e->hashed = false;
}

int wg_index_table_insert(struct wg_index_table *t, struct wg_index_entry *e)
{
	uint32_t index;

	wg_index_table_remove(t, e);
	if (t->count >= t->mask + 1)
		index_grow(t);
	do
		index = randombytes_random();
	while (index_in_use(t, index));
	e->index = index;
	index_link(t, e);
	return 0;
}

void wg_index_table_replace(struct wg_index_table *t, struct wg_index_entry *old,
			    struct wg_index_entry *new_entry)
{
	wg_index_table_remove(t, new_entry);
	if (!old->hashed)
		return;
	new_entry->index = old->index;
	wg_index_table_remove(t, old);
	index_link(t, new_entry);
}

struct wg_index_entry *wg_index_table_lookup(const struct wg_index_table *t, uint32_t index,
					     enum wg_index_type type)
{
	for (struct wg_index_entry *e = t->buckets[index_bucket(t, index)]; e; e = e->next)
		if (e->index == index)
			return e->type == type ? e : NULL;
	return NULL;
}

/* ---- public key table ---- */

static size_t pubkey_bucket(const struct wg_pubkey_table *t, const uint8_t key[32])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, key, 32, t->hash_key);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & t->mask;
}

int wg_pubkey_table_init(struct wg_pubkey_table *t)
{
	memset(t, 0, sizeof(*t));
	t->mask = INITIAL_BUCKETS - 1;
	crypto_shorthash_keygen(t->hash_key);
	return alloc_buckets((void ***)&t->buckets, INITIAL_BUCKETS);
}

void wg_pubkey_table_free(struct wg_pubkey_table *t)
{
	free(t->buckets);
	sodium_memzero(t, sizeof(*t));
}

static void pubkey_grow(struct wg_pubkey_table *t)
{
	struct wg_pubkey_table n = *t;

	n.mask = (t->mask + 1) * 2 - 1;
	if (alloc_buckets((void ***)&n.buckets, n.mask + 1))
		return;
	for (size_t i = 0; i <= t->mask; i++) {
		struct wg_pubkey_entry *e = t->buckets[i], *next;

		for (; e; e = next) {
			size_t b = pubkey_bucket(&n, e->key);

			next = e->next;
			e->next = n.buckets[b];
			n.buckets[b] = e;
		}
	}
	free(t->buckets);
	t->buckets = n.buckets;
	t->mask = n.mask;
}

int wg_pubkey_table_insert(struct wg_pubkey_table *t, struct wg_pubkey_entry *e)
{
	size_t b;

	if (wg_pubkey_table_lookup(t, e->key))
		return -EEXIST;
	if (t->count >= t->mask + 1)
		pubkey_grow(t);
	b = pubkey_bucket(t, e->key);
	e->next = t->buckets[b];
	t->buckets[b] = e;
	e->hashed = true;
	t->count++;
	return 0;
}

void wg_pubkey_table_remove(struct wg_pubkey_table *t, struct wg_pubkey_entry *e)
{
	struct wg_pubkey_entry **pp;

	if (!e->hashed)
		return;
	for (pp = &t->buckets[pubkey_bucket(t, e->key)]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			t->count--;
			break;
		}
	}
	e->next = NULL;
	e->hashed = false;
}

struct wg_pubkey_entry *wg_pubkey_table_lookup(const struct wg_pubkey_table *t,
					       const uint8_t key[32])
{
	for (struct wg_pubkey_entry *e = t->buckets[pubkey_bucket(t, key)]; e; e = e->next)
		if (!sodium_memcmp(e->key, key, 32))
			return e;
	return NULL;
}
