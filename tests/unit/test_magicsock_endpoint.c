// SPDX-License-Identifier: MIT
/*
 * The per-peer path state machine, driven with a fake clock and fake sends:
 * first packets through the relay while every candidate is pinged and a
 * call-me-maybe goes out; a pong makes the path direct within the trust
 * window; heartbeats keep it; their loss falls back to the relay within
 * 6.5 s and recovery returns to direct; betterAddr scoring and hysteresis;
 * pings, pongs and call-me-maybe from the peer, replays, CLI pings, limits;
 * and a randomized run against a naive model of "which addresses answered".
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

#include "magicsock/endpoint.h"
#include "util/log.h"

#define SEC  (1000 * 1000ull)
#define MSEC 1000ull
#define T0   (1000 * SEC)

enum { MAX_SENT = 4096, MAX_RESULTS = 16 };

struct sent {
	bool relay;
	struct ip_endpoint dst;
	struct disco_msg msg;
};

struct harness {
	struct ms_endpoint ep;
	struct sent sent[MAX_SENT];
	unsigned int nsent;
	struct ip_endpoint local[2];
	unsigned int nlocal;
	uint32_t counter;
	int fail_udp, fail_relay;
	struct {
		void *cookie;
		struct ms_ping_result r;
	} results[MAX_RESULTS];
	unsigned int nresults;
};

static struct harness *H;

static int fake_send_udp(void *ctx, struct ms_endpoint *ep, const struct ip_endpoint *dst,
			 struct disco_msg *msg)
{
	struct harness *h = ctx;

	assert_ptr_equal(ep, &h->ep);
	if (h->fail_udp)
		return h->fail_udp;
	assert_true(h->nsent < MAX_SENT);
	h->sent[h->nsent].relay = false;
	h->sent[h->nsent].dst = *dst;
	h->sent[h->nsent++].msg = *msg;
	return 0;
}

static int fake_send_relay(void *ctx, struct ms_endpoint *ep, struct disco_msg *msg)
{
	struct harness *h = ctx;

	assert_ptr_equal(ep, &h->ep);
	if (h->fail_relay)
		return h->fail_relay;
	assert_true(h->nsent < MAX_SENT);
	memset(&h->sent[h->nsent].dst, 0, sizeof(h->sent[0].dst));
	h->sent[h->nsent].relay = true;
	h->sent[h->nsent++].msg = *msg;
	return 0;
}

static unsigned int fake_local(void *ctx, struct ip_endpoint *out, unsigned int max)
{
	struct harness *h = ctx;
	unsigned int n = h->nlocal < max ? h->nlocal : max;

	memcpy(out, h->local, n * sizeof(out[0]));
	return n;
}

static void fake_random(void *ctx, uint8_t *buf, size_t len)
{
	struct harness *h = ctx;

	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(h->counter >> (8 * (i % 4)));
	h->counter++;
}

static void fake_result(void *ctx, struct ms_endpoint *ep, void *cookie,
			const struct ms_ping_result *r)
{
	struct harness *h = ctx;

	assert_ptr_equal(ep, &h->ep);
	assert_true(h->nresults < MAX_RESULTS);
	h->results[h->nresults].cookie = cookie;
	h->results[h->nresults++].r = *r;
}

static const struct ms_endpoint_ops fake_ops = {
	.send_udp = fake_send_udp,
	.send_relay = fake_send_relay,
	.local_endpoints = fake_local,
	.random = fake_random,
	.ping_result = fake_result,
};

static struct ip_endpoint EP(const char *s) {
	struct ip_endpoint e;

	assert_int_equal(ip_endpoint_parse(&e, s, NULL), 0);
	return e;
}

static bool
ep_eq(const struct ip_endpoint *a, const struct ip_endpoint *b)
{
	return a->port == b->port && ip_addr_equal(&a->addr, &b->addr);
}

static bool is_addr(const struct ip_endpoint *a, const char *s)
{
	struct ip_endpoint b = EP(s);

	return ep_eq(a, &b);
}

static void setup_peer(struct harness *h, bool disco, const char *const *cands, size_t n)
{
	static const uint8_t key[32] = {0xab, 0xcd};
	struct ip_endpoint eps[64];

	memset(h, 0, sizeof(*h));
	H = h;
	h->counter = 1;
	h->local[0] = EP("198.51.100.1:41641");
	h->local[1] = EP("10.1.0.2:41641");
	h->nlocal = 2;
	ms_endpoint_init(&h->ep, &fake_ops, h, key, disco);
	for (size_t i = 0; i < n; i++)
		eps[i] = EP(cands[i]);
	ms_endpoint_set_candidates(&h->ep, T0 - SEC, eps, n);
}

/* How many UDP pings to @dst (NULL: any) and relay messages of @type are in sent[from..]. */
static unsigned int count(const struct harness *h, unsigned int from, int type, bool relay,
			  const char *dst)
{
	struct ip_endpoint d;
	unsigned int n = 0;

	if (dst)
		d = EP(dst);
	for (unsigned int i = from; i < h->nsent; i++) {
		const struct sent *s = &h->sent[i];

		if (s->msg.type != type || s->relay != relay)
			continue;
		if (dst && !ep_eq(&s->dst, &d))
			continue;
		n++;
	}
	return n;
}

/* The last ping sent to @dst (NULL: through the relay). */
static const struct sent *last_ping(const struct harness *h, const char *dst)
{
	struct ip_endpoint d;

	if (dst)
		d = EP(dst);
	for (unsigned int i = h->nsent; i-- > 0;) {
		const struct sent *s = &h->sent[i];

		if (s->msg.type != DISCO_PING || s->relay != !dst)
			continue;
		if (!dst || ep_eq(&s->dst, &d))
			return s;
	}
	return NULL;
}

static int pong(struct harness *h, const struct sent *ping, uint64_t now)
{
	struct disco_msg m = {.type = DISCO_PONG};

	assert_non_null(ping);
	memcpy(m.txid, ping->msg.txid, sizeof(m.txid));
	m.src = EP("198.51.100.1:41641");
	return ms_endpoint_handle_pong(&h->ep, now, ping->relay ? NULL : &ping->dst, &m);
}

static const char *const two_cands[] = {"192.0.2.10:41641", "10.0.0.5:41641"};

static void test_first_packets_via_relay_and_probe(void **state)
{
	struct harness h;
	struct ip_endpoint dst;
	unsigned int cmm = MAX_SENT;

	(void)state;
	setup_peer(&h, true, two_cands, 2);
	assert_int_equal(ms_endpoint_send(&h.ep, T0, &dst), MS_SEND_RELAY);
	assert_int_equal(count(&h, 0, DISCO_PING, false, "192.0.2.10:41641"), 1);
	assert_int_equal(count(&h, 0, DISCO_PING, false, "10.0.0.5:41641"), 1);
	assert_int_equal(count(&h, 0, DISCO_CALL_ME_MAYBE, true, NULL), 1);
	for (unsigned int i = 0; i < h.nsent; i++)
		if (h.sent[i].msg.type == DISCO_CALL_ME_MAYBE)
			cmm = i;
	assert_true(cmm < h.nsent);
	assert_int_equal(h.sent[cmm].msg.n_endpoints, 2);
	assert_true(ep_eq(&h.sent[cmm].msg.endpoints[0], &h.local[0]));
	assert_int_equal(h.ep.stats.call_me_maybe_sent, 1);
	/* Rate limited: nothing new for the next packets. */
	h.nsent = 0;
	for (uint64_t t = T0 + 100 * MSEC; t < T0 + 5 * SEC; t += 100 * MSEC)
		assert_int_equal(ms_endpoint_send(&h.ep, t, &dst), MS_SEND_RELAY);
	assert_int_equal(h.nsent, 0);
	/* A ping interval later both are pinged again, with another call-me-maybe. */
	assert_int_equal(ms_endpoint_send(&h.ep, T0 + 5 * SEC, &dst), MS_SEND_RELAY);
	assert_int_equal(count(&h, 0, DISCO_PING, false, NULL), 2);
	assert_int_equal(count(&h, 0, DISCO_CALL_ME_MAYBE, true, NULL), 1);
}

static void test_pong_makes_direct_within_trust_window(void **state)
{
	struct harness h;
	struct ip_endpoint dst;
	struct ms_endpoint_path path;
	uint64_t t_pong = T0 + 20 * MSEC;

	(void)state;
	setup_peer(&h, true, two_cands, 2);
	ms_endpoint_send(&h.ep, T0, &dst);
	ms_endpoint_get_path(&h.ep, T0, &path);
	assert_int_equal(path.path, MS_PATH_RELAY);
	assert_int_equal(pong(&h, last_ping(&h, "192.0.2.10:41641"), t_pong), 0);
	ms_endpoint_get_path(&h.ep, t_pong, &path);
	assert_int_equal(path.path, MS_PATH_DIRECT);
	assert_true(is_addr(&path.addr, "192.0.2.10:41641"));
	assert_int_equal(path.latency_us, 20 * MSEC);
	assert_int_equal(ms_endpoint_send(&h.ep, t_pong + MSEC, &dst), MS_SEND_UDP);
	assert_true(ep_eq(&dst, &path.addr));
	/* Trusted until exactly 6.5 s after the pong; then the relay carries packets too. */
	assert_int_equal(ms_endpoint_send(&h.ep, t_pong + MS_TRUST_UDP_US - 1, &dst), MS_SEND_UDP);
	assert_int_equal(ms_endpoint_send(&h.ep, t_pong + MS_TRUST_UDP_US, &dst),
			 MS_SEND_UDP | MS_SEND_RELAY);
	ms_endpoint_get_path(&h.ep, t_pong + MS_TRUST_UDP_US, &path);
	assert_int_equal(path.path, MS_PATH_RELAY);
}

/* A network where each address either answers after @lat or not at all. */
struct net {
	const char *addr[4];
	bool works[4];
	uint64_t lat[4];
	uint64_t last_pong[4];
	unsigned int n;
};

/* Answer the UDP pings sent since @from: a pong @lat later for working addresses. */
static void answer(struct harness *h, struct net *net, unsigned int from, uint64_t now)
{
	unsigned int end = h->nsent;

	for (unsigned int i = from; i < end; i++) {
		const struct sent *s = &h->sent[i];

		if (s->relay || s->msg.type != DISCO_PING)
			continue;
		for (unsigned int k = 0; k < net->n; k++) {
			struct ip_endpoint a = EP(net->addr[k]);

			if (!ep_eq(&a, &s->dst) || !net->works[k])
				continue;
			if (pong(h, s, now + net->lat[k]) == 0)
				net->last_pong[k] = now + net->lat[k];
		}
	}
}

/* Send a packet every @step from @t to @end, running timers and the network. Returns the flags
 * of the last send; *@first_relay / *@first_direct get the first time each was seen (or 0). */
static unsigned int run(struct harness *h, struct net *net, uint64_t t, uint64_t end, uint64_t step,
			uint64_t *first_relay, uint64_t *first_direct)
{
	struct ip_endpoint dst;
	unsigned int flags = 0;

	for (; t < end; t += step) {
		unsigned int from = h->nsent;
		uint64_t due = ms_endpoint_deadline(&h->ep);

		if (due && due <= t)
			ms_endpoint_tick(&h->ep, t);
		flags = ms_endpoint_send(&h->ep, t, &dst);
		if (first_relay && !*first_relay && (flags & MS_SEND_RELAY))
			*first_relay = t;
		if (first_direct && !*first_direct && flags == MS_SEND_UDP)
			*first_direct = t;
		answer(h, net, from, t);
		if (h->nsent > MAX_SENT - 64)
			h->nsent = 0;
	}
	return flags;
}

static void test_heartbeat_loss_and_recovery(void **state)
{
	struct harness h;
	struct net net = {
		.addr = {"192.0.2.10:41641"}, .works = {true}, .lat = {10 * MSEC}, .n = 1};
	const char *const cand[] = {"192.0.2.10:41641"};
	uint64_t relay_at = 0, direct_at = 0, dead = T0 + 60 * SEC, alive;

	(void)state;
	setup_peer(&h, true, cand, 1);
	/* Direct after the first round trip, and it stays direct for a minute of traffic. */
	run(&h, &net, T0, T0 + 100 * MSEC, 10 * MSEC, NULL, &direct_at);
	assert_true(direct_at && direct_at <= T0 + 20 * MSEC);
	assert_int_equal(run(&h, &net, T0 + 100 * MSEC, dead, 100 * MSEC, &relay_at, NULL),
			 MS_SEND_UDP);
	assert_int_equal(relay_at, 0);
	assert_true(h.ep.stats.pings_sent >= 19); /* heartbeats every 3 s */
	/* The path dies: the relay takes over within the trust window (<= 6.5 s). */
	net.works[0] = false;
	run(&h, &net, dead, dead + 20 * SEC, 100 * MSEC, &relay_at, NULL);
	assert_true(relay_at > dead + 3 * SEC);
	assert_true(relay_at <= dead + MS_TRUST_UDP_US + 100 * MSEC);
	/* It comes back: direct again at the next heartbeat or probe. */
	alive = dead + 20 * SEC;
	net.works[0] = true;
	direct_at = 0;
	assert_int_equal(run(&h, &net, alive, alive + 10 * SEC, 100 * MSEC, NULL, &direct_at),
			 MS_SEND_UDP);
	assert_true(direct_at && direct_at <= alive + MS_HEARTBEAT_INTERVAL_US + 200 * MSEC);
}

static void test_idle_stops_heartbeats(void **state)
{
	struct harness h;
	struct ip_endpoint dst;
	uint64_t t;

	(void)state;
	setup_peer(&h, true, two_cands, 2);
	ms_endpoint_send(&h.ep, T0, &dst);
	assert_int_equal(ms_endpoint_deadline(&h.ep), T0 + MS_HEARTBEAT_INTERVAL_US);
	for (t = T0; ms_endpoint_deadline(&h.ep);) {
		t = ms_endpoint_deadline(&h.ep);
		ms_endpoint_tick(&h.ep, t);
	}
	/* Heartbeats ran for the session timeout, then stopped. */
	assert_true(t >= T0 + MS_SESSION_ACTIVE_US);
	assert_true(t < T0 + MS_SESSION_ACTIVE_US + MS_HEARTBEAT_INTERVAL_US);
	/* The next packet starts them again. */
	ms_endpoint_send(&h.ep, t + SEC, &dst);
	assert_int_equal(ms_endpoint_deadline(&h.ep), t + SEC + MS_HEARTBEAT_INTERVAL_US);
}

static struct ms_addr_quality Q(const char *addr, uint32_t latency_us) {
	struct ms_addr_quality q = {.latency_us = latency_us};

	if (addr)
		q.addr = EP(addr);
	return q;
}

static void
test_better_addr(void **state)
{
	struct {
		struct ms_addr_quality a, b;
		bool want;
	} cases[] = {
		{Q("192.0.2.1:1", 10000), Q(NULL, 0), true},		   /* anything beats none */
		{Q(NULL, 0), Q("192.0.2.1:1", 10000), false},		   /* none beats nothing */
		{Q("192.0.2.1:1", 1000), Q("192.0.2.1:1", 9000), false},   /* same address */
		{Q("192.0.2.1:1", 10000), Q("192.0.2.2:1", 20000), true},  /* 50% faster */
		{Q("192.0.2.2:1", 20000), Q("192.0.2.1:1", 10000), false}, /* slower */
		{Q("192.0.2.1:1", 19900), Q("192.0.2.2:1", 20000), false}, /* 0.5%: hysteresis */
		{Q("192.0.2.1:1", 19000), Q("192.0.2.2:1", 20000), true},  /* 5% */
		{Q("10.0.0.1:1", 10000), Q("192.0.2.2:1", 11000), true},   /* private +20 */
		{Q("10.0.0.1:1", 2000), Q("192.0.2.2:1", 1000), false},	   /* 50 points > 20 */
		{Q("127.0.0.1:1", 10000), Q("10.0.0.1:1", 10000), true},   /* loopback +50 */
		{Q("[2001:db8::1]:1", 10000), Q("192.0.2.1:1", 10000), true}, /* IPv6 +10 */
		{Q("192.0.2.1:1", 10000), Q("[2001:db8::1]:1", 10000), false},
		{Q("[fe80::1]:1", 10000), Q("[2001:db8::1]:1", 10000), true}, /* link-local +30 */
		{Q("169.254.0.1:1", 10000), Q("192.0.2.1:1", 10000), true},
		{Q("[fd00::1]:1", 10000), Q("[2001:db8::1]:1", 10000), true}, /* ULA is private */
		{Q("192.0.2.1:1", 0), Q("192.0.2.2:1", 10000), false}, /* no latency: a tie */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (ms_better_addr(&cases[i].a, &cases[i].b) != cases[i].want)
			fail_msg("case %zu: want %d", i, cases[i].want);
	}
}

/* Properties over random pairs: irreflexive and never "both better". */
static void test_better_addr_properties(void **state)
{
	static const char *const addrs[] = {
		"192.0.2.1:1",	   "192.0.2.1:2", "10.0.0.1:1",	 "127.0.0.1:1",	 "169.254.1.1:1",
		"[2001:db8::1]:1", "[fd00::5]:7", "[fe80::1]:1", "172.16.0.1:9", "192.168.1.1:1"};
	uint32_t seed = 12345;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		struct ms_addr_quality a, b;

		seed = seed * 1103515245 + 12345;
		a = Q(addrs[(seed >> 8) % 10], (seed >> 4) % 50000);
		seed = seed * 1103515245 + 12345;
		b = Q(addrs[(seed >> 8) % 10], (seed >> 4) % 50000);
		assert_false(ms_better_addr(&a, &a));
		assert_false(ms_better_addr(&a, &b) && ms_better_addr(&b, &a));
	}
}

static void test_better_path_switch_and_hysteresis(void **state)
{
	const char *const cands[] = {"192.0.2.10:41641", "10.0.0.5:41641"};
	struct harness h;
	struct ip_endpoint dst;
	struct ms_endpoint_path path;

	(void)state;
	setup_peer(&h, true, cands, 2);
	ms_endpoint_send(&h.ep, T0, &dst);
	/* The public address answers first and becomes the path... */
	assert_int_equal(pong(&h, last_ping(&h, "192.0.2.10:41641"), T0 + 30 * MSEC), 0);
	ms_endpoint_get_path(&h.ep, T0 + 30 * MSEC, &path);
	assert_true(is_addr(&path.addr, "192.0.2.10:41641"));
	/* ...until the LAN address answers faster. */
	assert_int_equal(pong(&h, last_ping(&h, "10.0.0.5:41641"), T0 + 31 * MSEC), 0);
	ms_endpoint_get_path(&h.ep, T0 + 31 * MSEC, &path);
	assert_int_equal(path.path, MS_PATH_DIRECT);
	assert_true(is_addr(&path.addr, "10.0.0.5:41641"));
	assert_int_equal(h.ep.stats.path_changes, 2);
	/* The heartbeat goes to the LAN address; a re-probe of the public one does not win. */
	h.nsent = 0;
	ms_endpoint_tick(&h.ep, T0 + MS_HEARTBEAT_INTERVAL_US);
	assert_int_equal(count(&h, 0, DISCO_PING, false, "10.0.0.5:41641"), 1);
	assert_int_equal(count(&h, 0, DISCO_PING, false, "192.0.2.10:41641"), 0);
	assert_int_equal(
		pong(&h, last_ping(&h, "10.0.0.5:41641"), T0 + MS_HEARTBEAT_INTERVAL_US + 2 * MSEC),
		0);
	ms_endpoint_get_path(&h.ep, T0 + 4 * SEC, &path);
	assert_true(is_addr(&path.addr, "10.0.0.5:41641"));
	assert_int_equal(path.latency_us, 2 * MSEC);
}

static void test_ping_from_peer(void **state)
{
	struct harness h;
	struct disco_msg ping = {.type = DISCO_PING};
	struct ip_endpoint src = EP("198.51.100.7:5000");
	const struct sent *s;
	struct sent back;

	(void)state;
	setup_peer(&h, true, two_cands, 2);
	memset(ping.txid, 0x42, sizeof(ping.txid));
	assert_int_equal(ms_endpoint_handle_ping(&h.ep, T0, &src, &ping), 0);
	/* A pong to the source, telling it how it looked to us... */
	assert_int_equal(count(&h, 0, DISCO_PONG, false, "198.51.100.7:5000"), 1);
	s = &h.sent[0];
	assert_memory_equal(s->msg.txid, ping.txid, sizeof(ping.txid));
	assert_true(ep_eq(&s->msg.src, &src));
	/* ...the source learned as a candidate and pinged back: its NAT is open now. */
	assert_int_equal(h.ep.ncands, 3);
	assert_int_equal(count(&h, 0, DISCO_PING, false, "198.51.100.7:5000"), 1);
	back = *last_ping(&h, "198.51.100.7:5000");
	/* The same txid again is a replay: dropped, nothing sent. */
	h.nsent = 0;
	assert_int_equal(ms_endpoint_handle_ping(&h.ep, T0 + MSEC, &src, &ping), -EALREADY);
	assert_int_equal(h.nsent, 0);
	assert_int_equal(h.ep.stats.ping_replayed, 1);
	/* Through the relay: the pong goes back through the relay, nothing is learned. */
	ping.txid[0] = 1;
	assert_int_equal(ms_endpoint_handle_ping(&h.ep, T0 + 2 * MSEC, NULL, &ping), 0);
	assert_int_equal(count(&h, 0, DISCO_PONG, true, NULL), 1);
	assert_int_equal(h.ep.ncands, 3);
	/* The ping-back's pong makes that address the path; later pings are only answered. */
	assert_int_equal(pong(&h, &back, T0 + 10 * MSEC), 0);
	h.nsent = 0;
	ping.txid[0] = 2;
	src = EP("203.0.113.9:1234");
	assert_int_equal(ms_endpoint_handle_ping(&h.ep, T0 + 11 * MSEC, &src, &ping), 0);
	assert_int_equal(count(&h, 0, DISCO_PONG, false, "203.0.113.9:1234"), 1);
	assert_int_equal(count(&h, 0, DISCO_PING, false, NULL), 0);
}

static void test_call_me_maybe(void **state)
{
	const char *const cands[] = {"192.0.2.10:41641"};
	struct harness h;
	struct ip_endpoint dst;
	struct disco_msg cmm = {.type = DISCO_CALL_ME_MAYBE, .n_endpoints = 4};

	(void)state;
	setup_peer(&h, true, cands, 1);
	ms_endpoint_send(&h.ep, T0, &dst);
	cmm.endpoints[0] = EP("203.0.113.5:41641");
	cmm.endpoints[1] = EP("10.9.0.2:41641");
	cmm.endpoints[2] = EP("[fe80::1]:41641"); /* link-local: unusable */
	cmm.endpoints[3] = EP("192.0.2.10:41641");
	h.nsent = 0;
	ms_endpoint_handle_call_me_maybe(&h.ep, T0 + SEC, &cmm);
	/* Everything is pinged at once, the address pinged a second ago included. */
	assert_int_equal(count(&h, 0, DISCO_PING, false, "192.0.2.10:41641"), 1);
	assert_int_equal(count(&h, 0, DISCO_PING, false, "203.0.113.5:41641"), 1);
	assert_int_equal(count(&h, 0, DISCO_PING, false, "10.9.0.2:41641"), 1);
	assert_int_equal(count(&h, 0, DISCO_PING, false, NULL), 3);
	assert_int_equal(count(&h, 0, DISCO_CALL_ME_MAYBE, true, NULL), 0);
	assert_int_equal(h.ep.ncands, 3);
	/* A newer list replaces it: gone addresses go, netmap ones stay. */
	cmm.n_endpoints = 1;
	cmm.endpoints[0] = EP("10.9.0.2:41641");
	ms_endpoint_handle_call_me_maybe(&h.ep, T0 + 2 * SEC, &cmm);
	assert_int_equal(h.ep.ncands, 2);
	assert_int_equal(h.ep.stats.call_me_maybe_received, 2);
	/* A peer without a disco key is never probed, whatever it sends. */
	setup_peer(&h, false, cands, 1);
	ms_endpoint_handle_call_me_maybe(&h.ep, T0, &cmm);
	assert_int_equal(h.nsent, 0);
}

static void test_pong_unknown_and_replayed(void **state)
{
	struct harness h;
	struct ip_endpoint dst;
	struct disco_msg m = {.type = DISCO_PONG};
	const struct sent *s;

	(void)state;
	setup_peer(&h, true, two_cands, 2);
	memset(m.txid, 0x77, sizeof(m.txid));
	assert_int_equal(ms_endpoint_handle_pong(&h.ep, T0, NULL, &m), -ENOENT);
	ms_endpoint_send(&h.ep, T0, &dst);
	s = last_ping(&h, "192.0.2.10:41641");
	assert_int_equal(pong(&h, s, T0 + MSEC), 0);
	assert_int_equal(pong(&h, s, T0 + 2 * MSEC), -ENOENT);
	assert_int_equal(h.ep.stats.pong_unknown, 2);
	/* A pong after the ping timed out is unknown too. */
	s = last_ping(&h, "10.0.0.5:41641");
	ms_endpoint_tick(&h.ep, T0 + MS_PING_TIMEOUT_US);
	assert_int_equal(pong(&h, s, T0 + MS_PING_TIMEOUT_US + 1), -ENOENT);
}

static void test_cli_ping(void **state)
{
	struct harness h;
	int cookie1, cookie2, cookie3, cookie4;

	(void)state;
	setup_peer(&h, true, two_cands, 2);
	/* No direct path yet: through the relay, and the candidates are probed. */
	assert_int_equal(ms_endpoint_cli_ping(&h.ep, T0, &cookie1), 0);
	assert_int_equal(count(&h, 0, DISCO_PING, true, NULL), 1);
	assert_int_equal(count(&h, 0, DISCO_PING, false, NULL), 2);
	assert_int_equal(h.nresults, 0);
	assert_int_equal(ms_endpoint_deadline(&h.ep), T0 + MS_PING_TIMEOUT_US);
	assert_int_equal(pong(&h, last_ping(&h, NULL), T0 + 40 * MSEC), 0);
	assert_int_equal(h.nresults, 1);
	assert_ptr_equal(h.results[0].cookie, &cookie1);
	assert_int_equal(h.results[0].r.err, 0);
	assert_false(h.results[0].r.direct);
	assert_int_equal(h.results[0].r.latency_us, 40 * MSEC);
	/* A candidate answers: the next CLI ping goes there and says so. */
	assert_int_equal(pong(&h, last_ping(&h, "192.0.2.10:41641"), T0 + 41 * MSEC), 0);
	h.nsent = 0;
	assert_int_equal(ms_endpoint_cli_ping(&h.ep, T0 + SEC, &cookie2), 0);
	assert_int_equal(count(&h, 0, DISCO_PING, false, "192.0.2.10:41641"), 1);
	assert_int_equal(count(&h, 0, DISCO_PING, true, NULL), 0);
	assert_int_equal(pong(&h, last_ping(&h, "192.0.2.10:41641"), T0 + SEC + 3 * MSEC), 0);
	assert_int_equal(h.nresults, 2);
	assert_true(h.results[1].r.direct);
	assert_true(is_addr(&h.results[1].r.endpoint, "192.0.2.10:41641"));
	assert_int_equal(h.results[1].r.latency_us, 3 * MSEC);
	/* No answer: a timeout after 5 s, from the timer. */
	assert_int_equal(ms_endpoint_cli_ping(&h.ep, T0 + 2 * SEC, &cookie3), 0);
	ms_endpoint_tick(&h.ep, T0 + 2 * SEC + MS_PING_TIMEOUT_US - 1);
	assert_int_equal(h.nresults, 2);
	ms_endpoint_tick(&h.ep, T0 + 2 * SEC + MS_PING_TIMEOUT_US);
	assert_int_equal(h.nresults, 3);
	assert_int_equal(h.results[2].r.err, -ETIMEDOUT);
	/* Going away cancels. */
	assert_int_equal(ms_endpoint_cli_ping(&h.ep, T0 + 8 * SEC, &cookie4), 0);
	ms_endpoint_fini(&h.ep);
	assert_int_equal(h.nresults, 4);
	assert_ptr_equal(h.results[3].cookie, &cookie4);
	assert_int_equal(h.results[3].r.err, -ECANCELED);
	/* A send that fails is reported at once, with no result later. */
	setup_peer(&h, true, two_cands, 2);
	h.fail_relay = -ENOTCONN;
	assert_int_equal(ms_endpoint_cli_ping(&h.ep, T0, &cookie1), -ENOTCONN);
	ms_endpoint_tick(&h.ep, T0 + 10 * SEC);
	assert_int_equal(h.nresults, 0);
	/* Without a disco key there is nothing to ping with. */
	setup_peer(&h, false, two_cands, 2);
	assert_int_equal(ms_endpoint_cli_ping(&h.ep, T0, &cookie1), -ENOTCONN);
}

static void test_no_disco_always_relay(void **state)
{
	struct harness h;
	struct ip_endpoint dst;

	(void)state;
	setup_peer(&h, false, two_cands, 2);
	for (uint64_t t = T0; t < T0 + 20 * SEC; t += 500 * MSEC) {
		assert_int_equal(ms_endpoint_send(&h.ep, t, &dst), MS_SEND_RELAY);
		if (ms_endpoint_deadline(&h.ep) && ms_endpoint_deadline(&h.ep) <= t)
			ms_endpoint_tick(&h.ep, t);
	}
	assert_int_equal(h.nsent, 0);
	assert_int_equal(ms_endpoint_deadline(&h.ep), 0);
}

static void test_candidate_limits(void **state)
{
	struct harness h;
	struct ip_endpoint eps[40];
	struct disco_msg ping = {.type = DISCO_PING};
	char buf[32];

	(void)state;
	setup_peer(&h, true, NULL, 0);
	for (int i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "192.0.2.%d:%d", i + 1, 1000 + i);
		eps[i] = EP(buf);
	}
	/* Bad entries are skipped, the netmap gets at most its share. */
	eps[0].port = 0;
	memset(&eps[1], 0, sizeof(eps[1]));
	ms_endpoint_set_candidates(&h.ep, T0, eps, 40);
	assert_int_equal(h.ep.ncands, MS_MAX_NETMAP_CANDIDATES);
	for (unsigned int i = 0; i < h.ep.ncands; i++)
		assert_int_not_equal(h.ep.cands[i].addr.port, 0);
	/* Learned addresses fill the rest; the oldest learned one makes room. */
	for (int i = 0; i < 20; i++) {
		struct ip_endpoint src;

		snprintf(buf, sizeof(buf), "203.0.113.%d:9", i + 1);
		src = EP(buf);
		ping.txid[0] = (uint8_t)i;
		ping.txid[1] = 0x55;
		assert_int_equal(
			ms_endpoint_handle_ping(&h.ep, T0 + (uint64_t)i * MSEC, &src, &ping), 0);
	}
	assert_int_equal(h.ep.ncands, MS_MAX_CANDIDATES);
	for (unsigned int i = 0; i < h.ep.ncands; i++) {
		struct ip_endpoint first = EP("203.0.113.1:9");

		assert_false(ep_eq(&h.ep.cands[i].addr, &first));
	}
	/* Learned ones expire after a session timeout; netmap ones stay. */
	ms_endpoint_tick(&h.ep, T0 + MS_SESSION_ACTIVE_US + SEC);
	assert_int_equal(h.ep.ncands, MS_MAX_NETMAP_CANDIDATES);
	/* The same netmap twice changes nothing. */
	ms_endpoint_set_candidates(&h.ep, T0, eps, 40);
	ms_endpoint_set_candidates(&h.ep, T0, eps, 40);
	assert_int_equal(h.ep.ncands, MS_MAX_NETMAP_CANDIDATES);
	ms_endpoint_set_candidates(&h.ep, T0, NULL, 0);
	assert_int_equal(h.ep.ncands, 0);
}

static void test_stale_best_forgotten_and_network_change(void **state)
{
	const char *const cand[] = {"192.0.2.10:41641"};
	struct harness h;
	struct ip_endpoint dst;
	uint64_t t = T0 + 20 * MSEC;

	(void)state;
	setup_peer(&h, true, cand, 1);
	ms_endpoint_send(&h.ep, T0, &dst);
	assert_int_equal(pong(&h, last_ping(&h, "192.0.2.10:41641"), t), 0);
	assert_int_equal(ms_endpoint_send(&h.ep, t, &dst), MS_SEND_UDP);
	/* Our network changes: distrust at once and probe again right away. */
	h.nsent = 0;
	ms_endpoint_network_changed(&h.ep, t + SEC);
	assert_int_equal(ms_endpoint_send(&h.ep, t + SEC, &dst), MS_SEND_UDP | MS_SEND_RELAY);
	assert_int_equal(count(&h, 0, DISCO_PING, false, "192.0.2.10:41641"), 1);
	assert_int_equal(count(&h, 0, DISCO_CALL_ME_MAYBE, true, NULL), 1);
	/* Untrusted a minute past the window: forgotten, the relay alone. */
	ms_endpoint_tick(&h.ep, t + MS_TRUST_UDP_US + MS_BEST_STALE_US);
	assert_int_equal(ms_endpoint_send(&h.ep, t + MS_TRUST_UDP_US + MS_BEST_STALE_US + 1, &dst),
			 MS_SEND_RELAY);
}

static void test_local_endpoints_changed(void **state)
{
	struct harness h;
	struct ip_endpoint dst;
	struct sent ping;

	(void)state;
	setup_peer(&h, true, two_cands, 2);
	/* Idle: nothing to tell. */
	ms_endpoint_local_endpoints_changed(&h.ep, T0);
	assert_int_equal(h.nsent, 0);
	ms_endpoint_send(&h.ep, T0, &dst);
	ping = *last_ping(&h, "192.0.2.10:41641");
	h.nsent = 0;
	ms_endpoint_local_endpoints_changed(&h.ep, T0 + SEC);
	assert_int_equal(count(&h, 0, DISCO_CALL_ME_MAYBE, true, NULL), 1);
	/* With a trusted path the peer has what it needs. */
	assert_int_equal(pong(&h, &ping, T0 + 2 * SEC), 0);
	h.nsent = 0;
	ms_endpoint_local_endpoints_changed(&h.ep, T0 + 3 * SEC);
	assert_int_equal(h.nsent, 0);
}

/*
 * Random networks, compared with a naive model: a packet may go over UDP
 * alone only to an address that answered a ping within the trust window, and
 * while some address answers, the relay never carries packets for longer
 * than a ping interval (plus a step and a round trip).
 */
static void test_model_random(void **state)
{
	static const char *const addrs[] = {"192.0.2.10:41641", "10.0.0.5:41641",
					    "[2001:db8::5]:41641"};
	struct harness h;
	struct net net = {.n = 3};
	uint64_t works_since[3], t, streak = 0;
	uint32_t seed = 42;

	(void)state;
	setup_peer(&h, true, addrs, 3);
	for (unsigned int k = 0; k < 3; k++) {
		net.addr[k] = addrs[k];
		net.lat[k] = (k + 1) * 7 * MSEC;
		works_since[k] = T0;
	}
	enum { LIVENESS = MS_PING_INTERVAL_US + 500 * MSEC };

	for (t = T0; t < T0 + 3600 * SEC; t += 50 * MSEC) {
		struct ip_endpoint dst;
		unsigned int from = h.nsent, flags;
		uint64_t due = ms_endpoint_deadline(&h.ep);

		for (unsigned int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			if ((seed >> 16) % 400 == 0) {
				net.works[k] = !net.works[k];
				works_since[k] = t;
			}
		}
		if (due && due <= t)
			ms_endpoint_tick(&h.ep, t);
		flags = ms_endpoint_send(&h.ep, t, &dst);
		if (flags == MS_SEND_UDP) {
			bool ok = false;

			for (unsigned int k = 0; k < 3; k++) {
				struct ip_endpoint a = EP(addrs[k]);

				if (ep_eq(&a, &dst) && net.last_pong[k] &&
				    t - net.last_pong[k] < MS_TRUST_UDP_US)
					ok = true;
			}
			if (!ok)
				fail_msg("UDP alone to an address not heard from, t=%llu",
					 (unsigned long long)(t - T0));
		}
		if (flags == MS_SEND_UDP)
			streak = 0;
		else if (!streak)
			streak = t;
		for (unsigned int k = 0; k < 3 && streak; k++)
			if (net.works[k] && t - streak > LIVENESS && t - works_since[k] > LIVENESS)
				fail_msg(
					"%s answers but the relay has carried packets since t=%llu "
					"(now %llu)",
					addrs[k], (unsigned long long)(streak - T0),
					(unsigned long long)(t - T0));
		answer(&h, &net, from, t);
		if (h.nsent > MAX_SENT - 64)
			h.nsent = 0;
	}
	assert_true(h.ep.stats.path_changes > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_packets_via_relay_and_probe),
		cmocka_unit_test(test_pong_makes_direct_within_trust_window),
		cmocka_unit_test(test_heartbeat_loss_and_recovery),
		cmocka_unit_test(test_idle_stops_heartbeats),
		cmocka_unit_test(test_better_addr),
		cmocka_unit_test(test_better_addr_properties),
		cmocka_unit_test(test_better_path_switch_and_hysteresis),
		cmocka_unit_test(test_ping_from_peer),
		cmocka_unit_test(test_call_me_maybe),
		cmocka_unit_test(test_pong_unknown_and_replayed),
		cmocka_unit_test(test_cli_ping),
		cmocka_unit_test(test_no_disco_always_relay),
		cmocka_unit_test(test_candidate_limits),
		cmocka_unit_test(test_stale_best_forgotten_and_network_change),
		cmocka_unit_test(test_local_endpoints_changed),
		cmocka_unit_test(test_model_random),
	};

	log_set_level(LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
