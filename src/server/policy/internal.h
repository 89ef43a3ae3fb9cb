/* SPDX-License-Identifier: MIT */
/*
 * What the policy library's files share and nobody else sees: the parsed
 * policy (every string and array of it lives in one arena, freed at once), the
 * alias, port and protocol grammar, and the per-node identity tests both the
 * compiler and the evaluator use. Once parsed, a policy is read-only.
 */
#ifndef MESH_SERVER_POLICY_INTERNAL_H
#define MESH_SERVER_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/policy/policy.h"
#include "util/ipaddr.h"

/* Bump allocator: everything a policy owns, freed with the policy. */
struct policy_arena;

/** Zeroed memory for @n bytes, or NULL on ENOMEM (n may be 0). */
void *policy_arena_alloc(struct policy_arena **a, size_t n);

/** Zeroed array of @n elements of @size bytes, or NULL on ENOMEM or overflow. */
void *policy_arena_array(struct policy_arena **a, size_t n, size_t size);

/** Copy of @s, or NULL on ENOMEM. */
char *policy_arena_strdup(struct policy_arena **a, const char *s);

/** Free every allocation. NULL is allowed. */
void policy_arena_destroy(struct policy_arena *a);

enum alias_kind {
	ALIAS_ANY,	  /* "*" */
	ALIAS_USER,	  /* "alice@example.com", "alice@" */
	ALIAS_GROUP,	  /* "group:x" */
	ALIAS_TAG,	  /* "tag:x" */
	ALIAS_HOST,	  /* a "hosts" name */
	ALIAS_PREFIX,	  /* an IP or a CIDR */
	ALIAS_MEMBER,	  /* autogroup:member */
	ALIAS_TAGGED,	  /* autogroup:tagged */
	ALIAS_SELF,	  /* autogroup:self */
	ALIAS_INTERNET,	  /* autogroup:internet */
	ALIAS_DANGER_ALL, /* autogroup:danger-all */
};

struct policy_group {
	const char *name;   /* "group:x" */
	const char **users; /* user tokens as written ("alice@", "bob@example.com") */
	size_t n_users;
};

struct alias {
	enum alias_kind kind;
	const char *name;		  /* as written: "alice@", "group:x", "tag:x", "db", ... */
	const struct policy_group *group; /* GROUP */
	struct ip_prefix prefix;	  /* HOST, PREFIX (canonical) */
};

struct port_range {
	uint16_t first;
	uint16_t last;
};

struct acl_dst {
	const char *text; /* as written */
	struct alias alias;
	struct port_range *ports;
	size_t n_ports;
};

struct acl {
	struct alias *srcs;
	size_t n_srcs;
	struct acl_dst *dsts;
	size_t n_dsts;
	uint8_t protos[POLICY_PROTOS_MAX];
	size_t n_protos;
};

struct tag_owner {
	const char *tag;
	struct alias *owners;
	size_t n_owners;
};

struct host {
	const char *name;
	struct ip_prefix prefix;
};

struct route_approver {
	struct ip_prefix prefix;
	struct alias *approvers;
	size_t n_approvers;
};

struct test_dst {
	const char *text; /* "alias:port" as written */
	struct alias alias;
	uint16_t port;
};

struct policy_case {
	const char *src_text;
	struct alias src;
	uint8_t proto;
	const char *proto_text; /* as written, or "tcp" when absent */
	struct test_dst *accept;
	size_t n_accept;
	struct test_dst *deny;
	size_t n_deny;
	unsigned int line;
	unsigned int col;
};

struct policy {
	struct policy_arena *arena;
	bool has_acls; /* false: allow all */
	struct acl *acls;
	size_t n_acls;
	struct policy_group *groups;
	size_t n_groups;
	struct tag_owner *tag_owners;
	size_t n_tag_owners;
	struct host *hosts;
	size_t n_hosts;
	struct route_approver *route_approvers;
	size_t n_route_approvers;
	struct alias *exit_approvers;
	size_t n_exit_approvers;
	struct policy_case *cases;
	size_t n_cases;
};

/* The rule that stands for a missing policy: {"src": [any IP], "dst": ["*:*"]}, default protocols. */
extern const struct acl policy_allow_all;

/**
 * Classify and resolve @s against @p's groups, tagOwners and hosts into @out
 * (strings point into @s or @p, so @s must live as long as @out). On failure
 * writes the reason to @why ("tag not found: \"tag:x\"") and returns -EINVAL.
 * Side restrictions (autogroup:self only as a destination, ...) are the
 * caller's.
 */
int policy_alias_parse(const struct policy *p, const char *s, struct alias *out, char *why,
		       size_t whylen);

/**
 * Parse the port part of a destination ("*", "22", "80,443", "1000-2000") into a
 * new arena array. On failure writes Tailscale's reason ("port range \"ssh\":
 * invalid first integer") to @why and returns -EINVAL; -ENOMEM.
 */
int policy_ports_parse(struct policy_arena **a, const char *s, struct port_range **out, size_t *n,
		       char *why, size_t whylen);

/**
 * Parse a "proto" value: a name ("tcp", "ipv6-icmp", ...) or a decimal number
 * 1-255 without leading zeros. Returns 0, or -EINVAL with @why set.
 */
int policy_proto_parse(const char *s, uint8_t *out, char *why, size_t whylen);

/** True if rules for @proto may name specific ports (TCP, UDP, SCTP). */
bool policy_proto_has_ports(uint8_t proto);

/** Whether @node is untagged and owned by the user the token @user ("alice@", "a@b.c") names. */
bool policy_node_is_user(const struct policy_node *node, const char *user);

/** Whether @node carries @tag. */
bool policy_node_has_tag(const struct policy_node *node, const char *tag);

/** Whether @node has at least one tag. */
bool policy_node_tagged(const struct policy_node *node);

/** Whether @node is an exit node (flag, or an approved /0 route). */
bool policy_node_exit(const struct policy_node *node);

/** Whether @a is one of @n's addresses. */
bool policy_node_owns(const struct policy_node *n, const struct ip_addr *a);

/**
 * The prefix length of @n's most specific approved route holding @a, 0 for an
 * exit node (which never carries tailnet addresses), -1 when none does.
 */
int policy_route_len(const struct policy_node *n, const struct ip_addr *a);

/**
 * Whether @node is one of the nodes the identity alias @a stands for: USER,
 * GROUP (untagged nodes of the users), TAG, MEMBER (untagged), TAGGED. False for
 * every other kind.
 */
bool policy_node_matches(const struct policy_node *node, const struct alias *a);

/** Whether "tag:x" is a key of @p's tagOwners. */
bool policy_tag_defined(const struct policy *p, const char *tag);

/** Check a user token: one '@', not first, no blanks. Returns 0 or -EINVAL with @why set. */
int policy_user_check(const char *s, char *why, size_t whylen);

/**
 * Parse an IP ("100.64.0.1" is a /32) or a canonical CIDR. Returns 0 or -EINVAL
 * with @why set ("invalid IP address or prefix ...").
 */
int policy_prefix_parse(const char *s, struct ip_prefix *out, char *why, size_t whylen);

/* The address blocks the language names. */
enum policy_blocks {
	POLICY_INTERNET_EXCLUDED = 5,
};

extern const struct ip_prefix policy_tailnet_v4;  /* 100.64.0.0/10 */
extern const struct ip_prefix policy_chromeos_v4; /* 100.115.92.0/23, left out of "*" */
extern const struct ip_prefix policy_tailnet_v6;  /* fd7a:115c:a1e0::/48 */
extern const struct ip_prefix policy_internet_v6; /* 2000::/3 */
/* 10/8, 100.64/10, 169.254/16, 172.16/12, 192.168/16: IPv4 outside autogroup:internet. */
extern const struct ip_prefix policy_internet_excluded_v4[POLICY_INTERNET_EXCLUDED];

/** Whether @a is in autogroup:internet. */
bool policy_internet_contains(const struct ip_addr *a);

/** Whether @a lies in the tailnet ranges of "*" (node addresses and routes aside). */
bool policy_tailnet_contains(const struct ip_addr *a);

#endif
