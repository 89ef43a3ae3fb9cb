/* SPDX-License-Identifier: MIT */
/*
 * What the two halves of the sqlite backend share: the connection, the
 * statement ids, and the helpers around prepared statements. store_sqlite.c
 * owns the schema and transactions, store_sqlite_rows.c the rows.
 */
#ifndef MESH_SERVER_STORE_SQLITE_INTERNAL_H
#define MESH_SERVER_STORE_SQLITE_INTERNAL_H

#include <stddef.h>

#include <sqlite3.h>

#include "server/store_sqlite.h"

enum stmt {
	S_VERSION,
	S_USER_INSERT,
	S_USER_BY_ID,
	S_USER_BY_NAME,
	S_USER_LIST,
	S_USER_DELETE,
	S_NODE_INSERT,
	S_NODE_UPDATE,
	S_NODE_BY_ID,
	S_NODE_BY_MACHINE_KEY,
	S_NODE_BY_NODE_KEY,
	S_NODE_BY_NAME,
	S_NODE_LIST,
	S_NODE_DELETE,
	S_NODE_COUNT_USER,
	S_KEY_INSERT,
	S_KEY_BY_ID,
	S_KEY_BY_PREFIX,
	S_KEY_LIST,
	S_KEY_UPDATE,
	S_ROUTE_LIST,
	S_ROUTE_LIST_NODE,
	S_ROUTE_UPSERT,
	S_ROUTE_DELETE,
	S_POLICY_GET,
	S_POLICY_SET,
	S_SKEY_GET,
	S_SKEY_PUT,
	S_COUNT,
};

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	sqlite3_stmt *stmts[S_COUNT];
	int depth; /* transaction nesting: 1 = BEGIN, more = savepoints */
};

extern const struct store_ops store_sqlite_ops;

/** The backend behind @st. */
struct sqlite_store *store_sqlite_from(struct store *st);

/** Translate a sqlite result code into a negative errno; unexpected ones are logged. */
int store_sqlite_err(struct sqlite_store *s, int rc, const char *what);

/** The prepared statement @id, prepared on first use and kept. */
int store_sqlite_prepare(struct sqlite_store *s, enum stmt id, sqlite3_stmt **out);

/** Reset @stmt and clear its bindings for the next use. */
void store_sqlite_finish(sqlite3_stmt *stmt);

/** Step a statement that returns no rows, then finish it. */
int store_sqlite_run(struct sqlite_store *s, sqlite3_stmt *stmt, const char *what);

/** Read the single row of @stmt with @read; -ENOENT when there is none. */
int store_sqlite_fetch_one(struct sqlite_store *s, sqlite3_stmt *stmt, void *out,
			   int (*read)(sqlite3_stmt *, void *));

/** Read every row of @stmt with @read into a heap array of @size-byte elements. */
int store_sqlite_collect(struct sqlite_store *s, sqlite3_stmt *stmt, void **out, size_t *n,
			 size_t size, int (*read)(sqlite3_stmt *, void *));

/* Transactions and life cycle (store.h documents them). */
int store_sqlite_begin(struct store *st);
int store_sqlite_commit(struct store *st);
int store_sqlite_rollback(struct store *st);
int store_sqlite_schema_version(struct store *st, int *version);
void store_sqlite_close(struct store *st);

#endif
