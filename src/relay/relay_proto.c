// SPDX-License-Identifier: MIT
/*
 * Relay frame codec: builders, parsers, the sealed handshake payloads and
 * the stream reassembler. See relay_proto.h and docs/protocol.md.
 */
#include "relay/relay_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

_Static_assert(RELAY_NONCE_LEN == crypto_box_NONCEBYTES, "nonce length");
_Static_assert(RELAY_BOX_MAC_LEN == crypto_box_MACBYTES, "MAC length");
_Static_assert(RELAY_KEY_LEN == crypto_box_PUBLICKEYBYTES, "key length");
_Static_assert(RELAY_KEY_LEN == crypto_box_SECRETKEYBYTES, "key length");

enum reader_limits {
	/* A partial-frame buffer larger than this is released after use. */
	READER_KEEP_CAP = 16 * 1024,
};

const uint8_t relay_magic[RELAY_MAGIC_LEN] = {'M', 'S', 'H', 'R', 'E', 'L', 'A', 'Y'};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void relay_put_header(uint8_t *buf, uint8_t type, uint32_t payload_len)
{
	buf[0] = type;
	put32(buf + 1, payload_len);
}

int relay_parse_header(const uint8_t *buf, size_t len, struct relay_frame_header *out)
{
	if (len < RELAY_FRAME_HEADER_LEN)
		return -EAGAIN;
	out->type = buf[0];
	out->len = get32(buf + 1);
	return 0;
}

size_t relay_build_server_key(uint8_t *buf, const uint8_t server_pub[RELAY_KEY_LEN],
			      const uint8_t challenge[RELAY_CHALLENGE_LEN])
{
	uint8_t *p = buf + RELAY_FRAME_HEADER_LEN;

	relay_put_header(buf, RELAY_FRAME_SERVER_KEY, RELAY_SERVER_KEY_LEN);
	memcpy(p + SERVER_KEY_OFF_MAGIC, relay_magic, RELAY_MAGIC_LEN);
	memcpy(p + SERVER_KEY_OFF_KEY, server_pub, RELAY_KEY_LEN);
	memcpy(p + SERVER_KEY_OFF_CHALLENGE, challenge, RELAY_CHALLENGE_LEN);
	return RELAY_SERVER_KEY_FRAME_LEN;
}

int relay_parse_server_key(const uint8_t *p, size_t len, uint8_t server_pub[RELAY_KEY_LEN],
			   uint8_t challenge[RELAY_CHALLENGE_LEN])
{
	if (len < RELAY_SERVER_KEY_LEN || len > RELAY_SERVER_KEY_MAX ||
	    memcmp(p + SERVER_KEY_OFF_MAGIC, relay_magic, RELAY_MAGIC_LEN))
		return -EBADMSG;
	memcpy(server_pub, p + SERVER_KEY_OFF_KEY, RELAY_KEY_LEN);
	memcpy(challenge, p + SERVER_KEY_OFF_CHALLENGE, RELAY_CHALLENGE_LEN);
	return 0;
}

size_t relay_build_packet(uint8_t *buf, size_t cap, uint8_t type, const uint8_t key[RELAY_KEY_LEN],
			  const void *data, size_t len)
{
	if (len > RELAY_MAX_PACKET_LEN || cap < RELAY_FRAME_HEADER_LEN + RELAY_KEY_LEN + len)
		return 0;
	relay_put_header(buf, type, (uint32_t)(RELAY_KEY_LEN + len));
	memcpy(buf + RELAY_FRAME_HEADER_LEN + PACKET_OFF_KEY, key, RELAY_KEY_LEN);
	if (len)
		memmove(buf + RELAY_FRAME_HEADER_LEN + PACKET_OFF_DATA, data, len);
	return RELAY_FRAME_HEADER_LEN + RELAY_KEY_LEN + len;
}

int relay_parse_packet(const uint8_t *p, size_t len, struct relay_packet *out)
{
	if (len < RELAY_KEY_LEN || len > RELAY_MAX_FRAME_LEN)
		return -EBADMSG;
	out->key = p + PACKET_OFF_KEY;
	out->data = p + PACKET_OFF_DATA;
	out->len = len - RELAY_KEY_LEN;
	return 0;
}

size_t relay_build_peer_gone(uint8_t *buf, const uint8_t key[RELAY_KEY_LEN], uint8_t reason)
{
	relay_put_header(buf, RELAY_FRAME_PEER_GONE, RELAY_PEER_GONE_LEN);
	memcpy(buf + RELAY_FRAME_HEADER_LEN + PEER_GONE_OFF_KEY, key, RELAY_KEY_LEN);
	buf[RELAY_FRAME_HEADER_LEN + PEER_GONE_OFF_REASON] = reason;
	return RELAY_PEER_GONE_FRAME_LEN;
}

int relay_parse_peer_gone(const uint8_t *p, size_t len, uint8_t key[RELAY_KEY_LEN], uint8_t *reason)
{
	if (len < RELAY_PEER_GONE_LEN)
		return -EBADMSG;
	memcpy(key, p + PEER_GONE_OFF_KEY, RELAY_KEY_LEN);
	*reason = p[PEER_GONE_OFF_REASON];
	return 0;
}

size_t relay_build_ping(uint8_t *buf, uint8_t type, const uint8_t data[RELAY_PING_LEN])
{
	relay_put_header(buf, type, RELAY_PING_LEN);
	memcpy(buf + RELAY_FRAME_HEADER_LEN, data, RELAY_PING_LEN);
	return RELAY_PING_FRAME_LEN;
}

int relay_parse_ping(const uint8_t *p, size_t len, uint8_t data[RELAY_PING_LEN])
{
	if (len != RELAY_PING_LEN)
		return -EBADMSG;
	memcpy(data, p, RELAY_PING_LEN);
	return 0;
}

size_t relay_build_keep_alive(uint8_t *buf)
{
	relay_put_header(buf, RELAY_FRAME_KEEP_ALIVE, 0);
	return RELAY_FRAME_HEADER_LEN;
}

size_t relay_build_health(uint8_t *buf, size_t cap, const char *text)
{
	size_t len = strnlen(text, RELAY_MAX_HEALTH_LEN);

	if (cap < RELAY_FRAME_HEADER_LEN + len)
		return 0;
	relay_put_header(buf, RELAY_FRAME_HEALTH, (uint32_t)len);
	memcpy(buf + RELAY_FRAME_HEADER_LEN, text, len);
	return RELAY_FRAME_HEADER_LEN + len;
}

int relay_parse_health(const uint8_t *p, size_t len, char *text, size_t cap)
{
	size_t i, n;

	if (len > RELAY_MAX_HEALTH_LEN || !cap)
		return -EBADMSG;
	n = len < cap - 1 ? len : cap - 1;
	for (i = 0; i < n; i++)
		text[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	text[n] = '\0';
	return 0;
}

size_t relay_build_restarting(uint8_t *buf, uint32_t reconnect_in_ms, uint32_t try_for_ms)
{
	relay_put_header(buf, RELAY_FRAME_RESTARTING, RELAY_RESTARTING_LEN);
	put32(buf + RELAY_FRAME_HEADER_LEN + RESTARTING_OFF_RECONNECT_IN, reconnect_in_ms);
	put32(buf + RELAY_FRAME_HEADER_LEN + RESTARTING_OFF_TRY_FOR, try_for_ms);
	return RELAY_RESTARTING_FRAME_LEN;
}

int relay_parse_restarting(const uint8_t *p, size_t len, uint32_t *reconnect_in_ms,
			   uint32_t *try_for_ms)
{
	if (len < RELAY_RESTARTING_LEN)
		return -EBADMSG;
	*reconnect_in_ms = get32(p + RESTARTING_OFF_RECONNECT_IN);
	*try_for_ms = get32(p + RESTARTING_OFF_TRY_FOR);
	return 0;
}

/* Print @json compactly into @out (RELAY_MAX_INFO_JSON bytes); returns its length or 0. */
static size_t render_json(cJSON *json, char *out)
{
	bool ok = json && cJSON_PrintPreallocated(json, out, RELAY_MAX_INFO_JSON, false);

	cJSON_Delete(json);
	return ok ? strlen(out) : 0;
}

static size_t client_info_json(const struct relay_client_info *info, char *out)
{
	cJSON *json = cJSON_CreateObject();

	if (!json || !cJSON_AddNumberToObject(json, "version", info->version) ||
	    !cJSON_AddBoolToObject(json, "can_ack_pings", info->can_ack_pings)) {
		cJSON_Delete(json);
		return 0;
	}
	return render_json(json, out);
}

static size_t server_info_json(const struct relay_server_info *info, char *out)
{
	cJSON *json = cJSON_CreateObject();

	if (!json || !cJSON_AddNumberToObject(json, "version", info->version) ||
	    !cJSON_AddNumberToObject(json, "keepalive_ms", info->keepalive_ms) ||
	    !cJSON_AddNumberToObject(json, "queue_depth", info->queue_depth) ||
	    !cJSON_AddNumberToObject(json, "max_packet", info->max_packet)) {
		cJSON_Delete(json);
		return 0;
	}
	return render_json(json, out);
}

/* Parse a JSON object from exactly @len bytes (white space may follow); NULL if it is not one. */
static cJSON *parse_object(const uint8_t *p, size_t len)
{
	const char *end = NULL, *stop = (const char *)p + len;
	cJSON *json = cJSON_ParseWithLengthOpts((const char *)p, len, &end, false);

	if (!json)
		return NULL;
	while (end && end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!cJSON_IsObject(json) || end != stop) {
		cJSON_Delete(json);
		return NULL;
	}
	return json;
}

/* An integer member in [0, max], or -1 when absent; -2 when present but not such a number. */
static int64_t get_uint(const cJSON *obj, const char *name, int64_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!v)
		return -1;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return -2;
	return (int64_t)v->valuedouble;
}

/*
 * X25519 ignores bit 255 of a public key and reduces values past 2^255 - 19,
 * so each key has aliases that open the same boxes. Only the form that
 * scalar multiplication produces is accepted: one key, one byte string.
 */
static bool key_canonical(const uint8_t *k)
{
	if (k[31] & 0x80)
		return false;
	if (k[31] != 0x7f || k[0] < 0xed)
		return true;
	for (int i = 1; i < 31; i++) {
		if (k[i] != 0xff)
			return true;
	}
	return false;
}

size_t relay_seal_client_info(uint8_t *buf, const uint8_t client_priv[RELAY_KEY_LEN],
			      const uint8_t server_pub[RELAY_KEY_LEN],
			      const uint8_t challenge[RELAY_CHALLENGE_LEN],
			      const struct relay_client_info *info)
{
	uint8_t plain[RELAY_CHALLENGE_LEN + RELAY_MAX_INFO_JSON];
	uint8_t *p = buf + RELAY_FRAME_HEADER_LEN;
	size_t jlen, plen, total = 0;

	memcpy(plain, challenge, RELAY_CHALLENGE_LEN);
	jlen = client_info_json(info, (char *)plain + RELAY_CHALLENGE_LEN);
	if (!jlen)
		goto out;
	plen = RELAY_CHALLENGE_LEN + jlen;
	if (crypto_scalarmult_base(p + CLIENT_INFO_OFF_KEY, client_priv))
		goto out;
	randombytes_buf(p + CLIENT_INFO_OFF_NONCE, RELAY_NONCE_LEN);
	if (crypto_box_easy(p + CLIENT_INFO_OFF_BOX, plain, plen, p + CLIENT_INFO_OFF_NONCE,
			    server_pub, client_priv))
		goto out;
	total = CLIENT_INFO_OFF_BOX + RELAY_BOX_MAC_LEN + plen;
	relay_put_header(buf, RELAY_FRAME_CLIENT_INFO, (uint32_t)total);
	total += RELAY_FRAME_HEADER_LEN;
out:
	sodium_memzero(plain, sizeof(plain));
	return total;
}

int relay_open_client_info(const uint8_t *p, size_t len, const uint8_t server_priv[RELAY_KEY_LEN],
			   const uint8_t challenge[RELAY_CHALLENGE_LEN],
			   struct relay_client_info *out)
{
	uint8_t plain[RELAY_CHALLENGE_LEN + RELAY_MAX_INFO_JSON];
	const cJSON *ack;
	cJSON *json = NULL;
	size_t plen;
	int64_t version;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len < RELAY_CLIENT_INFO_MIN || len > RELAY_CLIENT_INFO_MAX)
		return -EBADMSG;
	plen = len - CLIENT_INFO_OFF_BOX - RELAY_BOX_MAC_LEN;
	if (!key_canonical(p + CLIENT_INFO_OFF_KEY))
		return -EKEYREJECTED;
	if (crypto_box_open_easy(plain, p + CLIENT_INFO_OFF_BOX, len - CLIENT_INFO_OFF_BOX,
				 p + CLIENT_INFO_OFF_NONCE, p + CLIENT_INFO_OFF_KEY, server_priv)) {
		ret = -EKEYREJECTED;
		goto out;
	}
	/* The box authenticates the challenge: a mismatch is a replay from another connection. */
	if (sodium_memcmp(plain, challenge, RELAY_CHALLENGE_LEN)) {
		ret = -EKEYREJECTED;
		goto out;
	}
	json = parse_object(plain + RELAY_CHALLENGE_LEN, plen - RELAY_CHALLENGE_LEN);
	if (!json) {
		ret = -EBADMSG;
		goto out;
	}
	version = get_uint(json, "version", INT32_MAX);
	ack = cJSON_GetObjectItemCaseSensitive(json, "can_ack_pings");
	if (version < 0 || (ack && !cJSON_IsBool(ack))) {
		ret = -EBADMSG;
		goto out;
	}
	if (version != RELAY_PROTOCOL_VERSION) {
		ret = -EPROTONOSUPPORT;
		goto out;
	}
	memcpy(out->key, p + CLIENT_INFO_OFF_KEY, RELAY_KEY_LEN);
	out->version = (int)version;
	out->can_ack_pings = cJSON_IsTrue(ack);
	ret = 0;
out:
	cJSON_Delete(json);
	sodium_memzero(plain, sizeof(plain));
	return ret;
}

size_t relay_seal_server_info(uint8_t *buf, const uint8_t server_priv[RELAY_KEY_LEN],
			      const uint8_t client_pub[RELAY_KEY_LEN],
			      const struct relay_server_info *info)
{
	char plain[RELAY_MAX_INFO_JSON];
	uint8_t *p = buf + RELAY_FRAME_HEADER_LEN;
	size_t jlen = server_info_json(info, plain), total;

	if (!jlen)
		return 0;
	randombytes_buf(p + SERVER_INFO_OFF_NONCE, RELAY_NONCE_LEN);
	if (crypto_box_easy(p + SERVER_INFO_OFF_BOX, (const uint8_t *)plain, jlen,
			    p + SERVER_INFO_OFF_NONCE, client_pub, server_priv))
		return 0;
	total = SERVER_INFO_OFF_BOX + RELAY_BOX_MAC_LEN + jlen;
	relay_put_header(buf, RELAY_FRAME_SERVER_INFO, (uint32_t)total);
	return RELAY_FRAME_HEADER_LEN + total;
}

int relay_open_server_info(const uint8_t *p, size_t len, const uint8_t client_priv[RELAY_KEY_LEN],
			   const uint8_t server_pub[RELAY_KEY_LEN], struct relay_server_info *out)
{
	uint8_t plain[RELAY_MAX_INFO_JSON];
	cJSON *json = NULL;
	int64_t version, keepalive, depth, maxpkt;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len < RELAY_SERVER_INFO_MIN || len > RELAY_SERVER_INFO_MAX)
		return -EBADMSG;
	if (crypto_box_open_easy(plain, p + SERVER_INFO_OFF_BOX, len - SERVER_INFO_OFF_BOX,
				 p + SERVER_INFO_OFF_NONCE, server_pub, client_priv))
		return -EKEYREJECTED;
	json = parse_object(plain, len - RELAY_SERVER_INFO_MIN);
	if (!json) {
		ret = -EBADMSG;
		goto out;
	}
	version = get_uint(json, "version", INT32_MAX);
	keepalive = get_uint(json, "keepalive_ms", UINT32_MAX);
	depth = get_uint(json, "queue_depth", UINT32_MAX);
	maxpkt = get_uint(json, "max_packet", UINT32_MAX);
	if (version < 0 || keepalive < -1 || depth < -1 || maxpkt < -1) {
		ret = -EBADMSG;
		goto out;
	}
	if (version != RELAY_PROTOCOL_VERSION) {
		ret = -EPROTONOSUPPORT;
		goto out;
	}
	out->version = (int)version;
	out->keepalive_ms = keepalive < 0 ? 0 : (uint32_t)keepalive;
	out->queue_depth = depth < 0 ? 0 : (uint32_t)depth;
	out->max_packet = maxpkt < 0 ? 0 : (uint32_t)maxpkt;
	ret = 0;
out:
	cJSON_Delete(json);
	return ret;
}

void relay_reader_init(struct relay_reader *r, uint32_t max_len)
{
	memset(r, 0, sizeof(*r));
	r->max_len = max_len;
}

size_t relay_reader_pending(const struct relay_reader *r)
{
	return r->len;
}

void relay_reader_free(struct relay_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

static int reserve(struct relay_reader *r, size_t need)
{
	uint8_t *p;

	if (need <= r->cap)
		return 0;
	p = realloc(r->buf, need);
	if (!p)
		return -ENOMEM;
	r->buf = p;
	r->cap = need;
	return 0;
}

/* Bytes still missing from the partial frame in r->buf (its header may be incomplete too). */
static int partial_need(const struct relay_reader *r, size_t *need)
{
	struct relay_frame_header h;

	if (relay_parse_header(r->buf, r->len, &h)) {
		*need = RELAY_FRAME_HEADER_LEN - r->len;
		return 0;
	}
	if (h.len > r->max_len)
		return -EMSGSIZE;
	*need = RELAY_FRAME_HEADER_LEN + (size_t)h.len - r->len;
	return 0;
}

int relay_reader_feed(struct relay_reader *r, const uint8_t *data, size_t len, relay_frame_cb *cb,
		      void *arg)
{
	struct relay_frame_header h = {0};
	size_t need, take;
	int ret;

	while (len) {
		if (r->len) {
			/* Complete the partial frame first. */
			ret = partial_need(r, &need);
			if (ret)
				return ret;
			/* With the header known this makes room for the whole frame at once. */
			ret = reserve(r, r->len + need);
			if (ret)
				return ret;
			take = need < len ? need : len;
			memcpy(r->buf + r->len, data, take);
			r->len += take;
			data += take;
			len -= take;
			if (take < need)
				return 0;
			if (r->len == RELAY_FRAME_HEADER_LEN) {
				/* Only the header is complete: check it, go on. */
				ret = partial_need(r, &need);
				if (ret)
					return ret;
				if (need)
					continue;
			}
			relay_parse_header(r->buf, r->len, &h);
			r->len = 0;
			ret = cb(arg, h.type, r->buf + RELAY_FRAME_HEADER_LEN, h.len);
			if (r->cap > READER_KEEP_CAP)
				relay_reader_free(r);
			if (ret)
				return ret;
			continue;
		}
		if (relay_parse_header(data, len, &h) == 0) {
			if (h.len > r->max_len)
				return -EMSGSIZE;
			if (len - RELAY_FRAME_HEADER_LEN >= h.len) {
				ret = cb(arg, h.type, data + RELAY_FRAME_HEADER_LEN, h.len);
				if (ret)
					return ret;
				data += RELAY_FRAME_HEADER_LEN + h.len;
				len -= RELAY_FRAME_HEADER_LEN + h.len;
				continue;
			}
		}
		/* The rest is the start of a frame: keep it, with room for all of it. */
		ret = reserve(r, len < RELAY_FRAME_HEADER_LEN
					 ? RELAY_FRAME_HEADER_LEN
					 : RELAY_FRAME_HEADER_LEN + (size_t)h.len);
		if (ret)
			return ret;
		memcpy(r->buf, data, len);
		r->len = len;
		return 0;
	}
	return 0;
}

const char *relay_frame_name(uint8_t type)
{
	static const char *const names[] = {
		[RELAY_FRAME_SERVER_KEY] = "ServerKey",
		[RELAY_FRAME_CLIENT_INFO] = "ClientInfo",
		[RELAY_FRAME_SERVER_INFO] = "ServerInfo",
		[RELAY_FRAME_SEND_PACKET] = "SendPacket",
		[RELAY_FRAME_RECV_PACKET] = "RecvPacket",
		[RELAY_FRAME_KEEP_ALIVE] = "KeepAlive",
		[RELAY_FRAME_PEER_GONE] = "PeerGone",
		[RELAY_FRAME_PING] = "Ping",
		[RELAY_FRAME_PONG] = "Pong",
		[RELAY_FRAME_HEALTH] = "Health",
		[RELAY_FRAME_RESTARTING] = "Restarting",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type])
		return names[type];
	return "unknown";
}
