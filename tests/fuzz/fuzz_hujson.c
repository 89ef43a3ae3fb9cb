// SPDX-License-Identifier: MIT
/*
 * Fuzz target for util/hujson: the input is a HuJSON document (policy files,
 * configs), parsed with and without HUJSON_ALLOW_DUPLICATE_KEYS.
 *
 * Properties checked besides memory safety:
 *  - an error has a position inside the text and a NUL-terminated message;
 *  - every item of a parsed tree has a position, and positions increase in
 *    document (pre-)order;
 *  - the tree printed as plain JSON parses back to an equal tree (numbers
 *    within cJSON's printing precision, see same_number());
 *  - hujson_standardize() succeeds on what parses, keeps the length and
 *    every newline where it was;
 *  - what parses without duplicate keys also parses when they are allowed.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util/hujson.h"

struct walk {
	const struct hujson_doc *doc;
	unsigned int lines;
	unsigned int last_line, last_col;
};

static unsigned int count_lines(const uint8_t *data, size_t size)
{
	unsigned int n = 1;

	for (size_t i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

/* Pre-order: the item, then its children; each position after the previous one. */
static void walk_items(struct walk *w, const cJSON *item)
{
	for (; item; item = item->next) {
		unsigned int line = 0, col = 0;

		FUZZ_CHECK(hujson_pos(w->doc, item, &line, &col) == 0);
		FUZZ_CHECK(line >= 1 && line <= w->lines && col >= 1);
		FUZZ_CHECK(line > w->last_line || (line == w->last_line && col > w->last_col));
		FUZZ_CHECK(hujson_line(w->doc, item) == line);
		w->last_line = line;
		w->last_col = col;
		if (cJSON_IsArray(item) || cJSON_IsObject(item))
			walk_items(w, item->child);
	}
}

static void check_error(const struct hujson_error *err, unsigned int lines)
{
	FUZZ_CHECK(memchr(err->msg, '\0', sizeof(err->msg)) != NULL);
	FUZZ_CHECK(err->msg[0] != '\0');
	FUZZ_CHECK(err->line >= 1 && err->line <= lines && err->col >= 1);
}

/*
 * cJSON prints a double with 15 significant digits when that reads back
 * within DBL_EPSILON (relative) of it, so a reprinted number may be one ulp
 * off: 5.9999999999999991 prints as 6. That is cJSON's printer, not our
 * parser; reprinted trees compare numbers with that tolerance.
 */
static bool same_number(double a, double b, bool exact)
{
	double max = fabs(a) > fabs(b) ? fabs(a) : fabs(b);

	return a == b || (!exact && fabs(a - b) <= max * DBL_EPSILON);
}

/*
 * Item by item, in order: cJSON_Compare() looks object members up by name,
 * so it calls {"a": 1, "a": 2} different from itself.
 */
static bool same_tree(const cJSON *a, const cJSON *b, bool exact)
{
	for (; a && b; a = a->next, b = b->next) {
		if ((a->type & 0xff) != (b->type & 0xff))
			return false;
		if ((a->string == NULL) != (b->string == NULL) ||
		    (a->string && strcmp(a->string, b->string)))
			return false;
		if (cJSON_IsNumber(a) && !same_number(a->valuedouble, b->valuedouble, exact))
			return false;
		if (cJSON_IsString(a) && strcmp(a->valuestring, b->valuestring))
			return false;
		if ((cJSON_IsArray(a) || cJSON_IsObject(a)) &&
		    !same_tree(a->child, b->child, exact))
			return false;
	}
	return a == NULL && b == NULL;
}

static void check_reprint(const cJSON *root, unsigned int flags)
{
	struct hujson_error err;
	struct hujson_doc *doc;
	char *text = cJSON_PrintUnformatted(root);

	if (!text)
		return; /* out of memory */
	FUZZ_CHECK(hujson_parse(&doc, text, strlen(text), flags, &err) == 0);
	FUZZ_CHECK(same_tree(root, hujson_root(doc), false));
	hujson_free(doc);
	free(text);
}

static void check_standardize(const uint8_t *data, size_t size)
{
	struct hujson_error err;
	char *copy = malloc(size + 1);

	if (!copy)
		return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	FUZZ_CHECK(hujson_standardize(copy, size, &err) == 0);
	for (size_t i = 0; i < size; i++)
		FUZZ_CHECK(data[i] != '\n' || copy[i] == '\n');
	FUZZ_CHECK(copy[size] == '\0');
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int lines = count_lines(data, size);
	struct hujson_error err;
	struct hujson_doc *doc, *dup_doc;
	int ret, dup_ret;

	ret = hujson_parse(&doc, (const char *)data, size, 0, &err);
	if (ret == -EINVAL)
		check_error(&err, lines);
	dup_ret =
		hujson_parse(&dup_doc, (const char *)data, size, HUJSON_ALLOW_DUPLICATE_KEYS, &err);
	if (dup_ret == -EINVAL)
		check_error(&err, lines);
	if (ret == 0)
		FUZZ_CHECK(dup_ret == 0);

	if (dup_ret == 0) {
		struct walk w = {.doc = dup_doc, .lines = lines};

		walk_items(&w, hujson_root(dup_doc));
		check_reprint(hujson_root(dup_doc), HUJSON_ALLOW_DUPLICATE_KEYS);
		check_standardize(data, size);
	}
	if (ret == 0) {
		FUZZ_CHECK(same_tree(hujson_root(doc), hujson_root(dup_doc), true));
		check_reprint(hujson_root(doc), 0);
	}
	hujson_free(doc);
	hujson_free(dup_doc);
	return 0;
}
