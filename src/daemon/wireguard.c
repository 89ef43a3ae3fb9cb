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
#include "daemon/engine.h"
#include "tun/tun.h"
#include "util/log.h"

static const char socket_dir[] = "/var/run/wireguard";

struct wireguard {
	uv_loop_t loop;
	struct engine *engine;
	uv_signal_t sigint, sigterm;
	bool signals;
	bool stopping;
};

static void stop(struct wireguard *w, const char *why)
{
	if (w->stopping)
		return;
	w->stopping = true;
	if (w->engine) {
		log_info("wireguard", "shutting down iface=%s reason=%s", engine_ifname(w->engine),
			 why);
		engine_log_stats(w->engine);
		engine_stop(w->engine);
		w->engine = NULL;
	}
	if (w->signals) {
		uv_close((uv_handle_t *)&w->sigint, NULL);
		uv_close((uv_handle_t *)&w->sigterm, NULL);
	}
	w->signals = false;
}

static void on_signal(uv_signal_t *h, int signum)
{
	stop(h->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_engine_dead(void *ctx, const char *why)
{
	stop(ctx, why);
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

static int start(struct wireguard *w, const char *iface)
{
	struct engine_config cfg = {
		.ifname = iface,
		.port = 0, /* like wireguard-go: random until `wg set ... listen-port` */
		.uapi = true,
		.on_dead = on_engine_dead,
		.ctx = w,
	};
	char err[512];
	int ret;

	ret = engine_start(&w->engine, &w->loop, &cfg, err, sizeof(err));
	if (ret) {
		w->engine = NULL;
		log_error("wireguard", "%s", err);
		return ret;
	}
	uv_signal_init(&w->loop, &w->sigint);
	uv_signal_init(&w->loop, &w->sigterm);
	w->sigint.data = w->sigterm.data = w;
	w->signals = true;
	uv_signal_start(&w->sigint, on_signal, SIGINT);
	uv_signal_start(&w->sigterm, on_signal, SIGTERM);
	log_info("wireguard", "started iface=%s port=%u version=%s", engine_ifname(w->engine),
		 engine_port(w->engine), MESH_VERSION);
	return 0;
}

int wireguard_main(int argc, char **argv)
{
	struct wireguard w = {0};
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
	uv_loop_init(&w.loop);
	ret = start(&w, iface);
	if (ret)
		stop(&w, "start failed");
	/* Until stop(): then again until every handle (and the interface) is gone. */
	uv_run(&w.loop, UV_RUN_DEFAULT);
	uv_run(&w.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&w.loop))
		log_warn("wireguard", "event loop closed with handles still open");
	return ret ? 1 : 0;
}
