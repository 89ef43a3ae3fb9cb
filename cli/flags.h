/* SPDX-License-Identifier: MIT */
/*
 * meshctl's flag parser. Long flags are written --name, one-letter flags -x.
 * Values: "--name VALUE" or "--name=VALUE"; booleans are "--name" (true) or
 * "--name=true|false" only, so that a positional argument is never taken for
 * a boolean's value. Names must match exactly (no abbreviations), flags and
 * positional arguments may be mixed, "--" ends the flags, and -h/--help asks
 * for the usage anywhere.
 */
#ifndef MESH_CLI_FLAGS_H
#define MESH_CLI_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

enum flag_type {
	FLAG_BOOL,   /* value: bool * */
	FLAG_STRING, /* value: const char ** (points into argv) */
	FLAG_INT,    /* value: long * (decimal, no sign) */
};

enum flags_result {
	FLAGS_OK = 0,
	FLAGS_HELP = 1, /* -h or --help was given */
};

struct flag {
	const char *name; /* without dashes */
	enum flag_type type;
	void *value;
	bool seen; /* set by flags_parse() when the flag was given */
};

/**
 * Parse @argc arguments at @argv against @flags[0..@nflags). Positional
 * arguments are stored, in order, in @args (room for @maxargs) and counted
 * in *@nargs. Returns FLAGS_OK, FLAGS_HELP, or -EINVAL with a one-line
 * message in @err (unknown flag, missing or bad value, too many arguments).
 */
int flags_parse(struct flag *flags, size_t nflags, int argc, char **argv, char **args,
		size_t maxargs, size_t *nargs, char *err, size_t errlen);

/**
 * Parse a duration ("0", "1.5s", "1m30s", "500ms", "2h"; units ms, s, m, h;
 * no sign) into milliseconds. Returns 0 or -EINVAL.
 */
int flags_parse_duration(const char *s, long *ms);

#endif
