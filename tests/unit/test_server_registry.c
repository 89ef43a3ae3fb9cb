// SPDX-License-Identifier: MIT
/*
 * Registration and lifecycle on a fake clock: auth key semantics (single-use,
 * reusable, expired, revoked, wrong), tagged and ephemeral nodes, pending
 * approval, re-registration keeping identity, names, expiry, deletion, routes,
 * the policy text, and the events listeners see. Also the pure helpers: node
 * and user names, and auth key text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "server/authkey.h"
#include "server/names.h"
#include "server/registry.h"
#include "server/store_sqlite.h"

enum { MAX_EVENTS = 64 };

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;
	struct registry *reg;
	int64_t now;
	struct registry_listener listener;
	enum registry_event_type events[MAX_EVENTS];
	int64_t event_nodes[MAX_EVENTS];
	int nevents;
};

static int64_t fake_now(void *arg)
{
	return ((struct fixture *)arg)->now;
}

static void record(void *arg, const struct registry_event *ev)
{
	struct fixture *f = arg;

	if (f->nevents < MAX_EVENTS) {
		f->event_nodes[f->nevents] = ev->node_id;
		f->events[f->nevents++] = ev->type;
	}
}

static int open_registry(struct fixture *f, const char *v4, const char *v6)
{
	struct registry_options opt = {
		.store = f->st,
		.base_domain = "mesh.test",
		.node_key_expiry = 180 * 86400,
		.ephemeral_timeout = 600,
		.now = fake_now,
		.now_arg = f,
	};

	ip_prefix_parse(&opt.prefix_v4, v4, NULL);
	ip_prefix_parse(&opt.prefix_v6, v6, NULL);
	if (registry_create(&f->reg, &opt))
		return -1;
	f->listener.fn = record;
	f->listener.arg = f;
	registry_listen(f->reg, &f->listener);
	return 0;
}

static int setup_prefixes(void **state, const char *v4, const char *v6)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_registry.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/db.sqlite", f->dir);
	f->now = 1700000000;
	if (store_sqlite_open(&f->st, f->path, NULL) || open_registry(f, v4, v6))
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_prefixes(state, "100.64.0.0/10", "fd7a:115c:a1e0::/48");
}

static int setup_tiny(void **state)
{
	return setup_prefixes(state, "10.0.0.0/30", "fd00::/120");
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	registry_destroy(f->reg);
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

static void request(struct registry_request *req, int machine, const char *hostname)
{
	memset(req, 0, sizeof(*req));
	memset(req->machine_key, machine, STORE_KEY_LEN);
	memset(req->node_key, machine + 1, STORE_KEY_LEN);
	memset(req->disco_key, machine + 2, STORE_KEY_LEN);
	req->hostname = hostname;
	req->os = "linux";
	req->endpoints = "[\"192.0.2.1:41641\", \"[2001:db8::1]:41641\"]";
}

static void make_key(struct fixture *f, const char *user, bool reusable, bool ephemeral,
		     const char *tags, int64_t expiration, char key[AUTHKEY_STR_LEN + 1])
{
	struct registry_authkey_request kr = {
		.user = user,
		.reusable = reusable,
		.ephemeral = ephemeral,
		.tags = tags,
		.expiration = expiration,
	};
	struct registry_error err;

	if (registry_authkey_create(f->reg, &kr, key, NULL, &err))
		fail_msg("authkey: %s", err.msg);
}

static void expect_refused(struct fixture *f, const struct registry_request *req, const char *key,
			   const char *msg)
{
	struct registry_error err;
	struct store_node node;

	assert_int_equal(registry_register_authkey(f->reg, req, key, &node, &err), -EACCES);
	if (!strstr(err.msg, msg))
		fail_msg("got \"%s\", want \"%s\"", err.msg, msg);
}

static void test_names(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"laptop", "laptop"},
		{"Bob's MacBook Pro.local", "bobs-macbook-pro"},
		{"UPPER_case--x", "upper-case-x"},
		{"-lead-and-trail-", "lead-and-trail"},
		{"", "node"},
		{"...", "node"},
		{"---", "node"},
		{"caf\xc3\xa9", "caf"},
		{"a..b", "a"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbb",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	};
	char out[NAMES_LABEL_MAX + 1];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		names_sanitize(out, cases[i].in);
		assert_string_equal(out, cases[i].out);
		assert_int_equal(names_validate_node(out, &why), 0);
	}
	assert_int_equal(names_validate_node("Laptop", &why), -EINVAL);
	assert_int_equal(names_validate_node("-a", &why), -EINVAL);
	assert_int_equal(names_validate_node("", &why), -EINVAL);
	assert_int_equal(names_validate_node("a.b", &why), -EINVAL);
	assert_int_equal(names_validate_user("alice@example.com", &why), 0);
	assert_int_equal(names_validate_user("Bob_2", &why), 0);
	assert_int_equal(names_validate_user(".alice", &why), -EINVAL);
	assert_int_equal(names_validate_user("al ice", &why), -EINVAL);
	assert_int_equal(names_fqdn(out, sizeof(out), "laptop", "mesh.test"), 0);
	assert_string_equal(out, "laptop.mesh.test");
	assert_int_equal(names_fqdn(out, 8, "laptop", "mesh.test"), -ENAMETOOLONG);
}

static int taken_upto(void *arg, const char *name)
{
	/* Taken: the base and suffixes below *arg. */
	const char *dash = strrchr(name, '-');
	int n = dash ? atoi(dash + 1) : 0;

	return n < *(int *)arg;
}

static void test_unique_names(void **state)
{
	char out[NAMES_LABEL_MAX + 1], base[NAMES_LABEL_MAX + 1];
	int upto = 0;

	(void)state;
	assert_int_equal(names_make_unique(out, "laptop", taken_upto, &upto), 0);
	assert_string_equal(out, "laptop");
	upto = 1;
	assert_int_equal(names_make_unique(out, "laptop", taken_upto, &upto), 0);
	assert_string_equal(out, "laptop-1");
	upto = 12;
	assert_int_equal(names_make_unique(out, "laptop", taken_upto, &upto), 0);
	assert_string_equal(out, "laptop-12");
	/* A long base is cut so the suffix fits, never leaving "--". */
	memset(base, 'a', NAMES_LABEL_MAX);
	base[NAMES_LABEL_MAX] = '\0';
	base[58] = '-';
	upto = 100;
	assert_int_equal(names_make_unique(out, base, taken_upto, &upto), 0);
	assert_int_equal(strlen(out), 58 + 4);
	assert_string_equal(out + 58, "-100");
	upto = NAMES_MAX_SUFFIX + 1;
	assert_int_equal(names_make_unique(out, "x", taken_upto, &upto), -ENOSPC);
}

static void test_authkey_text(void **state)
{
	char key[AUTHKEY_STR_LEN + 1], prefix[AUTHKEY_PREFIX_LEN + 1], p2[AUTHKEY_PREFIX_LEN + 1];
	uint8_t hash[AUTHKEY_HASH_LEN], h2[AUTHKEY_HASH_LEN];

	(void)state;
	assert_int_equal(authkey_generate(key, prefix, hash), 0);
	assert_int_equal(strlen(key), AUTHKEY_STR_LEN);
	assert_memory_equal(key, "mskey-", 6);
	assert_memory_equal(key + 6, prefix, AUTHKEY_PREFIX_LEN);
	assert_int_equal(authkey_parse(key, p2, h2), 0);
	assert_string_equal(prefix, p2);
	assert_true(authkey_hash_equal(hash, h2));
	/* One changed secret digit: same prefix, another hash. */
	key[AUTHKEY_STR_LEN - 1] = key[AUTHKEY_STR_LEN - 1] == '0' ? '1' : '0';
	assert_int_equal(authkey_parse(key, p2, h2), 0);
	assert_false(authkey_hash_equal(hash, h2));
	key[10] = 'G';
	assert_int_equal(authkey_parse(key, p2, h2), -EINVAL);
	assert_int_equal(authkey_parse("mskey-", p2, h2), -EINVAL);
	assert_int_equal(authkey_parse("", p2, h2), -EINVAL);
	authkey_generate(key, prefix, hash);
	key[6 + AUTHKEY_PREFIX_LEN] = '_';
	assert_int_equal(authkey_parse(key, p2, h2), -EINVAL);
	authkey_generate(key, prefix, hash);
	key[8] = 'A'; /* uppercase is another key, refused rather than folded */
	assert_int_equal(authkey_parse(key, p2, h2), -EINVAL);
}

static void test_users(void **state)
{
	struct fixture *f = *state;
	struct registry_error err;
	struct store_user u;

	assert_int_equal(registry_user_create(f->reg, "alice", &u, &err), 0);
	assert_int_equal(registry_user_create(f->reg, "alice", NULL, &err), -EEXIST);
	assert_string_equal(err.msg, "user alice already exists");
	assert_int_equal(registry_user_create(f->reg, "bad name", NULL, &err), -EINVAL);
	assert_int_equal(registry_user_delete(f->reg, "nobody", &err), -ENOENT);
	assert_string_equal(err.msg, "no user named nobody");
	assert_int_equal(registry_user_delete(f->reg, "alice", &err), 0);
	assert_int_equal(f->nevents, 2);
	assert_int_equal(f->events[0], REGISTRY_USER_ADDED);
	assert_int_equal(f->events[1], REGISTRY_USER_REMOVED);
}

static void test_single_use_key(void **state)
{
	struct fixture *f = *state;
	char key[AUTHKEY_STR_LEN + 1];
	struct registry_request a, b;
	struct store_node n1, n2;
	struct registry_error err;
	struct store_authkey *keys;
	size_t nkeys;

	registry_user_create(f->reg, "alice", NULL, NULL);
	make_key(f, "alice", false, false, NULL, 3600, key);
	request(&a, 1, "Laptop");
	assert_int_equal(registry_register_authkey(f->reg, &a, key, &n1, &err), 0);
	assert_string_equal(n1.name, "laptop");
	assert_string_equal(n1.user_name, "alice");
	assert_string_equal(n1.ipv4, "100.64.0.1");
	assert_string_equal(n1.ipv6, "fd7a:115c:a1e0::1");
	assert_int_equal(n1.expiry, f->now + 180 * 86400);
	assert_string_equal(n1.endpoints, "[\"192.0.2.1:41641\",\"[2001:db8::1]:41641\"]");
	assert_false(n1.ephemeral);
	/* Another machine cannot use it again... */
	request(&b, 2, "desktop");
	expect_refused(f, &b, key, "has already been used (it is single-use)");
	/* ...but the machine it admitted may retry, and stays the same node. */
	f->now += 10;
	assert_int_equal(registry_register_authkey(f->reg, &a, key, &n2, &err), 0);
	assert_int_equal(n2.id, n1.id);
	assert_string_equal(n2.ipv4, n1.ipv4);
	assert_int_equal(registry_authkey_list(f->reg, &keys, &nkeys, &err), 0);
	assert_int_equal(nkeys, 1);
	assert_int_equal(keys[0].used, 1);
	free(keys);
	assert_int_equal(f->events[f->nevents - 2], REGISTRY_NODE_ADDED);
	assert_int_equal(f->events[f->nevents - 1], REGISTRY_NODE_CHANGED);
}

static void test_reusable_and_bad_keys(void **state)
{
	struct fixture *f = *state;
	char key[AUTHKEY_STR_LEN + 1], old[AUTHKEY_STR_LEN + 1], revoked[AUTHKEY_STR_LEN + 1];
	struct store_authkey *keys;
	struct registry_request r;
	struct registry_error err;
	struct store_node n;
	size_t nkeys;

	registry_user_create(f->reg, "alice", NULL, NULL);
	make_key(f, "alice", true, false, NULL, 3600, key);
	make_key(f, "alice", true, false, NULL, 60, old);
	make_key(f, "alice", true, false, NULL, 3600, revoked);
	for (int i = 1; i <= 3; i++) {
		request(&r, i, "laptop");
		assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), 0);
	}
	/* Same hostname three times: unique names. */
	assert_string_equal(n.name, "laptop-2");
	assert_string_equal(n.ipv4, "100.64.0.3");
	assert_int_equal(registry_authkey_list(f->reg, &keys, &nkeys, &err), 0);
	assert_int_equal(keys[0].used, 3);
	free(keys);

	request(&r, 9, "x");
	f->now += 61;
	expect_refused(f, &r, old, "expired at 2023-11-14T22:14:20Z");
	assert_int_equal(registry_authkey_revoke(f->reg, "3", &err), 0);
	expect_refused(f, &r, revoked, "has been revoked");
	expect_refused(f, &r, "mskey-000000000000-000000000000000000000000000000000000000000000000",
		       "invalid auth key");
	expect_refused(f, &r, "tskey-auth-123", "invalid auth key");
	/* Right prefix, wrong secret. */
	memcpy(old, key, sizeof(old));
	old[AUTHKEY_STR_LEN - 1] = old[AUTHKEY_STR_LEN - 1] == 'a' ? 'b' : 'a';
	expect_refused(f, &r, old, "invalid auth key");
	assert_int_equal(registry_authkey_revoke(f->reg, "nope", &err), -ENOENT);
	/* A key for a user that does not exist, or without an expiration. */
	{
		struct registry_authkey_request kr = {.user = "ghost", .expiration = 60};

		assert_int_equal(registry_authkey_create(f->reg, &kr, key, NULL, &err), -ENOENT);
		kr.user = "alice";
		kr.expiration = 0;
		assert_int_equal(registry_authkey_create(f->reg, &kr, key, NULL, &err), -EINVAL);
		kr.expiration = 60;
		kr.tags = "tag:ok,nottag";
		assert_int_equal(registry_authkey_create(f->reg, &kr, key, NULL, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "invalid tag \"nottag\""));
	}
}

static void test_tagged_and_ephemeral(void **state)
{
	struct fixture *f = *state;
	char key[AUTHKEY_STR_LEN + 1];
	struct registry_request r;
	struct registry_error err;
	struct store_node n, eph, got;
	size_t before;

	registry_user_create(f->reg, "ci", NULL, NULL);
	make_key(f, "ci", true, false, "tag:web,tag:db,tag:web", 3600, key);
	request(&r, 1, "server");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), 0);
	assert_int_equal(n.user_id, 0);
	assert_string_equal(n.user_name, "");
	assert_string_equal(n.tags, "tag:db,tag:web");
	assert_int_equal(n.expiry, 0);

	make_key(f, "ci", true, true, NULL, 3600, key);
	request(&r, 2, "runner");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &eph, &err), 0);
	assert_true(eph.ephemeral);
	assert_string_equal(eph.user_name, "ci");
	/* Online, an ephemeral node stays however long it takes. */
	assert_int_equal(registry_node_set_online(f->reg, eph.id, true), 0);
	assert_true(registry_node_online(f->reg, eph.id));
	f->now += 3600;
	registry_tick(f->reg);
	assert_int_equal(registry_node_find(f->reg, "runner", &got, &err), 0);
	/* Offline: gone after the timeout (600 s here), not before. */
	assert_int_equal(registry_node_set_online(f->reg, eph.id, false), 0);
	assert_int_equal(registry_node_find(f->reg, "runner", &got, &err), 0);
	assert_int_equal(got.last_seen, f->now);
	f->now += 599;
	registry_tick(f->reg);
	assert_int_equal(registry_node_find(f->reg, "runner", &got, &err), 0);
	before = (size_t)f->nevents;
	f->now += 1;
	registry_tick(f->reg);
	assert_int_equal(registry_node_find(f->reg, "runner", &got, &err), -ENOENT);
	assert_int_equal(f->events[before], REGISTRY_NODE_REMOVED);
	assert_int_equal(f->event_nodes[before], eph.id);
	/* The tagged, non-ephemeral node is still there. */
	assert_int_equal(registry_node_find(f->reg, "server.mesh.test", &got, &err), 0);
	assert_int_equal(got.id, n.id);
}

static void test_reregistration_keeps_identity(void **state)
{
	struct fixture *f = *state;
	char key[AUTHKEY_STR_LEN + 1];
	const char *routes[] = {"10.1.0.0/16"};
	struct registry_request r;
	struct registry_error err;
	struct store_node n1, n2;
	struct store_route *rl;
	size_t nr;

	registry_user_create(f->reg, "alice", NULL, NULL);
	registry_user_create(f->reg, "bob", NULL, NULL);
	make_key(f, "alice", true, false, NULL, 86400, key);
	request(&r, 1, "laptop");
	r.routes = routes;
	r.n_routes = 1;
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n1, &err), 0);
	assert_int_equal(registry_node_rename(f->reg, "laptop", "work", &err), 0);
	/* Later: a new node key (and now logged in as bob), same machine. */
	f->now += 1000;
	memset(r.node_key, 0x77, STORE_KEY_LEN);
	r.hostname = "laptop-renamed-locally";
	r.n_routes = 0;
	make_key(f, "bob", false, false, NULL, 86400, key);
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n2, &err), 0);
	assert_int_equal(n2.id, n1.id);
	assert_string_equal(n2.ipv4, n1.ipv4);
	assert_string_equal(n2.ipv6, n1.ipv6);
	assert_string_equal(n2.name, "work");
	assert_string_equal(n2.hostname, "laptop-renamed-locally");
	assert_string_equal(n2.user_name, "bob");
	assert_int_equal(n2.node_key[0], 0x77);
	assert_int_equal(n2.expiry, f->now + 180 * 86400);
	/* The advertised routes follow the latest registration. */
	assert_int_equal(registry_route_list(f->reg, &rl, &nr, &err), 0);
	assert_int_equal(nr, 0);
	free(rl);
	/* A node key can belong to one machine only. */
	request(&r, 5, "thief");
	memset(r.node_key, 0x77, STORE_KEY_LEN);
	make_key(f, "bob", false, false, NULL, 86400, key);
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n2, &err), -EEXIST);
	assert_string_equal(err.msg, "this node key is already registered to another machine");
	/* The failed attempt did not burn the single-use key nor leak addresses. */
	request(&r, 6, "honest");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n2, &err), 0);
	assert_string_not_equal(n2.ipv4, n1.ipv4);
}

static void test_pending_approval(void **state)
{
	struct fixture *f = *state;
	char id[REGISTRY_PENDING_ID_LEN + 1], id2[REGISTRY_PENDING_ID_LEN + 1];
	struct registry_request r;
	struct registry_error err;
	struct store_node n;

	registry_user_create(f->reg, "alice", NULL, NULL);
	request(&r, 1, "phone");
	assert_int_equal(registry_register_pending(f->reg, &r, id, &err), 0);
	assert_int_equal(strlen(id), REGISTRY_PENDING_ID_LEN);
	assert_int_equal(registry_approve(f->reg, id, "ghost", &n, &err), -ENOENT);
	assert_string_equal(err.msg, "no user named ghost");
	assert_int_equal(registry_approve(f->reg, "0000", "alice", &n, &err), -ENOENT);
	assert_int_equal(registry_approve(f->reg, id, "alice", &n, &err), 0);
	assert_string_equal(n.name, "phone");
	assert_string_equal(n.user_name, "alice");
	assert_int_equal(n.authkey_id, 0);
	assert_int_equal(f->events[f->nevents - 1], REGISTRY_PENDING_APPROVED);
	assert_int_equal(registry_approve(f->reg, id, "alice", &n, &err), -ENOENT);
	/* Pending registrations time out; a newer one from the same machine replaces the older. */
	request(&r, 2, "tablet");
	assert_int_equal(registry_register_pending(f->reg, &r, id, &err), 0);
	assert_int_equal(registry_register_pending(f->reg, &r, id2, &err), 0);
	assert_int_equal(registry_approve(f->reg, id, "alice", &n, &err), -ENOENT);
	f->now += REGISTRY_PENDING_TIMEOUT;
	assert_int_equal(registry_approve(f->reg, id2, "alice", &n, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "timed out"));
	/* What a node reports is kept, but never with control characters or quotes. */
	request(&r, 4, "evil\nline\"x");
	r.os = "os\x1b[31m";
	assert_int_equal(registry_register_pending(f->reg, &r, id, &err), 0);
	f->now += 1;
	assert_int_equal(registry_approve(f->reg, id, "alice", &n, &err), 0);
	assert_string_equal(n.hostname, "evil?line?x");
	assert_string_equal(n.os, "os?[31m");
	assert_string_equal(n.name, "evil-line-x");
	/* Garbage requests are refused before anything is kept. */
	memset(r.node_key, 0, STORE_KEY_LEN);
	assert_int_equal(registry_register_pending(f->reg, &r, id, &err), -EINVAL);
	request(&r, 3, "x");
	r.endpoints = "{\"not\": \"an array\"}";
	assert_int_equal(registry_register_pending(f->reg, &r, id, &err), -EINVAL);
}

static void test_expiry(void **state)
{
	struct fixture *f = *state;
	char key[AUTHKEY_STR_LEN + 1];
	struct registry_request r;
	struct registry_error err;
	struct store_node a, b, got;
	int expired_events = 0;

	registry_user_create(f->reg, "alice", NULL, NULL);
	make_key(f, "alice", true, false, NULL, 86400, key);
	request(&r, 1, "a");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &a, &err), 0);
	f->now += 100;
	request(&r, 2, "b");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &b, &err), 0);
	assert_false(registry_node_expired(f->reg, &a));
	/* An admin expires b now; a expires by time. Each is announced once. */
	assert_int_equal(registry_node_expire(f->reg, "b", &err), 0);
	assert_int_equal(registry_node_find(f->reg, "b", &got, &err), 0);
	assert_true(registry_node_expired(f->reg, &got));
	f->now = a.expiry;
	registry_tick(f->reg);
	f->now += 10;
	registry_tick(f->reg);
	for (int i = 0; i < f->nevents; i++)
		expired_events += f->events[i] == REGISTRY_NODE_EXPIRED;
	assert_int_equal(expired_events, 2);
	assert_int_equal(registry_node_find(f->reg, "a", &got, &err), 0);
	assert_true(registry_node_expired(f->reg, &got));
	/* Registering again renews the key. */
	request(&r, 1, "a");
	memset(r.node_key, 0x55, STORE_KEY_LEN);
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &got, &err), -EACCES);
	make_key(f, "alice", true, false, NULL, 86400, key);
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &got, &err), 0);
	assert_false(registry_node_expired(f->reg, &got));
}

static void test_delete_rename_find(void **state)
{
	struct fixture *f = *state;
	char key[AUTHKEY_STR_LEN + 1];
	struct registry_request r;
	struct registry_error err;
	struct store_node n, got;
	char idtext[24];

	registry_user_create(f->reg, "alice", NULL, NULL);
	make_key(f, "alice", true, false, NULL, 86400, key);
	request(&r, 1, "a");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), 0);
	request(&r, 2, "b");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &got, &err), 0);
	snprintf(idtext, sizeof(idtext), "%lld", (long long)n.id);
	assert_int_equal(registry_node_find(f->reg, idtext, &got, &err), 0);
	assert_string_equal(got.name, "a");
	assert_int_equal(registry_node_find(f->reg, "a.mesh.test.", &got, &err), 0);
	assert_int_equal(registry_node_find(f->reg, "c", &got, &err), -ENOENT);
	assert_int_equal(registry_node_rename(f->reg, "a", "b", &err), -EEXIST);
	assert_int_equal(registry_node_rename(f->reg, "a", "Bad_Name", &err), -EINVAL);
	assert_string_equal(err.msg,
			    "invalid name \"Bad_Name\": a name has only lowercase letters, "
			    "digits and '-' (try \"bad-name\")");
	assert_int_equal(registry_user_delete(f->reg, "alice", &err), -EBUSY);
	assert_string_equal(err.msg, "user alice still owns 2 nodes: delete them first "
				     "(meshcontrol nodes delete NODE)");
	assert_int_equal(registry_node_delete(f->reg, "a", &err), 0);
	assert_int_equal(registry_node_delete(f->reg, "a", &err), -ENOENT);
	/* The freed address is not handed out right away. */
	request(&r, 3, "c");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &got, &err), 0);
	assert_string_equal(got.ipv4, "100.64.0.3");
	assert_int_equal(registry_node_delete(f->reg, "b", &err), 0);
	assert_int_equal(registry_node_delete(f->reg, "c", &err), 0);
	assert_int_equal(registry_user_delete(f->reg, "alice", &err), 0);
}

static void test_exhaustion(void **state)
{
	struct fixture *f = *state;
	char key[AUTHKEY_STR_LEN + 1];
	struct registry_request r;
	struct registry_error err;
	struct store_node n;

	registry_user_create(f->reg, "alice", NULL, NULL);
	make_key(f, "alice", true, false, NULL, 86400, key);
	for (int i = 1; i <= 2; i++) {
		request(&r, i, "n");
		assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), 0);
	}
	request(&r, 3, "n");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), -ENOSPC);
	assert_string_equal(err.msg,
			    "no free addresses left in 10.0.0.0/30 and fd00::/120 (4 in use)");
	/* Re-registering an existing machine needs no new address. */
	request(&r, 1, "n");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), 0);
	/* Addresses survive a restart of the registry: still full. */
	registry_destroy(f->reg);
	assert_int_equal(open_registry(f, "10.0.0.0/30", "fd00::/120"), 0);
	request(&r, 3, "n");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), -ENOSPC);
	assert_int_equal(registry_node_delete(f->reg, "n", &err), 0);
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), 0);
	assert_string_equal(n.ipv4, "10.0.0.1");
}

static void test_routes_and_policy(void **state)
{
	struct fixture *f = *state;
	char key[AUTHKEY_STR_LEN + 1], *text;
	const char *adv[] = {"10.1.0.0/16", "0.0.0.0/0"};
	const char *ok[] = {"10.1.0.0/16"}, *bad[] = {"10.1.0.1/16"};
	struct registry_request r;
	struct registry_error err;
	struct store_route *rl;
	struct store_node n;
	int64_t updated;
	size_t nr;

	registry_user_create(f->reg, "alice", NULL, NULL);
	make_key(f, "alice", true, false, NULL, 86400, key);
	request(&r, 1, "router");
	r.routes = adv;
	r.n_routes = 2;
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), 0);
	assert_int_equal(registry_route_approve(f->reg, "router", bad, 1, true, &err), -EINVAL);
	assert_string_equal(err.msg, "10.1.0.1/16 has host bits set (did you mean 10.1.0.0/16?)");
	assert_int_equal(registry_route_approve(f->reg, "router", ok, 1, true, &err), 0);
	assert_int_equal(f->events[f->nevents - 1], REGISTRY_ROUTES_CHANGED);
	assert_int_equal(registry_route_list(f->reg, &rl, &nr, &err), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(rl[1].prefix, "10.1.0.0/16");
	assert_true(rl[1].approved && rl[1].advertised);
	assert_false(rl[0].approved);
	free(rl);
	assert_int_equal(registry_route_approve(f->reg, "router", ok, 1, false, &err), 0);
	assert_int_equal(registry_route_list(f->reg, &rl, &nr, &err), 0);
	assert_false(rl[1].approved);
	free(rl);
	/* A bad advertised route refuses the registration. */
	request(&r, 2, "bad");
	r.routes = bad;
	r.n_routes = 1;
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), -EINVAL);

	assert_int_equal(registry_policy_get(f->reg, &text, &updated, &err), -ENOENT);
	assert_int_equal(registry_policy_set(f->reg, "{\n  \"acls\": [,]\n}", &err), -EINVAL);
	assert_string_equal(err.msg, "policy:2:12: unexpected ',', expected a value");
	assert_int_equal(registry_policy_set(f->reg, "{\"acls\": [], // ok\n}", &err), 0);
	assert_int_equal(f->events[f->nevents - 1], REGISTRY_POLICY_CHANGED);
	assert_int_equal(registry_policy_get(f->reg, &text, &updated, &err), 0);
	assert_string_equal(text, "{\"acls\": [], // ok\n}");
	assert_int_equal(updated, f->now);
	free(text);
}

/* What later requests change: reports, key renewal, logout, the checks of a waiting login. */
static void test_session_changes(void **state)
{
	static const char *const routes[] = {"10.1.0.0/16", "10.2.0.0/16"};
	static const char *const bad[] = {"10.1.0.1/16"};
	struct fixture *f = *state;
	char key[AUTHKEY_STR_LEN + 1], id[REGISTRY_PENDING_ID_LEN + 1];
	uint8_t disco[STORE_KEY_LEN], newkey[STORE_KEY_LEN], other[STORE_KEY_LEN];
	struct registry_report rep = {0};
	struct store_route *rs = NULL;
	struct registry_request r;
	struct registry_error err;
	struct store_node n, m;
	size_t nrs = 0;
	bool changed;
	int ev;

	registry_user_create(f->reg, "alice", NULL, NULL);
	make_key(f, "alice", true, false, NULL, 3600, key);
	request(&r, 1, "laptop");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &n, &err), 0);

	/* A report of new endpoints, disco key, host name and routes: one event. */
	memset(disco, 0x77, sizeof(disco));
	rep.disco_key = disco;
	rep.endpoints = "[\"198.51.100.1:41641\"]";
	rep.hostname = "laptop\x01";
	rep.os = "linux";
	rep.has_routes = true;
	rep.routes = routes;
	rep.n_routes = 2;
	ev = f->nevents;
	assert_int_equal(registry_node_report(f->reg, n.id, &rep, &changed, &err), 0);
	assert_true(changed);
	assert_int_equal(f->nevents, ev + 1);
	assert_int_equal(f->events[ev], REGISTRY_ROUTES_CHANGED);
	assert_int_equal(registry_node_by_machine(f->reg, r.machine_key, &m), 0);
	assert_memory_equal(m.disco_key, disco, STORE_KEY_LEN);
	assert_string_equal(m.endpoints, "[\"198.51.100.1:41641\"]");
	assert_string_equal(m.hostname, "laptop?");
	assert_int_equal(registry_node_routes(f->reg, n.id, &rs, &nrs), 0);
	assert_int_equal(nrs, 2);
	free(rs);
	/* The same again: nothing written, nothing announced. */
	assert_int_equal(registry_node_report(f->reg, n.id, &rep, &changed, &err), 0);
	assert_false(changed);
	assert_int_equal(f->nevents, ev + 1);
	/* Only the disco key: NODE_CHANGED. Fewer routes: ROUTES_CHANGED. */
	disco[0] = 1;
	rep.n_routes = 2;
	assert_int_equal(registry_node_report(f->reg, n.id, &rep, &changed, &err), 0);
	assert_int_equal(f->events[f->nevents - 1], REGISTRY_NODE_CHANGED);
	rep.n_routes = 1;
	assert_int_equal(registry_node_report(f->reg, n.id, &rep, &changed, &err), 0);
	assert_int_equal(f->events[f->nevents - 1], REGISTRY_ROUTES_CHANGED);
	rep.routes = bad;
	assert_int_equal(registry_node_report(f->reg, n.id, &rep, &changed, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "invalid advertised route"));
	rep.has_routes = false;
	rep.endpoints = "not json";
	assert_int_equal(registry_node_report(f->reg, n.id, &rep, &changed, &err), -EINVAL);
	assert_int_equal(registry_node_report(f->reg, 999, &rep, &changed, &err), -ENOENT);

	/* Renewal: same id and addresses, the new key, the same expiry. */
	memset(newkey, 0x55, sizeof(newkey));
	memset(other, 0x66, sizeof(other));
	assert_int_equal(registry_node_renew(f->reg, r.machine_key, other, newkey, disco, &m, &err),
			 -ENOENT);
	assert_int_equal(
		registry_node_renew(f->reg, r.machine_key, r.node_key, newkey, disco, &m, &err), 0);
	assert_int_equal(m.id, n.id);
	assert_string_equal(m.ipv4, n.ipv4);
	assert_memory_equal(m.node_key, newkey, STORE_KEY_LEN);
	assert_int_equal(m.expiry, n.expiry);
	assert_int_equal(f->events[f->nevents - 1], REGISTRY_NODE_CHANGED);
	/* A key another node holds is refused. */
	request(&r, 9, "other");
	assert_int_equal(registry_register_authkey(f->reg, &r, key, &m, &err), 0);
	request(&r, 1, "laptop");
	assert_int_equal(
		registry_node_renew(f->reg, r.machine_key, newkey, m.node_key, disco, NULL, &err),
		-EEXIST);

	/* Logout: only with the current key; it expires the key and says so. */
	assert_int_equal(registry_node_logout(f->reg, r.machine_key, r.node_key, &err), -ENOENT);
	assert_int_equal(registry_node_logout(f->reg, r.machine_key, newkey, &err), 0);
	assert_int_equal(f->events[f->nevents - 1], REGISTRY_NODE_EXPIRED);
	assert_int_equal(registry_node_by_machine(f->reg, r.machine_key, &m), 0);
	assert_true(registry_node_expired(f->reg, &m));
	ev = f->nevents;
	assert_int_equal(registry_node_logout(f->reg, r.machine_key, newkey, &err), 0);
	assert_int_equal(f->nevents, ev);
	/* The tick does not announce it a second time. */
	f->now += 1;
	registry_tick(f->reg);
	assert_int_equal(f->nevents, ev);
	/* An expired key cannot be renewed without logging in. */
	assert_int_equal(
		registry_node_renew(f->reg, r.machine_key, newkey, other, disco, NULL, &err),
		-EKEYEXPIRED);

	/* A waiting login: its own machine only, gone once approved. */
	request(&r, 20, "phone");
	assert_int_equal(registry_register_pending(f->reg, &r, id, &err), 0);
	assert_int_equal(registry_pending_check(f->reg, id, r.machine_key), 0);
	assert_int_equal(registry_pending_check(f->reg, id, other), -EACCES);
	assert_int_equal(registry_pending_check(f->reg, "0123", r.machine_key), -ENOENT);
	assert_int_equal(registry_approve(f->reg, id, "alice", NULL, &err), 0);
	assert_int_equal(registry_pending_check(f->reg, id, r.machine_key), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_unique_names),
		cmocka_unit_test(test_authkey_text),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_use_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reusable_and_bad_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tagged_and_ephemeral, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reregistration_keeps_identity, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pending_approval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_rename_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exhaustion, setup_tiny, teardown),
		cmocka_unit_test_setup_teardown(test_routes_and_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_changes, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
