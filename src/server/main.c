// SPDX-License-Identifier: MIT
/*
 * meshcontrol: the coordination server and its admin CLI. This file only
 * finds the config and dispatches: serve.c runs the server, cli.c the admin
 * commands. Exit codes: 0 ok, 1 failure, 2 usage, 78 configuration.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh/version.h"
#include "server/cli.h"
#include "server/config.h"
#include "server/policy/check.h"
#include "server/serve.h"
#include "util/hujson.h"

static const char default_config[] = "/etc/meshcontrol/config.json";

static void usage(FILE *f)
{
	fprintf(f, "usage: meshcontrol serve --config FILE\n"
		   "       meshcontrol configtest --config FILE\n"
		   "       meshcontrol policy check FILE [--nodes INVENTORY.json] [--json]\n"
		   "       meshcontrol --version\n");
	cli_usage(f);
	fprintf(f, "\nWithout --config, $MESHCONTROL_CONFIG or %s is used.\n", default_config);
}

/*
 * Take "--config FILE", "--config=FILE" and "-c FILE" out of argv wherever they
 * are, so `meshcontrol serve --config F` and `meshcontrol --config F nodes list`
 * both work. Returns the new argc, or -1 when the option has no value.
 */
static int take_config(int argc, char **argv, const char **config)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) {
			if (i + 1 >= argc)
				return -1;
			*config = argv[++i];
			continue;
		}
		if (!strncmp(argv[i], "--config=", 9)) {
			*config = argv[i] + 9;
			continue;
		}
		argv[out++] = argv[i];
	}
	argv[out] = NULL;
	return out;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int load(struct config *cfg, const char *path)
{
	return config_load(cfg, path, stderr) ? CONFIG_EXIT_CODE : 0;
}

static int configtest(const char *path)
{
	struct hujson_error err;
	struct hujson_doc *doc;
	struct config cfg;
	int ret;

	if (load(&cfg, path))
		return CONFIG_EXIT_CODE;
	if (cfg.policy_file) {
		ret = hujson_parse_file(&doc, cfg.policy_file, 0, &err);
		hujson_free(doc);
		if (ret && err.line)
			fprintf(stderr, "%s:%u:%u: %s\n", cfg.policy_file, err.line, err.col,
				err.msg);
		else if (ret)
			fprintf(stderr, "%s: %s\n", cfg.policy_file, err.msg);
		if (ret) {
			config_free(&cfg);
			return CONFIG_EXIT_CODE;
		}
	}
	printf("%s: ok\n", path);
	config_free(&cfg);
	return 0;
}

int main(int argc, char **argv)
{
	const char *config = getenv("MESHCONTROL_CONFIG");
	const char *cmd;
	struct config cfg;
	int ret;

	if (!config || !*config)
		config = default_config;
	argc = take_config(argc, argv, &config);
	if (argc < 0) {
		fprintf(stderr, "meshcontrol: --config needs a file\n");
		return CLI_EXIT_USAGE;
	}
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		printf("meshcontrol %s\n", MESH_VERSION);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "meshcontrol: libsodium failed to initialise\n");
		return 1;
	}
	if (!strcmp(cmd, "serve") || !strcmp(cmd, "configtest")) {
		if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
			usage(stdout);
			return 0;
		}
		if (argc > 2) {
			fprintf(stderr, "meshcontrol: unexpected argument '%s'\n", argv[2]);
			return CLI_EXIT_USAGE;
		}
		if (!strcmp(cmd, "configtest"))
			return configtest(config);
		if (load(&cfg, config))
			return CONFIG_EXIT_CODE;
		ret = serve_run(&cfg);
		config_free(&cfg);
		return ret;
	}
	/* Offline: validate a policy file and run its tests (docs/policy.md). */
	if (!strcmp(cmd, "policy") && argc > 2 && !strcmp(argv[2], "check"))
		return policy_check_cli(argc - 2, argv + 2);
	if (!cli_is_group(cmd)) {
		fprintf(stderr, "meshcontrol: unknown command '%s'\n", cmd);
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	/* "meshcontrol nodes list --help" works without a config file. */
	if (argc < 3 || wants_help(argc, argv))
		return cli_run(NULL, argc - 1, argv + 1);
	if (load(&cfg, config))
		return CONFIG_EXIT_CODE;
	ret = cli_run(&cfg, argc - 1, argv + 1);
	config_free(&cfg);
	return ret;
}
