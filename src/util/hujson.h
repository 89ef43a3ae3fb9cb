/* SPDX-License-Identifier: MIT */
/*
 * HuJSON: JSON for humans, as Tailscale's policy files use it. Plain JSON plus
 * `//` and `/ * * /` comments and trailing commas after the last element of an
 * array or object. The text is standardized in place (comments become spaces,
 * trailing commas a space, newlines stay), so every byte keeps its offset and
 * every error and every parsed item can be located by line and column in the
 * file the user wrote. cJSON does the parsing; a second pass over the same text
 * records where each cJSON item starts, rejects what cJSON is lax about
 * (leading zeros, numbers that overflow) and finds duplicate object keys.
 */
#ifndef MESH_UTIL_HUJSON_H
#define MESH_UTIL_HUJSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

enum hujson_limits {
	HUJSON_ERROR_MAX = 200,	     /* bytes of an error message, NUL included */
	HUJSON_MAX_INPUT = 16 << 20, /* documents are configuration, not data */
	HUJSON_MAX_DEPTH = 256,	     /* nesting of arrays and objects */
};

enum hujson_flags {
	/* Accept {"a": 1, "a": 2} (the last one wins in cJSON lookups). */
	HUJSON_ALLOW_DUPLICATE_KEYS = 1 << 0,
};

/* Where and why parsing failed. line and col are 1-based; col counts characters. */
struct hujson_error {
	unsigned int line;
	unsigned int col;
	char msg[HUJSON_ERROR_MAX];
};

struct hujson_doc;

/**
 * Turn HuJSON into plain JSON in place: comments become spaces (newlines inside
 * block comments are kept), a trailing comma before `]` or `}` becomes a space.
 * Offsets, and so lines and columns, do not change. Returns 0, or -EINVAL with
 * @err set on an unterminated comment or string, a raw control character inside a
 * string, or a NUL byte.
 */
int hujson_standardize(char *text, size_t len, struct hujson_error *err);

/**
 * Parse @len bytes of HuJSON (the text need not be NUL-terminated and is not
 * modified). On success *@out owns the document: the cJSON tree plus the position
 * of every item. Duplicate keys in one object are an error unless @flags has
 * HUJSON_ALLOW_DUPLICATE_KEYS. Returns 0, -EINVAL with @err filled on bad input,
 * -E2BIG when the text exceeds HUJSON_MAX_INPUT, or -ENOMEM.
 */
int hujson_parse(struct hujson_doc **out, const char *text, size_t len, unsigned int flags,
		 struct hujson_error *err);

/**
 * Read and parse a file. I/O errors return the negative errno with @err->msg set to
 * strerror's text and line 0; otherwise as hujson_parse().
 */
int hujson_parse_file(struct hujson_doc **out, const char *path, unsigned int flags,
		      struct hujson_error *err);

/** The root value of a parsed document; it stays owned by @doc. */
cJSON *hujson_root(const struct hujson_doc *doc);

/**
 * Where @item starts in the source: for an object member the position of its key,
 * otherwise of the value. Returns 0, or -ENOENT when @item is not part of @doc.
 */
int hujson_pos(const struct hujson_doc *doc, const cJSON *item, unsigned int *line,
	       unsigned int *col);

/** Line of @item as hujson_pos() finds it, or 0 when unknown (so callers can print "?"). */
unsigned int hujson_line(const struct hujson_doc *doc, const cJSON *item);

/** Free the document and its cJSON tree. NULL is allowed. */
void hujson_free(struct hujson_doc *doc);

#endif
