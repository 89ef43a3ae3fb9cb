/* SPDX-License-Identifier: MIT */
/*
 * The control API over HTTP(S): GET /key, POST /machine/register, POST
 * /machine/map and GET /health (docs/protocol.md, "Control protocol").
 * Requests are opened with the server key and turned into registry calls;
 * map streams are handed to sessions.c.
 *
 * Errors that are not sealed answers are JSON, {"error": SENTENCE}: 400 for
 * what cannot be opened or decoded (the sender is not authenticated, so
 * nothing is sealed to it), 403 for a map request of an unknown or expired
 * node, 413 for a body over the limit, 500/503 for the server's own
 * trouble. A refused registration (bad auth key, expired key) is a normal
 * sealed answer with "error" set, so the node can show why.
 *
 * An interactive registration that is still pending is held open (long
 * poll) until an administrator approves it or followup_timeout_ms pass,
 * whichever comes first; the answer then is authorized, or pending again.
 */
#ifndef MESH_SERVER_CONTROLAPI_H
#define MESH_SERVER_CONTROLAPI_H

#include <stdint.h>

#include <uv.h>

#include "server/netmap.h"
#include "server/registry.h"
#include "server/sessions.h"

struct controlapi;
struct http_server;

/* Zero in a field means the default beside it. */
struct controlapi_options {
	uv_loop_t *loop;
	struct registry *reg;
	struct netmap *nm;
	struct sessions *sessions;
	const uint8_t *server_public;	  /* CTL_KEY_LEN bytes */
	const uint8_t *server_private;	  /* copied; wiped when the API is freed */
	unsigned int followup_timeout_ms; /* 60 s */
};

/** Create the API. Returns 0 or -ENOMEM. */
int controlapi_create(struct controlapi **out, const struct controlapi_options *opt);

/** Route the API's four paths on @srv to @api. Returns 0 or a negative errno. */
int controlapi_route(struct controlapi *api, struct http_server *srv);

/**
 * Answer every registration still waiting (with its pending id, so the node
 * asks again), stop listening to the registry, and free @api once its timer
 * has closed (from the loop). NULL is fine.
 */
void controlapi_close(struct controlapi *api);

#endif
