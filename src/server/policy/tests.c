// SPDX-License-Identifier: MIT
/*
 * Running the "tests" block. Each accept or deny entry is one assertion,
 * checked for every (source address, destination address) pair of one family:
 * "accept" holds when every pair is allowed, "deny" when none is.
 *
 * Stand-ins make a test mean the same with or without an inventory. A user or
 * tag with no node gets a phantom device with fresh tailnet addresses; a
 * destination IP nobody owns or routes gets a phantom receiver: its owner if
 * the IP is a tailnet address, an exit node if it is in autogroup:internet,
 * else a subnet router approved for exactly that IP. Phantom addresses are
 * taken from the top of the tailnet ranges, skipping any address the inventory
 * or the policy mentions, so they never change another rule's verdict.
 */
#include "server/policy/tests.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/policy/internal.h"

enum tests_limits {
	PHANTOM_TRIES = 1 << 16,
	PHANTOM_USER_MAX = 256,
};

struct phantom {
	struct policy_node node;
	char user[PHANTOM_USER_MAX];
	const char *tags[1];
	struct ip_addr addrs[2];
	struct ip_prefix route;
};

struct runner {
	const struct policy *p;
	struct policy_node *nodes; /* the inventory, then room for two phantoms */
	size_t n;		   /* inventory nodes */
	struct ip_addr pool[2][2]; /* free (v4, v6) address pairs for phantoms */
	struct phantom ph[2];
	struct policy_test_report *out;
	size_t cap_failed;
};

/* Whether @a is one the policy names: a literal narrower than the tailnet ranges. */
static bool named_by_policy(const struct policy *p, const struct ip_addr *a)
{
	const unsigned int wide =
		a->family == IP_FAMILY_V4 ? policy_tailnet_v4.bits : policy_tailnet_v6.bits;

	for (size_t i = 0; i < p->n_hosts; i++) {
		if (p->hosts[i].prefix.bits > wide && ip_prefix_contains(&p->hosts[i].prefix, a))
			return true;
	}
	for (size_t i = 0; i < p->n_acls; i++) {
		const struct acl *acl = &p->acls[i];

		for (size_t k = 0; k < acl->n_srcs; k++) {
			if (acl->srcs[k].kind == ALIAS_PREFIX && acl->srcs[k].prefix.bits > wide &&
			    ip_prefix_contains(&acl->srcs[k].prefix, a))
				return true;
		}
		for (size_t k = 0; k < acl->n_dsts; k++) {
			const struct alias *d = &acl->dsts[k].alias;

			if (d->kind == ALIAS_PREFIX && d->prefix.bits > wide &&
			    ip_prefix_contains(&d->prefix, a))
				return true;
		}
	}
	for (size_t i = 0; i < p->n_cases; i++) {
		const struct policy_case *c = &p->cases[i];

		if (c->src.kind == ALIAS_PREFIX && ip_addr_equal(&c->src.prefix.addr, a))
			return true;
		for (size_t k = 0; k < c->n_accept; k++) {
			if (c->accept[k].alias.kind == ALIAS_PREFIX &&
			    ip_addr_equal(&c->accept[k].alias.prefix.addr, a))
				return true;
		}
		for (size_t k = 0; k < c->n_deny; k++) {
			if (c->deny[k].alias.kind == ALIAS_PREFIX &&
			    ip_addr_equal(&c->deny[k].alias.prefix.addr, a))
				return true;
		}
	}
	return false;
}

static bool addr_taken(const struct runner *r, const struct ip_addr *a)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct policy_node *n = &r->nodes[i];

		for (size_t k = 0; k < n->n_addresses; k++) {
			if (ip_addr_equal(&n->addresses[k], a))
				return true;
		}
		for (size_t k = 0; k < n->n_routes; k++) {
			if (n->routes[k].bits && ip_prefix_contains(&n->routes[k], a))
				return true;
		}
	}
	return named_by_policy(r->p, a);
}

/* Candidate @k for a phantom address of family @v6, counting down from the top of the range. */
static void pool_candidate(struct ip_addr *a, bool v6, uint32_t k)
{
	uint32_t low;
	size_t at;

	if (v6) {
		*a = policy_tailnet_v6.addr; /* fd7a:115c:a1e0:ffff:ffff:ffff:ffff:fffe, ... */
		memset(a->bytes + 6, 0xff, 6);
		low = 0xfffffffeU - k;
		at = 12;
	} else {
		memset(a, 0, sizeof(*a)); /* 100.127.255.254, ... */
		a->family = IP_FAMILY_V4;
		low = 0x647ffffeU - k;
		at = 0;
	}
	a->bytes[at] = (uint8_t)(low >> 24);
	a->bytes[at + 1] = (uint8_t)(low >> 16);
	a->bytes[at + 2] = (uint8_t)(low >> 8);
	a->bytes[at + 3] = (uint8_t)low;
}

static int fill_pool(struct runner *r)
{
	for (int fam = 0; fam < 2; fam++) {
		size_t found = 0;

		for (uint32_t k = 0; k < PHANTOM_TRIES && found < 2; k++) {
			struct ip_addr a;

			pool_candidate(&a, fam, k);
			if (policy_tailnet_contains(&a) && !addr_taken(r, &a))
				r->pool[found++][fam] = a;
		}
		if (found < 2)
			return -ENOSPC;
	}
	return 0;
}

/* A device standing for the user or tag @a, with the pool's addresses @slot. */
static void phantom_identity(struct runner *r, size_t slot, const struct alias *a)
{
	struct phantom *ph = &r->ph[slot];
	size_t len;

	memset(ph, 0, sizeof(*ph));
	ph->addrs[0] = r->pool[slot][0];
	ph->addrs[1] = r->pool[slot][1];
	ph->node.name = "(stand-in)";
	ph->node.addresses = ph->addrs;
	ph->node.n_addresses = 2;
	if (a->kind == ALIAS_TAG) {
		ph->tags[0] = a->name;
		ph->node.tags = ph->tags;
		ph->node.n_tags = 1;
	} else {
		snprintf(ph->user, sizeof(ph->user), "%s", a->name);
		len = strlen(ph->user);
		if (len > 1 && ph->user[len - 1] == '@')
			ph->user[len - 1] = '\0';
		ph->node.user = ph->user;
	}
}

static bool has_receiver(const struct policy_node *nodes, size_t n, const struct ip_addr *a)
{
	for (size_t i = 0; i < n; i++) {
		if (policy_node_owns(&nodes[i], a) || policy_route_len(&nodes[i], a) >= 0)
			return true;
	}
	return false;
}

/* A receiver for the destination IP @a that nobody owns or routes; it has no identity. */
static void phantom_receiver(struct runner *r, size_t slot, const struct ip_addr *a)
{
	struct phantom *ph = &r->ph[slot];

	memset(ph, 0, sizeof(*ph));
	ph->node.name = "(stand-in)";
	ph->node.addresses = ph->addrs;
	if (policy_tailnet_contains(a)) {
		ph->addrs[0] = *a;
		ph->node.n_addresses = 1;
		return;
	}
	ph->addrs[0] = r->pool[slot][0];
	ph->addrs[1] = r->pool[slot][1];
	ph->node.n_addresses = 2;
	if (policy_internet_contains(a)) {
		ph->node.exit_node = true;
		return;
	}
	ph->route.addr = *a;
	ph->route.bits = (uint8_t)ip_addr_bits(a);
	ph->node.routes = &ph->route;
	ph->node.n_routes = 1;
}

/*
 * The addresses an alias of a test stands for, in @nodes[0..*n): an identity's
 * nodes' addresses, else the one address. Adds a phantom in @slot (and bumps
 * *@n) when nothing stands for it.
 */
static int resolve(struct runner *r, const struct alias *a, size_t slot, size_t *n,
		   struct ip_addr **out, size_t *count)
{
	size_t k = 0, total = 0;

	*out = NULL;
	*count = 0;
	if (a->kind == ALIAS_HOST || a->kind == ALIAS_PREFIX) {
		*out = malloc(sizeof(**out));
		if (!*out)
			return -ENOMEM;
		(*out)[0] = a->prefix.addr;
		*count = 1;
		return 0;
	}
	for (size_t i = 0; i < *n; i++) {
		if (policy_node_matches(&r->nodes[i], a))
			total += r->nodes[i].n_addresses;
	}
	if (!total) {
		phantom_identity(r, slot, a);
		r->nodes[(*n)++] = r->ph[slot].node;
		total = 2;
	}
	*out = calloc(total, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < *n; i++) {
		if (!policy_node_matches(&r->nodes[i], a))
			continue;
		for (size_t j = 0; j < r->nodes[i].n_addresses; j++)
			(*out)[k++] = r->nodes[i].addresses[j];
	}
	*count = k;
	return 0;
}

static int add_failure(struct runner *r, const struct policy_case *c, const struct test_dst *d,
		       bool accept, const char *detail)
{
	struct policy_test_report *out = r->out;
	struct policy_test_failure *f;

	if (out->n_failed == r->cap_failed) {
		size_t cap = r->cap_failed ? r->cap_failed * 2 : 8;
		struct policy_test_failure *nf = realloc(out->failed, cap * sizeof(*nf));

		if (!nf)
			return -ENOMEM;
		out->failed = nf;
		r->cap_failed = cap;
	}
	f = &out->failed[out->n_failed++];
	memset(f, 0, sizeof(*f));
	f->src = c->src_text;
	f->dst = d->text;
	f->proto = c->proto_text;
	f->expected_accept = accept;
	f->line = c->line;
	f->col = c->col;
	snprintf(f->detail, sizeof(f->detail), "%s", detail);
	return 0;
}

static int run_one(struct runner *r, const struct policy_case *c, const struct test_dst *d,
		   bool accept)
{
	struct ip_addr *srcs = NULL, *dsts = NULL;
	size_t n = r->n, n_srcs, n_dsts, pairs = 0;
	char detail[POLICY_TEST_DETAIL_MAX] = "";
	int ret;

	ret = resolve(r, &c->src, 0, &n, &srcs, &n_srcs);
	if (ret)
		goto out;
	if ((d->alias.kind == ALIAS_HOST || d->alias.kind == ALIAS_PREFIX) &&
	    !has_receiver(r->nodes, n, &d->alias.prefix.addr)) {
		phantom_receiver(r, 1, &d->alias.prefix.addr);
		r->nodes[n++] = r->ph[1].node;
	}
	ret = resolve(r, &d->alias, 1, &n, &dsts, &n_dsts);
	if (ret)
		goto out;
	for (size_t i = 0; i < n_srcs && !detail[0]; i++) {
		for (size_t k = 0; k < n_dsts && !detail[0]; k++) {
			char a[IP_ADDR_STRLEN], b[IP_ADDR_STRLEN];
			bool ok;

			if (srcs[i].family != dsts[k].family)
				continue;
			pairs++;
			ok = policy_allows(r->p, r->nodes, n, &srcs[i], &dsts[k], c->proto,
					   d->port);
			if (ok != accept)
				snprintf(detail, sizeof(detail), "%s -> %s %s",
					 ip_addr_format(&srcs[i], a, sizeof(a)),
					 ip_addr_format(&dsts[k], b, sizeof(b)),
					 ok ? "allowed" : "denied");
		}
	}
	if (!pairs)
		snprintf(detail, sizeof(detail), "no source and destination address of one family");
	if (detail[0])
		ret = add_failure(r, c, d, accept, detail);
out:
	free(srcs);
	free(dsts);
	return ret;
}

int policy_tests_run(const struct policy *p, const struct policy_node *nodes, size_t n,
		     struct policy_test_report *out)
{
	struct runner r = {.p = p, .n = n, .out = out};
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!p || !p->n_cases)
		return 0;
	r.nodes = calloc(n + 2, sizeof(*r.nodes));
	if (!r.nodes)
		return -ENOMEM;
	if (n)
		memcpy(r.nodes, nodes, n * sizeof(*nodes));
	ret = fill_pool(&r);
	for (size_t i = 0; i < p->n_cases && !ret; i++) {
		const struct policy_case *c = &p->cases[i];

		for (size_t k = 0; k < c->n_accept && !ret; k++, out->assertions++)
			ret = run_one(&r, c, &c->accept[k], true);
		for (size_t k = 0; k < c->n_deny && !ret; k++, out->assertions++)
			ret = run_one(&r, c, &c->deny[k], false);
	}
	free(r.nodes);
	if (ret)
		policy_test_report_free(out);
	return ret;
}

void policy_test_report_free(struct policy_test_report *r)
{
	free(r->failed);
	memset(r, 0, sizeof(*r));
}
