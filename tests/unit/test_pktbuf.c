// SPDX-License-Identifier: MIT
/*
 * pktbuf: layout and alignment, exhaustion and recovery, batches, LIFO
 * reuse, push/pull/extend bounds, no overlap between buffers, counters, and
 * a random get/put sequence checked against a model of the pool.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"
#include "util/pktbuf.h"

static void test_init_limits(void **state)
{
	struct pktbuf_pool pool;

	(void)state;
	assert_int_equal(pktbuf_pool_init(&pool, 0, 1500, 48, 48), -EINVAL);
	assert_int_equal(pktbuf_pool_init(&pool, 4, 0, 48, 48), -EINVAL);
	assert_int_equal(pktbuf_pool_init(&pool, 4, PKTBUF_PAYLOAD_MAX + 1, 48, 48), -EINVAL);
	assert_int_equal(pktbuf_pool_init(&pool, 4, 1500, PKTBUF_ROOM_MAX + 1, 48), -EINVAL);
	assert_int_equal(pktbuf_pool_init(&pool, 4, 1500, 48, PKTBUF_ROOM_MAX + 1), -EINVAL);
	assert_int_equal(pktbuf_pool_init(&pool, PKTBUF_COUNT_MAX + 1, 1500, 48, 48), -EINVAL);
	/* Destroying a pool that failed to initialise is harmless. */
	pktbuf_pool_destroy(&pool);

	/* The largest payload and room work, as do zero rooms. */
	assert_int_equal(
		pktbuf_pool_init(&pool, 2, PKTBUF_PAYLOAD_MAX, PKTBUF_ROOM_MAX, PKTBUF_ROOM_MAX),
		0);
	pktbuf_pool_destroy(&pool);
	assert_int_equal(pktbuf_pool_init(&pool, 1, 1, 0, 0), 0);
	pktbuf_pool_destroy(&pool);
	/* Destroy twice is harmless too. */
	pktbuf_pool_destroy(&pool);
}

static void check_layout(unsigned int payload, unsigned int headroom, unsigned int tailroom)
{
	struct pktbuf_pool pool;
	struct pktbuf *b;

	assert_int_equal(pktbuf_pool_init(&pool, 3, payload, headroom, tailroom), 0);
	assert_true(pool.headroom >= headroom);
	assert_true(pool.tailroom >= tailroom);
	assert_int_equal(pool.slot_size % PKTBUF_ALIGN, 0);
	assert_int_equal((uintptr_t)pool.block % PKTBUF_ALIGN, 0);

	b = pktbuf_get(&pool);
	assert_non_null(b);
	assert_int_equal((uintptr_t)b % PKTBUF_ALIGN, 0);
	assert_int_equal((uintptr_t)b->data % PKTBUF_ALIGN, 0);
	assert_int_equal(b->len, 0);
	assert_int_equal(pktbuf_headroom(b), pool.headroom);
	assert_int_equal(pktbuf_tailroom(b), (size_t)pool.payload_size + pool.tailroom);
	assert_true(pktbuf_tailroom(b) >= (size_t)payload + tailroom);
	/* The buffer ends inside its slot. */
	assert_true((uintptr_t)(b->mem + b->size) <= (uintptr_t)b + pool.slot_size);
	pktbuf_put(&pool, b);
	pktbuf_pool_destroy(&pool);
}

static void test_layout(void **state)
{
	(void)state;
	check_layout(PKTBUF_PAYLOAD_DEFAULT, PKTBUF_HEADROOM_DEFAULT, PKTBUF_TAILROOM_DEFAULT);
	check_layout(1500, 0, 0);
	check_layout(1, 1, 1);
	check_layout(1420, 63, 31);
	check_layout(1420, 64, 64);
	check_layout(1420, 65, 65);
	check_layout(PKTBUF_PAYLOAD_MAX, 16, 32);
}

static void test_exhaustion_and_recovery(void **state)
{
	enum { COUNT = 16 };
	struct pktbuf_pool pool;
	struct pktbuf *bufs[COUNT], *b;
	unsigned int i, j;

	(void)state;
	assert_int_equal(pktbuf_pool_init(&pool, COUNT, 1500, 48, 48), 0);
	for (i = 0; i < COUNT; i++) {
		bufs[i] = pktbuf_get(&pool);
		assert_non_null(bufs[i]);
		for (j = 0; j < i; j++)
			assert_ptr_not_equal(bufs[i], bufs[j]);
		assert_int_equal(pool.stats.in_use, i + 1);
	}
	assert_int_equal(pool.stats.high_water, COUNT);
	assert_int_equal(pool.stats.get_failures, 0);

	/* Empty: NULL every time, each one counted; nothing else changes. */
	for (i = 0; i < 3; i++)
		assert_null(pktbuf_get(&pool));
	assert_int_equal(pool.stats.get_failures, 3);
	assert_int_equal(pool.stats.in_use, COUNT);

	/* One back: exactly that one comes out again (LIFO), then empty again. */
	pktbuf_put(&pool, bufs[5]);
	assert_int_equal(pool.stats.in_use, COUNT - 1);
	b = pktbuf_get(&pool);
	assert_ptr_equal(b, bufs[5]);
	assert_null(pktbuf_get(&pool));
	assert_int_equal(pool.stats.get_failures, 4);

	for (i = 0; i < COUNT; i++)
		pktbuf_put(&pool, bufs[i]);
	assert_int_equal(pool.stats.in_use, 0);
	assert_int_equal(pool.stats.high_water, COUNT);
	assert_int_equal(pool.stats.bad_puts, 0);

	/* Fully recovered: every buffer can be taken again. */
	for (i = 0; i < COUNT; i++)
		assert_non_null(bufs[i] = pktbuf_get(&pool));
	assert_null(pktbuf_get(&pool));
	pktbuf_put_batch(&pool, bufs, COUNT);
	pktbuf_put(&pool, NULL);
	assert_int_equal(pool.stats.in_use, 0);
	pktbuf_pool_destroy(&pool);
}

static void test_lifo_and_reset(void **state)
{
	struct pktbuf_pool pool;
	struct pktbuf *a, *b, *c;
	int peer;

	(void)state;
	assert_int_equal(pktbuf_pool_init(&pool, 4, 1500, 48, 48), 0);
	a = pktbuf_get(&pool);
	b = pktbuf_get(&pool);
	pktbuf_put(&pool, a);
	pktbuf_put(&pool, b);
	/* The last one put is the first one got: still warm in cache. */
	assert_ptr_equal(pktbuf_get(&pool), b);
	assert_ptr_equal(pktbuf_get(&pool), a);

	/* A buffer comes back clean whatever its last holder did to it. */
	assert_non_null(pktbuf_push(a, 16));
	assert_non_null(pktbuf_extend(a, 100));
	a->peer = &peer;
	a->next = b;
	assert_int_equal(ip_endpoint_parse(&a->endpoint, "[::1]:51820", NULL), 0);
	pktbuf_put(&pool, a);
	c = pktbuf_get(&pool);
	assert_ptr_equal(c, a);
	assert_int_equal(c->len, 0);
	assert_int_equal(pktbuf_headroom(c), pool.headroom);
	assert_null(c->peer);
	assert_null(c->next);
	assert_int_equal(c->endpoint.addr.family, IP_FAMILY_UNSET);
	assert_int_equal(c->endpoint.port, 0);
	pktbuf_put(&pool, c);
	pktbuf_put(&pool, b);
	pktbuf_pool_destroy(&pool);
}

static void test_batch(void **state)
{
	enum { COUNT = 40 };
	struct pktbuf_pool pool;
	struct pktbuf *bufs[64], *more[64], *hole;
	unsigned int n, m, i, j;

	(void)state;
	assert_int_equal(pktbuf_pool_init(&pool, COUNT, 1500, 48, 48), 0);
	assert_int_equal(pktbuf_get_batch(&pool, bufs, 0), 0);
	assert_int_equal(pool.stats.get_failures, 0);

	n = pktbuf_get_batch(&pool, bufs, 32);
	assert_int_equal(n, 32);
	assert_int_equal(pool.stats.in_use, 32);
	assert_int_equal(pool.stats.get_failures, 0);
	/* Only 8 left: a short batch, one failure. */
	m = pktbuf_get_batch(&pool, more, 32);
	assert_int_equal(m, 8);
	assert_int_equal(pool.stats.in_use, COUNT);
	assert_int_equal(pool.stats.get_failures, 1);
	assert_int_equal(pktbuf_get_batch(&pool, more + m, 32), 0);
	assert_int_equal(pool.stats.get_failures, 2);

	for (i = 0; i < n + m; i++) {
		struct pktbuf *x = i < n ? bufs[i] : more[i - n];

		assert_int_equal(x->len, 0);
		assert_int_equal(pktbuf_headroom(x), pool.headroom);
		for (j = 0; j < i; j++)
			assert_ptr_not_equal(x, j < n ? bufs[j] : more[j - n]);
	}

	/* Put back a batch with holes (NULL entries are skipped). */
	hole = bufs[3];
	bufs[3] = NULL;
	pktbuf_put_batch(&pool, bufs, n);
	assert_int_equal(pool.stats.in_use, COUNT - (n - 1));
	pktbuf_put_batch(&pool, more, m);
	assert_int_equal(pool.stats.in_use, 1);
	assert_int_equal(pool.stats.high_water, COUNT);
	assert_int_equal(pktbuf_get_batch(&pool, bufs, 64), COUNT - 1);
	for (i = 0; i < COUNT - 1; i++)
		assert_ptr_not_equal(bufs[i], hole);
	pktbuf_put_batch(&pool, bufs, COUNT - 1);
	pktbuf_put(&pool, hole);
	assert_int_equal(pool.stats.in_use, 0);
	pktbuf_pool_destroy(&pool);
}

static void test_push_pull_bounds(void **state)
{
	struct pktbuf_pool pool;
	struct pktbuf *b;
	size_t head, tail;
	uint8_t *p, *start;

	(void)state;
	assert_int_equal(
		pktbuf_pool_init(&pool, 2, 1500, PKTBUF_HEADROOM_DEFAULT, PKTBUF_TAILROOM_DEFAULT),
		0);
	b = pktbuf_get(&pool);
	head = pktbuf_headroom(b);
	tail = pktbuf_tailroom(b);
	start = b->data;
	assert_int_equal(head, 64); /* 48 rounded up to the cache line */

	/* A received datagram: fill the payload area. */
	p = pktbuf_extend(b, 1400);
	assert_ptr_equal(p, start);
	memset(p, 0x42, 1400);
	assert_int_equal(b->len, 1400);
	assert_int_equal(pktbuf_tailroom(b), tail - 1400);

	/* Strip a 16-byte header, then put it back. */
	assert_ptr_equal(pktbuf_pull(b, 16), start + 16);
	assert_int_equal(b->len, 1384);
	assert_int_equal(pktbuf_headroom(b), head + 16);
	assert_ptr_equal(pktbuf_push(b, 16), start);
	assert_int_equal(b->len, 1400);

	/* Prepend as much as there is, then one byte more fails without change. */
	assert_ptr_equal(pktbuf_push(b, head), b->mem);
	assert_int_equal(pktbuf_headroom(b), 0);
	assert_null(pktbuf_push(b, 1));
	assert_ptr_equal(b->data, b->mem);
	assert_int_equal(b->len, 1400 + head);
	assert_ptr_equal(pktbuf_push(b, 0), b->mem);

	/* Pulling more than len fails without change; pulling all of it works. */
	assert_null(pktbuf_pull(b, b->len + 1));
	assert_int_equal(b->len, 1400 + head);
	assert_non_null(pktbuf_pull(b, b->len));
	assert_int_equal(b->len, 0);
	assert_int_equal(pktbuf_headroom(b), 1400 + head);
	assert_null(pktbuf_pull(b, 1));
	assert_ptr_equal(pktbuf_pull(b, 0), b->data);

	/* Extend to the very end, then one byte more fails. */
	tail = pktbuf_tailroom(b);
	assert_non_null(pktbuf_extend(b, tail));
	assert_int_equal(pktbuf_tailroom(b), 0);
	assert_null(pktbuf_extend(b, 1));
	assert_ptr_equal(b->data + b->len, b->mem + b->size);
	assert_null(pktbuf_extend(b, SIZE_MAX));
	assert_null(pktbuf_push(b, SIZE_MAX));
	assert_null(pktbuf_pull(b, SIZE_MAX));

	/* Trim only shortens. */
	pktbuf_trim(b, 10);
	assert_int_equal(b->len, 10);
	pktbuf_trim(b, 20);
	assert_int_equal(b->len, 10);
	pktbuf_trim(b, 0);
	assert_int_equal(b->len, 0);

	/* WireGuard-shaped use: header in front, tag and padding behind. */
	pktbuf_put(&pool, b);
	b = pktbuf_get(&pool);
	p = pktbuf_extend(b, 1420);
	assert_non_null(p);
	memset(p, 0x17, 1420);
	assert_non_null(pktbuf_extend(b, 15)); /* padding */
	assert_non_null(pktbuf_extend(b, 16)); /* tag */
	assert_non_null(pktbuf_push(b, 16));   /* data header */
	assert_non_null(pktbuf_push(b, 32));   /* relay framing */
	assert_int_equal(b->len, 1420 + 15 + 16 + 16 + 32);
	pktbuf_put(&pool, b);
	pktbuf_pool_destroy(&pool);
}

/* Each buffer's whole area, written with its own pattern, stays intact. */
static void test_no_overlap(void **state)
{
	enum { COUNT = 37 };
	struct pktbuf_pool pool;
	struct pktbuf *bufs[COUNT];
	unsigned int i;
	size_t k;

	(void)state;
	assert_int_equal(pktbuf_pool_init(&pool, COUNT, 1421, 19, 33), 0);
	for (i = 0; i < COUNT; i++) {
		bufs[i] = pktbuf_get(&pool);
		assert_non_null(bufs[i]);
		/* Claim everything: all the headroom and all the tailroom. */
		assert_non_null(pktbuf_push(bufs[i], pktbuf_headroom(bufs[i])));
		assert_non_null(pktbuf_extend(bufs[i], pktbuf_tailroom(bufs[i])));
		assert_int_equal(bufs[i]->len, bufs[i]->size);
		memset(bufs[i]->data, (int)(i + 1), bufs[i]->len);
		/* Metadata lives outside the payload area. */
		bufs[i]->peer = &bufs[i];
		bufs[i]->endpoint.port = (uint16_t)i;
	}
	for (i = 0; i < COUNT; i++) {
		for (k = 0; k < bufs[i]->len; k++) {
			if (bufs[i]->data[k] != (uint8_t)(i + 1))
				fail_msg("buffer %u byte %zu overwritten", i, k);
		}
		assert_ptr_equal(bufs[i]->peer, &bufs[i]);
		assert_int_equal(bufs[i]->endpoint.port, i);
		assert_int_equal(bufs[i]->size, pool.headroom + pool.payload_size + pool.tailroom);
	}
	pktbuf_put_batch(&pool, bufs, COUNT);
	pktbuf_pool_destroy(&pool);
}

/* Double and foreign puts: asserted in debug builds, ignored and counted otherwise. */
static void test_bad_put(void **state)
{
#ifdef NDEBUG
	struct pktbuf_pool pool, other;
	struct pktbuf *b, *c, *d, *foreign;

	(void)state;
	assert_int_equal(pktbuf_pool_init(&pool, 2, 100, 0, 0), 0);
	assert_int_equal(pktbuf_pool_init(&other, 1, 100, 0, 0), 0);
	b = pktbuf_get(&pool);
	pktbuf_put(&pool, b);
	pktbuf_put(&pool, b);
	assert_int_equal(pool.stats.bad_puts, 1);
	assert_int_equal(pool.stats.in_use, 0);
	foreign = pktbuf_get(&other);
	pktbuf_put(&pool, foreign);
	assert_int_equal(pool.stats.bad_puts, 2);
	/* Not even a slot boundary of this pool. */
	pktbuf_put(&pool, (struct pktbuf *)(void *)(pool.block + 8));
	assert_int_equal(pool.stats.bad_puts, 3);
	/* The freelist is intact: two distinct buffers, then none. */
	c = pktbuf_get(&pool);
	d = pktbuf_get(&pool);
	assert_non_null(c);
	assert_non_null(d);
	assert_ptr_not_equal(c, d);
	assert_null(pktbuf_get(&pool));
	pktbuf_put(&pool, c);
	pktbuf_put(&pool, d);
	pktbuf_put(&other, foreign);
	assert_int_equal(other.stats.in_use, 0);
	pktbuf_pool_destroy(&pool);
	pktbuf_pool_destroy(&other);
#else
	(void)state;
	skip(); /* assert() would abort: covered by the release build */
#endif
}

static void put_stamp(struct pktbuf *b, unsigned int v)
{
	uint8_t *p = pktbuf_extend(b, sizeof(v));

	if (!p) {
		fail_msg("no room for a stamp");
		return;
	}
	memcpy(p, &v, sizeof(v));
}

/* Random get/put/batch sequence against a model: a set of held buffers. */
static void test_random_model(void **state)
{
	enum { COUNT = 64, STEPS = 20000 };
	struct pktbuf_pool pool;
	struct pktbuf *held[COUNT], *batch[16];
	unsigned int stamp[COUNT], nheld = 0, high = 0, step, i, n, want;
	uint64_t failures = 0;
	uint32_t r = 12345;

	(void)state;
	assert_int_equal(pktbuf_pool_init(&pool, COUNT, 200, 16, 16), 0);
	for (step = 0; step < STEPS; step++) {
		r = r * 1103515245u + 12345u;
		switch ((r >> 16) % 4) {
		case 0: {
			struct pktbuf *b = pktbuf_get(&pool);

			if (nheld == COUNT) {
				assert_null(b);
				failures++;
			} else {
				assert_non_null(b);
				/* Stamp it: a buffer handed out twice would be caught below. */
				put_stamp(b, step);
				stamp[nheld] = step;
				held[nheld++] = b;
			}
			break;
		}
		case 1:
			want = (r >> 8) % 17;
			n = pktbuf_get_batch(&pool, batch, want);
			assert_int_equal(n, want < COUNT - nheld ? want : COUNT - nheld);
			if (n < want)
				failures++;
			for (i = 0; i < n; i++) {
				put_stamp(batch[i], step);
				stamp[nheld] = step;
				held[nheld++] = batch[i];
			}
			break;
		default:
			if (!nheld)
				break;
			i = (r >> 8) % nheld;
			assert_memory_equal(held[i]->data, &stamp[i], sizeof(stamp[i]));
			pktbuf_put(&pool, held[i]);
			nheld--;
			held[i] = held[nheld];
			stamp[i] = stamp[nheld];
			break;
		}
		if (nheld > high)
			high = nheld;
		assert_int_equal(pool.stats.in_use, nheld);
		assert_int_equal(pool.stats.high_water, high);
		assert_int_equal(pool.stats.get_failures, failures);
	}
	/* Every held buffer is distinct and its stamp survived. */
	for (i = 0; i < nheld; i++) {
		assert_int_equal(held[i]->len, sizeof(step));
		assert_memory_equal(held[i]->data, &stamp[i], sizeof(stamp[i]));
		for (n = 0; n < i; n++)
			assert_ptr_not_equal(held[i], held[n]);
	}
	pktbuf_put_batch(&pool, held, nheld);
	assert_int_equal(pool.stats.in_use, 0);
	assert_int_equal(pool.stats.bad_puts, 0);
	pktbuf_pool_destroy(&pool);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_limits),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_exhaustion_and_recovery),
		cmocka_unit_test(test_lifo_and_reset),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_push_pull_bounds),
		cmocka_unit_test(test_no_overlap),
		cmocka_unit_test(test_bad_put),
		cmocka_unit_test(test_random_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
