/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard wire format, defined once: message types, sizes, field
 * offsets and the protocol's time and count limits (whitepaper §5.4, §6).
 * Every integer on the wire is little-endian; the only big-endian field is
 * the TAI64N timestamp, and it travels encrypted. Indices are opaque: this
 * code keeps them as the host value of the little-endian field and writes
 * them back the same way, so the four bytes echo unchanged.
 */
#ifndef MESH_WG_WG_PROTO_H
#define MESH_WG_WG_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Byte 0 is the type, bytes 1-3 are reserved zeros: read together as one LE32. */
enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
};

enum noise_lengths {
	NOISE_PUBLIC_KEY_LEN = 32,
	NOISE_SYMMETRIC_KEY_LEN = 32,
	NOISE_HASH_LEN = 32,
	NOISE_TIMESTAMP_LEN = 12,
	NOISE_AUTHTAG_LEN = 16,
	NOISE_NONCE_LEN = 12, /* 4 zero bytes || LE64 counter */
};

enum cookie_lengths {
	COOKIE_SECRET_LEN = 32,
	COOKIE_KEY_LEN = 32,
	COOKIE_LEN = 16, /* also the length of mac1 and mac2 */
	COOKIE_NONCE_LEN = 24,
};

enum message_header_layout {
	MESSAGE_OFF_TYPE = 0,
	MESSAGE_HEADER_LEN = 4,
	/* Handshake messages end with mac1 then mac2. */
	MESSAGE_MACS_LEN = 2 * COOKIE_LEN,
};

/* Type 1, exactly 148 bytes. */
enum message_initiation_layout {
	INITIATION_OFF_SENDER_INDEX = 4,
	INITIATION_OFF_EPHEMERAL = 8,
	INITIATION_OFF_STATIC = 40,    /* AEAD(static public key) */
	INITIATION_OFF_TIMESTAMP = 88, /* AEAD(TAI64N) */
	INITIATION_OFF_MAC1 = 116,
	INITIATION_OFF_MAC2 = 132,
	MESSAGE_INITIATION_LEN = 148,
};

/* Type 2, exactly 92 bytes. */
enum message_response_layout {
	RESPONSE_OFF_SENDER_INDEX = 4,
	RESPONSE_OFF_RECEIVER_INDEX = 8,
	RESPONSE_OFF_EPHEMERAL = 12,
	RESPONSE_OFF_EMPTY = 44, /* AEAD(empty): the tag alone */
	RESPONSE_OFF_MAC1 = 60,
	RESPONSE_OFF_MAC2 = 76,
	MESSAGE_RESPONSE_LEN = 92,
};

/* Type 3, exactly 64 bytes. */
enum message_cookie_reply_layout {
	COOKIE_REPLY_OFF_RECEIVER_INDEX = 4,
	COOKIE_REPLY_OFF_NONCE = 8,
	COOKIE_REPLY_OFF_COOKIE = 32, /* XAEAD(cookie), AD = the answered mac1 */
	MESSAGE_COOKIE_REPLY_LEN = 64,
};

/* Type 4, 16-byte header + AEAD(padded plaintext); a keepalive is 32 bytes. */
enum message_data_layout {
	DATA_OFF_RECEIVER_INDEX = 4,
	DATA_OFF_COUNTER = 8,
	DATA_OFF_PAYLOAD = 16,
	MESSAGE_DATA_HEADER_LEN = 16,
	MESSAGE_DATA_MIN_LEN = MESSAGE_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN,
	MESSAGE_PADDING_MULTIPLE = 16,
};

/* Protocol times, in seconds (whitepaper §6.1). */
enum wg_times {
	WG_REKEY_AFTER_TIME = 120,
	WG_REJECT_AFTER_TIME = 180,
	WG_REKEY_ATTEMPT_TIME = 90,
	WG_REKEY_TIMEOUT = 5,
	WG_KEEPALIVE_TIMEOUT = 10,
	/* Wipe all key material after this long without a new session. */
	WG_ZERO_KEY_MATERIAL_TIME = 3 * WG_REJECT_AFTER_TIME,
	WG_COOKIE_SECRET_MAX_AGE = 120,
	/* A sender stops using a cookie this much before the minter rotates it. */
	WG_COOKIE_SECRET_LATENCY = 5,
	/* Under-load state lasts this long after the handshake queue was last busy. */
	WG_UNDER_LOAD_TIME = 1,
};

enum wg_limits {
	WG_REKEY_TIMEOUT_JITTER_MAX_MS = 334,
	WG_MAX_TIMER_HANDSHAKES = WG_REKEY_ATTEMPT_TIME / WG_REKEY_TIMEOUT,
	/* Per peer, receive side: at most one consumed initiation per 1/50 s. */
	WG_INITIATIONS_PER_SECOND = 50,
	WG_MAX_PEERS_PER_DEVICE = 1 << 20,
	WG_MAX_QUEUED_INCOMING_HANDSHAKES = 4096,
	/* The device is "under load" while this many handshakes are queued. */
	WG_UNDER_LOAD_QUEUE_LEN = WG_MAX_QUEUED_INCOMING_HANDSHAKES / 8,
	WG_MAX_STAGED_PACKETS = 128,
	WG_MAX_QUEUED_PACKETS = 1024,
	WG_DEFAULT_MTU = 1420,
	/* Usable replay window (8192 bits less one recycled word), see wg/replay.h. */
	WG_COUNTER_WINDOW_SIZE = 8192 - 64,
};

/* 64-bit limits do not fit an enum. */
#define WG_REKEY_AFTER_MESSAGES	 (UINT64_C(1) << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - WG_COUNTER_WINDOW_SIZE - 1)
#define WG_NSEC_PER_SEC		 UINT64_C(1000000000)

_Static_assert(INITIATION_OFF_EPHEMERAL == INITIATION_OFF_SENDER_INDEX + 4, "initiation layout");
_Static_assert(INITIATION_OFF_STATIC == INITIATION_OFF_EPHEMERAL + NOISE_PUBLIC_KEY_LEN,
	       "initiation layout");
_Static_assert(INITIATION_OFF_TIMESTAMP ==
		       INITIATION_OFF_STATIC + NOISE_PUBLIC_KEY_LEN + NOISE_AUTHTAG_LEN,
	       "initiation layout");
_Static_assert(INITIATION_OFF_MAC1 ==
		       INITIATION_OFF_TIMESTAMP + NOISE_TIMESTAMP_LEN + NOISE_AUTHTAG_LEN,
	       "initiation layout");
_Static_assert(INITIATION_OFF_MAC2 == INITIATION_OFF_MAC1 + COOKIE_LEN, "initiation layout");
_Static_assert(MESSAGE_INITIATION_LEN == INITIATION_OFF_MAC2 + COOKIE_LEN, "initiation size");
_Static_assert(RESPONSE_OFF_EPHEMERAL == RESPONSE_OFF_RECEIVER_INDEX + 4, "response layout");
_Static_assert(RESPONSE_OFF_EMPTY == RESPONSE_OFF_EPHEMERAL + NOISE_PUBLIC_KEY_LEN,
	       "response layout");
_Static_assert(RESPONSE_OFF_MAC1 == RESPONSE_OFF_EMPTY + NOISE_AUTHTAG_LEN, "response layout");
_Static_assert(RESPONSE_OFF_MAC2 == RESPONSE_OFF_MAC1 + COOKIE_LEN, "response layout");
_Static_assert(MESSAGE_RESPONSE_LEN == RESPONSE_OFF_MAC2 + COOKIE_LEN, "response size");
_Static_assert(COOKIE_REPLY_OFF_COOKIE == COOKIE_REPLY_OFF_NONCE + COOKIE_NONCE_LEN,
	       "cookie reply layout");
_Static_assert(MESSAGE_COOKIE_REPLY_LEN == COOKIE_REPLY_OFF_COOKIE + COOKIE_LEN + NOISE_AUTHTAG_LEN,
	       "cookie reply size");
_Static_assert(DATA_OFF_PAYLOAD == DATA_OFF_COUNTER + 8, "data layout");
_Static_assert(INITIATION_OFF_MAC1 == MESSAGE_INITIATION_LEN - MESSAGE_MACS_LEN, "macs at end");
_Static_assert(RESPONSE_OFF_MAC1 == MESSAGE_RESPONSE_LEN - MESSAGE_MACS_LEN, "macs at end");
_Static_assert((int)INITIATION_OFF_SENDER_INDEX == (int)RESPONSE_OFF_SENDER_INDEX,
	       "a cookie reply answers either handshake message through the same field");
_Static_assert(WG_REJECT_AFTER_MESSAGES == UINT64_C(0xFFFFFFFFFFFFE03E), "kernel's value");

static inline uint32_t wg_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void wg_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t wg_get_le64(const uint8_t *p)
{
	return (uint64_t)wg_get_le32(p) | (uint64_t)wg_get_le32(p + 4) << 32;
}

static inline void wg_put_le64(uint8_t *p, uint64_t v)
{
	wg_put_le32(p, (uint32_t)v);
	wg_put_le32(p + 4, (uint32_t)(v >> 32));
}

/**
 * Classify @len bytes at @buf: the message type when the header is a known
 * type with zero reserved bytes and the length is exact (handshake, cookie)
 * or at least MESSAGE_DATA_MIN_LEN (data); otherwise MESSAGE_INVALID. Reads
 * nothing past @len.
 */
static inline enum message_type wg_message_classify(const uint8_t *buf, size_t len)
{
	if (len < MESSAGE_HEADER_LEN)
		return MESSAGE_INVALID;
	switch (wg_get_le32(buf + MESSAGE_OFF_TYPE)) {
	case MESSAGE_HANDSHAKE_INITIATION:
		return len == MESSAGE_INITIATION_LEN ? MESSAGE_HANDSHAKE_INITIATION
						     : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_RESPONSE:
		return len == MESSAGE_RESPONSE_LEN ? MESSAGE_HANDSHAKE_RESPONSE : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_COOKIE:
		return len == MESSAGE_COOKIE_REPLY_LEN ? MESSAGE_HANDSHAKE_COOKIE : MESSAGE_INVALID;
	case MESSAGE_DATA:
		return len >= MESSAGE_DATA_MIN_LEN ? MESSAGE_DATA : MESSAGE_INVALID;
	default:
		return MESSAGE_INVALID;
	}
}

#endif
