/* SPDX-License-Identifier: MIT */
/*
 * Sorted sets of addresses or routes, keyed by prefix, and the plan that
 * turns what was applied into what is wanted: the router's diff, without I/O.
 *
 * An entry is a prefix and a type (for routes: ROUTER_ROUTE_UNICAST through
 * the mesh interface, or ROUTER_ROUTE_THROW; for addresses always 0). A set
 * holds each prefix (address and length, host bits included) at most once.
 * The plan adds before it deletes, so traffic never lacks a route while a
 * config changes: an entry whose type changes is one "add" (the kernel's
 * NLM_F_REPLACE converts the route in place) and no delete.
 */
#ifndef MESH_ROUTER_ROUTER_SET_H
#define MESH_ROUTER_ROUTER_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

struct router_entry {
	struct ip_prefix dst;
	uint8_t type;
};

struct router_set {
	struct router_entry *e; /* sorted by prefix, no prefix twice */
	size_t n, cap;
};

enum router_action_op {
	ROUTER_ACTION_ADD = 0,
	ROUTER_ACTION_DEL,
};

struct router_action {
	uint8_t op; /* enum router_action_op */
	struct router_entry e;
};

/** Total order of prefixes: family, address bytes, then length. Returns <0, 0 or >0. */
int router_prefix_compare(const struct ip_prefix *a, const struct ip_prefix *b);

/**
 * Make @s the set of the @n entries in @e: sorted, and of entries with the
 * same prefix only the one with the highest type kept (a throw route beats a
 * unicast one). @s's old contents are replaced. Returns 0 or -ENOMEM.
 */
int router_set_assign(struct router_set *s, const struct router_entry *e, size_t n);

/** The entry for @dst, or NULL. */
const struct router_entry *router_set_find(const struct router_set *s, const struct ip_prefix *dst);

/** Insert @e, or replace the entry with its prefix. Returns 0 or -ENOMEM. */
int router_set_put(struct router_set *s, const struct router_entry *e);

/** Remove the entry for @dst; true if there was one. */
bool router_set_remove(struct router_set *s, const struct ip_prefix *dst);

/** Empty @s (keeping its memory). */
void router_set_clear(struct router_set *s);

/** Free @s's memory; @s is then empty and reusable. */
void router_set_free(struct router_set *s);

/**
 * Plan the changes from @applied to @want into @out, which has room for
 * applied->n + want->n actions: first an ADD for each entry of @want that is
 * missing from @applied or has another type there, then a DEL for each entry
 * of @applied whose prefix @want lacks, each group in set order. Returns the
 * number of actions (0: nothing to do).
 */
size_t router_set_plan(const struct router_set *applied, const struct router_set *want,
		       struct router_action *out);

#endif
