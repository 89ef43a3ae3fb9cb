/* SPDX-License-Identifier: MIT */
/*
 * The one entry point every fuzz target defines, and what the drivers call:
 * libFuzzer's main (clang, -fsanitize=fuzzer) or replay_main.c (any
 * compiler), which feeds it the files of a corpus.
 */
#ifndef MESH_TESTS_FUZZ_H
#define MESH_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/**
 * Run one input of @size bytes at @data through the code under test. The
 * input is read-only and not NUL-terminated. Returns 0 (libFuzzer reserves
 * other values); a bug shows as a sanitizer report or abort().
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A property every target checks beyond "does not crash": when @cond is
 * false, say which and abort(), so libFuzzer records the input as a crash
 * and the replay test fails. Not assert(): it must hold in release builds.
 */
#define FUZZ_CHECK(cond)                                              \
	do {                                                          \
		if (!(cond))                                          \
			fuzz_check_failed(#cond, __FILE__, __LINE__); \
	} while (0)

/** Report a failed FUZZ_CHECK on stderr and abort(). */
__attribute__((noreturn)) void fuzz_check_failed(const char *what, const char *file, int line);

#endif
