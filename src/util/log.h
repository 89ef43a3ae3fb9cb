/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event on stderr, "level component: message key=value".
 * journald adds the time, so we do not. Debug lines appear only after
 * log_set_level(LOG_DEBUG) (meshd --verbose).
 */
#ifndef MESH_UTIL_LOG_H
#define MESH_UTIL_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/** Set the most verbose level that is printed (default LOG_INFO). */
void log_set_level(enum log_level level);

/** True when a message at @level would be printed (to skip costly formatting). */
int log_enabled(enum log_level level);

/** Print one line: "<level> <component>: <formatted message>\n". */
void log_msg(enum log_level level, const char *component, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(comp, ...) log_msg(LOG_ERROR, comp, __VA_ARGS__)
#define log_warn(comp, ...)  log_msg(LOG_WARN, comp, __VA_ARGS__)
#define log_info(comp, ...)  log_msg(LOG_INFO, comp, __VA_ARGS__)
#define log_debug(comp, ...)                                   \
	do {                                                   \
		if (log_enabled(LOG_DEBUG))                    \
			log_msg(LOG_DEBUG, comp, __VA_ARGS__); \
	} while (0)

#endif
