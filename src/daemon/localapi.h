/* SPDX-License-Identifier: MIT */
/*
 * The local API: HTTP/1.1 + JSON on a Unix socket for meshctl (and curl).
 * Every endpoint and object is specified in docs/localapi.md. The caller's
 * uid comes from SO_PEERCRED: root, meshd's own uid and the operator may
 * change things; others may only read.
 */
#ifndef MESH_DAEMON_LOCALAPI_H
#define MESH_DAEMON_LOCALAPI_H

#include <sys/types.h>

#include <uv.h>

struct localapi;
struct backend;

/**
 * Listen on @path (its directory is created 0755; a stale socket is
 * replaced, a live one is an error), mode 0666: requests are authorised by
 * the caller's uid, not by file permissions. @operator_uid is (uid_t)-1
 * for none. Returns 0 or a negative errno with @err.
 */
int localapi_start(struct localapi **out, uv_loop_t *loop, struct backend *b, const char *path,
		   uid_t operator_uid, char *err, size_t errlen);

/** Close every connection and the socket (removing its file). NULL is fine. */
void localapi_stop(struct localapi *api);

#endif
