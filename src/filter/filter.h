/* SPDX-License-Identifier: MIT */
/*
 * meshd's packet filter: what comes out of the tunnel is checked before it is
 * written to the TUN; what goes into the tunnel is never dropped, only noted,
 * so that replies to it come back. docs/architecture.md ("filter") has the
 * whole contract; in short, an inbound packet is accepted when
 *
 *  - no filter has been set (has_filter false: as before any netmap), or
 *  - its destination is one of the node's addresses or routes, and
 *    - it belongs to what this node started: a TCP segment that is not a bare
 *      SYN, a UDP/SCTP datagram or ICMP echo reply matching a flow in the flow
 *      table, an ICMP error quoting a packet of such a flow, a later fragment
 *      of a datagram whose first fragment was accepted; or
 *    - it starts something new and a rule lets it in (filter/ruleset.h: the
 *      same verdict as the policy engine's policy_filter_match()), and shields
 *      are down.
 *
 * Everything else is dropped, with the reason counted. Single-threaded, like
 * the loop that owns it. No allocation per packet: only filter_set_*() allocate.
 */
#ifndef MESH_FILTER_FILTER_H
#define MESH_FILTER_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/msg.h"
#include "util/ipaddr.h"

/* Why a packet passed or not; the accepting reasons come first. */
enum filter_reason {
	FILTER_ACCEPT_NO_FILTER = 0, /* no filter from control yet */
	FILTER_ACCEPT_RULE,	     /* new, and a rule lets it in */
	FILTER_ACCEPT_FLOW,	     /* reply to a flow this node started */
	FILTER_ACCEPT_TCP,	     /* TCP, not a bare SYN: part of a connection */
	FILTER_ACCEPT_ICMP_ERROR,    /* an ICMP error about a packet of a known flow */
	FILTER_ACCEPT_FRAGMENT,	     /* a later fragment of an accepted first fragment */
	FILTER_DROP_MALFORMED,	     /* not a packet the filter can read (filter/ippkt.h) */
	FILTER_DROP_BAD_DST,	/* to multicast, broadcast, loopback, unspecified, link-local */
	FILTER_DROP_NOT_LOCAL,	/* to an address this node neither has nor routes */
	FILTER_DROP_NO_RULE,	/* new, and no rule lets it in */
	FILTER_DROP_SHIELDS_UP, /* new, a rule would let it in, but shields are up */
	FILTER_DROP_NO_FLOW,	/* an echo reply or ICMP error for no known flow */
	FILTER_DROP_FRAGMENT,	/* a later fragment of no accepted first fragment */
	FILTER_REASON_COUNT,
};

/* Flow timeouts in milliseconds; each packet of a flow restarts its timer. */
enum filter_timeouts {
	FILTER_TIMEOUT_UDP = 120 * 1000,		  /* UDP and SCTP */
	FILTER_TIMEOUT_ICMP_ECHO = 30 * 1000,		  /* from the last echo request */
	FILTER_TIMEOUT_TCP_OPENING = 120 * 1000,	  /* after our SYN */
	FILTER_TIMEOUT_TCP_ESTABLISHED = 2 * 3600 * 1000, /* after our last segment */
	FILTER_TIMEOUT_TCP_CLOSING = 120 * 1000,	  /* after our FIN */
	FILTER_TIMEOUT_TCP_RESET = 10 * 1000,		  /* after our RST */
	FILTER_TIMEOUT_FRAGMENT = 60 * 1000,		  /* IPv6's reassembly time */
};

enum filter_defaults {
	FILTER_DEFAULT_FLOWS = 8192,
	FILTER_DEFAULT_FRAGMENTS = 256, /* datagrams in reassembly at once */
};

struct filter_config {
	size_t max_flows;     /* 0: FILTER_DEFAULT_FLOWS */
	size_t max_fragments; /* 0: FILTER_DEFAULT_FRAGMENTS */
	/* Milliseconds of a monotonic clock; NULL: CLOCK_MONOTONIC_COARSE. */
	uint64_t (*now_ms)(void *ctx);
	void *ctx;
};

struct filter_counters {
	uint64_t inbound[FILTER_REASON_COUNT]; /* packets, by verdict */
	uint64_t outbound_tracked;	       /* outbound packets that opened or renewed a flow */
	uint64_t outbound_untracked; /* outbound packets nothing answers (or unreadable) */
	uint64_t flows_evicted;	     /* live flows forgotten to make room */
	size_t flows;		     /* flows in the table */
	size_t max_flows;
	size_t rules;  /* as last set */
	size_t groups; /* distinct source sets among them */
	bool has_filter;
	bool shields_up;
};

struct filter;

/**
 * Create a filter with no rules (has_filter false: everything passes), no
 * addresses and shields down. @cfg may be NULL for the defaults. Returns 0,
 * -EINVAL for a table size over FLOWTABLE_MAX_CAPACITY, or -ENOMEM.
 */
int filter_create(struct filter **out, const struct filter_config *cfg);

/** Free @f. NULL is allowed. */
void filter_destroy(struct filter *f);

/**
 * Replace the rules with the @n @rules of a netmap. @has_filter false means
 * the netmap carries no filter: allow everything. True with @n = 0 denies
 * every new inbound packet. Flows survive. On failure (-EINVAL for a bad
 * prefix or port range, -ENOMEM) the filter denies every new inbound packet
 * until rules are set successfully: it fails closed, not open.
 */
int filter_set_rules(struct filter *f, const struct ctl_filter_rule *rules, size_t n,
		     bool has_filter);

/**
 * Set what inbound packets may be addressed to: the node's own @addrs and the
 * @routes it serves (approved subnet and exit routes). A packet to anything
 * else is dropped (FILTER_DROP_NOT_LOCAL) whenever a filter is set: the tunnel
 * must not reach past what the node advertised. Returns 0, -EINVAL for an
 * address without a family or a bad prefix length, or -ENOMEM; on failure no
 * destination is local until the next success.
 */
int filter_set_addresses(struct filter *f, const struct ip_addr *addrs, size_t naddrs,
			 const struct ip_prefix *routes, size_t nroutes);

/** Shields up: drop every new inbound connection, rules or not; replies still pass. */
void filter_set_shields_up(struct filter *f, bool on);

/**
 * The verdict on one IP packet of @len bytes at @pkt that came out of the
 * tunnel (decrypted, before the TUN write). filter_reason_accepts() tells
 * whether to deliver it. Counted in the inbound counters.
 */
enum filter_reason filter_check_inbound(struct filter *f, const uint8_t *pkt, size_t len);

/**
 * Note one IP packet of @len bytes at @pkt going into the tunnel (read from
 * the TUN): TCP, UDP and SCTP packets open or renew the flow of their
 * addresses and ports, ICMP echo requests that of their identifier. Outbound
 * traffic is never dropped.
 */
void filter_note_outbound(struct filter *f, const uint8_t *pkt, size_t len);

/** Copy @f's counters into @out. */
void filter_get_counters(const struct filter *f, struct filter_counters *out);

/** True if @r means "deliver the packet". */
bool filter_reason_accepts(enum filter_reason r);

/** A short name for @r ("no-rule", "reply", ...), for logs and status. */
const char *filter_reason_name(enum filter_reason r);

#endif
