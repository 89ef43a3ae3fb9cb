/* SPDX-License-Identifier: MIT */
/*
 * Control protocol messages as C structs, with their JSON codec. Each
 * message has _encode (struct → compact JSON, validated with the rules the
 * decoder enforces), _decode (JSON bytes → struct; strict; never reads past
 * len; unknown members ignored, wrong types, bad values and missing required
 * members refused with a reason in @err) and _free (releases what decode
 * allocated; safe on a zeroed struct, wipes the auth key). The field list
 * and JSON spelling are in docs/protocol.md, "Control protocol".
 *
 * Conventions: keys are raw 32-byte arrays (text "nodekey:<hex>" on the
 * wire), times are Unix seconds with 0 for "never/unknown", node ids are
 * positive and below 2^53 (they travel as JSON numbers), optional strings are
 * NULL when absent.
 */
#ifndef MESH_CONTROL_MSG_H
#define MESH_CONTROL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/json.h"
#include "control/proto.h"
#include "util/ipaddr.h"

/* Upper bounds the decoder enforces (and the encoder refuses to exceed). */
enum ctl_msg_limits {
	CTL_MAX_ENDPOINTS = 64,
	CTL_MAX_TAGS = 64,
	CTL_MAX_ROUTES = 4096,
	CTL_MAX_ADDRESSES = 16,
	CTL_MAX_ALLOWED_IPS = 4096 + CTL_MAX_ADDRESSES,
	CTL_MAX_PEERS = 1000000,
	CTL_MAX_RULES = 100000,
	CTL_MAX_RULE_PREFIXES = 100000,
	CTL_MAX_PROTOS = 256,
	CTL_MAX_REGIONS = 256,
	CTL_MAX_RELAY_NODES = 32,
	CTL_MAX_NAMESERVERS = 16,
	CTL_MAX_SEARCH_DOMAINS = 32,
	CTL_MAX_RECORDS = 10000,

	CTL_HOSTNAME_MAX = 255,
	CTL_OS_MAX = 64,
	CTL_OS_VERSION_MAX = 128,
	CTL_TAG_MAX = 128,
	CTL_NAME_MAX = 63,
	CTL_DNSNAME_MAX = 254,
	CTL_USER_MAX = 255,
	CTL_TOKEN_MAX = 256,
	CTL_URL_MAX = 2048,
	CTL_ERROR_MAX = 1024,
	CTL_REGION_CODE_MAX = 32,
	CTL_REGION_NAME_MAX = 128,
};

/* What a node says about itself (register and map requests). */
struct ctl_hostinfo {
	char *hostname;		  /* required: the OS host name, free text (the server sanitizes) */
	char *os;		  /* required: "linux" */
	char *os_version;	  /* optional */
	struct ip_prefix *routes; /* advertised routes, canonical; 0.0.0.0/0 + ::/0 = exit node */
	size_t nroutes;
	char **tags; /* requested tags, "tag:name" */
	size_t ntags;
};

struct ctl_register_request {
	uint32_t version;
	/* Not in the JSON: the envelope's sender key, set by ctl_register_request_open(). */
	uint8_t machine_key[CTL_KEY_LEN];
	uint8_t node_key[CTL_KEY_LEN];
	bool has_old_node_key; /* renewal: the key being replaced */
	uint8_t old_node_key[CTL_KEY_LEN];
	uint8_t disco_key[CTL_KEY_LEN];
	struct ctl_hostinfo hostinfo;
	char *auth_key; /* optional; secret */
	char *followup; /* optional: the pending id of an earlier answer, to wait on */
	struct ip_endpoint *endpoints;
	size_t nendpoints;
	bool logout; /* expire this node key now */
};

struct ctl_register_response {
	bool authorized;
	bool node_key_expired;
	char *error;	  /* optional: why registration was refused; then !authorized */
	char *pending_id; /* !authorized and waiting for an admin: the id to approve */
	char *auth_url;	  /* optional, with pending_id: where a human may approve */
	/* When authorized: */
	uint64_t node_id;
	char *name; /* the node's DNS label */
	char *user; /* NULL for tagged nodes */
	char **tags;
	size_t ntags;
	struct ip_prefix *addresses; /* the node's /32 and /128 */
	size_t naddresses;
	int64_t key_expiry;
};

struct ctl_map_request {
	uint32_t version;
	uint8_t machine_key[CTL_KEY_LEN]; /* from the envelope, as above */
	uint8_t node_key[CTL_KEY_LEN];
	uint8_t disco_key[CTL_KEY_LEN];
	struct ip_endpoint *endpoints;
	size_t nendpoints;
	bool stream;	 /* long-poll: full map, then deltas and keep-alives */
	bool omit_peers; /* a non-streaming update (endpoints, hostinfo): no map wanted back */
	bool has_hostinfo;
	struct ctl_hostinfo hostinfo;
};

/* A node as others (and itself) see it in a map. */
struct ctl_node {
	uint64_t id;
	char *name; /* DNS label */
	char *fqdn; /* name.<base_domain> */
	char *user; /* NULL: tagged */
	char **tags;
	size_t ntags;
	uint8_t node_key[CTL_KEY_LEN];
	bool has_disco_key; /* false until the node has connected once */
	uint8_t disco_key[CTL_KEY_LEN];
	struct ip_prefix *addresses; /* required, non-empty */
	size_t naddresses;
	struct ip_prefix *allowed_ips; /* addresses + approved routes */
	size_t nallowed_ips;
	struct ip_endpoint *endpoints;
	size_t nendpoints;
	uint32_t home_relay; /* region id, 0 = none */
	bool online;
	int64_t last_seen;
	int64_t key_expiry;
	bool expired;
};

/* Which members of a ctl_peer_patch are set. */
enum ctl_patch_fields {
	CTL_PATCH_ENDPOINTS = 1 << 0,
	CTL_PATCH_HOME_RELAY = 1 << 1,
	CTL_PATCH_ONLINE = 1 << 2,
	CTL_PATCH_LAST_SEEN = 1 << 3,
	CTL_PATCH_DISCO_KEY = 1 << 4,
	CTL_PATCH_NODE_KEY = 1 << 5,
	CTL_PATCH_KEY_EXPIRY = 1 << 6,
};

/* A small change to one known peer. */
struct ctl_peer_patch {
	uint64_t id;
	unsigned int fields; /* enum ctl_patch_fields; at least one */
	struct ip_endpoint *endpoints;
	size_t nendpoints;
	uint32_t home_relay;
	bool online;
	int64_t last_seen;
	uint8_t disco_key[CTL_KEY_LEN];
	uint8_t node_key[CTL_KEY_LEN];
	int64_t key_expiry;
};

struct ctl_relay_node {
	char *name;	 /* "900a" */
	char *host_name; /* DNS name for TLS and dialing */
	bool has_ipv4, has_ipv6;
	struct ip_addr ipv4, ipv6; /* optional: skip DNS */
	uint16_t stun_port;	   /* 0: no STUN */
	uint16_t relay_port;	   /* 0: no relay (STUN only) */
};

struct ctl_relay_region {
	uint32_t region_id; /* > 0 */
	char *region_code;  /* DNS label: "home" */
	char *region_name;  /* optional, free text */
	struct ctl_relay_node *nodes;
	size_t nnodes;
};

struct ctl_relay_map {
	struct ctl_relay_region *regions;
	size_t nregions;
};

enum ctl_dns_type {
	CTL_DNS_A,
	CTL_DNS_AAAA,
};

struct ctl_dns_record {
	char *name;
	enum ctl_dns_type type;
	struct ip_addr value; /* IPv4 for A, IPv6 for AAAA */
};

struct ctl_dns_config {
	bool magic_dns;
	char *domain; /* optional: the base domain */
	struct ip_addr *nameservers;
	size_t nnameservers;
	char **search_domains;
	size_t nsearch_domains;
	struct ctl_dns_record *records;
	size_t nrecords;
};

struct ctl_filter_dst {
	struct ip_prefix prefix;
	uint16_t port_first, port_last; /* inclusive; first <= last */
};

/* Traffic from any of @src to any of @dst with a protocol in @protos is allowed in. */
struct ctl_filter_rule {
	struct ip_prefix *src;
	size_t nsrc;
	struct ctl_filter_dst *dst;
	size_t ndst;
	uint8_t *protos; /* IP protocol numbers; none = TCP, UDP, ICMP, ICMPv6 */
	size_t nprotos;
};

/*
 * One map stream frame. Absent parts mean "unchanged". A full map has
 * has_peers (the complete peer list, possibly empty); a delta has the
 * peers_changed / peers_removed / peers_patch lists instead (never both).
 * A keep-alive has keep_alive and nothing else.
 */
struct ctl_map_response {
	bool keep_alive;
	bool has_seq;
	uint64_t seq;
	struct ctl_node *node; /* self */
	bool has_peers;
	struct ctl_node *peers;
	size_t npeers;
	struct ctl_node *peers_changed;
	size_t npeers_changed;
	uint64_t *peers_removed;
	size_t npeers_removed;
	struct ctl_peer_patch *peers_patch;
	size_t npeers_patch;
	struct ctl_relay_map *relay_map;
	struct ctl_dns_config *dns;
	bool has_packet_filter; /* present and empty = deny all */
	struct ctl_filter_rule *packet_filter;
	size_t npacket_filter;
};

/* GET /key: the server's public key (plain JSON, not sealed). */
struct ctl_server_key {
	uint32_t version;
	uint8_t public_key[CTL_KEY_LEN];
};

/** Encode the GET /key answer @m as JSON into a malloc'd *@out (*@len bytes). Returns 0, -EINVAL or -ENOMEM. */
int ctl_server_key_encode(const struct ctl_server_key *m, char **out, size_t *len);

/** Decode a GET /key answer from @len bytes at @buf. Returns 0, or -EINVAL with the reason in @err. */
int ctl_server_key_decode(struct ctl_server_key *m, const uint8_t *buf, size_t len,
			  struct ctl_err *err);

/**
 * Encode @m as JSON into a malloc'd string *@out of *@len bytes. Returns 0,
 * -EINVAL or -ENOMEM. The text holds the auth key: sodium_memzero() it
 * before freeing (ctl_register_request_seal() does all of this).
 */
int ctl_register_request_encode(const struct ctl_register_request *m, char **out, size_t *len);

/**
 * Decode @len bytes at @buf into @m (zeroed first; free it even on failure).
 * Returns 0, -EINVAL (reason in @err, which may be NULL), -EMSGSIZE or
 * -ENOMEM. machine_key is left zero: it comes from the envelope.
 */
int ctl_register_request_decode(struct ctl_register_request *m, const uint8_t *buf, size_t len,
				struct ctl_err *err);

/** Free what @m holds (wiping the auth key) and zero it. */
void ctl_register_request_free(struct ctl_register_request *m);

/** Encode @m (authorized, refused or pending; anything else is -EINVAL) as JSON. */
int ctl_register_response_encode(const struct ctl_register_response *m, char **out, size_t *len);

/** Decode a register response; as ctl_register_request_decode(). */
int ctl_register_response_decode(struct ctl_register_response *m, const uint8_t *buf, size_t len,
				 struct ctl_err *err);

/** Free what @m holds and zero it. */
void ctl_register_response_free(struct ctl_register_response *m);

/** Encode a map request as JSON (stream with omit_peers is -EINVAL). */
int ctl_map_request_encode(const struct ctl_map_request *m, char **out, size_t *len);

/** Decode a map request; as ctl_register_request_decode(). */
int ctl_map_request_decode(struct ctl_map_request *m, const uint8_t *buf, size_t len,
			   struct ctl_err *err);

/** Free what @m holds and zero it. */
void ctl_map_request_free(struct ctl_map_request *m);

/** Encode one map frame as JSON (full and delta at once, or a keep-alive with content, is -EINVAL). */
int ctl_map_response_encode(const struct ctl_map_response *m, char **out, size_t *len);

/** Decode one map frame's JSON; as ctl_register_request_decode(), up to CTL_MAX_MESSAGE_JSON bytes. */
int ctl_map_response_decode(struct ctl_map_response *m, const uint8_t *buf, size_t len,
			    struct ctl_err *err);

/** Free everything @m holds (nodes, maps, rules) and zero it. */
void ctl_map_response_free(struct ctl_map_response *m);

/** Free what one node holds and zero it (for callers building maps). */
void ctl_node_free(struct ctl_node *n);

/*
 * The pieces, shared between the message files. _encode adds members to @obj
 * (errors kept in *@err), _decode reads @obj with ctx->path pointing at it,
 * _free releases the contents and zeroes the struct (not the struct itself).
 */
void ctl_relay_map_encode(int *err, cJSON *obj, const struct ctl_relay_map *m);
int ctl_relay_map_decode(struct ctl_json_ctx *ctx, const cJSON *obj, struct ctl_relay_map *m);
void ctl_relay_map_free(struct ctl_relay_map *m);
void ctl_dns_config_encode(int *err, cJSON *obj, const struct ctl_dns_config *d);
int ctl_dns_config_decode(struct ctl_json_ctx *ctx, const cJSON *obj, struct ctl_dns_config *d);
void ctl_dns_config_free(struct ctl_dns_config *d);
void ctl_filter_rule_encode(int *err, cJSON *obj, const struct ctl_filter_rule *r);
int ctl_filter_rule_decode(struct ctl_json_ctx *ctx, const cJSON *obj, struct ctl_filter_rule *r);
void ctl_filter_rule_free(struct ctl_filter_rule *r);
void ctl_hostinfo_encode(int *err, cJSON *obj, const struct ctl_hostinfo *h);
int ctl_hostinfo_decode(struct ctl_json_ctx *ctx, const cJSON *obj, struct ctl_hostinfo *h);
void ctl_hostinfo_free(struct ctl_hostinfo *h);

#endif
