/* SPDX-License-Identifier: MIT */
/*
 * A read-only hash map from (tag, prefix) to a span of some array: the
 * building block of the compiled filter. A lookup is for one exact prefix (an
 * address masked to a length); to find every prefix of a set that holds an
 * address, the caller probes once per prefix length the set uses (it keeps
 * that list). Built once from distinct keys, then only read: no allocation
 * after pfxmap_build().
 */
#ifndef MESH_FILTER_PFXMAP_H
#define MESH_FILTER_PFXMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

/*
 * A key: @addr is masked to @bits (pfx_key_set() does it); @tag separates
 * maps that share one table. Compared and hashed as bytes.
 */
struct pfx_key {
	uint32_t tag;
	uint8_t family; /* enum ip_family */
	uint8_t bits;
	uint8_t pad[2];
	uint8_t addr[16];
};

/* What a key maps to: @n elements from @off of the caller's array. */
struct pfx_span {
	uint32_t off;
	uint32_t n;
};

struct pfxmap_slot;

struct pfxmap {
	struct pfxmap_slot *slots;
	uint32_t mask;
	uint32_t count;
};

/** Set @k to @tag and the first @bits bits of @a (bits beyond the family's length are capped). */
void pfx_key_set(struct pfx_key *k, uint32_t tag, const struct ip_addr *a, unsigned int bits);

/** Order keys by tag, family, length, then address; for qsort(). */
int pfx_key_compare(const void *a, const void *b);

/**
 * Build @m from @n distinct @keys and their @spans (arrays of @n). @m must be
 * zeroed or freed before. Returns 0, -EINVAL for a duplicate key, or -ENOMEM.
 */
int pfxmap_build(struct pfxmap *m, const struct pfx_key *keys, const struct pfx_span *spans,
		 size_t n);

/** The span @k maps to, or NULL. */
const struct pfx_span *pfxmap_find(const struct pfxmap *m, const struct pfx_key *k);

/** Free what @m holds and zero it. */
void pfxmap_free(struct pfxmap *m);

#endif
