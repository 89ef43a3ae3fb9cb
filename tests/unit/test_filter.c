// SPDX-License-Identifier: MIT
/*
 * The packet filter: header parsing (IPv4 options, IPv6 extension headers,
 * fragments, ICMP errors, every truncation), verdicts per protocol, port and
 * prefix, default deny, replies to outbound flows, ICMP errors for flows,
 * fragments, expiry with a fake clock, the flow table's bound, shields-up,
 * the local-address check, and property tests: for random rule sets and
 * random packets of both families the verdict equals a naive reading of the
 * rules and the policy engine's policy_filter_match(); replies are accepted
 * exactly when a naive flow model has their flow.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/msg.h"
#include "filter/filter.h"
#include "filter/ippkt.h"
#include "server/policy/policy.h"

enum {
	PKT_MAX = 2048,
	ROUNDS = 300,
	SAMPLES = 400,
};

static unsigned int seed = 20240701;

static unsigned int rnd(unsigned int n)
{
	return (unsigned int)rand_r(&seed) % n;
}

static uint64_t fake_now = 1000000;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;

	if (ip_addr_parse(&a, s, NULL))
		fail_msg("bad address %s", s);
	return a;
}

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p;

	if (ip_prefix_parse(&p, s, NULL))
		fail_msg("bad prefix %s", s);
	return p;
}

/* ---- building packets ---- */

/* How to wrap an upper-layer payload. */
struct wrap {
	unsigned int v4_options; /* bytes of IPv4 options, a multiple of 4 */
	const uint8_t *ext;	 /* IPv6 extension headers to put first (0, 43, 51, 60) */
	size_t next;
	bool frag;	   /* add fragment information */
	uint16_t frag_off; /* bytes, a multiple of 8 */
	bool more;	   /* more fragments follow */
	uint32_t frag_id;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* An IP packet from @src to @dst with protocol @proto around @l4 (@l4len bytes). */
static size_t build(uint8_t *b, const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
		    const uint8_t *l4, size_t l4len, const struct wrap *w)
{
	static const struct wrap none;
	size_t off;

	if (!w)
		w = &none;
	memset(b, 0, PKT_MAX);
	if (src->family == IP_FAMILY_V4) {
		size_t hlen = 20 + w->v4_options;

		b[0] = (uint8_t)(0x40 | hlen / 4);
		put16(b + 2, (uint16_t)(hlen + l4len));
		put16(b + 4, (uint16_t)w->frag_id);
		if (w->frag)
			put16(b + 6, (uint16_t)((w->more ? 0x2000 : 0) | w->frag_off / 8));
		b[8] = 64;
		b[9] = proto;
		memcpy(b + 12, src->bytes, 4);
		memcpy(b + 16, dst->bytes, 4);
		memset(b + 20, 1, w->v4_options); /* NOPs */
		memcpy(b + hlen, l4, l4len);
		return hlen + l4len;
	}
	b[0] = 0x60;
	b[7] = 64;
	memcpy(b + 8, src->bytes, 16);
	memcpy(b + 24, dst->bytes, 16);
	off = 40;
	{
		uint8_t *nextp = &b[6];

		for (size_t i = 0; i < w->next; i++) {
			size_t len = w->ext[i] == IPPKT_PROTO_AH ? 12 : 8;

			*nextp = w->ext[i];
			nextp = &b[off];
			if (w->ext[i] == IPPKT_PROTO_AH)
				b[off + 1] = 1; /* (1 + 2) * 4 bytes */
			off += len;
		}
		if (w->frag) {
			*nextp = IPPKT_PROTO_FRAGMENT;
			nextp = &b[off];
			put16(b + off + 2, (uint16_t)(w->frag_off | (w->more ? 1 : 0)));
			put32(b + off + 4, w->frag_id);
			off += 8;
		}
		*nextp = proto;
	}
	memcpy(b + off, l4, l4len);
	put16(b + 4, (uint16_t)(off - 40 + l4len));
	return off + l4len;
}

static size_t tcp(uint8_t *l4, uint16_t sport, uint16_t dport, uint8_t flags)
{
	memset(l4, 0, 20);
	put16(l4, sport);
	put16(l4 + 2, dport);
	l4[12] = 5 << 4;
	l4[13] = flags;
	return 20;
}

static size_t udp(uint8_t *l4, uint16_t sport, uint16_t dport)
{
	memset(l4, 0, 12);
	put16(l4, sport);
	put16(l4 + 2, dport);
	put16(l4 + 4, 12);
	return 12; /* with 4 bytes of data; also an SCTP common header */
}

static size_t icmp(uint8_t *l4, uint8_t type, uint8_t code, uint16_t id)
{
	memset(l4, 0, 16);
	l4[0] = type;
	l4[1] = code;
	put16(l4 + 4, id);
	put16(l4 + 6, 1);
	return 16;
}

static uint8_t icmp_proto(const struct ip_addr *a)
{
	return a->family == IP_FAMILY_V4 ? IPPKT_PROTO_ICMP : IPPKT_PROTO_ICMPV6;
}

static uint8_t echo_type(const struct ip_addr *a, bool request)
{
	if (a->family == IP_FAMILY_V4)
		return request ? IPPKT_ICMP4_ECHO_REQUEST : IPPKT_ICMP4_ECHO_REPLY;
	return request ? IPPKT_ICMP6_ECHO_REQUEST : IPPKT_ICMP6_ECHO_REPLY;
}

/* Whole packets, by kind. */
static size_t pkt_tcp(uint8_t *b, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		      uint8_t flags)
{
	struct ip_addr s = ip(src), d = ip(dst);
	uint8_t l4[64];

	return build(b, &s, &d, IPPKT_PROTO_TCP, l4, tcp(l4, sport, dport, flags), NULL);
}

static size_t pkt_udp(uint8_t *b, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	struct ip_addr s = ip(src), d = ip(dst);
	uint8_t l4[64];

	return build(b, &s, &d, IPPKT_PROTO_UDP, l4, udp(l4, sport, dport), NULL);
}

static size_t pkt_echo(uint8_t *b, const char *src, const char *dst, bool request, uint16_t id)
{
	struct ip_addr s = ip(src), d = ip(dst);
	uint8_t l4[64];

	return build(b, &s, &d, icmp_proto(&s), l4, icmp(l4, echo_type(&s, request), 0, id), NULL);
}

/* An ICMP error from @src to @dst quoting the first @qlen bytes of @quoted. */
static size_t pkt_error(uint8_t *b, const char *src, const char *dst, uint8_t type,
			const uint8_t *quoted, size_t qlen)
{
	struct ip_addr s = ip(src), d = ip(dst);
	uint8_t l4[PKT_MAX];

	memset(l4, 0, 8);
	l4[0] = type;
	memcpy(l4 + 8, quoted, qlen);
	return build(b, &s, &d, icmp_proto(&s), l4, 8 + qlen, NULL);
}

/* ---- ippkt ---- */

static void test_ippkt_basic(void **state)
{
	uint8_t b[PKT_MAX];
	struct ippkt p;
	size_t len;

	(void)state;
	len = pkt_tcp(b, "100.64.0.2", "100.64.0.1", 40000, 22, IPPKT_TCP_SYN);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_true(
		ip_addr_equal(&p.h.src, &(struct ip_addr){.family = 4, .bytes = {100, 64, 0, 2}}));
	assert_int_equal(p.h.proto, IPPKT_PROTO_TCP);
	assert_int_equal(p.h.sport, 40000);
	assert_int_equal(p.h.dport, 22);
	assert_int_equal(p.h.tcp_flags, IPPKT_TCP_SYN);
	assert_int_equal(p.h.has, IPPKT_HAS_PORTS | IPPKT_HAS_TCP);
	assert_int_equal(p.h.frag, IPPKT_FRAG_NONE);
	assert_int_equal(p.h.l4_off, 20);
	assert_int_equal(p.h.end, len);
	assert_false(p.has_inner);

	/* Bytes after the stated length (padding) are ignored. */
	b[len] = 0xee;
	assert_int_equal(ippkt_parse(&p, b, len + 1), 0);
	assert_int_equal(p.h.end, len);

	len = pkt_udp(b, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 5353, 53);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.src.family, IP_FAMILY_V6);
	assert_int_equal(p.h.proto, IPPKT_PROTO_UDP);
	assert_int_equal(p.h.sport, 5353);
	assert_int_equal(p.h.dport, 53);
	assert_int_equal(p.h.l4_off, 40);

	len = pkt_echo(b, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", true, 0x1234);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.icmp_kind, IPPKT_ICMP_ECHO_REQUEST);
	assert_int_equal(p.h.icmp_id, 0x1234);
	assert_int_equal(p.h.has, IPPKT_HAS_ICMP | IPPKT_HAS_ECHO_ID);

	len = pkt_echo(b, "100.64.0.2", "100.64.0.1", false, 7);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.icmp_kind, IPPKT_ICMP_ECHO_REPLY);
	assert_int_equal(p.h.icmp_id, 7);

	/* ICMP numbers in the other family are just protocols. */
	{
		struct ip_addr s = ip("fd7a:115c:a1e0::2"), d = ip("fd7a:115c:a1e0::1");
		uint8_t l4[16];

		len = build(b, &s, &d, IPPKT_PROTO_ICMP, l4, icmp(l4, 8, 0, 1), NULL);
		assert_int_equal(ippkt_parse(&p, b, len), 0);
		assert_int_equal(p.h.icmp_kind, IPPKT_ICMP_NONE);
		assert_int_equal(p.h.has, 0);
	}

	/* IPv4 options move the upper layer. */
	{
		struct ip_addr s = ip("10.0.0.1"), d = ip("10.0.0.2");
		struct wrap w = {.v4_options = 8};
		uint8_t l4[64];

		len = build(b, &s, &d, IPPKT_PROTO_UDP, l4, udp(l4, 1, 2), &w);
		assert_int_equal(ippkt_parse(&p, b, len), 0);
		assert_int_equal(p.h.l4_off, 28);
		assert_int_equal(p.h.dport, 2);
	}
	assert_true(ippkt_proto_has_ports(IPPKT_PROTO_SCTP));
	assert_false(ippkt_proto_has_ports(IPPKT_PROTO_ICMP));
}

static void test_ippkt_ext_headers(void **state)
{
	static const uint8_t chain[] = {IPPKT_PROTO_HOPOPTS, IPPKT_PROTO_DSTOPTS,
					IPPKT_PROTO_ROUTING, IPPKT_PROTO_AH};
	static const uint8_t late_hbh[] = {IPPKT_PROTO_DSTOPTS, IPPKT_PROTO_HOPOPTS};
	static const uint8_t many[IPPKT_MAX_EXT_HEADERS + 1] = {
		IPPKT_PROTO_DSTOPTS, IPPKT_PROTO_DSTOPTS, IPPKT_PROTO_DSTOPTS,
		IPPKT_PROTO_DSTOPTS, IPPKT_PROTO_DSTOPTS, IPPKT_PROTO_DSTOPTS,
		IPPKT_PROTO_DSTOPTS, IPPKT_PROTO_DSTOPTS, IPPKT_PROTO_DSTOPTS};
	struct ip_addr s = ip("fd00::2"), d = ip("fd00::1");
	uint8_t b[PKT_MAX], l4[64];
	struct wrap w = {.ext = chain, .next = sizeof(chain)};
	struct ippkt p;
	size_t len;

	(void)state;
	len = build(b, &s, &d, IPPKT_PROTO_TCP, l4, tcp(l4, 1000, 443, IPPKT_TCP_SYN), &w);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.proto, IPPKT_PROTO_TCP);
	assert_int_equal(p.h.l4_off, 40 + 8 + 8 + 8 + 12);
	assert_int_equal(p.h.dport, 443);

	/* Cut inside the chain or inside the TCP header: refused. */
	for (size_t cut = 40; cut < len; cut++) {
		put16(b + 4, (uint16_t)(cut - 40));
		assert_int_equal(ippkt_parse(&p, b, cut), -EINVAL);
	}

	/* The maximum number of extension headers passes, one more does not. */
	w.ext = many;
	w.next = IPPKT_MAX_EXT_HEADERS;
	len = build(b, &s, &d, IPPKT_PROTO_UDP, l4, udp(l4, 1, 2), &w);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	w.next = IPPKT_MAX_EXT_HEADERS + 1;
	len = build(b, &s, &d, IPPKT_PROTO_UDP, l4, udp(l4, 1, 2), &w);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);

	/* Hop-by-hop only first. */
	w.ext = late_hbh;
	w.next = sizeof(late_hbh);
	len = build(b, &s, &d, IPPKT_PROTO_UDP, l4, udp(l4, 1, 2), &w);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);

	/* "No next header" is a protocol without ports. */
	len = build(b, &s, &d, 59, l4, 0, NULL);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.proto, 59);
	assert_int_equal(p.h.has, 0);
}

static void test_ippkt_fragments(void **state)
{
	struct ip_addr s4 = ip("10.0.0.2"), d4 = ip("10.0.0.1");
	struct ip_addr s6 = ip("fd00::2"), d6 = ip("fd00::1");
	uint8_t b[PKT_MAX], l4[64];
	struct wrap w = {.frag = true, .more = true, .frag_id = 0xabcd};
	struct ippkt p;
	size_t len;

	(void)state;
	/* First fragments hold the ports. */
	len = build(b, &s4, &d4, IPPKT_PROTO_UDP, l4, udp(l4, 1, 53), &w);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.frag, IPPKT_FRAG_FIRST);
	assert_int_equal(p.h.frag_id, 0xabcd);
	assert_int_equal(p.h.dport, 53);
	w.frag_id = 0x12345678;
	len = build(b, &s6, &d6, IPPKT_PROTO_UDP, l4, udp(l4, 1, 53), &w);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.frag, IPPKT_FRAG_FIRST);
	assert_int_equal(p.h.frag_id, 0x12345678);
	assert_int_equal(p.h.l4_off, 48);

	/* A first fragment too short for the TCP header (RFC 1858): refused. */
	len = build(b, &s4, &d4, IPPKT_PROTO_TCP, l4, 8, &w);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);
	len = build(b, &s6, &d6, IPPKT_PROTO_TCP, l4, 8, &w);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);

	/* Later fragments: no ports. */
	w.frag_off = 1480;
	w.more = false;
	len = build(b, &s4, &d4, IPPKT_PROTO_TCP, l4, 8, &w);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.frag, IPPKT_FRAG_LATER);
	assert_int_equal(p.h.proto, IPPKT_PROTO_TCP);
	assert_int_equal(p.h.has, 0);
	len = build(b, &s6, &d6, IPPKT_PROTO_TCP, l4, 8, &w);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.frag, IPPKT_FRAG_LATER);
	assert_int_equal(p.h.frag_id, 0x12345678);

	/* A later fragment that would overlap the TCP header: refused; UDP's is 8 bytes. */
	w.frag_off = 8;
	len = build(b, &s4, &d4, IPPKT_PROTO_TCP, l4, 8, &w);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);
	len = build(b, &s6, &d6, IPPKT_PROTO_TCP, l4, 8, &w);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);
	len = build(b, &s4, &d4, IPPKT_PROTO_UDP, l4, 8, &w);
	assert_int_equal(ippkt_parse(&p, b, len), 0);

	/* An IPv6 atomic fragment is a whole packet (RFC 6946). */
	w.frag_off = 0;
	len = build(b, &s6, &d6, IPPKT_PROTO_TCP, l4, tcp(l4, 5, 6, IPPKT_TCP_SYN), &w);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.frag, IPPKT_FRAG_NONE);
	assert_int_equal(p.h.dport, 6);
}

static void test_ippkt_icmp_errors(void **state)
{
	uint8_t b[PKT_MAX], q[PKT_MAX];
	struct ippkt p;
	size_t len, qlen;

	(void)state;
	qlen = pkt_udp(q, "100.64.0.1", "100.64.0.2", 4000, 53);
	len = pkt_error(b, "100.64.0.2", "100.64.0.1", IPPKT_ICMP4_UNREACHABLE, q, 28);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.icmp_kind, IPPKT_ICMP_ERROR);
	assert_true(p.has_inner);
	assert_true(ip_addr_equal(&p.inner.src, &p.h.dst));
	assert_int_equal(p.inner.proto, IPPKT_PROTO_UDP);
	assert_int_equal(p.inner.sport, 4000);
	assert_int_equal(p.inner.dport, 53);

	/* Only the IP header quoted: parsed, no ports. */
	len = pkt_error(b, "100.64.0.2", "100.64.0.1", IPPKT_ICMP4_TIME_EXCEEDED, q, 20);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_true(p.has_inner);
	assert_int_equal(p.inner.has & IPPKT_HAS_PORTS, 0);

	/* Less than the IP header: refused. So is nothing at all, and another family. */
	len = pkt_error(b, "100.64.0.2", "100.64.0.1", IPPKT_ICMP4_UNREACHABLE, q, 19);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);
	len = pkt_error(b, "100.64.0.2", "100.64.0.1", IPPKT_ICMP4_UNREACHABLE, q, 0);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);
	qlen = pkt_tcp(q, "fd00::1", "fd00::2", 4000, 80, IPPKT_TCP_ACK);
	len = pkt_error(b, "100.64.0.2", "100.64.0.1", IPPKT_ICMP4_UNREACHABLE, q, qlen);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);

	/* ICMPv6 packet too big quoting a whole TCP segment; quoted echo requests. */
	len = pkt_error(b, "fd00::2", "fd00::1", IPPKT_ICMP6_PACKET_TOO_BIG, q, qlen);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.inner.proto, IPPKT_PROTO_TCP);
	assert_int_equal(p.inner.dport, 80);
	assert_int_equal(p.inner.tcp_flags, IPPKT_TCP_ACK);
	qlen = pkt_echo(q, "fd00::1", "fd00::2", true, 99);
	len = pkt_error(b, "fd00::2", "fd00::1", IPPKT_ICMP6_TIME_EXCEEDED, q, qlen);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.inner.icmp_kind, IPPKT_ICMP_ECHO_REQUEST);
	assert_int_equal(p.inner.icmp_id, 99);

	/* Redirects and source quench are not errors here. */
	len = pkt_error(b, "100.64.0.2", "100.64.0.1", 5, q, 0);
	assert_int_equal(ippkt_parse(&p, b, len), 0);
	assert_int_equal(p.h.icmp_kind, IPPKT_ICMP_OTHER);
}

static void test_ippkt_malformed(void **state)
{
	uint8_t b[PKT_MAX], q[PKT_MAX];
	struct ippkt p;
	size_t len, qlen;

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(ippkt_parse(&p, b, 0), -EINVAL);
	assert_int_equal(ippkt_parse(&p, b, 40), -EINVAL); /* version 0 */

	/* Every truncation of a valid packet (length fields kept) is refused. */
	len = pkt_tcp(b, "10.0.0.1", "10.0.0.2", 1, 2, IPPKT_TCP_SYN);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(ippkt_parse(&p, b, cut), -EINVAL);
	qlen = pkt_udp(q, "fd00::1", "fd00::2", 1, 2);
	len = pkt_error(b, "fd00::2", "fd00::1", IPPKT_ICMP6_UNREACHABLE, q, qlen);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(ippkt_parse(&p, b, cut), -EINVAL);

	/* IPv4: header length below 20 or past the total length. */
	len = pkt_udp(b, "10.0.0.1", "10.0.0.2", 1, 2);
	b[0] = 0x44;
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);
	b[0] = 0x4f;
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);
	b[0] = 0x45;
	put16(b + 2, 19);
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);
	put16(b + 2, (uint16_t)(len + 1));
	assert_int_equal(ippkt_parse(&p, b, len), -EINVAL);

	/* Random bytes never crash; what parses has consistent fields. */
	for (int i = 0; i < 20000; i++) {
		size_t n = rnd(120);

		for (size_t k = 0; k < n; k++)
			b[k] = (uint8_t)rnd(256);
		if (n && rnd(2))
			b[0] = (uint8_t)((rnd(2) ? 0x45 : 0x60) | (b[0] & 0x0f));
		if (!ippkt_parse(&p, b, n)) {
			assert_true(p.h.end <= n);
			assert_int_equal(p.h.src.family, b[0] >> 4);
			if (p.h.has & IPPKT_HAS_PORTS)
				assert_true(ippkt_proto_has_ports(p.h.proto));
		}
	}
}

/* ---- the filter ---- */

struct rule_store {
	struct ctl_filter_rule rules[16];
	struct ip_prefix src[16][8];
	struct ctl_filter_dst dst[16][8];
	uint8_t protos[16][8];
	size_t n;
};

/* Add a rule: @srcs and @dsts are NULL-terminated; a dst is "PREFIX" or "PREFIX port[-port]". */
static void add_rule(struct rule_store *rs, const char *const *srcs, const char *const *dsts,
		     const uint8_t *protos, size_t nprotos)
{
	struct ctl_filter_rule *r = &rs->rules[rs->n];

	memset(r, 0, sizeof(*r));
	r->src = rs->src[rs->n];
	r->dst = rs->dst[rs->n];
	r->protos = nprotos ? rs->protos[rs->n] : NULL;
	for (; *srcs; srcs++)
		r->src[r->nsrc++] = pfx(*srcs);
	for (; *dsts; dsts++) {
		char text[64];
		unsigned int first = 0, last = 65535;
		char *sp;

		snprintf(text, sizeof(text), "%s", *dsts);
		sp = strchr(text, ' ');
		if (sp) {
			*sp = 0;
			if (sscanf(sp + 1, "%u-%u", &first, &last) == 1)
				last = first;
		}
		r->dst[r->ndst].prefix = pfx(text);
		r->dst[r->ndst].port_first = (uint16_t)first;
		r->dst[r->ndst].port_last = (uint16_t)last;
		r->ndst++;
	}
	if (nprotos)
		memcpy(r->protos, protos, nprotos);
	r->nprotos = nprotos;
	rs->n++;
}

static const char *const self_addrs[] = {"100.64.0.1", "fd7a:115c:a1e0::1"};

static struct filter *new_filter(size_t max_flows)
{
	struct filter_config cfg = {.max_flows = max_flows, .now_ms = fake_clock};
	struct ip_addr a[2] = {ip(self_addrs[0]), ip(self_addrs[1])};
	struct ip_prefix routes[1] = {pfx("192.168.10.0/24")};
	struct filter *f;

	assert_int_equal(filter_create(&f, &cfg), 0);
	assert_int_equal(filter_set_addresses(f, a, 2, routes, 1), 0);
	return f;
}

static enum filter_reason in_tcp(struct filter *f, const char *src, const char *dst, uint16_t sport,
				 uint16_t dport, uint8_t flags)
{
	uint8_t b[PKT_MAX];

	return filter_check_inbound(f, b, pkt_tcp(b, src, dst, sport, dport, flags));
}

static enum filter_reason in_udp(struct filter *f, const char *src, const char *dst, uint16_t sport,
				 uint16_t dport)
{
	uint8_t b[PKT_MAX];

	return filter_check_inbound(f, b, pkt_udp(b, src, dst, sport, dport));
}

static enum filter_reason in_echo(struct filter *f, const char *src, const char *dst, bool request,
				  uint16_t id)
{
	uint8_t b[PKT_MAX];

	return filter_check_inbound(f, b, pkt_echo(b, src, dst, request, id));
}

static void out_udp(struct filter *f, const char *src, const char *dst, uint16_t sport,
		    uint16_t dport)
{
	uint8_t b[PKT_MAX];

	filter_note_outbound(f, b, pkt_udp(b, src, dst, sport, dport));
}

static void out_tcp(struct filter *f, const char *src, const char *dst, uint16_t sport,
		    uint16_t dport, uint8_t flags)
{
	uint8_t b[PKT_MAX];

	filter_note_outbound(f, b, pkt_tcp(b, src, dst, sport, dport, flags));
}

static void out_echo(struct filter *f, const char *src, const char *dst, uint16_t id)
{
	uint8_t b[PKT_MAX];

	filter_note_outbound(f, b, pkt_echo(b, src, dst, true, id));
}

static void test_no_filter(void **state)
{
	struct filter *f = new_filter(0);
	struct filter_counters c;
	uint8_t junk[3] = {1, 2, 3};

	(void)state;
	assert_int_equal(in_tcp(f, "100.64.0.9", "100.64.0.1", 1, 22, IPPKT_TCP_SYN),
			 FILTER_ACCEPT_NO_FILTER);
	assert_int_equal(in_udp(f, "8.8.8.8", "1.2.3.4", 1, 2), FILTER_ACCEPT_NO_FILTER);
	assert_int_equal(filter_check_inbound(f, junk, sizeof(junk)), FILTER_ACCEPT_NO_FILTER);
	/* has_filter false whatever the rules say. */
	assert_int_equal(filter_set_rules(f, NULL, 0, false), 0);
	assert_int_equal(in_echo(f, "100.64.0.9", "100.64.0.1", true, 1), FILTER_ACCEPT_NO_FILTER);
	filter_get_counters(f, &c);
	assert_int_equal(c.inbound[FILTER_ACCEPT_NO_FILTER], 4);
	assert_false(c.has_filter);
	assert_true(filter_reason_accepts(FILTER_ACCEPT_NO_FILTER));
	filter_destroy(f);
}

static void test_rules(void **state)
{
	static const uint8_t tcp_only[] = {IPPKT_PROTO_TCP}, udp_only[] = {IPPKT_PROTO_UDP};
	static const uint8_t sctp_gre[] = {IPPKT_PROTO_SCTP, 47};
	struct filter *f = new_filter(0);
	struct rule_store rs = {0};
	uint8_t b[PKT_MAX], l4[64];
	struct filter_counters c;

	(void)state;
	/* laptop → ssh; the eng subnet → web ports over TCP; a host → DNS over UDP. */
	add_rule(&rs, (const char *const[]){"100.64.0.2/32", "fd7a:115c:a1e0::2/128", NULL},
		 (const char *const[]){"100.64.0.1/32 22", "fd7a:115c:a1e0::1/128 22", NULL}, NULL,
		 0);
	add_rule(&rs, (const char *const[]){"100.64.8.0/24", NULL},
		 (const char *const[]){"100.64.0.1/32 80", "100.64.0.1/32 8000-8100", NULL},
		 tcp_only, 1);
	add_rule(&rs, (const char *const[]){"100.64.0.3/32", NULL},
		 (const char *const[]){"0.0.0.0/0 53", NULL}, udp_only, 1);
	/* Subnet route: 192.168.10.0/24 reachable from anyone in the tailnet, SCTP and GRE. */
	add_rule(&rs, (const char *const[]){"100.64.0.0/10", NULL},
		 (const char *const[]){"192.168.10.0/24 5000", NULL}, sctp_gre, 2);
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);

	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 5555, 22, IPPKT_TCP_SYN),
			 FILTER_ACCEPT_RULE);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 5555, 22), FILTER_ACCEPT_RULE);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 5555, 23, IPPKT_TCP_SYN),
			 FILTER_DROP_NO_RULE);
	assert_int_equal(
		in_tcp(f, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", 5555, 22, IPPKT_TCP_SYN),
		FILTER_ACCEPT_RULE);
	/* An address never stands for its node's other family. */
	assert_int_equal(
		in_tcp(f, "fd7a:115c:a1e0::3", "fd7a:115c:a1e0::1", 5555, 22, IPPKT_TCP_SYN),
		FILTER_DROP_NO_RULE);
	assert_int_equal(in_tcp(f, "100.64.8.77", "100.64.0.1", 1, 80, IPPKT_TCP_SYN),
			 FILTER_ACCEPT_RULE);
	assert_int_equal(in_tcp(f, "100.64.8.77", "100.64.0.1", 1, 8050, IPPKT_TCP_SYN),
			 FILTER_ACCEPT_RULE);
	assert_int_equal(in_tcp(f, "100.64.8.77", "100.64.0.1", 1, 8101, IPPKT_TCP_SYN),
			 FILTER_DROP_NO_RULE);
	assert_int_equal(in_udp(f, "100.64.8.77", "100.64.0.1", 1, 80), FILTER_DROP_NO_RULE);
	assert_int_equal(in_tcp(f, "100.64.9.77", "100.64.0.1", 1, 80, IPPKT_TCP_SYN),
			 FILTER_DROP_NO_RULE);
	assert_int_equal(in_udp(f, "100.64.0.3", "100.64.0.1", 1, 53), FILTER_ACCEPT_RULE);
	assert_int_equal(in_tcp(f, "100.64.0.3", "100.64.0.1", 1, 53, IPPKT_TCP_SYN),
			 FILTER_DROP_NO_RULE);

	/* SCTP has ports; GRE does not, so the rule's port range does not matter. */
	{
		struct ip_addr s = ip("100.70.0.1"), d = ip("192.168.10.20");

		assert_int_equal(filter_check_inbound(f, b,
						      build(b, &s, &d, IPPKT_PROTO_SCTP, l4,
							    udp(l4, 9, 5000), NULL)),
				 FILTER_ACCEPT_RULE);
		assert_int_equal(filter_check_inbound(f, b,
						      build(b, &s, &d, IPPKT_PROTO_SCTP, l4,
							    udp(l4, 9, 5001), NULL)),
				 FILTER_DROP_NO_RULE);
		assert_int_equal(filter_check_inbound(f, b, build(b, &s, &d, 47, l4, 4, NULL)),
				 FILTER_ACCEPT_RULE);
		assert_int_equal(filter_check_inbound(f, b, build(b, &s, &d, 50, l4, 4, NULL)),
				 FILTER_DROP_NO_RULE);
	}

	/* Replacing the rules takes effect at once. */
	assert_int_equal(filter_set_rules(f, rs.rules + 1, 1, true), 0);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 5555, 22, IPPKT_TCP_SYN),
			 FILTER_DROP_NO_RULE);
	filter_get_counters(f, &c);
	assert_int_equal(c.rules, 1);
	assert_int_equal(c.groups, 1);
	assert_true(c.has_filter);
	assert_int_equal(c.inbound[FILTER_ACCEPT_RULE], 8);
	assert_int_equal(c.inbound[FILTER_DROP_NO_RULE], 9);
	filter_destroy(f);
}

/* The strict ICMP view of docs/policy.md: ping needs a rule naming ICMP of its family. */
static void test_icmp_view(void **state)
{
	static const uint8_t tcp_only[] = {IPPKT_PROTO_TCP}, icmp4[] = {IPPKT_PROTO_ICMP};
	static const uint8_t icmp6[] = {IPPKT_PROTO_ICMPV6};
	struct filter *f = new_filter(0);
	struct rule_store rs = {0};

	(void)state;
	add_rule(&rs, (const char *const[]){"100.64.0.2/32", "fd7a:115c:a1e0::2/128", NULL},
		 (const char *const[]){"100.64.0.1/32 22", "fd7a:115c:a1e0::1/128 22", NULL},
		 tcp_only, 1);
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);
	assert_int_equal(in_echo(f, "100.64.0.2", "100.64.0.1", true, 1), FILTER_DROP_NO_RULE);
	assert_int_equal(in_echo(f, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", true, 1),
			 FILTER_DROP_NO_RULE);

	/* Without protocols, a port-22 rule also lets ping through (ports don't matter). */
	rs.rules[0].nprotos = 0;
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);
	assert_int_equal(in_echo(f, "100.64.0.2", "100.64.0.1", true, 1), FILTER_ACCEPT_RULE);
	assert_int_equal(in_echo(f, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", true, 1),
			 FILTER_ACCEPT_RULE);

	/* ICMP (1) covers IPv4 only, ICMPv6 (58) IPv6 only. */
	rs.n = 0;
	add_rule(&rs, (const char *const[]){"100.64.0.2/32", "fd7a:115c:a1e0::2/128", NULL},
		 (const char *const[]){"100.64.0.1/32", "fd7a:115c:a1e0::1/128", NULL}, icmp4, 1);
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);
	assert_int_equal(in_echo(f, "100.64.0.2", "100.64.0.1", true, 1), FILTER_ACCEPT_RULE);
	assert_int_equal(in_echo(f, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", true, 1),
			 FILTER_DROP_NO_RULE);
	rs.n = 0;
	add_rule(&rs, (const char *const[]){"fd7a:115c:a1e0::2/128", NULL},
		 (const char *const[]){"fd7a:115c:a1e0::1/128", NULL}, icmp6, 1);
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);
	assert_int_equal(in_echo(f, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", true, 1),
			 FILTER_ACCEPT_RULE);

	/* Other ICMP messages that are neither replies nor errors are new too. */
	{
		uint8_t b[PKT_MAX], l4[16];
		struct ip_addr s = ip("100.64.0.2"), d = ip("100.64.0.1");

		assert_int_equal(filter_check_inbound(f, b,
						      build(b, &s, &d, IPPKT_PROTO_ICMP, l4,
							    icmp(l4, 13, 0, 1), NULL)),
				 FILTER_DROP_NO_RULE);
	}
	filter_destroy(f);
}

static void test_default_deny_and_replies(void **state)
{
	struct filter *f = new_filter(0);

	(void)state;
	assert_int_equal(filter_set_rules(f, NULL, 0, true), 0);
	/* Unsolicited: dropped. */
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 40000), FILTER_DROP_NO_RULE);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 1, 22, IPPKT_TCP_SYN),
			 FILTER_DROP_NO_RULE);
	assert_int_equal(in_echo(f, "100.64.0.2", "100.64.0.1", true, 5), FILTER_DROP_NO_RULE);
	assert_int_equal(in_echo(f, "100.64.0.2", "100.64.0.1", false, 5), FILTER_DROP_NO_FLOW);

	/* TCP that is not a bare SYN needs no state; SYN-ACK included. */
	assert_int_equal(
		in_tcp(f, "100.64.0.2", "100.64.0.1", 22, 40000, IPPKT_TCP_SYN | IPPKT_TCP_ACK),
		FILTER_ACCEPT_TCP);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 22, 40000, IPPKT_TCP_ACK),
			 FILTER_ACCEPT_TCP);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 22, 40000, IPPKT_TCP_RST),
			 FILTER_ACCEPT_TCP);

	/* Outbound flows let their replies in, and only those. */
	out_udp(f, "100.64.0.1", "100.64.0.2", 40000, 53);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 40000), FILTER_ACCEPT_FLOW);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 54, 40000), FILTER_DROP_NO_RULE);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 40001), FILTER_DROP_NO_RULE);
	assert_int_equal(in_udp(f, "100.64.0.3", "100.64.0.1", 53, 40000), FILTER_DROP_NO_RULE);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 53, 40000, IPPKT_TCP_SYN),
			 FILTER_DROP_NO_RULE);

	out_echo(f, "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2", 77);
	assert_int_equal(in_echo(f, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", false, 77),
			 FILTER_ACCEPT_FLOW);
	assert_int_equal(in_echo(f, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", false, 78),
			 FILTER_DROP_NO_FLOW);
	assert_int_equal(in_echo(f, "fd7a:115c:a1e0::3", "fd7a:115c:a1e0::1", false, 77),
			 FILTER_DROP_NO_FLOW);
	/* The echo flow does not open anything else. */
	assert_int_equal(in_echo(f, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1", true, 77),
			 FILTER_DROP_NO_RULE);

	/* Simultaneous open: a SYN answering our SYN. */
	out_tcp(f, "100.64.0.1", "100.64.0.2", 40000, 443, IPPKT_TCP_SYN);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 443, 40000, IPPKT_TCP_SYN),
			 FILTER_ACCEPT_FLOW);

	/* Outbound packets nothing answers are not tracked. */
	{
		struct filter_counters c;
		uint8_t b[PKT_MAX];

		filter_note_outbound(f, b, pkt_echo(b, "100.64.0.1", "100.64.0.2", false, 1));
		filter_note_outbound(f, b, pkt_udp(b, "100.64.0.1", "224.0.0.251", 5353, 5353));
		filter_note_outbound(f, b, 3);
		filter_get_counters(f, &c);
		assert_int_equal(c.outbound_tracked, 3);
		assert_int_equal(c.outbound_untracked, 3);
		assert_int_equal(c.flows, 3);
	}
	filter_destroy(f);
}

static void test_icmp_errors(void **state)
{
	struct filter *f = new_filter(0);
	uint8_t b[PKT_MAX], q[PKT_MAX];
	size_t qlen;

	(void)state;
	assert_int_equal(filter_set_rules(f, NULL, 0, true), 0);
	out_udp(f, "100.64.0.1", "100.64.0.2", 40000, 53);
	qlen = pkt_udp(q, "100.64.0.1", "100.64.0.2", 40000, 53);
	/* From the peer or from any router on the way (an exit node's upstream). */
	assert_int_equal(filter_check_inbound(f, b,
					      pkt_error(b, "100.64.0.2", "100.64.0.1",
							IPPKT_ICMP4_UNREACHABLE, q, qlen)),
			 FILTER_ACCEPT_ICMP_ERROR);
	assert_int_equal(filter_check_inbound(f, b,
					      pkt_error(b, "203.0.113.1", "100.64.0.1",
							IPPKT_ICMP4_TIME_EXCEEDED, q, 28)),
			 FILTER_ACCEPT_ICMP_ERROR);
	/* Not quoting the ports: no flow to match. */
	assert_int_equal(filter_check_inbound(f, b,
					      pkt_error(b, "100.64.0.2", "100.64.0.1",
							IPPKT_ICMP4_UNREACHABLE, q, 20)),
			 FILTER_DROP_NO_FLOW);
	/* About a packet of no flow, or sent to someone else than the quoted sender. */
	qlen = pkt_udp(q, "100.64.0.1", "100.64.0.2", 40001, 53);
	assert_int_equal(filter_check_inbound(f, b,
					      pkt_error(b, "100.64.0.2", "100.64.0.1",
							IPPKT_ICMP4_UNREACHABLE, q, qlen)),
			 FILTER_DROP_NO_FLOW);
	qlen = pkt_udp(q, "192.168.10.5", "100.64.0.2", 40000, 53);
	assert_int_equal(filter_check_inbound(f, b,
					      pkt_error(b, "100.64.0.2", "100.64.0.1",
							IPPKT_ICMP4_UNREACHABLE, q, qlen)),
			 FILTER_DROP_NO_FLOW);

	/* Packet too big for a TCP connection this node serves (its replies made the flow). */
	out_tcp(f, "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2", 22, 50000,
		IPPKT_TCP_ACK | IPPKT_TCP_SYN);
	qlen = pkt_tcp(q, "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2", 22, 50000, IPPKT_TCP_ACK);
	assert_int_equal(filter_check_inbound(f, b,
					      pkt_error(b, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1",
							IPPKT_ICMP6_PACKET_TOO_BIG, q, qlen)),
			 FILTER_ACCEPT_ICMP_ERROR);
	/* An error about our ping. */
	out_echo(f, "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::9", 3);
	qlen = pkt_echo(q, "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::9", true, 3);
	assert_int_equal(filter_check_inbound(f, b,
					      pkt_error(b, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::1",
							IPPKT_ICMP6_UNREACHABLE, q, qlen)),
			 FILTER_ACCEPT_ICMP_ERROR);
	filter_destroy(f);
}

static void test_expiry(void **state)
{
	struct filter *f = new_filter(0);

	(void)state;
	assert_int_equal(filter_set_rules(f, NULL, 0, true), 0);

	/* UDP: 2 minutes after the last packet either way. */
	out_udp(f, "100.64.0.1", "100.64.0.2", 40000, 53);
	fake_now += FILTER_TIMEOUT_UDP - 1;
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 40000), FILTER_ACCEPT_FLOW);
	fake_now += FILTER_TIMEOUT_UDP - 1;
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 40000), FILTER_ACCEPT_FLOW);
	fake_now += FILTER_TIMEOUT_UDP;
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 40000), FILTER_DROP_NO_RULE);

	/* Echo: 30 s from the last request; replies do not extend it. */
	out_echo(f, "100.64.0.1", "100.64.0.2", 9);
	fake_now += FILTER_TIMEOUT_ICMP_ECHO - 1;
	assert_int_equal(in_echo(f, "100.64.0.2", "100.64.0.1", false, 9), FILTER_ACCEPT_FLOW);
	fake_now += 1;
	assert_int_equal(in_echo(f, "100.64.0.2", "100.64.0.1", false, 9), FILTER_DROP_NO_FLOW);

	/* TCP (seen through ICMP errors): the state our last segment left sets the time. */
	{
		uint8_t b[PKT_MAX], q[PKT_MAX];
		size_t qlen = pkt_tcp(q, "100.64.0.1", "100.64.0.2", 40000, 443, IPPKT_TCP_ACK);
		size_t len =
			pkt_error(b, "100.64.0.2", "100.64.0.1", IPPKT_ICMP4_UNREACHABLE, q, qlen);

		out_tcp(f, "100.64.0.1", "100.64.0.2", 40000, 443, IPPKT_TCP_SYN);
		fake_now += FILTER_TIMEOUT_TCP_OPENING;
		assert_int_equal(filter_check_inbound(f, b, len), FILTER_DROP_NO_FLOW);

		out_tcp(f, "100.64.0.1", "100.64.0.2", 40000, 443, IPPKT_TCP_SYN);
		out_tcp(f, "100.64.0.1", "100.64.0.2", 40000, 443, IPPKT_TCP_ACK);
		fake_now += FILTER_TIMEOUT_TCP_ESTABLISHED - 1;
		assert_int_equal(filter_check_inbound(f, b, len), FILTER_ACCEPT_ICMP_ERROR);
		/* After our FIN, even our ACKs keep it closing. */
		out_tcp(f, "100.64.0.1", "100.64.0.2", 40000, 443, IPPKT_TCP_FIN | IPPKT_TCP_ACK);
		out_tcp(f, "100.64.0.1", "100.64.0.2", 40000, 443, IPPKT_TCP_ACK);
		fake_now += FILTER_TIMEOUT_TCP_CLOSING - 1;
		assert_int_equal(filter_check_inbound(f, b, len), FILTER_ACCEPT_ICMP_ERROR);
		fake_now += 1;
		assert_int_equal(filter_check_inbound(f, b, len), FILTER_DROP_NO_FLOW);
		/* A RST leaves 10 s. */
		out_tcp(f, "100.64.0.1", "100.64.0.2", 40000, 443, IPPKT_TCP_ACK);
		out_tcp(f, "100.64.0.1", "100.64.0.2", 40000, 443, IPPKT_TCP_RST);
		fake_now += FILTER_TIMEOUT_TCP_RESET - 1;
		assert_int_equal(filter_check_inbound(f, b, len), FILTER_ACCEPT_ICMP_ERROR);
		fake_now += 1;
		assert_int_equal(filter_check_inbound(f, b, len), FILTER_DROP_NO_FLOW);
	}
	filter_destroy(f);
}

static void test_lru_bound(void **state)
{
	struct filter *f = new_filter(4);
	struct filter_counters c;

	(void)state;
	assert_int_equal(filter_set_rules(f, NULL, 0, true), 0);
	for (uint16_t p = 1; p <= 4; p++)
		out_udp(f, "100.64.0.1", "100.64.0.2", p, 53);
	/* A reply makes flow 1 the most recent: flow 2 goes first. */
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 1), FILTER_ACCEPT_FLOW);
	out_udp(f, "100.64.0.1", "100.64.0.2", 5, 53);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 2), FILTER_DROP_NO_RULE);
	for (uint16_t p = 3; p <= 5; p++)
		assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, p), FILTER_ACCEPT_FLOW);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 1), FILTER_ACCEPT_FLOW);
	filter_get_counters(f, &c);
	assert_int_equal(c.flows, 4);
	assert_int_equal(c.max_flows, 4);
	assert_int_equal(c.flows_evicted, 1);
	/* Expired flows make room without counting as evictions. */
	fake_now += FILTER_TIMEOUT_UDP;
	for (uint16_t p = 10; p < 14; p++)
		out_udp(f, "100.64.0.1", "100.64.0.2", p, 53);
	filter_get_counters(f, &c);
	assert_int_equal(c.flows_evicted, 1);
	filter_destroy(f);
}

static void test_shields_up(void **state)
{
	struct filter *f = new_filter(0);
	struct rule_store rs = {0};

	(void)state;
	add_rule(&rs, (const char *const[]){"0.0.0.0/0", "::/0", NULL},
		 (const char *const[]){"0.0.0.0/0", "::/0", NULL}, NULL, 0);
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);
	filter_set_shields_up(f, true);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 1, 22, IPPKT_TCP_SYN),
			 FILTER_DROP_SHIELDS_UP);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 22), FILTER_DROP_SHIELDS_UP);
	assert_int_equal(in_echo(f, "100.64.0.2", "100.64.0.1", true, 1), FILTER_DROP_SHIELDS_UP);
	/* What no rule allows is still "no rule". */
	assert_int_equal(filter_set_rules(f, NULL, 0, true), 0);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 22), FILTER_DROP_NO_RULE);
	/* Replies pass. */
	out_udp(f, "100.64.0.1", "100.64.0.2", 40000, 53);
	out_echo(f, "100.64.0.1", "100.64.0.2", 4);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 40000), FILTER_ACCEPT_FLOW);
	assert_int_equal(in_echo(f, "100.64.0.2", "100.64.0.1", false, 4), FILTER_ACCEPT_FLOW);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 443, 40000, IPPKT_TCP_ACK),
			 FILTER_ACCEPT_TCP);

	/* Shields up before any netmap: nothing new comes in, replies do. */
	assert_int_equal(filter_set_rules(f, NULL, 0, false), 0);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 1, 22, IPPKT_TCP_SYN),
			 FILTER_DROP_SHIELDS_UP);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 53, 40000), FILTER_ACCEPT_FLOW);
	filter_set_shields_up(f, false);
	assert_int_equal(in_tcp(f, "100.64.0.2", "100.64.0.1", 1, 22, IPPKT_TCP_SYN),
			 FILTER_ACCEPT_NO_FILTER);
	filter_destroy(f);
}

static void test_local_check(void **state)
{
	static const char *const bad[] = {
		"224.0.0.1", "239.255.255.250", "255.255.255.255", "127.0.0.1",
		"0.0.0.0",   "169.254.169.254", "ff02::1",	   "::1",
		"::",	     "fe80::1",
	};
	struct filter *f = new_filter(0);
	struct rule_store rs = {0};

	(void)state;
	add_rule(&rs, (const char *const[]){"0.0.0.0/0", "::/0", NULL},
		 (const char *const[]){"0.0.0.0/0", "::/0", NULL}, NULL, 0);
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 2), FILTER_ACCEPT_RULE);
	assert_int_equal(in_udp(f, "100.64.0.2", "192.168.10.99", 1, 2), FILTER_ACCEPT_RULE);
	assert_int_equal(in_udp(f, "100.64.0.2", "192.168.11.1", 1, 2), FILTER_DROP_NOT_LOCAL);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.5", 1, 2), FILTER_DROP_NOT_LOCAL);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.100.100.100", 1, 53), FILTER_DROP_NOT_LOCAL);
	assert_int_equal(in_udp(f, "fd7a:115c:a1e0::2", "fd7a:115c:a1e0::5", 1, 2),
			 FILTER_DROP_NOT_LOCAL);
	/* Replies too must be addressed to us. */
	out_udp(f, "100.64.0.9", "100.64.0.2", 1, 2);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.9", 2, 1), FILTER_DROP_NOT_LOCAL);

	/* An exit node routes everything, but never these. */
	{
		struct ip_addr a[1] = {ip("100.64.0.1")};
		struct ip_prefix routes[2] = {pfx("0.0.0.0/0"), pfx("::/0")};

		assert_int_equal(filter_set_addresses(f, a, 1, routes, 2), 0);
		assert_int_equal(in_udp(f, "100.64.0.2", "8.8.8.8", 1, 53), FILTER_ACCEPT_RULE);
		assert_int_equal(in_udp(f, "fd7a:115c:a1e0::2", "2001:db8::1", 1, 53),
				 FILTER_ACCEPT_RULE);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *src = strchr(bad[i], ':') ? "fd7a:115c:a1e0::2" : "100.64.0.2";

			assert_int_equal(in_udp(f, src, bad[i], 1, 2), FILTER_DROP_BAD_DST);
		}
		/* IPv4-mapped IPv6 (which ip_addr_parse() refuses to even read). */
		{
			struct ip_addr s6 = ip("fd7a:115c:a1e0::2"), mapped = {.family = 6};
			uint8_t b[PKT_MAX], l4[64];

			mapped.bytes[10] = mapped.bytes[11] = 0xff;
			mapped.bytes[12] = 100;
			mapped.bytes[13] = 64;
			mapped.bytes[15] = 1;
			assert_int_equal(
				filter_check_inbound(f, b,
						     build(b, &s6, &mapped, IPPKT_PROTO_UDP, l4,
							   udp(l4, 1, 2), NULL)),
				FILTER_DROP_BAD_DST);
		}
		/* A link-local address of the node's own is fine. */
		a[0] = ip("169.254.169.254");
		assert_int_equal(filter_set_addresses(f, a, 1, NULL, 0), 0);
		assert_int_equal(in_udp(f, "100.64.0.2", "169.254.169.254", 1, 2),
				 FILTER_ACCEPT_RULE);
	}

	/* No addresses: nothing is local. Bad input fails closed. */
	assert_int_equal(filter_set_addresses(f, NULL, 0, NULL, 0), 0);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 2), FILTER_DROP_NOT_LOCAL);
	{
		struct ip_addr a[2] = {ip("100.64.0.1"), {0}};

		assert_int_equal(filter_set_addresses(f, a, 2, NULL, 0), -EINVAL);
		assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 2),
				 FILTER_DROP_NOT_LOCAL);
		assert_int_equal(filter_set_addresses(f, a, 1, NULL, 0), 0);
		assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 2), FILTER_ACCEPT_RULE);
	}
	filter_destroy(f);
}

static void test_fragments(void **state)
{
	static const uint8_t udp_only[] = {IPPKT_PROTO_UDP};
	struct ip_addr s = ip("100.64.0.2"), d = ip("100.64.0.1"), other = ip("100.64.0.3");
	struct filter *f = new_filter(0);
	struct rule_store rs = {0};
	uint8_t b[PKT_MAX], l4[64];
	struct wrap first = {.frag = true, .more = true, .frag_id = 42};
	struct wrap later = {.frag = true, .frag_off = 1480, .frag_id = 42};

	(void)state;
	add_rule(&rs, (const char *const[]){"100.64.0.0/10", NULL},
		 (const char *const[]){"100.64.0.1/32 53", NULL}, udp_only, 1);
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);

	/* A later fragment before its first: dropped. */
	assert_int_equal(
		filter_check_inbound(f, b, build(b, &s, &d, IPPKT_PROTO_UDP, l4, 8, &later)),
		FILTER_DROP_FRAGMENT);
	/* First fragment accepted by a rule: the later ones of that datagram follow. */
	assert_int_equal(
		filter_check_inbound(f, b,
				     build(b, &s, &d, IPPKT_PROTO_UDP, l4, udp(l4, 9, 53), &first)),
		FILTER_ACCEPT_RULE);
	assert_int_equal(
		filter_check_inbound(f, b, build(b, &s, &d, IPPKT_PROTO_UDP, l4, 8, &later)),
		FILTER_ACCEPT_FRAGMENT);
	/* Not those of another datagram, or from another source. */
	later.frag_id = 43;
	assert_int_equal(
		filter_check_inbound(f, b, build(b, &s, &d, IPPKT_PROTO_UDP, l4, 8, &later)),
		FILTER_DROP_FRAGMENT);
	later.frag_id = 42;
	assert_int_equal(
		filter_check_inbound(f, b, build(b, &other, &d, IPPKT_PROTO_UDP, l4, 8, &later)),
		FILTER_DROP_FRAGMENT);
	/* A first fragment no rule allows opens nothing. */
	first.frag_id = 44;
	later.frag_id = 44;
	assert_int_equal(
		filter_check_inbound(f, b,
				     build(b, &s, &d, IPPKT_PROTO_UDP, l4, udp(l4, 9, 54), &first)),
		FILTER_DROP_NO_RULE);
	assert_int_equal(
		filter_check_inbound(f, b, build(b, &s, &d, IPPKT_PROTO_UDP, l4, 8, &later)),
		FILTER_DROP_FRAGMENT);
	/* Reassembly time is bounded. */
	later.frag_id = 42;
	fake_now += FILTER_TIMEOUT_FRAGMENT;
	assert_int_equal(
		filter_check_inbound(f, b, build(b, &s, &d, IPPKT_PROTO_UDP, l4, 8, &later)),
		FILTER_DROP_FRAGMENT);

	/* IPv6, and a reply's fragments. */
	{
		struct ip_addr s6 = ip("fd7a:115c:a1e0::2"), d6 = ip("fd7a:115c:a1e0::1");

		first.frag_id = later.frag_id = 0x01020304;
		out_udp(f, "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2", 700, 800);
		assert_int_equal(filter_check_inbound(f, b,
						      build(b, &s6, &d6, IPPKT_PROTO_UDP, l4,
							    udp(l4, 800, 700), &first)),
				 FILTER_ACCEPT_FLOW);
		assert_int_equal(filter_check_inbound(
					 f, b, build(b, &s6, &d6, IPPKT_PROTO_UDP, l4, 8, &later)),
				 FILTER_ACCEPT_FRAGMENT);
	}
	filter_destroy(f);
}

static void test_bad_rules_fail_closed(void **state)
{
	struct filter *f = new_filter(0);
	struct rule_store rs = {0};
	struct filter_counters c;

	(void)state;
	add_rule(&rs, (const char *const[]){"0.0.0.0/0", NULL},
		 (const char *const[]){"0.0.0.0/0", NULL}, NULL, 0);
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 2), FILTER_ACCEPT_RULE);

	rs.dst[0][0].port_first = 10;
	rs.dst[0][0].port_last = 9;
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), -EINVAL);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 2), FILTER_DROP_NO_RULE);
	rs.dst[0][0].port_last = 65535;
	rs.src[0][0].bits = 33;
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), -EINVAL);
	rs.src[0][0].bits = 0;
	rs.src[0][0].addr.family = 0;
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), -EINVAL);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 2), FILTER_DROP_NO_RULE);
	filter_get_counters(f, &c);
	assert_true(c.has_filter);
	assert_int_equal(c.rules, 0);

	/* Rules without sources or destinations match nothing. */
	rs.src[0][0] = pfx("0.0.0.0/0");
	rs.rules[0].nsrc = 0;
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);
	assert_int_equal(in_udp(f, "100.64.0.2", "100.64.0.1", 1, 2), FILTER_DROP_NO_RULE);

	for (int r = 0; r <= FILTER_REASON_COUNT; r++)
		assert_non_null(filter_reason_name((enum filter_reason)r));
	assert_string_equal(filter_reason_name(FILTER_DROP_SHIELDS_UP), "shields-up");
	assert_false(filter_reason_accepts(FILTER_DROP_MALFORMED));
	filter_destroy(f);
}

/* ---- property tests ---- */

static const uint8_t proto_pool[] = {
	IPPKT_PROTO_TCP,
	IPPKT_PROTO_UDP,
	IPPKT_PROTO_ICMP,
	IPPKT_PROTO_ICMPV6,
	IPPKT_PROTO_SCTP,
	47,
	50,
	2,
};
static const uint16_t port_pool[] = {0, 1, 21, 22, 23, 53, 79, 80, 81, 443, 1000, 65534, 65535};

static uint16_t random_port(void)
{
	return rnd(3) ? port_pool[rnd(sizeof(port_pool) / sizeof(port_pool[0]))]
		      : (uint16_t)rnd(65536);
}

/* Addresses from a small universe so that prefixes and packets meet. */
static struct ip_addr random_addr(uint8_t family)
{
	struct ip_addr a = {.family = family};

	if (family == IP_FAMILY_V4) {
		static const uint8_t first[] = {10, 100, 192, 203};

		a.bytes[0] = first[rnd(4)];
		a.bytes[1] = (uint8_t)(rnd(2) ? 64 : rnd(256));
		a.bytes[2] = (uint8_t)rnd(4);
		a.bytes[3] = (uint8_t)rnd(8);
	} else {
		a.bytes[0] = 0xfd;
		a.bytes[1] = (uint8_t)(rnd(2) ? 0x7a : rnd(256));
		a.bytes[7] = (uint8_t)rnd(4);
		a.bytes[15] = (uint8_t)rnd(8);
	}
	return a;
}

static struct ip_prefix random_prefix(uint8_t family)
{
	static const uint8_t bits4[] = {0, 8, 10, 16, 24, 29, 30, 32, 32, 32};
	static const uint8_t bits6[] = {0, 8, 16, 48, 64, 125, 126, 128, 128, 128};
	struct ip_prefix p = {.addr = random_addr(family)};

	p.bits = family == IP_FAMILY_V4 ? bits4[rnd(10)] : bits6[rnd(10)];
	if (!rnd(8))
		p.bits = (uint8_t)rnd(ip_addr_bits(&p.addr) + 1);
	return p; /* host bits left set on purpose: the filter masks them */
}

struct random_rules {
	struct ctl_filter_rule rules[24];
	struct ip_prefix src[24][6];
	struct ctl_filter_dst dst[24][4];
	uint8_t protos[24][5];
	size_t n;
};

static void make_rules(struct random_rules *rr)
{
	memset(rr, 0, sizeof(*rr));
	rr->n = rnd(25);
	for (size_t i = 0; i < rr->n; i++) {
		struct ctl_filter_rule *r = &rr->rules[i];

		r->src = rr->src[i];
		r->dst = rr->dst[i];
		r->protos = rr->protos[i];
		/* Rules sharing source sets exercise the grouping. */
		if (i && !rnd(4)) {
			memcpy(rr->src[i], rr->src[i - 1], sizeof(rr->src[i]));
			r->nsrc = rr->rules[i - 1].nsrc;
		} else {
			r->nsrc = 1 + rnd(6);
			for (size_t k = 0; k < r->nsrc; k++)
				r->src[k] = random_prefix(rnd(2) ? IP_FAMILY_V4 : IP_FAMILY_V6);
		}
		r->ndst = 1 + rnd(4);
		for (size_t k = 0; k < r->ndst; k++) {
			uint16_t a = random_port(), b = random_port();

			r->dst[k].prefix = random_prefix(rnd(2) ? IP_FAMILY_V4 : IP_FAMILY_V6);
			r->dst[k].port_first = a < b ? a : b;
			r->dst[k].port_last = a < b ? b : a;
			if (!rnd(5)) {
				r->dst[k].port_first = 0;
				r->dst[k].port_last = 65535;
			}
		}
		r->nprotos = rnd(3) ? 1 + rnd(5) : 0;
		for (size_t k = 0; k < r->nprotos; k++)
			r->protos[k] = proto_pool[rnd(sizeof(proto_pool))];
	}
}

static bool naive_match(const struct random_rules *rr, const struct ip_addr *src,
			const struct ip_addr *dst, uint8_t proto, uint16_t port)
{
	static const uint8_t def[] = {6, 17, 1, 58};

	for (size_t i = 0; i < rr->n; i++) {
		const struct ctl_filter_rule *r = &rr->rules[i];
		const uint8_t *protos = r->nprotos ? r->protos : def;
		size_t np = r->nprotos ? r->nprotos : 4;
		bool p_ok = false, s_ok = false;

		for (size_t k = 0; k < np; k++)
			p_ok |= protos[k] == proto;
		for (size_t k = 0; k < r->nsrc; k++)
			s_ok |= ip_prefix_contains(&r->src[k], src);
		if (!p_ok || !s_ok)
			continue;
		for (size_t k = 0; k < r->ndst; k++) {
			const struct ctl_filter_dst *d = &r->dst[k];

			if (!ip_prefix_contains(&d->prefix, dst))
				continue;
			if (!ippkt_proto_has_ports(proto) ||
			    (port >= d->port_first && port <= d->port_last))
				return true;
		}
	}
	return false;
}

/* The first and last address of @p. */
static struct policy_range prefix_range(const struct ip_prefix *p)
{
	struct policy_range r = {p->addr, p->addr};
	unsigned int total = ip_addr_bits(&p->addr);

	for (unsigned int bit = p->bits; bit < total; bit++) {
		r.first.bytes[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
		r.last.bytes[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	}
	return r;
}

static int range_compare(const void *a, const void *b)
{
	const struct policy_range *x = a, *y = b;
	int c = ip_addr_compare(&x->first, &y->first);

	return c ? c : ip_addr_compare(&y->last, &x->last); /* the wider first */
}

/*
 * The same rules as the policy engine's compiled filter: sources as sorted
 * disjoint ranges (prefixes nest or are disjoint, so dropping the contained
 * ones is enough), at most POLICY_PROTOS_MAX protocols per rule.
 */
static void to_policy(const struct random_rules *rr, struct policy_filter *pf)
{
	static const uint8_t def[] = {6, 17, 1, 58};

	pf->rules = calloc(rr->n * 2 + 1, sizeof(*pf->rules));
	assert_non_null(pf->rules);
	pf->n_rules = 0;
	for (size_t i = 0; i < rr->n; i++) {
		const struct ctl_filter_rule *r = &rr->rules[i];
		const uint8_t *protos = r->nprotos ? r->protos : def;
		size_t np = r->nprotos ? r->nprotos : 4;

		for (size_t p0 = 0; p0 < np; p0 += POLICY_PROTOS_MAX) {
			struct policy_rule *pr = &pf->rules[pf->n_rules++];
			size_t k = 0;

			pr->srcs = calloc(r->nsrc, sizeof(*pr->srcs));
			pr->dsts = calloc(r->ndst, sizeof(*pr->dsts));
			assert_true(pr->srcs && pr->dsts);
			for (size_t s = 0; s < r->nsrc; s++)
				pr->srcs[s] = prefix_range(&r->src[s]);
			qsort(pr->srcs, r->nsrc, sizeof(*pr->srcs), range_compare);
			for (size_t s = 0; s < r->nsrc; s++) {
				if (k &&
				    ip_addr_compare(&pr->srcs[s].last, &pr->srcs[k - 1].last) <=
					    0 &&
				    pr->srcs[s].first.family == pr->srcs[k - 1].first.family)
					continue;
				pr->srcs[k++] = pr->srcs[s];
			}
			pr->n_srcs = k;
			for (size_t d = 0; d < r->ndst; d++) {
				pr->dsts[d].range = prefix_range(&r->dst[d].prefix);
				pr->dsts[d].port_first = r->dst[d].port_first;
				pr->dsts[d].port_last = r->dst[d].port_last;
			}
			pr->n_dsts = r->ndst;
			for (size_t p = p0; p < np && p < p0 + POLICY_PROTOS_MAX; p++)
				pr->protos[pr->n_protos++] = protos[p];
		}
	}
}

/* A random new packet (one that no flow answers) and the question it asks. */
static size_t random_new_packet(uint8_t *b, struct ip_addr *src, struct ip_addr *dst,
				uint8_t *proto, uint16_t *port)
{
	static const uint8_t exts[] = {IPPKT_PROTO_HOPOPTS, IPPKT_PROTO_DSTOPTS,
				       IPPKT_PROTO_ROUTING, IPPKT_PROTO_AH};
	uint8_t family = rnd(2) ? IP_FAMILY_V4 : IP_FAMILY_V6;
	struct wrap w = {0};
	uint8_t l4[64];
	size_t l4len;

	*src = random_addr(family);
	*dst = random_addr(family);
	if (family == IP_FAMILY_V4)
		w.v4_options = 4 * rnd(3);
	else if (!rnd(3)) {
		w.ext = exts + rnd(2); /* hop-by-hop only first */
		w.next = 1 + rnd(3);
	}
	*proto = proto_pool[rnd(sizeof(proto_pool))];
	*port = random_port();
	if (*proto == IPPKT_PROTO_TCP) {
		l4len = tcp(l4, (uint16_t)rnd(65536), *port, IPPKT_TCP_SYN);
	} else if (*proto == IPPKT_PROTO_UDP || *proto == IPPKT_PROTO_SCTP) {
		l4len = udp(l4, (uint16_t)rnd(65536), *port);
	} else if (*proto == icmp_proto(src)) {
		l4len = icmp(l4, echo_type(src, true), 0, (uint16_t)rnd(65536));
	} else {
		l4len = 8;
		memset(l4, 0xab, l4len);
	}
	if (!rnd(10)) { /* a first fragment asks the same question */
		w.frag = w.more = true;
		w.frag_id = rnd(1000);
	}
	return build(b, src, dst, *proto, l4, l4len, &w);
}

static void test_property_rules(void **state)
{
	struct ip_addr self[2] = {ip("100.64.0.1"), ip("fd7a:115c:a1e0::1")};
	struct ip_prefix all[2] = {pfx("0.0.0.0/0"), pfx("::/0")};
	struct filter_config cfg = {.now_ms = fake_clock};
	struct random_rules *rr = malloc(sizeof(*rr));
	size_t accepted = 0, total = 0;
	struct filter *f;

	(void)state;
	assert_non_null(rr);
	assert_int_equal(filter_create(&f, &cfg), 0);
	assert_int_equal(filter_set_addresses(f, self, 2, all, 2), 0);
	for (int round = 0; round < ROUNDS; round++) {
		struct policy_filter pf;

		make_rules(rr);
		to_policy(rr, &pf);
		assert_int_equal(filter_set_rules(f, rr->rules, rr->n, true), 0);
		for (int i = 0; i < SAMPLES; i++) {
			struct ip_addr src, dst;
			uint8_t b[PKT_MAX], proto;
			uint16_t port;
			size_t len = random_new_packet(b, &src, &dst, &proto, &port);
			bool want = naive_match(rr, &src, &dst, proto, port);
			enum filter_reason r;

			assert_int_equal(policy_filter_match(&pf, &src, &dst, proto, port), want);
			r = filter_check_inbound(f, b, len);
			if (r != (want ? FILTER_ACCEPT_RULE : FILTER_DROP_NO_RULE)) {
				char s[IP_ADDR_STRLEN], d[IP_ADDR_STRLEN];

				fail_msg("round %d: %s -> %s proto %u port %u: %s, want %s", round,
					 ip_addr_format(&src, s, sizeof(s)),
					 ip_addr_format(&dst, d, sizeof(d)), proto, port,
					 filter_reason_name(r), want ? "accept" : "drop");
			}
			accepted += want;
			total++;
		}
		policy_filter_free(&pf);
	}
	/* The universe is small enough that both verdicts are common. */
	assert_true(accepted > total / 20 && accepted < total - total / 20);
	filter_destroy(f);
	free(rr);
}

/* Replies are accepted exactly when a naive model (a list of flows) has their flow. */
static void test_property_replies(void **state)
{
	struct ip_addr self[2] = {ip("100.64.0.1"), ip("fd7a:115c:a1e0::1")};
	struct filter_config cfg = {.now_ms = fake_clock, .max_flows = 4096};
	struct model {
		struct ip_addr l, r;
		uint8_t proto;
		uint16_t lport, rport;
	} *flows = calloc(512, sizeof(*flows));
	struct filter *f;

	(void)state;
	assert_non_null(flows);
	for (int round = 0; round < 40; round++) {
		size_t n = 0;

		assert_int_equal(filter_create(&f, &cfg), 0);
		assert_int_equal(filter_set_addresses(f, self, 2, NULL, 0), 0);
		assert_int_equal(filter_set_rules(f, NULL, 0, true), 0);
		for (int i = 0; i < 300; i++) {
			uint8_t b[PKT_MAX], l4[64], family = rnd(2) ? IP_FAMILY_V4 : IP_FAMILY_V6;
			struct ip_addr peer = random_addr(family);
			const struct ip_addr *me = &self[family == IP_FAMILY_V4 ? 0 : 1];
			struct model m = {*me, peer, 0, (uint16_t)rnd(8), (uint16_t)rnd(8)};
			bool known = false;
			size_t len;

			switch (rnd(3)) {
			case 0:
				m.proto = IPPKT_PROTO_UDP;
				break;
			case 1:
				m.proto = IPPKT_PROTO_SCTP;
				break;
			default:
				m.proto = icmp_proto(me);
				m.rport = 0;
			}
			if (rnd(2) && n < 512) { /* outbound: opens the flow */
				if (m.proto == icmp_proto(me))
					len = build(b, me, &peer, m.proto, l4,
						    icmp(l4, echo_type(me, true), 0, m.lport),
						    NULL);
				else
					len = build(b, me, &peer, m.proto, l4,
						    udp(l4, m.lport, m.rport), NULL);
				filter_note_outbound(f, b, len);
				flows[n++] = m;
				continue;
			}
			for (size_t k = 0; k < n; k++)
				known |= ip_addr_equal(&flows[k].l, &m.l) &&
					 ip_addr_equal(&flows[k].r, &m.r) &&
					 flows[k].proto == m.proto && flows[k].lport == m.lport &&
					 flows[k].rport == m.rport;
			if (m.proto == icmp_proto(me))
				len = build(b, &peer, me, m.proto, l4,
					    icmp(l4, echo_type(me, false), 0, m.lport), NULL);
			else
				len = build(b, &peer, me, m.proto, l4, udp(l4, m.rport, m.lport),
					    NULL);
			assert_int_equal(filter_check_inbound(f, b, len),
					 known			     ? FILTER_ACCEPT_FLOW
					 : m.proto == icmp_proto(me) ? FILTER_DROP_NO_FLOW
								     : FILTER_DROP_NO_RULE);
		}
		filter_destroy(f);
	}
	free(flows);
}

/* Garbage and truncations: never a crash, never accepted once a filter is set. */
static void test_malformed_dropped(void **state)
{
	struct filter *f = new_filter(0);
	struct rule_store rs = {0};
	uint8_t b[PKT_MAX];

	(void)state;
	add_rule(&rs, (const char *const[]){"0.0.0.0/0", "::/0", NULL},
		 (const char *const[]){"0.0.0.0/0", "::/0", NULL}, NULL, 0);
	assert_int_equal(filter_set_rules(f, rs.rules, rs.n, true), 0);
	for (int i = 0; i < 20000; i++) {
		size_t len = pkt_tcp(b, "100.64.0.2", "100.64.0.1", 1, 22, IPPKT_TCP_SYN);
		size_t cut = rnd((unsigned int)len);
		struct ippkt p;

		if (i % 2) {
			for (int k = 0; k < 3; k++)
				b[rnd((unsigned int)len)] = (uint8_t)rnd(256);
			cut = len;
		}
		filter_note_outbound(f, b, cut);
		if (ippkt_parse(&p, b, cut))
			assert_int_equal(filter_check_inbound(f, b, cut), FILTER_DROP_MALFORMED);
		else
			(void)filter_check_inbound(f, b, cut);
	}
	filter_destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ippkt_basic),
		cmocka_unit_test(test_ippkt_ext_headers),
		cmocka_unit_test(test_ippkt_fragments),
		cmocka_unit_test(test_ippkt_icmp_errors),
		cmocka_unit_test(test_ippkt_malformed),
		cmocka_unit_test(test_no_filter),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_icmp_view),
		cmocka_unit_test(test_default_deny_and_replies),
		cmocka_unit_test(test_icmp_errors),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_lru_bound),
		cmocka_unit_test(test_shields_up),
		cmocka_unit_test(test_local_check),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_bad_rules_fail_closed),
		cmocka_unit_test(test_property_rules),
		cmocka_unit_test(test_property_replies),
		cmocka_unit_test(test_malformed_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
