// SPDX-License-Identifier: MIT
/*
 * Base64 and hex for keys and blobs. All decoding goes through libsodium's
 * constant-time codecs; the checks done here look only at lengths and at
 * padding, which are public.
 */
#include "util/encoding.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

void enc_key_to_base64(char out[ENC_KEY_B64_LEN + 1], const uint8_t key[ENC_KEY_LEN])
{
	sodium_bin2base64(out, ENC_KEY_B64_LEN + 1, key, ENC_KEY_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

int enc_key_from_base64(uint8_t key[ENC_KEY_LEN], const char *s)
{
	size_t outlen = 0;
	int ret;

	if (!s || strnlen(s, ENC_KEY_B64_LEN + 1) != ENC_KEY_B64_LEN) {
		sodium_memzero(key, ENC_KEY_LEN);
		return -EINVAL;
	}
	ret = enc_base64_decode(key, ENC_KEY_LEN, &outlen, s, ENC_KEY_B64_LEN);
	if (ret || outlen != ENC_KEY_LEN) {
		sodium_memzero(key, ENC_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

void enc_key_to_hex(char out[ENC_KEY_HEX_LEN + 1], const uint8_t key[ENC_KEY_LEN])
{
	enc_hex_encode(out, key, ENC_KEY_LEN);
}

int enc_key_from_hex(uint8_t key[ENC_KEY_LEN], const char *s)
{
	if (!s || strnlen(s, ENC_KEY_HEX_LEN + 1) != ENC_KEY_HEX_LEN) {
		sodium_memzero(key, ENC_KEY_LEN);
		return -EINVAL;
	}
	return enc_hex_decode(key, ENC_KEY_LEN, s, ENC_KEY_HEX_LEN);
}

void enc_hex_encode(char *out, const uint8_t *in, size_t inlen)
{
	sodium_bin2hex(out, 2 * inlen + 1, in, inlen);
}

int enc_hex_decode(uint8_t *out, size_t outlen, const char *s, size_t slen)
{
	const char *end = NULL;
	size_t binlen = 0;

	/* sodium_hex2bin stops at the first non-hex byte; "end" tells us where. */
	if (slen != 2 * outlen || sodium_hex2bin(out, outlen, s, slen, NULL, &binlen, &end) ||
	    binlen != outlen || end != s + slen) {
		sodium_memzero(out, outlen);
		return -EINVAL;
	}
	return 0;
}

size_t enc_base64_len(size_t inlen)
{
	return (inlen + 2) / 3 * 4;
}

void enc_base64_encode(char *out, const uint8_t *in, size_t inlen)
{
	sodium_bin2base64(out, enc_base64_len(inlen) + 1, in, inlen,
			  sodium_base64_VARIANT_ORIGINAL);
}

/*
 * libsodium 1.0.18 decodes every byte >= 0x80 as '/' instead of rejecting it,
 * so look for the high bit ourselves, without a data-dependent branch.
 */
static bool has_high_bit(const char *s, size_t n)
{
	unsigned int acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= (unsigned char)s[i];
	return acc & 0x80;
}

int enc_base64_decode(uint8_t *out, size_t outmax, size_t *outlen, const char *s, size_t slen)
{
	const char *end = NULL;
	size_t need, pad = 0, binlen = 0;

	*outlen = 0;
	if (slen % 4 || has_high_bit(s, slen))
		goto out_invalid;
	if (slen && s[slen - 1] == '=')
		pad = slen >= 2 && s[slen - 2] == '=' ? 2 : 1;
	need = slen / 4 * 3 - pad;
	if (need > outmax)
		return -ENOBUFS;
	/*
	 * libsodium rejects bad characters, misplaced padding and non-zero
	 * unused bits; the end pointer catches an early stop (an embedded NUL).
	 */
	if (sodium_base642bin(out, outmax, s, slen, NULL, &binlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    end != s + slen || binlen != need)
		goto out_invalid;
	*outlen = binlen;
	return 0;

out_invalid:
	sodium_memzero(out, outmax);
	return -EINVAL;
}
