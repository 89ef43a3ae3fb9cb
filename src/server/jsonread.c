// SPDX-License-Identifier: MIT
/*
 * Typed member reads with located, complete error reports; see jsonread.h.
 * Messages quote the full key path so a reader can find the spot even when the
 * line number points at a long array.
 */
#include "server/jsonread.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"

void jsonread_init(struct jsonread *r, const char *name, const struct hujson_doc *doc, FILE *errs)
{
	memset(r, 0, sizeof(*r));
	r->name = name;
	r->doc = doc;
	r->errs = errs;
}

void jsonread_report(struct jsonread *r, const cJSON *at, const char *fmt, ...)
{
	unsigned int line = hujson_line(r->doc, at);
	va_list ap;

	if (r->nerr++ >= JSONREAD_MAX_ERRORS)
		return;
	if (line)
		fprintf(r->errs, "%s:%u: ", r->name, line);
	else
		fprintf(r->errs, "%s: ", r->name);
	va_start(ap, fmt);
	vfprintf(r->errs, fmt, ap);
	va_end(ap);
	fputc('\n', r->errs);
}

int jsonread_finish(struct jsonread *r)
{
	if (r->nerr > JSONREAD_MAX_ERRORS)
		fprintf(r->errs, "%s: %d more errors not shown\n", r->name,
			r->nerr - JSONREAD_MAX_ERRORS);
	return r->nerr;
}

const char *jsonread_type_name(const cJSON *item)
{
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsNull(item))
		return "null";
	if (cJSON_IsArray(item))
		return "an array";
	return "an object";
}

const char *jsonread_path(char *buf, size_t len, const char *path, const char *key)
{
	if (path && *path)
		snprintf(buf, len, "%s.%s", path, key);
	else
		snprintf(buf, len, "%s", key);
	return buf;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64], i, j;

	if (lb >= ARRAY_SIZE(row) || la >= ARRAY_SIZE(row))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

void jsonread_check_keys(struct jsonread *r, const cJSON *obj, const char *path,
			 const char *const *allowed)
{
	const cJSON *item;
	char buf[JSONREAD_PATH_MAX], hint[JSONREAD_PATH_MAX];

	for (item = obj->child; item; item = item->next) {
		const char *best = NULL;
		size_t best_d = SIZE_MAX;
		bool known = false;

		for (const char *const *k = allowed; *k; k++) {
			size_t d;

			if (!strcmp(item->string, *k)) {
				known = true;
				break;
			}
			d = edit_distance(item->string, *k);
			if (d < best_d) {
				best_d = d;
				best = *k;
			}
		}
		if (known)
			continue;
		/* Suggest only near misses of keys long enough for a typo to be likely. */
		if (best && best_d <= 2 && best_d * 3 <= strlen(best))
			jsonread_report(r, item, "unknown key \"%s\" (did you mean \"%s\"?)",
					jsonread_path(buf, sizeof(buf), path, item->string),
					jsonread_path(hint, sizeof(hint), path, best));
		else
			jsonread_report(r, item, "unknown key \"%s\"",
					jsonread_path(buf, sizeof(buf), path, item->string));
	}
}

bool jsonread_set_string(struct jsonread *r, char **dst, const char *value)
{
	char *copy = value ? strdup(value) : NULL;

	if (value && !copy) {
		r->oom = true;
		return false;
	}
	free(*dst);
	*dst = copy;
	return true;
}

const cJSON *jsonread_get_string(struct jsonread *r, const cJSON *obj, const char *path,
				 const char *key, bool nullable)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	char buf[JSONREAD_PATH_MAX];

	if (!item || (nullable && cJSON_IsNull(item)))
		return NULL;
	if (!cJSON_IsString(item)) {
		jsonread_report(r, item, "\"%s\": expected a string%s, got %s",
				jsonread_path(buf, sizeof(buf), path, key),
				nullable ? " or null" : "", jsonread_type_name(item));
		return NULL;
	}
	return item;
}

void jsonread_string(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
		     char **dst)
{
	const cJSON *item = jsonread_get_string(r, obj, path, key, false);
	char buf[JSONREAD_PATH_MAX];

	if (!item)
		return;
	if (!*item->valuestring) {
		jsonread_report(r, item, "\"%s\": must not be empty",
				jsonread_path(buf, sizeof(buf), path, key));
		return;
	}
	jsonread_set_string(r, dst, item->valuestring);
}

void jsonread_bool(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
		   bool *dst)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	char buf[JSONREAD_PATH_MAX];

	if (!item)
		return;
	if (!cJSON_IsBool(item)) {
		jsonread_report(r, item, "\"%s\": expected true or false, got %s",
				jsonread_path(buf, sizeof(buf), path, key),
				jsonread_type_name(item));
		return;
	}
	*dst = cJSON_IsTrue(item);
}

void jsonread_int(struct jsonread *r, const cJSON *obj, const char *path, const char *key, int min,
		  int max, int *dst)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	char buf[JSONREAD_PATH_MAX];

	if (!item)
		return;
	if (!cJSON_IsNumber(item) || item->valuedouble != floor(item->valuedouble)) {
		jsonread_report(r, item, "\"%s\": expected an integer, got %s",
				jsonread_path(buf, sizeof(buf), path, key),
				cJSON_IsNumber(item) ? "a fraction" : jsonread_type_name(item));
		return;
	}
	if (item->valuedouble < min || item->valuedouble > max) {
		jsonread_report(r, item, "\"%s\": %.0f is out of range (%d..%d)",
				jsonread_path(buf, sizeof(buf), path, key), item->valuedouble, min,
				max);
		return;
	}
	*dst = (int)item->valuedouble;
}

void jsonread_string_array(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
			   int (*check)(const char *, const char **), const char *what, char ***dst,
			   size_t *n)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key), *e;
	char buf[JSONREAD_PATH_MAX];
	char **v;
	size_t k = 0;

	if (!item)
		return;
	jsonread_path(buf, sizeof(buf), path, key);
	if (!cJSON_IsArray(item)) {
		jsonread_report(r, item, "\"%s\": expected an array of strings, got %s", buf,
				jsonread_type_name(item));
		return;
	}
	v = calloc((size_t)cJSON_GetArraySize(item) + 1, sizeof(*v));
	if (!v) {
		r->oom = true;
		return;
	}
	for (e = item->child; e; e = e->next) {
		const char *why;

		if (!cJSON_IsString(e)) {
			jsonread_report(r, e, "\"%s\": expected strings, got %s", buf,
					jsonread_type_name(e));
			continue;
		}
		if (check(e->valuestring, &why)) {
			jsonread_report(r, e, "\"%s\": \"%s\" is not %s: %s", buf, e->valuestring,
					what, why);
			continue;
		}
		v[k] = strdup(e->valuestring);
		if (!v[k++])
			r->oom = true;
	}
	for (size_t i = 0; i < *n; i++)
		free((*dst)[i]);
	free(*dst);
	*dst = v;
	*n = k;
}

const cJSON *jsonread_object(struct jsonread *r, const cJSON *obj, const char *path,
			     const char *key, bool nullable, const char *const *allowed)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	char buf[JSONREAD_PATH_MAX];

	if (!item || (nullable && cJSON_IsNull(item)))
		return NULL;
	jsonread_path(buf, sizeof(buf), path, key);
	if (!cJSON_IsObject(item)) {
		jsonread_report(r, item, "\"%s\": expected an object%s, got %s", buf,
				nullable ? " or null" : "", jsonread_type_name(item));
		return NULL;
	}
	jsonread_check_keys(r, item, buf, allowed);
	return item;
}

void jsonread_checked(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
		      int (*check)(const char *, const char **), const char *what, char **dst)
{
	const cJSON *item = jsonread_get_string(r, obj, path, key, false);
	const char *why;
	char buf[JSONREAD_PATH_MAX];

	if (!item)
		return;
	if (check(item->valuestring, &why)) {
		jsonread_report(r, item, "\"%s\": \"%s\" is not %s: %s",
				jsonread_path(buf, sizeof(buf), path, key), item->valuestring, what,
				why);
		return;
	}
	jsonread_set_string(r, dst, item->valuestring);
}
