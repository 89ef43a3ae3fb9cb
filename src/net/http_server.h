/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 server on libuv and http-parser, with optional TLS per listener.
 *
 * Handlers are registered by method and path (exact, or prefix) and get the
 * whole request: head and body, both size-bounded (431 / 413). A handler
 * answers at once or later through the exchange handle: a plain response, a
 * chunked stream it writes to as events happen (the map long-poll), or an
 * Upgrade that hands it the raw connection (the relay). Slow clients are cut
 * off by deadlines (408), idle keep-alive connections are closed, and garbage
 * gets 400 and a close. One request per connection is handled at a time;
 * pipelined requests wait their turn.
 *
 * Lifetimes: the request and the exchange stay valid until the response is
 * finished (http_exchange_respond, _stream_end, _upgrade) or until the abort
 * callback has run, whichever comes first. A handler that keeps an exchange
 * after returning must set an abort callback to learn when the client left.
 */
#ifndef MESH_NET_HTTP_SERVER_H
#define MESH_NET_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "net/http.h"

struct http_server;
struct http_exchange;
struct net_conn;
struct tls_config;

/* Zero in any field means the default given beside it. */
struct http_server_config {
	size_t max_header_size;		/* request line + headers: 16 KiB */
	size_t max_body_size;		/* 1 MiB */
	unsigned int header_timeout_ms; /* connect or first byte to end of head: 10 s */
	unsigned int body_timeout_ms;	/* end of head to end of body: 30 s */
	unsigned int idle_timeout_ms;	/* keep-alive wait for the next request: 60 s */
	unsigned int max_connections;	/* more are accepted and closed at once: 50000 */
	size_t max_write_queue;		/* a stream write fails with -ENOBUFS past this: 4 MiB */
};

struct http_request {
	const char *method; /* "GET", "POST", ... */
	const char *path;   /* "/machine/map", without the query; not percent-decoded */
	const char *query;  /* after '?', "" if none */
	const struct http_header *headers;
	size_t nheaders;
	const uint8_t *body; /* NULL when empty */
	size_t body_len;
	const char *peer; /* "IP:PORT" of the client, or "unix:pid=P,uid=U" */
	uid_t peer_uid;	  /* the client's uid on a Unix socket (SO_PEERCRED), else (uid_t)-1 */
	unsigned short http_major, http_minor;
	bool upgrade; /* the client asked to switch protocols (Upgrade + Connection: upgrade) */
	bool tls;     /* arrived on a TLS listener */
};

enum http_match {
	HTTP_MATCH_EXACT,  /* the path equals the pattern */
	HTTP_MATCH_PREFIX, /* the path starts with the pattern; the longest pattern wins */
};

/** Handle @req; answer through @ex now or later. */
typedef void http_handler_cb(struct http_exchange *ex, const struct http_request *req, void *arg);

/** The client went away (or the server is closing) before the exchange finished. */
typedef void http_abort_cb(struct http_exchange *ex, void *arg);

/** The server has closed every listener and connection and freed itself. */
typedef void http_server_closed_cb(void *arg);

/** Create a server on @loop; @cfg may be NULL for all defaults. */
int http_server_new(struct http_server **out, uv_loop_t *loop,
		    const struct http_server_config *cfg);

/**
 * Listen on @endpoint ("0.0.0.0:8080", "[::1]:443"; port 0 picks a free one,
 * stored in *@port if @port is not NULL). With @tls (a server configuration,
 * which must outlive the server) the listener speaks HTTPS. An IPv6 listener
 * is IPv6-only. Returns 0, -EINVAL for an @endpoint that is not a numeric
 * "IP:PORT", or the bind/listen errno (-EADDRINUSE, -EACCES, ...). Nothing
 * is logged: the caller knows what the address was for.
 */
int http_server_listen(struct http_server *srv, const char *endpoint, struct tls_config *tls,
		       uint16_t *port);

/**
 * Route requests for @method (NULL: any; a "GET" route also serves HEAD) and
 * @path to @cb. Exact routes are tried before prefix routes. Requests with no
 * route get 404, or 405 when only the method differs.
 */
/**
 * Listen on the Unix stream socket @path with file mode @mode. A stale
 * socket file (nobody answers) is replaced; a live one is -EADDRINUSE;
 * anything else at @path is -EEXIST. The file is removed when the server
 * closes. Requests carry the caller's uid (http_request.peer_uid).
 */
int http_server_listen_unix(struct http_server *srv, const char *path, unsigned int mode);

int http_server_route(struct http_server *srv, const char *method, const char *path,
		      enum http_match match, http_handler_cb *cb, void *arg);

/**
 * Stop listening, abort every open exchange (their abort callbacks run inside
 * this call), close every connection, then call @cb (may be NULL) from the
 * loop and free @srv. Upgraded connections belong to their new owners and are
 * not touched.
 */
void http_server_close(struct http_server *srv, http_server_closed_cb *cb, void *arg);

/** Open HTTP connections (idle ones included, upgraded ones not). */
size_t http_server_connection_count(const struct http_server *srv);

/** The value of header @name (case-insensitive) of @req, or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);

/**
 * Add a header to the response of @ex (before it is started). Names must be
 * tokens, values free of control characters; Content-Length,
 * Transfer-Encoding and Connection are managed here and refused.
 */
int http_exchange_add_header(struct http_exchange *ex, const char *name, const char *value);

/**
 * Send a complete response with @len bytes of @body (none for HEAD, 204 and
 * 304) and finish the exchange. @content_type may be NULL. Returns 0 or a
 * negative errno; the exchange is finished either way.
 */
int http_exchange_respond(struct http_exchange *ex, int status, const char *content_type,
			  const void *body, size_t len);

/** Like http_exchange_respond() with a NUL-terminated text body sent as text/plain. */
int http_exchange_respond_text(struct http_exchange *ex, int status, const char *text);

/**
 * Start a streaming response: chunked for HTTP/1.1 clients, delimited by
 * closing the connection for HTTP/1.0 ones. Then write with
 * http_exchange_stream_write() and finish with http_exchange_stream_end().
 */
int http_exchange_stream_begin(struct http_exchange *ex, int status, const char *content_type);

/**
 * Send @len bytes as one chunk. Returns 0, -ENOBUFS (nothing sent) while the
 * client is more than max_write_queue bytes behind, or another negative errno
 * if the connection failed (the abort callback follows from the loop).
 */
int http_exchange_stream_write(struct http_exchange *ex, const void *buf, size_t len);

/** Finish a streaming response (last chunk) and the exchange. */
int http_exchange_stream_end(struct http_exchange *ex);

/** Bytes written to @ex's connection that the client has not taken yet. */
size_t http_exchange_write_queue_size(const struct http_exchange *ex);

/**
 * Call @cb (from the loop, never from inside a call into this API, except
 * http_server_close) if the exchange ends before the handler finishes it.
 */
void http_exchange_on_abort(struct http_exchange *ex, http_abort_cb *cb, void *arg);

/**
 * Accept the client's Upgrade request: send "101 Switching Protocols" with
 * "Upgrade: @protocol" and the added headers, finish the exchange, and give
 * the connection to the caller in *@conn. Bytes the client sent after the
 * request head are pushed back into it. The new owner sets a read callback,
 * calls net_conn_read_start() and eventually net_conn_close(). Returns
 * -EINVAL if the request asked for no upgrade.
 */
int http_exchange_upgrade(struct http_exchange *ex, const char *protocol, struct net_conn **conn);

#endif
