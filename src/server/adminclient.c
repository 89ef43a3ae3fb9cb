// SPDX-License-Identifier: MIT
/*
 * Admin socket client: a blocking Unix socket, one request line out, one reply
 * line back, a timeout on both. Requests and replies are wiped after use: they
 * may carry an auth key or a policy.
 */
#include "server/adminclient.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

enum {
	MAX_REPLY = 64 << 20,
};

static int connect_admin(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = ADMINCLIENT_TIMEOUT_S};
	int fd, err;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read up to the first newline into a heap string (free()). */
static int read_line(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *bigger;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= MAX_REPLY) {
				free(buf);
				return -E2BIG;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n ? -errno : -ECONNRESET;

			free(buf);
			return err;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
			break;
	}
	*strchr(buf, '\n') = '\0';
	*out = buf;
	return 0;
}

cJSON *adminclient_call(const char *socket_path, const char *method, cJSON *params, FILE *errs)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL, *result = NULL;
	const cJSON *ok, *err;
	char *text = NULL, *line = NULL;
	int fd, ret;

	cJSON_AddStringToObject(req, "method", method);
	cJSON_AddItemToObject(req, "params", params ? params : cJSON_CreateObject());
	text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!text) {
		fprintf(errs, "meshcontrol: out of memory\n");
		return NULL;
	}
	fd = connect_admin(socket_path);
	if (fd == -EACCES) {
		fprintf(errs,
			"meshcontrol: permission denied on %s: run as root or as the server's "
			"user\n",
			socket_path);
		goto out_free;
	}
	if (fd < 0) {
		fprintf(errs,
			"meshcontrol: cannot reach the server at %s: is 'meshcontrol serve' "
			"running?\n",
			socket_path);
		goto out_free;
	}
	ret = write_all(fd, text, strlen(text));
	if (!ret)
		ret = write_all(fd, "\n", 1);
	/* Even if the server hung up on us, it may have said why first: read it. */
	if (!ret || ret == -EPIPE || ret == -ECONNRESET)
		ret = read_line(fd, &line);
	close(fd);
	if (ret) {
		fprintf(errs, "meshcontrol: no reply from the server at %s: %s\n", socket_path,
			ret == -EAGAIN ? "timed out" : strerror(-ret));
		goto out_free;
	}
	resp = cJSON_Parse(line);
	ok = cJSON_GetObjectItemCaseSensitive(resp, "ok");
	err = cJSON_GetObjectItemCaseSensitive(resp, "error");
	if (!cJSON_IsBool(ok)) {
		fprintf(errs, "meshcontrol: malformed reply from the server\n");
	} else if (!cJSON_IsTrue(ok)) {
		fprintf(errs, "meshcontrol: %s\n",
			cJSON_IsString(err) ? err->valuestring : "the server refused");
	} else {
		result = cJSON_DetachItemFromObjectCaseSensitive(resp, "result");
		if (!result)
			result = cJSON_CreateNull();
	}
out_free:
	cJSON_Delete(resp);
	if (line) {
		sodium_memzero(line, strlen(line));
		free(line);
	}
	sodium_memzero(text, strlen(text));
	free(text);
	return result;
}
