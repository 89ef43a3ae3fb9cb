// SPDX-License-Identifier: MIT
/*
 * The in-use set is an open-addressing hash table of whole struct ip_addr
 * values (ipaddr.h keeps unused bytes zero, so memcmp and hashing are exact),
 * with tombstones for released entries and a rebuild when they pile up.
 */
#include "server/ipalloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum slot_state {
	SLOT_EMPTY = 0,
	SLOT_USED = 1,
	SLOT_DEAD = 2,
};

struct slot {
	struct ip_addr addr;
	uint8_t state; /* enum slot_state */
};

struct ipalloc {
	struct ip_prefix v4;
	struct ip_prefix v6;
	uint64_t pool;	 /* host numbers available: min of both prefixes' sizes */
	uint64_t cursor; /* the last host number handed out */
	struct slot *slots;
	size_t cap; /* a power of two */
	size_t used;
	size_t dead;
};

static uint64_t hash_addr(const struct ip_addr *a)
{
	const uint8_t *p = (const uint8_t *)a;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < sizeof(*a); i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static struct slot *find(const struct ipalloc *a, const struct ip_addr *addr, bool for_insert)
{
	size_t mask = a->cap - 1, i = (size_t)hash_addr(addr) & mask;
	struct slot *first_dead = NULL;

	for (;;) {
		struct slot *s = &a->slots[i];

		if (s->state == SLOT_EMPTY)
			return for_insert ? (first_dead ? first_dead : s) : NULL;
		if (s->state == SLOT_DEAD) {
			if (!first_dead)
				first_dead = s;
		} else if (!memcmp(&s->addr, addr, sizeof(*addr))) {
			return s;
		}
		i = (i + 1) & mask;
	}
}

static int resize(struct ipalloc *a, size_t cap)
{
	struct slot *old = a->slots;
	size_t oldcap = a->cap;

	a->slots = calloc(cap, sizeof(*a->slots));
	if (!a->slots) {
		a->slots = old;
		return -ENOMEM;
	}
	a->cap = cap;
	a->dead = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].state == SLOT_USED) {
			struct slot *s = find(a, &old[i].addr, true);

			*s = old[i];
		}
	}
	free(old);
	return 0;
}

int ipalloc_create(struct ipalloc **out, const struct ip_prefix *v4, const struct ip_prefix *v6)
{
	struct ipalloc *a;
	unsigned int host4, host6;

	*out = NULL;
	if (v4->addr.family != IP_FAMILY_V4 || v4->bits < 8 || v4->bits > 30 ||
	    v6->addr.family != IP_FAMILY_V6 || v6->bits > 120)
		return -EINVAL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->v4 = *v4;
	a->v6 = *v6;
	ip_prefix_mask(&a->v4);
	ip_prefix_mask(&a->v6);
	host4 = 32u - v4->bits;
	host6 = 128u - v6->bits;
	a->pool = 1ull << host4;
	if (host6 < 63 && (1ull << host6) < a->pool)
		a->pool = 1ull << host6;
	if (resize(a, 64)) {
		free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

void ipalloc_destroy(struct ipalloc *a)
{
	if (!a)
		return;
	free(a->slots);
	free(a);
}

int ipalloc_reserve(struct ipalloc *a, const struct ip_addr *addr)
{
	struct slot *s;

	/* Keep the load (live and dead) under 1/2 so probes stay short. */
	if ((a->used + a->dead + 1) * 2 > a->cap) {
		size_t cap = (a->used + 1) * 4 > a->cap ? a->cap * 2 : a->cap;

		if (resize(a, cap))
			return -ENOMEM;
	}
	s = find(a, addr, true);
	if (s->state == SLOT_USED)
		return -EEXIST;
	if (s->state == SLOT_DEAD)
		a->dead--;
	s->addr = *addr;
	s->state = SLOT_USED;
	a->used++;
	/* Continue after the highest number in use, so a restart does not refill gaps first. */
	if (ip_prefix_contains(&a->v4, addr)) {
		uint64_t n = 0;

		for (unsigned int i = a->v4.bits / 8; i < 4; i++)
			n = n << 8 | (addr->bytes[i] &
				      (i == a->v4.bits / 8 ? 0xffu >> (a->v4.bits % 8) : 0xffu));
		if (n < a->pool && n > a->cursor)
			a->cursor = n;
	}
	return 0;
}

void ipalloc_release(struct ipalloc *a, const struct ip_addr *addr)
{
	struct slot *s = find(a, addr, false);

	if (!s)
		return;
	s->state = SLOT_DEAD;
	a->used--;
	a->dead++;
}

bool ipalloc_in_use(const struct ipalloc *a, const struct ip_addr *addr)
{
	return find(a, addr, false) != NULL;
}

size_t ipalloc_count(const struct ipalloc *a)
{
	return a->used;
}

/* @base plus @n, over the last 8 bytes (host numbers fit in 64 bits), into @out. */
static void add_host(struct ip_addr *out, const struct ip_prefix *base, uint64_t n)
{
	unsigned int len = base->addr.family == IP_FAMILY_V4 ? 4 : 16;
	unsigned int carry = 0;

	*out = base->addr;
	for (unsigned int i = len; i-- > 0 && (n || carry);) {
		unsigned int sum = out->bytes[i] + (unsigned int)(n & 0xff) + carry;

		out->bytes[i] = (uint8_t)sum;
		carry = sum >> 8;
		n >>= 8;
	}
}

static bool reserved(const struct ipalloc *a, uint64_t n, const struct ip_addr *v4,
		     const struct ip_addr *v6)
{
	static const uint8_t magic_v6[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, [15] = 0x53};
	const uint8_t *b = v4->bytes;

	if (n == 0 || n == (1ull << (32 - a->v4.bits)) - 1)
		return true; /* network, broadcast */
	if (b[3] == 0 || b[3] == 255)
		return true;
	if (b[0] == 100 && b[1] == 100 && b[2] == 100 && b[3] == 100)
		return true;
	if (b[0] == 100 && b[1] == 115 && (b[2] & 0xfe) == 92)
		return true;
	return !memcmp(v6->bytes, magic_v6, sizeof(magic_v6));
}

int ipalloc_allocate(struct ipalloc *a, struct ip_addr *v4, struct ip_addr *v6)
{
	uint64_t n = a->cursor;
	int ret;

	for (uint64_t tries = 0; tries < a->pool; tries++) {
		n = n + 1 < a->pool ? n + 1 : 0;
		add_host(v4, &a->v4, n);
		add_host(v6, &a->v6, n);
		if (reserved(a, n, v4, v6) || ipalloc_in_use(a, v4) || ipalloc_in_use(a, v6))
			continue;
		ret = ipalloc_reserve(a, v4);
		if (ret)
			return ret;
		ret = ipalloc_reserve(a, v6);
		if (ret) {
			ipalloc_release(a, v4);
			return ret;
		}
		a->cursor = n;
		return 0;
	}
	memset(v4, 0, sizeof(*v4));
	memset(v6, 0, sizeof(*v6));
	return -ENOSPC;
}
