// SPDX-License-Identifier: MIT
/*
 * The `policy check` command: parse, validate, run the tests, report. Human
 * output names every failed assertion with the test's line and column; --json
 * prints one object and nothing else on stdout, for CI jobs that gate policy
 * changes before they ship.
 */
#include "server/policy/check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/policy/inventory.h"
#include "server/policy/tests.h"

enum check_exit {
	CHECK_OK = 0,
	CHECK_FAILED = 1,
	CHECK_USAGE = 2,
};

static const char usage_text[] =
	"usage: meshcontrol policy check FILE [--nodes INVENTORY.json] [--json]\n";

/* "FILE:LINE:COL: msg", or "FILE: msg" when the position is unknown. */
static void format_error(char *buf, size_t len, const char *path, const struct policy_error *e)
{
	if (e->line)
		snprintf(buf, len, "%s:%u:%u: %s", path, e->line, e->col, e->msg);
	else
		snprintf(buf, len, "%s: %s", path, e->msg);
}

static int print_json(FILE *out, const char *error, const struct policy_test_report *r)
{
	cJSON *o = cJSON_CreateObject(), *failed;
	char *text = NULL;

	if (!o)
		return -ENOMEM;
	if (!cJSON_AddBoolToObject(o, "valid", error == NULL))
		goto err_delete;
	if (!(error ? cJSON_AddStringToObject(o, "error", error)
		    : cJSON_AddNullToObject(o, "error")))
		goto err_delete;
	if (!cJSON_AddNumberToObject(o, "assertions", r ? (double)r->assertions : 0))
		goto err_delete;
	failed = cJSON_AddArrayToObject(o, "failed");
	if (!failed)
		goto err_delete;
	for (size_t i = 0; r && i < r->n_failed; i++) {
		const struct policy_test_failure *f = &r->failed[i];
		cJSON *e = cJSON_CreateObject();

		if (!e)
			goto err_delete;
		if (!cJSON_AddItemToArray(failed, e)) {
			cJSON_Delete(e);
			goto err_delete;
		}
		if (!cJSON_AddStringToObject(e, "src", f->src) ||
		    !cJSON_AddStringToObject(e, "dst", f->dst) ||
		    !cJSON_AddStringToObject(e, "proto", f->proto) ||
		    !cJSON_AddStringToObject(e, "expected", f->expected_accept ? "accept" : "deny"))
			goto err_delete;
	}
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		return -ENOMEM;
	fprintf(out, "%s\n", text);
	free(text);
	return 0;

err_delete:
	cJSON_Delete(o);
	return -ENOMEM;
}

/* Report an error that ends the check: exit 1 either way. */
static int report_error(const char *msg, bool json, FILE *out, FILE *errs)
{
	if (json) {
		if (print_json(out, msg, NULL))
			fprintf(errs, "policy check: out of memory\n");
	} else {
		fprintf(errs, "%s\n", msg);
	}
	return CHECK_FAILED;
}

int policy_check_run(const char *path, const struct policy_node *nodes, size_t n, bool json,
		     FILE *out, FILE *errs)
{
	struct policy_test_report report = {0};
	struct policy_error err = {0};
	struct policy *p = NULL;
	char msg[POLICY_ERROR_MAX + 256];
	int ret, code = CHECK_OK;

	ret = policy_parse_file(&p, path, &err);
	if (ret) {
		format_error(msg, sizeof(msg), path, &err);
		return report_error(msg, json, out, errs);
	}
	ret = policy_tests_run(p, nodes, n, &report);
	if (ret) {
		snprintf(msg, sizeof(msg), "%s: cannot run the tests: %s", path,
			 ret == -ENOSPC ? "no free tailnet address left for a stand-in device"
					: strerror(-ret));
		code = report_error(msg, json, out, errs);
		goto out_free;
	}
	if (report.n_failed)
		code = CHECK_FAILED;
	if (json) {
		if (print_json(out, NULL, &report)) {
			fprintf(errs, "policy check: out of memory\n");
			code = CHECK_FAILED;
		}
		goto out_free;
	}
	for (size_t i = 0; i < report.n_failed; i++) {
		const struct policy_test_failure *f = &report.failed[i];

		fprintf(out, "%s:%u:%u: test failed: %s -> %s (%s): expected %s, but %s\n", path,
			f->line, f->col, f->src, f->dst, f->proto,
			f->expected_accept ? "accept" : "deny", f->detail);
	}
	if (report.n_failed)
		fprintf(out, "%s: policy is valid; %zu of %zu assertions failed\n", path,
			report.n_failed, report.assertions);
	else
		fprintf(out, "%s: policy is valid; %zu assertions passed\n", path,
			report.assertions);
out_free:
	policy_test_report_free(&report);
	policy_free(p);
	return code;
}

int policy_check_cli(int argc, char **argv)
{
	struct policy_inventory *inv = NULL;
	const char *path = NULL, *nodes_path = NULL;
	struct policy_error err = {0};
	char msg[POLICY_ERROR_MAX + 256];
	bool json = false;
	int code;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--nodes") && i + 1 < argc) {
			nodes_path = argv[++i];
		} else if (!strcmp(a, "--nodes") || !strcmp(a, "--nodes=")) {
			fprintf(stderr, "policy check: --nodes needs an inventory file\n%s",
				usage_text);
			return CHECK_USAGE;
		} else if (!strncmp(a, "--nodes=", 8)) {
			nodes_path = a + 8;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return CHECK_OK;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "policy check: unknown option '%s'\n%s", a, usage_text);
			return CHECK_USAGE;
		} else if (!path) {
			path = a;
		} else {
			fprintf(stderr, "policy check: one policy file at a time\n%s", usage_text);
			return CHECK_USAGE;
		}
	}
	if (!path) {
		fputs(usage_text, stderr);
		return CHECK_USAGE;
	}
	if (nodes_path && policy_inventory_load(&inv, nodes_path, &err)) {
		format_error(msg, sizeof(msg), nodes_path, &err);
		return report_error(msg, json, stdout, stderr);
	}
	code = policy_check_run(path, inv ? inv->nodes : NULL, inv ? inv->n : 0, json, stdout,
				stderr);
	policy_inventory_free(inv);
	return code;
}
