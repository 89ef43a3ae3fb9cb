// SPDX-License-Identifier: MIT
/*
 * HuJSON: comments and trailing commas, positions of items, exact line:col of
 * every kind of error, duplicate keys, and random documents compared with
 * plain cJSON (with comments sprinkled in, the tree must not change).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/hujson.h"

static struct hujson_doc *parse_ok(const char *text)
{
	struct hujson_error err;
	struct hujson_doc *doc = NULL;
	int ret = hujson_parse(&doc, text, strlen(text), 0, &err);

	if (ret)
		fail_msg("parse failed: %u:%u: %s (%s)", err.line, err.col, err.msg, text);
	return doc;
}

static void expect_error(const char *text, unsigned int line, unsigned int col, const char *msg)
{
	struct hujson_error err;
	struct hujson_doc *doc = NULL;
	int ret = hujson_parse(&doc, text, strlen(text), 0, &err);

	assert_int_equal(ret, -EINVAL);
	assert_null(doc);
	if (err.line != line || err.col != col || !strstr(err.msg, msg))
		fail_msg("%s: got %u:%u: %s, want %u:%u: ...%s...", text, err.line, err.col,
			 err.msg, line, col, msg);
}

static void test_comments_and_trailing_commas(void **state)
{
	const char *text = "// leading comment\n"
			   "{\n"
			   "\t\"a\": 1, // one\n"
			   "\t/* block\n"
			   "\t   spanning */ \"b\": [1, 2, 3,],\n"
			   "\t\"c\": {\"x\": \"//not a comment\", \"y\": \"/* nor this */\",},\n"
			   "}\n";
	struct hujson_doc *doc = parse_ok(text);
	cJSON *root = hujson_root(doc), *b, *c;

	(void)state;
	assert_int_equal(cJSON_GetObjectItem(root, "a")->valueint, 1);
	b = cJSON_GetObjectItem(root, "b");
	assert_int_equal(cJSON_GetArraySize(b), 3);
	c = cJSON_GetObjectItem(root, "c");
	assert_string_equal(cJSON_GetObjectItem(c, "x")->valuestring, "//not a comment");
	assert_string_equal(cJSON_GetObjectItem(c, "y")->valuestring, "/* nor this */");
	assert_int_equal(hujson_line(doc, root), 2);
	assert_int_equal(hujson_line(doc, cJSON_GetObjectItem(root, "a")), 3);
	assert_int_equal(hujson_line(doc, b), 5);
	assert_int_equal(hujson_line(doc, c), 6);
	assert_int_equal(hujson_line(doc, cJSON_GetObjectItem(c, "y")), 6);
	hujson_free(doc);
}

static void test_standardize_keeps_offsets(void **state)
{
	char text[] = "[1, /* x\ny */ 2, // z\n 3,\n]";
	struct hujson_error err;

	(void)state;
	/* The comment's newline stays so line numbers hold; the trailing comma becomes a space. */
	assert_int_equal(hujson_standardize(text, strlen(text), &err), 0);
	assert_string_equal(text, "[1,     \n     2,     \n 3 \n]");
}

static void test_positions(void **state)
{
	const char *text = "{\"list\": [\n  10,\n  {\"k\": true}\n],\n\"s\": \"é\", \"n\": null}";
	struct hujson_doc *doc = parse_ok(text);
	cJSON *root = hujson_root(doc);
	cJSON *list = cJSON_GetObjectItem(root, "list");
	cJSON *n = cJSON_GetObjectItem(root, "n");
	unsigned int line, col;
	cJSON other;

	(void)state;
	assert_int_equal(hujson_pos(doc, root, &line, &col), 0);
	assert_int_equal(line, 1);
	assert_int_equal(col, 1);
	assert_int_equal(hujson_pos(doc, list, &line, &col), 0);
	assert_int_equal(line, 1);
	assert_int_equal(col, 2);
	assert_int_equal(hujson_pos(doc, cJSON_GetArrayItem(list, 0), &line, &col), 0);
	assert_int_equal(line, 2);
	assert_int_equal(col, 3);
	assert_int_equal(hujson_pos(doc, cJSON_GetArrayItem(list, 1), &line, &col), 0);
	assert_int_equal(line, 3);
	assert_int_equal(col, 3);
	/* Columns count characters: "é" is two bytes but one column. */
	assert_int_equal(hujson_pos(doc, n, &line, &col), 0);
	assert_int_equal(line, 5);
	assert_int_equal(col, 11);
	memset(&other, 0, sizeof(other));
	assert_int_equal(hujson_pos(doc, &other, &line, &col), -ENOENT);
	assert_int_equal(hujson_line(doc, NULL), 0);
	hujson_free(doc);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("", 1, 1, "unexpected end of input");
	expect_error("   \n  ", 2, 3, "unexpected end of input");
	expect_error("{\n  \"a\": 1\n  \"b\": 2\n}", 3, 3, "expected ',' or '}'");
	expect_error("{\"a\" 1}", 1, 6, "expected ':'");
	expect_error("{\"a\": }", 1, 7, "expected a value");
	expect_error("[1, 2", 1, 6, "unexpected end of input");
	expect_error("{a: 1}", 1, 2, "expected a key in double quotes");
	expect_error("[1] x", 1, 5, "expected the end of the document");
	expect_error("[tru]", 1, 2, "expected a value");
	expect_error("[01]", 1, 2, "leading zeros");
	expect_error("[-]", 1, 3, "expected a digit");
	expect_error("[1.]", 1, 4, "expected a digit after '.'");
	expect_error("[1e999]", 1, 2, "number out of range");
	expect_error("[\"\\q\"]", 1, 3, "invalid escape");
	expect_error("[\"\\u12x4\"]", 1, 7, "4 hex digits");
	/* Only a comma after a value is a trailing comma. */
	expect_error("[,]", 1, 2, "expected a value");
	expect_error("[1,,]", 1, 4, "expected a value");
	expect_error("{,}", 1, 2, "expected a key");
}

static void test_comment_and_string_errors(void **state)
{
	(void)state;
	expect_error("{\n  /* never closed\n  \"a\": 1\n}", 2, 3, "unterminated /* comment");
	expect_error("[1] /", 1, 5, "unexpected '/'");
	expect_error("{\"a\": \"no end}", 1, 7, "unterminated string");
	expect_error("{\"a\": \"line\nbreak\"}", 1, 7, "unterminated string");
	expect_error("[\"tab\there\"]", 1, 6, "control character");
	{
		const char text[] = "[1,\0 2]";
		struct hujson_error err;
		struct hujson_doc *doc;

		assert_int_equal(hujson_parse(&doc, text, sizeof(text) - 1, 0, &err), -EINVAL);
		assert_int_equal(err.col, 4);
		assert_non_null(strstr(err.msg, "NUL"));
	}
}

static void test_duplicate_keys(void **state)
{
	struct hujson_error err;
	struct hujson_doc *doc;
	const char *text = "{\n \"a\": 1,\n \"b\": {\"x\": 1,\n   \"x\": 2},\n \"a\": 3\n}";

	(void)state;
	/* The nested duplicate comes first in the text, so it is the one reported. */
	expect_error(text, 4, 4, "duplicate key \"x\" (first on line 3)");
	expect_error("{\"a\": 1, \"b\": 2, \"a\": 3}", 1, 18,
		     "duplicate key \"a\" (first on line 1)");
	/* Escapes are decoded before comparing. */
	expect_error("{\"ab\": 1, \"\\u0061b\": 2}", 1, 11, "duplicate key \"ab\"");
	/* The same key in sibling objects is fine. */
	doc = parse_ok("[{\"a\": 1}, {\"a\": 2}]");
	hujson_free(doc);
	assert_int_equal(hujson_parse(&doc, text, strlen(text), HUJSON_ALLOW_DUPLICATE_KEYS, &err),
			 0);
	hujson_free(doc);
}

static void test_depth_and_bom(void **state)
{
	char deep[HUJSON_MAX_DEPTH * 2 + 3];
	struct hujson_error err;
	struct hujson_doc *doc;
	size_t i;

	(void)state;
	for (i = 0; i < HUJSON_MAX_DEPTH + 1; i++) {
		deep[i] = '[';
		deep[HUJSON_MAX_DEPTH * 2 + 1 - i] = ']';
	}
	deep[HUJSON_MAX_DEPTH * 2 + 2] = '\0';
	assert_int_equal(hujson_parse(&doc, deep, strlen(deep), 0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "nesting"));
	/* One level less is fine. */
	assert_int_equal(hujson_parse(&doc, deep + 1, strlen(deep) - 2, 0, &err), 0);
	hujson_free(doc);

	doc = parse_ok("\xef\xbb\xbf{\"a\": 1}");
	assert_int_equal(hujson_line(doc, cJSON_GetObjectItem(hujson_root(doc), "a")), 1);
	hujson_free(doc);
}

static void test_parse_file(void **state)
{
	char path[] = "/tmp/test_hujson.XXXXXX";
	const char *text = "{\n  // c\n  \"k\": [1,],\n}\n";
	struct hujson_error err;
	struct hujson_doc *doc;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(hujson_parse_file(&doc, path, 0, &err), 0);
	assert_int_equal(hujson_line(doc, cJSON_GetObjectItem(hujson_root(doc), "k")), 3);
	hujson_free(doc);
	unlink(path);
	assert_int_equal(hujson_parse_file(&doc, path, 0, &err), -ENOENT);
	assert_null(doc);
	assert_int_equal(hujson_parse_file(&doc, "/tmp", 0, &err), -EISDIR);
}

/* Positions are found incrementally: a big document stays linear, not quadratic. */
static void test_large_document(void **state)
{
	enum { N = 100000 };
	char *text = malloc((size_t)N * 40 + 16), *p = text;
	struct hujson_doc *doc;
	struct hujson_error err;
	cJSON *root;

	(void)state;
	p += sprintf(p, "{\n");
	for (int i = 0; i < N; i++)
		p += sprintf(p, "\"key%d\": [%d], // c\n", i, i);
	p += sprintf(p, "}\n");
	assert_int_equal(hujson_parse(&doc, text, (size_t)(p - text), 0, &err), 0);
	root = hujson_root(doc);
	assert_int_equal(hujson_line(doc, cJSON_GetObjectItem(root, "key77777")), 77779);
	assert_int_equal(hujson_line(doc, cJSON_GetArrayItem(cJSON_GetObjectItem(root, "key5"), 0)),
			 7);
	hujson_free(doc);
	/* The same with a duplicate at the end. */
	p -= 2;
	p += sprintf(p, "\"key3\": 1}\n");
	assert_int_equal(hujson_parse(&doc, text, (size_t)(p - text), 0, &err), -EINVAL);
	assert_int_equal(err.line, N + 2);
	assert_string_equal(err.msg, "duplicate key \"key3\" (first on line 5)");
	free(text);
}

/* A deterministic generator so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static cJSON *random_value(int depth)
{
	static const char *const words[] = {"a", "b", "x y", "//", "/*", "é", "q\"q", ""};
	cJSON *v;
	int n, k;

	switch (depth > 3 ? rnd(4) : rnd(6)) {
	case 0:
		return cJSON_CreateNumber((double)(int)rnd(100000) - 50000);
	case 1:
		return cJSON_CreateString(words[rnd(sizeof(words) / sizeof(words[0]))]);
	case 2:
		return rnd(2) ? cJSON_CreateTrue() : cJSON_CreateNull();
	case 3:
		return cJSON_CreateNumber(rnd(1000) / 8.0);
	case 4:
		v = cJSON_CreateArray();
		n = (int)rnd(5);
		for (k = 0; k < n; k++)
			cJSON_AddItemToArray(v, random_value(depth + 1));
		return v;
	default:
		v = cJSON_CreateObject();
		n = (int)rnd(5);
		for (k = 0; k < n; k++) {
			char key[16];

			snprintf(key, sizeof(key), "k%d", k);
			cJSON_AddItemToObject(v, key, random_value(depth + 1));
		}
		return v;
	}
}

/* Put a comment or a trailing comma at some places where JSON allows white space. */
static char *humanize(const char *json)
{
	size_t len = strlen(json), o = 0;
	char *out = malloc(len * 24 + 1);
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		char c = json[i];

		if (in_string) {
			out[o++] = c;
			if (c == '\\')
				out[o++] = json[++i];
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"')
			in_string = 1;
		if ((c == ']' || c == '}') && i > 0 && json[i - 1] != '[' && json[i - 1] != '{' &&
		    rnd(2))
			o += (size_t)sprintf(out + o, ",");
		/* Only between tokens: never inside a number or a literal. */
		switch (strchr("{}[],:\"", c) ? rnd(8) : 7) {
		case 0:
			o += (size_t)sprintf(out + o, "/* c */");
			break;
		case 1:
			o += (size_t)sprintf(out + o, " // c \"x\n");
			break;
		default:
			break;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

static void test_random_documents_match_cjson(void **state)
{
	(void)state;
	for (int round = 0; round < 500; round++) {
		cJSON *orig = random_value(0);
		char *json = cJSON_PrintUnformatted(orig);
		char *human = humanize(json);
		struct hujson_error err;
		struct hujson_doc *doc;
		int ret = hujson_parse(&doc, human, strlen(human), 0, &err);

		if (ret)
			fail_msg("round %d: %u:%u: %s\n%s", round, err.line, err.col, err.msg,
				 human);
		assert_true(cJSON_Compare(orig, hujson_root(doc), 1));
		hujson_free(doc);
		free(human);
		free(json);
		cJSON_Delete(orig);
	}
}

/* Mutated documents: whatever happens, no crash, and errors point inside the text. */
static void test_mutations_never_crash(void **state)
{
	static const char mut[] = "{}[],:\"/\\*\n 0-e.tfn";

	(void)state;
	for (int round = 0; round < 3000; round++) {
		cJSON *orig = random_value(0);
		char *json = cJSON_PrintUnformatted(orig);
		char *human = humanize(json);
		size_t len = strlen(human), lines = 1;
		struct hujson_error err;
		struct hujson_doc *doc;

		for (int k = (int)rnd(3) + 1; k > 0; k--)
			human[rnd((uint32_t)len)] = mut[rnd(sizeof(mut) - 1)];
		for (size_t i = 0; i < len; i++)
			lines += human[i] == '\n';
		if (!hujson_parse(&doc, human, len, 0, &err)) {
			hujson_free(doc);
		} else {
			assert_true(err.line >= 1 && err.line <= lines);
			assert_true(err.col >= 1);
			assert_true(err.msg[0] != '\0');
		}
		free(human);
		free(json);
		cJSON_Delete(orig);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comments_and_trailing_commas),
		cmocka_unit_test(test_standardize_keeps_offsets),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_comment_and_string_errors),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_depth_and_bom),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_large_document),
		cmocka_unit_test(test_random_documents_match_cjson),
		cmocka_unit_test(test_mutations_never_crash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
