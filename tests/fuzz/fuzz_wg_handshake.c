// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the WireGuard handshake messages below the engine: the
 * noise consume functions (initiation, response), cookie replies and the
 * mac1/mac2 checks, then transport data on the session that results, with
 * fixed keys, randomness and clocks (framing in harness_wg.h). The seeds
 * are complete exchanges made by the generator playing the peer.
 *
 * Properties checked besides memory safety (harness_wg.c): a successful
 * consume returns the configured peer's handshake in the right state; a
 * forged response leaves a pending handshake intact; sessions come out with
 * the right role and index; a cookie reply is accepted once per mac1; no
 * data counter is accepted twice, and fresh ones are.
 */
#include "fuzz.h"
#include "harness_wg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	harness_wg_handshake_run(data, size, NULL);
	return 0;
}
