// SPDX-License-Identifier: MIT
/*
 * Relay frame codec: the byte layout of every frame against hand-written
 * bytes, round trips, every truncation and corruption rejected, the sealed
 * ClientInfo/ServerInfo (wrong key, wrong challenge, lying about the key,
 * tampering, bad JSON, other versions), and the stream reader against a
 * naive model: random frames fed in random pieces come out whole and in
 * order, oversized frames fail the stream wherever their header is split.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "relay/relay_proto.h"

/* A small deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static int setup_sodium(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void test_header(void **state)
{
	static const uint8_t want[] = {0x04, 0x01, 0x02, 0x03, 0x04};
	struct relay_frame_header h;
	uint8_t buf[RELAY_FRAME_HEADER_LEN];

	(void)state;
	relay_put_header(buf, RELAY_FRAME_SEND_PACKET, 0x01020304);
	assert_memory_equal(buf, want, sizeof(want));
	for (size_t len = 0; len < RELAY_FRAME_HEADER_LEN; len++)
		assert_int_equal(relay_parse_header(buf, len, &h), -EAGAIN);
	assert_int_equal(relay_parse_header(buf, sizeof(buf), &h), 0);
	assert_int_equal(h.type, RELAY_FRAME_SEND_PACKET);
	assert_int_equal(h.len, 0x01020304);
	relay_put_header(buf, 0xff, 0xffffffffu);
	assert_int_equal(relay_parse_header(buf, sizeof(buf), &h), 0);
	assert_int_equal(h.type, 0xff);
	assert_int_equal(h.len, 0xffffffffu);
}

static void test_frame_types_and_names(void **state)
{
	(void)state;
	/* The numbers are the wire contract (docs/protocol.md). */
	assert_int_equal(RELAY_FRAME_SERVER_KEY, 0x01);
	assert_int_equal(RELAY_FRAME_CLIENT_INFO, 0x02);
	assert_int_equal(RELAY_FRAME_SERVER_INFO, 0x03);
	assert_int_equal(RELAY_FRAME_SEND_PACKET, 0x04);
	assert_int_equal(RELAY_FRAME_RECV_PACKET, 0x05);
	assert_int_equal(RELAY_FRAME_KEEP_ALIVE, 0x06);
	assert_int_equal(RELAY_FRAME_PEER_GONE, 0x07);
	assert_int_equal(RELAY_FRAME_PING, 0x08);
	assert_int_equal(RELAY_FRAME_PONG, 0x09);
	assert_int_equal(RELAY_FRAME_HEALTH, 0x0a);
	assert_int_equal(RELAY_FRAME_RESTARTING, 0x0b);
	assert_int_equal(RELAY_MAX_FRAME_LEN, 65536);
	assert_int_equal(RELAY_MAX_PACKET_LEN, 65504);
	assert_string_equal(relay_frame_name(RELAY_FRAME_SEND_PACKET), "SendPacket");
	assert_string_equal(relay_frame_name(RELAY_FRAME_RESTARTING), "Restarting");
	assert_string_equal(relay_frame_name(0), "unknown");
	assert_string_equal(relay_frame_name(0x0c), "unknown");
	assert_string_equal(relay_frame_name(0xff), "unknown");
}

static void test_server_key(void **state)
{
	uint8_t pub[RELAY_KEY_LEN], chal[RELAY_CHALLENGE_LEN], pub2[RELAY_KEY_LEN],
		chal2[RELAY_CHALLENGE_LEN];
	uint8_t buf[RELAY_SERVER_KEY_FRAME_LEN], big[RELAY_SERVER_KEY_MAX + 1];
	const uint8_t *p = buf + RELAY_FRAME_HEADER_LEN;

	(void)state;
	fill(pub, sizeof(pub), 1);
	fill(chal, sizeof(chal), 100);
	assert_int_equal(relay_build_server_key(buf, pub, chal), 77);
	assert_memory_equal(buf, "\x01\x00\x00\x00\x48MSHRELAY", 13);
	assert_memory_equal(buf + 13, pub, 32);
	assert_memory_equal(buf + 45, chal, 32);
	assert_int_equal(relay_parse_server_key(p, RELAY_SERVER_KEY_LEN, pub2, chal2), 0);
	assert_memory_equal(pub2, pub, 32);
	assert_memory_equal(chal2, chal, 32);
	for (size_t len = 0; len < RELAY_SERVER_KEY_LEN; len++)
		assert_int_equal(relay_parse_server_key(p, len, pub2, chal2), -EBADMSG);
	/* A newer server may append fields, up to a limit. */
	memset(big, 0xee, sizeof(big));
	memcpy(big, p, RELAY_SERVER_KEY_LEN);
	assert_int_equal(relay_parse_server_key(big, RELAY_SERVER_KEY_MAX, pub2, chal2), 0);
	assert_int_equal(relay_parse_server_key(big, sizeof(big), pub2, chal2), -EBADMSG);
	for (size_t i = 0; i < RELAY_MAGIC_LEN; i++) {
		big[i] ^= 0x20;
		assert_int_equal(relay_parse_server_key(big, RELAY_SERVER_KEY_LEN, pub2, chal2),
				 -EBADMSG);
		big[i] ^= 0x20;
	}
}

static void test_packet(void **state)
{
	static uint8_t buf[RELAY_MAX_FRAME_TOTAL + 1], data[RELAY_MAX_PACKET_LEN + 1];
	uint8_t key[RELAY_KEY_LEN];
	struct relay_packet pkt;
	struct relay_frame_header h;
	size_t n;

	(void)state;
	fill(key, sizeof(key), 9);
	fill(data, sizeof(data), 33);
	n = relay_build_packet(buf, sizeof(buf), RELAY_FRAME_SEND_PACKET, key, "hello", 5);
	assert_int_equal(n, 5 + 32 + 5);
	assert_memory_equal(buf, "\x04\x00\x00\x00\x25", 5);
	assert_memory_equal(buf + 5, key, 32);
	assert_memory_equal(buf + 37, "hello", 5);
	assert_int_equal(relay_parse_packet(buf + 5, n - 5, &pkt), 0);
	assert_memory_equal(pkt.key, key, 32);
	assert_int_equal(pkt.len, 5);
	assert_memory_equal(pkt.data, "hello", 5);

	/* Empty data is a valid packet; shorter than a key is not. */
	n = relay_build_packet(buf, sizeof(buf), RELAY_FRAME_RECV_PACKET, key, NULL, 0);
	assert_int_equal(n, 37);
	assert_int_equal(buf[0], RELAY_FRAME_RECV_PACKET);
	assert_int_equal(relay_parse_packet(buf + 5, 32, &pkt), 0);
	assert_int_equal(pkt.len, 0);
	for (size_t len = 0; len < 32; len++)
		assert_int_equal(relay_parse_packet(buf + 5, len, &pkt), -EBADMSG);

	/* The largest packet fills the largest frame exactly. */
	n = relay_build_packet(buf, sizeof(buf), RELAY_FRAME_SEND_PACKET, key, data,
			       RELAY_MAX_PACKET_LEN);
	assert_int_equal(n, RELAY_MAX_FRAME_TOTAL);
	assert_int_equal(relay_parse_header(buf, n, &h), 0);
	assert_int_equal(h.len, RELAY_MAX_FRAME_LEN);
	assert_int_equal(relay_parse_packet(buf + 5, h.len, &pkt), 0);
	assert_int_equal(pkt.len, RELAY_MAX_PACKET_LEN);
	assert_memory_equal(pkt.data, data, RELAY_MAX_PACKET_LEN);
	assert_int_equal(relay_parse_packet(buf + 5, RELAY_MAX_FRAME_LEN + 1, &pkt), -EBADMSG);
	assert_int_equal(relay_build_packet(buf, sizeof(buf), RELAY_FRAME_SEND_PACKET, key, data,
					    RELAY_MAX_PACKET_LEN + 1),
			 0);
	assert_int_equal(relay_build_packet(buf, 5 + 32 + 4, RELAY_FRAME_SEND_PACKET, key, data, 5),
			 0);
	assert_int_equal(relay_build_packet(buf, 5 + 32 + 5, RELAY_FRAME_SEND_PACKET, key, data, 5),
			 42);

	/* Building in place (data already where it goes) works: the relay may do that. */
	memcpy(buf + 37, "inplace", 7);
	n = relay_build_packet(buf, sizeof(buf), RELAY_FRAME_RECV_PACKET, key, buf + 37, 7);
	assert_int_equal(n, 44);
	assert_memory_equal(buf + 37, "inplace", 7);
}

static void test_small_frames(void **state)
{
	uint8_t key[RELAY_KEY_LEN], key2[RELAY_KEY_LEN], buf[64], reason, ping[8];
	uint32_t a, b;

	(void)state;
	fill(key, sizeof(key), 77);
	assert_int_equal(relay_build_peer_gone(buf, key, RELAY_PEER_GONE_NOT_HERE), 38);
	assert_memory_equal(buf, "\x07\x00\x00\x00\x21", 5);
	assert_memory_equal(buf + 5, key, 32);
	assert_int_equal(buf[37], 0x01);
	assert_int_equal(relay_parse_peer_gone(buf + 5, 33, key2, &reason), 0);
	assert_memory_equal(key2, key, 32);
	assert_int_equal(reason, RELAY_PEER_GONE_NOT_HERE);
	assert_int_equal(relay_parse_peer_gone(buf + 5, 40, key2, &reason), 0); /* newer fields */
	for (size_t len = 0; len < 33; len++)
		assert_int_equal(relay_parse_peer_gone(buf + 5, len, key2, &reason), -EBADMSG);

	assert_int_equal(relay_build_ping(buf, RELAY_FRAME_PING, (const uint8_t *)"12345678"), 13);
	assert_memory_equal(buf,
			    "\x08\x00\x00\x00\x08"
			    "12345678",
			    13);
	assert_int_equal(relay_parse_ping(buf + 5, 8, ping), 0);
	assert_memory_equal(ping, "12345678", 8);
	assert_int_equal(relay_parse_ping(buf + 5, 7, ping), -EBADMSG);
	assert_int_equal(relay_parse_ping(buf + 5, 9, ping), -EBADMSG);
	assert_int_equal(relay_build_ping(buf, RELAY_FRAME_PONG, ping), 13);
	assert_int_equal(buf[0], 0x09);

	assert_int_equal(relay_build_keep_alive(buf), 5);
	assert_memory_equal(buf, "\x06\x00\x00\x00\x00", 5);

	assert_int_equal(relay_build_restarting(buf, 0x01020304, 0xa0b0c0d0), 13);
	assert_memory_equal(buf, "\x0b\x00\x00\x00\x08\x01\x02\x03\x04\xa0\xb0\xc0\xd0", 13);
	assert_int_equal(relay_parse_restarting(buf + 5, 8, &a, &b), 0);
	assert_int_equal(a, 0x01020304);
	assert_int_equal(b, 0xa0b0c0d0);
	for (size_t len = 0; len < 8; len++)
		assert_int_equal(relay_parse_restarting(buf + 5, len, &a, &b), -EBADMSG);
}

static void test_health(void **state)
{
	static uint8_t buf[RELAY_FRAME_HEADER_LEN + RELAY_MAX_HEALTH_LEN + 8];
	static char big[RELAY_MAX_HEALTH_LEN + 100];
	char text[RELAY_MAX_HEALTH_LEN + 1], small[6];

	(void)state;
	assert_int_equal(relay_build_health(buf, sizeof(buf), "duplicate key"), 5 + 13);
	assert_memory_equal(buf,
			    "\x0a\x00\x00\x00\x0d"
			    "duplicate key",
			    18);
	assert_int_equal(relay_parse_health(buf + 5, 13, text, sizeof(text)), 0);
	assert_string_equal(text, "duplicate key");
	assert_int_equal(relay_build_health(buf, sizeof(buf), ""), 5);
	assert_int_equal(relay_parse_health(buf + 5, 0, text, sizeof(text)), 0);
	assert_string_equal(text, "");
	/* Control bytes and non-ASCII never reach a log line as they are. */
	assert_int_equal(relay_parse_health((const uint8_t *)"a\nb\x1b[31m\xc3\xa9\0z", 12, text,
					    sizeof(text)),
			 0);
	assert_string_equal(text, "a?b?[31m???z");
	/* Truncated to the caller's buffer, bounded by the protocol limit. */
	assert_int_equal(relay_parse_health((const uint8_t *)"abcdefgh", 8, small, sizeof(small)),
			 0);
	assert_string_equal(small, "abcde");
	memset(big, 'x', sizeof(big) - 1);
	assert_int_equal(relay_build_health(buf, sizeof(buf), big),
			 RELAY_FRAME_HEADER_LEN + RELAY_MAX_HEALTH_LEN);
	assert_int_equal(relay_build_health(buf, 10, big), 0);
	assert_int_equal(
		relay_parse_health((const uint8_t *)big, RELAY_MAX_HEALTH_LEN, text, sizeof(text)),
		0);
	assert_int_equal(strlen(text), RELAY_MAX_HEALTH_LEN);
	assert_int_equal(relay_parse_health((const uint8_t *)big, RELAY_MAX_HEALTH_LEN + 1, text,
					    sizeof(text)),
			 -EBADMSG);
}

struct keys {
	uint8_t cpriv[32], cpub[32], spriv[32], spub[32], other_priv[32], other_pub[32];
	uint8_t chal[RELAY_CHALLENGE_LEN];
};

static void make_keys(struct keys *k)
{
	crypto_box_keypair(k->cpub, k->cpriv);
	crypto_box_keypair(k->spub, k->spriv);
	crypto_box_keypair(k->other_pub, k->other_priv);
	randombytes_buf(k->chal, sizeof(k->chal));
}

/* Seal arbitrary bytes as a ClientInfo payload, claiming @claimed. */
static size_t seal_raw(uint8_t *out, const uint8_t *claimed, const uint8_t *priv,
		       const uint8_t *server_pub, const uint8_t *plain, size_t plen)
{
	memcpy(out, claimed, 32);
	randombytes_buf(out + 32, 24);
	assert_int_equal(crypto_box_easy(out + 56, plain, plen, out + 32, server_pub, priv), 0);
	return 56 + 16 + plen;
}

static size_t seal_json(uint8_t *out, const struct keys *k, const char *json)
{
	uint8_t plain[RELAY_CHALLENGE_LEN + RELAY_MAX_INFO_JSON + 16];
	size_t jlen = strlen(json);

	memcpy(plain, k->chal, 32);
	memcpy(plain + 32, json, jlen);
	return seal_raw(out, k->cpub, k->cpriv, k->spub, plain, 32 + jlen);
}

static void test_client_info(void **state)
{
	static uint8_t buf[RELAY_CLIENT_INFO_FRAME_MAX + 64];
	struct relay_client_info in = {.version = RELAY_PROTOCOL_VERSION, .can_ack_pings = true};
	struct relay_client_info out;
	struct relay_frame_header h;
	const uint8_t *p = buf + RELAY_FRAME_HEADER_LEN;
	uint8_t zero[32] = {0};
	struct keys k;
	size_t n;

	(void)state;
	make_keys(&k);
	n = relay_seal_client_info(buf, k.cpriv, k.spub, k.chal, &in);
	assert_true(n > RELAY_FRAME_HEADER_LEN + RELAY_CLIENT_INFO_MIN);
	assert_int_equal(relay_parse_header(buf, n, &h), 0);
	assert_int_equal(h.type, RELAY_FRAME_CLIENT_INFO);
	assert_int_equal(h.len, n - RELAY_FRAME_HEADER_LEN);
	assert_memory_equal(p, k.cpub, 32); /* the claimed key is in clear */
	assert_int_equal(relay_open_client_info(p, h.len, k.spriv, k.chal, &out), 0);
	assert_memory_equal(out.key, k.cpub, 32);
	assert_int_equal(out.version, 1);
	assert_true(out.can_ack_pings);
	in.can_ack_pings = false;
	n = relay_seal_client_info(buf, k.cpriv, k.spub, k.chal, &in);
	assert_int_equal(relay_open_client_info(p, n - 5, k.spriv, k.chal, &out), 0);
	assert_false(out.can_ack_pings);

	/* Another server cannot open it; another connection's challenge does not match. */
	assert_int_equal(relay_open_client_info(p, n - 5, k.other_priv, k.chal, &out),
			 -EKEYREJECTED);
	k.chal[7] ^= 1;
	assert_int_equal(relay_open_client_info(p, n - 5, k.spriv, k.chal, &out), -EKEYREJECTED);
	k.chal[7] ^= 1;
	/* Claiming someone else's key without their private key fails. */
	memcpy(buf + 5, k.other_pub, 32);
	assert_int_equal(relay_open_client_info(p, n - 5, k.spriv, k.chal, &out), -EKEYREJECTED);
	assert_memory_equal(out.key, zero, 32);
	memcpy(buf + 5, k.cpub, 32);
	/* The alias with bit 255 set opens the same box (X25519 ignores that bit): refused. */
	assert_int_equal(k.cpub[31] & 0x80, 0);
	buf[5 + 31] |= 0x80;
	assert_int_equal(relay_open_client_info(p, n - 5, k.spriv, k.chal, &out), -EKEYREJECTED);
	buf[5 + 31] &= 0x7f;
	/* Every single-bit flip anywhere is caught. */
	for (size_t i = 0; i < n - 5; i++) {
		buf[5 + i] ^= 0x80;
		assert_int_not_equal(relay_open_client_info(p, n - 5, k.spriv, k.chal, &out), 0);
		buf[5 + i] ^= 0x80;
	}
	assert_int_equal(relay_open_client_info(p, n - 5, k.spriv, k.chal, &out), 0);
	/* Truncations. */
	for (size_t len = 0; len < n - 5; len++)
		assert_int_not_equal(relay_open_client_info(p, len, k.spriv, k.chal, &out), 0);
	/* A low-order server key cannot be sealed to. */
	assert_int_equal(relay_seal_client_info(buf, k.cpriv, zero, k.chal, &in), 0);
}

static void test_client_info_json(void **state)
{
	static uint8_t buf[RELAY_CLIENT_INFO_MAX + 64];
	static char big[RELAY_MAX_INFO_JSON + 2];
	struct relay_client_info out;
	struct keys k;
	size_t n;

	(void)state;
	make_keys(&k);
	n = seal_json(buf, &k, "{\"version\":1}");
	assert_int_equal(relay_open_client_info(buf, n, k.spriv, k.chal, &out), 0);
	assert_false(out.can_ack_pings);
	/* Unknown members are ignored (forward compatible). */
	n = seal_json(buf, &k, "{\"version\":1,\"can_ack_pings\":true,\"future\":[1,2]}");
	assert_int_equal(relay_open_client_info(buf, n, k.spriv, k.chal, &out), 0);
	assert_true(out.can_ack_pings);

	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"null",
		"{\"version\":\"1\"}",
		"{\"version\":-1}",
		"{\"version\":1.5}",
		"{}",
		"{\"version\":1,\"can_ack_pings\":1}",
		"{\"version\":1} trailing",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = seal_json(buf, &k, bad[i]);
		assert_int_equal(relay_open_client_info(buf, n, k.spriv, k.chal, &out), -EBADMSG);
	}
	n = seal_json(buf, &k, "{\"version\":2}");
	assert_int_equal(relay_open_client_info(buf, n, k.spriv, k.chal, &out), -EPROTONOSUPPORT);
	n = seal_json(buf, &k, "{\"version\":0}");
	assert_int_equal(relay_open_client_info(buf, n, k.spriv, k.chal, &out), -EPROTONOSUPPORT);

	/* JSON up to the limit is accepted, one byte more is not. */
	memset(big, ' ', sizeof(big));
	memcpy(big, "{\"version\":1}", 13);
	big[RELAY_MAX_INFO_JSON] = '\0';
	n = seal_json(buf, &k, big);
	assert_int_equal(n, RELAY_CLIENT_INFO_MAX);
	assert_int_equal(relay_open_client_info(buf, n, k.spriv, k.chal, &out), 0);
	big[RELAY_MAX_INFO_JSON] = ' ';
	big[RELAY_MAX_INFO_JSON + 1] = '\0';
	n = seal_json(buf, &k, big);
	assert_int_equal(relay_open_client_info(buf, n, k.spriv, k.chal, &out), -EBADMSG);
}

static void test_server_info(void **state)
{
	static uint8_t buf[RELAY_SERVER_INFO_FRAME_MAX];
	struct relay_server_info in = {
		.version = 1, .keepalive_ms = 60000, .queue_depth = 32, .max_packet = 65504};
	struct relay_server_info out;
	uint8_t plain[256];
	struct keys k;
	size_t n, plen;

	(void)state;
	make_keys(&k);
	n = relay_seal_server_info(buf, k.spriv, k.cpub, &in);
	assert_true(n > 5 + RELAY_SERVER_INFO_MIN);
	assert_int_equal(buf[0], RELAY_FRAME_SERVER_INFO);
	assert_int_equal(relay_open_server_info(buf + 5, n - 5, k.cpriv, k.spub, &out), 0);
	assert_int_equal(out.version, 1);
	assert_int_equal(out.keepalive_ms, 60000);
	assert_int_equal(out.queue_depth, 32);
	assert_int_equal(out.max_packet, 65504);
	assert_int_equal(relay_open_server_info(buf + 5, n - 5, k.other_priv, k.spub, &out),
			 -EKEYREJECTED);
	assert_int_equal(relay_open_server_info(buf + 5, n - 5, k.cpriv, k.other_pub, &out),
			 -EKEYREJECTED);
	for (size_t len = 0; len < n - 5; len++)
		assert_int_not_equal(relay_open_server_info(buf + 5, len, k.cpriv, k.spub, &out),
				     0);

	/* Hand-sealed variants: optional members absent, bad types, other versions. */
	static const struct {
		const char *json;
		int ret;
	} cases[] = {
		{"{\"version\":1}", 0},
		{"{\"version\":1,\"keepalive_ms\":-5}", -EBADMSG},
		{"{\"version\":1,\"queue_depth\":\"32\"}", -EBADMSG},
		{"{\"version\":1,\"max_packet\":4294967296}", -EBADMSG},
		{"{\"keepalive_ms\":1}", -EBADMSG},
		{"{\"version\":3}", -EPROTONOSUPPORT},
		{"not json", -EBADMSG},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		plen = strlen(cases[i].json);
		memcpy(plain, cases[i].json, plen);
		randombytes_buf(buf, 24);
		assert_int_equal(crypto_box_easy(buf + 24, plain, plen, buf, k.cpub, k.spriv), 0);
		assert_int_equal(relay_open_server_info(buf, 24 + 16 + plen, k.cpriv, k.spub, &out),
				 cases[i].ret);
	}
	assert_int_equal(out.keepalive_ms, 0);
}

/* --- the stream reader against a naive model --- */

struct frame {
	uint8_t type;
	uint32_t len;
	uint8_t *data;
};

struct collect {
	struct frame *got;
	size_t n, cap;
	int stop_at;		/* stop (return 7) when this many frames arrived; -1 never */
	uint32_t switch_max_to; /* after the first frame, set the reader's max to this */
	struct relay_reader *reader;
};

static int collect_cb(void *arg, uint8_t type, const uint8_t *payload, size_t len)
{
	struct collect *c = arg;
	struct frame *f;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->got = realloc(c->got, c->cap * sizeof(*c->got));
		assert_non_null(c->got);
	}
	f = &c->got[c->n++];
	f->type = type;
	f->len = (uint32_t)len;
	f->data = malloc(len + 1);
	assert_non_null(f->data);
	if (len)
		memcpy(f->data, payload, len);
	if (c->switch_max_to && c->n == 1)
		c->reader->max_len = c->switch_max_to;
	if (c->stop_at >= 0 && (int)c->n == c->stop_at)
		return 7;
	return 0;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->got[i].data);
	free(c->got);
	memset(c, 0, sizeof(*c));
}

/* Serialize @n random frames into a fresh buffer; returns it, its size in *len. */
static uint8_t *make_stream(struct frame *frames, size_t n, size_t *len)
{
	size_t total = 0, off = 0;
	uint8_t *s;

	for (size_t i = 0; i < n; i++) {
		uint32_t r = rnd_below(100);

		frames[i].type = (uint8_t)rnd();
		/* Mostly small, some empty, a few at the limit. */
		frames[i].len = r < 10 ? 0 : r < 95 ? rnd_below(1500) : 60000 + rnd_below(5537);
		frames[i].data = malloc(frames[i].len + 1);
		assert_non_null(frames[i].data);
		for (uint32_t j = 0; j < frames[i].len; j++)
			frames[i].data[j] = (uint8_t)rnd();
		total += RELAY_FRAME_HEADER_LEN + frames[i].len;
	}
	s = malloc(total);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		relay_put_header(s + off, frames[i].type, frames[i].len);
		memcpy(s + off + 5, frames[i].data, frames[i].len);
		off += 5 + frames[i].len;
	}
	*len = total;
	return s;
}

static void test_reader_model(void **state)
{
	enum { ROUNDS = 60, FRAMES = 40 };

	(void)state;
	for (int round = 0; round < ROUNDS; round++) {
		struct frame frames[FRAMES];
		struct relay_reader r;
		struct collect c = {.stop_at = -1};
		size_t len, off = 0;
		uint8_t *s = make_stream(frames, FRAMES, &len);
		/* Piece sizes: byte by byte, small, or large, per round. */
		uint32_t maxpiece = round % 3 == 0 ? 1 : round % 3 == 1 ? 64 : 70000;

		relay_reader_init(&r, RELAY_MAX_FRAME_LEN);
		while (off < len) {
			size_t piece = 1 + rnd_below(maxpiece);

			if (piece > len - off)
				piece = len - off;
			assert_int_equal(relay_reader_feed(&r, s + off, piece, collect_cb, &c), 0);
			off += piece;
		}
		assert_int_equal(relay_reader_pending(&r), 0);
		assert_int_equal(c.n, FRAMES);
		for (size_t i = 0; i < FRAMES; i++) {
			assert_int_equal(c.got[i].type, frames[i].type);
			assert_int_equal(c.got[i].len, frames[i].len);
			assert_memory_equal(c.got[i].data, frames[i].data, frames[i].len);
			free(frames[i].data);
		}
		collect_free(&c);
		relay_reader_free(&r);
		free(s);
	}
}

static void test_reader_limits(void **state)
{
	uint8_t s[64];
	struct relay_reader r;
	struct collect c = {.stop_at = -1};

	(void)state;
	/* A header announcing more than the limit fails, however it is split. */
	relay_put_header(s, RELAY_FRAME_SEND_PACKET, 101);
	for (size_t split = 0; split <= RELAY_FRAME_HEADER_LEN; split++) {
		relay_reader_init(&r, 100);
		int ret = split ? relay_reader_feed(&r, s, split, collect_cb, &c) : 0;

		if (split < RELAY_FRAME_HEADER_LEN) {
			assert_int_equal(ret, 0);
			ret = relay_reader_feed(&r, s + split, RELAY_FRAME_HEADER_LEN - split,
						collect_cb, &c);
		}
		assert_int_equal(ret, -EMSGSIZE);
		relay_reader_free(&r);
	}
	/* Exactly the limit passes. */
	relay_reader_init(&r, 100);
	relay_put_header(s, 1, 0);
	assert_int_equal(relay_reader_feed(&r, s, 5, collect_cb, &c), 0);
	assert_int_equal(c.n, 1);
	relay_put_header(s, 2, 0xffffffffu);
	assert_int_equal(relay_reader_feed(&r, s, 5, collect_cb, &c), -EMSGSIZE);
	relay_reader_free(&r);
	collect_free(&c);

	/* A partial frame counts as pending. */
	relay_reader_init(&r, 100);
	relay_put_header(s, 3, 10);
	memset(s + 5, 0xab, 10);
	assert_int_equal(relay_reader_feed(&r, s, 8, collect_cb, &c), 0);
	assert_int_equal(relay_reader_pending(&r), 8);
	assert_int_equal(c.n, 0);
	assert_int_equal(relay_reader_feed(&r, s + 8, 7, collect_cb, &c), 0);
	assert_int_equal(relay_reader_pending(&r), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.got[0].len, 10);
	relay_reader_free(&r);
	collect_free(&c);
}

static void test_reader_stop_and_switch(void **state)
{
	uint8_t s[5 * 4 + 300];
	struct relay_reader r;
	struct collect c = {.stop_at = 2};

	(void)state;
	/* Three frames in one buffer: the callback stops after the second. */
	relay_put_header(s, 1, 0);
	relay_put_header(s + 5, 2, 0);
	relay_put_header(s + 10, 3, 0);
	relay_reader_init(&r, 10);
	assert_int_equal(relay_reader_feed(&r, s, 15, collect_cb, &c), 7);
	assert_int_equal(c.n, 2);
	relay_reader_free(&r);
	collect_free(&c);

	/* The limit may be raised by the callback (the handshake is over). */
	relay_put_header(s, 1, 0);
	relay_put_header(s + 5, 4, 200);
	memset(s + 10, 0x5a, 200);
	relay_reader_init(&r, 10);
	c = (struct collect){.stop_at = -1, .switch_max_to = 1000, .reader = &r};
	assert_int_equal(relay_reader_feed(&r, s, 210, collect_cb, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.got[1].len, 200);
	relay_reader_free(&r);
	collect_free(&c);

	/* Without the switch the second frame is too large. */
	relay_reader_init(&r, 10);
	c = (struct collect){.stop_at = -1};
	assert_int_equal(relay_reader_feed(&r, s, 210, collect_cb, &c), -EMSGSIZE);
	assert_int_equal(c.n, 1);
	relay_reader_free(&r);
	collect_free(&c);
}

/* Garbage into every parser: no crash, no read past the end (ASan watches). */
static void test_parsers_garbage(void **state)
{
	uint8_t key[32], chal[32], pub[32], ping[8], reason, priv[32];
	struct relay_client_info ci;
	struct relay_server_info si;
	struct relay_packet pkt;
	char text[64];
	uint32_t a, b;

	(void)state;
	randombytes_buf(priv, sizeof(priv));
	for (int i = 0; i < 3000; i++) {
		size_t len = rnd_below(i < 2000 ? 200 : 5000);
		uint8_t *p = malloc(len ? len : 1);

		assert_non_null(p);
		for (size_t j = 0; j < len; j++)
			p[j] = (uint8_t)rnd();
		if (len >= 8 && rnd_below(2))
			memcpy(p, relay_magic, 8);
		relay_parse_server_key(p, len, pub, chal);
		relay_parse_packet(p, len, &pkt);
		relay_parse_peer_gone(p, len, key, &reason);
		relay_parse_ping(p, len, ping);
		relay_parse_health(p, len, text, sizeof(text));
		relay_parse_restarting(p, len, &a, &b);
		assert_int_not_equal(relay_open_client_info(p, len, priv, chal, &ci), 0);
		assert_int_not_equal(relay_open_server_info(p, len, priv, pub, &si), 0);
		free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_frame_types_and_names),
		cmocka_unit_test(test_server_key),
		cmocka_unit_test(test_packet),
		cmocka_unit_test(test_small_frames),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_client_info),
		cmocka_unit_test(test_client_info_json),
		cmocka_unit_test(test_server_info),
		cmocka_unit_test(test_reader_model),
		cmocka_unit_test(test_reader_limits),
		cmocka_unit_test(test_reader_stop_and_switch),
		cmocka_unit_test(test_parsers_garbage),
	};

	return cmocka_run_group_tests(tests, setup_sodium, NULL);
}
