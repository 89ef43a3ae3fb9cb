// SPDX-License-Identifier: MIT
/*
 * Linux TUN: create the interface on /dev/net/tun, set its MTU, and move
 * batches of packets between the fd and pool buffers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun/tun.h"
#include "util/log.h"

static int name_valid(const char *name)
{
	size_t len;

	if (!name)
		return 0;
	len = strnlen(name, IFNAMSIZ);
	if (len == 0 || len > TUN_NAME_MAX)
		return 0;
	/* The kernel's dev_valid_name(), minus the "%d" template (we want one name). */
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == ':' || c == '%' || c <= ' ' || c == 0x7f)
			return 0;
	}
	return 1;
}

/* Interface ioctls need some socket; an IPv4 datagram one is always there. */
static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, req, ifr) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void ifreq_init(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	memcpy(ifr->ifr_name, name, strnlen(name, IFNAMSIZ - 1));
}

int tun_set_mtu(struct tun_device *tun, unsigned int mtu)
{
	struct ifreq ifr;
	int ret;

	if (mtu < TUN_MIN_MTU || mtu > TUN_MAX_MTU)
		return -EINVAL;
	ifreq_init(&ifr, tun->name);
	ifr.ifr_mtu = (int)mtu;
	ret = ifreq_ioctl(SIOCSIFMTU, &ifr);
	if (ret == 0)
		tun->mtu = mtu;
	return ret;
}

int tun_get_mtu(const struct tun_device *tun, unsigned int *mtu)
{
	struct ifreq ifr;
	int ret;

	ifreq_init(&ifr, tun->name);
	ret = ifreq_ioctl(SIOCGIFMTU, &ifr);
	if (ret == 0)
		*mtu = (unsigned int)ifr.ifr_mtu;
	return ret;
}

int tun_open(struct tun_device *tun, const char *name, unsigned int mtu)
{
	struct ifreq ifr;
	int ret;

	memset(tun, 0, sizeof(*tun));
	tun->fd = -1;
	if (!name_valid(name))
		return -EINVAL;
	if (mtu == 0)
		mtu = TUN_DEFAULT_MTU;
	if (mtu < TUN_MIN_MTU || mtu > TUN_MAX_MTU)
		return -EINVAL;

	tun->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (tun->fd < 0) {
		ret = -errno;
		tun->fd = -1;
		return ret;
	}

	/* The offload seam: IFF_VNET_HDR and TUNSETOFFLOAD would be set here. */
	ifreq_init(&ifr, name);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (ioctl(tun->fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		/* The kernel says EINVAL when the name belongs to a non-TUN device. */
		if (ret == -EINVAL && if_nametoindex(name) != 0)
			ret = -EEXIST;
		goto out_close;
	}
	memcpy(tun->name, ifr.ifr_name, IFNAMSIZ);
	tun->name[IFNAMSIZ - 1] = '\0';

	ifreq_init(&ifr, tun->name);
	ret = ifreq_ioctl(SIOCGIFINDEX, &ifr);
	if (ret)
		goto out_close;
	tun->ifindex = ifr.ifr_ifindex;

	ret = tun_set_mtu(tun, mtu);
	if (ret)
		goto out_close;
	return 0;

out_close:
	close(tun->fd);
	tun->fd = -1;
	return ret;
}

void tun_close(struct tun_device *tun)
{
	if (tun->fd >= 0)
		close(tun->fd);
	tun->fd = -1;
}

bool tun_is_alive(const struct tun_device *tun)
{
	char name[IFNAMSIZ];

	if (tun->fd < 0)
		return false;
	/* Deleted, or replaced by another interface reusing the index. */
	if (!if_indextoname((unsigned int)tun->ifindex, name))
		return false;
	return strncmp(name, tun->name, IFNAMSIZ) == 0;
}

/*
 * One packet in: with IFF_VNET_HDR this is where the header would be read
 * and a TSO super-packet split. Returns the packet length, 0 for EAGAIN,
 * or a negative errno.
 */
static ssize_t read_one(struct tun_device *tun, struct pktbuf *b, size_t cap)
{
	ssize_t r;

	do {
		/* Ask for one byte more than fits, so that a longer packet shows as r > cap. */
		r = read(tun->fd, b->data, cap + 1 <= pktbuf_tailroom(b) ? cap + 1 : cap);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	return r;
}

int tun_read_batch(struct tun_device *tun, struct pktbuf_pool *pool, struct pktbuf **bufs,
		   unsigned int max)
{
	unsigned int got, n = 0, i = 0;
	size_t cap = pool->payload_size;
	int ret = 0;

	got = pktbuf_get_batch(pool, bufs, max);
	while (i < got) {
		ssize_t r = read_one(tun, bufs[i], cap);

		if (r == 0)
			break;
		if (r < 0) {
			tun->stats.rx_errors++;
			ret = (int)r;
			break;
		}
		if ((size_t)r > cap) {
			/* Longer than the MTU we set: someone raised it behind our back. */
			tun->stats.rx_truncated++;
			continue;
		}
		bufs[i]->len = (uint32_t)r;
		tun->stats.rx_packets++;
		tun->stats.rx_bytes += (uint64_t)r;
		n = ++i;
	}
	pktbuf_put_batch(pool, bufs + n, got - n);
	for (i = n; i < got; i++)
		bufs[i] = NULL;
	if (n == 0 && ret < 0)
		return ret;
	return (int)n;
}

/* One packet out: with IFF_VNET_HDR a header (or a GRO-merged packet) would go first. */
static int write_one(struct tun_device *tun, const struct pktbuf *b)
{
	ssize_t r;

	do {
		r = write(tun->fd, b->data, b->len);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return 0;
}

unsigned int tun_write_batch(struct tun_device *tun, struct pktbuf *const *bufs, unsigned int n)
{
	unsigned int ok = 0;

	for (unsigned int i = 0; i < n; i++) {
		int ret = write_one(tun, bufs[i]);

		if (ret) {
			tun->stats.tx_errors++;
			/* Rate-limited: the 1st, 2nd, 4th, 8th... failure. */
			if (!(tun->stats.tx_errors & (tun->stats.tx_errors - 1)))
				log_warn("tun", "write failed dev=%s err=%s errors=%llu", tun->name,
					 strerror(-ret), (unsigned long long)tun->stats.tx_errors);
			continue;
		}
		tun->stats.tx_packets++;
		tun->stats.tx_bytes += bufs[i]->len;
		ok++;
	}
	return ok;
}
