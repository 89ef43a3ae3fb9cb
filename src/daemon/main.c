// SPDX-License-Identifier: MIT
/*
 * meshd: the node daemon. Until the daemon issue lands this front end only
 * knows its usage; it refuses to pretend it runs.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/wireguard.h"
#include "mesh/version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: meshd [--state-dir DIR] [--socket PATH] [--tun NAME] [--port N]\n"
		"             [--tls-ca FILE] [--verbose]\n"
		"       meshd wireguard [-f] [--verbose] IFACE\n"
		"                               run the bare WireGuard engine (configure with wg)\n"
		"       meshd --version\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("meshd %s\n", MESH_VERSION);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "wireguard"))
		return wireguard_main(argc - 1, argv + 1);
	if (argc > 1 && argv[1][0] != '-') {
		fprintf(stderr, "meshd: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	fprintf(stderr, "meshd: the node daemon is not implemented yet\n");
	return 1;
}
