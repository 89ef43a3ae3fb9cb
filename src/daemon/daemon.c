// SPDX-License-Identifier: MIT
/*
 * `meshd` itself: flags, the loop, the backend and the local API, signals,
 * and the systemd readiness notification. Everything per instance comes from
 * flags, so several meshd run side by side in separate network namespaces.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "daemon/backend.h"
#include "daemon/localapi.h"
#include "mesh/version.h"
#include "util/log.h"
#include "util/sdnotify.h"

struct daemon_opts {
	const char *state_dir;
	const char *socket_path;
	const char *tun;
	uint16_t port;
	const char *tls_ca;
	const char *operator_user;
	bool cleanup;
};

struct daemon {
	uv_loop_t loop;
	struct backend *backend;
	struct localapi *api;
	uv_signal_t sigint, sigterm;
	bool stopping;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: meshd [--state-dir DIR] [--socket PATH] [--tun NAME] [--port N]\n"
		"             [--tls-ca FILE] [--operator USER] [--verbose]\n"
		"       meshd --cleanup [--state-dir DIR] [--tun NAME]\n"
		"       meshd wireguard [-f] [--verbose] IFACE\n"
		"\n"
		"  --state-dir DIR   keys, prefs and node state (default /var/lib/meshd)\n"
		"  --socket PATH     local API socket for meshctl (default /run/meshd/meshd.sock)\n"
		"  --tun NAME        the mesh interface (default mesh0)\n"
		"  --port N          UDP port for WireGuard, STUN and disco (default 41641, 0 = "
		"any)\n"
		"  --tls-ca FILE     also trust this CA for the control server\n"
		"  --operator USER   a non-root user allowed to change settings via meshctl\n"
		"  --cleanup         remove routes, rules and firewall state left by meshd, then "
		"exit\n"
		"  --verbose         debug logging\n");
}

/* "--name value" or "--name=value"; advances *i past what it consumed. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		fprintf(stderr, "meshd: %s needs a value\n", name);
		exit(2);
	}
	return argv[++*i];
}

static int parse(int argc, char **argv, struct daemon_opts *o)
{
	const char *v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return -1;
		} else if (!strcmp(a, "--version")) {
			printf("meshd %s\n", MESH_VERSION);
			return -1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			log_set_level(LOG_DEBUG);
		} else if (!strcmp(a, "--cleanup")) {
			o->cleanup = true;
		} else if ((v = flag_value(argc, argv, &i, "--state-dir"))) {
			o->state_dir = v;
		} else if ((v = flag_value(argc, argv, &i, "--socket"))) {
			o->socket_path = v;
		} else if ((v = flag_value(argc, argv, &i, "--tun"))) {
			o->tun = v;
		} else if ((v = flag_value(argc, argv, &i, "--tls-ca"))) {
			o->tls_ca = v;
		} else if ((v = flag_value(argc, argv, &i, "--operator"))) {
			o->operator_user = v;
		} else if ((v = flag_value(argc, argv, &i, "--port"))) {
			char *end;
			long p = strtol(v, &end, 10);

			if (!*v || *end || p < 0 || p > 65535) {
				fprintf(stderr, "meshd: --port must be 0-65535, not '%s'\n", v);
				return 2;
			}
			o->port = (uint16_t)p;
		} else {
			fprintf(stderr, "meshd: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (!o->tun[0] || strlen(o->tun) >= 16 || strchr(o->tun, '/')) {
		fprintf(stderr, "meshd: --tun must be 1-15 characters without '/'\n");
		return 2;
	}
	return 0;
}

static void stop(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("meshd", "shutting down reason=%s", why);
	sd_notify_state("STOPPING=1");
	localapi_stop(d->api);
	d->api = NULL;
	backend_shutdown(d->backend);
	d->backend = NULL;
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	stop(h->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static int lookup_operator(const char *user, uid_t *uid)
{
	struct passwd *pw;

	if (!user)
		return 0;
	pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "meshd: --operator: no such user '%s'\n", user);
		return -ENOENT;
	}
	*uid = pw->pw_uid;
	return 0;
}

int daemon_main(int argc, char **argv)
{
	struct daemon_opts o = {
		.state_dir = "/var/lib/meshd",
		.socket_path = "/run/meshd/meshd.sock",
		.tun = "mesh0",
		.port = 41641,
	};
	struct backend_config bc;
	struct daemon d = {0};
	uid_t operator_uid = (uid_t)-1;
	char err[512];
	int ret;

	ret = parse(argc, argv, &o);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (sodium_init() < 0) {
		fprintf(stderr, "meshd: libsodium failed to initialise\n");
		return 1;
	}
	bc = (struct backend_config){.state_dir = o.state_dir,
				     .tun_name = o.tun,
				     .port = o.port,
				     .tls_ca_file = o.tls_ca};
	if (o.cleanup) {
		ret = backend_cleanup_os(&bc, err, sizeof(err));
		if (ret)
			fprintf(stderr, "meshd: %s\n", err);
		return ret ? 1 : 0;
	}
	if (lookup_operator(o.operator_user, &operator_uid))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&d.loop);

	ret = backend_start(&d.backend, &d.loop, &bc, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "meshd: %s\n", err);
		goto out;
	}
	ret = localapi_start(&d.api, &d.loop, d.backend, o.socket_path, operator_uid, err,
			     sizeof(err));
	if (ret) {
		fprintf(stderr, "meshd: %s\n", err);
		backend_shutdown(d.backend);
		goto out;
	}
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sigterm);
	d.sigint.data = d.sigterm.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	log_info("meshd", "version=%s socket=%s tun=%s state_dir=%s", MESH_VERSION, o.socket_path,
		 o.tun, o.state_dir);
	sd_notify_state("READY=1");
	uv_run(&d.loop, UV_RUN_DEFAULT);
out:
	uv_run(&d.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&d.loop))
		log_warn("meshd", "event loop closed with handles still open");
	return ret ? 1 : 0;
}
