/* SPDX-License-Identifier: MIT */
/*
 * The relay server: clients connected by node key, packets forwarded by
 * destination key. It runs on connections someone else accepted and
 * upgraded (meshrelay's HTTP server, or meshcontrol's on its own port), so it
 * owns no listener: hand each upgraded connection to
 * relay_server_handle_upgrade(), or route "/relay" to
 * relay_server_http_handler().
 *
 * Guarantees: a slow or stuck client only ever loses its own packets (each
 * client has a bounded queue that drops its oldest packet when full, and a
 * client that takes nothing for write_timeout_ms is disconnected); a
 * malformed frame closes only the connection that sent it; a client is
 * addressable only after proving its node key; the payloads are opaque
 * (WireGuard ciphertext, sealed disco messages) and never inspected.
 */
#ifndef MESH_RELAY_RELAY_SERVER_H
#define MESH_RELAY_RELAY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "relay/relay_proto.h"

/* Where the relay lives on an HTTP server, and the protocol name of the Upgrade. */
#define RELAY_HTTP_PATH	       "/relay"
#define RELAY_UPGRADE_PROTOCOL "meshrelay"

struct relay_server;
struct relay_verify;
struct net_conn;
struct http_exchange;
struct http_request;

/**
 * Decide whether the node @key (connecting from @peer, "IP:PORT") may use
 * the relay. The answer is given by calling relay_verify_done(@v, ...)
 * exactly once, now or later (after an HTTP request, say), even if the
 * client has left meanwhile or the server was closed.
 */
typedef void relay_verify_cb(struct relay_verify *v, const uint8_t key[RELAY_KEY_LEN],
			     const char *peer, void *arg);

/** The server has closed every connection and freed itself. */
typedef void relay_server_closed_cb(void *arg);

/* Zero in any field means the default given beside it. */
struct relay_server_config {
	const uint8_t *private_key;	   /* Curve25519, copied; NULL: a fresh random key */
	unsigned int keepalive_ms;	   /* KeepAlive to each client: 60 s, plus jitter */
	unsigned int handshake_timeout_ms; /* upgrade to admission: 10 s */
	unsigned int write_timeout_ms;	   /* a client that takes no queued frame this long: 10 s */
	unsigned int queue_depth;	   /* frames held for a client that is behind: 32 */
	size_t queue_bytes;		   /* ... and at most this many bytes: 1 MiB */
	relay_verify_cb *verify;	   /* NULL: every client that proves its key may connect */
	void *verify_arg;
};

/* Counters since start, and the current numbers of clients and connections. */
struct relay_server_stats {
	uint64_t clients;	     /* admitted clients connected now */
	uint64_t connections;	     /* connections now, in any state */
	uint64_t accepted;	     /* connections handed to the server */
	uint64_t packets_forwarded;  /* accepted for a connected destination */
	uint64_t bytes_forwarded;    /* their data bytes */
	uint64_t drops_unknown_dst;  /* destination not connected */
	uint64_t drops_queue_full;   /* dropped from a slow client's queue */
	uint64_t protocol_errors;    /* connections closed for a malformed or unexpected frame */
	uint64_t handshake_failures; /* no valid key proof (wrong key, replay, timeout) */
	uint64_t denied;	     /* refused by the verify hook */
	uint64_t replaced;	     /* closed because a newer connection took the key */
	uint64_t stuck;		     /* closed for not reading */
};

/* One connected client, as the server sees it. */
struct relay_client_stats {
	size_t queued_frames; /* waiting in its bounded queue */
	size_t queued_bytes;
	size_t write_queued; /* handed to the connection, not yet taken by the kernel */
	uint64_t dropped;    /* frames dropped for it */
	uint64_t packets_in; /* packets it sent that were forwarded */
	uint64_t packets_out;
};

/** Create a server on @loop (@cfg may be NULL: defaults). Returns 0 or a negative errno. */
int relay_server_new(struct relay_server **out, uv_loop_t *loop,
		     const struct relay_server_config *cfg);

/** The server's public key (announced in ServerKey). */
void relay_server_public_key(const struct relay_server *srv, uint8_t pub[RELAY_KEY_LEN]);

/**
 * Take over @conn, which just switched to the relay protocol, with @len
 * bytes the client sent past the Upgrade (@already_read, may be NULL) to be
 * read first. The server owns @conn from now on, also on failure (it is then
 * closed). Returns 0 or a negative errno (-ESHUTDOWN once closing).
 */
int relay_server_handle_upgrade(struct relay_server *srv, struct net_conn *conn,
				const uint8_t *already_read, size_t len);

/**
 * An http_handler_cb for RELAY_HTTP_PATH with the server as its argument:
 * upgrades requests that ask for RELAY_UPGRADE_PROTOCOL, answers others with
 * 426, and 503 once the server is closing.
 */
void relay_server_http_handler(struct http_exchange *ex, const struct http_request *req, void *arg);

/** Answer a verification: admit the client if @allow, else refuse it. Frees @v. */
void relay_verify_done(struct relay_verify *v, bool allow);

/** Copy the counters of @srv into @out. */
void relay_server_get_stats(const struct relay_server *srv, struct relay_server_stats *out);

/**
 * Fill @out for the client connected with @key. Returns 0, or -ENOENT when
 * no admitted client has that key.
 */
int relay_server_client_stats(const struct relay_server *srv, const uint8_t key[RELAY_KEY_LEN],
			      struct relay_client_stats *out);

/**
 * Close every connection and free @srv; @cb (may be NULL) runs from the
 * loop when done. With @restart_in_ms non-zero each admitted client first
 * gets Restarting (reconnect in @restart_in_ms, keep trying for
 * @try_for_ms), so it comes back quickly instead of backing off. An HTTP
 * route to relay_server_http_handler() must not outlive @srv: close that
 * HTTP server first or together (upgrades that arrive meanwhile get 503).
 */
void relay_server_close(struct relay_server *srv, uint32_t restart_in_ms, uint32_t try_for_ms,
			relay_server_closed_cb *cb, void *arg);

#endif
