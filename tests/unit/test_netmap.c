// SPDX-License-Identifier: MIT
/*
 * The daemon's netmap store: full maps are authoritative and idempotent,
 * deltas and patches change exactly what they name, and every change is
 * reported once.
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

#include "daemon/netmap.h"

struct counts {
	unsigned added, changed, removed, self, filter, dns;
	uint64_t last_id;
};

static void on_added(void *ctx, const struct ctl_node *n)
{
	struct counts *c = ctx;

	c->added++;
	c->last_id = n->id;
}

static void on_changed(void *ctx, const struct ctl_node *old, const struct ctl_node *n)
{
	struct counts *c = ctx;

	assert_int_equal(old->id, n->id);
	c->changed++;
	c->last_id = n->id;
}

static void on_removed(void *ctx, const struct ctl_node *n)
{
	struct counts *c = ctx;

	c->removed++;
	c->last_id = n->id;
}

static void on_self(void *ctx, const struct ctl_node *n)
{
	(void)n;
	((struct counts *)ctx)->self++;
}

static void on_filter(void *ctx, const struct ctl_filter_rule *r, size_t n, bool has)
{
	(void)r;
	(void)n;
	(void)has;
	((struct counts *)ctx)->filter++;
}

static const struct netmap_ops ops = {
	.peer_added = on_added,
	.peer_changed = on_changed,
	.peer_removed = on_removed,
	.self_changed = on_self,
	.filter_changed = on_filter,
};

static char *dup(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static void make_node(struct ctl_node *n, uint64_t id, const char *endpoint)
{
	char name[32], addr[32];

	memset(n, 0, sizeof(*n));
	n->id = id;
	snprintf(name, sizeof(name), "node%llu", (unsigned long long)id);
	n->name = dup(name);
	snprintf(name, sizeof(name), "node%llu.mesh.internal", (unsigned long long)id);
	n->fqdn = dup(name);
	n->user = dup("alice");
	memset(n->node_key, (int)id, CTL_KEY_LEN);
	n->addresses = calloc(1, sizeof(*n->addresses));
	n->allowed_ips = calloc(1, sizeof(*n->allowed_ips));
	assert_non_null(n->addresses);
	assert_non_null(n->allowed_ips);
	snprintf(addr, sizeof(addr), "100.64.0.%llu/32", (unsigned long long)id);
	assert_int_equal(ip_prefix_parse(&n->addresses[0], addr, NULL), 0);
	n->allowed_ips[0] = n->addresses[0];
	n->naddresses = n->nallowed_ips = 1;
	if (endpoint) {
		n->endpoints = calloc(1, sizeof(*n->endpoints));
		assert_non_null(n->endpoints);
		assert_int_equal(ip_endpoint_parse(&n->endpoints[0], endpoint, NULL), 0);
		n->nendpoints = 1;
	}
}

/* A full map with peers 1..@n (and self 100). */
static void full_map(struct ctl_map_response *f, unsigned n, const char *endpoint)
{
	memset(f, 0, sizeof(*f));
	f->node = calloc(1, sizeof(*f->node));
	assert_non_null(f->node);
	make_node(f->node, 100, NULL);
	f->has_peers = true;
	f->peers = calloc(n ? n : 1, sizeof(*f->peers));
	assert_non_null(f->peers);
	f->npeers = n;
	for (unsigned i = 0; i < n; i++)
		make_node(&f->peers[i], i + 1, endpoint);
}

static void apply(struct netmap *nm, struct ctl_map_response *f, struct counts *c, int want)
{
	assert_int_equal(netmap_apply(nm, f, &ops, c), want);
	ctl_map_response_free(f);
}

static void test_full_map_idempotent(void **state)
{
	struct ctl_map_response f;
	struct netmap nm;
	struct counts c = {0};

	(void)state;
	netmap_init(&nm);
	full_map(&f, 50, "192.0.2.1:41641");
	apply(&nm, &f, &c, 0);
	assert_int_equal(c.added, 50);
	assert_int_equal(c.self, 1);
	assert_int_equal(nm.npeers, 50);
	/* The same map again: nothing to report. */
	memset(&c, 0, sizeof(c));
	full_map(&f, 50, "192.0.2.1:41641");
	apply(&nm, &f, &c, 0);
	assert_int_equal(c.added + c.changed + c.removed + c.self, 0);
	/* A full map without peers 41..50 and with new endpoints: removals and changes. */
	full_map(&f, 40, "192.0.2.2:41641");
	apply(&nm, &f, &c, 0);
	assert_int_equal(c.removed, 10);
	assert_int_equal(c.changed, 40);
	assert_int_equal(nm.npeers, 40);
	assert_null(netmap_peer(&nm, 45));
	netmap_free(&nm);
}

static void test_delta_and_patch(void **state)
{
	struct ctl_map_response f;
	struct netmap nm;
	struct counts c = {0};
	const struct ctl_node *n;
	struct ip_addr a;
	char buf[64];

	(void)state;
	netmap_init(&nm);
	/* A delta before any full map is a protocol error. */
	memset(&f, 0, sizeof(f));
	f.peers_removed = calloc(1, sizeof(uint64_t));
	f.peers_removed[0] = 1;
	f.npeers_removed = 1;
	apply(&nm, &f, &c, -EPROTO);

	full_map(&f, 3, NULL);
	apply(&nm, &f, &c, 0);
	memset(&c, 0, sizeof(c));

	/* Delta: peer 4 joins, peer 2 leaves. */
	memset(&f, 0, sizeof(f));
	f.peers_changed = calloc(1, sizeof(*f.peers_changed));
	make_node(&f.peers_changed[0], 4, NULL);
	f.npeers_changed = 1;
	f.peers_removed = calloc(1, sizeof(uint64_t));
	f.peers_removed[0] = 2;
	f.npeers_removed = 1;
	apply(&nm, &f, &c, 0);
	assert_int_equal(c.added, 1);
	assert_int_equal(c.removed, 1);
	assert_non_null(netmap_peer(&nm, 4));
	assert_null(netmap_peer(&nm, 2));

	/* Patch: peer 1's endpoints and online state. */
	memset(&c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	f.peers_patch = calloc(2, sizeof(*f.peers_patch));
	f.npeers_patch = 2;
	f.peers_patch[0].id = 1;
	f.peers_patch[0].fields = CTL_PATCH_ENDPOINTS | CTL_PATCH_ONLINE;
	f.peers_patch[0].online = true;
	f.peers_patch[0].endpoints = calloc(1, sizeof(struct ip_endpoint));
	f.peers_patch[0].nendpoints = 1;
	assert_int_equal(
		ip_endpoint_parse(&f.peers_patch[0].endpoints[0], "198.51.100.9:1234", NULL), 0);
	f.peers_patch[1].id = 999; /* unknown: ignored */
	f.peers_patch[1].fields = CTL_PATCH_ONLINE;
	apply(&nm, &f, &c, 0);
	assert_int_equal(c.changed, 1);
	n = netmap_peer(&nm, 1);
	assert_true(n->online);
	assert_int_equal(n->nendpoints, 1);
	assert_string_equal(ip_endpoint_format(&n->endpoints[0], buf, sizeof(buf)),
			    "198.51.100.9:1234");

	/* Lookups by address and by name (short, FQDN, any case, trailing dot). */
	assert_int_equal(ip_addr_parse(&a, "100.64.0.4", NULL), 0);
	assert_int_equal(netmap_peer_by_addr(&nm, &a)->id, 4);
	assert_int_equal(netmap_peer_by_name(&nm, "NODE3")->id, 3);
	assert_int_equal(netmap_peer_by_name(&nm, "node3.mesh.internal.")->id, 3);
	assert_null(netmap_peer_by_name(&nm, "node2"));

	/* A keep-alive changes nothing. */
	memset(&c, 0, sizeof(c));
	memset(&f, 0, sizeof(f));
	f.keep_alive = true;
	apply(&nm, &f, &c, 0);
	assert_int_equal(c.added + c.changed + c.removed + c.self + c.filter, 0);
	netmap_free(&nm);
}

static void test_filter_kept_until_replaced(void **state)
{
	struct ctl_map_response f;
	struct netmap nm;
	struct counts c = {0};

	(void)state;
	netmap_init(&nm);
	full_map(&f, 1, NULL);
	f.has_packet_filter = true; /* present and empty: deny all */
	apply(&nm, &f, &c, 0);
	assert_int_equal(c.filter, 1);
	assert_true(nm.extra.has_packet_filter);
	/* A later frame without a filter leaves it as it is. */
	full_map(&f, 1, NULL);
	apply(&nm, &f, &c, 0);
	assert_int_equal(c.filter, 1);
	assert_true(nm.extra.has_packet_filter);
	netmap_free(&nm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_map_idempotent),
		cmocka_unit_test(test_delta_and_patch),
		cmocka_unit_test(test_filter_kept_until_replaced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
