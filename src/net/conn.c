// SPDX-License-Identifier: MIT
/*
 * TCP (+TLS) byte streams on libuv.
 *
 * Reading: libuv reads into one per-thread buffer; plain TCP data goes
 * straight to the owner, TLS data is fed to the session and the plaintext is
 * drained record by record. Pushed-back bytes (net_conn_unread) always go
 * first, and the end of the stream (UV_EOF or an error) is reported once,
 * after every byte before it. Delivery stops as soon as the owner stops
 * reading or closes, so a connection may change owners mid-buffer (HTTP
 * Upgrade): what is left waits in the TLS session or the pushback queue.
 *
 * Closing is "lingering", as web servers do: queued writes drain, FIN is sent,
 * and input is read and dropped until the peer closes too or CONN_LINGER_MS
 * pass. Closing outright with unread input would make the kernel send RST,
 * and the peer could lose the response we just wrote (a 413, say).
 *
 * Lifetime: the struct holds two handles (tcp, timer) and is freed when both
 * close callbacks have run. The timer serves deferred delivery while open and
 * the linger deadline while closing.
 */
#include "net/conn.h"

#include "net/netbuf.h"
#include "net/tls.h"
#include "util/compiler.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum conn_limits {
	CONN_READ_BUF = 64 * 1024,
	CONN_PLAIN_BUF = 16 * 1024, /* one TLS record of plaintext */
	CONN_LINGER_MS = 3000,
	CONN_KEEPALIVE_S = 60,
	CONN_ERR_LEN = 256,
	CONN_PEER_LEN = 64,
};

struct net_conn {
	/* A TCP connection, or an accepted Unix-socket one (local API). */
	union {
		uv_tcp_t t;
		uv_pipe_t p;
	} tcp;
	bool is_unix;
	uid_t peer_uid; /* Unix sockets: SO_PEERCRED; else (uid_t)-1 */
	pid_t peer_pid;
	uv_timer_t timer;
	uv_connect_t connect_req;
	uv_shutdown_t shutdown_req;
	struct tls_session *tls; /* NULL: plain TCP */
	struct net_buf pending;	 /* plaintext written before the TLS handshake finished */
	struct net_buf pushback; /* delivered before any further input */

	net_conn_read_cb *read_cb;
	void *read_arg;
	net_conn_connect_cb *connect_cb;
	void *connect_arg;
	net_conn_close_cb *close_cb;
	void *close_arg;

	size_t write_queued; /* bytes in uv_write requests not yet completed */
	int error;	     /* first end-of-stream cause: UV_EOF or a negative errno */
	int open_handles;
	bool connecting;     /* net_conn_connect() has not called back yet */
	bool connected;	     /* TCP is up */
	bool handshake_done; /* TLS finished (meaningless for plain TCP) */
	bool want_read;	     /* the owner asked for data */
	bool uv_reading;     /* uv_read_start is active */
	bool tcp_done;	     /* no more TCP input wanted or possible */
	bool error_reported;
	bool closing;
	bool shutdown_done;
	bool handles_closing;
	char err[CONN_ERR_LEN];
	char peer[CONN_PEER_LEN];
};

struct conn_write {
	uv_write_t req;
	struct net_conn *c;
	size_t len;
	uint8_t *owned; /* heap buffer to free with the request, or NULL */
	uint8_t data[];
};

static _Thread_local uint8_t read_buf[CONN_READ_BUF];

static void tls_drain(struct net_conn *c);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void set_error(struct net_conn *c, int err, const char *why)
{
	if (c->error && c->error != UV_EOF)
		return; /* keep the first real error */
	c->error = err;
	if (why && why[0])
		snprintf(c->err, sizeof(c->err), "%s", why);
}

static bool can_deliver(const struct net_conn *c)
{
	return c->want_read && !c->closing && c->read_cb;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	*buf = uv_buf_init((char *)read_buf, sizeof(read_buf));
}

/* Start or stop libuv reading to match what the connection needs now. */
static int update_reading(struct net_conn *c)
{
	bool want = c->connected && !c->tcp_done && !c->handles_closing &&
		    (c->closing || c->want_read || (c->tls && !c->handshake_done));
	int ret;

	if (want == c->uv_reading)
		return 0;
	if (want) {
		ret = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
		if (ret < 0)
			return ret;
	} else {
		uv_read_stop((uv_stream_t *)&c->tcp);
	}
	c->uv_reading = want;
	return 0;
}

static void stop_input(struct net_conn *c)
{
	c->tcp_done = true;
	update_reading(c);
}

/* Deliver pushed-back bytes; true when none are left and the owner still reads. */
static bool flush_pushback(struct net_conn *c)
{
	while (net_buf_len(&c->pushback) && can_deliver(c)) {
		struct net_buf b = c->pushback;

		memset(&c->pushback, 0, sizeof(c->pushback));
		c->read_cb(c, (ssize_t)net_buf_len(&b), net_buf_head(&b), c->read_arg);
		net_buf_free(&b);
	}
	return can_deliver(c) && !net_buf_len(&c->pushback);
}

/* Hand @len bytes to the owner after any pushback; keep them if it stopped reading. */
static void deliver(struct net_conn *c, const uint8_t *buf, size_t len)
{
	if (!flush_pushback(c)) {
		if (!c->closing && net_buf_append(&c->pushback, buf, len, 0)) {
			set_error(c, -ENOMEM, NULL);
			stop_input(c);
		}
		return;
	}
	c->read_cb(c, (ssize_t)len, buf, c->read_arg);
}

/* Report the end of the stream once, after every byte before it. */
static void check_end(struct net_conn *c)
{
	if (!c->error || c->error_reported || !flush_pushback(c))
		return;
	c->error_reported = true;
	c->read_cb(c, c->error, NULL, c->read_arg);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct net_conn *c = h->data;

	if (--c->open_handles)
		return;
	if (c->close_cb)
		c->close_cb(c, c->close_arg);
	tls_session_free(c->tls);
	net_buf_free(&c->pending);
	net_buf_free(&c->pushback);
	free(c);
}

static void close_handles(struct net_conn *c)
{
	if (c->handles_closing)
		return;
	c->handles_closing = true;
	c->uv_reading = false;
	c->open_handles = 2;
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_write(uv_write_t *req, int status)
{
	struct conn_write *w = container_of(req, struct conn_write, req);
	struct net_conn *c = w->c;

	c->write_queued -= w->len;
	free(w->owned);
	free(w);
	if (status < 0 && status != UV_ECANCELED && !c->closing) {
		set_error(c, status, NULL);
		stop_input(c);
		check_end(c);
	}
}

/*
 * Send @len bytes at @p. With @owned (a malloc'd buffer containing @p) the
 * buffer is taken over instead of copied. Tries a direct write first when
 * nothing is queued, so the common small response costs no allocation.
 */
static int submit_write(struct net_conn *c, const uint8_t *p, size_t len, uint8_t *owned)
{
	struct conn_write *w;
	uv_buf_t b;
	int ret;

	if (len > UINT_MAX / 2) {
		free(owned);
		return -EMSGSIZE;
	}
	if (c->connected && c->write_queued == 0) {
		b = uv_buf_init((char *)p, (unsigned int)len);
		ret = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		if (ret >= 0 && (size_t)ret == len) {
			free(owned);
			return 0;
		}
		if (ret > 0) {
			p += ret;
			len -= (size_t)ret;
		} else if (ret != UV_EAGAIN) {
			free(owned);
			return ret;
		}
	}
	w = malloc(sizeof(*w) + (owned ? 0 : len));
	if (!w) {
		free(owned);
		return -ENOMEM;
	}
	w->c = c;
	w->len = len;
	w->owned = owned;
	if (!owned) {
		memcpy(w->data, p, len);
		p = w->data;
	}
	b = uv_buf_init((char *)p, (unsigned int)len);
	ret = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (ret < 0) {
		free(w->owned);
		free(w);
		return ret;
	}
	c->write_queued += len;
	return 0;
}

static int flush_tls_output(struct net_conn *c)
{
	size_t len;
	uint8_t *p = tls_session_take_output(c->tls, &len);

	return p ? submit_write(c, p, len, p) : 0;
}

static void handshake_failed(struct net_conn *c, int err, const char *why)
{
	set_error(c, err, why);
	stop_input(c);
	if (c->connecting) {
		c->connecting = false;
		c->connect_cb(c, err, c->connect_arg);
		return;
	}
	check_end(c);
}

static int handshake_finished(struct net_conn *c)
{
	int ret;

	c->handshake_done = true;
	if (net_buf_len(&c->pending)) {
		ret = tls_session_write(c->tls, net_buf_head(&c->pending),
					net_buf_len(&c->pending));
		net_buf_free(&c->pending);
		if (ret < 0 || (ret = flush_tls_output(c)) < 0) {
			handshake_failed(c, ret, tls_session_error(c->tls));
			return ret;
		}
	}
	update_reading(c);
	if (c->connecting) {
		c->connecting = false;
		c->connect_cb(c, 0, c->connect_arg);
	}
	return 0;
}

static void tls_drain(struct net_conn *c)
{
	uint8_t plain[CONN_PLAIN_BUF];
	ssize_t n;
	int ret;

	if (!c->handshake_done) {
		ret = tls_session_handshake(c->tls);
		if (flush_tls_output(c) < 0 && !ret)
			ret = -EPIPE;
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			handshake_failed(c, ret, tls_session_error(c->tls));
			return;
		}
		if (handshake_finished(c) < 0 || c->closing)
			return;
	}
	while (can_deliver(c) && (!c->error || c->error == UV_EOF)) {
		n = tls_session_read(c->tls, plain, sizeof(plain));
		if (flush_tls_output(c) < 0 && n == -EAGAIN)
			n = -EPIPE;
		if (n > 0) {
			deliver(c, plain, (size_t)n);
			continue;
		}
		if (n == -EAGAIN) {
			/* Input ran dry: at TCP EOF that is the end (with or without close_notify). */
			if (c->tcp_done)
				set_error(c, UV_EOF, NULL);
			break;
		}
		if (n == 0) {
			set_error(c, UV_EOF, NULL); /* close_notify: nothing may follow */
		} else {
			set_error(c, (int)n, tls_session_error(c->tls));
		}
		stop_input(c);
		break;
	}
	check_end(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct net_conn *c = container_of((uv_tcp_t *)s, struct net_conn, tcp);
	int ret;

	if (nread == 0)
		return;
	if (nread < 0) {
		stop_input(c);
		if (c->closing) {
			if (c->shutdown_done)
				close_handles(c);
			return;
		}
		if (c->tls && !c->handshake_done) {
			handshake_failed(c, nread == UV_EOF ? UV_ECONNRESET : (int)nread,
					 "connection closed during the TLS handshake");
			return;
		}
		if (nread != UV_EOF)
			set_error(c, (int)nread, NULL);
		if (c->tls) {
			tls_drain(c);
		} else {
			set_error(c, UV_EOF, NULL);
			check_end(c);
		}
		return;
	}
	if (c->closing)
		return; /* lingering: drop */
	if (!c->tls) {
		deliver(c, (const uint8_t *)buf->base, (size_t)nread);
		return;
	}
	ret = tls_session_feed(c->tls, (const uint8_t *)buf->base, (size_t)nread);
	if (ret < 0) {
		if (!c->handshake_done) {
			handshake_failed(c, ret, tls_session_error(c->tls));
			return;
		}
		set_error(c, ret, tls_session_error(c->tls));
		stop_input(c);
		check_end(c);
		return;
	}
	tls_drain(c);
}

static void on_deferred(uv_timer_t *t)
{
	struct net_conn *c = t->data;

	if (!flush_pushback(c))
		return;
	if (c->tls && c->handshake_done)
		tls_drain(c);
	else
		check_end(c);
}

static void format_peer(struct net_conn *c, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		uv_ip4_name(in, ip, sizeof(ip));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		uv_ip6_name(in6, ip, sizeof(ip));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		snprintf(c->peer, sizeof(c->peer), "?");
	}
}

static struct net_conn *conn_alloc(uv_loop_t *loop, bool is_unix)
{
	struct net_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	/* Neither init can fail on Linux: the socket is created by accept/connect. */
	if (is_unix)
		uv_pipe_init(loop, &c->tcp.p, 0);
	else
		uv_tcp_init(loop, &c->tcp.t);
	c->is_unix = is_unix;
	c->peer_uid = (uid_t)-1;
	c->peer_pid = -1;
	uv_timer_init(loop, &c->timer);
	c->tcp.t.data = c;
	c->timer.data = c;
	snprintf(c->peer, sizeof(c->peer), "?");
	return c;
}

static void conn_tune(struct net_conn *c)
{
	if (c->is_unix)
		return;
	/* Requests and frames are small and latency matters more than packet count. */
	uv_tcp_nodelay(&c->tcp.t, 1);
	/* Long-poll streams can sit idle for minutes: let the kernel find dead peers. */
	uv_tcp_keepalive(&c->tcp.t, 1, CONN_KEEPALIVE_S);
}

int net_conn_accept(struct net_conn **out, uv_stream_t *server, struct tls_config *tls)
{
	struct sockaddr_storage ss;
	struct net_conn *c;
	int len = sizeof(ss);
	int ret;

	*out = NULL;
	c = conn_alloc(server->loop, server->type == UV_NAMED_PIPE);
	if (!c)
		return -ENOMEM;
	ret = uv_accept(server, (uv_stream_t *)&c->tcp);
	if (ret < 0)
		goto err_close;
	if (tls) {
		ret = tls_session_new(&c->tls, tls, NULL);
		if (ret < 0)
			goto err_close;
	}
	c->connected = true;
	if (c->is_unix) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		uv_os_fd_t fd;

		/* Who is calling: the local API authorises on this, never on the path. */
		if (!uv_fileno((uv_handle_t *)&c->tcp, &fd) &&
		    !getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
			c->peer_uid = cred.uid;
			c->peer_pid = cred.pid;
		}
		snprintf(c->peer, sizeof(c->peer), "unix:pid=%ld,uid=%ld", (long)c->peer_pid,
			 (long)c->peer_uid);
	} else if (uv_tcp_getpeername(&c->tcp.t, (struct sockaddr *)&ss, &len) == 0) {
		format_peer(c, (struct sockaddr *)&ss);
	}
	conn_tune(c);
	*out = c;
	return 0;

err_close:
	c->closing = true;
	close_handles(c);
	return ret;
}

static void on_connect(uv_connect_t *req, int status)
{
	struct net_conn *c = container_of(req, struct net_conn, connect_req);

	if (c->closing)
		return;
	if (status < 0) {
		c->connecting = false;
		set_error(c, status, NULL);
		c->connect_cb(c, status, c->connect_arg);
		return;
	}
	c->connected = true;
	conn_tune(c);
	if (!c->tls) {
		c->connecting = false;
		c->connect_cb(c, 0, c->connect_arg);
		return;
	}
	if (update_reading(c) < 0) {
		handshake_failed(c, -EIO, "cannot read from the socket");
		return;
	}
	tls_drain(c); /* sends the ClientHello */
}

int net_conn_connect(struct net_conn **out, uv_loop_t *loop, const struct sockaddr *addr,
		     struct tls_config *tls, const char *server_name, net_conn_connect_cb *cb,
		     void *arg)
{
	struct net_conn *c;
	int ret;

	*out = NULL;
	c = conn_alloc(loop, false);
	if (!c)
		return -ENOMEM;
	format_peer(c, addr);
	if (tls) {
		ret = tls_session_new(&c->tls, tls, server_name);
		if (ret < 0)
			goto err_close;
	}
	c->connect_cb = cb;
	c->connect_arg = arg;
	ret = uv_tcp_connect(&c->connect_req, &c->tcp.t, addr, on_connect);
	if (ret < 0)
		goto err_close;
	c->connecting = true;
	*out = c;
	return 0;

err_close:
	c->closing = true;
	close_handles(c);
	return ret;
}

void net_conn_set_read_cb(struct net_conn *c, net_conn_read_cb *cb, void *arg)
{
	c->read_cb = cb;
	c->read_arg = arg;
}

int net_conn_read_start(struct net_conn *c)
{
	int ret;

	if (c->closing)
		return -EINVAL;
	c->want_read = true;
	ret = update_reading(c);
	if (ret < 0)
		return ret;
	if (net_buf_len(&c->pushback) || (c->error && !c->error_reported) ||
	    (c->tls && c->handshake_done && tls_session_has_input(c->tls)))
		uv_timer_start(&c->timer, on_deferred, 0, 0);
	return 0;
}

void net_conn_read_stop(struct net_conn *c)
{
	if (c->closing)
		return;
	c->want_read = false;
	update_reading(c);
	uv_timer_stop(&c->timer);
}

int net_conn_unread(struct net_conn *c, const uint8_t *buf, size_t len)
{
	struct net_buf nb = {0};
	int ret;

	if (c->closing)
		return -EPIPE;
	if (!len)
		return 0;
	ret = net_buf_append(&nb, buf, len, 0);
	if (!ret)
		ret = net_buf_append(&nb, net_buf_head(&c->pushback), net_buf_len(&c->pushback), 0);
	if (ret) {
		net_buf_free(&nb);
		return ret;
	}
	net_buf_free(&c->pushback);
	c->pushback = nb;
	if (can_deliver(c))
		uv_timer_start(&c->timer, on_deferred, 0, 0);
	return 0;
}

int net_conn_write(struct net_conn *c, const void *buf, size_t len)
{
	int ret;

	if (c->closing)
		return -EPIPE;
	if (c->error && c->error != UV_EOF)
		return c->error;
	if (!len)
		return 0;
	if (!c->tls) {
		ret = submit_write(c, buf, len, NULL);
	} else if (!c->handshake_done) {
		ret = net_buf_append(&c->pending, buf, len, 0);
	} else {
		ret = tls_session_write(c->tls, buf, len);
		if (ret < 0) {
			set_error(c, ret, tls_session_error(c->tls));
			return ret;
		}
		ret = flush_tls_output(c);
	}
	if (ret < 0)
		set_error(c, ret, NULL);
	return ret;
}

size_t net_conn_write_queue_size(const struct net_conn *c)
{
	return c->write_queued + net_buf_len(&c->pending);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct net_conn *c = container_of(req, struct net_conn, shutdown_req);

	c->shutdown_done = true;
	if (status < 0 || c->tcp_done)
		close_handles(c);
}

static void on_linger(uv_timer_t *t)
{
	close_handles(t->data);
}

void net_conn_close(struct net_conn *c, net_conn_close_cb *cb, void *arg)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_cb = cb;
	c->close_arg = arg;
	c->read_cb = NULL;
	c->connect_cb = NULL;
	uv_timer_stop(&c->timer);
	if (!c->connected || (c->error && c->error != UV_EOF)) {
		close_handles(c);
		return;
	}
	if (c->tls && c->handshake_done && tls_session_close_notify(c->tls) == 0)
		flush_tls_output(c);
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) < 0) {
		close_handles(c);
		return;
	}
	update_reading(c); /* read and drop until the peer closes */
	uv_timer_start(&c->timer, on_linger, CONN_LINGER_MS, 0);
}

const char *net_conn_strerror(const struct net_conn *c)
{
	if (c->err[0])
		return c->err;
	if (c->error)
		return uv_strerror(c->error);
	return "";
}

uid_t net_conn_peer_uid(const struct net_conn *c)
{
	return c->peer_uid;
}

const char *net_conn_peer(struct net_conn *c)
{
	return c->peer;
}

uv_loop_t *net_conn_loop(const struct net_conn *c)
{
	return c->tcp.t.loop;
}
