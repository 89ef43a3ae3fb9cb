// SPDX-License-Identifier: MIT
/*
 * HTTP server and client against each other on 127.0.0.1 in one libuv loop:
 * requests and routing, keep-alive and pipelining, chunked streams delivered
 * piece by piece, Upgrade with bytes after the head in both directions, the
 * limits (431, 413, 400, 408), 1,000 idle connections, clients that leave
 * mid-stream, graceful shutdown, and client-side failures. Raw TCP clients
 * send what a well-behaved client never would.
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
#include <sys/resource.h>

#include <sodium.h>
#include <uv.h>

#include "net/conn.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/netbuf.h"
#include "util/compiler.h"

enum test_limits {
	WAIT_MS = 5000,
	IDLE_CONNS = 1000,
};

struct harness {
	uv_loop_t loop;
	uv_timer_t guard;
	struct http_server *srv;
	uint16_t port;
	bool server_closed;
	int hello_count;
	/* the open stream, if any */
	struct http_exchange *stream_ex;
	int stream_aborts;
	/* upgraded connections */
	struct net_conn *server_up;
	struct net_conn *client_up;
	struct net_buf client_up_in;
	int up_closed;
	/* a request the server never answers */
	struct http_exchange *hung_ex;
	int hung_aborts;
};

struct result {
	bool done;
	int err;
	char errmsg[512];
	int status;
	struct net_buf body;
	int pieces; /* on_data calls */
	bool cancel_on_data;
	struct http_client_req *req;
	char content_type[128];
};

/* A raw TCP client that sends exactly the bytes it is told to. */
struct raw {
	uv_tcp_t tcp;
	uv_connect_t creq;
	struct net_buf out; /* sent once connected */
	struct net_buf in;
	bool connected, eof, closed;
	int err;
};

static struct harness *H;

/* ---- loop helpers ---- */

static void on_guard(uv_timer_t *t)
{
	(void)t; /* only wakes the loop so run_until can check its deadline */
}

typedef bool pred_fn(void *arg);

static bool run_until(pred_fn *pred, void *arg, unsigned int ms)
{
	uint64_t deadline;

	uv_update_time(&H->loop);
	deadline = uv_now(&H->loop) + ms;
	uv_timer_start(&H->guard, on_guard, 5, 5);
	while (!pred(arg) && uv_now(&H->loop) < deadline)
		uv_run(&H->loop, UV_RUN_ONCE);
	uv_timer_stop(&H->guard);
	return pred(arg);
}

static bool flag_true(void *arg)
{
	return *(bool *)arg;
}

static bool int_nonzero(void *arg)
{
	return *(int *)arg != 0;
}

static void spin(unsigned int ms)
{
	bool never = false;

	run_until(flag_true, &never, ms);
}

/* ---- server handlers ---- */

static void h_hello(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct harness *h = arg;

	(void)req;
	h->hello_count++;
	assert_int_equal(http_exchange_add_header(ex, "X-Test", "yes"), 0);
	assert_int_equal(http_exchange_add_header(ex, "Content-Length", "3"), -EINVAL);
	assert_int_equal(http_exchange_add_header(ex, "Bad Name", "x"), -EINVAL);
	assert_int_equal(http_exchange_add_header(ex, "X-Bad", "a\r\nb"), -EINVAL);
	assert_int_equal(http_exchange_respond_text(ex, 200, "hello"), 0);
}

static void h_echo(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	char len[32];

	(void)arg;
	snprintf(len, sizeof(len), "%zu", req->body_len);
	assert_int_equal(http_exchange_add_header(ex, "X-Echo-Len", len), 0);
	http_exchange_respond(ex, 200, http_request_header(req, "content-type"), req->body,
			      req->body_len);
}

static void h_files(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	char text[512];

	(void)arg;
	snprintf(text, sizeof(text), "path=%s query=%s", req->path, req->query);
	http_exchange_respond_text(ex, 200, text);
}

static void on_stream_abort(struct http_exchange *ex, void *arg)
{
	struct harness *h = arg;

	assert_ptr_equal(ex, h->stream_ex);
	h->stream_aborts++;
	h->stream_ex = NULL;
}

static void h_stream(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct harness *h = arg;

	(void)req;
	assert_int_equal(http_exchange_stream_begin(ex, 200, "application/octet-stream"), 0);
	http_exchange_on_abort(ex, on_stream_abort, h);
	assert_int_equal(http_exchange_stream_write(ex, "first", 5), 0);
	h->stream_ex = ex;
}

static void on_hung_abort(struct http_exchange *ex, void *arg)
{
	struct harness *h = arg;

	(void)ex;
	h->hung_aborts++;
	h->hung_ex = NULL;
}

static void h_hang(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct harness *h = arg;

	(void)req;
	h->hung_ex = ex;
	http_exchange_on_abort(ex, on_hung_abort, h);
}

static void on_up_closed(struct net_conn *c, void *arg)
{
	struct harness *h = arg;

	(void)c;
	h->up_closed++;
}

static void server_up_read(struct net_conn *c, ssize_t nread, const uint8_t *buf, void *arg)
{
	struct harness *h = arg;

	if (nread < 0) {
		h->server_up = NULL;
		net_conn_close(c, on_up_closed, h);
		return;
	}
	assert_int_equal(net_conn_write(c, "echo:", 5), 0);
	assert_int_equal(net_conn_write(c, buf, (size_t)nread), 0);
}

static void h_relay(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct harness *h = arg;
	struct net_conn *c;

	if (!req->upgrade) {
		assert_int_equal(http_exchange_upgrade(ex, "meshrelay", &c), -EINVAL);
		http_exchange_respond_text(ex, 426, "upgrade required");
		return;
	}
	assert_string_equal(http_request_header(req, "upgrade"), "meshrelay");
	assert_int_equal(http_exchange_add_header(ex, "X-Relay", "1"), 0);
	assert_int_equal(http_exchange_upgrade(ex, "meshrelay", &c), 0);
	h->server_up = c;
	/* Written at once, so it often shares a segment with the 101 head. */
	assert_int_equal(net_conn_write(c, "WELCOME", 7), 0);
	net_conn_set_read_cb(c, server_up_read, h);
	assert_int_equal(net_conn_read_start(c), 0);
}

/* ---- harness ---- */

static void on_server_closed(void *arg)
{
	struct harness *h = arg;

	h->server_closed = true;
}

static int setup_with(void **state, const struct http_server_config *cfg)
{
	struct harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	H = h;
	assert_int_equal(uv_loop_init(&h->loop), 0);
	uv_timer_init(&h->loop, &h->guard);
	assert_int_equal(http_server_new(&h->srv, &h->loop, cfg), 0);
	assert_int_equal(http_server_listen(h->srv, "127.0.0.1:0", NULL, &h->port), 0);
	assert_true(h->port > 0);
	assert_int_equal(http_server_route(h->srv, "GET", "/hello", HTTP_MATCH_EXACT, h_hello, h),
			 0);
	assert_int_equal(http_server_route(h->srv, "POST", "/echo", HTTP_MATCH_EXACT, h_echo, h),
			 0);
	assert_int_equal(http_server_route(h->srv, "GET", "/files/", HTTP_MATCH_PREFIX, h_files, h),
			 0);
	assert_int_equal(http_server_route(h->srv, "GET", "/stream", HTTP_MATCH_EXACT, h_stream, h),
			 0);
	assert_int_equal(http_server_route(h->srv, NULL, "/relay", HTTP_MATCH_EXACT, h_relay, h),
			 0);
	assert_int_equal(http_server_route(h->srv, "GET", "/hang", HTTP_MATCH_EXACT, h_hang, h), 0);
	assert_int_equal(http_server_route(h->srv, "GET", "nope", HTTP_MATCH_EXACT, h_hang, h),
			 -EINVAL);
	*state = h;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, NULL);
}

static int setup_fast_timeouts(void **state)
{
	struct http_server_config cfg = {
		.header_timeout_ms = 300,
		.body_timeout_ms = 300,
		.idle_timeout_ms = 300,
	};

	return setup_with(state, &cfg);
}

static int teardown(void **state)
{
	struct harness *h = *state;

	if (!h->server_closed) {
		http_server_close(h->srv, on_server_closed, h);
		assert_true(run_until(flag_true, &h->server_closed, WAIT_MS));
	}
	uv_close((uv_handle_t *)&h->guard, NULL);
	uv_run(&h->loop, UV_RUN_DEFAULT); /* lingering closes finish */
	assert_int_equal(uv_loop_close(&h->loop), 0);
	net_buf_free(&h->client_up_in);
	free(h);
	return 0;
}

/* ---- client helpers ---- */

static void on_done(struct http_client_req *req, int err, const char *errmsg,
		    const struct http_response *resp, void *arg)
{
	struct result *r = arg;
	const char *ct;

	(void)req;
	assert_false(r->done);
	r->done = true;
	r->err = err;
	snprintf(r->errmsg, sizeof(r->errmsg), "%s", errmsg);
	if (resp) {
		r->status = resp->status;
		ct = http_response_header(resp, "Content-Type");
		snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
		if (resp->body_len)
			assert_int_equal(net_buf_append(&r->body, resp->body, resp->body_len, 0),
					 0);
	}
}

static void on_data(struct http_client_req *req, const uint8_t *data, size_t len, void *arg)
{
	struct result *r = arg;

	r->pieces++;
	assert_int_equal(net_buf_append(&r->body, data, len, 0), 0);
	if (r->cancel_on_data) {
		http_client_cancel(req);
		r->done = true;
	}
}

static void url_for(char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "http://127.0.0.1:%u%s", H->port, path);
}

static void request(struct result *r, struct http_client_options *o, const char *path)
{
	char url[256];

	url_for(url, sizeof(url), path);
	o->url = url;
	o->on_done = on_done;
	o->arg = r;
	assert_int_equal(http_client_request(&r->req, &H->loop, o), 0);
}

static void fetch(struct result *r, const char *path)
{
	struct http_client_options o = {0};

	request(r, &o, path);
	assert_true(run_until(flag_true, &r->done, WAIT_MS));
}

static bool body_is(const struct result *r, const char *s)
{
	return net_buf_len(&r->body) == strlen(s) && !memcmp(net_buf_head(&r->body), s, strlen(s));
}

static bool buf_has(const struct net_buf *b, const char *needle)
{
	return net_buf_len(b) && memmem(net_buf_head(b), net_buf_len(b), needle, strlen(needle));
}

static int buf_count(const struct net_buf *b, const char *needle)
{
	const uint8_t *p, *end;
	int n = 0;

	if (!net_buf_len(b))
		return 0;
	p = net_buf_head(b);
	end = p + net_buf_len(b);
	while (p < end && (p = memmem(p, (size_t)(end - p), needle, strlen(needle)))) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* ---- raw TCP client ---- */

static void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char mem[65536];

	(void)h;
	(void)suggested;
	*buf = uv_buf_init(mem, sizeof(mem));
}

static void raw_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct raw *r = container_of((uv_tcp_t *)s, struct raw, tcp);

	if (nread < 0) {
		r->eof = true;
		if (nread != UV_EOF)
			r->err = (int)nread;
		uv_read_stop(s);
		return;
	}
	assert_int_equal(net_buf_append(&r->in, buf->base, (size_t)nread, 0), 0);
}

static void raw_written(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

static void raw_send(struct raw *r, const void *data, size_t len)
{
	uv_write_t *w = malloc(sizeof(*w) + len);
	uv_buf_t b;

	assert_non_null(w);
	memcpy(w + 1, data, len);
	b = uv_buf_init((char *)(w + 1), (unsigned int)len);
	assert_int_equal(uv_write(w, (uv_stream_t *)&r->tcp, &b, 1, raw_written), 0);
}

static void raw_connected(uv_connect_t *c, int status)
{
	struct raw *r = container_of(c, struct raw, creq);

	if (status < 0) {
		r->err = status;
		r->eof = true;
		return;
	}
	r->connected = true;
	uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read);
	if (net_buf_len(&r->out))
		raw_send(r, net_buf_head(&r->out), net_buf_len(&r->out));
}

static void raw_open(struct raw *r, const void *data, size_t len)
{
	struct sockaddr_in sin;

	memset(r, 0, sizeof(*r));
	assert_int_equal(uv_ip4_addr("127.0.0.1", H->port, &sin), 0);
	uv_tcp_init(&H->loop, &r->tcp);
	if (len)
		assert_int_equal(net_buf_append(&r->out, data, len, 0), 0);
	assert_int_equal(uv_tcp_connect(&r->creq, &r->tcp, (struct sockaddr *)&sin, raw_connected),
			 0);
}

static void raw_closed(uv_handle_t *h)
{
	struct raw *r = container_of((uv_tcp_t *)h, struct raw, tcp);

	r->closed = true;
	net_buf_free(&r->in);
	net_buf_free(&r->out);
}

static void raw_close(struct raw *r)
{
	uv_close((uv_handle_t *)&r->tcp, raw_closed);
	assert_true(run_until(flag_true, &r->closed, WAIT_MS));
}

struct raw_wait {
	struct raw *r;
	const char *needle;
};

static bool raw_has(void *arg)
{
	struct raw_wait *w = arg;

	return buf_has(&w->r->in, w->needle);
}

/* Send @req on a fresh connection; wait for the server to close it. */
static void raw_exchange(struct raw *r, const void *req, size_t len)
{
	raw_open(r, req, len);
	assert_true(run_until(flag_true, &r->eof, WAIT_MS));
}

static bool raw_status_is(const struct raw *r, int status)
{
	char line[32];

	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	return net_buf_len(&r->in) >= strlen(line) &&
	       !memcmp(net_buf_head(&r->in), line, strlen(line));
}

/* ---- tests ---- */

static void test_get_post_routes(void **state)
{
	struct harness *h = *state;
	struct result r = {0}, e = {0}, f = {0}, nf = {0}, na = {0};
	struct http_client_options o = {0};
	static uint8_t big[300 * 1024];

	fetch(&r, "/hello");
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_true(body_is(&r, "hello"));
	assert_string_equal(r.content_type, "text/plain; charset=utf-8");
	assert_int_equal(h->hello_count, 1);

	/* A body spanning many reads, echoed back intact. */
	randombytes_buf(big, sizeof(big));
	o.body = big;
	o.body_len = sizeof(big);
	o.content_type = "application/octet-stream";
	request(&e, &o, "/echo");
	assert_true(run_until(flag_true, &e.done, WAIT_MS));
	assert_int_equal(e.err, 0);
	assert_int_equal(e.status, 200);
	assert_int_equal(net_buf_len(&e.body), sizeof(big));
	assert_memory_equal(net_buf_head(&e.body), big, sizeof(big));
	assert_string_equal(e.content_type, "application/octet-stream");

	fetch(&f, "/files/a/b.txt?x=1&y=2");
	assert_int_equal(f.status, 200);
	assert_true(body_is(&f, "path=/files/a/b.txt query=x=1&y=2"));

	fetch(&nf, "/nothing-here");
	assert_int_equal(nf.status, 404);

	memset(&o, 0, sizeof(o));
	o.method = "DELETE";
	request(&na, &o, "/hello");
	assert_true(run_until(flag_true, &na.done, WAIT_MS));
	assert_int_equal(na.status, 405);

	net_buf_free(&r.body);
	net_buf_free(&e.body);
	net_buf_free(&f.body);
	net_buf_free(&nf.body);
	net_buf_free(&na.body);
}

static void test_head_request(void **state)
{
	struct result r = {0};
	struct http_client_options o = {.method = "HEAD"};

	(void)state;
	request(&r, &o, "/hello");
	assert_true(run_until(flag_true, &r.done, WAIT_MS));
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(net_buf_len(&r.body), 0);
}

static bool count_at_least(void *arg)
{
	struct raw *r = arg;

	return buf_count(&r->in, "HTTP/1.1 200 OK") >= 2;
}

static void test_keep_alive_pipelined(void **state)
{
	struct harness *h = *state;
	static const char two[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
				  "GET /files/z HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char last[] = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	struct raw r;

	raw_open(&r, two, sizeof(two) - 1);
	assert_true(run_until(count_at_least, &r, WAIT_MS));
	spin(50);
	assert_false(r.eof); /* kept alive */
	assert_int_equal(http_server_connection_count(h->srv), 1);
	assert_int_equal(buf_count(&r.in, "HTTP/1.1 200 OK"), 2);
	assert_true(buf_has(&r.in, "path=/files/z"));
	assert_false(buf_has(&r.in, "Connection: close"));

	raw_send(&r, last, sizeof(last) - 1);
	assert_true(run_until(flag_true, &r.eof, WAIT_MS));
	assert_int_equal(buf_count(&r.in, "HTTP/1.1 200 OK"), 3);
	assert_true(buf_has(&r.in, "Connection: close"));
	assert_int_equal(h->hello_count, 2);
	raw_close(&r);
}

static void test_http10_and_expect_continue(void **state)
{
	static const char v10[] = "GET /hello HTTP/1.0\r\n\r\n";
	static const char cont[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
				   "Expect: 100-continue\r\nConnection: close\r\n\r\nabcd";
	struct raw r;

	(void)state;
	raw_exchange(&r, v10, sizeof(v10) - 1);
	assert_true(raw_status_is(&r, 200));
	assert_true(buf_has(&r.in, "\r\n\r\nhello"));
	raw_close(&r);

	raw_exchange(&r, cont, sizeof(cont) - 1);
	assert_true(raw_status_is(&r, 100));
	assert_true(buf_has(&r.in, "HTTP/1.1 200 OK"));
	assert_true(buf_has(&r.in, "X-Echo-Len: 4"));
	raw_close(&r);
}

static bool pieces_at_least_1(void *arg)
{
	return ((struct result *)arg)->pieces >= 1;
}

static bool body_has_second(void *arg)
{
	return buf_has(&((struct result *)arg)->body, "second");
}

static void test_chunked_stream_incremental(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {.on_data = on_data};
	struct result r = {0};
	static uint8_t big[100000];

	request(&r, &o, "/stream");
	/* The first chunk must arrive while the stream is still open. */
	assert_true(run_until(pieces_at_least_1, &r, WAIT_MS));
	assert_false(r.done);
	assert_non_null(h->stream_ex);
	assert_true(body_is(&r, "first"));

	assert_int_equal(http_exchange_stream_write(h->stream_ex, "second", 6), 0);
	assert_int_equal(http_exchange_stream_write(h->stream_ex, "", 0), 0); /* no-op */
	assert_true(run_until(body_has_second, &r, WAIT_MS));
	assert_false(r.done);

	memset(big, 'z', sizeof(big));
	assert_int_equal(http_exchange_stream_write(h->stream_ex, big, sizeof(big)), 0);
	assert_int_equal(http_exchange_stream_end(h->stream_ex), 0);
	h->stream_ex = NULL;
	assert_true(run_until(flag_true, &r.done, WAIT_MS));
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(net_buf_len(&r.body), 11 + sizeof(big));
	assert_int_equal(h->stream_aborts, 0);
	net_buf_free(&r.body);
}

static bool stream_open(void *arg)
{
	return ((struct harness *)arg)->stream_ex != NULL;
}

static bool aborts_2(void *arg)
{
	return ((struct harness *)arg)->stream_aborts >= 2;
}

static void test_client_leaves_mid_stream(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {.on_data = on_data};
	static const char get[] = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
	struct result r = {.cancel_on_data = true};
	struct raw raw;

	request(&r, &o, "/stream");
	assert_true(run_until(flag_true, &r.done, WAIT_MS)); /* cancelled on the first piece */
	assert_true(run_until(int_nonzero, &h->stream_aborts, WAIT_MS));
	assert_int_equal(h->stream_aborts, 1);
	assert_null(h->stream_ex);
	net_buf_free(&r.body);

	/* A raw client that just disconnects is noticed too. */
	raw_open(&raw, get, sizeof(get) - 1);
	assert_true(run_until(stream_open, h, WAIT_MS));
	raw_close(&raw);
	assert_true(run_until(aborts_2, h, WAIT_MS));
	assert_null(h->stream_ex);
}

static bool client_up_has(void *arg)
{
	return buf_has(&H->client_up_in, arg);
}

static void client_up_read(struct net_conn *c, ssize_t nread, const uint8_t *buf, void *arg)
{
	struct harness *h = arg;

	(void)c;
	if (nread < 0)
		return;
	assert_int_equal(net_buf_append(&h->client_up_in, buf, (size_t)nread, 0), 0);
}

static void on_upgrade(struct http_client_req *req, struct net_conn *conn,
		       const struct http_response *resp, void *arg)
{
	struct result *r = arg;

	(void)req;
	r->done = true;
	r->status = resp->status;
	assert_string_equal(http_response_header(resp, "X-Relay"), "1");
	H->client_up = conn;
	net_conn_set_read_cb(conn, client_up_read, H);
	assert_int_equal(net_conn_read_start(conn), 0);
}

static bool up_closed_3(void *arg)
{
	return *(int *)arg >= 3;
}

static void test_upgrade_round_trip(void **state)
{
	struct harness *h = *state;
	static const char head[] = "GET /relay HTTP/1.1\r\nHost: x\r\nUpgrade: meshrelay\r\n"
				   "Connection: Upgrade\r\n\r\nHELLO";
	struct http_client_options o = {.upgrade = "meshrelay", .on_upgrade = on_upgrade};
	struct result r = {0}, plain = {0};
	struct raw_wait wait;
	struct raw raw;

	/* Raw: bytes sent right behind the head reach the new owner. */
	raw_open(&raw, head, sizeof(head) - 1);
	wait.r = &raw;
	wait.needle = "echo:HELLO";
	assert_true(run_until(raw_has, &wait, WAIT_MS));
	assert_true(raw_status_is(&raw, 101));
	assert_true(buf_has(&raw.in, "Upgrade: meshrelay"));
	assert_true(buf_has(&raw.in, "Connection: Upgrade"));
	assert_true(buf_has(&raw.in, "X-Relay: 1"));
	assert_true(buf_has(&raw.in, "WELCOME"));
	assert_int_equal(http_server_connection_count(h->srv), 0); /* no longer HTTP */
	raw_close(&raw);
	assert_true(run_until(int_nonzero, &h->up_closed, WAIT_MS));

	/* Client: the server's first bytes may share the segment with the 101. */
	request(&r, &o, "/relay");
	assert_true(run_until(flag_true, &r.done, WAIT_MS));
	assert_int_equal(r.status, 101);
	assert_non_null(h->client_up);
	assert_true(run_until(client_up_has, (void *)"WELCOME", WAIT_MS));
	assert_int_equal(net_conn_write(h->client_up, "ping", 4), 0);
	assert_true(run_until(client_up_has, (void *)"echo:ping", WAIT_MS));
	net_conn_close(h->client_up, on_up_closed, h);
	h->client_up = NULL;
	/* Our close, then the server side sees EOF and closes its end too. */
	assert_true(run_until(up_closed_3, &h->up_closed, WAIT_MS));
	assert_null(h->server_up);

	/* Without Upgrade headers the handler refuses. */
	fetch(&plain, "/relay");
	assert_int_equal(plain.status, 426);
	net_buf_free(&plain.body);
}

static void test_oversize_header_431(void **state)
{
	struct harness *h = *state;
	char *req = malloc(40000);
	struct raw r;
	size_t n;

	assert_non_null(req);
	n = (size_t)snprintf(req, 40000, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + n, 'a', 20000);
	n += 20000;
	n += (size_t)snprintf(req + n, 40000 - n, "\r\n\r\n");
	raw_exchange(&r, req, n);
	assert_true(raw_status_is(&r, 431));
	raw_close(&r);

	/* Many small headers trip the count limit the same way. */
	n = (size_t)snprintf(req, 40000, "GET /hello HTTP/1.1\r\n");
	for (int i = 0; i < 150; i++)
		n += (size_t)snprintf(req + n, 40000 - n, "X-%d: v\r\n", i);
	n += (size_t)snprintf(req + n, 40000 - n, "\r\n");
	raw_exchange(&r, req, n);
	assert_true(raw_status_is(&r, 431));
	raw_close(&r);

	/* A 16 KiB URL is refused before any header. */
	n = (size_t)snprintf(req, 40000, "GET /");
	memset(req + n, 'u', 17000);
	n += 17000;
	n += (size_t)snprintf(req + n, 40000 - n, " HTTP/1.1\r\n\r\n");
	raw_exchange(&r, req, n);
	assert_true(raw_status_is(&r, 414));
	raw_close(&r);
	assert_int_equal(h->hello_count, 0);
	free(req);
}

static void test_oversize_body_413(void **state)
{
	struct http_client_options o = {0};
	struct result r = {0};
	size_t len = 2 * 1024 * 1024;
	uint8_t *body = calloc(1, len);
	static const char chunked[] = "POST /echo HTTP/1.1\r\nHost: x\r\n"
				      "Transfer-Encoding: chunked\r\n\r\n";
	char chunk[64];
	struct raw raw;
	int i;

	(void)state;
	assert_non_null(body);
	/* Content-Length says too much: refused from the head alone. */
	o.body = body;
	o.body_len = len;
	request(&r, &o, "/echo");
	assert_true(run_until(flag_true, &r.done, WAIT_MS));
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 413);
	net_buf_free(&r.body);

	/* Chunked: refused once the chunks add up past the limit. */
	raw_open(&raw, chunked, sizeof(chunked) - 1);
	assert_true(run_until(flag_true, &raw.connected, WAIT_MS));
	snprintf(chunk, sizeof(chunk), "%x\r\n", 256 * 1024);
	for (i = 0; i < 5 && !raw.eof; i++) {
		raw_send(&raw, chunk, strlen(chunk));
		raw_send(&raw, body, 256 * 1024);
		raw_send(&raw, "\r\n", 2);
		spin(10);
	}
	assert_true(run_until(flag_true, &raw.eof, WAIT_MS));
	assert_true(raw_status_is(&raw, 413));
	raw_close(&raw);
	free(body);
}

static void test_garbage_400(void **state)
{
	struct harness *h = *state;
	static const struct {
		const char *req;
		size_t len; /* 0: strlen */
		int status;
	} bad[] = {
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n", 0, 400},
		{"GET / HTTP/9.9\r\n\r\n", 0, 505},
		{"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 0, 400},
		{"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n",
		 0, 400},
		{"GET /hello HTTP/1.1\r\nBad Header: x\r\n\r\n", 0, 400},
		{"GET /he\x01llo HTTP/1.1\r\n\r\n", 0, 400},
		{"GET /hello HTTP/1.1\r\nX: a\0b\r\n\r\n", 31, 400},
		{"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 400},
		{"GET http://[::1 HTTP/1.1\r\n\r\n", 0, 400},
		{"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n", 0, 400},
		{"GET hello HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400},
		{"FOO /hello HTTP/1.1\r\n\r\n", 0, 400},
	};
	struct result ok = {0};
	struct raw r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		raw_exchange(&r, bad[i].req, bad[i].len ? bad[i].len : strlen(bad[i].req));
		if (!raw_status_is(&r, bad[i].status))
			fail_msg("case %zu: expected %d, got \"%.40s\"", i, bad[i].status,
				 net_buf_len(&r.in) ? (char *)net_buf_head(&r.in) : "");
		raw_close(&r);
	}

	/* Random bytes on many connections at once: answered or closed, never a crash. */
	{
		enum { N = 64 };
		struct raw *rs = calloc(N, sizeof(*rs));
		uint8_t junk[1500];
		int done;

		assert_non_null(rs);
		for (i = 0; i < N; i++) {
			size_t len = 1 + randombytes_uniform(sizeof(junk));

			randombytes_buf(junk, len);
			junk[0] = (uint8_t)('A' + (i % 3)); /* sometimes a method-like start */
			raw_open(&rs[i], junk, len);
		}
		for (done = 0; done < N;) {
			spin(20);
			for (done = 0, i = 0; i < N; i++)
				done += rs[i].eof;
		}
		for (i = 0; i < N; i++) {
			assert_true(net_buf_len(&rs[i].in) == 0 || raw_status_is(&rs[i], 400) ||
				    raw_status_is(&rs[i], 408) || raw_status_is(&rs[i], 431) ||
				    raw_status_is(&rs[i], 413));
			raw_close(&rs[i]);
		}
		free(rs);
	}
	fetch(&ok, "/hello");
	assert_int_equal(ok.status, 200);
	assert_int_equal(h->hello_count, 1);
	net_buf_free(&ok.body);
}

static void test_slow_client_timeouts(void **state)
{
	struct harness *h = *state;
	static const char partial[] = "GET /hello HTTP/1.1\r\nHost:";
	static const char body_missing[] = "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc";
	static const char keep[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	struct raw a, b, c, d;
	uint64_t t0;

	uv_update_time(&h->loop);
	t0 = uv_now(&h->loop);
	raw_open(&a, partial, sizeof(partial) - 1);	      /* head never finished */
	raw_open(&b, body_missing, sizeof(body_missing) - 1); /* body never finished */
	raw_open(&c, NULL, 0);				      /* connects, says nothing */
	raw_open(&d, keep, sizeof(keep) - 1);		      /* one request, then idle */
	assert_true(run_until(flag_true, &a.eof, WAIT_MS));
	assert_true(run_until(flag_true, &b.eof, WAIT_MS));
	assert_true(run_until(flag_true, &c.eof, WAIT_MS));
	assert_true(run_until(flag_true, &d.eof, WAIT_MS));
	assert_true(uv_now(&h->loop) - t0 >= 250);
	assert_true(uv_now(&h->loop) - t0 < 3000);
	assert_true(raw_status_is(&a, 408));
	assert_true(raw_status_is(&b, 408));
	assert_int_equal(net_buf_len(&c.in), 0);
	assert_true(raw_status_is(&d, 200));
	assert_int_equal(buf_count(&d.in, "HTTP/1.1"), 1);
	raw_close(&a);
	raw_close(&b);
	raw_close(&c);
	raw_close(&d);
	assert_int_equal(h->hello_count, 1);
}

static int setup_small_limits(void **state)
{
	struct http_server_config cfg = {
		.max_header_size = 1024,
		.max_body_size = 1024,
	};

	return setup_with(state, &cfg);
}

static bool hellos_201(void *arg)
{
	return buf_count(&((struct raw *)arg)->in, "HTTP/1.1 200 OK") >= 201;
}

/*
 * A client pipelines far more than the server keeps while a handler is busy:
 * the server stops reading instead of dropping or buffering it all, and
 * answers every request, in order, once the handler is done.
 */
static void test_pipeline_backpressure(void **state)
{
	struct harness *h = *state;
	static const char hang[] = "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char hello[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
	struct net_buf all = {0};
	struct raw r;
	int i;

	assert_int_equal(net_buf_append(&all, hang, sizeof(hang) - 1, 0), 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(net_buf_append(&all, hello, sizeof(hello) - 1, 0), 0);
	raw_open(&r, net_buf_head(&all), net_buf_len(&all));
	while (!h->hung_ex)
		spin(5);
	spin(100);
	assert_int_equal(h->hello_count, 0); /* one request at a time */
	assert_int_equal(http_exchange_respond_text(h->hung_ex, 200, "done"), 0);
	h->hung_ex = NULL;
	assert_true(run_until(hellos_201, &r, WAIT_MS));
	assert_int_equal(h->hello_count, 200);
	assert_true(buf_has(&r.in, "\r\n\r\ndone"));
	assert_false(r.eof);
	raw_close(&r);
	net_buf_free(&all);
}

static bool conns_at_least(void *arg)
{
	return http_server_connection_count(H->srv) >= *(size_t *)arg;
}

static void test_many_idle_connections(void **state)
{
	struct harness *h = *state;
	struct rlimit rl;
	struct raw *rs;
	struct result r = {0};
	size_t want = IDLE_CONNS, i;
	uint64_t t0;

	/* Both ends live in this process: two descriptors per connection. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 2 * IDLE_CONNS + 100) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < 2 * IDLE_CONNS + 100)
		skip();
	rs = calloc(IDLE_CONNS, sizeof(*rs));
	assert_non_null(rs);
	for (i = 0; i < IDLE_CONNS; i++)
		raw_open(&rs[i], NULL, 0);
	assert_true(run_until(conns_at_least, &want, 20000));

	uv_update_time(&h->loop);
	t0 = uv_now(&h->loop);
	fetch(&r, "/hello");
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_true(uv_now(&h->loop) - t0 < 1000);
	for (i = 0; i < IDLE_CONNS; i++)
		assert_false(rs[i].eof);
	for (i = 0; i < IDLE_CONNS; i++)
		uv_close((uv_handle_t *)&rs[i].tcp, raw_closed);
	for (i = 0; i < IDLE_CONNS; i++)
		assert_true(run_until(flag_true, &rs[i].closed, WAIT_MS));
	free(rs);
	net_buf_free(&r.body);
}

static void test_graceful_shutdown(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {.on_data = on_data};
	struct result s = {0}, hang = {0};
	struct raw idle;

	request(&s, &o, "/stream");
	assert_true(run_until(pieces_at_least_1, &s, WAIT_MS));
	memset(&o, 0, sizeof(o));
	request(&hang, &o, "/hang");
	assert_true(run_until(stream_open, h, WAIT_MS));
	raw_open(&idle, NULL, 0);
	assert_true(run_until(flag_true, &idle.connected, WAIT_MS));
	while (!h->hung_ex)
		spin(5);

	http_server_close(h->srv, on_server_closed, h);
	/* Open exchanges are aborted inside the call; the rest completes from the loop. */
	assert_int_equal(h->stream_aborts, 1);
	assert_int_equal(h->hung_aborts, 1);
	assert_false(h->server_closed);
	assert_true(run_until(flag_true, &h->server_closed, WAIT_MS));
	assert_true(run_until(flag_true, &s.done, WAIT_MS));
	assert_true(s.err < 0); /* the stream ended without its last chunk */
	assert_true(run_until(flag_true, &hang.done, WAIT_MS));
	assert_true(hang.err < 0);
	assert_true(run_until(flag_true, &idle.eof, WAIT_MS));
	raw_close(&idle);
	net_buf_free(&s.body);
}

static void test_client_errors(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {0};
	struct http_client_req *req;
	struct result r = {0}, t = {0};
	uv_tcp_t tmp;
	struct sockaddr_in sin;
	int len = sizeof(sin);
	char url[128];

	o.on_done = on_done;
	o.arg = &r;
	o.url = "ftp://127.0.0.1/";
	assert_int_equal(http_client_request(&req, &h->loop, &o), -ENOTSUP);
	o.url = "not a url";
	assert_int_equal(http_client_request(&req, &h->loop, &o), -EINVAL);
	o.url = "https://127.0.0.1:1/";
	assert_int_equal(http_client_request(&req, &h->loop, &o), -ENOKEY);
	o.url = "http://user:pw@127.0.0.1/";
	assert_int_equal(http_client_request(&req, &h->loop, &o), -EINVAL);
	o.url = "http://127.0.0.1/";
	o.upgrade = "x";
	assert_int_equal(http_client_request(&req, &h->loop, &o), -EINVAL); /* no on_upgrade */
	o.upgrade = NULL;
	{
		struct http_header bad = {"X-Bad", "a\r\nInjected: 1"};

		o.headers = &bad;
		o.nheaders = 1;
		assert_int_equal(http_client_request(&req, &h->loop, &o), -EINVAL);
		o.headers = NULL;
		o.nheaders = 0;
	}
	assert_false(r.done);

	/* A port nobody listens on (bound, then closed). */
	uv_tcp_init(&h->loop, &tmp);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sin), 0);
	assert_int_equal(uv_tcp_bind(&tmp, (struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_tcp_getsockname(&tmp, (struct sockaddr *)&sin, &len), 0);
	uv_close((uv_handle_t *)&tmp, NULL);
	spin(10);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", ntohs(sin.sin_port));
	o.url = url;
	assert_int_equal(http_client_request(&req, &h->loop, &o), 0);
	assert_true(run_until(flag_true, &r.done, WAIT_MS));
	assert_int_equal(r.err, UV_ECONNREFUSED);
	assert_non_null(strstr(r.errmsg, "connect to 127.0.0.1:"));
	assert_non_null(strstr(r.errmsg, "refused"));

	/* A server that never answers. */
	url_for(url, sizeof(url), "/hang");
	o.url = url;
	o.timeout_ms = 200;
	o.arg = &t;
	assert_int_equal(http_client_request(&req, &h->loop, &o), 0);
	assert_true(run_until(flag_true, &t.done, WAIT_MS));
	assert_int_equal(t.err, -ETIMEDOUT);
	assert_non_null(strstr(t.errmsg, "timed out"));
	assert_true(run_until(int_nonzero, &h->hung_aborts, WAIT_MS));

	/* Cancelled before anything happened: no callback, nothing leaks. */
	memset(&t, 0, sizeof(t));
	o.timeout_ms = 0;
	assert_int_equal(http_client_request(&req, &h->loop, &o), 0);
	http_client_cancel(req);
	spin(50);
	assert_false(t.done);
}

static void test_ipv6_listener(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {0};
	struct http_client_req *req;
	struct result r = {0};
	uint16_t port = 0;
	char url[64];

	if (http_server_listen(h->srv, "[::1]:0", NULL, &port) < 0)
		skip(); /* no IPv6 loopback here */
	assert_true(port > 0);
	snprintf(url, sizeof(url), "http://[::1]:%u/files/v6?q", port);
	o.url = url;
	o.on_done = on_done;
	o.arg = &r;
	assert_int_equal(http_client_request(&req, &h->loop, &o), 0);
	assert_true(run_until(flag_true, &r.done, WAIT_MS));
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_true(body_is(&r, "path=/files/v6 query=q"));
	net_buf_free(&r.body);

	/* Listen addresses are numeric IP:PORT, nothing else. */
	assert_int_equal(http_server_listen(h->srv, "localhost:80", NULL, NULL), -EINVAL);
	assert_int_equal(http_server_listen(h->srv, "::1:80", NULL, NULL), -EINVAL);
	assert_int_equal(http_server_listen(h->srv, "127.0.0.1", NULL, NULL), -EINVAL);
	/* A port in use is an error, not a silent success. */
	snprintf(url, sizeof(url), "127.0.0.1:%u", h->port);
	assert_true(http_server_listen(h->srv, url, NULL, NULL) < 0);
}

static void test_stream_idle_timeout(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {.on_data = on_data, .idle_timeout_ms = 200};
	struct result r = {0};

	request(&r, &o, "/stream");
	assert_true(run_until(flag_true, &r.done, WAIT_MS));
	assert_int_equal(r.err, -ETIMEDOUT);
	assert_int_equal(r.status, 200);
	assert_true(body_is(&r, "first"));
	assert_true(run_until(int_nonzero, &h->stream_aborts, WAIT_MS));
	net_buf_free(&r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_post_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http10_and_expect_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chunked_stream_incremental, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_leaves_mid_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_header_431, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_body_413, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_400, setup_fast_timeouts, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_timeouts, setup_fast_timeouts,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_idle_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_graceful_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_listener, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipeline_backpressure, setup_small_limits,
						teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
