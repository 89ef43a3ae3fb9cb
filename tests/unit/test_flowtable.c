// SPDX-License-Identifier: MIT
/*
 * The flow table against a model: a plain array in LRU order with the rules
 * flowtable.h states (expiry on lookup, LRU eviction when full, counting of
 * live evictions, budgeted expiry from the old end). Random operations over
 * a key universe larger than the table, with a fake clock, must give the
 * same answers and counts; plus the edges: capacity 1, bad capacities,
 * removal, clearing, and a large table staying consistent. The bucket hash,
 * SipHash, is checked against the paper's test vector and libsodium.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "filter/flowtable.h"
#include "filter/siphash.h"

static unsigned int seed = 7;

static unsigned int rnd(unsigned int n)
{
	return (unsigned int)rand_r(&seed) % n;
}

static struct flow_key key(unsigned int i)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.family = i % 2 ? 4 : 6;
	k.proto = (uint8_t)(i % 3 ? 17 : 6);
	k.lport = (uint16_t)(1000 + i);
	k.rport = 53;
	k.laddr[0] = 100;
	k.raddr[0] = 100;
	k.raddr[3] = (uint8_t)(i / 7);
	return k;
}

struct model_entry {
	unsigned int id;
	uint64_t expires;
	uint8_t state;
};

/* The model: entries in LRU order, most recently used first. */
struct model {
	struct model_entry e[512];
	size_t n;
	size_t cap;
	uint64_t evictions;
};

static long model_find(const struct model *m, unsigned int id)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->e[i].id == id)
			return (long)i;
	}
	return -1;
}

static void model_drop(struct model *m, size_t i)
{
	memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof(m->e[0]));
	m->n--;
}

static void model_front(struct model *m, size_t i)
{
	struct model_entry x = m->e[i];

	memmove(&m->e[1], &m->e[0], i * sizeof(m->e[0]));
	m->e[0] = x;
}

static void run_model(size_t cap, unsigned int universe, int ops)
{
	struct model *m = calloc(1, sizeof(*m));
	struct flowtable *ft;
	uint64_t now = 5000;

	assert_non_null(m);
	assert_true(cap <= 512);
	m->cap = cap;
	assert_int_equal(flowtable_create(&ft, cap), 0);
	for (int op = 0; op < ops; op++) {
		unsigned int id = rnd(universe);
		struct flow_key k = key(id);
		long i = model_find(m, id);
		struct flow_entry *e;
		bool created;

		switch (rnd(10)) {
		case 0:
		case 1:
		case 2: /* insert, then set a lifetime as the filter does */
			e = flowtable_insert(ft, &k, now, &created);
			assert_non_null(e);
			assert_memory_equal(&e->key, &k, sizeof(k));
			if (i >= 0) {
				assert_int_equal(created, now >= m->e[i].expires);
				if (created)
					assert_int_equal(e->expires, 0);
				else
					assert_int_equal(e->state, m->e[i].state);
				model_front(m, (size_t)i);
			} else {
				assert_true(created);
				if (m->n == m->cap) {
					if (now < m->e[m->n - 1].expires)
						m->evictions++;
					m->n--;
				}
				memmove(&m->e[1], &m->e[0], m->n * sizeof(m->e[0]));
				m->n++;
				m->e[0].id = id;
			}
			e->expires = now + 1 + rnd(100);
			e->state = (uint8_t)rnd(4);
			m->e[0].expires = e->expires;
			m->e[0].state = e->state;
			break;
		case 3:
		case 4:
		case 5:
		case 6: /* lookup */
			e = flowtable_lookup(ft, &k, now);
			if (i < 0 || now >= m->e[i].expires) {
				assert_null(e);
				if (i >= 0)
					model_drop(m, (size_t)i);
			} else {
				assert_non_null(e);
				assert_memory_equal(&e->key, &k, sizeof(k));
				assert_int_equal(e->expires, m->e[i].expires);
				model_front(m, (size_t)i);
			}
			break;
		case 7: /* remove */
			assert_int_equal(flowtable_remove(ft, &k), i >= 0);
			if (i >= 0)
				model_drop(m, (size_t)i);
			break;
		case 8: { /* expire: look at up to budget entries from the old end */
			size_t budget = rnd(6), freed = 0, at = m->n;

			for (size_t seen = 0; seen < budget && at > 0; seen++) {
				at--;
				if (now >= m->e[at].expires) {
					model_drop(m, at);
					freed++;
				}
			}
			assert_int_equal(flowtable_expire(ft, now, budget), freed);
			break;
		}
		default:
			now += rnd(30);
		}
		assert_int_equal(flowtable_count(ft), m->n);
		assert_int_equal(flowtable_evictions(ft), m->evictions);
	}
	flowtable_clear(ft);
	assert_int_equal(flowtable_count(ft), 0);
	for (unsigned int id = 0; id < universe; id++) {
		struct flow_key k = key(id);

		assert_null(flowtable_lookup(ft, &k, 0));
	}
	flowtable_destroy(ft);
	free(m);
}

static void test_model_small(void **state)
{
	(void)state;
	run_model(8, 24, 200000);
}

static void test_model_larger(void **state)
{
	(void)state;
	run_model(200, 500, 100000);
}

static void test_capacity_one(void **state)
{
	struct flow_key a = key(1), b = key(2);
	struct flowtable *ft;
	struct flow_entry *e;
	bool created;

	(void)state;
	run_model(1, 3, 20000);
	assert_int_equal(flowtable_create(&ft, 1), 0);
	e = flowtable_insert(ft, &a, 0, &created);
	assert_true(created);
	e->expires = 100;
	e = flowtable_insert(ft, &b, 10, NULL);
	e->expires = 100;
	assert_null(flowtable_lookup(ft, &a, 10));
	assert_non_null(flowtable_lookup(ft, &b, 99));
	assert_null(flowtable_lookup(ft, &b, 100));
	assert_int_equal(flowtable_count(ft), 0);
	assert_int_equal(flowtable_evictions(ft), 1);
	assert_int_equal(flowtable_capacity(ft), 1);
	assert_false(flowtable_remove(ft, &b));
	flowtable_destroy(ft);
}

static void test_bad_capacity(void **state)
{
	struct flowtable *ft = (struct flowtable *)1;

	(void)state;
	assert_int_equal(flowtable_create(&ft, 0), -EINVAL);
	assert_null(ft);
	assert_int_equal(flowtable_create(&ft, FLOWTABLE_MAX_CAPACITY + 1), -EINVAL);
	flowtable_destroy(NULL);
}

/* Many flows at once: every one findable until the table overflows, then the oldest go. */
static void test_large(void **state)
{
	enum { CAP = 50000 };
	struct flowtable *ft;

	(void)state;
	assert_int_equal(flowtable_create(&ft, CAP), 0);
	for (uint32_t i = 0; i < CAP + CAP / 2; i++) {
		struct flow_key k;
		struct flow_entry *e;

		memset(&k, 0, sizeof(k));
		k.family = 6;
		k.proto = 17;
		memcpy(k.raddr, &i, sizeof(i));
		e = flowtable_insert(ft, &k, 0, NULL);
		e->expires = 1000;
	}
	assert_int_equal(flowtable_count(ft), CAP);
	assert_int_equal(flowtable_evictions(ft), CAP / 2);
	for (uint32_t i = 0; i < CAP + CAP / 2; i++) {
		struct flow_key k;

		memset(&k, 0, sizeof(k));
		k.family = 6;
		k.proto = 17;
		memcpy(k.raddr, &i, sizeof(i));
		if (i < CAP / 2)
			assert_null(flowtable_lookup(ft, &k, 1));
		else
			assert_non_null(flowtable_lookup(ft, &k, 1));
	}
	/* All expire; a budget bounds the work of one call. */
	assert_int_equal(flowtable_expire(ft, 1000, 100), 100);
	assert_int_equal(flowtable_expire(ft, 1000, SIZE_MAX), CAP - 100);
	assert_int_equal(flowtable_count(ft), 0);
	flowtable_destroy(ft);
}

/* SipHash-2-4: the vector of the paper's appendix A, then libsodium for every length up to 64. */
static void test_siphash(void **state)
{
	uint8_t key[SIPHASH_KEY_LEN], in[64], out[crypto_shorthash_BYTES];
	uint64_t want;

	(void)state;
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		in[i] = (uint8_t)i;
	assert_true(siphash_compute(key, in, 15, 2, 4) == 0xa129ca6149be45e5ull);
	assert_int_equal(sodium_init() >= 0, 1);
	for (int round = 0; round < 20; round++) {
		randombytes_buf(key, sizeof(key));
		randombytes_buf(in, sizeof(in));
		for (size_t len = 0; len <= sizeof(in); len++) {
			crypto_shorthash(out, in, len, key);
			want = 0;
			for (int i = 7; i >= 0; i--)
				want = want << 8 | out[i];
			assert_true(siphash_compute(key, in, len, 2, 4) == want);
		}
	}
	/* Fewer rounds give another function, still sensitive to every bit. */
	assert_true(siphash_compute(key, in, 40, 1, 3) != siphash_compute(key, in, 40, 2, 4));
	for (size_t bit = 0; bit < 40 * 8; bit++) {
		uint64_t a = siphash_compute(key, in, 40, 1, 3);

		in[bit / 8] ^= (uint8_t)(1 << (bit % 8));
		assert_true(siphash_compute(key, in, 40, 1, 3) != a);
		in[bit / 8] ^= (uint8_t)(1 << (bit % 8));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_small),  cmocka_unit_test(test_model_larger),
		cmocka_unit_test(test_capacity_one), cmocka_unit_test(test_bad_capacity),
		cmocka_unit_test(test_large),	     cmocka_unit_test(test_siphash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
