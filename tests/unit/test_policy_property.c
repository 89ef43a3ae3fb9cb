// SPDX-License-Identifier: MIT
/*
 * Property tests. Random tailnets (users, tags, subnet routers, exit nodes)
 * and random policies drawn from every alias, port and protocol form: for
 * random packets, the verdict of the compiled filter on the node that
 * receives the packet must equal policy_allows(), which reads the policy
 * directly; peer visibility must follow from the filters and from the
 * verdicts. The address sets under the compiler are checked against a bitmap.
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

#include "server/policy/ipset.h"
#include "server/policy/policy.h"

enum {
	ROUNDS = 150,
	SAMPLES = 600,
	MAX_NODES = 14,
};

static unsigned int seed = 20240611;

static unsigned int rnd(unsigned int n)
{
	return (unsigned int)rand_r(&seed) % n;
}

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;

	if (ip_addr_parse(&a, s, NULL))
		fail_msg("bad address %s", s);
	return a;
}

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p;

	if (ip_prefix_parse(&p, s, NULL))
		fail_msg("bad prefix %s", s);
	return p;
}

struct world {
	struct policy_node nodes[MAX_NODES];
	struct ip_addr addrs[MAX_NODES][2];
	struct ip_prefix routes[MAX_NODES][4]; /* up to 2 subnet routes + 2 default routes */
	const char *tags[MAX_NODES][2];
	char names[MAX_NODES][24];
	size_t n;
};

static const char *const users[] = {"alice", "bob", "carol@example.com", "dave"};
static const char *const tags[] = {"tag:a", "tag:b", "tag:c"};
static const char *const route_pool[] = {"10.0.0.0/8",	    "10.33.0.0/16",  "10.33.1.0/24",
					 "192.168.1.0/24",  "172.16.0.0/12", "fd00:1::/64",
					 "100.64.200.0/24", "192.168.0.0/16"};

static void make_world(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->n = 3 + rnd(MAX_NODES - 2);
	for (size_t i = 0; i < w->n; i++) {
		struct policy_node *n = &w->nodes[i];
		char buf[64];

		snprintf(w->names[i], sizeof(w->names[i]), "n%zu", i);
		n->id = (int64_t)i + 1;
		n->name = w->names[i];
		snprintf(buf, sizeof(buf), "100.64.0.%zu", i + 1);
		w->addrs[i][0] = ip(buf);
		snprintf(buf, sizeof(buf), "fd7a:115c:a1e0::%zx", i + 1);
		w->addrs[i][1] = ip(buf);
		n->addresses = w->addrs[i];
		n->n_addresses = rnd(5) ? 2 : 1;
		if (rnd(10) < 6) {
			n->user = users[rnd(4)];
		} else {
			w->tags[i][0] = tags[rnd(3)];
			w->tags[i][1] = tags[rnd(3)];
			n->tags = w->tags[i];
			n->n_tags = 1 + rnd(2);
			/* Who created it: a tagged node must not be matched by it. */
			if (rnd(2))
				n->user = users[rnd(4)];
		}
		if (rnd(5) == 0) {
			n->n_routes = 1 + rnd(2);
			for (size_t k = 0; k < n->n_routes; k++)
				w->routes[i][k] = pfx(route_pool[rnd(8)]);
		}
		if (rnd(7) == 0) {
			if (rnd(2)) {
				n->exit_node = true;
			} else {
				w->routes[i][n->n_routes++] = pfx("0.0.0.0/0");
				w->routes[i][n->n_routes++] = pfx("::/0");
			}
		}
		n->routes = w->routes[i];
	}
}

static const char *const src_pool[] = {
	"*",
	"alice@",
	"bob@",
	"carol@example.com",
	"group:g1",
	"group:g2",
	"group:none",
	"tag:a",
	"tag:b",
	"autogroup:member",
	"autogroup:tagged",
	"autogroup:danger-all",
	"h1",
	"h2",
	"h6",
	"100.64.0.5",
	"10.0.0.0/8",
	"fd7a:115c:a1e0::/120",
	"100.115.92.7",
	"dave@",
};
/* Sources autogroup:self accepts. */
static const char *const self_src_pool[] = {
	"*",	    "alice@",	"bob@",	      "carol@example.com",
	"group:g1", "group:g2", "group:none", "autogroup:member"};
static const char *const dst_pool[] = {
	"*",
	"alice@",
	"bob@",
	"group:g1",
	"tag:a",
	"tag:c",
	"autogroup:member",
	"autogroup:tagged",
	"autogroup:internet",
	"h1",
	"h2",
	"h6",
	"hnet",
	"100.64.0.4",
	"10.0.0.0/8",
	"10.33.0.0/16",
	"[fd7a:115c:a1e0::3]",
	"autogroup:self",
	"0.0.0.0/0",
	"192.168.1.77",
};
static const char *const port_pool[] = {"*", "22", "80,443", "1000-2000", "53", "1-65535"};
static const char *const proto_pool[] = {NULL,	 NULL,	      NULL,   NULL,  "tcp", "udp",
					 "icmp", "ipv6-icmp", "sctp", "gre", "17",  "50"};

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < *cap - *len)
			break;
		*cap *= 2;
		*buf = realloc(*buf, *cap);
		assert_non_null(*buf);
	}
	*len += (size_t)n;
}

static char *make_policy(void)
{
	size_t len = 0, cap = 1024, n_acls = 1 + rnd(6);
	char *b = malloc(cap);

	assert_non_null(b);
	b[0] = '\0';
	append(&b, &len, &cap,
	       "{\"groups\": {\"group:g1\": [\"alice@\", \"carol@example.com\"],"
	       " \"group:g2\": [\"bob@\"], \"group:none\": []},"
	       " \"tagOwners\": {\"tag:a\": [], \"tag:b\": [\"tag:a\"], \"tag:c\": [\"alice@\"]},"
	       " \"hosts\": {\"h1\": \"100.64.0.3\", \"h2\": \"10.33.1.0/24\","
	       " \"h6\": \"fd7a:115c:a1e0::2\", \"hnet\": \"192.168.0.0/16\"},"
	       " \"acls\": [");
	for (size_t a = 0; a < n_acls; a++) {
		const char *proto = proto_pool[rnd(12)];
		bool ports = !proto || !strcmp(proto, "tcp") || !strcmp(proto, "udp") ||
			     !strcmp(proto, "sctp") || !strcmp(proto, "17");
		size_t n_dsts = 1 + rnd(3), n_srcs = 1 + rnd(3);
		const char *dsts[3];
		bool self = false;

		for (size_t k = 0; k < n_dsts; k++) {
			dsts[k] = dst_pool[rnd(20)];
			self |= !strcmp(dsts[k], "autogroup:self");
		}
		append(&b, &len, &cap, "%s{\"action\": \"accept\", \"src\": [", a ? "," : "");
		for (size_t k = 0; k < n_srcs; k++)
			append(&b, &len, &cap, "%s\"%s\"", k ? ", " : "",
			       self ? self_src_pool[rnd(8)] : src_pool[rnd(20)]);
		append(&b, &len, &cap, "], \"dst\": [");
		for (size_t k = 0; k < n_dsts; k++)
			append(&b, &len, &cap, "%s\"%s:%s\"", k ? ", " : "", dsts[k],
			       ports ? port_pool[rnd(6)] : "*");
		append(&b, &len, &cap, "]");
		if (proto)
			append(&b, &len, &cap, ", \"proto\": \"%s\"", proto);
		append(&b, &len, &cap, "}");
	}
	append(&b, &len, &cap, "]}");
	return b;
}

static const char *const addr_pool[] = {
	"10.33.1.5",  "10.33.9.9",    "10.200.0.1",	    "192.168.1.7",  "192.168.200.1",
	"172.16.3.3", "fd00:1::5",    "100.64.0.250",	    "100.115.92.7", "100.64.200.9",
	"8.8.8.8",    "1.1.1.1",      "2606:4700::1111",    "fc00::1",	    "169.254.1.1",
	"100.64.0.5", "192.168.1.77", "fd7a:115c:a1e0::ff",
};

static struct ip_addr sample_addr(const struct world *w)
{
	if (rnd(10) < 6) {
		const struct policy_node *n = &w->nodes[rnd((unsigned int)w->n)];

		return n->addresses[rnd((unsigned int)n->n_addresses)];
	}
	return ip(addr_pool[rnd(sizeof(addr_pool) / sizeof(addr_pool[0]))]);
}

static bool in_tailnet(const struct ip_addr *a)
{
	struct ip_prefix cgnat = pfx("100.64.0.0/10"), chromeos = pfx("100.115.92.0/23"),
			 ula = pfx("fd7a:115c:a1e0::/48");

	if (a->family == IP_FAMILY_V4)
		return ip_prefix_contains(&cgnat, a) && !ip_prefix_contains(&chromeos, a);
	return ip_prefix_contains(&ula, a);
}

/*
 * The nodes a packet to @dst reaches, written again from the documented
 * routing model: its owner, else the routers of the most specific approved
 * route, exit nodes counting as /0 for anything but tailnet addresses.
 */
static size_t receivers(const struct world *w, const struct ip_addr *dst, size_t *out)
{
	int best = -1, len[MAX_NODES];
	size_t k = 0;

	for (size_t i = 0; i < w->n; i++) {
		for (size_t a = 0; a < w->nodes[i].n_addresses; a++) {
			if (ip_addr_equal(&w->nodes[i].addresses[a], dst)) {
				out[0] = i;
				return 1;
			}
		}
	}
	for (size_t i = 0; i < w->n; i++) {
		const struct policy_node *n = &w->nodes[i];

		len[i] = -1;
		for (size_t r = 0; r < n->n_routes; r++) {
			if (ip_prefix_contains(&n->routes[r], dst) &&
			    (n->routes[r].bits || !in_tailnet(dst)))
				len[i] = n->routes[r].bits > len[i] ? n->routes[r].bits : len[i];
		}
		if (len[i] < 0 && n->exit_node && !in_tailnet(dst))
			len[i] = 0;
		best = len[i] > best ? len[i] : best;
	}
	for (size_t i = 0; best >= 0 && i < w->n; i++) {
		if (len[i] == best)
			out[k++] = i;
	}
	return k;
}

/* Whether @r's sources cover an address or an approved subnet route of @n. */
static bool rule_covers(const struct policy_rule *r, const struct policy_node *n)
{
	for (size_t s = 0; s < r->n_srcs; s++) {
		for (size_t a = 0; a < n->n_addresses; a++) {
			if (policy_range_contains(&r->srcs[s], &n->addresses[a]))
				return true;
		}
		for (size_t k = 0; k < n->n_routes; k++) {
			struct policy_range rr;

			if (!n->routes[k].bits)
				continue;
			policy_range_from_prefix(&rr, &n->routes[k]);
			if (rr.first.family == r->srcs[s].first.family &&
			    ip_addr_compare(&rr.first, &r->srcs[s].last) <= 0 &&
			    ip_addr_compare(&r->srcs[s].first, &rr.last) <= 0)
				return true;
		}
	}
	return false;
}

static bool filter_covers(const struct policy_filter *f, const struct policy_node *n)
{
	for (size_t r = 0; r < f->n_rules; r++) {
		if (rule_covers(&f->rules[r], n))
			return true;
	}
	return false;
}

static void check_round(int round)
{
	static const uint8_t protos[] = {6, 17, 1, 58, 132, 47, 50};
	static const uint16_t ports[] = {0, 22, 53, 80, 443, 1500, 2001, 65535};
	struct policy_filter filters[MAX_NODES];
	struct policy_index *idx;
	struct policy_error err;
	struct policy *p = NULL;
	struct world w;
	char *text;

	make_world(&w);
	text = make_policy();
	if (policy_parse(&p, text, strlen(text), &err))
		fail_msg("round %d: generated policy refused: %s\n%s", round, err.msg, text);
	/* Every fifth round: no policy at all. */
	if (round % 5 == 4) {
		policy_free(p);
		p = NULL;
	}
	assert_int_equal(policy_index_create(&idx, p, w.nodes, w.n), 0);
	for (size_t i = 0; i < w.n; i++)
		assert_int_equal(policy_index_filter(idx, i, &filters[i]), 0);

	for (int s = 0; s < SAMPLES; s++) {
		struct ip_addr src = sample_addr(&w), dst = sample_addr(&w);
		uint8_t proto = protos[rnd(sizeof(protos))];
		uint16_t port = rnd(4) ? ports[rnd(8)] : (uint16_t)rnd(65536);
		size_t recv[MAX_NODES], n_recv = receivers(&w, &dst, recv);
		bool naive = policy_allows(p, w.nodes, w.n, &src, &dst, proto, port);
		bool compiled = false;
		char a[IP_ADDR_STRLEN], b[IP_ADDR_STRLEN];

		if (src.family != dst.family)
			continue;
		for (size_t k = 0; k < n_recv && !compiled; k++)
			compiled = policy_filter_match(&filters[recv[k]], &src, &dst, proto, port);
		if (naive != compiled)
			fail_msg("round %d: %s -> %s proto %u port %u: policy says %d, filter "
				 "%d\n%s",
				 round, ip_addr_format(&src, a, sizeof(a)),
				 ip_addr_format(&dst, b, sizeof(b)), proto, port, naive, compiled,
				 text);
		/* May reach ⇒ each is in the other's netmap. */
		for (size_t i = 0; naive && i < w.n; i++) {
			for (size_t k = 0; k < w.nodes[i].n_addresses; k++) {
				if (!ip_addr_equal(&w.nodes[i].addresses[k], &src))
					continue;
				for (size_t r = 0; r < n_recv; r++) {
					if (recv[r] != i &&
					    policy_filter_match(&filters[recv[r]], &src, &dst,
								proto, port))
						assert_true(policy_index_visible(idx, i, recv[r]) &&
							    policy_index_visible(idx, recv[r], i));
				}
			}
		}
	}
	/* Visibility is exactly "some rule delivered to one covers the other", both ways. */
	for (size_t a = 0; a < w.n; a++) {
		size_t *peers, n_peers, k = 0;

		assert_int_equal(policy_index_peers(idx, a, &peers, &n_peers), 0);
		for (size_t b = 0; b < w.n; b++) {
			bool want = a != b && (filter_covers(&filters[b], &w.nodes[a]) ||
					       filter_covers(&filters[a], &w.nodes[b]));

			if (policy_index_visible(idx, a, b) != want)
				fail_msg("round %d: visible(n%zu, n%zu) != %d\n%s", round, a, b,
					 want, text);
			if (want) {
				assert_true(k < n_peers);
				assert_int_equal(peers[k++], b);
			}
		}
		assert_int_equal(k, n_peers);
		free(peers);
	}
	for (size_t i = 0; i < w.n; i++)
		policy_filter_free(&filters[i]);
	policy_index_destroy(idx);
	policy_free(p);
	free(text);
}

static void test_filter_agrees_with_policy(void **state)
{
	(void)state;
	for (int round = 0; round < ROUNDS; round++)
		check_round(round);
}

/* ipset against a bitmap over 10.0.0.0/23, plus the edges of the address space. */
static struct ip_addr v4(uint32_t x)
{
	struct ip_addr a = {.family = IP_FAMILY_V4};

	a.bytes[0] = (uint8_t)(x >> 24);
	a.bytes[1] = (uint8_t)(x >> 16);
	a.bytes[2] = (uint8_t)(x >> 8);
	a.bytes[3] = (uint8_t)x;
	return a;
}

static void check_invariants(const struct policy_ipset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		assert_true(ip_addr_compare(&s->r[i].first, &s->r[i].last) <= 0);
		if (i && s->r[i].first.family == s->r[i - 1].last.family) {
			/* Sorted, disjoint, and not adjacent (else they would have merged). */
			struct ip_addr next = s->r[i - 1].last;

			assert_true(ip_addr_compare(&s->r[i - 1].last, &s->r[i].first) < 0);
			for (int b = 3; b >= 0 && ++next.bytes[b] == 0; b--)
				;
			assert_false(ip_addr_equal(&next, &s->r[i].first));
		}
	}
}

static void test_ipset_model(void **state)
{
	const uint32_t base = 0x0a000000; /* 10.0.0.0 */

	(void)state;
	for (int round = 0; round < 300; round++) {
		uint8_t model[512] = {0};
		struct policy_ipset s, t;
		int ops = 1 + (int)rnd(12);

		policy_ipset_init(&s);
		policy_ipset_init(&t);
		for (int o = 0; o < ops; o++) {
			unsigned int kind = rnd(3), bits = 23 + rnd(10);
			uint32_t x = base + rnd(512), y = base + rnd(512);
			struct ip_prefix p = {.addr = v4(x), .bits = (uint8_t)bits};

			if (kind == 0) {
				struct ip_addr lo = v4(x < y ? x : y), hi = v4(x < y ? y : x);

				assert_int_equal(policy_ipset_add_range(&s, &lo, &hi), 0);
				for (uint32_t k = (x < y ? x : y); k <= (x < y ? y : x); k++)
					model[k - base] = 1;
			} else {
				struct policy_range r;

				policy_range_from_prefix(&r, &p);
				if (kind == 1)
					assert_int_equal(policy_ipset_add_prefix(&s, &p), 0);
				else
					assert_int_equal(policy_ipset_remove_prefix(&s, &p), 0);
				for (uint32_t k = 0; k < 512; k++) {
					struct ip_addr a = v4(base + k);

					if (policy_range_contains(&r, &a))
						model[k] = kind == 1;
				}
			}
		}
		policy_ipset_normalize(&s);
		check_invariants(&s);
		for (uint32_t k = 0; k < 512; k++) {
			struct ip_addr a = v4(base + k);

			assert_int_equal(policy_ipset_contains(&s, &a), model[k]);
			if (model[k])
				assert_int_equal(policy_ipset_add_addr(&t, &a), 0);
		}
		/* Built address by address in reverse: the same set, the same hash. */
		policy_ipset_normalize(&t);
		assert_true(policy_ipset_equal(&s, &t));
		assert_true(policy_ipset_hash(&s) == policy_ipset_hash(&t));
		for (int q = 0; q < 50; q++) {
			struct ip_prefix p = {.addr = v4(base + rnd(512)),
					      .bits = (uint8_t)(23 + rnd(10))};
			struct policy_range r;
			bool want = false;

			policy_range_from_prefix(&r, &p);
			for (uint32_t k = 0; k < 512 && !want; k++) {
				struct ip_addr a = v4(base + k);

				want = model[k] && policy_range_contains(&r, &a);
			}
			assert_int_equal(policy_ipset_overlaps_prefix(&s, &p), want);
		}
		policy_ipset_release(&s);
		policy_ipset_release(&t);
	}
}

static void test_ipset_edges(void **state)
{
	struct policy_ipset s;
	struct ip_addr top = ip("255.255.255.255"), zero = ip("0.0.0.0"), v6 = ip("::"),
		       v6top = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	struct ip_prefix all4 = pfx("0.0.0.0/0"), all6 = pfx("::/0"), ten = pfx("10.0.0.0/8");
	char buf[POLICY_RANGE_STRLEN];

	(void)state;
	policy_ipset_init(&s);
	/* The last address has no successor: no wrap-around merge with 0.0.0.0. */
	assert_int_equal(policy_ipset_add_addr(&s, &top), 0);
	assert_int_equal(policy_ipset_add_addr(&s, &zero), 0);
	assert_int_equal(policy_ipset_add_addr(&s, &v6), 0);
	assert_int_equal(policy_ipset_add_addr(&s, &v6top), 0);
	policy_ipset_normalize(&s);
	assert_int_equal(s.n, 4);
	/* The families never merge, even where the bytes would. */
	assert_int_equal(policy_ipset_add_prefix(&s, &all4), 0);
	assert_int_equal(policy_ipset_add_prefix(&s, &all6), 0);
	policy_ipset_normalize(&s);
	assert_int_equal(s.n, 2);
	assert_string_equal(policy_range_format(&s.r[0], buf, sizeof(buf)), "0.0.0.0/0");
	assert_string_equal(policy_range_format(&s.r[1], buf, sizeof(buf)), "::/0");
	assert_int_equal(policy_ipset_remove_prefix(&s, &ten), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(policy_range_format(&s.r[0], buf, sizeof(buf)),
			    "0.0.0.0-9.255.255.255");
	assert_string_equal(policy_range_format(&s.r[1], buf, sizeof(buf)),
			    "11.0.0.0-255.255.255.255");
	assert_int_equal(policy_ipset_remove_prefix(&s, &all4), 0);
	assert_int_equal(s.n, 1);
	assert_false(policy_ipset_contains(&s, &zero));
	assert_true(policy_ipset_contains(&s, &v6top));
	/* Ranges of mixed families are refused. */
	assert_int_equal(policy_ipset_add_range(&s, &zero, &v6), -EINVAL);
	assert_int_equal(policy_ipset_add_range(&s, &top, &zero), -EINVAL);
	policy_ipset_release(&s);

	struct {
		const char *first, *last, *want;
	} fmt[] = {
		{"10.0.0.1", "10.0.0.1", "10.0.0.1"},
		{"10.0.0.0", "10.0.0.255", "10.0.0.0/24"},
		{"10.0.0.1", "10.0.0.2", "10.0.0.1-10.0.0.2"},
		{"10.0.0.0", "10.0.0.1", "10.0.0.0/31"},
		{"10.0.0.0", "10.0.1.254", "10.0.0.0-10.0.1.254"},
		{"fd7a:115c:a1e0::", "fd7a:115c:a1e0:ffff:ffff:ffff:ffff:ffff",
		 "fd7a:115c:a1e0::/48"},
		{"2000::", "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2000::/3"},
		{"fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1-fd7a:115c:a1e0::2"},
	};
	for (size_t i = 0; i < sizeof(fmt) / sizeof(fmt[0]); i++) {
		struct policy_range r = {ip(fmt[i].first), ip(fmt[i].last)};

		assert_string_equal(policy_range_format(&r, buf, sizeof(buf)), fmt[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_agrees_with_policy),
		cmocka_unit_test(test_ipset_model),
		cmocka_unit_test(test_ipset_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
