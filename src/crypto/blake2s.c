// SPDX-License-Identifier: MIT
/*
 * BLAKE2s per RFC 7693, written for clarity: 32-bit words, ten rounds, the
 * last block held back in buf until final so the finalisation flag lands on
 * it even when the input is a whole number of blocks.
 */
#include "crypto/blake2s.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/compiler.h"

static const uint32_t blake2s_iv[8] = {
	0x6A09E667UL, 0xBB67AE85UL, 0x3C6EF372UL, 0xA54FF53AUL,
	0x510E527FUL, 0x9B05688CUL, 0x1F83D9ABUL, 0x5BE0CD19UL,
};

static const uint8_t blake2s_sigma[10][16] = {
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
};

static inline uint32_t ror32(uint32_t w, unsigned int c)
{
	return (w >> c) | (w << (32 - c));
}

static inline uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store_le32(uint8_t *p, uint32_t w)
{
	p[0] = (uint8_t)w;
	p[1] = (uint8_t)(w >> 8);
	p[2] = (uint8_t)(w >> 16);
	p[3] = (uint8_t)(w >> 24);
}

/* The byte counter is 64 bits split over t[0] (low) and t[1] (high). */
static void increment_counter(struct blake2s_state *s, uint32_t inc)
{
	s->t[0] += inc;
	s->t[1] += (s->t[0] < inc);
}

#define G(r, i, a, b, c, d)                                   \
	do {                                                  \
		a = a + b + m[blake2s_sigma[r][2 * (i)]];     \
		d = ror32(d ^ a, 16);                         \
		c = c + d;                                    \
		b = ror32(b ^ c, 12);                         \
		a = a + b + m[blake2s_sigma[r][2 * (i) + 1]]; \
		d = ror32(d ^ a, 8);                          \
		c = c + d;                                    \
		b = ror32(b ^ c, 7);                          \
	} while (0)

static void compress(struct blake2s_state *s, const uint8_t block[BLAKE2S_BLOCK_SIZE])
{
	uint32_t m[16], v[16];
	int i, r;

	for (i = 0; i < 16; i++)
		m[i] = load_le32(block + 4 * i);
	for (i = 0; i < 8; i++) {
		v[i] = s->h[i];
		v[i + 8] = blake2s_iv[i];
	}
	v[12] ^= s->t[0];
	v[13] ^= s->t[1];
	v[14] ^= s->f[0];
	v[15] ^= s->f[1];

	for (r = 0; r < 10; r++) {
		G(r, 0, v[0], v[4], v[8], v[12]);
		G(r, 1, v[1], v[5], v[9], v[13]);
		G(r, 2, v[2], v[6], v[10], v[14]);
		G(r, 3, v[3], v[7], v[11], v[15]);
		G(r, 4, v[0], v[5], v[10], v[15]);
		G(r, 5, v[1], v[6], v[11], v[12]);
		G(r, 6, v[2], v[7], v[8], v[13]);
		G(r, 7, v[3], v[4], v[9], v[14]);
	}

	for (i = 0; i < 8; i++)
		s->h[i] ^= v[i] ^ v[i + 8];
	/* The message words and working vector hold key-derived material. */
	sodium_memzero(m, sizeof(m));
	sodium_memzero(v, sizeof(v));
}

#undef G

/* Parameter block word 0: digest length, key length, fanout 1, depth 1. */
static void init_param(struct blake2s_state *s, size_t outlen, size_t keylen)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->h, blake2s_iv, sizeof(s->h));
	s->h[0] ^= 0x01010000UL ^ ((uint32_t)keylen << 8) ^ (uint32_t)outlen;
	s->outlen = outlen;
}

void blake2s_init(struct blake2s_state *s, size_t outlen)
{
	if (unlikely(!outlen || outlen > BLAKE2S_HASH_SIZE))
		abort();
	init_param(s, outlen, 0);
}

void blake2s_init_key(struct blake2s_state *s, size_t outlen, const void *key, size_t keylen)
{
	uint8_t block[BLAKE2S_BLOCK_SIZE] = {0};

	if (unlikely(!outlen || outlen > BLAKE2S_HASH_SIZE || !key || !keylen ||
		     keylen > BLAKE2S_KEY_SIZE))
		abort();
	init_param(s, outlen, keylen);
	memcpy(block, key, keylen);
	blake2s_update(s, block, sizeof(block));
	sodium_memzero(block, sizeof(block));
}

void blake2s_update(struct blake2s_state *s, const void *in, size_t inlen)
{
	const uint8_t *p = in;
	size_t fill = BLAKE2S_BLOCK_SIZE - s->buflen;

	if (!inlen)
		return;
	/* Compress only when more input follows: the last block waits for final. */
	if (inlen > fill) {
		memcpy(s->buf + s->buflen, p, fill);
		increment_counter(s, BLAKE2S_BLOCK_SIZE);
		compress(s, s->buf);
		s->buflen = 0;
		p += fill;
		inlen -= fill;
		while (inlen > BLAKE2S_BLOCK_SIZE) {
			increment_counter(s, BLAKE2S_BLOCK_SIZE);
			compress(s, p);
			p += BLAKE2S_BLOCK_SIZE;
			inlen -= BLAKE2S_BLOCK_SIZE;
		}
	}
	memcpy(s->buf + s->buflen, p, inlen);
	s->buflen += inlen;
}

void blake2s_final(struct blake2s_state *s, uint8_t *out)
{
	uint8_t digest[BLAKE2S_HASH_SIZE];
	int i;

	increment_counter(s, (uint32_t)s->buflen);
	s->f[0] = 0xFFFFFFFFUL;
	memset(s->buf + s->buflen, 0, BLAKE2S_BLOCK_SIZE - s->buflen);
	compress(s, s->buf);
	for (i = 0; i < 8; i++)
		store_le32(digest + 4 * i, s->h[i]);
	memcpy(out, digest, s->outlen);
	sodium_memzero(digest, sizeof(digest));
	sodium_memzero(s, sizeof(*s));
}

void blake2s(uint8_t *out, size_t outlen, const void *in, size_t inlen, const void *key,
	     size_t keylen)
{
	struct blake2s_state s;

	if (keylen)
		blake2s_init_key(&s, outlen, key, keylen);
	else
		blake2s_init(&s, outlen);
	blake2s_update(&s, in, inlen);
	blake2s_final(&s, out);
}
