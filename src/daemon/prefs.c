// SPDX-License-Identifier: MIT
/*
 * Node preferences: defaults, merge rules, validation and the strict JSON
 * codec. Every generic operation (apply, diff, encode, decode) walks one
 * table of field descriptors, so adding a pref is one enum entry, one struct
 * member and one table line.
 */
#include "daemon/prefs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum field_type {
	FIELD_BOOL,
	FIELD_STRING,
	FIELD_ROUTES,
	FIELD_TAGS,
};

struct field_desc {
	const char *name;
	enum field_type type;
	size_t offset;
	size_t size;
};

#define FIELD(id, member, ftype)                             \
	[id] = {                                             \
		.name = #member,                             \
		.type = ftype,                               \
		.offset = offsetof(struct prefs, member),    \
		.size = sizeof(((struct prefs *)0)->member), \
	}

static const struct field_desc fields[PREFS_FIELD_COUNT] = {
	FIELD(PREFS_WANT_RUNNING, want_running, FIELD_BOOL),
	FIELD(PREFS_LOGIN_SERVER, login_server, FIELD_STRING),
	FIELD(PREFS_HOSTNAME, hostname, FIELD_STRING),
	FIELD(PREFS_ADVERTISE_ROUTES, advertise_routes, FIELD_ROUTES),
	FIELD(PREFS_ADVERTISE_EXIT_NODE, advertise_exit_node, FIELD_BOOL),
	FIELD(PREFS_ADVERTISE_TAGS, advertise_tags, FIELD_TAGS),
	FIELD(PREFS_ACCEPT_ROUTES, accept_routes, FIELD_BOOL),
	FIELD(PREFS_ACCEPT_DNS, accept_dns, FIELD_BOOL),
	FIELD(PREFS_EXIT_NODE, exit_node, FIELD_STRING),
	FIELD(PREFS_EXIT_NODE_ALLOW_LAN_ACCESS, exit_node_allow_lan_access, FIELD_BOOL),
	FIELD(PREFS_SHIELDS_UP, shields_up, FIELD_BOOL),
	FIELD(PREFS_SNAT_SUBNET_ROUTES, snat_subnet_routes, FIELD_BOOL),
};

static void *field_ptr(struct prefs *p, enum prefs_field f)
{
	return (char *)p + fields[f].offset;
}

static const void *field_cptr(const struct prefs *p, enum prefs_field f)
{
	return (const char *)p + fields[f].offset;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

void prefs_init(struct prefs *p)
{
	memset(p, 0, sizeof(*p));
	p->accept_dns = true;
	p->snat_subnet_routes = true;
}

const char *prefs_field_name(enum prefs_field f)
{
	if ((unsigned int)f >= PREFS_FIELD_COUNT)
		return NULL;
	return fields[f].name;
}

int prefs_field_lookup(const char *name, bool dashes)
{
	for (size_t f = 0; f < PREFS_FIELD_COUNT; f++) {
		const char *a = fields[f].name, *b = name;

		for (; *a && *b; a++, b++) {
			if (*a != *b && !(dashes && *a == '_' && *b == '-'))
				break;
		}
		if (!*a && !*b)
			return (int)f;
	}
	return -ENOENT;
}

bool prefs_field_is_bool(enum prefs_field f)
{
	return (unsigned int)f < PREFS_FIELD_COUNT && fields[f].type == FIELD_BOOL;
}

/* Value parsers shared by the text (flag) and JSON forms. */

static int parse_bool(bool *out, const char *s)
{
	if (!strcmp(s, "true") || !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

static int set_string(char *dst, size_t size, const char *s, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (n >= size)
		return fail(err, errlen, "\"%.40s...\" is longer than %zu characters", s, size - 1);
	memcpy(dst, s, n + 1);
	return 0;
}

static int add_route(struct prefs_routes *r, const char *s, char *err, size_t errlen)
{
	const char *why = NULL;

	if (r->n >= PREFS_ROUTES_MAX)
		return fail(err, errlen, "more than %d routes", PREFS_ROUTES_MAX);
	if (ip_prefix_parse(&r->prefix[r->n], s, &why))
		return fail(err, errlen, "\"%.60s\" is not an IP prefix: %s", s, why);
	r->n++;
	return 0;
}

static int add_tag(struct prefs_tags *t, const char *s, char *err, size_t errlen)
{
	if (t->n >= PREFS_TAGS_MAX)
		return fail(err, errlen, "more than %d tags", PREFS_TAGS_MAX);
	if (set_string(t->tag[t->n], sizeof(t->tag[t->n]), s, err, errlen))
		return -EINVAL;
	t->n++;
	return 0;
}

/* Split @text at commas (white space around items is dropped) into a list field. */
static int parse_list(struct prefs *p, enum prefs_field f, const char *text, char *err,
		      size_t errlen)
{
	char item[PREFS_URL_MAX + 1];
	const char *s = text;
	int ret;

	if (fields[f].type == FIELD_ROUTES)
		((struct prefs_routes *)field_ptr(p, f))->n = 0;
	else
		((struct prefs_tags *)field_ptr(p, f))->n = 0;
	if (!*text)
		return 0;
	for (;;) {
		const char *end = strchr(s, ',');
		size_t n = end ? (size_t)(end - s) : strlen(s);

		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (!n)
			return fail(err, errlen, "\"%.60s\" has an empty item", text);
		if (n >= sizeof(item))
			return fail(err, errlen, "an item of \"%.40s...\" is too long", text);
		memcpy(item, s, n);
		item[n] = '\0';
		if (fields[f].type == FIELD_ROUTES)
			ret = add_route(field_ptr(p, f), item, err, errlen);
		else
			ret = add_tag(field_ptr(p, f), item, err, errlen);
		if (ret)
			return ret;
		if (!end)
			return 0;
		s = end + 1;
	}
}

int prefs_parse_field(struct prefs *p, enum prefs_field f, const char *text, char *err,
		      size_t errlen)
{
	struct prefs tmp;
	int ret = -EINVAL;

	if ((unsigned int)f >= PREFS_FIELD_COUNT || !text)
		return fail(err, errlen, "no such field");
	/* Parse into a copy so that @p is unchanged on failure. */
	memcpy(field_ptr(&tmp, f), field_cptr(p, f), fields[f].size);
	switch (fields[f].type) {
	case FIELD_BOOL:
		ret = parse_bool(field_ptr(&tmp, f), text);
		if (ret)
			fail(err, errlen, "\"%.60s\" is not a boolean (true or false)", text);
		break;
	case FIELD_STRING:
		ret = set_string(field_ptr(&tmp, f), fields[f].size, text, err, errlen);
		break;
	case FIELD_ROUTES:
	case FIELD_TAGS:
		ret = parse_list(&tmp, f, text, err, errlen);
		break;
	}
	if (!ret)
		memcpy(field_ptr(p, f), field_cptr(&tmp, f), fields[f].size);
	return ret;
}

/* Validation. */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* One DNS label of @n characters: letters, digits and '-', not at either end. */
static bool is_label(const char *s, size_t n)
{
	if (n < 1 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

/* A DNS name: dot-separated labels, an optional final dot, at most 253 characters. */
static bool is_dns_name(const char *s, size_t n)
{
	size_t start = 0;

	if (n && s[n - 1] == '.')
		n--;
	if (!n || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!is_label(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return n > 0;
}

/* "http(s)://HOST[:PORT][/path...]" with HOST a DNS name, IPv4 or [IPv6]. */
static int check_url(const char *url, char *err, size_t errlen)
{
	char host[256];
	const char *rest, *end, *port = NULL;
	struct ip_addr addr;
	size_t n;

	if (!strncasecmp(url, "http://", 7))
		rest = url + 7;
	else if (!strncasecmp(url, "https://", 8))
		rest = url + 8;
	else
		return fail(err, errlen,
			    "\"%.80s\" is not a URL: it must start with https:// or http://", url);
	for (const char *c = url; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return fail(err, errlen,
				    "\"%.80s\" contains white space or a control character", url);
	}
	end = rest + strcspn(rest, "/?#");
	n = (size_t)(end - rest);
	if (memchr(rest, '@', n))
		return fail(err, errlen, "\"%.80s\": user names in the URL are not supported", url);
	if (n && rest[0] == '[') {
		const char *close = memchr(rest, ']', n);

		if (!close || (size_t)(close - rest) - 1 >= sizeof(host))
			return fail(err, errlen, "\"%.80s\" has a bad IPv6 host", url);
		memcpy(host, rest + 1, (size_t)(close - rest) - 1);
		host[close - rest - 1] = '\0';
		if (ip_addr_parse(&addr, host, NULL) || addr.family != IP_FAMILY_V6)
			return fail(err, errlen, "\"%.80s\" has a bad IPv6 host", url);
		if (close + 1 < end) {
			if (close[1] != ':')
				return fail(err, errlen, "\"%.80s\" has a bad host", url);
			port = close + 2;
		}
	} else {
		const char *colon = memchr(rest, ':', n);
		size_t hn = colon ? (size_t)(colon - rest) : n;

		if (!hn)
			return fail(err, errlen, "\"%.80s\" has no host name", url);
		if (hn >= sizeof(host) || !is_dns_name(rest, hn))
			return fail(err, errlen, "\"%.80s\" has a bad host name", url);
		if (colon)
			port = colon + 1;
	}
	if (port) {
		size_t pn = (size_t)(end - port);
		unsigned long v = 0;

		if (!is_digits(port, pn) || pn > 5)
			return fail(err, errlen, "\"%.80s\" has a bad port", url);
		for (size_t i = 0; i < pn; i++)
			v = v * 10 + (unsigned long)(port[i] - '0');
		if (v < 1 || v > 65535)
			return fail(err, errlen, "\"%.80s\" has a bad port", url);
	}
	return 0;
}

static int check_routes(const struct prefs_routes *r, char *err, size_t errlen)
{
	char a[IP_PREFIX_STRLEN], b[IP_PREFIX_STRLEN];

	for (size_t i = 0; i < r->n; i++) {
		const struct ip_prefix *p = &r->prefix[i];

		ip_prefix_format(p, a, sizeof(a));
		if (!ip_prefix_is_canonical(p)) {
			struct ip_prefix m = *p;

			ip_prefix_mask(&m);
			return fail(err, errlen, "%s has host bits set; did you mean %s?", a,
				    ip_prefix_format(&m, b, sizeof(b)));
		}
		if (p->bits == 0)
			return fail(err, errlen,
				    "%s is a default route; advertise an exit node instead", a);
		for (size_t j = 0; j < i; j++) {
			if (ip_prefix_equal(p, &r->prefix[j]))
				return fail(err, errlen, "%s is listed twice", a);
		}
	}
	return 0;
}

static bool is_tag_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	}
	return true;
}

static int check_tags(const struct prefs_tags *t, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->n; i++) {
		const char *tag = t->tag[i];

		if (strncmp(tag, "tag:", 4) || !is_tag_name(tag + 4)) {
			if (strncmp(tag, "tag:", 4) && is_tag_name(tag))
				return fail(err, errlen,
					    "\"%s\" is not a valid tag; did you mean tag:%s?", tag,
					    tag);
			return fail(err, errlen,
				    "\"%s\" is not a valid tag: tags look like tag:name, with "
				    "lowercase letters, digits and '-'",
				    tag);
		}
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(tag, t->tag[j]))
				return fail(err, errlen, "%s is listed twice", tag);
		}
	}
	return 0;
}

int prefs_validate(const struct prefs *p, enum prefs_field *bad, char *err, size_t errlen)
{
	enum prefs_field f;
	struct ip_addr addr;
	int ret = 0;

	f = PREFS_LOGIN_SERVER;
	if (p->login_server[0]) {
		ret = check_url(p->login_server, err, errlen);
		if (ret)
			goto out;
	}
	f = PREFS_HOSTNAME;
	if (p->hostname[0] && !is_label(p->hostname, strlen(p->hostname))) {
		ret = fail(err, errlen,
			   "\"%s\" is not a valid host name: use letters, digits and '-' (not at "
			   "either end), at most %d characters",
			   p->hostname, PREFS_HOSTNAME_MAX);
		goto out;
	}
	f = PREFS_ADVERTISE_ROUTES;
	ret = check_routes(&p->advertise_routes, err, errlen);
	if (ret)
		goto out;
	f = PREFS_ADVERTISE_TAGS;
	ret = check_tags(&p->advertise_tags, err, errlen);
	if (ret)
		goto out;
	f = PREFS_EXIT_NODE;
	if (p->exit_node[0]) {
		if (ip_addr_parse(&addr, p->exit_node, NULL) &&
		    !is_dns_name(p->exit_node, strlen(p->exit_node))) {
			ret = fail(err, errlen, "\"%s\" is neither an IP address nor a node name",
				   p->exit_node);
			goto out;
		}
		if (p->advertise_exit_node) {
			ret = fail(err, errlen,
				   "cannot use an exit node while advertising this node as one");
			goto out;
		}
	}
out:
	if (ret && bad)
		*bad = f;
	return ret;
}

/* Merging and comparing. */

void prefs_apply(struct prefs *dst, const struct prefs *src, const struct prefs_mask *mask,
		 bool reset)
{
	struct prefs def;

	prefs_init(&def);
	for (size_t f = 0; f < PREFS_FIELD_COUNT; f++) {
		if (mask && prefs_mask_has(mask, (enum prefs_field)f))
			memmove(field_ptr(dst, f), field_cptr(src, f), fields[f].size);
		else if (reset)
			memcpy(field_ptr(dst, f), field_cptr(&def, f), fields[f].size);
	}
}

static bool field_equal(const struct prefs *a, const struct prefs *b, enum prefs_field f)
{
	const struct prefs_routes *ra, *rb;
	const struct prefs_tags *ta, *tb;

	switch (fields[f].type) {
	case FIELD_BOOL:
		return *(const bool *)field_cptr(a, f) == *(const bool *)field_cptr(b, f);
	case FIELD_STRING:
		return !strcmp(field_cptr(a, f), field_cptr(b, f));
	case FIELD_ROUTES:
		ra = field_cptr(a, f);
		rb = field_cptr(b, f);
		if (ra->n != rb->n)
			return false;
		for (size_t i = 0; i < ra->n; i++) {
			if (!ip_prefix_equal(&ra->prefix[i], &rb->prefix[i]))
				return false;
		}
		return true;
	case FIELD_TAGS:
		ta = field_cptr(a, f);
		tb = field_cptr(b, f);
		if (ta->n != tb->n)
			return false;
		for (size_t i = 0; i < ta->n; i++) {
			if (strcmp(ta->tag[i], tb->tag[i]))
				return false;
		}
		return true;
	}
	return false;
}

void prefs_diff(const struct prefs *a, const struct prefs *b, struct prefs_mask *out)
{
	out->fields = 0;
	for (size_t f = 0; f < PREFS_FIELD_COUNT; f++) {
		if (!field_equal(a, b, f))
			prefs_mask_add(out, f);
	}
}

bool prefs_equal(const struct prefs *a, const struct prefs *b)
{
	struct prefs_mask m;

	prefs_diff(a, b, &m);
	return !m.fields;
}

/* JSON. */

static cJSON *list_to_json(const struct prefs *p, enum prefs_field f)
{
	char buf[IP_PREFIX_STRLEN];
	cJSON *arr = cJSON_CreateArray();

	if (!arr)
		return NULL;
	if (fields[f].type == FIELD_ROUTES) {
		const struct prefs_routes *r = field_cptr(p, f);

		for (size_t i = 0; i < r->n; i++) {
			ip_prefix_format(&r->prefix[i], buf, sizeof(buf));
			if (!cJSON_AddItemToArray(arr, cJSON_CreateString(buf)))
				goto out_free_arr;
		}
	} else {
		const struct prefs_tags *t = field_cptr(p, f);

		for (size_t i = 0; i < t->n; i++) {
			if (!cJSON_AddItemToArray(arr, cJSON_CreateString(t->tag[i])))
				goto out_free_arr;
		}
	}
	return arr;

out_free_arr:
	cJSON_Delete(arr);
	return NULL;
}

cJSON *prefs_to_json(const struct prefs *p, const struct prefs_mask *mask)
{
	cJSON *obj = cJSON_CreateObject(), *item;

	if (!obj)
		return NULL;
	for (size_t f = 0; f < PREFS_FIELD_COUNT; f++) {
		if (mask && !prefs_mask_has(mask, f))
			continue;
		switch (fields[f].type) {
		case FIELD_BOOL:
			item = cJSON_CreateBool(*(const bool *)field_cptr(p, f));
			break;
		case FIELD_STRING:
			item = cJSON_CreateString(field_cptr(p, f));
			break;
		default:
			item = list_to_json(p, f);
			break;
		}
		if (!item || !cJSON_AddItemToObject(obj, fields[f].name, item)) {
			cJSON_Delete(item);
			cJSON_Delete(obj);
			return NULL;
		}
	}
	return obj;
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
	if (cJSON_IsObject(item))
		return "an object";
	return "invalid";
}

static int list_from_json(struct prefs *p, enum prefs_field f, const cJSON *arr, char *err,
			  size_t errlen)
{
	char why[PREFS_ERROR_MAX];
	const cJSON *item;
	int i = 0, ret;

	if (!cJSON_IsArray(arr))
		return fail(err, errlen, "\"%s\" must be an array of strings, not %s",
			    fields[f].name, type_name(arr));
	if (fields[f].type == FIELD_ROUTES)
		((struct prefs_routes *)field_ptr(p, f))->n = 0;
	else
		((struct prefs_tags *)field_ptr(p, f))->n = 0;
	cJSON_ArrayForEach (item, arr) {
		if (!cJSON_IsString(item) || !item->valuestring)
			return fail(err, errlen, "\"%s\"[%d] must be a string, not %s",
				    fields[f].name, i, type_name(item));
		if (fields[f].type == FIELD_ROUTES)
			ret = add_route(field_ptr(p, f), item->valuestring, why, sizeof(why));
		else
			ret = add_tag(field_ptr(p, f), item->valuestring, why, sizeof(why));
		if (ret)
			return fail(err, errlen, "\"%s\"[%d]: %s", fields[f].name, i, why);
		i++;
	}
	return 0;
}

static int decode(struct prefs *p, struct prefs_mask *mask, bool *reset, const cJSON *obj,
		  char *err, size_t errlen)
{
	char why[PREFS_ERROR_MAX];
	struct prefs_mask seen = {0};
	bool seen_reset = false;
	struct prefs tmp = *p;
	const cJSON *item;
	int f;

	if (!cJSON_IsObject(obj))
		return fail(err, errlen, "prefs must be a JSON object, not %s", type_name(obj));
	cJSON_ArrayForEach (item, obj) {
		const char *key = item->string ? item->string : "";

		if (reset && !strcmp(key, "reset")) {
			if (seen_reset)
				return fail(err, errlen, "duplicate key \"reset\"");
			if (!cJSON_IsBool(item))
				return fail(err, errlen, "\"reset\" must be a boolean, not %s",
					    type_name(item));
			seen_reset = true;
			*reset = cJSON_IsTrue(item);
			continue;
		}
		f = prefs_field_lookup(key, false);
		if (f < 0)
			return fail(err, errlen, "unknown key \"%.60s\"", key);
		if (prefs_mask_has(&seen, f))
			return fail(err, errlen, "duplicate key \"%s\"", key);
		prefs_mask_add(&seen, f);
		switch (fields[f].type) {
		case FIELD_BOOL:
			if (!cJSON_IsBool(item))
				return fail(err, errlen, "\"%s\" must be a boolean, not %s", key,
					    type_name(item));
			*(bool *)field_ptr(&tmp, f) = cJSON_IsTrue(item);
			break;
		case FIELD_STRING:
			if (!cJSON_IsString(item) || !item->valuestring)
				return fail(err, errlen, "\"%s\" must be a string, not %s", key,
					    type_name(item));
			if (set_string(field_ptr(&tmp, f), fields[f].size, item->valuestring, why,
				       sizeof(why)))
				return fail(err, errlen, "\"%s\": %s", key, why);
			break;
		default:
			if (list_from_json(&tmp, f, item, err, errlen))
				return -EINVAL;
			break;
		}
	}
	*p = tmp;
	if (mask)
		mask->fields |= seen.fields;
	return 0;
}

int prefs_from_json(struct prefs *p, struct prefs_mask *mask, const cJSON *obj, char *err,
		    size_t errlen)
{
	return decode(p, mask, NULL, obj, err, errlen);
}

int prefs_patch_from_json(struct prefs *p, struct prefs_mask *mask, bool *reset, const cJSON *obj,
			  char *err, size_t errlen)
{
	bool r = false;
	int ret;

	ret = decode(p, mask, &r, obj, err, errlen);
	if (!ret)
		*reset = r;
	return ret;
}
