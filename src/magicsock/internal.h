/* SPDX-License-Identifier: MIT */
/*
 * magicsock's insides, shared by its files: magicsock.c (socket, demux,
 * the send path, disco in), peers.c (peer tables and timers, disco out),
 * regions.c (relay map, relay connections, netcheck runs and the home
 * region) and netmon.c (interface addresses and the netlink watcher).
 * Nothing outside src/magicsock includes this.
 */
#ifndef MESH_MAGICSOCK_INTERNAL_H
#define MESH_MAGICSOCK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "magicsock/endpoint.h"
#include "magicsock/magicsock.h"
#include "magicsock/netcheck.h"
#include "wg/bind_udp.h"

struct relay_client;

enum ms_internal_limits {
	MS_KEY_LEN = 32,
	MS_HASH_KEY_LEN = 16,  /* crypto_shorthash_KEYBYTES */
	MS_INITIAL_TABLE = 64, /* hash buckets and slots to start with */
	MS_MAX_IFADDRS = 24,
	/* The largest disco message we seal: a call-me-maybe with every endpoint. */
	MS_DISCO_MAX =
		DISCO_HEADER_LEN + DISCO_TAG_LEN + 2 + DISCO_MAX_ENDPOINTS * DISCO_ENDPOINT_LEN,
};

/* A relay region from the map, with what we resolved for it. */
struct ms_region {
	uint32_t id;
	char code[MAGICSOCK_REGION_CODE_LEN + 1];
	char *url;			 /* the first relay node's "/relay" URL; NULL: STUN only */
	char *server_name;		 /* the name TLS verifies when the URL holds an address */
	struct ip_endpoint stun4, stun6; /* the first STUN node's addresses (unset: none) */
	char *stun_host;		 /* to resolve, when the map gave no address */
	uint16_t stun_port;
	struct ms_resolve *resolve; /* in flight */
};

/* A packet waiting for its region's connection to come up. */
struct ms_relay_pkt {
	struct ms_relay_pkt *next;
	uint8_t dst[MS_KEY_LEN];
	size_t len;
	uint8_t data[];
};

/* One relay connection (one region). */
struct ms_relay {
	struct ms_relay *next;
	struct magicsock *ms;
	uint32_t region_id;
	char *url; /* what it connects to: a new map may move the region */
	struct relay_client *rc;
	bool connected;
	uint64_t last_used_ms;
	struct ms_relay_pkt *q_head, *q_tail;
	unsigned int q_len;
	size_t q_bytes;
};

struct ms_peer {
	struct magicsock *ms;
	struct ms_peer *next_node, *next_disco; /* hash chains */
	uint32_t slot;				/* names its pseudo-endpoint */
	uint8_t node_key[MS_KEY_LEN];
	bool has_disco;
	uint8_t disco_key[MS_KEY_LEN];
	uint8_t shared[MS_KEY_LEN]; /* crypto_box key with its disco key; secret */
	uint32_t home_region;
	uint32_t rx_region; /* the region a relayed packet from it last came through */
	bool mark;	    /* magicsock_set_peers(): still in the netmap */
	bool dead;	    /* removed; freed once its timer has closed */
	uv_timer_t timer;
	uint64_t armed_us; /* deadline the timer is set for, 0 = stopped */
	struct ms_endpoint ep;
};

/* A magicsock_ping() in flight; once answered it waits in ms->pings_done for delivery. */
struct ms_cli_ping {
	struct ms_cli_ping *next;
	struct magicsock *ms;
	magicsock_ping_cb *cb;
	void *arg;
	uint32_t region_id;
	struct magicsock_ping_result result;
};

struct ms_nc_waiter {
	struct ms_nc_waiter *next;
	magicsock_netcheck_cb *cb;
	void *arg;
};

struct magicsock {
	uv_loop_t *loop;
	struct magicsock_config cfg; /* callbacks and flags; key pointers cleared */
	uint8_t node_priv[MS_KEY_LEN], node_pub[MS_KEY_LEN];
	uint8_t disco_priv[MS_KEY_LEN], disco_pub[MS_KEY_LEN];
	char *exclude_ifname;

	struct magicsock_sink sink;
	bool have_sink;
	struct wg_bind_udp udp;
	uint16_t port;
	uint32_t fwmark;

	/* Peers: by node key, by disco key, and by slot (the pseudo-endpoint). */
	uint8_t hash_key[MS_HASH_KEY_LEN];
	struct ms_peer **by_node, **by_disco;
	size_t tab_size; /* power of two */
	size_t npeers;
	struct ms_peer **slots;
	uint32_t nslots, slots_cap;
	uint32_t *free_slots;
	uint32_t nfree;

	/* Relay regions and connections. */
	struct ms_region *regions;
	size_t nregions;
	struct ms_relay *relays;
	uint32_t home;
	uv_timer_t relay_gc;

	/* netcheck */
	struct netcheck *nc;
	uv_timer_t nc_timer;
	uint64_t nc_next_ms;	   /* when the next run starts, while none runs */
	uint64_t last_netcheck_ms; /* when the last run ended, 0 = never */
	struct netcheck_report *report;
	bool have_report;
	struct ms_nc_waiter *waiters;

	/* Our endpoints. */
	struct ip_endpoint ifaddrs[MS_MAX_IFADDRS]; /* interface addresses, port 0 */
	unsigned int nifaddrs;
	struct ip_endpoint local[MAGICSOCK_MAX_LOCAL_ENDPOINTS];
	unsigned int nlocal;

	/* netlink watcher */
	int nl_fd;
	uv_poll_t nl_poll;
	uv_timer_t nl_timer;

	/* Finished pings, delivered from defer_timer so no callback runs inside a call. */
	struct ms_cli_ping *pings_done, **pings_done_tail;
	uv_timer_t defer_timer;

	uint64_t last_activity_ms; /* a WireGuard packet was sent */
	bool closing;
	unsigned int open_handles; /* ours still closing; freed at zero */
	struct magicsock_stats stats;
};

/* Time on the loop's monotonic clock. */
static inline uint64_t ms_now_us(void)
{
	return uv_hrtime() / 1000;
}

/* peers.c */
struct ms_peer *ms_peer_by_node(const struct magicsock *ms, const uint8_t key[MS_KEY_LEN]);
struct ms_peer *ms_peer_by_disco(const struct magicsock *ms, const uint8_t key[MS_KEY_LEN]);
/** The peer whose pseudo-endpoint @ep is (magicsock_is_pseudo_endpoint() holds), or NULL. */
struct ms_peer *ms_peer_by_pseudo(const struct magicsock *ms, const struct ip_endpoint *ep);
void ms_pseudo_endpoint(uint32_t slot, struct ip_endpoint *out);
/** The region packets to @p go through: its home, else where it last spoke from, else ours. */
uint32_t ms_peer_region(const struct ms_peer *p);
/** Arm the peer's timer for its endpoint's next deadline (cheap when nothing changed). */
void ms_peer_rearm(struct ms_peer *p);
/** Take @p out of every table and free it once its timer has closed. */
void ms_peer_destroy(struct magicsock *ms, struct ms_peer *p);

/* magicsock.c */
/** A packet from @src_key arrived through region @region_id's relay. */
void ms_relay_input(struct magicsock *ms, uint32_t region_id, const uint8_t src_key[MS_KEY_LEN],
		    const uint8_t *data, size_t len);
/** Recompute our endpoints; if they changed, tell the peers and the owner. */
void ms_update_local_endpoints(struct magicsock *ms, bool force_notify);
void ms_handle_closed(uv_handle_t *h);

/* regions.c */
int ms_regions_set(struct magicsock *ms, const struct ctl_relay_map *map);
void ms_regions_free(struct magicsock *ms);
const struct ms_region *ms_region_find(const struct magicsock *ms, uint32_t id);
/** Send @data to @dst through region @region_id, connecting first if needed. 0 or -errno. */
int ms_relay_send(struct magicsock *ms, uint32_t region_id, const uint8_t dst[MS_KEY_LEN],
		  const uint8_t *data, size_t len);
void ms_relays_close_all(struct magicsock *ms);
int ms_netcheck_init(struct magicsock *ms);
/** Start a netcheck after @delay_ms (sooner if one was already due). */
void ms_netcheck_schedule(struct magicsock *ms, uint64_t delay_ms);
void ms_netcheck_fini(struct magicsock *ms);
/** A STUN message arrived on the socket from @src. */
void ms_stun_input(struct magicsock *ms, const uint8_t *buf, size_t len,
		   const struct ip_endpoint *src);

/* netmon.c */
/** Re-read interface addresses into ms->ifaddrs; true if they changed. */
bool ms_read_ifaddrs(struct magicsock *ms);
int ms_netmon_start(struct magicsock *ms);
void ms_netmon_stop(struct magicsock *ms);

#endif
