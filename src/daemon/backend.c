// SPDX-License-Identifier: MIT
/*
 * The backend state machine and the glue between control, engine and OS.
 *
 * Invariants:
 * - b->engine exists exactly in Starting and Running;
 * - the map stream runs exactly while the engine exists;
 * - the state file is saved before a change is reported to watchers, so
 *   what a client saw survives a crash;
 * - the netmap is applied to the engine peer by peer (netmap_ops), never by
 *   rebuilding: unchanged peers keep their sessions.
 */
#include "daemon/backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "control/client.h"
#include "crypto/keys.h"
#include "daemon/dnshost.h"
#include "daemon/engine.h"
#include "daemon/icmp.h"
#include "daemon/netmap.h"
#include "daemon/state.h"
#include "filter/filter.h"
#include "magicsock/magicsock.h"
#include "net/tls.h"
#include "router/router.h"
#include "util/compiler.h"
#include "util/log.h"
#include "wg/device.h"

enum {
	MAX_WATCHERS = 64,
	MAX_LOCAL_ENDPOINTS = 16,
};

struct watcher {
	backend_event_cb *cb;
	void *ctx;
};

enum {
	MAX_PINGS = 16,
	PING_INTERVAL_MS = 1000,
};

struct ping_session {
	struct backend *b;
	uv_timer_t timer;
	backend_ping_cb *cb;
	void *ctx;
	struct ip_addr dst;
	char name[CTL_NAME_MAX + 1];
	uint8_t key[KEY_LEN]; /* the peer's node key, for its endpoint */
	uint16_t id, seq;
	uint64_t sent_ns; /* of the outstanding request, 0 = none */
	unsigned count, results;
	bool active;
	bool ms_pending; /* a disco ping is out: magicsock calls back, keep the memory */
};

struct backend {
	uv_loop_t *loop;
	struct backend_config cfg;
	char state_dir[512], tun_name[IFNAMSIZ], tls_ca[512];
	struct state *st;
	enum backend_state state;
	char auth_url[CTL_URL_MAX + 1];
	char pending_id[CTL_TOKEN_MAX + 1];
	char last_error[512];

	struct ctl_client *ctl;
	char ctl_url[PREFS_URL_MAX + 1]; /* the server ctl talks to */
	bool registering;
	bool logging_out;
	char *auth_key; /* only while a registration needs it; wiped */

	uint8_t disco_private[KEY_LEN], disco_public[KEY_LEN]; /* per run */
	uint8_t node_public[KEY_LEN];

	struct engine *engine;
	struct dnshost *dns;   /* exists with the engine */
	struct filter *filter; /* exists with the engine */
	struct magicsock *ms;  /* owned by the engine; valid while b->engine is */
	struct tls_config *relay_tls;
	struct router router;
	bool router_open;
	struct netmap nm;

	struct watcher watchers[MAX_WATCHERS];
	unsigned nwatchers;
	struct ping_session *pings[MAX_PINGS];
};

static const char *const state_names[] = {
	[BACKEND_NO_STATE] = "NoState",	 [BACKEND_NEEDS_LOGIN] = "NeedsLogin",
	[BACKEND_STARTING] = "Starting", [BACKEND_RUNNING] = "Running",
	[BACKEND_STOPPED] = "Stopped",
};

const char *backend_state_name(enum backend_state s)
{
	return state_names[s];
}

/* ---- events ---- */

static void emit(struct backend *b, cJSON *ev)
{
	for (unsigned i = 0; i < b->nwatchers; i++)
		b->watchers[i].cb(b->watchers[i].ctx, ev);
	cJSON_Delete(ev);
}

static void set_state(struct backend *b, enum backend_state s)
{
	cJSON *ev;

	if (b->state == s)
		return;
	log_info("backend", "state %s -> %s", state_names[b->state], state_names[s]);
	b->state = s;
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "state", state_names[s]);
	emit(b, ev);
}

static void emit_error(struct backend *b, const char *msg)
{
	cJSON *ev = cJSON_CreateObject();

	snprintf(b->last_error, sizeof(b->last_error), "%s", msg);
	log_warn("backend", "%s", msg);
	cJSON_AddStringToObject(ev, "error", msg);
	emit(b, ev);
}

int backend_watch(struct backend *b, backend_event_cb *cb, void *ctx)
{
	cJSON *ev;

	if (b->nwatchers == MAX_WATCHERS)
		return -EBUSY;
	b->watchers[b->nwatchers++] = (struct watcher){cb, ctx};
	ev = cJSON_CreateObject();
	cJSON_AddStringToObject(ev, "state", state_names[b->state]);
	if (b->state == BACKEND_NEEDS_LOGIN && b->auth_url[0]) {
		cJSON_AddStringToObject(ev, "auth_url", b->auth_url);
		cJSON_AddStringToObject(ev, "register_id", b->pending_id);
	}
	cb(ctx, ev);
	cJSON_Delete(ev);
	return 0;
}

void backend_unwatch(struct backend *b, backend_event_cb *cb, void *ctx)
{
	for (unsigned i = 0; i < b->nwatchers; i++) {
		if (b->watchers[i].cb == cb && b->watchers[i].ctx == ctx) {
			b->watchers[i] = b->watchers[--b->nwatchers];
			return;
		}
	}
}

static int save(struct backend *b)
{
	char err[512];
	int ret = state_save(b->st, err, sizeof(err));

	if (ret)
		log_error("backend", "%s", err);
	return ret;
}

/* ---- what we tell the control server ---- */

static bool is_mesh_addr(const struct ip_addr *a)
{
	static const uint8_t v6[6] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0};

	if (a->family == IP_FAMILY_V4)
		return a->bytes[0] == 100 && (a->bytes[1] & 0xc0) == 64;
	return !memcmp(a->bytes, v6, sizeof(v6));
}

/* Our candidate endpoints: every usable local address with our UDP port. */
static size_t local_endpoints(struct backend *b, struct ip_endpoint *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	uint16_t port = b->engine ? engine_port(b->engine) : 0;
	size_t n = 0;

	if (b->ms)
		return magicsock_local_endpoints(b->ms, out, (unsigned)max);
	if (!port || getifaddrs(&ifa))
		return 0;
	for (i = ifa; i && n < max; i = i->ifa_next) {
		struct ip_endpoint ep;

		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (!strcmp(i->ifa_name, b->tun_name))
			continue;
		if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)
			continue;
		if (ip_endpoint_from_sockaddr(&ep, i->ifa_addr))
			continue;
		if (ep.addr.family == IP_FAMILY_V6 && ep.addr.bytes[0] == 0xfe &&
		    (ep.addr.bytes[1] & 0xc0) == 0x80)
			continue; /* link-local: needs a zone, useless to peers */
		if (is_mesh_addr(&ep.addr))
			continue;
		ep.port = port;
		out[n++] = ep;
	}
	freeifaddrs(ifa);
	return n;
}

struct hostinfo_buf {
	char hostname[PREFS_HOSTNAME_MAX + 1];
	struct ip_prefix routes[PREFS_ROUTES_MAX + 2];
	char *tags[PREFS_TAGS_MAX];
};

static void fill_hostinfo(struct backend *b, struct ctl_hostinfo *h, struct hostinfo_buf *hb)
{
	const struct prefs *p = &b->st->prefs;
	size_t n = 0;

	memset(h, 0, sizeof(*h));
	if (p->hostname[0])
		snprintf(hb->hostname, sizeof(hb->hostname), "%s", p->hostname);
	else if (gethostname(hb->hostname, sizeof(hb->hostname)))
		snprintf(hb->hostname, sizeof(hb->hostname), "node");
	hb->hostname[sizeof(hb->hostname) - 1] = '\0';
	h->hostname = hb->hostname;
	h->os = (char *)"linux";
	for (size_t i = 0; i < p->advertise_routes.n; i++)
		hb->routes[n++] = p->advertise_routes.prefix[i];
	if (p->advertise_exit_node) {
		ip_prefix_parse(&hb->routes[n++], "0.0.0.0/0", NULL);
		ip_prefix_parse(&hb->routes[n++], "::/0", NULL);
	}
	h->routes = hb->routes;
	h->nroutes = n;
	for (size_t i = 0; i < p->advertise_tags.n; i++)
		hb->tags[i] = (char *)p->advertise_tags.tag[i];
	h->tags = hb->tags;
	h->ntags = p->advertise_tags.n;
}

/* ---- control client ---- */

static void on_register(void *ctx, int err, const char *errmsg, struct ctl_register_response *r);
static void on_map_frame(void *ctx, struct ctl_map_response *frame);
static void derive_keys(struct backend *b);
static void on_map_state(void *ctx, bool connected, const char *error);

static const struct ctl_client_ops ctl_ops = {
	.on_register = on_register,
	.on_map_frame = on_map_frame,
	.on_map_state = on_map_state,
};

static const char *login_server(const struct backend *b)
{
	return b->st->prefs.login_server[0] ? b->st->prefs.login_server : b->st->login_server;
}

static int ensure_ctl(struct backend *b, char *err, size_t errlen)
{
	const char *url = login_server(b);
	struct ctl_client_config cfg = {
		.server_url = url,
		.machine_private = b->st->machine_key,
		.tls_ca_file = b->tls_ca[0] ? b->tls_ca : NULL,
	};

	if (!url[0]) {
		snprintf(err, errlen, "no login server: use meshctl up --login-server URL");
		return -EINVAL;
	}
	if (b->ctl && !strcmp(b->ctl_url, url))
		return 0;
	ctl_client_free(b->ctl);
	b->ctl = NULL;
	if (b->st->has_server_key && !strcmp(b->st->login_server, url))
		cfg.server_public = b->st->server_key;
	snprintf(b->ctl_url, sizeof(b->ctl_url), "%s", url);
	return ctl_client_new(&b->ctl, b->loop, &cfg, &ctl_ops, b, err, errlen);
}

static int send_register(struct backend *b, const char *followup, bool logout)
{
	struct ctl_register_request req = {.version = CTL_PROTOCOL_VERSION};
	struct ip_endpoint eps[MAX_LOCAL_ENDPOINTS];
	struct hostinfo_buf hb;
	int ret;

	memcpy(req.node_key, b->node_public, KEY_LEN);
	if (b->st->has_old_node_key) {
		req.has_old_node_key = true;
		key_public_from_private(req.old_node_key, b->st->old_node_key);
	}
	memcpy(req.disco_key, b->disco_public, KEY_LEN);
	fill_hostinfo(b, &req.hostinfo, &hb);
	req.auth_key = b->auth_key;
	req.followup = (char *)followup;
	req.logout = logout;
	req.endpoints = eps;
	req.nendpoints = local_endpoints(b, eps, MAX_LOCAL_ENDPOINTS);
	b->registering = true;
	ret = ctl_client_register(b->ctl, &req);
	if (ret)
		b->registering = false;
	return ret;
}

static int start_map(struct backend *b)
{
	struct ctl_map_request req = {.version = CTL_PROTOCOL_VERSION, .stream = true};
	struct ip_endpoint eps[MAX_LOCAL_ENDPOINTS];
	struct hostinfo_buf hb;

	memcpy(req.node_key, b->node_public, KEY_LEN);
	memcpy(req.disco_key, b->disco_public, KEY_LEN);
	req.endpoints = eps;
	req.nendpoints = local_endpoints(b, eps, MAX_LOCAL_ENDPOINTS);
	req.has_hostinfo = true;
	fill_hostinfo(b, &req.hostinfo, &hb);
	return ctl_client_map_start(b->ctl, &req);
}

/* ---- engine and OS ---- */

static void engine_dead(void *ctx, const char *why);
static bool engine_inbound(void *ctx, const uint8_t *pkt, size_t len);
static bool engine_outbound(void *ctx, const uint8_t *pkt, size_t len);
static void ping_end(struct ping_session *p, bool notify);

/* ---- routes: which prefixes go into the tunnel ---- */

static bool is_own_address(const struct ctl_node *n, const struct ip_prefix *p)
{
	for (size_t i = 0; i < n->naddresses; i++)
		if (ip_prefix_equal(&n->addresses[i], p))
			return true;
	return false;
}

static bool offers_exit(const struct ctl_node *n)
{
	for (size_t i = 0; i < n->nallowed_ips; i++)
		if (n->allowed_ips[i].bits == 0)
			return true;
	return false;
}

/* The peer chosen with --exit-node (by name or mesh IP), if it offers to be one. */
static const struct ctl_node *exit_node(const struct backend *b)
{
	const char *want = b->st->prefs.exit_node;
	const struct ctl_node *n;
	struct ip_addr a;

	if (!want[0])
		return NULL;
	n = ip_addr_parse(&a, want, NULL) ? netmap_peer_by_name(&b->nm, want)
					  : netmap_peer_by_addr(&b->nm, &a);
	return n && offers_exit(n) ? n : NULL;
}

/*
 * Whether @p, one of peer @n's allowed IPs, is routed to it: its own
 * addresses always; subnet routes with --accept-routes; the default routes
 * only for the chosen exit node (every prefix belongs to one peer).
 */
static bool route_wanted(const struct backend *b, const struct ctl_node *n,
			 const struct ip_prefix *p)
{
	if (is_own_address(n, p))
		return true;
	if (p->bits == 0)
		return exit_node(b) == n;
	return b->st->prefs.accept_routes;
}

struct route_list {
	struct ip_prefix *v;
	size_t n, cap;
	const struct backend *b;
};

static void route_push(struct route_list *l, const struct ip_prefix *p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct ip_prefix *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *p;
}

static void collect_routes(const struct ctl_node *n, void *arg)
{
	struct route_list *l = arg;

	for (size_t i = 0; i < n->nallowed_ips; i++)
		if (!is_own_address(n, &n->allowed_ips[i]) &&
		    route_wanted(l->b, n, &n->allowed_ips[i]))
			route_push(l, &n->allowed_ips[i]);
}

/* With an exit node and LAN access: the directly attached subnets stay off the mesh. */
static void collect_lan_routes(struct backend *b, struct route_list *l)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i; i = i->ifa_next) {
		struct ip_endpoint ep, mask;
		struct ip_prefix p;
		unsigned bits = 0;

		if (!i->ifa_addr || !i->ifa_netmask || !(i->ifa_flags & IFF_UP) ||
		    (i->ifa_flags & IFF_LOOPBACK) || !strcmp(i->ifa_name, b->tun_name))
			continue;
		if (ip_endpoint_from_sockaddr(&ep, i->ifa_addr) ||
		    ip_endpoint_from_sockaddr(&mask, i->ifa_netmask) ||
		    mask.addr.family != ep.addr.family)
			continue;
		for (size_t k = 0; k < (ep.addr.family == IP_FAMILY_V4 ? 4u : 16u); k++)
			bits += (unsigned)__builtin_popcount(mask.addr.bytes[k]);
		p.addr = ep.addr;
		p.bits = (uint8_t)bits;
		ip_prefix_mask(&p);
		route_push(l, &p);
	}
	freeifaddrs(ifa);
}

/*
 * What inbound packets may be addressed to: our own addresses, and what we
 * route for others (advertised subnets; everything, as an exit node).
 */
static void filter_set_local(struct backend *b, const struct ip_prefix *addrs, size_t n)
{
	const struct prefs *pr = &b->st->prefs;
	struct ip_prefix routes[PREFS_ROUTES_MAX + 2];
	struct ip_addr own[CTL_MAX_ADDRESSES];
	size_t nr = 0;

	for (size_t i = 0; i < n; i++)
		own[i] = addrs[i].addr;
	for (size_t i = 0; i < pr->advertise_routes.n; i++)
		routes[nr++] = pr->advertise_routes.prefix[i];
	if (pr->advertise_exit_node) {
		ip_prefix_parse(&routes[nr++], "0.0.0.0/0", NULL);
		ip_prefix_parse(&routes[nr++], "::/0", NULL);
	}
	if (filter_set_addresses(b->filter, own, n, routes, nr))
		log_warn("backend", "packet filter: cannot set local addresses");
}

static void apply_router(struct backend *b)
{
	struct ip_prefix addrs[CTL_MAX_ADDRESSES];
	struct route_list routes = {.b = b}, local = {.b = b};
	const struct prefs *pr = &b->st->prefs;
	struct router_config rc = {.mtu = 0};
	size_t n = 0;
	int ret;

	if (!b->router_open || !b->engine)
		return;
	if (b->nm.has_self) {
		for (size_t i = 0; i < b->nm.self.naddresses && n < CTL_MAX_ADDRESSES; i++)
			addrs[n++] = b->nm.self.addresses[i];
	} else if (b->st->has_node) {
		for (size_t i = 0; i < b->st->node.naddresses && n < CTL_MAX_ADDRESSES; i++) {
			addrs[n].addr = b->st->node.addresses[i];
			addrs[n].bits = addrs[n].addr.family == IP_FAMILY_V4 ? 32 : 128;
			n++;
		}
	}
	route_push(&routes, &b->router.ids.mesh_v4);
	route_push(&routes, &b->router.ids.mesh_v6);
	netmap_for_each_peer(&b->nm, collect_routes, &routes);
	if (exit_node(b) && pr->exit_node_allow_lan_access)
		collect_lan_routes(b, &local);
	rc.addrs = addrs;
	rc.n_addrs = n;
	rc.routes = routes.v;
	rc.n_routes = routes.n;
	rc.local_routes = local.v;
	rc.n_local_routes = local.n;
	/* A subnet router or exit node forwards (and by default masquerades) for the mesh. */
	rc.forwarding = pr->advertise_routes.n || pr->advertise_exit_node;
	rc.firewall = rc.forwarding;
	rc.snat = rc.forwarding && pr->snat_subnet_routes;
	ret = router_apply(&b->router, &rc);
	if (ret < 0)
		log_error("backend", "cannot configure %s: %s", b->tun_name, strerror(-ret));
	if (b->filter)
		filter_set_local(b, addrs, n);
	free(routes.v);
	free(local.v);
}

/* MagicDNS answers go to the TUN as if they came from 100.100.100.100. */
static int dns_write(void *ctx, const uint8_t *pkt, size_t len)
{
	struct backend *b = ctx;

	return b->engine ? engine_tun_inject(b->engine, pkt, len) : -ENOTCONN;
}

/* Packets read from the TUN: MagicDNS takes its own; the filter notes flows for replies. */
static bool engine_outbound(void *ctx, const uint8_t *pkt, size_t len)
{
	struct backend *b = ctx;

	if (dnshost_outbound(b->dns, pkt, len))
		return true;
	if (b->filter)
		filter_note_outbound(b->filter, pkt, len);
	return false;
}

/* Our endpoints or home relay changed: tell the control server (and so every peer). */
static void ms_changed(struct magicsock *ms, void *arg)
{
	struct backend *b = arg;

	(void)ms;
	if (b->engine && b->ctl && b->state != BACKEND_STOPPED) {
		log_debug("backend", "local endpoints changed; updating the control server");
		start_map(b);
	}
}

static int start_magicsock(struct backend *b, char *err, size_t errlen)
{
	struct magicsock_config mc = {
		.port = b->cfg.port,
		.fwmark = ROUTER_FWMARK_BYPASS,
		.node_private_key = b->st->node_key,
		.disco_private_key = b->disco_private,
		.exclude_ifname = b->tun_name,
		.on_change = ms_changed,
		.arg = b,
	};
	int ret;

	/* Relays of an https control server speak TLS too, verified like it. */
	if (!b->relay_tls && !strncmp(login_server(b), "https://", 8)) {
		ret = tls_config_new_client(&b->relay_tls, true, b->tls_ca[0] ? b->tls_ca : NULL,
					    err, errlen);
		if (ret)
			return ret;
	}
	mc.relay_tls = b->relay_tls;
	ret = magicsock_new(&b->ms, b->loop, &mc);
	if (ret)
		snprintf(err, errlen, "cannot start magicsock: %s", strerror(-ret));
	return ret;
}

static int start_engine(struct backend *b, char *err, size_t errlen)
{
	struct engine_config ec = {
		.ifname = b->tun_name,
		.port = b->cfg.port,
		.fwmark = ROUTER_FWMARK_BYPASS,
		.uapi = true,
		.uapi_read_only = true,
		.uapi_optional = true,
		.on_dead = engine_dead,
		.inbound = engine_inbound,
		.outbound = engine_outbound,
		.ctx = b,
	};
	int ret;

	if (b->engine)
		return 0;
	ret = start_magicsock(b, err, errlen);
	if (ret)
		return ret;
	ec.ms = b->ms;
	ret = engine_start(&b->engine, b->loop, &ec, err, errlen);
	if (ret) {
		b->engine = NULL;
		b->ms = NULL; /* the engine freed it */
		return ret;
	}
	wg_device_set_private_key(engine_device(b->engine), b->st->node_key);
	if (dnshost_new(&b->dns, b->loop, b->state_dir, b->tun_name, ROUTER_FWMARK_BYPASS,
			dns_write, b))
		log_warn("backend", "MagicDNS unavailable: out of memory");
	if (filter_create(&b->filter, NULL))
		log_warn("backend", "packet filter unavailable: out of memory");
	else
		filter_set_shields_up(b->filter, b->st->prefs.shields_up);
	netmap_free(&b->nm);
	netmap_init(&b->nm);
	apply_router(b);
	log_info("backend", "engine up iface=%s port=%u", b->tun_name, engine_port(b->engine));
	return 0;
}

static void stop_engine(struct backend *b)
{
	if (b->ctl)
		ctl_client_map_stop(b->ctl);
	dnshost_free(b->dns); /* restores the host's resolver first */
	b->dns = NULL;
	filter_destroy(b->filter);
	b->filter = NULL;
	if (b->engine) {
		engine_log_stats(b->engine);
		engine_stop(b->engine); /* frees the magicsock too */
		b->engine = NULL;
		b->ms = NULL;
	}
	if (b->router_open)
		router_cleanup(&b->router);
	netmap_free(&b->nm);
	netmap_init(&b->nm);
}

static void engine_dead(void *ctx, const char *why)
{
	struct backend *b = ctx;
	char err[256];

	emit_error(b, why);
	stop_engine(b);
	/* Someone deleted our interface: make a new one and carry on. */
	if (b->st->prefs.want_running && b->st->has_node && !start_engine(b, err, sizeof(err))) {
		set_state(b, BACKEND_STARTING);
		start_map(b);
	} else {
		set_state(b, BACKEND_STOPPED);
	}
}

/* ---- netmap -> engine ---- */

static void set_peer_endpoint(struct backend *b, struct wg_peer *peer, const struct ctl_node *n)
{
	struct ip_endpoint cur;
	size_t i;

	/* With magicsock the engine sends to a per-peer pseudo-endpoint; magicsock picks the path. */
	if (b->ms) {
		struct magicsock_peer mp = {
			.node_key = n->node_key,
			.disco_key = n->has_disco_key ? n->disco_key : NULL,
			.endpoints = n->endpoints,
			.nendpoints = n->nendpoints,
			.home_region = n->home_relay,
		};

		if (magicsock_upsert_peer(b->ms, &mp))
			log_warn("backend", "magicsock: cannot track peer %s", n->name);
		if (!magicsock_peer_pseudo_endpoint(b->ms, n->node_key, &cur))
			wg_peer_set_endpoint(peer, &cur);
		return;
	}

	if (!n->nendpoints)
		return;
	/* Keep a working endpoint (learned by roaming) if it is still advertised. */
	if (wg_peer_get_endpoint(peer, &cur))
		for (i = 0; i < n->nendpoints; i++)
			if (cur.port == n->endpoints[i].port &&
			    ip_addr_equal(&cur.addr, &n->endpoints[i].addr))
				return;
	/* Prefer IPv4: the common reachable path on the networks we run on today. */
	for (i = 0; i < n->nendpoints; i++) {
		if (n->endpoints[i].addr.family == IP_FAMILY_V4) {
			wg_peer_set_endpoint(peer, &n->endpoints[i]);
			return;
		}
	}
	wg_peer_set_endpoint(peer, &n->endpoints[0]);
}

static void peer_configure(struct backend *b, struct wg_peer *peer, const struct ctl_node *n)
{
	wg_peer_clear_allowed_ips(peer);
	for (size_t i = 0; i < n->nallowed_ips; i++)
		if (route_wanted(b, n, &n->allowed_ips[i]))
			wg_peer_add_allowed_ip(peer, &n->allowed_ips[i]);
	set_peer_endpoint(b, peer, n);
}

/* After a prefs or netmap change that moves routes: every peer, then the OS. */
static void reconfigure_peers(const struct ctl_node *n, void *arg)
{
	struct backend *b = arg;
	struct wg_peer *peer = wg_device_peer_lookup(engine_device(b->engine), n->node_key);

	if (peer)
		peer_configure(b, peer, n);
}

static void reconfigure(struct backend *b)
{
	if (!b->engine)
		return;
	netmap_for_each_peer(&b->nm, reconfigure_peers, b);
	apply_router(b);
	if (b->dns)
		dnshost_set_os(b->dns, b->st->prefs.accept_dns);
	if (b->filter)
		filter_set_shields_up(b->filter, b->st->prefs.shields_up);
}

static void nm_peer_added(void *ctx, const struct ctl_node *n)
{
	struct backend *b = ctx;
	struct wg_peer *peer;
	int ret;

	if (!b->engine || n->expired)
		return;
	ret = wg_device_peer_create(engine_device(b->engine), n->node_key, &peer);
	if (ret) {
		log_warn("backend", "cannot add peer %s: %s", n->name, strerror(-ret));
		return;
	}
	peer_configure(b, peer, n);
	log_debug("backend", "peer added name=%s", n->name);
}

static void nm_peer_removed(void *ctx, const struct ctl_node *n)
{
	struct backend *b = ctx;
	struct wg_peer *peer;

	if (!b->engine)
		return;
	peer = wg_device_peer_lookup(engine_device(b->engine), n->node_key);
	if (peer)
		wg_peer_remove(peer);
	if (b->ms)
		magicsock_remove_peer(b->ms, n->node_key);
	log_debug("backend", "peer removed name=%s", n->name);
}

static void nm_peer_changed(void *ctx, const struct ctl_node *old, const struct ctl_node *n)
{
	struct backend *b = ctx;
	struct wg_peer *peer;

	if (!b->engine)
		return;
	/*
	 * A new disco key means the peer's meshd restarted and lost its sessions:
	 * start over at once instead of waiting out ours (up to 15 s).
	 */
	if (memcmp(old->node_key, n->node_key, KEY_LEN) || old->expired != n->expired ||
	    (old->has_disco_key && n->has_disco_key &&
	     memcmp(old->disco_key, n->disco_key, KEY_LEN))) {
		nm_peer_removed(ctx, old);
		nm_peer_added(ctx, n);
		return;
	}
	peer = wg_device_peer_lookup(engine_device(b->engine), n->node_key);
	if (peer)
		peer_configure(b, peer, n);
}

static void nm_self_changed(void *ctx, const struct ctl_node *self)
{
	struct backend *b = ctx;
	struct state_node *sn = &b->st->node;

	sn->id = (int64_t)self->id;
	snprintf(sn->name, sizeof(sn->name), "%s", self->name ? self->name : "");
	snprintf(sn->user, sizeof(sn->user), "%s", self->user ? self->user : "");
	sn->key_expiry = self->key_expiry;
	sn->naddresses = 0;
	for (size_t i = 0; i < self->naddresses && i < STATE_ADDRS_MAX; i++)
		sn->addresses[sn->naddresses++] = self->addresses[i].addr;
	save(b);
	apply_router(b);
}

static void nm_filter_changed(void *ctx, const struct ctl_filter_rule *rules, size_t n,
			      bool has_filter)
{
	struct backend *b = ctx;

	if (b->filter && filter_set_rules(b->filter, rules, n, has_filter))
		log_warn("backend", "packet filter: rules refused; denying new inbound traffic");
}

static void nm_relay_map_changed(void *ctx, const struct ctl_relay_map *map)
{
	struct backend *b = ctx;

	if (b->ms && magicsock_set_relay_map(b->ms, map))
		log_warn("backend", "magicsock: cannot use the relay map");
}

static const struct netmap_ops nm_ops = {
	.relay_map_changed = nm_relay_map_changed,
	.filter_changed = nm_filter_changed,
	.peer_added = nm_peer_added,
	.peer_changed = nm_peer_changed,
	.peer_removed = nm_peer_removed,
	.self_changed = nm_self_changed,
};

static void on_map_frame(void *ctx, struct ctl_map_response *frame)
{
	struct backend *b = ctx;
	int ret;

	if (!b->engine)
		return;
	ret = netmap_apply(&b->nm, frame, &nm_ops, b);
	if (ret) {
		log_warn("backend", "map stream out of order (%s); restarting it", strerror(-ret));
		start_map(b);
		return;
	}
	if (b->nm.has_self && b->nm.self.expired) {
		/*
		 * Our node key expired (or an admin expired it). Ask for a renewal:
		 * a new node key, registered by the same machine key with the old
		 * one named. The server decides whether that needs a human again;
		 * if so the answer is a pending id, shown like any login.
		 */
		log_info("backend", "node key expired; asking %s to renew it", b->ctl_url);
		stop_engine(b);
		memcpy(b->st->old_node_key, b->st->node_key, KEY_LEN);
		b->st->has_old_node_key = true;
		key_generate_private(b->st->node_key);
		derive_keys(b);
		b->st->has_node = false;
		save(b);
		set_state(b, BACKEND_NEEDS_LOGIN);
		if (send_register(b, NULL, false))
			emit_error(b, "node key expired and the renewal could not be sent");
		return;
	}
	/* Accepted subnet routes follow the peers; the router applies only differences. */
	apply_router(b);
	if (b->dns) {
		dnshost_update(b->dns, &b->nm, b->nm.extra.dns);
		dnshost_set_os(b->dns, b->st->prefs.accept_dns);
	}
	if (b->nm.has_full_map && b->state == BACKEND_STARTING)
		set_state(b, BACKEND_RUNNING);
}

static void on_map_state(void *ctx, bool connected, const char *error)
{
	struct backend *b = ctx;

	if (connected)
		log_info("backend", "connected to %s", b->ctl_url);
	else
		log_warn("backend", "%s (tunnels stay up)", error ? error : "map stream down");
}

/* ---- registration ---- */

static void wipe_auth_key(struct backend *b)
{
	if (b->auth_key) {
		sodium_memzero(b->auth_key, strlen(b->auth_key));
		free(b->auth_key);
		b->auth_key = NULL;
	}
}

static void begin_running(struct backend *b)
{
	char err[512];

	if (start_engine(b, err, sizeof(err))) {
		emit_error(b, err);
		set_state(b, BACKEND_STOPPED);
		return;
	}
	set_state(b, BACKEND_STARTING);
	if (start_map(b))
		emit_error(b, "cannot start the map stream");
}

static void on_register(void *ctx, int err, const char *errmsg, struct ctl_register_response *r)
{
	struct backend *b = ctx;
	const uint8_t *server_key;
	cJSON *ev;

	b->registering = false;
	if (b->logging_out) {
		b->logging_out = false;
		if (err)
			log_warn("backend", "logout: %s (forgetting the node anyway)", errmsg);
		return;
	}
	if (err) {
		wipe_auth_key(b);
		emit_error(b, errmsg);
		set_state(b, BACKEND_NEEDS_LOGIN);
		return;
	}
	server_key = ctl_client_server_key(b->ctl);
	if (server_key) {
		memcpy(b->st->server_key, server_key, KEY_LEN);
		b->st->has_server_key = true;
	}
	if (r->error) {
		wipe_auth_key(b);
		emit_error(b, r->error);
		set_state(b, BACKEND_NEEDS_LOGIN);
		save(b);
		return;
	}
	if (!r->authorized) {
		/* Waiting for an admin: show where, then wait on the same id. */
		snprintf(b->pending_id, sizeof(b->pending_id), "%s",
			 r->pending_id ? r->pending_id : "");
		snprintf(b->auth_url, sizeof(b->auth_url), "%s", r->auth_url ? r->auth_url : "");
		set_state(b, BACKEND_NEEDS_LOGIN);
		ev = cJSON_CreateObject();
		cJSON_AddStringToObject(ev, "auth_url", b->auth_url);
		cJSON_AddStringToObject(ev, "register_id", b->pending_id);
		emit(b, ev);
		if (b->pending_id[0])
			send_register(b, b->pending_id, false);
		return;
	}
	wipe_auth_key(b);
	b->auth_url[0] = b->pending_id[0] = '\0';
	b->st->has_node = true;
	b->st->has_old_node_key = false;
	snprintf(b->st->login_server, sizeof(b->st->login_server), "%s", b->ctl_url);
	b->st->node.id = (int64_t)r->node_id;
	snprintf(b->st->node.name, sizeof(b->st->node.name), "%s", r->name ? r->name : "");
	snprintf(b->st->node.user, sizeof(b->st->node.user), "%s", r->user ? r->user : "");
	b->st->node.key_expiry = r->key_expiry;
	b->st->node.naddresses = 0;
	for (size_t i = 0; i < r->naddresses && i < STATE_ADDRS_MAX; i++)
		b->st->node.addresses[b->st->node.naddresses++] = r->addresses[i].addr;
	save(b);
	log_info("backend", "registered as %s", b->st->node.name);
	if (b->st->prefs.want_running)
		begin_running(b);
	else
		set_state(b, BACKEND_STOPPED);
}

/* ---- public API ---- */

static void derive_keys(struct backend *b)
{
	key_public_from_private(b->node_public, b->st->node_key);
}

int backend_start(struct backend **out, uv_loop_t *loop, const struct backend_config *cfg,
		  char *err, size_t errlen)
{
	struct router_ids ids;
	struct backend *b;
	bool created;
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->loop = loop;
	snprintf(b->state_dir, sizeof(b->state_dir), "%s", cfg->state_dir);
	snprintf(b->tun_name, sizeof(b->tun_name), "%s", cfg->tun_name);
	snprintf(b->tls_ca, sizeof(b->tls_ca), "%s", cfg->tls_ca_file ? cfg->tls_ca_file : "");
	b->cfg = *cfg;
	netmap_init(&b->nm);
	ret = state_load(&b->st, b->state_dir, &created, err, errlen);
	if (ret)
		goto err_free;
	derive_keys(b);
	crypto_box_keypair(b->disco_public, b->disco_private);

	ret = router_ids_init(&ids, b->tun_name);
	if (!ret)
		ret = router_open(&b->router, &ids);
	if (ret) {
		snprintf(err, errlen, "cannot open the OS router: %s", strerror(-ret));
		goto err_state;
	}
	b->router_open = true;
	/* Leftovers of a crashed run: our rules, routes, firewall table, resolver settings. */
	router_cleanup(&b->router);
	dnshost_cleanup_os(b->state_dir);

	if (!b->st->has_node) {
		b->state = b->st->prefs.want_running || login_server(b)[0] ? BACKEND_NEEDS_LOGIN
									   : BACKEND_NO_STATE;
	} else if (!b->st->prefs.want_running) {
		b->state = BACKEND_STOPPED;
	} else {
		b->state = BACKEND_NO_STATE;
		if (ensure_ctl(b, err, errlen)) {
			log_error("backend", "%s", err);
			b->state = BACKEND_NEEDS_LOGIN;
		} else {
			begin_running(b);
		}
	}
	log_info("backend", "started state=%s state_dir=%s", state_names[b->state], b->state_dir);
	*out = b;
	return 0;

err_state:
	state_free(b->st);
err_free:
	free(b);
	return ret;
}

void backend_shutdown(struct backend *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < MAX_PINGS; i++)
		if (b->pings[i])
			ping_end(b->pings[i], true);
	stop_engine(b);
	ctl_client_free(b->ctl);
	tls_config_free(b->relay_tls);
	wipe_auth_key(b);
	if (b->router_open)
		router_close(&b->router);
	save(b);
	state_free(b->st);
	netmap_free(&b->nm);
	sodium_memzero(b, sizeof(*b));
	free(b);
}

int backend_cleanup_os(const struct backend_config *cfg, char *err, size_t errlen)
{
	struct router_ids ids;
	struct router r;
	int ret;

	ret = router_ids_init(&ids, cfg->tun_name);
	if (!ret)
		ret = router_open(&r, &ids);
	if (ret) {
		snprintf(err, errlen, "cannot open the OS router: %s", strerror(-ret));
		return ret;
	}
	ret = router_cleanup(&r);
	router_close(&r);
	dnshost_cleanup_os(cfg->state_dir);
	if (ret)
		snprintf(err, errlen, "cleanup failed: %s", strerror(-ret));
	return ret;
}

enum backend_state backend_get_state(const struct backend *b)
{
	return b->state;
}

const struct prefs *backend_prefs(const struct backend *b)
{
	return &b->st->prefs;
}

static int merge_prefs(struct backend *b, const struct prefs *p, const struct prefs_mask *mask,
		       bool reset, char *err, size_t errlen)
{
	struct prefs merged = b->st->prefs, old = b->st->prefs;
	enum prefs_field bad;
	char msg[256];
	int ret;

	prefs_apply(&merged, p, mask, reset);
	ret = prefs_validate(&merged, &bad, msg, sizeof(msg));
	if (ret) {
		snprintf(err, errlen, "%s: %s", prefs_field_name(bad), msg);
		return ret;
	}
	b->st->prefs = merged;
	/* An exit node must be a peer that offers to be one (checked once we know the peers). */
	if (merged.exit_node[0] && b->nm.has_full_map && !exit_node(b)) {
		snprintf(err, errlen,
			 "exit node %s is not a peer offering to be an exit node "
			 "(see meshctl status)",
			 merged.exit_node);
		b->st->prefs = old;
		return -EINVAL;
	}
	return 0;
}

int backend_up(struct backend *b, const struct prefs *p, const struct prefs_mask *mask, bool reset,
	       const char *auth_key, char *err, size_t errlen)
{
	bool server_changed;
	int ret;

	ret = merge_prefs(b, p, mask, reset, err, errlen);
	if (ret)
		return ret;
	b->st->prefs.want_running = true;
	server_changed = b->st->has_node && b->st->prefs.login_server[0] &&
			 strcmp(b->st->prefs.login_server, b->st->login_server);
	ret = ensure_ctl(b, err, errlen);
	if (ret)
		return ret;
	if (server_changed) {
		/* Another control server: a new node there. */
		stop_engine(b);
		b->st->has_node = false;
		b->st->has_server_key = false;
	}
	save(b);
	if (b->st->has_node) {
		reconfigure(b);
		if (!b->engine)
			begin_running(b);
		else if (b->state == BACKEND_RUNNING)
			set_state(b, BACKEND_RUNNING);
		return 0;
	}
	wipe_auth_key(b);
	if (auth_key && auth_key[0]) {
		b->auth_key = strdup(auth_key);
		if (!b->auth_key)
			return -ENOMEM;
	}
	b->last_error[0] = '\0';
	set_state(b, BACKEND_NEEDS_LOGIN);
	ret = send_register(b, NULL, false);
	if (ret)
		snprintf(err, errlen, "cannot send the registration: %s", strerror(-ret));
	return ret;
}

int backend_set_prefs(struct backend *b, const struct prefs *p, const struct prefs_mask *mask,
		      bool reset, char *err, size_t errlen)
{
	int ret = merge_prefs(b, p, mask, reset, err, errlen);

	if (ret)
		return ret;
	save(b);
	reconfigure(b);
	/* Advertised routes and tags travel in the hostinfo of the map request. */
	if (b->engine && b->ctl)
		start_map(b);
	return 0;
}

int backend_down(struct backend *b, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	b->st->prefs.want_running = false;
	stop_engine(b);
	save(b);
	set_state(b, b->st->has_node ? BACKEND_STOPPED : BACKEND_NEEDS_LOGIN);
	return 0;
}

int backend_logout(struct backend *b, char *err, size_t errlen)
{
	if (b->st->has_node && !ensure_ctl(b, err, errlen)) {
		b->logging_out = true;
		send_register(b, NULL, true);
	}
	stop_engine(b);
	/* A new node key next time; the machine key stays (it is the device). */
	key_generate_private(b->st->node_key);
	derive_keys(b);
	b->st->has_node = false;
	b->st->has_old_node_key = false;
	b->st->prefs.want_running = false;
	save(b);
	set_state(b, BACKEND_NEEDS_LOGIN);
	return 0;
}

/* ---- status ---- */

static cJSON *addresses_json(const struct ip_prefix *a, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char buf[IP_ADDR_STRLEN];

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(
			arr, cJSON_CreateString(ip_addr_format(&a[i].addr, buf, sizeof(buf))));
	return arr;
}

static void add_string_or_null(cJSON *o, const char *k, const char *v)
{
	if (v && v[0])
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void add_time(cJSON *o, const char *k, int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || !gmtime_r(&tt, &tm)) {
		cJSON_AddNullToObject(o, k);
		return;
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(o, k, buf);
}

struct status_ctx {
	struct backend *b;
	cJSON *peers;
};

static void status_peer(const struct ctl_node *n, void *arg)
{
	struct status_ctx *sc = arg;
	struct wg_peer *peer = NULL;
	struct wg_peer_stats st = {0};
	struct ip_endpoint ep;
	char buf[IP_ENDPOINT_STRLEN];
	cJSON *o = cJSON_CreateObject();
	bool active;

	if (sc->b->engine)
		peer = wg_device_peer_lookup(engine_device(sc->b->engine), n->node_key);
	if (peer)
		wg_peer_get_stats(peer, &st);
	/* A session younger than REJECT_AFTER_TIME (180 s) carries traffic now. */
	active = st.last_handshake_sec && time(NULL) - st.last_handshake_sec < 180;
	cJSON_AddNumberToObject(o, "id", (double)n->id);
	add_string_or_null(o, "name", n->name);
	add_string_or_null(o, "fqdn", n->fqdn);
	cJSON_AddItemToObject(o, "addresses", addresses_json(n->addresses, n->naddresses));
	add_string_or_null(o, "user", n->user);
	cJSON_AddStringToObject(o, "os", "linux");
	cJSON_AddBoolToObject(o, "online", n->online);
	add_time(o, "last_seen", n->online ? 0 : n->last_seen);
	if (sc->b->ms) {
		struct magicsock_path_info pi;

		if (magicsock_peer_path(sc->b->ms, n->node_key, &pi))
			pi.path = MAGICSOCK_PATH_NONE;
		if (!active)
			pi.path = MAGICSOCK_PATH_NONE; /* no session: idle, whatever the path */
		if (pi.path == MAGICSOCK_PATH_DIRECT) {
			cJSON_AddStringToObject(o, "path", "direct");
			cJSON_AddStringToObject(o, "endpoint",
						ip_endpoint_format(&pi.endpoint, buf, sizeof(buf)));
			cJSON_AddNullToObject(o, "relay");
		} else if (pi.path == MAGICSOCK_PATH_RELAY) {
			cJSON_AddStringToObject(o, "path", "relay");
			cJSON_AddNullToObject(o, "endpoint");
			cJSON_AddStringToObject(o, "relay", pi.region_code);
		} else {
			cJSON_AddNullToObject(o, "path");
			cJSON_AddNullToObject(o, "endpoint");
			cJSON_AddNullToObject(o, "relay");
		}
	} else if (active && peer && wg_peer_get_endpoint(peer, &ep)) {
		cJSON_AddStringToObject(o, "path", "direct");
		cJSON_AddStringToObject(o, "endpoint", ip_endpoint_format(&ep, buf, sizeof(buf)));
		cJSON_AddNullToObject(o, "relay");
	} else {
		cJSON_AddNullToObject(o, "path");
		cJSON_AddNullToObject(o, "endpoint");
		cJSON_AddNullToObject(o, "relay");
	}
	cJSON_AddNumberToObject(o, "rx_bytes", (double)st.rx_bytes);
	cJSON_AddNumberToObject(o, "tx_bytes", (double)st.tx_bytes);
	add_time(o, "last_handshake", st.last_handshake_sec);
	cJSON_AddItemToArray(sc->peers, o);
}

cJSON *backend_status_json(struct backend *b)
{
	cJSON *root = cJSON_CreateObject(), *self = cJSON_CreateObject();
	struct status_ctx sc = {b, cJSON_CreateArray()};
	struct ip_prefix addrs[STATE_ADDRS_MAX];

	cJSON_AddStringToObject(root, "backend_state", state_names[b->state]);
	add_string_or_null(root, "auth_url", b->auth_url);
	add_string_or_null(root, "error", b->last_error);
	if (b->nm.has_self) {
		add_string_or_null(self, "name", b->nm.self.name);
		add_string_or_null(self, "fqdn", b->nm.self.fqdn);
		cJSON_AddItemToObject(self, "addresses",
				      addresses_json(b->nm.self.addresses, b->nm.self.naddresses));
	} else {
		size_t n = b->st->has_node ? b->st->node.naddresses : 0;

		for (size_t i = 0; i < n; i++) {
			addrs[i].addr = b->st->node.addresses[i];
			addrs[i].bits = 0;
		}
		add_string_or_null(self, "name", b->st->has_node ? b->st->node.name : NULL);
		cJSON_AddNullToObject(self, "fqdn");
		cJSON_AddItemToObject(self, "addresses", addresses_json(addrs, n));
	}
	cJSON_AddStringToObject(self, "state", state_names[b->state]);
	add_string_or_null(self, "user", b->st->has_node ? b->st->node.user : NULL);
	cJSON_AddBoolToObject(self, "online", b->ctl && ctl_client_map_connected(b->ctl));
	cJSON_AddItemToObject(root, "self", self);
	netmap_for_each_peer(&b->nm, status_peer, &sc);
	cJSON_AddItemToObject(root, "peers", sc.peers);
	return root;
}

cJSON *backend_whois_json(struct backend *b, const struct ip_addr *addr)
{
	const struct ctl_node *n = netmap_peer_by_addr(&b->nm, addr);
	cJSON *root, *node;

	if (!n)
		return NULL;
	root = cJSON_CreateObject();
	node = cJSON_CreateObject();
	cJSON_AddNumberToObject(node, "id", (double)n->id);
	add_string_or_null(node, "name", n->name);
	add_string_or_null(node, "fqdn", n->fqdn);
	cJSON_AddItemToObject(node, "addresses", addresses_json(n->addresses, n->naddresses));
	cJSON_AddItemToObject(node, "tags",
			      cJSON_CreateStringArray((const char *const *)n->tags, (int)n->ntags));
	cJSON_AddItemToObject(root, "node", node);
	add_string_or_null(root, "user", n->user);
	return root;
}

int backend_resolve_peer(struct backend *b, const char *peer, int family, struct ip_addr *out,
			 char *name, size_t namelen)
{
	const struct ctl_node *n;
	struct ip_addr a;

	if (!ip_addr_parse(&a, peer, NULL))
		n = netmap_peer_by_addr(&b->nm, &a);
	else
		n = netmap_peer_by_name(&b->nm, peer);
	if (!n)
		return -ENOENT;
	for (size_t i = 0; i < n->naddresses; i++) {
		if (!family || n->addresses[i].addr.family == family) {
			*out = n->addresses[i].addr;
			snprintf(name, namelen, "%s", n->name ? n->name : "");
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- ping ---- */

static void ping_free_cb(uv_handle_t *h)
{
	free(container_of(h, struct ping_session, timer));
}

static void ping_end(struct ping_session *p, bool notify)
{
	struct backend *b = p->b;

	for (unsigned i = 0; i < MAX_PINGS; i++)
		if (b->pings[i] == p)
			b->pings[i] = NULL;
	if (notify)
		p->cb(p->ctx, NULL, true);
	p->active = false;
	uv_timer_stop(&p->timer);
	if (!p->ms_pending)
		uv_close((uv_handle_t *)&p->timer, ping_free_cb);
}

static void ping_send(uv_timer_t *t);

/* A disco ping's answer (magicsock mode): via relay(REGION) or via IP:PORT. */
static void ping_ms_cb(void *arg, const struct magicsock_ping_result *r)
{
	struct ping_session *p = arg;
	char buf[IP_ENDPOINT_STRLEN];
	cJSON *o;

	p->ms_pending = false;
	if (!p->active) {
		uv_close((uv_handle_t *)&p->timer, ping_free_cb);
		return;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "peer", p->name);
	cJSON_AddStringToObject(o, "ip", ip_addr_format(&p->dst, buf, sizeof(buf)));
	if (r->err) {
		cJSON_AddBoolToObject(o, "timeout", true);
	} else {
		cJSON_AddStringToObject(o, "via", r->direct ? "direct" : "relay");
		if (r->direct) {
			cJSON_AddStringToObject(o, "endpoint",
						ip_endpoint_format(&r->endpoint, buf, sizeof(buf)));
			cJSON_AddNullToObject(o, "relay");
		} else {
			cJSON_AddNullToObject(o, "endpoint");
			cJSON_AddStringToObject(o, "relay", r->region_code);
		}
		cJSON_AddNumberToObject(o, "latency_ms", r->latency_us / 1000.0);
	}
	p->results++;
	p->cb(p->ctx, o, false);
	cJSON_Delete(o);
	if ((!r->err && r->direct) || p->results >= p->count)
		ping_end(p, true);
	else
		uv_timer_start(&p->timer, ping_send, r->err ? 0 : PING_INTERVAL_MS, 0);
}

static void ping_result(struct ping_session *p, bool timeout, double ms)
{
	struct backend *b = p->b;
	char buf[IP_ENDPOINT_STRLEN];
	struct ip_endpoint ep;
	struct wg_peer *peer = NULL;
	cJSON *r = cJSON_CreateObject();
	bool direct = false;

	cJSON_AddStringToObject(r, "peer", p->name);
	cJSON_AddStringToObject(r, "ip", ip_addr_format(&p->dst, buf, sizeof(buf)));
	if (timeout) {
		cJSON_AddBoolToObject(r, "timeout", true);
	} else {
		if (b->engine)
			peer = wg_device_peer_lookup(engine_device(b->engine), p->key);
		/* The bare UDP engine has only direct paths (the relay comes with magicsock). */
		direct = peer && wg_peer_get_endpoint(peer, &ep);
		cJSON_AddStringToObject(r, "via", direct ? "direct" : "unknown");
		if (direct)
			cJSON_AddStringToObject(r, "endpoint",
						ip_endpoint_format(&ep, buf, sizeof(buf)));
		else
			cJSON_AddNullToObject(r, "endpoint");
		cJSON_AddNullToObject(r, "relay");
		cJSON_AddNumberToObject(r, "latency_ms", ms);
	}
	p->results++;
	p->cb(p->ctx, r, false);
	cJSON_Delete(r);
	if ((direct && !timeout) || p->results >= p->count)
		ping_end(p, true);
}

static void ping_send(uv_timer_t *t)
{
	struct ping_session *p = container_of(t, struct ping_session, timer);
	struct backend *b = p->b;
	uint8_t pkt[ICMP_ECHO_MAX];
	struct ip_addr src = {0};
	size_t n;

	if (b->ms) {
		/* Disco ping: it reports the path; one at a time, paced by the answers. */
		uv_timer_stop(&p->timer);
		if (magicsock_ping(b->ms, p->key, ping_ms_cb, p)) {
			ping_end(p, true);
			return;
		}
		p->ms_pending = true;
		return;
	}
	if (p->sent_ns) {
		p->sent_ns = 0;
		ping_result(p, true, 0);
		if (!p->active)
			return;
	}
	if (!b->engine || !b->nm.has_self) {
		ping_end(p, true);
		return;
	}
	for (size_t i = 0; i < b->nm.self.naddresses; i++)
		if (b->nm.self.addresses[i].addr.family == p->dst.family)
			src = b->nm.self.addresses[i].addr;
	n = icmp_build_echo(pkt, sizeof(pkt), &src, &p->dst, p->id, ++p->seq);
	if (!n || engine_mesh_send(b->engine, pkt, n)) {
		ping_end(p, true);
		return;
	}
	p->sent_ns = uv_hrtime();
}

static bool ping_reply(struct backend *b, const uint8_t *pkt, size_t len);

/*
 * Decrypted packets on their way to the TUN: our own ping replies are taken
 * here, then the packet filter decides (a drop is "consumed").
 */
static bool engine_inbound(void *ctx, const uint8_t *pkt, size_t len)
{
	struct backend *b = ctx;

	if (ping_reply(b, pkt, len))
		return true;
	return b->filter && !filter_reason_accepts(filter_check_inbound(b->filter, pkt, len));
}

static bool ping_reply(struct backend *b, const uint8_t *pkt, size_t len)
{
	struct ip_addr from;
	uint16_t seq;

	for (unsigned i = 0; i < MAX_PINGS; i++) {
		struct ping_session *p = b->pings[i];

		if (!p || !p->sent_ns || !icmp_parse_echo_reply(pkt, len, p->id, &from, &seq))
			continue;
		if (seq != p->seq || !ip_addr_equal(&from, &p->dst))
			return true; /* ours, but late: swallow it */
		ping_result(p, false, (double)(uv_hrtime() - p->sent_ns) / 1e6);
		p->sent_ns = 0;
		return true;
	}
	return false;
}

int backend_ping(struct backend *b, const char *peer, unsigned count, backend_ping_cb *cb,
		 void *ctx, char *err, size_t errlen)
{
	const struct ctl_node *n;
	struct ping_session *p;
	unsigned slot;
	int ret;

	if (b->state != BACKEND_RUNNING || !b->engine) {
		snprintf(err, errlen, "not running (state %s): use meshctl up",
			 state_names[b->state]);
		return -ENOTCONN;
	}
	for (slot = 0; slot < MAX_PINGS && b->pings[slot]; slot++)
		;
	if (slot == MAX_PINGS) {
		snprintf(err, errlen, "too many pings at once");
		return -EBUSY;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = backend_resolve_peer(b, peer, 0, &p->dst, p->name, sizeof(p->name));
	if (ret) {
		snprintf(err, errlen, "no peer named or addressed %s", peer);
		free(p);
		return ret;
	}
	n = netmap_peer_by_addr(&b->nm, &p->dst);
	memcpy(p->key, n->node_key, KEY_LEN);
	p->b = b;
	p->cb = cb;
	p->ctx = ctx;
	p->count = count ? count : 10;
	p->id = (uint16_t)randombytes_uniform(0x10000);
	p->active = true;
	uv_timer_init(b->loop, &p->timer);
	uv_timer_start(&p->timer, ping_send, 0, PING_INTERVAL_MS);
	b->pings[slot] = p;
	return 0;
}

void backend_ping_cancel(struct backend *b, backend_ping_cb *cb, void *ctx)
{
	for (unsigned i = 0; i < MAX_PINGS; i++) {
		struct ping_session *p = b->pings[i];

		if (p && p->cb == cb && p->ctx == ctx)
			ping_end(p, false);
	}
}

/* ---- netcheck ---- */

struct netcheck_req {
	backend_netcheck_cb *cb;
	void *ctx;
};

static void netcheck_done(void *arg, const struct netcheck_report *r)
{
	struct netcheck_req *q = arg;
	cJSON *o = cJSON_CreateObject(), *lat = cJSON_CreateObject();
	char buf[IP_ENDPOINT_STRLEN];
	const char *preferred = NULL;

	cJSON_AddBoolToObject(o, "udp", r->udp);
	cJSON_AddBoolToObject(o, "ipv4", r->ipv4);
	if (r->has_global_v4)
		cJSON_AddStringToObject(o, "global_v4",
					ip_endpoint_format(&r->global_v4, buf, sizeof(buf)));
	else
		cJSON_AddNullToObject(o, "global_v4");
	cJSON_AddBoolToObject(o, "ipv6", r->ipv6);
	if (r->has_global_v6)
		cJSON_AddStringToObject(o, "global_v6",
					ip_endpoint_format(&r->global_v6, buf, sizeof(buf)));
	else
		cJSON_AddNullToObject(o, "global_v6");
	if (r->mapping_varies_known)
		cJSON_AddBoolToObject(o, "mapping_varies_by_dest_ip", r->mapping_varies);
	else
		cJSON_AddNullToObject(o, "mapping_varies_by_dest_ip");
	for (unsigned i = 0; i < r->nregions; i++) {
		if (r->regions[i].region_id == r->preferred_region)
			preferred = r->regions[i].code;
		if (r->regions[i].latency_us)
			cJSON_AddNumberToObject(lat, r->regions[i].code,
						r->regions[i].latency_us / 1000.0);
	}
	if (preferred)
		cJSON_AddStringToObject(o, "preferred_relay", preferred);
	else
		cJSON_AddNullToObject(o, "preferred_relay");
	cJSON_AddItemToObject(o, "relay_latency", lat);
	q->cb(q->ctx, o, NULL);
	cJSON_Delete(o);
	free(q);
}

int backend_netcheck(struct backend *b, backend_netcheck_cb *cb, void *ctx)
{
	struct netcheck_req *q;
	int ret;

	if (!b->ms)
		return -ENOTCONN;
	q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->cb = cb;
	q->ctx = ctx;
	ret = magicsock_netcheck(b->ms, netcheck_done, q);
	if (ret)
		free(q);
	return ret;
}
