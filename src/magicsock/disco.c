// SPDX-License-Identifier: MIT
/*
 * Disco codec. Opening authenticates before decoding anything; decoding
 * checks every length against what the box held. Plaintext lives on the
 * stack (bounded by the largest ping we pad), never on the heap.
 */
#include "magicsock/disco.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

static const uint8_t magic[DISCO_MAGIC_LEN] = {'M', 'D', 0xf0, 0x9f, 0x94, 0x97};

enum {
	INNER_HEADER = 2, /* type, version */
	PING_LEN = DISCO_TXID_LEN + DISCO_KEY_LEN,
	PONG_LEN = DISCO_TXID_LEN + DISCO_ENDPOINT_LEN,
	PLAIN_MAX = INNER_HEADER + PING_LEN + DISCO_MAX_PADDING,
};

_Static_assert(DISCO_NONCE_LEN == crypto_box_NONCEBYTES, "nonce");
_Static_assert(DISCO_TAG_LEN == crypto_box_MACBYTES, "tag");
_Static_assert(DISCO_KEY_LEN == crypto_box_PUBLICKEYBYTES, "key");
_Static_assert(INNER_HEADER + DISCO_MAX_ENDPOINTS * DISCO_ENDPOINT_LEN <= PLAIN_MAX, "cmm fits");

bool disco_is_message(const uint8_t *buf, size_t len)
{
	return len >= DISCO_HEADER_LEN + DISCO_TAG_LEN + INNER_HEADER &&
	       !memcmp(buf, magic, DISCO_MAGIC_LEN);
}

const uint8_t *disco_sender_key(const uint8_t *buf)
{
	return buf + DISCO_MAGIC_LEN;
}

int disco_shared_key(uint8_t shared[32], const uint8_t our_private[DISCO_KEY_LEN],
		     const uint8_t their_public[DISCO_KEY_LEN])
{
	return crypto_box_beforenm(shared, their_public, our_private) ? -EINVAL : 0;
}

static void put_endpoint(uint8_t *p, const struct ip_endpoint *ep)
{
	if (ep->addr.family == IP_FAMILY_V4) {
		memset(p, 0, 10);
		p[10] = p[11] = 0xff;
		memcpy(p + 12, ep->addr.bytes, 4);
	} else {
		memcpy(p, ep->addr.bytes, 16);
	}
	p[16] = (uint8_t)(ep->port >> 8);
	p[17] = (uint8_t)ep->port;
}

static void get_endpoint(const uint8_t *p, struct ip_endpoint *ep)
{
	ip_addr_set_v6(&ep->addr, p);
	ip_addr_unmap(&ep->addr);
	ep->port = (uint16_t)(p[16] << 8 | p[17]);
}

/* Encode the inner plaintext; returns its length or 0. */
static size_t encode(uint8_t *p, const struct disco_msg *m)
{
	size_t n = INNER_HEADER;

	p[0] = m->type;
	p[1] = DISCO_VERSION;
	switch (m->type) {
	case DISCO_PING:
		if (m->padding > DISCO_MAX_PADDING)
			return 0;
		memcpy(p + n, m->txid, DISCO_TXID_LEN);
		memcpy(p + n + DISCO_TXID_LEN, m->node_key, DISCO_KEY_LEN);
		n += PING_LEN;
		memset(p + n, 0, m->padding);
		return n + m->padding;
	case DISCO_PONG:
		if (!m->src.addr.family)
			return 0;
		memcpy(p + n, m->txid, DISCO_TXID_LEN);
		put_endpoint(p + n + DISCO_TXID_LEN, &m->src);
		return n + PONG_LEN;
	case DISCO_CALL_ME_MAYBE:
		if (m->n_endpoints > DISCO_MAX_ENDPOINTS)
			return 0;
		for (unsigned i = 0; i < m->n_endpoints; i++) {
			if (!m->endpoints[i].addr.family)
				return 0;
			put_endpoint(p + n, &m->endpoints[i]);
			n += DISCO_ENDPOINT_LEN;
		}
		return n;
	default:
		return 0;
	}
}

size_t disco_seal(uint8_t *out, size_t cap, const uint8_t our_public[DISCO_KEY_LEN],
		  const uint8_t shared[32], const struct disco_msg *msg)
{
	uint8_t plain[PLAIN_MAX];
	size_t n = encode(plain, msg), total;
	uint8_t *nonce = out + DISCO_MAGIC_LEN + DISCO_KEY_LEN;

	if (!n)
		return 0;
	total = DISCO_HEADER_LEN + DISCO_TAG_LEN + n;
	if (cap < total)
		goto out;
	memcpy(out, magic, DISCO_MAGIC_LEN);
	memcpy(out + DISCO_MAGIC_LEN, our_public, DISCO_KEY_LEN);
	randombytes_buf(nonce, DISCO_NONCE_LEN);
	crypto_box_easy_afternm(out + DISCO_HEADER_LEN, plain, n, nonce, shared);
	sodium_memzero(plain, n);
	return total;
out:
	sodium_memzero(plain, n);
	return 0;
}

int disco_open(const uint8_t *buf, size_t len, const uint8_t shared[32], struct disco_msg *out)
{
	uint8_t plain[PLAIN_MAX];
	size_t n, body;
	int ret = -EBADMSG;

	memset(out, 0, sizeof(*out));
	if (!disco_is_message(buf, len) || len - DISCO_HEADER_LEN - DISCO_TAG_LEN > PLAIN_MAX)
		return -EBADMSG;
	n = len - DISCO_HEADER_LEN - DISCO_TAG_LEN;
	if (crypto_box_open_easy_afternm(plain, buf + DISCO_HEADER_LEN, len - DISCO_HEADER_LEN,
					 buf + DISCO_MAGIC_LEN + DISCO_KEY_LEN, shared))
		goto out;
	if (plain[1] != DISCO_VERSION)
		goto out;
	out->type = plain[0];
	body = n - INNER_HEADER;
	switch (out->type) {
	case DISCO_PING:
		if (body < PING_LEN)
			goto out;
		memcpy(out->txid, plain + INNER_HEADER, DISCO_TXID_LEN);
		memcpy(out->node_key, plain + INNER_HEADER + DISCO_TXID_LEN, DISCO_KEY_LEN);
		out->padding = (uint16_t)(body - PING_LEN);
		break;
	case DISCO_PONG:
		if (body < PONG_LEN)
			goto out;
		memcpy(out->txid, plain + INNER_HEADER, DISCO_TXID_LEN);
		get_endpoint(plain + INNER_HEADER + DISCO_TXID_LEN, &out->src);
		break;
	case DISCO_CALL_ME_MAYBE:
		/* Trailing bytes that do not make a whole endpoint are ignored. */
		out->n_endpoints = (unsigned)(body / DISCO_ENDPOINT_LEN);
		if (out->n_endpoints > DISCO_MAX_ENDPOINTS)
			out->n_endpoints = DISCO_MAX_ENDPOINTS;
		for (unsigned i = 0; i < out->n_endpoints; i++)
			get_endpoint(plain + INNER_HEADER + i * DISCO_ENDPOINT_LEN,
				     &out->endpoints[i]);
		break;
	default:
		goto out;
	}
	ret = 0;
out:
	sodium_memzero(plain, n);
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}
