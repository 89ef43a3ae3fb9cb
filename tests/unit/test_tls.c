// SPDX-License-Identifier: MIT
/*
 * TLS: a CA, a server certificate for "localhost" and an unrelated second
 * CA are made with the openssl command line in a temporary directory. Then:
 * configuration errors name the file and the problem; two sessions
 * handshake through memory one byte at a time; HTTPS requests, streams and
 * Upgrades work end to end; a wrong CA, a wrong host name, or the system
 * store alone are refused with a clear reason, never accepted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "net/conn.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/netbuf.h"
#include "net/tls.h"
#include "util/compiler.h"

enum {
	WAIT_MS = 10000,
};

static const char *const files[] = {
	"ca.key",    "ca.crt",	  "ca.srl",  "srv.key",	 "srv.csr", "srv.crt",
	"other.key", "other.crt", "ext.cnf", "junk.pem", "gen.sh",
};

static char dir[1024]; /* short enough that every path_of() fits PATH_MAX */
static bool have_certs;

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static int group_setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char script[PATH_MAX], cmd[PATH_MAX + 64];
	FILE *f;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/mesh-tls-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	path_of(script, sizeof(script), "gen.sh");
	f = fopen(script, "w");
	if (!f)
		return -1;
	fputs("set -e\n"
	      "cd \"$(dirname \"$0\")\"\n"
	      "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
	      "openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj '/CN=Mesh Test CA' "
	      "-addext basicConstraints=critical,CA:TRUE "
	      "-addext keyUsage=critical,keyCertSign,cRLSign\n"
	      "openssl req -x509 $ec -keyout other.key -out other.crt -days 2 "
	      "-subj '/CN=Other CA' -addext basicConstraints=critical,CA:TRUE\n"
	      "openssl req $ec -keyout srv.key -out srv.csr -subj /CN=localhost\n"
	      "printf 'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\n"
	      "extendedKeyUsage=serverAuth\\n' > ext.cnf\n"
	      "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	      "-out srv.crt -days 2 -extfile ext.cnf\n"
	      "printf -- '-----BEGIN CERTIFICATE-----\\nbm90IGEgY2VydA==\\n"
	      "-----END CERTIFICATE-----\\n' > junk.pem\n",
	      f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "sh '%s' >/dev/null 2>&1", script);
	have_certs = system(cmd) == 0;
	return 0;
}

static int group_teardown(void **state)
{
	char p[PATH_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		path_of(p, sizeof(p), files[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static void need_certs(void)
{
	if (!have_certs) {
		print_message("openssl could not make test certificates: skipping\n");
		skip();
	}
}

static struct tls_config *client_config(const char *ca_name, bool system_ca)
{
	struct tls_config *cfg;
	char err[256], ca[PATH_MAX];

	if (ca_name)
		path_of(ca, sizeof(ca), ca_name);
	if (tls_config_new_client(&cfg, system_ca, ca_name ? ca : NULL, err, sizeof(err)))
		fail_msg("client config: %s", err);
	return cfg;
}

static struct tls_config *server_config(void)
{
	struct tls_config *cfg;
	char err[256], crt[PATH_MAX], key[PATH_MAX];

	path_of(crt, sizeof(crt), "srv.crt");
	path_of(key, sizeof(key), "srv.key");
	if (tls_config_new_server(&cfg, crt, key, err, sizeof(err)))
		fail_msg("server config: %s", err);
	return cfg;
}

static void test_config_errors(void **state)
{
	struct tls_config *cfg = NULL;
	char err[256], crt[PATH_MAX], key[PATH_MAX], junk[PATH_MAX], missing[PATH_MAX];

	(void)state;
	need_certs();
	path_of(crt, sizeof(crt), "srv.crt");
	path_of(key, sizeof(key), "other.key");
	path_of(junk, sizeof(junk), "junk.pem");
	path_of(missing, sizeof(missing), "missing.pem");

	assert_int_equal(tls_config_new_server(&cfg, missing, key, err, sizeof(err)), -EINVAL);
	assert_null(cfg);
	assert_non_null(strstr(err, "missing.pem"));

	/* A key that belongs to another certificate. */
	assert_int_equal(tls_config_new_server(&cfg, crt, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not match"));

	assert_int_equal(tls_config_new_server(&cfg, junk, key, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "junk.pem"));
	assert_int_equal(tls_config_new_server(&cfg, crt, junk, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "junk.pem"));

	assert_int_equal(tls_config_new_client(&cfg, false, NULL, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no trusted CA"));
	assert_int_equal(tls_config_new_client(&cfg, false, junk, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "junk.pem"));
	assert_int_equal(tls_config_new_client(&cfg, true, missing, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "missing.pem"));

	/* The system store alone loads (Debian's ca-certificates). */
	if (access(TLS_SYSTEM_CA_DIR, R_OK) == 0) {
		assert_int_equal(tls_config_new_client(&cfg, true, NULL, err, sizeof(err)), 0);
		tls_config_free(cfg);
	}
	tls_config_free(NULL);
}

/* Move everything one side produced to the other, @step bytes per feed. */
static bool pump(struct tls_session *from, struct tls_session *to, size_t step)
{
	size_t len, off;
	uint8_t *p = tls_session_take_output(from, &len);

	if (!p)
		return false;
	for (off = 0; off < len; off += step)
		assert_int_equal(tls_session_feed(to, p + off, off + step > len ? len - off : step),
				 0);
	free(p);
	return true;
}

static void test_session_memory_bio(void **state)
{
	struct tls_config *ccfg, *scfg;
	struct tls_session *c, *s;
	static uint8_t msg[50000], got[sizeof(msg)];
	size_t have = 0;
	int cr = -EAGAIN, sr = -EAGAIN, rounds = 0;
	ssize_t n;

	(void)state;
	need_certs();
	ccfg = client_config("ca.crt", false);
	scfg = server_config();
	assert_int_equal(tls_session_new(&c, ccfg, NULL), -EINVAL); /* a name is mandatory */
	assert_int_equal(tls_session_new(&c, ccfg, "localhost"), 0);
	assert_int_equal(tls_session_new(&s, scfg, NULL), 0);

	/* Handshake with every record split into single bytes. */
	while ((cr || sr) && rounds++ < 100) {
		if (cr)
			cr = tls_session_handshake(c);
		pump(c, s, 1);
		if (sr)
			sr = tls_session_handshake(s);
		pump(s, c, 1);
		assert_true(cr == 0 || cr == -EAGAIN);
		assert_true(sr == 0 || sr == -EAGAIN);
	}
	assert_int_equal(cr, 0);
	assert_int_equal(sr, 0);
	assert_string_equal(tls_session_error(c), "");

	randombytes_buf(msg, sizeof(msg));
	assert_int_equal(tls_session_write(c, msg, sizeof(msg)), 0);
	assert_true(pump(c, s, 7000));
	assert_false(tls_session_has_input(c));
	assert_true(tls_session_has_input(s));
	while ((n = tls_session_read(s, got + have, sizeof(got) - have)) > 0)
		have += (size_t)n;
	assert_int_equal(n, -EAGAIN);
	assert_int_equal(have, sizeof(msg));
	assert_memory_equal(got, msg, sizeof(msg));

	assert_int_equal(tls_session_close_notify(c), 0);
	assert_true(pump(c, s, 3));
	assert_int_equal(tls_session_read(s, got, sizeof(got)), 0);
	tls_session_free(c);
	tls_session_free(s);

	/* Garbage instead of a ServerHello: a fatal, explained error. */
	assert_int_equal(tls_session_new(&c, ccfg, "localhost"), 0);
	assert_int_equal(tls_session_handshake(c), -EAGAIN);
	assert_int_equal(tls_session_feed(c, (const uint8_t *)"HTTP/1.1 400 Bad\r\n\r\n", 20), 0);
	assert_int_equal(tls_session_handshake(c), -EPROTO);
	assert_true(strlen(tls_session_error(c)) > 0);
	assert_int_equal(tls_session_handshake(c), -EPROTO); /* sticky */
	tls_session_free(c);

	/* The wrong name: the client refuses the server's certificate. */
	assert_int_equal(tls_session_new(&c, ccfg, "mesh.example.com"), 0);
	assert_int_equal(tls_session_new(&s, scfg, NULL), 0);
	for (rounds = 0, cr = sr = -EAGAIN; cr == -EAGAIN && rounds < 20; rounds++) {
		cr = tls_session_handshake(c);
		pump(c, s, 4096);
		if (sr == -EAGAIN)
			sr = tls_session_handshake(s);
		pump(s, c, 4096);
	}
	assert_int_equal(cr, -EKEYREJECTED);
	assert_non_null(strstr(tls_session_error(c), "certificate verify failed"));
	assert_non_null(strstr(tls_session_error(c), "mesh.example.com"));
	assert_non_null(strstr(tls_session_error(c), "CN"));
	tls_session_free(c);
	tls_session_free(s);
	tls_config_free(ccfg);
	tls_config_free(scfg);
}

/* ---- HTTPS end to end ---- */

struct harness {
	uv_loop_t loop;
	uv_timer_t guard;
	struct http_server *srv;
	struct tls_config *server_tls;
	uint16_t tls_port, plain_port;
	bool closed;
	struct http_exchange *stream_ex;
	struct net_conn *client_up;
	struct net_buf up_in;
	int up_closed;
};

struct result {
	bool done;
	int err;
	char errmsg[512];
	int status;
	struct net_buf body;
	int pieces;
};

static struct harness *H;

static void on_guard(uv_timer_t *t)
{
	(void)t;
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

static void h_hello(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	(void)arg;
	http_exchange_respond_text(ex, 200, req->tls ? "hello over tls" : "hello");
}

static void h_echo(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	(void)arg;
	http_exchange_respond(ex, 200, "application/octet-stream", req->body, req->body_len);
}

static void on_stream_abort(struct http_exchange *ex, void *arg)
{
	struct harness *h = arg;

	(void)ex;
	h->stream_ex = NULL;
}

static void h_stream(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct harness *h = arg;

	(void)req;
	assert_int_equal(http_exchange_stream_begin(ex, 200, "application/octet-stream"), 0);
	http_exchange_on_abort(ex, on_stream_abort, h);
	assert_int_equal(http_exchange_stream_write(ex, "tick", 4), 0);
	h->stream_ex = ex;
}

static void on_up_closed(struct net_conn *c, void *arg)
{
	struct harness *h = arg;

	(void)c;
	h->up_closed++;
}

static void server_up_read(struct net_conn *c, ssize_t nread, const uint8_t *buf, void *arg)
{
	if (nread < 0) {
		net_conn_close(c, on_up_closed, arg);
		return;
	}
	net_conn_write(c, "echo:", 5);
	net_conn_write(c, buf, (size_t)nread);
}

static void h_relay(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct net_conn *c;

	(void)req;
	assert_int_equal(http_exchange_upgrade(ex, "meshrelay", &c), 0);
	net_conn_write(c, "WELCOME", 7);
	net_conn_set_read_cb(c, server_up_read, arg);
	assert_int_equal(net_conn_read_start(c), 0);
}

static int setup(void **state)
{
	struct harness *h;

	if (!have_certs)
		return 0; /* each test skips */
	h = calloc(1, sizeof(*h));
	assert_non_null(h);
	H = h;
	assert_int_equal(uv_loop_init(&h->loop), 0);
	uv_timer_init(&h->loop, &h->guard);
	h->server_tls = server_config();
	assert_int_equal(http_server_new(&h->srv, &h->loop, NULL), 0);
	assert_int_equal(http_server_listen(h->srv, "127.0.0.1:0", h->server_tls, &h->tls_port), 0);
	assert_int_equal(http_server_listen(h->srv, "127.0.0.1:0", NULL, &h->plain_port), 0);
	assert_int_equal(http_server_route(h->srv, "GET", "/hello", HTTP_MATCH_EXACT, h_hello, h),
			 0);
	assert_int_equal(http_server_route(h->srv, "POST", "/echo", HTTP_MATCH_EXACT, h_echo, h),
			 0);
	assert_int_equal(http_server_route(h->srv, "GET", "/stream", HTTP_MATCH_EXACT, h_stream, h),
			 0);
	assert_int_equal(http_server_route(h->srv, "GET", "/relay", HTTP_MATCH_EXACT, h_relay, h),
			 0);
	*state = h;
	return 0;
}

static void on_server_closed(void *arg)
{
	*(bool *)arg = true;
}

static int teardown(void **state)
{
	struct harness *h = *state;

	if (!h)
		return 0;
	http_server_close(h->srv, on_server_closed, &h->closed);
	assert_true(run_until(flag_true, &h->closed, WAIT_MS));
	uv_close((uv_handle_t *)&h->guard, NULL);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&h->loop), 0);
	tls_config_free(h->server_tls);
	net_buf_free(&h->up_in);
	free(h);
	*state = NULL;
	return 0;
}

static void on_done(struct http_client_req *req, int err, const char *errmsg,
		    const struct http_response *resp, void *arg)
{
	struct result *r = arg;

	(void)req;
	r->done = true;
	r->err = err;
	snprintf(r->errmsg, sizeof(r->errmsg), "%s", errmsg);
	if (resp) {
		r->status = resp->status;
		if (resp->body_len)
			assert_int_equal(net_buf_append(&r->body, resp->body, resp->body_len, 0),
					 0);
	}
}

static void on_data(struct http_client_req *req, const uint8_t *data, size_t len, void *arg)
{
	struct result *r = arg;

	(void)req;
	r->pieces++;
	assert_int_equal(net_buf_append(&r->body, data, len, 0), 0);
}

static void https(struct result *r, struct http_client_options *o, const char *host, uint16_t port,
		  const char *path)
{
	struct http_client_req *req;
	char url[256];

	snprintf(url, sizeof(url), "https://%s:%u%s", host, port, path);
	o->url = url;
	o->on_done = on_done;
	o->arg = r;
	assert_int_equal(http_client_request(&req, &H->loop, o), 0);
	assert_true(run_until(flag_true, &r->done, WAIT_MS));
}

static bool body_is(const struct result *r, const char *s)
{
	return net_buf_len(&r->body) == strlen(s) && !memcmp(net_buf_head(&r->body), s, strlen(s));
}

static void test_https_round_trip(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {0};
	struct result r = {0}, e = {0};
	static uint8_t big[200 * 1024];

	need_certs();
	o.tls = client_config("ca.crt", false);
	https(&r, &o, "localhost", h->tls_port, "/hello");
	assert_int_equal(r.err, 0);
	assert_int_equal(r.status, 200);
	assert_true(body_is(&r, "hello over tls"));

	/* Many records each way. */
	randombytes_buf(big, sizeof(big));
	o.body = big;
	o.body_len = sizeof(big);
	https(&e, &o, "localhost", h->tls_port, "/echo");
	assert_int_equal(e.err, 0);
	assert_int_equal(e.status, 200);
	assert_int_equal(net_buf_len(&e.body), sizeof(big));
	assert_memory_equal(net_buf_head(&e.body), big, sizeof(big));

	tls_config_free(o.tls);
	net_buf_free(&r.body);
	net_buf_free(&e.body);
}

static bool got_tick(void *arg)
{
	return ((struct result *)arg)->pieces > 0;
}

static bool up_has(void *arg)
{
	const char *needle = arg;

	return net_buf_len(&H->up_in) &&
	       memmem(net_buf_head(&H->up_in), net_buf_len(&H->up_in), needle, strlen(needle));
}

static void client_up_read(struct net_conn *c, ssize_t nread, const uint8_t *buf, void *arg)
{
	(void)c;
	(void)arg;
	if (nread > 0)
		assert_int_equal(net_buf_append(&H->up_in, buf, (size_t)nread, 0), 0);
}

static void on_upgrade(struct http_client_req *req, struct net_conn *conn,
		       const struct http_response *resp, void *arg)
{
	struct result *r = arg;

	(void)req;
	r->done = true;
	r->status = resp->status;
	H->client_up = conn;
	net_conn_set_read_cb(conn, client_up_read, NULL);
	assert_int_equal(net_conn_read_start(conn), 0);
}

static bool two_closed(void *arg)
{
	return *(int *)arg >= 2;
}

static void test_https_stream_and_upgrade(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {.on_data = on_data};
	struct result s = {0}, u = {0};

	need_certs();
	o.tls = client_config("ca.crt", false);
	{
		struct http_client_req *req;
		char url[128];

		snprintf(url, sizeof(url), "https://localhost:%u/stream", h->tls_port);
		o.url = url;
		o.on_done = on_done;
		o.arg = &s;
		assert_int_equal(http_client_request(&req, &h->loop, &o), 0);
		assert_true(run_until(got_tick, &s, WAIT_MS));
		assert_false(s.done);
		assert_non_null(h->stream_ex);
		assert_int_equal(http_exchange_stream_write(h->stream_ex, "tock", 4), 0);
		assert_int_equal(http_exchange_stream_end(h->stream_ex), 0);
		h->stream_ex = NULL;
		assert_true(run_until(flag_true, &s.done, WAIT_MS));
		assert_int_equal(s.err, 0);
		assert_true(body_is(&s, "ticktock"));
	}

	o.on_data = NULL;
	o.upgrade = "meshrelay";
	o.on_upgrade = on_upgrade;
	https(&u, &o, "localhost", h->tls_port, "/relay");
	assert_int_equal(u.status, 101);
	assert_non_null(h->client_up);
	assert_true(run_until(up_has, (void *)"WELCOME", WAIT_MS));
	assert_int_equal(net_conn_write(h->client_up, "over tls", 8), 0);
	assert_true(run_until(up_has, (void *)"echo:over tls", WAIT_MS));
	net_conn_close(h->client_up, on_up_closed, h);
	assert_true(run_until(two_closed, &h->up_closed, WAIT_MS));

	tls_config_free(o.tls);
	net_buf_free(&s.body);
}

static void test_https_refused(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {0};
	struct result wrong_ca = {0}, wrong_name = {0}, ip = {0}, sys = {0}, ok = {0};

	need_certs();
	/* Signed by a CA we do not trust. */
	o.tls = client_config("other.crt", false);
	https(&wrong_ca, &o, "localhost", h->tls_port, "/hello");
	assert_int_equal(wrong_ca.err, -EKEYREJECTED);
	assert_int_equal(wrong_ca.status, 0);
	assert_non_null(strstr(wrong_ca.errmsg, "certificate verify failed for localhost"));
	assert_non_null(strstr(wrong_ca.errmsg, "not correctly signed by the trusted CA"));
	tls_config_free(o.tls);

	/* Trusted CA, but the certificate is for another name. */
	o.tls = client_config("ca.crt", false);
	o.tls_server_name = "mesh.example.com";
	https(&wrong_name, &o, "localhost", h->tls_port, "/hello");
	assert_int_equal(wrong_name.err, -EKEYREJECTED);
	assert_non_null(strstr(wrong_name.errmsg, "mesh.example.com"));
	assert_non_null(strstr(wrong_name.errmsg, "CN"));

	/* An IP address is not the name on the certificate either. */
	o.tls_server_name = NULL;
	https(&ip, &o, "127.0.0.1", h->tls_port, "/hello");
	assert_int_equal(ip.err, -EKEYREJECTED);
	tls_config_free(o.tls);

	/* The system store does not know our test CA. */
	if (access(TLS_SYSTEM_CA_DIR, R_OK) == 0) {
		o.tls = client_config(NULL, true);
		https(&sys, &o, "localhost", h->tls_port, "/hello");
		assert_int_equal(sys.err, -EKEYREJECTED);
		assert_non_null(strstr(sys.errmsg, "certificate verify failed"));
		tls_config_free(o.tls);
	}

	/* System store plus the test CA: accepted. */
	o.tls = client_config("ca.crt", access(TLS_SYSTEM_CA_DIR, R_OK) == 0);
	https(&ok, &o, "localhost", h->tls_port, "/hello");
	assert_int_equal(ok.err, 0);
	assert_int_equal(ok.status, 200);
	tls_config_free(o.tls);
	net_buf_free(&ok.body);
}

static void test_protocol_mismatch(void **state)
{
	struct harness *h = *state;
	struct http_client_options o = {0};
	struct http_client_req *req;
	struct result tls_to_plain = {0}, plain_to_tls = {0}, ok = {0};
	char url[128];

	need_certs();
	/* TLS client, plain server: the server answers 400 in clear text. */
	o.tls = client_config("ca.crt", false);
	https(&tls_to_plain, &o, "localhost", h->plain_port, "/hello");
	assert_int_equal(tls_to_plain.err, -EPROTO);
	assert_true(strlen(tls_to_plain.errmsg) > 0);
	tls_config_free(o.tls);

	/* Plain client, TLS server: the server sees garbage and closes. */
	memset(&o, 0, sizeof(o));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/hello", h->tls_port);
	o.url = url;
	o.on_done = on_done;
	o.arg = &plain_to_tls;
	assert_int_equal(http_client_request(&req, &h->loop, &o), 0);
	assert_true(run_until(flag_true, &plain_to_tls.done, WAIT_MS));
	assert_true(plain_to_tls.err < 0);

	/* The server is unharmed. */
	memset(&o, 0, sizeof(o));
	o.tls = client_config("ca.crt", false);
	https(&ok, &o, "localhost", h->tls_port, "/hello");
	assert_int_equal(ok.status, 200);
	tls_config_free(o.tls);
	net_buf_free(&ok.body);
	net_buf_free(&tls_to_plain.body);
	net_buf_free(&plain_to_tls.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_session_memory_bio),
		cmocka_unit_test_setup_teardown(test_https_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_stream_and_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_https_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol_mismatch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
