// SPDX-License-Identifier: MIT
/*
 * The bare engine's UDP outside: one dual-stack socket on a raw fd under
 * uv_poll_t, recvmmsg()/sendmmsg() batches, large socket buffers, fwmark,
 * and rebinding that keeps the old socket until the new one works.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/compiler.h"
#include "util/log.h"
#include "wg/bind_udp.h"

struct bind_udp_socket {
	uv_poll_t poll; /* first: the close callback frees the whole struct */
	int fd;
	int family; /* AF_INET6 (dual-stack) or AF_INET */
	struct wg_bind_udp *owner;
};

static void set_sockbuf(int fd, int force_opt, int opt)
{
	int size = WG_BIND_UDP_SOCKBUF;

	/* FORCE ignores net.core.[rw]mem_max but needs CAP_NET_ADMIN; either is best effort. */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof(size)) == 0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static int set_mark(int fd, uint32_t fwmark)
{
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		return -errno;
	return 0;
}

static int open_fd(int family, uint16_t port, uint32_t fwmark, uint16_t *bound)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd, ret, off = 0;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0) {
			ret = -errno;
			goto out_close;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		sin6->sin6_port = htons(port);
		sslen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		sin->sin_port = htons(port);
		sslen = sizeof(*sin);
	}

	set_sockbuf(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	set_sockbuf(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	if (fwmark) {
		ret = set_mark(fd, fwmark);
		if (ret)
			goto out_close;
	}

	if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) {
		ret = -errno;
		goto out_close;
	}
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		ret = -errno;
		goto out_close;
	}
	*bound = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					  : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;

out_close:
	close(fd);
	return ret;
}

static void socket_free(uv_handle_t *h)
{
	free(container_of((uv_poll_t *)h, struct bind_udp_socket, poll));
}

static void socket_close(struct bind_udp_socket *s)
{
	uv_poll_stop(&s->poll); /* takes the fd out of epoll before it is closed */
	close(s->fd);
	s->fd = -1;
	uv_close((uv_handle_t *)&s->poll, socket_free);
}

/* Nothing to receive into: read one batch into a scratch area and drop it, or the poll spins. */
static void discard_batch(struct wg_bind_udp *b, int fd)
{
	static uint8_t sink[2048];
	struct mmsghdr *msgs = b->rx.msgs;
	struct iovec *iovs = b->rx.iovs;
	int r;

	for (unsigned int i = 0; i < WG_BIND_UDP_BATCH; i++) {
		iovs[i].iov_base = sink;
		iovs[i].iov_len = sizeof(sink);
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	r = recvmmsg(fd, msgs, WG_BIND_UDP_BATCH, MSG_DONTWAIT, NULL);
	if (r > 0)
		b->stats.rx_nobuf += (unsigned int)r;
}

/* One recvmmsg() into pool buffers, handed to the sink. Returns datagrams read. */
static unsigned int receive_batch(struct wg_bind_udp *b, struct bind_udp_socket *s)
{
	struct pktbuf **bufs = b->rx.bufs;
	struct mmsghdr *msgs = b->rx.msgs;
	unsigned int got, k = 0;
	int r;

	got = pktbuf_get_batch(b->sink.pool, bufs, WG_BIND_UDP_BATCH);
	if (got == 0) {
		discard_batch(b, s->fd);
		return 0;
	}
	for (unsigned int i = 0; i < got; i++) {
		b->rx.iovs[i].iov_base = bufs[i]->data;
		b->rx.iovs[i].iov_len = pktbuf_tailroom(bufs[i]);
		memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
		msgs[i].msg_hdr.msg_iov = &b->rx.iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &b->rx.addrs[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(b->rx.addrs[i]);
	}

	do {
		r = recvmmsg(s->fd, msgs, got, MSG_DONTWAIT, NULL);
	} while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			b->stats.rx_errors++;
			log_debug("wg-udp", "recvmmsg failed err=%s", strerror(errno));
		}
		pktbuf_put_batch(b->sink.pool, bufs, got);
		return 0;
	}

	for (unsigned int i = 0; i < (unsigned int)r; i++) {
		struct pktbuf *buf = bufs[i];

		if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ||
		    ip_endpoint_from_sockaddr(&buf->endpoint, (struct sockaddr *)&b->rx.addrs[i]) <
			    0) {
			b->stats.rx_truncated++;
			pktbuf_put(b->sink.pool, buf);
			continue;
		}
		buf->len = msgs[i].msg_len;
		b->stats.rx_packets++;
		b->stats.rx_bytes += buf->len;
		bufs[k++] = buf;
	}
	pktbuf_put_batch(b->sink.pool, bufs + r, got - (unsigned int)r);
	if (k)
		b->sink.input(b->sink.ctx, bufs, k);
	return (unsigned int)r;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
	struct bind_udp_socket *s = container_of(h, struct bind_udp_socket, poll);
	struct wg_bind_udp *b = s->owner;

	(void)events;
	if (status < 0) {
		int err = 0;
		socklen_t len = sizeof(err);

		/* libuv stopped the handle on POLLERR: clear the socket error and go on. */
		(void)getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		b->stats.rx_errors++;
		log_debug("wg-udp", "socket error err=%s", strerror(err ? err : -status));
		uv_poll_start(&s->poll, UV_READABLE, on_readable);
		return;
	}
	for (unsigned int round = 0; round < WG_BIND_UDP_BATCHES_PER_WAKEUP; round++) {
		/* A full batch means more may be waiting; stop if a rebind replaced us. */
		if (receive_batch(b, s) < WG_BIND_UDP_BATCH || b->sock != s)
			break;
	}
}

void wg_bind_udp_init(struct wg_bind_udp *b, uv_loop_t *loop)
{
	memset(b, 0, sizeof(*b));
	b->loop = loop;
}

void wg_bind_udp_set_sink(struct wg_bind_udp *b, const struct wg_bind_udp_sink *sink)
{
	b->sink = *sink;
}

int wg_bind_udp_open(struct wg_bind_udp *b, uint16_t port, uint32_t fwmark, uint16_t *bound_port)
{
	struct bind_udp_socket *s;
	uint16_t bound = 0;
	int fd, family = AF_INET6, ret;

	if (!b->sink.input || !b->sink.pool)
		return -EINVAL;
	if (b->sock && port != 0 && port == b->port) {
		if (fwmark != b->fwmark) {
			ret = set_mark(b->sock->fd, fwmark);
			if (ret)
				return ret;
			b->fwmark = fwmark;
		}
		if (bound_port)
			*bound_port = b->port;
		return 0;
	}

	fd = open_fd(family, port, fwmark, &bound);
	if (fd == -EAFNOSUPPORT) {
		family = AF_INET; /* IPv6 disabled on this host */
		fd = open_fd(family, port, fwmark, &bound);
	}
	if (fd < 0)
		return fd;

	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		goto out_close_fd;
	}
	s->fd = fd;
	s->family = family;
	s->owner = b;
	ret = uv_poll_init(b->loop, &s->poll, fd);
	if (ret)
		goto out_free;
	ret = uv_poll_start(&s->poll, UV_READABLE, on_readable);
	if (ret) {
		socket_close(s);
		return ret;
	}

	if (b->sock)
		socket_close(b->sock);
	b->sock = s;
	b->port = bound;
	b->fwmark = fwmark;
	if (bound_port)
		*bound_port = bound;
	log_info("wg-udp", "listening port=%u family=%s", bound,
		 family == AF_INET6 ? "dual-stack" : "ipv4");
	return 0;

out_free:
	free(s);
out_close_fd:
	close(fd);
	return ret;
}

int wg_bind_udp_fd(const struct wg_bind_udp *b)
{
	return b->sock ? b->sock->fd : -1;
}

void wg_bind_udp_close(struct wg_bind_udp *b)
{
	if (b->sock)
		socket_close(b->sock);
	b->sock = NULL;
	b->port = 0;
}

/* Fill @ss for @ep as seen from a socket of @family; IPv4 on a dual-stack socket is v4-mapped. */
static int endpoint_sockaddr(int family, const struct ip_endpoint *ep, struct sockaddr_storage *ss,
			     socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (family == AF_INET6 && ep->addr.family == IP_FAMILY_V4) {
		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(ep->port);
		sin6->sin6_addr.s6_addr[10] = 0xff;
		sin6->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sin6->sin6_addr.s6_addr[12], ep->addr.bytes, 4);
		*len = sizeof(*sin6);
		return 0;
	}
	if (family == AF_INET && ep->addr.family != IP_FAMILY_V4)
		return -EAFNOSUPPORT;
	return ip_endpoint_to_sockaddr(ep, ss, len);
}

static unsigned int send_chunk(struct wg_bind_udp *b, struct pktbuf *const *bufs, unsigned int n)
{
	struct bind_udp_socket *s = b->sock;
	struct mmsghdr *msgs = b->tx.msgs;
	unsigned int m = 0, done = 0, sent = 0;

	for (unsigned int i = 0; i < n; i++) {
		socklen_t alen;

		if (endpoint_sockaddr(s->family, &bufs[i]->endpoint, &b->tx.addrs[m], &alen) < 0) {
			b->stats.tx_errors++;
			continue;
		}
		b->tx.iovs[m].iov_base = bufs[i]->data;
		b->tx.iovs[m].iov_len = bufs[i]->len;
		memset(&msgs[m], 0, sizeof(msgs[m]));
		msgs[m].msg_hdr.msg_iov = &b->tx.iovs[m];
		msgs[m].msg_hdr.msg_iovlen = 1;
		msgs[m].msg_hdr.msg_name = &b->tx.addrs[m];
		msgs[m].msg_hdr.msg_namelen = alen;
		m++;
	}

	while (done < m) {
		int r = sendmmsg(s->fd, msgs + done, m - done, MSG_DONTWAIT);

		if (r > 0) {
			for (unsigned int j = done; j < done + (unsigned int)r; j++)
				b->stats.tx_bytes += msgs[j].msg_len;
			b->stats.tx_packets += (unsigned int)r;
			sent += (unsigned int)r;
			done += (unsigned int)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			/* Socket buffer full: drop the rest of the batch (see bind_udp.h). */
			b->stats.tx_dropped_full += m - done;
			break;
		}
		/* This one message was refused (unreachable, EPERM by a firewall...); skip it. */
		b->stats.tx_errors++;
		log_debug("wg-udp", "sendmmsg failed err=%s", strerror(errno));
		done++;
	}
	return sent;
}

unsigned int wg_bind_udp_send(struct wg_bind_udp *b, struct pktbuf *const *bufs, unsigned int n)
{
	unsigned int sent = 0;

	if (!b->sock) {
		b->stats.tx_errors += n;
		return 0;
	}
	for (unsigned int off = 0; off < n; off += WG_BIND_UDP_BATCH) {
		unsigned int chunk = n - off < WG_BIND_UDP_BATCH ? n - off : WG_BIND_UDP_BATCH;

		sent += send_chunk(b, bufs + off, chunk);
	}
	return sent;
}

static unsigned int ops_send(void *ctx, struct pktbuf *const *bufs, unsigned int n)
{
	return wg_bind_udp_send(ctx, bufs, n);
}

static int ops_bind(void *ctx, uint16_t port, uint32_t fwmark, uint16_t *bound_port)
{
	return wg_bind_udp_open(ctx, port, fwmark, bound_port);
}

const struct wg_net_ops wg_bind_udp_ops = {
	.send = ops_send,
	.bind = ops_bind,
};
