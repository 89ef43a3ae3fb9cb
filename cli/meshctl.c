// SPDX-License-Identifier: MIT
/*
 * meshctl: the command-line client of meshd. Until the daemon issue lands it
 * knows its commands but has no daemon to talk to.
 */
#include <stdio.h>
#include <string.h>

#include "mesh/version.h"

static const char *const commands[] = {
	"up", "set", "down", "logout", "status", "ip", "ping", "netcheck", "whois", "version",
};

static void usage(FILE *f)
{
	fprintf(f, "usage: meshctl [--socket PATH] COMMAND [ARGS]\n\n"
		   "commands:\n"
		   "  up        connect to the mesh (log in if needed)\n"
		   "  set       change settings without reconnecting\n"
		   "  down      disconnect from the mesh\n"
		   "  logout    disconnect and forget this node's login\n"
		   "  status    show this node and its peers [--json]\n"
		   "  ip        show mesh addresses [-4|-6] [PEER]\n"
		   "  ping      ping a peer over the mesh [-c N] PEER\n"
		   "  netcheck  report UDP, NAT and relay latencies\n"
		   "  whois     who owns a mesh address\n"
		   "  version   print the version\n");
}

int main(int argc, char **argv)
{
	int i = 1;

	if (i < argc && !strcmp(argv[i], "--socket") && i + 1 < argc)
		i += 2;
	if (i >= argc || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
	    !strcmp(argv[i], "help")) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? 2 : 0;
	}
	if (!strcmp(argv[i], "version") || !strcmp(argv[i], "--version")) {
		printf("%s\n", MESH_VERSION);
		return 0;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
		if (!strcmp(argv[i], commands[c])) {
			fprintf(stderr, "meshctl: '%s' is not implemented yet\n", argv[i]);
			return 1;
		}
	}
	fprintf(stderr, "meshctl: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
