// SPDX-License-Identifier: MIT
/*
 * NaCl box envelopes and stream frames for the control protocol. Nonces are
 * 24 random bytes: with XSalsa20 a random nonce never repeats in practice,
 * and it keeps both directions stateless (no counters to persist).
 */
#include "control/seal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(CTL_NONCE_LEN == crypto_box_NONCEBYTES, "nonce size");
_Static_assert(CTL_MAC_LEN == crypto_box_MACBYTES, "tag size");
_Static_assert(CTL_KEY_LEN == crypto_box_PUBLICKEYBYTES, "key size");
_Static_assert(sizeof(((struct ctl_box *)0)->k) == crypto_box_BEFORENMBYTES, "shared key size");
_Static_assert(CTL_MAX_FRAME < UINT32_MAX, "frame length fits its prefix");

int ctl_box_init(struct ctl_box *b, const uint8_t priv[CTL_KEY_LEN], const uint8_t pub[CTL_KEY_LEN])
{
	if (crypto_box_beforenm(b->k, pub, priv)) {
		sodium_memzero(b, sizeof(*b));
		return -EINVAL;
	}
	return 0;
}

void ctl_box_wipe(struct ctl_box *b)
{
	sodium_memzero(b, sizeof(*b));
}

/* Seal into @out, which has room for CTL_RESPONSE_OVERHEAD + @len bytes. */
static void seal_into(const struct ctl_box *b, const uint8_t *msg, size_t len, uint8_t *out)
{
	randombytes_buf(out, CTL_NONCE_LEN);
	/* Cannot fail: the only error is a message over crypto_box_MESSAGEBYTES_MAX. */
	(void)crypto_box_easy_afternm(out + CTL_NONCE_LEN, msg, len, out, b->k);
}

int ctl_box_seal(const struct ctl_box *b, const uint8_t *msg, size_t len, uint8_t **out,
		 size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	if (len > CTL_MAX_MESSAGE_JSON)
		return -EMSGSIZE;
	*out = malloc(CTL_RESPONSE_OVERHEAD + len);
	if (!*out)
		return -ENOMEM;
	seal_into(b, msg, len, *out);
	*outlen = CTL_RESPONSE_OVERHEAD + len;
	return 0;
}

int ctl_box_open(const struct ctl_box *b, const uint8_t *in, size_t len, uint8_t **msg,
		 size_t *msglen)
{
	size_t n;
	uint8_t *m;

	*msg = NULL;
	*msglen = 0;
	if (len < CTL_RESPONSE_OVERHEAD)
		return -EINVAL;
	n = len - CTL_RESPONSE_OVERHEAD;
	if (n > CTL_MAX_MESSAGE_JSON)
		return -EMSGSIZE;
	m = malloc(n + 1);
	if (!m)
		return -ENOMEM;
	if (crypto_box_open_easy_afternm(m, in + CTL_NONCE_LEN, len - CTL_NONCE_LEN, in, b->k)) {
		free(m);
		return -EBADMSG;
	}
	m[n] = '\0';
	*msg = m;
	*msglen = n;
	return 0;
}

int ctl_request_seal(const uint8_t machine_priv[CTL_KEY_LEN], const uint8_t server_pub[CTL_KEY_LEN],
		     const uint8_t *msg, size_t len, uint8_t **out, size_t *outlen)
{
	struct ctl_box box;
	uint8_t *p;
	int ret;

	*out = NULL;
	*outlen = 0;
	if (len > CTL_MAX_REQUEST_JSON)
		return -EMSGSIZE;
	ret = ctl_box_init(&box, machine_priv, server_pub);
	if (ret)
		return ret;
	p = malloc(CTL_REQUEST_OVERHEAD + len);
	if (!p) {
		ret = -ENOMEM;
		goto out;
	}
	crypto_scalarmult_base(p, machine_priv);
	seal_into(&box, msg, len, p + CTL_KEY_LEN);
	*out = p;
	*outlen = CTL_REQUEST_OVERHEAD + len;
out:
	ctl_box_wipe(&box);
	return ret;
}

int ctl_request_open(const uint8_t server_priv[CTL_KEY_LEN], const uint8_t *in, size_t len,
		     uint8_t machine_pub[CTL_KEY_LEN], struct ctl_box *box, uint8_t **msg,
		     size_t *msglen)
{
	int ret;

	*msg = NULL;
	*msglen = 0;
	if (len < CTL_REQUEST_OVERHEAD)
		return -EINVAL;
	if (len - CTL_REQUEST_OVERHEAD > CTL_MAX_REQUEST_JSON)
		return -EMSGSIZE;
	memcpy(machine_pub, in, CTL_KEY_LEN);
	ret = ctl_box_init(box, server_priv, machine_pub);
	if (ret)
		return ret;
	ret = ctl_box_open(box, in + CTL_KEY_LEN, len - CTL_KEY_LEN, msg, msglen);
	if (ret)
		ctl_box_wipe(box);
	return ret;
}

int ctl_frame_seal(const struct ctl_box *b, const uint8_t *msg, size_t len, uint8_t **out,
		   size_t *outlen)
{
	size_t body = CTL_RESPONSE_OVERHEAD + len;
	uint8_t *p;

	*out = NULL;
	*outlen = 0;
	if (len > CTL_MAX_MESSAGE_JSON)
		return -EMSGSIZE;
	p = malloc(CTL_FRAME_HEADER_LEN + body);
	if (!p)
		return -ENOMEM;
	p[0] = (uint8_t)(body >> 24);
	p[1] = (uint8_t)(body >> 16);
	p[2] = (uint8_t)(body >> 8);
	p[3] = (uint8_t)body;
	seal_into(b, msg, len, p + CTL_FRAME_HEADER_LEN);
	*out = p;
	*outlen = CTL_FRAME_HEADER_LEN + body;
	return 0;
}

void ctl_frame_reader_init(struct ctl_frame_reader *r)
{
	memset(r, 0, sizeof(*r));
}

int ctl_frame_reader_feed(struct ctl_frame_reader *r, const uint8_t *data, size_t len)
{
	size_t live = r->len - r->off, cap;
	uint8_t *nb;

	if (r->error)
		return r->error;
	if (!len)
		return 0;
	/* At most one frame and its header is ever kept, plus what just arrived. */
	if (len > CTL_FRAME_HEADER_LEN + CTL_MAX_FRAME + (size_t)CTL_MAX_FRAME) {
		r->error = -EMSGSIZE;
		return r->error;
	}
	if (r->off) {
		memmove(r->buf, r->buf + r->off, live);
		r->off = 0;
		r->len = live;
	}
	if (live + len > r->cap) {
		cap = r->cap ? r->cap : 4096;
		while (cap < live + len)
			cap *= 2;
		nb = realloc(r->buf, cap);
		if (!nb)
			return -ENOMEM;
		r->buf = nb;
		r->cap = cap;
	}
	memcpy(r->buf + r->len, data, len);
	r->len += len;
	return 0;
}

int ctl_frame_reader_next(struct ctl_frame_reader *r, const uint8_t **payload, size_t *len)
{
	size_t live = r->len - r->off;
	const uint8_t *p = r->buf + r->off;
	uint32_t n;

	*payload = NULL;
	*len = 0;
	if (r->error)
		return r->error;
	if (live < CTL_FRAME_HEADER_LEN)
		return 0;
	n = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (n < CTL_RESPONSE_OVERHEAD || n > CTL_MAX_FRAME) {
		r->error = n < CTL_RESPONSE_OVERHEAD ? -EINVAL : -EMSGSIZE;
		return r->error;
	}
	if (live - CTL_FRAME_HEADER_LEN < n)
		return 0;
	*payload = p + CTL_FRAME_HEADER_LEN;
	*len = n;
	r->off += CTL_FRAME_HEADER_LEN + n;
	return 1;
}

size_t ctl_frame_reader_pending(const struct ctl_frame_reader *r)
{
	return r->len - r->off;
}

void ctl_frame_reader_free(struct ctl_frame_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

/* Free a plaintext that may hold secrets. */
static void wipe_free(void *p, size_t len)
{
	if (!p)
		return;
	sodium_memzero(p, len);
	free(p);
}

int ctl_register_request_seal(const struct ctl_register_request *m,
			      const uint8_t machine_priv[CTL_KEY_LEN],
			      const uint8_t server_pub[CTL_KEY_LEN], uint8_t **out, size_t *outlen)
{
	char *json;
	size_t len;
	int ret;

	*out = NULL;
	*outlen = 0;
	ret = ctl_register_request_encode(m, &json, &len);
	if (ret)
		return ret;
	ret = ctl_request_seal(machine_priv, server_pub, (const uint8_t *)json, len, out, outlen);
	wipe_free(json, len); /* holds the auth key */
	return ret;
}

/* Why a sealed message did not open, for the caller's error report. */
static void open_error(struct ctl_err *err, int ret)
{
	if (err)
		snprintf(err->msg, sizeof(err->msg), "%s",
			 ret == -EBADMSG ? "sealed box does not open" : "bad envelope");
}

int ctl_register_request_open(struct ctl_register_request *m,
			      const uint8_t server_priv[CTL_KEY_LEN], const uint8_t *in, size_t len,
			      struct ctl_box *box, struct ctl_err *err)
{
	uint8_t pub[CTL_KEY_LEN], *json;
	size_t n;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = ctl_request_open(server_priv, in, len, pub, box, &json, &n);
	if (ret) {
		open_error(err, ret);
		return ret;
	}
	ret = ctl_register_request_decode(m, json, n, err);
	memcpy(m->machine_key, pub, CTL_KEY_LEN);
	wipe_free(json, n);
	if (ret)
		ctl_box_wipe(box);
	return ret;
}

int ctl_map_request_seal(const struct ctl_map_request *m, const uint8_t machine_priv[CTL_KEY_LEN],
			 const uint8_t server_pub[CTL_KEY_LEN], uint8_t **out, size_t *outlen)
{
	char *json;
	size_t len;
	int ret;

	*out = NULL;
	*outlen = 0;
	ret = ctl_map_request_encode(m, &json, &len);
	if (ret)
		return ret;
	ret = ctl_request_seal(machine_priv, server_pub, (const uint8_t *)json, len, out, outlen);
	free(json);
	return ret;
}

int ctl_map_request_open(struct ctl_map_request *m, const uint8_t server_priv[CTL_KEY_LEN],
			 const uint8_t *in, size_t len, struct ctl_box *box, struct ctl_err *err)
{
	uint8_t pub[CTL_KEY_LEN], *json;
	size_t n;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = ctl_request_open(server_priv, in, len, pub, box, &json, &n);
	if (ret) {
		open_error(err, ret);
		return ret;
	}
	ret = ctl_map_request_decode(m, json, n, err);
	memcpy(m->machine_key, pub, CTL_KEY_LEN);
	free(json);
	if (ret)
		ctl_box_wipe(box);
	return ret;
}

int ctl_register_response_seal(const struct ctl_register_response *m, const struct ctl_box *b,
			       uint8_t **out, size_t *outlen)
{
	char *json;
	size_t len;
	int ret;

	*out = NULL;
	*outlen = 0;
	ret = ctl_register_response_encode(m, &json, &len);
	if (ret)
		return ret;
	ret = ctl_box_seal(b, (const uint8_t *)json, len, out, outlen);
	free(json);
	return ret;
}

int ctl_register_response_open(struct ctl_register_response *m, const struct ctl_box *b,
			       const uint8_t *in, size_t len, struct ctl_err *err)
{
	uint8_t *json;
	size_t n;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = ctl_box_open(b, in, len, &json, &n);
	if (ret) {
		open_error(err, ret);
		return ret;
	}
	ret = ctl_register_response_decode(m, json, n, err);
	free(json);
	return ret;
}

int ctl_map_response_seal_frame(const struct ctl_map_response *m, const struct ctl_box *b,
				uint8_t **out, size_t *outlen)
{
	char *json;
	size_t len;
	int ret;

	*out = NULL;
	*outlen = 0;
	ret = ctl_map_response_encode(m, &json, &len);
	if (ret)
		return ret;
	ret = ctl_frame_seal(b, (const uint8_t *)json, len, out, outlen);
	free(json);
	return ret;
}

int ctl_map_response_open(struct ctl_map_response *m, const struct ctl_box *b,
			  const uint8_t *payload, size_t len, struct ctl_err *err)
{
	uint8_t *json;
	size_t n;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = ctl_box_open(b, payload, len, &json, &n);
	if (ret) {
		open_error(err, ret);
		return ret;
	}
	ret = ctl_map_response_decode(m, json, n, err);
	free(json);
	return ret;
}
