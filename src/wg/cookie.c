// SPDX-License-Identifier: MIT
/*
 * MACs and cookies. MAC(key, x) is keyed BLAKE2s with a 16-byte digest (the
 * length is in the parameter block, so it is not a truncated 32-byte hash);
 * cookie keys are HASH(label || static public key).
 */
#include "wg/cookie.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "crypto/blake2s.h"

static const uint8_t mac1_label[8] = {'m', 'a', 'c', '1', '-', '-', '-', '-'};
static const uint8_t cookie_label[8] = {'c', 'o', 'o', 'k', 'i', 'e', '-', '-'};

_Static_assert((int)COOKIE_KEY_LEN == (int)BLAKE2S_HASH_SIZE, "cookie keys are BLAKE2s-256 hashes");
_Static_assert((int)COOKIE_SECRET_LEN == (int)BLAKE2S_KEY_SIZE, "the secret keys a BLAKE2s MAC");
_Static_assert(COOKIE_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "XAEAD key");
_Static_assert(COOKIE_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "XAEAD nonce");
_Static_assert(NOISE_AUTHTAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "XAEAD tag");

static void precompute_key(uint8_t key[COOKIE_KEY_LEN], const uint8_t label[8],
			   const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	struct blake2s_state s;

	blake2s_init(&s, COOKIE_KEY_LEN);
	blake2s_update(&s, label, 8);
	blake2s_update(&s, public_key, NOISE_PUBLIC_KEY_LEN);
	blake2s_final(&s, key);
}

static bool is_handshake(const uint8_t *msg, size_t len)
{
	enum message_type type = wg_message_classify(msg, len);

	return type == MESSAGE_HANDSHAKE_INITIATION || type == MESSAGE_HANDSHAKE_RESPONSE;
}

/* mac1 covers everything before it, mac2 everything before it (mac1 included). */
static void compute_mac1(uint8_t mac[COOKIE_LEN], const uint8_t *msg, size_t len,
			 const uint8_t key[COOKIE_KEY_LEN])
{
	blake2s(mac, COOKIE_LEN, msg, len - MESSAGE_MACS_LEN, key, COOKIE_KEY_LEN);
}

static void compute_mac2(uint8_t mac[COOKIE_LEN], const uint8_t *msg, size_t len,
			 const uint8_t cookie[COOKIE_LEN])
{
	blake2s(mac, COOKIE_LEN, msg, len - COOKIE_LEN, cookie, COOKIE_LEN);
}

static bool has_expired(uint64_t birth_ns, uint64_t max_age_s, uint64_t now_ns)
{
	return birth_ns + max_age_s * WG_NSEC_PER_SEC <= now_ns;
}

/* cookie = MAC(Rm, source); Rm is replaced once WG_COOKIE_SECRET_MAX_AGE old. */
static void make_cookie(struct cookie_checker *checker, uint8_t cookie[COOKIE_LEN],
			const uint8_t *src, size_t src_len, uint64_t now_ns)
{
	if (!checker->have_secret ||
	    has_expired(checker->secret_birth_ns, WG_COOKIE_SECRET_MAX_AGE, now_ns)) {
		if (checker->random)
			checker->random(checker->random_ctx, checker->secret, COOKIE_SECRET_LEN);
		else
			randombytes_buf(checker->secret, COOKIE_SECRET_LEN);
		checker->secret_birth_ns = now_ns;
		checker->have_secret = true;
	}
	blake2s(cookie, COOKIE_LEN, src, src_len, checker->secret, COOKIE_SECRET_LEN);
}

void cookie_checker_set_public(struct cookie_checker *checker, const uint8_t *our_public)
{
	if (our_public) {
		precompute_key(checker->message_mac1_key, mac1_label, our_public);
		precompute_key(checker->cookie_encryption_key, cookie_label, our_public);
		checker->have_keys = true;
	} else {
		sodium_memzero(checker->message_mac1_key, COOKIE_KEY_LEN);
		sodium_memzero(checker->cookie_encryption_key, COOKIE_KEY_LEN);
		checker->have_keys = false;
	}
}

void cookie_checker_init(struct cookie_checker *checker, const uint8_t *our_public,
			 void (*random)(void *ctx, void *buf, size_t len), void *random_ctx)
{
	sodium_memzero(checker, sizeof(*checker));
	checker->random = random;
	checker->random_ctx = random_ctx;
	cookie_checker_set_public(checker, our_public);
}

void cookie_maker_init(struct cookie_maker *maker, const uint8_t peer_public[NOISE_PUBLIC_KEY_LEN])
{
	sodium_memzero(maker, sizeof(*maker));
	precompute_key(maker->message_mac1_key, mac1_label, peer_public);
	precompute_key(maker->cookie_decryption_key, cookie_label, peer_public);
}

void cookie_checker_wipe(struct cookie_checker *checker)
{
	sodium_memzero(checker, sizeof(*checker));
}

void cookie_maker_wipe(struct cookie_maker *maker)
{
	sodium_memzero(maker, sizeof(*maker));
}

enum cookie_mac_state cookie_validate_packet(struct cookie_checker *checker, const uint8_t *msg,
					     size_t len, const uint8_t *src, size_t src_len,
					     bool check_cookie, uint64_t now_ns)
{
	enum cookie_mac_state ret = COOKIE_MAC_INVALID;
	uint8_t computed[COOKIE_LEN], cookie[COOKIE_LEN];

	if (!checker->have_keys || !is_handshake(msg, len))
		return COOKIE_MAC_INVALID;

	compute_mac1(computed, msg, len, checker->message_mac1_key);
	if (sodium_memcmp(computed, msg + len - MESSAGE_MACS_LEN, COOKIE_LEN))
		goto out;
	ret = COOKIE_MAC_VALID_NO_COOKIE;
	if (!check_cookie)
		goto out;

	make_cookie(checker, cookie, src, src_len, now_ns);
	compute_mac2(computed, msg, len, cookie);
	if (sodium_memcmp(computed, msg + len - COOKIE_LEN, COOKIE_LEN))
		goto out;
	ret = COOKIE_MAC_VALID_WITH_COOKIE;
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}

void cookie_add_mac_to_packet(struct cookie_maker *maker, uint8_t *msg, size_t len, uint64_t now_ns)
{
	uint8_t *mac1 = msg + len - MESSAGE_MACS_LEN, *mac2 = msg + len - COOKIE_LEN;

	compute_mac1(mac1, msg, len, maker->message_mac1_key);
	memcpy(maker->last_mac1_sent, mac1, COOKIE_LEN);
	maker->have_sent_mac1 = true;

	if (maker->have_cookie &&
	    !has_expired(maker->cookie_birth_ns,
			 WG_COOKIE_SECRET_MAX_AGE - WG_COOKIE_SECRET_LATENCY, now_ns))
		compute_mac2(mac2, msg, len, maker->cookie);
	else
		memset(mac2, 0, COOKIE_LEN);
}

int cookie_message_create(struct cookie_checker *checker, uint8_t *out, const uint8_t *msg,
			  size_t len, const uint8_t *src, size_t src_len, uint64_t now_ns)
{
	uint8_t *nonce = out + COOKIE_REPLY_OFF_NONCE;
	uint8_t cookie[COOKIE_LEN];
	const uint8_t *mac1;

	if (!checker->have_keys || !is_handshake(msg, len))
		return -EINVAL;
	mac1 = msg + len - MESSAGE_MACS_LEN;

	memset(out, 0, MESSAGE_COOKIE_REPLY_LEN);
	wg_put_le32(out + MESSAGE_OFF_TYPE, MESSAGE_HANDSHAKE_COOKIE);
	/* Echo the 4 bytes of the message's sender index unchanged. */
	memcpy(out + COOKIE_REPLY_OFF_RECEIVER_INDEX, msg + INITIATION_OFF_SENDER_INDEX, 4);
	if (checker->random)
		checker->random(checker->random_ctx, nonce, COOKIE_NONCE_LEN);
	else
		randombytes_buf(nonce, COOKIE_NONCE_LEN);

	make_cookie(checker, cookie, src, src_len, now_ns);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		out + COOKIE_REPLY_OFF_COOKIE, out + COOKIE_REPLY_OFF_COOKIE + COOKIE_LEN, NULL,
		cookie, COOKIE_LEN, mac1, COOKIE_LEN, NULL, nonce, checker->cookie_encryption_key);
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}

int cookie_message_consume(struct cookie_maker *maker, const uint8_t *msg, size_t len,
			   uint64_t now_ns)
{
	const uint8_t *sealed;
	uint8_t cookie[COOKIE_LEN];

	if (wg_message_classify(msg, len) != MESSAGE_HANDSHAKE_COOKIE)
		return -EBADMSG;
	if (!maker->have_sent_mac1)
		return -ENOENT;

	sealed = msg + COOKIE_REPLY_OFF_COOKIE;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		    cookie, NULL, sealed, COOKIE_LEN, sealed + COOKIE_LEN, maker->last_mac1_sent,
		    COOKIE_LEN, msg + COOKIE_REPLY_OFF_NONCE, maker->cookie_decryption_key) != 0) {
		sodium_memzero(cookie, sizeof(cookie));
		return -EBADMSG;
	}
	memcpy(maker->cookie, cookie, COOKIE_LEN);
	maker->cookie_birth_ns = now_ns;
	maker->have_cookie = true;
	maker->have_sent_mac1 = false;
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}
