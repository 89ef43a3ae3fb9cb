/* SPDX-License-Identifier: MIT */
/*
 * The OS router: puts a node's desired network state into the kernel of the
 * namespace meshd runs in, and takes it out again.
 *
 * What meshd owns is named by struct router_ids, which never changes while
 * meshd runs and is all a fresh process needs to clean up after a crash:
 *
 *  - the mesh interface (the TUN): its up flag, MTU and mesh addresses;
 *  - routing table ROUTER_TABLE (64, after 100.64.0.0/10; Tailscale uses 52,
 *    so the two can share a host), holding every route to the mesh: the mesh
 *    prefixes, accepted subnet routes, an exit node's default routes, and
 *    `throw` routes for prefixes that must stay off the mesh (the local LAN
 *    when an exit node is used with LAN access);
 *  - policy rules at priorities ROUTER_RULE_PRIORITY + 10 .. + 70, for IPv4
 *    and IPv6, as Tailscale's (which sit at 5210 .. 5270):
 *        +10  fwmark BYPASS/MASK  lookup main
 *        +30  fwmark BYPASS/MASK  lookup default
 *        +50  fwmark BYPASS/MASK  unreachable
 *        +70                      lookup 64
 *    Packets of meshd's own sockets carry the bypass mark (SO_MARK), so the
 *    encrypted traffic never loops into the tunnel even when table 64 holds
 *    a default route; everything else consults table 64 before main.
 *  - the nftables table `inet meshd` (see router_nft.h);
 *  - IP forwarding, turned on for subnet routers and exit nodes (never off).
 *
 * Routes and rules carry routing protocol ROUTER_PROTO (109), so cleanup
 * leaves others' rules alone even in our priority range.
 *
 * router_apply() diffs the desired state against what this struct applied
 * last and changes only the difference: applying the same config twice makes
 * no system call that changes anything. A new meshd calls router_cleanup()
 * once before its first apply, so leftovers of a crashed run are removed.
 */
#ifndef MESH_ROUTER_ROUTER_H
#define MESH_ROUTER_ROUTER_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "router/router_netlink.h"
#include "router/router_nft.h"
#include "router/router_set.h"
#include "util/ipaddr.h"

enum router_defaults {
	ROUTER_TABLE = 64,
	ROUTER_RULE_PRIORITY = 5300,
	ROUTER_RULE_SPAN = 100, /* cleanup removes our rules in [priority, priority + 99] */
	ROUTER_FWMARK_BYPASS = 0x08000000,
	ROUTER_FWMARK_MASK = 0x0f000000,
};

/* Rule priorities, as offsets from router_ids.rule_priority. */
enum router_rule_offsets {
	ROUTER_RULE_BYPASS_MAIN = 10,
	ROUTER_RULE_BYPASS_DEFAULT = 30,
	ROUTER_RULE_BYPASS_UNREACHABLE = 50,
	ROUTER_RULE_MESH_TABLE = 70,
};

/* What meshd owns in the OS; fixed for the life of the process. */
struct router_ids {
	char ifname[IFNAMSIZ];	  /* the mesh interface */
	uint32_t table;		  /* our routing table */
	uint32_t rule_priority;	  /* base of our rule priorities */
	uint32_t bypass_mark;	  /* the SO_MARK of meshd's own sockets ... */
	uint32_t fwmark_mask;	  /* ... within these bits */
	struct ip_prefix mesh_v4; /* 100.64.0.0/10; unset: no IPv4 rules */
	struct ip_prefix mesh_v6; /* fd7a:115c:a1e0::/48; unset: no IPv6 rules */
};

/* The desired state; the arrays stay the caller's and may be in any order, with duplicates. */
struct router_config {
	unsigned int mtu; /* 0: leave the interface's MTU alone */
	const struct ip_prefix *addrs;
	size_t n_addrs; /* the node's own addresses (/32 and /128) */
	const struct ip_prefix *routes;
	size_t n_routes; /* into the mesh interface (host bits are ignored) */
	const struct ip_prefix *local_routes;
	size_t n_local_routes; /* never into the mesh (throw routes); win over routes */
	bool forwarding;       /* subnet router or exit node: turn IP forwarding on */
	bool firewall;	       /* install the nftables table */
	bool snat;	       /* masquerade forwarded mesh traffic (with firewall) */
};

struct router_stats {
	unsigned int changes; /* kernel objects changed by the last apply or cleanup */
};

struct router {
	struct router_nl nl;
	struct router_ids ids;
	/* What the last applies put in place (exactly: failed changes are not recorded). */
	int ifindex;
	struct router_set addrs;
	struct router_set routes;
	bool rules;
	bool firewall;
	struct router_nft_config nft;
	bool forwarding;
	struct router_stats stats;
};

/**
 * Fill @ids with the defaults (ROUTER_TABLE, ROUTER_RULE_PRIORITY,
 * ROUTER_FWMARK_BYPASS in ROUTER_FWMARK_MASK, 100.64.0.0/10 and
 * fd7a:115c:a1e0::/48) for the interface @ifname. Returns 0, or -EINVAL if
 * @ifname is empty or longer than IFNAMSIZ - 1.
 */
int router_ids_init(struct router_ids *ids, const char *ifname);

/**
 * Open the router for @ids (an rtnetlink socket; nothing is changed yet).
 * Returns 0, -EINVAL for bad @ids (main/default/local or 0 as the table, a
 * rule range that wraps, a bypass mark outside its mask), or a negative errno.
 */
int router_open(struct router *r, const struct router_ids *ids);

/** Free @r's resources, leaving the OS state as it is (see router_cleanup()). */
void router_close(struct router *r);

/**
 * Bring the OS to @cfg: the interface up (and its MTU), the addresses, the
 * routes in our table, our rules, the nftables table and forwarding. Only the
 * difference to the last apply is changed; routes are added before stale ones
 * are removed. A failing step is logged with the kernel's reason and the
 * others still run; what failed is retried by the next apply. Returns the
 * number of changes made (0: the OS was in that state already), -EINVAL for
 * a bad @cfg (before anything changes), -ENODEV if the interface does not
 * exist, or the first step's negative errno.
 */
int router_apply(struct router *r, const struct router_config *cfg);

/**
 * Remove everything @r's ids own, whether this process added it or not: our
 * rules, every route in our table, the addresses inside the mesh prefixes
 * (and any applied) on the interface if it still exists, and the nftables
 * table. Forwarding is left on. Returns 0 or the first negative errno (every
 * step is tried).
 */
int router_cleanup(struct router *r);

#endif
