/* SPDX-License-Identifier: MIT */
/*
 * MagicDNS: the resolver meshd answers at 100.100.100.100 and
 * fd7a:115c:a1e0::53. Pure logic, no I/O: the caller feeds it whole IP
 * packets taken off the TUN (or bare DNS messages) and writes back what it
 * produces; queries it does not own are handed back for forwarding.
 *
 * What it answers (records come from the netmap via magicdns_set_records()):
 *  - A/AAAA (and ANY) for every host's name.<base_domain> and for the
 *    config's extra records, case-insensitively, TTL `ttl` (5 s);
 *  - PTR for the addresses of those names (v4 under in-addr.arpa, v6 as
 *    nibbles under ip6.arpa);
 *  - NXDOMAIN with the zone's SOA in authority for unknown names under the
 *    base domain and unknown addresses inside the reverse prefixes (the mesh
 *    ranges 100.64.0.0/10 and fd7a:115c:a1e0::/48 by default), and for names
 *    under a split-DNS route that has no resolvers ("handled locally");
 *  - NOERROR with no answer ("no data", SOA in authority) for a known name
 *    and a type it lacks;
 *  - FORMERR for a malformed query whose header parses, NOTIMP for opcodes
 *    other than QUERY, BADVERS for EDNS versions above 0; SERVFAIL when a
 *    query should be forwarded but there is no upstream at all.
 * Everything else is "forward": the query goes unchanged to the resolvers
 * of the longest matching split-DNS route, else to the default upstreams.
 *
 * Responses echo the question as asked, copy RD and CD, set AA for our own
 * data and RA, and carry an OPT record (our size, the client's DO bit) when
 * the query had one. Over UDP a response is limited to the client's EDNS
 * size (512 without EDNS) and to max_udp_payload (so it fits the TUN MTU);
 * one that does not fit is sent truncated (header, question, OPT, TC set)
 * and the client retries over TCP.
 *
 * TCP: a minimal responder over raw segments (magicdns_tcp.c), one small
 * state machine per connection, at most `tcp_conns` connections (idle ones
 * are reclaimed for a new SYN; when all are busy the SYN gets a RST). Its limits:
 * no window scaling, SACK or timestamps; no retransmission timer: data we
 * sent is resent only when the client retransmits (its query, SYN or FIN),
 * otherwise the client's own timeout retries the query; queries up to
 * MAGICDNS_TCP_RX_MAX bytes, responses up to MAGICDNS_TCP_TX_MAX bytes in
 * flight per connection; a connection idle for MAGICDNS_TCP_IDLE_MS may be
 * reclaimed without notice (the client then gets a RST).
 *
 * Not thread-safe: one event loop owns a struct magicdns.
 */
#ifndef MESH_DNS_MAGICDNS_H
#define MESH_DNS_MAGICDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

enum magicdns_limits {
	MAGICDNS_TTL_DEFAULT = 5,
	MAGICDNS_NEGATIVE_TTL_DEFAULT = 10,
	/* The largest response we build or relay (as Tailscale's maxResponseBytes). */
	MAGICDNS_RESPONSE_MAX = 4096,
	/* Default UDP payload limit: a 1280-byte MTU minus the IPv6 and UDP headers. */
	MAGICDNS_UDP_PAYLOAD_DEFAULT = 1232,
	MAGICDNS_TCP_CONNS_DEFAULT = 16,
	MAGICDNS_TCP_RX_MAX = 2 + 1024,
	MAGICDNS_TCP_TX_MAX = 2 * (2 + MAGICDNS_RESPONSE_MAX),
	MAGICDNS_TCP_IDLE_MS = 10000,
	/* What one call may produce (see struct magicdns_output). */
	MAGICDNS_OUT_PACKETS = 16,
	MAGICDNS_OUT_FORWARDS = 4,
	/* A buffer for struct magicdns_output that is always large enough. */
	MAGICDNS_OUT_BUF = 2 * 65536,
};

/* Verdicts of magicdns_answer(). */
enum magicdns_verdict {
	MAGICDNS_DROP = 0,     /* not a query we can answer at all (no header, a response) */
	MAGICDNS_ANSWERED = 1, /* the response is in the output buffer */
	MAGICDNS_FORWARD = 2,  /* not ours: send the query to the upstreams given */
};

/* A node: its name (a label, made name.<base_domain>, or a full name) and addresses. */
struct magicdns_host {
	const char *name;
	const struct ip_addr *addrs;
	size_t naddrs;
};

/* An extra record: @name (fully qualified) -> @addr (A for IPv4, AAAA for IPv6). */
struct magicdns_record {
	const char *name;
	struct ip_addr addr;
};

/* Split DNS: names under @domain go to @resolvers; none means "answer locally". */
struct magicdns_route {
	const char *domain;
	const struct ip_endpoint *resolvers;
	size_t nresolvers;
};

/*
 * Everything magicdns_set_records() takes. Strings and arrays are copied.
 * Resolver endpoints with port 0 mean port 53.
 */
struct magicdns_config {
	const char *base_domain; /* "mesh.internal"; NULL: no MagicDNS zone */
	const struct magicdns_host *hosts;
	size_t nhosts;
	const struct magicdns_record *records;
	size_t nrecords;
	const struct magicdns_route *routes;
	size_t nroutes;
	const struct ip_endpoint *upstreams; /* default resolvers */
	size_t nupstreams;
	/* Reverse zones we are authoritative for; NULL: 100.64.0.0/10 and fd7a:115c:a1e0::/48. */
	const struct ip_prefix *reverse_prefixes;
	size_t nreverse_prefixes;
	uint32_t ttl;	       /* 0: MAGICDNS_TTL_DEFAULT */
	uint32_t negative_ttl; /* 0: MAGICDNS_NEGATIVE_TTL_DEFAULT */
};

struct magicdns_options {
	uint16_t max_udp_payload; /* 0: MAGICDNS_UDP_PAYLOAD_DEFAULT; at least 512 */
	unsigned int tcp_conns;	  /* 0: MAGICDNS_TCP_CONNS_DEFAULT */
};

/* Where a forwarded query goes; valid until the next magicdns_set_records(). */
struct magicdns_upstreams {
	const struct ip_endpoint *addrs;
	size_t n;
};

/* Who asked a query that is being forwarded: everything needed to answer later. */
struct magicdns_client {
	uint8_t ipproto;	   /* IPPROTO_UDP or IPPROTO_TCP */
	struct ip_endpoint client; /* the querier's address and port */
	struct ip_endpoint server; /* the service address and port it asked */
	uint16_t udp_limit;	   /* UDP: the largest response payload it accepts */
	uint32_t tcp_id;	   /* TCP: the connection (slot and generation) */
};

struct magicdns_forward {
	struct magicdns_client client;
	const uint8_t *query; /* in the output buffer */
	size_t len;
	struct magicdns_upstreams upstreams;
};

/*
 * What one packet produced: IP packets to write to the TUN, in order, and
 * queries to forward. Packets and forwarded queries live in @buf, which the
 * caller provides (MAGICDNS_OUT_BUF bytes are always enough) and must not
 * reuse before it has consumed them.
 */
struct magicdns_output {
	uint8_t *buf;
	size_t cap, used;
	unsigned int npackets;
	struct {
		uint8_t *data;
		size_t len;
	} packets[MAGICDNS_OUT_PACKETS];
	unsigned int nforwards;
	struct magicdns_forward forwards[MAGICDNS_OUT_FORWARDS];
};

struct magicdns_stats {
	uint64_t queries, answered, forwarded, nxdomain, truncated, dropped;
	uint64_t tcp_conns, tcp_resets;
};

struct magicdns;

/** The service addresses: 100.100.100.100 (@v6 false) or fd7a:115c:a1e0::53. */
void magicdns_service_addr(struct ip_addr *out, bool v6);

/**
 * Allocate a resolver with an empty table (every query is forwarded, and
 * with no upstreams answered SERVFAIL). @opt may be NULL for the defaults.
 * Returns 0, -EINVAL or -ENOMEM.
 */
int magicdns_new(struct magicdns **out, const struct magicdns_options *opt);

/** Free @m (NULL is ignored); pending TCP connections are forgotten. */
void magicdns_free(struct magicdns *m);

/**
 * Replace the record table, routes and upstreams with @cfg, atomically: on
 * failure the old table stays. Names that are not valid domain names are
 * skipped with a warning; addresses under one name are merged and
 * deduplicated. Returns 0, -EINVAL (bad base domain or route domain) or
 * -ENOMEM.
 */
int magicdns_set_records(struct magicdns *m, const struct magicdns_config *cfg);

/**
 * Answer the DNS message @query/@qlen as described atop this file, writing
 * the response into @resp (@cap bytes; MAGICDNS_RESPONSE_MAX is enough) and
 * its length into *@resp_len. @tcp selects the transport's size limit.
 * For MAGICDNS_FORWARD, *@up tells where to (and nothing is written to
 * @resp); @udp_limit (may be NULL) receives the client's UDP size limit.
 * Returns an enum magicdns_verdict.
 */
int magicdns_answer(struct magicdns *m, const uint8_t *query, size_t qlen, bool tcp, uint8_t *resp,
		    size_t cap, size_t *resp_len, struct magicdns_upstreams *up,
		    uint16_t *udp_limit);

/** Prepare @out to collect results into @buf (@cap bytes). */
void magicdns_output_init(struct magicdns_output *out, uint8_t *buf, size_t cap);

/** True if the IP packet @pkt/@len is addressed to a MagicDNS service address. */
bool magicdns_is_service_packet(const uint8_t *pkt, size_t len);

/**
 * Handle one IPv4 or IPv6 packet @pkt/@len from the TUN addressed to a
 * service address: UDP to port 53 is answered or handed back for
 * forwarding; TCP to port 53 drives the connection's state machine (at
 * @now_ms, a monotonic clock). Results are appended to @out. Returns 0
 * (possibly with nothing to send), -EBADMSG for a malformed or
 * bad-checksum packet, -ENOENT for one not addressed to us (or another
 * port, protocol or a fragment), -ENOBUFS if @out is full.
 */
int magicdns_handle_packet(struct magicdns *m, const uint8_t *pkt, size_t len, uint64_t now_ms,
			   struct magicdns_output *out);

/**
 * Deliver the response @dns/@len to a forwarded query from @client (the
 * upstream's reply, or a SERVFAIL built with dnsmsg_build_error()): as a
 * UDP packet, truncated to the client's limit if needed, or as data on its
 * TCP connection. Returns 0, -ENOENT if the TCP connection is gone, -EBADMSG
 * if @dns is not a valid DNS message, or -ENOBUFS.
 */
int magicdns_handle_reply(struct magicdns *m, const struct magicdns_client *client,
			  const uint8_t *dns, size_t len, uint64_t now_ms,
			  struct magicdns_output *out);

/** Forget TCP connections idle for longer than MAGICDNS_TCP_IDLE_MS at @now_ms. */
void magicdns_expire(struct magicdns *m, uint64_t now_ms);

/** Counters since magicdns_new(). */
void magicdns_get_stats(const struct magicdns *m, struct magicdns_stats *out);

#endif
