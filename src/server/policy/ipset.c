// SPDX-License-Identifier: MIT
/*
 * Address sets as sorted range arrays. Addresses are compared as big-endian
 * byte strings (struct ip_addr keeps IPv4 in its first four bytes with the rest
 * zero, so ip_addr_compare() orders both families), which keeps every
 * operation a walk over bytes with no 128-bit arithmetic.
 */
#include "server/policy/ipset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t addr_bytes(const struct ip_addr *a)
{
	return a->family == IP_FAMILY_V4 ? 4 : 16;
}

/* a += 1; returns false (leaving a at zero) when it wrapped past the last address. */
static bool addr_inc(struct ip_addr *a)
{
	for (size_t i = addr_bytes(a); i-- > 0;) {
		if (++a->bytes[i])
			return true;
	}
	return false;
}

/* a -= 1; returns false when a was the first address. */
static bool addr_dec(struct ip_addr *a)
{
	for (size_t i = addr_bytes(a); i-- > 0;) {
		if (a->bytes[i]--)
			return true;
	}
	return false;
}

void policy_range_from_prefix(struct policy_range *r, const struct ip_prefix *p)
{
	unsigned int bits = p->bits, total = ip_addr_bits(&p->addr);

	r->first = p->addr;
	r->last = p->addr;
	for (unsigned int b = bits; b < total; b++) {
		r->first.bytes[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
		r->last.bytes[b / 8] |= (uint8_t)(0x80u >> (b % 8));
	}
}

bool policy_range_contains(const struct policy_range *r, const struct ip_addr *a)
{
	return a->family == r->first.family && ip_addr_compare(&r->first, a) <= 0 &&
	       ip_addr_compare(a, &r->last) <= 0;
}

void policy_ipset_init(struct policy_ipset *s)
{
	memset(s, 0, sizeof(*s));
}

void policy_ipset_release(struct policy_ipset *s)
{
	free(s->r);
	policy_ipset_init(s);
}

static int reserve(struct policy_ipset *s, size_t more)
{
	struct policy_range *r;
	size_t cap;

	if (s->n + more <= s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 8;
	while (cap < s->n + more)
		cap *= 2;
	r = realloc(s->r, cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	s->r = r;
	s->cap = cap;
	return 0;
}

int policy_ipset_add_range(struct policy_ipset *s, const struct ip_addr *first,
			   const struct ip_addr *last)
{
	if (first->family != last->family || first->family == IP_FAMILY_UNSET ||
	    ip_addr_compare(first, last) > 0)
		return -EINVAL;
	if (reserve(s, 1))
		return -ENOMEM;
	s->r[s->n].first = *first;
	s->r[s->n].last = *last;
	s->n++;
	s->normalized = false;
	return 0;
}

int policy_ipset_add_prefix(struct policy_ipset *s, const struct ip_prefix *p)
{
	struct policy_range r;

	policy_range_from_prefix(&r, p);
	return policy_ipset_add_range(s, &r.first, &r.last);
}

int policy_ipset_add_addr(struct policy_ipset *s, const struct ip_addr *a)
{
	return policy_ipset_add_range(s, a, a);
}

int policy_ipset_add_set(struct policy_ipset *s, const struct policy_ipset *o)
{
	if (reserve(s, o->n))
		return -ENOMEM;
	if (o->n)
		memcpy(s->r + s->n, o->r, o->n * sizeof(*o->r));
	s->n += o->n;
	s->normalized = false;
	return 0;
}

static int range_cmp(const void *x, const void *y)
{
	const struct policy_range *a = x, *b = y;
	int c = ip_addr_compare(&a->first, &b->first);

	return c ? c : ip_addr_compare(&a->last, &b->last);
}

void policy_ipset_normalize(struct policy_ipset *s)
{
	size_t out = 0;

	if (s->normalized)
		return;
	if (s->n > 1)
		qsort(s->r, s->n, sizeof(*s->r), range_cmp);
	for (size_t i = 0; i < s->n; i++) {
		struct policy_range *cur = &s->r[i], *prev = out ? &s->r[out - 1] : NULL;
		struct ip_addr next;

		if (prev && prev->last.family == cur->first.family) {
			next = prev->last;
			/* Overlapping, or adjacent (prev->last + 1 == cur->first): merge. */
			if (ip_addr_compare(&cur->first, &prev->last) <= 0 ||
			    (addr_inc(&next) && ip_addr_equal(&next, &cur->first))) {
				if (ip_addr_compare(&cur->last, &prev->last) > 0)
					prev->last = cur->last;
				continue;
			}
		}
		s->r[out++] = *cur;
	}
	s->n = out;
	s->normalized = true;
}

/* Index of the last range whose first address is <= a, or SIZE_MAX. */
static size_t find(const struct policy_ipset *s, const struct ip_addr *a)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ip_addr_compare(&s->r[mid].first, a) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : SIZE_MAX;
}

bool policy_ipset_contains(const struct policy_ipset *s, const struct ip_addr *a)
{
	size_t i = find(s, a);

	return i != SIZE_MAX && policy_range_contains(&s->r[i], a);
}

bool policy_ipset_overlaps_prefix(const struct policy_ipset *s, const struct ip_prefix *p)
{
	struct policy_range r;
	size_t i;

	policy_range_from_prefix(&r, p);
	/* The range starting at or before r.first may reach into it ... */
	i = find(s, &r.first);
	if (i != SIZE_MAX && s->r[i].last.family == r.first.family &&
	    ip_addr_compare(&s->r[i].last, &r.first) >= 0)
		return true;
	/* ... or the next one starts inside it. */
	i = i == SIZE_MAX ? 0 : i + 1;
	return i < s->n && policy_range_contains(&r, &s->r[i].first);
}

int policy_ipset_remove_prefix(struct policy_ipset *s, const struct ip_prefix *p)
{
	struct policy_range cut, *r;
	size_t n = 0;

	policy_ipset_normalize(s);
	policy_range_from_prefix(&cut, p);
	/* At most one range is split in two, so one extra slot is enough. */
	r = malloc((s->n + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		struct policy_range cur = s->r[i];

		if (cur.first.family != cut.first.family ||
		    ip_addr_compare(&cur.last, &cut.first) < 0 ||
		    ip_addr_compare(&cur.first, &cut.last) > 0) {
			r[n++] = cur;
			continue;
		}
		if (ip_addr_compare(&cur.first, &cut.first) < 0) {
			r[n] = cur;
			r[n].last = cut.first;
			addr_dec(&r[n].last);
			n++;
		}
		if (ip_addr_compare(&cur.last, &cut.last) > 0) {
			r[n] = cur;
			r[n].first = cut.last;
			addr_inc(&r[n].first);
			n++;
		}
	}
	free(s->r);
	s->cap = s->n + 1;
	s->r = r;
	s->n = n;
	s->normalized = true;
	return 0;
}

bool policy_ipset_equal(const struct policy_ipset *a, const struct policy_ipset *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		if (!ip_addr_equal(&a->r[i].first, &b->r[i].first) ||
		    !ip_addr_equal(&a->r[i].last, &b->r[i].last))
			return false;
	}
	return true;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

uint64_t policy_ipset_hash(const struct policy_ipset *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < s->n; i++) {
		h = fnv(h, &s->r[i].first.family, 1);
		h = fnv(h, s->r[i].first.bytes, addr_bytes(&s->r[i].first));
		h = fnv(h, s->r[i].last.bytes, addr_bytes(&s->r[i].last));
	}
	return h;
}

/* The prefix length if @r is exactly one prefix, or -1. */
static int range_prefix_len(const struct policy_range *r)
{
	unsigned int total = ip_addr_bits(&r->first), b = 0;

	while (b < total &&
	       ((r->first.bytes[b / 8] ^ r->last.bytes[b / 8]) & (0x80u >> (b % 8))) == 0)
		b++;
	for (unsigned int k = b; k < total; k++) {
		unsigned int bit = 0x80u >> (k % 8);

		if ((r->first.bytes[k / 8] & bit) || !(r->last.bytes[k / 8] & bit))
			return -1;
	}
	return (int)b;
}

char *policy_range_format(const struct policy_range *r, char *buf, size_t len)
{
	char a[IP_ADDR_STRLEN], b[IP_ADDR_STRLEN];
	int bits;

	ip_addr_format(&r->first, a, sizeof(a));
	if (ip_addr_equal(&r->first, &r->last)) {
		snprintf(buf, len, "%s", a);
		return buf;
	}
	bits = range_prefix_len(r);
	if (bits >= 0) {
		snprintf(buf, len, "%s/%d", a, bits);
		return buf;
	}
	snprintf(buf, len, "%s-%s", a, ip_addr_format(&r->last, b, sizeof(b)));
	return buf;
}
