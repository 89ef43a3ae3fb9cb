// SPDX-License-Identifier: MIT
/*
 * magicsock in one process: two WireGuard devices on magicsocks, a real
 * relay server and STUN server, all on loopback inside a fresh network
 * namespace (so the only interface is lo and nothing leaves it; skipped
 * when namespaces are not available). Traffic flows through the relay at
 * once, moves to the direct path once disco keys are known, `ping` and
 * netcheck report what happened; garbage, truncated, forged, replayed and
 * misrouted datagrams are dropped and counted. Demultiplexing and the
 * pseudo-endpoints are checked on their own.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <uv.h>

#include "control/msg.h"
#include "magicsock/disco.h"
#include "magicsock/magicsock.h"
#include "magicsock/stun.h"
#include "net/http_server.h"
#include "relay/relay_client.h"
#include "relay/relay_server.h"
#include "relay/stun_server.h"
#include "util/log.h"
#include "wg/device.h"

enum { REGION = 900 };

struct node {
	uint8_t priv[32], pub[32], dpriv[32], dpub[32];
	struct magicsock *ms;
	struct wg_device *dev;
	struct wg_peer *peer;
	unsigned int tun_rx, rx_relay, rx_direct, changes;
};

static uv_loop_t loop;
static struct node nodes[2];
static struct relay_server *relay;
static struct http_server *http;
static struct stun_server *stun;
static uint16_t relay_port, stun_port;
static bool have_netns;

/* ---- pure parts ---- */

static void test_classify(void **state)
{
	uint8_t buf[256] = {0}, shared[32], pub[32], priv[32];
	struct disco_msg m = {.type = DISCO_PING};
	size_t n;

	(void)state;
	for (uint8_t t = 1; t <= 4; t++) {
		buf[0] = t;
		assert_int_equal(magicsock_classify(buf, 148), MAGICSOCK_PACKET_WIREGUARD);
	}
	buf[0] = 5;
	assert_int_equal(magicsock_classify(buf, 148), MAGICSOCK_PACKET_UNKNOWN);
	buf[0] = 1, buf[1] = 1; /* reserved bytes must be zero */
	assert_int_equal(magicsock_classify(buf, 148), MAGICSOCK_PACKET_UNKNOWN);
	assert_int_equal(magicsock_classify(buf, 0), MAGICSOCK_PACKET_UNKNOWN);
	assert_int_equal(magicsock_classify(NULL, 0), MAGICSOCK_PACKET_UNKNOWN);
	/* STUN request and success (0x0101 starts like a WireGuard type 1). */
	n = stun_build_binding_request(buf, sizeof(buf), (const uint8_t *)"abcdefghijkl", true);
	assert_int_equal(magicsock_classify(buf, n), MAGICSOCK_PACKET_STUN);
	n = stun_build_binding_response(
		buf, sizeof(buf), (const uint8_t *)"abcdefghijkl",
		&(struct ip_endpoint){.addr = {.family = IP_FAMILY_V4, .bytes = {1, 2, 3, 4}},
				      .port = 5},
		NULL);
	assert_int_equal(buf[0], 1);
	assert_int_equal(magicsock_classify(buf, n), MAGICSOCK_PACKET_STUN);
	assert_int_equal(magicsock_classify(buf, n - 4), MAGICSOCK_PACKET_UNKNOWN);
	/* Disco; truncated below its minimum it is nothing. */
	crypto_box_keypair(pub, priv);
	assert_int_equal(disco_shared_key(shared, priv, pub), 0);
	n = disco_seal(buf, sizeof(buf), pub, shared, &m);
	assert_true(n > 0);
	assert_int_equal(magicsock_classify(buf, n), MAGICSOCK_PACKET_DISCO);
	assert_int_equal(magicsock_classify(buf, DISCO_HEADER_LEN), MAGICSOCK_PACKET_UNKNOWN);
	/* Random bytes: whatever they are called, the matching check agrees. */
	for (int i = 0; i < 100000; i++) {
		size_t len = randombytes_uniform(sizeof(buf) + 1);
		enum magicsock_packet_kind k;

		randombytes_buf(buf, len);
		if (i % 4 == 0 && len >= 4)
			buf[0] = (uint8_t)(1 + i % 4), buf[1] = buf[2] = buf[3] = 0;
		k = magicsock_classify(buf, len);
		if (k == MAGICSOCK_PACKET_DISCO)
			assert_true(disco_is_message(buf, len));
		if (k == MAGICSOCK_PACKET_STUN)
			assert_true(stun_is_message(buf, len));
		if (k == MAGICSOCK_PACKET_WIREGUARD)
			assert_true(len >= 4 && buf[0] >= 1 && buf[0] <= 4);
	}
}

static void test_pseudo_endpoint_names(void **state)
{
	struct ip_endpoint e;

	(void)state;
	assert_int_equal(ip_endpoint_parse(&e, "[100::6d73:0:0:7]:1", NULL), 0);
	assert_true(magicsock_is_pseudo_endpoint(&e));
	assert_int_equal(ip_endpoint_parse(&e, "[100::1]:1", NULL), 0);
	assert_false(magicsock_is_pseudo_endpoint(&e));
	assert_int_equal(ip_endpoint_parse(&e, "127.3.3.40:900", NULL), 0);
	assert_false(magicsock_is_pseudo_endpoint(&e));
	assert_string_equal(magicsock_path_name(MAGICSOCK_PATH_DIRECT), "direct");
	assert_string_equal(magicsock_path_name(MAGICSOCK_PATH_RELAY), "relay");
	assert_null(magicsock_path_name(MAGICSOCK_PATH_NONE));
}

/* ---- the in-process network ---- */

static int lo_up(void)
{
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		ret = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!ret && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void sink_input(void *ctx, struct pktbuf **bufs, unsigned int n)
{
	struct node *nd = ctx;

	for (unsigned int i = 0; i < n; i++) {
		if (magicsock_is_pseudo_endpoint(&bufs[i]->endpoint))
			nd->rx_relay++;
		else
			nd->rx_direct++;
	}
	wg_device_net_input(nd->dev, bufs, n);
}

static void tun_write(void *ctx, struct pktbuf *const *bufs, unsigned int n)
{
	struct node *nd = ctx;

	(void)bufs;
	nd->tun_rx += n;
}

static const struct wg_tun_ops tun_ops = {.write = tun_write};

static void on_change(struct magicsock *ms, void *arg)
{
	struct node *nd = arg;

	(void)ms;
	nd->changes++;
}

static void wake(uv_timer_t *t)
{
	(void)t;
}

/* Run the loop until @cond holds or @ms milliseconds pass; returns @cond's last value. */
static bool run_until(bool (*cond)(void), unsigned int ms)
{
	uv_timer_t tick;
	uint64_t end;
	bool ok;

	uv_update_time(&loop);
	end = uv_now(&loop) + ms;
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, wake, 5, 5);
	while (!(ok = cond()) && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	return ok;
}

static void build_map(struct ctl_relay_map *map, struct ctl_relay_region *region,
		      struct ctl_relay_node *node)
{
	static char code[] = "home", name[] = "900a", host[] = "localhost";

	memset(node, 0, sizeof(*node));
	node->name = name;
	node->host_name = host;
	node->has_ipv4 = true;
	node->ipv4 = (struct ip_addr){.family = IP_FAMILY_V4, .bytes = {127, 0, 0, 1}};
	node->stun_port = stun_port;
	node->relay_port = relay_port;
	*region = (struct ctl_relay_region){
		.region_id = REGION, .region_code = code, .nodes = node, .nnodes = 1};
	*map = (struct ctl_relay_map){.regions = region, .nregions = 1};
}

static void set_peer(int i, bool disco)
{
	struct node *self = &nodes[i], *other = &nodes[!i];
	struct magicsock_peer p = {
		.node_key = other->pub,
		.disco_key = disco ? other->dpub : NULL,
		.home_region = REGION,
	};

	assert_int_equal(magicsock_upsert_peer(self->ms, &p), 0);
}

static int setup(void **state)
{
	struct relay_server_config rcfg = {.keepalive_ms = 60000};
	struct ctl_relay_map map;
	struct ctl_relay_region region;
	struct ctl_relay_node node;

	(void)state;
	if (!have_netns)
		return 0;
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(relay_server_new(&relay, &loop, &rcfg), 0);
	assert_int_equal(http_server_new(&http, &loop, NULL), 0);
	assert_int_equal(http_server_route(http, "GET", RELAY_HTTP_PATH, HTTP_MATCH_EXACT,
					   relay_server_http_handler, relay),
			 0);
	assert_int_equal(http_server_listen(http, "127.0.0.1:0", NULL, &relay_port), 0);
	assert_int_equal(stun_server_new(&stun, &loop, "127.0.0.1:0", &stun_port), 0);
	build_map(&map, &region, &node);
	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < 2; i++) {
		struct node *nd = &nodes[i];
		struct magicsock_config cfg = {
			.node_private_key = nd->priv,
			.disco_private_key = nd->dpriv,
			.on_change = on_change,
			.arg = nd,
		};
		struct magicsock_sink sink = {.input = sink_input, .ctx = nd};

		crypto_box_keypair(nd->pub, nd->priv);
		crypto_box_keypair(nd->dpub, nd->dpriv);
		assert_int_equal(magicsock_new(&nd->ms, &loop, &cfg), 0);
		assert_int_equal(magicsock_port(nd->ms), 0); /* no sink yet: unbound */
		assert_int_equal(
			wg_device_create(&nd->dev, &loop, &magicsock_net_ops, nd->ms, &tun_ops, nd),
			0);
		sink.pool = wg_device_pool(nd->dev);
		assert_int_equal(magicsock_set_sink(nd->ms, &sink), 0);
		assert_int_equal(wg_device_set_listen_port(nd->dev, 0), 0);
		assert_int_not_equal(magicsock_port(nd->ms), 0);
		assert_int_equal(wg_device_get_listen_port(nd->dev), magicsock_port(nd->ms));
		assert_int_equal(wg_device_set_private_key(nd->dev, nd->priv), 0);
		assert_int_equal(magicsock_set_relay_map(nd->ms, &map), 0);
		wg_device_set_up(nd->dev, true);
	}
	for (int i = 0; i < 2; i++) {
		struct node *nd = &nodes[i];
		struct ip_prefix pfx = {.addr = {.family = IP_FAMILY_V4, .bytes = {10, 99, 0, 1}},
					.bits = 32};
		struct ip_endpoint pseudo;

		pfx.addr.bytes[3] = (uint8_t)(2 - i);
		set_peer(i, false);
		assert_int_equal(wg_device_peer_create(nd->dev, nodes[!i].pub, &nd->peer), 0);
		assert_int_equal(wg_peer_add_allowed_ip(nd->peer, &pfx), 0);
		assert_int_equal(magicsock_peer_pseudo_endpoint(nd->ms, nodes[!i].pub, &pseudo), 0);
		assert_true(magicsock_is_pseudo_endpoint(&pseudo));
		wg_peer_set_endpoint(nd->peer, &pseudo);
	}
	return 0;
}

static void closed(void *arg)
{
	(void)arg;
}

static int teardown(void **state)
{
	(void)state;
	if (!have_netns)
		return 0;
	for (int i = 0; i < 2; i++) {
		magicsock_free(nodes[i].ms);
		wg_device_destroy(nodes[i].dev);
	}
	http_server_close(http, closed, NULL);
	relay_server_close(relay, 0, 0, closed, NULL);
	stun_server_close(stun, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	return 0;
}

static void send_packet(int from)
{
	struct pktbuf *b = pktbuf_get(wg_device_pool(nodes[from].dev));
	uint8_t *p;

	assert_non_null(b);
	p = b->data;
	memset(p, 0, 64);
	p[0] = 0x45;
	p[3] = 64;
	p[8] = 64;
	p[9] = 17;
	p[12] = 10, p[13] = 99, p[15] = (uint8_t)(from + 1);
	p[16] = 10, p[17] = 99, p[19] = (uint8_t)(2 - from);
	b->len = 64;
	wg_device_tun_input(nodes[from].dev, &b, 1);
}

static bool both_have_home(void)
{
	return magicsock_home_region(nodes[0].ms) == REGION &&
	       magicsock_home_region(nodes[1].ms) == REGION;
}

static unsigned int want_rx;

static bool b_received(void)
{
	return nodes[1].tun_rx >= want_rx;
}

static bool direct_both_ways(void)
{
	struct magicsock_path_info a, b;

	send_packet(0);
	send_packet(1);
	assert_int_equal(magicsock_peer_path(nodes[0].ms, nodes[1].pub, &a), 0);
	assert_int_equal(magicsock_peer_path(nodes[1].ms, nodes[0].pub, &b), 0);
	return a.path == MAGICSOCK_PATH_DIRECT && b.path == MAGICSOCK_PATH_DIRECT;
}

static struct magicsock_ping_result ping_res;
static unsigned int ping_count;

static void on_ping(void *arg, const struct magicsock_ping_result *r)
{
	assert_ptr_equal(arg, &ping_res);
	ping_res = *r;
	ping_count++;
}

static bool pinged(void)
{
	return ping_count > 0;
}

static struct netcheck_report nc_res;
static unsigned int nc_count;

static void on_netcheck(void *arg, const struct netcheck_report *r)
{
	(void)arg;
	nc_res = *r;
	nc_count++;
}

static bool netchecked(void)
{
	return nc_count > 0;
}

static void test_relay_then_direct(void **state)
{
	struct magicsock_path_info path;
	struct magicsock_stats st;
	struct ip_endpoint eps[8], me;
	unsigned int n;

	(void)state;
	if (!have_netns)
		skip();
	assert_true(run_until(both_have_home, 5000));
	assert_true(nodes[0].changes > 0);
	/* Without disco keys: the relay, at once. */
	assert_int_equal(magicsock_peer_path(nodes[0].ms, nodes[1].pub, &path), 0);
	assert_int_equal(path.path, MAGICSOCK_PATH_RELAY);
	assert_int_equal(path.region_id, REGION);
	assert_string_equal(path.region_code, "home");
	/*
	 * The peer's own relay connection may still be coming up (the relay then
	 * drops what it cannot deliver, as WireGuard would retry): resend until it
	 * arrives, as the engine's handshake retransmits do.
	 */
	want_rx = 1;
	for (int i = 0; i < 50 && !b_received(); i++) {
		send_packet(0);
		run_until(b_received, 200);
	}
	assert_true(b_received());
	assert_true(nodes[1].rx_relay >= 1);
	assert_int_equal(nodes[1].rx_direct, 0);
	assert_int_equal(magicsock_ping(nodes[0].ms, nodes[1].pub, on_ping, &ping_res), -ENOTCONN);
	/* Disco keys arrive (a netmap update, no endpoints): call-me-maybe finds the way. */
	set_peer(0, true);
	set_peer(1, true);
	assert_true(run_until(direct_both_ways, 10000));
	assert_int_equal(magicsock_peer_path(nodes[0].ms, nodes[1].pub, &path), 0);
	me = (struct ip_endpoint){.addr = {.family = IP_FAMILY_V4, .bytes = {127, 0, 0, 1}},
				  .port = magicsock_port(nodes[1].ms)};
	assert_int_equal(path.endpoint.port, me.port);
	assert_true(ip_addr_equal(&path.endpoint.addr, &me.addr));
	assert_true(path.latency_us > 0);
	want_rx = nodes[1].tun_rx + 1;
	nodes[1].rx_direct = 0;
	send_packet(0);
	assert_true(run_until(b_received, 6000));
	assert_true(nodes[1].rx_direct > 0);
	/* `ping` says how: directly now. */
	assert_int_equal(magicsock_ping(nodes[0].ms, nodes[1].pub, on_ping, &ping_res), 0);
	assert_int_equal(ping_count, 0); /* never from inside the call */
	assert_true(run_until(pinged, 10000));
	assert_int_equal(ping_res.err, 0);
	assert_true(ping_res.direct);
	assert_int_equal(ping_res.endpoint.port, me.port);
	assert_int_equal(magicsock_ping(nodes[0].ms, nodes[0].pub, on_ping, &ping_res), -ENOENT);
	/* netcheck: UDP works, we are 127.0.0.1:port to the STUN server, home is 900. */
	assert_int_equal(magicsock_netcheck(nodes[0].ms, on_netcheck, NULL), 0);
	assert_int_equal(nc_count, 0);
	assert_true(run_until(netchecked, 15000));
	assert_true(nc_res.udp);
	assert_true(nc_res.has_global_v4);
	assert_int_equal(nc_res.global_v4.port, magicsock_port(nodes[0].ms));
	assert_int_equal(nc_res.preferred_region, REGION);
	assert_int_equal(nc_res.nregions, 1);
	assert_string_equal(nc_res.regions[0].code, "home");
	assert_true(nc_res.regions[0].latency_us > 0);
	assert_non_null(magicsock_last_report(nodes[0].ms));
	/* Our endpoints: the STUN address (lo is not an endpoint). */
	n = magicsock_local_endpoints(nodes[0].ms, eps, 8);
	assert_int_equal(n, 1);
	assert_int_equal(eps[0].port, magicsock_port(nodes[0].ms));
	magicsock_get_stats(nodes[0].ms, &st);
	assert_true(st.tx_relay_wireguard > 0);
	assert_true(st.tx_udp_wireguard > 0);
	assert_true(st.rx_disco > 0);
	assert_true(st.rx_stun > 0);
	assert_int_equal(st.drop_disco_bad, 0);
	assert_int_equal(st.drop_unknown, 0);
}

/* ---- bad input ---- */

static int raw_fd = -1;

static void raw_send(const uint8_t *buf, size_t len)
{
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(magicsock_port(nodes[0].ms)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	assert_int_equal(sendto(raw_fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)len);
}

static struct magicsock_stats stats_now;
static uint64_t *watch_counter;
static uint64_t watch_want;

static bool counter_reached(void)
{
	magicsock_get_stats(nodes[0].ms, &stats_now);
	return *watch_counter >= watch_want;
}

/* Send @buf to node 0 and wait for the counter at @offset in its stats to grow by one. */
static void expect_drop(const uint8_t *buf, size_t len, size_t offset, const char *what)
{
	magicsock_get_stats(nodes[0].ms, &stats_now);
	watch_counter = (uint64_t *)((uint8_t *)&stats_now + offset);
	watch_want = *watch_counter + 1;
	raw_send(buf, len);
	if (!run_until(counter_reached, 6000))
		fail_msg("%s was not counted", what);
}

#define EXPECT_DROP(buf, len, field) \
	expect_drop(buf, len, offsetof(struct magicsock_stats, field), #field)

static size_t seal_from_b(uint8_t *buf, size_t cap, const struct disco_msg *m)
{
	uint8_t shared[32];
	size_t n;

	assert_int_equal(disco_shared_key(shared, nodes[1].dpriv, nodes[0].dpub), 0);
	n = disco_seal(buf, cap, nodes[1].dpub, shared, m);
	assert_true(n > 0);
	return n;
}

static bool raw_readable(void)
{
	uint8_t b;

	return recv(raw_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

static struct relay_client *intruder;
static bool intruder_up;

static void on_intruder_state(struct relay_client *rc, bool connected, const char *why, void *arg)
{
	(void)rc;
	(void)why;
	(void)arg;
	intruder_up = connected;
}

static bool intruder_connected(void)
{
	return intruder_up;
}

static void test_bad_input(void **state)
{
	uint8_t buf[1024], other_pub[32], other_priv[32], shared[32];
	struct disco_msg m = {.type = DISCO_PING};
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct stun_message sm;
	char url[64];
	size_t n;

	(void)state;
	if (!have_netns)
		skip();
	set_peer(0, true);
	set_peer(1, true);
	raw_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(raw_fd >= 0);
	assert_int_equal(bind(raw_fd, (struct sockaddr *)&any, sizeof(any)), 0);
	/* Garbage, and a disco magic too short to be a message. */
	memset(buf, 0xee, sizeof(buf));
	EXPECT_DROP(buf, 100, drop_unknown);
	n = seal_from_b(buf, sizeof(buf), &m);
	EXPECT_DROP(buf, DISCO_HEADER_LEN + 3, drop_unknown);
	/* Sealed by a key that is nobody's. */
	crypto_box_keypair(other_pub, other_priv);
	assert_int_equal(disco_shared_key(shared, other_priv, nodes[0].dpub), 0);
	n = disco_seal(buf, sizeof(buf), other_pub, shared, &m);
	EXPECT_DROP(buf, n, drop_disco_unknown);
	/* Claiming B's disco key, sealed with another (a forged call-me-maybe). */
	m.type = DISCO_CALL_ME_MAYBE;
	m.n_endpoints = 1;
	assert_int_equal(ip_endpoint_parse(&m.endpoints[0], "127.0.0.1:9", NULL), 0);
	n = disco_seal(buf, sizeof(buf), nodes[1].dpub, shared, &m);
	EXPECT_DROP(buf, n, drop_disco_bad);
	/* A flipped byte, and truncation of a good message. */
	n = seal_from_b(buf, sizeof(buf), &m);
	buf[n - 1] ^= 1;
	EXPECT_DROP(buf, n, drop_disco_bad);
	n = seal_from_b(buf, sizeof(buf), &m);
	EXPECT_DROP(buf, n - 1, drop_disco_bad);
	/* A genuine call-me-maybe, but over UDP: only the relay may carry one. */
	EXPECT_DROP(buf, n, drop_disco_misrouted);
	/* A genuine ping naming another node key. */
	m = (struct disco_msg){.type = DISCO_PING, .txid = {9, 9, 9}};
	memcpy(m.node_key, other_pub, 32);
	n = seal_from_b(buf, sizeof(buf), &m);
	EXPECT_DROP(buf, n, drop_disco_misrouted);
	/* A genuine ping is answered, once: the replay is dropped. */
	memcpy(m.node_key, nodes[1].pub, 32);
	n = seal_from_b(buf, sizeof(buf), &m);
	raw_send(buf, n);
	assert_true(run_until(raw_readable, 6000));
	{
		uint8_t reply[512];
		ssize_t got = recv(raw_fd, reply, sizeof(reply), 0);
		struct disco_msg pong;

		assert_true(got > 0);
		assert_int_equal(magicsock_classify(reply, (size_t)got), MAGICSOCK_PACKET_DISCO);
		assert_memory_equal(disco_sender_key(reply), nodes[0].dpub, 32);
		assert_int_equal(disco_shared_key(shared, nodes[1].dpriv, nodes[0].dpub), 0);
		assert_int_equal(disco_open(reply, (size_t)got, shared, &pong), 0);
		assert_int_equal(pong.type, DISCO_PONG);
		assert_memory_equal(pong.txid, m.txid, DISCO_TXID_LEN);
		assert_int_equal(pong.src.addr.family, IP_FAMILY_V4);
	}
	EXPECT_DROP(buf, n, drop_disco_replayed);
	/* A pong nobody asked for. */
	m.type = DISCO_PONG;
	m.src = (struct ip_endpoint){.addr = {.family = IP_FAMILY_V4, .bytes = {127, 0, 0, 1}},
				     .port = 1};
	n = seal_from_b(buf, sizeof(buf), &m);
	EXPECT_DROP(buf, n, drop_disco_replayed);
	/* STUN: malformed, and a valid answer to a question we never asked. */
	n = stun_build_binding_response(buf, sizeof(buf), (const uint8_t *)"unsolicited!", &m.src,
					NULL);
	assert_int_equal(stun_parse(buf, n, &sm), 0);
	EXPECT_DROP(buf, n, drop_stun_unexpected);
	buf[STUN_HEADER_LEN + 1] = 0x20; /* attribute type: XOR-MAPPED, then a bad length */
	buf[STUN_HEADER_LEN + 3] = 0xff;
	EXPECT_DROP(buf, n, drop_stun_bad);
	close(raw_fd);
	raw_fd = -1;
	/* Through the relay from a key that is no peer's. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", relay_port);
	assert_int_equal(relay_client_new(&intruder, &loop,
					  &(struct relay_client_config){
						  .url = url,
						  .private_key = other_priv,
						  .on_state = on_intruder_state,
					  }),
			 0);
	assert_true(run_until(intruder_connected, 15000));
	magicsock_get_stats(nodes[0].ms, &stats_now);
	watch_counter = &stats_now.drop_relay_unknown;
	watch_want = stats_now.drop_relay_unknown + 1;
	assert_int_equal(relay_client_send(intruder, nodes[0].pub, buf, 100), 0);
	assert_true(run_until(counter_reached, 10000));
	relay_client_free(intruder);
	/* After all that the real peer still gets through. */
	want_rx = nodes[1].tun_rx + 1;
	send_packet(0);
	assert_true(run_until(b_received, 10000));
}

static void test_peer_set(void **state)
{
	struct ctl_node peers[3];
	struct ip_endpoint ep1, ep2, eps[2];
	uint8_t k3[32];

	(void)state;
	if (!have_netns)
		skip();
	randombytes_buf(k3, sizeof(k3));
	memset(peers, 0, sizeof(peers));
	assert_int_equal(ip_endpoint_parse(&eps[0], "127.0.0.1:4000", NULL), 0);
	eps[1] = eps[0];
	memcpy(peers[0].node_key, nodes[1].pub, 32);
	peers[0].has_disco_key = true;
	memcpy(peers[0].disco_key, nodes[1].dpub, 32);
	peers[0].endpoints = eps;
	peers[0].nendpoints = 2;
	peers[0].home_relay = REGION;
	memcpy(peers[1].node_key, k3, 32);
	peers[2] = peers[1];
	peers[2].node_key[0] ^= 1;
	peers[2].expired = true;
	assert_int_equal(magicsock_peer_pseudo_endpoint(nodes[0].ms, nodes[1].pub, &ep1), 0);
	/* Applying a netmap: the expired peer is left out; twice changes nothing. */
	assert_int_equal(magicsock_set_peers(nodes[0].ms, peers, 3), 0);
	assert_int_equal(magicsock_set_peers(nodes[0].ms, peers, 3), 0);
	assert_int_equal(magicsock_peer_pseudo_endpoint(nodes[0].ms, nodes[1].pub, &ep2), 0);
	assert_memory_equal(&ep1, &ep2, sizeof(ep1));
	assert_int_equal(magicsock_peer_pseudo_endpoint(nodes[0].ms, k3, &ep2), 0);
	assert_memory_not_equal(&ep1, &ep2, sizeof(ep1));
	assert_int_equal(magicsock_peer_pseudo_endpoint(nodes[0].ms, peers[2].node_key, &ep2),
			 -ENOENT);
	/* A peer without a disco key can only be relayed to. */
	assert_int_equal(magicsock_ping(nodes[0].ms, k3, on_ping, &ping_res), -ENOTCONN);
	/* Gone from the netmap: gone. */
	assert_int_equal(magicsock_set_peers(nodes[0].ms, peers, 1), 0);
	assert_int_equal(magicsock_peer_pseudo_endpoint(nodes[0].ms, k3, &ep2), -ENOENT);
	assert_int_equal(magicsock_remove_peer(nodes[0].ms, k3), -ENOENT);
	/* A removed peer's pings end with -ECANCELED, from the loop. */
	ping_count = 0;
	assert_int_equal(magicsock_ping(nodes[0].ms, nodes[1].pub, on_ping, &ping_res), 0);
	assert_int_equal(magicsock_remove_peer(nodes[0].ms, nodes[1].pub), 0);
	assert_int_equal(ping_count, 0);
	assert_true(run_until(pinged, 5000));
	assert_int_equal(ping_res.err, -ECANCELED);
	assert_int_equal(magicsock_set_peers(nodes[0].ms, NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_pseudo_endpoint_names),
		cmocka_unit_test_setup_teardown(test_relay_then_direct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_set, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_WARN);
	/* Loopback in a namespace of our own: nothing we send can leave this process's view. */
	have_netns = geteuid() == 0 && unshare(CLONE_NEWNET) == 0 && lo_up() == 0;
	if (!have_netns)
		fprintf(stderr, "no network namespace (not root?): socket tests skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
