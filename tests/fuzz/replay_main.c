// SPDX-License-Identifier: MIT
/*
 * A main() for fuzz targets built without libFuzzer (gcc, or clang without
 * MESH_FUZZ): run every file named on the command line, and every regular
 * file of every directory named (in name order, dot files skipped), through
 * LLVMFuzzerTestOneInput once. ctest uses it to replay the committed corpora,
 * so an input that once crashed keeps being tested in every build.
 *
 * Each input is read into a heap block of exactly its size, so a read past
 * the end is caught by AddressSanitizer as it would be under libFuzzer.
 * Arguments starting with '-' are ignored (libFuzzer flags). Exit status: 0,
 * or 1 if a path cannot be read or no input was found at all (an empty or
 * misspelt corpus must not pass silently). A bug aborts the process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Read @path into a heap block of exactly its size (at least 1 byte, for malloc). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t off = 0, size;
	int fd, ret = 0;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out_close;
	}
	size = (size_t)st.st_size;
	buf = malloc(size ? size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	while (off < size) {
		ssize_t n = read(fd, buf + off, size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			free(buf);
			goto out_close;
		}
		off += (size_t)n;
	}
	*out = buf;
	*len = size;
out_close:
	close(fd);
	return ret;
}

static int run_file(const char *path)
{
	uint8_t *buf;
	size_t len;
	int ret;

	ret = read_file(path, &buf, &len);
	if (ret) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(-ret));
		return ret;
	}
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

static int skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Run every regular file of @dir; adds the count to *@n. */
static int run_dir(const char *dir, unsigned long *n)
{
	struct dirent **names;
	int count, ret = 0;

	count = scandir(dir, &names, skip_dot, alphasort);
	if (count < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < count; i++) {
		char path[4096];
		struct stat st;

		if (!ret &&
		    snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) <
			    (int)sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			ret = run_file(path);
			if (!ret)
				(*n)++;
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long n = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		int ret;

		if (argv[i][0] == '-')
			continue;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			ret = run_dir(argv[i], &n);
		} else {
			ret = run_file(argv[i]);
			n += ret == 0;
		}
		if (ret)
			return 1;
	}
	if (n == 0) {
		fprintf(stderr, "replay: no inputs (usage: %s FILE|DIR...)\n", argv[0]);
		return 1;
	}
	fprintf(stderr, "replay: %lu inputs, no failure\n", n);
	return 0;
}
