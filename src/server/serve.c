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

#include "server/admin.h"
#include "server/registry.h"
#include "server/store_sqlite.h"
#include "util/encoding.h"
#include "util/hujson.h"
#include "util/log.h"
#include "util/sdnotify.h"

struct server {
	uv_loop_t loop;
	const struct config *cfg;
	struct store *st;
	struct registry *reg;
	struct admin *admin;
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

static void stop(struct server *s, const char *why)
{
	if (!s->handles_open)
		return;
	s->handles_open = false;
	log_info("server", "shutting down reason=%s", why);
	sd_notify_state("STOPPING=1");
	admin_stop(s->admin, NULL, NULL);
	s->admin = NULL;
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
	ret = admin_start(&s.admin, &s.loop, cfg->admin_socket, s.reg);
	if (ret)
		goto out_close_loop;
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
	registry_destroy(s.reg);
	store_close(s.st);
	sodium_memzero(s.priv, sizeof(s.priv));
	if (!code)
		log_info("server", "stopped");
	return code;
}
