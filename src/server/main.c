// SPDX-License-Identifier: MIT
/*
 * meshcontrol: the coordination server and its admin CLI. Until the
 * meshcontrol issue lands this front end only knows its usage.
 */
#include <stdio.h>
#include <string.h>

#include "mesh/version.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: meshcontrol serve --config FILE\n"
		   "       meshcontrol configtest --config FILE\n"
		   "       meshcontrol --config FILE users|authkeys|nodes|routes|policy ...\n"
		   "       meshcontrol policy check FILE [--nodes INVENTORY.json] [--json]\n"
		   "       meshcontrol --version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("meshcontrol %s\n", MESH_VERSION);
		return 0;
	}
	fprintf(stderr, "meshcontrol: '%s' is not implemented yet\n", argv[1]);
	return 2;
}
