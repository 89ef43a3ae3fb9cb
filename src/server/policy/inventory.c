// SPDX-License-Identifier: MIT
/*
 * Inventory files → struct policy_node arrays, for `policy check --nodes`.
 * The reader is strict about what it uses (addresses, routes, tags, owner) and
 * ignores the rest, so the output of `meshcontrol nodes list --json` works as
 * it is. Two nodes with one address are refused: the address would stand for
 * either.
 */
#include "server/policy/inventory.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/policy/internal.h"
#include "util/hujson.h"

struct reader {
	struct policy_inventory *inv;
	const struct hujson_doc *doc;
	struct policy_error *err;
};

static int fail(struct reader *rd, const cJSON *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct reader *rd, const cJSON *at, const char *fmt, ...)
{
	va_list ap;

	if (!rd->err)
		return -EINVAL;
	rd->err->line = 0;
	rd->err->col = 0;
	if (at)
		hujson_pos(rd->doc, at, &rd->err->line, &rd->err->col);
	va_start(ap, fmt);
	vsnprintf(rd->err->msg, sizeof(rd->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int oom(struct reader *rd)
{
	if (rd->err) {
		memset(rd->err, 0, sizeof(*rd->err));
		snprintf(rd->err->msg, sizeof(rd->err->msg), "out of memory");
	}
	return -ENOMEM;
}

static int read_addr(struct reader *rd, const cJSON *item, const char *name, int family,
		     struct ip_addr *out)
{
	const char *why = NULL;

	if (!cJSON_IsString(item) || ip_addr_parse(out, item->valuestring, &why))
		return fail(rd, item, "node \"%s\": invalid address: %s", name,
			    why ? why : "not a string");
	if (family && out->family != family)
		return fail(rd, item, "node \"%s\": \"%s\" is not an IPv%d address", name,
			    item->valuestring, family);
	return 0;
}

static int read_addresses(struct reader *rd, const cJSON *obj, struct policy_node *n)
{
	const cJSON *ip = cJSON_GetObjectItem(obj, "ip"), *ip6 = cJSON_GetObjectItem(obj, "ipv6");
	const cJSON *list = cJSON_GetObjectItem(obj, "addresses"), *e;
	struct ip_addr *addrs;
	size_t max = 2, k = 0;
	int ret;

	if (list && !cJSON_IsArray(list))
		return fail(rd, list, "node \"%s\": \"addresses\" must be an array", n->name);
	max += list ? (size_t)cJSON_GetArraySize(list) : 0;
	addrs = policy_arena_array(&rd->inv->arena, max, sizeof(*addrs));
	if (!addrs)
		return oom(rd);
	if (ip && !cJSON_IsNull(ip)) {
		ret = read_addr(rd, ip, n->name, IP_FAMILY_V4, &addrs[k++]);
		if (ret)
			return ret;
	}
	if (ip6 && !cJSON_IsNull(ip6)) {
		ret = read_addr(rd, ip6, n->name, IP_FAMILY_V6, &addrs[k++]);
		if (ret)
			return ret;
	}
	cJSON_ArrayForEach (e, list) {
		struct ip_addr a;
		bool dup = false;

		ret = read_addr(rd, e, n->name, 0, &a);
		if (ret)
			return ret;
		for (size_t j = 0; j < k && !dup; j++)
			dup = ip_addr_equal(&addrs[j], &a);
		if (!dup)
			addrs[k++] = a;
	}
	n->addresses = addrs;
	n->n_addresses = k;
	return 0;
}

static int read_routes(struct reader *rd, const cJSON *obj, struct policy_node *n)
{
	const cJSON *routes = cJSON_GetObjectItem(obj, "routes"), *e;
	struct ip_prefix *out;
	size_t k = 0;

	/* `nodes list --json` nests them: {"advertised": [...], "approved": [...]}. */
	if (cJSON_IsObject(routes))
		routes = cJSON_GetObjectItem(routes, "approved");
	if (!routes || cJSON_IsNull(routes))
		return 0;
	if (!cJSON_IsArray(routes))
		return fail(rd, routes, "node \"%s\": \"routes\" must be an array of prefixes",
			    n->name);
	out = policy_arena_array(&rd->inv->arena, (size_t)cJSON_GetArraySize(routes), sizeof(*out));
	if (!out)
		return oom(rd);
	cJSON_ArrayForEach (e, routes) {
		const char *why = "not a string";

		if (!cJSON_IsString(e) || ip_prefix_parse(&out[k], e->valuestring, &why))
			return fail(rd, e, "node \"%s\": invalid route: %s", n->name, why);
		if (!ip_prefix_is_canonical(&out[k]))
			return fail(rd, e, "node \"%s\": route \"%s\" has host bits set", n->name,
				    e->valuestring);
		k++;
	}
	n->routes = out;
	n->n_routes = k;
	return 0;
}

static int read_tags(struct reader *rd, const cJSON *obj, struct policy_node *n)
{
	const cJSON *tags = cJSON_GetObjectItem(obj, "tags"), *e;
	const char **out;
	size_t k = 0;

	if (!tags || cJSON_IsNull(tags))
		return 0;
	if (!cJSON_IsArray(tags))
		return fail(rd, tags, "node \"%s\": \"tags\" must be an array", n->name);
	out = policy_arena_array(&rd->inv->arena, (size_t)cJSON_GetArraySize(tags), sizeof(*out));
	if (!out)
		return oom(rd);
	cJSON_ArrayForEach (e, tags) {
		if (!cJSON_IsString(e) || strncmp(e->valuestring, "tag:", 4) || !e->valuestring[4])
			return fail(rd, e, "node \"%s\": tags are strings \"tag:NAME\"", n->name);
		out[k] = policy_arena_strdup(&rd->inv->arena, e->valuestring);
		if (!out[k++])
			return oom(rd);
	}
	n->tags = out;
	n->n_tags = k;
	return 0;
}

static int read_node(struct reader *rd, const cJSON *obj, size_t i, struct policy_node *n)
{
	const cJSON *name, *user, *id, *exit;
	int ret;

	if (!cJSON_IsObject(obj))
		return fail(rd, obj, "node %zu: must be an object", i);
	name = cJSON_GetObjectItem(obj, "name");
	if (!cJSON_IsString(name) || !name->valuestring[0])
		return fail(rd, name ? name : obj, "node %zu: \"name\" must be a non-empty string",
			    i);
	n->name = policy_arena_strdup(&rd->inv->arena, name->valuestring);
	if (!n->name)
		return oom(rd);
	n->id = (int64_t)i + 1;
	id = cJSON_GetObjectItem(obj, "id");
	if (cJSON_IsNumber(id))
		n->id = (int64_t)id->valuedouble;
	user = cJSON_GetObjectItem(obj, "user");
	if (user && !cJSON_IsNull(user) && (!cJSON_IsString(user) || !user->valuestring[0]))
		return fail(rd, user, "node \"%s\": \"user\" must be a user name or null", n->name);
	if (cJSON_IsString(user)) {
		n->user = policy_arena_strdup(&rd->inv->arena, user->valuestring);
		if (!n->user)
			return oom(rd);
	}
	exit = cJSON_GetObjectItem(obj, "exit_node");
	if (exit && !cJSON_IsBool(exit))
		return fail(rd, exit, "node \"%s\": \"exit_node\" must be true or false", n->name);
	n->exit_node = cJSON_IsTrue(exit);
	ret = read_tags(rd, obj, n);
	ret = ret ? ret : read_addresses(rd, obj, n);
	ret = ret ? ret : read_routes(rd, obj, n);
	if (ret)
		return ret;
	if (!n->n_tags && !n->user)
		return fail(rd, obj, "node \"%s\": has neither a user nor tags", n->name);
	if (n->n_tags)
		n->user = NULL; /* a tagged node has no user identity */
	return 0;
}

/* Refuse an address two nodes claim. O(n^2) over addresses: inventories are hand-sized. */
static int check_unique(struct reader *rd, const cJSON *arr)
{
	const struct policy_inventory *inv = rd->inv;

	for (size_t i = 0; i < inv->n; i++) {
		for (size_t a = 0; a < inv->nodes[i].n_addresses; a++) {
			for (size_t j = 0; j < i; j++) {
				char buf[IP_ADDR_STRLEN];

				if (!policy_node_owns(&inv->nodes[j], &inv->nodes[i].addresses[a]))
					continue;
				return fail(rd, cJSON_GetArrayItem(arr, (int)i),
					    "node \"%s\": address %s is also node \"%s\"'s",
					    inv->nodes[i].name,
					    ip_addr_format(&inv->nodes[i].addresses[a], buf,
							   sizeof(buf)),
					    inv->nodes[j].name);
			}
		}
	}
	return 0;
}

static int read_doc(struct policy_inventory **out, const struct hujson_doc *doc,
		    struct policy_error *err)
{
	struct reader rd = {.doc = doc, .err = err};
	const cJSON *root = hujson_root(doc), *e;
	size_t i = 0;
	int ret;

	rd.inv = calloc(1, sizeof(*rd.inv));
	if (!rd.inv)
		return oom(&rd);
	if (!cJSON_IsArray(root)) {
		ret = fail(&rd, root, "an inventory is a JSON array of nodes");
		goto err_free;
	}
	rd.inv->n = (size_t)cJSON_GetArraySize(root);
	rd.inv->nodes = policy_arena_array(&rd.inv->arena, rd.inv->n, sizeof(*rd.inv->nodes));
	if (!rd.inv->nodes) {
		ret = oom(&rd);
		goto err_free;
	}
	cJSON_ArrayForEach (e, root) {
		ret = read_node(&rd, e, i, &rd.inv->nodes[i]);
		i++;
		if (ret)
			goto err_free;
	}
	ret = check_unique(&rd, root);
	if (ret)
		goto err_free;
	*out = rd.inv;
	return 0;

err_free:
	policy_inventory_free(rd.inv);
	return ret;
}

static void copy_error(struct policy_error *err, const struct hujson_error *herr)
{
	if (!err)
		return;
	err->line = herr->line;
	err->col = herr->col;
	snprintf(err->msg, sizeof(err->msg), "%s", herr->msg);
}

int policy_inventory_parse(struct policy_inventory **out, const char *text, size_t len,
			   struct policy_error *err)
{
	struct hujson_error herr = {0};
	struct hujson_doc *doc = NULL;
	int ret;

	*out = NULL;
	ret = hujson_parse(&doc, text, len, HUJSON_ALLOW_DUPLICATE_KEYS, &herr);
	if (ret) {
		copy_error(err, &herr);
		return ret;
	}
	ret = read_doc(out, doc, err);
	hujson_free(doc);
	return ret;
}

int policy_inventory_load(struct policy_inventory **out, const char *path, struct policy_error *err)
{
	struct hujson_error herr = {0};
	struct hujson_doc *doc = NULL;
	int ret;

	*out = NULL;
	ret = hujson_parse_file(&doc, path, HUJSON_ALLOW_DUPLICATE_KEYS, &herr);
	if (ret) {
		copy_error(err, &herr);
		return ret;
	}
	ret = read_doc(out, doc, err);
	hujson_free(doc);
	return ret;
}

void policy_inventory_free(struct policy_inventory *inv)
{
	if (!inv)
		return;
	policy_arena_destroy(inv->arena);
	free(inv);
}
