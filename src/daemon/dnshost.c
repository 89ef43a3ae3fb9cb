// SPDX-License-Identifier: MIT
/*
 * MagicDNS glue. The resolver is pure; this file gives it a clock, the
 * forwarder and the TUN. Forwarded queries carry a small heap record (the
 * client to answer) that is freed in the forwarder's callback, which the
 * forwarder guarantees to call once (or cancel on free).
 */
#include "daemon/dnshost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/netmap.h"
#include "dns/dns_proto.h"
#include "dns/dnsmsg.h"
#include "dns/forward.h"
#include "dns/magicdns.h"
#include "dns/osconfig.h"
#include "util/log.h"

enum {
	MAX_UPSTREAMS = 8,
	EXPIRE_MS = 5000,
};

struct dnshost {
	uv_loop_t *loop;
	struct magicdns *md;
	struct dns_forward *fwd;
	uv_timer_t expire;
	char state_dir[512];
	char ifname[32];
	char base_domain[CTL_DNSNAME_MAX + 1];
	char **search; /* from the DNS config, base domain first */
	size_t nsearch;
	bool enabled; /* the netmap has MagicDNS on */
	bool os_on;
	bool search_changed; /* since the host was last pointed at us */
	dnshost_write_cb *write;
	void *ctx;
	uint8_t out_buf[MAGICDNS_OUT_BUF];
};

struct pending {
	struct dnshost *d;
	struct magicdns_client client;
	size_t qlen;
	uint8_t query[]; /* for SERVFAIL if every upstream fails */
};

static void flush(struct dnshost *d, struct magicdns_output *out);

static void forwarded(void *ctx, int status, const uint8_t *reply, size_t len)
{
	struct pending *p = ctx;
	struct dnshost *d = p->d;
	struct magicdns_output out = {.buf = d->out_buf, .cap = sizeof(d->out_buf)};
	uint8_t fail[512];
	int n;

	if (status == -ECANCELED || !d->md) {
		free(p);
		return;
	}
	if (status) {
		n = dnsmsg_build_error(p->query, p->qlen, DNS_RCODE_SERVFAIL, 512, fail,
				       sizeof(fail));
		if (n <= 0) {
			free(p);
			return;
		}
		reply = fail;
		len = (size_t)n;
	}
	if (!magicdns_handle_reply(d->md, &p->client, reply, len, uv_now(d->loop), &out))
		flush(d, &out);
	free(p);
}

static void flush(struct dnshost *d, struct magicdns_output *out)
{
	for (unsigned i = 0; i < out->npackets; i++)
		d->write(d->ctx, out->packets[i].data, out->packets[i].len);
	for (unsigned i = 0; i < out->nforwards; i++) {
		struct magicdns_forward *f = &out->forwards[i];
		struct pending *p = malloc(sizeof(*p) + f->len);

		if (!p)
			continue;
		p->d = d;
		p->client = f->client;
		p->qlen = f->len;
		memcpy(p->query, f->query, f->len);
		if (dns_forward_query(d->fwd, f->query, f->len, f->upstreams.addrs, f->upstreams.n,
				      forwarded, p, NULL))
			free(p);
	}
}

bool dnshost_outbound(struct dnshost *d, const uint8_t *pkt, size_t len)
{
	struct magicdns_output out = {.buf = d->out_buf, .cap = sizeof(d->out_buf)};

	if (!d || !d->enabled || !magicdns_is_service_packet(pkt, len))
		return false;
	if (!magicdns_handle_packet(d->md, pkt, len, uv_now(d->loop), &out))
		flush(d, &out);
	return true;
}

static void expire_cb(uv_timer_t *t)
{
	struct dnshost *d = t->data;

	magicdns_expire(d->md, uv_now(d->loop));
}

int dnshost_new(struct dnshost **out, uv_loop_t *loop, const char *state_dir, const char *ifname,
		uint32_t fwmark, dnshost_write_cb *write, void *ctx)
{
	struct dns_forward_config fc = {.fwmark = fwmark};
	struct dnshost *d = calloc(1, sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	d->loop = loop;
	d->write = write;
	d->ctx = ctx;
	snprintf(d->state_dir, sizeof(d->state_dir), "%s", state_dir);
	snprintf(d->ifname, sizeof(d->ifname), "%s", ifname);
	ret = magicdns_new(&d->md, NULL);
	if (!ret)
		ret = dns_forward_new(&d->fwd, loop, &fc);
	if (ret) {
		magicdns_free(d->md);
		free(d);
		return ret;
	}
	uv_timer_init(loop, &d->expire);
	d->expire.data = d;
	uv_timer_start(&d->expire, expire_cb, EXPIRE_MS, EXPIRE_MS);
	*out = d;
	return 0;
}

static void free_search(struct dnshost *d)
{
	for (size_t i = 0; i < d->nsearch; i++)
		free(d->search[i]);
	free(d->search);
	d->search = NULL;
	d->nsearch = 0;
}

static void timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void dnshost_free(struct dnshost *d)
{
	if (!d)
		return;
	dnshost_set_os(d, false);
	dns_forward_free(d->fwd);
	magicdns_free(d->md);
	d->md = NULL;
	free_search(d);
	uv_close((uv_handle_t *)&d->expire, timer_closed);
}

struct hosts_ctx {
	struct magicdns_host *h;
	size_t n;
	struct ip_addr *addrs;
	size_t naddrs;
};

static void add_host(struct hosts_ctx *c, const struct ctl_node *n)
{
	struct magicdns_host *h = &c->h[c->n++];

	h->name = n->name;
	h->addrs = &c->addrs[c->naddrs];
	h->naddrs = 0;
	for (size_t i = 0; i < n->naddresses; i++) {
		c->addrs[c->naddrs++] = n->addresses[i].addr;
		h->naddrs++;
	}
}

static void add_peer(const struct ctl_node *n, void *arg)
{
	if (n->name)
		add_host(arg, n);
}

static void count_peer(const struct ctl_node *n, void *arg)
{
	*(size_t *)arg += n->naddresses;
}

/* The host's search list (base domain first) would change with @dns. */
static bool search_differs(const struct dnshost *d, const struct ctl_dns_config *dns)
{
	if (!d->search || d->nsearch != dns->nsearch_domains + 1 || !d->search[0] ||
	    strcmp(d->search[0], dns->domain))
		return true;
	for (size_t i = 0; i < dns->nsearch_domains; i++)
		if (!d->search[i + 1] || strcmp(d->search[i + 1], dns->search_domains[i]))
			return true;
	return false;
}

void dnshost_update(struct dnshost *d, const struct netmap *nm, const struct ctl_dns_config *dns)
{
	struct magicdns_config cfg = {0};
	struct ip_endpoint ups[MAX_UPSTREAMS];
	struct osconfig_params op = {.state_dir = d->state_dir};
	struct magicdns_record *recs = NULL;
	struct hosts_ctx hc = {0};
	size_t naddrs = nm->self.naddresses, nups = 0;

	d->enabled = dns && dns->magic_dns && dns->domain;
	if (!d->enabled)
		return;
	netmap_for_each_peer(nm, count_peer, &naddrs);
	hc.h = calloc(nm->npeers + 1, sizeof(*hc.h));
	hc.addrs = calloc(naddrs + 1, sizeof(*hc.addrs));
	recs = calloc(dns->nrecords + 1, sizeof(*recs));
	if (!hc.h || !hc.addrs || !recs)
		goto out;
	if (nm->has_self && nm->self.name)
		add_host(&hc, &nm->self);
	netmap_for_each_peer(nm, add_peer, &hc);
	for (size_t i = 0; i < dns->nrecords; i++) {
		recs[i].name = dns->records[i].name;
		recs[i].addr = dns->records[i].value;
	}
	/* Upstreams: the config's, else what the host used before us. */
	for (size_t i = 0; i < dns->nnameservers && nups < MAX_UPSTREAMS; i++) {
		ups[nups].addr = dns->nameservers[i];
		ups[nups++].port = 53;
	}
	if (!nups)
		osconfig_base_nameservers(&op, ups, MAX_UPSTREAMS, &nups);
	cfg.base_domain = dns->domain;
	cfg.hosts = hc.h;
	cfg.nhosts = hc.n;
	cfg.records = recs;
	cfg.nrecords = dns->nrecords;
	cfg.upstreams = ups;
	cfg.nupstreams = nups;
	if (magicdns_set_records(d->md, &cfg))
		log_warn("dns", "rejected the netmap's DNS configuration; keeping the old one");
	snprintf(d->base_domain, sizeof(d->base_domain), "%s", dns->domain);
	if (search_differs(d, dns)) {
		free_search(d);
		d->search = calloc(dns->nsearch_domains + 1, sizeof(*d->search));
		if (d->search) {
			d->search[d->nsearch++] = strdup(dns->domain);
			for (size_t i = 0; i < dns->nsearch_domains; i++)
				d->search[d->nsearch++] = strdup(dns->search_domains[i]);
		}
		d->search_changed = true;
		if (d->os_on)
			dnshost_set_os(d, true);
	}
out:
	free(hc.h);
	free(hc.addrs);
	free(recs);
}

void dnshost_set_os(struct dnshost *d, bool on)
{
	static const char *const match[] = {"100.in-addr.arpa", "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa"};
	struct osconfig_params op = {.state_dir = d->state_dir, .ifname = d->ifname};
	struct ip_addr ns[2];
	enum osconfig_mode mode;
	int ret;

	if (!on || !d->enabled) {
		if (d->os_on && (ret = osconfig_restore(&op)))
			log_warn("dns", "cannot restore the host's DNS settings: %s",
				 strerror(-ret));
		d->os_on = false;
		return;
	}
	/* Called after every netmap: touch the host's files only when something changed. */
	if (d->os_on && !d->search_changed)
		return;
	magicdns_service_addr(&ns[0], false);
	magicdns_service_addr(&ns[1], true);
	op.nameservers = ns;
	op.nnameservers = 2;
	op.search_domains = (const char *const *)d->search;
	op.nsearch_domains = d->nsearch;
	op.match_domains = match;
	op.nmatch_domains = 2;
	ret = osconfig_apply(&op, &mode);
	if (ret) {
		log_warn("dns", "cannot point the host at MagicDNS: %s", strerror(-ret));
		return;
	}
	if (!d->os_on)
		log_info("dns", "host resolver -> 100.100.100.100 mode=%s",
			 mode == OSCONFIG_RESOLVED ? "systemd-resolved" : "resolv.conf");
	d->os_on = true;
	d->search_changed = false;
}

int dnshost_cleanup_os(const char *state_dir)
{
	struct osconfig_params op = {.state_dir = state_dir};

	return osconfig_restore(&op);
}
