// SPDX-License-Identifier: MIT
/*
 * Relay server core (see relay_server.h and docs/protocol.md).
 *
 * Each connection is a struct client with three libuv resources: its
 * net_conn, a timer (handshake deadline, then keepalives) and a drain timer
 * that runs only while frames wait in its queue. It is freed when all three
 * have closed. Admitted clients are in srv->clients by key.
 *
 * Sending to a client never blocks anyone: a frame goes straight to the
 * connection while the connection has less than WRITE_HIGH bytes the kernel
 * has not taken; otherwise it waits in the client's queue, which holds at
 * most queue_depth frames and queue_bytes bytes and drops its oldest frame
 * past that. The drain timer moves queued frames on as the connection
 * empties, and closes a client that takes nothing for write_timeout_ms.
 *
 * Who talks to whom: when A sends to B, A goes into B's senders and B into
 * A's sent_to; both sets only ever hold live clients (a closing client
 * removes itself from the sets of the others). When B leaves, every client
 * in B's senders gets PeerGone(B). Closing never happens in the middle of
 * another client's processing: a failed write is noted and acted on from
 * the drain timer.
 */
#include "relay/relay_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "net/conn.h"
#include "net/http_server.h"
#include "relay/keymap.h"
#include "util/log.h"

enum server_defaults {
	DEF_KEEPALIVE_MS = 60 * 1000,
	DEF_HANDSHAKE_TIMEOUT_MS = 10 * 1000,
	DEF_WRITE_TIMEOUT_MS = 10 * 1000,
	DEF_QUEUE_DEPTH = 32,
	DEF_QUEUE_BYTES = 1024 * 1024,
	/* Bytes a connection may hold beyond the kernel's socket buffer before frames queue. */
	WRITE_HIGH = 64 * 1024,
	/* How often a client with queued frames is checked for room. */
	DRAIN_POLL_MS = 5,
	/* PeerGone(NotHere) for the same unknown key at most this often per client. */
	NOT_HERE_INTERVAL_MS = 1000,
	KEY_LOG_LEN = 16, /* hex digits of a key in log lines */
};

static const char *const LOG_COMP = "relay";

enum client_state {
	CLIENT_HANDSHAKE, /* ServerKey sent, waiting for ClientInfo */
	CLIENT_VERIFYING, /* key proven, waiting for the verify hook */
	CLIENT_ACTIVE,	  /* admitted: in srv->clients */
	CLIENT_CLOSED,	  /* closing; freed when its handles are */
};

/* The reader's callback returns this to stop after it closed the client. */
enum { FRAME_STOP = 1 };

struct qframe {
	struct qframe *next;
	size_t len;
	uint8_t data[];
};

struct client {
	struct relay_server *srv;
	struct client *prev, *next; /* srv->all */
	struct net_conn *conn;
	uv_timer_t timer; /* handshake deadline, then keepalive */
	uv_timer_t drain;
	int handles; /* of conn, timer, drain: still open */
	enum client_state state;
	bool can_ack_pings;
	bool replaced;	   /* a newer connection took the key: no PeerGone */
	bool write_failed; /* close from the drain timer */
	uint8_t key[RELAY_KEY_LEN];
	uint8_t challenge[RELAY_CHALLENGE_LEN];
	char keytext[KEY_LOG_LEN + 1];
	struct relay_reader reader;
	struct relay_verify *verify;

	struct qframe *qhead, *qtail;
	size_t qlen, qbytes;
	uint64_t last_progress; /* loop time a queued frame last moved on */

	struct keymap senders; /* clients that sent to this one: told when it leaves */
	struct keymap sent_to; /* clients this one sent to */
	struct client *last_dst;
	uint8_t not_here_key[RELAY_KEY_LEN];
	uint64_t not_here_at;

	uint64_t dropped, packets_in, packets_out;
};

struct relay_verify {
	struct client *cl; /* NULL once the client is gone */
};

struct relay_server {
	uv_loop_t *loop;
	uv_timer_t defer; /* closes last, so the closed callback runs from the loop */
	uint8_t priv[RELAY_KEY_LEN];
	uint8_t pub[RELAY_KEY_LEN];
	unsigned int keepalive_ms, handshake_timeout_ms, write_timeout_ms, queue_depth;
	size_t queue_bytes;
	relay_verify_cb *verify;
	void *verify_arg;

	struct keymap clients;
	struct client *all;
	size_t nconns;
	uint8_t *scratch; /* one whole frame, for RecvPacket */
	struct relay_server_stats stats;

	bool closing;
	relay_server_closed_cb *closed_cb;
	void *closed_arg;
};

static void close_client(struct client *cl, const char *why);

static void format_key(char out[KEY_LOG_LEN + 1], const uint8_t *key)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < KEY_LOG_LEN / 2; i++) {
		out[2 * i] = hex[key[i] >> 4];
		out[2 * i + 1] = hex[key[i] & 15];
	}
	out[KEY_LOG_LEN] = '\0';
}

static void free_queue(struct client *cl)
{
	struct qframe *q, *next;

	for (q = cl->qhead; q; q = next) {
		next = q->next;
		free(q);
	}
	cl->qhead = cl->qtail = NULL;
	cl->qlen = cl->qbytes = 0;
}

/* Unlink the oldest queued frame (the queue must not be empty); the caller frees it. */
static struct qframe *dequeue(struct client *cl)
{
	struct qframe *q = cl->qhead;

	cl->qhead = q->next;
	if (!cl->qhead)
		cl->qtail = NULL;
	cl->qlen--;
	cl->qbytes -= q->len;
	return q;
}

static void drop_oldest(struct client *cl)
{
	free(dequeue(cl));
	cl->dropped++;
	cl->srv->stats.drops_queue_full++;
}

/* Move queued frames to the connection while it has room. */
static void flush_queue(struct client *cl)
{
	while (cl->qhead && net_conn_write_queue_size(cl->conn) < WRITE_HIGH) {
		if (net_conn_write(cl->conn, cl->qhead->data, cl->qhead->len) < 0) {
			cl->write_failed = true;
			return;
		}
		free(dequeue(cl));
		cl->last_progress = uv_now(cl->srv->loop);
	}
}

static void on_drain(uv_timer_t *t)
{
	struct client *cl = t->data;
	struct relay_server *srv = cl->srv;

	if (!cl->write_failed)
		flush_queue(cl);
	if (cl->write_failed) {
		close_client(cl, net_conn_strerror(cl->conn));
		return;
	}
	if (!cl->qhead) {
		uv_timer_stop(&cl->drain);
		return;
	}
	if (uv_now(srv->loop) - cl->last_progress >= srv->write_timeout_ms) {
		srv->stats.stuck++;
		close_client(cl, "not reading");
	}
}

/*
 * Send one whole frame to @cl, now or from its queue. Never closes @cl here
 * (a failure is acted on from the drain timer). Returns 0, or -EPIPE when
 * @cl is closing or its connection failed.
 */
static int client_send(struct client *cl, const uint8_t *frame, size_t len)
{
	struct qframe *q;

	if (cl->state == CLIENT_CLOSED || cl->write_failed)
		return -EPIPE;
	if (cl->qhead)
		flush_queue(cl);
	if (!cl->qhead && !cl->write_failed && net_conn_write_queue_size(cl->conn) < WRITE_HIGH) {
		if (net_conn_write(cl->conn, frame, len) == 0)
			return 0;
		cl->write_failed = true;
	}
	if (cl->write_failed) {
		uv_timer_start(&cl->drain, on_drain, 0, 0);
		return -EPIPE;
	}
	q = malloc(sizeof(*q) + len);
	if (!q) {
		cl->dropped++;
		cl->srv->stats.drops_queue_full++;
		return 0;
	}
	q->next = NULL;
	q->len = len;
	memcpy(q->data, frame, len);
	if (cl->qtail)
		cl->qtail->next = q;
	else
		cl->qhead = q;
	cl->qtail = q;
	cl->qlen++;
	cl->qbytes += len;
	while (cl->qlen > cl->srv->queue_depth || cl->qbytes > cl->srv->queue_bytes)
		drop_oldest(cl);
	if (!uv_is_active((uv_handle_t *)&cl->drain)) {
		cl->last_progress = uv_now(cl->srv->loop);
		uv_timer_start(&cl->drain, on_drain, DRAIN_POLL_MS, DRAIN_POLL_MS);
	}
	return 0;
}

static void send_health(struct client *cl, const char *text)
{
	uint8_t frame[RELAY_FRAME_HEADER_LEN + RELAY_MAX_HEALTH_LEN];
	size_t n = relay_build_health(frame, sizeof(frame), text);

	client_send(cl, frame, n);
}

static void send_peer_gone(struct client *cl, const uint8_t *key, uint8_t reason)
{
	uint8_t frame[RELAY_PEER_GONE_FRAME_LEN];

	client_send(cl, frame, relay_build_peer_gone(frame, key, reason));
}

static void on_server_closed(uv_handle_t *h);

/* One of @cl's three resources has closed; free it after the last. */
static void release(struct client *cl)
{
	struct relay_server *srv = cl->srv;

	if (--cl->handles)
		return;
	if (cl->prev)
		cl->prev->next = cl->next;
	else
		srv->all = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	relay_reader_free(&cl->reader);
	free(cl);
	srv->nconns--;
	if (srv->closing && !srv->nconns)
		uv_close((uv_handle_t *)&srv->defer, on_server_closed);
}

static void on_handle_closed(uv_handle_t *h)
{
	release(h->data);
}

static void on_conn_closed(struct net_conn *c, void *arg)
{
	(void)c;
	release(arg);
}

/* Forget @cl in the who-talks-to-whom sets; tell its senders it left unless replaced. */
static void unlink_peers(struct client *cl)
{
	struct client *other;
	size_t pos = 0;

	while ((other = keymap_next(&cl->sent_to, &pos, NULL))) {
		if (keymap_get(&other->senders, cl->key) == cl)
			keymap_remove(&other->senders, cl->key);
	}
	pos = 0;
	while ((other = keymap_next(&cl->senders, &pos, NULL))) {
		if (keymap_get(&other->sent_to, cl->key) == cl)
			keymap_remove(&other->sent_to, cl->key);
		if (other->last_dst == cl)
			other->last_dst = NULL;
		if (!cl->replaced)
			send_peer_gone(other, cl->key, RELAY_PEER_GONE_DISCONNECTED);
	}
	keymap_free(&cl->sent_to);
	keymap_free(&cl->senders);
}

static void close_client(struct client *cl, const char *why)
{
	struct relay_server *srv = cl->srv;

	if (cl->state == CLIENT_CLOSED)
		return;
	if (cl->state == CLIENT_ACTIVE) {
		log_debug(LOG_COMP, "client left key=%s peer=%s reason=\"%s\" dropped=%llu",
			  cl->keytext, net_conn_peer(cl->conn), why,
			  (unsigned long long)cl->dropped);
		if (keymap_get(&srv->clients, cl->key) == cl)
			keymap_remove(&srv->clients, cl->key);
		unlink_peers(cl);
	} else {
		log_debug(LOG_COMP, "connection closed before admission peer=%s reason=\"%s\"",
			  net_conn_peer(cl->conn), why);
	}
	cl->state = CLIENT_CLOSED;
	if (cl->verify) {
		cl->verify->cl = NULL;
		cl->verify = NULL;
	}
	free_queue(cl);
	uv_close((uv_handle_t *)&cl->timer, on_handle_closed);
	uv_close((uv_handle_t *)&cl->drain, on_handle_closed);
	net_conn_close(cl->conn, on_conn_closed, cl);
}

static int protocol_error(struct client *cl, const char *why, uint8_t type)
{
	char msg[96];

	cl->srv->stats.protocol_errors++;
	snprintf(msg, sizeof(msg), "protocol error: %s (%s)", why, relay_frame_name(type));
	close_client(cl, msg);
	return FRAME_STOP;
}

static void on_keepalive(uv_timer_t *t)
{
	struct client *cl = t->data;
	unsigned int ka = cl->srv->keepalive_ms;
	uint8_t frame[RELAY_FRAME_HEADER_LEN];

	client_send(cl, frame, relay_build_keep_alive(frame));
	/* Jitter spreads the keepalives of clients that connected together. */
	uv_timer_start(&cl->timer, on_keepalive, ka + randombytes_uniform(ka / 12 + 1), 0);
}

static void on_handshake_timeout(uv_timer_t *t)
{
	struct client *cl = t->data;

	cl->srv->stats.handshake_failures++;
	close_client(cl, "handshake timeout");
}

static void admit(struct client *cl)
{
	struct relay_server *srv = cl->srv;
	struct relay_server_info info = {
		.version = RELAY_PROTOCOL_VERSION,
		.keepalive_ms = srv->keepalive_ms,
		.queue_depth = srv->queue_depth,
		.max_packet = RELAY_MAX_PACKET_LEN,
	};
	uint8_t frame[RELAY_SERVER_INFO_FRAME_MAX];
	struct client *old = keymap_get(&srv->clients, cl->key);
	size_t n;

	if (old) {
		srv->stats.replaced++;
		old->replaced = true;
		send_health(old, "another connection with this node key took over");
		close_client(old, "replaced by a newer connection");
	}
	n = relay_seal_server_info(frame, srv->priv, cl->key, &info);
	if (!n || keymap_put(&srv->clients, cl->key, cl)) {
		close_client(cl, "cannot admit (out of memory)");
		return;
	}
	cl->state = CLIENT_ACTIVE;
	if (client_send(cl, frame, n) < 0) {
		close_client(cl, "write failed");
		return;
	}
	uv_timer_start(&cl->timer, on_keepalive,
		       srv->keepalive_ms + randombytes_uniform(srv->keepalive_ms / 12 + 1), 0);
	log_debug(LOG_COMP, "client admitted key=%s peer=%s", cl->keytext, net_conn_peer(cl->conn));
}

void relay_verify_done(struct relay_verify *v, bool allow)
{
	struct client *cl = v->cl;

	free(v);
	if (!cl)
		return;
	cl->verify = NULL;
	if (cl->state != CLIENT_VERIFYING)
		return;
	if (!allow) {
		cl->srv->stats.denied++;
		send_health(cl, "this relay does not serve this node key");
		close_client(cl, "denied by verification");
		return;
	}
	admit(cl);
}

static int on_client_info(struct client *cl, const uint8_t *p, size_t len)
{
	struct relay_server *srv = cl->srv;
	struct relay_client_info info;
	struct relay_verify *v;
	int ret;

	ret = relay_open_client_info(p, len, srv->priv, cl->challenge, &info);
	if (ret == -EPROTONOSUPPORT) {
		send_health(cl, "unsupported relay protocol version");
		srv->stats.handshake_failures++;
		close_client(cl, "unsupported protocol version");
		return FRAME_STOP;
	}
	if (ret) {
		srv->stats.handshake_failures++;
		close_client(cl,
			     ret == -EKEYREJECTED ? "key proof failed" : "malformed ClientInfo");
		return FRAME_STOP;
	}
	memcpy(cl->key, info.key, RELAY_KEY_LEN);
	format_key(cl->keytext, cl->key);
	cl->can_ack_pings = info.can_ack_pings;
	cl->reader.max_len = RELAY_MAX_FRAME_LEN;
	if (!srv->verify) {
		admit(cl);
	} else {
		v = calloc(1, sizeof(*v));
		if (!v) {
			close_client(cl, "out of memory");
			return FRAME_STOP;
		}
		v->cl = cl;
		cl->verify = v;
		cl->state = CLIENT_VERIFYING;
		srv->verify(v, cl->key, net_conn_peer(cl->conn), srv->verify_arg);
	}
	return cl->state == CLIENT_CLOSED ? FRAME_STOP : 0;
}

static void not_here(struct client *src, const uint8_t *key)
{
	uint64_t now = uv_now(src->srv->loop);

	if (!memcmp(src->not_here_key, key, RELAY_KEY_LEN) &&
	    now - src->not_here_at < NOT_HERE_INTERVAL_MS)
		return;
	memcpy(src->not_here_key, key, RELAY_KEY_LEN);
	src->not_here_at = now;
	send_peer_gone(src, key, RELAY_PEER_GONE_NOT_HERE);
}

/* Remember that @src talks to @dst, so @src hears when @dst leaves. */
static void note_talk(struct client *src, struct client *dst)
{
	if (src->last_dst == dst)
		return;
	if (keymap_get(&src->sent_to, dst->key) != dst) {
		if (keymap_put(&src->sent_to, dst->key, dst))
			return;
		if (keymap_put(&dst->senders, src->key, src)) {
			keymap_remove(&src->sent_to, dst->key);
			return;
		}
	}
	src->last_dst = dst;
}

static void forward(struct client *src, const struct relay_packet *pkt)
{
	struct relay_server *srv = src->srv;
	struct client *dst = keymap_get(&srv->clients, pkt->key);
	size_t n;

	if (!dst) {
		srv->stats.drops_unknown_dst++;
		not_here(src, pkt->key);
		return;
	}
	n = relay_build_packet(srv->scratch, RELAY_MAX_FRAME_TOTAL, RELAY_FRAME_RECV_PACKET,
			       src->key, pkt->data, pkt->len);
	note_talk(src, dst);
	if (client_send(dst, srv->scratch, n) < 0)
		return;
	src->packets_in++;
	dst->packets_out++;
	srv->stats.packets_forwarded++;
	srv->stats.bytes_forwarded += pkt->len;
}

static int on_frame(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	struct client *cl = arg;
	struct relay_packet pkt;
	uint8_t ping[RELAY_PING_LEN], frame[RELAY_PING_FRAME_LEN];

	switch (cl->state) {
	case CLIENT_CLOSED:
		return FRAME_STOP;
	case CLIENT_HANDSHAKE:
		if (type != RELAY_FRAME_CLIENT_INFO) {
			cl->srv->stats.handshake_failures++;
			return protocol_error(cl, "expected ClientInfo", type);
		}
		return on_client_info(cl, p, len);
	case CLIENT_VERIFYING:
		return protocol_error(cl, "frame before ServerInfo", type);
	case CLIENT_ACTIVE:
		break;
	}
	switch (type) {
	case RELAY_FRAME_SEND_PACKET:
		if (relay_parse_packet(p, len, &pkt))
			return protocol_error(cl, "short packet", type);
		forward(cl, &pkt);
		break;
	case RELAY_FRAME_KEEP_ALIVE:
	case RELAY_FRAME_PONG:
		break;
	case RELAY_FRAME_PING:
		if (relay_parse_ping(p, len, ping))
			return protocol_error(cl, "bad ping", type);
		client_send(cl, frame, relay_build_ping(frame, RELAY_FRAME_PONG, ping));
		break;
	default:
		/* Newer frame types are skipped; known server-to-client ones are errors. */
		if (type > RELAY_FRAME_MAX_KNOWN)
			break;
		return protocol_error(cl, "unexpected frame", type);
	}
	return cl->state == CLIENT_CLOSED ? FRAME_STOP : 0;
}

static void on_read(struct net_conn *c, ssize_t nread, const uint8_t *buf, void *arg)
{
	struct client *cl = arg;
	int ret;

	if (cl->state == CLIENT_CLOSED)
		return;
	if (nread < 0) {
		close_client(cl, nread == UV_EOF ? "closed by the client" : net_conn_strerror(c));
		return;
	}
	ret = relay_reader_feed(&cl->reader, buf, (size_t)nread, on_frame, cl);
	if (ret == -EMSGSIZE) {
		if (cl->state == CLIENT_HANDSHAKE)
			cl->srv->stats.handshake_failures++;
		cl->srv->stats.protocol_errors++;
		close_client(cl, "protocol error: frame too large");
	} else if (ret < 0) {
		close_client(cl, "out of memory");
	}
}

int relay_server_handle_upgrade(struct relay_server *srv, struct net_conn *conn,
				const uint8_t *already_read, size_t len)
{
	uint8_t frame[RELAY_SERVER_KEY_FRAME_LEN];
	struct client *cl;
	int ret;

	if (srv->closing) {
		net_conn_close(conn, NULL, NULL);
		return -ESHUTDOWN;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		net_conn_close(conn, NULL, NULL);
		return -ENOMEM;
	}
	cl->srv = srv;
	cl->conn = conn;
	cl->state = CLIENT_HANDSHAKE;
	cl->handles = 3;
	uv_timer_init(srv->loop, &cl->timer);
	uv_timer_init(srv->loop, &cl->drain);
	cl->timer.data = cl;
	cl->drain.data = cl;
	randombytes_buf(cl->challenge, sizeof(cl->challenge));
	relay_reader_init(&cl->reader, RELAY_CLIENT_INFO_MAX);
	cl->next = srv->all;
	if (srv->all)
		srv->all->prev = cl;
	srv->all = cl;
	srv->nconns++;
	srv->stats.accepted++;

	ret = already_read && len ? net_conn_unread(conn, already_read, len) : 0;
	if (ret)
		goto err_close;
	net_conn_set_read_cb(conn, on_read, cl);
	ret = net_conn_read_start(conn);
	if (ret)
		goto err_close;
	ret = net_conn_write(conn, frame, relay_build_server_key(frame, srv->pub, cl->challenge));
	if (ret)
		goto err_close;
	uv_timer_start(&cl->timer, on_handshake_timeout, srv->handshake_timeout_ms, 0);
	return 0;

err_close:
	close_client(cl, "cannot start");
	return ret;
}

void relay_server_http_handler(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct relay_server *srv = arg;
	const char *up = http_request_header(req, "Upgrade");
	struct net_conn *conn;
	char version[16];

	if (!req->upgrade || !up || strcasecmp(up, RELAY_UPGRADE_PROTOCOL)) {
		http_exchange_respond_text(ex, 426,
					   "this is a relay endpoint: send "
					   "\"Upgrade: " RELAY_UPGRADE_PROTOCOL "\"\n");
		return;
	}
	if (srv->closing) {
		http_exchange_respond_text(ex, 503, "the relay is shutting down\n");
		return;
	}
	snprintf(version, sizeof(version), "%d", RELAY_PROTOCOL_VERSION);
	http_exchange_add_header(ex, "Relay-Version", version);
	if (http_exchange_upgrade(ex, RELAY_UPGRADE_PROTOCOL, &conn) < 0)
		return;
	relay_server_handle_upgrade(srv, conn, NULL, 0);
}

int relay_server_new(struct relay_server **out, uv_loop_t *loop,
		     const struct relay_server_config *cfg)
{
	static const struct relay_server_config defaults;
	struct relay_server *srv;

	*out = NULL;
	if (!cfg)
		cfg = &defaults;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->scratch = malloc(RELAY_MAX_FRAME_TOTAL);
	if (!srv->scratch) {
		free(srv);
		return -ENOMEM;
	}
	if (cfg->private_key)
		memcpy(srv->priv, cfg->private_key, RELAY_KEY_LEN);
	else
		randombytes_buf(srv->priv, RELAY_KEY_LEN);
	if (crypto_scalarmult_base(srv->pub, srv->priv)) {
		sodium_memzero(srv->priv, sizeof(srv->priv));
		free(srv->scratch);
		free(srv);
		return -EINVAL;
	}
	srv->loop = loop;
	srv->keepalive_ms = cfg->keepalive_ms ? cfg->keepalive_ms : DEF_KEEPALIVE_MS;
	srv->handshake_timeout_ms =
		cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : DEF_HANDSHAKE_TIMEOUT_MS;
	srv->write_timeout_ms =
		cfg->write_timeout_ms ? cfg->write_timeout_ms : DEF_WRITE_TIMEOUT_MS;
	srv->queue_depth = cfg->queue_depth ? cfg->queue_depth : DEF_QUEUE_DEPTH;
	srv->queue_bytes = cfg->queue_bytes ? cfg->queue_bytes : DEF_QUEUE_BYTES;
	srv->verify = cfg->verify;
	srv->verify_arg = cfg->verify_arg;
	uv_timer_init(loop, &srv->defer);
	srv->defer.data = srv;
	*out = srv;
	return 0;
}

void relay_server_public_key(const struct relay_server *srv, uint8_t pub[RELAY_KEY_LEN])
{
	memcpy(pub, srv->pub, RELAY_KEY_LEN);
}

void relay_server_get_stats(const struct relay_server *srv, struct relay_server_stats *out)
{
	*out = srv->stats;
	out->clients = keymap_count(&srv->clients);
	out->connections = srv->nconns;
}

int relay_server_client_stats(const struct relay_server *srv, const uint8_t key[RELAY_KEY_LEN],
			      struct relay_client_stats *out)
{
	const struct client *cl = keymap_get(&srv->clients, key);

	memset(out, 0, sizeof(*out));
	if (!cl)
		return -ENOENT;
	out->queued_frames = cl->qlen;
	out->queued_bytes = cl->qbytes;
	out->write_queued = net_conn_write_queue_size(cl->conn);
	out->dropped = cl->dropped;
	out->packets_in = cl->packets_in;
	out->packets_out = cl->packets_out;
	return 0;
}

static void on_server_closed(uv_handle_t *h)
{
	struct relay_server *srv = h->data;
	relay_server_closed_cb *cb = srv->closed_cb;
	void *arg = srv->closed_arg;

	keymap_free(&srv->clients);
	sodium_memzero(srv->priv, sizeof(srv->priv));
	free(srv->scratch);
	free(srv);
	if (cb)
		cb(arg);
}

void relay_server_close(struct relay_server *srv, uint32_t restart_in_ms, uint32_t try_for_ms,
			relay_server_closed_cb *cb, void *arg)
{
	uint8_t frame[RELAY_RESTARTING_FRAME_LEN];
	struct client *cl, *next;

	if (srv->closing)
		return;
	srv->closing = true;
	srv->closed_cb = cb;
	srv->closed_arg = arg;
	relay_build_restarting(frame, restart_in_ms, try_for_ms);
	for (cl = srv->all; cl; cl = next) {
		next = cl->next;
		if (cl->state == CLIENT_ACTIVE && restart_in_ms) {
			/* Straight to the connection, past any queue: it is the last word. */
			net_conn_write(cl->conn, frame, sizeof(frame));
		}
		/* Shutting down is not the peers leaving: no PeerGone storm. */
		cl->replaced = true;
		close_client(cl, "server shutting down");
	}
	/* release() closes defer once the last connection is gone. */
	if (!srv->nconns)
		uv_close((uv_handle_t *)&srv->defer, on_server_closed);
}
