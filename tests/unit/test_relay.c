// SPDX-License-Identifier: MIT
/*
 * The relay server and client over loopback in one libuv loop, behind the
 * real HTTP server's Upgrade: key proof (forged keys and replayed proofs
 * refused), forwarding by key, unknown destinations, PeerGone when a peer
 * leaves, a stuck receiver that neither slows the others nor grows its
 * queue past the bound and is finally cut off, garbage that closes only its
 * own connection, duplicate keys, the verify hook, keepalive and liveness,
 * ping, Restarting, the STUN server (RFC 5769 request, classic RFC 3489
 * requests, garbage, and a live UDP exchange) and the key map against a
 * naive model. Raw clients, written here on plain libuv TCP, send what the
 * real client never would.
 */
#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <sodium.h>
#include <uv.h>

#include "magicsock/stun.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/netbuf.h"
#include "relay/keymap.h"
#include "relay/relay_client.h"
#include "relay/relay_proto.h"
#include "relay/relay_server.h"
#include "relay/stun_server.h"
#include "util/compiler.h"
#include "util/ipaddr.h"

enum test_limits {
	WAIT_MS = 5000,
	MAX_RECORDED = 64,
	MAX_GONE = 16,
	POOL = 6, /* peers and raw clients per test */
};

struct peer;
struct raw;

struct harness {
	uv_loop_t loop;
	uv_timer_t tick; /* wakes uv_run(UV_RUN_ONCE) so conditions are re-checked */
	struct http_server *http;
	struct relay_server *relay;
	uint16_t port;
	char url[64];
	bool relay_closed, http_closed;
	/* verify hook */
	int verify_calls;
	bool verify_async;
	uint8_t deny_key[RELAY_KEY_LEN];
	struct relay_verify *pending_verify;
	/* Clients live here, not on a test's stack, so teardown can close them after a failure. */
	struct peer *peers;
	struct raw *raws;
};

/* A real client and what it saw. */
struct peer {
	struct relay_client *rc;
	uint8_t priv[RELAY_KEY_LEN], pub[RELAY_KEY_LEN];
	int ups, downs;
	char last_why[512];
	uint64_t recv_count;
	uint64_t recv_bytes;
	uint8_t last_src[RELAY_KEY_LEN];
	uint8_t last_data[2048];
	size_t last_len;
	uint32_t next_seq; /* packets carry a sequence number: order is checked */
	bool out_of_order;
	int gone_count;
	uint8_t gone_keys[MAX_GONE][RELAY_KEY_LEN];
	uint8_t gone_reasons[MAX_GONE];
	int pongs;
	uint8_t last_pong[RELAY_PING_LEN];
	char health[256];
};

/* A raw client on plain libuv TCP, speaking the protocol by hand. */
enum raw_mode {
	RAW_GOOD,	     /* a correct ClientInfo */
	RAW_WRONG_KEY,	     /* claims another key than it holds */
	RAW_WRONG_CHALLENGE, /* proof made for another connection */
	RAW_SILENT,	     /* sends no ClientInfo at all */
};

struct raw {
	uv_tcp_t tcp;
	uv_connect_t creq;
	enum raw_mode mode;
	uint8_t priv[RELAY_KEY_LEN], pub[RELAY_KEY_LEN], claim[RELAY_KEY_LEN];
	uint8_t server_pub[RELAY_KEY_LEN], challenge[RELAY_CHALLENGE_LEN];
	struct net_buf head;
	struct relay_reader reader;
	bool started, connected, upgraded, got_server_key, got_server_info, eof, closing, closed;
	bool stop_after_info; /* stop reading once admitted: a stuck receiver */
	int frames[256];      /* count per type */
	uint8_t last_info_frame[RELAY_CLIENT_INFO_FRAME_MAX];
	size_t last_info_len;
};

static struct harness *H;

static void raw_on_close(uv_handle_t *h);

#define WAIT_FOR(cond, ms)                                      \
	do {                                                    \
		uint64_t wait_end_ = uv_now(&H->loop) + (ms);   \
		while (!(cond) && uv_now(&H->loop) < wait_end_) \
			uv_run(&H->loop, UV_RUN_ONCE);          \
		assert_true(cond);                              \
	} while (0)

/* Run the loop for @ms whatever happens. */
static void run_for(unsigned int ms)
{
	uint64_t end = uv_now(&H->loop) + ms;

	while (uv_now(&H->loop) < end)
		uv_run(&H->loop, UV_RUN_ONCE);
}

static void on_tick(uv_timer_t *t)
{
	(void)t;
}

static void verify_hook(struct relay_verify *v, const uint8_t key[RELAY_KEY_LEN], const char *peer,
			void *arg)
{
	struct harness *h = arg;
	bool allow = memcmp(key, h->deny_key, RELAY_KEY_LEN) != 0;

	assert_non_null(peer);
	assert_true(strncmp(peer, "127.0.0.1:", 10) == 0);
	h->verify_calls++;
	if (h->verify_async) {
		assert_null(h->pending_verify);
		h->pending_verify = v;
		return;
	}
	relay_verify_done(v, allow);
}

static void start_harness(struct harness *h, const struct relay_server_config *cfg)
{
	assert_int_equal(relay_server_new(&h->relay, &h->loop, cfg), 0);
	assert_int_equal(http_server_new(&h->http, &h->loop, NULL), 0);
	assert_int_equal(http_server_route(h->http, "GET", RELAY_HTTP_PATH, HTTP_MATCH_EXACT,
					   relay_server_http_handler, h->relay),
			 0);
	assert_int_equal(http_server_listen(h->http, "127.0.0.1:0", NULL, &h->port), 0);
	snprintf(h->url, sizeof(h->url), "http://127.0.0.1:%u", h->port);
}

static int setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));

	if (!h || uv_loop_init(&h->loop))
		return -1;
	h->peers = calloc(POOL, sizeof(*h->peers));
	h->raws = calloc(POOL, sizeof(*h->raws));
	if (!h->peers || !h->raws)
		return -1;
	uv_timer_init(&h->loop, &h->tick);
	uv_timer_start(&h->tick, on_tick, 5, 5);
	H = h;
	*state = h;
	return 0;
}

static void on_relay_closed(void *arg)
{
	((struct harness *)arg)->relay_closed = true;
}

static void on_http_closed(void *arg)
{
	((struct harness *)arg)->http_closed = true;
}

static void stop_servers(struct harness *h)
{
	if (h->relay && !h->relay_closed) {
		relay_server_close(h->relay, 0, 0, on_relay_closed, h);
		WAIT_FOR(h->relay_closed, WAIT_MS);
	}
	if (h->http && !h->http_closed) {
		http_server_close(h->http, on_http_closed, h);
		WAIT_FOR(h->http_closed, WAIT_MS);
	}
}

static int teardown(void **state)
{
	struct harness *h = *state;

	if (h->pending_verify)
		relay_verify_done(h->pending_verify, false);
	for (int i = 0; i < POOL; i++) {
		if (h->peers[i].rc)
			relay_client_free(h->peers[i].rc);
		if (h->raws[i].started && !h->raws[i].closing) {
			h->raws[i].closing = true;
			uv_close((uv_handle_t *)&h->raws[i].tcp, raw_on_close);
		}
	}
	stop_servers(h);
	uv_close((uv_handle_t *)&h->tick, NULL);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&h->loop), 0);
	for (int i = 0; i < POOL; i++) {
		net_buf_free(&h->raws[i].head);
		relay_reader_free(&h->raws[i].reader);
	}
	free(h->peers);
	free(h->raws);
	free(h);
	H = NULL;
	return 0;
}

/* --- real clients --- */

static void peer_on_state(struct relay_client *rc, bool up, const char *why, void *arg)
{
	struct peer *p = arg;

	(void)rc;
	if (up)
		p->ups++;
	else
		p->downs++;
	snprintf(p->last_why, sizeof(p->last_why), "%s", why);
}

static void peer_on_recv(struct relay_client *rc, const uint8_t src[RELAY_KEY_LEN],
			 const uint8_t *data, size_t len, void *arg)
{
	struct peer *p = arg;
	uint32_t seq;

	(void)rc;
	p->recv_count++;
	p->recv_bytes += len;
	memcpy(p->last_src, src, RELAY_KEY_LEN);
	p->last_len = len < sizeof(p->last_data) ? len : sizeof(p->last_data);
	memcpy(p->last_data, data, p->last_len);
	if (len >= 4) {
		memcpy(&seq, data, 4);
		if (seq != p->next_seq)
			p->out_of_order = true;
		p->next_seq = seq + 1;
	}
}

static void peer_on_gone(struct relay_client *rc, const uint8_t key[RELAY_KEY_LEN], uint8_t reason,
			 void *arg)
{
	struct peer *p = arg;

	(void)rc;
	if (p->gone_count < MAX_GONE) {
		memcpy(p->gone_keys[p->gone_count], key, RELAY_KEY_LEN);
		p->gone_reasons[p->gone_count] = reason;
	}
	p->gone_count++;
}

static void peer_on_pong(struct relay_client *rc, const uint8_t data[RELAY_PING_LEN], void *arg)
{
	struct peer *p = arg;

	(void)rc;
	p->pongs++;
	memcpy(p->last_pong, data, RELAY_PING_LEN);
}

static void peer_on_health(struct relay_client *rc, const char *text, void *arg)
{
	struct peer *p = arg;

	(void)rc;
	snprintf(p->health, sizeof(p->health), "%s", text);
}

static void peer_start_cfg(struct peer *p, struct relay_client_config *cfg)
{
	cfg->url = H->url;
	cfg->private_key = p->priv;
	cfg->on_state = peer_on_state;
	cfg->on_recv = peer_on_recv;
	cfg->on_peer_gone = peer_on_gone;
	cfg->on_pong = peer_on_pong;
	cfg->on_health = peer_on_health;
	cfg->arg = p;
	if (!cfg->backoff_min_ms)
		cfg->backoff_min_ms = 20;
	assert_int_equal(relay_client_new(&p->rc, &H->loop, cfg), 0);
}

static void peer_init(struct peer *p)
{
	memset(p, 0, sizeof(*p));
	crypto_box_keypair(p->pub, p->priv);
}

static void peer_start(struct peer *p)
{
	struct relay_client_config cfg = {0};

	peer_start_cfg(p, &cfg);
}

static void peer_connect(struct peer *p)
{
	peer_init(p);
	peer_start(p);
	WAIT_FOR(relay_client_connected(p->rc), WAIT_MS);
}

static void peer_stop(struct peer *p)
{
	if (p->rc) {
		relay_client_free(p->rc);
		p->rc = NULL;
	}
}

/* Send a packet starting with a sequence number, @len bytes in all (>= 4). */
static int peer_send_seq(struct peer *from, const struct peer *to, uint32_t seq, size_t len)
{
	static uint8_t buf[RELAY_MAX_PACKET_LEN];

	memset(buf, (int)(seq & 0xff), len);
	memcpy(buf, &seq, 4);
	return relay_client_send(from->rc, to->pub, buf, len);
}

static struct relay_server_stats stats(void)
{
	struct relay_server_stats st;

	relay_server_get_stats(H->relay, &st);
	return st;
}

/* --- raw clients --- */

static void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char mem[65536];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(mem, sizeof(mem));
}

static void raw_write(struct raw *r, const void *data, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)data, (unsigned int)len);
	int n = uv_try_write((uv_stream_t *)&r->tcp, &b, 1);

	/* Test frames are small and the socket is fresh: all of it goes at once. */
	assert_int_equal(n, (int)len);
}

static void raw_send_client_info(struct raw *r)
{
	struct relay_client_info info = {.version = RELAY_PROTOCOL_VERSION};
	uint8_t chal[RELAY_CHALLENGE_LEN];
	size_t n;

	memcpy(chal, r->challenge, sizeof(chal));
	if (r->mode == RAW_WRONG_CHALLENGE)
		chal[0] ^= 1;
	n = relay_seal_client_info(r->last_info_frame, r->priv, r->server_pub, chal, &info);
	assert_true(n > 0);
	if (r->mode == RAW_WRONG_KEY)
		memcpy(r->last_info_frame + RELAY_FRAME_HEADER_LEN, r->claim, RELAY_KEY_LEN);
	r->last_info_len = n;
	raw_write(r, r->last_info_frame, n);
}

static int raw_frame(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	struct raw *r = arg;
	struct relay_server_info info;

	r->frames[type]++;
	if (type == RELAY_FRAME_SERVER_KEY && !r->got_server_key) {
		assert_int_equal(relay_parse_server_key(p, len, r->server_pub, r->challenge), 0);
		r->got_server_key = true;
		if (r->mode != RAW_SILENT)
			raw_send_client_info(r);
	} else if (type == RELAY_FRAME_SERVER_INFO) {
		assert_int_equal(relay_open_server_info(p, len, r->priv, r->server_pub, &info), 0);
		assert_int_equal(info.version, 1);
		r->got_server_info = true;
		r->reader.max_len = RELAY_MAX_FRAME_LEN;
		if (r->stop_after_info) {
			uv_read_stop((uv_stream_t *)&r->tcp);
			return 1;
		}
	}
	return 0;
}

static void raw_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct raw *r = container_of((uv_tcp_t *)s, struct raw, tcp);
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t len = nread > 0 ? (size_t)nread : 0;

	if (nread < 0) {
		r->eof = true;
		uv_read_stop(s);
		return;
	}
	if (!r->upgraded) {
		const uint8_t *end;
		size_t used;

		assert_int_equal(net_buf_append(&r->head, p, len, 0), 0);
		end = memmem(net_buf_head(&r->head), net_buf_len(&r->head), "\r\n\r\n", 4);
		if (!end)
			return;
		assert_memory_equal(net_buf_head(&r->head), "HTTP/1.1 101 ", 13);
		used = (size_t)(end + 4 - net_buf_head(&r->head));
		r->upgraded = true;
		relay_reader_feed(&r->reader, net_buf_head(&r->head) + used,
				  net_buf_len(&r->head) - used, raw_frame, r);
		return;
	}
	relay_reader_feed(&r->reader, p, len, raw_frame, r);
}

static void raw_on_connect(uv_connect_t *req, int status)
{
	static const char up[] = "GET /relay HTTP/1.1\r\nHost: relay.test\r\n"
				 "Upgrade: meshrelay\r\nConnection: Upgrade\r\n\r\n";
	struct raw *r = container_of(req, struct raw, creq);

	assert_int_equal(status, 0);
	r->connected = true;
	raw_write(r, up, sizeof(up) - 1);
	assert_int_equal(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_on_read), 0);
}

/* Connect a raw client; @rcvbuf > 0 shrinks its receive buffer (a slow reader). */
static void raw_start(struct raw *r, enum raw_mode mode, int rcvbuf)
{
	uint8_t junk[RELAY_KEY_LEN];
	struct sockaddr_in sa;

	memset(r, 0, sizeof(*r));
	r->started = true;
	r->mode = mode;
	crypto_box_keypair(r->pub, r->priv);
	crypto_box_keypair(r->claim, junk);
	relay_reader_init(&r->reader, RELAY_MAX_FRAME_LEN);
	assert_int_equal(uv_tcp_init_ex(&H->loop, &r->tcp, AF_INET), 0);
	if (rcvbuf)
		assert_int_equal(uv_recv_buffer_size((uv_handle_t *)&r->tcp, &rcvbuf), 0);
	assert_int_equal(uv_ip4_addr("127.0.0.1", H->port, &sa), 0);
	assert_int_equal(
		uv_tcp_connect(&r->creq, &r->tcp, (const struct sockaddr *)&sa, raw_on_connect), 0);
}

static void raw_on_close(uv_handle_t *h)
{
	struct raw *r = container_of((uv_tcp_t *)h, struct raw, tcp);

	r->closed = true;
}

static void raw_close(struct raw *r)
{
	r->closing = true;
	uv_close((uv_handle_t *)&r->tcp, raw_on_close);
	WAIT_FOR(r->closed, WAIT_MS);
	net_buf_free(&r->head);
	relay_reader_free(&r->reader);
}

/* --- tests --- */

static void test_forwarding(void **state)
{
	struct harness *h = *state;
	static uint8_t big[RELAY_MAX_PACKET_LEN + 1];
	uint8_t key[RELAY_KEY_LEN], other[RELAY_KEY_LEN];
	struct relay_client_stats cs;
	struct peer *a = &H->peers[0], *b = &H->peers[1];
	uint64_t bytes = 0;

	start_harness(h, NULL);
	peer_connect(a);
	peer_connect(b);
	assert_int_equal(a->ups, 1);
	assert_int_equal(stats().clients, 2);
	assert_int_equal(stats().connections, 2);
	/* Both sides agree on the server key; each client is known by the key it proved. */
	relay_server_public_key(h->relay, key);
	assert_int_equal(relay_client_server_key(a->rc, other), 0);
	assert_memory_equal(key, other, RELAY_KEY_LEN);
	relay_client_public_key(a->rc, other);
	assert_memory_equal(other, a->pub, RELAY_KEY_LEN);
	assert_int_equal(relay_server_client_stats(h->relay, a->pub, &cs), 0);
	randombytes_buf(other, sizeof(other));
	assert_int_equal(relay_server_client_stats(h->relay, other, &cs), -ENOENT);

	/* A to B: every packet arrives, in order, from A. */
	for (uint32_t i = 0; i < 300; i++) {
		size_t len = 4 + (i * 37) % 1400;

		assert_int_equal(peer_send_seq(a, b, i, len), 0);
		bytes += len;
	}
	WAIT_FOR(b->recv_count == 300, WAIT_MS);
	assert_false(b->out_of_order);
	assert_int_equal(b->recv_bytes, bytes);
	assert_memory_equal(b->last_src, a->pub, RELAY_KEY_LEN);

	/* The largest packet passes whole; one byte more is refused at the source. */
	assert_int_equal(peer_send_seq(a, b, 300, RELAY_MAX_PACKET_LEN), 0);
	WAIT_FOR(b->recv_count == 301, WAIT_MS);
	assert_int_equal(b->recv_bytes, bytes + RELAY_MAX_PACKET_LEN);
	assert_int_equal(relay_client_send(a->rc, b->pub, big, sizeof(big)), -EMSGSIZE);
	/* Empty packets are packets. */
	assert_int_equal(relay_client_send(a->rc, b->pub, NULL, 0), 0);
	WAIT_FOR(b->recv_count == 302, WAIT_MS);
	assert_int_equal(b->last_len, 0);

	/* And back. */
	assert_int_equal(relay_client_send(b->rc, a->pub, "back", 4), 0);
	WAIT_FOR(a->recv_count == 1, WAIT_MS);
	assert_memory_equal(a->last_src, b->pub, RELAY_KEY_LEN);
	assert_memory_equal(a->last_data, "back", 4);
	assert_int_equal(stats().packets_forwarded, 303);
	assert_int_equal(relay_server_client_stats(h->relay, a->pub, &cs), 0);
	assert_int_equal(cs.packets_in, 302);
	assert_int_equal(cs.packets_out, 1);
	assert_int_equal(cs.dropped, 0);

	/* Ping is echoed. */
	assert_int_equal(relay_client_ping(a->rc, (const uint8_t *)"pingpong"), 0);
	WAIT_FOR(a->pongs == 1, WAIT_MS);
	assert_memory_equal(a->last_pong, "pingpong", 8);
	assert_int_equal(a->downs, 0);
	assert_int_equal(b->downs, 0);
	peer_stop(a);
	peer_stop(b);
	WAIT_FOR(stats().connections == 0, WAIT_MS);
	/* Not connected: sending is refused at once. */
}

static void test_unknown_destination(void **state)
{
	struct harness *h = *state;
	uint8_t nobody[RELAY_KEY_LEN];
	struct peer *a = &H->peers[0];

	start_harness(h, NULL);
	peer_connect(a);
	randombytes_buf(nobody, sizeof(nobody));
	assert_int_equal(relay_client_send(a->rc, nobody, "hi", 2), 0);
	WAIT_FOR(a->gone_count == 1, WAIT_MS);
	assert_memory_equal(a->gone_keys[0], nobody, RELAY_KEY_LEN);
	assert_int_equal(a->gone_reasons[0], RELAY_PEER_GONE_NOT_HERE);
	assert_int_equal(stats().drops_unknown_dst, 1);
	/* The notice is not repeated for every packet. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(relay_client_send(a->rc, nobody, "hi", 2), 0);
	WAIT_FOR(stats().drops_unknown_dst == 21, WAIT_MS);
	run_for(50);
	assert_int_equal(a->gone_count, 1);
	assert_int_equal(stats().packets_forwarded, 0);
	peer_stop(a);
}

static void test_peer_gone(void **state)
{
	struct harness *h = *state;
	struct peer *a = &H->peers[0], *b = &H->peers[1], *c = &H->peers[2];

	start_harness(h, NULL);
	peer_connect(a);
	peer_connect(b);
	peer_connect(c);
	assert_int_equal(peer_send_seq(a, b, 0, 10), 0);
	assert_int_equal(peer_send_seq(b, a, 0, 10), 0);
	WAIT_FOR(b->recv_count == 1 && a->recv_count == 1, WAIT_MS);
	/* B leaves: A, who talked to it, hears; C, who did not, does not. */
	peer_stop(b);
	WAIT_FOR(a->gone_count == 1, WAIT_MS);
	assert_memory_equal(a->gone_keys[0], b->pub, RELAY_KEY_LEN);
	assert_int_equal(a->gone_reasons[0], RELAY_PEER_GONE_DISCONNECTED);
	WAIT_FOR(stats().clients == 2, WAIT_MS);
	run_for(50);
	assert_int_equal(c->gone_count, 0);
	/* Sending to it now is sending to nobody. */
	assert_int_equal(peer_send_seq(a, b, 1, 10), 0);
	WAIT_FOR(a->gone_count == 2, WAIT_MS);
	assert_int_equal(a->gone_reasons[1], RELAY_PEER_GONE_NOT_HERE);
	/* A leaves: nobody talked to A since B left, so no notice goes anywhere. */
	peer_stop(a);
	WAIT_FOR(stats().clients == 1, WAIT_MS);
	run_for(50);
	assert_int_equal(c->gone_count, 0);
	peer_stop(c);
}

static void test_key_proof(void **state)
{
	struct relay_server_config cfg = {.handshake_timeout_ms = 300};
	struct harness *h = *state;
	struct raw *r1 = &H->raws[0], *r2 = &H->raws[1], *r3 = &H->raws[2], *r4 = &H->raws[3],
		   *r5 = &H->raws[4];

	start_harness(h, &cfg);
	/* Claiming a key without its private half. */
	raw_start(r1, RAW_WRONG_KEY, 0);
	WAIT_FOR(r1->eof, WAIT_MS);
	assert_true(r1->got_server_key);
	assert_false(r1->got_server_info);
	assert_int_equal(stats().handshake_failures, 1);
	/* A proof made for another connection's challenge. */
	raw_start(r2, RAW_WRONG_CHALLENGE, 0);
	WAIT_FOR(r2->eof, WAIT_MS);
	assert_false(r2->got_server_info);
	assert_int_equal(stats().handshake_failures, 2);
	/* A good one is admitted... */
	raw_start(r3, RAW_GOOD, 0);
	WAIT_FOR(r3->got_server_info, WAIT_MS);
	assert_int_equal(stats().clients, 1);
	/* ...and its recorded proof, replayed on another connection, is worthless. */
	raw_start(r4, RAW_SILENT, 0);
	WAIT_FOR(r4->got_server_key, WAIT_MS);
	raw_write(r4, r3->last_info_frame, r3->last_info_len);
	WAIT_FOR(r4->eof, WAIT_MS);
	assert_false(r4->got_server_info);
	assert_int_equal(stats().handshake_failures, 3);
	assert_int_equal(stats().clients, 1);
	assert_false(r3->eof);
	/* Saying nothing runs into the handshake deadline. */
	raw_start(r5, RAW_SILENT, 0);
	WAIT_FOR(r5->eof, WAIT_MS);
	assert_int_equal(stats().handshake_failures, 4);
	assert_int_equal(stats().replaced, 0);
	raw_close(r1);
	raw_close(r2);
	raw_close(r3);
	raw_close(r4);
	raw_close(r5);
	WAIT_FOR(stats().connections == 0, WAIT_MS);
}

static void test_slow_receiver(void **state)
{
	struct relay_server_config cfg = {.write_timeout_ms = 1500};
	struct harness *h = *state;
	static uint8_t kb[1024];
	struct relay_client_stats cs = {0};
	size_t max_frames = 0, max_bytes = 0, max_write = 0;
	uint32_t sent_s = 0, sent_b = 0;
	uint64_t dropped = 0, end;
	struct peer *a = &H->peers[0], *b = &H->peers[1];
	struct raw *s = &H->raws[0];

	start_harness(h, &cfg);
	peer_connect(a);
	peer_connect(b);
	raw_start(s, RAW_GOOD, 4096);
	s->stop_after_info = true;
	WAIT_FOR(s->got_server_info, WAIT_MS);

	/* A floods S, which reads nothing, and now and then sends to B. */
	end = uv_now(&h->loop) + 10000;
	while (uv_now(&h->loop) < end) {
		for (int k = 0; k < 64; k++) {
			int ret = relay_client_send(a->rc, s->pub, kb, sizeof(kb));

			if (ret == -ENOBUFS)
				break;
			assert_int_equal(ret, 0);
			if (++sent_s % 50 == 0 && peer_send_seq(a, b, sent_b, 100) == 0)
				sent_b++;
		}
		uv_run(&h->loop, UV_RUN_ONCE);
		if (relay_server_client_stats(h->relay, s->pub, &cs) < 0)
			break; /* cut off already */
		max_frames = cs.queued_frames > max_frames ? cs.queued_frames : max_frames;
		max_bytes = cs.queued_bytes > max_bytes ? cs.queued_bytes : max_bytes;
		max_write = cs.write_queued > max_write ? cs.write_queued : max_write;
		dropped = cs.dropped;
		if (dropped > 1000 && sent_b >= 100)
			break;
	}
	/* S's share of the server's memory stayed bounded while it lost packets. */
	assert_true(dropped > 1000);
	assert_true(sent_b >= 100);
	assert_true(max_frames <= 32);
	assert_true(max_bytes <= 32 * (RELAY_FRAME_HEADER_LEN + RELAY_KEY_LEN + sizeof(kb)));
	assert_true(max_write <= 64 * 1024 + RELAY_MAX_FRAME_TOTAL);
	assert_true(stats().drops_queue_full >= dropped);
	/* B got everything, in order, while S was stuck. */
	WAIT_FOR(b->recv_count == sent_b, WAIT_MS);
	assert_false(b->out_of_order);
	assert_int_equal(b->downs, 0);
	/* S is finally cut off, and A, who talked to it, hears. */
	WAIT_FOR(stats().stuck == 1, WAIT_MS);
	WAIT_FOR(a->gone_count >= 1, WAIT_MS);
	assert_memory_equal(a->gone_keys[0], s->pub, RELAY_KEY_LEN);
	assert_int_equal(a->gone_reasons[0], RELAY_PEER_GONE_DISCONNECTED);
	assert_int_equal(stats().clients, 2);
	assert_int_equal(a->downs, 0);
	peer_stop(a);
	peer_stop(b);
	raw_close(s);
}

static void test_garbage(void **state)
{
	static const uint8_t early_send[] = {RELAY_FRAME_SEND_PACKET, 0, 0, 0, 0};
	static const uint8_t huge[] = {RELAY_FRAME_CLIENT_INFO, 0xff, 0xff, 0xff, 0xff};
	struct harness *h = *state;
	uint8_t frame[128], noise[100];
	struct raw *g1 = &H->raws[0], *g2 = &H->raws[1], *g3 = &H->raws[2], *g4 = &H->raws[3],
		   *g5 = &H->raws[4];
	struct peer *a = &H->peers[0], *b = &H->peers[1];
	size_t n;

	start_harness(h, NULL);
	peer_connect(a);
	peer_connect(b);
	/* Before the handshake: a data frame, an absurd length, noise. */
	raw_start(g1, RAW_SILENT, 0);
	raw_start(g2, RAW_SILENT, 0);
	raw_start(g3, RAW_SILENT, 0);
	WAIT_FOR(g1->got_server_key && g2->got_server_key && g3->got_server_key, WAIT_MS);
	raw_write(g1, early_send, sizeof(early_send));
	raw_write(g2, huge, sizeof(huge));
	randombytes_buf(noise, sizeof(noise));
	noise[0] = 0x42; /* not ClientInfo */
	raw_write(g3, noise, sizeof(noise));
	WAIT_FOR(g1->eof && g2->eof && g3->eof, WAIT_MS);
	/* After it: a packet frame too short to hold a key. */
	raw_start(g4, RAW_GOOD, 0);
	WAIT_FOR(g4->got_server_info, WAIT_MS);
	relay_put_header(frame, RELAY_FRAME_SEND_PACKET, 10);
	memset(frame + 5, 0, 10);
	raw_write(g4, frame, 15);
	WAIT_FOR(g4->eof, WAIT_MS);
	/* Unknown newer frame types are skipped; the connection goes on. */
	raw_start(g5, RAW_GOOD, 0);
	WAIT_FOR(g5->got_server_info, WAIT_MS);
	relay_put_header(frame, 0x7f, 20);
	memset(frame + 5, 0x11, 20);
	raw_write(g5, frame, 25);
	raw_write(g5, frame, relay_build_keep_alive(frame));
	n = relay_build_packet(frame, sizeof(frame), RELAY_FRAME_SEND_PACKET, b->pub, "abc", 3);
	raw_write(g5, frame, n);
	WAIT_FOR(b->recv_count == 1, WAIT_MS);
	assert_memory_equal(b->last_src, g5->pub, RELAY_KEY_LEN);
	assert_memory_equal(b->last_data, "abc", 3);
	assert_false(g5->eof);
	/* A server-to-client frame from a client is a violation. */
	n = relay_build_packet(frame, sizeof(frame), RELAY_FRAME_RECV_PACKET, b->pub, "abc", 3);
	raw_write(g5, frame, n);
	WAIT_FOR(g5->eof, WAIT_MS);
	/* Only the offenders were closed. */
	assert_int_equal(stats().protocol_errors, 5);
	assert_int_equal(stats().clients, 2);
	assert_int_equal(peer_send_seq(a, b, 0, 50), 0);
	assert_int_equal(peer_send_seq(b, a, 0, 50), 0);
	WAIT_FOR(b->recv_count == 2 && a->recv_count == 1, WAIT_MS);
	assert_int_equal(a->downs + b->downs, 0);
	raw_close(g1);
	raw_close(g2);
	raw_close(g3);
	raw_close(g4);
	raw_close(g5);
	peer_stop(a);
	peer_stop(b);
}

static void test_duplicate_key(void **state)
{
	struct relay_client_config once = {.no_reconnect = true};
	struct harness *h = *state;
	struct peer *a1 = &H->peers[0], *a2 = &H->peers[1], *b = &H->peers[2];

	start_harness(h, NULL);
	peer_connect(b);
	peer_init(a1);
	peer_start_cfg(a1, &once);
	WAIT_FOR(relay_client_connected(a1->rc), WAIT_MS);
	*a2 = *a1;
	a2->rc = NULL;
	peer_start(a2);
	WAIT_FOR(a2->ups == 1, WAIT_MS);
	/* The newer connection takes the key; the older one is told why and closed. */
	WAIT_FOR(a1->downs == 1, WAIT_MS);
	assert_string_equal(a1->health, "another connection with this node key took over");
	assert_int_equal(stats().replaced, 1);
	WAIT_FOR(stats().connections == 2, WAIT_MS);
	assert_int_equal(stats().clients, 2);
	/* Being replaced is not leaving: B hears no PeerGone, and reaches the new one. */
	assert_int_equal(peer_send_seq(b, a2, 0, 20), 0);
	WAIT_FOR(a2->recv_count == 1, WAIT_MS);
	assert_int_equal(a1->recv_count, 0);
	assert_int_equal(b->gone_count, 0);
	peer_stop(a1);
	peer_stop(a2);
	peer_stop(b);
}

static void test_verify(void **state)
{
	struct harness *h = *state;
	struct relay_server_config cfg = {.verify = verify_hook, .verify_arg = h};
	struct relay_client_config once = {.no_reconnect = true};
	struct peer *a = &H->peers[0], *d = &H->peers[1], *e = &H->peers[2], *f = &H->peers[3];

	start_harness(h, &cfg);
	peer_connect(a);
	assert_int_equal(h->verify_calls, 1);
	/* A refused key is told so, and the client reports it. */
	peer_init(d);
	memcpy(h->deny_key, d->pub, RELAY_KEY_LEN);
	peer_start_cfg(d, &once);
	WAIT_FOR(d->downs == 1, WAIT_MS);
	assert_int_equal(d->ups, 0);
	assert_non_null(strstr(d->last_why, "this relay does not serve this node key"));
	assert_int_equal(stats().denied, 1);
	/* An answer that comes later. */
	h->verify_async = true;
	peer_init(e);
	peer_start(e);
	WAIT_FOR(h->pending_verify != NULL, WAIT_MS);
	run_for(100);
	assert_false(relay_client_connected(e->rc));
	relay_verify_done(h->pending_verify, true);
	h->pending_verify = NULL;
	WAIT_FOR(relay_client_connected(e->rc), WAIT_MS);
	assert_int_equal(peer_send_seq(a, e, 0, 8), 0);
	WAIT_FOR(e->recv_count == 1, WAIT_MS);
	/* The client leaves while its answer is pending: answering later is harmless. */
	peer_init(f);
	peer_start(f);
	WAIT_FOR(h->pending_verify != NULL, WAIT_MS);
	peer_stop(f);
	WAIT_FOR(stats().connections == 2, WAIT_MS);
	relay_verify_done(h->pending_verify, true);
	h->pending_verify = NULL;
	assert_int_equal(stats().clients, 2);
	assert_int_equal(h->verify_calls, 4);
	peer_stop(a);
	peer_stop(d);
	peer_stop(e);
}

static void test_keepalive_and_liveness(void **state)
{
	struct relay_server_config cfg = {.keepalive_ms = 100};
	struct relay_client_config patient = {.keepalive_timeout_ms = 400};
	struct relay_client_config impatient = {.keepalive_timeout_ms = 50};
	struct harness *h = *state;
	struct peer *a = &H->peers[0], *b = &H->peers[1];

	start_harness(h, &cfg);
	/* Keepalives every ~100 ms keep a quiet connection alive for a 400 ms timeout. */
	peer_init(a);
	peer_start_cfg(a, &patient);
	WAIT_FOR(relay_client_connected(a->rc), WAIT_MS);
	run_for(1200);
	assert_int_equal(a->downs, 0);
	assert_int_equal(a->ups, 1);
	/* Silence longer than the timeout is a dead connection: reconnect. */
	peer_init(b);
	peer_start_cfg(b, &impatient);
	WAIT_FOR(b->downs >= 1, WAIT_MS);
	assert_non_null(strstr(b->last_why, "no frame from the relay"));
	WAIT_FOR(b->ups >= 2, WAIT_MS);
	peer_stop(a);
	peer_stop(b);
}

static void test_restarting(void **state)
{
	struct harness *h = *state;
	struct peer *a = &H->peers[0];

	start_harness(h, NULL);
	peer_connect(a);
	relay_server_close(h->relay, 5000, 60000, on_relay_closed, h);
	WAIT_FOR(a->downs == 1, WAIT_MS);
	assert_string_equal(a->last_why, "the relay is restarting");
	/* The route must not outlive the relay: stop both before the client returns. */
	peer_stop(a);
	WAIT_FOR(h->relay_closed, WAIT_MS);
	http_server_close(h->http, on_http_closed, h);
	WAIT_FOR(h->http_closed, WAIT_MS);
}

struct http_result {
	bool done;
	int err, status;
};

static void on_http_done(struct http_client_req *req, int err, const char *errmsg,
			 const struct http_response *resp, void *arg)
{
	struct http_result *r = arg;

	(void)req;
	(void)errmsg;
	r->done = true;
	r->err = err;
	r->status = resp ? resp->status : 0;
}

static void on_http_upgrade(struct http_client_req *req, struct net_conn *conn,
			    const struct http_response *resp, void *arg)
{
	(void)req;
	(void)conn;
	(void)resp;
	(void)arg;
	fail_msg("upgraded to an unknown protocol");
}

static void test_http_without_upgrade(void **state)
{
	struct harness *h = *state;
	struct http_result r1 = {0}, r2 = {0};
	struct http_client_req *req;
	struct http_client_options o = {.on_done = on_http_done};
	char url[96];

	start_harness(h, NULL);
	snprintf(url, sizeof(url), "%s/relay", h->url);
	o.url = url;
	o.arg = &r1;
	assert_int_equal(http_client_request(&req, &h->loop, &o), 0);
	WAIT_FOR(r1.done, WAIT_MS);
	assert_int_equal(r1.err, 0);
	assert_int_equal(r1.status, 426);
	/* Upgrading to something else is refused the same way. */
	o.upgrade = "websocket";
	o.on_upgrade = on_http_upgrade;
	o.arg = &r2;
	assert_int_equal(http_client_request(&req, &h->loop, &o), 0);
	WAIT_FOR(r2.done, WAIT_MS);
	assert_int_equal(r2.status, 426);
	assert_int_equal(stats().accepted, 0);
}

/* --- STUN server --- */

static void sockaddr4(struct sockaddr_storage *ss, const char *ip, int port)
{
	assert_int_equal(uv_ip4_addr(ip, port, (struct sockaddr_in *)ss), 0);
}

static void sockaddr6(struct sockaddr_storage *ss, const char *ip, int port)
{
	assert_int_equal(uv_ip6_addr(ip, port, (struct sockaddr_in6 *)ss), 0);
}

static void check_mapped(const uint8_t *resp, size_t n, const uint8_t *txid, const char *want)
{
	struct stun_message msg;
	char text[IP_ENDPOINT_STRLEN];

	assert_int_equal(stun_parse(resp, n, &msg), 0);
	assert_int_equal(msg.type, STUN_BINDING_SUCCESS);
	assert_memory_equal(msg.txid, txid, STUN_TXID_LEN);
	assert_true(msg.has_xor_mapped);
	assert_true(msg.has_fingerprint);
	assert_string_equal(ip_endpoint_format(&msg.xor_mapped, text, sizeof(text)), want);
	assert_int_equal(msg.software_len, 9);
	assert_memory_equal(msg.software, "meshrelay", 9);
}

static void test_stun_answer(void **state)
{
	/* RFC 5769 §2.1: a Binding request with SOFTWARE, PRIORITY, ICE-CONTROLLED,
	 * USERNAME, MESSAGE-INTEGRITY and FINGERPRINT. */
	static const uint8_t rfc5769_req[] = "\x00\x01\x00\x58"
					     "\x21\x12\xa4\x42"
					     "\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae"
					     "\x80\x22\x00\x10"
					     "STUN test client"
					     "\x00\x24\x00\x04"
					     "\x6e\x00\x01\xff"
					     "\x80\x29\x00\x08"
					     "\x93\x2f\xf9\xb1\x51\x26\x3b\x36"
					     "\x00\x06\x00\x09"
					     "\x65\x76\x74\x6a\x3a\x68\x36\x76\x59\x20\x20\x20"
					     "\x00\x08\x00\x14"
					     "\x9a\xea\xa7\x0c\xbf\xd8\xcb\x56\x78\x1e\xf2\xb5"
					     "\xb2\xd3\xf2\x49\xc1\xb5\x71\xa2"
					     "\x80\x28\x00\x04"
					     "\xe5\x7a\x3b\xcf";
	/* What Debian's stun client (RFC 3489) sends: CHANGE-REQUEST with no flags. */
	static const uint8_t classic[] = "\x00\x01\x00\x08"
					 "\x01\x37\x9b\x45\x40\xea\x93\x20"
					 "\x8c\xde\xf2\x3c\x0c\xe5\x63\x7e"
					 "\x00\x03\x00\x04\x00\x00\x00\x00";
	static const uint8_t classic_want[] = "\x01\x01\x00\x0c"
					      "\x01\x37\x9b\x45\x40\xea\x93\x20"
					      "\x8c\xde\xf2\x3c\x0c\xe5\x63\x7e"
					      "\x00\x01\x00\x08\x00\x01\x80\x55\xc0\x00\x02\x01";
	struct stun_server_stats st = {0};
	struct sockaddr_storage ss;
	uint8_t out[STUN_MAX_MESSAGE], req[64], txid[STUN_TXID_LEN];
	size_t n;

	(void)state;
	sockaddr4(&ss, "192.0.2.1", 32853);
	n = stun_server_answer(rfc5769_req, sizeof(rfc5769_req) - 1, (struct sockaddr *)&ss, out,
			       sizeof(out), &st);
	check_mapped(out, n, rfc5769_req + 8, "192.0.2.1:32853");
	/* IPv6, and an IPv4 client seen through a dual-stack socket. */
	randombytes_buf(txid, sizeof(txid));
	n = stun_build_binding_request(req, sizeof(req), txid, true);
	sockaddr6(&ss, "2001:db8:1234:5678:11:2233:4455:6677", 40000);
	check_mapped(out, stun_server_answer(req, n, (struct sockaddr *)&ss, out, sizeof(out), &st),
		     txid, "[2001:db8:1234:5678:11:2233:4455:6677]:40000");
	sockaddr6(&ss, "::ffff:10.1.2.3", 1);
	check_mapped(out, stun_server_answer(req, n, (struct sockaddr *)&ss, out, sizeof(out), &st),
		     txid, "10.1.2.3:1");
	assert_int_equal(st.requests, 3);

	/* Classic: MAPPED-ADDRESS, the 16-byte transaction id echoed, byte for byte. */
	sockaddr4(&ss, "192.0.2.1", 32853);
	n = stun_server_answer(classic, sizeof(classic) - 1, (struct sockaddr *)&ss, out,
			       sizeof(out), &st);
	assert_int_equal(n, sizeof(classic_want) - 1);
	assert_memory_equal(out, classic_want, n);
	assert_int_equal(st.classic_requests, 1);
	/* Asking for an answer from another address or port: we have none, so no answer. */
	memcpy(req, classic, sizeof(classic) - 1);
	req[27] = 0x06;
	assert_int_equal(stun_server_answer(req, sizeof(classic) - 1, (struct sockaddr *)&ss, out,
					    sizeof(out), &st),
			 0);
	assert_int_equal(st.ignored, 1);
	/* A response is not answered; truncated and oversized attributes are garbage. */
	n = stun_server_answer(rfc5769_req, sizeof(rfc5769_req) - 1, (struct sockaddr *)&ss, out,
			       sizeof(out), &st);
	assert_int_equal(stun_server_answer(out, n, (struct sockaddr *)&ss, out + 200, 300, &st),
			 0);
	assert_int_equal(st.ignored, 2);
	memcpy(req, classic, sizeof(classic) - 1);
	req[23] = 0x09; /* attribute longer than the message */
	assert_int_equal(stun_server_answer(req, sizeof(classic) - 1, (struct sockaddr *)&ss, out,
					    sizeof(out), &st),
			 0);
	for (size_t len = 0; len < 20; len++)
		assert_int_equal(stun_server_answer(classic, len, (struct sockaddr *)&ss, out,
						    sizeof(out), &st),
				 0);
	for (int i = 0; i < 2000; i++) {
		size_t len = (size_t)(i % 120);

		randombytes_buf(req, sizeof(req));
		if (i % 2)
			memcpy(req, classic, 4);
		stun_server_answer(req, len < sizeof(req) ? len : sizeof(req),
				   (struct sockaddr *)&ss, out, sizeof(out), &st);
	}
	assert_true(st.bad >= 21);
}

struct udp_client {
	uv_udp_t udp;
	uint8_t resp[STUN_MAX_MESSAGE];
	size_t len;
	bool got, closed;
};

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct udp_client *u = container_of((uv_udp_t *)h, struct udp_client, udp);

	(void)suggested;
	*buf = uv_buf_init((char *)u->resp, sizeof(u->resp));
}

static void udp_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		     unsigned int flags)
{
	struct udp_client *u = container_of(udp, struct udp_client, udp);

	(void)buf;
	(void)flags;
	if (nread > 0 && addr) {
		u->len = (size_t)nread;
		u->got = true;
	}
}

static void udp_closed(uv_handle_t *h)
{
	container_of((uv_udp_t *)h, struct udp_client, udp)->closed = true;
}

static bool stun_closed;

static void on_stun_closed(void *arg)
{
	(void)arg;
	stun_closed = true;
}

static void test_stun_live(void **state)
{
	struct harness *h = *state;
	struct stun_server *srv, *bad;
	struct stun_server_stats st;
	struct udp_client u = {0};
	struct sockaddr_storage to, me;
	uint8_t req[64], txid[STUN_TXID_LEN];
	char want[IP_ENDPOINT_STRLEN];
	struct ip_endpoint ep;
	int len = sizeof(me);
	uint16_t port = 0;
	uv_buf_t b;

	assert_int_equal(stun_server_new(&srv, &h->loop, "127.0.0.1:0", &port), 0);
	assert_true(port > 0);
	assert_int_equal(stun_server_new(&bad, &h->loop, "127.0.0.1", NULL), -EINVAL);
	assert_null(bad);
	assert_int_equal(uv_udp_init(&h->loop, &u.udp), 0);
	sockaddr4(&me, "127.0.0.1", 0);
	assert_int_equal(uv_udp_bind(&u.udp, (struct sockaddr *)&me, 0), 0);
	assert_int_equal(uv_udp_getsockname(&u.udp, (struct sockaddr *)&me, &len), 0);
	ip_endpoint_from_sockaddr(&ep, (struct sockaddr *)&me);
	ip_endpoint_format(&ep, want, sizeof(want));
	assert_int_equal(uv_udp_recv_start(&u.udp, udp_alloc, udp_recv), 0);
	randombytes_buf(txid, sizeof(txid));
	b = uv_buf_init((char *)req,
			(unsigned int)stun_build_binding_request(req, sizeof(req), txid, false));
	sockaddr4(&to, "127.0.0.1", port);
	assert_true(uv_udp_try_send(&u.udp, &b, 1, (struct sockaddr *)&to) > 0);
	WAIT_FOR(u.got, WAIT_MS);
	check_mapped(u.resp, u.len, txid, want);
	stun_server_get_stats(srv, &st);
	assert_int_equal(st.requests, 1);
	uv_close((uv_handle_t *)&u.udp, udp_closed);
	stun_closed = false;
	stun_server_close(srv, on_stun_closed, NULL);
	WAIT_FOR(u.closed && stun_closed, WAIT_MS);
}

/* --- the key map against a naive model --- */

static void test_keymap_model(void **state)
{
	enum { KEYS = 300, OPS = 30000 };
	static uint8_t keys[KEYS][KEYMAP_KEY_LEN];
	static void *model[KEYS];
	struct keymap m = {0};
	size_t count = 0;

	(void)state;
	for (int i = 0; i < KEYS; i++) {
		randombytes_buf(keys[i], KEYMAP_KEY_LEN);
		model[i] = NULL;
	}
	/* Keys that differ in one byte only must not be confused. */
	memcpy(keys[1], keys[0], KEYMAP_KEY_LEN);
	keys[1][31] ^= 1;
	assert_null(keymap_get(&m, keys[0]));
	assert_null(keymap_remove(&m, keys[0]));
	for (int op = 0; op < OPS; op++) {
		uint32_t i = randombytes_uniform(KEYS), what = randombytes_uniform(10);

		if (what < 5) {
			void *v = (void *)(uintptr_t)(op + 1);

			assert_int_equal(keymap_put(&m, keys[i], v), 0);
			if (!model[i])
				count++;
			model[i] = v;
		} else if (what < 9) {
			assert_ptr_equal(keymap_remove(&m, keys[i]), model[i]);
			if (model[i])
				count--;
			model[i] = NULL;
		} else {
			assert_ptr_equal(keymap_get(&m, keys[i]), model[i]);
		}
		assert_int_equal(keymap_count(&m), count);
		if (op % 1000 == 0) {
			size_t pos = 0, seen = 0;
			const uint8_t *k;
			void *v;

			for (int j = 0; j < KEYS; j++)
				assert_ptr_equal(keymap_get(&m, keys[j]), model[j]);
			while ((v = keymap_next(&m, &pos, &k))) {
				int j;

				for (j = 0; j < KEYS && memcmp(keys[j], k, KEYMAP_KEY_LEN); j++)
					;
				assert_true(j < KEYS);
				assert_ptr_equal(model[j], v);
				seen++;
			}
			assert_int_equal(seen, count);
		}
	}
	keymap_free(&m);
	assert_int_equal(keymap_count(&m), 0);
	assert_null(keymap_get(&m, keys[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forwarding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_destination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_proof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_receiver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive_and_liveness, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restarting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_without_upgrade, setup, teardown),
		cmocka_unit_test(test_stun_answer),
		cmocka_unit_test_setup_teardown(test_stun_live, setup, teardown),
		cmocka_unit_test(test_keymap_model),
	};

	if (sodium_init() < 0)
		return 1;
	/* As every program that serves connections does: a peer's reset is an error, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
