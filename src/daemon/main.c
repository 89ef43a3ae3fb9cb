// SPDX-License-Identifier: MIT
/*
 * meshd: the node daemon (daemon.c), or with the `wireguard` command the
 * bare WireGuard engine (wireguard.c).
 */
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/wireguard.h"

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "wireguard"))
		return wireguard_main(argc - 1, argv + 1);
	if (argc > 1 && argv[1][0] != '-') {
		fprintf(stderr, "meshd: unknown command '%s' (try meshd --help)\n", argv[1]);
		return 2;
	}
	return daemon_main(argc, argv);
}
