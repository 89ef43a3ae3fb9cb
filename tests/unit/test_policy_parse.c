// SPDX-License-Identifier: MIT
/*
 * Policy parsing: what valid files look like once parsed (HuJSON comments,
 * keys in any case, every section), and every error message the parser can
 * give, each at the line and column of the item that caused it. Texts are
 * written with ' for " to keep them readable.
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

#include "server/policy/internal.h"
#include "server/policy/policy.h"

/* @s with every ' turned into ", on the heap. */
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

static struct policy *parse_ok(const char *text)
{
	struct policy_error err;
	struct policy *p = NULL;
	char *t = dq(text);

	if (policy_parse(&p, t, strlen(t), &err))
		fail_msg("refused: %u:%u: %s\n%s", err.line, err.col, err.msg, t);
	free(t);
	return p;
}

/*
 * @text must be refused with exactly @msg, at the first occurrence of @at in
 * the text (its first character); @at NULL means position 1:1.
 */
static void expect_error(const char *text, const char *at, const char *msg)
{
	struct policy_error err;
	struct policy *p = NULL;
	char *t = dq(text), *m = at ? dq(at) : NULL, *pos;
	unsigned int line = 1, col = 1;
	int ret = policy_parse(&p, t, strlen(t), &err);

	if (ret != -EINVAL)
		fail_msg("accepted (%d): %s", ret, t);
	assert_null(p);
	if (m) {
		pos = strstr(t, m);
		if (!pos)
			fail_msg("marker %s not in %s", m, t);
		for (const char *c = t; c < pos; c++) {
			if (*c == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
	}
	if (strcmp(err.msg, msg) || err.line != line || err.col != col)
		fail_msg("%s\ngot  %u:%u: %s\nwant %u:%u: %s", t, err.line, err.col, err.msg, line,
			 col, msg);
	free(t);
	free(m);
}

static void test_valid_sections(void **state)
{
	const char *text =
		"// A policy with every section.\n"
		"{\n"
		"  /* users */ 'Groups': {'group:eng': ['alice@', 'bob@example.com'],\n"
		"                         'group:empty': [],},\n"
		"  'TagOwners': {'tag:server': ['group:eng'], 'tag:ci': ['tag:server'],\n"
		"                'tag:x': ['autogroup:member', 'alice@']},\n"
		"  'Hosts': {'db': '100.64.0.10', 'lan': '10.33.0.0/16', 'v6': 'fd00::1'},\n"
		"  'ACLs': [\n"
		"    {'Action': 'accept', 'Src': ['group:eng', 'tag:ci', '10.0.0.0/8'],\n"
		"     'Dst': ['tag:server:22,80-90', 'db:5432', '[fd00::1]:443', 'v6:*']},\n"
		"    {'action': 'accept', 'src': ['*'], 'dst': ['autogroup:self:*'],\n"
		"     'proto': 'tcp'},\n"
		"    {'action': 'accept', 'src': ['autogroup:danger-all'],\n"
		"     'dst': ['autogroup:internet:*'], 'proto': '47'},\n"
		"  ],\n"
		"  'autoApprovers': {'routes': {'10.0.0.0/8': ['tag:server']},\n"
		"                    'exitNode': ['group:eng', 'autogroup:tagged']},\n"
		"  'tests': [{'src': 'alice@', 'proto': 'udp', 'accept': ['db:5432'],\n"
		"             'deny': ['[fd00::1]:22']}],\n"
		"}\n";
	struct policy *p = parse_ok(text);

	(void)state;
	assert_true(p->has_acls);
	assert_false(policy_allows_all(p));
	assert_int_equal(p->n_groups, 2);
	assert_int_equal(p->groups[0].n_users, 2);
	assert_string_equal(p->groups[0].users[1], "bob@example.com");
	assert_int_equal(p->groups[1].n_users, 0);
	assert_int_equal(p->n_tag_owners, 3);
	assert_int_equal(p->tag_owners[1].owners[0].kind, ALIAS_TAG);
	assert_int_equal(p->n_hosts, 3);
	assert_int_equal(p->hosts[1].prefix.bits, 16);
	assert_int_equal(p->n_acls, 3);
	assert_int_equal(p->acls[0].n_srcs, 3);
	assert_int_equal(p->acls[0].srcs[2].kind, ALIAS_PREFIX);
	assert_int_equal(p->acls[0].n_protos, 4); /* default: tcp, udp, icmp, ipv6-icmp */
	assert_int_equal(p->acls[0].protos[0], 6);
	assert_int_equal(p->acls[0].protos[3], 58);
	assert_int_equal(p->acls[0].dsts[0].n_ports, 2);
	assert_int_equal(p->acls[0].dsts[0].ports[1].first, 80);
	assert_int_equal(p->acls[0].dsts[0].ports[1].last, 90);
	assert_int_equal(p->acls[0].dsts[2].alias.kind, ALIAS_PREFIX);
	assert_int_equal(p->acls[0].dsts[2].alias.prefix.bits, 128);
	assert_int_equal(p->acls[0].dsts[3].alias.kind, ALIAS_HOST);
	assert_int_equal(p->acls[0].dsts[3].ports[0].last, 65535);
	assert_int_equal(p->acls[1].dsts[0].alias.kind, ALIAS_SELF);
	assert_int_equal(p->acls[1].n_protos, 1);
	assert_int_equal(p->acls[2].protos[0], 47);
	assert_int_equal(p->acls[2].srcs[0].kind, ALIAS_DANGER_ALL);
	assert_int_equal(p->n_route_approvers, 1);
	assert_int_equal(p->n_exit_approvers, 2);
	assert_int_equal(p->n_cases, 1);
	assert_int_equal(policy_test_count(p), 1);
	assert_int_equal(p->cases[0].proto, 17);
	assert_int_equal(p->cases[0].line, 18);
	assert_int_equal(p->cases[0].col, 13);
	assert_int_equal(p->cases[0].deny[0].port, 22);
	policy_free(p);
}

static void test_allow_all_forms(void **state)
{
	struct policy *p;

	(void)state;
	assert_true(policy_allows_all(NULL));
	assert_int_equal(policy_test_count(NULL), 0);
	p = parse_ok("{}");
	assert_true(policy_allows_all(p)); /* no "acls": allow all */
	policy_free(p);
	p = parse_ok("{'groups': {}, 'tests': []}");
	assert_true(policy_allows_all(p));
	policy_free(p);
	p = parse_ok("{'acls': []}");
	assert_false(policy_allows_all(p)); /* "acls": []: deny all */
	policy_free(p);
	policy_free(NULL);
}

static void test_ports_and_protos(void **state)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} names[] = {
		{"tcp", 6},	 {"udp", 17}, {"icmp", 1}, {"ipv6-icmp", 58}, {"sctp", 132},
		{"igmp", 2},	 {"gre", 47}, {"esp", 50}, {"ah", 51},	      {"ipv4", 4},
		{"ip-in-ip", 4}, {"egp", 8},  {"igp", 9},  {"fc", 133},	      {"1", 1},
		{"255", 255},	 {"99", 99},
	};
	static const char *const bad[] = {"*", "0", "256", "06", "TCP", "", "icmpv6", "-1", "1e2"};
	struct port_range *ranges;
	struct policy_arena *arena = NULL;
	char why[POLICY_ERROR_MAX];
	size_t n;
	uint8_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(policy_proto_parse(names[i].name, &v, why, sizeof(why)), 0);
		assert_int_equal(v, names[i].proto);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!policy_proto_parse(bad[i], &v, why, sizeof(why)))
			fail_msg("accepted proto %s", bad[i]);
	}
	assert_int_equal(policy_ports_parse(&arena, "*", &ranges, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ranges[0].first, 0);
	assert_int_equal(ranges[0].last, 65535);
	assert_int_equal(policy_ports_parse(&arena, "1-65535", &ranges, &n, why, sizeof(why)), 0);
	assert_int_equal(ranges[0].first, 1);
	assert_int_equal(policy_ports_parse(&arena, "22,80-90,443", &ranges, &n, why, sizeof(why)),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(ranges[1].first, 80);
	assert_int_equal(ranges[1].last, 90);
	assert_int_equal(ranges[2].first, 443);
	assert_int_equal(policy_ports_parse(&arena, "7-7", &ranges, &n, why, sizeof(why)), 0);
	static const char *const bad_ports[] = {"",	"0",   "65536", "022", "1-",   "-1",
						"22,",	",22", "22,*",	"a",   " 22",  "22 ",
						"10-5", "0-5", "1--2",	"+1",  "99999"};
	for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
		if (!policy_ports_parse(&arena, bad_ports[i], &ranges, &n, why, sizeof(why)))
			fail_msg("accepted ports \"%s\"", bad_ports[i]);
	}
	policy_arena_destroy(arena);
}

/* Errors the semantics reference gives Tailscale's exact text for. */
static void test_tailscale_errors(void **state)
{
	(void)state;
	expect_error("{'tagOwners': {'tag:a': []},\n"
		     " 'acls': [{'action': 'accept', 'src': ['tag:nonexistent'], 'dst': ['*:*']}]}",
		     "'tag:nonexistent'", "src=tag not found: \"tag:nonexistent\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'],\n"
		     "  'dst': ['tag:nonexistent:22']}]}",
		     "'tag:nonexistent:22'",
		     "dst=\"tag:nonexistent\": tag not found: \"tag:nonexistent\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['autogroup:self'], 'dst': ['*:*']}]}",
		     "'autogroup:self'", "\"autogroup:self\" not valid on the src side of a rule");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['autogroup:self']}]}",
		     "'autogroup:self'",
		     "dst=\"autogroup:self\": port range \"self\": invalid first integer");
	expect_error("{'acls': [{'action': 'deny', 'src': ['*'], 'dst': ['*:*']}]}", "'action'",
		     "action=\"deny\" is not supported");
	expect_error("{'tagOwners': {'tag:server': []},\n"
		     " 'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['tag:server:ssh']}]}",
		     "'tag:server:ssh'",
		     "dst=\"tag:server:ssh\": port range \"ssh\": invalid first integer");
	/* autogroup:self with a tag, autogroup:tagged, an IP or a host as source, even mixed. */
	static const char *const self_srcs[] = {"tag:t",      "autogroup:tagged",
						"100.64.0.1", "10.0.0.0/8",
						"h",	      "autogroup:danger-all"};
	for (size_t i = 0; i < sizeof(self_srcs) / sizeof(self_srcs[0]); i++) {
		char text[512], marker[64];

		snprintf(text, sizeof(text),
			 "{'tagOwners': {'tag:t': []}, 'hosts': {'h': '10.1.1.1'},\n"
			 " 'acls': [{'action': 'accept', 'src': ['alice@', 'group:g', '%s'],\n"
			 "           'dst': ['autogroup:self:*']}],\n"
			 " 'groups': {'group:g': []}}",
			 self_srcs[i]);
		snprintf(marker, sizeof(marker), "'%s']", self_srcs[i]);
		expect_error(text, marker,
			     "autogroup:self can only be used with users, groups, or supported "
			     "autogroups");
	}
}

/* Every other message, in the order parse.c can produce them. */
static void test_structure_errors(void **state)
{
	(void)state;
	expect_error("[]", NULL, "the policy must be a JSON object");
	expect_error("{'acls': [],\n 'grants': []}", "'grants'", "\"grants\" is not supported");
	expect_error("{'ssh': []}", "'ssh'", "\"ssh\" is not supported");
	expect_error("{'acl': []}", "'acl'", "unknown key \"acl\"");
	expect_error("{'acls': [], 'ACLs': []}", "'ACLs'", "duplicate key \"ACLs\"");
	expect_error("{'acls': [], 'acls': []}", "'acls': []}",
		     "duplicate key \"acls\" (first on line 1)");
	expect_error("{'acls': {}}", "'acls'", "\"acls\" must be an array");
	expect_error("{'acls': [1]}", "1", "each entry of \"acls\" must be an object");
	expect_error("{'acls': [{'action': 'accept', 'src': [], 'dst': [], 'users': []}]}",
		     "'users'", "unknown key \"users\"");
	expect_error("{'acls': [{'src': ['*'], 'dst': ['*:*']}]}", "{'src'",
		     "action=\"\" is not supported");
	expect_error("{'acls': [{'action': 1, 'src': ['*'], 'dst': ['*:*']}]}", "'action'",
		     "\"action\" must be a string");
	expect_error("{'acls': [{'action': 'accept', 'dst': ['*:*']}]}", "{'action'",
		     "\"src\" is required");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*']}]}", "{'action'",
		     "\"dst\" is required");
	expect_error("{'acls': [{'action': 'accept', 'src': '*', 'dst': ['*:*']}]}", "'src'",
		     "\"src\" must be an array of strings");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*', 2], 'dst': ['*:*']}]}", "2]",
		     "\"src\" must be an array of strings");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:*'], 'proto': 6}]}",
		     "'proto'", "\"proto\" must be a string");
	expect_error("{'groups': []}", "'groups'", "\"groups\" must be an object");
	expect_error(
		"{'groups': {'eng': []}}", "'eng'",
		"invalid group name \"eng\": a group is \"group:\" and a letter, then letters, "
		"digits, '-', '_' or '.'");
	expect_error("{'groups': {'group:': []}}", "'group:'",
		     "invalid group name \"group:\": a group is \"group:\" and a letter, then "
		     "letters, digits, '-', '_' or '.'");
	expect_error("{'groups': {'group:a': 'alice@'}}", "'group:a'",
		     "group:a: must be an array of users");
	expect_error("{'groups': {'group:a': [1]}}", "1", "group:a: must be an array of users");
	expect_error("{'groups': {'group:a': ['group:b']}}", "'group:b'",
		     "group:a: nested groups are not allowed (\"group:b\")");
	expect_error("{'groups': {'group:a': ['alice']}}", "'alice'",
		     "group:a: invalid user \"alice\"");
	expect_error("{'groups': {'group:a': ['@example.com']}}", "'@",
		     "group:a: invalid user \"@example.com\"");
	expect_error("{'groups': {'group:a': ['a@b@c']}}", "'a@b",
		     "group:a: invalid user \"a@b@c\"");
	expect_error("{'tagOwners': []}", "'tagOwners'", "\"tagOwners\" must be an object");
	expect_error("{'tagOwners': {'server': []}}", "'server'",
		     "invalid tag name \"server\": tags start with \"tag:\"");
	expect_error("{'tagOwners': {'tag:1a': []}}", "'tag:1a'",
		     "invalid tag name \"tag:1a\": a tag is \"tag:\" and a letter, then letters, "
		     "digits and '-', 64 characters at most");
	expect_error("{'tagOwners': {'tag:a_b': []}}", "'tag:a_b'",
		     "invalid tag name \"tag:a_b\": a tag is \"tag:\" and a letter, then letters, "
		     "digits and '-', 64 characters at most");
	expect_error("{'tagOwners': {'tag:a': 'alice@'}}", "'tag:a'",
		     "tag:a: must be an array of owners");
	expect_error("{'tagOwners': {'tag:a': [true]}}", "true",
		     "tag:a: must be an array of owners");
	expect_error("{'tagOwners': {'tag:a': ['tag:b']}}", "'tag:b'",
		     "tag:a: tag not found: \"tag:b\"");
	expect_error("{'tagOwners': {'tag:a': ['group:x']}}", "'group:x'",
		     "tag:a: group not found: \"group:x\"");
	expect_error("{'tagOwners': {'tag:a': ['*']}}", "'*'",
		     "tag:a: \"*\" must be a user, a group, a tag or autogroup:member");
	expect_error("{'tagOwners': {'tag:a': ['autogroup:tagged']}}", "'autogroup:tagged'",
		     "tag:a: \"autogroup:tagged\" must be a user, a group, a tag or "
		     "autogroup:member");
	expect_error("{'hosts': []}", "'hosts'", "\"hosts\" must be an object");
	expect_error("{'hosts': {'1db': '10.0.0.1'}}", "'1db'",
		     "invalid host name \"1db\": a host name is a letter, then letters, digits, "
		     "'-', '_' or '.'");
	expect_error("{'hosts': {'a@b': '10.0.0.1'}}", "'a@b'",
		     "invalid host name \"a@b\": a host name is a letter, then letters, digits, "
		     "'-', '_' or '.'");
	expect_error("{'hosts': {'db': 5}}", "'db'",
		     "host \"db\": must be an IP address or a prefix");
	expect_error("{'hosts': {'db': '10.0.0.300'}}", "'db'",
		     "host \"db\": invalid IP address or prefix \"10.0.0.300\": invalid IPv4 "
		     "address");
	expect_error("{'hosts': {'net': '10.0.0.1/8'}}", "'net'",
		     "host \"net\": invalid IP address or prefix \"10.0.0.1/8\": host bits set "
		     "(10.0.0.0/8?)");
}

static void test_alias_errors(void **state)
{
	(void)state;
	expect_error("{'acls': [{'action': 'accept', 'src': ['group:nope'], 'dst': ['*:*']}]}",
		     "'group:nope'", "src=group not found: \"group:nope\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['web'], 'dst': ['*:*']}]}", "'web'",
		     "src=host not found: \"web\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['autogroup:admin'], 'dst': ['*:*']}]}",
		     "'autogroup:admin'", "src=autogroup not found: \"autogroup:admin\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['a@b@c'], 'dst': ['*:*']}]}", "'a@b",
		     "src=invalid user \"a@b@c\"");
	expect_error(
		"{'acls': [{'action': 'accept', 'src': ['10.0.0.1/33'], 'dst': ['*:*']}]}",
		"'10.0.0.1/33'",
		"src=invalid IP address or prefix \"10.0.0.1/33\": prefix length out of range");
	expect_error(
		"{'acls': [{'action': 'accept', 'src': ['10.0.0.1/8'], 'dst': ['*:*']}]}",
		"'10.0.0.1/8'",
		"src=invalid IP address or prefix \"10.0.0.1/8\": host bits set (10.0.0.0/8?)");
	expect_error("{'acls': [{'action': 'accept', 'src': ['autogroup:internet'],\n"
		     " 'dst': ['*:*']}]}",
		     "'autogroup:internet'",
		     "\"autogroup:internet\" not valid on the src side of a rule");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'],\n"
		     " 'dst': ['autogroup:danger-all:*']}]}",
		     "'autogroup:danger-all:*'",
		     "\"autogroup:danger-all\" not valid on the dst side of a rule");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['group:x:22']}]}",
		     "'group:x:22'", "dst=\"group:x\": group not found: \"group:x\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['web:22']}]}",
		     "'web:22'", "dst=\"web\": host not found: \"web\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['autogroup:x:22']}]}",
		     "'autogroup:x:22'",
		     "dst=\"autogroup:x\": autogroup not found: \"autogroup:x\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['300.1.1.1:22']}]}",
		     "'300.1.1.1:22'",
		     "dst=\"300.1.1.1\": invalid IP address or prefix \"300.1.1.1\": invalid IPv4 "
		     "address");
}

static void test_dst_errors(void **state)
{
	(void)state;
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*']}]}", "'*']}",
		     "dst=\"*\": missing port (write \"*:*\" for every port)");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['[fd7a::1]']}]}",
		     "'[fd7a::1]'",
		     "dst=\"[fd7a::1]\": missing port (write \"[fd7a::1]:*\" for every port)");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['fd7a::1:22']}]}",
		     "'fd7a::1:22'",
		     "dst=\"fd7a::1:22\": an IPv6 address needs brackets: \"[fd7a::1]:22\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:']}]}", "'*:'",
		     "dst=\"*:\": port range \"\": invalid first integer");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:0']}]}", "'*:0'",
		     "dst=\"*:0\": port range \"0\": port 0 is not allowed");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:0-10']}]}",
		     "'*:0-10'", "dst=\"*:0-10\": port range \"0-10\": port 0 is not allowed");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:20-10']}]}",
		     "'*:20-10'",
		     "dst=\"*:20-10\": port range \"20-10\": first port is greater than last");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:1-x']}]}", "'*:1-x'",
		     "dst=\"*:1-x\": port range \"1-x\": invalid last integer");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:22,80,']}]}",
		     "'*:22,80,'", "dst=\"*:22,80,\": port range \"\": invalid first integer");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:65536']}]}",
		     "'*:65536'", "dst=\"*:65536\": port range \"65536\": invalid first integer");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:22'],\n"
		     "  'proto': 'icmp'}]}",
		     "'*:22'", "dst=\"*:22\": proto=\"icmp\" has no ports, use \"*:*\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['[fd7a::1]:1-2'],\n"
		     "  'proto': '58'}]}",
		     "'[fd7a::1]",
		     "dst=\"[fd7a::1]:1-2\": proto=\"58\" has no ports, use \"[fd7a::1]:*\"");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:*'], 'proto': 'x'}]}",
		     "'proto'", "proto=\"x\": unknown protocol name");
	expect_error(
		"{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:*'], 'proto': '06'}]}",
		"'proto'", "proto=\"06\": leading zeros are not allowed");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:*'], 'proto': '0'}]}",
		     "'proto'", "proto=\"0\": protocol number must be 1 to 255");
	expect_error(
		"{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:*'], 'proto': '256'}]}",
		"'proto'", "proto=\"256\": protocol number must be 1 to 255");
	expect_error("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:*'], 'proto': '*'}]}",
		     "'proto'",
		     "proto=\"*\" is not allowed: leave \"proto\" out to allow TCP, UDP and ICMP");
}

static void test_auto_approver_errors(void **state)
{
	(void)state;
	expect_error("{'autoApprovers': []}", "'autoApprovers'",
		     "\"autoApprovers\" must be an object");
	expect_error("{'autoApprovers': {'route': {}}}", "'route'", "unknown key \"route\"");
	expect_error("{'autoApprovers': {'routes': []}}", "'routes'",
		     "\"routes\" must be an object");
	expect_error("{'autoApprovers': {'routes': {'10.0.0.1/8': []}}}", "'10.0.0.1/8'",
		     "autoApprovers: invalid IP address or prefix \"10.0.0.1/8\": host bits set "
		     "(10.0.0.0/8?)");
	expect_error("{'autoApprovers': {'routes': {'10.0.0.0/8': 'alice@'}}}", "'10.0.0.0/8'",
		     "autoApprovers: \"10.0.0.0/8\" must be an array of approvers");
	expect_error("{'autoApprovers': {'routes': {'10.0.0.0/8': [1]}}}", "1]",
		     "autoApprovers: \"10.0.0.0/8\" must be an array of approvers");
	expect_error("{'autoApprovers': {'routes': {'10.0.0.0/8': ['*']}}}", "'*'",
		     "10.0.0.0/8: \"*\" must be a user, a group, a tag, autogroup:member or "
		     "autogroup:tagged");
	expect_error("{'autoApprovers': {'routes': {'10.0.0.0/8': ['tag:r']}}}", "'tag:r'",
		     "10.0.0.0/8: tag not found: \"tag:r\"");
	expect_error("{'autoApprovers': {'exitNode': 'tag:r'}}", "'exitNode'",
		     "\"exitNode\" must be an array of strings");
	expect_error("{'autoApprovers': {'exitNode': ['10.0.0.1']}}", "'10.0.0.1'",
		     "exitNode: \"10.0.0.1\" must be a user, a group, a tag, autogroup:member or "
		     "autogroup:tagged");
}

static void test_tests_errors(void **state)
{
	(void)state;
	expect_error("{'tests': {}}", "'tests'", "\"tests\" must be an array");
	expect_error("{'tests': ['x']}", "'x'", "each entry of \"tests\" must be an object");
	expect_error("{'tests': [{'accept': []}]}", "{'accept'", "\"src\" is required");
	expect_error("{'tests': [{'src': 1}]}", "'src'", "\"src\" must be a string");
	expect_error("{'tests': [{'src': 'a@', 'allow': []}]}", "'allow'", "unknown key \"allow\"");
	expect_error("{'tests': [{'src': 'a@', 'accept': 'x:1'}]}", "'accept'",
		     "\"accept\" must be an array of strings");
	expect_error("{'tests': [{'src': 'tag:x'}]}", "'src'",
		     "test src=\"tag:x\": tag not found: \"tag:x\"");
	expect_error("{'tests': [{'src': '*'}]}", "'src'",
		     "test src=\"*\": must be a user, a tag, a host or an IP");
	expect_error("{'groups': {'group:g': []}, 'tests': [{'src': 'group:g'}]}", "'src'",
		     "test src=\"group:g\": must be a user, a tag, a host or an IP");
	expect_error("{'hosts': {'lan': '10.0.0.0/8'}, 'tests': [{'src': 'lan'}]}", "'src'",
		     "test src=\"lan\": must be one address, not a network");
	expect_error("{'tests': [{'src': 'a@', 'proto': 'tcpx'}]}", "'proto'",
		     "proto=\"tcpx\": unknown protocol name");
	expect_error("{'tests': [{'src': 'a@', 'accept': ['b@']}]}", "'b@'",
		     "test dst=\"b@\": missing port");
	expect_error("{'tests': [{'src': 'a@', 'accept': ['fd7a::1:22']}]}", "'fd7a",
		     "test dst=\"fd7a::1:22\": an IPv6 address needs brackets");
	expect_error("{'tests': [{'src': 'a@', 'deny': ['b@:ssh']}]}", "'b@:ssh'",
		     "test dst=\"b@:ssh\": invalid port \"ssh\"");
	expect_error("{'tests': [{'src': 'a@', 'deny': ['b@:65536']}]}", "'b@:65536'",
		     "test dst=\"b@:65536\": invalid port \"65536\"");
	expect_error("{'tests': [{'src': 'a@', 'deny': ['b@:022']}]}", "'b@:022'",
		     "test dst=\"b@:022\": invalid port \"022\"");
	expect_error("{'tests': [{'src': 'a@', 'deny': ['autogroup:member:22']}]}",
		     "'autogroup:member:22'",
		     "test dst=\"autogroup:member\": must be a user, a tag, a host or an IP");
	expect_error("{'tests': [{'src': 'a@', 'deny': ['10.0.0.0/8:22']}]}", "'10.0.0.0/8:22'",
		     "test dst=\"10.0.0.0/8\": must be one address, not a network");
}

static void test_hujson_errors(void **state)
{
	struct policy_error err;
	struct policy *p = NULL;
	const char *text = "{\n  'acls': [\n    /* unterminated\n";
	char *t = dq(text);

	(void)state;
	assert_int_equal(policy_parse(&p, t, strlen(t), &err), -EINVAL);
	assert_int_equal(err.line, 3);
	assert_int_equal(err.col, 5);
	assert_string_equal(err.msg, "unterminated /* comment");
	free(t);
	t = dq("{'acls': [{'action': 'accept', 'src': ['*'] 'dst': []}]}");
	assert_int_equal(policy_parse(&p, t, strlen(t), &err), -EINVAL);
	assert_int_equal(err.line, 1);
	assert_int_equal(err.col, 45);
	assert_string_equal(err.msg, "unexpected '\"', expected ',' or '}'");
	free(t);
	assert_int_equal(policy_parse_file(&p, "/nonexistent/policy.hujson", &err), -ENOENT);
	assert_int_equal(err.line, 0);
	assert_null(p);
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/test_policy_XXXXXX";
	const char *text = "{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['*:22']}]}";
	char *t = dq(text);
	struct policy_error err;
	struct policy *p = NULL;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	close(fd);
	assert_int_equal(policy_parse_file(&p, path, &err), 0);
	assert_int_equal(p->n_acls, 1);
	policy_free(p);
	unlink(path);
	free(t);
}

/* Random bytes and mutated policies must be refused or accepted, never crash. */
static void test_garbage(void **state)
{
	const char *base = "{'groups': {'group:g': ['a@']}, 'tagOwners': {'tag:t': ['group:g']},"
			   " 'hosts': {'h': '10.0.0.0/24'}, 'acls': [{'action': 'accept',"
			   " 'src': ['group:g', 'h'], 'dst': ['tag:t:22,80-90', '[fd7a::1]:1']}],"
			   " 'tests': [{'src': 'a@', 'accept': ['tag:t:22']}]}";
	char *t = dq(base);
	size_t len = strlen(t);
	unsigned int seed = 12345;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		char *m = strdup(t);
		struct policy *p = NULL;
		struct policy_error err;
		int edits = 1 + (int)(rand_r(&seed) % 3);

		assert_non_null(m);
		for (int e = 0; e < edits; e++)
			m[rand_r(&seed) % len] = "\"':,[]{}*@-/0 a"[rand_r(&seed) % 15];
		if (policy_parse(&p, m, len, &err) == 0)
			policy_free(p);
		else
			assert_true(err.msg[0] != '\0');
		free(m);
	}
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_sections),
		cmocka_unit_test(test_allow_all_forms),
		cmocka_unit_test(test_ports_and_protos),
		cmocka_unit_test(test_tailscale_errors),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_alias_errors),
		cmocka_unit_test(test_dst_errors),
		cmocka_unit_test(test_auto_approver_errors),
		cmocka_unit_test(test_tests_errors),
		cmocka_unit_test(test_hujson_errors),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
