/* SPDX-License-Identifier: MIT */
/*
 * The admin socket: a Unix stream socket (mode 0600) on the server's libuv
 * loop. Only root and the server's own user may connect (SO_PEERCRED). Each
 * line received is one admin API request (adminapi.h); each reply is one line.
 */
#ifndef MESH_SERVER_ADMIN_H
#define MESH_SERVER_ADMIN_H

#include <uv.h>

#include "server/registry.h"

enum admin_limits {
	ADMIN_MAX_CONNECTIONS = 64,
};

struct admin;

/**
 * Listen on @path. A socket file left by a dead server is replaced; one a live
 * server answers on is not (-EADDRINUSE). The parent directory is created if
 * missing. Returns 0, -ENAMETOOLONG, or another negative errno (logged).
 */
int admin_start(struct admin **out, uv_loop_t *loop, const char *path, struct registry *reg);

/**
 * Stop listening, close every connection and remove the socket file. The admin
 * is freed once libuv has closed its last handle; then @done(@arg) runs.
 */
void admin_stop(struct admin *a, void (*done)(void *arg), void *arg);

#endif
