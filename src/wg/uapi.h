/* SPDX-License-Identifier: MIT */
/*
 * The cross-platform userspace configuration protocol ("UAPI") that `wg`
 * speaks to wireguard-go, served on /var/run/wireguard/IFACE.sock.
 *
 * This file is the protocol alone: a line executor and a formatter that
 * touch only the device API, so tests and fuzzers drive them without
 * sockets. wg/uapi_server.h puts them on the Unix socket.
 *
 * Semantics follow wireguard-go 0.0.20220316 exactly: a set stops at the
 * first bad line with the earlier lines applied and answers errno=-EINVAL
 * (unknown key, bad value), -EPROTO (a line without '='), -EADDRINUSE (the
 * port cannot be bound), -EIO; a get lists private_key, listen_port and
 * fwmark (each only if set), then per peer public_key, preshared_key,
 * protocol_version, endpoint (if known), last_handshake_time_sec/_nsec,
 * tx_bytes, rx_bytes, persistent_keepalive_interval and the allowed_ip lines.
 */
#ifndef MESH_WG_UAPI_H
#define MESH_WG_UAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/device.h"

enum uapi_limits {
	UAPI_LINE_MAX = 4096,	 /* the longest legal line is under 100 bytes */
	UAPI_GET_MAX = 64 << 20, /* a get answer larger than this fails with -ENOMEM */
};

/* ---- the pure layer ---- */

/** A growable text buffer for get answers. */
struct uapi_text {
	char *data;
	size_t len, cap;
};

/** Free @t's memory and reset it to empty. */
void uapi_text_free(struct uapi_text *t);

/*
 * The state of one set request between its lines. The current peer is kept
 * by key and looked up again for every line, so a peer removed meanwhile by
 * another connection is never touched through a stale pointer.
 */
struct uapi_set {
	struct wg_device *dev;
	bool in_peer; /* a public_key line was seen: peer keys from now on */
	bool dummy;   /* lines of this peer are parsed but not applied */
	bool created; /* the peer was created by this request's public_key line */
	uint8_t peer_key[32];
};

/** Start a set request on @dev. */
void uapi_set_begin(struct uapi_set *st, struct wg_device *dev);

/**
 * Apply one "key=value" line (@len bytes at @line, no newline, not
 * NUL-terminated, any bytes). Returns 0, or the negative errno to answer; the
 * request must then be abandoned (earlier lines stay applied).
 */
int uapi_set_line(struct uapi_set *st, const char *line, size_t len);

/** Finish a set request (successful or not); wipes the state. */
void uapi_set_end(struct uapi_set *st);

/**
 * Run a whole set request body: the lines after "set=1" in @buf (@len
 * bytes), each ending in '\n'; an empty line or the end of @buf ends it.
 * Returns 0 or the negative errno of the first bad line.
 */
int uapi_exec_set(struct wg_device *dev, const char *buf, size_t len);

/**
 * Append the answer to a get request for @dev to @out: every key line in
 * wireguard-go's order, without the closing "errno=0" line. Returns 0 or
 * -ENOMEM (@out then holds a partial answer that must not be sent).
 */
int uapi_format_get(struct wg_device *dev, struct uapi_text *out);

#endif
