// SPDX-License-Identifier: MIT
/*
 * Relay regions: the relay map as magicsock keeps it, one relay connection
 * per region in use (the home region's for good, others while used), the
 * packets held while a connection comes up, and the netcheck runs that pick
 * the home region and find our public addresses.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "control/msg.h"
#include "magicsock/internal.h"
#include "relay/relay_client.h"
#include "relay/relay_server.h"
#include "util/compiler.h"
#include "util/log.h"

static const char *const LOG_COMP = "magicsock";

enum {
	URL_MAX = 512,
};

struct ms_resolve {
	uv_getaddrinfo_t req;
	struct magicsock *ms; /* NULL once the region is gone: only free on completion */
	uint32_t region_id;
};

/* ---- the relay map ---- */

const struct ms_region *ms_region_find(const struct magicsock *ms, uint32_t id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < ms->nregions; i++)
		if (ms->regions[i].id == id)
			return &ms->regions[i];
	return NULL;
}

static void region_clear(struct ms_region *r)
{
	if (r->resolve)
		r->resolve->ms = NULL;
	free(r->url);
	free(r->server_name);
	free(r->stun_host);
	memset(r, 0, sizeof(*r));
}

void ms_regions_free(struct magicsock *ms)
{
	for (size_t i = 0; i < ms->nregions; i++)
		region_clear(&ms->regions[i]);
	free(ms->regions);
	ms->regions = NULL;
	ms->nregions = 0;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct ms_resolve *rs = container_of(req, struct ms_resolve, req);
	struct magicsock *ms = rs->ms;
	struct ms_region *r = NULL;
	bool found = false;

	if (ms) {
		for (size_t i = 0; i < ms->nregions; i++)
			if (ms->regions[i].id == rs->region_id)
				r = &ms->regions[i];
	}
	if (r && status < 0)
		log_warn(LOG_COMP, "cannot resolve STUN server %s: %s", r->stun_host,
			 uv_strerror(status));
	for (const struct addrinfo *ai = res; r && status == 0 && ai; ai = ai->ai_next) {
		struct ip_endpoint e;

		if (ip_endpoint_from_sockaddr(&e, ai->ai_addr) < 0)
			continue;
		e.port = r->stun_port;
		if (e.addr.family == IP_FAMILY_V4 && r->stun4.addr.family == IP_FAMILY_UNSET)
			r->stun4 = e, found = true;
		else if (e.addr.family == IP_FAMILY_V6 && r->stun6.addr.family == IP_FAMILY_UNSET)
			r->stun6 = e, found = true;
	}
	if (r)
		r->resolve = NULL;
	uv_freeaddrinfo(res);
	free(rs);
	if (found)
		ms_netcheck_schedule(ms, 0);
}

static void start_resolve(struct magicsock *ms, struct ms_region *r)
{
	const struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
	struct ms_resolve *rs = calloc(1, sizeof(*rs));

	if (!rs)
		return;
	rs->ms = ms;
	rs->region_id = r->id;
	if (uv_getaddrinfo(ms->loop, &rs->req, on_resolved, r->stun_host, NULL, &hints) < 0) {
		free(rs);
		return;
	}
	r->resolve = rs;
}

/* Fill @r from the map's region: the first relay node's URL, the first STUN node's addresses. */
static int region_from_map(struct magicsock *ms, struct ms_region *r,
			   const struct ctl_relay_region *m)
{
	const struct ctl_relay_node *relay = NULL, *stun = NULL;
	const char *scheme = ms->cfg.relay_tls ? "https" : "http";
	char host[IP_ADDR_STRLEN + 2], url[URL_MAX];

	r->id = m->region_id;
	if (m->region_code) {
		strncpy(r->code, m->region_code, MAGICSOCK_REGION_CODE_LEN);
		r->code[MAGICSOCK_REGION_CODE_LEN] = '\0';
	}
	for (size_t i = 0; i < m->nnodes; i++) {
		if (!relay && m->nodes[i].relay_port)
			relay = &m->nodes[i];
		if (!stun && m->nodes[i].stun_port)
			stun = &m->nodes[i];
	}
	if (relay && relay->host_name) {
		char addr[IP_ADDR_STRLEN];

		if (relay->has_ipv4) {
			snprintf(host, sizeof(host), "%s",
				 ip_addr_format(&relay->ipv4, addr, sizeof(addr)));
		} else if (relay->has_ipv6) {
			snprintf(host, sizeof(host), "[%s]",
				 ip_addr_format(&relay->ipv6, addr, sizeof(addr)));
		}
		/* Dial the address, verify the name. */
		if (relay->has_ipv4 || relay->has_ipv6) {
			r->server_name = strdup(relay->host_name);
			if (!r->server_name)
				return -ENOMEM;
		}
		if (snprintf(url, sizeof(url), "%s://%s:%u%s", scheme,
			     relay->has_ipv4 || relay->has_ipv6 ? host : relay->host_name,
			     relay->relay_port, RELAY_HTTP_PATH) >= (int)sizeof(url))
			return -EINVAL;
		r->url = strdup(url);
		if (!r->url)
			return -ENOMEM;
	}
	if (stun) {
		r->stun_port = stun->stun_port;
		if (stun->has_ipv4)
			r->stun4 =
				(struct ip_endpoint){.addr = stun->ipv4, .port = stun->stun_port};
		if (stun->has_ipv6)
			r->stun6 =
				(struct ip_endpoint){.addr = stun->ipv6, .port = stun->stun_port};
		if (!stun->has_ipv4 && !stun->has_ipv6 && stun->host_name) {
			r->stun_host = strdup(stun->host_name);
			if (!r->stun_host)
				return -ENOMEM;
		}
	}
	return 0;
}

static void relay_close(struct magicsock *ms, struct ms_relay *r);
static struct ms_relay *relay_get(struct magicsock *ms, uint32_t region_id);

int ms_regions_set(struct magicsock *ms, const struct ctl_relay_map *map)
{
	struct ms_region *regions = NULL;
	size_t n = map ? map->nregions : 0;
	struct ms_relay **rp;
	int ret;

	if (n) {
		regions = calloc(n, sizeof(*regions));
		if (!regions)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		ret = region_from_map(ms, &regions[i], &map->regions[i]);
		if (ret) {
			for (size_t j = 0; j <= i; j++)
				region_clear(&regions[j]);
			free(regions);
			return ret;
		}
	}
	ms_regions_free(ms);
	ms->regions = regions;
	ms->nregions = n;
	for (size_t i = 0; i < n; i++)
		if (regions[i].stun_host)
			start_resolve(ms, &regions[i]);
	/* Connections to regions that left the map, or whose URL changed, close. */
	for (rp = &ms->relays; *rp;) {
		const struct ms_region *region = ms_region_find(ms, (*rp)->region_id);

		if (!region || !region->url || strcmp(region->url, (*rp)->url))
			relay_close(ms, *rp);
		else
			rp = &(*rp)->next;
	}
	if (ms->home && !ms_region_find(ms, ms->home))
		ms->home = 0;
	/*
	 * Until netcheck has measured, the first region with a relay is home, so the first
	 * packets (and a node whose UDP is blocked, for which netcheck takes its full time)
	 * have a relay at once instead of being dropped.
	 */
	for (size_t i = 0; i < n && !ms->home; i++) {
		if (!regions[i].url)
			continue;
		ms->home = regions[i].id;
		log_info(LOG_COMP, "home relay region \"%s\" (%u) until netcheck has measured",
			 regions[i].code, ms->home);
		relay_get(ms, ms->home);
		ms_update_local_endpoints(ms, true);
	}
	ms_netcheck_schedule(ms, 0);
	return 0;
}

int magicsock_set_relay_map(struct magicsock *ms, const struct ctl_relay_map *map)
{
	return ms_regions_set(ms, map);
}

/* ---- relay connections ---- */

static void drop_queue(struct ms_relay *r)
{
	struct ms_relay_pkt *q;

	while ((q = r->q_head)) {
		r->q_head = q->next;
		free(q);
	}
	r->q_tail = NULL;
	r->q_len = 0;
	r->q_bytes = 0;
}

static void relay_close(struct magicsock *ms, struct ms_relay *r)
{
	struct ms_relay **rp;

	for (rp = &ms->relays; *rp; rp = &(*rp)->next) {
		if (*rp == r) {
			*rp = r->next;
			break;
		}
	}
	log_debug(LOG_COMP, "closing relay connection region=%u", r->region_id);
	relay_client_free(r->rc);
	drop_queue(r);
	free(r->url);
	free(r);
}

void ms_relays_close_all(struct magicsock *ms)
{
	while (ms->relays)
		relay_close(ms, ms->relays);
}

static void on_relay_recv(struct relay_client *rc, const uint8_t src[RELAY_KEY_LEN],
			  const uint8_t *data, size_t len, void *arg)
{
	struct ms_relay *r = arg;

	(void)rc;
	r->last_used_ms = uv_now(r->ms->loop);
	ms_relay_input(r->ms, r->region_id, src, data, len);
}

static void on_relay_peer_gone(struct relay_client *rc, const uint8_t key[RELAY_KEY_LEN],
			       uint8_t reason, void *arg)
{
	struct ms_relay *r = arg;
	char hex[9];

	(void)rc;
	sodium_bin2hex(hex, sizeof(hex), key, 4);
	log_debug(LOG_COMP, "relay region=%u: peer %s %s", r->region_id, hex,
		  reason == RELAY_PEER_GONE_NOT_HERE ? "is not connected there" : "left");
}

static void on_relay_state(struct relay_client *rc, bool connected, const char *why, void *arg)
{
	struct ms_relay *r = arg;
	struct magicsock *ms = r->ms;
	const struct ms_region *region = ms_region_find(ms, r->region_id);
	const char *code = region ? region->code : "?";
	struct ms_relay_pkt *q;

	if (connected == r->connected)
		return;
	r->connected = connected;
	if (!connected) {
		if (r->region_id == ms->home)
			log_warn(LOG_COMP, "home relay \"%s\" lost: %s", code, why);
		else
			log_info(LOG_COMP, "relay \"%s\" lost: %s", code, why);
		return;
	}
	log_info(LOG_COMP, "relay \"%s\" connected%s", code,
		 r->region_id == ms->home ? " (home)" : "");
	/* Sends from inside callbacks may queue more: take the list first. */
	q = r->q_head;
	r->q_head = r->q_tail = NULL;
	r->q_len = 0;
	r->q_bytes = 0;
	while (q) {
		struct ms_relay_pkt *next = q->next;

		if (relay_client_send(rc, q->dst, q->data, q->len) < 0)
			ms->stats.drop_relay_full++;
		free(q);
		q = next;
	}
}

/* The connection to @region_id, made if there is none and the region has a relay. */
static struct ms_relay *relay_get(struct magicsock *ms, uint32_t region_id)
{
	const struct ms_region *region;
	struct ms_relay *r;
	struct relay_client_config cfg = {
		.private_key = ms->node_priv,
		.tls = ms->cfg.relay_tls,
		.on_recv = on_relay_recv,
		.on_peer_gone = on_relay_peer_gone,
		.on_state = on_relay_state,
	};

	for (r = ms->relays; r; r = r->next)
		if (r->region_id == region_id)
			return r;
	region = ms_region_find(ms, region_id);
	if (!region || !region->url || ms->closing)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->ms = ms;
	r->region_id = region_id;
	r->last_used_ms = uv_now(ms->loop);
	r->url = strdup(region->url);
	if (!r->url) {
		free(r);
		return NULL;
	}
	cfg.url = region->url;
	cfg.tls_server_name = region->server_name;
	cfg.arg = r;
	if (relay_client_new(&r->rc, ms->loop, &cfg) < 0) {
		free(r->url);
		free(r);
		return NULL;
	}
	log_info(LOG_COMP, "connecting to relay \"%s\" (%u) at %s", region->code, region_id,
		 region->url);
	r->next = ms->relays;
	ms->relays = r;
	return r;
}

int ms_relay_send(struct magicsock *ms, uint32_t region_id, const uint8_t dst[MS_KEY_LEN],
		  const uint8_t *data, size_t len)
{
	struct ms_relay *r = relay_get(ms, region_id);
	struct ms_relay_pkt *q;
	int ret;

	if (!r) {
		ms->stats.drop_no_path++;
		return -ENOTCONN;
	}
	r->last_used_ms = uv_now(ms->loop);
	if (r->connected) {
		ret = relay_client_send(r->rc, dst, data, len);
		if (ret < 0)
			ms->stats.drop_relay_full++;
		return ret;
	}
	if (len > RELAY_MAX_PACKET_LEN)
		return -EMSGSIZE;
	/* Coming up: hold a bounded number of packets, dropping the oldest. */
	while (r->q_head && (r->q_len >= MAGICSOCK_RELAY_QUEUE_PACKETS ||
			     r->q_bytes + len > MAGICSOCK_RELAY_QUEUE_BYTES)) {
		q = r->q_head;
		r->q_head = q->next;
		if (!r->q_head)
			r->q_tail = NULL;
		r->q_len--;
		r->q_bytes -= q->len;
		free(q);
		ms->stats.drop_relay_full++;
	}
	q = malloc(sizeof(*q) + len);
	if (!q)
		return -ENOMEM;
	q->next = NULL;
	memcpy(q->dst, dst, MS_KEY_LEN);
	q->len = len;
	memcpy(q->data, data, len);
	if (r->q_tail)
		r->q_tail->next = q;
	else
		r->q_head = q;
	r->q_tail = q;
	r->q_len++;
	r->q_bytes += len;
	ms->stats.tx_relay_queued++;
	return 0;
}

/* Close idle connections to other regions; keep the home one up. */
static void on_relay_gc(uv_timer_t *t)
{
	struct magicsock *ms = t->data;
	uint64_t now = uv_now(ms->loop);
	struct ms_relay *r, *next;

	for (r = ms->relays; r; r = next) {
		next = r->next;
		if (r->region_id != ms->home && now - r->last_used_ms > MAGICSOCK_RELAY_IDLE_MS)
			relay_close(ms, r);
	}
	if (ms->home)
		relay_get(ms, ms->home);
}

/* ---- netcheck ---- */

static int nc_send(void *ctx, const struct ip_endpoint *dst, const uint8_t *buf, size_t len)
{
	struct magicsock *ms = ctx;
	struct pktbuf *b;
	unsigned int sent;

	if (!ms->have_sink || !ms->udp.sock)
		return -ENOTCONN;
	b = pktbuf_get(ms->sink.pool);
	if (!b) {
		ms->stats.drop_nobuf++;
		return -ENOBUFS;
	}
	memcpy(b->data, buf, len);
	b->len = (uint32_t)len;
	b->endpoint = *dst;
	sent = wg_bind_udp_send(&ms->udp, &b, 1);
	pktbuf_put(ms->sink.pool, b);
	return sent == 1 ? 0 : -EIO;
}

static void nc_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static void log_report(const struct magicsock *ms, const struct netcheck_report *r)
{
	char v4[IP_ENDPOINT_STRLEN] = "none", lat[64] = "";
	const struct netcheck_region_result *home = netcheck_region(r, ms->home);

	if (r->has_global_v4)
		ip_endpoint_format(&r->global_v4, v4, sizeof(v4));
	if (home && home->latency_us)
		snprintf(lat, sizeof(lat), " latency=%.2fms", home->latency_us / 1000.0);
	log_info(LOG_COMP, "netcheck: udp=%s v4=%s v6=%s mapping_varies=%s home=%s%s",
		 r->udp ? "yes" : "no", v4, r->has_global_v6 ? "yes" : "no",
		 !r->mapping_varies_known ? "unknown"
		 : r->mapping_varies	  ? "yes"
					  : "no",
		 home ? home->code : "none", lat);
}

static void nc_rearm(struct magicsock *ms);

static void nc_done(void *ctx, const struct netcheck_report *r)
{
	struct magicsock *ms = ctx;
	uint64_t now = uv_now(ms->loop);
	const struct ms_region *region;
	struct ms_nc_waiter *w;
	uint32_t home;
	bool home_changed;

	home = netcheck_pick_home(r, ms->home);
	region = ms_region_find(ms, home);
	if (!region || !region->url) {
		/* No latency at all (UDP blocked) or a STUN-only region: any region with a relay. */
		home = ms_region_find(ms, ms->home) ? ms->home : 0;
		for (size_t i = 0; i < ms->nregions && !home; i++)
			if (ms->regions[i].url)
				home = ms->regions[i].id;
	}
	home_changed = home != ms->home;
	ms->home = home;
	memcpy(ms->report, r, sizeof(*r));
	ms->report->preferred_region = home;
	ms->have_report = true;
	ms->last_netcheck_ms = now;
	log_report(ms, ms->report);
	if (home_changed && home) {
		region = ms_region_find(ms, home);
		log_info(LOG_COMP, "home relay region \"%s\" (%u)", region->code, home);
		relay_get(ms, home);
	}
	ms_update_local_endpoints(ms, home_changed);
	/* Waiters added from inside a callback wait for the next run. */
	w = ms->waiters;
	ms->waiters = NULL;
	while (w) {
		struct ms_nc_waiter *next = w->next;

		w->cb(w->arg, ms->report);
		free(w);
		w = next;
	}
	if (ms->closing)
		return;
	if (now - ms->last_activity_ms < MS_SESSION_ACTIVE_US / 1000)
		ms->nc_next_ms =
			now + MAGICSOCK_RESTUN_MIN_MS +
			randombytes_uniform(MAGICSOCK_RESTUN_MAX_MS - MAGICSOCK_RESTUN_MIN_MS + 1);
	else
		ms->nc_next_ms = now + MAGICSOCK_RESTUN_IDLE_MS;
	if (ms->waiters)
		ms->nc_next_ms = now;
}

static const struct netcheck_ops nc_ops = {
	.send = nc_send,
	.random = nc_random,
	.done = nc_done,
};

static void start_run(struct magicsock *ms)
{
	struct netcheck_server *servers;
	size_t n = 0;

	servers = calloc(2 * ms->nregions + 1, sizeof(*servers));
	if (!servers) {
		ms->nc_next_ms = uv_now(ms->loop) + 1000;
		return;
	}
	for (size_t i = 0; i < ms->nregions; i++) {
		const struct ms_region *r = &ms->regions[i];

		if (r->stun4.addr.family)
			servers[n++] = (struct netcheck_server){r->id, r->code, r->stun4};
		if (r->stun6.addr.family)
			servers[n++] = (struct netcheck_server){r->id, r->code, r->stun6};
	}
	ms->nc_next_ms = 0;
	netcheck_start(ms->nc, ms_now_us(), servers, n);
	free(servers);
}

static void on_nc_timer(uv_timer_t *t)
{
	struct magicsock *ms = t->data;

	if (ms->nc->running)
		netcheck_tick(ms->nc, ms_now_us());
	else if (ms->nc_next_ms && uv_now(ms->loop) >= ms->nc_next_ms)
		start_run(ms);
	nc_rearm(ms);
}

static void nc_rearm(struct magicsock *ms)
{
	uint64_t now = uv_now(ms->loop), at;

	if (ms->closing)
		return;
	if (ms->nc->running) {
		uint64_t due = netcheck_deadline(ms->nc), us = ms_now_us();

		uv_timer_start(&ms->nc_timer, on_nc_timer, due > us ? (due - us + 999) / 1000 : 0,
			       0);
		return;
	}
	if (!ms->nc_next_ms) {
		uv_timer_stop(&ms->nc_timer);
		return;
	}
	at = ms->nc_next_ms;
	uv_timer_start(&ms->nc_timer, on_nc_timer, at > now ? at - now : 0, 0);
}

void ms_netcheck_schedule(struct magicsock *ms, uint64_t delay_ms)
{
	uint64_t at = uv_now(ms->loop) + delay_ms;

	if (ms->closing || ms->nc->running)
		return;
	if (ms->nc_next_ms && ms->nc_next_ms <= at)
		return;
	ms->nc_next_ms = at;
	nc_rearm(ms);
}

void ms_stun_input(struct magicsock *ms, const uint8_t *buf, size_t len,
		   const struct ip_endpoint *src)
{
	struct stun_message msg;

	ms->stats.rx_stun++;
	if (stun_parse(buf, len, &msg)) {
		ms->stats.drop_stun_bad++;
		return;
	}
	if (!netcheck_handle_stun(ms->nc, ms_now_us(), &msg, src)) {
		ms->stats.drop_stun_unexpected++;
		return;
	}
	nc_rearm(ms);
}

int magicsock_netcheck(struct magicsock *ms, magicsock_netcheck_cb *cb, void *arg)
{
	struct ms_nc_waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	w->next = ms->waiters;
	ms->waiters = w;
	ms_netcheck_schedule(ms, 0);
	return 0;
}

const struct netcheck_report *magicsock_last_report(const struct magicsock *ms)
{
	return ms->have_report ? ms->report : NULL;
}

int ms_netcheck_init(struct magicsock *ms)
{
	ms->nc = calloc(1, sizeof(*ms->nc));
	ms->report = calloc(1, sizeof(*ms->report));
	if (!ms->nc || !ms->report)
		return -ENOMEM;
	netcheck_init(ms->nc, &nc_ops, ms);
	uv_timer_init(ms->loop, &ms->nc_timer);
	ms->nc_timer.data = ms;
	uv_timer_init(ms->loop, &ms->relay_gc);
	ms->relay_gc.data = ms;
	ms->open_handles += 2;
	uv_timer_start(&ms->relay_gc, on_relay_gc, MAGICSOCK_RELAY_GC_MS, MAGICSOCK_RELAY_GC_MS);
	return 0;
}

void ms_netcheck_fini(struct magicsock *ms)
{
	struct ms_nc_waiter *w;

	while ((w = ms->waiters)) {
		ms->waiters = w->next;
		free(w);
	}
	if (ms->nc_timer.data) { /* the timers were initialised */
		uv_close((uv_handle_t *)&ms->nc_timer, ms_handle_closed);
		uv_close((uv_handle_t *)&ms->relay_gc, ms_handle_closed);
	}
	free(ms->nc);
	free(ms->report);
	ms->nc = NULL;
	ms->report = NULL;
}
