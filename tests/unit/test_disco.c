// SPDX-License-Identifier: MIT
/*
 * Disco codec: every message type round-trips between two key pairs, the
 * wrong key or any flipped byte fails to open, and the magic never matches a
 * WireGuard or STUN packet.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "magicsock/disco.h"
#include "magicsock/stun.h"

struct pair {
	uint8_t a_pub[32], a_priv[32], b_pub[32], b_priv[32];
	uint8_t ab[32], ba[32];
};

static void make_pair(struct pair *p)
{
	crypto_box_keypair(p->a_pub, p->a_priv);
	crypto_box_keypair(p->b_pub, p->b_priv);
	assert_int_equal(disco_shared_key(p->ab, p->a_priv, p->b_pub), 0);
	assert_int_equal(disco_shared_key(p->ba, p->b_priv, p->a_pub), 0);
	assert_memory_equal(p->ab, p->ba, 32);
}

static void ep(struct ip_endpoint *e, const char *s)
{
	assert_int_equal(ip_endpoint_parse(e, s, NULL), 0);
}

static void test_round_trips(void **state)
{
	uint8_t buf[DISCO_HEADER_LEN + DISCO_TAG_LEN + 2 + 44 + DISCO_MAX_PADDING];
	struct disco_msg m = {0}, got;
	struct pair p;
	size_t n;

	(void)state;
	make_pair(&p);
	/* ping, with and without padding */
	m.type = DISCO_PING;
	randombytes_buf(m.txid, sizeof(m.txid));
	randombytes_buf(m.node_key, sizeof(m.node_key));
	for (unsigned pad = 0; pad <= DISCO_MAX_PADDING; pad += 1500) {
		m.padding = (uint16_t)pad;
		n = disco_seal(buf, sizeof(buf), p.a_pub, p.ab, &m);
		assert_int_equal(n, DISCO_HEADER_LEN + DISCO_TAG_LEN + 2 + 44 + pad);
		assert_true(disco_is_message(buf, n));
		assert_memory_equal(disco_sender_key(buf), p.a_pub, 32);
		assert_int_equal(disco_open(buf, n, p.ba, &got), 0);
		assert_int_equal(got.type, DISCO_PING);
		assert_memory_equal(got.txid, m.txid, 12);
		assert_memory_equal(got.node_key, m.node_key, 32);
		assert_int_equal(got.padding, pad);
	}
	/* pong, v4 and v6 sources */
	memset(&m, 0, sizeof(m));
	m.type = DISCO_PONG;
	randombytes_buf(m.txid, sizeof(m.txid));
	ep(&m.src, "198.51.100.7:41641");
	n = disco_seal(buf, sizeof(buf), p.b_pub, p.ba, &m);
	assert_int_equal(disco_open(buf, n, p.ab, &got), 0);
	assert_int_equal(got.type, DISCO_PONG);
	assert_true(ip_addr_equal(&got.src.addr, &m.src.addr));
	assert_int_equal(got.src.port, 41641);
	ep(&m.src, "[2001:db8::7]:1");
	n = disco_seal(buf, sizeof(buf), p.b_pub, p.ba, &m);
	assert_int_equal(disco_open(buf, n, p.ab, &got), 0);
	assert_true(ip_addr_equal(&got.src.addr, &m.src.addr));
	/* call-me-maybe: 0, 3 and the maximum endpoints */
	memset(&m, 0, sizeof(m));
	m.type = DISCO_CALL_ME_MAYBE;
	n = disco_seal(buf, sizeof(buf), p.a_pub, p.ab, &m);
	assert_int_equal(disco_open(buf, n, p.ba, &got), 0);
	assert_int_equal(got.n_endpoints, 0);
	for (unsigned i = 0; i < DISCO_MAX_ENDPOINTS; i++) {
		char s[64];

		snprintf(s, sizeof(s), i % 2 ? "203.0.113.%u:%u" : "[2001:db8::%u]:%u", i + 1,
			 1000 + i);
		ep(&m.endpoints[i], s);
	}
	m.n_endpoints = DISCO_MAX_ENDPOINTS;
	n = disco_seal(buf, sizeof(buf), p.a_pub, p.ab, &m);
	assert_int_equal(disco_open(buf, n, p.ba, &got), 0);
	assert_int_equal(got.n_endpoints, DISCO_MAX_ENDPOINTS);
	for (unsigned i = 0; i < DISCO_MAX_ENDPOINTS; i++) {
		assert_true(ip_addr_equal(&got.endpoints[i].addr, &m.endpoints[i].addr));
		assert_int_equal(got.endpoints[i].port, m.endpoints[i].port);
	}
}

static void test_rejects(void **state)
{
	uint8_t buf[512], wrong[32];
	struct disco_msg m = {.type = DISCO_PING}, got;
	struct pair p;
	size_t n;

	(void)state;
	make_pair(&p);
	n = disco_seal(buf, sizeof(buf), p.a_pub, p.ab, &m);
	assert_true(n > 0);
	/* The wrong shared key. */
	randombytes_buf(wrong, sizeof(wrong));
	assert_int_equal(disco_open(buf, n, wrong, &got), -EBADMSG);
	/* Every flipped bit past the magic and key fails authentication. */
	for (size_t i = DISCO_MAGIC_LEN + DISCO_KEY_LEN; i < n; i++) {
		buf[i] ^= 0x10;
		assert_int_equal(disco_open(buf, n, p.ba, &got), -EBADMSG);
		buf[i] ^= 0x10;
	}
	/* Every truncation. */
	for (size_t len = 0; len < n; len++)
		assert_int_equal(disco_open(buf, len, p.ba, &got), -EBADMSG);
	/* Invalid messages are not sealed. */
	m.type = 0x7f;
	assert_int_equal(disco_seal(buf, sizeof(buf), p.a_pub, p.ab, &m), 0);
	m.type = DISCO_PONG; /* no source */
	assert_int_equal(disco_seal(buf, sizeof(buf), p.a_pub, p.ab, &m), 0);
	m.type = DISCO_CALL_ME_MAYBE;
	m.n_endpoints = DISCO_MAX_ENDPOINTS + 1;
	assert_int_equal(disco_seal(buf, sizeof(buf), p.a_pub, p.ab, &m), 0);
	m.type = DISCO_PING;
	m.n_endpoints = 0;
	assert_int_equal(disco_seal(buf, 40, p.a_pub, p.ab, &m), 0);
}

static void test_demux_disjoint(void **state)
{
	uint8_t buf[512];
	struct disco_msg m = {.type = DISCO_PING};
	struct pair p;
	size_t n;

	(void)state;
	make_pair(&p);
	n = disco_seal(buf, sizeof(buf), p.a_pub, p.ab, &m);
	/* Not WireGuard (types 1-4 little-endian) and not STUN. */
	assert_true(buf[0] < 1 || buf[0] > 4);
	assert_false(stun_is_message(buf, n));
	/* And a WireGuard data message is not disco. */
	memset(buf, 0, sizeof(buf));
	buf[0] = 4;
	assert_false(disco_is_message(buf, sizeof(buf)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_demux_disjoint),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
