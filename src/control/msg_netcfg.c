// SPDX-License-Identifier: MIT
/*
 * JSON codec for the network configuration parts of a map: the relay map,
 * the DNS configuration and packet filter rules.
 */
#include "control/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum {
	RELAY_NODE_NAME_MAX = 64,
};

static void *alloc_array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

/* ---- relay map ---- */

void ctl_relay_map_encode(int *err, cJSON *o, const struct ctl_relay_map *m)
{
	cJSON *regions = ctl_json_put_array(err, o, "regions", m->nregions, CTL_MAX_REGIONS);
	size_t i, j, k;

	for (i = 0; regions && !*err && i < m->nregions; i++) {
		const struct ctl_relay_region *r = &m->regions[i];
		cJSON *ro = ctl_json_push_object(err, regions), *nodes;

		for (k = 0; k < i; k++) {
			if (m->regions[k].region_id == r->region_id)
				*err = *err ? *err : -EINVAL;
		}
		if (!r->region_id || !r->nnodes)
			*err = *err ? *err : -EINVAL;
		ctl_json_put_uint(err, ro, "region_id", r->region_id);
		ctl_json_put_string(err, ro, "region_code", r->region_code, CTL_TEXT_LABEL,
				    CTL_REGION_CODE_MAX);
		if (r->region_name)
			ctl_json_put_string(err, ro, "region_name", r->region_name,
					    CTL_TEXT_PRINTABLE, CTL_REGION_NAME_MAX);
		nodes = ctl_json_put_array(err, ro, "nodes", r->nnodes, CTL_MAX_RELAY_NODES);
		for (j = 0; nodes && !*err && j < r->nnodes; j++) {
			const struct ctl_relay_node *n = &r->nodes[j];
			cJSON *no = ctl_json_push_object(err, nodes);

			ctl_json_put_string(err, no, "name", n->name, CTL_TEXT_TOKEN,
					    RELAY_NODE_NAME_MAX);
			ctl_json_put_string(err, no, "host_name", n->host_name, CTL_TEXT_DNSNAME,
					    CTL_DNSNAME_MAX);
			if (n->has_ipv4) {
				if (n->ipv4.family != IP_FAMILY_V4)
					*err = *err ? *err : -EINVAL;
				ctl_json_put_addr(err, no, "ipv4", &n->ipv4);
			}
			if (n->has_ipv6) {
				if (n->ipv6.family != IP_FAMILY_V6)
					*err = *err ? *err : -EINVAL;
				ctl_json_put_addr(err, no, "ipv6", &n->ipv6);
			}
			ctl_json_put_uint(err, no, "stun_port", n->stun_port);
			ctl_json_put_uint(err, no, "relay_port", n->relay_port);
		}
	}
}

static int relay_node_decode(struct ctl_json_ctx *ctx, const cJSON *o, struct ctl_relay_node *n)
{
	uint64_t port = 0;
	int ret = ctl_json_object(ctx, o, NULL);

	if (!ret)
		ret = ctl_json_string(ctx, o, "name", true, CTL_TEXT_TOKEN, RELAY_NODE_NAME_MAX,
				      &n->name);
	if (!ret)
		ret = ctl_json_string(ctx, o, "host_name", true, CTL_TEXT_DNSNAME, CTL_DNSNAME_MAX,
				      &n->host_name);
	if (!ret)
		ret = ctl_json_addr(ctx, o, "ipv4", false, &n->ipv4, &n->has_ipv4);
	if (!ret && n->has_ipv4 && n->ipv4.family != IP_FAMILY_V4)
		ret = ctl_json_fail(ctx, "ipv4", "not an IPv4 address");
	if (!ret)
		ret = ctl_json_addr(ctx, o, "ipv6", false, &n->ipv6, &n->has_ipv6);
	if (!ret && n->has_ipv6 && n->ipv6.family != IP_FAMILY_V6)
		ret = ctl_json_fail(ctx, "ipv6", "not an IPv6 address");
	if (!ret)
		ret = ctl_json_uint(ctx, o, "stun_port", true, 0, UINT16_MAX, &port, NULL);
	n->stun_port = (uint16_t)port;
	if (!ret)
		ret = ctl_json_uint(ctx, o, "relay_port", true, 0, UINT16_MAX, &port, NULL);
	n->relay_port = (uint16_t)port;
	return ret;
}

static int region_decode(struct ctl_json_ctx *ctx, const cJSON *o, struct ctl_relay_region *r)
{
	const cJSON *arr, *e;
	uint64_t id = 0;
	size_t count, i = 0, mark;
	int ret = ctl_json_object(ctx, o, NULL);

	if (!ret)
		ret = ctl_json_uint(ctx, o, "region_id", true, 1, UINT32_MAX, &id, NULL);
	r->region_id = (uint32_t)id;
	if (!ret)
		ret = ctl_json_string(ctx, o, "region_code", true, CTL_TEXT_LABEL,
				      CTL_REGION_CODE_MAX, &r->region_code);
	if (!ret)
		ret = ctl_json_string(ctx, o, "region_name", false, CTL_TEXT_PRINTABLE,
				      CTL_REGION_NAME_MAX, &r->region_name);
	if (!ret)
		ret = ctl_json_array(ctx, o, "nodes", true, CTL_MAX_RELAY_NODES, &arr, &count);
	if (!ret && !count)
		ret = ctl_json_fail(ctx, "nodes", "empty");
	if (ret)
		return ret;
	r->nodes = alloc_array(count, sizeof(*r->nodes));
	if (!r->nodes)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		mark = ctl_json_push(ctx, "nodes", (long)i);
		ret = relay_node_decode(ctx, e, &r->nodes[i]);
		ctl_json_pop(ctx, mark);
		r->nnodes = ++i;
		if (ret)
			return ret;
	}
	return 0;
}

void ctl_relay_map_free(struct ctl_relay_map *m)
{
	size_t i, j;

	for (i = 0; i < m->nregions; i++) {
		struct ctl_relay_region *r = &m->regions[i];

		for (j = 0; j < r->nnodes; j++) {
			free(r->nodes[j].name);
			free(r->nodes[j].host_name);
		}
		free(r->nodes);
		free(r->region_code);
		free(r->region_name);
	}
	free(m->regions);
	memset(m, 0, sizeof(*m));
}

int ctl_relay_map_decode(struct ctl_json_ctx *ctx, const cJSON *o, struct ctl_relay_map *m)
{
	const cJSON *arr, *e;
	size_t count, i = 0, k, mark;
	int ret = ctl_json_object(ctx, o, NULL);

	if (!ret)
		ret = ctl_json_array(ctx, o, "regions", true, CTL_MAX_REGIONS, &arr, &count);
	if (ret)
		return ret;
	m->regions = alloc_array(count, sizeof(*m->regions));
	if (!m->regions)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		mark = ctl_json_push(ctx, "regions", (long)i);
		ret = region_decode(ctx, e, &m->regions[i]);
		for (k = 0; !ret && k < i; k++) {
			if (m->regions[k].region_id == m->regions[i].region_id)
				ret = ctl_json_fail(ctx, "region_id", "duplicate");
		}
		ctl_json_pop(ctx, mark);
		m->nregions = ++i;
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- DNS ---- */

static const char *const dns_types[] = {
	[CTL_DNS_A] = "A",
	[CTL_DNS_AAAA] = "AAAA",
};

static bool record_coherent(const struct ctl_dns_record *r)
{
	return (r->type == CTL_DNS_A && r->value.family == IP_FAMILY_V4) ||
	       (r->type == CTL_DNS_AAAA && r->value.family == IP_FAMILY_V6);
}

void ctl_dns_config_encode(int *err, cJSON *o, const struct ctl_dns_config *d)
{
	cJSON *recs;
	size_t i;

	ctl_json_put_bool(err, o, "magic_dns", d->magic_dns);
	if (d->domain)
		ctl_json_put_string(err, o, "domain", d->domain, CTL_TEXT_DNSNAME, CTL_DNSNAME_MAX);
	if (d->nnameservers)
		ctl_json_put_addrs(err, o, "nameservers", d->nameservers, d->nnameservers,
				   CTL_MAX_NAMESERVERS);
	if (d->nsearch_domains)
		ctl_json_put_strings(err, o, "search_domains", d->search_domains,
				     d->nsearch_domains, CTL_MAX_SEARCH_DOMAINS, CTL_TEXT_DNSNAME,
				     CTL_DNSNAME_MAX);
	if (!d->nrecords)
		return;
	recs = ctl_json_put_array(err, o, "extra_records", d->nrecords, CTL_MAX_RECORDS);
	for (i = 0; recs && !*err && i < d->nrecords; i++) {
		const struct ctl_dns_record *r = &d->records[i];
		cJSON *ro = ctl_json_push_object(err, recs);

		if (!record_coherent(r)) {
			*err = -EINVAL;
			return;
		}
		ctl_json_put_string(err, ro, "name", r->name, CTL_TEXT_DNSNAME, CTL_DNSNAME_MAX);
		ctl_json_put_string(err, ro, "type", dns_types[r->type], CTL_TEXT_TOKEN, 8);
		ctl_json_put_addr(err, ro, "value", &r->value);
	}
}

static int record_decode(struct ctl_json_ctx *ctx, const cJSON *o, struct ctl_dns_record *r)
{
	char *type = NULL;
	int ret = ctl_json_object(ctx, o, NULL);

	if (!ret)
		ret = ctl_json_string(ctx, o, "name", true, CTL_TEXT_DNSNAME, CTL_DNSNAME_MAX,
				      &r->name);
	if (!ret)
		ret = ctl_json_string(ctx, o, "type", true, CTL_TEXT_TOKEN, 8, &type);
	if (!ret) {
		if (!strcmp(type, "A"))
			r->type = CTL_DNS_A;
		else if (!strcmp(type, "AAAA"))
			r->type = CTL_DNS_AAAA;
		else
			ret = ctl_json_fail(ctx, "type", "not A or AAAA");
	}
	free(type);
	if (!ret)
		ret = ctl_json_addr(ctx, o, "value", true, &r->value, NULL);
	if (!ret && !record_coherent(r))
		ret = ctl_json_fail(ctx, "value", "address family does not match the type");
	return ret;
}

void ctl_dns_config_free(struct ctl_dns_config *d)
{
	size_t i;

	free(d->domain);
	free(d->nameservers);
	ctl_json_free_strings(d->search_domains, d->nsearch_domains);
	for (i = 0; i < d->nrecords; i++)
		free(d->records[i].name);
	free(d->records);
	memset(d, 0, sizeof(*d));
}

int ctl_dns_config_decode(struct ctl_json_ctx *ctx, const cJSON *o, struct ctl_dns_config *d)
{
	const cJSON *arr, *e;
	size_t count, i = 0, mark;
	int ret = ctl_json_object(ctx, o, NULL);

	if (!ret)
		ret = ctl_json_bool(ctx, o, "magic_dns", true, &d->magic_dns, NULL);
	if (!ret)
		ret = ctl_json_string(ctx, o, "domain", false, CTL_TEXT_DNSNAME, CTL_DNSNAME_MAX,
				      &d->domain);
	if (!ret)
		ret = ctl_json_addrs(ctx, o, "nameservers", CTL_MAX_NAMESERVERS, &d->nameservers,
				     &d->nnameservers);
	if (!ret)
		ret = ctl_json_strings(ctx, o, "search_domains", CTL_MAX_SEARCH_DOMAINS,
				       CTL_TEXT_DNSNAME, CTL_DNSNAME_MAX, &d->search_domains,
				       &d->nsearch_domains);
	if (!ret)
		ret = ctl_json_array(ctx, o, "extra_records", false, CTL_MAX_RECORDS, &arr, &count);
	if (ret || !arr)
		return ret;
	d->records = alloc_array(count, sizeof(*d->records));
	if (!d->records)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		mark = ctl_json_push(ctx, "extra_records", (long)i);
		ret = record_decode(ctx, e, &d->records[i]);
		ctl_json_pop(ctx, mark);
		d->nrecords = ++i;
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- packet filter ---- */

void ctl_filter_rule_encode(int *err, cJSON *o, const struct ctl_filter_rule *r)
{
	cJSON *dst, *protos;
	char text[IP_PREFIX_STRLEN];
	size_t i;

	if (!r->nsrc || !r->ndst)
		*err = *err ? *err : -EINVAL;
	ctl_json_put_prefixes(err, o, "src", r->src, r->nsrc, CTL_MAX_RULE_PREFIXES, true);
	dst = ctl_json_put_array(err, o, "dst", r->ndst, CTL_MAX_RULE_PREFIXES);
	for (i = 0; dst && !*err && i < r->ndst; i++) {
		const struct ctl_filter_dst *d = &r->dst[i];
		cJSON *dobj = ctl_json_push_object(err, dst), *ports;

		if (!ip_addr_bits(&d->prefix.addr) || !ip_prefix_is_canonical(&d->prefix) ||
		    d->port_first > d->port_last) {
			*err = -EINVAL;
			return;
		}
		ctl_json_put_string(err, dobj, "prefix",
				    ip_prefix_format(&d->prefix, text, sizeof(text)),
				    CTL_TEXT_PRINTABLE, sizeof(text));
		ports = ctl_json_put_object(err, dobj, "ports");
		ctl_json_put_uint(err, ports, "first", d->port_first);
		ctl_json_put_uint(err, ports, "last", d->port_last);
	}
	if (!r->nprotos)
		return;
	protos = ctl_json_put_array(err, o, "protos", r->nprotos, CTL_MAX_PROTOS);
	for (i = 0; protos && !*err && i < r->nprotos; i++)
		ctl_json_push_uint(err, protos, r->protos[i]);
}

static int dst_decode(struct ctl_json_ctx *ctx, const cJSON *o, struct ctl_filter_dst *d)
{
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(o, "ports");
	const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(o, "prefix");
	uint64_t first = 0, last = 0;
	const char *why = NULL;
	size_t mark;
	int ret = ctl_json_object(ctx, o, NULL);

	if (ret)
		return ret;
	if (!cJSON_IsString(prefix))
		return ctl_json_fail(ctx, "prefix", "missing or not a string");
	if (ip_prefix_parse(&d->prefix, prefix->valuestring, &why))
		return ctl_json_fail(ctx, "prefix", "bad prefix: %s", why);
	if (!ip_prefix_is_canonical(&d->prefix))
		return ctl_json_fail(ctx, "prefix", "host bits set");
	if (!ports || cJSON_IsNull(ports))
		return ctl_json_fail(ctx, "ports", "missing");
	mark = ctl_json_push(ctx, "ports", -1);
	ret = ctl_json_object(ctx, ports, NULL);
	if (!ret)
		ret = ctl_json_uint(ctx, ports, "first", true, 0, UINT16_MAX, &first, NULL);
	if (!ret)
		ret = ctl_json_uint(ctx, ports, "last", true, 0, UINT16_MAX, &last, NULL);
	if (!ret && first > last)
		ret = ctl_json_fail(ctx, NULL, "first > last");
	ctl_json_pop(ctx, mark);
	d->port_first = (uint16_t)first;
	d->port_last = (uint16_t)last;
	return ret;
}

int ctl_filter_rule_decode(struct ctl_json_ctx *ctx, const cJSON *o, struct ctl_filter_rule *r)
{
	const cJSON *arr, *e;
	size_t count, i = 0, mark;
	uint64_t proto;
	int ret = ctl_json_object(ctx, o, NULL);

	if (!ret)
		ret = ctl_json_prefixes(ctx, o, "src", true, true, CTL_MAX_RULE_PREFIXES, &r->src,
					&r->nsrc);
	if (!ret && !r->nsrc)
		ret = ctl_json_fail(ctx, "src", "empty");
	if (!ret)
		ret = ctl_json_array(ctx, o, "dst", true, CTL_MAX_RULE_PREFIXES, &arr, &count);
	if (!ret && !count)
		ret = ctl_json_fail(ctx, "dst", "empty");
	if (ret)
		return ret;
	r->dst = alloc_array(count, sizeof(*r->dst));
	if (!r->dst)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		mark = ctl_json_push(ctx, "dst", (long)i);
		ret = dst_decode(ctx, e, &r->dst[i]);
		ctl_json_pop(ctx, mark);
		r->ndst = ++i;
		if (ret)
			return ret;
	}
	ret = ctl_json_array(ctx, o, "protos", false, CTL_MAX_PROTOS, &arr, &count);
	if (ret || !arr)
		return ret;
	r->protos = alloc_array(count, sizeof(*r->protos));
	if (!r->protos)
		return -ENOMEM;
	i = 0;
	cJSON_ArrayForEach(e, arr)
	{
		mark = ctl_json_push(ctx, "protos", (long)i);
		ret = ctl_json_uint_value(ctx, e, 0, 255, &proto);
		ctl_json_pop(ctx, mark);
		if (ret)
			return ret;
		r->protos[i++] = (uint8_t)proto;
		r->nprotos = i;
	}
	return 0;
}

void ctl_filter_rule_free(struct ctl_filter_rule *r)
{
	free(r->src);
	free(r->dst);
	free(r->protos);
	memset(r, 0, sizeof(*r));
}
