// SPDX-License-Identifier: MIT
/*
 * Admin commands: parse, call the server through adminclient.c, print. Tables
 * are for people and may change; --json output is the contract (design.md §6).
 */
#include "server/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "server/adminclient.h"
#include "server/validate.h"
#include "util/compiler.h"

enum {
	MAX_COLS = 8,
	MAX_POLICY = 4 << 20,
};

static const char *const groups[] = {"users", "authkeys", "nodes", "routes", "policy"};

static const char usage_text[] =
	"usage: meshcontrol [--config FILE] users create NAME | list [--json] | delete NAME\n"
	"       meshcontrol [--config FILE] authkeys create --user U [--reusable] [--ephemeral]\n"
	"                   [--tags tag:a,tag:b] [--expiration 24h] | list [--json] | revoke KEY\n"
	"       meshcontrol [--config FILE] nodes list [--json] | delete NODE | expire NODE\n"
	"                   | rename NODE NEW | register --user U ID\n"
	"       meshcontrol [--config FILE] routes list [--json] | approve NODE PREFIX...\n"
	"                   | unapprove NODE PREFIX...\n"
	"       meshcontrol [--config FILE] policy get | set FILE\n";

void cli_usage(FILE *f)
{
	fputs(usage_text, f);
}

int cli_is_group(const char *group)
{
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++)
		if (!strcmp(groups[i], group))
			return 1;
	return 0;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("meshcontrol: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n", stderr);
	cli_usage(stderr);
	return CLI_EXIT_USAGE;
}

static cJSON *call(const struct config *cfg, const char *method, cJSON *params)
{
	return adminclient_call(cfg->admin_socket, method, params, stderr);
}

/* A table: rows of up to MAX_COLS cells, printed with aligned columns. */
struct table {
	size_t ncols;
	size_t nrows;
	size_t cap;
	char **cells;
};

static void table_add(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **bigger = realloc(t->cells, cap * t->ncols * sizeof(*bigger));

		if (!bigger)
			return;
		t->cells = bigger;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++)
		t->cells[t->nrows * t->ncols + i] = strdup(cells[i] ? cells[i] : "-");
	t->nrows++;
}

static void table_print(struct table *t)
{
	size_t width[MAX_COLS] = {0};

	for (size_t r = 0; r < t->nrows; r++)
		for (size_t i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * t->ncols + i];
			size_t w = c ? strlen(c) : 1;

			if (w > width[i])
				width[i] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t i = 0; i < t->ncols; i++) {
			const char *c = t->cells[r * t->ncols + i];

			if (i + 1 < t->ncols)
				printf("%-*s  ", (int)width[i], c ? c : "-");
			else
				printf("%s\n", c ? c : "-");
		}
	}
	for (size_t k = 0; k < t->nrows * t->ncols; k++)
		free(t->cells[k]);
	free(t->cells);
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool bool_of(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* Join the strings of an array member with @sep into @buf. */
static const char *join_of(const cJSON *o, const char *key, const char *sep, char *buf, size_t len)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, key), *e;
	size_t used = 0;

	buf[0] = '\0';
	for (e = arr ? arr->child : NULL; e; e = e->next)
		if (cJSON_IsString(e) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? sep : "",
						 e->valuestring);
	return buf[0] ? buf : NULL;
}

static void print_json(const cJSON *result)
{
	char *text = cJSON_Print(result);

	if (text)
		printf("%s\n", text);
	free(text);
}

/* Options every subcommand takes; @extra adds its own (NULL-terminated array). */
struct opts {
	bool json;
	bool help;
	bool reusable;
	bool ephemeral;
	const char *user;
	const char *tags;
	const char *expiration;
};

enum opt_id {
	OPT_JSON = 1000,
	OPT_USER,
	OPT_REUSABLE,
	OPT_EPHEMERAL,
	OPT_TAGS,
	OPT_EXPIRATION,
};

/* Parse options of the subcommand in argv[0..argc), allowing only those in @allowed. */
static int parse_opts(int argc, char **argv, const char *allowed, struct opts *o, int *first)
{
	static const struct option all[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"user", required_argument, NULL, OPT_USER},
		{"reusable", no_argument, NULL, OPT_REUSABLE},
		{"ephemeral", no_argument, NULL, OPT_EPHEMERAL},
		{"tags", required_argument, NULL, OPT_TAGS},
		{"expiration", required_argument, NULL, OPT_EXPIRATION},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0; /* GNU: full reinitialisation */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", all, NULL)) != -1) {
		const struct option *opt = NULL;

		for (size_t i = 0; all[i].name; i++)
			if (all[i].val == c)
				opt = &all[i];
		if (c == '?' || c == ':' || !opt || (c != 'h' && !strstr(allowed, opt->name))) {
			const char *bad = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

			return usage_error("unknown or misplaced option '%s'", bad);
		}
		switch (c) {
		case 'h':
			o->help = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_USER:
			o->user = optarg;
			break;
		case OPT_REUSABLE:
			o->reusable = true;
			break;
		case OPT_EPHEMERAL:
			o->ephemeral = true;
			break;
		case OPT_TAGS:
			o->tags = optarg;
			break;
		case OPT_EXPIRATION:
			o->expiration = optarg;
			break;
		default:
			break;
		}
	}
	*first = optind;
	return 0;
}

/* After parse_opts(): its error, or the usage for --help. */
static int help_or(int ret)
{
	if (ret)
		return ret;
	cli_usage(stdout);
	return CLI_EXIT_OK;
}

/* Check the positional argument count of a subcommand. */
static int want_args(int argc, int first, int min, int max, const char *sub)
{
	int n = argc - first;

	if (n < min)
		return usage_error("'%s' needs more arguments", sub);
	if (max >= 0 && n > max)
		return usage_error("too many arguments for '%s'", sub);
	return 0;
}

static int finish(cJSON *result)
{
	if (!result)
		return CLI_EXIT_FAIL;
	cJSON_Delete(result);
	return CLI_EXIT_OK;
}

static cJSON *params_with(const char *key, const char *value)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, key, value);
	return p;
}

static int users_cmd(const struct config *cfg, int argc, char **argv)
{
	const char *sub = argv[0];
	struct opts o;
	cJSON *res, *u;
	int first, ret;

	if (!strcmp(sub, "list")) {
		ret = parse_opts(argc, argv, "json", &o, &first);
		if (ret || o.help)
			return help_or(ret);
		ret = want_args(argc, first, 0, 0, sub);
		if (ret)
			return ret;
		res = call(cfg, "users.list", NULL);
		if (res && o.json) {
			print_json(res);
		} else if (res) {
			struct table t = {.ncols = 3};

			table_add(&t, (const char *[]){"ID", "NAME", "CREATED"});
			for (u = res->child; u; u = u->next) {
				char id[24];

				snprintf(id, sizeof(id), "%.0f",
					 cJSON_GetNumberValue(cJSON_GetObjectItem(u, "id")));
				table_add(&t, (const char *[]){id, str_of(u, "name"),
							       str_of(u, "created")});
			}
			table_print(&t);
		}
		return finish(res);
	}
	if (strcmp(sub, "create") && strcmp(sub, "delete"))
		return usage_error("unknown command 'users %s'", sub);
	ret = parse_opts(argc, argv, "", &o, &first);
	if (ret || o.help)
		return help_or(ret);
	ret = want_args(argc, first, 1, 1, sub);
	if (ret)
		return ret;
	res = call(cfg, !strcmp(sub, "create") ? "users.create" : "users.delete",
		   params_with("name", argv[first]));
	if (res && !strcmp(sub, "create"))
		printf("created user %s (id %.0f)\n", argv[first],
		       cJSON_GetNumberValue(cJSON_GetObjectItem(res, "id")));
	else if (res)
		printf("deleted user %s\n", argv[first]);
	return finish(res);
}

static cJSON *tags_array(const char *tags)
{
	cJSON *arr = cJSON_CreateArray();
	char *copy = strdup(tags), *save = NULL;

	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(arr, cJSON_CreateString(t));
	free(copy);
	return arr;
}

static int authkeys_create(const struct config *cfg, int argc, char **argv)
{
	const char *why;
	struct opts o;
	int64_t secs = 24 * 3600;
	cJSON *p, *res;
	int first, ret;

	ret = parse_opts(argc, argv, "user reusable ephemeral tags expiration", &o, &first);
	if (ret || o.help)
		return help_or(ret);
	ret = want_args(argc, first, 0, 0, "authkeys create");
	if (ret)
		return ret;
	if (!o.user)
		return usage_error("%s needs --user USER", "authkeys create");
	if (o.expiration) {
		int bad = validate_duration(o.expiration, &secs, &why);

		if (!bad && !secs) {
			bad = -EINVAL;
			why = "must be more than 0";
		}
		if (bad) {
			fprintf(stderr, "meshcontrol: --expiration %s: %s (use e.g. 24h, 90d)\n",
				o.expiration, why);
			return CLI_EXIT_USAGE;
		}
	}
	p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "user", o.user);
	cJSON_AddBoolToObject(p, "reusable", o.reusable);
	cJSON_AddBoolToObject(p, "ephemeral", o.ephemeral);
	cJSON_AddNumberToObject(p, "expiration", (double)secs);
	if (o.tags)
		cJSON_AddItemToObject(p, "tags", tags_array(o.tags));
	res = call(cfg, "authkeys.create", p);
	if (res) {
		const char *key = str_of(res, "key");
		char tags[512];

		fprintf(stderr, "auth key %.0f for %s: %s%s, tags %s, expires %s\n",
			cJSON_GetNumberValue(cJSON_GetObjectItem(res, "id")), o.user,
			o.reusable ? "reusable" : "single-use", o.ephemeral ? ", ephemeral" : "",
			join_of(res, "tags", ",", tags, sizeof(tags)) ? tags : "none",
			str_of(res, "expiry") ? str_of(res, "expiry") : "never");
		/* The key alone on the last line of stdout, for scripts. */
		printf("%s\n", key ? key : "");
		fflush(stdout);
		if (key)
			sodium_memzero((void *)key, strlen(key));
	}
	return finish(res);
}

static int authkeys_cmd(const struct config *cfg, int argc, char **argv)
{
	const char *sub = argv[0];
	struct opts o;
	cJSON *res, *k;
	int first, ret;

	if (!strcmp(sub, "create"))
		return authkeys_create(cfg, argc, argv);
	if (!strcmp(sub, "revoke")) {
		ret = parse_opts(argc, argv, "", &o, &first);
		if (ret || o.help)
			return help_or(ret);
		ret = want_args(argc, first, 1, 1, sub);
		if (ret)
			return ret;
		res = call(cfg, "authkeys.revoke", params_with("key", argv[first]));
		if (res)
			printf("revoked auth key %s\n", argv[first]);
		return finish(res);
	}
	if (strcmp(sub, "list"))
		return usage_error("unknown command 'authkeys %s'", sub);
	ret = parse_opts(argc, argv, "json", &o, &first);
	if (ret || o.help)
		return help_or(ret);
	ret = want_args(argc, first, 0, 0, sub);
	if (ret)
		return ret;
	res = call(cfg, "authkeys.list", NULL);
	if (res && o.json) {
		print_json(res);
	} else if (res) {
		struct table t = {.ncols = 8};

		table_add(&t, (const char *[]){"ID", "PREFIX", "USER", "REUSABLE", "EPHEMERAL",
					       "TAGS", "EXPIRES", "STATE"});
		for (k = res->child; k; k = k->next) {
			char id[24], tags[512];

			snprintf(id, sizeof(id), "%.0f",
				 cJSON_GetNumberValue(cJSON_GetObjectItem(k, "id")));
			table_add(&t, (const char *[]){id, str_of(k, "prefix"), str_of(k, "user"),
						       bool_of(k, "reusable") ? "yes" : "no",
						       bool_of(k, "ephemeral") ? "yes" : "no",
						       join_of(k, "tags", ",", tags, sizeof(tags)),
						       str_of(k, "expiry"), str_of(k, "state")});
		}
		table_print(&t);
	}
	return finish(res);
}

static void print_nodes(const cJSON *res)
{
	struct table t = {.ncols = 7};

	table_add(&t, (const char *[]){"ID", "NAME", "OWNER", "ADDRESSES", "ONLINE", "LAST SEEN",
				       "EXPIRES"});
	for (const cJSON *n = res->child; n; n = n->next) {
		char id[24], owner[512], addrs[128];
		const char *expiry = str_of(n, "expiry");

		snprintf(id, sizeof(id), "%.0f",
			 cJSON_GetNumberValue(cJSON_GetObjectItem(n, "id")));
		if (str_of(n, "user"))
			snprintf(owner, sizeof(owner), "%s", str_of(n, "user"));
		else
			join_of(n, "tags", ",", owner, sizeof(owner));
		table_add(&t, (const char *[]){id, str_of(n, "name"), owner,
					       join_of(n, "addresses", ",", addrs, sizeof(addrs)),
					       bool_of(n, "online") ? "yes" : "no",
					       str_of(n, "last_seen"),
					       bool_of(n, "expired") ? "expired"
					       : expiry		     ? expiry
								     : "never"});
	}
	table_print(&t);
}

static int nodes_cmd(const struct config *cfg, int argc, char **argv)
{
	const char *sub = argv[0];
	struct opts o;
	cJSON *res, *p;
	int first, ret;

	if (!strcmp(sub, "list")) {
		ret = parse_opts(argc, argv, "json", &o, &first);
		if (ret || o.help)
			return help_or(ret);
		ret = want_args(argc, first, 0, 0, sub);
		if (ret)
			return ret;
		res = call(cfg, "nodes.list", NULL);
		if (res && o.json)
			print_json(res);
		else if (res)
			print_nodes(res);
		return finish(res);
	}
	if (!strcmp(sub, "register")) {
		ret = parse_opts(argc, argv, "user", &o, &first);
		if (ret || o.help)
			return help_or(ret);
		ret = want_args(argc, first, 1, 1, sub);
		if (ret)
			return ret;
		if (!o.user)
			return usage_error("%s needs --user USER", "nodes register");
		p = params_with("id", argv[first]);
		cJSON_AddStringToObject(p, "user", o.user);
		res = call(cfg, "nodes.register", p);
		if (res) {
			char addrs[128];

			printf("registered node %s (%s) for user %s\n", str_of(res, "name"),
			       join_of(res, "addresses", ", ", addrs, sizeof(addrs)), o.user);
		}
		return finish(res);
	}
	if (strcmp(sub, "delete") && strcmp(sub, "expire") && strcmp(sub, "rename"))
		return usage_error("unknown command 'nodes %s'", sub);
	ret = parse_opts(argc, argv, "", &o, &first);
	if (ret || o.help)
		return help_or(ret);
	ret = want_args(argc, first, !strcmp(sub, "rename") ? 2 : 1, !strcmp(sub, "rename") ? 2 : 1,
			sub);
	if (ret)
		return ret;
	p = params_with("node", argv[first]);
	if (!strcmp(sub, "rename"))
		cJSON_AddStringToObject(p, "name", argv[first + 1]);
	if (!strcmp(sub, "delete"))
		res = call(cfg, "nodes.delete", p);
	else if (!strcmp(sub, "expire"))
		res = call(cfg, "nodes.expire", p);
	else
		res = call(cfg, "nodes.rename", p);
	if (res && !strcmp(sub, "rename"))
		printf("renamed node %s to %s\n", argv[first], argv[first + 1]);
	else if (res)
		printf("%s node %s\n", !strcmp(sub, "delete") ? "deleted" : "expired", argv[first]);
	return finish(res);
}

static int routes_cmd(const struct config *cfg, int argc, char **argv)
{
	const char *sub = argv[0];
	bool approve = !strcmp(sub, "approve");
	struct opts o;
	cJSON *res, *p, *arr;
	int first, ret;

	if (!strcmp(sub, "list")) {
		ret = parse_opts(argc, argv, "json", &o, &first);
		if (ret || o.help)
			return help_or(ret);
		ret = want_args(argc, first, 0, 0, sub);
		if (ret)
			return ret;
		res = call(cfg, "routes.list", NULL);
		if (res && o.json) {
			print_json(res);
		} else if (res) {
			struct table t = {.ncols = 4};

			table_add(&t, (const char *[]){"NODE", "PREFIX", "ADVERTISED", "APPROVED"});
			for (const cJSON *r = res->child; r; r = r->next)
				table_add(&t,
					  (const char *[]){str_of(r, "node"), str_of(r, "prefix"),
							   bool_of(r, "advertised") ? "yes" : "no",
							   bool_of(r, "approved") ? "yes" : "no"});
			table_print(&t);
		}
		return finish(res);
	}
	if (!approve && strcmp(sub, "unapprove"))
		return usage_error("unknown command 'routes %s'", sub);
	ret = parse_opts(argc, argv, "", &o, &first);
	if (ret || o.help)
		return help_or(ret);
	ret = want_args(argc, first, 2, -1, sub);
	if (ret)
		return ret;
	p = params_with("node", argv[first]);
	arr = cJSON_AddArrayToObject(p, "prefixes");
	for (int i = first + 1; i < argc; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(argv[i]));
	res = call(cfg, approve ? "routes.approve" : "routes.unapprove", p);
	for (int i = first + 1; res && i < argc; i++)
		printf("%s %s on node %s\n", approve ? "approved" : "unapproved", argv[i],
		       argv[first]);
	return finish(res);
}

/* Read a whole file ("-" = stdin) into a heap string. */
static char *slurp(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	size_t len = 0, cap = 4096;
	char *buf, *bigger;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);

		len += n;
		if (len + 1 < cap)
			break;
		if (cap >= MAX_POLICY) {
			free(buf);
			buf = NULL;
			errno = EFBIG;
			break;
		}
		bigger = realloc(buf, cap * 2);
		if (!bigger) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = bigger;
		cap *= 2;
	}
	if (buf)
		buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

static int policy_cmd(const struct config *cfg, int argc, char **argv)
{
	const char *sub = argv[0];
	struct opts o;
	cJSON *res;
	int first, ret;

	ret = parse_opts(argc, argv, "", &o, &first);
	if (ret || o.help)
		return help_or(ret);
	if (!strcmp(sub, "get")) {
		const char *text;

		ret = want_args(argc, first, 0, 0, sub);
		if (ret)
			return ret;
		res = call(cfg, "policy.get", NULL);
		text = str_of(res, "policy");
		if (text)
			printf("%s%s", text, *text && text[strlen(text) - 1] == '\n' ? "" : "\n");
		return finish(res);
	}
	if (!strcmp(sub, "set")) {
		char *text;

		ret = want_args(argc, first, 1, 1, sub);
		if (ret)
			return ret;
		text = slurp(argv[first]);
		if (!text) {
			fprintf(stderr, "meshcontrol: cannot read %s: %s\n", argv[first],
				strerror(errno));
			return CLI_EXIT_FAIL;
		}
		if (strlen(text) == 0) {
			fprintf(stderr, "meshcontrol: %s is empty\n", argv[first]);
			free(text);
			return CLI_EXIT_FAIL;
		}
		res = call(cfg, "policy.set", params_with("policy", text));
		free(text);
		if (res)
			printf("policy updated\n");
		return finish(res);
	}
	return usage_error("unknown command 'policy %s'", sub);
}

int cli_run(const struct config *cfg, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		if (argc < 2) {
			cli_usage(stderr);
			return CLI_EXIT_USAGE;
		}
		cli_usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[0], "users"))
		return users_cmd(cfg, argc - 1, argv + 1);
	if (!strcmp(argv[0], "authkeys"))
		return authkeys_cmd(cfg, argc - 1, argv + 1);
	if (!strcmp(argv[0], "nodes"))
		return nodes_cmd(cfg, argc - 1, argv + 1);
	if (!strcmp(argv[0], "routes"))
		return routes_cmd(cfg, argc - 1, argv + 1);
	if (!strcmp(argv[0], "policy"))
		return policy_cmd(cfg, argc - 1, argv + 1);
	return usage_error("unknown command '%s'", argv[0]);
}
