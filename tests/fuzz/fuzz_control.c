// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the control protocol codec (src/control). The first byte
 * picks what the rest of the input is:
 *   0-4  the JSON of a register request, register response, map request,
 *        map response or server key, decoded from an exact-size buffer;
 *   5    a map stream, fed to the frame reader in pieces whose sizes come
 *        from the input itself, each complete frame opened with a fixed
 *        shared key (the seeds are sealed with it, so mutations past the
 *        box reach the decoder only when the box still opens);
 *   6-7  a sealed register request body, opened with a fixed server key.
 *
 * Properties checked besides memory safety:
 *  - whatever decodes also encodes (the encoder never refuses what the
 *    decoder accepts), the encoding decodes again, and encoding that gives the
 *    same bytes: the encoder's output is canonical;
 *  - a failed decode leaves a NUL-terminated reason;
 *  - the frame reader returns payloads of legal sizes only, and accounts for
 *    every byte (frames + pending = bytes fed) until it reports an error;
 *  - an envelope that opens names its sender: the key in its first 32 bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "control/msg.h"
#include "control/seal.h"
#include "fuzz.h"

typedef int decode_fn(void *m, const uint8_t *buf, size_t len, struct ctl_err *err);
typedef int encode_fn(const void *m, char **out, size_t *len);
typedef void free_fn(void *m);

#define CODEC(name)                                                                   \
	static int dec_##name(void *m, const uint8_t *b, size_t l, struct ctl_err *e) \
	{                                                                             \
		return ctl_##name##_decode(m, b, l, e);                               \
	}                                                                             \
	static int enc_##name(const void *m, char **o, size_t *l)                     \
	{                                                                             \
		return ctl_##name##_encode(m, o, l);                                  \
	}

CODEC(register_request)
CODEC(register_response)
CODEC(map_request)
CODEC(map_response)
CODEC(server_key)

static void free_register_request(void *m)
{
	ctl_register_request_free(m);
}

static void free_register_response(void *m)
{
	ctl_register_response_free(m);
}

static void free_map_request(void *m)
{
	ctl_map_request_free(m);
}

static void free_map_response(void *m)
{
	ctl_map_response_free(m);
}

static void free_server_key(void *m)
{
	(void)m;
}

static const struct {
	decode_fn *dec;
	encode_fn *enc;
	free_fn *free;
	size_t size;
} codecs[] = {
	{dec_register_request, enc_register_request, free_register_request,
	 sizeof(struct ctl_register_request)},
	{dec_register_response, enc_register_response, free_register_response,
	 sizeof(struct ctl_register_response)},
	{dec_map_request, enc_map_request, free_map_request, sizeof(struct ctl_map_request)},
	{dec_map_response, enc_map_response, free_map_response, sizeof(struct ctl_map_response)},
	{dec_server_key, enc_server_key, free_server_key, sizeof(struct ctl_server_key)},
};

enum { NCODECS = sizeof(codecs) / sizeof(codecs[0]) };

static void fuzz_json(unsigned int which, const uint8_t *data, size_t size)
{
	void *m = calloc(1, codecs[which].size), *m2 = calloc(1, codecs[which].size);
	struct ctl_err err = {{0}};
	char *json = NULL, *json2 = NULL;
	size_t len = 0, len2 = 0;

	FUZZ_CHECK(m && m2);
	if (codecs[which].dec(m, data, size, &err)) {
		FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
		goto out;
	}
	FUZZ_CHECK(codecs[which].enc(m, &json, &len) == 0);
	FUZZ_CHECK(codecs[which].dec(m2, (const uint8_t *)json, len, &err) == 0);
	FUZZ_CHECK(codecs[which].enc(m2, &json2, &len2) == 0);
	FUZZ_CHECK(len == len2 && !memcmp(json, json2, len));
out:
	codecs[which].free(m);
	codecs[which].free(m2);
	free(m);
	free(m2);
	free(json);
	free(json2);
}

static void fuzz_frames(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = {1, 2, 3};
	struct ctl_frame_reader r;
	struct ctl_box box;
	size_t off = 0, framed = 0, step;
	int ret = 0;

	memcpy(box.k, key, sizeof(box.k));
	ctl_frame_reader_init(&r);
	while (off < size && !ret) {
		const uint8_t *payload;
		size_t plen;

		step = 1 + data[off] % 64;
		if (step > size - off)
			step = size - off;
		ret = ctl_frame_reader_feed(&r, data + off, step);
		off += step;
		while (!ret && (ret = ctl_frame_reader_next(&r, &payload, &plen)) == 1) {
			struct ctl_map_response m;

			FUZZ_CHECK(plen >= CTL_RESPONSE_OVERHEAD && plen <= CTL_MAX_FRAME);
			framed += CTL_FRAME_HEADER_LEN + plen;
			(void)ctl_map_response_open(&m, &box, payload, plen, NULL);
			ctl_map_response_free(&m);
			ret = 0;
		}
		if (!ret)
			FUZZ_CHECK(framed + ctl_frame_reader_pending(&r) == off);
	}
	FUZZ_CHECK(ret <= 0);
	ctl_frame_reader_free(&r);
}

static void fuzz_envelope(const uint8_t *data, size_t size)
{
	static const uint8_t server_priv[32] = {9, 8, 7};
	struct ctl_register_request m;
	struct ctl_box box;
	struct ctl_err err;

	if (ctl_register_request_open(&m, server_priv, data, size, &box, &err) == 0) {
		FUZZ_CHECK(!memcmp(m.machine_key, data, CTL_KEY_LEN));
		ctl_box_wipe(&box);
	}
	ctl_register_request_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	if (sodium_init() < 0)
		abort();
	/* An exact-size copy of the rest, so reads past it are caught. */
	copy = malloc(size - 1 ? size - 1 : 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	if (data[0] % 8 < NCODECS)
		fuzz_json(data[0] % 8, copy, size - 1);
	else if (data[0] % 8 == 5)
		fuzz_frames(copy, size - 1);
	else
		fuzz_envelope(copy, size - 1);
	free(copy);
	return 0;
}
