// SPDX-License-Identifier: MIT
/*
 * meshctl ping and netcheck: the network diagnostics. ping streams meshd's
 * results as they come, in the exact form of design.md §6:
 *   pong from NAME (IP) via relay(REGION) in 12ms
 *   pong from NAME (IP) via IP:PORT in 1ms
 *   timeout waiting for pong from NAME (IP)
 * and stops at the first direct pong or after N results.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "localapi_client.h"
#include "meshctl.h"

enum ping_limits {
	PING_DEFAULT_COUNT = 10,
	PING_MAX_COUNT = 1000000,
};

static void print_pong(const cJSON *r, const char *name, const char *ip)
{
	const char *via = cli_json_str(r, "via"), *ep = cli_json_str(r, "endpoint");
	const char *relay = cli_json_str(r, "relay");
	const cJSON *lat = cJSON_GetObjectItemCaseSensitive(r, "latency_ms");
	double ms = cJSON_IsNumber(lat) && lat->valuedouble > 0 ? lat->valuedouble : 0;

	printf("pong from %s (%s) via ", name, ip);
	if (via && !strcmp(via, "direct"))
		printf("%s", ep ? ep : "direct");
	else
		printf("relay(%s)", relay ? relay : "?");
	printf(" in %.0fms\n", ms);
}

static int run_ping(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv)
{
	long count = PING_DEFAULT_COUNT;
	struct flag flags[] = {{.name = "c", .type = FLAG_INT, .value = &count}};
	struct localapi_conn *c = NULL;
	char err[LOCALAPI_ERROR_MAX], last[320] = "";
	const char *line, *answer, *msg, *name, *ip, *via;
	size_t nargs, len, pongs = 0;
	cJSON *body = NULL, *r;
	char *args[1], *text = NULL;
	int status, ret, rc;

	if (!cli_parse(ctl, cmd, flags, 1, argc, argv, args, 1, &nargs, &rc))
		return rc;
	if (!nargs)
		return cli_usage_error(cmd, "missing PEER");
	if (count < 1 || count > PING_MAX_COUNT)
		return cli_usage_error(cmd, "-c must be between 1 and %d", PING_MAX_COUNT);
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "peer", args[0]) ||
	    !cJSON_AddNumberToObject(body, "count", (double)count) ||
	    !(text = cJSON_PrintUnformatted(body))) {
		cli_error("out of memory");
		rc = CLI_FAIL;
		goto out_free;
	}
	rc = CLI_FAIL;
	if (localapi_connect(&c, ctl->socket, err, sizeof(err))) {
		cli_error("%s", err);
		goto out_free;
	}
	if (localapi_request(c, "POST", "/localapi/v0/ping", text, CLI_CALL_TIMEOUT_MS, &status)) {
		cli_error("%s", localapi_error(c));
		goto out_close;
	}
	if (status != 200) {
		ret = localapi_read_body(c, CLI_CALL_TIMEOUT_MS, &answer, &len);
		cli_print_http_error(status, ret ? NULL : answer);
		goto out_close;
	}
	for (long n = 0; n < count;) {
		ret = localapi_read_line(c, CLI_STREAM_IDLE_MS, &line);
		if (ret < 0) {
			cli_error("%s", localapi_error(c));
			goto out_close;
		}
		if (ret == 0)
			break;
		r = cJSON_Parse(line);
		if (!cJSON_IsObject(r)) {
			cJSON_Delete(r);
			continue;
		}
		if ((msg = cli_json_str(r, "error"))) {
			cli_error("%s", msg);
			cJSON_Delete(r);
			goto out_close;
		}
		name = cli_json_str(r, "peer");
		ip = cli_json_str(r, "ip");
		name = name ? name : args[0];
		ip = ip ? ip : "?";
		snprintf(last, sizeof(last), "%s (%s)", name, ip);
		n++;
		if (cli_json_bool(r, "timeout", false)) {
			printf("timeout waiting for pong from %s (%s)\n", name, ip);
		} else {
			print_pong(r, name, ip);
			pongs++;
			via = cli_json_str(r, "via");
			if (via && !strcmp(via, "direct")) {
				cJSON_Delete(r);
				break;
			}
		}
		fflush(stdout);
		cJSON_Delete(r);
	}
	fflush(stdout);
	if (!pongs) {
		cli_error("no reply from %s", last[0] ? last : args[0]);
		goto out_close;
	}
	rc = CLI_OK;
out_close:
	localapi_close(c);
out_free:
	cJSON_free(text);
	cJSON_Delete(body);
	return rc;
}

/* A value of the netcheck report as text: JSON text for anything but strings. */
static void print_value(const cJSON *item)
{
	char *text;

	if (cJSON_IsString(item)) {
		printf("%s", item->valuestring);
		return;
	}
	text = cJSON_PrintUnformatted(item);
	printf("%s", text ? text : "?");
	cJSON_free(text);
}

static void print_family(const cJSON *rep, const char *label, const char *have, const char *global)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(rep, have);
	const char *addr = cli_json_str(rep, global);

	if (!h && !addr)
		return;
	if (addr && *addr)
		printf("\t* %s: yes, %s\n", label, addr);
	else if (cJSON_IsTrue(h))
		printf("\t* %s: yes\n", label);
	else
		printf("\t* %s: no\n", label);
}

static void print_latency(const cJSON *lat)
{
	const cJSON *r, *ms;
	const char *code, *rname;

	printf("\t* Relay latency:\n");
	cJSON_ArrayForEach(r, lat)
	{
		/* {"home": 12.3, ...} or [{"code": "home", "name": "Home", "latency_ms": 12.3}] */
		ms = cJSON_IsNumber(r) ? r : cJSON_GetObjectItemCaseSensitive(r, "latency_ms");
		code = r->string ? r->string : cli_json_str(r, "code");
		rname = cJSON_IsObject(r) ? cli_json_str(r, "name") : NULL;
		printf("\t\t- %s: ", code ? code : "?");
		if (cJSON_IsNumber(ms))
			printf("%.1fms", ms->valuedouble);
		else
			printf("-");
		if (rname)
			printf(" (%s)", rname);
		printf("\n");
	}
}

static int run_netcheck(struct meshctl *ctl, const struct cli_command *cmd, int argc, char **argv)
{
	static const char *const known[] = {
		"udp",
		"ipv4",
		"global_v4",
		"ipv6",
		"global_v6",
		"mapping_varies_by_dest_ip",
		"preferred_relay",
		"relay_latency",
	};
	const cJSON *item;
	char *args[1];
	size_t nargs;
	cJSON *rep = NULL;
	int rc;

	if (!cli_parse(ctl, cmd, NULL, 0, argc, argv, args, 0, &nargs, &rc))
		return rc;
	if (cli_call(ctl, "GET", "/localapi/v0/netcheck", NULL, CLI_SLOW_TIMEOUT_MS, false, &rep))
		return CLI_FAIL;
	if (!cJSON_IsObject(rep)) {
		cli_error("meshd sent a netcheck report that is not a JSON object");
		cJSON_Delete(rep);
		return CLI_FAIL;
	}
	printf("\nReport:\n");
	if ((item = cJSON_GetObjectItemCaseSensitive(rep, "udp")))
		printf("\t* UDP: %s\n", cJSON_IsTrue(item) ? "true" : "false");
	print_family(rep, "IPv4", "ipv4", "global_v4");
	print_family(rep, "IPv6", "ipv6", "global_v6");
	if ((item = cJSON_GetObjectItemCaseSensitive(rep, "mapping_varies_by_dest_ip"))) {
		printf("\t* MappingVariesByDestIP: ");
		print_value(item);
		printf("\n");
	}
	if ((item = cJSON_GetObjectItemCaseSensitive(rep, "preferred_relay"))) {
		printf("\t* Nearest relay: ");
		print_value(item);
		printf("\n");
	}
	/* Whatever else a newer meshd reports, shown as it comes. */
	cJSON_ArrayForEach(item, rep)
	{
		size_t k;

		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			if (!strcmp(item->string, known[k]))
				break;
		}
		if (k < sizeof(known) / sizeof(known[0]))
			continue;
		printf("\t* %s: ", item->string);
		print_value(item);
		printf("\n");
	}
	if ((item = cJSON_GetObjectItemCaseSensitive(rep, "relay_latency")))
		print_latency(item);
	cJSON_Delete(rep);
	return CLI_OK;
}

const struct cli_command cmd_ping = {
	.name = "ping",
	.usage = "usage: meshctl ping [-c N] PEER\n"
		 "\n"
		 "Ping PEER (a name or a mesh IP) through meshd and show the path each pong took.\n"
		 "Stops at the first direct pong or after N pings; exits 1 if none came back.\n"
		 "\n"
		 "flags:\n"
		 "  -c N            send at most N pings (default 10)\n"
		 "  --socket PATH   meshd's local API socket\n",
	.run = run_ping,
};

const struct cli_command cmd_netcheck = {
	.name = "netcheck",
	.usage = "usage: meshctl netcheck\n"
		 "\n"
		 "Report on this host's network: UDP, public addresses, NAT behaviour and the\n"
		 "latency to each relay.\n",
	.run = run_netcheck,
};
