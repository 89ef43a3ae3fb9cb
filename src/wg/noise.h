/* SPDX-License-Identifier: MIT */
/*
 * WireGuard's Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake, session keys
 * and keypair rotation, as a state machine that does no I/O.
 *
 * Nothing here reads a clock, touches a socket, allocates or keeps a global:
 *  - time comes in as arguments: @now_ns is a monotonic clock in nanoseconds
 *    (CLOCK_MONOTONIC or CLOCK_BOOTTIME; flood limit, keypair age) and
 *    @wall_ns is CLOCK_REALTIME in nanoseconds (the TAI64N timestamp);
 *  - peer lookups and randomness go through struct noise_ops, so the engine
 *    plugs in its peer and index tables and tests inject fixed ephemerals;
 *  - local indices are chosen by the caller (random, unused in its index
 *    table) and passed in; the caller keeps that table in step: an index names
 *    a peer's handshake while the handshake waits for a response, then the
 *    keypair that noise_handshake_begin_session() moved it to.
 *
 * Nothing here locks either: the caller serialises all calls that touch one
 * peer's handshake/keypairs (one loop thread, or a per-peer lock). MACs and
 * cookies (wg/cookie.h) are separate: add them after creating a message and
 * check mac1 before consuming one.
 *
 * Typical use, initiator:   create_initiation → cookie_add_mac_to_packet → send;
 *                           consume_response → begin_session → keypairs_begin_session.
 * Responder:                cookie_validate_packet → consume_initiation →
 *                           create_response → cookie_add_mac_to_packet →
 *                           begin_session → keypairs_begin_session → send.
 * Every data packet received: noise_decrypt_data → replay check →
 *                           noise_keypairs_received_with.
 */
#ifndef MESH_WG_NOISE_H
#define MESH_WG_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg/wg_proto.h"

/* Our own key pair, one per device. */
struct noise_static_identity {
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];
	uint8_t static_private[NOISE_PUBLIC_KEY_LEN]; /* clamped */
	bool has_identity;
};

enum noise_handshake_state {
	HANDSHAKE_ZEROED = 0,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

/* The handshake with one peer; lives inside the peer. */
struct noise_handshake {
	enum noise_handshake_state state;
	const struct noise_static_identity *static_identity;
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	/* DH(our static, their static), or zeros when there is none (then no handshake). */
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN]; /* zeros: no PSK */
	/* Newest timestamp ever consumed from this peer (replay defence), kept across sessions. */
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint64_t last_initiation_consumption; /* now_ns of the last consumed initiation */
	/* Ephemeral state, wiped when a session begins or the handshake is cleared. */
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint32_t local_index; /* meaningful only while state != HANDSHAKE_ZEROED */
	uint32_t remote_index;
};

/*
 * One session's transport keys. The caller owns the memory (the keypair
 * slots below hold pointers), so in-flight packets can keep a keypair alive
 * after it leaves its slot. The anti-replay window for receiving is not part
 * of this struct yet; the engine adds it.
 */
struct noise_keypair {
	uint8_t sending_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t receiving_key[NOISE_SYMMETRIC_KEY_LEN];
	uint64_t sending_counter; /* next nonce to hand out */
	uint64_t birth_ns;	  /* now_ns when the session began */
	uint32_t local_index;	  /* receiver_index of data sent to us */
	uint32_t remote_index;	  /* receiver_index of data we send */
	bool i_am_the_initiator;
	bool sending_valid; /* cleared on counter exhaustion or noise_keypairs_expire_sending() */
};

/*
 * A peer's three slots (whitepaper §5.4.6 / kernel noise.c): send with
 * `current`; receive with any. A responder's new session waits in `next`
 * until the initiator proves it has the keys by sending on it.
 */
struct noise_keypairs {
	struct noise_keypair *previous;
	struct noise_keypair *current;
	struct noise_keypair *next;
};

enum noise_keypairs_limits {
	/* At most this many keypairs leave the slots in one rotation. */
	NOISE_KEYPAIRS_MAX_EVICTED = 2,
	NOISE_KEYPAIRS_SLOTS = 3,
};

/* The engine's hooks; @ctx is passed back to each. */
struct noise_ops {
	/* The handshake of the configured peer whose static public key is @public_key, or NULL. */
	struct noise_handshake *(*lookup_static)(void *ctx,
						 const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
	/* The peer handshake registered under our local index @index, or NULL. */
	struct noise_handshake *(*lookup_index)(void *ctx, uint32_t index);
	/* Fill @buf with @len random bytes; NULL means libsodium's randombytes_buf(). */
	void (*random)(void *ctx, void *buf, size_t len);
	void *ctx;
};

/**
 * Set our static private key (clamped copy) and derive the public key. An
 * all-zero or NULL @private_key removes the identity; then no handshake is
 * created or consumed. After any change, call
 * noise_handshake_precompute_static_static() for every peer and
 * noise_keypairs_expire_sending() if the old sessions must stop. Returns 0 or
 * -EINVAL (identity cleared).
 */
int noise_static_identity_set(struct noise_static_identity *identity, const uint8_t *private_key);

/**
 * Initialise @handshake for the peer @peer_public under @identity (which must
 * outlive it), with @preshared_key or NULL for none, and precompute the
 * static-static DH. The caller refuses peers whose key equals our own.
 */
void noise_handshake_init(struct noise_handshake *handshake,
			  const struct noise_static_identity *identity,
			  const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t *preshared_key);

/**
 * Recompute DH(our static, peer static) after our identity changed. A
 * low-order peer key or a missing identity leaves zeros, and every later
 * handshake with this peer fails cleanly.
 */
void noise_handshake_precompute_static_static(struct noise_handshake *handshake);

/** Replace the preshared key (NULL: none). Takes effect on the next handshake. */
void noise_handshake_set_preshared_key(struct noise_handshake *handshake,
				       const uint8_t *preshared_key);

/**
 * Forget the in-progress handshake (ephemeral, hash, chaining key): state
 * becomes HANDSHAKE_ZEROED. The caller drops handshake->local_index from its
 * index table first if it registered it. The peer's keys, latest timestamp
 * and flood clock stay.
 */
void noise_handshake_clear(struct noise_handshake *handshake);

/**
 * Build a handshake initiation into @msg (MESSAGE_INITIATION_LEN bytes; mac1
 * and mac2 left zero for cookie_add_mac_to_packet()) with a fresh ephemeral
 * from ops->random (@ops may be NULL: libsodium's randomness), the TAI64N of
 * @wall_ns and sender index @local_index.
 * Any earlier handshake state is replaced; the caller unregisters the old
 * local index and registers the new one. Returns 0, -ENOKEY without an
 * identity, or -EINVAL when a DH result is zero (e.g. low-order peer key).
 */
int noise_handshake_create_initiation(struct noise_handshake *handshake, uint8_t *msg,
				      uint32_t local_index, uint64_t wall_ns,
				      const struct noise_ops *ops);

/**
 * Consume the initiation @msg/@len (its mac1 already checked): decrypt the
 * initiator's static key, find its peer with ops->lookup_static, decrypt the
 * timestamp and apply the replay (timestamp not newer than the latest) and
 * flood (< 1/WG_INITIATIONS_PER_SECOND since the last consumption at @now_ns)
 * rules. On success the peer's handshake becomes HANDSHAKE_CONSUMED_INITIATION
 * and *@out points at it; on failure nothing changes. Returns 0, -EBADMSG
 * (malformed or failed authentication), -ENOKEY (no identity), -ENOENT
 * (unknown peer), -EALREADY (replayed timestamp) or -EAGAIN (flood).
 */
int noise_handshake_consume_initiation(const struct noise_static_identity *identity,
				       const uint8_t *msg, size_t len, uint64_t now_ns,
				       const struct noise_ops *ops, struct noise_handshake **out);

/**
 * Build the response to a consumed initiation into @msg (MESSAGE_RESPONSE_LEN
 * bytes, MACs zero) with a fresh ephemeral (from ops->random, or libsodium when
 * @ops is NULL) and sender index @local_index.
 * Afterwards the handshake is HANDSHAKE_CREATED_RESPONSE, ready for
 * noise_handshake_begin_session(). Returns 0, -EINVAL in the wrong state or
 * when a DH result is zero.
 */
int noise_handshake_create_response(struct noise_handshake *handshake, uint8_t *msg,
				    uint32_t local_index, const struct noise_ops *ops);

/**
 * Consume the response @msg/@len (mac1 already checked): find our pending
 * handshake through its receiver index with ops->lookup_index (it must be in
 * HANDSHAKE_CREATED_INITIATION under that index), run the DHs and the PSK,
 * authenticate the empty payload. On success the handshake becomes
 * HANDSHAKE_CONSUMED_RESPONSE and *@out points at it; on failure it is left
 * untouched, so a forged response cannot kill a pending handshake. Returns
 * 0, -EBADMSG, -ENOKEY or -ENOENT (no such pending handshake).
 */
int noise_handshake_consume_response(const uint8_t *msg, size_t len, const struct noise_ops *ops,
				     struct noise_handshake **out);

/**
 * Derive the transport keys (T_send, T_recv) = KDF2(C, empty), swapped for
 * the responder, into @keypair (overwritten entirely), with birth @now_ns and
 * the handshake's two indices, then wipe the handshake's ephemeral state. The
 * local index now belongs to the keypair. Returns 0 or -EINVAL unless the
 * state is HANDSHAKE_CREATED_RESPONSE or HANDSHAKE_CONSUMED_RESPONSE.
 */
int noise_handshake_begin_session(struct noise_handshake *handshake, struct noise_keypair *keypair,
				  uint64_t now_ns);

/**
 * Install a new session in the slots. Initiator (key confirmed already):
 * current = @keypair, previous = the old next if there was one, else the old
 * current. Responder: next = @keypair, previous emptied; current is kept and
 * used until the initiator sends on next. Keypairs that leave the slots are
 * written to @evicted (the rest set to NULL) for the caller to unregister,
 * noise_keypair_wipe() and free. Returns how many were evicted.
 */
int noise_keypairs_begin_session(struct noise_keypairs *keypairs, struct noise_keypair *keypair,
				 struct noise_keypair *evicted[NOISE_KEYPAIRS_MAX_EVICTED]);

/**
 * Note an authenticated data packet received on @received. If it is the
 * `next` keypair, the handshake is confirmed: previous = current, current =
 * next, next = NULL; the old previous is written to *@evicted (else NULL).
 * Returns true exactly when that promotion happened.
 */
bool noise_keypairs_received_with(struct noise_keypairs *keypairs,
				  const struct noise_keypair *received,
				  struct noise_keypair **evicted);

/**
 * Empty all three slots; the former occupants go to @evicted (NULL where a
 * slot was empty). Returns how many were non-NULL.
 */
int noise_keypairs_clear(struct noise_keypairs *keypairs,
			 struct noise_keypair *evicted[NOISE_KEYPAIRS_SLOTS]);

/** Stop sending on `current` and `next` (they still receive), e.g. after a key change. */
void noise_keypairs_expire_sending(struct noise_keypairs *keypairs);

/** Wipe @keypair's keys and state before its memory is freed or reused. */
void noise_keypair_wipe(struct noise_keypair *keypair);

/**
 * Hand out the next sending nonce of @keypair into *@counter. Fails with
 * -EKEYEXPIRED (and the keypair stops being valid for sending, where
 * permanent) when it is not valid for sending, is WG_REJECT_AFTER_TIME old at
 * @now_ns, or has used WG_REJECT_AFTER_MESSAGES nonces.
 */
int noise_keypair_take_counter(struct noise_keypair *keypair, uint64_t now_ns, uint64_t *counter);

/**
 * The plaintext length after padding @len to MESSAGE_PADDING_MULTIPLE without
 * passing @mtu (0: no MTU); a packet of exactly a non-aligned MTU stays as is.
 * The caller zero-fills the added bytes.
 */
size_t noise_padded_len(size_t len, size_t mtu);

/**
 * Build a transport data message in place. @msg holds MESSAGE_DATA_HEADER_LEN
 * bytes of headroom, then @plain_len bytes of (already padded) plaintext,
 * then NOISE_AUTHTAG_LEN bytes of tailroom. Writes the header (receiver =
 * keypair->remote_index, @counter), encrypts in place, appends the tag and
 * returns the message length, @plain_len + MESSAGE_DATA_MIN_LEN.
 */
size_t noise_encrypt_data(const struct noise_keypair *keypair, uint64_t counter, uint8_t *msg,
			  size_t plain_len);

/**
 * Authenticate and decrypt the transport data message @msg/@len in place
 * with @keypair (which the caller found by the message's receiver index).
 * On success the plaintext is at msg + MESSAGE_DATA_HEADER_LEN, its length
 * @len - MESSAGE_DATA_MIN_LEN, and *@counter is the message's nonce for the
 * caller's replay check (do that now, after authentication). Returns 0,
 * -EBADMSG (short, or failed authentication; @msg content then undefined) or
 * -EKEYEXPIRED (keypair WG_REJECT_AFTER_TIME old at @now_ns, or counter at
 * WG_REJECT_AFTER_MESSAGES).
 */
int noise_decrypt_data(const struct noise_keypair *keypair, uint8_t *msg, size_t len,
		       uint64_t now_ns, uint64_t *counter);

#endif
