/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink messages for the router, built and parsed without I/O: links,
 * addresses, routes and policy rules, plus the kernel's (extended) ack.
 *
 * Everything meshd puts into the kernel's routing state carries the routing
 * protocol ROUTER_PROTO ("proto 109" in `ip route` and `ip rule`), so a crash
 * cleanup can tell our routes and rules from everyone else's. Builders write
 * one request into a caller's buffer and return NULL when it does not fit;
 * parsers take one message as (buf, len), check every length before reading,
 * and return -EINVAL (or -EAFNOSUPPORT for families we do not handle) on
 * anything malformed.
 */
#ifndef MESH_ROUTER_ROUTER_MSG_H
#define MESH_ROUTER_ROUTER_MSG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

struct nlmsghdr;

enum router_msg_limits {
	ROUTER_PROTO = 109,   /* rtm_protocol / FRA_PROTOCOL of everything we add */
	ROUTER_MSG_MAX = 512, /* big enough for any request built here */
	ROUTER_TABLE_MAIN = 254,
	ROUTER_TABLE_DEFAULT = 253,
	ROUTER_TABLE_LOCAL = 255,
};

enum router_route_type {
	ROUTER_ROUTE_UNICAST = 0, /* through ifindex (and gateway, if set) */
	ROUTER_ROUTE_THROW,	  /* end this table's lookup: the next rule decides */
	ROUTER_ROUTE_BLACKHOLE,	  /* drop silently */
	ROUTER_ROUTE_UNREACHABLE, /* drop with ICMP unreachable */
	ROUTER_ROUTE_OTHER,	  /* parsed only: local, broadcast, multicast, ... */
};

enum router_rule_action {
	ROUTER_RULE_LOOKUP = 0,	 /* look the packet up in `table` */
	ROUTER_RULE_UNREACHABLE, /* fail the lookup with ENETUNREACH */
	ROUTER_RULE_OTHER,	 /* parsed only: goto, nop, blackhole, prohibit */
};

struct router_link {
	int ifindex;
	char name[IFNAMSIZ];
	unsigned int mtu;
	bool up; /* IFF_UP */
};

struct router_route {
	uint32_t table;
	struct ip_prefix dst;
	uint8_t type;		/* enum router_route_type */
	uint8_t protocol;	/* parsed; builders always use ROUTER_PROTO */
	int ifindex;		/* 0: none (needed for unicast without gateway) */
	struct ip_addr gateway; /* unset: directly on the link */
	struct ip_addr src;	/* unset: let the kernel choose */
	uint32_t metric;	/* 0: the kernel's default (IPv6: 1024) */
};

struct router_rule {
	uint8_t family; /* IP_FAMILY_V4 or IP_FAMILY_V6 */
	uint8_t action; /* enum router_rule_action */
	uint8_t protocol;
	uint32_t priority;
	uint32_t table;	 /* for ROUTER_RULE_LOOKUP */
	uint32_t fwmark; /* match (mark & fwmask) == fwmark ... */
	uint32_t fwmask; /* ... only if fwmask is not 0 */
};

/** RTM_GETLINK for the interface @name. Returns the message, or NULL if @size is too small. */
struct nlmsghdr *router_msg_link_get(void *buf, size_t size, const char *name);

/**
 * RTM_NEWLINK changing the interface @ifindex: IFF_UP set (@up 1) or cleared
 * (@up 0) unless @up is negative, and its MTU unless @mtu is 0. Returns the
 * message, or NULL if @size is too small.
 */
struct nlmsghdr *router_msg_link_set(void *buf, size_t size, int ifindex, int up, unsigned int mtu);

/**
 * RTM_NEWADDR (with NLM_F_CREATE | NLM_F_EXCL) or RTM_DELADDR (@add false) for
 * @p on @ifindex. IPv6 addresses skip duplicate address detection (IFA_F_NODAD):
 * a mesh address is ours alone, and DAD would delay it by seconds. Returns the
 * message, or NULL if @size is too small or @p has no family.
 */
struct nlmsghdr *router_msg_addr(void *buf, size_t size, bool add, int ifindex,
				 const struct ip_prefix *p);

/**
 * RTM_NEWROUTE (NLM_F_CREATE | NLM_F_REPLACE, so adding is idempotent and
 * converges a route with the same key to @r) or RTM_DELROUTE (@add false,
 * matching only routes of protocol ROUTER_PROTO) for @r. The destination's
 * host bits must be clear. Returns the message, or NULL if @size is too small
 * or @r is inconsistent (mixed families, a unicast route without interface or
 * gateway, a table of 0).
 */
struct nlmsghdr *router_msg_route(void *buf, size_t size, bool add, const struct router_route *r);

/**
 * RTM_NEWRULE (NLM_F_CREATE | NLM_F_EXCL: the kernel answers EEXIST for an
 * identical rule) or RTM_DELRULE (@add false) for @r, protocol ROUTER_PROTO.
 * Returns the message, or NULL if @size is too small or @r is inconsistent.
 */
struct nlmsghdr *router_msg_rule(void *buf, size_t size, bool add, const struct router_rule *r);

/**
 * A dump request (NLM_F_DUMP) of @type (RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE,
 * RTM_GETRULE) for both address families. Returns the message, or NULL if
 * @size is too small.
 */
struct nlmsghdr *router_msg_dump(void *buf, size_t size, uint16_t type);

/** Parse an RTM_NEWLINK message. Returns 0, or -EINVAL if malformed. */
int router_msg_parse_link(const void *buf, size_t len, struct router_link *out);

/**
 * Parse an RTM_NEWADDR message into @ifindex and @out (IFA_LOCAL, else
 * IFA_ADDRESS, and ifa_prefixlen). Returns 0, -EINVAL if malformed, or
 * -EAFNOSUPPORT for families other than IPv4 and IPv6.
 */
int router_msg_parse_addr(const void *buf, size_t len, int *ifindex, struct ip_prefix *out);

/**
 * Parse an RTM_NEWROUTE message (a single-path route; the first hop is kept for
 * a multipath one). Returns 0, -EINVAL if malformed, or -EAFNOSUPPORT.
 */
int router_msg_parse_route(const void *buf, size_t len, struct router_route *out);

/** Parse an RTM_NEWRULE message. Returns 0, -EINVAL if malformed, or -EAFNOSUPPORT. */
int router_msg_parse_rule(const void *buf, size_t len, struct router_rule *out);

/**
 * Parse an NLMSG_ERROR message: *@error gets the kernel's result (0 for an
 * ack, else a negative errno) and @msg (@msglen bytes, may be NULL) the
 * extended ack's NLMSGERR_ATTR_MSG text, or "" when there is none. Returns 0,
 * or -EINVAL if malformed.
 */
int router_msg_parse_error(const void *buf, size_t len, int *error, char *msg, size_t msglen);

#endif
