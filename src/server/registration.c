// SPDX-License-Identifier: MIT
/*
 * Node registration: with an auth key (admitted at once), or pending until an
 * admin approves it. Both end in admit(), which writes the node, the key's use
 * and the advertised routes in one transaction.
 *
 * A machine key identifies a device for its lifetime: registering again from
 * the same machine (new node key after expiry, a retry, a re-login as someone
 * else) updates that node and keeps its id, addresses and name, as Tailscale
 * does. A single-use key may be presented again by the machine it admitted, so
 * a node whose first reply got lost can retry.
 */
#include "server/registry_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "server/names.h"
#include "util/encoding.h"
#include "util/log.h"

/* Who a node belongs to once admitted. */
struct owner {
	int64_t user_id; /* 0 for tagged nodes */
	const char *user_name;
	const char *tags;
	bool ephemeral;
	struct store_authkey *key; /* counted as used unless NULL or a retry */
	bool key_retry;
};

static bool all_zero(const uint8_t *b, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return !acc;
}

int registry_clean_endpoints(const char *json, char out[STORE_ENDPOINTS_MAX],
			     struct registry_error *err)
{
	cJSON *arr, *e;
	size_t o = 1;

	strcpy(out, "[");
	if (!json || !*json) {
		strcpy(out, "[]");
		return 0;
	}
	arr = cJSON_Parse(json);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return registry_fail(err, -EINVAL, "endpoints must be a JSON array of \"IP:PORT\"");
	}
	for (e = arr->child; e; e = e->next) {
		struct ip_endpoint ep;
		char text[IP_ENDPOINT_STRLEN];
		int n;

		if (!cJSON_IsString(e) || ip_endpoint_parse(&ep, e->valuestring, NULL)) {
			cJSON_Delete(arr);
			return registry_fail(err, -EINVAL,
					     "endpoints must be a JSON array of \"IP:PORT\"");
		}
		ip_endpoint_format(&ep, text, sizeof(text));
		/* Too many to store: keep the first ones, the node lists its best first. */
		n = snprintf(out + o, STORE_ENDPOINTS_MAX - o, "%s\"%s\"", o > 1 ? "," : "", text);
		if (n < 0 || (size_t)n + 2 > STORE_ENDPOINTS_MAX - o)
			break;
		o += (size_t)n;
	}
	out[o++] = ']';
	out[o] = '\0';
	cJSON_Delete(arr);
	return 0;
}

void registry_clean_text(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '"')
			*s = '?';
}

/* Turn a request into a node template and a canonical route list (heap, free()). */
static int prepare(const struct registry_request *req, struct store_node *tmpl,
		   char (**routes)[STORE_PREFIX_MAX], struct registry_error *err)
{
	int ret;

	memset(tmpl, 0, sizeof(*tmpl));
	*routes = NULL;
	if (all_zero(req->machine_key, STORE_KEY_LEN) || all_zero(req->node_key, STORE_KEY_LEN))
		return registry_fail(err, -EINVAL, "the request has no machine or node key");
	if (req->n_routes > REGISTRY_MAX_ROUTES)
		return registry_fail(err, -EINVAL, "more than %d advertised routes",
				     REGISTRY_MAX_ROUTES);
	memcpy(tmpl->machine_key, req->machine_key, STORE_KEY_LEN);
	memcpy(tmpl->node_key, req->node_key, STORE_KEY_LEN);
	memcpy(tmpl->disco_key, req->disco_key, STORE_KEY_LEN);
	snprintf(tmpl->hostname, sizeof(tmpl->hostname), "%s",
		 req->hostname && *req->hostname ? req->hostname : "node");
	snprintf(tmpl->os, sizeof(tmpl->os), "%s", req->os ? req->os : "");
	registry_clean_text(tmpl->hostname);
	registry_clean_text(tmpl->os);
	tmpl->ephemeral = req->ephemeral;
	ret = registry_clean_endpoints(req->endpoints, tmpl->endpoints, err);
	if (ret)
		return ret;
	if (!req->n_routes)
		return 0;
	*routes = calloc(req->n_routes, sizeof(**routes));
	if (!*routes)
		return -ENOMEM;
	for (size_t i = 0; i < req->n_routes; i++) {
		const char *why = NULL;
		struct ip_prefix p;

		if (ip_prefix_parse(&p, req->routes[i], &why) || !ip_prefix_is_canonical(&p)) {
			free(*routes);
			*routes = NULL;
			return registry_fail(err, -EINVAL, "invalid advertised route \"%.64s\": %s",
					     req->routes[i], why ? why : "host bits set");
		}
		ip_prefix_format(&p, (*routes)[i], STORE_PREFIX_MAX);
	}
	return 0;
}

static int name_taken(void *arg, const char *name)
{
	struct store_node other;
	int ret = store_node_get(arg, STORE_NODE_BY_NAME, 0, name, &other);

	return ret == -ENOENT ? 0 : ret ? ret : 1;
}

/* A brand-new node: a free name and a fresh pair of addresses. */
static int fill_new(struct registry *reg, struct store_node *node, struct registry_error *err)
{
	char base[NAMES_LABEL_MAX + 1];
	struct ip_addr v4, v6;
	char p4[IP_PREFIX_STRLEN], p6[IP_PREFIX_STRLEN];
	int ret;

	names_sanitize(base, node->hostname);
	ret = names_make_unique(node->name, base, name_taken, reg->st);
	if (ret)
		return registry_fail(err, ret, "cannot find a free name for %s", base);
	ret = ipalloc_allocate(reg->ips, &v4, &v6);
	if (ret == -ENOSPC)
		return registry_fail(err, ret, "no free addresses left in %s and %s (%zu in use)",
				     ip_prefix_format(&reg->prefix_v4, p4, sizeof(p4)),
				     ip_prefix_format(&reg->prefix_v6, p6, sizeof(p6)),
				     ipalloc_count(reg->ips));
	if (ret)
		return registry_fail(err, ret, "address allocation failed");
	ip_addr_format(&v4, node->ipv4, sizeof(node->ipv4));
	ip_addr_format(&v6, node->ipv6, sizeof(node->ipv6));
	return 0;
}

static void log_admitted(const struct store_node *node, bool added)
{
	char key[ENC_KEY_HEX_LEN + 1];

	enc_key_to_hex(key, node->node_key);
	log_info("registry",
		 "node %s id=%lld name=%s user=%s tags=%s addresses=%s,%s ephemeral=%d "
		 "nodekey=[%.5s]",
		 added ? "registered" : "re-registered", (long long)node->id, node->name,
		 node->user_id ? node->user_name : "-", *node->tags ? node->tags : "-", node->ipv4,
		 node->ipv6, node->ephemeral, key);
}

static int admit(struct registry *reg, const struct store_node *tmpl,
		 char (*routes)[STORE_PREFIX_MAX], size_t n_routes, const struct owner *o,
		 struct store_node *out, struct registry_error *err)
{
	const char *route_ptrs[REGISTRY_MAX_ROUTES];
	int64_t now = registry_now(reg);
	struct store_node node;
	bool added = false;
	int ret;

	for (size_t i = 0; i < n_routes; i++)
		route_ptrs[i] = routes[i];
	ret = store_begin(reg->st);
	if (ret)
		return registry_fail(err, ret, "register: the database is unavailable");
	ret = store_node_get(reg->st, STORE_NODE_BY_MACHINE_KEY, 0, tmpl->machine_key, &node);
	if (ret == -ENOENT) {
		node = *tmpl;
		node.created = now;
		ret = fill_new(reg, &node, err);
		added = !ret;
	} else if (!ret) {
		memcpy(node.node_key, tmpl->node_key, STORE_KEY_LEN);
		memcpy(node.disco_key, tmpl->disco_key, STORE_KEY_LEN);
		memcpy(node.hostname, tmpl->hostname, sizeof(node.hostname));
		memcpy(node.os, tmpl->os, sizeof(node.os));
		memcpy(node.endpoints, tmpl->endpoints, sizeof(node.endpoints));
	} else {
		registry_fail(err, ret, "register: cannot read the node");
	}
	if (ret)
		goto out_end;
	node.user_id = o->user_id;
	snprintf(node.user_name, sizeof(node.user_name), "%s", o->user_id ? o->user_name : "");
	snprintf(node.tags, sizeof(node.tags), "%s", o->tags ? o->tags : "");
	node.ephemeral = o->ephemeral || tmpl->ephemeral;
	node.authkey_id = o->key ? o->key->id : 0;
	/* Tagged nodes are servers: their keys do not expire (Tailscale's rule). */
	node.expiry = *node.tags || !reg->node_key_expiry ? 0 : now + reg->node_key_expiry;
	node.last_seen = now;
	ret = added ? store_node_insert(reg->st, &node) : store_node_update(reg->st, &node);
	if (ret == -EEXIST)
		registry_fail(err, ret, "this node key is already registered to another machine");
	else if (ret)
		registry_fail(err, ret, "register: cannot store the node");
	if (!ret && o->key && !o->key_retry) {
		o->key->used++;
		ret = store_authkey_update(reg->st, o->key);
		if (ret)
			registry_fail(err, ret, "register: cannot update the auth key");
	}
	if (!ret) {
		ret = store_routes_set_advertised(reg->st, node.id, route_ptrs, n_routes);
		if (ret)
			registry_fail(err, ret, "register: cannot store the routes");
	}
out_end:
	ret = store_end(reg->st, ret);
	if (ret) {
		if (added) {
			struct ip_addr a;

			if (!ip_addr_parse(&a, node.ipv4, NULL))
				ipalloc_release(reg->ips, &a);
			if (!ip_addr_parse(&a, node.ipv6, NULL))
				ipalloc_release(reg->ips, &a);
		}
		if (err && !*err->msg)
			registry_fail(err, ret, "register: %s", strerror(-ret));
		return ret;
	}
	registry_note_registered(reg, node.id);
	log_admitted(&node, added);
	registry_emit(reg, added ? REGISTRY_NODE_ADDED : REGISTRY_NODE_CHANGED, node.id, &node,
		      NULL, NULL);
	if (out)
		*out = node;
	return 0;
}

/* Check a presented key; fills @k. The messages are what the node's user sees. */
static int check_key(struct registry *reg, const char *text, const uint8_t machine[STORE_KEY_LEN],
		     struct store_authkey *k, bool *retry, struct registry_error *err)
{
	char prefix[AUTHKEY_PREFIX_LEN + 1], when[32];
	uint8_t hash[AUTHKEY_HASH_LEN];
	struct store_node prev;
	int ret;

	*retry = false;
	if (authkey_parse(text, prefix, hash))
		return registry_fail(err, -EACCES, "invalid auth key");
	ret = store_authkey_get(reg->st, 0, prefix, k);
	if (ret == -ENOENT || (!ret && !authkey_hash_equal(hash, k->hash)))
		return registry_fail(err, -EACCES, "invalid auth key");
	if (ret)
		return registry_fail(err, ret, "cannot check the auth key: %s", strerror(-ret));
	if (k->revoked)
		return registry_fail(err, -EACCES, "auth key %s has been revoked", k->prefix);
	if (k->expiry <= registry_now(reg)) {
		registry_format_time(k->expiry, when, sizeof(when));
		return registry_fail(err, -EACCES, "auth key %s expired at %s", k->prefix, when);
	}
	if (!k->reusable && k->used) {
		ret = store_node_get(reg->st, STORE_NODE_BY_MACHINE_KEY, 0, machine, &prev);
		if (ret || prev.authkey_id != k->id)
			return registry_fail(err, -EACCES,
					     "auth key %s has already been used (it is single-use)",
					     k->prefix);
		*retry = true;
	}
	return 0;
}

int registry_register_authkey(struct registry *reg, const struct registry_request *req,
			      const char *authkey, struct store_node *out,
			      struct registry_error *err)
{
	char(*routes)[STORE_PREFIX_MAX] = NULL;
	struct store_node tmpl;
	struct store_authkey k;
	struct owner o = {0};
	int ret;

	if (err)
		err->msg[0] = '\0';
	ret = prepare(req, &tmpl, &routes, err);
	if (ret)
		return ret;
	ret = check_key(reg, authkey, req->machine_key, &k, &o.key_retry, err);
	if (ret) {
		log_info("registry", "registration refused hostname=\"%.64s\" reason=\"%s\"",
			 tmpl.hostname, err ? err->msg : "auth key");
		goto out_free;
	}
	o.key = &k;
	o.tags = k.tags;
	o.user_id = *k.tags ? 0 : k.user_id;
	o.user_name = k.user_name;
	o.ephemeral = k.ephemeral;
	ret = admit(reg, &tmpl, routes, req->n_routes, &o, out, err);
out_free:
	free(routes);
	return ret;
}

static void pending_free(struct pending *p)
{
	free(p->routes);
	free(p);
}

void registry_pending_clear(struct registry *reg)
{
	while (reg->pending) {
		struct pending *p = reg->pending;

		reg->pending = p->next;
		pending_free(p);
	}
	reg->n_pending = 0;
}

void registry_pending_expire(struct registry *reg, int64_t now)
{
	for (struct pending **pp = &reg->pending; *pp;) {
		struct pending *p = *pp;

		if (p->created + REGISTRY_PENDING_TIMEOUT > now) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		reg->n_pending--;
		pending_free(p);
	}
}

enum { MAX_PENDING = 1024 };

int registry_register_pending(struct registry *reg, const struct registry_request *req,
			      char id[REGISTRY_PENDING_ID_LEN + 1], struct registry_error *err)
{
	uint8_t raw[REGISTRY_PENDING_ID_LEN / 2];
	struct pending *p, **pp;
	int ret;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = prepare(req, &p->node, &p->routes, err);
	if (ret) {
		free(p);
		return ret;
	}
	p->n_routes = req->n_routes;
	p->created = registry_now(reg);
	randombytes_buf(raw, sizeof(raw));
	enc_hex_encode(p->id, raw, sizeof(raw));
	/* One pending registration per machine: a newer attempt replaces the older. */
	for (pp = &reg->pending; *pp;) {
		struct pending *old = *pp;

		if (!memcmp(old->node.machine_key, p->node.machine_key, STORE_KEY_LEN)) {
			*pp = old->next;
			reg->n_pending--;
			pending_free(old);
			continue;
		}
		pp = &old->next;
	}
	*pp = p;
	reg->n_pending++;
	/* Anyone can ask to register: bound the memory by dropping the oldest (the head). */
	if (reg->n_pending > MAX_PENDING) {
		struct pending *oldest = reg->pending;

		reg->pending = oldest->next;
		reg->n_pending--;
		pending_free(oldest);
	}
	memcpy(id, p->id, sizeof(p->id));
	log_info("registry", "registration pending id=%s hostname=\"%.64s\"", p->id,
		 p->node.hostname);
	return 0;
}

int registry_approve(struct registry *reg, const char *id, const char *user, struct store_node *out,
		     struct registry_error *err)
{
	struct pending *p, **pp;
	struct owner o = {0};
	struct store_node node;
	struct store_user u;
	int ret;

	if (err)
		err->msg[0] = '\0';
	registry_pending_expire(reg, registry_now(reg));
	for (pp = &reg->pending; *pp && strcmp((*pp)->id, id); pp = &(*pp)->next)
		;
	p = *pp;
	if (!p)
		return registry_fail(err, -ENOENT,
				     "no pending registration %s (it may have timed out: ask the "
				     "node to log in again)",
				     id);
	ret = store_user_get(reg->st, 0, user, &u);
	if (ret == -ENOENT)
		return registry_fail(err, ret, "no user named %s", user);
	if (ret)
		return registry_fail(err, ret, "cannot read user %s: %s", user, strerror(-ret));
	o.user_id = u.id;
	o.user_name = u.name;
	ret = admit(reg, &p->node, p->routes, p->n_routes, &o, &node, err);
	if (ret)
		return ret;
	*pp = p->next;
	reg->n_pending--;
	registry_emit(reg, REGISTRY_PENDING_APPROVED, node.id, &node, NULL, p->id);
	pending_free(p);
	if (out)
		*out = node;
	return 0;
}

int registry_node_by_machine(struct registry *reg, const uint8_t machine_key[STORE_KEY_LEN],
			     struct store_node *out)
{
	return store_node_get(reg->st, STORE_NODE_BY_MACHINE_KEY, 0, machine_key, out);
}
