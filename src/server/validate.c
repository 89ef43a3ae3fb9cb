// SPDX-License-Identifier: MIT
/*
 * Validators for names, URLs, tags and durations. They never allocate and
 * never read past the terminating NUL; reasons are static strings.
 */
#include "server/validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"
#include "util/ipaddr.h"

static int check_ip(const char *s, const char **why)
{
	struct ip_addr a;

	return ip_addr_parse(&a, s, why);
}

int validate_dns_name(const char *name, const char **why)
{
	size_t label = 0, total = strlen(name);
	const char *p;

	if (!total) {
		*why = "empty name";
		return -EINVAL;
	}
	if (total > 253) {
		*why = "longer than 253 characters";
		return -EINVAL;
	}
	for (p = name;; p++) {
		char ch = *p;

		if (ch == '.' || ch == '\0') {
			if (!label) {
				*why = ch ? "empty label" : "trailing dot or empty label";
				return -EINVAL;
			}
			if (p[-1] == '-') {
				*why = "a label ends with '-'";
				return -EINVAL;
			}
			if (!ch)
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-')) {
			*why = "only letters, digits, '-' and '.' are allowed";
			return -EINVAL;
		}
		if (!label && ch == '-') {
			*why = "a label starts with '-'";
			return -EINVAL;
		}
		if (++label > 63) {
			*why = "a label is longer than 63 characters";
			return -EINVAL;
		}
	}
}

int validate_url(const char *url, const char **why)
{
	const char *host, *end, *port = NULL;
	char hostbuf[256];
	size_t n;

	if (!strncmp(url, "https://", 8)) {
		host = url + 8;
	} else if (!strncmp(url, "http://", 7)) {
		host = url + 7;
	} else {
		*why = "the scheme must be http:// or https://";
		return -EINVAL;
	}
	end = host + strcspn(host, "/?#");
	if (*end && strcmp(end, "/")) {
		*why = "a path, query or fragment is not supported";
		return -EINVAL;
	}
	if (memchr(host, '@', (size_t)(end - host))) {
		*why = "user information is not allowed";
		return -EINVAL;
	}
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (!close) {
			*why = "missing ']' after an IPv6 address";
			return -EINVAL;
		}
		n = (size_t)(close - host - 1);
		if (n >= sizeof(hostbuf)) {
			*why = "host too long";
			return -EINVAL;
		}
		memcpy(hostbuf, host + 1, n);
		hostbuf[n] = '\0';
		if (close + 1 < end && close[1] != ':') {
			*why = "unexpected text after ']'";
			return -EINVAL;
		}
		port = close + 1 < end ? close + 2 : NULL;
		if (check_ip(hostbuf, why) || !strchr(hostbuf, ':')) {
			*why = "invalid IPv6 address";
			return -EINVAL;
		}
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));
		const char *hend = colon ? colon : end, *last;

		n = (size_t)(hend - host);
		if (n >= sizeof(hostbuf)) {
			*why = "host too long";
			return -EINVAL;
		}
		memcpy(hostbuf, host, n);
		hostbuf[n] = '\0';
		port = colon ? colon + 1 : NULL;
		if (!n) {
			*why = "missing host";
			return -EINVAL;
		}
		if (validate_dns_name(hostbuf, why))
			return -EINVAL;
		/* All-numeric last label: it must be an IPv4 address ("999.1.1.1" is not). */
		last = strrchr(hostbuf, '.');
		last = last ? last + 1 : hostbuf;
		if (strspn(last, "0123456789") == strlen(last) && check_ip(hostbuf, why)) {
			*why = "invalid IPv4 address";
			return -EINVAL;
		}
	}
	if (port) {
		size_t digits = strspn(port, "0123456789");
		long v;

		if (!digits || port + digits != end || digits > 5 || *port == '0') {
			*why = "invalid port";
			return -EINVAL;
		}
		v = strtol(port, NULL, 10);
		if (v < 1 || v > 65535) {
			*why = "port out of range";
			return -EINVAL;
		}
	}
	return 0;
}

int validate_tag(const char *tag, const char **why)
{
	const char *name = tag + 4;

	if (strncmp(tag, "tag:", 4)) {
		*why = "tags start with \"tag:\"";
		return -EINVAL;
	}
	if (!((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z'))) {
		*why = "a tag name starts with a letter";
		return -EINVAL;
	}
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") !=
	    strlen(name)) {
		*why = "a tag name has only letters, digits and '-'";
		return -EINVAL;
	}
	if (strlen(tag) > VALIDATE_TAG_MAX) {
		*why = "longer than 64 characters";
		return -EINVAL;
	}
	return 0;
}

int validate_duration(const char *s, int64_t *seconds, const char **why)
{
	static const int64_t limit = 100LL * 365 * 86400;
	int64_t total = 0;

	*seconds = 0;
	if (!s || !*s) {
		*why = "empty";
		return -EINVAL;
	}
	if (!strcmp(s, "0"))
		return 0;
	while (*s) {
		int64_t v = 0, unit;

		if (*s < '0' || *s > '9') {
			*why = *s == '-' ? "negative" : "expected a number";
			return -EINVAL;
		}
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (*s++ - '0');
			if (v > limit) {
				*why = "too long (more than 100 years)";
				return -EINVAL;
			}
		}
		switch (*s) {
		case 'd':
			unit = 86400;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'm':
			unit = 60;
			break;
		case 's':
			unit = 1;
			break;
		case '\0':
			*why = "missing unit (d, h, m or s)";
			return -EINVAL;
		case '.':
			*why = "use whole numbers, e.g. 1h30m";
			return -EINVAL;
		default:
			*why = "unknown unit (use d, h, m or s)";
			return -EINVAL;
		}
		/* "180days": the unit is the whole run of letters, not its first one. */
		if ((s[1] >= 'a' && s[1] <= 'z') || (s[1] >= 'A' && s[1] <= 'Z')) {
			*why = "unknown unit (use d, h, m or s)";
			return -EINVAL;
		}
		s++;
		total += v * unit;
		if (total > limit) {
			*why = "too long (more than 100 years)";
			return -EINVAL;
		}
	}
	*seconds = total;
	return 0;
}

void validate_format_duration(int64_t seconds, char *buf, size_t len)
{
	static const struct {
		int64_t secs;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	size_t o = 0;

	if (!len)
		return;
	buf[0] = '\0';
	if (seconds <= 0) {
		snprintf(buf, len, "0");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units) && o < len; i++) {
		if (seconds < units[i].secs)
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%lld%c",
				      (long long)(seconds / units[i].secs), units[i].unit);
		seconds %= units[i].secs;
	}
}
