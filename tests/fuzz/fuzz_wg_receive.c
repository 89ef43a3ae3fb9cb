// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the WireGuard engine's receive path (and the send path it
 * triggers): a device with a fixed key and two peers, fed UDP messages from
 * three source endpoints and plaintext packets from its TUN, as framed in
 * harness_wg.h. The seeds carry real handshakes followed by data that
 * decrypts, so mutations reach session handling, replay checks, roaming and
 * cryptokey routing, not only the first length check.
 *
 * Properties checked besides memory safety (harness_wg.c): every message
 * the device sends is well-formed and goes to a known endpoint; every packet
 * it delivers to the TUN has a source inside the sending peer's allowed IPs;
 * no packet buffer is leaked once the peers are removed.
 */
#include "fuzz.h"
#include "harness_wg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	harness_wg_receive_run(data, size, NULL);
	return 0;
}
