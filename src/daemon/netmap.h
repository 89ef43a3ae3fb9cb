/* SPDX-License-Identifier: MIT */
/*
 * The node's view of its network: self, the peers by node id, and the
 * non-peer parts of the map (relay map, DNS, packet filter), kept up to date
 * from map stream frames (full maps, deltas, patches).
 *
 * Applying a frame reports each effective change once through struct
 * netmap_ops, so the backend turns it into engine, router and resolver
 * calls. A peer whose fields did not change is not reported: applying the
 * same full map twice reports nothing the second time, and a full map that
 * lacks a known peer reports its removal (full maps are authoritative).
 *
 * Ownership: netmap_apply() moves the nodes it keeps out of the frame (the
 * frame's slots are left zeroed, so ctl_map_response_free() stays correct).
 */
#ifndef MESH_DAEMON_NETMAP_H
#define MESH_DAEMON_NETMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/msg.h"

/** What changed; every callback is optional. */
struct netmap_ops {
	void (*peer_added)(void *ctx, const struct ctl_node *node);
	void (*peer_changed)(void *ctx, const struct ctl_node *old_node,
			     const struct ctl_node *node);
	void (*peer_removed)(void *ctx, const struct ctl_node *node);
	void (*self_changed)(void *ctx, const struct ctl_node *self);
	void (*filter_changed)(void *ctx, const struct ctl_filter_rule *rules, size_t n,
			       bool has_filter);
	void (*dns_changed)(void *ctx, const struct ctl_dns_config *dns);
	void (*relay_map_changed)(void *ctx, const struct ctl_relay_map *map);
};

struct netmap_peer;

struct netmap {
	struct ctl_node self;
	bool has_self;
	struct netmap_peer **buckets; /* by node id */
	size_t mask;
	size_t npeers;
	struct ctl_map_response extra; /* relay map, dns, packet filter as last received */
	uint64_t seq;
	bool has_full_map; /* a full map was applied since netmap_init() */
};

void netmap_init(struct netmap *nm);
void netmap_free(struct netmap *nm);

/**
 * Apply one map stream frame. Keep-alives change nothing. A delta before any
 * full map is refused (-EPROTO: the stream must restart). Returns 0,
 * -EPROTO or -ENOMEM.
 */
int netmap_apply(struct netmap *nm, struct ctl_map_response *frame, const struct netmap_ops *ops,
		 void *ctx);

/** The peer with @id, or NULL. */
const struct ctl_node *netmap_peer(const struct netmap *nm, uint64_t id);

/** Call @cb for every peer (in no particular order). */
void netmap_for_each_peer(const struct netmap *nm, void (*cb)(const struct ctl_node *, void *),
			  void *ctx);

/** The peer that owns mesh address @addr (one of its addresses), or NULL. */
const struct ctl_node *netmap_peer_by_addr(const struct netmap *nm, const struct ip_addr *addr);

/** The peer named @name (DNS label or FQDN, case-insensitive), or NULL. */
const struct ctl_node *netmap_peer_by_name(const struct netmap *nm, const char *name);

/** True if the two nodes differ in anything the engine or the status output uses. */
bool netmap_node_differs(const struct ctl_node *a, const struct ctl_node *b);

#endif
