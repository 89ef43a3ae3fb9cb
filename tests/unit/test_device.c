// SPDX-License-Identifier: MIT
/*
 * The WireGuard device end to end, in memory: two devices whose "network"
 * is a queue in this file and whose TUNs are capture arrays. Real noise,
 * real crypto, real timers glue; only the wires are simulated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/keys.h"
#include "wg/cookie.h"
#include "wg/device.h"
#include "wg/wg_proto.h"

enum { QMAX = 4096, MSGMAX = 2048 };

struct wire_msg {
	int to; /* node index */
	struct ip_endpoint from;
	uint32_t len;
	uint8_t data[MSGMAX];
};

struct node {
	struct wg_device *dev;
	struct ip_endpoint ep;
	uint8_t priv[32], pub[32];
	struct wg_peer *peer; /* the other node */
	/* TUN capture */
	unsigned tun_count;
	uint8_t last_tun[MSGMAX];
	uint32_t last_tun_len;
	/* the last data message sent, for replay tests */
	uint8_t last_data[MSGMAX];
	uint32_t last_data_len;
};

static struct node nodes[2];
static struct wire_msg *queue;
static unsigned qhead, qtail;
static uv_loop_t loop;
static bool drop_wire; /* lose everything sent */

static int node_of(const struct ip_endpoint *ep)
{
	for (int i = 0; i < 2; i++)
		if (ep->port == nodes[i].ep.port && ip_addr_equal(&ep->addr, &nodes[i].ep.addr))
			return i;
	return -1;
}

static unsigned net_send(void *ctx, struct pktbuf *const *bufs, unsigned n)
{
	struct node *self = ctx;

	for (unsigned i = 0; i < n; i++) {
		int to = node_of(&bufs[i]->endpoint);
		struct wire_msg *m;

		assert_true(bufs[i]->len <= MSGMAX);
		if (bufs[i]->len >= 4 && bufs[i]->data[0] == MESSAGE_DATA) {
			memcpy(self->last_data, bufs[i]->data, bufs[i]->len);
			self->last_data_len = bufs[i]->len;
		}
		if (to < 0 || drop_wire || qtail - qhead >= QMAX)
			continue;
		m = &queue[qtail++ % QMAX];
		m->to = to;
		m->from = self->ep;
		m->len = bufs[i]->len;
		memcpy(m->data, bufs[i]->data, bufs[i]->len);
	}
	return n;
}

static void tun_write(void *ctx, struct pktbuf *const *bufs, unsigned n)
{
	struct node *self = ctx;

	for (unsigned i = 0; i < n; i++) {
		self->tun_count++;
		memcpy(self->last_tun, bufs[i]->data, bufs[i]->len);
		self->last_tun_len = bufs[i]->len;
	}
}

static const struct wg_net_ops net_ops = {.send = net_send};
static const struct wg_tun_ops tun_ops = {.write = tun_write};

static void deliver_raw(int to, const struct ip_endpoint *from, const uint8_t *data, size_t len)
{
	struct pktbuf *b = pktbuf_get(wg_device_pool(nodes[to].dev));

	assert_non_null(b);
	memcpy(b->data, data, len);
	b->len = (uint32_t)len;
	b->endpoint = *from;
	wg_device_net_input(nodes[to].dev, &b, 1);
}

/* Deliver everything in flight, including what the deliveries cause. */
static void pump(void)
{
	while (qhead != qtail) {
		struct wire_msg *m = &queue[qhead++ % QMAX];

		deliver_raw(m->to, &m->from, m->data, m->len);
	}
}

/* An IPv4/UDP-ish packet from 10.0.0.<src> to 10.0.0.<dst> with @payload_len bytes. */
static size_t make_ip(uint8_t *p, uint8_t src, uint8_t dst, size_t payload_len)
{
	size_t total = 20 + payload_len;

	memset(p, 0, total);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[8] = 64;
	p[9] = 17;
	p[12] = 10, p[15] = src;
	p[16] = 10, p[19] = dst;
	for (size_t i = 20; i < total; i++)
		p[i] = (uint8_t)(i * 7);
	return total;
}

static void tun_send(int from, const uint8_t *pkt, size_t len)
{
	struct pktbuf *b = pktbuf_get(wg_device_pool(nodes[from].dev));

	assert_non_null(b);
	memcpy(b->data, pkt, len);
	b->len = (uint32_t)len;
	wg_device_tun_input(nodes[from].dev, &b, 1);
}

static void add_prefix(struct wg_peer *peer, const char *s)
{
	struct ip_prefix p;

	assert_int_equal(ip_prefix_parse(&p, s, NULL), 0);
	assert_int_equal(wg_peer_add_allowed_ip(peer, &p), 0);
}

static int setup(void **state)
{
	const char *eps[2] = {"192.0.2.1:1001", "192.0.2.2:1002"};
	const char *allowed[2] = {"10.0.0.2/32", "10.0.0.1/32"};

	(void)state;
	queue = calloc(QMAX, sizeof(*queue));
	assert_non_null(queue);
	qhead = qtail = 0;
	drop_wire = false;
	assert_int_equal(uv_loop_init(&loop), 0);
	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ip_endpoint_parse(&nodes[i].ep, eps[i], NULL), 0);
		key_generate_private(nodes[i].priv);
		assert_int_equal(key_public_from_private(nodes[i].pub, nodes[i].priv), 0);
		assert_int_equal(wg_device_create(&nodes[i].dev, &loop, &net_ops, &nodes[i],
						  &tun_ops, &nodes[i]),
				 0);
		assert_int_equal(wg_device_set_private_key(nodes[i].dev, nodes[i].priv), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(wg_device_peer_create(nodes[i].dev, nodes[!i].pub, &nodes[i].peer),
				 0);
		add_prefix(nodes[i].peer, allowed[i]);
	}
	/* Only node 0 knows where node 1 is: node 1 learns it by roaming. */
	wg_peer_set_endpoint(nodes[0].peer, &nodes[1].ep);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		wg_device_destroy(nodes[i].dev);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	free(queue);
	return 0;
}

static void establish(void)
{
	uint8_t pkt[200];
	size_t len = make_ip(pkt, 1, 2, 100);

	tun_send(0, pkt, len);
	pump();
	assert_int_equal(nodes[1].tun_count, 1);
	assert_int_equal(nodes[1].last_tun_len, len);
	assert_memory_equal(nodes[1].last_tun, pkt, len);
}

static void test_handshake_and_data_both_ways(void **state)
{
	struct wg_peer_stats st;
	struct ip_endpoint ep;
	uint8_t pkt[1500];
	size_t len;

	(void)state;
	establish();
	/* Node 1 learned node 0's endpoint from authenticated packets. */
	assert_true(wg_peer_get_endpoint(nodes[1].peer, &ep));
	assert_int_equal(node_of(&ep), 0);
	/* Back the other way, several sizes (padding, no padding, MTU-sized). */
	for (size_t sz = 0; sz <= 1400; sz += 97) {
		unsigned before = nodes[0].tun_count;

		len = make_ip(pkt, 2, 1, sz);
		tun_send(1, pkt, len);
		pump();
		assert_int_equal(nodes[0].tun_count, before + 1);
		assert_int_equal(nodes[0].last_tun_len, len);
		assert_memory_equal(nodes[0].last_tun, pkt, len);
	}
	for (int i = 0; i < 2; i++) {
		wg_peer_get_stats(nodes[i].peer, &st);
		assert_true(st.rx_bytes > 0 && st.tx_bytes > 0);
		assert_true(st.last_handshake_sec > 0);
	}
}

static void test_cryptokey_routing(void **state)
{
	struct wg_device_stats st;
	uint8_t pkt[200];
	size_t len;

	(void)state;
	establish();
	/* No peer for 10.0.0.99: dropped at the sender. */
	len = make_ip(pkt, 1, 99, 10);
	tun_send(0, pkt, len);
	wg_device_get_stats(nodes[0].dev, &st);
	assert_int_equal(st.drop_no_peer, 1);
	/* A spoofed inner source: authenticated, but not node 0's address. */
	len = make_ip(pkt, 77, 2, 10);
	tun_send(0, pkt, len);
	pump();
	wg_device_get_stats(nodes[1].dev, &st);
	assert_int_equal(st.drop_allowed_ips, 1);
	assert_int_equal(nodes[1].tun_count, 1);
}

static void test_replay_dropped(void **state)
{
	struct wg_device_stats st;

	(void)state;
	establish();
	assert_true(nodes[0].last_data_len > 0);
	deliver_raw(1, &nodes[0].ep, nodes[0].last_data, nodes[0].last_data_len);
	wg_device_get_stats(nodes[1].dev, &st);
	assert_int_equal(st.drop_replay, 1);
	assert_int_equal(nodes[1].tun_count, 1);
}

static void test_malformed_dropped(void **state)
{
	static const size_t lens[] = {0,  1,  3,  4,  31,  32,	33,  63,  64,
				      65, 91, 92, 93, 147, 148, 149, 1500};
	struct wg_device_stats st;
	uint8_t junk[1500];
	uint64_t rx;

	(void)state;
	establish();
	wg_device_get_stats(nodes[1].dev, &st);
	rx = st.rx_packets;
	for (int type = 0; type < 8; type++) {
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			randombytes_buf(junk, sizeof(junk));
			junk[0] = (uint8_t)type;
			junk[1] = junk[2] = junk[3] = 0;
			deliver_raw(1, &nodes[0].ep, junk, lens[i]);
			/* Non-zero reserved bytes are never a valid message. */
			junk[2] = 1;
			deliver_raw(1, &nodes[0].ep, junk, lens[i]);
		}
	}
	pump();
	wg_device_get_stats(nodes[1].dev, &st);
	assert_int_equal(st.rx_packets - rx, 8 * 2 * sizeof(lens) / sizeof(lens[0]));
	assert_int_equal(nodes[1].tun_count, 1);
	/* Every one of them was counted as some kind of drop. */
	assert_true(st.drop_malformed + st.drop_mac + st.drop_no_keypair + st.drop_decrypt >=
		    8 * 2 * sizeof(lens) / sizeof(lens[0]));
	/* And the session still works. */
	{
		uint8_t pkt[100];
		size_t len = make_ip(pkt, 1, 2, 50);

		tun_send(0, pkt, len);
		pump();
		assert_int_equal(nodes[1].tun_count, 2);
	}
}

/*
 * A flood of initiations with a valid mac1 (anyone who knows our public key
 * can make those) puts the device under load: it answers with cookie replies
 * instead of doing DH, and the established session keeps working.
 */
static void test_initiation_flood_cookies(void **state)
{
	struct cookie_maker maker;
	struct wg_device_stats st;
	struct ip_endpoint attacker;
	uint8_t msg[MESSAGE_INITIATION_LEN], pkt[100];
	size_t len;

	(void)state;
	establish();
	assert_int_equal(ip_endpoint_parse(&attacker, "198.51.100.7:4444", NULL), 0);
	cookie_maker_init(&maker, nodes[1].pub);
	for (int i = 0; i < 10000; i++) {
		randombytes_buf(msg, sizeof(msg));
		msg[0] = MESSAGE_HANDSHAKE_INITIATION;
		msg[1] = msg[2] = msg[3] = 0;
		cookie_add_mac_to_packet(&maker, msg, sizeof(msg), 0);
		deliver_raw(1, &attacker, msg, sizeof(msg));
	}
	qhead = qtail; /* cookie replies to the attacker go nowhere */
	wg_device_get_stats(nodes[1].dev, &st);
	assert_true(st.cookie_replies_sent > 5000);
	assert_true(st.drop_handshake + st.drop_mac >= 10000);
	len = make_ip(pkt, 1, 2, 50);
	tun_send(0, pkt, len);
	pump();
	assert_int_equal(nodes[1].tun_count, 2);
	cookie_maker_wipe(&maker);
}

static void test_wrong_key_no_session(void **state)
{
	uint8_t other_priv[32], other_pub[32], pkt[100];
	struct wg_device_stats st;
	size_t len;

	(void)state;
	/* Node 1 expects someone else: node 0's initiation is for an unknown peer. */
	key_generate_private(other_priv);
	assert_int_equal(key_public_from_private(other_pub, other_priv), 0);
	wg_peer_remove(nodes[1].peer);
	assert_int_equal(wg_device_peer_create(nodes[1].dev, other_pub, &nodes[1].peer), 0);
	add_prefix(nodes[1].peer, "10.0.0.1/32");
	len = make_ip(pkt, 1, 2, 50);
	tun_send(0, pkt, len);
	pump();
	wg_device_get_stats(nodes[1].dev, &st);
	assert_int_equal(st.drop_handshake, 1);
	assert_int_equal(nodes[1].tun_count, 0);
	sodium_memzero(other_priv, sizeof(other_priv));
}

static void test_preshared_key(void **state)
{
	uint8_t psk[32], psk2[32], pkt[100];
	size_t len;

	(void)state;
	randombytes_buf(psk, sizeof(psk));
	memcpy(psk2, psk, 32);
	psk2[0] ^= 1;
	wg_peer_set_preshared_key(nodes[0].peer, psk);
	wg_peer_set_preshared_key(nodes[1].peer, psk2);
	len = make_ip(pkt, 1, 2, 50);
	tun_send(0, pkt, len);
	pump();
	assert_int_equal(nodes[1].tun_count, 0); /* mismatched PSK: no session */
	wg_peer_set_preshared_key(nodes[1].peer, psk);
	/* The sender rate limit holds the next initiation for REKEY_TIMEOUT: a new peer resets it. */
	wg_peer_remove(nodes[0].peer);
	assert_int_equal(wg_device_peer_create(nodes[0].dev, nodes[1].pub, &nodes[0].peer), 0);
	add_prefix(nodes[0].peer, "10.0.0.2/32");
	wg_peer_set_endpoint(nodes[0].peer, &nodes[1].ep);
	wg_peer_set_preshared_key(nodes[0].peer, psk);
	/*
	 * The responder accepts only strictly newer timestamps, 20 ms apart at
	 * least, and TAI64N is whitened to ~16.8 ms: let the clock move on.
	 */
	usleep(40 * 1000);
	tun_send(0, pkt, len);
	pump();
	assert_int_equal(nodes[1].tun_count, 1);
}

static void test_private_key_change_resets(void **state)
{
	uint8_t pkt[100];
	size_t len;

	(void)state;
	establish();
	/* Our own public key as a peer is refused (removed), like wg does. */
	assert_int_equal(wg_device_set_private_key(nodes[0].dev, nodes[1].priv), 0);
	assert_int_equal(wg_device_peer_count(nodes[0].dev), 0);
	len = make_ip(pkt, 1, 2, 50);
	tun_send(0, pkt, len);
	pump();
	assert_int_equal(nodes[1].tun_count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake_and_data_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cryptokey_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initiation_flood_cookies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key_no_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preshared_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_key_change_resets, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
