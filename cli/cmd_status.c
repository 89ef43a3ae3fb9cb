// SPDX-License-Identifier: MIT
/*
 * meshctl status, ip and whois: read-only views of meshd's status object
 * (docs/localapi.md). status prints one aligned line per node, as
 * `tailscale status` does: IP, name, user, OS, and how the peer is reached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "meshctl.h"
#include "util/ipaddr.h"

enum status_layout {
	COLUMNS = 5,
	COLUMN_GAP = 2,
	CELL_MAX = 256,
	/* A WireGuard session without a handshake for this long is gone (Reject-After-Time). */
	ACTIVE_HANDSHAKE_AGE = 180,
};

struct row {
	char cell[COLUMNS][CELL_MAX];
};

/* An RFC 3339 time ("2026-11-28T18:00:00Z", fraction and offset allowed) or Unix seconds. */
static bool parse_time(const cJSON *item, time_t *out)
{
	int y, mo, d, h, mi, s, n = 0, oh, om;
	const char *p;
	struct tm tm;
	long off = 0;

	if (cJSON_IsNumber(item) && item->valuedouble > 0) {
		*out = (time_t)item->valuedouble;
		return true;
	}
	if (!cJSON_IsString(item))
		return false;
	p = item->valuestring;
	if (sscanf(p, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) != 6 || !n)
		return false;
	p += n;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == '+' || *p == '-') {
		if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
			return false;
		off = (*p == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
	} else if (*p != 'Z' && *p != 'z') {
		return false;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*out = timegm(&tm) - off;
	return true;
}

/* ", last seen 3m ago": minutes, hours or days, never less than a minute. */
static void format_ago(char *buf, size_t len, time_t then, time_t now)
{
	long d = now > then ? (long)(now - then) : 0;

	if (d < 60)
		d = 60;
	if (d < 3600)
		snprintf(buf, len, ", last seen %ldm ago", d / 60);
	else if (d < 86400)
		snprintf(buf, len, ", last seen %ldh ago", d / 3600);
	else
		snprintf(buf, len, ", last seen %ldd ago", d / 86400);
}

static long long json_int(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(item) && item->valuedouble > 0 ? (long long)item->valuedouble : 0;
}

static bool peer_active(const cJSON *peer, time_t now)
{
	const cJSON *active = cJSON_GetObjectItemCaseSensitive(peer, "active");
	time_t hs;

	if (cJSON_IsBool(active))
		return cJSON_IsTrue(active);
	/* No verdict from meshd: a path and a live WireGuard session make a peer active. */
	return cli_json_str(peer, "path") &&
	       parse_time(cJSON_GetObjectItemCaseSensitive(peer, "last_handshake"), &hs) &&
	       now - hs < ACTIVE_HANDSHAKE_AGE;
}

static void peer_status(char *buf, size_t len, const cJSON *peer, time_t now)
{
	const char *path = cli_json_str(peer, "path");
	long long tx = json_int(peer, "tx_bytes"), rx = json_int(peer, "rx_bytes");
	char ago[64] = "";
	size_t n;
	time_t seen;

	if (!cli_json_bool(peer, "online", true)) {
		if (parse_time(cJSON_GetObjectItemCaseSensitive(peer, "last_seen"), &seen))
			format_ago(ago, sizeof(ago), seen, now);
		snprintf(buf, len, "offline%s", ago);
		return;
	}
	if (!peer_active(peer, now)) {
		snprintf(buf, len, "idle");
	} else if (path && !strcmp(path, "direct")) {
		const char *ep = cli_json_str(peer, "endpoint");

		snprintf(buf, len, "active; direct%s%s", ep ? " " : "", ep ? ep : "");
	} else if (path && !strcmp(path, "relay")) {
		const char *relay = cli_json_str(peer, "relay");

		if (relay)
			snprintf(buf, len, "active; relay \"%s\"", relay);
		else
			snprintf(buf, len, "active; relay");
	} else {
		snprintf(buf, len, "active");
	}
	n = strlen(buf);
	if ((tx || rx) && n < len)
		snprintf(buf + n, len - n, ", tx %lld rx %lld", tx, rx);
}

static const char *first_address(const cJSON *node)
{
	const cJSON *addrs = cJSON_GetObjectItemCaseSensitive(node, "addresses");
	const cJSON *a = cJSON_GetArrayItem(addrs, 0);

	return cJSON_IsString(a) ? a->valuestring : "-";
}

static const char *owner(const cJSON *node)
{
	const char *user = cli_json_str(node, "user");

	if (user && *user)
		return user;
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(node, "tags")) > 0
		       ? "tagged-devices"
		       : "-";
}

static void fill_row(struct row *r, const cJSON *node, const char *status)
{
	const char *name = cli_json_str(node, "name"), *os = cli_json_str(node, "os");

	snprintf(r->cell[0], CELL_MAX, "%s", first_address(node));
	snprintf(r->cell[1], CELL_MAX, "%s", name && *name ? name : "-");
	snprintf(r->cell[2], CELL_MAX, "%s", owner(node));
	snprintf(r->cell[3], CELL_MAX, "%s", os && *os ? os : "-");
	snprintf(r->cell[4], CELL_MAX, "%s", status);
}

static int by_name(const void *a, const void *b)
{
	const char *x = cli_json_str(*(const cJSON *const *)a, "name");
	const char *y = cli_json_str(*(const cJSON *const *)b, "name");

	return strcasecmp(x ? x : "", y ? y : "");
}

/* Print @rows aligned in columns, like Go's tabwriter with a padding of 2. */
static void print_rows(const struct row *rows, size_t n)
{
	size_t width[COLUMNS - 1] = {0};

	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < COLUMNS - 1; c++) {
			size_t w = strlen(rows[i].cell[c]);

			if (w > width[c])
				width[c] = w;
		}
	}
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < COLUMNS - 1; c++)
			printf("%-*s", (int)(width[c] + COLUMN_GAP), rows[i].cell[c]);
		printf("%s\n", rows[i].cell[COLUMNS - 1]);
	}
}

/* The not-running states: say so (as tailscale status does) and fail. */
static bool print_not_running(const cJSON *st, const char *state)
{
	const char *url = cli_json_str(st, "auth_url");

	if (!strcmp(state, "Stopped")) {
		printf("meshd is stopped; run 'meshctl up' to connect.\n");
	} else if (!strcmp(state, "NeedsLogin")) {
		printf("Logged out.\n");
		if (url)
			printf("Log in at: %s\n", url);
	} else if (!strcmp(state, "NoState")) {
		printf("meshd is starting.\n");
	} else {
		return false;
	}
	return true;
}

static int print_status(const cJSON *st)
{
	const cJSON *self = cJSON_GetObjectItemCaseSensitive(st, "self");
	const cJSON *peers = cJSON_GetObjectItemCaseSensitive(st, "peers");
	const char *state = cli_json_str(st, "backend_state");
	const cJSON **sorted = NULL, *peer;
	struct row *rows;
	char status[CELL_MAX];
	size_t n = 0, npeers = (size_t)cJSON_GetArraySize(peers);
	time_t now = time(NULL);

	if (state && print_not_running(st, state))
		return CLI_FAIL;
	rows = calloc(npeers + 1, sizeof(*rows));
	sorted = calloc(npeers + 1, sizeof(*sorted));
	if (!rows || !sorted) {
		free(rows);
		free(sorted);
		cli_error("out of memory");
		return CLI_FAIL;
	}
	if (cJSON_IsObject(self))
		fill_row(&rows[n++], self, "-");
	npeers = 0;
	cJSON_ArrayForEach(peer, peers)
	{
		if (cJSON_IsObject(peer))
			sorted[npeers++] = peer;
	}
	qsort(sorted, npeers, sizeof(*sorted), by_name);
	for (size_t i = 0; i < npeers; i++) {
		peer_status(status, sizeof(status), sorted[i], now);
		fill_row(&rows[n++], sorted[i], status);
	}
	print_rows(rows, n);
	free(sorted);
	free(rows);
	return CLI_OK;
}

static int run_status(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv)
{
	bool json = false;
	struct flag flags[] = {{.name = "json", .type = FLAG_BOOL, .value = &json}};
	char *args[1], *text = NULL;
	size_t nargs, len = 0;
	cJSON *st;
	int rc;

	if (!cli_parse(ctl, cmd, flags, 1, argc, argv, args, 0, &nargs, &rc))
		return rc;
	if (cli_call_text(ctl, "GET", "/localapi/v0/status", NULL, CLI_CALL_TIMEOUT_MS, false,
			  &text, &len))
		return CLI_FAIL;
	st = cJSON_ParseWithLength(text, len);
	if (!cJSON_IsObject(st)) {
		cli_error("meshd sent a status that is not a JSON object");
		rc = CLI_FAIL;
	} else if (json) {
		/* The daemon's own text: scripts get every field, exactly as sent. */
		fwrite(text, 1, len, stdout);
		if (!len || text[len - 1] != '\n')
			putchar('\n');
		rc = CLI_OK;
	} else {
		rc = print_status(st);
	}
	cJSON_Delete(st);
	free(text);
	return rc;
}

/* Case-insensitive, and "host.mesh.internal." names the same node as "host.mesh.internal". */
static bool name_matches(const char *have, const char *want)
{
	size_t h, w;

	if (!have || !*have)
		return false;
	h = strlen(have);
	w = strlen(want);
	if (h > 1 && have[h - 1] == '.')
		h--;
	if (w > 1 && want[w - 1] == '.')
		w--;
	return h == w && !strncasecmp(have, want, h);
}

/* The peer of @st called @who (name, FQDN or one of its addresses), or NULL. */
static const cJSON *find_peer(const cJSON *st, const char *who)
{
	const cJSON *peer, *a;
	struct ip_addr want, have;
	bool is_ip = !ip_addr_parse(&want, who, NULL);

	cJSON_ArrayForEach(peer, cJSON_GetObjectItemCaseSensitive(st, "peers"))
	{
		if (!is_ip && (name_matches(cli_json_str(peer, "name"), who) ||
			       name_matches(cli_json_str(peer, "fqdn"), who)))
			return peer;
		if (!is_ip)
			continue;
		cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(peer, "addresses"))
		{
			if (cJSON_IsString(a) && !ip_addr_parse(&have, a->valuestring, NULL) &&
			    ip_addr_equal(&have, &want))
				return peer;
		}
	}
	return NULL;
}

static int run_ip(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv)
{
	bool v4 = false, v6 = false;
	struct flag flags[] = {
		{.name = "4", .type = FLAG_BOOL, .value = &v4},
		{.name = "6", .type = FLAG_BOOL, .value = &v6},
	};
	const cJSON *node, *a;
	const char *state;
	struct ip_addr addr;
	char *args[1];
	size_t nargs, printed = 0;
	cJSON *st = NULL;
	int rc;

	if (!cli_parse(ctl, cmd, flags, 2, argc, argv, args, 1, &nargs, &rc))
		return rc;
	if (v4 && v6)
		return cli_usage_error(cmd, "-4 and -6 cannot be used together");
	if (cli_call(ctl, "GET", "/localapi/v0/status", NULL, CLI_CALL_TIMEOUT_MS, false, &st))
		return CLI_FAIL;
	rc = CLI_FAIL;
	if (nargs) {
		node = find_peer(st, args[0]);
		if (!node) {
			cli_error("no peer called %s", args[0]);
			goto out;
		}
	} else {
		node = cJSON_GetObjectItemCaseSensitive(st, "self");
	}
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(node, "addresses"))
	{
		if (!cJSON_IsString(a) || ip_addr_parse(&addr, a->valuestring, NULL))
			continue;
		if ((v4 && addr.family != IP_FAMILY_V4) || (v6 && addr.family != IP_FAMILY_V6))
			continue;
		printf("%s\n", a->valuestring);
		printed++;
	}
	if (printed) {
		rc = CLI_OK;
	} else if (nargs) {
		cli_error("%s has no %smesh address", args[0], v4 ? "IPv4 " : v6 ? "IPv6 " : "");
	} else {
		state = cli_json_str(st, "backend_state");
		cli_error("this node has no %smesh address%s%s%s",
			  v4   ? "IPv4 "
			  : v6 ? "IPv6 "
			       : "",
			  state && strcmp(state, "Running") ? " (meshd is " : "",
			  state && strcmp(state, "Running") ? state : "",
			  state && strcmp(state, "Running") ? ")" : "");
	}
out:
	cJSON_Delete(st);
	return rc;
}

static void print_field(const char *label, const cJSON *node, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(node, key), *a;
	bool first = true;

	if (cJSON_IsString(item) && *item->valuestring) {
		printf("  %-11s%s\n", label, item->valuestring);
	} else if (cJSON_IsNumber(item)) {
		printf("  %-11s%.0f\n", label, item->valuedouble);
	} else if (cJSON_IsArray(item) && cJSON_GetArraySize(item) > 0) {
		printf("  %-11s", label);
		cJSON_ArrayForEach(a, item)
		{
			if (cJSON_IsString(a)) {
				printf("%s%s", first ? "" : ", ", a->valuestring);
				first = false;
			}
		}
		printf("\n");
	}
}

static int run_whois(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv)
{
	char path[128], *args[1];
	const cJSON *node;
	struct ip_addr addr;
	const char *user;
	size_t nargs;
	cJSON *who = NULL;
	int rc;

	if (!cli_parse(ctl, cmd, NULL, 0, argc, argv, args, 1, &nargs, &rc))
		return rc;
	if (!nargs)
		return cli_usage_error(cmd, "missing IP");
	if (ip_addr_parse(&addr, args[0], NULL))
		return cli_usage_error(cmd, "\"%s\" is not an IP address", args[0]);
	snprintf(path, sizeof(path), "/localapi/v0/whois?addr=%s", args[0]);
	rc = cli_call(ctl, "GET", path, NULL, CLI_CALL_TIMEOUT_MS, true, &who);
	if (rc == -ENOENT) {
		cli_error("no node in the mesh has address %s", args[0]);
		return CLI_FAIL;
	}
	if (rc)
		return CLI_FAIL;
	node = cJSON_GetObjectItemCaseSensitive(who, "node");
	printf("Machine:\n");
	print_field("Name:", node, cli_json_str(node, "fqdn") ? "fqdn" : "name");
	print_field("ID:", node, "id");
	print_field("Addresses:", node, "addresses");
	print_field("OS:", node, "os");
	print_field("Tags:", node, "tags");
	user = cli_json_str(who, "user");
	printf("User:\n  %-11s%s\n", "Name:", user && *user ? user : "(none: a tagged node)");
	cJSON_Delete(who);
	return CLI_OK;
}

const struct cli_command cmd_status = {
	.name = "status",
	.usage = "usage: meshctl status [--json]\n"
		 "\n"
		 "Show this node and its peers, one a line: mesh IP, name, user, OS and how the\n"
		 "peer is reached (active; direct IP:PORT / active; relay \"CODE\" / idle /\n"
		 "offline). Exits 1 when the node is not up.\n"
		 "\n"
		 "flags:\n"
		 "  --json          print meshd's status object (only JSON on stdout)\n"
		 "  --socket PATH   meshd's local API socket\n",
	.run = run_status,
};

const struct cli_command cmd_ip = {
	.name = "ip",
	.usage = "usage: meshctl ip [-4|-6] [PEER]\n"
		 "\n"
		 "Print the mesh addresses of this node, or of PEER (a name or an address),\n"
		 "one a line.\n"
		 "\n"
		 "flags:\n"
		 "  -4              only the IPv4 address\n"
		 "  -6              only the IPv6 address\n"
		 "  --socket PATH   meshd's local API socket\n",
	.run = run_ip,
};

const struct cli_command cmd_whois = {
	.name = "whois",
	.usage = "usage: meshctl whois IP\n"
		 "\n"
		 "Show the node that has mesh address IP and the user it belongs to.\n",
	.run = run_whois,
};
