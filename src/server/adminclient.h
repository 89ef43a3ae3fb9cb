/* SPDX-License-Identifier: MIT */
/*
 * The client side of the admin socket (docs/protocol.md, "Admin socket"), for
 * meshcontrol's admin commands and for tools and tests that drive a server.
 */
#ifndef MESH_SERVER_ADMINCLIENT_H
#define MESH_SERVER_ADMINCLIENT_H

#include <stdio.h>

#include <cjson/cJSON.h>

enum adminclient_limits {
	ADMINCLIENT_TIMEOUT_S = 30, /* seconds to wait for the server, each direction */
};

/**
 * Send {"method": @method, "params": @params} to the server on @socket_path
 * (@params is consumed; NULL sends {}) and wait for the reply. Returns its
 * "result" (the caller frees it; a JSON null for methods without one), or NULL
 * after printing one line to @errs: the server's error sentence, or why it
 * could not be reached ("cannot reach the server at PATH: is 'meshcontrol
 * serve' running?").
 */
cJSON *adminclient_call(const char *socket_path, const char *method, cJSON *params, FILE *errs);

#endif
