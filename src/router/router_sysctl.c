// SPDX-License-Identifier: MIT
/* IP forwarding through /proc/sys (per network namespace). */
#include "router/router_sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "util/ipaddr.h"

static const char *forwarding_path(int family)
{
	switch (family) {
	case IP_FAMILY_V4:
		return "/proc/sys/net/ipv4/ip_forward";
	case IP_FAMILY_V6:
		return "/proc/sys/net/ipv6/conf/all/forwarding";
	default:
		return NULL;
	}
}

int router_sysctl_forwarding(int family, bool *on)
{
	const char *path = forwarding_path(family);
	char buf[16];
	ssize_t n;
	int fd;

	if (!path)
		return -EAFNOSUPPORT;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -EAFNOSUPPORT : -errno;
	do {
		n = read(fd, buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -EPROTO;
	*on = buf[0] != '0';
	return 0;
}

static int enable(int family)
{
	const char *path = forwarding_path(family);
	bool on = false;
	ssize_t n;
	int fd, ret;

	ret = router_sysctl_forwarding(family, &on);
	if (ret || on)
		return ret;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = write(fd, "1\n", 2);
	} while (n < 0 && errno == EINTR);
	ret = n == 2 ? 0 : n < 0 ? -errno : -EIO;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}

int router_sysctl_enable_forwarding(bool v4, bool v6)
{
	int ret = 0, r;

	if (v4) {
		r = enable(IP_FAMILY_V4);
		if (r)
			ret = r;
	}
	if (v6) {
		r = enable(IP_FAMILY_V6);
		if (r && !ret)
			ret = r;
	}
	return ret;
}
