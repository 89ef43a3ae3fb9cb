// SPDX-License-Identifier: MIT
/*
 * The bare WireGuard engine: one loop hosting a TUN interface, the UDP
 * outside (wg/bind_udp.h), the device and its UAPI socket. It lives until
 * SIGINT/SIGTERM, until its interface or its socket file is deleted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "daemon/wireguard.h"
#include "mesh/version.h"
#include "tun/tun.h"
#include "util/compiler.h"
#include "util/log.h"
#include "wg/bind_udp.h"
#include "wg/device.h"
#include "wg/uapi_server.h"

enum {
	TUN_BATCHES_PER_WAKEUP = 8, /* then let the socket and timers run */
};

static const char socket_dir[] = "/var/run/wireguard";

struct engine {
	uv_loop_t loop;
	struct tun_device tun;
	uv_poll_t tun_poll;
	bool tun_polling;
	struct wg_bind_udp bind;
	struct wg_device *dev;
	struct uapi_server *uapi;
	uv_signal_t sigint, sigterm;
	bool signals;
	bool running; /* started completely */
	bool stopping;
	struct pktbuf *bufs[WG_DEVICE_BATCH];
};

/* One summary at exit: where packets went and where they were dropped. */
static void log_stats(struct engine *e)
{
	const struct wg_bind_udp_stats *u = &e->bind.stats;
	const struct tun_stats *t = &e->tun.stats;
	struct wg_device_stats d;

	wg_device_get_stats(e->dev, &d);
	log_info("wireguard",
		 "tun rx=%llu tx=%llu tx_errors=%llu rx_truncated=%llu; udp rx=%llu tx=%llu "
		 "tx_dropped_full=%llu tx_errors=%llu rx_nobuf=%llu rx_truncated=%llu",
		 (unsigned long long)t->rx_packets, (unsigned long long)t->tx_packets,
		 (unsigned long long)t->tx_errors, (unsigned long long)t->rx_truncated,
		 (unsigned long long)u->rx_packets, (unsigned long long)u->tx_packets,
		 (unsigned long long)u->tx_dropped_full, (unsigned long long)u->tx_errors,
		 (unsigned long long)u->rx_nobuf, (unsigned long long)u->rx_truncated);
	log_info("wireguard",
		 "drops malformed=%llu mac=%llu handshake=%llu ratelimited=%llu no_keypair=%llu "
		 "decrypt=%llu replay=%llu allowed_ips=%llu no_peer=%llu no_endpoint=%llu "
		 "staged=%llu nobuf=%llu cookie_replies=%llu",
		 (unsigned long long)d.drop_malformed, (unsigned long long)d.drop_mac,
		 (unsigned long long)d.drop_handshake, (unsigned long long)d.drop_ratelimited,
		 (unsigned long long)d.drop_no_keypair, (unsigned long long)d.drop_decrypt,
		 (unsigned long long)d.drop_replay, (unsigned long long)d.drop_allowed_ips,
		 (unsigned long long)d.drop_no_peer, (unsigned long long)d.drop_no_endpoint,
		 (unsigned long long)d.drop_staged, (unsigned long long)d.drop_nobuf,
		 (unsigned long long)d.cookie_replies_sent);
}

static void stop(struct engine *e, const char *why)
{
	if (e->stopping)
		return;
	e->stopping = true;
	if (e->running)
		log_info("wireguard", "shutting down iface=%s reason=%s", e->tun.name, why);
	if (e->tun_polling)
		uv_close((uv_handle_t *)&e->tun_poll, NULL);
	e->tun_polling = false;
	if (e->uapi)
		uapi_server_stop(e->uapi);
	e->uapi = NULL;
	if (e->signals) {
		uv_close((uv_handle_t *)&e->sigint, NULL);
		uv_close((uv_handle_t *)&e->sigterm, NULL);
	}
	e->signals = false;
	if (e->running)
		log_stats(e);
	/* The socket first: nothing may reach the device once it is being destroyed. */
	wg_bind_udp_close(&e->bind);
	if (e->dev)
		wg_device_destroy(e->dev);
	e->dev = NULL;
}

static void tun_write(void *ctx, struct pktbuf *const *bufs, unsigned int n)
{
	struct engine *e = ctx;

	tun_write_batch(&e->tun, bufs, n);
}

static const struct wg_tun_ops tun_ops = {
	.write = tun_write,
};

static void net_input(void *ctx, struct pktbuf **bufs, unsigned int n)
{
	struct engine *e = ctx;

	wg_device_net_input(e->dev, bufs, n);
}

static void on_tun_readable(uv_poll_t *h, int status, int events)
{
	struct engine *e = container_of(h, struct engine, tun_poll);

	(void)events;
	if (status < 0) {
		/* POLLERR on a TUN fd: the interface was deleted under us. */
		stop(e, "interface removed");
		return;
	}
	for (unsigned int round = 0; round < TUN_BATCHES_PER_WAKEUP && !e->stopping; round++) {
		int n = tun_read_batch(&e->tun, wg_device_pool(e->dev), e->bufs, WG_DEVICE_BATCH);

		if (n < 0) {
			if (n == -EBADFD || !tun_is_alive(&e->tun))
				stop(e, "interface removed");
			else
				log_warn("wireguard", "tun read failed err=%s", strerror(-n));
			return;
		}
		if (n == 0)
			return;
		wg_device_tun_input(e->dev, e->bufs, (unsigned int)n);
		if (n < WG_DEVICE_BATCH)
			return;
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	stop(h->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_socket_gone(void *ctx)
{
	stop(ctx, "socket removed");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: meshd wireguard [-f|--foreground] [--verbose] IFACE\n"
		"Run the WireGuard engine alone on TUN interface IFACE; configure it with wg(8)\n"
		"through %s/IFACE.sock. Stays in the foreground and logs to stderr.\n",
		socket_dir);
}

/* Returns 0 with *iface set, -1 after --help or --version (exit 0), or 2 (usage error). */
static int parse_args(int argc, char **argv, const char **iface)
{
	*iface = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-f") || !strcmp(a, "--foreground")) {
			continue; /* always: a service manager or the shell keeps us */
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			log_set_level(LOG_DEBUG);
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return -1;
		} else if (!strcmp(a, "--version")) {
			printf("meshd %s\n", MESH_VERSION);
			return -1;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "meshd wireguard: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		} else if (*iface) {
			fprintf(stderr, "meshd wireguard: one interface name only\n");
			usage(stderr);
			return 2;
		} else {
			*iface = a;
		}
	}
	if (!*iface) {
		usage(stderr);
		return 2;
	}
	if (strlen(*iface) > TUN_NAME_MAX || strchr(*iface, '/')) {
		fprintf(stderr, "meshd wireguard: interface name must be 1-%d characters, no '/'\n",
			TUN_NAME_MAX);
		return 2;
	}
	return 0;
}

static int engine_start(struct engine *e, const char *iface)
{
	struct uapi_server_config cfg = {
		.dir = socket_dir,
		.iface = iface,
		.on_gone = on_socket_gone,
		.ctx = e,
	};
	struct wg_bind_udp_sink sink;
	int ret;

	ret = tun_open(&e->tun, iface, TUN_DEFAULT_MTU);
	if (ret) {
		log_error("wireguard", "cannot create TUN interface iface=%s err=%s", iface,
			  ret == -EEXIST  ? "exists and is not a TUN device"
			  : ret == -EBUSY ? "in use by another process"
					  : strerror(-ret));
		return ret;
	}
	wg_bind_udp_init(&e->bind, &e->loop);
	ret = wg_device_create(&e->dev, &e->loop, &wg_bind_udp_ops, &e->bind, &tun_ops, e);
	if (ret) {
		log_error("wireguard", "cannot create device err=%s", strerror(-ret));
		return ret;
	}
	wg_device_set_mtu(e->dev, e->tun.mtu);
	sink = (struct wg_bind_udp_sink){
		.input = net_input, .ctx = e, .pool = wg_device_pool(e->dev)};
	wg_bind_udp_set_sink(&e->bind, &sink);
	/* Like wireguard-go: a random port until `wg set ... listen-port` picks one. */
	ret = wg_device_set_listen_port(e->dev, 0);
	if (ret) {
		log_error("wireguard", "cannot open UDP socket err=%s", strerror(-ret));
		return ret;
	}
	wg_device_set_up(e->dev, true);

	ret = uapi_server_start(&e->uapi, &e->loop, e->dev, &cfg);
	if (ret) {
		log_error("wireguard", "cannot serve UAPI path=%s/%s.sock err=%s", socket_dir,
			  iface, ret == -EADDRINUSE ? "in use by another process" : strerror(-ret));
		return ret;
	}

	ret = uv_poll_init(&e->loop, &e->tun_poll, e->tun.fd);
	if (ret)
		return ret;
	e->tun_polling = true;
	ret = uv_poll_start(&e->tun_poll, UV_READABLE, on_tun_readable);
	if (ret)
		return ret;

	uv_signal_init(&e->loop, &e->sigint);
	uv_signal_init(&e->loop, &e->sigterm);
	e->sigint.data = e->sigterm.data = e;
	e->signals = true;
	uv_signal_start(&e->sigint, on_signal, SIGINT);
	uv_signal_start(&e->sigterm, on_signal, SIGTERM);

	e->running = true;
	log_info("wireguard", "started iface=%s mtu=%u port=%u version=%s", e->tun.name, e->tun.mtu,
		 wg_device_get_listen_port(e->dev), MESH_VERSION);
	return 0;
}

int wireguard_main(int argc, char **argv)
{
	struct engine *e;
	const char *iface;
	int ret;

	ret = parse_args(argc, argv, &iface);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (sodium_init() < 0) {
		log_error("wireguard", "libsodium failed to initialise");
		return 1;
	}
	/* A `wg` that hangs up early must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);

	e = calloc(1, sizeof(*e));
	if (!e)
		return 1;
	e->tun.fd = -1;
	uv_loop_init(&e->loop);

	ret = engine_start(e, iface);
	if (ret)
		stop(e, NULL);
	else
		uv_run(&e->loop, UV_RUN_DEFAULT);

	/* stop() closed every handle; let libuv finish closing them, then drop the interface. */
	uv_run(&e->loop, UV_RUN_DEFAULT);
	tun_close(&e->tun);
	if (uv_loop_close(&e->loop))
		log_warn("wireguard", "event loop closed with handles still open");
	free(e);
	return ret ? 1 : 0;
}
