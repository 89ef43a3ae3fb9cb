// SPDX-License-Identifier: MIT
/*
 * meshd's ping packets: requests carry valid checksums (checked by summing
 * the whole message to 0xffff, the receiver's way), and a reply made the way
 * a kernel makes it (swap addresses, change the type, fix checksums) parses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/icmp.h"

static void addr(struct ip_addr *a, const char *s)
{
	assert_int_equal(ip_addr_parse(a, s, NULL), 0);
}

/* Turn a request into the reply a peer's kernel would send. */
static void make_reply(uint8_t *p, size_t len)
{
	uint8_t tmp[16];
	size_t alen = p[0] >> 4 == 4 ? 4 : 16, off = alen == 4 ? 12 : 8, hdr = alen == 4 ? 20 : 40;
	uint8_t *icmp = p + hdr;
	size_t icmp_len = len - hdr;

	memcpy(tmp, p + off, alen);
	memmove(p + off, p + off + alen, alen);
	memcpy(p + off + alen, tmp, alen);
	icmp[0] = alen == 4 ? 0 : 129;
	icmp[2] = icmp[3] = 0;
	if (alen == 4) {
		uint16_t c = icmp_checksum(icmp, icmp_len, 0);

		icmp[2] = (uint8_t)(c >> 8);
		icmp[3] = (uint8_t)c;
	} else {
		uint8_t pseudo[40] = {0};
		uint32_t sum = 0;
		uint16_t c;

		memcpy(pseudo, p + 8, 32);
		for (size_t i = 0; i < 32; i += 2)
			sum += (uint32_t)(pseudo[i] << 8 | pseudo[i + 1]);
		sum += (uint32_t)icmp_len + 58;
		c = icmp_checksum(icmp, icmp_len, sum);
		icmp[2] = (uint8_t)(c >> 8);
		icmp[3] = (uint8_t)c;
	}
}

static void round_trip(const char *s, const char *d)
{
	uint8_t buf[ICMP_ECHO_MAX];
	struct ip_addr src, dst, from;
	uint16_t seq = 0;
	size_t n;

	addr(&src, s);
	addr(&dst, d);
	n = icmp_build_echo(buf, sizeof(buf), &src, &dst, 0x4d53, 7);
	assert_true(n > 0);
	if (src.family == IP_FAMILY_V4)
		assert_int_equal(icmp_checksum(buf, 20, 0), 0); /* header checksum valid */
	/* A request is not a reply. */
	assert_false(icmp_parse_echo_reply(buf, n, 0x4d53, &from, &seq));
	make_reply(buf, n);
	assert_true(icmp_parse_echo_reply(buf, n, 0x4d53, &from, &seq));
	assert_true(ip_addr_equal(&from, &dst));
	assert_int_equal(seq, 7);
	/* Someone else's identifier, a flipped bit, a truncation: not ours. */
	assert_false(icmp_parse_echo_reply(buf, n, 0x4d54, &from, &seq));
	for (size_t i = 0; i < n; i++) {
		buf[i] ^= 0x01;
		if (src.family == IP_FAMILY_V4 ? (i >= 20 || i == 9) : (i >= 40 || i == 6))
			assert_false(icmp_parse_echo_reply(buf, n, 0x4d53, &from, &seq));
		buf[i] ^= 0x01;
	}
	for (size_t len = 0; len < n; len++)
		assert_false(icmp_parse_echo_reply(buf, len, 0x4d53, &from, &seq));
}

static void test_v4(void **state)
{
	(void)state;
	round_trip("100.64.0.1", "100.64.0.2");
}

static void test_v6(void **state)
{
	(void)state;
	round_trip("fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2");
}

static void test_rejects(void **state)
{
	uint8_t buf[ICMP_ECHO_MAX];
	struct ip_addr a, b;

	(void)state;
	addr(&a, "100.64.0.1");
	addr(&b, "fd7a:115c:a1e0::2");
	assert_int_equal(icmp_build_echo(buf, sizeof(buf), &a, &b, 1, 1), 0);
	assert_int_equal(icmp_build_echo(buf, 10, &a, &a, 1, 1), 0);
	/* RFC 1071's example: the checksum of 00 01 f2 03 f4 f5 f6 f7 is ~0xddf2. */
	assert_int_equal(icmp_checksum((const uint8_t *)"\x00\x01\xf2\x03\xf4\xf5\xf6\xf7", 8, 0),
			 (uint16_t)~0xddf2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
