// SPDX-License-Identifier: MIT
/*
 * The netmap builder on a fake clock: full maps (content, and byte for byte
 * what the control codec encodes), the classification of each kind of change
 * into peers_changed / peers_patch / peers_removed and the node's own fate,
 * the policy seam (visibility, resyncs), request checks, and a property test
 * against a naive model: a client that starts from one full map and applies
 * every delta must always end with exactly the peers a fresh full map lists,
 * field for field. Also that a delta's size does not grow with the network.
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
#include <sodium.h>

#include "server/netmap.h"
#include "server/netmap_internal.h"

enum {
	BASE_TIME = 1700000000,
	MAX_NODES = 64,
	MAX_VIEWERS = 8,
};

struct fixture {
	int64_t now;
	struct netmap *nm;
	struct store_node nodes[MAX_NODES + 1]; /* by id; id 0 unused */
	bool exists[MAX_NODES + 1];
	bool online[MAX_NODES + 1];
	struct ctl_relay_map relay;
	struct ctl_relay_region region;
	struct ctl_relay_node relay_node;
	struct ctl_dns_config dns;
	char *search[1];
};

static int64_t fake_now(void *arg)
{
	return ((struct fixture *)arg)->now;
}

static void fill_node(struct store_node *n, int64_t id)
{
	memset(n, 0, sizeof(*n));
	n->id = id;
	/* Distinct keys per id: the id in bytes 1..8 behind a kind byte. */
	n->machine_key[0] = 0xaa;
	n->node_key[0] = 0xbb;
	n->disco_key[0] = 0xcc;
	memcpy(n->machine_key + 1, &id, sizeof(id));
	memcpy(n->node_key + 1, &id, sizeof(id));
	memcpy(n->disco_key + 1, &id, sizeof(id));
	snprintf(n->name, sizeof(n->name), "node%lld", (long long)id);
	snprintf(n->hostname, sizeof(n->hostname), "node%lld", (long long)id);
	snprintf(n->ipv4, sizeof(n->ipv4), "100.64.0.%lld", (long long)id);
	snprintf(n->ipv6, sizeof(n->ipv6), "fd7a:115c:a1e0::%llx", (long long)id);
	n->user_id = 1;
	snprintf(n->user_name, sizeof(n->user_name), "alice");
	n->expiry = BASE_TIME + 86400;
	n->last_seen = BASE_TIME;
	n->created = BASE_TIME;
	snprintf(n->endpoints, sizeof(n->endpoints), "[\"192.0.2.%lld:41641\"]", (long long)id);
}

static int make_netmap(struct fixture *f, const struct netmap_policy_ops *policy, void *arg)
{
	struct netmap_options opt = {
		.base_domain = "mesh.test",
		.home_relay = 900,
		.relay_map = &f->relay,
		.dns = &f->dns,
		.policy = policy,
		.policy_arg = arg,
		.now = fake_now,
		.now_arg = f,
	};

	f->relay_node.name = (char *)"900a";
	f->relay_node.host_name = (char *)"mesh.example.com";
	f->relay_node.stun_port = 3478;
	f->relay_node.relay_port = 443;
	f->region.region_id = 900;
	f->region.region_code = (char *)"home";
	f->region.nodes = &f->relay_node;
	f->region.nnodes = 1;
	f->relay.regions = &f->region;
	f->relay.nregions = 1;
	f->search[0] = (char *)"mesh.test";
	f->dns.magic_dns = true;
	f->dns.domain = (char *)"mesh.test";
	f->dns.search_domains = f->search;
	f->dns.nsearch_domains = 1;
	return netmap_create(&f->nm, &opt);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->now = BASE_TIME;
	if (make_netmap(f, NULL, NULL))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	netmap_destroy(f->nm);
	free(f);
	return 0;
}

/* Tell the netmap about node @id as it is in the fixture. */
static void put(struct fixture *f, int64_t id)
{
	f->exists[id] = true;
	assert_int_equal(netmap_node_set(f->nm, &f->nodes[id], f->online[id]), 0);
}

static void add(struct fixture *f, int64_t id)
{
	fill_node(&f->nodes[id], id);
	put(f, id);
}

static void set_routes(struct fixture *f, int64_t id, const char *const *prefixes, size_t n,
		       bool approved)
{
	struct store_route r[8];

	memset(r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++) {
		r[i].node_id = id;
		snprintf(r[i].prefix, sizeof(r[i].prefix), "%s", prefixes[i]);
		r[i].advertised = true;
		r[i].approved = approved;
	}
	assert_int_equal(netmap_node_set_routes(f->nm, id, r, n), 0);
}

static struct netmap_delta *collect(struct fixture *f)
{
	struct netmap_delta *d = NULL;

	assert_int_equal(netmap_delta_collect(f->nm, &d), 0);
	return d;
}

/* Decode @json (which must be valid) into @m; the text must also re-encode to itself. */
static void decode_exact(const char *json, size_t len, struct ctl_map_response *m)
{
	struct ctl_err e = {{0}};
	char *again;
	size_t alen;

	if (ctl_map_response_decode(m, (const uint8_t *)json, len, &e))
		fail_msg("does not decode: %s\n%s", e.msg, json);
	assert_int_equal(ctl_map_response_encode(m, &again, &alen), 0);
	if (alen != len || memcmp(again, json, len))
		fail_msg("not what the codec writes:\n%s\n%s", json, again);
	free(again);
}

static void full_map(struct fixture *f, int64_t viewer, struct ctl_map_response *m)
{
	char *json;
	size_t len;

	assert_int_equal(netmap_full_json(f->nm, viewer, 7, &json, &len), 0);
	assert_int_equal(strlen(json), len);
	decode_exact(json, len, m);
	free(json);
	assert_true(m->has_seq);
	assert_int_equal(m->seq, 7);
	assert_true(m->has_peers);
}

/* The frame of @d for @viewer, decoded; false when there is none. */
static bool delta_frame(struct fixture *f, const struct netmap_delta *d, int64_t viewer,
			struct ctl_map_response *m)
{
	char *json;
	size_t len;

	memset(m, 0, sizeof(*m));
	assert_int_equal(netmap_delta_json(f->nm, d, viewer, 3, &json, &len), 0);
	if (!json)
		return false;
	decode_exact(json, len, m);
	free(json);
	assert_false(m->has_peers);
	assert_int_equal(m->seq, 3);
	return true;
}

static const struct ctl_node *find_peer(const struct ctl_node *v, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return &v[i];
	return NULL;
}

static void expect_prefixes(const struct ip_prefix *p, size_t n, const char *const *want,
			    size_t nwant)
{
	char buf[IP_PREFIX_STRLEN];

	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(ip_prefix_format(&p[i], buf, sizeof(buf)), want[i]);
}

/* ---- tests ---- */

static void test_full_map(void **state)
{
	static const char *const routes[] = {"10.1.0.0/16", "192.168.7.0/24"};
	static const char *const want2[] = {"100.64.0.2/32", "fd7a:115c:a1e0::2/128", "10.1.0.0/16",
					    "192.168.7.0/24"};
	struct fixture *f = *state;
	struct ctl_map_response m;
	const struct ctl_node *p;
	char buf[IP_ENDPOINT_STRLEN];

	for (int64_t id = 1; id <= 4; id++)
		add(f, id);
	/* 2: a tagged subnet router, online; 3: key expired; 4: no disco key yet. */
	f->nodes[2].user_id = 0;
	snprintf(f->nodes[2].tags, sizeof(f->nodes[2].tags), "tag:prod,tag:router");
	f->online[2] = true;
	put(f, 2);
	set_routes(f, 2, routes, 2, true);
	f->nodes[3].expiry = BASE_TIME - 1;
	put(f, 3);
	memset(f->nodes[4].disco_key, 0, STORE_KEY_LEN);
	put(f, 4);
	netmap_delta_free(collect(f));

	full_map(f, 1, &m);
	assert_non_null(m.node);
	assert_int_equal(m.node->id, 1);
	assert_string_equal(m.node->name, "node1");
	assert_string_equal(m.node->fqdn, "node1.mesh.test");
	assert_string_equal(m.node->user, "alice");
	assert_int_equal(m.node->key_expiry, BASE_TIME + 86400);
	assert_int_equal(m.npeers, 2); /* not itself, not the expired node 3 */
	assert_int_equal(m.peers[0].id, 2);
	assert_int_equal(m.peers[1].id, 4);
	p = &m.peers[0];
	assert_null(p->user);
	assert_int_equal(p->ntags, 2);
	assert_string_equal(p->tags[0], "tag:prod");
	assert_string_equal(p->tags[1], "tag:router");
	assert_true(p->online);
	assert_true(p->has_disco_key);
	assert_int_equal(p->home_relay, 900);
	assert_int_equal(p->last_seen, BASE_TIME);
	expect_prefixes(p->allowed_ips, p->nallowed_ips, want2, 4);
	assert_int_equal(p->nendpoints, 1);
	assert_string_equal(ip_endpoint_format(&p->endpoints[0], buf, sizeof(buf)),
			    "192.0.2.2:41641");
	assert_false(m.peers[1].has_disco_key);
	assert_false(m.peers[1].online);
	assert_non_null(m.relay_map);
	assert_int_equal(m.relay_map->regions[0].region_id, 900);
	assert_non_null(m.dns);
	assert_string_equal(m.dns->domain, "mesh.test");
	/* Allow-all: one rule from anywhere to any port, default protocols. */
	assert_true(m.has_packet_filter);
	assert_int_equal(m.npacket_filter, 1);
	assert_int_equal(m.packet_filter[0].nsrc, 2);
	assert_int_equal(m.packet_filter[0].src[0].bits, 0);
	assert_int_equal(m.packet_filter[0].ndst, 2);
	assert_int_equal(m.packet_filter[0].dst[0].port_last, 65535);
	assert_int_equal(m.packet_filter[0].nprotos, 0);
	ctl_map_response_free(&m);

	/* An expired node has no map; unknown ones neither. */
	{
		char *json;
		size_t len;

		assert_int_equal(netmap_full_json(f->nm, 3, 1, &json, &len), -ENOENT);
		assert_int_equal(netmap_full_json(f->nm, 99, 1, &json, &len), -ENOENT);
	}
	/* Routes need both advertising and approval. */
	set_routes(f, 2, routes, 2, false);
	netmap_delta_free(collect(f));
	full_map(f, 1, &m);
	p = find_peer(m.peers, m.npeers, 2);
	assert_non_null(p);
	assert_int_equal(p ? p->nallowed_ips : 0, 2);
	ctl_map_response_free(&m);
	assert_int_equal(netmap_node_count(f->nm), 4);
}

static void test_no_change_no_delta(void **state)
{
	struct fixture *f = *state;

	add(f, 1);
	add(f, 2);
	netmap_delta_free(collect(f));
	assert_null(collect(f));
	/* The same state reported again is no change. */
	put(f, 1);
	put(f, 2);
	assert_null(collect(f));
}

static void test_patch_kinds(void **state)
{
	struct fixture *f = *state;
	struct ctl_map_response m;
	struct netmap_delta *d;
	char buf[IP_ENDPOINT_STRLEN];

	for (int64_t id = 1; id <= 3; id++)
		add(f, id);
	netmap_delta_free(collect(f));

	/* Endpoints and disco key of node 2: a patch for peers, the node object for itself. */
	snprintf(f->nodes[2].endpoints, sizeof(f->nodes[2].endpoints),
		 "[\"198.51.100.4:41641\",\"[2001:db8::4]:41641\"]");
	f->nodes[2].disco_key[5] ^= 1;
	put(f, 2);
	d = collect(f);
	assert_non_null(d);
	assert_false(netmap_delta_resync(d));
	assert_int_equal(netmap_delta_nodes(d), 1);
	assert_int_equal(netmap_delta_self(d, 2), NETMAP_SELF_CHANGED);
	assert_int_equal(netmap_delta_self(d, 1), NETMAP_SELF_SAME);
	assert_true(delta_frame(f, d, 1, &m));
	assert_null(m.node);
	assert_int_equal(m.npeers_patch, 1);
	assert_int_equal(m.npeers_changed + m.npeers_removed, 0);
	assert_int_equal(m.peers_patch[0].id, 2);
	assert_int_equal(m.peers_patch[0].fields, CTL_PATCH_ENDPOINTS | CTL_PATCH_DISCO_KEY);
	assert_int_equal(m.peers_patch[0].nendpoints, 2);
	assert_string_equal(ip_endpoint_format(&m.peers_patch[0].endpoints[1], buf, sizeof(buf)),
			    "[2001:db8::4]:41641");
	ctl_map_response_free(&m);
	assert_true(delta_frame(f, d, 2, &m));
	assert_non_null(m.node);
	assert_int_equal(m.node->nendpoints, 2);
	assert_int_equal(m.npeers_patch, 0); /* not itself as a peer */
	ctl_map_response_free(&m);
	netmap_delta_free(d);

	/* Online and last seen: a patch of just those. */
	f->online[3] = true;
	f->nodes[3].last_seen = BASE_TIME + 60;
	put(f, 3);
	d = collect(f);
	assert_true(delta_frame(f, d, 1, &m));
	assert_int_equal(m.peers_patch[0].fields, CTL_PATCH_ONLINE | CTL_PATCH_LAST_SEEN);
	assert_true(m.peers_patch[0].online);
	ctl_map_response_free(&m);
	netmap_delta_free(d);

	/* A renewed node key and its expiry: still a patch. */
	f->nodes[3].node_key[9] ^= 1;
	f->nodes[3].expiry += 3600;
	put(f, 3);
	d = collect(f);
	assert_true(delta_frame(f, d, 1, &m));
	assert_int_equal(m.peers_patch[0].fields, CTL_PATCH_NODE_KEY | CTL_PATCH_KEY_EXPIRY);
	assert_memory_equal(m.peers_patch[0].node_key, f->nodes[3].node_key, CTL_KEY_LEN);
	ctl_map_response_free(&m);
	netmap_delta_free(d);
}

static void test_changed_removed_expired(void **state)
{
	static const char *const routes[] = {"10.9.0.0/24"};
	struct fixture *f = *state;
	struct ctl_map_response m;
	struct netmap_delta *d;

	for (int64_t id = 1; id <= 3; id++)
		add(f, id);
	netmap_delta_free(collect(f));

	/* A rename and an approved route: whole node objects. */
	snprintf(f->nodes[2].name, sizeof(f->nodes[2].name), "renamed");
	put(f, 2);
	set_routes(f, 3, routes, 1, true);
	/* A new node. */
	add(f, 4);
	d = collect(f);
	assert_int_equal(netmap_delta_nodes(d), 3);
	assert_true(delta_frame(f, d, 1, &m));
	assert_int_equal(m.npeers_changed, 3);
	assert_int_equal(m.peers_changed[0].id, 2);
	assert_string_equal(m.peers_changed[0].fqdn, "renamed.mesh.test");
	assert_int_equal(m.peers_changed[1].nallowed_ips, 3);
	assert_int_equal(m.peers_changed[2].id, 4);
	ctl_map_response_free(&m);
	/* The new node itself is told about itself only: its full map comes separately. */
	assert_int_equal(netmap_delta_self(d, 4), NETMAP_SELF_CHANGED);
	netmap_delta_free(d);

	/* Deleted: removed for peers, and its own stream must end. */
	assert_int_equal(netmap_node_remove(f->nm, 2), 0);
	assert_int_equal(netmap_node_remove(f->nm, 2), -ENOENT);
	/* Expired: removed for peers; itself gets its node object with "expired". */
	f->nodes[3].expiry = f->now;
	put(f, 3);
	d = collect(f);
	assert_int_equal(netmap_delta_self(d, 2), NETMAP_SELF_REMOVED);
	assert_int_equal(netmap_delta_self(d, 3), NETMAP_SELF_EXPIRED);
	assert_true(delta_frame(f, d, 1, &m));
	assert_int_equal(m.npeers_removed, 2);
	assert_int_equal(m.peers_removed[0], 2);
	assert_int_equal(m.peers_removed[1], 3);
	ctl_map_response_free(&m);
	assert_true(delta_frame(f, d, 3, &m));
	assert_non_null(m.node);
	assert_true(m.node->expired);
	assert_int_equal(m.npeers_removed + m.npeers_changed + m.npeers_patch, 0);
	ctl_map_response_free(&m);
	{
		char *json;
		size_t len;

		assert_int_equal(netmap_delta_json(f->nm, d, 2, 1, &json, &len), 0);
		assert_null(json);
	}
	netmap_delta_free(d);
	assert_int_equal(netmap_node_count(f->nm), 3);

	/* Registering again brings it back as a whole node. */
	f->nodes[3].expiry = f->now + 100;
	put(f, 3);
	d = collect(f);
	assert_true(delta_frame(f, d, 1, &m));
	assert_int_equal(m.npeers_changed, 1);
	assert_int_equal(m.peers_changed[0].id, 3);
	assert_false(m.peers_changed[0].expired);
	ctl_map_response_free(&m);
	netmap_delta_free(d);

	/* Removed and re-added before a collect: a change, not a removal. */
	assert_int_equal(netmap_node_remove(f->nm, 4), 0);
	put(f, 4);
	d = collect(f);
	assert_null(d); /* nothing differs from what the maps show */
}

static void test_auth(void **state)
{
	struct fixture *f = *state;
	uint8_t other[CTL_KEY_LEN], old[CTL_KEY_LEN];
	int64_t id = 0;

	add(f, 5);
	assert_int_equal(
		netmap_node_auth(f->nm, f->nodes[5].machine_key, f->nodes[5].node_key, &id), 0);
	assert_int_equal(id, 5);
	assert_true(netmap_node_key_valid(f->nm, f->nodes[5].node_key));
	memcpy(other, f->nodes[5].node_key, CTL_KEY_LEN);
	other[3] ^= 1;
	assert_int_equal(netmap_node_auth(f->nm, f->nodes[5].machine_key, other, &id), -ENOENT);
	assert_false(netmap_node_key_valid(f->nm, other));
	assert_int_equal(netmap_node_auth(f->nm, other, f->nodes[5].node_key, &id), -ENOENT);
	/* A renewed key replaces the old one at once, before any collect. */
	memcpy(old, f->nodes[5].node_key, CTL_KEY_LEN);
	f->nodes[5].node_key[3] ^= 1;
	put(f, 5);
	assert_int_equal(netmap_node_auth(f->nm, f->nodes[5].machine_key, other, &id), 0);
	assert_int_equal(netmap_node_auth(f->nm, f->nodes[5].machine_key, old, &id), -ENOENT);
	assert_false(netmap_node_key_valid(f->nm, old));
	/* Expiry is decided by the clock, not by what was collected. */
	f->now = f->nodes[5].expiry;
	assert_int_equal(netmap_node_auth(f->nm, f->nodes[5].machine_key, other, &id),
			 -EKEYEXPIRED);
	assert_false(netmap_node_key_valid(f->nm, other));
	f->now = BASE_TIME;
	assert_int_equal(netmap_node_remove(f->nm, 5), 0);
	assert_int_equal(netmap_node_auth(f->nm, f->nodes[5].machine_key, other, &id), -ENOENT);
	assert_int_equal(netmap_node_set_routes(f->nm, 5, NULL, 0), -ENOENT);
	/* A row the maps cannot carry is refused and leaves nothing behind. */
	fill_node(&f->nodes[6], 6);
	f->nodes[6].ipv4[0] = f->nodes[6].ipv6[0] = '\0';
	assert_int_equal(netmap_node_set(f->nm, &f->nodes[6], false), -EINVAL);
	assert_int_equal(
		netmap_node_auth(f->nm, f->nodes[6].machine_key, f->nodes[6].node_key, &id),
		-ENOENT);
}

/* A delta for one change costs the same with 5 or 1000 nodes (O(changed), not O(N)). */
static void test_delta_size_independent_of_n(void **state)
{
	struct fixture *f = *state;
	size_t small = 0, big = 0;

	for (int round = 0; round < 2; round++) {
		int64_t n = round ? 1000 : 5;
		struct netmap_delta *d;
		struct store_node node;
		char *json;
		size_t len;

		netmap_destroy(f->nm);
		assert_int_equal(make_netmap(f, NULL, NULL), 0);
		for (int64_t id = 1; id <= n; id++) {
			fill_node(&node, id);
			snprintf(node.ipv4, sizeof(node.ipv4), "100.64.%lld.%lld",
				 (long long)(id / 256), (long long)(id % 256));
			assert_int_equal(netmap_node_set(f->nm, &node, true), 0);
		}
		netmap_delta_free(collect(f));
		fill_node(&node, 3);
		snprintf(node.endpoints, sizeof(node.endpoints), "[\"203.0.113.9:1234\"]");
		assert_int_equal(netmap_node_set(f->nm, &node, true), 0);
		d = collect(f);
		assert_int_equal(netmap_delta_nodes(d), 1);
		assert_int_equal(netmap_delta_json(f->nm, d, 1, 42, &json, &len), 0);
		*(round ? &big : &small) = len;
		free(json);
		netmap_delta_free(d);
	}
	assert_int_equal(small, big);
	assert_true(small < 120);
}

/* ---- the policy seam ---- */

struct fake_policy {
	int filter_calls;
};

/* Nodes see each other when both are tagged or both are not. */
static bool fake_visible(void *arg, const struct ctl_node *a, const struct ctl_node *b)
{
	(void)arg;
	return (a->ntags == 0) == (b->ntags == 0);
}

static int fake_filter(void *arg, const struct ctl_node *self, struct ctl_filter_rule **rules,
		       size_t *n)
{
	struct fake_policy *p = arg;

	p->filter_calls++;
	/* Deny all for tagged nodes, allow all otherwise. */
	if (self->ntags) {
		*rules = NULL;
		*n = 0;
		return 0;
	}
	return netmap_policy_allow_all(rules, n);
}

static void test_policy_seam(void **state)
{
	static const struct netmap_policy_ops ops = {.visible = fake_visible,
						     .filter = fake_filter};
	struct fixture *f = *state;
	struct fake_policy pol = {0};
	struct ctl_map_response m;
	struct netmap_delta *d;

	netmap_destroy(f->nm);
	assert_int_equal(make_netmap(f, &ops, &pol), 0);
	for (int64_t id = 1; id <= 4; id++)
		add(f, id);
	for (int64_t id = 3; id <= 4; id++) {
		f->nodes[id].user_id = 0;
		snprintf(f->nodes[id].tags, sizeof(f->nodes[id].tags), "tag:srv");
		put(f, id);
	}
	d = collect(f);
	assert_true(netmap_delta_resync(d));
	netmap_delta_free(d);
	full_map(f, 1, &m);
	assert_int_equal(m.npeers, 1);
	assert_int_equal(m.peers[0].id, 2);
	assert_int_equal(m.npacket_filter, 1);
	ctl_map_response_free(&m);
	full_map(f, 3, &m);
	assert_int_equal(m.npeers, 1);
	assert_int_equal(m.peers[0].id, 4);
	assert_true(m.has_packet_filter);
	assert_int_equal(m.npacket_filter, 0); /* present and empty: deny all */
	ctl_map_response_free(&m);
	assert_int_equal(pol.filter_calls, 2);

	/* An endpoint change is a patch, only for those who see the node. */
	snprintf(f->nodes[4].endpoints, sizeof(f->nodes[4].endpoints), "[\"203.0.113.1:1\"]");
	put(f, 4);
	d = collect(f);
	assert_false(netmap_delta_resync(d));
	assert_true(delta_frame(f, d, 3, &m));
	assert_int_equal(m.npeers_patch, 1);
	ctl_map_response_free(&m);
	assert_false(delta_frame(f, d, 1, &m));
	netmap_delta_free(d);

	/* An identity change (a new tag) or a policy change: everyone resyncs. */
	snprintf(f->nodes[2].tags, sizeof(f->nodes[2].tags), "tag:srv");
	f->nodes[2].user_id = 0;
	put(f, 2);
	d = collect(f);
	assert_true(netmap_delta_resync(d));
	netmap_delta_free(d);
	netmap_policy_changed(f->nm);
	d = collect(f);
	assert_non_null(d);
	assert_true(netmap_delta_resync(d));
	assert_int_equal(netmap_delta_nodes(d), 0);
	netmap_delta_free(d);
	/* Without policy ops a policy change is nothing. */
	netmap_destroy(f->nm);
	assert_int_equal(make_netmap(f, NULL, NULL), 0);
	netmap_policy_changed(f->nm);
	assert_null(collect(f));
}

static void test_allow_all_rules(void **state)
{
	struct ctl_filter_rule *rules;
	char *text;
	size_t n, len;

	(void)state;
	assert_int_equal(netmap_policy_allow_all(&rules, &n), 0);
	assert_int_equal(netmap_filter_text(rules, n, &text, &len), 0);
	assert_string_equal(text,
			    "[{\"src\":[\"0.0.0.0/0\",\"::/0\"],\"dst\":[{\"prefix\":\"0.0.0.0/"
			    "0\",\"ports\":{\"first\":0,\"last\":65535}},{\"prefix\":\"::/0\","
			    "\"ports\":{\"first\":0,\"last\":65535}}]}]");
	free(text);
	netmap_policy_rules_free(rules, n);
	netmap_policy_rules_free(NULL, 0);
	assert_int_equal(netmap_keepalive_json(9, &text, &len), 0);
	assert_string_equal(text, "{\"type\":\"map_response\",\"keep_alive\":true,\"seq\":9}");
	free(text);
}

/* ---- property test: deltas applied to a full map equal a fresh full map ---- */

/* What a client knows: peers by id, as node objects. */
struct view {
	int64_t self;
	unsigned int frames, patches, changed, removed, restarts;
	struct ctl_node peers[MAX_NODES + 1];
	bool has[MAX_NODES + 1];
	bool ended;
};

static void view_set(struct view *v, const struct ctl_node *n)
{
	if (v->has[n->id])
		ctl_node_free(&v->peers[n->id]);
	assert_int_equal(netmap_node_copy(&v->peers[n->id], n), 0);
	v->has[n->id] = true;
}

static void view_clear(struct view *v)
{
	for (int i = 0; i <= MAX_NODES; i++) {
		if (v->has[i])
			ctl_node_free(&v->peers[i]);
		v->has[i] = false;
	}
}

static void apply_patch(struct ctl_node *n, const struct ctl_peer_patch *p)
{
	if (p->fields & CTL_PATCH_ENDPOINTS) {
		free(n->endpoints);
		n->endpoints = NULL;
		n->nendpoints = p->nendpoints;
		if (p->nendpoints) {
			n->endpoints = malloc(p->nendpoints * sizeof(*n->endpoints));
			assert_non_null(n->endpoints);
			memcpy(n->endpoints, p->endpoints, p->nendpoints * sizeof(*n->endpoints));
		}
	}
	if (p->fields & CTL_PATCH_HOME_RELAY)
		n->home_relay = p->home_relay;
	if (p->fields & CTL_PATCH_ONLINE)
		n->online = p->online;
	if (p->fields & CTL_PATCH_LAST_SEEN)
		n->last_seen = p->last_seen;
	if (p->fields & CTL_PATCH_DISCO_KEY) {
		n->has_disco_key = true;
		memcpy(n->disco_key, p->disco_key, CTL_KEY_LEN);
	}
	if (p->fields & CTL_PATCH_NODE_KEY)
		memcpy(n->node_key, p->node_key, CTL_KEY_LEN);
	if (p->fields & CTL_PATCH_KEY_EXPIRY)
		n->key_expiry = p->key_expiry;
}

static void view_apply(struct view *v, const struct ctl_map_response *m)
{
	v->frames++;
	v->patches += (unsigned int)m->npeers_patch;
	v->changed += (unsigned int)m->npeers_changed;
	v->removed += (unsigned int)m->npeers_removed;
	if (m->has_peers) {
		view_clear(v);
		for (size_t i = 0; i < m->npeers; i++)
			view_set(v, &m->peers[i]);
		return;
	}
	for (size_t i = 0; i < m->npeers_changed; i++)
		view_set(v, &m->peers_changed[i]);
	for (size_t i = 0; i < m->npeers_removed; i++) {
		uint64_t id = m->peers_removed[i];

		if (id <= MAX_NODES && v->has[id]) {
			ctl_node_free(&v->peers[id]);
			v->has[id] = false;
		}
	}
	for (size_t i = 0; i < m->npeers_patch; i++) {
		uint64_t id = m->peers_patch[i].id;

		if (id <= MAX_NODES && v->has[id])
			apply_patch(&v->peers[id], &m->peers_patch[i]);
	}
}

static void node_text_of(const struct ctl_node *n, char **out)
{
	size_t len;

	assert_int_equal(netmap_node_text(n, out, &len), 0);
}

/* The view must hold exactly the peers of a fresh full map, field for field. */
static void view_check(struct fixture *f, struct view *v, unsigned int step)
{
	struct ctl_map_response m;
	size_t seen = 0;

	full_map(f, v->self, &m);
	for (size_t i = 0; i < m.npeers; i++) {
		char *a, *b;

		if (!v->has[m.peers[i].id])
			fail_msg("step %u viewer %lld: peer %llu missing", step, (long long)v->self,
				 (unsigned long long)m.peers[i].id);
		node_text_of(&m.peers[i], &a);
		node_text_of(&v->peers[m.peers[i].id], &b);
		if (strcmp(a, b))
			fail_msg("step %u viewer %lld:\nfull  %s\nview  %s", step,
				 (long long)v->self, a, b);
		free(a);
		free(b);
	}
	for (int i = 0; i <= MAX_NODES; i++)
		seen += v->has[i];
	if (seen != m.npeers)
		fail_msg("step %u viewer %lld: %zu peers in the view, %zu in a full map", step,
			 (long long)v->self, seen, m.npeers);
	ctl_map_response_free(&m);
}

static void random_change(struct fixture *f, uint32_t r)
{
	static const char *const pool[] = {"10.0.1.0/24", "10.0.2.0/24", "0.0.0.0/0"};
	int64_t id = 1 + (int64_t)(r % 20);
	struct store_node *n = &f->nodes[id];

	if (!f->exists[id]) {
		add(f, id);
		return;
	}
	switch ((r >> 8) % 9) {
	case 0:
		snprintf(n->endpoints, sizeof(n->endpoints), "[\"198.51.100.%u:%u\"]",
			 (r >> 12) % 250, 1000 + (r >> 20) % 1000);
		break;
	case 1:
		f->online[id] = !f->online[id];
		n->last_seen = f->now;
		break;
	case 2:
		n->disco_key[1] = (uint8_t)(r >> 16);
		break;
	case 3:
		snprintf(n->name, sizeof(n->name), "n%u", (r >> 12) % 1000);
		break;
	case 4:
		set_routes(f, id, pool, 1 + (r >> 12) % 3, (r >> 16) & 1);
		return;
	case 5:
		n->expiry = (r >> 12) & 1 ? f->now : f->now + 1000;
		break;
	case 6:
		assert_int_equal(netmap_node_remove(f->nm, id), 0);
		f->exists[id] = false;
		return;
	case 7:
		n->node_key[2] = (uint8_t)(r >> 16);
		break;
	default:
		snprintf(n->tags, sizeof(n->tags), "%s", (r >> 12) & 1 ? "tag:x" : "");
		n->user_id = *n->tags ? 0 : 1;
		break;
	}
	put(f, id);
}

static void test_deltas_match_full_maps(void **state)
{
	struct fixture *f = *state;
	struct view *views = calloc(MAX_VIEWERS, sizeof(*views));
	unsigned int restarts = 0;
	uint32_t seed = 12345;

	assert_non_null(views);
	for (int64_t id = 1; id <= 20; id++)
		add(f, id);
	netmap_delta_free(collect(f));
	for (int i = 0; i < MAX_VIEWERS; i++) {
		struct ctl_map_response m;

		views[i].self = 1 + i;
		full_map(f, views[i].self, &m);
		view_apply(&views[i], &m);
		ctl_map_response_free(&m);
	}
	for (unsigned int step = 0; step < 1500; step++) {
		struct netmap_delta *d;
		int changes = 1 + (int)(seed % 4);

		for (int c = 0; c < changes; c++) {
			seed = seed * 1103515245u + 12345u;
			random_change(f, seed >> 4);
		}
		f->now++;
		d = collect(f);
		for (int i = 0; i < MAX_VIEWERS && d; i++) {
			struct view *v = &views[i];
			enum netmap_self self = netmap_delta_self(d, v->self);
			struct ctl_map_response m;

			if (v->ended) {
				/* A new stream once the node is back: it starts with a full map. */
				if (self == NETMAP_SELF_CHANGED) {
					full_map(f, v->self, &m);
					view_apply(v, &m);
					ctl_map_response_free(&m);
					v->ended = false;
					v->restarts++;
				}
				continue;
			}
			if (delta_frame(f, d, v->self, &m)) {
				view_apply(v, &m);
				if (self != NETMAP_SELF_SAME)
					assert_non_null(m.node);
				ctl_map_response_free(&m);
			}
			if (self == NETMAP_SELF_REMOVED || self == NETMAP_SELF_EXPIRED) {
				v->ended = true;
				view_clear(v);
			}
		}
		netmap_delta_free(d);
		for (int i = 0; i < MAX_VIEWERS; i++)
			if (!views[i].ended && f->exists[views[i].self] &&
			    f->nodes[views[i].self].expiry > f->now)
				view_check(f, &views[i], step);
	}
	/* The walk must have exercised every kind of change on every viewer. */
	for (int i = 0; i < MAX_VIEWERS; i++) {
		struct view *v = &views[i];

		if (v->frames < 300 || v->patches < 100 || v->changed < 100 || v->removed < 50)
			fail_msg("viewer %lld: frames %u patches %u changed %u removed %u",
				 (long long)v->self, v->frames, v->patches, v->changed, v->removed);
		restarts += v->restarts;
		view_clear(v);
	}
	assert_true(restarts >= MAX_VIEWERS);
	free(views);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_change_no_delta, setup, teardown),
		cmocka_unit_test_setup_teardown(test_patch_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changed_removed_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delta_size_independent_of_n, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_seam, setup, teardown),
		cmocka_unit_test(test_allow_all_rules),
		cmocka_unit_test_setup_teardown(test_deltas_match_full_maps, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
