/* SPDX-License-Identifier: MIT */
/*
 * The wg UAPI on its Unix socket, /var/run/wireguard/IFACE.sock, where `wg`
 * looks for userspace implementations (and prefers them to the kernel).
 *
 * A libuv pipe listener; each connection may carry several requests
 * ("get=1\n\n", or "set=1\n" + lines + "\n"), each answered by its lines and
 * "errno=N\n\n". Requests are executed as their lines arrive, so memory per
 * connection is bounded: one line (UAPI_LINE_MAX) of input, and about
 * UAPI_SERVER_BACKLOG of answers the client has not read yet (reading from
 * it pauses beyond that). A set that fails skips the rest of its lines and
 * answers the error at its blank line.
 *
 * The socket file is watched: when it is deleted or replaced while serving,
 * the owner is told to exit (wireguard.com/xplatform asks implementations to
 * die gracefully then). A socket left behind by a dead process is replaced at
 * start; one that another live process answers on is not.
 */
#ifndef MESH_WG_UAPI_SERVER_H
#define MESH_WG_UAPI_SERVER_H

#include <stdbool.h>

#include <uv.h>

#include "wg/device.h"

enum uapi_server_limits {
	UAPI_SERVER_CHECK_MS = 2000,   /* fallback poll of the socket file, beside inotify */
	UAPI_SERVER_BACKLOG = 1 << 20, /* unsent answer bytes before a connection is paused */
};

struct uapi_server_config {
	const char *dir;   /* "/var/run/wireguard" */
	const char *iface; /* the socket is "<dir>/<iface>.sock" */
	bool read_only;	   /* answer set requests with -EPERM (mesh mode) */
	/* Called once when the socket file disappears; the owner should stop and exit. */
	void (*on_gone)(void *ctx);
	void *ctx;
};

struct uapi_server;

/**
 * Create "<dir>" (mode 0755) if missing, listen on "<dir>/<iface>.sock"
 * (root-only: created under umask 077) and serve @dev on @loop. Returns 0;
 * -EINVAL for an interface name that is empty, too long for IFNAMSIZ or
 * contains '/'; -EADDRINUSE if another process serves that socket; or
 * another negative errno.
 */
int uapi_server_start(struct uapi_server **out, uv_loop_t *loop, struct wg_device *dev,
		      const struct uapi_server_config *cfg);

/** The socket path being served. */
const char *uapi_server_path(const struct uapi_server *srv);

/**
 * Stop serving: close every connection and the listener, remove the socket
 * file if it is still ours, and free @srv once libuv has closed its handles
 * (keep running the loop). @dev is not touched after this returns.
 */
void uapi_server_stop(struct uapi_server *srv);

#endif
