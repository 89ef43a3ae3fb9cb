// SPDX-License-Identifier: MIT
/*
 * meshctl up, set, down and logout: the commands that change what meshd
 * does. up and set share one flag per pref (the JSON name with '-' for '_'),
 * validated here with the daemon's own rules before anything is sent; each
 * changes only the prefs it names.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/prefs.h"
#include "localapi_client.h"
#include "meshctl.h"

enum up_limits {
	AUTH_KEY_MAX = 4096,
	FLAG_NAME_MAX = 40,
	UP_EXTRA_FLAGS = 4, /* auth-key, reset, timeout, json */
};

#define PREFS_FLAGS_HELP                                                                          \
	"  --login-server URL            the control server (https://...)\n"                      \
	"  --hostname NAME               this node's name in the mesh (default: the OS "          \
	"hostname)\n"                                                                             \
	"  --advertise-routes CIDR,...   offer routes to these subnets (\"\" for none)\n"         \
	"  --advertise-exit-node         offer this node as an exit node\n"                       \
	"  --accept-routes               use the routes other nodes offer\n"                      \
	"  --accept-dns=BOOL             use MagicDNS (default true)\n"                           \
	"  --exit-node NAME|IP           send internet traffic through this node (\"\" for "      \
	"none)\n"                                                                                 \
	"  --exit-node-allow-lan-access  keep the local network reachable through an exit node\n" \
	"  --advertise-tags tag:a,...    ask for these ACL tags (\"\" for none)\n"                \
	"  --shields-up                  refuse every incoming connection\n"                      \
	"  --snat-subnet-routes=BOOL     masquerade traffic to advertised routes (default true)\n"

/* The flags of the prefs, and where flags_parse() puts their values. */
struct prefs_flags {
	char names[PREFS_FIELD_COUNT][FLAG_NAME_MAX];
	bool bools[PREFS_FIELD_COUNT];
	const char *strings[PREFS_FIELD_COUNT];
	struct flag flags[PREFS_FIELD_COUNT + UP_EXTRA_FLAGS];
	size_t nflags; /* prefs flags first, in enum order but want_running */
};

static void prefs_flags_init(struct prefs_flags *pf)
{
	memset(pf, 0, sizeof(*pf));
	for (int f = 0; f < PREFS_FIELD_COUNT; f++) {
		char *name = pf->names[f];

		/* want_running belongs to up and down, not to a flag. */
		if (f == PREFS_WANT_RUNNING)
			continue;
		snprintf(name, FLAG_NAME_MAX, "%s", prefs_field_name(f));
		for (char *c = name; *c; c++) {
			if (*c == '_')
				*c = '-';
		}
		pf->flags[pf->nflags++] = prefs_field_is_bool(f)
						  ? (struct flag){.name = name,
								  .type = FLAG_BOOL,
								  .value = &pf->bools[f]}
						  : (struct flag){.name = name,
								  .type = FLAG_STRING,
								  .value = &pf->strings[f]};
	}
}

static void add_flag(struct prefs_flags *pf, const char *name, enum flag_type type, void *value)
{
	pf->flags[pf->nflags++] = (struct flag){.name = name, .type = type, .value = value};
}

/*
 * Turn the prefs flags that were given into @p (from defaults) and @mask, and
 * check them with the daemon's rules. Prints the error and returns false on a
 * bad value.
 */
static bool prefs_from_flags(struct prefs_flags *pf, struct prefs *p, struct prefs_mask *mask)
{
	char err[PREFS_ERROR_MAX];
	enum prefs_field bad;
	size_t i = 0;

	prefs_init(p);
	mask->fields = 0;
	for (int f = 0; f < PREFS_FIELD_COUNT; f++) {
		const char *text;

		if (f == PREFS_WANT_RUNNING)
			continue;
		if (!pf->flags[i++].seen)
			continue;
		if (prefs_field_is_bool(f))
			text = pf->bools[f] ? "true" : "false";
		else
			text = pf->strings[f];
		if (prefs_parse_field(p, f, text, err, sizeof(err))) {
			cli_error("--%s: %s", pf->names[f], err);
			return false;
		}
		prefs_mask_add(mask, f);
	}
	if (prefs_validate(p, &bad, err, sizeof(err))) {
		cli_error("--%s: %s", pf->names[bad], err);
		return false;
	}
	return true;
}

/* --auth-key file:PATH reads the key from a file, so that it stays out of ps. */
static char *read_auth_key(const char *arg)
{
	char *key;
	ssize_t n;
	size_t len = 0;
	int fd;

	if (strncmp(arg, "file:", 5)) {
		key = strdup(arg);
		if (!key)
			cli_error("out of memory");
		return key;
	}
	fd = open(arg + 5, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		cli_error("--auth-key: cannot read %s: %s", arg + 5, strerror(errno));
		return NULL;
	}
	key = malloc(AUTH_KEY_MAX + 1);
	while (key && len < AUTH_KEY_MAX) {
		n = read(fd, key + len, AUTH_KEY_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!key) {
		cli_error("out of memory");
		return NULL;
	}
	while (len && (key[len - 1] == '\n' || key[len - 1] == '\r' || key[len - 1] == ' '))
		len--;
	key[len] = '\0';
	if (!len || strchr(key, '\n')) {
		cli_error("--auth-key: %s does not hold one key", arg + 5);
		free(key);
		return NULL;
	}
	return key;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct up_opts {
	struct prefs prefs;
	struct prefs_mask mask;
	const char *auth_key_arg;
	char *auth_key;
	bool reset;
	bool json;
	long timeout_ms; /* 0: forever */
	const char *timeout_text;
};

/* PATCH the prefs of a node that is already up: nothing to wait for. */
static int edit_running(const struct meshctl *ctl, struct up_opts *o)
{
	cJSON *body;
	int ret;

	o->prefs.want_running = true;
	prefs_mask_add(&o->mask, PREFS_WANT_RUNNING);
	body = prefs_to_json(&o->prefs, &o->mask);
	if (!body || (o->reset && !cJSON_AddTrueToObject(body, "reset"))) {
		cJSON_Delete(body);
		cli_error("out of memory");
		return CLI_FAIL;
	}
	ret = cli_call(ctl, "PATCH", "/localapi/v0/prefs", body, CLI_CALL_TIMEOUT_MS, false, NULL);
	cJSON_Delete(body);
	if (ret)
		return CLI_FAIL;
	if (o->json)
		printf("{\"backend_state\":\"Running\"}\n");
	return CLI_OK;
}

static cJSON *up_body(const struct up_opts *o)
{
	cJSON *body = cJSON_CreateObject(), *prefs = prefs_to_json(&o->prefs, &o->mask);

	if (!body || !prefs || !cJSON_AddItemToObject(body, "prefs", prefs)) {
		cJSON_Delete(prefs);
		cJSON_Delete(body);
		return NULL;
	}
	if ((o->auth_key && !cJSON_AddStringToObject(body, "auth_key", o->auth_key)) ||
	    !cJSON_AddBoolToObject(body, "reset", o->reset)) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

static void print_auth_url(const struct up_opts *o, const char *url, const cJSON *ev)
{
	const char *id = cli_json_str(ev, "register_id");
	cJSON *out;
	char *text;

	if (!o->json) {
		if (url[0])
			printf("To authenticate, visit:\n\n\t%s\n\n", url);
		if (id && id[0] && !url[0])
			printf("To approve this device, an admin of the control server runs:\n\n"
			       "\tmeshcontrol nodes register --user USER %s\n\n",
			       id);
	} else {
		out = cJSON_CreateObject();
		if (out && cJSON_AddStringToObject(out, "auth_url", url) &&
		    (id ? cJSON_AddStringToObject(out, "register_id", id)
			: cJSON_AddNullToObject(out, "register_id")) &&
		    (text = cJSON_PrintUnformatted(out))) {
			printf("%s\n", text);
			cJSON_free(text);
		}
		cJSON_Delete(out);
	}
	/* Whoever reads our output needs the URL now, not when we exit. */
	fflush(stdout);
}

/*
 * Follow the watch stream @w after POST /up until Running. If the node was
 * Running before (a new login), the Running that counts is one that follows
 * a state other than Running.
 */
static int wait_running(struct localapi_conn *w, const struct up_opts *o, bool was_running)
{
	long long deadline = o->timeout_ms ? now_ms() + o->timeout_ms : -1;
	char last_state[32] = "unknown", last_url[1024] = "";
	bool left_running = !was_running;
	const char *line, *s;
	int ret, left;
	cJSON *ev;

	for (;;) {
		if (deadline < 0) {
			left = LOCALAPI_FOREVER;
		} else {
			long long rem = deadline - now_ms();

			left = rem < 0 ? 0 : (int)rem;
		}
		ret = localapi_read_line(w, left, &line);
		if (ret == -ETIMEDOUT) {
			cli_error("timed out after %s waiting for the node to come up (state: %s)",
				  o->timeout_text, last_state);
			return CLI_FAIL;
		}
		if (ret < 0) {
			cli_error("%s", localapi_error(w));
			return CLI_FAIL;
		}
		if (ret == 0) {
			cli_error("meshd ended the watch stream before the node was up");
			return CLI_FAIL;
		}
		ev = cJSON_Parse(line);
		if (!ev)
			continue; /* keep-alives, or events of a newer meshd */
		if ((s = cli_json_str(ev, "error"))) {
			cli_error("%s", s);
			cJSON_Delete(ev);
			return CLI_FAIL;
		}
		if ((s = cli_json_str(ev, "auth_url"))) {
			/* A server without a login page sends only the registration id. */
			const char *id = cli_json_str(ev, "register_id");
			const char *key = s[0] ? s : (id ? id : "");

			if (key[0] && strcmp(key, last_url)) {
				snprintf(last_url, sizeof(last_url), "%s", key);
				print_auth_url(o, s, ev);
				left_running = true;
			}
		}
		if ((s = cli_json_str(ev, "state"))) {
			snprintf(last_state, sizeof(last_state), "%s", s);
			if (strcmp(s, "Running"))
				left_running = true;
			else if (left_running) {
				cJSON_Delete(ev);
				break;
			}
		}
		cJSON_Delete(ev);
	}
	if (o->json)
		printf("{\"backend_state\":\"Running\"}\n");
	else if (last_url[0])
		printf("Success.\n");
	return CLI_OK;
}

static int up_and_wait(const struct meshctl *ctl, const struct up_opts *o, bool was_running)
{
	struct localapi_conn *w = NULL;
	char err[LOCALAPI_ERROR_MAX];
	const char *answer;
	cJSON *body = NULL;
	int status, rc = CLI_FAIL;
	size_t len;

	/* Watch first, so that no event of this up can be missed. */
	if (localapi_connect(&w, ctl->socket, err, sizeof(err))) {
		cli_error("%s", err);
		return CLI_FAIL;
	}
	if (localapi_request(w, "GET", "/localapi/v0/watch", NULL, CLI_WATCH_HEAD_TIMEOUT_MS,
			     &status)) {
		cli_error("%s", localapi_error(w));
		goto out_close;
	}
	if (status != 200) {
		if (!localapi_read_body(w, CLI_CALL_TIMEOUT_MS, &answer, &len))
			cli_print_http_error(status, answer);
		else
			cli_print_http_error(status, NULL);
		goto out_close;
	}
	body = up_body(o);
	if (!body) {
		cli_error("out of memory");
		goto out_close;
	}
	if (cli_call(ctl, "POST", "/localapi/v0/up", body, CLI_CALL_TIMEOUT_MS, false, NULL))
		goto out_free_body;
	rc = wait_running(w, o, was_running);
out_free_body:
	cJSON_Delete(body);
out_close:
	localapi_close(w);
	return rc;
}

static int run_up(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv)
{
	struct prefs_flags pf;
	struct up_opts o = {.timeout_text = "0"};
	cJSON *st = NULL, *cur = NULL;
	const char *state, *srv;
	bool was_running, same_server = true;
	char *args[1];
	size_t nargs;
	int rc;

	prefs_flags_init(&pf);
	add_flag(&pf, "auth-key", FLAG_STRING, &o.auth_key_arg);
	add_flag(&pf, "reset", FLAG_BOOL, &o.reset);
	add_flag(&pf, "timeout", FLAG_STRING, &o.timeout_text);
	add_flag(&pf, "json", FLAG_BOOL, &o.json);
	if (!cli_parse(ctl, cmd, pf.flags, pf.nflags, argc, argv, args, 0, &nargs, &rc))
		return rc;
	if (flags_parse_duration(o.timeout_text, &o.timeout_ms) || o.timeout_ms > INT_MAX)
		return cli_usage_error(cmd,
				       "invalid value \"%s\" for --timeout: want a duration such "
				       "as 30s, 2m or 1h",
				       o.timeout_text);
	if (!prefs_from_flags(&pf, &o.prefs, &o.mask))
		return CLI_FAIL;
	if (o.auth_key_arg) {
		if (!*o.auth_key_arg)
			return cli_usage_error(cmd, "--auth-key needs a key");
		o.auth_key = read_auth_key(o.auth_key_arg);
		if (!o.auth_key)
			return CLI_FAIL;
	}

	rc = CLI_FAIL;
	if (cli_call(ctl, "GET", "/localapi/v0/status", NULL, CLI_CALL_TIMEOUT_MS, false, &st))
		goto out;
	state = cli_json_str(st, "backend_state");
	was_running = state && !strcmp(state, "Running");
	if (was_running && !o.auth_key && prefs_mask_has(&o.mask, PREFS_LOGIN_SERVER)) {
		if (cli_call(ctl, "GET", "/localapi/v0/prefs", NULL, CLI_CALL_TIMEOUT_MS, false,
			     &cur))
			goto out;
		srv = cli_json_str(cur, "login_server");
		same_server = srv && !strcmp(srv, o.prefs.login_server);
	}
	/* Already up and no new login asked for: only the prefs change. */
	if (was_running && !o.auth_key && same_server)
		rc = edit_running(ctl, &o);
	else
		rc = up_and_wait(ctl, &o, was_running);
out:
	cJSON_Delete(cur);
	cJSON_Delete(st);
	if (o.auth_key) {
		memset(o.auth_key, 0, strlen(o.auth_key));
		free(o.auth_key);
	}
	return rc;
}

static int run_set(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv)
{
	struct prefs_flags pf;
	struct prefs_mask mask;
	struct prefs p;
	char *args[1];
	size_t nargs;
	cJSON *body;
	int rc;

	prefs_flags_init(&pf);
	if (!cli_parse(ctl, cmd, pf.flags, pf.nflags, argc, argv, args, 0, &nargs, &rc))
		return rc;
	if (!prefs_from_flags(&pf, &p, &mask))
		return CLI_FAIL;
	if (!mask.fields)
		return cli_usage_error(cmd, "no settings given");
	body = prefs_to_json(&p, &mask);
	if (!body) {
		cli_error("out of memory");
		return CLI_FAIL;
	}
	rc = cli_call(ctl, "PATCH", "/localapi/v0/prefs", body, CLI_CALL_TIMEOUT_MS, false, NULL);
	cJSON_Delete(body);
	return rc ? CLI_FAIL : CLI_OK;
}

static int run_post(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv)
{
	char path[64], *args[1];
	size_t nargs;
	int rc;

	if (!cli_parse(ctl, cmd, NULL, 0, argc, argv, args, 0, &nargs, &rc))
		return rc;
	snprintf(path, sizeof(path), "/localapi/v0/%s", cmd->name);
	return cli_call(ctl, "POST", path, NULL, CLI_SLOW_TIMEOUT_MS, false, NULL) ? CLI_FAIL
										   : CLI_OK;
}

const struct cli_command cmd_up = {
	.name = "up",
	.usage = "usage: meshctl up [flags]\n"
		 "\n"
		 "Connect to the mesh, logging in if needed, and wait until this node is up.\n"
		 "Only the settings named by flags change; --reset puts the others back to\n"
		 "their defaults. Booleans take --flag or --flag=true|false.\n"
		 "\n"
		 "flags:\n"
		 "  --auth-key KEY                register with this pre-authorized key\n"
		 "                                (file:PATH reads it from a "
		 "file)\n" PREFS_FLAGS_HELP
		 "  --reset                       reset the settings not named here\n"
		 "  --timeout DUR                 give up after DUR, e.g. 30s or 2m (default 0:\n"
		 "                                wait forever)\n"
		 "  --json                        print JSON objects, one a line, instead of text\n"
		 "  --socket PATH                 meshd's local API socket\n",
	.run = run_up,
};

const struct cli_command cmd_set = {
	.name = "set",
	.usage = "usage: meshctl set [flags]\n"
		 "\n"
		 "Change the settings named by flags, and only those, without logging in again.\n"
		 "Booleans take --flag or --flag=true|false.\n"
		 "\n"
		 "flags:\n" PREFS_FLAGS_HELP
		 "  --socket PATH                 meshd's local API socket\n",
	.run = run_set,
};

const struct cli_command cmd_down = {
	.name = "down",
	.usage = "usage: meshctl down\n"
		 "\n"
		 "Disconnect from the mesh. The node stays logged in; 'meshctl up' reconnects.\n",
	.run = run_post,
};

const struct cli_command cmd_logout = {
	.name = "logout",
	.usage = "usage: meshctl logout\n"
		 "\n"
		 "Disconnect from the mesh and expire this node's key on the control server.\n",
	.run = run_post,
};
