// SPDX-License-Identifier: MIT
/*
 * Allowed IPs: a path-compressed binary trie per address family. Each node
 * holds a masked prefix; a child extends its parent's prefix and sits under
 * the value of the first bit past it. Nodes without a peer ("glue") only
 * exist where two subtrees diverge, so they always have two children and the
 * trie has at most 2n - 1 nodes for n prefixes. Keys are kept as two host
 * order 64-bit words (an IPv4 address in the top 32 bits) so that matching a
 * node is one xor and a count of leading zeros per word.
 *
 * Each peer's prefixes are also on a list reached through a small hash table
 * keyed by the opaque peer pointer, for walks and removal by peer.
 */
#include "wg/allowedips.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"

enum allowedips_limits {
	V4_BITS = 32,
	V6_BITS = 128,
	PEER_BUCKETS_MIN = 16,
};

struct allowedips_node {
	/* Read by lookups: kept together at the front. */
	uint64_t key[2];
	struct allowedips_node *child[2];
	void *peer; /* NULL for glue */
	uint8_t cidr;
	uint8_t family;
	/* Control path only. */
	struct allowedips_node *parent;
	struct allowedips_node *peer_next, *peer_prev;
};

struct allowedips_peer {
	void *peer;
	struct allowedips_node *first, *last;
	struct allowedips_peer *hash_next;
};

static unsigned int family_bits(int family)
{
	if (family == 4)
		return V4_BITS;
	if (family == 6)
		return V6_BITS;
	return 0;
}

static struct allowedips_node **root_of(struct wg_allowedips *t, int family)
{
	return family == 4 ? &t->root4 : &t->root6;
}

static void load_key(uint64_t key[2], int family, const uint8_t *ip)
{
	if (family == 4) {
		uint32_t v;

		memcpy(&v, ip, sizeof(v));
		key[0] = (uint64_t)be32toh(v) << 32;
		key[1] = 0;
	} else {
		uint64_t hi, lo;

		memcpy(&hi, ip, sizeof(hi));
		memcpy(&lo, ip + 8, sizeof(lo));
		key[0] = be64toh(hi);
		key[1] = be64toh(lo);
	}
}

static void store_key(uint8_t *ip, int family, const uint64_t key[2])
{
	if (family == 4) {
		uint32_t v = htobe32((uint32_t)(key[0] >> 32));

		memcpy(ip, &v, sizeof(v));
	} else {
		uint64_t hi = htobe64(key[0]), lo = htobe64(key[1]);

		memcpy(ip, &hi, sizeof(hi));
		memcpy(ip + 8, &lo, sizeof(lo));
	}
}

/* Zero every bit from position @cidr on (bit 0 is the most significant). */
static void mask_key(uint64_t key[2], unsigned int cidr)
{
	if (cidr == 0) {
		key[0] = key[1] = 0;
	} else if (cidr < 64) {
		key[0] &= ~UINT64_C(0) << (64 - cidr);
		key[1] = 0;
	} else if (cidr == 64) {
		key[1] = 0;
	} else if (cidr < 128) {
		key[1] &= ~UINT64_C(0) << (128 - cidr);
	}
}

/* Length of the common leading run of bits of @a and @b, 0..128. */
static inline unsigned int common_bits(const uint64_t a[2], const uint64_t b[2])
{
	uint64_t x = a[0] ^ b[0];

	if (x)
		return (unsigned int)__builtin_clzll(x);
	x = a[1] ^ b[1];
	if (x)
		return 64 + (unsigned int)__builtin_clzll(x);
	return 128;
}

static inline unsigned int bit_at(const uint64_t key[2], unsigned int i)
{
	return (unsigned int)(key[i / 64] >> (63 - i % 64)) & 1;
}

/* Does the prefix of @node contain @key? */
static inline bool node_contains(const struct allowedips_node *node, const uint64_t key[2])
{
	return common_bits(node->key, key) >= node->cidr;
}

static size_t hash_ptr(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p;

	/* murmur3's finaliser: pointers share their low and high bits */
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	return (size_t)x;
}

static struct allowedips_peer *peer_find(const struct wg_allowedips *t, const void *peer)
{
	struct allowedips_peer *head;

	if (!t->peer_nbuckets)
		return NULL;
	head = t->peer_buckets[hash_ptr(peer) & (t->peer_nbuckets - 1)];
	while (head && head->peer != peer)
		head = head->hash_next;
	return head;
}

static void peer_buckets_grow(struct wg_allowedips *t)
{
	size_t n = t->peer_nbuckets ? t->peer_nbuckets * 2 : PEER_BUCKETS_MIN;
	struct allowedips_peer **buckets = calloc(n, sizeof(*buckets));

	/* Without memory the old, longer chains still work. */
	if (!buckets)
		return;
	for (size_t i = 0; i < t->peer_nbuckets; i++) {
		struct allowedips_peer *head = t->peer_buckets[i], *next;

		for (; head; head = next) {
			size_t b = hash_ptr(head->peer) & (n - 1);

			next = head->hash_next;
			head->hash_next = buckets[b];
			buckets[b] = head;
		}
	}
	free(t->peer_buckets);
	t->peer_buckets = buckets;
	t->peer_nbuckets = n;
}

/* Find or create the list head of @peer; NULL on allocation failure. */
static struct allowedips_peer *peer_get(struct wg_allowedips *t, void *peer)
{
	struct allowedips_peer *head = peer_find(t, peer), **bucket;

	if (head)
		return head;
	if (t->nr_peers >= t->peer_nbuckets)
		peer_buckets_grow(t);
	if (!t->peer_nbuckets)
		return NULL;
	head = calloc(1, sizeof(*head));
	if (!head)
		return NULL;
	head->peer = peer;
	bucket = &t->peer_buckets[hash_ptr(peer) & (t->peer_nbuckets - 1)];
	head->hash_next = *bucket;
	*bucket = head;
	t->nr_peers++;
	return head;
}

static void peer_release_if_empty(struct wg_allowedips *t, struct allowedips_peer *head)
{
	struct allowedips_peer **link;

	if (head->first)
		return;
	link = &t->peer_buckets[hash_ptr(head->peer) & (t->peer_nbuckets - 1)];
	while (*link != head)
		link = &(*link)->hash_next;
	*link = head->hash_next;
	free(head);
	t->nr_peers--;
}

static void list_append(struct allowedips_peer *head, struct allowedips_node *node)
{
	node->peer_next = NULL;
	node->peer_prev = head->last;
	if (head->last)
		head->last->peer_next = node;
	else
		head->first = node;
	head->last = node;
}

static void list_unlink(struct allowedips_peer *head, struct allowedips_node *node)
{
	if (node->peer_prev)
		node->peer_prev->peer_next = node->peer_next;
	else
		head->first = node->peer_next;
	if (node->peer_next)
		node->peer_next->peer_prev = node->peer_prev;
	else
		head->last = node->peer_prev;
	node->peer_next = node->peer_prev = NULL;
}

static struct allowedips_node *node_new(struct wg_allowedips *t, const uint64_t key[2],
					unsigned int cidr, int family)
{
	struct allowedips_node *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	node->key[0] = key[0];
	node->key[1] = key[1];
	mask_key(node->key, cidr);
	node->cidr = (uint8_t)cidr;
	node->family = (uint8_t)family;
	t->nr_nodes++;
	return node;
}

static void node_free(struct wg_allowedips *t, struct allowedips_node *node)
{
	free(node);
	t->nr_nodes--;
}

/* The pointer that holds @node: its parent's child slot or the root. */
static struct allowedips_node **slot_of(struct wg_allowedips *t, struct allowedips_node *node)
{
	struct allowedips_node *parent = node->parent;

	if (!parent)
		return root_of(t, node->family);
	return &parent->child[parent->child[1] == node];
}

/* Replace @node by its only child (or nothing) and free it. */
static void node_splice_out(struct wg_allowedips *t, struct allowedips_node *node)
{
	struct allowedips_node *child = node->child[0] ? node->child[0] : node->child[1];

	*slot_of(t, node) = child;
	if (child)
		child->parent = node->parent;
	node_free(t, node);
}

/*
 * @node just lost its peer: drop it unless it must stay as glue, and drop
 * its parent too if that was glue and is now left with a single child.
 */
static void node_prune(struct wg_allowedips *t, struct allowedips_node *node)
{
	struct allowedips_node *parent = node->parent;
	bool leaf = !node->child[0] && !node->child[1];

	if (node->child[0] && node->child[1])
		return;
	node_splice_out(t, node);
	if (leaf && parent && !parent->peer)
		node_splice_out(t, parent);
}

/* Give @node (already in the trie) to @peer. */
static int node_set_peer(struct wg_allowedips *t, struct allowedips_node *node, void *peer)
{
	struct allowedips_peer *head, *old;

	if (node->peer == peer)
		return 0;
	head = peer_get(t, peer);
	if (!head)
		return -ENOMEM;
	if (node->peer) {
		old = peer_find(t, node->peer);
		list_unlink(old, node);
		peer_release_if_empty(t, old);
	} else {
		t->nr_prefixes++;
	}
	node->peer = peer;
	list_append(head, node);
	return 0;
}

void wg_allowedips_init(struct wg_allowedips *t)
{
	memset(t, 0, sizeof(*t));
}

static void free_subtree(struct allowedips_node *node)
{
	/* Depth is bounded by the 129 possible prefix lengths. */
	if (!node)
		return;
	free_subtree(node->child[0]);
	free_subtree(node->child[1]);
	free(node);
}

void wg_allowedips_free(struct wg_allowedips *t)
{
	free_subtree(t->root4);
	free_subtree(t->root6);
	for (size_t i = 0; i < t->peer_nbuckets; i++) {
		struct allowedips_peer *head = t->peer_buckets[i], *next;

		for (; head; head = next) {
			next = head->hash_next;
			free(head);
		}
	}
	free(t->peer_buckets);
	wg_allowedips_init(t);
}

int wg_allowedips_insert(struct wg_allowedips *t, int family, const uint8_t *ip, uint8_t cidr,
			 void *peer)
{
	struct allowedips_node **slot, *node, *parent = NULL, *leaf, *glue = NULL;
	unsigned int bits = family_bits(family), common = 0;
	uint64_t key[2];
	int ret;

	if (!bits)
		return -EAFNOSUPPORT;
	if (cidr > bits || !peer)
		return -EINVAL;
	load_key(key, family, ip);
	mask_key(key, cidr);

	/* Descend while the node is a strict prefix of the new one. */
	slot = root_of(t, family);
	while ((node = *slot)) {
		common = common_bits(node->key, key);
		if (common < node->cidr || node->cidr >= cidr)
			break;
		parent = node;
		slot = &node->child[bit_at(key, node->cidr)];
	}
	if (node && node->cidr == cidr && common >= cidr)
		return node_set_peer(t, node, peer);

	/*
	 * Allocate everything before touching the trie. The new node goes in
	 * @slot: above @node if it contains it, else beside it under a glue
	 * node at their first differing bit.
	 */
	leaf = node_new(t, key, cidr, family);
	if (!leaf)
		return -ENOMEM;
	if (node && common < cidr) {
		glue = node_new(t, key, common, family);
		if (!glue) {
			ret = -ENOMEM;
			goto err_free_leaf;
		}
	}
	ret = node_set_peer(t, leaf, peer);
	if (ret < 0)
		goto err_free_glue;

	if (!node) {
		leaf->parent = parent;
		*slot = leaf;
	} else if (!glue) {
		leaf->child[bit_at(node->key, cidr)] = node;
		node->parent = leaf;
		leaf->parent = parent;
		*slot = leaf;
	} else {
		glue->child[bit_at(key, common)] = leaf;
		glue->child[bit_at(node->key, common)] = node;
		leaf->parent = node->parent = glue;
		glue->parent = parent;
		*slot = glue;
	}
	return 0;

err_free_glue:
	if (glue)
		node_free(t, glue);
err_free_leaf:
	node_free(t, leaf);
	return ret;
}

/* The node storing exactly @key/@cidr (glue included), or NULL. */
static struct allowedips_node *find_exact(struct allowedips_node *node, const uint64_t key[2],
					  unsigned int cidr)
{
	while (node && node->cidr < cidr && node_contains(node, key))
		node = node->child[bit_at(key, node->cidr)];
	if (node && node->cidr == cidr && node_contains(node, key))
		return node;
	return NULL;
}

int wg_allowedips_remove(struct wg_allowedips *t, int family, const uint8_t *ip, uint8_t cidr,
			 void *peer)
{
	unsigned int bits = family_bits(family);
	struct allowedips_node *node;
	struct allowedips_peer *head;
	uint64_t key[2];

	if (!bits)
		return -EAFNOSUPPORT;
	if (cidr > bits || !peer)
		return -EINVAL;
	load_key(key, family, ip);
	mask_key(key, cidr);
	node = find_exact(*root_of(t, family), key, cidr);
	if (!node || node->peer != peer)
		return -ENOENT;

	head = peer_find(t, peer);
	list_unlink(head, node);
	peer_release_if_empty(t, head);
	node->peer = NULL;
	t->nr_prefixes--;
	node_prune(t, node);
	return 0;
}

void wg_allowedips_remove_by_peer(struct wg_allowedips *t, void *peer)
{
	struct allowedips_peer *head = peer_find(t, peer);
	struct allowedips_node *node, *next;

	if (!head)
		return;
	/* Pruning frees only the node itself and glue, never a list member. */
	for (node = head->first; node; node = next) {
		next = node->peer_next;
		node->peer = NULL;
		node->peer_next = node->peer_prev = NULL;
		t->nr_prefixes--;
		node_prune(t, node);
	}
	head->first = head->last = NULL;
	peer_release_if_empty(t, head);
}

void *wg_allowedips_lookup(const struct wg_allowedips *t, int family, const uint8_t *ip)
{
	const struct allowedips_node *node;
	unsigned int bits = family_bits(family);
	void *best = NULL;
	uint64_t key[2];

	if (unlikely(!bits))
		return NULL;
	node = family == 4 ? t->root4 : t->root6;
	load_key(key, family, ip);
	while (node && node_contains(node, key)) {
		if (node->peer)
			best = node->peer;
		if (node->cidr >= bits)
			break;
		node = node->child[bit_at(key, node->cidr)];
	}
	return best;
}

int wg_allowedips_walk_by_peer(const struct wg_allowedips *t, void *peer, wg_allowedips_walk_fn cb,
			       void *ctx)
{
	const struct allowedips_peer *head = peer_find(t, peer);
	const struct allowedips_node *node;
	uint8_t ip[16];
	int ret;

	if (!head)
		return 0;
	for (node = head->first; node; node = node->peer_next) {
		store_key(ip, node->family, node->key);
		ret = cb(ctx, node->family, ip, node->cidr);
		if (ret)
			return ret;
	}
	return 0;
}

struct check_counts {
	size_t nodes, prefixes;
};

static bool check_subtree(const struct allowedips_node *node, const struct allowedips_node *parent,
			  int family, struct check_counts *counts)
{
	uint64_t masked[2];

	if (!node)
		return true;
	counts->nodes++;
	counts->prefixes += node->peer != NULL;
	masked[0] = node->key[0];
	masked[1] = node->key[1];
	mask_key(masked, node->cidr);
	if (node->parent != parent || node->family != family || node->cidr > family_bits(family) ||
	    masked[0] != node->key[0] || masked[1] != node->key[1])
		return false;
	if (!node->peer && (!node->child[0] || !node->child[1]))
		return false;
	for (unsigned int b = 0; b < 2; b++) {
		const struct allowedips_node *child = node->child[b];

		if (!child)
			continue;
		if (child->cidr <= node->cidr || !node_contains(node, child->key) ||
		    bit_at(child->key, node->cidr) != b)
			return false;
		if (!check_subtree(child, node, family, counts))
			return false;
	}
	return true;
}

int wg_allowedips_check(const struct wg_allowedips *t)
{
	struct check_counts counts = {0, 0};
	size_t listed = 0, peers = 0;

	if (!check_subtree(t->root4, NULL, 4, &counts) ||
	    !check_subtree(t->root6, NULL, 6, &counts))
		return -EUCLEAN;
	if (counts.nodes != t->nr_nodes || counts.prefixes != t->nr_prefixes)
		return -EUCLEAN;
	if (t->nr_nodes > 2 * t->nr_prefixes)
		return -EUCLEAN;
	for (size_t i = 0; i < t->peer_nbuckets; i++) {
		const struct allowedips_peer *head;

		for (head = t->peer_buckets[i]; head; head = head->hash_next) {
			const struct allowedips_node *node, *prev = NULL;

			peers++;
			if (!head->first || (hash_ptr(head->peer) & (t->peer_nbuckets - 1)) != i)
				return -EUCLEAN;
			for (node = head->first; node; prev = node, node = node->peer_next) {
				if (node->peer != head->peer || node->peer_prev != prev)
					return -EUCLEAN;
				listed++;
			}
			if (head->last != prev)
				return -EUCLEAN;
		}
	}
	if (peers != t->nr_peers || listed != t->nr_prefixes)
		return -EUCLEAN;
	return 0;
}
