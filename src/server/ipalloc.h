/* SPDX-License-Identifier: MIT */
/*
 * Address allocation for nodes. A node gets host number N of both prefixes:
 * the Nth IPv4 address of the v4 prefix and the Nth IPv6 address of the v6
 * prefix (100.64.0.7 and fd7a:115c:a1e0::7 with the defaults), so the pair is
 * easy to read. Numbers go up from where the last allocation ended, so a
 * deleted node's addresses are not handed out again until the pool wraps.
 * Never given out: the network and broadcast addresses, addresses ending in
 * .0 or .255 (some stacks refuse them), 100.100.100.100 and fd7a:115c:a1e0::53
 * (MagicDNS), 100.115.92.0/23 (reserved by ChromeOS guests), and every address
 * marked in use. Addresses already in use stay valid even outside the current
 * prefixes, so changing the config never renumbers a node.
 */
#ifndef MESH_SERVER_IPALLOC_H
#define MESH_SERVER_IPALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/ipaddr.h"

struct ipalloc;

/**
 * Create an allocator for @v4 (an IPv4 prefix of /8 to /30) and @v6 (an IPv6
 * prefix of at most /120). Returns 0, -EINVAL for unusable prefixes, -ENOMEM.
 */
int ipalloc_create(struct ipalloc **out, const struct ip_prefix *v4, const struct ip_prefix *v6);

/** Free the allocator. NULL is allowed. */
void ipalloc_destroy(struct ipalloc *a);

/**
 * Mark @addr as in use (a node loaded from the store). Returns 0, or -EEXIST if
 * it already was, -ENOMEM.
 */
int ipalloc_reserve(struct ipalloc *a, const struct ip_addr *addr);

/** Forget @addr (its node was deleted). Unknown addresses are ignored. */
void ipalloc_release(struct ipalloc *a, const struct ip_addr *addr);

/** True if @addr is marked in use. */
bool ipalloc_in_use(const struct ipalloc *a, const struct ip_addr *addr);

/**
 * Pick the next free host number and mark its two addresses in use. Returns 0,
 * -ENOSPC when the prefixes are exhausted, -ENOMEM.
 */
int ipalloc_allocate(struct ipalloc *a, struct ip_addr *v4, struct ip_addr *v6);

/** Number of addresses marked in use. */
size_t ipalloc_count(const struct ipalloc *a);

#endif
