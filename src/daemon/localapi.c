// SPDX-License-Identifier: MIT
/*
 * Local API handlers (docs/localapi.md) on src/net's HTTP server, listening
 * on a Unix socket. Authorisation is decided here, once per request, from
 * the peer credentials the server read with SO_PEERCRED.
 *
 * Streams (watch, ping) hold their exchange until the client goes away
 * (abort callback) or the stream ends; each keeps a small record so the
 * backend callbacks can find it, and the record is freed exactly once.
 */
#include "daemon/localapi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "daemon/backend.h"
#include "daemon/prefs.h"
#include "mesh/version.h"
#include "net/http_server.h"
#include "util/log.h"

enum {
	MAX_STREAMS = 64,
	STREAM_MAX_QUEUE = 256 * 1024,
};

struct stream {
	struct localapi *api;
	struct http_exchange *ex;
	bool is_ping;
	bool done;
};

struct localapi {
	struct http_server *srv;
	struct backend *b;
	uid_t operator_uid;
	char path[256];
	struct stream *streams[MAX_STREAMS];
};

static const char prefix[] = "/localapi/v0/";

/* ---- responses ---- */

static void respond_json(struct http_exchange *ex, int status, cJSON *body)
{
	char *text = cJSON_PrintUnformatted(body);

	if (text) {
		http_exchange_respond(ex, status, "application/json", text, strlen(text));
		free(text);
	} else {
		http_exchange_respond_text(ex, 500, "out of memory");
	}
	cJSON_Delete(body);
}

static void respond_error(struct http_exchange *ex, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", msg);
	respond_json(ex, status, o);
}

static bool may_write(const struct localapi *api, const struct http_request *req)
{
	return req->peer_uid == 0 || req->peer_uid == getuid() ||
	       (api->operator_uid != (uid_t)-1 && req->peer_uid == api->operator_uid);
}

static cJSON *parse_body(struct http_exchange *ex, const struct http_request *req)
{
	cJSON *j;

	if (!req->body || !req->body_len)
		return cJSON_CreateObject();
	j = cJSON_ParseWithLength((const char *)req->body, req->body_len);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		respond_error(ex, 400, "the request body must be a JSON object");
		return NULL;
	}
	return j;
}

/* ---- streams ---- */

static struct stream *stream_new(struct localapi *api, struct http_exchange *ex, bool is_ping)
{
	for (unsigned i = 0; i < MAX_STREAMS; i++) {
		if (!api->streams[i]) {
			struct stream *s = calloc(1, sizeof(*s));

			if (!s)
				return NULL;
			s->api = api;
			s->ex = ex;
			s->is_ping = is_ping;
			api->streams[i] = s;
			return s;
		}
	}
	return NULL;
}

static void stream_free(struct stream *s)
{
	for (unsigned i = 0; i < MAX_STREAMS; i++)
		if (s->api->streams[i] == s)
			s->api->streams[i] = NULL;
	free(s);
}

static void watch_event(void *ctx, const cJSON *ev);
static void ping_event(void *ctx, const cJSON *result, bool done);

/* The client left: forget the stream without touching the exchange again. */
static void stream_abort(struct http_exchange *ex, void *arg)
{
	struct stream *s = arg;

	(void)ex;
	if (s->is_ping)
		backend_ping_cancel(s->api->b, ping_event, s);
	else
		backend_unwatch(s->api->b, watch_event, s);
	stream_free(s);
}

static int stream_line(struct stream *s, const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	size_t len;
	int ret;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	text[len] = '\n'; /* replaces the NUL: the buffer is len + 1 */
	if (http_exchange_write_queue_size(s->ex) > STREAM_MAX_QUEUE)
		ret = -ENOBUFS; /* a client that does not read loses its stream */
	else
		ret = http_exchange_stream_write(s->ex, text, len + 1);
	free(text);
	return ret;
}

static void stream_finish(struct stream *s)
{
	http_exchange_on_abort(s->ex, NULL, NULL);
	http_exchange_stream_end(s->ex);
	stream_free(s);
}

static void watch_event(void *ctx, const cJSON *ev)
{
	struct stream *s = ctx;

	if (stream_line(s, ev)) {
		backend_unwatch(s->api->b, watch_event, s);
		stream_finish(s);
	}
}

static void ping_event(void *ctx, const cJSON *result, bool done)
{
	struct stream *s = ctx;

	if (done) {
		stream_finish(s);
		return;
	}
	if (stream_line(s, result)) {
		backend_ping_cancel(s->api->b, ping_event, s);
		stream_finish(s);
	}
}

/* ---- handlers ---- */

static void h_status(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct localapi *api = arg;
	cJSON *st = backend_status_json(api->b);

	(void)req;
	cJSON_AddStringToObject(st, "version", MESH_VERSION);
	respond_json(ex, 200, st);
}

static void h_prefs(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct localapi *api = arg;
	struct prefs p;
	struct prefs_mask mask = {0};
	char err[512];
	bool reset = false;
	cJSON *body;

	if (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD")) {
		respond_json(ex, 200, prefs_to_json(backend_prefs(api->b), NULL));
		return;
	}
	if (strcmp(req->method, "PATCH")) {
		respond_error(ex, 405, "use GET or PATCH");
		return;
	}
	if (!may_write(api, req)) {
		respond_error(ex, 403,
			      "access denied: changing settings needs root or the operator");
		return;
	}
	body = parse_body(ex, req);
	if (!body)
		return;
	prefs_init(&p);
	if (prefs_patch_from_json(&p, &mask, &reset, body, err, sizeof(err)) ||
	    backend_set_prefs(api->b, &p, &mask, reset, err, sizeof(err))) {
		cJSON_Delete(body);
		respond_error(ex, 400, err);
		return;
	}
	cJSON_Delete(body);
	respond_json(ex, 200, prefs_to_json(backend_prefs(api->b), NULL));
}

static void h_up(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct localapi *api = arg;
	struct prefs p;
	struct prefs_mask mask = {0};
	const cJSON *jp, *jk, *jr;
	char err[512];
	cJSON *body;
	int ret;

	if (!may_write(api, req)) {
		respond_error(ex, 403, "access denied: meshctl up needs root or the operator");
		return;
	}
	body = parse_body(ex, req);
	if (!body)
		return;
	prefs_init(&p);
	jp = cJSON_GetObjectItemCaseSensitive(body, "prefs");
	jk = cJSON_GetObjectItemCaseSensitive(body, "auth_key");
	jr = cJSON_GetObjectItemCaseSensitive(body, "reset");
	if ((jp && prefs_from_json(&p, &mask, jp, err, sizeof(err))) ||
	    (jk && !cJSON_IsString(jk) && !cJSON_IsNull(jk)) || (jr && !cJSON_IsBool(jr))) {
		if (!jp || !err[0])
			snprintf(err, sizeof(err), "bad up request");
		cJSON_Delete(body);
		respond_error(ex, 400, err);
		return;
	}
	err[0] = '\0';
	ret = backend_up(api->b, &p, &mask, cJSON_IsTrue(jr),
			 cJSON_IsString(jk) ? jk->valuestring : NULL, err, sizeof(err));
	if (cJSON_IsString(jk))
		memset(jk->valuestring, 0, strlen(jk->valuestring));
	cJSON_Delete(body);
	if (ret) {
		respond_error(ex, 400, err[0] ? err : strerror(-ret));
		return;
	}
	respond_json(ex, 202, cJSON_CreateObject());
}

static void h_simple(struct http_exchange *ex, const struct http_request *req, void *arg,
		     int (*fn)(struct backend *, char *, size_t), const char *what)
{
	struct localapi *api = arg;
	char err[512] = "";
	char msg[128];

	if (!may_write(api, req)) {
		snprintf(msg, sizeof(msg), "access denied: meshctl %s needs root or the operator",
			 what);
		respond_error(ex, 403, msg);
		return;
	}
	if (fn(api->b, err, sizeof(err))) {
		respond_error(ex, 500, err[0] ? err : "failed");
		return;
	}
	respond_json(ex, 200, cJSON_CreateObject());
}

static void h_down(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	h_simple(ex, req, arg, backend_down, "down");
}

static void h_logout(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	h_simple(ex, req, arg, backend_logout, "logout");
}

static void h_watch(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct localapi *api = arg;
	struct stream *s;

	(void)req;
	s = stream_new(api, ex, false);
	if (!s) {
		respond_error(ex, 503, "too many open streams");
		return;
	}
	if (http_exchange_stream_begin(ex, 200, "application/x-ndjson")) {
		stream_free(s);
		return;
	}
	http_exchange_on_abort(ex, stream_abort, s);
	backend_watch(api->b, watch_event, s);
}

static void h_ping(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct localapi *api = arg;
	const cJSON *jp, *jc;
	char err[512];
	struct stream *s;
	cJSON *body;
	unsigned count = 10;
	int ret;

	body = parse_body(ex, req);
	if (!body)
		return;
	jp = cJSON_GetObjectItemCaseSensitive(body, "peer");
	jc = cJSON_GetObjectItemCaseSensitive(body, "count");
	if (!cJSON_IsString(jp) ||
	    (jc && (!cJSON_IsNumber(jc) || jc->valuedouble < 1 || jc->valuedouble > 1000))) {
		cJSON_Delete(body);
		respond_error(ex, 400, "ping needs {\"peer\": NAME or IP, \"count\": 1-1000}");
		return;
	}
	if (jc)
		count = (unsigned)jc->valuedouble;
	s = stream_new(api, ex, true);
	if (!s) {
		cJSON_Delete(body);
		respond_error(ex, 503, "too many open streams");
		return;
	}
	ret = backend_ping(api->b, jp->valuestring, count, ping_event, s, err, sizeof(err));
	cJSON_Delete(body);
	if (ret) {
		stream_free(s);
		respond_error(ex, ret == -ENOENT ? 404 : 409, err);
		return;
	}
	if (http_exchange_stream_begin(ex, 200, "application/x-ndjson")) {
		backend_ping_cancel(api->b, ping_event, s);
		stream_free(s);
		return;
	}
	http_exchange_on_abort(ex, stream_abort, s);
}

static void h_whois(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct localapi *api = arg;
	struct ip_addr a;
	char q[128];
	cJSON *r;
	const char *v = strstr(req->query, "addr=");

	if (!v) {
		respond_error(ex, 400, "whois needs ?addr=IP");
		return;
	}
	snprintf(q, sizeof(q), "%.*s", (int)strcspn(v + 5, "&"), v + 5);
	if (ip_addr_parse(&a, q, NULL)) {
		respond_error(ex, 400, "whois: not an IP address");
		return;
	}
	r = backend_whois_json(api->b, &a);
	if (!r) {
		respond_error(ex, 404, "no node has that address");
		return;
	}
	respond_json(ex, 200, r);
}

/* A pending netcheck: the exchange may be gone (client left) before the report. */
struct netcheck_wait {
	struct http_exchange *ex;
	bool gone;
};

static void netcheck_abort(struct http_exchange *ex, void *arg)
{
	(void)ex;
	((struct netcheck_wait *)arg)->gone = true;
}

static void netcheck_report(void *ctx, const cJSON *report, const char *error)
{
	struct netcheck_wait *w = ctx;

	if (!w->gone) {
		http_exchange_on_abort(w->ex, NULL, NULL);
		if (report)
			respond_json(w->ex, 200, cJSON_Duplicate(report, true));
		else
			respond_error(w->ex, 500, error ? error : "netcheck failed");
	}
	free(w);
}

static void h_netcheck(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct localapi *api = arg;
	struct netcheck_wait *w = calloc(1, sizeof(*w));

	(void)req;
	if (!w) {
		respond_error(ex, 500, "out of memory");
		return;
	}
	w->ex = ex;
	http_exchange_on_abort(ex, netcheck_abort, w);
	if (backend_netcheck(api->b, netcheck_report, w)) {
		http_exchange_on_abort(ex, NULL, NULL);
		free(w);
		respond_error(ex, 409, "not running: netcheck uses the mesh's socket (meshctl up)");
	}
}

/* ---- lifetime ---- */

int localapi_start(struct localapi **out, uv_loop_t *loop, struct backend *b, const char *path,
		   uid_t operator_uid, char *err, size_t errlen)
{
	static const struct {
		const char *method, *name;
		http_handler_cb *cb;
	} routes[] = {
		{"GET", "status", h_status},
		{NULL, "prefs", h_prefs},
		{"POST", "up", h_up},
		{"POST", "down", h_down},
		{"POST", "logout", h_logout},
		{"GET", "watch", h_watch},
		{"POST", "ping", h_ping},
		{"GET", "whois", h_whois},
		{"GET", "netcheck", h_netcheck},
	};
	struct http_server_config cfg = {.idle_timeout_ms = 0};
	struct localapi *api;
	char route[64], dir[256], *slash;
	int ret;

	if (strlen(path) >= sizeof(api->path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	api = calloc(1, sizeof(*api));
	if (!api)
		return -ENOMEM;
	api->b = b;
	api->operator_uid = operator_uid;
	snprintf(api->path, sizeof(api->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			free(api);
			return -errno;
		}
	}
	cfg.idle_timeout_ms = 600000;
	ret = http_server_new(&api->srv, loop, &cfg);
	if (ret)
		goto err_free;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		snprintf(route, sizeof(route), "%s%s", prefix, routes[i].name);
		ret = http_server_route(api->srv, routes[i].method, route, HTTP_MATCH_EXACT,
					routes[i].cb, api);
		if (ret)
			goto err_close;
	}
	/* World-connectable: every request is authorised by SO_PEERCRED below, so
	 * anyone may read status but only root and the operator may change things. */
	ret = http_server_listen_unix(api->srv, path, 0666);
	if (ret) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
			 ret == -EADDRINUSE ? "another meshd is running there" : strerror(-ret));
		goto err_close;
	}
	*out = api;
	return 0;

err_close:
	http_server_close(api->srv, NULL, NULL);
err_free:
	if (!err[0])
		snprintf(err, errlen, "cannot start the local API: %s", strerror(-ret));
	free(api);
	return ret;
}

void localapi_stop(struct localapi *api)
{
	if (!api)
		return;
	for (unsigned i = 0; i < MAX_STREAMS; i++) {
		struct stream *s = api->streams[i];

		if (!s)
			continue;
		if (s->is_ping)
			backend_ping_cancel(api->b, ping_event, s);
		else
			backend_unwatch(api->b, watch_event, s);
		stream_finish(s);
	}
	http_server_close(api->srv, NULL, NULL);
	free(api);
}
