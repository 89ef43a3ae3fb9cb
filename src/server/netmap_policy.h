/* SPDX-License-Identifier: MIT */
/*
 * The policy seam of the netmap builder. Everything the ACL policy decides
 * about a node's map goes through one of these two questions, and nowhere
 * else:
 *
 *   visible(viewer, peer)   does @viewer's map list @peer (and its patches)?
 *   filter(self)            which inbound packet filter rules does @self get?
 *
 * A netmap built without policy ops (NULL) is allow-all, as Tailscale is
 * without a policy: every node sees every other one and every node gets
 * netmap_policy_allow_all(). The builder then knows that both answers are
 * the same for every viewer and shares one encoded filter and one encoded
 * delta between all of them.
 *
 * With policy ops the builder asks per viewer, and it assumes that a change
 * of a node's identity (name, user, tags, addresses, routes; a node added or
 * removed) or of the policy may change any viewer's filter and peers: every
 * stream then gets a full map (netmap_delta_resync()). Endpoint, online and
 * key changes stay cheap deltas, filtered through visible().
 *
 * Wiring in the policy library (server/policy/policy.h) means: keep a
 * policy_index over the live nodes, rebuilt when the policy or a node's
 * identity changes; answer visible() with policy_index_visible() and
 * filter() with policy_index_filter() turned into ctl_filter_rule.
 */
#ifndef MESH_SERVER_NETMAP_POLICY_H
#define MESH_SERVER_NETMAP_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "control/msg.h"

struct netmap_policy_ops {
	/* Whether @viewer's map lists @peer. Must be symmetric in its arguments. */
	bool (*visible)(void *arg, const struct ctl_node *viewer, const struct ctl_node *peer);
	/*
	 * The rules @self enforces on what it receives: a heap array of *@n
	 * rules (freed with netmap_policy_rules_free()); none means deny all.
	 * Returns 0 or a negative errno.
	 */
	int (*filter)(void *arg, const struct ctl_node *self, struct ctl_filter_rule **rules,
		      size_t *n);
};

/**
 * The filter of a network without a policy: one rule letting in TCP, UDP,
 * ICMP and ICMPv6 from any source (0.0.0.0/0, ::/0) to any port of any
 * address the node owns or routes. Heap array in *@rules of *@n; returns 0
 * or -ENOMEM.
 */
int netmap_policy_allow_all(struct ctl_filter_rule **rules, size_t *n);

/** Free @n rules made by a filter() or netmap_policy_allow_all(). NULL is fine. */
void netmap_policy_rules_free(struct ctl_filter_rule *rules, size_t n);

#endif
