/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard device: one static identity, its peers, the allowed-IPs
 * routing table and the packet paths between a TUN-like "inside" and a
 * UDP-like "outside". Everything runs on one libuv loop thread.
 *
 * The device does not own its I/O. The inside and outside are injected as
 * small ops structs, so the bare engine (`meshd wireguard`: TUN fd + UDP
 * socket) and the mesh daemon (TUN + magicsock) drive the same code, and tests
 * can drive it with in-memory pipes:
 *
 *   inside  -> wg_device_tun_input()   (plaintext IP packets from the TUN)
 *   outside -> wg_device_net_input()   (WireGuard messages from the network)
 *   device  -> net_ops.send()          (WireGuard messages to an endpoint)
 *   device  -> tun_ops.write()         (decrypted IP packets to the TUN)
 *
 * Buffers are struct pktbuf from the device's pool (util/pktbuf.h), with the
 * remote UDP endpoint in pktbuf.endpoint: input functions take ownership of
 * the buffers they are given and return them to the pool; send/write
 * callbacks borrow them for the duration of the call.
 */
#ifndef MESH_WG_DEVICE_H
#define MESH_WG_DEVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <uv.h>

#include "util/ipaddr.h"
#include "util/pktbuf.h"

struct wg_device;
struct wg_peer;

enum wg_device_limits {
	WG_DEVICE_BATCH = 64,	    /* packets handled per input call / flush */
	WG_DEVICE_POOL_SIZE = 4096, /* packet buffers in the device pool */
	WG_DEVICE_DEFAULT_MTU = 1420,
};

/** How the device sends WireGuard messages to the network. */
struct wg_net_ops {
	/*
	 * Send @n messages, each to its own bufs[i]->endpoint. bufs[i]->peer
	 * is the struct wg_peer it is for (NULL for cookie replies, which go
	 * to whoever sent the handshake). Returns the number handed to the
	 * network (errors are counted by the device). Must not keep the
	 * buffers.
	 */
	unsigned (*send)(void *ctx, struct pktbuf *const *bufs, unsigned n);
	/* Optional: (re)bind to @port (0 = random); report the bound port. */
	int (*bind)(void *ctx, uint16_t port, uint32_t fwmark, uint16_t *bound_port);
};

/** How the device delivers decrypted packets to the inside (TUN). */
struct wg_tun_ops {
	/* Write @n IP packets. Must not keep the buffers. */
	void (*write)(void *ctx, struct pktbuf *const *bufs, unsigned n);
};

/** Counters for `wg show`, status output and tests. */
struct wg_peer_stats {
	uint64_t rx_bytes; /* WireGuard message bytes received, handshakes included */
	uint64_t tx_bytes;
	int64_t last_handshake_sec; /* wall clock; 0 = never */
	int64_t last_handshake_nsec;
};

/** Device-wide drop and error counters (every dropped packet is counted once). */
struct wg_device_stats {
	uint64_t rx_packets, tx_packets;
	uint64_t drop_malformed;   /* bad type, reserved bits, wrong length */
	uint64_t drop_mac;	   /* invalid mac1 / mac2 */
	uint64_t drop_handshake;   /* handshake failed to authenticate or was replayed */
	uint64_t drop_ratelimited; /* token bucket under load */
	uint64_t drop_no_keypair;  /* unknown receiver index / expired session */
	uint64_t drop_decrypt;	   /* AEAD failed */
	uint64_t drop_replay;	   /* counter replayed or too old */
	uint64_t drop_allowed_ips; /* inner source not in the peer's allowed IPs */
	uint64_t drop_no_peer;	   /* TUN packet with no allowed-IPs match */
	uint64_t drop_no_endpoint; /* peer has no endpoint yet */
	uint64_t drop_staged;	   /* staged queue full / flushed on give-up */
	uint64_t drop_nobuf;	   /* pool exhausted */
	uint64_t cookie_replies_sent;
};

/**
 * Create a device on @loop. @net and @tun (with their contexts) stay owned by
 * the caller and must outlive the device. Returns 0 or -ENOMEM.
 */
int wg_device_create(struct wg_device **out, uv_loop_t *loop, const struct wg_net_ops *net,
		     void *net_ctx, const struct wg_tun_ops *tun, void *tun_ctx);

/** Remove every peer, wipe keys, stop timers; frees once libuv has closed its handles. */
void wg_device_destroy(struct wg_device *dev);

/** The device's packet pool (inputs get their buffers here). */
struct pktbuf_pool *wg_device_pool(struct wg_device *dev);

/**
 * Hand @n plaintext IP packets read from the TUN to the device: routed by
 * allowed IPs, encrypted in place and sent (or staged while a handshake
 * runs). Takes ownership of the buffers.
 */
void wg_device_tun_input(struct wg_device *dev, struct pktbuf **bufs, unsigned n);

/**
 * Hand @n messages received from the network to the device; each buffer's
 * endpoint field holds the sender's address. Takes ownership of the buffers.
 */
void wg_device_net_input(struct wg_device *dev, struct pktbuf **bufs, unsigned n);

/* ---- configuration (the UAPI and the daemon use these) ---- */

/** Set the static private key; all zeros removes it. Peers' sessions are reset. */
int wg_device_set_private_key(struct wg_device *dev, const uint8_t key[32]);
/** Copy out the (clamped) private key; false if none is set. */
bool wg_device_get_private_key(struct wg_device *dev, uint8_t out[32]);
/** (Re)bind the outside to @port, 0 = random. Returns 0 or a negative errno. */
int wg_device_set_listen_port(struct wg_device *dev, uint16_t port);
uint16_t wg_device_get_listen_port(struct wg_device *dev);
int wg_device_set_fwmark(struct wg_device *dev, uint32_t fwmark);
uint32_t wg_device_get_fwmark(struct wg_device *dev);
void wg_device_get_stats(struct wg_device *dev, struct wg_device_stats *out);
/** The inside MTU: data messages are padded to 16 bytes without exceeding it. */
void wg_device_set_mtu(struct wg_device *dev, unsigned mtu);
/** Bring the device up (sending allowed) or down (all sessions dropped). */
void wg_device_set_up(struct wg_device *dev, bool up);

/** Find a peer by public key, or NULL. */
struct wg_peer *wg_device_peer_lookup(struct wg_device *dev, const uint8_t public_key[32]);
/** Create a peer (which must not exist yet). Returns 0, -EEXIST or -ENOMEM. */
int wg_device_peer_create(struct wg_device *dev, const uint8_t public_key[32],
			  struct wg_peer **out);
/** Remove every peer. */
void wg_device_remove_all_peers(struct wg_device *dev);
/** Call @cb for every peer in creation order; stop early when it returns non-zero. */
int wg_device_for_each_peer(struct wg_device *dev, int (*cb)(struct wg_peer *, void *), void *ctx);
unsigned wg_device_peer_count(struct wg_device *dev);

/** Remove @peer: its sessions are wiped and its allowed IPs dropped. */
void wg_peer_remove(struct wg_peer *peer);
const uint8_t *wg_peer_public_key(const struct wg_peer *peer);
/** Set the preshared key (all zeros = none). */
void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[32]);
void wg_peer_get_preshared_key(const struct wg_peer *peer, uint8_t out[32]);
void wg_peer_set_endpoint(struct wg_peer *peer, const struct ip_endpoint *ep);
bool wg_peer_get_endpoint(const struct wg_peer *peer, struct ip_endpoint *out);
/** Interval in seconds, 0 = off; going from off to on sends a keepalive at once. */
void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t interval);
uint16_t wg_peer_get_persistent_keepalive(const struct wg_peer *peer);
/** Add a prefix (host bits masked); a prefix owned by another peer moves here. */
int wg_peer_add_allowed_ip(struct wg_peer *peer, const struct ip_prefix *prefix);
int wg_peer_remove_allowed_ip(struct wg_peer *peer, const struct ip_prefix *prefix);
void wg_peer_clear_allowed_ips(struct wg_peer *peer);
/** Call @cb for each of the peer's prefixes (stable order). */
void wg_peer_for_each_allowed_ip(struct wg_peer *peer, void (*cb)(const struct ip_prefix *, void *),
				 void *ctx);
void wg_peer_get_stats(const struct wg_peer *peer, struct wg_peer_stats *out);

#endif
