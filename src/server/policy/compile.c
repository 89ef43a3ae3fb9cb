// SPDX-License-Identifier: MIT
/*
 * The compiler: a policy and a node inventory become an index of rule
 * instances, each with its source address set, the nodes it is delivered to
 * (and which of its destinations apply to each), and the nodes its sources
 * cover. A node's filter and its peers are then read off the index by lookup:
 * nothing evaluates every pair of nodes, which is what makes large tailnets
 * slow elsewhere. The work is O(rules × nodes) once per policy or inventory
 * change.
 *
 * An ACL becomes one instance for its ordinary destinations, plus, when it
 * has autogroup:self destinations, one instance per user whose devices it
 * lets reach each other, with the sources narrowed to that user's devices.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/policy/internal.h"
#include "server/policy/ipset.h"
#include "util/compiler.h"

struct vec {
	size_t *v;
	size_t n;
	size_t cap;
};

/* A destination of an instance applies to a node: (instance, dst entry) on that node's list. */
struct delivery {
	size_t inst;
	size_t entry;
};

struct instance {
	const struct acl *acl; /* plain: its non-self destinations; per user: its self ones */
	struct policy_ipset src;
	uint64_t src_hash;
	struct vec dst_nodes; /* sorted: nodes it is delivered to */
	struct vec src_nodes; /* sorted: nodes whose addresses or subnet routes it covers */
};

struct inode {
	struct ip_addr *addrs;
	size_t n_addrs;
	struct ip_prefix *routes; /* approved; /0 marks an exit node */
	size_t n_routes;
	bool exit;
	struct delivery *in; /* grouped by instance, in instance order */
	size_t n_in;
	size_t cap_in;
	struct vec in_insts;  /* distinct instances of @in */
	struct vec out_insts; /* instances whose src_nodes include this node */
};

/* An untagged node and its user, for grouping nodes by user. */
struct user_node {
	const char *user;
	size_t node;
};

struct policy_index {
	struct inode *nodes;
	size_t n_nodes;
	struct instance *insts;
	size_t n_insts;
	size_t cap_insts;
	struct policy_ipset star;     /* "*" as a source */
	struct policy_ipset internet; /* autogroup:internet */
};

/* What an empty policy or one without "acls" means: {"src": ["*"], "dst": ["*:*"]} for any IP. */

static int vec_push(struct vec *v, size_t x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		size_t *n = realloc(v->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->v = n;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return 0;
}

static bool vec_has(const struct vec *v, size_t x)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->v[mid] == x)
			return true;
		if (v->v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Copy what the index needs of @n; addresses and routes of no family are skipped. */
static int copy_node(struct inode *in, const struct policy_node *n)
{
	in->addrs = calloc(n->n_addresses ? n->n_addresses : 1, sizeof(*in->addrs));
	in->routes = calloc(n->n_routes ? n->n_routes : 1, sizeof(*in->routes));
	if (!in->addrs || !in->routes)
		return -ENOMEM;
	for (size_t k = 0; k < n->n_addresses; k++) {
		if (n->addresses[k].family != IP_FAMILY_UNSET)
			in->addrs[in->n_addrs++] = n->addresses[k];
	}
	for (size_t k = 0; k < n->n_routes; k++) {
		if (n->routes[k].addr.family != IP_FAMILY_UNSET &&
		    n->routes[k].bits <= ip_addr_bits(&n->routes[k].addr))
			in->routes[in->n_routes++] = n->routes[k];
	}
	in->exit = policy_node_exit(n);
	return 0;
}

/* "*" as a source: the tailnet ranges, every node address, every approved subnet route. */
static int build_star(struct policy_index *idx)
{
	struct policy_ipset *s = &idx->star;
	int ret = 0;

	ret |= policy_ipset_add_prefix(s, &policy_tailnet_v4);
	ret |= policy_ipset_add_prefix(s, &policy_tailnet_v6);
	if (ret)
		return -ENOMEM;
	if (policy_ipset_remove_prefix(s, &policy_chromeos_v4))
		return -ENOMEM;
	for (size_t i = 0; i < idx->n_nodes; i++) {
		const struct inode *n = &idx->nodes[i];

		for (size_t k = 0; k < n->n_addrs; k++)
			ret |= policy_ipset_add_addr(s, &n->addrs[k]);
		for (size_t k = 0; k < n->n_routes; k++) {
			if (n->routes[k].bits)
				ret |= policy_ipset_add_prefix(s, &n->routes[k]);
		}
		if (ret)
			return -ENOMEM;
	}
	policy_ipset_normalize(s);
	return 0;
}

static int build_internet(struct policy_ipset *s)
{
	struct ip_prefix all4 = {{IP_FAMILY_V4, {0}}, 0};

	if (policy_ipset_add_prefix(s, &all4) || policy_ipset_add_prefix(s, &policy_internet_v6))
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(policy_internet_excluded_v4); i++) {
		if (policy_ipset_remove_prefix(s, &policy_internet_excluded_v4[i]))
			return -ENOMEM;
	}
	policy_ipset_normalize(s);
	return 0;
}

static int add_node_addrs(struct policy_ipset *s, const struct inode *n)
{
	for (size_t k = 0; k < n->n_addrs; k++) {
		if (policy_ipset_add_addr(s, &n->addrs[k]))
			return -ENOMEM;
	}
	return 0;
}

static int expand_src(const struct policy_index *idx, const struct policy_node *nodes,
		      const struct alias *a, struct policy_ipset *s)
{
	struct ip_prefix all4 = {{IP_FAMILY_V4, {0}}, 0}, all6 = {{IP_FAMILY_V6, {0}}, 0};

	switch (a->kind) {
	case ALIAS_ANY:
		return policy_ipset_add_set(s, &idx->star);
	case ALIAS_DANGER_ALL:
		if (policy_ipset_add_prefix(s, &all4) || policy_ipset_add_prefix(s, &all6))
			return -ENOMEM;
		return 0;
	case ALIAS_HOST:
	case ALIAS_PREFIX:
		return policy_ipset_add_prefix(s, &a->prefix);
	default:
		for (size_t i = 0; i < idx->n_nodes; i++) {
			if (policy_node_matches(&nodes[i], a) && add_node_addrs(s, &idx->nodes[i]))
				return -ENOMEM;
		}
		return 0;
	}
}

/* Whether the prefix destination @p is delivered to @n: it owns an address in it or routes into it. */
static bool prefix_delivered(const struct inode *n, const struct ip_prefix *p)
{
	for (size_t k = 0; k < n->n_addrs; k++) {
		if (ip_prefix_contains(p, &n->addrs[k]))
			return true;
	}
	for (size_t k = 0; k < n->n_routes; k++) {
		if (n->routes[k].bits && ip_prefix_overlaps(p, &n->routes[k]))
			return true;
	}
	return false;
}

/* Whether the (non-self) destination @d is delivered to node @i. */
static bool dst_delivered(const struct policy_index *idx, const struct policy_node *nodes, size_t i,
			  const struct acl_dst *d)
{
	switch (d->alias.kind) {
	case ALIAS_ANY:
		return true;
	case ALIAS_HOST:
	case ALIAS_PREFIX:
		return prefix_delivered(&idx->nodes[i], &d->alias.prefix);
	case ALIAS_INTERNET:
		return idx->nodes[i].exit;
	default:
		return policy_node_matches(&nodes[i], &d->alias);
	}
}

static int deliver(struct policy_index *idx, size_t inst, size_t node, size_t entry)
{
	struct inode *n = &idx->nodes[node];
	struct instance *in = &idx->insts[inst];

	if (n->n_in == n->cap_in) {
		size_t cap = n->cap_in ? n->cap_in * 2 : 8;
		struct delivery *d = realloc(n->in, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		n->in = d;
		n->cap_in = cap;
	}
	n->in[n->n_in].inst = inst;
	n->in[n->n_in++].entry = entry;
	/* Instances are built one after the other, so "already there" is "last pushed". */
	if (!n->in_insts.n || n->in_insts.v[n->in_insts.n - 1] != inst) {
		if (vec_push(&n->in_insts, inst))
			return -ENOMEM;
	}
	if (!in->dst_nodes.n || in->dst_nodes.v[in->dst_nodes.n - 1] != node)
		return vec_push(&in->dst_nodes, node);
	return 0;
}

static struct instance *new_instance(struct policy_index *idx, const struct acl *acl)
{
	struct instance *in;

	if (idx->n_insts == idx->cap_insts) {
		size_t cap = idx->cap_insts ? idx->cap_insts * 2 : 16;
		struct instance *n = realloc(idx->insts, cap * sizeof(*n));

		if (!n)
			return NULL;
		idx->insts = n;
		idx->cap_insts = cap;
	}
	in = &idx->insts[idx->n_insts++];
	memset(in, 0, sizeof(*in));
	in->acl = acl;
	return in;
}

/* Sources and deliveries of the instance for @acl's ordinary (non-self) destinations. */
static int build_plain(struct policy_index *idx, const struct policy_node *nodes,
		       const struct acl *acl)
{
	size_t id = idx->n_insts;
	struct instance *in = new_instance(idx, acl);

	if (!in)
		return -ENOMEM;
	for (size_t s = 0; s < acl->n_srcs; s++) {
		if (expand_src(idx, nodes, &acl->srcs[s], &in->src))
			return -ENOMEM;
	}
	policy_ipset_normalize(&in->src);
	in->src_hash = policy_ipset_hash(&in->src);
	if (!in->src.n) {
		/* Sources that match nothing (group:empty): no rule at all. */
		policy_ipset_release(&in->src);
		idx->n_insts--;
		return 0;
	}
	/* Node by node, so each node's deliveries of one instance stay together. */
	for (size_t i = 0; i < idx->n_nodes; i++) {
		for (size_t e = 0; e < acl->n_dsts; e++) {
			const struct acl_dst *d = &acl->dsts[e];

			if (d->alias.kind == ALIAS_SELF || !dst_delivered(idx, nodes, i, d))
				continue;
			if (deliver(idx, id, i, e))
				return -ENOMEM;
		}
	}
	/* The nodes the sources cover, by address or by subnet route (for visibility). */
	for (size_t i = 0; i < idx->n_nodes; i++) {
		const struct inode *n = &idx->nodes[i];
		bool covered = false;

		for (size_t k = 0; k < n->n_addrs && !covered; k++)
			covered = policy_ipset_contains(&in->src, &n->addrs[k]);
		for (size_t k = 0; k < n->n_routes && !covered; k++)
			covered = n->routes[k].bits &&
				  policy_ipset_overlaps_prefix(&in->src, &n->routes[k]);
		if (covered && vec_push(&in->src_nodes, i))
			return -ENOMEM;
	}
	return 0;
}

/* A source alias of an autogroup:self rule matches node @node (an untagged one). */
static bool self_src_matches(const struct acl *acl, const struct policy_node *node)
{
	for (size_t s = 0; s < acl->n_srcs; s++) {
		if (acl->srcs[s].kind == ALIAS_ANY || policy_node_matches(node, &acl->srcs[s]))
			return true;
	}
	return false;
}

/*
 * One instance per user for @acl's autogroup:self destinations: sources are
 * the user's untagged devices that the rule's sources match, destinations all
 * of the user's untagged devices. @users lists node indices grouped by user.
 */
static int build_self(struct policy_index *idx, const struct policy_node *nodes,
		      const struct acl *acl, const struct user_node *users, size_t n_users)
{
	for (size_t g = 0; g < n_users;) {
		size_t end = g + 1, id;
		struct instance *in;

		while (end < n_users && !strcmp(users[end].user, users[g].user))
			end++;
		id = idx->n_insts;
		in = new_instance(idx, acl);
		if (!in)
			return -ENOMEM;
		for (size_t k = g; k < end; k++) {
			if (!self_src_matches(acl, &nodes[users[k].node]))
				continue;
			if (add_node_addrs(&in->src, &idx->nodes[users[k].node]) ||
			    vec_push(&in->src_nodes, users[k].node))
				return -ENOMEM;
		}
		policy_ipset_normalize(&in->src);
		in->src_hash = policy_ipset_hash(&in->src);
		if (!in->src_nodes.n) {
			/* Nobody of this user may reach their devices: no rule at all. */
			policy_ipset_release(&in->src);
			idx->n_insts--;
			g = end;
			continue;
		}
		for (size_t k = g; k < end; k++) {
			for (size_t e = 0; e < acl->n_dsts; e++) {
				if (acl->dsts[e].alias.kind == ALIAS_SELF &&
				    deliver(idx, id, users[k].node, e))
					return -ENOMEM;
			}
		}
		g = end;
	}
	return 0;
}

static int user_cmp(const void *x, const void *y)
{
	const struct user_node *a = x, *b = y;
	int c = strcmp(a->user, b->user);

	return c ? c : (a->node > b->node) - (a->node < b->node);
}

/* Untagged nodes with a user, grouped by user (and ascending within a user). */
static int group_users(const struct policy_node *nodes, size_t n, struct user_node **out,
		       size_t *count)
{
	size_t k = 0;

	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!policy_node_tagged(&nodes[i]) && nodes[i].user) {
			(*out)[k].user = nodes[i].user;
			(*out)[k++].node = i;
		}
	}
	qsort(*out, k, sizeof(**out), user_cmp);
	*count = k;
	return 0;
}

static int build_out_lists(struct policy_index *idx)
{
	for (size_t r = 0; r < idx->n_insts; r++) {
		const struct instance *in = &idx->insts[r];

		for (size_t k = 0; k < in->src_nodes.n; k++) {
			if (vec_push(&idx->nodes[in->src_nodes.v[k]].out_insts, r))
				return -ENOMEM;
		}
	}
	return 0;
}

int policy_index_create(struct policy_index **out, const struct policy *p,
			const struct policy_node *nodes, size_t n)
{
	const struct acl *acls = &policy_allow_all;
	struct user_node *users = NULL;
	size_t n_acls = 1, n_users = 0;
	struct policy_index *idx;
	int ret = -ENOMEM;

	*out = NULL;
	if (!policy_allows_all(p)) {
		acls = p->acls;
		n_acls = p->n_acls;
	}
	idx = calloc(1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	idx->nodes = calloc(n ? n : 1, sizeof(*idx->nodes));
	if (!idx->nodes)
		goto err_destroy;
	idx->n_nodes = n;
	for (size_t i = 0; i < n; i++) {
		if (copy_node(&idx->nodes[i], &nodes[i]))
			goto err_destroy;
	}
	if (build_star(idx) || build_internet(&idx->internet))
		goto err_destroy;
	if (group_users(nodes, n, &users, &n_users))
		goto err_destroy;
	for (size_t a = 0; a < n_acls; a++) {
		bool plain = false, self = false;

		for (size_t e = 0; e < acls[a].n_dsts; e++) {
			self |= acls[a].dsts[e].alias.kind == ALIAS_SELF;
			plain |= acls[a].dsts[e].alias.kind != ALIAS_SELF;
		}
		if (plain && build_plain(idx, nodes, &acls[a]))
			goto err_free_users;
		if (self && build_self(idx, nodes, &acls[a], users, n_users))
			goto err_free_users;
	}
	if (build_out_lists(idx))
		goto err_free_users;
	free(users);
	*out = idx;
	return 0;

err_free_users:
	free(users);
err_destroy:
	policy_index_destroy(idx);
	return ret;
}

void policy_index_destroy(struct policy_index *idx)
{
	if (!idx)
		return;
	for (size_t i = 0; i < idx->n_nodes && idx->nodes; i++) {
		struct inode *n = &idx->nodes[i];

		free(n->addrs);
		free(n->routes);
		free(n->in);
		free(n->in_insts.v);
		free(n->out_insts.v);
	}
	for (size_t r = 0; r < idx->n_insts; r++) {
		policy_ipset_release(&idx->insts[r].src);
		free(idx->insts[r].dst_nodes.v);
		free(idx->insts[r].src_nodes.v);
	}
	policy_ipset_release(&idx->star);
	policy_ipset_release(&idx->internet);
	free(idx->insts);
	free(idx->nodes);
	free(idx);
}

/* Append the destinations entry @d compiles to on node @n. */
static int add_dsts(const struct policy_index *idx, const struct inode *n, const struct acl_dst *d,
		    struct policy_rule *rule, size_t *cap)
{
	struct policy_range ranges_buf[1];
	const struct policy_range *ranges = ranges_buf;
	size_t n_ranges = 0;
	bool any = false, addrs = false;

	switch (d->alias.kind) {
	case ALIAS_ANY:
		any = true;
		n_ranges = 1;
		break;
	case ALIAS_HOST:
	case ALIAS_PREFIX:
		policy_range_from_prefix(&ranges_buf[0], &d->alias.prefix);
		n_ranges = 1;
		break;
	case ALIAS_INTERNET:
		ranges = idx->internet.r;
		n_ranges = idx->internet.n;
		break;
	default: /* identity aliases and autogroup:self: the node's own addresses */
		addrs = true;
		n_ranges = n->n_addrs;
		break;
	}
	for (size_t r = 0; r < n_ranges; r++) {
		for (size_t p = 0; p < d->n_ports; p++) {
			struct policy_dst *out;

			if (rule->n_dsts == *cap) {
				size_t c = *cap ? *cap * 2 : 4;
				struct policy_dst *nd = realloc(rule->dsts, c * sizeof(*nd));

				if (!nd)
					return -ENOMEM;
				rule->dsts = nd;
				*cap = c;
			}
			out = &rule->dsts[rule->n_dsts++];
			memset(out, 0, sizeof(*out));
			out->any = any;
			if (addrs) {
				out->range.first = n->addrs[r];
				out->range.last = n->addrs[r];
			} else if (!any) {
				out->range = ranges[r];
			}
			out->port_first = d->ports[p].first;
			out->port_last = d->ports[p].last;
		}
	}
	return 0;
}

static bool dst_equal(const struct policy_dst *a, const struct policy_dst *b)
{
	return a->any == b->any && a->port_first == b->port_first && a->port_last == b->port_last &&
	       ip_addr_equal(&a->range.first, &b->range.first) &&
	       ip_addr_equal(&a->range.last, &b->range.last);
}

/* Append @d's destinations to @rule, leaving out exact duplicates. */
static int append_dsts(struct policy_rule *rule, size_t *cap, const struct policy_dst *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t k = 0; k < rule->n_dsts && !dup; k++)
			dup = dst_equal(&rule->dsts[k], &d[i]);
		if (dup)
			continue;
		if (rule->n_dsts == *cap) {
			size_t c = *cap ? *cap * 2 : 4;
			struct policy_dst *nd = realloc(rule->dsts, c * sizeof(*nd));

			if (!nd)
				return -ENOMEM;
			rule->dsts = nd;
			*cap = c;
		}
		rule->dsts[rule->n_dsts++] = d[i];
	}
	return 0;
}

static bool same_protos(const struct acl *a, const struct acl *b)
{
	return a->n_protos == b->n_protos && !memcmp(a->protos, b->protos, a->n_protos);
}

int policy_index_filter(const struct policy_index *idx, size_t i, struct policy_filter *out)
{
	const struct inode *n;
	size_t *owner = NULL, *caps = NULL, n_rules = 0;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!idx || i >= idx->n_nodes)
		return -ERANGE;
	n = &idx->nodes[i];
	out->rules = calloc(n->in_insts.n ? n->in_insts.n : 1, sizeof(*out->rules));
	owner = calloc(n->in_insts.n ? n->in_insts.n : 1, sizeof(*owner));
	caps = calloc(n->in_insts.n ? n->in_insts.n : 1, sizeof(*caps));
	if (!out->rules || !owner || !caps)
		goto err_free;
	for (size_t k = 0; k < n->n_in;) {
		const struct instance *in = &idx->insts[n->in[k].inst];
		struct policy_rule *rule = NULL;
		size_t target = n_rules;

		/* Rules with identical sources and protocols are merged into the first one. */
		for (size_t r = 0; r < n_rules; r++) {
			const struct instance *o = &idx->insts[owner[r]];

			if (o->src_hash == in->src_hash && same_protos(o->acl, in->acl) &&
			    policy_ipset_equal(&o->src, &in->src)) {
				target = r;
				break;
			}
		}
		rule = &out->rules[target];
		if (target == n_rules) {
			owner[n_rules++] = n->in[k].inst;
			out->n_rules = n_rules;
			rule->srcs = calloc(in->src.n ? in->src.n : 1, sizeof(*rule->srcs));
			if (!rule->srcs)
				goto err_free;
			if (in->src.n)
				memcpy(rule->srcs, in->src.r, in->src.n * sizeof(*rule->srcs));
			rule->n_srcs = in->src.n;
			memcpy(rule->protos, in->acl->protos, sizeof(rule->protos));
			rule->n_protos = in->acl->n_protos;
		}
		for (size_t inst = n->in[k].inst; k < n->n_in && n->in[k].inst == inst; k++) {
			struct policy_rule tmp = {0};
			size_t tmp_cap = 0;

			ret = add_dsts(idx, n, &in->acl->dsts[n->in[k].entry], &tmp, &tmp_cap);
			if (!ret)
				ret = append_dsts(rule, &caps[target], tmp.dsts, tmp.n_dsts);
			free(tmp.dsts);
			if (ret)
				goto err_free;
		}
	}
	free(owner);
	free(caps);
	return 0;

err_free:
	free(owner);
	free(caps);
	policy_filter_free(out);
	return ret ? ret : -ENOMEM;
}

int policy_index_peers(const struct policy_index *idx, size_t i, size_t **out, size_t *n)
{
	const struct inode *node;
	uint8_t *seen;
	size_t count = 0;

	*out = NULL;
	*n = 0;
	if (!idx || i >= idx->n_nodes)
		return -ERANGE;
	node = &idx->nodes[i];
	seen = calloc(idx->n_nodes, 1);
	if (!seen)
		return -ENOMEM;
	/* Who may reach me, and whom I may reach. */
	for (size_t k = 0; k < node->in_insts.n; k++) {
		const struct vec *v = &idx->insts[node->in_insts.v[k]].src_nodes;

		for (size_t j = 0; j < v->n; j++)
			seen[v->v[j]] = 1;
	}
	for (size_t k = 0; k < node->out_insts.n; k++) {
		const struct vec *v = &idx->insts[node->out_insts.v[k]].dst_nodes;

		for (size_t j = 0; j < v->n; j++)
			seen[v->v[j]] = 1;
	}
	seen[i] = 0;
	for (size_t j = 0; j < idx->n_nodes; j++)
		count += seen[j];
	*out = calloc(count ? count : 1, sizeof(**out));
	if (!*out) {
		free(seen);
		return -ENOMEM;
	}
	for (size_t j = 0; j < idx->n_nodes; j++) {
		if (seen[j])
			(*out)[(*n)++] = j;
	}
	free(seen);
	return 0;
}

/* Whether some instance delivered to @to has @from among its source nodes. */
static bool reaches(const struct policy_index *idx, size_t from, size_t to)
{
	const struct inode *n = &idx->nodes[to];

	for (size_t k = 0; k < n->in_insts.n; k++) {
		if (vec_has(&idx->insts[n->in_insts.v[k]].src_nodes, from))
			return true;
	}
	return false;
}

bool policy_index_visible(const struct policy_index *idx, size_t a, size_t b)
{
	if (!idx || a >= idx->n_nodes || b >= idx->n_nodes || a == b)
		return false;
	return reaches(idx, a, b) || reaches(idx, b, a);
}

int policy_compile_filter(const struct policy *p, const struct policy_node *nodes, size_t n,
			  size_t dst, struct policy_filter *out)
{
	struct policy_index *idx;
	int ret;

	memset(out, 0, sizeof(*out));
	if (dst >= n)
		return -ERANGE;
	ret = policy_index_create(&idx, p, nodes, n);
	if (ret)
		return ret;
	ret = policy_index_filter(idx, dst, out);
	policy_index_destroy(idx);
	return ret;
}

bool policy_peer_visible(const struct policy *p, const struct policy_node *nodes, size_t n,
			 size_t a, size_t b)
{
	struct policy_index *idx;
	bool v;

	if (policy_index_create(&idx, p, nodes, n))
		return false;
	v = policy_index_visible(idx, a, b);
	policy_index_destroy(idx);
	return v;
}
