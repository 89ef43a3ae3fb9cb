/* SPDX-License-Identifier: MIT */
/*
 * The path state machine magicsock keeps for each peer: its candidate
 * addresses, the disco pings in flight, the best direct address and how long
 * it is trusted. It does no I/O and reads no clock: time comes in as an
 * argument (microseconds on a monotonic clock, never 0), and sends, our own
 * endpoints and randomness go out through struct ms_endpoint_ops, so unit
 * tests drive it with a fake clock.
 *
 * Policy (Tailscale's timers, docs/architecture.md "magicsock"):
 *  - With no trusted direct address, WireGuard packets go through the relay
 *    and, at most once per MS_PING_INTERVAL_US per candidate, a disco ping
 *    goes to every candidate plus one call-me-maybe through the relay.
 *  - A pong makes the pinged address the best one if ms_better_addr() says
 *    so (or nothing better is trusted); each pong from the best address
 *    trusts it for MS_TRUST_UDP_US. While trusted, packets go only there.
 *  - Past the trust window, packets go to both the old address and the relay
 *    and probing resumes; an address untrusted for MS_BEST_STALE_US is
 *    forgotten.
 *  - While packets are being sent (within MS_SESSION_ACTIVE_US), the best
 *    address is pinged every MS_HEARTBEAT_INTERVAL_US; with a trusted path
 *    all candidates are pinged again every MS_UPGRADE_INTERVAL_US, unless the
 *    path is already faster than MS_GOOD_ENOUGH_LATENCY_US.
 *  - A ping that arrives over UDP is answered to its source, which becomes a
 *    (peer-reflexive) candidate; without a trusted path it is pinged back at
 *    once: the peer's ping just opened its NAT towards us. A call-me-maybe
 *    (relay only) adds the sender's endpoints and pings them all at once.
 *
 * The struct is public so magicsock can embed it; outside endpoint.c treat
 * every member as read-only.
 */
#ifndef MESH_MAGICSOCK_ENDPOINT_H
#define MESH_MAGICSOCK_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "magicsock/disco.h"
#include "util/ipaddr.h"

/* Timers, in microseconds. */
enum ms_endpoint_timing {
	MS_HEARTBEAT_INTERVAL_US = 3 * 1000 * 1000,
	MS_TRUST_UDP_US = 6500 * 1000,
	MS_SESSION_ACTIVE_US = 45 * 1000 * 1000,
	MS_PING_INTERVAL_US = 5 * 1000 * 1000, /* per candidate, reset by call-me-maybe */
	MS_PING_TIMEOUT_US = 5 * 1000 * 1000,
	MS_UPGRADE_INTERVAL_US = 60 * 1000 * 1000,
	MS_GOOD_ENOUGH_LATENCY_US = 5 * 1000,
	MS_CALL_ME_MAYBE_INTERVAL_US = 5 * 1000 * 1000,
	MS_BEST_STALE_US = 60 * 1000 * 1000, /* untrusted this long past the window: forget */
};

enum ms_endpoint_limits {
	MS_MAX_CANDIDATES = 32,
	MS_MAX_NETMAP_CANDIDATES = 24, /* the rest is kept for learned addresses */
	MS_MAX_PENDING_PINGS = 32,
	MS_RX_TXID_HISTORY = 16, /* recent ping txids, to drop replays */
};

/* Where a candidate came from (bit flags: one address may have several). */
enum ms_candidate_source {
	MS_CAND_NETMAP = 1 << 0,	 /* the peer's endpoints in the netmap */
	MS_CAND_CALL_ME_MAYBE = 1 << 1,	 /* listed in its call-me-maybe */
	MS_CAND_PEER_REFLEXIVE = 1 << 2, /* a ping came from it */
	MS_CAND_LEARNED = MS_CAND_CALL_ME_MAYBE | MS_CAND_PEER_REFLEXIVE,
};

struct ms_candidate {
	struct ip_endpoint addr;
	uint8_t sources;       /* enum ms_candidate_source */
	uint64_t learned_us;   /* last call-me-maybe or ping naming it */
	uint64_t last_ping_us; /* 0 = never pinged */
	uint64_t last_pong_us;
	uint32_t latency_us; /* round trip of the last pong, 0 = none */
};

enum ms_ping_purpose {
	MS_PING_DISCOVERY,
	MS_PING_HEARTBEAT,
	MS_PING_CLI,
};

struct ms_pending_ping {
	uint8_t txid[DISCO_TXID_LEN];
	bool used;
	bool via_relay;
	uint8_t purpose; /* enum ms_ping_purpose */
	struct ip_endpoint dst;
	uint64_t sent_us;
	void *cookie; /* MS_PING_CLI: the caller's, handed back in ping_result */
};

/* A direct address and how fast it answered; an unset family is "no address". */
struct ms_addr_quality {
	struct ip_endpoint addr;
	uint32_t latency_us;
};

/* Which way ms_endpoint_send() wants a packet to go (bit flags). */
enum ms_send_flags {
	MS_SEND_UDP = 1 << 0,	/* to the address it filled in */
	MS_SEND_RELAY = 1 << 1, /* through the peer's relay region */
};

enum ms_path {
	MS_PATH_NONE = 0,
	MS_PATH_RELAY,
	MS_PATH_DIRECT,
};

struct ms_endpoint_path {
	enum ms_path path; /* DIRECT only while trusted; otherwise RELAY */
	struct ip_endpoint addr;
	uint32_t latency_us;
};

struct ms_ping_result {
	int err;     /* 0, -ETIMEDOUT, or -ECANCELED (the endpoint went away) */
	bool direct; /* the pong came over UDP from @endpoint; else through the relay */
	struct ip_endpoint endpoint;
	uint32_t latency_us;
};

struct ms_endpoint_stats {
	uint64_t pings_sent, pongs_received, pings_received, pongs_sent;
	uint64_t call_me_maybe_sent, call_me_maybe_received;
	uint64_t ping_timeouts;
	uint64_t pong_unknown; /* no ping in flight with that txid: late, replayed or forged */
	uint64_t ping_replayed;
	uint64_t path_changes;
};

struct ms_endpoint;

struct ms_endpoint_ops {
	/* Send a disco message to @dst over UDP (the host fills in ping.node_key). 0 or -errno. */
	int (*send_udp)(void *ctx, struct ms_endpoint *ep, const struct ip_endpoint *dst,
			struct disco_msg *msg);
	/* Send a disco message through the peer's relay region. 0 or -errno. */
	int (*send_relay)(void *ctx, struct ms_endpoint *ep, struct disco_msg *msg);
	/* Our own endpoints for a call-me-maybe; returns how many were written. */
	unsigned int (*local_endpoints)(void *ctx, struct ip_endpoint *out, unsigned int max);
	/* Fill @buf with @len random bytes (ping txids). */
	void (*random)(void *ctx, uint8_t *buf, size_t len);
	/* A ping from ms_endpoint_cli_ping() was answered, timed out or cancelled. */
	void (*ping_result)(void *ctx, struct ms_endpoint *ep, void *cookie,
			    const struct ms_ping_result *r);
};

struct ms_endpoint {
	const struct ms_endpoint_ops *ops;
	void *ctx;
	uint8_t node_key[DISCO_KEY_LEN];
	bool disco; /* the peer has a disco key: we may probe */
	struct ms_candidate cands[MS_MAX_CANDIDATES];
	unsigned int ncands;
	struct ms_pending_ping pings[MS_MAX_PENDING_PINGS];
	uint8_t rx_txids[MS_RX_TXID_HISTORY][DISCO_TXID_LEN];
	unsigned int rx_txid_next;
	struct ms_addr_quality best;
	uint64_t trust_until_us;
	bool trusted_logged;	    /* the last path we logged was direct */
	uint64_t last_send_us;	    /* 0 = never */
	uint64_t last_full_ping_us; /* 0 = never */
	uint64_t next_probe_us;	    /* no candidate may be pinged before this */
	uint64_t next_heartbeat_us; /* 0 = heartbeats off (idle) */
	uint64_t last_call_me_maybe_us;
	struct ms_endpoint_stats stats;
};

/**
 * Initialise @ep for the peer with WireGuard key @node_key. Without
 * @has_disco the peer cannot be probed and every packet goes through the
 * relay. @ops and @ctx must outlive the endpoint.
 */
void ms_endpoint_init(struct ms_endpoint *ep, const struct ms_endpoint_ops *ops, void *ctx,
		      const uint8_t node_key[DISCO_KEY_LEN], bool has_disco);

/**
 * Forget everything but the candidates (the peer's disco key changed, or it
 * got one): pings in flight are cancelled, the best address dropped.
 */
void ms_endpoint_reset(struct ms_endpoint *ep, bool has_disco);

/** Cancel the CLI pings in flight (ping_result with -ECANCELED); @ep may then be freed. */
void ms_endpoint_fini(struct ms_endpoint *ep);

/**
 * Replace the peer's netmap endpoints with @addrs (duplicates, unset
 * addresses and port 0 are skipped; at most MS_MAX_NETMAP_CANDIDATES are
 * kept). Learned candidates stay. New candidates may be pinged at once.
 */
void ms_endpoint_set_candidates(struct ms_endpoint *ep, uint64_t now,
				const struct ip_endpoint *addrs, size_t n);

/**
 * A WireGuard packet is to be sent to the peer: note the activity, start
 * probing if wanted, and say where it goes (enum ms_send_flags; with
 * MS_SEND_UDP, *@udp_dst is the address).
 */
unsigned int ms_endpoint_send(struct ms_endpoint *ep, uint64_t now, struct ip_endpoint *udp_dst);

/**
 * A disco ping from the peer arrived over UDP from @src, or through the
 * relay if @src is NULL: answer it, learn @src. Returns 0, or -EALREADY for
 * a replayed txid (dropped).
 */
int ms_endpoint_handle_ping(struct ms_endpoint *ep, uint64_t now, const struct ip_endpoint *src,
			    const struct disco_msg *m);

/**
 * A disco pong arrived (over UDP from @src, or through the relay if @src is
 * NULL). Returns 0, or -ENOENT when no ping with its txid is in flight
 * (dropped: late, replayed or unsolicited).
 */
int ms_endpoint_handle_pong(struct ms_endpoint *ep, uint64_t now, const struct ip_endpoint *src,
			    const struct disco_msg *m);

/** A call-me-maybe arrived through the relay: learn its endpoints and ping them all now. */
void ms_endpoint_handle_call_me_maybe(struct ms_endpoint *ep, uint64_t now,
				      const struct disco_msg *m);

/** Run the timers due at @now: ping timeouts, heartbeats, re-probing, expiry. */
void ms_endpoint_tick(struct ms_endpoint *ep, uint64_t now);

/** When ms_endpoint_tick() next has work to do, or 0 for "not until something happens". */
uint64_t ms_endpoint_deadline(const struct ms_endpoint *ep);

/**
 * Send a disco ping on behalf of `meshctl ping`: to the best address while
 * it is trusted, else through the relay (and probe all candidates if
 * wanted). The outcome arrives through ops->ping_result with @cookie, never
 * from inside this call. Returns 0, -ENOTCONN (the peer has no disco key),
 * or the send's error (then no result follows).
 */
int ms_endpoint_cli_ping(struct ms_endpoint *ep, uint64_t now, void *cookie);

/** The path packets take at @now (DIRECT only while the best address is trusted). */
void ms_endpoint_get_path(const struct ms_endpoint *ep, uint64_t now, struct ms_endpoint_path *out);

/**
 * Our network changed (addresses, routes, a new socket): stop trusting the
 * best address and make every candidate pingable again, so the next packet
 * re-probes.
 */
void ms_endpoint_network_changed(struct ms_endpoint *ep, uint64_t now);

/**
 * Our endpoints changed (a STUN result): while packets flow and no direct
 * path is trusted, tell the peer at once with a call-me-maybe.
 */
void ms_endpoint_local_endpoints_changed(struct ms_endpoint *ep, uint64_t now);

/**
 * Tailscale's betterAddr(): true if @a should replace @b. An unset address
 * loses; latency counts as the percentage by which the faster one wins,
 * plus bonuses for loopback (+50), link-local (+30), private (+20) and IPv6
 * (+10); an improvement of 1 point or less over a pointless @b is ignored.
 */
bool ms_better_addr(const struct ms_addr_quality *a, const struct ms_addr_quality *b);

#endif
