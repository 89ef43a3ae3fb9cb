// SPDX-License-Identifier: MIT
/*
 * Fuzz target for util/encoding: the input as text for the key decoders
 * (base64 and hex, NUL-terminated copy) and as raw characters for the
 * length-delimited decoders; and the input as bytes for the encoders.
 *
 * Properties checked besides memory safety:
 *  - decoders are canonical: what decodes re-encodes to the very same text
 *    (hex modulo case), so each key has one text form;
 *  - a failed decode leaves the output zeroed;
 *  - encode → decode gives back the bytes, for any input;
 *  - -ENOBUFS is answered only when the output really does not fit.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util/encoding.h"

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static bool equal_lowercase(const char *text, const char *lower, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (tolower((unsigned char)text[i]) != lower[i])
			return false;
	return true;
}

static void check_keys(const char *s)
{
	char b64[ENC_KEY_B64_LEN + 1], hex[ENC_KEY_HEX_LEN + 1];
	uint8_t key[ENC_KEY_LEN];

	if (enc_key_from_base64(key, s) == 0) {
		enc_key_to_base64(b64, key);
		FUZZ_CHECK(strcmp(b64, s) == 0);
	} else {
		FUZZ_CHECK(all_zero(key, sizeof(key)));
	}
	if (enc_key_from_hex(key, s) == 0) {
		FUZZ_CHECK(strlen(s) == ENC_KEY_HEX_LEN);
		enc_key_to_hex(hex, key);
		FUZZ_CHECK(equal_lowercase(s, hex, ENC_KEY_HEX_LEN));
	} else {
		FUZZ_CHECK(all_zero(key, sizeof(key)));
	}
}

/* The input as base64 / hex text of its exact length. */
static void check_decoders(const char *s, size_t len)
{
	size_t max = len / 4 * 3 + 3, outlen = 0, small_len = 0;
	uint8_t *out = malloc(max), *small;
	char *text = malloc(len + 1);
	int ret;

	if (!out || !text)
		goto out_free;
	ret = enc_base64_decode(out, max, &outlen, s, len);
	if (ret == 0) {
		FUZZ_CHECK(outlen <= max);
		FUZZ_CHECK(enc_base64_len(outlen) == len);
		enc_base64_encode(text, out, outlen);
		FUZZ_CHECK(memcmp(text, s, len) == 0 && text[len] == '\0');
		/* One byte less room must be refused, not overrun. */
		if (outlen > 0) {
			small = malloc(outlen - 1 ? outlen - 1 : 1);
			if (small) {
				ret = enc_base64_decode(small, outlen - 1, &small_len, s, len);
				FUZZ_CHECK(ret == -ENOBUFS);
				free(small);
			}
		}
	} else {
		FUZZ_CHECK(ret == -EINVAL);
		FUZZ_CHECK(all_zero(out, max));
	}

	if (len % 2 == 0) {
		ret = enc_hex_decode(out, len / 2, s, len);
		if (ret == 0) {
			enc_hex_encode(text, out, len / 2);
			FUZZ_CHECK(equal_lowercase(s, text, len));
		} else {
			FUZZ_CHECK(ret == -EINVAL);
			FUZZ_CHECK(all_zero(out, len / 2));
		}
	}
out_free:
	free(out);
	free(text);
}

/* The input as bytes: encode, decode, compare. */
static void check_encoders(const uint8_t *data, size_t size)
{
	size_t b64len = enc_base64_len(size), outlen = 0;
	char *text = malloc((b64len > 2 * size ? b64len : 2 * size) + 1);
	uint8_t *back = malloc(size + 1);

	if (!text || !back)
		goto out_free;
	enc_base64_encode(text, data, size);
	FUZZ_CHECK(strlen(text) == b64len);
	FUZZ_CHECK(enc_base64_decode(back, size, &outlen, text, b64len) == 0);
	FUZZ_CHECK(outlen == size && memcmp(back, data, size) == 0);

	enc_hex_encode(text, data, size);
	FUZZ_CHECK(strlen(text) == 2 * size);
	FUZZ_CHECK(enc_hex_decode(back, size, text, 2 * size) == 0);
	FUZZ_CHECK(memcmp(back, data, size) == 0);

	if (size >= ENC_KEY_LEN) {
		char b64[ENC_KEY_B64_LEN + 1], hex[ENC_KEY_HEX_LEN + 1];
		uint8_t key[ENC_KEY_LEN];

		enc_key_to_base64(b64, data);
		FUZZ_CHECK(enc_key_from_base64(key, b64) == 0);
		FUZZ_CHECK(memcmp(key, data, ENC_KEY_LEN) == 0);
		enc_key_to_hex(hex, data);
		FUZZ_CHECK(enc_key_from_hex(key, hex) == 0);
		FUZZ_CHECK(memcmp(key, data, ENC_KEY_LEN) == 0);
	}
out_free:
	free(text);
	free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_keys(s);
	check_decoders((const char *)data, size);
	check_encoders(data, size);
	free(s);
	return 0;
}
