/* SPDX-License-Identifier: MIT */
/*
 * The node side of the control protocol, on the loop: learn the server's
 * key, register (or renew, or log out), and keep a map stream open.
 *
 * The map stream reconnects by itself after any failure, with exponential
 * backoff from 1 s capped at 30 s (reset once a frame arrives), and resends
 * the last map request, so the server's first frame after a reconnect is a
 * full map again. While the control server is unreachable nothing else
 * changes: the engine keeps the peers it has.
 */
#ifndef MESH_CONTROL_CLIENT_H
#define MESH_CONTROL_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "control/msg.h"

struct ctl_client;
struct tls_config;

struct ctl_client_ops {
	/*
	 * A register call finished: @err 0 with @resp (the callee may move
	 * things out of it; the client frees it after), or a negative errno
	 * and @errmsg ("cannot reach https://...: connection refused").
	 */
	void (*on_register)(void *ctx, int err, const char *errmsg,
			    struct ctl_register_response *resp);
	/* One frame of the map stream (owned by the client; moved-from parts are fine). */
	void (*on_map_frame)(void *ctx, struct ctl_map_response *frame);
	/* The map stream went up (@error NULL) or down (@error says why). */
	void (*on_map_state)(void *ctx, bool connected, const char *error);
};

struct ctl_client_config {
	const char *server_url;		/* "https://mesh.example.com" (no trailing path) */
	const uint8_t *machine_private; /* 32 bytes, copied */
	const uint8_t *server_public;	/* 32 bytes if already known (state file), else NULL */
	const char *tls_ca_file;	/* extra trust anchor for https, may be NULL */
};

/**
 * Create a client. Nothing is sent until a call below. Returns 0, -EINVAL
 * (bad URL), -ENOKEY (https without any usable CA) or -ENOMEM; *@errmsg
 * points to a static or client-owned reason on failure.
 */
int ctl_client_new(struct ctl_client **out, uv_loop_t *loop, const struct ctl_client_config *cfg,
		   const struct ctl_client_ops *ops, void *ctx, char *err, size_t errlen);

/** Cancel everything; no callback runs after this returns. Frees once handles close. */
void ctl_client_free(struct ctl_client *c);

/** The server's public key, once known (from the config or GET /key). */
const uint8_t *ctl_client_server_key(const struct ctl_client *c);

/**
 * Send a register request (fetching the server key first if needed). One at
 * a time: a new call cancels the one in flight. Returns 0 or a negative
 * errno without calling back.
 */
int ctl_client_register(struct ctl_client *c, const struct ctl_register_request *req);

/**
 * Start (or restart with a new request) the map stream; @req is copied.
 * Endpoint changes later go through ctl_client_map_restart() with the new
 * endpoints (the server pushes them to peers at once).
 */
int ctl_client_map_start(struct ctl_client *c, const struct ctl_map_request *req);

/** Stop the map stream (no reconnect). */
void ctl_client_map_stop(struct ctl_client *c);

/** True while a map stream is open and has delivered at least one frame. */
bool ctl_client_map_connected(const struct ctl_client *c);

#endif
