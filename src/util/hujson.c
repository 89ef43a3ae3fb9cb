// SPDX-License-Identifier: MIT
/*
 * HuJSON parsing in three passes over one copy of the text:
 *  1. standardize: comments and trailing commas become spaces, so offsets are
 *     preserved and every position maps back to the user's file;
 *  2. cJSON parses the result;
 *  3. a small grammar walker goes over the same text. With a cJSON tree it runs
 *     in lockstep with it and records where each item starts; without one (cJSON
 *     refused the text) it finds the precise syntax error to report.
 * Duplicate keys are found last, from the tree and the recorded positions.
 */
#include "util/hujson.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct item_pos {
	const cJSON *item;
	unsigned int line;
	unsigned int col;
};

struct hujson_doc {
	cJSON *root;
	struct item_pos *pos; /* sorted by item pointer once parsing is done */
	size_t npos;
	size_t cappos;
};

struct walker {
	const char *s;
	size_t len;
	size_t i;
	struct hujson_doc *doc; /* NULL: validate only */
	struct hujson_error *err;
	/* Line and column of offset @at: items are recorded in text order, so
	 * positions are found incrementally, not by rescanning from the start. */
	size_t at;
	unsigned int at_line;
	unsigned int at_col;
};

static void set_error(struct hujson_error *err, const char *text, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Lines count '\n'; columns count characters, i.e. bytes that do not continue UTF-8. */
static void locate_from(const char *text, size_t from, size_t off, unsigned int *line,
			unsigned int *col)
{
	unsigned int l = *line, c = *col;
	size_t i;

	for (i = from; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static void locate(const char *text, size_t off, unsigned int *line, unsigned int *col)
{
	*line = 1;
	*col = 1;
	locate_from(text, 0, off, line, col);
}

static void set_error(struct hujson_error *err, const char *text, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	locate(text, off, &err->line, &err->col);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The offset of the string's closing quote, or len when there is none. */
static size_t string_end(const char *t, size_t len, size_t open)
{
	size_t i = open + 1;

	while (i < len && t[i] != '"' && t[i] != '\n')
		i += t[i] == '\\' ? 2 : 1;
	return i < len && t[i] == '"' ? i : len;
}

int hujson_standardize(char *t, size_t len, struct hujson_error *err)
{
	/* Offsets of the last two significant (non-blank) bytes, for trailing commas. */
	size_t last = SIZE_MAX, prev = SIZE_MAX;
	size_t i = 0, j;

	while (i < len) {
		char c = t[i];

		if (c == '\0') {
			set_error(err, t, i, "NUL byte in input");
			return -EINVAL;
		}
		if (c == '"') {
			j = string_end(t, len, i);
			if (j == len) {
				set_error(err, t, i, "unterminated string");
				return -EINVAL;
			}
			for (size_t k = i + 1; k < j; k++) {
				if ((unsigned char)t[k] < 0x20) {
					set_error(err, t, k,
						  "control character in string (escape it, e.g. "
						  "\\t)");
					return -EINVAL;
				}
			}
			prev = last;
			last = j;
			i = j + 1;
			continue;
		}
		if (c == '/' && i + 1 < len && t[i + 1] == '/') {
			while (i < len && t[i] != '\n')
				t[i++] = ' ';
			continue;
		}
		if (c == '/' && i + 1 < len && t[i + 1] == '*') {
			size_t open = i;

			t[i] = t[i + 1] = ' ';
			for (i += 2;; i++) {
				if (i + 1 >= len) {
					set_error(err, t, open, "unterminated /* comment");
					return -EINVAL;
				}
				if (t[i] == '*' && t[i + 1] == '/') {
					t[i] = t[i + 1] = ' ';
					i += 2;
					break;
				}
				if (t[i] != '\n' && t[i] != '\r')
					t[i] = ' ';
			}
			continue;
		}
		if (is_ws(c)) {
			i++;
			continue;
		}
		/*
		 * A comma right before a closer is a trailing comma when a value
		 * precedes it; "[,]" and "{,}" stay invalid and are left for the parser.
		 */
		if ((c == ']' || c == '}') && last != SIZE_MAX && t[last] == ',' &&
		    prev != SIZE_MAX && t[prev] != '[' && t[prev] != '{' && t[prev] != ',' &&
		    t[prev] != ':') {
			t[last] = ' ';
			last = prev;
		}
		prev = last;
		last = i;
		i++;
	}
	return 0;
}

static void skip_ws(struct walker *w)
{
	while (w->i < w->len && is_ws(w->s[w->i]))
		w->i++;
}

static int fail(struct walker *w, size_t off, const char *what)
{
	if (off >= w->len)
		set_error(w->err, w->s, off, "unexpected end of input, %s", what);
	else if (w->s[off] >= 0x21 && w->s[off] < 0x7f)
		set_error(w->err, w->s, off, "unexpected '%c', %s", w->s[off], what);
	else
		set_error(w->err, w->s, off, "unexpected byte 0x%02x, %s", (unsigned char)w->s[off],
			  what);
	return -EINVAL;
}

static int record(struct walker *w, const cJSON *item, size_t off)
{
	struct hujson_doc *d = w->doc;

	if (!d)
		return 0;
	if (!item)
		return fail(w, off, "internal error: text and tree disagree");
	if (d->npos == d->cappos) {
		size_t cap = d->cappos ? d->cappos * 2 : 64;
		struct item_pos *p = realloc(d->pos, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		d->pos = p;
		d->cappos = cap;
	}
	d->pos[d->npos].item = item;
	locate_from(w->s, w->at, off, &w->at_line, &w->at_col);
	w->at = off;
	d->pos[d->npos].line = w->at_line;
	d->pos[d->npos].col = w->at_col;
	d->npos++;
	return 0;
}

static int walk_string(struct walker *w)
{
	size_t i = w->i + 1;

	/* The standardizer already proved the string is terminated on its line. */
	while (i < w->len && w->s[i] != '"') {
		if (w->s[i] != '\\') {
			i++;
			continue;
		}
		if (i + 1 >= w->len)
			return fail(w, i + 1, "in an escape sequence");
		switch (w->s[i + 1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			i += 2;
			break;
		case 'u':
			for (int k = 2; k < 6; k++) {
				char h = i + k < w->len ? w->s[i + k] : '\0';

				if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
				      (h >= 'A' && h <= 'F')))
					return fail(w, i + k, "expected 4 hex digits after \\u");
			}
			i += 6;
			break;
		default:
			set_error(w->err, w->s, i, "invalid escape sequence '\\%c'", w->s[i + 1]);
			return -EINVAL;
		}
	}
	if (i >= w->len)
		return fail(w, i, "in a string");
	w->i = i + 1;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int walk_number(struct walker *w, const cJSON *item)
{
	size_t start = w->i, i = w->i;

	if (i < w->len && w->s[i] == '-')
		i++;
	if (i >= w->len || !is_digit(w->s[i]))
		return fail(w, i, "expected a digit");
	if (w->s[i] == '0' && i + 1 < w->len && is_digit(w->s[i + 1])) {
		set_error(w->err, w->s, start, "numbers cannot have leading zeros");
		return -EINVAL;
	}
	while (i < w->len && is_digit(w->s[i]))
		i++;
	if (i < w->len && w->s[i] == '.') {
		i++;
		if (i >= w->len || !is_digit(w->s[i]))
			return fail(w, i, "expected a digit after '.'");
		while (i < w->len && is_digit(w->s[i]))
			i++;
	}
	if (i < w->len && (w->s[i] == 'e' || w->s[i] == 'E')) {
		i++;
		if (i < w->len && (w->s[i] == '+' || w->s[i] == '-'))
			i++;
		if (i >= w->len || !is_digit(w->s[i]))
			return fail(w, i, "expected a digit in the exponent");
		while (i < w->len && is_digit(w->s[i]))
			i++;
	}
	if (item && !isfinite(item->valuedouble)) {
		set_error(w->err, w->s, start, "number out of range");
		return -EINVAL;
	}
	w->i = i;
	return 0;
}

static int walk_literal(struct walker *w, const char *word)
{
	size_t n = strlen(word);

	if (w->len - w->i < n || memcmp(w->s + w->i, word, n))
		return fail(w, w->i, "expected a value");
	w->i += n;
	return 0;
}

static int walk_value(struct walker *w, const cJSON *item, unsigned int depth);

static int walk_container(struct walker *w, const cJSON *item, unsigned int depth)
{
	bool object = w->s[w->i] == '{';
	char close = object ? '}' : ']';
	const cJSON *child = item ? item->child : NULL;
	int ret;

	if (depth >= HUJSON_MAX_DEPTH) {
		set_error(w->err, w->s, w->i, "nesting deeper than %d levels", HUJSON_MAX_DEPTH);
		return -EINVAL;
	}
	w->i++;
	skip_ws(w);
	if (w->i < w->len && w->s[w->i] == close) {
		w->i++;
		return 0;
	}
	for (;;) {
		skip_ws(w);
		if (object) {
			if (w->i >= w->len || w->s[w->i] != '"')
				return fail(w, w->i, "expected a key in double quotes");
			ret = record(w, child, w->i);
			if (ret)
				return ret;
			ret = walk_string(w);
			if (ret)
				return ret;
			skip_ws(w);
			if (w->i >= w->len || w->s[w->i] != ':')
				return fail(w, w->i, "expected ':' after the key");
			w->i++;
		} else {
			skip_ws(w);
			ret = record(w, child, w->i);
			if (ret)
				return ret;
		}
		ret = walk_value(w, child, depth + 1);
		if (ret)
			return ret;
		if (child)
			child = child->next;
		skip_ws(w);
		if (w->i < w->len && w->s[w->i] == ',') {
			w->i++;
			continue;
		}
		if (w->i < w->len && w->s[w->i] == close) {
			w->i++;
			return 0;
		}
		return fail(w, w->i, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int walk_value(struct walker *w, const cJSON *item, unsigned int depth)
{
	skip_ws(w);
	if (w->i >= w->len)
		return fail(w, w->i, "expected a value");
	switch (w->s[w->i]) {
	case '{':
	case '[':
		return walk_container(w, item, depth);
	case '"':
		return walk_string(w);
	case 't':
		return walk_literal(w, "true");
	case 'f':
		return walk_literal(w, "false");
	case 'n':
		return walk_literal(w, "null");
	default:
		if (w->s[w->i] == '-' || is_digit(w->s[w->i]))
			return walk_number(w, item);
		return fail(w, w->i, "expected a value");
	}
}

static int walk_document(struct walker *w, const cJSON *root)
{
	int ret;

	skip_ws(w);
	/* cJSON skips a UTF-8 byte order mark; so do we. */
	if (w->len - w->i >= 3 && !memcmp(w->s + w->i, "\xef\xbb\xbf", 3))
		w->i += 3;
	skip_ws(w);
	ret = record(w, root, w->i);
	if (ret)
		return ret;
	ret = walk_value(w, root, 0);
	if (ret)
		return ret;
	skip_ws(w);
	if (w->i < w->len)
		return fail(w, w->i, "expected the end of the document");
	return 0;
}

static int cmp_pos(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)((const struct item_pos *)a)->item;
	uintptr_t y = (uintptr_t)((const struct item_pos *)b)->item;

	return x < y ? -1 : x > y;
}

static const struct item_pos *find_pos(const struct hujson_doc *doc, const cJSON *item)
{
	struct item_pos key = {.item = item};

	if (!doc->npos)
		return NULL;
	return bsearch(&key, doc->pos, doc->npos, sizeof(key), cmp_pos);
}

int hujson_pos(const struct hujson_doc *doc, const cJSON *item, unsigned int *line,
	       unsigned int *col)
{
	const struct item_pos *p = doc && item ? find_pos(doc, item) : NULL;

	if (!p)
		return -ENOENT;
	if (line)
		*line = p->line;
	if (col)
		*col = p->col;
	return 0;
}

unsigned int hujson_line(const struct hujson_doc *doc, const cJSON *item)
{
	unsigned int line = 0;

	hujson_pos(doc, item, &line, NULL);
	return line;
}

struct member {
	const char *key;
	const struct item_pos *pos;
};

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->pos->line != y->pos->line)
		return x->pos->line < y->pos->line ? -1 : 1;
	return x->pos->col < y->pos->col ? -1 : x->pos->col > y->pos->col;
}

/* Find the duplicate key that appears first in the text anywhere under @item. */
static int find_duplicate(const struct hujson_doc *doc, const cJSON *item, struct member *best,
			  struct member *first_of_best)
{
	const cJSON *c;
	struct member *m;
	size_t n = 0, k;

	for (c = item->child; c; c = c->next) {
		if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
			int ret = find_duplicate(doc, c, best, first_of_best);

			if (ret)
				return ret;
		}
		n++;
	}
	if (!cJSON_IsObject(item) || n < 2)
		return 0;
	m = calloc(n, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (c = item->child, k = 0; c; c = c->next, k++) {
		m[k].key = c->string ? c->string : "";
		m[k].pos = find_pos(doc, c);
		if (!m[k].pos) {
			free(m);
			return -EINVAL; /* cannot happen: every member was recorded */
		}
	}
	qsort(m, n, sizeof(*m), cmp_member);
	for (k = 1; k < n; k++) {
		if (strcmp(m[k - 1].key, m[k].key))
			continue;
		if (!best->pos || m[k].pos->line < best->pos->line ||
		    (m[k].pos->line == best->pos->line && m[k].pos->col < best->pos->col)) {
			/* m[k - 1] is the first occurrence because ties sort by position. */
			size_t f = k - 1;

			while (f > 0 && !strcmp(m[f - 1].key, m[k].key))
				f--;
			*best = m[k];
			*first_of_best = m[f];
		}
	}
	free(m);
	return 0;
}

/* Keys point into the cJSON tree, which outlives the search. */
static int check_duplicates(const struct hujson_doc *doc, struct hujson_error *err)
{
	struct member best = {0}, first = {0};
	int ret;

	if (!cJSON_IsObject(doc->root) && !cJSON_IsArray(doc->root))
		return 0;
	ret = find_duplicate(doc, doc->root, &best, &first);
	if (ret)
		return ret;
	if (!best.pos)
		return 0;
	if (err) {
		err->line = best.pos->line;
		err->col = best.pos->col;
		snprintf(err->msg, sizeof(err->msg), "duplicate key \"%.100s\" (first on line %u)",
			 best.key, first.pos->line);
	}
	return -EINVAL;
}

int hujson_parse(struct hujson_doc **out, const char *text, size_t len, unsigned int flags,
		 struct hujson_error *err)
{
	struct hujson_doc *doc = NULL;
	struct walker w = {0};
	const char *end = NULL;
	char *copy;
	int ret;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (len > HUJSON_MAX_INPUT) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "document larger than %d bytes",
				 HUJSON_MAX_INPUT);
		return -E2BIG;
	}
	copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	ret = hujson_standardize(copy, len, err);
	if (ret)
		goto out_free_copy;

	w.s = copy;
	w.len = len;
	w.err = err;
	w.at_line = 1;
	w.at_col = 1;
	doc = calloc(1, sizeof(*doc));
	if (!doc) {
		ret = -ENOMEM;
		goto out_free_copy;
	}
	/* cJSON insists on seeing the terminating NUL inside the length. */
	doc->root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (!doc->root) {
		/* Let the walker explain; fall back to cJSON's position if it finds nothing. */
		ret = walk_document(&w, NULL);
		if (ret == -ENOMEM)
			goto out_free_doc;
		if (!ret) {
			size_t off = end && end >= copy && end <= copy + len ? (size_t)(end - copy)
									     : len;

			fail(&w, off, "invalid JSON");
		}
		ret = -EINVAL;
		goto out_free_doc;
	}
	w.doc = doc;
	ret = walk_document(&w, doc->root);
	if (ret)
		goto out_free_doc;
	qsort(doc->pos, doc->npos, sizeof(*doc->pos), cmp_pos);
	if (!(flags & HUJSON_ALLOW_DUPLICATE_KEYS)) {
		ret = check_duplicates(doc, err);
		if (ret)
			goto out_free_doc;
	}
	free(copy);
	*out = doc;
	return 0;

out_free_doc:
	hujson_free(doc);
out_free_copy:
	free(copy);
	return ret;
}

static int read_file(const char *path, char **out, size_t *outlen)
{
	struct stat st;
	size_t len = 0;
	char *buf = NULL;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		goto out_close;
	}
	buf = malloc(HUJSON_MAX_INPUT + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	/* Read to EOF rather than trusting st_size: pipes and /proc files lie. */
	while (len <= HUJSON_MAX_INPUT) {
		n = read(fd, buf + len, HUJSON_MAX_INPUT + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			goto out_free;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > HUJSON_MAX_INPUT) {
		ret = -E2BIG;
		goto out_free;
	}
	*out = buf;
	*outlen = len;
	close(fd);
	return 0;

out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

int hujson_parse_file(struct hujson_doc **out, const char *path, unsigned int flags,
		      struct hujson_error *err)
{
	size_t len = 0;
	char *buf = NULL;
	int ret;

	*out = NULL;
	ret = read_file(path, &buf, &len);
	if (ret) {
		if (err) {
			memset(err, 0, sizeof(*err));
			if (ret == -E2BIG)
				snprintf(err->msg, sizeof(err->msg), "file larger than %d bytes",
					 HUJSON_MAX_INPUT);
			else
				snprintf(err->msg, sizeof(err->msg), "%s", strerror(-ret));
		}
		return ret;
	}
	ret = hujson_parse(out, buf, len, flags, err);
	free(buf);
	return ret;
}

cJSON *hujson_root(const struct hujson_doc *doc)
{
	return doc ? doc->root : NULL;
}

void hujson_free(struct hujson_doc *doc)
{
	if (!doc)
		return;
	cJSON_Delete(doc->root);
	free(doc->pos);
	free(doc);
}
