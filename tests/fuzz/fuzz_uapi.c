// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the UAPI protocol (wg/uapi.h): the input is the body of a
 * "set=1" request, executed against a device with in-memory I/O, then the
 * device is read back with a "get".
 *
 * Property checked besides memory safety: the get answer is a complete
 * description of the configuration. Its configuration lines (the counters
 * and handshake times left out) are a valid set request, and applying them
 * to a fresh device yields the same get answer.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "fuzz.h"
#include "wg/device.h"
#include "wg/uapi.h"

static unsigned net_send(void *ctx, struct pktbuf *const *bufs, unsigned n)
{
	(void)ctx;
	(void)bufs;
	return n;
}

/* Every port binds, and stays what was asked (0 stays 0: a fresh device). */
static int net_bind(void *ctx, uint16_t port, uint32_t fwmark, uint16_t *bound)
{
	(void)ctx;
	(void)fwmark;
	*bound = port;
	return 0;
}

static void tun_write(void *ctx, struct pktbuf *const *bufs, unsigned n)
{
	(void)ctx;
	(void)bufs;
	(void)n;
}

static const struct wg_net_ops net_ops = {.send = net_send, .bind = net_bind};
static const struct wg_tun_ops tun_ops = {.write = tun_write};

static uv_loop_t loop;
static struct wg_device *devs[2];

static void setup(void)
{
	if (devs[0])
		return;
	if (uv_loop_init(&loop))
		abort();
	for (int i = 0; i < 2; i++)
		if (wg_device_create(&devs[i], &loop, &net_ops, NULL, &tun_ops, NULL))
			abort();
}

/* Back to a fresh device's configuration. */
static void reset(struct wg_device *dev)
{
	static const uint8_t zero[32];

	wg_device_remove_all_peers(dev);
	if (wg_device_set_private_key(dev, zero) || wg_device_set_fwmark(dev, 0) ||
	    wg_device_set_listen_port(dev, 0))
		abort();
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* Lines a set request does not take: counters and handshake times. */
static bool is_status_line(const char *line, size_t len)
{
	static const char *const keys[] = {
		"last_handshake_time_sec=", "last_handshake_time_nsec=", "tx_bytes=", "rx_bytes="};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (len >= strlen(keys[i]) && !memcmp(line, keys[i], strlen(keys[i])))
			return true;
	return false;
}

/* The get answer of @dev without its status lines, NUL-terminated (NULL: no memory). */
static char *config_of(struct wg_device *dev)
{
	struct uapi_text t = {0};
	char *out = NULL;
	size_t off = 0, n = 0;

	if (uapi_format_get(dev, &t))
		goto out_free;
	out = malloc(t.len + 1);
	if (!out)
		goto out_free;
	while (off < t.len) {
		const char *nl = memchr(t.data + off, '\n', t.len - off);
		size_t len = nl ? (size_t)(nl - (t.data + off)) + 1 : t.len - off;

		/* The answer is lines of "key=value\n", never an empty line. */
		FUZZ_CHECK(nl != NULL && len > 1 && memchr(t.data + off, '=', len));
		if (!is_status_line(t.data + off, len)) {
			memcpy(out + n, t.data + off, len);
			n += len;
		}
		off += len;
	}
	out[n] = '\0';
out_free:
	uapi_text_free(&t);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *first, *second;

	setup();
	reset(devs[0]);
	(void)uapi_exec_set(devs[0], (const char *)data, size);
	first = config_of(devs[0]);
	if (!first)
		goto out_reset;

	reset(devs[1]);
	FUZZ_CHECK(uapi_exec_set(devs[1], first, strlen(first)) == 0);
	second = config_of(devs[1]);
	if (second)
		FUZZ_CHECK(strcmp(first, second) == 0);
	free(second);
	free(first);
	reset(devs[1]);
out_reset:
	reset(devs[0]);
	return 0;
}
