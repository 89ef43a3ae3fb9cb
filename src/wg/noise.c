// SPDX-License-Identifier: MIT
/*
 * Noise_IKpsk2 as WireGuard runs it (whitepaper §5.4). Notation: C is the
 * chaining key, H the transcript hash, k a one-use AEAD key (nonce 0).
 *
 * Each consume step works on local copies of C and H and commits to the
 * handshake only after every check passed, so a forged or replayed message
 * leaves the peer's state exactly as it was. Every local that held key
 * material is wiped on every exit path (the `out` labels).
 */
#include "wg/noise.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "crypto/blake2s.h"
#include "crypto/kdf.h"
#include "crypto/keys.h"
#include "wg/tai64n.h"

static const char handshake_name[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier_name[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

_Static_assert(sizeof(handshake_name) - 1 == 37, "construction string length");
_Static_assert(sizeof(identifier_name) - 1 == 34, "identifier string length");
_Static_assert((int)NOISE_PUBLIC_KEY_LEN == (int)KEY_LEN, "X25519 keys");
_Static_assert((int)NOISE_HASH_LEN == (int)BLAKE2S_HASH_SIZE, "BLAKE2s-256 hash");
_Static_assert(NOISE_SYMMETRIC_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "AEAD key");
_Static_assert(NOISE_AUTHTAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "AEAD tag");
_Static_assert(NOISE_NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "AEAD nonce");

static void random_bytes(const struct noise_ops *ops, void *buf, size_t len)
{
	if (ops && ops->random)
		ops->random(ops->ctx, buf, len);
	else
		randombytes_buf(buf, len);
}

/* H = HASH(H || data) */
static void mix_hash(uint8_t hash[NOISE_HASH_LEN], const uint8_t *data, size_t len)
{
	struct blake2s_state s;

	blake2s_init(&s, NOISE_HASH_LEN);
	blake2s_update(&s, hash, NOISE_HASH_LEN);
	blake2s_update(&s, data, len);
	blake2s_final(&s, hash);
}

/* C = HASH(CONSTRUCTION); H = HASH(HASH(C || IDENTIFIER) || responder static) */
static void handshake_init_state(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
				 const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN])
{
	blake2s(chaining_key, NOISE_HASH_LEN, handshake_name, sizeof(handshake_name) - 1, NULL, 0);
	memcpy(hash, chaining_key, NOISE_HASH_LEN);
	mix_hash(hash, (const uint8_t *)identifier_name, sizeof(identifier_name) - 1);
	mix_hash(hash, responder_static, NOISE_PUBLIC_KEY_LEN);
}

/* (C, key) = KDF2(C, DH(priv, pub)); fails when the DH result is zero. */
static bool mix_dh(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t *key,
		   const uint8_t priv[NOISE_PUBLIC_KEY_LEN],
		   const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t dh[NOISE_PUBLIC_KEY_LEN];

	if (key_dh(dh, priv, pub))
		return false;
	if (key)
		kdf_blake2s(chaining_key, key, NULL, chaining_key, dh, sizeof(dh));
	else
		kdf_blake2s(chaining_key, NULL, NULL, chaining_key, dh, sizeof(dh));
	sodium_memzero(dh, sizeof(dh));
	return true;
}

static bool mix_precomputed_dh(uint8_t chaining_key[NOISE_HASH_LEN],
			       uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			       const uint8_t precomputed[NOISE_PUBLIC_KEY_LEN])
{
	if (key_is_zero(precomputed))
		return false;
	kdf_blake2s(chaining_key, key, NULL, chaining_key, precomputed, NOISE_PUBLIC_KEY_LEN);
	return true;
}

/* (C, tau, key) = KDF3(C, psk); H = HASH(H || tau) */
static void mix_psk(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
		    uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
		    const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[NOISE_HASH_LEN];

	kdf_blake2s(chaining_key, tau, key, chaining_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	mix_hash(hash, tau, sizeof(tau));
	sodium_memzero(tau, sizeof(tau));
}

static void make_nonce(uint8_t nonce[NOISE_NONCE_LEN], uint64_t counter)
{
	memset(nonce, 0, 4);
	wg_put_le64(nonce + 4, counter);
}

/* dst = AEAD(key, 0, src, H) (len + tag bytes); H = HASH(H || dst) */
static void message_encrypt(uint8_t *dst, const uint8_t *src, size_t len,
			    const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t hash[NOISE_HASH_LEN])
{
	uint8_t nonce[NOISE_NONCE_LEN];

	make_nonce(nonce, 0);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + len, NULL, src, len, hash,
							   NOISE_HASH_LEN, NULL, nonce, key);
	mix_hash(hash, dst, len + NOISE_AUTHTAG_LEN);
}

/* dst = AEAD-open(key, 0, src (len + tag bytes), H); H = HASH(H || src) */
static bool message_decrypt(uint8_t *dst, const uint8_t *src, size_t len,
			    const uint8_t key[NOISE_SYMMETRIC_KEY_LEN],
			    uint8_t hash[NOISE_HASH_LEN])
{
	uint8_t nonce[NOISE_NONCE_LEN];

	make_nonce(nonce, 0);
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL, src, len, src + len, hash,
							       NOISE_HASH_LEN, nonce, key) != 0)
		return false;
	mix_hash(hash, src, len + NOISE_AUTHTAG_LEN);
	return true;
}

/* A fresh ephemeral: e_priv clamped, e_pub in the message, C = KDF1(C, e_pub), H = HASH(H || e_pub). */
static bool make_ephemeral(uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN],
			   uint8_t ephemeral_public[NOISE_PUBLIC_KEY_LEN],
			   uint8_t chaining_key[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
			   const struct noise_ops *ops)
{
	random_bytes(ops, ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	key_clamp_private(ephemeral_private);
	if (key_public_from_private(ephemeral_public, ephemeral_private))
		return false;
	kdf_blake2s(chaining_key, NULL, NULL, chaining_key, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	mix_hash(hash, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	return true;
}

/* The responder mirrors make_ephemeral() with the key it received. */
static void mix_remote_ephemeral(uint8_t chaining_key[NOISE_HASH_LEN], uint8_t hash[NOISE_HASH_LEN],
				 const uint8_t ephemeral_public[NOISE_PUBLIC_KEY_LEN])
{
	kdf_blake2s(chaining_key, NULL, NULL, chaining_key, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	mix_hash(hash, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
}

int noise_static_identity_set(struct noise_static_identity *identity, const uint8_t *private_key)
{
	sodium_memzero(identity, sizeof(*identity));
	if (!private_key || key_is_zero(private_key))
		return -EINVAL;
	memcpy(identity->static_private, private_key, NOISE_PUBLIC_KEY_LEN);
	key_clamp_private(identity->static_private);
	if (key_public_from_private(identity->static_public, identity->static_private)) {
		sodium_memzero(identity, sizeof(*identity));
		return -EINVAL;
	}
	identity->has_identity = true;
	return 0;
}

void noise_handshake_precompute_static_static(struct noise_handshake *handshake)
{
	const struct noise_static_identity *identity = handshake->static_identity;

	if (!identity || !identity->has_identity ||
	    key_dh(handshake->precomputed_static_static, identity->static_private,
		   handshake->remote_static))
		sodium_memzero(handshake->precomputed_static_static, NOISE_PUBLIC_KEY_LEN);
}

void noise_handshake_set_preshared_key(struct noise_handshake *handshake,
				       const uint8_t *preshared_key)
{
	if (preshared_key)
		memcpy(handshake->preshared_key, preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	else
		sodium_memzero(handshake->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

void noise_handshake_init(struct noise_handshake *handshake,
			  const struct noise_static_identity *identity,
			  const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t *preshared_key)
{
	sodium_memzero(handshake, sizeof(*handshake));
	handshake->state = HANDSHAKE_ZEROED;
	handshake->static_identity = identity;
	memcpy(handshake->remote_static, peer_public, NOISE_PUBLIC_KEY_LEN);
	noise_handshake_set_preshared_key(handshake, preshared_key);
	noise_handshake_precompute_static_static(handshake);
}

void noise_handshake_clear(struct noise_handshake *handshake)
{
	sodium_memzero(handshake->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	sodium_memzero(handshake->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	sodium_memzero(handshake->hash, NOISE_HASH_LEN);
	sodium_memzero(handshake->chaining_key, NOISE_HASH_LEN);
	handshake->remote_index = 0;
	handshake->state = HANDSHAKE_ZEROED;
}

int noise_handshake_create_initiation(struct noise_handshake *handshake, uint8_t *msg,
				      uint32_t local_index, uint64_t wall_ns,
				      const struct noise_ops *ops)
{
	const struct noise_static_identity *identity = handshake->static_identity;
	uint8_t chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	int ret = -EINVAL;

	if (!identity || !identity->has_identity)
		return -ENOKEY;

	memset(msg, 0, MESSAGE_INITIATION_LEN);
	wg_put_le32(msg + MESSAGE_OFF_TYPE, MESSAGE_HANDSHAKE_INITIATION);
	wg_put_le32(msg + INITIATION_OFF_SENDER_INDEX, local_index);

	handshake_init_state(chaining_key, hash, handshake->remote_static);

	/* e */
	if (!make_ephemeral(ephemeral_private, msg + INITIATION_OFF_EPHEMERAL, chaining_key, hash,
			    ops))
		goto out;
	/* es */
	if (!mix_dh(chaining_key, key, ephemeral_private, handshake->remote_static))
		goto out;
	/* s */
	message_encrypt(msg + INITIATION_OFF_STATIC, identity->static_public, NOISE_PUBLIC_KEY_LEN,
			key, hash);
	/* ss */
	if (!mix_precomputed_dh(chaining_key, key, handshake->precomputed_static_static))
		goto out;
	/* {t} */
	tai64n_encode(timestamp, wall_ns);
	message_encrypt(msg + INITIATION_OFF_TIMESTAMP, timestamp, NOISE_TIMESTAMP_LEN, key, hash);

	memcpy(handshake->ephemeral_private, ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	memcpy(handshake->chaining_key, chaining_key, NOISE_HASH_LEN);
	memcpy(handshake->hash, hash, NOISE_HASH_LEN);
	handshake->local_index = local_index;
	handshake->remote_index = 0;
	handshake->state = HANDSHAKE_CREATED_INITIATION;
	ret = 0;
out:
	if (ret)
		memset(msg, 0, MESSAGE_INITIATION_LEN);
	sodium_memzero(chaining_key, sizeof(chaining_key));
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(ephemeral_private, sizeof(ephemeral_private));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(timestamp, sizeof(timestamp));
	return ret;
}

int noise_handshake_consume_initiation(const struct noise_static_identity *identity,
				       const uint8_t *msg, size_t len, uint64_t now_ns,
				       const struct noise_ops *ops, struct noise_handshake **out)
{
	uint8_t chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	const uint64_t flood_interval = WG_NSEC_PER_SEC / WG_INITIATIONS_PER_SECOND;
	uint8_t s[NOISE_PUBLIC_KEY_LEN], t[NOISE_TIMESTAMP_LEN];
	struct noise_handshake *handshake;
	bool replay, flood;
	int ret = -EBADMSG;
	const uint8_t *e;

	*out = NULL;
	if (wg_message_classify(msg, len) != MESSAGE_HANDSHAKE_INITIATION)
		return -EBADMSG;
	if (!identity->has_identity)
		return -ENOKEY;
	e = msg + INITIATION_OFF_EPHEMERAL;

	handshake_init_state(chaining_key, hash, identity->static_public);

	/* e */
	mix_remote_ephemeral(chaining_key, hash, e);
	/* es */
	if (!mix_dh(chaining_key, key, identity->static_private, e))
		goto out;
	/* s */
	if (!message_decrypt(s, msg + INITIATION_OFF_STATIC, NOISE_PUBLIC_KEY_LEN, key, hash))
		goto out;
	ret = -ENOENT;
	handshake = ops->lookup_static(ops->ctx, s);
	if (!handshake || handshake->static_identity != identity ||
	    sodium_memcmp(handshake->remote_static, s, NOISE_PUBLIC_KEY_LEN))
		goto out;
	/* ss */
	ret = -EBADMSG;
	if (!mix_precomputed_dh(chaining_key, key, handshake->precomputed_static_static))
		goto out;
	/* {t} */
	if (!message_decrypt(t, msg + INITIATION_OFF_TIMESTAMP, NOISE_TIMESTAMP_LEN, key, hash))
		goto out;

	/* Strictly newer than any earlier one, and not within 1/50 s of the last one consumed. */
	replay = tai64n_compare(t, handshake->latest_timestamp) <= 0;
	flood = handshake->last_initiation_consumption + flood_interval > now_ns;
	if (replay) {
		ret = -EALREADY;
		goto out;
	}
	if (flood) {
		ret = -EAGAIN;
		goto out;
	}

	/* Authenticated and fresh: commit. Any initiation we had in flight is superseded. */
	sodium_memzero(handshake->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	memcpy(handshake->remote_ephemeral, e, NOISE_PUBLIC_KEY_LEN);
	memcpy(handshake->latest_timestamp, t, NOISE_TIMESTAMP_LEN);
	memcpy(handshake->hash, hash, NOISE_HASH_LEN);
	memcpy(handshake->chaining_key, chaining_key, NOISE_HASH_LEN);
	handshake->remote_index = wg_get_le32(msg + INITIATION_OFF_SENDER_INDEX);
	handshake->last_initiation_consumption = now_ns;
	handshake->state = HANDSHAKE_CONSUMED_INITIATION;
	*out = handshake;
	ret = 0;
out:
	sodium_memzero(chaining_key, sizeof(chaining_key));
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(s, sizeof(s));
	sodium_memzero(t, sizeof(t));
	return ret;
}

int noise_handshake_create_response(struct noise_handshake *handshake, uint8_t *msg,
				    uint32_t local_index, const struct noise_ops *ops)
{
	uint8_t chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	int ret = -EINVAL;

	if (handshake->state != HANDSHAKE_CONSUMED_INITIATION)
		return -EINVAL;

	memcpy(chaining_key, handshake->chaining_key, NOISE_HASH_LEN);
	memcpy(hash, handshake->hash, NOISE_HASH_LEN);

	memset(msg, 0, MESSAGE_RESPONSE_LEN);
	wg_put_le32(msg + MESSAGE_OFF_TYPE, MESSAGE_HANDSHAKE_RESPONSE);
	wg_put_le32(msg + RESPONSE_OFF_SENDER_INDEX, local_index);
	wg_put_le32(msg + RESPONSE_OFF_RECEIVER_INDEX, handshake->remote_index);

	/* e */
	if (!make_ephemeral(ephemeral_private, msg + RESPONSE_OFF_EPHEMERAL, chaining_key, hash,
			    ops))
		goto out;
	/* ee */
	if (!mix_dh(chaining_key, NULL, ephemeral_private, handshake->remote_ephemeral))
		goto out;
	/* se */
	if (!mix_dh(chaining_key, NULL, ephemeral_private, handshake->remote_static))
		goto out;
	/* psk */
	mix_psk(chaining_key, hash, key, handshake->preshared_key);
	/* {} */
	message_encrypt(msg + RESPONSE_OFF_EMPTY, NULL, 0, key, hash);

	memcpy(handshake->chaining_key, chaining_key, NOISE_HASH_LEN);
	memcpy(handshake->hash, hash, NOISE_HASH_LEN);
	handshake->local_index = local_index;
	handshake->state = HANDSHAKE_CREATED_RESPONSE;
	ret = 0;
out:
	if (ret)
		memset(msg, 0, MESSAGE_RESPONSE_LEN);
	sodium_memzero(chaining_key, sizeof(chaining_key));
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(ephemeral_private, sizeof(ephemeral_private));
	return ret;
}

int noise_handshake_consume_response(const uint8_t *msg, size_t len, const struct noise_ops *ops,
				     struct noise_handshake **out)
{
	uint8_t chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN], key[NOISE_SYMMETRIC_KEY_LEN];
	const struct noise_static_identity *identity;
	struct noise_handshake *handshake;
	uint32_t receiver_index;
	int ret = -EBADMSG;
	const uint8_t *e;

	*out = NULL;
	if (wg_message_classify(msg, len) != MESSAGE_HANDSHAKE_RESPONSE)
		return -EBADMSG;
	e = msg + RESPONSE_OFF_EPHEMERAL;
	receiver_index = wg_get_le32(msg + RESPONSE_OFF_RECEIVER_INDEX);
	handshake = ops->lookup_index(ops->ctx, receiver_index);
	if (!handshake || handshake->state != HANDSHAKE_CREATED_INITIATION ||
	    handshake->local_index != receiver_index)
		return -ENOENT;
	identity = handshake->static_identity;
	if (!identity || !identity->has_identity)
		return -ENOKEY;

	memcpy(chaining_key, handshake->chaining_key, NOISE_HASH_LEN);
	memcpy(hash, handshake->hash, NOISE_HASH_LEN);

	/* e */
	mix_remote_ephemeral(chaining_key, hash, e);
	/* ee */
	if (!mix_dh(chaining_key, NULL, handshake->ephemeral_private, e))
		goto out;
	/* se */
	if (!mix_dh(chaining_key, NULL, identity->static_private, e))
		goto out;
	/* psk */
	mix_psk(chaining_key, hash, key, handshake->preshared_key);
	/* {} */
	if (!message_decrypt(NULL, msg + RESPONSE_OFF_EMPTY, 0, key, hash))
		goto out;

	sodium_memzero(handshake->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	memcpy(handshake->remote_ephemeral, e, NOISE_PUBLIC_KEY_LEN);
	memcpy(handshake->chaining_key, chaining_key, NOISE_HASH_LEN);
	memcpy(handshake->hash, hash, NOISE_HASH_LEN);
	handshake->remote_index = wg_get_le32(msg + RESPONSE_OFF_SENDER_INDEX);
	handshake->state = HANDSHAKE_CONSUMED_RESPONSE;
	*out = handshake;
	ret = 0;
out:
	sodium_memzero(chaining_key, sizeof(chaining_key));
	sodium_memzero(hash, sizeof(hash));
	sodium_memzero(key, sizeof(key));
	return ret;
}

int noise_handshake_begin_session(struct noise_handshake *handshake, struct noise_keypair *keypair,
				  uint64_t now_ns)
{
	bool initiator;

	if (handshake->state != HANDSHAKE_CREATED_RESPONSE &&
	    handshake->state != HANDSHAKE_CONSUMED_RESPONSE)
		return -EINVAL;
	initiator = handshake->state == HANDSHAKE_CONSUMED_RESPONSE;

	sodium_memzero(keypair, sizeof(*keypair));
	/* (T1, T2) = KDF2(C, empty): the initiator sends with T1, the responder with T2. */
	if (initiator)
		kdf_blake2s(keypair->sending_key, keypair->receiving_key, NULL,
			    handshake->chaining_key, NULL, 0);
	else
		kdf_blake2s(keypair->receiving_key, keypair->sending_key, NULL,
			    handshake->chaining_key, NULL, 0);
	keypair->i_am_the_initiator = initiator;
	keypair->local_index = handshake->local_index;
	keypair->remote_index = handshake->remote_index;
	keypair->birth_ns = now_ns;
	keypair->sending_counter = 0;
	keypair->sending_valid = true;

	noise_handshake_clear(handshake);
	return 0;
}

int noise_keypairs_begin_session(struct noise_keypairs *keypairs, struct noise_keypair *keypair,
				 struct noise_keypair *evicted[NOISE_KEYPAIRS_MAX_EVICTED])
{
	struct noise_keypair *previous = keypairs->previous, *current = keypairs->current;
	struct noise_keypair *next = keypairs->next;
	int n = 0;

	evicted[0] = evicted[1] = NULL;
	if (keypair->i_am_the_initiator) {
		/*
		 * A pending `next` (we were responder meanwhile) was never
		 * confirmed but is newer than `current`: keep it as previous
		 * so late packets on it still decrypt.
		 */
		if (next) {
			keypairs->next = NULL;
			keypairs->previous = next;
			if (current)
				evicted[n++] = current;
		} else {
			keypairs->previous = current;
		}
		if (previous)
			evicted[n++] = previous;
		keypairs->current = keypair;
	} else {
		/* Unconfirmed: the initiator has not proven it holds the keys yet. */
		keypairs->next = keypair;
		if (next)
			evicted[n++] = next;
		keypairs->previous = NULL;
		if (previous)
			evicted[n++] = previous;
	}
	return n;
}

bool noise_keypairs_received_with(struct noise_keypairs *keypairs,
				  const struct noise_keypair *received,
				  struct noise_keypair **evicted)
{
	*evicted = NULL;
	if (!received || keypairs->next != received)
		return false;
	*evicted = keypairs->previous;
	keypairs->previous = keypairs->current;
	keypairs->current = keypairs->next;
	keypairs->next = NULL;
	return true;
}

int noise_keypairs_clear(struct noise_keypairs *keypairs,
			 struct noise_keypair *evicted[NOISE_KEYPAIRS_SLOTS])
{
	int n = 0;

	evicted[0] = keypairs->previous;
	evicted[1] = keypairs->current;
	evicted[2] = keypairs->next;
	for (int i = 0; i < NOISE_KEYPAIRS_SLOTS; i++)
		n += evicted[i] != NULL;
	keypairs->previous = keypairs->current = keypairs->next = NULL;
	return n;
}

void noise_keypairs_expire_sending(struct noise_keypairs *keypairs)
{
	if (keypairs->current)
		keypairs->current->sending_valid = false;
	if (keypairs->next)
		keypairs->next->sending_valid = false;
}

void noise_keypair_wipe(struct noise_keypair *keypair)
{
	sodium_memzero(keypair, sizeof(*keypair));
}

static bool keypair_expired(const struct noise_keypair *keypair, uint64_t now_ns)
{
	return keypair->birth_ns + (uint64_t)WG_REJECT_AFTER_TIME * WG_NSEC_PER_SEC <= now_ns;
}

int noise_keypair_take_counter(struct noise_keypair *keypair, uint64_t now_ns, uint64_t *counter)
{
	if (!keypair->sending_valid || keypair_expired(keypair, now_ns))
		return -EKEYEXPIRED;
	if (keypair->sending_counter >= WG_REJECT_AFTER_MESSAGES) {
		keypair->sending_valid = false;
		return -EKEYEXPIRED;
	}
	*counter = keypair->sending_counter++;
	return 0;
}

size_t noise_padded_len(size_t len, size_t mtu)
{
	size_t last = len, padded;

	if (mtu && last > mtu)
		last %= mtu;
	padded = (last + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);
	if (mtu && padded > mtu)
		padded = mtu;
	return len + (padded - last);
}

size_t noise_encrypt_data(const struct noise_keypair *keypair, uint64_t counter, uint8_t *msg,
			  size_t plain_len)
{
	uint8_t nonce[NOISE_NONCE_LEN];
	uint8_t *payload = msg + MESSAGE_DATA_HEADER_LEN;

	wg_put_le32(msg + MESSAGE_OFF_TYPE, MESSAGE_DATA);
	wg_put_le32(msg + DATA_OFF_RECEIVER_INDEX, keypair->remote_index);
	wg_put_le64(msg + DATA_OFF_COUNTER, counter);
	make_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(payload, payload + plain_len, NULL,
							   payload, plain_len, NULL, 0, NULL, nonce,
							   keypair->sending_key);
	return plain_len + MESSAGE_DATA_MIN_LEN;
}

int noise_decrypt_data(const struct noise_keypair *keypair, uint8_t *msg, size_t len,
		       uint64_t now_ns, uint64_t *counter)
{
	uint8_t nonce[NOISE_NONCE_LEN];
	uint8_t *payload = msg + MESSAGE_DATA_HEADER_LEN;
	size_t plain_len;
	uint64_t ctr;

	if (wg_message_classify(msg, len) != MESSAGE_DATA)
		return -EBADMSG;
	if (keypair_expired(keypair, now_ns))
		return -EKEYEXPIRED;
	ctr = wg_get_le64(msg + DATA_OFF_COUNTER);
	if (ctr >= WG_REJECT_AFTER_MESSAGES)
		return -EKEYEXPIRED;
	plain_len = len - MESSAGE_DATA_MIN_LEN;
	make_nonce(nonce, ctr);
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(payload, NULL, payload, plain_len,
							       payload + plain_len, NULL, 0, nonce,
							       keypair->receiving_key) != 0)
		return -EBADMSG;
	*counter = ctr;
	return 0;
}
