// SPDX-License-Identifier: MIT
/*
 * The "tests" block runner (with and without an inventory, stand-in devices,
 * protocols, failures and their details), the inventory reader and every one
 * of its errors, and `policy check` itself: its exact human and --json output
 * and its exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/policy/check.h"
#include "server/policy/inventory.h"
#include "server/policy/policy.h"
#include "server/policy/tests.h"

static char *dq(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	for (char *c = d; *c; c++) {
		if (*c == '\'')
			*c = '"';
	}
	return d;
}

static struct policy *pol(const char *text)
{
	struct policy_error err;
	struct policy *p = NULL;
	char *t = dq(text);

	if (policy_parse(&p, t, strlen(t), &err))
		fail_msg("policy refused: %u:%u: %s\n%s", err.line, err.col, err.msg, t);
	free(t);
	return p;
}

static struct policy_inventory *inv(const char *text)
{
	struct policy_inventory *i = NULL;
	struct policy_error err;
	char *t = dq(text);

	if (policy_inventory_parse(&i, t, strlen(t), &err))
		fail_msg("inventory refused: %u:%u: %s", err.line, err.col, err.msg);
	free(t);
	return i;
}

/* Run @p's tests; the failures as "src>dst/proto=expected" lines, for compact comparisons. */
static char *run(const struct policy *p, const struct policy_inventory *i, size_t *assertions)
{
	struct policy_test_report r;
	char *out = calloc(1, 4096);

	assert_non_null(out);
	assert_int_equal(policy_tests_run(p, i ? i->nodes : NULL, i ? i->n : 0, &r), 0);
	for (size_t k = 0; k < r.n_failed; k++) {
		char line[512];

		snprintf(line, sizeof(line), "%s>%s/%s=%s (%s)\n", r.failed[k].src, r.failed[k].dst,
			 r.failed[k].proto, r.failed[k].expected_accept ? "accept" : "deny",
			 r.failed[k].detail);
		strcat(out, line);
	}
	*assertions = r.assertions;
	policy_test_report_free(&r);
	return out;
}

static void expect_run(const struct policy *p, const struct policy_inventory *i, size_t n,
		       const char *want)
{
	size_t assertions;
	char *got = run(p, i, &assertions);

	if (strcmp(got, want) || assertions != n)
		fail_msg("got %zu assertions, failures:\n%swant %zu, failures:\n%s", assertions,
			 got, n, want);
	free(got);
}

#define BASE                                                        \
	"'groups': {'group:eng': ['alice@', 'bob@']},"              \
	"'tagOwners': {'tag:server': ['group:eng'], 'tag:db': []}," \
	"'hosts': {'web': '100.64.0.20', 'lan': '10.33.0.0/16', 'dns': '10.33.0.53'},"

static void test_offline_stand_ins(void **state)
{
	struct policy *p = pol(
		"{" BASE "'acls': ["
		"{'action': 'accept', 'src': ['group:eng'], 'dst': ['tag:server:22', 'web:443']},"
		"{'action': 'accept', 'src': ['alice@'], 'dst': ['lan:*', 'autogroup:internet:*',"
		"]},"
		"{'action': 'accept', 'src': ['autogroup:member'], 'dst': ['autogroup:self:*']},"
		"{'action': 'accept', 'src': ['tag:server'], 'dst': ['tag:db:5432'], 'proto': "
		"'tcp'}],"
		"'tests': ["
		"{'src': 'alice@', 'accept': ['tag:server:22', 'web:443', 'dns:53', '8.8.8.8:443',"
		" 'alice@:9'], 'deny': ['tag:server:80', 'bob@:22', "
		"'192.168.0.1:80']},"
		"{'src': 'bob@', 'proto': 'udp', 'accept': ['tag:server:22', 'bob@:5'],"
		" 'deny': ['dns:53', 'tag:db:5432']},"
		"{'src': 'tag:server', 'accept': ['tag:db:5432'], 'deny': ['alice@:22', "
		"'web:443']},"
		"{'src': 'tag:server', 'proto': 'icmp', 'deny': ['tag:db:0']},"
		"{'src': '100.64.0.99', 'deny': ['tag:server:22']},"
		"{'src': 'bob@', 'deny': ['1.1.1.1:53']}]}");

	(void)state;
	/*
	 * Nobody is in the inventory: each identity is a stand-in device, 8.8.8.8 is
	 * reached through a stand-in exit node (which bob's 1.1.1.1:53 does not reach:
	 * a literal public IP is no exit-node destination), dns through a stand-in
	 * subnet router, web through a stand-in owner.
	 */
	expect_run(p, NULL, 18, "");
	policy_free(p);
}

static void test_failures_and_details(void **state)
{
	struct policy *p =
		pol("{" BASE "'acls': ["
		    "{'action': 'accept', 'src': ['alice@'], 'dst': ['tag:server:22'], 'proto': "
		    "'tcp'}],"
		    "'tests': [{'src': 'alice@', 'accept': ['tag:server:22', 'tag:server:23'],"
		    " 'deny': ['tag:server:22']},"
		    "{'src': 'alice@', 'proto': 'icmp', 'accept': ['tag:server:0']},"
		    "{'src': 'fd7a:115c:a1e0::9', 'accept': ['web:443']}]}");

	(void)state;
	expect_run(p, NULL, 5,
		   "alice@>tag:server:23/tcp=accept (100.127.255.254 -> 100.127.255.253 denied)\n"
		   "alice@>tag:server:22/tcp=deny (100.127.255.254 -> 100.127.255.253 allowed)\n"
		   "alice@>tag:server:0/icmp=accept (100.127.255.254 -> 100.127.255.253 denied)\n"
		   "fd7a:115c:a1e0::9>web:443/tcp=accept (no source and destination address of "
		   "one family)\n");
	policy_free(p);
}

static void test_with_inventory(void **state)
{
	struct policy_inventory *i =
		inv("[{'name': 'laptop', 'user': 'alice', 'ip': '100.64.0.1'},"
		    " {'name': 'phone', 'user': 'alice', 'ip': '100.64.0.2', 'ipv6': "
		    "'fd7a:115c:a1e0::2'},"
		    " {'name': 'srv', 'user': null, 'tags': ['tag:server'], 'ip': '100.64.0.4',"
		    "  'ipv6': 'fd7a:115c:a1e0::4'},"
		    " {'name': 'rt', 'user': null, 'tags': ['tag:db'], 'ip': '100.127.255.254',"
		    "  'routes': ['10.33.0.0/16']}]");
	/* Only alice's laptop may reach the server: "alice@" means both her devices. */
	struct policy *p =
		pol("{" BASE "'acls': ["
		    "{'action': 'accept', 'src': ['100.64.0.1'], 'dst': ['tag:server:22']},"
		    "{'action': 'accept', 'src': ['alice@'], 'dst': ['lan:53']}],"
		    "'tests': [{'src': 'alice@', 'accept': ['tag:server:22', 'dns:53']},"
		    "{'src': '100.64.0.1', 'accept': ['tag:server:22'], 'deny': ['dns:54']},"
		    "{'src': 'bob@', 'deny': ['tag:server:22', 'dns:53']}]}");

	(void)state;
	/* bob has no device here: his stand-in skips 100.127.255.254, which rt owns. */
	expect_run(p, i, 6, "alice@>tag:server:22/tcp=accept (100.64.0.2 -> 100.64.0.4 denied)\n");
	policy_free(p);
	p = pol("{" BASE "'acls': [{'action': 'accept', 'src': ['tag:db'], 'dst': ['bob@:1']}],"
		"'tests': [{'src': 'tag:db', 'deny': ['bob@:1']}]}");
	expect_run(p, i, 1,
		   "tag:db>bob@:1/tcp=deny (100.127.255.254 -> 100.127.255.252 allowed)\n");
	policy_free(p);
	/* No tests at all, or no policy. */
	p = pol("{'acls': []}");
	expect_run(p, i, 0, "");
	policy_free(p);
	expect_run(NULL, i, 0, "");
	policy_inventory_free(i);
}

static void test_inventory_formats(void **state)
{
	/* The issue's format and the shape `meshcontrol nodes list --json` prints. */
	struct policy_inventory *i = inv(
		"[{'name': 'a', 'user': 'alice', 'ip': '100.64.0.1', 'ipv6': null, 'tags': [],"
		"  'routes': ['10.0.0.0/8', '0.0.0.0/0'], 'id': 7},"
		" {'id': 9, 'name': 'b', 'fqdn': 'b.mesh.internal', 'user': null,"
		"  'tags': ['tag:x'], 'addresses': ['100.64.0.2', 'fd7a:115c:a1e0::2'],"
		"  'online': true, 'routes': {'advertised': ['10.1.0.0/16'], 'approved': []}},"
		" {'name': 'c', 'user': 'carol', 'ip': '100.64.0.3', 'addresses': ['100.64.0.3'],"
		"  'exit_node': true},"
		" {'name': 'd', 'user': 'dave', 'tags': ['tag:y']}]");

	(void)state;
	assert_int_equal(i->n, 4);
	assert_int_equal(i->nodes[0].id, 7);
	assert_string_equal(i->nodes[0].user, "alice");
	assert_int_equal(i->nodes[0].n_addresses, 1);
	assert_int_equal(i->nodes[0].n_routes, 2);
	assert_false(i->nodes[0].exit_node);
	assert_int_equal(i->nodes[1].id, 9);
	assert_null(i->nodes[1].user);
	assert_int_equal(i->nodes[1].n_tags, 1);
	assert_string_equal(i->nodes[1].tags[0], "tag:x");
	assert_int_equal(i->nodes[1].n_addresses, 2);
	assert_int_equal(i->nodes[1].n_routes, 0);
	assert_int_equal(i->nodes[2].n_addresses, 1); /* the same address twice is one */
	assert_true(i->nodes[2].exit_node);
	assert_int_equal(i->nodes[3].id, 4);
	assert_null(i->nodes[3].user); /* tags win over a user */
	assert_int_equal(i->nodes[3].n_addresses, 0);
	policy_inventory_free(i);
	policy_inventory_free(NULL);
}

/* @text must be refused with @msg at the first occurrence of @at (NULL: 1:1). */
static void expect_inventory_error(const char *text, const char *at, const char *msg)
{
	struct policy_inventory *i = NULL;
	struct policy_error err;
	char *t = dq(text), *m = at ? dq(at) : NULL;
	unsigned int line = 1, col = 1;
	const char *pos = m ? strstr(t, m) : t;

	assert_non_null(pos);
	for (const char *c = t; c < pos; c++) {
		col = *c == '\n' ? 1 : col + 1;
		line += *c == '\n';
	}
	assert_int_equal(policy_inventory_parse(&i, t, strlen(t), &err), -EINVAL);
	assert_null(i);
	if (strcmp(err.msg, msg) || err.line != line || err.col != col)
		fail_msg("%s\ngot  %u:%u: %s\nwant %u:%u: %s", t, err.line, err.col, err.msg, line,
			 col, msg);
	free(t);
	free(m);
}

static void test_inventory_errors(void **state)
{
	(void)state;
	expect_inventory_error("{}", NULL, "an inventory is a JSON array of nodes");
	expect_inventory_error("[1]", "1", "node 0: must be an object");
	expect_inventory_error("[{'user': 'a'}]", "{",
			       "node 0: \"name\" must be a non-empty string");
	expect_inventory_error("[{'name': ''}]", "'name'",
			       "node 0: \"name\" must be a non-empty string");
	expect_inventory_error("[{'name': 'a', 'user': 5}]", "'user'",
			       "node \"a\": \"user\" must be a user name or null");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'exit_node': 1}]", "'exit_node'",
			       "node \"a\": \"exit_node\" must be true or false");
	expect_inventory_error("[{'name': 'a', 'user': null}]", "{",
			       "node \"a\": has neither a user nor tags");
	expect_inventory_error("[{'name': 'a', 'tags': 'tag:x'}]", "'tags'",
			       "node \"a\": \"tags\" must be an array");
	expect_inventory_error("[{'name': 'a', 'tags': ['x']}]", "'x'",
			       "node \"a\": tags are strings \"tag:NAME\"");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'ip': '1.2.3'}]", "'ip'",
			       "node \"a\": invalid address: invalid IPv4 address");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'ip': 5}]", "'ip'",
			       "node \"a\": invalid address: not a string");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'ip': 'fd7a::1'}]", "'ip'",
			       "node \"a\": \"fd7a::1\" is not an IPv4 address");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'ipv6': '100.64.0.1'}]", "'ipv6'",
			       "node \"a\": \"100.64.0.1\" is not an IPv6 address");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'addresses': '100.64.0.1'}]",
			       "'addresses'", "node \"a\": \"addresses\" must be an array");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'routes': '10.0.0.0/8'}]", "'routes'",
			       "node \"a\": \"routes\" must be an array of prefixes");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'routes': ['10.0.0.0']}]", "'10.0.0.0'",
			       "node \"a\": invalid route: missing prefix length (ADDR/N)");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'routes': ['10.0.0.1/8']}]",
			       "'10.0.0.1/8'",
			       "node \"a\": route \"10.0.0.1/8\" has host bits set");
	expect_inventory_error("[{'name': 'a', 'user': 'u', 'ip': '100.64.0.1'},\n"
			       " {'name': 'b', 'user': 'u', 'addresses': ['100.64.0.1']}]",
			       "{'name': 'b'",
			       "node \"b\": address 100.64.0.1 is also node \"a\"'s");
	expect_inventory_error("[{'name': 'a'} x", "x", "unexpected 'x', expected ',' or ']'");
}

/* A file holding @text (with ' for "), its path in @path. */
static void write_file(char *path, const char *text)
{
	char *t = dq(text);
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	free(t);
}

static char *run_check(const char *path, const struct policy_inventory *i, bool json, int *code,
		       char **errs)
{
	char *out = NULL, *err = NULL;
	size_t outlen = 0, errlen = 0;
	FILE *o = open_memstream(&out, &outlen), *e = open_memstream(&err, &errlen);

	assert_non_null(o);
	assert_non_null(e);
	*code = policy_check_run(path, i ? i->nodes : NULL, i ? i->n : 0, json, o, e);
	fclose(o);
	fclose(e);
	*errs = err;
	return out;
}

static void expect_cmd(const char *path, const struct policy_inventory *i, bool json, int code,
		       const char *out, const char *errs)
{
	char *got_err, *got;
	int got_code;
	char *want_out = dq(out);

	got = run_check(path, i, json, &got_code, &got_err);
	if (got_code != code || strcmp(got, want_out) || strcmp(got_err, errs))
		fail_msg("check %s: got %d\n%s%s\nwant %d\n%s%s", path, got_code, got, got_err,
			 code, want_out, errs);
	free(got);
	free(got_err);
	free(want_out);
}

static void test_check_output(void **state)
{
	char good[] = "/tmp/test_policy_check_XXXXXX", bad[] = "/tmp/test_policy_check_XXXXXX",
	     broken[] = "/tmp/test_policy_check_XXXXXX";
	char want[1024];

	(void)state;
	write_file(good, "{'acls': [{'action': 'accept', 'src': ['alice@'], 'dst': ['bob@:22']}],\n"
			 " 'tests': [\n"
			 "  {'src': 'alice@', 'accept': ['bob@:22'], 'deny': ['bob@:80']},\n"
			 "  {'src': 'bob@', 'accept': ['alice@:22']}]}\n");
	write_file(bad, "{'acls': [{'action': 'accept', 'src': ['tag:nope'], 'dst': ['*:*']}]}");
	write_file(broken,
		   "{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:*'], 'proto': 'x'}]}");

	snprintf(want, sizeof(want),
		 "%s:4:3: test failed: bob@ -> alice@:22 (tcp): expected accept, but "
		 "100.127.255.254 -> 100.127.255.253 denied\n"
		 "%s: policy is valid; 1 of 3 assertions failed\n",
		 good, good);
	expect_cmd(good, NULL, false, 1, want, "");
	expect_cmd(good, NULL, true, 1,
		   "{'valid':true,'error':null,'assertions':3,'failed':[{'src':'bob@',"
		   "'dst':'alice@:22','proto':'tcp','expected':'accept'}]}\n",
		   "");

	snprintf(want, sizeof(want), "%s:1:40: src=tag not found: \"tag:nope\"\n", bad);
	expect_cmd(bad, NULL, false, 1, "", want);
	snprintf(want, sizeof(want),
		 "{'valid':false,'error':'%s:1:40: src=tag not found: \\'tag:nope\\'',"
		 "'assertions':0,'failed':[]}\n",
		 bad);
	expect_cmd(bad, NULL, true, 1, want, "");

	snprintf(want, sizeof(want), "%s:1:62: proto=\"x\": unknown protocol name\n", broken);
	expect_cmd(broken, NULL, false, 1, "", want);

	expect_cmd("/nonexistent/p.hujson", NULL, false, 1, "",
		   "/nonexistent/p.hujson: No such file or directory\n");
	expect_cmd("/nonexistent/p.hujson", NULL, true, 1,
		   "{'valid':false,'error':'/nonexistent/p.hujson: No such file or directory',"
		   "'assertions':0,'failed':[]}\n",
		   "");
	unlink(good);
	unlink(bad);
	unlink(broken);
}

static void test_check_passing(void **state)
{
	char path[] = "/tmp/test_policy_check_XXXXXX";
	struct policy_inventory *i = inv("[{'name': 'a', 'user': 'alice', 'ip': '100.64.0.1'},"
					 " {'name': 'b', 'user': 'bob', 'ip': '100.64.0.2'}]");
	char want[512];

	(void)state;
	write_file(path, "{'acls': [{'action': 'accept', 'src': ['alice@'], 'dst': ['bob@:22']}],"
			 " 'tests': [{'src': '100.64.0.1', 'accept': ['100.64.0.2:22']}]}");
	snprintf(want, sizeof(want), "%s: policy is valid; 1 assertions passed\n", path);
	expect_cmd(path, i, false, 0, want, "");
	expect_cmd(path, i, true, 0, "{'valid':true,'error':null,'assertions':1,'failed':[]}\n",
		   "");
	unlink(path);
	policy_inventory_free(i);
}

/* Run the command line with stdout and stderr sent to /dev/null; its exit code. */
static int cli(int argc, const char *const *argv)
{
	int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY), code;

	assert_true(out >= 0 && err >= 0 && null >= 0);
	fflush(stdout);
	fflush(stderr);
	dup2(null, 1);
	dup2(null, 2);
	code = policy_check_cli(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return code;
}

static void test_cli(void **state)
{
	char path[] = "/tmp/test_policy_check_XXXXXX", nodes[] = "/tmp/test_policy_check_XXXXXX",
	     bad_nodes[] = "/tmp/test_policy_check_XXXXXX", opt[64];

	(void)state;
	write_file(path, "{'acls': [{'action': 'accept', 'src': ['alice@'], 'dst': ['bob@:22']}],"
			 " 'tests': [{'src': '100.64.0.1', 'accept': ['100.64.0.2:22']}]}");
	write_file(nodes, "[{'name': 'a', 'user': 'alice', 'ip': '100.64.0.1'},"
			  " {'name': 'b', 'user': 'bob', 'ip': '100.64.0.2'}]");
	write_file(bad_nodes, "[{'name': 'a'}]");
	snprintf(opt, sizeof(opt), "--nodes=%s", nodes);
	assert_int_equal(cli(4, (const char *const[]){"check", path, "--nodes", nodes, NULL}), 0);
	assert_int_equal(cli(4, (const char *const[]){"check", "--json", opt, path, NULL}), 0);
	/* Without the inventory 100.64.0.1 is nobody's: alice's rule does not cover it. */
	assert_int_equal(cli(2, (const char *const[]){"check", path, NULL}), 1);
	assert_int_equal(cli(4, (const char *const[]){"check", path, "--nodes", bad_nodes, NULL}),
			 1);
	assert_int_equal(
		cli(4, (const char *const[]){"check", path, "--nodes", "/nonexistent", NULL}), 1);
	assert_int_equal(cli(1, (const char *const[]){"check", NULL}), 2);
	assert_int_equal(cli(3, (const char *const[]){"check", path, path, NULL}), 2);
	assert_int_equal(cli(3, (const char *const[]){"check", path, "--bogus", NULL}), 2);
	assert_int_equal(cli(3, (const char *const[]){"check", path, "--nodes", NULL}), 2);
	assert_int_equal(cli(2, (const char *const[]){"check", "--help", NULL}), 0);
	unlink(path);
	unlink(nodes);
	unlink(bad_nodes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offline_stand_ins),
		cmocka_unit_test(test_failures_and_details),
		cmocka_unit_test(test_with_inventory),
		cmocka_unit_test(test_inventory_formats),
		cmocka_unit_test(test_inventory_errors),
		cmocka_unit_test(test_check_output),
		cmocka_unit_test(test_check_passing),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
