/* SPDX-License-Identifier: MIT */
/*
 * The engine's private structures, shared by device.c (configuration and
 * lifetime), peer.c (sessions, handshakes, timers glue), send.c and
 * receive.c (the two packet paths). Nothing outside src/wg includes this:
 * the contract with the rest of the program is device.h.
 *
 * Threading: everything here runs on the device's loop thread. A later
 * crypto worker pool would take batches from send.c/receive.c; keypairs are
 * separately allocated (not inside the peer) so that in-flight work can keep
 * one alive after it leaves its slot.
 */
#ifndef MESH_WG_INTERNAL_H
#define MESH_WG_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "util/pktbuf.h"
#include "wg/allowedips.h"
#include "wg/cookie.h"
#include "wg/device.h"
#include "wg/noise.h"
#include "wg/peerlookup.h"
#include "wg/ratelimiter.h"
#include "wg/replay.h"
#include "wg/timers.h"

/* One session: noise's keys plus what the engine keeps beside them. */
struct wg_keypair {
	struct noise_keypair noise;
	struct replay_window replay; /* receive side, checked after decryption */
	struct wg_index_entry entry; /* our index -> this keypair */
	struct wg_peer *peer;
};

struct wg_peer {
	struct wg_device *dev;
	struct wg_pubkey_entry pubkey; /* key = the peer's static public key */
	struct noise_handshake handshake;
	struct wg_index_entry
		handshake_entry; /* registered while an initiation/response is pending */
	struct noise_keypairs keypairs;
	struct cookie_maker cookie;
	struct wg_timers timers;

	uv_timer_t timer;   /* one OS timer for the five deadlines */
	uint64_t timer_due; /* when it is armed to fire (monotonic ns), 0 = idle */

	struct ip_endpoint endpoint;
	bool has_endpoint;
	bool sent_lastminute_handshake;
	bool dead; /* unlinked from every table, waiting for its timer to close */
	uint64_t last_sent_handshake; /* monotonic ns; sender rate limit */

	/* Packets waiting for a session, oldest first; bounded by MAX_STAGED_PACKETS. */
	struct pktbuf *staged_head, *staged_tail;
	unsigned staged_len;
	bool in_tx_list; /* on dev->touched during a TUN batch */
	struct wg_peer *touched_next;

	uint64_t rx_bytes, tx_bytes;
	int64_t last_handshake_sec, last_handshake_nsec;
	uint16_t persistent_keepalive;

	struct wg_peer *next, *prev; /* device list, creation order */
};

struct wg_device {
	uv_loop_t *loop;
	const struct wg_net_ops *net;
	void *net_ctx;
	const struct wg_tun_ops *tun;
	void *tun_ctx;

	struct noise_static_identity identity;
	struct noise_ops noise_ops;
	struct cookie_checker cookie_checker;
	struct wg_ratelimiter ratelimiter;
	struct wg_allowedips allowedips;
	struct wg_index_table index_table;
	struct wg_pubkey_table pubkey_table;
	struct pktbuf_pool pool;

	struct wg_peer *peers_head, *peers_tail;
	unsigned peer_count;

	uint16_t listen_port;
	uint32_t fwmark;
	unsigned mtu;
	bool up;

	/* Under-load detection: handshake messages seen in the current second. */
	uint64_t handshake_window_start;
	unsigned handshake_window_count;
	uint64_t under_load_until;

	/* Messages waiting for net->send (flushed when full and at the end of each entry point). */
	struct pktbuf *tx[WG_DEVICE_BATCH];
	unsigned tx_len;
	/* Decrypted packets waiting for tun->write. */
	struct pktbuf *rx[WG_DEVICE_BATCH];
	unsigned rx_len;

	struct wg_device_stats stats;
};

/* Monotonic and wall clocks in nanoseconds. */
uint64_t wg_now_ns(void);
uint64_t wg_wall_ns(void);

/* device.c */
void wg_device_queue_tx(struct wg_device *dev, struct pktbuf *b);
void wg_device_flush_tx(struct wg_device *dev);
void wg_device_queue_rx(struct wg_device *dev, struct pktbuf *b);
void wg_device_flush_rx(struct wg_device *dev);

/* peer.c */
void wg_peer_timers_update(struct wg_peer *peer);
void wg_peer_send_handshake_initiation(struct wg_peer *peer, bool is_retry, uint64_t now);
void wg_peer_send_keepalive(struct wg_peer *peer, uint64_t now);
void wg_peer_stage_packet(struct wg_peer *peer, struct pktbuf *b);
void wg_peer_send_staged(struct wg_peer *peer, uint64_t now);
void wg_peer_drop_staged(struct wg_peer *peer);
void wg_peer_zero_key_material(struct wg_peer *peer);
void wg_peer_keypair_free(struct wg_keypair *kp);
/* The wall-clock stamp `wg show` reports as the latest handshake. */
void wg_peer_note_handshake_complete(struct wg_peer *peer);
/* Roaming: the authenticated source of a packet becomes the peer's endpoint. */
void wg_peer_update_endpoint(struct wg_peer *peer, const struct ip_endpoint *src);
/* Account an authenticated message we send, and queue it for the network. */
void wg_peer_tx(struct wg_peer *peer, struct pktbuf *b, bool is_data, uint64_t now);
int wg_peer_init(struct wg_peer *peer, struct wg_device *dev, const uint8_t public_key[32]);
void wg_peer_destroy(struct wg_peer *peer);

/* receive.c */
void wg_receive_batch(struct wg_device *dev, struct pktbuf **bufs, unsigned n);

#endif
