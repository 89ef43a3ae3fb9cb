/* SPDX-License-Identifier: MIT */
/*
 * Cryptokey routing: one longest-prefix-match trie per address family for the
 * whole device, mapping each prefix to exactly one peer. Outbound packets find
 * their peer by destination address; inbound ones are checked by source.
 * Not thread-safe: the owner serialises all calls.
 */
#ifndef MESH_WG_ALLOWEDIPS_H
#define MESH_WG_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct allowedips_node;
struct allowedips_peer;

struct wg_allowedips {
	struct allowedips_node *root4;
	struct allowedips_node *root6;
	/* peer pointer -> that peer's prefixes, for walks and bulk removal */
	struct allowedips_peer **peer_buckets;
	size_t peer_nbuckets; /* 0 or a power of two */
	size_t nr_peers;
	size_t nr_prefixes; /* read-only: prefixes stored */
	size_t nr_nodes;    /* read-only: nodes allocated, at most 2 * nr_prefixes */
};

/** Called by wg_allowedips_walk_by_peer() for each prefix; a non-zero return stops the walk. */
typedef int (*wg_allowedips_walk_fn)(void *ctx, int family, const uint8_t *ip, uint8_t cidr);

/** Initialise an empty table. Cannot fail. */
void wg_allowedips_init(struct wg_allowedips *t);

/** Free every node; @t is left empty and may be reused or freed. Peers are not touched. */
void wg_allowedips_free(struct wg_allowedips *t);

/**
 * Map the prefix @ip/@cidr (family 4 with 4 bytes, or 6 with 16 bytes, network
 * order) to @peer. Host bits beyond @cidr are ignored, so 10.0.0.1/24 is stored
 * as 10.0.0.0/24. A prefix owned by another peer moves to @peer. Returns 0,
 * -EAFNOSUPPORT for another family, -EINVAL for a bad @cidr or a NULL @peer,
 * -ENOMEM (the table is then unchanged).
 */
int wg_allowedips_insert(struct wg_allowedips *t, int family, const uint8_t *ip, uint8_t cidr,
			 void *peer);

/**
 * Remove the prefix @ip/@cidr (host bits ignored) if @peer owns it. Returns 0,
 * -ENOENT if it is absent or owned by another peer, -EAFNOSUPPORT or -EINVAL
 * for bad arguments.
 */
int wg_allowedips_remove(struct wg_allowedips *t, int family, const uint8_t *ip, uint8_t cidr,
			 void *peer);

/** Remove every prefix owned by @peer, of both families. */
void wg_allowedips_remove_by_peer(struct wg_allowedips *t, void *peer);

/**
 * Return the peer owning the longest prefix that contains @ip (4 or 16 bytes
 * as for @family), or NULL. The hot path: no allocation, at most one node per
 * prefix length visited.
 */
void *wg_allowedips_lookup(const struct wg_allowedips *t, int family, const uint8_t *ip);

/**
 * Call @cb(@ctx, family, ip, cidr) for each prefix of @peer, in the order they
 * were first given to that peer; @ip is canonical (host bits zero) and valid
 * only during the call. @cb must not modify @t. Returns 0, or the first
 * non-zero value @cb returned.
 */
int wg_allowedips_walk_by_peer(const struct wg_allowedips *t, void *peer, wg_allowedips_walk_fn cb,
			       void *ctx);

/**
 * Check the trie's structural invariants (for tests and debugging): returns 0,
 * or -EUCLEAN if any is broken.
 */
int wg_allowedips_check(const struct wg_allowedips *t);

#endif
