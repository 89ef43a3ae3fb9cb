/* SPDX-License-Identifier: MIT */
/*
 * netcheck: what the network looks like from magicsock's socket. One STUN
 * Binding request (retransmitted up to NETCHECK_TRIES times) goes to every
 * relay region's STUN server, over IPv4 and IPv6 where the region has an
 * address; the answers give the latency per region, our reflexive (public)
 * addresses, and whether the NAT maps us to a different port for each
 * destination ("hard" or symmetric NAT), which makes STUN addresses useless
 * to peers.
 *
 * Like the endpoint state machine it does no I/O and reads no clock: the
 * caller passes the time in microseconds, sends through ops->send and feeds
 * STUN answers from the shared socket to netcheck_handle_stun(). A run ends
 * when every server has answered, when NETCHECK_TIMEOUT_US has passed, or a
 * grace period after the first answer (max(NETCHECK_GRACE_MIN_US, 3 x that
 * latency)): a region slower than that would not be picked anyway.
 */
#ifndef MESH_MAGICSOCK_NETCHECK_H
#define MESH_MAGICSOCK_NETCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "magicsock/stun.h"
#include "util/ipaddr.h"

enum netcheck_limits {
	NETCHECK_MAX_REGIONS = 256,
	NETCHECK_MAX_SERVERS = 2 * NETCHECK_MAX_REGIONS, /* one IPv4 + one IPv6 per region */
	NETCHECK_TRIES = 3,
	NETCHECK_CODE_LEN = 32,
};

enum netcheck_timing {
	NETCHECK_TIMEOUT_US = 3 * 1000 * 1000,
	NETCHECK_GRACE_MIN_US = 500 * 1000,
	NETCHECK_RETRY1_US = 200 * 1000, /* second try this long after the first */
	NETCHECK_RETRY2_US = 600 * 1000, /* third try */
	/* Home stickiness (Tailscale's): keep the old home unless the new one wins by both. */
	NETCHECK_HOME_ABS_DIFF_US = 10 * 1000,
};

/** One STUN server to probe. */
struct netcheck_server {
	uint32_t region_id;
	const char *region_code; /* copied into the report; may be NULL */
	struct ip_endpoint addr;
};

struct netcheck_region_result {
	uint32_t region_id;
	char code[NETCHECK_CODE_LEN + 1];
	uint32_t latency_us; /* best round trip, 0 = no answer */
	bool v4, v6;	     /* answered over this family */
};

struct netcheck_report {
	bool udp;	    /* some STUN server answered */
	bool ipv4, ipv6;    /* answers came over this family */
	bool has_global_v4; /* our IPv4 address and port as the fastest server saw them */
	struct ip_endpoint global_v4;
	bool has_global_v6;
	struct ip_endpoint global_v6;
	bool mapping_varies_known; /* at least two IPv4 servers answered */
	bool mapping_varies;	   /* ... and saw different addresses: hard NAT */
	uint32_t preferred_region; /* filled in by the caller (netcheck_pick_home) */
	uint64_t duration_us;
	unsigned int nregions;
	struct netcheck_region_result regions[NETCHECK_MAX_REGIONS];
};

struct netcheck_ops {
	/* Send @len bytes to @dst from the shared socket. 0 or -errno (a failure is a lost try). */
	int (*send)(void *ctx, const struct ip_endpoint *dst, const uint8_t *buf, size_t len);
	void (*random)(void *ctx, uint8_t *buf, size_t len);
	/* The run finished; @r stays valid until the next netcheck_start(). */
	void (*done)(void *ctx, const struct netcheck_report *r);
};

struct netcheck_probe {
	struct netcheck_server server;
	uint8_t txids[NETCHECK_TRIES][STUN_TXID_LEN];
	uint64_t sent_us[NETCHECK_TRIES]; /* 0 = not sent yet */
	bool answered;
	uint32_t latency_us;
	struct ip_endpoint mapped;
};

struct netcheck {
	const struct netcheck_ops *ops;
	void *ctx;
	bool running;
	uint64_t start_us;
	uint64_t end_us; /* the run ends by this time */
	unsigned int nprobes, nanswered;
	struct netcheck_probe probes[NETCHECK_MAX_SERVERS];
	struct netcheck_report report;
	uint64_t stray; /* STUN answers that matched no probe, or came from the wrong address */
};

/** Prepare @nc (idle, empty report). @ops and @ctx must outlive it. */
void netcheck_init(struct netcheck *nc, const struct netcheck_ops *ops, void *ctx);

/**
 * Start a run over @servers (at most NETCHECK_MAX_SERVERS are used; servers
 * with an unset address are skipped), sending the first try to each at once.
 * A run in progress is abandoned. With no server the run finishes at once
 * (ops->done is called from inside this call). Returns 0.
 */
int netcheck_start(struct netcheck *nc, uint64_t now, const struct netcheck_server *servers,
		   size_t n);

/**
 * Offer a parsed STUN message that arrived from @src. Returns true if it
 * answered one of our probes (then it is consumed, and the run may finish
 * from inside this call), false if it is not ours.
 */
bool netcheck_handle_stun(struct netcheck *nc, uint64_t now, const struct stun_message *msg,
			  const struct ip_endpoint *src);

/** Send the retries due at @now and finish the run if its time is up. */
void netcheck_tick(struct netcheck *nc, uint64_t now);

/** When netcheck_tick() next has work, or 0 when no run is in progress. */
uint64_t netcheck_deadline(const struct netcheck *nc);

/**
 * The home region for report @r: the lowest latency, but the previous home
 * @old_home stays while it answered and the best is not better by both
 * NETCHECK_HOME_ABS_DIFF_US and a third. With no latency at all @old_home is
 * kept. Returns the region id, 0 for none.
 */
uint32_t netcheck_pick_home(const struct netcheck_report *r, uint32_t old_home);

/** The result for @region_id in @r, or NULL. */
const struct netcheck_region_result *netcheck_region(const struct netcheck_report *r,
						     uint32_t region_id);

#endif
