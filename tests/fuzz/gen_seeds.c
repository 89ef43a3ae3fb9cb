// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpus of every fuzz target: OUTDIR/<target>/<name>.
 *
 *   fuzz_gen_seeds OUTDIR        (the committed seeds live in tests/fuzz/corpus)
 *
 * Text targets get small valid (and a few almost-valid) examples. The
 * WireGuard targets get recorded conversations: the generator plays the
 * peer P with a real device (receive target) or the noise functions
 * (handshake target) against the deterministic harness, re-running the
 * harness on the input built so far to learn what the device under test
 * answers, and then checks that the finished input does what it should
 * (packets delivered, data decrypted). Exits non-zero if any check fails.
 *
 * The committed seeds are the source of truth: the WireGuard seeds embed
 * P's wall-clock timestamp and so differ from run to run; regenerate them
 * only when the harness format changes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>
#include <uv.h>

#include "harness_wg.h"
#include "util/encoding.h"
#include "wg/cookie.h"
#include "wg/device.h"
#include "wg/noise.h"
#include "wg/wg_proto.h"

#define GEN_CHECK(cond)                                                                       \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "gen_seeds:%d: check failed: %s\n", __LINE__, #cond); \
			exit(1);                                                              \
		}                                                                             \
	} while (0)

enum { INPUT_MAX = 8192, RECORDS_MAX = 32, P_OUT_MAX = 16 };

static const char *outdir;
static unsigned written;

static void make_dir(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "gen_seeds: mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void write_seed(const char *target, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "gen_seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	written++;
}

struct text_seed {
	const char *name;
	const char *text;
};

static void write_texts(const char *target, const struct text_seed *seeds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		write_seed(target, seeds[i].name, seeds[i].text, strlen(seeds[i].text));
}

#define WRITE_TEXTS(target, seeds) write_texts(target, seeds, sizeof(seeds) / sizeof(seeds[0]))

/* ---- text targets ---- */

static void gen_ipaddr(void)
{
	static const struct text_seed seeds[] = {
		{"v4", "192.0.2.1"},
		{"v4-zero", "0.0.0.0"},
		{"v4-max", "255.255.255.255"},
		{"v4-leading-zero", "192.0.2.01"},
		{"v6-any", "::"},
		{"v6-loopback", "::1"},
		{"v6-doc", "2001:db8::1"},
		{"v6-full", "2001:db8:0:1:1:1:1:1"},
		{"v6-two-runs", "2001:db8:0:0:1:0:0:1"},
		{"v6-dotted-tail", "64:ff9b::192.0.2.33"},
		{"v6-mapped", "::ffff:192.0.2.1"},
		{"v6-zone", "fe80::1%eth0"},
		{"v6-upper", "FD7A:115C:A1E0::1"},
		{"prefix-v4", "10.0.0.0/8"},
		{"prefix-v4-host", "100.64.0.1/10"},
		{"prefix-v6", "fd7a:115c:a1e0::/48"},
		{"prefix-default", "::/0"},
		{"prefix-host6", "2001:db8::1/128"},
		{"prefix-bad-len", "10.0.0.0/033"},
		{"endpoint-v4", "192.0.2.1:51820"},
		{"endpoint-v6", "[2001:db8::1]:41641"},
		{"endpoint-zero", "[::]:0"},
		{"endpoint-max", "203.0.113.7:65535"},
		{"endpoint-bad-port", "[::1]:65536"},
		{"space", " 192.0.2.1"},
	};

	WRITE_TEXTS("ipaddr", seeds);
}

static void gen_encoding(void)
{
	char b64[ENC_KEY_B64_LEN + 1], hex[ENC_KEY_HEX_LEN + 1], upper[ENC_KEY_HEX_LEN + 1];
	static const struct text_seed seeds[] = {
		{"b64-empty", ""},
		{"b64-1", "Zg=="},
		{"b64-2", "Zm8="},
		{"b64-3", "Zm9v"},
		{"b64-noncanonical", "Zh=="},
		{"b64-bad-pad", "Z==="},
		{"hex-short", "00ff"},
		{"hex-odd", "abc"},
	};
	static const uint8_t binary[] = {0x00, 0xff, 0x10, 0x80, 0x7f, 0x3d, 0x0a, 0x2b, 0x2f};

	WRITE_TEXTS("encoding", seeds);
	enc_key_to_base64(b64, harness_pub_d);
	write_seed("encoding", "key-b64", b64, strlen(b64));
	enc_key_to_hex(hex, harness_pub_d);
	write_seed("encoding", "key-hex", hex, strlen(hex));
	for (size_t i = 0; i <= ENC_KEY_HEX_LEN; i++)
		upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 'a' + 'A' : hex[i]);
	write_seed("encoding", "key-hex-upper", upper, strlen(upper));
	b64[ENC_KEY_B64_LEN - 2] ^= 1; /* unused low bits set: not canonical */
	write_seed("encoding", "key-b64-noncanonical", b64, strlen(b64));
	write_seed("encoding", "binary", binary, sizeof(binary));
}

static void gen_hujson(void)
{
	static const struct text_seed seeds[] = {
		{"policy",
		 "// The tailnet policy.\n"
		 "{\n"
		 "\t/* who may talk to whom */\n"
		 "\t\"groups\": {\"group:eng\": [\"alice@example.com\", \"bob@example.com\",],},\n"
		 "\t\"tagOwners\": {\"tag:server\": [\"group:eng\"]},\n"
		 "\t\"acls\": [\n"
		 "\t\t{\"action\": \"accept\", \"src\": [\"group:eng\"], \"dst\": "
		 "[\"tag:server:22,443\"]}, // ssh, https\n"
		 "\t\t{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]},\n"
		 "\t],\n"
		 "\t\"hosts\": {\"db\": \"100.64.0.5\", \"lan\": \"192.168.0.0/24\"},\n"
		 "}\n"},
		{"config",
		 "{\n  \"version\": 1,\n  \"listen\": \"127.0.0.1:8080\", // admin\n"
		 "  \"prefixes\": {\"v4\": \"100.64.0.0/10\", \"v6\": \"fd7a:115c:a1e0::/48\"},\n"
		 "  \"dns\": {\"magic_dns\": true, \"nameservers\": [],},\n}\n"},
		{"scalars",
		 "[0, -1, 1.5, -0.25e-3, 1E+10, true, false, null, \"\", \"a\\\"b\\\\c\"]"},
		{"unicode", "{\"k\": \"\\u00e9\\ud83d\\ude00 caf\xc3\xa9\", \"\xe2\x82\xac\": 1}"},
		{"nested", "{\"a\": [[[{\"b\": [{}]}]]], \"c\": {\"d\": {\"e\": []}}}"},
		{"bom", "\xef\xbb\xbf{\"a\": 1}"},
		{"duplicate", "{\"a\": 1, \"a\": 2}"},
		{"leading-zero", "[01]"},
		{"overflow", "[1e999]"},
		{"unterminated-comment", "{\"a\": 1 /* no end"},
		{"unterminated-string", "[\"abc"},
		{"control-char", "[\"a\tb\"]"},
		{"double-comma", "[1,,]"},
		{"crlf", "{\r\n\"a\": 1, // x\r\n\"b\": 2\r\n}"},
	};

	WRITE_TEXTS("hujson", seeds);
}

static void gen_uapi(void)
{
	char key_d[ENC_KEY_HEX_LEN + 1], key_p[ENC_KEY_HEX_LEN + 1], key_q[ENC_KEY_HEX_LEN + 1];
	char psk[ENC_KEY_HEX_LEN + 1], buf[2048];

	enc_key_to_hex(key_d, harness_priv_d);
	enc_key_to_hex(key_p, harness_pub_p);
	enc_key_to_hex(key_q, harness_pub_q);
	enc_key_to_hex(psk, harness_psk);

	snprintf(buf, sizeof(buf),
		 "private_key=%s\nlisten_port=51820\nfwmark=0\nreplace_peers=true\n"
		 "public_key=%s\npreshared_key=%s\nprotocol_version=1\n"
		 "endpoint=192.0.2.1:51820\npersistent_keepalive_interval=25\n"
		 "replace_allowed_ips=true\nallowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\n"
		 "public_key=%s\nendpoint=[2001:db8::9]:4000\nallowed_ip=10.0.1.0/24\n",
		 key_d, key_p, psk, key_q);
	write_seed("uapi", "full-config", buf, strlen(buf));

	snprintf(buf, sizeof(buf),
		 "public_key=%s\nallowed_ip=10.0.0.0/24\nallowed_ip=10.0.0.0/25\n"
		 "public_key=%s\nallowed_ip=10.0.0.0/24\n"
		 "public_key=%s\nallowed_ip=-10.0.0.0/25\nupdate_only=true\n",
		 key_p, key_q, key_p);
	write_seed("uapi", "allowed-ips-move", buf, strlen(buf));

	snprintf(buf, sizeof(buf),
		 "public_key=%s\nendpoint=[::ffff:192.0.2.7]:51820\nremove=true\n"
		 "public_key=%s\nupdate_only=true\nendpoint=192.0.2.8:1\n",
		 key_p, key_q);
	write_seed("uapi", "remove-update-only", buf, strlen(buf));

	/* Our own public key as a peer is ignored. */
	enc_key_to_hex(key_p, harness_pub_d);
	snprintf(buf, sizeof(buf), "private_key=%s\npublic_key=%s\nallowed_ip=0.0.0.0/0\n", key_d,
		 key_p);
	write_seed("uapi", "own-key-peer", buf, strlen(buf));

	snprintf(buf, sizeof(buf), "listen_port=65535\nfwmark=4294967295\n\nprivate_key=%s\n",
		 key_d);
	write_seed("uapi", "blank-line-ends", buf, strlen(buf));
	write_seed("uapi", "bad-line", "listen_port=70000\n", strlen("listen_port=70000\n"));
	write_seed("uapi", "no-equals", "fwmark\n", strlen("fwmark\n"));
	memset(key_d, '0', ENC_KEY_HEX_LEN);
	snprintf(buf, sizeof(buf), "private_key=%s\n", key_d);
	write_seed("uapi", "zero-key", buf, strlen(buf));
}

/* ---- IP packets ---- */

static size_t make_ip4(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], size_t payload)
{
	size_t total = 20 + payload;

	memset(p, 0, total);
	p[0] = 0x45;
	p[2] = (uint8_t)(total >> 8);
	p[3] = (uint8_t)total;
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	for (size_t i = 20; i < total; i++)
		p[i] = (uint8_t)(i * 13);
	return total;
}

static size_t make_ip6(uint8_t *p, const uint8_t src[16], const uint8_t dst[16], size_t payload)
{
	memset(p, 0, 40 + payload);
	p[0] = 0x60;
	p[4] = (uint8_t)(payload >> 8);
	p[5] = (uint8_t)payload;
	p[6] = 17;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	for (size_t i = 40; i < 40 + payload; i++)
		p[i] = (uint8_t)(i * 7);
	return 40 + payload;
}

static const uint8_t ip_p[4] = {10, 0, 0, 1}, ip_d[4] = {10, 9, 0, 1};
static const uint8_t ip_spoof[4] = {10, 0, 1, 5}, ip_p5[4] = {10, 0, 0, 5};
static const uint8_t ip_q7[4] = {10, 0, 1, 7};
static const uint8_t ip6_p[16] = {0xfd, [15] = 1}, ip6_d[16] = {0xfd, 0x09, [15] = 1};

/* ---- the receive target: P as a real device against the harness ---- */

static uv_loop_t loop;

struct flow {
	uint8_t in[INPUT_MAX];
	size_t len;
	size_t rec_off[RECORDS_MAX];
	unsigned nrec;
	struct harness_trace trace; /* of the last harness run */
	unsigned d_delivered;	    /* D's messages already handed to P */
	struct wg_device *p;
	struct wg_peer *p_d; /* P's peer: D */
	struct harness_rng rng;
	struct harness_msg out[P_OUT_MAX]; /* what P sent, not yet taken */
	unsigned nout, taken;
	struct ip_endpoint d_ep;
};

static unsigned p_send(void *ctx, struct pktbuf *const *bufs, unsigned n)
{
	struct flow *f = ctx;

	for (unsigned i = 0; i < n; i++) {
		GEN_CHECK(f->nout < P_OUT_MAX && bufs[i]->len <= HARNESS_MAX_PACKET);
		f->out[f->nout].len = bufs[i]->len;
		f->out[f->nout].to = bufs[i]->endpoint;
		memcpy(f->out[f->nout].data, bufs[i]->data, bufs[i]->len);
		f->nout++;
	}
	return n;
}

static void p_tun_write(void *ctx, struct pktbuf *const *bufs, unsigned n)
{
	(void)ctx;
	(void)bufs;
	(void)n;
}

static const struct wg_net_ops p_net_ops = {.send = p_send};
static const struct wg_tun_ops p_tun_ops = {.write = p_tun_write};

static struct flow *flow_new(uint8_t flags)
{
	struct flow *f = calloc(1, sizeof(*f));
	struct ip_prefix pfx;

	GEN_CHECK(f != NULL);
	f->in[0] = flags;
	f->len = 1;
	harness_rng_reset(&f->rng, 'P');
	harness_rng_select(&f->rng);
	GEN_CHECK(ip_endpoint_parse(&f->d_ep, "192.0.2.2:51820", NULL) == 0);
	GEN_CHECK(wg_device_create(&f->p, &loop, &p_net_ops, f, &p_tun_ops, f) == 0);
	GEN_CHECK(wg_device_set_private_key(f->p, harness_priv_p) == 0);
	GEN_CHECK(wg_device_peer_create(f->p, harness_pub_d, &f->p_d) == 0);
	GEN_CHECK(ip_prefix_parse(&pfx, "10.9.0.0/16", NULL) == 0);
	GEN_CHECK(wg_peer_add_allowed_ip(f->p_d, &pfx) == 0);
	GEN_CHECK(ip_prefix_parse(&pfx, "fd09::/64", NULL) == 0);
	GEN_CHECK(wg_peer_add_allowed_ip(f->p_d, &pfx) == 0);
	wg_peer_set_endpoint(f->p_d, &f->d_ep);
	if (flags & HARNESS_PSK)
		wg_peer_set_preshared_key(f->p_d, harness_psk);
	return f;
}

static void flow_free(struct flow *f)
{
	wg_device_destroy(f->p);
	uv_run(&loop, UV_RUN_DEFAULT);
	free(f);
}

/* P gets a plaintext packet from its TUN (and sends whatever that causes). */
static void flow_p_tun(struct flow *f, const uint8_t *pkt, size_t len)
{
	struct pktbuf *b;

	harness_rng_select(&f->rng);
	b = pktbuf_get(wg_device_pool(f->p));
	GEN_CHECK(b != NULL);
	memcpy(b->data, pkt, len);
	b->len = (uint32_t)len;
	wg_device_tun_input(f->p, &b, 1);
}

/* The oldest message P sent that was not taken yet; it must be of @type. */
static struct harness_msg *flow_take(struct flow *f, enum message_type type)
{
	struct harness_msg *m;

	GEN_CHECK(f->taken < f->nout);
	m = &f->out[f->taken++];
	GEN_CHECK(wg_message_classify(m->data, m->len) == type);
	return m;
}

static void flow_add(struct flow *f, uint8_t hdr, const uint8_t *msg, size_t len)
{
	GEN_CHECK(f->nrec < RECORDS_MAX && f->len + HARNESS_REC_HDR + len <= INPUT_MAX);
	f->rec_off[f->nrec++] = f->len;
	f->in[f->len++] = hdr;
	f->in[f->len++] = (uint8_t)(len >> 8);
	f->in[f->len++] = (uint8_t)len;
	memcpy(f->in + f->len, msg, len);
	f->len += len;
}

static void flow_run(struct flow *f)
{
	memset(&f->trace, 0, sizeof(f->trace));
	harness_wg_receive_run(f->in, f->len, &f->trace);
}

/* Hand P what D sent since the last call (the runs repeat the same prefix). */
static void flow_d_to_p(struct flow *f)
{
	harness_rng_select(&f->rng);
	for (; f->d_delivered < f->trace.nsent; f->d_delivered++) {
		const struct harness_msg *m = &f->trace.sent[f->d_delivered];
		struct pktbuf *b = pktbuf_get(wg_device_pool(f->p));

		GEN_CHECK(b != NULL);
		memcpy(b->data, m->data, m->len);
		b->len = (uint32_t)m->len;
		b->endpoint = f->d_ep;
		wg_device_net_input(f->p, &b, 1);
	}
}

/* The newest message D sent, which must be of @type and go to @src's endpoint. */
static const struct harness_msg *flow_d_last(struct flow *f, enum message_type type,
					     enum harness_source src)
{
	const struct harness_msg *m;
	struct ip_endpoint ep;

	GEN_CHECK(f->trace.nsent > 0);
	m = &f->trace.sent[f->trace.nsent - 1];
	harness_source_endpoint(src, &ep);
	GEN_CHECK(wg_message_classify(m->data, m->len) == type);
	GEN_CHECK(m->to.port == ep.port && ip_addr_equal(&m->to.addr, &ep.addr));
	return m;
}

/* P initiates from @src; D answers; P sends its staged packet from @data_src. */
static void flow_handshake(struct flow *f, enum harness_source src, enum harness_source data_src)
{
	uint8_t pkt[256];
	struct harness_msg *m;

	flow_p_tun(f, pkt, make_ip4(pkt, ip_p, ip_d, 100));
	m = flow_take(f, MESSAGE_HANDSHAKE_INITIATION);
	flow_add(f, src, m->data, m->len);
	flow_run(f);
	flow_d_last(f, MESSAGE_HANDSHAKE_RESPONSE, src);
	flow_d_to_p(f);
	m = flow_take(f, MESSAGE_DATA);
	flow_add(f, data_src, m->data, m->len);
	flow_run(f);
	GEN_CHECK(f->trace.tun_packets == 1);
}

/* P sends @pkt as data (session up) from @src. */
static void flow_p_data(struct flow *f, enum harness_source src, const uint8_t *pkt, size_t len)
{
	struct harness_msg *m;

	flow_p_tun(f, pkt, len);
	m = flow_take(f, MESSAGE_DATA);
	flow_add(f, src, m->data, m->len);
}

static void flow_write(struct flow *f, const char *name)
{
	write_seed("wg_receive", name, f->in, f->len);
}

/* The input of @f with the batch bit set on records [from, to), run and checked. */
static void write_batched(struct flow *f, unsigned from, unsigned to, unsigned tun_packets,
			  const char *name)
{
	uint8_t *copy = malloc(f->len);
	struct harness_trace *t = calloc(1, sizeof(*t));

	GEN_CHECK(copy && t);
	memcpy(copy, f->in, f->len);
	for (unsigned i = from; i < to; i++)
		copy[f->rec_off[i]] |= HARNESS_BATCH;
	harness_wg_receive_run(copy, f->len, t);
	GEN_CHECK(t->tun_packets == tun_packets);
	write_seed("wg_receive", name, copy, f->len);
	free(copy);
	free(t);
}

static void gen_receive_sessions(void)
{
	uint8_t pkt[1500];
	struct flow *f;
	size_t len;

	/* A handshake, data both families, a keepalive, a spoofed source, a replay. */
	f = flow_new(0);
	flow_handshake(f, HARNESS_SRC_PEER, HARNESS_SRC_PEER);
	write_batched(f, 0, 1, 1, "handshake-batched");
	flow_p_data(f, HARNESS_SRC_PEER, pkt, make_ip6(pkt, ip6_p, ip6_d, 200));
	flow_p_data(f, HARNESS_SRC_PEER, pkt, make_ip4(pkt, ip_p, ip_d, 1380));
	harness_rng_select(&f->rng);
	wg_peer_set_persistent_keepalive(f->p_d, 25); /* sends one keepalive now */
	{
		struct harness_msg *m = flow_take(f, MESSAGE_DATA);

		GEN_CHECK(m->len == MESSAGE_DATA_MIN_LEN);
		flow_add(f, HARNESS_SRC_PEER, m->data, m->len);
	}
	flow_p_data(f, HARNESS_SRC_PEER, pkt, make_ip4(pkt, ip_spoof, ip_d, 20));
	flow_add(f, HARNESS_SRC_PEER, f->in + f->rec_off[1] + HARNESS_REC_HDR,
		 (size_t)f->in[f->rec_off[1] + 1] << 8 | f->in[f->rec_off[1] + 2]);
	flow_run(f);
	GEN_CHECK(f->trace.tun_packets == 3);
	flow_write(f, "session");
	/* Cut short in the middle of the last record. */
	f->len -= 20;
	flow_write(f, "session-truncated");
	flow_free(f);

	/* With a preshared key. */
	f = flow_new(HARNESS_PSK);
	flow_handshake(f, HARNESS_SRC_PEER, HARNESS_SRC_PEER);
	flow_write(f, "psk");
	flow_free(f);

	/* D does not know where P is: it learns from the initiation, then P roams to IPv6. */
	f = flow_new(HARNESS_NO_ENDPOINT);
	flow_handshake(f, HARNESS_SRC_ROAM4, HARNESS_SRC_ROAM6);
	flow_p_data(f, HARNESS_SRC_PEER, pkt, make_ip4(pkt, ip_p, ip_d, 60));
	flow_run(f);
	GEN_CHECK(f->trace.tun_packets == 2);
	flow_write(f, "roaming");
	flow_free(f);

	/* Under load: the first initiation gets a cookie reply, the second carries mac2. */
	{
		uint64_t now = uv_hrtime();
		struct cookie_maker mk;
		const struct harness_msg *reply;
		struct harness_msg *m;
		uint8_t init[MESSAGE_INITIATION_LEN];

		f = flow_new(HARNESS_UNDER_LOAD);
		cookie_maker_init(&mk, harness_pub_d);
		flow_p_tun(f, pkt, make_ip4(pkt, ip_p, ip_d, 100));
		m = flow_take(f, MESSAGE_HANDSHAKE_INITIATION);
		memcpy(init, m->data, sizeof(init));
		cookie_add_mac_to_packet(&mk, init, sizeof(init), now);
		GEN_CHECK(memcmp(init, m->data, sizeof(init)) == 0);
		flow_add(f, HARNESS_SRC_PEER, init, sizeof(init));
		flow_run(f);
		reply = flow_d_last(f, MESSAGE_HANDSHAKE_COOKIE, HARNESS_SRC_PEER);
		GEN_CHECK(cookie_message_consume(&mk, reply->data, reply->len, now) == 0);
		f->d_delivered = f->trace.nsent;
		cookie_add_mac_to_packet(&mk, init, sizeof(init), now);
		flow_add(f, HARNESS_SRC_PEER, init, sizeof(init));
		flow_run(f);
		flow_d_last(f, MESSAGE_HANDSHAKE_RESPONSE, HARNESS_SRC_PEER);
		flow_d_to_p(f);
		m = flow_take(f, MESSAGE_DATA);
		flow_add(f, HARNESS_SRC_PEER, m->data, m->len);
		flow_run(f);
		GEN_CHECK(f->trace.tun_packets == 1);
		flow_write(f, "under-load-cookie");
		cookie_maker_wipe(&mk);
		flow_free(f);
	}

	/* D initiates from its TUN; P answers (D's timestamp differs on replay) and sends a cookie. */
	{
		uint8_t reply[MESSAGE_COOKIE_REPLY_LEN], src[18];
		struct cookie_checker chk;
		const struct harness_msg *d_init;
		struct harness_msg *m;

		f = flow_new(0);
		len = make_ip4(pkt, ip_d, ip_p5, 64);
		flow_add(f, HARNESS_SRC_TUN, pkt, len);
		flow_run(f);
		d_init = flow_d_last(f, MESSAGE_HANDSHAKE_INITIATION, HARNESS_SRC_PEER);
		cookie_checker_init(&chk, harness_pub_p, NULL, NULL);
		GEN_CHECK(cookie_message_create(&chk, reply, d_init->data, d_init->len, src,
						harness_cookie_source(src), uv_hrtime()) == 0);
		flow_d_to_p(f);
		m = flow_take(f, MESSAGE_HANDSHAKE_RESPONSE);
		flow_add(f, HARNESS_SRC_PEER, m->data, m->len);
		flow_add(f, HARNESS_SRC_PEER, reply, sizeof(reply));
		len = make_ip6(pkt, ip6_d, ip6_p, 30);
		flow_add(f, HARNESS_SRC_TUN, pkt, len);
		flow_run(f);
		flow_write(f, "d-initiates");
		cookie_checker_wipe(&chk);
		flow_free(f);
	}
}

/* Inputs that stop at the first checks: lengths, types, reserved bits, TUN junk. */
static void gen_receive_malformed(void)
{
	static const struct {
		uint8_t type;
		uint16_t len;
	} shapes[] = {
		{1, 147}, {1, 149}, {2, 91}, {2, 93}, {3, 63},
		{3, 65},  {4, 31},  {0, 4},  {5, 40}, {4, 3},
	};
	uint8_t msg[200], pkt[200];
	struct flow *f = flow_new(0);

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		memset(msg, 0xa5, sizeof(msg));
		msg[0] = shapes[i].type;
		msg[1] = msg[2] = msg[3] = 0;
		flow_add(f, HARNESS_SRC_PEER | HARNESS_BATCH, msg, shapes[i].len);
	}
	flow_add(f, HARNESS_SRC_PEER, msg, 0);
	flow_write(f, "bad-lengths");
	flow_free(f);

	/* Exact lengths, but a reserved byte set or an unknown index / forged MACs. */
	f = flow_new(0);
	for (uint8_t type = 1; type <= 4; type++) {
		static const uint16_t lens[] = {0, 148, 92, 64, 48};

		memset(msg, 0x5a, sizeof(msg));
		msg[0] = type;
		msg[1] = msg[3] = 0;
		msg[2] = 1;
		flow_add(f, HARNESS_SRC_ROAM4, msg, lens[type]);
		msg[2] = 0;
		flow_add(f, HARNESS_SRC_ROAM6, msg, lens[type]);
	}
	flow_write(f, "reserved-and-forged");
	flow_free(f);

	/* TUN side: to the peer without endpoint, too short, not IP, IPv6 to P. */
	f = flow_new(0);
	flow_add(f, HARNESS_SRC_TUN, pkt, make_ip4(pkt, ip_d, ip_q7, 40));
	flow_add(f, HARNESS_SRC_TUN, pkt, 12);
	pkt[0] = 0x50;
	flow_add(f, HARNESS_SRC_TUN, pkt, 60);
	flow_add(f, HARNESS_SRC_TUN, pkt, make_ip6(pkt, ip6_d, ip6_p, 0));
	flow_run(f);
	flow_d_last(f, MESSAGE_HANDSHAKE_INITIATION, HARNESS_SRC_PEER);
	flow_write(f, "tun-mixed");
	flow_free(f);

	/* Flags only: the device set up and torn down. */
	for (uint8_t flags = 0; flags < 8; flags += 7) {
		char name[32];

		snprintf(name, sizeof(name), "empty-%u", flags);
		write_seed("wg_receive", name, &flags, 1);
	}
}

/* ---- the handshake target: P through the noise functions ---- */

struct pside {
	struct noise_static_identity id;
	struct noise_handshake hs;
	struct noise_keypair kp;
	struct harness_rng rng;
	struct noise_ops ops;
	struct cookie_maker mk;
};

static struct noise_handshake *p_lookup_static(void *ctx, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct pside *p = ctx;

	return memcmp(key, harness_pub_d, NOISE_PUBLIC_KEY_LEN) ? NULL : &p->hs;
}

static struct noise_handshake *p_lookup_index(void *ctx, uint32_t index)
{
	struct pside *p = ctx;

	return p->hs.state != HANDSHAKE_ZEROED && p->hs.local_index == index ? &p->hs : NULL;
}

static void p_random(void *ctx, void *buf, size_t len)
{
	harness_rng_fill(&((struct pside *)ctx)->rng, buf, len);
}

enum {
	P_INDEX = 0x2b2b2b2b,
};

static void pside_init(struct pside *p, bool psk)
{
	memset(p, 0, sizeof(*p));
	GEN_CHECK(noise_static_identity_set(&p->id, harness_priv_p) == 0);
	noise_handshake_init(&p->hs, &p->id, harness_pub_d, psk ? harness_psk : NULL);
	harness_rng_reset(&p->rng, 'p');
	p->ops = (struct noise_ops){.lookup_static = p_lookup_static,
				    .lookup_index = p_lookup_index,
				    .random = p_random,
				    .ctx = p};
	cookie_maker_init(&p->mk, harness_pub_d);
}

static void pside_wipe(struct pside *p)
{
	noise_keypair_wipe(&p->kp);
	noise_handshake_clear(&p->hs);
	cookie_maker_wipe(&p->mk);
	sodium_memzero(p, sizeof(*p));
}

struct hs_input {
	uint8_t in[INPUT_MAX];
	size_t len;
	struct harness_trace trace;
};

static void hs_add(struct hs_input *h, const uint8_t *msg, size_t len)
{
	GEN_CHECK(h->len + HARNESS_HS_REC_HDR + len <= INPUT_MAX);
	h->in[h->len++] = (uint8_t)(len >> 8);
	h->in[h->len++] = (uint8_t)len;
	memcpy(h->in + h->len, msg, len);
	h->len += len;
}

static void hs_run(struct hs_input *h)
{
	memset(&h->trace, 0, sizeof(h->trace));
	harness_wg_handshake_run(h->in, h->len, &h->trace);
}

static void hs_add_data(struct hs_input *h, struct noise_keypair *kp, uint64_t counter,
			size_t plain_len)
{
	uint8_t msg[MESSAGE_DATA_HEADER_LEN + 256 + NOISE_AUTHTAG_LEN];
	size_t len;

	GEN_CHECK(plain_len <= 256);
	for (size_t i = 0; i < plain_len; i++)
		msg[MESSAGE_DATA_HEADER_LEN + i] = (uint8_t)(i + counter);
	len = noise_encrypt_data(kp, counter, msg, plain_len);
	hs_add(h, msg, len);
}

static void gen_handshake(void)
{
	uint64_t now = (uint64_t)HARNESS_NOW_S * WG_NSEC_PER_SEC;
	uint8_t init[MESSAGE_INITIATION_LEN], resp[MESSAGE_RESPONSE_LEN];
	uint8_t reply[MESSAGE_COOKIE_REPLY_LEN], src[18];
	struct hs_input *h = calloc(1, sizeof(*h));
	struct noise_handshake *out;
	struct cookie_checker chk;
	struct pside p;

	GEN_CHECK(h != NULL);
	/* D responds to P's initiation; P sends data, one replayed, one too old. */
	for (int variant = 0; variant < 3; variant++) {
		static const char *const names[] = {"respond", "respond-psk", "respond-cookie"};
		static const uint8_t ops[] = {HARNESS_HS_RESPOND,
					      HARNESS_HS_RESPOND | HARNESS_HS_PSK,
					      HARNESS_HS_RESPOND | HARNESS_HS_CHECK_COOKIE};

		pside_init(&p, ops[variant] & HARNESS_HS_PSK);
		h->len = 0;
		h->in[h->len++] = ops[variant];
		GEN_CHECK(noise_handshake_create_initiation(
				  &p.hs, init, P_INDEX,
				  (uint64_t)(HARNESS_WALL_S - 60) * WG_NSEC_PER_SEC, &p.ops) == 0);
		cookie_add_mac_to_packet(&p.mk, init, sizeof(init), now);
		hs_add(h, init, sizeof(init));
		hs_run(h);
		GEN_CHECK(h->trace.hs_consumed && h->trace.hs_len == MESSAGE_RESPONSE_LEN);
		GEN_CHECK((h->trace.cookie_reply_len != 0) == (variant == 2));
		GEN_CHECK(noise_handshake_consume_response(h->trace.hs_msg, h->trace.hs_len, &p.ops,
							   &out) == 0);
		GEN_CHECK(noise_handshake_begin_session(&p.hs, &p.kp, now) == 0);
		hs_add_data(h, &p.kp, 0, 0);
		hs_add_data(h, &p.kp, 1, 48);
		hs_add_data(h, &p.kp, 1, 48);
		hs_add_data(h, &p.kp, 9000, 16);
		hs_add_data(h, &p.kp, 2, 16);
		hs_run(h);
		GEN_CHECK(h->trace.decrypted == 3);
		write_seed("wg_handshake", names[variant], h->in, h->len);
		pside_wipe(&p);
	}
	/* Truncated initiation. */
	write_seed("wg_handshake", "respond-truncated", h->in, 1 + HARNESS_HS_REC_HDR + 100);

	/* D initiates; P responds and sends data. */
	pside_init(&p, false);
	h->len = 0;
	h->in[h->len++] = HARNESS_HS_INITIATE;
	hs_run(h);
	GEN_CHECK(h->trace.hs_len == MESSAGE_INITIATION_LEN);
	GEN_CHECK(noise_handshake_consume_initiation(&p.id, h->trace.hs_msg, h->trace.hs_len, now,
						     &p.ops, &out) == 0);
	GEN_CHECK(noise_handshake_create_response(&p.hs, resp, P_INDEX, &p.ops) == 0);
	cookie_add_mac_to_packet(&p.mk, resp, sizeof(resp), now);
	hs_add(h, resp, sizeof(resp));
	GEN_CHECK(noise_handshake_begin_session(&p.hs, &p.kp, now) == 0);
	hs_add_data(h, &p.kp, 0, 32);
	hs_add_data(h, &p.kp, 1, 0);
	hs_add_data(h, &p.kp, 2, 128);
	hs_run(h);
	GEN_CHECK(h->trace.hs_consumed && h->trace.decrypted == 3);
	write_seed("wg_handshake", "initiate", h->in, h->len);
	/* The same response with a flipped byte: forged, the handshake stays pending. */
	h->in[1 + HARNESS_HS_REC_HDR + RESPONSE_OFF_EMPTY] ^= 0x80;
	write_seed("wg_handshake", "initiate-forged", h->in, 1 + HARNESS_HS_REC_HDR + sizeof(resp));
	pside_wipe(&p);

	/* D initiates; P answers with a cookie reply; P's initiations get a cookie from D. */
	pside_init(&p, false);
	h->len = 0;
	h->in[h->len++] = HARNESS_HS_COOKIE;
	hs_run(h);
	GEN_CHECK(h->trace.hs_len == MESSAGE_INITIATION_LEN);
	cookie_checker_init(&chk, harness_pub_p, p_random, &p);
	GEN_CHECK(cookie_message_create(&chk, reply, h->trace.hs_msg, h->trace.hs_len, src,
					harness_cookie_source(src), now) == 0);
	hs_add(h, reply, sizeof(reply));
	GEN_CHECK(noise_handshake_create_initiation(&p.hs, init, P_INDEX,
						    (uint64_t)HARNESS_WALL_S * WG_NSEC_PER_SEC,
						    &p.ops) == 0);
	cookie_add_mac_to_packet(&p.mk, init, sizeof(init), now);
	hs_add(h, init, sizeof(init));
	hs_run(h);
	GEN_CHECK(h->trace.hs_consumed && h->trace.cookie_reply_len == MESSAGE_COOKIE_REPLY_LEN);
	GEN_CHECK(cookie_message_consume(&p.mk, h->trace.cookie_reply, h->trace.cookie_reply_len,
					 now) == 0);
	cookie_add_mac_to_packet(&p.mk, init, sizeof(init), now);
	hs_add(h, init, sizeof(init));
	hs_run(h);
	GEN_CHECK(h->trace.with_cookie == 1);
	write_seed("wg_handshake", "cookie", h->in, h->len);
	cookie_checker_wipe(&chk);
	pside_wipe(&p);

	/* Wrong types and lengths for each op. */
	for (uint8_t op = 0; op < 3; op++) {
		char name[32];

		memset(init, 0x33, sizeof(init));
		init[0] = (uint8_t)(op + 1);
		init[1] = init[2] = init[3] = 0;
		h->len = 0;
		h->in[h->len++] = op | HARNESS_HS_CHECK_COOKIE;
		hs_add(h, init, 64);
		hs_add(h, init, 92);
		hs_add(h, init, 148);
		snprintf(name, sizeof(name), "junk-op%u", op);
		write_seed("wg_handshake", name, h->in, h->len);
	}
	free(h);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	make_dir(outdir);
	harness_wg_init();
	if (uv_loop_init(&loop))
		return 1;

	gen_ipaddr();
	gen_encoding();
	gen_hujson();
	gen_uapi();
	gen_receive_sessions();
	gen_receive_malformed();
	gen_handshake();

	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop))
		return 1;
	fprintf(stderr, "gen_seeds: %u seeds written to %s\n", written, outdir);
	return 0;
}
