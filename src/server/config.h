/* SPDX-License-Identifier: MIT */
/*
 * meshcontrol's configuration: a HuJSON file (JSON with comments and trailing
 * commas) whose keys docs/configuration.md lists. Every key but "server_url"
 * has a default. Validation is strict and complete: unknown keys (with a
 * did-you-mean), duplicate keys, wrong types, bad prefixes, URLs, addresses and
 * durations are all reported, one "FILE:LINE: message" line each, and the caller
 * exits with EX_CONFIG (78) so a service manager does not restart-loop on a typo.
 */
#ifndef MESH_SERVER_CONFIG_H
#define MESH_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/ipaddr.h"

enum config_limits {
	CONFIG_EXIT_CODE = 78,	      /* EX_CONFIG */
	CONFIG_SOCKET_PATH_MAX = 107, /* sizeof(sun_path) - 1 */
	CONFIG_MAX_ERRORS = 50,	      /* stop reporting after this many */
};

enum config_db_type {
	CONFIG_DB_SQLITE = 0,
	CONFIG_DB_POSTGRES = 1,
};

/* A relay server of another region, as nodes are told about it. */
struct config_relay_node {
	char *name;
	char *hostname;
	char *ipv4; /* NULL: resolve hostname */
	char *ipv6;
	int stun_port;
	int relay_port;
	bool stun_only;
};

struct config_relay_region {
	int region_id;
	char *region_code;
	char *region_name;
	struct config_relay_node *nodes;
	size_t n_nodes;
};

/* An extra DNS record served by MagicDNS. */
struct config_dns_record {
	char *name;
	char *type; /* "A" or "AAAA" */
	char *value;
};

struct config {
	char *path;	  /* the file it came from, for messages */
	char *server_url; /* scheme://host[:port], no trailing slash */
	char *listen;	  /* "ADDR:PORT" for the HTTP(S) API */
	char *tls_cert;	  /* both NULL: plain HTTP */
	char *tls_key;
	enum config_db_type db_type;
	char *db_path; /* sqlite */
	char *db_dsn;  /* postgres */
	char *admin_socket;
	char *base_domain;
	struct ip_prefix prefix_v4;
	struct ip_prefix prefix_v6;
	struct {
		bool enabled;
		int region_id;
		char *region_code;
		char *region_name;
		char *stun_listen;
	} relay;
	struct config_relay_region *relay_map;
	size_t n_relay_map;
	char *policy_file;		      /* NULL: the policy lives in the database */
	int64_t node_key_expiry;	      /* seconds; 0 = node keys never expire */
	int64_t ephemeral_inactivity_timeout; /* seconds */
	struct {
		bool magic_dns;
		char **nameservers;
		size_t n_nameservers;
		char **search_domains;
		size_t n_search_domains;
		struct config_dns_record *extra_records;
		size_t n_extra_records;
	} dns;
	char *log_level; /* "error", "warn", "info" or "debug" */
};

/**
 * Parse the configuration in @text (@len bytes), naming it @name in messages.
 * Every problem is written to @errs as "NAME:LINE: message\n" (NAME:LINE:COL for
 * syntax errors). Returns 0 with @cfg filled (free with config_free()), -EINVAL
 * when the configuration is invalid, or -ENOMEM. On error @cfg holds nothing.
 */
int config_parse(struct config *cfg, const char *name, const char *text, size_t len, FILE *errs);

/**
 * Read and parse the file at @path, as config_parse(). A file that cannot be read
 * is reported on @errs as "PATH: reason" and returns its negative errno.
 */
int config_load(struct config *cfg, const char *path, FILE *errs);

/** Fill @cfg with the defaults alone (server_url stays NULL). Returns 0 or -ENOMEM. */
int config_init_defaults(struct config *cfg);

/** Release everything @cfg owns; it is left zeroed. */
void config_free(struct config *cfg);

#endif
