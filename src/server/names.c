// SPDX-License-Identifier: MIT
/*
 * Name sanitizing and uniqueness. Only ASCII survives sanitizing: a DNS label
 * has no room for anything else, and a predictable name beats a clever one.
 */
#include "server/names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

void names_sanitize(char *out, const char *hostname)
{
	size_t o = 0;

	for (const char *p = hostname; *p && *p != '.' && o < NAMES_LABEL_MAX; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '\'' || c == '"')
			continue; /* "Bob's" → "bobs", not "bob-s" */
		if (!is_alnum(c))
			c = '-';
		if (c == '-' && (o == 0 || out[o - 1] == '-'))
			continue;
		out[o++] = c;
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	out[o] = '\0';
	if (!o)
		strcpy(out, "node");
}

int names_validate_node(const char *name, const char **why)
{
	size_t n = strlen(name);

	if (!n || n > NAMES_LABEL_MAX) {
		*why = "a name has 1 to 63 characters";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(name[i]) && name[i] != '-') {
			*why = "a name has only lowercase letters, digits and '-'";
			return -EINVAL;
		}
	}
	if (name[0] == '-' || name[n - 1] == '-') {
		*why = "a name cannot start or end with '-'";
		return -EINVAL;
	}
	return 0;
}

int names_validate_user(const char *name, const char **why)
{
	size_t n = strlen(name);

	if (!n || n > NAMES_USER_MAX) {
		*why = "a user name has 1 to 63 characters";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!is_alnum(c) && !(c >= 'A' && c <= 'Z') && !strchr(".-_@", c)) {
			*why = "a user name has only letters, digits, '.', '-', '_' and '@'";
			return -EINVAL;
		}
	}
	if (!is_alnum(name[0]) && !(name[0] >= 'A' && name[0] <= 'Z')) {
		*why = "a user name starts with a letter or a digit";
		return -EINVAL;
	}
	return 0;
}

int names_make_unique(char *out, const char *base, int (*taken)(void *arg, const char *name),
		      void *arg)
{
	int ret;

	snprintf(out, NAMES_LABEL_MAX + 1, "%s", base);
	ret = taken(arg, out);
	if (ret <= 0)
		return ret;
	for (int i = 1; i <= NAMES_MAX_SUFFIX; i++) {
		char suffix[8];
		int keep;

		keep = NAMES_LABEL_MAX - snprintf(suffix, sizeof(suffix), "-%d", i);
		snprintf(out, NAMES_LABEL_MAX + 1, "%.*s", keep, base);
		/* A shortened base must not end in '-' ("a-" + "-1" is not a label). */
		while (*out && out[strlen(out) - 1] == '-')
			out[strlen(out) - 1] = '\0';
		strcat(out, suffix);
		ret = taken(arg, out);
		if (ret <= 0)
			return ret;
	}
	return -ENOSPC;
}

int names_fqdn(char *out, size_t len, const char *name, const char *base_domain)
{
	int n = snprintf(out, len, "%s.%s", name, base_domain);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
