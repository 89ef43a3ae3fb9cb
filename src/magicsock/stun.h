/* SPDX-License-Identifier: MIT */
/*
 * STUN (RFC 8489, compatible with RFC 5389) as magicsock and the relay's
 * STUN server need it: Binding requests and success responses, the
 * XOR-MAPPED-ADDRESS (and legacy MAPPED-ADDRESS) attribute, SOFTWARE and
 * FINGERPRINT. Pure functions over (buf, len): no I/O, no allocation.
 *
 * A STUN message starts with two zero bits and carries the magic cookie
 * 0x2112A442 at offset 4; that is how magicsock tells STUN from WireGuard
 * (first byte 1..4) and disco (its own magic) on one UDP socket.
 */
#ifndef MESH_MAGICSOCK_STUN_H
#define MESH_MAGICSOCK_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

enum stun_constants {
	STUN_HEADER_LEN = 20,
	STUN_TXID_LEN = 12,
	STUN_MAGIC_COOKIE = 0x2112A442,
	STUN_BINDING_REQUEST = 0x0001,
	STUN_BINDING_SUCCESS = 0x0101,
	STUN_BINDING_ERROR = 0x0111,
	STUN_ATTR_MAPPED_ADDRESS = 0x0001,
	STUN_ATTR_USERNAME = 0x0006,
	STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,
	STUN_ATTR_ERROR_CODE = 0x0009,
	STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_ATTR_SOFTWARE = 0x8022,
	STUN_ATTR_FINGERPRINT = 0x8028,
	STUN_FINGERPRINT_XOR = 0x5354554e,
	/* Our requests and responses never exceed this. */
	STUN_MAX_MESSAGE = 548,
};

/** What stun_parse() found in a message. */
struct stun_message {
	uint16_t type;
	uint8_t txid[STUN_TXID_LEN];
	bool has_xor_mapped; /* XOR-MAPPED-ADDRESS, decoded */
	struct ip_endpoint xor_mapped;
	bool has_mapped; /* legacy MAPPED-ADDRESS */
	struct ip_endpoint mapped;
	bool has_fingerprint;	 /* present and checked: a wrong one fails the parse */
	bool has_integrity;	 /* MESSAGE-INTEGRITY present (not verified here) */
	size_t integrity_offset; /* its attribute header's offset, for stun_check_integrity() */
	const uint8_t *software; /* points into the buffer; not NUL-terminated */
	size_t software_len;
};

/**
 * True if @buf/@len looks like a STUN message: long enough, top two bits
 * zero, the magic cookie, a length that is a multiple of 4 and matches.
 * Cheap: for demultiplexing.
 */
bool stun_is_message(const uint8_t *buf, size_t len);

/**
 * Parse and validate a STUN message: header, every attribute's bounds and
 * padding, address families and lengths, the FINGERPRINT's CRC if present
 * (it must be last). Unknown comprehension-optional attributes are skipped.
 * Returns 0 or -EBADMSG.
 */
int stun_parse(const uint8_t *buf, size_t len, struct stun_message *out);

/**
 * Build a Binding request with transaction id @txid into @buf (at least
 * STUN_HEADER_LEN + 8 bytes), with a FINGERPRINT if @fingerprint. Returns
 * its length, or 0 if @cap is too small.
 */
size_t stun_build_binding_request(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
				  bool fingerprint);

/**
 * Build the Binding success response to transaction @txid telling the
 * client its reflexive address @mapped (XOR-MAPPED-ADDRESS), with SOFTWARE
 * @software (may be NULL) and a FINGERPRINT. Returns its length or 0.
 */
size_t stun_build_binding_response(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
				   const struct ip_endpoint *mapped, const char *software);

/**
 * Verify the MESSAGE-INTEGRITY of a parsed message (HMAC-SHA1 keyed with
 * @key: the password for short-term credentials). Returns 0, -ENOENT
 * without the attribute, or -EBADMSG on mismatch. For RFC 5769 vectors and
 * future authenticated uses; magicsock's own STUN is unauthenticated.
 */
int stun_check_integrity(const uint8_t *buf, size_t len, const struct stun_message *msg,
			 const uint8_t *key, size_t keylen);

/** CRC-32 (ISO-HDLC, as FINGERPRINT uses) of @buf/@len. */
uint32_t stun_crc32(const uint8_t *buf, size_t len);

#endif
