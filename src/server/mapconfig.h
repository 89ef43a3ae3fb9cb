/* SPDX-License-Identifier: MIT */
/*
 * The parts of every node's map that come from meshcontrol's config rather
 * than from its database: the relay map (the embedded relay and the regions
 * of "relay_map"), the home relay region nodes are given, and the DNS
 * configuration. Built once at start; the netmap builder encodes them once.
 */
#ifndef MESH_SERVER_MAPCONFIG_H
#define MESH_SERVER_MAPCONFIG_H

#include <stdint.h>

#include "control/msg.h"
#include "server/config.h"

/**
 * Fill @out with the relay map nodes are told about: when cfg->relay.enabled,
 * the embedded relay first (one node at the host and port of server_url, STUN
 * on @stun_port, 0 for none), then every region of cfg->relay_map. Free with
 * ctl_relay_map_free(). Returns 0 or -ENOMEM; an embedded relay whose URL host
 * cannot be put in a map (an IPv6 literal) is left out with a warning.
 */
int mapconfig_relay_map(const struct config *cfg, uint16_t stun_port, struct ctl_relay_map *out);

/**
 * The relay region every node is given as its home: the embedded relay's when
 * it runs, else the first region of relay_map, else 0 (none). Nodes do not
 * report a preference in this protocol version.
 */
uint32_t mapconfig_home_relay(const struct config *cfg, const struct ctl_relay_map *map);

/**
 * Fill @out with the DNS configuration of cfg->dns: MagicDNS on or off, the
 * base domain, nameservers, search domains (the base domain first when
 * MagicDNS is on) and extra records. Free with ctl_dns_config_free().
 * Returns 0, -EINVAL (a value the config check should have refused) or -ENOMEM.
 */
int mapconfig_dns(const struct config *cfg, struct ctl_dns_config *out);

#endif
