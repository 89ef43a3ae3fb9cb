/* SPDX-License-Identifier: MIT */
/*
 * The filter rules a node receives from control (struct ctl_filter_rule),
 * compiled into an index that answers "does some rule let this new packet
 * in?" without looking at every rule. The answer is exactly that of the
 * rules read one by one (and of policy_filter_match() in the policy engine):
 *
 *   some rule has the packet's protocol among its protocols (none listed:
 *   TCP, UDP, ICMP and ICMPv6), a source prefix holding the source address,
 *   and a destination prefix holding the destination address whose port
 *   range holds the destination port, for TCP, UDP and SCTP only: other
 *   protocols carry no ports and a rule's port ranges do not matter to them.
 *
 * The index, built once per rule change:
 *  - rules with the same set of source prefixes form a group, whose
 *    destinations are merged per (protocol, family, prefix) into sorted,
 *    disjoint port ranges;
 *  - a hash map from each source prefix to the groups listing it, and one
 *    from (group, protocol, family, destination prefix) to its port ranges.
 * A lookup probes the source map once per prefix length in use (a handful:
 * /32 and /128 for peers, the tailnet ranges, subnets, /0), and for each group
 * found, the destination map once per destination prefix length of that
 * group's protocol: the cost follows the number of distinct source sets that
 * hold the address, not the number of rules or prefixes. The memory is linear
 * in the size of the rules.
 */
#ifndef MESH_FILTER_RULESET_H
#define MESH_FILTER_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/msg.h"
#include "util/ipaddr.h"

/* The protocols of a rule that lists none. */
enum ruleset_default_protos {
	RULESET_DEFAULT_PROTOS = 4, /* TCP, UDP, ICMP, ICMPv6 */
};

struct ruleset;

/**
 * Compile the @n @rules into *@out. Prefixes may have host bits set (they are
 * masked); a prefix without a family or longer than its family's addresses,
 * or a port range with first > last, is -EINVAL. Returns 0, -EINVAL or
 * -ENOMEM. No rules compile to a ruleset that matches nothing.
 */
int ruleset_compile(struct ruleset **out, const struct ctl_filter_rule *rules, size_t n);

/** Free @rs. NULL is allowed. */
void ruleset_free(struct ruleset *rs);

/**
 * True if some rule of @rs lets in a new packet from @src to @dst (of one
 * family) with IP protocol @proto and destination port @port (ignored unless
 * @proto is TCP, UDP or SCTP). Allocates nothing.
 */
bool ruleset_match(const struct ruleset *rs, const struct ip_addr *src, const struct ip_addr *dst,
		   uint8_t proto, uint16_t port);

/** The number of source groups in @rs (for logs). */
size_t ruleset_groups(const struct ruleset *rs);

#endif
