/* SPDX-License-Identifier: MIT */
/*
 * meshcontrol's admin commands (users, authkeys, nodes, routes, policy): parse
 * the command line, send one request over the admin socket, print a table for
 * people or, with --json, JSON for scripts (nothing else on stdout).
 */
#ifndef MESH_SERVER_CLI_H
#define MESH_SERVER_CLI_H

#include <stdio.h>

#include "server/config.h"

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,
	CLI_EXIT_USAGE = 2,
};

/** True if @group is one of the admin command groups. */
int cli_is_group(const char *group);

/**
 * Run the admin command in @argv (@argv[0] is the group: "users", "nodes", ...)
 * against the server configured in @cfg (which may be NULL when the command only
 * asks for --help). Returns the exit code: 0, 1 (the server refused or is
 * unreachable) or 2 (usage).
 */
int cli_run(const struct config *cfg, int argc, char **argv);

/** Print the admin commands' synopsis to @f. */
void cli_usage(FILE *f);

#endif
