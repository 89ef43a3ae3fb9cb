// SPDX-License-Identifier: MIT
/*
 * HTTP/1.1 client: resolve → connect (each address in turn; TLS verified) →
 * send the request → parse the response with http-parser.
 *
 * A request holds up to three asynchronous things: the getaddrinfo request,
 * the connection and the deadline timer. It is freed once it has finished
 * (callback made, or cancelled) and all three are gone; callbacks from the
 * leftovers see the "finished" flag and do nothing.
 */
#include "net/http_client.h"

#include "net/conn.h"
#include "net/netbuf.h"
#include "util/compiler.h"

#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum client_defaults {
	DEF_TIMEOUT_MS = 30 * 1000,
	DEF_MAX_HEADER = 64 * 1024,
	DEF_MAX_BODY = 16 * 1024 * 1024,
	HOST_LEN = 256,
	ERR_LEN = 512,
	LINE_LEN = 512,
};

enum client_state {
	CL_RESOLVING,
	CL_CONNECTING,
	CL_WAITING, /* request sent, reading the response */
	CL_DONE,    /* final response complete (parser paused) */
	CL_UPGRADED,
};

struct http_client_req {
	uv_loop_t *loop;
	uv_getaddrinfo_t gai;
	uv_timer_t timer;
	struct net_conn *nc;
	struct addrinfo *addrs, *next_addr;
	http_parser parser;
	struct http_head head;
	struct net_buf body;
	struct net_buf request; /* serialized request, kept to resend to the next address */
	struct http_response resp;
	enum client_state state;
	int pending; /* gai + timer + nc still outstanding */
	bool gai_pending;
	bool finished; /* the final callback ran or the caller cancelled */
	bool head_seen;
	bool streaming;
	bool is_head_method;
	bool want_upgrade;
	int last_err;

	struct tls_config *tls;
	unsigned int timeout_ms, idle_timeout_ms;
	size_t max_body;
	http_client_head_cb *on_head;
	http_client_data_cb *on_data;
	http_client_done_cb *on_done;
	http_client_upgrade_cb *on_upgrade;
	void *arg;

	char host[HOST_LEN];
	char port[8];
	char server_name[HOST_LEN];
	char err[ERR_LEN];
};

static void release(struct http_client_req *req);

static void maybe_free(struct http_client_req *req)
{
	if (!req->finished || req->pending)
		return;
	if (req->addrs)
		uv_freeaddrinfo(req->addrs);
	http_head_free(&req->head);
	net_buf_free(&req->body);
	net_buf_free(&req->request);
	free(req);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct http_client_req *req = h->data;

	req->pending--;
	maybe_free(req);
}

static void on_nc_closed(struct net_conn *nc, void *arg)
{
	struct http_client_req *req = arg;

	(void)nc;
	req->pending--;
	maybe_free(req);
}

static void drop_conn(struct http_client_req *req)
{
	if (!req->nc)
		return;
	net_conn_close(req->nc, on_nc_closed, req);
	req->nc = NULL;
}

/* Finished: let go of everything still running. */
static void release(struct http_client_req *req)
{
	req->finished = true;
	if (!uv_is_closing((uv_handle_t *)&req->timer))
		uv_close((uv_handle_t *)&req->timer, on_timer_closed);
	drop_conn(req);
	if (req->gai_pending)
		uv_cancel((uv_req_t *)&req->gai);
	maybe_free(req);
}

static const struct http_response *head_or_null(struct http_client_req *req)
{
	return req->head_seen ? &req->resp : NULL;
}

static void fail(struct http_client_req *req, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct http_client_req *req, int err, const char *fmt, ...)
{
	va_list ap;

	if (req->finished)
		return;
	va_start(ap, fmt);
	vsnprintf(req->err, sizeof(req->err), fmt, ap);
	va_end(ap);
	req->finished = true;
	req->on_done(req, err, req->err, head_or_null(req), req->arg);
	release(req);
}

static void succeed(struct http_client_req *req)
{
	if (req->finished)
		return;
	req->finished = true;
	req->resp.body = net_buf_len(&req->body) ? net_buf_head(&req->body) : NULL;
	req->resp.body_len = net_buf_len(&req->body);
	req->on_done(req, 0, "", &req->resp, req->arg);
	release(req);
}

static void on_timeout(uv_timer_t *t)
{
	struct http_client_req *req = t->data;

	if (req->head_seen && req->streaming)
		fail(req, -ETIMEDOUT, "no data from %s for %u ms", req->host, req->idle_timeout_ms);
	else
		fail(req, -ETIMEDOUT, "request to %s timed out after %u ms", req->host,
		     req->timeout_ms);
}

static struct http_client_req *parser_req(http_parser *p)
{
	return p->data;
}

static int on_message_begin(http_parser *p)
{
	struct http_client_req *req = parser_req(p);

	http_head_reset(&req->head);
	net_buf_reset(&req->body);
	return 0;
}

static int head_part(http_parser *p, enum http_head_part part, const char *at, size_t len)
{
	struct http_client_req *req = parser_req(p);
	int ret = http_head_append(&req->head, part, at, len);

	if (ret) {
		fail(req, ret == -ENOMEM ? -ENOMEM : -EMSGSIZE, "response head from %s too large",
		     req->host);
		return -1;
	}
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	return head_part(p, HTTP_HEAD_FIELD, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	return head_part(p, HTTP_HEAD_VALUE, at, len);
}

static bool interim(const struct http_client_req *req, unsigned int status)
{
	return status >= 100 && status < 200 && !(status == 101 && req->want_upgrade);
}

static int on_headers_complete(http_parser *p)
{
	struct http_client_req *req = parser_req(p);

	if (http_head_finish(&req->head)) {
		fail(req, -ENOMEM, "out of memory");
		return -1;
	}
	if (interim(req, p->status_code))
		return 0; /* "100 Continue" and friends: wait for the real one */
	req->head_seen = true;
	req->resp.status = p->status_code;
	req->resp.headers = req->head.headers;
	req->resp.nheaders = req->head.nheaders;
	if (p->status_code == 101)
		return 0;
	if (req->streaming) {
		if (req->idle_timeout_ms)
			uv_timer_start(&req->timer, on_timeout, req->idle_timeout_ms, 0);
		else
			uv_timer_stop(&req->timer);
	}
	if (req->on_head) {
		req->on_head(req, &req->resp, req->arg);
		if (req->finished)
			return -1;
	}
	return req->is_head_method ? 1 : 0; /* 1: no body follows */
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_client_req *req = parser_req(p);

	if (req->streaming) {
		req->on_data(req, (const uint8_t *)at, len, req->arg);
		return req->finished ? -1 : 0;
	}
	if (net_buf_append(&req->body, at, len, req->max_body)) {
		fail(req, -EMSGSIZE, "response body from %s larger than %zu bytes", req->host,
		     req->max_body);
		return -1;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_client_req *req = parser_req(p);

	if (interim(req, p->status_code))
		return 0;
	req->state = p->status_code == 101 ? CL_UPGRADED : CL_DONE;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void hand_over(struct http_client_req *req, const uint8_t *rest, size_t len)
{
	struct net_conn *nc = req->nc;

	if (net_conn_unread(nc, rest, len) < 0) {
		fail(req, -ENOMEM, "out of memory");
		return;
	}
	net_conn_read_stop(nc);
	net_conn_set_read_cb(nc, NULL, NULL);
	req->nc = NULL;
	req->pending--; /* the connection is the caller's now */
	req->finished = true;
	req->on_upgrade(req, nc, &req->resp, req->arg);
	release(req);
}

static void on_read(struct net_conn *nc, ssize_t nread, const uint8_t *buf, void *arg)
{
	struct http_client_req *req = arg;
	enum http_errno e;
	size_t used;

	(void)nc;
	if (req->finished)
		return;
	if (nread < 0) {
		/* EOF ends a body that has neither length nor chunks. */
		if (nread == UV_EOF && req->head_seen) {
			http_parser_execute(&req->parser, &parser_settings, NULL, 0);
			if (req->state == CL_DONE) {
				succeed(req);
				return;
			}
		}
		if (req->finished)
			return;
		fail(req, nread == UV_EOF ? -ECONNRESET : (int)nread,
		     "connection to %s closed before the response was complete%s%s", req->host,
		     nread == UV_EOF ? "" : ": ", nread == UV_EOF ? "" : net_conn_strerror(nc));
		return;
	}
	if (req->streaming && req->head_seen && req->idle_timeout_ms)
		uv_timer_start(&req->timer, on_timeout, req->idle_timeout_ms, 0);
	used = http_parser_execute(&req->parser, &parser_settings, (const char *)buf,
				   (size_t)nread);
	if (req->finished)
		return;
	if (req->state == CL_UPGRADED) {
		if (!req->want_upgrade || !req->on_upgrade) {
			fail(req, -EPROTO, "unexpected protocol switch from %s", req->host);
			return;
		}
		hand_over(req, buf + used, (size_t)nread - used);
		return;
	}
	if (req->state == CL_DONE) {
		succeed(req);
		return;
	}
	e = HTTP_PARSER_ERRNO(&req->parser);
	if (e != HPE_OK)
		fail(req, -EPROTO, "invalid response from %s: %s", req->host,
		     http_errno_description(e));
}

static void try_next_addr(struct http_client_req *req);

static void on_connected(struct net_conn *nc, int status, void *arg)
{
	struct http_client_req *req = arg;
	int ret;

	if (req->finished)
		return;
	if (status < 0) {
		char why[ERR_LEN];

		snprintf(why, sizeof(why), "%s", net_conn_strerror(nc));
		snprintf(req->err, sizeof(req->err), "%s", why);
		req->last_err = status;
		drop_conn(req);
		/* A TLS failure means we reached the server and it is not trusted: stop. */
		if (status == -EKEYREJECTED || status == -EPROTO) {
			fail(req, status, "%s:%s: %.400s", req->host, req->port,
			     why[0] ? why : "TLS handshake failed");
			return;
		}
		try_next_addr(req);
		return;
	}
	req->state = CL_WAITING;
	net_conn_set_read_cb(nc, on_read, req);
	ret = net_conn_read_start(nc);
	if (!ret)
		ret = net_conn_write(nc, net_buf_head(&req->request), net_buf_len(&req->request));
	if (ret < 0)
		fail(req, ret, "sending the request to %s: %s", req->host, uv_strerror(ret));
}

static void try_next_addr(struct http_client_req *req)
{
	struct addrinfo *ai;
	char why[ERR_LEN];
	int ret;

	while ((ai = req->next_addr)) {
		req->next_addr = ai->ai_next;
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		ret = net_conn_connect(&req->nc, req->loop, ai->ai_addr, req->tls, req->server_name,
				       on_connected, req);
		if (ret == 0) {
			req->pending++;
			return;
		}
		req->last_err = ret;
		snprintf(req->err, sizeof(req->err), "%s", uv_strerror(ret));
	}
	snprintf(why, sizeof(why), "%s", req->err[0] ? req->err : "no usable address");
	fail(req, req->last_err ? req->last_err : -EHOSTUNREACH, "connect to %s:%s: %s", req->host,
	     req->port, why);
}

static void on_resolved(uv_getaddrinfo_t *gai, int status, struct addrinfo *res)
{
	struct http_client_req *req = container_of(gai, struct http_client_req, gai);

	req->gai_pending = false;
	req->pending--;
	if (req->finished) {
		if (res)
			uv_freeaddrinfo(res);
		maybe_free(req);
		return;
	}
	if (status < 0) {
		fail(req, status, "resolve %s: %s", req->host, uv_strerror(status));
		return;
	}
	req->addrs = res;
	req->next_addr = res;
	req->state = CL_CONNECTING;
	try_next_addr(req);
}

static int url_field(const char *url, const struct http_parser_url *u,
		     enum http_parser_url_fields f, char *buf, size_t len)
{
	size_t n = u->field_data[f].len;

	if (!(u->field_set & (1 << f)))
		return -ENOENT;
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(buf, url + u->field_data[f].off, n);
	buf[n] = '\0';
	return 0;
}

static int add_line(struct net_buf *b, const char *name, const char *value)
{
	char line[LINE_LEN];
	int n;

	if (!http_header_name_valid(name) || !http_header_value_valid(value))
		return -EINVAL;
	n = snprintf(line, sizeof(line), "%s: %s\r\n", name, value);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	return net_buf_append(b, line, (size_t)n, 0);
}

/* Serialize the request line, headers and body into req->request. */
static int build_request(struct http_client_req *req, const struct http_client_options *opts,
			 const char *url, const struct http_parser_url *u, bool https)
{
	const char *method = opts->method ? opts->method : (opts->body_len ? "POST" : "GET");
	bool default_port = !strcmp(req->port, https ? "443" : "80");
	bool v6 = strchr(req->host, ':') != NULL;
	struct net_buf *b = &req->request;
	char host[HOST_LEN + 16];
	char num[32];
	size_t i;
	int ret;

	if (!http_header_name_valid(method))
		return -EINVAL;
	ret = net_buf_append(b, method, strlen(method), 0);
	if (!ret)
		ret = net_buf_append(b, " ", 1, 0);
	if (!ret && (u->field_set & (1 << UF_PATH)))
		ret = net_buf_append(b, url + u->field_data[UF_PATH].off,
				     u->field_data[UF_PATH].len, 0);
	else if (!ret)
		ret = net_buf_append(b, "/", 1, 0);
	if (!ret && (u->field_set & (1 << UF_QUERY))) {
		ret = net_buf_append(b, "?", 1, 0);
		if (!ret)
			ret = net_buf_append(b, url + u->field_data[UF_QUERY].off,
					     u->field_data[UF_QUERY].len, 0);
	}
	if (!ret)
		ret = net_buf_append(b, " HTTP/1.1\r\n", 11, 0);
	snprintf(host, sizeof(host), "%s%s%s%s%s", v6 ? "[" : "", req->host, v6 ? "]" : "",
		 default_port ? "" : ":", default_port ? "" : req->port);
	if (!ret)
		ret = add_line(b, "Host", host);
	if (!ret && (opts->body_len || !strcmp(method, "POST") || !strcmp(method, "PUT"))) {
		snprintf(num, sizeof(num), "%zu", opts->body_len);
		ret = add_line(b, "Content-Length", num);
	}
	if (!ret && opts->content_type)
		ret = add_line(b, "Content-Type", opts->content_type);
	if (!ret && opts->upgrade) {
		ret = add_line(b, "Connection", "Upgrade");
		if (!ret)
			ret = add_line(b, "Upgrade", opts->upgrade);
	} else if (!ret) {
		ret = add_line(b, "Connection", "close");
	}
	for (i = 0; !ret && i < opts->nheaders; i++)
		ret = add_line(b, opts->headers[i].name, opts->headers[i].value);
	if (!ret)
		ret = net_buf_append(b, "\r\n", 2, 0);
	if (!ret && opts->body_len)
		ret = net_buf_append(b, opts->body, opts->body_len, 0);
	req->is_head_method = !strcmp(method, "HEAD");
	return ret;
}

static int parse_url(struct http_client_req *req, const struct http_client_options *opts,
		     struct http_parser_url *u, bool *https)
{
	const char *url = opts->url;
	char scheme[8];

	if (!url)
		return -EINVAL;
	http_parser_url_init(u);
	if (http_parser_parse_url(url, strlen(url), 0, u))
		return -EINVAL;
	if (url_field(url, u, UF_SCHEMA, scheme, sizeof(scheme)) ||
	    url_field(url, u, UF_HOST, req->host, sizeof(req->host)) || !req->host[0] ||
	    (u->field_set & (1 << UF_USERINFO)))
		return -EINVAL;
	if (!strcasecmp(scheme, "https"))
		*https = true;
	else if (!strcasecmp(scheme, "http"))
		*https = false;
	else
		return -ENOTSUP;
	if (u->field_set & (1 << UF_PORT)) {
		if (!u->port)
			return -EINVAL;
		snprintf(req->port, sizeof(req->port), "%u", u->port);
	} else {
		snprintf(req->port, sizeof(req->port), "%s", *https ? "443" : "80");
	}
	return 0;
}

int http_client_request(struct http_client_req **out, uv_loop_t *loop,
			const struct http_client_options *opts)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct http_client_req *req;
	struct http_parser_url u;
	const char *name;
	bool https = false;
	int ret;

	*out = NULL;
	if (!opts->on_done || (opts->upgrade && !opts->on_upgrade))
		return -EINVAL;
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	ret = parse_url(req, opts, &u, &https);
	if (ret)
		goto err_free_req;
	if (https && !opts->tls) {
		ret = -ENOKEY;
		goto err_free_req;
	}
	name = opts->tls_server_name ? opts->tls_server_name : req->host;
	if (strlen(name) >= sizeof(req->server_name)) {
		ret = -EINVAL;
		goto err_free_req;
	}
	memcpy(req->server_name, name, strlen(name) + 1);
	http_head_init(&req->head, opts->max_header_size ? opts->max_header_size : DEF_MAX_HEADER);
	ret = build_request(req, opts, opts->url, &u, https);
	if (ret)
		goto err_free_bufs;

	req->loop = loop;
	req->tls = https ? opts->tls : NULL;
	req->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEF_TIMEOUT_MS;
	req->idle_timeout_ms = opts->idle_timeout_ms;
	req->max_body = opts->max_body_size ? opts->max_body_size : DEF_MAX_BODY;
	req->on_head = opts->on_head;
	req->on_data = opts->on_data;
	req->on_done = opts->on_done;
	req->on_upgrade = opts->on_upgrade;
	req->arg = opts->arg;
	req->streaming = opts->on_data != NULL;
	req->want_upgrade = opts->upgrade != NULL;
	http_parser_init(&req->parser, HTTP_RESPONSE);
	req->parser.data = req;

	ret = uv_getaddrinfo(loop, &req->gai, on_resolved, req->host, req->port, &hints);
	if (ret < 0)
		goto err_free_bufs;
	req->gai_pending = true;
	req->pending = 2; /* gai + timer */
	uv_timer_init(loop, &req->timer);
	req->timer.data = req;
	uv_timer_start(&req->timer, on_timeout, req->timeout_ms, 0);
	*out = req;
	return 0;

err_free_bufs:
	http_head_free(&req->head);
	net_buf_free(&req->request);
err_free_req:
	free(req);
	return ret;
}

void http_client_cancel(struct http_client_req *req)
{
	if (req->finished)
		return;
	req->finished = true;
	release(req);
}

const char *http_response_header(const struct http_response *resp, const char *name)
{
	return http_header_find(resp->headers, resp->nheaders, name);
}
