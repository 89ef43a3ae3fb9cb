// SPDX-License-Identifier: MIT
/*
 * Relay client (see relay_client.h and docs/protocol.md).
 *
 * States: BACKOFF (waiting to connect) -> REQUEST (HTTP Upgrade in flight)
 * -> HANDSHAKE (upgraded: ServerKey, ClientInfo, ServerInfo) -> CONNECTED,
 * and back to BACKOFF on any failure. One timer serves all of them: the
 * reconnect delay, the connect deadline, then the liveness check. CLOSED is
 * final; the struct is freed in the timer's close callback, so a callback
 * that frees the client leaves the code below it a valid struct to look at.
 */
#include "relay/relay_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "net/conn.h"
#include "net/http_client.h"
#include "relay/relay_server.h"
#include "util/log.h"

enum client_defaults {
	DEF_CONNECT_TIMEOUT_MS = 10 * 1000,
	DEF_BACKOFF_MIN_MS = 250,
	DEF_BACKOFF_MAX_MS = 30 * 1000,
	DEF_SERVER_KEEPALIVE_MS = 60 * 1000, /* when ServerInfo does not say */
	KEEPALIVE_SLACK_MS = 5 * 1000,
	DEF_MAX_WRITE_QUEUE = 1024 * 1024,
	MIN_LIVENESS_CHECK_MS = 50,
	WHY_LEN = 512,
	URL_MAX = 2048,
};

static const char *const LOG_COMP = "relayclient";

enum rc_state {
	RC_BACKOFF,
	RC_REQUEST,
	RC_HANDSHAKE,
	RC_CONNECTED,
	RC_STOPPED, /* no_reconnect and failed: idle until freed */
	RC_CLOSED,
};

/* The frame callback returns this after the connection was dropped. */
enum { FRAME_STOP = 1 };

struct relay_client {
	uv_loop_t *loop;
	uv_timer_t timer;
	enum rc_state state;
	char *url;
	char *server_name;
	struct tls_config *tls;
	uint8_t priv[RELAY_KEY_LEN];
	uint8_t pub[RELAY_KEY_LEN];
	uint8_t server_pub[RELAY_KEY_LEN];
	bool got_server_key;
	struct http_client_req *req;
	struct net_conn *conn;
	struct relay_reader reader;
	uint8_t *scratch; /* one whole frame */

	unsigned int connect_timeout_ms, backoff_min_ms, backoff_max_ms, keepalive_timeout_ms;
	unsigned int backoff_ms; /* the next delay */
	unsigned int restart_ms; /* from Restarting: the next delay instead, once */
	unsigned int live_ms;	 /* silence that means dead, for this connection */
	uint64_t last_rx;	 /* loop time of the last frame */
	size_t max_write_queue;
	bool no_reconnect;

	relay_client_recv_cb *on_recv;
	relay_client_peer_gone_cb *on_peer_gone;
	relay_client_state_cb *on_state;
	relay_client_pong_cb *on_pong;
	relay_client_health_cb *on_health;
	void *arg;
};

static void start_connect(struct relay_client *rc);

static void on_timer_closed(uv_handle_t *h)
{
	struct relay_client *rc = h->data;

	relay_reader_free(&rc->reader);
	free(rc->scratch);
	free(rc->url);
	free(rc->server_name);
	free(rc);
}

static void drop_connection(struct relay_client *rc)
{
	if (rc->req) {
		http_client_cancel(rc->req);
		rc->req = NULL;
	}
	if (rc->conn) {
		net_conn_close(rc->conn, NULL, NULL);
		rc->conn = NULL;
	}
	/* The reader stays: this may run inside its callback. on_upgrade() resets it. */
	rc->got_server_key = false;
}

static void on_backoff(uv_timer_t *t)
{
	start_connect(t->data);
}

/* The connection failed or was lost: report it, then schedule the next try. */
static void fail(struct relay_client *rc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct relay_client *rc, const char *fmt, ...)
{
	bool was_connected = rc->state == RC_CONNECTED;
	unsigned int delay;
	char why[WHY_LEN];
	va_list ap;

	if (rc->state == RC_CLOSED || rc->state == RC_STOPPED || rc->state == RC_BACKOFF)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	drop_connection(rc);
	uv_timer_stop(&rc->timer);
	rc->state = rc->no_reconnect ? RC_STOPPED : RC_BACKOFF;
	if (rc->restart_ms) {
		delay = rc->restart_ms;
		rc->restart_ms = 0;
	} else {
		/* Half fixed, half random: clients that lost one server do not return in step. */
		delay = rc->backoff_ms / 2 + randombytes_uniform(rc->backoff_ms / 2 + 1);
		rc->backoff_ms = rc->backoff_ms * 2 > rc->backoff_max_ms ? rc->backoff_max_ms
									 : rc->backoff_ms * 2;
	}
	if (rc->state == RC_BACKOFF)
		uv_timer_start(&rc->timer, on_backoff, delay, 0);
	log_debug(LOG_COMP, "%s %s: %s%s", was_connected ? "lost" : "cannot connect to", rc->url,
		  why, rc->state == RC_BACKOFF ? " (retrying)" : "");
	if (rc->on_state)
		rc->on_state(rc, false, why, rc->arg);
}

static void on_liveness(uv_timer_t *t)
{
	struct relay_client *rc = t->data;

	if (uv_now(rc->loop) - rc->last_rx >= rc->live_ms)
		fail(rc, "no frame from the relay for %u ms", rc->live_ms);
}

static void on_connect_timeout(uv_timer_t *t)
{
	fail(t->data, "timed out connecting");
}

static int write_frame(struct relay_client *rc, const uint8_t *frame, size_t len)
{
	return net_conn_write(rc->conn, frame, len);
}

static int on_server_key(struct relay_client *rc, const uint8_t *p, size_t len)
{
	struct relay_client_info info = {.version = RELAY_PROTOCOL_VERSION, .can_ack_pings = true};
	uint8_t challenge[RELAY_CHALLENGE_LEN];
	size_t n;

	if (relay_parse_server_key(p, len, rc->server_pub, challenge)) {
		fail(rc, "bad ServerKey: not a relay server");
		return FRAME_STOP;
	}
	n = relay_seal_client_info(rc->scratch, rc->priv, rc->server_pub, challenge, &info);
	if (!n) {
		fail(rc, "cannot seal ClientInfo to the server key");
		return FRAME_STOP;
	}
	if (write_frame(rc, rc->scratch, n) < 0) {
		fail(rc, "connection lost: %s", net_conn_strerror(rc->conn));
		return FRAME_STOP;
	}
	rc->got_server_key = true;
	rc->reader.max_len = RELAY_SERVER_INFO_MAX;
	return 0;
}

static int on_server_info(struct relay_client *rc, const uint8_t *p, size_t len)
{
	struct relay_server_info info;
	unsigned int check;
	int ret;

	ret = relay_open_server_info(p, len, rc->priv, rc->server_pub, &info);
	if (ret) {
		fail(rc, "bad ServerInfo: %s",
		     ret == -EPROTONOSUPPORT ? "unsupported version" : "does not open");
		return FRAME_STOP;
	}
	rc->state = RC_CONNECTED;
	rc->last_rx = uv_now(rc->loop);
	rc->reader.max_len = RELAY_MAX_FRAME_LEN;
	rc->backoff_ms = rc->backoff_min_ms;
	rc->live_ms = rc->keepalive_timeout_ms;
	if (!rc->live_ms)
		rc->live_ms =
			2 * (info.keepalive_ms ? info.keepalive_ms : DEF_SERVER_KEEPALIVE_MS) +
			KEEPALIVE_SLACK_MS;
	check = rc->live_ms / 4 > MIN_LIVENESS_CHECK_MS ? rc->live_ms / 4 : MIN_LIVENESS_CHECK_MS;
	uv_timer_start(&rc->timer, on_liveness, check, check);
	log_debug(LOG_COMP, "connected to %s", rc->url);
	if (rc->on_state)
		rc->on_state(rc, true, "connected", rc->arg);
	return rc->state == RC_CONNECTED ? 0 : FRAME_STOP;
}

static int on_data_frame(struct relay_client *rc, uint8_t type, const uint8_t *p, size_t len)
{
	char text[RELAY_MAX_HEALTH_LEN + 1];
	uint8_t key[RELAY_KEY_LEN], ping[RELAY_PING_LEN], frame[RELAY_PING_FRAME_LEN];
	struct relay_packet pkt;
	uint32_t reconnect_in, try_for;
	uint8_t reason;

	switch (type) {
	case RELAY_FRAME_RECV_PACKET:
		if (relay_parse_packet(p, len, &pkt))
			break;
		if (rc->on_recv)
			rc->on_recv(rc, pkt.key, pkt.data, pkt.len, rc->arg);
		return 0;
	case RELAY_FRAME_KEEP_ALIVE:
		return 0;
	case RELAY_FRAME_PEER_GONE:
		if (relay_parse_peer_gone(p, len, key, &reason))
			break;
		if (rc->on_peer_gone)
			rc->on_peer_gone(rc, key, reason, rc->arg);
		return 0;
	case RELAY_FRAME_PING:
		if (relay_parse_ping(p, len, ping))
			break;
		write_frame(rc, frame, relay_build_ping(frame, RELAY_FRAME_PONG, ping));
		return 0;
	case RELAY_FRAME_PONG:
		if (relay_parse_ping(p, len, ping))
			break;
		if (rc->on_pong)
			rc->on_pong(rc, ping, rc->arg);
		return 0;
	case RELAY_FRAME_HEALTH:
		if (relay_parse_health(p, len, text, sizeof(text)))
			break;
		if (text[0])
			log_warn(LOG_COMP, "relay %s reports: %s", rc->url, text);
		if (rc->on_health)
			rc->on_health(rc, text, rc->arg);
		return 0;
	case RELAY_FRAME_RESTARTING:
		if (relay_parse_restarting(p, len, &reconnect_in, &try_for))
			break;
		/* Come back when it says, at once if it says nothing sensible. */
		rc->restart_ms =
			reconnect_in > rc->backoff_max_ms ? rc->backoff_max_ms : reconnect_in;
		if (!rc->restart_ms)
			rc->restart_ms = 1;
		rc->backoff_ms = rc->backoff_min_ms;
		fail(rc, "the relay is restarting");
		return FRAME_STOP;
	default:
		if (type > RELAY_FRAME_MAX_KNOWN)
			return 0; /* from a newer server: skip */
		break;
	}
	fail(rc, "protocol error: bad %s frame", relay_frame_name(type));
	return FRAME_STOP;
}

static int on_frame(void *arg, uint8_t type, const uint8_t *p, size_t len)
{
	struct relay_client *rc = arg;
	int ret;

	if (rc->state == RC_CONNECTED) {
		rc->last_rx = uv_now(rc->loop);
		ret = on_data_frame(rc, type, p, len);
		return ret || rc->state != RC_CONNECTED ? FRAME_STOP : 0;
	}
	if (rc->state != RC_HANDSHAKE)
		return FRAME_STOP;
	if (!rc->got_server_key && type == RELAY_FRAME_SERVER_KEY)
		return on_server_key(rc, p, len);
	if (rc->got_server_key && type == RELAY_FRAME_SERVER_INFO)
		return on_server_info(rc, p, len);
	if (type == RELAY_FRAME_HEALTH && rc->got_server_key) {
		/* A refusal explains itself before the server closes. */
		char text[RELAY_MAX_HEALTH_LEN + 1];

		if (!relay_parse_health(p, len, text, sizeof(text)) && text[0]) {
			fail(rc, "refused by the relay: %s", text);
			return FRAME_STOP;
		}
		return 0;
	}
	fail(rc, "protocol error: unexpected %s during the handshake", relay_frame_name(type));
	return FRAME_STOP;
}

static void on_read(struct net_conn *c, ssize_t nread, const uint8_t *buf, void *arg)
{
	struct relay_client *rc = arg;
	int ret;

	if (nread < 0) {
		if (rc->state == RC_HANDSHAKE)
			fail(rc, "the relay closed the connection during the handshake%s%s",
			     nread == UV_EOF ? "" : ": ",
			     nread == UV_EOF ? "" : net_conn_strerror(c));
		else
			fail(rc, "connection lost: %s",
			     nread == UV_EOF ? "closed by the relay" : net_conn_strerror(c));
		return;
	}
	ret = relay_reader_feed(&rc->reader, buf, (size_t)nread, on_frame, rc);
	if (ret == -EMSGSIZE)
		fail(rc, "protocol error: frame too large");
	else if (ret < 0)
		fail(rc, "out of memory");
}

static void on_upgrade(struct http_client_req *req, struct net_conn *conn,
		       const struct http_response *resp, void *arg)
{
	struct relay_client *rc = arg;

	(void)req;
	(void)resp;
	rc->req = NULL;
	rc->conn = conn;
	rc->state = RC_HANDSHAKE;
	relay_reader_free(&rc->reader);
	relay_reader_init(&rc->reader, RELAY_SERVER_KEY_MAX);
	net_conn_set_read_cb(conn, on_read, rc);
	if (net_conn_read_start(conn) < 0)
		fail(rc, "cannot read from the connection");
}

static void on_done(struct http_client_req *req, int err, const char *errmsg,
		    const struct http_response *resp, void *arg)
{
	struct relay_client *rc = arg;

	(void)req;
	rc->req = NULL;
	if (err < 0)
		fail(rc, "%s", errmsg && errmsg[0] ? errmsg : "request failed");
	else
		fail(rc, "the server did not switch to the relay protocol: HTTP %d",
		     resp ? resp->status : 0);
}

static void start_connect(struct relay_client *rc)
{
	struct http_client_options o = {
		.url = rc->url,
		.upgrade = RELAY_UPGRADE_PROTOCOL,
		.tls = rc->tls,
		.tls_server_name = rc->server_name,
		.timeout_ms = rc->connect_timeout_ms,
		.on_done = on_done,
		.on_upgrade = on_upgrade,
		.arg = rc,
	};
	int ret;

	rc->state = RC_REQUEST;
	uv_timer_start(&rc->timer, on_connect_timeout, rc->connect_timeout_ms, 0);
	ret = http_client_request(&rc->req, rc->loop, &o);
	if (ret < 0) {
		rc->req = NULL;
		fail(rc, "cannot start the request to %s: %s", rc->url,
		     ret == -ENOKEY ? "https needs a TLS configuration" : uv_strerror(ret));
	}
}

/* The URL as given, or with "/relay" when it names no path. */
static char *relay_url(const char *url)
{
	const char *host = strstr(url, "://");
	size_t len = strlen(url);
	char *out;

	if (len > URL_MAX)
		return NULL;
	host = host ? host + 3 : url;
	out = malloc(len + sizeof(RELAY_HTTP_PATH));
	if (!out)
		return NULL;
	memcpy(out, url, len + 1);
	if (!strchr(host, '/'))
		memcpy(out + len, RELAY_HTTP_PATH, sizeof(RELAY_HTTP_PATH));
	else if (!strcmp(strchr(host, '/'), "/"))
		memcpy(out + len - 1, RELAY_HTTP_PATH, sizeof(RELAY_HTTP_PATH));
	return out;
}

int relay_client_new(struct relay_client **out, uv_loop_t *loop,
		     const struct relay_client_config *cfg)
{
	struct relay_client *rc;

	*out = NULL;
	if (!cfg->url || !cfg->private_key)
		return -EINVAL;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	memcpy(rc->priv, cfg->private_key, RELAY_KEY_LEN);
	if (crypto_scalarmult_base(rc->pub, rc->priv)) {
		sodium_memzero(rc->priv, sizeof(rc->priv));
		free(rc);
		return -EINVAL;
	}
	rc->url = relay_url(cfg->url);
	rc->server_name = cfg->tls_server_name ? strdup(cfg->tls_server_name) : NULL;
	rc->scratch = malloc(RELAY_MAX_FRAME_TOTAL);
	if (!rc->url || !rc->scratch || (cfg->tls_server_name && !rc->server_name)) {
		sodium_memzero(rc->priv, sizeof(rc->priv));
		free(rc->url);
		free(rc->server_name);
		free(rc->scratch);
		free(rc);
		return -ENOMEM;
	}
	rc->loop = loop;
	rc->tls = cfg->tls;
	rc->connect_timeout_ms =
		cfg->connect_timeout_ms ? cfg->connect_timeout_ms : DEF_CONNECT_TIMEOUT_MS;
	rc->backoff_min_ms = cfg->backoff_min_ms ? cfg->backoff_min_ms : DEF_BACKOFF_MIN_MS;
	rc->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : DEF_BACKOFF_MAX_MS;
	if (rc->backoff_max_ms < rc->backoff_min_ms)
		rc->backoff_max_ms = rc->backoff_min_ms;
	rc->backoff_ms = rc->backoff_min_ms;
	rc->keepalive_timeout_ms = cfg->keepalive_timeout_ms;
	rc->max_write_queue = cfg->max_write_queue ? cfg->max_write_queue : DEF_MAX_WRITE_QUEUE;
	rc->no_reconnect = cfg->no_reconnect;
	rc->on_recv = cfg->on_recv;
	rc->on_peer_gone = cfg->on_peer_gone;
	rc->on_state = cfg->on_state;
	rc->on_pong = cfg->on_pong;
	rc->on_health = cfg->on_health;
	rc->arg = cfg->arg;
	uv_timer_init(loop, &rc->timer);
	rc->timer.data = rc;
	/* Connect from the loop, so no callback runs inside this call. */
	rc->state = RC_BACKOFF;
	uv_timer_start(&rc->timer, on_backoff, 0, 0);
	*out = rc;
	return 0;
}

int relay_client_send(struct relay_client *rc, const uint8_t dst[RELAY_KEY_LEN], const void *data,
		      size_t len)
{
	size_t n;

	if (rc->state != RC_CONNECTED)
		return -ENOTCONN;
	if (len > RELAY_MAX_PACKET_LEN)
		return -EMSGSIZE;
	if (net_conn_write_queue_size(rc->conn) > rc->max_write_queue)
		return -ENOBUFS;
	n = relay_build_packet(rc->scratch, RELAY_MAX_FRAME_TOTAL, RELAY_FRAME_SEND_PACKET, dst,
			       data, len);
	/* A failed write also ends the read side: the loss is reported from there. */
	return write_frame(rc, rc->scratch, n);
}

int relay_client_ping(struct relay_client *rc, const uint8_t data[RELAY_PING_LEN])
{
	uint8_t frame[RELAY_PING_FRAME_LEN];

	if (rc->state != RC_CONNECTED)
		return -ENOTCONN;
	return write_frame(rc, frame, relay_build_ping(frame, RELAY_FRAME_PING, data));
}

bool relay_client_connected(const struct relay_client *rc)
{
	return rc->state == RC_CONNECTED;
}

void relay_client_public_key(const struct relay_client *rc, uint8_t pub[RELAY_KEY_LEN])
{
	memcpy(pub, rc->pub, RELAY_KEY_LEN);
}

int relay_client_server_key(const struct relay_client *rc, uint8_t pub[RELAY_KEY_LEN])
{
	if (rc->state != RC_CONNECTED)
		return -ENOTCONN;
	memcpy(pub, rc->server_pub, RELAY_KEY_LEN);
	return 0;
}

void relay_client_free(struct relay_client *rc)
{
	if (!rc || rc->state == RC_CLOSED)
		return;
	rc->state = RC_CLOSED;
	drop_connection(rc);
	sodium_memzero(rc->priv, sizeof(rc->priv));
	uv_close((uv_handle_t *)&rc->timer, on_timer_closed);
}
