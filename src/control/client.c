// SPDX-License-Identifier: MIT
/*
 * Control client. Requests are kept as JSON text and sealed afresh for each
 * attempt (a new nonce every time), so a reconnect never replays bytes.
 * Every callback into the owner happens from a libuv callback, never from
 * inside a call the owner made.
 */
#include "control/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "control/proto.h"
#include "control/seal.h"
#include "net/http_client.h"
#include "net/tls.h"
#include "util/compiler.h"
#include "util/log.h"

enum {
	BACKOFF_MIN_MS = 1000,
	BACKOFF_MAX_MS = 30000,
	REQUEST_TIMEOUT_MS = 30000,
	/* The server sends a keep-alive well within this; silence means a dead path. */
	STREAM_IDLE_MS = 120000,
};

struct ctl_client {
	uv_loop_t *loop;
	char *url;
	uint8_t machine_private[CTL_KEY_LEN];
	uint8_t server_public[CTL_KEY_LEN];
	bool has_server_key;
	struct ctl_box box; /* machine key ⇄ server key */
	struct tls_config *tls;
	const struct ctl_client_ops *ops;
	void *ctx;

	/* register */
	struct http_client_req *key_req;
	struct http_client_req *reg_req;
	char *reg_json; /* pending register request, waiting for the server key */
	size_t reg_len;

	/* map stream */
	struct http_client_req *map_req;
	char *map_json;
	size_t map_len;
	bool map_wanted;
	bool map_connected;
	struct ctl_frame_reader reader;
	uv_timer_t retry;
	unsigned backoff_ms;
	bool closing;
};

static char *join_url(const char *base, const char *path)
{
	size_t n = strlen(base) + strlen(path) + 1;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%s", base, path);
	return s;
}

static int request(struct ctl_client *c, struct http_client_req **out, const char *path,
		   const void *body, size_t len, bool stream, http_client_data_cb *on_data,
		   http_client_done_cb *on_done)
{
	struct http_client_options o = {
		.method = body ? "POST" : "GET",
		.body = body,
		.body_len = len,
		.content_type = body ? CTL_CONTENT_SEALED : NULL,
		.tls = c->tls,
		.timeout_ms = REQUEST_TIMEOUT_MS,
		.idle_timeout_ms = stream ? STREAM_IDLE_MS : 0,
		.on_data = on_data,
		.on_done = on_done,
		.arg = c,
	};
	char *url = join_url(c->url, path);
	int ret;

	if (!url)
		return -ENOMEM;
	o.url = url;
	ret = http_client_request(out, c->loop, &o);
	free(url);
	return ret;
}

/* ---- server key ---- */

static int send_register(struct ctl_client *c);
static void retry_cb(uv_timer_t *t);

static void set_server_key(struct ctl_client *c, const uint8_t key[CTL_KEY_LEN])
{
	memcpy(c->server_public, key, CTL_KEY_LEN);
	c->has_server_key = !ctl_box_init(&c->box, c->machine_private, key);
}

static void fail_register(struct ctl_client *c, int err, const char *msg)
{
	free(c->reg_json);
	c->reg_json = NULL;
	if (c->ops->on_register)
		c->ops->on_register(c->ctx, err, msg, NULL);
}

static void key_done(struct http_client_req *req, int err, const char *errmsg,
		     const struct http_response *resp, void *arg)
{
	struct ctl_client *c = arg;
	struct ctl_server_key key;
	struct ctl_err e = {{0}};
	char msg[256];

	(void)req;
	c->key_req = NULL;
	if (err) {
		snprintf(msg, sizeof(msg), "cannot reach %s: %s", c->url, errmsg);
		fail_register(c, err, msg);
		return;
	}
	if (resp->status != 200 || ctl_server_key_decode(&key, resp->body, resp->body_len, &e)) {
		snprintf(msg, sizeof(msg), "%s is not a meshcontrol server (GET %s: %d %s)", c->url,
			 CTL_PATH_KEY, resp->status, e.msg);
		fail_register(c, -EPROTO, msg);
		return;
	}
	set_server_key(c, key.public_key);
	if (!c->has_server_key) {
		fail_register(c, -EPROTO, "the server's key is invalid");
		return;
	}
	if (c->reg_json && send_register(c))
		fail_register(c, -EIO, "cannot send the registration");
	if (c->map_wanted && !c->map_req)
		uv_timer_start(&c->retry, retry_cb, 0, 0);
}

static int fetch_key(struct ctl_client *c)
{
	if (c->key_req)
		return 0;
	return request(c, &c->key_req, CTL_PATH_KEY, NULL, 0, false, NULL, key_done);
}

/* ---- register ---- */

static void register_done(struct http_client_req *req, int err, const char *errmsg,
			  const struct http_response *resp, void *arg)
{
	struct ctl_client *c = arg;
	struct ctl_register_response r = {0};
	struct ctl_err e = {{0}};
	char msg[320];

	(void)req;
	c->reg_req = NULL;
	free(c->reg_json);
	c->reg_json = NULL;
	if (err) {
		snprintf(msg, sizeof(msg), "cannot reach %s: %s", c->url, errmsg);
		c->ops->on_register(c->ctx, err, msg, NULL);
		return;
	}
	if (resp->status != 200) {
		snprintf(msg, sizeof(msg), "registration refused by %s: HTTP %d %.*s", c->url,
			 resp->status, (int)(resp->body_len > 200 ? 200 : resp->body_len),
			 resp->body ? (const char *)resp->body : "");
		c->ops->on_register(c->ctx, -EACCES, msg, NULL);
		return;
	}
	if (ctl_register_response_open(&r, &c->box, resp->body, resp->body_len, &e)) {
		snprintf(msg, sizeof(msg), "bad registration response from %s: %s", c->url, e.msg);
		ctl_register_response_free(&r);
		c->ops->on_register(c->ctx, -EPROTO, msg, NULL);
		return;
	}
	c->ops->on_register(c->ctx, 0, NULL, &r);
	ctl_register_response_free(&r);
}

static int send_register(struct ctl_client *c)
{
	uint8_t *body;
	size_t len;
	int ret;

	ret = ctl_request_seal(c->machine_private, c->server_public, (const uint8_t *)c->reg_json,
			       c->reg_len, &body, &len);
	if (ret)
		return ret;
	ret = request(c, &c->reg_req, CTL_PATH_REGISTER, body, len, false, NULL, register_done);
	free(body);
	return ret;
}

int ctl_client_register(struct ctl_client *c, const struct ctl_register_request *req)
{
	int ret;

	if (c->reg_req) {
		http_client_cancel(c->reg_req);
		c->reg_req = NULL;
	}
	free(c->reg_json);
	c->reg_json = NULL;
	ret = ctl_register_request_encode(req, &c->reg_json, &c->reg_len);
	if (ret)
		return ret;
	if (!c->has_server_key)
		return fetch_key(c);
	return send_register(c);
}

/* ---- map stream ---- */

static void map_schedule_retry(struct ctl_client *c)
{
	unsigned delay = c->backoff_ms;

	if (!c->map_wanted || c->closing)
		return;
	/* Jitter of up to a quarter, so a restarted server is not hit in lockstep. */
	delay += randombytes_uniform(delay / 4 + 1);
	c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
	uv_timer_start(&c->retry, retry_cb, delay, 0);
}

static void map_set_connected(struct ctl_client *c, bool up, const char *why)
{
	if (c->map_connected == up)
		return;
	c->map_connected = up;
	if (c->ops->on_map_state)
		c->ops->on_map_state(c->ctx, up, why);
}

static void map_data(struct http_client_req *req, const uint8_t *data, size_t len, void *arg)
{
	struct ctl_client *c = arg;
	const uint8_t *payload;
	size_t plen;
	int ret;

	(void)req;
	if (ctl_frame_reader_feed(&c->reader, data, len)) {
		log_warn("control", "map stream: bad framing from %s", c->url);
		return;
	}
	while ((ret = ctl_frame_reader_next(&c->reader, &payload, &plen)) > 0) {
		struct ctl_map_response m = {0};
		struct ctl_err e = {{0}};

		if (ctl_map_response_open(&m, &c->box, payload, plen, &e)) {
			log_warn("control", "map stream: dropping a bad frame: %s", e.msg);
			ctl_map_response_free(&m);
			continue;
		}
		c->backoff_ms = BACKOFF_MIN_MS;
		map_set_connected(c, true, NULL);
		if (c->ops->on_map_frame)
			c->ops->on_map_frame(c->ctx, &m);
		ctl_map_response_free(&m);
		if (!c->map_req)
			return; /* the owner stopped or restarted the stream */
	}
}

static void map_done(struct http_client_req *req, int err, const char *errmsg,
		     const struct http_response *resp, void *arg)
{
	struct ctl_client *c = arg;
	char msg[320];

	if (req != c->map_req)
		return;
	c->map_req = NULL;
	ctl_frame_reader_free(&c->reader);
	if (err)
		snprintf(msg, sizeof(msg), "map stream to %s: %s", c->url, errmsg);
	else
		snprintf(msg, sizeof(msg), "map stream to %s ended (HTTP %d)", c->url,
			 resp ? resp->status : 0);
	log_info("control", "%s; reconnecting", msg);
	map_set_connected(c, false, msg);
	map_schedule_retry(c);
}

static int map_connect(struct ctl_client *c)
{
	uint8_t *body;
	size_t len;
	int ret;

	if (!c->has_server_key)
		return fetch_key(c);
	ret = ctl_request_seal(c->machine_private, c->server_public, (const uint8_t *)c->map_json,
			       c->map_len, &body, &len);
	if (ret)
		return ret;
	ctl_frame_reader_init(&c->reader);
	ret = request(c, &c->map_req, CTL_PATH_MAP, body, len, true, map_data, map_done);
	free(body);
	return ret;
}

static void retry_cb(uv_timer_t *t)
{
	struct ctl_client *c = container_of(t, struct ctl_client, retry);

	if (c->map_wanted && !c->map_req && map_connect(c))
		map_schedule_retry(c);
}

int ctl_client_map_start(struct ctl_client *c, const struct ctl_map_request *req)
{
	char *json;
	size_t len;
	int ret;

	ret = ctl_map_request_encode(req, &json, &len);
	if (ret)
		return ret;
	ctl_client_map_stop(c);
	c->map_json = json;
	c->map_len = len;
	c->map_wanted = true;
	c->backoff_ms = BACKOFF_MIN_MS;
	ret = map_connect(c);
	if (ret)
		map_schedule_retry(c);
	return 0;
}

void ctl_client_map_stop(struct ctl_client *c)
{
	c->map_wanted = false;
	uv_timer_stop(&c->retry);
	if (c->map_req) {
		struct http_client_req *r = c->map_req;

		c->map_req = NULL;
		http_client_cancel(r);
		ctl_frame_reader_free(&c->reader);
	}
	c->map_connected = false;
	free(c->map_json);
	c->map_json = NULL;
}

bool ctl_client_map_connected(const struct ctl_client *c)
{
	return c->map_connected;
}

const uint8_t *ctl_client_server_key(const struct ctl_client *c)
{
	return c->has_server_key ? c->server_public : NULL;
}

/* ---- lifetime ---- */

int ctl_client_new(struct ctl_client **out, uv_loop_t *loop, const struct ctl_client_config *cfg,
		   const struct ctl_client_ops *ops, void *ctx, char *err, size_t errlen)
{
	struct ctl_client *c;
	size_t n;
	int ret;

	if (strncmp(cfg->server_url, "http://", 7) && strncmp(cfg->server_url, "https://", 8)) {
		snprintf(err, errlen, "login server must be an http:// or https:// URL: %s",
			 cfg->server_url);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->ops = ops;
	c->ctx = ctx;
	c->backoff_ms = BACKOFF_MIN_MS;
	c->url = strdup(cfg->server_url);
	if (!c->url) {
		free(c);
		return -ENOMEM;
	}
	n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	memcpy(c->machine_private, cfg->machine_private, CTL_KEY_LEN);
	if (cfg->server_public)
		set_server_key(c, cfg->server_public);
	if (!strncmp(c->url, "https://", 8)) {
		ret = tls_config_new_client(&c->tls, true, cfg->tls_ca_file, err, errlen);
		if (ret) {
			sodium_memzero(c->machine_private, sizeof(c->machine_private));
			free(c->url);
			free(c);
			return ret;
		}
	}
	uv_timer_init(loop, &c->retry);
	*out = c;
	return 0;
}

static void client_free_cb(uv_handle_t *h)
{
	struct ctl_client *c = container_of(h, struct ctl_client, retry);

	tls_config_free(c->tls);
	free(c->url);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

void ctl_client_free(struct ctl_client *c)
{
	if (!c)
		return;
	c->closing = true;
	ctl_client_map_stop(c);
	if (c->key_req)
		http_client_cancel(c->key_req);
	if (c->reg_req)
		http_client_cancel(c->reg_req);
	free(c->reg_json);
	c->reg_json = NULL;
	ctl_box_wipe(&c->box);
	sodium_memzero(c->machine_private, sizeof(c->machine_private));
	uv_close((uv_handle_t *)&c->retry, client_free_cb);
}
