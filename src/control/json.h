/* SPDX-License-Identifier: MIT */
/*
 * Strict cJSON reading and writing for control messages. Readers check the
 * JSON type, range and syntax of each field, say which field is wrong
 * ("peers[3].node_key: not a nodekey"), and allocate what they return (freed
 * by the message's _free function). Unknown members are ignored so newer
 * peers can add fields; duplicate members are refused, so no two parsers can
 * disagree about a message.
 */
#ifndef MESH_CONTROL_JSON_H
#define MESH_CONTROL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "control/keytext.h"
#include "util/ipaddr.h"

/* Why a decode failed; optional wherever it is taken. */
struct ctl_err {
	char msg[192];
};

struct ctl_json_ctx {
	struct ctl_err *err;
	char path[96]; /* where we are: "" at the top, "peers[3]" inside */
};

/* What a string field may contain. */
enum ctl_text_kind {
	CTL_TEXT_PRINTABLE, /* any UTF-8 without control characters */
	CTL_TEXT_TOKEN,	    /* [A-Za-z0-9._~+/=-]: ids, auth keys */
	CTL_TEXT_LABEL,	    /* one lowercase DNS label: [a-z0-9-], not starting/ending '-' */
	CTL_TEXT_DNSNAME,   /* dot-separated labels of [A-Za-z0-9_-], optional final dot */
	CTL_TEXT_TAG,	    /* "tag:" then [A-Za-z0-9_-] */
};

/**
 * Parse @len bytes at @buf (at most @max) into a JSON object tree. Refuses raw
 * NUL bytes, "\u0000" escapes (cJSON would silently cut the string there),
 * trailing garbage and non-object roots. Returns 0 with *@root set (free with
 * cJSON_Delete), or -EINVAL / -EMSGSIZE / -ENOMEM.
 */
int ctl_json_parse(cJSON **root, const uint8_t *buf, size_t len, size_t max,
		   struct ctl_json_ctx *ctx);

/** Record "<path>.<field>: <message>" in ctx->err (if any) and return -EINVAL. */
int ctl_json_fail(struct ctl_json_ctx *ctx, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * Check that @obj is an object with at most 64 members and no duplicate
 * names. @field names it in errors (NULL for the current path itself).
 */
int ctl_json_object(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field);

/** Check the root's "type" member equals @type. */
int ctl_json_type(struct ctl_json_ctx *ctx, const cJSON *root, const char *type);

/*
 * Field readers. A member that is absent or null is "missing": an error if
 * @required, otherwise the output is left as initialised (zero/NULL/false) and
 * 0 is returned. *@present (when not NULL) says whether it was there. A
 * present member of the wrong type or value is -EINVAL with the reason in ctx.
 */
/** Read string @field of @kind (1 to @maxlen bytes) into a malloc'd *@out. */
int ctl_json_string(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		    enum ctl_text_kind kind, size_t maxlen, char **out);
/** Read boolean @field (true or false, not 0/1 or "yes"). */
int ctl_json_bool(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		  bool *out, bool *present);
/** Read integer @field, from @min to @max (and at most 2^53 - 1). */
int ctl_json_uint(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		  uint64_t min, uint64_t max, uint64_t *out, bool *present);
/** Read @v itself (an array element) as an integer from @min to @max. */
int ctl_json_uint_value(struct ctl_json_ctx *ctx, const cJSON *v, uint64_t min, uint64_t max,
			uint64_t *out);
/** Read Unix seconds @field (0 to 2^53 - 1); absent reads as 0. */
int ctl_json_time(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, int64_t *out,
		  bool *present);
/** Read key @field in its text form for @kind ("nodekey:<hex>"). */
int ctl_json_key(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		 enum ctl_key_kind kind, uint8_t out[CTL_KEY_LEN], bool *present);
/** Read IPv4 or IPv6 address @field. */
int ctl_json_addr(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		  struct ip_addr *out, bool *present);

/**
 * Find array @field (absent or null: *n = 0, error if @required). At most
 * @maxn elements. Returns 0 with *@arr (NULL when absent) and *@n.
 */
int ctl_json_array(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		   size_t maxn, const cJSON **arr, size_t *n);

/** Array of prefixes; with @canonical no host bits may be set. */
int ctl_json_prefixes(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		      bool canonical, size_t maxn, struct ip_prefix **out, size_t *n);
/** Array of "IP:PORT" endpoints (optional member). */
int ctl_json_endpoints(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, size_t maxn,
		       struct ip_endpoint **out, size_t *n);
/** Array of addresses (optional member). */
int ctl_json_addrs(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, size_t maxn,
		   struct ip_addr **out, size_t *n);
/** Array of strings of @kind, each 1 to @maxlen bytes (optional member). */
int ctl_json_strings(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, size_t maxn,
		     enum ctl_text_kind kind, size_t maxlen, char ***out, size_t *n);

/** Append "[i]" or ".name" to ctx->path for a nested decode; returns the old length. */
size_t ctl_json_push(struct ctl_json_ctx *ctx, const char *field, long index);

/** Restore ctx->path to @len bytes (the value ctl_json_push returned). */
void ctl_json_pop(struct ctl_json_ctx *ctx, size_t len);

/** Free an array of @n strings and the array. */
void ctl_json_free_strings(char **v, size_t n);

/** True if @s is a valid string of @kind, 1 to @maxlen bytes. */
bool ctl_text_valid(const char *s, enum ctl_text_kind kind, size_t maxlen);

/*
 * Writers add one member to @obj. They keep the first failure in *@err
 * (-ENOMEM, or -EINVAL when a value breaks the rule its reader enforces, so a
 * sender can never emit what a receiver refuses) and do nothing once *@err is
 * set; an encoder checks it once at the end.
 */
/** Add string @s, which must be a valid @kind of 1 to @maxlen bytes. */
void ctl_json_put_string(int *err, cJSON *obj, const char *field, const char *s,
			 enum ctl_text_kind kind, size_t maxlen);
/** Add a boolean. */
void ctl_json_put_bool(int *err, cJSON *obj, const char *field, bool b);
/** Add an integer (at most 2^53 - 1, printed exactly). */
void ctl_json_put_uint(int *err, cJSON *obj, const char *field, uint64_t v);
/** Add @key in its text form for @kind; the zero key is -EINVAL. */
void ctl_json_put_key(int *err, cJSON *obj, const char *field, enum ctl_key_kind kind,
		      const uint8_t key[CTL_KEY_LEN]);
/** Add an address (unset is -EINVAL). */
void ctl_json_put_addr(int *err, cJSON *obj, const char *field, const struct ip_addr *a);
/** Add an array of @n prefixes (at most @maxn; canonical ones if @canonical). */
void ctl_json_put_prefixes(int *err, cJSON *obj, const char *field, const struct ip_prefix *p,
			   size_t n, size_t maxn, bool canonical);
/** Add an array of @n endpoints (at most @maxn). */
void ctl_json_put_endpoints(int *err, cJSON *obj, const char *field, const struct ip_endpoint *e,
			    size_t n, size_t maxn);
/** Add an array of @n addresses (at most @maxn). */
void ctl_json_put_addrs(int *err, cJSON *obj, const char *field, const struct ip_addr *a, size_t n,
			size_t maxn);
/** Add an array of @n strings of @kind (at most @maxn, each 1 to @maxlen bytes). */
void ctl_json_put_strings(int *err, cJSON *obj, const char *field, char *const *v, size_t n,
			  size_t maxn, enum ctl_text_kind kind, size_t maxlen);

/** Append integer @v (at most 2^53 - 1) to array @arr. */
void ctl_json_push_uint(int *err, cJSON *arr, uint64_t v);

/** Add an empty object member; NULL (and *@err set) on failure or if *@err was set. */
cJSON *ctl_json_put_object(int *err, cJSON *obj, const char *field);

/** Add an empty array member for @n elements (more than @maxn is -EINVAL); NULL on failure. */
cJSON *ctl_json_put_array(int *err, cJSON *obj, const char *field, size_t n, size_t maxn);

/** Append an empty object to array @arr; NULL (and *@err set) on failure. */
cJSON *ctl_json_push_object(int *err, cJSON *arr);

/**
 * Unless @err is already set, print @root compactly into a malloc'd,
 * NUL-terminated buffer (*@out, length *@len). Frees @root either way.
 * Returns 0, @err, -ENOMEM, or -EMSGSIZE past @max bytes.
 */
int ctl_json_finish(int err, cJSON *root, size_t max, char **out, size_t *len);

/**
 * Like ctl_json_finish() for a tree whose string member @secret (of @root)
 * is a secret: the text is printed into one buffer that never moves (cJSON's
 * growing buffer would leave copies behind), and the tree's copy is wiped
 * before it is freed. The caller wipes *@out after use.
 */
int ctl_json_finish_secret(int err, cJSON *root, size_t max, const char *secret, char **out,
			   size_t *len);

/** Wipe the string value of member @field of @obj, if there is one (before cJSON_Delete). */
void ctl_json_wipe_member(cJSON *obj, const char *field);

#endif
