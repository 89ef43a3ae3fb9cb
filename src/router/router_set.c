// SPDX-License-Identifier: MIT
/* Sorted prefix sets and the add/delete plan between two of them. */
#include "router/router_set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int router_prefix_compare(const struct ip_prefix *a, const struct ip_prefix *b)
{
	int c = ip_addr_compare(&a->addr, &b->addr);

	if (c)
		return c;
	return (int)a->bits - (int)b->bits;
}

/* Sort by prefix, and among equal prefixes the highest type first (it is kept). */
static int entry_order(const void *pa, const void *pb)
{
	const struct router_entry *a = pa, *b = pb;
	int c = router_prefix_compare(&a->dst, &b->dst);

	return c ? c : (int)b->type - (int)a->type;
}

static int reserve(struct router_set *s, size_t n)
{
	struct router_entry *e;
	size_t cap;

	if (n <= s->cap)
		return 0;
	cap = s->cap ? s->cap : 16;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof(*e))
			return -ENOMEM;
		cap *= 2;
	}
	e = realloc(s->e, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	s->e = e;
	s->cap = cap;
	return 0;
}

int router_set_assign(struct router_set *s, const struct router_entry *e, size_t n)
{
	size_t i, out = 0;
	int ret;

	ret = reserve(s, n);
	if (ret)
		return ret;
	if (n) {
		memcpy(s->e, e, n * sizeof(*e));
		qsort(s->e, n, sizeof(*s->e), entry_order);
	}
	for (i = 0; i < n; i++) {
		if (out && !router_prefix_compare(&s->e[out - 1].dst, &s->e[i].dst))
			continue;
		s->e[out++] = s->e[i];
	}
	s->n = out;
	return 0;
}

/* Index of @dst in @s, or of where it would go (*found false). */
static size_t lookup(const struct router_set *s, const struct ip_prefix *dst, bool *found)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = router_prefix_compare(&s->e[mid].dst, dst);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

const struct router_entry *router_set_find(const struct router_set *s, const struct ip_prefix *dst)
{
	bool found;
	size_t i = lookup(s, dst, &found);

	return found ? &s->e[i] : NULL;
}

int router_set_put(struct router_set *s, const struct router_entry *e)
{
	bool found;
	size_t i = lookup(s, &e->dst, &found);
	int ret;

	if (found) {
		s->e[i] = *e;
		return 0;
	}
	ret = reserve(s, s->n + 1);
	if (ret)
		return ret;
	memmove(&s->e[i + 1], &s->e[i], (s->n - i) * sizeof(*s->e));
	s->e[i] = *e;
	s->n++;
	return 0;
}

bool router_set_remove(struct router_set *s, const struct ip_prefix *dst)
{
	bool found;
	size_t i = lookup(s, dst, &found);

	if (!found)
		return false;
	memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(*s->e));
	s->n--;
	return true;
}

void router_set_clear(struct router_set *s)
{
	s->n = 0;
}

void router_set_free(struct router_set *s)
{
	free(s->e);
	s->e = NULL;
	s->n = s->cap = 0;
}

size_t router_set_plan(const struct router_set *applied, const struct router_set *want,
		       struct router_action *out)
{
	size_t i = 0, j = 0, n = 0, ndel = 0;

	/* One merge walk: adds go to the front of @out, deletes are counted, then a second walk. */
	while (j < want->n) {
		int c = i < applied->n ? router_prefix_compare(&applied->e[i].dst, &want->e[j].dst)
				       : 1;

		if (c < 0) {
			i++;
			ndel++;
			continue;
		}
		if (c > 0 || applied->e[i].type != want->e[j].type)
			out[n++] = (struct router_action){.op = ROUTER_ACTION_ADD, .e = want->e[j]};
		if (c == 0)
			i++;
		j++;
	}
	ndel += applied->n - i;
	if (!ndel)
		return n;
	for (i = 0, j = 0; i < applied->n; i++) {
		while (j < want->n &&
		       router_prefix_compare(&want->e[j].dst, &applied->e[i].dst) < 0)
			j++;
		if (j < want->n && !router_prefix_compare(&want->e[j].dst, &applied->e[i].dst))
			continue;
		out[n++] = (struct router_action){.op = ROUTER_ACTION_DEL, .e = applied->e[i]};
	}
	return n;
}
