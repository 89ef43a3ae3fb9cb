// SPDX-License-Identifier: MIT
/*
 * The allow-all answer of the policy seam (see netmap_policy.h): what every
 * node's filter is while no policy engine is wired in.
 */
#include "server/netmap_policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int netmap_policy_allow_all(struct ctl_filter_rule **rules, size_t *n)
{
	struct ctl_filter_rule *r;

	*rules = NULL;
	*n = 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->src = calloc(2, sizeof(*r->src));
	r->dst = calloc(2, sizeof(*r->dst));
	if (!r->src || !r->dst) {
		netmap_policy_rules_free(r, 1);
		return -ENOMEM;
	}
	/* 0.0.0.0/0 and ::/0: a zeroed address of each family with no bits. */
	r->src[0].addr.family = IP_FAMILY_V4;
	r->src[1].addr.family = IP_FAMILY_V6;
	r->nsrc = 2;
	for (size_t i = 0; i < 2; i++) {
		r->dst[i].prefix = r->src[i];
		r->dst[i].port_first = 0;
		r->dst[i].port_last = 65535;
	}
	r->ndst = 2;
	*rules = r;
	*n = 1;
	return 0;
}

void netmap_policy_rules_free(struct ctl_filter_rule *rules, size_t n)
{
	if (!rules)
		return;
	for (size_t i = 0; i < n; i++)
		ctl_filter_rule_free(&rules[i]);
	free(rules);
}
