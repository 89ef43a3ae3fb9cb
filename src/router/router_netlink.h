/* SPDX-License-Identifier: MIT */
/*
 * rtnetlink for the router: links, addresses, routes and policy rules of the
 * network namespace the process runs in, through one libmnl socket.
 *
 * Requests are blocking request/ack exchanges bounded by a timeout (these are
 * configuration calls, made rarely). Changes are idempotent, so a caller may
 * simply state what it wants: adding what exists or deleting what does not is
 * success (see each function). When the kernel rejects a request, the
 * function returns its errno and router_nl_error() the kernel's extended-ack
 * text ("Nexthop device is not up"), if it sent one; nothing is logged here.
 *
 * Routes and rules are added with protocol ROUTER_PROTO and deleted only when
 * they carry it, so neither a delete nor a flush touches what others made.
 */
#ifndef MESH_ROUTER_ROUTER_NETLINK_H
#define MESH_ROUTER_ROUTER_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/router_msg.h"
#include "util/ipaddr.h"

enum router_nl_limits {
	ROUTER_NL_TIMEOUT_MS = 5000, /* per request, dumps included */
	ROUTER_NL_ERRLEN = 160,
	ROUTER_NL_RECV_SIZE = 32768, /* a dump part is at most one page; 32 KiB is ample */
	ROUTER_NL_DUMP_RETRIES = 3,  /* a dump interrupted by a change is run again */
};

struct mnl_socket;

struct router_nl {
	struct mnl_socket *sock; /* NULL when closed */
	uint32_t portid;
	uint32_t seq;
	unsigned int timeout_ms;
	char *buf; /* ROUTER_NL_RECV_SIZE bytes */
	char err[ROUTER_NL_ERRLEN];
};

/**
 * Open an rtnetlink socket in the current network namespace, with extended
 * acks and capped acks on, and a timeout of ROUTER_NL_TIMEOUT_MS per request.
 * Returns 0 or a negative errno; on failure @nl is left closed.
 */
int router_nl_open(struct router_nl *nl);

/** Close the socket and free the buffer; safe on a closed or zeroed @nl. */
void router_nl_close(struct router_nl *nl);

/** The kernel's extended-ack message for the last failed request, or "" if it gave none. */
const char *router_nl_error(const struct router_nl *nl);

/**
 * Look up the interface @name. Fills @out (may be NULL) and returns its index
 * (> 0), or -ENODEV if there is no such interface, or another negative errno.
 */
int router_nl_link_get(struct router_nl *nl, const char *name, struct router_link *out);

/** Index of the interface @name (> 0), -ENODEV if there is none, or another negative errno. */
int router_nl_link_index(struct router_nl *nl, const char *name);

/** Set (@up true) or clear IFF_UP on @ifindex. Returns 0 or a negative errno. */
int router_nl_link_set_up(struct router_nl *nl, int ifindex, bool up);

/** Set the MTU of @ifindex. Returns 0, -EINVAL for a bad @mtu, or another negative errno. */
int router_nl_link_set_mtu(struct router_nl *nl, int ifindex, unsigned int mtu);

/**
 * Add the address @p (IPv4 or IPv6, prefix length as given: meshd uses /32 and
 * /128) to @ifindex; an address that is there already is success. Returns 0
 * or a negative errno.
 */
int router_nl_addr_add(struct router_nl *nl, int ifindex, const struct ip_prefix *p);

/**
 * Remove the address @p from @ifindex; an address (or interface) that is not
 * there is success. Returns 0 or a negative errno.
 */
int router_nl_addr_del(struct router_nl *nl, int ifindex, const struct ip_prefix *p);

/**
 * List the IPv4 and IPv6 addresses of @ifindex (0: of every interface) into
 * @out, at most @max of them (@out may be NULL when @max is 0), in the
 * kernel's order. Returns how many there are, which may exceed @max, or a
 * negative errno.
 */
int router_nl_addr_list(struct router_nl *nl, int ifindex, struct ip_prefix *out, size_t max);

/**
 * Add or replace the route @r (NLM_F_REPLACE: a route with the same
 * destination, table and metric becomes @r, so adding twice changes nothing).
 * Returns 0, -EINVAL if @r is inconsistent, or a negative errno (-ENETDOWN:
 * the interface is down).
 */
int router_nl_route_add(struct router_nl *nl, const struct router_route *r);

/**
 * Remove the route @r (ours only: protocol ROUTER_PROTO); one that is not
 * there is success. Returns 0 or a negative errno.
 */
int router_nl_route_del(struct router_nl *nl, const struct router_route *r);

/**
 * List the IPv4 and IPv6 routes of @table into @out (at most @max; @out may
 * be NULL when @max is 0). Returns how many there are, or a negative errno.
 */
int router_nl_route_list(struct router_nl *nl, uint32_t table, struct router_route *out,
			 size_t max);

/**
 * Remove every IPv4 and IPv6 route in @table, whoever added it: the table is
 * ours (crash cleanup). Refuses the kernel's main, default and local tables
 * and 0 with -EINVAL. Returns the number of routes removed, or a negative errno.
 */
int router_nl_route_flush_table(struct router_nl *nl, uint32_t table);

/**
 * Add the policy rule @r; an identical rule that exists is success. Returns
 * 0, -EINVAL if @r is inconsistent, or a negative errno.
 */
int router_nl_rule_add(struct router_nl *nl, const struct router_rule *r);

/** Remove the rule @r (ours only); a rule that is not there is success. Returns 0 or -errno. */
int router_nl_rule_del(struct router_nl *nl, const struct router_rule *r);

/**
 * Remove every IPv4 and IPv6 rule of ours (protocol ROUTER_PROTO) whose
 * priority lies in [@prio_min, @prio_max]; others' rules are left alone even
 * inside that range. Returns the number removed, or a negative errno.
 */
int router_nl_rule_flush(struct router_nl *nl, uint32_t prio_min, uint32_t prio_max);

#endif
