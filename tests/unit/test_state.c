// SPDX-License-Identifier: MIT
/*
 * state: the state file round trip, mode 0600 whatever the umask, atomic
 * replacement (no temp file left, even when the rename fails), fresh keys for
 * a missing file, permissions fixed on load, and corruption of every kind
 * (each truncation of a real file included) refused with a clear message and
 * the file left byte for byte as it was. Keys never reach the log.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "daemon/state.h"
#include "util/encoding.h"

static char dir[256];
static char path[300];
static char err[STATE_ERROR_MAX];

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s/test_state.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/meshd.state", dir);
	return 0;
}

static void remove_tree(const char *d)
{
	char p[600];
	struct dirent *e;
	DIR *dh = opendir(d);

	if (!dh)
		return;
	while ((e = readdir(dh))) {
		struct stat sb;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		if (!lstat(p, &sb) && S_ISDIR(sb.st_mode))
			remove_tree(p);
		else
			unlink(p);
	}
	closedir(dh);
	rmdir(d);
}

static int teardown(void **state)
{
	(void)state;
	remove_tree(dir);
	return 0;
}

/* Empty the test directory between tests. */
static int reset_dir(void **state)
{
	(void)state;
	remove_tree(dir);
	return mkdir(dir, 0700);
}

/* The names in @d, sorted, joined by spaces. */
static void list_dir(const char *d, char *out, size_t len)
{
	struct dirent **names;
	int n = scandir(d, &names, NULL, alphasort);

	out[0] = '\0';
	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			if (out[0])
				strncat(out, " ", len - strlen(out) - 1);
			strncat(out, names[i]->d_name, len - strlen(out) - 1);
		}
		free(names[i]);
	}
	free(names);
}

static char *read_all(const char *p, size_t *len)
{
	struct stat sb;
	char *buf;
	int fd = open(p, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	buf = malloc((size_t)sb.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)sb.st_size), sb.st_size);
	buf[sb.st_size] = '\0';
	close(fd);
	*len = (size_t)sb.st_size;
	return buf;
}

static void write_all(const char *p, const char *buf, size_t len, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static mode_t file_mode(const char *p)
{
	struct stat sb;

	assert_int_equal(stat(p, &sb), 0);
	return sb.st_mode & 07777;
}

static void test_fresh(void **state)
{
	struct state *a = NULL, *b = NULL;
	char names[256];
	bool created = false;

	(void)state;
	assert_int_equal(state_load(&a, dir, &created, err, sizeof(err)), 0);
	assert_true(created);
	assert_string_equal(a->path, path);
	assert_false(key_is_zero(a->machine_key));
	assert_false(key_is_zero(a->node_key));
	assert_int_not_equal(sodium_memcmp(a->machine_key, a->node_key, KEY_LEN), 0);
	assert_false(a->has_old_node_key);
	assert_false(a->has_node);
	assert_false(a->has_server_key);
	assert_string_equal(a->login_server, "");
	assert_true(a->prefs.accept_dns);
	assert_false(a->prefs.want_running);
	/* Saved at once, 0600, and no temp file beside it. */
	assert_int_equal(file_mode(path), 0600);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "meshd.state");

	/* The second start is the same node. */
	assert_int_equal(state_load(&b, dir, &created, err, sizeof(err)), 0);
	assert_false(created);
	assert_int_equal(sodium_memcmp(a->machine_key, b->machine_key, KEY_LEN), 0);
	assert_int_equal(sodium_memcmp(a->node_key, b->node_key, KEY_LEN), 0);
	state_free(a);
	state_free(b);
}

static void test_missing_dir(void **state)
{
	char sub[400];
	struct state *st = NULL;
	struct stat sb;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/new", dir);
	assert_int_equal(state_load(&st, sub, NULL, err, sizeof(err)), 0);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	state_free(st);

	/* A parent that does not exist either is an error, with the reason. */
	snprintf(sub, sizeof(sub), "%s/no/such", dir);
	assert_int_equal(state_load(&st, sub, NULL, err, sizeof(err)), -ENOENT);
	assert_null(st);
	assert_non_null(strstr(err, "cannot create state directory"));
	assert_non_null(strstr(err, "No such file or directory"));
}

static void fill_state(struct state *st)
{
	uint8_t b[16] = {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
	uint8_t a4[4] = {100, 64, 0, 7};

	key_generate_private(st->old_node_key);
	st->has_old_node_key = true;
	key_generate_private(st->server_key);
	st->has_server_key = true;
	strcpy(st->login_server, "https://mesh.example.com");
	st->prefs.want_running = true;
	strcpy(st->prefs.hostname, "laptop");
	assert_int_equal(prefs_parse_field(&st->prefs, PREFS_ADVERTISE_ROUTES,
					   "192.168.1.0/24,fd00::/64", err, sizeof(err)),
			 0);
	assert_int_equal(
		prefs_parse_field(&st->prefs, PREFS_ADVERTISE_TAGS, "tag:a", err, sizeof(err)), 0);
	st->prefs.accept_dns = false;
	st->has_node = true;
	st->node.id = 4503599627370496LL; /* 2^52: still exact as a JSON number */
	strcpy(st->node.name, "laptop.mesh.internal");
	ip_addr_set_v4(&st->node.addresses[0], a4);
	ip_addr_set_v6(&st->node.addresses[1], b);
	st->node.naddresses = 2;
	strcpy(st->node.user, "alice");
	st->node.key_expiry = 1790000000;
}

static void test_round_trip(void **state)
{
	struct state *a = NULL, *b = NULL;
	char names[256], *text;
	size_t len;

	(void)state;
	assert_int_equal(state_load(&a, dir, NULL, err, sizeof(err)), 0);
	fill_state(a);
	/* Whatever the umask, the file is 0600. */
	umask(0);
	assert_int_equal(state_save(a, err, sizeof(err)), 0);
	umask(022);
	assert_int_equal(file_mode(path), 0600);
	assert_int_equal(state_save(a, err, sizeof(err)), 0);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "meshd.state");

	assert_int_equal(state_load(&b, dir, NULL, err, sizeof(err)), 0);
	assert_int_equal(sodium_memcmp(a->machine_key, b->machine_key, KEY_LEN), 0);
	assert_int_equal(sodium_memcmp(a->node_key, b->node_key, KEY_LEN), 0);
	assert_true(b->has_old_node_key);
	assert_int_equal(sodium_memcmp(a->old_node_key, b->old_node_key, KEY_LEN), 0);
	assert_true(b->has_server_key);
	assert_memory_equal(a->server_key, b->server_key, KEY_LEN);
	assert_string_equal(b->login_server, "https://mesh.example.com");
	assert_true(prefs_equal(&a->prefs, &b->prefs));
	assert_true(b->has_node);
	assert_true(b->node.id == a->node.id);
	assert_string_equal(b->node.name, a->node.name);
	assert_int_equal(b->node.naddresses, 2);
	assert_true(ip_addr_equal(&b->node.addresses[0], &a->node.addresses[0]));
	assert_true(ip_addr_equal(&b->node.addresses[1], &a->node.addresses[1]));
	assert_string_equal(b->node.user, "alice");
	assert_true(b->node.key_expiry == 1790000000);

	/* The documented shape, readable by anything that reads JSON. */
	text = read_all(path, &len);
	assert_non_null(strstr(text, "\"version\":\t1"));
	assert_non_null(strstr(text, "\"addresses\":\t[\"100.64.0.7\", \"fd7a:115c:a1e0::7\"]"));
	assert_non_null(strstr(text, "\"login_server\":\t\"https://mesh.example.com\""));
	free(text);

	/* Back to "nothing known": nulls, and a tagged node has no user. */
	b->has_old_node_key = false;
	b->has_server_key = false;
	b->node.user[0] = '\0';
	assert_int_equal(state_save(b, err, sizeof(err)), 0);
	text = read_all(path, &len);
	assert_non_null(strstr(text, "\"old_node_key\":\tnull"));
	assert_non_null(strstr(text, "\"server_key\":\tnull"));
	assert_non_null(strstr(text, "\"user\":\tnull"));
	free(text);
	state_free(a);
	assert_int_equal(state_load(&a, dir, NULL, err, sizeof(err)), 0);
	assert_false(a->has_old_node_key);
	assert_false(a->has_server_key);
	assert_string_equal(a->node.user, "");
	b->has_node = false;
	assert_int_equal(state_save(b, err, sizeof(err)), 0);
	state_free(a);
	assert_int_equal(state_load(&a, dir, NULL, err, sizeof(err)), 0);
	assert_false(a->has_node);
	state_free(a);
	state_free(b);
}

/* A failed save leaves the old file as it was and no temp file behind. */
static void test_failed_save(void **state)
{
	struct state *st = NULL;
	char names[256], sub[400], spath[500];

	(void)state;
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), 0);
	/* Point the state at a path where rename() must fail: a directory. */
	snprintf(sub, sizeof(sub), "%s/d", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(spath, sizeof(spath), "%s/meshd.state", sub);
	assert_int_equal(mkdir(spath, 0700), 0);
	snprintf(st->path, sizeof(st->path), "%s", spath);
	assert_true(state_save(st, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot replace"));
	list_dir(sub, names, sizeof(names));
	assert_string_equal(names, "meshd.state");

	/* A directory where the temp file cannot be created. */
	snprintf(st->path, sizeof(st->path), "%s/nonexistent/meshd.state", dir);
	assert_true(state_save(st, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot create a temp file"));
	state_free(st);
}

static void test_fix_permissions(void **state)
{
	struct state *st = NULL;

	(void)state;
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), 0);
	state_free(st);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), 0);
	assert_int_equal(file_mode(path), 0600);
	state_free(st);
	assert_int_equal(chmod(path, 0660), 0);
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), 0);
	assert_int_equal(file_mode(path), 0600);
	state_free(st);
}

/* Load must fail with the corrupt-file message and leave the file exactly as it was. */
static void expect_corrupt(const char *content, size_t len, const char *why)
{
	struct state *st = (struct state *)1;
	char *after, names[256];
	size_t alen;

	write_all(path, content, len, 0600);
	err[0] = '\0';
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), -EINVAL);
	assert_null(st);
	if (!strstr(err, "is corrupt") || !strstr(err, why))
		fail_msg("for %.*s: got \"%s\", want \"%s\"", (int)len, content, err, why);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "refusing to start so the node's keys are not lost; move it "
				    "aside to start as a new node"));
	after = read_all(path, &alen);
	assert_int_equal(alen, len);
	assert_memory_equal(after, content, len);
	free(after);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "meshd.state");
}

static void test_truncated(void **state)
{
	struct state *st = NULL;
	char *good;
	size_t len, last;

	(void)state;
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), 0);
	fill_state(st);
	assert_int_equal(state_save(st, err, sizeof(err)), 0);
	state_free(st);
	good = read_all(path, &len);
	last = (size_t)(strrchr(good, '}') - good);
	/* Every cut before the closing brace is refused, the file untouched. */
	for (size_t cut = 0; cut <= last; cut++) {
		const char *why = cut == 0 ? "the file is empty" : "";

		expect_corrupt(good, cut, why);
		if (cut > 0 && !strstr(err, "the file ends early; it was cut short") &&
		    !strstr(err, "invalid JSON"))
			fail_msg("cut at %zu: %s", cut, err);
	}
	/* The specific message for the common case: cut in the middle of a key. */
	expect_corrupt(good, len / 2, "the file ends early; it was cut short");
	write_all(path, good, len, 0600);
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), 0);
	state_free(st);
	free(good);
}

static void test_corrupt(void **state)
{
	static const char k1[] =
		"\"1111111111111111111111111111111111111111111111111111111111111150\"";
	char doc[1024];
	struct {
		const char *body, *why;
	} cases[] = {
		{"hello", "line 1, column 1: invalid JSON"},
		{"[]", "the document is an array, not an object"},
		{"{\"version\": 1, \"node_key\": K}", "\"machine_key\" is missing"},
		{"{\"version\": 1, \"machine_key\": K}", "\"node_key\" is missing"},
		{"{\"machine_key\": K, \"node_key\": K}", "\"version\" is missing"},
		{"{\"version\": 2, \"machine_key\": K, \"node_key\": K}",
		 "line 1: version 2 was written by a newer meshd (this one reads 1)"},
		{"{\"version\": 0, \"machine_key\": K, \"node_key\": K}", "unknown version 0"},
		{"{\"version\": 1.5, \"machine_key\": K, \"node_key\": K}",
		 "\"version\" is not an integer"},
		{"{\"version\": \"1\", \"machine_key\": K, \"node_key\": K}",
		 "\"version\" must be a number, not a string"},
		{"{\"version\": 1,\n\"machine_key\": K,\n\"node_key\": \"abc\"}",
		 "line 3: \"node_key\" is not 64 hex digits"},
		{"{\"version\": 1,\n\n\"machine_key\": null, \"node_key\": K}",
		 "line 3: \"machine_key\" must be a string, not null"},
		{"{\"version\": 1, \"machine_key\": K, \"node_key\": "
		 "\"0000000000000000000000000000000000000000000000000000000000000000\"}",
		 "\"node_key\" is all zeros"},
		{"{\"version\": 1, \"machine_key\": K, \"node_key\": K, \"extra\": 1}",
		 "unknown key \"extra\""},
		{"{\"version\": 1, \"version\": 1, \"machine_key\": K, \"node_key\": K}",
		 "duplicate key \"version\""},
		{"{\"version\": 1, \"machine_key\": K, \"node_key\": K,\n\"prefs\": {\"hostname\": "
		 "1}}",
		 "line 2: prefs: \"hostname\" must be a string, not a number"},
		{"{\"version\": 1, \"machine_key\": K, \"node_key\": K, \"node\": 5}",
		 "\"node\" must be an object or null, not a number"},
		{"{\"version\": 1, \"machine_key\": K, \"node_key\": K, \"node\": {\"addresses\": "
		 "[\"100.64.0.1/32\"]}}",
		 "\"addresses\" holds a bad address"},
		{"{\"version\": 1, \"machine_key\": K, \"node_key\": K, \"node\": {\"idx\": 1}}",
		 "unknown key \"node.idx\""},
		{"{\"version\": 1, \"machine_key\": K, \"node_key\": K, \"node\": {\"id\": 1e300}}",
		 "\"id\" is not an integer"},
		{"{\"version\": 1, \"machine_key\": K, \"node_key\": K, \"server_key\": 1}",
		 "\"server_key\" must be a string, not a number"},
		{"{\"version\": 1, \"machine_key\": K, \"node_key\": K}\n  trailing",
		 "line 2, column 3: invalid JSON"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *s = cases[i].body;
		size_t n = 0;

		/* Expand K to a valid key. */
		for (; *s && n < sizeof(doc) - 80; s++) {
			if (*s == 'K') {
				memcpy(doc + n, k1, sizeof(k1) - 1);
				n += sizeof(k1) - 1;
			} else {
				doc[n++] = *s;
			}
		}
		doc[n] = '\0';
		expect_corrupt(doc, n, cases[i].why);
	}
	/* A NUL byte inside the document. */
	memcpy(doc, "{\"version\": 1}\0{}", 17);
	expect_corrupt(doc, 17, "line 1: a NUL byte");
}

static void test_not_a_file(void **state)
{
	struct state *st = NULL;

	(void)state;
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), -EINVAL);
	assert_null(st);
	assert_non_null(strstr(err, "is not a regular file"));
	rmdir(path);
}

static void test_too_big(void **state)
{
	struct state *st = NULL;
	char *big = malloc(STATE_FILE_MAX + 2);

	(void)state;
	assert_non_null(big);
	memset(big, ' ', STATE_FILE_MAX + 1);
	write_all(path, big, STATE_FILE_MAX + 1, 0600);
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "larger than 1 MiB"));
	free(big);
}

/* Nothing meshd logs while loading, creating or fixing the file holds key text. */
static void test_keys_not_logged(void **state)
{
	char log_path[400], hex[ENC_KEY_HEX_LEN + 1], *logged;
	struct state *st = NULL;
	int saved, fd;
	size_t len;

	(void)state;
	snprintf(log_path, sizeof(log_path), "%s.log", dir);
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(fd, 2);
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), 0); /* "new node" */
	state_free(st);
	chmod(path, 0644);
	assert_int_equal(state_load(&st, dir, NULL, err, sizeof(err)), 0); /* "fixed to 0600" */
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	logged = read_all(log_path, &len);
	unlink(log_path);
	assert_non_null(strstr(logged, "starting as a new node"));
	assert_non_null(strstr(logged, "changed to 0600"));
	enc_key_to_hex(hex, st->machine_key);
	assert_null(strstr(logged, hex));
	enc_key_to_hex(hex, st->node_key);
	assert_null(strstr(logged, hex));
	sodium_memzero(hex, sizeof(hex));
	free(logged);
	state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fresh, reset_dir),
		cmocka_unit_test_setup(test_missing_dir, reset_dir),
		cmocka_unit_test_setup(test_round_trip, reset_dir),
		cmocka_unit_test_setup(test_failed_save, reset_dir),
		cmocka_unit_test_setup(test_fix_permissions, reset_dir),
		cmocka_unit_test_setup(test_truncated, reset_dir),
		cmocka_unit_test_setup(test_corrupt, reset_dir),
		cmocka_unit_test_setup(test_not_a_file, reset_dir),
		cmocka_unit_test_setup(test_too_big, reset_dir),
		cmocka_unit_test_setup(test_keys_not_logged, reset_dir),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
