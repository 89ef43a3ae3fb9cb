// SPDX-License-Identifier: MIT
/*
 * The small grammars inside policy strings: aliases ("*", users, group:,
 * tag:, autogroup:, host names, IPs and CIDRs), port lists, protocol names,
 * and the identity tests that say which nodes an alias stands for. Error texts
 * follow Tailscale's where the semantics reference records them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/policy/internal.h"
#include "util/compiler.h"

const struct ip_prefix policy_tailnet_v4 = {{IP_FAMILY_V4, {100, 64}}, 10};
const struct ip_prefix policy_chromeos_v4 = {{IP_FAMILY_V4, {100, 115, 92}}, 23};
const struct ip_prefix policy_tailnet_v6 = {{IP_FAMILY_V6, {0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0}},
					    48};
const struct ip_prefix policy_internet_v6 = {{IP_FAMILY_V6, {0x20}}, 3};
const struct ip_prefix policy_internet_excluded_v4[POLICY_INTERNET_EXCLUDED] = {
	{{IP_FAMILY_V4, {10}}, 8},	  {{IP_FAMILY_V4, {100, 64}}, 10},
	{{IP_FAMILY_V4, {169, 254}}, 16}, {{IP_FAMILY_V4, {172, 16}}, 12},
	{{IP_FAMILY_V4, {192, 168}}, 16},
};

/* What no policy, or one without "acls", means: every protocol of the default set, any source. */
static struct alias allow_all_src = {.kind = ALIAS_DANGER_ALL, .name = "autogroup:danger-all"};
static struct port_range allow_all_ports = {0, 65535};
static struct acl_dst allow_all_dst = {.text = "*:*",
				       .alias = {.kind = ALIAS_ANY, .name = "*"},
				       .ports = &allow_all_ports,
				       .n_ports = 1};
const struct acl policy_allow_all = {
	.srcs = &allow_all_src,
	.n_srcs = 1,
	.dsts = &allow_all_dst,
	.n_dsts = 1,
	.protos = {POLICY_PROTO_TCP, POLICY_PROTO_UDP, POLICY_PROTO_ICMP, POLICY_PROTO_ICMPV6},
	.n_protos = 4,
};

static void say(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool looks_like_ip(const char *s)
{
	return (*s >= '0' && *s <= '9') || strchr(s, ':') || strchr(s, '/');
}

static const struct policy_group *find_group(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_groups; i++) {
		if (!strcmp(p->groups[i].name, name))
			return &p->groups[i];
	}
	return NULL;
}

static const struct host *find_host(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_hosts; i++) {
		if (!strcmp(p->hosts[i].name, name))
			return &p->hosts[i];
	}
	return NULL;
}

bool policy_tag_defined(const struct policy *p, const char *tag)
{
	for (size_t i = 0; i < p->n_tag_owners; i++) {
		if (!strcmp(p->tag_owners[i].tag, tag))
			return true;
	}
	return false;
}

int policy_user_check(const char *s, char *why, size_t whylen)
{
	const char *at = strchr(s, '@');

	if (!at || at == s || strchr(at + 1, '@') || strpbrk(s, " \t\r\n:/*")) {
		say(why, whylen, "invalid user \"%s\"", s);
		return -EINVAL;
	}
	return 0;
}

int policy_prefix_parse(const char *s, struct ip_prefix *out, char *why, size_t whylen)
{
	const char *reason = NULL;
	char buf[IP_PREFIX_STRLEN];

	if (strchr(s, '/')) {
		if (ip_prefix_parse(out, s, &reason))
			goto bad;
		if (!ip_prefix_is_canonical(out)) {
			ip_prefix_mask(out);
			say(why, whylen, "invalid IP address or prefix \"%s\": host bits set (%s?)",
			    s, ip_prefix_format(out, buf, sizeof(buf)));
			return -EINVAL;
		}
		return 0;
	}
	if (ip_addr_parse(&out->addr, s, &reason))
		goto bad;
	out->bits = (uint8_t)ip_addr_bits(&out->addr);
	return 0;
bad:
	say(why, whylen, "invalid IP address or prefix \"%s\": %s", s, reason);
	return -EINVAL;
}

int policy_alias_parse(const struct policy *p, const char *s, struct alias *out, char *why,
		       size_t whylen)
{
	static const struct {
		const char *name;
		enum alias_kind kind;
	} autogroups[] = {
		{"autogroup:member", ALIAS_MEMBER},
		{"autogroup:tagged", ALIAS_TAGGED},
		{"autogroup:self", ALIAS_SELF},
		{"autogroup:internet", ALIAS_INTERNET},
		{"autogroup:danger-all", ALIAS_DANGER_ALL},
	};
	const struct host *h;

	memset(out, 0, sizeof(*out));
	out->name = s;
	if (!strcmp(s, "*")) {
		out->kind = ALIAS_ANY;
		return 0;
	}
	if (starts_with(s, "autogroup:")) {
		for (size_t i = 0; i < ARRAY_SIZE(autogroups); i++) {
			if (!strcmp(s, autogroups[i].name)) {
				out->kind = autogroups[i].kind;
				return 0;
			}
		}
		say(why, whylen, "autogroup not found: \"%s\"", s);
		return -EINVAL;
	}
	if (starts_with(s, "group:")) {
		out->kind = ALIAS_GROUP;
		out->group = find_group(p, s);
		if (!out->group) {
			say(why, whylen, "group not found: \"%s\"", s);
			return -EINVAL;
		}
		return 0;
	}
	if (starts_with(s, "tag:")) {
		out->kind = ALIAS_TAG;
		if (!policy_tag_defined(p, s)) {
			say(why, whylen, "tag not found: \"%s\"", s);
			return -EINVAL;
		}
		return 0;
	}
	if (strchr(s, '@')) {
		out->kind = ALIAS_USER;
		return policy_user_check(s, why, whylen);
	}
	if (looks_like_ip(s)) {
		out->kind = ALIAS_PREFIX;
		return policy_prefix_parse(s, &out->prefix, why, whylen);
	}
	h = find_host(p, s);
	if (!h) {
		say(why, whylen, "host not found: \"%s\"", s);
		return -EINVAL;
	}
	out->kind = ALIAS_HOST;
	out->prefix = h->prefix;
	return 0;
}

/* A decimal port, no sign, no leading zeros, at most 65535. */
static bool parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned int v = 0;

	if (!n || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

static int parse_one_range(const char *s, size_t n, struct port_range *r, char *why, size_t whylen)
{
	const char *dash = memchr(s, '-', n);
	size_t first_len = dash ? (size_t)(dash - s) : n;
	int len = (int)n;

	if (!parse_port(s, first_len, &r->first)) {
		say(why, whylen, "port range \"%.*s\": invalid first integer", len, s);
		return -EINVAL;
	}
	r->last = r->first;
	if (dash && !parse_port(dash + 1, n - first_len - 1, &r->last)) {
		say(why, whylen, "port range \"%.*s\": invalid last integer", len, s);
		return -EINVAL;
	}
	if (r->first == 0) {
		say(why, whylen, "port range \"%.*s\": port 0 is not allowed", len, s);
		return -EINVAL;
	}
	if (r->first > r->last) {
		say(why, whylen, "port range \"%.*s\": first port is greater than last", len, s);
		return -EINVAL;
	}
	return 0;
}

int policy_ports_parse(struct policy_arena **a, const char *s, struct port_range **out, size_t *n,
		       char *why, size_t whylen)
{
	size_t count = 1, i = 0;
	const char *p = s;

	if (!strcmp(s, "*")) {
		*out = policy_arena_alloc(a, sizeof(**out));
		if (!*out)
			return -ENOMEM;
		(*out)->first = 0;
		(*out)->last = 65535;
		*n = 1;
		return 0;
	}
	for (const char *c = s; *c; c++)
		count += *c == ',';
	*out = policy_arena_array(a, count, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (parse_one_range(p, len, &(*out)[i++], why, whylen))
			return -EINVAL;
		if (!comma)
			break;
		p = comma + 1;
	}
	*n = count;
	return 0;
}

static const struct {
	const char *name;
	uint8_t proto;
} proto_names[] = {
	{"icmp", POLICY_PROTO_ICMP}, {"igmp", POLICY_PROTO_IGMP},
	{"ipv4", POLICY_PROTO_IPV4}, {"ip-in-ip", POLICY_PROTO_IPV4},
	{"tcp", POLICY_PROTO_TCP},   {"egp", POLICY_PROTO_EGP},
	{"igp", POLICY_PROTO_IGP},   {"udp", POLICY_PROTO_UDP},
	{"gre", POLICY_PROTO_GRE},   {"esp", POLICY_PROTO_ESP},
	{"ah", POLICY_PROTO_AH},     {"ipv6-icmp", POLICY_PROTO_ICMPV6},
	{"sctp", POLICY_PROTO_SCTP}, {"fc", POLICY_PROTO_FC},
};

int policy_proto_parse(const char *s, uint8_t *out, char *why, size_t whylen)
{
	unsigned int v = 0;
	size_t len = strlen(s);

	for (size_t i = 0; i < ARRAY_SIZE(proto_names); i++) {
		if (!strcmp(s, proto_names[i].name)) {
			*out = proto_names[i].proto;
			return 0;
		}
	}
	if (!strcmp(s, "*")) {
		say(why, whylen,
		    "proto=\"*\" is not allowed: leave \"proto\" out to allow TCP, UDP and ICMP");
		return -EINVAL;
	}
	if (!len || strspn(s, "0123456789") != len) {
		say(why, whylen, "proto=\"%s\": unknown protocol name", s);
		return -EINVAL;
	}
	if (s[0] == '0' && len > 1) {
		say(why, whylen, "proto=\"%s\": leading zeros are not allowed", s);
		return -EINVAL;
	}
	for (size_t i = 0; i < len && v < 1000; i++)
		v = v * 10 + (unsigned int)(s[i] - '0');
	if (v < 1 || v > 255) {
		say(why, whylen, "proto=\"%s\": protocol number must be 1 to 255", s);
		return -EINVAL;
	}
	*out = (uint8_t)v;
	return 0;
}

bool policy_proto_has_ports(uint8_t proto)
{
	return proto == POLICY_PROTO_TCP || proto == POLICY_PROTO_UDP || proto == POLICY_PROTO_SCTP;
}

/* "alice@" stands for the user named "alice", "alice@example.com" for that name. */
static bool user_token_matches(const char *token, const char *user)
{
	size_t len = strlen(token);

	if (!strcmp(token, user))
		return true;
	return len > 1 && token[len - 1] == '@' && strlen(user) == len - 1 &&
	       !strncmp(token, user, len - 1);
}

bool policy_node_tagged(const struct policy_node *node)
{
	return node->n_tags > 0;
}

bool policy_node_is_user(const struct policy_node *node, const char *token)
{
	return !policy_node_tagged(node) && node->user && user_token_matches(token, node->user);
}

bool policy_node_has_tag(const struct policy_node *node, const char *tag)
{
	for (size_t i = 0; i < node->n_tags; i++) {
		if (node->tags[i] && !strcmp(node->tags[i], tag))
			return true;
	}
	return false;
}

bool policy_node_exit(const struct policy_node *node)
{
	if (node->exit_node)
		return true;
	for (size_t i = 0; i < node->n_routes; i++) {
		if (node->routes[i].bits == 0)
			return true;
	}
	return false;
}

bool policy_node_owns(const struct policy_node *n, const struct ip_addr *a)
{
	for (size_t k = 0; k < n->n_addresses; k++) {
		if (ip_addr_equal(&n->addresses[k], a))
			return true;
	}
	return false;
}

int policy_route_len(const struct policy_node *n, const struct ip_addr *a)
{
	/* Exit nodes carry the internet and private networks, never tailnet addresses. */
	bool exit_ok = !policy_tailnet_contains(a);
	int best = -1;

	for (size_t k = 0; k < n->n_routes; k++) {
		if ((n->routes[k].bits || exit_ok) && ip_prefix_contains(&n->routes[k], a) &&
		    n->routes[k].bits > best)
			best = n->routes[k].bits;
	}
	if (best < 0 && n->exit_node && exit_ok)
		best = 0;
	return best;
}

bool policy_node_matches(const struct policy_node *node, const struct alias *a)
{
	switch (a->kind) {
	case ALIAS_USER:
		return policy_node_is_user(node, a->name);
	case ALIAS_GROUP:
		for (size_t i = 0; i < a->group->n_users; i++) {
			if (policy_node_is_user(node, a->group->users[i]))
				return true;
		}
		return false;
	case ALIAS_TAG:
		return policy_node_has_tag(node, a->name);
	case ALIAS_MEMBER:
		return !policy_node_tagged(node) && node->user;
	case ALIAS_TAGGED:
		return policy_node_tagged(node);
	default:
		return false;
	}
}

bool policy_tailnet_contains(const struct ip_addr *a)
{
	if (a->family == IP_FAMILY_V4)
		return ip_prefix_contains(&policy_tailnet_v4, a) &&
		       !ip_prefix_contains(&policy_chromeos_v4, a);
	return ip_prefix_contains(&policy_tailnet_v6, a);
}

bool policy_internet_contains(const struct ip_addr *a)
{
	if (a->family == IP_FAMILY_V6)
		return ip_prefix_contains(&policy_internet_v6, a);
	for (size_t i = 0; i < ARRAY_SIZE(policy_internet_excluded_v4); i++) {
		if (ip_prefix_contains(&policy_internet_excluded_v4[i], a))
			return false;
	}
	return a->family == IP_FAMILY_V4;
}
