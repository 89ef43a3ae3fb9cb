// SPDX-License-Identifier: MIT
/*
 * The five per-peer timers of WireGuard (see timers.h for the list). The
 * rules follow the whitepaper §6 and the reference implementations:
 *
 * - A deadline that is "armed if not pending" keeps its first value; one that
 *   is "reset" moves. Deleting means setting it to 0.
 * - Every action goes through the ops, which may in turn report events (a
 *   sent initiation re-arms retransmit_handshake); so the expiry loop reads
 *   each deadline afresh.
 */
#include "wg/timers.h"

#include <string.h>

#include "wg/wg_proto.h"

#define NSEC_PER_SEC  WG_NSEC_PER_SEC
#define NSEC_PER_MSEC UINT64_C(1000000)

static uint64_t jitter_ns(const struct wg_timers *t)
{
	uint32_t ms = t->ops->jitter_ms(t->ctx);

	if (ms > WG_REKEY_TIMEOUT_JITTER_MAX_MS)
		ms = WG_REKEY_TIMEOUT_JITTER_MAX_MS;
	return (uint64_t)ms * NSEC_PER_MSEC;
}

void wg_timers_init(struct wg_timers *t, const struct wg_timers_ops *ops, void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->ctx = ctx;
}

void wg_timers_enable(struct wg_timers *t, bool enabled)
{
	t->enabled = enabled;
	if (!enabled) {
		t->retransmit_handshake = 0;
		t->send_keepalive = 0;
		t->new_handshake = 0;
		t->zero_key_material = 0;
		t->persistent_keepalive = 0;
		t->handshake_attempts = 0;
		t->need_another_keepalive = false;
	}
}

void wg_timers_data_sent(struct wg_timers *t, uint64_t now)
{
	if (t->enabled && !t->new_handshake)
		t->new_handshake = now + (WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT) * NSEC_PER_SEC +
				   jitter_ns(t);
}

void wg_timers_data_received(struct wg_timers *t, uint64_t now)
{
	if (!t->enabled)
		return;
	if (!t->send_keepalive)
		t->send_keepalive = now + WG_KEEPALIVE_TIMEOUT * NSEC_PER_SEC;
	else
		t->need_another_keepalive = true;
}

void wg_timers_any_authenticated_packet_sent(struct wg_timers *t)
{
	t->send_keepalive = 0;
}

void wg_timers_any_authenticated_packet_received(struct wg_timers *t)
{
	t->new_handshake = 0;
}

void wg_timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now)
{
	if (t->enabled && t->persistent_keepalive_interval)
		t->persistent_keepalive = now + t->persistent_keepalive_interval * NSEC_PER_SEC;
}

void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now)
{
	if (t->enabled)
		t->retransmit_handshake = now + WG_REKEY_TIMEOUT * NSEC_PER_SEC + jitter_ns(t);
}

void wg_timers_handshake_complete(struct wg_timers *t)
{
	t->retransmit_handshake = 0;
	t->handshake_attempts = 0;
}

void wg_timers_session_derived(struct wg_timers *t, uint64_t now)
{
	if (t->enabled)
		t->zero_key_material = now + 3ull * WG_REJECT_AFTER_TIME * NSEC_PER_SEC;
}

void wg_timers_set_persistent_keepalive(struct wg_timers *t, uint16_t interval, uint64_t now)
{
	t->persistent_keepalive_interval = interval;
	if (!interval)
		t->persistent_keepalive = 0;
	else if (t->enabled)
		t->persistent_keepalive = now + interval * NSEC_PER_SEC;
}

uint64_t wg_timers_next_deadline(const struct wg_timers *t)
{
	const uint64_t d[] = {t->retransmit_handshake, t->send_keepalive, t->new_handshake,
			      t->zero_key_material, t->persistent_keepalive};
	uint64_t next = 0;

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		if (d[i] && (!next || d[i] < next))
			next = d[i];
	return next;
}

static bool due(uint64_t deadline, uint64_t now)
{
	return deadline && deadline <= now;
}

static void expire_retransmit_handshake(struct wg_timers *t, uint64_t now)
{
	t->retransmit_handshake = 0;
	if (t->handshake_attempts > WG_MAX_TIMER_HANDSHAKES) {
		/*
		 * WG_REKEY_ATTEMPT_TIME has passed without a response: stop, drop
		 * what was waiting for a session, and make sure the keys go
		 * away even if nothing else happens.
		 */
		t->send_keepalive = 0;
		t->ops->handshake_gave_up(t->ctx);
		if (!t->zero_key_material)
			t->zero_key_material = now + 3ull * WG_REJECT_AFTER_TIME * NSEC_PER_SEC;
		return;
	}
	t->handshake_attempts++;
	t->ops->send_handshake(t->ctx, true);
}

static void expire_send_keepalive(struct wg_timers *t, uint64_t now)
{
	t->send_keepalive = 0;
	t->ops->send_keepalive(t->ctx);
	if (t->need_another_keepalive) {
		t->need_another_keepalive = false;
		t->send_keepalive = now + WG_KEEPALIVE_TIMEOUT * NSEC_PER_SEC;
	}
}

void wg_timers_expire(struct wg_timers *t, uint64_t now)
{
	if (!t->enabled)
		return;
	if (due(t->retransmit_handshake, now))
		expire_retransmit_handshake(t, now);
	if (due(t->send_keepalive, now))
		expire_send_keepalive(t, now);
	if (due(t->new_handshake, now)) {
		t->new_handshake = 0;
		t->ops->send_handshake(t->ctx, false);
	}
	if (due(t->zero_key_material, now)) {
		t->zero_key_material = 0;
		t->ops->zero_key_material(t->ctx);
	}
	if (due(t->persistent_keepalive, now)) {
		t->persistent_keepalive = 0;
		if (t->persistent_keepalive_interval)
			t->ops->send_keepalive(t->ctx);
	}
}
