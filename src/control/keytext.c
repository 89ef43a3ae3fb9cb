// SPDX-License-Identifier: MIT
/* Text form of control protocol keys: "<kind>:<hex>". */
#include "control/keytext.h"

#include "util/encoding.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

_Static_assert((int)CTL_KEY_LEN == (int)ENC_KEY_LEN, "keys are 32 bytes everywhere");

static const char *const prefixes[] = {
	[CTL_KEY_MACHINE] = "mkey:",
	[CTL_KEY_NODE] = "nodekey:",
	[CTL_KEY_DISCO] = "discokey:",
};

const char *ctl_key_prefix(enum ctl_key_kind kind)
{
	return prefixes[kind];
}

void ctl_key_format(char out[CTL_KEY_TEXT_LEN], enum ctl_key_kind kind,
		    const uint8_t key[CTL_KEY_LEN])
{
	size_t n = strlen(prefixes[kind]);

	memcpy(out, prefixes[kind], n);
	enc_key_to_hex(out + n, key);
}

int ctl_key_parse(uint8_t key[CTL_KEY_LEN], enum ctl_key_kind kind, const char *s)
{
	size_t n = strlen(prefixes[kind]);

	memset(key, 0, CTL_KEY_LEN);
	if (!s || strncmp(s, prefixes[kind], n))
		return -EINVAL;
	if (enc_key_from_hex(key, s + n))
		return -EINVAL;
	if (sodium_is_zero(key, CTL_KEY_LEN))
		return -EINVAL;
	return 0;
}
