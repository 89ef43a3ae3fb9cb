/* SPDX-License-Identifier: MIT */
/*
 * What meshctl's command files share: the command table entry, exit codes,
 * and helpers that talk to meshd and report errors the same way everywhere
 * (one "meshctl: ..." line on stderr).
 */
#ifndef MESH_CLI_MESHCTL_H
#define MESH_CLI_MESHCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "flags.h"

#define MESHCTL_DEFAULT_SOCKET "/run/meshd/meshd.sock"

/* Exit codes (design.md §7). */
enum cli_exit {
	CLI_OK = 0,
	CLI_FAIL = 1,
	CLI_USAGE = 2,
};

enum cli_timeouts {
	CLI_CALL_TIMEOUT_MS = 30000,	   /* a plain request/response */
	CLI_SLOW_TIMEOUT_MS = 120000,	   /* down, logout, netcheck: they wait for the network */
	CLI_STREAM_IDLE_MS = 60000,	   /* silence on a ping stream */
	CLI_WATCH_HEAD_TIMEOUT_MS = 10000, /* meshd answering the watch request */
	CLI_MAX_ARGS = 8,
};

struct meshctl {
	const char *socket; /* --socket, $MESHD_SOCKET, or MESHCTL_DEFAULT_SOCKET */
};

struct cli_command {
	const char *name;
	const char *usage; /* the whole usage text, ending in a newline */
	int (*run)(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv);
};

extern const struct cli_command cmd_up, cmd_set, cmd_down, cmd_logout;
extern const struct cli_command cmd_status, cmd_ip, cmd_whois;
extern const struct cli_command cmd_ping, cmd_netcheck;

/** Print "meshctl: MESSAGE" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print "meshctl CMD: MESSAGE" and @cmd's usage on stderr; returns CLI_USAGE. */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * Parse the flags of @cmd (plus --socket, which every command takes) and its
 * positional arguments into @args[0..*@nargs), at most @maxargs. Returns true
 * to go on; false when the command is done, with the exit code in *@rc: 0
 * after printing the usage on stdout for --help, CLI_USAGE after a usage
 * error.
 */
bool cli_parse(struct meshctl *ctl, const struct cli_command *cmd, struct flag *flags,
	       size_t nflags, int argc, char **argv, char **args, size_t maxargs, size_t *nargs,
	       int *rc);

/**
 * One request to meshd: @method @path with the JSON @body (NULL: none), and
 * its JSON answer parsed into *@resp (if @resp is not NULL; the caller frees
 * it). Returns 0 on a 2xx answer; otherwise prints the error (the daemon's
 * {"error"} text, with a hint for 403) and returns a negative errno, or
 * -ENOENT for a 404 when @quiet_404 (the caller explains it).
 */
int cli_call(const struct meshctl *ctl, const char *method, const char *path, const cJSON *body,
	     int timeout_ms, bool quiet_404, cJSON **resp);

/**
 * Like cli_call(), but hand back the answer as text: a NUL-terminated heap
 * string in *@text (the caller frees it; NULL: not wanted), its length in
 * *@textlen (if not NULL).
 */
int cli_call_text(const struct meshctl *ctl, const char *method, const char *path,
		  const cJSON *body, int timeout_ms, bool quiet_404, char **text, size_t *textlen);

/**
 * Print the error of a non-2xx answer with @status and body @body ("meshctl:
 * <error>", plus a hint to use sudo or --operator for 403).
 */
void cli_print_http_error(int status, const char *body);

/** The string member @key of @obj, or NULL when absent or not a string. */
const char *cli_json_str(const cJSON *obj, const char *key);

/** The boolean member @key of @obj, or @def when absent or not a boolean. */
bool cli_json_bool(const cJSON *obj, const char *key, bool def);

#endif
