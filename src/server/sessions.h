/* SPDX-License-Identifier: MIT */
/*
 * Map streams: one long-lived chunked response per connected node, fed from
 * the netmap builder. Registry events update the node cache at once and
 * schedule a collect: one delta, and each stream is written the frame that
 * concerns it. Changes that peers act on (nodes added, changed, removed,
 * endpoints, keys) are collected within urgent_ms; online/offline flips
 * alone wait up to lazy_ms, so a burst of nodes connecting costs a few
 * frames per stream, not one per node per stream. A new stream gets its
 * full map within urgent_ms, as of the last collect (the deltas after it
 * follow), without forcing a collect of its own.
 *
 * Rules the streams keep:
 *  - one stream per node (machine key): a new one ends the older one;
 *  - a node is online while it has a stream (registry_node_set_online());
 *  - every stream hears something at least every keepalive_ms;
 *  - a stream whose unsent bytes would exceed max(min_backlog, twice its
 *    full map) is ended: it reconnects and starts over with a full map
 *    rather than the server buffering without bound;
 *  - a node deleted has its stream ended; a node whose key expired first
 *    gets its own node object with "expired": true, then the end.
 */
#ifndef MESH_SERVER_SESSIONS_H
#define MESH_SERVER_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "control/seal.h"
#include "server/netmap.h"
#include "server/registry.h"

struct http_exchange;
struct sessions;

/* Zero in a field means the default beside it. */
struct sessions_options {
	uv_loop_t *loop;
	struct registry *reg;
	struct netmap *nm;	   /* filled from the registry by sessions_create() */
	unsigned int keepalive_ms; /* 30 s */
	unsigned int urgent_ms;	   /* 10 ms */
	unsigned int lazy_ms;	   /* 500 ms */
	size_t min_backlog;	   /* 4 MiB */
};

struct sessions_stats {
	size_t streams;	    /* open now */
	uint64_t full_maps; /* frames sent since start, by kind */
	uint64_t deltas;
	uint64_t keepalives;
	uint64_t bytes;		/* sealed frame bytes written */
	uint64_t flushes;	/* deltas collected */
	uint64_t slow_closed;	/* streams ended for falling behind */
	uint64_t last_flush_us; /* time the last flush took, collect and writes */
};

/**
 * Load every node of the registry into opt->nm, listen to the registry and
 * get ready to serve streams. Returns 0 or a negative errno.
 */
int sessions_create(struct sessions **out, const struct sessions_options *opt);

/**
 * Take over @ex as the map stream of node @node_id (whose map request came
 * from @machine_key, sealed with @box, which is copied): answer 200 with a
 * chunked frame stream now, the full map at the next flush. On failure @ex
 * has been answered or finished already. Returns 0 or a negative errno.
 */
int sessions_stream(struct sessions *s, struct http_exchange *ex, int64_t node_id,
		    const uint8_t machine_key[CTL_KEY_LEN], const struct ctl_box *box);

/** Flush now: collect pending changes and write them (and full maps of new streams). */
void sessions_flush(struct sessions *s);

/** Copy the counters of @s into @out. */
void sessions_get_stats(const struct sessions *s, struct sessions_stats *out);

/**
 * End every stream (each node goes offline), stop listening to the registry
 * and free @s once its timers have closed (from the loop). NULL is fine.
 */
void sessions_close(struct sessions *s);

#endif
