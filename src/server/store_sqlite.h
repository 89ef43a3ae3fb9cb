/* SPDX-License-Identifier: MIT */
/*
 * The sqlite3 backend of the store: one connection, WAL journal, foreign keys
 * on, a busy timeout instead of immediate SQLITE_BUSY, statements prepared
 * once and kept, and numbered schema migrations applied at open.
 */
#ifndef MESH_SERVER_STORE_SQLITE_H
#define MESH_SERVER_STORE_SQLITE_H

#include "server/store.h"

enum store_sqlite_defaults {
	STORE_SQLITE_BUSY_TIMEOUT_MS = 5000,
};

struct store_sqlite_options {
	int busy_timeout_ms; /* 0: STORE_SQLITE_BUSY_TIMEOUT_MS */
	int max_version;     /* 0: migrate to the latest schema; tests stop early */
};

/**
 * Open (creating it, mode 0600, if missing) the database at @path and migrate it
 * to the latest schema (or @opt->max_version). @opt may be NULL. A database
 * whose schema is newer than this program knows is refused with -EPROTO, so an
 * old binary never writes into a newer layout. Returns 0 with *@out set, or a
 * negative errno (the reason is logged).
 */
int store_sqlite_open(struct store **out, const char *path, const struct store_sqlite_options *opt);

/** The schema version store_sqlite_open() migrates to. */
int store_sqlite_latest_version(void);

#endif
