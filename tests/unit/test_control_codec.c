// SPDX-License-Identifier: MIT
/*
 * Control protocol codec: every message round-trips field by field, and
 * re-encoding what was decoded gives the same bytes (random maps too); sealed
 * messages open with the right keys only; stream frames survive any
 * chunking; and truncated, mutated, mistyped, incomplete or incoherent input
 * is refused (run under ASan, with exact-size buffers, to catch over-reads).
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

#include <sodium.h>

#include "control/keytext.h"
#include "control/msg.h"
#include "control/seal.h"
#include "util/compiler.h"

/* Message structs own their strings (char *); literals go in through this cast. */
#define S(x) ((char *)(x))

/* ---- fixtures ---- */

static uint8_t key_a[32], key_b[32], key_c[32], key_d[32];

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p;

	assert_int_equal(ip_prefix_parse(&p, s, NULL), 0);
	return p;
}

static struct ip_endpoint ep(const char *s)
{
	struct ip_endpoint e;

	assert_int_equal(ip_endpoint_parse(&e, s, NULL), 0);
	return e;
}

static struct ip_addr addr(const char *s)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(&a, s, NULL), 0);
	return a;
}

/* Decode from an exact-size heap copy, so ASan sees any read past @len. */
typedef int decode_fn(void *m, const uint8_t *buf, size_t len, struct ctl_err *err);
typedef void free_fn(void *m);

static int decode_exact(decode_fn *dec, void *m, const void *buf, size_t len, struct ctl_err *err)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	ret = dec(m, copy, len, err);
	free(copy);
	return ret;
}

static int dec_rreq(void *m, const uint8_t *b, size_t l, struct ctl_err *e)
{
	return ctl_register_request_decode(m, b, l, e);
}

static int dec_rresp(void *m, const uint8_t *b, size_t l, struct ctl_err *e)
{
	return ctl_register_response_decode(m, b, l, e);
}

static int dec_mreq(void *m, const uint8_t *b, size_t l, struct ctl_err *e)
{
	return ctl_map_request_decode(m, b, l, e);
}

static int dec_mresp(void *m, const uint8_t *b, size_t l, struct ctl_err *e)
{
	return ctl_map_response_decode(m, b, l, e);
}

static int dec_skey(void *m, const uint8_t *b, size_t l, struct ctl_err *e)
{
	return ctl_server_key_decode(m, b, l, e);
}

static void free_rreq(void *m)
{
	ctl_register_request_free(m);
}

static void free_rresp(void *m)
{
	ctl_register_response_free(m);
}

static void free_mreq(void *m)
{
	ctl_map_request_free(m);
}

static void free_mresp(void *m)
{
	ctl_map_response_free(m);
}

static void free_skey(void *m)
{
	(void)m;
}

static char *tags2[] = {S("tag:server"), S("tag:prod")};
static struct ip_prefix routes2[2];
static struct ip_endpoint eps3[3];
static struct ip_prefix addrs2[2];
static struct ip_prefix allowed3[3];

static void fill_fixtures(void)
{
	routes2[0] = pfx("10.1.0.0/16");
	routes2[1] = pfx("fd00:1::/64");
	eps3[0] = ep("192.0.2.1:41641");
	eps3[1] = ep("[2001:db8::7]:41641");
	eps3[2] = ep("10.0.0.5:1");
	addrs2[0] = pfx("100.64.0.1/32");
	addrs2[1] = pfx("fd7a:115c:a1e0::1/128");
	allowed3[0] = addrs2[0];
	allowed3[1] = addrs2[1];
	allowed3[2] = routes2[0];
}

static struct ctl_register_request full_register_request(void)
{
	struct ctl_register_request r = {
		.version = CTL_PROTOCOL_VERSION,
		.has_old_node_key = true,
		.hostinfo = {.hostname = S("Laptop \xc3\xa9t\xc3\xa9"), /* UTF-8 is fine */
			     .os = S("linux"),
			     .os_version = S("Debian 12"),
			     .routes = routes2,
			     .nroutes = 2,
			     .tags = tags2,
			     .ntags = 2},
		.auth_key = S("mk_auth_0123456789abcdef"),
		.followup = S("pend-42"),
		.endpoints = eps3,
		.nendpoints = 3,
		.logout = true,
	};

	memcpy(r.node_key, key_a, 32);
	memcpy(r.old_node_key, key_b, 32);
	memcpy(r.disco_key, key_c, 32);
	return r;
}

static struct ctl_node make_node(uint64_t id, const char *name, const char *fqdn)
{
	struct ctl_node n = {
		.id = id,
		.name = (char *)name,
		.fqdn = (char *)fqdn,
		.user = S("alice@example.com"),
		.tags = tags2,
		.ntags = 2,
		.has_disco_key = true,
		.addresses = addrs2,
		.naddresses = 2,
		.allowed_ips = allowed3,
		.nallowed_ips = 3,
		.endpoints = eps3,
		.nendpoints = 3,
		.home_relay = 900,
		.online = true,
		.last_seen = 1700000000,
		.key_expiry = 1800000000,
		.expired = false,
	};

	memcpy(n.node_key, key_a, 32);
	memcpy(n.disco_key, key_d, 32);
	n.node_key[0] = (uint8_t)id;
	return n;
}

static struct ctl_relay_node relay_nodes[2];
static struct ctl_relay_region regions[2];
static struct ctl_relay_map relay_map = {.regions = regions, .nregions = 2};
static struct ip_addr nameservers[2];
static char *search[] = {S("mesh.internal"), S("corp.example.com")};
static struct ctl_dns_record records[2];
static struct ctl_dns_config dns = {.magic_dns = true,
				    .domain = S("mesh.internal"),
				    .nameservers = nameservers,
				    .nnameservers = 2,
				    .search_domains = search,
				    .nsearch_domains = 2,
				    .records = records,
				    .nrecords = 2};
static struct ip_prefix rule_src[2];
static struct ctl_filter_dst rule_dst[2];
static uint8_t protos[] = {6, 17};
static struct ctl_filter_rule rules[2];

static void fill_map_fixtures(void)
{
	relay_nodes[0] = (struct ctl_relay_node){.name = S("900a"),
						 .host_name = S("relay.example.com"),
						 .has_ipv4 = true,
						 .ipv4 = addr("203.0.113.9"),
						 .has_ipv6 = true,
						 .ipv6 = addr("2001:db8::9"),
						 .stun_port = 3478,
						 .relay_port = 443};
	relay_nodes[1] = (struct ctl_relay_node){.name = S("901a"),
						 .host_name = S("relay2.example.com."),
						 .stun_port = 0,
						 .relay_port = 8443};
	regions[0] = (struct ctl_relay_region){.region_id = 900,
					       .region_code = S("home"),
					       .region_name = S("Home region"),
					       .nodes = &relay_nodes[0],
					       .nnodes = 1};
	regions[1] = (struct ctl_relay_region){
		.region_id = 901, .region_code = S("fra"), .nodes = &relay_nodes[1], .nnodes = 1};
	nameservers[0] = addr("1.1.1.1");
	nameservers[1] = addr("2606:4700:4700::1111");
	records[0] = (struct ctl_dns_record){
		.name = S("db.mesh.internal"), .type = CTL_DNS_A, .value = addr("100.64.0.9")};
	records[1] = (struct ctl_dns_record){.name = S("db.mesh.internal"),
					     .type = CTL_DNS_AAAA,
					     .value = addr("fd7a:115c:a1e0::9")};
	rule_src[0] = pfx("100.64.0.0/10");
	rule_src[1] = pfx("fd7a:115c:a1e0::/48");
	rule_dst[0] = (struct ctl_filter_dst){
		.prefix = pfx("100.64.0.5/32"), .port_first = 22, .port_last = 22};
	rule_dst[1] = (struct ctl_filter_dst){
		.prefix = pfx("0.0.0.0/0"), .port_first = 0, .port_last = 65535};
	rules[0] = (struct ctl_filter_rule){.src = rule_src,
					    .nsrc = 2,
					    .dst = rule_dst,
					    .ndst = 2,
					    .protos = protos,
					    .nprotos = 2};
	rules[1] = (struct ctl_filter_rule){.src = rule_src, .nsrc = 1, .dst = rule_dst, .ndst = 1};
}

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(key_a, 32);
	randombytes_buf(key_b, 32);
	randombytes_buf(key_c, 32);
	randombytes_buf(key_d, 32);
	fill_fixtures();
	fill_map_fixtures();
	return 0;
}

/* ---- comparisons ---- */

static void assert_prefixes_equal(const struct ip_prefix *a, size_t na, const struct ip_prefix *b,
				  size_t nb)
{
	size_t i;

	assert_int_equal(na, nb);
	for (i = 0; i < na; i++)
		assert_true(ip_prefix_equal(&a[i], &b[i]));
}

static void assert_endpoints_equal(const struct ip_endpoint *a, size_t na,
				   const struct ip_endpoint *b, size_t nb)
{
	size_t i;

	assert_int_equal(na, nb);
	for (i = 0; i < na; i++) {
		assert_true(ip_addr_equal(&a[i].addr, &b[i].addr));
		assert_int_equal(a[i].port, b[i].port);
	}
}

static void assert_strings_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	assert_int_equal(na, nb);
	for (i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
}

static void assert_opt_string(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_hostinfo_equal(const struct ctl_hostinfo *a, const struct ctl_hostinfo *b)
{
	assert_string_equal(a->hostname, b->hostname);
	assert_string_equal(a->os, b->os);
	assert_opt_string(a->os_version, b->os_version);
	assert_prefixes_equal(a->routes, a->nroutes, b->routes, b->nroutes);
	assert_strings_equal(a->tags, a->ntags, b->tags, b->ntags);
}

static void assert_node_equal(const struct ctl_node *a, const struct ctl_node *b)
{
	assert_int_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->fqdn, b->fqdn);
	assert_opt_string(a->user, b->user);
	assert_strings_equal(a->tags, a->ntags, b->tags, b->ntags);
	assert_memory_equal(a->node_key, b->node_key, 32);
	assert_int_equal(a->has_disco_key, b->has_disco_key);
	if (a->has_disco_key)
		assert_memory_equal(a->disco_key, b->disco_key, 32);
	assert_prefixes_equal(a->addresses, a->naddresses, b->addresses, b->naddresses);
	assert_prefixes_equal(a->allowed_ips, a->nallowed_ips, b->allowed_ips, b->nallowed_ips);
	assert_endpoints_equal(a->endpoints, a->nendpoints, b->endpoints, b->nendpoints);
	assert_int_equal(a->home_relay, b->home_relay);
	assert_int_equal(a->online, b->online);
	assert_int_equal(a->last_seen, b->last_seen);
	assert_int_equal(a->key_expiry, b->key_expiry);
	assert_int_equal(a->expired, b->expired);
}

/* ---- keys ---- */

static void test_key_text(void **state)
{
	char text[CTL_KEY_TEXT_LEN], upper[CTL_KEY_TEXT_LEN];
	uint8_t out[32], zero[32] = {0};
	size_t i;

	(void)state;
	ctl_key_format(text, CTL_KEY_NODE, key_a);
	assert_int_equal(strlen(text), 8 + 64);
	assert_memory_equal(text, "nodekey:", 8);
	assert_int_equal(ctl_key_parse(out, CTL_KEY_NODE, text), 0);
	assert_memory_equal(out, key_a, 32);

	/* The prefix decides the kind: a node key is not a disco key. */
	assert_int_equal(ctl_key_parse(out, CTL_KEY_DISCO, text), -EINVAL);
	assert_int_equal(ctl_key_parse(out, CTL_KEY_MACHINE, text), -EINVAL);
	ctl_key_format(text, CTL_KEY_MACHINE, key_b);
	assert_memory_equal(text, "mkey:", 5);
	assert_int_equal(ctl_key_parse(out, CTL_KEY_MACHINE, text), 0);
	ctl_key_format(text, CTL_KEY_DISCO, key_c);
	assert_memory_equal(text, "discokey:", 9);
	assert_int_equal(ctl_key_parse(out, CTL_KEY_DISCO, text), 0);
	assert_memory_equal(out, key_c, 32);

	/* Hex digits in either case. */
	for (i = 0; i <= strlen(text); i++)
		upper[i] =
			i >= 9 && text[i] >= 'a' && text[i] <= 'f' ? (char)(text[i] - 32) : text[i];
	assert_int_equal(ctl_key_parse(out, CTL_KEY_DISCO, upper), 0);
	assert_memory_equal(out, key_c, 32);

	assert_int_equal(ctl_key_parse(out, CTL_KEY_DISCO, "discokey:"), -EINVAL);
	text[strlen(text) - 1] = '\0';
	assert_int_equal(ctl_key_parse(out, CTL_KEY_DISCO, text), -EINVAL);
	assert_int_equal(ctl_key_parse(out, CTL_KEY_DISCO, NULL), -EINVAL);
	ctl_key_format(text, CTL_KEY_NODE, zero);
	assert_int_equal(ctl_key_parse(out, CTL_KEY_NODE, text), -EINVAL); /* the zero key */
	ctl_key_format(text, CTL_KEY_NODE, key_a);
	text[20] = 'g';
	assert_int_equal(ctl_key_parse(out, CTL_KEY_NODE, text), -EINVAL);
	assert_true(sodium_is_zero(out, 32));
}

/* ---- round trips ---- */

static void test_server_key_round_trip(void **state)
{
	struct ctl_server_key k = {.version = 1}, d;
	struct ctl_err err;
	char *json;
	size_t len;

	(void)state;
	memcpy(k.public_key, key_d, 32);
	assert_int_equal(ctl_server_key_encode(&k, &json, &len), 0);
	assert_non_null(strstr(json, "\"public_key\":\"mkey:"));
	assert_int_equal(decode_exact(dec_skey, &d, json, len, &err), 0);
	assert_int_equal(d.version, 1);
	assert_memory_equal(d.public_key, key_d, 32);
	free(json);
}

static void test_register_request_round_trip(void **state)
{
	struct ctl_register_request r = full_register_request(), d;
	struct ctl_register_request minimal = {.version = 1,
					       .hostinfo = {.hostname = S("h"), .os = S("linux")}};
	struct ctl_err err = {{0}};
	char *json, *again;
	size_t len, len2;

	(void)state;
	assert_int_equal(ctl_register_request_encode(&r, &json, &len), 0);
	assert_int_equal(decode_exact(dec_rreq, &d, json, len, &err), 0);
	assert_int_equal(d.version, r.version);
	assert_memory_equal(d.node_key, r.node_key, 32);
	assert_true(d.has_old_node_key);
	assert_memory_equal(d.old_node_key, r.old_node_key, 32);
	assert_memory_equal(d.disco_key, r.disco_key, 32);
	assert_hostinfo_equal(&d.hostinfo, &r.hostinfo);
	assert_string_equal(d.auth_key, r.auth_key);
	assert_string_equal(d.followup, r.followup);
	assert_endpoints_equal(d.endpoints, d.nendpoints, r.endpoints, r.nendpoints);
	assert_true(d.logout);
	/* Canonical: encoding what we decoded gives the same bytes. */
	assert_int_equal(ctl_register_request_encode(&d, &again, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(json, again, len);
	free(again);
	free(json);
	ctl_register_request_free(&d);

	memcpy(minimal.node_key, key_a, 32);
	memcpy(minimal.disco_key, key_b, 32);
	assert_int_equal(ctl_register_request_encode(&minimal, &json, &len), 0);
	assert_int_equal(decode_exact(dec_rreq, &d, json, len, &err), 0);
	assert_false(d.has_old_node_key);
	assert_null(d.auth_key);
	assert_null(d.hostinfo.os_version);
	assert_int_equal(d.nendpoints, 0);
	assert_false(d.logout);
	free(json);
	ctl_register_request_free(&d);
}

static void test_register_response_round_trip(void **state)
{
	char *tags[] = {S("tag:ci")};
	struct ctl_register_response ok = {.authorized = true,
					   .node_id = 7,
					   .name = S("laptop-1"),
					   .user = S("alice"),
					   .tags = tags,
					   .ntags = 1,
					   .addresses = addrs2,
					   .naddresses = 2,
					   .key_expiry = 1800000000};
	struct ctl_register_response pending = {
		.pending_id = S("AbC123"),
		.auth_url = S("https://mesh.example.com/register/AbC123")};
	struct ctl_register_response refused = {.error = S("auth key expired"),
						.node_key_expired = true};
	struct ctl_register_response d;
	struct ctl_err err;
	char *json;
	size_t len;

	(void)state;
	assert_int_equal(ctl_register_response_encode(&ok, &json, &len), 0);
	assert_int_equal(decode_exact(dec_rresp, &d, json, len, &err), 0);
	assert_true(d.authorized);
	assert_int_equal(d.node_id, 7);
	assert_string_equal(d.name, "laptop-1");
	assert_string_equal(d.user, "alice");
	assert_strings_equal(d.tags, d.ntags, tags, 1);
	assert_prefixes_equal(d.addresses, d.naddresses, addrs2, 2);
	assert_int_equal(d.key_expiry, 1800000000);
	assert_null(d.error);
	free(json);
	ctl_register_response_free(&d);

	assert_int_equal(ctl_register_response_encode(&pending, &json, &len), 0);
	assert_int_equal(decode_exact(dec_rresp, &d, json, len, &err), 0);
	assert_false(d.authorized);
	assert_string_equal(d.pending_id, "AbC123");
	assert_string_equal(d.auth_url, pending.auth_url);
	free(json);
	ctl_register_response_free(&d);

	assert_int_equal(ctl_register_response_encode(&refused, &json, &len), 0);
	assert_int_equal(decode_exact(dec_rresp, &d, json, len, &err), 0);
	assert_false(d.authorized);
	assert_true(d.node_key_expired);
	assert_string_equal(d.error, "auth key expired");
	free(json);
	ctl_register_response_free(&d);
}

static void test_map_request_round_trip(void **state)
{
	struct ctl_map_request m = {.version = 1,
				    .endpoints = eps3,
				    .nendpoints = 3,
				    .stream = true,
				    .has_hostinfo = true,
				    .hostinfo = {.hostname = S("srv"), .os = S("linux")}};
	struct ctl_map_request d;
	struct ctl_err err;
	char *json;
	size_t len;

	(void)state;
	memcpy(m.node_key, key_a, 32);
	memcpy(m.disco_key, key_b, 32);
	assert_int_equal(ctl_map_request_encode(&m, &json, &len), 0);
	assert_int_equal(decode_exact(dec_mreq, &d, json, len, &err), 0);
	assert_memory_equal(d.node_key, key_a, 32);
	assert_memory_equal(d.disco_key, key_b, 32);
	assert_endpoints_equal(d.endpoints, d.nendpoints, eps3, 3);
	assert_true(d.stream);
	assert_false(d.omit_peers);
	assert_true(d.has_hostinfo);
	assert_hostinfo_equal(&d.hostinfo, &m.hostinfo);
	free(json);
	ctl_map_request_free(&d);

	/* A stream that omits peers makes no sense either way. */
	m.omit_peers = true;
	assert_int_equal(ctl_map_request_encode(&m, &json, &len), -EINVAL);
	m.stream = false;
	m.has_hostinfo = false;
	assert_int_equal(ctl_map_request_encode(&m, &json, &len), 0);
	assert_int_equal(decode_exact(dec_mreq, &d, json, len, &err), 0);
	assert_true(d.omit_peers);
	assert_false(d.has_hostinfo);
	free(json);
	ctl_map_request_free(&d);
}

static void assert_map_equal(const struct ctl_map_response *a, const struct ctl_map_response *b)
{
	size_t i, j;

	assert_int_equal(a->keep_alive, b->keep_alive);
	assert_int_equal(a->has_seq, b->has_seq);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->node != NULL, b->node != NULL);
	if (a->node)
		assert_node_equal(a->node, b->node);
	assert_int_equal(a->has_peers, b->has_peers);
	assert_int_equal(a->npeers, b->npeers);
	for (i = 0; i < a->npeers; i++)
		assert_node_equal(&a->peers[i], &b->peers[i]);
	assert_int_equal(a->npeers_changed, b->npeers_changed);
	for (i = 0; i < a->npeers_changed; i++)
		assert_node_equal(&a->peers_changed[i], &b->peers_changed[i]);
	assert_int_equal(a->npeers_removed, b->npeers_removed);
	for (i = 0; i < a->npeers_removed; i++)
		assert_int_equal(a->peers_removed[i], b->peers_removed[i]);
	assert_int_equal(a->npeers_patch, b->npeers_patch);
	for (i = 0; i < a->npeers_patch; i++) {
		const struct ctl_peer_patch *p = &a->peers_patch[i], *q = &b->peers_patch[i];

		assert_int_equal(p->id, q->id);
		assert_int_equal(p->fields, q->fields);
		if (p->fields & CTL_PATCH_ENDPOINTS)
			assert_endpoints_equal(p->endpoints, p->nendpoints, q->endpoints,
					       q->nendpoints);
		if (p->fields & CTL_PATCH_HOME_RELAY)
			assert_int_equal(p->home_relay, q->home_relay);
		if (p->fields & CTL_PATCH_ONLINE)
			assert_int_equal(p->online, q->online);
		if (p->fields & CTL_PATCH_LAST_SEEN)
			assert_int_equal(p->last_seen, q->last_seen);
		if (p->fields & CTL_PATCH_DISCO_KEY)
			assert_memory_equal(p->disco_key, q->disco_key, 32);
		if (p->fields & CTL_PATCH_NODE_KEY)
			assert_memory_equal(p->node_key, q->node_key, 32);
		if (p->fields & CTL_PATCH_KEY_EXPIRY)
			assert_int_equal(p->key_expiry, q->key_expiry);
	}
	assert_int_equal(a->relay_map != NULL, b->relay_map != NULL);
	if (a->relay_map) {
		assert_int_equal(a->relay_map->nregions, b->relay_map->nregions);
		for (i = 0; i < a->relay_map->nregions; i++) {
			const struct ctl_relay_region *r = &a->relay_map->regions[i],
						      *s = &b->relay_map->regions[i];

			assert_int_equal(r->region_id, s->region_id);
			assert_string_equal(r->region_code, s->region_code);
			assert_opt_string(r->region_name, s->region_name);
			assert_int_equal(r->nnodes, s->nnodes);
			for (j = 0; j < r->nnodes; j++) {
				assert_string_equal(r->nodes[j].name, s->nodes[j].name);
				assert_string_equal(r->nodes[j].host_name, s->nodes[j].host_name);
				assert_int_equal(r->nodes[j].has_ipv4, s->nodes[j].has_ipv4);
				assert_int_equal(r->nodes[j].has_ipv6, s->nodes[j].has_ipv6);
				if (r->nodes[j].has_ipv4)
					assert_true(ip_addr_equal(&r->nodes[j].ipv4,
								  &s->nodes[j].ipv4));
				if (r->nodes[j].has_ipv6)
					assert_true(ip_addr_equal(&r->nodes[j].ipv6,
								  &s->nodes[j].ipv6));
				assert_int_equal(r->nodes[j].stun_port, s->nodes[j].stun_port);
				assert_int_equal(r->nodes[j].relay_port, s->nodes[j].relay_port);
			}
		}
	}
	assert_int_equal(a->dns != NULL, b->dns != NULL);
	if (a->dns) {
		assert_int_equal(a->dns->magic_dns, b->dns->magic_dns);
		assert_opt_string(a->dns->domain, b->dns->domain);
		assert_int_equal(a->dns->nnameservers, b->dns->nnameservers);
		for (i = 0; i < a->dns->nnameservers; i++)
			assert_true(
				ip_addr_equal(&a->dns->nameservers[i], &b->dns->nameservers[i]));
		assert_strings_equal(a->dns->search_domains, a->dns->nsearch_domains,
				     b->dns->search_domains, b->dns->nsearch_domains);
		assert_int_equal(a->dns->nrecords, b->dns->nrecords);
		for (i = 0; i < a->dns->nrecords; i++) {
			assert_string_equal(a->dns->records[i].name, b->dns->records[i].name);
			assert_int_equal(a->dns->records[i].type, b->dns->records[i].type);
			assert_true(ip_addr_equal(&a->dns->records[i].value,
						  &b->dns->records[i].value));
		}
	}
	assert_int_equal(a->has_packet_filter, b->has_packet_filter);
	assert_int_equal(a->npacket_filter, b->npacket_filter);
	for (i = 0; i < a->npacket_filter; i++) {
		const struct ctl_filter_rule *r = &a->packet_filter[i], *s = &b->packet_filter[i];

		assert_prefixes_equal(r->src, r->nsrc, s->src, s->nsrc);
		assert_int_equal(r->ndst, s->ndst);
		for (j = 0; j < r->ndst; j++) {
			assert_true(ip_prefix_equal(&r->dst[j].prefix, &s->dst[j].prefix));
			assert_int_equal(r->dst[j].port_first, s->dst[j].port_first);
			assert_int_equal(r->dst[j].port_last, s->dst[j].port_last);
		}
		assert_int_equal(r->nprotos, s->nprotos);
		if (r->nprotos)
			assert_memory_equal(r->protos, s->protos, r->nprotos);
	}
}

/* Encode, decode (exact-size buffer), compare, re-encode to the same bytes. */
static void map_round_trip(const struct ctl_map_response *m)
{
	struct ctl_map_response d;
	struct ctl_err err = {{0}};
	char *json, *again;
	size_t len, len2;
	int ret;

	assert_int_equal(ctl_map_response_encode(m, &json, &len), 0);
	ret = decode_exact(dec_mresp, &d, json, len, &err);
	if (ret)
		fail_msg("decode: %s (%s)", err.msg, json);
	assert_map_equal(m, &d);
	assert_int_equal(ctl_map_response_encode(&d, &again, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(json, again, len);
	free(again);
	free(json);
	ctl_map_response_free(&d);
}

static void test_map_response_round_trip(void **state)
{
	struct ctl_node self = make_node(1, "laptop", "laptop.mesh.internal");
	struct ctl_node peers[3] = {
		make_node(2, "server", "server.mesh.internal"),
		make_node(3, "db-1", "db-1.mesh.internal."),
		make_node(9007199254740991ULL, "edge", "edge.mesh.internal"),
	};
	uint64_t removed[] = {4, 5};
	struct ctl_peer_patch patches[2] = {
		{.id = 2,
		 .fields = CTL_PATCH_ENDPOINTS | CTL_PATCH_ONLINE | CTL_PATCH_LAST_SEEN,
		 .endpoints = eps3,
		 .nendpoints = 2,
		 .online = false,
		 .last_seen = 1700000100},
		{.id = 3,
		 .fields = CTL_PATCH_HOME_RELAY | CTL_PATCH_DISCO_KEY | CTL_PATCH_NODE_KEY |
			   CTL_PATCH_KEY_EXPIRY | CTL_PATCH_ENDPOINTS,
		 .home_relay = 901,
		 .key_expiry = 0},
	};
	struct ctl_map_response full = {.has_seq = true,
					.seq = 1,
					.node = &self,
					.has_peers = true,
					.peers = peers,
					.npeers = 3,
					.relay_map = &relay_map,
					.dns = &dns,
					.has_packet_filter = true,
					.packet_filter = rules,
					.npacket_filter = 2};
	struct ctl_map_response delta = {.has_seq = true,
					 .seq = 2,
					 .peers_changed = peers,
					 .npeers_changed = 1,
					 .peers_removed = removed,
					 .npeers_removed = 2,
					 .peers_patch = patches,
					 .npeers_patch = 2};
	struct ctl_map_response keep = {.keep_alive = true, .has_seq = true, .seq = 3};
	struct ctl_map_response empty_full = {.has_peers = true, .has_packet_filter = true};

	(void)state;
	peers[1].user = NULL; /* tagged */
	peers[1].has_disco_key = false;
	peers[1].nendpoints = 0;
	peers[1].online = false;
	peers[1].last_seen = 0;
	peers[2].expired = true;
	peers[2].key_expiry = 0;
	memcpy(patches[1].disco_key, key_c, 32);
	memcpy(patches[1].node_key, key_d, 32);
	map_round_trip(&full);
	map_round_trip(&delta);
	map_round_trip(&keep);
	/* "No peers" and "deny everything" are not the same as "unchanged". */
	map_round_trip(&empty_full);
}

/* Random maps against the model: whatever we build must survive the trip. */
static void test_map_response_random(void **state)
{
	static char names[64][16], fqdns[64][40];
	struct ctl_node nodes[64];
	struct ip_endpoint eps[8];
	struct ip_prefix pf[8];
	int iter;
	size_t i;

	(void)state;
	for (iter = 0; iter < 300; iter++) {
		struct ctl_map_response m = {0};
		size_t n = randombytes_uniform(64);

		for (i = 0; i < 8; i++) {
			uint8_t b[16];
			char text[64];

			randombytes_buf(b, sizeof(b));
			if (b[0] & 1)
				snprintf(text, sizeof(text), "%u.%u.%u.%u:%u", b[1], b[2], b[3],
					 b[4], (unsigned int)(b[5] << 8 | b[6]));
			else
				snprintf(text, sizeof(text), "[2001:db8::%x:%x]:%u", b[1], b[2],
					 (unsigned int)(b[5] << 8 | b[6]));
			eps[i] = ep(text);
			snprintf(text, sizeof(text), "10.%u.%u.0/24", b[7], b[8]);
			pf[i] = pfx(text);
		}
		for (i = 0; i < n; i++) {
			snprintf(names[i], sizeof(names[i]), "n%zu-%u", i,
				 randombytes_uniform(1000));
			snprintf(fqdns[i], sizeof(fqdns[i]), "%s.mesh.internal", names[i]);
			nodes[i] = make_node(1 + randombytes_uniform(1u << 31), names[i], fqdns[i]);
			randombytes_buf(nodes[i].node_key, 32);
			nodes[i].nendpoints = randombytes_uniform(9);
			nodes[i].endpoints = eps;
			nodes[i].allowed_ips = pf;
			nodes[i].nallowed_ips = randombytes_uniform(9);
			nodes[i].online = randombytes_uniform(2);
			nodes[i].has_disco_key = randombytes_uniform(2);
			nodes[i].user = randombytes_uniform(2) ? S("bob") : NULL;
			nodes[i].ntags = randombytes_uniform(3);
			nodes[i].last_seen = randombytes_uniform(2) ? 0 : 1 + randombytes_random();
			nodes[i].home_relay = randombytes_uniform(3) * 450;
		}
		if (randombytes_uniform(2)) {
			m.has_peers = true;
			m.peers = nodes;
			m.npeers = n;
		} else {
			m.peers_changed = nodes;
			m.npeers_changed = n;
		}
		if (n && randombytes_uniform(2))
			m.node = &nodes[0];
		m.has_seq = randombytes_uniform(2);
		m.seq = m.has_seq ? randombytes_random() : 0;
		m.dns = randombytes_uniform(2) ? &dns : NULL;
		m.relay_map = randombytes_uniform(2) ? &relay_map : NULL;
		m.has_packet_filter = randombytes_uniform(2);
		m.packet_filter = rules;
		m.npacket_filter = m.has_packet_filter ? randombytes_uniform(3) : 0;
		map_round_trip(&m);
	}
}

static void test_large_map(void **state)
{
	enum { N = 5000 };
	struct ctl_node *peers = calloc(N, sizeof(*peers));
	char(*names)[16] = calloc(N, 16);
	char(*fqdns)[40] = calloc(N, 40);
	struct ctl_map_response m = {.has_peers = true, .npeers = N}, d;
	struct ctl_err err;
	char *json;
	size_t len, i;

	(void)state;
	assert_non_null(peers);
	assert_non_null(names);
	assert_non_null(fqdns);
	for (i = 0; i < N; i++) {
		snprintf(names[i], 16, "node-%zu", i);
		snprintf(fqdns[i], 40, "node-%zu.mesh.internal", i);
		peers[i] = make_node(i + 1, names[i], fqdns[i]);
	}
	m.peers = peers;
	assert_int_equal(ctl_map_response_encode(&m, &json, &len), 0);
	assert_true(len < CTL_MAX_MESSAGE_JSON);
	assert_int_equal(ctl_map_response_decode(&d, (const uint8_t *)json, len, &err), 0);
	assert_int_equal(d.npeers, N);
	assert_node_equal(&d.peers[N - 1], &peers[N - 1]);
	ctl_map_response_free(&d);
	free(json);
	free(peers);
	free(names);
	free(fqdns);
}

/* ---- sealing ---- */

static void test_sealed_register(void **state)
{
	uint8_t machine_priv[32], machine_pub[32], server_priv[32], server_pub[32];
	uint8_t other_priv[32], other_pub[32];
	struct ctl_register_request r = full_register_request(), d;
	struct ctl_register_response resp = {.pending_id = S("p1")}, rd;
	struct ctl_box server_box, node_box, wrong_box;
	struct ctl_err err;
	uint8_t *body, *answer;
	size_t len, alen;

	(void)state;
	crypto_box_keypair(machine_pub, machine_priv);
	crypto_box_keypair(server_pub, server_priv);
	crypto_box_keypair(other_pub, other_priv);

	assert_int_equal(ctl_register_request_seal(&r, machine_priv, server_pub, &body, &len), 0);
	assert_memory_equal(body, machine_pub, 32);   /* the sender travels in clear */
	assert_null(memmem(body, len, "mk_auth", 7)); /* the auth key does not */

	assert_int_equal(ctl_register_request_open(&d, server_priv, body, len, &server_box, &err),
			 0);
	assert_memory_equal(d.machine_key, machine_pub, 32);
	assert_string_equal(d.auth_key, r.auth_key);
	assert_hostinfo_equal(&d.hostinfo, &r.hostinfo);
	ctl_register_request_free(&d);

	/* Not our key: the box does not open. */
	assert_int_equal(ctl_register_request_open(&d, other_priv, body, len, &wrong_box, &err),
			 -EBADMSG);
	assert_non_null(strstr(err.msg, "does not open"));
	ctl_register_request_free(&d);

	/* One flipped bit anywhere after the sender key fails authentication. */
	for (size_t i = 32; i < len; i += 7) {
		body[i] ^= 0x10;
		assert_int_equal(
			ctl_register_request_open(&d, server_priv, body, len, &wrong_box, NULL),
			-EBADMSG);
		body[i] ^= 0x10;
		ctl_register_request_free(&d);
	}
	/* A changed sender key: the box was not sealed by that key. */
	body[0] ^= 1;
	assert_true(ctl_register_request_open(&d, server_priv, body, len, &wrong_box, NULL) < 0);
	ctl_register_request_free(&d);
	body[0] ^= 1;
	/* Truncated envelopes. */
	for (size_t n = 0; n < len; n += 5) {
		assert_true(ctl_register_request_open(&d, server_priv, body, n, &wrong_box, NULL) <
			    0);
		ctl_register_request_free(&d);
	}

	/* The answer goes back with the same shared key, computed from the other side. */
	assert_int_equal(ctl_register_response_seal(&resp, &server_box, &answer, &alen), 0);
	assert_int_equal(ctl_box_init(&node_box, machine_priv, server_pub), 0);
	assert_int_equal(ctl_register_response_open(&rd, &node_box, answer, alen, &err), 0);
	assert_string_equal(rd.pending_id, "p1");
	ctl_register_response_free(&rd);
	assert_int_equal(ctl_box_init(&wrong_box, other_priv, server_pub), 0);
	assert_int_equal(ctl_register_response_open(&rd, &wrong_box, answer, alen, &err), -EBADMSG);
	ctl_register_response_free(&rd);

	/* Interop: the layout is nonce ‖ crypto_box_easy(), so plain libsodium opens it. */
	{
		uint8_t *plain = malloc(alen);

		assert_non_null(plain);
		assert_int_equal(crypto_box_open_easy(plain, answer + 24, alen - 24, answer,
						      server_pub, machine_priv),
				 0);
		assert_int_equal(ctl_register_response_decode(&rd, plain, alen - 24 - 16, &err), 0);
		ctl_register_response_free(&rd);
		free(plain);
	}
	free(answer);
	free(body);
	ctl_box_wipe(&server_box);
	ctl_box_wipe(&node_box);
	ctl_box_wipe(&wrong_box);
}

static void test_sealed_map_request_and_low_order_key(void **state)
{
	uint8_t machine_priv[32], machine_pub[32], server_priv[32], server_pub[32];
	static const uint8_t zero[32];
	struct ctl_map_request m = {.version = 1, .stream = true}, d;
	struct ctl_box box;
	struct ctl_err err;
	uint8_t *body;
	size_t len;

	(void)state;
	crypto_box_keypair(machine_pub, machine_priv);
	crypto_box_keypair(server_pub, server_priv);
	memcpy(m.node_key, key_a, 32);
	memcpy(m.disco_key, key_b, 32);
	assert_int_equal(ctl_map_request_seal(&m, machine_priv, server_pub, &body, &len), 0);
	assert_int_equal(ctl_map_request_open(&d, server_priv, body, len, &box, &err), 0);
	assert_memory_equal(d.machine_key, machine_pub, 32);
	assert_true(d.stream);
	ctl_map_request_free(&d);
	ctl_box_wipe(&box);

	/* A low-order sender key (here zero) is refused before any decryption. */
	memset(body, 0, 32);
	assert_int_equal(ctl_map_request_open(&d, server_priv, body, len, &box, &err), -EINVAL);
	ctl_map_request_free(&d);
	assert_int_equal(ctl_box_init(&box, machine_priv, zero), -EINVAL);
	free(body);
}

/* ---- frames ---- */

static void test_frames_any_chunking(void **state)
{
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32];
	struct ctl_node self = make_node(1, "laptop", "laptop.mesh.internal");
	struct ctl_map_response msgs[3] = {
		{.has_seq = true, .seq = 1, .node = &self, .has_peers = true, .dns = &dns},
		{.keep_alive = true},
		{.has_seq = true, .seq = 2, .peers_changed = &self, .npeers_changed = 1},
	};
	struct ctl_box server, node;
	uint8_t *stream = NULL, *f;
	size_t slen = 0, flen;
	int round, i;

	(void)state;
	crypto_box_keypair(a_pub, a_priv);
	crypto_box_keypair(b_pub, b_priv);
	assert_int_equal(ctl_box_init(&server, a_priv, b_pub), 0);
	assert_int_equal(ctl_box_init(&node, b_priv, a_pub), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(ctl_map_response_seal_frame(&msgs[i], &server, &f, &flen), 0);
		/* 4-byte big-endian length of what follows. */
		assert_int_equal((size_t)(f[0] << 24 | f[1] << 16 | f[2] << 8 | f[3]), flen - 4);
		stream = realloc(stream, slen + flen);
		assert_non_null(stream);
		memcpy(stream + slen, f, flen);
		slen += flen;
		free(f);
	}
	for (round = 0; round < 50; round++) {
		struct ctl_frame_reader r;
		size_t off = 0;
		int got = 0;

		ctl_frame_reader_init(&r);
		while (off < slen) {
			size_t n = 1 + randombytes_uniform(round < 10 ? 3 : 200);
			const uint8_t *payload;
			size_t plen;
			int ret;

			if (n > slen - off)
				n = slen - off;
			assert_int_equal(ctl_frame_reader_feed(&r, stream + off, n), 0);
			off += n;
			while ((ret = ctl_frame_reader_next(&r, &payload, &plen)) == 1) {
				struct ctl_map_response d;
				struct ctl_err err;

				assert_int_equal(
					ctl_map_response_open(&d, &node, payload, plen, &err), 0);
				assert_map_equal(&msgs[got], &d);
				ctl_map_response_free(&d);
				got++;
			}
			assert_int_equal(ret, 0);
		}
		assert_int_equal(got, 3);
		assert_int_equal(ctl_frame_reader_pending(&r), 0);
		ctl_frame_reader_free(&r);
	}

	/* A cut stream leaves bytes pending and yields nothing more. */
	{
		struct ctl_frame_reader r;
		const uint8_t *payload;
		size_t plen;

		ctl_frame_reader_init(&r);
		assert_int_equal(ctl_frame_reader_feed(&r, stream, slen - 1), 0);
		assert_int_equal(ctl_frame_reader_next(&r, &payload, &plen), 1);
		assert_int_equal(ctl_frame_reader_next(&r, &payload, &plen), 1);
		assert_int_equal(ctl_frame_reader_next(&r, &payload, &plen), 0);
		assert_true(ctl_frame_reader_pending(&r) > 0);
		ctl_frame_reader_free(&r);
	}
	/* Lengths that cannot be: too short for a box, or over the limit. Errors stick. */
	{
		static const uint8_t tiny[] = {0, 0, 0, 39}, huge[] = {0xff, 0xff, 0xff, 0xff};
		struct ctl_frame_reader r;
		const uint8_t *payload;
		size_t plen;

		ctl_frame_reader_init(&r);
		assert_int_equal(ctl_frame_reader_feed(&r, tiny, 4), 0);
		assert_int_equal(ctl_frame_reader_next(&r, &payload, &plen), -EINVAL);
		assert_int_equal(ctl_frame_reader_feed(&r, stream, slen), -EINVAL);
		ctl_frame_reader_free(&r);
		ctl_frame_reader_init(&r);
		assert_int_equal(ctl_frame_reader_feed(&r, huge, 4), 0);
		assert_int_equal(ctl_frame_reader_next(&r, &payload, &plen), -EMSGSIZE);
		ctl_frame_reader_free(&r);
	}
	/* A frame sealed for someone else. */
	{
		struct ctl_box other;
		struct ctl_map_response d;
		uint8_t c_priv[32], c_pub[32];

		crypto_box_keypair(c_pub, c_priv);
		assert_int_equal(ctl_box_init(&other, c_priv, a_pub), 0);
		assert_int_equal(ctl_map_response_open(&d, &other, stream + 4,
						       (size_t)(stream[0] << 24 | stream[1] << 16 |
								stream[2] << 8 | stream[3]),
						       NULL),
				 -EBADMSG);
		ctl_map_response_free(&d);
		ctl_box_wipe(&other);
	}
	free(stream);
	ctl_box_wipe(&server);
	ctl_box_wipe(&node);
}

/* ---- refusals ---- */

struct codec {
	const char *name;
	decode_fn *dec;
	free_fn *free;
	size_t size;
};

static const struct codec codecs[] = {
	{"register_request", dec_rreq, free_rreq, sizeof(struct ctl_register_request)},
	{"register_response", dec_rresp, free_rresp, sizeof(struct ctl_register_response)},
	{"map_request", dec_mreq, free_mreq, sizeof(struct ctl_map_request)},
	{"map_response", dec_mresp, free_mresp, sizeof(struct ctl_map_response)},
	{"server_key", dec_skey, free_skey, sizeof(struct ctl_server_key)},
};

static int try_decode(const struct codec *c, const void *buf, size_t len, struct ctl_err *err)
{
	void *m = malloc(c->size);
	int ret;

	assert_non_null(m);
	ret = decode_exact(c->dec, m, buf, len, err);
	c->free(m);
	free(m);
	return ret;
}

/* A valid encoding of each message kind, for the mutation tests. */
static char *valid_json(size_t which, size_t *len)
{
	static struct ctl_node self;
	struct ctl_register_request rq = full_register_request();
	struct ctl_register_response rs = {.authorized = true,
					   .node_id = 3,
					   .name = S("a"),
					   .addresses = addrs2,
					   .naddresses = 2};
	struct ctl_map_request mq = {.version = 1, .stream = true};
	struct ctl_map_response mr = {.has_seq = true,
				      .seq = 5,
				      .node = &self,
				      .has_peers = true,
				      .peers = &self,
				      .npeers = 1,
				      .relay_map = &relay_map,
				      .dns = &dns,
				      .has_packet_filter = true,
				      .packet_filter = rules,
				      .npacket_filter = 2};
	struct ctl_server_key sk = {.version = 1};
	char *json = NULL;

	self = make_node(1, "laptop", "laptop.mesh.internal");
	memcpy(mq.node_key, key_a, 32);
	memcpy(mq.disco_key, key_b, 32);
	memcpy(sk.public_key, key_c, 32);
	switch (which) {
	case 0:
		assert_int_equal(ctl_register_request_encode(&rq, &json, len), 0);
		break;
	case 1:
		assert_int_equal(ctl_register_response_encode(&rs, &json, len), 0);
		break;
	case 2:
		assert_int_equal(ctl_map_request_encode(&mq, &json, len), 0);
		break;
	case 3:
		assert_int_equal(ctl_map_response_encode(&mr, &json, len), 0);
		break;
	default:
		assert_int_equal(ctl_server_key_encode(&sk, &json, len), 0);
		break;
	}
	return json;
}

static void test_truncated_and_garbage(void **state)
{
	uint8_t junk[512];
	size_t which, n, len;

	(void)state;
	for (which = 0; which < ARRAY_SIZE(codecs); which++) {
		char *json = valid_json(which, &len);

		assert_int_equal(try_decode(&codecs[which], json, len, NULL), 0);
		/* Every strict prefix is incomplete JSON. */
		for (n = 0; n < len; n++)
			assert_true(try_decode(&codecs[which], json, n, NULL) < 0);
		/* Random single-byte mutations: refused or accepted, never a crash. */
		for (n = 0; n < 2000; n++) {
			char *copy = malloc(len);
			struct ctl_err err;

			assert_non_null(copy);
			memcpy(copy, json, len);
			copy[randombytes_uniform((uint32_t)len)] = (char)randombytes_uniform(256);
			(void)try_decode(&codecs[which], copy, len, &err);
			free(copy);
		}
		/* Trailing garbage after a valid message. */
		json = realloc(json, len + 2);
		assert_non_null(json);
		memcpy(json + len, " x", 2);
		assert_int_equal(try_decode(&codecs[which], json, len + 2, NULL), -EINVAL);
		memcpy(json + len, " \n", 2); /* white space is fine */
		assert_int_equal(try_decode(&codecs[which], json, len + 2, NULL), 0);
		free(json);
		for (n = 0; n < 200; n++) {
			size_t jl = randombytes_uniform(sizeof(junk));

			randombytes_buf(junk, jl);
			assert_true(try_decode(&codecs[which], junk, jl, NULL) < 0);
		}
	}
}

/* Remove member @path ("a.b" = member b of object a) from @json and try to decode. */
static int decode_without(size_t which, const char *path, struct ctl_err *err)
{
	char *json, *edited, parent_name[64];
	const char *dot = strchr(path, '.');
	cJSON *root, *parent;
	size_t len;
	int ret;

	json = valid_json(which, &len);
	root = cJSON_ParseWithLength(json, len);
	assert_non_null(root);
	parent = root;
	if (dot) {
		snprintf(parent_name, sizeof(parent_name), "%.*s", (int)(dot - path), path);
		parent = cJSON_GetObjectItemCaseSensitive(root, parent_name);
		if (cJSON_IsArray(parent))
			parent = cJSON_GetArrayItem(parent, 0);
		assert_non_null(parent);
		path = dot + 1;
	}
	assert_non_null(cJSON_GetObjectItemCaseSensitive(parent, path));
	cJSON_DeleteItemFromObjectCaseSensitive(parent, path);
	edited = cJSON_PrintUnformatted(root);
	ret = try_decode(&codecs[which], edited, strlen(edited), err);
	free(edited);
	cJSON_Delete(root);
	free(json);
	return ret;
}

static void test_missing_required(void **state)
{
	static const struct {
		size_t which;
		const char *path;
	} required[] = {
		{0, "type"},
		{0, "version"},
		{0, "node_key"},
		{0, "disco_key"},
		{0, "hostinfo"},
		{0, "hostinfo.hostname"},
		{0, "hostinfo.os"},
		{1, "authorized"},
		{1, "name"}, /* authorized needs name, node_id, addresses */
		{1, "node_id"},
		{1, "addresses"},
		{2, "version"},
		{2, "node_key"},
		{2, "disco_key"},
		{3, "type"},
		{3, "node.id"},
		{3, "node.name"},
		{3, "node.fqdn"},
		{3, "node.node_key"},
		{3, "node.addresses"},
		{3, "node.allowed_ips"},
		{3, "peers.id"},
		{3, "peers.node_key"},
		{3, "relay_map.regions"},
		{3, "dns.magic_dns"},
		{3, "packet_filter.src"},
		{3, "packet_filter.dst"},
		{4, "public_key"},
		{4, "version"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(required); i++) {
		struct ctl_err err = {{0}};
		const char *field = strrchr(required[i].path, '.');

		field = field ? field + 1 : required[i].path;
		if (decode_without(required[i].which, required[i].path, &err) != -EINVAL)
			fail_msg("%s without %s was accepted", codecs[required[i].which].name,
				 required[i].path);
		if (!strstr(err.msg, field) && !strstr(err.msg, "authorized"))
			fail_msg("%s without %s: unhelpful error \"%s\"",
				 codecs[required[i].which].name, required[i].path, err.msg);
	}
	/* Optional members may go. */
	assert_int_equal(decode_without(0, "auth_key", NULL), 0);
	assert_int_equal(decode_without(0, "endpoints", NULL), 0);
	assert_int_equal(decode_without(0, "hostinfo.routes", NULL), 0);
	assert_int_equal(decode_without(3, "node.endpoints", NULL), 0);
	assert_int_equal(decode_without(3, "dns", NULL), 0);
}

static int decode_text(size_t which, const char *text, struct ctl_err *err)
{
	return try_decode(&codecs[which], text, strlen(text), err);
}

static void test_bad_values(void **state)
{
	char nk[CTL_KEY_TEXT_LEN], dk[CTL_KEY_TEXT_LEN], buf[2048];
	struct ctl_err err;
	size_t i;
	/* A valid map request with one member replaced (or added) per case. */
	static const struct {
		const char *name, *value;
	} bad[] = {
		{"version", "\"1\""},  /* wrong type */
		{"version", "0"},      /* out of range */
		{"version", "1.5"},    /* not an integer */
		{"version", "1e300"},  /* huge */
		{"version", "-1"},     /* negative */
		{"stream", "\"yes\""}, /* not a bool */
		{"stream", "1"},       /* not a bool either */
		{"node_key", "\"nodekey:\""},
		{"endpoints", "\"1.2.3.4:5\""},	    /* not an array */
		{"endpoints", "[\"1.2.3.4\"]"},	    /* no port */
		{"endpoints", "[\"[::1]:99999\"]"}, /* port out of range */
		{"endpoints", "[\"::1:80\"]"},	    /* IPv6 without brackets */
		{"endpoints", "[\"1.2.3.4:05\"]"},  /* leading zero */
		{"endpoints", "[5]"},		    /* not a string */
		{"hostinfo", "[]"},		    /* not an object */
		{"hostinfo", "{\"hostname\":\"a\\nb\",\"os\":\"linux\"}"},     /* control char */
		{"hostinfo", "{\"hostname\":\"a\\u0000b\",\"os\":\"linux\"}"}, /* NUL escape */
		{"hostinfo", "{\"hostname\":\"\",\"os\":\"linux\"}"},	       /* empty */
		{"hostinfo", "{\"hostname\":\"h\",\"os\":\"linux\",\"routes\":[\"10.0.0.1/8\"]}"},
		{"hostinfo", "{\"hostname\":\"h\",\"os\":\"linux\",\"tags\":[\"server\"]}"},
		{"hostinfo", "{\"hostname\":\"\xff\xfe\",\"os\":\"linux\"}"},	  /* not UTF-8 */
		{"hostinfo", "{\"hostname\":\"\xc0\xaf\",\"os\":\"linux\"}"},	  /* overlong */
		{"hostinfo", "{\"hostname\":\"\xed\xa0\x80\",\"os\":\"linux\"}"}, /* surrogate */
		{"omit_peers", "true"},						  /* with stream */
	};
	static const char *const base[] = {"version", "node_key", "disco_key", "stream"};

	(void)state;
	ctl_key_format(nk, CTL_KEY_NODE, key_a);
	ctl_key_format(dk, CTL_KEY_DISCO, key_b);
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"map_request\",\"version\":1,\"node_key\":\"%s\",\"disco_key\":\"%s\","
		 "\"stream\":true,\"future_field\":{\"x\":[1,2]}}",
		 nk, dk);
	assert_int_equal(decode_text(2, buf, &err), 0); /* unknown members are ignored */

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		char value[CTL_KEY_TEXT_LEN + 2];
		size_t n, k;
		bool replaced = false;

		n = (size_t)snprintf(buf, sizeof(buf), "{\"type\":\"map_request\"");
		for (k = 0; k < ARRAY_SIZE(base); k++) {
			const char *v;

			if (!strcmp(base[k], bad[i].name)) {
				v = bad[i].value;
				replaced = true;
			} else if (k == 0) {
				v = "1";
			} else if (k == 3) {
				v = "true";
			} else {
				snprintf(value, sizeof(value), "\"%s\"", k == 1 ? nk : dk);
				v = value;
			}
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"%s\":%s", base[k], v);
		}
		if (!replaced)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"%s\":%s", bad[i].name,
					      bad[i].value);
		snprintf(buf + n, sizeof(buf) - n, "}");
		if (decode_text(2, buf, &err) != -EINVAL)
			fail_msg("accepted: %s", buf);
		/* The one exception: a NUL escape is refused before members are looked at. */
		if (!strstr(err.msg, bad[i].name) && !strstr(err.msg, "NUL"))
			fail_msg("%s: error does not name the member: %s", buf, err.msg);
	}
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"map_request\",\"version\":1,\"version\":1,\"node_key\":\"%s\","
		 "\"disco_key\":\"%s\"}",
		 nk, dk);
	assert_int_equal(decode_text(2, buf, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "duplicate"));

	/* Wrong and unknown message types; a wrong kind of key. */
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"map_response\",\"version\":1,\"node_key\":\"%s\",\"disco_key\":\"%"
		 "s\"}",
		 nk, dk);
	assert_int_equal(decode_text(2, buf, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "type"));
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"telemetry\",\"version\":1,\"node_key\":\"%s\",\"disco_key\":\"%s\"}",
		 nk, dk);
	assert_int_equal(decode_text(2, buf, &err), -EINVAL);
	snprintf(
		buf, sizeof(buf),
		"{\"type\":\"map_request\",\"version\":1,\"node_key\":\"%s\",\"disco_key\":\"%s\"}",
		dk, nk);
	assert_int_equal(decode_text(2, buf, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "node_key"));
	assert_int_equal(decode_text(2, "[1,2,3]", &err), -EINVAL);
	assert_int_equal(decode_text(2, "\"map_request\"", &err), -EINVAL);
	assert_int_equal(decode_text(2, "{}", &err), -EINVAL);

	/* Incoherent register responses. */
	assert_int_equal(
		decode_text(1, "{\"type\":\"register_response\",\"authorized\":false}", &err),
		-EINVAL);
	assert_int_equal(decode_text(1,
				     "{\"type\":\"register_response\",\"authorized\":true,"
				     "\"error\":\"x\",\"node_id\":1,\"name\":\"a\","
				     "\"addresses\":[\"100.64.0.1/32\"]}",
				     &err),
			 -EINVAL);
	assert_int_equal(decode_text(1,
				     "{\"type\":\"register_response\",\"authorized\":true,"
				     "\"node_id\":1,\"name\":\"Not-A-Label\","
				     "\"addresses\":[\"100.64.0.1/32\"]}",
				     &err),
			 -EINVAL);
	assert_int_equal(decode_text(1,
				     "{\"type\":\"register_response\",\"authorized\":true,"
				     "\"node_id\":9007199254740992,\"name\":\"a\","
				     "\"addresses\":[\"100.64.0.1/32\"]}",
				     &err),
			 -EINVAL); /* 2^53: not exact in a double */
	assert_int_equal(decode_text(1,
				     "{\"type\":\"register_response\",\"authorized\":false,"
				     "\"auth_url\":\"https://x/\",\"error\":\"e\"}",
				     &err),
			 -EINVAL);
}

static void test_bad_map_responses(void **state)
{
	char nk[CTL_KEY_TEXT_LEN], buf[4096];
	struct ctl_err err;
	size_t i;
	static const char *const bad[] = {
		/* keep-alive frames carry nothing else */
		"{\"type\":\"map_response\",\"keep_alive\":true,\"peers\":[]}",
		/* full and delta at once */
		"{\"type\":\"map_response\",\"peers\":[],\"peers_removed\":[3]}",
		/* ids must be positive integers */
		"{\"type\":\"map_response\",\"peers_removed\":[0]}",
		"{\"type\":\"map_response\",\"peers_removed\":[-1]}",
		"{\"type\":\"map_response\",\"peers_removed\":[\"3\"]}",
		/* a patch must change something */
		"{\"type\":\"map_response\",\"peers_patch\":[{\"id\":3}]}",
		"{\"type\":\"map_response\",\"peers_patch\":[{\"id\":3,\"online\":\"no\"}]}",
		/* relay map */
		"{\"type\":\"map_response\",\"relay_map\":{\"regions\":[{\"region_id\":1,"
		"\"region_code\":\"a\",\"nodes\":[]}]}}",
		"{\"type\":\"map_response\",\"relay_map\":{\"regions\":[{\"region_id\":1,"
		"\"region_code\":\"a\",\"nodes\":[{\"name\":\"n\",\"host_name\":\"h\","
		"\"stun_port\":70000,\"relay_port\":443}]}]}}",
		"{\"type\":\"map_response\",\"relay_map\":{\"regions\":[{\"region_id\":1,"
		"\"region_code\":\"a\",\"nodes\":[{\"name\":\"n\",\"host_name\":\"h\","
		"\"ipv4\":\"::1\",\"stun_port\":1,\"relay_port\":443}]}]}}",
		"{\"type\":\"map_response\",\"relay_map\":{\"regions\":["
		"{\"region_id\":1,\"region_code\":\"a\",\"nodes\":[{\"name\":\"n\","
		"\"host_name\":\"h\",\"stun_port\":1,\"relay_port\":2}]},"
		"{\"region_id\":1,\"region_code\":\"b\",\"nodes\":[{\"name\":\"n\","
		"\"host_name\":\"h\",\"stun_port\":1,\"relay_port\":2}]}]}}",
		/* DNS */
		"{\"type\":\"map_response\",\"dns\":{\"magic_dns\":true,\"extra_records\":["
		"{\"name\":\"a.b\",\"type\":\"A\",\"value\":\"fd00::1\"}]}}",
		"{\"type\":\"map_response\",\"dns\":{\"magic_dns\":true,\"extra_records\":["
		"{\"name\":\"a.b\",\"type\":\"MX\",\"value\":\"1.2.3.4\"}]}}",
		"{\"type\":\"map_response\",\"dns\":{\"magic_dns\":true,\"domain\":\"a..b\"}}",
		"{\"type\":\"map_response\",\"dns\":{\"magic_dns\":true,\"nameservers\":[\"x\"]}}",
		/* packet filter */
		"{\"type\":\"map_response\",\"packet_filter\":[{\"src\":[\"10.0.0.0/8\"],\"dst\":"
		"[{\"prefix\":\"10.0.0.1/32\",\"ports\":{\"first\":80,\"last\":22}}]}]}",
		"{\"type\":\"map_response\",\"packet_filter\":[{\"src\":[\"10.0.0.0/8\"],\"dst\":"
		"[{\"prefix\":\"10.0.0.1/24\",\"ports\":{\"first\":1,\"last\":2}}]}]}",
		"{\"type\":\"map_response\",\"packet_filter\":[{\"src\":[],\"dst\":"
		"[{\"prefix\":\"10.0.0.1/32\",\"ports\":{\"first\":1,\"last\":2}}]}]}",
		"{\"type\":\"map_response\",\"packet_filter\":[{\"src\":[\"*\"],\"dst\":"
		"[{\"prefix\":\"10.0.0.1/32\",\"ports\":{\"first\":1,\"last\":2}}]}]}",
		"{\"type\":\"map_response\",\"packet_filter\":[{\"src\":[\"10.0.0.0/8\"],\"dst\":"
		"[{\"prefix\":\"10.0.0.1/32\",\"ports\":{\"first\":1,\"last\":2}}],"
		"\"protos\":[256]}]}",
		"{\"type\":\"map_response\",\"packet_filter\":[{\"src\":[\"10.0.0.0/8\"],\"dst\":"
		"[{\"prefix\":\"10.0.0.1/32\"}]}]}",
		/* duplicate member in a nested object */
		"{\"type\":\"map_response\",\"dns\":{\"magic_dns\":true,\"magic_dns\":false}}",
	};

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (decode_text(3, bad[i], &err) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
	/* Node-level rules: names are labels, FQDNs DNS names, addresses non-empty. */
	ctl_key_format(nk, CTL_KEY_NODE, key_a);
	{
		static const char *const node_bad[] = {
			"\"id\":1,\"name\":\"UPPER\",\"fqdn\":\"a.b\",\"addresses\":[\"100.64.0.1/"
			"32\"]",
			"\"id\":1,\"name\":\"-a\",\"fqdn\":\"a.b\",\"addresses\":[\"100.64.0.1/"
			"32\"]",
			"\"id\":1,\"name\":\"a\",\"fqdn\":\"a "
			"b\",\"addresses\":[\"100.64.0.1/32\"]",
			"\"id\":1,\"name\":\"a\",\"fqdn\":\"a.b\",\"addresses\":[]",
			"\"id\":0,\"name\":\"a\",\"fqdn\":\"a.b\",\"addresses\":[\"100.64.0.1/"
			"32\"]",
			"\"id\":1,\"name\":\"a\",\"fqdn\":\"a.b\",\"addresses\":[\"100.64.0.1/"
			"32\"],"
			"\"last_seen\":-5",
			"\"id\":1,\"name\":\"a\",\"fqdn\":\"a.b\",\"addresses\":[\"100.64.0.1/"
			"32\"],"
			"\"tags\":[\"tag:\"]",
		};

		for (i = 0; i < ARRAY_SIZE(node_bad); i++) {
			snprintf(buf, sizeof(buf),
				 "{\"type\":\"map_response\",\"node\":{%s,\"node_key\":\"%s\","
				 "\"allowed_ips\":[]}}",
				 node_bad[i], nk);
			if (decode_text(3, buf, &err) != -EINVAL)
				fail_msg("accepted: %s", buf);
		}
		snprintf(buf, sizeof(buf),
			 "{\"type\":\"map_response\",\"node\":{\"id\":1,\"name\":\"a\",\"fqdn\":"
			 "\"a.b\","
			 "\"addresses\":[\"100.64.0.1/"
			 "32\"],\"node_key\":\"%s\",\"allowed_ips\":[]}}",
			 nk);
		assert_int_equal(decode_text(3, buf, &err), 0);
	}
	/* Errors say where: the index of the bad element. */
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"map_response\",\"peers\":[{\"id\":1,\"name\":\"a\",\"fqdn\":\"a.b\","
		 "\"addresses\":[\"100.64.0.1/32\"],\"node_key\":\"%s\",\"allowed_ips\":[]},"
		 "{\"id\":2,\"name\":\"b\",\"fqdn\":\"b.b\",\"addresses\":[\"100.64.0.2/32\"],"
		 "\"node_key\":\"mkey:00\",\"allowed_ips\":[]}]}",
		 nk);
	assert_int_equal(decode_text(3, buf, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "peers[1].node_key"));
}

static void test_encoder_refuses_invalid(void **state)
{
	struct ctl_register_request r = full_register_request();
	struct ctl_register_response resp = {.authorized = true, .node_id = 1};
	struct ctl_node n = make_node(1, "a", "a.b");
	struct ctl_map_response m = {.node = &n};
	struct ip_prefix host_bits = pfx("10.0.0.1/8");
	char *json;
	size_t len;

	(void)state;
	memset(r.node_key, 0, 32); /* the zero key */
	assert_int_equal(ctl_register_request_encode(&r, &json, &len), -EINVAL);
	r = full_register_request();
	r.hostinfo.hostname = S("bad\nname");
	assert_int_equal(ctl_register_request_encode(&r, &json, &len), -EINVAL);
	r = full_register_request();
	r.hostinfo.routes = &host_bits;
	r.hostinfo.nroutes = 1;
	assert_int_equal(ctl_register_request_encode(&r, &json, &len), -EINVAL);
	r = full_register_request();
	r.version = 0;
	assert_int_equal(ctl_register_request_encode(&r, &json, &len), -EINVAL);
	assert_int_equal(ctl_register_response_encode(&resp, &json, &len), -EINVAL);

	n.name = S("Bad_Label");
	assert_int_equal(ctl_map_response_encode(&m, &json, &len), -EINVAL);
	n = make_node(1ULL << 53, "a", "a.b");
	assert_int_equal(ctl_map_response_encode(&m, &json, &len), -EINVAL);
	n = make_node(1, "a", "a.b");
	m.keep_alive = true;
	assert_int_equal(ctl_map_response_encode(&m, &json, &len), -EINVAL);
	m.keep_alive = false;
	m.has_peers = true;
	m.peers_removed = (uint64_t[]){3};
	m.npeers_removed = 1;
	assert_int_equal(ctl_map_response_encode(&m, &json, &len), -EINVAL);
}

static void test_size_limits(void **state)
{
	size_t big = CTL_MAX_REQUEST_JSON + 10, i;
	char *text = malloc(big + 64);
	uint8_t priv[32], pub[32], *out;
	size_t outlen;

	(void)state;
	assert_non_null(text);
	/* A syntactically fine request that is simply too large. */
	i = (size_t)snprintf(text, 64, "{\"type\":\"map_request\",\"pad\":\"");
	memset(text + i, 'a', big - i - 2);
	memcpy(text + big - 2, "\"}", 2);
	assert_int_equal(decode_text(2, "{\"type\":\"map_request\"}", NULL), -EINVAL);
	assert_int_equal(try_decode(&codecs[2], text, big, NULL), -EMSGSIZE);
	crypto_box_keypair(pub, priv);
	assert_int_equal(ctl_request_seal(priv, pub, (uint8_t *)text, big, &out, &outlen),
			 -EMSGSIZE);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_text),
		cmocka_unit_test(test_server_key_round_trip),
		cmocka_unit_test(test_register_request_round_trip),
		cmocka_unit_test(test_register_response_round_trip),
		cmocka_unit_test(test_map_request_round_trip),
		cmocka_unit_test(test_map_response_round_trip),
		cmocka_unit_test(test_map_response_random),
		cmocka_unit_test(test_large_map),
		cmocka_unit_test(test_sealed_register),
		cmocka_unit_test(test_sealed_map_request_and_low_order_key),
		cmocka_unit_test(test_frames_any_chunking),
		cmocka_unit_test(test_truncated_and_garbage),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_map_responses),
		cmocka_unit_test(test_encoder_refuses_invalid),
		cmocka_unit_test(test_size_limits),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
