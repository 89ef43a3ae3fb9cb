// SPDX-License-Identifier: MIT
/*
 * STUN codec. Every read is bounds-checked against the message length from
 * the header, which is itself checked against the buffer; attribute values
 * are padded to 4 bytes and the padding is skipped, not trusted.
 */
#include "magicsock/stun.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/md.h>
#include <sodium.h>

enum {
	ATTR_HEADER_LEN = 4,
	FINGERPRINT_ATTR_LEN = 8,
	INTEGRITY_LEN = 20,
	FAMILY_V4 = 0x01,
	FAMILY_V6 = 0x02,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t stun_crc32(const uint8_t *buf, size_t len)
{
	static uint32_t table[256];
	static bool ready;
	uint32_t crc = 0xffffffffu;

	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = true;
	}
	for (size_t i = 0; i < len; i++)
		crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

bool stun_is_message(const uint8_t *buf, size_t len)
{
	size_t body;

	if (len < STUN_HEADER_LEN || (buf[0] & 0xc0) || get32(buf + 4) != STUN_MAGIC_COOKIE)
		return false;
	body = get16(buf + 2);
	return body % 4 == 0 && STUN_HEADER_LEN + body == len;
}

/* Decode a (XOR-)MAPPED-ADDRESS value. */
static int parse_address(const uint8_t *v, size_t vlen, const uint8_t *header, bool xored,
			 struct ip_endpoint *out)
{
	uint8_t addr[16];
	uint16_t port;

	if (vlen < 4)
		return -EBADMSG;
	port = get16(v + 2);
	if (xored)
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	if (v[1] == FAMILY_V4 && vlen == 8) {
		memcpy(addr, v + 4, 4);
		if (xored)
			for (int i = 0; i < 4; i++)
				addr[i] ^= header[4 + i]; /* the magic cookie */
		ip_addr_set_v4(&out->addr, addr);
	} else if (v[1] == FAMILY_V6 && vlen == 20) {
		memcpy(addr, v + 4, 16);
		if (xored)
			for (int i = 0; i < 16; i++)
				addr[i] ^= header[4 + i]; /* cookie || transaction id */
		ip_addr_set_v6(&out->addr, addr);
	} else {
		return -EBADMSG;
	}
	out->port = port;
	return 0;
}

int stun_parse(const uint8_t *buf, size_t len, struct stun_message *out)
{
	size_t off = STUN_HEADER_LEN;

	memset(out, 0, sizeof(*out));
	if (!stun_is_message(buf, len))
		return -EBADMSG;
	out->type = get16(buf);
	memcpy(out->txid, buf + 8, STUN_TXID_LEN);
	while (off < len) {
		uint16_t type, vlen;
		const uint8_t *v;
		size_t padded;

		if (len - off < ATTR_HEADER_LEN)
			return -EBADMSG;
		if (out->has_fingerprint)
			return -EBADMSG; /* FINGERPRINT must be the last attribute */
		type = get16(buf + off);
		vlen = get16(buf + off + 2);
		padded = ((size_t)vlen + 3) & ~(size_t)3;
		if (len - off - ATTR_HEADER_LEN < padded)
			return -EBADMSG;
		v = buf + off + ATTR_HEADER_LEN;
		switch (type) {
		case STUN_ATTR_XOR_MAPPED_ADDRESS:
			if (parse_address(v, vlen, buf, true, &out->xor_mapped))
				return -EBADMSG;
			out->has_xor_mapped = true;
			break;
		case STUN_ATTR_MAPPED_ADDRESS:
			if (parse_address(v, vlen, buf, false, &out->mapped))
				return -EBADMSG;
			out->has_mapped = true;
			break;
		case STUN_ATTR_SOFTWARE:
			out->software = v;
			out->software_len = vlen;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY:
			if (vlen != INTEGRITY_LEN)
				return -EBADMSG;
			out->has_integrity = true;
			out->integrity_offset = off;
			break;
		case STUN_ATTR_FINGERPRINT: {
			/* CRC over the message up to here, with the length as sent. */
			uint32_t crc;

			if (vlen != 4)
				return -EBADMSG;
			crc = stun_crc32(buf, off) ^ STUN_FINGERPRINT_XOR;
			if (crc != get32(v))
				return -EBADMSG;
			out->has_fingerprint = true;
			break;
		}
		default:
			/* 0x0000-0x7FFF are comprehension-required: a request with
			 * one we do not know gets no answer from us; a response's
			 * we skip (we only read what we asked for). */
			break;
		}
		off += ATTR_HEADER_LEN + padded;
	}
	return 0;
}

static size_t put_header(uint8_t *buf, uint16_t type, const uint8_t txid[STUN_TXID_LEN])
{
	put16(buf, type);
	put16(buf + 2, 0);
	put32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid, STUN_TXID_LEN);
	return STUN_HEADER_LEN;
}

/* Append FINGERPRINT (the header's length must count it first). */
static size_t put_fingerprint(uint8_t *buf, size_t off)
{
	put16(buf + 2, (uint16_t)(off + FINGERPRINT_ATTR_LEN - STUN_HEADER_LEN));
	put16(buf + off, STUN_ATTR_FINGERPRINT);
	put16(buf + off + 2, 4);
	put32(buf + off + 4, stun_crc32(buf, off) ^ STUN_FINGERPRINT_XOR);
	return off + FINGERPRINT_ATTR_LEN;
}

size_t stun_build_binding_request(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
				  bool fingerprint)
{
	size_t off;

	if (cap < STUN_HEADER_LEN + (fingerprint ? FINGERPRINT_ATTR_LEN : 0))
		return 0;
	off = put_header(buf, STUN_BINDING_REQUEST, txid);
	return fingerprint ? put_fingerprint(buf, off) : off;
}

size_t stun_build_binding_response(uint8_t *buf, size_t cap, const uint8_t txid[STUN_TXID_LEN],
				   const struct ip_endpoint *mapped, const char *software)
{
	size_t slen = software ? strlen(software) : 0, spad = (slen + 3) & ~(size_t)3;
	size_t alen = mapped->addr.family == IP_FAMILY_V4 ? 4 : 16;
	size_t need = STUN_HEADER_LEN + ATTR_HEADER_LEN + 4 + alen +
		      (slen ? ATTR_HEADER_LEN + spad : 0) + FINGERPRINT_ATTR_LEN;
	size_t off;
	uint8_t *v;

	if (cap < need || slen > 763 || !mapped->addr.family)
		return 0;
	off = put_header(buf, STUN_BINDING_SUCCESS, txid);
	put16(buf + off, STUN_ATTR_XOR_MAPPED_ADDRESS);
	put16(buf + off + 2, (uint16_t)(4 + alen));
	v = buf + off + ATTR_HEADER_LEN;
	v[0] = 0;
	v[1] = alen == 4 ? FAMILY_V4 : FAMILY_V6;
	put16(v + 2, mapped->port ^ (uint16_t)(STUN_MAGIC_COOKIE >> 16));
	for (size_t i = 0; i < alen; i++)
		v[4 + i] = mapped->addr.bytes[i] ^ buf[4 + i];
	off += ATTR_HEADER_LEN + 4 + alen;
	if (slen) {
		put16(buf + off, STUN_ATTR_SOFTWARE);
		put16(buf + off + 2, (uint16_t)slen);
		memcpy(buf + off + ATTR_HEADER_LEN, software, slen);
		memset(buf + off + ATTR_HEADER_LEN + slen, 0, spad - slen);
		off += ATTR_HEADER_LEN + spad;
	}
	return put_fingerprint(buf, off);
}

int stun_check_integrity(const uint8_t *buf, size_t len, const struct stun_message *msg,
			 const uint8_t *key, size_t keylen)
{
	const mbedtls_md_info_t *sha1 = mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	uint8_t copy[STUN_MAX_MESSAGE * 4], mac[INTEGRITY_LEN];
	size_t off = msg->integrity_offset;
	int ret = -EBADMSG;

	if (!msg->has_integrity)
		return -ENOENT;
	if (off + ATTR_HEADER_LEN + INTEGRITY_LEN > len || off > sizeof(copy) || !sha1)
		return -EBADMSG;
	/* The MAC covers the message up to the attribute, with the header's
	 * length set as if MESSAGE-INTEGRITY were the last attribute. */
	memcpy(copy, buf, off);
	put16(copy + 2, (uint16_t)(off + ATTR_HEADER_LEN + INTEGRITY_LEN - STUN_HEADER_LEN));
	if (mbedtls_md_hmac(sha1, key, keylen, copy, off, mac))
		goto out;
	if (!sodium_memcmp(mac, buf + off + ATTR_HEADER_LEN, INTEGRITY_LEN))
		ret = 0;
out:
	sodium_memzero(mac, sizeof(mac));
	return ret;
}
