// SPDX-License-Identifier: MIT
/*
 * Engine host. Teardown order matters: the socket closes before the device
 * is destroyed (nothing may reach a dying device), the TUN poll handle closes
 * before the TUN fd (libuv must not poll a closed fd), and the memory is
 * released one loop iteration later, after libuv has finished closing every
 * handle that lives inside it.
 */
#include "daemon/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "magicsock/magicsock.h"
#include "tun/tun.h"
#include "util/compiler.h"
#include "util/pktbuf.h"
#include "util/log.h"
#include "wg/bind_udp.h"
#include "wg/device.h"
#include "wg/uapi_server.h"

enum {
	TUN_BATCHES_PER_WAKEUP = 8, /* then let the socket and timers run */
};

static const char uapi_dir[] = "/var/run/wireguard";

struct engine {
	uv_loop_t *loop;
	struct engine_config cfg;
	struct tun_device tun;
	uv_poll_t tun_poll;
	bool tun_polling;
	struct wg_bind_udp bind;
	bool bind_open;
	struct wg_device *dev;
	struct uapi_server *uapi;
	uv_timer_t reaper; /* frees the engine one iteration after stop */
	bool stopping;
	bool dead_reported;
	struct pktbuf *bufs[WG_DEVICE_BATCH];
};

static void report_dead(struct engine *e, const char *why)
{
	if (e->stopping || e->dead_reported)
		return;
	e->dead_reported = true;
	if (e->cfg.on_dead)
		e->cfg.on_dead(e->cfg.ctx, why);
}

static void tun_write(void *ctx, struct pktbuf *const *bufs, unsigned int n)
{
	struct engine *e = ctx;
	struct pktbuf *keep[WG_DEVICE_BATCH];
	unsigned int k = 0;

	if (!e->cfg.inbound) {
		tun_write_batch(&e->tun, bufs, n);
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (!e->cfg.inbound(e->cfg.ctx, bufs[i]->data, bufs[i]->len))
			keep[k++] = bufs[i];
		if (k == WG_DEVICE_BATCH) {
			tun_write_batch(&e->tun, keep, k);
			k = 0;
		}
	}
	if (k)
		tun_write_batch(&e->tun, keep, k);
}

/* Hand TUN packets to the device, minus those the outbound tap consumes. */
static void tun_input(struct engine *e, struct pktbuf **bufs, unsigned int n)
{
	struct pktbuf_pool *pool = wg_device_pool(e->dev);
	unsigned int k = 0;

	if (e->cfg.outbound) {
		for (unsigned int i = 0; i < n; i++) {
			if (e->cfg.outbound(e->cfg.ctx, bufs[i]->data, bufs[i]->len))
				pktbuf_put(pool, bufs[i]);
			else
				bufs[k++] = bufs[i];
		}
		n = k;
	}
	if (n)
		wg_device_tun_input(e->dev, bufs, n);
}

int engine_tun_inject(struct engine *e, const uint8_t *pkt, size_t len)
{
	struct pktbuf *b;

	if (e->stopping)
		return -ESHUTDOWN;
	b = pktbuf_get(wg_device_pool(e->dev));
	if (!b)
		return -ENOBUFS;
	if (len > b->size - pktbuf_headroom(b)) {
		pktbuf_put(wg_device_pool(e->dev), b);
		return -EMSGSIZE;
	}
	memcpy(b->data, pkt, len);
	b->len = (uint32_t)len;
	tun_write_batch(&e->tun, &b, 1);
	pktbuf_put(wg_device_pool(e->dev), b);
	return 0;
}

int engine_mesh_send(struct engine *e, const uint8_t *pkt, size_t len)
{
	struct pktbuf *b;

	if (e->stopping)
		return -ESHUTDOWN;
	b = pktbuf_get(wg_device_pool(e->dev));
	if (!b)
		return -ENOBUFS;
	if (len > b->size - pktbuf_headroom(b) - 64) {
		pktbuf_put(wg_device_pool(e->dev), b);
		return -EMSGSIZE;
	}
	memcpy(b->data, pkt, len);
	b->len = (uint32_t)len;
	wg_device_tun_input(e->dev, &b, 1);
	return 0;
}

static const struct wg_tun_ops tun_ops = {
	.write = tun_write,
};

static void net_input(void *ctx, struct pktbuf **bufs, unsigned int n)
{
	struct engine *e = ctx;

	wg_device_net_input(e->dev, bufs, n);
}

static void on_tun_readable(uv_poll_t *h, int status, int events)
{
	struct engine *e = container_of(h, struct engine, tun_poll);

	(void)events;
	if (status < 0) {
		report_dead(e, "interface removed");
		return;
	}
	for (unsigned int round = 0; round < TUN_BATCHES_PER_WAKEUP && !e->stopping; round++) {
		int n = tun_read_batch(&e->tun, wg_device_pool(e->dev), e->bufs, WG_DEVICE_BATCH);

		if (n < 0) {
			if (n == -EBADFD || !tun_is_alive(&e->tun))
				report_dead(e, "interface removed");
			else
				log_warn("engine", "tun read failed err=%s", strerror(-n));
			return;
		}
		if (n == 0)
			return;
		tun_input(e, e->bufs, (unsigned int)n);
		if (n < WG_DEVICE_BATCH)
			return;
	}
}

static void on_uapi_gone(void *ctx)
{
	struct engine *e = ctx;

	/* The bare engine exits (wireguard-go does); in mesh mode the socket is a convenience. */
	if (e->cfg.uapi_optional)
		log_info("engine", "UAPI socket of %s was removed; wg show will not see it",
			 e->tun.name);
	else
		report_dead(e, "UAPI socket removed");
}

void engine_log_stats(struct engine *e)
{
	const struct wg_bind_udp_stats *u = &e->bind.stats;
	const struct tun_stats *t = &e->tun.stats;
	struct wg_device_stats d;

	if (!e->dev)
		return;
	wg_device_get_stats(e->dev, &d);
	log_info("engine",
		 "iface=%s tun rx=%llu tx=%llu tx_errors=%llu; udp rx=%llu tx=%llu "
		 "tx_dropped_full=%llu tx_errors=%llu rx_nobuf=%llu",
		 e->tun.name, (unsigned long long)t->rx_packets, (unsigned long long)t->tx_packets,
		 (unsigned long long)t->tx_errors, (unsigned long long)u->rx_packets,
		 (unsigned long long)u->tx_packets, (unsigned long long)u->tx_dropped_full,
		 (unsigned long long)u->tx_errors, (unsigned long long)u->rx_nobuf);
	log_info("engine",
		 "drops malformed=%llu mac=%llu handshake=%llu ratelimited=%llu no_keypair=%llu "
		 "decrypt=%llu replay=%llu allowed_ips=%llu no_peer=%llu staged=%llu nobuf=%llu "
		 "cookie_replies=%llu",
		 (unsigned long long)d.drop_malformed, (unsigned long long)d.drop_mac,
		 (unsigned long long)d.drop_handshake, (unsigned long long)d.drop_ratelimited,
		 (unsigned long long)d.drop_no_keypair, (unsigned long long)d.drop_decrypt,
		 (unsigned long long)d.drop_replay, (unsigned long long)d.drop_allowed_ips,
		 (unsigned long long)d.drop_no_peer, (unsigned long long)d.drop_staged,
		 (unsigned long long)d.drop_nobuf, (unsigned long long)d.cookie_replies_sent);
}

static void engine_free_cb(uv_handle_t *h)
{
	struct engine *e = container_of(h, struct engine, reaper);

	/* Every handle inside the engine has finished closing: the fd can go. */
	tun_close(&e->tun);
	free(e);
}

static void reap(uv_timer_t *t)
{
	uv_close((uv_handle_t *)t, engine_free_cb);
}

void engine_stop(struct engine *e)
{
	if (!e || e->stopping)
		return;
	e->stopping = true;
	if (e->tun_polling)
		uv_close((uv_handle_t *)&e->tun_poll, NULL);
	e->tun_polling = false;
	if (e->uapi)
		uapi_server_stop(e->uapi);
	e->uapi = NULL;
	if (e->bind_open)
		wg_bind_udp_close(&e->bind);
	e->bind_open = false;
	/* Before the device: nothing may deliver to a device being destroyed. */
	magicsock_free(e->cfg.ms);
	e->cfg.ms = NULL;
	if (e->dev)
		wg_device_destroy(e->dev);
	e->dev = NULL;
	uv_timer_start(&e->reaper, reap, 0, 0);
}

int engine_start(struct engine **out, uv_loop_t *loop, const struct engine_config *cfg, char *err,
		 size_t errlen)
{
	struct uapi_server_config ucfg = {
		.dir = uapi_dir,
		.read_only = cfg->uapi_read_only,
		.on_gone = on_uapi_gone,
	};
	struct wg_bind_udp_sink sink;
	struct engine *e;
	int ret;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->loop = loop;
	e->cfg = *cfg;
	e->tun.fd = -1;
	uv_timer_init(loop, &e->reaper);

	ret = tun_open(&e->tun, cfg->ifname, cfg->mtu ? cfg->mtu : TUN_DEFAULT_MTU);
	if (ret) {
		snprintf(err, errlen, "cannot create TUN interface %s: %s", cfg->ifname,
			 ret == -EEXIST	 ? "it exists and is not a TUN device"
			 : ret == -EBUSY ? "it is in use by another process"
					 : strerror(-ret));
		goto err_stop;
	}
	if (cfg->ms) {
		ret = wg_device_create(&e->dev, loop, &magicsock_net_ops, cfg->ms, &tun_ops, e);
	} else {
		wg_bind_udp_init(&e->bind, loop);
		e->bind_open = true;
		ret = wg_device_create(&e->dev, loop, &wg_bind_udp_ops, &e->bind, &tun_ops, e);
	}
	if (ret) {
		snprintf(err, errlen, "cannot create the WireGuard device: %s", strerror(-ret));
		goto err_stop;
	}
	wg_device_set_mtu(e->dev, e->tun.mtu);
	if (cfg->ms) {
		struct magicsock_sink ms_sink = {
			.input = net_input, .ctx = e, .pool = wg_device_pool(e->dev)};

		ret = magicsock_set_sink(cfg->ms, &ms_sink);
		if (ret) {
			snprintf(err, errlen, "cannot listen on UDP port %u: %s", cfg->port,
				 strerror(-ret));
			goto err_stop;
		}
	} else {
		sink = (struct wg_bind_udp_sink){
			.input = net_input, .ctx = e, .pool = wg_device_pool(e->dev)};
		wg_bind_udp_set_sink(&e->bind, &sink);
	}
	if (cfg->fwmark)
		wg_device_set_fwmark(e->dev, cfg->fwmark);
	ret = wg_device_set_listen_port(e->dev, cfg->port);
	if (ret) {
		snprintf(err, errlen, "cannot listen on UDP port %u: %s", cfg->port,
			 strerror(-ret));
		goto err_stop;
	}
	wg_device_set_up(e->dev, true);

	if (cfg->uapi) {
		ucfg.iface = e->tun.name;
		ucfg.ctx = e;
		ret = uapi_server_start(&e->uapi, loop, e->dev, &ucfg);
		if (ret && cfg->uapi_optional) {
			log_warn("engine", "not serving %s/%s.sock: %s", uapi_dir, e->tun.name,
				 ret == -EADDRINUSE ? "in use by another process" : strerror(-ret));
			e->uapi = NULL;
		} else if (ret) {
			snprintf(err, errlen, "cannot serve %s/%s.sock: %s", uapi_dir, e->tun.name,
				 ret == -EADDRINUSE ? "in use by another process" : strerror(-ret));
			goto err_stop;
		}
	}

	ret = uv_poll_init(loop, &e->tun_poll, e->tun.fd);
	if (ret) {
		snprintf(err, errlen, "cannot watch the TUN device: %s", uv_strerror(ret));
		goto err_stop;
	}
	e->tun_polling = true;
	uv_poll_start(&e->tun_poll, UV_READABLE, on_tun_readable);
	*out = e;
	return 0;

err_stop:
	engine_stop(e);
	return ret ? ret : -EIO;
}

struct wg_device *engine_device(struct engine *e)
{
	return e->dev;
}

const char *engine_ifname(const struct engine *e)
{
	return e->tun.name;
}

int engine_ifindex(const struct engine *e)
{
	return e->tun.ifindex;
}

uint16_t engine_port(const struct engine *e)
{
	return wg_device_get_listen_port(e->dev);
}
