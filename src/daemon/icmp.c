// SPDX-License-Identifier: MIT
/*
 * Echo packets. IPv6 echo checksums cover the pseudo-header (RFC 8200 §8.1);
 * IPv4 ones cover the ICMP message only, and the IPv4 header has its own.
 */
#include "daemon/icmp.h"

#include <string.h>

enum {
	IPV4_HDR = 20,
	IPV6_HDR = 40,
	ECHO_HDR = 8,
	ICMP4_ECHO_REQUEST = 8,
	ICMP4_ECHO_REPLY = 0,
	ICMP6_ECHO_REQUEST = 128,
	ICMP6_ECHO_REPLY = 129,
	PROTO_ICMP = 1,
	PROTO_ICMPV6 = 58,
};

static uint32_t sum_bytes(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t icmp_checksum(const uint8_t *p, size_t len, uint32_t sum)
{
	sum = sum_bytes(p, len, sum);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The IPv6 pseudo-header sum for an upper-layer packet of @len bytes. */
static uint32_t pseudo6(const uint8_t *src, const uint8_t *dst, size_t len, uint8_t proto)
{
	uint32_t sum = sum_bytes(src, 16, 0);

	sum = sum_bytes(dst, 16, sum);
	sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	return sum + proto;
}

size_t icmp_build_echo(uint8_t *buf, size_t cap, const struct ip_addr *src,
		       const struct ip_addr *dst, uint16_t id, uint16_t seq)
{
	size_t hdr = src->family == IP_FAMILY_V4 ? IPV4_HDR : IPV6_HDR;
	size_t icmp_len = ECHO_HDR + ICMP_ECHO_PAYLOAD, total = hdr + icmp_len;
	uint8_t *icmp = buf + hdr;

	if (src->family != dst->family || !src->family || cap < total)
		return 0;
	memset(buf, 0, total);
	if (src->family == IP_FAMILY_V4) {
		buf[0] = 0x45;
		put16(buf + 2, (uint16_t)total);
		put16(buf + 4, seq);
		buf[8] = 64;
		buf[9] = PROTO_ICMP;
		memcpy(buf + 12, src->bytes, 4);
		memcpy(buf + 16, dst->bytes, 4);
		put16(buf + 10, icmp_checksum(buf, IPV4_HDR, 0));
		icmp[0] = ICMP4_ECHO_REQUEST;
	} else {
		buf[0] = 0x60;
		put16(buf + 4, (uint16_t)icmp_len);
		buf[6] = PROTO_ICMPV6;
		buf[7] = 64;
		memcpy(buf + 8, src->bytes, 16);
		memcpy(buf + 24, dst->bytes, 16);
		icmp[0] = ICMP6_ECHO_REQUEST;
	}
	put16(icmp + 4, id);
	put16(icmp + 6, seq);
	memcpy(icmp + ECHO_HDR, "meshctl ping\0\0\0\0", ICMP_ECHO_PAYLOAD);
	if (src->family == IP_FAMILY_V4)
		put16(icmp + 2, icmp_checksum(icmp, icmp_len, 0));
	else
		put16(icmp + 2,
		      icmp_checksum(icmp, icmp_len,
				    pseudo6(src->bytes, dst->bytes, icmp_len, PROTO_ICMPV6)));
	return total;
}

bool icmp_parse_echo_reply(const uint8_t *pkt, size_t len, uint16_t id, struct ip_addr *from,
			   uint16_t *seq)
{
	const uint8_t *icmp;
	size_t icmp_len, ihl;

	if (len >= IPV4_HDR && pkt[0] >> 4 == 4) {
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if (ihl < IPV4_HDR || len < ihl + ECHO_HDR || pkt[9] != PROTO_ICMP ||
		    get16(pkt + 2) > len || get16(pkt + 2) < ihl + ECHO_HDR)
			return false;
		icmp = pkt + ihl;
		icmp_len = get16(pkt + 2) - ihl;
		if (icmp[0] != ICMP4_ECHO_REPLY || icmp_checksum(icmp, icmp_len, 0))
			return false;
		ip_addr_set_v4(from, pkt + 12);
	} else if (len >= IPV6_HDR + ECHO_HDR && pkt[0] >> 4 == 6) {
		icmp_len = get16(pkt + 4);
		if (pkt[6] != PROTO_ICMPV6 || icmp_len < ECHO_HDR || IPV6_HDR + icmp_len > len)
			return false;
		icmp = pkt + IPV6_HDR;
		if (icmp[0] != ICMP6_ECHO_REPLY ||
		    icmp_checksum(icmp, icmp_len,
				  pseudo6(pkt + 8, pkt + 24, icmp_len, PROTO_ICMPV6)))
			return false;
		ip_addr_set_v6(from, pkt + 8);
	} else {
		return false;
	}
	if (get16(icmp + 4) != id)
		return false;
	*seq = get16(icmp + 6);
	return true;
}
