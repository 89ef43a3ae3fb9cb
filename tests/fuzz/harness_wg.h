/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard fuzz harnesses, shared by the fuzz targets (fuzz_wg_receive,
 * fuzz_wg_handshake) and the seed generator, which drives the same code to
 * record real conversations.
 *
 * Both harnesses are deterministic: replaying an input does the same thing
 * every time, in the fuzzer and in the generator, which is what lets the
 * committed seeds carry complete handshakes followed by data that decrypts.
 * For that, libsodium's random source is replaced in these binaries (never
 * anywhere else) by ChaCha20 streams that are reset at the start of each
 * input; see harness_rng_*.
 *
 * The fixed identities: "D" is the device under test, "P" its one real peer
 * (whose private key the generator knows), "Q" a second peer whose private
 * key nobody has. P owns 10.0.0.0/24 and fd00::/64 on D; Q owns 10.0.1.0/24.
 *
 * Input format of the receive harness:
 *   byte 0             flags, enum harness_flags
 *   then records       [hdr][len: 2 bytes, big-endian][len bytes]
 *     hdr bits 0-1     enum harness_source: where the bytes come from
 *     hdr bit 2        batch: hand this message to the device together with
 *                      the next record(s) in one wg_device_net_input() call
 * A record longer than the rest of the input is cut to it; payloads are cut
 * to HARNESS_MAX_PACKET.
 *
 * Input format of the handshake harness:
 *   byte 0             bits 0-1 enum harness_hs_op, bit 2: P and D share a
 *                      PSK, bit 3: check mac2 (cookies) on received handshakes
 *   then records       [len: 2 bytes, big-endian][len bytes], as above.
 */
#ifndef MESH_TESTS_FUZZ_HARNESS_WG_H
#define MESH_TESTS_FUZZ_HARNESS_WG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

enum harness_flags {
	HARNESS_UNDER_LOAD = 1 << 0,  /* D demands cookies (mac2) on handshakes */
	HARNESS_PSK = 1 << 1,	      /* P and D share harness_psk */
	HARNESS_NO_ENDPOINT = 1 << 2, /* D learns P's endpoint only by roaming */
};

enum harness_source {
	HARNESS_SRC_PEER = 0,  /* UDP from P's configured endpoint, 192.0.2.1:51820 */
	HARNESS_SRC_ROAM4 = 1, /* UDP from 198.51.100.9:4000 */
	HARNESS_SRC_ROAM6 = 2, /* UDP from [2001:db8::9]:4000 */
	HARNESS_SRC_TUN = 3,   /* a plaintext IP packet from D's TUN (the send path) */
	HARNESS_SRC_MASK = 3,
	HARNESS_BATCH = 1 << 2,
};

enum harness_hs_op {
	HARNESS_HS_RESPOND = 0,	 /* D consumes an initiation, responds; then data */
	HARNESS_HS_INITIATE = 1, /* D initiates, consumes the response; then data */
	HARNESS_HS_COOKIE = 2,	 /* D initiates, consumes a cookie reply; then MAC checks */
	HARNESS_HS_OP_MASK = 3,
	HARNESS_HS_PSK = 1 << 2,
	HARNESS_HS_CHECK_COOKIE = 1 << 3,
};

enum harness_limits {
	HARNESS_MAX_PACKET = 1600, /* the device pool's payload size */
	HARNESS_MAX_BATCH = 16,
	HARNESS_TRACE_MAX = 64,
	HARNESS_REC_HDR = 3, /* receive harness: hdr + length */
	HARNESS_HS_REC_HDR = 2,
};

/* The fixed keys (public keys are filled in by harness_wg_init()). */
extern const uint8_t harness_priv_d[32], harness_priv_p[32], harness_psk[32];
extern uint8_t harness_pub_d[32], harness_pub_p[32], harness_pub_q[32];

/* ---- deterministic randomness ---- */

/* One ChaCha20 stream: block @counter of the key @seed. */
struct harness_rng {
	uint8_t seed[32];
	uint64_t counter;
};

/** Start @rng over: the same @label gives the same stream. */
void harness_rng_reset(struct harness_rng *rng, uint8_t label);

/** Fill @buf from @ctx (a struct harness_rng): the noise_ops/cookie random hook. */
void harness_rng_fill(void *ctx, void *buf, size_t len);

/** Make @rng the stream libsodium's randombytes_*() read from; returns the previous one. */
struct harness_rng *harness_rng_select(struct harness_rng *rng);

/**
 * Install the deterministic random source, call sodium_init() and derive the
 * fixed public keys. Idempotent; every harness entry point calls it first.
 */
void harness_wg_init(void);

/* ---- what the device under test did, for the generator ---- */

struct harness_msg {
	struct ip_endpoint to;
	size_t len;
	uint8_t data[HARNESS_MAX_PACKET];
};

struct harness_trace {
	/* Receive harness: messages D sent, and packets D delivered to its TUN. */
	struct harness_msg sent[HARNESS_TRACE_MAX];
	unsigned nsent;
	unsigned tun_packets;
	/* Handshake harness: D's outgoing handshake message and what succeeded. */
	uint8_t hs_msg[HARNESS_MAX_PACKET];
	size_t hs_len;
	bool hs_consumed;     /* the handshake message from P was accepted */
	unsigned decrypted;   /* data messages that authenticated and passed replay */
	unsigned with_cookie; /* handshake messages whose mac2 was valid */
	uint8_t cookie_reply[HARNESS_MAX_PACKET];
	size_t cookie_reply_len;
};

/** The source endpoint of enum harness_source @src (not for HARNESS_SRC_TUN). */
void harness_source_endpoint(enum harness_source src, struct ip_endpoint *out);

/**
 * Run one input of the receive harness (format atop this file) against the
 * device D; with @trace, also record what D sent and delivered.
 */
void harness_wg_receive_run(const uint8_t *data, size_t size, struct harness_trace *trace);

/** Run one input of the handshake harness; with @trace, record D's side of it. */
void harness_wg_handshake_run(const uint8_t *data, size_t size, struct harness_trace *trace);

/* Fixed clocks of the handshake harness, so that its messages replay exactly. */
enum harness_clock {
	HARNESS_NOW_S = 1000,	      /* monotonic time of every step */
	HARNESS_WALL_S = 1700000000,  /* D's TAI64N timestamp */
	HARNESS_INDEX_D = 0x1d1d1d1d, /* D's sender index */
};

/** The source address bytes the handshake harness uses for cookies (192.0.2.1:51820). */
size_t harness_cookie_source(uint8_t out[18]);

#endif
