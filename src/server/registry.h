/* SPDX-License-Identifier: MIT */
/*
 * The registry is meshcontrol's domain logic, free of I/O besides the store:
 * users, auth keys, node registration (with an auth key, or pending until an
 * admin approves it), addresses and names, key expiry, ephemeral clean-up,
 * routes and the policy text. The admin socket and (later) the HTTP control
 * API are thin layers over it.
 *
 * Every change is committed to the store first and then announced to the
 * listeners (registry_listen()), so a streaming session never pushes state
 * that a crash could take back. Failures return a negative errno and, when
 * @err is given, a sentence a person (or a node's user) can act on.
 */
#ifndef MESH_SERVER_REGISTRY_H
#define MESH_SERVER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/authkey.h"
#include "server/store.h"
#include "util/ipaddr.h"

enum registry_limits {
	REGISTRY_ERROR_MAX = 256,
	REGISTRY_PENDING_ID_LEN = 24, /* hex digits */
	REGISTRY_PENDING_TIMEOUT = 30 * 60,
	REGISTRY_MAX_ROUTES = 256, /* advertised by one node */
	REGISTRY_MAX_TAGS = 32,
};

struct registry_error {
	char msg[REGISTRY_ERROR_MAX];
};

struct registry_options {
	struct store *store;
	struct ip_prefix prefix_v4;
	struct ip_prefix prefix_v6;
	const char *base_domain;
	int64_t node_key_expiry;   /* seconds; 0 = keys never expire */
	int64_t ephemeral_timeout; /* offline this long, an ephemeral node is deleted */
	const char *policy_file;   /* NULL: the policy lives in the store */
	/* The clock, in unix seconds; NULL means time(NULL). */
	int64_t (*now)(void *arg);
	void *now_arg;
};

enum registry_event_type {
	REGISTRY_NODE_ADDED,
	REGISTRY_NODE_CHANGED,
	REGISTRY_NODE_REMOVED,
	REGISTRY_NODE_EXPIRED,
	REGISTRY_NODE_ONLINE, /* node->last_seen tells when */
	REGISTRY_NODE_OFFLINE,
	REGISTRY_ROUTES_CHANGED, /* of node_id */
	REGISTRY_USER_ADDED,
	REGISTRY_USER_REMOVED,
	REGISTRY_POLICY_CHANGED,
	REGISTRY_PENDING_APPROVED, /* pending_id became node */
};

struct registry_event {
	enum registry_event_type type;
	int64_t node_id;
	const struct store_node *node; /* the node as stored now; NULL when removed */
	const struct store_user *user; /* USER_* events */
	const char *pending_id;
};

/* A listener lives in its owner's struct; the registry only links it. */
struct registry_listener {
	void (*fn)(void *arg, const struct registry_event *ev);
	void *arg;
	struct registry_listener *next;
};

/* What a node sends to register. Strings are NUL-terminated; lists may be empty. */
struct registry_request {
	uint8_t machine_key[STORE_KEY_LEN];
	uint8_t node_key[STORE_KEY_LEN];
	uint8_t disco_key[STORE_KEY_LEN];
	const char *hostname;
	const char *os;
	const char *const *routes; /* advertised prefixes */
	size_t n_routes;
	const char *endpoints; /* JSON array of "IP:PORT", or NULL */
	bool ephemeral;	       /* asked for by the node (the key may also impose it) */
};

struct registry;

/**
 * Create the registry over @opt->store (which must outlive it) and load the
 * addresses in use. Returns 0, -EINVAL for unusable prefixes, or a store error.
 */
int registry_create(struct registry **out, const struct registry_options *opt);

/** Free the registry; listeners are simply forgotten. NULL is allowed. */
void registry_destroy(struct registry *reg);

/** Add @l to the listeners (called after every committed change, in order). */
void registry_listen(struct registry *reg, struct registry_listener *l);

/** Remove @l; safe to call from inside a listener for that same listener. */
void registry_unlisten(struct registry *reg, struct registry_listener *l);

/** The registry's clock, in unix seconds. */
int64_t registry_now(const struct registry *reg);

/** The DNS suffix of node names (FQDN = NAME.BASE_DOMAIN). */
const char *registry_base_domain(const struct registry *reg);

/** Write @t as RFC 3339 UTC ("2025-01-31T12:00:00Z") into @buf (at least 21 bytes). */
void registry_format_time(int64_t t, char *buf, size_t len);

/** Create user @name. -EINVAL for a bad name, -EEXIST if taken. */
int registry_user_create(struct registry *reg, const char *name, struct store_user *out,
			 struct registry_error *err);

/** Delete user @name and their auth keys; -EBUSY while they own nodes. */
int registry_user_delete(struct registry *reg, const char *name, struct registry_error *err);

/** All users (heap array, free()). */
int registry_user_list(struct registry *reg, struct store_user **out, size_t *n,
		       struct registry_error *err);

struct registry_authkey_request {
	const char *user;
	bool reusable;
	bool ephemeral;
	const char *tags;   /* "tag:a,tag:b" or NULL/"" */
	int64_t expiration; /* seconds from now, > 0 */
};

/**
 * Create an auth key; its text goes to @key (shown once, never stored: wipe it
 * after use) and its row to @out (may be NULL).
 */
int registry_authkey_create(struct registry *reg, const struct registry_authkey_request *req,
			    char key[AUTHKEY_STR_LEN + 1], struct store_authkey *out,
			    struct registry_error *err);

/** All auth keys (heap array, free()). */
int registry_authkey_list(struct registry *reg, struct store_authkey **out, size_t *n,
			  struct registry_error *err);

/** Revoke the key with id or prefix @ref; it can no longer register nodes. */
int registry_authkey_revoke(struct registry *reg, const char *ref, struct registry_error *err);

/**
 * Register (or re-register: same machine key) a node with an auth key. A
 * re-registration keeps the node's id, addresses and name. Refused keys give
 * -EACCES (unknown, expired, revoked or used up) with the reason in @err.
 */
int registry_register_authkey(struct registry *reg, const struct registry_request *req,
			      const char *authkey, struct store_node *out,
			      struct registry_error *err);

/**
 * Park a registration without a key until an admin approves it; writes its id
 * (REGISTRY_PENDING_ID_LEN hex digits) into @id. Pending registrations live in
 * memory for REGISTRY_PENDING_TIMEOUT seconds.
 */
int registry_register_pending(struct registry *reg, const struct registry_request *req,
			      char id[REGISTRY_PENDING_ID_LEN + 1], struct registry_error *err);

/** Approve pending registration @id as a node of @user. -ENOENT if no such id. */
int registry_approve(struct registry *reg, const char *id, const char *user, struct store_node *out,
		     struct registry_error *err);

/** Find the node of a machine key. -ENOENT if none. */
int registry_node_by_machine(struct registry *reg, const uint8_t machine_key[STORE_KEY_LEN],
			     struct store_node *out);

/** Find a node by name, FQDN or numeric id (tried in that order). */
int registry_node_find(struct registry *reg, const char *ref, struct store_node *out,
		       struct registry_error *err);

/** All nodes by id (heap array, free()). */
int registry_node_list(struct registry *reg, struct store_node **out, size_t *n,
		       struct registry_error *err);

/** Delete a node; its addresses become free (the allocator moves on before reusing them). */
int registry_node_delete(struct registry *reg, const char *ref, struct registry_error *err);

/** Expire a node's key now: peers drop it until it registers again. */
int registry_node_expire(struct registry *reg, const char *ref, struct registry_error *err);

/** Rename a node; @name must be a valid, free DNS label. */
int registry_node_rename(struct registry *reg, const char *ref, const char *name,
			 struct registry_error *err);

/** True if the node's key has expired at the registry's current time. */
bool registry_node_expired(const struct registry *reg, const struct store_node *node);

/** True while the node has a live session (as told by registry_node_set_online()). */
bool registry_node_online(const struct registry *reg, int64_t node_id);

/** Record a node going on- or offline; last_seen is stored on both edges. */
int registry_node_set_online(struct registry *reg, int64_t node_id, bool online);

/** Routes of every node (heap array, free()). */
int registry_route_list(struct registry *reg, struct store_route **out, size_t *n,
			struct registry_error *err);

/**
 * Approve (or with @approve false, unapprove) @n prefixes of a node in one
 * transaction. Prefixes must be canonical ("10.0.0.0/24").
 */
int registry_route_approve(struct registry *reg, const char *ref, const char *const *prefixes,
			   size_t n, bool approve, struct registry_error *err);

/** The current policy text (heap, free()); -ENOENT when none is set. */
int registry_policy_get(struct registry *reg, char **text, int64_t *updated,
			struct registry_error *err);

/** Replace the policy text; it must be valid HuJSON. -EPERM with a policy_file. */
int registry_policy_set(struct registry *reg, const char *text, struct registry_error *err);

/**
 * Periodic work at the registry's current time: delete ephemeral nodes offline
 * longer than the timeout, announce keys that expired since the last tick, drop
 * stale pending registrations. Call it every few seconds to a minute.
 */
void registry_tick(struct registry *reg);

/*
 * After registration: what a node's later requests change (registry_session.c).
 */

/** What a node reports about itself in a map request; NULL / false members are unchanged. */
struct registry_report {
	const uint8_t *disco_key; /* STORE_KEY_LEN bytes */
	const char *endpoints;	  /* JSON array of "IP:PORT" */
	const char *hostname;
	const char *os;
	bool has_routes; /* routes/n_routes replace the advertised routes */
	const char *const *routes;
	size_t n_routes;
};

/**
 * Store what node @node_id reports (one transaction, nothing written when
 * nothing differs) and announce it: REGISTRY_ROUTES_CHANGED when the advertised
 * routes changed, else REGISTRY_NODE_CHANGED. *@changed (may be NULL) says
 * whether anything did. -ENOENT for an unknown node, -EINVAL for a bad route.
 */
int registry_node_report(struct registry *reg, int64_t node_id, const struct registry_report *r,
			 bool *changed, struct registry_error *err);

/** The routes of one node (heap array, free()), advertised and/or approved. */
int registry_node_routes(struct registry *reg, int64_t node_id, struct store_route **out,
			 size_t *n);

/**
 * Whether pending registration @id exists for @machine_key: 0, -ENOENT (no
 * such id any more: approved, timed out or replaced) or -EACCES (another
 * machine's).
 */
int registry_pending_check(struct registry *reg, const char *id,
			   const uint8_t machine_key[STORE_KEY_LEN]);

/**
 * Renew a node key without logging in again: the node of @machine_key whose
 * current key is @old_node_key and has not expired gets @node_key (and
 * @disco_key); id, name, addresses and key expiry stay. -ENOENT when no node
 * matches, -EKEYEXPIRED when its key has expired (a new login is needed),
 * -EEXIST when @node_key belongs to another node.
 */
int registry_node_renew(struct registry *reg, const uint8_t machine_key[STORE_KEY_LEN],
			const uint8_t old_node_key[STORE_KEY_LEN],
			const uint8_t node_key[STORE_KEY_LEN],
			const uint8_t disco_key[STORE_KEY_LEN], struct store_node *out,
			struct registry_error *err);

/**
 * Log out: expire the key of the node of @machine_key, which must currently be
 * @node_key, and announce REGISTRY_NODE_EXPIRED. -ENOENT when no node matches.
 */
int registry_node_logout(struct registry *reg, const uint8_t machine_key[STORE_KEY_LEN],
			 const uint8_t node_key[STORE_KEY_LEN], struct registry_error *err);

#endif
