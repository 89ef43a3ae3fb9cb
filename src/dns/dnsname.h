/* SPDX-License-Identifier: MIT */
/*
 * Domain names in wire form (RFC 1035 §3.1): an uncompressed sequence of
 * length-prefixed labels ending with the root's zero byte. This form holds
 * every legal name exactly (a label may contain dots or any byte), so it is
 * what the codec and MagicDNS's tables store; text is only for
 * configuration and logs.
 *
 * Comparisons ignore ASCII case only (RFC 4343): 'A'..'Z' match 'a'..'z',
 * every other byte must be equal. Length bytes are at most 63, below 'A',
 * so comparing the whole wire form case-insensitively is exact.
 */
#ifndef MESH_DNS_DNSNAME_H
#define MESH_DNS_DNSNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns_proto.h"

/* A domain name in uncompressed wire form: labels, then the root's zero byte. */
struct dns_name {
	uint8_t len;	/* bytes used in wire[], root byte included: 1..255 */
	uint8_t labels; /* labels before the root: 0 for "." */
	uint8_t wire[DNS_NAME_MAX];
};

/**
 * Parse presentation text ("host.mesh.internal", trailing dot optional,
 * "." or "" for the root; "\." and "\DDD" escapes) into @out. Returns 0 or
 * -EINVAL for an empty label, a label over 63 or a name over 255 bytes,
 * or a bad escape.
 */
int dns_name_from_text(struct dns_name *out, const char *text);

/**
 * Write @n as text into @buf (DNS_NAME_TEXT_MAX is always enough), without
 * the trailing dot ("." for the root), escaping '.', '\\' and bytes outside
 * 0x21..0x7e as RFC 1035 §5.1 does. Returns the length or -ENOSPC.
 */
int dns_name_to_text(const struct dns_name *n, char *buf, size_t cap);

/** True if @a and @b are the same name, ignoring ASCII case. */
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b);

/** True if @name is @zone or lies under it (at a label boundary), ignoring ASCII case. */
bool dns_name_is_under(const struct dns_name *name, const struct dns_name *zone);

/**
 * Total order on names for sorting and binary search: the lowercased wire
 * forms compared byte by byte, shorter first on a common prefix. Returns <0,
 * 0 (dns_name_equal) or >0.
 */
int dns_name_compare(const struct dns_name *a, const struct dns_name *b);

/** Lowercase the ASCII letters of @n in place. */
void dns_name_lower(struct dns_name *n);

/**
 * Offset in n->wire of the suffix that starts at label @idx (0: the whole
 * name; n->labels: the root byte). Returns -EINVAL if @idx > n->labels.
 */
int dns_name_label_offset(const struct dns_name *n, unsigned int idx);

/** Replace @n by its suffix starting at label @idx (dropping the first @idx labels). */
int dns_name_strip(struct dns_name *n, unsigned int idx);

/**
 * Append @suffix to the relative name @n (whose root byte is replaced).
 * Returns 0 or -EINVAL if the result would exceed 255 bytes.
 */
int dns_name_append(struct dns_name *n, const struct dns_name *suffix);

#endif
