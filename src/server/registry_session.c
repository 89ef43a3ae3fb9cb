// SPDX-License-Identifier: MIT
/*
 * What registered nodes change later through the control API: the reports
 * of map requests (disco key, endpoints, host information, advertised
 * routes), key renewal, logout, and the checks a waiting interactive login
 * needs. Same pattern as the rest of the registry: validate, write in one
 * transaction, then announce.
 */
#include "server/registry_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/encoding.h"
#include "util/log.h"

int registry_node_routes(struct registry *reg, int64_t node_id, struct store_route **out, size_t *n)
{
	return store_route_list(reg->st, node_id, out, n);
}

int registry_pending_check(struct registry *reg, const char *id,
			   const uint8_t machine_key[STORE_KEY_LEN])
{
	registry_pending_expire(reg, registry_now(reg));
	for (struct pending *p = reg->pending; p; p = p->next) {
		if (strcmp(p->id, id))
			continue;
		return sodium_memcmp(p->node.machine_key, machine_key, STORE_KEY_LEN) ? -EACCES : 0;
	}
	return -ENOENT;
}

/* Canonical text of @n advertised routes, for comparing and storing. */
static int canonical_routes(const char *const *in, size_t n, char (**out)[STORE_PREFIX_MAX],
			    struct registry_error *err)
{
	*out = NULL;
	if (n > REGISTRY_MAX_ROUTES)
		return registry_fail(err, -EINVAL, "more than %d advertised routes",
				     REGISTRY_MAX_ROUTES);
	if (!n)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *why = "host bits set";
		struct ip_prefix p;

		if (ip_prefix_parse(&p, in[i], &why) || !ip_prefix_is_canonical(&p)) {
			free(*out);
			*out = NULL;
			return registry_fail(err, -EINVAL, "invalid advertised route \"%.64s\": %s",
					     in[i], why);
		}
		ip_prefix_format(&p, (*out)[i], STORE_PREFIX_MAX);
	}
	return 0;
}

/* True when the advertised routes in @old differ from the @n in @routes. */
static bool routes_differ(const struct store_route *old, size_t nold,
			  char (*routes)[STORE_PREFIX_MAX], size_t n)
{
	size_t advertised = 0;

	for (size_t i = 0; i < nold; i++) {
		bool found = false;

		if (!old[i].advertised)
			continue;
		advertised++;
		for (size_t j = 0; j < n && !found; j++)
			found = !strcmp(old[i].prefix, routes[j]);
		if (!found)
			return true;
	}
	/* Every stored one is still advertised; a new one makes the counts differ. */
	return advertised != n;
}

/* Apply @r to @node; true when a stored field changed. */
static int apply_report(struct store_node *node, const struct registry_report *r,
			struct registry_error *err, bool *changed)
{
	char buf[STORE_ENDPOINTS_MAX];
	int ret;

	*changed = false;
	if (r->disco_key && sodium_memcmp(node->disco_key, r->disco_key, STORE_KEY_LEN)) {
		memcpy(node->disco_key, r->disco_key, STORE_KEY_LEN);
		*changed = true;
	}
	if (r->endpoints) {
		ret = registry_clean_endpoints(r->endpoints, buf, err);
		if (ret)
			return ret;
		if (strcmp(buf, node->endpoints)) {
			memcpy(node->endpoints, buf, sizeof(buf));
			*changed = true;
		}
	}
	if (r->hostname && *r->hostname) {
		char h[STORE_HOSTNAME_MAX];

		snprintf(h, sizeof(h), "%s", r->hostname);
		registry_clean_text(h);
		if (strcmp(h, node->hostname)) {
			memcpy(node->hostname, h, sizeof(h));
			*changed = true;
		}
	}
	if (r->os) {
		char os[STORE_OS_MAX];

		snprintf(os, sizeof(os), "%s", r->os);
		registry_clean_text(os);
		if (strcmp(os, node->os)) {
			memcpy(node->os, os, sizeof(os));
			*changed = true;
		}
	}
	return 0;
}

int registry_node_report(struct registry *reg, int64_t node_id, const struct registry_report *r,
			 bool *changed, struct registry_error *err)
{
	char(*routes)[STORE_PREFIX_MAX] = NULL;
	const char *route_ptrs[REGISTRY_MAX_ROUTES];
	struct store_route *old = NULL;
	bool node_changed = false, routes_changed = false;
	struct store_node node;
	size_t nold = 0;
	int ret;

	if (changed)
		*changed = false;
	if (r->has_routes) {
		ret = canonical_routes(r->routes, r->n_routes, &routes, err);
		if (ret)
			return ret;
	}
	ret = store_begin(reg->st);
	if (ret) {
		free(routes);
		return registry_fail(err, ret, "the database is unavailable");
	}
	ret = store_node_get(reg->st, STORE_NODE_BY_ID, node_id, NULL, &node);
	if (ret) {
		registry_fail(err, ret, ret == -ENOENT ? "no such node" : "cannot read the node");
		goto out_end;
	}
	ret = apply_report(&node, r, err, &node_changed);
	if (!ret && node_changed)
		ret = store_node_update(reg->st, &node);
	if (!ret && r->has_routes) {
		ret = store_route_list(reg->st, node_id, &old, &nold);
		routes_changed = !ret && routes_differ(old, nold, routes, r->n_routes);
	}
	if (!ret && routes_changed) {
		for (size_t i = 0; i < r->n_routes; i++)
			route_ptrs[i] = routes[i];
		ret = store_routes_set_advertised(reg->st, node_id, route_ptrs, r->n_routes);
	}
	if (ret && err && !*err->msg)
		registry_fail(err, ret, "cannot store what the node reported");
out_end:
	ret = store_end(reg->st, ret);
	free(old);
	free(routes);
	if (ret)
		return ret;
	if (routes_changed)
		log_info("registry", "routes advertised node=%s count=%zu", node.name, r->n_routes);
	if (routes_changed || node_changed)
		registry_emit(reg, routes_changed ? REGISTRY_ROUTES_CHANGED : REGISTRY_NODE_CHANGED,
			      node.id, &node, NULL, NULL);
	if (changed)
		*changed = routes_changed || node_changed;
	return 0;
}

/* The node of @machine_key if its current node key is @node_key. */
static int find_by_keys(struct registry *reg, const uint8_t machine_key[STORE_KEY_LEN],
			const uint8_t node_key[STORE_KEY_LEN], struct store_node *node)
{
	int ret = store_node_get(reg->st, STORE_NODE_BY_MACHINE_KEY, 0, machine_key, node);

	if (ret)
		return ret;
	return sodium_memcmp(node->node_key, node_key, STORE_KEY_LEN) ? -ENOENT : 0;
}

int registry_node_renew(struct registry *reg, const uint8_t machine_key[STORE_KEY_LEN],
			const uint8_t old_node_key[STORE_KEY_LEN],
			const uint8_t node_key[STORE_KEY_LEN],
			const uint8_t disco_key[STORE_KEY_LEN], struct store_node *out,
			struct registry_error *err)
{
	char hex[ENC_KEY_HEX_LEN + 1];
	struct store_node node;
	int ret;

	ret = find_by_keys(reg, machine_key, old_node_key, &node);
	if (ret == -ENOENT)
		return registry_fail(err, ret,
				     "the old node key is not this machine's current key");
	if (ret)
		return registry_fail(err, ret, "renew: cannot read the node");
	if (registry_node_expired(reg, &node))
		return registry_fail(err, -EKEYEXPIRED, "the node key has expired: log in again");
	memcpy(node.node_key, node_key, STORE_KEY_LEN);
	memcpy(node.disco_key, disco_key, STORE_KEY_LEN);
	ret = store_node_update(reg->st, &node);
	if (ret == -EEXIST)
		return registry_fail(err, ret,
				     "this node key is already registered to another machine");
	if (ret)
		return registry_fail(err, ret, "renew: cannot store the node");
	enc_key_to_hex(hex, node.node_key);
	log_info("registry", "node key renewed id=%lld name=%s nodekey=[%.5s]", (long long)node.id,
		 node.name, hex);
	registry_emit(reg, REGISTRY_NODE_CHANGED, node.id, &node, NULL, NULL);
	if (out)
		*out = node;
	return 0;
}

int registry_node_logout(struct registry *reg, const uint8_t machine_key[STORE_KEY_LEN],
			 const uint8_t node_key[STORE_KEY_LEN], struct registry_error *err)
{
	struct store_node node;
	int ret;

	ret = find_by_keys(reg, machine_key, node_key, &node);
	if (ret == -ENOENT)
		return registry_fail(err, ret, "this node key is not registered to this machine");
	if (ret)
		return registry_fail(err, ret, "logout: cannot read the node");
	if (registry_node_expired(reg, &node))
		return 0; /* already logged out: say yes again */
	node.expiry = registry_now(reg);
	ret = store_node_update(reg->st, &node);
	if (ret)
		return registry_fail(err, ret, "logout: cannot store the node");
	registry_note_expired(reg, node.id);
	log_info("registry", "node logged out id=%lld name=%s", (long long)node.id, node.name);
	registry_emit(reg, REGISTRY_NODE_EXPIRED, node.id, &node, NULL, NULL);
	return 0;
}
