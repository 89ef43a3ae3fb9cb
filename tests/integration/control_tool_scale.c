// SPDX-License-Identifier: MIT
/*
 * mesh_control_tool scale: many simulated nodes in one process, each with
 * its own machine key and its own control client, against a real
 * meshcontrol. Phases:
 *
 *   register  N nodes with one reusable auth key, SCALE_WINDOW in flight
 *   streams   S of them open map streams (a few at a time, each waiting for
 *             its full map) and stay connected
 *   settle    wait until no frame has arrived for a while (the online flips
 *             of the new streams have been pushed)
 *   change    one node that does not stream reports a new endpoint; time
 *             until every stream has the patch
 *
 * and prints one JSON object with the numbers (and the server's RSS after
 * each phase when --server-pid is given).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#include "control/client.h"
#include "control/proto.h"
#include "control/seal.h"
#include "net/http_client.h"
#include "util/compiler.h"

enum scale_limits {
	WINDOW = 64,	    /* registrations in flight */
	STREAM_WINDOW = 16, /* streams waiting for their full map */
	QUIET_MS = 1500,    /* no frame this long: settled */
	TICK_MS = 100,
	SIZED_MAPS = 3, /* full maps re-encoded to measure their size */
};

enum scale_phase {
	PHASE_KEY,
	PHASE_REGISTER,
	PHASE_STREAMS,
	PHASE_SETTLE,
	PHASE_CHANGE,
	PHASE_DONE,
};

struct sim {
	struct scale *sc;
	struct ctl_client *client;
	uint8_t machine_priv[CTL_KEY_LEN];
	uint8_t node_pub[CTL_KEY_LEN];
	uint8_t disco_pub[CTL_KEY_LEN];
	uint64_t node_id;
	unsigned int idx;
	bool streaming, full, changed;
};

struct scale {
	uv_loop_t *loop;
	const char *server;
	const char *auth_key;
	unsigned int n, nstreams;
	long pid;
	struct sim *sims;
	uint8_t server_pub[CTL_KEY_LEN];
	enum scale_phase phase;
	struct http_client_req *http;
	uv_timer_t tick, deadline;
	int status;
	/* register */
	unsigned int next_reg, inflight, registered, reg_failed;
	uint64_t t_reg_start, t_reg_end;
	/* streams */
	unsigned int next_stream, waiting, full;
	uint64_t t_stream_start, t_stream_end, last_frame;
	size_t full_bytes, full_peers;
	uint64_t frames;
	/* change */
	struct sim *target;
	struct ip_endpoint new_ep;
	uint64_t t_change, first_ns, all_ns;
	unsigned int changed;
	size_t delta_bytes;
	long rss_registered, rss_streams, rss_change;
	double cpu_start, cpu_registered, cpu_streams, cpu_change; /* server CPU seconds */
};

static uint64_t ms(uint64_t ns)
{
	return ns / 1000000;
}

/* The server's resident set in KiB, or -1. */
static long server_rss(const struct scale *sc)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (sc->pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/status", sc->pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* The server's CPU time (user + system) in seconds, or 0. */
static double server_cpu(const struct scale *sc)
{
	unsigned long long utime, stime;
	char path[64], buf[1024], *p;
	size_t n;
	FILE *f;

	if (sc->pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", sc->pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields 14 and 15, counted after the ")" that ends the command name. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return 0;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void stop(struct scale *sc, int status)
{
	if (sc->phase == PHASE_DONE)
		return;
	sc->phase = PHASE_DONE;
	sc->status = status;
	uv_close((uv_handle_t *)&sc->tick, NULL);
	uv_close((uv_handle_t *)&sc->deadline, NULL);
	if (sc->http)
		http_client_cancel(sc->http);
	sc->http = NULL;
	for (unsigned int i = 0; i < sc->n; i++) {
		ctl_client_free(sc->sims[i].client);
		sc->sims[i].client = NULL;
	}
}

static void report(struct scale *sc)
{
	double reg_s = (double)(sc->t_reg_end - sc->t_reg_start) / 1e9;
	double stream_s = (double)(sc->t_stream_end - sc->t_stream_start) / 1e9;

	printf("{\"nodes\": %u, \"streams\": %u, \"register_seconds\": %.3f, "
	       "\"register_per_second\": %.0f, \"streams_seconds\": %.3f, "
	       "\"full_map_peers\": %zu, \"full_map_bytes\": %zu, \"delta_bytes\": %zu, "
	       "\"change_first_ms\": %.1f, \"change_all_ms\": %.1f, \"frames\": %" PRIu64 ", "
	       "\"server_rss_kib\": {\"registered\": %ld, \"streaming\": %ld, \"after_change\": "
	       "%ld}, \"server_cpu_seconds\": {\"register\": %.2f, \"streams\": %.2f, "
	       "\"change\": %.3f}}\n",
	       sc->n, sc->nstreams, reg_s, reg_s > 0 ? sc->n / reg_s : 0.0, stream_s,
	       sc->full_peers, sc->full_bytes, sc->delta_bytes, (double)sc->first_ns / 1e6,
	       (double)sc->all_ns / 1e6, sc->frames, sc->rss_registered, sc->rss_streams,
	       sc->rss_change, sc->cpu_registered - sc->cpu_start,
	       sc->cpu_streams - sc->cpu_registered, sc->cpu_change - sc->cpu_streams);
	fflush(stdout);
}

/* ---- phase: change ---- */

static void on_update_done(struct http_client_req *req, int err, const char *errmsg,
			   const struct http_response *resp, void *arg)
{
	struct scale *sc = arg;

	(void)req;
	sc->http = NULL;
	if (err || resp->status != 200) {
		fprintf(stderr, "scale: endpoint update failed: %s\n", err ? errmsg : "HTTP error");
		stop(sc, 1);
	}
}

static void start_change(struct scale *sc)
{
	struct ctl_map_request m = {.version = CTL_PROTOCOL_VERSION, .omit_peers = true};
	struct sim *t = sc->target;
	char url[1024];
	struct http_client_options h = {
		.method = "POST",
		.url = url,
		.content_type = CTL_CONTENT_SEALED,
		.on_done = on_update_done,
		.arg = sc,
	};
	uint8_t *body;
	size_t len;
	int ret;

	sc->phase = PHASE_CHANGE;
	/* 198.51.100.0/24 is TEST-NET-2: an address, never a destination. */
	ip_endpoint_parse(&sc->new_ep, "198.51.100.7:41641", NULL);
	memcpy(m.node_key, t->node_pub, CTL_KEY_LEN);
	memcpy(m.disco_key, t->disco_pub, CTL_KEY_LEN);
	m.endpoints = &sc->new_ep;
	m.nendpoints = 1;
	ret = ctl_map_request_seal(&m, t->machine_priv, sc->server_pub, &body, &len);
	if (ret) {
		stop(sc, 1);
		return;
	}
	snprintf(url, sizeof(url), "%s%s", sc->server, CTL_PATH_MAP);
	h.body = body;
	h.body_len = len;
	sc->t_change = uv_hrtime();
	ret = http_client_request(&sc->http, sc->loop, &h);
	free(body);
	if (ret)
		stop(sc, 1);
}

static bool has_change(const struct scale *sc, const struct ctl_map_response *f)
{
	for (size_t i = 0; i < f->npeers_patch; i++) {
		const struct ctl_peer_patch *p = &f->peers_patch[i];

		if (p->id != sc->target->node_id || !(p->fields & CTL_PATCH_ENDPOINTS))
			continue;
		for (size_t j = 0; j < p->nendpoints; j++)
			if (ip_addr_equal(&p->endpoints[j].addr, &sc->new_ep.addr) &&
			    p->endpoints[j].port == sc->new_ep.port)
				return true;
	}
	return false;
}

/* ---- phase: streams ---- */

static void start_streams(struct scale *sc);

static void on_frame(void *ctx, struct ctl_map_response *f)
{
	struct sim *s = ctx;
	struct scale *sc = s->sc;
	char *json;
	size_t len;

	sc->frames++;
	sc->last_frame = uv_hrtime();
	if (!s->full && f->has_peers) {
		s->full = true;
		sc->full++;
		sc->waiting--;
		sc->full_peers = f->npeers;
		if (sc->full <= SIZED_MAPS && !ctl_map_response_encode(f, &json, &len)) {
			sc->full_bytes = len > sc->full_bytes ? len : sc->full_bytes;
			free(json);
		}
		if (sc->full == sc->nstreams) {
			sc->t_stream_end = uv_hrtime();
			sc->rss_streams = server_rss(sc);
			sc->cpu_streams = server_cpu(sc);
			sc->phase = PHASE_SETTLE;
		} else {
			start_streams(sc);
		}
		return;
	}
	if (sc->phase != PHASE_CHANGE || s->changed || s == sc->target || !has_change(sc, f))
		return;
	s->changed = true;
	if (!sc->changed++) {
		sc->first_ns = uv_hrtime() - sc->t_change;
		if (!ctl_map_response_encode(f, &json, &len)) {
			sc->delta_bytes = len;
			free(json);
		}
	}
	if (sc->changed == sc->nstreams - (sc->target->streaming ? 1 : 0)) {
		sc->all_ns = uv_hrtime() - sc->t_change;
		sc->rss_change = server_rss(sc);
		sc->cpu_change = server_cpu(sc);
		report(sc);
		stop(sc, 0);
	}
}

static void on_map_state(void *ctx, bool connected, const char *error)
{
	struct sim *s = ctx;

	if (!connected && s->sc->phase != PHASE_DONE)
		fprintf(stderr, "scale: node %u: %s\n", s->idx, error ? error : "stream down");
}

static void start_streams(struct scale *sc)
{
	while (sc->next_stream < sc->nstreams && sc->waiting < STREAM_WINDOW) {
		struct sim *s = &sc->sims[sc->next_stream++];
		struct ctl_map_request m = {.version = CTL_PROTOCOL_VERSION, .stream = true};

		memcpy(m.node_key, s->node_pub, CTL_KEY_LEN);
		memcpy(m.disco_key, s->disco_pub, CTL_KEY_LEN);
		if (ctl_client_map_start(s->client, &m)) {
			fprintf(stderr, "scale: cannot start stream %u\n", s->idx);
			stop(sc, 1);
			return;
		}
		s->streaming = true;
		sc->waiting++;
	}
}

/* ---- phase: register ---- */

static void start_registrations(struct scale *sc);

static void on_register(void *ctx, int err, const char *errmsg, struct ctl_register_response *r)
{
	struct sim *s = ctx;
	struct scale *sc = s->sc;

	sc->inflight--;
	if (err || !r->authorized) {
		fprintf(stderr, "scale: node %u not registered: %s\n", s->idx,
			err	   ? errmsg
			: r->error ? r->error
				   : "not authorized");
		if (++sc->reg_failed > 10) {
			stop(sc, 1);
			return;
		}
	} else {
		s->node_id = r->node_id;
		sc->registered++;
	}
	if (sc->registered + sc->reg_failed < sc->n) {
		start_registrations(sc);
		return;
	}
	sc->t_reg_end = uv_hrtime();
	sc->rss_registered = server_rss(sc);
	sc->cpu_registered = server_cpu(sc);
	if (sc->reg_failed) {
		stop(sc, 1);
		return;
	}
	sc->phase = PHASE_STREAMS;
	sc->t_stream_start = uv_hrtime();
	start_streams(sc);
}

static void start_registrations(struct scale *sc)
{
	static const struct ctl_client_ops ops = {
		.on_register = on_register,
		.on_map_frame = on_frame,
		.on_map_state = on_map_state,
	};

	while (sc->next_reg < sc->n && sc->inflight < WINDOW) {
		struct sim *s = &sc->sims[sc->next_reg++];
		struct ctl_client_config cfg = {
			.server_url = sc->server,
			.machine_private = s->machine_priv,
			.server_public = sc->server_pub,
		};
		struct ctl_register_request r = {.version = CTL_PROTOCOL_VERSION};
		char host[32], err[256];

		snprintf(host, sizeof(host), "sim-%05u", s->idx);
		memcpy(r.node_key, s->node_pub, CTL_KEY_LEN);
		memcpy(r.disco_key, s->disco_pub, CTL_KEY_LEN);
		r.hostinfo.hostname = host;
		r.hostinfo.os = (char *)"linux";
		r.auth_key = (char *)sc->auth_key;
		if (ctl_client_new(&s->client, sc->loop, &cfg, &ops, s, err, sizeof(err)) ||
		    ctl_client_register(s->client, &r)) {
			fprintf(stderr, "scale: node %u: cannot start: %s\n", s->idx, err);
			stop(sc, 1);
			return;
		}
		sc->inflight++;
	}
}

static void on_key_done(struct http_client_req *req, int err, const char *errmsg,
			const struct http_response *resp, void *arg)
{
	struct scale *sc = arg;
	struct ctl_server_key k;

	(void)req;
	sc->http = NULL;
	if (err || resp->status != 200 ||
	    ctl_server_key_decode(&k, resp->body, resp->body_len, NULL)) {
		fprintf(stderr, "scale: GET /key failed: %s\n", err ? errmsg : "bad answer");
		stop(sc, 1);
		return;
	}
	memcpy(sc->server_pub, k.public_key, CTL_KEY_LEN);
	sc->phase = PHASE_REGISTER;
	sc->cpu_start = server_cpu(sc);
	sc->t_reg_start = uv_hrtime();
	start_registrations(sc);
}

static void on_tick(uv_timer_t *t)
{
	struct scale *sc = t->data;

	if (sc->phase == PHASE_SETTLE && ms(uv_hrtime() - sc->last_frame) >= QUIET_MS)
		start_change(sc);
}

static void on_deadline(uv_timer_t *t)
{
	struct scale *sc = t->data;

	fprintf(stderr,
		"scale: timed out in phase %d (registered %u, full maps %u, changed %u of %u)\n",
		sc->phase, sc->registered, sc->full, sc->changed, sc->nstreams);
	stop(sc, 3);
}

int control_tool_scale(uv_loop_t *loop, const char *server, const char *auth_key,
		       unsigned int nodes, unsigned int streams, long server_pid,
		       unsigned int timeout_s);

int control_tool_scale(uv_loop_t *loop, const char *server, const char *auth_key,
		       unsigned int nodes, unsigned int streams, long server_pid,
		       unsigned int timeout_s)
{
	struct scale sc = {
		.loop = loop,
		.server = server,
		.auth_key = auth_key,
		.n = nodes,
		.nstreams = streams > nodes ? nodes : streams,
		.pid = server_pid,
	};
	char url[1024];
	struct http_client_options h = {.url = url, .on_done = on_key_done, .arg = &sc};

	if (sc.nstreams < 2) {
		fprintf(stderr, "scale: needs at least 2 streams\n");
		return 2;
	}
	sc.sims = calloc(nodes, sizeof(*sc.sims));
	if (!sc.sims)
		return 1;
	for (unsigned int i = 0; i < nodes; i++) {
		struct sim *s = &sc.sims[i];
		uint8_t priv[CTL_KEY_LEN];

		s->sc = &sc;
		s->idx = i;
		/* Any 32 bytes are an X25519 private key; only node and disco need a public half. */
		randombytes_buf(s->machine_priv, sizeof(s->machine_priv));
		crypto_box_keypair(s->node_pub, priv);
		crypto_box_keypair(s->disco_pub, priv);
		sodium_memzero(priv, sizeof(priv));
	}
	/* The one that changes: a node without a stream if there is one. */
	sc.target = &sc.sims[nodes - 1];
	uv_timer_init(loop, &sc.tick);
	uv_timer_init(loop, &sc.deadline);
	sc.tick.data = sc.deadline.data = &sc;
	uv_timer_start(&sc.tick, on_tick, TICK_MS, TICK_MS);
	uv_timer_start(&sc.deadline, on_deadline, (uint64_t)timeout_s * 1000, 0);
	snprintf(url, sizeof(url), "%s%s", server, CTL_PATH_KEY);
	if (http_client_request(&sc.http, loop, &h))
		stop(&sc, 1);
	uv_run(loop, UV_RUN_DEFAULT);
	for (unsigned int i = 0; i < nodes; i++)
		sodium_memzero(sc.sims[i].machine_priv, CTL_KEY_LEN);
	free(sc.sims);
	uv_loop_close(loop);
	return sc.status;
}
