// SPDX-License-Identifier: MIT
/*
 * The WireGuard fuzz harnesses (see harness_wg.h): deterministic randomness,
 * the device under test with in-memory network and TUN, and the handshake
 * state machine driven directly with fixed keys and clocks.
 *
 * The receive harness reaches into wg/internal.h for one thing the public
 * API does not offer: resetting the device's under-load detection, cookie
 * secret and rate limiter between inputs, so that each input starts from the
 * same state whatever ran before it (libFuzzer needs that to reproduce what
 * it finds) and can force the under-load path without sending 512
 * handshakes first.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "crypto/keys.h"
#include "fuzz.h"
#include "util/compiler.h"
#include "harness_wg.h"
#include "wg/cookie.h"
#include "wg/device.h"
#include "wg/internal.h"
#include "wg/noise.h"
#include "wg/replay.h"
#include "wg/wg_proto.h"

/* Arbitrary fixed bytes; the device and noise clamp private keys. */
const uint8_t harness_priv_d[32] = {
	0x40, 0x8a, 0x3b, 0x1c, 0x55, 0x02, 0x9e, 0x7d, 0x11, 0x6f, 0x20,
	0xc4, 0x3a, 0x99, 0x81, 0x0e, 0xb7, 0x24, 0x5d, 0x6a, 0x13, 0xf0,
	0x4c, 0x88, 0x27, 0x91, 0xe3, 0x0a, 0x5b, 0x36, 0xd2, 0x48,
};
const uint8_t harness_priv_p[32] = {
	0x98, 0x1f, 0x64, 0xa2, 0x0b, 0x7e, 0x33, 0xd5, 0x4a, 0x10, 0xcc,
	0x87, 0x29, 0x5e, 0xf4, 0x61, 0x02, 0xbd, 0x78, 0x3c, 0x9a, 0x45,
	0x16, 0xe0, 0x6d, 0x23, 0x8f, 0xb4, 0x51, 0x0c, 0x7a, 0x5f,
};
static const uint8_t priv_q[32] = {
	0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba,
	0xcb, 0xdc, 0xed, 0xfe, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69,
	0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0, 0x4f,
};
const uint8_t harness_psk[32] = {
	0x70, 0x73, 0x6b, 0x2d, 0x66, 0x6f, 0x72, 0x2d, 0x74, 0x68, 0x65,
	0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x65, 0x72, 0x2d, 0x6f, 0x6e, 0x6c,
	0x79, 0x2d, 0x6e, 0x6f, 0x74, 0x2d, 0x72, 0x65, 0x61, 0x6c,
};
uint8_t harness_pub_d[32], harness_pub_p[32], harness_pub_q[32];

/* ---- deterministic randomness ---- */

static struct harness_rng default_rng;
static struct harness_rng *current_rng = &default_rng;

void harness_rng_reset(struct harness_rng *rng, uint8_t label)
{
	static const char tag[] = "meshd fuzz stream";

	memset(rng, 0, sizeof(*rng));
	rng->seed[0] = label;
	memcpy(rng->seed + 1, tag, sizeof(tag) - 1);
}

void harness_rng_fill(void *ctx, void *buf, size_t len)
{
	struct harness_rng *rng = ctx;
	uint8_t nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};

	/* One call, one nonce: the stream does not depend on how calls split it. */
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(rng->counter >> (8 * i));
	rng->counter++;
	crypto_stream_chacha20_ietf(buf, len, nonce, rng->seed);
}

struct harness_rng *harness_rng_select(struct harness_rng *rng)
{
	struct harness_rng *old = current_rng;

	current_rng = rng;
	return old;
}

static const char *rng_name(void)
{
	return "meshd-fuzz-deterministic";
}

static uint32_t rng_random(void)
{
	uint32_t v;

	harness_rng_fill(current_rng, &v, sizeof(v));
	return v;
}

static void rng_buf(void *const buf, const size_t size)
{
	harness_rng_fill(current_rng, buf, size);
}

static randombytes_implementation rng_impl = {
	.implementation_name = rng_name,
	.random = rng_random,
	.buf = rng_buf,
};

void harness_wg_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	harness_rng_reset(&default_rng, 0);
	/* Must come before sodium_init(), which would pick the system source. */
	if (randombytes_set_implementation(&rng_impl) || sodium_init() < 0)
		abort();
	if (key_public_from_private(harness_pub_d, harness_priv_d) ||
	    key_public_from_private(harness_pub_p, harness_priv_p) ||
	    key_public_from_private(harness_pub_q, priv_q))
		abort();
}

/* ---- records ---- */

struct reader {
	const uint8_t *p;
	size_t left;
};

/* Take the next record of @hdr_len header bytes (the last two: BE length). */
static bool next_record(struct reader *r, size_t hdr_len, uint8_t *hdr, const uint8_t **body,
			size_t *len)
{
	size_t want;

	if (r->left < hdr_len)
		return false;
	if (hdr)
		*hdr = r->p[0];
	want = (size_t)r->p[hdr_len - 2] << 8 | r->p[hdr_len - 1];
	r->p += hdr_len;
	r->left -= hdr_len;
	if (want > r->left)
		want = r->left;
	*body = r->p;
	*len = want;
	r->p += want;
	r->left -= want;
	return true;
}

/* ---- the receive harness ---- */

static const char *const source_text[] = {
	[HARNESS_SRC_PEER] = "192.0.2.1:51820",
	[HARNESS_SRC_ROAM4] = "198.51.100.9:4000",
	[HARNESS_SRC_ROAM6] = "[2001:db8::9]:4000",
};

static struct {
	bool ready;
	uv_loop_t loop;
	struct wg_device *dev;
	struct harness_rng rng;
	struct harness_trace *trace;
	struct ip_endpoint sources[3];
	struct ip_prefix p_allowed[2], q_allowed;
} rx;

void harness_source_endpoint(enum harness_source src, struct ip_endpoint *out)
{
	if (src > HARNESS_SRC_ROAM6 || ip_endpoint_parse(out, source_text[src], NULL))
		abort();
}

static bool known_endpoint(const struct ip_endpoint *ep)
{
	for (size_t i = 0; i < 3; i++)
		if (ep->port == rx.sources[i].port && ip_addr_equal(&ep->addr, &rx.sources[i].addr))
			return true;
	return false;
}

/* D sends only well-formed messages, and only to where P or a source is. */
static unsigned rx_net_send(void *ctx, struct pktbuf *const *bufs, unsigned n)
{
	struct harness_trace *t = rx.trace;

	(void)ctx;
	for (unsigned i = 0; i < n; i++) {
		const struct pktbuf *b = bufs[i];

		FUZZ_CHECK(wg_message_classify(b->data, b->len) != MESSAGE_INVALID);
		FUZZ_CHECK(b->len <= HARNESS_MAX_PACKET + MESSAGE_DATA_MIN_LEN + 16);
		FUZZ_CHECK(known_endpoint(&b->endpoint));
		if (t && t->nsent < HARNESS_TRACE_MAX && b->len <= HARNESS_MAX_PACKET) {
			t->sent[t->nsent].to = b->endpoint;
			t->sent[t->nsent].len = b->len;
			memcpy(t->sent[t->nsent].data, b->data, b->len);
			t->nsent++;
		}
	}
	return n;
}

/* Cryptokey routing, receive side: whatever reaches the TUN came from P's addresses. */
static void rx_tun_write(void *ctx, struct pktbuf *const *bufs, unsigned n)
{
	(void)ctx;
	for (unsigned i = 0; i < n; i++) {
		const struct pktbuf *b = bufs[i];
		struct ip_addr src;

		FUZZ_CHECK(b->len >= 20);
		if (b->data[0] >> 4 == 4) {
			ip_addr_set_v4(&src, b->data + 12);
		} else {
			FUZZ_CHECK(b->data[0] >> 4 == 6 && b->len >= 40);
			ip_addr_set_v6(&src, b->data + 8);
		}
		FUZZ_CHECK(ip_prefix_contains(&rx.p_allowed[0], &src) ||
			   ip_prefix_contains(&rx.p_allowed[1], &src));
		if (rx.trace)
			rx.trace->tun_packets++;
	}
}

static const struct wg_net_ops rx_net_ops = {.send = rx_net_send};
static const struct wg_tun_ops rx_tun_ops = {.write = rx_tun_write};

static void rx_setup(void)
{
	if (rx.ready)
		return;
	rx.ready = true;
	for (int i = 0; i < 3; i++)
		harness_source_endpoint(i, &rx.sources[i]);
	if (ip_prefix_parse(&rx.p_allowed[0], "10.0.0.0/24", NULL) ||
	    ip_prefix_parse(&rx.p_allowed[1], "fd00::/64", NULL) ||
	    ip_prefix_parse(&rx.q_allowed, "10.0.1.0/24", NULL) || uv_loop_init(&rx.loop) ||
	    wg_device_create(&rx.dev, &rx.loop, &rx_net_ops, NULL, &rx_tun_ops, NULL) ||
	    wg_device_set_private_key(rx.dev, harness_priv_d))
		abort();
}

static void rx_add_peers(uint8_t flags)
{
	struct wg_peer *p, *q;

	if (wg_device_peer_create(rx.dev, harness_pub_p, &p) ||
	    wg_device_peer_create(rx.dev, harness_pub_q, &q) ||
	    wg_peer_add_allowed_ip(p, &rx.p_allowed[0]) ||
	    wg_peer_add_allowed_ip(p, &rx.p_allowed[1]) || wg_peer_add_allowed_ip(q, &rx.q_allowed))
		abort();
	if (!(flags & HARNESS_NO_ENDPOINT))
		wg_peer_set_endpoint(p, &rx.sources[HARNESS_SRC_PEER]);
	if (flags & HARNESS_PSK)
		wg_peer_set_preshared_key(p, harness_psk);
}

/* The same start for every input: see the comment atop this file. */
static void rx_reset_load(bool under_load)
{
	struct wg_device *dev = rx.dev;
	uint64_t now = wg_now_ns();

	dev->handshake_window_start = now;
	dev->handshake_window_count = 0;
	dev->under_load_until = under_load ? now + WG_UNDER_LOAD_TIME * WG_NSEC_PER_SEC : 0;
	cookie_checker_init(&dev->cookie_checker, harness_pub_d, NULL, NULL);
	if (dev->ratelimiter.count)
		wg_ratelimiter_gc(&dev->ratelimiter, now + 2 * WG_NSEC_PER_SEC);
}

static void rx_flush(struct pktbuf **batch, unsigned *n)
{
	if (*n)
		wg_device_net_input(rx.dev, batch, *n);
	*n = 0;
}

void harness_wg_receive_run(const uint8_t *data, size_t size, struct harness_trace *trace)
{
	struct pktbuf *batch[HARNESS_MAX_BATCH];
	struct reader r = {data + 1, size ? size - 1 : 0};
	struct harness_rng *old_rng;
	const uint8_t *body;
	unsigned nbatch = 0;
	uint8_t hdr;
	size_t len;

	harness_wg_init();
	rx_setup();
	if (size == 0)
		return;
	harness_rng_reset(&rx.rng, 'D');
	old_rng = harness_rng_select(&rx.rng);
	rx.trace = trace;
	rx_add_peers(data[0]);
	rx_reset_load(data[0] & HARNESS_UNDER_LOAD);

	while (next_record(&r, HARNESS_REC_HDR, &hdr, &body, &len)) {
		enum harness_source src = hdr & HARNESS_SRC_MASK;
		struct pktbuf *b = pktbuf_get(wg_device_pool(rx.dev));

		if (!b)
			abort(); /* the pool holds thousands: something leaks */
		if (len > HARNESS_MAX_PACKET)
			len = HARNESS_MAX_PACKET;
		memcpy(b->data, body, len);
		b->len = (uint32_t)len;
		if (src == HARNESS_SRC_TUN) {
			rx_flush(batch, &nbatch);
			wg_device_tun_input(rx.dev, &b, 1);
			continue;
		}
		b->endpoint = rx.sources[src];
		batch[nbatch++] = b;
		if (!(hdr & HARNESS_BATCH) || nbatch == HARNESS_MAX_BATCH)
			rx_flush(batch, &nbatch);
	}
	rx_flush(batch, &nbatch);

	/* Back to an empty device: peers go, their timers close, no buffer stays out. */
	wg_device_remove_all_peers(rx.dev);
	uv_run(&rx.loop, UV_RUN_NOWAIT);
	FUZZ_CHECK(wg_device_pool(rx.dev)->stats.in_use == 0);
	rx.trace = NULL;
	harness_rng_select(old_rng);
}

/* ---- the handshake harness ---- */

struct hs_ctx {
	struct noise_handshake hs; /* D's handshake with P */
	struct harness_rng rng;
};

static struct {
	bool ready;
	struct noise_static_identity id_d;
	struct noise_handshake tmpl, tmpl_psk;
} hsh;

static struct noise_handshake *hs_lookup_static(void *ctx, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct hs_ctx *c = ctx;

	return memcmp(key, harness_pub_p, NOISE_PUBLIC_KEY_LEN) ? NULL : &c->hs;
}

static struct noise_handshake *hs_lookup_index(void *ctx, uint32_t index)
{
	struct hs_ctx *c = ctx;

	return c->hs.state != HANDSHAKE_ZEROED && c->hs.local_index == index ? &c->hs : NULL;
}

static void hs_random(void *ctx, void *buf, size_t len)
{
	harness_rng_fill(&((struct hs_ctx *)ctx)->rng, buf, len);
}

size_t harness_cookie_source(uint8_t out[18])
{
	static const uint8_t src[6] = {192, 0, 2, 1, 51820 >> 8, 51820 & 0xff};

	memcpy(out, src, sizeof(src));
	return sizeof(src);
}

static void hs_setup(void)
{
	if (hsh.ready)
		return;
	hsh.ready = true;
	if (noise_static_identity_set(&hsh.id_d, harness_priv_d))
		abort();
	noise_handshake_init(&hsh.tmpl, &hsh.id_d, harness_pub_p, NULL);
	noise_handshake_init(&hsh.tmpl_psk, &hsh.id_d, harness_pub_p, harness_psk);
}

/* An exact-size writable copy, so a read past @len is an ASan report. */
static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	memcpy(copy, p, len);
	return copy;
}

struct hs_session {
	struct noise_keypair kp;
	struct noise_keypairs slots;
	struct replay_window replay;
	bool up;
	uint64_t accepted[64]; /* the naive model of the replay window */
	unsigned naccepted;
};

static void hs_begin_session(struct hs_ctx *c, struct hs_session *s, bool initiator)
{
	struct noise_keypair *evicted[NOISE_KEYPAIRS_MAX_EVICTED];
	uint64_t now = (uint64_t)HARNESS_NOW_S * WG_NSEC_PER_SEC;

	if (noise_handshake_begin_session(&c->hs, &s->kp, now))
		return;
	FUZZ_CHECK(s->kp.i_am_the_initiator == initiator);
	FUZZ_CHECK(s->kp.local_index == HARNESS_INDEX_D);
	FUZZ_CHECK(c->hs.state == HANDSHAKE_ZEROED);
	FUZZ_CHECK(noise_keypairs_begin_session(&s->slots, &s->kp, evicted) == 0);
	replay_init(&s->replay);
	s->up = true;
}

static void hs_data(struct hs_session *s, const uint8_t *body, size_t len,
		    struct harness_trace *trace)
{
	uint64_t now = (uint64_t)HARNESS_NOW_S * WG_NSEC_PER_SEC, counter = 0;
	struct noise_keypair *evicted = NULL;
	uint8_t *msg = dup_exact(body, len);

	if (noise_decrypt_data(&s->kp, msg, len, now, &counter) == 0) {
		bool fresh = replay_check_and_update(&s->replay, counter, WG_REJECT_AFTER_MESSAGES);
		bool seen = false;

		FUZZ_CHECK(len >= MESSAGE_DATA_MIN_LEN);
		FUZZ_CHECK(counter == wg_get_le64(body + DATA_OFF_COUNTER));
		uint64_t greatest = 0;

		for (unsigned i = 0; i < s->naccepted; i++) {
			seen |= s->accepted[i] == counter;
			greatest = s->accepted[i] > greatest ? s->accepted[i] : greatest;
		}
		/*
		 * The naive model: never twice; and a counter well inside the
		 * window (the exact edge is test_replay's business) is accepted.
		 */
		if (seen)
			FUZZ_CHECK(!fresh);
		else if (counter >= greatest || greatest - counter < REPLAY_WINDOW_SIZE / 2)
			FUZZ_CHECK(fresh);
		if (fresh) {
			if (s->naccepted < ARRAY_SIZE(s->accepted))
				s->accepted[s->naccepted++] = counter;
			noise_keypairs_received_with(&s->slots, &s->kp, &evicted);
			FUZZ_CHECK(evicted == NULL && s->slots.current == &s->kp);
			if (trace)
				trace->decrypted++;
		}
	}
	free(msg);
}

/* mac1 (and mac2 if asked) of a received handshake message; a cookie reply if one is due. */
static void hs_check_macs(struct cookie_checker *checker, const uint8_t *msg, size_t len,
			  bool check_cookie, struct harness_trace *trace)
{
	uint64_t now = (uint64_t)HARNESS_NOW_S * WG_NSEC_PER_SEC;
	uint8_t src[18], reply[MESSAGE_COOKIE_REPLY_LEN];
	size_t src_len = harness_cookie_source(src);
	enum cookie_mac_state mac;

	mac = cookie_validate_packet(checker, msg, len, src, src_len, check_cookie, now);
	if (mac == COOKIE_MAC_VALID_WITH_COOKIE && trace)
		trace->with_cookie++;
	if (mac == COOKIE_MAC_VALID_NO_COOKIE && check_cookie) {
		FUZZ_CHECK(cookie_message_create(checker, reply, msg, len, src, src_len, now) == 0);
		if (trace) {
			memcpy(trace->cookie_reply, reply, sizeof(reply));
			trace->cookie_reply_len = sizeof(reply);
		}
	}
}

void harness_wg_handshake_run(const uint8_t *data, size_t size, struct harness_trace *trace)
{
	uint64_t now = (uint64_t)HARNESS_NOW_S * WG_NSEC_PER_SEC;
	uint64_t wall = (uint64_t)HARNESS_WALL_S * WG_NSEC_PER_SEC;
	struct reader r = {data + 1, size ? size - 1 : 0};
	uint8_t init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN];
	struct noise_handshake *out = NULL;
	struct cookie_checker checker;
	struct cookie_maker maker;
	struct hs_session s = {0};
	struct noise_ops ops;
	struct hs_ctx c;
	const uint8_t *body;
	bool check_cookie;
	uint8_t *msg;
	size_t len;
	int op;

	harness_wg_init();
	hs_setup();
	if (size == 0)
		return;
	op = data[0] & HARNESS_HS_OP_MASK;
	check_cookie = data[0] & HARNESS_HS_CHECK_COOKIE;
	c.hs = data[0] & HARNESS_HS_PSK ? hsh.tmpl_psk : hsh.tmpl;
	harness_rng_reset(&c.rng, 'h');
	ops = (struct noise_ops){.lookup_static = hs_lookup_static,
				 .lookup_index = hs_lookup_index,
				 .random = hs_random,
				 .ctx = &c};
	cookie_checker_init(&checker, harness_pub_d, hs_random, &c);
	cookie_maker_init(&maker, harness_pub_p);

	if (op == HARNESS_HS_INITIATE || op == HARNESS_HS_COOKIE) {
		FUZZ_CHECK(noise_handshake_create_initiation(&c.hs, init, HARNESS_INDEX_D, wall,
							     &ops) == 0);
		cookie_add_mac_to_packet(&maker, init, sizeof(init), now);
		if (trace) {
			memcpy(trace->hs_msg, init, sizeof(init));
			trace->hs_len = sizeof(init);
		}
	}
	if (!next_record(&r, HARNESS_HS_REC_HDR, NULL, &body, &len))
		goto out_wipe;
	msg = dup_exact(body, len);
	if (op == HARNESS_HS_COOKIE) {
		if (cookie_message_consume(&maker, msg, len, now) == 0) {
			uint8_t zero[COOKIE_LEN] = {0};

			/* One reply per mac1: the same reply again is refused. */
			FUZZ_CHECK(cookie_message_consume(&maker, msg, len, now) != 0);
			/* The next message to P carries a mac2 from the cookie. */
			cookie_add_mac_to_packet(&maker, init, sizeof(init), now);
			FUZZ_CHECK(memcmp(init + INITIATION_OFF_MAC2, zero, COOKIE_LEN) != 0);
			if (trace)
				trace->hs_consumed = true;
		}
		free(msg);
		while (next_record(&r, HARNESS_HS_REC_HDR, NULL, &body, &len)) {
			msg = dup_exact(body, len);
			hs_check_macs(&checker, msg, len, true, trace);
			free(msg);
		}
		goto out_wipe;
	}

	hs_check_macs(&checker, msg, len, check_cookie, trace);
	if (op == HARNESS_HS_INITIATE) {
		if (noise_handshake_consume_response(msg, len, &ops, &out) == 0) {
			FUZZ_CHECK(out == &c.hs && c.hs.state == HANDSHAKE_CONSUMED_RESPONSE);
			hs_begin_session(&c, &s, true);
		} else {
			/* A forged response must not kill the pending handshake. */
			FUZZ_CHECK(c.hs.state == HANDSHAKE_CREATED_INITIATION);
		}
	} else if (noise_handshake_consume_initiation(&hsh.id_d, msg, len, now, &ops, &out) == 0) {
		FUZZ_CHECK(out == &c.hs && c.hs.state == HANDSHAKE_CONSUMED_INITIATION);
		if (noise_handshake_create_response(&c.hs, resp, HARNESS_INDEX_D, &ops) == 0) {
			cookie_add_mac_to_packet(&maker, resp, sizeof(resp), now);
			if (trace) {
				memcpy(trace->hs_msg, resp, sizeof(resp));
				trace->hs_len = sizeof(resp);
			}
			hs_begin_session(&c, &s, false);
		}
	}
	free(msg);
	if (trace)
		trace->hs_consumed = s.up;
	while (s.up && next_record(&r, HARNESS_HS_REC_HDR, NULL, &body, &len))
		hs_data(&s, body, len, trace);

out_wipe:
	noise_keypair_wipe(&s.kp);
	noise_handshake_clear(&c.hs);
	cookie_checker_wipe(&checker);
	cookie_maker_wipe(&maker);
}
