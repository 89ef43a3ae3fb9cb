/* SPDX-License-Identifier: MIT */
/*
 * The netmap builder: an in-memory cache of every node as maps show it, the
 * full map of any node, and the deltas between two points in time. No I/O
 * and no clock of its own (the caller's clock decides what has expired), so
 * tests drive it directly; sessions.c feeds it registry events and sends
 * what it builds.
 *
 * The cache keeps two versions of each node: the latest one the registry
 * reported (netmap_node_set and friends, cheap: nothing is encoded) and the
 * one the maps last showed, with its JSON text. netmap_delta_collect() turns
 * the difference into one delta, encodes each changed node once, and moves
 * the latest into the maps. So the cost of a change is O(changed nodes) to
 * collect plus O(changed nodes) per viewer to write, never a rebuild of
 * anyone's full map, and no database read per viewer.
 *
 * A delta classifies each changed node for its peers:
 *  - peers_changed: added, or changed in what identifies it (name, user,
 *    tags, addresses, allowed IPs): the whole node object;
 *  - peers_patch: only endpoints, home relay, online, last seen, disco key,
 *    node key or key expiry changed: a patch with just those;
 *  - peers_removed: deleted, or its key expired.
 * and for the node itself (its own stream): unchanged, changed (the frame
 * carries its node object), expired (the frame carries it with "expired":
 * true, then the stream ends) or removed (the stream ends).
 *
 * JSON produced here is exactly what ctl_map_response_encode() would make of
 * the same frame (tests compare byte for byte); full maps are assembled from
 * the cached texts of each node instead of being encoded again per viewer.
 */
#ifndef MESH_SERVER_NETMAP_H
#define MESH_SERVER_NETMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/msg.h"
#include "server/netmap_policy.h"
#include "server/store.h"

struct netmap;
struct netmap_delta;

struct netmap_options {
	const char *base_domain;		/* FQDN = NAME.base_domain */
	uint32_t home_relay;			/* the relay region put in every node; 0 = none */
	const struct ctl_relay_map *relay_map;	/* encoded once at create; NULL: none */
	const struct ctl_dns_config *dns;	/* likewise */
	const struct netmap_policy_ops *policy; /* NULL: allow all (see netmap_policy.h) */
	void *policy_arg;
	int64_t (*now)(void *arg); /* unix seconds: decides which keys have expired */
	void *now_arg;
};

/* What a node's own stream has to do after a delta. */
enum netmap_self {
	NETMAP_SELF_SAME,    /* nothing about the node itself changed */
	NETMAP_SELF_CHANGED, /* the frame carries its new node object */
	NETMAP_SELF_EXPIRED, /* the frame carries it with "expired": end the stream after it */
	NETMAP_SELF_REMOVED, /* deleted: end the stream */
};

/** Create an empty cache. Returns 0, -EINVAL (a relay map or DNS config that does not encode) or -ENOMEM. */
int netmap_create(struct netmap **out, const struct netmap_options *opt);

/** Free @nm and everything in it (deltas must be freed first). NULL is fine. */
void netmap_destroy(struct netmap *nm);

/**
 * Record the latest state of @node (as the registry has just stored it) and
 * whether it has a live session (@online). Routes are kept from earlier
 * calls; see netmap_node_set_routes(). Returns 0, -EINVAL (a node the maps
 * cannot carry, e.g. without addresses) or -ENOMEM.
 */
int netmap_node_set(struct netmap *nm, const struct store_node *node, bool online);

/**
 * Replace the routes of node @id with its @n rows in @routes: those both
 * advertised and approved join its allowed IPs. -ENOENT for an unknown node.
 */
int netmap_node_set_routes(struct netmap *nm, int64_t id, const struct store_route *routes,
			   size_t n);

/** The node is gone: peers drop it at the next collect. -ENOENT if unknown. */
int netmap_node_remove(struct netmap *nm, int64_t id);

/** The policy changed: with policy ops, the next delta is a resync; allow-all ignores it. */
void netmap_policy_changed(struct netmap *nm);

/**
 * Check a map request: the node of @machine_key must exist with @node_key as
 * its current key, unexpired at the caller's clock. Returns 0 with *@id set,
 * -ENOENT (unknown machine, or not its current key) or -EKEYEXPIRED. Uses the
 * latest state, not the one last collected.
 */
int netmap_node_auth(const struct netmap *nm, const uint8_t machine_key[CTL_KEY_LEN],
		     const uint8_t node_key[CTL_KEY_LEN], int64_t *id);

/** True if @node_key is the current key of a node that is registered and unexpired. */
bool netmap_node_key_valid(const struct netmap *nm, const uint8_t node_key[CTL_KEY_LEN]);

/** True if node @id is in the maps as of the last collect (registered, unexpired). */
bool netmap_node_mapped(const struct netmap *nm, int64_t id);

/** Nodes in the cache (expired ones included, removed ones not). */
size_t netmap_node_count(const struct netmap *nm);

/**
 * The full map of node @viewer as JSON (a map_response frame with @seq):
 * itself, every peer it may see, the relay map, the DNS config and its
 * packet filter, as of the last netmap_delta_collect(). The text is heap
 * memory in *@out (*@len bytes, NUL-terminated). -ENOENT if @viewer is not in
 * the maps (unknown, removed or expired).
 */
int netmap_full_json(struct netmap *nm, int64_t viewer, uint64_t seq, char **out, size_t *len);

/**
 * Move every change recorded since the last call into the maps and describe
 * it in *@out (NULL when nothing changed). A delta stays valid until the next
 * collect or netmap_destroy(); free it with netmap_delta_free() before.
 */
int netmap_delta_collect(struct netmap *nm, struct netmap_delta **out);

/** Free @d. NULL is fine. */
void netmap_delta_free(struct netmap_delta *d);

/** What @d means for node @viewer's own stream. */
enum netmap_self netmap_delta_self(const struct netmap_delta *d, int64_t viewer);

/** True when every stream needs a full map instead of @d (see netmap_policy.h). */
bool netmap_delta_resync(const struct netmap_delta *d);

/** Nodes @d covers (changed, patched, removed, or changed only for themselves). */
size_t netmap_delta_nodes(const struct netmap_delta *d);

/**
 * The frame of @d for node @viewer, with @seq, as JSON in *@out (heap,
 * NUL-terminated, *@len bytes), or *@out NULL when nothing in @d concerns
 * @viewer. Costs O(size of @d): viewers that @d does not name share one
 * encoded body. Returns 0 or -ENOMEM.
 */
int netmap_delta_json(struct netmap *nm, const struct netmap_delta *d, int64_t viewer, uint64_t seq,
		      char **out, size_t *len);

/** A keep-alive frame with @seq as JSON (heap, *@len bytes). */
int netmap_keepalive_json(uint64_t seq, char **out, size_t *len);

#endif
