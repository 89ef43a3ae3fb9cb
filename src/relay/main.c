// SPDX-License-Identifier: MIT
/*
 * meshrelay: the stand-alone relay + STUN server. Until the NAT traversal
 * issue lands this front end only knows its usage.
 */
#include <stdio.h>
#include <string.h>

#include "mesh/version.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: meshrelay --listen ADDR [--tls-cert FILE --tls-key FILE]"
		   " --stun-listen ADDR\n"
		   "       meshrelay --version\n");
}

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("meshrelay %s\n", MESH_VERSION);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	fprintf(stderr, "meshrelay: not implemented yet\n");
	return 1;
}
