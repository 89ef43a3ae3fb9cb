// SPDX-License-Identifier: MIT
/*
 * mesh_control_tool: a node's side of the control protocol from the shell,
 * on the real client (control/client.h), for control_api.sh and the scale
 * benchmark. Not installed.
 *
 *   register  register (auth key, interactive with follow-ups, renewal, logout);
 *             prints each answer as the protocol's JSON, one per line
 *   map       hold a map stream; prints N frames as JSON lines
 *   update    a non-streaming map request (new endpoints): what meshd sends
 *             when its endpoints change
 *   raw       hand-made bad requests; prints "STATUS BODY"
 *   scale     many simulated nodes in one process: registration rate, full
 *             map and delta sizes, time for one endpoint change to reach
 *             every stream, server RSS; prints one JSON object
 *
 * A node's keys live in a state file (--state): its machine and node private
 * keys as hex, created on first use. Disco keys are fresh per run, as meshd's.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "control/client.h"
#include "control/proto.h"
#include "control/seal.h"
#include "net/http_client.h"
#include "net/tls.h"
#include "util/compiler.h"
#include "util/encoding.h"
#include "util/log.h"

enum tool_limits {
	EXIT_USAGE = 2,
	EXIT_TIMEOUT = 3,
	EXIT_ENDED = 4,
	MAX_LIST = 64,
	ERR_LEN = 512,
	SCALE_WINDOW = 64,	  /* registrations in flight */
	SCALE_STREAM_WINDOW = 16, /* streams waiting for their full map */
	SCALE_QUIET_MS = 1500,	  /* no frames this long: the streams have settled */
	SCALE_TICK_MS = 100,
};

static const char *const usage_text =
	"usage: mesh_control_tool COMMAND --server URL [OPTIONS]\n"
	"  register --state FILE [--auth-key K] [--hostname H] [--routes P,..] [--endpoints E,..]\n"
	"           [--no-wait] [--renew] [--logout]\n"
	"  map      --state FILE --count N [--endpoints E,..] [--exit-on-close] [--times FILE]\n"
	"  update   --state FILE --endpoints E,..\n"
	"  raw      --state FILE --kind map|wrong-key|truncated|garbage|unknown-node|oversized\n"
	"  scale    --auth-key K --nodes N [--streams S] [--server-pid PID]\n"
	"common:    [--tls-ca FILE] [--timeout SECONDS] [--verbose]\n";

struct options {
	const char *cmd;
	const char *server;
	const char *state;
	const char *auth_key;
	const char *hostname;
	const char *routes;
	const char *endpoints;
	const char *tls_ca;
	const char *kind;
	const char *times;
	unsigned int count;
	unsigned int nodes;
	unsigned int streams;
	long server_pid;
	unsigned int timeout_s;
	bool no_wait, renew, logout, exit_on_close;
};

/* A node's keys, as the state file keeps them. */
struct keys {
	uint8_t machine_priv[CTL_KEY_LEN];
	uint8_t node_priv[CTL_KEY_LEN];
	uint8_t node_pub[CTL_KEY_LEN];
	uint8_t disco_pub[CTL_KEY_LEN];
};

struct tool {
	uv_loop_t *loop;
	const struct options *o;
	struct keys keys;
	struct ctl_client *client;
	uv_timer_t deadline;
	int status;
	bool done;
	unsigned int frames;
	/* register */
	struct ctl_register_request req;
	uint8_t new_node_priv[CTL_KEY_LEN];
	FILE *times; /* map --times: "SEQ UNIX_MICROSECONDS" per frame */
	/* raw / update */
	struct tls_config *tls;
	struct http_client_req *http;
	uint8_t server_pub[CTL_KEY_LEN];
};

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "mesh_control_tool: %s\n", why);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* ---- keys and the state file ---- */

static void keypair(uint8_t priv[CTL_KEY_LEN], uint8_t pub[CTL_KEY_LEN])
{
	crypto_box_keypair(pub, priv);
}

static void derive(struct keys *k)
{
	uint8_t disco_priv[CTL_KEY_LEN];

	crypto_scalarmult_base(k->node_pub, k->node_priv);
	keypair(disco_priv, k->disco_pub);
	sodium_memzero(disco_priv, sizeof(disco_priv));
}

static int state_save(const char *path, const struct keys *k)
{
	char m[ENC_KEY_HEX_LEN + 1], n[ENC_KEY_HEX_LEN + 1];
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	enc_key_to_hex(m, k->machine_priv);
	enc_key_to_hex(n, k->node_priv);
	fprintf(f, "machine_private=%s\nnode_private=%s\n", m, n);
	sodium_memzero(m, sizeof(m));
	sodium_memzero(n, sizeof(n));
	return fclose(f) ? -errno : 0;
}

static int state_load(const char *path, struct keys *k)
{
	char line[256];
	int found = 0;
	FILE *f = fopen(path, "re");

	if (!f && errno == ENOENT) {
		uint8_t pub[CTL_KEY_LEN];

		keypair(k->machine_priv, pub);
		keypair(k->node_priv, pub);
		derive(k);
		return state_save(path, k);
	}
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "machine_private=", 16) &&
		    !enc_key_from_hex(k->machine_priv, line + 16))
			found |= 1;
		else if (!strncmp(line, "node_private=", 13) &&
			 !enc_key_from_hex(k->node_priv, line + 13))
			found |= 2;
	}
	sodium_memzero(line, sizeof(line));
	fclose(f);
	if (found != 3)
		return -EINVAL;
	derive(k);
	return 0;
}

/* ---- small helpers ---- */

/* Split "a,b,c" into at most MAX_LIST parsed items with @parse. */
static int parse_list(const char *text, void *out, size_t size, size_t *n,
		      int (*parse)(void *item, const char *s))
{
	char buf[4096], *save = NULL, *t;

	*n = 0;
	if (!text || !*text)
		return 0;
	snprintf(buf, sizeof(buf), "%s", text);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n == MAX_LIST || parse((char *)out + *n * size, t))
			return -EINVAL;
		(*n)++;
	}
	return 0;
}

static int parse_endpoint_item(void *item, const char *s)
{
	return ip_endpoint_parse(item, s, NULL);
}

static int parse_prefix_item(void *item, const char *s)
{
	return ip_prefix_parse(item, s, NULL) || !ip_prefix_is_canonical(item) ? -EINVAL : 0;
}

static void finish(struct tool *t, int status)
{
	if (t->done)
		return;
	t->done = true;
	t->status = status;
	uv_close((uv_handle_t *)&t->deadline, NULL);
	if (t->client)
		ctl_client_free(t->client);
	t->client = NULL;
	if (t->http)
		http_client_cancel(t->http);
	t->http = NULL;
}

static void on_deadline(uv_timer_t *timer)
{
	struct tool *t = timer->data;

	fprintf(stderr, "mesh_control_tool: timed out after %u frames\n", t->frames);
	finish(t, EXIT_TIMEOUT);
}

static void print_json(char *json)
{
	if (json) {
		puts(json);
		fflush(stdout);
	}
	free(json);
}

static int new_client(struct tool *t, const struct ctl_client_ops *ops)
{
	struct ctl_client_config cfg = {
		.server_url = t->o->server,
		.machine_private = t->keys.machine_priv,
		.tls_ca_file = t->o->tls_ca,
	};
	char err[ERR_LEN] = "";
	int ret = ctl_client_new(&t->client, t->loop, &cfg, ops, t, err, sizeof(err));

	if (ret)
		fprintf(stderr, "mesh_control_tool: %s\n", *err ? err : strerror(-ret));
	return ret;
}

/* ---- register ---- */

static int send_register(struct tool *t, const char *followup);

static void on_register(void *ctx, int err, const char *errmsg, struct ctl_register_response *r)
{
	struct tool *t = ctx;
	char *json = NULL;
	size_t len;

	if (err) {
		fprintf(stderr, "mesh_control_tool: register: %s\n", errmsg);
		finish(t, 1);
		return;
	}
	if (!ctl_register_response_encode(r, &json, &len))
		print_json(json);
	if (r->pending_id && !t->o->no_wait) {
		char id[CTL_TOKEN_MAX + 1];

		snprintf(id, sizeof(id), "%s", r->pending_id);
		if (send_register(t, id))
			finish(t, 1);
		return;
	}
	if (r->authorized && t->o->renew) {
		memcpy(t->keys.node_priv, t->new_node_priv, CTL_KEY_LEN);
		derive(&t->keys);
		if (state_save(t->o->state, &t->keys)) {
			fprintf(stderr, "mesh_control_tool: cannot save %s\n", t->o->state);
			finish(t, 1);
			return;
		}
	}
	finish(t, r->authorized || (t->o->logout && r->node_key_expired) ? 0 : 1);
}

static int send_register(struct tool *t, const char *followup)
{
	t->req.followup = (char *)followup;
	return ctl_client_register(t->client, &t->req);
}

static int cmd_register(struct tool *t)
{
	static const struct ctl_client_ops ops = {.on_register = on_register};
	static struct ip_prefix routes[MAX_LIST];
	static struct ip_endpoint eps[MAX_LIST];
	const struct options *o = t->o;
	struct ctl_register_request *r = &t->req;
	int ret;

	r->version = CTL_PROTOCOL_VERSION;
	memcpy(r->node_key, t->keys.node_pub, CTL_KEY_LEN);
	memcpy(r->disco_key, t->keys.disco_pub, CTL_KEY_LEN);
	if (o->renew) {
		uint8_t pub[CTL_KEY_LEN];

		keypair(t->new_node_priv, pub);
		r->has_old_node_key = true;
		memcpy(r->old_node_key, t->keys.node_pub, CTL_KEY_LEN);
		memcpy(r->node_key, pub, CTL_KEY_LEN);
	}
	r->hostinfo.hostname = (char *)(o->hostname ? o->hostname : "node");
	r->hostinfo.os = (char *)"linux";
	if (parse_list(o->routes, routes, sizeof(*routes), &r->hostinfo.nroutes,
		       parse_prefix_item) ||
	    parse_list(o->endpoints, eps, sizeof(*eps), &r->nendpoints, parse_endpoint_item))
		return usage("bad --routes or --endpoints");
	r->hostinfo.routes = routes;
	r->endpoints = eps;
	r->auth_key = (char *)o->auth_key;
	r->logout = o->logout;
	ret = new_client(t, &ops);
	if (!ret)
		ret = send_register(t, NULL);
	return ret ? 1 : 0;
}

/* ---- map ---- */

static void on_frame(void *ctx, struct ctl_map_response *frame)
{
	struct tool *t = ctx;
	char *json = NULL;
	size_t len;

	if (t->done)
		return;
	if (ctl_map_response_encode(frame, &json, &len)) {
		fprintf(stderr, "mesh_control_tool: a frame does not re-encode\n");
		finish(t, 1);
		return;
	}
	print_json(json);
	if (t->times) {
		uv_timeval64_t tv;

		uv_gettimeofday(&tv);
		fprintf(t->times, "%" PRIu64 " %lld%06d\n", frame->seq, (long long)tv.tv_sec,
			(int)tv.tv_usec);
		fflush(t->times);
	}
	if (++t->frames >= t->o->count)
		finish(t, 0);
}

static void on_map_state(void *ctx, bool connected, const char *error)
{
	struct tool *t = ctx;

	if (connected || t->done)
		return;
	fprintf(stderr, "mesh_control_tool: %s\n", error ? error : "map stream down");
	if (t->o->exit_on_close)
		finish(t, EXIT_ENDED);
}

static int cmd_map(struct tool *t)
{
	static const struct ctl_client_ops ops = {.on_map_frame = on_frame,
						  .on_map_state = on_map_state};
	static struct ip_endpoint eps[MAX_LIST];
	struct ctl_map_request m = {.version = CTL_PROTOCOL_VERSION, .stream = true};

	memcpy(m.node_key, t->keys.node_pub, CTL_KEY_LEN);
	memcpy(m.disco_key, t->keys.disco_pub, CTL_KEY_LEN);
	if (parse_list(t->o->endpoints, eps, sizeof(*eps), &m.nendpoints, parse_endpoint_item))
		return usage("bad --endpoints");
	m.endpoints = eps;
	if (!t->o->count)
		return usage("map needs --count N");
	if (t->o->times) {
		t->times = fopen(t->o->times, "we");
		if (!t->times) {
			fprintf(stderr, "mesh_control_tool: %s: %s\n", t->o->times,
				strerror(errno));
			return 1;
		}
	}
	if (new_client(t, &ops) || ctl_client_map_start(t->client, &m))
		return 1;
	return 0;
}

/* ---- update and raw: one HTTP request by hand ---- */

static void on_raw_done(struct http_client_req *req, int err, const char *errmsg,
			const struct http_response *resp, void *arg)
{
	struct tool *t = arg;
	const char *ct;

	(void)req;
	t->http = NULL;
	if (err) {
		fprintf(stderr, "mesh_control_tool: %s\n", errmsg);
		finish(t, 1);
		return;
	}
	ct = http_response_header(resp, "Content-Type");
	if (ct && !strncmp(ct, "application/json", 16))
		printf("%d %.*s\n", resp->status, (int)resp->body_len,
		       resp->body ? (const char *)resp->body : "");
	else
		printf("%d (%zu bytes of %s)\n", resp->status, resp->body_len, ct ? ct : "nothing");
	fflush(stdout);
	finish(t, !strcmp(t->o->cmd, "update") && resp->status != 200 ? 1 : 0);
}

static int post(struct tool *t, const char *path, const void *body, size_t len)
{
	char url[1024];
	struct http_client_options h = {
		.method = "POST",
		.url = url,
		.body = body,
		.body_len = len,
		.content_type = CTL_CONTENT_SEALED,
		.tls = t->tls,
		.on_done = on_raw_done,
		.arg = t,
	};

	snprintf(url, sizeof(url), "%s%s", t->o->server, path);
	return http_client_request(&t->http, t->loop, &h);
}

/* Bodies for each kind of bad request; *body is heap memory. */
static int raw_body(struct tool *t, const char *kind, uint8_t **body, size_t *len,
		    const char **path)
{
	struct ctl_map_request m = {.version = CTL_PROTOCOL_VERSION, .stream = false};
	uint8_t other_priv[CTL_KEY_LEN], other_pub[CTL_KEY_LEN];
	char *json;
	size_t jlen;
	int ret;

	memcpy(m.node_key, t->keys.node_pub, CTL_KEY_LEN);
	memcpy(m.disco_key, t->keys.disco_pub, CTL_KEY_LEN);
	keypair(other_priv, other_pub);
	*path = CTL_PATH_MAP;
	if (!strcmp(kind, "map")) /* a well-formed one-shot map request of this node */
		return ctl_map_request_seal(&m, t->keys.machine_priv, t->server_pub, body, len);
	if (!strcmp(kind, "wrong-key")) /* sealed to a key that is not the server's */
		return ctl_map_request_seal(&m, t->keys.machine_priv, other_pub, body, len);
	if (!strcmp(kind, "unknown-node")) /* a machine the server never saw */
		return ctl_map_request_seal(&m, other_priv, t->server_pub, body, len);
	if (!strcmp(kind, "truncated")) { /* sealed right, but half a JSON object */
		ret = ctl_map_request_encode(&m, &json, &jlen);
		if (!ret)
			ret = ctl_request_seal(t->keys.machine_priv, t->server_pub,
					       (const uint8_t *)json, jlen / 2, body, len);
		free(json);
		return ret;
	}
	if (!strcmp(kind, "garbage") || !strcmp(kind, "oversized")) {
		/* Garbage: shorter than any envelope. Oversized: one byte over the limit. */
		*len = !strcmp(kind, "garbage") ? CTL_REQUEST_OVERHEAD / 2
						: CTL_REQUEST_OVERHEAD + CTL_MAX_REQUEST_JSON + 1;
		*body = malloc(*len);
		if (!*body)
			return -ENOMEM;
		randombytes_buf(*body, *len);
		*path = CTL_PATH_REGISTER;
		return 0;
	}
	return -EINVAL;
}

static void on_key_done(struct http_client_req *req, int err, const char *errmsg,
			const struct http_response *resp, void *arg)
{
	struct tool *t = arg;
	struct ctl_server_key k;
	uint8_t *body = NULL;
	const char *path;
	size_t len = 0;
	int ret;

	(void)req;
	t->http = NULL;
	if (err || resp->status != 200 ||
	    ctl_server_key_decode(&k, resp->body, resp->body_len, NULL)) {
		fprintf(stderr, "mesh_control_tool: GET /key failed: %s\n",
			err ? errmsg : "bad answer");
		finish(t, 1);
		return;
	}
	memcpy(t->server_pub, k.public_key, CTL_KEY_LEN);
	if (!strcmp(t->o->cmd, "update")) {
		static struct ip_endpoint eps[MAX_LIST];
		struct ctl_map_request m = {.version = CTL_PROTOCOL_VERSION, .omit_peers = true};

		memcpy(m.node_key, t->keys.node_pub, CTL_KEY_LEN);
		memcpy(m.disco_key, t->keys.disco_pub, CTL_KEY_LEN);
		parse_list(t->o->endpoints, eps, sizeof(*eps), &m.nendpoints, parse_endpoint_item);
		m.endpoints = eps;
		path = CTL_PATH_MAP;
		ret = ctl_map_request_seal(&m, t->keys.machine_priv, t->server_pub, &body, &len);
	} else {
		ret = raw_body(t, t->o->kind, &body, &len, &path);
	}
	if (!ret)
		ret = post(t, path, body, len);
	free(body);
	if (ret) {
		fprintf(stderr, "mesh_control_tool: cannot send %s: %s\n",
			t->o->kind ? t->o->kind : "update", strerror(-ret));
		finish(t, 1);
	}
}

static int cmd_oneshot(struct tool *t)
{
	char url[1024], err[ERR_LEN];
	struct http_client_options h = {.url = url, .on_done = on_key_done, .arg = t};
	size_t n;
	static struct ip_endpoint eps[MAX_LIST];

	if (!strcmp(t->o->cmd, "raw") && !t->o->kind)
		return usage("raw needs --kind");
	if (!strcmp(t->o->cmd, "update") &&
	    (parse_list(t->o->endpoints, eps, sizeof(*eps), &n, parse_endpoint_item) || !n))
		return usage("update needs --endpoints IP:PORT,...");
	if (!strncmp(t->o->server, "https://", 8) &&
	    tls_config_new_client(&t->tls, true, t->o->tls_ca, err, sizeof(err))) {
		fprintf(stderr, "mesh_control_tool: %s\n", err);
		return 1;
	}
	snprintf(url, sizeof(url), "%s%s", t->o->server, CTL_PATH_KEY);
	h.tls = t->tls;
	return http_client_request(&t->http, t->loop, &h) ? 1 : 0;
}

/* The scale benchmark lives in control_tool_scale.c. */
int control_tool_scale(uv_loop_t *loop, const char *server, const char *auth_key,
		       unsigned int nodes, unsigned int streams, long server_pid,
		       unsigned int timeout_s);

/* ---- main ---- */

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SERVER = 256,
		OPT_STATE,
		OPT_AUTH,
		OPT_HOST,
		OPT_ROUTES,
		OPT_EPS,
		OPT_CA,
		OPT_KIND,
		OPT_TIMES,
		OPT_COUNT,
		OPT_NODES,
		OPT_STREAMS,
		OPT_PID,
		OPT_TIMEOUT,
		OPT_NOWAIT,
		OPT_RENEW,
		OPT_LOGOUT,
		OPT_EXIT,
		OPT_VERBOSE,
	};
	static const struct option longopts[] = {
		{"server", required_argument, NULL, OPT_SERVER},
		{"state", required_argument, NULL, OPT_STATE},
		{"auth-key", required_argument, NULL, OPT_AUTH},
		{"hostname", required_argument, NULL, OPT_HOST},
		{"routes", required_argument, NULL, OPT_ROUTES},
		{"endpoints", required_argument, NULL, OPT_EPS},
		{"tls-ca", required_argument, NULL, OPT_CA},
		{"kind", required_argument, NULL, OPT_KIND},
		{"times", required_argument, NULL, OPT_TIMES},
		{"count", required_argument, NULL, OPT_COUNT},
		{"nodes", required_argument, NULL, OPT_NODES},
		{"streams", required_argument, NULL, OPT_STREAMS},
		{"server-pid", required_argument, NULL, OPT_PID},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"no-wait", no_argument, NULL, OPT_NOWAIT},
		{"renew", no_argument, NULL, OPT_RENEW},
		{"logout", no_argument, NULL, OPT_LOGOUT},
		{"exit-on-close", no_argument, NULL, OPT_EXIT},
		{"verbose", no_argument, NULL, OPT_VERBOSE},
		{NULL, 0, NULL, 0},
	};
	int c;

	o->timeout_s = 30;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SERVER:
			o->server = optarg;
			break;
		case OPT_STATE:
			o->state = optarg;
			break;
		case OPT_AUTH:
			o->auth_key = optarg;
			break;
		case OPT_HOST:
			o->hostname = optarg;
			break;
		case OPT_ROUTES:
			o->routes = optarg;
			break;
		case OPT_EPS:
			o->endpoints = optarg;
			break;
		case OPT_CA:
			o->tls_ca = optarg;
			break;
		case OPT_KIND:
			o->kind = optarg;
			break;
		case OPT_TIMES:
			o->times = optarg;
			break;
		case OPT_COUNT:
			o->count = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case OPT_NODES:
			o->nodes = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case OPT_STREAMS:
			o->streams = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case OPT_PID:
			o->server_pid = strtol(optarg, NULL, 10);
			break;
		case OPT_TIMEOUT:
			o->timeout_s = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case OPT_NOWAIT:
			o->no_wait = true;
			break;
		case OPT_RENEW:
			o->renew = true;
			break;
		case OPT_LOGOUT:
			o->logout = true;
			break;
		case OPT_EXIT:
			o->exit_on_close = true;
			break;
		case OPT_VERBOSE:
			log_set_level(LOG_DEBUG);
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc - 1 || !o->server)
		return -EINVAL;
	o->cmd = argv[optind];
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct tool t = {0};
	int ret;

	/* getopt_long permutes: the command may come first or last. */
	if (argc > 1 && argv[1][0] != '-') {
		char *cmd = argv[1];

		memmove(&argv[1], &argv[2], (size_t)(argc - 2) * sizeof(*argv));
		argv[argc - 1] = cmd;
	}
	log_set_level(LOG_WARN);
	if (parse_options(argc, argv, &o))
		return usage(NULL);
	if (sodium_init() < 0)
		return 1;
	t.loop = uv_default_loop();
	t.o = &o;
	if (!strcmp(o.cmd, "scale")) {
		if (!o.auth_key || !o.nodes)
			return usage("scale needs --auth-key and --nodes");
		return control_tool_scale(t.loop, o.server, o.auth_key, o.nodes,
					  o.streams ? o.streams : o.nodes, o.server_pid,
					  o.timeout_s);
	}
	if (!o.state)
		return usage("--state FILE is required");
	ret = state_load(o.state, &t.keys);
	if (ret) {
		fprintf(stderr, "mesh_control_tool: state file %s: %s\n", o.state,
			ret == -EINVAL ? "not a state file" : strerror(-ret));
		return 1;
	}
	uv_timer_init(t.loop, &t.deadline);
	t.deadline.data = &t;
	uv_timer_start(&t.deadline, on_deadline, (uint64_t)o.timeout_s * 1000, 0);
	if (!strcmp(o.cmd, "register"))
		ret = cmd_register(&t);
	else if (!strcmp(o.cmd, "map"))
		ret = cmd_map(&t);
	else if (!strcmp(o.cmd, "update") || !strcmp(o.cmd, "raw"))
		ret = cmd_oneshot(&t);
	else
		ret = usage("unknown command");
	if (ret)
		finish(&t, ret);
	uv_run(t.loop, UV_RUN_DEFAULT);
	tls_config_free(t.tls);
	if (t.times)
		fclose(t.times);
	sodium_memzero(&t.keys, sizeof(t.keys));
	uv_loop_close(t.loop);
	return t.status;
}
