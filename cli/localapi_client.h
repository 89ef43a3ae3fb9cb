/* SPDX-License-Identifier: MIT */
/*
 * A small blocking HTTP/1.1 client for meshd's local API over a Unix socket
 * (docs/localapi.md): one request per connection, a JSON body out, and the
 * answer read either whole (Content-Length, chunked, or up to EOF) or line by
 * line for the newline-delimited streams (watch, ping). Every wait is bounded
 * by a deadline through poll(), and every buffer by a size limit, so a stuck
 * or misbehaving daemon gives an error instead of a hung or bloated meshctl.
 */
#ifndef MESH_CLI_LOCALAPI_CLIENT_H
#define MESH_CLI_LOCALAPI_CLIENT_H

#include <stddef.h>

enum localapi_limits {
	LOCALAPI_BODY_MAX = 8 << 20, /* bytes of one whole response body */
	LOCALAPI_LINE_MAX = 1 << 20, /* bytes of one streamed line */
	LOCALAPI_ERROR_MAX = 512,
	LOCALAPI_FOREVER = -1, /* a timeout that never expires */
};

struct localapi_conn;

/**
 * Connect to the local API socket at @path. Returns 0 with a new connection
 * in *@out, or a negative errno with "cannot connect to meshd at PATH: ..."
 * (and a hint) in @err.
 */
int localapi_connect(struct localapi_conn **out, const char *path, char *err, size_t errlen);

/**
 * Send one request: @method and @target ("/localapi/v0/status"), with the
 * JSON text @body (NULL: none), then wait up to @timeout_ms (or
 * LOCALAPI_FOREVER) for the response head. Returns 0 with the HTTP status in
 * *@status, or a negative errno (see localapi_error()).
 */
int localapi_request(struct localapi_conn *c, const char *method, const char *target,
		     const char *body, int timeout_ms, int *status);

/**
 * Read the rest of the response body, waiting up to @timeout_ms in all.
 * Returns 0 with *@body pointing at the NUL-terminated body (owned by @c,
 * valid until the next call) and its length in *@len, or a negative errno.
 */
int localapi_read_body(struct localapi_conn *c, int timeout_ms, const char **body, size_t *len);

/**
 * Read the next line of a streamed body, waiting up to @timeout_ms for it.
 * Returns 1 with *@line pointing at the line without its "\n" or "\r\n"
 * (owned by @c, valid until the next call), 0 at the end of the body, or a
 * negative errno (-ETIMEDOUT when the wait expired).
 */
int localapi_read_line(struct localapi_conn *c, int timeout_ms, const char **line);

/** A sentence describing the last failure on @c. */
const char *localapi_error(const struct localapi_conn *c);

/** Close the connection and free @c. NULL is allowed. */
void localapi_close(struct localapi_conn *c);

#endif
