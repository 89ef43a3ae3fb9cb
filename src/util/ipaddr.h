/* SPDX-License-Identifier: MIT */
/*
 * IP addresses, prefixes and endpoints for IPv4 and IPv6, as plain values.
 *
 * An address is 17 bytes: a family (4 or 6, 0 = unset) and the address in
 * network byte order; IPv4 uses bytes[0..3] and the other bytes stay zero, so
 * whole structs may be compared and hashed once they come from these functions.
 *
 * Parsing is strict, because these strings come from configs, the CLI and the
 * network, and a lenient parser turns typos into wrong routes:
 *  - The address grammar is inet_pton's (dotted quad without leading zeros;
 *    RFC 4291 text for IPv6, with an optional dotted-quad tail).
 *  - Rejected: NULL or empty strings, leading or trailing white space, zone ids
 *    ("fe80::1%eth0"), and IPv4-mapped IPv6 addresses ("::ffff:1.2.3.4"): an
 *    IPv4 host is always written, stored and compared as IPv4.
 *  - A prefix is ADDR "/" LEN with LEN decimal, no sign, no leading zeros
 *    (except "0" itself), at most 32 (IPv4) or 128 (IPv6); "/N" is mandatory.
 *    Host bits may be set ("10.0.0.1/24" parses): callers that need a network
 *    check ip_prefix_is_canonical() or call ip_prefix_mask().
 *  - An endpoint is "A.B.C.D:PORT" or "[IPV6]:PORT", brackets mandatory for
 *    IPv6; PORT is decimal 0..65535 with no sign and no leading zeros.
 * On failure the parsers return -EINVAL and, if @why is not NULL, point *why at
 * a short static English reason ("prefix length out of range"); *out is then
 * left zeroed.
 *
 * Formatting follows RFC 5952: lowercase hex, leading zeros dropped, the
 * longest run (first on a tie) of two or more zero groups shortened to "::",
 * and mixed notation only for IPv4-mapped addresses.
 */
#ifndef MESH_UTIL_IPADDR_H
#define MESH_UTIL_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum ip_family {
	IP_FAMILY_UNSET = 0,
	IP_FAMILY_V4 = 4,
	IP_FAMILY_V6 = 6,
};

/* Buffer sizes for the formatters, terminating NUL included. */
enum ip_lengths {
	IP_ADDR_STRLEN = 46,
	IP_PREFIX_STRLEN = 50,
	IP_ENDPOINT_STRLEN = 54,
};

struct ip_addr {
	uint8_t family; /* enum ip_family */
	uint8_t bytes[16];
};

struct ip_prefix {
	struct ip_addr addr;
	uint8_t bits;
};

struct ip_endpoint {
	struct ip_addr addr;
	uint16_t port; /* host byte order */
};

/** Set @a to the IPv4 address in @b (4 bytes, network order). */
void ip_addr_set_v4(struct ip_addr *a, const uint8_t b[4]);

/** Set @a to the IPv6 address in @b (16 bytes, network order); no unmapping is done. */
void ip_addr_set_v6(struct ip_addr *a, const uint8_t b[16]);

/** Address length in bits for the family of @a: 32, 128, or 0 when unset. */
unsigned int ip_addr_bits(const struct ip_addr *a);

/** True if @a is an IPv6 address in ::ffff:0:0/96 (an IPv4 address in IPv6 clothing). */
bool ip_addr_is_v4_mapped(const struct ip_addr *a);

/** Turn an IPv4-mapped IPv6 address into the IPv4 address it carries; others are unchanged. */
void ip_addr_unmap(struct ip_addr *a);

/**
 * Parse an IPv4 or IPv6 address in the strict grammar described atop this
 * header into @out. Returns 0, or -EINVAL with *why (if @why is not NULL) set
 * to a short reason.
 */
int ip_addr_parse(struct ip_addr *out, const char *s, const char **why);

/**
 * Parse "ADDR/LEN" ("10.0.0.0/24", "fd7a::/48") into @out; host bits are kept
 * as written. Returns 0, or -EINVAL with *why set to a short reason.
 */
int ip_prefix_parse(struct ip_prefix *out, const char *s, const char **why);

/**
 * Parse "A.B.C.D:PORT" or "[IPV6]:PORT" into @out. Returns 0, or -EINVAL with
 * *why set to a short reason.
 */
int ip_endpoint_parse(struct ip_endpoint *out, const char *s, const char **why);

/**
 * Write @a into @buf (@len bytes, IP_ADDR_STRLEN is always enough) as dotted
 * quad or RFC 5952 IPv6 text, "unset" for an unset address. The output is
 * truncated, still NUL-terminated, if @len is too small. Returns @buf.
 */
char *ip_addr_format(const struct ip_addr *a, char *buf, size_t len);

/** Write @p as "ADDR/LEN" into @buf (IP_PREFIX_STRLEN is enough); see ip_addr_format(). */
char *ip_prefix_format(const struct ip_prefix *p, char *buf, size_t len);

/** Write @e as "A.B.C.D:PORT" or "[IPV6]:PORT" (IP_ENDPOINT_STRLEN is enough). */
char *ip_endpoint_format(const struct ip_endpoint *e, char *buf, size_t len);

/** True if @a and @b are the same family and address (two unset addresses are equal). */
bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b);

/** Total order for sorting: by family, then by address bytes. Returns <0, 0 or >0. */
int ip_addr_compare(const struct ip_addr *a, const struct ip_addr *b);

/** True if @a and @b have the same address and length (host bits included). */
bool ip_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b);

/**
 * True if @a lies in @p: same family and the first p->bits bits agree. Host
 * bits set in p->addr are ignored; a /0 contains every address of its family
 * and no address of the other.
 */
bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a);

/** True if some address lies in both @a and @b (same family, one contains the other). */
bool ip_prefix_overlaps(const struct ip_prefix *a, const struct ip_prefix *b);

/** Zero the host bits of @p, making it canonical ("10.0.0.1/24" → "10.0.0.0/24"). */
void ip_prefix_mask(struct ip_prefix *p);

/** True if no host bit of @p is set and p->bits fits the family. */
bool ip_prefix_is_canonical(const struct ip_prefix *p);

/**
 * Fill @ss (and *@len, if not NULL) with the sockaddr_in or sockaddr_in6 for
 * @e. Returns 0, or -EAFNOSUPPORT if @e's address is unset.
 */
int ip_endpoint_to_sockaddr(const struct ip_endpoint *e, struct sockaddr_storage *ss,
			    socklen_t *len);

/**
 * Read an AF_INET or AF_INET6 socket address into @e, turning an IPv4-mapped
 * IPv6 address (from a dual-stack socket) into IPv4; a scope id is dropped.
 * @sa must point at a whole sockaddr of its family. Returns 0, or
 * -EAFNOSUPPORT for other families.
 */
int ip_endpoint_from_sockaddr(struct ip_endpoint *e, const struct sockaddr *sa);

#endif
