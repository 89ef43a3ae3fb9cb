// SPDX-License-Identifier: MIT
/*
 * The registry's administrative half: users, auth keys, node housekeeping
 * (find, rename, expire, delete, online state, ephemeral clean-up), routes and
 * the policy text. Registration itself is in registration.c.
 *
 * Pattern of every change: validate, write in one store transaction, then
 * update memory (addresses, online set), then log one line and tell the
 * listeners. Nothing is announced that is not durable.
 */
#include "server/registry_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "server/names.h"
#include "server/validate.h"
#include "util/hujson.h"
#include "util/log.h"

int registry_fail(struct registry_error *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* A store error the caller has no better words for. */
static int store_fail(struct registry_error *err, int ret, const char *what)
{
	if (ret == -EBUSY)
		return registry_fail(err, ret, "%s: the database is busy; try again", what);
	return registry_fail(err, ret, "%s: %s", what, strerror(-ret));
}

void registry_format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
}

void registry_emit(struct registry *reg, enum registry_event_type type, int64_t node_id,
		   const struct store_node *node, const struct store_user *user,
		   const char *pending_id)
{
	struct registry_event ev = {
		.type = type,
		.node_id = node_id,
		.node = node,
		.user = user,
		.pending_id = pending_id,
	};
	struct registry_listener *l = reg->listeners, *next;

	/* Read next first: a listener may unlisten itself. */
	for (; l; l = next) {
		next = l->next;
		l->fn(l->arg, &ev);
	}
}

void registry_listen(struct registry *reg, struct registry_listener *l)
{
	struct registry_listener **p = &reg->listeners;

	while (*p)
		p = &(*p)->next;
	l->next = NULL;
	*p = l;
}

void registry_unlisten(struct registry *reg, struct registry_listener *l)
{
	for (struct registry_listener **p = &reg->listeners; *p; p = &(*p)->next) {
		if (*p == l) {
			*p = l->next;
			return;
		}
	}
}

int64_t registry_now(const struct registry *reg)
{
	return reg->now ? reg->now(reg->now_arg) : (int64_t)time(NULL);
}

const char *registry_base_domain(const struct registry *reg)
{
	return reg->base_domain;
}

static size_t idset_find(const struct idset *s, int64_t id)
{
	size_t mask = s->cap - 1, i = (size_t)((uint64_t)id * 0x9e3779b97f4a7c15ull) & mask;

	while (s->slots[i] && s->slots[i] != id)
		i = (i + 1) & mask;
	return i;
}

static bool idset_has(const struct idset *s, int64_t id)
{
	return s->cap && s->slots[idset_find(s, id)] == id;
}

static int idset_add(struct idset *s, int64_t id)
{
	size_t i;

	if (idset_has(s, id))
		return 0;
	if ((s->used + s->dead + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap : 64, old = s->cap;
		int64_t *slots = s->slots;

		if ((s->used + 1) * 4 > cap)
			cap *= 2;
		s->slots = calloc(cap, sizeof(*s->slots));
		if (!s->slots) {
			s->slots = slots;
			return -ENOMEM;
		}
		s->cap = cap;
		s->dead = 0;
		for (i = 0; i < old; i++)
			if (slots[i] > 0)
				s->slots[idset_find(s, slots[i])] = slots[i];
		free(slots);
	}
	/* Tombstones are not reused; the rebuild above clears them. */
	i = idset_find(s, id);
	s->slots[i] = id;
	s->used++;
	return 0;
}

static void idset_del(struct idset *s, int64_t id)
{
	size_t i;

	if (!idset_has(s, id))
		return;
	i = idset_find(s, id);
	s->slots[i] = -1;
	s->used--;
	s->dead++;
}

/* Reserve the addresses in use; keys that expired before this start count as announced. */
static int load_nodes(struct registry *reg)
{
	struct store_node *nodes = NULL;
	size_t n = 0;
	int ret;

	ret = store_node_list(reg->st, &nodes, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n && !ret; i++) {
		const char *text[2] = {nodes[i].ipv4, nodes[i].ipv6};

		if (registry_node_expired(reg, &nodes[i]))
			ret = idset_add(&reg->expired, nodes[i].id);
		for (int k = 0; k < 2; k++) {
			struct ip_addr a;

			if (!*text[k])
				continue;
			if (ip_addr_parse(&a, text[k], NULL) || ipalloc_reserve(reg->ips, &a)) {
				log_warn("registry", "node %lld has an unusable address %s",
					 (long long)nodes[i].id, text[k]);
				continue;
			}
		}
	}
	free(nodes);
	return ret;
}

int registry_create(struct registry **out, const struct registry_options *opt)
{
	struct registry *reg;
	int ret;

	*out = NULL;
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	reg->st = opt->store;
	reg->prefix_v4 = opt->prefix_v4;
	reg->prefix_v6 = opt->prefix_v6;
	reg->node_key_expiry = opt->node_key_expiry;
	reg->ephemeral_timeout = opt->ephemeral_timeout;
	reg->now = opt->now;
	reg->now_arg = opt->now_arg;
	reg->base_domain = strdup(opt->base_domain ? opt->base_domain : "mesh.internal");
	if (opt->policy_file)
		reg->policy_file = strdup(opt->policy_file);
	if (!reg->base_domain || (opt->policy_file && !reg->policy_file)) {
		ret = -ENOMEM;
		goto out_destroy;
	}
	ret = ipalloc_create(&reg->ips, &opt->prefix_v4, &opt->prefix_v6);
	if (ret)
		goto out_destroy;
	ret = load_nodes(reg);
	if (ret)
		goto out_destroy;
	*out = reg;
	return 0;

out_destroy:
	registry_destroy(reg);
	return ret;
}

void registry_destroy(struct registry *reg)
{
	if (!reg)
		return;
	registry_pending_clear(reg);
	ipalloc_destroy(reg->ips);
	free(reg->online.slots);
	free(reg->expired.slots);
	free(reg->base_domain);
	free(reg->policy_file);
	free(reg);
}

int registry_user_create(struct registry *reg, const char *name, struct store_user *out,
			 struct registry_error *err)
{
	struct store_user u = {0};
	const char *why;
	int ret;

	if (names_validate_user(name, &why))
		return registry_fail(err, -EINVAL, "invalid user name \"%s\": %s", name, why);
	snprintf(u.name, sizeof(u.name), "%s", name);
	u.created = registry_now(reg);
	ret = store_user_insert(reg->st, &u);
	if (ret == -EEXIST)
		return registry_fail(err, ret, "user %s already exists", name);
	if (ret)
		return store_fail(err, ret, "create user");
	log_info("registry", "user created id=%lld name=%s", (long long)u.id, u.name);
	registry_emit(reg, REGISTRY_USER_ADDED, 0, NULL, &u, NULL);
	if (out)
		*out = u;
	return 0;
}

int registry_user_delete(struct registry *reg, const char *name, struct registry_error *err)
{
	struct store_user u;
	size_t owned = 0;
	int ret;

	ret = store_user_get(reg->st, 0, name, &u);
	if (ret == -ENOENT)
		return registry_fail(err, ret, "no user named %s", name);
	if (ret)
		return store_fail(err, ret, "delete user");
	ret = store_node_count_for_user(reg->st, u.id, &owned);
	if (!ret && owned)
		ret = -EBUSY;
	else if (!ret)
		ret = store_user_delete(reg->st, u.id);
	if (ret == -EBUSY)
		return registry_fail(err, ret,
				     "user %s still owns %zu node%s: delete %s first "
				     "(meshcontrol nodes delete NODE)",
				     name, owned ? owned : 1, owned == 1 ? "" : "s",
				     owned == 1 ? "it" : "them");
	if (ret)
		return store_fail(err, ret, "delete user");
	log_info("registry", "user deleted id=%lld name=%s", (long long)u.id, u.name);
	registry_emit(reg, REGISTRY_USER_REMOVED, 0, NULL, &u, NULL);
	return 0;
}

int registry_user_list(struct registry *reg, struct store_user **out, size_t *n,
		       struct registry_error *err)
{
	int ret = store_user_list(reg->st, out, n);

	return ret ? store_fail(err, ret, "list users") : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Validate "tag:a,tag:b", and write it sorted and without duplicates into @out. */
static int normalize_tags(const char *in, char out[STORE_TAGS_MAX], struct registry_error *err)
{
	char buf[STORE_TAGS_MAX], *list[REGISTRY_MAX_TAGS], *save = NULL, *t;
	size_t n = 0, o = 0;
	const char *why;

	out[0] = '\0';
	if (!in || !*in)
		return 0;
	if (strlen(in) >= sizeof(buf))
		return registry_fail(err, -EINVAL, "too many tags");
	strcpy(buf, in);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (validate_tag(t, &why))
			return registry_fail(err, -EINVAL, "invalid tag \"%s\": %s", t, why);
		if (n == REGISTRY_MAX_TAGS)
			return registry_fail(err, -EINVAL, "more than %d tags", REGISTRY_MAX_TAGS);
		list[n++] = t;
	}
	qsort(list, n, sizeof(*list), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(list[i], list[i - 1]))
			continue;
		o += (size_t)snprintf(out + o, STORE_TAGS_MAX - o, "%s%s", o ? "," : "", list[i]);
	}
	return 0;
}

int registry_authkey_create(struct registry *reg, const struct registry_authkey_request *req,
			    char key[AUTHKEY_STR_LEN + 1], struct store_authkey *out,
			    struct registry_error *err)
{
	struct store_authkey k = {0};
	struct store_user u;
	char when[32];
	int ret;

	_Static_assert((int)AUTHKEY_PREFIX_LEN < (int)STORE_AUTHKEY_PREFIX_MAX,
		       "prefix fits the store");
	_Static_assert((int)AUTHKEY_HASH_LEN == (int)STORE_HASH_LEN, "hash fits the store");
	if (req->expiration <= 0)
		return registry_fail(err, -EINVAL, "an auth key needs an expiration after now");
	ret = store_user_get(reg->st, 0, req->user, &u);
	if (ret == -ENOENT)
		return registry_fail(err, ret, "no user named %s", req->user);
	if (ret)
		return store_fail(err, ret, "create auth key");
	ret = normalize_tags(req->tags, k.tags, err);
	if (ret)
		return ret;
	k.user_id = u.id;
	k.reusable = req->reusable;
	k.ephemeral = req->ephemeral;
	k.created = registry_now(reg);
	k.expiry = k.created + req->expiration;
	authkey_generate(key, k.prefix, k.hash);
	ret = store_authkey_insert(reg->st, &k);
	if (ret) {
		sodium_memzero(key, AUTHKEY_STR_LEN + 1);
		return store_fail(err, ret, "create auth key");
	}
	snprintf(k.user_name, sizeof(k.user_name), "%s", u.name);
	registry_format_time(k.expiry, when, sizeof(when));
	log_info("registry",
		 "auth key created id=%lld prefix=%s user=%s reusable=%d ephemeral=%d tags=%s "
		 "expires=%s",
		 (long long)k.id, k.prefix, u.name, k.reusable, k.ephemeral, *k.tags ? k.tags : "-",
		 when);
	if (out)
		*out = k;
	return 0;
}

int registry_authkey_list(struct registry *reg, struct store_authkey **out, size_t *n,
			  struct registry_error *err)
{
	int ret = store_authkey_list(reg->st, out, n);

	return ret ? store_fail(err, ret, "list auth keys") : 0;
}

int registry_authkey_revoke(struct registry *reg, const char *ref, struct registry_error *err)
{
	struct store_authkey k;
	char *end;
	long long id = strtoll(ref, &end, 10);
	int ret;

	if (*ref && !*end && id > 0)
		ret = store_authkey_get(reg->st, id, NULL, &k);
	else
		ret = store_authkey_get(reg->st, 0, ref, &k);
	if (ret == -ENOENT)
		return registry_fail(err, ret, "no auth key with id or prefix %s", ref);
	if (ret)
		return store_fail(err, ret, "revoke auth key");
	if (k.revoked)
		return 0;
	k.revoked = registry_now(reg);
	ret = store_authkey_update(reg->st, &k);
	if (ret)
		return store_fail(err, ret, "revoke auth key");
	log_info("registry", "auth key revoked id=%lld prefix=%s user=%s", (long long)k.id,
		 k.prefix, k.user_name);
	return 0;
}

int registry_node_find(struct registry *reg, const char *ref, struct store_node *out,
		       struct registry_error *err)
{
	size_t dl = strlen(reg->base_domain), rl = strlen(ref);
	char name[STORE_NAME_MAX], *end;
	long long id;
	int ret;

	ret = store_node_get(reg->st, STORE_NODE_BY_NAME, 0, ref, out);
	if (ret != -ENOENT)
		goto out;
	/* "laptop.mesh.internal" → "laptop"; a trailing dot is fine too. */
	if (rl && ref[rl - 1] == '.')
		rl--;
	if (rl > dl + 1 && ref[rl - dl - 1] == '.' &&
	    !strncmp(ref + rl - dl, reg->base_domain, dl) && rl - dl - 1 < sizeof(name)) {
		snprintf(name, sizeof(name), "%.*s", (int)(rl - dl - 1), ref);
		ret = store_node_get(reg->st, STORE_NODE_BY_NAME, 0, name, out);
		if (ret != -ENOENT)
			goto out;
	}
	id = strtoll(ref, &end, 10);
	if (*ref >= '0' && *ref <= '9' && !*end && id > 0)
		ret = store_node_get(reg->st, STORE_NODE_BY_ID, id, NULL, out);
out:
	if (ret == -ENOENT)
		return registry_fail(err, ret, "no node named %s (nor with that id)", ref);
	return ret ? store_fail(err, ret, "find node") : 0;
}

int registry_node_list(struct registry *reg, struct store_node **out, size_t *n,
		       struct registry_error *err)
{
	int ret = store_node_list(reg->st, out, n);

	return ret ? store_fail(err, ret, "list nodes") : 0;
}

static void release_addresses(struct registry *reg, const struct store_node *node)
{
	struct ip_addr a;

	if (*node->ipv4 && !ip_addr_parse(&a, node->ipv4, NULL))
		ipalloc_release(reg->ips, &a);
	if (*node->ipv6 && !ip_addr_parse(&a, node->ipv6, NULL))
		ipalloc_release(reg->ips, &a);
}

static int delete_node(struct registry *reg, struct store_node *node, const char *why,
		       struct registry_error *err)
{
	int ret = store_node_delete(reg->st, node->id);

	if (ret && ret != -ENOENT)
		return store_fail(err, ret, "delete node");
	release_addresses(reg, node);
	idset_del(&reg->online, node->id);
	idset_del(&reg->expired, node->id);
	log_info("registry", "node deleted id=%lld name=%s reason=%s", (long long)node->id,
		 node->name, why);
	registry_emit(reg, REGISTRY_NODE_REMOVED, node->id, NULL, NULL, NULL);
	return 0;
}

int registry_node_delete(struct registry *reg, const char *ref, struct registry_error *err)
{
	struct store_node node;
	int ret = registry_node_find(reg, ref, &node, err);

	return ret ? ret : delete_node(reg, &node, "admin", err);
}

int registry_node_expire(struct registry *reg, const char *ref, struct registry_error *err)
{
	struct store_node node;
	int ret = registry_node_find(reg, ref, &node, err);

	if (ret)
		return ret;
	node.expiry = registry_now(reg);
	ret = store_node_update(reg->st, &node);
	if (ret)
		return store_fail(err, ret, "expire node");
	idset_add(&reg->expired, node.id);
	log_info("registry", "node key expired id=%lld name=%s reason=admin", (long long)node.id,
		 node.name);
	registry_emit(reg, REGISTRY_NODE_EXPIRED, node.id, &node, NULL, NULL);
	return 0;
}

int registry_node_rename(struct registry *reg, const char *ref, const char *name,
			 struct registry_error *err)
{
	struct store_node node, other;
	char old[STORE_NAME_MAX];
	const char *why;
	int ret;

	if (names_validate_node(name, &why)) {
		char hint[NAMES_LABEL_MAX + 1];

		names_sanitize(hint, name);
		return registry_fail(err, -EINVAL, "invalid name \"%s\": %s (try \"%s\")", name,
				     why, hint);
	}
	ret = registry_node_find(reg, ref, &node, err);
	if (ret)
		return ret;
	if (!strcmp(node.name, name))
		return 0;
	ret = store_node_get(reg->st, STORE_NODE_BY_NAME, 0, name, &other);
	if (!ret)
		return registry_fail(err, -EEXIST, "the name %s is taken by node %lld", name,
				     (long long)other.id);
	snprintf(old, sizeof(old), "%s", node.name);
	snprintf(node.name, sizeof(node.name), "%s", name);
	ret = store_node_update(reg->st, &node);
	if (ret == -EEXIST)
		return registry_fail(err, ret, "the name %s is taken", name);
	if (ret)
		return store_fail(err, ret, "rename node");
	log_info("registry", "node renamed id=%lld from=%s to=%s", (long long)node.id, old, name);
	registry_emit(reg, REGISTRY_NODE_CHANGED, node.id, &node, NULL, NULL);
	return 0;
}

bool registry_node_expired(const struct registry *reg, const struct store_node *node)
{
	return node->expiry && node->expiry <= registry_now(reg);
}

bool registry_node_online(const struct registry *reg, int64_t node_id)
{
	return idset_has(&reg->online, node_id);
}

int registry_node_set_online(struct registry *reg, int64_t node_id, bool online)
{
	struct store_node node;
	int ret;

	if (registry_node_online(reg, node_id) == online)
		return 0;
	ret = store_node_get(reg->st, STORE_NODE_BY_ID, node_id, NULL, &node);
	if (ret)
		return ret;
	node.last_seen = registry_now(reg);
	ret = store_node_update(reg->st, &node);
	if (ret)
		return ret;
	if (online)
		ret = idset_add(&reg->online, node_id);
	else
		idset_del(&reg->online, node_id);
	if (ret)
		return ret;
	log_info("registry", "node %s id=%lld name=%s", online ? "online" : "offline",
		 (long long)node_id, node.name);
	registry_emit(reg, online ? REGISTRY_NODE_ONLINE : REGISTRY_NODE_OFFLINE, node_id, &node,
		      NULL, NULL);
	return 0;
}

int registry_route_list(struct registry *reg, struct store_route **out, size_t *n,
			struct registry_error *err)
{
	int ret = store_route_list(reg->st, 0, out, n);

	return ret ? store_fail(err, ret, "list routes") : 0;
}

int registry_route_approve(struct registry *reg, const char *ref, const char *const *prefixes,
			   size_t n, bool approve, struct registry_error *err)
{
	struct store_route *routes = NULL, r;
	struct store_node node;
	size_t nroutes = 0, i, j;
	int ret;

	ret = registry_node_find(reg, ref, &node, err);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		struct ip_prefix p;
		char canon[IP_PREFIX_STRLEN];
		const char *why;

		if (ip_prefix_parse(&p, prefixes[i], &why))
			return registry_fail(err, -EINVAL, "invalid prefix \"%s\": %s", prefixes[i],
					     why);
		if (!ip_prefix_is_canonical(&p)) {
			ip_prefix_mask(&p);
			return registry_fail(err, -EINVAL,
					     "%s has host bits set (did you mean %s?)", prefixes[i],
					     ip_prefix_format(&p, canon, sizeof(canon)));
		}
	}
	ret = store_begin(reg->st);
	if (ret)
		return store_fail(err, ret, "approve routes");
	ret = store_route_list(reg->st, node.id, &routes, &nroutes);
	for (i = 0; i < n && !ret; i++) {
		struct ip_prefix p;

		memset(&r, 0, sizeof(r));
		r.node_id = node.id;
		ip_prefix_parse(&p, prefixes[i], NULL);
		ip_prefix_format(&p, r.prefix, sizeof(r.prefix));
		for (j = 0; j < nroutes; j++)
			if (!strcmp(routes[j].prefix, r.prefix))
				r.advertised = routes[j].advertised;
		r.approved = approve;
		ret = store_route_put(reg->st, &r);
	}
	free(routes);
	ret = store_end(reg->st, ret);
	if (ret)
		return store_fail(err, ret, approve ? "approve routes" : "unapprove routes");
	for (i = 0; i < n; i++)
		log_info("registry", "route %s node=%s prefix=%s",
			 approve ? "approved" : "unapproved", node.name, prefixes[i]);
	registry_emit(reg, REGISTRY_ROUTES_CHANGED, node.id, &node, NULL, NULL);
	return 0;
}

static int read_policy_file(const char *path, char **text, int64_t *updated)
{
	struct stat st;
	size_t len = 0;
	char *buf;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) || st.st_size > HUJSON_MAX_INPUT) {
		fclose(f);
		return -E2BIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	buf[len] = '\0';
	*text = buf;
	*updated = st.st_mtime;
	return 0;
}

int registry_policy_get(struct registry *reg, char **text, int64_t *updated,
			struct registry_error *err)
{
	int ret;

	if (reg->policy_file) {
		ret = read_policy_file(reg->policy_file, text, updated);
		if (ret)
			return registry_fail(err, ret, "cannot read the policy file %s: %s",
					     reg->policy_file, strerror(-ret));
		return 0;
	}
	ret = store_policy_get(reg->st, text, updated);
	if (ret == -ENOENT)
		return registry_fail(err, ret,
				     "no policy is set: every node may reach every other");
	return ret ? store_fail(err, ret, "get policy") : 0;
}

int registry_policy_set(struct registry *reg, const char *text, struct registry_error *err)
{
	struct hujson_error herr;
	struct hujson_doc *doc;
	int ret;

	if (reg->policy_file)
		return registry_fail(err, -EPERM,
				     "the policy comes from %s (policy_file in the config): edit "
				     "that file instead",
				     reg->policy_file);
	ret = hujson_parse(&doc, text, strlen(text), 0, &herr);
	if (ret == -EINVAL || ret == -E2BIG)
		return registry_fail(err, -EINVAL, "policy:%u:%u: %s", herr.line, herr.col,
				     herr.msg);
	if (ret)
		return store_fail(err, ret, "set policy");
	hujson_free(doc);
	ret = store_policy_set(reg->st, text, registry_now(reg));
	if (ret)
		return store_fail(err, ret, "set policy");
	log_info("registry", "policy updated bytes=%zu", strlen(text));
	registry_emit(reg, REGISTRY_POLICY_CHANGED, 0, NULL, NULL, NULL);
	return 0;
}

void registry_tick(struct registry *reg)
{
	int64_t now = registry_now(reg);
	struct store_node *nodes = NULL;
	size_t n = 0;
	int ret;

	registry_pending_expire(reg, now);
	ret = store_node_list(reg->st, &nodes, &n);
	if (ret) {
		log_warn("registry", "periodic check skipped: %s", strerror(-ret));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct store_node *node = &nodes[i];
		int64_t seen = node->last_seen ? node->last_seen : node->created;

		if (node->ephemeral && !idset_has(&reg->online, node->id) &&
		    seen + reg->ephemeral_timeout <= now) {
			delete_node(reg, node, "ephemeral-offline", NULL);
			continue;
		}
		if (node->expiry && node->expiry <= now && !idset_has(&reg->expired, node->id) &&
		    !idset_add(&reg->expired, node->id)) {
			log_info("registry", "node key expired id=%lld name=%s",
				 (long long)node->id, node->name);
			registry_emit(reg, REGISTRY_NODE_EXPIRED, node->id, node, NULL, NULL);
		}
	}
	free(nodes);
}

void registry_note_registered(struct registry *reg, int64_t node_id)
{
	idset_del(&reg->expired, node_id);
}

int registry_note_expired(struct registry *reg, int64_t node_id)
{
	return idset_add(&reg->expired, node_id);
}
