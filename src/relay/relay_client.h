/* SPDX-License-Identifier: MIT */
/*
 * The relay client: one connection to one relay server, kept up. It
 * connects with an HTTP(S) Upgrade to the relay URL, proves the node key
 * (ClientInfo), then sends packets by destination key and delivers the
 * packets addressed to it. A lost connection (error, close, or silence
 * longer than twice the server's keepalive) is re-established with
 * exponential backoff and jitter; a Restarting notice from the server sets
 * the next delay instead.
 *
 * Callbacks run from the loop, never inside a call into this API; they may
 * call any function here, relay_client_free() included.
 */
#ifndef MESH_RELAY_RELAY_CLIENT_H
#define MESH_RELAY_RELAY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "relay/relay_proto.h"

struct relay_client;
struct tls_config;

/** A packet from @src arrived (@data is valid during the call only). */
typedef void relay_client_recv_cb(struct relay_client *rc, const uint8_t src[RELAY_KEY_LEN],
				  const uint8_t *data, size_t len, void *arg);

/** @key left the relay, or (RELAY_PEER_GONE_NOT_HERE) was never there when we sent to it. */
typedef void relay_client_peer_gone_cb(struct relay_client *rc, const uint8_t key[RELAY_KEY_LEN],
				       uint8_t reason, void *arg);

/**
 * The connection came up (@connected, handshake done) or went down or
 * failed to come up (@why: "certificate verify failed for ...", "HTTP 404",
 * "connection lost: ..."). A reconnect follows unless no_reconnect is set.
 */
typedef void relay_client_state_cb(struct relay_client *rc, bool connected, const char *why,
				   void *arg);

/** A Pong answering relay_client_ping() arrived. */
typedef void relay_client_pong_cb(struct relay_client *rc, const uint8_t data[RELAY_PING_LEN],
				  void *arg);

/** The server reported a problem (@text, printable ASCII) or cleared it (""). */
typedef void relay_client_health_cb(struct relay_client *rc, const char *text, void *arg);

/* Zero in any field means the default given beside it. */
struct relay_client_config {
	const char *url;		   /* "https://relay.example.com" (path "/relay" if none) */
	const uint8_t *private_key;	   /* the node's Curve25519 private key, copied */
	struct tls_config *tls;		   /* client configuration, needed for https; outlives us */
	const char *tls_server_name;	   /* verify this name instead of the URL's host */
	unsigned int connect_timeout_ms;   /* HTTP exchange plus handshake: 10 s */
	unsigned int backoff_min_ms;	   /* first reconnect delay: 250 ms */
	unsigned int backoff_max_ms;	   /* the delay doubles up to this: 30 s */
	unsigned int keepalive_timeout_ms; /* silence that means dead: 2 x server keepalive + 5 s */
	size_t max_write_queue;		   /* relay_client_send() refuses past this: 1 MiB */
	bool no_reconnect;		   /* give up after the first failure (tools) */
	relay_client_recv_cb *on_recv;
	relay_client_peer_gone_cb *on_peer_gone;
	relay_client_state_cb *on_state;
	relay_client_pong_cb *on_pong;
	relay_client_health_cb *on_health;
	void *arg;
};

/**
 * Create a client on @loop and start connecting. Everything in @cfg is
 * copied except @tls. Returns 0, or -EINVAL (no URL, no key, a key whose
 * public half is invalid) or -ENOMEM.
 */
int relay_client_new(struct relay_client **out, uv_loop_t *loop,
		     const struct relay_client_config *cfg);

/**
 * Send @len bytes of @data to the client with node key @dst. Returns 0
 * (queued; delivery is not confirmed), -ENOTCONN while not connected,
 * -EMSGSIZE past RELAY_MAX_PACKET_LEN, -ENOBUFS while more than
 * max_write_queue bytes wait to be sent, or another negative errno.
 */
int relay_client_send(struct relay_client *rc, const uint8_t dst[RELAY_KEY_LEN], const void *data,
		      size_t len);

/** Send a Ping with @data; the Pong comes to on_pong. Returns 0 or -ENOTCONN. */
int relay_client_ping(struct relay_client *rc, const uint8_t data[RELAY_PING_LEN]);

/** True between the on_state(connected) and on_state(!connected) callbacks. */
bool relay_client_connected(const struct relay_client *rc);

/** The node public key this client proves. */
void relay_client_public_key(const struct relay_client *rc, uint8_t pub[RELAY_KEY_LEN]);

/** The key of the server connected to now. Returns 0 or -ENOTCONN. */
int relay_client_server_key(const struct relay_client *rc, uint8_t pub[RELAY_KEY_LEN]);

/**
 * Stop: close the connection (letting queued frames drain), wipe the key
 * and free @rc from the loop. No callback runs after this call.
 */
void relay_client_free(struct relay_client *rc);

#endif
