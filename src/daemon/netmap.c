// SPDX-License-Identifier: MIT
/*
 * The netmap store. Peers live in a chained hash table by node id; nodes are
 * moved in from decoded frames (no deep copies), and each kind of frame
 * (full, delta, patch) is applied as the protocol defines it.
 */
#include "daemon/netmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct netmap_peer {
	struct netmap_peer *next;
	struct ctl_node node;
	bool seen; /* during a full map */
};

enum { INITIAL_BUCKETS = 64 };

void netmap_init(struct netmap *nm)
{
	memset(nm, 0, sizeof(*nm));
}

static size_t bucket(const struct netmap *nm, uint64_t id)
{
	return (size_t)(id * 0x9e3779b97f4a7c15ull >> 17) & nm->mask;
}

static struct netmap_peer *find(const struct netmap *nm, uint64_t id)
{
	if (!nm->buckets)
		return NULL;
	for (struct netmap_peer *p = nm->buckets[bucket(nm, id)]; p; p = p->next)
		if (p->node.id == id)
			return p;
	return NULL;
}

static int grow(struct netmap *nm)
{
	size_t n = nm->buckets ? (nm->mask + 1) * 2 : INITIAL_BUCKETS;
	struct netmap_peer **b = calloc(n, sizeof(*b));
	struct netmap old = *nm;

	if (!b)
		return -ENOMEM;
	nm->buckets = b;
	nm->mask = n - 1;
	for (size_t i = 0; old.buckets && i <= old.mask; i++) {
		struct netmap_peer *p = old.buckets[i], *next;

		for (; p; p = next) {
			size_t k = bucket(nm, p->node.id);

			next = p->next;
			p->next = b[k];
			b[k] = p;
		}
	}
	free(old.buckets);
	return 0;
}

static struct netmap_peer *insert(struct netmap *nm, struct ctl_node *node)
{
	struct netmap_peer *p;
	size_t k;

	if ((!nm->buckets || nm->npeers >= nm->mask + 1) && grow(nm))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->node = *node;
	memset(node, 0, sizeof(*node)); /* moved */
	k = bucket(nm, p->node.id);
	p->next = nm->buckets[k];
	nm->buckets[k] = p;
	nm->npeers++;
	return p;
}

static void unlink_peer(struct netmap *nm, struct netmap_peer *p)
{
	struct netmap_peer **pp = &nm->buckets[bucket(nm, p->node.id)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			nm->npeers--;
			return;
		}
	}
}

void netmap_free(struct netmap *nm)
{
	for (size_t i = 0; nm->buckets && i <= nm->mask; i++) {
		struct netmap_peer *p = nm->buckets[i], *next;

		for (; p; p = next) {
			next = p->next;
			ctl_node_free(&p->node);
			free(p);
		}
	}
	free(nm->buckets);
	ctl_node_free(&nm->self);
	ctl_map_response_free(&nm->extra);
	memset(nm, 0, sizeof(*nm));
}

/* ---- comparison ---- */

static bool str_differs(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool strs_differ(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++)
		if (str_differs(a[i], b[i]))
			return true;
	return false;
}

static bool prefixes_differ(const struct ip_prefix *a, size_t na, const struct ip_prefix *b,
			    size_t nb)
{
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++)
		if (!ip_prefix_equal(&a[i], &b[i]))
			return true;
	return false;
}

static bool endpoints_differ(const struct ip_endpoint *a, size_t na, const struct ip_endpoint *b,
			     size_t nb)
{
	if (na != nb)
		return true;
	for (size_t i = 0; i < na; i++)
		if (a[i].port != b[i].port || !ip_addr_equal(&a[i].addr, &b[i].addr))
			return true;
	return false;
}

bool netmap_node_differs(const struct ctl_node *a, const struct ctl_node *b)
{
	return a->id != b->id || str_differs(a->name, b->name) || str_differs(a->fqdn, b->fqdn) ||
	       str_differs(a->user, b->user) || strs_differ(a->tags, a->ntags, b->tags, b->ntags) ||
	       memcmp(a->node_key, b->node_key, CTL_KEY_LEN) ||
	       a->has_disco_key != b->has_disco_key ||
	       memcmp(a->disco_key, b->disco_key, CTL_KEY_LEN) ||
	       prefixes_differ(a->addresses, a->naddresses, b->addresses, b->naddresses) ||
	       prefixes_differ(a->allowed_ips, a->nallowed_ips, b->allowed_ips, b->nallowed_ips) ||
	       endpoints_differ(a->endpoints, a->nendpoints, b->endpoints, b->nendpoints) ||
	       a->home_relay != b->home_relay || a->online != b->online ||
	       a->last_seen != b->last_seen || a->key_expiry != b->key_expiry ||
	       a->expired != b->expired;
}

/* ---- applying ---- */

/* Put @node (moved) in place of a peer's node or add it; report the change. */
static int upsert(struct netmap *nm, struct ctl_node *node, const struct netmap_ops *ops, void *ctx)
{
	struct netmap_peer *p = find(nm, node->id);
	struct ctl_node old;

	if (!p) {
		p = insert(nm, node);
		if (!p)
			return -ENOMEM;
		p->seen = true;
		if (ops->peer_added)
			ops->peer_added(ctx, &p->node);
		return 0;
	}
	p->seen = true;
	if (!netmap_node_differs(&p->node, node)) {
		ctl_node_free(node);
		return 0;
	}
	old = p->node;
	p->node = *node;
	memset(node, 0, sizeof(*node));
	if (ops->peer_changed)
		ops->peer_changed(ctx, &old, &p->node);
	ctl_node_free(&old);
	return 0;
}

static void remove_peer(struct netmap *nm, struct netmap_peer *p, const struct netmap_ops *ops,
			void *ctx)
{
	unlink_peer(nm, p);
	if (ops->peer_removed)
		ops->peer_removed(ctx, &p->node);
	ctl_node_free(&p->node);
	free(p);
}

static void apply_patch(struct netmap *nm, struct ctl_peer_patch *patch,
			const struct netmap_ops *ops, void *ctx)
{
	struct netmap_peer *p = find(nm, patch->id);
	struct ctl_node old;
	struct ip_endpoint *old_endpoints = NULL;

	if (!p)
		return; /* a patch for a peer we do not know: the next full map fixes it */
	old = p->node;	/* shallow: only the endpoints array can be replaced below */
	if (patch->fields & CTL_PATCH_ENDPOINTS) {
		old_endpoints = p->node.endpoints;
		p->node.endpoints = patch->endpoints;
		p->node.nendpoints = patch->nendpoints;
		patch->endpoints = NULL;
		patch->nendpoints = 0;
	}
	if (patch->fields & CTL_PATCH_HOME_RELAY)
		p->node.home_relay = patch->home_relay;
	if (patch->fields & CTL_PATCH_ONLINE)
		p->node.online = patch->online;
	if (patch->fields & CTL_PATCH_LAST_SEEN)
		p->node.last_seen = patch->last_seen;
	if (patch->fields & CTL_PATCH_DISCO_KEY) {
		memcpy(p->node.disco_key, patch->disco_key, CTL_KEY_LEN);
		p->node.has_disco_key = true;
	}
	if (patch->fields & CTL_PATCH_NODE_KEY)
		memcpy(p->node.node_key, patch->node_key, CTL_KEY_LEN);
	if (patch->fields & CTL_PATCH_KEY_EXPIRY)
		p->node.key_expiry = patch->key_expiry;
	if (netmap_node_differs(&old, &p->node) && ops->peer_changed)
		ops->peer_changed(ctx, &old, &p->node);
	free(old_endpoints);
}

static void apply_extra(struct netmap *nm, struct ctl_map_response *f, const struct netmap_ops *ops,
			void *ctx)
{
	if (f->relay_map) {
		struct ctl_map_response tmp = {.relay_map = nm->extra.relay_map};

		nm->extra.relay_map = f->relay_map;
		f->relay_map = NULL;
		ctl_map_response_free(&tmp);
		if (ops->relay_map_changed)
			ops->relay_map_changed(ctx, nm->extra.relay_map);
	}
	if (f->dns) {
		struct ctl_map_response tmp = {.dns = nm->extra.dns};

		nm->extra.dns = f->dns;
		f->dns = NULL;
		ctl_map_response_free(&tmp);
		if (ops->dns_changed)
			ops->dns_changed(ctx, nm->extra.dns);
	}
	if (f->has_packet_filter) {
		struct ctl_map_response tmp = {
			.has_packet_filter = true,
			.packet_filter = nm->extra.packet_filter,
			.npacket_filter = nm->extra.npacket_filter,
		};

		nm->extra.has_packet_filter = true;
		nm->extra.packet_filter = f->packet_filter;
		nm->extra.npacket_filter = f->npacket_filter;
		f->packet_filter = NULL;
		f->npacket_filter = 0;
		ctl_map_response_free(&tmp);
		if (ops->filter_changed)
			ops->filter_changed(ctx, nm->extra.packet_filter, nm->extra.npacket_filter,
					    true);
	}
}

int netmap_apply(struct netmap *nm, struct ctl_map_response *f, const struct netmap_ops *ops,
		 void *ctx)
{
	bool delta = f->npeers_changed || f->npeers_removed || f->npeers_patch;
	int ret;

	if (f->keep_alive)
		return 0;
	if (delta && (f->has_peers || !nm->has_full_map))
		return -EPROTO;
	if (f->has_seq)
		nm->seq = f->seq;
	if (f->node && (!nm->has_self || netmap_node_differs(&nm->self, f->node))) {
		ctl_node_free(&nm->self);
		nm->self = *f->node;
		memset(f->node, 0, sizeof(*f->node));
		nm->has_self = true;
		if (ops->self_changed)
			ops->self_changed(ctx, &nm->self);
	}
	if (f->has_peers) {
		for (size_t i = 0; nm->buckets && i <= nm->mask; i++)
			for (struct netmap_peer *p = nm->buckets[i]; p; p = p->next)
				p->seen = false;
		for (size_t i = 0; i < f->npeers; i++) {
			ret = upsert(nm, &f->peers[i], ops, ctx);
			if (ret)
				return ret;
		}
		for (size_t i = 0; nm->buckets && i <= nm->mask; i++) {
			struct netmap_peer *p = nm->buckets[i], *next;

			for (; p; p = next) {
				next = p->next;
				if (!p->seen)
					remove_peer(nm, p, ops, ctx);
			}
		}
		nm->has_full_map = true;
	}
	for (size_t i = 0; i < f->npeers_changed; i++) {
		ret = upsert(nm, &f->peers_changed[i], ops, ctx);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < f->npeers_removed; i++) {
		struct netmap_peer *p = find(nm, f->peers_removed[i]);

		if (p)
			remove_peer(nm, p, ops, ctx);
	}
	for (size_t i = 0; i < f->npeers_patch; i++)
		apply_patch(nm, &f->peers_patch[i], ops, ctx);
	apply_extra(nm, f, ops, ctx);
	return 0;
}

const struct ctl_node *netmap_peer(const struct netmap *nm, uint64_t id)
{
	struct netmap_peer *p = find(nm, id);

	return p ? &p->node : NULL;
}

void netmap_for_each_peer(const struct netmap *nm, void (*cb)(const struct ctl_node *, void *),
			  void *ctx)
{
	for (size_t i = 0; nm->buckets && i <= nm->mask; i++)
		for (struct netmap_peer *p = nm->buckets[i]; p; p = p->next)
			cb(&p->node, ctx);
}

const struct ctl_node *netmap_peer_by_addr(const struct netmap *nm, const struct ip_addr *addr)
{
	for (size_t i = 0; nm->buckets && i <= nm->mask; i++)
		for (struct netmap_peer *p = nm->buckets[i]; p; p = p->next)
			for (size_t k = 0; k < p->node.naddresses; k++)
				if (ip_addr_equal(&p->node.addresses[k].addr, addr))
					return &p->node;
	return NULL;
}

const struct ctl_node *netmap_peer_by_name(const struct netmap *nm, const char *name)
{
	size_t len = strlen(name);

	if (len && name[len - 1] == '.')
		len--; /* "server.mesh.internal." */
	for (size_t i = 0; nm->buckets && i <= nm->mask; i++) {
		for (struct netmap_peer *p = nm->buckets[i]; p; p = p->next) {
			const struct ctl_node *n = &p->node;

			if ((n->name && strlen(n->name) == len &&
			     !strncasecmp(n->name, name, len)) ||
			    (n->fqdn && strlen(n->fqdn) == len && !strncasecmp(n->fqdn, name, len)))
				return n;
		}
	}
	return NULL;
}
