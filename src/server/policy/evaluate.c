// SPDX-License-Identifier: MIT
/*
 * The policy read directly, without compiling: whether one packet is allowed,
 * and whether a route or exit node is auto-approved, or a tag may be applied.
 * policy_allows() deliberately shares nothing with the compiler but the
 * identity tests, so the property tests can hold each against the other; it
 * walks every rule and node for every question and is meant for the "tests"
 * block and for tests, not for the data path.
 */
#include <string.h>

#include "server/policy/internal.h"
#include "util/compiler.h"

static bool subnet_route_holds(const struct policy_node *n, const struct ip_addr *a)
{
	for (size_t k = 0; k < n->n_routes; k++) {
		if (n->routes[k].bits && ip_prefix_contains(&n->routes[k], a))
			return true;
	}
	return false;
}

/* "*" as a source: the tailnet ranges, node addresses and approved subnet routes. */
static bool star_src(const struct policy_node *nodes, size_t n, const struct ip_addr *a)
{
	if (policy_tailnet_contains(a))
		return true;
	for (size_t i = 0; i < n; i++) {
		if (policy_node_owns(&nodes[i], a) || subnet_route_holds(&nodes[i], a))
			return true;
	}
	return false;
}

static bool src_matches(const struct acl *acl, const struct policy_node *nodes, size_t n,
			const struct ip_addr *src)
{
	for (size_t s = 0; s < acl->n_srcs; s++) {
		const struct alias *a = &acl->srcs[s];

		switch (a->kind) {
		case ALIAS_ANY:
			if (star_src(nodes, n, src))
				return true;
			break;
		case ALIAS_DANGER_ALL:
			return true;
		case ALIAS_HOST:
		case ALIAS_PREFIX:
			if (ip_prefix_contains(&a->prefix, src))
				return true;
			break;
		default:
			for (size_t i = 0; i < n; i++) {
				if (policy_node_owns(&nodes[i], src) &&
				    policy_node_matches(&nodes[i], a))
					return true;
			}
			break;
		}
	}
	return false;
}

/* autogroup:self: @src is a device of @r's user that the rule's sources match. */
static bool self_allows(const struct acl *acl, const struct policy_node *nodes, size_t n,
			const struct policy_node *r, const struct ip_addr *src,
			const struct ip_addr *dst)
{
	if (policy_node_tagged(r) || !r->user || !policy_node_owns(r, dst))
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct policy_node *s = &nodes[i];

		if (policy_node_tagged(s) || !s->user || strcmp(s->user, r->user) ||
		    !policy_node_owns(s, src))
			continue;
		for (size_t k = 0; k < acl->n_srcs; k++) {
			if (acl->srcs[k].kind == ALIAS_ANY || policy_node_matches(s, &acl->srcs[k]))
				return true;
		}
	}
	return false;
}

/* Whether destination @d of a rule covers @dst as received by node @r. */
static bool dst_applies(const struct acl_dst *d, const struct policy_node *r,
			const struct ip_addr *dst)
{
	const struct ip_prefix *p = &d->alias.prefix;

	switch (d->alias.kind) {
	case ALIAS_ANY:
		return true;
	case ALIAS_HOST:
	case ALIAS_PREFIX:
		if (!ip_prefix_contains(p, dst))
			return false;
		/* Delivered to owners of an address in it and routers of an overlapping subnet. */
		for (size_t k = 0; k < r->n_addresses; k++) {
			if (ip_prefix_contains(p, &r->addresses[k]))
				return true;
		}
		for (size_t k = 0; k < r->n_routes; k++) {
			if (r->routes[k].bits && ip_prefix_overlaps(p, &r->routes[k]))
				return true;
		}
		return false;
	case ALIAS_INTERNET:
		return policy_node_exit(r) && policy_internet_contains(dst);
	default:
		return policy_node_matches(r, &d->alias) && policy_node_owns(r, dst);
	}
}

static bool port_in(const struct acl_dst *d, uint16_t port)
{
	for (size_t k = 0; k < d->n_ports; k++) {
		if (port >= d->ports[k].first && port <= d->ports[k].last)
			return true;
	}
	return false;
}

static bool acl_allows(const struct acl *acl, const struct policy_node *nodes, size_t n,
		       const struct policy_node *r, const struct ip_addr *src,
		       const struct ip_addr *dst, uint8_t proto, uint16_t port)
{
	bool srcs_checked = false, srcs_ok = false;

	if (!memchr(acl->protos, proto, acl->n_protos))
		return false;
	for (size_t e = 0; e < acl->n_dsts; e++) {
		const struct acl_dst *d = &acl->dsts[e];

		if (policy_proto_has_ports(proto) && !port_in(d, port))
			continue;
		if (d->alias.kind == ALIAS_SELF) {
			if (self_allows(acl, nodes, n, r, src, dst))
				return true;
			continue;
		}
		if (!dst_applies(d, r, dst))
			continue;
		if (!srcs_checked) {
			srcs_ok = src_matches(acl, nodes, n, src);
			srcs_checked = true;
		}
		if (srcs_ok)
			return true;
	}
	return false;
}

static bool node_allows(const struct policy *p, const struct policy_node *nodes, size_t n,
			const struct policy_node *r, const struct ip_addr *src,
			const struct ip_addr *dst, uint8_t proto, uint16_t port)
{
	const struct acl *acls = &policy_allow_all;
	size_t n_acls = 1;

	if (!policy_allows_all(p)) {
		acls = p->acls;
		n_acls = p->n_acls;
	}
	for (size_t a = 0; a < n_acls; a++) {
		if (acl_allows(&acls[a], nodes, n, r, src, dst, proto, port))
			return true;
	}
	return false;
}

bool policy_allows(const struct policy *p, const struct policy_node *nodes, size_t n,
		   const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
		   uint16_t port)
{
	int best = -1;

	/* The owner of the address receives the packet ... */
	for (size_t i = 0; i < n; i++) {
		if (policy_node_owns(&nodes[i], dst))
			return node_allows(p, nodes, n, &nodes[i], src, dst, proto, port);
	}
	/* ... else the routers of the most specific approved route (HA: all of them). */
	for (size_t i = 0; i < n; i++) {
		int len = policy_route_len(&nodes[i], dst);

		if (len > best)
			best = len;
	}
	if (best < 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (policy_route_len(&nodes[i], dst) == best &&
		    node_allows(p, nodes, n, &nodes[i], src, dst, proto, port))
			return true;
	}
	return false;
}

static bool matches_any(const struct policy_node *node, const struct alias *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (policy_node_matches(node, &list[i]))
			return true;
	}
	return false;
}

bool policy_auto_approve_route(const struct policy *p, const struct policy_node *node,
			       const struct ip_prefix *prefix)
{
	if (!p || prefix->bits == 0)
		return false;
	for (size_t i = 0; i < p->n_route_approvers; i++) {
		const struct route_approver *ra = &p->route_approvers[i];

		if (ra->prefix.bits <= prefix->bits &&
		    ip_prefix_contains(&ra->prefix, &prefix->addr) &&
		    matches_any(node, ra->approvers, ra->n_approvers))
			return true;
	}
	return false;
}

bool policy_auto_approve_exit(const struct policy *p, const struct policy_node *node)
{
	return p && matches_any(node, p->exit_approvers, p->n_exit_approvers);
}

bool policy_tag_allowed(const struct policy *p, const struct policy_node *node, const char *tag)
{
	if (!p)
		return false;
	for (size_t i = 0; i < p->n_tag_owners; i++) {
		const struct tag_owner *o = &p->tag_owners[i];

		if (!strcmp(o->tag, tag))
			return matches_any(node, o->owners, o->n_owners);
	}
	return false;
}
