// SPDX-License-Identifier: MIT
/*
 * A bump allocator for the parsed policy: hundreds of small strings and arrays
 * that live exactly as long as the policy, so a failed parse or policy_free()
 * releases them all with one call and no error path has to unwind them.
 */
#include <errno.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/policy/internal.h"

enum arena_sizes {
	ARENA_CHUNK = 16384,
};

struct policy_arena {
	struct policy_arena *next;
	size_t used;
	size_t cap;
	alignas(max_align_t) unsigned char data[];
};

void *policy_arena_alloc(struct policy_arena **a, size_t n)
{
	const size_t align = alignof(max_align_t);
	struct policy_arena *c = *a;
	size_t need = (n + align - 1) / align * align;

	if (need < n)
		return NULL;
	if (!need)
		need = align;
	if (!c || c->cap - c->used < need) {
		size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;

		if (cap > SIZE_MAX - sizeof(*c))
			return NULL;
		c = calloc(1, sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->next = *a;
		*a = c;
	}
	c->used += need;
	return c->data + c->used - need;
}

void *policy_arena_array(struct policy_arena **a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return policy_arena_alloc(a, n * size);
}

char *policy_arena_strdup(struct policy_arena **a, const char *s)
{
	size_t len = strlen(s) + 1;
	char *d = policy_arena_alloc(a, len);

	if (d)
		memcpy(d, s, len);
	return d;
}

void policy_arena_destroy(struct policy_arena *a)
{
	while (a) {
		struct policy_arena *next = a->next;

		free(a);
		a = next;
	}
}
