/* SPDX-License-Identifier: MIT */
/*
 * Sealing control messages with NaCl box (libsodium crypto_box: X25519 key
 * agreement, XSalsa20-Poly1305) between a node's machine key and the
 * server's key, and framing them on the map stream. Layouts in
 * control/proto.h. The shared key is computed once per peer (ctl_box_init),
 * so a server pushing a delta to thousands of streams does one X25519 per
 * stream, not per frame.
 *
 * Errors: -EINVAL (malformed, or a low-order public key), -EBADMSG (does not
 * authenticate: wrong key or tampered), -EMSGSIZE (over the limits), -ENOMEM.
 */
#ifndef MESH_CONTROL_SEAL_H
#define MESH_CONTROL_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "control/msg.h"
#include "control/proto.h"

/* The precomputed shared key of one machine key ⇄ server key pair. Secret. */
struct ctl_box {
	uint8_t k[32];
};

/** Precompute the key between our @priv and their @pub. Returns 0 or -EINVAL (low-order @pub). */
int ctl_box_init(struct ctl_box *b, const uint8_t priv[CTL_KEY_LEN],
		 const uint8_t pub[CTL_KEY_LEN]);

/** Wipe @b. */
void ctl_box_wipe(struct ctl_box *b);

/** Seal @len bytes of @msg as nonce ‖ box into a malloc'd *@out (CTL_RESPONSE_OVERHEAD + @len bytes). */
int ctl_box_seal(const struct ctl_box *b, const uint8_t *msg, size_t len, uint8_t **out,
		 size_t *outlen);

/** Open nonce ‖ box (@len bytes at @in) into a malloc'd, NUL-terminated *@msg of *@msglen bytes. */
int ctl_box_open(const struct ctl_box *b, const uint8_t *in, size_t len, uint8_t **msg,
		 size_t *msglen);

/**
 * Node side: seal a request body, machine_pub ‖ nonce ‖ box, from the machine
 * key @machine_priv to @server_pub.
 */
int ctl_request_seal(const uint8_t machine_priv[CTL_KEY_LEN], const uint8_t server_pub[CTL_KEY_LEN],
		     const uint8_t *msg, size_t len, uint8_t **out, size_t *outlen);

/**
 * Server side: take the sender's machine key from the body (@len bytes at
 * @in), open the box with @server_priv, and return the sender in
 * @machine_pub, the shared key in @box (to seal the answer) and the
 * plaintext in a malloc'd *@msg.
 */
int ctl_request_open(const uint8_t server_priv[CTL_KEY_LEN], const uint8_t *in, size_t len,
		     uint8_t machine_pub[CTL_KEY_LEN], struct ctl_box *box, uint8_t **msg,
		     size_t *msglen);

/** Seal @msg as a stream frame: 4-byte big-endian length ‖ nonce ‖ box, malloc'd in *@out. */
int ctl_frame_seal(const struct ctl_box *b, const uint8_t *msg, size_t len, uint8_t **out,
		   size_t *outlen);

/*
 * Splits the map stream back into frames, whatever the chunking. Frames are
 * checked as soon as their length is known: shorter than the box overhead
 * or longer than CTL_MAX_FRAME is an error that sticks.
 */
struct ctl_frame_reader {
	uint8_t *buf;
	size_t off, len, cap;
	int error;
};

/** Prepare an empty reader. */
void ctl_frame_reader_init(struct ctl_frame_reader *r);

/** Append @len received bytes. Returns 0 or a (sticky) negative errno. */
int ctl_frame_reader_feed(struct ctl_frame_reader *r, const uint8_t *data, size_t len);

/**
 * Take the next complete frame: returns 1 with *@payload (nonce ‖ box, valid
 * until the next call on @r) and *@len, 0 when more bytes are needed, or a
 * negative errno.
 */
int ctl_frame_reader_next(struct ctl_frame_reader *r, const uint8_t **payload, size_t *len);

/** Bytes buffered that do not form a complete frame yet. */
size_t ctl_frame_reader_pending(const struct ctl_frame_reader *r);

/** Release the reader's memory. */
void ctl_frame_reader_free(struct ctl_frame_reader *r);

/*
 * Whole messages, encoded and sealed in one step. The _open functions fill
 * the struct even on failure as far as they got: call the matching _free
 * either way.
 */
/**
 * Node side: encode @m and seal it as a request body from @machine_priv to
 * @server_pub into a malloc'd *@out. The plaintext (with the auth key) is wiped.
 */
int ctl_register_request_seal(const struct ctl_register_request *m,
			      const uint8_t machine_priv[CTL_KEY_LEN],
			      const uint8_t server_pub[CTL_KEY_LEN], uint8_t **out, size_t *outlen);

/**
 * Server side: open a register request body with @server_priv and decode it
 * into @m, with m->machine_key set to the sender. @box receives the shared
 * key for the answer (wiped on failure). -EBADMSG: the box does not open.
 */
int ctl_register_request_open(struct ctl_register_request *m,
			      const uint8_t server_priv[CTL_KEY_LEN], const uint8_t *in, size_t len,
			      struct ctl_box *box, struct ctl_err *err);

/** Node side: encode and seal a map request; as ctl_register_request_seal(). */
int ctl_map_request_seal(const struct ctl_map_request *m, const uint8_t machine_priv[CTL_KEY_LEN],
			 const uint8_t server_pub[CTL_KEY_LEN], uint8_t **out, size_t *outlen);

/** Server side: open and decode a map request; as ctl_register_request_open(). */
int ctl_map_request_open(struct ctl_map_request *m, const uint8_t server_priv[CTL_KEY_LEN],
			 const uint8_t *in, size_t len, struct ctl_box *box, struct ctl_err *err);

/** Server side: encode @m and seal it with @b as a response body (nonce ‖ box). */
int ctl_register_response_seal(const struct ctl_register_response *m, const struct ctl_box *b,
			       uint8_t **out, size_t *outlen);

/** Node side: open a register response body with @b and decode it into @m. */
int ctl_register_response_open(struct ctl_register_response *m, const struct ctl_box *b,
			       const uint8_t *in, size_t len, struct ctl_err *err);

/** Server side: encode @m and seal it as one stream frame (length prefix included). */
int ctl_map_response_seal_frame(const struct ctl_map_response *m, const struct ctl_box *b,
				uint8_t **out, size_t *outlen);

/** Node side: open one frame payload from ctl_frame_reader_next() and decode it into @m. */
int ctl_map_response_open(struct ctl_map_response *m, const struct ctl_box *b,
			  const uint8_t *payload, size_t len, struct ctl_err *err);

#endif
