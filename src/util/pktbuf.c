// SPDX-License-Identifier: MIT
/*
 * The packet buffer pool. Buffers are fixed-size slots in one block:
 *
 *   block: | struct pktbuf | mem: headroom, payload, tailroom | struct pktbuf | mem ...
 *
 * Slots are multiples of PKTBUF_ALIGN and mem[] is PKTBUF_ALIGN-aligned within
 * one, so headers never share a cache line with another buffer's payload and
 * the payload of a fresh buffer starts on a line. Membership is checked by
 * address arithmetic, which is also how a foreign or double put is caught.
 */
#include "util/pktbuf.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"
#include "util/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define PKTBUF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PKTBUF_ASAN 1
#endif
#endif

#ifdef PKTBUF_ASAN
#include <sanitizer/asan_interface.h>
#define poison(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define poison(p, n)   ((void)(p), (void)(n))
#define unpoison(p, n) ((void)(p), (void)(n))
#endif

_Static_assert(offsetof(struct pktbuf, mem) % PKTBUF_ALIGN == 0, "payload area must be aligned");
_Static_assert(sizeof(struct pktbuf) % PKTBUF_ALIGN == 0, "slots must stay aligned");

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

static struct pktbuf *slot(const struct pktbuf_pool *pool, unsigned int i)
{
	return (struct pktbuf *)(void *)(pool->block + (size_t)i * pool->slot_size);
}

/* True if @b is the start of one of @pool's slots. */
static bool owns(const struct pktbuf_pool *pool, const struct pktbuf *b)
{
	uintptr_t start = (uintptr_t)pool->block, p = (uintptr_t)b;

	return p >= start && p < start + pool->count * pool->slot_size &&
	       (p - start) % pool->slot_size == 0;
}

int pktbuf_pool_init(struct pktbuf_pool *pool, unsigned int count, unsigned int payload_size,
		     unsigned int headroom, unsigned int tailroom)
{
	size_t head, total;
	unsigned int i;

	memset(pool, 0, sizeof(*pool));
	if (!count || count > PKTBUF_COUNT_MAX || !payload_size ||
	    payload_size > PKTBUF_PAYLOAD_MAX || headroom > PKTBUF_ROOM_MAX ||
	    tailroom > PKTBUF_ROOM_MAX)
		return -EINVAL;

	/* mem[] is aligned, so aligned headroom puts a fresh payload on a line. */
	head = round_up(headroom, PKTBUF_ALIGN);
	pool->slot_size =
		round_up(sizeof(struct pktbuf) + head + payload_size + tailroom, PKTBUF_ALIGN);
	/* The limits above keep this far from overflow: 2^20 slots of < 80 KiB. */
	total = pool->slot_size * count;
	pool->block = aligned_alloc(PKTBUF_ALIGN, total);
	if (!pool->block)
		return -ENOMEM;
	memset(pool->block, 0, total);

	pool->count = count;
	pool->headroom = (unsigned int)head;
	pool->payload_size = payload_size;
	pool->tailroom =
		(unsigned int)(pool->slot_size - sizeof(struct pktbuf) - head - payload_size);
	/* Link in reverse so the first get returns the first slot. */
	for (i = count; i-- > 0;) {
		struct pktbuf *b = slot(pool, i);

		b->size = (uint32_t)(pool->slot_size - sizeof(struct pktbuf));
		b->data = b->mem + head;
		b->free = true;
		b->next = pool->free;
		pool->free = b;
		poison(b->mem, b->size);
	}
	return 0;
}

void pktbuf_pool_destroy(struct pktbuf_pool *pool)
{
	if (!pool->block)
		return;
	if (pool->stats.in_use)
		log_warn("pktbuf", "pool destroyed with buffers in use in_use=%u",
			 pool->stats.in_use);
	assert(pool->stats.in_use == 0);
	unpoison(pool->block, pool->slot_size * pool->count);
	free(pool->block);
	memset(pool, 0, sizeof(*pool));
}

/* Pop one buffer; the caller has checked the freelist is not empty. */
static struct pktbuf *take(struct pktbuf_pool *pool)
{
	struct pktbuf *b = pool->free;

	assert(b->free && owns(pool, b));
	pool->free = b->next;
	unpoison(b->mem, b->size);
	b->next = NULL;
	b->data = b->mem + pool->headroom;
	b->len = 0;
	memset(&b->endpoint, 0, sizeof(b->endpoint));
	b->peer = NULL;
	b->free = false;
	return b;
}

static void note_in_use(struct pktbuf_pool *pool, unsigned int n)
{
	pool->stats.in_use += n;
	if (pool->stats.in_use > pool->stats.high_water)
		pool->stats.high_water = pool->stats.in_use;
}

struct pktbuf *pktbuf_get(struct pktbuf_pool *pool)
{
	struct pktbuf *b;

	if (unlikely(!pool->free)) {
		pool->stats.get_failures++;
		return NULL;
	}
	b = take(pool);
	note_in_use(pool, 1);
	return b;
}

unsigned int pktbuf_get_batch(struct pktbuf_pool *pool, struct pktbuf **out, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n && pool->free; i++)
		out[i] = take(pool);
	note_in_use(pool, i);
	if (unlikely(i < n))
		pool->stats.get_failures++;
	return i;
}

void pktbuf_put(struct pktbuf_pool *pool, struct pktbuf *b)
{
	if (!b)
		return;
	/* A double put would link the buffer twice and hand it out twice later. */
	assert(owns(pool, b) && !b->free);
	if (unlikely(!owns(pool, b) || b->free)) {
		pool->stats.bad_puts++;
		return;
	}
	b->free = true;
	b->next = pool->free;
	pool->free = b;
	pool->stats.in_use--;
	poison(b->mem, b->size);
}

void pktbuf_put_batch(struct pktbuf_pool *pool, struct pktbuf *const *bufs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		pktbuf_put(pool, bufs[i]);
}
