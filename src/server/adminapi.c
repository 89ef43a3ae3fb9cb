// SPDX-License-Identifier: MIT
/*
 * Admin API methods: decode params, call the registry, encode the result.
 * Every method is a row in the table at the bottom; the JSON shapes here are
 * a contract (design.md §6 for nodes.list): fields may be added, never renamed.
 */
#include "server/adminapi.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server/names.h"
#include "util/compiler.h"
#include "util/encoding.h"

struct call {
	struct registry *reg;
	const cJSON *params;
	cJSON *result;
	struct registry_error err;
};

static int fail(struct call *c, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct call *c, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err.msg, sizeof(c->err.msg), fmt, ap);
	va_end(ap);
	return ret;
}

/* A string parameter; NULL (and c->err set) when required and missing. */
static const char *str_param(struct call *c, const char *key, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->params, key);

	if (cJSON_IsString(v))
		return v->valuestring;
	if (required || (v && !cJSON_IsNull(v)))
		fail(c, -EINVAL, "parameter \"%s\" must be a string", key);
	return NULL;
}

static bool bool_param(const struct call *c, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->params, key));
}

/* Strings of the array parameter @key into a heap array (free()) of *@n. */
static int strings_param(struct call *c, const char *key, const char ***out, size_t *n)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(c->params, key), *e;
	const char **v;
	size_t k = 0;

	if (!cJSON_IsArray(arr) || !cJSON_GetArraySize(arr))
		return fail(c, -EINVAL, "parameter \"%s\" must be a non-empty array of strings",
			    key);
	v = calloc((size_t)cJSON_GetArraySize(arr), sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (e = arr->child; e; e = e->next) {
		if (!cJSON_IsString(e)) {
			free(v);
			return fail(c, -EINVAL, "parameter \"%s\" must hold strings", key);
		}
		v[k++] = e->valuestring;
	}
	*out = v;
	*n = k;
	return 0;
}

static cJSON *time_json(int64_t t)
{
	char buf[32];

	if (!t)
		return cJSON_CreateNull();
	registry_format_time(t, buf, sizeof(buf));
	return cJSON_CreateString(buf);
}

/* "tag:a,tag:b" → ["tag:a", "tag:b"] */
static cJSON *tags_json(const char *tags)
{
	cJSON *arr = cJSON_CreateArray();
	char one[STORE_TAGS_MAX];

	while (arr && *tags) {
		size_t len = strcspn(tags, ",");

		snprintf(one, sizeof(one), "%.*s", (int)len, tags);
		cJSON_AddItemToArray(arr, cJSON_CreateString(one));
		tags += len + (tags[len] == ',');
	}
	return arr;
}

cJSON *adminapi_node_json(struct registry *reg, const struct store_node *node,
			  const struct store_route *routes, size_t n_routes)
{
	cJSON *o = cJSON_CreateObject(), *addrs, *r, *adv, *appr;
	char fqdn[STORE_NAME_MAX + 256], key[ENC_KEY_HEX_LEN + 1], nodekey[ENC_KEY_HEX_LEN + 9];

	if (!o)
		return NULL;
	names_fqdn(fqdn, sizeof(fqdn), node->name, registry_base_domain(reg));
	enc_key_to_hex(key, node->node_key);
	snprintf(nodekey, sizeof(nodekey), "nodekey:%s", key);
	cJSON_AddNumberToObject(o, "id", (double)node->id);
	cJSON_AddStringToObject(o, "name", node->name);
	cJSON_AddStringToObject(o, "fqdn", fqdn);
	if (node->user_id)
		cJSON_AddStringToObject(o, "user", node->user_name);
	else
		cJSON_AddNullToObject(o, "user");
	cJSON_AddItemToObject(o, "tags", tags_json(node->tags));
	addrs = cJSON_AddArrayToObject(o, "addresses");
	if (*node->ipv4)
		cJSON_AddItemToArray(addrs, cJSON_CreateString(node->ipv4));
	if (*node->ipv6)
		cJSON_AddItemToArray(addrs, cJSON_CreateString(node->ipv6));
	cJSON_AddBoolToObject(o, "online", registry_node_online(reg, node->id));
	cJSON_AddItemToObject(o, "last_seen", time_json(node->last_seen));
	cJSON_AddItemToObject(o, "expiry", time_json(node->expiry));
	r = cJSON_AddObjectToObject(o, "routes");
	adv = cJSON_AddArrayToObject(r, "advertised");
	appr = cJSON_AddArrayToObject(r, "approved");
	for (size_t i = 0; i < n_routes; i++) {
		if (routes[i].node_id != node->id)
			continue;
		if (routes[i].advertised)
			cJSON_AddItemToArray(adv, cJSON_CreateString(routes[i].prefix));
		if (routes[i].approved)
			cJSON_AddItemToArray(appr, cJSON_CreateString(routes[i].prefix));
	}
	cJSON_AddStringToObject(o, "hostname", node->hostname);
	cJSON_AddStringToObject(o, "os", node->os);
	cJSON_AddBoolToObject(o, "ephemeral", node->ephemeral);
	cJSON_AddBoolToObject(o, "expired", registry_node_expired(reg, node));
	cJSON_AddItemToObject(o, "created", time_json(node->created));
	cJSON_AddStringToObject(o, "node_key", nodekey);
	return o;
}

static cJSON *user_json(const struct store_user *u)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)u->id);
	cJSON_AddStringToObject(o, "name", u->name);
	cJSON_AddItemToObject(o, "created", time_json(u->created));
	return o;
}

static const char *key_state(const struct registry *reg, const struct store_authkey *k)
{
	if (k->revoked)
		return "revoked";
	if (k->expiry <= registry_now(reg))
		return "expired";
	if (!k->reusable && k->used)
		return "used";
	return "valid";
}

static cJSON *authkey_json(const struct registry *reg, const struct store_authkey *k)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "id", (double)k->id);
	cJSON_AddStringToObject(o, "prefix", k->prefix);
	cJSON_AddStringToObject(o, "user", k->user_name);
	cJSON_AddBoolToObject(o, "reusable", k->reusable);
	cJSON_AddBoolToObject(o, "ephemeral", k->ephemeral);
	cJSON_AddItemToObject(o, "tags", tags_json(k->tags));
	cJSON_AddItemToObject(o, "expiry", time_json(k->expiry));
	cJSON_AddItemToObject(o, "created", time_json(k->created));
	cJSON_AddNumberToObject(o, "used", (double)k->used);
	cJSON_AddItemToObject(o, "revoked", time_json(k->revoked));
	cJSON_AddStringToObject(o, "state", key_state(reg, k));
	return o;
}

static int users_create(struct call *c)
{
	const char *name = str_param(c, "name", true);
	struct store_user u;
	int ret;

	if (!name)
		return -EINVAL;
	ret = registry_user_create(c->reg, name, &u, &c->err);
	if (!ret)
		c->result = user_json(&u);
	return ret;
}

static int users_list(struct call *c)
{
	struct store_user *users;
	size_t n;
	int ret = registry_user_list(c->reg, &users, &n, &c->err);

	if (ret)
		return ret;
	c->result = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(c->result, user_json(&users[i]));
	free(users);
	return 0;
}

static int users_delete(struct call *c)
{
	const char *name = str_param(c, "name", true);

	return name ? registry_user_delete(c->reg, name, &c->err) : -EINVAL;
}

static int authkeys_create(struct call *c)
{
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c->params, "expiration");
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(c->params, "tags"), *t;
	struct registry_authkey_request kr = {0};
	char key[AUTHKEY_STR_LEN + 1], joined[STORE_TAGS_MAX] = "";
	struct store_authkey k;
	size_t o = 0;
	int ret;

	kr.user = str_param(c, "user", true);
	if (!kr.user)
		return -EINVAL;
	if (!cJSON_IsNumber(exp) || exp->valuedouble < 1 || exp->valuedouble > 1e10)
		return fail(c, -EINVAL, "parameter \"expiration\" must be a number of seconds");
	kr.expiration = (int64_t)exp->valuedouble;
	kr.reusable = bool_param(c, "reusable");
	kr.ephemeral = bool_param(c, "ephemeral");
	if (tags && !cJSON_IsArray(tags))
		return fail(c, -EINVAL, "parameter \"tags\" must be an array of strings");
	for (t = tags ? tags->child : NULL; t; t = t->next) {
		int n;

		if (!cJSON_IsString(t) || strchr(t->valuestring, ','))
			return fail(c, -EINVAL, "invalid tag in \"tags\"");
		n = snprintf(joined + o, sizeof(joined) - o, "%s%s", o ? "," : "", t->valuestring);
		if (n < 0 || (size_t)n >= sizeof(joined) - o)
			return fail(c, -EINVAL, "too many tags");
		o += (size_t)n;
	}
	kr.tags = joined;
	ret = registry_authkey_create(c->reg, &kr, key, &k, &c->err);
	if (ret)
		return ret;
	c->result = authkey_json(c->reg, &k);
	cJSON_AddStringToObject(c->result, "key", key);
	sodium_memzero(key, sizeof(key));
	return 0;
}

static int authkeys_list(struct call *c)
{
	struct store_authkey *keys;
	size_t n;
	int ret = registry_authkey_list(c->reg, &keys, &n, &c->err);

	if (ret)
		return ret;
	c->result = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(c->result, authkey_json(c->reg, &keys[i]));
	free(keys);
	return 0;
}

static int authkeys_revoke(struct call *c)
{
	const char *ref = str_param(c, "key", true);

	return ref ? registry_authkey_revoke(c->reg, ref, &c->err) : -EINVAL;
}

static int nodes_list(struct call *c)
{
	struct store_node *nodes = NULL;
	struct store_route *routes = NULL;
	size_t n = 0, nr = 0, r = 0;
	int ret;

	ret = registry_node_list(c->reg, &nodes, &n, &c->err);
	if (!ret)
		ret = registry_route_list(c->reg, &routes, &nr, &c->err);
	if (ret)
		goto out_free;
	c->result = cJSON_CreateArray();
	/* Both lists are ordered by node id: walk them together. */
	for (size_t i = 0; i < n; i++) {
		size_t first;

		while (r < nr && routes[r].node_id < nodes[i].id)
			r++;
		first = r;
		while (r < nr && routes[r].node_id == nodes[i].id)
			r++;
		/* No routes at all: routes is NULL, and NULL + 0 is undefined. */
		cJSON_AddItemToArray(c->result,
				     adminapi_node_json(c->reg, &nodes[i],
							routes ? routes + first : NULL, r - first));
	}
out_free:
	free(nodes);
	free(routes);
	return ret;
}

static int node_json_result(struct call *c, const char *ref)
{
	struct store_node node;
	struct store_route *routes = NULL;
	size_t nr = 0;
	int ret = registry_node_find(c->reg, ref, &node, &c->err);

	if (!ret)
		ret = registry_route_list(c->reg, &routes, &nr, &c->err);
	if (!ret)
		c->result = adminapi_node_json(c->reg, &node, routes, nr);
	free(routes);
	return ret;
}

static int nodes_delete(struct call *c)
{
	const char *ref = str_param(c, "node", true);

	return ref ? registry_node_delete(c->reg, ref, &c->err) : -EINVAL;
}

static int nodes_expire(struct call *c)
{
	const char *ref = str_param(c, "node", true);
	int ret = ref ? registry_node_expire(c->reg, ref, &c->err) : -EINVAL;

	return ret ? ret : node_json_result(c, ref);
}

static int nodes_rename(struct call *c)
{
	const char *ref = str_param(c, "node", true), *name = str_param(c, "name", true);
	int ret = ref && name ? registry_node_rename(c->reg, ref, name, &c->err) : -EINVAL;

	return ret ? ret : node_json_result(c, name);
}

static int nodes_register(struct call *c)
{
	const char *id = str_param(c, "id", true), *user = str_param(c, "user", true);
	struct store_node node;
	char idtext[24];
	int ret = id && user ? registry_approve(c->reg, id, user, &node, &c->err) : -EINVAL;

	if (ret)
		return ret;
	snprintf(idtext, sizeof(idtext), "%lld", (long long)node.id);
	return node_json_result(c, idtext);
}

static int routes_list(struct call *c)
{
	struct store_route *routes;
	size_t n;
	int ret = registry_route_list(c->reg, &routes, &n, &c->err);

	if (ret)
		return ret;
	c->result = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "node", routes[i].node_name);
		cJSON_AddNumberToObject(o, "node_id", (double)routes[i].node_id);
		cJSON_AddStringToObject(o, "prefix", routes[i].prefix);
		cJSON_AddBoolToObject(o, "advertised", routes[i].advertised);
		cJSON_AddBoolToObject(o, "approved", routes[i].approved);
		cJSON_AddItemToArray(c->result, o);
	}
	free(routes);
	return 0;
}

static int routes_change(struct call *c, bool approve)
{
	const char *ref = str_param(c, "node", true), **prefixes = NULL;
	size_t n = 0;
	int ret;

	if (!ref)
		return -EINVAL;
	ret = strings_param(c, "prefixes", &prefixes, &n);
	if (!ret)
		ret = registry_route_approve(c->reg, ref, prefixes, n, approve, &c->err);
	free(prefixes);
	return ret;
}

static int routes_approve(struct call *c)
{
	return routes_change(c, true);
}

static int routes_unapprove(struct call *c)
{
	return routes_change(c, false);
}

static int policy_get(struct call *c)
{
	int64_t updated;
	char *text;
	int ret = registry_policy_get(c->reg, &text, &updated, &c->err);

	if (ret)
		return ret;
	c->result = cJSON_CreateObject();
	cJSON_AddStringToObject(c->result, "policy", text);
	cJSON_AddItemToObject(c->result, "updated", time_json(updated));
	free(text);
	return 0;
}

static int policy_set(struct call *c)
{
	const char *text = str_param(c, "policy", true);

	return text ? registry_policy_set(c->reg, text, &c->err) : -EINVAL;
}

static int ping(struct call *c)
{
	c->result = cJSON_CreateObject();
	cJSON_AddNumberToObject(c->result, "time", (double)registry_now(c->reg));
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(struct call *c);
} methods[] = {
	{"ping", ping},
	{"users.create", users_create},
	{"users.list", users_list},
	{"users.delete", users_delete},
	{"authkeys.create", authkeys_create},
	{"authkeys.list", authkeys_list},
	{"authkeys.revoke", authkeys_revoke},
	{"nodes.list", nodes_list},
	{"nodes.delete", nodes_delete},
	{"nodes.expire", nodes_expire},
	{"nodes.rename", nodes_rename},
	{"nodes.register", nodes_register},
	{"routes.list", routes_list},
	{"routes.approve", routes_approve},
	{"routes.unapprove", routes_unapprove},
	{"policy.get", policy_get},
	{"policy.set", policy_set},
};

static const char *errno_code(int err)
{
	static const struct {
		int err;
		const char *code;
	} codes[] = {
		{ENOENT, "ENOENT"}, {EEXIST, "EEXIST"}, {EINVAL, "EINVAL"},
		{EBUSY, "EBUSY"},   {EACCES, "EACCES"}, {EPERM, "EPERM"},
		{ENOSPC, "ENOSPC"}, {ENOMEM, "ENOMEM"}, {ENOSYS, "ENOSYS"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (codes[i].err == err)
			return codes[i].code;
	return "EIO";
}

char *adminapi_handle(struct registry *reg, const char *line, size_t len)
{
	struct call c = {.reg = reg};
	const cJSON *method;
	cJSON *req, *resp;
	char *out;
	int ret = -ENOSYS;

	req = cJSON_ParseWithLength(line, len);
	method = cJSON_GetObjectItemCaseSensitive(req, "method");
	c.params = cJSON_GetObjectItemCaseSensitive(req, "params");
	if (!cJSON_IsObject(req) || !cJSON_IsString(method)) {
		ret = fail(&c, -EINVAL, "a request is a JSON object with a \"method\" string");
	} else if (c.params && !cJSON_IsObject(c.params)) {
		ret = fail(&c, -EINVAL, "\"params\" must be an object");
	} else {
		fail(&c, -ENOSYS, "unknown method \"%.64s\"", method->valuestring);
		for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
			if (!strcmp(methods[i].name, method->valuestring)) {
				c.err.msg[0] = '\0';
				ret = methods[i].fn(&c);
				break;
			}
		}
	}
	resp = cJSON_CreateObject();
	if (!resp)
		goto out_free;
	cJSON_AddBoolToObject(resp, "ok", ret == 0);
	if (ret) {
		cJSON_AddStringToObject(resp, "error",
					*c.err.msg ? c.err.msg : strerror(ret < 0 ? -ret : ret));
		cJSON_AddStringToObject(resp, "code", errno_code(-ret));
		cJSON_Delete(c.result);
	} else {
		cJSON_AddItemToObject(resp, "result", c.result ? c.result : cJSON_CreateNull());
	}
	c.result = NULL;
out_free:
	out = resp ? cJSON_PrintUnformatted(resp) : NULL;
	cJSON_Delete(resp);
	cJSON_Delete(c.result);
	cJSON_Delete(req);
	return out;
}
