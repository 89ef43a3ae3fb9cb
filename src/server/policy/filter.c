// SPDX-License-Identifier: MIT
/*
 * Compiled filters as data: freeing them, matching a packet against them the
 * way the data plane does (the reference for src/filter/), and writing them as
 * Tailscale's FilterRule JSON for the netmap.
 */
#include <stdlib.h>
#include <string.h>

#include "server/policy/internal.h"
#include "server/policy/ipset.h"

void policy_filter_free(struct policy_filter *f)
{
	for (size_t i = 0; i < f->n_rules && f->rules; i++) {
		free(f->rules[i].srcs);
		free(f->rules[i].dsts);
	}
	free(f->rules);
	memset(f, 0, sizeof(*f));
}

static bool has_proto(const struct policy_rule *r, uint8_t proto)
{
	return memchr(r->protos, proto, r->n_protos) != NULL;
}

/* @r->srcs is sorted and merged, so a binary search finds the one range that may hold @a. */
static bool src_matches(const struct policy_rule *r, const struct ip_addr *a)
{
	size_t lo = 0, hi = r->n_srcs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ip_addr_compare(&r->srcs[mid].first, a) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && policy_range_contains(&r->srcs[lo - 1], a);
}

bool policy_filter_match(const struct policy_filter *f, const struct ip_addr *src,
			 const struct ip_addr *dst, uint8_t proto, uint16_t port)
{
	bool ports = policy_proto_has_ports(proto);

	for (size_t i = 0; i < f->n_rules; i++) {
		const struct policy_rule *r = &f->rules[i];

		if (!has_proto(r, proto) || !src_matches(r, src))
			continue;
		for (size_t k = 0; k < r->n_dsts; k++) {
			const struct policy_dst *d = &r->dsts[k];

			if (!d->any && !policy_range_contains(&d->range, dst))
				continue;
			if (!ports || (port >= d->port_first && port <= d->port_last))
				return true;
		}
	}
	return false;
}

static cJSON *rule_to_json(const struct policy_rule *r)
{
	cJSON *o = cJSON_CreateObject(), *srcs, *dsts, *protos;
	char buf[POLICY_RANGE_STRLEN];

	if (!o)
		return NULL;
	srcs = cJSON_AddArrayToObject(o, "SrcIPs");
	dsts = cJSON_AddArrayToObject(o, "DstPorts");
	protos = cJSON_AddArrayToObject(o, "IPProto");
	if (!srcs || !dsts || !protos)
		goto err_delete;
	for (size_t i = 0; i < r->n_srcs; i++) {
		if (!cJSON_AddItemToArray(srcs, cJSON_CreateString(policy_range_format(
							&r->srcs[i], buf, sizeof(buf)))))
			goto err_delete;
	}
	for (size_t i = 0; i < r->n_dsts; i++) {
		const struct policy_dst *d = &r->dsts[i];
		cJSON *e = cJSON_CreateObject(), *ports;

		if (!e)
			goto err_delete;
		if (!cJSON_AddItemToArray(dsts, e)) {
			cJSON_Delete(e);
			goto err_delete;
		}
		if (!cJSON_AddStringToObject(
			    e, "IP",
			    d->any ? "*" : policy_range_format(&d->range, buf, sizeof(buf))))
			goto err_delete;
		ports = cJSON_AddObjectToObject(e, "Ports");
		if (!ports || !cJSON_AddNumberToObject(ports, "First", d->port_first) ||
		    !cJSON_AddNumberToObject(ports, "Last", d->port_last))
			goto err_delete;
	}
	for (size_t i = 0; i < r->n_protos; i++) {
		if (!cJSON_AddItemToArray(protos, cJSON_CreateNumber(r->protos[i])))
			goto err_delete;
	}
	return o;

err_delete:
	cJSON_Delete(o);
	return NULL;
}

cJSON *policy_filter_to_json(const struct policy_filter *f)
{
	cJSON *a = cJSON_CreateArray();

	if (!a)
		return NULL;
	for (size_t i = 0; i < f->n_rules; i++) {
		cJSON *r = rule_to_json(&f->rules[i]);

		if (!r || !cJSON_AddItemToArray(a, r)) {
			cJSON_Delete(r);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}
