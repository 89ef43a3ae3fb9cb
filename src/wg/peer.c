// SPDX-License-Identifier: MIT
/*
 * A peer's life: sessions (keypairs and their index entries), handshake
 * initiations, keepalives, the staged queue, and the glue between the
 * I/O-free timer deadlines (timers.c) and one libuv timer per peer.
 *
 * Invariants:
 * - handshake_entry is in the index table exactly while the handshake waits
 *   for a response (initiator) or has been answered and not begun (never on
 *   the loop: begin_session follows create_response at once);
 * - every keypair in a slot has its entry in the index table; a keypair that
 *   leaves the slots is unregistered, wiped and freed at once (single thread:
 *   nothing else can hold it);
 * - peer->timer is armed at peer->timer_due, which is never later than the
 *   earliest pending deadline (it may be earlier: it then re-arms).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "util/compiler.h"
#include "util/log.h"
#include "wg/internal.h"
#include "wg/wg_proto.h"

uint64_t wg_now_ns(void)
{
	return uv_hrtime();
}

uint64_t wg_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * WG_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ---- timers glue ---- */

static void timer_cb(uv_timer_t *t)
{
	struct wg_peer *peer = container_of(t, struct wg_peer, timer);

	peer->timer_due = 0;
	if (peer->dead)
		return;
	wg_timers_expire(&peer->timers, wg_now_ns());
	wg_peer_timers_update(peer);
	wg_device_flush_tx(peer->dev);
}

void wg_peer_timers_update(struct wg_peer *peer)
{
	uint64_t next = wg_timers_next_deadline(&peer->timers), now, ms;

	if (peer->dead || !next)
		return;
	/* Lazy: an armed timer that fires early just re-arms (see timers.h). */
	if (peer->timer_due && peer->timer_due <= next)
		return;
	now = wg_now_ns();
	ms = next > now ? (next - now + 999999) / 1000000 : 0;
	peer->timer_due = next;
	uv_timer_start(&peer->timer, timer_cb, ms, 0);
}

static void ops_send_handshake(void *ctx, bool is_retry)
{
	wg_peer_send_handshake_initiation(ctx, is_retry, wg_now_ns());
}

static void ops_send_keepalive(void *ctx)
{
	wg_peer_send_keepalive(ctx, wg_now_ns());
}

static void ops_gave_up(void *ctx)
{
	struct wg_peer *peer = ctx;

	log_debug("wg", "handshake did not complete after %d seconds, giving up",
		  WG_REKEY_ATTEMPT_TIME);
	wg_peer_drop_staged(peer);
}

static void ops_zero_key_material(void *ctx)
{
	wg_peer_zero_key_material(ctx);
}

static uint32_t ops_jitter_ms(void *ctx)
{
	(void)ctx;
	return randombytes_uniform(WG_REKEY_TIMEOUT_JITTER_MAX_MS + 1);
}

static const struct wg_timers_ops peer_timer_ops = {
	.send_handshake = ops_send_handshake,
	.send_keepalive = ops_send_keepalive,
	.handshake_gave_up = ops_gave_up,
	.zero_key_material = ops_zero_key_material,
	.jitter_ms = ops_jitter_ms,
};

/* ---- lifetime ---- */

int wg_peer_init(struct wg_peer *peer, struct wg_device *dev, const uint8_t public_key[32])
{
	memset(peer, 0, sizeof(*peer));
	peer->dev = dev;
	memcpy(peer->pubkey.key, public_key, 32);
	noise_handshake_init(&peer->handshake, &dev->identity, public_key, NULL);
	cookie_maker_init(&peer->cookie, public_key);
	peer->handshake_entry.type = WG_INDEX_HANDSHAKE;
	peer->handshake_entry.peer = peer;
	peer->handshake_entry.owner = &peer->handshake;
	wg_timers_init(&peer->timers, &peer_timer_ops, peer);
	wg_timers_enable(&peer->timers, dev->up);
	return uv_timer_init(dev->loop, &peer->timer);
}

static void peer_free_cb(uv_handle_t *h)
{
	struct wg_peer *peer = container_of(h, struct wg_peer, timer);

	sodium_memzero(peer, sizeof(*peer));
	free(peer);
}

void wg_peer_destroy(struct wg_peer *peer)
{
	struct wg_device *dev = peer->dev;

	peer->dead = true;
	wg_timers_enable(&peer->timers, false);
	wg_peer_zero_key_material(peer);
	wg_peer_drop_staged(peer);
	wg_allowedips_remove_by_peer(&dev->allowedips, peer);
	wg_pubkey_table_remove(&dev->pubkey_table, &peer->pubkey);
	cookie_maker_wipe(&peer->cookie);
	sodium_memzero(&peer->handshake, sizeof(peer->handshake));
	uv_timer_stop(&peer->timer);
	uv_close((uv_handle_t *)&peer->timer, peer_free_cb);
}

/* ---- sessions ---- */

void wg_peer_keypair_free(struct wg_keypair *kp)
{
	if (!kp)
		return;
	wg_index_table_remove(&kp->peer->dev->index_table, &kp->entry);
	noise_keypair_wipe(&kp->noise);
	sodium_memzero(kp, sizeof(*kp));
	free(kp);
}

static struct wg_keypair *to_keypair(struct noise_keypair *nk)
{
	return nk ? container_of(nk, struct wg_keypair, noise) : NULL;
}

void wg_peer_zero_key_material(struct wg_peer *peer)
{
	struct noise_keypair *evicted[NOISE_KEYPAIRS_SLOTS];
	int n = noise_keypairs_clear(&peer->keypairs, evicted);

	(void)n;
	for (size_t i = 0; i < ARRAY_SIZE(evicted); i++)
		wg_peer_keypair_free(to_keypair(evicted[i]));
	wg_index_table_remove(&peer->dev->index_table, &peer->handshake_entry);
	noise_handshake_clear(&peer->handshake);
}

void wg_peer_note_handshake_complete(struct wg_peer *peer)
{
	uint64_t wall = wg_wall_ns();

	wg_timers_handshake_complete(&peer->timers);
	peer->sent_lastminute_handshake = false;
	peer->last_handshake_sec = (int64_t)(wall / WG_NSEC_PER_SEC);
	peer->last_handshake_nsec = (int64_t)(wall % WG_NSEC_PER_SEC);
}

void wg_peer_update_endpoint(struct wg_peer *peer, const struct ip_endpoint *src)
{
	if (peer->has_endpoint && peer->endpoint.port == src->port &&
	    ip_addr_equal(&peer->endpoint.addr, &src->addr))
		return;
	peer->endpoint = *src;
	peer->has_endpoint = true;
}

void wg_peer_tx(struct wg_peer *peer, struct pktbuf *b, bool is_data, uint64_t now)
{
	peer->tx_bytes += b->len;
	b->endpoint = peer->endpoint;
	b->peer = peer; /* an outside that routes by key (magicsock) needs the peer */
	wg_timers_any_authenticated_packet_traversal(&peer->timers, now);
	wg_timers_any_authenticated_packet_sent(&peer->timers);
	if (is_data)
		wg_timers_data_sent(&peer->timers, now);
	wg_device_queue_tx(peer->dev, b);
}

void wg_peer_send_handshake_initiation(struct wg_peer *peer, bool is_retry, uint64_t now)
{
	struct wg_device *dev = peer->dev;
	struct pktbuf *b;
	int ret;

	if (!is_retry)
		peer->timers.handshake_attempts = 0;
	/* At most one initiation per WG_REKEY_TIMEOUT, retransmits included. */
	if (peer->last_sent_handshake &&
	    now - peer->last_sent_handshake < WG_REKEY_TIMEOUT * WG_NSEC_PER_SEC)
		return;
	if (!dev->up || !peer->has_endpoint || !dev->identity.has_identity)
		return;
	b = pktbuf_get(&dev->pool);
	if (!b) {
		dev->stats.drop_nobuf++;
		return;
	}
	wg_index_table_insert(&dev->index_table, &peer->handshake_entry);
	ret = noise_handshake_create_initiation(&peer->handshake, b->data,
						peer->handshake_entry.index, wg_wall_ns(),
						&dev->noise_ops);
	if (ret) {
		wg_index_table_remove(&dev->index_table, &peer->handshake_entry);
		pktbuf_put(&dev->pool, b);
		return;
	}
	b->len = MESSAGE_INITIATION_LEN;
	cookie_add_mac_to_packet(&peer->cookie, b->data, b->len, now);
	peer->last_sent_handshake = now;
	wg_timers_handshake_initiated(&peer->timers, now);
	wg_peer_tx(peer, b, false, now);
	wg_peer_timers_update(peer);
}

/* ---- staged packets and the send path ---- */

void wg_peer_stage_packet(struct wg_peer *peer, struct pktbuf *b)
{
	struct wg_device *dev = peer->dev;

	b->next = NULL;
	if (peer->staged_tail)
		peer->staged_tail->next = b;
	else
		peer->staged_head = b;
	peer->staged_tail = b;
	if (++peer->staged_len > WG_MAX_STAGED_PACKETS) {
		/* Full: the oldest packet is the least useful one. */
		struct pktbuf *old = peer->staged_head;

		peer->staged_head = old->next;
		peer->staged_len--;
		dev->stats.drop_staged++;
		pktbuf_put(&dev->pool, old);
	}
}

void wg_peer_drop_staged(struct wg_peer *peer)
{
	struct pktbuf *b, *next;

	for (b = peer->staged_head; b; b = next) {
		next = b->next;
		peer->dev->stats.drop_staged++;
		pktbuf_put(&peer->dev->pool, b);
	}
	peer->staged_head = peer->staged_tail = NULL;
	peer->staged_len = 0;
}

void wg_peer_send_keepalive(struct wg_peer *peer, uint64_t now)
{
	struct pktbuf *b;

	if (!peer->staged_head) {
		b = pktbuf_get(&peer->dev->pool);
		if (!b) {
			peer->dev->stats.drop_nobuf++;
			return;
		}
		wg_peer_stage_packet(peer, b); /* an empty packet is a keepalive */
	}
	wg_peer_send_staged(peer, now);
}

/* Encrypt @b (plaintext IP packet, or empty) with @kp into a data message. */
static bool encrypt_one(struct wg_peer *peer, struct wg_keypair *kp, struct pktbuf *b, uint64_t now)
{
	size_t plain_len = b->len, padded = noise_padded_len(plain_len, peer->dev->mtu);
	uint64_t counter;
	uint8_t *tail;

	if (noise_keypair_take_counter(&kp->noise, now, &counter))
		return false;
	tail = pktbuf_extend(b, padded - plain_len + NOISE_AUTHTAG_LEN);
	if (!tail || !pktbuf_push(b, MESSAGE_DATA_HEADER_LEN))
		return false;
	memset(tail, 0, padded - plain_len);
	b->len = (uint32_t)noise_encrypt_data(&kp->noise, counter, b->data, padded);
	return true;
}

void wg_peer_send_staged(struct wg_peer *peer, uint64_t now)
{
	struct wg_device *dev = peer->dev;
	struct wg_keypair *kp = to_keypair(peer->keypairs.current);
	struct pktbuf *b;

	if (!dev->up) {
		wg_peer_drop_staged(peer);
		return;
	}
	if (!kp || !kp->noise.sending_valid ||
	    now - kp->noise.birth_ns >= (uint64_t)WG_REJECT_AFTER_TIME * WG_NSEC_PER_SEC ||
	    !peer->has_endpoint) {
		/* No usable session: keep the packets and ask for one. */
		wg_peer_send_handshake_initiation(peer, false, now);
		return;
	}
	while ((b = peer->staged_head)) {
		bool is_data = b->len > 0;

		if (!encrypt_one(peer, kp, b, now)) {
			/* Counter or time exhausted: the rest waits for a new session. */
			wg_peer_send_handshake_initiation(peer, false, now);
			break;
		}
		peer->staged_head = b->next;
		if (!peer->staged_head)
			peer->staged_tail = NULL;
		peer->staged_len--;
		b->next = NULL;
		wg_peer_tx(peer, b, is_data, now);
	}
	/* Rekey before the session gets old: only the initiator does so by time. */
	if (kp->noise.sending_counter > WG_REKEY_AFTER_MESSAGES ||
	    (kp->noise.i_am_the_initiator &&
	     now - kp->noise.birth_ns > (uint64_t)WG_REKEY_AFTER_TIME * WG_NSEC_PER_SEC))
		wg_peer_send_handshake_initiation(peer, false, now);
	wg_peer_timers_update(peer);
}
