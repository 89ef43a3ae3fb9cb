// SPDX-License-Identifier: MIT
/*
 * Compiling filter rules into the index described in ruleset.h. Compilation
 * sorts flat arrays and cuts them into runs; lookups only hash and compare.
 */
#include "filter/ruleset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter/ippkt.h"
#include "filter/pfxmap.h"

enum {
	FAMILIES = 2,	     /* index 0: IPv4, 1: IPv6 */
	MAX_LENS = 129,	     /* prefix lengths /0 to /128 */
	SRC_TAG = 0,	     /* the source map's keys; destination keys use section + 1 */
	MAX_ITEMS = 1 << 26, /* source prefixes or destination entries, after expansion */
};

static const uint8_t default_protos[RULESET_DEFAULT_PROTOS] = {
	IPPKT_PROTO_TCP,
	IPPKT_PROTO_UDP,
	IPPKT_PROTO_ICMP,
	IPPKT_PROTO_ICMPV6,
};

struct port_range {
	uint16_t first;
	uint16_t last;
};

/* The destinations of one group for one protocol and family. */
struct section {
	uint8_t proto;
	uint8_t family;
	uint8_t nlens;
	uint32_t lens_off; /* the destination prefix lengths in use, in ruleset.lens */
};

struct group {
	uint32_t sec_off; /* sections sorted by (proto, family) */
	uint32_t nsec;
};

struct ruleset {
	struct pfxmap src; /* source prefix → groups, in group_ids */
	struct pfxmap dst; /* (section + 1, destination prefix) → port ranges, in ports */
	uint8_t src_lens[FAMILIES][MAX_LENS];
	uint8_t nsrc_lens[FAMILIES];
	uint32_t *group_ids;
	struct group *groups;
	size_t ngroups;
	struct section *sections;
	uint8_t *lens;
	struct port_range *ports;
};

/* A rule's source prefixes, masked, sorted and without duplicates. */
struct src_list {
	struct pfx_key *keys;
	size_t n;
	size_t rule;
};

/* One (group, protocol, destination prefix, port range) of the expanded rules. */
struct entry {
	uint32_t group;
	uint8_t proto;
	uint8_t pad[3];
	struct pfx_key dst; /* tag unused here */
	struct port_range ports;
};

/* A source prefix of a group. */
struct src_pair {
	struct pfx_key key;
	uint32_t group;
};

static int family_index(uint8_t family)
{
	return family == IP_FAMILY_V4 ? 0 : family == IP_FAMILY_V6 ? 1 : -1;
}

static bool prefix_valid(const struct ip_prefix *p)
{
	return family_index(p->addr.family) >= 0 && p->bits <= ip_addr_bits(&p->addr);
}

static int src_list_compare(const void *a, const void *b)
{
	const struct src_list *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	for (size_t i = 0; i < x->n; i++) {
		int c = pfx_key_compare(&x->keys[i], &y->keys[i]);

		if (c)
			return c;
	}
	return 0;
}

static int entry_compare(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	c = pfx_key_compare(&x->dst, &y->dst);
	if (c)
		return c;
	return x->ports.first < y->ports.first ? -1 : x->ports.first > y->ports.first;
}

static int src_pair_compare(const void *a, const void *b)
{
	const struct src_pair *x = a, *y = b;
	int c = pfx_key_compare(&x->key, &y->key);

	if (c)
		return c;
	return x->group < y->group ? -1 : x->group > y->group;
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	pfxmap_free(&rs->src);
	pfxmap_free(&rs->dst);
	free(rs->group_ids);
	free(rs->groups);
	free(rs->sections);
	free(rs->lens);
	free(rs->ports);
	free(rs);
}

/* Canonical source lists of the rules that have any, sorted so that equal lists are adjacent. */
static int make_src_lists(const struct ctl_filter_rule *rules, size_t n, struct src_list *lists,
			  size_t *nlists)
{
	size_t total = 0;

	*nlists = 0;
	for (size_t r = 0; r < n; r++) {
		struct src_list *l = &lists[*nlists];

		if (!rules[r].nsrc || !rules[r].ndst)
			continue;
		total += rules[r].nsrc;
		if (total > MAX_ITEMS)
			return -ENOMEM;
		l->keys = malloc(rules[r].nsrc * sizeof(*l->keys));
		if (!l->keys)
			return -ENOMEM;
		l->rule = r;
		(*nlists)++;
		for (size_t i = 0; i < rules[r].nsrc; i++) {
			if (!prefix_valid(&rules[r].src[i]))
				return -EINVAL;
			pfx_key_set(&l->keys[i], SRC_TAG, &rules[r].src[i].addr,
				    rules[r].src[i].bits);
		}
		qsort(l->keys, rules[r].nsrc, sizeof(*l->keys), pfx_key_compare);
		l->n = 0;
		for (size_t i = 0; i < rules[r].nsrc; i++) {
			if (!l->n || pfx_key_compare(&l->keys[l->n - 1], &l->keys[i]))
				l->keys[l->n++] = l->keys[i];
		}
	}
	qsort(lists, *nlists, sizeof(*lists), src_list_compare);
	return 0;
}

/* The destinations of every rule, one entry per (protocol, prefix), tagged with the rule's group. */
static int expand_entries(const struct ctl_filter_rule *rules, const struct src_list *lists,
			  size_t nlists, const uint32_t *group_of, struct entry **out, size_t *nout)
{
	size_t total = 0, k = 0;
	struct entry *e;

	for (size_t i = 0; i < nlists; i++) {
		const struct ctl_filter_rule *r = &rules[lists[i].rule];

		total += (r->nprotos ? r->nprotos : RULESET_DEFAULT_PROTOS) * r->ndst;
		if (total > MAX_ITEMS)
			return -ENOMEM;
	}
	e = malloc((total ? total : 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < nlists; i++) {
		const struct ctl_filter_rule *r = &rules[lists[i].rule];
		const uint8_t *protos = r->nprotos ? r->protos : default_protos;
		size_t nprotos = r->nprotos ? r->nprotos : RULESET_DEFAULT_PROTOS;

		for (size_t d = 0; d < r->ndst; d++) {
			const struct ctl_filter_dst *dst = &r->dst[d];

			if (!prefix_valid(&dst->prefix) || dst->port_first > dst->port_last) {
				free(e);
				return -EINVAL;
			}
			for (size_t p = 0; p < nprotos; p++) {
				struct entry *x = &e[k++];

				memset(x, 0, sizeof(*x));
				x->group = group_of[i];
				x->proto = protos[p];
				pfx_key_set(&x->dst, 0, &dst->prefix.addr, dst->prefix.bits);
				/* Ports mean nothing to other protocols: every one matches. */
				x->ports.first =
					ippkt_proto_has_ports(x->proto) ? dst->port_first : 0;
				x->ports.last = ippkt_proto_has_ports(x->proto) ? dst->port_last
										: UINT16_MAX;
			}
		}
	}
	qsort(e, k, sizeof(*e), entry_compare);
	*out = e;
	*nout = k;
	return 0;
}

/*
 * Cut the sorted entries into sections (group, protocol, family) and, inside
 * each, destination prefixes with merged port ranges; build the destination map.
 */
static int build_dst(struct ruleset *rs, const struct entry *e, size_t n)
{
	struct pfx_key *keys = NULL;
	struct pfx_span *spans = NULL;
	size_t nsec = 0, nkeys = 0, nports = 0, nlens = 0;
	int ret = -ENOMEM;

	/* Every count below is at most n, so arrays of n (or 1) elements hold them. */
	rs->sections = malloc((n ? n : 1) * sizeof(*rs->sections));
	rs->lens = malloc(n ? n : 1);
	rs->ports = malloc((n ? n : 1) * sizeof(*rs->ports));
	keys = malloc((n ? n : 1) * sizeof(*keys));
	spans = malloc((n ? n : 1) * sizeof(*spans));
	if (!rs->sections || !rs->lens || !rs->ports || !keys || !spans)
		goto out_free;
	for (size_t i = 0; i < n;) {
		struct section *s = &rs->sections[nsec];
		struct group *g = &rs->groups[e[i].group];
		size_t j = i;

		if (!g->nsec)
			g->sec_off = (uint32_t)nsec;
		g->nsec++;
		s->proto = e[i].proto;
		s->family = e[i].dst.family;
		s->lens_off = (uint32_t)nlens;
		s->nlens = 0;
		nsec++;
		/* The prefixes of this section, each with its ranges merged. */
		while (j < n && e[j].group == e[i].group && e[j].proto == e[i].proto &&
		       e[j].dst.family == e[i].dst.family) {
			size_t k = j;

			keys[nkeys] = e[j].dst;
			keys[nkeys].tag = (uint32_t)nsec; /* section index + 1 */
			spans[nkeys].off = (uint32_t)nports;
			if (!s->nlens || rs->lens[nlens - 1] != e[j].dst.bits) {
				rs->lens[nlens++] = e[j].dst.bits;
				s->nlens++;
			}
			/* Sorted by first port: extend the last range or start one. */
			for (; k < n && e[k].group == e[j].group && e[k].proto == e[j].proto &&
			       !pfx_key_compare(&e[k].dst, &e[j].dst);
			     k++) {
				struct port_range *last =
					nports > spans[nkeys].off ? &rs->ports[nports - 1] : NULL;

				if (last &&
				    (uint32_t)e[k].ports.first <= (uint32_t)last->last + 1) {
					if (e[k].ports.last > last->last)
						last->last = e[k].ports.last;
				} else {
					rs->ports[nports++] = e[k].ports;
				}
			}
			spans[nkeys].n = (uint32_t)(nports - spans[nkeys].off);
			nkeys++;
			j = k;
		}
		i = j;
	}
	ret = pfxmap_build(&rs->dst, keys, spans, nkeys);
out_free:
	free(keys);
	free(spans);
	return ret;
}

/* The source map: each distinct source prefix → the groups that list it. */
static int build_src(struct ruleset *rs, const struct src_list *lists, size_t nlists,
		     const uint32_t *group_of)
{
	struct src_pair *pairs = NULL;
	struct pfx_key *keys = NULL;
	struct pfx_span *spans = NULL;
	bool lens[FAMILIES][MAX_LENS] = {{false}};
	size_t total = 0, np = 0, nkeys = 0;
	int ret = -ENOMEM;

	/* One list per group: lists of one group are equal and adjacent. */
	for (size_t i = 0; i < nlists; i++) {
		if (!i || group_of[i] != group_of[i - 1])
			total += lists[i].n;
	}
	pairs = malloc((total ? total : 1) * sizeof(*pairs));
	keys = malloc((total ? total : 1) * sizeof(*keys));
	spans = malloc((total ? total : 1) * sizeof(*spans));
	rs->group_ids = malloc((total ? total : 1) * sizeof(*rs->group_ids));
	if (!pairs || !keys || !spans || !rs->group_ids)
		goto out_free;
	for (size_t i = 0; i < nlists; i++) {
		if (i && group_of[i] == group_of[i - 1])
			continue;
		for (size_t k = 0; k < lists[i].n; k++) {
			pairs[np].key = lists[i].keys[k];
			pairs[np++].group = group_of[i];
		}
	}
	qsort(pairs, np, sizeof(*pairs), src_pair_compare);
	for (size_t i = 0; i < np; i++) {
		if (!i || pfx_key_compare(&pairs[i].key, &pairs[i - 1].key)) {
			keys[nkeys] = pairs[i].key;
			spans[nkeys].off = (uint32_t)i;
			spans[nkeys].n = 0;
			nkeys++;
			lens[family_index(pairs[i].key.family)][pairs[i].key.bits] = true;
		}
		spans[nkeys - 1].n++;
		rs->group_ids[i] = pairs[i].group;
	}
	/* Longest first: a peer's own address is the likeliest hit. */
	for (int f = 0; f < FAMILIES; f++) {
		for (int b = MAX_LENS - 1; b >= 0; b--) {
			if (lens[f][b])
				rs->src_lens[f][rs->nsrc_lens[f]++] = (uint8_t)b;
		}
	}
	ret = pfxmap_build(&rs->src, keys, spans, nkeys);
out_free:
	free(pairs);
	free(keys);
	free(spans);
	return ret;
}

int ruleset_compile(struct ruleset **out, const struct ctl_filter_rule *rules, size_t n)
{
	struct src_list *lists;
	uint32_t *group_of = NULL;
	struct entry *entries = NULL;
	size_t nlists = 0, nentries = 0;
	struct ruleset *rs;
	int ret = -ENOMEM;

	*out = NULL;
	rs = calloc(1, sizeof(*rs));
	lists = calloc(n ? n : 1, sizeof(*lists));
	if (!rs || !lists)
		goto out_free;
	ret = make_src_lists(rules, n, lists, &nlists);
	if (ret)
		goto out_free;
	ret = -ENOMEM;
	group_of = malloc((nlists ? nlists : 1) * sizeof(*group_of));
	if (!group_of)
		goto out_free;
	for (size_t i = 0; i < nlists; i++) {
		if (i && src_list_compare(&lists[i], &lists[i - 1]))
			rs->ngroups++;
		group_of[i] = (uint32_t)rs->ngroups;
	}
	if (nlists)
		rs->ngroups++;
	rs->groups = calloc(rs->ngroups ? rs->ngroups : 1, sizeof(*rs->groups));
	if (!rs->groups)
		goto out_free;
	ret = expand_entries(rules, lists, nlists, group_of, &entries, &nentries);
	if (!ret)
		ret = build_dst(rs, entries, nentries);
	if (!ret)
		ret = build_src(rs, lists, nlists, group_of);
	if (!ret) {
		*out = rs;
		rs = NULL;
	}
out_free:
	for (size_t i = 0; lists && i < n; i++)
		free(lists[i].keys);
	free(lists);
	free(group_of);
	free(entries);
	ruleset_free(rs);
	return ret;
}

static const struct section *find_section(const struct ruleset *rs, uint32_t group, uint8_t proto,
					  uint8_t family)
{
	const struct group *g = &rs->groups[group];
	size_t lo = g->sec_off, hi = (size_t)g->sec_off + g->nsec;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct section *s = &rs->sections[mid];

		if (s->proto == proto && s->family == family)
			return s;
		if (s->proto < proto || (s->proto == proto && s->family < family))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool port_in(const struct port_range *r, uint32_t n, uint16_t port)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (port < r[mid].first)
			hi = mid;
		else if (port > r[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool section_match(const struct ruleset *rs, const struct section *s,
			  const struct ip_addr *dst, bool ports, uint16_t port)
{
	uint32_t tag = (uint32_t)(s - rs->sections) + 1;

	for (unsigned int i = 0; i < s->nlens; i++) {
		const struct pfx_span *sp;
		struct pfx_key k;

		pfx_key_set(&k, tag, dst, rs->lens[s->lens_off + i]);
		sp = pfxmap_find(&rs->dst, &k);
		if (sp && (!ports || port_in(&rs->ports[sp->off], sp->n, port)))
			return true;
	}
	return false;
}

bool ruleset_match(const struct ruleset *rs, const struct ip_addr *src, const struct ip_addr *dst,
		   uint8_t proto, uint16_t port)
{
	int f = family_index(src->family);
	bool ports = ippkt_proto_has_ports(proto);

	if (f < 0 || dst->family != src->family)
		return false;
	for (unsigned int i = 0; i < rs->nsrc_lens[f]; i++) {
		const struct pfx_span *sp;
		struct pfx_key k;

		pfx_key_set(&k, SRC_TAG, src, rs->src_lens[f][i]);
		sp = pfxmap_find(&rs->src, &k);
		for (uint32_t j = 0; sp && j < sp->n; j++) {
			const struct section *s =
				find_section(rs, rs->group_ids[sp->off + j], proto, src->family);

			if (s && section_match(rs, s, dst, ports, port))
				return true;
		}
	}
	return false;
}

size_t ruleset_groups(const struct ruleset *rs)
{
	return rs->ngroups;
}
