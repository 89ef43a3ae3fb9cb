// SPDX-License-Identifier: MIT
/*
 * Anti-replay window: a ring of REPLAY_WORDS 64-bit words indexed by
 * counter / 64. Moving the window forward zeroes the words it skips over;
 * a counter within REPLAY_WINDOW_SIZE of the greatest one always lands in a
 * word that has not been recycled since, so its bit is exact.
 */
#include "wg/replay.h"

#include <string.h>

_Static_assert((REPLAY_WORDS & (REPLAY_WORDS - 1)) == 0, "ring size must be a power of two");
_Static_assert(REPLAY_WINDOW_SIZE == 8128, "window must match the kernel and wireguard-go");

void replay_init(struct replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

bool replay_check_and_update(struct replay_window *w, uint64_t counter, uint64_t limit)
{
	uint64_t index = counter / REPLAY_WORD_BITS, bit, *word;

	if (counter >= limit)
		return false;

	if (counter > w->greatest) {
		uint64_t current = w->greatest / REPLAY_WORD_BITS;
		uint64_t skip = index - current, i;

		/* A jump of a whole ring or more clears every word once. */
		if (skip > REPLAY_WORDS)
			skip = REPLAY_WORDS;
		for (i = 1; i <= skip; i++)
			w->bitmap[(current + i) & (REPLAY_WORDS - 1)] = 0;
		w->greatest = counter;
	} else if (w->greatest - counter > REPLAY_WINDOW_SIZE) {
		return false;
	}

	word = &w->bitmap[index & (REPLAY_WORDS - 1)];
	bit = UINT64_C(1) << (counter % REPLAY_WORD_BITS);
	if (*word & bit)
		return false;
	*word |= bit;
	return true;
}
