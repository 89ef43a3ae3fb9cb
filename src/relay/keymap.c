// SPDX-License-Identifier: MIT
/*
 * Key-to-pointer hash map for the relay server (see keymap.h). The table
 * stays at most half full, so probe runs are short; deletion shifts the
 * following entries back instead of leaving tombstones.
 */
#include "relay/keymap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

_Static_assert(KEYMAP_HASHKEY_LEN == crypto_shorthash_KEYBYTES, "SipHash key length");

enum keymap_limits {
	KEYMAP_MIN_CAP = 8,
};

static size_t slot_of(const struct keymap *m, const uint8_t *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(h, key, KEYMAP_KEY_LEN, m->hashkey);
	for (size_t i = 0; i < sizeof(h); i++)
		v = v << 8 | h[i];
	return (size_t)v & (m->cap - 1);
}

/* The slot holding @key, or the empty slot where it would go. */
static struct keymap_slot *find(const struct keymap *m, const uint8_t *key)
{
	size_t i = slot_of(m, key);

	for (;;) {
		struct keymap_slot *s = &m->slots[i];

		if (!s->value || !memcmp(s->key, key, KEYMAP_KEY_LEN))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

void *keymap_get(const struct keymap *m, const uint8_t key[KEYMAP_KEY_LEN])
{
	if (!m->count)
		return NULL;
	return find(m, key)->value;
}

static int grow(struct keymap *m)
{
	struct keymap_slot *old = m->slots;
	size_t old_cap = m->cap, cap = old_cap ? old_cap * 2 : KEYMAP_MIN_CAP;

	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	if (!old_cap)
		randombytes_buf(m->hashkey, sizeof(m->hashkey));
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].value)
			*find(m, old[i].key) = old[i];
	}
	free(old);
	return 0;
}

int keymap_put(struct keymap *m, const uint8_t key[KEYMAP_KEY_LEN], void *value)
{
	struct keymap_slot *s;
	int ret;

	if (m->cap) {
		s = find(m, key);
		if (s->value) {
			s->value = value;
			return 0;
		}
	}
	if ((m->count + 1) * 2 > m->cap) {
		ret = grow(m);
		if (ret)
			return ret;
	}
	s = find(m, key);
	memcpy(s->key, key, KEYMAP_KEY_LEN);
	s->value = value;
	m->count++;
	return 0;
}

/* True if @home (an entry's ideal slot) lies cyclically in (hole, i]: it must stay put. */
static bool stays(size_t hole, size_t i, size_t home)
{
	if (hole <= i)
		return hole < home && home <= i;
	return hole < home || home <= i;
}

void *keymap_remove(struct keymap *m, const uint8_t key[KEYMAP_KEY_LEN])
{
	struct keymap_slot *s;
	size_t hole, i;
	void *value;

	if (!m->count)
		return NULL;
	s = find(m, key);
	value = s->value;
	if (!value)
		return NULL;
	s->value = NULL;
	m->count--;
	hole = (size_t)(s - m->slots);
	for (i = (hole + 1) & (m->cap - 1); m->slots[i].value; i = (i + 1) & (m->cap - 1)) {
		if (stays(hole, i, slot_of(m, m->slots[i].key)))
			continue;
		m->slots[hole] = m->slots[i];
		m->slots[i].value = NULL;
		hole = i;
	}
	return value;
}

void *keymap_next(const struct keymap *m, size_t *pos, const uint8_t **key)
{
	while (*pos < m->cap) {
		const struct keymap_slot *s = &m->slots[(*pos)++];

		if (s->value) {
			if (key)
				*key = s->key;
			return s->value;
		}
	}
	return NULL;
}

void keymap_free(struct keymap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}
