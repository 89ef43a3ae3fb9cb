// SPDX-License-Identifier: MIT
/*
 * IP/UDP/TCP framing for MagicDNS replies. The checksum is the RFC 1071
 * one's-complement sum, computed over 16-bit big-endian words with an odd
 * trailing byte padded with zero; the pseudo-header for IPv4 is (src, dst,
 * 0, proto, length) and for IPv6 (src, dst, 32-bit length, 3 zero bytes,
 * next header), which differ only in how they add up.
 */
#include "dns/dnspkt.h"

#include <errno.h>
#include <string.h>

enum dnspkt_offsets {
	V4_OFF_TOTLEN = 2,
	V4_OFF_ID = 4,
	V4_OFF_FRAG = 6,
	V4_OFF_TTL = 8,
	V4_OFF_PROTO = 9,
	V4_OFF_CSUM = 10,
	V4_OFF_SRC = 12,
	V4_OFF_DST = 16,
	V4_FLAG_DF = 0x4000,
	V4_FLAG_MF = 0x2000,
	V4_FRAG_MASK = 0x1fff,
	V6_OFF_PLEN = 4,
	V6_OFF_NEXT = 6,
	V6_OFF_HOPS = 7,
	V6_OFF_SRC = 8,
	V6_OFF_DST = 24,
	UDP_OFF_LEN = 4,
	UDP_OFF_CSUM = 6,
	TCP_OFF_SEQ = 4,
	TCP_OFF_ACK = 8,
	TCP_OFF_DOFF = 12,
	TCP_OFF_FLAGS = 13,
	TCP_OFF_WINDOW = 14,
	TCP_OFF_CSUM = 16,
	TCP_MSS_OPT_LEN = 4,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint64_t sum_bytes(uint64_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (i < len)
		sum += (uint64_t)p[i] << 8;
	return sum;
}

static uint16_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint16_t dnspkt_checksum(const uint8_t *buf, size_t len)
{
	return fold(sum_bytes(0, buf, len));
}

uint16_t dnspkt_l4_checksum(const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
			   const uint8_t *l4, size_t len)
{
	size_t alen = src->family == IP_FAMILY_V4 ? 4 : 16;
	uint64_t sum = 0;

	sum = sum_bytes(sum, src->bytes, alen);
	sum = sum_bytes(sum, dst->bytes, alen);
	/* Both pseudo-headers add up to length + protocol in 16-bit words. */
	sum += (uint64_t)(len >> 16) + (len & 0xffff) + proto;
	return fold(sum_bytes(sum, l4, len));
}

int dnspkt_peek_dst(const uint8_t *pkt, size_t len, struct ip_addr *dst)
{
	if (len >= DNSPKT_V4_HEADER_LEN && pkt[0] >> 4 == 4) {
		ip_addr_set_v4(dst, pkt + V4_OFF_DST);
		return 0;
	}
	if (len >= DNSPKT_V6_HEADER_LEN && pkt[0] >> 4 == 6) {
		ip_addr_set_v6(dst, pkt + V6_OFF_DST);
		return 0;
	}
	return -EBADMSG;
}

static int parse_ip(const uint8_t *pkt, size_t len, struct dnspkt *out)
{
	if (len >= 1 && pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 0xf) * 4, total;

		if (len < DNSPKT_V4_HEADER_LEN || ihl < DNSPKT_V4_HEADER_LEN || ihl > len)
			return -EBADMSG;
		total = get16(pkt + V4_OFF_TOTLEN);
		if (total < ihl || total > len || dnspkt_checksum(pkt, ihl) != 0)
			return -EBADMSG;
		if (get16(pkt + V4_OFF_FRAG) & (V4_FLAG_MF | V4_FRAG_MASK))
			return -EPROTONOSUPPORT;
		out->proto = pkt[V4_OFF_PROTO];
		ip_addr_set_v4(&out->src.addr, pkt + V4_OFF_SRC);
		ip_addr_set_v4(&out->dst.addr, pkt + V4_OFF_DST);
		out->l4 = pkt + ihl;
		out->l4_len = total - ihl;
		return 0;
	}
	if (len >= 1 && pkt[0] >> 4 == 6) {
		size_t plen;

		if (len < DNSPKT_V6_HEADER_LEN)
			return -EBADMSG;
		plen = get16(pkt + V6_OFF_PLEN);
		if (plen > len - DNSPKT_V6_HEADER_LEN)
			return -EBADMSG;
		out->proto = pkt[V6_OFF_NEXT];
		ip_addr_set_v6(&out->src.addr, pkt + V6_OFF_SRC);
		ip_addr_set_v6(&out->dst.addr, pkt + V6_OFF_DST);
		out->l4 = pkt + DNSPKT_V6_HEADER_LEN;
		out->l4_len = plen;
		return 0;
	}
	return -EBADMSG;
}

static void parse_tcp_options(const uint8_t *o, size_t len, struct dnspkt *out)
{
	size_t i = 0;

	while (i < len) {
		if (o[i] == DNSPKT_TCPOPT_END)
			break;
		if (o[i] == DNSPKT_TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || o[i + 1] > len - i)
			break; /* malformed: ignore the rest, as stacks do */
		if (o[i] == DNSPKT_TCPOPT_MSS && o[i + 1] == TCP_MSS_OPT_LEN)
			out->mss = get16(o + i + 2);
		i += o[i + 1];
	}
}

int dnspkt_parse(const uint8_t *pkt, size_t len, struct dnspkt *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_ip(pkt, len, out);
	if (ret < 0)
		return ret;
	if (out->proto == DNSPKT_PROTO_UDP) {
		size_t ulen;
		uint16_t csum;

		if (out->l4_len < DNSPKT_UDP_HEADER_LEN)
			return -EBADMSG;
		ulen = get16(out->l4 + UDP_OFF_LEN);
		if (ulen < DNSPKT_UDP_HEADER_LEN || ulen > out->l4_len)
			return -EBADMSG;
		out->l4_len = ulen;
		csum = get16(out->l4 + UDP_OFF_CSUM);
		/* Zero means "no checksum" for IPv4 only (RFC 8200 §8.1). */
		if (csum == 0 && out->src.addr.family == IP_FAMILY_V6)
			return -EBADMSG;
		if (csum != 0 && dnspkt_l4_checksum(&out->src.addr, &out->dst.addr, out->proto,
						   out->l4, ulen) != 0)
			return -EBADMSG;
		out->src.port = get16(out->l4);
		out->dst.port = get16(out->l4 + 2);
		out->payload = out->l4 + DNSPKT_UDP_HEADER_LEN;
		out->payload_len = ulen - DNSPKT_UDP_HEADER_LEN;
		return 0;
	}
	if (out->proto == DNSPKT_PROTO_TCP) {
		size_t doff;

		if (out->l4_len < DNSPKT_TCP_HEADER_LEN)
			return -EBADMSG;
		doff = (size_t)(out->l4[TCP_OFF_DOFF] >> 4) * 4;
		if (doff < DNSPKT_TCP_HEADER_LEN || doff > out->l4_len)
			return -EBADMSG;
		if (dnspkt_l4_checksum(&out->src.addr, &out->dst.addr, out->proto, out->l4,
				      out->l4_len) != 0)
			return -EBADMSG;
		out->src.port = get16(out->l4);
		out->dst.port = get16(out->l4 + 2);
		out->seq = get32(out->l4 + TCP_OFF_SEQ);
		out->ack = get32(out->l4 + TCP_OFF_ACK);
		out->tcp_flags = out->l4[TCP_OFF_FLAGS];
		out->window = get16(out->l4 + TCP_OFF_WINDOW);
		parse_tcp_options(out->l4 + DNSPKT_TCP_HEADER_LEN, doff - DNSPKT_TCP_HEADER_LEN, out);
		out->payload = out->l4 + doff;
		out->payload_len = out->l4_len - doff;
		return 0;
	}
	return -EPROTONOSUPPORT;
}

/* Write the IP header for @l4len transport bytes; returns its length or 0. */
static size_t put_ip(uint8_t *out, size_t cap, const struct ip_addr *src, const struct ip_addr *dst,
		     uint8_t proto, size_t l4len)
{
	if (src->family == IP_FAMILY_V4 && dst->family == IP_FAMILY_V4) {
		if (cap < DNSPKT_V4_HEADER_LEN || l4len > 65535 - DNSPKT_V4_HEADER_LEN ||
		    l4len > cap - DNSPKT_V4_HEADER_LEN)
			return 0;
		memset(out, 0, DNSPKT_V4_HEADER_LEN);
		out[0] = 0x45;
		put16(out + V4_OFF_TOTLEN, (uint16_t)(DNSPKT_V4_HEADER_LEN + l4len));
		/* An atomic datagram (RFC 6864): DF set, so the ID carries no meaning. */
		put16(out + V4_OFF_FRAG, V4_FLAG_DF);
		out[V4_OFF_TTL] = DNSPKT_TTL;
		out[V4_OFF_PROTO] = proto;
		memcpy(out + V4_OFF_SRC, src->bytes, 4);
		memcpy(out + V4_OFF_DST, dst->bytes, 4);
		put16(out + V4_OFF_CSUM, dnspkt_checksum(out, DNSPKT_V4_HEADER_LEN));
		return DNSPKT_V4_HEADER_LEN;
	}
	if (src->family == IP_FAMILY_V6 && dst->family == IP_FAMILY_V6) {
		if (cap < DNSPKT_V6_HEADER_LEN || l4len > 65535 || l4len > cap - DNSPKT_V6_HEADER_LEN)
			return 0;
		memset(out, 0, DNSPKT_V6_HEADER_LEN);
		out[0] = 0x60;
		put16(out + V6_OFF_PLEN, (uint16_t)l4len);
		out[V6_OFF_NEXT] = proto;
		out[V6_OFF_HOPS] = DNSPKT_TTL;
		memcpy(out + V6_OFF_SRC, src->bytes, 16);
		memcpy(out + V6_OFF_DST, dst->bytes, 16);
		return DNSPKT_V6_HEADER_LEN;
	}
	return 0;
}

size_t dnspkt_build_udp(uint8_t *out, size_t cap, const struct ip_endpoint *src,
		       const struct ip_endpoint *dst, const uint8_t *payload, size_t len)
{
	size_t ulen = DNSPKT_UDP_HEADER_LEN + len, hl;
	uint8_t *u;
	uint16_t csum;

	if (len > 65535 - DNSPKT_UDP_HEADER_LEN)
		return 0;
	hl = put_ip(out, cap, &src->addr, &dst->addr, DNSPKT_PROTO_UDP, ulen);
	if (!hl)
		return 0;
	u = out + hl;
	put16(u, src->port);
	put16(u + 2, dst->port);
	put16(u + UDP_OFF_LEN, (uint16_t)ulen);
	put16(u + UDP_OFF_CSUM, 0);
	if (len)
		memmove(u + DNSPKT_UDP_HEADER_LEN, payload, len);
	csum = dnspkt_l4_checksum(&src->addr, &dst->addr, DNSPKT_PROTO_UDP, u, ulen);
	/* A computed zero is sent as all ones: zero means "none" (RFC 768). */
	put16(u + UDP_OFF_CSUM, csum ? csum : 0xffff);
	return hl + ulen;
}

size_t dnspkt_build_tcp(uint8_t *out, size_t cap, const struct ip_endpoint *src,
		       const struct ip_endpoint *dst, const struct dnspkt_tcp *t,
		       const uint8_t *payload, size_t len)
{
	size_t hlen = DNSPKT_TCP_HEADER_LEN + (t->mss ? TCP_MSS_OPT_LEN : 0), tlen, hl;
	uint8_t *s;

	if (len > 65535 - hlen)
		return 0;
	tlen = hlen + len;
	hl = put_ip(out, cap, &src->addr, &dst->addr, DNSPKT_PROTO_TCP, tlen);
	if (!hl)
		return 0;
	s = out + hl;
	memset(s, 0, hlen);
	put16(s, src->port);
	put16(s + 2, dst->port);
	put32(s + TCP_OFF_SEQ, t->seq);
	put32(s + TCP_OFF_ACK, t->ack);
	s[TCP_OFF_DOFF] = (uint8_t)(hlen / 4 << 4);
	s[TCP_OFF_FLAGS] = t->flags;
	put16(s + TCP_OFF_WINDOW, t->window);
	if (t->mss) {
		s[DNSPKT_TCP_HEADER_LEN] = DNSPKT_TCPOPT_MSS;
		s[DNSPKT_TCP_HEADER_LEN + 1] = TCP_MSS_OPT_LEN;
		put16(s + DNSPKT_TCP_HEADER_LEN + 2, t->mss);
	}
	if (len)
		memmove(s + hlen, payload, len);
	put16(s + TCP_OFF_CSUM,
	      dnspkt_l4_checksum(&src->addr, &dst->addr, DNSPKT_PROTO_TCP, s, tlen));
	return hl + tlen;
}
