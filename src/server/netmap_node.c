// SPDX-License-Identifier: MIT
/*
 * The netmap builder's nodes: a store row turned into the node object maps
 * carry, deep copies, comparisons for deltas, and the JSON texts cut out of
 * the control codec's output (see netmap_internal.h).
 */
#include "server/netmap_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

const char netmap_frame_prefix[] = "{\"type\":\"map_response\"";

static bool is_zero(const uint8_t *b, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return !acc;
}

/* ---- codec glue ---- */

/*
 * Encode @m, whose only member besides "type" is @member, and return that
 * member's value as text in *@out. The codec writes "type" first and no
 * white space; anything else is a bug we refuse to paper over (-EPROTO).
 */
int netmap_member_text(const struct ctl_map_response *m, const char *member, char **out,
		       size_t *len)
{
	char prefix[64], *json;
	size_t jlen, plen;
	int ret;

	*out = NULL;
	plen = (size_t)snprintf(prefix, sizeof(prefix), "%s,\"%s\":", netmap_frame_prefix, member);
	ret = ctl_map_response_encode(m, &json, &jlen);
	if (ret)
		return ret;
	if (jlen <= plen + 1 || memcmp(json, prefix, plen) || json[jlen - 1] != '}') {
		free(json);
		return -EPROTO;
	}
	*len = jlen - plen - 1;
	memmove(json, json + plen, *len);
	json[*len] = '\0';
	*out = json;
	return 0;
}

/* The JSON object text of one node. */
int netmap_node_text(const struct ctl_node *node, char **out, size_t *len)
{
	struct ctl_map_response m = {.peers_changed = (struct ctl_node *)node, .npeers_changed = 1};
	int ret = netmap_member_text(&m, "peers_changed", out, len);

	if (ret)
		return ret;
	if (*len < 2 || (*out)[0] != '[' || (*out)[*len - 1] != ']') {
		free(*out);
		*out = NULL;
		return -EPROTO;
	}
	*len -= 2;
	memmove(*out, *out + 1, *len);
	(*out)[*len] = '\0';
	return 0;
}

/* `{"type":"map_response","seq":N` (no closing brace): every frame starts so. */
int netmap_frame_head(uint64_t seq, char **out, size_t *len)
{
	struct ctl_map_response m = {.has_seq = true, .seq = seq};
	int ret = ctl_map_response_encode(&m, out, len);

	if (ret)
		return ret;
	if (!*len || (*out)[*len - 1] != '}') {
		free(*out);
		*out = NULL;
		return -EPROTO;
	}
	(*out)[--*len] = '\0';
	return 0;
}

int netmap_keepalive_json(uint64_t seq, char **out, size_t *len)
{
	struct ctl_map_response m = {.keep_alive = true, .has_seq = true, .seq = seq};

	return ctl_map_response_encode(&m, out, len);
}

int netmap_filter_text(const struct ctl_filter_rule *rules, size_t n, char **out, size_t *len)
{
	struct ctl_map_response m = {
		.has_packet_filter = true,
		.packet_filter = (struct ctl_filter_rule *)rules,
		.npacket_filter = n,
	};

	return netmap_member_text(&m, "packet_filter", out, len);
}

/* ---- nodes ---- */

static int copy_array(void **dst, const void *src, size_t n, size_t size)
{
	*dst = NULL;
	if (!n)
		return 0;
	*dst = malloc(n * size);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, n * size);
	return 0;
}

static char *dup_or_null(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

/* A deep copy of @src into @dst (zeroed on failure). */
int netmap_node_copy(struct ctl_node *dst, const struct ctl_node *src)
{
	int err = 0;

	*dst = *src;
	dst->name = dst->fqdn = dst->user = NULL;
	dst->tags = NULL;
	dst->addresses = dst->allowed_ips = NULL;
	dst->endpoints = NULL;
	dst->ntags = 0;
	dst->name = dup_or_null(src->name, &err);
	dst->fqdn = dup_or_null(src->fqdn, &err);
	dst->user = dup_or_null(src->user, &err);
	if (!err && src->ntags) {
		dst->tags = calloc(src->ntags, sizeof(*dst->tags));
		err = dst->tags ? 0 : -ENOMEM;
		for (size_t i = 0; !err && i < src->ntags; i++) {
			dst->tags[i] = dup_or_null(src->tags[i], &err);
			dst->ntags = i + 1;
		}
	}
	if (!err)
		err = copy_array((void **)&dst->addresses, src->addresses, src->naddresses,
				 sizeof(*src->addresses));
	if (!err)
		err = copy_array((void **)&dst->allowed_ips, src->allowed_ips, src->nallowed_ips,
				 sizeof(*src->allowed_ips));
	if (!err)
		err = copy_array((void **)&dst->endpoints, src->endpoints, src->nendpoints,
				 sizeof(*src->endpoints));
	if (err)
		ctl_node_free(dst);
	return err;
}

/* "tag:a,tag:b" into a string array. */
static int split_tags(const char *tags, struct ctl_node *n)
{
	size_t count = 1;
	const char *p;

	if (!*tags)
		return 0;
	for (p = tags; *p; p++)
		count += *p == ',';
	n->tags = calloc(count, sizeof(*n->tags));
	if (!n->tags)
		return -ENOMEM;
	for (p = tags; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len) {
			n->tags[n->ntags] = strndup(p, len);
			if (!n->tags[n->ntags])
				return -ENOMEM;
			n->ntags++;
		}
		p += len + (end ? 1 : 0);
	}
	return 0;
}

/* The endpoints JSON array the store keeps; entries that do not parse are skipped. */
static int parse_endpoints(const char *json, struct ctl_node *n)
{
	cJSON *arr, *e;
	size_t count;

	if (!*json)
		return 0;
	arr = cJSON_Parse(json);
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return 0;
	}
	count = (size_t)cJSON_GetArraySize(arr);
	if (count > CTL_MAX_ENDPOINTS)
		count = CTL_MAX_ENDPOINTS;
	if (count) {
		n->endpoints = calloc(count, sizeof(*n->endpoints));
		if (!n->endpoints) {
			cJSON_Delete(arr);
			return -ENOMEM;
		}
	}
	cJSON_ArrayForEach (e, arr) {
		if (n->nendpoints == count)
			break;
		if (cJSON_IsString(e) &&
		    !ip_endpoint_parse(&n->endpoints[n->nendpoints], e->valuestring, NULL))
			n->nendpoints++;
	}
	cJSON_Delete(arr);
	return 0;
}

/* addresses + routes, the IPs the node may send from. */
int netmap_allowed_ips(struct ctl_node *n, const struct ip_prefix *routes, size_t nroutes)
{
	size_t total = n->naddresses + nroutes;

	free(n->allowed_ips);
	n->allowed_ips = calloc(total ? total : 1, sizeof(*n->allowed_ips));
	n->nallowed_ips = 0;
	if (!n->allowed_ips)
		return -ENOMEM;
	for (size_t i = 0; i < n->naddresses; i++)
		n->allowed_ips[n->nallowed_ips++] = n->addresses[i];
	for (size_t i = 0; i < nroutes; i++) {
		bool dup = false;

		for (size_t j = 0; j < n->nallowed_ips && !dup; j++)
			dup = ip_prefix_equal(&n->allowed_ips[j], &routes[i]);
		if (!dup)
			n->allowed_ips[n->nallowed_ips++] = routes[i];
	}
	return 0;
}

static int add_address(struct ctl_node *n, const char *text, uint8_t bits)
{
	struct ip_addr a;

	if (!*text || ip_addr_parse(&a, text, NULL))
		return 0;
	n->addresses[n->naddresses].addr = a;
	n->addresses[n->naddresses].bits = bits;
	n->naddresses++;
	return 0;
}

int netmap_node_build(const struct netmap_node_ctx *ctx, const struct store_node *s, bool online,
		      const struct ip_prefix *routes, size_t nroutes, struct ctl_node *n)
{
	size_t flen;
	int ret;

	memset(n, 0, sizeof(*n));
	n->id = (uint64_t)s->id;
	memcpy(n->node_key, s->node_key, CTL_KEY_LEN);
	n->has_disco_key = !is_zero(s->disco_key, CTL_KEY_LEN);
	if (n->has_disco_key)
		memcpy(n->disco_key, s->disco_key, CTL_KEY_LEN);
	n->home_relay = ctx->home_relay;
	n->online = online;
	n->last_seen = s->last_seen;
	n->key_expiry = s->expiry;
	n->expired = s->expiry && s->expiry <= ctx->now;
	n->name = strdup(s->name);
	flen = strlen(s->name) + 1 + strlen(ctx->base_domain) + 1;
	n->fqdn = malloc(flen);
	if (n->fqdn)
		snprintf(n->fqdn, flen, "%s.%s", s->name, ctx->base_domain);
	n->user = s->user_id ? strdup(s->user_name) : NULL;
	n->addresses = calloc(2, sizeof(*n->addresses));
	ret = !n->name || !n->fqdn || (s->user_id && !n->user) || !n->addresses ? -ENOMEM : 0;
	if (!ret)
		ret = add_address(n, s->ipv4, 32);
	if (!ret)
		ret = add_address(n, s->ipv6, 128);
	if (!ret && !n->naddresses)
		ret = -EINVAL;
	if (!ret)
		ret = split_tags(s->tags, n);
	if (!ret)
		ret = parse_endpoints(s->endpoints, n);
	if (!ret)
		ret = netmap_allowed_ips(n, routes, nroutes);
	if (ret)
		ctl_node_free(n);
	return ret;
}

static bool str_equal(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool prefixes_equal(const struct ip_prefix *a, size_t na, const struct ip_prefix *b,
			   size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!ip_prefix_equal(&a[i], &b[i]))
			return false;
	return true;
}

/* A change peers need the whole node object for. */
bool netmap_identity_differs(const struct ctl_node *a, const struct ctl_node *b)
{
	if (!str_equal(a->name, b->name) || !str_equal(a->fqdn, b->fqdn) ||
	    !str_equal(a->user, b->user) || a->ntags != b->ntags || a->expired != b->expired ||
	    (a->has_disco_key && !b->has_disco_key))
		return true;
	for (size_t i = 0; i < a->ntags; i++)
		if (strcmp(a->tags[i], b->tags[i]))
			return true;
	return !prefixes_equal(a->addresses, a->naddresses, b->addresses, b->naddresses) ||
	       !prefixes_equal(a->allowed_ips, a->nallowed_ips, b->allowed_ips, b->nallowed_ips);
}

static bool endpoints_equal(const struct ctl_node *a, const struct ctl_node *b)
{
	if (a->nendpoints != b->nendpoints)
		return false;
	for (size_t i = 0; i < a->nendpoints; i++)
		if (!ip_addr_equal(&a->endpoints[i].addr, &b->endpoints[i].addr) ||
		    a->endpoints[i].port != b->endpoints[i].port)
			return false;
	return true;
}

/* Which patchable members differ from @a to @b (0: none). */
unsigned int netmap_patch_fields(const struct ctl_node *a, const struct ctl_node *b)
{
	unsigned int f = 0;

	if (!endpoints_equal(a, b))
		f |= CTL_PATCH_ENDPOINTS;
	if (a->home_relay != b->home_relay)
		f |= CTL_PATCH_HOME_RELAY;
	if (a->online != b->online)
		f |= CTL_PATCH_ONLINE;
	if (a->last_seen != b->last_seen)
		f |= CTL_PATCH_LAST_SEEN;
	if (b->has_disco_key &&
	    (!a->has_disco_key || memcmp(a->disco_key, b->disco_key, CTL_KEY_LEN)))
		f |= CTL_PATCH_DISCO_KEY;
	if (memcmp(a->node_key, b->node_key, CTL_KEY_LEN))
		f |= CTL_PATCH_NODE_KEY;
	if (a->key_expiry != b->key_expiry)
		f |= CTL_PATCH_KEY_EXPIRY;
	return f;
}

/* A patch of @fields with the values of @n (its endpoints are shared, not copied). */
void netmap_patch_fill(struct ctl_peer_patch *p, unsigned int fields, const struct ctl_node *n)
{
	memset(p, 0, sizeof(*p));
	p->id = n->id;
	p->fields = fields;
	p->endpoints = n->endpoints;
	p->nendpoints = n->nendpoints;
	p->home_relay = n->home_relay;
	p->online = n->online;
	p->last_seen = n->last_seen;
	memcpy(p->disco_key, n->disco_key, CTL_KEY_LEN);
	memcpy(p->node_key, n->node_key, CTL_KEY_LEN);
	p->key_expiry = n->key_expiry;
}
