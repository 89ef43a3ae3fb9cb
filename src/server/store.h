/* SPDX-License-Identifier: MIT */
/*
 * meshcontrol's persistent state behind one interface: users, nodes, auth
 * keys, routes, the policy and the server's own key. A backend (sqlite today,
 * PostgreSQL next) fills a struct store_ops; everything else calls the
 * store_* functions below and never sees SQL.
 *
 * Rules every backend keeps:
 *  - functions return 0 or a negative errno: -ENOENT (no such row), -EEXIST (a
 *    unique name, key or address is taken), -EBUSY (the database is locked, or
 *    a user still owns nodes), -ENOMEM, -EIO (anything else; details logged);
 *  - the store never reads the clock: callers put times (unix seconds) in the
 *    rows they write, so tests can run on a fake clock;
 *  - store_begin() nests (savepoints inside one transaction) so a caller can
 *    group several changes, some of which group changes themselves;
 *  - the schema is migrated forward at open, each numbered step in its own
 *    transaction, and a database newer than the program is refused.
 */
#ifndef MESH_SERVER_STORE_H
#define MESH_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_limits {
	STORE_KEY_LEN = 32,
	STORE_NAME_MAX = 64,	  /* user and node names, NUL included */
	STORE_HOSTNAME_MAX = 256, /* as the node reports it */
	STORE_OS_MAX = 32,
	STORE_ADDR_MAX = 46,   /* an address as text */
	STORE_PREFIX_MAX = 50, /* a prefix as text */
	STORE_TAGS_MAX = 600,  /* "tag:a,tag:b", NUL included */
	STORE_AUTHKEY_PREFIX_MAX = 16,
	STORE_HASH_LEN = 32,
	STORE_ENDPOINTS_MAX = 1024, /* JSON text of a node's endpoints */
};

struct store_user {
	int64_t id;
	char name[STORE_NAME_MAX];
	int64_t created;
};

/*
 * A node. Tagged nodes belong to their tags, not to a user: user_id is 0 then.
 * An untagged node always has a user (the schema enforces it).
 */
struct store_node {
	int64_t id;
	uint8_t machine_key[STORE_KEY_LEN];
	uint8_t node_key[STORE_KEY_LEN];
	uint8_t disco_key[STORE_KEY_LEN];
	char hostname[STORE_HOSTNAME_MAX]; /* reported by the node */
	char name[STORE_NAME_MAX];	   /* unique DNS label, set by the server */
	char os[STORE_OS_MAX];
	char ipv4[STORE_ADDR_MAX];
	char ipv6[STORE_ADDR_MAX];
	int64_t user_id;		/* 0: none (tagged) */
	char user_name[STORE_NAME_MAX]; /* filled on reads */
	char tags[STORE_TAGS_MAX];	/* sorted, comma-separated, "" when untagged */
	int64_t authkey_id;		/* 0: approved interactively (or key deleted) */
	bool ephemeral;
	int64_t expiry;	   /* node key expiry; 0 = never */
	int64_t last_seen; /* 0 = never */
	int64_t created;
	char endpoints[STORE_ENDPOINTS_MAX]; /* JSON array of "IP:PORT" strings */
};

struct store_authkey {
	int64_t id;
	char prefix[STORE_AUTHKEY_PREFIX_MAX]; /* the public, looked-up part of the key */
	uint8_t hash[STORE_HASH_LEN]; /* hash of the secret part; the key is never stored */
	int64_t user_id;
	char user_name[STORE_NAME_MAX]; /* filled on reads */
	bool reusable;
	bool ephemeral;
	char tags[STORE_TAGS_MAX];
	int64_t expiry;
	int64_t used;	 /* registrations made with it */
	int64_t revoked; /* when, or 0 */
	int64_t created;
};

struct store_route {
	int64_t node_id;
	char node_name[STORE_NAME_MAX]; /* filled on reads */
	char prefix[STORE_PREFIX_MAX];
	bool advertised;
	bool approved;
};

enum store_node_by {
	STORE_NODE_BY_ID,
	STORE_NODE_BY_MACHINE_KEY,
	STORE_NODE_BY_NODE_KEY,
	STORE_NODE_BY_NAME,
};

struct store;

/* A backend's operations; see the store_* wrappers for what each one does. */
struct store_ops {
	void (*close)(struct store *st);
	int (*begin)(struct store *st);
	int (*commit)(struct store *st);
	int (*rollback)(struct store *st);
	int (*schema_version)(struct store *st, int *version);
	int (*user_insert)(struct store *st, struct store_user *u);
	int (*user_get)(struct store *st, int64_t id, const char *name, struct store_user *out);
	int (*user_list)(struct store *st, struct store_user **out, size_t *n);
	int (*user_delete)(struct store *st, int64_t id);
	int (*node_insert)(struct store *st, struct store_node *n);
	int (*node_update)(struct store *st, const struct store_node *n);
	int (*node_get)(struct store *st, enum store_node_by by, int64_t id, const void *key,
			struct store_node *out);
	int (*node_list)(struct store *st, struct store_node **out, size_t *n);
	int (*node_delete)(struct store *st, int64_t id);
	int (*node_count_for_user)(struct store *st, int64_t user_id, size_t *n);
	int (*authkey_insert)(struct store *st, struct store_authkey *k);
	int (*authkey_get)(struct store *st, int64_t id, const char *prefix,
			   struct store_authkey *out);
	int (*authkey_list)(struct store *st, struct store_authkey **out, size_t *n);
	int (*authkey_update)(struct store *st, const struct store_authkey *k);
	int (*route_list)(struct store *st, int64_t node_id, struct store_route **out, size_t *n);
	int (*route_put)(struct store *st, const struct store_route *r);
	int (*policy_get)(struct store *st, char **text, int64_t *updated);
	int (*policy_set)(struct store *st, const char *text, int64_t updated);
	int (*server_key_get)(struct store *st, const char *name, uint8_t pub[STORE_KEY_LEN],
			      uint8_t priv[STORE_KEY_LEN]);
	int (*server_key_put)(struct store *st, const char *name, const uint8_t pub[STORE_KEY_LEN],
			      const uint8_t priv[STORE_KEY_LEN], int64_t created);
};

/* Embedded first in each backend's own struct. */
struct store {
	const struct store_ops *ops;
};

/** Close the store and free it. NULL is allowed. */
void store_close(struct store *st);

/**
 * Start a transaction, or a savepoint inside the current one. Every store_begin()
 * is matched by store_commit() or store_rollback().
 */
int store_begin(struct store *st);

/** Commit the innermost transaction or savepoint. */
int store_commit(struct store *st);

/** Undo the innermost transaction or savepoint. Always leaves the nesting level reduced. */
int store_rollback(struct store *st);

/** Commit when @ret is 0, else roll back; returns @ret or the commit's error. */
int store_end(struct store *st, int ret);

/** The schema version the open database is at. */
int store_schema_version(struct store *st, int *version);

/** Insert @u (name, created); sets u->id. -EEXIST if the name is taken. */
int store_user_insert(struct store *st, struct store_user *u);

/** Find a user by @id, or by @name when @id is 0. -ENOENT when absent. */
int store_user_get(struct store *st, int64_t id, const char *name, struct store_user *out);

/** All users by id, in a heap array (free()) of *@n. */
int store_user_list(struct store *st, struct store_user **out, size_t *n);

/** Delete a user and their auth keys. -EBUSY while they still own nodes; -ENOENT if absent. */
int store_user_delete(struct store *st, int64_t id);

/** Insert @n (all fields but id and user_name); sets n->id. -EEXIST on a taken key/name/address. */
int store_node_insert(struct store *st, struct store_node *n);

/** Write every field of the node n->id. -ENOENT if absent, -EEXIST as for insert. */
int store_node_update(struct store *st, const struct store_node *n);

/**
 * Find a node by id (@by STORE_NODE_BY_ID, @id), by machine or node key (@key
 * points at STORE_KEY_LEN bytes) or by name (@key is the string).
 */
int store_node_get(struct store *st, enum store_node_by by, int64_t id, const void *key,
		   struct store_node *out);

/** All nodes by id, in a heap array (free()) of *@n. */
int store_node_list(struct store *st, struct store_node **out, size_t *n);

/** Delete a node and its routes. -ENOENT if absent. */
int store_node_delete(struct store *st, int64_t id);

/** How many nodes @user_id owns. */
int store_node_count_for_user(struct store *st, int64_t user_id, size_t *n);

/** Insert @k (all but id and user_name); sets k->id. -EEXIST if the prefix is taken. */
int store_authkey_insert(struct store *st, struct store_authkey *k);

/** Find an auth key by @id, or by @prefix when @id is 0. */
int store_authkey_get(struct store *st, int64_t id, const char *prefix, struct store_authkey *out);

/** All auth keys by id, in a heap array (free()) of *@n. */
int store_authkey_list(struct store *st, struct store_authkey **out, size_t *n);

/** Write the mutable fields of key k->id: used, revoked, expiry. */
int store_authkey_update(struct store *st, const struct store_authkey *k);

/** Routes of @node_id (0: of every node), by node then prefix, heap array of *@n. */
int store_route_list(struct store *st, int64_t node_id, struct store_route **out, size_t *n);

/**
 * Store one route's flags; a route neither advertised nor approved is deleted.
 * r->prefix must be canonical text (ip_prefix_format of a masked prefix).
 */
int store_route_put(struct store *st, const struct store_route *r);

/**
 * Make @prefixes (@n canonical prefix strings) the advertised routes of @node_id,
 * keeping approvals, in one transaction.
 */
int store_routes_set_advertised(struct store *st, int64_t node_id, const char *const *prefixes,
				size_t n);

/** The stored policy text (heap, free()) and when it was set. -ENOENT if none. */
int store_policy_get(struct store *st, char **text, int64_t *updated);

/** Replace the policy text. */
int store_policy_set(struct store *st, const char *text, int64_t updated);

/** Read the key pair called @name. -ENOENT if none. */
int store_server_key_get(struct store *st, const char *name, uint8_t pub[STORE_KEY_LEN],
			 uint8_t priv[STORE_KEY_LEN]);

/** Store the key pair called @name; -EEXIST if one exists (keys are never replaced silently). */
int store_server_key_put(struct store *st, const char *name, const uint8_t pub[STORE_KEY_LEN],
			 const uint8_t priv[STORE_KEY_LEN], int64_t created);

/**
 * Load the Curve25519 key pair called @name, generating and storing it on first
 * use (crypto_box_keypair). *@created tells which happened. The caller wipes
 * @priv with sodium_memzero when done.
 */
int store_server_key_ensure(struct store *st, const char *name, int64_t now,
			    uint8_t pub[STORE_KEY_LEN], uint8_t priv[STORE_KEY_LEN], bool *created);

/** True when the comma-separated @tags holds @tag. */
bool store_tags_has(const char *tags, const char *tag);

#endif
