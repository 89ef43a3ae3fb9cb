// SPDX-License-Identifier: MIT
/*
 * The upstream forwarder against stand-in upstream resolvers on 127.0.0.1
 * (UDP sockets on the same libuv loop): a reply relayed byte for byte with
 * the client's id put back, a silent resolver skipped after the timeout, a
 * refused one skipped at once, everything silent ending in -ETIMEDOUT,
 * replies with a wrong id or question and a spoofed reply from another
 * port ignored, the in-flight bound, cancel and free with queries pending.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "dns/dnsmsg.h"
#include "dns/forward.h"

enum fake_mode {
	FAKE_ANSWER,	  /* answer every query */
	FAKE_SILENT,	  /* never answer */
	FAKE_WRONG_FIRST, /* a wrong id, then a wrong question, then the answer */
	FAKE_SPOOFED,	  /* another port answers first with the right id; then us */
};

/* A stand-in upstream resolver: answers "A 192.0.2.<marker>" for any name. */
struct fake {
	uv_udp_t udp;
	uv_udp_t spoofer;
	enum fake_mode mode;
	uint8_t marker;
	struct ip_endpoint addr;
	unsigned int received;
	uint8_t last_query[512];
	size_t last_query_len;
	uint8_t last_reply[512];
	size_t last_reply_len;
	uint8_t rbuf[4096];
};

static uv_loop_t loop;

static size_t make_reply(const uint8_t *q, size_t qlen, uint16_t id, const char *name,
			 uint8_t marker, uint8_t *out, size_t cap)
{
	struct dnsmsg msg;
	struct dnsmsg_builder b;
	struct dns_name n;
	struct ip_addr a = {.family = IP_FAMILY_V4, .bytes = {192, 0, 2, marker}};

	assert_int_equal(dnsmsg_parse(q, qlen, &msg), 0);
	n = msg.qname;
	if (name)
		assert_int_equal(dns_name_from_text(&n, name), 0);
	dnsmsg_builder_init(&b, out, cap, id, DNS_FLAG_QR | DNS_FLAG_RA | DNS_FLAG_RD);
	assert_int_equal(dnsmsg_add_question(&b, &n, msg.qtype, msg.qclass), 0);
	assert_int_equal(dnsmsg_add_addr(&b, DNSMSG_ANSWER, &n, 60, &a), 0);
	return dnsmsg_builder_finish(&b);
}

static void send_to(uv_udp_t *u, const uint8_t *buf, size_t len, const struct sockaddr *to)
{
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned int)len);

	assert_true(uv_udp_try_send(u, &b, 1, to) >= 0);
}

static void fake_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct fake *f = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)f->rbuf, sizeof(f->rbuf));
}

static void fake_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
		      unsigned int flags)
{
	struct fake *f = h->data;
	const uint8_t *q = (const uint8_t *)buf->base;
	uint16_t id;
	uint8_t tmp[512];
	size_t n;

	(void)flags;
	if (nread <= 0 || !from)
		return;
	f->received++;
	memcpy(f->last_query, q, (size_t)nread);
	f->last_query_len = (size_t)nread;
	id = (uint16_t)(q[0] << 8 | q[1]);
	switch (f->mode) {
	case FAKE_SILENT:
		return;
	case FAKE_WRONG_FIRST:
		n = make_reply(q, (size_t)nread, (uint16_t)(id + 1), NULL, 99, tmp, sizeof(tmp));
		send_to(h, tmp, n, from);
		n = make_reply(q, (size_t)nread, id, "evil.example", 98, tmp, sizeof(tmp));
		send_to(h, tmp, n, from);
		break;
	case FAKE_SPOOFED:
		n = make_reply(q, (size_t)nread, id, NULL, 66, tmp, sizeof(tmp));
		send_to(&f->spoofer, tmp, n, from);
		break;
	case FAKE_ANSWER:
		break;
	}
	f->last_reply_len = make_reply(q, (size_t)nread, id, NULL, f->marker, f->last_reply,
				       sizeof(f->last_reply));
	send_to(h, f->last_reply, f->last_reply_len, from);
}

static void fake_start(struct fake *f, enum fake_mode mode, uint8_t marker)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	int len = sizeof(ss);

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->marker = marker;
	uv_ip4_addr("127.0.0.1", 0, &sin);
	assert_int_equal(uv_udp_init(&loop, &f->udp), 0);
	assert_int_equal(uv_udp_init(&loop, &f->spoofer), 0);
	f->udp.data = f;
	assert_int_equal(uv_udp_bind(&f->udp, (const struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_udp_bind(&f->spoofer, (const struct sockaddr *)&sin, 0), 0);
	assert_int_equal(uv_udp_getsockname(&f->udp, (struct sockaddr *)&ss, &len), 0);
	assert_int_equal(ip_endpoint_from_sockaddr(&f->addr, (struct sockaddr *)&ss), 0);
	assert_int_equal(uv_udp_recv_start(&f->udp, fake_alloc, fake_recv), 0);
}

static void fake_stop(struct fake *f)
{
	uv_close((uv_handle_t *)&f->udp, NULL);
	uv_close((uv_handle_t *)&f->spoofer, NULL);
}

/* A port on 127.0.0.1 where nobody listens (ICMP port unreachable). */
static struct ip_endpoint dead_port(void)
{
	struct ip_endpoint e;
	struct fake f;

	fake_start(&f, FAKE_SILENT, 0);
	e = f.addr;
	fake_stop(&f);
	uv_run(&loop, UV_RUN_NOWAIT);
	return e;
}

struct result {
	int calls;
	int status;
	uint8_t reply[512];
	size_t len;
	uint64_t at_ms;
};

static void on_result(void *ctx, int status, const uint8_t *reply, size_t len)
{
	struct result *r = ctx;

	r->calls++;
	r->status = status;
	r->len = len;
	r->at_ms = uv_now(&loop);
	if (reply)
		memcpy(r->reply, reply, len < sizeof(r->reply) ? len : sizeof(r->reply));
	uv_stop(&loop);
}

static size_t make_query(uint8_t *buf, uint16_t id, const char *name)
{
	struct dnsmsg_builder b;
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, name), 0);
	dnsmsg_builder_init(&b, buf, 512, id, DNS_FLAG_RD);
	assert_int_equal(dnsmsg_add_question(&b, &n, DNS_TYPE_A, DNS_CLASS_IN), 0);
	assert_int_equal(dnsmsg_add_opt(&b, 1232, 0, 0), 0);
	return dnsmsg_builder_finish(&b);
}

/* Run the loop until @r has its callback (or @ms pass: a test failure). */
static void wait_for(struct result *r, unsigned int ms)
{
	uint64_t deadline = uv_now(&loop) + ms;

	while (!r->calls && uv_now(&loop) < deadline)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(r->calls, 1);
}

static int setup(void **state)
{
	(void)state;
	return uv_loop_init(&loop);
}

static int teardown(void **state)
{
	(void)state;
	/* Let every close callback run (a callback's uv_stop() may cut the first run short). */
	for (int i = 0; i < 10 && uv_run(&loop, UV_RUN_DEFAULT); i++)
		;
	return uv_loop_close(&loop);
}

static void test_relay(void **state)
{
	struct dns_forward *f;
	struct fake up;
	struct result r = {0};
	struct dns_forward_stats st;
	uint8_t q[512];
	size_t qlen = make_query(q, 0x1234, "Example.COM");
	uint64_t id;
	bool id_changed = false;

	(void)state;
	fake_start(&up, FAKE_ANSWER, 1);
	assert_int_equal(dns_forward_new(&f, &loop, NULL), 0);
	for (int i = 0; i < 8; i++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(dns_forward_query(f, q, qlen, &up.addr, 1, on_result, &r, &id), 0);
		assert_int_equal(r.calls, 0); /* never from inside the call */
		assert_int_equal(dns_forward_inflight(f), 1);
		wait_for(&r, 2000);
		assert_int_equal(r.status, 0);
		/* The client's id back, everything else exactly what the upstream sent. */
		assert_int_equal(r.len, up.last_reply_len);
		assert_int_equal(r.reply[0] << 8 | r.reply[1], 0x1234);
		assert_memory_equal(r.reply + 2, up.last_reply + 2, r.len - 2);
		/* The upstream saw our query with another id, otherwise unchanged. */
		assert_int_equal(up.last_query_len, qlen);
		assert_memory_equal(up.last_query + 2, q + 2, qlen - 2);
		id_changed = id_changed || memcmp(up.last_query, q, 2) != 0;
		assert_int_equal(dns_forward_inflight(f), 0);
	}
	assert_true(id_changed);
	dns_forward_get_stats(f, &st);
	assert_int_equal(st.queries, 8);
	assert_int_equal(st.replies, 8);
	assert_int_equal(st.timeouts, 0);
	fake_stop(&up);
	dns_forward_free(f);
}

static void test_timeout_then_next(void **state)
{
	struct dns_forward_config cfg = {.timeout_ms = 150};
	struct dns_forward *f;
	struct fake silent, good;
	struct ip_endpoint ups[2];
	struct result r = {0};
	uint8_t q[512];
	size_t qlen = make_query(q, 7, "slow.example");
	uint64_t t0;

	(void)state;
	fake_start(&silent, FAKE_SILENT, 0);
	fake_start(&good, FAKE_ANSWER, 2);
	ups[0] = silent.addr;
	ups[1] = good.addr;
	assert_int_equal(dns_forward_new(&f, &loop, &cfg), 0);
	uv_update_time(&loop);
	t0 = uv_now(&loop);
	assert_int_equal(dns_forward_query(f, q, qlen, ups, 2, on_result, &r, NULL), 0);
	wait_for(&r, 3000);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.reply[r.len - 1], 2); /* from the second resolver */
	assert_true(r.at_ms - t0 >= 140);
	assert_int_equal(silent.received, 1);
	assert_int_equal(good.received, 1);
	fake_stop(&silent);
	fake_stop(&good);
	dns_forward_free(f);
}

static void test_all_silent(void **state)
{
	struct dns_forward_config cfg = {.timeout_ms = 100};
	struct dns_forward *f;
	struct fake silent;
	struct result r = {0};
	struct dns_forward_stats st;
	uint8_t q[512];
	size_t qlen = make_query(q, 7, "void.example");
	uint64_t t0;

	(void)state;
	fake_start(&silent, FAKE_SILENT, 0);
	assert_int_equal(dns_forward_new(&f, &loop, &cfg), 0);
	uv_update_time(&loop);
	t0 = uv_now(&loop);
	assert_int_equal(dns_forward_query(f, q, qlen, &silent.addr, 1, on_result, &r, NULL), 0);
	wait_for(&r, 3000);
	assert_int_equal(r.status, -ETIMEDOUT);
	assert_int_equal(r.len, 0);
	/* One resolver: two attempts, each a full timeout. */
	assert_int_equal(silent.received, 2);
	assert_true(r.at_ms - t0 >= 190);
	assert_true(r.at_ms - t0 < 1000);
	dns_forward_get_stats(f, &st);
	assert_int_equal(st.timeouts, 2);
	assert_int_equal(st.retries, 1);
	fake_stop(&silent);
	dns_forward_free(f);
}

static void test_refused_then_next(void **state)
{
	struct dns_forward_config cfg = {.timeout_ms = 1500};
	struct dns_forward *f;
	struct fake good;
	struct ip_endpoint ups[2];
	struct result r = {0};
	uint8_t q[512];
	size_t qlen = make_query(q, 7, "refused.example");
	uint64_t t0;

	(void)state;
	ups[0] = dead_port();
	fake_start(&good, FAKE_ANSWER, 3);
	ups[1] = good.addr;
	assert_int_equal(dns_forward_new(&f, &loop, &cfg), 0);
	uv_update_time(&loop);
	t0 = uv_now(&loop);
	assert_int_equal(dns_forward_query(f, q, qlen, ups, 2, on_result, &r, NULL), 0);
	wait_for(&r, 3000);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.reply[r.len - 1], 3);
	assert_true(r.at_ms - t0 < 1000); /* did not wait for the timeout */

	/* Only refusals: the error is reported, quickly. */
	memset(&r, 0, sizeof(r));
	ups[1] = ups[0];
	assert_int_equal(dns_forward_query(f, q, qlen, ups, 2, on_result, &r, NULL), 0);
	wait_for(&r, 3000);
	assert_int_equal(r.status, -ECONNREFUSED);
	fake_stop(&good);
	dns_forward_free(f);
}

static void test_mismatches_ignored(void **state)
{
	struct dns_forward *f;
	struct fake up, spoof;
	struct result r = {0};
	struct dns_forward_stats st;
	uint8_t q[512];
	size_t qlen = make_query(q, 0xabcd, "bank.example");

	(void)state;
	fake_start(&up, FAKE_WRONG_FIRST, 4);
	assert_int_equal(dns_forward_new(&f, &loop, NULL), 0);
	assert_int_equal(dns_forward_query(f, q, qlen, &up.addr, 1, on_result, &r, NULL), 0);
	wait_for(&r, 2000);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.reply[r.len - 1], 4);
	dns_forward_get_stats(f, &st);
	assert_int_equal(st.mismatched, 2);

	/* A reply from another port, right id and question, sent first: never seen. */
	fake_start(&spoof, FAKE_SPOOFED, 5);
	memset(&r, 0, sizeof(r));
	assert_int_equal(dns_forward_query(f, q, qlen, &spoof.addr, 1, on_result, &r, NULL), 0);
	wait_for(&r, 2000);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.reply[r.len - 1], 5);
	fake_stop(&up);
	fake_stop(&spoof);
	dns_forward_free(f);
}

static void test_limits_cancel_free(void **state)
{
	struct dns_forward_config cfg = {.max_inflight = 2, .timeout_ms = 5000};
	struct dns_forward *f;
	struct fake silent;
	struct result r[3] = {0};
	uint8_t q[512];
	size_t qlen = make_query(q, 1, "x.example");
	uint64_t id;

	(void)state;
	fake_start(&silent, FAKE_SILENT, 0);
	assert_int_equal(dns_forward_new(&f, &loop, &cfg), 0);
	/* Bad input. */
	assert_int_equal(dns_forward_query(f, q, qlen, &silent.addr, 0, on_result, r, NULL),
			 -EINVAL);
	assert_int_equal(dns_forward_query(f, q, 11, &silent.addr, 1, on_result, r, NULL), -EINVAL);
	q[2] |= 0x80;
	assert_int_equal(dns_forward_query(f, q, qlen, &silent.addr, 1, on_result, r, NULL),
			 -EINVAL);
	q[2] &= 0x7f;
	/* Two in flight, the third refused. */
	assert_int_equal(dns_forward_query(f, q, qlen, &silent.addr, 1, on_result, &r[0], &id), 0);
	assert_int_equal(dns_forward_query(f, q, qlen, &silent.addr, 1, on_result, &r[1], NULL), 0);
	assert_int_equal(dns_forward_query(f, q, qlen, &silent.addr, 1, on_result, &r[2], NULL),
			 -EAGAIN);
	/* Cancel: no callback, a slot free again. */
	assert_int_equal(dns_forward_cancel(f, id), 0);
	assert_int_equal(dns_forward_cancel(f, id), -ENOENT);
	assert_int_equal(dns_forward_inflight(f), 1);
	assert_int_equal(dns_forward_query(f, q, qlen, &silent.addr, 1, on_result, &r[2], NULL), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(r[0].calls, 0);
	/* Free with two pending: both told -ECANCELED, synchronously. */
	dns_forward_free(f);
	assert_int_equal(r[1].calls, 1);
	assert_int_equal(r[1].status, -ECANCELED);
	assert_int_equal(r[2].calls, 1);
	assert_int_equal(r[0].calls, 0);
	fake_stop(&silent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_then_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_then_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mismatches_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_cancel_free, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
