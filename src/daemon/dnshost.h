/* SPDX-License-Identifier: MIT */
/*
 * MagicDNS inside meshd: the resolver (dns/magicdns.h) fed from the netmap,
 * queries to 100.100.100.100 / fd7a:115c:a1e0::53 taken off the TUN and
 * answered in-process, other names forwarded upstream (dns/forward.h), and
 * the host's resolver configuration (dns/osconfig.h) pointed at us while
 * `accept_dns` is on. docs/dns.md has the rules.
 */
#ifndef MESH_DAEMON_DNSHOST_H
#define MESH_DAEMON_DNSHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "control/msg.h"

struct dnshost;
struct netmap;

/** Where answers go: written to the TUN as if they came from the mesh. */
typedef int dnshost_write_cb(void *ctx, const uint8_t *pkt, size_t len);

int dnshost_new(struct dnshost **out, uv_loop_t *loop, const char *state_dir, const char *ifname,
		uint32_t fwmark, dnshost_write_cb *write, void *ctx);
void dnshost_free(struct dnshost *d);

/** Rebuild the records from the netmap and its DNS config (NULL: MagicDNS off). */
void dnshost_update(struct dnshost *d, const struct netmap *nm, const struct ctl_dns_config *dns);

/** The engine's outbound tap: true if @pkt was a DNS packet for us (then it is consumed). */
bool dnshost_outbound(struct dnshost *d, const uint8_t *pkt, size_t len);

/** Point the host at MagicDNS (if @on and MagicDNS is enabled) or restore it. */
void dnshost_set_os(struct dnshost *d, bool on);

/** Undo the OS configuration left by any earlier meshd run (crash cleanup). */
int dnshost_cleanup_os(const char *state_dir);

#endif
