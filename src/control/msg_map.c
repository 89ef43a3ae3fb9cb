// SPDX-License-Identifier: MIT
/*
 * JSON codec for map stream frames: the frame itself, nodes and peer
 * patches (the relay map, DNS and filter parts are in msg_netcfg.c). Zero and false members are left out
 * when encoding (absent reads back as zero), which keeps full maps of
 * thousands of peers small.
 */
#include "control/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put_time(int *err, cJSON *obj, const char *field, int64_t t)
{
	if (t < 0 && !*err)
		*err = -EINVAL;
	else if (t > 0)
		ctl_json_put_uint(err, obj, field, (uint64_t)t);
}

static void *alloc_array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* ---- nodes ---- */

static void node_encode(int *err, cJSON *o, const struct ctl_node *n)
{
	if (!n->id || !n->naddresses)
		*err = *err ? *err : -EINVAL;
	ctl_json_put_uint(err, o, "id", n->id);
	ctl_json_put_string(err, o, "name", n->name, CTL_TEXT_LABEL, CTL_NAME_MAX);
	ctl_json_put_string(err, o, "fqdn", n->fqdn, CTL_TEXT_DNSNAME, CTL_DNSNAME_MAX);
	if (n->user)
		ctl_json_put_string(err, o, "user", n->user, CTL_TEXT_PRINTABLE, CTL_USER_MAX);
	if (n->ntags)
		ctl_json_put_strings(err, o, "tags", n->tags, n->ntags, CTL_MAX_TAGS, CTL_TEXT_TAG,
				     CTL_TAG_MAX);
	ctl_json_put_key(err, o, "node_key", CTL_KEY_NODE, n->node_key);
	if (n->has_disco_key)
		ctl_json_put_key(err, o, "disco_key", CTL_KEY_DISCO, n->disco_key);
	ctl_json_put_prefixes(err, o, "addresses", n->addresses, n->naddresses, CTL_MAX_ADDRESSES,
			      true);
	ctl_json_put_prefixes(err, o, "allowed_ips", n->allowed_ips, n->nallowed_ips,
			      CTL_MAX_ALLOWED_IPS, true);
	if (n->nendpoints)
		ctl_json_put_endpoints(err, o, "endpoints", n->endpoints, n->nendpoints,
				       CTL_MAX_ENDPOINTS);
	if (n->home_relay)
		ctl_json_put_uint(err, o, "home_relay", n->home_relay);
	if (n->online)
		ctl_json_put_bool(err, o, "online", true);
	put_time(err, o, "last_seen", n->last_seen);
	put_time(err, o, "key_expiry", n->key_expiry);
	if (n->expired)
		ctl_json_put_bool(err, o, "expired", true);
}

static int node_decode(struct ctl_json_ctx *ctx, const cJSON *o, struct ctl_node *n)
{
	uint64_t relay = 0;
	int ret = ctl_json_object(ctx, o, NULL);

	if (!ret)
		ret = ctl_json_uint(ctx, o, "id", true, 1, UINT64_MAX, &n->id, NULL);
	if (!ret)
		ret = ctl_json_string(ctx, o, "name", true, CTL_TEXT_LABEL, CTL_NAME_MAX, &n->name);
	if (!ret)
		ret = ctl_json_string(ctx, o, "fqdn", true, CTL_TEXT_DNSNAME, CTL_DNSNAME_MAX,
				      &n->fqdn);
	if (!ret)
		ret = ctl_json_string(ctx, o, "user", false, CTL_TEXT_PRINTABLE, CTL_USER_MAX,
				      &n->user);
	if (!ret)
		ret = ctl_json_strings(ctx, o, "tags", CTL_MAX_TAGS, CTL_TEXT_TAG, CTL_TAG_MAX,
				       &n->tags, &n->ntags);
	if (!ret)
		ret = ctl_json_key(ctx, o, "node_key", true, CTL_KEY_NODE, n->node_key, NULL);
	if (!ret)
		ret = ctl_json_key(ctx, o, "disco_key", false, CTL_KEY_DISCO, n->disco_key,
				   &n->has_disco_key);
	if (!ret)
		ret = ctl_json_prefixes(ctx, o, "addresses", true, true, CTL_MAX_ADDRESSES,
					&n->addresses, &n->naddresses);
	if (!ret && !n->naddresses)
		ret = ctl_json_fail(ctx, "addresses", "empty");
	if (!ret)
		ret = ctl_json_prefixes(ctx, o, "allowed_ips", true, true, CTL_MAX_ALLOWED_IPS,
					&n->allowed_ips, &n->nallowed_ips);
	if (!ret)
		ret = ctl_json_endpoints(ctx, o, "endpoints", CTL_MAX_ENDPOINTS, &n->endpoints,
					 &n->nendpoints);
	if (!ret)
		ret = ctl_json_uint(ctx, o, "home_relay", false, 0, UINT32_MAX, &relay, NULL);
	n->home_relay = (uint32_t)relay;
	if (!ret)
		ret = ctl_json_bool(ctx, o, "online", false, &n->online, NULL);
	if (!ret)
		ret = ctl_json_time(ctx, o, "last_seen", &n->last_seen, NULL);
	if (!ret)
		ret = ctl_json_time(ctx, o, "key_expiry", &n->key_expiry, NULL);
	if (!ret)
		ret = ctl_json_bool(ctx, o, "expired", false, &n->expired, NULL);
	return ret;
}

void ctl_node_free(struct ctl_node *n)
{
	free(n->name);
	free(n->fqdn);
	free(n->user);
	ctl_json_free_strings(n->tags, n->ntags);
	free(n->addresses);
	free(n->allowed_ips);
	free(n->endpoints);
	memset(n, 0, sizeof(*n));
}

static void free_nodes(struct ctl_node *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		ctl_node_free(&v[i]);
	free(v);
}

static void nodes_encode(int *err, cJSON *root, const char *field, const struct ctl_node *v,
			 size_t n)
{
	cJSON *arr = ctl_json_put_array(err, root, field, n, CTL_MAX_PEERS);
	size_t i;

	for (i = 0; arr && !*err && i < n; i++)
		node_encode(err, ctl_json_push_object(err, arr), &v[i]);
}

/* Decode array @field into *@out; *@present says whether it was there at all. */
static int nodes_decode(struct ctl_json_ctx *ctx, const cJSON *root, const char *field,
			struct ctl_node **out, size_t *n, bool *present)
{
	const cJSON *arr, *e;
	struct ctl_node *v;
	size_t count, i = 0, mark;
	int ret;

	ret = ctl_json_array(ctx, root, field, false, CTL_MAX_PEERS, &arr, &count);
	if (present)
		*present = arr != NULL;
	if (ret || !arr)
		return ret;
	v = alloc_array(count, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*out = v;
	cJSON_ArrayForEach(e, arr)
	{
		mark = ctl_json_push(ctx, field, (long)i);
		ret = node_decode(ctx, e, &v[i]);
		ctl_json_pop(ctx, mark);
		*n = ++i; /* so _free releases the partly decoded one too */
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- patches ---- */

static void patch_encode(int *err, cJSON *o, const struct ctl_peer_patch *p)
{
	if (!p->id || !p->fields)
		*err = *err ? *err : -EINVAL;
	ctl_json_put_uint(err, o, "id", p->id);
	if (p->fields & CTL_PATCH_ENDPOINTS)
		ctl_json_put_endpoints(err, o, "endpoints", p->endpoints, p->nendpoints,
				       CTL_MAX_ENDPOINTS);
	if (p->fields & CTL_PATCH_HOME_RELAY)
		ctl_json_put_uint(err, o, "home_relay", p->home_relay);
	if (p->fields & CTL_PATCH_ONLINE)
		ctl_json_put_bool(err, o, "online", p->online);
	if ((p->last_seen < 0 || p->key_expiry < 0) && !*err)
		*err = -EINVAL;
	if (p->fields & CTL_PATCH_LAST_SEEN)
		ctl_json_put_uint(err, o, "last_seen", (uint64_t)p->last_seen);
	if (p->fields & CTL_PATCH_DISCO_KEY)
		ctl_json_put_key(err, o, "disco_key", CTL_KEY_DISCO, p->disco_key);
	if (p->fields & CTL_PATCH_NODE_KEY)
		ctl_json_put_key(err, o, "node_key", CTL_KEY_NODE, p->node_key);
	if (p->fields & CTL_PATCH_KEY_EXPIRY)
		ctl_json_put_uint(err, o, "key_expiry", (uint64_t)p->key_expiry);
}

static int patch_decode(struct ctl_json_ctx *ctx, const cJSON *o, struct ctl_peer_patch *p)
{
	const cJSON *arr;
	uint64_t relay = 0;
	bool has;
	size_t n;
	int ret = ctl_json_object(ctx, o, NULL);

	if (!ret)
		ret = ctl_json_uint(ctx, o, "id", true, 1, UINT64_MAX, &p->id, NULL);
	if (!ret)
		ret = ctl_json_array(ctx, o, "endpoints", false, CTL_MAX_ENDPOINTS, &arr, &n);
	if (!ret && arr) {
		p->fields |= CTL_PATCH_ENDPOINTS;
		ret = ctl_json_endpoints(ctx, o, "endpoints", CTL_MAX_ENDPOINTS, &p->endpoints,
					 &p->nendpoints);
	}
	if (!ret)
		ret = ctl_json_uint(ctx, o, "home_relay", false, 0, UINT32_MAX, &relay, &has);
	if (!ret && has) {
		p->fields |= CTL_PATCH_HOME_RELAY;
		p->home_relay = (uint32_t)relay;
	}
	if (!ret)
		ret = ctl_json_bool(ctx, o, "online", false, &p->online, &has);
	if (!ret && has)
		p->fields |= CTL_PATCH_ONLINE;
	if (!ret)
		ret = ctl_json_time(ctx, o, "last_seen", &p->last_seen, &has);
	if (!ret && has)
		p->fields |= CTL_PATCH_LAST_SEEN;
	if (!ret)
		ret = ctl_json_key(ctx, o, "disco_key", false, CTL_KEY_DISCO, p->disco_key, &has);
	if (!ret && has)
		p->fields |= CTL_PATCH_DISCO_KEY;
	if (!ret)
		ret = ctl_json_key(ctx, o, "node_key", false, CTL_KEY_NODE, p->node_key, &has);
	if (!ret && has)
		p->fields |= CTL_PATCH_NODE_KEY;
	if (!ret)
		ret = ctl_json_time(ctx, o, "key_expiry", &p->key_expiry, &has);
	if (!ret && has)
		p->fields |= CTL_PATCH_KEY_EXPIRY;
	if (!ret && !p->fields)
		ret = ctl_json_fail(ctx, NULL, "patch changes nothing");
	return ret;
}

/* ---- the frame ---- */

static bool has_delta(const struct ctl_map_response *m)
{
	return m->npeers_changed || m->npeers_removed || m->npeers_patch;
}

int ctl_map_response_encode(const struct ctl_map_response *m, char **out, size_t *len)
{
	cJSON *root = cJSON_CreateObject(), *arr;
	int err = root ? 0 : -ENOMEM;
	size_t i;

	if (m->has_peers && has_delta(m))
		err = -EINVAL;
	if (m->keep_alive && (m->node || m->has_peers || has_delta(m) || m->relay_map || m->dns ||
			      m->has_packet_filter))
		err = -EINVAL;
	ctl_json_put_string(&err, root, "type", "map_response", CTL_TEXT_TOKEN, 64);
	if (m->keep_alive)
		ctl_json_put_bool(&err, root, "keep_alive", true);
	if (m->has_seq)
		ctl_json_put_uint(&err, root, "seq", m->seq);
	if (m->node)
		node_encode(&err, ctl_json_put_object(&err, root, "node"), m->node);
	if (m->has_peers)
		nodes_encode(&err, root, "peers", m->peers, m->npeers);
	if (m->npeers_changed)
		nodes_encode(&err, root, "peers_changed", m->peers_changed, m->npeers_changed);
	if (m->npeers_removed) {
		arr = ctl_json_put_array(&err, root, "peers_removed", m->npeers_removed,
					 CTL_MAX_PEERS);
		for (i = 0; arr && !err && i < m->npeers_removed; i++) {
			if (!m->peers_removed[i])
				err = -EINVAL;
			ctl_json_push_uint(&err, arr, m->peers_removed[i]);
		}
	}
	if (m->npeers_patch) {
		arr = ctl_json_put_array(&err, root, "peers_patch", m->npeers_patch, CTL_MAX_PEERS);
		for (i = 0; arr && !err && i < m->npeers_patch; i++)
			patch_encode(&err, ctl_json_push_object(&err, arr), &m->peers_patch[i]);
	}
	if (m->relay_map)
		ctl_relay_map_encode(&err, ctl_json_put_object(&err, root, "relay_map"),
				     m->relay_map);
	if (m->dns)
		ctl_dns_config_encode(&err, ctl_json_put_object(&err, root, "dns"), m->dns);
	if (m->has_packet_filter) {
		arr = ctl_json_put_array(&err, root, "packet_filter", m->npacket_filter,
					 CTL_MAX_RULES);
		for (i = 0; arr && !err && i < m->npacket_filter; i++)
			ctl_filter_rule_encode(&err, ctl_json_push_object(&err, arr),
					       &m->packet_filter[i]);
	}
	return ctl_json_finish(err, root, CTL_MAX_MESSAGE_JSON, out, len);
}

/* Decode object member @field with a freshly allocated struct of @size. */
static int sub_object(struct ctl_json_ctx *ctx, const cJSON *root, const char *field, size_t size,
		      void **out, int (*decode)(struct ctl_json_ctx *, const cJSON *, void *))
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, field);
	size_t mark;
	int ret;

	if (!o || cJSON_IsNull(o))
		return 0;
	*out = calloc(1, size);
	if (!*out)
		return -ENOMEM;
	mark = ctl_json_push(ctx, field, -1);
	ret = decode(ctx, o, *out);
	ctl_json_pop(ctx, mark);
	return ret;
}

static int node_decode_v(struct ctl_json_ctx *ctx, const cJSON *o, void *p)
{
	return node_decode(ctx, o, p);
}

static int relay_map_decode_v(struct ctl_json_ctx *ctx, const cJSON *o, void *p)
{
	return ctl_relay_map_decode(ctx, o, p);
}

static int dns_decode_v(struct ctl_json_ctx *ctx, const cJSON *o, void *p)
{
	return ctl_dns_config_decode(ctx, o, p);
}

static int removed_decode(struct ctl_json_ctx *ctx, const cJSON *root, struct ctl_map_response *m)
{
	const cJSON *arr, *e;
	size_t count, i = 0, mark;
	int ret;

	ret = ctl_json_array(ctx, root, "peers_removed", false, CTL_MAX_PEERS, &arr, &count);
	if (ret || !arr)
		return ret;
	m->peers_removed = alloc_array(count, sizeof(*m->peers_removed));
	if (!m->peers_removed)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		mark = ctl_json_push(ctx, "peers_removed", (long)i);
		ret = ctl_json_uint_value(ctx, e, 1, UINT64_MAX, &m->peers_removed[i]);
		ctl_json_pop(ctx, mark);
		if (ret)
			return ret;
		m->npeers_removed = ++i;
	}
	return 0;
}

static int patches_decode(struct ctl_json_ctx *ctx, const cJSON *root, struct ctl_map_response *m)
{
	const cJSON *arr, *e;
	size_t count, i = 0, mark;
	int ret;

	ret = ctl_json_array(ctx, root, "peers_patch", false, CTL_MAX_PEERS, &arr, &count);
	if (ret || !arr)
		return ret;
	m->peers_patch = alloc_array(count, sizeof(*m->peers_patch));
	if (!m->peers_patch)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		mark = ctl_json_push(ctx, "peers_patch", (long)i);
		ret = patch_decode(ctx, e, &m->peers_patch[i]);
		ctl_json_pop(ctx, mark);
		m->npeers_patch = ++i;
		if (ret)
			return ret;
	}
	return 0;
}

static int rules_decode(struct ctl_json_ctx *ctx, const cJSON *root, struct ctl_map_response *m)
{
	const cJSON *arr, *e;
	size_t count, i = 0, mark;
	int ret;

	ret = ctl_json_array(ctx, root, "packet_filter", false, CTL_MAX_RULES, &arr, &count);
	m->has_packet_filter = arr != NULL;
	if (ret || !arr)
		return ret;
	m->packet_filter = alloc_array(count, sizeof(*m->packet_filter));
	if (!m->packet_filter)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		mark = ctl_json_push(ctx, "packet_filter", (long)i);
		ret = ctl_filter_rule_decode(ctx, e, &m->packet_filter[i]);
		ctl_json_pop(ctx, mark);
		m->npacket_filter = ++i;
		if (ret)
			return ret;
	}
	return 0;
}

/* A keep-alive carries nothing but its type, flag and sequence number. */
static int keep_alive_only(struct ctl_json_ctx *ctx, const cJSON *root)
{
	const cJSON *e;

	for (e = root->child; e; e = e->next) {
		if (strcmp(e->string, "type") && strcmp(e->string, "keep_alive") &&
		    strcmp(e->string, "seq") && !cJSON_IsNull(e))
			return ctl_json_fail(ctx, e->string, "not allowed in a keep-alive");
	}
	return 0;
}

int ctl_map_response_decode(struct ctl_map_response *m, const uint8_t *buf, size_t len,
			    struct ctl_err *err)
{
	struct ctl_json_ctx ctx = {.err = err};
	cJSON *root = NULL;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = ctl_json_parse(&root, buf, len, CTL_MAX_MESSAGE_JSON, &ctx);
	if (!ret)
		ret = ctl_json_object(&ctx, root, NULL);
	if (!ret)
		ret = ctl_json_type(&ctx, root, "map_response");
	if (!ret)
		ret = ctl_json_bool(&ctx, root, "keep_alive", false, &m->keep_alive, NULL);
	if (!ret)
		ret = ctl_json_uint(&ctx, root, "seq", false, 0, UINT64_MAX, &m->seq, &m->has_seq);
	if (!ret && m->keep_alive)
		ret = keep_alive_only(&ctx, root);
	if (!ret)
		ret = sub_object(&ctx, root, "node", sizeof(*m->node), (void **)&m->node,
				 node_decode_v);
	if (!ret)
		ret = nodes_decode(&ctx, root, "peers", &m->peers, &m->npeers, &m->has_peers);
	if (!ret)
		ret = nodes_decode(&ctx, root, "peers_changed", &m->peers_changed,
				   &m->npeers_changed, NULL);
	if (!ret)
		ret = removed_decode(&ctx, root, m);
	if (!ret)
		ret = patches_decode(&ctx, root, m);
	if (!ret && m->has_peers && has_delta(m))
		ret = ctl_json_fail(&ctx, "peers", "a full map cannot carry deltas too");
	if (!ret)
		ret = sub_object(&ctx, root, "relay_map", sizeof(*m->relay_map),
				 (void **)&m->relay_map, relay_map_decode_v);
	if (!ret)
		ret = sub_object(&ctx, root, "dns", sizeof(*m->dns), (void **)&m->dns,
				 dns_decode_v);
	if (!ret)
		ret = rules_decode(&ctx, root, m);
	cJSON_Delete(root);
	return ret;
}

void ctl_map_response_free(struct ctl_map_response *m)
{
	size_t i;

	if (m->node) {
		ctl_node_free(m->node);
		free(m->node);
	}
	free_nodes(m->peers, m->npeers);
	free_nodes(m->peers_changed, m->npeers_changed);
	free(m->peers_removed);
	if (m->peers_patch) {
		for (i = 0; i < m->npeers_patch; i++)
			free(m->peers_patch[i].endpoints);
		free(m->peers_patch);
	}
	if (m->relay_map) {
		ctl_relay_map_free(m->relay_map);
		free(m->relay_map);
	}
	if (m->dns) {
		ctl_dns_config_free(m->dns);
		free(m->dns);
	}
	if (m->packet_filter) {
		for (i = 0; i < m->npacket_filter; i++)
			ctl_filter_rule_free(&m->packet_filter[i]);
		free(m->packet_filter);
	}
	memset(m, 0, sizeof(*m));
}
