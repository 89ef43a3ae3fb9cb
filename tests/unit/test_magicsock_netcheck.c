// SPDX-License-Identifier: MIT
/*
 * netcheck with a fake clock and a fake network: latency per region, our
 * reflexive addresses, hard-NAT detection, retries, timeouts and the grace
 * period, stray and forged answers, and the sticky home-region choice.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "magicsock/netcheck.h"

#define SEC  (1000 * 1000ull)
#define MSEC 1000ull
#define T0   (500 * SEC)

enum { MAX_SENT = 64 };

struct harness {
	struct netcheck nc;
	struct {
		struct ip_endpoint dst;
		uint8_t txid[STUN_TXID_LEN];
	} sent[MAX_SENT];
	unsigned int nsent;
	uint32_t counter;
	unsigned int done;
	struct netcheck_report last;
};

static struct harness h;

static int fake_send(void *ctx, const struct ip_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct stun_message m;

	(void)ctx;
	assert_int_equal(stun_parse(buf, len, &m), 0);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_true(m.has_fingerprint);
	assert_true(h.nsent < MAX_SENT);
	h.sent[h.nsent].dst = *dst;
	memcpy(h.sent[h.nsent++].txid, m.txid, STUN_TXID_LEN);
	return 0;
}

static void fake_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	h.counter++;
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(h.counter * 31 + i);
}

static void fake_done(void *ctx, const struct netcheck_report *r)
{
	(void)ctx;
	h.done++;
	h.last = *r;
}

static const struct netcheck_ops ops = {
	.send = fake_send, .random = fake_random, .done = fake_done};

static struct ip_endpoint EP(const char *s) {
	struct ip_endpoint e;

	assert_int_equal(ip_endpoint_parse(&e, s, NULL), 0);
	return e;
}

static bool
is(const struct ip_endpoint *e, const char *s)
{
	struct ip_endpoint want = EP(s);

	return e->port == want.port && ip_addr_equal(&e->addr, &want.addr);
}

static int setup(void **state)
{
	(void)state;
	memset(&h, 0, sizeof(h));
	netcheck_init(&h.nc, &ops, NULL);
	return 0;
}

/* Answer sent[@i] as its server would, telling us we are @mapped; from @from if not NULL. */
static bool answer(unsigned int i, const char *mapped, const char *from, uint64_t now)
{
	struct ip_endpoint m = EP(mapped), src = from ? EP(from) : h.sent[i].dst;
	struct stun_message msg;
	uint8_t buf[STUN_MAX_MESSAGE];
	size_t n;

	n = stun_build_binding_response(buf, sizeof(buf), h.sent[i].txid, &m, "test");
	assert_true(n > 0);
	assert_int_equal(stun_parse(buf, n, &msg), 0);
	return netcheck_handle_stun(&h.nc, now, &msg, &src);
}

static unsigned int sent_to(const char *dst, unsigned int from)
{
	for (unsigned int i = from; i < h.nsent; i++)
		if (is(&h.sent[i].dst, dst))
			return i;
	fail_msg("nothing sent to %s", dst);
	return 0;
}

static const struct netcheck_server two[] = {
	{900, "home", {.addr = {.family = IP_FAMILY_V4, .bytes = {203, 0, 113, 10}}, .port = 3478}},
	{901, "far", {.addr = {.family = IP_FAMILY_V4, .bytes = {198, 51, 100, 20}}, .port = 3478}},
};

static void test_latency_and_mapping(void **state)
{
	const struct netcheck_region_result *r;

	(void)state;
	assert_int_equal(netcheck_start(&h.nc, T0, two, 2), 0);
	assert_int_equal(h.nsent, 2);
	assert_true(netcheck_deadline(&h.nc) > T0);
	assert_true(
		answer(sent_to("198.51.100.20:3478", 0), "192.0.2.7:41641", NULL, T0 + 30 * MSEC));
	assert_int_equal(h.done, 0);
	assert_true(answer(sent_to("203.0.113.10:3478", 0), "192.0.2.7:41641", NULL,
			   T0 + 10 * MSEC + 5));
	/* Both answered: done at once. */
	assert_int_equal(h.done, 1);
	assert_int_equal(netcheck_deadline(&h.nc), 0);
	assert_true(h.last.udp);
	assert_true(h.last.ipv4);
	assert_false(h.last.ipv6);
	assert_true(h.last.has_global_v4);
	assert_true(is(&h.last.global_v4, "192.0.2.7:41641"));
	assert_true(h.last.mapping_varies_known);
	assert_false(h.last.mapping_varies);
	assert_int_equal(h.last.nregions, 2);
	r = netcheck_region(&h.last, 900);
	assert_non_null(r);
	assert_string_equal(r->code, "home");
	assert_int_equal(r->latency_us, 10 * MSEC + 5);
	assert_true(r->v4);
	assert_int_equal(netcheck_region(&h.last, 901)->latency_us, 30 * MSEC);
	assert_null(netcheck_region(&h.last, 5));
	assert_int_equal(netcheck_pick_home(&h.last, 0), 900);
}

static void test_hard_nat(void **state)
{
	(void)state;
	netcheck_start(&h.nc, T0, two, 2);
	assert_true(answer(0, "192.0.2.7:1111", NULL, T0 + 10 * MSEC));
	assert_true(answer(1, "192.0.2.7:2222", NULL, T0 + 20 * MSEC));
	assert_int_equal(h.done, 1);
	assert_true(h.last.mapping_varies_known);
	assert_true(h.last.mapping_varies);
	/* The fastest server's view is "our" address. */
	assert_true(is(&h.last.global_v4, "192.0.2.7:1111"));
}

static void test_retries_and_grace(void **state)
{
	unsigned int second;

	(void)state;
	netcheck_start(&h.nc, T0, two, 2);
	assert_int_equal(netcheck_deadline(&h.nc), T0 + NETCHECK_RETRY1_US);
	netcheck_tick(&h.nc, T0 + NETCHECK_RETRY1_US - 1);
	assert_int_equal(h.nsent, 2);
	netcheck_tick(&h.nc, T0 + NETCHECK_RETRY1_US);
	assert_int_equal(h.nsent, 4);
	/* A retry has its own txid; its answer's latency counts from the retry. */
	second = sent_to("203.0.113.10:3478", 2);
	assert_memory_not_equal(h.sent[second].txid, h.sent[0].txid, STUN_TXID_LEN);
	assert_true(answer(second, "192.0.2.7:41641", NULL, T0 + NETCHECK_RETRY1_US + 4 * MSEC));
	/* The first try's late answer is ours but counts no more. */
	assert_true(answer(0, "192.0.2.7:41641", NULL, T0 + NETCHECK_RETRY1_US + 5 * MSEC));
	assert_int_equal(h.done, 0);
	/* The other region never answers: its third try, then the end of the grace period. */
	assert_int_equal(netcheck_deadline(&h.nc), T0 + NETCHECK_RETRY2_US);
	netcheck_tick(&h.nc, T0 + NETCHECK_RETRY2_US);
	assert_int_equal(h.nsent, 5); /* the third try went to the silent one only */
	assert_true(is(&h.sent[4].dst, "198.51.100.20:3478"));
	assert_int_equal(netcheck_deadline(&h.nc),
			 T0 + NETCHECK_RETRY1_US + 4 * MSEC + NETCHECK_GRACE_MIN_US);
	netcheck_tick(&h.nc, T0 + NETCHECK_RETRY1_US + 4 * MSEC + NETCHECK_GRACE_MIN_US - 1);
	assert_int_equal(h.done, 0);
	netcheck_tick(&h.nc, T0 + NETCHECK_RETRY1_US + 4 * MSEC + NETCHECK_GRACE_MIN_US);
	assert_int_equal(h.done, 1);
	assert_int_equal(netcheck_region(&h.last, 900)->latency_us, 4 * MSEC);
	assert_int_equal(netcheck_region(&h.last, 901)->latency_us, 0);
	assert_false(h.last.mapping_varies_known);
}

static void test_nothing_answers(void **state)
{
	(void)state;
	netcheck_start(&h.nc, T0, two, 2);
	for (uint64_t t = T0; h.done == 0; t = netcheck_deadline(&h.nc)) {
		assert_true(t <= T0 + NETCHECK_TIMEOUT_US);
		netcheck_tick(&h.nc, t);
	}
	assert_int_equal(h.nsent, 2 * NETCHECK_TRIES);
	assert_false(h.last.udp);
	assert_false(h.last.has_global_v4);
	assert_int_equal(h.last.duration_us, NETCHECK_TIMEOUT_US);
	assert_int_equal(h.last.nregions, 2); /* listed, without latency */
	assert_int_equal(netcheck_pick_home(&h.last, 0), 0);
	assert_int_equal(netcheck_pick_home(&h.last, 901), 901);
	/* No server at all: done at once. */
	netcheck_start(&h.nc, T0, NULL, 0);
	assert_int_equal(h.done, 2);
	assert_false(h.last.udp);
}

static void test_stray_and_forged(void **state)
{
	struct stun_message msg;
	uint8_t buf[STUN_MAX_MESSAGE], txid[STUN_TXID_LEN] = {1, 2, 3};
	struct ip_endpoint src = EP("203.0.113.10:3478");
	size_t n;

	(void)state;
	netcheck_start(&h.nc, T0, two, 2);
	/* Our txid from another address: not an answer. */
	assert_false(answer(0, "192.0.2.7:1", "192.0.2.99:3478", T0 + MSEC));
	/* An unknown txid from the right address. */
	n = stun_build_binding_response(buf, sizeof(buf), txid, &src, NULL);
	assert_int_equal(stun_parse(buf, n, &msg), 0);
	assert_false(netcheck_handle_stun(&h.nc, T0 + MSEC, &msg, &src));
	/* A request (someone probing us) is not an answer either. */
	n = stun_build_binding_request(buf, sizeof(buf), h.sent[0].txid, false);
	assert_int_equal(stun_parse(buf, n, &msg), 0);
	assert_false(netcheck_handle_stun(&h.nc, T0 + MSEC, &msg, &src));
	/* A success without an address. */
	msg.type = STUN_BINDING_SUCCESS;
	assert_false(netcheck_handle_stun(&h.nc, T0 + MSEC, &msg, &src));
	assert_int_equal(h.nc.stray, 3);
	assert_int_equal(h.done, 0);
	/* The genuine answer still counts. */
	assert_true(answer(0, "192.0.2.7:41641", NULL, T0 + 2 * MSEC));
	/* After the run, answers are not ours. */
	netcheck_tick(&h.nc, T0 + NETCHECK_TIMEOUT_US);
	assert_int_equal(h.done, 1);
	assert_false(answer(1, "192.0.2.7:41641", NULL, T0 + NETCHECK_TIMEOUT_US + 1));
}

static void test_ipv6(void **state)
{
	struct netcheck_server s[2] = {two[0], {900, "home", EP("[2001:db8::10]:3478")}};

	(void)state;
	netcheck_start(&h.nc, T0, s, 2);
	assert_true(answer(1, "[2001:db8:1::7]:41641", NULL, T0 + 8 * MSEC));
	assert_true(answer(0, "192.0.2.7:41641", NULL, T0 + 12 * MSEC));
	assert_int_equal(h.done, 1);
	assert_true(h.last.ipv4 && h.last.ipv6);
	assert_true(is(&h.last.global_v6, "[2001:db8:1::7]:41641"));
	assert_int_equal(h.last.nregions, 1);
	assert_int_equal(h.last.regions[0].latency_us, 8 * MSEC);
	assert_true(h.last.regions[0].v4 && h.last.regions[0].v6);
	/* Two servers of one region are not two destinations for hard-NAT purposes... */
	assert_false(h.last.mapping_varies_known);
}

static struct netcheck_report report(uint32_t a_us, uint32_t b_us)
{
	struct netcheck_report r = {.nregions = 2};

	r.regions[0] = (struct netcheck_region_result){.region_id = 1, .latency_us = a_us};
	r.regions[1] = (struct netcheck_region_result){.region_id = 2, .latency_us = b_us};
	return r;
}

static void test_pick_home_sticky(void **state)
{
	struct netcheck_report r;

	(void)state;
	r = report(20000, 15000); /* 5 ms better: keep */
	assert_int_equal(netcheck_pick_home(&r, 1), 1);
	assert_int_equal(netcheck_pick_home(&r, 0), 2);
	r = report(100000, 80000); /* 20 ms but not a third better: keep */
	assert_int_equal(netcheck_pick_home(&r, 1), 1);
	r = report(100000, 50000); /* half: move */
	assert_int_equal(netcheck_pick_home(&r, 1), 2);
	r = report(0, 50000); /* the old home did not answer: move */
	assert_int_equal(netcheck_pick_home(&r, 1), 2);
	r = report(30000, 50000);
	assert_int_equal(netcheck_pick_home(&r, 2), 1);
	assert_int_equal(netcheck_pick_home(&r, 7), 1); /* unknown old home */
	r = report(0, 0);
	assert_int_equal(netcheck_pick_home(&r, 7), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_latency_and_mapping, setup),
		cmocka_unit_test_setup(test_hard_nat, setup),
		cmocka_unit_test_setup(test_retries_and_grace, setup),
		cmocka_unit_test_setup(test_nothing_answers, setup),
		cmocka_unit_test_setup(test_stray_and_forged, setup),
		cmocka_unit_test_setup(test_ipv6, setup),
		cmocka_unit_test_setup(test_pick_home_sticky, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
