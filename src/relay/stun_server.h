/* SPDX-License-Identifier: MIT */
/*
 * The relay's STUN server: answers Binding requests on one UDP socket with
 * the address and port the request came from. RFC 8489/5389 requests (with
 * the magic cookie) get XOR-MAPPED-ADDRESS; classic RFC 3489 requests (no
 * cookie, 16-byte transaction id) get MAPPED-ADDRESS, as RFC 5389 §12.2
 * asks, so old clients work too. A classic request that asks for a reply
 * from another address or port (CHANGE-REQUEST) is not answered: this
 * server has only one. Everything else is dropped and counted.
 */
#ifndef MESH_RELAY_STUN_SERVER_H
#define MESH_RELAY_STUN_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct stun_server;

struct stun_server_stats {
	uint64_t requests;	   /* Binding requests answered (both kinds) */
	uint64_t classic_requests; /* of those, RFC 3489 ones */
	uint64_t ignored;	   /* valid STUN we do not answer (other methods, CHANGE-REQUEST) */
	uint64_t bad;		   /* datagrams that are not STUN */
	uint64_t send_errors;	   /* answers the socket would not take */
};

/** The server has closed its socket and freed itself. */
typedef void stun_server_closed_cb(void *arg);

/**
 * Answer STUN on @endpoint ("0.0.0.0:3478", "[::]:3478": an IPv6 wildcard
 * also serves IPv4; port 0 picks a free port, stored in *@port if @port is
 * not NULL). Returns 0 or a negative errno (-EINVAL for a bad endpoint).
 */
int stun_server_new(struct stun_server **out, uv_loop_t *loop, const char *endpoint,
		    uint16_t *port);

/**
 * Build the answer to the datagram @req/@len from @from into @out (@cap
 * bytes). Returns its length, 0 for no answer; @stats counts what it was.
 * The socket-free core of the server, for tests.
 */
size_t stun_server_answer(const uint8_t *req, size_t len, const struct sockaddr *from, uint8_t *out,
			  size_t cap, struct stun_server_stats *stats);

/** Copy the counters of @s into @out. */
void stun_server_get_stats(const struct stun_server *s, struct stun_server_stats *out);

/** Close the socket and free @s; @cb (may be NULL) runs from the loop when done. */
void stun_server_close(struct stun_server *s, stun_server_closed_cb *cb, void *arg);

#endif
