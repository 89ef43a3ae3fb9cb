// SPDX-License-Identifier: MIT
/*
 * Strict JSON field access for control messages. Error texts name the field
 * and the rule it broke but never echo the value: an auth key in a log line
 * is a leaked auth key.
 */
#include "control/json.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum json_limits {
	JSON_MAX_MEMBERS = 64,
	/* Integers must survive the trip through a double exactly. */
	JSON_MAX_INT_BITS = 53,
};

static const uint64_t max_int = (1ULL << JSON_MAX_INT_BITS) - 1;

int ctl_json_fail(struct ctl_json_ctx *ctx, const char *field, const char *fmt, ...)
{
	char what[128];
	va_list ap;

	if (!ctx->err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* Truncating a long path is fine: the reason comes last and is short. */
	if (snprintf(ctx->err->msg, sizeof(ctx->err->msg), "%s%s%s: %s", ctx->path,
		     ctx->path[0] && field ? "." : "",
		     field ? field : (ctx->path[0] ? "" : "message"), what) < 0)
		ctx->err->msg[0] = '\0';
	return -EINVAL;
}

size_t ctl_json_push(struct ctl_json_ctx *ctx, const char *field, long index)
{
	size_t old = strlen(ctx->path);
	size_t n = old;

	if (field)
		n += (size_t)snprintf(ctx->path + n, sizeof(ctx->path) - n, "%s%s", n ? "." : "",
				      field);
	if (index >= 0 && n < sizeof(ctx->path))
		snprintf(ctx->path + n, sizeof(ctx->path) - n, "[%ld]", index);
	return old;
}

void ctl_json_pop(struct ctl_json_ctx *ctx, size_t len)
{
	ctx->path[len] = '\0';
}

/* Refuse NUL bytes and the "\u0000" escape, which cJSON would turn into a cut string. */
static bool has_nul(const uint8_t *buf, size_t len)
{
	bool in_string = false;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!buf[i])
			return true;
		if (!in_string) {
			in_string = buf[i] == '"';
			continue;
		}
		if (buf[i] == '"') {
			in_string = false;
		} else if (buf[i] == '\\' && i + 1 < len) {
			if (buf[i + 1] == 'u' && i + 5 < len && !memcmp(buf + i + 2, "0000", 4))
				return true;
			i++; /* skip the escaped character */
		}
	}
	return false;
}

int ctl_json_parse(cJSON **root, const uint8_t *buf, size_t len, size_t max,
		   struct ctl_json_ctx *ctx)
{
	const char *end = NULL;
	cJSON *r;

	*root = NULL;
	if (len > max) {
		ctl_json_fail(ctx, NULL, "larger than %zu bytes", max);
		return -EMSGSIZE;
	}
	if (!len)
		return ctl_json_fail(ctx, NULL, "empty");
	if (has_nul(buf, len))
		return ctl_json_fail(ctx, NULL, "contains a NUL character");
	r = cJSON_ParseWithLengthOpts((const char *)buf, len, &end, 0);
	if (!r)
		return ctl_json_fail(ctx, NULL, "not valid JSON");
	while (end && end < (const char *)buf + len && strchr(" \t\r\n", *end))
		end++;
	if (!end || end != (const char *)buf + len) {
		cJSON_Delete(r);
		return ctl_json_fail(ctx, NULL, "trailing data after the JSON value");
	}
	if (!cJSON_IsObject(r)) {
		cJSON_Delete(r);
		return ctl_json_fail(ctx, NULL, "not a JSON object");
	}
	*root = r;
	return 0;
}

int ctl_json_object(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field)
{
	const cJSON *a, *b;
	int n = 0;

	if (!cJSON_IsObject(obj))
		return ctl_json_fail(ctx, field, "not an object");
	for (a = obj->child; a; a = a->next) {
		if (++n > JSON_MAX_MEMBERS)
			return ctl_json_fail(ctx, field, "more than %d members", JSON_MAX_MEMBERS);
		for (b = obj->child; b != a; b = b->next) {
			if (!strcmp(a->string, b->string))
				return ctl_json_fail(ctx, field, "duplicate member");
		}
	}
	return 0;
}

static const cJSON *member(const cJSON *obj, const char *field)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, field);

	return cJSON_IsNull(m) ? NULL : m;
}

int ctl_json_type(struct ctl_json_ctx *ctx, const cJSON *root, const char *type)
{
	const cJSON *t = member(root, "type");

	if (!t)
		return ctl_json_fail(ctx, "type", "missing");
	if (!cJSON_IsString(t))
		return ctl_json_fail(ctx, "type", "not a string");
	if (strcmp(t->valuestring, type))
		return ctl_json_fail(ctx, "type", "expected \"%s\"", type);
	return 0;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned int c = *s, need, cp, min;

		if (c < 0x80) {
			s++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		for (s++; need; need--, s++) {
			if ((*s & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (*s & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool label_ok(const char *s, size_t len, bool lower_only)
{
	size_t i;

	if (!len || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (lower_only ? !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			       : !(is_alnum(c) || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool dnsname_ok(const char *s, size_t len)
{
	const char *dot;

	if (len && s[len - 1] == '.')
		len--;
	if (!len || len > 253)
		return false;
	while ((dot = memchr(s, '.', len))) {
		if (!label_ok(s, (size_t)(dot - s), false))
			return false;
		len -= (size_t)(dot - s) + 1;
		s = dot + 1;
	}
	return label_ok(s, len, false);
}

static bool text_ok(const char *s, enum ctl_text_kind kind, size_t maxlen)
{
	size_t len = strlen(s), i;

	if (!len || len > maxlen)
		return false;
	switch (kind) {
	case CTL_TEXT_PRINTABLE:
		for (i = 0; i < len; i++) {
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return false;
		}
		return utf8_valid((const unsigned char *)s);
	case CTL_TEXT_TOKEN:
		for (i = 0; i < len; i++) {
			if (!is_alnum(s[i]) && !strchr("._~+/=-", s[i]))
				return false;
		}
		return true;
	case CTL_TEXT_LABEL:
		return label_ok(s, len, true);
	case CTL_TEXT_DNSNAME:
		return dnsname_ok(s, len);
	case CTL_TEXT_TAG:
		if (len <= 4 || strncmp(s, "tag:", 4))
			return false;
		for (i = 4; i < len; i++) {
			if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_')
				return false;
		}
		return true;
	}
	return false;
}

static const char *const text_rule[] = {
	[CTL_TEXT_PRINTABLE] = "printable UTF-8", [CTL_TEXT_TOKEN] = "a token",
	[CTL_TEXT_LABEL] = "a DNS label",	  [CTL_TEXT_DNSNAME] = "a DNS name",
	[CTL_TEXT_TAG] = "a tag (tag:name)",
};

static int check_text(struct ctl_json_ctx *ctx, const char *field, const cJSON *v,
		      enum ctl_text_kind kind, size_t maxlen)
{
	if (!cJSON_IsString(v))
		return ctl_json_fail(ctx, field, "not a string");
	if (!text_ok(v->valuestring, kind, maxlen))
		return ctl_json_fail(ctx, field, "not %s of 1 to %zu bytes", text_rule[kind],
				     maxlen);
	return 0;
}

int ctl_json_string(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		    enum ctl_text_kind kind, size_t maxlen, char **out)
{
	const cJSON *v = member(obj, field);
	int ret;

	if (!v)
		return required ? ctl_json_fail(ctx, field, "missing") : 0;
	ret = check_text(ctx, field, v, kind, maxlen);
	if (ret)
		return ret;
	*out = strdup(v->valuestring);
	return *out ? 0 : -ENOMEM;
}

int ctl_json_bool(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		  bool *out, bool *present)
{
	const cJSON *v = member(obj, field);

	if (present)
		*present = v != NULL;
	if (!v)
		return required ? ctl_json_fail(ctx, field, "missing") : 0;
	if (!cJSON_IsBool(v))
		return ctl_json_fail(ctx, field, "not true or false");
	*out = cJSON_IsTrue(v);
	return 0;
}

static int number(struct ctl_json_ctx *ctx, const char *field, const cJSON *v, uint64_t min,
		  uint64_t max, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return ctl_json_fail(ctx, field, "not a number");
	d = v->valuedouble;
	if (max > max_int)
		max = max_int;
	/* NaN fails every comparison, so test for "inside" rather than "outside". */
	if (!(d >= 0 && d <= (double)max) || (double)(uint64_t)d != d || (uint64_t)d < min)
		return ctl_json_fail(ctx, field, "not an integer from %llu to %llu",
				     (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)d;
	return 0;
}

int ctl_json_uint(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		  uint64_t min, uint64_t max, uint64_t *out, bool *present)
{
	const cJSON *v = member(obj, field);

	if (present)
		*present = v != NULL;
	if (!v)
		return required ? ctl_json_fail(ctx, field, "missing") : 0;
	return number(ctx, field, v, min, max, out);
}

int ctl_json_uint_value(struct ctl_json_ctx *ctx, const cJSON *v, uint64_t min, uint64_t max,
			uint64_t *out)
{
	return number(ctx, NULL, v, min, max, out);
}

int ctl_json_time(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, int64_t *out,
		  bool *present)
{
	uint64_t v = 0;
	int ret = ctl_json_uint(ctx, obj, field, false, 0, max_int, &v, present);

	if (!ret)
		*out = (int64_t)v;
	return ret;
}

int ctl_json_key(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		 enum ctl_key_kind kind, uint8_t out[CTL_KEY_LEN], bool *present)
{
	const cJSON *v = member(obj, field);

	if (present)
		*present = v != NULL;
	if (!v)
		return required ? ctl_json_fail(ctx, field, "missing") : 0;
	if (!cJSON_IsString(v))
		return ctl_json_fail(ctx, field, "not a string");
	if (ctl_key_parse(out, kind, v->valuestring))
		return ctl_json_fail(ctx, field, "not a %s<64 hex digits> key",
				     ctl_key_prefix(kind));
	return 0;
}

int ctl_json_addr(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		  struct ip_addr *out, bool *present)
{
	const cJSON *v = member(obj, field);
	const char *why = NULL;

	if (present)
		*present = v != NULL;
	if (!v)
		return required ? ctl_json_fail(ctx, field, "missing") : 0;
	if (!cJSON_IsString(v))
		return ctl_json_fail(ctx, field, "not a string");
	if (ip_addr_parse(out, v->valuestring, &why))
		return ctl_json_fail(ctx, field, "bad address: %s", why);
	return 0;
}

int ctl_json_array(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		   size_t maxn, const cJSON **arr, size_t *n)
{
	const cJSON *v = member(obj, field), *e;
	size_t count = 0;

	*arr = NULL;
	*n = 0;
	if (!v)
		return required ? ctl_json_fail(ctx, field, "missing") : 0;
	if (!cJSON_IsArray(v))
		return ctl_json_fail(ctx, field, "not an array");
	cJSON_ArrayForEach(e, v)
	{
		if (++count > maxn)
			return ctl_json_fail(ctx, field, "more than %zu elements", maxn);
	}
	*arr = v;
	*n = count;
	return 0;
}

/* calloc that never returns NULL for zero elements, so "present but empty" stays visible. */
static void *alloc_array(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

int ctl_json_prefixes(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, bool required,
		      bool canonical, size_t maxn, struct ip_prefix **out, size_t *n)
{
	const cJSON *arr, *e;
	struct ip_prefix *v;
	const char *why = NULL;
	size_t count, i = 0;
	int ret;

	ret = ctl_json_array(ctx, obj, field, required, maxn, &arr, &count);
	if (ret || !arr)
		return ret;
	v = alloc_array(count, sizeof(*v));
	if (!v)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		if (!cJSON_IsString(e)) {
			ret = ctl_json_fail(ctx, field, "element %zu is not a string", i);
			goto err_free;
		}
		if (ip_prefix_parse(&v[i], e->valuestring, &why)) {
			ret = ctl_json_fail(ctx, field, "element %zu: bad prefix: %s", i, why);
			goto err_free;
		}
		if (canonical && !ip_prefix_is_canonical(&v[i])) {
			ret = ctl_json_fail(ctx, field, "element %zu: host bits set", i);
			goto err_free;
		}
		i++;
	}
	*out = v;
	*n = count;
	return 0;

err_free:
	free(v);
	return ret;
}

int ctl_json_endpoints(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, size_t maxn,
		       struct ip_endpoint **out, size_t *n)
{
	const cJSON *arr, *e;
	struct ip_endpoint *v;
	const char *why = NULL;
	size_t count, i = 0;
	int ret;

	ret = ctl_json_array(ctx, obj, field, false, maxn, &arr, &count);
	if (ret || !arr)
		return ret;
	v = alloc_array(count, sizeof(*v));
	if (!v)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		if (!cJSON_IsString(e) || ip_endpoint_parse(&v[i], e->valuestring, &why)) {
			ret = ctl_json_fail(ctx, field, "element %zu: bad endpoint%s%s", i,
					    why ? ": " : "", why ? why : "");
			free(v);
			return ret;
		}
		i++;
	}
	*out = v;
	*n = count;
	return 0;
}

int ctl_json_addrs(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, size_t maxn,
		   struct ip_addr **out, size_t *n)
{
	const cJSON *arr, *e;
	struct ip_addr *v;
	const char *why = NULL;
	size_t count, i = 0;
	int ret;

	ret = ctl_json_array(ctx, obj, field, false, maxn, &arr, &count);
	if (ret || !arr)
		return ret;
	v = alloc_array(count, sizeof(*v));
	if (!v)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		if (!cJSON_IsString(e) || ip_addr_parse(&v[i], e->valuestring, &why)) {
			ret = ctl_json_fail(ctx, field, "element %zu: bad address%s%s", i,
					    why ? ": " : "", why ? why : "");
			free(v);
			return ret;
		}
		i++;
	}
	*out = v;
	*n = count;
	return 0;
}

void ctl_json_free_strings(char **v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int ctl_json_strings(struct ctl_json_ctx *ctx, const cJSON *obj, const char *field, size_t maxn,
		     enum ctl_text_kind kind, size_t maxlen, char ***out, size_t *n)
{
	const cJSON *arr, *e;
	size_t count, i = 0;
	char **v;
	int ret;

	ret = ctl_json_array(ctx, obj, field, false, maxn, &arr, &count);
	if (ret || !arr)
		return ret;
	v = alloc_array(count, sizeof(*v));
	if (!v)
		return -ENOMEM;
	cJSON_ArrayForEach(e, arr)
	{
		if (!cJSON_IsString(e) || !text_ok(e->valuestring, kind, maxlen)) {
			ret = ctl_json_fail(ctx, field, "element %zu is not %s of 1 to %zu bytes",
					    i, text_rule[kind], maxlen);
			goto err_free;
		}
		v[i] = strdup(e->valuestring);
		if (!v[i]) {
			ret = -ENOMEM;
			goto err_free;
		}
		i++;
	}
	*out = v;
	*n = count;
	return 0;

err_free:
	ctl_json_free_strings(v, i);
	return ret;
}

bool ctl_text_valid(const char *s, enum ctl_text_kind kind, size_t maxlen)
{
	return s && text_ok(s, kind, maxlen);
}

static bool fine(int *err, cJSON *obj)
{
	if (!*err && !obj)
		*err = -ENOMEM;
	return !*err;
}

/*
 * Integers are printed by us, not by cJSON: its "%1.15g" with a relative
 * epsilon check rounds 16-digit values (2^53 - 1 came back as 2^53 - 2).
 */
static cJSON *raw_uint(uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	return cJSON_CreateRaw(num);
}

static void add(int *err, cJSON *obj, const char *field, cJSON *item)
{
	if (!item) {
		*err = -ENOMEM;
		return;
	}
	if (!cJSON_AddItemToObject(obj, field, item)) {
		cJSON_Delete(item);
		*err = -ENOMEM;
	}
}

void ctl_json_put_string(int *err, cJSON *obj, const char *field, const char *s,
			 enum ctl_text_kind kind, size_t maxlen)
{
	if (!fine(err, obj))
		return;
	if (!ctl_text_valid(s, kind, maxlen)) {
		*err = -EINVAL;
		return;
	}
	add(err, obj, field, cJSON_CreateString(s));
}

void ctl_json_put_bool(int *err, cJSON *obj, const char *field, bool b)
{
	if (fine(err, obj))
		add(err, obj, field, cJSON_CreateBool(b));
}

void ctl_json_put_uint(int *err, cJSON *obj, const char *field, uint64_t v)
{
	if (!fine(err, obj))
		return;
	if (v > max_int) {
		*err = -EINVAL;
		return;
	}
	add(err, obj, field, raw_uint(v));
}

void ctl_json_push_uint(int *err, cJSON *arr, uint64_t v)
{
	cJSON *item;

	if (!fine(err, arr))
		return;
	if (v > max_int) {
		*err = -EINVAL;
		return;
	}
	item = raw_uint(v);
	if (!item || !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		*err = -ENOMEM;
	}
}

void ctl_json_put_key(int *err, cJSON *obj, const char *field, enum ctl_key_kind kind,
		      const uint8_t key[CTL_KEY_LEN])
{
	char text[CTL_KEY_TEXT_LEN];
	size_t i;
	uint8_t acc = 0;

	if (!fine(err, obj))
		return;
	for (i = 0; i < CTL_KEY_LEN; i++)
		acc |= key[i];
	if (!acc) {
		*err = -EINVAL; /* the reader refuses the zero key */
		return;
	}
	ctl_key_format(text, kind, key);
	add(err, obj, field, cJSON_CreateString(text));
}

void ctl_json_put_addr(int *err, cJSON *obj, const char *field, const struct ip_addr *a)
{
	char text[IP_ADDR_STRLEN];

	if (!fine(err, obj))
		return;
	if (a->family != IP_FAMILY_V4 && a->family != IP_FAMILY_V6) {
		*err = -EINVAL;
		return;
	}
	add(err, obj, field, cJSON_CreateString(ip_addr_format(a, text, sizeof(text))));
}

cJSON *ctl_json_put_object(int *err, cJSON *obj, const char *field)
{
	cJSON *o;

	if (!fine(err, obj))
		return NULL;
	o = cJSON_CreateObject();
	add(err, obj, field, o);
	return *err ? NULL : o;
}

cJSON *ctl_json_put_array(int *err, cJSON *obj, const char *field, size_t n, size_t maxn)
{
	cJSON *a;

	if (!fine(err, obj))
		return NULL;
	if (n > maxn) {
		*err = -EINVAL;
		return NULL;
	}
	a = cJSON_CreateArray();
	add(err, obj, field, a);
	return *err ? NULL : a;
}

cJSON *ctl_json_push_object(int *err, cJSON *arr)
{
	cJSON *o;

	if (!fine(err, arr))
		return NULL;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		*err = -ENOMEM;
		return NULL;
	}
	return o;
}

static void push_string(int *err, cJSON *arr, const char *s)
{
	cJSON *item;

	if (*err)
		return;
	item = cJSON_CreateString(s);
	if (!item || !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		*err = -ENOMEM;
	}
}

void ctl_json_put_prefixes(int *err, cJSON *obj, const char *field, const struct ip_prefix *p,
			   size_t n, size_t maxn, bool canonical)
{
	cJSON *arr = ctl_json_put_array(err, obj, field, n, maxn);
	char text[IP_PREFIX_STRLEN];
	size_t i;

	for (i = 0; arr && !*err && i < n; i++) {
		if (p[i].bits > ip_addr_bits(&p[i].addr) || !ip_addr_bits(&p[i].addr) ||
		    (canonical && !ip_prefix_is_canonical(&p[i]))) {
			*err = -EINVAL;
			return;
		}
		push_string(err, arr, ip_prefix_format(&p[i], text, sizeof(text)));
	}
}

void ctl_json_put_endpoints(int *err, cJSON *obj, const char *field, const struct ip_endpoint *e,
			    size_t n, size_t maxn)
{
	cJSON *arr = ctl_json_put_array(err, obj, field, n, maxn);
	char text[IP_ENDPOINT_STRLEN];
	size_t i;

	for (i = 0; arr && !*err && i < n; i++) {
		if (!ip_addr_bits(&e[i].addr)) {
			*err = -EINVAL;
			return;
		}
		push_string(err, arr, ip_endpoint_format(&e[i], text, sizeof(text)));
	}
}

void ctl_json_put_addrs(int *err, cJSON *obj, const char *field, const struct ip_addr *a, size_t n,
			size_t maxn)
{
	cJSON *arr = ctl_json_put_array(err, obj, field, n, maxn);
	char text[IP_ADDR_STRLEN];
	size_t i;

	for (i = 0; arr && !*err && i < n; i++) {
		if (!ip_addr_bits(&a[i])) {
			*err = -EINVAL;
			return;
		}
		push_string(err, arr, ip_addr_format(&a[i], text, sizeof(text)));
	}
}

void ctl_json_put_strings(int *err, cJSON *obj, const char *field, char *const *v, size_t n,
			  size_t maxn, enum ctl_text_kind kind, size_t maxlen)
{
	cJSON *arr = ctl_json_put_array(err, obj, field, n, maxn);
	size_t i;

	for (i = 0; arr && !*err && i < n; i++) {
		if (!ctl_text_valid(v[i], kind, maxlen)) {
			*err = -EINVAL;
			return;
		}
		push_string(err, arr, v[i]);
	}
}

int ctl_json_finish(int err, cJSON *root, size_t max, char **out, size_t *len)
{
	char *s = NULL;

	*out = NULL;
	*len = 0;
	if (!err && !root)
		err = -ENOMEM;
	if (!err) {
		s = cJSON_PrintUnformatted(root);
		if (!s)
			err = -ENOMEM;
	}
	cJSON_Delete(root);
	if (err)
		return err;
	*len = strlen(s);
	if (*len > max) {
		free(s);
		*len = 0;
		return -EMSGSIZE;
	}
	*out = s;
	return 0;
}

void ctl_json_wipe_member(cJSON *obj, const char *field)
{
	cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, field);

	if (cJSON_IsString(m) && m->valuestring)
		sodium_memzero(m->valuestring, strlen(m->valuestring));
}

int ctl_json_finish_secret(int err, cJSON *root, size_t max, const char *secret, char **out,
			   size_t *len)
{
	/* cJSON's own advice: its size estimate may be off by up to 5 bytes. */
	size_t cap = max + 1 + 5;
	char *buf = NULL;

	*out = NULL;
	*len = 0;
	if (!err && !root)
		err = -ENOMEM;
	if (!err) {
		buf = malloc(cap);
		if (!buf)
			err = -ENOMEM;
		else if (!cJSON_PrintPreallocated(root, buf, (int)cap, 0))
			err = -EMSGSIZE;
	}
	if (root)
		ctl_json_wipe_member(root, secret);
	cJSON_Delete(root);
	if (!err && strlen(buf) > max)
		err = -EMSGSIZE;
	if (err) {
		if (buf) {
			sodium_memzero(buf, cap);
			free(buf);
		}
		return err;
	}
	*len = strlen(buf);
	*out = buf;
	return 0;
}
