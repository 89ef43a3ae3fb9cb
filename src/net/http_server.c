// SPDX-License-Identifier: MIT
/*
 * HTTP/1.1 server.
 *
 * Each connection moves through: IDLE (waiting for a request; a fresh
 * connection gets the header deadline, a kept-alive one the idle deadline)
 * → HEAD (first byte seen, header deadline running) → BODY (body deadline)
 * → READY (message complete; the parser is paused so later bytes stay
 * unparsed) → HANDLING (the handler owns the exchange) → IDLE again, or
 * CLOSING. Input that arrives while a request is handled is kept in inbuf
 * (bounded), which is also where the bytes after an Upgrade head wait until
 * they are pushed back into the connection for its new owner.
 *
 * The exchange is embedded in the connection: one request at a time.
 * Abort callbacks never run inside a call the application made (except
 * http_server_close): a failed write only schedules the close.
 */
#include "net/http_server.h"

#include "net/conn.h"
#include "net/http_server_internal.h"
#include "net/netbuf.h"
#include "util/compiler.h"
#include "util/ipaddr.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <http_parser.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum server_defaults {
	DEF_MAX_HEADER = 16 * 1024,
	DEF_MAX_BODY = 1024 * 1024,
	DEF_HEADER_TIMEOUT_MS = 10 * 1000,
	DEF_BODY_TIMEOUT_MS = 30 * 1000,
	DEF_IDLE_TIMEOUT_MS = 60 * 1000,
	DEF_MAX_CONNECTIONS = 50000,
	DEF_MAX_WRITE_QUEUE = 4 * 1024 * 1024,
	LISTEN_BACKLOG = 1024,
	ACCEPT_WARN_INTERVAL_MS = 10 * 1000, /* EMFILE comes in bursts: say it once */
	KEEP_BODY_CAP = 64 * 1024,	     /* free larger body buffers between requests */
	METHOD_LEN = 16,
};

struct route {
	char method[METHOD_LEN]; /* "" = any */
	char *path;
	size_t path_len;
	enum http_match match;
	http_handler_cb *cb;
	void *arg;
};

struct listener {
	union {
		uv_tcp_t t;
		uv_pipe_t p;
	} tcp;
	struct http_server *srv;
	struct tls_config *tls;
	struct listener *next;
	char *unix_path; /* a Unix socket to remove when the listener closes */
};

static const char component[] = "http";

static void drive(struct http_conn *sc, const uint8_t *data, size_t len);
static void maybe_finish(struct http_server *srv);

static struct http_conn *parser_conn(http_parser *p)
{
	return p->data;
}

/* Answer a request we refuse before any handler saw it, then close. */
static void reject(struct http_conn *sc, int status)
{
	const char *reason = http_status_reason(status);

	log_debug(component, "rejecting request status=%d peer=%s", status, net_conn_peer(sc->nc));
	sc->keep_alive = false;
	if (!http_response_start(sc, status) &&
	    !http_response_printf(&sc->out,
				  "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s\n",
				  strlen(reason) + 1, reason))
		http_response_send(sc);
	http_conn_close(sc);
}

static void on_conn_gone(struct http_conn *sc)
{
	struct http_server *srv = sc->srv;

	if (--sc->pending)
		return;
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		srv->conns = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	srv->nconns--;
	http_head_free(&sc->head);
	net_buf_free(&sc->body);
	net_buf_free(&sc->inbuf);
	net_buf_free(&sc->out);
	net_buf_free(&sc->ex.headers);
	free(sc->url_parts);
	free(sc);
	maybe_finish(srv);
}

static void on_nc_closed(struct net_conn *nc, void *arg)
{
	(void)nc;
	on_conn_gone(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
	on_conn_gone(h->data);
}

/* Abort the exchange if one is open, then close the connection for good. */
void http_conn_close(struct http_conn *sc)
{
	struct http_exchange *ex = &sc->ex;
	http_abort_cb *cb = ex->abort_cb;

	if (sc->state == HTTP_CONN_CLOSING)
		return;
	sc->state = HTTP_CONN_CLOSING;
	if (ex->state != HTTP_EX_NONE) {
		ex->state = HTTP_EX_NONE;
		ex->abort_cb = NULL;
		if (cb)
			cb(ex, ex->abort_arg);
	}
	uv_close((uv_handle_t *)&sc->timer, on_timer_closed);
	if (sc->nc) {
		net_conn_close(sc->nc, on_nc_closed, sc);
		sc->nc = NULL;
	} else {
		sc->pending--; /* handed over: nothing to close */
	}
}

static void on_conn_timer(uv_timer_t *t)
{
	struct http_conn *sc = t->data;

	switch (sc->state) {
	case HTTP_CONN_IDLE:
		log_debug(component, "closing idle connection peer=%s", net_conn_peer(sc->nc));
		http_conn_close(sc);
		break;
	case HTTP_CONN_HEAD:
	case HTTP_CONN_BODY:
		reject(sc, 408);
		break;
	case HTTP_CONN_HANDLING:
		/* A write failed inside an application call: close from here, see top. */
		http_conn_close(sc);
		break;
	default:
		break;
	}
}

void http_conn_schedule_close(struct http_conn *sc)
{
	if (sc->state == HTTP_CONN_HANDLING)
		uv_timer_start(&sc->timer, on_conn_timer, 0, 0);
}

static int limit_error(struct http_conn *sc, int ret)
{
	if (ret == -EMSGSIZE || ret == -E2BIG)
		sc->reject_status = 431;
	else if (ret == -ENOMEM)
		sc->reject_status = 503;
	else
		sc->reject_status = 400;
	return -1;
}

static int on_message_begin(http_parser *p)
{
	struct http_conn *sc = parser_conn(p);

	http_head_reset(&sc->head);
	net_buf_reset(&sc->body);
	sc->reject_status = 0;
	sc->state = HTTP_CONN_HEAD;
	uv_timer_start(&sc->timer, on_conn_timer, sc->srv->cfg.header_timeout_ms, 0);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *sc = parser_conn(p);
	int ret = http_head_append(&sc->head, HTTP_HEAD_URL, at, len);

	if (ret == -EMSGSIZE) {
		sc->reject_status = 414; /* the URL alone is over the head limit */
		return -1;
	}
	return ret ? limit_error(sc, ret) : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *sc = parser_conn(p);
	int ret = http_head_append(&sc->head, HTTP_HEAD_FIELD, at, len);

	return ret ? limit_error(sc, ret) : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *sc = parser_conn(p);
	int ret = http_head_append(&sc->head, HTTP_HEAD_VALUE, at, len);

	return ret ? limit_error(sc, ret) : 0;
}

static int on_headers_complete(http_parser *p)
{
	struct http_conn *sc = parser_conn(p);
	const char *expect;
	size_t i;

	if (http_head_finish(&sc->head))
		return limit_error(sc, -ENOMEM);
	if (p->http_major != 1) {
		sc->reject_status = 505;
		return -1;
	}
	/* http-parser is lenient about field names; a proxy in front may not be. */
	for (i = 0; i < sc->head.nheaders; i++) {
		if (!http_token_valid(sc->head.headers[i].name) ||
		    !http_header_value_valid(sc->head.headers[i].value)) {
			sc->reject_status = 400;
			return -1;
		}
	}
	if (p->content_length != ULLONG_MAX && p->content_length > sc->srv->cfg.max_body_size) {
		sc->reject_status = 413;
		return -1;
	}
	expect = http_header_find(sc->head.headers, sc->head.nheaders, "Expect");
	if (expect && !strcasecmp(expect, "100-continue") && p->http_major == 1 &&
	    p->http_minor >= 1) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		net_conn_write(sc->nc, cont, sizeof(cont) - 1);
	}
	sc->state = HTTP_CONN_BODY;
	uv_timer_start(&sc->timer, on_conn_timer, sc->srv->cfg.body_timeout_ms, 0);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *sc = parser_conn(p);
	int ret = net_buf_append(&sc->body, at, len, sc->srv->cfg.max_body_size);

	if (ret) {
		sc->reject_status = ret == -EMSGSIZE ? 413 : 503;
		return -1;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_conn *sc = parser_conn(p);

	sc->state = HTTP_CONN_READY;
	uv_timer_stop(&sc->timer);
	/* Stop here: what follows is the next request or another protocol. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* Split the request target into path and query. Returns 0 or an HTTP status. */
static int split_target(struct http_conn *sc)
{
	const char *url = sc->head.url;
	size_t len = strlen(url);
	struct http_parser_url u;
	size_t plen, qlen = 0;
	char *parts;

	free(sc->url_parts);
	sc->url_parts = NULL;
	http_parser_url_init(&u);
	if (sc->parser.method == HTTP_CONNECT || http_parser_parse_url(url, len, 0, &u) ||
	    !(u.field_set & (1 << UF_PATH)))
		return 400;
	plen = u.field_data[UF_PATH].len;
	if (u.field_set & (1 << UF_QUERY))
		qlen = u.field_data[UF_QUERY].len;
	parts = malloc(plen + qlen + 2);
	if (!parts)
		return 503;
	memcpy(parts, url + u.field_data[UF_PATH].off, plen);
	parts[plen] = '\0';
	if (qlen)
		memcpy(parts + plen + 1, url + u.field_data[UF_QUERY].off, qlen);
	parts[plen + 1 + qlen] = '\0';
	if (parts[0] != '/') {
		free(parts);
		return 400;
	}
	sc->url_parts = parts;
	sc->req.path = parts;
	sc->req.query = parts + plen + 1;
	return 0;
}

static bool method_matches(const struct route *r, const char *method)
{
	if (!r->method[0] || !strcmp(r->method, method))
		return true;
	return !strcmp(method, "HEAD") && !strcmp(r->method, "GET");
}

/* Exact routes first, then the longest matching prefix. *@status is 404 or 405 on a miss. */
static const struct route *find_route(struct http_server *srv, const char *method, const char *path,
				      int *status)
{
	const struct route *best = NULL;
	bool path_seen = false;
	size_t i;

	for (i = 0; i < srv->nroutes; i++) {
		const struct route *r = &srv->routes[i];

		if (r->match != HTTP_MATCH_EXACT || strcmp(r->path, path))
			continue;
		path_seen = true;
		if (method_matches(r, method))
			return r;
	}
	for (i = 0; i < srv->nroutes; i++) {
		const struct route *r = &srv->routes[i];

		if (r->match != HTTP_MATCH_PREFIX || strncmp(r->path, path, r->path_len))
			continue;
		path_seen = true;
		if (method_matches(r, method) && (!best || r->path_len > best->path_len))
			best = r;
	}
	*status = path_seen ? 405 : 404;
	return best;
}

static void dispatch(struct http_conn *sc)
{
	struct http_request *req = &sc->req;
	struct http_exchange *ex = &sc->ex;
	const struct route *r;
	int status;

	memset(req, 0, sizeof(*req));
	req->method = http_method_str(sc->parser.method);
	req->headers = sc->head.headers;
	req->nheaders = sc->head.nheaders;
	req->body = net_buf_len(&sc->body) ? net_buf_head(&sc->body) : NULL;
	req->body_len = net_buf_len(&sc->body);
	req->peer = net_conn_peer(sc->nc);
	req->peer_uid = net_conn_peer_uid(sc->nc);
	req->http_major = sc->parser.http_major;
	req->http_minor = sc->parser.http_minor;
	req->upgrade = sc->parser.upgrade;
	req->tls = sc->tls;

	/* After an upgrade request the rest of the input is not HTTP: never reuse. */
	sc->keep_alive = http_should_keep_alive(&sc->parser) && !req->upgrade && !sc->srv->closing;
	sc->state = HTTP_CONN_HANDLING;
	net_buf_reset(&ex->headers);
	ex->state = HTTP_EX_ACTIVE;
	ex->abort_cb = NULL;
	ex->chunked = false;
	ex->no_body = sc->parser.method == HTTP_HEAD;

	status = split_target(sc);
	if (status) {
		sc->keep_alive = false;
		http_exchange_respond_text(ex, status, http_status_reason(status));
		return;
	}
	r = find_route(sc->srv, req->method, req->path, &status);
	if (!r) {
		http_exchange_respond_text(ex, status, http_status_reason(status));
		return;
	}
	r->cb(ex, req, r->arg);
}

/* The exchange is over: next request (keep-alive) or close. */
void http_conn_finish(struct http_conn *sc)
{
	struct http_exchange *ex = &sc->ex;

	ex->state = HTTP_EX_NONE;
	ex->abort_cb = NULL;
	sc->served++;
	if (sc->state != HTTP_CONN_HANDLING)
		return;
	if (!sc->keep_alive || sc->srv->closing) {
		http_conn_close(sc);
		return;
	}
	if (sc->body.cap > KEEP_BODY_CAP)
		net_buf_free(&sc->body);
	sc->state = HTTP_CONN_IDLE;
	uv_timer_start(&sc->timer, on_conn_timer, sc->srv->cfg.idle_timeout_ms, 0);
	if (sc->read_paused && net_conn_read_start(sc->nc) == 0)
		sc->read_paused = false;
	if (!sc->driving)
		drive(sc, NULL, 0);
}

/*
 * Keep input that cannot be parsed now (it arrived while a request is being
 * handled). Bytes already read are never dropped; past one request's worth we
 * stop reading instead, until the handler is done (http_conn_finish).
 */
static bool stash(struct http_conn *sc, const uint8_t *data, size_t len)
{
	size_t max = sc->srv->cfg.max_header_size + sc->srv->cfg.max_body_size;

	if (net_buf_append(&sc->inbuf, data, len, 0)) {
		http_conn_close(sc);
		return false;
	}
	if (net_buf_len(&sc->inbuf) > max && !sc->read_paused) {
		net_conn_read_stop(sc->nc);
		sc->read_paused = true;
	}
	return true;
}

/*
 * Parse buffered input, then @data, dispatching each complete request.
 * A handler that answers synchronously brings the connection back to IDLE
 * and the loop goes on with the next pipelined request.
 */
static void drive(struct http_conn *sc, const uint8_t *data, size_t len)
{
	sc->driving = true;
	while (sc->state != HTTP_CONN_CLOSING) {
		const uint8_t *p;
		size_t n, used;
		enum http_errno e;

		if (sc->state == HTTP_CONN_READY) {
			/* Everything unparsed waits in inbuf: an upgrade hands it over. */
			if (len && !stash(sc, data, len))
				break;
			len = 0;
			dispatch(sc);
			continue;
		}
		if (sc->state == HTTP_CONN_HANDLING)
			break;
		if (net_buf_len(&sc->inbuf)) {
			p = net_buf_head(&sc->inbuf);
			n = net_buf_len(&sc->inbuf);
		} else if (len) {
			p = data;
			n = len;
		} else {
			break;
		}
		used = http_parser_execute(&sc->parser, &parser_settings, (const char *)p, n);
		e = HTTP_PARSER_ERRNO(&sc->parser);
		if (sc->state == HTTP_CONN_READY && e == HPE_PAUSED) {
			http_parser_pause(&sc->parser, 0);
		} else if (e != HPE_OK) {
			if (!sc->reject_status)
				sc->reject_status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
			log_debug(component, "bad request peer=%s error=%s", net_conn_peer(sc->nc),
				  http_errno_name(e));
			reject(sc, sc->reject_status);
			break;
		}
		if (p == data) {
			data += used;
			len -= used;
		} else {
			net_buf_consume(&sc->inbuf, used);
		}
	}
	if (len && sc->state != HTTP_CONN_CLOSING)
		stash(sc, data, len);
	sc->driving = false;
}

static void on_conn_read(struct net_conn *nc, ssize_t nread, const uint8_t *buf, void *arg)
{
	struct http_conn *sc = arg;

	(void)nc;
	if (nread < 0) {
		if (sc->ex.state != HTTP_EX_NONE || sc->state == HTTP_CONN_HEAD ||
		    sc->state == HTTP_CONN_BODY)
			log_debug(component, "client went away peer=%s: %s", net_conn_peer(sc->nc),
				  nread == UV_EOF ? "EOF" : net_conn_strerror(sc->nc));
		http_conn_close(sc);
		return;
	}
	drive(sc, buf, (size_t)nread);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct listener *l = container_of((uv_tcp_t *)server, struct listener, tcp);
	struct http_server *srv = l->srv;
	struct http_conn *sc;
	struct net_conn *nc;
	int ret;

	if (status >= 0)
		status = net_conn_accept(&nc, server, l->tls);
	if (status < 0) {
		uint64_t now = uv_now(srv->loop);

		if (!srv->accept_warned || now - srv->accept_warned >= ACCEPT_WARN_INTERVAL_MS) {
			log_warn(component, "accept failed: %s", uv_strerror(status));
			srv->accept_warned = now ? now : 1;
		}
		return;
	}
	if (srv->closing || srv->nconns >= srv->cfg.max_connections) {
		log_debug(component, "connection limit reached, closing peer=%s",
			  net_conn_peer(nc));
		net_conn_close(nc, NULL, NULL);
		return;
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc) {
		net_conn_close(nc, NULL, NULL);
		return;
	}
	sc->srv = srv;
	sc->nc = nc;
	sc->tls = l->tls != NULL;
	sc->pending = 2;
	sc->state = HTTP_CONN_IDLE;
	http_parser_init(&sc->parser, HTTP_REQUEST);
	sc->parser.data = sc;
	http_head_init(&sc->head, srv->cfg.max_header_size);
	uv_timer_init(srv->loop, &sc->timer);
	sc->timer.data = sc;
	sc->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = sc;
	srv->conns = sc;
	srv->nconns++;

	net_conn_set_read_cb(nc, on_conn_read, sc);
	/* A new connection must finish TLS and its first head within the header deadline. */
	uv_timer_start(&sc->timer, on_conn_timer, srv->cfg.header_timeout_ms, 0);
	ret = net_conn_read_start(nc);
	if (ret < 0)
		http_conn_close(sc);
}

int http_server_new(struct http_server **out, uv_loop_t *loop, const struct http_server_config *cfg)
{
	struct http_server *srv;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	if (cfg)
		srv->cfg = *cfg;
	if (!srv->cfg.max_header_size)
		srv->cfg.max_header_size = DEF_MAX_HEADER;
	if (!srv->cfg.max_body_size)
		srv->cfg.max_body_size = DEF_MAX_BODY;
	if (!srv->cfg.header_timeout_ms)
		srv->cfg.header_timeout_ms = DEF_HEADER_TIMEOUT_MS;
	if (!srv->cfg.body_timeout_ms)
		srv->cfg.body_timeout_ms = DEF_BODY_TIMEOUT_MS;
	if (!srv->cfg.idle_timeout_ms)
		srv->cfg.idle_timeout_ms = DEF_IDLE_TIMEOUT_MS;
	if (!srv->cfg.max_connections)
		srv->cfg.max_connections = DEF_MAX_CONNECTIONS;
	if (!srv->cfg.max_write_queue)
		srv->cfg.max_write_queue = DEF_MAX_WRITE_QUEUE;
	uv_timer_init(loop, &srv->close_timer);
	uv_unref((uv_handle_t *)&srv->close_timer);
	srv->close_timer.data = srv;
	srv->pending = 1;
	*out = srv;
	return 0;
}

static void server_release(struct http_server *srv)
{
	http_server_closed_cb *cb = srv->closed_cb;
	void *arg = srv->closed_arg;
	size_t i;

	for (i = 0; i < srv->nroutes; i++)
		free(srv->routes[i].path);
	free(srv->routes);
	free(srv);
	if (cb)
		cb(arg);
}

static void on_listener_closed(uv_handle_t *h)
{
	struct listener *l = container_of((uv_tcp_t *)h, struct listener, tcp);
	struct http_server *srv = l->srv;

	if (l->unix_path) {
		unlink(l->unix_path);
		free(l->unix_path);
	}
	free(l);
	if (--srv->pending == 0)
		server_release(srv);
}

static void on_close_timer_closed(uv_handle_t *h)
{
	struct http_server *srv = h->data;

	if (--srv->pending == 0)
		server_release(srv);
}

/* Once closing and every connection is gone, close the last handle (always async). */
static void maybe_finish(struct http_server *srv)
{
	if (srv->closing && !srv->nconns && !uv_is_closing((uv_handle_t *)&srv->close_timer))
		uv_close((uv_handle_t *)&srv->close_timer, on_close_timer_closed);
}

int http_server_listen(struct http_server *srv, const char *endpoint, struct tls_config *tls,
		       uint16_t *port)
{
	struct sockaddr_storage ss;
	struct ip_endpoint ep;
	struct listener *l;
	socklen_t sslen;
	int len, ret;

	if (srv->closing)
		return -EINVAL;
	/* The caller reports failures (it knows what the address was for). */
	ret = ip_endpoint_parse(&ep, endpoint, NULL);
	if (ret < 0)
		return ret;
	ret = ip_endpoint_to_sockaddr(&ep, &ss, &sslen);
	if (ret < 0)
		return ret;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->srv = srv;
	l->tls = tls;
	uv_tcp_init(srv->loop, &l->tcp.t);
	ret = uv_tcp_bind(&l->tcp.t, (const struct sockaddr *)&ss,
			  ep.addr.family == IP_FAMILY_V6 ? UV_TCP_IPV6ONLY : 0);
	if (!ret)
		ret = uv_listen((uv_stream_t *)&l->tcp, LISTEN_BACKLOG, on_connection);
	if (ret < 0) {
		srv->pending++;
		l->next = NULL;
		uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
		return ret;
	}
	if (port) {
		len = sizeof(ss);
		if (uv_tcp_getsockname(&l->tcp.t, (struct sockaddr *)&ss, &len) == 0)
			*port = ss.ss_family == AF_INET
					? ntohs(((struct sockaddr_in *)&ss)->sin_port)
					: ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	srv->pending++;
	l->next = srv->listeners;
	srv->listeners = l;
	return 0;
}

/* A socket file at @path: -EADDRINUSE if something answers there, else removed. */
static int remove_stale_socket(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST; /* never remove something that is not a socket */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (!ret)
		return -EADDRINUSE;
	return unlink(path) && errno != ENOENT ? -errno : 0;
}

int http_server_listen_unix(struct http_server *srv, const char *path, unsigned int mode)
{
	struct listener *l;
	int ret;

	if (srv->closing || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -EINVAL;
	ret = remove_stale_socket(path);
	if (ret)
		return ret;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->srv = srv;
	uv_pipe_init(srv->loop, &l->tcp.p, 0);
	ret = uv_pipe_bind(&l->tcp.p, path);
	if (!ret) {
		l->unix_path = strdup(path);
		if (!l->unix_path || chmod(path, (mode_t)mode))
			ret = l->unix_path ? -errno : -ENOMEM;
	}
	if (!ret)
		ret = uv_listen((uv_stream_t *)&l->tcp, LISTEN_BACKLOG, on_connection);
	srv->pending++;
	if (ret < 0) {
		uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
		return ret;
	}
	l->next = srv->listeners;
	srv->listeners = l;
	return 0;
}

int http_server_route(struct http_server *srv, const char *method, const char *path,
		      enum http_match match, http_handler_cb *cb, void *arg)
{
	struct route *routes, *r;

	if (!path || path[0] != '/' || !cb || (method && strlen(method) >= METHOD_LEN))
		return -EINVAL;
	routes = realloc(srv->routes, (srv->nroutes + 1) * sizeof(*routes));
	if (!routes)
		return -ENOMEM;
	srv->routes = routes;
	r = &routes[srv->nroutes];
	memset(r, 0, sizeof(*r));
	r->path = strdup(path);
	if (!r->path)
		return -ENOMEM;
	if (method)
		memcpy(r->method, method, strlen(method) + 1);
	r->path_len = strlen(path);
	r->match = match;
	r->cb = cb;
	r->arg = arg;
	srv->nroutes++;
	return 0;
}

void http_server_close(struct http_server *srv, http_server_closed_cb *cb, void *arg)
{
	struct http_conn *sc, *next;
	struct listener *l, *lnext;

	if (srv->closing)
		return;
	srv->closing = true;
	srv->closed_cb = cb;
	srv->closed_arg = arg;
	for (l = srv->listeners; l; l = lnext) {
		lnext = l->next;
		uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
	}
	srv->listeners = NULL;
	/* http_conn_close() unlinks nothing itself (that happens in its close callbacks). */
	for (sc = srv->conns; sc; sc = next) {
		next = sc->next;
		http_conn_close(sc);
	}
	maybe_finish(srv);
}

size_t http_server_connection_count(const struct http_server *srv)
{
	return srv->nconns;
}
