/* SPDX-License-Identifier: MIT */
/*
 * A hash map from 32-byte public keys to pointers, for the relay server's
 * client table and its per-client "who talks to whom" sets. Open addressing
 * with linear probing and backward-shift deletion; the hash is SipHash
 * (crypto_shorthash) under a random per-map key, because clients choose their
 * keys and must not be able to grind keys that collide.
 *
 * A zeroed struct is an empty map; it allocates on the first insert.
 */
#ifndef MESH_RELAY_KEYMAP_H
#define MESH_RELAY_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

enum keymap_constants {
	KEYMAP_KEY_LEN = 32,
	KEYMAP_HASHKEY_LEN = 16, /* crypto_shorthash_KEYBYTES */
};

struct keymap_slot {
	uint8_t key[KEYMAP_KEY_LEN];
	void *value; /* NULL: the slot is empty */
};

struct keymap {
	struct keymap_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t count;
	uint8_t hashkey[KEYMAP_HASHKEY_LEN];
};

/** The value stored for @key, or NULL. */
void *keymap_get(const struct keymap *m, const uint8_t key[KEYMAP_KEY_LEN]);

/**
 * Store @value (not NULL) for @key, replacing any previous value. Returns 0
 * or -ENOMEM (the map is unchanged then).
 */
int keymap_put(struct keymap *m, const uint8_t key[KEYMAP_KEY_LEN], void *value);

/** Remove @key; returns the value it had, or NULL if it was absent. */
void *keymap_remove(struct keymap *m, const uint8_t key[KEYMAP_KEY_LEN]);

/**
 * Iterate: start with *@pos = 0; each call returns the next value (and its
 * key in *@key if not NULL) or NULL at the end. The map must not change
 * during an iteration.
 */
void *keymap_next(const struct keymap *m, size_t *pos, const uint8_t **key);

/** Entries in @m. */
static inline size_t keymap_count(const struct keymap *m)
{
	return m->count;
}

/** Free the memory of @m and leave it empty. */
void keymap_free(struct keymap *m);

#endif
