// SPDX-License-Identifier: MIT
/*
 * ipaddr: strict parsing (every rejected form with its reason), RFC 5952
 * formatting (also checked against glibc's inet_ntop where the two must
 * agree), prefix arithmetic against a bit-by-bit model, sockaddr round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/compiler.h"
#include "util/ipaddr.h"

static bool is_zeroed(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		if (b[i])
			return false;
	}
	return true;
}

/* --- addresses ---------------------------------------------------------- */

static void test_addr_v4_valid(void **state)
{
	static const struct {
		const char *in;
		uint8_t bytes[4];
	} cases[] = {
		{"0.0.0.0", {0, 0, 0, 0}},
		{"255.255.255.255", {255, 255, 255, 255}},
		{"1.2.3.4", {1, 2, 3, 4}},
		{"100.64.0.1", {100, 64, 0, 1}},
		{"100.100.100.100", {100, 100, 100, 100}},
		{"10.0.0.255", {10, 0, 0, 255}},
	};
	char buf[IP_ADDR_STRLEN];
	struct ip_addr a, b;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		why = NULL;
		assert_int_equal(ip_addr_parse(&a, cases[i].in, &why), 0);
		assert_null(why);
		assert_int_equal(a.family, IP_FAMILY_V4);
		assert_memory_equal(a.bytes, cases[i].bytes, 4);
		assert_true(is_zeroed(a.bytes + 4, 12));
		assert_int_equal(ip_addr_bits(&a), 32);
		assert_string_equal(ip_addr_format(&a, buf, sizeof(buf)), cases[i].in);
		assert_int_equal(ip_addr_parse(&b, buf, NULL), 0);
		assert_true(ip_addr_equal(&a, &b));
		assert_memory_equal(&a, &b, sizeof(a));
	}
}

static void test_addr_v6_rfc5952(void **state)
{
	static const struct {
		const char *in, *canon;
	} cases[] = {
		{"::", "::"},
		{"0:0:0:0:0:0:0:0", "::"},
		{"::1", "::1"},
		{"1::", "1::"},
		{"1:0:0:0:0:0:0:0", "1::"},
		{"0:1:0:0:0:0:0:0", "0:1::"},
		/* 4.1: leading zeros dropped; 4.3: lowercase. */
		{"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
		{"2001:DB8::1", "2001:db8::1"},
		{"ABCD:EF01:2345:6789:ABCD:EF01:2345:6789",
		 "abcd:ef01:2345:6789:abcd:ef01:2345:6789"},
		/* 4.2.2: one zero group is not shortened. */
		{"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
		{"2001:db8::1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
		/* 4.2.3: the longest run, the first of equal runs. */
		{"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
		{"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
		{"1:0:0:2:0:0:3:4", "1::2:0:0:3:4"},
		{"0:0:1:0:0:0:0:1", "0:0:1::1"},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
		{"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
		{"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
		{"fd7a:115c:a1e0::53", "fd7a:115c:a1e0::53"},
		{"fe80::1", "fe80::1"},
		{"ff02::1:ff00:1", "ff02::1:ff00:1"},
		/* Dotted tails parse, but only IPv4-mapped addresses print mixed. */
		{"::1.2.3.4", "::102:304"},
		{"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
		{"::ffff:0:1.2.3.4", "::ffff:0:102:304"},
		{"0000:0000:0000:0000:0000:0000:255.255.255.255", "::ffff:ffff"},
	};
	char buf[IP_ADDR_STRLEN], again[IP_ADDR_STRLEN];
	struct ip_addr a, b;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(ip_addr_parse(&a, cases[i].in, NULL), 0);
		assert_int_equal(a.family, IP_FAMILY_V6);
		assert_int_equal(ip_addr_bits(&a), 128);
		assert_string_equal(ip_addr_format(&a, buf, sizeof(buf)), cases[i].canon);
		/* Canonical text parses back to the same address and prints the same. */
		assert_int_equal(ip_addr_parse(&b, buf, NULL), 0);
		assert_true(ip_addr_equal(&a, &b));
		assert_string_equal(ip_addr_format(&b, again, sizeof(again)), buf);
	}
}

static void expect_addr_error(const char *s, const char *reason)
{
	struct ip_addr a;
	const char *why = NULL;

	memset(&a, 0xa5, sizeof(a));
	if (ip_addr_parse(&a, s, &why) != -EINVAL)
		fail_msg("\"%s\" parsed as an address", s ? s : "(null)");
	assert_non_null(why);
	if (strcmp(why, reason))
		fail_msg("\"%s\": reason \"%s\", want \"%s\"", s ? s : "(null)", why, reason);
	assert_true(is_zeroed(&a, sizeof(a)));
	/* A NULL why is allowed. */
	assert_int_equal(ip_addr_parse(&a, s, NULL), -EINVAL);
}

static void test_addr_invalid(void **state)
{
	(void)state;
	expect_addr_error(NULL, "empty address");
	expect_addr_error("", "empty address");
	expect_addr_error(" 1.2.3.4", "leading or trailing white space");
	expect_addr_error("1.2.3.4 ", "leading or trailing white space");
	expect_addr_error("\t::1", "leading or trailing white space");
	expect_addr_error("::1\n", "leading or trailing white space");
	expect_addr_error(" ", "leading or trailing white space");
	expect_addr_error("fe80::1%eth0", "zone ids are not allowed");
	expect_addr_error("fe80::1%1", "zone ids are not allowed");
	expect_addr_error("::ffff:1.2.3.4", "IPv4-mapped IPv6 address: write it as IPv4");
	expect_addr_error("::FFFF:102:304", "IPv4-mapped IPv6 address: write it as IPv4");
	expect_addr_error("0:0:0:0:0:ffff:0.0.0.0", "IPv4-mapped IPv6 address: write it as IPv4");
	expect_addr_error("1.2.3", "invalid IPv4 address");
	expect_addr_error("1.2.3.4.5", "invalid IPv4 address");
	expect_addr_error("256.1.1.1", "invalid IPv4 address");
	expect_addr_error("1.2.3.04", "invalid IPv4 address");
	expect_addr_error("01.2.3.4", "invalid IPv4 address");
	expect_addr_error("1.2.3.-4", "invalid IPv4 address");
	expect_addr_error("1..2.3", "invalid IPv4 address");
	expect_addr_error("0x1.2.3.4", "invalid IPv4 address");
	expect_addr_error("1.2.3.4.", "invalid IPv4 address");
	expect_addr_error("1.2.3 .4", "invalid IPv4 address");
	expect_addr_error("1234", "not an IP address");
	expect_addr_error("localhost", "not an IP address");
	expect_addr_error("1:2:3:4:5:6:7:8:9", "invalid IPv6 address");
	expect_addr_error("1:2:3:4:5:6:7", "invalid IPv6 address");
	expect_addr_error(":::", "invalid IPv6 address");
	expect_addr_error("1::2::3", "invalid IPv6 address");
	expect_addr_error("12345::", "invalid IPv6 address");
	expect_addr_error("g::1", "invalid IPv6 address");
	expect_addr_error(":1::", "invalid IPv6 address");
	expect_addr_error("[::1]", "invalid IPv6 address");
	expect_addr_error("::1/128", "invalid IPv6 address");
	expect_addr_error("::1.2.3.04", "invalid IPv6 address");
	expect_addr_error("1.2.3.4:80", "invalid IPv6 address");
	expect_addr_error("0000:0000:0000:0000:0000:0000:0000:0000:0000:0000", "address too long");
	expect_addr_error("1111111111111111111111111111111111111111111111111111111111111",
			  "address too long");
}

static void test_addr_format_edges(void **state)
{
	struct ip_addr a = {0}, m;
	static const uint8_t mapped[16] = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 1};
	char buf[IP_ADDR_STRLEN], small[5];

	(void)state;
	assert_string_equal(ip_addr_format(&a, buf, sizeof(buf)), "unset");
	assert_int_equal(ip_addr_bits(&a), 0);

	assert_int_equal(ip_addr_parse(&a, "192.168.100.200", NULL), 0);
	/* Truncated output is still a string. */
	memset(small, 'x', sizeof(small));
	assert_ptr_equal(ip_addr_format(&a, small, sizeof(small)), small);
	assert_string_equal(small, "192.");
	memset(small, 'x', sizeof(small));
	ip_addr_format(&a, small, 0);
	assert_int_equal(small[0], 'x');
	ip_addr_format(&a, small, 1);
	assert_string_equal(small, "");

	/* An IPv4-mapped address can only come from raw bytes; it prints per RFC 5952 §5. */
	ip_addr_set_v6(&m, mapped);
	assert_true(ip_addr_is_v4_mapped(&m));
	assert_string_equal(ip_addr_format(&m, buf, sizeof(buf)), "::ffff:192.0.2.1");
	ip_addr_unmap(&m);
	assert_false(ip_addr_is_v4_mapped(&m));
	assert_int_equal(m.family, IP_FAMILY_V4);
	assert_string_equal(ip_addr_format(&m, buf, sizeof(buf)), "192.0.2.1");
	assert_true(is_zeroed(m.bytes + 4, 12));
	/* Unmapping anything else changes nothing. */
	assert_int_equal(ip_addr_parse(&a, "::ffff:0:102:304", NULL), 0);
	m = a;
	ip_addr_unmap(&m);
	assert_memory_equal(&m, &a, sizeof(a));

	/* Longest forms fit the advertised buffer sizes. */
	{
		static const uint8_t ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
		struct ip_prefix p = {.bits = 128};
		struct ip_endpoint e = {.port = 65535};
		char pbuf[IP_PREFIX_STRLEN], ebuf[IP_ENDPOINT_STRLEN];

		ip_addr_set_v6(&p.addr, ones);
		ip_addr_set_v6(&e.addr, ones);
		assert_string_equal(ip_prefix_format(&p, pbuf, sizeof(pbuf)),
				    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
		assert_string_equal(ip_endpoint_format(&e, ebuf, sizeof(ebuf)),
				    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	}
}

static void test_addr_equal_compare(void **state)
{
	struct ip_addr a, b, c, unset1 = {0}, unset2 = {0};

	(void)state;
	assert_int_equal(ip_addr_parse(&a, "10.0.0.1", NULL), 0);
	assert_int_equal(ip_addr_parse(&b, "10.0.0.2", NULL), 0);
	assert_int_equal(ip_addr_parse(&c, "::a00:1", NULL), 0);
	assert_true(ip_addr_equal(&a, &a));
	assert_false(ip_addr_equal(&a, &b));
	/* Same leading bytes, different family. */
	assert_false(ip_addr_equal(&a, &c));
	assert_true(ip_addr_equal(&unset1, &unset2));
	assert_true(ip_addr_compare(&a, &b) < 0);
	assert_true(ip_addr_compare(&b, &a) > 0);
	assert_int_equal(ip_addr_compare(&a, &a), 0);
	assert_true(ip_addr_compare(&a, &c) < 0);
	assert_true(ip_addr_compare(&unset1, &a) < 0);
}

/* --- prefixes ----------------------------------------------------------- */

static void test_prefix_valid(void **state)
{
	static const struct {
		const char *in, *out;
		unsigned int bits;
		bool canonical;
	} cases[] = {
		{"10.0.0.0/24", "10.0.0.0/24", 24, true},
		{"0.0.0.0/0", "0.0.0.0/0", 0, true},
		{"1.2.3.4/32", "1.2.3.4/32", 32, true},
		{"100.64.0.0/10", "100.64.0.0/10", 10, true},
		{"10.0.0.1/24", "10.0.0.1/24", 24, false},
		{"1.2.3.4/0", "1.2.3.4/0", 0, false},
		{"::/0", "::/0", 0, true},
		{"fd7a:115c:a1e0::/48", "fd7a:115c:a1e0::/48", 48, true},
		{"FD7A:115C:A1E0:0::/48", "fd7a:115c:a1e0::/48", 48, true},
		{"2001:db8::1/128", "2001:db8::1/128", 128, true},
		{"2001:db8::1/64", "2001:db8::1/64", 64, false},
		{"2001:db8::/33", "2001:db8::/33", 33, true},
		{"2001:db8:8000::/33", "2001:db8:8000::/33", 33, true},
		{"2001:db8:4000::/33", "2001:db8:4000::/33", 33, false},
	};
	char buf[IP_PREFIX_STRLEN];
	struct ip_prefix p, q;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		why = NULL;
		if (ip_prefix_parse(&p, cases[i].in, &why))
			fail_msg("\"%s\": %s", cases[i].in, why);
		assert_int_equal(p.bits, cases[i].bits);
		if (ip_prefix_is_canonical(&p) != cases[i].canonical)
			fail_msg("\"%s\": canonical should be %d", cases[i].in, cases[i].canonical);
		assert_string_equal(ip_prefix_format(&p, buf, sizeof(buf)), cases[i].out);
		assert_int_equal(ip_prefix_parse(&q, buf, NULL), 0);
		assert_true(ip_prefix_equal(&p, &q));
	}
}

static void expect_prefix_error(const char *s, const char *reason)
{
	struct ip_prefix p;
	const char *why = NULL;

	memset(&p, 0xa5, sizeof(p));
	if (ip_prefix_parse(&p, s, &why) != -EINVAL)
		fail_msg("\"%s\" parsed as a prefix", s ? s : "(null)");
	assert_non_null(why);
	if (strcmp(why, reason))
		fail_msg("\"%s\": reason \"%s\", want \"%s\"", s ? s : "(null)", why, reason);
	assert_true(is_zeroed(&p, sizeof(p)));
	assert_int_equal(ip_prefix_parse(&p, s, NULL), -EINVAL);
}

static void test_prefix_invalid(void **state)
{
	(void)state;
	expect_prefix_error(NULL, "empty prefix");
	expect_prefix_error("", "empty prefix");
	expect_prefix_error("10.0.0.0/33", "prefix length out of range");
	expect_prefix_error("10.0.0.0/255", "prefix length out of range");
	expect_prefix_error("10.0.0.0/99999999999999999999", "prefix length out of range");
	expect_prefix_error("::/129", "prefix length out of range");
	expect_prefix_error("::/256", "prefix length out of range");
	expect_prefix_error("10.0.0.0", "missing prefix length (ADDR/N)");
	expect_prefix_error("fd7a::", "missing prefix length (ADDR/N)");
	expect_prefix_error("10.0.0.0/", "missing prefix length (ADDR/N)");
	expect_prefix_error("10.0.0.0/+8", "prefix length is not a decimal number");
	expect_prefix_error("10.0.0.0/-1", "prefix length is not a decimal number");
	expect_prefix_error("10.0.0.0/8a", "prefix length is not a decimal number");
	expect_prefix_error("10.0.0.0/0x8", "prefix length is not a decimal number");
	expect_prefix_error("10.0.0.0/ 8", "prefix length is not a decimal number");
	expect_prefix_error("10.0.0.0/255.0.0.0", "prefix length is not a decimal number");
	expect_prefix_error("10.0.0.0/08", "prefix length has a leading zero");
	expect_prefix_error("10.0.0.0/00", "prefix length has a leading zero");
	expect_prefix_error("::/064", "prefix length has a leading zero");
	expect_prefix_error("/24", "empty address");
	expect_prefix_error("10.0.0.0/24/8", "invalid IPv4 address");
	expect_prefix_error("10.0.0.0 /8", "leading or trailing white space");
	expect_prefix_error(" 10.0.0.0/8", "leading or trailing white space");
	expect_prefix_error("10.0.0.0/8 ", "leading or trailing white space");
	expect_prefix_error("fe80::%eth0/64", "zone ids are not allowed");
	expect_prefix_error("::ffff:10.0.0.0/104", "IPv4-mapped IPv6 address: write it as IPv4");
	expect_prefix_error("10.0.0/8", "invalid IPv4 address");
	expect_prefix_error("fd7a:::/48", "invalid IPv6 address");
}

static struct ip_prefix pfx(const char *s)
{
	struct ip_prefix p;
	const char *why = "";

	if (ip_prefix_parse(&p, s, &why))
		fail_msg("bad test prefix \"%s\": %s", s, why);
	return p;
}

static struct ip_addr addr(const char *s)
{
	struct ip_addr a;
	const char *why = "";

	if (ip_addr_parse(&a, s, &why))
		fail_msg("bad test address \"%s\": %s", s, why);
	return a;
}

static void test_prefix_contains(void **state)
{
	static const struct {
		const char *prefix, *addr;
		bool in;
	} cases[] = {
		{"10.0.0.0/24", "10.0.0.0", true},
		{"10.0.0.0/24", "10.0.0.255", true},
		{"10.0.0.0/24", "10.0.1.0", false},
		{"10.0.0.0/24", "9.255.255.255", false},
		{"10.0.0.77/24", "10.0.0.1", true}, /* host bits ignored */
		{"100.64.0.0/10", "100.127.255.255", true},
		{"100.64.0.0/10", "100.128.0.0", false},
		{"100.64.0.0/10", "100.63.255.255", false},
		{"0.0.0.0/0", "0.0.0.0", true},
		{"0.0.0.0/0", "255.255.255.255", true},
		{"0.0.0.0/0", "::", false}, /* never across families */
		{"0.0.0.0/0", "::a00:1", false},
		{"1.2.3.4/32", "1.2.3.4", true},
		{"1.2.3.4/32", "1.2.3.5", false},
		{"128.0.0.0/1", "127.255.255.255", false},
		{"128.0.0.0/1", "128.0.0.0", true},
		{"::/0", "::", true},
		{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
		{"::/0", "10.0.0.1", false},
		{"fd7a:115c:a1e0::/48", "fd7a:115c:a1e0:ab12:4843:cd96:6258:b240", true},
		{"fd7a:115c:a1e0::/48", "fd7a:115c:a1e1::1", false},
		{"2001:db8::1/128", "2001:db8::1", true},
		{"2001:db8::1/128", "2001:db8::", false},
		{"2001:db8::/127", "2001:db8::1", true},
		{"2001:db8::/127", "2001:db8::2", false},
		{"2001:db8::/33", "2001:db8:7fff::", true},
		{"2001:db8::/33", "2001:db8:8000::", false},
		{"::/1", "7fff::", true},
		{"::/1", "8000::", false},
	};
	struct ip_prefix p;
	struct ip_addr a;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		p = pfx(cases[i].prefix);
		a = addr(cases[i].addr);
		if (ip_prefix_contains(&p, &a) != cases[i].in)
			fail_msg("%s contains %s: want %d", cases[i].prefix, cases[i].addr,
				 cases[i].in);
	}
	/* Unset values are in nothing and contain nothing. */
	memset(&a, 0, sizeof(a));
	p = pfx("0.0.0.0/0");
	assert_false(ip_prefix_contains(&p, &a));
	memset(&p, 0, sizeof(p));
	assert_false(ip_prefix_contains(&p, &a));
}

static void test_prefix_overlaps(void **state)
{
	static const struct {
		const char *a, *b;
		bool overlap;
	} cases[] = {
		{"10.0.0.0/8", "10.1.0.0/16", true},
		{"10.0.0.0/16", "10.1.0.0/16", false},
		{"10.0.0.0/8", "11.0.0.0/8", false},
		{"10.0.0.0/24", "10.0.0.0/24", true},
		{"10.0.0.5/32", "10.0.0.0/24", true},
		{"10.0.0.5/32", "10.0.0.6/32", false},
		{"0.0.0.0/0", "1.2.3.4/32", true},
		{"0.0.0.0/0", "::/0", false},
		{"10.0.0.0/8", "::a00:0/104", false},
		{"100.64.0.0/10", "100.100.100.100/32", true},
		{"100.64.0.0/10", "100.128.0.0/9", false},
		{"::/0", "2001:db8::/32", true},
		{"fd7a:115c:a1e0::/48", "fd7a:115c:a1e0:1::/64", true},
		{"fd7a:115c:a1e0::/48", "fd7a:115c:a1e1::/48", false},
		{"2001:db8::1/128", "2001:db8::1/128", true},
		{"2001:db8::1/128", "2001:db8::2/128", false},
		{"8000::/1", "::/1", false},
	};
	struct ip_prefix a, b, unset = {0};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		a = pfx(cases[i].a);
		b = pfx(cases[i].b);
		if (ip_prefix_overlaps(&a, &b) != cases[i].overlap ||
		    ip_prefix_overlaps(&b, &a) != cases[i].overlap)
			fail_msg("%s overlaps %s: want %d", cases[i].a, cases[i].b,
				 cases[i].overlap);
	}
	assert_false(ip_prefix_overlaps(&unset, &unset));
}

static void test_prefix_mask(void **state)
{
	static const struct {
		const char *in, *masked;
	} cases[] = {
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"10.1.2.3/0", "0.0.0.0/0"},
		{"10.1.2.3/32", "10.1.2.3/32"},
		{"10.1.2.255/25", "10.1.2.128/25"},
		{"255.255.255.255/1", "128.0.0.0/1"},
		{"2001:db8::1/64", "2001:db8::/64"},
		{"2001:db8:ffff::/33", "2001:db8:8000::/33"},
		{"ffff::1/0", "::/0"},
		{"2001:db8::1/128", "2001:db8::1/128"},
	};
	char buf[IP_PREFIX_STRLEN];
	struct ip_prefix p;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		p = pfx(cases[i].in);
		ip_prefix_mask(&p);
		assert_true(ip_prefix_is_canonical(&p));
		assert_string_equal(ip_prefix_format(&p, buf, sizeof(buf)), cases[i].masked);
		if (p.addr.family == IP_FAMILY_V4)
			assert_true(is_zeroed(p.addr.bytes + 4, 12));
	}
	/* Out-of-range or unset prefixes are never canonical. */
	p = pfx("10.0.0.0/8");
	p.bits = 33;
	assert_false(ip_prefix_is_canonical(&p));
	memset(&p, 0, sizeof(p));
	assert_false(ip_prefix_is_canonical(&p));
}

/* --- endpoints ---------------------------------------------------------- */

static void test_endpoint_valid(void **state)
{
	static const struct {
		const char *in, *out;
		uint16_t port;
	} cases[] = {
		{"1.2.3.4:51820", "1.2.3.4:51820", 51820},
		{"0.0.0.0:0", "0.0.0.0:0", 0},
		{"255.255.255.255:65535", "255.255.255.255:65535", 65535},
		{"[::1]:51820", "[::1]:51820", 51820},
		{"[::]:0", "[::]:0", 0},
		{"[fd7a:115c:a1e0::1]:41641", "[fd7a:115c:a1e0::1]:41641", 41641},
		{"[2001:DB8:0:0::1]:1", "[2001:db8::1]:1", 1},
	};
	char buf[IP_ENDPOINT_STRLEN];
	struct ip_endpoint e, f;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		why = NULL;
		if (ip_endpoint_parse(&e, cases[i].in, &why))
			fail_msg("\"%s\": %s", cases[i].in, why);
		assert_int_equal(e.port, cases[i].port);
		assert_string_equal(ip_endpoint_format(&e, buf, sizeof(buf)), cases[i].out);
		assert_int_equal(ip_endpoint_parse(&f, buf, NULL), 0);
		assert_true(ip_addr_equal(&e.addr, &f.addr));
		assert_int_equal(e.port, f.port);
	}
}

static void expect_endpoint_error(const char *s, const char *reason)
{
	struct ip_endpoint e;
	const char *why = NULL;

	memset(&e, 0xa5, sizeof(e));
	if (ip_endpoint_parse(&e, s, &why) != -EINVAL)
		fail_msg("\"%s\" parsed as an endpoint", s ? s : "(null)");
	assert_non_null(why);
	if (strcmp(why, reason))
		fail_msg("\"%s\": reason \"%s\", want \"%s\"", s ? s : "(null)", why, reason);
	assert_true(is_zeroed(&e, sizeof(e)));
	assert_int_equal(ip_endpoint_parse(&e, s, NULL), -EINVAL);
}

static void test_endpoint_invalid(void **state)
{
	(void)state;
	expect_endpoint_error(NULL, "empty endpoint");
	expect_endpoint_error("", "empty endpoint");
	expect_endpoint_error("1.2.3.4", "missing port (ADDR:PORT)");
	expect_endpoint_error("1.2.3.4:", "missing port");
	expect_endpoint_error("1.2.3.4:65536", "port out of range (0-65535)");
	expect_endpoint_error("1.2.3.4:99999999999999999999", "port out of range (0-65535)");
	expect_endpoint_error("1.2.3.4:-1", "port is not a decimal number");
	expect_endpoint_error("1.2.3.4:+1", "port is not a decimal number");
	expect_endpoint_error("1.2.3.4:0x10", "port is not a decimal number");
	expect_endpoint_error("1.2.3.4:http", "port is not a decimal number");
	expect_endpoint_error("1.2.3.4:080", "port has a leading zero");
	expect_endpoint_error("1.2.3.4:51820 ", "leading or trailing white space");
	expect_endpoint_error(" 1.2.3.4:51820", "leading or trailing white space");
	expect_endpoint_error("1.2.3.4 :51820", "leading or trailing white space");
	expect_endpoint_error("::1:51820", "IPv6 endpoint needs brackets: [ADDR]:PORT");
	expect_endpoint_error("fd7a::1:80", "IPv6 endpoint needs brackets: [ADDR]:PORT");
	expect_endpoint_error("[::1]", "missing port");
	expect_endpoint_error("[::1]:", "missing port");
	expect_endpoint_error("[::1]51820", "expected ':' after ']'");
	expect_endpoint_error("[::1]]:51820", "expected ':' after ']'");
	expect_endpoint_error("[::1:51820", "missing ']' after IPv6 address");
	expect_endpoint_error("[1.2.3.4]:80", "brackets are only for IPv6 addresses");
	expect_endpoint_error("[fe80::1%eth0]:1", "zone ids are not allowed");
	expect_endpoint_error("[::ffff:1.2.3.4]:1", "IPv4-mapped IPv6 address: write it as IPv4");
	expect_endpoint_error("[]:1", "empty address");
	expect_endpoint_error(":80", "empty address");
	expect_endpoint_error("host:80", "not an IP address");
	expect_endpoint_error("1.2.3:80", "invalid IPv4 address");
	expect_endpoint_error("[::1]:65536", "port out of range (0-65535)");
}

static void test_sockaddr(void **state)
{
	static const char *const endpoints[] = {"1.2.3.4:51820", "0.0.0.0:0", "[::1]:41641",
						"[fd7a:115c:a1e0::1]:65535"};
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	struct ip_endpoint e, f;
	socklen_t len;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(endpoints); i++) {
		assert_int_equal(ip_endpoint_parse(&e, endpoints[i], NULL), 0);
		len = 0;
		assert_int_equal(ip_endpoint_to_sockaddr(&e, &ss, &len), 0);
		if (e.addr.family == IP_FAMILY_V4) {
			assert_int_equal(len, sizeof(sin));
			memcpy(&sin, &ss, sizeof(sin));
			assert_int_equal(sin.sin_family, AF_INET);
			assert_int_equal(ntohs(sin.sin_port), e.port);
			assert_memory_equal(&sin.sin_addr, e.addr.bytes, 4);
		} else {
			assert_int_equal(len, sizeof(sin6));
			memcpy(&sin6, &ss, sizeof(sin6));
			assert_int_equal(sin6.sin6_family, AF_INET6);
			assert_int_equal(ntohs(sin6.sin6_port), e.port);
			assert_memory_equal(&sin6.sin6_addr, e.addr.bytes, 16);
			assert_int_equal(sin6.sin6_scope_id, 0);
		}
		assert_int_equal(ip_endpoint_from_sockaddr(&f, (struct sockaddr *)&ss), 0);
		assert_memory_equal(&e, &f, sizeof(e));
	}
	/* A NULL length pointer is fine. */
	assert_int_equal(ip_endpoint_to_sockaddr(&e, &ss, NULL), 0);

	/* What a dual-stack socket reports for an IPv4 peer comes back as IPv4. */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(3478);
	sin6.sin6_scope_id = 7;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.7", &sin6.sin6_addr), 1);
	assert_int_equal(ip_endpoint_from_sockaddr(&e, (struct sockaddr *)&sin6), 0);
	assert_int_equal(e.addr.family, IP_FAMILY_V4);
	assert_int_equal(e.port, 3478);
	{
		static const struct ip_addr want = {IP_FAMILY_V4, {198, 51, 100, 7}};

		assert_memory_equal(&e.addr, &want, sizeof(want));
	}

	/* Link-local with a scope id: the scope is dropped. */
	assert_int_equal(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
	assert_int_equal(ip_endpoint_from_sockaddr(&e, (struct sockaddr *)&sin6), 0);
	assert_int_equal(e.addr.family, IP_FAMILY_V6);

	/* Other families and unset endpoints are refused. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memset(&e, 0xa5, sizeof(e));
	assert_int_equal(ip_endpoint_from_sockaddr(&e, (struct sockaddr *)&sun), -EAFNOSUPPORT);
	assert_true(is_zeroed(&e, sizeof(e)));
	memset(&e, 0, sizeof(e));
	assert_int_equal(ip_endpoint_to_sockaddr(&e, &ss, &len), -EAFNOSUPPORT);
}

/* The kernel's view of a bound loopback socket matches ours, both ways. */
static void test_sockaddr_kernel(void **state)
{
	struct sockaddr_storage ss, got;
	struct ip_endpoint e, bound;
	socklen_t len, glen = sizeof(got);
	char buf[IP_ENDPOINT_STRLEN];
	int fd;

	(void)state;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		skip();
	assert_int_equal(ip_endpoint_parse(&e, "127.0.0.1:0", NULL), 0);
	assert_int_equal(ip_endpoint_to_sockaddr(&e, &ss, &len), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&got, &glen), 0);
	assert_int_equal(glen, len);
	assert_int_equal(ip_endpoint_from_sockaddr(&bound, (struct sockaddr *)&got), 0);
	assert_true(ip_addr_equal(&bound.addr, &e.addr));
	assert_int_not_equal(bound.port, 0);
	ip_endpoint_format(&bound, buf, sizeof(buf));
	assert_memory_equal(buf, "127.0.0.1:", 10);
	close(fd);
}

/* --- property tests against a bit-by-bit model ---------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from the printed seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned int bit_at(const struct ip_addr *a, unsigned int i)
{
	return (a->bytes[i / 8] >> (7 - i % 8)) & 1;
}

static bool naive_contains(const struct ip_prefix *p, const struct ip_addr *a)
{
	unsigned int i;

	if (p->addr.family != a->family)
		return false;
	for (i = 0; i < p->bits; i++) {
		if (bit_at(&p->addr, i) != bit_at(a, i))
			return false;
	}
	return true;
}

static struct ip_addr random_addr(unsigned int family)
{
	struct ip_addr a = {0};
	unsigned int i, n = family == IP_FAMILY_V4 ? 4 : 16;

	a.family = (uint8_t)family;
	/* Zero-heavy 16-bit groups give the zero-compression code real runs. */
	for (i = 0; i < n; i += 2) {
		uint64_t r = rnd();

		if (r % 3 == 0)
			continue;
		a.bytes[i] = (r % 5 == 1) ? 0 : (uint8_t)(r >> 8);
		a.bytes[i + 1] = (uint8_t)(r >> 16);
	}
	return a;
}

/* @a with every bit from @from on flipped at random (the rest kept). */
static struct ip_addr near_addr(const struct ip_addr *a, unsigned int from)
{
	struct ip_addr b = *a;
	unsigned int i, bits = ip_addr_bits(a);

	for (i = from; i < bits; i++) {
		if (rnd() & 1)
			b.bytes[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	}
	return b;
}

static void test_property_prefix_model(void **state)
{
	unsigned int iter, family, bits, i;
	struct ip_prefix p, q, masked, parsed;
	struct ip_addr a, net_p, net_q;
	char buf[IP_PREFIX_STRLEN];
	uint64_t seed;

	(void)state;
	seed = (uint64_t)time(NULL) * 2654435761u | 1;
	if (getenv("MESH_TEST_SEED"))
		seed = strtoull(getenv("MESH_TEST_SEED"), NULL, 0);
	rng_state = seed;
	print_message("seed %llu (set MESH_TEST_SEED to repeat)\n", (unsigned long long)seed);

	for (iter = 0; iter < 50000; iter++) {
		family = (rnd() & 1) ? IP_FAMILY_V4 : IP_FAMILY_V6;
		bits = family == IP_FAMILY_V4 ? 32 : 128;
		p.addr = random_addr(family);
		p.bits = (uint8_t)(rnd() % (bits + 1));
		q.addr = near_addr(&p.addr, (unsigned int)(rnd() % (bits + 1)));
		q.bits = (uint8_t)(rnd() % (bits + 1));
		/* Sometimes an address from near the prefix, sometimes anywhere. */
		switch (rnd() % 4) {
		case 0:
			a = random_addr(family);
			break;
		case 1:
			a = random_addr(family == IP_FAMILY_V4 ? IP_FAMILY_V6 : IP_FAMILY_V4);
			break;
		default:
			a = near_addr(&p.addr, (unsigned int)(rnd() % (bits + 1)));
			break;
		}

		if (ip_prefix_contains(&p, &a) != naive_contains(&p, &a))
			fail_msg("iteration %u: contains disagrees with the model", iter);

		/* Overlap model: one prefix holds the other's network address. */
		masked = p;
		ip_prefix_mask(&masked);
		net_p = masked.addr;
		masked = q;
		ip_prefix_mask(&masked);
		net_q = masked.addr;
		if (ip_prefix_overlaps(&p, &q) !=
		    (naive_contains(&p, &net_q) || naive_contains(&q, &net_p)))
			fail_msg("iteration %u: overlaps disagrees with the model", iter);
		assert_int_equal(ip_prefix_overlaps(&p, &q), ip_prefix_overlaps(&q, &p));

		/* Masking clears exactly the host bits and changes no membership. */
		masked = p;
		ip_prefix_mask(&masked);
		assert_true(ip_prefix_is_canonical(&masked));
		for (i = 0; i < 128; i++) {
			unsigned int want = i < p.bits ? bit_at(&p.addr, i) : 0;

			assert_int_equal(bit_at(&masked.addr, i), want);
		}
		assert_int_equal(ip_prefix_is_canonical(&p),
				 !memcmp(&masked.addr, &p.addr, sizeof(p.addr)));
		assert_int_equal(ip_prefix_contains(&masked, &a), ip_prefix_contains(&p, &a));
		assert_true(ip_prefix_contains(&p, &p.addr));

		/* Text round trip (mapped addresses are refused on purpose). */
		if (ip_addr_is_v4_mapped(&p.addr))
			continue;
		ip_prefix_format(&p, buf, sizeof(buf));
		if (ip_prefix_parse(&parsed, buf, NULL))
			fail_msg("iteration %u: \"%s\" does not parse", iter, buf);
		assert_memory_equal(&parsed.addr, &p.addr, sizeof(p.addr));
		assert_int_equal(parsed.bits, p.bits);
	}
}

/*
 * glibc's inet_ntop also follows RFC 5952 except that it prints mixed
 * notation when the first five groups are zero; elsewhere the two must agree.
 */
static void test_property_format_vs_libc(void **state)
{
	char ours[IP_ADDR_STRLEN], libc[INET6_ADDRSTRLEN];
	unsigned int iter, checked = 0;
	struct ip_addr a;

	(void)state;
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (iter = 0; iter < 50000; iter++) {
		a = random_addr(IP_FAMILY_V6);
		if (is_zeroed(a.bytes, 10))
			continue;
		assert_non_null(inet_ntop(AF_INET6, a.bytes, libc, sizeof(libc)));
		ip_addr_format(&a, ours, sizeof(ours));
		if (strcmp(ours, libc))
			fail_msg("ours \"%s\", glibc \"%s\"", ours, libc);
		checked++;
	}
	assert_true(checked > 40000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_v4_valid),
		cmocka_unit_test(test_addr_v6_rfc5952),
		cmocka_unit_test(test_addr_invalid),
		cmocka_unit_test(test_addr_format_edges),
		cmocka_unit_test(test_addr_equal_compare),
		cmocka_unit_test(test_prefix_valid),
		cmocka_unit_test(test_prefix_invalid),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_prefix_overlaps),
		cmocka_unit_test(test_prefix_mask),
		cmocka_unit_test(test_endpoint_valid),
		cmocka_unit_test(test_endpoint_invalid),
		cmocka_unit_test(test_sockaddr),
		cmocka_unit_test(test_sockaddr_kernel),
		cmocka_unit_test(test_property_prefix_model),
		cmocka_unit_test(test_property_format_vs_libc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
