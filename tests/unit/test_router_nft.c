// SPDX-License-Identifier: MIT
/*
 * router_nft: the exact script for each configuration (SNAT on and off, one
 * family or both), host bits cleared, names that could escape the nft string
 * or act as wildcards refused, and every short buffer refused cleanly. The
 * kernel's acceptance of the script is the integration test's job.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/router_nft.h"
#include "util/compiler.h"

static struct router_nft_config config(const char *ifname, bool snat, const char *v4,
				       const char *v6)
{
	struct router_nft_config c = {.snat = snat};

	assert_true(strlen(ifname) < sizeof(c.ifname));
	strcpy(c.ifname, ifname);
	if (v4)
		assert_int_equal(ip_prefix_parse(&c.mesh_v4, v4, NULL), 0);
	if (v6)
		assert_int_equal(ip_prefix_parse(&c.mesh_v6, v6, NULL), 0);
	return c;
}

static const char header[] = "add table inet meshd\n"
			     "delete table inet meshd\n"
			     "table inet meshd {\n"
			     "\tchain input {\n"
			     "\t\ttype filter hook input priority filter; policy accept;\n"
			     "\t}\n"
			     "\tchain forward {\n"
			     "\t\ttype filter hook forward priority filter; policy accept;\n";

static void test_full(void **state)
{
	struct router_nft_config c = config("mesh0", true, "100.64.0.0/10", "fd7a:115c:a1e0::/48");
	char buf[ROUTER_NFT_SCRIPT_MAX];
	char want[ROUTER_NFT_SCRIPT_MAX];
	int n;

	(void)state;
	snprintf(want, sizeof(want),
		 "%s"
		 "\t\tiifname \"mesh0\" accept\n"
		 "\t\toifname \"mesh0\" ip saddr 100.64.0.0/10 drop\n"
		 "\t\toifname \"mesh0\" ip6 saddr fd7a:115c:a1e0::/48 drop\n"
		 "\t\toifname \"mesh0\" accept\n"
		 "\t}\n"
		 "\tchain postrouting {\n"
		 "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
		 "\t\toifname != \"mesh0\" ip saddr 100.64.0.0/10 fib saddr type != local "
		 "masquerade\n"
		 "\t\toifname != \"mesh0\" ip6 saddr fd7a:115c:a1e0::/48 fib saddr type != local "
		 "masquerade\n"
		 "\t}\n"
		 "}\n",
		 header);
	n = router_nft_build(&c, buf, sizeof(buf));
	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_no_snat(void **state)
{
	struct router_nft_config c =
		config("tun-x.1", false, "100.64.0.0/10", "fd7a:115c:a1e0::/48");
	char buf[ROUTER_NFT_SCRIPT_MAX], want[ROUTER_NFT_SCRIPT_MAX];

	(void)state;
	snprintf(want, sizeof(want),
		 "%s"
		 "\t\tiifname \"tun-x.1\" accept\n"
		 "\t\toifname \"tun-x.1\" ip saddr 100.64.0.0/10 drop\n"
		 "\t\toifname \"tun-x.1\" ip6 saddr fd7a:115c:a1e0::/48 drop\n"
		 "\t\toifname \"tun-x.1\" accept\n"
		 "\t}\n"
		 "}\n",
		 header);
	assert_true(router_nft_build(&c, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, want);
	assert_null(strstr(buf, "masquerade"));
}

static void test_one_family_and_masking(void **state)
{
	/* Host bits set on input are cleared in the rules. */
	struct router_nft_config c = config("mesh0", true, "100.64.12.34/10", NULL);
	char buf[ROUTER_NFT_SCRIPT_MAX];

	(void)state;
	assert_true(router_nft_build(&c, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "ip saddr 100.64.0.0/10 drop"));
	assert_non_null(strstr(buf, "ip saddr 100.64.0.0/10 fib saddr type != local masquerade"));
	assert_null(strstr(buf, "ip6"));
	assert_null(strstr(buf, "100.64.12.34"));

	c = config("mesh0", true, NULL, "fd7a:115c:a1e0:ffff::1/48");
	assert_true(router_nft_build(&c, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "ip6 saddr fd7a:115c:a1e0::/48 fib saddr type != local"));
	assert_null(strstr(buf, " ip saddr"));

	/* No prefix at all: nothing to masquerade, so no nat chain even with SNAT on. */
	c = config("mesh0", true, NULL, NULL);
	assert_true(router_nft_build(&c, buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "postrouting"));
	assert_non_null(strstr(buf, "iifname \"mesh0\" accept"));
}

static void test_bad_config(void **state)
{
	static const char *const names[] = {
		"", "mesh\"0", "mesh*", "me sh", "a\\b", "a;b", "x}", "tab\t", "0123456789abcdef",
	};
	struct router_nft_config c;
	char buf[ROUTER_NFT_SCRIPT_MAX];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		memset(&c, 0, sizeof(c));
		memcpy(c.ifname, names[i], strnlen(names[i], sizeof(c.ifname) - 1));
		if (strlen(names[i]) >= sizeof(c.ifname))
			memset(c.ifname, 'a', sizeof(c.ifname)); /* no NUL inside IFNAMSIZ */
		assert_int_equal(router_nft_build(&c, buf, sizeof(buf)), -EINVAL);
	}
	c = config("mesh0", true, NULL, NULL);
	assert_int_equal(ip_prefix_parse(&c.mesh_v4, "fd00::/8", NULL), 0); /* wrong family */
	assert_int_equal(router_nft_build(&c, buf, sizeof(buf)), -EINVAL);
	c = config("mesh0", true, NULL, NULL);
	assert_int_equal(ip_prefix_parse(&c.mesh_v6, "10.0.0.0/8", NULL), 0);
	assert_int_equal(router_nft_build(&c, buf, sizeof(buf)), -EINVAL);
	c = config("mesh0", true, "10.0.0.0/8", NULL);
	c.mesh_v4.bits = 40;
	assert_int_equal(router_nft_build(&c, buf, sizeof(buf)), -EINVAL);
	/* router_nft_apply() refuses the same before touching the kernel. */
	assert_int_equal(router_nft_apply(&c, NULL, 0), -EINVAL);
}

static void test_short_buffers(void **state)
{
	struct router_nft_config c = config("mesh0", true, "100.64.0.0/10", "fd7a:115c:a1e0::/48");
	char full[ROUTER_NFT_SCRIPT_MAX];
	int need;

	(void)state;
	need = router_nft_build(&c, full, sizeof(full));
	assert_true(need > 0);
	for (size_t len = 0; len <= (size_t)need + 1; len++) {
		char *b = malloc(len ? len : 1);
		int ret;

		assert_non_null(b);
		ret = router_nft_build(&c, len ? b : NULL, len);
		if (len <= (size_t)need) {
			assert_int_equal(ret, -ENOSPC);
			if (len)
				assert_int_equal(b[0], '\0'); /* never half a script */
		} else {
			assert_int_equal(ret, need);
			assert_string_equal(b, full);
		}
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_no_snat),
		cmocka_unit_test(test_one_family_and_masking),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_short_buffers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
