// SPDX-License-Identifier: MIT
/*
 * The device: lifetime, configuration (what the UAPI and the daemon call),
 * the output batches, and the TUN-side entry point of the send path.
 *
 * Every public entry point ends by flushing the batches it filled, so no
 * packet waits in the device between calls. The batches are plain arrays of
 * WG_DEVICE_BATCH buffers: one sendmmsg/TUN write loop per batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/compiler.h"
#include "util/log.h"
#include "wg/internal.h"
#include "wg/wg_proto.h"

/* ---- noise hooks ---- */

static struct noise_handshake *lookup_static(void *ctx, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct wg_device *dev = ctx;
	struct wg_pubkey_entry *e = wg_pubkey_table_lookup(&dev->pubkey_table, key);

	return e ? &container_of(e, struct wg_peer, pubkey)->handshake : NULL;
}

static struct noise_handshake *lookup_index(void *ctx, uint32_t index)
{
	struct wg_device *dev = ctx;
	struct wg_index_entry *e =
		wg_index_table_lookup(&dev->index_table, index, WG_INDEX_HANDSHAKE);

	return e ? e->owner : NULL;
}

/* ---- lifetime ---- */

int wg_device_create(struct wg_device **out, uv_loop_t *loop, const struct wg_net_ops *net,
		     void *net_ctx, const struct wg_tun_ops *tun, void *tun_ctx)
{
	struct wg_device *dev;
	int ret = -ENOMEM;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->loop = loop;
	dev->net = net;
	dev->net_ctx = net_ctx;
	dev->tun = tun;
	dev->tun_ctx = tun_ctx;
	dev->mtu = WG_DEVICE_DEFAULT_MTU;
	dev->up = true;
	dev->noise_ops.lookup_static = lookup_static;
	dev->noise_ops.lookup_index = lookup_index;
	dev->noise_ops.ctx = dev;
	cookie_checker_init(&dev->cookie_checker, NULL, NULL, NULL);
	wg_allowedips_init(&dev->allowedips);
	if (wg_index_table_init(&dev->index_table))
		goto err_free_dev;
	if (wg_pubkey_table_init(&dev->pubkey_table))
		goto err_free_index;
	if (wg_ratelimiter_init(&dev->ratelimiter, WG_RATELIMITER_DEFAULT_CAPACITY))
		goto err_free_pubkeys;
	ret = pktbuf_pool_init(&dev->pool, WG_DEVICE_POOL_SIZE, PKTBUF_PAYLOAD_DEFAULT,
			       PKTBUF_HEADROOM_DEFAULT, PKTBUF_TAILROOM_DEFAULT);
	if (ret)
		goto err_free_ratelimiter;
	*out = dev;
	return 0;

err_free_ratelimiter:
	wg_ratelimiter_free(&dev->ratelimiter);
err_free_pubkeys:
	wg_pubkey_table_free(&dev->pubkey_table);
err_free_index:
	wg_index_table_free(&dev->index_table);
err_free_dev:
	free(dev);
	return ret;
}

void wg_device_destroy(struct wg_device *dev)
{
	if (!dev)
		return;
	wg_device_remove_all_peers(dev);
	wg_device_flush_tx(dev);
	wg_device_flush_rx(dev);
	pktbuf_pool_destroy(&dev->pool);
	wg_ratelimiter_free(&dev->ratelimiter);
	wg_pubkey_table_free(&dev->pubkey_table);
	wg_index_table_free(&dev->index_table);
	wg_allowedips_free(&dev->allowedips);
	cookie_checker_wipe(&dev->cookie_checker);
	sodium_memzero(dev, sizeof(*dev));
	free(dev);
}

struct pktbuf_pool *wg_device_pool(struct wg_device *dev)
{
	return &dev->pool;
}

/* ---- batches ---- */

void wg_device_flush_tx(struct wg_device *dev)
{
	unsigned sent;

	if (!dev->tx_len)
		return;
	sent = dev->net->send(dev->net_ctx, dev->tx, dev->tx_len);
	dev->stats.tx_packets += sent;
	pktbuf_put_batch(&dev->pool, dev->tx, dev->tx_len);
	dev->tx_len = 0;
}

void wg_device_queue_tx(struct wg_device *dev, struct pktbuf *b)
{
	dev->tx[dev->tx_len++] = b;
	if (dev->tx_len == WG_DEVICE_BATCH)
		wg_device_flush_tx(dev);
}

void wg_device_flush_rx(struct wg_device *dev)
{
	if (!dev->rx_len)
		return;
	dev->tun->write(dev->tun_ctx, dev->rx, dev->rx_len);
	pktbuf_put_batch(&dev->pool, dev->rx, dev->rx_len);
	dev->rx_len = 0;
}

void wg_device_queue_rx(struct wg_device *dev, struct pktbuf *b)
{
	dev->rx[dev->rx_len++] = b;
	if (dev->rx_len == WG_DEVICE_BATCH)
		wg_device_flush_rx(dev);
}

/* ---- send path: TUN -> peers ---- */

/* The destination address of the IP packet in @b, or false if it has none. */
static bool packet_dst(const struct pktbuf *b, int *family, const uint8_t **dst)
{
	if (b->len >= 20 && (b->data[0] >> 4) == 4) {
		*family = 4;
		*dst = b->data + 16;
		return true;
	}
	if (b->len >= 40 && (b->data[0] >> 4) == 6) {
		*family = 6;
		*dst = b->data + 24;
		return true;
	}
	return false;
}

void wg_device_tun_input(struct wg_device *dev, struct pktbuf **bufs, unsigned n)
{
	struct wg_peer *touched = NULL, *peer;
	uint64_t now = wg_now_ns();

	for (unsigned i = 0; i < n; i++) {
		struct pktbuf *b = bufs[i];
		const uint8_t *dst;
		int family;

		if (!packet_dst(b, &family, &dst)) {
			dev->stats.drop_malformed++;
			pktbuf_put(&dev->pool, b);
			continue;
		}
		peer = wg_allowedips_lookup(&dev->allowedips, family, dst);
		if (!peer) {
			dev->stats.drop_no_peer++;
			pktbuf_put(&dev->pool, b);
			continue;
		}
		wg_peer_stage_packet(peer, b);
		if (!peer->in_tx_list) {
			peer->in_tx_list = true;
			peer->touched_next = touched;
			touched = peer;
		}
	}
	/* Per peer, not per packet: one session check, then a run of encryptions. */
	while ((peer = touched)) {
		touched = peer->touched_next;
		peer->in_tx_list = false;
		peer->touched_next = NULL;
		wg_peer_send_staged(peer, now);
	}
	wg_device_flush_tx(dev);
}

void wg_device_net_input(struct wg_device *dev, struct pktbuf **bufs, unsigned n)
{
	wg_receive_batch(dev, bufs, n);
	wg_device_flush_rx(dev);
	wg_device_flush_tx(dev);
}

/* ---- configuration ---- */

int wg_device_set_private_key(struct wg_device *dev, const uint8_t key[32])
{
	uint8_t zero[32] = {0};
	struct wg_peer *peer, *next;
	bool had = dev->identity.has_identity;
	int ret;

	if (had && !sodium_memcmp(dev->identity.static_private, key, 32))
		return 0; /* unchanged: keep the sessions */
	ret = noise_static_identity_set(&dev->identity, sodium_memcmp(key, zero, 32) ? key : NULL);
	if (ret && dev->identity.has_identity)
		return ret;
	cookie_checker_set_public(&dev->cookie_checker,
				  dev->identity.has_identity ? dev->identity.static_public : NULL);
	for (peer = dev->peers_head; peer; peer = next) {
		next = peer->next;
		/* A peer with our own public key cannot exist (wg does the same). */
		if (dev->identity.has_identity &&
		    !sodium_memcmp(peer->pubkey.key, dev->identity.static_public, 32)) {
			wg_peer_remove(peer);
			continue;
		}
		noise_handshake_precompute_static_static(&peer->handshake);
		noise_keypairs_expire_sending(&peer->keypairs);
		wg_index_table_remove(&dev->index_table, &peer->handshake_entry);
		noise_handshake_clear(&peer->handshake);
	}
	return 0;
}

bool wg_device_get_private_key(struct wg_device *dev, uint8_t out[32])
{
	if (!dev->identity.has_identity)
		return false;
	memcpy(out, dev->identity.static_private, 32);
	return true;
}

int wg_device_set_listen_port(struct wg_device *dev, uint16_t port)
{
	uint16_t bound = port;
	int ret = 0;

	if (dev->net->bind) {
		ret = dev->net->bind(dev->net_ctx, port, dev->fwmark, &bound);
		if (ret)
			return ret;
	}
	dev->listen_port = bound;
	return 0;
}

uint16_t wg_device_get_listen_port(struct wg_device *dev)
{
	return dev->listen_port;
}

int wg_device_set_fwmark(struct wg_device *dev, uint32_t fwmark)
{
	uint16_t bound;
	int ret;

	if (fwmark == dev->fwmark)
		return 0;
	if (dev->net->bind && dev->listen_port) {
		ret = dev->net->bind(dev->net_ctx, dev->listen_port, fwmark, &bound);
		if (ret)
			return ret;
	}
	dev->fwmark = fwmark;
	return 0;
}

uint32_t wg_device_get_fwmark(struct wg_device *dev)
{
	return dev->fwmark;
}

void wg_device_set_mtu(struct wg_device *dev, unsigned mtu)
{
	dev->mtu = mtu;
}

void wg_device_get_stats(struct wg_device *dev, struct wg_device_stats *out)
{
	*out = dev->stats;
	out->drop_nobuf += dev->pool.stats.get_failures;
}

void wg_device_set_up(struct wg_device *dev, bool up)
{
	if (dev->up == up)
		return;
	dev->up = up;
	for (struct wg_peer *peer = dev->peers_head; peer; peer = peer->next) {
		if (!up) {
			wg_peer_zero_key_material(peer);
			wg_peer_drop_staged(peer);
		}
		wg_timers_enable(&peer->timers, up);
		if (up && peer->persistent_keepalive)
			wg_peer_send_keepalive(peer, wg_now_ns());
	}
	wg_device_flush_tx(dev);
}

/* ---- peers ---- */

struct wg_peer *wg_device_peer_lookup(struct wg_device *dev, const uint8_t public_key[32])
{
	struct wg_pubkey_entry *e = wg_pubkey_table_lookup(&dev->pubkey_table, public_key);

	return e ? container_of(e, struct wg_peer, pubkey) : NULL;
}

int wg_device_peer_create(struct wg_device *dev, const uint8_t public_key[32], struct wg_peer **out)
{
	struct wg_peer *peer;
	int ret;

	if (wg_device_peer_lookup(dev, public_key))
		return -EEXIST;
	if (dev->peer_count >= WG_MAX_PEERS_PER_DEVICE)
		return -ENOSPC;
	peer = malloc(sizeof(*peer));
	if (!peer)
		return -ENOMEM;
	ret = wg_peer_init(peer, dev, public_key);
	if (ret) {
		free(peer);
		return ret;
	}
	/* Cannot fail: the key was looked up above, on this same thread. */
	(void)wg_pubkey_table_insert(&dev->pubkey_table, &peer->pubkey);
	peer->prev = dev->peers_tail;
	if (dev->peers_tail)
		dev->peers_tail->next = peer;
	else
		dev->peers_head = peer;
	dev->peers_tail = peer;
	dev->peer_count++;
	*out = peer;
	return 0;
}

void wg_peer_remove(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;

	if (peer->prev)
		peer->prev->next = peer->next;
	else
		dev->peers_head = peer->next;
	if (peer->next)
		peer->next->prev = peer->prev;
	else
		dev->peers_tail = peer->prev;
	dev->peer_count--;
	wg_peer_destroy(peer);
}

void wg_device_remove_all_peers(struct wg_device *dev)
{
	while (dev->peers_head)
		wg_peer_remove(dev->peers_head);
}

int wg_device_for_each_peer(struct wg_device *dev, int (*cb)(struct wg_peer *, void *), void *ctx)
{
	struct wg_peer *peer, *next;
	int ret;

	for (peer = dev->peers_head; peer; peer = next) {
		next = peer->next;
		ret = cb(peer, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

unsigned wg_device_peer_count(struct wg_device *dev)
{
	return dev->peer_count;
}

const uint8_t *wg_peer_public_key(const struct wg_peer *peer)
{
	return peer->pubkey.key;
}

void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[32])
{
	noise_handshake_set_preshared_key(&peer->handshake, psk);
}

void wg_peer_get_preshared_key(const struct wg_peer *peer, uint8_t out[32])
{
	memcpy(out, peer->handshake.preshared_key, 32);
}

void wg_peer_set_endpoint(struct wg_peer *peer, const struct ip_endpoint *ep)
{
	wg_peer_update_endpoint(peer, ep);
}

bool wg_peer_get_endpoint(const struct wg_peer *peer, struct ip_endpoint *out)
{
	if (!peer->has_endpoint)
		return false;
	*out = peer->endpoint;
	return true;
}

void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t interval)
{
	uint16_t old = peer->persistent_keepalive;
	uint64_t now = wg_now_ns();

	peer->persistent_keepalive = interval;
	wg_timers_set_persistent_keepalive(&peer->timers, interval, now);
	if (!old && interval && peer->dev->up) {
		wg_peer_send_keepalive(peer, now);
		wg_device_flush_tx(peer->dev);
	}
	wg_peer_timers_update(peer);
}

uint16_t wg_peer_get_persistent_keepalive(const struct wg_peer *peer)
{
	return peer->persistent_keepalive;
}

int wg_peer_add_allowed_ip(struct wg_peer *peer, const struct ip_prefix *prefix)
{
	return wg_allowedips_insert(&peer->dev->allowedips, prefix->addr.family, prefix->addr.bytes,
				    prefix->bits, peer);
}

int wg_peer_remove_allowed_ip(struct wg_peer *peer, const struct ip_prefix *prefix)
{
	return wg_allowedips_remove(&peer->dev->allowedips, prefix->addr.family, prefix->addr.bytes,
				    prefix->bits, peer);
}

void wg_peer_clear_allowed_ips(struct wg_peer *peer)
{
	wg_allowedips_remove_by_peer(&peer->dev->allowedips, peer);
}

struct walk_ctx {
	void (*cb)(const struct ip_prefix *, void *);
	void *ctx;
};

static int walk_one(void *ctx, int family, const uint8_t *ip, uint8_t cidr)
{
	struct walk_ctx *w = ctx;
	struct ip_prefix p = {.bits = cidr};

	if (family == 4)
		ip_addr_set_v4(&p.addr, ip);
	else
		ip_addr_set_v6(&p.addr, ip);
	w->cb(&p, w->ctx);
	return 0;
}

void wg_peer_for_each_allowed_ip(struct wg_peer *peer, void (*cb)(const struct ip_prefix *, void *),
				 void *ctx)
{
	struct walk_ctx w = {cb, ctx};

	wg_allowedips_walk_by_peer(&peer->dev->allowedips, peer, walk_one, &w);
}

void wg_peer_get_stats(const struct wg_peer *peer, struct wg_peer_stats *out)
{
	out->rx_bytes = peer->rx_bytes;
	out->tx_bytes = peer->tx_bytes;
	out->last_handshake_sec = peer->last_handshake_sec;
	out->last_handshake_nsec = peer->last_handshake_nsec;
}
