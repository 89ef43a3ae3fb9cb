// SPDX-License-Identifier: MIT
/*
 * router_msg: the rtnetlink requests byte by byte (header fields, flags, each
 * attribute), build/parse round trips, the extended ack in its capped and
 * uncapped forms, buffers one byte too small, and bad input: every
 * truncation and thousands of random mutations of valid messages through
 * every parser (run under ASan, nothing may read past len).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "router/router_msg.h"
#include "util/compiler.h"

#define BUF(name) _Alignas(struct nlmsghdr) char name[ROUTER_MSG_MAX]

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p;

	assert_int_equal(ip_prefix_parse(&p, s, NULL), 0);
	return p;
}

static struct ip_addr addr(const char *s)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(&a, s, NULL), 0);
	return a;
}

/* Bytes from @a to the end of @nlh: how far an attribute there may reach. */
static int attr_room(const struct nlmsghdr *nlh, const struct nlattr *a)
{
	return (int)((const char *)mnl_nlmsg_get_payload_tail(nlh) - (const char *)a);
}

/* The attribute @type of @nlh after a family header of @extra bytes; it must exist once. */
static const struct nlattr *attr(const struct nlmsghdr *nlh, size_t extra, uint16_t type)
{
	const struct nlattr *a, *found = NULL;

	for (a = mnl_nlmsg_get_payload_offset(nlh, extra); mnl_attr_ok(a, attr_room(nlh, a));
	     a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) == type) {
			assert_null(found);
			found = a;
		}
	}
	assert_non_null(found);
	return found;
}

static bool has_attr(const struct nlmsghdr *nlh, size_t extra, uint16_t type)
{
	const struct nlattr *a;

	for (a = mnl_nlmsg_get_payload_offset(nlh, extra); mnl_attr_ok(a, attr_room(nlh, a));
	     a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) == type)
			return true;
	}
	return false;
}

static void assert_attr_bytes(const struct nlmsghdr *nlh, size_t extra, uint16_t type,
			      const void *want, size_t len)
{
	const struct nlattr *a = attr(nlh, extra, type);

	assert_int_equal(mnl_attr_get_payload_len(a), len);
	assert_memory_equal(mnl_attr_get_payload(a), want, len);
}

static uint32_t attr_u32(const struct nlmsghdr *nlh, size_t extra, uint16_t type)
{
	const struct nlattr *a = attr(nlh, extra, type);

	assert_int_equal(mnl_attr_get_payload_len(a), 4);
	return mnl_attr_get_u32(a);
}

/* A parser sees a reply, not our request: the same bytes under the reply's type. */
static void as_reply(struct nlmsghdr *nlh, uint16_t type)
{
	nlh->nlmsg_type = type;
}

/* --- addresses ---------------------------------------------------------------------------- */

static void test_addr_v4(void **state)
{
	struct ip_prefix p = pfx("100.64.0.1/32"), out;
	const struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	int idx = 0;
	BUF(buf);

	(void)state;
	nlh = router_msg_addr(buf, sizeof(buf), true, 7, &p);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET);
	assert_int_equal(ifa->ifa_prefixlen, 32);
	assert_int_equal(ifa->ifa_index, 7);
	assert_int_equal(ifa->ifa_scope, RT_SCOPE_UNIVERSE);
	assert_int_equal(ifa->ifa_flags, 0);
	assert_attr_bytes(nlh, sizeof(*ifa), IFA_LOCAL, (uint8_t[]){100, 64, 0, 1}, 4);
	assert_attr_bytes(nlh, sizeof(*ifa), IFA_ADDRESS, (uint8_t[]){100, 64, 0, 1}, 4);
	assert_int_equal(attr_u32(nlh, sizeof(*ifa), IFA_FLAGS), 0);

	as_reply(nlh, RTM_NEWADDR);
	assert_int_equal(router_msg_parse_addr(buf, nlh->nlmsg_len, &idx, &out), 0);
	assert_int_equal(idx, 7);
	assert_true(ip_prefix_equal(&out, &p));

	nlh = router_msg_addr(buf, sizeof(buf), false, 7, &p);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_DELADDR);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);
	assert_false(has_attr(nlh, sizeof(*ifa), IFA_FLAGS));
}

static void test_addr_v6(void **state)
{
	struct ip_prefix p = pfx("fd7a:115c:a1e0::1/128"), out;
	const struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	int idx = 0;
	BUF(buf);

	(void)state;
	nlh = router_msg_addr(buf, sizeof(buf), true, 3, &p);
	assert_non_null(nlh);
	ifa = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifa->ifa_family, AF_INET6);
	assert_int_equal(ifa->ifa_prefixlen, 128);
	/* DAD would hold a mesh address "tentative" for seconds: it is ours alone. */
	assert_int_equal(ifa->ifa_flags, IFA_F_NODAD);
	assert_int_equal(attr_u32(nlh, sizeof(*ifa), IFA_FLAGS), IFA_F_NODAD);
	assert_attr_bytes(nlh, sizeof(*ifa), IFA_LOCAL, p.addr.bytes, 16);
	as_reply(nlh, RTM_NEWADDR);
	assert_int_equal(router_msg_parse_addr(buf, nlh->nlmsg_len, &idx, &out), 0);
	assert_int_equal(idx, 3);
	assert_true(ip_prefix_equal(&out, &p));
}

static void test_addr_invalid(void **state)
{
	struct ip_prefix unset = {0}, p = pfx("10.0.0.1/32");
	BUF(buf);

	(void)state;
	assert_null(router_msg_addr(buf, sizeof(buf), true, 1, &unset));
	assert_null(router_msg_addr(buf, sizeof(buf), true, 0, &p));
	assert_null(router_msg_addr(buf, sizeof(buf), true, -1, &p));
	assert_null(router_msg_addr(buf, sizeof(buf), true, 1, NULL));
	p.bits = 33;
	assert_null(router_msg_addr(buf, sizeof(buf), true, 1, &p));
}

/* A point-to-point address has the peer in IFA_ADDRESS: ours is IFA_LOCAL. */
static void test_addr_parse_local_wins(void **state)
{
	struct ip_prefix out;
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	int idx;
	BUF(buf);

	(void)state;
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 32;
	ifa->ifa_index = 2;
	mnl_attr_put(nlh, IFA_ADDRESS, 4, (uint8_t[]){10, 0, 0, 2});
	mnl_attr_put(nlh, IFA_LOCAL, 4, (uint8_t[]){10, 0, 0, 1});
	assert_int_equal(router_msg_parse_addr(buf, nlh->nlmsg_len, &idx, &out), 0);
	assert_memory_equal(out.addr.bytes, ((uint8_t[]){10, 0, 0, 1}), 4);

	ifa->ifa_family = AF_PACKET;
	assert_int_equal(router_msg_parse_addr(buf, nlh->nlmsg_len, &idx, &out), -EAFNOSUPPORT);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = 33;
	assert_int_equal(router_msg_parse_addr(buf, nlh->nlmsg_len, &idx, &out), -EINVAL);
	ifa->ifa_prefixlen = 32;
	ifa->ifa_family = AF_INET6; /* 4-byte addresses in an IPv6 message */
	assert_int_equal(router_msg_parse_addr(buf, nlh->nlmsg_len, &idx, &out), -EINVAL);
}

/* --- routes ------------------------------------------------------------------------------- */

static void assert_route_equal(const struct router_route *a, const struct router_route *b)
{
	assert_int_equal(a->table, b->table);
	assert_true(ip_prefix_equal(&a->dst, &b->dst));
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->ifindex, b->ifindex);
	assert_true(ip_addr_equal(&a->gateway, &b->gateway));
	assert_true(ip_addr_equal(&a->src, &b->src));
	assert_int_equal(a->metric, b->metric);
}

static void test_route_unicast_v4(void **state)
{
	struct router_route r = {.table = 64, .dst = pfx("100.64.0.0/10"), .ifindex = 5}, out;
	const struct rtmsg *rtm;
	struct nlmsghdr *nlh;
	BUF(buf);

	(void)state;
	nlh = router_msg_route(buf, sizeof(buf), true, &r);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWROUTE);
	/* REPLACE, not EXCL: adding converges whatever route had that key. */
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_family, AF_INET);
	assert_int_equal(rtm->rtm_dst_len, 10);
	assert_int_equal(rtm->rtm_table, 64);
	assert_int_equal(rtm->rtm_protocol, ROUTER_PROTO);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_LINK);
	assert_int_equal(rtm->rtm_type, RTN_UNICAST);
	assert_int_equal(attr_u32(nlh, sizeof(*rtm), RTA_TABLE), 64);
	assert_int_equal(attr_u32(nlh, sizeof(*rtm), RTA_OIF), 5);
	assert_attr_bytes(nlh, sizeof(*rtm), RTA_DST, (uint8_t[]){100, 64, 0, 0}, 4);
	assert_false(has_attr(nlh, sizeof(*rtm), RTA_GATEWAY));
	assert_false(has_attr(nlh, sizeof(*rtm), RTA_PREFSRC));
	assert_false(has_attr(nlh, sizeof(*rtm), RTA_PRIORITY));

	as_reply(nlh, RTM_NEWROUTE);
	assert_int_equal(router_msg_parse_route(buf, nlh->nlmsg_len, &out), 0);
	assert_route_equal(&out, &r);
	assert_int_equal(out.protocol, ROUTER_PROTO);

	nlh = router_msg_route(buf, sizeof(buf), false, &r);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_DELROUTE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);
	rtm = mnl_nlmsg_get_payload(nlh);
	/* A delete matches any scope, and only our protocol. */
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_NOWHERE);
	assert_int_equal(rtm->rtm_protocol, ROUTER_PROTO);
}

static void test_route_v6_gateway_src_metric(void **state)
{
	struct router_route r = {
		.table = 100000, /* beyond rtm_table's byte: only in RTA_TABLE */
		.dst = pfx("::/0"),
		.ifindex = 9,
		.gateway = addr("fe80::1"),
		.src = addr("fd7a:115c:a1e0::5"),
		.metric = 77,
	};
	struct router_route out;
	const struct rtmsg *rtm;
	struct nlmsghdr *nlh;
	BUF(buf);

	(void)state;
	nlh = router_msg_route(buf, sizeof(buf), true, &r);
	assert_non_null(nlh);
	rtm = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(rtm->rtm_family, AF_INET6);
	assert_int_equal(rtm->rtm_dst_len, 0);
	assert_int_equal(rtm->rtm_table, RT_TABLE_UNSPEC);
	assert_int_equal(rtm->rtm_scope, RT_SCOPE_UNIVERSE); /* has a gateway */
	assert_int_equal(attr_u32(nlh, sizeof(*rtm), RTA_TABLE), 100000);
	assert_int_equal(attr_u32(nlh, sizeof(*rtm), RTA_PRIORITY), 77);
	assert_attr_bytes(nlh, sizeof(*rtm), RTA_GATEWAY, r.gateway.bytes, 16);
	assert_attr_bytes(nlh, sizeof(*rtm), RTA_PREFSRC, r.src.bytes, 16);
	as_reply(nlh, RTM_NEWROUTE);
	assert_int_equal(router_msg_parse_route(buf, nlh->nlmsg_len, &out), 0);
	assert_route_equal(&out, &r);
}

static void test_route_types(void **state)
{
	static const struct {
		uint8_t type;
		uint8_t rtn;
	} cases[] = {
		{ROUTER_ROUTE_THROW, RTN_THROW},
		{ROUTER_ROUTE_BLACKHOLE, RTN_BLACKHOLE},
		{ROUTER_ROUTE_UNREACHABLE, RTN_UNREACHABLE},
	};
	struct router_route r = {.table = 64, .dst = pfx("192.168.1.0/24")}, out;
	const struct rtmsg *rtm;
	struct nlmsghdr *nlh;
	BUF(buf);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		r.type = cases[i].type;
		nlh = router_msg_route(buf, sizeof(buf), true, &r);
		assert_non_null(nlh);
		rtm = mnl_nlmsg_get_payload(nlh);
		assert_int_equal(rtm->rtm_type, cases[i].rtn);
		assert_int_equal(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
		assert_false(has_attr(nlh, sizeof(*rtm), RTA_OIF));
		as_reply(nlh, RTM_NEWROUTE);
		assert_int_equal(router_msg_parse_route(buf, nlh->nlmsg_len, &out), 0);
		assert_route_equal(&out, &r);
	}
	/* Kernel types we never make parse as "other". */
	r.type = ROUTER_ROUTE_THROW;
	nlh = router_msg_route(buf, sizeof(buf), true, &r);
	((struct rtmsg *)mnl_nlmsg_get_payload(nlh))->rtm_type = RTN_LOCAL;
	as_reply(nlh, RTM_NEWROUTE);
	assert_int_equal(router_msg_parse_route(buf, nlh->nlmsg_len, &out), 0);
	assert_int_equal(out.type, ROUTER_ROUTE_OTHER);
}

static void test_route_invalid(void **state)
{
	const struct router_route ok = {.table = 64, .dst = pfx("10.0.0.0/8"), .ifindex = 1};
	struct router_route r;
	BUF(buf);

	(void)state;
	assert_non_null(router_msg_route(buf, sizeof(buf), true, &ok));
	r = ok;
	r.dst = pfx("10.0.0.1/8"); /* host bits: the kernel would refuse it */
	assert_null(router_msg_route(buf, sizeof(buf), true, &r));
	r = ok;
	r.table = 0;
	assert_null(router_msg_route(buf, sizeof(buf), true, &r));
	r = ok;
	r.ifindex = 0; /* unicast with neither interface nor gateway */
	assert_null(router_msg_route(buf, sizeof(buf), true, &r));
	r.gateway = addr("10.1.1.1");
	assert_non_null(router_msg_route(buf, sizeof(buf), true, &r));
	r.gateway = addr("fe80::1"); /* mixed families */
	assert_null(router_msg_route(buf, sizeof(buf), true, &r));
	r = ok;
	r.src = addr("::1");
	assert_null(router_msg_route(buf, sizeof(buf), true, &r));
	r = ok;
	r.type = ROUTER_ROUTE_THROW; /* a throw has no next hop */
	assert_null(router_msg_route(buf, sizeof(buf), true, &r));
	r = ok;
	r.type = ROUTER_ROUTE_OTHER;
	assert_null(router_msg_route(buf, sizeof(buf), true, &r));
	r = ok;
	memset(&r.dst, 0, sizeof(r.dst));
	assert_null(router_msg_route(buf, sizeof(buf), true, &r));
	assert_null(router_msg_route(buf, sizeof(buf), true, NULL));
}

/* Multipath routes (not ours, but in a flushed table) report their first hop. */
static void test_route_parse_multipath(void **state)
{
	struct router_route out;
	struct rtnexthop *nh;
	struct nlattr *mp;
	struct rtmsg *rtm;
	struct nlmsghdr *nlh;
	BUF(buf);

	(void)state;
	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 8;
	rtm->rtm_table = 64;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, 4, (uint8_t[]){10, 0, 0, 0});
	mp = mnl_attr_nest_start(nlh, RTA_MULTIPATH);
	nh = (void *)((char *)mnl_nlmsg_get_payload_tail(nlh));
	memset(nh, 0, sizeof(*nh));
	nh->rtnh_ifindex = 4;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*nh));
	mnl_attr_put(nlh, RTA_GATEWAY, 4, (uint8_t[]){10, 9, 9, 9});
	nh->rtnh_len = (unsigned short)((char *)mnl_nlmsg_get_payload_tail(nlh) - (char *)nh);
	mnl_attr_nest_end(nlh, mp);
	assert_int_equal(router_msg_parse_route(buf, nlh->nlmsg_len, &out), 0);
	assert_int_equal(out.ifindex, 4);
	assert_memory_equal(out.gateway.bytes, ((uint8_t[]){10, 9, 9, 9}), 4);
	/* A hop claiming more bytes than the attribute holds is malformed. */
	nh->rtnh_len = 200;
	assert_int_equal(router_msg_parse_route(buf, nlh->nlmsg_len, &out), -EINVAL);
}

/* --- rules -------------------------------------------------------------------------------- */

static void test_rule_lookup_mark(void **state)
{
	const struct router_rule r = {
		.family = IP_FAMILY_V4,
		.priority = 5310,
		.table = ROUTER_TABLE_MAIN,
		.fwmark = 0x08000000,
		.fwmask = 0x0f000000,
	};
	const struct fib_rule_hdr *frh;
	struct router_rule out;
	struct nlmsghdr *nlh;
	BUF(buf);

	(void)state;
	nlh = router_msg_rule(buf, sizeof(buf), true, &r);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWRULE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	frh = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(frh->family, AF_INET);
	assert_int_equal(frh->action, FR_ACT_TO_TBL);
	assert_int_equal(frh->table, RT_TABLE_MAIN);
	assert_int_equal(attr_u32(nlh, sizeof(*frh), FRA_PRIORITY), 5310);
	assert_int_equal(attr_u32(nlh, sizeof(*frh), FRA_TABLE), RT_TABLE_MAIN);
	assert_int_equal(attr_u32(nlh, sizeof(*frh), FRA_FWMARK), 0x08000000);
	assert_int_equal(attr_u32(nlh, sizeof(*frh), FRA_FWMASK), 0x0f000000);
	assert_attr_bytes(nlh, sizeof(*frh), FRA_PROTOCOL, (uint8_t[]){ROUTER_PROTO}, 1);

	as_reply(nlh, RTM_NEWRULE);
	assert_int_equal(router_msg_parse_rule(buf, nlh->nlmsg_len, &out), 0);
	assert_int_equal(out.family, IP_FAMILY_V4);
	assert_int_equal(out.action, ROUTER_RULE_LOOKUP);
	assert_int_equal(out.priority, 5310);
	assert_int_equal(out.table, ROUTER_TABLE_MAIN);
	assert_int_equal(out.fwmark, 0x08000000);
	assert_int_equal(out.fwmask, 0x0f000000);
	assert_int_equal(out.protocol, ROUTER_PROTO);

	nlh = router_msg_rule(buf, sizeof(buf), false, &r);
	assert_int_equal(nlh->nlmsg_type, RTM_DELRULE);
	assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST);
}

static void test_rule_unreachable_v6(void **state)
{
	const struct router_rule r = {
		.family = IP_FAMILY_V6,
		.action = ROUTER_RULE_UNREACHABLE,
		.priority = 5350,
	};
	const struct fib_rule_hdr *frh;
	struct router_rule out;
	struct nlmsghdr *nlh;
	BUF(buf);

	(void)state;
	nlh = router_msg_rule(buf, sizeof(buf), true, &r);
	assert_non_null(nlh);
	frh = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(frh->family, AF_INET6);
	assert_int_equal(frh->action, FR_ACT_UNREACHABLE);
	assert_false(has_attr(nlh, sizeof(*frh), FRA_TABLE));
	assert_false(has_attr(nlh, sizeof(*frh), FRA_FWMARK));
	as_reply(nlh, RTM_NEWRULE);
	assert_int_equal(router_msg_parse_rule(buf, nlh->nlmsg_len, &out), 0);
	assert_int_equal(out.action, ROUTER_RULE_UNREACHABLE);
	assert_int_equal(out.family, IP_FAMILY_V6);
	assert_int_equal(out.fwmask, 0);
}

static void test_rule_invalid(void **state)
{
	struct router_rule r = {.family = IP_FAMILY_V4, .priority = 1, .table = 64};
	BUF(buf);

	(void)state;
	assert_non_null(router_msg_rule(buf, sizeof(buf), true, &r));
	r.table = 0; /* lookup without a table */
	assert_null(router_msg_rule(buf, sizeof(buf), true, &r));
	r.table = 64;
	r.fwmark = 0x10;
	r.fwmask = 0x0f; /* a mark outside its mask never matches */
	assert_null(router_msg_rule(buf, sizeof(buf), true, &r));
	r.fwmark = r.fwmask = 0;
	r.family = 0;
	assert_null(router_msg_rule(buf, sizeof(buf), true, &r));
	r.family = IP_FAMILY_V4;
	r.action = ROUTER_RULE_OTHER;
	assert_null(router_msg_rule(buf, sizeof(buf), true, &r));
}

/* --- links and dumps ---------------------------------------------------------------------- */

static void test_link_messages(void **state)
{
	const struct ifinfomsg *ifi;
	struct router_link link;
	struct nlmsghdr *nlh;
	BUF(buf);

	(void)state;
	nlh = router_msg_link_get(buf, sizeof(buf), "mesh0");
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_GETLINK);
	assert_attr_bytes(nlh, sizeof(struct ifinfomsg), IFLA_IFNAME, "mesh0", 6);
	assert_null(router_msg_link_get(buf, sizeof(buf), ""));
	assert_null(router_msg_link_get(buf, sizeof(buf), "0123456789abcdef")); /* 16 chars */
	assert_non_null(router_msg_link_get(buf, sizeof(buf), "0123456789abcde"));

	nlh = router_msg_link_set(buf, sizeof(buf), 4, 1, 1280);
	assert_non_null(nlh);
	assert_int_equal(nlh->nlmsg_type, RTM_NEWLINK);
	ifi = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifi->ifi_index, 4);
	assert_int_equal(ifi->ifi_change, IFF_UP);
	assert_int_equal(ifi->ifi_flags, IFF_UP);
	assert_int_equal(attr_u32(nlh, sizeof(*ifi), IFLA_MTU), 1280);

	nlh = router_msg_link_set(buf, sizeof(buf), 4, 0, 0);
	ifi = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifi->ifi_change, IFF_UP);
	assert_int_equal(ifi->ifi_flags, 0);
	assert_false(has_attr(nlh, sizeof(*ifi), IFLA_MTU));

	nlh = router_msg_link_set(buf, sizeof(buf), 4, -1, 1400); /* MTU only */
	ifi = mnl_nlmsg_get_payload(nlh);
	assert_int_equal(ifi->ifi_change, 0);
	assert_null(router_msg_link_set(buf, sizeof(buf), 0, 1, 0));

	/* Parse what a kernel would send back. */
	nlh = router_msg_link_set(buf, sizeof(buf), 4, 1, 1280);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "mesh0");
	as_reply(nlh, RTM_NEWLINK);
	assert_int_equal(router_msg_parse_link(buf, nlh->nlmsg_len, &link), 0);
	assert_int_equal(link.ifindex, 4);
	assert_int_equal(link.mtu, 1280);
	assert_true(link.up);
	assert_string_equal(link.name, "mesh0");
}

static void test_link_parse_bad_name(void **state)
{
	struct router_link link;
	struct nlmsghdr *nlh;
	BUF(buf);

	(void)state;
	nlh = router_msg_link_set(buf, sizeof(buf), 4, -1, 0);
	mnl_attr_put(nlh, IFLA_IFNAME, 3, "abc"); /* no NUL */
	as_reply(nlh, RTM_NEWLINK);
	assert_int_equal(router_msg_parse_link(buf, nlh->nlmsg_len, &link), -EINVAL);
	nlh = router_msg_link_set(buf, sizeof(buf), 4, -1, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "0123456789abcdefgh"); /* longer than IFNAMSIZ */
	as_reply(nlh, RTM_NEWLINK);
	assert_int_equal(router_msg_parse_link(buf, nlh->nlmsg_len, &link), -EINVAL);
	nlh = router_msg_link_set(buf, sizeof(buf), 4, -1, 0);
	mnl_attr_put_u16(nlh, IFLA_MTU, 1500); /* wrong size */
	as_reply(nlh, RTM_NEWLINK);
	assert_int_equal(router_msg_parse_link(buf, nlh->nlmsg_len, &link), -EINVAL);
}

static void test_dump_requests(void **state)
{
	static const struct {
		uint16_t type;
		size_t extra;
	} cases[] = {
		{RTM_GETLINK, sizeof(struct ifinfomsg)},
		{RTM_GETADDR, sizeof(struct ifaddrmsg)},
		{RTM_GETROUTE, sizeof(struct rtmsg)},
		{RTM_GETRULE, sizeof(struct fib_rule_hdr)},
	};
	struct nlmsghdr *nlh;
	BUF(buf);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(buf, 0xa5, sizeof(buf));
		nlh = router_msg_dump(buf, sizeof(buf), cases[i].type);
		assert_non_null(nlh);
		assert_int_equal(nlh->nlmsg_type, cases[i].type);
		assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
		assert_int_equal(nlh->nlmsg_len, MNL_NLMSG_HDRLEN + MNL_ALIGN(cases[i].extra));
		/* All-zero family header: AF_UNSPEC, every family. */
		for (size_t b = 0; b < cases[i].extra; b++)
			assert_int_equal(((uint8_t *)mnl_nlmsg_get_payload(nlh))[b], 0);
	}
	assert_null(router_msg_dump(buf, sizeof(buf), RTM_NEWROUTE));
}

/* Every builder returns NULL, without writing past the end, for each buffer size that is short. */
static void test_buffers_too_small(void **state)
{
	const struct ip_prefix p = pfx("fd7a:115c:a1e0::1/128");
	const struct router_route r = {
		.table = 1000,
		.dst = pfx("fd00::/8"),
		.ifindex = 2,
		.gateway = addr("fe80::1"),
		.src = addr("fd00::1"),
		.metric = 5,
	};
	const struct router_rule rule = {
		.family = IP_FAMILY_V6, .priority = 9, .table = 64, .fwmark = 1, .fwmask = 1};
	BUF(full);
	size_t need[5];

	(void)state;
	need[0] = router_msg_addr(full, sizeof(full), true, 1, &p)->nlmsg_len;
	need[1] = router_msg_route(full, sizeof(full), true, &r)->nlmsg_len;
	need[2] = router_msg_rule(full, sizeof(full), true, &rule)->nlmsg_len;
	need[3] = router_msg_link_get(full, sizeof(full), "mesh0")->nlmsg_len;
	need[4] = router_msg_link_set(full, sizeof(full), 1, 1, 1280)->nlmsg_len;
	for (size_t which = 0; which < ARRAY_SIZE(need); which++) {
		for (size_t size = 0; size <= need[which]; size++) {
			/* Exactly @size bytes on the heap: ASan catches any write past them. */
			void *b = malloc(size ? size : 1);
			struct nlmsghdr *nlh = NULL;

			assert_non_null(b);
			switch (which) {
			case 0:
				nlh = router_msg_addr(b, size, true, 1, &p);
				break;
			case 1:
				nlh = router_msg_route(b, size, true, &r);
				break;
			case 2:
				nlh = router_msg_rule(b, size, true, &rule);
				break;
			case 3:
				nlh = router_msg_link_get(b, size, "mesh0");
				break;
			default:
				nlh = router_msg_link_set(b, size, 1, 1, 1280);
				break;
			}
			if (size < need[which])
				assert_null(nlh);
			else
				assert_non_null(nlh);
			free(b);
		}
	}
}

/* --- acks and errors ---------------------------------------------------------------------- */

/* An NLMSG_ERROR answering @req with @error; capped or not, with an optional text TLV. */
static size_t make_error(char *buf, const struct nlmsghdr *req, int error, bool capped,
			 const char *text)
{
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;
	size_t echo = capped ? sizeof(*req) : req->nlmsg_len;

	memset(buf, 0, ROUTER_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, offsetof(struct nlmsgerr, msg) + echo);
	e->error = error;
	memcpy(&e->msg, req, echo);
	if (capped)
		nlh->nlmsg_flags |= NLM_F_CAPPED;
	if (text) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 20);
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	}
	return nlh->nlmsg_len;
}

static void test_error_parse(void **state)
{
	const struct router_route r = {.table = 64, .dst = pfx("10.0.0.0/8"), .ifindex = 1};
	_Alignas(struct nlmsghdr) char msg[ROUTER_MSG_MAX];
	char text[64], small[8];
	struct nlmsghdr *req;
	size_t len;
	int err;
	BUF(buf);

	(void)state;
	req = router_msg_route(buf, sizeof(buf), true, &r);
	assert_non_null(req);

	len = make_error(msg, req, 0, true, NULL);
	err = 1;
	assert_int_equal(router_msg_parse_error(msg, len, &err, text, sizeof(text)), 0);
	assert_int_equal(err, 0);
	assert_string_equal(text, "");

	for (int capped = 0; capped < 2; capped++) {
		len = make_error(msg, req, -ENETDOWN, capped, "Nexthop device is not up");
		assert_int_equal(router_msg_parse_error(msg, len, &err, text, sizeof(text)), 0);
		assert_int_equal(err, -ENETDOWN);
		assert_string_equal(text, "Nexthop device is not up");
		/* A short buffer gets a truncated, terminated text. */
		assert_int_equal(router_msg_parse_error(msg, len, &err, small, sizeof(small)), 0);
		assert_string_equal(small, "Nexthop");
		assert_int_equal(router_msg_parse_error(msg, len, &err, NULL, 0), 0);
	}

	/* Without NLM_F_ACK_TLVS, bytes after the echo are not read as TLVs. */
	len = make_error(msg, req, -EEXIST, true, "ignored");
	((struct nlmsghdr *)msg)->nlmsg_flags &= (uint16_t)~NLM_F_ACK_TLVS;
	assert_int_equal(router_msg_parse_error(msg, len, &err, text, sizeof(text)), 0);
	assert_int_equal(err, -EEXIST);
	assert_string_equal(text, "");

	/* Malformed: not an error message, a positive error, an echo longer than the message. */
	len = make_error(msg, req, -EEXIST, false, "x");
	((struct nlmsghdr *)msg)->nlmsg_type = NLMSG_DONE;
	assert_int_equal(router_msg_parse_error(msg, len, &err, text, sizeof(text)), -EINVAL);
	len = make_error(msg, req, 5, true, NULL);
	assert_int_equal(router_msg_parse_error(msg, len, &err, text, sizeof(text)), -EINVAL);
	len = make_error(msg, req, -EEXIST, false, "x");
	((struct nlmsgerr *)mnl_nlmsg_get_payload((struct nlmsghdr *)msg))->msg.nlmsg_len = 400;
	assert_int_equal(router_msg_parse_error(msg, len, &err, text, sizeof(text)), -EINVAL);
	assert_int_equal(router_msg_parse_error(NULL, 0, &err, text, sizeof(text)), -EINVAL);
}

/* --- bad input ---------------------------------------------------------------------------- */

static uint64_t rng_state = 0x726f75746572ULL;

static uint64_t rng(void)
{
	/* splitmix64: reproducible across runs and platforms */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Runs every parser on @len bytes copied to an exactly-sized heap buffer. */
static void parse_all(const void *data, size_t len)
{
	struct router_route route;
	struct router_rule rule;
	struct router_link link;
	struct ip_prefix p;
	char text[32];
	void *copy;
	int idx, err;

	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, data, len);
	(void)router_msg_parse_addr(copy, len, &idx, &p);
	(void)router_msg_parse_route(copy, len, &route);
	(void)router_msg_parse_rule(copy, len, &rule);
	(void)router_msg_parse_link(copy, len, &link);
	(void)router_msg_parse_error(copy, len, &err, text, sizeof(text));
	free(copy);
}

/* Valid messages of each kind, as the kernel would send them (reply types). */
static size_t seeds(char bufs[][ROUTER_MSG_MAX], size_t max)
{
	const struct router_route r = {.table = 300,
				       .dst = pfx("fd00::/8"),
				       .ifindex = 2,
				       .gateway = addr("fe80::1"),
				       .src = addr("fd00::1"),
				       .metric = 5};
	const struct router_rule rule = {
		.family = IP_FAMILY_V4, .priority = 9, .table = 64, .fwmark = 1, .fwmask = 3};
	const struct ip_prefix p = pfx("100.64.0.1/32");
	struct nlmsghdr *nlh;
	size_t n = 0;

	assert_true(max >= 5);
	nlh = router_msg_addr(bufs[n++], ROUTER_MSG_MAX, true, 1, &p);
	as_reply(nlh, RTM_NEWADDR);
	nlh = router_msg_route(bufs[n++], ROUTER_MSG_MAX, true, &r);
	as_reply(nlh, RTM_NEWROUTE);
	nlh = router_msg_rule(bufs[n++], ROUTER_MSG_MAX, true, &rule);
	as_reply(nlh, RTM_NEWRULE);
	nlh = router_msg_link_set(bufs[n++], ROUTER_MSG_MAX, 3, 1, 1500);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	as_reply(nlh, RTM_NEWLINK);
	{
		_Alignas(struct nlmsghdr) char req[ROUTER_MSG_MAX];

		nlh = router_msg_route(req, sizeof(req), true, &r);
		make_error(bufs[n], nlh, -EINVAL, false, "bad attribute");
	}
	n++;
	return n;
}

static void test_truncations(void **state)
{
	_Alignas(struct nlmsghdr) char bufs[5][ROUTER_MSG_MAX];
	size_t n = seeds(bufs, ARRAY_SIZE(bufs));
	struct router_route route;
	struct router_rule rule;
	struct ip_prefix p;
	int idx;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		size_t full = ((struct nlmsghdr *)bufs[i])->nlmsg_len;

		for (size_t len = 0; len <= full; len++)
			parse_all(bufs[i], len);
	}
	/* A message cut short of its nlmsg_len is refused, not half-read. */
	assert_int_equal(router_msg_parse_addr(bufs[0], ((struct nlmsghdr *)bufs[0])->nlmsg_len - 1,
					       &idx, &p),
			 -EINVAL);
	assert_int_equal(router_msg_parse_route(
				 bufs[1], ((struct nlmsghdr *)bufs[1])->nlmsg_len - 1, &route),
			 -EINVAL);
	assert_int_equal(
		router_msg_parse_rule(bufs[2], ((struct nlmsghdr *)bufs[2])->nlmsg_len - 1, &rule),
		-EINVAL);
}

static void test_random_mutations(void **state)
{
	_Alignas(struct nlmsghdr) char bufs[5][ROUTER_MSG_MAX], m[ROUTER_MSG_MAX];
	size_t n = seeds(bufs, ARRAY_SIZE(bufs));

	(void)state;
	for (int iter = 0; iter < 50000; iter++) {
		size_t s = (size_t)(rng() % n);
		size_t len = ((struct nlmsghdr *)bufs[s])->nlmsg_len;
		int flips = 1 + (int)(rng() % 4);

		memcpy(m, bufs[s], ROUTER_MSG_MAX);
		for (int f = 0; f < flips; f++) {
			size_t at = (size_t)(rng() % len);

			/* Mostly small length-ish values, sometimes anything. */
			m[at] = (char)(rng() % 3 ? (uint8_t)(rng() % 40) : (uint8_t)rng());
		}
		if (rng() % 4 == 0)
			len = (size_t)(rng() % (len + 1));
		parse_all(m, len);
	}
	for (int iter = 0; iter < 5000; iter++) {
		size_t len = (size_t)(rng() % 200);

		for (size_t i = 0; i < len; i++)
			m[i] = (char)rng();
		if (len >= 4) /* a plausible length makes the parsers go deeper */
			((struct nlmsghdr *)m)->nlmsg_len = (uint32_t)len;
		parse_all(m, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_v4),
		cmocka_unit_test(test_addr_v6),
		cmocka_unit_test(test_addr_invalid),
		cmocka_unit_test(test_addr_parse_local_wins),
		cmocka_unit_test(test_route_unicast_v4),
		cmocka_unit_test(test_route_v6_gateway_src_metric),
		cmocka_unit_test(test_route_types),
		cmocka_unit_test(test_route_invalid),
		cmocka_unit_test(test_route_parse_multipath),
		cmocka_unit_test(test_rule_lookup_mark),
		cmocka_unit_test(test_rule_unreachable_v6),
		cmocka_unit_test(test_rule_invalid),
		cmocka_unit_test(test_link_messages),
		cmocka_unit_test(test_link_parse_bad_name),
		cmocka_unit_test(test_dump_requests),
		cmocka_unit_test(test_buffers_too_small),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_random_mutations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
