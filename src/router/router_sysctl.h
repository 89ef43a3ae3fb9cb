/* SPDX-License-Identifier: MIT */
/*
 * IP forwarding switches of the current network namespace, for subnet routers
 * and exit nodes: net.ipv4.ip_forward and net.ipv6.conf.all.forwarding.
 *
 * meshd only ever turns forwarding on, and only when asked to route for
 * others; it never turns it off again (at cleanup it cannot know whether
 * something else on the host relies on it). Turning IPv6 forwarding on makes
 * interfaces with accept_ra=1 stop accepting router advertisements (set
 * accept_ra=2 on an uplink that gets its address by SLAAC).
 */
#ifndef MESH_ROUTER_ROUTER_SYSCTL_H
#define MESH_ROUTER_ROUTER_SYSCTL_H

#include <stdbool.h>

/**
 * Read whether forwarding is on for @family (4 or 6) into *@on. Returns 0,
 * -EAFNOSUPPORT for another family or when the kernel has no IPv6, or a
 * negative errno.
 */
int router_sysctl_forwarding(int family, bool *on);

/**
 * Turn forwarding on for IPv4 (@v4) and/or IPv6 (@v6); a switch that is on
 * already is not written again (writing conf/all/forwarding resets every
 * interface's own setting). Returns 0, or the first negative errno (-EACCES
 * or -EPERM without privilege).
 */
int router_sysctl_enable_forwarding(bool v4, bool v6);

#endif
