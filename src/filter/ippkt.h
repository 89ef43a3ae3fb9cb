/* SPDX-License-Identifier: MIT */
/*
 * IP packet headers as the packet filter sees them: IPv4 and IPv6 (with up to
 * IPPKT_MAX_EXT_HEADERS extension headers), fragments, the ports of TCP, UDP
 * and SCTP, ICMP and ICMPv6 types, and for ICMP errors the start of the packet
 * that caused the error (to match it to a flow). The wire format is defined
 * here once; parsing is pure, takes (buf, len) and never reads past len.
 *
 * What the parser refuses (-EINVAL), because a filter must not guess:
 *  - a version other than 4 or 6, an IPv4 header shorter than 20 bytes or
 *    longer than the packet, a total or payload length beyond the buffer
 *    (bytes after it are ignored);
 *  - an IPv6 hop-by-hop header anywhere but first, more extension headers
 *    than IPPKT_MAX_EXT_HEADERS, or a chain that runs past the packet;
 *  - a packet (or first fragment) too short for the whole upper-layer header
 *    the filter reads: 20 bytes of TCP, 8 of UDP, 12 of SCTP, 8 of ICMP
 *    (RFC 1858's tiny fragments, RFC 7112's incomplete header chains);
 *  - a later fragment at an offset inside that header (RFC 1858's overlapping
 *    fragments: it could rewrite the ports or flags the filter checked); in
 *    IPv6 this is checked when the upper layer follows the fragment header;
 *  - an ICMP or ICMPv6 error without the IP header of the packet it reports.
 * An IPv6 "atomic" fragment (offset 0, no more fragments, RFC 6946) is an
 * ordinary packet. Checksums are not verified: the kernel does that when the
 * packet is written to the TUN.
 */
#ifndef MESH_FILTER_IPPKT_H
#define MESH_FILTER_IPPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

/* IP protocol numbers the filter looks into. */
enum ippkt_proto {
	IPPKT_PROTO_HOPOPTS = 0,
	IPPKT_PROTO_ICMP = 1,
	IPPKT_PROTO_TCP = 6,
	IPPKT_PROTO_UDP = 17,
	IPPKT_PROTO_ROUTING = 43,
	IPPKT_PROTO_FRAGMENT = 44,
	IPPKT_PROTO_AH = 51,
	IPPKT_PROTO_ICMPV6 = 58,
	IPPKT_PROTO_DSTOPTS = 60,
	IPPKT_PROTO_SCTP = 132,
};

/* Sizes and field offsets of the headers read here. */
enum ippkt_wire {
	IPPKT_IPV4_HDR = 20, /* without options */
	IPPKT_IPV4_PROTO = 9,
	IPPKT_IPV4_SRC = 12,
	IPPKT_IPV4_DST = 16,
	IPPKT_IPV4_MF = 0x2000,	    /* in the flags/fragment-offset word */
	IPPKT_IPV4_OFFSET = 0x1fff, /* in 8-byte units */
	IPPKT_IPV6_HDR = 40,
	IPPKT_IPV6_NEXT = 6,
	IPPKT_IPV6_SRC = 8,
	IPPKT_IPV6_DST = 24,
	IPPKT_IPV6_FRAG_HDR = 8,
	IPPKT_TCP_HDR = 20,
	IPPKT_TCP_FLAGS = 13,
	IPPKT_UDP_HDR = 8,
	IPPKT_SCTP_HDR = 12,
	IPPKT_ICMP_HDR = 8,
	IPPKT_ICMP_ECHO_ID = 4,
	IPPKT_MAX_EXT_HEADERS = 8,
};

enum ippkt_tcp_flags {
	IPPKT_TCP_FIN = 0x01,
	IPPKT_TCP_SYN = 0x02,
	IPPKT_TCP_RST = 0x04,
	IPPKT_TCP_ACK = 0x10,
};

enum ippkt_icmp_type {
	IPPKT_ICMP4_ECHO_REPLY = 0,
	IPPKT_ICMP4_UNREACHABLE = 3,
	IPPKT_ICMP4_ECHO_REQUEST = 8,
	IPPKT_ICMP4_TIME_EXCEEDED = 11,
	IPPKT_ICMP4_PARAMETER_PROBLEM = 12,
	IPPKT_ICMP6_UNREACHABLE = 1,
	IPPKT_ICMP6_PACKET_TOO_BIG = 2,
	IPPKT_ICMP6_TIME_EXCEEDED = 3,
	IPPKT_ICMP6_PARAMETER_PROBLEM = 4,
	IPPKT_ICMP6_ECHO_REQUEST = 128,
	IPPKT_ICMP6_ECHO_REPLY = 129,
};

/* Where a packet stands among the fragments of its datagram. */
enum ippkt_frag {
	IPPKT_FRAG_NONE = 0,  /* not fragmented (or an IPv6 atomic fragment) */
	IPPKT_FRAG_FIRST = 1, /* offset 0, more to come: holds the upper-layer header */
	IPPKT_FRAG_LATER = 2, /* offset > 0: no upper-layer header, no ports */
};

/*
 * What an ICMP message (ICMP in IPv4, ICMPv6 in IPv6; protocol 1 in IPv6 or 58
 * in IPv4 is just another protocol) is to the filter. Errors are IPv4 types
 * 3, 11 and 12 and ICMPv6 types 1 to 4; source quench (4) and redirects (5)
 * count as OTHER: nothing legitimate sends them through a tunnel.
 */
enum ippkt_icmp_kind {
	IPPKT_ICMP_NONE = 0, /* not ICMP of the packet's family, or a later fragment */
	IPPKT_ICMP_ECHO_REQUEST,
	IPPKT_ICMP_ECHO_REPLY,
	IPPKT_ICMP_ERROR,
	IPPKT_ICMP_OTHER,
};

/* What IPPKT_HAS_* says is valid in a struct ippkt_hdr. */
enum ippkt_has {
	IPPKT_HAS_PORTS = 1 << 0,   /* sport, dport: TCP, UDP or SCTP */
	IPPKT_HAS_TCP = 1 << 1,	    /* tcp_flags */
	IPPKT_HAS_ICMP = 1 << 2,    /* icmp_type, icmp_code, icmp_kind */
	IPPKT_HAS_ECHO_ID = 1 << 3, /* icmp_id: an echo request or reply */
};

/* One IP header and what the filter reads of the upper layer behind it. */
struct ippkt_hdr {
	struct ip_addr src;
	struct ip_addr dst;
	uint8_t proto;	   /* upper-layer protocol, after IPv6 extension headers */
	uint8_t frag;	   /* enum ippkt_frag */
	uint8_t has;	   /* enum ippkt_has */
	uint8_t tcp_flags; /* enum ippkt_tcp_flags */
	uint16_t sport;	   /* host byte order, as all fields here */
	uint16_t dport;
	uint8_t icmp_type;
	uint8_t icmp_code;
	uint8_t icmp_kind; /* enum ippkt_icmp_kind */
	uint16_t icmp_id;
	uint32_t frag_id; /* IPv4: the 16-bit identification; IPv6: the fragment header's */
	uint16_t l4_off;  /* offset of the upper-layer header (unset for later fragments) */
	uint16_t end;	  /* length of the packet as its header states it */
};

/*
 * A parsed packet. For an ICMP error, @inner describes the packet the error
 * reports, as far as the error quotes it: its addresses and protocol always,
 * its ports (or echo id) when quoted (IPPKT_HAS_* in inner.has); inner.end
 * and inner.l4_off are offsets in the outer packet.
 */
struct ippkt {
	struct ippkt_hdr h;
	bool has_inner;
	struct ippkt_hdr inner;
};

/**
 * Parse the IP packet of @len bytes at @buf into @p (zeroed first). Returns 0,
 * or -EINVAL for a packet the filter must drop (see the list atop this
 * header), after which the contents of @p mean nothing.
 */
int ippkt_parse(struct ippkt *p, const uint8_t *buf, size_t len);

/** True if @proto carries ports the filter matches rules on: TCP, UDP and SCTP. */
bool ippkt_proto_has_ports(uint8_t proto);

#endif
