/* SPDX-License-Identifier: MIT */
/*
 * Packet buffers for the data plane: a fixed pool carved out of one
 * cache-line-aligned allocation at start-up, so the hot path never calls
 * malloc. get/put are O(1) on a LIFO freelist (the buffer freed last is the
 * one still in cache), with batch forms for recvmmsg/sendmmsg-style I/O.
 *
 * Each buffer has headroom before the payload, so headers are prepended in
 * place (the 16-byte WireGuard data header, then UDP or relay framing), and
 * tailroom after it for the 16-byte AEAD tag and up to 15 bytes of padding:
 *
 *   mem                data               data + len                mem + size
 *   |<--- headroom --->|<------ len ------>|<------- tailroom ------->|
 *
 * The pool is bounded: when it is empty pktbuf_get() returns NULL and the
 * caller drops the packet; nothing ever waits for a buffer.
 *
 * Threading: a pool and its buffers belong to one thread (the event loop) and
 * are not locked. A future crypto worker pool would give each worker its own
 * cache of buffers refilled in batches, not share this freelist.
 *
 * Debug builds (no NDEBUG) assert on a double put or a foreign buffer; release
 * builds ignore such a put and count it in stats.bad_puts. Under
 * AddressSanitizer the payload of a free buffer is poisoned, so a use after
 * put is reported.
 */
#ifndef MESH_UTIL_PKTBUF_H
#define MESH_UTIL_PKTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

enum pktbuf_limits {
	/* Every buffer, and the payload of a fresh one, starts on a cache line. */
	PKTBUF_ALIGN = 64,
	PKTBUF_HEADROOM_DEFAULT = 16 + 32,	/* WireGuard data header + UDP/relay framing */
	PKTBUF_TAILROOM_DEFAULT = 16 + 15 + 17, /* AEAD tag + padding to 16 + spare */
	PKTBUF_PAYLOAD_DEFAULT = 1600,		/* a 1500-byte MTU and more */
	PKTBUF_PAYLOAD_MAX = 65535,		/* room for GSO-sized batches later */
	PKTBUF_ROOM_MAX = 4096,			/* limit on headroom and on tailroom */
	PKTBUF_COUNT_MAX = 1 << 20,
};

struct pktbuf {
	/* Freelist link while free; the holder may use it to chain buffers. */
	struct pktbuf *next;
	uint8_t *data; /* first payload byte, between mem and mem + size */
	uint32_t len;  /* payload bytes at data */
	uint32_t size; /* bytes in mem[]: headroom + len + tailroom, always */
	/*
	 * Metadata for the holder, cleared by pktbuf_get(): the remote UDP
	 * endpoint (source on receive, destination on send) and an
	 * owner-defined pointer such as the WireGuard peer.
	 */
	struct ip_endpoint endpoint;
	void *peer;
	bool free; /* on the freelist: guards against double puts */
	_Alignas(PKTBUF_ALIGN) uint8_t mem[];
};

struct pktbuf_stats {
	unsigned int in_use;	 /* buffers handed out and not yet put back */
	unsigned int high_water; /* most buffers ever in use at once */
	uint64_t get_failures;	 /* get calls that returned fewer buffers than asked for */
	uint64_t bad_puts;	 /* double or foreign puts ignored (release builds) */
};

struct pktbuf_pool {
	struct pktbuf *free; /* LIFO freelist */
	uint8_t *block;	     /* the single allocation holding every buffer */
	size_t slot_size;    /* distance between buffers, a multiple of PKTBUF_ALIGN */
	unsigned int count;
	unsigned int headroom; /* headroom after pktbuf_get(): at least what was asked for */
	unsigned int payload_size;
	unsigned int tailroom; /* tailroom of an empty buffer beyond payload_size: at least asked */
	struct pktbuf_stats stats; /* read-only for users */
};

/**
 * Allocate @count buffers, each with at least @headroom bytes before and
 * @payload_size + @tailroom bytes after the payload start, in one aligned
 * block. Headroom is rounded up so the payload starts cache-line aligned.
 * Returns 0, -EINVAL for a zero or oversized count, payload or room, or
 * -ENOMEM.
 */
int pktbuf_pool_init(struct pktbuf_pool *pool, unsigned int count, unsigned int payload_size,
		     unsigned int headroom, unsigned int tailroom);

/**
 * Free the pool's memory. Every buffer should have been put back; buffers
 * still held become invalid (a debug build asserts, release logs a warning).
 */
void pktbuf_pool_destroy(struct pktbuf_pool *pool);

/**
 * Take a buffer: data at the pool's headroom, len 0, metadata and next
 * cleared. Returns NULL, and counts a failure, when the pool is empty.
 */
struct pktbuf *pktbuf_get(struct pktbuf_pool *pool);

/** Return @b to @pool (NULL is ignored). @b must not be used afterwards. */
void pktbuf_put(struct pktbuf_pool *pool, struct pktbuf *b);

/**
 * Take up to @n buffers into @out[0..] as pktbuf_get() would, for batched
 * receive. Returns how many were taken (fewer than @n counts one failure).
 */
unsigned int pktbuf_get_batch(struct pktbuf_pool *pool, struct pktbuf **out, unsigned int n);

/** Return the @n buffers in @bufs (NULL entries are skipped), as pktbuf_put() each. */
void pktbuf_put_batch(struct pktbuf_pool *pool, struct pktbuf *const *bufs, unsigned int n);

/** Bytes free before the payload. */
static inline size_t pktbuf_headroom(const struct pktbuf *b)
{
	return (size_t)(b->data - b->mem);
}

/** Bytes free after the payload. */
static inline size_t pktbuf_tailroom(const struct pktbuf *b)
{
	return b->size - pktbuf_headroom(b) - b->len;
}

/**
 * Prepend @n bytes into the headroom: data moves back by @n and len grows.
 * Returns the new data pointer, or NULL (nothing changed) if the headroom is
 * smaller than @n.
 */
static inline uint8_t *pktbuf_push(struct pktbuf *b, size_t n)
{
	if (n > pktbuf_headroom(b))
		return NULL;
	b->data -= n;
	b->len += (uint32_t)n;
	return b->data;
}

/**
 * Drop @n bytes from the front of the payload (a header that was consumed).
 * Returns the new data pointer, or NULL (nothing changed) if len < @n.
 */
static inline uint8_t *pktbuf_pull(struct pktbuf *b, size_t n)
{
	if (n > b->len)
		return NULL;
	b->data += n;
	b->len -= (uint32_t)n;
	return b->data;
}

/**
 * Append @n bytes into the tailroom (an AEAD tag, padding). Returns a pointer
 * to the first appended byte, or NULL (nothing changed) if the tailroom is
 * smaller than @n.
 */
static inline uint8_t *pktbuf_extend(struct pktbuf *b, size_t n)
{
	uint8_t *tail = b->data + b->len;

	if (n > pktbuf_tailroom(b))
		return NULL;
	b->len += (uint32_t)n;
	return tail;
}

/** Cut the payload to @len bytes (a tag that was verified); a longer @len changes nothing. */
static inline void pktbuf_trim(struct pktbuf *b, size_t len)
{
	if (len < b->len)
		b->len = (uint32_t)len;
}

#endif
