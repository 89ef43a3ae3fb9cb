/* SPDX-License-Identifier: MIT */
/*
 * The ACL policy engine: Tailscale's policy file (HuJSON with "acls", "groups",
 * "tagOwners", "hosts", "autoApprovers" and "tests") parsed, validated with
 * Tailscale's error texts, and compiled against a node inventory into what the
 * netmap carries: for each node, the packet filter rules it enforces on what it
 * receives (sources as address ranges, destinations as address and port ranges,
 * IP protocols), and the set of peers it may see. docs/policy.md describes the
 * language as implemented and every error message.
 *
 * A NULL policy means "no policy": everything is allowed. A policy without an
 * "acls" section is allow-all too; "acls": [] denies everything.
 *
 * Nothing here does I/O except policy_parse_file(); the library keeps no global
 * state, so separate policies and indexes may be used from separate threads.
 */
#ifndef MESH_SERVER_POLICY_POLICY_H
#define MESH_SERVER_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util/ipaddr.h"

enum policy_limits {
	POLICY_ERROR_MAX = 256, /* bytes of an error message, NUL included */
	POLICY_PROTOS_MAX = 4,	/* protocols in one compiled rule */
};

/* IP protocol numbers the policy language has names for. */
enum policy_proto {
	POLICY_PROTO_ICMP = 1,
	POLICY_PROTO_IGMP = 2,
	POLICY_PROTO_IPV4 = 4, /* "ipv4" and "ip-in-ip" */
	POLICY_PROTO_TCP = 6,
	POLICY_PROTO_EGP = 8,
	POLICY_PROTO_IGP = 9,
	POLICY_PROTO_UDP = 17,
	POLICY_PROTO_GRE = 47,
	POLICY_PROTO_ESP = 50,
	POLICY_PROTO_AH = 51,
	POLICY_PROTO_ICMPV6 = 58, /* "ipv6-icmp" */
	POLICY_PROTO_SCTP = 132,
	POLICY_PROTO_FC = 133,
};

/* Where and why a policy was refused. line and col are 1-based; 0 when unknown. */
struct policy_error {
	unsigned int line;
	unsigned int col;
	char msg[POLICY_ERROR_MAX];
};

/*
 * One node as the policy sees it. The server fills these from its store, the
 * checker from an inventory file; the library never keeps these pointers
 * beyond the call that receives them. A node with at least one tag is tagged:
 * it has no user identity for ACL purposes, whatever @user says. Approved
 * routes of 0.0.0.0/0 or ::/0 make the node an exit node, as @exit_node does.
 */
struct policy_node {
	int64_t id;
	const char *name;
	const char *user; /* the owner's user name ("alice", "bob@example.com"); NULL if tagged */
	const char *const *tags; /* "tag:NAME" */
	size_t n_tags;
	const struct ip_addr *addresses; /* the node's mesh addresses */
	size_t n_addresses;
	const struct ip_prefix *routes; /* approved routes (advertised-only ones are left out) */
	size_t n_routes;
	bool exit_node; /* approved as an exit node */
};

/* An inclusive range of addresses of one family. */
struct policy_range {
	struct ip_addr first;
	struct ip_addr last;
};

/*
 * A destination of a compiled rule: an address range (or "*": every address the
 * receiving node owns or routes) and an inclusive port range. Ports matter only
 * for TCP, UDP and SCTP.
 */
struct policy_dst {
	bool any;
	struct policy_range range; /* unset when any */
	uint16_t port_first;
	uint16_t port_last;
};

/*
 * One compiled filter rule, Tailscale's FilterRule: a packet matches when its
 * protocol is in @protos, its source in @srcs and its destination (and port,
 * for TCP, UDP and SCTP) in one of @dsts. @srcs is sorted and merged.
 */
struct policy_rule {
	struct policy_range *srcs;
	size_t n_srcs;
	struct policy_dst *dsts;
	size_t n_dsts;
	uint8_t protos[POLICY_PROTOS_MAX];
	size_t n_protos;
};

/* The inbound filter of one node: a packet is accepted when any rule matches. */
struct policy_filter {
	struct policy_rule *rules;
	size_t n_rules;
};

struct policy;
struct policy_index;

/**
 * Parse and validate @len bytes of HuJSON policy text into *@out. On failure
 * @err (if not NULL) holds Tailscale's text where one exists, or the message
 * docs/policy.md lists, and the line and column of the offending item. Returns
 * 0, -EINVAL for a refused policy, -E2BIG for a text over 16 MiB, or -ENOMEM.
 */
int policy_parse(struct policy **out, const char *text, size_t len, struct policy_error *err);

/** Read and parse the policy file @path; I/O errors return their negative errno, line 0. */
int policy_parse_file(struct policy **out, const char *path, struct policy_error *err);

/** Free a policy. NULL is allowed. */
void policy_free(struct policy *p);

/** True if @p allows everything: NULL, or a policy without an "acls" section. */
bool policy_allows_all(const struct policy *p);

/** Number of test cases in @p's "tests" block (0 for NULL). */
size_t policy_test_count(const struct policy *p);

/**
 * Compile @p (NULL: no policy) against the @n nodes in @nodes once, into an
 * index from which each node's filter and peers are derived by lookup. The
 * index copies what it needs from @nodes, which may go away afterwards; it
 * refers to @p, which must outlive it. Node indices are positions in @nodes.
 * Returns 0 or -ENOMEM.
 */
int policy_index_create(struct policy_index **out, const struct policy *p,
			const struct policy_node *nodes, size_t n);

/** Free an index. NULL is allowed. */
void policy_index_destroy(struct policy_index *idx);

/**
 * Fill @out with the inbound filter of node @i (an index into the nodes the
 * index was built from): only rules for which that node, or one of its
 * approved routes, is a destination; rules with the same sources and protocols
 * merged. Free it with policy_filter_free(). Returns 0, -ERANGE for a bad @i, or
 * -ENOMEM.
 */
int policy_index_filter(const struct policy_index *idx, size_t i, struct policy_filter *out);

/**
 * The peers node @i may see, as a sorted heap array of node indices (free()):
 * every node that may reach some address or route of @i, and every node some
 * address or route of which @i may reach. @i itself is not listed. Returns 0,
 * -ERANGE or -ENOMEM.
 */
int policy_index_peers(const struct policy_index *idx, size_t i, size_t **out, size_t *n);

/** True if nodes @a and @b appear in each other's netmap (see policy_index_peers()). */
bool policy_index_visible(const struct policy_index *idx, size_t a, size_t b);

/**
 * One-shot policy_index_create() + policy_index_filter() for the node at index
 * @dst of @nodes. Returns 0, -ERANGE or -ENOMEM.
 */
int policy_compile_filter(const struct policy *p, const struct policy_node *nodes, size_t n,
			  size_t dst, struct policy_filter *out);

/** One-shot policy_index_visible() for nodes @a and @b of @nodes (false on ENOMEM). */
bool policy_peer_visible(const struct policy *p, const struct policy_node *nodes, size_t n,
			 size_t a, size_t b);

/** Free the arrays of @f and zero it. */
void policy_filter_free(struct policy_filter *f);

/**
 * True if @f accepts a new packet from @src to @dst with IP protocol @proto and
 * destination port @port, in the view the data plane takes (docs/policy.md):
 * ports count for TCP, UDP and SCTP only; ICMP needs a rule that names the
 * ICMP protocol of its family. The receiving node's own check that @dst is one
 * of its addresses or routes is not part of this.
 */
bool policy_filter_match(const struct policy_filter *f, const struct ip_addr *src,
			 const struct ip_addr *dst, uint8_t proto, uint16_t port);

/**
 * @f as Tailscale's FilterRule JSON: [{"SrcIPs": [...], "DstPorts": [{"IP": ...,
 * "Ports": {"First": N, "Last": M}}], "IPProto": [...]}]. Addresses are written as
 * an IP, a CIDR or "FIRST-LAST", "*" for any. Returns NULL on ENOMEM.
 */
cJSON *policy_filter_to_json(const struct policy_filter *f);

/**
 * The policy's verdict on a new packet from @src to @dst (IP protocol @proto,
 * port @port) in the network @nodes describes, evaluated from the policy text
 * rather than from compiled filters: the packet goes to the node that owns
 * @dst, or else to the routers whose approved route containing @dst is the most
 * specific (exit nodes for /0), and is allowed if some rule delivered to one of
 * them accepts it. With no receiver it is denied.
 */
bool policy_allows(const struct policy *p, const struct policy_node *nodes, size_t n,
		   const struct ip_addr *src, const struct ip_addr *dst, uint8_t proto,
		   uint16_t port);

/**
 * True if @p's autoApprovers approve the subnet route @prefix advertised by
 * @node: a "routes" entry containing @prefix lists an alias @node matches.
 * Exit routes (/0) are never approved here; see policy_auto_approve_exit().
 */
bool policy_auto_approve_route(const struct policy *p, const struct policy_node *node,
			       const struct ip_prefix *prefix);

/** True if @p's autoApprovers "exitNode" list has an alias @node matches. */
bool policy_auto_approve_exit(const struct policy *p, const struct policy_node *node);

/**
 * True if @node may apply @tag under @p's tagOwners: @node's user is listed (by
 * name, group or autogroup:member) or @node has a tag that is. Without a
 * policy, or for a tag not in tagOwners, false.
 */
bool policy_tag_allowed(const struct policy *p, const struct policy_node *node, const char *tag);

#endif
