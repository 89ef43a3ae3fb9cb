// SPDX-License-Identifier: MIT
/*
 * Blocking local API client: a non-blocking Unix socket driven by poll()
 * against a deadline, with http-parser decoding the response (status,
 * Content-Length, chunked or until-EOF bodies) into one bounded buffer that
 * the whole-body and line readers consume.
 */
#include "localapi_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <http_parser.h>

#include "mesh/version.h"

enum client_io {
	RECV_CHUNK = 4096,
	HEAD_MAX = 2048, /* our request heads are short */
};

struct localapi_conn {
	int fd;
	http_parser parser;
	http_parser_settings settings;
	bool head_done;	 /* on_headers_complete ran */
	bool msg_done;	 /* on_message_complete ran */
	bool eof;	 /* the daemon closed its side */
	bool overflow;	 /* the body outgrew LOCALAPI_BODY_MAX */
	char *buf;	 /* body bytes not yet consumed, NUL-terminated */
	size_t len, cap; /* bytes in buf, allocated bytes */
	size_t consumed; /* bytes of buf the line reader already handed out */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char err[LOCALAPI_ERROR_MAX];
};

static int set_error(struct localapi_conn *c, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_error(struct localapi_conn *c, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Wait for @events until @deadline (-1: forever). Returns 0, -ETIMEDOUT or -errno. */
static int wait_fd(struct localapi_conn *c, short events, long long deadline)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};
	long long left;
	int n;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - now_ms();
		if (deadline >= 0 && left < 0)
			left = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n > 0)
			return 0;
		if (deadline >= 0 && now_ms() >= deadline)
			return -ETIMEDOUT;
	}
}

static int on_headers_complete(http_parser *p)
{
	struct localapi_conn *c = p->data;

	c->head_done = true;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct localapi_conn *c = p->data;
	size_t want;
	char *nbuf;

	if (c->consumed) {
		memmove(c->buf, c->buf + c->consumed, c->len - c->consumed);
		c->len -= c->consumed;
		c->consumed = 0;
	}
	if (n > LOCALAPI_BODY_MAX - c->len) {
		c->overflow = true;
		return -1;
	}
	want = c->len + n + 1;
	if (want > c->cap) {
		size_t cap = c->cap ? c->cap : RECV_CHUNK;

		while (cap < want)
			cap *= 2;
		nbuf = realloc(c->buf, cap);
		if (!nbuf)
			return -1;
		c->buf = nbuf;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, at, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct localapi_conn *c = p->data;

	c->msg_done = true;
	/* Stop here: whatever follows on the connection is not part of this answer. */
	http_parser_pause(p, 1);
	return 0;
}

int localapi_connect(struct localapi_conn **out, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct localapi_conn *c;
	const char *hint = "";
	int ret;

	*out = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "cannot connect to meshd at %s: socket path too long", path);
		return -ENAMETOOLONG;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	strcpy(c->path, path);
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		ret = -errno;
		goto out_fail;
	}
	/* A local connect either succeeds or fails at once (or waits for a full backlog). */
	while ((ret = connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) < 0 && errno == EINTR)
		;
	if (ret < 0 || fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0) {
		ret = -errno;
		goto out_fail;
	}
	http_parser_init(&c->parser, HTTP_RESPONSE);
	c->parser.data = c;
	http_parser_settings_init(&c->settings);
	c->settings.on_headers_complete = on_headers_complete;
	c->settings.on_body = on_body;
	c->settings.on_message_complete = on_message_complete;
	*out = c;
	return 0;

out_fail:
	if (ret == -ENOENT || ret == -ECONNREFUSED)
		hint = " (is meshd running?)";
	else if (ret == -EACCES)
		hint = " (only root and meshd's group may use it)";
	snprintf(err, errlen, "cannot connect to meshd at %s: %s%s", path, strerror(-ret), hint);
	localapi_close(c);
	return ret;
}

static int send_all(struct localapi_conn *c, const char *p, size_t n, long long deadline)
{
	ssize_t w;
	int ret;

	while (n) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ret = wait_fd(c, POLLOUT, deadline);
			if (ret == -ETIMEDOUT)
				return set_error(c, ret, "timed out sending to meshd");
			if (ret)
				return set_error(c, ret, "cannot send to meshd: %s",
						 strerror(-ret));
			continue;
		}
		if (w < 0) {
			ret = -errno;
			return set_error(c, ret, "cannot send to meshd: %s", strerror(-ret));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Receive once (waiting until @deadline) and feed the parser. */
static int fill(struct localapi_conn *c, long long deadline)
{
	char chunk[RECV_CHUNK];
	enum http_errno herr;
	size_t parsed;
	ssize_t n;
	int ret;

	if (c->eof || c->msg_done)
		return set_error(c, -EPROTO, "meshd closed the connection in mid-answer");
	ret = wait_fd(c, POLLIN, deadline);
	if (ret == -ETIMEDOUT)
		return set_error(c, ret, "timed out waiting for meshd");
	if (ret)
		return set_error(c, ret, "cannot read from meshd: %s", strerror(-ret));
	n = recv(c->fd, chunk, sizeof(chunk), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0) {
		ret = -errno;
		if (ret != -ECONNRESET)
			return set_error(c, ret, "cannot read from meshd: %s", strerror(-ret));
		n = 0; /* a reset ends the answer like a close does */
	}
	if (n == 0)
		c->eof = true;
	parsed = http_parser_execute(&c->parser, &c->settings, chunk, (size_t)n);
	herr = HTTP_PARSER_ERRNO(&c->parser);
	if (herr == HPE_PAUSED)
		return 0;
	if (c->overflow)
		return set_error(c, -EMSGSIZE, "meshd's answer is larger than %d bytes",
				 LOCALAPI_BODY_MAX);
	if (herr != HPE_OK || parsed != (size_t)n) {
		if (c->eof && herr == HPE_INVALID_EOF_STATE)
			return set_error(c, -EPROTO, "meshd closed the connection in mid-answer");
		return set_error(c, -EPROTO, "bad answer from meshd: %s",
				 http_errno_description(herr));
	}
	if (c->eof && !c->msg_done)
		return set_error(c, -EPROTO, "meshd closed the connection in mid-answer");
	return 0;
}

int localapi_request(struct localapi_conn *c, const char *method, const char *target,
		     const char *body, int timeout_ms, int *status)
{
	long long deadline = deadline_of(timeout_ms);
	size_t blen = body ? strlen(body) : 0;
	char head[HEAD_MAX];
	int n, ret;

	for (const char *p = target; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return set_error(c, -EINVAL, "bad request target");
	}
	if (body || strcmp(method, "GET"))
		n = snprintf(head, sizeof(head),
			     "%s %s HTTP/1.1\r\nHost: local\r\nUser-Agent: meshctl/%s\r\n"
			     "Connection: close\r\nContent-Type: application/json\r\n"
			     "Content-Length: %zu\r\n\r\n",
			     method, target, MESH_VERSION, blen);
	else
		n = snprintf(head, sizeof(head),
			     "%s %s HTTP/1.1\r\nHost: local\r\nUser-Agent: meshctl/%s\r\n"
			     "Connection: close\r\n\r\n",
			     method, target, MESH_VERSION);
	if (n < 0 || (size_t)n >= sizeof(head))
		return set_error(c, -EINVAL, "request target too long");
	ret = send_all(c, head, (size_t)n, deadline);
	if (!ret && blen)
		ret = send_all(c, body, blen, deadline);
	if (ret)
		return ret;
	while (!c->head_done) {
		ret = fill(c, deadline);
		if (ret)
			return ret;
	}
	*status = c->parser.status_code;
	return 0;
}

int localapi_read_body(struct localapi_conn *c, int timeout_ms, const char **body, size_t *len)
{
	long long deadline = deadline_of(timeout_ms);
	int ret;

	while (!c->msg_done) {
		ret = fill(c, deadline);
		if (ret)
			return ret;
	}
	if (!c->buf) {
		c->buf = calloc(1, 1);
		if (!c->buf)
			return set_error(c, -ENOMEM, "out of memory");
		c->cap = 1;
	}
	*body = c->buf + c->consumed;
	*len = c->len - c->consumed;
	c->consumed = c->len;
	return 0;
}

int localapi_read_line(struct localapi_conn *c, int timeout_ms, const char **line)
{
	long long deadline = deadline_of(timeout_ms);
	char *start, *nl;
	int ret;

	for (;;) {
		start = c->buf ? c->buf + c->consumed : NULL;
		nl = start ? memchr(start, '\n', c->len - c->consumed) : NULL;
		if (nl) {
			*nl = '\0';
			if (nl > start && nl[-1] == '\r')
				nl[-1] = '\0';
			c->consumed = (size_t)(nl + 1 - c->buf);
			*line = start;
			return 1;
		}
		if (c->len - c->consumed > LOCALAPI_LINE_MAX)
			return set_error(c, -EMSGSIZE, "meshd sent a line longer than %d bytes",
					 LOCALAPI_LINE_MAX);
		if (c->msg_done) {
			if (!start || c->consumed == c->len)
				return 0;
			/* A last line without its newline. */
			c->consumed = c->len;
			*line = start;
			return 1;
		}
		ret = fill(c, deadline);
		if (ret)
			return ret;
	}
}

const char *localapi_error(const struct localapi_conn *c)
{
	return c->err[0] ? c->err : "unknown error";
}

void localapi_close(struct localapi_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
}
