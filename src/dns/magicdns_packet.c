// SPDX-License-Identifier: MIT
/*
 * MagicDNS's packet side: IP packets to the service addresses come in whole
 * from the TUN, replies go out whole (addresses and ports swapped, fresh
 * checksums). UDP is answered here; TCP goes to magicdns_tcp.c. The output
 * collector keeps every packet and forwarded query in the caller's buffer.
 */
#include "dns/magicdns_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static const uint8_t service_v4[4] = {100, 100, 100, 100};
static const uint8_t service_v6[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0,
				       0,    0,	   0,	 0,    0,    0,	   0, 0x53};

_Static_assert((int)DNSPKT_PROTO_UDP == (int)IPPROTO_UDP && (int)DNSPKT_PROTO_TCP == (int)IPPROTO_TCP,
	       "IP protocol numbers");

void magicdns_service_addr(struct ip_addr *out, bool v6)
{
	if (v6)
		ip_addr_set_v6(out, service_v6);
	else
		ip_addr_set_v4(out, service_v4);
}

static bool is_service(const struct ip_addr *a)
{
	if (a->family == IP_FAMILY_V4)
		return !memcmp(a->bytes, service_v4, 4);
	if (a->family == IP_FAMILY_V6)
		return !memcmp(a->bytes, service_v6, 16);
	return false;
}

bool magicdns_is_service_packet(const uint8_t *pkt, size_t len)
{
	struct ip_addr dst;

	return dnspkt_peek_dst(pkt, len, &dst) == 0 && is_service(&dst);
}

void magicdns_output_init(struct magicdns_output *out, uint8_t *buf, size_t cap)
{
	memset(out, 0, sizeof(*out));
	out->buf = buf;
	out->cap = cap;
}

uint8_t *magicdns_out_reserve(struct magicdns_output *out, size_t n)
{
	if (out->npackets == MAGICDNS_OUT_PACKETS || out->used > out->cap ||
	    n > out->cap - out->used)
		return NULL;
	return out->buf + out->used;
}

int magicdns_out_packet(struct magicdns_output *out, uint8_t *data, size_t len)
{
	if (!len)
		return -ENOBUFS;
	out->packets[out->npackets].data = data;
	out->packets[out->npackets].len = len;
	out->npackets++;
	out->used += len;
	return 0;
}

int magicdns_out_tcp(struct magicdns_output *out, const struct ip_endpoint *server,
		     const struct ip_endpoint *client, const struct dnspkt_tcp *t,
		     const uint8_t *payload, size_t len)
{
	size_t need = DNSPKT_V6_HEADER_LEN + DNSPKT_TCP_HEADER_LEN + DNSPKT_TCP_OPTIONS_MAX + len;
	uint8_t *p = magicdns_out_reserve(out, need);

	if (!p)
		return -ENOBUFS;
	return magicdns_out_packet(out, p,
				   dnspkt_build_tcp(p, need, server, client, t, payload, len));
}

int magicdns_out_forward(struct magicdns_output *out, const struct magicdns_client *client,
			 const uint8_t *query, size_t len, const struct magicdns_upstreams *up)
{
	struct magicdns_forward *f;

	if (out->nforwards == MAGICDNS_OUT_FORWARDS || out->used > out->cap ||
	    len > out->cap - out->used)
		return -ENOBUFS;
	f = &out->forwards[out->nforwards++];
	memcpy(out->buf + out->used, query, len);
	f->client = *client;
	f->query = out->buf + out->used;
	f->len = len;
	f->upstreams = *up;
	out->used += len;
	return 0;
}

/* A UDP reply of @dns/@len from @server to @client. */
static int out_udp(struct magicdns_output *out, const struct ip_endpoint *server,
		   const struct ip_endpoint *client, const uint8_t *dns, size_t len)
{
	size_t need = DNSPKT_V6_HEADER_LEN + DNSPKT_UDP_HEADER_LEN + len;
	uint8_t *p = magicdns_out_reserve(out, need);

	if (!p)
		return -ENOBUFS;
	return magicdns_out_packet(out, p, dnspkt_build_udp(p, need, server, client, dns, len));
}

static int handle_udp(struct magicdns *m, const struct dnspkt *p, struct magicdns_output *out)
{
	uint8_t resp[MAGICDNS_RESPONSE_MAX];
	struct magicdns_upstreams up;
	struct magicdns_client client;
	size_t n;
	uint16_t limit;
	int verdict;

	verdict = magicdns_answer(m, p->payload, p->payload_len, false, resp, sizeof(resp), &n, &up,
				  &limit);
	if (verdict == MAGICDNS_ANSWERED)
		return out_udp(out, &p->dst, &p->src, resp, n);
	if (verdict != MAGICDNS_FORWARD)
		return 0;
	client = (struct magicdns_client){
		.ipproto = IPPROTO_UDP,
		.client = p->src,
		.server = p->dst,
		.udp_limit = limit,
	};
	return magicdns_out_forward(out, &client, p->payload, p->payload_len, &up);
}

int magicdns_handle_packet(struct magicdns *m, const uint8_t *pkt, size_t len, uint64_t now_ms,
			   struct magicdns_output *out)
{
	struct dnspkt p;
	int ret = dnspkt_parse(pkt, len, &p);

	if (ret == -EPROTONOSUPPORT)
		return -ENOENT;
	if (ret < 0) {
		m->stats.dropped++;
		return ret;
	}
	if (!is_service(&p.dst.addr) || p.dst.port != DNS_PORT)
		return -ENOENT;
	if (p.proto == DNSPKT_PROTO_UDP)
		return handle_udp(m, &p, out);
	return magicdns_tcp_input(m, &p, now_ms, out);
}

int magicdns_handle_reply(struct magicdns *m, const struct magicdns_client *client,
			  const uint8_t *dns, size_t len, uint64_t now_ms,
			  struct magicdns_output *out)
{
	size_t hl = DNSPKT_V6_HEADER_LEN + DNSPKT_UDP_HEADER_LEN;
	struct dnsmsg msg;
	uint8_t *p;
	int n;

	if (client->ipproto == IPPROTO_TCP)
		return magicdns_tcp_deliver(m, client, dns, len, now_ms, out);
	if (client->ipproto != IPPROTO_UDP || dnsmsg_parse(dns, len, &msg) < 0)
		return -EBADMSG;
	if (len <= client->udp_limit)
		return out_udp(out, &client->server, &client->client, dns, len);
	/*
	 * Too big for the client over UDP: truncated, it retries over TCP. The
	 * message is cut in place where the packet's payload goes.
	 */
	p = magicdns_out_reserve(out, hl + len);
	if (!p)
		return -ENOBUFS;
	n = dnsmsg_truncate(dns, len, p + hl, client->udp_limit);
	if (n < 0)
		return n;
	m->stats.truncated++;
	return magicdns_out_packet(
		out, p,
		dnspkt_build_udp(p, hl + len, &client->server, &client->client, p + hl, (size_t)n));
}
