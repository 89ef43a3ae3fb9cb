// SPDX-License-Identifier: MIT
/*
 * Address allocation: exhaustion of a tiny prefix, reserved addresses never
 * handed out, matching v4/v6 host numbers, continuing after a restart, and a
 * random allocate/release run checked against a naive model (a live address
 * is never given out twice; a free address is always found).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/ipalloc.h"

static struct ip_prefix prefix(const char *s)
{
	struct ip_prefix p;

	assert_int_equal(ip_prefix_parse(&p, s, NULL), 0);
	return p;
}

static struct ipalloc *make(const char *v4, const char *v6)
{
	struct ip_prefix p4 = prefix(v4), p6 = prefix(v6);
	struct ipalloc *a;

	assert_int_equal(ipalloc_create(&a, &p4, &p6), 0);
	return a;
}

static const char *text(const struct ip_addr *a)
{
	static char buf[4][IP_ADDR_STRLEN];
	static int i;

	i = (i + 1) % 4;
	return ip_addr_format(a, buf[i], sizeof(buf[i]));
}

static void test_tiny_prefix_exhausts(void **state)
{
	struct ipalloc *a = make("10.0.0.0/30", "fd00::/120");
	struct ip_addr v4, v6, first;

	(void)state;
	assert_int_equal(ipalloc_allocate(a, &v4, &v6), 0);
	assert_string_equal(text(&v4), "10.0.0.1");
	assert_string_equal(text(&v6), "fd00::1");
	first = v4;
	assert_int_equal(ipalloc_allocate(a, &v4, &v6), 0);
	assert_string_equal(text(&v4), "10.0.0.2");
	assert_string_equal(text(&v6), "fd00::2");
	/* .0 is the network, .3 the broadcast address: nothing is left. */
	assert_int_equal(ipalloc_allocate(a, &v4, &v6), -ENOSPC);
	assert_int_equal(v4.family, 0);
	assert_int_equal(ipalloc_count(a), 4);
	/* Freed addresses come back once the pool has wrapped. */
	ipalloc_release(a, &first);
	ipalloc_release(a, &(struct ip_addr){0}); /* unknown: ignored */
	assert_false(ipalloc_in_use(a, &first));
	assert_int_equal(ipalloc_allocate(a, &v4, &v6), -ENOSPC); /* fd00::1 still held */
	assert_int_equal(ip_addr_parse(&first, "fd00::1", NULL), 0);
	ipalloc_release(a, &first);
	assert_int_equal(ipalloc_allocate(a, &v4, &v6), 0);
	assert_string_equal(text(&v4), "10.0.0.1");
	ipalloc_destroy(a);
}

static void test_bad_prefixes(void **state)
{
	struct ip_prefix v4 = prefix("10.0.0.0/31"), v6 = prefix("fd00::/64");
	struct ipalloc *a;

	(void)state;
	assert_int_equal(ipalloc_create(&a, &v4, &v6), -EINVAL);
	v4 = prefix("10.0.0.0/8");
	v6 = prefix("fd00::/121");
	assert_int_equal(ipalloc_create(&a, &v4, &v6), -EINVAL);
	v6 = prefix("10.0.0.0/8");
	assert_int_equal(ipalloc_create(&a, &v4, &v6), -EINVAL);
	v6 = prefix("fd00::/64");
	assert_int_equal(ipalloc_create(&a, &v6, &v4), -EINVAL);
}

static void test_reserved_never_given(void **state)
{
	struct ipalloc *a = make("100.64.0.0/10", "fd7a:115c:a1e0::/48");
	struct ip_addr v4, v6;

	(void)state;
	for (int i = 0; i < 1200; i++) {
		assert_int_equal(ipalloc_allocate(a, &v4, &v6), 0);
		assert_true(v4.bytes[3] != 0 && v4.bytes[3] != 255);
		assert_string_not_equal(text(&v6), "fd7a:115c:a1e0::53");
		/* Same host number in both families. */
		assert_int_equal((v4.bytes[1] & 0x3f) << 16 | v4.bytes[2] << 8 | v4.bytes[3],
				 v6.bytes[13] << 16 | v6.bytes[14] << 8 | v6.bytes[15]);
		if (i == 6) {
			assert_string_equal(text(&v4), "100.64.0.7");
			assert_string_equal(text(&v6), "fd7a:115c:a1e0::7");
		}
	}
	ipalloc_destroy(a);

	/* MagicDNS's address and ChromeOS's range are skipped when inside the prefix. */
	a = make("100.100.100.0/24", "fd00::/64");
	for (int i = 0; i < 260; i++) {
		if (ipalloc_allocate(a, &v4, &v6))
			break;
		assert_string_not_equal(text(&v4), "100.100.100.100");
	}
	/* 1..254 without .100 */
	assert_int_equal(ipalloc_count(a), 2 * 253);
	ipalloc_destroy(a);
	a = make("100.115.92.0/22", "fd00::/64");
	assert_int_equal(ipalloc_allocate(a, &v4, &v6), 0);
	assert_string_equal(text(&v4), "100.115.94.1");
	ipalloc_destroy(a);
}

static void test_smaller_v6_pool(void **state)
{
	struct ipalloc *a = make("10.0.0.0/16", "fd00::/120");
	struct ip_addr v4, v6;
	int n = 0;

	(void)state;
	while (!ipalloc_allocate(a, &v4, &v6))
		n++;
	/* The v6 prefix has 256 host numbers: 0 is its network address, 10.0.0.255 ends in 255. */
	assert_int_equal(n, 254);
	ipalloc_destroy(a);
}

static void test_restart_continues(void **state)
{
	struct ipalloc *a = make("100.64.0.0/10", "fd7a:115c:a1e0::/48");
	struct ip_addr v4, v6, old;

	(void)state;
	/* Nodes loaded from the store: 100.64.0.1 and 100.64.0.9 (a gap between). */
	assert_int_equal(ip_addr_parse(&old, "100.64.0.1", NULL), 0);
	assert_int_equal(ipalloc_reserve(a, &old), 0);
	assert_int_equal(ipalloc_reserve(a, &old), -EEXIST);
	assert_int_equal(ip_addr_parse(&old, "100.64.0.9", NULL), 0);
	assert_int_equal(ipalloc_reserve(a, &old), 0);
	/* Outside the prefixes (the config changed): kept as in use, never a problem. */
	assert_int_equal(ip_addr_parse(&old, "10.9.9.9", NULL), 0);
	assert_int_equal(ipalloc_reserve(a, &old), 0);
	assert_int_equal(ipalloc_allocate(a, &v4, &v6), 0);
	assert_string_equal(text(&v4), "100.64.0.10");
	assert_string_equal(text(&v6), "fd7a:115c:a1e0::a");
	ipalloc_destroy(a);
}

/* Random allocate/release against a plain array model of the live addresses. */
static void test_model(void **state)
{
	enum { POOL = 64, ROUNDS = 20000 };
	struct ipalloc *a = make("10.1.2.0/26", "fd00:1::/64");
	struct ip_addr live4[POOL], live6[POOL], v4, v6;
	size_t nlive = 0;
	uint64_t rng = 42;

	(void)state;
	for (int r = 0; r < ROUNDS; r++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		if ((rng >> 33) % 3 && nlive) {
			size_t k = (size_t)((rng >> 40) % nlive);

			ipalloc_release(a, &live4[k]);
			ipalloc_release(a, &live6[k]);
			live4[k] = live4[nlive - 1];
			live6[k] = live6[nlive - 1];
			nlive--;
			continue;
		}
		if (ipalloc_allocate(a, &v4, &v6)) {
			/* 64 numbers minus network and broadcast: only full means no room. */
			assert_int_equal(nlive, POOL - 2);
			continue;
		}
		for (size_t k = 0; k < nlive; k++) {
			assert_false(ip_addr_equal(&live4[k], &v4));
			assert_false(ip_addr_equal(&live6[k], &v6));
		}
		assert_true(nlive < POOL - 2);
		live4[nlive] = v4;
		live6[nlive++] = v6;
		assert_int_equal(ipalloc_count(a), 2 * nlive);
	}
	ipalloc_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiny_prefix_exhausts), cmocka_unit_test(test_bad_prefixes),
		cmocka_unit_test(test_reserved_never_given), cmocka_unit_test(test_smaller_v6_pool),
		cmocka_unit_test(test_restart_continues),    cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
