/* SPDX-License-Identifier: MIT */
/*
 * Linux TUN devices: a layer-3 interface whose packets are read and written
 * as plain IPv4/IPv6 datagrams (IFF_TUN | IFF_NO_PI) on a non-blocking fd.
 *
 * The fd is meant to sit under a uv_poll_t: when it is readable, the owner
 * drains it with tun_read_batch() (which reads until EAGAIN or the batch is
 * full) and hands the batch on. Packets land in struct pktbuf buffers at the
 * pool's headroom, so the WireGuard header is later prepended in place.
 *
 * The interface is not persistent: tun_close() (or the process exiting)
 * removes it. When someone else deletes it (`ip link del`), the fd reports
 * POLLERR and reads fail with -EBADFD; tun_read_batch() returns that error so
 * the owner can shut down, as wireguard-go does.
 *
 * Offloads (IFF_VNET_HDR with TSO/GRO) are not used yet. They would change
 * only the two per-packet helpers in tun.c (a virtio_net_hdr before each
 * packet, segmentation on read and coalescing on write); the `vnet_hdr` flag
 * below marks that seam.
 */
#ifndef MESH_TUN_TUN_H
#define MESH_TUN_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/pktbuf.h"

enum tun_limits {
	TUN_NAME_MAX = IFNAMSIZ - 1, /* 15 characters */
	TUN_DEFAULT_MTU = 1420,
	TUN_MIN_MTU = 576, /* lowest IPv4 MTU every host must accept */
	TUN_MAX_MTU = 65535,
};

struct tun_stats {
	uint64_t rx_packets, rx_bytes; /* read from the TUN (outbound traffic) */
	uint64_t tx_packets, tx_bytes; /* written to the TUN (inbound traffic) */
	uint64_t rx_errors;	       /* reads that failed for another reason than EAGAIN */
	uint64_t tx_errors;	       /* packets the kernel refused */
	uint64_t rx_truncated;	       /* packets longer than a buffer, dropped */
};

struct tun_device {
	int fd; /* -1 when closed */
	char name[IFNAMSIZ];
	int ifindex;
	unsigned int mtu;
	bool vnet_hdr; /* offload seam: always false for now */
	struct tun_stats stats;
};

/**
 * Create (or attach to a free persistent) TUN interface called @name, open
 * non-blocking and close-on-exec, and set its MTU to @mtu (0 means
 * TUN_DEFAULT_MTU). The interface is left down. Returns 0; -EINVAL for a bad
 * name or MTU; -EEXIST if @name is an interface that is not a TUN; -EBUSY if
 * another process holds that TUN; -EPERM without CAP_NET_ADMIN; or another
 * negative errno. On failure @tun is left closed (fd -1).
 */
int tun_open(struct tun_device *tun, const char *name, unsigned int mtu);

/** Close the fd, which removes the interface; safe on a closed device. */
void tun_close(struct tun_device *tun);

/** Set the interface MTU (SIOCSIFMTU). Returns 0 or a negative errno. */
int tun_set_mtu(struct tun_device *tun, unsigned int mtu);

/** Read the interface MTU from the kernel into *@mtu. Returns 0 or a negative errno. */
int tun_get_mtu(const struct tun_device *tun, unsigned int *mtu);

/**
 * Read up to @max packets into buffers taken from @pool, stopping early at
 * EAGAIN; bufs[0..ret) hold the packets (owned by the caller), unused
 * buffers go back to the pool. Each packet may be up to the pool's
 * payload_size; a longer one is dropped and counted. Returns the number of
 * packets (0 when nothing was waiting or the pool is empty), or a negative
 * errno when the first read failed for another reason (-EBADFD: the
 * interface was deleted).
 */
int tun_read_batch(struct tun_device *tun, struct pktbuf_pool *pool, struct pktbuf **bufs,
		   unsigned int max);

/**
 * Write the @n IP packets in @bufs (each bufs[i]->data, bufs[i]->len) to the
 * kernel. The buffers stay the caller's. Returns how many were accepted;
 * refused ones are counted in stats.tx_errors.
 */
unsigned int tun_write_batch(struct tun_device *tun, struct pktbuf *const *bufs, unsigned int n);

/** True while the interface still exists under the index it was created with. */
bool tun_is_alive(const struct tun_device *tun);

#endif
