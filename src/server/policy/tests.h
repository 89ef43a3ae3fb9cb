/* SPDX-License-Identifier: MIT */
/*
 * The policy's "tests" block: each case names a source (a user, a tag, a host
 * or an IP), an optional protocol (TCP when absent) and destinations
 * ("ALIAS:PORT") it must be able to reach ("accept") or not ("deny"). Cases are
 * run with policy_allows() against a node inventory; an identity with no node
 * in it gets a stand-in device, so tests mean the same offline as against a
 * live tailnet (docs/policy.md, "The tests block").
 */
#ifndef MESH_SERVER_POLICY_TESTS_H
#define MESH_SERVER_POLICY_TESTS_H

#include <stdbool.h>
#include <stddef.h>

#include "server/policy/policy.h"

enum policy_tests_limits {
	POLICY_TEST_DETAIL_MAX = 160,
};

/* One accept or deny entry that did not hold. Strings point into the policy. */
struct policy_test_failure {
	const char *src;
	const char *dst;   /* "ALIAS:PORT" as written */
	const char *proto; /* as written, "tcp" when absent */
	bool expected_accept;
	unsigned int line; /* of the test case */
	unsigned int col;
	char detail
		[POLICY_TEST_DETAIL_MAX]; /* which addresses: "100.64.0.1 -> 100.64.0.2 allowed" */
};

struct policy_test_report {
	size_t assertions; /* every accept and deny entry */
	struct policy_test_failure *failed;
	size_t n_failed;
};

/**
 * Run every case of @p's "tests" against the @n nodes of @nodes into @out (free
 * it with policy_test_report_free()). Returns 0 (failures are in @out), -ENOSPC
 * if no free address was left for a stand-in device, or -ENOMEM.
 */
int policy_tests_run(const struct policy *p, const struct policy_node *nodes, size_t n,
		     struct policy_test_report *out);

/** Free what policy_tests_run() allocated and zero @r. */
void policy_test_report_free(struct policy_test_report *r);

#endif
