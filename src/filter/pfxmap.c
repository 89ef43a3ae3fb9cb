// SPDX-License-Identifier: MIT
/*
 * Open addressing with linear probing, at most half full. The keys come from
 * the control server (rules) and from the node's own configuration, never
 * from packets, so an unkeyed hash is enough: a packet can only pick which
 * of the few existing runs it probes, and runs stay short below half load.
 */
#include "filter/pfxmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(struct pfx_key) == 24, "prefix keys are hashed and compared as bytes");

enum {
	EMPTY_TAG = UINT32_MAX, /* no key uses it: tags are small indices */
	MAX_KEYS = 1u << 26,
};

struct pfxmap_slot {
	struct pfx_key key;
	struct pfx_span span;
};

void pfx_key_set(struct pfx_key *k, uint32_t tag, const struct ip_addr *a, unsigned int bits)
{
	unsigned int max = ip_addr_bits(a), full;

	memset(k, 0, sizeof(*k));
	if (bits > max)
		bits = max;
	k->tag = tag;
	k->family = a->family;
	k->bits = (uint8_t)bits;
	full = bits / 8;
	memcpy(k->addr, a->bytes, full);
	if (bits % 8)
		k->addr[full] = (uint8_t)(a->bytes[full] & (0xff00 >> (bits % 8)));
}

int pfx_key_compare(const void *a, const void *b)
{
	const struct pfx_key *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->bits != y->bits)
		return x->bits < y->bits ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof(x->addr));
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t key_hash(const struct pfx_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = load64(b) * 0x9e3779b97f4a7c15ull;

	h ^= load64(b + 8) * 0xc2b2ae3d27d4eb4full;
	h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
	h ^= load64(b + 16) * 0x165667b19e3779f9ull;
	h = (h ^ (h >> 29)) * 0x94d049bb133111ebull;
	return (uint32_t)(h ^ (h >> 32));
}

int pfxmap_build(struct pfxmap *m, const struct pfx_key *keys, const struct pfx_span *spans,
		 size_t n)
{
	size_t size = 4;

	memset(m, 0, sizeof(*m));
	if (n > MAX_KEYS)
		return -ENOMEM;
	while (size < 2 * n)
		size <<= 1;
	m->slots = malloc(size * sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	m->mask = (uint32_t)size - 1;
	for (size_t i = 0; i < size; i++)
		m->slots[i].key.tag = EMPTY_TAG;
	for (size_t i = 0; i < n; i++) {
		uint32_t h = key_hash(&keys[i]) & m->mask;

		while (m->slots[h].key.tag != EMPTY_TAG) {
			if (!memcmp(&m->slots[h].key, &keys[i], sizeof(keys[i]))) {
				pfxmap_free(m);
				return -EINVAL;
			}
			h = (h + 1) & m->mask;
		}
		m->slots[h].key = keys[i];
		m->slots[h].span = spans[i];
		m->count++;
	}
	return 0;
}

const struct pfx_span *pfxmap_find(const struct pfxmap *m, const struct pfx_key *k)
{
	uint32_t h;

	if (!m->slots)
		return NULL;
	for (h = key_hash(k) & m->mask; m->slots[h].key.tag != EMPTY_TAG; h = (h + 1) & m->mask) {
		if (!memcmp(&m->slots[h].key, k, sizeof(*k)))
			return &m->slots[h].span;
	}
	return NULL;
}

void pfxmap_free(struct pfxmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
