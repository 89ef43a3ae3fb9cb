/* SPDX-License-Identifier: MIT */
/*
 * The data-plane host: a TUN interface, the UDP outside, the WireGuard device
 * between them and (optionally) its `wg` UAPI socket, on the caller's loop.
 * Both the bare engine (`meshd wireguard`) and the mesh daemon run one.
 *
 * engine_stop() may be called from any callback; the engine finishes closing
 * its handles on the loop and frees itself, removing the interface last.
 */
#ifndef MESH_DAEMON_ENGINE_H
#define MESH_DAEMON_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct engine;
struct magicsock;
struct wg_device;

struct engine_config {
	const char *ifname;
	unsigned int mtu; /* 0: the TUN default (1420) */
	uint16_t port;	  /* UDP listen port, 0 = random */
	uint32_t fwmark;  /* SO_MARK of the UDP socket, 0 = none */
	/*
	 * The outside: NULL for a plain UDP socket (the bare engine), or a
	 * magicsock (mesh mode), which the engine then owns and frees first
	 * when it stops.
	 */
	struct magicsock *ms;
	bool uapi;	  /* serve /var/run/wireguard/<ifname>.sock */
	bool uapi_read_only;
	/* If the UAPI path is another live process's, warn and go on (mesh mode). */
	bool uapi_optional;
	/* The interface or the UAPI socket went away: the owner should stop. */
	void (*on_dead)(void *ctx, const char *why);
	/*
	 * Optional taps on the plaintext paths. Each sees one IP packet and
	 * returns true if it consumed it (it must not keep the buffer):
	 * outbound = read from the TUN, before the device routes it (MagicDNS
	 * answers 100.100.100.100 here); inbound = decrypted, before the TUN
	 * write (meshd's own pings catch their replies here).
	 */
	bool (*outbound)(void *ctx, const uint8_t *pkt, size_t len);
	bool (*inbound)(void *ctx, const uint8_t *pkt, size_t len);
	void *ctx;
};

/** Start an engine. Returns 0, or a negative errno with a reason in @err. */
int engine_start(struct engine **out, uv_loop_t *loop, const struct engine_config *cfg, char *err,
		 size_t errlen);

/** Stop and free (asynchronously; nothing calls back after this returns). */
void engine_stop(struct engine *e);

struct wg_device *engine_device(struct engine *e);
const char *engine_ifname(const struct engine *e);
int engine_ifindex(const struct engine *e);
uint16_t engine_port(const struct engine *e);

/**
 * Write @len bytes of IP packet @pkt to the TUN as if it came from the mesh
 * (for locally generated answers). Returns 0 or a negative errno.
 */
int engine_tun_inject(struct engine *e, const uint8_t *pkt, size_t len);

/** Send @len bytes of IP packet @pkt into the mesh as if read from the TUN. */
int engine_mesh_send(struct engine *e, const uint8_t *pkt, size_t len);

/** Log one summary of the interface, socket and device counters. */
void engine_log_stats(struct engine *e);

#endif
