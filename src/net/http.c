// SPDX-License-Identifier: MIT
/*
 * Shared HTTP helpers. The head collector stores "url\0name\0value\0..." in
 * one buffer: http-parser may split any of these across reads, so a new
 * string starts only when the kind of callback changes.
 */
#include "net/http.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *http_header_find(const struct http_header *h, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcasecmp(h[i].name, name))
			return h[i].value;
	}
	return NULL;
}

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool http_token_valid(const char *s)
{
	if (!s || !s[0])
		return false;
	for (; *s; s++) {
		if (!is_tchar((unsigned char)*s))
			return false;
	}
	return true;
}

bool http_header_name_valid(const char *name)
{
	size_t n;

	if (!name || !name[0])
		return false;
	for (n = 0; name[n]; n++) {
		if (n >= HTTP_MAX_FIELD_LEN || !is_tchar((unsigned char)name[n]))
			return false;
	}
	return true;
}

bool http_header_value_valid(const char *value)
{
	const unsigned char *p;

	if (!value)
		return false;
	for (p = (const unsigned char *)value; *p; p++) {
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	}
	return true;
}

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{100, "Continue"},
	{101, "Switching Protocols"},
	{200, "OK"},
	{201, "Created"},
	{202, "Accepted"},
	{204, "No Content"},
	{301, "Moved Permanently"},
	{302, "Found"},
	{304, "Not Modified"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{408, "Request Timeout"},
	{409, "Conflict"},
	{410, "Gone"},
	{411, "Length Required"},
	{413, "Content Too Large"},
	{414, "URI Too Long"},
	{415, "Unsupported Media Type"},
	{422, "Unprocessable Content"},
	{426, "Upgrade Required"},
	{429, "Too Many Requests"},
	{431, "Request Header Fields Too Large"},
	{500, "Internal Server Error"},
	{501, "Not Implemented"},
	{502, "Bad Gateway"},
	{503, "Service Unavailable"},
	{504, "Gateway Timeout"},
	{505, "HTTP Version Not Supported"},
};

const char *http_status_reason(int status)
{
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i].status == status)
			return reasons[i].reason;
	}
	return "Unknown";
}

void http_head_init(struct http_head *h, size_t max)
{
	memset(h, 0, sizeof(*h));
	h->max = max;
	h->url = "";
}

void http_head_reset(struct http_head *h)
{
	h->len = 0;
	h->started = false;
	h->nfields = 0;
	h->nheaders = 0;
	h->url = "";
}

void http_head_free(struct http_head *h)
{
	free(h->buf);
	h->buf = NULL;
	h->cap = 0;
	http_head_reset(h);
}

static int reserve(struct http_head *h, size_t extra)
{
	size_t cap;
	char *nb;

	if (h->len + extra <= h->cap)
		return 0;
	cap = h->cap ? h->cap : 512;
	while (cap < h->len + extra)
		cap *= 2;
	nb = realloc(h->buf, cap);
	if (!nb)
		return -ENOMEM;
	h->buf = nb;
	h->cap = cap;
	return 0;
}

int http_head_append(struct http_head *h, enum http_head_part part, const char *at, size_t len)
{
	bool boundary = h->started && part != h->last;
	int ret;

	/* A field name after a value, or the first one, starts a new header line. */
	if (part == HTTP_HEAD_FIELD && (!h->started || h->last != HTTP_HEAD_FIELD)) {
		if (h->nfields >= HTTP_MAX_HEADERS)
			return -E2BIG;
		h->nfields++;
	}
	/* A value with no preceding name cannot happen with http-parser; keep pairs intact anyway. */
	if (part == HTTP_HEAD_VALUE && (!h->started || h->last == HTTP_HEAD_URL))
		return -EINVAL;
	if (len > h->max || h->len + len + boundary + 1 > h->max)
		return -EMSGSIZE;
	ret = reserve(h, len + boundary + 1);
	if (ret)
		return ret;
	if (boundary)
		h->buf[h->len++] = '\0';
	/* Responses have no URL: give them an empty one so strings stay in url/field/value order. */
	if (!h->started && part != HTTP_HEAD_URL)
		h->buf[h->len++] = '\0';
	memcpy(h->buf + h->len, at, len);
	h->len += len;
	h->started = true;
	h->last = part;
	return 0;
}

int http_head_finish(struct http_head *h)
{
	const char *p, *end;
	size_t i;
	int ret;

	h->nheaders = 0;
	h->url = "";
	if (!h->started)
		return 0;
	/* An empty value (http-parser sends no callback) leaves a trailing name: add its "". */
	ret = reserve(h, 2);
	if (ret)
		return ret;
	h->buf[h->len++] = '\0';
	if (h->last == HTTP_HEAD_FIELD)
		h->buf[h->len++] = '\0';
	p = h->buf;
	end = h->buf + h->len;
	h->url = p;
	p += strlen(p) + 1;
	for (i = 0; i < h->nfields && p < end; i++) {
		h->headers[i].name = p;
		p += strlen(p) + 1;
		if (p >= end) {
			h->headers[i].value = "";
		} else {
			h->headers[i].value = p;
			p += strlen(p) + 1;
		}
	}
	h->nheaders = i;
	return 0;
}
