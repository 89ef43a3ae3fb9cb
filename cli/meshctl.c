// SPDX-License-Identifier: MIT
/*
 * meshctl: the command-line client of meshd. This file holds the global
 * flags, the command table and the helpers every command uses to talk to
 * meshd's local API; the commands live in cmd_*.c.
 */
#include "meshctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "localapi_client.h"
#include "mesh/version.h"

static int run_version(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv);

static const struct cli_command cmd_version = {
	.name = "version",
	.usage = "usage: meshctl version\n"
		 "\n"
		 "Print meshctl's version and, if it is running, meshd's.\n",
	.run = run_version,
};

static const struct cli_command *const commands[] = {
	&cmd_up, &cmd_set,  &cmd_down,	   &cmd_logout, &cmd_status,
	&cmd_ip, &cmd_ping, &cmd_netcheck, &cmd_whois,	&cmd_version,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: meshctl [--socket PATH] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  up        connect to the mesh (log in if needed)\n"
		"  set       change settings\n"
		"  down      disconnect from the mesh\n"
		"  logout    disconnect and expire this node's key\n"
		"  status    show this node and its peers [--json]\n"
		"  ip        show mesh addresses [-4|-6] [PEER]\n"
		"  ping      ping a peer over the mesh [-c N] PEER\n"
		"  netcheck  report UDP, NAT and relay latencies\n"
		"  whois     show the node and user behind a mesh IP\n"
		"  version   print the versions of meshctl and meshd\n"
		"\n"
		"--socket PATH  meshd's local API socket (default $MESHD_SOCKET, else "
		"%s)\n"
		"Run 'meshctl COMMAND --help' for the flags of a command.\n",
		MESHCTL_DEFAULT_SOCKET);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("meshctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "meshctl %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n%s", cmd->usage);
	return CLI_USAGE;
}

bool cli_parse(struct meshctl *ctl, const struct cli_command *cmd, struct flag *flags,
	       size_t nflags, int argc, char **argv, char **args, size_t maxargs, size_t *nargs,
	       int *rc)
{
	struct flag all[32];
	char err[256];
	int ret;

	if (nflags + 1 > sizeof(all) / sizeof(all[0])) {
		cli_error("internal error: too many flags");
		*rc = CLI_FAIL;
		return false;
	}
	if (nflags)
		memcpy(all, flags, nflags * sizeof(*flags));
	all[nflags] = (struct flag){.name = "socket", .type = FLAG_STRING, .value = &ctl->socket};
	ret = flags_parse(all, nflags + 1, argc, argv, args, maxargs, nargs, err, sizeof(err));
	if (nflags)
		memcpy(flags, all, nflags * sizeof(*flags));
	if (ret == FLAGS_HELP) {
		fputs(cmd->usage, stdout);
		*rc = CLI_OK;
		return false;
	}
	if (ret) {
		*rc = cli_usage_error(cmd, "%s", err);
		return false;
	}
	if (!*ctl->socket) {
		*rc = cli_usage_error(cmd, "--socket needs a path");
		return false;
	}
	return true;
}

const char *cli_json_str(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

bool cli_json_bool(const cJSON *obj, const char *key, bool def)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsBool(item) ? cJSON_IsTrue(item) : def;
}

void cli_print_http_error(int status, const char *body)
{
	cJSON *root = cJSON_Parse(body ? body : "");
	const char *msg = cli_json_str(root, "error");

	if (msg && *msg)
		cli_error("%s%s", msg,
			  status == 403 ? " (run as root, or start meshd with --operator=USER)"
					: "");
	else
		cli_error("meshd answered with HTTP status %d", status);
	cJSON_Delete(root);
}

int cli_call_text(const struct meshctl *ctl, const char *method, const char *path,
		  const cJSON *body, int timeout_ms, bool quiet_404, char **text, size_t *textlen)
{
	struct localapi_conn *c = NULL;
	char err[LOCALAPI_ERROR_MAX];
	char *req = NULL;
	const char *answer;
	size_t len;
	int status, ret;

	if (text)
		*text = NULL;
	if (body) {
		req = cJSON_PrintUnformatted(body);
		if (!req) {
			cli_error("out of memory");
			return -ENOMEM;
		}
	}
	ret = localapi_connect(&c, ctl->socket, err, sizeof(err));
	if (ret) {
		cli_error("%s", err);
		goto out_free_req;
	}
	ret = localapi_request(c, method, path, req, timeout_ms, &status);
	if (!ret)
		ret = localapi_read_body(c, timeout_ms, &answer, &len);
	if (ret) {
		cli_error("%s", localapi_error(c));
		goto out_close;
	}
	if (status == 404 && quiet_404) {
		ret = -ENOENT;
		goto out_close;
	}
	if (status < 200 || status > 299) {
		cli_print_http_error(status, answer);
		ret = -EPROTO;
		goto out_close;
	}
	if (text) {
		*text = malloc(len + 1);
		if (!*text) {
			cli_error("out of memory");
			ret = -ENOMEM;
			goto out_close;
		}
		memcpy(*text, answer, len + 1);
		if (textlen)
			*textlen = len;
	}
out_close:
	localapi_close(c);
out_free_req:
	cJSON_free(req);
	return ret;
}

int cli_call(const struct meshctl *ctl, const char *method, const char *path, const cJSON *body,
	     int timeout_ms, bool quiet_404, cJSON **resp)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (resp)
		*resp = NULL;
	ret = cli_call_text(ctl, method, path, body, timeout_ms, quiet_404, resp ? &text : NULL,
			    &len);
	if (ret || !resp)
		return ret;
	*resp = cJSON_ParseWithLength(text, len);
	free(text);
	if (!*resp) {
		cli_error("meshd sent an answer that is not JSON");
		return -EPROTO;
	}
	return 0;
}

static int run_version(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv)
{
	struct localapi_conn *c = NULL;
	char err[LOCALAPI_ERROR_MAX];
	const char *answer, *v = NULL;
	cJSON *status = NULL;
	size_t nargs, len;
	char *args[1];
	int rc, code;

	if (!cli_parse(ctl, cmd, NULL, 0, argc, argv, args, 0, &nargs, &rc))
		return rc;
	printf("meshctl %s\n", MESH_VERSION);
	/* The daemon's version is a bonus: say nothing if it cannot be had. */
	if (localapi_connect(&c, ctl->socket, err, sizeof(err)))
		return CLI_OK;
	if (!localapi_request(c, "GET", "/localapi/v0/status", NULL, CLI_CALL_TIMEOUT_MS, &code) &&
	    code == 200 && !localapi_read_body(c, CLI_CALL_TIMEOUT_MS, &answer, &len)) {
		status = cJSON_ParseWithLength(answer, len);
		v = cli_json_str(status, "version");
		printf("meshd %s\n", v ? v : "(version not reported)");
	}
	cJSON_Delete(status);
	localapi_close(c);
	return CLI_OK;
}

int main(int argc, char **argv)
{
	struct meshctl ctl = {.socket = getenv("MESHD_SOCKET")};
	const char *name;
	int i = 1;

	if (!ctl.socket || !*ctl.socket)
		ctl.socket = MESHCTL_DEFAULT_SOCKET;
	/* Global flags come before the command. */
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return CLI_OK;
		}
		if (!strcmp(a, "--version")) {
			argv[i] = (char *)"version";
			break;
		}
		if (!strcmp(a, "--socket")) {
			ctl.socket = i + 1 < argc ? argv[i + 1] : "";
			i += 2;
		} else if (!strncmp(a, "--socket=", 9)) {
			ctl.socket = a + 9;
			i++;
		} else {
			fprintf(stderr, "meshctl: unknown flag %s\n\n", a);
			usage(stderr);
			return CLI_USAGE;
		}
		if (!*ctl.socket) {
			fprintf(stderr, "meshctl: --socket needs a path\n\n");
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	name = argv[i];
	if (!strcmp(name, "help")) {
		usage(stdout);
		return CLI_OK;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (!strcmp(name, commands[c]->name))
			return commands[c]->run(&ctl, commands[c], argc - i - 1, argv + i + 1);
	}
	fprintf(stderr, "meshctl: unknown command \"%s\"\n\n", name);
	usage(stderr);
	return CLI_USAGE;
}
