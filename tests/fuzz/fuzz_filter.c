// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the packet filter (src/filter): the IP header parser and
 * the verdicts. The first byte sets options (bit 0: shields up; bit 1: the
 * flow table sees the packet going out first), the rest is one IP packet. A
 * fresh filter with a fixed rule set, the node's addresses and routes
 * 0.0.0.0/0 and ::/0 (an exit node: every ordinary destination is local)
 * checks it as inbound, notes it as outbound, and checks its reply.
 *
 * Properties checked besides memory safety:
 *  - ippkt_parse() is deterministic and its fields are consistent: the end
 *    within the input, the family from the version nibble, ports only for
 *    TCP/UDP/SCTP, an echo id only for echoes, a quoted packet only in an
 *    ICMP error and of the same family, no upper layer in later fragments;
 *  - an unreadable packet is dropped as malformed, one to a bad destination
 *    as such (checked against a second implementation of that rule);
 *  - a packet that starts something gets exactly the verdict of a naive
 *    reading of the rules (shields up turn an accept into a shields-up drop);
 *  - once the packet went out, its reply (addresses and ports swapped, an
 *    echo request turned into a reply) comes back in.
 */
#include <errno.h>
#include <string.h>

#include "filter/filter.h"
#include "filter/ippkt.h"
#include "fuzz.h"

enum {
	MAX_PACKET = 4096,
	OPT_SHIELDS = 1,
	OPT_OUT_FIRST = 2,
};

static struct ip_prefix prefix(uint8_t family, const uint8_t *bytes, uint8_t bits)
{
	struct ip_prefix p = {.bits = bits};

	if (family == IP_FAMILY_V4)
		ip_addr_set_v4(&p.addr, bytes);
	else
		ip_addr_set_v6(&p.addr, bytes);
	return p;
}

/* The rules: ssh and web from the tailnet, DNS from anyone, ICMP from one host, GRE. */
struct rules {
	struct ctl_filter_rule r[4];
	struct ip_prefix src[4][2];
	struct ctl_filter_dst dst[4][3];
	uint8_t protos[4][2];
};

static void make_rules(struct rules *x)
{
	static const uint8_t cgnat[4] = {100, 64, 0, 0}, any4[4] = {0},
			     tailnet6[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0},
			     host[4] = {100, 64, 0, 2}, any6[16] = {0}, lan[4] = {10, 1, 0, 0};

	memset(x, 0, sizeof(*x));
	for (int i = 0; i < 4; i++) {
		x->r[i].src = x->src[i];
		x->r[i].dst = x->dst[i];
		x->r[i].protos = x->protos[i];
	}
	/* 0: tailnet → 22 and 80-443 anywhere local, default protocols. */
	x->src[0][0] = prefix(IP_FAMILY_V4, cgnat, 10);
	x->src[0][1] = prefix(IP_FAMILY_V6, tailnet6, 48);
	x->r[0].nsrc = 2;
	x->dst[0][0] = (struct ctl_filter_dst){prefix(IP_FAMILY_V4, any4, 0), 22, 22};
	x->dst[0][1] = (struct ctl_filter_dst){prefix(IP_FAMILY_V6, any6, 0), 22, 22};
	x->dst[0][2] = (struct ctl_filter_dst){prefix(IP_FAMILY_V4, any4, 0), 80, 443};
	x->r[0].ndst = 3;
	/* 1: anyone → UDP 53 on 10.1/16. */
	x->src[1][0] = prefix(IP_FAMILY_V4, any4, 0);
	x->src[1][1] = prefix(IP_FAMILY_V6, any6, 0);
	x->r[1].nsrc = 2;
	x->dst[1][0] = (struct ctl_filter_dst){prefix(IP_FAMILY_V4, lan, 16), 53, 53};
	x->r[1].ndst = 1;
	x->protos[1][0] = IPPKT_PROTO_UDP;
	x->r[1].nprotos = 1;
	/* 2: one host → ICMP anywhere and SCTP 9. */
	x->src[2][0] = prefix(IP_FAMILY_V4, host, 32);
	x->r[2].nsrc = 1;
	x->dst[2][0] = (struct ctl_filter_dst){prefix(IP_FAMILY_V4, any4, 0), 9, 9};
	x->r[2].ndst = 1;
	x->protos[2][0] = IPPKT_PROTO_ICMP;
	x->protos[2][1] = IPPKT_PROTO_SCTP;
	x->r[2].nprotos = 2;
	/* 3: IPv6 tailnet → GRE (47) to the node; the ports mean nothing. */
	x->src[3][0] = prefix(IP_FAMILY_V6, tailnet6, 48);
	x->r[3].nsrc = 1;
	x->dst[3][0] = (struct ctl_filter_dst){prefix(IP_FAMILY_V6, tailnet6, 128), 1, 1};
	x->r[3].ndst = 1;
	x->protos[3][0] = 47;
	x->r[3].nprotos = 1;
}

static bool naive_match(const struct rules *x, const struct ippkt_hdr *h)
{
	static const uint8_t def[] = {6, 17, 1, 58};

	for (int i = 0; i < 4; i++) {
		const struct ctl_filter_rule *r = &x->r[i];
		const uint8_t *protos = r->nprotos ? r->protos : def;
		size_t np = r->nprotos ? r->nprotos : 4;
		bool proto = false, src = false;

		for (size_t k = 0; k < np; k++)
			proto |= protos[k] == h->proto;
		for (size_t k = 0; k < r->nsrc; k++)
			src |= ip_prefix_contains(&r->src[k], &h->src);
		for (size_t k = 0; proto && src && k < r->ndst; k++) {
			if (ip_prefix_contains(&r->dst[k].prefix, &h->dst) &&
			    (!ippkt_proto_has_ports(h->proto) ||
			     (h->dport >= r->dst[k].port_first && h->dport <= r->dst[k].port_last)))
				return true;
		}
	}
	return false;
}

/* The bad-destination rule of filter.c, written again from its comment. */
static bool bad_dst(const struct ip_addr *a, const struct ip_addr *self)
{
	const uint8_t *b = a->bytes;
	static const uint8_t zero[16];

	if (a->family == IP_FAMILY_V4) {
		if (b[0] == 0 || b[0] == 127 || (b[0] >= 224 && b[0] < 240))
			return true;
		if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
			return true;
		return b[0] == 169 && b[1] == 254 && !ip_addr_equal(a, &self[0]);
	}
	if (b[0] == 0xff || ip_addr_is_v4_mapped(a))
		return true;
	if (!memcmp(b, zero, 15) && b[15] <= 1)
		return true;
	return b[0] == 0xfe && (b[1] & 0xc0) == 0x80 && !ip_addr_equal(a, &self[1]);
}

static void check_parse(const struct ippkt *p, const uint8_t *pkt, size_t len)
{
	const struct ippkt_hdr *h = &p->h;

	FUZZ_CHECK(h->end <= len);
	FUZZ_CHECK(h->src.family == pkt[0] >> 4 && h->dst.family == h->src.family);
	FUZZ_CHECK(!(h->has & IPPKT_HAS_PORTS) || ippkt_proto_has_ports(h->proto));
	FUZZ_CHECK(!(h->has & IPPKT_HAS_ECHO_ID) || h->icmp_kind == IPPKT_ICMP_ECHO_REQUEST ||
		   h->icmp_kind == IPPKT_ICMP_ECHO_REPLY);
	FUZZ_CHECK(!p->has_inner ||
		   (h->icmp_kind == IPPKT_ICMP_ERROR && p->inner.src.family == h->src.family));
	FUZZ_CHECK(h->frag != IPPKT_FRAG_LATER || h->has == 0);
	FUZZ_CHECK(h->frag == IPPKT_FRAG_LATER || h->l4_off <= h->end);
}

/* Turn @pkt (parsed as @p) into the reply its destination would send. False if it has none. */
static bool make_reply(uint8_t *pkt, const struct ippkt *p)
{
	const struct ippkt_hdr *h = &p->h;
	size_t off = h->src.family == IP_FAMILY_V4 ? 12 : 8;
	size_t alen = h->src.family == IP_FAMILY_V4 ? 4 : 16;
	uint8_t tmp[16];

	if (h->frag == IPPKT_FRAG_LATER)
		return false;
	memcpy(tmp, pkt + off, alen);
	memmove(pkt + off, pkt + off + alen, alen);
	memcpy(pkt + off + alen, tmp, alen);
	if (h->has & IPPKT_HAS_PORTS) {
		memcpy(tmp, pkt + h->l4_off, 2);
		memmove(pkt + h->l4_off, pkt + h->l4_off + 2, 2);
		memcpy(pkt + h->l4_off + 2, tmp, 2);
		return true;
	}
	if (h->icmp_kind == IPPKT_ICMP_ECHO_REQUEST && (h->has & IPPKT_HAS_ECHO_ID)) {
		pkt[h->l4_off] = h->src.family == IP_FAMILY_V4 ? IPPKT_ICMP4_ECHO_REPLY
							       : IPPKT_ICMP6_ECHO_REPLY;
		return true;
	}
	return false;
}

static bool starts_something(const struct ippkt_hdr *h)
{
	if (h->frag == IPPKT_FRAG_LATER || h->icmp_kind == IPPKT_ICMP_ECHO_REPLY ||
	    h->icmp_kind == IPPKT_ICMP_ERROR)
		return false;
	return h->proto != IPPKT_PROTO_TCP ||
	       (h->tcp_flags & (IPPKT_TCP_SYN | IPPKT_TCP_ACK)) == IPPKT_TCP_SYN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t self4[4] = {100, 64, 0, 1};
	static const uint8_t self6[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, [15] = 1};
	static const uint8_t zero[16];
	struct filter_config cfg = {.max_flows = 8, .max_fragments = 4};
	struct ip_addr self[2];
	struct ip_prefix routes[2];
	uint8_t pkt[MAX_PACKET];
	enum filter_reason r;
	struct ippkt p, again;
	struct filter *f;
	struct rules x;
	size_t len;
	int parsed;
	uint8_t opt;

	if (!size || size - 1 > MAX_PACKET)
		return 0;
	opt = data[0];
	len = size - 1;
	memcpy(pkt, data + 1, len);

	parsed = ippkt_parse(&p, pkt, len);
	FUZZ_CHECK(parsed == 0 || parsed == -EINVAL);
	FUZZ_CHECK(ippkt_parse(&again, pkt, len) == parsed);
	if (!parsed) {
		FUZZ_CHECK(!memcmp(&p, &again, sizeof(p)));
		check_parse(&p, pkt, len);
	}

	ip_addr_set_v4(&self[0], self4);
	ip_addr_set_v6(&self[1], self6);
	routes[0] = prefix(IP_FAMILY_V4, zero, 0);
	routes[1] = prefix(IP_FAMILY_V6, zero, 0);
	make_rules(&x);
	if (filter_create(&f, &cfg))
		return 0;
	FUZZ_CHECK(filter_set_addresses(f, self, 2, routes, 2) == 0);
	FUZZ_CHECK(filter_set_rules(f, x.r, 4, true) == 0);
	filter_set_shields_up(f, opt & OPT_SHIELDS);

	if (opt & OPT_OUT_FIRST)
		filter_note_outbound(f, pkt, len);
	r = filter_check_inbound(f, pkt, len);
	if (parsed) {
		FUZZ_CHECK(r == FILTER_DROP_MALFORMED);
		goto out_destroy;
	}
	FUZZ_CHECK((r == FILTER_DROP_BAD_DST) == bad_dst(&p.h.dst, self));
	if (r == FILTER_DROP_BAD_DST)
		goto out_destroy;
	FUZZ_CHECK(r != FILTER_DROP_NOT_LOCAL && r != FILTER_DROP_MALFORMED);
	if (!(opt & OPT_OUT_FIRST) && starts_something(&p.h)) {
		bool allowed = naive_match(&x, &p.h);

		FUZZ_CHECK(r == (!allowed	       ? FILTER_DROP_NO_RULE
				 : (opt & OPT_SHIELDS) ? FILTER_DROP_SHIELDS_UP
						       : FILTER_ACCEPT_RULE));
	}

	/* What went out is answered. */
	filter_note_outbound(f, pkt, len);
	if (!make_reply(pkt, &p))
		goto out_destroy;
	r = filter_check_inbound(f, pkt, len);
	if (bad_dst(&p.h.src, self))
		FUZZ_CHECK(r == FILTER_DROP_BAD_DST);
	else if (p.h.proto == IPPKT_PROTO_TCP && !starts_something(&p.h))
		FUZZ_CHECK(r == FILTER_ACCEPT_TCP);
	else /* the original passed the bad-destination check, so it opened a flow */
		FUZZ_CHECK(r == FILTER_ACCEPT_FLOW);
out_destroy:
	filter_destroy(f);
	return 0;
}
