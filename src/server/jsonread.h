/* SPDX-License-Identifier: MIT */
/*
 * Typed reads of a HuJSON document that people write (the server config, the
 * policy file), with errors a person can act on. Each problem is reported as
 * "NAME:LINE: \"path.to.key\": what is wrong" and reading goes on, so one run
 * lists every mistake. Readers leave the destination untouched when the key is
 * absent (the caller set the default) or wrong (the caller will fail anyway).
 */
#ifndef MESH_SERVER_JSONREAD_H
#define MESH_SERVER_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "util/hujson.h"

enum jsonread_limits {
	JSONREAD_PATH_MAX = 160,  /* a key path in messages, NUL included */
	JSONREAD_MAX_ERRORS = 50, /* stop printing after this many */
};

struct jsonread {
	const char *name;	      /* the file, as messages name it */
	const struct hujson_doc *doc; /* for line numbers */
	FILE *errs;
	int nerr; /* problems found, printed or not */
	bool oom; /* an allocation failed: the result is incomplete */
};

/** Start reading @doc, naming it @name and printing problems to @errs. */
void jsonread_init(struct jsonread *r, const char *name, const struct hujson_doc *doc, FILE *errs);

/**
 * Report one problem at @at's line ("NAME:LINE: message"; "NAME: message" when @at
 * has no position). Only the first JSONREAD_MAX_ERRORS are printed; call
 * jsonread_finish() to mention the rest.
 */
void jsonread_report(struct jsonread *r, const cJSON *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Print how many problems were not shown, if any. Returns r->nerr. */
int jsonread_finish(struct jsonread *r);

/** "a string", "a number", "a boolean", "null", "an array" or "an object". */
const char *jsonread_type_name(const cJSON *item);

/** Write "PATH.KEY" (or "KEY" when @path is empty or NULL) into @buf and return it. */
const char *jsonread_path(char *buf, size_t len, const char *path, const char *key);

/**
 * Report every member of the object @obj (at @path) whose key is not in the
 * NULL-terminated list @allowed, suggesting the closest allowed key when it is
 * at most two edits away.
 */
void jsonread_check_keys(struct jsonread *r, const cJSON *obj, const char *path,
			 const char *const *allowed);

/** Replace *@dst with a copy of @value (NULL allowed). Returns false (and sets oom) on ENOMEM. */
bool jsonread_set_string(struct jsonread *r, char **dst, const char *value);

/**
 * The string member @key of @obj, or NULL when it is absent, null and @nullable,
 * or not a string (then reported).
 */
const cJSON *jsonread_get_string(struct jsonread *r, const cJSON *obj, const char *path,
				 const char *key, bool nullable);

/** Read a non-empty string member into *@dst (a heap copy replacing the old value). */
void jsonread_string(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
		     char **dst);

/**
 * Read a string member that @check accepts (it returns 0, or nonzero with *why set)
 * into *@dst; refused values are reported as "... is not WHAT: WHY".
 */
void jsonread_checked(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
		      int (*check)(const char *, const char **), const char *what, char **dst);

/** Read a boolean member into *@dst. */
void jsonread_bool(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
		   bool *dst);

/** Read an integer member in [@min, @max] into *@dst. */
void jsonread_int(struct jsonread *r, const cJSON *obj, const char *path, const char *key, int min,
		  int max, int *dst);

/**
 * Read an array of strings, each accepted by @check, into a new NULL-terminated
 * heap array *@dst of *@n strings (replacing and freeing the old one).
 */
void jsonread_string_array(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
			   int (*check)(const char *, const char **), const char *what, char ***dst,
			   size_t *n);

/**
 * The object member @key of @obj with its keys checked against @allowed, or NULL
 * when absent, null and @nullable, or not an object (then reported).
 */
const cJSON *jsonread_object(struct jsonread *r, const cJSON *obj, const char *path,
			     const char *key, bool nullable, const char *const *allowed);

#endif
