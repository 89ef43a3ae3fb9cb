/* SPDX-License-Identifier: MIT */
/*
 * magicsock: the WireGuard device's outside in the mesh daemon. One UDP
 * socket (dual-stack) carries WireGuard, STUN and disco, told apart by their
 * first bytes (magicsock_classify()); relay connections carry the same
 * WireGuard and disco packets when no direct path works. The device sends
 * "to a peer" (pktbuf.peer), and magicsock picks the path: the peer's best
 * direct address while a recent pong vouches for it, otherwise the relay
 * region the peer calls home (see endpoint.h for the policy, netcheck.h for
 * how the home region and our public addresses are found, and the
 * "magicsock" section of docs/architecture.md).
 *
 * Wiring it to a device:
 *
 *	magicsock_new(&ms, loop, &cfg);                    // cfg.sink unset
 *	wg_device_create(&dev, loop, &magicsock_net_ops, ms, &tun_ops, tun_ctx);
 *	magicsock_set_sink(ms, &(struct magicsock_sink){
 *		device_input, dev, wg_device_pool(dev)});  // device_input calls wg_device_net_input
 *	wg_device_set_listen_port(dev, port);              // binds the socket (net_ops.bind)
 *	magicsock_set_relay_map(ms, map);                  // from the netmap
 *	magicsock_set_peers(ms, peers, npeers);            // likewise, after every change
 *	for each peer: wg_peer_set_endpoint(peer, &pseudo) // magicsock_peer_pseudo_endpoint()
 *
 * The device needs some endpoint per peer before it sends at all; give it
 * the peer's pseudo-endpoint, an address in the discard prefix 100::/64
 * that names the peer (not a path). Packets that arrive through a relay
 * carry that same pseudo-endpoint as their source, so the engine's roaming
 * never moves a peer anywhere magicsock did not choose, and cookie replies
 * (sent to the source, with no peer) find their way back through the relay.
 *
 * Callbacks run on the loop. They may call any function here except
 * magicsock_free(), and none runs after magicsock_free().
 */
#ifndef MESH_MAGICSOCK_MAGICSOCK_H
#define MESH_MAGICSOCK_MAGICSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "magicsock/netcheck.h"
#include "util/ipaddr.h"
#include "util/pktbuf.h"
#include "wg/device.h"

struct magicsock;
struct tls_config;
struct ctl_node;
struct ctl_relay_map;

enum magicsock_limits {
	MAGICSOCK_MAX_LOCAL_ENDPOINTS = 32,
	MAGICSOCK_REGION_CODE_LEN = 32,
	MAGICSOCK_RELAY_QUEUE_PACKETS = 32, /* held per region while its connection comes up */
	MAGICSOCK_RELAY_QUEUE_BYTES = 256 * 1024,
};

enum magicsock_timing {
	MAGICSOCK_RESTUN_MIN_MS = 20 * 1000, /* while packets flow: re-STUN every 20-26 s */
	MAGICSOCK_RESTUN_MAX_MS = 26 * 1000,
	MAGICSOCK_RESTUN_IDLE_MS = 5 * 60 * 1000,
	MAGICSOCK_ENDPOINTS_FRESH_MS = 27 * 1000, /* older STUN results are redone on activity */
	MAGICSOCK_RELAY_IDLE_MS =
		60 * 1000, /* a non-home relay connection unused this long closes */
	MAGICSOCK_RELAY_GC_MS = 15 * 1000,
	MAGICSOCK_NETMON_DEBOUNCE_MS = 500,
};

/* What the first bytes of a datagram say it is. */
enum magicsock_packet_kind {
	MAGICSOCK_PACKET_UNKNOWN = 0,
	MAGICSOCK_PACKET_WIREGUARD,
	MAGICSOCK_PACKET_STUN,
	MAGICSOCK_PACKET_DISCO,
};

/**
 * Where received WireGuard messages go: a batch whose buffers came from
 * @pool, each with its source in pktbuf.endpoint; ownership passes to the
 * callee (wg_device_net_input() has this shape).
 */
struct magicsock_sink {
	void (*input)(void *ctx, struct pktbuf **bufs, unsigned int n);
	void *ctx;
	struct pktbuf_pool *pool;
};

/** Our local endpoints or home region changed: send them to the control server. */
typedef void magicsock_change_cb(struct magicsock *ms, void *arg);

struct magicsock_config {
	uint16_t port;	 /* UDP port to bind, 0 = random; used when the sink is set */
	uint32_t fwmark; /* SO_MARK on the socket, 0 = none */
	const uint8_t *node_private_key;  /* 32 bytes, copied: proves our key to relays */
	const uint8_t *disco_private_key; /* 32 bytes, copied */
	struct magicsock_sink sink;	  /* optional here: see magicsock_set_sink() */
	struct tls_config *relay_tls;	  /* TLS client config: relays use https; NULL: http */
	const char *exclude_ifname;	  /* our TUN: its addresses are never endpoints */
	bool no_netmon;			  /* do not watch netlink for address changes */
	magicsock_change_cb *on_change;
	void *arg;
};

/** One peer as magicsock needs it (magicsock_set_peers() builds these from the netmap). */
struct magicsock_peer {
	const uint8_t *node_key;  /* 32 bytes: the WireGuard public key */
	const uint8_t *disco_key; /* 32 bytes, or NULL: then relay only, never probed */
	const struct ip_endpoint *endpoints;
	size_t nendpoints;
	uint32_t home_region; /* 0 = unknown: its relay is where we last heard from it */
};

enum magicsock_path {
	MAGICSOCK_PATH_NONE = 0, /* no direct path and no relay to use */
	MAGICSOCK_PATH_RELAY,
	MAGICSOCK_PATH_DIRECT,
};

/** A peer's path for status output. */
struct magicsock_path_info {
	enum magicsock_path path;
	struct ip_endpoint endpoint; /* DIRECT: the address packets go to */
	uint32_t region_id;	     /* RELAY: the region packets go through */
	char region_code[MAGICSOCK_REGION_CODE_LEN + 1];
	uint32_t latency_us; /* DIRECT: round trip of the last pong */
};

/** The outcome of one magicsock_ping(). */
struct magicsock_ping_result {
	int err;     /* 0, -ETIMEDOUT (no pong within 5 s), -ECANCELED (peer removed) */
	bool direct; /* answered from @endpoint; else through relay @region_code */
	struct ip_endpoint endpoint;
	uint32_t region_id;
	char region_code[MAGICSOCK_REGION_CODE_LEN + 1];
	uint32_t latency_us;
};

typedef void magicsock_ping_cb(void *arg, const struct magicsock_ping_result *r);

/** A finished netcheck; preferred_region is the home region now in use. */
typedef void magicsock_netcheck_cb(void *arg, const struct netcheck_report *r);

struct magicsock_stats {
	uint64_t rx_udp_wireguard, rx_relay_wireguard;
	uint64_t tx_udp_wireguard, tx_relay_wireguard;
	uint64_t rx_disco, rx_stun;
	uint64_t tx_relay_queued;      /* held while the region's connection came up */
	uint64_t drop_unknown;	       /* datagrams that are neither WireGuard, STUN nor disco */
	uint64_t drop_disco_unknown;   /* sealed by a disco key that is no peer's */
	uint64_t drop_disco_bad;       /* failed to open: forged, corrupt, truncated */
	uint64_t drop_disco_replayed;  /* a ping txid seen before, or a pong nobody waits for */
	uint64_t drop_disco_misrouted; /* call-me-maybe over UDP, key mismatch with the relay */
	uint64_t drop_stun_bad;	       /* malformed STUN */
	uint64_t drop_stun_unexpected; /* valid STUN we did not ask for */
	uint64_t drop_relay_unknown;   /* relayed packets from keys that are no peer's */
	uint64_t drop_no_path;	       /* no peer, no direct path and no relay region */
	uint64_t drop_relay_full;      /* relay write queue or connect queue full */
	uint64_t drop_nobuf;	       /* packet pool empty */
};

/** The wg_net_ops to create a device with; the ops context is the struct magicsock. */
extern const struct wg_net_ops magicsock_net_ops;

/**
 * Create a magicsock on @loop. The keys are copied. If cfg->sink is set the
 * socket is bound now (cfg->port, cfg->fwmark); otherwise on
 * magicsock_set_sink(). Returns 0, -EINVAL (missing or invalid key), -ENOMEM,
 * or the bind's error.
 */
int magicsock_new(struct magicsock **out, uv_loop_t *loop, const struct magicsock_config *cfg);

/**
 * Set where WireGuard messages go (the device), and bind the socket now if
 * it is not bound yet. Returns 0 or the bind's error (-EADDRINUSE...).
 */
int magicsock_set_sink(struct magicsock *ms, const struct magicsock_sink *sink);

/**
 * (Re)bind the socket to @port (0 = random) with @fwmark, as net_ops.bind
 * does for the device; the bound port goes to *@bound_port. A new port
 * re-probes every peer. Returns 0, -EINVAL without a sink, or a bind error.
 */
int magicsock_bind(struct magicsock *ms, uint16_t port, uint32_t fwmark, uint16_t *bound_port);

/** The bound UDP port, 0 while unbound. */
uint16_t magicsock_port(const struct magicsock *ms);

/**
 * Use the relay regions in @map (copied): STUN servers for netcheck, relay
 * servers for paths. A netcheck follows at once; connections to regions no
 * longer in the map close. Returns 0 or -ENOMEM.
 */
int magicsock_set_relay_map(struct magicsock *ms, const struct ctl_relay_map *map);

/**
 * Add or update one peer (matched by node key). A changed disco key resets
 * its path state. Returns 0, -EINVAL or -ENOMEM.
 */
int magicsock_upsert_peer(struct magicsock *ms, const struct magicsock_peer *peer);

/** Remove a peer; its pending magicsock_ping()s end with -ECANCELED. 0 or -ENOENT. */
int magicsock_remove_peer(struct magicsock *ms, const uint8_t node_key[32]);

/**
 * Make the peer set exactly @peers (a netmap's): upsert each one that is not
 * expired, remove every other. Applying the same list twice changes nothing.
 * Returns 0 or the first error (the rest is still applied).
 */
int magicsock_set_peers(struct magicsock *ms, const struct ctl_node *peers, size_t n);

/**
 * The pseudo-endpoint to configure as the WireGuard peer's endpoint (see
 * the top of this file). Returns 0 or -ENOENT for an unknown peer.
 */
int magicsock_peer_pseudo_endpoint(const struct magicsock *ms, const uint8_t node_key[32],
				   struct ip_endpoint *out);

/** True if @ep is a pseudo-endpoint (a packet that came through a relay). */
bool magicsock_is_pseudo_endpoint(const struct ip_endpoint *ep);

/**
 * Our endpoints for the control server, best first: STUN-discovered
 * addresses, then interface addresses with our port. Returns how many were
 * written to @out (at most @max).
 */
unsigned int magicsock_local_endpoints(const struct magicsock *ms, struct ip_endpoint *out,
				       unsigned int max);

/** Our home relay region (lowest latency, sticky), 0 while unknown. */
uint32_t magicsock_home_region(const struct magicsock *ms);

/** The path packets to a peer take now. Returns 0 or -ENOENT. */
int magicsock_peer_path(const struct magicsock *ms, const uint8_t node_key[32],
			struct magicsock_path_info *out);

/**
 * Send one disco ping to a peer for `meshctl ping`: to its direct address
 * while one is trusted, else through its relay (which also starts probing).
 * @cb gets the result later, exactly once, never from inside this call.
 * Returns 0, -ENOENT (no such peer), -ENOTCONN (the peer has no disco key
 * or no path), or -ENOMEM.
 */
int magicsock_ping(struct magicsock *ms, const uint8_t node_key[32], magicsock_ping_cb *cb,
		   void *arg);

/**
 * Run a netcheck now (or join the one running) and hand the report to @cb
 * when it ends, never from inside this call. Returns 0 or -ENOMEM.
 */
int magicsock_netcheck(struct magicsock *ms, magicsock_netcheck_cb *cb, void *arg);

/** The last finished netcheck report, or NULL before the first one ends. */
const struct netcheck_report *magicsock_last_report(const struct magicsock *ms);

/**
 * Our network changed (an address or link came or went): re-read interface
 * addresses, redo netcheck, and re-probe every peer. The built-in netlink
 * watcher calls this itself; call it for events it cannot see.
 */
void magicsock_network_changed(struct magicsock *ms);

/** Demultiplex: what a datagram starting with @buf (@len bytes) is. */
enum magicsock_packet_kind magicsock_classify(const uint8_t *buf, size_t len);

/** "direct", "relay", or NULL for none (status JSON's "path"). */
const char *magicsock_path_name(enum magicsock_path path);

void magicsock_get_stats(const struct magicsock *ms, struct magicsock_stats *out);

/**
 * Close the socket, relay connections and timers, wipe the keys and free
 * @ms once libuv has closed its handles. Pending pings and netchecks get no
 * callback. Call it before wg_device_destroy() (so nothing reaches a dying
 * device); what the device still sends meanwhile is dropped.
 */
void magicsock_free(struct magicsock *ms);

#endif
