// SPDX-License-Identifier: MIT
/*
 * A minimal TCP responder for DNS over TCP (RFC 7766) at the MagicDNS
 * addresses, over raw segments: there is no kernel socket, the packets come
 * off the TUN. Each connection is a small state machine
 *
 *   SYN -> SYN_RCVD -(ACK)-> ESTABLISHED -(client FIN)-> CLOSE_WAIT
 *       -(answers sent, our FIN)-> LAST_ACK -(ACK of our FIN)-> free
 *
 * with the client's data reassembled in order only (anything else is
 * acknowledged with our rcv_nxt, so the client resends it), length-prefixed
 * queries answered as they complete (pipelining allowed, answers in
 * completion order as RFC 7766 §6.2.1.1 permits), and our bytes kept until
 * acknowledged. There is no retransmission timer: unacknowledged data is
 * resent when the client shows it is missing something (it retransmits a
 * segment we already have, its SYN, or its FIN). Everything is bounded: the
 * connection table, the receive buffer (a query), the send buffer.
 */
#include "dns/magicdns_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include <sodium.h>

enum tcp_limits {
	/* RFC 9293 §3.7.1: the MSS to assume when the option is absent (IPv4). */
	TCP_DEFAULT_MSS = 536,
	TCP_MIN_MSS = 64,
};

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static bool same_ep(const struct ip_endpoint *a, const struct ip_endpoint *b)
{
	return a->port == b->port && ip_addr_equal(&a->addr, &b->addr);
}

static uint16_t our_mss(const struct magicdns *m)
{
	/* The same IP packet size as our largest UDP reply: UDP 8 bytes, TCP 20. */
	return (uint16_t)(m->max_udp_payload - (DNSPKT_TCP_HEADER_LEN - DNSPKT_UDP_HEADER_LEN));
}

static uint16_t rx_window(const struct md_tcp_conn *c)
{
	return (uint16_t)(sizeof(c->rx) - c->rx_len);
}

static uint32_t conn_id(const struct magicdns *m, const struct md_tcp_conn *c)
{
	return (uint32_t)c->gen << 16 | (uint32_t)(c - m->tcp);
}

static void conn_free(struct md_tcp_conn *c)
{
	uint16_t gen = c->gen;

	/* Everything before the buffers; their contents are dead once the lengths are 0. */
	memset(c, 0, offsetof(struct md_tcp_conn, rx));
	c->tx_len = 0;
	c->gen = (uint16_t)(gen + 1);
}

void magicdns_expire(struct magicdns *m, uint64_t now_ms)
{
	for (unsigned int i = 0; i < m->ntcp; i++) {
		struct md_tcp_conn *c = &m->tcp[i];

		if (c->state != MD_TCP_FREE && now_ms - c->last_ms >= MAGICDNS_TCP_IDLE_MS)
			conn_free(c);
	}
}

static struct md_tcp_conn *conn_find(struct magicdns *m, const struct dnspkt *p)
{
	for (unsigned int i = 0; i < m->ntcp; i++) {
		struct md_tcp_conn *c = &m->tcp[i];

		if (c->state != MD_TCP_FREE && same_ep(&c->client, &p->src) &&
		    same_ep(&c->server, &p->dst))
			return c;
	}
	return NULL;
}

static struct md_tcp_conn *conn_alloc(struct magicdns *m, uint64_t now_ms)
{
	magicdns_expire(m, now_ms);
	for (unsigned int i = 0; i < m->ntcp; i++) {
		if (m->tcp[i].state == MD_TCP_FREE)
			return &m->tcp[i];
	}
	return NULL;
}

/* RFC 9293 §3.10.7.1: the reset for a segment that belongs to no connection. */
static int send_reset(struct magicdns *m, const struct dnspkt *p, struct magicdns_output *out)
{
	struct dnspkt_tcp t = {.flags = DNSPKT_TCP_RST};

	if (p->tcp_flags & DNSPKT_TCP_RST)
		return 0;
	if (p->tcp_flags & DNSPKT_TCP_ACK) {
		t.seq = p->ack;
	} else {
		t.flags |= DNSPKT_TCP_ACK;
		t.ack = p->seq + (uint32_t)p->payload_len + !!(p->tcp_flags & DNSPKT_TCP_SYN) +
			!!(p->tcp_flags & DNSPKT_TCP_FIN);
	}
	m->stats.tcp_resets++;
	return magicdns_out_tcp(out, &p->dst, &p->src, &t, NULL, 0);
}

static int send_segment(struct md_tcp_conn *c, uint8_t flags, uint32_t seq, const uint8_t *data,
			size_t len, uint16_t mss, struct magicdns_output *out)
{
	struct dnspkt_tcp t = {
		.seq = seq,
		.ack = c->rcv_nxt,
		.flags = flags,
		.window = rx_window(c),
		.mss = mss,
	};

	return magicdns_out_tcp(out, &c->server, &c->client, &t, data, len);
}

static int send_syn_ack(struct magicdns *m, struct md_tcp_conn *c, struct magicdns_output *out)
{
	return send_segment(c, DNSPKT_TCP_SYN | DNSPKT_TCP_ACK, c->iss, NULL, 0, our_mss(m), out);
}

/*
 * Send what the window allows of the unsent part of tx, then our FIN once
 * everything is out and it is queued. Sets *@sent if a segment went out.
 */
static int flush(struct md_tcp_conn *c, struct magicdns_output *out, bool *sent)
{
	uint32_t off = c->snd_nxt - c->snd_una;
	int ret;

	while (off < c->tx_len) {
		int32_t room = (int32_t)(c->snd_una + c->peer_window - c->snd_nxt);
		uint32_t n = c->tx_len - off;
		uint8_t flags = DNSPKT_TCP_ACK;

		if (room <= 0)
			return 0; /* the client's window is full: its next ACK resumes */
		if (n > c->mss)
			n = c->mss;
		if (n > (uint32_t)room)
			n = (uint32_t)room;
		if (off + n == c->tx_len) {
			flags |= DNSPKT_TCP_PSH;
			if (c->fin_queued)
				flags |= DNSPKT_TCP_FIN;
		}
		ret = send_segment(c, flags, c->snd_nxt, c->tx + off, n, 0, out);
		if (ret < 0)
			return ret;
		*sent = true;
		c->snd_nxt += n;
		off += n;
		if (flags & DNSPKT_TCP_FIN) {
			c->snd_nxt++;
			c->state = MD_TCP_LAST_ACK;
		}
	}
	if (c->fin_queued && c->state != MD_TCP_LAST_ACK) {
		ret = send_segment(c, DNSPKT_TCP_FIN | DNSPKT_TCP_ACK, c->snd_nxt, NULL, 0, 0, out);
		if (ret < 0)
			return ret;
		*sent = true;
		c->snd_nxt++;
		c->state = MD_TCP_LAST_ACK;
	}
	return 0;
}

/* Go back to the first unacknowledged byte (our FIN included) and send again. */
static void rewind_tx(struct md_tcp_conn *c)
{
	c->snd_nxt = c->snd_una;
	if (c->state == MD_TCP_LAST_ACK)
		c->state = MD_TCP_CLOSE_WAIT;
}

/* Append a length-prefixed response; one too big for the room left is truncated. */
static int queue_response(struct md_tcp_conn *c, const uint8_t *dns, size_t len)
{
	size_t room = sizeof(c->tx) - c->tx_len;
	int n;

	if (room < 2 + DNS_UDP_CLASSIC_MAX)
		return -ENOBUFS;
	if (len > room - 2) {
		n = dnsmsg_truncate(dns, len, c->tx + c->tx_len + 2, room - 2);
		if (n < 0)
			return n;
		len = (size_t)n;
	} else {
		memcpy(c->tx + c->tx_len + 2, dns, len);
	}
	c->tx[c->tx_len] = (uint8_t)(len >> 8);
	c->tx[c->tx_len + 1] = (uint8_t)len;
	c->tx_len += (uint32_t)(2 + len);
	return 0;
}

/* Answer or forward every complete query in rx. */
static int process_queries(struct magicdns *m, struct md_tcp_conn *c, struct magicdns_output *out)
{
	uint8_t resp[MAGICDNS_RESPONSE_MAX];

	while (c->rx_len >= 2) {
		size_t qlen = (size_t)c->rx[0] << 8 | c->rx[1], n;
		struct magicdns_upstreams up;
		struct magicdns_client client;
		int verdict, ret = 0;

		if (c->rx_len < 2 + qlen)
			break;
		verdict = magicdns_answer(m, c->rx + 2, qlen, true, resp, sizeof(resp), &n, &up,
					  NULL);
		if (verdict == MAGICDNS_FORWARD) {
			client = (struct magicdns_client){
				.ipproto = IPPROTO_TCP,
				.client = c->client,
				.server = c->server,
				.udp_limit = UINT16_MAX,
				.tcp_id = conn_id(m, c),
			};
			ret = magicdns_out_forward(out, &client, c->rx + 2, qlen, &up);
			if (ret == 0) {
				c->pending++;
			} else {
				/* No room to hand it on now: SERVFAIL rather than silence. */
				int r = dnsmsg_build_error(c->rx + 2, qlen, DNS_RCODE_SERVFAIL,
							   m->max_udp_payload, resp, sizeof(resp));

				ret = r < 0 ? 0 : queue_response(c, resp, (size_t)r);
			}
		} else if (verdict == MAGICDNS_ANSWERED) {
			ret = queue_response(c, resp, n);
		}
		c->rx_len = (uint16_t)(c->rx_len - 2 - qlen);
		memmove(c->rx, c->rx + 2 + qlen, c->rx_len);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int handle_syn(struct magicdns *m, struct md_tcp_conn *c, const struct dnspkt *p,
		      uint64_t now_ms, struct magicdns_output *out)
{
	if (c && c->state == MD_TCP_SYN_RCVD && p->seq + 1 == c->rcv_nxt) {
		c->last_ms = now_ms;
		return send_syn_ack(m, c, out); /* our SYN-ACK was lost */
	}
	if (c)
		conn_free(c); /* the client reuses the port of a connection we still hold */
	c = conn_alloc(m, now_ms);
	if (!c)
		return send_reset(m, p, out);
	c->state = MD_TCP_SYN_RCVD;
	c->client = p->src;
	c->server = p->dst;
	c->iss = randombytes_random();
	c->snd_una = c->iss;
	c->snd_nxt = c->iss + 1;
	c->rcv_nxt = p->seq + 1;
	c->mss = p->mss ? p->mss : TCP_DEFAULT_MSS;
	if (c->mss > our_mss(m))
		c->mss = our_mss(m);
	if (c->mss < TCP_MIN_MSS)
		c->mss = TCP_MIN_MSS;
	c->peer_window = p->window;
	c->last_ms = now_ms;
	m->stats.tcp_conns++;
	return send_syn_ack(m, c, out);
}

/* The ACK field of a segment on an existing connection. Returns 1 if it freed @c. */
static int handle_ack(struct md_tcp_conn *c, const struct dnspkt *p)
{
	uint32_t acked;

	if (c->state == MD_TCP_SYN_RCVD) {
		if (p->ack != c->iss + 1)
			return -ECONNRESET;
		c->state = MD_TCP_ESTABLISHED;
		c->snd_una = c->snd_nxt = c->iss + 1;
	} else if (seq_lt(c->snd_una, p->ack) && seq_le(p->ack, c->snd_nxt)) {
		acked = p->ack - c->snd_una;
		if (acked > c->tx_len)
			acked = c->tx_len; /* the rest is our FIN */
		memmove(c->tx, c->tx + acked, c->tx_len - acked);
		c->tx_len -= acked;
		c->snd_una = p->ack;
		if (c->state == MD_TCP_LAST_ACK && p->ack == c->snd_nxt) {
			conn_free(c);
			return 1;
		}
	}
	c->peer_window = p->window;
	return 0;
}

int magicdns_tcp_input(struct magicdns *m, const struct dnspkt *p, uint64_t now_ms,
		       struct magicdns_output *out)
{
	struct md_tcp_conn *c = conn_find(m, p);
	uint32_t len = (uint32_t)p->payload_len;
	bool need_ack = false, resend = false, sent = false;
	int ret;

	if ((p->tcp_flags & (DNSPKT_TCP_SYN | DNSPKT_TCP_ACK | DNSPKT_TCP_RST)) == DNSPKT_TCP_SYN)
		return handle_syn(m, c, p, now_ms, out);
	if (!c)
		return send_reset(m, p, out);
	if (p->tcp_flags & DNSPKT_TCP_RST) {
		/* RFC 5961 §3.2: only an exactly placed reset is believed. */
		if (p->seq == c->rcv_nxt)
			conn_free(c);
		return 0;
	}
	if (p->tcp_flags & DNSPKT_TCP_SYN) /* a SYN inside a connection: challenge ACK */
		return send_segment(c, DNSPKT_TCP_ACK, c->snd_nxt, NULL, 0, 0, out);
	if (!(p->tcp_flags & DNSPKT_TCP_ACK))
		return 0;
	c->last_ms = now_ms;
	ret = handle_ack(c, p);
	if (ret == 1)
		return 0;
	if (ret < 0) {
		conn_free(c);
		return send_reset(m, p, out);
	}

	if (len && c->state == MD_TCP_ESTABLISHED) {
		if (seq_le(p->seq, c->rcv_nxt) && seq_lt(c->rcv_nxt, p->seq + len)) {
			uint32_t skip = c->rcv_nxt - p->seq, take = len - skip;

			if (c->rx_len + take > sizeof(c->rx)) {
				conn_free(c); /* a query larger than we accept */
				return send_reset(m, p, out);
			}
			memcpy(c->rx + c->rx_len, p->payload + skip, take);
			c->rx_len = (uint16_t)(c->rx_len + take);
			c->rcv_nxt += take;
		} else if (seq_le(p->seq + len, c->rcv_nxt)) {
			resend = true; /* a retransmission: our ACK, maybe our data, was lost */
		}
		need_ack = true;
	}
	if (p->tcp_flags & DNSPKT_TCP_FIN) {
		if (c->state == MD_TCP_ESTABLISHED && p->seq + len == c->rcv_nxt) {
			c->rcv_nxt++;
			c->state = MD_TCP_CLOSE_WAIT;
		} else if (c->state != MD_TCP_ESTABLISHED && p->seq + len + 1 == c->rcv_nxt) {
			resend = true; /* the client did not get our ACK of its FIN */
		}
		need_ack = true;
	}
	ret = process_queries(m, c, out);
	if (ret < 0)
		return ret;
	if (c->state == MD_TCP_CLOSE_WAIT && c->pending == 0)
		c->fin_queued = true;
	if (resend)
		rewind_tx(c);
	ret = flush(c, out, &sent);
	if (ret == 0 && need_ack && !sent)
		ret = send_segment(c, DNSPKT_TCP_ACK, c->snd_nxt, NULL, 0, 0, out);
	return ret;
}

int magicdns_tcp_deliver(struct magicdns *m, const struct magicdns_client *client,
			 const uint8_t *dns, size_t len, uint64_t now_ms,
			 struct magicdns_output *out)
{
	uint32_t slot = client->tcp_id & 0xffff;
	struct md_tcp_conn *c;
	struct dnsmsg msg;
	bool sent = false;
	int ret;

	if (slot >= m->ntcp)
		return -ENOENT;
	c = &m->tcp[slot];
	if (c->gen != client->tcp_id >> 16 || !same_ep(&c->client, &client->client) ||
	    (c->state != MD_TCP_ESTABLISHED && c->state != MD_TCP_CLOSE_WAIT))
		return -ENOENT;
	if (c->pending)
		c->pending--;
	if (dnsmsg_parse(dns, len, &msg) < 0)
		return -EBADMSG;
	c->last_ms = now_ms;
	ret = queue_response(c, dns, len);
	if (ret < 0)
		return ret;
	if (c->state == MD_TCP_CLOSE_WAIT && c->pending == 0)
		c->fin_queued = true;
	return flush(c, out, &sent);
}
