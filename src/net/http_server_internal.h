/* SPDX-License-Identifier: MIT */
/*
 * What http_server.c (connections, parsing, routing) and http_exchange.c
 * (writing responses) share. Not for use outside src/net.
 */
#ifndef MESH_NET_HTTP_SERVER_INTERNAL_H
#define MESH_NET_HTTP_SERVER_INTERNAL_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "net/http.h"
#include "net/http_server.h"
#include "net/netbuf.h"

enum http_conn_state {
	HTTP_CONN_IDLE,
	HTTP_CONN_HEAD,
	HTTP_CONN_BODY,
	HTTP_CONN_READY,
	HTTP_CONN_HANDLING,
	HTTP_CONN_CLOSING, /* closing, or handed over by an upgrade */
};

enum http_exchange_state {
	HTTP_EX_NONE,
	HTTP_EX_ACTIVE,	   /* the handler owes a response */
	HTTP_EX_STREAMING, /* a stream was started */
};

struct http_exchange {
	enum http_exchange_state state;
	struct net_buf headers; /* "Name: value\r\n" lines added by the handler */
	http_abort_cb *abort_cb;
	void *abort_arg;
	bool chunked;
	bool no_body; /* HEAD request */
};

struct http_conn {
	struct http_conn *prev, *next;
	struct http_server *srv;
	struct net_conn *nc; /* NULL once closed or handed over */
	uv_timer_t timer;
	http_parser parser;
	struct http_head head;
	struct net_buf body;
	struct net_buf inbuf; /* unparsed input (pipelined or after an Upgrade head) */
	struct net_buf out;   /* scratch for building a response head or chunk */
	char *url_parts;      /* path\0query\0 of the current request */
	enum http_conn_state state;
	int reject_status; /* set by a parser callback that refused the request */
	int pending;	   /* handles (net_conn, timer) still to close */
	unsigned int served;
	bool keep_alive;
	bool tls;
	bool driving;	  /* inside drive(): a synchronous response must not recurse */
	bool read_paused; /* inbuf is full: reading resumes when the exchange ends */
	struct http_exchange ex;
	struct http_request req;
};

struct http_server {
	uv_loop_t *loop;
	struct http_server_config cfg;
	struct listener *listeners;
	struct http_conn *conns;
	size_t nconns;
	struct route *routes;
	size_t nroutes;
	uv_timer_t close_timer; /* makes the close callback always come from the loop */
	int pending;		/* listeners + close_timer still to close */
	bool closing;
	uint64_t accept_warned; /* loop time of the last accept warning */
	http_server_closed_cb *closed_cb;
	void *closed_arg;
};

/** Abort the exchange if one is open (its abort callback runs), then close for good. */
void http_conn_close(struct http_conn *sc);

/** The response of the current exchange is complete: next request (keep-alive) or close. */
void http_conn_finish(struct http_conn *sc);

/** Close from the loop, not from inside the application's call (a write failed). */
void http_conn_schedule_close(struct http_conn *sc);

/** Put the status line, Date and Connection headers into sc->out. Returns 0 or a negative errno. */
int http_response_start(struct http_conn *sc, int status);

/** Append printf output (one header line, at most a few hundred bytes) to @b. */
int http_response_printf(struct net_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Write sc->out to the connection and empty it. */
int http_response_send(struct http_conn *sc);

#endif
