/* SPDX-License-Identifier: MIT */
/*
 * The upstream forwarder: MagicDNS queries that are not ours go to real
 * resolvers over UDP, asynchronously on the caller's libuv loop.
 *
 * Each attempt uses a fresh connected UDP socket (so a kernel-chosen random
 * source port, and the kernel drops datagrams from any other address) and
 * a fresh random query id; the client's id is put back in the reply. A
 * reply is accepted only if it is a response with our id and the same
 * question (name compared without case, type, class); anything else is
 * counted and ignored, so a blind spoofer must guess port and id. The
 * accepted reply is otherwise relayed byte for byte.
 *
 * An attempt that times out (timeout_ms) or is refused (ICMP port
 * unreachable) moves on to the next resolver, cycling through the list for
 * `attempts` attempts in all; then the callback gets the last error. The
 * number of queries in flight is bounded: beyond it new queries fail at once
 * with -EAGAIN (the caller answers SERVFAIL).
 */
#ifndef MESH_DNS_FORWARD_H
#define MESH_DNS_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "util/ipaddr.h"

enum dns_forward_limits {
	DNS_FORWARD_TIMEOUT_MS_DEFAULT = 2000,
	DNS_FORWARD_INFLIGHT_DEFAULT = 256,
	DNS_FORWARD_UPSTREAMS_MAX = 8,
	/* The largest reply we take from an upstream (longer ones are cut by the kernel, dropped). */
	DNS_FORWARD_REPLY_MAX = 65535,
};

struct dns_forward_config {
	unsigned int timeout_ms;   /* per attempt; 0: DNS_FORWARD_TIMEOUT_MS_DEFAULT */
	unsigned int max_inflight; /* 0: DNS_FORWARD_INFLIGHT_DEFAULT */
	unsigned int attempts;	   /* 0: each resolver once, and at least 2 */
	uint32_t fwmark; /* SO_MARK on upstream sockets (bypass the mesh routes); 0: none */
};

struct dns_forward_stats {
	uint64_t queries, replies, timeouts, failures, mismatched, retries;
};

/*
 * Called once per query (never for a cancelled one): @status 0 with the
 * reply @reply/@len (valid during the call only), or a negative errno
 * (-ETIMEDOUT, -ECONNREFUSED, ... of the last attempt; -ECANCELED when the
 * forwarder is freed).
 */
typedef void dns_forward_cb(void *ctx, int status, const uint8_t *reply, size_t len);

struct dns_forward;

/** Create a forwarder on @loop; @cfg may be NULL. Returns 0 or -ENOMEM. */
int dns_forward_new(struct dns_forward **out, uv_loop_t *loop,
		    const struct dns_forward_config *cfg);

/**
 * Cancel every query (each callback gets -ECANCELED, synchronously) and free
 * the forwarder once its handles have closed on the loop. NULL is ignored.
 */
void dns_forward_free(struct dns_forward *f);

/**
 * Send the DNS query @query/@len to @upstreams (@n of them; port 0 means
 * 53), copying both, and call @cb with the outcome. *@id (if not NULL)
 * receives a handle for dns_forward_cancel(). Returns 0, -EINVAL (no
 * upstream, not a query), -EAGAIN (too many in flight) or -ENOMEM; the
 * callback is called only after a 0 return, and never from within this call.
 */
int dns_forward_query(struct dns_forward *f, const uint8_t *query, size_t len,
		      const struct ip_endpoint *upstreams, size_t n, dns_forward_cb *cb, void *ctx,
		      uint64_t *id);

/** Cancel query @id without calling its callback. Returns 0 or -ENOENT. */
int dns_forward_cancel(struct dns_forward *f, uint64_t id);

/** Queries in flight. */
unsigned int dns_forward_inflight(const struct dns_forward *f);

/** Counters since creation. */
void dns_forward_get_stats(const struct dns_forward *f, struct dns_forward_stats *out);

#endif
