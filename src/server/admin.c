// SPDX-License-Identifier: MIT
/*
 * Admin socket transport: libuv pipe server, line framing, peer credentials.
 * Requests are handled synchronously on the loop (they are small and rare);
 * each connection buffers at most one request line of ADMINAPI_MAX_REQUEST
 * bytes. Responses are wiped before they are freed: one may carry a new auth key.
 */
#include "server/admin.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "server/adminapi.h"
#include "util/compiler.h"
#include "util/log.h"

enum {
	READ_CHUNK = 64 << 10,
	LISTEN_BACKLOG = 16,
};

struct conn {
	uv_pipe_t pipe;
	struct admin *admin;
	char *buf;
	size_t len;
	size_t cap;
	bool closing;
	struct conn *next;
	struct conn **pprev;
};

struct admin {
	uv_pipe_t listener;
	uv_loop_t *loop;
	struct registry *reg;
	char *path;
	struct conn *conns;
	size_t nconns;
	size_t handles; /* open libuv handles: the listener and each connection */
	bool bound;	/* the socket file is ours to remove */
	bool stopping;
	void (*done)(void *arg);
	void *done_arg;
};

struct wreq {
	uv_write_t req;
	struct conn *c;
	bool close_after;
	size_t len;
	char data[];
};

static void handle_closed(struct admin *a)
{
	if (--a->handles || !a->stopping)
		return;
	free(a->path);
	if (a->done)
		a->done(a->done_arg);
	free(a);
}

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = container_of((uv_pipe_t *)h, struct conn, pipe);
	struct admin *a = c->admin;

	*c->pprev = c->next;
	if (c->next)
		c->next->pprev = c->pprev;
	a->nconns--;
	free(c->buf);
	free(c);
	handle_closed(a);
}

static void conn_close(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void write_done(uv_write_t *req, int status)
{
	struct wreq *w = container_of(req, struct wreq, req);

	if (status < 0 || w->close_after)
		conn_close(w->c);
	sodium_memzero(w->data, w->len);
	free(w);
}

/* Queue @text plus a newline; takes nothing over from the caller. */
static void send_line(struct conn *c, const char *text, bool close_after)
{
	size_t n = strlen(text);
	struct wreq *w = malloc(sizeof(*w) + n + 1);
	uv_buf_t buf;

	if (!w) {
		conn_close(c);
		return;
	}
	memcpy(w->data, text, n);
	w->data[n] = '\n';
	w->len = n + 1;
	w->c = c;
	w->close_after = close_after;
	buf = uv_buf_init(w->data, (unsigned int)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_done) < 0) {
		free(w);
		conn_close(c);
	}
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct conn *c = container_of((uv_pipe_t *)h, struct conn, pipe);

	(void)hint;
	if (c->cap - c->len < READ_CHUNK && c->cap < ADMINAPI_MAX_REQUEST + 1) {
		size_t cap = c->cap ? c->cap * 2 : READ_CHUNK;
		char *bigger;

		if (cap > ADMINAPI_MAX_REQUEST + 1)
			cap = ADMINAPI_MAX_REQUEST + 1;
		bigger = realloc(c->buf, cap);
		if (bigger) {
			c->buf = bigger;
			c->cap = cap;
		}
	}
	*buf = uv_buf_init(c->buf ? c->buf + c->len : NULL, (unsigned int)(c->cap - c->len));
}

static void handle_lines(struct conn *c)
{
	char *nl;

	while (!c->closing && (nl = memchr(c->buf, '\n', c->len))) {
		size_t linelen = (size_t)(nl - c->buf), rest;
		char *resp;

		if (linelen && c->buf[linelen - 1] == '\r')
			linelen--;
		if (linelen) {
			resp = adminapi_handle(c->admin->reg, c->buf, linelen);
			if (resp) {
				send_line(c, resp, false);
				sodium_memzero(resp, strlen(resp));
				free(resp);
			} else {
				conn_close(c);
			}
		}
		rest = c->len - (size_t)(nl + 1 - c->buf);
		/* Requests may carry a policy; do not leave their text lying around either. */
		memmove(c->buf, nl + 1, rest);
		sodium_memzero(c->buf + rest, c->len - rest);
		c->len = rest;
	}
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = container_of((uv_pipe_t *)s, struct conn, pipe);

	(void)buf;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	handle_lines(c);
	if (!c->closing && c->len >= ADMINAPI_MAX_REQUEST) {
		log_warn("admin", "request larger than %d bytes; connection closed",
			 ADMINAPI_MAX_REQUEST);
		uv_read_stop(s);
		send_line(c, "{\"ok\":false,\"error\":\"request too large\",\"code\":\"E2BIG\"}",
			  true);
	}
}

/* Root and the server's own user may administer it; nobody else. */
static bool peer_allowed(struct conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred))
		return false;
	if (cred.uid == 0 || cred.uid == geteuid())
		return true;
	log_warn("admin", "refused connection uid=%u pid=%d", (unsigned int)cred.uid,
		 (int)cred.pid);
	return false;
}

static void connection_cb(uv_stream_t *server, int status)
{
	struct admin *a = container_of((uv_pipe_t *)server, struct admin, listener);
	struct conn *c;

	if (status < 0) {
		log_warn("admin", "accept failed: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->admin = a;
	uv_pipe_init(a->loop, &c->pipe, 0);
	a->handles++;
	a->nconns++;
	c->next = a->conns;
	c->pprev = &a->conns;
	if (a->conns)
		a->conns->pprev = &c->next;
	a->conns = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe)) {
		conn_close(c);
		return;
	}
	if (!peer_allowed(c)) {
		send_line(c,
			  "{\"ok\":false,\"error\":\"permission denied: only root and the "
			  "server's user may use the admin socket\",\"code\":\"EACCES\"}",
			  true);
		return;
	}
	if (a->nconns > ADMIN_MAX_CONNECTIONS) {
		send_line(c, "{\"ok\":false,\"error\":\"too many connections\",\"code\":\"EBUSY\"}",
			  true);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

/* Is a server answering on @path? */
static bool socket_alive(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return alive;
}

static int clear_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("admin", "%s exists and is not a socket; not touching it", path);
		return -EEXIST;
	}
	if (socket_alive(path)) {
		log_error("admin", "another meshcontrol is already serving on %s", path);
		return -EADDRINUSE;
	}
	return unlink(path) ? -errno : 0;
}

int admin_start(struct admin **out, uv_loop_t *loop, const char *path, struct registry *reg)
{
	struct sockaddr_un sun;
	struct admin *a;
	mode_t old;
	int ret;

	*out = NULL;
	/* libuv 1.44 silently truncates long paths: refuse them instead. */
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_error("admin", "socket path longer than %zu bytes: %s",
			  sizeof(sun.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	ret = clear_stale(path);
	if (ret)
		return ret;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->loop = loop;
	a->reg = reg;
	a->path = strdup(path);
	if (!a->path) {
		free(a);
		return -ENOMEM;
	}
	uv_pipe_init(loop, &a->listener, 0);
	a->handles = 1;
	/* No window in which the socket is reachable by others: umask, then chmod. */
	old = umask(0077);
	ret = uv_pipe_bind(&a->listener, path);
	umask(old);
	a->bound = !ret;
	if (!ret && chmod(path, 0600))
		ret = -errno;
	if (!ret)
		ret = uv_listen((uv_stream_t *)&a->listener, LISTEN_BACKLOG, connection_cb);
	if (ret) {
		log_error("admin", "cannot listen on %s: %s", path, uv_strerror(ret));
		admin_stop(a, NULL, NULL);
		return ret;
	}
	log_info("admin", "listening path=%s", path);
	*out = a;
	return 0;
}

static void listener_closed(uv_handle_t *h)
{
	handle_closed(container_of((uv_pipe_t *)h, struct admin, listener));
}

void admin_stop(struct admin *a, void (*done)(void *arg), void *arg)
{
	if (!a)
		return;
	a->stopping = true;
	a->done = done;
	a->done_arg = arg;
	for (struct conn *c = a->conns; c; c = c->next)
		conn_close(c);
	if (a->handles && !uv_is_closing((uv_handle_t *)&a->listener)) {
		if (a->bound)
			unlink(a->path);
		uv_close((uv_handle_t *)&a->listener, listener_closed);
	}
}
