// SPDX-License-Identifier: MIT
/*
 * sqlite backend, the rows: users, nodes, auth keys, routes, the policy and
 * the server's keys, and the operations table. Keys are stored as lowercase
 * hex, tags as a JSON array, times as unix seconds.
 */
#include "server/store_sqlite_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/compiler.h"
#include "util/encoding.h"
#include "util/log.h"

static void copy_text(char *dst, size_t len, sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static int bind_text(sqlite3_stmt *stmt, int i, const char *text)
{
	return sqlite3_bind_text(stmt, i, text, -1, SQLITE_TRANSIENT);
}

/* Bind an empty string as NULL: UNIQUE ignores NULLs, so "no address" never collides. */
static int bind_text_or_null(sqlite3_stmt *stmt, int i, const char *text)
{
	return *text ? bind_text(stmt, i, text) : sqlite3_bind_null(stmt, i);
}

static int bind_id_or_null(sqlite3_stmt *stmt, int i, int64_t id)
{
	return id ? sqlite3_bind_int64(stmt, i, id) : sqlite3_bind_null(stmt, i);
}

static int bind_key(sqlite3_stmt *stmt, int i, const uint8_t key[STORE_KEY_LEN])
{
	char hex[ENC_KEY_HEX_LEN + 1];

	enc_key_to_hex(hex, key);
	return bind_text(stmt, i, hex);
}

/* "tag:a,tag:b" → ["tag:a","tag:b"] */
static int bind_tags(sqlite3_stmt *stmt, int i, const char *tags)
{
	cJSON *arr = cJSON_CreateArray();
	const char *p = tags;
	char *json;
	int rc;

	if (!arr)
		return SQLITE_NOMEM;
	while (*p) {
		size_t len = strcspn(p, ",");
		char one[STORE_TAGS_MAX];

		snprintf(one, sizeof(one), "%.*s", (int)len, p);
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(one))) {
			cJSON_Delete(arr);
			return SQLITE_NOMEM;
		}
		p += len + (p[len] == ',');
	}
	json = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	if (!json)
		return SQLITE_NOMEM;
	rc = sqlite3_bind_text(stmt, i, json, -1, SQLITE_TRANSIENT);
	free(json);
	return rc;
}

static int column_tags(char *dst, size_t len, sqlite3_stmt *stmt, int col)
{
	const char *text = (const char *)sqlite3_column_text(stmt, col);
	cJSON *arr = text ? cJSON_Parse(text) : NULL, *e;
	size_t o = 0;

	dst[0] = '\0';
	if (!cJSON_IsArray(arr)) {
		cJSON_Delete(arr);
		return -EIO;
	}
	for (e = arr->child; e; e = e->next) {
		int n;

		if (!cJSON_IsString(e)) {
			cJSON_Delete(arr);
			return -EIO;
		}
		n = snprintf(dst + o, len - o, "%s%s", o ? "," : "", e->valuestring);
		if (n < 0 || (size_t)n >= len - o) {
			cJSON_Delete(arr);
			return -EIO;
		}
		o += (size_t)n;
	}
	cJSON_Delete(arr);
	return 0;
}

static int column_key(uint8_t key[STORE_KEY_LEN], sqlite3_stmt *stmt, int col)
{
	const char *hex = (const char *)sqlite3_column_text(stmt, col);

	return hex ? enc_key_from_hex(key, hex) : -EIO;
}

static int sqlite_user_insert(struct store *st, struct store_user *u)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_USER_INSERT, &stmt);

	if (ret)
		return ret;
	bind_text(stmt, 1, u->name);
	sqlite3_bind_int64(stmt, 2, u->created);
	ret = store_sqlite_run(s, stmt, "insert user");
	if (!ret)
		u->id = sqlite3_last_insert_rowid(s->db);
	return ret;
}

static void read_user(sqlite3_stmt *stmt, struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(stmt, 0);
	copy_text(u->name, sizeof(u->name), stmt, 1);
	u->created = sqlite3_column_int64(stmt, 2);
}

static int read_user_cb(sqlite3_stmt *stmt, void *dst)
{
	read_user(stmt, dst);
	return 0;
}

static int sqlite_user_get(struct store *st, int64_t id, const char *name, struct store_user *out)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, id ? S_USER_BY_ID : S_USER_BY_NAME, &stmt);

	if (ret)
		return ret;
	if (id)
		sqlite3_bind_int64(stmt, 1, id);
	else
		bind_text(stmt, 1, name);
	return store_sqlite_fetch_one(s, stmt, out, read_user_cb);
}

static int sqlite_user_list(struct store *st, struct store_user **out, size_t *n)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_USER_LIST, &stmt);

	if (ret)
		return ret;
	return store_sqlite_collect(s, stmt, (void **)out, n, sizeof(**out), read_user_cb);
}

static int sqlite_user_delete(struct store *st, int64_t id)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_USER_DELETE, &stmt);

	if (ret)
		return ret;
	sqlite3_bind_int64(stmt, 1, id);
	ret = store_sqlite_run(s, stmt, "delete user");
	/* The foreign key from nodes says "still owns nodes" here, not "no such row". */
	if (ret == -ENOENT)
		return -EBUSY;
	if (!ret && !sqlite3_changes(s->db))
		return -ENOENT;
	return ret;
}

/* Bind every column of @n; sqlite bind errors (only ENOMEM-like) make the result nonzero. */
static int bind_node(sqlite3_stmt *stmt, const struct store_node *n)
{
	int rc = 0;

	rc |= bind_key(stmt, 1, n->machine_key);
	rc |= bind_key(stmt, 2, n->node_key);
	rc |= bind_key(stmt, 3, n->disco_key);
	rc |= bind_text(stmt, 4, n->hostname);
	rc |= bind_text(stmt, 5, n->name);
	rc |= bind_text(stmt, 6, n->os);
	rc |= bind_text_or_null(stmt, 7, n->ipv4);
	rc |= bind_text_or_null(stmt, 8, n->ipv6);
	rc |= bind_id_or_null(stmt, 9, n->user_id);
	rc |= bind_tags(stmt, 10, n->tags);
	rc |= bind_id_or_null(stmt, 11, n->authkey_id);
	rc |= sqlite3_bind_int(stmt, 12, n->ephemeral);
	rc |= sqlite3_bind_int64(stmt, 13, n->expiry);
	rc |= sqlite3_bind_int64(stmt, 14, n->last_seen);
	rc |= bind_text(stmt, 15, *n->endpoints ? n->endpoints : "[]");
	rc |= sqlite3_bind_int64(stmt, 16, n->created);
	return rc;
}

static int read_node(sqlite3_stmt *stmt, void *dst)
{
	struct store_node *n = dst;
	int ret;

	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(stmt, 0);
	ret = column_key(n->machine_key, stmt, 1) || column_key(n->node_key, stmt, 2) ||
	      column_key(n->disco_key, stmt, 3);
	copy_text(n->hostname, sizeof(n->hostname), stmt, 4);
	copy_text(n->name, sizeof(n->name), stmt, 5);
	copy_text(n->os, sizeof(n->os), stmt, 6);
	copy_text(n->ipv4, sizeof(n->ipv4), stmt, 7);
	copy_text(n->ipv6, sizeof(n->ipv6), stmt, 8);
	n->user_id = sqlite3_column_int64(stmt, 9);
	copy_text(n->user_name, sizeof(n->user_name), stmt, 10);
	ret = ret || column_tags(n->tags, sizeof(n->tags), stmt, 11);
	n->authkey_id = sqlite3_column_int64(stmt, 12);
	n->ephemeral = sqlite3_column_int(stmt, 13);
	n->expiry = sqlite3_column_int64(stmt, 14);
	n->last_seen = sqlite3_column_int64(stmt, 15);
	copy_text(n->endpoints, sizeof(n->endpoints), stmt, 16);
	n->created = sqlite3_column_int64(stmt, 17);
	if (!ret)
		return 0;
	log_error("store", "node %lld has a malformed row", (long long)n->id);
	return -EIO;
}

static int check_node(const struct store_node *n)
{
	/* Fixed-size fields are NUL-terminated by construction; text must fit the reads. */
	if (strnlen(n->endpoints, sizeof(n->endpoints)) == sizeof(n->endpoints) ||
	    strnlen(n->tags, sizeof(n->tags)) == sizeof(n->tags))
		return -E2BIG;
	return 0;
}

static int sqlite_node_insert(struct store *st, struct store_node *n)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = check_node(n), rc;

	if (!ret)
		ret = store_sqlite_prepare(s, S_NODE_INSERT, &stmt);
	if (ret)
		return ret;
	rc = bind_node(stmt, n);
	if (rc) {
		store_sqlite_finish(stmt);
		return -ENOMEM;
	}
	ret = store_sqlite_run(s, stmt, "insert node");
	if (!ret)
		n->id = sqlite3_last_insert_rowid(s->db);
	return ret;
}

static int sqlite_node_update(struct store *st, const struct store_node *n)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = check_node(n), rc;

	if (!ret)
		ret = store_sqlite_prepare(s, S_NODE_UPDATE, &stmt);
	if (ret)
		return ret;
	rc = bind_node(stmt, n);
	rc |= sqlite3_bind_int64(stmt, 17, n->id);
	if (rc) {
		store_sqlite_finish(stmt);
		return -ENOMEM;
	}
	ret = store_sqlite_run(s, stmt, "update node");
	if (!ret && !sqlite3_changes(s->db))
		return -ENOENT;
	return ret;
}

static int sqlite_node_get(struct store *st, enum store_node_by by, int64_t id, const void *key,
			   struct store_node *out)
{
	static const enum stmt by_stmt[] = {
		[STORE_NODE_BY_ID] = S_NODE_BY_ID,
		[STORE_NODE_BY_MACHINE_KEY] = S_NODE_BY_MACHINE_KEY,
		[STORE_NODE_BY_NODE_KEY] = S_NODE_BY_NODE_KEY,
		[STORE_NODE_BY_NAME] = S_NODE_BY_NAME,
	};
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret;

	if ((unsigned int)by >= ARRAY_SIZE(by_stmt))
		return -EINVAL;
	ret = store_sqlite_prepare(s, by_stmt[by], &stmt);
	if (ret)
		return ret;
	if (by == STORE_NODE_BY_ID)
		sqlite3_bind_int64(stmt, 1, id);
	else if (by == STORE_NODE_BY_NAME)
		bind_text(stmt, 1, key);
	else
		bind_key(stmt, 1, key);
	return store_sqlite_fetch_one(s, stmt, out, read_node);
}

static int sqlite_node_list(struct store *st, struct store_node **out, size_t *n)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_NODE_LIST, &stmt);

	if (ret)
		return ret;
	return store_sqlite_collect(s, stmt, (void **)out, n, sizeof(**out), read_node);
}

static int sqlite_node_delete(struct store *st, int64_t id)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_NODE_DELETE, &stmt);

	if (ret)
		return ret;
	sqlite3_bind_int64(stmt, 1, id);
	ret = store_sqlite_run(s, stmt, "delete node");
	if (!ret && !sqlite3_changes(s->db))
		return -ENOENT;
	return ret;
}

static int sqlite_node_count_for_user(struct store *st, int64_t user_id, size_t *n)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_NODE_COUNT_USER, &stmt), rc;

	if (ret)
		return ret;
	sqlite3_bind_int64(stmt, 1, user_id);
	rc = sqlite3_step(stmt);
	*n = rc == SQLITE_ROW ? (size_t)sqlite3_column_int64(stmt, 0) : 0;
	store_sqlite_finish(stmt);
	return rc == SQLITE_ROW ? 0 : store_sqlite_err(s, rc, "count nodes");
}

static int read_authkey(sqlite3_stmt *stmt, void *dst)
{
	struct store_authkey *k = dst;
	const void *hash;
	int ret;

	memset(k, 0, sizeof(*k));
	k->id = sqlite3_column_int64(stmt, 0);
	copy_text(k->prefix, sizeof(k->prefix), stmt, 1);
	hash = sqlite3_column_blob(stmt, 2);
	if (!hash || sqlite3_column_bytes(stmt, 2) != STORE_HASH_LEN)
		return -EIO;
	memcpy(k->hash, hash, STORE_HASH_LEN);
	k->user_id = sqlite3_column_int64(stmt, 3);
	copy_text(k->user_name, sizeof(k->user_name), stmt, 4);
	k->reusable = sqlite3_column_int(stmt, 5);
	k->ephemeral = sqlite3_column_int(stmt, 6);
	ret = column_tags(k->tags, sizeof(k->tags), stmt, 7);
	k->expiry = sqlite3_column_int64(stmt, 8);
	k->used = sqlite3_column_int64(stmt, 9);
	k->revoked = sqlite3_column_int64(stmt, 10);
	k->created = sqlite3_column_int64(stmt, 11);
	return ret;
}

static int sqlite_authkey_insert(struct store *st, struct store_authkey *k)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_KEY_INSERT, &stmt), rc;

	if (ret)
		return ret;
	rc = bind_text(stmt, 1, k->prefix);
	rc |= sqlite3_bind_blob(stmt, 2, k->hash, STORE_HASH_LEN, SQLITE_TRANSIENT);
	rc |= sqlite3_bind_int64(stmt, 3, k->user_id);
	rc |= sqlite3_bind_int(stmt, 4, k->reusable);
	rc |= sqlite3_bind_int(stmt, 5, k->ephemeral);
	rc |= bind_tags(stmt, 6, k->tags);
	rc |= sqlite3_bind_int64(stmt, 7, k->expiry);
	rc |= sqlite3_bind_int64(stmt, 8, k->used);
	rc |= sqlite3_bind_int64(stmt, 9, k->revoked);
	rc |= sqlite3_bind_int64(stmt, 10, k->created);
	if (rc) {
		store_sqlite_finish(stmt);
		return -ENOMEM;
	}
	ret = store_sqlite_run(s, stmt, "insert auth key");
	if (!ret)
		k->id = sqlite3_last_insert_rowid(s->db);
	return ret;
}

static int sqlite_authkey_get(struct store *st, int64_t id, const char *prefix,
			      struct store_authkey *out)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, id ? S_KEY_BY_ID : S_KEY_BY_PREFIX, &stmt);

	if (ret)
		return ret;
	if (id)
		sqlite3_bind_int64(stmt, 1, id);
	else
		bind_text(stmt, 1, prefix);
	return store_sqlite_fetch_one(s, stmt, out, read_authkey);
}

static int sqlite_authkey_list(struct store *st, struct store_authkey **out, size_t *n)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_KEY_LIST, &stmt);

	if (ret)
		return ret;
	return store_sqlite_collect(s, stmt, (void **)out, n, sizeof(**out), read_authkey);
}

static int sqlite_authkey_update(struct store *st, const struct store_authkey *k)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_KEY_UPDATE, &stmt);

	if (ret)
		return ret;
	sqlite3_bind_int64(stmt, 1, k->used);
	sqlite3_bind_int64(stmt, 2, k->revoked);
	sqlite3_bind_int64(stmt, 3, k->expiry);
	sqlite3_bind_int64(stmt, 4, k->id);
	ret = store_sqlite_run(s, stmt, "update auth key");
	if (!ret && !sqlite3_changes(s->db))
		return -ENOENT;
	return ret;
}

static int read_route(sqlite3_stmt *stmt, void *dst)
{
	struct store_route *r = dst;

	memset(r, 0, sizeof(*r));
	r->node_id = sqlite3_column_int64(stmt, 0);
	copy_text(r->node_name, sizeof(r->node_name), stmt, 1);
	copy_text(r->prefix, sizeof(r->prefix), stmt, 2);
	r->advertised = sqlite3_column_int(stmt, 3);
	r->approved = sqlite3_column_int(stmt, 4);
	return 0;
}

static int sqlite_route_list(struct store *st, int64_t node_id, struct store_route **out, size_t *n)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, node_id ? S_ROUTE_LIST_NODE : S_ROUTE_LIST, &stmt);

	if (ret)
		return ret;
	if (node_id)
		sqlite3_bind_int64(stmt, 1, node_id);
	return store_sqlite_collect(s, stmt, (void **)out, n, sizeof(**out), read_route);
}

static int sqlite_route_put(struct store *st, const struct store_route *r)
{
	struct sqlite_store *s = store_sqlite_from(st);
	bool keep = r->advertised || r->approved;
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, keep ? S_ROUTE_UPSERT : S_ROUTE_DELETE, &stmt);

	if (ret)
		return ret;
	sqlite3_bind_int64(stmt, 1, r->node_id);
	bind_text(stmt, 2, r->prefix);
	if (keep) {
		sqlite3_bind_int(stmt, 3, r->advertised);
		sqlite3_bind_int(stmt, 4, r->approved);
	}
	return store_sqlite_run(s, stmt, "store route");
}

static int sqlite_policy_get(struct store *st, char **text, int64_t *updated)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_POLICY_GET, &stmt), rc;

	if (ret)
		return ret;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(stmt, 0);

		*text = strdup(t ? t : "");
		*updated = sqlite3_column_int64(stmt, 1);
		ret = *text ? 0 : -ENOMEM;
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : store_sqlite_err(s, rc, "get policy");
	}
	store_sqlite_finish(stmt);
	return ret;
}

static int sqlite_policy_set(struct store *st, const char *text, int64_t updated)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_POLICY_SET, &stmt);

	if (ret)
		return ret;
	bind_text(stmt, 1, text);
	sqlite3_bind_int64(stmt, 2, updated);
	return store_sqlite_run(s, stmt, "set policy");
}

static int sqlite_server_key_get(struct store *st, const char *name, uint8_t pub[STORE_KEY_LEN],
				 uint8_t priv[STORE_KEY_LEN])
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_SKEY_GET, &stmt), rc;

	if (ret)
		return ret;
	bind_text(stmt, 1, name);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(stmt, 0) == STORE_KEY_LEN &&
	    sqlite3_column_bytes(stmt, 1) == STORE_KEY_LEN) {
		memcpy(pub, sqlite3_column_blob(stmt, 0), STORE_KEY_LEN);
		memcpy(priv, sqlite3_column_blob(stmt, 1), STORE_KEY_LEN);
		ret = 0;
	} else if (rc == SQLITE_ROW) {
		log_error("store", "server key %s is malformed", name);
		ret = -EIO;
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : store_sqlite_err(s, rc, "get server key");
	}
	store_sqlite_finish(stmt);
	return ret;
}

static int sqlite_server_key_put(struct store *st, const char *name,
				 const uint8_t pub[STORE_KEY_LEN],
				 const uint8_t priv[STORE_KEY_LEN], int64_t created)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_SKEY_PUT, &stmt);

	if (ret)
		return ret;
	bind_text(stmt, 1, name);
	sqlite3_bind_blob(stmt, 2, pub, STORE_KEY_LEN, SQLITE_TRANSIENT);
	/* SQLITE_STATIC: no heap copy of the private key; @priv outlives the step. */
	sqlite3_bind_blob(stmt, 3, priv, STORE_KEY_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, created);
	return store_sqlite_run(s, stmt, "put server key");
}

const struct store_ops store_sqlite_ops = {
	.close = store_sqlite_close,
	.begin = store_sqlite_begin,
	.commit = store_sqlite_commit,
	.rollback = store_sqlite_rollback,
	.schema_version = store_sqlite_schema_version,
	.user_insert = sqlite_user_insert,
	.user_get = sqlite_user_get,
	.user_list = sqlite_user_list,
	.user_delete = sqlite_user_delete,
	.node_insert = sqlite_node_insert,
	.node_update = sqlite_node_update,
	.node_get = sqlite_node_get,
	.node_list = sqlite_node_list,
	.node_delete = sqlite_node_delete,
	.node_count_for_user = sqlite_node_count_for_user,
	.authkey_insert = sqlite_authkey_insert,
	.authkey_get = sqlite_authkey_get,
	.authkey_list = sqlite_authkey_list,
	.authkey_update = sqlite_authkey_update,
	.route_list = sqlite_route_list,
	.route_put = sqlite_route_put,
	.policy_get = sqlite_policy_get,
	.policy_set = sqlite_policy_set,
	.server_key_get = sqlite_server_key_get,
	.server_key_put = sqlite_server_key_put,
};
