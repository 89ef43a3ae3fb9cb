// SPDX-License-Identifier: MIT
/*
 * The Noise_IKpsk2 handshake as WireGuard frames it: the known-answer vector
 * (fixed statics, ephemerals, timestamp and indices; every message byte, the
 * final hash, both transport keys, a keepalive and a data packet, mac2), then
 * behaviour with random keys: round trips with and without PSK, wrong PSK,
 * unknown peer, replayed and flooding initiations, tampering, low-order
 * points, wrong states, bad lengths, keypair rotation on both sides, data
 * limits, padding, and TAI64N encoding.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/blake2s.h"
#include "crypto/keys.h"
#include "wg/cookie.h"
#include "wg/noise.h"
#include "wg/tai64n.h"
#include "wg/wg_proto.h"

#define SEC(s)	 ((uint64_t)(s)*WG_NSEC_PER_SEC)
#define MSEC(ms) ((uint64_t)(ms)*1000000u)

/* An arbitrary monotonic "boot time" far from 0, and the vector's wall clock. */
static const uint64_t t0 = SEC(1000);
static const uint64_t kat_wall = SEC(1700000000);

static size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;

	for (const char *p = hex; *p;) {
		unsigned int v;

		if (*p == ' ') {
			p++;
			continue;
		}
		assert_true(n < cap);
		assert_int_equal(sscanf(p, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		p += 2;
	}
	return n;
}

static void assert_hex_equal(const uint8_t *got, size_t len, const char *want_hex)
{
	uint8_t want[256];

	assert_int_equal(unhex(want, sizeof(want), want_hex), len);
	assert_memory_equal(got, want, len);
}

/* One side of a conversation: our identity, one peer, its cookie state and keypairs. */
struct side {
	struct noise_static_identity id;
	struct noise_handshake hs;
	struct cookie_maker maker;
	struct cookie_checker checker;
	struct noise_keypairs kps;
	struct noise_ops ops;
	uint32_t next_index;
	const uint8_t *rng; /* scripted random bytes, then libsodium */
	size_t rng_len;
	int live_keypairs;
};

static void side_random(void *ctx, void *buf, size_t len)
{
	struct side *s = ctx;

	if (s->rng) {
		assert_true(len <= s->rng_len);
		memcpy(buf, s->rng, len);
		s->rng += len;
		s->rng_len -= len;
		if (!s->rng_len)
			s->rng = NULL;
		return;
	}
	randombytes_buf(buf, len);
}

static struct noise_handshake *side_lookup_static(void *ctx, const uint8_t pub[32])
{
	struct side *s = ctx;

	return memcmp(pub, s->hs.remote_static, 32) ? NULL : &s->hs;
}

static struct noise_handshake *side_lookup_index(void *ctx, uint32_t index)
{
	struct side *s = ctx;

	return s->hs.state != HANDSHAKE_ZEROED && s->hs.local_index == index ? &s->hs : NULL;
}

static void side_init(struct side *s, const uint8_t priv[32], const uint8_t peer_pub[32],
		      const uint8_t *psk, uint32_t index_base)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(noise_static_identity_set(&s->id, priv), 0);
	noise_handshake_init(&s->hs, &s->id, peer_pub, psk);
	cookie_maker_init(&s->maker, peer_pub);
	cookie_checker_init(&s->checker, s->id.static_public, NULL, NULL);
	s->ops.lookup_static = side_lookup_static;
	s->ops.lookup_index = side_lookup_index;
	s->ops.random = side_random;
	s->ops.ctx = s;
	s->next_index = index_base;
}

static void random_pair(struct side *a, struct side *b, const uint8_t *psk_a, const uint8_t *psk_b)
{
	uint8_t pa[32], pb[32], qa[32], qb[32];

	key_generate_private(pa);
	key_generate_private(pb);
	assert_int_equal(key_public_from_private(qa, pa), 0);
	assert_int_equal(key_public_from_private(qb, pb), 0);
	side_init(a, pa, qb, psk_a, 0x10000000);
	side_init(b, pb, qa, psk_b, 0x20000000);
}

static void side_install(struct side *s, uint64_t now)
{
	struct noise_keypair *kp = calloc(1, sizeof(*kp)), *ev[NOISE_KEYPAIRS_MAX_EVICTED];
	int n;

	assert_non_null(kp);
	assert_int_equal(noise_handshake_begin_session(&s->hs, kp, now), 0);
	assert_int_equal(s->hs.state, HANDSHAKE_ZEROED);
	n = noise_keypairs_begin_session(&s->kps, kp, ev);
	s->live_keypairs += 1 - n;
	for (int i = 0; i < NOISE_KEYPAIRS_MAX_EVICTED; i++) {
		assert_true((i < n) == (ev[i] != NULL));
		if (ev[i]) {
			noise_keypair_wipe(ev[i]);
			free(ev[i]);
		}
	}
}

static void side_free(struct side *s)
{
	struct noise_keypair *ev[NOISE_KEYPAIRS_SLOTS];
	int n = noise_keypairs_clear(&s->kps, ev);

	assert_int_equal(n, s->live_keypairs);
	for (int i = 0; i < NOISE_KEYPAIRS_SLOTS; i++) {
		if (ev[i]) {
			noise_keypair_wipe(ev[i]);
			free(ev[i]);
		}
	}
	assert_null(s->kps.previous);
	assert_null(s->kps.current);
	assert_null(s->kps.next);
}

static void send_initiation(struct side *i, uint8_t msg[MESSAGE_INITIATION_LEN], uint64_t wall,
			    uint64_t now)
{
	assert_int_equal(
		noise_handshake_create_initiation(&i->hs, msg, i->next_index++, wall, &i->ops), 0);
	cookie_add_mac_to_packet(&i->maker, msg, MESSAGE_INITIATION_LEN, now);
}

/* A full handshake @i -> @r at monotonic @now, wall clock @wall; both install the session. */
static void handshake(struct side *i, struct side *r, uint64_t wall, uint64_t now)
{
	uint8_t init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN];
	struct noise_handshake *hs;

	send_initiation(i, init, wall, now);
	assert_int_equal(
		cookie_validate_packet(&r->checker, init, sizeof(init), NULL, 0, false, now),
		COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(
		noise_handshake_consume_initiation(&r->id, init, sizeof(init), now, &r->ops, &hs),
		0);
	assert_ptr_equal(hs, &r->hs);
	assert_int_equal(noise_handshake_create_response(&r->hs, resp, r->next_index++, &r->ops),
			 0);
	cookie_add_mac_to_packet(&r->maker, resp, sizeof(resp), now);
	assert_int_equal(
		cookie_validate_packet(&i->checker, resp, sizeof(resp), NULL, 0, false, now),
		COOKIE_MAC_VALID_NO_COOKIE);
	side_install(r, now);
	assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &i->ops, &hs), 0);
	assert_ptr_equal(hs, &i->hs);
	side_install(i, now);
}

static struct noise_keypair *find_keypair(struct side *s, uint32_t index)
{
	struct noise_keypair *slots[] = {s->kps.previous, s->kps.current, s->kps.next};

	for (int i = 0; i < 3; i++)
		if (slots[i] && slots[i]->local_index == index)
			return slots[i];
	return NULL;
}

/*
 * Send one data packet from @from (on its current keypair) to @to; @to finds
 * the keypair by receiver index, decrypts, notes the receipt. Returns whether
 * @to promoted its next keypair.
 */
static bool send_data(struct side *from, struct side *to, uint64_t now, const char *text)
{
	uint8_t msg[MESSAGE_DATA_MIN_LEN + 64] = {0};
	size_t plain = noise_padded_len(strlen(text), WG_DEFAULT_MTU), len;
	struct noise_keypair *kp, *ev;
	uint64_t ctr, got_ctr;
	bool promoted;

	assert_non_null(from->kps.current);
	assert_int_equal(noise_keypair_take_counter(from->kps.current, now, &ctr), 0);
	memcpy(msg + MESSAGE_DATA_HEADER_LEN, text, strlen(text));
	len = noise_encrypt_data(from->kps.current, ctr, msg, plain);
	assert_int_equal(len, plain + MESSAGE_DATA_MIN_LEN);

	kp = find_keypair(to, wg_get_le32(msg + DATA_OFF_RECEIVER_INDEX));
	assert_non_null(kp);
	assert_int_equal(noise_decrypt_data(kp, msg, len, now, &got_ctr), 0);
	assert_int_equal(got_ctr, ctr);
	assert_memory_equal(msg + MESSAGE_DATA_HEADER_LEN, text, strlen(text));
	promoted = noise_keypairs_received_with(&to->kps, kp, &ev);
	if (ev) {
		to->live_keypairs--;
		noise_keypair_wipe(ev);
		free(ev);
	}
	return promoted;
}

/* ---- the known-answer vector ---- */

static const char kat_i_priv[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char kat_i_pub[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char kat_r_priv[] = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char kat_r_pub[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char kat_i_eph[] = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
static const char kat_r_eph[] = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
static const char kat_initiation[] =
	"0100000044332211358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"
	"c4d95d121b13f6ff24fe1e983a4c71ae6c55e2763a0d1de7643d6725687b49e7a55fea10050d69b8"
	"b69a79893d649b339434a506fe739697f7b0e3c44db2dfd4872741d32a58246ebde269f3d65e7713"
	"b0ee5979e1cce713c9afa3e300000000000000000000000000000000";
static const char kat_response[] =
	"02000000887766554433221179a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89"
	"af85a51a5088f4559e6cb5e5720e4523f573eb9b9bd8572e82c36cc7b6d7a521da35d32d00000000"
	"000000000000000000000000";
static const char kat_final_hash[] =
	"4803ce57d0a25afa4205e843eec9c5c32cdbdcaf069463badd0608478cd8ca04";
static const char kat_t_i2r[] = "5fe2f81f7ce2ce8bc9e3aad973312d721c7c36d77fd0c26342a45319c8069f89";
static const char kat_t_r2i[] = "e429173227a0a4509b3489e27f4a61d6d8e1ebc91761bb9cf48c647ba9fbde5a";
static const char kat_keepalive[] =
	"04000000887766550000000000000000e7efaeb1326c6f4c85ae4b89410363f6";
static const char kat_data_plain[] = "4500001400000000400100000a0000010a000002";
static const char kat_data[] =
	"0400000088776655010000000000000095e48cfc5387b903adc0beabaf0fd45ccab8bbe72300029e1014d56e"
	"ab9f781ec8444646dc428ef36ba553da76101ca0";

static void kat_sides(struct side *i, struct side *r, uint8_t ei[32], uint8_t er[32])
{
	uint8_t ipriv[32], ipub[32], rpriv[32], rpub[32];

	unhex(ipriv, 32, kat_i_priv);
	unhex(ipub, 32, kat_i_pub);
	unhex(rpriv, 32, kat_r_priv);
	unhex(rpub, 32, kat_r_pub);
	unhex(ei, 32, kat_i_eph);
	unhex(er, 32, kat_r_eph);
	side_init(i, ipriv, rpub, NULL, 0x11223344);
	side_init(r, rpriv, ipub, NULL, 0x55667788);
	assert_memory_equal(i->id.static_public, ipub, 32);
	assert_memory_equal(r->id.static_public, rpub, 32);
}

static void test_construction_constants(void **state)
{
	static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	struct blake2s_state s;
	uint8_t c[32], h[32];

	(void)state;
	blake2s(c, 32, construction, strlen(construction), NULL, 0);
	assert_hex_equal(c, 32, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	blake2s_init(&s, 32);
	blake2s_update(&s, c, 32);
	blake2s_update(&s, identifier, strlen(identifier));
	blake2s_final(&s, h);
	assert_hex_equal(h, 32, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
}

static void test_known_answer(void **state)
{
	uint8_t ei[32], er[32], init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN];
	uint8_t msg[64], plain[32], cookie[16];
	struct side *i = calloc(1, sizeof(*i)), *r = calloc(1, sizeof(*r));
	struct noise_keypair ki, kr;
	struct noise_handshake *hs;
	uint64_t ctr;
	size_t len;

	(void)state;
	kat_sides(i, r, ei, er);
	assert_hex_equal(i->maker.message_mac1_key, 32,
			 "52c0a95717f46ba7941f80cec1ead35984c9f023a996170d9e47e314d260dc96");
	assert_hex_equal(r->checker.cookie_encryption_key, 32,
			 "da2c25a7f8182d2a7a58b0978d9dcd7e5f76c3fcf138fd6e5754404304cacba0");

	/* Initiation, with mac1 and an all-zero mac2 (no cookie). */
	i->rng = ei;
	i->rng_len = 32;
	assert_int_equal(
		noise_handshake_create_initiation(&i->hs, init, 0x11223344, kat_wall, &i->ops), 0);
	assert_null(i->rng); /* exactly the 32 ephemeral bytes were drawn */
	cookie_add_mac_to_packet(&i->maker, init, sizeof(init), t0);
	assert_hex_equal(init, sizeof(init), kat_initiation);
	assert_int_equal(i->hs.state, HANDSHAKE_CREATED_INITIATION);

	/* Responder. */
	assert_int_equal(
		cookie_validate_packet(&r->checker, init, sizeof(init), NULL, 0, false, t0),
		COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(
		noise_handshake_consume_initiation(&r->id, init, sizeof(init), t0, &r->ops, &hs),
		0);
	assert_ptr_equal(hs, &r->hs);
	assert_int_equal(r->hs.remote_index, 0x11223344);
	assert_hex_equal(r->hs.latest_timestamp, 12, "400000006553f10a00000000");
	r->rng = er;
	r->rng_len = 32;
	assert_int_equal(noise_handshake_create_response(&r->hs, resp, 0x55667788, &r->ops), 0);
	cookie_add_mac_to_packet(&r->maker, resp, sizeof(resp), t0);
	assert_hex_equal(resp, sizeof(resp), kat_response);
	assert_hex_equal(r->hs.hash, 32, kat_final_hash);

	/* Initiator consumes: same final hash. */
	assert_int_equal(
		cookie_validate_packet(&i->checker, resp, sizeof(resp), NULL, 0, false, t0),
		COOKIE_MAC_VALID_NO_COOKIE);
	assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &i->ops, &hs), 0);
	assert_ptr_equal(hs, &i->hs);
	assert_hex_equal(i->hs.hash, 32, kat_final_hash);

	/* Transport keys. */
	assert_int_equal(noise_handshake_begin_session(&i->hs, &ki, t0), 0);
	assert_int_equal(noise_handshake_begin_session(&r->hs, &kr, t0), 0);
	assert_true(ki.i_am_the_initiator);
	assert_false(kr.i_am_the_initiator);
	assert_hex_equal(ki.sending_key, 32, kat_t_i2r);
	assert_hex_equal(kr.receiving_key, 32, kat_t_i2r);
	assert_hex_equal(ki.receiving_key, 32, kat_t_r2i);
	assert_hex_equal(kr.sending_key, 32, kat_t_r2i);
	assert_int_equal(ki.local_index, 0x11223344);
	assert_int_equal(ki.remote_index, 0x55667788);
	assert_int_equal(kr.local_index, 0x55667788);
	assert_int_equal(kr.remote_index, 0x11223344);
	/* The handshakes forgot their ephemeral state. */
	assert_true(key_is_zero(i->hs.ephemeral_private));
	assert_true(key_is_zero(i->hs.chaining_key));
	assert_true(key_is_zero(r->hs.hash));

	/* Keepalive, counter 0. */
	assert_int_equal(noise_keypair_take_counter(&ki, t0, &ctr), 0);
	assert_int_equal(ctr, 0);
	len = noise_encrypt_data(&ki, ctr, msg, 0);
	assert_int_equal(len, 32);
	assert_hex_equal(msg, len, kat_keepalive);
	assert_int_equal(noise_decrypt_data(&kr, msg, len, t0, &ctr), 0);
	assert_int_equal(ctr, 0);

	/* Data, counter 1: a 20-byte IPv4 header padded to 32. */
	memset(msg, 0, sizeof(msg));
	assert_int_equal(unhex(plain, sizeof(plain), kat_data_plain), 20);
	assert_int_equal(noise_padded_len(20, WG_DEFAULT_MTU), 32);
	memcpy(msg + MESSAGE_DATA_HEADER_LEN, plain, 20);
	assert_int_equal(noise_keypair_take_counter(&ki, t0, &ctr), 0);
	assert_int_equal(ctr, 1);
	len = noise_encrypt_data(&ki, ctr, msg, 32);
	assert_int_equal(len, 64);
	assert_hex_equal(msg, len, kat_data);
	assert_int_equal(noise_decrypt_data(&kr, msg, len, t0, &ctr), 0);
	assert_int_equal(ctr, 1);
	assert_memory_equal(msg + MESSAGE_DATA_HEADER_LEN, plain, 20);

	/* mac2 once the initiator holds the cookie 00..0f; mac1 does not change. */
	for (int k = 0; k < 16; k++)
		cookie[k] = (uint8_t)k;
	memcpy(i->maker.cookie, cookie, 16);
	i->maker.have_cookie = true;
	i->maker.cookie_birth_ns = t0;
	cookie_add_mac_to_packet(&i->maker, init, sizeof(init), t0 + SEC(1));
	assert_hex_equal(init + INITIATION_OFF_MAC2, 16, "719ebf6e7dcafcfdd041d6c28d70ce63");
	{
		uint8_t want[MESSAGE_INITIATION_LEN];

		unhex(want, sizeof(want), kat_initiation);
		assert_memory_equal(init, want, INITIATION_OFF_MAC2);
	}

	noise_keypair_wipe(&ki);
	noise_keypair_wipe(&kr);
	free(i);
	free(r);
}

/* ---- behaviour with random keys ---- */

static void round_trip(const uint8_t *psk)
{
	struct side a, b;

	random_pair(&a, &b, psk, psk);
	handshake(&a, &b, kat_wall, t0);
	assert_non_null(a.kps.current);
	assert_null(b.kps.current);
	assert_non_null(b.kps.next);
	/* Key confirmation: the first packet from the initiator promotes next. */
	assert_true(send_data(&a, &b, t0, "hello"));
	assert_ptr_equal(b.kps.current, find_keypair(&b, b.kps.current->local_index));
	assert_null(b.kps.next);
	assert_false(send_data(&b, &a, t0, "hi there"));
	assert_false(send_data(&a, &b, t0, "again"));
	side_free(&a);
	side_free(&b);
}

static void test_round_trip_no_psk(void **state)
{
	(void)state;
	round_trip(NULL);
}

static void test_round_trip_psk(void **state)
{
	uint8_t psk[32];

	(void)state;
	randombytes_buf(psk, sizeof(psk));
	round_trip(psk);
}

/* With the same keys and ephemerals, a PSK changes the transport keys. */
static void test_psk_changes_keys(void **state)
{
	uint8_t ei[32], er[32], init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN], psk[32];
	struct side i, r;
	struct noise_handshake *hs;
	struct noise_keypair ki;

	(void)state;
	memset(psk, 0x42, sizeof(psk));
	kat_sides(&i, &r, ei, er);
	noise_handshake_set_preshared_key(&i.hs, psk);
	noise_handshake_set_preshared_key(&r.hs, psk);
	i.rng = ei;
	i.rng_len = 32;
	r.rng = er;
	r.rng_len = 32;
	assert_int_equal(noise_handshake_create_initiation(&i.hs, init, 1, kat_wall, &i.ops), 0);
	assert_int_equal(
		noise_handshake_consume_initiation(&r.id, init, sizeof(init), t0, &r.ops, &hs), 0);
	assert_int_equal(noise_handshake_create_response(&r.hs, resp, 2, &r.ops), 0);
	assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &i.ops, &hs), 0);
	assert_int_equal(noise_handshake_begin_session(&i.hs, &ki, t0), 0);
	{
		uint8_t t_i2r[32];

		unhex(t_i2r, 32, kat_t_i2r);
		assert_memory_not_equal(ki.sending_key, t_i2r, 32);
	}
	/* The PSK enters only in the response: the initiation's bytes match the no-PSK vector. */
	{
		uint8_t want[MESSAGE_INITIATION_LEN];

		unhex(want, sizeof(want), kat_initiation);
		wg_put_le32(want + INITIATION_OFF_SENDER_INDEX, 1);
		assert_memory_equal(init, want, INITIATION_OFF_MAC1);
	}
}

static void test_wrong_psk(void **state)
{
	uint8_t pa[32], pb[32], init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN];
	struct side a, b;
	struct noise_handshake *hs;

	(void)state;
	memset(pa, 1, sizeof(pa));
	memset(pb, 2, sizeof(pb));
	random_pair(&a, &b, pa, pb);
	send_initiation(&a, init, kat_wall, t0);
	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init, sizeof(init), t0, &b.ops, &hs), 0);
	assert_int_equal(noise_handshake_create_response(&b.hs, resp, 7, &b.ops), 0);
	assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &a.ops, &hs),
			 -EBADMSG);
	assert_null(hs);
	assert_int_equal(a.hs.state, HANDSHAKE_CREATED_INITIATION);

	/* One side with a PSK, the other without, fails too. */
	random_pair(&a, &b, pa, NULL);
	send_initiation(&a, init, kat_wall, t0);
	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init, sizeof(init), t0, &b.ops, &hs), 0);
	assert_int_equal(noise_handshake_create_response(&b.hs, resp, 7, &b.ops), 0);
	assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &a.ops, &hs),
			 -EBADMSG);
}

static void test_unknown_peer(void **state)
{
	uint8_t init[MESSAGE_INITIATION_LEN];
	struct side a, b, carol, dummy;
	struct noise_handshake *hs;
	uint8_t cpriv[32];

	(void)state;
	random_pair(&a, &b, NULL, NULL);
	/* Carol knows b's public key, but b has no peer with carol's. */
	key_generate_private(cpriv);
	side_init(&carol, cpriv, b.id.static_public, NULL, 0x30000000);
	send_initiation(&carol, init, kat_wall, t0);
	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init, sizeof(init), t0, &b.ops, &hs),
		-ENOENT);
	assert_null(hs);
	assert_int_equal(b.hs.state, HANDSHAKE_ZEROED);

	/* An initiation for someone else's key does not even decrypt. */
	random_pair(&dummy, &carol, NULL, NULL);
	send_initiation(&a, init, kat_wall, t0);
	assert_int_equal(noise_handshake_consume_initiation(&carol.id, init, sizeof(init), t0,
							    &carol.ops, &hs),
			 -EBADMSG);
}

static void test_replayed_initiation(void **state)
{
	uint8_t init1[MESSAGE_INITIATION_LEN], init2[MESSAGE_INITIATION_LEN];
	uint8_t init3[MESSAGE_INITIATION_LEN];
	struct side a, b;
	struct noise_handshake *hs;

	(void)state;
	random_pair(&a, &b, NULL, NULL);
	send_initiation(&a, init1, kat_wall, t0);
	send_initiation(&a, init2, kat_wall + SEC(1), t0);
	/* Same whitening slot (~16.8 ms) as init2: an identical timestamp. */
	send_initiation(&a, init3, kat_wall + SEC(1) + MSEC(1), t0);

	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init2, sizeof(init2), t0, &b.ops, &hs),
		0);
	/* The very same message again, long after the flood window. */
	assert_int_equal(noise_handshake_consume_initiation(&b.id, init2, sizeof(init2),
							    t0 + SEC(1), &b.ops, &hs),
			 -EALREADY);
	assert_null(hs);
	/* An older one delivered late. */
	assert_int_equal(noise_handshake_consume_initiation(&b.id, init1, sizeof(init1),
							    t0 + SEC(2), &b.ops, &hs),
			 -EALREADY);
	assert_int_equal(noise_handshake_consume_initiation(&b.id, init3, sizeof(init3),
							    t0 + SEC(3), &b.ops, &hs),
			 -EALREADY);
	/* The state of the accepted one is intact: the response still works. */
	{
		uint8_t resp[MESSAGE_RESPONSE_LEN];

		assert_int_equal(b.hs.state, HANDSHAKE_CONSUMED_INITIATION);
		assert_int_equal(noise_handshake_create_response(&b.hs, resp, 9, &b.ops), 0);
		assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &a.ops, &hs),
				 -ENOENT); /* a moved on to init3 meanwhile */
	}
}

static void test_initiation_flood(void **state)
{
	uint8_t init1[MESSAGE_INITIATION_LEN], init2[MESSAGE_INITIATION_LEN];
	struct side a, b;
	struct noise_handshake *hs;

	(void)state;
	random_pair(&a, &b, NULL, NULL);
	send_initiation(&a, init1, kat_wall, t0);
	send_initiation(&a, init2, kat_wall + SEC(1), t0);
	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init1, sizeof(init1), t0, &b.ops, &hs),
		0);
	assert_int_equal(b.hs.last_initiation_consumption, t0);
	/* Newer timestamp but < 1/50 s after the last consumed one. */
	assert_int_equal(noise_handshake_consume_initiation(&b.id, init2, sizeof(init2),
							    t0 + MSEC(19), &b.ops, &hs),
			 -EAGAIN);
	assert_int_equal(b.hs.last_initiation_consumption, t0);
	assert_int_equal(noise_handshake_consume_initiation(&b.id, init2, sizeof(init2),
							    t0 + MSEC(20), &b.ops, &hs),
			 0);
	assert_int_equal(b.hs.last_initiation_consumption, t0 + MSEC(20));
}

static void test_tampered_initiation(void **state)
{
	uint8_t init[MESSAGE_INITIATION_LEN], bad[MESSAGE_INITIATION_LEN];
	struct side a, b;
	struct noise_handshake *hs;

	(void)state;
	random_pair(&a, &b, NULL, NULL);
	send_initiation(&a, init, kat_wall, t0);
	for (size_t pos = 0; pos < INITIATION_OFF_MAC1; pos++) {
		int ret;

		/* The sender index is opaque to Noise; mac1 protects it. */
		if (pos >= INITIATION_OFF_SENDER_INDEX && pos < INITIATION_OFF_EPHEMERAL)
			continue;
		memcpy(bad, init, sizeof(bad));
		bad[pos] ^= 0x01;
		ret = noise_handshake_consume_initiation(&b.id, bad, sizeof(bad), t0, &b.ops, &hs);
		if (ret != -EBADMSG)
			fail_msg("flipped byte %zu: got %d", pos, ret);
		assert_int_equal(b.hs.state, HANDSHAKE_ZEROED);
	}
	/* And mac1 catches every flipped bit, its own included. */
	for (size_t pos = 0; pos < INITIATION_OFF_MAC2; pos++) {
		memcpy(bad, init, sizeof(bad));
		bad[pos] ^= 0x80;
		assert_int_equal(
			cookie_validate_packet(&b.checker, bad, sizeof(bad), NULL, 0, false, t0),
			COOKIE_MAC_INVALID);
	}
	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init, sizeof(init), t0, &b.ops, &hs), 0);
}

static void test_tampered_response(void **state)
{
	uint8_t init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN], bad[MESSAGE_RESPONSE_LEN];
	struct side a, b;
	struct noise_handshake *hs;

	(void)state;
	random_pair(&a, &b, NULL, NULL);
	send_initiation(&a, init, kat_wall, t0);
	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init, sizeof(init), t0, &b.ops, &hs), 0);
	assert_int_equal(noise_handshake_create_response(&b.hs, resp, 77, &b.ops), 0);
	cookie_add_mac_to_packet(&b.maker, resp, sizeof(resp), t0);

	for (size_t pos = 0; pos < RESPONSE_OFF_MAC1; pos++) {
		int ret, want = -EBADMSG;

		if (pos >= RESPONSE_OFF_SENDER_INDEX && pos < RESPONSE_OFF_RECEIVER_INDEX)
			continue; /* opaque, covered by mac1 */
		if (pos >= RESPONSE_OFF_RECEIVER_INDEX && pos < RESPONSE_OFF_EPHEMERAL)
			want = -ENOENT; /* names no pending handshake */
		memcpy(bad, resp, sizeof(bad));
		bad[pos] ^= 0x04;
		ret = noise_handshake_consume_response(bad, sizeof(bad), &a.ops, &hs);
		if (ret != want)
			fail_msg("flipped byte %zu: got %d want %d", pos, ret, want);
		assert_null(hs);
		/* A forged response leaves the pending handshake alive. */
		assert_int_equal(a.hs.state, HANDSHAKE_CREATED_INITIATION);
	}
	for (size_t pos = 0; pos < RESPONSE_OFF_MAC2; pos++) {
		memcpy(bad, resp, sizeof(bad));
		bad[pos] ^= 0x10;
		assert_int_equal(
			cookie_validate_packet(&a.checker, bad, sizeof(bad), NULL, 0, false, t0),
			COOKIE_MAC_INVALID);
	}
	assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &a.ops, &hs), 0);
	/* Consumed once: a replay of the same response finds nothing pending. */
	assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &a.ops, &hs),
			 -ENOENT);
}

static void test_low_order_points(void **state)
{
	uint8_t init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN], zero[32] = {0};
	uint8_t priv[32];
	struct side a, b;
	struct noise_handshake *hs;

	(void)state;
	/* A peer whose public key is a low-order point: no static-static DH, no handshake. */
	key_generate_private(priv);
	side_init(&a, priv, zero, NULL, 1);
	assert_true(key_is_zero(a.hs.precomputed_static_static));
	assert_int_equal(noise_handshake_create_initiation(&a.hs, init, 1, kat_wall, &a.ops),
			 -EINVAL);
	assert_int_equal(a.hs.state, HANDSHAKE_ZEROED);

	/* A zero ephemeral in an initiation or a response. */
	random_pair(&a, &b, NULL, NULL);
	send_initiation(&a, init, kat_wall, t0);
	memset(init + INITIATION_OFF_EPHEMERAL, 0, 32);
	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init, sizeof(init), t0, &b.ops, &hs),
		-EBADMSG);
	send_initiation(&a, init, kat_wall + SEC(1), t0);
	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init, sizeof(init), t0, &b.ops, &hs), 0);
	assert_int_equal(noise_handshake_create_response(&b.hs, resp, 3, &b.ops), 0);
	memset(resp + RESPONSE_OFF_EPHEMERAL, 0, 32);
	resp[RESPONSE_OFF_EPHEMERAL] = 1; /* the point u = 1 */
	assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &a.ops, &hs),
			 -EBADMSG);
}

static void test_no_identity_and_wrong_states(void **state)
{
	uint8_t init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN], zero[32] = {0};
	struct side a, b;
	struct noise_handshake *hs;
	struct noise_keypair kp;

	(void)state;
	random_pair(&a, &b, NULL, NULL);
	/* Wrong states. */
	assert_int_equal(noise_handshake_create_response(&b.hs, resp, 1, &b.ops), -EINVAL);
	assert_int_equal(noise_handshake_begin_session(&b.hs, &kp, t0), -EINVAL);
	send_initiation(&a, init, kat_wall, t0);
	assert_int_equal(noise_handshake_begin_session(&a.hs, &kp, t0), -EINVAL);
	assert_int_equal(
		noise_handshake_consume_initiation(&b.id, init, sizeof(init), t0, &b.ops, &hs), 0);
	assert_int_equal(noise_handshake_begin_session(&b.hs, &kp, t0), -EINVAL);
	/* Clearing forgets the handshake: a response to it finds nothing. */
	assert_int_equal(noise_handshake_create_response(&b.hs, resp, 1, &b.ops), 0);
	noise_handshake_clear(&a.hs);
	assert_int_equal(noise_handshake_consume_response(resp, sizeof(resp), &a.ops, &hs),
			 -ENOENT);

	/* No identity. */
	assert_int_equal(noise_static_identity_set(&a.id, zero), -EINVAL);
	assert_false(a.id.has_identity);
	assert_int_equal(noise_static_identity_set(&a.id, NULL), -EINVAL);
	noise_handshake_precompute_static_static(&a.hs);
	assert_true(key_is_zero(a.hs.precomputed_static_static));
	assert_int_equal(noise_handshake_create_initiation(&a.hs, init, 5, kat_wall, &a.ops),
			 -ENOKEY);
	send_initiation(&b, init, kat_wall, t0);
	assert_int_equal(
		noise_handshake_consume_initiation(&a.id, init, sizeof(init), t0, &a.ops, &hs),
		-ENOKEY);
}

/* Every consumer with every wrong length, in exact-size heap copies (ASan sees overreads). */
static void try_lengths(const uint8_t *good, size_t good_len,
			int (*consume)(const uint8_t *, size_t))
{
	const size_t lens[] = {0, 1, 3, 4, 31, 32, good_len - 1, good_len + 1, good_len + 16};

	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint8_t *buf = malloc(lens[k] ? lens[k] : 1);

		assert_non_null(buf);
		memset(buf, 0, lens[k] ? lens[k] : 1);
		memcpy(buf, good, lens[k] < good_len ? lens[k] : good_len);
		if (consume(buf, lens[k]) == 0)
			fail_msg("length %zu accepted", lens[k]);
		free(buf);
	}
}

static struct side *len_side_b, *len_side_a;
static struct noise_keypair *len_kp;

static int consume_init_len(const uint8_t *msg, size_t len)
{
	struct noise_handshake *hs;

	return noise_handshake_consume_initiation(&len_side_b->id, msg, len, t0 + SEC(60),
						  &len_side_b->ops, &hs);
}

static int consume_resp_len(const uint8_t *msg, size_t len)
{
	struct noise_handshake *hs;

	return noise_handshake_consume_response(msg, len, &len_side_a->ops, &hs);
}

static int decrypt_len(const uint8_t *msg, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	uint64_t ctr;
	int ret;

	assert_non_null(copy);
	memcpy(copy, msg, len);
	ret = noise_decrypt_data(len_kp, copy, len, t0, &ctr);
	free(copy);
	return ret;
}

static void test_bad_lengths(void **state)
{
	uint8_t init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN], data[48] = {0};
	struct side *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct noise_handshake *hs;
	struct noise_keypair kp;

	(void)state;
	random_pair(a, b, NULL, NULL);
	len_side_a = a;
	len_side_b = b;
	send_initiation(a, init, kat_wall, t0);
	try_lengths(init, sizeof(init), consume_init_len);
	assert_int_equal(
		noise_handshake_consume_initiation(&b->id, init, sizeof(init), t0, &b->ops, &hs),
		0);
	assert_int_equal(noise_handshake_create_response(&b->hs, resp, 4, &b->ops), 0);
	try_lengths(resp, sizeof(resp), consume_resp_len);
	/* A response is not an initiation and vice versa, whatever the length. */
	assert_int_equal(consume_init_len(resp, sizeof(resp)), -EBADMSG);
	assert_int_equal(consume_resp_len(init, sizeof(init)), -EBADMSG);
	/* Non-zero reserved bytes. */
	resp[1] = 1;
	assert_int_equal(consume_resp_len(resp, sizeof(resp)), -EBADMSG);
	resp[1] = 0;
	assert_int_equal(consume_resp_len(resp, sizeof(resp)), 0);

	assert_int_equal(noise_handshake_begin_session(&a->hs, &kp, t0), 0);
	len_kp = &kp;
	assert_int_equal(noise_encrypt_data(&kp, 0, data, 16), 48);
	for (size_t len = 0; len < MESSAGE_DATA_MIN_LEN; len++)
		assert_int_equal(decrypt_len(data, len), -EBADMSG);
	/* Longer or shorter than what was sent: the tag is in the wrong place. */
	assert_int_equal(decrypt_len(data, 47), -EBADMSG);
	free(a);
	free(b);
}

static void test_message_classify(void **state)
{
	uint8_t buf[256] = {0};

	(void)state;
	assert_int_equal(wg_message_classify(buf, 0), MESSAGE_INVALID);
	buf[0] = 1;
	assert_int_equal(wg_message_classify(buf, 148), MESSAGE_HANDSHAKE_INITIATION);
	assert_int_equal(wg_message_classify(buf, 147), MESSAGE_INVALID);
	assert_int_equal(wg_message_classify(buf, 149), MESSAGE_INVALID);
	buf[0] = 2;
	assert_int_equal(wg_message_classify(buf, 92), MESSAGE_HANDSHAKE_RESPONSE);
	assert_int_equal(wg_message_classify(buf, 148), MESSAGE_INVALID);
	buf[0] = 3;
	assert_int_equal(wg_message_classify(buf, 64), MESSAGE_HANDSHAKE_COOKIE);
	assert_int_equal(wg_message_classify(buf, 65), MESSAGE_INVALID);
	buf[0] = 4;
	assert_int_equal(wg_message_classify(buf, 32), MESSAGE_DATA);
	assert_int_equal(wg_message_classify(buf, 256), MESSAGE_DATA);
	assert_int_equal(wg_message_classify(buf, 31), MESSAGE_INVALID);
	for (int k = 1; k < 4; k++) {
		buf[k] = 0x01;
		assert_int_equal(wg_message_classify(buf, 32), MESSAGE_INVALID);
		buf[k] = 0;
	}
	buf[0] = 0;
	assert_int_equal(wg_message_classify(buf, 32), MESSAGE_INVALID);
	buf[0] = 5;
	assert_int_equal(wg_message_classify(buf, 32), MESSAGE_INVALID);
}

/*
 * Rotation (whitepaper §5.4.6): the initiator installs in current at once;
 * the responder parks in next and promotes it only when data arrives on it.
 */
static void test_keypair_rotation(void **state)
{
	struct side *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct noise_keypair *k1a, *k1b, *k2a, *k2b, *k3a, *k3b, *k4a, *k4b, *k5a, *k5b, *ev;
	uint64_t now = t0;

	(void)state;
	random_pair(a, b, NULL, NULL);

	/* 1: a initiates. */
	handshake(a, b, kat_wall, now);
	k1a = a->kps.current;
	k1b = b->kps.next;
	assert_true(k1a->i_am_the_initiator);
	assert_false(k1b->i_am_the_initiator);
	assert_null(a->kps.previous);
	assert_null(b->kps.current);
	assert_null(b->kps.previous);
	/* Receiving on anything but next promotes nothing. */
	assert_false(noise_keypairs_received_with(&b->kps, NULL, &ev));
	assert_null(ev);
	assert_true(send_data(a, b, now, "confirm"));
	assert_ptr_equal(b->kps.current, k1b);
	assert_null(b->kps.next);
	assert_null(b->kps.previous);
	assert_false(noise_keypairs_received_with(&b->kps, k1b, &ev));
	assert_false(send_data(b, a, now, "reply"));

	/* 2: a initiates again; b keeps sending on k1b until a speaks on k2. */
	now += SEC(120);
	handshake(a, b, kat_wall + SEC(120), now);
	k2a = a->kps.current;
	k2b = b->kps.next;
	assert_ptr_equal(a->kps.previous, k1a);
	assert_ptr_equal(b->kps.current, k1b);
	assert_null(b->kps.previous);
	assert_false(send_data(b, a, now, "old session still works")); /* on a's previous */
	assert_true(send_data(a, b, now, "new session"));
	assert_ptr_equal(b->kps.current, k2b);
	assert_ptr_equal(b->kps.previous, k1b);
	assert_int_equal(a->live_keypairs, 2);
	assert_int_equal(b->live_keypairs, 2);

	/* 3: b initiates: b's old previous (k1b) and a's previous (k1a) go. */
	now += SEC(120);
	handshake(b, a, kat_wall + SEC(240), now);
	k3b = b->kps.current;
	k3a = a->kps.next;
	assert_ptr_equal(b->kps.previous, k2b);
	assert_true(k3b->i_am_the_initiator);
	assert_ptr_equal(a->kps.current, k2a);
	assert_null(a->kps.previous);
	assert_int_equal(a->live_keypairs, 2);
	assert_int_equal(b->live_keypairs, 2);
	assert_true(send_data(b, a, now, "b confirms"));
	assert_ptr_equal(a->kps.current, k3a);
	assert_ptr_equal(a->kps.previous, k2a);

	/*
	 * 4 then 5 cross: b initiates (a parks k4a in next), and before any
	 * data a initiates too. a, now initiator with a pending next, keeps
	 * that next as previous and drops its current and previous.
	 */
	now += SEC(120);
	handshake(b, a, kat_wall + SEC(360), now);
	k4b = b->kps.current;
	k4a = a->kps.next;
	assert_ptr_equal(a->kps.current, k3a);
	assert_null(a->kps.previous); /* k2a evicted */
	handshake(a, b, kat_wall + SEC(361), now + SEC(1));
	k5a = a->kps.current;
	k5b = b->kps.next;
	assert_ptr_equal(a->kps.previous, k4a);
	assert_null(a->kps.next);
	assert_int_equal(a->live_keypairs, 2); /* k3a evicted */
	assert_ptr_equal(b->kps.current, k4b);
	assert_null(b->kps.previous);
	/* b still sends on k4b; a receives it on previous, no promotion. */
	assert_false(send_data(b, a, now + SEC(1), "late on k4"));
	assert_true(send_data(a, b, now + SEC(1), "on k5"));
	assert_ptr_equal(b->kps.current, k5b);
	assert_ptr_equal(b->kps.previous, k4b);
	assert_true(k5a->i_am_the_initiator);

	/* Sending stops on expiry; receiving continues. */
	noise_keypairs_expire_sending(&b->kps);
	{
		uint64_t ctr;

		assert_int_equal(noise_keypair_take_counter(b->kps.current, now, &ctr),
				 -EKEYEXPIRED);
	}
	assert_false(send_data(a, b, now + SEC(1), "still received"));

	side_free(a);
	side_free(b);
	free(a);
	free(b);
}

/* Random interleavings against a model of the slots: nothing leaks, nothing is lost. */
static void test_rotation_model(void **state)
{
	struct side *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	uint64_t now = t0, wall = kat_wall;

	(void)state;
	random_pair(a, b, NULL, NULL);
	for (int step = 0; step < 200; step++) {
		struct side *x = randombytes_uniform(2) ? a : b, *y = x == a ? b : a;
		struct noise_keypair *cur, *next;

		now += MSEC(30);
		wall += SEC(1);
		switch (randombytes_uniform(3)) {
		case 0: /* x initiates */
			cur = x->kps.current;
			next = x->kps.next;
			handshake(x, y, wall, now);
			assert_ptr_equal(x->kps.previous, next ? next : cur);
			assert_null(x->kps.next);
			break;
		case 1: /* x sends if it can */
			if (!x->kps.current || !x->kps.current->sending_valid)
				break;
			next = y->kps.next;
			cur = y->kps.current;
			{
				struct noise_keypair *target =
					find_keypair(y, x->kps.current->remote_index);

				if (!target)
					break; /* y evicted it already: a real peer drops it */
				bool promoted = send_data(x, y, now, "x");

				assert_true(promoted == (target == next));
				if (promoted) {
					assert_ptr_equal(y->kps.current, next);
					assert_ptr_equal(y->kps.previous, cur);
				}
			}
			break;
		default:
			break;
		}
		assert_true(a->live_keypairs >= 0 && a->live_keypairs <= 3);
		assert_true(b->live_keypairs >= 0 && b->live_keypairs <= 3);
	}
	side_free(a);
	side_free(b);
	free(a);
	free(b);
}

static void test_data_limits(void **state)
{
	struct side *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	uint8_t msg[64] = {0};
	struct noise_keypair *ka, *kb;
	uint64_t ctr;
	size_t len;

	(void)state;
	random_pair(a, b, NULL, NULL);
	handshake(a, b, kat_wall, t0);
	ka = a->kps.current;
	kb = b->kps.next;

	/* Age: usable until REJECT_AFTER_TIME, not at it. */
	assert_int_equal(noise_keypair_take_counter(ka, t0 + SEC(WG_REJECT_AFTER_TIME) - 1, &ctr),
			 0);
	len = noise_encrypt_data(ka, ctr, msg, 0);
	assert_int_equal(noise_decrypt_data(kb, msg, len, t0 + SEC(WG_REJECT_AFTER_TIME) - 1, &ctr),
			 0);
	assert_int_equal(noise_keypair_take_counter(ka, t0 + SEC(WG_REJECT_AFTER_TIME), &ctr),
			 -EKEYEXPIRED);
	assert_int_equal(noise_decrypt_data(kb, msg, len, t0 + SEC(WG_REJECT_AFTER_TIME), &ctr),
			 -EKEYEXPIRED);

	/* Counter: the last usable nonce is REJECT_AFTER_MESSAGES - 1. */
	ka->sending_counter = WG_REJECT_AFTER_MESSAGES - 1;
	assert_int_equal(noise_keypair_take_counter(ka, t0, &ctr), 0);
	assert_true(ctr == WG_REJECT_AFTER_MESSAGES - 1);
	len = noise_encrypt_data(ka, ctr, msg, 0);
	assert_int_equal(noise_decrypt_data(kb, msg, len, t0, &ctr), 0);
	assert_int_equal(noise_keypair_take_counter(ka, t0, &ctr), -EKEYEXPIRED);
	assert_false(ka->sending_valid);
	/* A message claiming a counter at the limit is refused before any crypto. */
	len = noise_encrypt_data(ka, WG_REJECT_AFTER_MESSAGES, msg, 0);
	assert_int_equal(noise_decrypt_data(kb, msg, len, t0, &ctr), -EKEYEXPIRED);

	/* Tampering, and the wrong direction's key. */
	len = noise_encrypt_data(ka, 5, msg, 16);
	msg[20] ^= 1;
	assert_int_equal(noise_decrypt_data(kb, msg, len, t0, &ctr), -EBADMSG);
	len = noise_encrypt_data(ka, 6, msg, 16);
	msg[DATA_OFF_COUNTER] ^= 1; /* the counter is the nonce */
	assert_int_equal(noise_decrypt_data(kb, msg, len, t0, &ctr), -EBADMSG);
	len = noise_encrypt_data(ka, 7, msg, 16);
	assert_int_equal(noise_decrypt_data(ka, msg, len, t0, &ctr), -EBADMSG);

	side_free(a);
	side_free(b);
	free(a);
	free(b);
}

static void test_padding(void **state)
{
	(void)state;
	assert_int_equal(noise_padded_len(0, 1420), 0);
	assert_int_equal(noise_padded_len(1, 1420), 16);
	assert_int_equal(noise_padded_len(16, 1420), 16);
	assert_int_equal(noise_padded_len(17, 1420), 32);
	assert_int_equal(noise_padded_len(1408, 1420), 1408);
	assert_int_equal(noise_padded_len(1409, 1420), 1420); /* capped at the MTU */
	assert_int_equal(noise_padded_len(1420, 1420), 1420);
	assert_int_equal(noise_padded_len(1419, 0), 1424);    /* no MTU known */
	assert_int_equal(noise_padded_len(2850, 1420), 2856); /* GSO-style: pad the last unit */
	assert_int_equal(noise_padded_len(2840, 1420), 2840);
	for (size_t len = 0; len < 3000; len++) {
		size_t p = noise_padded_len(len, 1280);

		assert_true(p >= len && p - len < MESSAGE_PADDING_MULTIPLE);
		assert_true(p % MESSAGE_PADDING_MULTIPLE == 0 || p % 1280 == 0 || p == len);
	}
}

static void test_tai64n(void **state)
{
	uint8_t a[TAI64N_LEN], b[TAI64N_LEN];

	(void)state;
	tai64n_encode(a, SEC(1700000000));
	assert_hex_equal(a, TAI64N_LEN, "400000006553f10a00000000");
	tai64n_encode(a, 0);
	assert_hex_equal(a, TAI64N_LEN, "400000000000000a00000000");
	/* Whitening: nanoseconds round down to a multiple of 2^24. */
	tai64n_encode(a, SEC(1700000000) + 16777215);
	assert_hex_equal(a, TAI64N_LEN, "400000006553f10a00000000");
	tai64n_encode(a, SEC(1700000000) + 16777216);
	assert_hex_equal(a, TAI64N_LEN, "400000006553f10a01000000");
	tai64n_encode(a, SEC(1700000000) + 999999999);
	assert_hex_equal(a, TAI64N_LEN, "400000006553f10a3b000000");

	/* Byte order equals time order across slots and seconds. */
	for (int k = 0; k < 2000; k++) {
		uint64_t x = SEC(1600000000) + (uint64_t)randombytes_uniform(1u << 31) * 64;
		uint64_t y = x + (uint64_t)randombytes_uniform(1u << 30) * 16 + (1u << 24);

		tai64n_encode(a, x);
		tai64n_encode(b, y);
		assert_true(tai64n_compare(a, b) < 0);
		assert_true(tai64n_compare(b, a) > 0);
		assert_int_equal(tai64n_compare(a, a), 0);
	}
	tai64n_now(a);
	tai64n_encode(b, SEC(1700000000));
	assert_true(tai64n_compare(a, b) > 0);
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_construction_constants),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_round_trip_no_psk),
		cmocka_unit_test(test_round_trip_psk),
		cmocka_unit_test(test_psk_changes_keys),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_unknown_peer),
		cmocka_unit_test(test_replayed_initiation),
		cmocka_unit_test(test_initiation_flood),
		cmocka_unit_test(test_tampered_initiation),
		cmocka_unit_test(test_tampered_response),
		cmocka_unit_test(test_low_order_points),
		cmocka_unit_test(test_no_identity_and_wrong_states),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_message_classify),
		cmocka_unit_test(test_keypair_rotation),
		cmocka_unit_test(test_rotation_model),
		cmocka_unit_test(test_data_limits),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_tai64n),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
