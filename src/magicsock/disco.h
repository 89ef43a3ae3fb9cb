/* SPDX-License-Identifier: MIT */
/*
 * Disco: the small sealed messages peers exchange to find a direct path
 * (ping, pong, call-me-maybe). A message travels as a UDP datagram on
 * magicsock's socket, or inside a relay packet, and is sealed with NaCl
 * crypto_box between the two nodes' disco keys, so the relay and the
 * network can read nothing but the sender's disco public key.
 *
 * Wire format (all integers big-endian):
 *
 *   magic[6] = 'M' 'D' f0 9f 94 97    never a WireGuard (type 1-4) or STUN
 *                                     (top two bits zero) first byte
 *   sender disco public key[32]
 *   nonce[24]                         random per message
 *   crypto_box(type[1] || version[1] = 0 || payload) with a 16-byte tag
 *
 *   ping          txid[12] || sender node key[32] || optional zero padding
 *   pong          txid[12] || the pinger's source as seen: ip[16] (IPv4
 *                 as v4-mapped) || port[2]
 *   call-me-maybe n * (ip[16] || port[2]), the sender's endpoints, n <= 32
 *
 * Receivers ignore trailing payload bytes (room for later fields).
 */
#ifndef MESH_MAGICSOCK_DISCO_H
#define MESH_MAGICSOCK_DISCO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

enum disco_constants {
	DISCO_MAGIC_LEN = 6,
	DISCO_KEY_LEN = 32,
	DISCO_NONCE_LEN = 24,
	DISCO_TAG_LEN = 16,
	DISCO_HEADER_LEN = DISCO_MAGIC_LEN + DISCO_KEY_LEN + DISCO_NONCE_LEN,
	DISCO_TXID_LEN = 12,
	DISCO_ENDPOINT_LEN = 18,
	DISCO_MAX_ENDPOINTS = 32,
	DISCO_MAX_PADDING = 9000,
	DISCO_VERSION = 0,
};

enum disco_type {
	DISCO_PING = 0x01,
	DISCO_PONG = 0x02,
	DISCO_CALL_ME_MAYBE = 0x03,
};

struct disco_msg {
	uint8_t type;			 /* enum disco_type */
	uint8_t txid[DISCO_TXID_LEN];	 /* ping, pong */
	uint8_t node_key[DISCO_KEY_LEN]; /* ping: the sender's WireGuard key */
	uint16_t padding;		 /* ping: zero bytes appended when sealing */
	struct ip_endpoint src;		 /* pong */
	struct ip_endpoint endpoints[DISCO_MAX_ENDPOINTS]; /* call-me-maybe */
	unsigned n_endpoints;
};

/** True if @buf/@len starts with the disco magic and can hold a sealed message. */
bool disco_is_message(const uint8_t *buf, size_t len);

/** The sender's disco public key inside a message that passed disco_is_message(). */
const uint8_t *disco_sender_key(const uint8_t *buf);

/** The crypto_box shared key for our disco private key and a peer's public key. -EINVAL on a bad key. */
int disco_shared_key(uint8_t shared[32], const uint8_t our_private[DISCO_KEY_LEN],
		     const uint8_t their_public[DISCO_KEY_LEN]);

/**
 * Seal @msg from @our_public with @shared into @out. Returns the message
 * length, or 0 if @cap is too small or @msg is invalid (unknown type, too
 * many endpoints, an unset address).
 */
size_t disco_seal(uint8_t *out, size_t cap, const uint8_t our_public[DISCO_KEY_LEN],
		  const uint8_t shared[32], const struct disco_msg *msg);

/**
 * Open the message @buf/@len with @shared (for the sender named in it) and
 * decode it into @out. Returns 0, or -EBADMSG (malformed, failed
 * authentication, unknown type or version).
 */
int disco_open(const uint8_t *buf, size_t len, const uint8_t shared[32], struct disco_msg *out);

#endif
