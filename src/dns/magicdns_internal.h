/* SPDX-License-Identifier: MIT */
/*
 * MagicDNS internals shared by magicdns.c (record table, answers),
 * magicdns_packet.c (IP/UDP side, output) and magicdns_tcp.c (the TCP
 * responder). Not for use outside src/dns/.
 */
#ifndef MESH_DNS_MAGICDNS_INTERNAL_H
#define MESH_DNS_MAGICDNS_INTERNAL_H

#include "dns/dnsmsg.h"
#include "dns/dnspkt.h"
#include "dns/magicdns.h"

/* One name and its addresses (a range of table.addrs). */
struct md_entry {
	struct dns_name name; /* lowercased */
	uint32_t addr_first, naddrs;
	bool is_host; /* a node (preferred for PTR) rather than an extra record */
};

/* Address -> entry, for PTR. */
struct md_rev {
	struct ip_addr addr;
	uint32_t entry;
};

/* A zone we answer negatively for: the base domain or a reverse prefix. */
struct md_zone {
	struct dns_name apex;
	struct ip_prefix prefix; /* reverse zones only */
};

struct md_route {
	struct dns_name domain;
	uint32_t first, n; /* range of table.resolvers; n == 0: answer locally */
};

struct md_table {
	struct md_entry *entries; /* sorted by dns_name_compare */
	size_t nentries;
	struct ip_addr *addrs;
	size_t naddrs;
	struct md_rev *rev; /* sorted by address, one per address */
	size_t nrev;
	bool has_base;
	struct md_zone base;
	struct md_zone *reverse;
	size_t nreverse;
	struct md_route *routes;
	size_t nroutes;
	struct ip_endpoint *resolvers; /* route resolvers, then the default upstreams */
	size_t nresolvers;
	uint32_t default_first, ndefault;
	uint32_t ttl, negative_ttl, serial;
};

enum md_tcp_state {
	MD_TCP_FREE = 0,
	MD_TCP_SYN_RCVD,
	MD_TCP_ESTABLISHED,
	MD_TCP_CLOSE_WAIT, /* the client sent FIN; we still owe answers */
	MD_TCP_LAST_ACK,   /* our FIN is out, waiting for its ACK */
};

struct md_tcp_conn {
	enum md_tcp_state state;
	uint16_t gen; /* bumped on every reuse: stale forwarded replies are dropped */
	struct ip_endpoint client, server;
	uint32_t iss, snd_una, snd_nxt, rcv_nxt;
	uint16_t mss, peer_window;
	uint64_t last_ms;
	unsigned int pending; /* forwarded queries not answered yet */
	bool fin_queued;      /* send FIN once tx is drained */
	uint16_t rx_len;
	uint8_t rx[MAGICDNS_TCP_RX_MAX];
	uint32_t tx_len; /* bytes in tx, first one at sequence snd_una (+1 while SYN unacked) */
	uint8_t tx[MAGICDNS_TCP_TX_MAX];
};

struct magicdns {
	struct md_table table;
	uint16_t max_udp_payload;
	unsigned int ntcp;
	struct md_tcp_conn *tcp;
	struct magicdns_stats stats;
};

/* Reserve @n bytes in @out's buffer; NULL if full. */
uint8_t *magicdns_out_reserve(struct magicdns_output *out, size_t n);

/* Record the packet of @len bytes just built at @data (reserved with magicdns_out_reserve()). */
int magicdns_out_packet(struct magicdns_output *out, uint8_t *data, size_t len);

/* Append a TCP segment from @server to @client. */
int magicdns_out_tcp(struct magicdns_output *out, const struct ip_endpoint *server,
		     const struct ip_endpoint *client, const struct dnspkt_tcp *t,
		     const uint8_t *payload, size_t len);

/* Queue a forward of @query (copied into @out) for @client to @up. */
int magicdns_out_forward(struct magicdns_output *out, const struct magicdns_client *client,
			 const uint8_t *query, size_t len, const struct magicdns_upstreams *up);

/* The TCP responder: one segment in, replies and forwards out. */
int magicdns_tcp_input(struct magicdns *m, const struct dnspkt *p, uint64_t now_ms,
		       struct magicdns_output *out);

/* A forwarded query's response for TCP connection @client->tcp_id. */
int magicdns_tcp_deliver(struct magicdns *m, const struct magicdns_client *client,
			 const uint8_t *dns, size_t len, uint64_t now_ms,
			 struct magicdns_output *out);

void magicdns_table_free(struct md_table *t);

#endif
