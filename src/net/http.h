/* SPDX-License-Identifier: MIT */
/*
 * What the HTTP server and client share: header lists, status texts, and
 * the collector that turns http-parser's fragmented URL/field/value callbacks
 * into NUL-terminated strings under a hard size limit.
 */
#ifndef MESH_NET_HTTP_H
#define MESH_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>

enum http_limits {
	HTTP_MAX_HEADERS = 100,	 /* header lines per message */
	HTTP_MAX_FIELD_LEN = 64, /* header names we accept from handlers */
};

struct http_header {
	const char *name;
	const char *value;
};

/** The value of the first header called @name (case-insensitive) in @h[0..n), or NULL. */
const char *http_header_find(const struct http_header *h, size_t n, const char *name);

/** True if @s is an RFC 9110 token (non-empty; letters, digits and !#$%&'*+-.^_`|~). */
bool http_token_valid(const char *s);

/** True if @name is a valid header field name (an RFC 9110 token, 1..HTTP_MAX_FIELD_LEN chars). */
bool http_header_name_valid(const char *name);

/** True if @value may be sent as a header value: no CR, LF, NUL or other control but tab. */
bool http_header_value_valid(const char *value);

/** The reason phrase for @status ("Not Found"), "Unknown" for codes we do not name. */
const char *http_status_reason(int status);

/* Which part of a message head a collected byte run belongs to. */
enum http_head_part {
	HTTP_HEAD_URL,
	HTTP_HEAD_FIELD,
	HTTP_HEAD_VALUE,
};

/*
 * Collects one message head. Strings are stored back to back in one buffer
 * and only turned into pointers by http_head_finish(), because the buffer
 * may move while it grows.
 */
struct http_head {
	char *buf;
	size_t len, cap, max;
	enum http_head_part last;
	bool started;
	size_t nfields;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	const char *url; /* "" for responses */
};

/** Prepare @h to collect heads of at most @max bytes (URL, names and values together). */
void http_head_init(struct http_head *h, size_t max);

/** Forget the collected head but keep the buffer for the next message. */
void http_head_reset(struct http_head *h);

/** Release the buffer of @h. */
void http_head_free(struct http_head *h);

/**
 * Add @len bytes at @at to the current @part (a new part starts whenever
 * @part changes). Returns 0, -EMSGSIZE past the size limit, -E2BIG past
 * HTTP_MAX_HEADERS fields, or -ENOMEM.
 */
int http_head_append(struct http_head *h, enum http_head_part part, const char *at, size_t len);

/** Terminate the head and fill h->url, h->headers and h->nheaders. Returns 0 or -ENOMEM. */
int http_head_finish(struct http_head *h);

#endif
