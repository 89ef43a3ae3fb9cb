/* SPDX-License-Identifier: MIT */
/*
 * Public keys as text in control messages: a prefix naming the kind of key
 * and 64 lowercase hex digits, e.g. "nodekey:8520f0...4e6a". The prefix makes
 * a key pasted into the wrong field an error instead of a silent mix-up.
 * Parsing accepts exactly that form (hex in either case) and refuses the
 * all-zero key, which no real key is.
 */
#ifndef MESH_CONTROL_KEYTEXT_H
#define MESH_CONTROL_KEYTEXT_H

#include <stdint.h>

#include "control/proto.h"

enum ctl_key_kind {
	CTL_KEY_MACHINE, /* "mkey:": a device's machine key, and the server's key */
	CTL_KEY_NODE,	 /* "nodekey:": the WireGuard public key */
	CTL_KEY_DISCO,	 /* "discokey:": the disco key of one meshd run */
};

enum ctl_keytext_len {
	CTL_KEY_TEXT_LEN = 9 + 64 + 1, /* longest prefix, hex digits, NUL */
};

/** The prefix for @kind, colon included ("nodekey:"). */
const char *ctl_key_prefix(enum ctl_key_kind kind);

/** Write @key as "<prefix><hex>" into @out (CTL_KEY_TEXT_LEN bytes). */
void ctl_key_format(char out[CTL_KEY_TEXT_LEN], enum ctl_key_kind kind,
		    const uint8_t key[CTL_KEY_LEN]);

/**
 * Parse the text form of a @kind key from @s into @key. Returns 0, or -EINVAL
 * (wrong prefix, not 64 hex digits, all zero) with @key zeroed.
 */
int ctl_key_parse(uint8_t key[CTL_KEY_LEN], enum ctl_key_kind kind, const char *s);

#endif
