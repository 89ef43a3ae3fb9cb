/* SPDX-License-Identifier: MIT */
/*
 * Anti-replay sliding window for transport data counters (RFC 6479 style),
 * 8192 bits of which 8128 counters behind the highest one are usable, the
 * same window as the Linux kernel and wireguard-go.
 */
#ifndef MESH_WG_REPLAY_H
#define MESH_WG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum replay_limits {
	REPLAY_WORD_BITS = 64,
	REPLAY_BITS_TOTAL = 8192,
	REPLAY_WORDS = REPLAY_BITS_TOTAL / REPLAY_WORD_BITS,
	/* One word of the ring is always being recycled, so it cannot count. */
	REPLAY_WINDOW_SIZE = REPLAY_BITS_TOTAL - REPLAY_WORD_BITS,
};

struct replay_window {
	uint64_t greatest; /* highest counter accepted so far (0 when fresh) */
	uint64_t bitmap[REPLAY_WORDS];
};

/** Reset @w to a fresh window in which every counter, 0 included, is still unseen. */
void replay_init(struct replay_window *w);

/**
 * Decide whether the authenticated counter @counter of a transport data packet
 * may be accepted, and record it if so. Rejects a counter >= @limit (the
 * caller's REJECT_AFTER_MESSAGES), one more than REPLAY_WINDOW_SIZE behind the
 * greatest accepted counter, and one already accepted. Call it only after the
 * packet decrypted, or a forged counter would poison the window.
 */
bool replay_check_and_update(struct replay_window *w, uint64_t counter, uint64_t limit);

#endif
