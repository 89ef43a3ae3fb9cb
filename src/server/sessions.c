// SPDX-License-Identifier: MIT
/*
 * Map streams (see sessions.h). Two lists: "joining" streams wait for their
 * full map, "joined" ones get deltas. Both are walked once per flush, so a
 * flush costs O(streams × changed nodes) plus a full map per new stream.
 *
 * Lifetimes: a session is freed in exactly one place, finish(), reached
 * either from the exchange's abort callback (the client left, or the HTTP
 * server is closing) or after we end the response ourselves; ending the
 * response first means the abort callback can no longer run for it.
 * Registry events may arrive inside finish() (the node goes offline): the
 * listener only updates the cache and arms the flush timer, so walking a
 * list while sessions finish is safe as long as the next pointer is read
 * first.
 */
#include "server/sessions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "net/http_server.h"
#include "relay/keymap.h"
#include "util/compiler.h"
#include "util/log.h"

enum sessions_defaults {
	DEF_KEEPALIVE_MS = 30 * 1000,
	DEF_URGENT_MS = 10,
	DEF_LAZY_MS = 500,
	DEF_MIN_BACKLOG = 4 * 1024 * 1024,
	TICK_MS = 1000,
	/*
	 * Frames are written in slices of at most this: the HTTP layer keeps its
	 * output buffer at the size of the largest write for the connection's life,
	 * and a full map can be megabytes.
	 */
	WRITE_SLICE = 16 * 1024,
};

struct session {
	struct sessions *owner;
	struct http_exchange *ex;
	int64_t node_id;
	uint8_t machine_key[CTL_KEY_LEN];
	struct ctl_box box;
	uint64_t seq;
	uint64_t last_write; /* loop time */
	size_t limit;	     /* most unsent bytes we accept */
	bool joined;
	struct session *prev, *next;
};

struct session_list {
	struct session *head;
};

struct sessions {
	uv_loop_t *loop;
	struct registry *reg;
	struct netmap *nm;
	struct sessions_options opt;
	struct registry_listener listener;
	struct keymap by_machine; /* the current stream of each machine */
	struct session_list joining, joined;
	uv_timer_t flush_timer;
	uv_timer_t tick;
	uint64_t flush_due;   /* loop time the flush timer fires, 0 = not armed */
	uint64_t collect_due; /* loop time changes must be collected by, 0 = none pending */
	int handles;	      /* timers still to close */
	bool closing;
	struct sessions_stats stats;
};

static void list_add(struct session_list *l, struct session *ss)
{
	ss->prev = NULL;
	ss->next = l->head;
	if (l->head)
		l->head->prev = ss;
	l->head = ss;
}

static void list_del(struct session_list *l, struct session *ss)
{
	if (ss->prev)
		ss->prev->next = ss->next;
	else
		l->head = ss->next;
	if (ss->next)
		ss->next->prev = ss->prev;
	ss->prev = ss->next = NULL;
}

static void on_flush_timer(uv_timer_t *t);

/* Make sure the flush timer fires by loop time @due. */
static void arm(struct sessions *s, uint64_t due)
{
	uint64_t now = uv_now(s->loop);

	if (s->closing || (s->flush_due && s->flush_due <= due))
		return;
	s->flush_due = due;
	uv_timer_start(&s->flush_timer, on_flush_timer, due > now ? due - now : 0, 0);
}

/* Registry changes wait to be collected: within @delay_ms. */
static void schedule_collect(struct sessions *s, unsigned int delay_ms)
{
	uint64_t due = uv_now(s->loop) + delay_ms;

	if (!s->collect_due || due < s->collect_due)
		s->collect_due = due;
	arm(s, s->collect_due);
}

/* Forget @ss: unlink it, and take its node offline if it was the node's stream. */
static void finish(struct session *ss)
{
	struct sessions *s = ss->owner;

	list_del(ss->joined ? &s->joined : &s->joining, ss);
	s->stats.streams--;
	if (keymap_get(&s->by_machine, ss->machine_key) == ss) {
		keymap_remove(&s->by_machine, ss->machine_key);
		registry_node_set_online(s->reg, ss->node_id, false);
	}
	ctl_box_wipe(&ss->box);
	free(ss);
}

static void on_abort(struct http_exchange *ex, void *arg)
{
	struct session *ss = arg;

	(void)ex;
	log_debug("sessions", "map stream closed by the client node=%lld", (long long)ss->node_id);
	finish(ss);
}

/* End the response ourselves (the client sees a clean end and reconnects). */
static void end(struct session *ss, const char *why)
{
	log_info("sessions", "map stream ended node=%lld reason=\"%s\"", (long long)ss->node_id,
		 why);
	http_exchange_stream_end(ss->ex);
	finish(ss);
}

/* Seal and write one frame. -ENOBUFS: the client is too far behind. */
static int send_json(struct session *ss, const char *json, size_t len)
{
	struct sessions *s = ss->owner;
	uint8_t *frame;
	size_t flen;
	int ret;

	ret = ctl_frame_seal(&ss->box, (const uint8_t *)json, len, &frame, &flen);
	if (ret)
		return ret;
	if (http_exchange_write_queue_size(ss->ex) + flen > ss->limit) {
		free(frame);
		return -ENOBUFS;
	}
	/* Frames and HTTP chunks are independent: the reader reassembles frames. */
	for (size_t off = 0; !ret && off < flen; off += WRITE_SLICE)
		ret = http_exchange_stream_write(
			ss->ex, frame + off, flen - off < WRITE_SLICE ? flen - off : WRITE_SLICE);
	free(frame);
	if (ret)
		return ret;
	ss->last_write = uv_now(s->loop);
	s->stats.bytes += flen;
	return 0;
}

/* End @ss after a failed write; true if it was ended. */
static bool failed(struct session *ss, int ret)
{
	if (!ret)
		return false;
	if (ret == -ENOBUFS) {
		ss->owner->stats.slow_closed++;
		end(ss, "too slow: the backlog is over its bound");
	} else {
		log_warn("sessions", "map stream write failed node=%lld: %s",
			 (long long)ss->node_id, strerror(-ret));
		end(ss, "write failed");
	}
	return true;
}

/* Send @ss its full map; false if the stream had to end. */
static bool send_full(struct session *ss)
{
	struct sessions *s = ss->owner;
	char *json;
	size_t len, want;
	int ret;

	ret = netmap_full_json(s->nm, ss->node_id, ++ss->seq, &json, &len);
	if (ret == -ENOENT) {
		end(ss, "the node is no longer registered");
		return false;
	}
	if (ret) {
		log_error("sessions", "cannot build the map of node %lld: %s",
			  (long long)ss->node_id, strerror(-ret));
		end(ss, "map unavailable");
		return false;
	}
	/* Falling twice a full map behind: cheaper to start over than to catch up. */
	want = 2 * (len + CTL_FRAME_HEADER_LEN + CTL_RESPONSE_OVERHEAD);
	ss->limit = want > s->opt.min_backlog ? want : s->opt.min_backlog;
	ret = send_json(ss, json, len);
	free(json);
	if (failed(ss, ret))
		return false;
	s->stats.full_maps++;
	return true;
}

/* Send @ss what @d means for it, if anything; false if the stream had to end. */
static bool send_delta(struct session *ss, const struct netmap_delta *d)
{
	struct sessions *s = ss->owner;
	char *json;
	size_t len;
	int ret;

	ret = netmap_delta_json(s->nm, d, ss->node_id, ss->seq + 1, &json, &len);
	if (ret) {
		log_error("sessions", "cannot build a delta for node %lld: %s",
			  (long long)ss->node_id, strerror(-ret));
		end(ss, "delta unavailable");
		return false;
	}
	if (!json)
		return true;
	ss->seq++;
	ret = send_json(ss, json, len);
	free(json);
	if (failed(ss, ret))
		return false;
	s->stats.deltas++;
	return true;
}

/* Collect what changed and write each joined stream its part of it. */
static void collect(struct sessions *s)
{
	struct netmap_delta *d = NULL;
	struct session *ss, *next;
	int ret;

	s->collect_due = 0;
	ret = netmap_delta_collect(s->nm, &d);
	if (ret) {
		log_error("sessions", "cannot collect map changes: %s (retrying)", strerror(-ret));
		schedule_collect(s, s->opt.lazy_ms);
	}
	if (!d)
		return;
	s->stats.flushes++;
	for (ss = s->joined.head; ss; ss = next) {
		enum netmap_self self = netmap_delta_self(d, ss->node_id);
		bool alive;

		next = ss->next;
		if (self == NETMAP_SELF_REMOVED) {
			end(ss, "node deleted");
			continue;
		}
		if (netmap_delta_resync(d) && self != NETMAP_SELF_EXPIRED)
			alive = send_full(ss);
		else
			alive = send_delta(ss, d);
		if (alive && self == NETMAP_SELF_EXPIRED)
			end(ss, "node key expired");
	}
	log_debug("sessions", "flushed nodes=%zu streams=%zu resync=%d", netmap_delta_nodes(d),
		  s->stats.streams, netmap_delta_resync(d));
	netmap_delta_free(d);
}

/*
 * The timer's work: collect when a collect is due (or forced), then send new
 * streams their full maps. Full maps show the state of the last collect, so
 * a new stream does not force a collect unless its own node is not in the
 * maps yet (it registered a moment ago); this keeps a burst of connecting
 * nodes from turning every online flip into an urgent frame to everyone.
 */
static void flush(struct sessions *s, bool force)
{
	uint64_t start = uv_hrtime(), now = uv_now(s->loop);
	bool need = force || (s->collect_due && s->collect_due <= now);
	struct session *ss;

	uv_timer_stop(&s->flush_timer);
	s->flush_due = 0;
	for (ss = s->joining.head; ss && !need; ss = ss->next)
		need = !netmap_node_mapped(s->nm, ss->node_id);
	if (need)
		collect(s);
	while ((ss = s->joining.head)) {
		list_del(&s->joining, ss);
		ss->joined = true;
		list_add(&s->joined, ss);
		send_full(ss);
	}
	if (s->collect_due)
		arm(s, s->collect_due);
	s->stats.last_flush_us = (uv_hrtime() - start) / 1000;
}

void sessions_flush(struct sessions *s)
{
	flush(s, true);
}

static void on_flush_timer(uv_timer_t *t)
{
	flush(container_of(t, struct sessions, flush_timer), false);
}

static void on_tick(uv_timer_t *t)
{
	struct sessions *s = container_of(t, struct sessions, tick);
	uint64_t now = uv_now(s->loop);
	struct session *ss, *next;

	for (ss = s->joined.head; ss; ss = next) {
		char *json;
		size_t len;
		int ret;

		next = ss->next;
		if (now - ss->last_write < s->opt.keepalive_ms)
			continue;
		ret = netmap_keepalive_json(ss->seq + 1, &json, &len);
		if (ret)
			continue;
		ss->seq++;
		ret = send_json(ss, json, len);
		free(json);
		if (!failed(ss, ret))
			s->stats.keepalives++;
	}
}

/* ---- registry events ---- */

static void load_routes(struct sessions *s, int64_t id)
{
	struct store_route *routes = NULL;
	size_t n = 0;
	int ret = registry_node_routes(s->reg, id, &routes, &n);

	if (!ret)
		ret = netmap_node_set_routes(s->nm, id, routes, n);
	if (ret)
		log_warn("sessions", "cannot load the routes of node %lld: %s", (long long)id,
			 strerror(-ret));
	free(routes);
}

static void on_registry_event(void *arg, const struct registry_event *ev)
{
	struct sessions *s = arg;
	bool online;
	int ret = 0;

	switch (ev->type) {
	case REGISTRY_NODE_ADDED:
	case REGISTRY_NODE_CHANGED:
	case REGISTRY_ROUTES_CHANGED:
	case REGISTRY_NODE_EXPIRED:
	case REGISTRY_NODE_ONLINE:
	case REGISTRY_NODE_OFFLINE:
		if (!ev->node)
			return;
		online = registry_node_online(s->reg, ev->node_id);
		ret = netmap_node_set(s->nm, ev->node, online);
		if (!ret && (ev->type == REGISTRY_NODE_ADDED || ev->type == REGISTRY_NODE_CHANGED ||
			     ev->type == REGISTRY_ROUTES_CHANGED))
			load_routes(s, ev->node_id);
		schedule_collect(s, ev->type == REGISTRY_NODE_ONLINE ||
						    ev->type == REGISTRY_NODE_OFFLINE
					    ? s->opt.lazy_ms
					    : s->opt.urgent_ms);
		break;
	case REGISTRY_NODE_REMOVED:
		ret = netmap_node_remove(s->nm, ev->node_id);
		if (ret == -ENOENT)
			ret = 0;
		schedule_collect(s, s->opt.urgent_ms);
		break;
	case REGISTRY_POLICY_CHANGED:
		netmap_policy_changed(s->nm);
		schedule_collect(s, s->opt.urgent_ms);
		break;
	case REGISTRY_USER_ADDED:
	case REGISTRY_USER_REMOVED:
	case REGISTRY_PENDING_APPROVED:
		break;
	}
	if (ret)
		log_warn("sessions", "node %lld left out of maps: %s", (long long)ev->node_id,
			 strerror(-ret));
}

/* ---- lifetime ---- */

static int load_all(struct sessions *s)
{
	struct store_node *nodes = NULL;
	struct store_route *routes = NULL;
	struct netmap_delta *d = NULL;
	size_t n = 0, nroutes = 0, r = 0;
	int ret;

	ret = registry_node_list(s->reg, &nodes, &n, NULL);
	if (!ret)
		ret = registry_route_list(s->reg, &routes, &nroutes, NULL);
	for (size_t i = 0; !ret && i < n; i++) {
		size_t first;

		if (netmap_node_set(s->nm, &nodes[i], registry_node_online(s->reg, nodes[i].id))) {
			log_warn("sessions", "node %lld left out of maps", (long long)nodes[i].id);
			continue;
		}
		/* Both lists are sorted by node id: walk them together. */
		while (r < nroutes && routes[r].node_id < nodes[i].id)
			r++;
		for (first = r; r < nroutes && routes[r].node_id == nodes[i].id;)
			r++;
		ret = netmap_node_set_routes(s->nm, nodes[i].id, routes ? routes + first : NULL,
					     r - first);
	}
	if (!ret)
		ret = netmap_delta_collect(s->nm, &d);
	netmap_delta_free(d);
	free(nodes);
	free(routes);
	if (!ret)
		log_info("sessions", "nodes loaded count=%zu", netmap_node_count(s->nm));
	return ret;
}

int sessions_create(struct sessions **out, const struct sessions_options *opt)
{
	struct sessions *s;
	int ret;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = opt->loop;
	s->reg = opt->reg;
	s->nm = opt->nm;
	s->opt = *opt;
	if (!s->opt.keepalive_ms)
		s->opt.keepalive_ms = DEF_KEEPALIVE_MS;
	if (!s->opt.urgent_ms)
		s->opt.urgent_ms = DEF_URGENT_MS;
	if (!s->opt.lazy_ms)
		s->opt.lazy_ms = DEF_LAZY_MS;
	if (!s->opt.min_backlog)
		s->opt.min_backlog = DEF_MIN_BACKLOG;
	ret = load_all(s);
	if (ret) {
		free(s);
		return ret;
	}
	uv_timer_init(s->loop, &s->flush_timer);
	uv_timer_init(s->loop, &s->tick);
	s->handles = 2;
	uv_timer_start(&s->tick, on_tick, TICK_MS, TICK_MS);
	s->listener.fn = on_registry_event;
	s->listener.arg = s;
	registry_listen(s->reg, &s->listener);
	*out = s;
	return 0;
}

static void respond_error(struct http_exchange *ex, const char *msg)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", msg);

	http_exchange_respond(ex, 503, "application/json", body, (size_t)n);
}

int sessions_stream(struct sessions *s, struct http_exchange *ex, int64_t node_id,
		    const uint8_t machine_key[CTL_KEY_LEN], const struct ctl_box *box)
{
	struct session *ss, *old;
	int ret;

	if (s->closing) {
		respond_error(ex, "the server is shutting down");
		return -ESHUTDOWN;
	}
	ss = calloc(1, sizeof(*ss));
	if (!ss) {
		respond_error(ex, "out of memory");
		return -ENOMEM;
	}
	ret = http_exchange_stream_begin(ex, 200, CTL_CONTENT_FRAMES);
	if (ret) {
		free(ss);
		return ret; /* the exchange is finished */
	}
	ss->owner = s;
	ss->ex = ex;
	ss->node_id = node_id;
	memcpy(ss->machine_key, machine_key, CTL_KEY_LEN);
	ss->box = *box;
	ss->last_write = uv_now(s->loop);
	ss->limit = s->opt.min_backlog;
	list_add(&s->joining, ss);
	s->stats.streams++;
	http_exchange_on_abort(ex, on_abort, ss);
	old = keymap_get(&s->by_machine, machine_key);
	if (keymap_put(&s->by_machine, ss->machine_key, ss)) {
		end(ss, "out of memory");
		return -ENOMEM;
	}
	if (old)
		end(old, "replaced by a newer stream of the same node");
	else
		registry_node_set_online(s->reg, node_id, true);
	log_debug("sessions", "map stream opened node=%lld streams=%zu", (long long)node_id,
		  s->stats.streams);
	arm(s, uv_now(s->loop) + s->opt.urgent_ms);
	return 0;
}

void sessions_get_stats(const struct sessions *s, struct sessions_stats *out)
{
	*out = s->stats;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct sessions *s = h->data;

	if (--s->handles)
		return;
	keymap_free(&s->by_machine);
	free(s);
}

void sessions_close(struct sessions *s)
{
	struct session *ss;

	if (!s || s->closing)
		return;
	registry_unlisten(s->reg, &s->listener);
	s->closing = true;
	while ((ss = s->joined.head))
		end(ss, "server shutting down");
	while ((ss = s->joining.head))
		end(ss, "server shutting down");
	s->flush_timer.data = s->tick.data = s;
	uv_close((uv_handle_t *)&s->flush_timer, on_timer_closed);
	uv_close((uv_handle_t *)&s->tick, on_timer_closed);
}
