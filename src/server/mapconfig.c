// SPDX-License-Identifier: MIT
/*
 * Config → relay map and DNS config (see mapconfig.h). The config was
 * validated at start; what the map codec is stricter about (relay node names
 * are tokens, region codes are required there) gets a derived value.
 */
#include "server/mapconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/json.h"
#include "util/log.h"

enum {
	DEFAULT_HTTP_PORT = 80,
	DEFAULT_HTTPS_PORT = 443,
	NODE_NAME_MAX = 64,
};

/* Host and port of "scheme://host[:port]" (validated by config.c). */
static int url_host_port(const char *url, char *host, size_t hostlen, uint16_t *port)
{
	const char *p = strstr(url, "://"), *end, *colon;
	bool https = !strncmp(url, "https://", 8);
	size_t n;

	if (!p)
		return -EINVAL;
	p += 3;
	end = p + strcspn(p, "/");
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close)
			return -EINVAL;
		n = (size_t)(close - p - 1);
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
		p++;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon ? colon : end) - p);
	}
	if (!n || n >= hostlen)
		return -EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	*port = https ? DEFAULT_HTTPS_PORT : DEFAULT_HTTP_PORT;
	if (colon)
		*port = (uint16_t)strtoul(colon + 1, NULL, 10);
	return 0;
}

static int set_node(struct ctl_relay_node *n, const char *name, const char *host_name,
		    const char *ipv4, const char *ipv6, int stun_port, int relay_port)
{
	n->name = strdup(name);
	n->host_name = strdup(host_name);
	if (!n->name || !n->host_name)
		return -ENOMEM;
	n->has_ipv4 =
		ipv4 && !ip_addr_parse(&n->ipv4, ipv4, NULL) && n->ipv4.family == IP_FAMILY_V4;
	n->has_ipv6 =
		ipv6 && !ip_addr_parse(&n->ipv6, ipv6, NULL) && n->ipv6.family == IP_FAMILY_V6;
	n->stun_port = (uint16_t)stun_port;
	n->relay_port = (uint16_t)relay_port;
	return 0;
}

static int region_init(struct ctl_relay_region *r, int id, const char *code, const char *name,
		       size_t nnodes)
{
	char fallback[16];

	snprintf(fallback, sizeof(fallback), "r%d", id);
	r->region_id = (uint32_t)id;
	r->region_code = strdup(code && *code ? code : fallback);
	r->region_name = name && *name ? strdup(name) : NULL;
	r->nodes = calloc(nnodes ? nnodes : 1, sizeof(*r->nodes));
	if (!r->region_code || (name && *name && !r->region_name) || !r->nodes)
		return -ENOMEM;
	return 0;
}

/* The embedded relay, on the server's own HTTP(S) port (the /relay upgrade). */
static int embedded_region(const struct config *cfg, uint16_t stun_port, struct ctl_relay_region *r,
			   bool *added)
{
	char host[256], name[NODE_NAME_MAX];
	struct ip_addr a;
	uint16_t port;
	bool is_ip;
	int ret;

	*added = false;
	if (url_host_port(cfg->server_url, host, sizeof(host), &port))
		return -EINVAL;
	is_ip = !ip_addr_parse(&a, host, NULL);
	if (is_ip && a.family == IP_FAMILY_V6) {
		log_warn("server", "the embedded relay is left out of the relay map: server_url "
				   "names an IPv6 address, not a host name");
		return 0;
	}
	ret = region_init(r, cfg->relay.region_id, cfg->relay.region_code, cfg->relay.region_name,
			  1);
	if (ret)
		return ret;
	snprintf(name, sizeof(name), "%da", cfg->relay.region_id);
	ret = set_node(&r->nodes[0], name, host, is_ip ? host : NULL, NULL, stun_port, port);
	r->nnodes = 1;
	*added = !ret;
	return ret;
}

int mapconfig_relay_map(const struct config *cfg, uint16_t stun_port, struct ctl_relay_map *out)
{
	bool added = false;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->regions = calloc(cfg->n_relay_map + 1, sizeof(*out->regions));
	if (!out->regions)
		return -ENOMEM;
	if (cfg->relay.enabled) {
		ret = embedded_region(cfg, stun_port, &out->regions[0], &added);
		out->nregions = added || ret ? 1 : 0;
	}
	for (size_t i = 0; !ret && i < cfg->n_relay_map; i++) {
		const struct config_relay_region *c = &cfg->relay_map[i];
		struct ctl_relay_region *r = &out->regions[out->nregions++];

		ret = region_init(r, c->region_id, c->region_code, c->region_name, c->n_nodes);
		for (size_t j = 0; !ret && j < c->n_nodes; j++) {
			const struct config_relay_node *cn = &c->nodes[j];
			char name[NODE_NAME_MAX];

			if (cn->name && ctl_text_valid(cn->name, CTL_TEXT_TOKEN, NODE_NAME_MAX - 1))
				snprintf(name, sizeof(name), "%s", cn->name);
			else
				snprintf(name, sizeof(name), "%d%c", c->region_id,
					 (char)('a' + (j % 26)));
			ret = set_node(&r->nodes[j], name, cn->hostname, cn->ipv4, cn->ipv6,
				       cn->stun_port, cn->stun_only ? 0 : cn->relay_port);
			r->nnodes = j + 1;
		}
	}
	if (ret)
		ctl_relay_map_free(out);
	return ret;
}

uint32_t mapconfig_home_relay(const struct config *cfg, const struct ctl_relay_map *map)
{
	if (!map->nregions)
		return 0;
	if (cfg->relay.enabled && map->regions[0].region_id == (uint32_t)cfg->relay.region_id)
		return map->regions[0].region_id;
	for (size_t i = 0; i < map->nregions; i++) {
		for (size_t j = 0; j < map->regions[i].nnodes; j++)
			if (map->regions[i].nodes[j].relay_port)
				return map->regions[i].region_id;
	}
	return 0;
}

static int add_search_domain(struct ctl_dns_config *d, const char *name)
{
	for (size_t i = 0; i < d->nsearch_domains; i++)
		if (!strcmp(d->search_domains[i], name))
			return 0;
	d->search_domains[d->nsearch_domains] = strdup(name);
	if (!d->search_domains[d->nsearch_domains])
		return -ENOMEM;
	d->nsearch_domains++;
	return 0;
}

int mapconfig_dns(const struct config *cfg, struct ctl_dns_config *out)
{
	size_t nsearch = cfg->dns.n_search_domains + 1;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->magic_dns = cfg->dns.magic_dns;
	out->domain = strdup(cfg->base_domain);
	out->nameservers = calloc(cfg->dns.n_nameservers + 1, sizeof(*out->nameservers));
	out->search_domains = calloc(nsearch, sizeof(*out->search_domains));
	out->records = calloc(cfg->dns.n_extra_records + 1, sizeof(*out->records));
	if (!out->domain || !out->nameservers || !out->search_domains || !out->records) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (size_t i = 0; !ret && i < cfg->dns.n_nameservers; i++)
		ret = ip_addr_parse(&out->nameservers[out->nnameservers++], cfg->dns.nameservers[i],
				    NULL);
	if (!ret && cfg->dns.magic_dns)
		ret = add_search_domain(out, cfg->base_domain);
	for (size_t i = 0; !ret && i < cfg->dns.n_search_domains; i++)
		ret = add_search_domain(out, cfg->dns.search_domains[i]);
	for (size_t i = 0; !ret && i < cfg->dns.n_extra_records; i++) {
		const struct config_dns_record *c = &cfg->dns.extra_records[i];
		struct ctl_dns_record *r = &out->records[out->nrecords++];

		r->type = !strcmp(c->type, "AAAA") ? CTL_DNS_AAAA : CTL_DNS_A;
		r->name = strdup(c->name);
		if (!r->name)
			ret = -ENOMEM;
		else if (ip_addr_parse(&r->value, c->value, NULL))
			ret = -EINVAL;
	}
out_free:
	if (ret)
		ctl_dns_config_free(out);
	return ret;
}
