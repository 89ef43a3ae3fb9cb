/* SPDX-License-Identifier: MIT */
/*
 * All timer policy of the WireGuard engine, in one place and free of I/O.
 *
 * The packet paths report what happened (events named after facts:
 * "data sent", "handshake complete"); only this file decides what those
 * facts mean for the five per-peer timers of the whitepaper (§6):
 *
 *   retransmit_handshake  armed when an initiation is sent; fires after
 *                         WG_REKEY_TIMEOUT + jitter: resend, or give up after
 *                         WG_REKEY_ATTEMPT_TIME (18 attempts).
 *   send_keepalive        armed when data is received and nothing authenticated
 *                         has been sent for WG_KEEPALIVE_TIMEOUT: a passive keepalive.
 *   new_handshake         armed when data is sent and nothing authenticated has
 *                         come back for KEEPALIVE + WG_REKEY_TIMEOUT: re-handshake.
 *   zero_key_material     armed when a session is derived (or on give-up): after
 *                         3 * WG_REJECT_AFTER_TIME every key is wiped.
 *   persistent_keepalive  reset by every authenticated packet in either
 *                         direction; fires after the configured interval.
 *
 * Timers are deadlines (monotonic ns, 0 = not pending), not OS timers: an
 * event is a couple of stores, never a heap operation per packet. The owner
 * keeps one OS timer per peer armed at wg_timers_next_deadline() and calls
 * wg_timers_expire() when it fires; a deadline that moved later in the
 * meantime simply is not due yet (lazy re-arming, as nginx does).
 */
#ifndef MESH_WG_TIMERS_H
#define MESH_WG_TIMERS_H

#include <stdbool.h>
#include <stdint.h>

/** What the timers ask of their peer when a deadline passes. */
struct wg_timers_ops {
	/* Send a new handshake initiation (@is_retry: a retransmission). */
	void (*send_handshake)(void *ctx, bool is_retry);
	/* Send an empty (keepalive) data message if a session allows it. */
	void (*send_keepalive)(void *ctx);
	/* Handshake given up: drop the packets staged for this peer. */
	void (*handshake_gave_up)(void *ctx);
	/* Wipe the handshake and all keypairs of the peer. */
	void (*zero_key_material)(void *ctx);
	/* Random jitter in [0, WG_REKEY_TIMEOUT_JITTER_MAX_MS] milliseconds. */
	uint32_t (*jitter_ms)(void *ctx);
};

struct wg_timers {
	uint64_t retransmit_handshake;
	uint64_t send_keepalive;
	uint64_t new_handshake;
	uint64_t zero_key_material;
	uint64_t persistent_keepalive;
	unsigned handshake_attempts;
	uint16_t persistent_keepalive_interval; /* seconds, 0 = off */
	bool need_another_keepalive;
	bool enabled; /* false while the device is down or the peer is dying */
	const struct wg_timers_ops *ops;
	void *ctx;
};

/** Initialise all timers as not pending and disabled. */
void wg_timers_init(struct wg_timers *t, const struct wg_timers_ops *ops, void *ctx);
/** Enable (device up) or disable (device down, peer removed: everything cleared). */
void wg_timers_enable(struct wg_timers *t, bool enabled);

/* Events. @now is monotonic nanoseconds. */
void wg_timers_data_sent(struct wg_timers *t, uint64_t now);
void wg_timers_data_received(struct wg_timers *t, uint64_t now);
void wg_timers_any_authenticated_packet_sent(struct wg_timers *t);
void wg_timers_any_authenticated_packet_received(struct wg_timers *t);
void wg_timers_any_authenticated_packet_traversal(struct wg_timers *t, uint64_t now);
void wg_timers_handshake_initiated(struct wg_timers *t, uint64_t now);
void wg_timers_handshake_complete(struct wg_timers *t);
void wg_timers_session_derived(struct wg_timers *t, uint64_t now);
/** A new persistent keepalive interval (0 = off). */
void wg_timers_set_persistent_keepalive(struct wg_timers *t, uint16_t interval, uint64_t now);

/** The earliest pending deadline, or 0 if none is pending. */
uint64_t wg_timers_next_deadline(const struct wg_timers *t);

/**
 * Run every timer whose deadline is <= @now, through the ops. Actions may
 * call back into the event functions (sending an initiation re-arms
 * retransmit_handshake), so callers read wg_timers_next_deadline() after.
 */
void wg_timers_expire(struct wg_timers *t, uint64_t now);

#endif
