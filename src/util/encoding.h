/* SPDX-License-Identifier: MIT */
/*
 * Keys and binary blobs as text: standard base64 with padding (what `wg`
 * prints and reads) and hex, both constant-time through libsodium, so
 * decoding a private key does not leak its bits through timing.
 *
 * Decoders are strict: exact lengths, no white space, no embedded NUL, and
 * for base64 only the canonical spelling (the unused low bits of the last
 * character must be zero), so each key has exactly one text form. On failure
 * they return -EINVAL and leave the output zeroed.
 */
#ifndef MESH_UTIL_ENCODING_H
#define MESH_UTIL_ENCODING_H

#include <stddef.h>
#include <stdint.h>

enum enc_lengths {
	ENC_KEY_LEN = 32,
	ENC_KEY_B64_LEN = 44, /* 43 characters and one '=' */
	ENC_KEY_HEX_LEN = 64,
};

/** Write the 32-byte @key as 44 base64 characters and a NUL into @out. */
void enc_key_to_base64(char out[ENC_KEY_B64_LEN + 1], const uint8_t key[ENC_KEY_LEN]);

/**
 * Decode a key from @s, which must be exactly 44 characters of canonical
 * standard base64 ending in '='. Returns 0, or -EINVAL with @key zeroed.
 */
int enc_key_from_base64(uint8_t key[ENC_KEY_LEN], const char *s);

/** Write the 32-byte @key as 64 lowercase hex digits and a NUL into @out. */
void enc_key_to_hex(char out[ENC_KEY_HEX_LEN + 1], const uint8_t key[ENC_KEY_LEN]);

/**
 * Decode a key from @s, which must be exactly 64 hex digits (either case).
 * Returns 0, or -EINVAL with @key zeroed.
 */
int enc_key_from_hex(uint8_t key[ENC_KEY_LEN], const char *s);

/** Write @inlen bytes at @in as lowercase hex into @out, which holds 2 * @inlen + 1 bytes. */
void enc_hex_encode(char *out, const uint8_t *in, size_t inlen);

/**
 * Decode the @slen characters at @s (NUL not required) into exactly @outlen
 * bytes: @slen must be 2 * @outlen and every character a hex digit. Returns 0,
 * or -EINVAL with @out zeroed.
 */
int enc_hex_decode(uint8_t *out, size_t outlen, const char *s, size_t slen);

/** Characters enc_base64_encode() writes for @inlen bytes, NUL excluded. */
size_t enc_base64_len(size_t inlen);

/** Write @inlen bytes at @in as padded standard base64 into @out (enc_base64_len() + 1 bytes). */
void enc_base64_encode(char *out, const uint8_t *in, size_t inlen);

/**
 * Decode the @slen characters of canonical padded standard base64 at @s into
 * @out (room for @outmax bytes), storing the decoded length in *@outlen.
 * Returns 0, -EINVAL for bad input (@out zeroed), or -ENOBUFS if @outmax is
 * too small.
 */
int enc_base64_decode(uint8_t *out, size_t outmax, size_t *outlen, const char *s, size_t slen);

#endif
