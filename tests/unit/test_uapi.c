// SPDX-License-Identifier: MIT
/*
 * The wg UAPI against a real device: every set key, the errno of each kind
 * of bad line, wireguard-go's abort-at-first-error semantics, the exact
 * order of a get answer, random requests checked against a naive model of
 * the configuration, random bytes (no crash), and the socket server
 * (several requests per connection, stale and busy sockets, read-only mode,
 * removal of the socket file).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "crypto/keys.h"
#include "util/compiler.h"
#include "util/encoding.h"
#include "wg/device.h"
#include "wg/uapi.h"
#include "wg/uapi_server.h"

/* RFC 7748 §6.1: Alice's private key (unclamped as printed there) and public key. */
static const char alice_priv[] = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char alice_pub[] = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
/* Bob's public key, used as an ordinary peer. */
static const char bob_pub[] = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char zero_key[] = "0000000000000000000000000000000000000000000000000000000000000000";

enum {
	BUSY_PORT = 1234, /* the fake outside refuses to bind this one */
	RANDOM_PORT_BASE = 40000,
};

struct fake_net {
	unsigned int binds;
	uint16_t port;
	uint32_t fwmark;
	bool refuse_mark;
	unsigned int sent;
};

static unsigned int fake_send(void *ctx, struct pktbuf *const *bufs, unsigned int n)
{
	struct fake_net *net = ctx;

	(void)bufs;
	net->sent += n;
	return n;
}

static int fake_bind(void *ctx, uint16_t port, uint32_t fwmark, uint16_t *bound)
{
	struct fake_net *net = ctx;

	if (port == BUSY_PORT)
		return -EADDRINUSE;
	if (fwmark && net->refuse_mark)
		return -EPERM;
	net->binds++;
	net->port = port ? port : (uint16_t)(RANDOM_PORT_BASE + net->binds);
	net->fwmark = fwmark;
	*bound = net->port;
	return 0;
}

static void fake_write(void *ctx, struct pktbuf *const *bufs, unsigned int n)
{
	(void)ctx;
	(void)bufs;
	(void)n;
}

static const struct wg_net_ops fake_net_ops = {.send = fake_send, .bind = fake_bind};
static const struct wg_tun_ops fake_tun_ops = {.write = fake_write};

struct fixture {
	uv_loop_t loop;
	struct fake_net net;
	struct wg_device *dev;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(
		wg_device_create(&f->dev, &f->loop, &fake_net_ops, &f->net, &fake_tun_ops, NULL),
		0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	wg_device_destroy(f->dev);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static int set(struct wg_device *dev, const char *req)
{
	return uapi_exec_set(dev, req, strlen(req));
}

/* The get answer as a NUL-terminated string (caller frees). */
static char *get(struct wg_device *dev)
{
	struct uapi_text t = {0};
	char *s;

	assert_int_equal(uapi_format_get(dev, &t), 0);
	s = calloc(1, t.len + 1);
	assert_non_null(s);
	if (t.len)
		memcpy(s, t.data, t.len);
	uapi_text_free(&t);
	return s;
}

static void assert_get(struct wg_device *dev, const char *want)
{
	char *got = get(dev);

	assert_string_equal(got, want);
	free(got);
}

static bool get_has(struct wg_device *dev, const char *line)
{
	char *got = get(dev);
	bool has = strstr(got, line) != NULL;

	free(got);
	return has;
}

static struct wg_peer *peer_by_hex(struct wg_device *dev, const char *hex)
{
	uint8_t key[32];

	assert_int_equal(enc_key_from_hex(key, hex), 0);
	return wg_device_peer_lookup(dev, key);
}

/* ---- device keys ---- */

static void test_empty_device(void **state)
{
	struct fixture *f = *state;

	assert_get(f->dev, "");
	assert_int_equal(set(f->dev, ""), 0);
	assert_int_equal(set(f->dev, "\n"), 0);
	assert_get(f->dev, "");
}

static void test_private_key(void **state)
{
	struct fixture *f = *state;
	char req[128], want[128];
	uint8_t key[32];
	char hex[65];

	/* Printed clamped, as wireguard-go does. */
	snprintf(req, sizeof(req), "private_key=%s\n", alice_priv);
	assert_int_equal(set(f->dev, req), 0);
	assert_int_equal(enc_key_from_hex(key, alice_priv), 0);
	key_clamp_private(key);
	enc_key_to_hex(hex, key);
	snprintf(want, sizeof(want), "private_key=%s\n", hex);
	assert_get(f->dev, want);

	/* Upper-case hex is accepted (Go's hex decoder is case-insensitive). */
	for (char *p = strchr(req, '='); *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(set(f->dev, req), 0);
	assert_get(f->dev, want);

	/* All zeros removes it (wg setconf sends that for a file without a key). */
	snprintf(req, sizeof(req), "private_key=%s\n", zero_key);
	assert_int_equal(set(f->dev, req), 0);
	assert_get(f->dev, "");

	assert_int_equal(set(f->dev, "private_key=abcd\n"), -EINVAL);
	assert_int_equal(set(f->dev, "private_key=\n"), -EINVAL);
	snprintf(req, sizeof(req), "private_key=%sff\n", alice_priv);
	assert_int_equal(set(f->dev, req), -EINVAL);
	snprintf(req, sizeof(req), "private_key=%.63sg\n", alice_priv);
	assert_int_equal(set(f->dev, req), -EINVAL);
	snprintf(req, sizeof(req), "private_key= %.63s\n", alice_priv);
	assert_int_equal(set(f->dev, req), -EINVAL);
	assert_get(f->dev, "");
}

static void test_listen_port(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f->dev, "listen_port=51820\n"), 0);
	assert_get(f->dev, "listen_port=51820\n");
	assert_int_equal(f->net.port, 51820);

	/* 0 means a random port: the outside picks one and get reports it. */
	assert_int_equal(set(f->dev, "listen_port=0\n"), 0);
	assert_true(f->net.port > RANDOM_PORT_BASE);
	{
		char want[64];

		snprintf(want, sizeof(want), "listen_port=%u\n", f->net.port);
		assert_get(f->dev, want);
	}

	/* Leading zeros are fine for Go's ParseUint; signs, spaces and overflow are not. */
	assert_int_equal(set(f->dev, "listen_port=00080\n"), 0);
	assert_get(f->dev, "listen_port=80\n");
	assert_int_equal(set(f->dev, "listen_port=65535\n"), 0);
	assert_int_equal(set(f->dev, "listen_port=65536\n"), -EINVAL);
	assert_int_equal(set(f->dev, "listen_port=-1\n"), -EINVAL);
	assert_int_equal(set(f->dev, "listen_port=+1\n"), -EINVAL);
	assert_int_equal(set(f->dev, "listen_port= 1\n"), -EINVAL);
	assert_int_equal(set(f->dev, "listen_port=\n"), -EINVAL);
	assert_int_equal(set(f->dev, "listen_port=0x10\n"), -EINVAL);
	assert_int_equal(set(f->dev, "listen_port=99999999999999999999999\n"), -EINVAL);
	assert_get(f->dev, "listen_port=65535\n");

	/* A port that cannot be bound: EADDRINUSE, the old port stays. */
	assert_int_equal(set(f->dev, "listen_port=1234\n"), -EADDRINUSE);
	assert_get(f->dev, "listen_port=65535\n");
}

static void test_fwmark(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(set(f->dev, "listen_port=51820\nfwmark=0\n"), 0);
	assert_get(f->dev, "listen_port=51820\n");
	assert_int_equal(set(f->dev, "fwmark=4294967295\n"), 0);
	assert_get(f->dev, "listen_port=51820\nfwmark=4294967295\n");
	assert_int_equal(f->net.fwmark, 4294967295u);
	assert_int_equal(set(f->dev, "fwmark=4294967296\n"), -EINVAL);
	assert_int_equal(set(f->dev, "fwmark=x\n"), -EINVAL);
	assert_int_equal(set(f->dev, "fwmark=0\n"), 0);
	assert_get(f->dev, "listen_port=51820\n");

	/* The outside refusing the mark (no CAP_NET_ADMIN) is reported as wireguard-go does. */
	f->net.refuse_mark = true;
	assert_int_equal(set(f->dev, "fwmark=7\n"), -EADDRINUSE);
	assert_get(f->dev, "listen_port=51820\n");
}

static void test_bad_lines(void **state)
{
	struct fixture *f = *state;
	char req[UAPI_LINE_MAX + 64];
	static const char nul_line[] = "replace_peers=true\0x\n";

	assert_int_equal(set(f->dev, "garbage\n"), -EPROTO);
	assert_int_equal(set(f->dev, "\x01\x02\n"), -EPROTO);
	assert_int_equal(set(f->dev, "unknown_key=1\n"), -EINVAL);
	assert_int_equal(set(f->dev, "=1\n"), -EINVAL);
	assert_int_equal(set(f->dev, "get=1\n"), -EINVAL);
	assert_int_equal(set(f->dev, "replace_peers=false\n"), -EINVAL);
	assert_int_equal(set(f->dev, "replace_peers=TRUE\n"), -EINVAL);
	assert_int_equal(set(f->dev, "replace_peers=true \n"), -EINVAL);
	/* Peer keys are not device keys. */
	assert_int_equal(set(f->dev, "allowed_ip=10.0.0.0/8\n"), -EINVAL);
	assert_int_equal(set(f->dev, "remove=true\n"), -EINVAL);
	/* A NUL inside a value does not cut it short. */
	assert_int_equal(uapi_exec_set(f->dev, nul_line, sizeof(nul_line) - 1), -EINVAL);
	/* Over-long keys and values. */
	memset(req, 'a', sizeof(req));
	memcpy(req, "listen_port=", 12);
	req[sizeof(req) - 1] = '\n';
	assert_int_equal(uapi_exec_set(f->dev, req, sizeof(req)), -EINVAL);
	memset(req, 'k', sizeof(req));
	req[300] = '=';
	assert_int_equal(uapi_exec_set(f->dev, req, sizeof(req)), -EINVAL);
	/* A last line without its newline still counts. */
	assert_int_equal(set(f->dev, "listen_port=7"), 0);
	assert_get(f->dev, "listen_port=7\n");
}

/* ---- peers ---- */

static void test_peer_keys_and_get_order(void **state)
{
	struct fixture *f = *state;
	char req[1024], want[2048], *got;
	struct wg_peer *peer;

	snprintf(req, sizeof(req),
		 "private_key=%s\n"
		 "listen_port=51820\n"
		 "fwmark=3\n"
		 "public_key=%s\n"
		 "preshared_key=%s\n"
		 "protocol_version=1\n"
		 "endpoint=192.0.2.7:51821\n"
		 "persistent_keepalive_interval=25\n"
		 "replace_allowed_ips=true\n"
		 "allowed_ip=10.1.2.3/16\n",
		 alice_priv, bob_pub, alice_pub);
	assert_int_equal(set(f->dev, req), 0);
	peer = peer_by_hex(f->dev, bob_pub);
	assert_non_null(peer);
	assert_int_equal(wg_peer_get_persistent_keepalive(peer), 25);

	/* wireguard-go's order; host bits of the prefix are masked. */
	{
		uint8_t key[32];
		char hex[65];

		assert_int_equal(enc_key_from_hex(key, alice_priv), 0);
		key_clamp_private(key);
		enc_key_to_hex(hex, key);
		snprintf(want, sizeof(want),
			 "private_key=%s\n"
			 "listen_port=51820\n"
			 "fwmark=3\n"
			 "public_key=%s\n"
			 "preshared_key=%s\n"
			 "protocol_version=1\n"
			 "endpoint=192.0.2.7:51821\n"
			 "last_handshake_time_sec=0\n"
			 "last_handshake_time_nsec=0\n"
			 "tx_bytes=",
			 hex, bob_pub, alice_pub);
	}
	got = get(f->dev);
	assert_memory_equal(got, want, strlen(want));
	/* Turning keepalive on may have sent a first handshake: tx_bytes is whatever it is. */
	{
		struct wg_peer_stats st;
		char tail[256];

		wg_peer_get_stats(peer, &st);
		snprintf(tail, sizeof(tail),
			 "%llu\nrx_bytes=%llu\npersistent_keepalive_interval=25\n"
			 "allowed_ip=10.1.0.0/16\n",
			 (unsigned long long)st.tx_bytes, (unsigned long long)st.rx_bytes);
		assert_string_equal(got + strlen(want), tail);
	}
	free(got);

	/* IPv6 endpoints print bracketed; IPv4-mapped ones become IPv4. */
	snprintf(req, sizeof(req), "public_key=%s\nendpoint=[2001:db8::1]:443\n", bob_pub);
	assert_int_equal(set(f->dev, req), 0);
	assert_true(get_has(f->dev, "\nendpoint=[2001:db8::1]:443\n"));
	snprintf(req, sizeof(req), "public_key=%s\nendpoint=[::ffff:198.51.100.9]:9\n", bob_pub);
	assert_int_equal(set(f->dev, req), 0);
	assert_true(get_has(f->dev, "\nendpoint=198.51.100.9:9\n"));

	/* Bad peer values, each EINVAL, nothing changed. */
	static const char *const bad[] = {
		"endpoint=192.0.2.1\n",
		"endpoint=192.0.2.1:65536\n",
		"endpoint=host.example:53\n",
		"endpoint=2001:db8::1:53\n",
		"endpoint=[2001:db8::1]\n",
		"endpoint=[::ffff:1.2.3.4]:x\n",
		"endpoint=[1.2.3.4]:53\n",
		"endpoint=[fe80::1%eth0]:53\n",
		"endpoint=\n",
		"preshared_key=00\n",
		"preshared_key=\n",
		"persistent_keepalive_interval=65536\n",
		"persistent_keepalive_interval=-5\n",
		"persistent_keepalive_interval=\n",
		"allowed_ip=10.0.0.0/33\n",
		"allowed_ip=10.0.0.0\n",
		"allowed_ip=10.0.0.0/\n",
		"allowed_ip=--10.0.0.0/8\n",
		"allowed_ip=fd00::/129\n",
		"allowed_ip=\n",
		"replace_allowed_ips=yes\n",
		"remove=1\n",
		"update_only=false\n",
		"protocol_version=2\n",
		"protocol_version=\n",
		"private_key=0000000000000000000000000000000000000000000000000000000000000000\n",
		"listen_port=1\n",
		"fwmark=1\n",
		"replace_peers=true\n",
		"nonsense=1\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(req, sizeof(req), "public_key=%s\n%s", bob_pub, bad[i]);
		assert_int_equal(set(f->dev, req), -EINVAL);
	}
	assert_true(get_has(f->dev, "\nendpoint=198.51.100.9:9\n"));
	assert_true(get_has(f->dev, "\nallowed_ip=10.1.0.0/16\n"));
	assert_true(get_has(f->dev, "\npersistent_keepalive_interval=25\n"));
	assert_true(get_has(f->dev, "listen_port=51820\nfwmark=3\n"));
	assert_int_equal(wg_device_peer_count(f->dev), 1);

	snprintf(req, sizeof(req), "public_key=%s\nline without equals\n", bob_pub);
	assert_int_equal(set(f->dev, req), -EPROTO);
	assert_int_equal(set(f->dev, "public_key=xyz\n"), -EINVAL);
	assert_int_equal(set(f->dev, "public_key=\n"), -EINVAL);
}

static void test_abort_keeps_earlier_lines(void **state)
{
	struct fixture *f = *state;
	char req[512];

	/* Earlier lines stay applied, later ones are not (no transaction, as in wireguard-go). */
	snprintf(req, sizeof(req),
		 "listen_port=4000\n"
		 "public_key=%s\n"
		 "allowed_ip=10.0.0.0/8\n"
		 "bogus\n"
		 "allowed_ip=11.0.0.0/8\n",
		 bob_pub);
	assert_int_equal(set(f->dev, req), -EPROTO);
	assert_true(get_has(f->dev, "listen_port=4000\n"));
	assert_true(get_has(f->dev, "allowed_ip=10.0.0.0/8\n"));
	assert_false(get_has(f->dev, "allowed_ip=11.0.0.0/8\n"));

	/* The peer of a public_key line is created even if the next line is bad. */
	snprintf(req, sizeof(req), "public_key=%s\nendpoint=nope\n", alice_pub);
	assert_int_equal(set(f->dev, req), -EINVAL);
	assert_non_null(peer_by_hex(f->dev, alice_pub));

	/* A blank line ends the request: what follows is not executed. */
	assert_int_equal(set(f->dev, "listen_port=4001\n\nlisten_port=4002\n"), 0);
	assert_true(get_has(f->dev, "listen_port=4001\n"));
}

static void test_own_public_key_ignored(void **state)
{
	struct fixture *f = *state;
	char req[512];

	snprintf(req, sizeof(req),
		 "private_key=%s\n"
		 "public_key=%s\n"
		 "preshared_key=%s\n"
		 "endpoint=192.0.2.1:1\n"
		 "allowed_ip=10.0.0.0/8\n"
		 "persistent_keepalive_interval=5\n"
		 "public_key=%s\n"
		 "allowed_ip=10.9.0.0/16\n",
		 alice_priv, alice_pub, bob_pub, bob_pub);
	assert_int_equal(set(f->dev, req), 0);
	assert_null(peer_by_hex(f->dev, alice_pub));
	assert_int_equal(wg_device_peer_count(f->dev), 1);
	assert_false(get_has(f->dev, "allowed_ip=10.0.0.0/8\n"));
	assert_true(get_has(f->dev, "allowed_ip=10.9.0.0/16\n"));

	/* Lines of the ignored peer are still validated. */
	snprintf(req, sizeof(req), "public_key=%s\nallowed_ip=bad\n", alice_pub);
	assert_int_equal(set(f->dev, req), -EINVAL);
}

static void test_remove_update_only_replace(void **state)
{
	struct fixture *f = *state;
	char req[512];

	snprintf(req, sizeof(req),
		 "public_key=%s\nallowed_ip=10.0.0.0/8\npublic_key=%s\nallowed_ip=fd00::/8\n",
		 bob_pub, alice_pub);
	assert_int_equal(set(f->dev, req), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 2);

	/* remove=true, and the rest of that block is ignored. */
	snprintf(req, sizeof(req), "public_key=%s\nremove=true\nallowed_ip=12.0.0.0/8\n",
		 alice_pub);
	assert_int_equal(set(f->dev, req), 0);
	assert_null(peer_by_hex(f->dev, alice_pub));
	assert_false(get_has(f->dev, "12.0.0.0/8"));
	assert_false(get_has(f->dev, "fd00::/8"));

	/* Removing a peer that does not exist leaves nothing behind. */
	assert_int_equal(set(f->dev, req), 0);
	assert_null(peer_by_hex(f->dev, alice_pub));

	/* update_only: an unknown peer is not created, a known one is updated. */
	snprintf(req, sizeof(req),
		 "public_key=%s\nupdate_only=true\nallowed_ip=13.0.0.0/8\n"
		 "public_key=%s\nupdate_only=true\nallowed_ip=14.0.0.0/8\n",
		 alice_pub, bob_pub);
	assert_int_equal(set(f->dev, req), 0);
	assert_null(peer_by_hex(f->dev, alice_pub));
	assert_false(get_has(f->dev, "13.0.0.0/8"));
	assert_true(get_has(f->dev, "allowed_ip=10.0.0.0/8\nallowed_ip=14.0.0.0/8\n") ||
		    get_has(f->dev, "allowed_ip=14.0.0.0/8\nallowed_ip=10.0.0.0/8\n"));

	/* replace_allowed_ips, then the single-prefix removal with '-'. */
	snprintf(req, sizeof(req),
		 "public_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.0.0.0/8\n"
		 "allowed_ip=10.1.0.0/16\nallowed_ip=fd00::/8\nallowed_ip=-10.0.0.0/8\n"
		 "allowed_ip=-172.16.0.0/12\n",
		 bob_pub);
	assert_int_equal(set(f->dev, req), 0);
	assert_false(get_has(f->dev, "10.0.0.0/8"));
	assert_false(get_has(f->dev, "14.0.0.0/8"));
	assert_true(get_has(f->dev, "allowed_ip=10.1.0.0/16\n"));
	assert_true(get_has(f->dev, "allowed_ip=fd00::/8\n"));

	/* A prefix moves to the peer that adds it last; '-' by a non-owner changes nothing. */
	snprintf(req, sizeof(req),
		 "public_key=%s\nallowed_ip=10.1.0.0/16\npublic_key=%s\nallowed_ip=-10.1.0.0/16\n",
		 alice_pub, bob_pub);
	assert_int_equal(set(f->dev, req), 0);
	{
		char *got = get(f->dev);
		char *a = strstr(got, alice_pub), *b = strstr(got, bob_pub);
		char *p = strstr(got, "allowed_ip=10.1.0.0/16");

		assert_non_null(a);
		assert_non_null(b);
		assert_non_null(p);
		assert_null(strstr(p + 1, "allowed_ip=10.1.0.0/16"));
		/* Peers are listed in creation order: bob first, so the prefix follows alice. */
		assert_true(b < a && a < p);
		free(got);
	}

	/* replace_peers removes every peer. */
	assert_int_equal(set(f->dev, "replace_peers=true\n"), 0);
	assert_int_equal(wg_device_peer_count(f->dev), 0);
	assert_get(f->dev, "");
}

static void test_preshared_key_zero(void **state)
{
	struct fixture *f = *state;
	char req[512], line[128];

	snprintf(req, sizeof(req), "public_key=%s\npreshared_key=%s\n", bob_pub, alice_pub);
	assert_int_equal(set(f->dev, req), 0);
	snprintf(line, sizeof(line), "\npreshared_key=%s\n", alice_pub);
	assert_true(get_has(f->dev, line));
	snprintf(req, sizeof(req), "public_key=%s\npreshared_key=%s\n", bob_pub, zero_key);
	assert_int_equal(set(f->dev, req), 0);
	snprintf(line, sizeof(line), "\npreshared_key=%s\n", zero_key);
	assert_true(get_has(f->dev, line));
}

/* ---- random requests against a naive model ---- */

enum {
	M_PEERS = 4,
	M_PREFIXES = 8,
	M_ROUNDS = 400,
};

static const char *const m_prefixes[M_PREFIXES] = {
	"10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32", "192.168.0.0/24",
	"fd00::/8",   "fd00:1::/32", "::/0",	    "0.0.0.0/0",
};
static const char *const m_endpoints[] = {"192.0.2.1:1", "[2001:db8::2]:2", "198.51.100.3:3"};

struct mpeer {
	bool exists;
	unsigned int order;
	char key[65];
	char psk[65];
	unsigned int keepalive;
	const char *endpoint;
};

struct model {
	struct mpeer peers[M_PEERS];
	int owner[M_PREFIXES]; /* peer index or -1 */
	unsigned int next_order;
};

static void model_remove(struct model *m, int i)
{
	m->peers[i].exists = false;
	for (int j = 0; j < M_PREFIXES; j++)
		if (m->owner[j] == i)
			m->owner[j] = -1;
}

static void model_create(struct model *m, int i)
{
	struct mpeer *p = &m->peers[i];

	p->exists = true;
	p->order = m->next_order++;
	memcpy(p->psk, zero_key, sizeof(p->psk));
	p->keepalive = 0;
	p->endpoint = NULL;
}

/* Appends one random request to @req and applies what it does to @m; returns the expected errno. */
static int random_request(struct model *m, char *req, size_t cap)
{
	size_t len = 0;
	int cur = -1, ret = 0;
	bool dummy = false, created = false, applying = true;
	unsigned int lines = 1 + randombytes_uniform(12);

#define EMIT(...) len += (size_t)snprintf(req + len, cap - len, __VA_ARGS__)
	req[0] = '\0';
	if (randombytes_uniform(10) == 0) {
		EMIT("replace_peers=true\n");
		for (int i = 0; i < M_PEERS; i++)
			model_remove(m, i);
	}
	for (unsigned int l = 0; l < lines; l++) {
		unsigned int what = randombytes_uniform(cur < 0 ? 1 : 12);
		int j = (int)randombytes_uniform(M_PREFIXES);

		if (randombytes_uniform(40) == 0) {
			bool no_equals = randombytes_uniform(2);

			EMIT("%s\n", no_equals ? "bad line" : "bad_key=1");
			if (applying)
				ret = no_equals ? -EPROTO : -EINVAL;
			applying = false;
			continue;
		}
		switch (what) {
		case 0:
			cur = (int)randombytes_uniform(M_PEERS);
			EMIT("public_key=%s\n", m->peers[cur].key);
			dummy = false;
			created = false;
			if (applying && !m->peers[cur].exists) {
				model_create(m, cur);
				created = true;
			}
			break;
		case 1:
			EMIT("remove=true\n");
			if (applying && !dummy)
				model_remove(m, cur);
			dummy = true;
			break;
		case 2:
			EMIT("update_only=true\n");
			if (applying && created && !dummy) {
				model_remove(m, cur);
				dummy = true;
			}
			break;
		case 3: {
			char psk[65];

			memcpy(psk, randombytes_uniform(2) ? zero_key : alice_pub, sizeof(psk));
			EMIT("preshared_key=%s\n", psk);
			if (applying && !dummy)
				memcpy(m->peers[cur].psk, psk, sizeof(psk));
			break;
		}
		case 4: {
			/* Without a private key, turning keepalive on cannot start a handshake. */
			unsigned int ka = randombytes_uniform(2) ? 25 : 0;

			EMIT("persistent_keepalive_interval=%u\n", ka);
			if (applying && !dummy)
				m->peers[cur].keepalive = ka;
			break;
		}
		case 5: {
			const char *ep = m_endpoints[randombytes_uniform(ARRAY_SIZE(m_endpoints))];

			EMIT("endpoint=%s\n", ep);
			if (applying && !dummy)
				m->peers[cur].endpoint = ep;
			break;
		}
		case 6:
			EMIT("replace_allowed_ips=true\n");
			if (applying && !dummy)
				for (int k = 0; k < M_PREFIXES; k++)
					if (m->owner[k] == cur)
						m->owner[k] = -1;
			break;
		case 7:
			EMIT("allowed_ip=-%s\n", m_prefixes[j]);
			if (applying && !dummy && m->owner[j] == cur)
				m->owner[j] = -1;
			break;
		case 8:
			EMIT("protocol_version=1\n");
			break;
		default:
			EMIT("allowed_ip=%s\n", m_prefixes[j]);
			if (applying && !dummy)
				m->owner[j] = cur;
			break;
		}
	}
#undef EMIT
	return ret;
}

/* Compares the device's get answer with the model, peer by peer in creation order. */
static void model_check(struct wg_device *dev, const struct model *m)
{
	char *got = get(dev), *p = got;
	int order[M_PEERS], n = 0;

	for (int i = 0; i < M_PEERS; i++)
		if (m->peers[i].exists)
			order[n++] = i;
	/* Sort the model's peers by creation order. */
	for (int a = 0; a < n; a++)
		for (int b = a + 1; b < n; b++)
			if (m->peers[order[b]].order < m->peers[order[a]].order) {
				int t = order[a];

				order[a] = order[b];
				order[b] = t;
			}

	for (int k = 0; k < n; k++) {
		const struct mpeer *mp = &m->peers[order[k]];
		char want[256];
		bool seen[M_PREFIXES] = {false};
		char *end;

		snprintf(want, sizeof(want),
			 "public_key=%s\npreshared_key=%s\nprotocol_version=1\n", mp->key, mp->psk);
		assert_memory_equal(p, want, strlen(want));
		p += strlen(want);
		if (mp->endpoint) {
			snprintf(want, sizeof(want), "endpoint=%s\n", mp->endpoint);
			assert_memory_equal(p, want, strlen(want));
			p += strlen(want);
		}
		assert_memory_equal(p, "last_handshake_time_sec=0\n", 26);
		p = strstr(p, "persistent_keepalive_interval=");
		assert_non_null(p);
		snprintf(want, sizeof(want), "persistent_keepalive_interval=%u\n", mp->keepalive);
		assert_memory_equal(p, want, strlen(want));
		p += strlen(want);
		end = strstr(p, "public_key=");
		if (!end)
			end = p + strlen(p);
		while (p < end) {
			int j;

			assert_memory_equal(p, "allowed_ip=", 11);
			p += 11;
			for (j = 0; j < M_PREFIXES; j++)
				if (!strncmp(p, m_prefixes[j], strlen(m_prefixes[j])) &&
				    p[strlen(m_prefixes[j])] == '\n')
					break;
			/* 10.1.2.3/32 is canonical already: every model prefix prints as written. */
			assert_true(j < M_PREFIXES);
			assert_int_equal(m->owner[j], order[k]);
			assert_false(seen[j]);
			seen[j] = true;
			p = strchr(p, '\n') + 1;
		}
		for (int j = 0; j < M_PREFIXES; j++)
			assert_int_equal(seen[j], m->owner[j] == order[k]);
	}
	assert_string_equal(p, "");
	free(got);
}

static void test_model(void **state)
{
	struct fixture *f = *state;
	struct model m;
	char req[4096];

	memset(&m, 0, sizeof(m));
	for (int j = 0; j < M_PREFIXES; j++)
		m.owner[j] = -1;
	for (int i = 0; i < M_PEERS; i++) {
		uint8_t key[32];

		randombytes_buf(key, sizeof(key));
		enc_key_to_hex(m.peers[i].key, key);
	}
	for (int round = 0; round < M_ROUNDS; round++) {
		int want = random_request(&m, req, sizeof(req));

		assert_int_equal(set(f->dev, req), want);
		model_check(f->dev, &m);
	}
}

/* Random bytes and random mutations of valid requests: any answer, never a crash. */
static void test_garbage(void **state)
{
	struct fixture *f = *state;
	static const char *const seeds[] = {
		"private_key=77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a\n",
		"public_key=de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f\n",
		"endpoint=[2001:db8::1]:51820\n",
		"allowed_ip=10.0.0.0/8\n",
		"allowed_ip=-fd00::/8\n",
		"persistent_keepalive_interval=0\n",
		"update_only=true\n",
		"remove=true\n",
		"listen_port=51820\n",
		"replace_allowed_ips=true\n",
	};
	char buf[512];

	for (int i = 0; i < 20000; i++) {
		size_t len = 0;

		if (i % 2) {
			len = randombytes_uniform(sizeof(buf));
			randombytes_buf(buf, len);
		} else {
			while (len < 300) {
				const char *s = seeds[randombytes_uniform(ARRAY_SIZE(seeds))];

				memcpy(buf + len, s, strlen(s));
				len += strlen(s);
			}
			for (int k = 0; k < 3; k++)
				buf[randombytes_uniform((uint32_t)len)] =
					(char)randombytes_uniform(256);
		}
		(void)uapi_exec_set(f->dev, buf, len);
	}
	free(get(f->dev));
}

/* ---- the socket server ---- */

struct server_fixture {
	uv_loop_t loop;
	struct fake_net net;
	struct wg_device *dev;
	struct uapi_server *srv;
	char dir[64];
	char path[128];
	int gone;
};

static void on_gone(void *ctx)
{
	struct server_fixture *s = ctx;

	s->gone++;
	uapi_server_stop(s->srv);
	s->srv = NULL;
}

static int server_setup(void **state)
{
	struct server_fixture *s = calloc(1, sizeof(*s));
	struct uapi_server_config cfg = {.iface = "wgtest0", .on_gone = on_gone};

	assert_non_null(s);
	assert_int_equal(uv_loop_init(&s->loop), 0);
	assert_int_equal(
		wg_device_create(&s->dev, &s->loop, &fake_net_ops, &s->net, &fake_tun_ops, NULL),
		0);
	snprintf(s->dir, sizeof(s->dir), "/tmp/test_uapi.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	/* A directory that does not exist yet: the server makes it. */
	strcat(s->dir, "/run");
	snprintf(s->path, sizeof(s->path), "%s/wgtest0.sock", s->dir);
	cfg.dir = s->dir;
	cfg.ctx = s;
	assert_int_equal(uapi_server_start(&s->srv, &s->loop, s->dev, &cfg), 0);
	assert_string_equal(uapi_server_path(s->srv), s->path);
	*state = s;
	return 0;
}

static int server_teardown(void **state)
{
	struct server_fixture *s = *state;
	char *slash;

	if (s->srv)
		uapi_server_stop(s->srv);
	wg_device_destroy(s->dev);
	uv_run(&s->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&s->loop), 0);
	/* Stopping removed the socket. */
	assert_int_equal(access(s->path, F_OK), -1);
	rmdir(s->dir);
	slash = strrchr(s->dir, '/');
	*slash = '\0';
	rmdir(s->dir);
	free(s);
	return 0;
}

/* A client on its own thread while the main thread runs the loop. */
struct client {
	const char *path;
	const char *request;
	size_t request_len;
	char reply[8192];
	size_t reply_len;
	bool eof;
	uv_async_t done;
};

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sun.sun_path, c->path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		size_t off = 0;

		while (off < c->request_len) {
			ssize_t w = write(fd, c->request + off, c->request_len - off);

			if (w <= 0)
				break;
			off += (size_t)w;
		}
		/* Read until EOF or a quiet 300 ms (the server keeps connections open). */
		for (;;) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			ssize_t r;

			if (poll(&p, 1, 300) <= 0)
				break;
			r = read(fd, c->reply + c->reply_len, sizeof(c->reply) - 1 - c->reply_len);
			if (r <= 0) {
				c->eof = true;
				break;
			}
			c->reply_len += (size_t)r;
		}
	}
	if (fd >= 0)
		close(fd);
	c->reply[c->reply_len] = '\0';
	uv_async_send(&c->done);
	return NULL;
}

static void client_done(uv_async_t *a)
{
	uv_close((uv_handle_t *)a, NULL);
}

static void talk(struct server_fixture *s, const char *request, size_t len, struct client *c)
{
	pthread_t t;

	memset(c, 0, sizeof(*c));
	c->path = s->path;
	c->request = request;
	c->request_len = len;
	uv_async_init(&s->loop, &c->done, client_done);
	assert_int_equal(pthread_create(&t, NULL, client_main, c), 0);
	/* Runs until the client is done and its async handle closed (the server's timer is unref'd). */
	while (uv_run(&s->loop, UV_RUN_ONCE) && !uv_is_closing((uv_handle_t *)&c->done))
		;
	pthread_join(t, NULL);
	uv_run(&s->loop, UV_RUN_NOWAIT);
}

static void test_server_requests(void **state)
{
	struct server_fixture *s = *state;
	struct client c;
	char req[1024];
	struct stat st;
	int n;

	/* Root-only socket in a 0755 directory. */
	assert_int_equal(stat(s->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 077, 0);
	assert_int_equal(stat(s->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);

	talk(s, "get=1\n\n", 7, &c);
	assert_string_equal(c.reply, "errno=0\n\n");

	/* Several requests on one connection, a failing one in the middle. */
	n = snprintf(req, sizeof(req),
		     "set=1\nlisten_port=51820\npublic_key=%s\nallowed_ip=10.0.0.0/8\n\n"
		     "set=1\nlisten_port=x\nlisten_port=51821\n\n"
		     "get=1\n\n",
		     bob_pub);
	talk(s, req, (size_t)n, &c);
	snprintf(req, sizeof(req),
		 "errno=0\n\n"
		 "errno=-22\n\n"
		 "listen_port=51820\npublic_key=%s\npreshared_key=%s\nprotocol_version=1\n"
		 "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\n"
		 "persistent_keepalive_interval=0\nallowed_ip=10.0.0.0/8\nerrno=0\n\n",
		 bob_pub, zero_key);
	assert_string_equal(c.reply, req);
	assert_false(c.eof);

	/* "get=1\n" must be followed by the blank line at once. */
	talk(s, "get=1\nxget=1\n\n", 14, &c);
	assert_memory_equal(c.reply, "errno=-22\n\n", 11);
	assert_non_null(strstr(c.reply + 11, "listen_port=51820\n"));

	/* An unknown operation closes the connection. */
	talk(s, "bogus=1\n", 8, &c);
	assert_string_equal(c.reply, "");
	assert_true(c.eof);

	/* An over-long line in a set fails that set, not the connection. */
	{
		static char big[UAPI_LINE_MAX * 3];

		memcpy(big, "set=1\n", 6);
		memset(big + 6, 'x', sizeof(big) - 6 - 16);
		memcpy(big + sizeof(big) - 16, "\n\nget=1\n\n", 9);
		talk(s, big, sizeof(big) - 7, &c);
		assert_memory_equal(c.reply, "errno=-22\n\n", 11);
		assert_non_null(strstr(c.reply, "errno=0\n\n"));
	}

	/* A set cut short by EOF keeps the lines that arrived. */
	talk(s, "set=1\nlisten_port=4444\n", 23, &c);
	talk(s, "get=1\n\n", 7, &c);
	assert_non_null(strstr(c.reply, "listen_port=4444\n"));
	assert_int_equal(s->gone, 0);
}

/* A client that pipelines requests without reading the answers, then reads them all. */
struct flood {
	const char *path;
	unsigned int requests;
	bool stalled;	    /* writing stopped making progress while we did not read */
	size_t reply_bytes; /* everything read */
	bool reply_ok;	    /* and it was exactly requests x "errno=0\n\n" */
	uv_async_t done;
};

static void *flood_main(void *arg)
{
	static const char req[] = "get=1\n\n", ans[] = "errno=0\n\n";
	struct flood *fl = arg;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t total = (size_t)fl->requests * (sizeof(req) - 1), sent = 0, pos = 0;
	size_t want = (size_t)fl->requests * (sizeof(ans) - 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), idle = 0;
	char buf[65536];

	fl->reply_ok = true;
	strcpy(sun.sun_path, fl->path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto out;
	/* Phase 1: write only, until the server stops taking requests for a while. */
	while (sent < total && idle < 10) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};

		if (poll(&p, 1, 50) <= 0) {
			idle++;
			continue;
		}
		while (sent < total) {
			char chunk[7 * 512];
			size_t n = total - sent < sizeof(chunk) ? total - sent : sizeof(chunk);
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				chunk[i] = req[(sent + i) % (sizeof(req) - 1)];
			w = write(fd, chunk, n);
			if (w <= 0)
				break;
			sent += (size_t)w;
			idle = 0;
		}
	}
	fl->stalled = sent < total;
	/* Phase 2: read everything, writing the rest as the server resumes. */
	while (fl->reply_bytes < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0)};
		ssize_t r;

		if (poll(&p, 1, 2000) <= 0)
			break;
		if ((p.revents & POLLOUT) && sent < total) {
			char chunk[7 * 512];
			size_t n = total - sent < sizeof(chunk) ? total - sent : sizeof(chunk);
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				chunk[i] = req[(sent + i) % (sizeof(req) - 1)];
			w = write(fd, chunk, n);
			if (w > 0)
				sent += (size_t)w;
		}
		if (!(p.revents & POLLIN))
			continue;
		r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++, pos++)
			if (buf[i] != ans[pos % (sizeof(ans) - 1)])
				fl->reply_ok = false;
		fl->reply_bytes += (size_t)r;
	}
out:
	close(fd);
	uv_async_send(&fl->done);
	return NULL;
}

static void test_server_backpressure(void **state)
{
	struct server_fixture *s = *state;
	struct flood fl = {.path = s->path, .requests = 400000};
	pthread_t t;

	uv_async_init(&s->loop, &fl.done, client_done);
	assert_int_equal(pthread_create(&t, NULL, flood_main, &fl), 0);
	while (uv_run(&s->loop, UV_RUN_ONCE) && !uv_is_closing((uv_handle_t *)&fl.done))
		;
	pthread_join(t, NULL);
	uv_run(&s->loop, UV_RUN_NOWAIT);
	/* The server stopped reading instead of queueing 3.6 MB of answers... */
	assert_true(fl.stalled);
	/* ...and lost nothing once the client read them. */
	assert_int_equal(fl.reply_bytes, (size_t)fl.requests * 9);
	assert_true(fl.reply_ok);
}

static void test_server_busy_and_stale(void **state)
{
	struct server_fixture *s = *state;
	struct uapi_server_config cfg = {.dir = s->dir, .iface = "wgtest0"};
	struct uapi_server *other = NULL;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct client c;
	int fd;

	/* Served by a live server: refuse, and leave its socket alone. */
	assert_int_equal(uapi_server_start(&other, &s->loop, s->dev, &cfg), -EADDRINUSE);
	talk(s, "get=1\n\n", 7, &c);
	assert_string_equal(c.reply, "errno=0\n\n");

	/* Bad names. */
	cfg.iface = "a/b";
	assert_int_equal(uapi_server_start(&other, &s->loop, s->dev, &cfg), -EINVAL);
	cfg.iface = "";
	assert_int_equal(uapi_server_start(&other, &s->loop, s->dev, &cfg), -EINVAL);
	cfg.iface = "sixteen-chars-xx";
	assert_int_equal(uapi_server_start(&other, &s->loop, s->dev, &cfg), -EINVAL);

	/* A stale socket (bound, never listened on: connect is refused) is replaced. */
	cfg.iface = "wgstale";
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/wgstale.sock", s->dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(uapi_server_start(&other, &s->loop, s->dev, &cfg), 0);
	uapi_server_stop(other);
	uv_run(&s->loop, UV_RUN_NOWAIT);
	assert_int_equal(access(sun.sun_path, F_OK), -1);

	/* Read-only mode answers set with EPERM and still serves get. */
	cfg.read_only = true;
	assert_int_equal(uapi_server_start(&other, &s->loop, s->dev, &cfg), 0);
	{
		char saved[128];

		strcpy(saved, s->path);
		strcpy(s->path, sun.sun_path);
		talk(s, "set=1\nlisten_port=9\n\nget=1\n\n", 28, &c);
		strcpy(s->path, saved);
	}
	assert_memory_equal(c.reply, "errno=-1\n\n", 10);
	assert_null(strstr(c.reply, "listen_port=9\n"));
	assert_non_null(strstr(c.reply, "errno=0\n\n"));
	uapi_server_stop(other);
	uv_run(&s->loop, UV_RUN_NOWAIT);
}

static void test_server_socket_removed(void **state)
{
	struct server_fixture *s = *state;
	uv_timer_t guard;

	/* Deleting the socket file tells the owner to go (the callback stops the server). */
	assert_int_equal(unlink(s->path), 0);
	uv_timer_init(&s->loop, &guard);
	uv_timer_start(&guard, (uv_timer_cb)uv_stop, 5000, 0);
	while (!s->gone && uv_run(&s->loop, UV_RUN_ONCE))
		;
	assert_int_equal(s->gone, 1);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&s->loop, UV_RUN_NOWAIT);
}

static void test_server_socket_replaced(void **state)
{
	struct server_fixture *s = *state;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uv_timer_t guard;
	int fd;

	/* Another socket now lives at the path: ours is gone, and theirs is left in place. */
	assert_int_equal(unlink(s->path), 0);
	strcpy(sun.sun_path, s->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	uv_timer_init(&s->loop, &guard);
	uv_timer_start(&guard, (uv_timer_cb)uv_stop, 5000, 0);
	while (!s->gone && uv_run(&s->loop, UV_RUN_ONCE))
		;
	assert_int_equal(s->gone, 1);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&s->loop, UV_RUN_NOWAIT);
	assert_int_equal(access(s->path, F_OK), 0);
	close(fd);
	unlink(s->path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fwmark, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_keys_and_get_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_keeps_earlier_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_own_public_key_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_update_only_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preshared_key_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_model, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_requests, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_backpressure, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_busy_and_stale, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_socket_removed, server_setup,
						server_teardown),
		cmocka_unit_test_setup_teardown(test_server_socket_replaced, server_setup,
						server_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
