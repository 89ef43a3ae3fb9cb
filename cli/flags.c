// SPDX-License-Identifier: MIT
/* meshctl's flag parser: exact names, typed values, clear one-line errors. */
#include "flags.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *dashes(const struct flag *f)
{
	return f->name[1] ? "--" : "-";
}

int flags_parse_duration(const char *s, long *ms)
{
	static const struct {
		const char *unit;
		double ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	double total = 0, v;
	char *end;

	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		size_t u;

		char num[32];
		size_t n = strspn(s, "0123456789.");

		if (!n || n >= sizeof(num))
			return -EINVAL;
		memcpy(num, s, n);
		num[n] = '\0';
		errno = 0;
		v = strtod(num, &end);
		if (*end || errno)
			return -EINVAL;
		s += n;
		/* "ms" is tried before "m". */
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			if (!strncmp(s, units[u].unit, strlen(units[u].unit)))
				break;
		}
		if (u == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		s += strlen(units[u].unit);
		total += v * units[u].ms;
		if (!isfinite(total) || total > (double)LONG_MAX / 2)
			return -EINVAL;
	}
	*ms = (long)(total + 0.5);
	return 0;
}

static int set_value(struct flag *f, const char *v, char *err, size_t errlen)
{
	char *end;
	long n;

	switch (f->type) {
	case FLAG_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "1"))
			*(bool *)f->value = true;
		else if (!strcmp(v, "false") || !strcmp(v, "0"))
			*(bool *)f->value = false;
		else
			return fail(err, errlen,
				    "invalid value \"%s\" for %s%s: want true or false", v,
				    dashes(f), f->name);
		return 0;
	case FLAG_STRING:
		*(const char **)f->value = v;
		return 0;
	case FLAG_INT:
		errno = 0;
		n = strtol(v, &end, 10);
		if (!*v || *end || errno || n < 0 || *v == '+' || *v == '-')
			return fail(err, errlen, "invalid value \"%s\" for %s%s: want a number", v,
				    dashes(f), f->name);
		*(long *)f->value = n;
		return 0;
	}
	return -EINVAL;
}

static struct flag *find(struct flag *flags, size_t nflags, const char *name, size_t len,
			 bool long_form)
{
	for (size_t i = 0; i < nflags; i++) {
		bool one = !flags[i].name[1];

		if (one == !long_form && strlen(flags[i].name) == len &&
		    !strncmp(flags[i].name, name, len))
			return &flags[i];
	}
	return NULL;
}

static bool is_bool_word(const char *s)
{
	return !strcmp(s, "true") || !strcmp(s, "false");
}

int flags_parse(struct flag *flags, size_t nflags, int argc, char **argv, char **args,
		size_t maxargs, size_t *nargs, char *err, size_t errlen)
{
	const struct flag *last_bool = NULL;
	bool only_args = false;
	int i;

	*nargs = 0;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		struct flag *f;
		bool long_form;
		size_t len;
		int ret;

		if (only_args || a[0] != '-' || !a[1]) {
			if (*nargs == maxargs) {
				if (last_bool && is_bool_word(a))
					return fail(err, errlen,
						    "unexpected argument \"%s\" (write %s%s=%s)", a,
						    dashes(last_bool), last_bool->name, a);
				return fail(err, errlen, "unexpected argument \"%s\"", a);
			}
			args[(*nargs)++] = argv[i];
			last_bool = NULL;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "-help"))
			return FLAGS_HELP;
		long_form = a[1] == '-';
		name = a + (long_form ? 2 : 1);
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		f = find(flags, nflags, name, len, long_form);
		if (!f) {
			/* "-hostname" for "--hostname", or "--c" for "-c". */
			struct flag *other = find(flags, nflags, name, len, !long_form);

			if (other)
				return fail(err, errlen, "unknown flag %s (did you mean %s%s?)", a,
					    dashes(other), other->name);
			return fail(err, errlen, "unknown flag %.*s", (int)(name - a + len), a);
		}
		last_bool = NULL;
		if (eq) {
			ret = set_value(f, eq + 1, err, errlen);
		} else if (f->type == FLAG_BOOL) {
			*(bool *)f->value = true;
			last_bool = f;
			ret = 0;
		} else if (i + 1 < argc) {
			ret = set_value(f, argv[++i], err, errlen);
		} else {
			ret = fail(err, errlen, "flag %s needs a value", a);
		}
		if (ret)
			return ret;
		f->seen = true;
	}
	return FLAGS_OK;
}
