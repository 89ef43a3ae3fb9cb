/* SPDX-License-Identifier: MIT */
/*
 * Control protocol wire constants, defined once: HTTP paths, envelope and
 * frame layouts, size limits. docs/protocol.md ("Control protocol") is the
 * prose for these numbers.
 *
 *   request body   = machine_pub[32] ‖ nonce[24] ‖ box(json)        (node → server)
 *   response body  = nonce[24] ‖ box(json)                          (server → node)
 *   stream frame   = len[4, big-endian] ‖ nonce[24] ‖ box(json)      len counts what follows it
 *   box(m)         = crypto_box (X25519, XSalsa20-Poly1305): 16-byte tag ‖ ciphertext of m
 */
#ifndef MESH_CONTROL_PROTO_H
#define MESH_CONTROL_PROTO_H

enum ctl_proto {
	CTL_PROTOCOL_VERSION = 1,
	CTL_KEY_LEN = 32,
	CTL_NONCE_LEN = 24, /* crypto_box_NONCEBYTES */
	CTL_MAC_LEN = 16,   /* crypto_box_MACBYTES */
	CTL_FRAME_HEADER_LEN = 4,
	CTL_RESPONSE_OVERHEAD = CTL_NONCE_LEN + CTL_MAC_LEN,
	CTL_REQUEST_OVERHEAD = CTL_KEY_LEN + CTL_RESPONSE_OVERHEAD,
	/* Largest JSON text in a request (register, map) and in a response or frame. */
	CTL_MAX_REQUEST_JSON = 256 * 1024,
	CTL_MAX_MESSAGE_JSON = 16 * 1024 * 1024,
	/* Largest sealed frame payload (what the 4-byte length may say). */
	CTL_MAX_FRAME = CTL_MAX_MESSAGE_JSON + CTL_RESPONSE_OVERHEAD,
};

#define CTL_PATH_KEY	   "/key"
#define CTL_PATH_REGISTER  "/machine/register"
#define CTL_PATH_MAP	   "/machine/map"
#define CTL_CONTENT_SEALED "application/x-mesh-sealed"
#define CTL_CONTENT_FRAMES "application/x-mesh-frames"

#endif
