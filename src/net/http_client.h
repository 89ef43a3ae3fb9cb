/* SPDX-License-Identifier: MIT */
/*
 * HTTP/1.1 client on libuv: one request per connection, to http:// or
 * https:// URLs, with asynchronous DNS (uv_getaddrinfo), every resolved
 * address tried in turn, and TLS that always verifies the server (see
 * net/tls.h). The response body is either buffered and handed over at the
 * end, or delivered piece by piece as it arrives (chunked long-poll streams).
 * An Upgrade request that gets "101" hands the raw connection to the caller.
 *
 * Exactly one of on_done / on_upgrade is called, from the loop (never inside
 * http_client_request), unless the caller cancels first: after
 * http_client_cancel() returns no callback runs at all.
 */
#ifndef MESH_NET_HTTP_CLIENT_H
#define MESH_NET_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "net/http.h"

struct http_client_req;
struct net_conn;
struct tls_config;

struct http_response {
	int status;
	const struct http_header *headers;
	size_t nheaders;
	const uint8_t *body; /* buffered mode only; NULL when empty */
	size_t body_len;
};

/** The final response head arrived (the body, if any, follows). */
typedef void http_client_head_cb(struct http_client_req *req, const struct http_response *resp,
				 void *arg);

/** A piece of the response body (chunked framing removed), in streaming mode. */
typedef void http_client_data_cb(struct http_client_req *req, const uint8_t *data, size_t len,
				 void *arg);

/**
 * The request finished. @err is 0 with @resp complete (any status: check
 * it), or a negative errno with @errmsg saying what failed ("connect to
 * 10.0.0.1:443: connection refused", "certificate verify failed for ...");
 * @resp is then the head if one arrived, else NULL.
 */
typedef void http_client_done_cb(struct http_client_req *req, int err, const char *errmsg,
				 const struct http_response *resp, void *arg);

/**
 * The server switched protocols: @conn is the caller's now, with any bytes
 * received after the 101 head pushed back into it (set a read callback and
 * call net_conn_read_start()).
 */
typedef void http_client_upgrade_cb(struct http_client_req *req, struct net_conn *conn,
				    const struct http_response *resp, void *arg);

/* Zero in a limit means the default given beside it. */
struct http_client_options {
	const char *method; /* NULL: GET, or POST when there is a body */
	const char *url;    /* http://host[:port]/path?query or https://... */
	const struct http_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
	const char *content_type;
	const char *upgrade;	      /* ask to switch to this protocol (needs on_upgrade) */
	struct tls_config *tls;	      /* client configuration; required for https */
	const char *tls_server_name;  /* verify this name instead of the URL's host */
	unsigned int timeout_ms;      /* whole exchange, or until the head when streaming: 30 s */
	unsigned int idle_timeout_ms; /* streaming: longest silence, 0 = no limit */
	size_t max_header_size;	      /* 64 KiB */
	size_t max_body_size;	      /* buffered mode: 16 MiB */
	http_client_head_cb *on_head;
	http_client_data_cb *on_data; /* set: streaming mode */
	http_client_done_cb *on_done; /* required */
	http_client_upgrade_cb *on_upgrade;
	void *arg;
};

/**
 * Start a request on @loop. Everything in @opts is copied. Returns 0, or a
 * negative errno (-EINVAL for a bad URL or header, -ENOTSUP for another scheme,
 * -ENOKEY for https without a TLS configuration) without any callback.
 */
int http_client_request(struct http_client_req **out, uv_loop_t *loop,
			const struct http_client_options *opts);

/** Abandon @req: no callback runs after this; resources are released from the loop. */
void http_client_cancel(struct http_client_req *req);

/** The value of header @name (case-insensitive) of @resp, or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name);

#endif
