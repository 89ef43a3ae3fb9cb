/* SPDX-License-Identifier: MIT */
/*
 * The IPv4/IPv6 + UDP/TCP framing MagicDNS needs to answer packets taken
 * off the TUN: parse a packet down to its transport payload, verify and
 * compute the Internet checksum (RFC 1071) with the pseudo-headers of
 * RFC 768 / RFC 8200 §8.1, and build reply packets. Pure functions over
 * (buf, len).
 *
 * Accepted input: IPv4 with a valid header checksum, options allowed, not
 * a fragment; IPv6 whose next header is the transport itself (extension
 * headers are not followed); UDP with a consistent length; TCP with a sane
 * data offset. Bytes after the IP total/payload length are ignored.
 */
#ifndef MESH_DNS_DNSPKT_H
#define MESH_DNS_DNSPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

enum dnspkt_wire {
	DNSPKT_V4_HEADER_LEN = 20,
	DNSPKT_V6_HEADER_LEN = 40,
	DNSPKT_UDP_HEADER_LEN = 8,
	DNSPKT_TCP_HEADER_LEN = 20,
	DNSPKT_TCP_OPTIONS_MAX = 40,
	DNSPKT_PROTO_TCP = 6,
	DNSPKT_PROTO_UDP = 17,
	DNSPKT_TTL = 64,
	DNSPKT_TCPOPT_END = 0,
	DNSPKT_TCPOPT_NOP = 1,
	DNSPKT_TCPOPT_MSS = 2,
};

enum dnspkt_tcp_flags {
	DNSPKT_TCP_FIN = 0x01,
	DNSPKT_TCP_SYN = 0x02,
	DNSPKT_TCP_RST = 0x04,
	DNSPKT_TCP_PSH = 0x08,
	DNSPKT_TCP_ACK = 0x10,
};

/* A parsed packet: addresses, ports and where the transport payload is. */
struct dnspkt {
	uint8_t proto; /* DNSPKT_PROTO_UDP or DNSPKT_PROTO_TCP */
	struct ip_endpoint src, dst;
	const uint8_t *l4; /* transport header */
	size_t l4_len;	   /* transport header + payload */
	const uint8_t *payload;
	size_t payload_len;
	/* TCP only */
	uint32_t seq, ack;
	uint8_t tcp_flags;
	uint16_t window;
	uint16_t mss; /* from the MSS option, 0 if absent */
};

/**
 * Parse the IP packet @pkt/@len carrying UDP or TCP into @out, verifying the
 * IPv4 header checksum and the transport checksum. Returns 0, -EBADMSG
 * (malformed or bad checksum) or -EPROTONOSUPPORT (another protocol, IPv6
 * extension headers, an IPv4 fragment).
 */
int dnspkt_parse(const uint8_t *pkt, size_t len, struct dnspkt *out);

/**
 * The Internet checksum of the transport segment @l4/@len from @src to
 * @dst with protocol @proto, pseudo-header included. Over a segment whose
 * checksum field is filled in it is 0 when correct; over one whose field
 * is zero it is the value to store (a computed 0 is sent as 0xffff for UDP
 * by the builders).
 */
uint16_t dnspkt_l4_checksum(const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
			   const uint8_t *l4, size_t len);

/** The RFC 1071 checksum of @buf/@len alone (as the IPv4 header uses). */
uint16_t dnspkt_checksum(const uint8_t *buf, size_t len);

/**
 * Build a UDP packet from @src to @dst (same family) carrying @payload into
 * @out (@cap bytes), with the IPv4 header checksum and the UDP checksum.
 * Returns the packet length, or 0 if it does not fit @cap or 65535 bytes.
 */
size_t dnspkt_build_udp(uint8_t *out, size_t cap, const struct ip_endpoint *src,
		       const struct ip_endpoint *dst, const uint8_t *payload, size_t len);

/* The fields of a TCP segment to build. */
struct dnspkt_tcp {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	uint16_t mss; /* nonzero: add an MSS option (SYN segments) */
};

/**
 * Build a TCP segment from @src to @dst with header fields @t and @payload
 * into @out, checksums included. Returns the packet length or 0 if it does
 * not fit.
 */
size_t dnspkt_build_tcp(uint8_t *out, size_t cap, const struct ip_endpoint *src,
		       const struct ip_endpoint *dst, const struct dnspkt_tcp *t,
		       const uint8_t *payload, size_t len);

/** The destination address of an IPv4/IPv6 packet, without further checks. Returns 0 or -EBADMSG. */
int dnspkt_peek_dst(const uint8_t *pkt, size_t len, struct ip_addr *dst);

#endif
