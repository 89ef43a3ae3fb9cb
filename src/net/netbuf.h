/* SPDX-License-Identifier: MIT */
/*
 * A growable byte queue for the network layer: data is appended at the tail
 * and consumed from the head, with an optional hard limit so a peer can never
 * make us buffer without bound. Used for TLS records, pushed-back input,
 * header storage and request bodies.
 */
#ifndef MESH_NET_NETBUF_H
#define MESH_NET_NETBUF_H

#include <stddef.h>
#include <stdint.h>

struct net_buf {
	uint8_t *data;
	size_t off; /* first unconsumed byte */
	size_t len; /* end of valid data (off <= len <= cap) */
	size_t cap;
};

/** Bytes queued in @b and not yet consumed. */
static inline size_t net_buf_len(const struct net_buf *b)
{
	return b->len - b->off;
}

/** Pointer to the first unconsumed byte of @b (NULL when nothing was ever stored). */
static inline uint8_t *net_buf_head(const struct net_buf *b)
{
	return b->data ? b->data + b->off : NULL;
}

/**
 * Append @n bytes from @p to @b, growing it as needed. If @max is not zero and
 * the queue would then hold more than @max bytes, nothing is appended and
 * -EMSGSIZE is returned. Returns 0 or -ENOMEM.
 */
int net_buf_append(struct net_buf *b, const void *p, size_t n, size_t max);

/** Drop @n bytes (at most net_buf_len()) from the head of @b. */
void net_buf_consume(struct net_buf *b, size_t n);

/** Empty @b but keep its memory for reuse. */
void net_buf_reset(struct net_buf *b);

/** Release the memory of @b and leave it empty (safe on a zeroed or freed buffer). */
void net_buf_free(struct net_buf *b);

#endif
