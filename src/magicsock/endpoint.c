// SPDX-License-Identifier: MIT
/*
 * The per-peer path state machine (see endpoint.h for the policy): which
 * address a packet goes to, when to ping which candidate, and what a pong
 * or a call-me-maybe changes. No I/O, no clock, no allocation.
 */
#include "magicsock/endpoint.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"

static const char *const LOG_COMP = "magicsock";

/* Where a pong through the relay says we came from: nowhere on the network. */
static const struct ip_endpoint relay_placeholder = {
	.addr = {.family = IP_FAMILY_V4, .bytes = {127, 3, 3, 40}},
	.port = 0,
};

static bool endpoint_equal(const struct ip_endpoint *a, const struct ip_endpoint *b)
{
	return a->port == b->port && ip_addr_equal(&a->addr, &b->addr);
}

static bool addr_valid(const struct ip_endpoint *e)
{
	return e->addr.family != IP_FAMILY_UNSET;
}

static bool is_loopback(const struct ip_addr *a)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};

	if (a->family == IP_FAMILY_V4)
		return a->bytes[0] == 127;
	return !memcmp(a->bytes, v6_loopback, 16);
}

static bool is_link_local(const struct ip_addr *a)
{
	if (a->family == IP_FAMILY_V4)
		return a->bytes[0] == 169 && a->bytes[1] == 254;
	return a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

static bool is_private(const struct ip_addr *a)
{
	if (a->family == IP_FAMILY_V4)
		return a->bytes[0] == 10 || (a->bytes[0] == 172 && (a->bytes[1] & 0xf0) == 16) ||
		       (a->bytes[0] == 192 && a->bytes[1] == 168);
	return (a->bytes[0] & 0xfe) == 0xfc;
}

static int addr_bonus(const struct ip_addr *a)
{
	int points = 0;

	if (is_private(a))
		points += 20;
	if (is_loopback(a))
		points += 50;
	if (is_link_local(a))
		points += 30;
	if (a->family == IP_FAMILY_V6)
		points += 10;
	return points;
}

bool ms_better_addr(const struct ms_addr_quality *a, const struct ms_addr_quality *b)
{
	int a_points = 0, b_points = 0;

	if (endpoint_equal(&a->addr, &b->addr))
		return false;
	if (!addr_valid(&b->addr))
		return true;
	if (!addr_valid(&a->addr))
		return false;
	/* Points from 0 to 100: the percentage by which the faster address wins. */
	if (a->latency_us && b->latency_us) {
		if (a->latency_us < b->latency_us)
			a_points = (int)(100 - (uint64_t)a->latency_us * 100 / b->latency_us);
		else if (b->latency_us < a->latency_us)
			b_points = (int)(100 - (uint64_t)b->latency_us * 100 / a->latency_us);
	}
	a_points += addr_bonus(&a->addr.addr);
	b_points += addr_bonus(&b->addr.addr);
	/* Hysteresis: do not move for an improvement of 1% or less. */
	if (a_points <= 1 && b_points == 0)
		return false;
	return a_points > b_points;
}

/* The first bytes of the peer's key in hex, for log lines. */
static const char *short_key(const struct ms_endpoint *ep, char buf[9])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 4; i++) {
		buf[2 * i] = hex[ep->node_key[i] >> 4];
		buf[2 * i + 1] = hex[ep->node_key[i] & 15];
	}
	buf[8] = '\0';
	return buf;
}

static bool trusted(const struct ms_endpoint *ep, uint64_t now)
{
	return addr_valid(&ep->best.addr) && now < ep->trust_until_us;
}

/* Log a change between "direct" and "relay" once, where it is noticed. */
static void note_path(struct ms_endpoint *ep, uint64_t now, const char *why)
{
	char key[9], addr[IP_ENDPOINT_STRLEN];
	bool direct = trusted(ep, now);

	if (direct == ep->trusted_logged)
		return;
	ep->trusted_logged = direct;
	ep->stats.path_changes++;
	if (direct)
		log_info(LOG_COMP, "peer %s: direct path %s latency=%.2fms", short_key(ep, key),
			 ip_endpoint_format(&ep->best.addr, addr, sizeof(addr)),
			 ep->best.latency_us / 1000.0);
	else
		log_info(LOG_COMP, "peer %s: relay path (%s)", short_key(ep, key), why);
}

static struct ms_candidate *find_candidate(struct ms_endpoint *ep, const struct ip_endpoint *addr)
{
	for (unsigned int i = 0; i < ep->ncands; i++)
		if (endpoint_equal(&ep->cands[i].addr, addr))
			return &ep->cands[i];
	return NULL;
}

static void remove_candidate(struct ms_endpoint *ep, unsigned int i)
{
	ep->cands[i] = ep->cands[--ep->ncands];
	memset(&ep->cands[ep->ncands], 0, sizeof(ep->cands[0]));
}

static unsigned int count_netmap(const struct ms_endpoint *ep)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < ep->ncands; i++)
		n += !!(ep->cands[i].sources & MS_CAND_NETMAP);
	return n;
}

/*
 * Add @addr with @source, or add @source to it. A full list makes room by
 * dropping the learned-only candidate heard from longest ago (never the best
 * address); NULL if there is none to drop.
 */
static struct ms_candidate *add_candidate(struct ms_endpoint *ep, uint64_t now,
					  const struct ip_endpoint *addr, uint8_t source)
{
	struct ms_candidate *c = find_candidate(ep, addr);
	int victim = -1;

	if (!c) {
		if (ep->ncands == MS_MAX_CANDIDATES) {
			for (unsigned int i = 0; i < ep->ncands; i++) {
				const struct ms_candidate *o = &ep->cands[i];

				if ((o->sources & MS_CAND_NETMAP) ||
				    endpoint_equal(&o->addr, &ep->best.addr))
					continue;
				if (victim < 0 || o->learned_us < ep->cands[victim].learned_us)
					victim = (int)i;
			}
			if (victim < 0)
				return NULL;
			remove_candidate(ep, (unsigned int)victim);
		}
		c = &ep->cands[ep->ncands++];
		memset(c, 0, sizeof(*c));
		c->addr = *addr;
		ep->next_probe_us = 0; /* a new address may be pinged at once */
	}
	c->sources |= source;
	if (source & MS_CAND_LEARNED)
		c->learned_us = now;
	return c;
}

/* A usable peer address: set, a port, and not IPv6 link-local (needs a zone we do not have). */
static bool usable_remote(const struct ip_endpoint *e)
{
	if (!addr_valid(e) || e->port == 0)
		return false;
	return !(e->addr.family == IP_FAMILY_V6 && is_link_local(&e->addr));
}

static struct ms_pending_ping *find_ping(struct ms_endpoint *ep, const uint8_t *txid)
{
	for (unsigned int i = 0; i < MS_MAX_PENDING_PINGS; i++)
		if (ep->pings[i].used && !memcmp(ep->pings[i].txid, txid, DISCO_TXID_LEN))
			return &ep->pings[i];
	return NULL;
}

static void finish_cli(struct ms_endpoint *ep, struct ms_pending_ping *p, int err,
		       uint32_t latency_us)
{
	struct ms_ping_result r = {
		.err = err,
		.direct = !err && !p->via_relay,
		.latency_us = latency_us,
	};
	void *cookie = p->cookie;

	if (r.direct)
		r.endpoint = p->dst;
	memset(p, 0, sizeof(*p));
	if (ep->ops->ping_result)
		ep->ops->ping_result(ep->ctx, ep, cookie, &r);
}

/* A free slot for a new ping; when none is free the oldest ping is given up. */
static struct ms_pending_ping *ping_slot(struct ms_endpoint *ep)
{
	struct ms_pending_ping *oldest = NULL;

	for (unsigned int i = 0; i < MS_MAX_PENDING_PINGS; i++) {
		struct ms_pending_ping *p = &ep->pings[i];

		if (!p->used)
			return p;
		if (!oldest || p->sent_us < oldest->sent_us)
			oldest = p;
	}
	ep->stats.ping_timeouts++;
	if (oldest->purpose == MS_PING_CLI)
		finish_cli(ep, oldest, -ETIMEDOUT, 0);
	else
		memset(oldest, 0, sizeof(*oldest));
	return oldest;
}

/* Ping @dst (NULL: through the relay). Returns 0 or the send's error. */
static int start_ping(struct ms_endpoint *ep, uint64_t now, const struct ip_endpoint *dst,
		      enum ms_ping_purpose purpose, void *cookie)
{
	struct ms_pending_ping *p = ping_slot(ep);
	struct disco_msg m = {.type = DISCO_PING};
	struct ms_candidate *c;
	int ret;

	ep->ops->random(ep->ctx, m.txid, sizeof(m.txid));
	if (dst) {
		c = find_candidate(ep, dst);
		if (c)
			c->last_ping_us = now;
		ret = ep->ops->send_udp(ep->ctx, ep, dst, &m);
	} else {
		ret = ep->ops->send_relay(ep->ctx, ep, &m);
	}
	if (log_enabled(LOG_DEBUG)) {
		char key[9], addr[IP_ENDPOINT_STRLEN] = "relay";

		if (dst)
			ip_endpoint_format(dst, addr, sizeof(addr));
		log_debug(LOG_COMP, "peer %s: ping to %s purpose=%d%s", short_key(ep, key), addr,
			  purpose, ret < 0 ? " (send failed)" : "");
	}
	if (ret < 0)
		return ret;
	memcpy(p->txid, m.txid, sizeof(p->txid));
	p->used = true;
	p->via_relay = !dst;
	p->purpose = (uint8_t)purpose;
	if (dst)
		p->dst = *dst;
	p->sent_us = now;
	p->cookie = cookie;
	ep->stats.pings_sent++;
	return 0;
}

static void send_call_me_maybe(struct ms_endpoint *ep, uint64_t now)
{
	struct disco_msg m = {.type = DISCO_CALL_ME_MAYBE};

	m.n_endpoints = ep->ops->local_endpoints(ep->ctx, m.endpoints, DISCO_MAX_ENDPOINTS);
	if (m.n_endpoints > DISCO_MAX_ENDPOINTS)
		m.n_endpoints = DISCO_MAX_ENDPOINTS;
	ep->last_call_me_maybe_us = now;
	if (ep->ops->send_relay(ep->ctx, ep, &m) == 0)
		ep->stats.call_me_maybe_sent++;
}

/*
 * Ping every candidate not pinged within MS_PING_INTERVAL_US; with
 * @call_me_maybe, also ask the peer through the relay to ping us back (once
 * per MS_CALL_ME_MAYBE_INTERVAL_US), so both NATs open at about the same time.
 */
static void send_pings(struct ms_endpoint *ep, uint64_t now, bool call_me_maybe)
{
	uint64_t next = 0;
	bool sent_any = false;

	if (now < ep->next_probe_us)
		return;
	for (unsigned int i = 0; i < ep->ncands; i++) {
		struct ms_candidate *c = &ep->cands[i];
		uint64_t due = c->last_ping_us ? c->last_ping_us + MS_PING_INTERVAL_US : 0;

		if (now < due) {
			if (!next || due < next)
				next = due;
			continue;
		}
		if (start_ping(ep, now, &c->addr, MS_PING_DISCOVERY, NULL) == 0)
			sent_any = true;
		if (!next || now + MS_PING_INTERVAL_US < next)
			next = now + MS_PING_INTERVAL_US;
	}
	ep->last_full_ping_us = now;
	if (call_me_maybe && (sent_any || ep->ncands == 0) &&
	    (!ep->last_call_me_maybe_us ||
	     now - ep->last_call_me_maybe_us >= MS_CALL_ME_MAYBE_INTERVAL_US))
		send_call_me_maybe(ep, now);
	/* Nothing is pingable before @next; with no candidates, wait a ping interval. */
	ep->next_probe_us = next ? next : now + MS_PING_INTERVAL_US;
}

static bool want_full_ping(const struct ms_endpoint *ep, uint64_t now)
{
	if (!ep->disco)
		return false;
	if (!addr_valid(&ep->best.addr) || !ep->last_full_ping_us)
		return true;
	if (now >= ep->trust_until_us)
		return true;
	if (ep->best.latency_us <= MS_GOOD_ENOUGH_LATENCY_US)
		return false;
	return now - ep->last_full_ping_us >= MS_UPGRADE_INTERVAL_US;
}

void ms_endpoint_init(struct ms_endpoint *ep, const struct ms_endpoint_ops *ops, void *ctx,
		      const uint8_t node_key[DISCO_KEY_LEN], bool has_disco)
{
	memset(ep, 0, sizeof(*ep));
	ep->ops = ops;
	ep->ctx = ctx;
	memcpy(ep->node_key, node_key, DISCO_KEY_LEN);
	ep->disco = has_disco;
}

static void cancel_pings(struct ms_endpoint *ep)
{
	for (unsigned int i = 0; i < MS_MAX_PENDING_PINGS; i++) {
		struct ms_pending_ping *p = &ep->pings[i];

		if (p->used && p->purpose == MS_PING_CLI)
			finish_cli(ep, p, -ECANCELED, 0);
		memset(p, 0, sizeof(*p));
	}
}

void ms_endpoint_reset(struct ms_endpoint *ep, bool has_disco)
{
	cancel_pings(ep);
	memset(&ep->best, 0, sizeof(ep->best));
	ep->trust_until_us = 0;
	ep->trusted_logged = false;
	ep->last_full_ping_us = 0;
	ep->next_probe_us = 0;
	ep->last_call_me_maybe_us = 0;
	memset(ep->rx_txids, 0, sizeof(ep->rx_txids));
	for (unsigned int i = 0; i < ep->ncands; i++) {
		ep->cands[i].last_ping_us = 0;
		ep->cands[i].last_pong_us = 0;
		ep->cands[i].latency_us = 0;
	}
	ep->disco = has_disco;
}

void ms_endpoint_fini(struct ms_endpoint *ep)
{
	cancel_pings(ep);
}

void ms_endpoint_set_candidates(struct ms_endpoint *ep, uint64_t now,
				const struct ip_endpoint *addrs, size_t n)
{
	for (unsigned int i = 0; i < ep->ncands; i++)
		ep->cands[i].sources &= (uint8_t)~MS_CAND_NETMAP;
	for (unsigned int i = ep->ncands; i-- > 0;)
		if (!ep->cands[i].sources)
			remove_candidate(ep, i);
	for (size_t i = 0; i < n; i++) {
		struct ms_candidate *c;

		if (!usable_remote(&addrs[i]))
			continue;
		c = find_candidate(ep, &addrs[i]);
		if (c) {
			c->sources |= MS_CAND_NETMAP;
			continue;
		}
		if (count_netmap(ep) >= MS_MAX_NETMAP_CANDIDATES)
			break;
		add_candidate(ep, now, &addrs[i], MS_CAND_NETMAP);
	}
}

unsigned int ms_endpoint_send(struct ms_endpoint *ep, uint64_t now, struct ip_endpoint *udp_dst)
{
	bool was_active = ep->last_send_us && now - ep->last_send_us < MS_SESSION_ACTIVE_US;
	unsigned int flags;

	ep->last_send_us = now;
	if (ep->disco && (!was_active || !ep->next_heartbeat_us))
		ep->next_heartbeat_us = now + MS_HEARTBEAT_INTERVAL_US;
	if (want_full_ping(ep, now))
		send_pings(ep, now, true);
	if (!addr_valid(&ep->best.addr))
		return MS_SEND_RELAY;
	*udp_dst = ep->best.addr;
	flags = MS_SEND_UDP;
	if (now >= ep->trust_until_us) {
		/* Not heard from lately: keep trying it, but the relay carries the packet. */
		flags |= MS_SEND_RELAY;
		note_path(ep, now, "no pong within the trust window");
	}
	return flags;
}

static bool replayed_txid(struct ms_endpoint *ep, const uint8_t *txid)
{
	for (unsigned int i = 0; i < MS_RX_TXID_HISTORY; i++)
		if (!memcmp(ep->rx_txids[i], txid, DISCO_TXID_LEN))
			return true;
	memcpy(ep->rx_txids[ep->rx_txid_next], txid, DISCO_TXID_LEN);
	ep->rx_txid_next = (ep->rx_txid_next + 1) % MS_RX_TXID_HISTORY;
	return false;
}

int ms_endpoint_handle_ping(struct ms_endpoint *ep, uint64_t now, const struct ip_endpoint *src,
			    const struct disco_msg *m)
{
	struct disco_msg pong = {.type = DISCO_PONG};

	if (replayed_txid(ep, m->txid)) {
		ep->stats.ping_replayed++;
		return -EALREADY;
	}
	ep->stats.pings_received++;
	if (log_enabled(LOG_DEBUG)) {
		char key[9], addr[IP_ENDPOINT_STRLEN] = "relay";

		if (src)
			ip_endpoint_format(src, addr, sizeof(addr));
		log_debug(LOG_COMP, "peer %s: ping from %s", short_key(ep, key), addr);
	}
	memcpy(pong.txid, m->txid, sizeof(pong.txid));
	if (!src) {
		pong.src = relay_placeholder;
		if (ep->ops->send_relay(ep->ctx, ep, &pong) == 0)
			ep->stats.pongs_sent++;
		return 0;
	}
	pong.src = *src;
	if (ep->ops->send_udp(ep->ctx, ep, src, &pong) == 0)
		ep->stats.pongs_sent++;
	if (!usable_remote(src) || !ep->disco)
		return 0;
	add_candidate(ep, now, src, MS_CAND_PEER_REFLEXIVE);
	/* The peer's ping just opened its side towards us: answer with a ping of our own. */
	if (!trusted(ep, now))
		start_ping(ep, now, src, MS_PING_DISCOVERY, NULL);
	return 0;
}

int ms_endpoint_handle_pong(struct ms_endpoint *ep, uint64_t now, const struct ip_endpoint *src,
			    const struct disco_msg *m)
{
	struct ms_pending_ping *p = find_ping(ep, m->txid);
	struct ms_addr_quality q;
	struct ms_candidate *c;
	uint64_t rtt;

	(void)src;
	if (!p) {
		ep->stats.pong_unknown++;
		return -ENOENT;
	}
	ep->stats.pongs_received++;
	rtt = now > p->sent_us ? now - p->sent_us : 1;
	if (rtt > UINT32_MAX)
		rtt = UINT32_MAX;
	if (log_enabled(LOG_DEBUG)) {
		char key[9], addr[IP_ENDPOINT_STRLEN] = "relay";

		if (!p->via_relay)
			ip_endpoint_format(&p->dst, addr, sizeof(addr));
		log_debug(LOG_COMP, "peer %s: pong for %s in %.2fms", short_key(ep, key), addr,
			  (double)rtt / 1000.0);
	}
	if (!p->via_relay) {
		/* The address we pinged is proven, whatever source the pong came from. */
		q.addr = p->dst;
		q.latency_us = (uint32_t)rtt;
		c = find_candidate(ep, &p->dst);
		if (c) {
			c->last_pong_us = now;
			c->latency_us = q.latency_us;
		}
		if (!endpoint_equal(&q.addr, &ep->best.addr) &&
		    (!trusted(ep, now) || ms_better_addr(&q, &ep->best))) {
			if (trusted(ep, now)) {
				char key[9], a[IP_ENDPOINT_STRLEN], b[IP_ENDPOINT_STRLEN];

				log_info(LOG_COMP, "peer %s: better path %s (%.2fms) replaces %s",
					 short_key(ep, key),
					 ip_endpoint_format(&q.addr, a, sizeof(a)),
					 q.latency_us / 1000.0,
					 ip_endpoint_format(&ep->best.addr, b, sizeof(b)));
				ep->stats.path_changes++;
			}
			ep->best = q;
		}
		if (endpoint_equal(&q.addr, &ep->best.addr)) {
			ep->best.latency_us = q.latency_us;
			ep->trust_until_us = now + MS_TRUST_UDP_US;
			note_path(ep, now, "");
		}
	}
	if (p->purpose == MS_PING_CLI)
		finish_cli(ep, p, 0, (uint32_t)rtt);
	else
		memset(p, 0, sizeof(*p));
	return 0;
}

void ms_endpoint_handle_call_me_maybe(struct ms_endpoint *ep, uint64_t now,
				      const struct disco_msg *m)
{
	ep->stats.call_me_maybe_received++;
	if (!ep->disco)
		return;
	if (log_enabled(LOG_DEBUG)) {
		char key[9];

		log_debug(LOG_COMP, "peer %s: call-me-maybe with %u endpoints", short_key(ep, key),
			  m->n_endpoints);
	}
	/* The list replaces the previous one: addresses it no longer names are gone. */
	for (unsigned int i = ep->ncands; i-- > 0;) {
		struct ms_candidate *c = &ep->cands[i];
		bool named = false;

		if (!(c->sources & MS_CAND_CALL_ME_MAYBE))
			continue;
		for (unsigned int j = 0; j < m->n_endpoints && !named; j++)
			named = endpoint_equal(&c->addr, &m->endpoints[j]);
		if (named)
			continue;
		c->sources &= (uint8_t)~MS_CAND_CALL_ME_MAYBE;
		if (!c->sources && !endpoint_equal(&c->addr, &ep->best.addr))
			remove_candidate(ep, i);
		else if (!c->sources)
			c->sources = MS_CAND_PEER_REFLEXIVE; /* the best: keep until it expires */
	}
	for (unsigned int i = 0; i < m->n_endpoints && i < DISCO_MAX_ENDPOINTS; i++)
		if (usable_remote(&m->endpoints[i]))
			add_candidate(ep, now, &m->endpoints[i], MS_CAND_CALL_ME_MAYBE);
	/* The peer is pinging us now: ping everything at once (simultaneous open). */
	for (unsigned int i = 0; i < ep->ncands; i++)
		ep->cands[i].last_ping_us = 0;
	ep->next_probe_us = 0;
	send_pings(ep, now, false);
}

/* Learned candidates not heard from for a session timeout are dropped (never the best). */
static void expire_candidates(struct ms_endpoint *ep, uint64_t now)
{
	for (unsigned int i = ep->ncands; i-- > 0;) {
		const struct ms_candidate *c = &ep->cands[i];
		uint64_t heard = c->learned_us > c->last_pong_us ? c->learned_us : c->last_pong_us;

		if ((c->sources & MS_CAND_NETMAP) || endpoint_equal(&c->addr, &ep->best.addr))
			continue;
		if (now - heard >= MS_SESSION_ACTIVE_US)
			remove_candidate(ep, i);
	}
}

void ms_endpoint_tick(struct ms_endpoint *ep, uint64_t now)
{
	for (unsigned int i = 0; i < MS_MAX_PENDING_PINGS; i++) {
		struct ms_pending_ping *p = &ep->pings[i];

		if (!p->used || now - p->sent_us < MS_PING_TIMEOUT_US)
			continue;
		ep->stats.ping_timeouts++;
		if (p->purpose == MS_PING_CLI)
			finish_cli(ep, p, -ETIMEDOUT, 0);
		else
			memset(p, 0, sizeof(*p));
	}
	expire_candidates(ep, now);
	if (addr_valid(&ep->best.addr) && now >= ep->trust_until_us + MS_BEST_STALE_US) {
		note_path(ep, now, "direct path lost");
		memset(&ep->best, 0, sizeof(ep->best));
	}
	if (!ep->next_heartbeat_us || now < ep->next_heartbeat_us)
		return;
	if (now - ep->last_send_us >= MS_SESSION_ACTIVE_US) {
		ep->next_heartbeat_us = 0; /* idle: the next packet starts them again */
		return;
	}
	note_path(ep, now, "no pong within the trust window");
	if (addr_valid(&ep->best.addr))
		start_ping(ep, now, &ep->best.addr, MS_PING_HEARTBEAT, NULL);
	if (want_full_ping(ep, now))
		send_pings(ep, now, true);
	ep->next_heartbeat_us = now + MS_HEARTBEAT_INTERVAL_US;
}

uint64_t ms_endpoint_deadline(const struct ms_endpoint *ep)
{
	uint64_t next = ep->next_heartbeat_us;

	for (unsigned int i = 0; i < MS_MAX_PENDING_PINGS; i++) {
		const struct ms_pending_ping *p = &ep->pings[i];
		uint64_t due = p->sent_us + MS_PING_TIMEOUT_US;

		if (p->used && p->purpose == MS_PING_CLI && (!next || due < next))
			next = due;
	}
	return next;
}

int ms_endpoint_cli_ping(struct ms_endpoint *ep, uint64_t now, void *cookie)
{
	int ret;

	if (!ep->disco)
		return -ENOTCONN;
	if (trusted(ep, now))
		ret = start_ping(ep, now, &ep->best.addr, MS_PING_CLI, cookie);
	else
		ret = start_ping(ep, now, NULL, MS_PING_CLI, cookie);
	if (ret < 0)
		return ret;
	if (want_full_ping(ep, now))
		send_pings(ep, now, true);
	return 0;
}

void ms_endpoint_get_path(const struct ms_endpoint *ep, uint64_t now, struct ms_endpoint_path *out)
{
	memset(out, 0, sizeof(*out));
	if (trusted(ep, now)) {
		out->path = MS_PATH_DIRECT;
		out->addr = ep->best.addr;
		out->latency_us = ep->best.latency_us;
	} else {
		out->path = MS_PATH_RELAY;
	}
}

void ms_endpoint_network_changed(struct ms_endpoint *ep, uint64_t now)
{
	ep->trust_until_us = 0;
	note_path(ep, now, "network changed");
	for (unsigned int i = 0; i < ep->ncands; i++)
		ep->cands[i].last_ping_us = 0;
	ep->next_probe_us = 0;
	ep->last_call_me_maybe_us = 0;
}

void ms_endpoint_local_endpoints_changed(struct ms_endpoint *ep, uint64_t now)
{
	bool active = ep->last_send_us && now - ep->last_send_us < MS_SESSION_ACTIVE_US;

	if (!ep->disco || !active || trusted(ep, now))
		return;
	send_call_me_maybe(ep, now);
}
