/* SPDX-License-Identifier: MIT */
/*
 * Node preferences: what the user asked meshd to do (be up, which server,
 * which routes to offer or accept, ...), as opposed to what the control
 * server said. They are persisted in the state file, read and patched over
 * the local API, and set by `meshctl up` and `meshctl set`.
 *
 * The JSON field names are a contract (docs/localapi.md); meshctl's flags are
 * the same names with '-' for '_'. A struct prefs is a plain value: it owns no
 * memory, so it may be copied with '=' and compared with prefs_equal().
 *
 * Merge rules: `up` and `set` change only the fields they name (a struct
 * prefs_mask says which); with `reset`, every field they do not name goes
 * back to its default first.
 */
#ifndef MESH_DAEMON_PREFS_H
#define MESH_DAEMON_PREFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util/ipaddr.h"

/* One per field, in the order JSON encoding writes them. */
enum prefs_field {
	PREFS_WANT_RUNNING,
	PREFS_LOGIN_SERVER,
	PREFS_HOSTNAME,
	PREFS_ADVERTISE_ROUTES,
	PREFS_ADVERTISE_EXIT_NODE,
	PREFS_ADVERTISE_TAGS,
	PREFS_ACCEPT_ROUTES,
	PREFS_ACCEPT_DNS,
	PREFS_EXIT_NODE,
	PREFS_EXIT_NODE_ALLOW_LAN_ACCESS,
	PREFS_SHIELDS_UP,
	PREFS_SNAT_SUBNET_ROUTES,
	PREFS_FIELD_COUNT,
};

/* Longest values, in characters (buffers hold one more for the NUL). */
enum prefs_limits {
	PREFS_URL_MAX = 1023,
	PREFS_HOSTNAME_MAX = 63, /* one DNS label */
	PREFS_EXIT_NODE_MAX = 253,
	PREFS_TAG_MAX = 67, /* "tag:" and one DNS label */
	PREFS_TAGS_MAX = 32,
	PREFS_ROUTES_MAX = 256,
	PREFS_ERROR_MAX = 256, /* a good size for the error buffers below */
};

struct prefs_routes {
	size_t n;
	struct ip_prefix prefix[PREFS_ROUTES_MAX];
};

struct prefs_tags {
	size_t n;
	char tag[PREFS_TAGS_MAX][PREFS_TAG_MAX + 1];
};

struct prefs {
	bool want_running;
	char login_server[PREFS_URL_MAX + 1];  /* "" = the server the node registered with */
	char hostname[PREFS_HOSTNAME_MAX + 1]; /* "" = the OS hostname */
	struct prefs_routes advertise_routes;  /* as written: prefs_validate() rejects host bits */
	bool advertise_exit_node;
	struct prefs_tags advertise_tags;
	bool accept_routes;
	bool accept_dns;
	char exit_node[PREFS_EXIT_NODE_MAX + 1]; /* node name or mesh IP; "" = none */
	bool exit_node_allow_lan_access;
	bool shields_up;
	bool snat_subnet_routes;
};

/* Which fields a PATCH, `up` or `set` named: bit (1u << enum prefs_field). */
struct prefs_mask {
	uint32_t fields;
};

_Static_assert(PREFS_FIELD_COUNT <= 32, "struct prefs_mask has one bit per field");

/** Name @f in @m. */
static inline void prefs_mask_add(struct prefs_mask *m, enum prefs_field f)
{
	m->fields |= 1u << f;
}

/** True if @m names @f. */
static inline bool prefs_mask_has(const struct prefs_mask *m, enum prefs_field f)
{
	return m->fields & (1u << f);
}

/**
 * Set every field of @p to its default: accept_dns and snat_subnet_routes
 * true, everything else false or empty (want_running too: a new node waits
 * for `meshctl up`).
 */
void prefs_init(struct prefs *p);

/** The JSON name of @f ("accept_dns"), or NULL when @f is out of range. */
const char *prefs_field_name(enum prefs_field f);

/**
 * The field whose JSON name is @name, or -ENOENT. With @dashes, '-' stands
 * for '_' (so a meshctl flag name "accept-dns" finds PREFS_ACCEPT_DNS).
 */
int prefs_field_lookup(const char *name, bool dashes);

/** True if field @f holds a boolean (so meshctl makes it a boolean flag). */
bool prefs_field_is_bool(enum prefs_field f);

/**
 * Set field @f of @p from the text a user typed: "true"/"false"/"1"/"0" for
 * booleans, a comma-separated list for advertise_routes and advertise_tags
 * ("" clears the list), the string itself otherwise. Only the syntax and the
 * sizes are checked here; prefs_validate() judges the values. Returns 0, or
 * -EINVAL with a message (naming the bad value, not the field) in @err.
 */
int prefs_parse_field(struct prefs *p, enum prefs_field f, const char *text, char *err,
		      size_t errlen);

/**
 * Check the values of @p: routes are canonical prefixes and not default
 * routes, nor listed twice; tags look like tag:[a-z0-9-]+; hostname is one
 * DNS label or empty; login_server is an http:// or https:// URL or empty;
 * exit_node is an IP address or a node name, and not combined with
 * advertise_exit_node. Returns 0, or -EINVAL with the offending field in
 * *@bad (if @bad is not NULL) and a sentence in @err that does not name the
 * field, so the local API can say "advertise_routes: ..." and meshctl
 * "--advertise-routes: ...".
 */
int prefs_validate(const struct prefs *p, enum prefs_field *bad, char *err, size_t errlen);

/**
 * Merge @src into @dst: each field named in @mask is copied from @src; with
 * @reset every other field is set to its default, without it left as is.
 * @mask may be NULL (names nothing). @dst and @src may be the same.
 */
void prefs_apply(struct prefs *dst, const struct prefs *src, const struct prefs_mask *mask,
		 bool reset);

/** Fill @out with the fields that differ between @a and @b. */
void prefs_diff(const struct prefs *a, const struct prefs *b, struct prefs_mask *out);

/** True if @a and @b hold the same values in every field. */
bool prefs_equal(const struct prefs *a, const struct prefs *b);

/**
 * Encode the fields of @p named in @mask (all fields when @mask is NULL) as
 * a new JSON object, in enum order. Returns NULL only when out of memory.
 */
cJSON *prefs_to_json(const struct prefs *p, const struct prefs_mask *mask);

/**
 * Decode the JSON object @obj strictly: every member must be a known field
 * of the right type (unknown keys, wrong types, duplicates and over-long
 * values are errors). The fields present are stored in
 * @p and named in @mask (if not NULL); the others are left untouched, so a
 * caller decoding a complete object starts from prefs_init(). Values are not
 * validated: call prefs_validate(). Returns 0, or -EINVAL with a message
 * naming the key in @err.
 */
int prefs_from_json(struct prefs *p, struct prefs_mask *mask, const cJSON *obj, char *err,
		    size_t errlen);

/**
 * Decode a PATCH /localapi/v0/prefs body: prefs_from_json() plus an optional
 * boolean member "reset", stored in *@reset (false when absent).
 */
int prefs_patch_from_json(struct prefs *p, struct prefs_mask *mask, bool *reset, const cJSON *obj,
			  char *err, size_t errlen);

#endif
