// SPDX-License-Identifier: MIT
/*
 * The bare engine's UDP outside on loopback: batches both ways with
 * contents, order and source endpoints intact (IPv4 reported as IPv4 on the
 * dual-stack socket, IPv6 too when the host has it), random and fixed ports,
 * a failed rebind that keeps the old socket, fwmark, truncated datagrams,
 * an exhausted pool (dropped and counted, no spinning), and sends while
 * unbound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "util/compiler.h"
#include "util/pktbuf.h"
#include "wg/bind_udp.h"

enum {
	POOL_COUNT = 512,
	PAYLOAD = 1600,
	MAX_RECORDED = 1024,
};

struct side {
	struct wg_bind_udp bind;
	struct pktbuf_pool pool;
	unsigned int received;
	unsigned int batches;
	struct {
		uint32_t len;
		uint8_t first, last;
		struct ip_endpoint from;
	} seen[MAX_RECORDED];
};

struct fixture {
	uv_loop_t loop;
	struct side a, b;
};

static void sink_input(void *ctx, struct pktbuf **bufs, unsigned int n)
{
	struct side *s = ctx;

	assert_true(n > 0 && n <= WG_BIND_UDP_BATCH);
	s->batches++;
	for (unsigned int i = 0; i < n; i++) {
		if (s->received < MAX_RECORDED) {
			s->seen[s->received].len = bufs[i]->len;
			s->seen[s->received].first = bufs[i]->data[0];
			s->seen[s->received].last = bufs[i]->data[bufs[i]->len - 1];
			s->seen[s->received].from = bufs[i]->endpoint;
		}
		s->received++;
	}
	pktbuf_put_batch(&s->pool, bufs, n);
}

static void side_init(struct fixture *f, struct side *s)
{
	struct wg_bind_udp_sink sink = {.input = sink_input, .ctx = s, .pool = &s->pool};

	assert_int_equal(pktbuf_pool_init(&s->pool, POOL_COUNT, PAYLOAD, 48, 48), 0);
	wg_bind_udp_init(&s->bind, &f->loop);
	wg_bind_udp_set_sink(&s->bind, &sink);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint16_t port;

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	side_init(f, &f->a);
	side_init(f, &f->b);
	assert_int_equal(wg_bind_udp_open(&f->a.bind, 0, 0, &port), 0);
	assert_true(port != 0);
	assert_int_equal(f->a.bind.port, port);
	assert_int_equal(wg_bind_udp_open(&f->b.bind, 0, 0, &port), 0);
	assert_true(port != 0 && port != f->a.bind.port);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	wg_bind_udp_close(&f->a.bind);
	wg_bind_udp_close(&f->b.bind);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	/* Every buffer came back. */
	assert_int_equal(f->a.pool.stats.in_use, 0);
	assert_int_equal(f->b.pool.stats.in_use, 0);
	pktbuf_pool_destroy(&f->a.pool);
	pktbuf_pool_destroy(&f->b.pool);
	free(f);
	return 0;
}

static void on_deadline(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* Runs @loop until *@count reaches @want or 3 s pass; returns the final count. */
static unsigned int run_until(uv_loop_t *loop, const unsigned int *count, unsigned int want)
{
	uv_timer_t timer;
	bool expired = false;

	uv_timer_init(loop, &timer);
	timer.data = &expired;
	uv_timer_start(&timer, on_deadline, 3000, 0);
	while (*count < want && !expired)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&timer, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return *count;
}

/* Sends @n messages of varying sizes from @from to @to; message i starts and ends with byte i. */
static unsigned int send_burst(struct side *from, const struct ip_endpoint *to, unsigned int n)
{
	struct pktbuf *bufs[300];
	unsigned int sent;

	assert_true(n <= ARRAY_SIZE(bufs));
	for (unsigned int i = 0; i < n; i++) {
		bufs[i] = pktbuf_get(&from->pool);
		assert_non_null(bufs[i]);
		bufs[i]->len = 32 + (i * 37) % 1400;
		memset(bufs[i]->data, 0x5a, bufs[i]->len);
		bufs[i]->data[0] = (uint8_t)i;
		bufs[i]->data[bufs[i]->len - 1] = (uint8_t)i;
		bufs[i]->endpoint = *to;
	}
	sent = wg_bind_udp_send(&from->bind, bufs, n);
	pktbuf_put_batch(&from->pool, bufs, n);
	return sent;
}

static struct ip_endpoint endpoint(const char *s)
{
	struct ip_endpoint ep;

	assert_int_equal(ip_endpoint_parse(&ep, s, NULL), 0);
	return ep;
}

static struct ip_endpoint loopback4(uint16_t port)
{
	struct ip_endpoint ep = endpoint("127.0.0.1:1");

	ep.port = port;
	return ep;
}

static void check_burst(const struct side *s, unsigned int from, unsigned int n,
			const struct ip_endpoint *src)
{
	for (unsigned int i = 0; i < n; i++) {
		unsigned int k = from + i;

		assert_int_equal(s->seen[k].len, 32 + (i * 37) % 1400);
		assert_int_equal(s->seen[k].first, (uint8_t)i);
		assert_int_equal(s->seen[k].last, (uint8_t)i);
		assert_int_equal(s->seen[k].from.addr.family, src->addr.family);
		assert_memory_equal(s->seen[k].from.addr.bytes, src->addr.bytes, 16);
		assert_int_equal(s->seen[k].from.port, src->port);
	}
}

static void test_ipv4_batches(void **state)
{
	struct fixture *f = *state;
	struct ip_endpoint to = loopback4(f->b.bind.port), src = loopback4(f->a.bind.port);

	/* More than one batch per call, and more than one receive batch. */
	assert_int_equal(send_burst(&f->a, &to, 200), 200);
	assert_int_equal(f->a.bind.stats.tx_packets, 200);
	assert_int_equal(run_until(&f->loop, &f->b.received, 200), 200);
	/* Reported as IPv4, not as ::ffff:127.0.0.1. */
	check_burst(&f->b, 0, 200, &src);
	assert_true(f->b.batches < 200);
	assert_int_equal(f->b.bind.stats.rx_packets, 200);
	assert_int_equal(f->b.bind.stats.rx_bytes, f->a.bind.stats.tx_bytes);

	/* And back. */
	src = loopback4(f->b.bind.port);
	to = loopback4(f->a.bind.port);
	assert_int_equal(send_burst(&f->b, &to, 3), 3);
	assert_int_equal(run_until(&f->loop, &f->a.received, 3), 3);
	check_burst(&f->a, 0, 3, &src);
}

static void test_ipv6(void **state)
{
	struct fixture *f = *state;
	struct ip_endpoint to = endpoint("[::1]:1"), src = endpoint("[::1]:1");
	int probe = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};

	/* Only where the host has ::1. */
	if (probe < 0 || bind(probe, (struct sockaddr *)&sin6, sizeof(sin6)) < 0) {
		if (probe >= 0)
			close(probe);
		skip();
	}
	close(probe);
	to.port = f->b.bind.port;
	src.port = f->a.bind.port;
	assert_int_equal(send_burst(&f->a, &to, 10), 10);
	assert_int_equal(run_until(&f->loop, &f->b.received, 10), 10);
	check_burst(&f->b, 0, 10, &src);
}

static uint16_t free_port(void)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	socklen_t len;
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), off = 0;
	uint16_t port;

	assert_true(fd >= 0);
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	assert_int_equal(bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	len = sizeof(sin6);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin6, &len), 0);
	port = ntohs(sin6.sin6_port);
	close(fd);
	return port;
}

static void test_rebind(void **state)
{
	struct fixture *f = *state;
	uint16_t old_b = f->b.bind.port, port = free_port(), bound = 0;
	struct ip_endpoint to;

	/* A fixed port. */
	assert_int_equal(wg_bind_udp_open(&f->a.bind, port, 0, &bound), 0);
	assert_int_equal(bound, port);
	/* The same port again: nothing to do. */
	assert_int_equal(wg_bind_udp_open(&f->a.bind, port, 0, &bound), 0);
	assert_int_equal(bound, port);

	/* Taken by a: b fails with EADDRINUSE and keeps its old socket. */
	assert_int_equal(wg_bind_udp_open(&f->b.bind, port, 0, &bound), -EADDRINUSE);
	assert_int_equal(f->b.bind.port, old_b);
	to = loopback4(old_b);
	assert_int_equal(send_burst(&f->a, &to, 5), 5);
	assert_int_equal(run_until(&f->loop, &f->b.received, 5), 5);

	/* Port 0 again means a new random port; the old one is released. */
	assert_int_equal(wg_bind_udp_open(&f->a.bind, 0, 0, &bound), 0);
	assert_true(bound != port && bound != 0);
	assert_int_equal(wg_bind_udp_open(&f->b.bind, port, 0, &bound), 0);
	assert_int_equal(bound, port);
	to = loopback4(port);
	assert_int_equal(send_burst(&f->a, &to, 5), 5);
	assert_int_equal(run_until(&f->loop, &f->b.received, 10), 10);
}

static void test_fwmark(void **state)
{
	struct fixture *f = *state;
	uint16_t port = f->a.bind.port, bound = 0;
	uint32_t mark = 0;
	socklen_t len = sizeof(mark);
	int ret;

	/* On the bound port only the mark changes; it needs CAP_NET_ADMIN. */
	ret = wg_bind_udp_open(&f->a.bind, port, 0x1234, &bound);
	if (ret == -EPERM) {
		assert_int_equal(f->a.bind.fwmark, 0);
		assert_int_equal(f->a.bind.port, port);
		skip();
	}
	assert_int_equal(ret, 0);
	assert_int_equal(bound, port);
	assert_int_equal(f->a.bind.fwmark, 0x1234);
	assert_int_equal(getsockopt(wg_bind_udp_fd(&f->a.bind), SOL_SOCKET, SO_MARK, &mark, &len),
			 0);
	assert_int_equal(mark, 0x1234);
	/* A new socket carries the mark from the start. */
	assert_int_equal(wg_bind_udp_open(&f->a.bind, 0, 0x99, &bound), 0);
	assert_int_equal(f->a.bind.fwmark, 0x99);
}

static void test_truncated_and_errors(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	static uint8_t big[PAYLOAD + 1000];
	struct ip_endpoint to = loopback4(f->b.bind.port);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	/* Larger than a buffer: dropped and counted, the next one still arrives. */
	sin.sin_port = htons(f->b.bind.port);
	assert_int_equal(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&sin, sizeof(sin)),
			 (ssize_t)sizeof(big));
	assert_int_equal(sendto(fd, big, 40, 0, (struct sockaddr *)&sin, sizeof(sin)), 40);
	close(fd);
	assert_int_equal(run_until(&f->loop, &f->b.received, 1), 1);
	assert_int_equal(f->b.seen[0].len, 40);
	assert_int_equal(f->b.bind.stats.rx_truncated, 1);

	/* Unset endpoints are refused one by one; the rest of the batch goes out. */
	{
		struct pktbuf *bufs[3];

		for (int i = 0; i < 3; i++) {
			bufs[i] = pktbuf_get(&f->a.pool);
			bufs[i]->len = 40;
			memset(bufs[i]->data, i, 40);
			bufs[i]->endpoint = to;
		}
		memset(&bufs[1]->endpoint, 0, sizeof(bufs[1]->endpoint));
		assert_int_equal(wg_bind_udp_send(&f->a.bind, bufs, 3), 2);
		assert_int_equal(f->a.bind.stats.tx_errors, 1);
		pktbuf_put_batch(&f->a.pool, bufs, 3);
	}
	assert_int_equal(run_until(&f->loop, &f->b.received, 3), 3);

	/* Unbound: nothing is sent and everything is counted. */
	wg_bind_udp_close(&f->a.bind);
	assert_int_equal(f->a.bind.port, 0);
	assert_int_equal(send_burst(&f->a, &to, 4), 0);
	assert_int_equal(f->a.bind.stats.tx_errors, 5);

	/* No sink: refuse to bind rather than receive into nothing. */
	{
		struct wg_bind_udp lone;

		wg_bind_udp_init(&lone, &f->loop);
		assert_int_equal(wg_bind_udp_open(&lone, 0, 0, NULL), -EINVAL);
	}
}

static void test_pool_exhausted(void **state)
{
	struct fixture *f = *state;
	struct ip_endpoint to = loopback4(f->b.bind.port);
	struct pktbuf *held[POOL_COUNT];
	unsigned int n;
	uint64_t before;

	/* b has no buffers: its datagrams are read and dropped, and the loop does not spin. */
	n = pktbuf_get_batch(&f->b.pool, held, POOL_COUNT);
	assert_int_equal(n, POOL_COUNT);
	assert_int_equal(send_burst(&f->a, &to, 10), 10);
	before = f->b.bind.stats.rx_nobuf;
	{
		const uint64_t *nobuf = &f->b.bind.stats.rx_nobuf;
		uv_timer_t timer;
		bool expired = false;
		unsigned int iterations = 0;

		uv_timer_init(&f->loop, &timer);
		timer.data = &expired;
		uv_timer_start(&timer, on_deadline, 300, 0);
		while (!expired) {
			uv_run(&f->loop, UV_RUN_ONCE);
			iterations++;
		}
		uv_close((uv_handle_t *)&timer, NULL);
		uv_run(&f->loop, UV_RUN_NOWAIT);
		assert_int_equal(*nobuf - before, 10);
		/* A spinning poll would have run the loop thousands of times. */
		assert_true(iterations < 50);
	}
	assert_int_equal(f->b.received, 0);
	pktbuf_put_batch(&f->b.pool, held, n);

	assert_int_equal(send_burst(&f->a, &to, 10), 10);
	assert_int_equal(run_until(&f->loop, &f->b.received, 10), 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ipv4_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwmark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_exhausted, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
