// SPDX-License-Identifier: MIT
/*
 * The admin API without a socket: request envelopes (good, malformed, unknown
 * method, missing parameters), error codes, and the exact JSON shape of
 * nodes.list that design.md §6 promises to scripts.
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

#include "server/adminapi.h"
#include "server/store_sqlite.h"

struct fixture {
	char dir[64];
	char path[128];
	struct store *st;
	struct registry *reg;
	int64_t now;
};

static int64_t fake_now(void *arg)
{
	return ((struct fixture *)arg)->now;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct registry_options opt = {
		.base_domain = "mesh.test",
		.node_key_expiry = 86400,
		.ephemeral_timeout = 600,
		.now = fake_now,
	};

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_adminapi.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/db.sqlite", f->dir);
	f->now = 1700000000;
	if (store_sqlite_open(&f->st, f->path, NULL))
		return -1;
	opt.store = f->st;
	opt.now_arg = f;
	ip_prefix_parse(&opt.prefix_v4, "100.64.0.0/10", NULL);
	ip_prefix_parse(&opt.prefix_v6, "fd7a:115c:a1e0::/48", NULL);
	if (registry_create(&f->reg, &opt))
		return -1;
	*state = f;
	return 0;
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

/* Send @req and return the parsed response (caller frees). */
static cJSON *call(struct fixture *f, const char *req)
{
	char *resp = adminapi_handle(f->reg, req, strlen(req));
	cJSON *j;

	assert_non_null(resp);
	j = cJSON_Parse(resp);
	if (!j)
		fail_msg("not JSON: %s", resp);
	free(resp);
	return j;
}

static void expect_error(struct fixture *f, const char *req, const char *code, const char *msg)
{
	cJSON *j = call(f, req);
	const cJSON *err = cJSON_GetObjectItem(j, "error");

	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
	assert_string_equal(cJSON_GetObjectItem(j, "code")->valuestring, code);
	if (!cJSON_IsString(err) || !strstr(err->valuestring, msg))
		fail_msg("%s: error %s, want ...%s...", req,
			 cJSON_IsString(err) ? err->valuestring : "(none)", msg);
	assert_null(cJSON_GetObjectItem(j, "result"));
	cJSON_Delete(j);
}

static cJSON *expect_ok(struct fixture *f, const char *req)
{
	cJSON *j = call(f, req), *res;

	if (!cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")))
		fail_msg("%s: %s", req, cJSON_PrintUnformatted(j));
	res = cJSON_DetachItemFromObject(j, "result");
	cJSON_Delete(j);
	return res;
}

static void test_envelope(void **state)
{
	struct fixture *f = *state;
	cJSON *res;

	expect_error(f, "not json", "EINVAL", "a request is a JSON object");
	expect_error(f, "[1]", "EINVAL", "a request is a JSON object");
	expect_error(f, "{\"method\": 5}", "EINVAL", "\"method\" string");
	expect_error(f, "{\"method\": \"users.list\", \"params\": []}", "EINVAL",
		     "\"params\" must be an object");
	expect_error(f, "{\"method\": \"frob\"}", "ENOSYS", "unknown method \"frob\"");
	expect_error(f, "{\"method\": \"users.create\"}", "EINVAL",
		     "parameter \"name\" must be a string");
	expect_error(f, "{\"method\": \"users.create\", \"params\": {\"name\": 7}}", "EINVAL",
		     "parameter \"name\" must be a string");
	expect_error(f, "{\"method\": \"users.delete\", \"params\": {\"name\": \"x\"}}", "ENOENT",
		     "no user named x");
	expect_error(f, "{\"method\": \"routes.approve\", \"params\": {\"node\": \"x\"}}", "EINVAL",
		     "\"prefixes\" must be a non-empty array");
	expect_error(f, "{\"method\": \"authkeys.create\", \"params\": {\"user\": \"x\"}}",
		     "EINVAL", "\"expiration\" must be a number of seconds");
	res = expect_ok(f, "{\"method\": \"ping\"}");
	assert_int_equal((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(res, "time")), f->now);
	cJSON_Delete(res);
	res = expect_ok(f, "{\"method\": \"users.create\", \"params\": {\"name\": \"alice\"}}");
	assert_string_equal(cJSON_GetObjectItem(res, "name")->valuestring, "alice");
	assert_string_equal(cJSON_GetObjectItem(res, "created")->valuestring,
			    "2023-11-14T22:13:20Z");
	cJSON_Delete(res);
	expect_error(f, "{\"method\": \"users.create\", \"params\": {\"name\": \"alice\"}}",
		     "EEXIST", "already exists");
}

static void test_authkeys(void **state)
{
	struct fixture *f = *state;
	cJSON *res, *list;
	const char *key;
	char *tags;

	cJSON_Delete(
		expect_ok(f, "{\"method\": \"users.create\", \"params\": {\"name\": \"ci\"}}"));
	res = expect_ok(f, "{\"method\": \"authkeys.create\", \"params\": {\"user\": \"ci\","
			   " \"reusable\": true, \"tags\": [\"tag:b\", \"tag:a\"],"
			   " \"expiration\": 3600}}");
	key = cJSON_GetObjectItem(res, "key")->valuestring;
	assert_int_equal(strlen(key), AUTHKEY_STR_LEN);
	assert_memory_equal(key + 6, cJSON_GetObjectItem(res, "prefix")->valuestring,
			    AUTHKEY_PREFIX_LEN);
	assert_string_equal(cJSON_GetObjectItem(res, "state")->valuestring, "valid");
	assert_string_equal(cJSON_GetObjectItem(res, "expiry")->valuestring,
			    "2023-11-14T23:13:20Z");
	cJSON_Delete(res);
	expect_error(f,
		     "{\"method\": \"authkeys.create\", \"params\": {\"user\": \"ci\","
		     " \"tags\": \"tag:a\", \"expiration\": 60}}",
		     "EINVAL", "\"tags\" must be an array");
	list = expect_ok(f, "{\"method\": \"authkeys.list\"}");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	res = cJSON_GetArrayItem(list, 0);
	assert_null(cJSON_GetObjectItem(res, "key"));
	tags = cJSON_PrintUnformatted(cJSON_GetObjectItem(res, "tags"));
	assert_string_equal(tags, "[\"tag:a\",\"tag:b\"]");
	free(tags);
	cJSON_Delete(list);
}

static void register_node(struct fixture *f, int machine, const char *host, const char *user,
			  const char *tags, const char *const *routes, size_t n_routes)
{
	struct registry_authkey_request kr = {
		.user = user, .reusable = true, .tags = tags, .expiration = 3600};
	struct registry_request req = {0};
	char key[AUTHKEY_STR_LEN + 1];
	struct registry_error err;
	struct store_node node;

	memset(req.machine_key, machine, STORE_KEY_LEN);
	memset(req.node_key, machine + 1, STORE_KEY_LEN);
	req.hostname = host;
	req.routes = routes;
	req.n_routes = n_routes;
	assert_int_equal(registry_authkey_create(f->reg, &kr, key, NULL, &err), 0);
	if (registry_register_authkey(f->reg, &req, key, &node, &err))
		fail_msg("register: %s", err.msg);
}

static void test_nodes_list_shape(void **state)
{
	struct fixture *f = *state;
	const char *routes[] = {"10.0.0.0/24", "0.0.0.0/0"};
	char *text;
	cJSON *list;

	cJSON_Delete(
		expect_ok(f, "{\"method\": \"users.create\", \"params\": {\"name\": \"bob\"}}"));
	register_node(f, 1, "Bob's Laptop", "bob", NULL, NULL, 0);
	register_node(f, 3, "router", "bob", "tag:gw", routes, 2);
	cJSON_Delete(expect_ok(f, "{\"method\": \"routes.approve\", \"params\": {\"node\": "
				  "\"router\", \"prefixes\": [\"10.0.0.0/24\"]}}"));
	registry_node_set_online(f->reg, 1, true);
	list = expect_ok(f, "{\"method\": \"nodes.list\"}");
	text = cJSON_PrintUnformatted(list);
	/* The whole document, byte for byte: shapes are a contract. */
	assert_string_equal(
		text,
		"[{\"id\":1,\"name\":\"bobs-laptop\",\"fqdn\":\"bobs-laptop.mesh.test\","
		"\"user\":\"bob\",\"tags\":[],\"addresses\":[\"100.64.0.1\",\"fd7a:115c:a1e0::1\"],"
		"\"online\":true,\"last_seen\":\"2023-11-14T22:13:20Z\","
		"\"expiry\":\"2023-11-15T22:13:20Z\",\"routes\":{\"advertised\":[],\"approved\":[]}"
		","
		"\"hostname\":\"Bob's Laptop\",\"os\":\"\",\"ephemeral\":false,\"expired\":false,"
		"\"created\":\"2023-11-14T22:13:20Z\",\"node_key\":\"nodekey:"
		"0202020202020202020202020202020202020202020202020202020202020202\"},"
		"{\"id\":2,\"name\":\"router\",\"fqdn\":\"router.mesh.test\",\"user\":null,"
		"\"tags\":[\"tag:gw\"],\"addresses\":[\"100.64.0.2\",\"fd7a:115c:a1e0::2\"],"
		"\"online\":false,\"last_seen\":\"2023-11-14T22:13:20Z\",\"expiry\":null,"
		"\"routes\":{\"advertised\":[\"0.0.0.0/0\",\"10.0.0.0/24\"],"
		"\"approved\":[\"10.0.0.0/24\"]},\"hostname\":\"router\",\"os\":\"\","
		"\"ephemeral\":false,\"expired\":false,\"created\":\"2023-11-14T22:13:20Z\","
		"\"node_key\":\"nodekey:"
		"0404040404040404040404040404040404040404040404040404040404040404\"}]");
	free(text);
	cJSON_Delete(list);

	list = expect_ok(f, "{\"method\": \"routes.list\"}");
	text = cJSON_PrintUnformatted(list);
	assert_string_equal(text, "[{\"node\":\"router\",\"node_id\":2,\"prefix\":\"0.0.0.0/0\","
				  "\"advertised\":true,\"approved\":false},{\"node\":\"router\","
				  "\"node_id\":2,\"prefix\":\"10.0.0.0/24\",\"advertised\":true,"
				  "\"approved\":true}]");
	free(text);
	cJSON_Delete(list);

	/* The single-node answers carry the same object. */
	list = expect_ok(f, "{\"method\": \"nodes.rename\", \"params\": {\"node\": \"1\","
			    " \"name\": \"laptop\"}}");
	assert_string_equal(cJSON_GetObjectItem(list, "fqdn")->valuestring, "laptop.mesh.test");
	cJSON_Delete(list);
	list = expect_ok(f, "{\"method\": \"nodes.expire\", \"params\": {\"node\": \"laptop\"}}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(list, "expired")));
	cJSON_Delete(list);
	expect_error(f, "{\"method\": \"nodes.delete\", \"params\": {\"node\": \"nope\"}}",
		     "ENOENT", "no node named nope");
	cJSON_Delete(expect_ok(f, "{\"method\": \"nodes.delete\", \"params\": {\"node\": "
				  "\"laptop.mesh.test\"}}"));
	list = expect_ok(f, "{\"method\": \"nodes.list\"}");
	assert_int_equal(cJSON_GetArraySize(list), 1);
	cJSON_Delete(list);
}

static void test_policy(void **state)
{
	struct fixture *f = *state;
	cJSON *res;

	expect_error(f, "{\"method\": \"policy.get\"}", "ENOENT", "no policy is set");
	expect_error(f, "{\"method\": \"policy.set\", \"params\": {\"policy\": \"{\\\"a\\\": }\"}}",
		     "EINVAL", "policy:1:7: unexpected '}', expected a value");
	cJSON_Delete(expect_ok(f, "{\"method\": \"policy.set\", \"params\": {\"policy\": "
				  "\"{\\\"a\\\": 1, // c\\n}\"}}"));
	res = expect_ok(f, "{\"method\": \"policy.get\"}");
	assert_string_equal(cJSON_GetObjectItem(res, "policy")->valuestring, "{\"a\": 1, // c\n}");
	cJSON_Delete(res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authkeys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodes_list_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
