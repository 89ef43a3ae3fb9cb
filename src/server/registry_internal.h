/* SPDX-License-Identifier: MIT */
/*
 * What registry.c and registration.c share. Not for other modules: they use
 * registry.h.
 */
#ifndef MESH_SERVER_REGISTRY_INTERNAL_H
#define MESH_SERVER_REGISTRY_INTERNAL_H

#include "server/ipalloc.h"
#include "server/registry.h"

/* A registration waiting for `meshcontrol nodes register --user U ID`. */
struct pending {
	char id[REGISTRY_PENDING_ID_LEN + 1];
	int64_t created;
	struct store_node node; /* keys, hostname, os, endpoints, ephemeral */
	char (*routes)[STORE_PREFIX_MAX];
	size_t n_routes;
	struct pending *next;
};

/* Node ids with a live session: open addressing, 0 = empty, -1 = deleted. */
struct idset {
	int64_t *slots;
	size_t cap;
	size_t used;
	size_t dead;
};

struct registry {
	struct store *st;
	struct ipalloc *ips;
	struct ip_prefix prefix_v4;
	struct ip_prefix prefix_v6;
	char *base_domain;
	char *policy_file;
	int64_t node_key_expiry;
	int64_t ephemeral_timeout;
	int64_t (*now)(void *arg);
	void *now_arg;
	struct registry_listener *listeners;
	struct pending *pending;
	size_t n_pending;
	struct idset online;
	struct idset expired; /* nodes whose expiry has been announced */
};

/** Fill @err (if any) with the formatted message and return @ret. */
int registry_fail(struct registry_error *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Tell every listener. */
void registry_emit(struct registry *reg, enum registry_event_type type, int64_t node_id,
		   const struct store_node *node, const struct store_user *user,
		   const char *pending_id);

/** Forget that the node's key expiry was announced: it registered again. */
void registry_note_registered(struct registry *reg, int64_t node_id);

/** Remember that the node's key expiry has been announced (so registry_tick() does not repeat it). */
int registry_note_expired(struct registry *reg, int64_t node_id);

/** Keep only well-formed endpoints of the JSON array @json, as compact JSON that fits the store. */
int registry_clean_endpoints(const char *json, char out[STORE_ENDPOINTS_MAX],
			     struct registry_error *err);

/** Reported text ends up in logs and tables: replace control characters and quotes in @s. */
void registry_clean_text(char *s);

/** Drop every pending registration (on destroy). */
void registry_pending_clear(struct registry *reg);

/** Drop pending registrations older than REGISTRY_PENDING_TIMEOUT. */
void registry_pending_expire(struct registry *reg, int64_t now);

#endif
