/* SPDX-License-Identifier: MIT */
/*
 * `meshcontrol policy check FILE [--nodes INVENTORY.json] [--json]`: validate a
 * policy file and run its "tests" block offline. meshcontrol's CLI calls
 * policy_check_cli() for the offline form and policy_check_run() with its live
 * nodes for the --config form; mesh_policy_check is the same code as a
 * stand-alone program.
 */
#ifndef MESH_SERVER_POLICY_CHECK_H
#define MESH_SERVER_POLICY_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "server/policy/policy.h"

/**
 * Check the policy file @path against @n nodes: print the verdict to @out (with
 * @json, exactly {"valid", "error", "assertions", "failed"}; see docs/policy.md)
 * and problems to @errs. Returns the exit code: 0 when the policy is valid and
 * every assertion held, else 1.
 */
int policy_check_run(const char *path, const struct policy_node *nodes, size_t n, bool json,
		     FILE *out, FILE *errs);

/**
 * The command line: @argv[0] is the command's own name and is ignored; then FILE,
 * --nodes INVENTORY (or --nodes=INVENTORY) and --json in any order. Prints to
 * stdout and stderr. Returns the exit code: 0 ok, 1 invalid policy, failed test
 * or unreadable file, 2 usage. From meshcontrol's front end: policy_check_cli(argc
 * - 2, argv + 2) for `meshcontrol policy check ...`.
 */
int policy_check_cli(int argc, char **argv);

#endif
