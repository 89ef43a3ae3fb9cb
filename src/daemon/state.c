// SPDX-License-Identifier: MIT
/*
 * The state file: strict JSON codec, atomic 0600 writes, and a loader that
 * would rather refuse to start than lose the node's keys. Every buffer that
 * held key text (the file contents, cJSON's strings, the printed document) is
 * wiped before it is freed.
 */
#include "daemon/state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "util/encoding.h"
#include "util/log.h"

#define STATE_FILE_NAME "meshd.state"

enum state_io {
	PRINT_BUF_START = 16 << 10,
	READ_CHUNK = 64 << 10,
};

/* JSON numbers are doubles: integers beyond 2^53 do not survive a round trip. */
#define JSON_INT_MAX 9007199254740992.0

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* Zero every string in a cJSON tree (key text) before it is freed. */
static void wipe_json(cJSON *item)
{
	for (; item; item = item->next) {
		if (item->valuestring)
			sodium_memzero(item->valuestring, strlen(item->valuestring));
		wipe_json(item->child);
	}
}

static void free_json(cJSON *root)
{
	wipe_json(root);
	cJSON_Delete(root);
}

/* Encoding. */

static cJSON *node_to_json(const struct state_node *n)
{
	char buf[IP_ADDR_STRLEN];
	cJSON *obj, *arr;

	obj = cJSON_CreateObject();
	if (!obj)
		return NULL;
	if (!cJSON_AddNumberToObject(obj, "id", (double)n->id) ||
	    !cJSON_AddStringToObject(obj, "name", n->name))
		goto out_free_obj;
	arr = cJSON_AddArrayToObject(obj, "addresses");
	if (!arr)
		goto out_free_obj;
	for (size_t i = 0; i < n->naddresses; i++) {
		ip_addr_format(&n->addresses[i], buf, sizeof(buf));
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(buf)))
			goto out_free_obj;
	}
	if (!(n->user[0] ? cJSON_AddStringToObject(obj, "user", n->user)
			 : cJSON_AddNullToObject(obj, "user")))
		goto out_free_obj;
	if (!cJSON_AddNumberToObject(obj, "key_expiry", (double)n->key_expiry))
		goto out_free_obj;
	return obj;

out_free_obj:
	cJSON_Delete(obj);
	return NULL;
}

/* Add @key as hex text, or null; the text lives in @hex, which the caller wipes. */
static bool add_key(cJSON *obj, const char *name, bool present, const uint8_t key[KEY_LEN],
		    char hex[ENC_KEY_HEX_LEN + 1])
{
	if (!present)
		return cJSON_AddNullToObject(obj, name);
	enc_key_to_hex(hex, key);
	/* A reference: cJSON never copies (or frees) the key text. */
	return cJSON_AddItemToObject(obj, name, cJSON_CreateStringReference(hex));
}

static cJSON *state_to_json(const struct state *st, char hex[4][ENC_KEY_HEX_LEN + 1])
{
	cJSON *obj, *item;

	obj = cJSON_CreateObject();
	if (!obj)
		return NULL;
	if (!cJSON_AddNumberToObject(obj, "version", STATE_VERSION) ||
	    !add_key(obj, "machine_key", true, st->machine_key, hex[0]) ||
	    !add_key(obj, "node_key", true, st->node_key, hex[1]) ||
	    !add_key(obj, "old_node_key", st->has_old_node_key, st->old_node_key, hex[2]))
		goto out_free_obj;
	item = prefs_to_json(&st->prefs, NULL);
	if (!item || !cJSON_AddItemToObject(obj, "prefs", item)) {
		cJSON_Delete(item);
		goto out_free_obj;
	}
	item = st->has_node ? node_to_json(&st->node) : cJSON_CreateNull();
	if (!item || !cJSON_AddItemToObject(obj, "node", item)) {
		cJSON_Delete(item);
		goto out_free_obj;
	}
	if (!add_key(obj, "server_key", st->has_server_key, st->server_key, hex[3]) ||
	    !cJSON_AddStringToObject(obj, "login_server", st->login_server))
		goto out_free_obj;
	return obj;

out_free_obj:
	cJSON_Delete(obj);
	return NULL;
}

/* Print @obj into a buffer of ours (so it can be wiped); *@len excludes the NUL. */
static char *print_json(const cJSON *obj, size_t *len)
{
	size_t size = PRINT_BUF_START;
	char *buf;

	for (;;) {
		buf = malloc(size);
		if (!buf)
			return NULL;
		if (cJSON_PrintPreallocated((cJSON *)obj, buf, (int)size, 1)) {
			*len = strlen(buf);
			return buf;
		}
		sodium_memzero(buf, size);
		free(buf);
		if (size >= STATE_FILE_MAX)
			return NULL;
		size *= 2;
	}
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory part of @path ("." when there is none) into @dir. */
static void path_dir(char dir[STATE_PATH_MAX], const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
}

static int fsync_dir(const char *dir)
{
	int fd, ret = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int state_save(const struct state *st, char *err, size_t errlen)
{
	char hex[4][ENC_KEY_HEX_LEN + 1];
	char tmp[STATE_PATH_MAX + 16], dir[STATE_PATH_MAX];
	char *text = NULL;
	size_t len = 0;
	cJSON *obj;
	int fd, ret;

	obj = state_to_json(st, hex);
	if (obj)
		text = print_json(obj, &len);
	cJSON_Delete(obj);
	sodium_memzero(hex, sizeof(hex));
	if (!text)
		return fail(err, errlen, -ENOMEM, "cannot encode state for %s: out of memory",
			    st->path);

	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", st->path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = fail(err, errlen, -errno, "cannot create a temp file beside %s: %s", st->path,
			   strerror(errno));
		goto out_wipe_text;
	}
	/* mkostemp() made it 0600 already; say so anyway, whatever the umask. */
	ret = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (!ret)
		ret = write_all(fd, text, len);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret) {
		fail(err, errlen, ret, "cannot write %s: %s", tmp, strerror(-ret));
		goto out_unlink_tmp;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = fail(err, errlen, -errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out_unlink_tmp;
	}
	fd = -1;
	if (rename(tmp, st->path) < 0) {
		ret = fail(err, errlen, -errno, "cannot replace %s: %s", st->path, strerror(errno));
		goto out_unlink_tmp;
	}
	path_dir(dir, st->path);
	ret = fsync_dir(dir);
	if (ret)
		fail(err, errlen, ret, "cannot sync directory %s: %s", dir, strerror(-ret));
	goto out_wipe_text;

out_unlink_tmp:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out_wipe_text:
	sodium_memzero(text, len);
	free(text);
	return ret;
}

/* Decoding. */

struct reader {
	const char *text; /* the file, for line numbers */
	char *err;
	size_t errlen;
};

static unsigned int line_at(const char *text, size_t off)
{
	unsigned int line = 1;

	for (size_t i = 0; i < off && text[i]; i++)
		line += text[i] == '\n';
	return line;
}

/* The line of the first "@key" after the first "@parent" (or from the start). */
static unsigned int key_line(const char *text, const char *parent, const char *key)
{
	char quoted[80];
	const char *from = text, *at;

	if (parent) {
		snprintf(quoted, sizeof(quoted), "\"%s\"", parent);
		at = strstr(text, quoted);
		if (at)
			from = at;
	}
	snprintf(quoted, sizeof(quoted), "\"%s\"", key);
	at = strstr(from, quoted);
	return line_at(text, at ? (size_t)(at - text) : (size_t)(from - text));
}

static int bad(struct reader *r, const char *parent, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Report a problem with member @key (of object @parent) as "line N: message". */
static int bad(struct reader *r, const char *parent, const char *key, const char *fmt, ...)
{
	char msg[STATE_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key)
		return fail(r->err, r->errlen, -EINVAL, "line %u: %s",
			    key_line(r->text, parent, key), msg);
	return fail(r->err, r->errlen, -EINVAL, "%s", msg);
}

static const char *type_name(const cJSON *item)
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

static int read_int(struct reader *r, const char *parent, const cJSON *item, int64_t *out)
{
	double v;

	if (!cJSON_IsNumber(item))
		return bad(r, parent, item->string, "\"%s\" must be a number, not %s", item->string,
			   type_name(item));
	v = item->valuedouble;
	/* Range first: converting an out-of-range double to an integer is undefined. */
	if (!(v <= JSON_INT_MAX && v >= -JSON_INT_MAX) || v != (double)(int64_t)v)
		return bad(r, parent, item->string, "\"%s\" is not an integer", item->string);
	*out = (int64_t)v;
	return 0;
}

static int read_string(struct reader *r, const char *parent, const cJSON *item, bool null_ok,
		       char *dst, size_t size)
{
	if (null_ok && cJSON_IsNull(item)) {
		dst[0] = '\0';
		return 0;
	}
	if (!cJSON_IsString(item) || !item->valuestring)
		return bad(r, parent, item->string, "\"%s\" must be a string, not %s", item->string,
			   type_name(item));
	if (strlen(item->valuestring) >= size)
		return bad(r, parent, item->string, "\"%s\" is longer than %zu characters",
			   item->string, size - 1);
	strcpy(dst, item->valuestring);
	return 0;
}

static int read_key(struct reader *r, const cJSON *item, bool null_ok, bool *present,
		    uint8_t key[KEY_LEN])
{
	if (null_ok && cJSON_IsNull(item)) {
		*present = false;
		sodium_memzero(key, KEY_LEN);
		return 0;
	}
	if (!cJSON_IsString(item) || !item->valuestring)
		return bad(r, NULL, item->string, "\"%s\" must be a string, not %s", item->string,
			   type_name(item));
	if (enc_key_from_hex(key, item->valuestring))
		return bad(r, NULL, item->string, "\"%s\" is not 64 hex digits", item->string);
	if (key_is_zero(key))
		return bad(r, NULL, item->string, "\"%s\" is all zeros", item->string);
	*present = true;
	return 0;
}

static int read_node(struct reader *r, const cJSON *obj, struct state_node *n)
{
	static const char *const keys[] = {"id", "name", "addresses", "user", "key_expiry"};
	unsigned int seen = 0;
	const cJSON *item, *a;
	const char *why;
	size_t k;
	int ret = 0;

	if (!cJSON_IsObject(obj))
		return bad(r, NULL, "node", "\"node\" must be an object or null, not %s",
			   type_name(obj));
	memset(n, 0, sizeof(*n));
	cJSON_ArrayForEach (item, obj) {
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (!strcmp(item->string, keys[k]))
				break;
		}
		if (k == sizeof(keys) / sizeof(keys[0]))
			return bad(r, "node", item->string, "unknown key \"node.%.60s\"",
				   item->string);
		if (seen & (1u << k))
			return bad(r, "node", item->string, "duplicate key \"node.%s\"",
				   item->string);
		seen |= 1u << k;
		switch (k) {
		case 0:
			ret = read_int(r, "node", item, &n->id);
			break;
		case 1:
			ret = read_string(r, "node", item, false, n->name, sizeof(n->name));
			break;
		case 2:
			if (!cJSON_IsArray(item))
				return bad(r, "node", "addresses",
					   "\"addresses\" must be an array, not %s",
					   type_name(item));
			cJSON_ArrayForEach (a, item) {
				if (n->naddresses == STATE_ADDRS_MAX)
					return bad(r, "node", "addresses", "more than %d addresses",
						   STATE_ADDRS_MAX);
				if (!cJSON_IsString(a) ||
				    ip_addr_parse(&n->addresses[n->naddresses], a->valuestring,
						  &why))
					return bad(r, "node", "addresses",
						   "\"addresses\" holds a bad address");
				n->naddresses++;
			}
			break;
		case 3:
			ret = read_string(r, "node", item, true, n->user, sizeof(n->user));
			break;
		default:
			ret = read_int(r, "node", item, &n->key_expiry);
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

enum top_key {
	TOP_VERSION,
	TOP_MACHINE_KEY,
	TOP_NODE_KEY,
	TOP_OLD_NODE_KEY,
	TOP_PREFS,
	TOP_NODE,
	TOP_SERVER_KEY,
	TOP_LOGIN_SERVER,
	TOP_COUNT,
};

static const char *const top_keys[TOP_COUNT] = {
	[TOP_VERSION] = "version",	 [TOP_MACHINE_KEY] = "machine_key",
	[TOP_NODE_KEY] = "node_key",	 [TOP_OLD_NODE_KEY] = "old_node_key",
	[TOP_PREFS] = "prefs",		 [TOP_NODE] = "node",
	[TOP_SERVER_KEY] = "server_key", [TOP_LOGIN_SERVER] = "login_server",
};

static int read_member(struct reader *r, enum top_key k, const cJSON *item, struct state *st)
{
	char why[PREFS_ERROR_MAX];
	int64_t version;
	bool present;
	int ret;

	switch (k) {
	case TOP_VERSION:
		ret = read_int(r, NULL, item, &version);
		if (ret)
			return ret;
		if (version > STATE_VERSION)
			return bad(r, NULL, "version",
				   "version %lld was written by a newer meshd (this one reads %d)",
				   (long long)version, STATE_VERSION);
		if (version != STATE_VERSION)
			return bad(r, NULL, "version", "unknown version %lld", (long long)version);
		return 0;
	case TOP_MACHINE_KEY:
		return read_key(r, item, false, &present, st->machine_key);
	case TOP_NODE_KEY:
		return read_key(r, item, false, &present, st->node_key);
	case TOP_OLD_NODE_KEY:
		return read_key(r, item, true, &st->has_old_node_key, st->old_node_key);
	case TOP_PREFS:
		if (prefs_from_json(&st->prefs, NULL, item, why, sizeof(why)))
			return bad(r, NULL, "prefs", "prefs: %s", why);
		return 0;
	case TOP_NODE:
		st->has_node = !cJSON_IsNull(item);
		return st->has_node ? read_node(r, item, &st->node) : 0;
	case TOP_SERVER_KEY:
		return read_key(r, item, true, &st->has_server_key, st->server_key);
	case TOP_LOGIN_SERVER:
		return read_string(r, NULL, item, false, st->login_server,
				   sizeof(st->login_server));
	case TOP_COUNT:
		break;
	}
	return -EINVAL;
}

static int state_from_json(struct reader *r, const cJSON *root, struct state *st)
{
	unsigned int seen = 0;
	const cJSON *item;
	int k, ret;

	if (!cJSON_IsObject(root))
		return bad(r, NULL, NULL, "the document is %s, not an object", type_name(root));
	cJSON_ArrayForEach (item, root) {
		for (k = 0; k < TOP_COUNT; k++) {
			if (!strcmp(item->string, top_keys[k]))
				break;
		}
		if (k == TOP_COUNT)
			return bad(r, NULL, item->string, "unknown key \"%.60s\"", item->string);
		if (seen & (1u << k))
			return bad(r, NULL, item->string, "duplicate key \"%s\"", item->string);
		seen |= 1u << k;
		ret = read_member(r, k, item, st);
		if (ret)
			return ret;
	}
	for (k = TOP_VERSION; k <= TOP_NODE_KEY; k++) {
		if (!(seen & (1u << k)))
			return bad(r, NULL, NULL, "\"%s\" is missing", top_keys[k]);
	}
	return 0;
}

/*
 * Explain why cJSON rejected @text: a document that ends inside a string or
 * an open object or array was cut short (the usual corruption after a crash
 * without fsync); anything else is reported where cJSON stopped.
 */
static int explain_syntax(struct reader *r, size_t len, const char *stop)
{
	bool in_string = false, escape = false;
	size_t depth = 0, last = 0, off;
	unsigned int col = 1;

	for (size_t i = 0; i < len; i++) {
		char c = r->text[i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			last = i;
		if (in_string) {
			if (escape)
				escape = false;
			else if (c == '\\')
				escape = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && depth) {
			depth--;
		}
	}
	if (!len)
		return bad(r, NULL, NULL, "the file is empty");
	if (in_string || depth)
		return bad(r, NULL, NULL, "line %u: the file ends early; it was cut short",
			   line_at(r->text, last));
	off = stop && stop >= r->text && stop <= r->text + len ? (size_t)(stop - r->text) : len;
	for (size_t i = off; i > 0 && r->text[i - 1] != '\n'; i--)
		col++;
	return bad(r, NULL, NULL, "line %u, column %u: invalid JSON", line_at(r->text, off), col);
}

static int read_file(int fd, char **out, size_t *outlen)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nbuf;
	ssize_t n;

	for (;;) {
		if (cap - len < READ_CHUNK) {
			if (cap > STATE_FILE_MAX) {
				sodium_memzero(buf, len);
				free(buf);
				return -EFBIG;
			}
			/* Grow by hand: realloc() could leave key text behind. */
			nbuf = malloc(cap + READ_CHUNK + 1);
			if (!nbuf) {
				sodium_memzero(buf, len);
				free(buf);
				return -ENOMEM;
			}
			if (buf) {
				memcpy(nbuf, buf, len);
				sodium_memzero(buf, len);
				free(buf);
			}
			buf = nbuf;
			cap += READ_CHUNK;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int ret = -errno;

			sodium_memzero(buf, len);
			free(buf);
			return ret;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > STATE_FILE_MAX) {
		sodium_memzero(buf, len);
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

#define CORRUPT_FMT                                                                          \
	"state file %s is corrupt (%s); refusing to start so the node's keys are not lost; " \
	"move it aside to start as a new node"

/* Parse the open state file @fd into @st. */
static int load_file(int fd, struct state *st, char *err, size_t errlen)
{
	char why[STATE_ERROR_MAX] = "";
	struct reader r = {.err = why, .errlen = sizeof(why)};
	const char *stop = NULL;
	cJSON *root = NULL;
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = read_file(fd, &text, &len);
	if (ret == -EFBIG)
		return fail(err, errlen, -EINVAL, CORRUPT_FMT, st->path, "larger than 1 MiB");
	if (ret)
		return fail(err, errlen, ret, "cannot read state file %s: %s", st->path,
			    strerror(-ret));
	r.text = text;
	if (memchr(text, '\0', len)) {
		ret = bad(&r, NULL, NULL, "line %u: a NUL byte",
			  line_at(text, (size_t)((char *)memchr(text, '\0', len) - text)));
		goto out_corrupt;
	}
	root = cJSON_ParseWithLengthOpts(text, len + 1, &stop, 1);
	if (!root) {
		ret = explain_syntax(&r, len, stop);
		goto out_corrupt;
	}
	ret = state_from_json(&r, root, st);
	if (!ret)
		goto out_free;

out_corrupt:
	fail(err, errlen, -EINVAL, CORRUPT_FMT, st->path, why);
	ret = -EINVAL;
out_free:
	free_json(root);
	sodium_memzero(text, len);
	free(text);
	return ret;
}

static int create_fresh(struct state *st, const char *dir, char *err, size_t errlen)
{
	int ret;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return fail(err, errlen, -errno, "cannot create state directory %s: %s", dir,
			    strerror(errno));
	key_generate_private(st->machine_key);
	key_generate_private(st->node_key);
	ret = state_save(st, err, errlen);
	if (ret)
		return ret;
	log_info("state", "no state file at %s: starting as a new node", st->path);
	return 0;
}

int state_load(struct state **out, const char *dir, bool *created, char *err, size_t errlen)
{
	struct state *st;
	struct stat sb;
	int fd, ret;

	*out = NULL;
	if (created)
		*created = false;
	st = calloc(1, sizeof(*st));
	if (!st)
		return fail(err, errlen, -ENOMEM, "out of memory");
	prefs_init(&st->prefs);
	if ((size_t)snprintf(st->path, sizeof(st->path), "%s/%s", dir, STATE_FILE_NAME) >=
	    sizeof(st->path)) {
		ret = fail(err, errlen, -ENAMETOOLONG, "state directory name too long");
		goto out_free_state;
	}

	fd = open(st->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		ret = create_fresh(st, dir, err, errlen);
		if (ret)
			goto out_free_state;
		if (created)
			*created = true;
		*out = st;
		return 0;
	}
	if (fd < 0) {
		ret = fail(err, errlen, -errno, "cannot open state file %s: %s", st->path,
			   strerror(errno));
		goto out_free_state;
	}
	if (fstat(fd, &sb) < 0) {
		ret = fail(err, errlen, -errno, "cannot stat state file %s: %s", st->path,
			   strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(sb.st_mode)) {
		ret = fail(err, errlen, -EINVAL, "state file %s is not a regular file", st->path);
		goto out_close;
	}
	if (sb.st_mode & 077) {
		if (fchmod(fd, 0600) < 0) {
			ret = fail(err, errlen, -errno,
				   "state file %s is readable by others (mode %04o) and chmod "
				   "failed: %s",
				   st->path, (unsigned int)(sb.st_mode & 07777), strerror(errno));
			goto out_close;
		}
		log_warn("state", "%s was readable by group or others (mode %04o): changed to 0600",
			 st->path, (unsigned int)(sb.st_mode & 07777));
	}
	ret = load_file(fd, st, err, errlen);
	if (ret)
		goto out_close;
	close(fd);
	*out = st;
	return 0;

out_close:
	close(fd);
out_free_state:
	state_free(st);
	return ret;
}

void state_free(struct state *st)
{
	if (!st)
		return;
	sodium_memzero(st, sizeof(*st));
	free(st);
}
