// SPDX-License-Identifier: MIT
/*
 * prefs: defaults, the strict JSON codec (round trips, every kind of bad
 * input refused with a message naming the key), the merge rules of up/set
 * and reset (checked field by field against a naive model over random
 * prefs), validation with its exact messages, and the flag text parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/prefs.h"

static char err[PREFS_ERROR_MAX];

/* A deterministic PRNG so failures reproduce (xorshift64*). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 33) % n;
}

static cJSON *parse(const char *text)
{
	cJSON *j = cJSON_Parse(text);

	assert_non_null(j);
	return j;
}

/* Decode @text into @p; returns the result and leaves the message in err. */
static int decode_text(struct prefs *p, struct prefs_mask *m, const char *text)
{
	cJSON *j = parse(text);
	int ret;

	err[0] = '\0';
	ret = prefs_from_json(p, m, j, err, sizeof(err));
	cJSON_Delete(j);
	return ret;
}

static void set_field(struct prefs *p, enum prefs_field f, const char *text)
{
	assert_int_equal(prefs_parse_field(p, f, text, err, sizeof(err)), 0);
}

/* Every field away from its default. */
static void fill_all(struct prefs *p)
{
	prefs_init(p);
	p->want_running = true;
	strcpy(p->login_server, "https://mesh.example.com");
	strcpy(p->hostname, "laptop");
	set_field(p, PREFS_ADVERTISE_ROUTES, "192.168.1.0/24,fd00:1::/64");
	p->advertise_exit_node = true;
	set_field(p, PREFS_ADVERTISE_TAGS, "tag:server,tag:prod-1");
	p->accept_routes = true;
	p->accept_dns = false;
	strcpy(p->exit_node, "gateway");
	p->exit_node_allow_lan_access = true;
	p->shields_up = true;
	p->snat_subnet_routes = false;
}

static void test_defaults(void **state)
{
	struct prefs p;
	cJSON *j;
	char *text;

	(void)state;
	memset(&p, 0xa5, sizeof(p));
	prefs_init(&p);
	assert_false(p.want_running);
	assert_true(p.accept_dns);
	assert_true(p.snat_subnet_routes);
	assert_false(p.accept_routes || p.advertise_exit_node || p.shields_up ||
		     p.exit_node_allow_lan_access);
	assert_string_equal(p.login_server, "");
	assert_string_equal(p.hostname, "");
	assert_string_equal(p.exit_node, "");
	assert_int_equal(p.advertise_routes.n, 0);
	assert_int_equal(p.advertise_tags.n, 0);
	assert_int_equal(prefs_validate(&p, NULL, err, sizeof(err)), 0);

	/* The whole object, in the documented names and enum order. */
	j = prefs_to_json(&p, NULL);
	assert_non_null(j);
	text = cJSON_PrintUnformatted(j);
	assert_string_equal(text,
			    "{\"want_running\":false,\"login_server\":\"\",\"hostname\":\"\","
			    "\"advertise_routes\":[],\"advertise_exit_node\":false,"
			    "\"advertise_tags\":[],\"accept_routes\":false,\"accept_dns\":true,"
			    "\"exit_node\":\"\",\"exit_node_allow_lan_access\":false,"
			    "\"shields_up\":false,\"snat_subnet_routes\":true}");
	cJSON_free(text);
	cJSON_Delete(j);
}

static void test_field_names(void **state)
{
	(void)state;
	for (int f = 0; f < PREFS_FIELD_COUNT; f++) {
		char dashed[64];

		assert_int_equal(prefs_field_lookup(prefs_field_name(f), false), f);
		snprintf(dashed, sizeof(dashed), "%s", prefs_field_name(f));
		for (char *c = dashed; *c; c++) {
			if (*c == '_')
				*c = '-';
		}
		assert_int_equal(prefs_field_lookup(dashed, true), f);
		if (strchr(prefs_field_name(f), '_'))
			assert_int_equal(prefs_field_lookup(dashed, false), -ENOENT);
	}
	assert_int_equal(prefs_field_lookup("accept-dns", true), PREFS_ACCEPT_DNS);
	assert_int_equal(prefs_field_lookup("accept", true), -ENOENT);
	assert_int_equal(prefs_field_lookup("accept_dns_", false), -ENOENT);
	assert_int_equal(prefs_field_lookup("", false), -ENOENT);
	assert_null(prefs_field_name(PREFS_FIELD_COUNT));
	assert_true(prefs_field_is_bool(PREFS_SHIELDS_UP));
	assert_false(prefs_field_is_bool(PREFS_HOSTNAME));
	assert_false(prefs_field_is_bool(PREFS_ADVERTISE_ROUTES));
}

static void test_json_round_trip(void **state)
{
	struct prefs a, b;
	struct prefs_mask m = {0};
	cJSON *j, *back;
	char *text;

	(void)state;
	fill_all(&a);
	assert_int_equal(prefs_validate(&a, NULL, err, sizeof(err)), -EINVAL); /* exit node + adv */
	a.advertise_exit_node = false;
	assert_int_equal(prefs_validate(&a, NULL, err, sizeof(err)), 0);
	j = prefs_to_json(&a, NULL);
	text = cJSON_PrintUnformatted(j);
	back = parse(text);
	prefs_init(&b);
	assert_int_equal(prefs_from_json(&b, &m, back, err, sizeof(err)), 0);
	assert_true(prefs_equal(&a, &b));
	assert_int_equal(m.fields, (1u << PREFS_FIELD_COUNT) - 1);
	assert_non_null(strstr(text, "\"advertise_routes\":[\"192.168.1.0/24\",\"fd00:1::/64\"]"));
	assert_non_null(strstr(text, "\"advertise_tags\":[\"tag:server\",\"tag:prod-1\"]"));
	cJSON_free(text);
	cJSON_Delete(j);
	cJSON_Delete(back);

	/* A masked encoding holds exactly the named fields; decoding names them again. */
	m.fields = 0;
	prefs_mask_add(&m, PREFS_HOSTNAME);
	prefs_mask_add(&m, PREFS_ACCEPT_DNS);
	j = prefs_to_json(&a, &m);
	text = cJSON_PrintUnformatted(j);
	assert_string_equal(text, "{\"hostname\":\"laptop\",\"accept_dns\":false}");
	prefs_init(&b);
	m.fields = 0;
	assert_int_equal(prefs_from_json(&b, &m, j, err, sizeof(err)), 0);
	assert_int_equal(m.fields, (1u << PREFS_HOSTNAME) | (1u << PREFS_ACCEPT_DNS));
	assert_string_equal(b.hostname, "laptop");
	assert_false(b.accept_dns);
	assert_true(b.snat_subnet_routes); /* untouched */
	cJSON_free(text);
	cJSON_Delete(j);
}

static void test_json_strict(void **state)
{
	static const struct {
		const char *json;
		const char *msg;
	} bad[] = {
		{"{\"hostnme\": \"x\"}", "unknown key \"hostnme\""},
		{"{\"reset\": true}", "unknown key \"reset\""},
		{"{\"Hostname\": \"x\"}", "unknown key \"Hostname\""},
		{"{\"hostname\": 5}", "\"hostname\" must be a string, not a number"},
		{"{\"hostname\": null}", "\"hostname\" must be a string, not null"},
		{"{\"accept_dns\": \"true\"}", "\"accept_dns\" must be a boolean, not a string"},
		{"{\"accept_dns\": 1}", "\"accept_dns\" must be a boolean, not a number"},
		{"{\"advertise_routes\": \"10.0.0.0/8\"}",
		 "\"advertise_routes\" must be an array of strings, not a string"},
		{"{\"advertise_routes\": [\"10.0.0.0/8\", 7]}",
		 "\"advertise_routes\"[1] must be a string, not a number"},
		{"{\"advertise_routes\": [\"10.0.0.0/33\"]}",
		 "\"advertise_routes\"[0]: \"10.0.0.0/33\" is not an IP prefix: prefix length out "
		 "of "
		 "range"},
		{"{\"advertise_routes\": [\"\"]}",
		 "\"advertise_routes\"[0]: \"\" is not an IP prefix"},
		{"{\"advertise_tags\": {}}",
		 "\"advertise_tags\" must be an array of strings, not an "
		 "object"},
		{"{\"advertise_tags\": [[]]}",
		 "\"advertise_tags\"[0] must be a string, not an array"},
		{"{\"shields_up\": true, \"shields_up\": false}", "duplicate key \"shields_up\""},
		{"[]", "prefs must be a JSON object, not an array"},
		{"\"x\"", "prefs must be a JSON object, not a string"},
	};
	struct prefs p, before;
	struct prefs_mask m;
	char text[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fill_all(&p);
		before = p;
		m.fields = 0;
		assert_int_equal(decode_text(&p, &m, bad[i].json), -EINVAL);
		if (!strstr(err, bad[i].msg))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].json, err, bad[i].msg);
		/* A failed decode changes nothing, not even the fields before the bad one. */
		assert_true(prefs_equal(&p, &before));
		assert_int_equal(m.fields, 0);
	}
	/* A partial change before a bad key is not applied either. */
	fill_all(&p);
	before = p;
	assert_int_equal(decode_text(&p, NULL, "{\"hostname\": \"other\", \"shields_up\": 0}"),
			 -EINVAL);
	assert_true(prefs_equal(&p, &before));

	/* Sizes: a 63-character hostname fits, 64 does not. */
	snprintf(text, sizeof(text), "{\"hostname\": \"%063d\"}", 0);
	assert_int_equal(decode_text(&p, NULL, text), 0);
	snprintf(text, sizeof(text), "{\"hostname\": \"%064d\"}", 0);
	assert_int_equal(decode_text(&p, NULL, text), -EINVAL);
	assert_non_null(strstr(err, "\"hostname\": "));
	assert_non_null(strstr(err, "is longer than 63 characters"));
}

static void test_json_list_limits(void **state)
{
	struct prefs p;
	cJSON *j, *arr;
	char buf[64];

	(void)state;
	j = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(j, "advertise_routes");
	for (int i = 0; i <= PREFS_ROUTES_MAX; i++) {
		snprintf(buf, sizeof(buf), "10.%d.%d.0/24", i / 256, i % 256);
		cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
	}
	prefs_init(&p);
	assert_int_equal(prefs_from_json(&p, NULL, j, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 256 routes"));
	/* Exactly the limit is fine. */
	cJSON_DeleteItemFromArray(arr, PREFS_ROUTES_MAX);
	assert_int_equal(prefs_from_json(&p, NULL, j, err, sizeof(err)), 0);
	assert_int_equal(p.advertise_routes.n, PREFS_ROUTES_MAX);
	assert_int_equal(prefs_validate(&p, NULL, err, sizeof(err)), 0);
	cJSON_Delete(j);

	j = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(j, "advertise_tags");
	for (int i = 0; i <= PREFS_TAGS_MAX; i++) {
		snprintf(buf, sizeof(buf), "tag:t%d", i);
		cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
	}
	assert_int_equal(prefs_from_json(&p, NULL, j, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 32 tags"));
	cJSON_Delete(j);
}

static void test_patch_reset(void **state)
{
	struct prefs p;
	struct prefs_mask m = {0};
	bool reset = true;
	cJSON *j;

	(void)state;
	prefs_init(&p);
	j = parse("{\"hostname\": \"a\"}");
	assert_int_equal(prefs_patch_from_json(&p, &m, &reset, j, err, sizeof(err)), 0);
	assert_false(reset);
	cJSON_Delete(j);

	j = parse("{\"hostname\": \"b\", \"reset\": true}");
	m.fields = 0;
	assert_int_equal(prefs_patch_from_json(&p, &m, &reset, j, err, sizeof(err)), 0);
	assert_true(reset);
	assert_int_equal(m.fields, 1u << PREFS_HOSTNAME);
	assert_string_equal(p.hostname, "b");
	cJSON_Delete(j);

	j = parse("{\"reset\": \"yes\"}");
	assert_int_equal(prefs_patch_from_json(&p, &m, &reset, j, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "\"reset\" must be a boolean, not a string");
	cJSON_Delete(j);
	j = parse("{\"reset\": false, \"reset\": true}");
	assert_int_equal(prefs_patch_from_json(&p, &m, &reset, j, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "duplicate key \"reset\"");
	cJSON_Delete(j);
}

/* `set` (and `up` without --reset): only the named fields change. */
static void test_merge_set(void **state)
{
	struct prefs cur, patch, want;
	struct prefs_mask m = {0};

	(void)state;
	prefs_init(&cur);
	cur.want_running = true;
	strcpy(cur.hostname, "a");
	set_field(&cur, PREFS_ADVERTISE_ROUTES, "10.0.0.0/8");
	cur.accept_routes = true;

	prefs_init(&patch);
	strcpy(patch.hostname, "b");
	prefs_mask_add(&m, PREFS_HOSTNAME);
	want = cur;
	strcpy(want.hostname, "b");
	prefs_apply(&cur, &patch, &m, false);
	assert_true(prefs_equal(&cur, &want));
	assert_int_equal(cur.advertise_routes.n, 1);
	assert_true(cur.accept_routes);

	/* Naming a field with its default value sets it: --advertise-routes= clears. */
	m.fields = 0;
	prefs_mask_add(&m, PREFS_ADVERTISE_ROUTES);
	prefs_apply(&cur, &patch, &m, false);
	assert_int_equal(cur.advertise_routes.n, 0);
	assert_string_equal(cur.hostname, "b");
	assert_true(cur.want_running);

	/* Nothing named, no reset: nothing changes. */
	want = cur;
	prefs_apply(&cur, &patch, NULL, false);
	assert_true(prefs_equal(&cur, &want));
}

/* `up --reset`: the named fields are set, every other one goes back to its default. */
static void test_merge_reset(void **state)
{
	struct prefs cur, patch, def;
	struct prefs_mask m = {0};

	(void)state;
	fill_all(&cur);
	prefs_init(&patch);
	strcpy(patch.hostname, "b");
	patch.want_running = true;
	prefs_mask_add(&m, PREFS_HOSTNAME);
	prefs_mask_add(&m, PREFS_WANT_RUNNING);
	prefs_apply(&cur, &patch, &m, true);
	assert_string_equal(cur.hostname, "b");
	assert_true(cur.want_running);
	assert_string_equal(cur.login_server, "");
	assert_int_equal(cur.advertise_routes.n, 0);
	assert_int_equal(cur.advertise_tags.n, 0);
	assert_true(cur.accept_dns);
	assert_true(cur.snat_subnet_routes);
	assert_false(cur.shields_up);

	/* A reset naming nothing gives the defaults; dst and src may alias. */
	fill_all(&cur);
	prefs_apply(&cur, &cur, NULL, true);
	prefs_init(&def);
	assert_true(prefs_equal(&cur, &def));
	fill_all(&cur);
	def = cur;
	m.fields = (1u << PREFS_FIELD_COUNT) - 1;
	prefs_apply(&cur, &cur, &m, true);
	assert_true(prefs_equal(&cur, &def));
}

static void random_prefs(struct prefs *p)
{
	static const char *const hosts[] = {"", "a", "laptop", "server-2"};
	static const char *const routes[] = {"", "10.0.0.0/8", "10.0.0.0/8,192.168.0.0/16",
					     "fd00::/64"};
	static const char *const tags[] = {"", "tag:a", "tag:a,tag:b"};

	prefs_init(p);
	for (int f = 0; f < PREFS_FIELD_COUNT; f++) {
		if (prefs_field_is_bool(f))
			set_field(p, f, rnd(2) ? "true" : "false");
	}
	set_field(p, PREFS_HOSTNAME, hosts[rnd(4)]);
	set_field(p, PREFS_LOGIN_SERVER, rnd(2) ? "" : "https://x.example");
	set_field(p, PREFS_EXIT_NODE, rnd(2) ? "" : "100.64.0.9");
	set_field(p, PREFS_ADVERTISE_ROUTES, routes[rnd(4)]);
	set_field(p, PREFS_ADVERTISE_TAGS, tags[rnd(3)]);
}

/* prefs_diff() against field-by-field comparisons written out by hand. */
static bool naive_field_equal(const struct prefs *a, const struct prefs *b, int f)
{
	switch (f) {
	case PREFS_WANT_RUNNING:
		return a->want_running == b->want_running;
	case PREFS_LOGIN_SERVER:
		return !strcmp(a->login_server, b->login_server);
	case PREFS_HOSTNAME:
		return !strcmp(a->hostname, b->hostname);
	case PREFS_ADVERTISE_ROUTES:
		if (a->advertise_routes.n != b->advertise_routes.n)
			return false;
		for (size_t i = 0; i < a->advertise_routes.n; i++) {
			if (!ip_prefix_equal(&a->advertise_routes.prefix[i],
					     &b->advertise_routes.prefix[i]))
				return false;
		}
		return true;
	case PREFS_ADVERTISE_EXIT_NODE:
		return a->advertise_exit_node == b->advertise_exit_node;
	case PREFS_ADVERTISE_TAGS:
		if (a->advertise_tags.n != b->advertise_tags.n)
			return false;
		for (size_t i = 0; i < a->advertise_tags.n; i++) {
			if (strcmp(a->advertise_tags.tag[i], b->advertise_tags.tag[i]))
				return false;
		}
		return true;
	case PREFS_ACCEPT_ROUTES:
		return a->accept_routes == b->accept_routes;
	case PREFS_ACCEPT_DNS:
		return a->accept_dns == b->accept_dns;
	case PREFS_EXIT_NODE:
		return !strcmp(a->exit_node, b->exit_node);
	case PREFS_EXIT_NODE_ALLOW_LAN_ACCESS:
		return a->exit_node_allow_lan_access == b->exit_node_allow_lan_access;
	case PREFS_SHIELDS_UP:
		return a->shields_up == b->shields_up;
	case PREFS_SNAT_SUBNET_ROUTES:
		return a->snat_subnet_routes == b->snat_subnet_routes;
	}
	fail_msg("field %d has no naive comparison", f);
	return false;
}

/* Property: for random A, B, mask and reset, each field of apply's result is the model's. */
static void test_merge_property(void **state)
{
	struct prefs a, b, r, def;
	struct prefs_mask m, d;

	(void)state;
	prefs_init(&def);
	for (int iter = 0; iter < 20000; iter++) {
		bool reset = rnd(2);

		random_prefs(&a);
		random_prefs(&b);
		m.fields = rnd(1u << PREFS_FIELD_COUNT);
		r = a;
		prefs_apply(&r, &b, &m, reset);
		for (int f = 0; f < PREFS_FIELD_COUNT; f++) {
			const struct prefs *want = prefs_mask_has(&m, f) ? &b : reset ? &def : &a;

			if (!naive_field_equal(&r, want, f))
				fail_msg("iteration %d: field %s wrong (mask %#x reset %d)", iter,
					 prefs_field_name(f), m.fields, reset);
		}
		/* prefs_diff agrees with the naive comparison on every field. */
		prefs_diff(&a, &b, &d);
		for (int f = 0; f < PREFS_FIELD_COUNT; f++)
			assert_int_equal(prefs_mask_has(&d, f), !naive_field_equal(&a, &b, f));
		assert_int_equal(prefs_equal(&a, &b), d.fields == 0);
	}
}

static void expect_invalid(const struct prefs *p, enum prefs_field field, const char *msg)
{
	enum prefs_field bad = PREFS_FIELD_COUNT;

	err[0] = '\0';
	assert_int_equal(prefs_validate(p, &bad, err, sizeof(err)), -EINVAL);
	if (strcmp(err, msg))
		fail_msg("got \"%s\", want \"%s\"", err, msg);
	assert_int_equal(bad, field);
}

static void expect_valid(const struct prefs *p)
{
	if (prefs_validate(p, NULL, err, sizeof(err)))
		fail_msg("unexpected error: %s", err);
}

static void test_validate_routes(void **state)
{
	struct prefs p;

	(void)state;
	prefs_init(&p);
	set_field(&p, PREFS_ADVERTISE_ROUTES, "192.168.1.1/24");
	expect_invalid(&p, PREFS_ADVERTISE_ROUTES,
		       "192.168.1.1/24 has host bits set; did you mean 192.168.1.0/24?");
	set_field(&p, PREFS_ADVERTISE_ROUTES, "10.0.0.0/8,fd00::1/64");
	expect_invalid(&p, PREFS_ADVERTISE_ROUTES,
		       "fd00::1/64 has host bits set; did you mean fd00::/64?");
	set_field(&p, PREFS_ADVERTISE_ROUTES, "0.0.0.0/0");
	expect_invalid(&p, PREFS_ADVERTISE_ROUTES,
		       "0.0.0.0/0 is a default route; advertise an exit node instead");
	set_field(&p, PREFS_ADVERTISE_ROUTES, "::/0");
	expect_invalid(&p, PREFS_ADVERTISE_ROUTES,
		       "::/0 is a default route; advertise an exit node instead");
	set_field(&p, PREFS_ADVERTISE_ROUTES, "10.0.0.0/8,192.168.0.0/16,10.0.0.0/8");
	expect_invalid(&p, PREFS_ADVERTISE_ROUTES, "10.0.0.0/8 is listed twice");
	set_field(&p, PREFS_ADVERTISE_ROUTES, "10.0.0.0/8, 10.0.0.0/16 ,192.168.1.7/32,fd7a::/48");
	expect_valid(&p);
	assert_int_equal(p.advertise_routes.n, 4);
}

static void test_validate_tags(void **state)
{
	static const char *const good[] = {"tag:server", "tag:a", "tag:prod-1", "tag:0"};
	static const struct {
		const char *tag, *msg;
	} bad[] = {
		{"server", "\"server\" is not a valid tag; did you mean tag:server?"},
		{"tag:Server", "\"tag:Server\" is not a valid tag: tags look like tag:name, with "
			       "lowercase letters, digits and '-'"},
		{"tag:", "\"tag:\" is not a valid tag: tags look like tag:name, with lowercase "
			 "letters, digits and '-'"},
		{"tag:a_b", "\"tag:a_b\" is not a valid tag: tags look like tag:name, with "
			    "lowercase letters, digits and '-'"},
		{"tag:a b", "\"tag:a b\" is not a valid tag: tags look like tag:name, with "
			    "lowercase letters, digits and '-'"},
		{"TAG:a", "\"TAG:a\" is not a valid tag: tags look like tag:name, with lowercase "
			  "letters, digits and '-'"},
	};
	struct prefs p;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		prefs_init(&p);
		set_field(&p, PREFS_ADVERTISE_TAGS, good[i]);
		expect_valid(&p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		prefs_init(&p);
		strcpy(p.advertise_tags.tag[0], bad[i].tag);
		p.advertise_tags.n = 1;
		expect_invalid(&p, PREFS_ADVERTISE_TAGS, bad[i].msg);
	}
	prefs_init(&p);
	set_field(&p, PREFS_ADVERTISE_TAGS, "tag:a,tag:b,tag:a");
	expect_invalid(&p, PREFS_ADVERTISE_TAGS, "tag:a is listed twice");
}

static void test_validate_hostname(void **state)
{
	static const char *const good[] = {"", "a", "laptop", "Laptop-2", "0abc", "x-y-z"};
	static const char *const bad[] = {"-a", "a-", "a.b", "my_host", "a b", "é"};
	char name[80], msg[256];
	struct prefs p;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		prefs_init(&p);
		strcpy(p.hostname, good[i]);
		expect_valid(&p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		prefs_init(&p);
		strcpy(p.hostname, bad[i]);
		snprintf(msg, sizeof(msg),
			 "\"%s\" is not a valid host name: use letters, digits and '-' (not at "
			 "either end), at most 63 characters",
			 bad[i]);
		expect_invalid(&p, PREFS_HOSTNAME, msg);
	}
	/* 63 is the longest label; 64 does not even parse. */
	prefs_init(&p);
	memset(name, 'a', 63);
	name[63] = '\0';
	set_field(&p, PREFS_HOSTNAME, name);
	expect_valid(&p);
	name[63] = 'a';
	name[64] = '\0';
	assert_int_equal(prefs_parse_field(&p, PREFS_HOSTNAME, name, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is longer than 63 characters"));
	assert_int_equal(strlen(p.hostname), 63);
}

static void test_validate_login_server(void **state)
{
	static const char *const good[] = {
		"https://mesh.example.com",
		"http://127.0.0.1:8080",
		"https://[::1]:443/",
		"https://mesh.example.com/prefix/",
		"HTTPS://Mesh.Example.com",
		"http://localhost",
		"https://mesh.example.com.:8443?x=1",
	};
	static const struct {
		const char *url, *msg;
	} bad[] = {
		{"mesh.example.com",
		 "\"mesh.example.com\" is not a URL: it must start with https:// or http://"},
		{"ftp://mesh.example.com",
		 "\"ftp://mesh.example.com\" is not a URL: it must start with https:// or http://"},
		{"https://", "\"https://\" has no host name"},
		{"https:///path", "\"https:///path\" has no host name"},
		{"https://:443", "\"https://:443\" has no host name"},
		{"https://host:99999", "\"https://host:99999\" has a bad port"},
		{"https://host:0", "\"https://host:0\" has a bad port"},
		{"https://host:", "\"https://host:\" has a bad port"},
		{"https://host:8a", "\"https://host:8a\" has a bad port"},
		{"https://ho st", "\"https://ho st\" contains white space or a control character"},
		{"https://user@host",
		 "\"https://user@host\": user names in the URL are not supported"},
		{"https://[::1", "\"https://[::1\" has a bad IPv6 host"},
		{"https://[1.2.3.4]", "\"https://[1.2.3.4]\" has a bad IPv6 host"},
		{"https://[::1]x", "\"https://[::1]x\" has a bad host"},
		{"https://a_b.example", "\"https://a_b.example\" has a bad host name"},
	};
	struct prefs p;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		prefs_init(&p);
		set_field(&p, PREFS_LOGIN_SERVER, good[i]);
		expect_valid(&p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		prefs_init(&p);
		set_field(&p, PREFS_LOGIN_SERVER, bad[i].url);
		expect_invalid(&p, PREFS_LOGIN_SERVER, bad[i].msg);
	}
}

static void test_validate_exit_node(void **state)
{
	static const char *const good[] = {"100.64.0.5", "fd7a:115c:a1e0::5", "server",
					   "server.mesh.internal", "server.mesh.internal."};
	static const char *const bad[] = {"bad name!", "-x", "a..b", "100.64.0.5/32"};
	char msg[128];
	struct prefs p;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		prefs_init(&p);
		set_field(&p, PREFS_EXIT_NODE, good[i]);
		expect_valid(&p);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		prefs_init(&p);
		set_field(&p, PREFS_EXIT_NODE, bad[i]);
		snprintf(msg, sizeof(msg), "\"%s\" is neither an IP address nor a node name",
			 bad[i]);
		expect_invalid(&p, PREFS_EXIT_NODE, msg);
	}
	prefs_init(&p);
	set_field(&p, PREFS_EXIT_NODE, "server");
	p.advertise_exit_node = true;
	expect_invalid(&p, PREFS_EXIT_NODE,
		       "cannot use an exit node while advertising this node as one");
}

static void test_parse_field(void **state)
{
	struct prefs p, before;

	(void)state;
	prefs_init(&p);
	set_field(&p, PREFS_SHIELDS_UP, "true");
	assert_true(p.shields_up);
	set_field(&p, PREFS_SHIELDS_UP, "0");
	assert_false(p.shields_up);
	set_field(&p, PREFS_SHIELDS_UP, "1");
	assert_true(p.shields_up);
	assert_int_equal(prefs_parse_field(&p, PREFS_SHIELDS_UP, "yes", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "\"yes\" is not a boolean (true or false)");
	assert_true(p.shields_up);
	assert_int_equal(prefs_parse_field(&p, PREFS_ACCEPT_DNS, "", err, sizeof(err)), -EINVAL);

	set_field(&p, PREFS_ADVERTISE_ROUTES, " 10.0.0.0/8 ,\t192.168.0.0/16");
	assert_int_equal(p.advertise_routes.n, 2);
	before = p;
	assert_int_equal(prefs_parse_field(&p, PREFS_ADVERTISE_ROUTES, "10.1.0.0/16,,10.2.0.0/16",
					   err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "\"10.1.0.0/16,,10.2.0.0/16\" has an empty item");
	assert_true(prefs_equal(&p, &before)); /* unchanged on failure */
	assert_int_equal(
		prefs_parse_field(&p, PREFS_ADVERTISE_ROUTES, "10.1.0.0/16,", err, sizeof(err)),
		-EINVAL);
	assert_int_equal(
		prefs_parse_field(&p, PREFS_ADVERTISE_ROUTES, "10.1.0.0", err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err,
			    "\"10.1.0.0\" is not an IP prefix: missing prefix length (ADDR/N)");
	assert_true(prefs_equal(&p, &before));
	set_field(&p, PREFS_ADVERTISE_ROUTES, "");
	assert_int_equal(p.advertise_routes.n, 0);

	set_field(&p, PREFS_ADVERTISE_TAGS, "tag:a, tag:b");
	assert_int_equal(p.advertise_tags.n, 2);
	assert_string_equal(p.advertise_tags.tag[1], "tag:b");
	set_field(&p, PREFS_EXIT_NODE, "");
	assert_string_equal(p.exit_node, "");
	assert_int_equal(prefs_parse_field(&p, PREFS_FIELD_COUNT, "x", err, sizeof(err)), -EINVAL);
	assert_int_equal(prefs_parse_field(&p, PREFS_HOSTNAME, NULL, err, sizeof(err)), -EINVAL);
}

/* Random corruptions of a valid document: decoded or refused, never a crash. */
static void test_json_mutations(void **state)
{
	struct prefs p;
	char *text, *copy;
	size_t len;
	cJSON *j;
	int ok = 0;

	(void)state;
	fill_all(&p);
	j = prefs_to_json(&p, NULL);
	text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	len = strlen(text);
	copy = malloc(len + 1);
	assert_non_null(copy);
	for (int iter = 0; iter < 20000; iter++) {
		struct prefs q;
		bool reset;

		memcpy(copy, text, len + 1);
		for (int k = 1 + (int)rnd(4); k > 0; k--)
			copy[rnd((uint32_t)len)] = "\"{}[],:0aZ-/. \\t"[rnd(16)];
		j = cJSON_Parse(copy);
		if (!j)
			continue;
		prefs_init(&q);
		if (!prefs_patch_from_json(&q, NULL, &reset, j, err, sizeof(err))) {
			ok++;
			prefs_validate(&q, NULL, err, sizeof(err));
		} else {
			assert_true(strlen(err) > 0);
		}
		cJSON_Delete(j);
	}
	assert_true(ok > 0);
	free(copy);
	cJSON_free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_field_names),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_strict),
		cmocka_unit_test(test_json_list_limits),
		cmocka_unit_test(test_patch_reset),
		cmocka_unit_test(test_merge_set),
		cmocka_unit_test(test_merge_reset),
		cmocka_unit_test(test_merge_property),
		cmocka_unit_test(test_validate_routes),
		cmocka_unit_test(test_validate_tags),
		cmocka_unit_test(test_validate_hostname),
		cmocka_unit_test(test_validate_login_server),
		cmocka_unit_test(test_validate_exit_node),
		cmocka_unit_test(test_parse_field),
		cmocka_unit_test(test_json_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
