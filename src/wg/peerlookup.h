/* SPDX-License-Identifier: MIT */
/*
 * The device's two lookup tables:
 *
 * - the index table maps our 32-bit session indices (the receiver_index of
 *   incoming messages) to a pending handshake or a keypair. Indices are
 *   random, unique among live entries, and never interpreted;
 * - the peer table maps static public keys to peers, hashed with a keyed
 *   SipHash so that remote parties cannot choose colliding keys.
 *
 * Both are intrusive chained hash tables: entries live inside their owners,
 * so inserting and removing never allocates on the packet path (only growth
 * does, and only when peers or sessions are added).
 */
#ifndef MESH_WG_PEERLOOKUP_H
#define MESH_WG_PEERLOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

enum wg_index_type {
	WG_INDEX_HANDSHAKE = 1,
	WG_INDEX_KEYPAIR = 2,
};

/** An index table entry, embedded in its owner (handshake or keypair). */
struct wg_index_entry {
	struct wg_index_entry *next;
	uint32_t index;
	uint8_t type; /* enum wg_index_type */
	bool hashed;  /* linked into the table */
	void *peer;   /* the owning peer */
	void *owner;  /* the handshake or keypair itself */
};

struct wg_index_table {
	struct wg_index_entry **buckets;
	size_t mask; /* nbuckets - 1 */
	size_t count;
};

/** A peer table entry, embedded in the peer. */
struct wg_pubkey_entry {
	struct wg_pubkey_entry *next;
	uint8_t key[32];
	bool hashed;
};

struct wg_pubkey_table {
	struct wg_pubkey_entry **buckets;
	size_t mask;
	size_t count;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

int wg_index_table_init(struct wg_index_table *t);
void wg_index_table_free(struct wg_index_table *t);
/**
 * Give @e a fresh random index not used by any live entry and link it.
 * If @e was linked already it is unlinked first (a new handshake replaces
 * the previous one's index). Returns the index, via @e->index.
 */
int wg_index_table_insert(struct wg_index_table *t, struct wg_index_entry *e);
/** Move @old's index to @new (handshake -> keypair on session start). */
void wg_index_table_replace(struct wg_index_table *t, struct wg_index_entry *old,
			    struct wg_index_entry *new_entry);
void wg_index_table_remove(struct wg_index_table *t, struct wg_index_entry *e);
/** The live entry with @index and @type, or NULL. */
struct wg_index_entry *wg_index_table_lookup(const struct wg_index_table *t, uint32_t index,
					     enum wg_index_type type);

int wg_pubkey_table_init(struct wg_pubkey_table *t);
void wg_pubkey_table_free(struct wg_pubkey_table *t);
/** Link @e (its key set by the caller); returns -EEXIST if the key is present. */
int wg_pubkey_table_insert(struct wg_pubkey_table *t, struct wg_pubkey_entry *e);
void wg_pubkey_table_remove(struct wg_pubkey_table *t, struct wg_pubkey_entry *e);
struct wg_pubkey_entry *wg_pubkey_table_lookup(const struct wg_pubkey_table *t,
					       const uint8_t key[32]);

#endif
