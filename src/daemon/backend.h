/* SPDX-License-Identifier: MIT */
/*
 * meshd's backend: the node's state machine and the owner of every module.
 *
 *   NoState ──start──▶ NeedsLogin ──registered──▶ Starting ──first map──▶ Running
 *                           ▲                        │                       │
 *                           └──── logout / key expired ◀──────────────────────┘
 *   Stopped: logged in, but `down` (want_running false); `up` leaves it.
 *
 * The backend keeps the persisted state (keys, prefs, node), drives the
 * control client, applies each netmap to the engine (peers, allowed IPs)
 * and to the OS (addresses, routes), and reports progress to watchers (the
 * local API's watch streams). Everything runs on the loop thread.
 */
#ifndef MESH_DAEMON_BACKEND_H
#define MESH_DAEMON_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "daemon/prefs.h"
#include "util/ipaddr.h"

enum backend_state {
	BACKEND_NO_STATE,
	BACKEND_NEEDS_LOGIN,
	BACKEND_STARTING,
	BACKEND_RUNNING,
	BACKEND_STOPPED,
};

struct backend_config {
	const char *state_dir;
	const char *tun_name;
	uint16_t port;
	const char *tls_ca_file; /* extra CA for the control server, may be NULL */
};

struct backend;

/** A watcher gets every event as a JSON object (borrowed for the call). */
typedef void backend_event_cb(void *ctx, const cJSON *event);

/** The state's name as the local API spells it ("NeedsLogin"). */
const char *backend_state_name(enum backend_state s);

/**
 * Load the state, clean up what a crashed run may have left in the OS, and
 * resume: a node that wants to run comes up with its stored keys and
 * addresses without any human. Returns 0 or a negative errno with @err.
 */
int backend_start(struct backend **out, uv_loop_t *loop, const struct backend_config *cfg,
		  char *err, size_t errlen);

/** Take everything down (routes, addresses, interface), save, and free. */
void backend_shutdown(struct backend *b);

/** Remove whatever a previous meshd with this configuration left in the OS. */
int backend_cleanup_os(const struct backend_config *cfg, char *err, size_t errlen);

enum backend_state backend_get_state(const struct backend *b);

/**
 * `meshctl up`: merge @prefs (fields in @mask; @reset: others to defaults),
 * want running, and log in (with @auth_key if given) or resume. Progress and
 * errors go to the watchers. Returns 0, or a negative errno with @err for a
 * request that cannot start at all (no login server, invalid prefs).
 */
int backend_up(struct backend *b, const struct prefs *prefs, const struct prefs_mask *mask,
	       bool reset, const char *auth_key, char *err, size_t errlen);

/** `meshctl set`: merge prefs without changing the login state. */
int backend_set_prefs(struct backend *b, const struct prefs *prefs, const struct prefs_mask *mask,
		      bool reset, char *err, size_t errlen);

/** `meshctl down`: stop the tunnels; the node stays logged in. */
int backend_down(struct backend *b, char *err, size_t errlen);

/** `meshctl logout`: expire the node key on the server, forget it here. */
int backend_logout(struct backend *b, char *err, size_t errlen);

/** The current prefs. */
const struct prefs *backend_prefs(const struct backend *b);

/** The status object of docs/localapi.md (caller frees). */
cJSON *backend_status_json(struct backend *b);

/** The whois answer for a mesh address, or NULL if no node has it. */
cJSON *backend_whois_json(struct backend *b, const struct ip_addr *addr);

/** Resolve a peer by name or mesh IP: fills its first address of @family (4/6, 0 = any). */
int backend_resolve_peer(struct backend *b, const char *peer, int family, struct ip_addr *out,
			 char *name, size_t namelen);

/**
 * A ping result (docs/localapi.md), or the end of the session (@done; then
 * @result is NULL). Borrowed for the call.
 */
typedef void backend_ping_cb(void *ctx, const cJSON *result, bool done);

/**
 * Ping @peer (name or mesh IP) through the tunnel, once a second, until the
 * first pong over a direct path or @count results. Returns 0 or a negative
 * errno with @err (unknown peer, not running, too many sessions).
 */
int backend_ping(struct backend *b, const char *peer, unsigned count, backend_ping_cb *cb,
		 void *ctx, char *err, size_t errlen);

/** Stop the ping session of (@cb, @ctx) without calling back. */
void backend_ping_cancel(struct backend *b, backend_ping_cb *cb, void *ctx);

/** The netcheck report (docs/localapi.md) arrives here; borrowed for the call. */
typedef void backend_netcheck_cb(void *ctx, const cJSON *report, const char *error);

/**
 * Run a netcheck on magicsock's socket (STUN to every relay region). The
 * callback always comes later from the loop; -ENOTCONN when not running.
 */
int backend_netcheck(struct backend *b, backend_netcheck_cb *cb, void *ctx);

/** Add/remove a watcher; a new watcher first gets the current state. */
int backend_watch(struct backend *b, backend_event_cb *cb, void *ctx);
void backend_unwatch(struct backend *b, backend_event_cb *cb, void *ctx);

#endif
