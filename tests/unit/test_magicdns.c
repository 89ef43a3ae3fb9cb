// SPDX-License-Identifier: MIT
/*
 * MagicDNS: every answer rule (A/AAAA/ANY, case, trailing dot, PTR v4/v6,
 * NXDOMAIN and no-data with SOA, extra records, split-DNS routes, forward,
 * SERVFAIL without upstreams, EDNS, BADVERS, NOTIMP, FORMERR, truncation),
 * a property test against a naive model of the table, and the packet side:
 * UDP over IPv4 and IPv6 with the checksums verified by an independent
 * implementation, forwarding and relayed replies, and the TCP responder
 * driven segment by segment (handshake, split and pipelined queries,
 * retransmissions, windows, forwarding, resets, the connection limit).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns/dnsmsg.h"
#include "dns/magicdns.h"

static struct ip_addr ip(const char *s)
{
	struct ip_addr a;

	assert_int_equal(ip_addr_parse(&a, s, NULL), 0);
	return a;
}

static struct ip_endpoint ep(const char *s)
{
	struct ip_endpoint e;

	assert_int_equal(ip_endpoint_parse(&e, s, NULL), 0);
	return e;
}

static struct dns_name name_of(const char *text)
{
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, text), 0);
	return n;
}

static char *name_text(const struct dns_name *n)
{
	static char buf[DNS_NAME_TEXT_MAX];

	dns_name_to_text(n, buf, sizeof(buf));
	return buf;
}

/* ---------------------------------------------------------------------------------------- */
/* The netmap of most tests */

static struct ip_addr server_addrs[2], laptop_addrs[2], phone_addrs[1], big_addrs[100];
static struct ip_endpoint corp_ns[1], upstreams[2];

static struct magicdns *make(const struct magicdns_options *opt)
{
	struct magicdns *m;
	struct magicdns_host hosts[] = {
		{"server", server_addrs, 2},
		{"Laptop", laptop_addrs, 2},
		{"phone.mesh.internal", phone_addrs, 1},
		{"big", big_addrs, 100},
		{"bad..name", phone_addrs, 1},
	};
	struct magicdns_record records[] = {
		{"grafana.mesh.internal", ip("100.64.0.1")},
		{"db.corp.example", ip("10.0.0.5")},
		{"db.corp.example", ip("2001:db8::5")},
		{"db.corp.example", ip("10.0.0.5")}, /* a repeat */
	};
	struct magicdns_route routes[] = {
		{"corp.example", corp_ns, 1},
		{"local.only", NULL, 0},
	};
	struct magicdns_config cfg = {
		.base_domain = "mesh.internal",
		.hosts = hosts,
		.nhosts = 5,
		.records = records,
		.nrecords = 4,
		.routes = routes,
		.nroutes = 2,
		.upstreams = upstreams,
		.nupstreams = 2,
	};

	server_addrs[0] = ip("100.64.0.1");
	server_addrs[1] = ip("fd7a:115c:a1e0::1");
	laptop_addrs[0] = ip("100.64.0.2");
	laptop_addrs[1] = ip("fd7a:115c:a1e0::2");
	phone_addrs[0] = ip("100.64.0.3");
	for (int i = 0; i < 100; i++) {
		big_addrs[i] = ip("fd7a:115c:a1e0:1::");
		big_addrs[i].bytes[15] = (uint8_t)(i + 1);
	}
	corp_ns[0] = ep("192.0.2.53:0");
	upstreams[0] = ep("198.51.100.1:53");
	upstreams[1] = ep("198.51.100.2:5353");
	assert_int_equal(magicdns_new(&m, opt), 0);
	assert_int_equal(magicdns_set_records(m, &cfg), 0);
	return m;
}

/* ---------------------------------------------------------------------------------------- */
/* Asking */

struct query_opts {
	uint16_t flags; /* default: RD */
	bool no_rd;
	int edns; /* 0: none; else the UDP size */
	bool dobit;
	uint8_t version;
	uint16_t qclass;
	bool tcp;
};

static size_t make_query(uint8_t *buf, size_t cap, const char *name, uint16_t type,
			 const struct query_opts *o)
{
	struct dnsmsg_builder b;
	struct dns_name n = name_of(name);
	uint16_t flags = o && o->flags ? o->flags : (o && o->no_rd ? 0 : DNS_FLAG_RD);

	dnsmsg_builder_init(&b, buf, cap, 0x4242, flags);
	assert_int_equal(dnsmsg_add_question(&b, &n, type, o && o->qclass ? o->qclass : 1), 0);
	if (o && o->edns) {
		assert_int_equal(
			dnsmsg_add_opt(&b, (uint16_t)o->edns, 0, o->dobit ? DNS_EDNS_FLAG_DO : 0),
			0);
		if (o->version)
			buf[b.len - 5] = o->version;
	}
	return dnsmsg_builder_finish(&b);
}

struct answer {
	int verdict;
	uint8_t buf[MAGICDNS_RESPONSE_MAX];
	size_t len;
	struct dnsmsg msg;
	struct magicdns_upstreams up;
	uint16_t udp_limit;
};

static struct answer *ask(struct magicdns *m, const char *name, uint16_t type,
			  const struct query_opts *o)
{
	static struct answer a;
	uint8_t q[512];
	size_t qlen = make_query(q, sizeof(q), name, type, o);

	memset(&a, 0, sizeof(a));
	a.verdict = magicdns_answer(m, q, qlen, o && o->tcp, a.buf, sizeof(a.buf), &a.len, &a.up,
				    &a.udp_limit);
	if (a.verdict == MAGICDNS_ANSWERED) {
		assert_int_equal(dnsmsg_parse(a.buf, a.len, &a.msg), 0);
		assert_int_equal(a.msg.hdr.id, 0x4242);
		assert_true(a.msg.hdr.flags & DNS_FLAG_QR);
	}
	return &a;
}

/* The @i-th record of the answer (section-wide index over all sections). */
static struct dnsmsg_rr rr_at(const struct answer *a, unsigned int i)
{
	struct dnsmsg_rr rr;
	size_t off = a->msg.question_end;

	for (unsigned int k = 0; k <= i; k++)
		assert_int_equal(dnsmsg_read_rr(a->buf, a->len, &off, &rr), 0);
	return rr;
}

static unsigned int rcode(const struct answer *a)
{
	return dnsmsg_rcode(&a->msg);
}

static void assert_addr_rr(const struct answer *a, unsigned int i, const char *addr)
{
	struct dnsmsg_rr rr = rr_at(a, i);
	struct ip_addr want = ip(addr);

	assert_int_equal(rr.type, want.family == IP_FAMILY_V4 ? DNS_TYPE_A : DNS_TYPE_AAAA);
	assert_int_equal(rr.rclass, DNS_CLASS_IN);
	assert_int_equal(rr.ttl, MAGICDNS_TTL_DEFAULT);
	assert_memory_equal(a->buf + rr.rdata_off, want.bytes, rr.rdlen);
}

/* A negative answer's SOA in authority for @zone. */
static void assert_soa(const struct answer *a, const char *zone)
{
	struct dnsmsg_rr rr = rr_at(a, a->msg.hdr.ancount);
	struct dns_soa soa;
	struct dns_name z = name_of(zone);

	assert_int_equal(a->msg.hdr.nscount, 1);
	assert_int_equal(rr.type, DNS_TYPE_SOA);
	assert_true(dns_name_equal(&rr.name, &z));
	assert_int_equal(rr.ttl, MAGICDNS_NEGATIVE_TTL_DEFAULT);
	assert_int_equal(dnsmsg_rdata_soa(a->buf, a->len, &rr, &soa), 0);
	assert_true(dns_name_equal(&soa.mname, &z));
	assert_int_equal(soa.minimum, MAGICDNS_NEGATIVE_TTL_DEFAULT);
}

static void test_addresses(void **state)
{
	struct magicdns *m = make(NULL);
	struct dnsmsg_rr rr;
	struct answer *a;

	(void)state;
	a = ask(m, "server.mesh.internal", DNS_TYPE_A, NULL);
	assert_int_equal(a->verdict, MAGICDNS_ANSWERED);
	assert_int_equal(rcode(a), DNS_RCODE_NOERROR);
	assert_true(a->msg.hdr.flags & DNS_FLAG_AA);
	assert_true(a->msg.hdr.flags & DNS_FLAG_RA);
	assert_true(a->msg.hdr.flags & DNS_FLAG_RD);
	assert_int_equal(a->msg.hdr.ancount, 1);
	assert_int_equal(a->msg.hdr.nscount, 0);
	assert_false(a->msg.has_opt);
	assert_addr_rr(a, 0, "100.64.0.1");

	/* Mixed case, trailing dot: answered, the question echoed as asked. */
	a = ask(m, "SeRvEr.MESH.Internal.", DNS_TYPE_AAAA, NULL);
	assert_int_equal(a->msg.hdr.ancount, 1);
	assert_string_equal(name_text(&a->msg.qname), "SeRvEr.MESH.Internal");
	rr = rr_at(a, 0);
	assert_string_equal(name_text(&rr.name), "SeRvEr.MESH.Internal");
	assert_addr_rr(a, 0, "fd7a:115c:a1e0::1");

	/* A host given with capitals and one given as a full name. */
	a = ask(m, "laptop.mesh.internal", DNS_TYPE_ANY, NULL);
	assert_int_equal(a->msg.hdr.ancount, 2);
	assert_addr_rr(a, 0, "100.64.0.2");
	assert_addr_rr(a, 1, "fd7a:115c:a1e0::2");
	a = ask(m, "phone.mesh.internal", DNS_TYPE_A, NULL);
	assert_addr_rr(a, 0, "100.64.0.3");
	/* A full name is not given the base domain twice. */
	a = ask(m, "phone.mesh.internal.mesh.internal", DNS_TYPE_A, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NXDOMAIN);

	/* An extra record in the zone, one outside it with a repeat dropped. */
	a = ask(m, "grafana.mesh.internal", DNS_TYPE_A, NULL);
	assert_addr_rr(a, 0, "100.64.0.1");
	a = ask(m, "DB.corp.example", DNS_TYPE_A, NULL);
	assert_int_equal(a->msg.hdr.ancount, 1);
	assert_addr_rr(a, 0, "10.0.0.5");
	a = ask(m, "db.corp.example", DNS_TYPE_AAAA, NULL);
	assert_addr_rr(a, 0, "2001:db8::5");
	/* A name given with an invalid label was skipped, the rest kept. */
	a = ask(m, "name.mesh.internal", DNS_TYPE_A, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NXDOMAIN);
	/* RD is copied, not forced. */
	a = ask(m, "server.mesh.internal", DNS_TYPE_A, &(struct query_opts){.no_rd = true});
	assert_false(a->msg.hdr.flags & DNS_FLAG_RD);
	magicdns_free(m);
}

static void test_negative(void **state)
{
	struct magicdns *m = make(NULL);
	struct dnsmsg_rr rr;
	struct answer *a;
	struct dns_soa soa;

	(void)state;
	a = ask(m, "nope.mesh.internal", DNS_TYPE_A, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NXDOMAIN);
	assert_true(a->msg.hdr.flags & DNS_FLAG_AA);
	assert_int_equal(a->msg.hdr.ancount, 0);
	assert_soa(a, "mesh.internal");
	/* Under a known name is still NXDOMAIN. */
	a = ask(m, "_ssh._tcp.server.mesh.internal", DNS_TYPE_SRV, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NXDOMAIN);

	/* Known name, missing type: NOERROR, no answer, SOA. */
	a = ask(m, "phone.mesh.internal", DNS_TYPE_AAAA, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NOERROR);
	assert_int_equal(a->msg.hdr.ancount, 0);
	assert_soa(a, "mesh.internal");
	a = ask(m, "server.mesh.internal", DNS_TYPE_MX, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NOERROR);
	assert_int_equal(a->msg.hdr.ancount, 0);
	/* Outside our zones, an extra record's missing type: no SOA to give. */
	a = ask(m, "db.corp.example", DNS_TYPE_TXT, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NOERROR);
	assert_int_equal(a->msg.hdr.ancount + a->msg.hdr.nscount, 0);

	/* The apex: its SOA, no data otherwise. */
	a = ask(m, "mesh.internal", DNS_TYPE_SOA, NULL);
	assert_int_equal(a->msg.hdr.ancount, 1);
	assert_int_equal(rr_at(a, 0).type, DNS_TYPE_SOA);
	rr = rr_at(a, 0);
	assert_int_equal(dnsmsg_rdata_soa(a->buf, a->len, &rr, &soa), 0);
	assert_string_equal(name_text(&soa.rname), "hostmaster.mesh.internal");
	a = ask(m, "Mesh.Internal", DNS_TYPE_A, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NOERROR);
	assert_int_equal(a->msg.hdr.ancount, 0);
	assert_soa(a, "mesh.internal");

	/* A split route without resolvers is answered here. */
	a = ask(m, "x.local.only", DNS_TYPE_A, NULL);
	assert_int_equal(a->verdict, MAGICDNS_ANSWERED);
	assert_int_equal(rcode(a), DNS_RCODE_NXDOMAIN);
	magicdns_free(m);
}

static void assert_ptr(struct magicdns *m, const char *q, const char *want)
{
	struct answer *a = ask(m, q, DNS_TYPE_PTR, NULL);
	struct dnsmsg_rr rr;
	struct dns_name n, w = name_of(want);

	assert_int_equal(a->verdict, MAGICDNS_ANSWERED);
	assert_int_equal(rcode(a), DNS_RCODE_NOERROR);
	assert_int_equal(a->msg.hdr.ancount, 1);
	rr = rr_at(a, 0);
	assert_int_equal(rr.type, DNS_TYPE_PTR);
	assert_int_equal(dnsmsg_rdata_name(a->buf, a->len, &rr, &n), 0);
	assert_true(dns_name_equal(&n, &w));
}

static void test_ptr(void **state)
{
	struct magicdns *m = make(NULL);
	struct answer *a;

	(void)state;
	/* The node wins over the extra record (grafana) on the same address. */
	assert_ptr(m, "1.0.64.100.in-addr.arpa", "server.mesh.internal");
	assert_ptr(m, "2.0.64.100.IN-ADDR.ARPA.", "laptop.mesh.internal");
	assert_ptr(m, "5.0.0.10.in-addr.arpa", "db.corp.example");
	assert_ptr(m, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa",
		   "laptop.mesh.internal");
	assert_ptr(m, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.E.1.A.C.5.1.1.A.7.D.F.ip6.arpa",
		   "server.mesh.internal");
	/* Unknown addresses in the mesh ranges: NXDOMAIN with the reverse zone's SOA. */
	a = ask(m, "9.9.64.100.in-addr.arpa", DNS_TYPE_PTR, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NXDOMAIN);
	assert_soa(a, "64.100.in-addr.arpa");
	a = ask(m, "9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa",
		DNS_TYPE_PTR, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NXDOMAIN);
	assert_soa(a, "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa");
	/* A known address, another type: no data. */
	a = ask(m, "1.0.64.100.in-addr.arpa", DNS_TYPE_A, NULL);
	assert_int_equal(rcode(a), DNS_RCODE_NOERROR);
	assert_int_equal(a->msg.hdr.ancount, 0);
	/* Outside the mesh: forwarded. Malformed reverse names too (not an address). */
	assert_int_equal(ask(m, "1.1.168.192.in-addr.arpa", DNS_TYPE_PTR, NULL)->verdict,
			 MAGICDNS_FORWARD);
	assert_int_equal(ask(m, "01.0.64.100.in-addr.arpa", DNS_TYPE_PTR, NULL)->verdict,
			 MAGICDNS_FORWARD);
	assert_int_equal(ask(m, "256.0.64.100.in-addr.arpa", DNS_TYPE_PTR, NULL)->verdict,
			 MAGICDNS_FORWARD);
	assert_int_equal(ask(m, "0.64.100.in-addr.arpa", DNS_TYPE_PTR, NULL)->verdict,
			 MAGICDNS_FORWARD);
	assert_int_equal(ask(m,
			     "g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.e.1.a.c.5.1.1.a.7.d.f."
			     "ip6.arpa",
			     DNS_TYPE_PTR, NULL)
				 ->verdict,
			 MAGICDNS_FORWARD);
	magicdns_free(m);
}

static void test_forward(void **state)
{
	struct magicdns *m = make(NULL);
	struct magicdns *empty;
	struct answer *a;

	(void)state;
	a = ask(m, "example.com", DNS_TYPE_A, &(struct query_opts){.edns = 4096});
	assert_int_equal(a->verdict, MAGICDNS_FORWARD);
	assert_int_equal(a->len, 0);
	assert_int_equal(a->up.n, 2);
	assert_true(a->up.addrs[0].port == 53 &&
		    ip_addr_equal(&a->up.addrs[0].addr, &upstreams[0].addr));
	assert_int_equal(a->up.addrs[1].port, 5353);
	assert_int_equal(a->udp_limit, MAGICDNS_UDP_PAYLOAD_DEFAULT); /* 4096 capped */
	/* The split route, with its resolver's port defaulted. */
	a = ask(m, "git.CORP.example", DNS_TYPE_A, NULL);
	assert_int_equal(a->verdict, MAGICDNS_FORWARD);
	assert_int_equal(a->up.n, 1);
	assert_int_equal(a->up.addrs[0].port, 53);
	assert_true(ip_addr_equal(&a->up.addrs[0].addr, &corp_ns[0].addr));
	assert_int_equal(a->udp_limit, 512);
	/* Not class IN: not ours. */
	a = ask(m, "version.bind", DNS_TYPE_TXT, &(struct query_opts){.qclass = DNS_CLASS_CH});
	assert_int_equal(a->verdict, MAGICDNS_FORWARD);
	a = ask(m, "server.mesh.internal", DNS_TYPE_A, &(struct query_opts){.qclass = 3});
	assert_int_equal(a->verdict, MAGICDNS_FORWARD);

	/* Nowhere to forward to: SERVFAIL at once. */
	assert_int_equal(magicdns_new(&empty, NULL), 0);
	a = ask(empty, "example.com", DNS_TYPE_A, NULL);
	assert_int_equal(a->verdict, MAGICDNS_ANSWERED);
	assert_int_equal(rcode(a), DNS_RCODE_SERVFAIL);
	assert_false(a->msg.hdr.flags & DNS_FLAG_AA);
	magicdns_free(empty);
	magicdns_free(m);
}

static void test_edns_and_errors(void **state)
{
	struct magicdns *m = make(NULL);
	struct answer *a;
	uint8_t q[512], resp[512];
	struct magicdns_upstreams up;
	struct dnsmsg msg;
	size_t qlen, n;

	(void)state;
	a = ask(m, "server.mesh.internal", DNS_TYPE_A,
		&(struct query_opts){.edns = 4096, .dobit = true});
	assert_true(a->msg.has_opt);
	assert_int_equal(a->msg.udp_size, MAGICDNS_UDP_PAYLOAD_DEFAULT);
	assert_int_equal(a->msg.edns_flags, DNS_EDNS_FLAG_DO);
	assert_int_equal(a->msg.edns_version, 0);
	assert_int_equal(a->msg.hdr.ancount, 1);
	a = ask(m, "server.mesh.internal", DNS_TYPE_A, &(struct query_opts){.edns = 1232});
	assert_int_equal(a->msg.edns_flags, 0);
	/* EDNS version 1: BADVERS, which needs the OPT's extended bits. */
	a = ask(m, "server.mesh.internal", DNS_TYPE_A,
		&(struct query_opts){.edns = 1232, .version = 1});
	assert_int_equal(rcode(a), DNS_RCODE_BADVERS);
	assert_int_equal(a->msg.hdr.ancount, 0);
	assert_int_equal(a->msg.edns_version, 0);
	/* Other opcodes: NOTIMP. */
	a = ask(m, "server.mesh.internal", DNS_TYPE_A,
		&(struct query_opts){.flags = DNS_OPCODE_NOTIFY << DNS_FLAG_OPCODE_SHIFT});
	assert_int_equal(rcode(a), DNS_RCODE_NOTIMP);
	a = ask(m, "server.mesh.internal", DNS_TYPE_A,
		&(struct query_opts){.flags = DNS_OPCODE_STATUS << DNS_FLAG_OPCODE_SHIFT});
	assert_int_equal(rcode(a), DNS_RCODE_NOTIMP);
	assert_int_equal((a->msg.hdr.flags & DNS_FLAG_OPCODE_MASK) >> DNS_FLAG_OPCODE_SHIFT,
			 DNS_OPCODE_STATUS);

	/* Two questions, none: FORMERR. */
	qlen = make_query(q, sizeof(q), "server.mesh.internal", DNS_TYPE_A, NULL);
	memcpy(q + qlen, q + 12, qlen - 12);
	q[5] = 2;
	assert_int_equal(
		magicdns_answer(m, q, 2 * qlen - 12, false, resp, sizeof(resp), &n, &up, NULL),
		MAGICDNS_ANSWERED);
	assert_int_equal(dnsmsg_parse(resp, n, &msg), 0);
	assert_int_equal(dnsmsg_rcode(&msg), DNS_RCODE_FORMERR);
	q[5] = 0;
	assert_int_equal(magicdns_answer(m, q, 12, false, resp, sizeof(resp), &n, &up, NULL),
			 MAGICDNS_ANSWERED);
	assert_int_equal(dnsmsg_parse(resp, n, &msg), 0);
	assert_int_equal(dnsmsg_rcode(&msg), DNS_RCODE_FORMERR);
	/* A broken body: FORMERR; no header or a response: dropped. */
	qlen = make_query(q, sizeof(q), "server.mesh.internal", DNS_TYPE_A, NULL);
	assert_int_equal(magicdns_answer(m, q, qlen - 1, false, resp, sizeof(resp), &n, &up, NULL),
			 MAGICDNS_ANSWERED);
	assert_int_equal(dnsmsg_parse(resp, n, &msg), 0);
	assert_int_equal(dnsmsg_rcode(&msg), DNS_RCODE_FORMERR);
	assert_int_equal(magicdns_answer(m, q, 11, false, resp, sizeof(resp), &n, &up, NULL),
			 MAGICDNS_DROP);
	q[2] |= 0x80;
	assert_int_equal(magicdns_answer(m, q, qlen, false, resp, sizeof(resp), &n, &up, NULL),
			 MAGICDNS_DROP);
	assert_int_equal(n, 0);
	magicdns_free(m);
}

static void test_truncation(void **state)
{
	struct magicdns *m = make(NULL);
	struct answer *a;

	(void)state;
	/* 100 AAAA records: ~2.8 kB. */
	a = ask(m, "big.mesh.internal", DNS_TYPE_AAAA, NULL);
	assert_true(a->msg.hdr.flags & DNS_FLAG_TC);
	assert_int_equal(a->msg.hdr.ancount, 0);
	assert_true(a->len <= 512);
	a = ask(m, "big.mesh.internal", DNS_TYPE_AAAA, &(struct query_opts){.edns = 4096});
	assert_true(a->msg.hdr.flags & DNS_FLAG_TC);
	assert_true(a->msg.has_opt);
	assert_true(a->len <= MAGICDNS_UDP_PAYLOAD_DEFAULT);
	/* Over TCP it all fits. */
	a = ask(m, "big.mesh.internal", DNS_TYPE_AAAA, &(struct query_opts){.tcp = true});
	assert_false(a->msg.hdr.flags & DNS_FLAG_TC);
	assert_int_equal(a->msg.hdr.ancount, 100);
	assert_addr_rr(a, 99, "fd7a:115c:a1e0:1::64");
	/* A larger max_udp_payload lets EDNS clients have it over UDP. */
	magicdns_free(m);
	m = make(&(struct magicdns_options){.max_udp_payload = 4000});
	a = ask(m, "big.mesh.internal", DNS_TYPE_AAAA, &(struct query_opts){.edns = 4096});
	assert_false(a->msg.hdr.flags & DNS_FLAG_TC);
	assert_int_equal(a->msg.hdr.ancount, 100);
	magicdns_free(m);
	assert_int_equal(magicdns_new(&m, &(struct magicdns_options){.max_udp_payload = 100}),
			 -EINVAL);
}

static void test_replace_records(void **state)
{
	struct magicdns *m = make(NULL);
	struct magicdns_host h = {"newbie", phone_addrs, 1};
	struct magicdns_config cfg = {.base_domain = "Other.Test", .hosts = &h, .nhosts = 1};
	struct magicdns_route bad = {"a..b", NULL, 0};
	struct answer *a;
	struct magicdns_stats st;

	(void)state;
	assert_int_equal(magicdns_set_records(m, &cfg), 0);
	a = ask(m, "server.mesh.internal", DNS_TYPE_A, NULL);
	assert_int_equal(a->verdict, MAGICDNS_ANSWERED); /* no upstreams now: SERVFAIL */
	assert_int_equal(rcode(a), DNS_RCODE_SERVFAIL);
	a = ask(m, "newbie.other.test", DNS_TYPE_A, NULL);
	assert_addr_rr(a, 0, "100.64.0.3");
	a = ask(m, "gone.other.test", DNS_TYPE_A, NULL);
	assert_soa(a, "other.test");

	/* A bad config leaves the table as it was. */
	cfg.base_domain = "bad..domain";
	assert_int_equal(magicdns_set_records(m, &cfg), -EINVAL);
	cfg.base_domain = "ok.test";
	cfg.routes = &bad;
	cfg.nroutes = 1;
	assert_int_equal(magicdns_set_records(m, &cfg), -EINVAL);
	a = ask(m, "newbie.other.test", DNS_TYPE_A, NULL);
	assert_addr_rr(a, 0, "100.64.0.3");
	/* No base domain: names are only what is listed, nothing is NXDOMAIN'd. */
	cfg = (struct magicdns_config){
		.hosts = &h, .nhosts = 1, .upstreams = upstreams, .nupstreams = 1};
	h.name = "newbie.example";
	assert_int_equal(magicdns_set_records(m, &cfg), 0);
	assert_addr_rr(ask(m, "newbie.example", DNS_TYPE_A, NULL), 0, "100.64.0.3");
	assert_int_equal(ask(m, "other.example", DNS_TYPE_A, NULL)->verdict, MAGICDNS_FORWARD);
	magicdns_get_stats(m, &st);
	assert_true(st.queries >= 6);
	assert_true(st.forwarded >= 1);
	assert_true(st.nxdomain >= 1);
	magicdns_free(m);
	magicdns_free(NULL);
}

/* Against a naive model: random tables, random questions, compare address sets. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void test_property_model(void **state)
{
	static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h"};

	(void)state;
	for (int iter = 0; iter < 300; iter++) {
		struct ip_addr addrs[8][4];
		struct magicdns_host hosts[8];
		unsigned int nh = rnd() % 8 + 1;
		struct magicdns_config cfg = {.base_domain = "m.test",
					      .hosts = hosts,
					      .nhosts = nh,
					      .upstreams = upstreams,
					      .nupstreams = 1};
		struct magicdns *m;

		upstreams[0] = ep("198.51.100.1:53");
		for (unsigned int i = 0; i < nh; i++) {
			unsigned int na = rnd() % 5;

			hosts[i] = (struct magicdns_host){names[rnd() % 8], addrs[i], na};
			for (unsigned int k = 0; k < na; k++) {
				addrs[i][k] = rnd() % 2 ? ip("100.64.0.0") : ip("fd7a:115c:a1e0::");
				addrs[i][k].bytes[addrs[i][k].family == IP_FAMILY_V4 ? 3 : 15] =
					(uint8_t)(rnd() % 4);
			}
		}
		assert_int_equal(magicdns_new(&m, NULL), 0);
		assert_int_equal(magicdns_set_records(m, &cfg), 0);
		for (int q = 0; q < 16; q++) {
			const char *qn = names[rnd() % 8];
			uint16_t qt = rnd() % 2 ? DNS_TYPE_A : DNS_TYPE_AAAA;
			char fq[32];
			bool want[2][4] = {{false}}, exists = false;
			unsigned int nwant = 0;
			struct answer *a;

			snprintf(fq, sizeof(fq), "%s.M.test", qn);
			/* The model: every (name, address) pair, deduplicated by a bitmap. */
			for (unsigned int i = 0; i < nh; i++) {
				if (strcmp(hosts[i].name, qn))
					continue;
				for (unsigned int k = 0; k < hosts[i].naddrs; k++) {
					const struct ip_addr *x = &addrs[i][k];
					bool v6 = x->family == IP_FAMILY_V6;

					exists = true;
					if ((qt == DNS_TYPE_AAAA) != v6)
						continue;
					want[v6][x->bytes[v6 ? 15 : 3]] = true;
				}
			}
			for (int f = 0; f < 2; f++)
				for (int b = 0; b < 4; b++)
					nwant += want[f][b];
			a = ask(m, fq, qt, NULL);
			assert_int_equal(a->verdict, MAGICDNS_ANSWERED);
			assert_int_equal(rcode(a), exists ? DNS_RCODE_NOERROR : DNS_RCODE_NXDOMAIN);
			assert_int_equal(a->msg.hdr.ancount, nwant);
			for (unsigned int i = 0; i < nwant; i++) {
				struct dnsmsg_rr rr = rr_at(a, i);
				bool v6 = rr.type == DNS_TYPE_AAAA;

				assert_int_equal(rr.type, qt);
				assert_true(want[v6][a->buf[rr.rdata_off + rr.rdlen - 1]]);
			}
		}
		magicdns_free(m);
	}
}

/* ---------------------------------------------------------------------------------------- */
/* Packets, checked with a checksum written independently of dnspkt.c */

static uint16_t ref_sum(const uint8_t *parts[], const size_t lens[], int n)
{
	uint32_t sum = 0;
	uint8_t carry_byte = 0;
	bool odd = false;

	/* Byte-wise over the concatenation, as RFC 1071 defines it. */
	for (int p = 0; p < n; p++) {
		for (size_t i = 0; i < lens[p]; i++) {
			if (!odd) {
				carry_byte = parts[p][i];
			} else {
				sum += (uint32_t)carry_byte << 8 | parts[p][i];
				sum = (sum & 0xffff) + (sum >> 16);
			}
			odd = !odd;
		}
	}
	if (odd)
		sum += (uint32_t)carry_byte << 8;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The transport checksum of an IP packet's segment, pseudo-header included (0 if valid). */
static uint16_t ref_l4(const uint8_t *pkt, size_t *l4off)
{
	uint8_t pseudo[40] = {0};
	const uint8_t *parts[2];
	size_t lens[2], plen, off, l4len;

	if (pkt[0] >> 4 == 4) {
		off = (pkt[0] & 0xf) * 4u;
		l4len = (size_t)(pkt[2] << 8 | pkt[3]) - off;
		memcpy(pseudo, pkt + 12, 8);
		pseudo[9] = pkt[9];
		pseudo[10] = (uint8_t)(l4len >> 8);
		pseudo[11] = (uint8_t)l4len;
		plen = 12;
	} else {
		off = 40;
		l4len = (size_t)(pkt[4] << 8 | pkt[5]);
		memcpy(pseudo, pkt + 8, 32);
		pseudo[34] = (uint8_t)(l4len >> 8);
		pseudo[35] = (uint8_t)l4len;
		pseudo[39] = pkt[6];
		plen = 40;
	}
	parts[0] = pseudo;
	lens[0] = plen;
	parts[1] = pkt + off;
	lens[1] = l4len;
	*l4off = off;
	return ref_sum(parts, lens, 2);
}

/* A UDP query packet from @src to @dst, built by hand. */
static size_t udp_packet(uint8_t *pkt, const char *src, const char *dst, const uint8_t *dns,
			 size_t len)
{
	struct ip_endpoint s = ep(src), d = ep(dst);
	bool v6 = s.addr.family == IP_FAMILY_V6;
	size_t hl = v6 ? 40 : 20, ulen = 8 + len, l4off;
	uint16_t c;

	memset(pkt, 0, hl + ulen);
	if (v6) {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)(ulen >> 8);
		pkt[5] = (uint8_t)ulen;
		pkt[6] = 17;
		pkt[7] = 64;
		memcpy(pkt + 8, s.addr.bytes, 16);
		memcpy(pkt + 24, d.addr.bytes, 16);
	} else {
		const uint8_t *parts[1] = {pkt};
		size_t lens[1] = {20};

		pkt[0] = 0x45;
		pkt[2] = (uint8_t)((20 + ulen) >> 8);
		pkt[3] = (uint8_t)(20 + ulen);
		pkt[8] = 64;
		pkt[9] = 17;
		memcpy(pkt + 12, s.addr.bytes, 4);
		memcpy(pkt + 16, d.addr.bytes, 4);
		c = ref_sum(parts, lens, 1);
		pkt[10] = (uint8_t)(c >> 8);
		pkt[11] = (uint8_t)c;
	}
	pkt[hl] = (uint8_t)(s.port >> 8);
	pkt[hl + 1] = (uint8_t)s.port;
	pkt[hl + 2] = (uint8_t)(d.port >> 8);
	pkt[hl + 3] = (uint8_t)d.port;
	pkt[hl + 4] = (uint8_t)(ulen >> 8);
	pkt[hl + 5] = (uint8_t)ulen;
	memcpy(pkt + hl + 8, dns, len);
	c = ref_l4(pkt, &l4off);
	pkt[hl + 6] = (uint8_t)(c >> 8);
	pkt[hl + 7] = (uint8_t)c;
	return hl + ulen;
}

/* Check a reply packet from @from to @to: IP header, checksums; returns the DNS payload. */
static const uint8_t *check_udp_reply(const uint8_t *pkt, size_t len, const char *from,
				      const char *to, size_t *dlen)
{
	struct ip_endpoint f = ep(from), t = ep(to);
	size_t off;

	if (f.addr.family == IP_FAMILY_V4) {
		const uint8_t *parts[1] = {pkt};
		size_t lens[1] = {20};

		assert_int_equal(pkt[0], 0x45);
		assert_int_equal(pkt[2] << 8 | pkt[3], len);
		assert_int_equal(pkt[9], 17);
		assert_int_equal(pkt[8], 64);
		assert_int_equal(ref_sum(parts, lens, 1), 0);
		assert_memory_equal(pkt + 12, f.addr.bytes, 4);
		assert_memory_equal(pkt + 16, t.addr.bytes, 4);
	} else {
		assert_int_equal(pkt[0] >> 4, 6);
		assert_int_equal((pkt[4] << 8 | pkt[5]) + 40, len);
		assert_int_equal(pkt[6], 17);
		assert_memory_equal(pkt + 8, f.addr.bytes, 16);
		assert_memory_equal(pkt + 24, t.addr.bytes, 16);
	}
	assert_int_equal(ref_l4(pkt, &off), 0);
	assert_true(pkt[off + 6] || pkt[off + 7]); /* a checksum is always present */
	assert_int_equal(pkt[off] << 8 | pkt[off + 1], f.port);
	assert_int_equal(pkt[off + 2] << 8 | pkt[off + 3], t.port);
	assert_int_equal(pkt[off + 4] << 8 | pkt[off + 5], len - off);
	*dlen = len - off - 8;
	return pkt + off + 8;
}

static uint8_t outbuf[MAGICDNS_OUT_BUF];

static void test_udp_packets(void **state)
{
	struct magicdns *m = make(NULL);
	struct magicdns_output out;
	uint8_t q[512], pkt[1600];
	const uint8_t *dns;
	struct dnsmsg msg;
	size_t qlen, plen, dlen;

	(void)state;
	/* IPv4 */
	qlen = make_query(q, sizeof(q), "server.mesh.internal", DNS_TYPE_A, NULL);
	plen = udp_packet(pkt, "100.64.0.2:41000", "100.100.100.100:53", q, qlen);
	assert_true(magicdns_is_service_packet(pkt, plen));
	magicdns_output_init(&out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), 0);
	assert_int_equal(out.npackets, 1);
	assert_int_equal(out.nforwards, 0);
	dns = check_udp_reply(out.packets[0].data, out.packets[0].len, "100.100.100.100:53",
			      "100.64.0.2:41000", &dlen);
	assert_int_equal(dnsmsg_parse(dns, dlen, &msg), 0);
	assert_int_equal(msg.hdr.ancount, 1);

	/* IPv6, EDNS; a big answer truncated to fit. */
	qlen = make_query(q, sizeof(q), "big.mesh.internal", DNS_TYPE_AAAA,
			  &(struct query_opts){.edns = 1232});
	plen = udp_packet(pkt, "[fd7a:115c:a1e0::2]:5000", "[fd7a:115c:a1e0::53]:53", q, qlen);
	magicdns_output_init(&out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), 0);
	assert_int_equal(out.npackets, 1);
	dns = check_udp_reply(out.packets[0].data, out.packets[0].len, "[fd7a:115c:a1e0::53]:53",
			      "[fd7a:115c:a1e0::2]:5000", &dlen);
	assert_int_equal(dnsmsg_parse(dns, dlen, &msg), 0);
	assert_true(msg.hdr.flags & DNS_FLAG_TC);
	assert_true(msg.has_opt);

	/* Bad checksums (UDP, IPv4 header), every truncation: rejected, nothing sent. */
	qlen = make_query(q, sizeof(q), "server.mesh.internal", DNS_TYPE_A, NULL);
	plen = udp_packet(pkt, "100.64.0.2:41000", "100.100.100.100:53", q, qlen);
	pkt[plen - 1] ^= 1;
	magicdns_output_init(&out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), -EBADMSG);
	pkt[plen - 1] ^= 1;
	pkt[8] ^= 1;
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), -EBADMSG);
	pkt[8] ^= 1;
	for (size_t n = 0; n < plen; n++) {
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, pkt, n);
		assert_true(magicdns_handle_packet(m, cut, n, 0, &out) < 0);
		free(cut);
	}
	assert_int_equal(out.npackets, 0);
	/* Extra bytes after the IP total length are ignored. */
	assert_int_equal(magicdns_handle_packet(m, pkt, plen + 3, 0, &out), 0);
	assert_int_equal(out.npackets, 1);
	/* A zero UDP checksum: "none" over IPv4, invalid over IPv6. */
	pkt[26] = pkt[27] = 0;
	magicdns_output_init(&out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), 0);
	qlen = make_query(q, sizeof(q), "server.mesh.internal", DNS_TYPE_A, NULL);
	plen = udp_packet(pkt, "[fd7a:115c:a1e0::2]:5000", "[fd7a:115c:a1e0::53]:53", q, qlen);
	pkt[46] = pkt[47] = 0;
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), -EBADMSG);

	/* Not for us: another address, port, protocol; a fragment. */
	plen = udp_packet(pkt, "100.64.0.2:41000", "100.100.100.101:53", q, qlen);
	assert_false(magicdns_is_service_packet(pkt, plen));
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), -ENOENT);
	plen = udp_packet(pkt, "100.64.0.2:41000", "100.100.100.100:54", q, qlen);
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), -ENOENT);
	plen = udp_packet(pkt, "100.64.0.2:41000", "100.100.100.100:53", q, qlen);
	pkt[6] = 0x20; /* MF */
	pkt[10] = pkt[11] = 0;
	{
		const uint8_t *parts[1] = {pkt};
		size_t lens[1] = {20};
		uint16_t c = ref_sum(parts, lens, 1);

		pkt[10] = (uint8_t)(c >> 8);
		pkt[11] = (uint8_t)c;
	}
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), -ENOENT);
	magicdns_free(m);
}

static void test_udp_forward(void **state)
{
	struct magicdns *m = make(NULL);
	struct magicdns_output out;
	struct magicdns_forward fwd;
	uint8_t q[512], pkt[1600], reply[4096];
	struct dnsmsg_builder b;
	struct dns_name n = name_of("example.com");
	struct ip_addr a = ip("192.0.2.7");
	const uint8_t *dns;
	struct dnsmsg msg;
	size_t qlen, plen, dlen, rlen;

	(void)state;
	qlen = make_query(q, sizeof(q), "example.com", DNS_TYPE_A,
			  &(struct query_opts){.edns = 900});
	plen = udp_packet(pkt, "100.64.0.2:41000", "100.100.100.100:53", q, qlen);
	magicdns_output_init(&out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_packet(m, pkt, plen, 0, &out), 0);
	assert_int_equal(out.npackets, 0);
	assert_int_equal(out.nforwards, 1);
	fwd = out.forwards[0];
	assert_int_equal(fwd.len, qlen);
	assert_memory_equal(fwd.query, q, qlen);
	assert_int_equal(fwd.client.ipproto, 17);
	assert_true(ip_addr_equal(&fwd.client.client.addr, &server_addrs[0]) == false);
	assert_int_equal(fwd.client.client.addr.bytes[3], 2);
	assert_int_equal(fwd.client.client.port, 41000);
	assert_int_equal(fwd.client.server.port, 53);
	assert_int_equal(fwd.client.udp_limit, 900);
	assert_int_equal(fwd.upstreams.n, 2);

	/* The upstream's answer, relayed as is. */
	dnsmsg_builder_init(&b, reply, sizeof(reply), 0x4242, DNS_FLAG_QR | DNS_FLAG_RA);
	dnsmsg_add_question(&b, &n, DNS_TYPE_A, DNS_CLASS_IN);
	for (int i = 0; i < 60; i++) {
		a.bytes[3] = (uint8_t)i;
		assert_int_equal(dnsmsg_add_addr(&b, DNSMSG_ANSWER, &n, 300, &a), 0);
	}
	dnsmsg_add_opt(&b, 4096, 0, 0);
	rlen = dnsmsg_builder_finish(&b);
	assert_true(rlen > 900);
	magicdns_output_init(&out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_reply(m, &fwd.client, reply, 300, 0, &out), -EBADMSG);
	assert_int_equal(magicdns_handle_reply(m, &fwd.client, reply, rlen, 0, &out), 0);
	assert_int_equal(out.npackets, 1);
	dns = check_udp_reply(out.packets[0].data, out.packets[0].len, "100.100.100.100:53",
			      "100.64.0.2:41000", &dlen);
	/* Over the client's 900 bytes: truncated, TC. */
	assert_true(dlen <= 900);
	assert_int_equal(dnsmsg_parse(dns, dlen, &msg), 0);
	assert_true(msg.hdr.flags & DNS_FLAG_TC);
	assert_int_equal(msg.hdr.ancount, 0);
	/* A small one goes through byte for byte. */
	fwd.client.udp_limit = 4096;
	magicdns_output_init(&out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_reply(m, &fwd.client, reply, rlen, 0, &out), 0);
	dns = check_udp_reply(out.packets[0].data, out.packets[0].len, "100.100.100.100:53",
			      "100.64.0.2:41000", &dlen);
	assert_int_equal(dlen, rlen);
	assert_memory_equal(dns, reply, rlen);
	/* An output buffer too small: -ENOBUFS, nothing half-written counted. */
	magicdns_output_init(&out, outbuf, 100);
	assert_int_equal(magicdns_handle_reply(m, &fwd.client, reply, rlen, 0, &out), -ENOBUFS);
	assert_int_equal(out.npackets, 0);
	magicdns_free(m);
}

/* ---------------------------------------------------------------------------------------- */
/* TCP */

struct seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window, mss;
	const uint8_t *data;
	size_t len;
};

/* A TCP segment packet from the client, built by hand. */
static size_t tcp_packet(uint8_t *pkt, bool v6, uint16_t sport, const struct seg *s)
{
	struct ip_endpoint src = v6 ? ep("[fd7a:115c:a1e0::2]:1") : ep("100.64.0.2:1");
	struct ip_endpoint dst = v6 ? ep("[fd7a:115c:a1e0::53]:53") : ep("100.100.100.100:53");
	size_t hl = v6 ? 40 : 20, th = s->mss ? 24 : 20, tl = th + s->len, off;
	uint16_t c;

	memset(pkt, 0, hl + tl);
	if (v6) {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)(tl >> 8);
		pkt[5] = (uint8_t)tl;
		pkt[6] = 6;
		pkt[7] = 64;
		memcpy(pkt + 8, src.addr.bytes, 16);
		memcpy(pkt + 24, dst.addr.bytes, 16);
	} else {
		const uint8_t *parts[1] = {pkt};
		size_t lens[1] = {20};

		pkt[0] = 0x45;
		pkt[2] = (uint8_t)((20 + tl) >> 8);
		pkt[3] = (uint8_t)(20 + tl);
		pkt[8] = 64;
		pkt[9] = 6;
		memcpy(pkt + 12, src.addr.bytes, 4);
		memcpy(pkt + 16, dst.addr.bytes, 4);
		c = ref_sum(parts, lens, 1);
		pkt[10] = (uint8_t)(c >> 8);
		pkt[11] = (uint8_t)c;
	}
	uint8_t *t = pkt + hl;

	t[0] = (uint8_t)(sport >> 8);
	t[1] = (uint8_t)sport;
	t[3] = 53;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(s->seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(s->ack >> (24 - 8 * i));
	}
	t[12] = (uint8_t)(th / 4 << 4);
	t[13] = s->flags;
	t[14] = (uint8_t)(s->window >> 8);
	t[15] = (uint8_t)s->window;
	if (s->mss) {
		t[20] = 2;
		t[21] = 4;
		t[22] = (uint8_t)(s->mss >> 8);
		t[23] = (uint8_t)s->mss;
	}
	if (s->len)
		memcpy(t + th, s->data, s->len);
	c = ref_l4(pkt, &off);
	t[16] = (uint8_t)(c >> 8);
	t[17] = (uint8_t)c;
	return hl + tl;
}

/* A segment we sent, checked and decoded. */
struct got {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window, mss;
	const uint8_t *data;
	size_t len;
};

static struct got decode(const uint8_t *pkt, size_t len)
{
	struct got g = {0};
	size_t off, th;
	const uint8_t *t;

	assert_int_equal(ref_l4(pkt, &off), 0);
	if (pkt[0] >> 4 == 4) {
		const uint8_t *parts[1] = {pkt};
		size_t lens[1] = {20};

		assert_int_equal(ref_sum(parts, lens, 1), 0);
		assert_int_equal(pkt[9], 6);
	}
	t = pkt + off;
	assert_int_equal(t[0] << 8 | t[1], 53);
	th = (size_t)(t[12] >> 4) * 4;
	g.seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
	g.ack = (uint32_t)t[8] << 24 | (uint32_t)t[9] << 16 | (uint32_t)t[10] << 8 | t[11];
	g.flags = t[13];
	g.window = (uint16_t)(t[14] << 8 | t[15]);
	if (th == 24 && t[20] == 2)
		g.mss = (uint16_t)(t[22] << 8 | t[23]);
	g.data = t + th;
	g.len = len - off - th;
	return g;
}

enum tcp_test_flags { FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16 };

struct client {
	struct magicdns *m;
	struct magicdns_output out;
	bool v6;
	uint16_t port;
	uint32_t seq, ack; /* next to send, next expected */
	uint64_t now;
};

static void send_seg(struct client *c, uint8_t flags, const uint8_t *data, size_t len, uint16_t mss,
		     uint16_t window)
{
	uint8_t pkt[2048];
	struct seg s = {.seq = c->seq,
			.ack = c->ack,
			.flags = flags,
			.data = data,
			.len = len,
			.mss = mss,
			.window = window ? window : 65535};
	size_t n = tcp_packet(pkt, c->v6, c->port, &s);

	magicdns_output_init(&c->out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_packet(c->m, pkt, n, c->now, &c->out), 0);
}

static struct got out_seg(struct client *c, unsigned int i)
{
	assert_true(i < c->out.npackets);
	return decode(c->out.packets[i].data, c->out.packets[i].len);
}

static void handshake(struct client *c, uint16_t mss)
{
	struct got g;

	c->seq = 1000;
	send_seg(c, SYN, NULL, 0, mss, 0);
	assert_int_equal(c->out.npackets, 1);
	g = out_seg(c, 0);
	assert_int_equal(g.flags, SYN | ACK);
	assert_int_equal(g.ack, 1001);
	assert_true(g.mss > 0 && g.mss <= MAGICDNS_UDP_PAYLOAD_DEFAULT);
	c->seq = 1001;
	c->ack = g.seq + 1;
	send_seg(c, ACK, NULL, 0, 0, 0);
	assert_int_equal(c->out.npackets, 0);
}

/* Collect the data of every segment in out (checking sequence continuity). */
static size_t collect(struct client *c, uint8_t *buf, size_t cap, bool *fin)
{
	size_t n = 0;

	*fin = false;
	for (unsigned int i = 0; i < c->out.npackets; i++) {
		struct got g = out_seg(c, i);

		assert_true(g.flags & ACK);
		assert_int_equal(g.ack, c->seq);
		if (g.len || (g.flags & FIN)) {
			assert_int_equal(g.seq, c->ack);
			assert_true(n + g.len <= cap);
			memcpy(buf + n, g.data, g.len);
			n += g.len;
			c->ack += (uint32_t)g.len + !!(g.flags & FIN);
		}
		*fin = *fin || (g.flags & FIN);
	}
	return n;
}

static size_t framed_query(uint8_t *buf, const char *name, uint16_t type)
{
	size_t n = make_query(buf + 2, 510, name, type, NULL);

	buf[0] = (uint8_t)(n >> 8);
	buf[1] = (uint8_t)n;
	return n + 2;
}

static void assert_framed_answer(const uint8_t *buf, size_t len, unsigned int ancount)
{
	struct dnsmsg msg;

	assert_true(len >= 2);
	assert_int_equal((size_t)(buf[0] << 8 | buf[1]), len - 2);
	assert_int_equal(dnsmsg_parse(buf + 2, len - 2, &msg), 0);
	assert_int_equal(msg.hdr.ancount, ancount);
	assert_false(msg.hdr.flags & DNS_FLAG_TC);
}

static void test_tcp_exchange(void **state)
{
	struct client c = {.port = 40001};
	uint8_t q[600], data[8192];
	struct magicdns_stats st;
	size_t qlen, n;
	bool fin;

	(void)state;
	for (int v6 = 0; v6 < 2; v6++) {
		c.m = make(NULL);
		c.v6 = v6;
		handshake(&c, 1460);
		/* The query in two segments, the first cutting the length prefix. */
		qlen = framed_query(q, "server.mesh.internal", DNS_TYPE_ANY);
		send_seg(&c, ACK | PSH, q, 1, 0, 0);
		assert_int_equal(c.out.npackets, 1);
		assert_int_equal(out_seg(&c, 0).ack, 1002); /* acknowledged, no answer yet */
		assert_int_equal(out_seg(&c, 0).len, 0);
		c.seq += 1;
		send_seg(&c, ACK | PSH, q + 1, qlen - 1, 0, 0);
		c.seq += (uint32_t)(qlen - 1);
		n = collect(&c, data, sizeof(data), &fin);
		assert_false(fin);
		assert_framed_answer(data, n, 2);
		/* Our data acknowledged; then the client closes, we close too. */
		send_seg(&c, ACK, NULL, 0, 0, 0);
		assert_int_equal(c.out.npackets, 0);
		send_seg(&c, ACK | FIN, NULL, 0, 0, 0);
		c.seq++;
		n = collect(&c, data, sizeof(data), &fin);
		assert_int_equal(n, 0);
		assert_true(fin);
		send_seg(&c, ACK, NULL, 0, 0, 0);
		assert_int_equal(c.out.npackets, 0);
		/* The connection is gone: more data gets a reset. */
		send_seg(&c, ACK, q, 4, 0, 0);
		assert_int_equal(c.out.npackets, 1);
		assert_int_equal(out_seg(&c, 0).flags, RST);
		assert_int_equal(out_seg(&c, 0).seq, c.ack);
		magicdns_get_stats(c.m, &st);
		assert_int_equal(st.tcp_conns, 1);
		magicdns_free(c.m);
	}
}

static void test_tcp_pipelined_large(void **state)
{
	struct client c = {.port = 40002};
	uint8_t q[1200], data[16384];
	size_t q1, q2, n, total = 0;
	bool fin = false;

	(void)state;
	c.m = make(NULL);
	handshake(&c, 536);
	/* Two queries in one segment; the second's answer is ~2.8 kB, over MSS 536. */
	q1 = framed_query(q, "laptop.mesh.internal", DNS_TYPE_A);
	q2 = framed_query(q + q1, "big.mesh.internal", DNS_TYPE_AAAA);
	send_seg(&c, ACK | PSH, q, q1 + q2, 0, 0);
	c.seq += (uint32_t)(q1 + q2);
	assert_true(c.out.npackets > 5);
	for (unsigned int i = 0; i < c.out.npackets; i++)
		assert_true(out_seg(&c, i).len <= 536);
	n = collect(&c, data, sizeof(data), &fin);
	total = (size_t)(data[0] << 8 | data[1]) + 2;
	assert_framed_answer(data, total, 1);
	assert_framed_answer(data + total, n - total, 100);
	magicdns_free(c.m);

	/* A small client window: only that much in flight, the rest on its ACKs. */
	c = (struct client){.port = 40003, .m = make(NULL)};
	c.seq = 5000;
	send_seg(&c, SYN, NULL, 0, 1000, 0);
	c.ack = out_seg(&c, 0).seq + 1;
	c.seq = 5001;
	send_seg(&c, ACK, NULL, 0, 0, 1500);
	q2 = framed_query(q, "big.mesh.internal", DNS_TYPE_AAAA);
	send_seg(&c, ACK | PSH, q, q2, 0, 1500);
	c.seq += (uint32_t)q2;
	n = collect(&c, data, sizeof(data), &fin);
	assert_int_equal(n, 1500);
	total = n;
	while (!fin) {
		send_seg(&c, ACK, NULL, 0, 0, 1500);
		n = collect(&c, data + total, sizeof(data) - total, &fin);
		assert_true(n > 0 || fin);
		total += n;
		if (total >= (size_t)(data[0] << 8 | data[1]) + 2)
			break;
	}
	assert_framed_answer(data, total, 100);
	magicdns_free(c.m);
}

static void test_tcp_retransmissions(void **state)
{
	struct client c = {.port = 40004};
	uint8_t q[600], data[8192], again[8192];
	size_t qlen, n, n2;
	uint32_t ack_before;
	struct got g;
	bool fin;

	(void)state;
	c.m = make(NULL);
	/* A retransmitted SYN gets the same SYN-ACK. */
	c.seq = 77;
	send_seg(&c, SYN, NULL, 0, 1200, 0);
	g = out_seg(&c, 0);
	send_seg(&c, SYN, NULL, 0, 1200, 0);
	assert_int_equal(c.out.npackets, 1);
	assert_int_equal(out_seg(&c, 0).seq, g.seq);
	assert_int_equal(out_seg(&c, 0).flags, SYN | ACK);
	/* A wrong ACK of our SYN: reset. */
	c.seq = 78;
	c.ack = g.seq + 7;
	send_seg(&c, ACK, NULL, 0, 0, 0);
	assert_int_equal(out_seg(&c, 0).flags, RST);
	/* The connection is gone; a new one. */
	handshake(&c, 1200);
	qlen = framed_query(q, "server.mesh.internal", DNS_TYPE_A);
	send_seg(&c, ACK | PSH, q, qlen, 0, 0);
	c.seq += (uint32_t)qlen;
	ack_before = c.ack;
	n = collect(&c, data, sizeof(data), &fin);
	assert_framed_answer(data, n, 1);
	/* The client did not get our answer and sends the query again: we resend it. */
	c.ack = ack_before;
	c.seq -= (uint32_t)qlen;
	send_seg(&c, ACK | PSH, q, qlen, 0, 0);
	c.seq += (uint32_t)qlen;
	n2 = collect(&c, again, sizeof(again), &fin);
	assert_int_equal(n2, n);
	assert_memory_equal(again, data, n);
	/* Out-of-order data (a hole before it): only a duplicate ACK. */
	c.seq += 10;
	send_seg(&c, ACK | PSH, q, qlen, 0, 0);
	assert_int_equal(c.out.npackets, 1);
	assert_int_equal(out_seg(&c, 0).ack, c.seq - 10);
	assert_int_equal(out_seg(&c, 0).len, 0);
	c.seq -= 10;
	/* A SYN inside the connection: a challenge ACK, the connection stays. */
	send_seg(&c, SYN | ACK, NULL, 0, 0, 0);
	assert_int_equal(out_seg(&c, 0).flags, ACK);
	/* FIN, our FIN is lost, the client sends its FIN again: our FIN again. */
	send_seg(&c, ACK | FIN, NULL, 0, 0, 0);
	c.seq++;
	n = collect(&c, data, sizeof(data), &fin);
	assert_true(fin);
	c.ack--;
	c.seq--;
	send_seg(&c, ACK | FIN, NULL, 0, 0, 0);
	c.seq++;
	n = collect(&c, data, sizeof(data), &fin);
	assert_true(fin);
	/* A reset with a wrong sequence is ignored, an exact one closes. */
	c.seq += 5;
	send_seg(&c, RST, NULL, 0, 0, 0);
	c.seq -= 5;
	send_seg(&c, ACK, NULL, 0, 0, 0);
	assert_int_equal(c.out.npackets, 0); /* our FIN acked: done, silently */
	send_seg(&c, ACK, NULL, 0, 0, 0);
	assert_int_equal(out_seg(&c, 0).flags, RST); /* gone */
	magicdns_free(c.m);
}

static void test_tcp_forward_and_limits(void **state)
{
	struct client c = {.port = 40005}, d;
	uint8_t q[600], data[8192], reply[600];
	struct magicdns_forward fwd;
	struct magicdns_output out;
	struct dnsmsg_builder b;
	struct dns_name n = name_of("example.com");
	size_t qlen, len, rlen;
	bool fin;

	(void)state;
	c.m = make(&(struct magicdns_options){.tcp_conns = 2});
	handshake(&c, 1200);
	qlen = framed_query(q, "example.com", DNS_TYPE_A);
	send_seg(&c, ACK | PSH, q, qlen, 0, 0);
	c.seq += (uint32_t)qlen;
	assert_int_equal(c.out.nforwards, 1);
	assert_int_equal(c.out.npackets, 1); /* the ACK */
	fwd = c.out.forwards[0];
	assert_int_equal(fwd.client.ipproto, 6);
	assert_int_equal(fwd.len, qlen - 2);
	assert_memory_equal(fwd.query, q + 2, qlen - 2);
	/* The client half-closes before the answer: we wait for it. */
	send_seg(&c, ACK | FIN, NULL, 0, 0, 0);
	c.seq++;
	len = collect(&c, data, sizeof(data), &fin);
	assert_int_equal(len, 0);
	assert_false(fin);
	/* The answer arrives: data, then our FIN. */
	dnsmsg_builder_init(&b, reply, sizeof(reply), 0x4242, DNS_FLAG_QR);
	dnsmsg_add_question(&b, &n, DNS_TYPE_A, DNS_CLASS_IN);
	dnsmsg_add_addr(&b, DNSMSG_ANSWER, &n, 60, &(struct ip_addr){4, {192, 0, 2, 1}});
	rlen = dnsmsg_builder_finish(&b);
	magicdns_output_init(&c.out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_reply(c.m, &fwd.client, reply, rlen, 0, &c.out), 0);
	len = collect(&c, data, sizeof(data), &fin);
	assert_true(fin);
	assert_int_equal(len, rlen + 2);
	assert_memory_equal(data + 2, reply, rlen);
	send_seg(&c, ACK, NULL, 0, 0, 0);
	/* A late answer for the closed connection goes nowhere. */
	magicdns_output_init(&out, outbuf, sizeof(outbuf));
	assert_int_equal(magicdns_handle_reply(c.m, &fwd.client, reply, rlen, 0, &out), -ENOENT);

	/* Two connections allowed: the third SYN is reset, until one expires. */
	d = c;
	d.port = 41000;
	handshake(&d, 1200);
	d.port = 41001;
	handshake(&d, 1200);
	d.port = 41002;
	d.seq = 9;
	send_seg(&d, SYN, NULL, 0, 1200, 0);
	assert_int_equal(out_seg(&d, 0).flags, RST | ACK);
	assert_int_equal(out_seg(&d, 0).ack, 10);
	d.now += MAGICDNS_TCP_IDLE_MS;
	send_seg(&d, SYN, NULL, 0, 1200, 0);
	assert_int_equal(out_seg(&d, 0).flags, SYN | ACK);
	/* A query larger than we accept: reset. */
	d.seq = 10;
	d.ack = out_seg(&d, 0).seq + 1;
	send_seg(&d, ACK, NULL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	data[0] = 0x10;
	send_seg(&d, ACK, data, 1100, 0, 0);
	assert_int_equal(out_seg(&d, 0).flags & RST, RST);
	magicdns_free(c.m);
}

/* Random bytes and mutated real packets: handled or rejected, never a crash. */
static void test_packet_fuzz(void **state)
{
	struct magicdns *m = make(NULL);
	struct magicdns_output out;
	uint8_t q[512], base[2][1600], pkt[1600];
	size_t qlen, blen[2];
	struct seg s = {.seq = 1, .flags = SYN, .mss = 500, .window = 1000};

	(void)state;
	qlen = make_query(q, sizeof(q), "server.mesh.internal", DNS_TYPE_A, NULL);
	blen[0] = udp_packet(base[0], "100.64.0.2:41000", "100.100.100.100:53", q, qlen);
	blen[1] = tcp_packet(base[1], false, 7, &s);
	for (int iter = 0; iter < 20000; iter++) {
		int which = (int)(rnd() % 2);
		size_t len = blen[which];

		memcpy(pkt, base[which], len);
		for (unsigned int k = rnd() % 3 + 1; k--;)
			pkt[rnd() % len] = (uint8_t)rnd();
		if (rnd() % 4 == 0)
			len = rnd() % (len + 1);
		magicdns_output_init(&out, outbuf, sizeof(outbuf));
		magicdns_handle_packet(m, pkt, len, (uint64_t)iter, &out);
		for (unsigned int i = 0; i < out.npackets; i++) {
			size_t off;

			assert_int_equal(ref_l4(out.packets[i].data, &off), 0);
		}
	}
	magicdns_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_ptr),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_edns_and_errors),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_replace_records),
		cmocka_unit_test(test_property_model),
		cmocka_unit_test(test_udp_packets),
		cmocka_unit_test(test_udp_forward),
		cmocka_unit_test(test_tcp_exchange),
		cmocka_unit_test(test_tcp_pipelined_large),
		cmocka_unit_test(test_tcp_retransmissions),
		cmocka_unit_test(test_tcp_forward_and_limits),
		cmocka_unit_test(test_packet_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
