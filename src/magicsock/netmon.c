// SPDX-License-Identifier: MIT
/*
 * Our interface addresses (the "local" candidates we advertise) and a
 * netlink watcher that notices when they change: address and link events
 * are debounced, the addresses re-read, and only a real change re-probes
 * (our own router adding routes to the mesh must not cost a netcheck).
 */
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "magicsock/internal.h"
#include "util/log.h"

static const char *const LOG_COMP = "magicsock";

/* The mesh's own IPv6 range: addresses on the TUN, never a way to reach us. */
static const uint8_t mesh_ula[6] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};

static bool usable_local(const struct ip_addr *a)
{
	if (a->family == IP_FAMILY_V4)
		return !(a->bytes[0] == 169 && a->bytes[1] == 254) && a->bytes[0] != 127 &&
		       a->bytes[0] != 0;
	if (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80)
		return false; /* link-local: needs a zone */
	if (ip_addr_is_v4_mapped(a) || !memcmp(a->bytes, mesh_ula, sizeof(mesh_ula)))
		return false;
	for (int i = 0; i < 15; i++)
		if (a->bytes[i])
			return true;
	return false; /* :: and ::1 */
}

static int cmp_endpoint(const void *a, const void *b)
{
	return ip_addr_compare(&((const struct ip_endpoint *)a)->addr,
			       &((const struct ip_endpoint *)b)->addr);
}

bool ms_read_ifaddrs(struct magicsock *ms)
{
	struct ip_endpoint found[MS_MAX_IFADDRS];
	struct ifaddrs *ifa, *i;
	unsigned int n = 0;
	bool changed;

	if (getifaddrs(&ifa) < 0) {
		log_warn(LOG_COMP, "getifaddrs: %s", strerror(errno));
		return false;
	}
	memset(found, 0, sizeof(found));
	for (i = ifa; i && n < MS_MAX_IFADDRS; i = i->ifa_next) {
		struct ip_endpoint e;
		bool dup = false;

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (ms->exclude_ifname && !strcmp(i->ifa_name, ms->exclude_ifname))
			continue;
		if (ip_endpoint_from_sockaddr(&e, i->ifa_addr) < 0 || !usable_local(&e.addr))
			continue;
		e.port = 0;
		for (unsigned int k = 0; k < n && !dup; k++)
			dup = ip_addr_equal(&found[k].addr, &e.addr);
		if (!dup)
			found[n++] = e;
	}
	freeifaddrs(ifa);
	qsort(found, n, sizeof(found[0]), cmp_endpoint);
	changed = n != ms->nifaddrs;
	for (unsigned int k = 0; k < n && !changed; k++)
		changed = !ip_addr_equal(&found[k].addr, &ms->ifaddrs[k].addr);
	memcpy(ms->ifaddrs, found, sizeof(found));
	ms->nifaddrs = n;
	return changed;
}

static void on_debounced(uv_timer_t *t)
{
	struct magicsock *ms = t->data;

	if (ms_read_ifaddrs(ms)) {
		log_info(LOG_COMP, "interface addresses changed: re-probing");
		magicsock_network_changed(ms);
	}
}

static void on_netlink(uv_poll_t *h, int status, int events)
{
	struct magicsock *ms = h->data;
	uint8_t buf[8192];
	bool any = false;

	(void)events;
	if (status < 0)
		return;
	/* The content does not matter: something changed; re-read once things settle. */
	while (recv(ms->nl_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		any = true;
	if (any)
		uv_timer_start(&ms->nl_timer, on_debounced, MAGICSOCK_NETMON_DEBOUNCE_MS, 0);
}

int ms_netmon_start(struct magicsock *ms)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
	};
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = uv_poll_init(ms->loop, &ms->nl_poll, fd);
	if (ret) {
		close(fd);
		return ret;
	}
	ms->nl_fd = fd;
	ms->nl_poll.data = ms;
	uv_timer_init(ms->loop, &ms->nl_timer);
	ms->nl_timer.data = ms;
	ms->open_handles += 2;
	return uv_poll_start(&ms->nl_poll, UV_READABLE, on_netlink);
}

void ms_netmon_stop(struct magicsock *ms)
{
	if (ms->nl_fd < 0)
		return;
	uv_poll_stop(&ms->nl_poll); /* out of epoll before the fd closes */
	close(ms->nl_fd);
	ms->nl_fd = -1;
	uv_close((uv_handle_t *)&ms->nl_poll, ms_handle_closed);
	uv_close((uv_handle_t *)&ms->nl_timer, ms_handle_closed);
}
