/* SPDX-License-Identifier: MIT */
/*
 * Checks for the small text forms meshcontrol accepts from its config file,
 * its admin CLI and nodes: DNS names, the server URL, tags, durations. Each
 * returns 0 or -EINVAL with *why pointing at a short static English reason, so
 * every caller can put the offending value and its location around it.
 */
#ifndef MESH_SERVER_VALIDATE_H
#define MESH_SERVER_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

enum validate_limits {
	VALIDATE_TAG_MAX = 64, /* "tag:" included, NUL excluded */
};

/**
 * Check that @name is a DNS name: dot-separated labels of letters, digits and
 * '-', each 1..63 characters and neither starting nor ending with '-', at most
 * 253 characters in all, no trailing dot.
 */
int validate_dns_name(const char *name, const char **why);

/**
 * Check that @url is "http://HOST[:PORT]" or "https://HOST[:PORT]" with an
 * optional trailing '/': HOST a DNS name, an IPv4 address or a bracketed IPv6
 * address. Paths, queries, fragments and user information are refused: the
 * control API lives at the root of its origin.
 */
int validate_url(const char *url, const char **why);

/**
 * Check that @tag is "tag:NAME", NAME starting with a letter and made of ASCII
 * letters, digits and '-', VALIDATE_TAG_MAX characters at most in all.
 */
int validate_tag(const char *tag, const char **why);

/**
 * Parse a duration: one or more NUMBER UNIT groups, UNIT one of d, h, m, s
 * ("180d", "24h", "1h30m", "90s"), or "0". Returns 0 with *@seconds set, or
 * -EINVAL (also past 100 years) with *@why set.
 */
int validate_duration(const char *s, int64_t *seconds, const char **why);

/** Write @seconds as the shortest text validate_duration() reads back ("1h30m", "0"). */
void validate_format_duration(int64_t seconds, char *buf, size_t len);

#endif
