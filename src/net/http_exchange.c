// SPDX-License-Identifier: MIT
/*
 * Writing responses for the HTTP server: complete ones, chunked streams and
 * the 101 of an Upgrade. Everything for one response head is built in the
 * connection's scratch buffer and written at once (one TLS record, one
 * segment for small answers). The exchange ends here (http_conn_finish) or
 * through the connection's close path, never both.
 */
#include "net/http_server.h"

#include "net/conn.h"
#include "net/http_server_internal.h"
#include "util/compiler.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum {
	HEAD_LINE_MAX = 512, /* one formatted header line */
};

static void format_date(char *buf, size_t len)
{
	struct tm tm;
	time_t now = time(NULL);

	if (!gmtime_r(&now, &tm) || !strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm))
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* Append printf output to @b. Returns 0 or a negative errno. */
int http_response_printf(struct net_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int http_response_printf(struct net_buf *b, const char *fmt, ...)
{
	char line[HEAD_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EMSGSIZE;
	return net_buf_append(b, line, (size_t)n, 0);
}

/* Status line, Date and Connection; the caller adds the rest and the blank line. */
int http_response_start(struct http_conn *sc, int status)
{
	char date[64];
	int ret;

	format_date(date, sizeof(date));
	net_buf_reset(&sc->out);
	ret = http_response_printf(&sc->out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
				   http_status_reason(status), date);
	if (!ret && !sc->keep_alive)
		ret = http_response_printf(&sc->out, "Connection: close\r\n");
	else if (!ret && sc->parser.http_minor == 0)
		ret = http_response_printf(&sc->out, "Connection: keep-alive\r\n");
	return ret;
}

int http_response_send(struct http_conn *sc)
{
	int ret = net_conn_write(sc->nc, net_buf_head(&sc->out), net_buf_len(&sc->out));

	net_buf_reset(&sc->out);
	return ret;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	return http_header_find(req->headers, req->nheaders, name);
}

static struct http_conn *exchange_conn(struct http_exchange *ex)
{
	return container_of(ex, struct http_conn, ex);
}

int http_exchange_add_header(struct http_exchange *ex, const char *name, const char *value)
{
	static const char *const managed[] = {"Content-Length", "Transfer-Encoding", "Connection",
					      "Date", "Upgrade"};
	size_t i;

	if (ex->state != HTTP_EX_ACTIVE || !http_header_name_valid(name) ||
	    !http_header_value_valid(value))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(managed); i++) {
		if (!strcasecmp(name, managed[i]))
			return -EINVAL;
	}
	if (net_buf_append(&ex->headers, name, strlen(name), 0) ||
	    net_buf_append(&ex->headers, ": ", 2, 0) ||
	    net_buf_append(&ex->headers, value, strlen(value), 0) ||
	    net_buf_append(&ex->headers, "\r\n", 2, 0))
		return -ENOMEM;
	return 0;
}

/* Content-Type, the handler's headers and the blank line. */
static int end_head(struct http_conn *sc, const char *content_type)
{
	struct http_exchange *ex = &sc->ex;
	int ret = 0;

	if (content_type) {
		if (!http_header_value_valid(content_type))
			return -EINVAL;
		ret = http_response_printf(&sc->out, "Content-Type: %s\r\n", content_type);
	}
	if (!ret)
		ret = net_buf_append(&sc->out, net_buf_head(&ex->headers),
				     net_buf_len(&ex->headers), 0);
	if (!ret)
		ret = net_buf_append(&sc->out, "\r\n", 2, 0);
	net_buf_reset(&ex->headers);
	return ret;
}

int http_exchange_respond(struct http_exchange *ex, int status, const char *content_type,
			  const void *body, size_t len)
{
	struct http_conn *sc = exchange_conn(ex);
	bool bodyless = status == 204 || status == 304;
	int ret;

	if (ex->state != HTTP_EX_ACTIVE || status < 200 || status > 599)
		return -EINVAL;
	ret = http_response_start(sc, status);
	if (!ret && !bodyless)
		ret = http_response_printf(&sc->out, "Content-Length: %zu\r\n", len);
	if (!ret)
		ret = end_head(sc, content_type);
	if (!ret && len && !bodyless && !ex->no_body)
		ret = net_buf_append(&sc->out, body, len, 0);
	if (!ret)
		ret = http_response_send(sc);
	if (ret < 0)
		sc->keep_alive = false;
	http_conn_finish(sc);
	return ret;
}

int http_exchange_respond_text(struct http_exchange *ex, int status, const char *text)
{
	return http_exchange_respond(ex, status, "text/plain; charset=utf-8", text, strlen(text));
}

int http_exchange_stream_begin(struct http_exchange *ex, int status, const char *content_type)
{
	struct http_conn *sc = exchange_conn(ex);
	int ret;

	if (ex->state != HTTP_EX_ACTIVE || status < 200 || status > 599 || status == 204 ||
	    status == 304)
		return -EINVAL;
	ex->chunked = sc->parser.http_major > 1 ||
		      (sc->parser.http_major == 1 && sc->parser.http_minor >= 1);
	if (!ex->chunked)
		sc->keep_alive = false; /* HTTP/1.0: the body ends when we close */
	ret = http_response_start(sc, status);
	if (!ret && ex->chunked)
		ret = http_response_printf(&sc->out, "Transfer-Encoding: chunked\r\n");
	if (!ret)
		ret = http_response_printf(&sc->out, "Cache-Control: no-store\r\n");
	if (!ret)
		ret = end_head(sc, content_type);
	if (!ret)
		ret = http_response_send(sc);
	if (ret < 0) {
		sc->keep_alive = false;
		http_conn_finish(sc);
		return ret;
	}
	ex->state = HTTP_EX_STREAMING;
	return 0;
}

int http_exchange_stream_write(struct http_exchange *ex, const void *buf, size_t len)
{
	struct http_conn *sc = exchange_conn(ex);
	int ret = 0;

	if (ex->state != HTTP_EX_STREAMING || !sc->nc)
		return -EINVAL;
	if (!len || ex->no_body)
		return 0; /* an empty chunk would end the stream */
	if (net_conn_write_queue_size(sc->nc) > sc->srv->cfg.max_write_queue)
		return -ENOBUFS;
	net_buf_reset(&sc->out);
	if (ex->chunked)
		ret = http_response_printf(&sc->out, "%zx\r\n", len);
	if (!ret)
		ret = net_buf_append(&sc->out, buf, len, 0);
	if (!ret && ex->chunked)
		ret = net_buf_append(&sc->out, "\r\n", 2, 0);
	if (!ret)
		ret = http_response_send(sc);
	if (ret < 0) {
		net_buf_reset(&sc->out);
		http_conn_schedule_close(sc);
	}
	return ret;
}

int http_exchange_stream_end(struct http_exchange *ex)
{
	static const char last[] = "0\r\n\r\n";
	struct http_conn *sc = exchange_conn(ex);
	int ret = 0;

	if (ex->state != HTTP_EX_STREAMING)
		return -EINVAL;
	if (ex->chunked && !ex->no_body)
		ret = net_conn_write(sc->nc, last, sizeof(last) - 1);
	if (ret < 0)
		sc->keep_alive = false;
	http_conn_finish(sc);
	return ret;
}

size_t http_exchange_write_queue_size(const struct http_exchange *ex)
{
	const struct http_conn *sc = container_of(ex, const struct http_conn, ex);

	return sc->nc ? net_conn_write_queue_size(sc->nc) : 0;
}

void http_exchange_on_abort(struct http_exchange *ex, http_abort_cb *cb, void *arg)
{
	ex->abort_cb = cb;
	ex->abort_arg = arg;
}

int http_exchange_upgrade(struct http_exchange *ex, const char *protocol, struct net_conn **conn)
{
	struct http_conn *sc = exchange_conn(ex);
	struct net_conn *nc = sc->nc;
	int ret;

	*conn = NULL;
	if (ex->state != HTTP_EX_ACTIVE || !sc->req.upgrade || !http_header_name_valid(protocol))
		return -EINVAL;
	sc->keep_alive = true; /* no "Connection: close" on a 101 */
	ret = http_response_start(sc, 101);
	if (!ret)
		ret = http_response_printf(&sc->out, "Upgrade: %s\r\nConnection: Upgrade\r\n",
					   protocol);
	if (!ret)
		ret = end_head(sc, NULL);
	if (!ret)
		ret = http_response_send(sc);
	if (!ret)
		ret = net_conn_unread(nc, net_buf_head(&sc->inbuf), net_buf_len(&sc->inbuf));
	if (ret < 0) {
		sc->keep_alive = false;
		http_conn_finish(sc);
		return ret;
	}
	net_buf_free(&sc->inbuf);
	net_conn_read_stop(nc);
	net_conn_set_read_cb(nc, NULL, NULL);
	sc->nc = NULL;
	ex->state = HTTP_EX_NONE;
	ex->abort_cb = NULL;
	sc->served++;
	http_conn_close(sc); /* releases the HTTP state only: nc is no longer ours */
	*conn = nc;
	return 0;
}
