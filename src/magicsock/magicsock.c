// SPDX-License-Identifier: MIT
/*
 * magicsock's core (see magicsock.h): the socket and its demultiplexer,
 * disco and relayed packets coming in, the device's send path, our
 * endpoints, and the lifetime. Peers and the disco they send live in
 * peers.c, relay regions and netcheck in regions.c, interface addresses in
 * netmon.c.
 */
#include "magicsock/magicsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "magicsock/internal.h"
#include "magicsock/stun.h"
#include "util/log.h"

static const char *const LOG_COMP = "magicsock";

/* ---- receive ---- */

enum magicsock_packet_kind magicsock_classify(const uint8_t *buf, size_t len)
{
	if (disco_is_message(buf, len))
		return MAGICSOCK_PACKET_DISCO;
	/* Before WireGuard: a Binding success starts with 0x01 too (then 0x01, not 0). */
	if (stun_is_message(buf, len))
		return MAGICSOCK_PACKET_STUN;
	if (len >= 4 && buf[0] >= 1 && buf[0] <= 4 && !buf[1] && !buf[2] && !buf[3])
		return MAGICSOCK_PACKET_WIREGUARD;
	return MAGICSOCK_PACKET_UNKNOWN;
}

/* A disco message over UDP from @udp_src, or through a relay from node @relay_src. */
static void disco_input(struct magicsock *ms, const uint8_t *buf, size_t len,
			const struct ip_endpoint *udp_src, const uint8_t *relay_src)
{
	struct disco_msg m;
	struct ms_peer *p;
	uint64_t now;

	ms->stats.rx_disco++;
	if (!disco_is_message(buf, len)) {
		ms->stats.drop_disco_bad++;
		return;
	}
	p = ms_peer_by_disco(ms, disco_sender_key(buf));
	if (!p) {
		ms->stats.drop_disco_unknown++;
		return;
	}
	/* Through a relay the sender's node key is known: it must own this disco key. */
	if (relay_src && memcmp(relay_src, p->node_key, MS_KEY_LEN)) {
		ms->stats.drop_disco_misrouted++;
		return;
	}
	if (disco_open(buf, len, p->shared, &m)) {
		ms->stats.drop_disco_bad++;
		return;
	}
	now = ms_now_us();
	switch (m.type) {
	case DISCO_PING:
		if (memcmp(m.node_key, p->node_key, MS_KEY_LEN)) {
			ms->stats.drop_disco_misrouted++;
			return;
		}
		if (ms_endpoint_handle_ping(&p->ep, now, udp_src, &m) == -EALREADY)
			ms->stats.drop_disco_replayed++;
		break;
	case DISCO_PONG:
		if (ms_endpoint_handle_pong(&p->ep, now, udp_src, &m) == -ENOENT)
			ms->stats.drop_disco_replayed++;
		break;
	case DISCO_CALL_ME_MAYBE:
		/* Only the relay vouches that it comes from the peer's current address book. */
		if (udp_src) {
			ms->stats.drop_disco_misrouted++;
			return;
		}
		ms_endpoint_handle_call_me_maybe(&p->ep, now, &m);
		break;
	default:
		return;
	}
	ms_peer_rearm(p);
}

/* The socket's batch: WireGuard goes on to the device in one batch, the rest is handled here. */
static void udp_input(void *ctx, struct pktbuf **bufs, unsigned int n)
{
	struct magicsock *ms = ctx;
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct pktbuf *b = bufs[i];

		switch (magicsock_classify(b->data, b->len)) {
		case MAGICSOCK_PACKET_WIREGUARD:
			/* A pseudo-endpoint is ours to name: nobody may send from one. */
			if (magicsock_is_pseudo_endpoint(&b->endpoint))
				break;
			ms->stats.rx_udp_wireguard++;
			bufs[k++] = b;
			continue;
		case MAGICSOCK_PACKET_DISCO:
			disco_input(ms, b->data, b->len, &b->endpoint, NULL);
			break;
		case MAGICSOCK_PACKET_STUN:
			ms_stun_input(ms, b->data, b->len, &b->endpoint);
			break;
		default:
			ms->stats.drop_unknown++;
			break;
		}
		pktbuf_put(ms->sink.pool, b);
	}
	if (k)
		ms->sink.input(ms->sink.ctx, bufs, k);
}

void ms_relay_input(struct magicsock *ms, uint32_t region_id, const uint8_t src_key[MS_KEY_LEN],
		    const uint8_t *data, size_t len)
{
	struct ms_peer *p = ms_peer_by_node(ms, src_key);
	struct pktbuf *b;

	if (!p) {
		ms->stats.drop_relay_unknown++;
		return;
	}
	p->rx_region = region_id;
	switch (magicsock_classify(data, len)) {
	case MAGICSOCK_PACKET_DISCO:
		disco_input(ms, data, len, NULL, src_key);
		return;
	case MAGICSOCK_PACKET_WIREGUARD:
		break;
	default:
		ms->stats.drop_unknown++;
		return;
	}
	if (!ms->have_sink)
		return;
	b = pktbuf_get(ms->sink.pool);
	if (!b) {
		ms->stats.drop_nobuf++;
		return;
	}
	if (len > pktbuf_tailroom(b)) {
		pktbuf_put(ms->sink.pool, b);
		ms->stats.drop_unknown++;
		return;
	}
	memcpy(b->data, data, len);
	b->len = (uint32_t)len;
	ms_pseudo_endpoint(p->slot, &b->endpoint);
	ms->stats.rx_relay_wireguard++;
	ms->sink.input(ms->sink.ctx, &b, 1);
}

/* ---- send ---- */

static unsigned int relay_out(struct magicsock *ms, struct ms_peer *p, const struct pktbuf *b)
{
	uint32_t region = ms_peer_region(p);

	if (!region) {
		ms->stats.drop_no_path++;
		return 0;
	}
	if (ms_relay_send(ms, region, p->node_key, b->data, b->len) < 0)
		return 0;
	ms->stats.tx_relay_wireguard++;
	return 1;
}

static unsigned int flush_udp(struct magicsock *ms, struct pktbuf **udp, unsigned int *k)
{
	unsigned int sent = *k ? wg_bind_udp_send(&ms->udp, udp, *k) : 0;

	ms->stats.tx_udp_wireguard += sent;
	*k = 0;
	return sent;
}

/* net_ops.send: the device's messages, each to the path magicsock picks for its peer. */
static unsigned int ms_send(void *ctx, struct pktbuf *const *bufs, unsigned int n)
{
	struct magicsock *ms = ctx;
	struct pktbuf *udp[WG_DEVICE_BATCH];
	struct ms_peer *p, *last = NULL;
	struct ip_endpoint dst = {0};
	unsigned int k = 0, handed = 0, flags = 0;
	uint64_t now = ms_now_us(), now_ms = uv_now(ms->loop);

	if (ms->closing)
		return 0; /* the device may flush while it is destroyed after us */
	for (unsigned int i = 0; i < n; i++) {
		struct pktbuf *b = bufs[i];

		if (b->peer) {
			const uint8_t *key = wg_peer_public_key(b->peer);

			p = last && !memcmp(last->node_key, key, MS_KEY_LEN)
				    ? last
				    : ms_peer_by_node(ms, key);
		} else if (magicsock_is_pseudo_endpoint(&b->endpoint)) {
			/* A cookie reply to a handshake that came through a relay. */
			p = ms_peer_by_pseudo(ms, &b->endpoint);
			if (p)
				handed += relay_out(ms, p, b);
			else
				ms->stats.drop_no_path++;
			continue;
		} else {
			p = NULL;
		}
		if (!p) {
			/* Not a peer we know (or a cookie reply): the device's own endpoint. */
			if (b->endpoint.addr.family == IP_FAMILY_UNSET ||
			    magicsock_is_pseudo_endpoint(&b->endpoint)) {
				ms->stats.drop_no_path++;
				continue;
			}
			udp[k++] = b;
		} else {
			if (p != last) {
				flags = ms_endpoint_send(&p->ep, now, &dst);
				ms_peer_rearm(p);
				last = p;
			}
			/* Sent both ways, a packet counts as handed over if the UDP send took it. */
			if (flags & MS_SEND_RELAY) {
				unsigned int ok = relay_out(ms, p, b);

				if (!(flags & MS_SEND_UDP))
					handed += ok;
			}
			if (flags & MS_SEND_UDP) {
				b->endpoint = dst;
				udp[k++] = b;
			}
		}
		if (k == WG_DEVICE_BATCH)
			handed += flush_udp(ms, udp, &k);
	}
	handed += flush_udp(ms, udp, &k);
	ms->last_activity_ms = now_ms;
	/* Back from idle with old STUN results: refresh them (NAT mappings last ~30 s). */
	if (ms->last_netcheck_ms && now_ms - ms->last_netcheck_ms > MAGICSOCK_ENDPOINTS_FRESH_MS)
		ms_netcheck_schedule(ms, 0);
	return handed;
}

static int ms_ops_bind(void *ctx, uint16_t port, uint32_t fwmark, uint16_t *bound_port)
{
	struct magicsock *ms = ctx;

	if (ms->closing)
		return -ESHUTDOWN;
	return magicsock_bind(ms, port, fwmark, bound_port);
}

const struct wg_net_ops magicsock_net_ops = {
	.send = ms_send,
	.bind = ms_ops_bind,
};

/* ---- our endpoints ---- */

static void add_local(struct ip_endpoint *eps, unsigned int *n, const struct ip_endpoint *e)
{
	if (*n >= MAGICSOCK_MAX_LOCAL_ENDPOINTS || e->addr.family == IP_FAMILY_UNSET || !e->port)
		return;
	for (unsigned int i = 0; i < *n; i++)
		if (eps[i].port == e->port && ip_addr_equal(&eps[i].addr, &e->addr))
			return;
	eps[(*n)++] = *e;
}

void ms_update_local_endpoints(struct magicsock *ms, bool force_notify)
{
	const struct netcheck_report *r = ms->have_report ? ms->report : NULL;
	struct ip_endpoint eps[MAGICSOCK_MAX_LOCAL_ENDPOINTS];
	unsigned int n = 0;
	uint64_t now;
	bool changed;

	memset(eps, 0, sizeof(eps));
	if (r && r->has_global_v4)
		add_local(eps, &n, &r->global_v4);
	if (r && r->has_global_v6)
		add_local(eps, &n, &r->global_v6);
	/* Hard NAT and a fixed port: maybe the admin forwarded it (Tailscale's STUN4LocalPort). */
	if (r && r->has_global_v4 && r->mapping_varies && ms->cfg.port) {
		struct ip_endpoint e = {.addr = r->global_v4.addr, .port = ms->port};

		add_local(eps, &n, &e);
	}
	for (unsigned int i = 0; i < ms->nifaddrs; i++) {
		struct ip_endpoint e = {.addr = ms->ifaddrs[i].addr, .port = ms->port};

		add_local(eps, &n, &e);
	}
	changed = n != ms->nlocal;
	for (unsigned int i = 0; i < n && !changed; i++)
		changed = eps[i].port != ms->local[i].port ||
			  !ip_addr_equal(&eps[i].addr, &ms->local[i].addr);
	if (changed) {
		char text[MAGICSOCK_MAX_LOCAL_ENDPOINTS * (IP_ENDPOINT_STRLEN + 1)] = "";
		size_t off = 0;

		memcpy(ms->local, eps, sizeof(eps));
		ms->nlocal = n;
		for (unsigned int i = 0; i < n; i++) {
			char buf[IP_ENDPOINT_STRLEN];

			off += (size_t)snprintf(text + off, sizeof(text) - off, "%s%s",
						i ? " " : "",
						ip_endpoint_format(&eps[i], buf, sizeof(buf)));
		}
		log_info(LOG_COMP, "endpoints: %s", n ? text : "(none)");
		now = ms_now_us();
		for (uint32_t i = 0; i < ms->nslots; i++) {
			struct ms_peer *p = ms->slots[i];

			if (!p)
				continue;
			ms_endpoint_local_endpoints_changed(&p->ep, now);
			ms_peer_rearm(p);
		}
	}
	if ((changed || force_notify) && ms->cfg.on_change)
		ms->cfg.on_change(ms, ms->cfg.arg);
}

unsigned int magicsock_local_endpoints(const struct magicsock *ms, struct ip_endpoint *out,
				       unsigned int max)
{
	unsigned int n = ms->nlocal < max ? ms->nlocal : max;

	memcpy(out, ms->local, n * sizeof(out[0]));
	return n;
}

uint32_t magicsock_home_region(const struct magicsock *ms)
{
	return ms->home;
}

/* ---- lifetime ---- */

void ms_handle_closed(uv_handle_t *h)
{
	struct magicsock *ms = h->data;

	if (--ms->open_handles == 0 && ms->closing)
		free(ms);
}

int magicsock_new(struct magicsock **out, uv_loop_t *loop, const struct magicsock_config *cfg)
{
	struct magicsock *ms;
	int ret;

	*out = NULL;
	if (!cfg->node_private_key || !cfg->disco_private_key)
		return -EINVAL;
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ms->loop = loop;
	ms->cfg = *cfg;
	ms->cfg.node_private_key = ms->cfg.disco_private_key = NULL;
	ms->cfg.exclude_ifname = NULL;
	ms->nl_fd = -1;
	ms->pings_done_tail = &ms->pings_done;
	memcpy(ms->node_priv, cfg->node_private_key, MS_KEY_LEN);
	memcpy(ms->disco_priv, cfg->disco_private_key, MS_KEY_LEN);
	randombytes_buf(ms->hash_key, sizeof(ms->hash_key));
	wg_bind_udp_init(&ms->udp, loop);
	uv_timer_init(loop, &ms->defer_timer);
	ms->defer_timer.data = ms;
	ms->open_handles++;
	if (crypto_scalarmult_base(ms->node_pub, ms->node_priv) ||
	    crypto_scalarmult_base(ms->disco_pub, ms->disco_priv)) {
		ret = -EINVAL;
		goto out_free;
	}
	ms->tab_size = MS_INITIAL_TABLE;
	ms->by_node = calloc(ms->tab_size, sizeof(*ms->by_node));
	ms->by_disco = calloc(ms->tab_size, sizeof(*ms->by_disco));
	ms->exclude_ifname = cfg->exclude_ifname ? strdup(cfg->exclude_ifname) : NULL;
	if (!ms->by_node || !ms->by_disco || (cfg->exclude_ifname && !ms->exclude_ifname)) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = ms_netcheck_init(ms);
	if (ret)
		goto out_free;
	ms_read_ifaddrs(ms);
	if (!cfg->no_netmon && ms_netmon_start(ms) < 0)
		log_warn(LOG_COMP, "cannot watch netlink: address changes need a restart");
	if (cfg->sink.input) {
		ret = magicsock_set_sink(ms, &cfg->sink);
		if (ret)
			goto out_free;
	}
	*out = ms;
	return 0;

out_free:
	magicsock_free(ms);
	return ret;
}

int magicsock_set_sink(struct magicsock *ms, const struct magicsock_sink *sink)
{
	struct wg_bind_udp_sink s = {.input = udp_input, .ctx = ms, .pool = sink->pool};

	if (!sink->input || !sink->pool)
		return -EINVAL;
	ms->sink = *sink;
	ms->have_sink = true;
	wg_bind_udp_set_sink(&ms->udp, &s);
	if (ms->udp.sock)
		return 0;
	return magicsock_bind(ms, ms->cfg.port, ms->cfg.fwmark, NULL);
}

int magicsock_bind(struct magicsock *ms, uint16_t port, uint32_t fwmark, uint16_t *bound_port)
{
	uint16_t bound = 0;
	bool changed, first;
	int ret;

	if (!ms->have_sink)
		return -EINVAL;
	first = !ms->udp.sock;
	/* "Any port" while bound to one: keep it (the device asks once more after we bound). */
	if (!port && ms->udp.sock)
		port = ms->port;
	ret = wg_bind_udp_open(&ms->udp, port, fwmark, &bound);
	if (ret)
		return ret;
	/* The first bind counts as a change even on the configured port: endpoints start here. */
	changed = first || bound != ms->port;
	ms->port = bound;
	ms->fwmark = fwmark;
	if (bound_port)
		*bound_port = bound;
	if (changed) {
		log_info(LOG_COMP, "listening port=%u", bound);
		magicsock_network_changed(ms);
	}
	return 0;
}

uint16_t magicsock_port(const struct magicsock *ms)
{
	return ms->port;
}

void magicsock_free(struct magicsock *ms)
{
	struct ms_cli_ping *c;

	if (!ms || ms->closing)
		return;
	ms->closing = true;
	for (uint32_t i = 0; i < ms->nslots; i++)
		if (ms->slots[i])
			ms_peer_destroy(ms, ms->slots[i]);
	while ((c = ms->pings_done)) {
		ms->pings_done = c->next;
		free(c);
	}
	ms_relays_close_all(ms);
	ms_regions_free(ms);
	ms_netmon_stop(ms);
	ms_netcheck_fini(ms);
	wg_bind_udp_close(&ms->udp);
	free(ms->by_node);
	free(ms->by_disco);
	free(ms->slots);
	free(ms->free_slots);
	free(ms->exclude_ifname);
	ms->by_node = ms->by_disco = ms->slots = NULL;
	ms->free_slots = NULL;
	ms->exclude_ifname = NULL;
	ms->nslots = 0;
	sodium_memzero(ms->node_priv, sizeof(ms->node_priv));
	sodium_memzero(ms->disco_priv, sizeof(ms->disco_priv));
	uv_close((uv_handle_t *)&ms->defer_timer, ms_handle_closed);
}

void magicsock_network_changed(struct magicsock *ms)
{
	uint64_t now = ms_now_us();

	if (ms->closing)
		return;
	ms_read_ifaddrs(ms);
	for (uint32_t i = 0; i < ms->nslots; i++) {
		struct ms_peer *p = ms->slots[i];

		if (!p)
			continue;
		ms_endpoint_network_changed(&p->ep, now);
		ms_peer_rearm(p);
	}
	ms_update_local_endpoints(ms, false);
	ms_netcheck_schedule(ms, 0);
}

const char *magicsock_path_name(enum magicsock_path path)
{
	switch (path) {
	case MAGICSOCK_PATH_DIRECT:
		return "direct";
	case MAGICSOCK_PATH_RELAY:
		return "relay";
	default:
		return NULL;
	}
}

void magicsock_get_stats(const struct magicsock *ms, struct magicsock_stats *out)
{
	*out = ms->stats;
}
