// SPDX-License-Identifier: MIT
/*
 * Allowed-IPs trie tests: the insert/lookup tables of the Linux kernel's
 * self-test, removal, moves between peers, edge prefix lengths, bad input,
 * walks, and a differential test against a naive list ("horrible allowedips")
 * over thousands of random, clustered prefixes with random removals.
 */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wg/allowedips.h"

struct ip {
	uint8_t b[16];
};

static struct ip ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct ip ip = {{a, b, c, d}};

	return ip;
}

static struct ip ip6(uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	const uint32_t w[4] = {a, b, c, d};
	struct ip ip;

	for (int i = 0; i < 16; i++)
		ip.b[i] = (uint8_t)(w[i / 4] >> (24 - 8 * (i % 4)));
	return ip;
}

/* Distinct addresses to stand for peers: the trie never dereferences them. */
static char peer_storage[8];
#define PA ((void *)&peer_storage[0])
#define PB ((void *)&peer_storage[1])
#define PC ((void *)&peer_storage[2])
#define PD ((void *)&peer_storage[3])
#define PE ((void *)&peer_storage[4])
#define PF ((void *)&peer_storage[5])
#define PG ((void *)&peer_storage[6])
#define PH ((void *)&peer_storage[7])

#define INS4(t, p, w, x, y, z, cidr) \
	assert_int_equal(wg_allowedips_insert(t, 4, ip4(w, x, y, z).b, cidr, p), 0)
#define INS6(t, p, w, x, y, z, cidr) \
	assert_int_equal(wg_allowedips_insert(t, 6, ip6(w, x, y, z).b, cidr, p), 0)
#define LOOK4(t, w, x, y, z) wg_allowedips_lookup(t, 4, ip4(w, x, y, z).b)
#define LOOK6(t, w, x, y, z) wg_allowedips_lookup(t, 6, ip6(w, x, y, z).b)

static void check(const struct wg_allowedips *t)
{
	assert_int_equal(wg_allowedips_check(t), 0);
}

static void test_kernel_table(void **state)
{
	struct wg_allowedips t;

	(void)state;
	wg_allowedips_init(&t);
	INS4(&t, PA, 192, 168, 4, 0, 24);
	INS4(&t, PB, 192, 168, 4, 4, 32);
	INS4(&t, PC, 192, 168, 0, 0, 16);
	INS4(&t, PD, 192, 95, 5, 64, 27);
	INS4(&t, PC, 192, 95, 5, 65, 27); /* replaces the previous entry; host bits masked */
	INS6(&t, PD, 0x26075300, 0x60006b00, 0, 0xc05f0543, 128);
	INS6(&t, PC, 0x26075300, 0x60006b00, 0, 0, 64);
	INS4(&t, PE, 0, 0, 0, 0, 0);
	INS6(&t, PE, 0, 0, 0, 0, 0);
	INS6(&t, PF, 0, 0, 0, 0, 0); /* replaces the previous entry */
	INS6(&t, PG, 0x24046800, 0, 0, 0, 32);
	INS6(&t, PH, 0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef, 64);
	INS6(&t, PA, 0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef, 128);
	INS6(&t, PC, 0x24446800, 0x40e40800, 0xdeaebeef, 0xdefbeef, 128);
	INS6(&t, PB, 0x24446800, 0xf0e40800, 0xeeaebeef, 0, 98);
	INS4(&t, PG, 64, 15, 112, 0, 20);
	INS4(&t, PH, 64, 15, 123, 211, 25);
	INS4(&t, PA, 10, 0, 0, 0, 25);
	INS4(&t, PB, 10, 0, 0, 128, 25);
	INS4(&t, PA, 10, 1, 0, 0, 30);
	INS4(&t, PB, 10, 1, 0, 4, 30);
	INS4(&t, PC, 10, 1, 0, 8, 29);
	INS4(&t, PD, 10, 1, 0, 16, 29);
	check(&t);

	assert_ptr_equal(LOOK4(&t, 192, 168, 4, 20), PA);
	assert_ptr_equal(LOOK4(&t, 192, 168, 4, 0), PA);
	assert_ptr_equal(LOOK4(&t, 192, 168, 4, 4), PB);
	assert_ptr_equal(LOOK4(&t, 192, 168, 200, 182), PC);
	assert_ptr_equal(LOOK4(&t, 192, 95, 5, 68), PC);
	assert_ptr_equal(LOOK4(&t, 192, 95, 5, 96), PE);
	assert_ptr_equal(LOOK6(&t, 0x26075300, 0x60006b00, 0, 0xc05f0543), PD);
	assert_ptr_equal(LOOK6(&t, 0x26075300, 0x60006b00, 0, 0xc02e01ee), PC);
	assert_ptr_equal(LOOK6(&t, 0x26075300, 0x60006b01, 0, 0), PF);
	assert_ptr_equal(LOOK6(&t, 0x24046800, 0x40040806, 0, 0x1006), PG);
	assert_ptr_equal(LOOK6(&t, 0x24046800, 0x40040806, 0x1234, 0x5678), PG);
	assert_ptr_equal(LOOK6(&t, 0x240467ff, 0x40040806, 0x1234, 0x5678), PF);
	assert_ptr_equal(LOOK6(&t, 0x24046801, 0x40040806, 0x1234, 0x5678), PF);
	assert_ptr_equal(LOOK6(&t, 0x24046800, 0x40040800, 0x1234, 0x5678), PH);
	assert_ptr_equal(LOOK6(&t, 0x24046800, 0x40040800, 0, 0), PH);
	assert_ptr_equal(LOOK6(&t, 0x24046800, 0x40040800, 0x10101010, 0x10101010), PH);
	assert_ptr_equal(LOOK6(&t, 0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef), PA);
	assert_ptr_equal(LOOK4(&t, 64, 15, 116, 26), PG);
	assert_ptr_equal(LOOK4(&t, 64, 15, 127, 3), PG);
	assert_ptr_equal(LOOK4(&t, 64, 15, 123, 1), PG);
	assert_ptr_equal(LOOK4(&t, 64, 15, 123, 128), PH);
	assert_ptr_equal(LOOK4(&t, 64, 15, 123, 129), PH);
	assert_ptr_equal(LOOK4(&t, 10, 0, 0, 52), PA);
	assert_ptr_equal(LOOK4(&t, 10, 0, 0, 220), PB);
	assert_ptr_equal(LOOK4(&t, 10, 1, 0, 2), PA);
	assert_ptr_equal(LOOK4(&t, 10, 1, 0, 6), PB);
	assert_ptr_equal(LOOK4(&t, 10, 1, 0, 10), PC);
	assert_ptr_equal(LOOK4(&t, 10, 1, 0, 20), PD);

	INS4(&t, PA, 1, 0, 0, 0, 32);
	INS4(&t, PA, 64, 0, 0, 0, 32);
	INS4(&t, PA, 128, 0, 0, 0, 32);
	INS4(&t, PA, 192, 0, 0, 0, 32);
	INS4(&t, PA, 255, 0, 0, 0, 32);
	wg_allowedips_remove_by_peer(&t, PA);
	check(&t);
	assert_ptr_not_equal(LOOK4(&t, 1, 0, 0, 0), PA);
	assert_ptr_not_equal(LOOK4(&t, 64, 0, 0, 0), PA);
	assert_ptr_not_equal(LOOK4(&t, 128, 0, 0, 0), PA);
	assert_ptr_not_equal(LOOK4(&t, 192, 0, 0, 0), PA);
	assert_ptr_not_equal(LOOK4(&t, 255, 0, 0, 0), PA);
	/* The other peers' routes are untouched. */
	assert_ptr_equal(LOOK4(&t, 192, 168, 4, 20), PC);
	assert_ptr_equal(LOOK4(&t, 10, 0, 0, 220), PB);
	assert_ptr_equal(LOOK4(&t, 10, 1, 0, 2), PE);
	assert_ptr_equal(LOOK6(&t, 0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef), PH);

	wg_allowedips_free(&t);
	assert_int_equal(t.nr_nodes, 0);

	wg_allowedips_init(&t);
	INS4(&t, PA, 192, 168, 0, 0, 16);
	INS4(&t, PA, 192, 168, 0, 0, 24);
	wg_allowedips_remove_by_peer(&t, PA);
	assert_null(LOOK4(&t, 192, 168, 0, 1));
	assert_int_equal(t.nr_nodes, 0);
	check(&t);

	/* Addresses differing in one bit each: glue at every depth. */
	for (int i = 0; i < 128; i++) {
		struct ip ip;

		memset(ip.b, 0xff, 16);
		ip.b[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
		assert_int_equal(wg_allowedips_insert(&t, 6, ip.b, 128, PA), 0);
	}
	check(&t);
	assert_int_equal(t.nr_prefixes, 128);
	for (int i = 0; i < 128; i++) {
		struct ip ip;

		memset(ip.b, 0xff, 16);
		ip.b[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
		assert_ptr_equal(wg_allowedips_lookup(&t, 6, ip.b), PA);
		ip.b[15] ^= 1; /* a second bit cleared, or none: never inserted */
		assert_null(wg_allowedips_lookup(&t, 6, ip.b));
	}
	wg_allowedips_free(&t);
}

struct walk_item {
	int family;
	struct ip ip;
	uint8_t cidr;
};

struct walk_ctx {
	struct walk_item items[64];
	size_t n;
	int stop_after;
};

static int collect(void *ctx, int family, const uint8_t *ip, uint8_t cidr)
{
	struct walk_ctx *w = ctx;

	assert_true(w->n < 64);
	w->items[w->n].family = family;
	memset(w->items[w->n].ip.b, 0, 16);
	memcpy(w->items[w->n].ip.b, ip, family == 4 ? 4 : 16);
	w->items[w->n].cidr = cidr;
	w->n++;
	if (w->stop_after && (int)w->n == w->stop_after)
		return 42;
	return 0;
}

static void expect_item(const struct walk_ctx *w, size_t i, int family, struct ip ip, uint8_t cidr)
{
	assert_true(i < w->n);
	assert_int_equal(w->items[i].family, family);
	assert_memory_equal(w->items[i].ip.b, ip.b, 16);
	assert_int_equal(w->items[i].cidr, cidr);
}

static void test_walk(void **state)
{
	struct walk_ctx w = {.n = 0};
	struct wg_allowedips t;

	(void)state;
	wg_allowedips_init(&t);
	INS4(&t, PA, 192, 95, 5, 93, 27);
	INS6(&t, PA, 0x26075300, 0x60006b00, 0, 0xc05f0543, 128);
	INS4(&t, PB, 10, 0, 0, 0, 8);
	INS4(&t, PA, 10, 1, 0, 20, 29);
	INS6(&t, PA, 0x26075300, 0x6d8a6bf8, 0xdab1f1df, 0xc05f1523, 83);
	INS6(&t, PA, 0x26075300, 0x6d8a6bf8, 0xdab1f1df, 0xc05f1523, 21);
	INS4(&t, PA, 192, 95, 5, 70, 27); /* same prefix again: keeps its place */
	check(&t);

	assert_int_equal(wg_allowedips_walk_by_peer(&t, PA, collect, &w), 0);
	assert_int_equal(w.n, 5);
	expect_item(&w, 0, 4, ip4(192, 95, 5, 64), 27);
	expect_item(&w, 1, 6, ip6(0x26075300, 0x60006b00, 0, 0xc05f0543), 128);
	expect_item(&w, 2, 4, ip4(10, 1, 0, 16), 29);
	expect_item(&w, 3, 6, ip6(0x26075300, 0x6d8a6bf8, 0xdab1e000, 0), 83);
	expect_item(&w, 4, 6, ip6(0x26075000, 0, 0, 0), 21);

	/* A callback's non-zero return stops the walk and is passed on. */
	w.n = 0;
	w.stop_after = 2;
	assert_int_equal(wg_allowedips_walk_by_peer(&t, PA, collect, &w), 42);
	assert_int_equal(w.n, 2);

	/* Unknown peer: nothing. */
	w.n = 0;
	w.stop_after = 0;
	assert_int_equal(wg_allowedips_walk_by_peer(&t, PC, collect, &w), 0);
	assert_int_equal(w.n, 0);
	wg_allowedips_free(&t);
}

static void test_remove(void **state)
{
	struct wg_allowedips t;

	(void)state;
	wg_allowedips_init(&t);
	INS4(&t, PA, 10, 0, 0, 0, 8);
	INS4(&t, PB, 10, 1, 0, 0, 16);
	INS4(&t, PC, 10, 1, 2, 0, 24);
	INS4(&t, PD, 10, 1, 3, 0, 24);
	check(&t);

	/* Wrong owner, absent prefix, other family: refused, nothing changes. */
	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(10, 1, 0, 0).b, 16, PA), -ENOENT);
	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(10, 1, 0, 0).b, 17, PB), -ENOENT);
	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(10, 1, 0, 0).b, 15, PB), -ENOENT);
	assert_int_equal(wg_allowedips_remove(&t, 6, ip4(10, 1, 0, 0).b, 16, PB), -ENOENT);
	assert_ptr_equal(LOOK4(&t, 10, 1, 9, 9), PB);

	/* A middle prefix: lookups fall through to the shorter one. */
	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(10, 1, 255, 255).b, 16, PB), 0);
	check(&t);
	assert_ptr_equal(LOOK4(&t, 10, 1, 9, 9), PA);
	assert_ptr_equal(LOOK4(&t, 10, 1, 2, 9), PC);
	assert_ptr_equal(LOOK4(&t, 10, 1, 3, 9), PD);
	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(10, 1, 0, 0).b, 16, PB), -ENOENT);

	/* A leaf whose sibling then needs no glue above it. */
	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(10, 1, 2, 0).b, 24, PC), 0);
	check(&t);
	assert_ptr_equal(LOOK4(&t, 10, 1, 2, 9), PA);
	assert_ptr_equal(LOOK4(&t, 10, 1, 3, 9), PD);
	assert_int_equal(t.nr_nodes, 2);

	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(10, 0, 0, 0).b, 8, PA), 0);
	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(10, 1, 3, 0).b, 24, PD), 0);
	check(&t);
	assert_int_equal(t.nr_nodes, 0);
	assert_int_equal(t.nr_prefixes, 0);
	assert_int_equal(t.nr_peers, 0);
	assert_null(LOOK4(&t, 10, 1, 3, 9));

	/* Removing a prefix that sits above glue, then adding it back. */
	INS6(&t, PA, 0xfd7a115c, 0xa1e00000, 0, 0, 48);
	INS6(&t, PB, 0xfd7a115c, 0xa1e00000, 0, 1, 128);
	INS6(&t, PC, 0xfd7a115c, 0xa1e00000, 0, 2, 128);
	assert_int_equal(wg_allowedips_remove(&t, 6, ip6(0xfd7a115c, 0xa1e00000, 0, 0).b, 48, PA),
			 0);
	check(&t);
	assert_null(LOOK6(&t, 0xfd7a115c, 0xa1e00000, 0, 3));
	assert_ptr_equal(LOOK6(&t, 0xfd7a115c, 0xa1e00000, 0, 2), PC);
	INS6(&t, PA, 0xfd7a115c, 0xa1e00000, 0, 0, 48);
	check(&t);
	assert_ptr_equal(LOOK6(&t, 0xfd7a115c, 0xa1e00000, 0, 3), PA);
	wg_allowedips_free(&t);
}

static void test_move_between_peers(void **state)
{
	struct walk_ctx w = {.n = 0};
	struct wg_allowedips t;

	(void)state;
	wg_allowedips_init(&t);
	INS4(&t, PA, 100, 64, 0, 1, 32);
	INS4(&t, PA, 192, 168, 1, 0, 24);
	INS4(&t, PB, 100, 64, 0, 2, 32);
	INS4(&t, PB, 192, 168, 1, 77, 24); /* moves from PA to PB */
	check(&t);
	assert_ptr_equal(LOOK4(&t, 192, 168, 1, 1), PB);
	assert_int_equal(t.nr_prefixes, 3);

	assert_int_equal(wg_allowedips_walk_by_peer(&t, PA, collect, &w), 0);
	assert_int_equal(w.n, 1);
	expect_item(&w, 0, 4, ip4(100, 64, 0, 1), 32);
	w.n = 0;
	assert_int_equal(wg_allowedips_walk_by_peer(&t, PB, collect, &w), 0);
	assert_int_equal(w.n, 2);
	expect_item(&w, 0, 4, ip4(100, 64, 0, 2), 32);
	expect_item(&w, 1, 4, ip4(192, 168, 1, 0), 24);

	/* The old owner can no longer remove it. */
	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(192, 168, 1, 0).b, 24, PA), -ENOENT);
	wg_allowedips_remove_by_peer(&t, PA);
	assert_ptr_equal(LOOK4(&t, 192, 168, 1, 1), PB);
	assert_null(LOOK4(&t, 100, 64, 0, 1));
	/* The last prefix of a peer moving away releases that peer's bookkeeping. */
	INS4(&t, PC, 100, 64, 0, 2, 32);
	INS4(&t, PC, 192, 168, 1, 0, 24);
	assert_int_equal(t.nr_peers, 1);
	check(&t);
	wg_allowedips_remove_by_peer(&t, PB); /* owns nothing now */
	wg_allowedips_remove_by_peer(&t, PC);
	assert_int_equal(t.nr_nodes, 0);
	assert_int_equal(t.nr_peers, 0);
	wg_allowedips_free(&t);
}

static void test_edges_and_bad_input(void **state)
{
	struct wg_allowedips t;
	struct ip any = ip6(0, 0, 0, 0), ones = ip6(~0u, ~0u, ~0u, ~0u);

	(void)state;
	wg_allowedips_init(&t);
	assert_null(LOOK4(&t, 1, 2, 3, 4));
	assert_null(LOOK6(&t, 1, 2, 3, 4));

	INS4(&t, PA, 255, 255, 255, 255, 0); /* /0 with every host bit set */
	assert_ptr_equal(LOOK4(&t, 0, 0, 0, 0), PA);
	assert_ptr_equal(LOOK4(&t, 255, 255, 255, 255), PA);
	assert_null(LOOK6(&t, 0, 0, 0, 0)); /* families are separate */
	INS4(&t, PB, 255, 255, 255, 255, 32);
	INS4(&t, PC, 0, 0, 0, 0, 32);
	assert_ptr_equal(LOOK4(&t, 255, 255, 255, 255), PB);
	assert_ptr_equal(LOOK4(&t, 255, 255, 255, 254), PA);
	assert_ptr_equal(LOOK4(&t, 0, 0, 0, 0), PC);
	assert_ptr_equal(LOOK4(&t, 0, 0, 0, 1), PA);
	INS4(&t, PD, 128, 0, 0, 0, 1);
	assert_ptr_equal(LOOK4(&t, 200, 0, 0, 0), PD);
	assert_ptr_equal(LOOK4(&t, 127, 255, 255, 255), PA);

	assert_int_equal(wg_allowedips_insert(&t, 6, ones.b, 0, PE), 0);
	assert_int_equal(wg_allowedips_insert(&t, 6, ones.b, 128, PF), 0);
	assert_int_equal(wg_allowedips_insert(&t, 6, any.b, 128, PG), 0);
	assert_ptr_equal(wg_allowedips_lookup(&t, 6, ones.b), PF);
	assert_ptr_equal(wg_allowedips_lookup(&t, 6, any.b), PG);
	assert_ptr_equal(LOOK6(&t, ~0u, ~0u, ~0u, ~1u), PE);
	assert_ptr_equal(LOOK6(&t, 0, 0, 0, 1), PE);
	check(&t);

	/* Host bits in the middle of a byte. */
	INS4(&t, PH, 10, 20, 30, 0xff, 27);
	assert_ptr_equal(LOOK4(&t, 10, 20, 30, 0xe0), PH);
	assert_ptr_equal(LOOK4(&t, 10, 20, 30, 0xdf), PA);
	assert_int_equal(wg_allowedips_remove(&t, 4, ip4(10, 20, 30, 0xe1).b, 27, PH), 0);

	assert_int_equal(wg_allowedips_insert(&t, 5, any.b, 0, PA), -EAFNOSUPPORT);
	assert_int_equal(wg_allowedips_insert(&t, 0, any.b, 0, PA), -EAFNOSUPPORT);
	assert_int_equal(wg_allowedips_insert(&t, 4, any.b, 33, PA), -EINVAL);
	assert_int_equal(wg_allowedips_insert(&t, 6, any.b, 129, PA), -EINVAL);
	assert_int_equal(wg_allowedips_insert(&t, 6, any.b, 255, PA), -EINVAL);
	assert_int_equal(wg_allowedips_insert(&t, 4, any.b, 8, NULL), -EINVAL);
	assert_int_equal(wg_allowedips_remove(&t, 2, any.b, 0, PA), -EAFNOSUPPORT);
	assert_int_equal(wg_allowedips_remove(&t, 4, any.b, 40, PA), -EINVAL);
	assert_int_equal(wg_allowedips_remove(&t, 4, any.b, 0, NULL), -EINVAL);
	assert_null(wg_allowedips_lookup(&t, 10, any.b));
	wg_allowedips_remove_by_peer(&t, NULL);
	check(&t);
	assert_int_equal(t.nr_prefixes, 7);
	wg_allowedips_free(&t);
	wg_allowedips_free(&t); /* idempotent on an emptied table */
}

/*
 * The naive model: a flat list scanned in full; the longest matching prefix
 * wins. Each entry remembers when it was given to its peer, which is the
 * order a walk must report.
 */
struct model_entry {
	int family;
	uint8_t cidr;
	uint8_t ip[16];
	void *peer;
	uint64_t seq;
};

struct model {
	struct model_entry *e;
	size_t n, cap;
	uint64_t seq;
};

static void mask_bytes(uint8_t *ip, int len, unsigned int cidr)
{
	for (int i = 0; i < len; i++) {
		unsigned int from = 8 * (unsigned int)i;

		if (cidr <= from)
			ip[i] = 0;
		else if (cidr < from + 8)
			ip[i] &= (uint8_t)(0xff00 >> (cidr - from));
	}
}

static bool model_matches(const struct model_entry *e, int family, const uint8_t *ip)
{
	uint8_t masked[16];
	int len = family == 4 ? 4 : 16;

	if (e->family != family)
		return false;
	memcpy(masked, ip, (size_t)len);
	mask_bytes(masked, len, e->cidr);
	return !memcmp(masked, e->ip, (size_t)len);
}

static struct model_entry *model_find(struct model *m, int family, const uint8_t *ip, uint8_t cidr)
{
	int len = family == 4 ? 4 : 16;

	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].family == family && m->e[i].cidr == cidr &&
		    !memcmp(m->e[i].ip, ip, (size_t)len))
			return &m->e[i];
	return NULL;
}

static void model_insert(struct model *m, int family, const uint8_t *ip, uint8_t cidr, void *peer)
{
	uint8_t masked[16] = {0};
	struct model_entry *e;

	memcpy(masked, ip, family == 4 ? 4 : 16);
	mask_bytes(masked, family == 4 ? 4 : 16, cidr);
	e = model_find(m, family, masked, cidr);
	if (e) {
		if (e->peer != peer) {
			e->peer = peer;
			e->seq = m->seq++;
		}
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->e = realloc(m->e, m->cap * sizeof(*m->e));
		assert_non_null(m->e);
	}
	e = &m->e[m->n++];
	e->family = family;
	e->cidr = cidr;
	memcpy(e->ip, masked, 16);
	e->peer = peer;
	e->seq = m->seq++;
}

static void model_delete(struct model *m, size_t i)
{
	m->e[i] = m->e[--m->n];
}

static void *model_lookup(const struct model *m, int family, const uint8_t *ip)
{
	const struct model_entry *best = NULL;

	for (size_t i = 0; i < m->n; i++)
		if (model_matches(&m->e[i], family, ip) && (!best || m->e[i].cidr > best->cidr))
			best = &m->e[i];
	return best ? best->peer : NULL;
}

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* splitmix64: reproducible across runs and platforms */
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void random_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

/* A copy of @base that keeps its first @keep bits and randomises the rest. */
static void mutate(uint8_t *out, const uint8_t *base, int len, unsigned int keep)
{
	uint8_t noise[16];

	random_bytes(noise, sizeof(noise));
	for (int i = 0; i < len; i++) {
		unsigned int from = 8 * (unsigned int)i;
		uint8_t m = keep >= from + 8 ? 0xff
			    : keep <= from   ? 0
					     : (uint8_t)(0xff00 >> (keep - from));

		out[i] = (uint8_t)((base[i] & m) | (noise[i] & ~m));
	}
}

enum { NUM_PEERS = 64, NUM_ROUTES = 40, NUM_MUTATED = 25, NUM_QUERIES = 5000 };

struct walk_check {
	const struct model *m;
	void *peer;
	uint64_t last_seq;
	size_t seen;
	bool first;
};

static int walk_check_cb(void *ctx, int family, const uint8_t *ip, uint8_t cidr)
{
	struct walk_check *wc = ctx;
	uint8_t full[16] = {0};
	const struct model_entry *e;

	memcpy(full, ip, family == 4 ? 4 : 16);
	e = model_find((struct model *)wc->m, family, full, cidr);
	assert_non_null(e);
	assert_ptr_equal(e->peer, wc->peer);
	if (!wc->first)
		assert_true(e->seq > wc->last_seq);
	wc->first = false;
	wc->last_seq = e->seq;
	wc->seen++;
	return 0;
}

static void compare_all(const struct wg_allowedips *t, const struct model *m, void **peers)
{
	uint8_t ip[16];

	check(t);
	assert_int_equal(t->nr_prefixes, m->n);

	for (int i = 0; i < NUM_QUERIES; i++) {
		int family = i % 2 ? 6 : 4;
		int len = family == 4 ? 4 : 16;

		if (m->n && rng() % 2) {
			/* Aim near a stored prefix, else random space is almost never hit. */
			const struct model_entry *e = &m->e[rng() % m->n];

			family = e->family;
			len = family == 4 ? 4 : 16;
			mutate(ip, e->ip, len, (unsigned int)(rng() % (e->cidr + 9u)));
		} else {
			random_bytes(ip, 16);
		}
		if (wg_allowedips_lookup(t, family, ip) != model_lookup(m, family, ip))
			fail_msg("lookup mismatch, family %d, query %d", family, i);
	}

	for (int p = 0; p < NUM_PEERS; p++) {
		struct walk_check wc = {.m = m, .peer = peers[p], .first = true};
		size_t expect = 0;

		for (size_t i = 0; i < m->n; i++)
			expect += m->e[i].peer == peers[p];
		assert_int_equal(wg_allowedips_walk_by_peer(t, peers[p], walk_check_cb, &wc), 0);
		assert_int_equal(wc.seen, expect);
	}
}

static void random_insert_cluster(struct wg_allowedips *t, struct model *m, void **peers,
				  int family)
{
	int len = family == 4 ? 4 : 16, bits = 8 * len;
	uint8_t ip[16] = {0}, mutated[16] = {0};

	random_bytes(ip, (size_t)len);
	for (int j = 0; j <= NUM_MUTATED; j++) {
		uint8_t cidr = (uint8_t)(rng() % (unsigned int)(bits + 1));
		void *peer = peers[rng() % NUM_PEERS];

		if (j)
			mutate(mutated, ip, len, (unsigned int)(rng() % (unsigned int)bits));
		else
			memcpy(mutated, ip, 16);
		assert_int_equal(wg_allowedips_insert(t, family, mutated, cidr, peer), 0);
		model_insert(m, family, mutated, cidr, peer);
	}
}

static void test_differential(void **state)
{
	static char peer_objs[NUM_PEERS];
	void *peers[NUM_PEERS];
	struct model m = {0};
	struct wg_allowedips t;

	(void)state;
	for (int i = 0; i < NUM_PEERS; i++)
		peers[i] = &peer_objs[i];
	rng_state = 0x5eed;
	wg_allowedips_init(&t);

	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < NUM_ROUTES; i++) {
			random_insert_cluster(&t, &m, peers, 4);
			random_insert_cluster(&t, &m, peers, 6);
		}
		compare_all(&t, &m, peers);

		/* Remove a third of the prefixes one by one, some with the wrong peer. */
		for (size_t k = m.n / 3; k > 0 && m.n; k--) {
			size_t i = rng() % m.n;
			struct model_entry e = m.e[i];
			void *wrong = peers[rng() % NUM_PEERS];

			if (wrong != e.peer)
				assert_int_equal(
					wg_allowedips_remove(&t, e.family, e.ip, e.cidr, wrong),
					-ENOENT);
			assert_int_equal(wg_allowedips_remove(&t, e.family, e.ip, e.cidr, e.peer),
					 0);
			model_delete(&m, i);
		}
		compare_all(&t, &m, peers);

		/* Remove a few peers wholesale. */
		for (int k = 0; k < 6; k++) {
			void *peer = peers[rng() % NUM_PEERS];

			wg_allowedips_remove_by_peer(&t, peer);
			for (size_t i = m.n; i-- > 0;)
				if (m.e[i].peer == peer)
					model_delete(&m, i);
		}
		compare_all(&t, &m, peers);
	}

	/* Everything out: nothing may be left behind. */
	for (int p = 0; p < NUM_PEERS; p++)
		wg_allowedips_remove_by_peer(&t, peers[p]);
	check(&t);
	assert_int_equal(t.nr_nodes, 0);
	assert_int_equal(t.nr_prefixes, 0);
	assert_int_equal(t.nr_peers, 0);
	wg_allowedips_free(&t);
	free(m.e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kernel_table),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_move_between_peers),
		cmocka_unit_test(test_edges_and_bad_input),
		cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
