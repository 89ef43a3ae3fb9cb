// SPDX-License-Identifier: MIT
/*
 * meshcontrol's config: defaults, a full file, and every kind of error with
 * the exact "FILE:LINE: message" a person sees; plus the validators behind it
 * (durations, URLs, DNS names, tags).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config.h"
#include "server/validate.h"

/* Parse @text as "test.json"; return what was printed (caller frees) and the result. */
static char *parse(const char *text, struct config *cfg, int *ret)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *errs = open_memstream(&out, &outlen);

	assert_non_null(errs);
	*ret = config_parse(cfg, "test.json", text, strlen(text), errs);
	fclose(errs);
	return out;
}

/* The config must be refused with exactly @want printed. */
static void expect_errors(const char *text, const char *want)
{
	struct config cfg;
	int ret;
	char *out = parse(text, &cfg, &ret);

	if (ret != -EINVAL || strcmp(out, want))
		fail_msg("config:\n%s\ngot (%d):\n%swant:\n%s", text, ret, out, want);
	free(out);
}

static void test_defaults(void **state)
{
	struct config cfg;
	char buf[IP_PREFIX_STRLEN];
	int ret;
	char *out = parse("{\"server_url\": \"https://mesh.example.com/\"}", &cfg, &ret);

	(void)state;
	assert_int_equal(ret, 0);
	assert_string_equal(out, "");
	assert_string_equal(cfg.server_url, "https://mesh.example.com");
	assert_string_equal(cfg.listen, "0.0.0.0:443");
	assert_null(cfg.tls_cert);
	assert_null(cfg.tls_key);
	assert_int_equal(cfg.db_type, CONFIG_DB_SQLITE);
	assert_string_equal(cfg.db_path, "/var/lib/meshcontrol/db.sqlite");
	assert_string_equal(cfg.admin_socket, "/run/meshcontrol/admin.sock");
	assert_string_equal(cfg.base_domain, "mesh.internal");
	assert_string_equal(ip_prefix_format(&cfg.prefix_v4, buf, sizeof(buf)), "100.64.0.0/10");
	assert_string_equal(ip_prefix_format(&cfg.prefix_v6, buf, sizeof(buf)),
			    "fd7a:115c:a1e0::/48");
	assert_true(cfg.relay.enabled);
	assert_int_equal(cfg.relay.region_id, 900);
	assert_string_equal(cfg.relay.region_code, "home");
	assert_string_equal(cfg.relay.stun_listen, "0.0.0.0:3478");
	assert_int_equal(cfg.n_relay_map, 0);
	assert_null(cfg.policy_file);
	assert_int_equal(cfg.node_key_expiry, 180 * 86400);
	assert_int_equal(cfg.ephemeral_inactivity_timeout, 30 * 60);
	assert_true(cfg.dns.magic_dns);
	assert_int_equal(cfg.dns.n_nameservers, 0);
	assert_string_equal(cfg.log_level, "info");
	assert_string_equal(cfg.path, "test.json");
	config_free(&cfg);
	free(out);
}

static const char full[] =
	"// meshcontrol, every key\n"
	"{\n"
	"  \"version\": 1,\n"
	"  \"server_url\": \"http://127.0.0.1:8080\",\n"
	"  \"listen\": \"[::1]:8080\",\n"
	"  \"tls\": {\"cert\": \"/etc/m/cert.pem\", \"key\": \"/etc/m/key.pem\"},\n"
	"  \"database\": {\"type\": \"sqlite\", \"path\": \"/tmp/db.sqlite\"},\n"
	"  \"admin_socket\": \"/tmp/admin.sock\",\n"
	"  \"base_domain\": \"corp.example\",\n"
	"  \"prefixes\": {\"v4\": \"100.96.0.0/12\", \"v6\": \"fd00:1::/64\"},\n"
	"  \"relay\": {\"enabled\": false, \"region_id\": 901, \"region_code\": \"fra\",\n"
	"            \"region_name\": \"Frankfurt\", \"stun_listen\": \"127.0.0.1:3479\"},\n"
	"  \"relay_map\": [\n"
	"    {\"region_id\": 902, \"region_code\": \"nyc\", \"region_name\": \"New York\",\n"
	"     \"nodes\": [{\"name\": \"902a\", \"hostname\": \"relay.example.com\",\n"
	"                 \"ipv4\": \"192.0.2.1\", \"ipv6\": \"2001:db8::1\", \"stun_port\": "
	"3478,\n"
	"                 \"relay_port\": 443, \"stun_only\": false}]},\n"
	"  ],\n"
	"  \"policy_file\": \"/etc/m/policy.hujson\",\n"
	"  \"node_key_expiry\": \"90d\",\n"
	"  \"ephemeral_inactivity_timeout\": \"5m\",\n"
	"  \"dns\": {\"magic_dns\": false, \"nameservers\": [\"1.1.1.1\", \"2606:4700::1111\"],\n"
	"          \"search_domains\": [\"corp.example\"],\n"
	"          \"extra_records\": [{\"name\": \"git.corp.example\", \"type\": \"A\",\n"
	"                             \"value\": \"100.96.0.7\"}]},\n"
	"  \"log_level\": \"debug\", /* trailing comma next */\n"
	"}\n";

static void test_full(void **state)
{
	struct config cfg;
	char buf[IP_PREFIX_STRLEN];
	int ret;
	char *out = parse(full, &cfg, &ret);

	(void)state;
	if (ret)
		fail_msg("%s", out);
	assert_string_equal(cfg.server_url, "http://127.0.0.1:8080");
	assert_string_equal(cfg.listen, "[::1]:8080");
	assert_string_equal(cfg.tls_cert, "/etc/m/cert.pem");
	assert_string_equal(cfg.tls_key, "/etc/m/key.pem");
	assert_string_equal(cfg.db_path, "/tmp/db.sqlite");
	assert_string_equal(cfg.admin_socket, "/tmp/admin.sock");
	assert_string_equal(cfg.base_domain, "corp.example");
	assert_string_equal(ip_prefix_format(&cfg.prefix_v4, buf, sizeof(buf)), "100.96.0.0/12");
	assert_string_equal(ip_prefix_format(&cfg.prefix_v6, buf, sizeof(buf)), "fd00:1::/64");
	assert_false(cfg.relay.enabled);
	assert_int_equal(cfg.relay.region_id, 901);
	assert_string_equal(cfg.relay.region_code, "fra");
	assert_string_equal(cfg.relay.region_name, "Frankfurt");
	assert_string_equal(cfg.relay.stun_listen, "127.0.0.1:3479");
	assert_int_equal(cfg.n_relay_map, 1);
	assert_int_equal(cfg.relay_map[0].region_id, 902);
	assert_string_equal(cfg.relay_map[0].region_code, "nyc");
	assert_int_equal(cfg.relay_map[0].n_nodes, 1);
	assert_string_equal(cfg.relay_map[0].nodes[0].hostname, "relay.example.com");
	assert_string_equal(cfg.relay_map[0].nodes[0].ipv6, "2001:db8::1");
	assert_int_equal(cfg.relay_map[0].nodes[0].relay_port, 443);
	assert_string_equal(cfg.policy_file, "/etc/m/policy.hujson");
	assert_int_equal(cfg.node_key_expiry, 90 * 86400);
	assert_int_equal(cfg.ephemeral_inactivity_timeout, 300);
	assert_false(cfg.dns.magic_dns);
	assert_int_equal(cfg.dns.n_nameservers, 2);
	assert_string_equal(cfg.dns.nameservers[1], "2606:4700::1111");
	assert_int_equal(cfg.dns.n_search_domains, 1);
	assert_int_equal(cfg.dns.n_extra_records, 1);
	assert_string_equal(cfg.dns.extra_records[0].value, "100.96.0.7");
	assert_string_equal(cfg.log_level, "debug");
	config_free(&cfg);
	free(out);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	expect_errors(
		"{\n"
		"  \"server_url\": \"https://m.example\",\n"
		"  \"listn\": \"0.0.0.0:443\",\n"
		"  \"relay\": {\"enable\": true},\n"
		"  \"frobnicate\": 1\n"
		"}",
		"test.json:3: unknown key \"listn\" (did you mean \"listen\"?)\n"
		"test.json:5: unknown key \"frobnicate\"\n"
		"test.json:4: unknown key \"relay.enable\" (did you mean \"relay.enabled\"?)\n");
	expect_errors(
		"{\"server_url\": \"https://m.example\",\n"
		" \"relay_map\": [{\"region_id\": 5, \"nodes\": [{\"hostname\": \"r.example\",\n"
		"   \"stunport\": 1}]}]}",
		"test.json:3: unknown key \"relay_map[0].nodes[0].stunport\" (did you mean "
		"\"relay_map[0].nodes[0].stun_port\"?)\n");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_errors("{\n"
		      "  \"server_url\": \"https://m.example\",\n"
		      "  \"listen\": \"0.0.0.0:443\",\n"
		      "  \"listen\": \"0.0.0.0:8443\"\n"
		      "}",
		      "test.json:4:3: duplicate key \"listen\" (first on line 3)\n");
	expect_errors("{\"server_url\": \"https://m.example\",\n"
		      " \"dns\": {\"magic_dns\": true,\n"
		      "         \"magic_dns\": false}}",
		      "test.json:3:10: duplicate key \"magic_dns\" (first on line 2)\n");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect_errors(
		"{\n"
		"  \"server_url\": 443,\n"
		"  \"node_key_expiry\": 180,\n"
		"  \"relay\": {\"enabled\": \"yes\", \"region_id\": 9.5},\n"
		"  \"prefixes\": [],\n"
		"  \"tls\": \"on\",\n"
		"  \"dns\": {\"nameservers\": \"1.1.1.1\", \"search_domains\": [1]},\n"
		"  \"version\": 2\n"
		"}",
		"test.json:8: \"version\": 2 is out of range (1..1)\n"
		"test.json:2: \"server_url\": expected a string, got a number\n"
		"test.json:6: \"tls\": expected an object or null, got a string\n"
		"test.json:5: \"prefixes\": expected an object, got an array\n"
		"test.json:4: \"relay.enabled\": expected true or false, got a string\n"
		"test.json:4: \"relay.region_id\": expected an integer, got a fraction\n"
		"test.json:3: \"node_key_expiry\": expected a string, got a number\n"
		"test.json:7: \"dns.nameservers\": expected an array of strings, got a string\n"
		"test.json:7: \"dns.search_domains\": expected strings, got a number\n");
	expect_errors("[1, 2]",
		      "test.json:1: the configuration must be a JSON object, not an array\n");
}

static void test_bad_prefixes(void **state)
{
	(void)state;
	expect_errors("{\"server_url\": \"https://m.example\",\n"
		      " \"prefixes\": {\n"
		      "  \"v4\": \"100.64.0.1/10\",\n"
		      "  \"v6\": \"100.64.0.0/10\"}}",
		      "test.json:3: \"prefixes.v4\": \"100.64.0.1/10\" has host bits set (did you "
		      "mean \"100.64.0.0/10\"?)\n"
		      "test.json:4: \"prefixes.v6\": \"100.64.0.0/10\" is not an IPv6 prefix\n");
	expect_errors("{\"server_url\": \"https://m.example\",\n"
		      " \"prefixes\": {\"v4\": \"10.0.0.0/31\"}}",
		      "test.json:2: \"prefixes.v4\": \"10.0.0.0/31\" is too small to number nodes "
		      "(at most /30)\n");
	{
		struct config cfg;
		int ret;
		char *out = parse("{\"server_url\": \"https://m.example\",\n"
				  " \"prefixes\": {\"v4\": \"100.64.0.0/33\"}}",
				  &cfg, &ret);

		assert_int_equal(ret, -EINVAL);
		assert_non_null(strstr(out, "test.json:2: \"prefixes.v4\": \"100.64.0.0/33\" is "
					    "not a valid prefix: "));
		free(out);
	}
}

static void test_bad_urls(void **state)
{
	(void)state;
	expect_errors("{\"server_url\": \"ftp://m.example\"}",
		      "test.json:1: \"server_url\": \"ftp://m.example\" is not a valid URL: the "
		      "scheme must be http:// or https://\n");
	expect_errors("{\n\"server_url\": \"https://m.example/control\"}",
		      "test.json:2: \"server_url\": \"https://m.example/control\" is not a valid "
		      "URL: a path, query or fragment is not supported\n");
	expect_errors(
		"{\"server_url\": \"https://\"}",
		"test.json:1: \"server_url\": \"https://\" is not a valid URL: missing host\n");
	expect_errors(
		"{\"server_url\": \"https://m.example:99999\"}",
		"test.json:1: \"server_url\": \"https://m.example:99999\" is not a valid URL: "
		"port out of range\n");
	expect_errors(
		"{\"server_url\": \"https://m_x.example\"}",
		"test.json:1: \"server_url\": \"https://m_x.example\" is not a valid URL: only "
		"letters, digits, '-' and '.' are allowed\n");
}

static void test_bad_durations(void **state)
{
	(void)state;
	expect_errors(
		"{\"server_url\": \"https://m.example\",\n"
		" \"node_key_expiry\": \"180days\",\n"
		" \"ephemeral_inactivity_timeout\": \"0\"}",
		"test.json:2: \"node_key_expiry\": \"180days\" is not a duration: unknown unit "
		"(use d, h, m or s) (use e.g. \"180d\", \"24h\", \"30m\", \"90s\")\n"
		"test.json:3: \"ephemeral_inactivity_timeout\": must be at least 1s\n");
	expect_errors("{\"server_url\": \"https://m.example\", \"node_key_expiry\": \"1.5h\"}",
		      "test.json:1: \"node_key_expiry\": \"1.5h\" is not a duration: use whole "
		      "numbers, e.g. 1h30m (use e.g. \"180d\", \"24h\", \"30m\", \"90s\")\n");
}

static void test_missing_server_url(void **state)
{
	(void)state;
	expect_errors("// nothing yet\n{\n  \"listen\": \"0.0.0.0:443\"\n}\n",
		      "test.json:2: missing required key \"server_url\" (the URL nodes use to "
		      "reach this server, e.g. \"https://mesh.example.com\")\n");
}

static void test_syntax_error(void **state)
{
	(void)state;
	expect_errors("{\n  \"server_url\": \"https://m.example\"\n  \"listen\": \"x\"\n}",
		      "test.json:3:3: unexpected '\"', expected ',' or '}'\n");
	expect_errors("{\n  /* unclosed\n", "test.json:2:3: unterminated /* comment\n");
}

static void test_other_errors(void **state)
{
	(void)state;
	expect_errors(
		"{\"server_url\": \"https://m.example\",\n"
		" \"database\": {\"type\": \"postgres\", \"dsn\": \"host=db\"},\n"
		" \"tls\": {\"cert\": \"/c.pem\"},\n"
		" \"admin_socket\": \"run/admin.sock\",\n"
		" \"listen\": \"0.0.0.0\",\n"
		" \"log_level\": \"verbose\",\n"
		" \"base_domain\": \"-bad.example\"}",
		"test.json:5: \"listen\": \"0.0.0.0\" is not an address and port "
		"(\"0.0.0.0:443\", \"[::]:443\"): missing port (ADDR:PORT)\n"
		"test.json:3: \"tls\": \"key\" is required (or remove \"tls\" for plain HTTP)\n"
		"test.json:2: \"database.type\": \"postgres\" is not available in this build "
		"(use \"sqlite\")\n"
		"test.json:4: \"admin_socket\": \"run/admin.sock\" is not a usable socket "
		"path: must be an absolute path\n"
		"test.json:7: \"base_domain\": \"-bad.example\" is not a DNS name: a label "
		"starts with '-'\n"
		"test.json:6: \"log_level\": \"verbose\" is not a log level: use error, warn, "
		"info or debug\n");
	expect_errors(
		"{\"server_url\": \"https://m.example\",\n"
		" \"relay_map\": [{\"region_id\": 900, \"nodes\": []},\n"
		"               {\"region_id\": 7, \"nodes\": [{\"hostname\": \"a.example\"}]},\n"
		"               {\"region_id\": 7, \"nodes\": [{\"ipv4\": \"::1\"}]}],\n"
		" \"dns\": {\"extra_records\": [{\"name\": \"x.example\", \"type\": \"AAAA\",\n"
		"                              \"value\": \"10.0.0.1\"}]}}",
		"test.json:2: \"relay_map[0].region_id\": 900 is the embedded relay's region "
		"(relay.region_id)\n"
		"test.json:2: \"relay_map[0].nodes\": expected a non-empty array\n"
		"test.json:4: \"relay_map[2].region_id\": 7 is also used on line 3\n"
		"test.json:4: \"relay_map[2].nodes[0]\": \"hostname\" is required\n"
		"test.json:4: \"relay_map[2].nodes[0].ipv4\": \"::1\" is not an IPv4 address\n"
		"test.json:6: \"dns.extra_records[0].value\": \"10.0.0.1\" is not an IPv6 "
		"address for type AAAA\n");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/test_server_config.XXXXXX";
	const char *text = "{\"server_url\": \"https://m.example\"}\n";
	struct config cfg;
	char *out = NULL;
	size_t outlen = 0;
	FILE *errs;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	errs = open_memstream(&out, &outlen);
	assert_int_equal(config_load(&cfg, path, errs), 0);
	assert_string_equal(cfg.path, path);
	config_free(&cfg);
	unlink(path);
	assert_int_equal(config_load(&cfg, path, errs), -ENOENT);
	fclose(errs);
	assert_non_null(strstr(out, ": No such file or directory\n"));
	assert_memory_equal(out, path, strlen(path));
	free(out);
}

static void test_durations(void **state)
{
	static const struct {
		const char *text;
		int64_t secs;
	} good[] = {
		{"0", 0},	    {"90s", 90},     {"30m", 1800},	  {"24h", 86400},
		{"180d", 15552000}, {"1h30m", 5400}, {"1d2h3m4s", 93784}, {"100s", 100},
	};
	static const char *const bad[] = {
		"",	  "d",	 "10", "1.5h", "-1d", "1w", "1h 30m", "h1", "99999999999999999999d",
		"36600d", "0s0", "1D"};
	char buf[32];
	const char *why;
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(validate_duration(good[i].text, &v, &why), 0);
		assert_int_equal(v, good[i].secs);
		validate_format_duration(v, buf, sizeof(buf));
		assert_int_equal(validate_duration(buf, &v, &why), 0);
		assert_int_equal(v, good[i].secs);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (!validate_duration(bad[i], &v, &why))
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(why);
	}
	validate_format_duration(5400, buf, sizeof(buf));
	assert_string_equal(buf, "1h30m");
	validate_format_duration(180 * 86400, buf, sizeof(buf));
	assert_string_equal(buf, "180d");
}

static void test_validators(void **state)
{
	static const char *const good_urls[] = {
		"https://mesh.example.com", "http://127.0.0.1:8080", "https://[::1]:443/",
		"http://localhost",	    "https://a-b.example:1",
	};
	static const char *const bad_urls[] = {
		"mesh.example.com",	"https://",
		"https://x.example/p",	"https://x.example?q",
		"https://u@x.example",	"https://[::1",
		"https://[1.2.3.4]",	"https://999.1.1.1",
		"https://x.example:0",	"https://x.example:",
		"https://x.example:08", "https://x..example",
		"https://x.example.",
	};
	static const char *const good_tags[] = {"tag:server", "tag:a-1", "tag:A"};
	static const char *const bad_tags[] = {
		"server",  "tag:",
		"tag:1a",  "tag:a_b",
		"tag:a b", "tag:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(good_urls) / sizeof(good_urls[0]); i++)
		if (validate_url(good_urls[i], &why))
			fail_msg("refused %s: %s", good_urls[i], why);
	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++)
		if (!validate_url(bad_urls[i], &why))
			fail_msg("accepted %s", bad_urls[i]);
	for (size_t i = 0; i < sizeof(good_tags) / sizeof(good_tags[0]); i++)
		assert_int_equal(validate_tag(good_tags[i], &why), 0);
	for (size_t i = 0; i < sizeof(bad_tags) / sizeof(bad_tags[0]); i++)
		if (!validate_tag(bad_tags[i], &why))
			fail_msg("accepted %s", bad_tags[i]);
	assert_int_equal(validate_dns_name("a.b-c.d", &why), 0);
	assert_int_equal(validate_dns_name("a-.b", &why), -EINVAL);
	assert_int_equal(
		validate_dns_name(
			"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b", &why),
		-EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),	   cmocka_unit_test(test_full),
		cmocka_unit_test(test_unknown_keys),	   cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_wrong_types),	   cmocka_unit_test(test_bad_prefixes),
		cmocka_unit_test(test_bad_urls),	   cmocka_unit_test(test_bad_durations),
		cmocka_unit_test(test_missing_server_url), cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_other_errors),	   cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_durations),	   cmocka_unit_test(test_validators),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
