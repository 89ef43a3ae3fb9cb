// SPDX-License-Identifier: MIT
/*
 * STUN codec: the RFC 5769 test vectors (request, IPv4 and IPv6 responses,
 * with MESSAGE-INTEGRITY and FINGERPRINT), round trips of what we build, and
 * every truncation and corruption of them rejected.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "magicsock/stun.h"

static const uint8_t txid[12] = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
				 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
static const char password[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 §2.1 */
static const uint8_t req[] = "\x00\x01\x00\x58"
			     "\x21\x12\xa4\x42"
			     "\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae"
			     "\x80\x22\x00\x10"
			     "STUN test client"
			     "\x00\x24\x00\x04"
			     "\x6e\x00\x01\xff"
			     "\x80\x29\x00\x08"
			     "\x93\x2f\xf9\xb1\x51\x26\x3b\x36"
			     "\x00\x06\x00\x09"
			     "\x65\x76\x74\x6a\x3a\x68\x36\x76\x59\x20\x20\x20"
			     "\x00\x08\x00\x14"
			     "\x9a\xea\xa7\x0c\xbf\xd8\xcb\x56\x78\x1e\xf2\xb5"
			     "\xb2\xd3\xf2\x49\xc1\xb5\x71\xa2"
			     "\x80\x28\x00\x04"
			     "\xe5\x7a\x3b\xcf";

/* RFC 5769 §2.2: 192.0.2.1 port 32853 */
static const uint8_t respv4[] = "\x01\x01\x00\x3c"
				"\x21\x12\xa4\x42"
				"\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae"
				"\x80\x22\x00\x0b"
				"\x74\x65\x73\x74\x20\x76\x65\x63\x74\x6f\x72\x20"
				"\x00\x20\x00\x08"
				"\x00\x01\xa1\x47\xe1\x12\xa6\x43"
				"\x00\x08\x00\x14"
				"\x2b\x91\xf5\x99\xfd\x9e\x90\xc3\x8c\x74\x89\xf9"
				"\x2a\xf9\xba\x53\xf0\x6b\xe7\xd7"
				"\x80\x28\x00\x04"
				"\xc0\x7d\x4c\x96";

/* RFC 5769 §2.3: 2001:db8:1234:5678:11:2233:4455:6677 port 32853 */
static const uint8_t respv6[] = "\x01\x01\x00\x48"
				"\x21\x12\xa4\x42"
				"\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae"
				"\x80\x22\x00\x0b"
				"\x74\x65\x73\x74\x20\x76\x65\x63\x74\x6f\x72\x20"
				"\x00\x20\x00\x14"
				"\x00\x02\xa1\x47"
				"\x01\x13\xa9\xfa\xa5\xd3\xf1\x79"
				"\xbc\x25\xf4\xb5\xbe\xd2\xb9\xd9"
				"\x00\x08\x00\x14"
				"\xa3\x82\x95\x4e\x4b\xe6\x7b\xf1\x17\x84\xc9\x7c"
				"\x82\x92\xc2\x75\xbf\xe3\xed\x41"
				"\x80\x28\x00\x04"
				"\xc8\xfb\x0b\x4c";

static void check_endpoint(const struct ip_endpoint *ep, const char *want)
{
	char buf[IP_ENDPOINT_STRLEN];

	assert_string_equal(ip_endpoint_format(ep, buf, sizeof(buf)), want);
}

static void test_rfc5769_request(void **state)
{
	struct stun_message m;
	size_t len = sizeof(req) - 1;

	(void)state;
	assert_true(stun_is_message(req, len));
	assert_int_equal(stun_parse(req, len, &m), 0);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_memory_equal(m.txid, txid, 12);
	assert_true(m.has_fingerprint);
	assert_int_equal(m.software_len, 16);
	assert_memory_equal(m.software, "STUN test client", 16);
	assert_int_equal(
		stun_check_integrity(req, len, &m, (const uint8_t *)password, strlen(password)), 0);
	assert_int_equal(stun_check_integrity(req, len, &m, (const uint8_t *)"wrong", 5), -EBADMSG);
}

static void test_rfc5769_responses(void **state)
{
	struct stun_message m;

	(void)state;
	assert_int_equal(stun_parse(respv4, sizeof(respv4) - 1, &m), 0);
	assert_int_equal(m.type, STUN_BINDING_SUCCESS);
	assert_true(m.has_xor_mapped && m.has_fingerprint);
	check_endpoint(&m.xor_mapped, "192.0.2.1:32853");
	assert_int_equal(stun_check_integrity(respv4, sizeof(respv4) - 1, &m,
					      (const uint8_t *)password, strlen(password)),
			 0);

	assert_int_equal(stun_parse(respv6, sizeof(respv6) - 1, &m), 0);
	check_endpoint(&m.xor_mapped, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
	assert_int_equal(stun_check_integrity(respv6, sizeof(respv6) - 1, &m,
					      (const uint8_t *)password, strlen(password)),
			 0);
}

static void test_build_round_trip(void **state)
{
	const char *eps[] = {"198.51.100.7:41641", "[2001:db8::1]:3478", "0.0.0.0:0"};
	uint8_t buf[STUN_MAX_MESSAGE];
	struct stun_message m;
	struct ip_endpoint ep;
	size_t n;

	(void)state;
	n = stun_build_binding_request(buf, sizeof(buf), txid, true);
	assert_int_equal(n, 28);
	assert_int_equal(stun_parse(buf, n, &m), 0);
	assert_int_equal(m.type, STUN_BINDING_REQUEST);
	assert_true(m.has_fingerprint);
	n = stun_build_binding_request(buf, sizeof(buf), txid, false);
	assert_int_equal(n, 20);
	assert_int_equal(stun_parse(buf, n, &m), 0);
	assert_int_equal(stun_build_binding_request(buf, 19, txid, false), 0);

	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		assert_int_equal(ip_endpoint_parse(&ep, eps[i], NULL), 0);
		n = stun_build_binding_response(buf, sizeof(buf), txid, &ep, "meshd");
		assert_true(n > 0);
		assert_int_equal(stun_parse(buf, n, &m), 0);
		assert_int_equal(m.type, STUN_BINDING_SUCCESS);
		assert_memory_equal(m.txid, txid, 12);
		check_endpoint(&m.xor_mapped, eps[i]);
		assert_int_equal(m.software_len, 5);
		assert_true(m.has_fingerprint);
		/* Too small a buffer is refused, not overrun. */
		assert_int_equal(stun_build_binding_response(buf, n - 1, txid, &ep, "meshd"), 0);
	}
}

static void test_truncations_and_corruptions_rejected(void **state)
{
	const uint8_t *msgs[] = {req, respv4, respv6};
	const size_t lens[] = {sizeof(req) - 1, sizeof(respv4) - 1, sizeof(respv6) - 1};
	struct stun_message m;
	uint8_t buf[256];

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		for (size_t n = 0; n < lens[k]; n++)
			assert_int_not_equal(stun_parse(msgs[k], n, &m), 0);
		/*
		 * No corrupted message may parse with a valid FINGERPRINT. (A flip
		 * in an attribute header can make the FINGERPRINT vanish into
		 * another attribute's value: the message then parses without one,
		 * and our client requires it on responses.)
		 */
		for (size_t i = 0; i < lens[k]; i++) {
			for (int bit = 0; bit < 8; bit++) {
				int ret;

				memcpy(buf, msgs[k], lens[k]);
				buf[i] ^= (uint8_t)(1 << bit);
				ret = stun_parse(buf, lens[k], &m);
				assert_true(ret != 0 || !m.has_fingerprint);
			}
		}
	}
	/* An attribute claiming more than the message holds. */
	memcpy(buf, respv4, sizeof(respv4) - 1);
	buf[22] = 0xff;
	assert_int_equal(stun_parse(buf, sizeof(respv4) - 1, &m), -EBADMSG);
	/* Not STUN at all: a WireGuard initiation's first bytes. */
	memset(buf, 0, sizeof(buf));
	buf[0] = 1;
	assert_false(stun_is_message(buf, 148));
}

static void test_crc32(void **state)
{
	(void)state;
	assert_int_equal(stun_crc32((const uint8_t *)"123456789", 9), 0xcbf43926u);
	assert_int_equal(stun_crc32(NULL, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_request),
		cmocka_unit_test(test_rfc5769_responses),
		cmocka_unit_test(test_build_round_trip),
		cmocka_unit_test(test_truncations_and_corruptions_rejected),
		cmocka_unit_test(test_crc32),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
