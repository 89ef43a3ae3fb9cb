/* SPDX-License-Identifier: MIT */
/*
 * The admin API: one JSON request in, one JSON response out, no I/O. The admin
 * socket (admin.c) frames these as lines; docs/protocol.md ("Admin socket")
 * lists every method. Requests are {"method": "nodes.list", "params": {...}};
 * responses are {"ok": true, "result": ...} or {"ok": false, "error": "...",
 * "code": "ENOENT"}.
 */
#ifndef MESH_SERVER_ADMINAPI_H
#define MESH_SERVER_ADMINAPI_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "server/registry.h"

enum adminapi_limits {
	ADMINAPI_MAX_REQUEST = 4 << 20, /* bytes of one request line (a policy fits) */
};

/**
 * Handle one request line (@len bytes, no newline) against @reg and return the
 * response as a heap string without a newline (free()), or NULL on ENOMEM.
 */
char *adminapi_handle(struct registry *reg, const char *line, size_t len);

/**
 * The JSON object for @node as `meshcontrol nodes list --json` shows it:
 * id, name, fqdn, user (null if tagged), tags, addresses, online, last_seen,
 * expiry, routes {advertised, approved}, plus hostname, os, ephemeral, expired,
 * created, node_key. @routes/@n_routes are the node's rows (others are skipped).
 */
cJSON *adminapi_node_json(struct registry *reg, const struct store_node *node,
			  const struct store_route *routes, size_t n_routes);

#endif
