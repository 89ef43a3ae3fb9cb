// SPDX-License-Identifier: MIT
/*
 * The netmap builder (see netmap.h). Entries live in one array sorted by
 * node id (full maps list peers by id, lookups by id are a binary search)
 * and in two hash maps, by machine key and by node key, for the checks of
 * map requests and relay clients.
 *
 * Invariants: an entry's "cur" node and its JSON text change only in
 * netmap_delta_collect(), so a delta can point at them until the next
 * collect; "next" is what the registry said last; an entry is on the dirty
 * list exactly when e->dirty is set; removed entries stay in the array
 * (flagged) until the collect that announces their removal.
 *
 * JSON texts are produced by the control codec and cut at known member
 * boundaries (netmap_member_text), so full maps assembled from cached node
 * texts are the codec's own output, byte for byte.
 */
#include "server/netmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "relay/keymap.h"
#include "server/netmap_internal.h"
#include "util/log.h"

struct nm_entry {
	int64_t id;
	uint8_t machine_key[CTL_KEY_LEN];
	struct ctl_node next;	  /* latest reported */
	struct ip_prefix *routes; /* advertised and approved */
	size_t nroutes;
	struct ctl_node cur; /* what the maps show; valid when has_cur */
	bool has_cur;
	bool in_map; /* peers list it (cur is live and encoded) */
	char *frag;  /* JSON object text of cur */
	size_t frag_len;
	bool dirty;
	bool removed;
};

enum nm_peer_change {
	NM_PEER_NONE,
	NM_PEER_CHANGED, /* added or identity changed: whole node object */
	NM_PEER_PATCH,
	NM_PEER_REMOVED,
};

struct nm_change {
	int64_t id;
	struct nm_entry *e; /* NULL once removed */
	enum nm_peer_change peer;
	enum netmap_self self;
	struct ctl_peer_patch patch; /* NM_PEER_PATCH; endpoints point into e->cur */
};

struct netmap_delta {
	struct nm_change *changes; /* sorted by id */
	size_t n;
	bool resync;
	char *common; /* `,"peers_changed":...}` for viewers the delta does not name */
	size_t common_len;
};

struct netmap {
	char *base_domain;
	uint32_t home_relay;
	const struct netmap_policy_ops *policy;
	void *policy_arg;
	int64_t (*now)(void *arg);
	void *now_arg;
	char *relay_json, *dns_json, *filter_json; /* member values, encoded once */
	size_t relay_len, dns_len, filter_len;
	struct nm_entry **order; /* by id */
	size_t n, cap;
	size_t removed; /* entries in order flagged removed */
	struct keymap by_machine, by_node_key;
	struct nm_entry **dirty;
	size_t ndirty, dirty_cap;
	bool policy_dirty;
	bool force_resync; /* a collect failed half-way: the next delta is a resync */
};

static int64_t now(const struct netmap *nm)
{
	return nm->now(nm->now_arg);
}

/* ---- the cache ---- */

static size_t order_search(const struct netmap *nm, int64_t id, bool *found)
{
	size_t lo = 0, hi = nm->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (nm->order[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < nm->n && nm->order[lo]->id == id;
	return lo;
}

static struct nm_entry *find(const struct netmap *nm, int64_t id)
{
	bool found;
	size_t i = order_search(nm, id, &found);

	return found ? nm->order[i] : NULL;
}

static int mark_dirty(struct netmap *nm, struct nm_entry *e)
{
	if (e->dirty)
		return 0;
	if (nm->ndirty == nm->dirty_cap) {
		size_t cap = nm->dirty_cap ? nm->dirty_cap * 2 : 64;
		struct nm_entry **d = realloc(nm->dirty, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		nm->dirty = d;
		nm->dirty_cap = cap;
	}
	nm->dirty[nm->ndirty++] = e;
	e->dirty = true;
	return 0;
}

static void unindex(struct netmap *nm, struct nm_entry *e)
{
	if (keymap_get(&nm->by_machine, e->machine_key) == e)
		keymap_remove(&nm->by_machine, e->machine_key);
	if (keymap_get(&nm->by_node_key, e->next.node_key) == e)
		keymap_remove(&nm->by_node_key, e->next.node_key);
}

static void entry_free(struct nm_entry *e)
{
	ctl_node_free(&e->next);
	ctl_node_free(&e->cur);
	free(e->routes);
	free(e->frag);
	free(e);
}

/* Find or add the entry for @id; new ones are not indexed yet. */
static struct nm_entry *entry_get(struct netmap *nm, int64_t id, bool *created)
{
	struct nm_entry *e;
	bool found;
	size_t i = order_search(nm, id, &found);

	*created = false;
	if (found)
		return nm->order[i];
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 64;
		struct nm_entry **o = realloc(nm->order, cap * sizeof(*o));

		if (!o)
			return NULL;
		nm->order = o;
		nm->cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->id = id;
	memmove(&nm->order[i + 1], &nm->order[i], (nm->n - i) * sizeof(*nm->order));
	nm->order[i] = e;
	nm->n++;
	*created = true;
	return e;
}

/* Drop a fresh entry again after a failure. */
static void entry_drop(struct netmap *nm, struct nm_entry *e)
{
	bool found;
	size_t i = order_search(nm, e->id, &found);

	if (found && nm->order[i] == e) {
		memmove(&nm->order[i], &nm->order[i + 1], (nm->n - i - 1) * sizeof(*nm->order));
		nm->n--;
	}
	unindex(nm, e);
	entry_free(e);
}

int netmap_node_set(struct netmap *nm, const struct store_node *node, bool online)
{
	struct netmap_node_ctx ctx;
	struct ctl_node built;
	struct nm_entry *e;
	bool created;
	int ret;

	if (node->id <= 0)
		return -EINVAL;
	e = entry_get(nm, node->id, &created);
	if (!e)
		return -ENOMEM;
	ctx.base_domain = nm->base_domain;
	ctx.home_relay = nm->home_relay;
	ctx.now = now(nm);
	ret = netmap_node_build(&ctx, node, online, e->routes, e->nroutes, &built);
	if (!ret)
		ret = mark_dirty(nm, e);
	if (ret) {
		if (created)
			entry_drop(nm, e);
		return ret;
	}
	if (e->removed) {
		e->removed = false;
		nm->removed--;
	}
	unindex(nm, e);
	ctl_node_free(&e->next);
	e->next = built;
	memcpy(e->machine_key, node->machine_key, CTL_KEY_LEN);
	/* Both keys are unique in the store; a failed put only costs a lookup. */
	if (keymap_put(&nm->by_machine, e->machine_key, e) ||
	    keymap_put(&nm->by_node_key, e->next.node_key, e))
		return -ENOMEM;
	return 0;
}

int netmap_node_set_routes(struct netmap *nm, int64_t id, const struct store_route *routes,
			   size_t n)
{
	struct nm_entry *e = find(nm, id);
	struct ip_prefix *v = NULL;
	size_t count = 0;
	int ret;

	if (!e || e->removed)
		return -ENOENT;
	if (n) {
		v = calloc(n, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (routes[i].node_id != id || !routes[i].advertised || !routes[i].approved)
			continue;
		if (ip_prefix_parse(&v[count], routes[i].prefix, NULL) ||
		    !ip_prefix_is_canonical(&v[count]))
			continue;
		count++;
	}
	ret = netmap_allowed_ips(&e->next, v, count);
	if (!ret)
		ret = mark_dirty(nm, e);
	if (ret) {
		free(v);
		return ret;
	}
	free(e->routes);
	e->routes = v;
	e->nroutes = count;
	return 0;
}

int netmap_node_remove(struct netmap *nm, int64_t id)
{
	struct nm_entry *e = find(nm, id);
	int ret;

	if (!e || e->removed)
		return -ENOENT;
	ret = mark_dirty(nm, e);
	if (ret)
		return ret;
	unindex(nm, e);
	e->removed = true;
	nm->removed++;
	return 0;
}

void netmap_policy_changed(struct netmap *nm)
{
	nm->policy_dirty = true;
}

int netmap_node_auth(const struct netmap *nm, const uint8_t machine_key[CTL_KEY_LEN],
		     const uint8_t node_key[CTL_KEY_LEN], int64_t *id)
{
	const struct nm_entry *e = keymap_get(&nm->by_machine, machine_key);

	if (!e || sodium_memcmp(e->next.node_key, node_key, CTL_KEY_LEN))
		return -ENOENT;
	if (e->next.key_expiry && e->next.key_expiry <= now(nm))
		return -EKEYEXPIRED;
	*id = e->id;
	return 0;
}

bool netmap_node_key_valid(const struct netmap *nm, const uint8_t node_key[CTL_KEY_LEN])
{
	const struct nm_entry *e = keymap_get(&nm->by_node_key, node_key);

	return e && !(e->next.key_expiry && e->next.key_expiry <= now(nm));
}

bool netmap_node_mapped(const struct netmap *nm, int64_t id)
{
	const struct nm_entry *e = find(nm, id);

	return e && e->in_map;
}

size_t netmap_node_count(const struct netmap *nm)
{
	return nm->n - nm->removed;
}

/* ---- create / destroy ---- */

int netmap_create(struct netmap **out, const struct netmap_options *opt)
{
	struct ctl_filter_rule *rules = NULL;
	struct netmap *nm;
	size_t nrules = 0;
	int ret = -ENOMEM;

	*out = NULL;
	nm = calloc(1, sizeof(*nm));
	if (!nm)
		return -ENOMEM;
	nm->base_domain = strdup(opt->base_domain ? opt->base_domain : "mesh.internal");
	nm->home_relay = opt->home_relay;
	nm->policy = opt->policy;
	nm->policy_arg = opt->policy_arg;
	nm->now = opt->now;
	nm->now_arg = opt->now_arg;
	if (!nm->base_domain || !nm->now)
		goto out_destroy;
	if (opt->relay_map) {
		struct ctl_map_response m = {.relay_map = (struct ctl_relay_map *)opt->relay_map};

		ret = netmap_member_text(&m, "relay_map", &nm->relay_json, &nm->relay_len);
		if (ret)
			goto out_destroy;
	}
	if (opt->dns) {
		struct ctl_map_response m = {.dns = (struct ctl_dns_config *)opt->dns};

		ret = netmap_member_text(&m, "dns", &nm->dns_json, &nm->dns_len);
		if (ret)
			goto out_destroy;
	}
	if (!nm->policy) {
		ret = netmap_policy_allow_all(&rules, &nrules);
		if (!ret)
			ret = netmap_filter_text(rules, nrules, &nm->filter_json, &nm->filter_len);
		netmap_policy_rules_free(rules, nrules);
		if (ret)
			goto out_destroy;
	}
	*out = nm;
	return 0;

out_destroy:
	netmap_destroy(nm);
	return ret == -ENOMEM || ret == -EPROTO ? ret : -EINVAL;
}

void netmap_destroy(struct netmap *nm)
{
	if (!nm)
		return;
	for (size_t i = 0; i < nm->n; i++)
		entry_free(nm->order[i]);
	free(nm->order);
	free(nm->dirty);
	keymap_free(&nm->by_machine);
	keymap_free(&nm->by_node_key);
	free(nm->relay_json);
	free(nm->dns_json);
	free(nm->filter_json);
	free(nm->base_domain);
	free(nm);
}

/* ---- collecting a delta ---- */

static bool visible(const struct netmap *nm, const struct nm_entry *viewer,
		    const struct nm_entry *peer)
{
	return !nm->policy || nm->policy->visible(nm->policy_arg, &viewer->cur, &peer->cur);
}

/* Make @e's latest state the one maps show; false if it cannot be encoded. */
static int promote(struct nm_entry *e, bool *encoded)
{
	struct ctl_node copy;
	char *frag = NULL;
	size_t len = 0;
	int ret;

	*encoded = false;
	ret = netmap_node_copy(&copy, &e->next);
	if (ret)
		return ret;
	ret = netmap_node_text(&copy, &frag, &len);
	if (ret == -ENOMEM) {
		ctl_node_free(&copy);
		return ret;
	}
	if (ret)
		log_warn("netmap", "node %lld cannot be put in maps (%s); leaving it out",
			 (long long)e->id, strerror(-ret));
	ctl_node_free(&e->cur);
	free(e->frag);
	e->cur = copy;
	e->has_cur = true;
	e->frag = frag;
	e->frag_len = len;
	*encoded = !ret;
	return 0;
}

/* Decide what @e's change means; fills @c and moves @e into the maps. */
static int collect_one(struct nm_entry *e, struct nm_change *c, bool *identity)
{
	bool live = !e->next.expired, encoded;
	unsigned int fields = 0;
	int ret;

	c->id = e->id;
	c->e = e;
	if (e->removed) {
		c->e = NULL;
		c->peer = e->in_map ? NM_PEER_REMOVED : NM_PEER_NONE;
		c->self = NETMAP_SELF_REMOVED;
		*identity |= e->in_map;
		return 0;
	}
	if (!live || !e->in_map) {
		c->peer = live ? NM_PEER_CHANGED : e->in_map ? NM_PEER_REMOVED : NM_PEER_NONE;
		c->self = live ? NETMAP_SELF_CHANGED : NETMAP_SELF_EXPIRED;
	} else if (netmap_identity_differs(&e->cur, &e->next)) {
		c->peer = NM_PEER_CHANGED;
		c->self = NETMAP_SELF_CHANGED;
	} else {
		fields = netmap_patch_fields(&e->cur, &e->next);
		c->peer = fields ? NM_PEER_PATCH : NM_PEER_NONE;
		c->self = fields ? NETMAP_SELF_CHANGED : NETMAP_SELF_SAME;
	}
	if (c->self == NETMAP_SELF_SAME)
		return 0;
	ret = promote(e, &encoded);
	if (ret)
		return ret;
	if (!encoded) {
		c->peer = e->in_map ? NM_PEER_REMOVED : NM_PEER_NONE;
		c->self = NETMAP_SELF_REMOVED;
		live = false;
	}
	*identity |= c->peer == NM_PEER_CHANGED || c->peer == NM_PEER_REMOVED;
	e->in_map = live;
	if (c->peer == NM_PEER_PATCH)
		netmap_patch_fill(&c->patch, fields, &e->cur);
	return 0;
}

static int cmp_change(const void *a, const void *b)
{
	const struct nm_change *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* Forget the entries whose removal @d announces. */
static void reap_removed(struct netmap *nm)
{
	size_t o = 0;

	for (size_t i = 0; i < nm->n; i++) {
		struct nm_entry *e = nm->order[i];

		if (e->removed && !e->dirty) {
			entry_free(e);
			continue;
		}
		nm->order[o++] = e;
	}
	nm->n = o;
	nm->removed = 0;
}

/*
 * Encode the parts of @d that concern peers for a viewer @viewer_id (0:
 * anyone @d does not name, with the allow-all policy) into @m's lists.
 * Arrays are heap memory the caller frees; the nodes in them are shallow.
 */
static int delta_lists(const struct netmap *nm, const struct netmap_delta *d,
		       const struct nm_entry *viewer, struct ctl_map_response *m)
{
	m->peers_changed = calloc(d->n, sizeof(*m->peers_changed));
	m->peers_removed = calloc(d->n, sizeof(*m->peers_removed));
	m->peers_patch = calloc(d->n, sizeof(*m->peers_patch));
	if (!m->peers_changed || !m->peers_removed || !m->peers_patch)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		const struct nm_change *c = &d->changes[i];

		if (viewer && c->id == viewer->id)
			continue;
		switch (c->peer) {
		case NM_PEER_CHANGED:
			if (!viewer || visible(nm, viewer, c->e))
				m->peers_changed[m->npeers_changed++] = c->e->cur;
			break;
		case NM_PEER_PATCH:
			if (!viewer || visible(nm, viewer, c->e))
				m->peers_patch[m->npeers_patch++] = c->patch;
			break;
		case NM_PEER_REMOVED:
			m->peers_removed[m->npeers_removed++] = (uint64_t)c->id;
			break;
		case NM_PEER_NONE:
			break;
		}
	}
	return 0;
}

static void delta_lists_free(struct ctl_map_response *m)
{
	free(m->peers_changed);
	free(m->peers_removed);
	free(m->peers_patch);
}

/* The body every viewer not named in @d gets under the allow-all policy. */
static int build_common(const struct netmap *nm, struct netmap_delta *d)
{
	struct ctl_map_response m = {0};
	size_t plen = strlen(netmap_frame_prefix);
	char *json;
	size_t len;
	int ret;

	ret = delta_lists(nm, d, NULL, &m);
	if (!ret && !m.npeers_changed && !m.npeers_removed && !m.npeers_patch)
		goto out_free;
	if (!ret)
		ret = ctl_map_response_encode(&m, &json, &len);
	if (ret)
		goto out_free;
	if (len <= plen || memcmp(json, netmap_frame_prefix, plen) || json[plen] != ',') {
		free(json);
		ret = -EPROTO;
		goto out_free;
	}
	d->common_len = len - plen;
	memmove(json, json + plen, d->common_len + 1);
	d->common = json;
out_free:
	delta_lists_free(&m);
	return ret;
}

int netmap_delta_collect(struct netmap *nm, struct netmap_delta **out)
{
	struct netmap_delta *d;
	bool identity = false;
	int ret = 0;

	*out = NULL;
	if (!nm->ndirty && !nm->force_resync && !(nm->policy_dirty && nm->policy)) {
		nm->policy_dirty = false;
		return 0;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->changes = calloc(nm->ndirty ? nm->ndirty : 1, sizeof(*d->changes));
	if (!d->changes) {
		free(d);
		return -ENOMEM;
	}
	/* Every dirty entry is handled even after a failure, so none stays half-moved. */
	for (size_t i = 0; i < nm->ndirty; i++) {
		struct nm_entry *e = nm->dirty[i];
		int r = collect_one(e, &d->changes[d->n], &identity);

		e->dirty = false;
		if (r) {
			ret = ret ? ret : r;
			continue;
		}
		if (d->changes[d->n].peer != NM_PEER_NONE ||
		    d->changes[d->n].self != NETMAP_SELF_SAME)
			d->n++;
	}
	nm->ndirty = 0;
	d->resync = nm->force_resync || (nm->policy && (identity || nm->policy_dirty));
	nm->policy_dirty = false;
	nm->force_resync = false;
	qsort(d->changes, d->n, sizeof(*d->changes), cmp_change);
	if (!nm->policy && !ret)
		ret = build_common(nm, d);
	reap_removed(nm);
	if (ret) {
		/* Some nodes moved into the maps without a delta to say so. */
		nm->force_resync = true;
		netmap_delta_free(d);
		return ret;
	}
	if (!d->n && !d->resync) {
		netmap_delta_free(d);
		return 0;
	}
	*out = d;
	return 0;
}

void netmap_delta_free(struct netmap_delta *d)
{
	if (!d)
		return;
	free(d->changes);
	free(d->common);
	free(d);
}

static const struct nm_change *delta_find(const struct netmap_delta *d, int64_t id)
{
	struct nm_change key = {.id = id};

	return d->n ? bsearch(&key, d->changes, d->n, sizeof(key), cmp_change) : NULL;
}

enum netmap_self netmap_delta_self(const struct netmap_delta *d, int64_t viewer)
{
	const struct nm_change *c = delta_find(d, viewer);

	return c ? c->self : NETMAP_SELF_SAME;
}

bool netmap_delta_resync(const struct netmap_delta *d)
{
	return d->resync;
}

size_t netmap_delta_nodes(const struct netmap_delta *d)
{
	return d->n;
}

/* @head followed by @body (which brings its own closing brace). */
static int join(const char *head, size_t hlen, const char *body, size_t blen, char **out,
		size_t *len)
{
	char *s = malloc(hlen + blen + 1);

	if (!s)
		return -ENOMEM;
	memcpy(s, head, hlen);
	memcpy(s + hlen, body, blen);
	s[hlen + blen] = '\0';
	*out = s;
	*len = hlen + blen;
	return 0;
}

int netmap_delta_json(struct netmap *nm, const struct netmap_delta *d, int64_t viewer, uint64_t seq,
		      char **out, size_t *len)
{
	const struct nm_change *self = delta_find(d, viewer);
	struct ctl_map_response m = {.has_seq = true, .seq = seq};
	struct nm_entry *v;
	char *head;
	size_t hlen;
	int ret;

	*out = NULL;
	*len = 0;
	if (!nm->policy && (!self || self->self == NETMAP_SELF_SAME)) {
		if (!d->common)
			return 0;
		ret = netmap_frame_head(seq, &head, &hlen);
		if (!ret)
			ret = join(head, hlen, d->common, d->common_len, out, len);
		free(head);
		return ret;
	}
	v = find(nm, viewer);
	if (!v || !v->has_cur || (self && self->self == NETMAP_SELF_REMOVED))
		return 0;
	if (self && self->self != NETMAP_SELF_SAME)
		m.node = &v->cur;
	/* An expired node hears only that; its stream ends next. */
	ret = self && self->self == NETMAP_SELF_EXPIRED ? 0 : delta_lists(nm, d, v, &m);
	if (!ret && (m.node || m.npeers_changed || m.npeers_removed || m.npeers_patch))
		ret = ctl_map_response_encode(&m, out, len);
	delta_lists_free(&m);
	return ret;
}

/* ---- full maps ---- */

static char *put(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

#define PUT_LIT(p, lit) put(p, lit, sizeof(lit) - 1)

int netmap_full_json(struct netmap *nm, int64_t viewer, uint64_t seq, char **out, size_t *len)
{
	struct ctl_filter_rule *rules = NULL;
	char *head = NULL, *filter = NULL, *s, *p;
	size_t hlen, flen = 0, nrules = 0, total, npeers = 0;
	struct nm_entry *v = find(nm, viewer);
	int ret;

	*out = NULL;
	*len = 0;
	if (!v || !v->in_map || !v->frag)
		return -ENOENT;
	ret = netmap_frame_head(seq, &head, &hlen);
	if (ret)
		return ret;
	if (nm->policy) {
		ret = nm->policy->filter(nm->policy_arg, &v->cur, &rules, &nrules);
		if (!ret)
			ret = netmap_filter_text(rules, nrules, &filter, &flen);
		netmap_policy_rules_free(rules, nrules);
		if (ret)
			goto out_free;
	}
	total = hlen + sizeof(",\"node\":") + v->frag_len + sizeof(",\"peers\":[]");
	for (size_t i = 0; i < nm->n; i++) {
		const struct nm_entry *e = nm->order[i];

		if (e != v && e->in_map && visible(nm, v, e))
			total += e->frag_len + 1;
	}
	if (nm->relay_json)
		total += sizeof(",\"relay_map\":") + nm->relay_len;
	if (nm->dns_json)
		total += sizeof(",\"dns\":") + nm->dns_len;
	total += sizeof(",\"packet_filter\":") + (nm->policy ? flen : nm->filter_len) + 1;
	if (total > CTL_MAX_MESSAGE_JSON) {
		ret = -EMSGSIZE;
		goto out_free;
	}
	s = malloc(total + 1);
	if (!s) {
		ret = -ENOMEM;
		goto out_free;
	}
	p = put(s, head, hlen);
	p = PUT_LIT(p, ",\"node\":");
	p = put(p, v->frag, v->frag_len);
	p = PUT_LIT(p, ",\"peers\":[");
	for (size_t i = 0; i < nm->n; i++) {
		const struct nm_entry *e = nm->order[i];

		if (e == v || !e->in_map || !visible(nm, v, e))
			continue;
		if (npeers++)
			*p++ = ',';
		p = put(p, e->frag, e->frag_len);
	}
	*p++ = ']';
	if (nm->relay_json) {
		p = PUT_LIT(p, ",\"relay_map\":");
		p = put(p, nm->relay_json, nm->relay_len);
	}
	if (nm->dns_json) {
		p = PUT_LIT(p, ",\"dns\":");
		p = put(p, nm->dns_json, nm->dns_len);
	}
	p = PUT_LIT(p, ",\"packet_filter\":");
	p = nm->policy ? put(p, filter, flen) : put(p, nm->filter_json, nm->filter_len);
	*p++ = '}';
	*p = '\0';
	*out = s;
	*len = (size_t)(p - s);
out_free:
	free(head);
	free(filter);
	return ret;
}
