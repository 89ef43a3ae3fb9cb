// SPDX-License-Identifier: MIT
/*
 * Growable byte queue. Consumed space at the head is reclaimed lazily: when
 * the queue drains it restarts at offset zero, and before growing the live
 * bytes are moved down, so a steady producer/consumer pair never reallocates.
 */
#include "net/netbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { NETBUF_MIN_CAP = 256 };

int net_buf_append(struct net_buf *b, const void *p, size_t n, size_t max)
{
	size_t live = net_buf_len(b);
	size_t need, cap;
	uint8_t *nd;

	if (n == 0)
		return 0;
	if (n > SIZE_MAX / 2 - live || (max && live + n > max))
		return -EMSGSIZE;
	need = live + n;
	if (b->len + n <= b->cap) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		return 0;
	}
	if (need <= b->cap) {
		/* Enough room once the consumed head is reclaimed. */
		memmove(b->data, b->data + b->off, live);
	} else {
		cap = b->cap ? b->cap : NETBUF_MIN_CAP;
		while (cap < need)
			cap *= 2;
		nd = malloc(cap);
		if (!nd)
			return -ENOMEM;
		if (live)
			memcpy(nd, b->data + b->off, live);
		free(b->data);
		b->data = nd;
		b->cap = cap;
	}
	b->off = 0;
	b->len = live;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void net_buf_consume(struct net_buf *b, size_t n)
{
	if (n >= net_buf_len(b)) {
		b->off = 0;
		b->len = 0;
		return;
	}
	b->off += n;
}

void net_buf_reset(struct net_buf *b)
{
	b->off = 0;
	b->len = 0;
}

void net_buf_free(struct net_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->off = 0;
	b->len = 0;
	b->cap = 0;
}
