/* SPDX-License-Identifier: MIT */
/*
 * The bare engine's outside: WireGuard over a plain UDP socket, for
 * `meshd wireguard IFACE` (the mesh daemon uses magicsock instead).
 *
 * One IPv6 socket with IPV6_V6ONLY off carries both families (IPv4 peers
 * appear as ::ffff:a.b.c.d to the kernel and as IPv4 endpoints to the
 * device); on a host without IPv6 an IPv4-only socket is used. The fd is raw
 * and non-blocking under a uv_poll_t, because libuv's UDP API cannot batch:
 * receive drains it with recvmmsg() in batches of WG_DEVICE_BATCH into pool
 * buffers, send uses one sendmmsg() per batch.
 *
 * Backpressure: when the socket's send buffer is full (EAGAIN/ENOBUFS) the
 * rest of the batch is dropped and counted, like a full NIC queue. Waiting
 * for POLLOUT would stall the loop that also serves the TUN, and the traffic
 * inside the tunnel (TCP, QUIC) already reacts to loss. The send buffer is
 * made large (7 MiB, forced past rmem_max/wmem_max when root) so that this
 * is rare.
 */
#ifndef MESH_WG_BIND_UDP_H
#define MESH_WG_BIND_UDP_H

#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "util/ipaddr.h"
#include "util/pktbuf.h"
#include "wg/device.h"

enum wg_bind_udp_limits {
	WG_BIND_UDP_BATCH = WG_DEVICE_BATCH,
	WG_BIND_UDP_SOCKBUF = 7 << 20,	    /* SO_RCVBUF / SO_SNDBUF wish */
	WG_BIND_UDP_BATCHES_PER_WAKEUP = 8, /* then yield to the other fds */
};

struct wg_bind_udp_stats {
	uint64_t rx_packets, rx_bytes;
	uint64_t tx_packets, tx_bytes;
	uint64_t rx_truncated;	  /* datagram larger than a buffer */
	uint64_t rx_nobuf;	  /* readable, but the pool was empty */
	uint64_t rx_errors;	  /* recvmmsg failures other than EAGAIN */
	uint64_t tx_dropped_full; /* dropped because the socket buffer was full */
	uint64_t tx_errors;	  /* refused by the kernel (unreachable, bad family...) */
};

/*
 * Receives a batch, each buffer's sender in its endpoint field; ownership of
 * the buffers passes to the callee (wg_device_net_input() has this shape).
 */
struct wg_bind_udp_sink {
	void (*input)(void *ctx, struct pktbuf **bufs, unsigned int n);
	void *ctx;
	struct pktbuf_pool *pool; /* where receive buffers come from */
};

struct bind_udp_socket;

struct wg_bind_udp {
	uv_loop_t *loop;
	struct wg_bind_udp_sink sink;
	struct bind_udp_socket *sock; /* NULL while unbound */
	uint16_t port;		      /* bound port, 0 while unbound */
	uint32_t fwmark;
	struct wg_bind_udp_stats stats;
	/* Scratch for one batch each way; send may run inside a receive callback. */
	struct {
		struct mmsghdr msgs[WG_BIND_UDP_BATCH];
		struct iovec iovs[WG_BIND_UDP_BATCH];
		struct sockaddr_storage addrs[WG_BIND_UDP_BATCH];
		struct pktbuf *bufs[WG_BIND_UDP_BATCH];
	} rx;
	struct {
		struct mmsghdr msgs[WG_BIND_UDP_BATCH];
		struct iovec iovs[WG_BIND_UDP_BATCH];
		struct sockaddr_storage addrs[WG_BIND_UDP_BATCH];
	} tx;
};

/** The wg_net_ops of this outside; the ops context is the struct wg_bind_udp. */
extern const struct wg_net_ops wg_bind_udp_ops;

/** Prepare an unbound @b on @loop; nothing is received until a sink is set and it is bound. */
void wg_bind_udp_init(struct wg_bind_udp *b, uv_loop_t *loop);

/**
 * Set where received messages go (typically wg_device_net_input() with the
 * device's pool). Must be called before the first wg_bind_udp_open().
 */
void wg_bind_udp_set_sink(struct wg_bind_udp *b, const struct wg_bind_udp_sink *sink);

/**
 * Bind to UDP @port (0 = a random free port) on all addresses and apply
 * @fwmark (SO_MARK, 0 = none). If already bound to @port (non-zero) only the
 * mark changes; otherwise a new socket is opened first and the old one closed
 * only once that succeeded, so a failed rebind keeps the old port. Stores the
 * bound port in *@bound_port (if not NULL). Returns 0, -EADDRINUSE, -EPERM
 * (SO_MARK without CAP_NET_ADMIN), or another negative errno.
 */
int wg_bind_udp_open(struct wg_bind_udp *b, uint16_t port, uint32_t fwmark, uint16_t *bound_port);

/**
 * Send @n messages, each to its bufs[i]->endpoint, in as few sendmmsg()
 * calls as the kernel allows. Returns how many were handed to the kernel;
 * the rest were dropped and counted (unbound, full socket buffer,
 * unreachable).
 */
unsigned int wg_bind_udp_send(struct wg_bind_udp *b, struct pktbuf *const *bufs, unsigned int n);

/** The socket's fd, or -1 while unbound (for diagnostics and tests). */
int wg_bind_udp_fd(const struct wg_bind_udp *b);

/** Close the socket (its poll handle is freed by the loop); @b may be bound again. */
void wg_bind_udp_close(struct wg_bind_udp *b);

#endif
