// SPDX-License-Identifier: MIT
/*
 * The wg UAPI protocol: executing set lines against the device and
 * formatting get answers, with wireguard-go's keys, order and errnos.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "util/encoding.h"
#include "util/log.h"
#include "wg/uapi.h"

enum {
	VALUE_MAX = 255, /* longer values are invalid for every key */
};

/* ---- get ---- */

void uapi_text_free(struct uapi_text *t)
{
	/* Get answers carry the private key. */
	if (t->data)
		sodium_memzero(t->data, t->cap);
	free(t->data);
	t->data = NULL;
	t->len = t->cap = 0;
}

static int text_reserve(struct uapi_text *t, size_t more)
{
	size_t cap;
	char *p;

	if (t->len + more <= t->cap)
		return 0;
	if (t->len + more > UAPI_GET_MAX)
		return -ENOMEM;
	cap = t->cap ? t->cap : 1024;
	while (cap < t->len + more)
		cap *= 2;
	p = malloc(cap);
	if (!p)
		return -ENOMEM;
	/* Grow by copy, not realloc, so the old block can be wiped. */
	if (t->data) {
		memcpy(p, t->data, t->len);
		sodium_memzero(t->data, t->cap);
		free(t->data);
	}
	t->data = p;
	t->cap = cap;
	return 0;
}

static __attribute__((format(printf, 2, 3))) int text_printf(struct uapi_text *t, const char *fmt,
							     ...)
{
	char line[256];
	va_list ap;
	int n, ret;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL; /* every UAPI line is short: a bug if not */
	ret = text_reserve(t, (size_t)n);
	if (!ret) {
		memcpy(t->data + t->len, line, (size_t)n);
		t->len += (size_t)n;
	}
	sodium_memzero(line, sizeof(line));
	return ret;
}

static int text_key(struct uapi_text *t, const char *name, const uint8_t key[32])
{
	char hex[ENC_KEY_HEX_LEN + 1];
	int ret;

	enc_key_to_hex(hex, key);
	ret = text_printf(t, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
	return ret;
}

struct get_ctx {
	struct uapi_text *out;
	int err;
};

static void format_allowed_ip(const struct ip_prefix *prefix, void *arg)
{
	struct get_ctx *ctx = arg;
	char buf[IP_PREFIX_STRLEN];

	if (!ctx->err)
		ctx->err = text_printf(ctx->out, "allowed_ip=%s\n",
				       ip_prefix_format(prefix, buf, sizeof(buf)));
}

static int format_peer(struct wg_peer *peer, void *arg)
{
	struct get_ctx *ctx = arg;
	struct uapi_text *t = ctx->out;
	struct wg_peer_stats stats;
	struct ip_endpoint ep;
	char buf[IP_ENDPOINT_STRLEN];
	uint8_t psk[32];
	int ret;

	wg_peer_get_preshared_key(peer, psk);
	wg_peer_get_stats(peer, &stats);
	ret = text_key(t, "public_key", wg_peer_public_key(peer));
	if (!ret)
		ret = text_key(t, "preshared_key", psk);
	sodium_memzero(psk, sizeof(psk));
	if (!ret)
		ret = text_printf(t, "protocol_version=1\n");
	if (!ret && wg_peer_get_endpoint(peer, &ep))
		ret = text_printf(t, "endpoint=%s\n", ip_endpoint_format(&ep, buf, sizeof(buf)));
	if (!ret)
		ret = text_printf(t,
				  "last_handshake_time_sec=%" PRId64 "\n"
				  "last_handshake_time_nsec=%" PRId64 "\n"
				  "tx_bytes=%" PRIu64 "\n"
				  "rx_bytes=%" PRIu64 "\n"
				  "persistent_keepalive_interval=%u\n",
				  stats.last_handshake_sec, stats.last_handshake_nsec,
				  stats.tx_bytes, stats.rx_bytes,
				  (unsigned int)wg_peer_get_persistent_keepalive(peer));
	if (ret) {
		ctx->err = ret;
		return 1;
	}
	wg_peer_for_each_allowed_ip(peer, format_allowed_ip, ctx);
	return ctx->err ? 1 : 0;
}

int uapi_format_get(struct wg_device *dev, struct uapi_text *out)
{
	struct get_ctx ctx = {.out = out};
	uint8_t key[32];
	uint16_t port;
	uint32_t fwmark;
	int ret = 0;

	/* Device keys must come before the first public_key: wg(8) relies on it. */
	if (wg_device_get_private_key(dev, key))
		ret = text_key(out, "private_key", key);
	sodium_memzero(key, sizeof(key));
	port = wg_device_get_listen_port(dev);
	if (!ret && port)
		ret = text_printf(out, "listen_port=%u\n", (unsigned int)port);
	fwmark = wg_device_get_fwmark(dev);
	if (!ret && fwmark)
		ret = text_printf(out, "fwmark=%" PRIu32 "\n", fwmark);
	if (ret)
		return ret;
	wg_device_for_each_peer(dev, format_peer, &ctx);
	return ctx.err;
}

/* ---- set ---- */

/* Go's strconv.ParseUint(s, 10, bits): decimal digits only, leading zeros allowed. */
static int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/*
 * "A.B.C.D:PORT" or "[IPV6]:PORT". wireguard-go also takes an IPv4-mapped
 * "[::ffff:A.B.C.D]:PORT" and turns it into IPv4, which the strict address
 * parser refuses, so that one form is handled here.
 */
static int parse_endpoint(struct ip_endpoint *ep, const char *s)
{
	char host[INET6_ADDRSTRLEN];
	uint8_t a6[16];
	const char *close;
	uint64_t port;

	if (ip_endpoint_parse(ep, s, NULL) == 0)
		return 0;
	close = strchr(s, ']');
	if (s[0] != '[' || !close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s + 1, (size_t)(close - s - 1));
	host[close - s - 1] = '\0';
	if (inet_pton(AF_INET6, host, a6) != 1 || parse_uint(close + 2, UINT16_MAX, &port))
		return -EINVAL;
	memset(ep, 0, sizeof(*ep));
	ip_addr_set_v6(&ep->addr, a6);
	if (!ip_addr_is_v4_mapped(&ep->addr))
		return -EINVAL;
	ip_addr_unmap(&ep->addr);
	ep->port = (uint16_t)port;
	return 0;
}

void uapi_set_begin(struct uapi_set *st, struct wg_device *dev)
{
	memset(st, 0, sizeof(*st));
	st->dev = dev;
}

void uapi_set_end(struct uapi_set *st)
{
	sodium_memzero(st, sizeof(*st));
}

static int set_device_line(struct uapi_set *st, const char *key, const char *value)
{
	uint8_t priv[32];
	uint64_t v;
	int ret;

	if (!strcmp(key, "private_key")) {
		/* All zeros is valid and removes the key (wg setconf sends it for "no key"). */
		if (enc_key_from_hex(priv, value))
			return -EINVAL;
		ret = wg_device_set_private_key(st->dev, priv);
		sodium_memzero(priv, sizeof(priv));
		return ret;
	}
	if (!strcmp(key, "listen_port")) {
		if (parse_uint(value, UINT16_MAX, &v))
			return -EINVAL;
		ret = wg_device_set_listen_port(st->dev, (uint16_t)v);
		if (ret) {
			/* wireguard-go answers EADDRINUSE for any bind failure. */
			log_warn("uapi", "cannot listen port=%u err=%s", (unsigned int)v,
				 strerror(-ret));
			return -EADDRINUSE;
		}
		return 0;
	}
	if (!strcmp(key, "fwmark")) {
		if (parse_uint(value, UINT32_MAX, &v))
			return -EINVAL;
		ret = wg_device_set_fwmark(st->dev, (uint32_t)v);
		if (ret) {
			log_warn("uapi", "cannot set fwmark=%u err=%s", (unsigned int)v,
				 strerror(-ret));
			return -EADDRINUSE;
		}
		return 0;
	}
	if (!strcmp(key, "replace_peers")) {
		if (strcmp(value, "true"))
			return -EINVAL;
		wg_device_remove_all_peers(st->dev);
		return 0;
	}
	return -EINVAL;
}

/* "public_key=": select or create the peer that the following lines configure. */
static int set_public_key(struct uapi_set *st, const char *value)
{
	uint8_t priv[32], pub[32];
	struct wg_peer *peer;
	bool own = false;
	int ret;

	st->in_peer = true;
	st->dummy = true; /* until this line succeeds */
	st->created = false;
	if (enc_key_from_hex(st->peer_key, value))
		return -EINVAL;

	/* A peer with our own public key is accepted and ignored, as in wireguard-go. */
	if (wg_device_get_private_key(st->dev, priv)) {
		own = key_public_from_private(pub, priv) == 0 &&
		      sodium_memcmp(pub, st->peer_key, sizeof(pub)) == 0;
		sodium_memzero(priv, sizeof(priv));
	}
	if (own)
		return 0;

	peer = wg_device_peer_lookup(st->dev, st->peer_key);
	if (!peer) {
		ret = wg_device_peer_create(st->dev, st->peer_key, &peer);
		if (ret)
			return ret == -ENOMEM ? -ENOMEM : -EINVAL;
		st->created = true;
	}
	st->dummy = false;
	return 0;
}

static int set_allowed_ip(struct wg_peer *peer, const char *value)
{
	struct ip_prefix prefix;
	bool remove = false;
	int ret;

	/* A leading '-' removes that one prefix (wireguard-tools >= 1.0.20250521). */
	if (value[0] == '-') {
		remove = true;
		value++;
	}
	if (ip_prefix_parse(&prefix, value, NULL))
		return -EINVAL;
	if (!peer)
		return 0;
	ip_prefix_mask(&prefix);
	if (!remove)
		return wg_peer_add_allowed_ip(peer, &prefix);
	ret = wg_peer_remove_allowed_ip(peer, &prefix);
	/* Removing a prefix the peer does not own is not an error in wireguard-go. */
	return ret == -ENOENT ? 0 : ret;
}

static int set_peer_line(struct uapi_set *st, const char *key, const char *value)
{
	struct wg_peer *peer = NULL;
	struct ip_endpoint ep;
	uint8_t psk[32];
	uint64_t v;

	/* Looked up per line: another connection may have removed the peer meanwhile. */
	if (!st->dummy) {
		peer = wg_device_peer_lookup(st->dev, st->peer_key);
		if (!peer)
			st->dummy = true;
	}

	if (!strcmp(key, "update_only")) {
		if (strcmp(value, "true"))
			return -EINVAL;
		/* Only update existing peers: undo a creation by this block. */
		if (peer && st->created) {
			wg_peer_remove(peer);
			st->dummy = true;
		}
		return 0;
	}
	if (!strcmp(key, "remove")) {
		if (strcmp(value, "true"))
			return -EINVAL;
		if (peer)
			wg_peer_remove(peer);
		st->dummy = true;
		return 0;
	}
	if (!strcmp(key, "preshared_key")) {
		if (enc_key_from_hex(psk, value))
			return -EINVAL;
		if (peer)
			wg_peer_set_preshared_key(peer, psk);
		sodium_memzero(psk, sizeof(psk));
		return 0;
	}
	if (!strcmp(key, "endpoint")) {
		if (parse_endpoint(&ep, value))
			return -EINVAL;
		if (peer)
			wg_peer_set_endpoint(peer, &ep);
		return 0;
	}
	if (!strcmp(key, "persistent_keepalive_interval")) {
		if (parse_uint(value, UINT16_MAX, &v))
			return -EINVAL;
		if (peer)
			wg_peer_set_persistent_keepalive(peer, (uint16_t)v);
		return 0;
	}
	if (!strcmp(key, "replace_allowed_ips")) {
		if (strcmp(value, "true"))
			return -EINVAL;
		if (peer)
			wg_peer_clear_allowed_ips(peer);
		return 0;
	}
	if (!strcmp(key, "allowed_ip"))
		return set_allowed_ip(peer, value);
	if (!strcmp(key, "protocol_version"))
		return strcmp(value, "1") ? -EINVAL : 0;
	return -EINVAL;
}

int uapi_set_line(struct uapi_set *st, const char *line, size_t len)
{
	char key[32], value[VALUE_MAX + 1];
	const char *eq = memchr(line, '=', len);
	size_t klen, vlen;
	int ret;

	if (!eq)
		return -EPROTO;
	klen = (size_t)(eq - line);
	vlen = len - klen - 1;
	/* No key is that long, no value either; NUL bytes would cut the strings short. */
	if (klen >= sizeof(key) || vlen > VALUE_MAX || memchr(line, '\0', len))
		return -EINVAL;
	memcpy(key, line, klen);
	key[klen] = '\0';
	memcpy(value, eq + 1, vlen);
	value[vlen] = '\0';

	if (!strcmp(key, "public_key"))
		ret = set_public_key(st, value);
	else if (!st->in_peer)
		ret = set_device_line(st, key, value);
	else
		ret = set_peer_line(st, key, value);
	sodium_memzero(value, sizeof(value));
	return ret;
}

int uapi_exec_set(struct wg_device *dev, const char *buf, size_t len)
{
	struct uapi_set st;
	size_t off = 0;
	int ret = 0;

	uapi_set_begin(&st, dev);
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t llen = nl ? (size_t)(nl - (buf + off)) : len - off;

		if (llen == 0)
			break; /* the blank line ends the request */
		ret = uapi_set_line(&st, buf + off, llen);
		if (ret)
			break;
		off += llen + 1;
	}
	uapi_set_end(&st);
	return ret;
}
