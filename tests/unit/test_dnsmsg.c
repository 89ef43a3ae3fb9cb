// SPDX-License-Identifier: MIT
/*
 * DNS codec: queries captured from a real client (BIND's dig 9.18), a
 * hand-assembled compressed response, every truncation rejected,
 * compression loops and forward pointers, oversized names and labels, the
 * RDATA shape rules, EDNS0 rules, the builder (compression, rollback on
 * overflow, section order), error replies and truncation, the name helpers,
 * and property tests: random messages built from a model parse back to
 * the model, random corruptions never crash.
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

/* dig @127.0.0.1 Server.Mesh.Internal A (EDNS 1232 with a COOKIE option, RD and AD set) */
static const uint8_t dig_a[] = {
	0x5e, 0x83, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x06,
	0x53, 0x65, 0x72, 0x76, 0x65, 0x72, 0x04, 0x4d, 0x65, 0x73, 0x68, 0x08, 0x49,
	0x6e, 0x74, 0x65, 0x72, 0x6e, 0x61, 0x6c, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
	0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0a, 0x00,
	0x08, 0xc4, 0xa3, 0x74, 0x47, 0xf3, 0xa7, 0x56, 0xc6,
};

/* dig +noedns laptop.mesh.internal AAAA */
static const uint8_t dig_aaaa_noedns[] = {
	0x2b, 0x59, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06,
	0x6c, 0x61, 0x70, 0x74, 0x6f, 0x70, 0x04, 0x6d, 0x65, 0x73, 0x68, 0x08, 0x69,
	0x6e, 0x74, 0x65, 0x72, 0x6e, 0x61, 0x6c, 0x00, 0x00, 0x1c, 0x00, 0x01,
};

/* dig -x 100.64.0.1 */
static const uint8_t dig_ptr[] = {
	0x2d, 0x76, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01,
	0x31, 0x01, 0x30, 0x02, 0x36, 0x34, 0x03, 0x31, 0x30, 0x30, 0x07, 0x69, 0x6e,
	0x2d, 0x61, 0x64, 0x64, 0x72, 0x04, 0x61, 0x72, 0x70, 0x61, 0x00, 0x00, 0x0c,
	0x00, 0x01, 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0c,
	0x00, 0x0a, 0x00, 0x08, 0xcc, 0x59, 0x8a, 0x55, 0x0e, 0xc0, 0x6f, 0x80,
};

/* dig +bufsize=4096 +dnssec +nocookie example.com MX (DO bit set) */
static const uint8_t dig_mx_do[] = {
	0xcc, 0xab, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x07, 0x65,
	0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x03, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x0f, 0x00,
	0x01, 0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
};

/*
 * A response assembled by hand, with compression everywhere it is allowed:
 *   question   www.example.com A IN                         (offset 12)
 *   answer     www.example.com CNAME web.example.com        (owner c00c, target 03web c010)
 *   answer     web.example.com A 192.0.2.1                  (owner c02d: the CNAME's RDATA)
 *   authority  example.com SOA ns1.example.com hostmaster.example.com 7 3600 600 86400 10
 *   additional OPT udp 1232
 */
static const uint8_t hand_resp[] = "\x12\x34\x81\x80\x00\x01\x00\x02\x00\x01\x00\x01"
				   /* 12: question */
				   "\x03"
				   "www"
				   "\x07"
				   "example"
				   "\x03"
				   "com"
				   "\x00"
				   "\x00\x01\x00\x01"
				   /* 33: CNAME, RDATA at 45: web.example.com */
				   "\xc0\x0c\x00\x05\x00\x01\x00\x00\x01\x2c\x00\x06"
				   "\x03"
				   "web"
				   "\xc0\x10"
				   /* 51: A */
				   "\xc0\x2d\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04"
				   "\xc0\x00\x02\x01"
				   /* 67: SOA */
				   "\xc0\x10\x00\x06\x00\x01\x00\x00\x00\x0a\x00\x27"
				   "\x03"
				   "ns1"
				   "\xc0\x10"
				   "\x0a"
				   "hostmaster"
				   "\xc0\x10"
				   "\x00\x00\x00\x07\x00\x00\x0e\x10\x00\x00\x02\x58"
				   "\x00\x01\x51\x80\x00\x00\x00\x0a"
				   /* OPT */
				   "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00";

#define HAND_LEN (sizeof(hand_resp) - 1)

static struct dns_name name_of(const char *text)
{
	struct dns_name n;

	assert_int_equal(dns_name_from_text(&n, text), 0);
	return n;
}

static void assert_name_text(const struct dns_name *n, const char *want)
{
	char buf[DNS_NAME_TEXT_MAX];

	assert_true(dns_name_to_text(n, buf, sizeof(buf)) >= 0);
	assert_string_equal(buf, want);
}

/* Every strict prefix of a valid message fails, never reading past it (ASan checks). */
static void assert_prefixes_rejected(const uint8_t *msg, size_t len)
{
	struct dnsmsg m;

	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1);

		memcpy(copy, msg, n);
		assert_int_equal(dnsmsg_parse(copy, n, &m), -EBADMSG);
		free(copy);
	}
}

static void test_dig_queries(void **state)
{
	struct dnsmsg m;

	(void)state;
	assert_int_equal(dnsmsg_parse(dig_a, sizeof(dig_a), &m), 0);
	assert_int_equal(m.hdr.id, 0x5e83);
	assert_int_equal(m.hdr.flags, DNS_FLAG_RD | DNS_FLAG_AD);
	assert_int_equal(m.hdr.qdcount, 1);
	assert_int_equal(m.hdr.arcount, 1);
	assert_true(m.has_question);
	assert_name_text(&m.qname, "Server.Mesh.Internal"); /* the client's case, kept */
	assert_int_equal(m.qtype, DNS_TYPE_A);
	assert_int_equal(m.qclass, DNS_CLASS_IN);
	assert_true(m.has_opt);
	assert_int_equal(m.udp_size, 1232);
	assert_int_equal(m.edns_version, 0);
	assert_int_equal(m.edns_flags, 0);
	assert_int_equal(dnsmsg_udp_limit(&m), 1232);
	assert_int_equal(m.question_end, 38);
	assert_int_equal(m.opt_off, 38);
	assert_int_equal(m.opt_len, sizeof(dig_a) - 38);
	assert_int_equal(m.end, sizeof(dig_a));
	assert_int_equal(m.trailing, 0);
	assert_int_equal(dnsmsg_rcode(&m), 0);

	assert_int_equal(dnsmsg_parse(dig_aaaa_noedns, sizeof(dig_aaaa_noedns), &m), 0);
	assert_false(m.has_opt);
	assert_int_equal(m.qtype, DNS_TYPE_AAAA);
	assert_int_equal(dnsmsg_udp_limit(&m), 512);
	assert_name_text(&m.qname, "laptop.mesh.internal");

	assert_int_equal(dnsmsg_parse(dig_ptr, sizeof(dig_ptr), &m), 0);
	assert_int_equal(m.qtype, DNS_TYPE_PTR);
	assert_name_text(&m.qname, "1.0.64.100.in-addr.arpa");
	assert_int_equal(m.qname.labels, 6);

	assert_int_equal(dnsmsg_parse(dig_mx_do, sizeof(dig_mx_do), &m), 0);
	assert_int_equal(m.qtype, DNS_TYPE_MX);
	assert_int_equal(m.udp_size, 4096);
	assert_int_equal(m.edns_flags, DNS_EDNS_FLAG_DO);

	assert_prefixes_rejected(dig_a, sizeof(dig_a));
	assert_prefixes_rejected(dig_aaaa_noedns, sizeof(dig_aaaa_noedns));
	assert_prefixes_rejected(dig_ptr, sizeof(dig_ptr));
	assert_prefixes_rejected(dig_mx_do, sizeof(dig_mx_do));
}

static void test_hand_response(void **state)
{
	struct dnsmsg m;
	struct dnsmsg_rr rr;
	struct dns_name n;
	struct dns_soa soa;
	size_t off;

	(void)state;
	assert_int_equal(dnsmsg_parse(hand_resp, HAND_LEN, &m), 0);
	assert_int_equal(m.hdr.flags & DNS_FLAG_QR, DNS_FLAG_QR);
	assert_int_equal(m.question_end, 33);
	assert_int_equal(m.authority_off, 67);
	assert_int_equal(m.additional_off, HAND_LEN - 11);
	assert_true(m.has_opt);

	off = m.question_end;
	assert_int_equal(dnsmsg_read_rr(hand_resp, HAND_LEN, &off, &rr), 0);
	assert_name_text(&rr.name, "www.example.com");
	assert_int_equal(rr.type, DNS_TYPE_CNAME);
	assert_int_equal(rr.ttl, 300);
	assert_int_equal(dnsmsg_rdata_name(hand_resp, HAND_LEN, &rr, &n), 0);
	assert_name_text(&n, "web.example.com");
	assert_int_equal(dnsmsg_rdata_soa(hand_resp, HAND_LEN, &rr, &soa), -EINVAL);

	assert_int_equal(dnsmsg_read_rr(hand_resp, HAND_LEN, &off, &rr), 0);
	assert_name_text(&rr.name, "web.example.com"); /* a pointer into RDATA */
	assert_int_equal(rr.type, DNS_TYPE_A);
	assert_int_equal(rr.rdlen, 4);
	assert_memory_equal(hand_resp + rr.rdata_off, "\xc0\x00\x02\x01", 4);

	assert_int_equal(off, m.authority_off);
	assert_int_equal(dnsmsg_read_rr(hand_resp, HAND_LEN, &off, &rr), 0);
	assert_name_text(&rr.name, "example.com");
	assert_int_equal(dnsmsg_rdata_soa(hand_resp, HAND_LEN, &rr, &soa), 0);
	assert_name_text(&soa.mname, "ns1.example.com");
	assert_name_text(&soa.rname, "hostmaster.example.com");
	assert_int_equal(soa.serial, 7);
	assert_int_equal(soa.refresh, 3600);
	assert_int_equal(soa.retry, 600);
	assert_int_equal(soa.expire, 86400);
	assert_int_equal(soa.minimum, 10);
	assert_prefixes_rejected(hand_resp, HAND_LEN);
}

/* A message of a header with qdcount 1 and @body as the question (name + type/class). */
static size_t question_msg(uint8_t *buf, const uint8_t *body, size_t len)
{
	static const uint8_t h[12] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};

	memcpy(buf, h, sizeof(h));
	memcpy(buf + 12, body, len);
	return 12 + len;
}

static void test_compression_loops(void **state)
{
	uint8_t buf[1024];
	struct dnsmsg m;
	struct dns_name n;
	size_t len, next;

	(void)state;
	/* A pointer to itself. */
	len = question_msg(buf, (const uint8_t *)"\xc0\x0c\x00\x01\x00\x01", 6);
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG);
	/* A forward pointer (to a valid name further on). */
	len = question_msg(buf,
			   (const uint8_t *)"\xc0\x0e\x01"
					    "a\x00\x00\x01\x00\x01",
			   9);
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG);
	/* Two labels then a pointer back to the start of the same name: a loop. */
	len = question_msg(buf,
			   (const uint8_t *)"\x01"
					    "a\x01"
					    "b\xc0\x0c\x00\x01\x00\x01",
			   10);
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG);
	/* Two pointers pointing at each other. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 12, "\xc0\x0e\xc0\x0c", 4);
	assert_int_equal(dnsmsg_read_name(buf, 16, 12, &n, NULL), -EBADMSG);
	assert_int_equal(dnsmsg_read_name(buf, 16, 14, &n, NULL), -EBADMSG);
	/* Pointer into the header that happens to look like a name: allowed, backwards. */
	memset(buf, 0, 12);
	buf[2] = 1;
	buf[3] = 'x';
	memcpy(buf + 12, "\x01y\xc0\x02", 4);
	assert_int_equal(dnsmsg_read_name(buf, 16, 12, &n, &next), 0);
	assert_name_text(&n, "y.x");
	assert_int_equal(next, 16);
	/* Pointer with its second byte missing. */
	assert_int_equal(dnsmsg_read_name(buf, 15, 14, &n, NULL), -EBADMSG);
	/* Extended label types 0x40 and 0x80. */
	buf[12] = 0x41;
	assert_int_equal(dnsmsg_read_name(buf, 16, 12, &n, NULL), -EBADMSG);
	buf[12] = 0x81;
	assert_int_equal(dnsmsg_read_name(buf, 16, 12, &n, NULL), -EBADMSG);
}

/* A chain of pointers each to the previous one, ending in "a.": hops = position in the chain. */
static void test_pointer_chain(void **state)
{
	uint8_t buf[12 + 3 + 2 * 200];
	struct dns_name n;
	size_t off = 15;

	(void)state;
	memset(buf, 0, 12);
	memcpy(buf + 12,
	       "\x01"
	       "a\x00",
	       3);
	for (unsigned int i = 0; i < 200; i++) {
		size_t target = i == 0 ? 12 : off - 2;

		buf[off] = (uint8_t)(0xc0 | target >> 8);
		buf[off + 1] = (uint8_t)target;
		off += 2;
	}
	for (unsigned int i = 0; i < 200; i++) {
		int ret = dnsmsg_read_name(buf, sizeof(buf), 15 + 2 * i, &n, NULL);

		if (i + 1 <= DNSMSG_PTR_HOPS_MAX) {
			assert_int_equal(ret, 0);
			assert_name_text(&n, "a");
		} else {
			assert_int_equal(ret, -EBADMSG);
		}
	}
}

static void test_name_lengths(void **state)
{
	uint8_t buf[600];
	struct dns_name n;
	size_t o = 0;

	(void)state;
	/* 63+63+63+61 labels: 255 bytes on the wire, the maximum. */
	for (int l = 0; l < 4; l++) {
		size_t ll = l < 3 ? 63 : 61;

		buf[o++] = (uint8_t)ll;
		memset(buf + o, 'a' + l, ll);
		o += ll;
	}
	buf[o++] = 0;
	assert_int_equal(o, 255);
	assert_int_equal(dnsmsg_read_name(buf, o, 0, &n, NULL), 0);
	assert_int_equal(n.len, 255);
	assert_int_equal(n.labels, 4);
	/* One byte more: 256. */
	buf[o - 1] = 1;
	buf[o] = 'z';
	buf[o + 1] = 0;
	buf[0] = 63;
	assert_int_equal(dnsmsg_read_name(buf, o + 2, 0, &n, NULL), -EBADMSG);
	/* The same overflow reached through a pointer. */
	memset(buf, 0, sizeof(buf));
	buf[0] = 63;
	memset(buf + 1, 'b', 63);
	buf[64] = 0;
	o = 65;
	for (int l = 0; l < 3; l++) {
		buf[o] = 63;
		memset(buf + o + 1, 'c', 63);
		o += 64;
	}
	buf[o++] = 0xc0;
	buf[o++] = 0x00;
	assert_int_equal(dnsmsg_read_name(buf, o, 65, &n, NULL), -EBADMSG);
	/* A label longer than what is left. */
	memcpy(buf,
	       "\x05"
	       "ab",
	       3);
	assert_int_equal(dnsmsg_read_name(buf, 3, 0, &n, NULL), -EBADMSG);
	/* An empty buffer, an offset past the end. */
	assert_int_equal(dnsmsg_read_name(buf, 0, 0, &n, NULL), -EBADMSG);
	assert_int_equal(dnsmsg_read_name(buf, 3, 7, &n, NULL), -EBADMSG);
}

/* Replace the A record of a one-answer response with @rr (type, class, ttl, rdlen, rdata). */
static size_t answer_msg(uint8_t *buf, const uint8_t *rr, size_t rrlen)
{
	static const uint8_t h[] = {0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0,
				    0, 0, 1,	'a',  0, 0, 1, 0, 1};

	memcpy(buf, h, sizeof(h));
	buf[sizeof(h)] = 0xc0;
	buf[sizeof(h) + 1] = 0x0c;
	memcpy(buf + sizeof(h) + 2, rr, rrlen);
	return sizeof(h) + 2 + rrlen;
}

static void test_rdata_shapes(void **state)
{
	uint8_t buf[256];
	struct dnsmsg m;
	size_t len;

	(void)state;
#define RR(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})
	len = answer_msg(buf, RR(0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4));
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0);
	len = answer_msg(buf, RR(0, 1, 0, 1, 0, 0, 0, 5, 0, 5, 1, 2, 3, 4, 5));
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG); /* A with 5 bytes */
	len = answer_msg(buf, RR(0, 1, 0, 3, 0, 0, 0, 5, 0, 5, 1, 2, 3, 4, 5));
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0); /* class CH: opaque */
	len = answer_msg(buf, RR(0, 28, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4));
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG); /* AAAA with 4 bytes */
	len = answer_msg(buf, RR(0, 12, 0, 1, 0, 0, 0, 5, 0, 3, 1, 'b', 0));
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0);
	len = answer_msg(buf, RR(0, 12, 0, 1, 0, 0, 0, 5, 0, 4, 1, 'b', 0, 0));
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG); /* PTR with a trailing byte */
	len = answer_msg(buf, RR(0, 5, 0, 1, 0, 0, 0, 5, 0, 2, 0xc0, 0x0c));
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0); /* CNAME, compressed */
	len = answer_msg(buf, RR(0, 5, 0, 1, 0, 0, 0, 5, 0, 1, 0xc0, 0x0c));
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG); /* name cut by RDLENGTH */
	len = answer_msg(buf, RR(0, 15, 0, 1, 0, 0, 0, 5, 0, 4, 0, 10, 0xc0, 0x0c));
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0); /* MX */
	len = answer_msg(buf, RR(0, 15, 0, 1, 0, 0, 0, 5, 0, 2, 0, 10));
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG); /* MX without exchange */
	len = answer_msg(buf, RR(0, 6, 0, 1, 0, 0, 0, 5, 0, 23, 0xc0, 0x0c, 0xc0, 0x0c, 0, 0, 0, 1,
				 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5));
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG); /* SOA one byte short */
	len = answer_msg(buf, RR(0, 6, 0, 1, 0, 0, 0, 5, 0, 24, 0xc0, 0x0c, 0xc0, 0x0c, 0, 0, 0, 1,
				 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5));
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0);
	len = answer_msg(buf, RR(0, 99, 0, 1, 0, 0, 0, 5, 0, 3, 0xff, 0xc0, 0xff));
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0); /* unknown type: opaque */
	len = answer_msg(buf, RR(0, 16, 0, 1, 0, 0, 0, 5, 0, 9, 1, 2, 3));
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG); /* RDLENGTH past the end */
	/* Trailing bytes are tolerated and counted. */
	len = answer_msg(buf, RR(0, 1, 0, 1, 0, 0, 0, 5, 0, 4, 1, 2, 3, 4, 0xee, 0xee));
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0);
	assert_int_equal(m.trailing, 2);
#undef RR
}

static void test_opt_rules(void **state)
{
	uint8_t buf[256];
	struct dnsmsg m;
	size_t len = sizeof(dig_mx_do);

	(void)state;
	/* Two OPT records. */
	memcpy(buf, dig_mx_do, len);
	memcpy(buf + len, dig_mx_do + 29, 11);
	buf[11] = 2;
	assert_int_equal(dnsmsg_parse(buf, len + 11, &m), -EBADMSG);
	/* The OPT in the answer section. */
	memcpy(buf, dig_mx_do, len);
	buf[7] = 1;
	buf[11] = 0;
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG);
	/* ... and in the authority section. */
	buf[7] = 0;
	buf[9] = 1;
	assert_int_equal(dnsmsg_parse(buf, len, &m), -EBADMSG);
	/* A non-root owner: "a." */
	memcpy(buf, dig_mx_do, 29);
	memcpy(buf + 29,
	       "\x01"
	       "a\x00",
	       3);
	memcpy(buf + 32, dig_mx_do + 30, 10);
	assert_int_equal(dnsmsg_parse(buf, len + 2, &m), -EBADMSG);
	/* Options: one well formed (code 10, 8 bytes) fine; a length past RDATA not. */
	memcpy(buf, dig_a, sizeof(dig_a));
	assert_int_equal(dnsmsg_parse(buf, sizeof(dig_a), &m), 0);
	buf[sizeof(dig_a) - 9] = 9;
	assert_int_equal(dnsmsg_parse(buf, sizeof(dig_a), &m), -EBADMSG);
	/* A three-byte option header. */
	memcpy(buf, dig_mx_do, len);
	buf[len - 1] = 3;
	memcpy(buf + len, "\x00\x0a\x00", 3);
	assert_int_equal(dnsmsg_parse(buf, len + 3, &m), -EBADMSG);
	/* Extended rcode bits and version. */
	memcpy(buf, dig_mx_do, len);
	buf[3] |= 0x03;
	buf[len - 6] = 0x01; /* ext rcode 1: 16 + 3 */
	buf[len - 5] = 0x02;
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0);
	assert_int_equal(dnsmsg_rcode(&m), 19);
	assert_int_equal(m.edns_version, 2);
	/* A tiny advertised size counts as 512. */
	memcpy(buf, dig_mx_do, len);
	buf[len - 8] = 0;
	buf[len - 7] = 100;
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0);
	assert_int_equal(dnsmsg_udp_limit(&m), 512);
}

static void test_builder_round_trip(void **state)
{
	uint8_t buf[1024];
	struct dnsmsg_builder b;
	struct dns_name q = name_of("Host.Mesh.Internal"), zone = name_of("mesh.internal");
	struct dns_name target = name_of("other.mesh.internal");
	struct ip_addr a4, a6;
	struct dns_soa soa = {.mname = zone,
			      .rname = name_of("hostmaster.mesh.internal"),
			      .serial = 42,
			      .refresh = 1,
			      .retry = 2,
			      .expire = 3,
			      .minimum = 4};
	struct dnsmsg m;
	struct dnsmsg_rr rr;
	struct dns_name n;
	struct dns_soa got;
	size_t len, off;

	(void)state;
	assert_int_equal(ip_addr_parse(&a4, "100.64.0.1", NULL), 0);
	assert_int_equal(ip_addr_parse(&a6, "fd7a:115c:a1e0::1", NULL), 0);
	dnsmsg_builder_init(&b, buf, sizeof(buf), 0xbeef, DNS_FLAG_QR | DNS_FLAG_AA);
	assert_int_equal(dnsmsg_add_question(&b, &q, DNS_TYPE_ANY, DNS_CLASS_IN), 0);
	assert_int_equal(dnsmsg_add_addr(&b, DNSMSG_ANSWER, &q, 5, &a4), 0);
	assert_int_equal(dnsmsg_add_addr(&b, DNSMSG_ANSWER, &q, 5, &a6), 0);
	assert_int_equal(dnsmsg_add_name_rr(&b, DNSMSG_ANSWER, &q, DNS_TYPE_CNAME, 5, &target), 0);
	assert_int_equal(dnsmsg_add_soa(&b, DNSMSG_AUTHORITY, &zone, 10, &soa), 0);
	assert_int_equal(dnsmsg_add_opt(&b, 1232, 0, DNS_EDNS_FLAG_DO), 0);
	/* Going back a section is refused. */
	assert_int_equal(dnsmsg_add_addr(&b, DNSMSG_ANSWER, &q, 5, &a4), -EINVAL);
	assert_int_equal(dnsmsg_add_question(&b, &q, DNS_TYPE_A, DNS_CLASS_IN), -EINVAL);
	len = dnsmsg_builder_finish(&b);
	assert_true(len > 0);

	/* The answers' owners point at the question. */
	assert_memory_equal(buf + 12 + q.len + 4, "\xc0\x0c", 2);
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0);
	assert_int_equal(m.hdr.id, 0xbeef);
	assert_int_equal(m.hdr.ancount, 3);
	assert_int_equal(m.hdr.nscount, 1);
	assert_int_equal(m.hdr.arcount, 1);
	assert_int_equal(m.edns_flags, DNS_EDNS_FLAG_DO);
	assert_int_equal(m.udp_size, 1232);
	off = m.question_end;
	assert_int_equal(dnsmsg_read_rr(buf, len, &off, &rr), 0);
	assert_name_text(&rr.name, "Host.Mesh.Internal");
	assert_int_equal(rr.type, DNS_TYPE_A);
	assert_memory_equal(buf + rr.rdata_off, a4.bytes, 4);
	assert_int_equal(dnsmsg_read_rr(buf, len, &off, &rr), 0);
	assert_int_equal(rr.type, DNS_TYPE_AAAA);
	assert_memory_equal(buf + rr.rdata_off, a6.bytes, 16);
	assert_int_equal(dnsmsg_read_rr(buf, len, &off, &rr), 0);
	assert_int_equal(dnsmsg_rdata_name(buf, len, &rr, &n), 0);
	assert_true(dns_name_equal(&n, &target));
	/* "other" + pointer to "Mesh.Internal" inside the question: 6 + 2 bytes. */
	assert_int_equal(rr.rdlen, 8);
	assert_int_equal(dnsmsg_read_rr(buf, len, &off, &rr), 0);
	assert_int_equal(dnsmsg_rdata_soa(buf, len, &rr, &got), 0);
	assert_true(dns_name_equal(&got.mname, &zone));
	assert_true(dns_name_equal(&got.rname, &soa.rname));
	assert_int_equal(got.serial, 42);
	assert_int_equal(got.minimum, 4);
	assert_int_equal(rr.ttl, 10);
	/* Both SOA names compressed to 2 bytes, the rname as 1+10 + 2. */
	assert_int_equal(rr.rdlen, 2 + 13 + 20);
}

static void test_builder_overflow(void **state)
{
	uint8_t buf[64];
	struct dnsmsg_builder b;
	struct dns_name q = name_of("a-rather-long-name.example.com");
	struct ip_addr a6;
	struct dnsmsg m;
	size_t before, len;
	int ret;

	(void)state;
	assert_int_equal(ip_addr_parse(&a6, "2001:db8::1", NULL), 0);
	dnsmsg_builder_init(&b, buf, sizeof(buf), 7, DNS_FLAG_QR);
	assert_int_equal(dnsmsg_add_question(&b, &q, DNS_TYPE_AAAA, DNS_CLASS_IN), 0);
	before = b.len;
	ret = dnsmsg_add_addr(&b, DNSMSG_ANSWER, &q, 5, &a6);
	assert_int_equal(ret, -EMSGSIZE);
	assert_int_equal(b.len, before);
	assert_int_equal(b.counts[DNSMSG_ANSWER], 0);
	assert_int_equal(dnsmsg_add_opt(&b, 512, 0, 0), 0);
	len = dnsmsg_builder_finish(&b);
	assert_int_equal(dnsmsg_parse(buf, len, &m), 0);
	assert_int_equal(m.hdr.ancount, 0);
	assert_true(m.has_opt);
	/* Too small for a header: everything fails, finish gives 0. */
	dnsmsg_builder_init(&b, buf, 11, 7, 0);
	assert_int_equal(dnsmsg_add_question(&b, &q, DNS_TYPE_A, DNS_CLASS_IN), -EMSGSIZE);
	assert_int_equal(dnsmsg_builder_finish(&b), 0);
	/* Every capacity: a valid message or a clean failure, never a write past cap. */
	for (size_t cap = 0; cap <= sizeof(buf); cap++) {
		uint8_t *p = malloc(cap ? cap : 1);

		dnsmsg_builder_init(&b, p, cap, 1, DNS_FLAG_QR);
		dnsmsg_add_question(&b, &q, DNS_TYPE_AAAA, DNS_CLASS_IN);
		dnsmsg_add_addr(&b, DNSMSG_ANSWER, &q, 5, &a6);
		dnsmsg_add_opt(&b, 512, 0, 0);
		len = dnsmsg_builder_finish(&b);
		if (cap >= 12)
			assert_int_equal(dnsmsg_parse(p, len, &m), 0);
		else
			assert_int_equal(len, 0);
		free(p);
	}
}

static void test_build_error(void **state)
{
	uint8_t out[512], bad[sizeof(dig_a)];
	struct dnsmsg m;
	int n;

	(void)state;
	n = dnsmsg_build_error(dig_a, sizeof(dig_a), DNS_RCODE_SERVFAIL, 1232, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(dnsmsg_parse(out, (size_t)n, &m), 0);
	assert_int_equal(m.hdr.id, 0x5e83);
	assert_int_equal(m.hdr.flags & DNS_FLAG_QR, DNS_FLAG_QR);
	assert_int_equal(m.hdr.flags & DNS_FLAG_RD, DNS_FLAG_RD);
	assert_int_equal(dnsmsg_rcode(&m), DNS_RCODE_SERVFAIL);
	assert_name_text(&m.qname, "Server.Mesh.Internal");
	assert_true(m.has_opt);

	n = dnsmsg_build_error(dig_aaaa_noedns, sizeof(dig_aaaa_noedns), DNS_RCODE_BADVERS, 1232,
			       out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(dnsmsg_parse(out, (size_t)n, &m), 0);
	assert_int_equal(dnsmsg_rcode(&m), DNS_RCODE_BADVERS);
	assert_int_equal(m.hdr.flags & DNS_FLAG_RCODE_MASK, 0);

	/* A body that does not parse: FORMERR with the header only. */
	memcpy(bad, dig_a, sizeof(dig_a));
	bad[12] = 0xc0;
	n = dnsmsg_build_error(bad, sizeof(bad), DNS_RCODE_FORMERR, 1232, out, sizeof(out));
	assert_int_equal(n, 12);
	assert_int_equal(dnsmsg_parse(out, (size_t)n, &m), 0);
	assert_int_equal(m.hdr.qdcount, 0);
	assert_int_equal(dnsmsg_rcode(&m), DNS_RCODE_FORMERR);
	/* No header, or a response: nothing to answer. */
	assert_int_equal(dnsmsg_build_error(dig_a, 11, 2, 512, out, sizeof(out)), -EBADMSG);
	assert_int_equal(dnsmsg_build_error(hand_resp, HAND_LEN, 2, 512, out, sizeof(out)),
			 -EBADMSG);
	assert_int_equal(dnsmsg_build_error(dig_a, sizeof(dig_a), 2, 512, out, 20), -EMSGSIZE);
}

static void test_truncate(void **state)
{
	uint8_t buf[4096], out[4096];
	struct dnsmsg_builder b;
	struct dns_name q = name_of("big.mesh.internal");
	struct ip_addr a6;
	struct dnsmsg m;
	size_t len;
	int n;

	(void)state;
	assert_int_equal(ip_addr_parse(&a6, "fd7a:115c:a1e0::1", NULL), 0);
	dnsmsg_builder_init(&b, buf, sizeof(buf), 9, DNS_FLAG_QR | DNS_FLAG_AA);
	assert_int_equal(dnsmsg_add_question(&b, &q, DNS_TYPE_AAAA, DNS_CLASS_IN), 0);
	for (int i = 0; i < 60; i++) {
		a6.bytes[15] = (uint8_t)i;
		assert_int_equal(dnsmsg_add_addr(&b, DNSMSG_ANSWER, &q, 5, &a6), 0);
	}
	assert_int_equal(dnsmsg_add_opt(&b, 1232, 0, 0), 0);
	len = dnsmsg_builder_finish(&b);
	assert_true(len > 1232);
	/* Fits: copied unchanged. */
	assert_int_equal(dnsmsg_truncate(buf, len, out, len), (int)len);
	assert_memory_equal(buf, out, len);
	/* Into another buffer, and in place. */
	n = dnsmsg_truncate(buf, len, out, 512);
	assert_int_equal(n, 12 + q.len + 4 + 11);
	assert_int_equal(dnsmsg_parse(out, (size_t)n, &m), 0);
	assert_int_equal(m.hdr.flags & DNS_FLAG_TC, DNS_FLAG_TC);
	assert_int_equal(m.hdr.ancount, 0);
	assert_int_equal(m.hdr.arcount, 1);
	assert_true(m.has_opt);
	assert_true(dns_name_equal(&m.qname, &q));
	n = dnsmsg_truncate(buf, len, buf, 512);
	assert_int_equal(dnsmsg_parse(buf, (size_t)n, &m), 0);
	assert_int_equal(m.hdr.flags & DNS_FLAG_TC, DNS_FLAG_TC);
	assert_int_equal(dnsmsg_truncate(buf, 5, out, 512), -EBADMSG);
}

static void test_names(void **state)
{
	struct dns_name a, b, c;
	char text[DNS_NAME_TEXT_MAX], big[400];

	(void)state;
	a = name_of("Host.Mesh.Internal.");
	b = name_of("host.mesh.internal");
	assert_true(dns_name_equal(&a, &b));
	assert_int_equal(dns_name_compare(&a, &b), 0);
	assert_int_equal(a.labels, 3);
	assert_int_equal(a.len, 20);
	c = name_of(".");
	assert_int_equal(c.len, 1);
	assert_int_equal(c.labels, 0);
	assert_name_text(&c, ".");
	c = name_of("");
	assert_int_equal(c.labels, 0);

	/* Escapes: a dot inside a label, decimal bytes, a backslash. */
	a = name_of("a\\.b.c\\065\\\\");
	assert_int_equal(a.labels, 2);
	assert_int_equal(a.wire[0], 3);
	assert_memory_equal(a.wire + 1, "a.b", 3);
	assert_memory_equal(a.wire + 5, "cA\\", 3);
	assert_name_text(&a, "a\\.b.cA\\\\");
	a = name_of("\\000\\032x");
	assert_name_text(&a, "\\000\\032x");
	b = name_of("\\000\\032X");
	assert_true(dns_name_equal(&a, &b));

	assert_int_equal(dns_name_from_text(&a, "a..b"), -EINVAL);
	assert_int_equal(dns_name_from_text(&a, ".a"), -EINVAL);
	assert_int_equal(dns_name_from_text(&a, "a.."), -EINVAL);
	assert_int_equal(dns_name_from_text(&a, ".."), -EINVAL);
	assert_int_equal(dns_name_from_text(&a, "a\\"), -EINVAL);
	assert_int_equal(dns_name_from_text(&a, "a\\25"), -EINVAL);
	assert_int_equal(dns_name_from_text(&a, "a\\256"), -EINVAL);
	assert_int_equal(dns_name_from_text(&a, NULL), -EINVAL);
	memset(big, 'x', 64);
	big[64] = '\0';
	assert_int_equal(dns_name_from_text(&a, big), -EINVAL); /* label of 64 */
	big[63] = '\0';
	assert_int_equal(dns_name_from_text(&a, big), 0);
	/* 63.63.63.61 = 255 bytes: fits; 62 as the last label: 256, does not. */
	memset(text, 'q', 100);
	text[100] = '\0';
	snprintf(big, sizeof(big), "%.63s.%.63s.%.63s.%.61s", text, text, text, text);
	assert_int_equal(dns_name_from_text(&a, big), 0);
	assert_int_equal(a.len, 255);
	snprintf(big, sizeof(big), "%.63s.%.63s.%.63s.%.62s", text, text, text, text);
	assert_int_equal(dns_name_from_text(&a, big), -EINVAL);
	a = name_of("abcdefgh");
	assert_int_equal(dns_name_to_text(&a, text, 5), -ENOSPC);
	assert_int_equal(dns_name_to_text(&a, text, 9), 8);

	/* Suffixes at label boundaries only. */
	a = name_of("www.Example.COM");
	assert_true(dns_name_is_under(&a, &(struct dns_name){.len = 1}));
	b = name_of("example.com");
	assert_true(dns_name_is_under(&a, &b));
	assert_true(dns_name_is_under(&b, &b));
	assert_false(dns_name_is_under(&b, &a));
	c = name_of("ample.com");
	assert_false(dns_name_is_under(&a, &c));
	c = name_of("w.example.com");
	assert_false(dns_name_is_under(&a, &c));

	/* Label arithmetic. */
	assert_int_equal(dns_name_label_offset(&a, 0), 0);
	assert_int_equal(dns_name_label_offset(&a, 1), 4);
	assert_int_equal(dns_name_label_offset(&a, 3), a.len - 1);
	assert_int_equal(dns_name_label_offset(&a, 4), -EINVAL);
	c = a;
	assert_int_equal(dns_name_strip(&c, 1), 0);
	assert_true(dns_name_equal(&c, &b));
	c = name_of("www");
	assert_int_equal(dns_name_append(&c, &b), 0);
	assert_true(dns_name_equal(&c, &a));
	dns_name_lower(&a);
	assert_name_text(&a, "www.example.com");
	/* Ordering: lowercase-insensitive, consistent. */
	a = name_of("a.b");
	b = name_of("B.b");
	assert_true(dns_name_compare(&a, &b) < 0);
	assert_true(dns_name_compare(&b, &a) > 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Property tests */

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

static struct dns_name random_name(void)
{
	static const char *const words[] = {"a", "mesh", "internal", "Host", "b", "example"};
	char text[128] = "";
	unsigned int labels = rnd() % 4;

	for (unsigned int i = 0; i < labels; i++) {
		if (i)
			strcat(text, ".");
		strcat(text, words[rnd() % 6]);
	}
	return name_of(text);
}

struct model_rr {
	struct dns_name name, target;
	uint16_t type;
	uint32_t ttl;
	uint8_t addr[16];
	int section;
};

/* Random messages built from a list of records parse back to the same list. */
static void test_property_round_trip(void **state)
{
	uint8_t buf[4096];

	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		struct model_rr rrs[24];
		unsigned int n = rnd() % 24, sec = DNSMSG_ANSWER;
		struct dns_name q = random_name();
		struct dnsmsg_builder b;
		struct dnsmsg m;
		size_t len, off;

		dnsmsg_builder_init(&b, buf, sizeof(buf), (uint16_t)iter, DNS_FLAG_QR);
		assert_int_equal(dnsmsg_add_question(&b, &q, DNS_TYPE_ANY, DNS_CLASS_IN), 0);
		for (unsigned int i = 0; i < n; i++) {
			struct model_rr *r = &rrs[i];
			struct ip_addr a = {0};
			int ret;

			if (rnd() % 4 == 0 && sec < DNSMSG_ADDITIONAL)
				sec++;
			r->section = (int)sec;
			r->name = random_name();
			r->ttl = rnd();
			switch (rnd() % 3) {
			case 0:
				r->type = DNS_TYPE_A;
				a.family = IP_FAMILY_V4;
				for (int k = 0; k < 4; k++)
					a.bytes[k] = r->addr[k] = (uint8_t)rnd();
				ret = dnsmsg_add_addr(&b, sec, &r->name, r->ttl, &a);
				break;
			case 1:
				r->type = DNS_TYPE_AAAA;
				a.family = IP_FAMILY_V6;
				for (int k = 0; k < 16; k++)
					a.bytes[k] = r->addr[k] = (uint8_t)rnd();
				ret = dnsmsg_add_addr(&b, sec, &r->name, r->ttl, &a);
				break;
			default:
				r->type = DNS_TYPE_PTR;
				r->target = random_name();
				ret = dnsmsg_add_name_rr(&b, sec, &r->name, DNS_TYPE_PTR, r->ttl,
							 &r->target);
				break;
			}
			assert_int_equal(ret, 0);
		}
		len = dnsmsg_builder_finish(&b);
		assert_int_equal(dnsmsg_parse(buf, len, &m), 0);
		assert_true(dns_name_equal(&m.qname, &q));
		assert_int_equal(m.hdr.ancount + m.hdr.nscount + m.hdr.arcount, n);
		off = m.question_end;
		for (unsigned int i = 0; i < n; i++) {
			struct dnsmsg_rr rr;
			struct dns_name t;

			assert_int_equal(dnsmsg_read_rr(buf, len, &off, &rr), 0);
			assert_true(dns_name_equal(&rr.name, &rrs[i].name));
			/* Compression never changes the bytes of a name, case included. */
			assert_int_equal(memcmp(rr.name.wire, rrs[i].name.wire, rr.name.len), 0);
			assert_int_equal(rr.type, rrs[i].type);
			assert_int_equal(rr.ttl, rrs[i].ttl);
			if (rr.type == DNS_TYPE_PTR) {
				assert_int_equal(dnsmsg_rdata_name(buf, len, &rr, &t), 0);
				assert_int_equal(memcmp(t.wire, rrs[i].target.wire, t.len), 0);
			} else {
				assert_memory_equal(buf + rr.rdata_off, rrs[i].addr, rr.rdlen);
			}
		}
		assert_int_equal(off, len);
	}
}

/* Random corruptions and random bytes: parse may fail but never misbehaves. */
static void test_property_corruption(void **state)
{
	const struct {
		const uint8_t *p;
		size_t len;
	} seeds[] = {
		{dig_a, sizeof(dig_a)},
		{dig_ptr, sizeof(dig_ptr)},
		{hand_resp, HAND_LEN},
	};

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t s = rnd() % 3, len = seeds[s].len;
		uint8_t *buf;
		struct dnsmsg m;

		if (rnd() % 8 == 0)
			len = rnd() % 300;
		buf = malloc(len ? len : 1);
		for (size_t i = 0; i < len; i++)
			buf[i] = i < seeds[s].len ? seeds[s].p[i] : (uint8_t)rnd();
		for (unsigned int k = rnd() % 4 + 1; k-- && len;)
			buf[rnd() % len] = (uint8_t)rnd();
		if (dnsmsg_parse(buf, len, &m) == 0) {
			size_t off = m.question_end;
			unsigned int nrr = m.hdr.ancount + m.hdr.nscount + m.hdr.arcount;

			assert_true(m.end + m.trailing == len);
			/* A parsed message's records all read back within it. */
			for (unsigned int i = 0; i < nrr; i++) {
				struct dnsmsg_rr rr;

				assert_int_equal(dnsmsg_read_rr(buf, len, &off, &rr), 0);
				assert_true(rr.rdata_off + rr.rdlen <= len);
			}
			assert_int_equal(off, m.end);
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dig_queries),
		cmocka_unit_test(test_hand_response),
		cmocka_unit_test(test_compression_loops),
		cmocka_unit_test(test_pointer_chain),
		cmocka_unit_test(test_name_lengths),
		cmocka_unit_test(test_rdata_shapes),
		cmocka_unit_test(test_opt_rules),
		cmocka_unit_test(test_builder_round_trip),
		cmocka_unit_test(test_builder_overflow),
		cmocka_unit_test(test_build_error),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_property_round_trip),
		cmocka_unit_test(test_property_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
