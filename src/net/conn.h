/* SPDX-License-Identifier: MIT */
/*
 * A byte stream over libuv TCP, optionally wrapped in TLS, so HTTP and the
 * protocols that take over a connection after an HTTP Upgrade (the relay) see
 * plaintext and never care which it is. Callbacks follow libuv: a read
 * callback gets nread > 0 with data, or a negative errno (UV_EOF at the end).
 *
 * Ownership: whoever holds a net_conn closes it with net_conn_close() exactly
 * once, also after an error; the memory is freed after the close callback.
 * Callbacks may call any function here, including net_conn_close().
 */
#ifndef MESH_NET_CONN_H
#define MESH_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <uv.h>

struct net_conn;
struct tls_config;

/** Plaintext arrived (@nread > 0 bytes at @buf), or the stream ended (@nread < 0, @buf NULL). */
typedef void net_conn_read_cb(struct net_conn *c, ssize_t nread, const uint8_t *buf, void *arg);

/** net_conn_connect() finished: @status 0 (connected, TLS verified) or a negative errno. */
typedef void net_conn_connect_cb(struct net_conn *c, int status, void *arg);

/** The connection is fully closed; @c is freed right after this returns. */
typedef void net_conn_close_cb(struct net_conn *c, void *arg);

/**
 * Accept a connection from the listening @server into a new net_conn. With
 * @tls (a server configuration) the handshake runs once reading starts and
 * the read callback only ever sees plaintext. Returns 0 or a negative errno.
 */
int net_conn_accept(struct net_conn **out, uv_stream_t *server, struct tls_config *tls);

/**
 * Connect to @addr. With @tls (a client configuration) a TLS handshake
 * follows and the server certificate must be valid for @server_name. @cb runs
 * once; on failure net_conn_strerror() says why and the caller still closes @c.
 */
int net_conn_connect(struct net_conn **out, uv_loop_t *loop, const struct sockaddr *addr,
		     struct tls_config *tls, const char *server_name, net_conn_connect_cb *cb,
		     void *arg);

/** Set the read callback and its argument (replaces the previous ones). */
void net_conn_set_read_cb(struct net_conn *c, net_conn_read_cb *cb, void *arg);

/**
 * Start delivering data to the read callback. Bytes pushed back with
 * net_conn_unread() or already decrypted are delivered first, from the loop
 * (never from inside this call). Returns 0 or a negative errno.
 */
int net_conn_read_start(struct net_conn *c);

/** Stop delivering data (backpressure); buffered input stays for the next net_conn_read_start(). */
void net_conn_read_stop(struct net_conn *c);

/**
 * Put @len bytes back in front of the input: they are delivered before
 * anything else. Used to hand over bytes read past an HTTP Upgrade.
 */
int net_conn_unread(struct net_conn *c, const uint8_t *buf, size_t len);

/**
 * Queue @len bytes for sending (copied; TLS-encrypted if needed). Returns 0, or
 * a negative errno once the connection failed or is closing.
 */
int net_conn_write(struct net_conn *c, const void *buf, size_t len);

/** Bytes accepted by net_conn_write() that the kernel has not taken yet. */
size_t net_conn_write_queue_size(const struct net_conn *c);

/**
 * Close @c: stop reading, let queued writes drain (bounded by a short linger
 * time), send TLS close_notify and FIN, then release everything. @cb (may be
 * NULL) runs when done. No read or connect callback runs after this call.
 */
void net_conn_close(struct net_conn *c, net_conn_close_cb *cb, void *arg);

/** Why the last operation failed: a TLS reason, or libuv's text for the errno. */
const char *net_conn_strerror(const struct net_conn *c);

/** The peer as "IP:PORT" ("[IPV6]:PORT"), or "?" if unknown. */
/** The peer's uid for an accepted Unix-socket connection (SO_PEERCRED), else (uid_t)-1. */
uid_t net_conn_peer_uid(const struct net_conn *c);

const char *net_conn_peer(struct net_conn *c);

/** The loop @c runs on. */
uv_loop_t *net_conn_loop(const struct net_conn *c);

#endif
