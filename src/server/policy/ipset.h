/* SPDX-License-Identifier: MIT */
/*
 * Sets of IPv4 and IPv6 addresses as sorted, disjoint, non-adjacent inclusive
 * ranges: what a compiled rule's sources and autogroup:internet are. Build a set
 * with the add functions (any order), then policy_ipset_normalize() it once;
 * lookups and comparisons need a normalized set. IPv4 ranges sort before IPv6.
 */
#ifndef MESH_SERVER_POLICY_IPSET_H
#define MESH_SERVER_POLICY_IPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/policy/policy.h"
#include "util/ipaddr.h"

struct policy_ipset {
	struct policy_range *r;
	size_t n;
	size_t cap;
	bool normalized;
};

/** An empty set (also what a zeroed struct is). */
void policy_ipset_init(struct policy_ipset *s);

/** Free the ranges; the set is empty and usable again. */
void policy_ipset_release(struct policy_ipset *s);

/** Add [@first, @last] (same family, first <= last). Returns 0, -EINVAL or -ENOMEM. */
int policy_ipset_add_range(struct policy_ipset *s, const struct ip_addr *first,
			   const struct ip_addr *last);

/** Add every address of @p (host bits ignored). Returns 0 or -ENOMEM. */
int policy_ipset_add_prefix(struct policy_ipset *s, const struct ip_prefix *p);

/** Add one address. Returns 0 or -ENOMEM. */
int policy_ipset_add_addr(struct policy_ipset *s, const struct ip_addr *a);

/** Add every range of @o. Returns 0 or -ENOMEM. */
int policy_ipset_add_set(struct policy_ipset *s, const struct policy_ipset *o);

/** Remove every address of @p from the normalized set @s. Returns 0 or -ENOMEM. */
int policy_ipset_remove_prefix(struct policy_ipset *s, const struct ip_prefix *p);

/** Sort and merge overlapping and adjacent ranges. */
void policy_ipset_normalize(struct policy_ipset *s);

/** Whether the normalized set @s contains @a. */
bool policy_ipset_contains(const struct policy_ipset *s, const struct ip_addr *a);

/** Whether the normalized set @s has an address in @p. */
bool policy_ipset_overlaps_prefix(const struct policy_ipset *s, const struct ip_prefix *p);

/** Whether two normalized sets hold the same addresses. */
bool policy_ipset_equal(const struct policy_ipset *a, const struct policy_ipset *b);

/** A hash of a normalized set, equal for equal sets. */
uint64_t policy_ipset_hash(const struct policy_ipset *s);

/** The first and last address of @p. */
void policy_range_from_prefix(struct policy_range *r, const struct ip_prefix *p);

/** Whether @r contains @a. */
bool policy_range_contains(const struct policy_range *r, const struct ip_addr *a);

/**
 * Write @r as "ADDR" (one address), "ADDR/LEN" (exactly one prefix) or
 * "FIRST-LAST" into @buf (2 * IP_ADDR_STRLEN is enough). Returns @buf.
 */
char *policy_range_format(const struct policy_range *r, char *buf, size_t len);

enum policy_range_lengths {
	POLICY_RANGE_STRLEN = 2 * IP_ADDR_STRLEN,
};

#endif
