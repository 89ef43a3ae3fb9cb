// SPDX-License-Identifier: MIT
/*
 * router_set: sorted prefix sets (assign, find, put, remove) and the
 * applied -> wanted plan, with examples and a property test against a naive
 * quadratic model: carrying out the plan always yields the wanted set, with
 * exactly the necessary actions, adds before deletes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/router_msg.h"
#include "router/router_set.h"
#include "util/compiler.h"

static struct router_entry ent(const char *s, uint8_t type)
{
	struct router_entry e = {.type = type};

	assert_int_equal(ip_prefix_parse(&e.dst, s, NULL), 0);
	return e;
}

static void assert_sorted_unique(const struct router_set *s)
{
	for (size_t i = 1; i < s->n; i++)
		assert_true(router_prefix_compare(&s->e[i - 1].dst, &s->e[i].dst) < 0);
}

static void test_prefix_order(void **state)
{
	struct router_entry a = ent("10.0.0.0/8", 0), b = ent("10.0.0.0/16", 0);
	struct router_entry c = ent("9.255.255.255/32", 0), d = ent("::/0", 0);

	(void)state;
	assert_true(router_prefix_compare(&a.dst, &b.dst) < 0); /* same address: by length */
	assert_true(router_prefix_compare(&b.dst, &a.dst) > 0);
	assert_true(router_prefix_compare(&c.dst, &a.dst) < 0);
	assert_true(router_prefix_compare(&a.dst, &d.dst) < 0); /* IPv4 before IPv6 */
	assert_int_equal(router_prefix_compare(&a.dst, &a.dst), 0);
	/* Host bits are part of an address entry: 10.0.0.1/8 is not 10.0.0.0/8. */
	b = ent("10.0.0.1/8", 0);
	assert_true(router_prefix_compare(&a.dst, &b.dst) != 0);
}

static void test_assign_sorts_dedupes(void **state)
{
	const struct router_entry in[] = {
		ent("fd7a:115c:a1e0::/48", ROUTER_ROUTE_UNICAST),
		ent("100.64.0.0/10", ROUTER_ROUTE_UNICAST),
		ent("192.168.1.0/24", ROUTER_ROUTE_UNICAST),
		ent("100.64.0.0/10", ROUTER_ROUTE_UNICAST),
		ent("192.168.1.0/24", ROUTER_ROUTE_THROW), /* the throw wins, wherever it is */
		ent("0.0.0.0/0", ROUTER_ROUTE_UNICAST),
	};
	struct router_set s = {0};
	const struct router_entry *e;

	(void)state;
	assert_int_equal(router_set_assign(&s, in, ARRAY_SIZE(in)), 0);
	assert_int_equal(s.n, 4);
	assert_sorted_unique(&s);
	e = router_set_find(&s, &in[2].dst);
	assert_non_null(e);
	assert_int_equal(e->type, ROUTER_ROUTE_THROW);
	assert_true(ip_prefix_equal(&s.e[0].dst, &in[5].dst));

	/* Re-assigning replaces; an empty assignment empties. */
	assert_int_equal(router_set_assign(&s, in, 1), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(router_set_assign(&s, NULL, 0), 0);
	assert_int_equal(s.n, 0);
	router_set_free(&s);
	assert_int_equal(router_set_assign(&s, NULL, 0), 0); /* no allocation at all */
	assert_null(router_set_find(&s, &in[0].dst));
	router_set_free(&s);
}

static void test_put_remove(void **state)
{
	struct router_set s = {0};
	struct router_entry e;
	char name[32];

	(void)state;
	/* Enough to grow past the first allocation, inserted out of order. */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "10.%d.0.0/16", (i * 37) % 100);
		e = ent(name, ROUTER_ROUTE_UNICAST);
		assert_int_equal(router_set_put(&s, &e), 0);
	}
	assert_int_equal(s.n, 100);
	assert_sorted_unique(&s);
	e = ent("10.5.0.0/16", ROUTER_ROUTE_THROW);
	assert_int_equal(router_set_put(&s, &e), 0); /* replaces */
	assert_int_equal(s.n, 100);
	assert_int_equal(router_set_find(&s, &e.dst)->type, ROUTER_ROUTE_THROW);
	assert_true(router_set_remove(&s, &e.dst));
	assert_false(router_set_remove(&s, &e.dst));
	assert_null(router_set_find(&s, &e.dst));
	assert_int_equal(s.n, 99);
	assert_sorted_unique(&s);
	router_set_clear(&s);
	assert_int_equal(s.n, 0);
	router_set_free(&s);
}

static void test_plan_examples(void **state)
{
	const struct router_entry a[] = {
		ent("100.64.0.0/10", ROUTER_ROUTE_UNICAST),
		ent("10.1.0.0/24", ROUTER_ROUTE_UNICAST),
		ent("192.168.1.0/24", ROUTER_ROUTE_UNICAST),
	};
	const struct router_entry w[] = {
		ent("100.64.0.0/10", ROUTER_ROUTE_UNICAST),
		ent("10.2.0.0/24", ROUTER_ROUTE_UNICAST),
		ent("192.168.1.0/24", ROUTER_ROUTE_THROW),
	};
	struct router_set applied = {0}, want = {0};
	struct router_action out[8];
	size_t n;

	(void)state;
	assert_int_equal(router_set_assign(&applied, a, ARRAY_SIZE(a)), 0);
	assert_int_equal(router_set_assign(&want, a, ARRAY_SIZE(a)), 0);
	assert_int_equal(router_set_plan(&applied, &want, out), 0);

	assert_int_equal(router_set_assign(&want, w, ARRAY_SIZE(w)), 0);
	n = router_set_plan(&applied, &want, out);
	/* add 10.2.0.0/24, convert 192.168.1.0/24 to a throw in place, then delete 10.1.0.0/24 */
	assert_int_equal(n, 3);
	assert_int_equal(out[0].op, ROUTER_ACTION_ADD);
	assert_true(ip_prefix_equal(&out[0].e.dst, &w[1].dst));
	assert_int_equal(out[1].op, ROUTER_ACTION_ADD);
	assert_true(ip_prefix_equal(&out[1].e.dst, &w[2].dst));
	assert_int_equal(out[1].e.type, ROUTER_ROUTE_THROW);
	assert_int_equal(out[2].op, ROUTER_ACTION_DEL);
	assert_true(ip_prefix_equal(&out[2].e.dst, &a[1].dst));
	assert_int_equal(out[2].e.type, ROUTER_ROUTE_UNICAST);

	/* Everything away, and everything from nothing. */
	assert_int_equal(router_set_assign(&want, NULL, 0), 0);
	n = router_set_plan(&applied, &want, out);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i].op, ROUTER_ACTION_DEL);
	n = router_set_plan(&want, &applied, out);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i].op, ROUTER_ACTION_ADD);
	router_set_free(&applied);
	router_set_free(&want);
}

/* --- property test ------------------------------------------------------------------------ */

static uint64_t rng_state = 0x706c616eULL;

static uint64_t rng(void)
{
	/* splitmix64: reproducible across runs and platforms */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A small universe, so that random sets overlap a lot: prefixes of both families and lengths. */
static struct router_entry random_entry(void)
{
	struct router_entry e = {0};
	unsigned int k = (unsigned int)(rng() % 24);

	if (k < 12) {
		e.dst.addr.family = IP_FAMILY_V4;
		e.dst.addr.bytes[0] = 10;
		e.dst.addr.bytes[1] = (uint8_t)(k % 4);
		e.dst.bits = (uint8_t)(k < 8 ? 16 : 24);
	} else {
		e.dst.addr.family = IP_FAMILY_V6;
		e.dst.addr.bytes[0] = 0xfd;
		e.dst.addr.bytes[1] = (uint8_t)(k % 5);
		e.dst.bits = (uint8_t)(k < 18 ? 48 : 64);
	}
	e.type = (uint8_t)(rng() % 2 ? ROUTER_ROUTE_UNICAST : ROUTER_ROUTE_THROW);
	return e;
}

/* The naive model: linear scans; does @s hold @dst (with type @type, if not negative)? */
static bool model_has(const struct router_entry *s, size_t n, const struct ip_prefix *dst, int type)
{
	for (size_t i = 0; i < n; i++)
		if (ip_prefix_equal(&s[i].dst, dst) && (type < 0 || s[i].type == type))
			return true;
	return false;
}

static void test_plan_property(void **state)
{
	struct router_entry raw_a[40], raw_w[40];
	struct router_set applied = {0}, want = {0}, result = {0};
	struct router_action out[80];

	(void)state;
	for (int iter = 0; iter < 5000; iter++) {
		size_t na = (size_t)(rng() % 20), nw = (size_t)(rng() % 20), n, adds = 0, dels = 0;
		size_t want_adds = 0, want_dels = 0;
		bool seen_del = false;

		for (size_t i = 0; i < na; i++)
			raw_a[i] = random_entry();
		for (size_t i = 0; i < nw; i++)
			raw_w[i] = random_entry();
		assert_int_equal(router_set_assign(&applied, raw_a, na), 0);
		assert_int_equal(router_set_assign(&want, raw_w, nw), 0);
		assert_sorted_unique(&applied);
		assert_sorted_unique(&want);
		/* The model of assign: every input prefix is there, with the highest type given. */
		for (size_t i = 0; i < nw; i++) {
			int best = -1;

			for (size_t j = 0; j < nw; j++)
				if (ip_prefix_equal(&raw_w[j].dst, &raw_w[i].dst) &&
				    raw_w[j].type > best)
					best = raw_w[j].type;
			assert_int_equal(router_set_find(&want, &raw_w[i].dst)->type, best);
		}

		n = router_set_plan(&applied, &want, out);
		assert_true(n <= applied.n + want.n);
		assert_int_equal(router_set_assign(&result, applied.e, applied.n), 0);
		for (size_t i = 0; i < n; i++) {
			if (out[i].op == ROUTER_ACTION_ADD) {
				assert_false(seen_del); /* adds come first */
				/* Never an add for what is there already, exactly. */
				assert_false(model_has(applied.e, applied.n, &out[i].e.dst,
						       out[i].e.type));
				assert_int_equal(router_set_put(&result, &out[i].e), 0);
				adds++;
			} else {
				seen_del = true;
				assert_false(model_has(want.e, want.n, &out[i].e.dst, -1));
				assert_true(router_set_remove(&result, &out[i].e.dst));
				dels++;
			}
		}
		for (size_t i = 0; i < want.n; i++)
			if (!model_has(applied.e, applied.n, &want.e[i].dst, want.e[i].type))
				want_adds++;
		for (size_t i = 0; i < applied.n; i++)
			if (!model_has(want.e, want.n, &applied.e[i].dst, -1))
				want_dels++;
		assert_int_equal(adds, want_adds);
		assert_int_equal(dels, want_dels);
		assert_int_equal(result.n, want.n);
		for (size_t i = 0; i < want.n; i++) {
			assert_true(ip_prefix_equal(&result.e[i].dst, &want.e[i].dst));
			assert_int_equal(result.e[i].type, want.e[i].type);
		}
		/* Carried out, nothing is left to do. */
		assert_int_equal(router_set_plan(&result, &want, out), 0);
	}
	router_set_free(&applied);
	router_set_free(&want);
	router_set_free(&result);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_order),  cmocka_unit_test(test_assign_sorts_dedupes),
		cmocka_unit_test(test_put_remove),    cmocka_unit_test(test_plan_examples),
		cmocka_unit_test(test_plan_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
