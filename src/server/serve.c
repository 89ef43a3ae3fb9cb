// SPDX-License-Identifier: MIT
/*
 * The server's lifetime. Start-up problems a person must fix (bad policy file,
 * unusable paths) exit with a clear message; once running, only a signal ends
 * it, and shutdown closes the socket, the registry and the database in order.
 */
#include "server/serve.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>
#include <uv.h>

#include "control/proto.h"
#include "net/http_server.h"
#include "net/tls.h"
#include "relay/relay_server.h"
#include "relay/stun_server.h"
#include "server/admin.h"
#include "server/controlapi.h"
#include "server/mapconfig.h"
#include "server/netmap.h"
#include "server/registry.h"
#include "server/sessions.h"
#include "server/store_sqlite.h"
#include "util/encoding.h"
#include "util/hujson.h"
#include "util/log.h"
#include "util/sdnotify.h"

enum serve_limits {
	/* A sealed request: the largest JSON a request may carry, plus the envelope. */
	MAX_BODY = CTL_REQUEST_OVERHEAD + CTL_MAX_REQUEST_JSON,
	/* Above what sessions.c lets a stream fall behind (twice the largest full map). */
	MAX_WRITE_QUEUE = 2 * (CTL_FRAME_HEADER_LEN + CTL_MAX_FRAME) + 1024 * 1024,
	RELAY_RESTART_IN_MS = 2000,
	RELAY_RESTART_TRY_FOR_MS = 60 * 1000,
	ERR_LEN = 256,
};

struct server {
	uv_loop_t loop;
	const struct config *cfg;
	struct store *st;
	struct registry *reg;
	struct admin *admin;
	struct netmap *nm;
	struct sessions *sessions;
	struct controlapi *api;
	struct http_server *http;
	struct tls_config *tls;
	struct relay_server *relay;
	struct stun_server *stun;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_timer_t tick;
	bool handles_open;
	uint8_t pub[STORE_KEY_LEN];
	uint8_t priv[STORE_KEY_LEN];
};

/* Create the directories above @path (not @path itself) with @mode. */
static int mkdir_parents(const char *path, mode_t mode)
{
	char *dir = strdup(path);
	int ret = 0;

	if (!dir)
		return -ENOMEM;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, mode) && errno != EEXIST) {
			ret = -errno;
			log_error("server", "cannot create directory %s: %s", dir, strerror(errno));
			break;
		}
		*p = '/';
	}
	free(dir);
	return ret;
}

/* Close what is running, in the order that lets streams end cleanly. Idempotent. */
static void close_services(struct server *s)
{
	controlapi_close(s->api);
	s->api = NULL;
	sessions_close(s->sessions);
	s->sessions = NULL;
	if (s->relay)
		relay_server_close(s->relay, RELAY_RESTART_IN_MS, RELAY_RESTART_TRY_FOR_MS, NULL,
				   NULL);
	s->relay = NULL;
	if (s->http)
		http_server_close(s->http, NULL, NULL);
	s->http = NULL;
	if (s->stun)
		stun_server_close(s->stun, NULL, NULL);
	s->stun = NULL;
	if (s->admin)
		admin_stop(s->admin, NULL, NULL);
	s->admin = NULL;
}

static void stop(struct server *s, const char *why)
{
	if (!s->handles_open)
		return;
	s->handles_open = false;
	log_info("server", "shutting down reason=%s", why);
	sd_notify_state("STOPPING=1");
	close_services(s);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->tick, NULL);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct server *s = sig->data;

	stop(s, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void on_tick(uv_timer_t *t)
{
	struct server *s = t->data;

	registry_tick(s->reg);
}

static int64_t clock_now(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

/* The policy file must be valid HuJSON at start, or the server does not start. */
static int check_policy_file(const char *path)
{
	struct hujson_error err;
	struct hujson_doc *doc;
	int ret = hujson_parse_file(&doc, path, 0, &err);

	hujson_free(doc);
	if (!ret)
		return 0;
	if (err.line)
		fprintf(stderr, "%s:%u:%u: %s\n", path, err.line, err.col, err.msg);
	else
		fprintf(stderr, "%s: %s\n", path, err.msg);
	return ret;
}

static enum log_level level_of(const char *name)
{
	if (!strcmp(name, "debug"))
		return LOG_DEBUG;
	if (!strcmp(name, "warn"))
		return LOG_WARN;
	if (!strcmp(name, "error"))
		return LOG_ERROR;
	return LOG_INFO;
}

static int open_state(struct server *s)
{
	const struct config *cfg = s->cfg;
	struct registry_options opt = {
		.prefix_v4 = cfg->prefix_v4,
		.prefix_v6 = cfg->prefix_v6,
		.base_domain = cfg->base_domain,
		.node_key_expiry = cfg->node_key_expiry,
		.ephemeral_timeout = cfg->ephemeral_inactivity_timeout,
		.policy_file = cfg->policy_file,
		.now = clock_now,
	};
	char hex[ENC_KEY_HEX_LEN + 1];
	bool created;
	int ret;

	ret = mkdir_parents(cfg->db_path, 0700);
	if (!ret)
		ret = mkdir_parents(cfg->admin_socket, 0755);
	if (!ret)
		ret = store_sqlite_open(&s->st, cfg->db_path, NULL);
	if (ret)
		return ret;
	ret = store_server_key_ensure(s->st, "control", clock_now(NULL), s->pub, s->priv, &created);
	if (ret) {
		log_error("server", "cannot load or create the server key: %s", strerror(-ret));
		return ret;
	}
	enc_key_to_hex(hex, s->pub);
	log_info("server", "server key %s public=[%.5s]", created ? "created" : "loaded", hex);
	opt.store = s->st;
	ret = registry_create(&s->reg, &opt);
	if (ret)
		log_error("server", "cannot load the nodes: %s", strerror(-ret));
	return ret;
}

/* Only nodes registered here (and not expired) may use the embedded relay. */
static void verify_relay_client(struct relay_verify *v, const uint8_t key[RELAY_KEY_LEN],
				const char *peer, void *arg)
{
	struct server *s = arg;
	bool ok = s->nm && netmap_node_key_valid(s->nm, key);

	if (!ok)
		log_info("server", "relay client refused: not a registered node peer=%s", peer);
	relay_verify_done(v, ok);
}

/* @endpoint with the port actually bound, for the log. */
static const char *bound(const char *endpoint, uint16_t port, char *buf, size_t len)
{
	struct ip_endpoint ep;

	if (ip_endpoint_parse(&ep, endpoint, NULL))
		return endpoint;
	ep.port = port;
	return ip_endpoint_format(&ep, buf, len);
}

static int start_relay(struct server *s, uint16_t *stun_port)
{
	const struct config *cfg = s->cfg;
	struct relay_server_config rcfg = {.verify = verify_relay_client, .verify_arg = s};
	uint8_t pub[STORE_KEY_LEN], priv[STORE_KEY_LEN];
	char where[IP_ENDPOINT_STRLEN];
	bool created;
	int ret;

	/* The relay's own key stays the same across restarts, like the server's. */
	ret = store_server_key_ensure(s->st, "relay", clock_now(NULL), pub, priv, &created);
	if (ret) {
		log_error("server", "cannot load or create the relay key: %s", strerror(-ret));
		return ret;
	}
	rcfg.private_key = priv;
	ret = relay_server_new(&s->relay, &s->loop, &rcfg);
	sodium_memzero(priv, sizeof(priv));
	if (ret) {
		log_error("server", "cannot start the relay: %s", strerror(-ret));
		return ret;
	}
	ret = stun_server_new(&s->stun, &s->loop, cfg->relay.stun_listen, stun_port);
	if (ret) {
		log_error("server", "cannot serve STUN on %s: %s", cfg->relay.stun_listen,
			  uv_strerror(ret));
		return ret;
	}
	log_info("server", "STUN listening on %s",
		 bound(cfg->relay.stun_listen, *stun_port, where, sizeof(where)));
	return 0;
}

/* The netmap builder, streams and the API over it. */
static int start_maps(struct server *s, uint16_t stun_port)
{
	const struct config *cfg = s->cfg;
	struct ctl_relay_map relay_map;
	struct ctl_dns_config dns;
	struct netmap_options nopt = {
		.base_domain = cfg->base_domain,
		.relay_map = &relay_map,
		.dns = &dns,
		.now = clock_now,
	};
	struct sessions_options sopt = {.loop = &s->loop, .reg = s->reg};
	struct controlapi_options aopt = {
		.loop = &s->loop,
		.reg = s->reg,
		.server_public = s->pub,
		.server_private = s->priv,
	};
	int ret;

	ret = mapconfig_relay_map(cfg, stun_port, &relay_map);
	if (ret)
		return ret;
	ret = mapconfig_dns(cfg, &dns);
	if (ret) {
		ctl_relay_map_free(&relay_map);
		return ret;
	}
	nopt.home_relay = mapconfig_home_relay(cfg, &relay_map);
	ret = netmap_create(&s->nm, &nopt);
	ctl_relay_map_free(&relay_map);
	ctl_dns_config_free(&dns);
	if (ret) {
		log_error("server", "the relay map or DNS settings cannot be sent to nodes: %s",
			  strerror(-ret));
		return ret;
	}
	sopt.nm = s->nm;
	ret = sessions_create(&s->sessions, &sopt);
	if (ret) {
		log_error("server", "cannot load the nodes into the map cache: %s", strerror(-ret));
		return ret;
	}
	aopt.nm = s->nm;
	aopt.sessions = s->sessions;
	return controlapi_create(&s->api, &aopt);
}

/* The HTTP(S) listener. Returns an exit code: 0, 1, or 78 for a TLS file problem. */
static int start_http(struct server *s)
{
	const struct config *cfg = s->cfg;
	struct http_server_config hcfg = {
		.max_body_size = MAX_BODY,
		.max_write_queue = MAX_WRITE_QUEUE,
	};
	char err[ERR_LEN], where[IP_ENDPOINT_STRLEN];
	uint16_t port = 0;
	int ret;

	if (cfg->tls_cert) {
		ret = tls_config_new_server(&s->tls, cfg->tls_cert, cfg->tls_key, err, sizeof(err));
		if (ret) {
			log_error("server", "TLS: %s", err);
			return CONFIG_EXIT_CODE;
		}
	}
	ret = http_server_new(&s->http, &s->loop, &hcfg);
	if (!ret)
		ret = controlapi_route(s->api, s->http);
	if (!ret && s->relay)
		ret = http_server_route(s->http, "GET", RELAY_HTTP_PATH, HTTP_MATCH_EXACT,
					relay_server_http_handler, s->relay);
	if (ret) {
		log_error("server", "cannot set up the HTTP server: %s", strerror(-ret));
		return 1;
	}
	ret = http_server_listen(s->http, cfg->listen, s->tls, &port);
	if (ret) {
		log_error("server", "cannot listen on %s: %s", cfg->listen, uv_strerror(ret));
		return 1;
	}
	log_info("server", "control API listening on %s (%s)",
		 bound(cfg->listen, port, where, sizeof(where)), s->tls ? "https" : "http");
	return 0;
}

/* Everything nodes talk to. Returns an exit code (0 when all runs). */
static int start_control(struct server *s)
{
	uint16_t stun_port = 0;

	if (s->cfg->relay.enabled && start_relay(s, &stun_port))
		return 1;
	if (start_maps(s, stun_port))
		return 1;
	return start_http(s);
}

int serve_run(const struct config *cfg)
{
	struct server s = {.cfg = cfg};
	int ret, code = 1;

	log_set_level(level_of(cfg->log_level));
	signal(SIGPIPE, SIG_IGN);
	if (cfg->policy_file && check_policy_file(cfg->policy_file))
		return CONFIG_EXIT_CODE;
	if (open_state(&s))
		goto out_close_state;
	ret = uv_loop_init(&s.loop);
	if (ret) {
		log_error("server", "event loop: %s", uv_strerror(ret));
		goto out_close_state;
	}
	/* First the admin socket: it is what tells a second server that one already runs. */
	ret = admin_start(&s.admin, &s.loop, cfg->admin_socket, s.reg);
	if (ret)
		goto out_close_loop;
	ret = start_control(&s);
	if (ret) {
		code = ret;
		close_services(&s);
		goto out_close_loop;
	}
	uv_signal_init(&s.loop, &s.sigterm);
	uv_signal_init(&s.loop, &s.sigint);
	uv_timer_init(&s.loop, &s.tick);
	s.sigterm.data = s.sigint.data = s.tick.data = &s;
	s.handles_open = true;
	uv_signal_start(&s.sigterm, on_signal, SIGTERM);
	uv_signal_start(&s.sigint, on_signal, SIGINT);
	uv_timer_start(&s.tick, on_tick, SERVE_TICK_MS, SERVE_TICK_MS);
	log_info("server", "serving url=%s database=%s admin=%s", cfg->server_url, cfg->db_path,
		 cfg->admin_socket);
	sd_notify_state("READY=1");
	uv_run(&s.loop, UV_RUN_DEFAULT);
	code = 0;
out_close_loop:
	/* Let every close callback run, then the loop can go. */
	uv_run(&s.loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&s.loop))
		log_warn("server", "event loop closed with handles open");
out_close_state:
	netmap_destroy(s.nm);
	tls_config_free(s.tls);
	registry_destroy(s.reg);
	store_close(s.st);
	sodium_memzero(s.priv, sizeof(s.priv));
	if (!code)
		log_info("server", "stopped");
	return code;
}
