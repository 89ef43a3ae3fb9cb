/* SPDX-License-Identifier: MIT */
/*
 * TLS on mbedTLS 2.28 with memory BIOs: the session never touches a socket.
 * Ciphertext from the network goes in with tls_session_feed(), ciphertext to
 * send comes out of tls_session_take_output(), so the caller (net/conn.c)
 * keeps libuv non-blocking. mbedTLS error codes never leave tls.c: functions
 * return 0 or a negative errno and keep a readable reason in the session.
 *
 * Errors: -EAGAIN (more input needed), -EKEYREJECTED (the peer certificate
 * did not verify: untrusted, expired, wrong host name), -EPROTO (any other
 * TLS failure), -ENOMEM, -EINVAL.
 */
#ifndef MESH_NET_TLS_H
#define MESH_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where Debian keeps the system trust store (ca-certificates). */
#define TLS_SYSTEM_CA_DIR "/etc/ssl/certs"

struct tls_config;
struct tls_session;

/**
 * Create a server configuration from a PEM certificate chain (leaf first) and
 * its private key. The key must match the certificate. On failure returns a
 * negative errno and writes a reason naming the file into @err (@errlen bytes).
 */
int tls_config_new_server(struct tls_config **out, const char *cert_file, const char *key_file,
			  char *err, size_t errlen);

/**
 * Create a client configuration that verifies servers against the system
 * store (when @system_ca is true: TLS_SYSTEM_CA_DIR) plus the PEM certificates
 * in @extra_ca_file (may be NULL). Verification is always required; at least
 * one trust anchor must load. On failure returns a negative errno and writes a
 * reason into @err.
 */
int tls_config_new_client(struct tls_config **out, bool system_ca, const char *extra_ca_file,
			  char *err, size_t errlen);

/** Free @cfg (NULL is fine). Every session made from it must be freed first. */
void tls_config_free(struct tls_config *cfg);

/**
 * Start a session on @cfg. A client session needs @server_name: it is sent as
 * SNI and the certificate must be valid for it; a server passes NULL.
 */
int tls_session_new(struct tls_session **out, struct tls_config *cfg, const char *server_name);

/** Free @s and wipe its keys (NULL is fine). */
void tls_session_free(struct tls_session *s);

/** Queue @len bytes of ciphertext received from the peer. Returns 0 or -ENOMEM. */
int tls_session_feed(struct tls_session *s, const uint8_t *buf, size_t len);

/**
 * Advance the handshake with the input fed so far. Returns 0 once it is
 * complete, -EAGAIN when it needs more input, or a fatal error (see top).
 * Output may be produced either way: send tls_session_take_output().
 */
int tls_session_handshake(struct tls_session *s);

/**
 * Decrypt into @buf. Returns the number of plaintext bytes (> 0), 0 when the
 * peer closed the session with close_notify, -EAGAIN when no full record is
 * buffered, or a fatal error.
 */
ssize_t tls_session_read(struct tls_session *s, uint8_t *buf, size_t len);

/** Encrypt all of @buf into the output queue. Returns 0 or a fatal error. */
int tls_session_write(struct tls_session *s, const uint8_t *buf, size_t len);

/** Queue a close_notify alert. Returns 0 or a fatal error. */
int tls_session_close_notify(struct tls_session *s);

/** True when input is buffered (ciphertext or decrypted) that tls_session_read() has not returned. */
bool tls_session_has_input(const struct tls_session *s);

/**
 * Hand the queued ciphertext to the caller: returns a malloc'd buffer (free it)
 * and its length in *len, or NULL with *len = 0 when nothing is queued.
 */
uint8_t *tls_session_take_output(struct tls_session *s, size_t *len);

/** The reason for the last failure of @s, or "" if none. */
const char *tls_session_error(const struct tls_session *s);

#endif
