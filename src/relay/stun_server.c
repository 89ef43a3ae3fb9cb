// SPDX-License-Identifier: MIT
/*
 * STUN Binding server on libuv UDP (see stun_server.h). Answers go out with
 * uv_udp_try_send: a reply the socket cannot take right now is dropped, as
 * the client retransmits; nothing queues up per client.
 */
#include "relay/stun_server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "magicsock/stun.h"
#include "util/ipaddr.h"
#include "util/log.h"

enum stun_server_limits {
	RECV_BUF = 2048,
	CLASSIC_TXID_LEN = 16, /* RFC 3489: the 16 bytes after type and length */
	ATTR_HEADER = 4,
	ATTR_CHANGE_REQUEST = 0x0003, /* RFC 3489 / 5780 */
	CHANGE_IP_PORT_FLAGS = 0x06,
	FAMILY_V4 = 0x01,
	FAMILY_V6 = 0x02,
};

static const char *const SOFTWARE = "meshrelay";

struct stun_server {
	uv_udp_t udp;
	struct stun_server_stats stats;
	stun_server_closed_cb *closed_cb;
	void *closed_arg;
	uint8_t rbuf[RECV_BUF];
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * A classic (RFC 3489) Binding request: no magic cookie, a length that
 * matches, and attributes that fit. Sets *change when it asks for an answer
 * from another address or port.
 */
static bool classic_request(const uint8_t *buf, size_t len, bool *change)
{
	size_t off = STUN_HEADER_LEN;

	*change = false;
	if (len < STUN_HEADER_LEN || get16(buf) != STUN_BINDING_REQUEST ||
	    (size_t)get16(buf + 2) != len - STUN_HEADER_LEN || len % 4)
		return false;
	while (off < len) {
		size_t vlen;

		if (len - off < ATTR_HEADER)
			return false;
		vlen = get16(buf + off + 2);
		if (len - off - ATTR_HEADER < vlen)
			return false;
		if (get16(buf + off) == ATTR_CHANGE_REQUEST && vlen == 4 &&
		    (buf[off + ATTR_HEADER + 3] & CHANGE_IP_PORT_FLAGS))
			*change = true;
		off += ATTR_HEADER + ((vlen + 3) & ~(size_t)3);
	}
	return off == len;
}

/* The RFC 3489 response: same transaction id, MAPPED-ADDRESS of the sender. */
static size_t classic_response(const uint8_t *req, const struct ip_endpoint *from, uint8_t *out,
			       size_t cap)
{
	size_t alen = from->addr.family == IP_FAMILY_V4 ? 4 : 16;
	size_t total = STUN_HEADER_LEN + ATTR_HEADER + 4 + alen;
	uint8_t *v;

	if (cap < total)
		return 0;
	put16(out, STUN_BINDING_SUCCESS);
	put16(out + 2, (uint16_t)(total - STUN_HEADER_LEN));
	memcpy(out + 4, req + 4, CLASSIC_TXID_LEN);
	put16(out + STUN_HEADER_LEN, STUN_ATTR_MAPPED_ADDRESS);
	put16(out + STUN_HEADER_LEN + 2, (uint16_t)(4 + alen));
	v = out + STUN_HEADER_LEN + ATTR_HEADER;
	v[0] = 0;
	v[1] = alen == 4 ? FAMILY_V4 : FAMILY_V6;
	put16(v + 2, from->port);
	memcpy(v + 4, from->addr.bytes, alen);
	return total;
}

size_t stun_server_answer(const uint8_t *req, size_t len, const struct sockaddr *from, uint8_t *out,
			  size_t cap, struct stun_server_stats *stats)
{
	struct stun_message msg;
	struct ip_endpoint src;
	bool change;
	size_t n;

	if (ip_endpoint_from_sockaddr(&src, from) < 0) {
		stats->bad++;
		return 0;
	}
	if (stun_is_message(req, len)) {
		if (stun_parse(req, len, &msg) < 0) {
			stats->bad++;
			return 0;
		}
		if (msg.type != STUN_BINDING_REQUEST) {
			stats->ignored++;
			return 0;
		}
		n = stun_build_binding_response(out, cap, msg.txid, &src, SOFTWARE);
	} else if (classic_request(req, len, &change)) {
		if (change) {
			stats->ignored++;
			return 0;
		}
		n = classic_response(req, &src, out, cap);
		if (n)
			stats->classic_requests++;
	} else {
		stats->bad++;
		return 0;
	}
	if (n)
		stats->requests++;
	return n;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct stun_server *s = h->data;

	(void)suggested;
	*buf = uv_buf_init((char *)s->rbuf, sizeof(s->rbuf));
}

static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
		    unsigned int flags)
{
	struct stun_server *s = udp->data;
	uint8_t out[STUN_MAX_MESSAGE];
	uv_buf_t b;
	size_t n;

	if (nread <= 0 || !addr)
		return; /* nothing, or a transient error the next datagram may not have */
	if (flags & UV_UDP_PARTIAL) {
		s->stats.bad++;
		return;
	}
	n = stun_server_answer((const uint8_t *)buf->base, (size_t)nread, addr, out, sizeof(out),
			       &s->stats);
	if (!n)
		return;
	b = uv_buf_init((char *)out, (unsigned int)n);
	if (uv_udp_try_send(udp, &b, 1, addr) < 0)
		s->stats.send_errors++;
}

int stun_server_new(struct stun_server **out, uv_loop_t *loop, const char *endpoint, uint16_t *port)
{
	struct sockaddr_storage ss;
	struct ip_endpoint ep;
	struct stun_server *s;
	const char *why;
	int namelen = sizeof(ss);
	int ret;

	*out = NULL;
	if (ip_endpoint_parse(&ep, endpoint, &why) < 0) {
		log_error("stun", "bad listen address \"%s\": %s", endpoint, why);
		return -EINVAL;
	}
	ip_endpoint_to_sockaddr(&ep, &ss, NULL);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = uv_udp_init(loop, &s->udp);
	if (ret < 0) {
		free(s);
		return ret;
	}
	s->udp.data = s;
	ret = uv_udp_bind(&s->udp, (const struct sockaddr *)&ss, 0);
	if (!ret)
		ret = uv_udp_recv_start(&s->udp, on_alloc, on_recv);
	if (!ret && port) {
		ret = uv_udp_getsockname(&s->udp, (struct sockaddr *)&ss, &namelen);
		if (!ret && !ip_endpoint_from_sockaddr(&ep, (struct sockaddr *)&ss))
			*port = ep.port;
	}
	if (ret < 0) {
		stun_server_close(s, NULL, NULL);
		return ret;
	}
	*out = s;
	return 0;
}

void stun_server_get_stats(const struct stun_server *s, struct stun_server_stats *out)
{
	*out = s->stats;
}

static void on_closed(uv_handle_t *h)
{
	struct stun_server *s = h->data;
	stun_server_closed_cb *cb = s->closed_cb;
	void *arg = s->closed_arg;

	free(s);
	if (cb)
		cb(arg);
}

void stun_server_close(struct stun_server *s, stun_server_closed_cb *cb, void *arg)
{
	s->closed_cb = cb;
	s->closed_arg = arg;
	uv_close((uv_handle_t *)&s->udp, on_closed);
}
