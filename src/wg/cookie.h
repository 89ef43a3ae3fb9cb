/* SPDX-License-Identifier: MIT */
/*
 * mac1/mac2 and cookie replies, WireGuard's handshake DoS defence
 * (whitepaper §5.4.4, §5.4.7). mac1 proves the sender knows our public key,
 * so every handshake message carries it; mac2 proves it can receive at its
 * source address, and is demanded only under load.
 *
 * The checker is ours (one per device): it validates MACs on received
 * handshakes and mints cookies. A maker lives in each peer: it adds MACs to
 * what we send that peer and keeps the cookie the peer gave us. Time comes in
 * as @now_ns (monotonic nanoseconds); the source address is whatever stable
 * byte encoding the caller picks (e.g. the IP's 4/16 bytes then the port),
 * because only we ever verify our own cookies. Not locked: the caller
 * serialises per checker and per maker.
 */
#ifndef MESH_WG_COOKIE_H
#define MESH_WG_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg_proto.h"

struct cookie_checker {
	uint8_t secret[COOKIE_SECRET_LEN]; /* Rm: cookies are MAC(Rm, source) */
	uint64_t secret_birth_ns;
	bool have_secret;
	uint8_t message_mac1_key[COOKIE_KEY_LEN];      /* HASH("mac1----" || our public) */
	uint8_t cookie_encryption_key[COOKIE_KEY_LEN]; /* HASH("cookie--" || our public) */
	bool have_keys;
	void (*random)(void *ctx, void *buf, size_t len); /* NULL: randombytes_buf() */
	void *random_ctx;
};

struct cookie_maker {
	uint8_t message_mac1_key[COOKIE_KEY_LEN];      /* HASH("mac1----" || peer public) */
	uint8_t cookie_decryption_key[COOKIE_KEY_LEN]; /* HASH("cookie--" || peer public) */
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birth_ns;
	bool have_cookie;
	/* One cookie reply is accepted per mac1 we sent; it is the reply's AD. */
	uint8_t last_mac1_sent[COOKIE_LEN];
	bool have_sent_mac1;
};

enum cookie_mac_state {
	COOKIE_MAC_INVALID = 0,
	COOKIE_MAC_VALID_NO_COOKIE,   /* mac1 good; mac2 not checked or not valid */
	COOKIE_MAC_VALID_WITH_COOKIE, /* both good: next, the per-source rate limit */
};

/**
 * Initialise @checker for our public key @our_public (NULL while we have no
 * identity: every MAC is then invalid), drawing secrets from @random (NULL:
 * libsodium) with @random_ctx. The first cookie secret is made on first use.
 */
void cookie_checker_init(struct cookie_checker *checker, const uint8_t *our_public,
			 void (*random)(void *ctx, void *buf, size_t len), void *random_ctx);

/** Recompute the checker's keys after our key pair changed (NULL: none). */
void cookie_checker_set_public(struct cookie_checker *checker, const uint8_t *our_public);

/** Initialise @maker for the peer whose static public key is @peer_public. */
void cookie_maker_init(struct cookie_maker *maker, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN]);

/** Wipe the cookie secret, keys and state of @checker. */
void cookie_checker_wipe(struct cookie_checker *checker);

/** Wipe the keys and cookie state of @maker. */
void cookie_maker_wipe(struct cookie_maker *maker);

/**
 * Check the MACs of the received handshake message @msg/@len (an initiation
 * or a response of exact size; anything else is COOKIE_MAC_INVALID). mac1 is
 * always checked; mac2 only when @check_cookie (we are under load), against
 * the cookie for the source address @src/@src_len at @now_ns. Constant time
 * in the MAC values.
 */
enum cookie_mac_state cookie_validate_packet(struct cookie_checker *checker, const uint8_t *msg,
					     size_t len, const uint8_t *src, size_t src_len,
					     bool check_cookie, uint64_t now_ns);

/**
 * Fill mac1 and mac2 of the handshake message @msg/@len (>= MESSAGE_MACS_LEN)
 * we are about to send the maker's peer: mac1 always (and remember it), mac2
 * from the peer's cookie if one is younger than WG_COOKIE_SECRET_MAX_AGE -
 * WG_COOKIE_SECRET_LATENCY at @now_ns, else zeros.
 */
void cookie_add_mac_to_packet(struct cookie_maker *maker, uint8_t *msg, size_t len,
			      uint64_t now_ns);

/**
 * Build into @out (MESSAGE_COOKIE_REPLY_LEN bytes) the cookie reply to the
 * received handshake message @msg/@len from @src/@src_len: receiver index =
 * the message's sender index, random nonce, the cookie sealed with
 * XChaCha20-Poly1305 under our cookie key with the message's mac1 as AD.
 * Returns 0 or -EINVAL (not a handshake message, or no identity).
 */
int cookie_message_create(struct cookie_checker *checker, uint8_t *out, const uint8_t *msg,
			  size_t len, const uint8_t *src, size_t src_len, uint64_t now_ns);

/**
 * Consume the cookie reply @msg/@len addressed to the maker's peer (the
 * caller found it through the reply's receiver index, a pending handshake or
 * a keypair). Stores the cookie with birth @now_ns for the next handshake we
 * send; it does not trigger a resend. Returns 0, -EBADMSG (malformed or
 * failed authentication) or -ENOENT (no mac1 outstanding that it could
 * answer, e.g. a second reply to the same message).
 */
int cookie_message_consume(struct cookie_maker *maker, const uint8_t *msg, size_t len,
			   uint64_t now_ns);

#endif
