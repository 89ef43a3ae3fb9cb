// SPDX-License-Identifier: MIT
/*
 * Helpers shared by every fuzz target, linked into both the libFuzzer
 * binaries and the replay executables.
 */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"

void fuzz_check_failed(const char *what, const char *file, int line)
{
	fprintf(stderr, "%s:%d: fuzz property violated: %s\n", file, line, what);
	fflush(stderr);
	abort();
}
