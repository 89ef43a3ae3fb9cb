/* SPDX-License-Identifier: MIT */
/*
 * meshd's nftables table, through libnftables: forwarding between the mesh
 * interface and the others (subnet routers, exit nodes) and masquerading of
 * mesh traffic that leaves through another interface.
 *
 * Everything lives in one table, `inet meshd` (one `inet` table serves IPv4
 * and IPv6; NAT in it needs Linux >= 5.2). Nothing outside it is read or
 * changed, so other firewalls (iptables-nft, firewalld, Docker) keep their
 * rules. Because a packet must pass every base chain of a hook, our accept
 * cannot override another table's drop: a host firewall that drops forwarded
 * traffic must allow the mesh interface itself. The table holds:
 *
 *   chain input        hook input, policy accept: empty for now, the place
 *                      for inbound rules on the mesh interface
 *   chain forward      hook forward, policy accept: accept from the mesh
 *                      interface; drop packets towards it whose source claims
 *                      a mesh address (spoofed from a LAN); accept the rest
 *                      towards it
 *   chain postrouting  hook postrouting (nat), only with SNAT on: masquerade
 *                      packets from the mesh prefixes that leave through
 *                      another interface and were not sent from one of this
 *                      host's own addresses (forwarded traffic only)
 *
 * Applying writes the whole table in one transaction ("add table; delete
 * table; table { ... }"), so there is never a moment without rules and
 * applying twice yields the same ruleset (with new handles).
 */
#ifndef MESH_ROUTER_ROUTER_NFT_H
#define MESH_ROUTER_ROUTER_NFT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/ipaddr.h"

/* The table's name, in the inet family. */
#define ROUTER_NFT_TABLE "meshd"

enum router_nft_limits {
	ROUTER_NFT_SCRIPT_MAX = 4096, /* always enough for router_nft_build() */
	ROUTER_NFT_ERRLEN = 256,
};

struct router_nft_config {
	char ifname[IFNAMSIZ];	  /* the mesh interface */
	bool snat;		  /* masquerade forwarded mesh traffic (default on in meshd) */
	struct ip_prefix mesh_v4; /* 100.64.0.0/10; family unset: no IPv4 rules */
	struct ip_prefix mesh_v6; /* fd7a:115c:a1e0::/48; family unset: no IPv6 rules */
};

/**
 * Write the nft script that (re)creates the table for @cfg into @buf (@len
 * bytes, ROUTER_NFT_SCRIPT_MAX is enough). The interface name must be 1-15
 * characters of [A-Za-z0-9_.@+-] (no nft wildcards or quotes); the prefixes
 * are used with their host bits cleared. Returns the script's length, -EINVAL
 * for a bad @cfg, or -ENOSPC if @buf is too small.
 */
int router_nft_build(const struct router_nft_config *cfg, char *buf, size_t len);

/**
 * Create or replace the table for @cfg, atomically. On failure, @err (@errlen
 * bytes, may be NULL) gets nft's first error line. Returns 0, -EINVAL for a
 * bad @cfg, -EPERM without CAP_NET_ADMIN, -EOPNOTSUPP if the kernel lacks a
 * needed nftables feature, or -EIO for another error.
 */
int router_nft_apply(const struct router_nft_config *cfg, char *err, size_t errlen);

/**
 * Delete the table if it exists (nothing else). Returns 0, or a negative errno
 * as router_nft_apply() does, with nft's error line in @err.
 */
int router_nft_cleanup(char *err, size_t errlen);

#endif
