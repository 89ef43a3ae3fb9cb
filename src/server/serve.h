/* SPDX-License-Identifier: MIT */
/*
 * `meshcontrol serve`: open the store (creating its directory), make the
 * server's key on first start, build the registry, listen on the admin socket,
 * start the embedded relay and STUN server (relay.enabled), serve the control
 * API over HTTP(S) on "listen" (with the relay on /relay), run periodic
 * housekeeping, and stop cleanly on SIGTERM or SIGINT: map streams end, nodes
 * go offline, the database is closed last.
 */
#ifndef MESH_SERVER_SERVE_H
#define MESH_SERVER_SERVE_H

#include "server/config.h"

enum serve_timing {
	SERVE_TICK_MS = 15 * 1000, /* registry housekeeping period */
};

/** Run the server until a signal stops it. Returns the process exit code (0, 1 or 78). */
int serve_run(const struct config *cfg);

#endif
