// SPDX-License-Identifier: MIT
/*
 * The router facade: validates a desired state, plans the difference to what
 * it applied last (router_set.c), and carries the plan out through netlink,
 * nftables and sysctl, recording exactly what succeeded so that the next
 * apply retries the rest.
 */
#include "router/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "router/router_sysctl.h"
#include "util/log.h"

enum router_limits {
	MAX_RULES = 8, /* four per family */
};

static const char *const comp = "router";

int router_ids_init(struct router_ids *ids, const char *ifname)
{
	size_t n;

	memset(ids, 0, sizeof(*ids));
	n = ifname ? strnlen(ifname, IFNAMSIZ) : 0;
	if (n == 0 || n >= IFNAMSIZ)
		return -EINVAL;
	memcpy(ids->ifname, ifname, n);
	ids->table = ROUTER_TABLE;
	ids->rule_priority = ROUTER_RULE_PRIORITY;
	ids->bypass_mark = ROUTER_FWMARK_BYPASS;
	ids->fwmark_mask = ROUTER_FWMARK_MASK;
	if (ip_prefix_parse(&ids->mesh_v4, "100.64.0.0/10", NULL) ||
	    ip_prefix_parse(&ids->mesh_v6, "fd7a:115c:a1e0::/48", NULL))
		return -EINVAL;
	return 0;
}

static bool prefix_valid(const struct ip_prefix *p, bool unset_ok)
{
	if (p->addr.family == IP_FAMILY_UNSET)
		return unset_ok;
	if (p->addr.family != IP_FAMILY_V4 && p->addr.family != IP_FAMILY_V6)
		return false;
	return p->bits <= ip_addr_bits(&p->addr);
}

static bool ids_valid(const struct router_ids *ids)
{
	size_t n = strnlen(ids->ifname, IFNAMSIZ);

	if (n == 0 || n >= IFNAMSIZ)
		return false;
	if (ids->table == 0 || ids->table == ROUTER_TABLE_MAIN ||
	    ids->table == ROUTER_TABLE_DEFAULT || ids->table == ROUTER_TABLE_LOCAL)
		return false;
	if (ids->rule_priority == 0 || ids->rule_priority > UINT32_MAX - ROUTER_RULE_SPAN)
		return false;
	if (!ids->bypass_mark || (ids->bypass_mark & ~ids->fwmark_mask))
		return false;
	if (ids->mesh_v4.addr.family && ids->mesh_v4.addr.family != IP_FAMILY_V4)
		return false;
	if (ids->mesh_v6.addr.family && ids->mesh_v6.addr.family != IP_FAMILY_V6)
		return false;
	return prefix_valid(&ids->mesh_v4, true) && prefix_valid(&ids->mesh_v6, true);
}

int router_open(struct router *r, const struct router_ids *ids)
{
	memset(r, 0, sizeof(*r));
	if (!ids_valid(ids))
		return -EINVAL;
	r->ids = *ids;
	return router_nl_open(&r->nl);
}

void router_close(struct router *r)
{
	router_nl_close(&r->nl);
	router_set_free(&r->addrs);
	router_set_free(&r->routes);
}

/* Logs a failed kernel request once, with the kernel's own reason when it gave one. */
static void log_failure(const struct router *r, int err, const char *what,
			const struct ip_prefix *p)
{
	char buf[IP_PREFIX_STRLEN] = "";
	const char *why = router_nl_error(&r->nl);

	if (p)
		ip_prefix_format(p, buf, sizeof(buf));
	log_error(comp, "%s%s%s failed: %s%s%s%s dev=%s table=%u", what, p ? " " : "", buf,
		  strerror(-err), why[0] ? " (kernel: " : "", why, why[0] ? ")" : "", r->ids.ifname,
		  r->ids.table);
}

static void keep_first(int *first, int err)
{
	if (err < 0 && !*first)
		*first = err;
}

/* Our rules, in the order they are added: four per family the ids have a prefix for. */
static size_t build_rules(const struct router_ids *ids, struct router_rule *out)
{
	static const uint8_t families[] = {IP_FAMILY_V4, IP_FAMILY_V6};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(families); i++) {
		uint8_t fam = families[i];
		const struct router_rule base = {
			.family = fam,
			.fwmark = ids->bypass_mark,
			.fwmask = ids->fwmark_mask,
		};

		if ((fam == IP_FAMILY_V4 ? ids->mesh_v4 : ids->mesh_v6).addr.family != fam)
			continue;
		out[n] = base;
		out[n].priority = ids->rule_priority + ROUTER_RULE_BYPASS_MAIN;
		out[n++].table = ROUTER_TABLE_MAIN;
		out[n] = base;
		out[n].priority = ids->rule_priority + ROUTER_RULE_BYPASS_DEFAULT;
		out[n++].table = ROUTER_TABLE_DEFAULT;
		out[n] = base;
		out[n].priority = ids->rule_priority + ROUTER_RULE_BYPASS_UNREACHABLE;
		out[n++].action = ROUTER_RULE_UNREACHABLE;
		out[n] = (struct router_rule){
			.family = fam,
			.priority = ids->rule_priority + ROUTER_RULE_MESH_TABLE,
			.table = ids->table,
		};
		n++;
	}
	return n;
}

static int want_sets(const struct router_config *cfg, struct router_set *addrs,
		     struct router_set *routes)
{
	size_t n_routes = cfg->n_routes + cfg->n_local_routes, i, k = 0;
	struct router_entry *e;
	int ret;

	e = calloc(cfg->n_addrs > n_routes ? cfg->n_addrs : n_routes, sizeof(*e));
	if (!e && (cfg->n_addrs || n_routes))
		return -ENOMEM;
	for (i = 0; i < cfg->n_addrs; i++)
		e[i] = (struct router_entry){.dst = cfg->addrs[i]};
	ret = router_set_assign(addrs, e, cfg->n_addrs);
	if (ret)
		goto out;
	for (i = 0; i < cfg->n_routes; i++)
		e[k++] = (struct router_entry){.dst = cfg->routes[i], .type = ROUTER_ROUTE_UNICAST};
	for (i = 0; i < cfg->n_local_routes; i++)
		e[k++] = (struct router_entry){.dst = cfg->local_routes[i],
					       .type = ROUTER_ROUTE_THROW};
	for (i = 0; i < k; i++)
		ip_prefix_mask(&e[i].dst);
	ret = router_set_assign(routes, e, k);
out:
	free(e);
	return ret;
}

static bool config_valid(const struct router_config *cfg)
{
	size_t i;

	if ((cfg->n_addrs && !cfg->addrs) || (cfg->n_routes && !cfg->routes) ||
	    (cfg->n_local_routes && !cfg->local_routes))
		return false;
	for (i = 0; i < cfg->n_addrs; i++)
		if (!prefix_valid(&cfg->addrs[i], false))
			return false;
	for (i = 0; i < cfg->n_routes; i++)
		if (!prefix_valid(&cfg->routes[i], false))
			return false;
	for (i = 0; i < cfg->n_local_routes; i++)
		if (!prefix_valid(&cfg->local_routes[i], false))
			return false;
	return true;
}

/* Carries out the plan from r->addrs to @want, recording each success. */
static int apply_addrs(struct router *r, int ifindex, const struct router_set *want,
		       unsigned int *changes)
{
	struct router_action *plan;
	size_t n, i;
	int ret, first = 0;

	plan = calloc(r->addrs.n + want->n + 1, sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	n = router_set_plan(&r->addrs, want, plan);
	for (i = 0; i < n; i++) {
		const struct router_entry *e = &plan[i].e;
		bool add = plan[i].op == ROUTER_ACTION_ADD;

		ret = add ? router_nl_addr_add(&r->nl, ifindex, &e->dst)
			  : router_nl_addr_del(&r->nl, ifindex, &e->dst);
		if (ret) {
			log_failure(r, ret, add ? "address add" : "address del", &e->dst);
			keep_first(&first, ret);
			continue;
		}
		ret = add ? router_set_put(&r->addrs, e)
			  : (router_set_remove(&r->addrs, &e->dst), 0);
		keep_first(&first, ret);
		(*changes)++;
	}
	free(plan);
	return first;
}

static void route_of(const struct router *r, int ifindex, const struct router_entry *e,
		     struct router_route *out)
{
	*out = (struct router_route){
		.table = r->ids.table,
		.dst = e->dst,
		.type = e->type,
		.ifindex = e->type == ROUTER_ROUTE_UNICAST ? ifindex : 0,
	};
}

static int apply_routes(struct router *r, int ifindex, const struct router_set *want,
			unsigned int *changes)
{
	struct router_action *plan;
	struct router_route rt;
	size_t n, i;
	int ret, first = 0;

	plan = calloc(r->routes.n + want->n + 1, sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	n = router_set_plan(&r->routes, want, plan);
	for (i = 0; i < n; i++) {
		const struct router_entry *e = &plan[i].e;
		bool add = plan[i].op == ROUTER_ACTION_ADD;

		route_of(r, ifindex, e, &rt);
		ret = add ? router_nl_route_add(&r->nl, &rt) : router_nl_route_del(&r->nl, &rt);
		if (ret) {
			log_failure(r, ret, add ? "route add" : "route del", &e->dst);
			keep_first(&first, ret);
			continue;
		}
		ret = add ? router_set_put(&r->routes, e)
			  : (router_set_remove(&r->routes, &e->dst), 0);
		keep_first(&first, ret);
		(*changes)++;
	}
	free(plan);
	return first;
}

static int apply_rules(struct router *r, unsigned int *changes)
{
	struct router_rule rules[MAX_RULES];
	size_t n = build_rules(&r->ids, rules);
	int ret, first = 0;

	for (size_t i = 0; i < n; i++) {
		ret = router_nl_rule_add(&r->nl, &rules[i]);
		if (ret) {
			const char *why = router_nl_error(&r->nl);

			log_error(comp, "rule add failed: %s%s%s%s priority=%u family=ipv%u",
				  strerror(-ret), why[0] ? " (kernel: " : "", why,
				  why[0] ? ")" : "", rules[i].priority, rules[i].family);
			keep_first(&first, ret);
			continue;
		}
		(*changes)++;
	}
	r->rules = !first;
	return first;
}

static int apply_forwarding(struct router *r, unsigned int *changes)
{
	bool v4 = false, v6 = false;
	int ret;

	ret = router_sysctl_forwarding(IP_FAMILY_V4, &v4);
	if (!ret && router_sysctl_forwarding(IP_FAMILY_V6, &v6) == -EAFNOSUPPORT)
		v6 = true; /* no IPv6 in this kernel: nothing to forward */
	if (!ret)
		ret = router_sysctl_enable_forwarding(!v4, !v6);
	if (ret) {
		log_error(comp, "enabling IP forwarding failed: %s", strerror(-ret));
		return ret;
	}
	if (!v4 || !v6) {
		log_info(comp, "IP forwarding on ipv4=1 ipv6=1");
		(*changes)++;
	}
	r->forwarding = true;
	return 0;
}

static bool nft_equal(const struct router_nft_config *a, const struct router_nft_config *b)
{
	return !strcmp(a->ifname, b->ifname) && a->snat == b->snat &&
	       ip_prefix_equal(&a->mesh_v4, &b->mesh_v4) &&
	       ip_prefix_equal(&a->mesh_v6, &b->mesh_v6);
}

static int apply_firewall(struct router *r, const struct router_config *cfg, unsigned int *changes)
{
	struct router_nft_config want = {.snat = cfg->snat};
	char err[ROUTER_NFT_ERRLEN];
	int ret;

	if (!cfg->firewall) {
		if (!r->firewall)
			return 0;
		ret = router_nft_cleanup(err, sizeof(err));
		if (ret) {
			log_error(comp, "nftables table removal failed: %s (%s)", strerror(-ret),
				  err);
			return ret;
		}
		r->firewall = false;
		(*changes)++;
		return 0;
	}
	memcpy(want.ifname, r->ids.ifname, sizeof(want.ifname));
	want.mesh_v4 = r->ids.mesh_v4;
	want.mesh_v6 = r->ids.mesh_v6;
	if (r->firewall && nft_equal(&r->nft, &want))
		return 0;
	ret = router_nft_apply(&want, err, sizeof(err));
	if (ret) {
		log_error(comp, "nftables table " ROUTER_NFT_TABLE " failed: %s (%s)",
			  strerror(-ret), err);
		return ret;
	}
	r->firewall = true;
	r->nft = want;
	(*changes)++;
	return 0;
}

/* After the interface was recreated, its routes are gone; throw routes do not depend on it. */
static void forget_interface(struct router *r)
{
	size_t i, k = 0;

	router_set_clear(&r->addrs);
	for (i = 0; i < r->routes.n; i++)
		if (r->routes.e[i].type != ROUTER_ROUTE_UNICAST)
			r->routes.e[k++] = r->routes.e[i];
	r->routes.n = k;
}

int router_apply(struct router *r, const struct router_config *cfg)
{
	struct router_set want_addrs = {0}, want_routes = {0};
	struct router_link link;
	unsigned int changes = 0;
	int ret, first = 0;

	if (!cfg || !config_valid(cfg))
		return -EINVAL;
	ret = want_sets(cfg, &want_addrs, &want_routes);
	if (ret)
		goto out;
	ret = router_nl_link_get(&r->nl, r->ids.ifname, &link);
	if (ret < 0) {
		log_failure(r, ret, "interface lookup", NULL);
		goto out;
	}
	if (r->ifindex && link.ifindex != r->ifindex)
		forget_interface(r);
	r->ifindex = link.ifindex;

	if (!link.up) {
		ret = router_nl_link_set_up(&r->nl, link.ifindex, true);
		if (ret)
			log_failure(r, ret, "interface up", NULL);
		else
			changes++;
		keep_first(&first, ret);
	}
	if (cfg->mtu && cfg->mtu != link.mtu) {
		ret = router_nl_link_set_mtu(&r->nl, link.ifindex, cfg->mtu);
		if (ret)
			log_failure(r, ret, "interface mtu", NULL);
		else
			changes++;
		keep_first(&first, ret);
	}
	keep_first(&first, apply_addrs(r, link.ifindex, &want_addrs, &changes));
	keep_first(&first, apply_routes(r, link.ifindex, &want_routes, &changes));
	if (!r->rules)
		keep_first(&first, apply_rules(r, &changes));
	if (cfg->forwarding && !r->forwarding)
		keep_first(&first, apply_forwarding(r, &changes));
	else if (!cfg->forwarding)
		r->forwarding = false; /* never turned off; checked again when asked for */
	keep_first(&first, apply_firewall(r, cfg, &changes));

	r->stats.changes = changes;
	if (changes)
		log_info(comp, "applied changes=%u dev=%s addrs=%zu routes=%zu firewall=%s snat=%s",
			 changes, r->ids.ifname, r->addrs.n, r->routes.n,
			 r->firewall ? "on" : "off", r->firewall && r->nft.snat ? "on" : "off");
	ret = first ? first : (int)changes;
out:
	router_set_free(&want_addrs);
	router_set_free(&want_routes);
	return ret;
}

static bool ours_addr(const struct router *r, const struct ip_prefix *p)
{
	return (r->ids.mesh_v4.addr.family && ip_prefix_contains(&r->ids.mesh_v4, &p->addr)) ||
	       (r->ids.mesh_v6.addr.family && ip_prefix_contains(&r->ids.mesh_v6, &p->addr)) ||
	       router_set_find(&r->addrs, p);
}

static int cleanup_addrs(struct router *r, int ifindex, unsigned int *changes)
{
	struct ip_prefix *list = NULL;
	int n, ret = 0, first = 0;

	n = router_nl_addr_list(&r->nl, ifindex, NULL, 0);
	if (n > 0) {
		list = calloc((size_t)n, sizeof(*list));
		if (!list)
			return -ENOMEM;
		ret = router_nl_addr_list(&r->nl, ifindex, list, (size_t)n);
		if (ret >= 0 && ret < n)
			n = ret; /* some went away meanwhile */
	}
	if (n < 0 || ret < 0) {
		ret = n < 0 ? n : ret;
		log_failure(r, ret, "address list", NULL);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		if (!ours_addr(r, &list[i]))
			continue;
		ret = router_nl_addr_del(&r->nl, ifindex, &list[i]);
		if (ret)
			log_failure(r, ret, "address del", &list[i]);
		else
			(*changes)++;
		keep_first(&first, ret);
	}
	ret = first;
out:
	free(list);
	return ret;
}

int router_cleanup(struct router *r)
{
	unsigned int changes = 0;
	char err[ROUTER_NFT_ERRLEN];
	int ret, first = 0, ifindex;

	ret = router_nl_rule_flush(&r->nl, r->ids.rule_priority,
				   r->ids.rule_priority + ROUTER_RULE_SPAN - 1);
	if (ret < 0)
		log_failure(r, ret, "rule flush", NULL);
	else
		changes += (unsigned int)ret;
	keep_first(&first, ret);

	ret = router_nl_route_flush_table(&r->nl, r->ids.table);
	if (ret < 0)
		log_failure(r, ret, "route flush", NULL);
	else
		changes += (unsigned int)ret;
	keep_first(&first, ret);

	ifindex = router_nl_link_index(&r->nl, r->ids.ifname);
	if (ifindex > 0)
		keep_first(&first, cleanup_addrs(r, ifindex, &changes));
	else if (ifindex != -ENODEV)
		log_failure(r, ifindex, "interface lookup", NULL);
	if (ifindex != -ENODEV)
		keep_first(&first, ifindex);

	ret = router_nft_cleanup(err, sizeof(err));
	if (ret)
		log_error(comp, "nftables table removal failed: %s (%s)", strerror(-ret), err);
	keep_first(&first, ret);

	router_set_clear(&r->addrs);
	router_set_clear(&r->routes);
	r->ifindex = 0;
	r->rules = false;
	r->firewall = false;
	r->forwarding = false;
	r->stats.changes = changes;
	if (changes)
		log_info(comp, "cleaned up changes=%u dev=%s table=%u", changes, r->ids.ifname,
			 r->ids.table);
	return first;
}
