// SPDX-License-Identifier: MIT
/*
 * mesh_relay_tool: a small relay client for tests/integration/relay.sh.
 * It connects to a relay with a node key, sends a message to another key,
 * or prints what arrives, so a script can prove forwarding through the real
 * meshrelay binary over TLS. It never reconnects: the first failure is
 * printed as "error: WHY" on stderr and ends it with status 1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "net/tls.h"
#include "relay/relay_client.h"
#include "util/encoding.h"

enum tool_limits {
	ERRLEN = 512,
	DEFAULT_TIMEOUT_S = 10,
};

enum tool_mode {
	MODE_LISTEN,
	MODE_SEND,
};

struct tool {
	uv_loop_t *loop;
	uv_timer_t deadline;
	struct relay_client *rc;
	enum tool_mode mode;
	const char *message;
	uint8_t to[RELAY_KEY_LEN];
	bool expect_gone;
	long count, received;
	int status; /* exit status once done */
	bool done;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mesh_relay_tool genkey\n"
		"       mesh_relay_tool pubkey PRIVATE-HEX\n"
		"       mesh_relay_tool listen --url URL --key PRIVATE-HEX [--count N] [OPTIONS]\n"
		"       mesh_relay_tool send --url URL --key PRIVATE-HEX --to PUBLIC-HEX"
		" --message TEXT [--expect-gone] [OPTIONS]\n"
		"options: --ca FILE (trust only these CAs) --server-name NAME --timeout SECONDS\n");
}

static void finish(struct tool *t, int status)
{
	if (t->done)
		return;
	t->done = true;
	t->status = status;
	uv_timer_stop(&t->deadline);
	uv_close((uv_handle_t *)&t->deadline, NULL);
	relay_client_free(t->rc);
	t->rc = NULL;
}

static void on_deadline(uv_timer_t *timer)
{
	struct tool *t = timer->data;

	fprintf(stderr, "error: timed out\n");
	finish(t, 1);
}

static void print_key(const char *prefix, const uint8_t key[RELAY_KEY_LEN], const char *suffix)
{
	char hex[ENC_KEY_HEX_LEN + 1];

	enc_key_to_hex(hex, key);
	printf("%s%s%s", prefix, hex, suffix);
}

static void on_state(struct relay_client *rc, bool connected, const char *why, void *arg)
{
	struct tool *t = arg;
	int ret;

	if (!connected) {
		fprintf(stderr, "error: %s\n", why);
		finish(t, 1);
		return;
	}
	printf("connected\n");
	fflush(stdout);
	if (t->mode != MODE_SEND)
		return;
	ret = relay_client_send(rc, t->to, t->message, strlen(t->message));
	if (ret < 0) {
		fprintf(stderr, "error: cannot send: %s\n", strerror(-ret));
		finish(t, 1);
		return;
	}
	printf("sent\n");
	fflush(stdout);
	if (!t->expect_gone)
		finish(t, 0); /* closing lets the frame drain first */
}

static void on_recv(struct relay_client *rc, const uint8_t src[RELAY_KEY_LEN], const uint8_t *data,
		    size_t len, void *arg)
{
	struct tool *t = arg;

	(void)rc;
	print_key("from ", src, ": ");
	for (size_t i = 0; i < len; i++)
		putchar(data[i] >= 0x20 && data[i] < 0x7f ? data[i] : '?');
	putchar('\n');
	fflush(stdout);
	if (t->mode == MODE_LISTEN && t->count && ++t->received >= t->count)
		finish(t, 0);
}

static void on_peer_gone(struct relay_client *rc, const uint8_t key[RELAY_KEY_LEN], uint8_t reason,
			 void *arg)
{
	struct tool *t = arg;

	(void)rc;
	print_key("peer gone: ", key,
		  reason == RELAY_PEER_GONE_NOT_HERE ? " not here\n" : " disconnected\n");
	fflush(stdout);
	if (t->mode == MODE_SEND && t->expect_gone && !memcmp(key, t->to, RELAY_KEY_LEN))
		finish(t, 0);
}

static int parse_key(uint8_t key[RELAY_KEY_LEN], const char *hex, const char *what)
{
	if (!hex || enc_key_from_hex(key, hex) < 0) {
		fprintf(stderr, "mesh_relay_tool: %s must be 64 hex digits\n", what);
		return -EINVAL;
	}
	return 0;
}

static int run(struct tool *t, int argc, char **argv)
{
	enum {
		OPT_URL = 256,
		OPT_KEY,
		OPT_TO,
		OPT_MSG,
		OPT_CA,
		OPT_NAME,
		OPT_TIMEOUT,
		OPT_COUNT,
		OPT_GONE
	};
	static const struct option longopts[] = {
		{"url", required_argument, NULL, OPT_URL},
		{"key", required_argument, NULL, OPT_KEY},
		{"to", required_argument, NULL, OPT_TO},
		{"message", required_argument, NULL, OPT_MSG},
		{"ca", required_argument, NULL, OPT_CA},
		{"server-name", required_argument, NULL, OPT_NAME},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"count", required_argument, NULL, OPT_COUNT},
		{"expect-gone", no_argument, NULL, OPT_GONE},
		{NULL, 0, NULL, 0},
	};
	const char *url = NULL, *key = NULL, *to = NULL, *ca = NULL, *name = NULL;
	struct relay_client_config cfg = {.no_reconnect = true};
	struct tls_config *tls = NULL;
	uint8_t priv[RELAY_KEY_LEN];
	long timeout = DEFAULT_TIMEOUT_S;
	char err[ERRLEN];
	int c, ret;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_URL:
			url = optarg;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_TO:
			to = optarg;
			break;
		case OPT_MSG:
			t->message = optarg;
			break;
		case OPT_CA:
			ca = optarg;
			break;
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_TIMEOUT:
			timeout = strtol(optarg, NULL, 10);
			break;
		case OPT_COUNT:
			t->count = strtol(optarg, NULL, 10);
			break;
		case OPT_GONE:
			t->expect_gone = true;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!url || parse_key(priv, key, "--key") < 0 || timeout <= 0 ||
	    (t->mode == MODE_SEND && (!t->message || parse_key(t->to, to, "--to") < 0))) {
		usage(stderr);
		return 2;
	}
	if (!strncmp(url, "https://", 8)) {
		/* With --ca only those CAs are trusted, so a wrong one fails for sure. */
		if (tls_config_new_client(&tls, ca == NULL, ca, err, sizeof(err)) < 0) {
			fprintf(stderr, "error: %s\n", err);
			return 1;
		}
	}
	t->loop = uv_default_loop();
	uv_timer_init(t->loop, &t->deadline);
	t->deadline.data = t;
	uv_timer_start(&t->deadline, on_deadline, (uint64_t)timeout * 1000, 0);
	cfg.url = url;
	cfg.private_key = priv;
	cfg.tls = tls;
	cfg.tls_server_name = name;
	cfg.on_state = on_state;
	cfg.on_recv = on_recv;
	cfg.on_peer_gone = on_peer_gone;
	cfg.arg = t;
	ret = relay_client_new(&t->rc, t->loop, &cfg);
	sodium_memzero(priv, sizeof(priv));
	if (ret < 0) {
		fprintf(stderr, "error: %s\n", strerror(-ret));
		finish(t, 1);
	}
	uv_run(t->loop, UV_RUN_DEFAULT);
	uv_loop_close(t->loop);
	tls_config_free(tls);
	return t->status;
}

int main(int argc, char **argv)
{
	uint8_t priv[RELAY_KEY_LEN], pub[RELAY_KEY_LEN];
	struct tool t = {0};
	char hex[ENC_KEY_HEX_LEN + 1];

	if (sodium_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	if (argc == 2 && !strcmp(argv[1], "genkey")) {
		crypto_box_keypair(pub, priv);
		enc_key_to_hex(hex, priv);
		printf("%s\n", hex);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "pubkey")) {
		if (parse_key(priv, argv[2], "the private key") < 0 ||
		    crypto_scalarmult_base(pub, priv))
			return 2;
		enc_key_to_hex(hex, pub);
		printf("%s\n", hex);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "listen")) {
		t.mode = MODE_LISTEN;
		return run(&t, argc - 1, argv + 1);
	}
	if (argc >= 2 && !strcmp(argv[1], "send")) {
		t.mode = MODE_SEND;
		return run(&t, argc - 1, argv + 1);
	}
	usage(stderr);
	return 2;
}
