// SPDX-License-Identifier: MIT
/*
 * magicsock's peers: the tables that find a peer by node key, disco key or
 * pseudo-endpoint slot, each peer's timer, the disco messages its endpoint
 * sends (sealed here with the pair's key), and the peer part of the API.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "control/msg.h"
#include "magicsock/internal.h"
#include "util/compiler.h"
#include "util/log.h"

static const char *const LOG_COMP = "magicsock";

_Static_assert(MS_HASH_KEY_LEN == crypto_shorthash_KEYBYTES, "hash key size");
_Static_assert(sizeof(uint64_t) == crypto_shorthash_BYTES, "hash size");

enum {
	/* Pseudo-endpoints: [100::6d73:0:SLOT_HI:SLOT_LO]:PSEUDO_PORT, in the discard prefix. */
	PSEUDO_PORT = 1,
};

static const uint8_t pseudo_prefix[12] = {0x01, 0, 0, 0, 0, 0, 0, 0, 0x6d, 0x73, 0, 0};

/* ---- pseudo-endpoints ---- */

void ms_pseudo_endpoint(uint32_t slot, struct ip_endpoint *out)
{
	memset(out, 0, sizeof(*out));
	out->addr.family = IP_FAMILY_V6;
	memcpy(out->addr.bytes, pseudo_prefix, sizeof(pseudo_prefix));
	out->addr.bytes[12] = (uint8_t)(slot >> 24);
	out->addr.bytes[13] = (uint8_t)(slot >> 16);
	out->addr.bytes[14] = (uint8_t)(slot >> 8);
	out->addr.bytes[15] = (uint8_t)slot;
	out->port = PSEUDO_PORT;
}

bool magicsock_is_pseudo_endpoint(const struct ip_endpoint *ep)
{
	return ep->addr.family == IP_FAMILY_V6 &&
	       !memcmp(ep->addr.bytes, pseudo_prefix, sizeof(pseudo_prefix));
}

struct ms_peer *ms_peer_by_pseudo(const struct magicsock *ms, const struct ip_endpoint *ep)
{
	const uint8_t *b = ep->addr.bytes;
	uint32_t slot =
		(uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];

	return slot < ms->nslots ? ms->slots[slot] : NULL;
}

/* ---- peer tables ---- */

static size_t key_hash(const struct magicsock *ms, const uint8_t key[MS_KEY_LEN])
{
	uint64_t h;

	/* Keyed: peers choose their keys, so they must not be able to choose collisions. */
	crypto_shorthash((unsigned char *)&h, key, MS_KEY_LEN, ms->hash_key);
	return (size_t)h & (ms->tab_size - 1);
}

struct ms_peer *ms_peer_by_node(const struct magicsock *ms, const uint8_t key[MS_KEY_LEN])
{
	struct ms_peer *p;

	for (p = ms->by_node[key_hash(ms, key)]; p; p = p->next_node)
		if (!memcmp(p->node_key, key, MS_KEY_LEN))
			return p;
	return NULL;
}

struct ms_peer *ms_peer_by_disco(const struct magicsock *ms, const uint8_t key[MS_KEY_LEN])
{
	struct ms_peer *p;

	for (p = ms->by_disco[key_hash(ms, key)]; p; p = p->next_disco)
		if (!memcmp(p->disco_key, key, MS_KEY_LEN))
			return p;
	return NULL;
}

static void link_disco(struct magicsock *ms, struct ms_peer *p)
{
	size_t h = key_hash(ms, p->disco_key);

	p->next_disco = ms->by_disco[h];
	ms->by_disco[h] = p;
}

static void unlink_disco(struct magicsock *ms, struct ms_peer *p)
{
	struct ms_peer **pp;

	for (pp = &ms->by_disco[key_hash(ms, p->disco_key)]; *pp; pp = &(*pp)->next_disco) {
		if (*pp == p) {
			*pp = p->next_disco;
			return;
		}
	}
}

static void unlink_node(struct magicsock *ms, struct ms_peer *p)
{
	struct ms_peer **pp;

	for (pp = &ms->by_node[key_hash(ms, p->node_key)]; *pp; pp = &(*pp)->next_node) {
		if (*pp == p) {
			*pp = p->next_node;
			return;
		}
	}
}

/* Double both tables once there are more peers than buckets. */
static int grow_tables(struct magicsock *ms)
{
	size_t size = ms->tab_size * 2;
	struct ms_peer **by_node = calloc(size, sizeof(*by_node));
	struct ms_peer **by_disco = calloc(size, sizeof(*by_disco));

	if (!by_node || !by_disco) {
		free(by_node);
		free(by_disco);
		return -ENOMEM;
	}
	free(ms->by_node);
	free(ms->by_disco);
	ms->by_node = by_node;
	ms->by_disco = by_disco;
	ms->tab_size = size;
	for (uint32_t i = 0; i < ms->nslots; i++) {
		struct ms_peer *p = ms->slots[i];
		size_t h;

		if (!p)
			continue;
		h = key_hash(ms, p->node_key);
		p->next_node = by_node[h];
		by_node[h] = p;
		if (p->has_disco)
			link_disco(ms, p);
	}
	return 0;
}

static int alloc_slot(struct magicsock *ms, uint32_t *slot)
{
	if (ms->nfree) {
		*slot = ms->free_slots[--ms->nfree];
		return 0;
	}
	if (ms->nslots == ms->slots_cap) {
		uint32_t cap = ms->slots_cap ? ms->slots_cap * 2 : MS_INITIAL_TABLE;
		struct ms_peer **slots = realloc(ms->slots, cap * sizeof(*slots));
		uint32_t *free_slots;

		if (!slots)
			return -ENOMEM;
		ms->slots = slots;
		free_slots = realloc(ms->free_slots, cap * sizeof(*free_slots));
		if (!free_slots)
			return -ENOMEM;
		ms->free_slots = free_slots;
		ms->slots_cap = cap;
	}
	*slot = ms->nslots++;
	ms->slots[*slot] = NULL;
	return 0;
}

/* The region packets to @p go through: its home, else where it last spoke from, else ours. */
uint32_t ms_peer_region(const struct ms_peer *p)
{
	if (p->home_region)
		return p->home_region;
	if (p->rx_region)
		return p->rx_region;
	return p->ms->home;
}

/* ---- per-peer timer ---- */

static void on_peer_timer(uv_timer_t *t)
{
	struct ms_peer *p = container_of(t, struct ms_peer, timer);

	p->armed_us = 0;
	ms_endpoint_tick(&p->ep, ms_now_us());
	ms_peer_rearm(p);
}

void ms_peer_rearm(struct ms_peer *p)
{
	uint64_t due, now;

	if (p->dead)
		return;
	due = ms_endpoint_deadline(&p->ep);
	if (!due) {
		if (p->armed_us)
			uv_timer_stop(&p->timer);
		p->armed_us = 0;
		return;
	}
	/* Already set to fire no later than needed: an early wake-up just re-arms. */
	if (p->armed_us && p->armed_us <= due)
		return;
	now = ms_now_us();
	uv_timer_start(&p->timer, on_peer_timer, due > now ? (due - now + 999) / 1000 : 0, 0);
	p->armed_us = due;
}

static void peer_free_cb(uv_handle_t *h)
{
	free(container_of((uv_timer_t *)h, struct ms_peer, timer));
}

void ms_peer_destroy(struct magicsock *ms, struct ms_peer *p)
{
	p->dead = true;
	unlink_node(ms, p);
	if (p->has_disco)
		unlink_disco(ms, p);
	ms->slots[p->slot] = NULL;
	ms->free_slots[ms->nfree++] = p->slot;
	ms->npeers--;
	ms_endpoint_fini(&p->ep);
	sodium_memzero(p->shared, sizeof(p->shared));
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, peer_free_cb);
}

/* ---- disco: the endpoint's ops ---- */

static int ep_send_udp(void *ctx, struct ms_endpoint *ep, const struct ip_endpoint *dst,
		       struct disco_msg *msg)
{
	struct magicsock *ms = ctx;
	struct ms_peer *p = container_of(ep, struct ms_peer, ep);
	struct pktbuf *b;
	unsigned int sent;
	size_t n;

	if (!ms->have_sink || !ms->udp.sock)
		return -ENOTCONN;
	if (msg->type == DISCO_PING)
		memcpy(msg->node_key, ms->node_pub, MS_KEY_LEN);
	b = pktbuf_get(ms->sink.pool);
	if (!b) {
		ms->stats.drop_nobuf++;
		return -ENOBUFS;
	}
	n = disco_seal(b->data, pktbuf_tailroom(b), ms->disco_pub, p->shared, msg);
	if (!n) {
		pktbuf_put(ms->sink.pool, b);
		return -EINVAL;
	}
	b->len = (uint32_t)n;
	b->endpoint = *dst;
	sent = wg_bind_udp_send(&ms->udp, &b, 1);
	pktbuf_put(ms->sink.pool, b);
	return sent == 1 ? 0 : -EIO;
}

static int ep_send_relay(void *ctx, struct ms_endpoint *ep, struct disco_msg *msg)
{
	struct magicsock *ms = ctx;
	struct ms_peer *p = container_of(ep, struct ms_peer, ep);
	uint8_t buf[MS_DISCO_MAX];
	uint32_t region = ms_peer_region(p);
	size_t n;

	if (!region)
		return -ENOTCONN;
	if (msg->type == DISCO_PING)
		memcpy(msg->node_key, ms->node_pub, MS_KEY_LEN);
	n = disco_seal(buf, sizeof(buf), ms->disco_pub, p->shared, msg);
	if (!n)
		return -EINVAL;
	return ms_relay_send(ms, region, p->node_key, buf, n);
}

static unsigned int ep_local_endpoints(void *ctx, struct ip_endpoint *out, unsigned int max)
{
	struct magicsock *ms = ctx;

	return magicsock_local_endpoints(ms, out, max);
}

static void ep_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static void on_defer_timer(uv_timer_t *t)
{
	struct magicsock *ms = t->data;
	struct ms_cli_ping *c;

	while ((c = ms->pings_done)) {
		ms->pings_done = c->next;
		if (!ms->pings_done)
			ms->pings_done_tail = &ms->pings_done;
		c->cb(c->arg, &c->result);
		free(c);
	}
}

static void ep_ping_result(void *ctx, struct ms_endpoint *ep, void *cookie,
			   const struct ms_ping_result *r)
{
	struct magicsock *ms = ctx;
	struct ms_cli_ping *c = cookie;
	const struct ms_region *region;

	(void)ep;
	if (ms->closing) {
		free(c);
		return;
	}
	c->result.err = r->err;
	c->result.direct = r->direct;
	c->result.endpoint = r->endpoint;
	c->result.latency_us = r->latency_us;
	if (!r->err && !r->direct) {
		c->result.region_id = c->region_id;
		region = ms_region_find(ms, c->region_id);
		if (region)
			memcpy(c->result.region_code, region->code, sizeof(c->result.region_code));
	}
	c->next = NULL;
	*ms->pings_done_tail = c;
	ms->pings_done_tail = &c->next;
	uv_timer_start(&ms->defer_timer, on_defer_timer, 0, 0);
}

static const struct ms_endpoint_ops ep_ops = {
	.send_udp = ep_send_udp,
	.send_relay = ep_send_relay,
	.local_endpoints = ep_local_endpoints,
	.random = ep_random,
	.ping_result = ep_ping_result,
};

/* ---- peers ---- */

static int peer_create(struct magicsock *ms, const uint8_t key[MS_KEY_LEN], struct ms_peer **out)
{
	struct ms_peer *p;
	size_t h;
	int ret;

	if (ms->npeers >= ms->tab_size) {
		ret = grow_tables(ms);
		if (ret)
			return ret;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = alloc_slot(ms, &p->slot);
	if (ret) {
		free(p);
		return ret;
	}
	p->ms = ms;
	memcpy(p->node_key, key, MS_KEY_LEN);
	uv_timer_init(ms->loop, &p->timer);
	ms_endpoint_init(&p->ep, &ep_ops, ms, key, false);
	h = key_hash(ms, key);
	p->next_node = ms->by_node[h];
	ms->by_node[h] = p;
	ms->slots[p->slot] = p;
	ms->npeers++;
	*out = p;
	return 0;
}

int magicsock_upsert_peer(struct magicsock *ms, const struct magicsock_peer *peer)
{
	struct ms_peer *p;
	bool has_disco;
	int ret;

	if (!peer->node_key || ms->closing)
		return -EINVAL;
	p = ms_peer_by_node(ms, peer->node_key);
	if (!p) {
		ret = peer_create(ms, peer->node_key, &p);
		if (ret)
			return ret;
	}
	has_disco = peer->disco_key != NULL;
	if (has_disco != p->has_disco ||
	    (has_disco && memcmp(p->disco_key, peer->disco_key, MS_KEY_LEN))) {
		if (p->has_disco)
			unlink_disco(ms, p);
		p->has_disco = false;
		sodium_memzero(p->shared, sizeof(p->shared));
		if (has_disco &&
		    disco_shared_key(p->shared, ms->disco_priv, peer->disco_key) == 0) {
			memcpy(p->disco_key, peer->disco_key, MS_KEY_LEN);
			p->has_disco = true;
			link_disco(ms, p);
		} else if (has_disco) {
			log_warn(LOG_COMP, "peer with an unusable disco key: relay only");
		}
		ms_endpoint_reset(&p->ep, p->has_disco);
	}
	p->home_region = peer->home_region;
	ms_endpoint_set_candidates(&p->ep, ms_now_us(), peer->endpoints, peer->nendpoints);
	p->mark = true;
	ms_peer_rearm(p);
	return 0;
}

int magicsock_remove_peer(struct magicsock *ms, const uint8_t node_key[32])
{
	struct ms_peer *p = ms_peer_by_node(ms, node_key);

	if (!p)
		return -ENOENT;
	ms_peer_destroy(ms, p);
	return 0;
}

int magicsock_set_peers(struct magicsock *ms, const struct ctl_node *peers, size_t n)
{
	int ret = 0;

	for (uint32_t i = 0; i < ms->nslots; i++)
		if (ms->slots[i])
			ms->slots[i]->mark = false;
	for (size_t i = 0; i < n; i++) {
		const struct ctl_node *c = &peers[i];
		struct magicsock_peer mp = {
			.node_key = c->node_key,
			.disco_key = c->has_disco_key ? c->disco_key : NULL,
			.endpoints = c->endpoints,
			.nendpoints = c->nendpoints,
			.home_region = c->home_relay,
		};
		int err;

		if (c->expired)
			continue;
		err = magicsock_upsert_peer(ms, &mp);
		if (err && !ret)
			ret = err;
	}
	for (uint32_t i = 0; i < ms->nslots; i++)
		if (ms->slots[i] && !ms->slots[i]->mark)
			ms_peer_destroy(ms, ms->slots[i]);
	return ret;
}

int magicsock_peer_pseudo_endpoint(const struct magicsock *ms, const uint8_t node_key[32],
				   struct ip_endpoint *out)
{
	struct ms_peer *p = ms_peer_by_node(ms, node_key);

	if (!p)
		return -ENOENT;
	ms_pseudo_endpoint(p->slot, out);
	return 0;
}

int magicsock_peer_path(const struct magicsock *ms, const uint8_t node_key[32],
			struct magicsock_path_info *out)
{
	struct ms_peer *p = ms_peer_by_node(ms, node_key);
	const struct ms_region *region;
	struct ms_endpoint_path path;

	memset(out, 0, sizeof(*out));
	if (!p)
		return -ENOENT;
	ms_endpoint_get_path(&p->ep, ms_now_us(), &path);
	if (path.path == MS_PATH_DIRECT) {
		out->path = MAGICSOCK_PATH_DIRECT;
		out->endpoint = path.addr;
		out->latency_us = path.latency_us;
		return 0;
	}
	region = ms_region_find(ms, ms_peer_region(p));
	if (region && region->url) {
		out->path = MAGICSOCK_PATH_RELAY;
		out->region_id = region->id;
		memcpy(out->region_code, region->code, sizeof(out->region_code));
	}
	return 0;
}

int magicsock_ping(struct magicsock *ms, const uint8_t node_key[32], magicsock_ping_cb *cb,
		   void *arg)
{
	struct ms_peer *p = ms_peer_by_node(ms, node_key);
	struct ms_cli_ping *c;
	int ret;

	if (!p)
		return -ENOENT;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ms = ms;
	c->cb = cb;
	c->arg = arg;
	c->region_id = ms_peer_region(p);
	ret = ms_endpoint_cli_ping(&p->ep, ms_now_us(), c);
	if (ret) {
		free(c);
		return ret == -ENOTCONN || ret == -ENOMEM ? ret : -ENOTCONN;
	}
	ms_peer_rearm(p);
	return 0;
}
