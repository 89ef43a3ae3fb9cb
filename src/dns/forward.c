// SPDX-License-Identifier: MIT
/*
 * The upstream forwarder (see forward.h). A query owns a timer and, per
 * attempt, one connected UDP socket; a socket outlives its attempt only
 * until its close callback, and a detached socket (q == NULL) ignores what
 * it still receives. Synchronous failures never call back from inside
 * dns_forward_query(): they arm the query's timer with zero delay, and the
 * timer moves on to the next attempt or reports the error.
 */
#include "dns/forward.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "dns/dnsmsg.h"
#include "util/compiler.h"
#include "util/log.h"

struct fwd_query;

struct fwd_sock {
	uv_udp_t udp;
	struct dns_forward *f;
	struct fwd_query *q; /* NULL once the attempt is over */
};

struct fwd_query {
	struct fwd_query *prev, *next;
	struct dns_forward *f;
	uint64_t id;
	dns_forward_cb *cb;
	void *ctx;
	uv_timer_t timer;
	struct fwd_sock *sock; /* the current attempt's, or NULL */
	uint16_t client_id, wire_id;
	bool has_question;
	struct dns_name qname;
	uint16_t qtype, qclass;
	struct ip_endpoint ups[DNS_FORWARD_UPSTREAMS_MAX];
	unsigned int nups, attempt, attempts;
	int last_err;
	size_t len;
	uint8_t msg[];
};

struct dns_forward {
	uv_loop_t *loop;
	struct dns_forward_config cfg;
	struct fwd_query *head;
	unsigned int inflight;
	unsigned int handles; /* open libuv handles: freed with the last one */
	bool closing;
	uint64_t next_id;
	struct dns_forward_stats stats;
	uint8_t rbuf[DNS_FORWARD_REPLY_MAX];
};

static void start_attempt(struct fwd_query *q);
static void on_timer(uv_timer_t *t);

static void handle_closed(struct dns_forward *f)
{
	if (--f->handles == 0 && f->closing)
		free(f);
}

static void on_sock_closed(uv_handle_t *h)
{
	struct fwd_sock *s = container_of((uv_udp_t *)h, struct fwd_sock, udp);
	struct dns_forward *f = s->f;

	free(s);
	handle_closed(f);
}

static void on_query_closed(uv_handle_t *h)
{
	struct fwd_query *q = container_of((uv_timer_t *)h, struct fwd_query, timer);
	struct dns_forward *f = q->f;

	free(q);
	handle_closed(f);
}

static void detach_sock(struct fwd_query *q)
{
	if (!q->sock)
		return;
	q->sock->q = NULL;
	uv_close((uv_handle_t *)&q->sock->udp, on_sock_closed);
	q->sock = NULL;
}

/* Unlink @q, close its handles, then report @status (the callback may free the forwarder). */
static void finish(struct fwd_query *q, int status, const uint8_t *reply, size_t len)
{
	struct dns_forward *f = q->f;
	dns_forward_cb *cb = q->cb;
	void *ctx = q->ctx;

	if (q->prev)
		q->prev->next = q->next;
	else
		f->head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	f->inflight--;
	detach_sock(q);
	uv_timer_stop(&q->timer);
	uv_close((uv_handle_t *)&q->timer, on_query_closed);
	if (cb)
		cb(ctx, status, reply, len);
}

/* The attempt failed now: move on from the timer, never from the caller's stack. */
static void fail_attempt(struct fwd_query *q, int err)
{
	detach_sock(q);
	q->last_err = err;
	q->f->stats.failures++;
	uv_timer_start(&q->timer, on_timer, 0, 0);
}

static void next_attempt(struct fwd_query *q)
{
	if (++q->attempt >= q->attempts) {
		finish(q, q->last_err ? q->last_err : -ETIMEDOUT, NULL, 0);
		return;
	}
	q->f->stats.retries++;
	start_attempt(q);
}

static void on_timer(uv_timer_t *t)
{
	struct fwd_query *q = container_of(t, struct fwd_query, timer);

	if (q->sock) {
		q->f->stats.timeouts++;
		q->last_err = -ETIMEDOUT;
		detach_sock(q);
	}
	next_attempt(q);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct fwd_sock *s = container_of((uv_udp_t *)h, struct fwd_sock, udp);

	(void)suggested;
	*buf = uv_buf_init((char *)s->f->rbuf, sizeof(s->f->rbuf));
}

/* Is @buf/@len the response to @q's current attempt? */
static bool matches(const struct fwd_query *q, const uint8_t *buf, size_t len)
{
	struct dns_header h;
	struct dns_name name;
	size_t pos;

	if (dnsmsg_parse_header(buf, len, &h) < 0 || !(h.flags & DNS_FLAG_QR) || h.id != q->wire_id)
		return false;
	if (!q->has_question)
		return true;
	/* Some servers drop the question from error replies (FORMERR, NOTIMP). */
	if (h.qdcount == 0)
		return (h.flags & DNS_FLAG_RCODE_MASK) != DNS_RCODE_NOERROR;
	if (dnsmsg_read_name(buf, len, DNS_HEADER_LEN, &name, &pos) < 0 || len - pos < 4)
		return false;
	return dns_name_equal(&name, &q->qname) &&
	       (uint16_t)(buf[pos] << 8 | buf[pos + 1]) == q->qtype &&
	       (uint16_t)(buf[pos + 2] << 8 | buf[pos + 3]) == q->qclass;
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned int flags)
{
	struct fwd_sock *s = container_of(h, struct fwd_sock, udp);
	struct fwd_query *q = s->q;
	uint8_t *p = (uint8_t *)buf->base;

	(void)addr;
	if (!q || nread == 0)
		return;
	if (nread < 0) {
		/* On a connected socket: ICMP errors (port unreachable: -ECONNREFUSED). */
		fail_attempt(q, (int)nread);
		return;
	}
	if ((flags & UV_UDP_PARTIAL) || !matches(q, p, (size_t)nread)) {
		q->f->stats.mismatched++;
		return;
	}
	q->f->stats.replies++;
	p[0] = (uint8_t)(q->client_id >> 8);
	p[1] = (uint8_t)q->client_id;
	finish(q, 0, p, (size_t)nread);
}

static int open_sock(struct fwd_query *q, const struct ip_endpoint *up, struct fwd_sock **out)
{
	struct dns_forward *f = q->f;
	struct sockaddr_storage ss, any;
	struct fwd_sock *s;
	uv_os_fd_t fd;
	int ret;

	ret = ip_endpoint_to_sockaddr(up, &ss, NULL);
	if (ret < 0)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->f = f;
	ret = uv_udp_init(f->loop, &s->udp);
	if (ret < 0) {
		free(s);
		return ret;
	}
	f->handles++;
	s->q = q;
	q->sock = s;
	/* Bind, mark, then connect: the route is chosen at connect time with the mark. */
	memset(&any, 0, sizeof(any));
	any.ss_family = ss.ss_family;
	ret = uv_udp_bind(&s->udp, (const struct sockaddr *)&any, 0);
	if (ret == 0 && f->cfg.fwmark) {
		ret = uv_fileno((uv_handle_t *)&s->udp, &fd);
		if (ret == 0 &&
		    setsockopt(fd, SOL_SOCKET, SO_MARK, &f->cfg.fwmark, sizeof(f->cfg.fwmark)) < 0)
			ret = -errno;
	}
	if (ret == 0)
		ret = uv_udp_connect(&s->udp, (const struct sockaddr *)&ss);
	if (ret == 0)
		ret = uv_udp_recv_start(&s->udp, on_alloc, on_recv);
	*out = s;
	return ret;
}

static void start_attempt(struct fwd_query *q)
{
	const struct ip_endpoint *up = &q->ups[q->attempt % q->nups];
	struct fwd_sock *s = NULL;
	uv_buf_t b;
	int ret;

	q->wire_id = (uint16_t)randombytes_uniform(UINT16_MAX + 1u);
	q->msg[0] = (uint8_t)(q->wire_id >> 8);
	q->msg[1] = (uint8_t)q->wire_id;
	ret = open_sock(q, up, &s);
	if (ret == 0) {
		b = uv_buf_init((char *)q->msg, (unsigned int)q->len);
		ret = uv_udp_try_send(&s->udp, &b, 1, NULL);
		if (ret >= 0)
			ret = 0;
	}
	if (ret < 0) {
		char ep[IP_ENDPOINT_STRLEN];

		log_debug("dns", "upstream send failed upstream=%s err=%s",
			  ip_endpoint_format(up, ep, sizeof(ep)), uv_strerror(ret));
		fail_attempt(q, ret);
		return;
	}
	uv_timer_start(&q->timer, on_timer, q->f->cfg.timeout_ms, 0);
}

int dns_forward_query(struct dns_forward *f, const uint8_t *query, size_t len,
		      const struct ip_endpoint *upstreams, size_t n, dns_forward_cb *cb, void *ctx,
		      uint64_t *id)
{
	struct dns_header h;
	struct fwd_query *q;
	size_t pos;

	if (f->closing || !n || len > DNS_MSG_MAX || dnsmsg_parse_header(query, len, &h) < 0 ||
	    (h.flags & DNS_FLAG_QR))
		return -EINVAL;
	if (f->inflight >= f->cfg.max_inflight)
		return -EAGAIN;
	q = calloc(1, sizeof(*q) + len);
	if (!q)
		return -ENOMEM;
	if (h.qdcount > 0) {
		if (dnsmsg_read_name(query, len, DNS_HEADER_LEN, &q->qname, &pos) < 0 ||
		    len - pos < 4) {
			free(q);
			return -EINVAL;
		}
		q->has_question = true;
		q->qtype = (uint16_t)(query[pos] << 8 | query[pos + 1]);
		q->qclass = (uint16_t)(query[pos + 2] << 8 | query[pos + 3]);
	}
	for (size_t i = 0; i < n && q->nups < DNS_FORWARD_UPSTREAMS_MAX; i++) {
		q->ups[q->nups] = upstreams[i];
		if (!q->ups[q->nups].port)
			q->ups[q->nups].port = DNS_PORT;
		q->nups++;
	}
	q->f = f;
	q->id = ++f->next_id;
	q->cb = cb;
	q->ctx = ctx;
	q->client_id = h.id;
	q->attempts = f->cfg.attempts ? f->cfg.attempts : q->nups < 2 ? 2 : q->nups;
	q->len = len;
	memcpy(q->msg, query, len);
	uv_timer_init(f->loop, &q->timer);
	f->handles++;
	q->next = f->head;
	if (f->head)
		f->head->prev = q;
	f->head = q;
	f->inflight++;
	f->stats.queries++;
	if (id)
		*id = q->id;
	start_attempt(q);
	return 0;
}

int dns_forward_cancel(struct dns_forward *f, uint64_t id)
{
	for (struct fwd_query *q = f->head; q; q = q->next) {
		if (q->id == id) {
			q->cb = NULL;
			finish(q, -ECANCELED, NULL, 0);
			return 0;
		}
	}
	return -ENOENT;
}

int dns_forward_new(struct dns_forward **out, uv_loop_t *loop, const struct dns_forward_config *cfg)
{
	struct dns_forward *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return -ENOMEM;
	f->loop = loop;
	if (cfg)
		f->cfg = *cfg;
	if (!f->cfg.timeout_ms)
		f->cfg.timeout_ms = DNS_FORWARD_TIMEOUT_MS_DEFAULT;
	if (!f->cfg.max_inflight)
		f->cfg.max_inflight = DNS_FORWARD_INFLIGHT_DEFAULT;
	*out = f;
	return 0;
}

void dns_forward_free(struct dns_forward *f)
{
	if (!f)
		return;
	f->closing = true;
	while (f->head)
		finish(f->head, -ECANCELED, NULL, 0);
	if (f->handles == 0)
		free(f);
}

unsigned int dns_forward_inflight(const struct dns_forward *f)
{
	return f->inflight;
}

void dns_forward_get_stats(const struct dns_forward *f, struct dns_forward_stats *out)
{
	*out = f->stats;
}
