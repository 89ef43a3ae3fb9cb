// SPDX-License-Identifier: MIT
/*
 * The sqlite store: every entity round-trips, constraints map to the right
 * errno, transactions (nested too) roll back whole, an old schema migrates
 * without losing rows, a newer one is refused, and two connections (and two
 * threads) share one database through WAL and the busy timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "server/store.h"
#include "server/store_sqlite.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_store.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/db.sqlite", f->dir);
	if (store_sqlite_open(&f->st, f->path, NULL))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	store_close(f->st);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int64_t add_user(struct store *st, const char *name)
{
	struct store_user u = {.created = 1000};

	snprintf(u.name, sizeof(u.name), "%s", name);
	assert_int_equal(store_user_insert(st, &u), 0);
	assert_true(u.id > 0);
	return u.id;
}

static void make_node(struct store_node *n, int seed, int64_t user_id, const char *tags)
{
	memset(n, 0, sizeof(*n));
	memset(n->machine_key, seed, sizeof(n->machine_key));
	memset(n->node_key, seed + 100, sizeof(n->node_key));
	memset(n->disco_key, seed + 200, sizeof(n->disco_key));
	snprintf(n->hostname, sizeof(n->hostname), "Host %d", seed);
	snprintf(n->name, sizeof(n->name), "host-%d", seed);
	snprintf(n->os, sizeof(n->os), "linux");
	snprintf(n->ipv4, sizeof(n->ipv4), "100.64.0.%d", seed);
	snprintf(n->ipv6, sizeof(n->ipv6), "fd7a:115c:a1e0::%d", seed);
	n->user_id = user_id;
	snprintf(n->tags, sizeof(n->tags), "%s", tags);
	n->expiry = 5000;
	n->created = 1000;
	snprintf(n->endpoints, sizeof(n->endpoints), "[\"192.0.2.1:41641\"]");
}

static void test_users(void **state)
{
	struct fixture *f = *state;
	struct store_user u, *list;
	size_t n;
	int64_t alice = add_user(f->st, "alice");

	add_user(f->st, "bob");
	strcpy(u.name, "alice");
	assert_int_equal(store_user_insert(f->st, &u), -EEXIST);
	assert_int_equal(store_user_get(f->st, 0, "alice", &u), 0);
	assert_int_equal(u.id, alice);
	assert_int_equal(u.created, 1000);
	assert_int_equal(store_user_get(f->st, alice, NULL, &u), 0);
	assert_string_equal(u.name, "alice");
	assert_int_equal(store_user_get(f->st, 0, "carol", &u), -ENOENT);
	assert_int_equal(store_user_list(f->st, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].name, "bob");
	free(list);
	assert_int_equal(store_user_delete(f->st, alice), 0);
	assert_int_equal(store_user_delete(f->st, alice), -ENOENT);
}

static void test_nodes(void **state)
{
	struct fixture *f = *state;
	int64_t alice = add_user(f->st, "alice");
	struct store_node n, got, *list;
	size_t count;

	make_node(&n, 1, alice, "");
	assert_int_equal(store_node_insert(f->st, &n), 0);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_ID, n.id, NULL, &got), 0);
	assert_memory_equal(got.machine_key, n.machine_key, STORE_KEY_LEN);
	assert_memory_equal(got.disco_key, n.disco_key, STORE_KEY_LEN);
	assert_string_equal(got.user_name, "alice");
	assert_string_equal(got.ipv6, "fd7a:115c:a1e0::1");
	assert_string_equal(got.endpoints, "[\"192.0.2.1:41641\"]");
	assert_string_equal(got.tags, "");
	assert_int_equal(got.expiry, 5000);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_MACHINE_KEY, 0, n.machine_key, &got),
			 0);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_NODE_KEY, 0, n.node_key, &got), 0);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_NAME, 0, "host-1", &got), 0);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_NAME, 0, "host-9", &got), -ENOENT);

	/* A tagged node has no user; tags come back sorted as written. */
	make_node(&n, 2, 0, "tag:db,tag:web");
	assert_int_equal(store_node_insert(f->st, &n), 0);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_ID, n.id, NULL, &got), 0);
	assert_string_equal(got.tags, "tag:db,tag:web");
	assert_int_equal(got.user_id, 0);
	assert_string_equal(got.user_name, "");

	/* Unique name, address and keys; no owner at all; a missing user. */
	make_node(&n, 3, alice, "");
	strcpy(n.name, "host-1");
	assert_int_equal(store_node_insert(f->st, &n), -EEXIST);
	make_node(&n, 3, alice, "");
	strcpy(n.ipv4, "100.64.0.1");
	assert_int_equal(store_node_insert(f->st, &n), -EEXIST);
	make_node(&n, 1, alice, "");
	strcpy(n.name, "other");
	strcpy(n.ipv4, "100.64.0.99");
	strcpy(n.ipv6, "fd7a:115c:a1e0::99");
	assert_int_equal(store_node_insert(f->st, &n), -EEXIST);
	make_node(&n, 3, 0, "");
	assert_int_equal(store_node_insert(f->st, &n), -EINVAL);
	make_node(&n, 3, 12345, "");
	assert_int_equal(store_node_insert(f->st, &n), -ENOENT);
	/* Nodes without addresses do not collide on the empty string. */
	make_node(&n, 4, alice, "");
	n.ipv4[0] = n.ipv6[0] = '\0';
	assert_int_equal(store_node_insert(f->st, &n), 0);
	make_node(&n, 5, alice, "");
	n.ipv4[0] = n.ipv6[0] = '\0';
	assert_int_equal(store_node_insert(f->st, &n), 0);

	/* Update and delete. */
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_NAME, 0, "host-1", &got), 0);
	strcpy(got.name, "renamed");
	got.last_seen = 4242;
	assert_int_equal(store_node_update(f->st, &got), 0);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_ID, got.id, NULL, &n), 0);
	assert_string_equal(n.name, "renamed");
	assert_int_equal(n.last_seen, 4242);
	assert_int_equal(store_node_count_for_user(f->st, alice, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(store_user_delete(f->st, alice), -EBUSY);
	assert_int_equal(store_node_list(f->st, &list, &count), 0);
	assert_int_equal(count, 4);
	assert_true(list[0].id < list[1].id);
	free(list);
	assert_int_equal(store_node_delete(f->st, got.id), 0);
	assert_int_equal(store_node_delete(f->st, got.id), -ENOENT);
	got.id = 999;
	assert_int_equal(store_node_update(f->st, &got), -ENOENT);
}

static void test_authkeys(void **state)
{
	struct fixture *f = *state;
	int64_t bob = add_user(f->st, "bob");
	struct store_authkey k = {0}, got, *list;
	struct store_node n;
	size_t count;

	strcpy(k.prefix, "0123456789ab");
	memset(k.hash, 0x5a, sizeof(k.hash));
	k.user_id = bob;
	k.reusable = true;
	strcpy(k.tags, "tag:ci");
	k.expiry = 9000;
	k.created = 1000;
	assert_int_equal(store_authkey_insert(f->st, &k), 0);
	assert_int_equal(store_authkey_insert(f->st, &k), -EEXIST);
	assert_int_equal(store_authkey_get(f->st, 0, "0123456789ab", &got), 0);
	assert_int_equal(got.id, k.id);
	assert_memory_equal(got.hash, k.hash, sizeof(k.hash));
	assert_string_equal(got.user_name, "bob");
	assert_string_equal(got.tags, "tag:ci");
	assert_true(got.reusable);
	assert_false(got.ephemeral);
	got.used = 3;
	got.revoked = 7000;
	assert_int_equal(store_authkey_update(f->st, &got), 0);
	assert_int_equal(store_authkey_get(f->st, got.id, NULL, &k), 0);
	assert_int_equal(k.used, 3);
	assert_int_equal(k.revoked, 7000);
	assert_int_equal(store_authkey_list(f->st, &list, &count), 0);
	assert_int_equal(count, 1);
	free(list);

	/* A tagged node made with bob's key survives bob; the key does not. */
	make_node(&n, 7, 0, "tag:ci");
	n.authkey_id = k.id;
	assert_int_equal(store_node_insert(f->st, &n), 0);
	assert_int_equal(store_user_delete(f->st, bob), 0);
	assert_int_equal(store_authkey_get(f->st, k.id, NULL, &got), -ENOENT);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_ID, n.id, NULL, &n), 0);
	assert_int_equal(n.authkey_id, 0);
}

static void test_routes(void **state)
{
	struct fixture *f = *state;
	const char *adv1[] = {"10.0.0.0/24", "192.168.1.0/24"};
	const char *adv2[] = {"10.0.0.0/24", "0.0.0.0/0"};
	struct store_route r = {0}, *list;
	struct store_node n;
	size_t count;

	make_node(&n, 1, add_user(f->st, "alice"), "");
	assert_int_equal(store_node_insert(f->st, &n), 0);
	assert_int_equal(store_routes_set_advertised(f->st, n.id, adv1, 2), 0);
	r.node_id = n.id;
	strcpy(r.prefix, "10.0.0.0/24");
	r.advertised = r.approved = true;
	assert_int_equal(store_route_put(f->st, &r), 0);
	/* Pre-approval of something not advertised yet. */
	strcpy(r.prefix, "172.16.0.0/12");
	r.advertised = false;
	assert_int_equal(store_route_put(f->st, &r), 0);
	/* Re-advertising keeps approvals and withdraws what is gone. */
	assert_int_equal(store_routes_set_advertised(f->st, n.id, adv2, 2), 0);
	assert_int_equal(store_route_list(f->st, n.id, &list, &count), 0);
	assert_int_equal(count, 3);
	assert_string_equal(list[0].prefix, "0.0.0.0/0");
	assert_true(list[0].advertised && !list[0].approved);
	assert_string_equal(list[1].prefix, "10.0.0.0/24");
	assert_true(list[1].advertised && list[1].approved);
	assert_string_equal(list[1].node_name, "host-1");
	assert_string_equal(list[2].prefix, "172.16.0.0/12");
	assert_true(!list[2].advertised && list[2].approved);
	free(list);
	/* Neither advertised nor approved: the row goes. */
	r.approved = false;
	assert_int_equal(store_route_put(f->st, &r), 0);
	assert_int_equal(store_route_list(f->st, 0, &list, &count), 0);
	assert_int_equal(count, 2);
	free(list);
	assert_int_equal(store_node_delete(f->st, n.id), 0);
	assert_int_equal(store_route_list(f->st, 0, &list, &count), 0);
	assert_int_equal(count, 0);
	free(list);
}

static void test_policy_and_server_key(void **state)
{
	struct fixture *f = *state;
	uint8_t pub[32], priv[32], pub2[32], priv2[32], check[32];
	int64_t updated;
	struct stat st;
	char *text;
	bool created;

	assert_int_equal(store_policy_get(f->st, &text, &updated), -ENOENT);
	assert_int_equal(store_policy_set(f->st, "{\"acls\": []}", 50), 0);
	assert_int_equal(store_policy_set(f->st, "{\"acls\": [1]}", 60), 0);
	assert_int_equal(store_policy_get(f->st, &text, &updated), 0);
	assert_string_equal(text, "{\"acls\": [1]}");
	assert_int_equal(updated, 60);
	free(text);

	assert_int_equal(store_server_key_ensure(f->st, "control", 10, pub, priv, &created), 0);
	assert_true(created);
	crypto_scalarmult_base(check, priv);
	assert_memory_equal(check, pub, 32);
	assert_int_equal(store_server_key_ensure(f->st, "control", 20, pub2, priv2, &created), 0);
	assert_false(created);
	assert_memory_equal(pub, pub2, 32);
	assert_memory_equal(priv, priv2, 32);
	assert_int_equal(store_server_key_put(f->st, "control", pub, priv, 30), -EEXIST);
	/* The database holds a private key: only its owner may read it. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_transactions(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = {"10.0.0.0/24",
			     "this prefix text is far too long to be a prefix of any kind at all"};
	struct store_user u = {.created = 1};
	struct store_route *list;
	struct store_node n;
	size_t count;
	int ret;

	/* A failing statement inside a transaction: the whole transaction goes. */
	assert_int_equal(store_begin(f->st), 0);
	add_user(f->st, "first");
	strcpy(u.name, "first");
	ret = store_user_insert(f->st, &u);
	assert_int_equal(ret, -EEXIST);
	assert_int_equal(store_end(f->st, ret), -EEXIST);
	assert_int_equal(store_user_get(f->st, 0, "first", &u), -ENOENT);

	/* Nested: the inner part rolls back, the outer commits. */
	assert_int_equal(store_begin(f->st), 0);
	add_user(f->st, "outer");
	assert_int_equal(store_begin(f->st), 0);
	add_user(f->st, "inner");
	assert_int_equal(store_rollback(f->st), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_user_get(f->st, 0, "outer", &u), 0);
	assert_int_equal(store_user_get(f->st, 0, "inner", &u), -ENOENT);
	assert_int_equal(store_commit(f->st), -EINVAL);

	/* A multi-row change failing half-way leaves nothing behind. */
	make_node(&n, 1, u.id, "");
	assert_int_equal(store_node_insert(f->st, &n), 0);
	assert_int_equal(store_routes_set_advertised(f->st, n.id, bad, 2), -EINVAL);
	assert_int_equal(store_route_list(f->st, n.id, &list, &count), 0);
	assert_int_equal(count, 0);
	free(list);
}

static void sql(const char *path, const char *stmt)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, stmt, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", stmt, msg);
	sqlite3_close(db);
}

static void test_migration_keeps_data(void **state)
{
	struct fixture *f = *state;
	struct store_sqlite_options old = {.max_version = 1};
	struct store_authkey k;
	struct store_node n;
	struct store_user u;
	int version;

	/* Make a version 1 database and fill it the way version 1 would have. */
	store_close(f->st);
	unlink(f->path);
	assert_int_equal(store_sqlite_open(&f->st, f->path, &old), 0);
	assert_int_equal(store_schema_version(f->st, &version), 0);
	assert_int_equal(version, 1);
	store_close(f->st);
	f->st = NULL;
	sql(f->path,
	    "INSERT INTO users (id, name, created) VALUES (1, 'alice', 100);"
	    "INSERT INTO auth_keys (id, prefix, hash, user_id, expiry, created) VALUES"
	    " (1, 'aaaaaaaaaaaa', zeroblob(32), 1, 9999, 100);"
	    "INSERT INTO nodes (id, machine_key, node_key, disco_key, hostname, name, ipv4,"
	    " ipv6, user_id, authkey_id, expiry, created) VALUES (7,"
	    " '0101010101010101010101010101010101010101010101010101010101010101',"
	    " '0202020202020202020202020202020202020202020202020202020202020202',"
	    " '0303030303030303030303030303030303030303030303030303030303030303',"
	    " 'laptop', 'laptop', '100.64.0.1', 'fd7a:115c:a1e0::1', 1, 1, 5000, 100);");
	/* Upgrade: every row survives and the new columns and tables work. */
	assert_int_equal(store_sqlite_open(&f->st, f->path, NULL), 0);
	assert_int_equal(store_schema_version(f->st, &version), 0);
	assert_int_equal(version, store_sqlite_latest_version());
	assert_int_equal(store_user_get(f->st, 1, NULL, &u), 0);
	assert_string_equal(u.name, "alice");
	assert_int_equal(store_authkey_get(f->st, 0, "aaaaaaaaaaaa", &k), 0);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_ID, 7, NULL, &n), 0);
	assert_string_equal(n.name, "laptop");
	assert_string_equal(n.ipv4, "100.64.0.1");
	assert_string_equal(n.os, "");
	assert_int_equal(n.machine_key[0], 1);
	assert_int_equal(n.authkey_id, 1);
	assert_int_equal(store_policy_set(f->st, "{}", 1), 0);
	{
		const char *r[] = {"10.1.0.0/16"};

		assert_int_equal(store_routes_set_advertised(f->st, 7, r, 1), 0);
	}
	/* Opening again is a no-op. */
	store_close(f->st);
	assert_int_equal(store_sqlite_open(&f->st, f->path, NULL), 0);
	assert_int_equal(store_node_get(f->st, STORE_NODE_BY_ID, 7, NULL, &n), 0);
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct store_user u;

	add_user(f->st, "kept");
	store_close(f->st);
	f->st = NULL;
	sql(f->path, "INSERT INTO schema_version (version, applied) VALUES (99, 0)");
	assert_int_equal(store_sqlite_open(&f->st, f->path, NULL), -EPROTO);
	assert_null(f->st);
	sql(f->path, "DELETE FROM schema_version WHERE version = 99");
	assert_int_equal(store_sqlite_open(&f->st, f->path, NULL), 0);
	assert_int_equal(store_user_get(f->st, 0, "kept", &u), 0);
}

static void test_two_connections(void **state)
{
	struct fixture *f = *state;
	struct store_sqlite_options quick = {.busy_timeout_ms = 100};
	struct store_user u = {.created = 1};
	struct store *other;

	assert_int_equal(store_sqlite_open(&other, f->path, &quick), 0);
	/* A writer in progress: the other connection reads the old state... */
	assert_int_equal(store_begin(f->st), 0);
	add_user(f->st, "pending");
	assert_int_equal(store_user_get(other, 0, "pending", &u), -ENOENT);
	/* ...and a second writer waits its busy timeout, then gets -EBUSY. */
	strcpy(u.name, "second");
	assert_int_equal(store_user_insert(other, &u), -EBUSY);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(store_user_get(other, 0, "pending", &u), 0);
	strcpy(u.name, "second");
	assert_int_equal(store_user_insert(other, &u), 0);
	assert_int_equal(store_user_get(f->st, 0, "second", &u), 0);
	store_close(other);
}

struct writer {
	const char *path;
	int id;
	int ok;
};

static void *write_users(void *arg)
{
	struct writer *w = arg;
	struct store *st;

	if (store_sqlite_open(&st, w->path, NULL))
		return NULL;
	for (int i = 0; i < 100; i++) {
		struct store_user u = {.created = i};

		snprintf(u.name, sizeof(u.name), "t%d-u%d", w->id, i);
		/* Writers take turns; the busy timeout absorbs the waiting. */
		if (!store_begin(st) && !store_end(st, store_user_insert(st, &u)))
			w->ok++;
	}
	store_close(st);
	return NULL;
}

static void test_concurrent_writers(void **state)
{
	struct fixture *f = *state;
	struct writer w[2] = {{f->path, 0, 0}, {f->path, 1, 0}};
	pthread_t t[2];
	struct store_user *list;
	size_t n;

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, write_users, &w[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(w[0].ok, 100);
	assert_int_equal(w[1].ok, 100);
	assert_int_equal(store_user_list(f->st, &list, &n), 0);
	assert_int_equal(n, 200);
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authkeys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_and_server_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
