/* SPDX-License-Identifier: MIT */
/*
 * Node and user names. A node's name is a DNS label the server picks from the
 * hostname the node reports ("Bob's MacBook Pro.local" → "bobs-macbook-pro"),
 * made unique in the tailnet with a numeric suffix ("laptop", "laptop-1", ...);
 * admins may rename it to any valid label that is free. Its FQDN is
 * NAME.BASE_DOMAIN.
 */
#ifndef MESH_SERVER_NAMES_H
#define MESH_SERVER_NAMES_H

#include <stdbool.h>
#include <stddef.h>

enum names_limits {
	NAMES_LABEL_MAX = 63, /* characters in a node name */
	NAMES_USER_MAX = 63,  /* characters in a user name */
	NAMES_MAX_SUFFIX = 9999,
};

/**
 * Make a node name from a reported hostname: only its first label, lowercased;
 * characters outside [a-z0-9-] become '-' (apostrophes vanish), runs of '-'
 * collapse, no '-' at either end, at most NAMES_LABEL_MAX characters. A
 * hostname with nothing usable gives "node". @out holds NAMES_LABEL_MAX + 1.
 */
void names_sanitize(char *out, const char *hostname);

/** Check a node name an admin chose: 1..63 of [a-z0-9-], not starting or ending with '-'. */
int names_validate_node(const char *name, const char **why);

/**
 * Check a user name: 1..63 characters of letters, digits, '.', '_', '@' and '-',
 * starting with a letter or digit (so e-mail addresses work).
 */
int names_validate_user(const char *name, const char **why);

/**
 * Write into @out (NAMES_LABEL_MAX + 1 bytes) @base, or the first free
 * "BASE-N" (N = 1, 2, ...) for which @taken returns false, shortening BASE so
 * the suffix fits. Returns 0, -ENOSPC after NAMES_MAX_SUFFIX tries, or the
 * negative errno @taken returned (it returns 1 = taken, 0 = free, <0 = error).
 */
int names_make_unique(char *out, const char *base, int (*taken)(void *arg, const char *name),
		      void *arg);

/** Write "NAME.BASE_DOMAIN" into @out. Returns 0 or -ENAMETOOLONG. */
int names_fqdn(char *out, size_t len, const char *name, const char *base_domain);

#endif
