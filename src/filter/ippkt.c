// SPDX-License-Identifier: MIT
/*
 * IPv4/IPv6 header parsing for the packet filter. Every read is checked
 * against the end the packet's own header states (which the buffer must
 * hold), so nothing here reads past len; see ippkt.h for what is refused.
 */
#include "filter/ippkt.h"

#include <errno.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool ippkt_proto_has_ports(uint8_t proto)
{
	return proto == IPPKT_PROTO_TCP || proto == IPPKT_PROTO_UDP || proto == IPPKT_PROTO_SCTP;
}

/* The bytes of upper-layer header the filter needs: a shorter one is refused. */
static size_t l4_min(uint8_t proto, bool icmp)
{
	if (icmp)
		return IPPKT_ICMP_HDR;
	switch (proto) {
	case IPPKT_PROTO_TCP:
		return IPPKT_TCP_HDR;
	case IPPKT_PROTO_UDP:
		return IPPKT_UDP_HDR;
	case IPPKT_PROTO_SCTP:
		return IPPKT_SCTP_HDR;
	default:
		return 0;
	}
}

/* True if @h's upper-layer protocol is the ICMP of its family. */
static bool is_icmp(const struct ippkt_hdr *h)
{
	return (h->src.family == IP_FAMILY_V4 && h->proto == IPPKT_PROTO_ICMP) ||
	       (h->src.family == IP_FAMILY_V6 && h->proto == IPPKT_PROTO_ICMPV6);
}

static enum ippkt_icmp_kind icmp_kind(uint8_t family, uint8_t type)
{
	if (family == IP_FAMILY_V4) {
		switch (type) {
		case IPPKT_ICMP4_ECHO_REQUEST:
			return IPPKT_ICMP_ECHO_REQUEST;
		case IPPKT_ICMP4_ECHO_REPLY:
			return IPPKT_ICMP_ECHO_REPLY;
		case IPPKT_ICMP4_UNREACHABLE:
		case IPPKT_ICMP4_TIME_EXCEEDED:
		case IPPKT_ICMP4_PARAMETER_PROBLEM:
			return IPPKT_ICMP_ERROR;
		default:
			return IPPKT_ICMP_OTHER;
		}
	}
	switch (type) {
	case IPPKT_ICMP6_ECHO_REQUEST:
		return IPPKT_ICMP_ECHO_REQUEST;
	case IPPKT_ICMP6_ECHO_REPLY:
		return IPPKT_ICMP_ECHO_REPLY;
	case IPPKT_ICMP6_UNREACHABLE:
	case IPPKT_ICMP6_PACKET_TOO_BIG:
	case IPPKT_ICMP6_TIME_EXCEEDED:
	case IPPKT_ICMP6_PARAMETER_PROBLEM:
		return IPPKT_ICMP_ERROR;
	default:
		return IPPKT_ICMP_OTHER;
	}
}

static int parse_ip(struct ippkt_hdr *h, const uint8_t *buf, size_t start, size_t len, bool quoted,
		    size_t *l4);

/*
 * The upper-layer header of @h at @off, up to h->end. A @quoted packet (inside
 * an ICMP error) may stop anywhere: what it does not hold stays unset. @p is
 * NULL for a quoted packet, so that errors inside errors are not followed.
 */
static int parse_l4(struct ippkt *p, struct ippkt_hdr *h, const uint8_t *buf, size_t off,
		    bool quoted)
{
	bool icmp = is_icmp(h);
	size_t avail = h->end - off;
	const uint8_t *l4 = buf + off;

	h->l4_off = (uint16_t)off;
	if (!quoted && avail < l4_min(h->proto, icmp))
		return -EINVAL;
	if (icmp) {
		if (avail < 2)
			return 0;
		h->has |= IPPKT_HAS_ICMP;
		h->icmp_type = l4[0];
		h->icmp_code = l4[1];
		h->icmp_kind = (uint8_t)icmp_kind(h->src.family, h->icmp_type);
		if ((h->icmp_kind == IPPKT_ICMP_ECHO_REQUEST ||
		     h->icmp_kind == IPPKT_ICMP_ECHO_REPLY) &&
		    avail >= IPPKT_ICMP_ECHO_ID + 2) {
			h->has |= IPPKT_HAS_ECHO_ID;
			h->icmp_id = get16(l4 + IPPKT_ICMP_ECHO_ID);
		}
		if (h->icmp_kind != IPPKT_ICMP_ERROR || !p)
			return 0;
		/* An error must quote the IP header of the packet it reports. */
		if (parse_ip(&p->inner, buf, off + IPPKT_ICMP_HDR, h->end, true, &off) ||
		    p->inner.src.family != h->src.family)
			return -EINVAL;
		p->has_inner = true;
		if (p->inner.frag == IPPKT_FRAG_LATER)
			return 0;
		return parse_l4(NULL, &p->inner, buf, off, true);
	}
	if (!ippkt_proto_has_ports(h->proto) || avail < 4)
		return 0;
	h->has |= IPPKT_HAS_PORTS;
	h->sport = get16(l4);
	h->dport = get16(l4 + 2);
	if (h->proto == IPPKT_PROTO_TCP && avail > IPPKT_TCP_FLAGS) {
		h->has |= IPPKT_HAS_TCP;
		h->tcp_flags = l4[IPPKT_TCP_FLAGS];
	}
	return 0;
}

/*
 * A later fragment at byte @offset of its datagram's payload must start past
 * the upper-layer header the first fragment showed us (RFC 1858, 3128).
 */
static int later_fragment(struct ippkt_hdr *h, size_t offset)
{
	h->frag = IPPKT_FRAG_LATER;
	return offset < l4_min(h->proto, is_icmp(h)) ? -EINVAL : 0;
}

static int parse_v4(struct ippkt_hdr *h, const uint8_t *buf, size_t start, size_t len, bool quoted)
{
	const uint8_t *ip = buf + start;
	size_t hlen, total, frag;

	if (len - start < IPPKT_IPV4_HDR)
		return -EINVAL;
	hlen = (size_t)(ip[0] & 0x0f) * 4;
	total = get16(ip + 2);
	if (hlen < IPPKT_IPV4_HDR || hlen > len - start)
		return -EINVAL;
	/* A quoted packet is cut short by design: its stated length means nothing. */
	if (quoted)
		total = len - start;
	else if (total < hlen || total > len - start)
		return -EINVAL;
	h->end = (uint16_t)(start + total);
	h->proto = ip[IPPKT_IPV4_PROTO];
	ip_addr_set_v4(&h->src, ip + IPPKT_IPV4_SRC);
	ip_addr_set_v4(&h->dst, ip + IPPKT_IPV4_DST);
	h->frag_id = get16(ip + 4);
	frag = get16(ip + 6);
	if (frag & IPPKT_IPV4_OFFSET)
		return later_fragment(h, (frag & IPPKT_IPV4_OFFSET) * 8);
	if (frag & IPPKT_IPV4_MF)
		h->frag = IPPKT_FRAG_FIRST;
	return 0;
}

static bool is_ext_header(uint8_t nh)
{
	return nh == IPPKT_PROTO_HOPOPTS || nh == IPPKT_PROTO_ROUTING ||
	       nh == IPPKT_PROTO_FRAGMENT || nh == IPPKT_PROTO_DSTOPTS || nh == IPPKT_PROTO_AH;
}

/* The IPv6 header and its extension headers; *@l4 gets the upper layer's offset. */
static int parse_v6(struct ippkt_hdr *h, const uint8_t *buf, size_t start, size_t len, bool quoted,
		    size_t *l4)
{
	const uint8_t *ip = buf + start;
	size_t off = start + IPPKT_IPV6_HDR, end, ext_len;
	bool seen_frag = false;
	uint8_t nh;

	if (len - start < IPPKT_IPV6_HDR)
		return -EINVAL;
	end = quoted ? len : off + get16(ip + 4);
	if (end > len)
		return -EINVAL;
	h->end = (uint16_t)end;
	ip_addr_set_v6(&h->src, ip + IPPKT_IPV6_SRC);
	ip_addr_set_v6(&h->dst, ip + IPPKT_IPV6_DST);
	nh = ip[IPPKT_IPV6_NEXT];
	for (unsigned int n = 0; is_ext_header(nh); n++) {
		const uint8_t *ext = buf + off;

		if (n == IPPKT_MAX_EXT_HEADERS || (nh == IPPKT_PROTO_HOPOPTS && n) || end - off < 8)
			return -EINVAL;
		if (nh == IPPKT_PROTO_FRAGMENT) {
			uint16_t fo = get16(ext + 2);

			if (seen_frag)
				return -EINVAL;
			seen_frag = true;
			nh = ext[0];
			off += IPPKT_IPV6_FRAG_HDR;
			if (fo & 0xfff8) {
				/* The rest is fragment data. Its overlap check is
				 * exact only when the upper layer follows directly. */
				h->proto = nh;
				h->frag_id = get32(ext + 4);
				if (is_ext_header(nh)) {
					h->frag = IPPKT_FRAG_LATER;
					return 0;
				}
				return later_fragment(h, fo & 0xfff8);
			}
			if (fo & 1) { /* else atomic (RFC 6946): not fragmented at all */
				h->frag = IPPKT_FRAG_FIRST;
				h->frag_id = get32(ext + 4);
			}
			continue;
		}
		ext_len =
			nh == IPPKT_PROTO_AH ? ((size_t)ext[1] + 2) * 4 : ((size_t)ext[1] + 1) * 8;
		if (ext_len > end - off)
			return -EINVAL;
		nh = ext[0];
		off += ext_len;
	}
	h->proto = nh;
	*l4 = off;
	return 0;
}

/*
 * The IP header (and IPv6 extension headers) at @start of @buf, whose bytes
 * end at @len; *@l4 gets the offset of the upper-layer header.
 */
static int parse_ip(struct ippkt_hdr *h, const uint8_t *buf, size_t start, size_t len, bool quoted,
		    size_t *l4)
{
	memset(h, 0, sizeof(*h));
	if (start >= len)
		return -EINVAL;
	switch (buf[start] >> 4) {
	case 4:
		*l4 = start + (size_t)(buf[start] & 0x0f) * 4;
		return parse_v4(h, buf, start, len, quoted);
	case 6:
		return parse_v6(h, buf, start, len, quoted, l4);
	default:
		return -EINVAL;
	}
}

int ippkt_parse(struct ippkt *p, const uint8_t *buf, size_t len)
{
	size_t l4 = 0;
	int ret;

	memset(p, 0, sizeof(*p));
	/* Offsets are kept in 16 bits: no IP packet is longer. */
	if (!len || len > UINT16_MAX)
		return -EINVAL;
	ret = parse_ip(&p->h, buf, 0, len, false, &l4);
	if (ret || p->h.frag == IPPKT_FRAG_LATER)
		return ret;
	return parse_l4(p, &p->h, buf, l4, false);
}
