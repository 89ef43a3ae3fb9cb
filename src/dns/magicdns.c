// SPDX-License-Identifier: MIT
/*
 * MagicDNS's record table and query answering (see magicdns.h for the
 * rules). The table is rebuilt from scratch on every netmap change into
 * sorted arrays (names for lookups, addresses for PTR) and swapped in only
 * when complete, so a failed rebuild leaves the old answers in place.
 */
#include "dns/magicdns_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"
#include "util/log.h"

enum magicdns_table_limits {
	SOA_REFRESH = 3600,
	SOA_RETRY = 600,
	SOA_EXPIRE = 86400,
	RESOLVERS_MAX = 64,
};

static const char *const default_reverse[] = {"100.64.0.0/10", "fd7a:115c:a1e0::/48"};

static const struct dns_name v4_arpa = {.len = 14, .labels = 2, .wire = "\7in-addr\4arpa"};
static const struct dns_name v6_arpa = {.len = 10, .labels = 2, .wire = "\3ip6\4arpa"};
static const struct dns_name hostmaster = {.len = 12, .labels = 1, .wire = "\12hostmaster"};

/* A (name, address) pair collected while building the table. */
struct pair {
	struct dns_name name;
	struct ip_addr addr;
	bool is_host;
};

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = dns_name_compare(&x->name, &y->name);

	if (c)
		return c;
	if (x->is_host != y->is_host)
		return x->is_host ? -1 : 1;
	return ip_addr_compare(&x->addr, &y->addr);
}

static int rev_cmp(const void *a, const void *b)
{
	return ip_addr_compare(&((const struct md_rev *)a)->addr,
			       &((const struct md_rev *)b)->addr);
}

void magicdns_table_free(struct md_table *t)
{
	free(t->entries);
	free(t->addrs);
	free(t->rev);
	free(t->reverse);
	free(t->routes);
	free(t->resolvers);
	memset(t, 0, sizeof(*t));
}

/* The reverse zone apex for @p: its address bits rounded up to whole labels. */
static int reverse_apex(const struct ip_prefix *p, struct dns_name *out)
{
	char text[128];
	size_t o = 0;

	if (p->addr.family == IP_FAMILY_V4) {
		unsigned int n = (p->bits + 7u) / 8;

		for (unsigned int i = n; i-- > 0;)
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%u.", p->addr.bytes[i]);
		snprintf(text + o, sizeof(text) - o, "in-addr.arpa");
	} else {
		unsigned int n = (p->bits + 3u) / 4;

		for (unsigned int i = n; i-- > 0;) {
			unsigned int b = p->addr.bytes[i / 2];

			o += (size_t)snprintf(text + o, sizeof(text) - o, "%x.",
					      i % 2 ? b & 0xf : b >> 4);
		}
		snprintf(text + o, sizeof(text) - o, "ip6.arpa");
	}
	if (dns_name_from_text(out, text) < 0)
		return -EINVAL;
	dns_name_lower(out);
	return 0;
}

/* A host's name: a single label gets the base domain appended. */
static int host_name(const char *text, const struct md_table *t, struct dns_name *out)
{
	if (dns_name_from_text(out, text) < 0 || out->labels == 0)
		return -EINVAL;
	if (out->labels == 1 && t->has_base && dns_name_append(out, &t->base.apex) < 0)
		return -EINVAL;
	dns_name_lower(out);
	return 0;
}

static int push_pair(struct pair **pairs, size_t *n, size_t *cap, const struct dns_name *name,
		     const struct ip_addr *addr, bool is_host)
{
	if (addr->family != IP_FAMILY_V4 && addr->family != IP_FAMILY_V6)
		return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct pair *np = realloc(*pairs, ncap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		*pairs = np;
		*cap = ncap;
	}
	(*pairs)[*n] = (struct pair){.name = *name, .addr = *addr, .is_host = is_host};
	(*n)++;
	return 0;
}

/* Entries and the reverse index from the sorted pairs. */
static int build_entries(struct md_table *t, struct pair *pairs, size_t n)
{
	size_t w = 0;

	if (n)
		qsort(pairs, n, sizeof(*pairs), pair_cmp);
	t->entries = calloc(n ? n : 1, sizeof(*t->entries));
	t->addrs = calloc(n ? n : 1, sizeof(*t->addrs));
	t->rev = calloc(n ? n : 1, sizeof(*t->rev));
	if (!t->entries || !t->addrs || !t->rev)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct md_entry *e = t->nentries ? &t->entries[t->nentries - 1] : NULL;
		bool dup = false;

		if (!e || !dns_name_equal(&e->name, &pairs[i].name)) {
			e = &t->entries[t->nentries++];
			e->name = pairs[i].name;
			e->addr_first = (uint32_t)t->naddrs;
			e->is_host = pairs[i].is_host;
		}
		/* Sorted by address within a name (hosts first): skip repeats. */
		for (uint32_t k = e->addr_first; k < e->addr_first + e->naddrs; k++)
			dup = dup || ip_addr_equal(&t->addrs[k], &pairs[i].addr);
		if (dup)
			continue;
		t->addrs[t->naddrs++] = pairs[i].addr;
		e->naddrs++;
		t->rev[t->nrev++] =
			(struct md_rev){.addr = pairs[i].addr, .entry = (uint32_t)(e - t->entries)};
	}
	/* One name per address: a node's over an extra record, then the first by name. */
	for (size_t i = 0; i < t->nrev; i++)
		t->rev[i].entry |= (uint32_t)!t->entries[t->rev[i].entry].is_host << 31;
	if (t->nrev)
		qsort(t->rev, t->nrev, sizeof(*t->rev), rev_cmp);
	for (size_t i = 0; i < t->nrev; i++) {
		if (w && ip_addr_equal(&t->rev[w - 1].addr, &t->rev[i].addr)) {
			if (t->rev[i].entry < t->rev[w - 1].entry)
				t->rev[w - 1].entry = t->rev[i].entry;
			continue;
		}
		t->rev[w++] = t->rev[i];
	}
	t->nrev = w;
	for (size_t i = 0; i < t->nrev; i++)
		t->rev[i].entry &= ~(1u << 31);
	return 0;
}

static int add_resolvers(struct md_table *t, const struct ip_endpoint *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t->nresolvers == RESOLVERS_MAX)
			return -EINVAL;
		if (r[i].addr.family != IP_FAMILY_V4 && r[i].addr.family != IP_FAMILY_V6)
			continue;
		t->resolvers[t->nresolvers] = r[i];
		if (!t->resolvers[t->nresolvers].port)
			t->resolvers[t->nresolvers].port = DNS_PORT;
		t->nresolvers++;
	}
	return 0;
}

static int build_zones(struct md_table *t, const struct magicdns_config *cfg)
{
	size_t nrev = cfg->reverse_prefixes ? cfg->nreverse_prefixes : ARRAY_SIZE(default_reverse);

	t->reverse = calloc(nrev ? nrev : 1, sizeof(*t->reverse));
	t->routes = calloc(cfg->nroutes ? cfg->nroutes : 1, sizeof(*t->routes));
	t->resolvers = calloc(RESOLVERS_MAX, sizeof(*t->resolvers));
	if (!t->reverse || !t->routes || !t->resolvers)
		return -ENOMEM;
	for (size_t i = 0; i < nrev; i++) {
		struct md_zone *z = &t->reverse[t->nreverse];

		if (cfg->reverse_prefixes)
			z->prefix = cfg->reverse_prefixes[i];
		else if (ip_prefix_parse(&z->prefix, default_reverse[i], NULL) < 0)
			return -EINVAL;
		ip_prefix_mask(&z->prefix);
		if (reverse_apex(&z->prefix, &z->apex) < 0)
			return -EINVAL;
		t->nreverse++;
	}
	for (size_t i = 0; i < cfg->nroutes; i++) {
		struct md_route *r = &t->routes[t->nroutes++];

		if (!cfg->routes[i].domain ||
		    dns_name_from_text(&r->domain, cfg->routes[i].domain) < 0)
			return -EINVAL;
		dns_name_lower(&r->domain);
		r->first = (uint32_t)t->nresolvers;
		if (add_resolvers(t, cfg->routes[i].resolvers, cfg->routes[i].nresolvers) < 0)
			return -EINVAL;
		r->n = (uint32_t)(t->nresolvers - r->first);
	}
	t->default_first = (uint32_t)t->nresolvers;
	if (add_resolvers(t, cfg->upstreams, cfg->nupstreams) < 0)
		return -EINVAL;
	t->ndefault = (uint32_t)(t->nresolvers - t->default_first);
	return 0;
}

static int collect_pairs(const struct md_table *t, const struct magicdns_config *cfg,
			 struct pair **pairs, size_t *n)
{
	size_t cap = 0;
	struct dns_name name;
	int ret;

	for (size_t i = 0; i < cfg->nhosts; i++) {
		const struct magicdns_host *h = &cfg->hosts[i];

		if (!h->name || host_name(h->name, t, &name) < 0) {
			log_warn("magicdns", "skipping host with a bad name name=%s",
				 h->name ? h->name : "(null)");
			continue;
		}
		for (size_t k = 0; k < h->naddrs; k++) {
			ret = push_pair(pairs, n, &cap, &name, &h->addrs[k], true);
			if (ret < 0)
				return ret;
		}
	}
	for (size_t i = 0; i < cfg->nrecords; i++) {
		const struct magicdns_record *r = &cfg->records[i];

		if (!r->name || dns_name_from_text(&name, r->name) < 0 || name.labels == 0) {
			log_warn("magicdns", "skipping extra record with a bad name name=%s",
				 r->name ? r->name : "(null)");
			continue;
		}
		dns_name_lower(&name);
		ret = push_pair(pairs, n, &cap, &name, &r->addr, false);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int magicdns_set_records(struct magicdns *m, const struct magicdns_config *cfg)
{
	struct md_table t = {0};
	struct pair *pairs = NULL;
	size_t npairs = 0;
	int ret;

	if (cfg->base_domain && cfg->base_domain[0]) {
		if (dns_name_from_text(&t.base.apex, cfg->base_domain) < 0 ||
		    t.base.apex.labels == 0)
			return -EINVAL;
		dns_name_lower(&t.base.apex);
		t.has_base = true;
	}
	t.ttl = cfg->ttl ? cfg->ttl : MAGICDNS_TTL_DEFAULT;
	t.negative_ttl = cfg->negative_ttl ? cfg->negative_ttl : MAGICDNS_NEGATIVE_TTL_DEFAULT;
	t.serial = m->table.serial + 1;
	ret = build_zones(&t, cfg);
	if (ret < 0)
		goto out_table;
	ret = collect_pairs(&t, cfg, &pairs, &npairs);
	if (ret < 0)
		goto out_table;
	ret = build_entries(&t, pairs, npairs);
	if (ret < 0)
		goto out_table;
	free(pairs);
	magicdns_table_free(&m->table);
	m->table = t;
	return 0;
out_table:
	free(pairs);
	magicdns_table_free(&t);
	return ret;
}

/* ---------------------------------------------------------------------------------------- */
/* Lookups */

static const struct md_entry *find_name(const struct md_table *t, const struct dns_name *name)
{
	size_t lo = 0, hi = t->nentries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = dns_name_compare(name, &t->entries[mid].name);

		if (c == 0)
			return &t->entries[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct md_entry *find_addr(const struct md_table *t, const struct ip_addr *a)
{
	size_t lo = 0, hi = t->nrev;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = ip_addr_compare(a, &t->rev[mid].addr);

		if (c == 0)
			return &t->entries[t->rev[mid].entry];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (uint8_t)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * A complete reverse name ("4.3.2.1.in-addr.arpa", 32 nibbles under
 * ip6.arpa) as an address. Labels must be canonical: decimal without
 * leading zeros, single hex digits.
 */
static bool reverse_addr(const struct dns_name *n, struct ip_addr *out)
{
	const uint8_t *w = n->wire;
	uint8_t b[16] = {0};

	if (n->labels == 6 && dns_name_is_under(n, &v4_arpa)) {
		for (int i = 3; i >= 0; i--) {
			unsigned int v = 0, l = *w++;

			if (l > 3 || (l > 1 && w[0] == '0'))
				return false;
			for (unsigned int k = 0; k < l; k++) {
				if (w[k] < '0' || w[k] > '9')
					return false;
				v = v * 10 + (unsigned int)(w[k] - '0');
			}
			if (v > 255)
				return false;
			b[i] = (uint8_t)v;
			w += l;
		}
		ip_addr_set_v4(out, b);
		return true;
	}
	if (n->labels == 34 && dns_name_is_under(n, &v6_arpa)) {
		for (int i = 31; i >= 0; i--) {
			int v;

			if (w[0] != 1 || (v = hexval(w[1])) < 0)
				return false;
			b[i / 2] |= (uint8_t)(i % 2 ? v : v << 4);
			w += 2;
		}
		ip_addr_set_v6(out, b);
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------------------------------- */
/* Answers */

enum outcome {
	OUT_FORWARD,
	OUT_DATA,     /* answers from @entry (addresses) */
	OUT_PTR,      /* a PTR to @entry's name */
	OUT_NODATA,   /* name exists, type does not */
	OUT_NXDOMAIN, /* name does not exist */
	OUT_SOA,      /* the apex SOA itself */
	OUT_SERVFAIL, /* should forward, but nowhere to */
	OUT_ERROR,    /* rcode in @rcode */
};

struct decision {
	enum outcome outcome;
	const struct md_entry *entry;
	const struct md_zone *zone; /* for SOA in authority / answer */
	unsigned int rcode;
	struct magicdns_upstreams up;
};

static bool type_wanted(uint16_t qtype, uint16_t rrtype)
{
	return qtype == rrtype || qtype == DNS_TYPE_ANY;
}

static bool entry_has(const struct md_table *t, const struct md_entry *e, uint16_t qtype)
{
	for (uint32_t k = e->addr_first; k < e->addr_first + e->naddrs; k++) {
		uint16_t rr = t->addrs[k].family == IP_FAMILY_V4 ? DNS_TYPE_A : DNS_TYPE_AAAA;

		if (type_wanted(qtype, rr))
			return true;
	}
	return false;
}

/* The zone (base or reverse) holding @name, if any: negative answers carry its SOA. */
static const struct md_zone *zone_of(const struct md_table *t, const struct dns_name *name)
{
	if (t->has_base && dns_name_is_under(name, &t->base.apex))
		return &t->base;
	for (size_t i = 0; i < t->nreverse; i++) {
		if (dns_name_is_under(name, &t->reverse[i].apex))
			return &t->reverse[i];
	}
	return NULL;
}

static void decide_forward(const struct md_table *t, const struct dns_name *qname,
			   struct decision *d)
{
	const struct md_route *best = NULL;

	for (size_t i = 0; i < t->nroutes; i++) {
		const struct md_route *r = &t->routes[i];

		if (dns_name_is_under(qname, &r->domain) &&
		    (!best || r->domain.labels > best->domain.labels))
			best = r;
	}
	if (best && best->n == 0) {
		d->outcome = OUT_NXDOMAIN;
		return;
	}
	if (best) {
		d->up = (struct magicdns_upstreams){t->resolvers + best->first, best->n};
	} else {
		d->up = (struct magicdns_upstreams){t->resolvers + t->default_first, t->ndefault};
	}
	d->outcome = d->up.n ? OUT_FORWARD : OUT_SERVFAIL;
}

static void decide(const struct md_table *t, const struct dnsmsg *q, struct decision *d)
{
	const struct dns_name *qname = &q->qname;
	struct ip_addr addr;
	const struct md_zone *zone = zone_of(t, qname);
	bool ours_class = q->qclass == DNS_CLASS_IN || q->qclass == DNS_CLASS_ANY;

	memset(d, 0, sizeof(*d));
	d->zone = zone;
	if (!ours_class) {
		decide_forward(t, qname, d);
		return;
	}
	d->entry = find_name(t, qname);
	if (d->entry) {
		d->outcome = entry_has(t, d->entry, q->qtype) ? OUT_DATA : OUT_NODATA;
		return;
	}
	if (reverse_addr(qname, &addr)) {
		d->entry = find_addr(t, &addr);
		if (d->entry) {
			d->outcome = type_wanted(q->qtype, DNS_TYPE_PTR) ? OUT_PTR : OUT_NODATA;
			return;
		}
		for (size_t i = 0; i < t->nreverse; i++) {
			if (ip_prefix_contains(&t->reverse[i].prefix, &addr)) {
				d->zone = &t->reverse[i];
				d->outcome = OUT_NXDOMAIN;
				return;
			}
		}
		decide_forward(t, qname, d);
		return;
	}
	if (zone == &t->base) {
		if (dns_name_equal(qname, &zone->apex))
			d->outcome = type_wanted(q->qtype, DNS_TYPE_SOA) ? OUT_SOA : OUT_NODATA;
		else
			d->outcome = OUT_NXDOMAIN;
		return;
	}
	decide_forward(t, qname, d);
}

static void zone_soa(const struct md_table *t, const struct md_zone *z, struct dns_soa *soa)
{
	memset(soa, 0, sizeof(*soa));
	soa->mname = z->apex;
	soa->rname = hostmaster;
	if (dns_name_append(&soa->rname, &z->apex) < 0)
		soa->rname = z->apex;
	soa->serial = t->serial;
	soa->refresh = SOA_REFRESH;
	soa->retry = SOA_RETRY;
	soa->expire = SOA_EXPIRE;
	soa->minimum = t->negative_ttl;
}

/* The answer and authority sections; -EMSGSIZE when they do not fit. */
static int add_records(const struct md_table *t, const struct dnsmsg *q, const struct decision *d,
		       struct dnsmsg_builder *b)
{
	struct dns_soa soa;
	int ret = 0;

	switch (d->outcome) {
	case OUT_DATA:
		for (uint32_t k = d->entry->addr_first;
		     ret == 0 && k < d->entry->addr_first + d->entry->naddrs; k++) {
			const struct ip_addr *a = &t->addrs[k];
			uint16_t rr = a->family == IP_FAMILY_V4 ? DNS_TYPE_A : DNS_TYPE_AAAA;

			if (type_wanted(q->qtype, rr))
				ret = dnsmsg_add_addr(b, DNSMSG_ANSWER, &q->qname, t->ttl, a);
		}
		return ret;
	case OUT_PTR:
		return dnsmsg_add_name_rr(b, DNSMSG_ANSWER, &q->qname, DNS_TYPE_PTR, t->ttl,
					  &d->entry->name);
	case OUT_SOA:
		zone_soa(t, d->zone, &soa);
		return dnsmsg_add_soa(b, DNSMSG_ANSWER, &q->qname, t->ttl, &soa);
	case OUT_NODATA:
	case OUT_NXDOMAIN:
		if (!d->zone)
			return 0;
		zone_soa(t, d->zone, &soa);
		return dnsmsg_add_soa(b, DNSMSG_AUTHORITY, &d->zone->apex, t->negative_ttl, &soa);
	default:
		return 0;
	}
}

static unsigned int outcome_rcode(const struct decision *d)
{
	switch (d->outcome) {
	case OUT_NXDOMAIN:
		return DNS_RCODE_NXDOMAIN;
	case OUT_SERVFAIL:
		return DNS_RCODE_SERVFAIL;
	case OUT_ERROR:
		return d->rcode;
	default:
		return DNS_RCODE_NOERROR;
	}
}

/* Build the response; with @truncated, only header, question and OPT, TC set. */
static size_t build(struct magicdns *m, const struct dnsmsg *q, const struct decision *d,
		    uint8_t *buf, size_t limit, bool truncated)
{
	struct dnsmsg_builder b;
	unsigned int rcode = outcome_rcode(d);
	uint16_t flags =
		(uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA | (rcode & DNS_FLAG_RCODE_MASK) |
			   (q->hdr.flags & (DNS_FLAG_OPCODE_MASK | DNS_FLAG_RD | DNS_FLAG_CD)));

	if (d->outcome != OUT_SERVFAIL && d->outcome != OUT_ERROR && d->outcome != OUT_FORWARD)
		flags |= DNS_FLAG_AA;
	if (truncated)
		flags |= DNS_FLAG_TC;
	dnsmsg_builder_init(&b, buf, limit, q->hdr.id, flags);
	if (q->hdr.qdcount == 1 && dnsmsg_add_question(&b, &q->qname, q->qtype, q->qclass) < 0)
		return 0;
	if (!truncated && add_records(&m->table, q, d, &b) < 0)
		return 0;
	if (q->has_opt || rcode > DNS_FLAG_RCODE_MASK) {
		uint16_t dobit = q->has_opt ? q->edns_flags & DNS_EDNS_FLAG_DO : 0;

		if (dnsmsg_add_opt(&b, m->max_udp_payload, (uint8_t)(rcode >> 4), dobit) < 0)
			return 0;
	}
	return dnsmsg_builder_finish(&b);
}

int magicdns_answer(struct magicdns *m, const uint8_t *query, size_t qlen, bool tcp, uint8_t *resp,
		    size_t cap, size_t *resp_len, struct magicdns_upstreams *up,
		    uint16_t *udp_limit)
{
	struct dns_header h;
	struct dnsmsg q;
	struct decision d;
	size_t limit, n;
	int ret;

	*resp_len = 0;
	memset(up, 0, sizeof(*up));
	if (udp_limit)
		*udp_limit = DNS_UDP_CLASSIC_MAX;
	if (dnsmsg_parse_header(query, qlen, &h) < 0 || (h.flags & DNS_FLAG_QR)) {
		m->stats.dropped++;
		return MAGICDNS_DROP;
	}
	m->stats.queries++;
	if (dnsmsg_parse(query, qlen, &q) < 0) {
		ret = dnsmsg_build_error(query, qlen, DNS_RCODE_FORMERR, m->max_udp_payload, resp,
					 cap);
		if (ret < 0)
			return MAGICDNS_DROP;
		*resp_len = (size_t)ret;
		m->stats.answered++;
		return MAGICDNS_ANSWERED;
	}
	limit = dnsmsg_udp_limit(&q);
	if (limit > m->max_udp_payload)
		limit = m->max_udp_payload;
	if (udp_limit)
		*udp_limit = (uint16_t)limit;
	if (tcp)
		limit = MAGICDNS_RESPONSE_MAX;
	if (limit > cap)
		limit = cap;

	memset(&d, 0, sizeof(d));
	if ((q.hdr.flags & DNS_FLAG_OPCODE_MASK) >> DNS_FLAG_OPCODE_SHIFT != DNS_OPCODE_QUERY) {
		d.outcome = OUT_ERROR;
		d.rcode = DNS_RCODE_NOTIMP;
	} else if (q.hdr.qdcount != 1) {
		d.outcome = OUT_ERROR;
		d.rcode = DNS_RCODE_FORMERR;
	} else if (q.has_opt && q.edns_version > DNS_EDNS_VERSION) {
		d.outcome = OUT_ERROR;
		d.rcode = DNS_RCODE_BADVERS;
	} else {
		decide(&m->table, &q, &d);
	}
	if (d.outcome == OUT_FORWARD) {
		*up = d.up;
		m->stats.forwarded++;
		return MAGICDNS_FORWARD;
	}
	n = build(m, &q, &d, resp, limit, false);
	if (!n) {
		n = build(m, &q, &d, resp, limit, true);
		m->stats.truncated++;
	}
	if (!n) {
		m->stats.dropped++;
		return MAGICDNS_DROP;
	}
	if (d.outcome == OUT_NXDOMAIN)
		m->stats.nxdomain++;
	m->stats.answered++;
	*resp_len = n;
	return MAGICDNS_ANSWERED;
}

/* ---------------------------------------------------------------------------------------- */
/* Life cycle */

int magicdns_new(struct magicdns **out, const struct magicdns_options *opt)
{
	struct magicdns *m;
	struct magicdns_config empty = {0};
	int ret;

	*out = NULL;
	if (opt && opt->max_udp_payload && opt->max_udp_payload < DNS_UDP_CLASSIC_MAX)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->max_udp_payload =
		opt && opt->max_udp_payload ? opt->max_udp_payload : MAGICDNS_UDP_PAYLOAD_DEFAULT;
	m->ntcp = opt && opt->tcp_conns ? opt->tcp_conns : MAGICDNS_TCP_CONNS_DEFAULT;
	m->tcp = calloc(m->ntcp, sizeof(*m->tcp));
	if (!m->tcp) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = magicdns_set_records(m, &empty);
	if (ret < 0)
		goto out_free;
	*out = m;
	return 0;
out_free:
	free(m->tcp);
	free(m);
	return ret;
}

void magicdns_free(struct magicdns *m)
{
	if (!m)
		return;
	magicdns_table_free(&m->table);
	free(m->tcp);
	free(m);
}

void magicdns_get_stats(const struct magicdns *m, struct magicdns_stats *out)
{
	*out = m->stats;
}
