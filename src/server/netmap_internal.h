/* SPDX-License-Identifier: MIT */
/*
 * What netmap.c and netmap_node.c share. Not for other modules: they use
 * netmap.h.
 */
#ifndef MESH_SERVER_NETMAP_INTERNAL_H
#define MESH_SERVER_NETMAP_INTERNAL_H

#include "server/netmap.h"

/* How every frame's JSON text begins: the codec writes "type" first. */
extern const char netmap_frame_prefix[];

/* What turning a store row into a map node needs besides the row. */
struct netmap_node_ctx {
	const char *base_domain;
	uint32_t home_relay;
	int64_t now; /* keys expiring at or before this have expired */
};

/**
 * Encode @m, whose only member besides "type" is @member, and return that
 * member's value as text in a heap *@out of *@len bytes. -EPROTO if the
 * codec's output does not have the expected shape.
 */
int netmap_member_text(const struct ctl_map_response *m, const char *member, char **out,
		       size_t *len);

/** The JSON object text of @node, as it appears inside "peers". */
int netmap_node_text(const struct ctl_node *node, char **out, size_t *len);

/** `{"type":"map_response","seq":N`, without the closing brace. */
int netmap_frame_head(uint64_t seq, char **out, size_t *len);

/** The JSON array text of @n packet filter rules. */
int netmap_filter_text(const struct ctl_filter_rule *rules, size_t n, char **out, size_t *len);

/** A deep copy of @src into @dst (left zeroed on failure). */
int netmap_node_copy(struct ctl_node *dst, const struct ctl_node *src);

/**
 * Build the map node of store row @s with @online and the allowed routes
 * @routes. -EINVAL when it has no address, -ENOMEM. Free with ctl_node_free().
 */
int netmap_node_build(const struct netmap_node_ctx *ctx, const struct store_node *s, bool online,
		      const struct ip_prefix *routes, size_t nroutes, struct ctl_node *n);

/** Replace @n's allowed IPs with its addresses plus @routes (duplicates dropped). */
int netmap_allowed_ips(struct ctl_node *n, const struct ip_prefix *routes, size_t nroutes);

/** True if peers need @b's whole node object to replace @a (not just a patch). */
bool netmap_identity_differs(const struct ctl_node *a, const struct ctl_node *b);

/** The enum ctl_patch_fields in which @a and @b differ (0: none). */
unsigned int netmap_patch_fields(const struct ctl_node *a, const struct ctl_node *b);

/** A patch of @fields with @n's values; the endpoints are @n's, not copied. */
void netmap_patch_fill(struct ctl_peer_patch *p, unsigned int fields, const struct ctl_node *n);

#endif
