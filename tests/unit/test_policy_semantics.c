// SPDX-License-Identifier: MIT
/*
 * The policy semantics, point by point as the reference lists them (numbers
 * in the test names): each case a small policy over a small tailnet, with the
 * expected verdicts from policy_allows(), the exact compiled filter a node
 * receives (as FilterRule JSON), and peer visibility. Texts use ' for ".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/policy/inventory.h"
#include "server/policy/policy.h"

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

/* The tailnet most cases use. alicesrv is alice's machine, tagged: it is no longer hers. */
static const char base_nodes[] =
	"[{'name': 'laptop', 'user': 'alice', 'ip': '100.64.0.1', 'ipv6': 'fd7a:115c:a1e0::1'},"
	" {'name': 'phone', 'user': 'alice', 'ip': '100.64.0.2', 'ipv6': 'fd7a:115c:a1e0::2'},"
	" {'name': 'desk', 'user': 'bob', 'ip': '100.64.0.3', 'ipv6': 'fd7a:115c:a1e0::3'},"
	" {'name': 'server', 'user': null, 'tags': ['tag:server'], 'ip': '100.64.0.4',"
	"  'ipv6': 'fd7a:115c:a1e0::4'},"
	" {'name': 'router', 'user': null, 'tags': ['tag:router'], 'ip': '100.64.0.5',"
	"  'ipv6': 'fd7a:115c:a1e0::5', 'routes': ['10.33.0.0/16']},"
	" {'name': 'exit', 'user': null, 'tags': ['tag:exit'], 'ip': '100.64.0.6',"
	"  'ipv6': 'fd7a:115c:a1e0::6', 'routes': ['0.0.0.0/0', '::/0']},"
	" {'name': 'alicesrv', 'user': 'alice', 'tags': ['tag:server'], 'ip': '100.64.0.7',"
	"  'ipv6': 'fd7a:115c:a1e0::7'},"
	" {'name': 'carol', 'user': 'carol@example.com', 'ip': '100.64.0.8',"
	"  'ipv6': 'fd7a:115c:a1e0::8'}]";

#define OWNERS                                                                       \
	"'tagOwners': {'tag:server': ['alice@'], 'tag:router': [], 'tag:exit': [], " \
	"'tag:ci': ['tag:server']}, "

static struct policy_inventory *base(void)
{
	struct policy_inventory *i = inv(base_nodes);

	/* Keep who created alicesrv: the tag must win over it. */
	i->nodes[6].user = "alice";
	return i;
}

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;

	if (ip_addr_parse(&a, s, NULL))
		fail_msg("bad address %s", s);
	return a;
}

static bool allows(const struct policy *p, const struct policy_inventory *i, const char *src,
		   const char *dst, uint8_t proto, uint16_t port)
{
	struct ip_addr s = ip(src), d = ip(dst);

	return policy_allows(p, i->nodes, i->n, &s, &d, proto, port);
}

#define ALLOW(p, i, s, d, proto, port)                                                   \
	do {                                                                             \
		if (!allows(p, i, s, d, proto, port))                                    \
			fail_msg("%s -> %s proto %d port %d denied", s, d, proto, port); \
	} while (0)
#define DENY(p, i, s, d, proto, port)                                                     \
	do {                                                                              \
		if (allows(p, i, s, d, proto, port))                                      \
			fail_msg("%s -> %s proto %d port %d allowed", s, d, proto, port); \
	} while (0)

static size_t node(const struct policy_inventory *i, const char *name)
{
	for (size_t k = 0; k < i->n; k++) {
		if (!strcmp(i->nodes[k].name, name))
			return k;
	}
	fail_msg("no node %s", name);
	return 0;
}

static char *filter_json(const struct policy *p, const struct policy_inventory *i, const char *name)
{
	struct policy_filter f;
	cJSON *j;
	char *s;

	assert_int_equal(policy_compile_filter(p, i->nodes, i->n, node(i, name), &f), 0);
	j = policy_filter_to_json(&f);
	assert_non_null(j);
	s = cJSON_PrintUnformatted(j);
	assert_non_null(s);
	cJSON_Delete(j);
	policy_filter_free(&f);
	return s;
}

/* Node @name's compiled filter must be exactly @want (FilterRule JSON, ' for "). */
static void expect_filter(const struct policy *p, const struct policy_inventory *i,
			  const char *name, const char *want)
{
	char *got = filter_json(p, i, name), *w = dq(want);

	if (strcmp(got, w))
		fail_msg("filter of %s:\ngot  %s\nwant %s", name, got, w);
	free(got);
	free(w);
}

static void expect_peers(const struct policy *p, const struct policy_inventory *i, const char *name,
			 const char *want)
{
	struct policy_index *idx;
	char got[512] = "";
	size_t *peers, n;

	assert_int_equal(policy_index_create(&idx, p, i->nodes, i->n), 0);
	assert_int_equal(policy_index_peers(idx, node(i, name), &peers, &n), 0);
	for (size_t k = 0; k < n; k++) {
		strcat(got, k ? " " : "");
		strcat(got, i->nodes[peers[k]].name);
	}
	if (strcmp(got, want))
		fail_msg("peers of %s: got \"%s\", want \"%s\"", name, got, want);
	free(peers);
	policy_index_destroy(idx);
}

#define ALL_PORTS      "'Ports':{'First':0,'Last':65535}"
#define DEFAULT_PROTOS "'IPProto':[6,17,1,58]"

static void test_1_default_and_accept_only(void **state)
{
	struct policy_inventory *i = base();
	struct policy *empty = pol("{}"), *none = pol("{'acls': []}");
	struct policy *a = pol("{" OWNERS "'acls': ["
			       "{'action': 'accept', 'src': ['alice@'], 'dst': ['tag:server:22']},"
			       "{'action': 'accept', 'src': ['bob@'], 'dst': ['alice@:80']}]}");
	struct policy *b =
		pol("{" OWNERS "'acls': ["
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['alice@:80']},"
		    "{'action': 'accept', 'src': ['alice@'], 'dst': ['tag:server:22']}]}");
	static const char *const addrs[] = {"100.64.0.1", "100.64.0.3", "100.64.0.4", "10.33.0.9",
					    "8.8.8.8"};
	static const uint16_t ports[] = {22, 80, 443};

	(void)state;
	/* No policy, and a policy without "acls": allow all (default protocols). */
	ALLOW(NULL, i, "100.64.0.3", "100.64.0.1", 6, 22);
	ALLOW(NULL, i, "203.0.113.9", "100.64.0.1", 17, 53);
	ALLOW(empty, i, "100.64.0.3", "10.33.0.9", 1, 0);
	DENY(NULL, i, "100.64.0.3", "100.64.0.1", 47, 0);
	expect_filter(NULL, i, "desk",
		      "[{'SrcIPs':['0.0.0.0/0','::/0'],'DstPorts':[{'IP':'*'," ALL_PORTS
		      "}]," DEFAULT_PROTOS "}]");
	expect_filter(empty, i, "desk",
		      "[{'SrcIPs':['0.0.0.0/0','::/0'],'DstPorts':[{'IP':'*'," ALL_PORTS
		      "}]," DEFAULT_PROTOS "}]");
	expect_peers(NULL, i, "desk", "laptop phone server router exit alicesrv carol");
	/* "acls": [] denies everything and nobody sees anybody. */
	DENY(none, i, "100.64.0.3", "100.64.0.1", 6, 22);
	expect_filter(none, i, "desk", "[]");
	expect_peers(none, i, "desk", "");
	/* Rule order never matters: the verdict is the union. */
	for (size_t s = 0; s < 5; s++) {
		for (size_t d = 0; d < 5; d++) {
			for (size_t k = 0; k < 3; k++)
				assert_int_equal(allows(a, i, addrs[s], addrs[d], 6, ports[k]),
						 allows(b, i, addrs[s], addrs[d], 6, ports[k]));
		}
	}
	ALLOW(a, i, "100.64.0.1", "100.64.0.4", 6, 22);
	DENY(a, i, "100.64.0.1", "100.64.0.4", 6, 23);
	policy_free(empty);
	policy_free(none);
	policy_free(a);
	policy_free(b);
	policy_inventory_free(i);
}

static void test_2_star_source(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p = pol("{" OWNERS "'acls': ["
			       "{'action': 'accept', 'src': ['*'], 'dst': ['tag:server:22']}]}");
	struct policy *all = pol("{" OWNERS "'acls': [{'action': 'accept',"
				 " 'src': ['autogroup:danger-all'], 'dst': ['tag:server:22']}]}");

	(void)state;
	/* Tailnet ranges minus the ChromeOS /23, the approved subnet, never the exit routes. */
	expect_filter(p, i, "server",
		      "[{'SrcIPs':['10.33.0.0/16','100.64.0.0-100.115.91.255',"
		      "'100.115.94.0-100.127.255.255','fd7a:115c:a1e0::/48'],"
		      "'DstPorts':[{'IP':'100.64.0.4','Ports':{'First':22,'Last':22}},"
		      "{'IP':'fd7a:115c:a1e0::4','Ports':{'First':22,'Last':22}}]," DEFAULT_PROTOS
		      "}]");
	ALLOW(p, i, "100.64.0.1", "100.64.0.4", 6, 22);
	ALLOW(p, i, "100.115.94.0", "100.64.0.4", 6, 22);
	DENY(p, i, "100.115.92.1", "100.64.0.4", 6, 22); /* ChromeOS VM range */
	DENY(p, i, "100.115.93.255", "100.64.0.4", 6, 22);
	ALLOW(p, i, "10.33.7.7", "100.64.0.4", 6, 22); /* behind the approved route */
	DENY(p, i, "10.44.7.7", "100.64.0.4", 6, 22);  /* advertised, never approved */
	DENY(p, i, "8.8.8.8", "100.64.0.4", 6, 22);    /* exit routes are not in "*" */
	ALLOW(p, i, "fd7a:115c:a1e0:ab::1", "fd7a:115c:a1e0::4", 6, 22);
	/* autogroup:danger-all is any IP. */
	expect_filter(all, i, "server",
		      "[{'SrcIPs':['0.0.0.0/0','::/0'],"
		      "'DstPorts':[{'IP':'100.64.0.4','Ports':{'First':22,'Last':22}},"
		      "{'IP':'fd7a:115c:a1e0::4','Ports':{'First':22,'Last':22}}]," DEFAULT_PROTOS
		      "}]");
	ALLOW(all, i, "8.8.8.8", "100.64.0.4", 6, 22);
	policy_free(p);
	policy_free(all);
	policy_inventory_free(i);
}

static void test_3_star_destination(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p = pol("{'acls': [{'action': 'accept', 'src': ['bob@'], 'dst': ['*:*']}]}");
	static const char want[] =
		"[{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],'DstPorts':[{'IP':'*'," ALL_PORTS
		"}]," DEFAULT_PROTOS "}]";

	(void)state;
	/* Every node gets {"IP": "*"} ... */
	expect_filter(p, i, "laptop", want);
	expect_filter(p, i, "router", want);
	expect_filter(p, i, "exit", want);
	/* ... and accepts it for its addresses and all its approved routes, exit included. */
	ALLOW(p, i, "100.64.0.3", "100.64.0.1", 6, 22);
	ALLOW(p, i, "100.64.0.3", "10.33.1.1", 6, 80);
	ALLOW(p, i, "100.64.0.3", "8.8.8.8", 6, 443);
	ALLOW(p, i, "100.64.0.3", "192.168.200.1", 17, 53); /* via the exit node */
	DENY(p, i, "100.64.0.1", "100.64.0.3", 6, 22);
	policy_free(p);
	policy_inventory_free(i);
}

static void test_4_users_and_groups(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p =
		pol("{'groups': {'group:eng': ['alice@', 'carol@example.com'],"
		    " 'group:empty': []},"
		    " 'acls': [{'action': 'accept', 'src': ['group:eng'],"
		    " 'dst': ['group:eng:22']},"
		    "{'action': 'accept', 'src': ['group:empty'], 'dst': ['*:*']},"
		    "{'action': 'accept', 'src': ['carol@'], 'dst': ['bob@:80']},"
		    "{'action': 'accept', 'src': ['carol@example.com'], 'dst': ['bob@:443']}]}");

	(void)state;
	ALLOW(p, i, "100.64.0.1", "100.64.0.8", 6, 22);		      /* alice -> carol */
	ALLOW(p, i, "fd7a:115c:a1e0::8", "fd7a:115c:a1e0::2", 6, 22); /* carol -> alice's phone */
	DENY(p, i, "100.64.0.3", "100.64.0.1", 6, 22);		      /* bob is not in eng */
	DENY(p, i, "100.64.0.1", "100.64.0.3", 6, 22);
	DENY(p, i, "100.64.0.7", "100.64.0.1", 6, 22); /* alicesrv is tagged */
	/* "carol@" is the user named "carol", not carol@example.com. */
	DENY(p, i, "100.64.0.8", "100.64.0.3", 6, 80);
	ALLOW(p, i, "100.64.0.8", "100.64.0.3", 6, 443);
	/* group:empty is allowed and grants nothing. */
	expect_filter(p, i, "server", "[]");
	policy_free(p);
	policy_inventory_free(i);
}

static void test_5_tagged_nodes_lose_user_identity(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p =
		pol("{" OWNERS "'groups': {'group:a': ['alice@']}, 'acls': ["
		    "{'action': 'accept', 'src': ['alice@'], 'dst': ['bob@:22']},"
		    "{'action': 'accept', 'src': ['group:a'], 'dst': ['bob@:23']},"
		    "{'action': 'accept', 'src': ['autogroup:member'], 'dst': ['bob@:24']},"
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['alice@:25', 'group:a:26',"
		    " 'autogroup:member:27']},"
		    "{'action': 'accept', 'src': ['alice@'], 'dst': ['autogroup:self:28']},"
		    "{'action': 'accept', 'src': ['tag:server'], 'dst': ['bob@:29']}]}");

	(void)state;
	for (uint16_t port = 22; port <= 24; port++) {
		ALLOW(p, i, "100.64.0.1", "100.64.0.3", 6, port);
		DENY(p, i, "100.64.0.7", "100.64.0.3", 6, port); /* alicesrv as a source */
	}
	for (uint16_t port = 25; port <= 27; port++) {
		ALLOW(p, i, "100.64.0.3", "100.64.0.1", 6, port);
		DENY(p, i, "100.64.0.3", "100.64.0.7", 6, port); /* alicesrv as a destination */
	}
	ALLOW(p, i, "100.64.0.1", "100.64.0.2", 6, 28);
	DENY(p, i, "100.64.0.1", "100.64.0.7", 6, 28);
	DENY(p, i, "100.64.0.7", "100.64.0.1", 6, 28);
	expect_filter(p, i, "alicesrv", "[]");
	/* Owning tag:server gives alice's own devices none of the tag's access. */
	ALLOW(p, i, "100.64.0.4", "100.64.0.3", 6, 29);
	DENY(p, i, "100.64.0.1", "100.64.0.3", 6, 29);
	policy_free(p);
	policy_inventory_free(i);
}

static void test_6_member_and_tagged(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p = pol("{'acls': [{'action': 'accept', 'src': ['autogroup:member'],"
			       " 'dst': ['autogroup:tagged:22']},"
			       "{'action': 'accept', 'src': ['autogroup:tagged'], 'dst': "
			       "['autogroup:member:80']}]}");

	(void)state;
	ALLOW(p, i, "100.64.0.1", "100.64.0.4", 6, 22);
	ALLOW(p, i, "100.64.0.8", "100.64.0.7", 6, 22);
	DENY(p, i, "100.64.0.4", "100.64.0.5", 6, 22);
	DENY(p, i, "100.64.0.1", "100.64.0.3", 6, 22);
	ALLOW(p, i, "100.64.0.4", "100.64.0.3", 6, 80);
	DENY(p, i, "100.64.0.3", "100.64.0.1", 6, 80);
	DENY(p, i, "100.64.0.4", "100.64.0.5", 6, 80);
	policy_free(p);
	policy_inventory_free(i);
}

static void test_7_autogroup_self(void **state)
{
	struct policy_inventory *i = base();
	struct policy *star =
		pol("{'acls': [{'action': 'accept', 'src': ['*'], 'dst': ['autogroup:self:*']}]}");
	struct policy *one = pol("{'acls': [{'action': 'accept', 'src': ['alice@'],"
				 " 'dst': ['autogroup:self:22']}]}");
	struct policy *bob = pol("{'acls': [{'action': 'accept', 'src': ['bob@'],"
				 " 'dst': ['autogroup:self:22', 'alice@:80']}]}");

	(void)state;
	/* Each user reaches only their own untagged devices. */
	ALLOW(star, i, "100.64.0.1", "100.64.0.2", 6, 22);
	ALLOW(star, i, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 17, 9);
	DENY(star, i, "100.64.0.1", "100.64.0.3", 6, 22);
	DENY(star, i, "100.64.0.3", "100.64.0.1", 6, 22);
	DENY(star, i, "100.64.0.1", "100.64.0.7", 6, 22);
	DENY(star, i, "100.64.0.4", "100.64.0.4", 6, 22);
	expect_filter(star, i, "phone",
		      "[{'SrcIPs':['100.64.0.1-100.64.0.2','fd7a:115c:a1e0::1-fd7a:115c:a1e0::2'],"
		      "'DstPorts':[{'IP':'100.64.0.2'," ALL_PORTS
		      "},{'IP':'fd7a:115c:a1e0::2'," ALL_PORTS "}]," DEFAULT_PROTOS "}]");
	expect_filter(star, i, "desk",
		      "[{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		      "'DstPorts':[{'IP':'100.64.0.3'," ALL_PORTS
		      "},{'IP':'fd7a:115c:a1e0::3'," ALL_PORTS "}]," DEFAULT_PROTOS "}]");
	expect_filter(star, i, "server", "[]");
	/* A narrower source narrows it: src alice@ gives bob nothing, not even his own. */
	ALLOW(one, i, "100.64.0.2", "100.64.0.1", 6, 22);
	DENY(one, i, "100.64.0.3", "100.64.0.3", 6, 22);
	expect_filter(one, i, "desk", "[]");
	expect_peers(one, i, "laptop", "phone");
	expect_peers(one, i, "desk", "");
	/* Other destinations of the same rule keep the whole source. */
	ALLOW(bob, i, "100.64.0.3", "100.64.0.1", 6, 80);
	DENY(bob, i, "100.64.0.3", "100.64.0.1", 6, 22);
	policy_free(star);
	policy_free(one);
	policy_free(bob);
	policy_inventory_free(i);
}

static void test_8_hosts_and_addresses(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p =
		pol("{" OWNERS "'hosts': {'lab': '192.0.2.0/24', 'db': '100.64.0.3'},"
		    " 'acls': [{'action': 'accept', 'src': ['lab', '100.64.0.1'],"
		    " 'dst': ['tag:server:22']},"
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['100.64.0.4:80', 'db:5432']},"
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['10.0.0.0/8:*']},"
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['172.16.5.5:22']}]}");

	(void)state;
	/* Source literals go into SrcIPs as they are, owned by a node or not. */
	expect_filter(
		p, i, "server",
		"[{'SrcIPs':['100.64.0.1','192.0.2.0/24'],"
		"'DstPorts':[{'IP':'100.64.0.4','Ports':{'First':22,'Last':22}},"
		"{'IP':'fd7a:115c:a1e0::4','Ports':{'First':22,'Last':22}}]," DEFAULT_PROTOS "},"
		"{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		"'DstPorts':[{'IP':'100.64.0.4','Ports':{'First':80,'Last':80}}]," DEFAULT_PROTOS
		"}]");
	ALLOW(p, i, "192.0.2.77", "100.64.0.4", 6, 22);
	ALLOW(p, i, "100.64.0.1", "fd7a:115c:a1e0::4", 6, 22);
	/* An address alias does not stand for the node's other family. */
	DENY(p, i, "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::4", 6, 22);
	ALLOW(p, i, "100.64.0.3", "100.64.0.4", 6, 80);
	DENY(p, i, "100.64.0.3", "fd7a:115c:a1e0::4", 6, 80);
	/* A host alias for a node's IP is delivered to that node. */
	ALLOW(p, i, "100.64.0.3", "100.64.0.3", 6, 5432);
	/* A CIDR goes, whole, to each router whose approved route overlaps it. */
	expect_filter(p, i, "router",
		      "[{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		      "'DstPorts':[{'IP':'10.0.0.0/8'," ALL_PORTS "}]," DEFAULT_PROTOS "}]");
	ALLOW(p, i, "100.64.0.3", "10.33.200.1", 6, 443);
	DENY(p, i, "100.64.0.3", "10.1.1.1", 6, 443); /* only the exit node carries it: no rule */
	/* Nobody owns or routes 172.16.5.5: no rule anywhere. */
	for (size_t k = 0; k < i->n; k++) {
		char *f = filter_json(p, i, i->nodes[k].name);

		assert_null(strstr(f, "172.16.5.5"));
		free(f);
	}
	DENY(p, i, "100.64.0.3", "172.16.5.5", 6, 22);
	expect_filter(p, i, "exit", "[]");
	policy_free(p);
	policy_inventory_free(i);
}

static void test_9_tags_and_routes_do_not_mix(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p =
		pol("{" OWNERS "'acls': ["
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['tag:router:*']},"
		    "{'action': 'accept', 'src': ['tag:router'], 'dst': ['tag:server:22']}]}");

	(void)state;
	expect_filter(p, i, "router",
		      "[{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		      "'DstPorts':[{'IP':'100.64.0.5'," ALL_PORTS
		      "},{'IP':'fd7a:115c:a1e0::5'," ALL_PORTS "}]," DEFAULT_PROTOS "}]");
	ALLOW(p, i, "100.64.0.3", "100.64.0.5", 6, 8080);
	DENY(p, i, "100.64.0.3", "10.33.1.1", 6, 8080);
	ALLOW(p, i, "100.64.0.5", "100.64.0.4", 6, 22);
	DENY(p, i, "10.33.1.1", "100.64.0.4", 6, 22);
	policy_free(p);
	policy_inventory_free(i);
}

static void test_10_subnet_routes(void **state)
{
	struct policy_inventory *i =
		inv("[{'name': 'laptop', 'user': 'alice', 'ip': '100.64.0.1'},"
		    " {'name': 'r1', 'tags': ['tag:r'], 'ip': '100.64.0.11', 'routes': "
		    "['10.33.0.0/16']},"
		    " {'name': 'r2', 'tags': ['tag:r'], 'ip': '100.64.0.12', 'routes': "
		    "['10.33.0.0/16']},"
		    " {'name': 'r3', 'tags': ['tag:r'], 'ip': '100.64.0.13'}]");
	struct policy *p = pol("{'acls': [{'action': 'accept', 'src': ['alice@'],"
			       " 'dst': ['10.33.0.0/16:443', '10.44.0.0/16:*']}]}");
	char *f1, *f2;

	(void)state;
	/* HA: both routers of one prefix get identical rules. */
	f1 = filter_json(p, i, "r1");
	f2 = filter_json(p, i, "r2");
	assert_string_equal(f1, f2);
	free(f1);
	free(f2);
	expect_filter(p, i, "r1",
		      "[{'SrcIPs':['100.64.0.1'],"
		      "'DstPorts':[{'IP':'10.33.0.0/"
		      "16','Ports':{'First':443,'Last':443}}]," DEFAULT_PROTOS "}]");
	ALLOW(p, i, "100.64.0.1", "10.33.9.9", 6, 443);
	DENY(p, i, "100.64.0.1", "10.33.9.9", 6, 80);
	/* r3 advertises 10.44.0.0/16 but nobody approved it: no filter, no route. */
	expect_filter(p, i, "r3", "[]");
	DENY(p, i, "100.64.0.1", "10.44.0.1", 6, 22);
	expect_peers(p, i, "laptop", "r1 r2");
	policy_free(p);
	policy_inventory_free(i);
}

static void test_11_autogroup_internet(void **state)
{
	struct policy_inventory *i = base();
	struct policy_inventory *two =
		inv("[{'name': 'laptop', 'user': 'alice', 'ip': '100.64.0.1'},"
		    " {'name': 'x1', 'tags': ['tag:exit'], 'ip': '100.64.0.21', 'exit_node': true},"
		    " {'name': 'x2', 'tags': ['tag:exit'], 'ip': '100.64.0.22',"
		    "  'routes': ['0.0.0.0/0', '::/0']}]");
	struct policy_inventory *none =
		inv("[{'name': 'laptop', 'user': 'alice', 'ip': '100.64.0.1'},"
		    " {'name': 'b', 'user': 'bob', 'ip': '100.64.0.3'}]");
	struct policy *p = pol("{'acls': [{'action': 'accept', 'src': ['alice@'],"
			       " 'dst': ['autogroup:internet:*']}]}");
	char *f1, *f2;

	(void)state;
	expect_filter(p, i, "exit",
		      "[{'SrcIPs':['100.64.0.1-100.64.0.2','fd7a:115c:a1e0::1-fd7a:115c:a1e0::2'],"
		      "'DstPorts':[{'IP':'0.0.0.0-9.255.255.255'," ALL_PORTS "},"
		      "{'IP':'11.0.0.0-100.63.255.255'," ALL_PORTS "},"
		      "{'IP':'100.128.0.0-169.253.255.255'," ALL_PORTS "},"
		      "{'IP':'169.255.0.0-172.15.255.255'," ALL_PORTS "},"
		      "{'IP':'172.32.0.0-192.167.255.255'," ALL_PORTS "},"
		      "{'IP':'192.169.0.0-255.255.255.255'," ALL_PORTS "},"
		      "{'IP':'2000::/3'," ALL_PORTS "}]," DEFAULT_PROTOS "}]");
	expect_filter(p, i, "router", "[]");
	expect_filter(p, i, "laptop", "[]");
	ALLOW(p, i, "100.64.0.1", "8.8.8.8", 6, 443);
	ALLOW(p, i, "100.64.0.2", "2001:4860:4860::8888", 17, 53);
	DENY(p, i, "100.64.0.1", "192.168.200.1", 6, 443);
	DENY(p, i, "100.64.0.1", "10.1.1.1", 6, 443);
	DENY(p, i, "100.64.0.1", "172.16.0.1", 6, 443);
	DENY(p, i, "100.64.0.1", "169.254.169.254", 6, 80);
	DENY(p, i, "fd7a:115c:a1e0::1", "fc00::1", 6, 443);
	DENY(p, i, "100.64.0.3", "8.8.8.8", 6, 443);
	/* Every exit node carries it; without one, nothing is delivered anywhere. */
	f1 = filter_json(p, two, "x1");
	f2 = filter_json(p, two, "x2");
	assert_string_equal(f1, f2);
	assert_non_null(strstr(f1, "2000::/3"));
	free(f1);
	free(f2);
	ALLOW(p, two, "100.64.0.1", "1.1.1.1", 6, 443);
	expect_filter(p, none, "laptop", "[]");
	expect_filter(p, none, "b", "[]");
	DENY(p, none, "100.64.0.1", "8.8.8.8", 6, 443);
	policy_free(p);
	policy_inventory_free(i);
	policy_inventory_free(two);
	policy_inventory_free(none);
}

static void test_12_ports(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p = pol("{" OWNERS "'acls': [{'action': 'accept', 'src': ['bob@'],"
			       " 'dst': ['tag:server:22,80-90', '[fd7a:115c:a1e0::1]:443',"
			       " '100.64.0.2:1-65535']}]}");

	(void)state;
	ALLOW(p, i, "100.64.0.3", "100.64.0.4", 6, 22);
	ALLOW(p, i, "100.64.0.3", "100.64.0.4", 6, 80);
	ALLOW(p, i, "100.64.0.3", "100.64.0.4", 17, 85);
	ALLOW(p, i, "100.64.0.3", "100.64.0.4", 6, 90);
	DENY(p, i, "100.64.0.3", "100.64.0.4", 6, 21);
	DENY(p, i, "100.64.0.3", "100.64.0.4", 6, 91);
	DENY(p, i, "100.64.0.3", "100.64.0.4", 6, 443);
	ALLOW(p, i, "fd7a:115c:a1e0::3", "fd7a:115c:a1e0::1", 6, 443);
	DENY(p, i, "fd7a:115c:a1e0::3", "fd7a:115c:a1e0::1", 6, 444);
	DENY(p, i, "100.64.0.3", "100.64.0.1", 6, 443);
	ALLOW(p, i, "100.64.0.3", "100.64.0.2", 6, 65535);
	DENY(p, i, "100.64.0.3", "100.64.0.2", 6, 0);
	expect_filter(p, i, "server",
		      "[{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		      "'DstPorts':[{'IP':'100.64.0.4','Ports':{'First':22,'Last':22}},"
		      "{'IP':'100.64.0.4','Ports':{'First':80,'Last':90}},"
		      "{'IP':'fd7a:115c:a1e0::4','Ports':{'First':22,'Last':22}},"
		      "{'IP':'fd7a:115c:a1e0::4','Ports':{'First':80,'Last':90}}]," DEFAULT_PROTOS
		      "}]");
	policy_free(p);
	policy_inventory_free(i);
}

static void test_13_protocols(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p = pol(
		"{" OWNERS "'acls': ["
		"{'action': 'accept', 'src': ['bob@'], 'dst': ['tag:server:22']},"
		"{'action': 'accept', 'src': ['bob@'], 'dst': ['alice@:53'], 'proto': 'udp'},"
		"{'action': 'accept', 'src': ['bob@'], 'dst': ['tag:router:*'], 'proto': 'icmp'},"
		"{'action': 'accept', 'src': ['bob@'], 'dst': ['tag:exit:*'], 'proto': "
		"'ipv6-icmp'},"
		"{'action': 'accept', 'src': ['bob@'], 'dst': ['carol@example.com:9'], 'proto': "
		"'sctp'},"
		"{'action': 'accept', 'src': ['bob@'], 'dst': ['carol@example.com:*'], 'proto': "
		"'gre'}]}");

	(void)state;
	/* No proto: TCP, UDP, ICMP and ICMPv6, so a port-22 rule also allows UDP/22 and ping. */
	ALLOW(p, i, "100.64.0.3", "100.64.0.4", 6, 22);
	ALLOW(p, i, "100.64.0.3", "100.64.0.4", 17, 22);
	ALLOW(p, i, "100.64.0.3", "100.64.0.4", 1, 0);
	ALLOW(p, i, "fd7a:115c:a1e0::3", "fd7a:115c:a1e0::4", 58, 0);
	DENY(p, i, "100.64.0.3", "100.64.0.4", 132, 22);
	DENY(p, i, "100.64.0.3", "100.64.0.4", 47, 0);
	/* With a protocol set, only it matches. */
	ALLOW(p, i, "100.64.0.3", "100.64.0.1", 17, 53);
	DENY(p, i, "100.64.0.3", "100.64.0.1", 6, 53);
	DENY(p, i, "100.64.0.3", "100.64.0.1", 1, 0);
	/* "icmp" is protocol 1 only; ICMPv6 is "ipv6-icmp" (58). */
	ALLOW(p, i, "100.64.0.3", "100.64.0.5", 1, 0);
	DENY(p, i, "fd7a:115c:a1e0::3", "fd7a:115c:a1e0::5", 58, 0);
	DENY(p, i, "100.64.0.3", "100.64.0.5", 6, 22);
	ALLOW(p, i, "fd7a:115c:a1e0::3", "fd7a:115c:a1e0::6", 58, 0);
	DENY(p, i, "100.64.0.3", "100.64.0.6", 1, 0);
	ALLOW(p, i, "100.64.0.3", "100.64.0.8", 132, 9);
	DENY(p, i, "100.64.0.3", "100.64.0.8", 132, 10);
	ALLOW(p, i, "100.64.0.3", "100.64.0.8", 47, 0);
	DENY(p, i, "100.64.0.3", "100.64.0.8", 50, 0);
	expect_filter(p, i, "carol",
		      "[{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		      "'DstPorts':[{'IP':'100.64.0.8','Ports':{'First':9,'Last':9}},"
		      "{'IP':'fd7a:115c:a1e0::8','Ports':{'First':9,'Last':9}}],'IPProto':[132]},"
		      "{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		      "'DstPorts':[{'IP':'100.64.0.8'," ALL_PORTS
		      "},{'IP':'fd7a:115c:a1e0::8'," ALL_PORTS "}],'IPProto':[47]}]");
	policy_free(p);
	policy_inventory_free(i);
}

/* ICMP: ports never count; the data plane and tests both need a rule naming ICMP (strict view). */
static void test_14_icmp(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p = pol("{" OWNERS "'acls': ["
			       "{'action': 'accept', 'src': ['bob@'], 'dst': ['tag:server:22'],"
			       " 'proto': 'tcp'},"
			       "{'action': 'accept', 'src': ['bob@'], 'dst': ['alice@:443']}]}");
	struct policy_filter f;
	struct ip_addr bob = ip("100.64.0.3"), server = ip("100.64.0.4"), laptop = ip("100.64.0.1");

	(void)state;
	DENY(p, i, "100.64.0.3", "100.64.0.4", 1, 0);
	ALLOW(p, i, "100.64.0.3", "100.64.0.1", 1, 0);
	ALLOW(p, i, "100.64.0.3", "100.64.0.1", 1, 8); /* the port of an ICMP query is ignored */
	assert_int_equal(policy_compile_filter(p, i->nodes, i->n, node(i, "server"), &f), 0);
	assert_true(policy_filter_match(&f, &bob, &server, 6, 22));
	assert_false(policy_filter_match(&f, &bob, &server, 1, 0));
	assert_false(policy_filter_match(&f, &bob, &server, 17, 22));
	policy_filter_free(&f);
	assert_int_equal(policy_compile_filter(p, i->nodes, i->n, node(i, "laptop"), &f), 0);
	assert_true(policy_filter_match(&f, &bob, &laptop, 1, 0));
	assert_true(policy_filter_match(&f, &bob, &laptop, 1, 9999));
	assert_false(policy_filter_match(&f, &server, &laptop, 1, 0));
	policy_filter_free(&f);
	policy_free(p);
	policy_inventory_free(i);
}

static void test_15_direction_and_visibility(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p = pol("{" OWNERS "'acls': ["
			       "{'action': 'accept', 'src': ['bob@'], 'dst': ['tag:server:22']}]}");
	struct policy *routes =
		pol("{'acls': ["
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['10.33.0.0/16:*']},"
		    "{'action': 'accept', 'src': ['10.33.0.0/24'], 'dst': ['alice@:*']}]}");
	size_t desk = node(i, "desk"), server = node(i, "server"), laptop = node(i, "laptop");

	(void)state;
	/* Rules are directional and installed on the destination ... */
	ALLOW(p, i, "100.64.0.3", "100.64.0.4", 6, 22);
	DENY(p, i, "100.64.0.4", "100.64.0.3", 6, 22);
	expect_filter(p, i, "desk", "[]");
	/* ... but visibility is symmetric, and nobody else sees either. */
	assert_true(policy_peer_visible(p, i->nodes, i->n, desk, server));
	assert_true(policy_peer_visible(p, i->nodes, i->n, server, desk));
	assert_false(policy_peer_visible(p, i->nodes, i->n, desk, laptop));
	assert_false(policy_peer_visible(p, i->nodes, i->n, desk, desk));
	expect_peers(p, i, "desk", "server alicesrv");
	expect_peers(p, i, "server", "desk");
	expect_peers(p, i, "laptop", "");
	/* A subnet router is a peer of whoever may reach its subnet, and of whom its LAN reaches. */
	expect_peers(routes, i, "desk", "router");
	expect_peers(routes, i, "router", "laptop phone desk");
	expect_peers(routes, i, "laptop", "router");
	policy_free(p);
	policy_free(routes);
	policy_inventory_free(i);
}

static void test_16_compiler_details(void **state)
{
	struct policy_inventory *i = base();
	struct policy *merged =
		pol("{" OWNERS "'acls': ["
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['tag:server:22']},"
		    "{'action': 'accept', 'src': ['alice@'], 'dst': ['tag:server:25']},"
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['100.64.0.4:80']},"
		    "{'action': 'accept', 'src': ['bob@'], 'dst': ['tag:server:22'],"
		    " 'proto': 'tcp'}]}");

	(void)state;
	/* Same sources and protocols: one rule; duplicates dropped; other protocols apart. */
	expect_filter(merged, i, "server",
		      "[{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		      "'DstPorts':[{'IP':'100.64.0.4','Ports':{'First':22,'Last':22}},"
		      "{'IP':'fd7a:115c:a1e0::4','Ports':{'First':22,'Last':22}},"
		      "{'IP':'100.64.0.4','Ports':{'First':80,'Last':80}}]," DEFAULT_PROTOS "},"
		      "{'SrcIPs':['100.64.0.1-100.64.0.2','fd7a:115c:a1e0::1-fd7a:115c:a1e0::2'],"
		      "'DstPorts':[{'IP':'100.64.0.4','Ports':{'First':25,'Last':25}},"
		      "{'IP':'fd7a:115c:a1e0::4','Ports':{'First':25,'Last':25}}]," DEFAULT_PROTOS
		      "},"
		      "{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		      "'DstPorts':[{'IP':'100.64.0.4','Ports':{'First':22,'Last':22}},"
		      "{'IP':'fd7a:115c:a1e0::4','Ports':{'First':22,'Last':22}}],'IPProto':[6]}]");
	/* Only rules where the node is a destination. */
	expect_filter(merged, i, "desk", "[]");
	expect_filter(
		merged, i, "alicesrv",
		"[{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		"'DstPorts':[{'IP':'100.64.0.7','Ports':{'First':22,'Last':22}},"
		"{'IP':'fd7a:115c:a1e0::7','Ports':{'First':22,'Last':22}}]," DEFAULT_PROTOS "},"
		"{'SrcIPs':['100.64.0.1-100.64.0.2','fd7a:115c:a1e0::1-fd7a:115c:a1e0::2'],"
		"'DstPorts':[{'IP':'100.64.0.7','Ports':{'First':25,'Last':25}},"
		"{'IP':'fd7a:115c:a1e0::7','Ports':{'First':25,'Last':25}}]," DEFAULT_PROTOS "},"
		"{'SrcIPs':['100.64.0.3','fd7a:115c:a1e0::3'],"
		"'DstPorts':[{'IP':'100.64.0.7','Ports':{'First':22,'Last':22}},"
		"{'IP':'fd7a:115c:a1e0::7','Ports':{'First':22,'Last':22}}],'IPProto':[6]}]");
	policy_free(merged);
	policy_inventory_free(i);
}

static void test_index_errors(void **state)
{
	struct policy_inventory *i = base();
	struct policy_index *idx;
	struct policy_filter f;
	size_t *peers, n;

	(void)state;
	assert_int_equal(policy_compile_filter(NULL, i->nodes, i->n, i->n, &f), -ERANGE);
	assert_int_equal(policy_index_create(&idx, NULL, i->nodes, i->n), 0);
	assert_int_equal(policy_index_filter(idx, i->n, &f), -ERANGE);
	assert_int_equal(policy_index_peers(idx, i->n, &peers, &n), -ERANGE);
	assert_false(policy_index_visible(idx, 0, i->n));
	policy_index_destroy(idx);
	policy_index_destroy(NULL);
	/* A node with an address of no family (a caller's bug) is compiled without it. */
	{
		struct ip_addr addrs[2] = {ip("100.64.0.9"), {0}};
		struct policy_node odd = {
			.name = "odd", .user = "zed", .addresses = addrs, .n_addresses = 2};
		char *json;
		cJSON *j;

		assert_int_equal(policy_compile_filter(NULL, &odd, 1, 0, &f), 0);
		assert_int_equal(f.n_rules, 1);
		j = policy_filter_to_json(&f);
		json = cJSON_PrintUnformatted(j);
		assert_non_null(strstr(json, "\"IP\":\"*\""));
		free(json);
		cJSON_Delete(j);
		policy_filter_free(&f);
	}
	/* An empty tailnet compiles to nothing. */
	assert_int_equal(policy_index_create(&idx, NULL, NULL, 0), 0);
	assert_int_equal(policy_index_filter(idx, 0, &f), -ERANGE);
	policy_index_destroy(idx);
	policy_inventory_free(i);
}

static void test_auto_approvers_and_tag_owners(void **state)
{
	struct policy_inventory *i = base();
	struct policy *p =
		pol("{" OWNERS "'groups': {'group:eng': ['alice@']},"
		    " 'autoApprovers': {'routes': {'10.0.0.0/8': ['tag:router', 'group:eng'],"
		    " '192.168.0.0/16': ['bob@'], 'fd00::/8': ['autogroup:tagged']},"
		    " 'exitNode': ['tag:exit', 'carol@example.com']}}");
	struct ip_prefix pfx;
	const struct policy_node *router = &i->nodes[node(i, "router")];
	const struct policy_node *laptop = &i->nodes[node(i, "laptop")];
	const struct policy_node *desk = &i->nodes[node(i, "desk")];
	const struct policy_node *server = &i->nodes[node(i, "server")];

	(void)state;
#define PFX(s) (ip_prefix_parse(&pfx, s, NULL), &pfx)
	assert_true(policy_auto_approve_route(p, router, PFX("10.33.0.0/16")));
	assert_true(policy_auto_approve_route(p, router, PFX("10.0.0.0/8")));
	assert_false(policy_auto_approve_route(p, router, PFX("10.0.0.0/7")));
	assert_false(policy_auto_approve_route(p, router, PFX("11.0.0.0/8")));
	assert_false(policy_auto_approve_route(p, router, PFX("192.168.1.0/24")));
	assert_false(policy_auto_approve_route(p, router, PFX("0.0.0.0/0")));
	assert_true(policy_auto_approve_route(p, router, PFX("fd00:1::/64")));
	assert_true(policy_auto_approve_route(p, laptop, PFX("10.1.0.0/16")));
	assert_false(policy_auto_approve_route(p, laptop, PFX("fd00:1::/64")));
	assert_true(policy_auto_approve_route(p, desk, PFX("192.168.1.0/24")));
	assert_false(policy_auto_approve_route(p, desk, PFX("10.1.0.0/16")));
	/* alicesrv is tagged: group:eng (alice) does not approve for it. */
	assert_false(
		policy_auto_approve_route(p, &i->nodes[node(i, "alicesrv")], PFX("10.1.0.0/16")));
	assert_false(policy_auto_approve_route(NULL, router, PFX("10.33.0.0/16")));
	assert_true(policy_auto_approve_exit(p, &i->nodes[node(i, "exit")]));
	assert_true(policy_auto_approve_exit(p, &i->nodes[node(i, "carol")]));
	assert_false(policy_auto_approve_exit(p, router));
	assert_false(policy_auto_approve_exit(NULL, router));
	/* tagOwners: users and groups for untagged devices, tags for tagged ones. */
	assert_true(policy_tag_allowed(p, laptop, "tag:server"));
	assert_false(policy_tag_allowed(p, desk, "tag:server"));
	assert_true(policy_tag_allowed(p, server, "tag:ci"));
	assert_false(policy_tag_allowed(p, laptop, "tag:ci"));
	assert_false(policy_tag_allowed(p, laptop, "tag:nope"));
	assert_false(policy_tag_allowed(p, laptop, "tag:router"));
	assert_false(policy_tag_allowed(NULL, laptop, "tag:server"));
#undef PFX
	policy_free(p);
	policy_inventory_free(i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_1_default_and_accept_only),
		cmocka_unit_test(test_2_star_source),
		cmocka_unit_test(test_3_star_destination),
		cmocka_unit_test(test_4_users_and_groups),
		cmocka_unit_test(test_5_tagged_nodes_lose_user_identity),
		cmocka_unit_test(test_6_member_and_tagged),
		cmocka_unit_test(test_7_autogroup_self),
		cmocka_unit_test(test_8_hosts_and_addresses),
		cmocka_unit_test(test_9_tags_and_routes_do_not_mix),
		cmocka_unit_test(test_10_subnet_routes),
		cmocka_unit_test(test_11_autogroup_internet),
		cmocka_unit_test(test_12_ports),
		cmocka_unit_test(test_13_protocols),
		cmocka_unit_test(test_14_icmp),
		cmocka_unit_test(test_15_direction_and_visibility),
		cmocka_unit_test(test_16_compiler_details),
		cmocka_unit_test(test_index_errors),
		cmocka_unit_test(test_auto_approvers_and_tag_owners),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
