// SPDX-License-Identifier: MIT
/*
 * The packet filter: verdicts on inbound packets from the compiled rules,
 * the node's addresses and routes, and the flow table that outbound packets
 * fill. The order of the checks is the contract in filter.h.
 */
#include "filter/filter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "filter/flowtable.h"
#include "filter/ippkt.h"
#include "filter/pfxmap.h"
#include "filter/ruleset.h"
#include "util/log.h"

enum flow_kind {
	FLOW_CONN = 0, /* a TCP, UDP or SCTP 5-tuple, or an ICMP echo identifier */
	FLOW_FRAG = 1, /* an accepted first fragment: (destination, source, identification) */
};

/* What the flow of a TCP connection last saw this node send. */
enum tcp_state {
	TCP_OPENING = 0, /* a SYN */
	TCP_ESTABLISHED,
	TCP_CLOSING, /* a FIN */
	TCP_RESET,   /* a RST */
};

enum {
	FAMILIES = 2,
	MAX_LENS = 129,
};

struct filter {
	struct ruleset *rules; /* NULL: nothing matches */
	bool has_filter;
	bool shields_up;
	size_t nrules;

	/* Local destinations: addresses as /32 and /128, then routes. */
	struct pfxmap local;
	uint8_t local_lens[FAMILIES][MAX_LENS];
	uint8_t nlocal_lens[FAMILIES];
	struct ip_addr *addrs;
	size_t naddrs;

	struct flowtable *flows;
	struct flowtable *frags;
	uint64_t (*now_ms)(void *ctx);
	void *ctx;
	struct filter_counters c;
};

/* The coarse clock costs a fifth of the precise one; its milliseconds are plenty here. */
static uint64_t monotonic_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The time, read once per packet and only if a flow table is consulted. */
struct clock_once {
	struct filter *f;
	uint64_t now;
	bool read;
};

static uint64_t now_once(struct clock_once *c)
{
	if (!c->read) {
		c->now = c->f->now_ms(c->f->ctx);
		c->read = true;
	}
	return c->now;
}

int filter_create(struct filter **out, const struct filter_config *cfg)
{
	struct filter_config def = {0};
	struct filter *f;
	int ret;

	*out = NULL;
	if (!cfg)
		cfg = &def;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->now_ms = cfg->now_ms ? cfg->now_ms : monotonic_ms;
	f->ctx = cfg->ctx;
	ret = flowtable_create(&f->flows, cfg->max_flows ? cfg->max_flows : FILTER_DEFAULT_FLOWS);
	if (!ret)
		ret = flowtable_create(&f->frags, cfg->max_fragments ? cfg->max_fragments
								     : FILTER_DEFAULT_FRAGMENTS);
	if (ret) {
		filter_destroy(f);
		return ret;
	}
	*out = f;
	return 0;
}

void filter_destroy(struct filter *f)
{
	if (!f)
		return;
	ruleset_free(f->rules);
	pfxmap_free(&f->local);
	free(f->addrs);
	flowtable_destroy(f->flows);
	flowtable_destroy(f->frags);
	free(f);
}

int filter_set_rules(struct filter *f, const struct ctl_filter_rule *rules, size_t n,
		     bool has_filter)
{
	struct ruleset *rs = NULL;
	int ret = 0;

	if (has_filter)
		ret = ruleset_compile(&rs, rules, n);
	ruleset_free(f->rules);
	f->rules = rs;
	f->has_filter = has_filter;
	f->nrules = has_filter ? n : 0;
	if (ret) {
		log_warn("filter", "cannot compile %zu rules, denying all new inbound: %s", n,
			 strerror(-ret));
		f->nrules = 0;
		return ret;
	}
	log_debug("filter", "rules=%zu groups=%zu has_filter=%d", n, rs ? ruleset_groups(rs) : 0,
		  has_filter);
	return 0;
}

static int family_index(uint8_t family)
{
	return family == IP_FAMILY_V4 ? 0 : family == IP_FAMILY_V6 ? 1 : -1;
}

/* Build the local prefix map from @n keys (sorted and made distinct here). */
static int build_local(struct filter *f, struct pfx_key *keys, size_t n)
{
	struct pfx_span *spans = calloc(n ? n : 1, sizeof(*spans));
	bool lens[FAMILIES][MAX_LENS] = {{false}};
	size_t k = 0;
	int ret;

	if (!spans)
		return -ENOMEM;
	qsort(keys, n, sizeof(*keys), pfx_key_compare);
	for (size_t i = 0; i < n; i++) {
		if (k && !pfx_key_compare(&keys[k - 1], &keys[i]))
			continue;
		keys[k] = keys[i];
		spans[k].n = 1;
		lens[family_index(keys[k].family)][keys[k].bits] = true;
		k++;
	}
	ret = pfxmap_build(&f->local, keys, spans, k);
	for (int fam = 0; !ret && fam < FAMILIES; fam++) {
		for (int b = MAX_LENS - 1; b >= 0; b--) {
			if (lens[fam][b])
				f->local_lens[fam][f->nlocal_lens[fam]++] = (uint8_t)b;
		}
	}
	free(spans);
	return ret;
}

int filter_set_addresses(struct filter *f, const struct ip_addr *addrs, size_t naddrs,
			 const struct ip_prefix *routes, size_t nroutes)
{
	struct pfx_key *keys = NULL;
	size_t n = 0;
	int ret = -ENOMEM;

	pfxmap_free(&f->local);
	memset(f->nlocal_lens, 0, sizeof(f->nlocal_lens));
	free(f->addrs);
	f->addrs = NULL;
	f->naddrs = 0;

	keys = malloc(((naddrs + nroutes) ? naddrs + nroutes : 1) * sizeof(*keys));
	f->addrs = malloc((naddrs ? naddrs : 1) * sizeof(*f->addrs));
	if (!keys || !f->addrs)
		goto out_free;
	ret = -EINVAL;
	for (size_t i = 0; i < naddrs; i++) {
		if (family_index(addrs[i].family) < 0)
			goto out_free;
		pfx_key_set(&keys[n++], 0, &addrs[i], ip_addr_bits(&addrs[i]));
		f->addrs[i] = addrs[i];
	}
	for (size_t i = 0; i < nroutes; i++) {
		if (family_index(routes[i].addr.family) < 0 ||
		    routes[i].bits > ip_addr_bits(&routes[i].addr))
			goto out_free;
		pfx_key_set(&keys[n++], 0, &routes[i].addr, routes[i].bits);
	}
	f->naddrs = naddrs;
	ret = build_local(f, keys, n);
out_free:
	if (ret) {
		log_warn("filter", "cannot set local addresses: %s", strerror(-ret));
		pfxmap_free(&f->local);
		memset(f->nlocal_lens, 0, sizeof(f->nlocal_lens));
		f->naddrs = 0;
	}
	free(keys);
	return ret;
}

void filter_set_shields_up(struct filter *f, bool on)
{
	f->shields_up = on;
}

static bool is_own_address(const struct filter *f, const struct ip_addr *a)
{
	for (size_t i = 0; i < f->naddrs; i++) {
		if (ip_addr_equal(&f->addrs[i], a))
			return true;
	}
	return false;
}

/* Multicast and broadcast: no peer may send there, nor do replies come from there. */
static bool is_group_address(const struct ip_addr *a)
{
	if (a->family == IP_FAMILY_V4)
		return a->bytes[0] >= 224 &&
		       (a->bytes[0] < 240 || (a->bytes[0] == 255 && a->bytes[1] == 255 &&
					      a->bytes[2] == 255 && a->bytes[3] == 255));
	return a->bytes[0] == 0xff;
}

/*
 * Destinations no route can make legitimate: "this network" (0/8), loopback,
 * multicast, broadcast, the unspecified address, IPv4-mapped IPv6; link-local
 * ones unless they are the node's own address.
 */
static bool is_bad_dst(const struct filter *f, const struct ip_addr *a)
{
	static const uint8_t zero[16];

	if (is_group_address(a))
		return true;
	if (a->family == IP_FAMILY_V4) {
		if (a->bytes[0] == 0 || a->bytes[0] == 127)
			return true;
		if (a->bytes[0] == 169 && a->bytes[1] == 254)
			return !is_own_address(f, a);
		return false;
	}
	if (!memcmp(a->bytes, zero, 15) && a->bytes[15] <= 1)
		return true; /* :: and ::1 */
	if (ip_addr_is_v4_mapped(a))
		return true;
	if (a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80)
		return !is_own_address(f, a);
	return false;
}

static bool is_local(const struct filter *f, const struct ip_addr *a)
{
	int fam = family_index(a->family);

	for (unsigned int i = 0; fam >= 0 && i < f->nlocal_lens[fam]; i++) {
		struct pfx_key k;

		pfx_key_set(&k, 0, a, f->local_lens[fam][i]);
		if (pfxmap_find(&f->local, &k))
			return true;
	}
	return false;
}

static bool is_echo(const struct ippkt_hdr *h, enum ippkt_icmp_kind kind)
{
	return (h->has & IPPKT_HAS_ECHO_ID) && h->icmp_kind == kind;
}

/*
 * The key of the flow of @h, a packet this node sent (an outbound packet, or
 * the one an ICMP error quotes), or false if it has none: it needs ports or
 * an echo request's identifier.
 */
static bool key_sent(struct flow_key *k, const struct ippkt_hdr *h)
{
	memset(k, 0, sizeof(*k));
	k->family = h->src.family;
	k->proto = h->proto;
	k->kind = FLOW_CONN;
	memcpy(k->laddr, h->src.bytes, sizeof(k->laddr));
	memcpy(k->raddr, h->dst.bytes, sizeof(k->raddr));
	if (h->has & IPPKT_HAS_PORTS) {
		k->lport = h->sport;
		k->rport = h->dport;
		return true;
	}
	if (is_echo(h, IPPKT_ICMP_ECHO_REQUEST)) {
		k->lport = h->icmp_id;
		return true;
	}
	return false;
}

/* The key of the flow @h, an inbound packet, would answer; false if none could. */
static bool key_reply(struct flow_key *k, const struct ippkt_hdr *h)
{
	memset(k, 0, sizeof(*k));
	k->family = h->src.family;
	k->proto = h->proto;
	k->kind = FLOW_CONN;
	memcpy(k->laddr, h->dst.bytes, sizeof(k->laddr));
	memcpy(k->raddr, h->src.bytes, sizeof(k->raddr));
	if (h->has & IPPKT_HAS_PORTS) {
		k->lport = h->dport;
		k->rport = h->sport;
		return true;
	}
	if (is_echo(h, IPPKT_ICMP_ECHO_REPLY)) {
		k->lport = h->icmp_id;
		return true;
	}
	return false;
}

/* Fragments of one datagram share (source, destination, identification). */
static void key_frag(struct flow_key *k, const struct ippkt_hdr *h)
{
	memset(k, 0, sizeof(*k));
	k->family = h->src.family;
	k->kind = FLOW_FRAG;
	k->lport = (uint16_t)(h->frag_id >> 16);
	k->rport = (uint16_t)h->frag_id;
	memcpy(k->laddr, h->dst.bytes, sizeof(k->laddr));
	memcpy(k->raddr, h->src.bytes, sizeof(k->raddr));
}

/* A reply to a flow this node started; UDP and SCTP replies keep the flow alive. */
static bool match_reply(struct filter *f, const struct ippkt_hdr *h, struct clock_once *clk)
{
	struct flow_entry *e;
	struct flow_key k;

	if (!key_reply(&k, h))
		return false;
	e = flowtable_lookup(f->flows, &k, now_once(clk));
	if (e && (h->proto == IPPKT_PROTO_UDP || h->proto == IPPKT_PROTO_SCTP))
		e->expires = now_once(clk) + FILTER_TIMEOUT_UDP;
	return e != NULL;
}

/* An ICMP error passes when it reaches the sender of a packet of a known flow. */
static bool match_icmp_error(struct filter *f, const struct ippkt *p, struct clock_once *clk)
{
	struct flow_key k;

	if (!p->has_inner || p->inner.frag == IPPKT_FRAG_LATER ||
	    !ip_addr_equal(&p->inner.src, &p->h.dst) || !key_sent(&k, &p->inner))
		return false;
	return flowtable_lookup(f->flows, &k, now_once(clk)) != NULL;
}

/* A packet that starts something: up to the rules (all of them pass without a filter). */
static enum filter_reason check_new(const struct filter *f, const struct ippkt_hdr *h)
{
	bool allowed = !f->has_filter ||
		       (f->rules && ruleset_match(f->rules, &h->src, &h->dst, h->proto, h->dport));

	if (!allowed)
		return FILTER_DROP_NO_RULE;
	return f->shields_up ? FILTER_DROP_SHIELDS_UP : FILTER_ACCEPT_RULE;
}

static enum filter_reason check_packet(struct filter *f, const struct ippkt *p,
				       struct clock_once *clk)
{
	const struct ippkt_hdr *h = &p->h;

	switch (h->icmp_kind) {
	case IPPKT_ICMP_ECHO_REPLY:
		return match_reply(f, h, clk) ? FILTER_ACCEPT_FLOW : FILTER_DROP_NO_FLOW;
	case IPPKT_ICMP_ERROR:
		return match_icmp_error(f, p, clk) ? FILTER_ACCEPT_ICMP_ERROR : FILTER_DROP_NO_FLOW;
	default:
		break;
	}
	/*
	 * A TCP segment other than a bare SYN cannot open a connection, so it
	 * passes without state (as in Tailscale): it belongs to a connection
	 * this node opened or whose SYN a rule let in, or the stack answers it
	 * with a RST.
	 */
	if (h->proto == IPPKT_PROTO_TCP &&
	    (h->tcp_flags & (IPPKT_TCP_SYN | IPPKT_TCP_ACK)) != IPPKT_TCP_SYN)
		return FILTER_ACCEPT_TCP;
	if ((h->has & IPPKT_HAS_PORTS) && match_reply(f, h, clk))
		return FILTER_ACCEPT_FLOW;
	return check_new(f, h);
}

static enum filter_reason check_inbound(struct filter *f, const uint8_t *pkt, size_t len)
{
	struct clock_once clk = {.f = f};
	enum filter_reason r;
	struct flow_entry *e;
	struct flow_key k;
	struct ippkt p;

	if (!f->has_filter && !f->shields_up)
		return FILTER_ACCEPT_NO_FILTER;
	if (ippkt_parse(&p, pkt, len))
		return FILTER_DROP_MALFORMED;
	if (f->has_filter) {
		if (is_bad_dst(f, &p.h.dst))
			return FILTER_DROP_BAD_DST;
		if (!is_local(f, &p.h.dst))
			return FILTER_DROP_NOT_LOCAL;
	}
	if (p.h.frag == IPPKT_FRAG_LATER) {
		key_frag(&k, &p.h);
		return flowtable_lookup(f->frags, &k, now_once(&clk)) ? FILTER_ACCEPT_FRAGMENT
								      : FILTER_DROP_FRAGMENT;
	}
	r = check_packet(f, &p, &clk);
	if (p.h.frag == IPPKT_FRAG_FIRST && filter_reason_accepts(r)) {
		key_frag(&k, &p.h);
		e = flowtable_insert(f->frags, &k, now_once(&clk), NULL);
		e->expires = now_once(&clk) + FILTER_TIMEOUT_FRAGMENT;
	}
	return r;
}

enum filter_reason filter_check_inbound(struct filter *f, const uint8_t *pkt, size_t len)
{
	enum filter_reason r = check_inbound(f, pkt, len);

	f->c.inbound[r]++;
	return r;
}

/* Our TCP segment with @flags moves the flow's state; the state sets the timeout. */
static void tcp_update(struct flow_entry *e, bool created, uint8_t flags, uint64_t now)
{
	static const uint32_t timeout[] = {
		[TCP_OPENING] = FILTER_TIMEOUT_TCP_OPENING,
		[TCP_ESTABLISHED] = FILTER_TIMEOUT_TCP_ESTABLISHED,
		[TCP_CLOSING] = FILTER_TIMEOUT_TCP_CLOSING,
		[TCP_RESET] = FILTER_TIMEOUT_TCP_RESET,
	};

	if (flags & IPPKT_TCP_RST)
		e->state = TCP_RESET;
	else if (flags & IPPKT_TCP_FIN)
		e->state = TCP_CLOSING;
	else if ((flags & (IPPKT_TCP_SYN | IPPKT_TCP_ACK)) == IPPKT_TCP_SYN)
		e->state = TCP_OPENING;
	else if (created || e->state != TCP_CLOSING)
		e->state = TCP_ESTABLISHED; /* the ACKs after our FIN keep it closing */
	e->expires = now + timeout[e->state];
}

void filter_note_outbound(struct filter *f, const uint8_t *pkt, size_t len)
{
	struct flow_entry *e;
	struct flow_key k;
	struct ippkt p;
	uint64_t now;
	bool created;

	if (ippkt_parse(&p, pkt, len) || p.h.frag == IPPKT_FRAG_LATER ||
	    is_group_address(&p.h.dst) || !key_sent(&k, &p.h)) {
		f->c.outbound_untracked++;
		return;
	}
	now = f->now_ms(f->ctx);
	e = flowtable_insert(f->flows, &k, now, &created);
	if (p.h.proto == IPPKT_PROTO_TCP)
		tcp_update(e, created, p.h.tcp_flags, now);
	else if (p.h.has & IPPKT_HAS_PORTS)
		e->expires = now + FILTER_TIMEOUT_UDP;
	else
		e->expires = now + FILTER_TIMEOUT_ICMP_ECHO;
	f->c.outbound_tracked++;
}

void filter_get_counters(const struct filter *f, struct filter_counters *out)
{
	*out = f->c;
	out->flows_evicted = flowtable_evictions(f->flows);
	out->flows = flowtable_count(f->flows);
	out->max_flows = flowtable_capacity(f->flows);
	out->rules = f->nrules;
	out->groups = f->rules ? ruleset_groups(f->rules) : 0;
	out->has_filter = f->has_filter;
	out->shields_up = f->shields_up;
}

bool filter_reason_accepts(enum filter_reason r)
{
	return r < FILTER_DROP_MALFORMED;
}

const char *filter_reason_name(enum filter_reason r)
{
	static const char *const names[FILTER_REASON_COUNT] = {
		[FILTER_ACCEPT_NO_FILTER] = "no-filter",
		[FILTER_ACCEPT_RULE] = "rule",
		[FILTER_ACCEPT_FLOW] = "reply",
		[FILTER_ACCEPT_TCP] = "tcp-connection",
		[FILTER_ACCEPT_ICMP_ERROR] = "icmp-error",
		[FILTER_ACCEPT_FRAGMENT] = "fragment",
		[FILTER_DROP_MALFORMED] = "malformed",
		[FILTER_DROP_BAD_DST] = "bad-destination",
		[FILTER_DROP_NOT_LOCAL] = "not-local",
		[FILTER_DROP_NO_RULE] = "no-rule",
		[FILTER_DROP_SHIELDS_UP] = "shields-up",
		[FILTER_DROP_NO_FLOW] = "no-flow",
		[FILTER_DROP_FRAGMENT] = "unknown-fragment",
	};

	return (unsigned int)r < FILTER_REASON_COUNT ? names[r] : "unknown";
}
