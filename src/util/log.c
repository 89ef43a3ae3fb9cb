// SPDX-License-Identifier: MIT
/*
 * The whole line is formatted into one buffer and written with a single
 * write(2), so lines from concurrent processes sharing a log never interleave.
 */
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum log_level max_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_set_level(enum log_level level)
{
	max_level = level;
}

int log_enabled(enum log_level level)
{
	return level <= max_level;
}

void log_msg(enum log_level level, const char *component, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n, m;

	if (!log_enabled(level))
		return;
	n = snprintf(line, sizeof(line), "%s %s: ", level_names[level], component);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	n += m;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2; /* truncated: keep the newline */
	line[n++] = '\n';
	/* Best effort: there is nowhere to report a failed log write. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}
