/* SPDX-License-Identifier: MIT */
/*
 * The relay wire format, defined once (docs/protocol.md, "Relay protocol").
 *
 * After an HTTP Upgrade to "meshrelay" both sides exchange frames:
 * type[1] || length[4, big-endian] || payload[length]. The server opens with
 * ServerKey (magic, its Curve25519 key, a fresh challenge); the client
 * answers with ClientInfo, which carries its node key and a crypto_box from
 * the node's private key to the server key over challenge || JSON: opening
 * it proves the client holds the node key, and the challenge makes a
 * recorded ClientInfo useless on any other connection. The server answers
 * with a sealed ServerInfo; then packets flow by destination key.
 *
 * Everything here is pure: builders write into caller buffers, parsers take
 * (buf, len) and never read past len. Only the sealing helpers use
 * randomness (a fresh nonce) and cJSON.
 */
#ifndef MESH_RELAY_RELAY_PROTO_H
#define MESH_RELAY_RELAY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum relay_frame_type {
	RELAY_FRAME_SERVER_KEY = 0x01,	/* server -> client, first frame */
	RELAY_FRAME_CLIENT_INFO = 0x02, /* client -> server, second frame */
	RELAY_FRAME_SERVER_INFO = 0x03, /* server -> client, third frame */
	RELAY_FRAME_SEND_PACKET = 0x04, /* client -> server */
	RELAY_FRAME_RECV_PACKET = 0x05, /* server -> client */
	RELAY_FRAME_KEEP_ALIVE = 0x06,	/* either way */
	RELAY_FRAME_PEER_GONE = 0x07,	/* server -> client */
	RELAY_FRAME_PING = 0x08,	/* either way; answered with Pong */
	RELAY_FRAME_PONG = 0x09,	/* either way */
	RELAY_FRAME_HEALTH = 0x0a,	/* server -> client */
	RELAY_FRAME_RESTARTING = 0x0b,	/* server -> client */
	RELAY_FRAME_MAX_KNOWN = RELAY_FRAME_RESTARTING,
};

enum relay_peer_gone_reason {
	RELAY_PEER_GONE_DISCONNECTED = 0x00, /* it was here and left */
	RELAY_PEER_GONE_NOT_HERE = 0x01,     /* you sent to a key this server does not know */
};

enum relay_lengths {
	RELAY_PROTOCOL_VERSION = 1,
	RELAY_KEY_LEN = 32,
	RELAY_MAGIC_LEN = 8,
	RELAY_CHALLENGE_LEN = 32,
	RELAY_NONCE_LEN = 24,	/* crypto_box_NONCEBYTES */
	RELAY_BOX_MAC_LEN = 16, /* crypto_box_MACBYTES */
	RELAY_FRAME_HEADER_LEN = 5,
	/* The largest payload of any frame once the handshake is done. */
	RELAY_MAX_FRAME_LEN = 64 * 1024,
	RELAY_MAX_PACKET_LEN = RELAY_MAX_FRAME_LEN - RELAY_KEY_LEN,
	/* The JSON inside ClientInfo and ServerInfo. */
	RELAY_MAX_INFO_JSON = 4096,
	RELAY_MAX_HEALTH_LEN = 1024,
	RELAY_PING_LEN = 8,
};

/* ServerKey: magic || server public key || challenge (|| bytes a newer server adds). */
enum relay_server_key_layout {
	SERVER_KEY_OFF_MAGIC = 0,
	SERVER_KEY_OFF_KEY = 8,
	SERVER_KEY_OFF_CHALLENGE = 40,
	RELAY_SERVER_KEY_LEN = 72,
	/* A client refuses a longer one before the handshake. */
	RELAY_SERVER_KEY_MAX = 1024,
};

/* ClientInfo: node public key || nonce || box(challenge || JSON). */
enum relay_client_info_layout {
	CLIENT_INFO_OFF_KEY = 0,
	CLIENT_INFO_OFF_NONCE = 32,
	CLIENT_INFO_OFF_BOX = 56,
	RELAY_CLIENT_INFO_MIN = CLIENT_INFO_OFF_BOX + RELAY_BOX_MAC_LEN + RELAY_CHALLENGE_LEN,
	RELAY_CLIENT_INFO_MAX = RELAY_CLIENT_INFO_MIN + RELAY_MAX_INFO_JSON,
};

/* ServerInfo: nonce || box(JSON). */
enum relay_server_info_layout {
	SERVER_INFO_OFF_NONCE = 0,
	SERVER_INFO_OFF_BOX = 24,
	RELAY_SERVER_INFO_MIN = SERVER_INFO_OFF_BOX + RELAY_BOX_MAC_LEN,
	RELAY_SERVER_INFO_MAX = RELAY_SERVER_INFO_MIN + RELAY_MAX_INFO_JSON,
};

/* SendPacket / RecvPacket: peer key || data (0..RELAY_MAX_PACKET_LEN bytes). */
enum relay_packet_layout {
	PACKET_OFF_KEY = 0,
	PACKET_OFF_DATA = 32,
};

/* PeerGone: key || reason (|| bytes a newer server adds). */
enum relay_peer_gone_layout {
	PEER_GONE_OFF_KEY = 0,
	PEER_GONE_OFF_REASON = 32,
	RELAY_PEER_GONE_LEN = 33,
};

/* Restarting: reconnect_in_ms[4 BE] || try_for_ms[4 BE] (|| newer bytes). */
enum relay_restarting_layout {
	RESTARTING_OFF_RECONNECT_IN = 0,
	RESTARTING_OFF_TRY_FOR = 4,
	RELAY_RESTARTING_LEN = 8,
};

/* Buffer sizes for whole frames (header included). */
enum relay_frame_sizes {
	RELAY_SERVER_KEY_FRAME_LEN = RELAY_FRAME_HEADER_LEN + RELAY_SERVER_KEY_LEN,
	RELAY_CLIENT_INFO_FRAME_MAX = RELAY_FRAME_HEADER_LEN + RELAY_CLIENT_INFO_MAX,
	RELAY_SERVER_INFO_FRAME_MAX = RELAY_FRAME_HEADER_LEN + RELAY_SERVER_INFO_MAX,
	RELAY_PEER_GONE_FRAME_LEN = RELAY_FRAME_HEADER_LEN + RELAY_PEER_GONE_LEN,
	RELAY_PING_FRAME_LEN = RELAY_FRAME_HEADER_LEN + RELAY_PING_LEN,
	RELAY_RESTARTING_FRAME_LEN = RELAY_FRAME_HEADER_LEN + RELAY_RESTARTING_LEN,
	RELAY_MAX_FRAME_TOTAL = RELAY_FRAME_HEADER_LEN + RELAY_MAX_FRAME_LEN,
};

_Static_assert(RELAY_SERVER_KEY_LEN == RELAY_MAGIC_LEN + 2 * RELAY_KEY_LEN, "ServerKey layout");
_Static_assert(SERVER_KEY_OFF_CHALLENGE + RELAY_CHALLENGE_LEN == RELAY_SERVER_KEY_LEN,
	       "ServerKey layout");
_Static_assert(CLIENT_INFO_OFF_BOX == RELAY_KEY_LEN + RELAY_NONCE_LEN, "ClientInfo layout");
_Static_assert((int)SERVER_INFO_OFF_BOX == (int)RELAY_NONCE_LEN, "ServerInfo layout");
_Static_assert((int)PACKET_OFF_DATA == (int)RELAY_KEY_LEN, "packet layout");
_Static_assert(RELAY_PEER_GONE_LEN == RELAY_KEY_LEN + 1, "PeerGone layout");
_Static_assert((int)RELAY_CLIENT_INFO_MAX < (int)RELAY_MAX_FRAME_LEN,
	       "handshake frames are frames");
_Static_assert(RELAY_MAX_PACKET_LEN + RELAY_KEY_LEN == RELAY_MAX_FRAME_LEN, "packet limit");

/* The 8 bytes that open ServerKey: "MSHRELAY". */
extern const uint8_t relay_magic[RELAY_MAGIC_LEN];

/** Parsed frame header. */
struct relay_frame_header {
	uint8_t type;
	uint32_t len; /* payload bytes that follow the header */
};

/** What ClientInfo says once opened. */
struct relay_client_info {
	uint8_t key[RELAY_KEY_LEN]; /* the node public key it proved */
	int version;
	bool can_ack_pings; /* the client answers Ping with Pong */
};

/** What ServerInfo says once opened (zero: the server did not say). */
struct relay_server_info {
	int version;
	uint32_t keepalive_ms; /* the server sends KeepAlive about this often */
	uint32_t queue_depth;  /* packets it holds for a slow client before dropping */
	uint32_t max_packet;   /* largest SendPacket data it accepts */
};

/** A SendPacket or RecvPacket payload: the peer key and the opaque data. */
struct relay_packet {
	const uint8_t *key;
	const uint8_t *data; /* points into the parsed buffer */
	size_t len;
};

/** Write a frame header for @type with @payload_len bytes following into @buf (5 bytes). */
void relay_put_header(uint8_t *buf, uint8_t type, uint32_t payload_len);

/**
 * Read a frame header from @buf/@len. Returns 0, or -EAGAIN when fewer than
 * RELAY_FRAME_HEADER_LEN bytes are there.
 */
int relay_parse_header(const uint8_t *buf, size_t len, struct relay_frame_header *out);

/**
 * Build the ServerKey frame announcing @server_pub and @challenge into @buf
 * (RELAY_SERVER_KEY_FRAME_LEN bytes). Returns the frame length.
 */
size_t relay_build_server_key(uint8_t *buf, const uint8_t server_pub[RELAY_KEY_LEN],
			      const uint8_t challenge[RELAY_CHALLENGE_LEN]);

/**
 * Parse a ServerKey payload: the magic must match; the key and challenge
 * are copied out; bytes past them are ignored. Returns 0 or -EBADMSG.
 */
int relay_parse_server_key(const uint8_t *p, size_t len, uint8_t server_pub[RELAY_KEY_LEN],
			   uint8_t challenge[RELAY_CHALLENGE_LEN]);

/**
 * Build a SendPacket or RecvPacket frame (@type) for @key and @len bytes of
 * @data into @buf of @cap bytes. Returns the frame length, or 0 if @len
 * exceeds RELAY_MAX_PACKET_LEN or @cap is too small.
 */
size_t relay_build_packet(uint8_t *buf, size_t cap, uint8_t type, const uint8_t key[RELAY_KEY_LEN],
			  const void *data, size_t len);

/** Parse a SendPacket/RecvPacket payload. Returns 0 or -EBADMSG (shorter than a key, too long). */
int relay_parse_packet(const uint8_t *p, size_t len, struct relay_packet *out);

/** Build PeerGone for @key with @reason into @buf (RELAY_PEER_GONE_FRAME_LEN bytes). */
size_t relay_build_peer_gone(uint8_t *buf, const uint8_t key[RELAY_KEY_LEN], uint8_t reason);

/** Parse a PeerGone payload (bytes past the reason are ignored). Returns 0 or -EBADMSG. */
int relay_parse_peer_gone(const uint8_t *p, size_t len, uint8_t key[RELAY_KEY_LEN],
			  uint8_t *reason);

/** Build a Ping or Pong (@type) carrying @data into @buf (RELAY_PING_FRAME_LEN bytes). */
size_t relay_build_ping(uint8_t *buf, uint8_t type, const uint8_t data[RELAY_PING_LEN]);

/** Parse a Ping or Pong payload: exactly RELAY_PING_LEN bytes. Returns 0 or -EBADMSG. */
int relay_parse_ping(const uint8_t *p, size_t len, uint8_t data[RELAY_PING_LEN]);

/** Build a KeepAlive frame into @buf (RELAY_FRAME_HEADER_LEN bytes). */
size_t relay_build_keep_alive(uint8_t *buf);

/**
 * Build a Health frame with the NUL-terminated @text (truncated to
 * RELAY_MAX_HEALTH_LEN bytes; "" clears the problem) into @buf of @cap bytes.
 * Returns the frame length or 0 if @cap is too small.
 */
size_t relay_build_health(uint8_t *buf, size_t cap, const char *text);

/**
 * Copy a Health payload into @text (@cap bytes, NUL-terminated) with every
 * byte outside printable ASCII replaced by '?', so it can be logged as is.
 * Returns 0 or -EBADMSG when longer than RELAY_MAX_HEALTH_LEN.
 */
int relay_parse_health(const uint8_t *p, size_t len, char *text, size_t cap);

/** Build Restarting into @buf (RELAY_RESTARTING_FRAME_LEN bytes). */
size_t relay_build_restarting(uint8_t *buf, uint32_t reconnect_in_ms, uint32_t try_for_ms);

/** Parse a Restarting payload (bytes past the two fields ignored). Returns 0 or -EBADMSG. */
int relay_parse_restarting(const uint8_t *p, size_t len, uint32_t *reconnect_in_ms,
			   uint32_t *try_for_ms);

/**
 * Build the ClientInfo frame into @buf (RELAY_CLIENT_INFO_FRAME_MAX bytes):
 * the public key of @client_priv and a crypto_box, under a fresh random
 * nonce, from @client_priv to @server_pub over @challenge || JSON of @info
 * (its key field is ignored). Returns the frame length, or 0 when sealing
 * fails (a low-order server key).
 */
size_t relay_seal_client_info(uint8_t *buf, const uint8_t client_priv[RELAY_KEY_LEN],
			      const uint8_t server_pub[RELAY_KEY_LEN],
			      const uint8_t challenge[RELAY_CHALLENGE_LEN],
			      const struct relay_client_info *info);

/**
 * Open a ClientInfo payload with @server_priv and check that it echoes
 * @challenge. Returns 0 with @out filled, -EBADMSG (malformed, bad JSON),
 * -EKEYREJECTED (the box does not open: the sender does not hold the key it
 * claims, or the challenge is not this connection's; or the key is not in
 * the canonical form X25519 produces) or -EPROTONOSUPPORT
 * (a version this code does not speak).
 */
int relay_open_client_info(const uint8_t *p, size_t len, const uint8_t server_priv[RELAY_KEY_LEN],
			   const uint8_t challenge[RELAY_CHALLENGE_LEN],
			   struct relay_client_info *out);

/**
 * Build the ServerInfo frame into @buf (RELAY_SERVER_INFO_FRAME_MAX bytes):
 * a crypto_box from @server_priv to @client_pub over the JSON of @info.
 * Returns the frame length or 0 when sealing fails.
 */
size_t relay_seal_server_info(uint8_t *buf, const uint8_t server_priv[RELAY_KEY_LEN],
			      const uint8_t client_pub[RELAY_KEY_LEN],
			      const struct relay_server_info *info);

/**
 * Open a ServerInfo payload with @client_priv from @server_pub. Returns 0,
 * -EBADMSG, -EKEYREJECTED or -EPROTONOSUPPORT as relay_open_client_info().
 */
int relay_open_server_info(const uint8_t *p, size_t len, const uint8_t client_priv[RELAY_KEY_LEN],
			   const uint8_t server_pub[RELAY_KEY_LEN], struct relay_server_info *out);

/**
 * Called by relay_reader_feed() for each complete frame. A non-zero return
 * stops feeding and is returned by relay_reader_feed() (the callback closed
 * the connection, or the frame was a protocol violation). @payload is only
 * valid during the call; the callback must not free the reader.
 */
typedef int relay_frame_cb(void *arg, uint8_t type, const uint8_t *payload, size_t len);

/*
 * Reassembles frames from a byte stream. Whole frames are handed over from
 * the caller's buffer without copying; only a frame split across reads is
 * collected in buf. max_len may be changed at any time (the handshake allows
 * less than the data phase); a header announcing more fails the stream.
 */
struct relay_reader {
	uint8_t *buf; /* a partial frame, header included */
	size_t len, cap;
	uint32_t max_len;
};

/** Prepare @r to accept frames with at most @max_len payload bytes. */
void relay_reader_init(struct relay_reader *r, uint32_t max_len);

/**
 * Feed @len bytes of stream to @r, calling @cb for every completed frame.
 * Returns 0, -EMSGSIZE for a frame longer than the limit, -ENOMEM, or what
 * @cb returned to stop.
 */
int relay_reader_feed(struct relay_reader *r, const uint8_t *data, size_t len, relay_frame_cb *cb,
		      void *arg);

/** Bytes of a partial frame held in @r. */
size_t relay_reader_pending(const struct relay_reader *r);

/** Free the memory of @r. */
void relay_reader_free(struct relay_reader *r);

/** The name of frame @type ("SendPacket"), or "unknown". */
const char *relay_frame_name(uint8_t type);

#endif
