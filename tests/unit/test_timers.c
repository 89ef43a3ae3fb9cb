// SPDX-License-Identifier: MIT
/*
 * The timer state machine with a fake clock: every rule of timers.h, with
 * the jitter pinned so deadlines are exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wg/timers.h"
#include "wg/wg_proto.h"

#define S(x)  ((uint64_t)(x)*WG_NSEC_PER_SEC)
#define MS(x) ((uint64_t)(x)*1000000ull)

struct calls {
	unsigned handshakes, retries, keepalives, gave_up, zeroed;
	uint32_t jitter;
	struct wg_timers *t;
	uint64_t now;
};

static struct calls c;

static void send_handshake(void *ctx, bool is_retry)
{
	(void)ctx;
	c.handshakes++;
	c.retries += is_retry;
	/* What the peer does after sending an initiation. */
	wg_timers_handshake_initiated(c.t, c.now);
}

static void send_keepalive(void *ctx)
{
	(void)ctx;
	c.keepalives++;
	wg_timers_any_authenticated_packet_sent(c.t);
	wg_timers_any_authenticated_packet_traversal(c.t, c.now);
}

static void gave_up(void *ctx)
{
	(void)ctx;
	c.gave_up++;
}

static void zeroed(void *ctx)
{
	(void)ctx;
	c.zeroed++;
}

static uint32_t jitter(void *ctx)
{
	(void)ctx;
	return c.jitter;
}

static const struct wg_timers_ops ops = {
	.send_handshake = send_handshake,
	.send_keepalive = send_keepalive,
	.handshake_gave_up = gave_up,
	.zero_key_material = zeroed,
	.jitter_ms = jitter,
};

static struct wg_timers timers;

static int setup(void **state)
{
	(void)state;
	memset(&c, 0, sizeof(c));
	c.t = &timers;
	c.now = S(1000);
	wg_timers_init(&timers, &ops, NULL);
	wg_timers_enable(&timers, true);
	return 0;
}

/* Advance the fake clock to @t, firing timers at each deadline on the way. */
static void run_until(uint64_t t)
{
	uint64_t d;

	while ((d = wg_timers_next_deadline(&timers)) && d <= t) {
		c.now = d;
		wg_timers_expire(&timers, d);
	}
	c.now = t;
}

static void test_retransmit_then_give_up(void **state)
{
	(void)state;
	c.jitter = 100;
	send_handshake(NULL, false);
	assert_int_equal(wg_timers_next_deadline(&timers), c.now + S(5) + MS(100));
	/*
	 * As the kernel and wireguard-go: give up when an expiry finds more
	 * than MAX_TIMER_HANDSHAKES (18) attempts, i.e. after 19 retries.
	 */
	run_until(c.now + S(5) * 19 + MS(100) * 19);
	assert_int_equal(c.retries, 19);
	assert_int_equal(c.gave_up, 0);
	run_until(c.now + S(5) + MS(100));
	assert_int_equal(c.retries, 19);
	assert_int_equal(c.gave_up, 1);
	/* Giving up schedules the wipe of all keys 540 s later. */
	assert_int_equal(wg_timers_next_deadline(&timers), c.now + S(540));
	run_until(c.now + S(540));
	assert_int_equal(c.zeroed, 1);
	assert_int_equal(wg_timers_next_deadline(&timers), 0);
}

static void test_handshake_complete_stops_retransmit(void **state)
{
	(void)state;
	send_handshake(NULL, false);
	run_until(c.now + S(2));
	wg_timers_handshake_complete(&timers);
	wg_timers_session_derived(&timers, c.now);
	assert_int_equal(timers.handshake_attempts, 0);
	run_until(c.now + S(60));
	assert_int_equal(c.handshakes, 1);
	assert_int_equal(wg_timers_next_deadline(&timers), c.now + S(540) - S(60));
}

static void test_passive_keepalive(void **state)
{
	(void)state;
	wg_timers_data_received(&timers, c.now);
	run_until(c.now + S(10) - 1);
	assert_int_equal(c.keepalives, 0);
	run_until(c.now + 1);
	assert_int_equal(c.keepalives, 1);
	/* Sending anything authenticated cancels a pending keepalive. */
	wg_timers_data_received(&timers, c.now);
	wg_timers_any_authenticated_packet_sent(&timers);
	run_until(c.now + S(30));
	assert_int_equal(c.keepalives, 1);
	/* Data received again while pending: one more keepalive after the first. */
	wg_timers_data_received(&timers, c.now);
	wg_timers_data_received(&timers, c.now + S(1));
	run_until(c.now + S(25));
	assert_int_equal(c.keepalives, 3);
}

static void test_new_handshake_after_silence(void **state)
{
	(void)state;
	c.jitter = 0;
	wg_timers_data_sent(&timers, c.now);
	/* Later data does not push the deadline: armed only if not pending. */
	wg_timers_data_sent(&timers, c.now + S(3));
	run_until(c.now + S(15) - 1);
	assert_int_equal(c.handshakes, 0);
	run_until(c.now + 1);
	assert_int_equal(c.handshakes, 1);
	assert_int_equal(c.retries, 0);
	/* A reply in time cancels it. */
	wg_timers_handshake_complete(&timers);
	wg_timers_data_sent(&timers, c.now);
	wg_timers_any_authenticated_packet_received(&timers);
	run_until(c.now + S(20));
	assert_int_equal(c.handshakes, 1);
}

static void test_persistent_keepalive(void **state)
{
	(void)state;
	wg_timers_set_persistent_keepalive(&timers, 25, c.now);
	run_until(c.now + S(25));
	assert_int_equal(c.keepalives, 1);
	/* Traffic resets it: nothing while packets flow every 10 s. */
	for (int i = 0; i < 5; i++) {
		run_until(c.now + S(10));
		wg_timers_any_authenticated_packet_traversal(&timers, c.now);
	}
	assert_int_equal(c.keepalives, 1);
	run_until(c.now + S(25));
	assert_int_equal(c.keepalives, 2);
	wg_timers_set_persistent_keepalive(&timers, 0, c.now);
	run_until(c.now + S(100));
	assert_int_equal(c.keepalives, 2);
}

static void test_disabled_does_nothing(void **state)
{
	(void)state;
	wg_timers_set_persistent_keepalive(&timers, 5, c.now);
	send_handshake(NULL, false);
	wg_timers_enable(&timers, false);
	assert_int_equal(wg_timers_next_deadline(&timers), 0);
	wg_timers_data_sent(&timers, c.now);
	wg_timers_data_received(&timers, c.now);
	wg_timers_session_derived(&timers, c.now);
	assert_int_equal(wg_timers_next_deadline(&timers), 0);
	wg_timers_expire(&timers, c.now + S(1000));
	assert_int_equal(c.handshakes, 1);
	assert_int_equal(c.keepalives, 0);
}

static void test_jitter_bounded(void **state)
{
	(void)state;
	c.jitter = 100000; /* a broken source is clamped to the maximum */
	wg_timers_handshake_initiated(&timers, c.now);
	assert_int_equal(wg_timers_next_deadline(&timers),
			 c.now + S(5) + MS(WG_REKEY_TIMEOUT_JITTER_MAX_MS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_retransmit_then_give_up, setup),
		cmocka_unit_test_setup(test_handshake_complete_stops_retransmit, setup),
		cmocka_unit_test_setup(test_passive_keepalive, setup),
		cmocka_unit_test_setup(test_new_handshake_after_silence, setup),
		cmocka_unit_test_setup(test_persistent_keepalive, setup),
		cmocka_unit_test_setup(test_disabled_does_nothing, setup),
		cmocka_unit_test_setup(test_jitter_bounded, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
