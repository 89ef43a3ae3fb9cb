// SPDX-License-Identifier: MIT
/*
 * sqlite3 backend of the store: the schema and its migrations, the statement
 * cache, transactions, opening and closing (the rows are in store_sqlite_rows.c).
 *
 * Statements are prepared on first use and kept (SQLITE_PREPARE_PERSISTENT);
 * every use resets them, so a statement never holds a read transaction open
 * between calls. Transactions are BEGIN IMMEDIATE: a writer takes the write
 * lock up front and waits (busy_timeout) instead of failing half-way on an
 * upgrade from a read lock. Nested store_begin() calls become savepoints.
 *
 * Migrations only ever append: a released step is never edited, a new one is
 * added below it. Each runs in its own transaction together with its row in
 * schema_version, so a crash leaves the database at a step boundary.
 */
#include "server/store_sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/compiler.h"
#include "util/log.h"

static const char *const migrations[] = {
	/* 1: users, nodes, auth keys, the server's keys */
	"CREATE TABLE users ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE auth_keys ("
	" id INTEGER PRIMARY KEY,"
	" prefix TEXT NOT NULL UNIQUE,"
	" hash BLOB NOT NULL,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" reusable INTEGER NOT NULL DEFAULT 0,"
	" ephemeral INTEGER NOT NULL DEFAULT 0,"
	" tags TEXT NOT NULL DEFAULT '[]',"
	" expiry INTEGER NOT NULL,"
	" used INTEGER NOT NULL DEFAULT 0,"
	" revoked INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE nodes ("
	" id INTEGER PRIMARY KEY,"
	" machine_key TEXT NOT NULL UNIQUE,"
	" node_key TEXT NOT NULL UNIQUE,"
	" disco_key TEXT NOT NULL,"
	" hostname TEXT NOT NULL,"
	" name TEXT NOT NULL UNIQUE,"
	" ipv4 TEXT UNIQUE,"
	" ipv6 TEXT UNIQUE,"
	" user_id INTEGER REFERENCES users(id) ON DELETE RESTRICT,"
	" tags TEXT NOT NULL DEFAULT '[]',"
	" authkey_id INTEGER REFERENCES auth_keys(id) ON DELETE SET NULL,"
	" ephemeral INTEGER NOT NULL DEFAULT 0,"
	" expiry INTEGER NOT NULL DEFAULT 0,"
	" last_seen INTEGER NOT NULL DEFAULT 0,"
	" endpoints TEXT NOT NULL DEFAULT '[]',"
	" created INTEGER NOT NULL,"
	" CHECK (user_id IS NOT NULL OR tags != '[]'));"
	"CREATE TABLE server_keys ("
	" name TEXT PRIMARY KEY,"
	" public BLOB NOT NULL,"
	" private BLOB NOT NULL,"
	" created INTEGER NOT NULL);",
	/* 2: subnet routes, the policy, the OS nodes report, lookup indexes */
	"ALTER TABLE nodes ADD COLUMN os TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE routes ("
	" node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	" prefix TEXT NOT NULL,"
	" advertised INTEGER NOT NULL DEFAULT 0,"
	" approved INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (node_id, prefix));"
	"CREATE TABLE policy ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" text TEXT NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE INDEX nodes_user ON nodes(user_id);"
	"CREATE INDEX nodes_authkey ON nodes(authkey_id);"
	"CREATE INDEX auth_keys_user ON auth_keys(user_id);",
};

#define NODE_COLS                                                                          \
	"SELECT n.id, n.machine_key, n.node_key, n.disco_key, n.hostname, n.name, n.os,"   \
	" n.ipv4, n.ipv6, n.user_id, u.name, n.tags, n.authkey_id, n.ephemeral, n.expiry," \
	" n.last_seen, n.endpoints, n.created FROM nodes n LEFT JOIN users u ON u.id = n.user_id"
#define KEY_COLS                                                                             \
	"SELECT k.id, k.prefix, k.hash, k.user_id, u.name, k.reusable, k.ephemeral, k.tags," \
	" k.expiry, k.used, k.revoked, k.created FROM auth_keys k JOIN users u ON u.id = "   \
	"k.user_id"
#define ROUTE_COLS                                                                        \
	"SELECT r.node_id, n.name, r.prefix, r.advertised, r.approved FROM routes r JOIN" \
	" nodes n ON n.id = r.node_id"
#define NODE_FIELDS                                                                           \
	"machine_key = ?1, node_key = ?2, disco_key = ?3, hostname = ?4, name = ?5, os = ?6," \
	" ipv4 = ?7, ipv6 = ?8, user_id = ?9, tags = ?10, authkey_id = ?11, ephemeral = ?12," \
	" expiry = ?13, last_seen = ?14, endpoints = ?15, created = ?16"

static const char *const stmt_sql[S_COUNT] = {
	[S_VERSION] = "SELECT COALESCE(MAX(version), 0) FROM schema_version",
	[S_USER_INSERT] = "INSERT INTO users (name, created) VALUES (?1, ?2)",
	[S_USER_BY_ID] = "SELECT id, name, created FROM users WHERE id = ?1",
	[S_USER_BY_NAME] = "SELECT id, name, created FROM users WHERE name = ?1",
	[S_USER_LIST] = "SELECT id, name, created FROM users ORDER BY id",
	[S_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
	[S_NODE_INSERT] = "INSERT INTO nodes (machine_key, node_key, disco_key, hostname, name,"
			  " os, ipv4, ipv6, user_id, tags, authkey_id, ephemeral, expiry,"
			  " last_seen, endpoints, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
			  " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
	[S_NODE_UPDATE] = "UPDATE nodes SET " NODE_FIELDS " WHERE id = ?17",
	[S_NODE_BY_ID] = NODE_COLS " WHERE n.id = ?1",
	[S_NODE_BY_MACHINE_KEY] = NODE_COLS " WHERE n.machine_key = ?1",
	[S_NODE_BY_NODE_KEY] = NODE_COLS " WHERE n.node_key = ?1",
	[S_NODE_BY_NAME] = NODE_COLS " WHERE n.name = ?1",
	[S_NODE_LIST] = NODE_COLS " ORDER BY n.id",
	[S_NODE_DELETE] = "DELETE FROM nodes WHERE id = ?1",
	[S_NODE_COUNT_USER] = "SELECT count(*) FROM nodes WHERE user_id = ?1",
	[S_KEY_INSERT] = "INSERT INTO auth_keys (prefix, hash, user_id, reusable, ephemeral, tags,"
			 " expiry, used, revoked, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
			 " ?8, ?9, ?10)",
	[S_KEY_BY_ID] = KEY_COLS " WHERE k.id = ?1",
	[S_KEY_BY_PREFIX] = KEY_COLS " WHERE k.prefix = ?1",
	[S_KEY_LIST] = KEY_COLS " ORDER BY k.id",
	[S_KEY_UPDATE] = "UPDATE auth_keys SET used = ?1, revoked = ?2, expiry = ?3 WHERE id = ?4",
	[S_ROUTE_LIST] = ROUTE_COLS " ORDER BY r.node_id, r.prefix",
	[S_ROUTE_LIST_NODE] = ROUTE_COLS " WHERE r.node_id = ?1 ORDER BY r.prefix",
	[S_ROUTE_UPSERT] = "INSERT INTO routes (node_id, prefix, advertised, approved)"
			   " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (node_id, prefix) DO UPDATE"
			   " SET advertised = excluded.advertised, approved = excluded.approved",
	[S_ROUTE_DELETE] = "DELETE FROM routes WHERE node_id = ?1 AND prefix = ?2",
	[S_POLICY_GET] = "SELECT text, updated FROM policy WHERE id = 1",
	[S_POLICY_SET] = "INSERT INTO policy (id, text, updated) VALUES (1, ?1, ?2)"
			 " ON CONFLICT (id) DO UPDATE SET text = excluded.text,"
			 " updated = excluded.updated",
	[S_SKEY_GET] = "SELECT public, private FROM server_keys WHERE name = ?1",
	[S_SKEY_PUT] = ("INSERT INTO server_keys (name, public, private, created)"
			" VALUES (?1, ?2, ?3, ?4)"),
};

struct sqlite_store *store_sqlite_from(struct store *st)
{
	return container_of(st, struct sqlite_store, base);
}

/* Translate a sqlite result code; unexpected ones are logged here, once. */
int store_sqlite_err(struct sqlite_store *s, int rc, const char *what)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return -ENOENT;
	case SQLITE_CONSTRAINT_TRIGGER:
		return -EBUSY; /* ON DELETE RESTRICT: the row is still referenced */
	default:
		break;
	}
	switch (rc & 0xff) {
	case SQLITE_CONSTRAINT:
		log_error("store", "%s: %s", what, sqlite3_errmsg(s->db));
		return -EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	default:
		log_error("store", "%s: %s (sqlite code %d)", what, sqlite3_errmsg(s->db), rc);
		return -EIO;
	}
}

int store_sqlite_prepare(struct sqlite_store *s, enum stmt id, sqlite3_stmt **out)
{
	int rc;

	if (!s->stmts[id]) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					&s->stmts[id], NULL);
		if (rc != SQLITE_OK)
			return store_sqlite_err(s, rc, "prepare");
	}
	*out = s->stmts[id];
	return 0;
}

/* Reset @stmt for its next use; bindings go too, so no stale value is ever reused. */
void store_sqlite_finish(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* Run a statement that returns no rows. */
int store_sqlite_run(struct sqlite_store *s, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	store_sqlite_finish(stmt);
	return rc == SQLITE_DONE ? 0 : store_sqlite_err(s, rc, what);
}

static int exec(struct sqlite_store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_sqlite_err(s, rc, sql);
}

/* Step through the rows of @stmt, growing *@out (elements of @size) with @read. */
int store_sqlite_collect(struct sqlite_store *s, sqlite3_stmt *stmt, void **out, size_t *n,
			 size_t size, int (*read)(sqlite3_stmt *, void *))
{
	size_t cap = 0, len = 0;
	char *arr = NULL, *bigger;
	int rc, ret = 0;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			bigger = realloc(arr, cap * size);
			if (!bigger) {
				ret = -ENOMEM;
				break;
			}
			arr = bigger;
		}
		ret = read(stmt, arr + len * size);
		if (ret)
			break;
		len++;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store_sqlite_err(s, rc, "list");
	store_sqlite_finish(stmt);
	if (ret) {
		free(arr);
		return ret;
	}
	*out = arr;
	*n = len;
	return 0;
}

/* Fetch the single row of @stmt with @read; -ENOENT when there is none. */
int store_sqlite_fetch_one(struct sqlite_store *s, sqlite3_stmt *stmt, void *out,
			   int (*read)(sqlite3_stmt *, void *))
{
	int rc = sqlite3_step(stmt), ret;

	if (rc == SQLITE_ROW)
		ret = read(stmt, out);
	else
		ret = rc == SQLITE_DONE ? -ENOENT : store_sqlite_err(s, rc, "get");
	store_sqlite_finish(stmt);
	return ret;
}

int store_sqlite_begin(struct store *st)
{
	struct sqlite_store *s = store_sqlite_from(st);
	char sql[48];
	int ret;

	if (s->depth)
		snprintf(sql, sizeof(sql), "SAVEPOINT s%d", s->depth);
	ret = exec(s, s->depth ? sql : "BEGIN IMMEDIATE");
	if (!ret)
		s->depth++;
	return ret;
}

int store_sqlite_commit(struct store *st)
{
	struct sqlite_store *s = store_sqlite_from(st);
	char sql[48];
	int ret;

	if (!s->depth)
		return -EINVAL;
	if (s->depth > 1)
		snprintf(sql, sizeof(sql), "RELEASE s%d", s->depth - 1);
	ret = exec(s, s->depth > 1 ? sql : "COMMIT");
	if (!ret)
		s->depth--;
	return ret;
}

int store_sqlite_rollback(struct store *st)
{
	struct sqlite_store *s = store_sqlite_from(st);
	char sql[64];
	int ret;

	if (!s->depth)
		return -EINVAL;
	if (s->depth > 1)
		snprintf(sql, sizeof(sql), "ROLLBACK TO s%d; RELEASE s%d", s->depth - 1,
			 s->depth - 1);
	ret = exec(s, s->depth > 1 ? sql : "ROLLBACK");
	/* Even if it failed, sqlite ends a failed transaction itself; do not get stuck. */
	s->depth--;
	if (!s->depth && !sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
	return ret;
}

int store_sqlite_schema_version(struct store *st, int *version)
{
	struct sqlite_store *s = store_sqlite_from(st);
	sqlite3_stmt *stmt = NULL;
	int ret = store_sqlite_prepare(s, S_VERSION, &stmt), rc;

	if (ret)
		return ret;
	rc = sqlite3_step(stmt);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
	store_sqlite_finish(stmt);
	return rc == SQLITE_ROW ? 0 : store_sqlite_err(s, rc, "schema version");
}

void store_sqlite_close(struct store *st)
{
	struct sqlite_store *s = store_sqlite_from(st);

	for (size_t i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->stmts[i]);
	if (s->depth)
		log_warn("store", "closing with a transaction open; it is rolled back");
	sqlite3_close(s->db);
	free(s);
}

int store_sqlite_latest_version(void)
{
	return (int)ARRAY_SIZE(migrations);
}

static int migrate(struct sqlite_store *s, const char *path, int target)
{
	int version, ret;

	ret = exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
		      " version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)");
	if (ret)
		return ret;
	ret = store_sqlite_schema_version(&s->base, &version);
	if (ret)
		return ret;
	if (version > store_sqlite_latest_version()) {
		log_error("store",
			  "%s has schema version %d but this meshcontrol knows only up to %d: "
			  "upgrade meshcontrol (the database is left untouched)",
			  path, version, store_sqlite_latest_version());
		return -EPROTO;
	}
	while (version < target) {
		char sql[128];

		ret = store_sqlite_begin(&s->base);
		if (ret)
			return ret;
		snprintf(sql, sizeof(sql),
			 "INSERT INTO schema_version (version, applied) VALUES (%d,"
			 " CAST(strftime('%%s', 'now') AS INTEGER))",
			 version + 1);
		ret = exec(s, migrations[version]);
		if (!ret)
			ret = exec(s, sql);
		ret = store_end(&s->base, ret);
		if (ret) {
			log_error("store", "%s: migration to schema version %d failed", path,
				  version + 1);
			return ret;
		}
		version++;
		log_info("store", "migrated database to schema version %d path=%s", version, path);
	}
	return 0;
}

int store_sqlite_open(struct store **out, const char *path, const struct store_sqlite_options *opt)
{
	int timeout =
		opt && opt->busy_timeout_ms ? opt->busy_timeout_ms : STORE_SQLITE_BUSY_TIMEOUT_MS;
	int target = opt && opt->max_version ? opt->max_version : store_sqlite_latest_version();
	struct sqlite_store *s;
	int fd, rc, ret;

	*out = NULL;
	if (target > store_sqlite_latest_version())
		return -EINVAL;
	/* Create the file ourselves so it is 0600; the -wal and -shm files inherit it. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		log_error("store", "cannot open %s: %s", path, strerror(errno));
		return ret;
	}
	close(fd);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &store_sqlite_ops;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_error("store", "cannot open %s: %s", path,
			  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		ret = -EIO;
		goto out_close;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, timeout);
	/* WAL: readers never block the writer; NORMAL sync is crash-consistent in WAL mode. */
	ret = exec(s, "PRAGMA journal_mode = WAL");
	if (!ret)
		ret = exec(s, "PRAGMA synchronous = NORMAL");
	if (!ret)
		ret = exec(s, "PRAGMA foreign_keys = ON");
	if (ret)
		goto out_close;
	ret = migrate(s, path, target);
	if (ret)
		goto out_close;
	*out = &s->base;
	return 0;

out_close:
	store_sqlite_close(&s->base);
	return ret;
}
