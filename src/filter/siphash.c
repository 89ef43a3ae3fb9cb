// SPDX-License-Identifier: MIT
/*
 * SipHash, written from the paper's description: a 256-bit state of four
 * 64-bit words, c rounds per 8-byte message word, the last word carrying the
 * length in its top byte, d rounds to finish.
 */
#include "filter/siphash.h"

static uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

static uint64_t rotl(uint64_t x, unsigned int b)
{
	return x << b | x >> (64 - b);
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static void sip_rounds(struct sip_state *s, unsigned int n)
{
	while (n--) {
		s->v0 += s->v1;
		s->v1 = rotl(s->v1, 13);
		s->v1 ^= s->v0;
		s->v0 = rotl(s->v0, 32);
		s->v2 += s->v3;
		s->v3 = rotl(s->v3, 16);
		s->v3 ^= s->v2;
		s->v0 += s->v3;
		s->v3 = rotl(s->v3, 21);
		s->v3 ^= s->v0;
		s->v2 += s->v1;
		s->v1 = rotl(s->v1, 17);
		s->v1 ^= s->v2;
		s->v2 = rotl(s->v2, 32);
	}
}

static void sip_absorb(struct sip_state *s, uint64_t m, unsigned int crounds)
{
	s->v3 ^= m;
	sip_rounds(s, crounds);
	s->v0 ^= m;
}

uint64_t siphash_compute(const uint8_t key[SIPHASH_KEY_LEN], const void *in, size_t len,
			 unsigned int crounds, unsigned int drounds)
{
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8), last = (uint64_t)len << 56;
	struct sip_state s = {
		k0 ^ 0x736f6d6570736575ull,
		k1 ^ 0x646f72616e646f6dull,
		k0 ^ 0x6c7967656e657261ull,
		k1 ^ 0x7465646279746573ull,
	};
	const uint8_t *p = in;
	size_t words = len / 8;

	for (size_t i = 0; i < words; i++)
		sip_absorb(&s, load_le64(p + 8 * i), crounds);
	for (size_t i = 0; i < len % 8; i++)
		last |= (uint64_t)p[8 * words + i] << (8 * i);
	sip_absorb(&s, last, crounds);
	s.v2 ^= 0xff;
	sip_rounds(&s, drounds);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
