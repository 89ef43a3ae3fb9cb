// SPDX-License-Identifier: MIT
/*
 * router facade, the parts that need no privilege: the documented defaults,
 * refusal of bad ids and bad configs before anything is changed, and the
 * answer for a missing interface (an unprivileged RTM_GETLINK). What it does
 * to a kernel is tested in tests/integration/router.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "router/router.h"
#include "util/compiler.h"
#include "util/log.h"

static void test_ids_defaults(void **state)
{
	struct router_ids ids;
	char buf[IP_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(router_ids_init(&ids, "mesh0"), 0);
	assert_string_equal(ids.ifname, "mesh0");
	assert_int_equal(ids.table, 64);
	assert_int_equal(ids.rule_priority, 5300);
	assert_int_equal(ids.bypass_mark, 0x08000000);
	assert_int_equal(ids.fwmark_mask, 0x0f000000);
	assert_string_equal(ip_prefix_format(&ids.mesh_v4, buf, sizeof(buf)), "100.64.0.0/10");
	assert_string_equal(ip_prefix_format(&ids.mesh_v6, buf, sizeof(buf)),
			    "fd7a:115c:a1e0::/48");
	assert_int_equal(router_ids_init(&ids, ""), -EINVAL);
	assert_int_equal(router_ids_init(&ids, NULL), -EINVAL);
	assert_int_equal(router_ids_init(&ids, "0123456789abcdef"), -EINVAL);
	assert_int_equal(router_ids_init(&ids, "0123456789abcde"), 0);
}

static void test_open_rejects_bad_ids(void **state)
{
	static const uint32_t bad_tables[] = {0, 253, 254, 255};
	struct router_ids ids, bad;
	struct router r;

	(void)state;
	assert_int_equal(router_ids_init(&ids, "mesh0"), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad_tables); i++) {
		bad = ids;
		bad.table = bad_tables[i]; /* never flush the kernel's own tables */
		assert_int_equal(router_open(&r, &bad), -EINVAL);
	}
	bad = ids;
	bad.rule_priority = UINT32_MAX - 50; /* the range would wrap */
	assert_int_equal(router_open(&r, &bad), -EINVAL);
	bad = ids;
	bad.rule_priority = 0;
	assert_int_equal(router_open(&r, &bad), -EINVAL);
	bad = ids;
	bad.bypass_mark = 0x10000000; /* outside the mask */
	assert_int_equal(router_open(&r, &bad), -EINVAL);
	bad = ids;
	bad.bypass_mark = 0;
	assert_int_equal(router_open(&r, &bad), -EINVAL);
	bad = ids;
	bad.mesh_v4 = ids.mesh_v6; /* families swapped */
	assert_int_equal(router_open(&r, &bad), -EINVAL);
	bad = ids;
	memset(bad.ifname, 'x', sizeof(bad.ifname));
	assert_int_equal(router_open(&r, &bad), -EINVAL);
	router_close(&r); /* safe after a failed open */

	bad = ids;
	memset(&bad.mesh_v6, 0, sizeof(bad.mesh_v6)); /* IPv4 only is fine */
	assert_int_equal(router_open(&r, &bad), 0);
	router_close(&r);
}

static void test_apply_rejects_bad_config(void **state)
{
	struct ip_prefix good, bad;
	struct router_config cfg;
	struct router_ids ids;
	struct router r;

	(void)state;
	assert_int_equal(ip_prefix_parse(&good, "100.64.0.1/32", NULL), 0);
	bad = good;
	bad.bits = 64;
	assert_int_equal(router_ids_init(&ids, "meshtest-none0"), 0);
	assert_int_equal(router_open(&r, &ids), 0);

	assert_int_equal(router_apply(&r, NULL), -EINVAL);
	cfg = (struct router_config){.addrs = &bad, .n_addrs = 1};
	assert_int_equal(router_apply(&r, &cfg), -EINVAL);
	cfg = (struct router_config){.routes = &bad, .n_routes = 1};
	assert_int_equal(router_apply(&r, &cfg), -EINVAL);
	cfg = (struct router_config){.local_routes = &bad, .n_local_routes = 1};
	assert_int_equal(router_apply(&r, &cfg), -EINVAL);
	cfg = (struct router_config){.n_addrs = 1}; /* count without array */
	assert_int_equal(router_apply(&r, &cfg), -EINVAL);
	memset(&bad, 0, sizeof(bad));
	cfg = (struct router_config){.routes = &bad, .n_routes = 1};
	assert_int_equal(router_apply(&r, &cfg), -EINVAL);

	/* A valid config for an interface that does not exist: nothing can be done. */
	cfg = (struct router_config){.addrs = &good, .n_addrs = 1};
	assert_int_equal(router_apply(&r, &cfg), -ENODEV);
	assert_int_equal(r.addrs.n, 0);
	router_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_defaults),
		cmocka_unit_test(test_open_rejects_bad_ids),
		cmocka_unit_test(test_apply_rejects_bad_config),
	};

	log_set_level(LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
