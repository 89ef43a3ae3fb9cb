// SPDX-License-Identifier: MIT
/*
 * The wg UAPI socket: listener, per-connection request state machine,
 * stale-socket takeover and the watch on the socket file.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "util/compiler.h"
#include "util/log.h"
#include "wg/uapi.h"
#include "wg/uapi_server.h"

enum conn_state {
	CONN_OP,	  /* waiting for "get=1" or "set=1" */
	CONN_GET_NL,	  /* "get=1\n" seen; the next byte must be '\n' */
	CONN_SET,	  /* executing set lines */
	CONN_SET_DISCARD, /* a set line failed: skip to the blank line, then answer */
	CONN_CLOSING,
};

struct uapi_conn {
	uv_pipe_t pipe; /* first: freed from its close callback */
	struct uapi_server *srv;
	struct uapi_conn *prev, *next;
	enum conn_state state;
	struct uapi_set set;
	int set_err;
	bool overlong; /* the line being read exceeded UAPI_LINE_MAX: its bytes are dropped */
	bool paused;   /* reading stopped until the client reads its answers */
	size_t line_len;
	char line[UAPI_LINE_MAX];
	char rbuf[4096];
};

struct uapi_server {
	uv_loop_t *loop;
	struct wg_device *dev;
	uv_pipe_t listener;
	uv_fs_event_t watch;
	uv_timer_t check;
	struct uapi_server_config cfg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t st_dev; /* identity of our socket file */
	ino_t st_ino;
	struct uapi_conn *conns;
	unsigned int handles; /* open libuv handles; freed when stopped and zero */
	bool stopping;
	bool gone;
};

struct uapi_write {
	uv_write_t req;
	size_t len;
	char data[];
};

static void server_handle_closed(uv_handle_t *h)
{
	struct uapi_server *srv = h->data;

	if (--srv->handles == 0 && srv->stopping)
		free(srv);
}

static void conn_closed(uv_handle_t *h)
{
	struct uapi_conn *c = container_of((uv_pipe_t *)h, struct uapi_conn, pipe);
	struct uapi_server *srv = c->srv;

	sodium_memzero(c, sizeof(*c)); /* lines may have held keys */
	free(c);
	if (--srv->handles == 0 && srv->stopping)
		free(srv);
}

static void conn_close(struct uapi_conn *c)
{
	struct uapi_server *srv = c->srv;

	if (c->state == CONN_CLOSING)
		return;
	if (c->state == CONN_SET || c->state == CONN_SET_DISCARD)
		uapi_set_end(&c->set);
	c->state = CONN_CLOSING;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void write_done(uv_write_t *req, int status)
{
	struct uapi_write *w = container_of(req, struct uapi_write, req);
	/* Still valid: libuv cancels pending writes before a stream's close callback. */
	struct uapi_conn *c = container_of((uv_pipe_t *)req->handle, struct uapi_conn, pipe);

	(void)status; /* a failed write shows up as EOF/error on the read side */
	sodium_memzero(w->data, w->len);
	free(w);
	if (c->paused && c->state != CONN_CLOSING &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) <= UAPI_SERVER_BACKLOG / 2) {
		c->paused = false;
		if (uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read) < 0)
			conn_close(c);
	}
}

/* Queue @a followed by @b (either may be empty) as one write. */
static void conn_reply2(struct uapi_conn *c, const char *a, size_t alen, const char *b, size_t blen)
{
	struct uapi_write *w = malloc(sizeof(*w) + alen + blen);
	uv_buf_t buf;

	if (!w) {
		conn_close(c);
		return;
	}
	if (alen)
		memcpy(w->data, a, alen);
	if (blen)
		memcpy(w->data + alen, b, blen);
	w->len = alen + blen;
	buf = uv_buf_init(w->data, (unsigned int)w->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_done) < 0) {
		sodium_memzero(w->data, w->len);
		free(w);
		conn_close(c);
		return;
	}
	/* A client that sends requests but does not read the answers: stop reading it. */
	if (!c->paused &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > UAPI_SERVER_BACKLOG) {
		c->paused = true;
		uv_read_stop((uv_stream_t *)&c->pipe);
	}
}

static void conn_reply_errno(struct uapi_conn *c, int err)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "errno=%d\n\n", err);

	conn_reply2(c, line, (size_t)n, NULL, 0);
}

static void do_get(struct uapi_conn *c)
{
	static const char tail[] = "errno=0\n\n";
	struct uapi_text t = {0};
	int ret = uapi_format_get(c->srv->dev, &t);

	if (ret) {
		log_warn("uapi", "get failed err=%s", strerror(-ret));
		conn_reply_errno(c, ret);
	} else {
		conn_reply2(c, t.data, t.len, tail, sizeof(tail) - 1);
	}
	uapi_text_free(&t);
}

static void end_set(struct uapi_conn *c)
{
	uapi_set_end(&c->set);
	if (c->set_err)
		log_warn("uapi", "set failed err=%s", strerror(-c->set_err));
	conn_reply_errno(c, c->set_err);
	c->state = CONN_OP;
}

/* One complete line (without its '\n'); @overlong lines have lost their tail. */
static void conn_line(struct uapi_conn *c, const char *line, size_t len, bool overlong)
{
	int ret;

	switch (c->state) {
	case CONN_OP:
		if (!overlong && len == 5 && !memcmp(line, "get=1", 5)) {
			c->state = CONN_GET_NL;
		} else if (!overlong && len == 5 && !memcmp(line, "set=1", 5)) {
			c->set_err = 0;
			uapi_set_begin(&c->set, c->srv->dev);
			c->state = c->srv->cfg.read_only ? CONN_SET_DISCARD : CONN_SET;
			if (c->srv->cfg.read_only)
				c->set_err = -EPERM;
		} else {
			log_warn("uapi", "invalid operation, closing connection");
			conn_close(c);
		}
		break;
	case CONN_SET:
		if (len == 0 && !overlong) {
			end_set(c);
			break;
		}
		ret = overlong ? -EINVAL : uapi_set_line(&c->set, line, len);
		if (ret) {
			c->set_err = ret;
			c->state = CONN_SET_DISCARD;
		}
		break;
	case CONN_SET_DISCARD:
		if (len == 0 && !overlong)
			end_set(c);
		break;
	case CONN_GET_NL:
	case CONN_CLOSING:
		break;
	}
}

static void conn_input(struct uapi_conn *c, const char *p, size_t n)
{
	while (n > 0 && c->state != CONN_CLOSING) {
		const char *nl;
		size_t take;

		if (c->state == CONN_GET_NL) {
			/* wireguard-go wants "get=1\n\n": anything else there is EINVAL. */
			if (*p == '\n')
				do_get(c);
			else
				conn_reply_errno(c, -EINVAL);
			if (c->state == CONN_GET_NL)
				c->state = CONN_OP;
			p++;
			n--;
			continue;
		}
		nl = memchr(p, '\n', n);
		take = nl ? (size_t)(nl - p) : n;
		if (c->line_len + take > sizeof(c->line)) {
			c->overlong = true;
			c->line_len = 0;
		} else if (!c->overlong) {
			memcpy(c->line + c->line_len, p, take);
			c->line_len += take;
		}
		if (!nl)
			return;
		p += take + 1;
		n -= take + 1;
		conn_line(c, c->line, c->line_len, c->overlong);
		sodium_memzero(c->line, c->line_len);
		c->line_len = 0;
		c->overlong = false;
	}
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct uapi_conn *c = container_of((uv_pipe_t *)h, struct uapi_conn, pipe);

	(void)suggested;
	*buf = uv_buf_init(c->rbuf, sizeof(c->rbuf));
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct uapi_conn *c = container_of((uv_pipe_t *)s, struct uapi_conn, pipe);

	if (nread < 0) {
		/* EOF (or a reset): lines applied so far stay applied, as in wireguard-go. */
		conn_close(c);
		return;
	}
	conn_input(c, buf->base, (size_t)nread);
	sodium_memzero(buf->base, (size_t)nread);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct uapi_server *srv = container_of((uv_pipe_t *)listener, struct uapi_server, listener);
	struct uapi_conn *c;

	if (status < 0) {
		log_warn("uapi", "accept failed err=%s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = srv;
	uv_pipe_init(srv->loop, &c->pipe, 0);
	srv->handles++;
	c->next = srv->conns;
	if (c->next)
		c->next->prev = c;
	srv->conns = c;
	if (uv_accept(listener, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, conn_alloc, conn_read) < 0)
		conn_close(c);
}

/* Is the file at our path still the socket we bound? */
static void check_gone(struct uapi_server *srv)
{
	struct stat st;

	if (srv->gone || srv->stopping)
		return;
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->st_dev && st.st_ino == srv->st_ino)
		return;
	srv->gone = true;
	log_info("uapi", "socket file removed path=%s", srv->path);
	if (srv->cfg.on_gone)
		srv->cfg.on_gone(srv->cfg.ctx);
}

static void on_fs_event(uv_fs_event_t *h, const char *name, int events, int status)
{
	(void)name;
	(void)events;
	(void)status;
	check_gone(container_of(h, struct uapi_server, watch));
}

static void on_check_timer(uv_timer_t *t)
{
	check_gone(container_of(t, struct uapi_server, check));
}

/* Another process answering on @path means it is in use; anything else is stale. */
static bool socket_in_use(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return ret == 0;
}

static int listen_fd(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	old = umask(077); /* the socket is root-only, as wireguard-go makes it */
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (ret < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

static int open_socket(const char *path)
{
	int fd = listen_fd(path);

	if (fd != -EADDRINUSE)
		return fd;
	if (socket_in_use(path))
		return -EADDRINUSE;
	/* Stale: left behind by a process that died without cleaning up. */
	log_info("uapi", "removing stale socket path=%s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return listen_fd(path);
}

static bool iface_valid(const char *iface)
{
	size_t len = iface ? strnlen(iface, IFNAMSIZ) : 0;

	return len > 0 && len < IFNAMSIZ && !strchr(iface, '/') && strcmp(iface, ".") &&
	       strcmp(iface, "..");
}

int uapi_server_start(struct uapi_server **out, uv_loop_t *loop, struct wg_device *dev,
		      const struct uapi_server_config *cfg)
{
	struct uapi_server *srv;
	struct stat st;
	int fd, ret, n;

	if (!iface_valid(cfg->iface) || !cfg->dir)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->loop = loop;
	srv->dev = dev;
	srv->cfg = *cfg;
	n = snprintf(srv->path, sizeof(srv->path), "%s/%s.sock", cfg->dir, cfg->iface);
	if (n < 0 || (size_t)n >= sizeof(srv->path)) {
		ret = -ENAMETOOLONG;
		goto out_free;
	}

	if (mkdir(cfg->dir, 0755) == 0) {
		/* 0755 whatever our umask: wg(8) run by root lists the directory. */
		(void)chmod(cfg->dir, 0755);
	} else if (errno != EEXIST) {
		ret = -errno;
		log_error("uapi", "cannot create directory path=%s err=%s", cfg->dir,
			  strerror(errno));
		goto out_free;
	}
	fd = open_socket(srv->path);
	if (fd < 0) {
		ret = fd;
		goto out_free;
	}
	if (stat(srv->path, &st) < 0) {
		ret = -errno;
		goto out_unlink;
	}
	srv->st_dev = st.st_dev;
	srv->st_ino = st.st_ino;

	/* Our own fd (not uv_pipe_bind) so that libuv never unlinks a path that is no longer ours. */
	uv_pipe_init(loop, &srv->listener, 0);
	srv->listener.data = srv;
	srv->handles++;
	ret = uv_pipe_open(&srv->listener, fd);
	if (ret) {
		close(fd);
		goto out_close_listener;
	}
	ret = uv_listen((uv_stream_t *)&srv->listener, 16, on_connection);
	if (ret)
		goto out_close_listener;

	uv_fs_event_init(loop, &srv->watch);
	srv->watch.data = srv;
	srv->handles++;
	ret = uv_fs_event_start(&srv->watch, on_fs_event, srv->path, 0);
	if (ret)
		log_debug("uapi", "no inotify watch, polling err=%s", uv_strerror(ret));
	/* Also poll: inotify can be unavailable or exhausted, and is cheap to back up. */
	uv_timer_init(loop, &srv->check);
	srv->check.data = srv;
	srv->handles++;
	uv_timer_start(&srv->check, on_check_timer, UAPI_SERVER_CHECK_MS, UAPI_SERVER_CHECK_MS);
	uv_unref((uv_handle_t *)&srv->check);

	log_info("uapi", "listening path=%s", srv->path);
	*out = srv;
	return 0;

out_close_listener:
	srv->stopping = true; /* the close callback frees srv */
	unlink(srv->path);
	uv_close((uv_handle_t *)&srv->listener, server_handle_closed);
	return ret;
out_unlink:
	close(fd);
	unlink(srv->path);
out_free:
	free(srv);
	return ret;
}

const char *uapi_server_path(const struct uapi_server *srv)
{
	return srv->path;
}

void uapi_server_stop(struct uapi_server *srv)
{
	struct stat st;

	if (!srv || srv->stopping)
		return;
	srv->stopping = true;
	while (srv->conns)
		conn_close(srv->conns);
	/* Remove the file only if it is still the one we created. */
	if (lstat(srv->path, &st) == 0 && st.st_dev == srv->st_dev && st.st_ino == srv->st_ino)
		unlink(srv->path);
	uv_close((uv_handle_t *)&srv->listener, server_handle_closed);
	uv_close((uv_handle_t *)&srv->watch, server_handle_closed);
	uv_close((uv_handle_t *)&srv->check, server_handle_closed);
}
