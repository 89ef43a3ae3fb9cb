// SPDX-License-Identifier: MIT
/*
 * Domain names in wire form: text conversion with RFC 1035 §5.1 escapes,
 * case-insensitive comparison and label arithmetic. Every function keeps
 * the invariant of struct dns_name: len counts the root byte, 1 <= len <=
 * 255, labels are 1..63 bytes, and wire[len - 1] is the root's zero.
 */
#include "dns/dnsname.h"

#include <errno.h>
#include <string.h>

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static void set_root(struct dns_name *n)
{
	n->len = 1;
	n->labels = 0;
	n->wire[0] = 0;
}

/* Parse one escape after a backslash at *p; advances *p past it. */
static int unescape(const char **p, uint8_t *out)
{
	const char *s = *p;

	if (s[0] >= '0' && s[0] <= '9') {
		unsigned int v;

		if (!(s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'))
			return -EINVAL;
		v = (unsigned int)(s[0] - '0') * 100 + (unsigned int)(s[1] - '0') * 10 +
		    (unsigned int)(s[2] - '0');
		if (v > 255)
			return -EINVAL;
		*out = (uint8_t)v;
		*p = s + 3;
		return 0;
	}
	if (s[0] == '\0')
		return -EINVAL;
	*out = (uint8_t)s[0];
	*p = s + 1;
	return 0;
}

int dns_name_from_text(struct dns_name *out, const char *text)
{
	const char *p = text;
	size_t pos = 0, lenpos = 0, label = 0;

	set_root(out);
	if (!text)
		return -EINVAL;
	if (!strcmp(text, "") || !strcmp(text, "."))
		return 0;
	out->wire[0] = 0; /* length byte of the first label, filled in below */
	pos = 1;
	for (;;) {
		uint8_t c;

		if (*p == '\0' || *p == '.') {
			if (label == 0)
				goto invalid; /* "..", ".a", or "a.." */
			out->wire[lenpos] = (uint8_t)label;
			out->labels++;
			if (*p == '\0' || p[1] == '\0')
				break; /* end, with or without the trailing dot */
			p++;
			if (pos + 1 >= DNS_NAME_MAX)
				goto invalid;
			lenpos = pos++;
			label = 0;
			continue;
		}
		if (*p == '\\') {
			p++;
			if (unescape(&p, &c) < 0)
				goto invalid;
		} else {
			c = (uint8_t)*p++;
		}
		/* Room for this byte and the root byte after it. */
		if (label == DNS_LABEL_MAX || pos + 1 >= DNS_NAME_MAX)
			goto invalid;
		out->wire[pos++] = c;
		label++;
	}
	out->wire[pos++] = 0;
	out->len = (uint8_t)pos;
	return 0;
invalid:
	set_root(out);
	return -EINVAL;
}

int dns_name_to_text(const struct dns_name *n, char *buf, size_t cap)
{
	size_t o = 0, i = 0;

	if (cap == 0)
		return -ENOSPC;
	if (n->labels == 0) {
		if (cap < 2)
			return -ENOSPC;
		memcpy(buf, ".", 2);
		return 1;
	}
	while (i < n->len && n->wire[i]) {
		size_t l = n->wire[i++];

		if (o > 0) {
			if (o + 1 >= cap)
				goto nospace;
			buf[o++] = '.';
		}
		for (size_t k = 0; k < l; k++, i++) {
			uint8_t c = n->wire[i];

			if (c == '.' || c == '\\') {
				if (o + 2 >= cap)
					goto nospace;
				buf[o++] = '\\';
				buf[o++] = (char)c;
			} else if (c < 0x21 || c > 0x7e) {
				if (o + 4 >= cap)
					goto nospace;
				buf[o++] = '\\';
				buf[o++] = (char)('0' + c / 100);
				buf[o++] = (char)('0' + c / 10 % 10);
				buf[o++] = (char)('0' + c % 10);
			} else {
				if (o + 1 >= cap)
					goto nospace;
				buf[o++] = (char)c;
			}
		}
	}
	buf[o] = '\0';
	return (int)o;
nospace:
	buf[0] = '\0';
	return -ENOSPC;
}

bool dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
	if (a->len != b->len || a->labels != b->labels)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		if (lower(a->wire[i]) != lower(b->wire[i]))
			return false;
	}
	return true;
}

int dns_name_compare(const struct dns_name *a, const struct dns_name *b)
{
	size_t n = a->len < b->len ? a->len : b->len;

	for (size_t i = 0; i < n; i++) {
		uint8_t x = lower(a->wire[i]), y = lower(b->wire[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return (int)a->len - (int)b->len;
}

int dns_name_label_offset(const struct dns_name *n, unsigned int idx)
{
	size_t off = 0;

	if (idx > n->labels)
		return -EINVAL;
	while (idx--)
		off += 1 + (size_t)n->wire[off];
	return (int)off;
}

bool dns_name_is_under(const struct dns_name *name, const struct dns_name *zone)
{
	int off;

	if (zone->labels > name->labels)
		return false;
	off = dns_name_label_offset(name, name->labels - zone->labels);
	if (off < 0 || (size_t)name->len - (size_t)off != zone->len)
		return false;
	for (size_t i = 0; i < zone->len; i++) {
		if (lower(name->wire[(size_t)off + i]) != lower(zone->wire[i]))
			return false;
	}
	return true;
}

void dns_name_lower(struct dns_name *n)
{
	for (size_t i = 0; i < n->len; i++)
		n->wire[i] = lower(n->wire[i]);
}

int dns_name_strip(struct dns_name *n, unsigned int idx)
{
	int off = dns_name_label_offset(n, idx);

	if (off < 0)
		return off;
	memmove(n->wire, n->wire + off, n->len - (size_t)off);
	n->len = (uint8_t)(n->len - off);
	n->labels = (uint8_t)(n->labels - idx);
	return 0;
}

int dns_name_append(struct dns_name *n, const struct dns_name *suffix)
{
	size_t total = (size_t)n->len - 1 + suffix->len;

	if (total > DNS_NAME_MAX)
		return -EINVAL;
	memcpy(n->wire + n->len - 1, suffix->wire, suffix->len);
	n->len = (uint8_t)total;
	n->labels = (uint8_t)(n->labels + suffix->labels);
	return 0;
}
