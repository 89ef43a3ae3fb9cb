// SPDX-License-Identifier: MIT
/*
 * mesh_router_tool: a command-line driver of the router module, so that the
 * namespace tests can call each API function the way meshd does. Not
 * installed. `serve` keeps one struct router alive across commands read from
 * stdin, which is how a test sees that a second apply changes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/router.h"
#include "router/router_sysctl.h"
#include "util/compiler.h"
#include "util/ipaddr.h"
#include "util/log.h"

enum tool_limits {
	MAX_PREFIXES = 256,
	MAX_WORDS = 600,
	EXIT_USAGE = 2,
};

static const char *const usage_text =
	"usage: mesh_router_tool COMMAND [ARG...]\n"
	"  link IFACE                      print ifindex=N mtu=N up=0|1\n"
	"  link-up IFACE | link-down IFACE | link-mtu IFACE MTU\n"
	"  addr-add IFACE PREFIX... | addr-del IFACE PREFIX... | addr-list IFACE\n"
	"  route-add TABLE PREFIX [dev IFACE] [via ADDR] [src ADDR] [metric N]\n"
	"            [type unicast|throw|blackhole|unreachable]\n"
	"  route-del (as route-add) | route-list TABLE | route-flush TABLE\n"
	"  rule-add PRIORITY table N|unreachable [fwmark MARK/MASK] [-4|-6]\n"
	"  rule-del (as rule-add) | rule-flush MIN MAX\n"
	"  nft-print IFACE [--no-snat] [--v4 PREFIX|none] [--v6 PREFIX|none]\n"
	"  nft-apply (as nft-print) | nft-cleanup\n"
	"  forwarding | forwarding-on\n"
	"  apply IFACE [IDS] [CONFIG] | cleanup IFACE [IDS]\n"
	"  serve IFACE [IDS]   then lines on stdin: apply [CONFIG] | cleanup | quit\n"
	"IDS:    --table N --priority N --mark MARK/MASK --v4 PREFIX|none --v6 PREFIX|none\n"
	"CONFIG: --addr P --route P --local P --mtu N --forwarding --firewall --no-snat\n";

struct tool_config {
	struct ip_prefix addrs[MAX_PREFIXES], routes[MAX_PREFIXES], locals[MAX_PREFIXES];
	struct router_config cfg;
};

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "mesh_router_tool: %s\n", why);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int fail(const char *what, int err, const struct router_nl *nl)
{
	const char *k = nl ? router_nl_error(nl) : "";

	fprintf(stderr, "mesh_router_tool: %s: %s%s%s%s\n", what, strerror(-err),
		k[0] ? " (kernel: " : "", k, k[0] ? ")" : "");
	return 1;
}

static bool parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool parse_prefix(const char *s, struct ip_prefix *p)
{
	const char *why = NULL;

	if (ip_prefix_parse(p, s, &why)) {
		fprintf(stderr, "mesh_router_tool: bad prefix '%s': %s\n", s ? s : "", why);
		return false;
	}
	return true;
}

static bool parse_addr(const char *s, struct ip_addr *a)
{
	const char *why = NULL;

	if (ip_addr_parse(a, s, &why)) {
		fprintf(stderr, "mesh_router_tool: bad address '%s': %s\n", s ? s : "", why);
		return false;
	}
	return true;
}

static bool parse_mark(const char *s, uint32_t *mark, uint32_t *mask)
{
	char buf[32];
	char *slash;

	if (!s || strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	*mask = UINT32_MAX;
	if (slash) {
		*slash = '\0';
		if (!parse_u32(slash + 1, mask))
			return false;
	}
	return parse_u32(buf, mark);
}

static bool optional_prefix(const char *s, struct ip_prefix *p)
{
	if (s && !strcmp(s, "none")) {
		memset(p, 0, sizeof(*p));
		return true;
	}
	return parse_prefix(s, p);
}

/* --- single calls ----------------------------------------------------------------------- */

static int open_nl(struct router_nl *nl)
{
	int ret = router_nl_open(nl);

	if (ret)
		fail("netlink socket", ret, NULL);
	return ret;
}

static int ifindex_of(struct router_nl *nl, const char *name)
{
	int ret = router_nl_link_index(nl, name);

	if (ret < 0)
		fail(name, ret, nl);
	return ret;
}

static int cmd_link(struct router_nl *nl, int argc, char **argv)
{
	struct router_link link;
	uint32_t mtu;
	int idx, ret = 0;

	if (argc < 2)
		return usage("missing IFACE");
	idx = router_nl_link_get(nl, argv[1], &link);
	if (idx < 0)
		return fail(argv[1], idx, nl);
	if (!strcmp(argv[0], "link")) {
		printf("ifindex=%d mtu=%u up=%d name=%s\n", link.ifindex, link.mtu, link.up,
		       link.name);
	} else if (!strcmp(argv[0], "link-mtu")) {
		if (argc != 3 || !parse_u32(argv[2], &mtu))
			return usage("link-mtu IFACE MTU");
		ret = router_nl_link_set_mtu(nl, idx, mtu);
	} else {
		ret = router_nl_link_set_up(nl, idx, !strcmp(argv[0], "link-up"));
	}
	return ret ? fail(argv[0], ret, nl) : 0;
}

static int cmd_addr(struct router_nl *nl, int argc, char **argv)
{
	char buf[IP_PREFIX_STRLEN];
	struct ip_prefix p, list[MAX_PREFIXES];
	int idx, ret, n;

	if (argc < 2)
		return usage("missing IFACE");
	idx = ifindex_of(nl, argv[1]);
	if (idx < 0)
		return 1;
	if (!strcmp(argv[0], "addr-list")) {
		n = router_nl_addr_list(nl, idx, list, ARRAY_SIZE(list));
		if (n < 0)
			return fail("addr-list", n, nl);
		for (int i = 0; i < n && i < (int)ARRAY_SIZE(list); i++)
			printf("%s\n", ip_prefix_format(&list[i], buf, sizeof(buf)));
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		if (!parse_prefix(argv[i], &p))
			return EXIT_USAGE;
		ret = !strcmp(argv[0], "addr-add") ? router_nl_addr_add(nl, idx, &p)
						   : router_nl_addr_del(nl, idx, &p);
		if (ret)
			return fail(argv[0], ret, nl);
	}
	return 0;
}

static int route_args(struct router_nl *nl, int argc, char **argv, struct router_route *r)
{
	static const char *const types[] = {"unicast", "throw", "blackhole", "unreachable"};
	int i, idx;

	memset(r, 0, sizeof(*r));
	if (argc < 3 || !parse_u32(argv[1], &r->table) || !parse_prefix(argv[2], &r->dst))
		return usage("route-add TABLE PREFIX ...");
	for (i = 3; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "dev")) {
			idx = ifindex_of(nl, v);
			if (idx < 0)
				return 1;
			r->ifindex = idx;
		} else if (!strcmp(k, "via")) {
			if (!parse_addr(v, &r->gateway))
				return EXIT_USAGE;
		} else if (!strcmp(k, "src")) {
			if (!parse_addr(v, &r->src))
				return EXIT_USAGE;
		} else if (!strcmp(k, "metric")) {
			if (!parse_u32(v, &r->metric))
				return usage("bad metric");
		} else if (!strcmp(k, "type")) {
			size_t t;

			for (t = 0; t < ARRAY_SIZE(types) && strcmp(types[t], v); t++)
				;
			if (t == ARRAY_SIZE(types))
				return usage("bad route type");
			r->type = (uint8_t)t;
		} else {
			return usage("unknown route option");
		}
	}
	return i == argc ? 0 : usage("route option without value");
}

static int cmd_route(struct router_nl *nl, int argc, char **argv)
{
	static const char *const types[] = {"unicast", "throw", "blackhole", "unreachable",
					    "other"};
	char d[IP_PREFIX_STRLEN], g[IP_ADDR_STRLEN];
	struct router_route r, list[MAX_PREFIXES];
	uint32_t table;
	int ret, n;

	if (!strcmp(argv[0], "route-list") || !strcmp(argv[0], "route-flush")) {
		if (argc != 2 || !parse_u32(argv[1], &table))
			return usage("route-list|route-flush TABLE");
		if (!strcmp(argv[0], "route-flush")) {
			ret = router_nl_route_flush_table(nl, table);
			if (ret < 0)
				return fail("route-flush", ret, nl);
			printf("%d\n", ret);
			return 0;
		}
		n = router_nl_route_list(nl, table, list, ARRAY_SIZE(list));
		if (n < 0)
			return fail("route-list", n, nl);
		for (int i = 0; i < n && i < (int)ARRAY_SIZE(list); i++) {
			ip_prefix_format(&list[i].dst, d, sizeof(d));
			ip_addr_format(&list[i].gateway, g, sizeof(g));
			printf("%s type=%s ifindex=%d via=%s metric=%" PRIu32 " proto=%u\n", d,
			       types[list[i].type], list[i].ifindex,
			       list[i].gateway.family ? g : "-", list[i].metric, list[i].protocol);
		}
		return 0;
	}
	ret = route_args(nl, argc, argv, &r);
	if (ret)
		return ret;
	ret = !strcmp(argv[0], "route-add") ? router_nl_route_add(nl, &r)
					    : router_nl_route_del(nl, &r);
	return ret ? fail(argv[0], ret, nl) : 0;
}

static int cmd_rule(struct router_nl *nl, int argc, char **argv)
{
	struct router_rule r = {.family = IP_FAMILY_V4};
	uint32_t lo, hi;
	int i, ret;

	if (!strcmp(argv[0], "rule-flush")) {
		if (argc != 3 || !parse_u32(argv[1], &lo) || !parse_u32(argv[2], &hi))
			return usage("rule-flush MIN MAX");
		ret = router_nl_rule_flush(nl, lo, hi);
		if (ret < 0)
			return fail("rule-flush", ret, nl);
		printf("%d\n", ret);
		return 0;
	}
	if (argc < 3 || !parse_u32(argv[1], &r.priority))
		return usage("rule-add PRIORITY table N|unreachable ...");
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "-4")) {
			r.family = IP_FAMILY_V4;
		} else if (!strcmp(argv[i], "-6")) {
			r.family = IP_FAMILY_V6;
		} else if (!strcmp(argv[i], "unreachable")) {
			r.action = ROUTER_RULE_UNREACHABLE;
		} else if (!strcmp(argv[i], "table") && i + 1 < argc) {
			if (!parse_u32(argv[++i], &r.table))
				return usage("bad table");
		} else if (!strcmp(argv[i], "fwmark") && i + 1 < argc) {
			if (!parse_mark(argv[++i], &r.fwmark, &r.fwmask))
				return usage("bad fwmark");
		} else {
			return usage("unknown rule option");
		}
	}
	ret = !strcmp(argv[0], "rule-add") ? router_nl_rule_add(nl, &r)
					   : router_nl_rule_del(nl, &r);
	return ret ? fail(argv[0], ret, nl) : 0;
}

static int cmd_nft(int argc, char **argv)
{
	struct router_nft_config c = {.snat = true};
	char script[ROUTER_NFT_SCRIPT_MAX], err[ROUTER_NFT_ERRLEN];
	int ret;

	if (!strcmp(argv[0], "nft-cleanup")) {
		ret = router_nft_cleanup(err, sizeof(err));
		if (ret)
			fprintf(stderr, "mesh_router_tool: nft-cleanup: %s (%s)\n", strerror(-ret),
				err);
		return ret ? 1 : 0;
	}
	if (argc < 2 || strlen(argv[1]) >= sizeof(c.ifname))
		return usage("nft-apply IFACE ...");
	strcpy(c.ifname, argv[1]);
	ip_prefix_parse(&c.mesh_v4, "100.64.0.0/10", NULL);
	ip_prefix_parse(&c.mesh_v6, "fd7a:115c:a1e0::/48", NULL);
	for (int i = 2; i < argc; i++) {
		ret = 0;
		if (!strcmp(argv[i], "--no-snat"))
			c.snat = false;
		else if (!strcmp(argv[i], "--v4") && i + 1 < argc)
			ret = optional_prefix(argv[++i], &c.mesh_v4) ? 0 : EXIT_USAGE;
		else if (!strcmp(argv[i], "--v6") && i + 1 < argc)
			ret = optional_prefix(argv[++i], &c.mesh_v6) ? 0 : EXIT_USAGE;
		else
			return usage("unknown nft option");
		if (ret)
			return ret;
	}
	if (!strcmp(argv[0], "nft-print")) {
		ret = router_nft_build(&c, script, sizeof(script));
		if (ret < 0)
			return fail("nft-print", ret, NULL);
		fputs(script, stdout);
		return 0;
	}
	ret = router_nft_apply(&c, err, sizeof(err));
	if (ret)
		fprintf(stderr, "mesh_router_tool: nft-apply: %s (%s)\n", strerror(-ret), err);
	return ret ? 1 : 0;
}

static int cmd_forwarding(int argc, char **argv)
{
	bool v4 = false, v6 = false;
	int ret;

	(void)argc;
	if (!strcmp(argv[0], "forwarding-on")) {
		ret = router_sysctl_enable_forwarding(true, true);
		return ret ? fail("forwarding-on", ret, NULL) : 0;
	}
	ret = router_sysctl_forwarding(IP_FAMILY_V4, &v4);
	if (!ret)
		ret = router_sysctl_forwarding(IP_FAMILY_V6, &v6);
	if (ret)
		return fail("forwarding", ret, NULL);
	printf("ipv4=%d ipv6=%d\n", v4, v6);
	return 0;
}

/* --- the facade ------------------------------------------------------------------------- */

/* Parses IDS options from argv[*i...] into @ids; stops at the first other word. */
static int parse_ids(int argc, char **argv, int *i, struct router_ids *ids)
{
	for (; *i < argc; (*i)++) {
		const char *k = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
		bool ok;

		if (!strcmp(k, "--table"))
			ok = parse_u32(v, &ids->table);
		else if (!strcmp(k, "--priority"))
			ok = parse_u32(v, &ids->rule_priority);
		else if (!strcmp(k, "--mark"))
			ok = parse_mark(v, &ids->bypass_mark, &ids->fwmark_mask);
		else if (!strcmp(k, "--v4"))
			ok = optional_prefix(v, &ids->mesh_v4);
		else if (!strcmp(k, "--v6"))
			ok = optional_prefix(v, &ids->mesh_v6);
		else
			return 0;
		if (!ok)
			return usage("bad router option");
		(*i)++;
	}
	return 0;
}

static int add_prefix(struct ip_prefix *arr, size_t *n, const char *s)
{
	if (*n >= MAX_PREFIXES)
		return usage("too many prefixes");
	if (!s || !parse_prefix(s, &arr[*n]))
		return EXIT_USAGE;
	(*n)++;
	return 0;
}

static int parse_config(int argc, char **argv, int i, struct tool_config *t)
{
	struct router_config *c = &t->cfg;
	int ret = 0;

	memset(c, 0, sizeof(*c));
	c->snat = true;
	c->addrs = t->addrs;
	c->routes = t->routes;
	c->local_routes = t->locals;
	for (; i < argc && !ret; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(k, "--addr")) {
			ret = add_prefix(t->addrs, &c->n_addrs, v);
			i++;
		} else if (!strcmp(k, "--route")) {
			ret = add_prefix(t->routes, &c->n_routes, v);
			i++;
		} else if (!strcmp(k, "--local")) {
			ret = add_prefix(t->locals, &c->n_local_routes, v);
			i++;
		} else if (!strcmp(k, "--mtu")) {
			uint32_t mtu;

			if (!parse_u32(v, &mtu))
				return usage("bad --mtu");
			c->mtu = mtu;
			i++;
		} else if (!strcmp(k, "--forwarding")) {
			c->forwarding = true;
		} else if (!strcmp(k, "--firewall")) {
			c->firewall = true;
		} else if (!strcmp(k, "--no-snat")) {
			c->snat = false;
		} else {
			fprintf(stderr, "mesh_router_tool: unknown option '%s'\n", k);
			return EXIT_USAGE;
		}
	}
	return ret;
}

static int do_apply(struct router *r, int argc, char **argv, int i)
{
	static struct tool_config t;
	int ret;

	ret = parse_config(argc, argv, i, &t);
	if (ret)
		return ret;
	ret = router_apply(r, &t.cfg);
	if (ret < 0)
		return fail("apply", ret, NULL);
	printf("ok %d\n", ret);
	return 0;
}

static int do_cleanup(struct router *r)
{
	int ret = router_cleanup(r);

	if (ret < 0)
		return fail("cleanup", ret, NULL);
	printf("ok %u\n", r->stats.changes);
	return 0;
}

/* Reads "apply ...", "cleanup", "quit" lines; answers "ok N" or an error line, flushing each. */
static int serve(struct router *r)
{
	char *line = NULL, *words[MAX_WORDS], *save, *w;
	size_t cap = 0;
	int n, ret = 0;

	while (getline(&line, &cap, stdin) >= 0) {
		n = 0;
		for (w = strtok_r(line, " \t\r\n", &save); w && n < MAX_WORDS;
		     w = strtok_r(NULL, " \t\r\n", &save))
			words[n++] = w;
		if (n == 0)
			continue;
		if (!strcmp(words[0], "quit"))
			break;
		if (!strcmp(words[0], "apply"))
			ret = do_apply(r, n, words, 1);
		else if (!strcmp(words[0], "cleanup"))
			ret = do_cleanup(r);
		else
			ret = usage("serve: apply|cleanup|quit");
		if (ret)
			printf("error %d\n", ret);
		fflush(stdout);
	}
	free(line);
	return 0;
}

static int cmd_router(int argc, char **argv)
{
	struct router_ids ids;
	struct router r;
	int i = 2, ret;

	if (argc < 2 || router_ids_init(&ids, argv[1]))
		return usage("missing or bad IFACE");
	ret = parse_ids(argc, argv, &i, &ids);
	if (ret)
		return ret;
	ret = router_open(&r, &ids);
	if (ret)
		return fail("router_open", ret, NULL);
	if (!strcmp(argv[0], "apply"))
		ret = do_apply(&r, argc, argv, i);
	else if (i != argc)
		ret = usage("unexpected arguments");
	else if (!strcmp(argv[0], "cleanup"))
		ret = do_cleanup(&r);
	else
		ret = serve(&r);
	router_close(&r);
	return ret;
}

int main(int argc, char **argv)
{
	struct router_nl nl;
	const char *cmd;
	int ret;

	if (argc < 2)
		return usage(NULL);
	if (getenv("MESH_ROUTER_TOOL_DEBUG"))
		log_set_level(LOG_DEBUG);
	cmd = argv[1];
	argc--;
	argv++;
	if (!strcmp(cmd, "apply") || !strcmp(cmd, "cleanup") || !strcmp(cmd, "serve"))
		return cmd_router(argc, argv);
	if (!strncmp(cmd, "nft-", 4))
		return cmd_nft(argc, argv);
	if (!strncmp(cmd, "forwarding", 10))
		return cmd_forwarding(argc, argv);
	if (strncmp(cmd, "link", 4) && strncmp(cmd, "addr-", 5) && strncmp(cmd, "route-", 6) &&
	    strncmp(cmd, "rule-", 5))
		return usage("unknown command");
	if (open_nl(&nl))
		return 1;
	if (!strncmp(cmd, "link", 4))
		ret = cmd_link(&nl, argc, argv);
	else if (!strncmp(cmd, "addr-", 5))
		ret = cmd_addr(&nl, argc, argv);
	else if (!strncmp(cmd, "route-", 6))
		ret = cmd_route(&nl, argc, argv);
	else
		ret = cmd_rule(&nl, argc, argv);
	router_nl_close(&nl);
	return ret;
}
