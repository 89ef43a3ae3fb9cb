// SPDX-License-Identifier: MIT
/*
 * The receive path: WireGuard messages from the network, one batch at a
 * time. Every message that is not delivered is counted in exactly one drop
 * counter; nothing here allocates except a keypair when a handshake
 * completes.
 *
 * Order of checks for data: exact type and minimum length, receiver index
 * -> keypair, AEAD (authenticates before anything is trusted), replay window
 * (only after authentication, so forged counters cannot move it), then the
 * session bookkeeping, roaming, and the inner source address against the
 * peer's allowed IPs (cryptokey routing, receive side).
 *
 * Under load (many handshake messages per second), handshakes must carry a
 * valid mac2 (a cookie proving the source address) and pass the per-source
 * token bucket; otherwise they get a cookie reply and no DH is done.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/compiler.h"
#include "util/log.h"
#include "wg/internal.h"
#include "wg/wg_proto.h"

enum {
	/* Handshake messages per second above which we are "under load". */
	UNDER_LOAD_RATE = WG_UNDER_LOAD_QUEUE_LEN,
};

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* The source as bytes for the cookie MAC: address (4 or 16) then port (BE). */
static size_t source_bytes(const struct ip_endpoint *ep, uint8_t out[18])
{
	size_t alen = ep->addr.family == IP_FAMILY_V4 ? 4 : 16;

	memcpy(out, ep->addr.bytes, alen);
	out[alen] = (uint8_t)(ep->port >> 8);
	out[alen + 1] = (uint8_t)ep->port;
	return alen + 2;
}

static bool under_load(struct wg_device *dev, uint64_t now)
{
	if (now - dev->handshake_window_start >= WG_NSEC_PER_SEC) {
		dev->handshake_window_start = now;
		dev->handshake_window_count = 0;
	}
	if (++dev->handshake_window_count > UNDER_LOAD_RATE)
		dev->under_load_until = now + WG_UNDER_LOAD_TIME * WG_NSEC_PER_SEC;
	return now < dev->under_load_until;
}

static void send_cookie_reply(struct wg_device *dev, const struct pktbuf *in, const uint8_t *src,
			      size_t src_len, uint64_t now)
{
	struct pktbuf *b = pktbuf_get(&dev->pool);

	if (!b) {
		dev->stats.drop_nobuf++;
		return;
	}
	if (cookie_message_create(&dev->cookie_checker, b->data, in->data, in->len, src, src_len,
				  now)) {
		pktbuf_put(&dev->pool, b);
		return;
	}
	b->len = MESSAGE_COOKIE_REPLY_LEN;
	b->endpoint = in->endpoint;
	dev->stats.cookie_replies_sent++;
	wg_device_queue_tx(dev, b);
}

/* mac1, and under load mac2 + the token bucket. True if the message may be consumed. */
static bool handshake_admitted(struct wg_device *dev, struct pktbuf *b, uint64_t now)
{
	uint8_t src[18];
	size_t src_len = source_bytes(&b->endpoint, src);
	bool load = under_load(dev, now);
	enum cookie_mac_state mac;

	mac = cookie_validate_packet(&dev->cookie_checker, b->data, b->len, src, src_len, load,
				     now);
	if (mac == COOKIE_MAC_INVALID) {
		dev->stats.drop_mac++;
		return false;
	}
	if (!load)
		return true;
	if (mac != COOKIE_MAC_VALID_WITH_COOKIE) {
		send_cookie_reply(dev, b, src, src_len, now);
		dev->stats.drop_mac++;
		return false;
	}
	if (!wg_ratelimiter_allow(&dev->ratelimiter, b->endpoint.addr.family,
				  b->endpoint.addr.bytes, now)) {
		dev->stats.drop_ratelimited++;
		return false;
	}
	return true;
}

/* Start a session from a handshake in HANDSHAKE_CREATED_RESPONSE / CONSUMED_RESPONSE. */
static struct wg_keypair *begin_session(struct wg_peer *peer, uint64_t now)
{
	struct wg_device *dev = peer->dev;
	struct noise_keypair *evicted[NOISE_KEYPAIRS_MAX_EVICTED];
	struct wg_keypair *kp = calloc(1, sizeof(*kp));
	int n;

	if (!kp) {
		wg_index_table_remove(&dev->index_table, &peer->handshake_entry);
		noise_handshake_clear(&peer->handshake);
		return NULL;
	}
	if (noise_handshake_begin_session(&peer->handshake, &kp->noise, now)) {
		free(kp);
		return NULL;
	}
	kp->peer = peer;
	replay_init(&kp->replay);
	kp->entry.type = WG_INDEX_KEYPAIR;
	kp->entry.peer = peer;
	kp->entry.owner = kp;
	/* The handshake's index now names the keypair. */
	wg_index_table_replace(&dev->index_table, &peer->handshake_entry, &kp->entry);
	n = noise_keypairs_begin_session(&peer->keypairs, &kp->noise, evicted);
	for (int i = 0; i < n; i++)
		wg_peer_keypair_free(container_of(evicted[i], struct wg_keypair, noise));
	wg_timers_session_derived(&peer->timers, now);
	return kp;
}

static void rx_initiation(struct wg_device *dev, struct pktbuf *b, uint64_t now)
{
	struct noise_handshake *hs;
	struct wg_peer *peer;
	struct pktbuf *resp;
	int ret;

	if (!handshake_admitted(dev, b, now))
		return;
	ret = noise_handshake_consume_initiation(&dev->identity, b->data, b->len, now,
						 &dev->noise_ops, &hs);
	if (ret) {
		dev->stats.drop_handshake++;
		return;
	}
	peer = container_of(hs, struct wg_peer, handshake);
	peer->rx_bytes += b->len;
	wg_peer_update_endpoint(peer, &b->endpoint);
	wg_timers_any_authenticated_packet_received(&peer->timers);
	wg_timers_any_authenticated_packet_traversal(&peer->timers, now);

	resp = pktbuf_get(&dev->pool);
	if (!resp) {
		dev->stats.drop_nobuf++;
		return;
	}
	wg_index_table_insert(&dev->index_table, &peer->handshake_entry);
	ret = noise_handshake_create_response(&peer->handshake, resp->data,
					      peer->handshake_entry.index, &dev->noise_ops);
	if (ret || !begin_session(peer, now)) {
		wg_index_table_remove(&dev->index_table, &peer->handshake_entry);
		pktbuf_put(&dev->pool, resp);
		return;
	}
	resp->len = MESSAGE_RESPONSE_LEN;
	cookie_add_mac_to_packet(&peer->cookie, resp->data, resp->len, now);
	/* A response counts as a sent handshake for the sender rate limit. */
	peer->last_sent_handshake = now;
	wg_peer_tx(peer, resp, false, now);
	wg_peer_timers_update(peer);
}

static void rx_response(struct wg_device *dev, struct pktbuf *b, uint64_t now)
{
	struct noise_handshake *hs;
	struct wg_peer *peer;

	if (!handshake_admitted(dev, b, now))
		return;
	if (noise_handshake_consume_response(b->data, b->len, &dev->noise_ops, &hs)) {
		dev->stats.drop_handshake++;
		return;
	}
	peer = container_of(hs, struct wg_peer, handshake);
	peer->rx_bytes += b->len;
	wg_peer_update_endpoint(peer, &b->endpoint);
	wg_timers_any_authenticated_packet_received(&peer->timers);
	wg_timers_any_authenticated_packet_traversal(&peer->timers, now);
	if (!begin_session(peer, now))
		return;
	wg_peer_note_handshake_complete(peer);
	/* Confirm the session to the responder: staged data, or a keepalive. */
	if (peer->staged_head)
		wg_peer_send_staged(peer, now);
	else
		wg_peer_send_keepalive(peer, now);
	wg_peer_timers_update(peer);
}

static void rx_cookie_reply(struct wg_device *dev, struct pktbuf *b, uint64_t now)
{
	uint32_t idx = get_le32(b->data + COOKIE_REPLY_OFF_RECEIVER_INDEX);
	struct wg_index_entry *e;

	e = wg_index_table_lookup(&dev->index_table, idx, WG_INDEX_HANDSHAKE);
	if (!e)
		e = wg_index_table_lookup(&dev->index_table, idx, WG_INDEX_KEYPAIR);
	if (!e) {
		dev->stats.drop_no_keypair++;
		return;
	}
	if (cookie_message_consume(&((struct wg_peer *)e->peer)->cookie, b->data, b->len, now))
		dev->stats.drop_mac++;
}

/* The length of the IP packet at the start of @p/@len, or 0 if it is not one. */
static size_t inner_len(const uint8_t *p, size_t len, int *family, const uint8_t **src)
{
	size_t total;

	if (len >= 20 && (p[0] >> 4) == 4) {
		total = (size_t)p[2] << 8 | p[3];
		*family = 4;
		*src = p + 12;
		return total >= 20 && total <= len ? total : 0;
	}
	if (len >= 40 && (p[0] >> 4) == 6) {
		total = 40 + ((size_t)p[4] << 8 | p[5]);
		*family = 6;
		*src = p + 8;
		return total <= len ? total : 0;
	}
	return 0;
}

/* Returns true if @b was handed on (to the TUN batch). */
static bool rx_data(struct wg_device *dev, struct pktbuf *b, uint64_t now)
{
	uint32_t idx = get_le32(b->data + DATA_OFF_RECEIVER_INDEX);
	struct noise_keypair *evicted = NULL;
	struct wg_index_entry *e;
	struct wg_keypair *kp;
	struct wg_peer *peer;
	const uint8_t *src;
	uint64_t counter;
	size_t plain, len;
	int family, ret;

	e = wg_index_table_lookup(&dev->index_table, idx, WG_INDEX_KEYPAIR);
	if (!e) {
		dev->stats.drop_no_keypair++;
		return false;
	}
	kp = e->owner;
	peer = kp->peer;
	ret = noise_decrypt_data(&kp->noise, b->data, b->len, now, &counter);
	if (ret) {
		if (ret == -EKEYEXPIRED)
			dev->stats.drop_no_keypair++;
		else
			dev->stats.drop_decrypt++;
		return false;
	}
	if (!replay_check_and_update(&kp->replay, counter, WG_REJECT_AFTER_MESSAGES)) {
		dev->stats.drop_replay++;
		return false;
	}
	peer->rx_bytes += b->len;
	if (noise_keypairs_received_with(&peer->keypairs, &kp->noise, &evicted)) {
		/* The initiator used our `next`: the handshake is confirmed. */
		wg_peer_keypair_free(evicted ? container_of(evicted, struct wg_keypair, noise)
					     : NULL);
		wg_peer_note_handshake_complete(peer);
		if (peer->staged_head)
			wg_peer_send_staged(peer, now);
	}
	wg_peer_update_endpoint(peer, &b->endpoint);
	wg_timers_any_authenticated_packet_received(&peer->timers);
	wg_timers_any_authenticated_packet_traversal(&peer->timers, now);

	/*
	 * The initiator's session is about to expire with nobody re-keying it:
	 * start a handshake once, a little before WG_REJECT_AFTER_TIME.
	 */
	if (&kp->noise == peer->keypairs.current && kp->noise.i_am_the_initiator &&
	    !peer->sent_lastminute_handshake &&
	    now - kp->noise.birth_ns >=
		    (uint64_t)(WG_REJECT_AFTER_TIME - WG_KEEPALIVE_TIMEOUT - WG_REKEY_TIMEOUT) *
			    WG_NSEC_PER_SEC) {
		peer->sent_lastminute_handshake = true;
		wg_peer_send_handshake_initiation(peer, false, now);
	}

	plain = b->len - MESSAGE_DATA_MIN_LEN;
	if (plain == 0) {
		wg_peer_timers_update(peer);
		return false; /* a keepalive: authenticated, nothing to deliver */
	}
	wg_timers_data_received(&peer->timers, now);
	wg_peer_timers_update(peer);

	pktbuf_pull(b, MESSAGE_DATA_HEADER_LEN);
	b->len = (uint32_t)plain;
	len = inner_len(b->data, plain, &family, &src);
	if (!len) {
		dev->stats.drop_malformed++;
		return false;
	}
	if (wg_allowedips_lookup(&dev->allowedips, family, src) != peer) {
		dev->stats.drop_allowed_ips++;
		return false;
	}
	pktbuf_trim(b, len); /* drop the padding */
	wg_device_queue_rx(dev, b);
	return true;
}

/* Exact sizes for handshakes, a minimum for data; reserved bytes must be zero. */
static uint32_t message_type(const struct pktbuf *b)
{
	uint32_t type;

	if (b->len < MESSAGE_HEADER_LEN)
		return MESSAGE_INVALID;
	type = get_le32(b->data);
	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		return b->len == MESSAGE_INITIATION_LEN ? type : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_RESPONSE:
		return b->len == MESSAGE_RESPONSE_LEN ? type : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_COOKIE:
		return b->len == MESSAGE_COOKIE_REPLY_LEN ? type : MESSAGE_INVALID;
	case MESSAGE_DATA:
		return b->len >= MESSAGE_DATA_MIN_LEN ? type : MESSAGE_INVALID;
	default:
		return MESSAGE_INVALID;
	}
}

void wg_receive_batch(struct wg_device *dev, struct pktbuf **bufs, unsigned n)
{
	uint64_t now = wg_now_ns();

	for (unsigned i = 0; i < n; i++) {
		struct pktbuf *b = bufs[i];
		bool kept = false;

		dev->stats.rx_packets++;
		if (!dev->up || !dev->identity.has_identity) {
			dev->stats.drop_no_keypair++;
		} else {
			switch (message_type(b)) {
			case MESSAGE_HANDSHAKE_INITIATION:
				rx_initiation(dev, b, now);
				break;
			case MESSAGE_HANDSHAKE_RESPONSE:
				rx_response(dev, b, now);
				break;
			case MESSAGE_HANDSHAKE_COOKIE:
				rx_cookie_reply(dev, b, now);
				break;
			case MESSAGE_DATA:
				kept = rx_data(dev, b, now);
				break;
			default:
				dev->stats.drop_malformed++;
				break;
			}
		}
		if (!kept)
			pktbuf_put(&dev->pool, b);
	}
}
