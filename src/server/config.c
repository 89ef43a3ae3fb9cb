// SPDX-License-Identifier: MIT
/*
 * Config validation is table-free but regular: each object first has its keys
 * checked against the list it may hold (so a typo is an error with a
 * suggestion, never silently ignored), then each key is read by a typed helper
 * that reports "FILE:LINE: path: problem" and leaves the default in place.
 * Every error is reported, not just the first, so one configtest run shows
 * everything to fix.
 */
#include "server/config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"
#include "util/hujson.h"
#include "server/jsonread.h"
#include "server/validate.h"

static const cJSON *member(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static void read_duration(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
			  int64_t min, int64_t *dst)
{
	const cJSON *item = jsonread_get_string(r, obj, path, key, false);
	const char *why;
	char buf[JSONREAD_PATH_MAX], mbuf[32];
	int64_t v;

	if (!item)
		return;
	if (validate_duration(item->valuestring, &v, &why)) {
		jsonread_report(r, item,
				"\"%s\": \"%s\" is not a duration: %s (use e.g. \"180d\", "
				"\"24h\", \"30m\", \"90s\")",
				jsonread_path(buf, sizeof(buf), path, key), item->valuestring, why);
		return;
	}
	if (v < min) {
		validate_format_duration(min, mbuf, sizeof(mbuf));
		jsonread_report(r, item, "\"%s\": must be at least %s",
				jsonread_path(buf, sizeof(buf), path, key), mbuf);
		return;
	}
	*dst = v;
}

static void read_endpoint(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
			  char **dst)
{
	const cJSON *item = jsonread_get_string(r, obj, path, key, false);
	struct ip_endpoint ep;
	const char *why;
	char buf[JSONREAD_PATH_MAX];

	if (!item)
		return;
	if (ip_endpoint_parse(&ep, item->valuestring, &why)) {
		jsonread_report(r, item,
				"\"%s\": \"%s\" is not an address and port (\"0.0.0.0:443\", "
				"\"[::]:443\"): %s",
				jsonread_path(buf, sizeof(buf), path, key), item->valuestring, why);
		return;
	}
	jsonread_set_string(r, dst, item->valuestring);
}

static void read_prefix(struct jsonread *r, const cJSON *obj, const char *path, const char *key,
			enum ip_family family, struct ip_prefix *dst)
{
	const cJSON *item = jsonread_get_string(r, obj, path, key, false);
	unsigned int max_bits = family == IP_FAMILY_V4 ? 30 : 120;
	struct ip_prefix p;
	const char *why;
	char buf[JSONREAD_PATH_MAX], fix[IP_PREFIX_STRLEN];

	if (!item)
		return;
	jsonread_path(buf, sizeof(buf), path, key);
	if (ip_prefix_parse(&p, item->valuestring, &why)) {
		jsonread_report(r, item, "\"%s\": \"%s\" is not a valid prefix: %s", buf,
				item->valuestring, why);
		return;
	}
	if (p.addr.family != family) {
		jsonread_report(r, item, "\"%s\": \"%s\" is not an IPv%d prefix", buf,
				item->valuestring, family);
		return;
	}
	if (!ip_prefix_is_canonical(&p)) {
		ip_prefix_mask(&p);
		jsonread_report(r, item, "\"%s\": \"%s\" has host bits set (did you mean \"%s\"?)",
				buf, item->valuestring, ip_prefix_format(&p, fix, sizeof(fix)));
		return;
	}
	if (p.bits > max_bits) {
		jsonread_report(r, item,
				"\"%s\": \"%s\" is too small to number nodes (at most /%u)", buf,
				item->valuestring, max_bits);
		return;
	}
	*dst = p;
}

static int check_ip(const char *s, const char **why)
{
	struct ip_addr a;

	return ip_addr_parse(&a, s, why);
}

static void parse_tls(struct jsonread *r, struct config *cfg, const cJSON *root)
{
	static const char *const keys[] = {"cert", "key", NULL};
	const cJSON *tls = jsonread_object(r, root, "", "tls", true, keys);

	if (!tls)
		return;
	jsonread_string(r, tls, "tls", "cert", &cfg->tls_cert);
	jsonread_string(r, tls, "tls", "key", &cfg->tls_key);
	if (!member(tls, "cert"))
		jsonread_report(r, tls,
				"\"tls\": \"cert\" is required (or remove \"tls\" for plain HTTP)");
	if (!member(tls, "key"))
		jsonread_report(r, tls,
				"\"tls\": \"key\" is required (or remove \"tls\" for plain HTTP)");
}

static void parse_database(struct jsonread *r, struct config *cfg, const cJSON *root)
{
	static const char *const keys[] = {"type", "path", "dsn", NULL};
	const cJSON *db = jsonread_object(r, root, "", "database", false, keys), *type;

	if (!db)
		return;
	type = jsonread_get_string(r, db, "database", "type", false);
	if (type && !strcmp(type->valuestring, "postgres")) {
		cfg->db_type = CONFIG_DB_POSTGRES;
		jsonread_report(r, type,
				"\"database.type\": \"postgres\" is not available in this build "
				"(use \"sqlite\")");
	} else if (type && strcmp(type->valuestring, "sqlite")) {
		jsonread_report(r, type,
				"\"database.type\": \"%s\" is not a database type (\"sqlite\" or "
				"\"postgres\")",
				type->valuestring);
	}
	jsonread_string(r, db, "database", "path", &cfg->db_path);
	jsonread_string(r, db, "database", "dsn", &cfg->db_dsn);
}

static void parse_prefixes(struct jsonread *r, struct config *cfg, const cJSON *root)
{
	static const char *const keys[] = {"v4", "v6", NULL};
	const cJSON *p = jsonread_object(r, root, "", "prefixes", false, keys);

	if (!p)
		return;
	read_prefix(r, p, "prefixes", "v4", IP_FAMILY_V4, &cfg->prefix_v4);
	read_prefix(r, p, "prefixes", "v6", IP_FAMILY_V6, &cfg->prefix_v6);
}

static int check_region_code(const char *s, const char **why)
{
	if (!*s || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s) ||
	    strlen(s) > 32) {
		*why = "use 1 to 32 lowercase letters, digits or '-'";
		return -EINVAL;
	}
	return 0;
}

static void parse_relay(struct jsonread *r, struct config *cfg, const cJSON *root)
{
	static const char *const keys[] = {"enabled",	  "region_id",	 "region_code",
					   "region_name", "stun_listen", NULL};
	const cJSON *rel = jsonread_object(r, root, "", "relay", false, keys);

	if (!rel)
		return;
	jsonread_bool(r, rel, "relay", "enabled", &cfg->relay.enabled);
	jsonread_int(r, rel, "relay", "region_id", 1, 65535, &cfg->relay.region_id);
	jsonread_checked(r, rel, "relay", "region_code", check_region_code, "a region code",
			 &cfg->relay.region_code);
	jsonread_string(r, rel, "relay", "region_name", &cfg->relay.region_name);
	read_endpoint(r, rel, "relay", "stun_listen", &cfg->relay.stun_listen);
}

static void parse_relay_node(struct jsonread *r, struct config_relay_node *n, const cJSON *obj,
			     const char *path)
{
	static const char *const keys[] = {"name",	"hostname",   "ipv4",	   "ipv6",
					   "stun_port", "relay_port", "stun_only", NULL};
	const cJSON *ip;
	const char *why;
	struct ip_addr a;
	char buf[JSONREAD_PATH_MAX];

	jsonread_check_keys(r, obj, path, keys);
	n->stun_port = 3478;
	n->relay_port = 443;
	jsonread_string(r, obj, path, "name", &n->name);
	jsonread_checked(r, obj, path, "hostname", validate_dns_name, "a host name", &n->hostname);
	if (!member(obj, "hostname"))
		jsonread_report(r, obj, "\"%s\": \"hostname\" is required", path);
	for (int v = 4; v <= 6; v += 2) {
		const char *key = v == 4 ? "ipv4" : "ipv6";

		ip = jsonread_get_string(r, obj, path, key, false);
		if (!ip)
			continue;
		if (ip_addr_parse(&a, ip->valuestring, &why) || a.family != v) {
			jsonread_report(r, ip, "\"%s\": \"%s\" is not an IPv%d address",
					jsonread_path(buf, sizeof(buf), path, key), ip->valuestring,
					v);
			continue;
		}
		jsonread_set_string(r, v == 4 ? &n->ipv4 : &n->ipv6, ip->valuestring);
	}
	jsonread_int(r, obj, path, "stun_port", 0, 65535, &n->stun_port);
	jsonread_int(r, obj, path, "relay_port", 1, 65535, &n->relay_port);
	jsonread_bool(r, obj, path, "stun_only", &n->stun_only);
}

static void parse_relay_map(struct jsonread *r, struct config *cfg, const cJSON *root)
{
	static const char *const keys[] = {"region_id", "region_code", "region_name", "nodes",
					   NULL};
	const cJSON *map = member(root, "relay_map"), *reg, *other;
	size_t k = 0;

	if (!map)
		return;
	if (!cJSON_IsArray(map)) {
		jsonread_report(r, map, "\"relay_map\": expected an array of regions, got %s",
				jsonread_type_name(map));
		return;
	}
	cfg->relay_map = calloc((size_t)cJSON_GetArraySize(map) + 1, sizeof(*cfg->relay_map));
	if (!cfg->relay_map) {
		r->oom = true;
		return;
	}
	for (reg = map->child; reg; reg = reg->next) {
		struct config_relay_region *rg = &cfg->relay_map[k];
		const cJSON *nodes, *node;
		char path[64], npath[96];
		size_t j = 0;

		snprintf(path, sizeof(path), "relay_map[%zu]", k++);
		if (!cJSON_IsObject(reg)) {
			jsonread_report(r, reg, "\"%s\": expected an object, got %s", path,
					jsonread_type_name(reg));
			continue;
		}
		jsonread_check_keys(r, reg, path, keys);
		jsonread_int(r, reg, path, "region_id", 1, 65535, &rg->region_id);
		if (!member(reg, "region_id"))
			jsonread_report(r, reg, "\"%s\": \"region_id\" is required", path);
		jsonread_checked(r, reg, path, "region_code", check_region_code, "a region code",
				 &rg->region_code);
		jsonread_string(r, reg, path, "region_name", &rg->region_name);
		if (rg->region_id && cfg->relay.enabled && rg->region_id == cfg->relay.region_id)
			jsonread_report(r, member(reg, "region_id"),
					"\"%s.region_id\": %d is the embedded relay's region "
					"(relay.region_id)",
					path, rg->region_id);
		for (other = map->child; rg->region_id && other != reg; other = other->next) {
			const cJSON *id = member(other, "region_id");

			if (cJSON_IsNumber(id) && id->valuedouble == rg->region_id)
				jsonread_report(r, member(reg, "region_id"),
						"\"%s.region_id\": %d is also used on line %u",
						path, rg->region_id, hujson_line(r->doc, id));
		}
		nodes = member(reg, "nodes");
		if (!cJSON_IsArray(nodes) || !cJSON_GetArraySize(nodes)) {
			jsonread_report(r, nodes ? nodes : reg,
					"\"%s.nodes\": expected a non-empty array", path);
			continue;
		}
		rg->nodes = calloc((size_t)cJSON_GetArraySize(nodes), sizeof(*rg->nodes));
		if (!rg->nodes) {
			r->oom = true;
			continue;
		}
		for (node = nodes->child; node; node = node->next) {
			snprintf(npath, sizeof(npath), "%s.nodes[%zu]", path, j);
			if (!cJSON_IsObject(node)) {
				jsonread_report(r, node, "\"%s\": expected an object, got %s",
						npath, jsonread_type_name(node));
				continue;
			}
			parse_relay_node(r, &rg->nodes[j++], node, npath);
		}
		rg->n_nodes = j;
	}
	cfg->n_relay_map = k;
}

static void parse_dns(struct jsonread *r, struct config *cfg, const cJSON *root)
{
	static const char *const keys[] = {"magic_dns", "nameservers", "search_domains",
					   "extra_records", NULL};
	static const char *const rkeys[] = {"name", "type", "value", NULL};
	const cJSON *dns = jsonread_object(r, root, "", "dns", false, keys), *recs, *rec;
	size_t k = 0;

	if (!dns)
		return;
	jsonread_bool(r, dns, "dns", "magic_dns", &cfg->dns.magic_dns);
	jsonread_string_array(r, dns, "dns", "nameservers", check_ip, "an IP address",
			      &cfg->dns.nameservers, &cfg->dns.n_nameservers);
	jsonread_string_array(r, dns, "dns", "search_domains", validate_dns_name, "a domain",
			      &cfg->dns.search_domains, &cfg->dns.n_search_domains);
	recs = member(dns, "extra_records");
	if (!recs)
		return;
	if (!cJSON_IsArray(recs)) {
		jsonread_report(r, recs, "\"dns.extra_records\": expected an array, got %s",
				jsonread_type_name(recs));
		return;
	}
	cfg->dns.extra_records =
		calloc((size_t)cJSON_GetArraySize(recs) + 1, sizeof(*cfg->dns.extra_records));
	if (!cfg->dns.extra_records) {
		r->oom = true;
		return;
	}
	for (rec = recs->child; rec; rec = rec->next) {
		struct config_dns_record *rec_out = &cfg->dns.extra_records[k];
		const cJSON *type, *value;
		struct ip_addr a;
		const char *why;
		char path[64];

		snprintf(path, sizeof(path), "dns.extra_records[%zu]", k++);
		if (!cJSON_IsObject(rec)) {
			jsonread_report(r, rec, "\"%s\": expected an object, got %s", path,
					jsonread_type_name(rec));
			continue;
		}
		jsonread_check_keys(r, rec, path, rkeys);
		jsonread_checked(r, rec, path, "name", validate_dns_name, "a DNS name",
				 &rec_out->name);
		type = jsonread_get_string(r, rec, path, "type", false);
		value = jsonread_get_string(r, rec, path, "value", false);
		if (!member(rec, "name") || !type || !value) {
			jsonread_report(r, rec,
					"\"%s\": \"name\", \"type\" and \"value\" are required",
					path);
			continue;
		}
		if (strcmp(type->valuestring, "A") && strcmp(type->valuestring, "AAAA")) {
			jsonread_report(r, type,
					"\"%s.type\": \"%s\" is not supported (\"A\" or \"AAAA\")",
					path, type->valuestring);
			continue;
		}
		if (ip_addr_parse(&a, value->valuestring, &why) ||
		    a.family != (type->valuestring[1] ? IP_FAMILY_V6 : IP_FAMILY_V4)) {
			jsonread_report(r, value,
					"\"%s.value\": \"%s\" is not an IPv%c address for type %s",
					path, value->valuestring, type->valuestring[1] ? '6' : '4',
					type->valuestring);
			continue;
		}
		jsonread_set_string(r, &rec_out->type, type->valuestring);
		jsonread_set_string(r, &rec_out->value, value->valuestring);
	}
	cfg->dns.n_extra_records = k;
}

static int check_socket_path(const char *s, const char **why)
{
	if (*s != '/') {
		*why = "must be an absolute path";
		return -EINVAL;
	}
	if (strlen(s) > CONFIG_SOCKET_PATH_MAX) {
		*why = "longer than the 107 bytes a Unix socket path can hold";
		return -EINVAL;
	}
	return 0;
}

static int check_log_level(const char *s, const char **why)
{
	if (strcmp(s, "error") && strcmp(s, "warn") && strcmp(s, "info") && strcmp(s, "debug")) {
		*why = "use error, warn, info or debug";
		return -EINVAL;
	}
	return 0;
}

/* validate_url() allows nothing after the host but one '/'; keep the origin alone. */
static void strip_slash(char *url)
{
	size_t n = strlen(url);

	if (n && url[n - 1] == '/')
		url[n - 1] = '\0';
}

static void parse_root(struct jsonread *r, struct config *cfg, const cJSON *root)
{
	static const char *const keys[] = {
		"version",     "server_url",  "listen",
		"tls",	       "database",    "admin_socket",
		"base_domain", "prefixes",    "relay",
		"relay_map",   "policy_file", "node_key_expiry",
		"dns",	       "log_level",   "ephemeral_inactivity_timeout",
		NULL,
	};
	const cJSON *url, *pol;
	const char *why;
	int version = 1;

	if (!cJSON_IsObject(root)) {
		jsonread_report(r, root, "the configuration must be a JSON object, not %s",
				jsonread_type_name(root));
		return;
	}
	jsonread_check_keys(r, root, "", keys);
	jsonread_int(r, root, "", "version", 1, 1, &version);
	url = jsonread_get_string(r, root, "", "server_url", false);
	if (url && validate_url(url->valuestring, &why))
		jsonread_report(r, url, "\"server_url\": \"%s\" is not a valid URL: %s",
				url->valuestring, why);
	else if (url && jsonread_set_string(r, &cfg->server_url, url->valuestring))
		strip_slash(cfg->server_url);
	else if (!member(root, "server_url"))
		jsonread_report(r, root,
				"missing required key \"server_url\" (the URL nodes use to reach "
				"this server, e.g. \"https://mesh.example.com\")");
	read_endpoint(r, root, "", "listen", &cfg->listen);
	parse_tls(r, cfg, root);
	parse_database(r, cfg, root);
	jsonread_checked(r, root, "", "admin_socket", check_socket_path, "a usable socket path",
			 &cfg->admin_socket);
	jsonread_checked(r, root, "", "base_domain", validate_dns_name, "a DNS name",
			 &cfg->base_domain);
	parse_prefixes(r, cfg, root);
	parse_relay(r, cfg, root);
	parse_relay_map(r, cfg, root);
	pol = jsonread_get_string(r, root, "", "policy_file", true);
	if (pol && !*pol->valuestring)
		jsonread_report(r, pol, "\"policy_file\": must not be empty (use null for none)");
	else if (pol)
		jsonread_set_string(r, &cfg->policy_file, pol->valuestring);
	read_duration(r, root, "", "node_key_expiry", 0, &cfg->node_key_expiry);
	read_duration(r, root, "", "ephemeral_inactivity_timeout", 1,
		      &cfg->ephemeral_inactivity_timeout);
	parse_dns(r, cfg, root);
	jsonread_checked(r, root, "", "log_level", check_log_level, "a log level", &cfg->log_level);
}

int config_init_defaults(struct config *cfg)
{
	static const struct {
		size_t off;
		const char *value;
	} strings[] = {
		{offsetof(struct config, listen), "0.0.0.0:443"},
		{offsetof(struct config, db_path), "/var/lib/meshcontrol/db.sqlite"},
		{offsetof(struct config, admin_socket), "/run/meshcontrol/admin.sock"},
		{offsetof(struct config, base_domain), "mesh.internal"},
		{offsetof(struct config, relay.region_code), "home"},
		{offsetof(struct config, relay.region_name), "Embedded relay"},
		{offsetof(struct config, relay.stun_listen), "0.0.0.0:3478"},
		{offsetof(struct config, log_level), "info"},
	};

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
		char **dst = (char **)(void *)((char *)cfg + strings[i].off);

		*dst = strdup(strings[i].value);
		if (!*dst) {
			config_free(cfg);
			return -ENOMEM;
		}
	}
	ip_prefix_parse(&cfg->prefix_v4, "100.64.0.0/10", NULL);
	ip_prefix_parse(&cfg->prefix_v6, "fd7a:115c:a1e0::/48", NULL);
	cfg->db_type = CONFIG_DB_SQLITE;
	cfg->relay.enabled = true;
	cfg->relay.region_id = 900;
	cfg->node_key_expiry = 180LL * 86400;
	cfg->ephemeral_inactivity_timeout = 30 * 60;
	cfg->dns.magic_dns = true;
	return 0;
}

int config_parse(struct config *cfg, const char *name, const char *text, size_t len, FILE *errs)
{
	struct hujson_error herr;
	struct hujson_doc *doc;
	struct jsonread r;
	int ret;

	ret = config_init_defaults(cfg);
	if (ret)
		return ret;
	cfg->path = strdup(name);
	if (!cfg->path) {
		ret = -ENOMEM;
		goto out_free_cfg;
	}
	ret = hujson_parse(&doc, text, len, 0, &herr);
	if (ret == -EINVAL || ret == -E2BIG) {
		if (herr.line)
			fprintf(errs, "%s:%u:%u: %s\n", name, herr.line, herr.col, herr.msg);
		else
			fprintf(errs, "%s: %s\n", name, herr.msg);
		ret = -EINVAL;
		goto out_free_cfg;
	}
	if (ret)
		goto out_free_cfg;
	jsonread_init(&r, name, doc, errs);
	parse_root(&r, cfg, hujson_root(doc));
	jsonread_finish(&r);
	hujson_free(doc);
	if (r.oom) {
		ret = -ENOMEM;
		goto out_free_cfg;
	}
	if (r.nerr) {
		ret = -EINVAL;
		goto out_free_cfg;
	}
	return 0;

out_free_cfg:
	config_free(cfg);
	return ret;
}

int config_load(struct config *cfg, const char *path, FILE *errs)
{
	size_t len = 0, cap = 4096;
	char *text = malloc(cap), *bigger;
	FILE *f;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!text)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		fprintf(errs, "%s: %s\n", path, strerror(errno));
		goto out_free_text;
	}
	for (;;) {
		size_t n = fread(text + len, 1, cap - len, f);

		len += n;
		if (len < cap)
			break;
		if (cap >= HUJSON_MAX_INPUT) {
			fprintf(errs, "%s: larger than %d bytes\n", path, HUJSON_MAX_INPUT);
			ret = -E2BIG;
			goto out_close;
		}
		bigger = realloc(text, cap * 2);
		if (!bigger) {
			ret = -ENOMEM;
			goto out_close;
		}
		text = bigger;
		cap *= 2;
	}
	if (ferror(f)) {
		ret = errno ? -errno : -EIO;
		fprintf(errs, "%s: %s\n", path, strerror(-ret));
		goto out_close;
	}
	ret = config_parse(cfg, path, text, len, errs);

out_close:
	fclose(f);
out_free_text:
	free(text);
	return ret;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; cfg->relay_map && i < cfg->n_relay_map; i++) {
		struct config_relay_region *r = &cfg->relay_map[i];

		for (size_t j = 0; j < r->n_nodes; j++) {
			free(r->nodes[j].name);
			free(r->nodes[j].hostname);
			free(r->nodes[j].ipv4);
			free(r->nodes[j].ipv6);
		}
		free(r->nodes);
		free(r->region_code);
		free(r->region_name);
	}
	free(cfg->relay_map);
	for (size_t i = 0; cfg->dns.extra_records && i < cfg->dns.n_extra_records; i++) {
		free(cfg->dns.extra_records[i].name);
		free(cfg->dns.extra_records[i].type);
		free(cfg->dns.extra_records[i].value);
	}
	free(cfg->dns.extra_records);
	free_strings(cfg->dns.nameservers, cfg->dns.n_nameservers);
	free_strings(cfg->dns.search_domains, cfg->dns.n_search_domains);
	free(cfg->path);
	free(cfg->server_url);
	free(cfg->listen);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->db_path);
	free(cfg->db_dsn);
	free(cfg->admin_socket);
	free(cfg->base_domain);
	free(cfg->relay.region_code);
	free(cfg->relay.region_name);
	free(cfg->relay.stun_listen);
	free(cfg->policy_file);
	free(cfg->log_level);
	memset(cfg, 0, sizeof(*cfg));
}
