// SPDX-License-Identifier: MIT
/*
 * Handshake rate limiter tests with a fake clock: the Linux kernel
 * self-test's timing table and capacity check, refill, /64 grouping, table
 * full, garbage collection, bad input, and a differential run against a
 * plain per-source token bucket.
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wg/ratelimiter.h"

enum {
	MS = 1000000,
	COST = 1000 * MS / WG_RATELIMITER_PACKETS_PER_SECOND,
	BURST = WG_RATELIMITER_PACKETS_BURSTABLE,
};

static const uint64_t SEC = 1000 * (uint64_t)MS;

struct ip {
	uint8_t b[16];
};

static struct ip v4(uint32_t a)
{
	struct ip ip = {{(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a}};

	return ip;
}

static struct ip v6(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	const uint32_t w[4] = {a, b, c, d};
	struct ip ip;

	for (int i = 0; i < 16; i++)
		ip.b[i] = (uint8_t)(w[i / 4] >> (24 - 8 * (i % 4)));
	return ip;
}

static bool allow4(struct wg_ratelimiter *r, uint32_t a, uint64_t now)
{
	return wg_ratelimiter_allow(r, 4, v4(a).b, now);
}

/* The kernel's table: results of consecutive packets, with pauses before some. */
static void test_kernel_timings(void **state)
{
	static const struct {
		bool result;
		uint64_t sleep_before;
	} expected[] = {
		{true, 0},    {true, 0},  {true, 0},	    {true, 0}, {true, 0},  {false, 0},
		{true, COST}, {false, 0}, {true, 2 * COST}, {true, 0}, {false, 0},
	};
	struct wg_ratelimiter r;
	uint64_t now = 123 * SEC;
	uint32_t base4 = 8182;
	uint32_t hi6 = 1212;

	(void)state;
	assert_int_equal(wg_ratelimiter_init(&r, 64), 0);
	for (uint32_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		now += expected[i].sleep_before;
		assert_int_equal(allow4(&r, base4, now), expected[i].result);
		/* A fresh source always passes. */
		assert_true(allow4(&r, base4 + i + 1, now));
		/* The low 64 bits of an IPv6 source do not count. */
		assert_int_equal(wg_ratelimiter_allow(&r, 6, v6(hi6, 289188, i, i).b, now),
				 expected[i].result);
		assert_true(wg_ratelimiter_allow(&r, 6, v6(hi6 + i + 1, 289188, i, i).b, now));
	}
	wg_ratelimiter_free(&r);
}

static void test_refill(void **state)
{
	struct wg_ratelimiter r;
	uint64_t now = 5 * SEC;

	(void)state;
	assert_int_equal(wg_ratelimiter_init(&r, 16), 0);
	for (int i = 0; i < BURST; i++)
		assert_true(allow4(&r, 0x0a000001, now));
	assert_false(allow4(&r, 0x0a000001, now));

	/* One packet's worth of time, to the nanosecond. */
	now += COST - 1;
	assert_false(allow4(&r, 0x0a000001, now));
	now += 1;
	assert_true(allow4(&r, 0x0a000001, now));
	assert_false(allow4(&r, 0x0a000001, now));

	/* A steady 20/s passes forever; 21/s does not. */
	for (int i = 0; i < 100; i++) {
		now += COST;
		assert_true(allow4(&r, 0x0a000001, now));
	}
	for (int i = 0, passed = 0; i < 210; i++) {
		now += SEC / 21;
		passed += allow4(&r, 0x0a000001, now);
		if (i == 209)
			assert_true(passed < 210 && passed >= 199);
	}

	/* A long pause refills to the burst and no further. */
	now += 3600ULL * SEC;
	for (int i = 0; i < BURST; i++)
		assert_true(allow4(&r, 0x0a000001, now));
	assert_false(allow4(&r, 0x0a000001, now));

	/* Refused packets do not cost tokens. */
	for (int i = 0; i < 1000; i++)
		assert_false(allow4(&r, 0x0a000001, now));
	now += COST;
	assert_true(allow4(&r, 0x0a000001, now));

	/* A clock that steps back grants nothing and breaks nothing. */
	assert_false(allow4(&r, 0x0a000001, now - 10 * SEC));
	assert_false(allow4(&r, 0x0a000001, now));
	wg_ratelimiter_free(&r);
}

static void test_sources(void **state)
{
	struct wg_ratelimiter r;
	uint64_t now = 0;

	(void)state;
	assert_int_equal(wg_ratelimiter_init(&r, 1024), 0);
	/* Exhaust one IPv6 /64 through many addresses inside it. */
	for (int i = 0; i < BURST; i++)
		assert_true(wg_ratelimiter_allow(&r, 6, v6(0x20010db8, 1, (uint32_t)i, 7).b, now));
	assert_false(wg_ratelimiter_allow(&r, 6, v6(0x20010db8, 1, 0xffffffff, 0xffffffff).b, now));
	/* The neighbouring /64, and the IPv4 address with the same leading bytes, are separate. */
	assert_true(wg_ratelimiter_allow(&r, 6, v6(0x20010db8, 2, 0, 1).b, now));
	assert_true(wg_ratelimiter_allow(&r, 6, v6(0x20010db8, 0, 0, 1).b, now));
	assert_true(wg_ratelimiter_allow(&r, 4, v6(0x20010db8, 1, 0, 1).b, now));

	/* IPv4 sources count by the full address. */
	for (int i = 0; i < BURST; i++)
		assert_true(allow4(&r, 0xc0a80001, now));
	assert_false(allow4(&r, 0xc0a80001, now));
	assert_true(allow4(&r, 0xc0a80002, now));
	assert_true(allow4(&r, 0xc1a80001, now));

	/* Many sources, each with its own full burst. */
	for (uint32_t a = 0; a < 200; a++)
		for (int i = 0; i < BURST; i++)
			assert_true(allow4(&r, 0x64400000 + a, now));
	for (uint32_t a = 0; a < 200; a++)
		assert_false(allow4(&r, 0x64400000 + a, now));

	/* An IPv4-mapped IPv6 source is the IPv4 source, not one big /64. */
	for (int i = 0; i < BURST - 1; i++)
		assert_true(wg_ratelimiter_allow(&r, 6, v6(0, 0, 0xffff, 0xc0a80002).b, now));
	assert_false(allow4(&r, 0xc0a80002, now));
	assert_true(wg_ratelimiter_allow(&r, 6, v6(0, 0, 0xffff, 0xc0a80003).b, now));
	assert_true(wg_ratelimiter_allow(&r, 6, v6(0, 0, 0xfffe, 0xc0a80003).b, now));

	/* Unknown families are refused. */
	assert_false(wg_ratelimiter_allow(&r, 0, v4(1).b, now));
	assert_false(wg_ratelimiter_allow(&r, 5, v4(1).b, now));
	assert_false(wg_ratelimiter_allow(&r, 10, v4(1).b, now));
	wg_ratelimiter_free(&r);
}

/* The kernel's capacity check: the table fills up, then refuses newcomers. */
static void test_table_full(void **state)
{
	enum { CAP = 500 };
	struct wg_ratelimiter r;
	uint64_t now = 7 * SEC;

	(void)state;
	assert_int_equal(wg_ratelimiter_init(&r, CAP), 0);
	for (uint32_t i = 0; i <= CAP; i++)
		assert_int_equal(allow4(&r, i, now), i != CAP);
	assert_int_equal(r.count, CAP);
	/* Known sources keep their buckets. */
	for (uint32_t i = 0; i < CAP; i++)
		assert_true(allow4(&r, i, now + 1));
	assert_false(wg_ratelimiter_allow(&r, 6, v6(0xfd000000, 0, 0, 0).b, now + 2));

	/* Idle for a second is not enough; idle for longer frees everything. */
	wg_ratelimiter_gc(&r, now + 1 + SEC);
	assert_int_equal(r.count, CAP);
	assert_false(allow4(&r, CAP + 1, now + 1 + SEC));
	wg_ratelimiter_gc(&r, now + 2 + SEC);
	assert_int_equal(r.count, 0);
	for (uint32_t i = CAP; i < 2 * CAP; i++)
		assert_true(allow4(&r, i, now + 2 * SEC));
	assert_false(allow4(&r, 2 * CAP, now + 2 * SEC));
	wg_ratelimiter_free(&r);

	/* A full table reclaims idle entries it meets even without gc. */
	assert_int_equal(wg_ratelimiter_init(&r, 1), 0);
	assert_true(allow4(&r, 1, now));
	assert_false(allow4(&r, 2, now + SEC));
	assert_true(allow4(&r, 2, now + SEC + 1));
	assert_int_equal(r.count, 1);
	wg_ratelimiter_free(&r);
}

static void test_gc(void **state)
{
	struct wg_ratelimiter r;
	uint64_t now = 1;

	(void)state;
	assert_int_equal(wg_ratelimiter_init(&r, 100), 0);
	wg_ratelimiter_gc(&r, now); /* empty: nothing to do */
	for (uint32_t i = 0; i < 50; i++)
		assert_true(allow4(&r, i, now));
	for (uint32_t i = 0; i < 50; i += 2)
		assert_true(allow4(&r, i, now + SEC / 2));
	assert_int_equal(r.count, 50);
	wg_ratelimiter_gc(&r, now + SEC + SEC / 4);
	assert_int_equal(r.count, 25);
	/* Forgetting a source changes nothing: it comes back with a full burst. */
	for (int k = 0; k < BURST; k++)
		assert_true(allow4(&r, 1, now + SEC + SEC / 4));
	assert_false(allow4(&r, 1, now + SEC + SEC / 4));
	/* A clock behind the entries' stamps removes nothing. */
	wg_ratelimiter_gc(&r, 0);
	assert_int_equal(r.count, 26);
	wg_ratelimiter_gc(&r, UINT64_MAX);
	assert_int_equal(r.count, 0);
	wg_ratelimiter_free(&r);
}

static void test_init_and_key(void **state)
{
	struct wg_ratelimiter a, b;

	(void)state;
	assert_int_equal(wg_ratelimiter_init(&a, 0), -EINVAL);
	wg_ratelimiter_free(&a);
	assert_int_equal(wg_ratelimiter_init(&a, (size_t)WG_RATELIMITER_MAX_CAPACITY + 1), -EINVAL);
	wg_ratelimiter_free(&a);
	assert_int_equal(wg_ratelimiter_init(&a, WG_RATELIMITER_DEFAULT_CAPACITY), 0);
	assert_int_equal(wg_ratelimiter_init(&b, WG_RATELIMITER_DEFAULT_CAPACITY), 0);
	/* Each table hashes under its own random key. */
	assert_memory_not_equal(a.key, b.key, sizeof(a.key));
	wg_ratelimiter_free(&a);
	wg_ratelimiter_free(&b);
	wg_ratelimiter_free(&b); /* safe twice */
	for (size_t i = 0; i < sizeof(b.key); i++)
		assert_int_equal(b.key[i], 0);
}

/* The model: one unbounded token bucket per source, as the protocol defines it. */
struct bucket {
	int family;
	uint8_t key[8];
	uint64_t tokens, last;
};

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64: reproducible across runs and platforms */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static bool model_allow(struct bucket *buckets, size_t *n, int family, const uint8_t *ip,
			uint64_t now)
{
	const uint64_t max = (uint64_t)COST * BURST;
	size_t len = family == 4 ? 4 : 8;
	struct bucket *b = NULL;
	uint64_t t;

	for (size_t i = 0; i < *n; i++)
		if (buckets[i].family == family && !memcmp(buckets[i].key, ip, len))
			b = &buckets[i];
	if (!b) {
		b = &buckets[(*n)++];
		memset(b, 0, sizeof(*b));
		b->family = family;
		memcpy(b->key, ip, len);
		b->tokens = max - COST;
		b->last = now;
		return true;
	}
	t = b->tokens + (now - b->last);
	b->tokens = t > max ? max : t;
	b->last = now;
	if (b->tokens < COST)
		return false;
	b->tokens -= COST;
	return true;
}

static void test_differential(void **state)
{
	enum { SOURCES = 40, STEPS = 200000 };
	static struct bucket buckets[2 * SOURCES];
	struct wg_ratelimiter r;
	uint64_t now = 42;
	size_t n = 0;

	(void)state;
	rng_state = 7;
	/* Large enough that gc never changes a result. */
	assert_int_equal(wg_ratelimiter_init(&r, 4 * SOURCES), 0);
	for (int step = 0; step < STEPS; step++) {
		uint64_t x = rng();
		int family = x & 1 ? 6 : 4;
		uint32_t src = (uint32_t)((x >> 1) % SOURCES);
		struct ip ip =
			family == 4 ? v4(0x0a000000 + src) : v6(0x20010db8, src, (uint32_t)x, 1);

		/* Bursts of packets with small gaps, and the odd long silence. */
		now += (x >> 8) % 1024 == 0 ? (x >> 20) % (3 * SEC) : (x >> 8) % (4 * MS);
		if (wg_ratelimiter_allow(&r, family, ip.b, now) !=
		    model_allow(buckets, &n, family, ip.b, now))
			fail_msg("step %d: family %d source %u", step, family, src);
		if (step % 5000 == 0)
			wg_ratelimiter_gc(&r, now);
	}
	wg_ratelimiter_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_timings),
		cmocka_unit_test(test_refill),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_gc),
		cmocka_unit_test(test_init_and_key),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
