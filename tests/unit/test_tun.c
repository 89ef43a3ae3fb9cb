// SPDX-License-Identifier: MIT
/*
 * Linux TUN, inside a private network namespace of this test process (so it
 * needs root and is skipped without it): names and MTU, refusing a busy TUN
 * and a non-TUN name, packets both ways through the kernel (a UDP socket
 * sends into the TUN, a packet written to the TUN reaches a UDP socket),
 * batches that stop at EAGAIN, over-long packets, and removal: by close,
 * and by someone else deleting the interface.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun/tun.h"
#include "util/compiler.h"
#include "util/pktbuf.h"

static bool have_netns;

/* Address the TUN 10.77.0.1/24 and bring it up (the test's own namespace only). */
static void tun_up(const struct tun_device *tun)
{
	struct ifreq ifr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, tun->name);
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "10.77.0.1", &sin->sin_addr);
	assert_int_equal(ioctl(fd, SIOCSIFADDR, &ifr), 0);
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	assert_int_equal(ioctl(fd, SIOCSIFNETMASK, &ifr), 0);
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

/* Delete an interface by index with one RTM_DELLINK, as `ip link del` does. */
static void link_delete(int ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = {.nlmsg_len = sizeof(req),
		       .nlmsg_type = RTM_DELLINK,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK},
		.ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex},
	};
	char reply[512];
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	struct nlmsgerr *err;

	assert_true(fd >= 0);
	assert_int_equal(send(fd, &req, sizeof(req), 0), (ssize_t)sizeof(req));
	assert_true(recv(fd, reply, sizeof(reply), 0) > 0);
	err = NLMSG_DATA((struct nlmsghdr *)reply);
	assert_int_equal(err->error, 0);
	close(fd);
}

static int udp_socket(uint16_t *port)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, "10.77.0.1", &sin.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static void udp_send(int fd, size_t len, uint8_t fill)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9999)};
	uint8_t buf[2000];

	inet_pton(AF_INET, "10.77.0.2", &to.sin_addr);
	memset(buf, fill, len);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)), (ssize_t)len);
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int setup_pool(void **state)
{
	struct pktbuf_pool *pool;

	*state = NULL;
	if (!have_netns)
		return 0; /* each test skips */
	pool = calloc(1, sizeof(*pool));
	assert_non_null(pool);
	assert_int_equal(pktbuf_pool_init(pool, 256, 1600, 48, 48), 0);
	*state = pool;
	return 0;
}

static int teardown_pool(void **state)
{
	struct pktbuf_pool *pool = *state;

	if (pool) {
		assert_int_equal(pool->stats.in_use, 0);
		pktbuf_pool_destroy(pool);
		free(pool);
	}
	return 0;
}

static void test_open_close(void **state)
{
	struct tun_device tun, other;
	unsigned int mtu = 0;

	if (!have_netns)
		skip();

	(void)state;
	assert_int_equal(tun_open(&tun, "mtun0", 0), 0);
	assert_true(tun.fd >= 0);
	assert_string_equal(tun.name, "mtun0");
	assert_int_equal((int)if_nametoindex("mtun0"), tun.ifindex);
	assert_true(tun_is_alive(&tun));
	assert_int_equal(tun_get_mtu(&tun, &mtu), 0);
	assert_int_equal(mtu, TUN_DEFAULT_MTU);
	assert_int_equal(tun.mtu, TUN_DEFAULT_MTU);
	assert_int_equal(fcntl(tun.fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(fcntl(tun.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

	assert_int_equal(tun_set_mtu(&tun, 1280), 0);
	assert_int_equal(tun_get_mtu(&tun, &mtu), 0);
	assert_int_equal(mtu, 1280);
	assert_int_equal(tun_set_mtu(&tun, 100), -EINVAL);
	assert_int_equal(tun_set_mtu(&tun, 70000), -EINVAL);

	/* Held by us: a second open is refused, and leaves ours alone. */
	assert_int_equal(tun_open(&other, "mtun0", 0), -EBUSY);
	assert_int_equal(other.fd, -1);
	assert_true(tun_is_alive(&tun));

	/* Closing removes the interface (it is not persistent). */
	tun_close(&tun);
	assert_int_equal(tun.fd, -1);
	assert_int_equal(if_nametoindex("mtun0"), 0);
	assert_false(tun_is_alive(&tun));
	tun_close(&tun);

	/* A custom MTU at open. */
	assert_int_equal(tun_open(&tun, "mtun1", 9000), 0);
	assert_int_equal(tun_get_mtu(&tun, &mtu), 0);
	assert_int_equal(mtu, 9000);
	tun_close(&tun);
}

static void test_bad_names(void **state)
{
	static const char *const bad[] = {
		"", "sixteen-chars-xx", "a/b", "a b", ".", "..", "a:1", "wg%d", "tab\t",
	};
	struct tun_device tun;

	if (!have_netns)
		skip();

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(tun_open(&tun, bad[i], 0), -EINVAL);
		assert_int_equal(tun.fd, -1);
	}
	assert_int_equal(tun_open(&tun, NULL, 0), -EINVAL);
	assert_int_equal(tun_open(&tun, "mtun2", 100), -EINVAL);
	/* The name of an interface that is not a TUN. */
	assert_int_equal(tun_open(&tun, "lo", 0), -EEXIST);
	assert_int_equal(tun_open(&tun, "fifteen-chars-x", 0), 0);
	tun_close(&tun);
}

static void test_packets(void **state)
{
	struct pktbuf_pool *pool = *state;
	struct pktbuf *bufs[64];
	struct tun_device tun;
	uint16_t port;
	int fd, n;

	if (!have_netns)
		skip();

	assert_int_equal(tun_open(&tun, "mtun3", 0), 0);
	/* Down and empty: nothing to read, not an error. */
	assert_int_equal(tun_read_batch(&tun, pool, bufs, 64), 0);
	tun_up(&tun);
	fd = udp_socket(&port);

	/* Out through the TUN: IPv4 UDP to 10.77.0.2:9999, at the pool's headroom. */
	udp_send(fd, 100, 0xab);
	n = tun_read_batch(&tun, pool, bufs, 64);
	assert_int_equal(n, 1);
	assert_int_equal(bufs[0]->len, 20 + 8 + 100);
	assert_int_equal(pktbuf_headroom(bufs[0]), pool->headroom);
	assert_int_equal(bufs[0]->data[0] >> 4, 4);
	assert_int_equal(bufs[0]->data[9], IPPROTO_UDP);
	assert_memory_equal(bufs[0]->data + 16, "\x0a\x4d\x00\x02", 4);
	assert_int_equal(bufs[0]->data[22] << 8 | bufs[0]->data[23], 9999);
	assert_int_equal(bufs[0]->data[bufs[0]->len - 1], 0xab);
	assert_int_equal(tun.stats.rx_packets, 1);

	/* In through the TUN: swap addresses and ports, and the socket receives it. */
	{
		uint8_t *p = bufs[0]->data, tmp[4], got[200];
		ssize_t r;

		memcpy(tmp, p + 12, 4);
		memcpy(p + 12, p + 16, 4);
		memcpy(p + 16, tmp, 4);
		memcpy(tmp, p + 20, 2);
		memcpy(p + 20, p + 22, 2);
		memcpy(p + 22, tmp, 2);
		p[26] = p[27] = 0; /* no UDP checksum (allowed for IPv4) */
		p[10] = p[11] = 0;
		{
			uint16_t c = ip_checksum(p, 20);

			p[10] = (uint8_t)(c >> 8);
			p[11] = (uint8_t)c;
		}
		assert_int_equal(tun_write_batch(&tun, bufs, 1), 1);
		assert_int_equal(tun.stats.tx_packets, 1);
		r = recv(fd, got, sizeof(got), MSG_DONTWAIT);
		assert_int_equal(r, 100);
		assert_int_equal(got[0], 0xab);
	}
	pktbuf_put(pool, bufs[0]);

	/* A batch stops at the caller's maximum, the next at EAGAIN. */
	for (int i = 0; i < 100; i++)
		udp_send(fd, 10 + (size_t)i, (uint8_t)i);
	n = tun_read_batch(&tun, pool, bufs, 64);
	assert_int_equal(n, 64);
	for (int i = 0; i < n; i++)
		assert_int_equal(bufs[i]->len, 28 + 10 + i);
	pktbuf_put_batch(pool, bufs, (unsigned int)n);
	n = tun_read_batch(&tun, pool, bufs, 64);
	assert_int_equal(n, 36);
	assert_int_equal(bufs[35]->len, 28 + 10 + 99);
	pktbuf_put_batch(pool, bufs, (unsigned int)n);
	assert_int_equal(tun_read_batch(&tun, pool, bufs, 64), 0);

	/* Garbage is refused by the kernel and counted. */
	bufs[0] = pktbuf_get(pool);
	bufs[0]->len = 3;
	memset(bufs[0]->data, 0xff, 3);
	bufs[1] = pktbuf_get(pool);
	bufs[1]->len = 0;
	assert_true(tun_write_batch(&tun, bufs, 2) < 2);
	assert_true(tun.stats.tx_errors >= 1);
	pktbuf_put_batch(pool, bufs, 2);

	close(fd);
	tun_close(&tun);
}

static void test_oversized(void **state)
{
	struct pktbuf_pool small;
	struct pktbuf *bufs[4];
	struct tun_device tun;
	uint16_t port;
	int fd;

	if (!have_netns)
		skip();

	(void)state;
	/* Buffers for 200-byte packets while the MTU allows 1420: the long one is dropped. */
	assert_int_equal(pktbuf_pool_init(&small, 4, 200, 48, 48), 0);
	assert_int_equal(tun_open(&tun, "mtun4", 0), 0);
	tun_up(&tun);
	fd = udp_socket(&port);
	udp_send(fd, 500, 1);
	udp_send(fd, 50, 2);
	assert_int_equal(tun_read_batch(&tun, &small, bufs, 4), 1);
	assert_int_equal(bufs[0]->len, 78);
	assert_int_equal(tun.stats.rx_truncated, 1);
	pktbuf_put(&small, bufs[0]);

	/* An empty pool reads nothing and loses nothing. */
	{
		struct pktbuf *all[4];

		assert_int_equal(pktbuf_get_batch(&small, all, 4), 4);
		udp_send(fd, 50, 3);
		assert_int_equal(tun_read_batch(&tun, &small, bufs, 4), 0);
		pktbuf_put_batch(&small, all, 4);
		assert_int_equal(tun_read_batch(&tun, &small, bufs, 4), 1);
		pktbuf_put(&small, bufs[0]);
	}
	close(fd);
	tun_close(&tun);
	assert_int_equal(small.stats.in_use, 0);
	pktbuf_pool_destroy(&small);
}

static void test_deleted_under_us(void **state)
{
	struct pktbuf_pool *pool = *state;
	struct pktbuf *bufs[4];
	struct tun_device tun;
	struct pollfd p;

	if (!have_netns)
		skip();

	assert_int_equal(tun_open(&tun, "mtun5", 0), 0);
	link_delete(tun.ifindex);
	assert_false(tun_is_alive(&tun));
	/* The fd reports POLLERR (what stops the engine) and reads fail with EBADFD. */
	p = (struct pollfd){.fd = tun.fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_true(p.revents & POLLERR);
	assert_int_equal(tun_read_batch(&tun, pool, bufs, 4), -EBADFD);
	assert_int_equal(tun.stats.rx_errors, 1);
	tun_close(&tun);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_close, setup_pool, teardown_pool),
		cmocka_unit_test_setup_teardown(test_bad_names, setup_pool, teardown_pool),
		cmocka_unit_test_setup_teardown(test_packets, setup_pool, teardown_pool),
		cmocka_unit_test_setup_teardown(test_oversized, setup_pool, teardown_pool),
		cmocka_unit_test_setup_teardown(test_deleted_under_us, setup_pool, teardown_pool),
	};

	/*
	 * A namespace of our own: the interfaces made here are invisible to the
	 * host and vanish with the process. Without CAP_SYS_ADMIN every test skips.
	 */
	have_netns = unshare(CLONE_NEWNET) == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
	if (have_netns) {
		struct ifreq ifr = {.ifr_name = "lo"};
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		/* No IPv6 on new interfaces: router solicitations would mix with our packets. */
		FILE *sysctl = fopen("/proc/sys/net/ipv6/conf/default/disable_ipv6", "w");

		if (sysctl) {
			fputs("1\n", sysctl);
			fclose(sysctl);
		}
		/* Loopback up, for the UDP socket's local address lookups. */
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
			ifr.ifr_flags |= IFF_UP;
			(void)ioctl(fd, SIOCSIFFLAGS, &ifr);
		}
		close(fd);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
