// SPDX-License-Identifier: MIT
/*
 * The control API's HTTP handlers (see controlapi.h). Each handler opens the
 * sealed body, decides, and answers once; only a waiting interactive
 * registration and a map stream outlive the handler. The server key is the
 * one secret here: it is copied once and wiped when the API goes.
 */
#include "server/controlapi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "control/seal.h"
#include "net/http_server.h"
#include "util/log.h"

enum controlapi_defaults {
	DEF_FOLLOWUP_TIMEOUT_MS = 60 * 1000,
	TICK_MS = 1000,
	MAX_TAGS = 64,
};

/* An interactive registration waiting for `meshcontrol nodes register`. */
struct waiter {
	struct controlapi *api;
	struct http_exchange *ex;
	struct ctl_box box;
	char id[REGISTRY_PENDING_ID_LEN + 1];
	uint8_t machine_key[CTL_KEY_LEN];
	uint8_t node_key[CTL_KEY_LEN];
	uint64_t deadline; /* loop time */
	struct waiter *prev, *next;
};

struct controlapi {
	uv_loop_t *loop;
	struct registry *reg;
	struct netmap *nm;
	struct sessions *sessions;
	uint8_t pub[CTL_KEY_LEN];
	uint8_t priv[CTL_KEY_LEN];
	unsigned int followup_timeout_ms;
	struct registry_listener listener;
	struct waiter *waiters;
	uv_timer_t tick;
	bool closing;
};

/* ---- answers ---- */

static void respond_error(struct http_exchange *ex, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;

	if (o && cJSON_AddStringToObject(o, "error", msg))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text) {
		http_exchange_respond(ex, 503, "application/json", "{\"error\":\"out of memory\"}",
				      25);
		return;
	}
	http_exchange_respond(ex, status, "application/json", text, strlen(text));
	free(text);
}

static void respond_sealed(struct http_exchange *ex, const struct ctl_box *box,
			   const struct ctl_register_response *r)
{
	uint8_t *body;
	size_t len;
	int ret = ctl_register_response_seal(r, box, &body, &len);

	if (ret) {
		log_error("control", "cannot seal a register response: %s", strerror(-ret));
		respond_error(ex, 500, "cannot build the response");
		return;
	}
	http_exchange_respond(ex, 200, CTL_CONTENT_SEALED, body, len);
	free(body);
}

static void respond_refused(struct http_exchange *ex, const struct ctl_box *box, const char *why,
			    bool key_expired)
{
	struct ctl_register_response r = {
		.error = (char *)why,
		.node_key_expired = key_expired,
	};

	respond_sealed(ex, box, &r);
}

static void respond_pending(struct http_exchange *ex, const struct ctl_box *box, const char *id)
{
	struct ctl_register_response r = {.pending_id = (char *)id};

	respond_sealed(ex, box, &r);
}

/* The authorized answer for @node (everything points into locals: nothing to free). */
static void respond_authorized(struct http_exchange *ex, const struct ctl_box *box,
			       const struct store_node *node)
{
	char tags[STORE_TAGS_MAX], *tagv[MAX_TAGS], *save = NULL, *t;
	struct ctl_register_response r = {.authorized = true};
	struct ip_prefix addrs[2];

	r.node_id = (uint64_t)node->id;
	r.name = (char *)node->name;
	r.user = node->user_id ? (char *)node->user_name : NULL;
	r.key_expiry = node->expiry;
	snprintf(tags, sizeof(tags), "%s", node->tags);
	for (t = strtok_r(tags, ",", &save); t && r.ntags < MAX_TAGS;
	     t = strtok_r(NULL, ",", &save))
		tagv[r.ntags++] = t;
	r.tags = tagv;
	r.addresses = addrs;
	if (*node->ipv4 && !ip_addr_parse(&addrs[r.naddresses].addr, node->ipv4, NULL))
		addrs[r.naddresses++].bits = 32;
	if (*node->ipv6 && !ip_addr_parse(&addrs[r.naddresses].addr, node->ipv6, NULL))
		addrs[r.naddresses++].bits = 128;
	respond_sealed(ex, box, &r);
}

/* A body that does not open or decode: nobody to seal an answer to. */
static void respond_bad_request(struct http_exchange *ex, int ret, const struct ctl_err *e,
				const char *peer)
{
	char msg[256];

	switch (ret) {
	case -EBADMSG:
		snprintf(msg, sizeof(msg),
			 "the request is not sealed to this server's key "
			 "(fetch GET /key again)");
		break;
	case -EMSGSIZE:
		respond_error(ex, 413, "the request is too large");
		return;
	case -ENOMEM:
		respond_error(ex, 503, "out of memory");
		return;
	default:
		snprintf(msg, sizeof(msg), "bad request: %s",
			 *e->msg ? e->msg : "not a sealed control message");
		break;
	}
	log_debug("control", "refused a request peer=%s: %s", peer, msg);
	respond_error(ex, 400, msg);
}

/* ---- GET /key, GET /health ---- */

static void on_key(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct controlapi *api = arg;
	struct ctl_server_key k = {.version = CTL_PROTOCOL_VERSION};
	char *json;
	size_t len;

	(void)req;
	memcpy(k.public_key, api->pub, CTL_KEY_LEN);
	if (ctl_server_key_encode(&k, &json, &len)) {
		respond_error(ex, 500, "cannot encode the server key");
		return;
	}
	http_exchange_respond(ex, 200, "application/json", json, len);
	free(json);
}

static void on_health(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct controlapi *api = arg;
	struct sessions_stats st;
	char body[160];
	int n;

	(void)req;
	sessions_get_stats(api->sessions, &st);
	n = snprintf(body, sizeof(body), "{\"status\":\"ok\",\"nodes\":%zu,\"streams\":%zu}",
		     netmap_node_count(api->nm), st.streams);
	http_exchange_respond(ex, 200, "application/json", body, (size_t)n);
}

/* ---- POST /machine/register ---- */

/* What the registry needs from a register request; heap parts freed by request_free(). */
struct reg_req {
	struct registry_request rr;
	char (*routes)[IP_PREFIX_STRLEN];
	const char **route_ptrs;
	char *endpoints;
};

static char *endpoints_json(const struct ip_endpoint *e, size_t n)
{
	size_t cap = 3 + n * (IP_ENDPOINT_STRLEN + 3), o = 0;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	s[o++] = '[';
	for (size_t i = 0; i < n; i++) {
		char text[IP_ENDPOINT_STRLEN];

		ip_endpoint_format(&e[i], text, sizeof(text));
		o += (size_t)snprintf(s + o, cap - o, "%s\"%s\"", i ? "," : "", text);
	}
	s[o++] = ']';
	s[o] = '\0';
	return s;
}

static int routes_text(const struct ctl_hostinfo *h, char (**text)[IP_PREFIX_STRLEN],
		       const char ***ptrs)
{
	*text = calloc(h->nroutes ? h->nroutes : 1, sizeof(**text));
	*ptrs = calloc(h->nroutes ? h->nroutes : 1, sizeof(**ptrs));
	if (!*text || !*ptrs)
		return -ENOMEM;
	for (size_t i = 0; i < h->nroutes; i++) {
		ip_prefix_format(&h->routes[i], (*text)[i], IP_PREFIX_STRLEN);
		(*ptrs)[i] = (*text)[i];
	}
	return 0;
}

static void request_free(struct reg_req *q)
{
	free(q->routes);
	free(q->route_ptrs);
	free(q->endpoints);
}

static int request_init(struct reg_req *q, const struct ctl_register_request *m)
{
	memset(q, 0, sizeof(*q));
	memcpy(q->rr.machine_key, m->machine_key, CTL_KEY_LEN);
	memcpy(q->rr.node_key, m->node_key, CTL_KEY_LEN);
	memcpy(q->rr.disco_key, m->disco_key, CTL_KEY_LEN);
	q->rr.hostname = m->hostinfo.hostname;
	q->rr.os = m->hostinfo.os;
	if (routes_text(&m->hostinfo, &q->routes, &q->route_ptrs))
		return -ENOMEM;
	q->rr.routes = q->route_ptrs;
	q->rr.n_routes = m->hostinfo.nroutes;
	if (m->nendpoints) {
		q->endpoints = endpoints_json(m->endpoints, m->nendpoints);
		if (!q->endpoints)
			return -ENOMEM;
		q->rr.endpoints = q->endpoints;
	}
	return 0;
}

/* A registry failure: refusals the node should show, else our trouble. */
static void respond_registry_error(struct http_exchange *ex, const struct ctl_box *box, int ret,
				   const struct registry_error *err)
{
	switch (ret) {
	case -EACCES:
	case -EINVAL:
	case -ENOSPC:
	case -EEXIST:
	case -ENOENT:
		respond_refused(ex, box, *err->msg ? err->msg : strerror(-ret), false);
		break;
	case -EBUSY:
		respond_error(ex, 503, "the database is busy; try again");
		break;
	default:
		log_error("control", "registration failed: %s",
			  *err->msg ? err->msg : strerror(-ret));
		respond_error(ex, 500, "registration failed on the server");
		break;
	}
}

static void waiter_unlink(struct waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		w->api->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
}

static void waiter_free(struct waiter *w)
{
	waiter_unlink(w);
	ctl_box_wipe(&w->box);
	free(w);
}

static void waiter_abort(struct http_exchange *ex, void *arg)
{
	(void)ex;
	waiter_free(arg);
}

/*
 * The node asks about pending registration @id: hold the answer while it is
 * pending, else say what became of it.
 */
static void followup(struct controlapi *api, struct http_exchange *ex, const struct ctl_box *box,
		     const char *id, const uint8_t machine_key[CTL_KEY_LEN],
		     const uint8_t node_key[CTL_KEY_LEN], bool may_wait)
{
	struct store_node node;
	struct waiter *w;
	char msg[160];
	int ret = registry_pending_check(api->reg, id, machine_key);

	if (ret == -EACCES) {
		respond_refused(ex, box, "that registration belongs to another machine", false);
		return;
	}
	if (ret == -ENOENT) {
		/* Approved while the node was not waiting, or gone. */
		if (!registry_node_by_machine(api->reg, machine_key, &node) &&
		    !sodium_memcmp(node.node_key, node_key, CTL_KEY_LEN) &&
		    !registry_node_expired(api->reg, &node)) {
			respond_authorized(ex, box, &node);
			return;
		}
		snprintf(msg, sizeof(msg),
			 "registration %s is no longer pending (it timed out or was replaced): "
			 "log in again",
			 id);
		respond_refused(ex, box, msg, false);
		return;
	}
	if (!may_wait || api->closing) {
		respond_pending(ex, box, id);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		respond_pending(ex, box, id);
		return;
	}
	w->api = api;
	w->ex = ex;
	w->box = *box;
	snprintf(w->id, sizeof(w->id), "%s", id);
	memcpy(w->machine_key, machine_key, CTL_KEY_LEN);
	memcpy(w->node_key, node_key, CTL_KEY_LEN);
	w->deadline = uv_now(api->loop) + api->followup_timeout_ms;
	w->next = api->waiters;
	if (w->next)
		w->next->prev = w;
	api->waiters = w;
	http_exchange_on_abort(ex, waiter_abort, w);
}

/* No auth key: already registered, a key renewal, or an interactive login. */
static void register_interactive(struct controlapi *api, struct http_exchange *ex,
				 const struct ctl_box *box, const struct ctl_register_request *m,
				 const struct reg_req *q)
{
	struct registry_error err = {{0}};
	char id[REGISTRY_PENDING_ID_LEN + 1];
	struct store_node node;
	int ret;

	if (!registry_node_by_machine(api->reg, m->machine_key, &node)) {
		if (!sodium_memcmp(node.node_key, m->node_key, CTL_KEY_LEN)) {
			if (registry_node_expired(api->reg, &node)) {
				respond_refused(ex, box,
						"the node key has expired: log in again with a new "
						"node key",
						true);
				return;
			}
			respond_authorized(ex, box, &node);
			return;
		}
		if (m->has_old_node_key &&
		    !sodium_memcmp(node.node_key, m->old_node_key, CTL_KEY_LEN)) {
			ret = registry_node_renew(api->reg, m->machine_key, m->old_node_key,
						  m->node_key, m->disco_key, &node, &err);
			if (!ret) {
				respond_authorized(ex, box, &node);
				return;
			}
			if (ret != -EKEYEXPIRED) {
				respond_registry_error(ex, box, ret, &err);
				return;
			}
			/* Expired: renewing takes a login, like a new node. */
		}
	}
	ret = registry_register_pending(api->reg, &q->rr, id, &err);
	if (ret) {
		respond_registry_error(ex, box, ret, &err);
		return;
	}
	respond_pending(ex, box, id);
}

static void on_register(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct controlapi *api = arg;
	struct registry_error err = {{0}};
	struct ctl_register_request m;
	struct ctl_err e = {{0}};
	struct store_node node;
	struct ctl_box box;
	struct reg_req q;
	int ret;

	ret = ctl_register_request_open(&m, api->priv, req->body, req->body_len, &box, &e);
	if (ret) {
		respond_bad_request(ex, ret, &e, req->peer);
		ctl_register_request_free(&m);
		return;
	}
	if (request_init(&q, &m)) {
		respond_error(ex, 503, "out of memory");
		goto out_free;
	}
	if (m.logout) {
		ret = registry_node_logout(api->reg, m.machine_key, m.node_key, &err);
		if (ret)
			respond_registry_error(ex, &box, ret, &err);
		else
			respond_refused(ex, &box, "logged out", true);
	} else if (m.auth_key) {
		ret = registry_register_authkey(api->reg, &q.rr, m.auth_key, &node, &err);
		if (ret)
			respond_registry_error(ex, &box, ret, &err);
		else
			respond_authorized(ex, &box, &node);
	} else if (m.followup) {
		followup(api, ex, &box, m.followup, m.machine_key, m.node_key, true);
	} else {
		register_interactive(api, ex, &box, &m, &q);
	}
out_free:
	request_free(&q);
	ctl_register_request_free(&m);
	ctl_box_wipe(&box);
}

/* An admin approved a registration: answer whoever waits for it. */
static void on_registry_event(void *arg, const struct registry_event *ev)
{
	struct controlapi *api = arg;
	struct waiter *w, *next;

	if (ev->type != REGISTRY_PENDING_APPROVED || !ev->pending_id || !ev->node)
		return;
	for (w = api->waiters; w; w = next) {
		next = w->next;
		if (strcmp(w->id, ev->pending_id) ||
		    sodium_memcmp(w->machine_key, ev->node->machine_key, CTL_KEY_LEN))
			continue;
		respond_authorized(w->ex, &w->box, ev->node);
		waiter_free(w);
	}
}

static void on_tick(uv_timer_t *t)
{
	struct controlapi *api = t->data;
	uint64_t now = uv_now(api->loop);
	struct waiter *w, *next;

	for (w = api->waiters; w; w = next) {
		next = w->next;
		if (now < w->deadline)
			continue;
		followup(api, w->ex, &w->box, w->id, w->machine_key, w->node_key, false);
		waiter_free(w);
	}
}

/* ---- POST /machine/map ---- */

static int map_report(struct controlapi *api, int64_t id, const struct ctl_map_request *m,
		      struct registry_error *err)
{
	struct registry_report r = {.disco_key = m->disco_key};
	char(*routes)[IP_PREFIX_STRLEN] = NULL;
	const char **ptrs = NULL;
	char *endpoints = NULL;
	int ret = 0;

	/* An empty list leaves the known endpoints alone (see docs/protocol.md). */
	if (m->nendpoints) {
		endpoints = endpoints_json(m->endpoints, m->nendpoints);
		if (!endpoints)
			return -ENOMEM;
		r.endpoints = endpoints;
	}
	if (m->has_hostinfo) {
		r.hostname = m->hostinfo.hostname;
		r.os = m->hostinfo.os;
		ret = routes_text(&m->hostinfo, &routes, &ptrs);
		r.has_routes = true;
		r.routes = ptrs;
		r.n_routes = m->hostinfo.nroutes;
	}
	if (!ret)
		ret = registry_node_report(api->reg, id, &r, NULL, err);
	free(endpoints);
	free(routes);
	free(ptrs);
	return ret;
}

static void map_once(struct controlapi *api, struct http_exchange *ex, const struct ctl_box *box,
		     int64_t id)
{
	uint8_t *frame;
	size_t len, flen;
	char *json;
	int ret;

	sessions_flush(api->sessions);
	ret = netmap_full_json(api->nm, id, 1, &json, &len);
	if (!ret) {
		ret = ctl_frame_seal(box, (const uint8_t *)json, len, &frame, &flen);
		free(json);
	}
	if (ret) {
		log_error("control", "cannot build the map of node %lld: %s", (long long)id,
			  strerror(-ret));
		respond_error(ex, ret == -ENOENT ? 403 : 500, "cannot build the map");
		return;
	}
	http_exchange_respond(ex, 200, CTL_CONTENT_FRAMES, frame, flen);
	free(frame);
}

static void on_map(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct controlapi *api = arg;
	struct registry_error err = {{0}};
	struct ctl_map_request m;
	struct ctl_err e = {{0}};
	struct ctl_box box;
	int64_t id = 0;
	int ret;

	ret = ctl_map_request_open(&m, api->priv, req->body, req->body_len, &box, &e);
	if (ret) {
		respond_bad_request(ex, ret, &e, req->peer);
		ctl_map_request_free(&m);
		return;
	}
	ret = netmap_node_auth(api->nm, m.machine_key, m.node_key, &id);
	if (ret) {
		respond_error(ex, 403,
			      ret == -EKEYEXPIRED
				      ? "the node key has expired: register again"
				      : "this node key is not registered to this machine: register "
					"first");
		goto out_free;
	}
	ret = map_report(api, id, &m, &err);
	if (ret) {
		respond_error(ex,
			      ret == -EINVAL   ? 400
			      : ret == -ENOENT ? 403
					       : 500,
			      *err.msg ? err.msg : strerror(-ret));
		goto out_free;
	}
	if (m.omit_peers)
		http_exchange_respond(ex, 200, NULL, NULL, 0);
	else if (!m.stream)
		map_once(api, ex, &box, id);
	else
		sessions_stream(api->sessions, ex, id, m.machine_key, &box);
out_free:
	ctl_map_request_free(&m);
	ctl_box_wipe(&box);
}

/* ---- lifetime ---- */

int controlapi_create(struct controlapi **out, const struct controlapi_options *opt)
{
	struct controlapi *api = calloc(1, sizeof(*api));

	*out = NULL;
	if (!api)
		return -ENOMEM;
	api->loop = opt->loop;
	api->reg = opt->reg;
	api->nm = opt->nm;
	api->sessions = opt->sessions;
	memcpy(api->pub, opt->server_public, CTL_KEY_LEN);
	memcpy(api->priv, opt->server_private, CTL_KEY_LEN);
	api->followup_timeout_ms =
		opt->followup_timeout_ms ? opt->followup_timeout_ms : DEF_FOLLOWUP_TIMEOUT_MS;
	uv_timer_init(api->loop, &api->tick);
	api->tick.data = api;
	uv_timer_start(&api->tick, on_tick, TICK_MS, TICK_MS);
	api->listener.fn = on_registry_event;
	api->listener.arg = api;
	registry_listen(api->reg, &api->listener);
	*out = api;
	return 0;
}

int controlapi_route(struct controlapi *api, struct http_server *srv)
{
	int ret = http_server_route(srv, "GET", CTL_PATH_KEY, HTTP_MATCH_EXACT, on_key, api);

	if (!ret)
		ret = http_server_route(srv, "POST", CTL_PATH_REGISTER, HTTP_MATCH_EXACT,
					on_register, api);
	if (!ret)
		ret = http_server_route(srv, "POST", CTL_PATH_MAP, HTTP_MATCH_EXACT, on_map, api);
	if (!ret)
		ret = http_server_route(srv, "GET", "/health", HTTP_MATCH_EXACT, on_health, api);
	return ret;
}

static void on_closed(uv_handle_t *h)
{
	struct controlapi *api = h->data;

	sodium_memzero(api->priv, sizeof(api->priv));
	free(api);
}

void controlapi_close(struct controlapi *api)
{
	if (!api || api->closing)
		return;
	api->closing = true;
	registry_unlisten(api->reg, &api->listener);
	while (api->waiters) {
		struct waiter *w = api->waiters;

		respond_pending(w->ex, &w->box, w->id);
		waiter_free(w);
	}
	uv_close((uv_handle_t *)&api->tick, on_closed);
}
