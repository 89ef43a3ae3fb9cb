// SPDX-License-Identifier: MIT
/*
 * Replay window tests: the scripted sequence shared by the Linux kernel's
 * counter self-test and wireguard-go's replay test, the window-edge loops,
 * jumps, the reject limit, and a differential test against a plain set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wg/replay.h"

/* wireguard-go's test limit, the kernel's REJECT_AFTER_MESSAGES, the whitepaper's. */
static const uint64_t limits[] = {
	UINT64_MAX - (UINT64_C(1) << 4),
	UINT64_MAX - REPLAY_WINDOW_SIZE - 1,
	UINT64_MAX - (UINT64_C(1) << 13),
};

struct step {
	uint64_t counter;
	bool accept;
};

static void run_steps(struct replay_window *w, const struct step *steps, size_t n, uint64_t limit)
{
	for (size_t i = 0; i < n; i++) {
		bool got = replay_check_and_update(w, steps[i].counter, limit);

		if (got != steps[i].accept)
			fail_msg("step %zu: counter %llu: got %d, want %d", i + 1,
				 (unsigned long long)steps[i].counter, got, steps[i].accept);
	}
}

static void test_scripted_sequence(void **state)
{
	enum { T_LIM = REPLAY_WINDOW_SIZE + 1 };
	struct replay_window w;

	(void)state;
	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		const uint64_t R = limits[l];
		const struct step steps[] = {
			{0, true},
			{1, true},
			{1, false},
			{9, true},
			{8, true},
			{7, true},
			{7, false},
			{T_LIM, true},
			{T_LIM - 1, true},
			{T_LIM - 1, false},
			{T_LIM - 2, true},
			{2, true},
			{2, false},
			{T_LIM + 16, true},
			{3, false},
			{T_LIM + 16, false},
			{T_LIM * 4, true},
			{T_LIM * 4 - (T_LIM - 1), true},
			{10, false},
			{T_LIM * 4 - T_LIM, false},
			{T_LIM * 4 - (T_LIM + 1), false},
			{T_LIM * 4 - (T_LIM - 2), true},
			{T_LIM * 4 + 1 - T_LIM, false},
			{0, false},
			{R, false},
			{R - 1, true},
			{R, false},
			{R - 1, false},
			{R - 2, true},
			{R + 1, false},
			{R + 2, false},
			{R - 2, false},
			{R - 3, true},
			{0, false},
		};

		assert_int_equal(sizeof(steps) / sizeof(steps[0]), 34);
		replay_init(&w);
		run_steps(&w, steps, sizeof(steps) / sizeof(steps[0]), R);
	}
}

static void expect(struct replay_window *w, uint64_t counter, bool accept)
{
	bool got = replay_check_and_update(w, counter, limits[1]);

	if (got != accept)
		fail_msg("counter %llu: got %d, want %d", (unsigned long long)counter, got, accept);
}

/* The six window-edge loops of both reference suites. */
static void test_window_edges(void **state)
{
	const uint64_t W = REPLAY_WINDOW_SIZE;
	struct replay_window w;
	uint64_t i;

	(void)state;
	replay_init(&w);
	for (i = 1; i <= W; i++)
		expect(&w, i, true);
	expect(&w, 0, true); /* exactly W behind: still inside */
	expect(&w, 0, false);

	replay_init(&w);
	for (i = 2; i <= W + 1; i++)
		expect(&w, i, true);
	expect(&w, 1, true);
	expect(&w, 0, false); /* W + 1 behind: outside */

	replay_init(&w);
	for (i = W + 1; i-- > 0;)
		expect(&w, i, true);

	replay_init(&w);
	for (i = W + 1; i > 0; i--)
		expect(&w, i, true);

	replay_init(&w);
	for (i = W + 2; i > 1; i--)
		expect(&w, i, true);
	expect(&w, 0, false);

	replay_init(&w);
	for (i = W; i > 0; i--)
		expect(&w, i, true);
	expect(&w, W + 1, true);
	expect(&w, 0, false);

	replay_init(&w);
	for (i = W; i > 0; i--)
		expect(&w, i, true);
	expect(&w, 0, true);
	expect(&w, W + 1, true);
}

static void test_in_order_and_duplicates(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	for (uint64_t i = 0; i < 100000; i++) {
		expect(&w, i, true);
		expect(&w, i, false);
		if (i >= REPLAY_WINDOW_SIZE)
			expect(&w, i - REPLAY_WINDOW_SIZE, false); /* seen */
		if (i > REPLAY_WINDOW_SIZE)
			expect(&w, i - REPLAY_WINDOW_SIZE - 1, false); /* too old */
	}
}

static void test_out_of_order_within_window(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	/* Evens ascending, then the odds backwards: all fit the window once. */
	for (uint64_t i = 0; i <= 2 * 4000; i += 2)
		expect(&w, i, true);
	for (uint64_t i = 2 * 4000 - 1; i < 2 * 4000; i -= 2)
		expect(&w, i, true);
	for (uint64_t i = 0; i <= 2 * 4000; i++)
		expect(&w, i, false);
}

static void test_big_jumps(void **state)
{
	const uint64_t W = REPLAY_WINDOW_SIZE;
	struct replay_window w;

	(void)state;
	replay_init(&w);
	for (uint64_t i = 0; i < 64; i++)
		expect(&w, i, true);
	/* A jump of exactly one ring: the recycled words must be zeroed. */
	expect(&w, REPLAY_BITS_TOTAL, true);
	for (uint64_t i = 0; i < 64; i++)
		expect(&w, i, false);
	for (uint64_t i = REPLAY_BITS_TOTAL - W; i < REPLAY_BITS_TOTAL; i++)
		expect(&w, i, true);
	expect(&w, REPLAY_BITS_TOTAL - W - 1, false);

	/* A huge jump, then counters that alias old bits are fresh again. */
	replay_init(&w);
	for (uint64_t i = 0; i < 3 * REPLAY_BITS_TOTAL; i += 3)
		expect(&w, i, true);
	expect(&w, UINT64_C(1) << 50, true);
	for (uint64_t i = (UINT64_C(1) << 50) - W; i < (UINT64_C(1) << 50); i++)
		expect(&w, i, true);
	expect(&w, (UINT64_C(1) << 50) - W - 1, false);
	expect(&w, 0, false);

	/* Jumps of every size up to two rings, each clearing only what it should. */
	for (uint64_t jump = 1; jump < 2 * REPLAY_BITS_TOTAL; jump += 37) {
		uint64_t base = 1000003;

		replay_init(&w);
		expect(&w, base, true);
		expect(&w, base - 1, true);
		expect(&w, base + jump, true);
		expect(&w, base, false); /* seen, or too old once jump > W */
		expect(&w, base - 1, false);
		expect(&w, base - 2, jump + 2 <= W);
		if (jump > 1)
			expect(&w, base + jump - 1, true);
	}
}

static void test_reject_limit(void **state)
{
	struct replay_window w;

	(void)state;
	replay_init(&w);
	assert_false(replay_check_and_update(&w, 0, 0));
	assert_true(replay_check_and_update(&w, 0, 1));
	assert_false(replay_check_and_update(&w, 1, 1));
	assert_false(replay_check_and_update(&w, UINT64_MAX, UINT64_MAX));

	replay_init(&w);
	assert_true(replay_check_and_update(&w, UINT64_MAX - 1, UINT64_MAX));
	assert_false(replay_check_and_update(&w, UINT64_MAX - 1, UINT64_MAX));
	assert_true(replay_check_and_update(&w, UINT64_MAX - 1 - REPLAY_WINDOW_SIZE, UINT64_MAX));
	assert_false(replay_check_and_update(&w, UINT64_MAX - 2 - REPLAY_WINDOW_SIZE, UINT64_MAX));
}

/*
 * Differential test: the window must behave exactly like a set of seen
 * counters plus "reject if more than REPLAY_WINDOW_SIZE behind the greatest".
 */
enum { MODEL_SPAN = 1 << 22 };

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64: reproducible across runs and platforms */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void differential_run(uint64_t base, uint64_t limit, uint64_t seed)
{
	uint8_t *seen = calloc(MODEL_SPAN, 1);
	uint64_t greatest = 0, greatest_off = 0, off;
	struct replay_window w;

	assert_non_null(seen);
	rng_state = seed;
	replay_init(&w);
	for (int i = 0; i < 200000; i++) {
		uint64_t r = rng(), counter;
		bool model, got;
		int64_t delta;

		/* Relative to the greatest: mostly near it, some far behind, rare jumps. */
		if (r % 1024 == 0)
			delta = (int64_t)((r >> 16) % (3 * REPLAY_BITS_TOTAL));
		else if (r % 8 == 1)
			delta = -(int64_t)((r >> 16) % (REPLAY_WINDOW_SIZE + 200));
		else
			delta = (int64_t)((r >> 16) % 160) - 128;
		if (delta < 0 && (uint64_t)-delta > greatest_off)
			delta = -(int64_t)greatest_off;
		off = greatest_off + (uint64_t)delta;
		if (off >= MODEL_SPAN)
			break;
		counter = base + off;

		model = counter < limit && !seen[off] &&
			!(greatest > counter && greatest - counter > REPLAY_WINDOW_SIZE);
		got = replay_check_and_update(&w, counter, limit);
		if (got != model)
			fail_msg("seed %llu step %d counter %llu: got %d, model %d",
				 (unsigned long long)seed, i, (unsigned long long)counter, got,
				 model);
		if (model) {
			seen[off] = 1;
			if (counter > greatest) {
				greatest = counter;
				greatest_off = off;
			}
		}
	}
	free(seen);
}

static void test_differential(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 4; seed++)
		differential_run(0, UINT64_MAX - REPLAY_WINDOW_SIZE - 1, seed);
	/* Right below the reject limit, where counters start being refused. */
	differential_run(UINT64_MAX - MODEL_SPAN, UINT64_MAX - MODEL_SPAN / 2, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scripted_sequence),
		cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_in_order_and_duplicates),
		cmocka_unit_test(test_out_of_order_within_window),
		cmocka_unit_test(test_big_jumps),
		cmocka_unit_test(test_reject_limit),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
