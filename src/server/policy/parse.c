// SPDX-License-Identifier: MIT
/*
 * Policy file → struct policy. The HuJSON layer gives us a cJSON tree and the
 * line and column of every item; this file walks the sections in dependency
 * order (groups, tagOwners, hosts, then what refers to them) and stops at the
 * first problem, reported at the item that caused it. Keys match
 * case-insensitively, as Go's encoding/json does for Tailscale ("ACLs" works),
 * but a key given twice in two spellings is refused.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/policy/internal.h"
#include "util/compiler.h"
#include "util/hujson.h"

struct parser {
	struct policy *p;
	const struct hujson_doc *doc;
	struct policy_error *err;
};

enum parse_limits {
	WHY_MAX = POLICY_ERROR_MAX - 64, /* room for a prefix around an inner reason */
	TAG_MAX = 64,
};

static int fail(struct parser *ps, const cJSON *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *ps, const cJSON *at, const char *fmt, ...)
{
	va_list ap;

	if (!ps->err)
		return -EINVAL;
	ps->err->line = 0;
	ps->err->col = 0;
	if (at)
		hujson_pos(ps->doc, at, &ps->err->line, &ps->err->col);
	va_start(ap, fmt);
	vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int oom(struct parser *ps)
{
	if (ps->err) {
		memset(ps->err, 0, sizeof(*ps->err));
		snprintf(ps->err->msg, sizeof(ps->err->msg), "out of memory");
	}
	return -ENOMEM;
}

static char *dup(struct parser *ps, const char *s)
{
	return policy_arena_strdup(&ps->p->arena, s);
}

static void *array(struct parser *ps, size_t n, size_t size)
{
	return policy_arena_array(&ps->p->arena, n, size);
}

/*
 * Refuse members of @obj not in @keys (case-insensitively), those named in
 * @unsupported (known to Tailscale, not implemented here), and a key given
 * twice in different spellings.
 */
static int check_keys(struct parser *ps, const cJSON *obj, const char *const *keys,
		      const char *const *unsupported)
{
	const cJSON *m, *o;

	cJSON_ArrayForEach (m, obj) {
		bool known = false;

		for (size_t i = 0; keys[i] && !known; i++)
			known = !strcasecmp(m->string, keys[i]);
		for (size_t i = 0; unsupported && unsupported[i] && !known; i++) {
			if (!strcasecmp(m->string, unsupported[i]))
				return fail(ps, m, "\"%s\" is not supported", m->string);
		}
		if (!known)
			return fail(ps, m, "unknown key \"%s\"", m->string);
		for (o = obj->child; o != m; o = o->next) {
			if (!strcasecmp(o->string, m->string))
				return fail(ps, m, "duplicate key \"%s\"", m->string);
		}
	}
	return 0;
}

/*
 * The array-of-strings member @key of @obj in *@out; NULL when absent and not
 * @required.
 */
static int string_array(struct parser *ps, const cJSON *obj, const char *key, bool required,
			const cJSON **out)
{
	const cJSON *a = cJSON_GetObjectItem(obj, key), *e;

	*out = NULL;
	if (!a) {
		if (required)
			return fail(ps, obj, "\"%s\" is required", key);
		return 0;
	}
	if (!cJSON_IsArray(a))
		return fail(ps, a, "\"%s\" must be an array of strings", key);
	cJSON_ArrayForEach (e, a) {
		if (!cJSON_IsString(e))
			return fail(ps, e, "\"%s\" must be an array of strings", key);
	}
	*out = a;
	return 0;
}

/* The optional string member @key of @obj, or NULL. */
static int string_member(struct parser *ps, const cJSON *obj, const char *key, const cJSON **out)
{
	*out = cJSON_GetObjectItem(obj, key);
	if (*out && !cJSON_IsString(*out))
		return fail(ps, *out, "\"%s\" must be a string", key);
	return 0;
}

static bool valid_name(const char *s, const char *extra)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return false;
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	}
	return true;
}

static int parse_groups(struct parser *ps, const cJSON *groups)
{
	struct policy *p = ps->p;
	const cJSON *g, *u;
	size_t i = 0;

	if (!cJSON_IsObject(groups))
		return fail(ps, groups, "\"groups\" must be an object");
	p->n_groups = (size_t)cJSON_GetArraySize(groups);
	p->groups = array(ps, p->n_groups, sizeof(*p->groups));
	if (!p->groups)
		return oom(ps);
	cJSON_ArrayForEach (g, groups) {
		struct policy_group *grp = &p->groups[i++];
		char why[WHY_MAX];
		size_t k = 0;

		if (strncmp(g->string, "group:", 6) || !valid_name(g->string + 6, "-_."))
			return fail(ps, g,
				    "invalid group name \"%s\": a group is \"group:\" and a "
				    "letter, then "
				    "letters, digits, '-', '_' or '.'",
				    g->string);
		if (!cJSON_IsArray(g))
			return fail(ps, g, "%s: must be an array of users", g->string);
		grp->name = dup(ps, g->string);
		grp->n_users = (size_t)cJSON_GetArraySize(g);
		grp->users = array(ps, grp->n_users, sizeof(*grp->users));
		if (!grp->name || !grp->users)
			return oom(ps);
		cJSON_ArrayForEach (u, g) {
			if (!cJSON_IsString(u))
				return fail(ps, u, "%s: must be an array of users", g->string);
			if (!strncmp(u->valuestring, "group:", 6))
				return fail(ps, u, "%s: nested groups are not allowed (\"%s\")",
					    g->string, u->valuestring);
			if (policy_user_check(u->valuestring, why, sizeof(why)))
				return fail(ps, u, "%s: %s", g->string, why);
			grp->users[k] = dup(ps, u->valuestring);
			if (!grp->users[k++])
				return oom(ps);
		}
	}
	return 0;
}

static int check_tag_name(struct parser *ps, const cJSON *at, const char *tag)
{
	if (strncmp(tag, "tag:", 4))
		return fail(ps, at, "invalid tag name \"%s\": tags start with \"tag:\"", tag);
	if (!valid_name(tag + 4, "-") || strlen(tag) > TAG_MAX)
		return fail(
			ps, at,
			"invalid tag name \"%s\": a tag is \"tag:\" and a letter, then letters, "
			"digits and '-', 64 characters at most",
			tag);
	return 0;
}

#define KIND(k) (1u << (k))

/* Parse the aliases of @list into @out, each of a kind in the mask @allowed. */
static int parse_identity_list(struct parser *ps, const cJSON *list, const char *what,
			       unsigned int allowed, const char *must_be, struct alias **out,
			       size_t *n)
{
	const cJSON *e;
	size_t k = 0;

	*n = (size_t)cJSON_GetArraySize(list);
	*out = array(ps, *n, sizeof(**out));
	if (!*out)
		return oom(ps);
	cJSON_ArrayForEach (e, list) {
		struct alias *a = &(*out)[k++];
		char why[WHY_MAX];
		char *s = dup(ps, e->valuestring);

		if (!s)
			return oom(ps);
		if (policy_alias_parse(ps->p, s, a, why, sizeof(why)))
			return fail(ps, e, "%s: %s", what, why);
		if (!(KIND(a->kind) & allowed))
			return fail(ps, e, "%s: \"%s\" must be %s", what, s, must_be);
	}
	return 0;
}

static int parse_tag_owners(struct parser *ps, const cJSON *owners)
{
	struct policy *p = ps->p;
	const cJSON *t, *e;
	size_t i = 0;
	int ret;

	if (!cJSON_IsObject(owners))
		return fail(ps, owners, "\"tagOwners\" must be an object");
	p->n_tag_owners = (size_t)cJSON_GetArraySize(owners);
	p->tag_owners = array(ps, p->n_tag_owners, sizeof(*p->tag_owners));
	if (!p->tag_owners)
		return oom(ps);
	/* Every tag first: tags may own tags, in any order. */
	cJSON_ArrayForEach (t, owners) {
		ret = check_tag_name(ps, t, t->string);
		if (ret)
			return ret;
		if (!cJSON_IsArray(t))
			return fail(ps, t, "%s: must be an array of owners", t->string);
		cJSON_ArrayForEach (e, t) {
			if (!cJSON_IsString(e))
				return fail(ps, e, "%s: must be an array of owners", t->string);
		}
		p->tag_owners[i].tag = dup(ps, t->string);
		if (!p->tag_owners[i++].tag)
			return oom(ps);
	}
	i = 0;
	cJSON_ArrayForEach (t, owners) {
		struct tag_owner *o = &p->tag_owners[i++];

		ret = parse_identity_list(
			ps, t, o->tag,
			KIND(ALIAS_USER) | KIND(ALIAS_GROUP) | KIND(ALIAS_TAG) | KIND(ALIAS_MEMBER),
			"a user, a group, a tag or autogroup:member", &o->owners, &o->n_owners);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_hosts(struct parser *ps, const cJSON *hosts)
{
	struct policy *p = ps->p;
	const cJSON *h;
	size_t i = 0;

	if (!cJSON_IsObject(hosts))
		return fail(ps, hosts, "\"hosts\" must be an object");
	p->n_hosts = (size_t)cJSON_GetArraySize(hosts);
	p->hosts = array(ps, p->n_hosts, sizeof(*p->hosts));
	if (!p->hosts)
		return oom(ps);
	cJSON_ArrayForEach (h, hosts) {
		struct host *host = &p->hosts[i++];
		char why[WHY_MAX];

		if (!valid_name(h->string, "-_."))
			return fail(
				ps, h,
				"invalid host name \"%s\": a host name is a letter, then letters, "
				"digits, '-', '_' or '.'",
				h->string);
		if (!cJSON_IsString(h))
			return fail(ps, h, "host \"%s\": must be an IP address or a prefix",
				    h->string);
		if (policy_prefix_parse(h->valuestring, &host->prefix, why, sizeof(why)))
			return fail(ps, h, "host \"%s\": %s", h->string, why);
		host->name = dup(ps, h->string);
		if (!host->name)
			return oom(ps);
	}
	return 0;
}

static int parse_src(struct parser *ps, const cJSON *e, struct alias *a)
{
	char why[WHY_MAX];
	char *s = dup(ps, e->valuestring);

	if (!s)
		return oom(ps);
	if (policy_alias_parse(ps->p, s, a, why, sizeof(why)))
		return fail(ps, e, "src=%s", why);
	if (a->kind == ALIAS_SELF || a->kind == ALIAS_INTERNET)
		return fail(ps, e, "\"%s\" not valid on the src side of a rule", s);
	return 0;
}

/*
 * Split "ALIAS:PORTS" at the last ':' ("[IPV6]:PORTS" at "]:") into @alias and
 * @ports, which point into the arena copy of @text. Returns 0, 1 when there is
 * no port part, or 2 for an IPv6 address without brackets.
 */
static int split_dst(char *text, char **alias, char **ports)
{
	char *colon;

	if (text[0] == '[') {
		char *close = strstr(text, "]:");

		if (!close)
			return 1;
		*close = '\0';
		*alias = text + 1;
		*ports = close + 2;
		return 0;
	}
	colon = strrchr(text, ':');
	if (!colon)
		return 1;
	*colon = '\0';
	*alias = text;
	*ports = colon + 1;
	/* "tag:x", "group:x", "autogroup:x" have a colon of their own; an IPv6 address has several. */
	if (strchr(text, ':') && strncmp(text, "tag:", 4) && strncmp(text, "group:", 6) &&
	    strncmp(text, "autogroup:", 10))
		return 2;
	return 0;
}

static int parse_dst(struct parser *ps, const cJSON *e, const struct acl *acl, const char *proto,
		     struct acl_dst *d)
{
	const char *text = e->valuestring;
	char why[WHY_MAX];
	char *copy = dup(ps, text), *alias = NULL, *ports = NULL;
	int ret;

	d->text = dup(ps, text);
	if (!copy || !d->text)
		return oom(ps);
	ret = split_dst(copy, &alias, &ports);
	if (ret == 1)
		return fail(ps, e, "dst=\"%s\": missing port (write \"%s:*\" for every port)", text,
			    text);
	if (ret == 2)
		return fail(ps, e, "dst=\"%s\": an IPv6 address needs brackets: \"[%s]:%s\"", text,
			    alias, ports);
	ret = policy_ports_parse(&ps->p->arena, ports, &d->ports, &d->n_ports, why, sizeof(why));
	if (ret == -ENOMEM)
		return oom(ps);
	if (ret)
		return fail(ps, e, "dst=\"%s\": %s", text, why);
	if (policy_alias_parse(ps->p, alias, &d->alias, why, sizeof(why)))
		return fail(ps, e, "dst=\"%s\": %s", alias, why);
	if (d->alias.kind == ALIAS_DANGER_ALL)
		return fail(ps, e, "\"%s\" not valid on the dst side of a rule", alias);
	/* Only TCP, UDP and SCTP have ports; a rule for another protocol must say ":*". */
	if (proto && !policy_proto_has_ports(acl->protos[0]) &&
	    (d->n_ports != 1 || d->ports[0].first != 0 || d->ports[0].last != 65535))
		return fail(ps, e, "dst=\"%s\": proto=\"%s\" has no ports, use \"%s%s%s:*\"", text,
			    proto, text[0] == '[' ? "[" : "", alias, text[0] == '[' ? "]" : "");
	return 0;
}

/* Tailscale refuses the whole policy when autogroup:self meets a non-identity source. */
static int check_self(struct parser *ps, const cJSON *srcs, const struct acl *acl)
{
	bool self = false;

	for (size_t i = 0; i < acl->n_dsts; i++)
		self |= acl->dsts[i].alias.kind == ALIAS_SELF;
	if (!self)
		return 0;
	for (size_t i = 0; i < acl->n_srcs; i++) {
		enum alias_kind k = acl->srcs[i].kind;

		if (k == ALIAS_TAG || k == ALIAS_TAGGED || k == ALIAS_HOST || k == ALIAS_PREFIX ||
		    k == ALIAS_DANGER_ALL)
			return fail(ps, cJSON_GetArrayItem(srcs, (int)i),
				    "autogroup:self can only be used with users, groups, or "
				    "supported autogroups");
	}
	return 0;
}

static int parse_acl(struct parser *ps, const cJSON *obj, struct acl *acl)
{
	static const char *const keys[] = {"action", "src", "dst", "proto", NULL};
	const cJSON *action, *srcs, *dsts, *proto, *e;
	size_t k;
	int ret;

	if (!cJSON_IsObject(obj))
		return fail(ps, obj, "each entry of \"acls\" must be an object");
	ret = check_keys(ps, obj, keys, NULL);
	if (ret)
		return ret;
	ret = string_member(ps, obj, "action", &action);
	if (ret)
		return ret;
	if (!action || strcmp(action->valuestring, "accept"))
		return fail(ps, action ? action : obj, "action=\"%s\" is not supported",
			    action ? action->valuestring : "");
	ret = string_array(ps, obj, "src", true, &srcs);
	ret = ret ? ret : string_array(ps, obj, "dst", true, &dsts);
	ret = ret ? ret : string_member(ps, obj, "proto", &proto);
	if (ret)
		return ret;

	acl->n_srcs = (size_t)cJSON_GetArraySize(srcs);
	acl->srcs = array(ps, acl->n_srcs, sizeof(*acl->srcs));
	acl->n_dsts = (size_t)cJSON_GetArraySize(dsts);
	acl->dsts = array(ps, acl->n_dsts, sizeof(*acl->dsts));
	if (!acl->srcs || !acl->dsts)
		return oom(ps);
	k = 0;
	cJSON_ArrayForEach (e, srcs) {
		ret = parse_src(ps, e, &acl->srcs[k++]);
		if (ret)
			return ret;
	}
	if (proto) {
		char why[WHY_MAX];

		if (policy_proto_parse(proto->valuestring, &acl->protos[0], why, sizeof(why)))
			return fail(ps, proto, "%s", why);
		acl->n_protos = 1;
	} else {
		static const uint8_t defaults[] = {POLICY_PROTO_TCP, POLICY_PROTO_UDP,
						   POLICY_PROTO_ICMP, POLICY_PROTO_ICMPV6};

		memcpy(acl->protos, defaults, sizeof(defaults));
		acl->n_protos = ARRAY_SIZE(defaults);
	}
	k = 0;
	cJSON_ArrayForEach (e, dsts) {
		ret = parse_dst(ps, e, acl, proto ? proto->valuestring : NULL, &acl->dsts[k++]);
		if (ret)
			return ret;
	}
	return check_self(ps, srcs, acl);
}

static int parse_acls(struct parser *ps, const cJSON *acls)
{
	struct policy *p = ps->p;
	const cJSON *a;
	size_t i = 0;
	int ret;

	if (!cJSON_IsArray(acls))
		return fail(ps, acls, "\"acls\" must be an array");
	p->has_acls = true;
	p->n_acls = (size_t)cJSON_GetArraySize(acls);
	p->acls = array(ps, p->n_acls, sizeof(*p->acls));
	if (!p->acls)
		return oom(ps);
	cJSON_ArrayForEach (a, acls) {
		ret = parse_acl(ps, a, &p->acls[i++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_auto_approvers(struct parser *ps, const cJSON *aa)
{
	static const char *const keys[] = {"routes", "exitNode", NULL};
	static const char *const must_be =
		"a user, a group, a tag, autogroup:member or autogroup:tagged";
	const unsigned int allowed = KIND(ALIAS_USER) | KIND(ALIAS_GROUP) | KIND(ALIAS_TAG) |
				     KIND(ALIAS_MEMBER) | KIND(ALIAS_TAGGED);
	struct policy *p = ps->p;
	const cJSON *routes, *exits, *r, *e;
	size_t i = 0;
	int ret;

	if (!cJSON_IsObject(aa))
		return fail(ps, aa, "\"autoApprovers\" must be an object");
	ret = check_keys(ps, aa, keys, NULL);
	if (ret)
		return ret;
	routes = cJSON_GetObjectItem(aa, "routes");
	if (routes) {
		if (!cJSON_IsObject(routes))
			return fail(ps, routes, "\"routes\" must be an object");
		p->n_route_approvers = (size_t)cJSON_GetArraySize(routes);
		p->route_approvers = array(ps, p->n_route_approvers, sizeof(*p->route_approvers));
		if (!p->route_approvers)
			return oom(ps);
		cJSON_ArrayForEach (r, routes) {
			struct route_approver *ra = &p->route_approvers[i++];
			char why[WHY_MAX];

			if (policy_prefix_parse(r->string, &ra->prefix, why, sizeof(why)))
				return fail(ps, r, "autoApprovers: %s", why);
			if (!cJSON_IsArray(r))
				return fail(ps, r,
					    "autoApprovers: \"%s\" must be an array of approvers",
					    r->string);
			cJSON_ArrayForEach (e, r) {
				if (!cJSON_IsString(e))
					return fail(ps, e,
						    "autoApprovers: \"%s\" must be an array of "
						    "approvers",
						    r->string);
			}
			ret = parse_identity_list(ps, r, r->string, allowed, must_be,
						  &ra->approvers, &ra->n_approvers);
			if (ret)
				return ret;
		}
	}
	ret = string_array(ps, aa, "exitNode", false, &exits);
	if (ret || !exits)
		return ret;
	return parse_identity_list(ps, exits, "exitNode", allowed, must_be, &p->exit_approvers,
				   &p->n_exit_approvers);
}

/* A test's source or destination alias: one that names nodes or one address. */
static int parse_test_alias(struct parser *ps, const cJSON *at, char *s, struct alias *a,
			    const char *what)
{
	char why[WHY_MAX];

	if (policy_alias_parse(ps->p, s, a, why, sizeof(why)))
		return fail(ps, at, "test %s=\"%s\": %s", what, s, why);
	if (a->kind != ALIAS_USER && a->kind != ALIAS_TAG && a->kind != ALIAS_HOST &&
	    a->kind != ALIAS_PREFIX)
		return fail(ps, at, "test %s=\"%s\": must be a user, a tag, a host or an IP", what,
			    s);
	if ((a->kind == ALIAS_HOST || a->kind == ALIAS_PREFIX) &&
	    a->prefix.bits != ip_addr_bits(&a->prefix.addr))
		return fail(ps, at, "test %s=\"%s\": must be one address, not a network", what, s);
	return 0;
}

static int parse_test_dsts(struct parser *ps, const cJSON *list, struct test_dst **out, size_t *n)
{
	const cJSON *e;
	size_t k = 0;
	int ret;

	*n = list ? (size_t)cJSON_GetArraySize(list) : 0;
	*out = array(ps, *n, sizeof(**out));
	if (!*out)
		return oom(ps);
	cJSON_ArrayForEach (e, list) {
		struct test_dst *d = &(*out)[k++];
		char *copy = dup(ps, e->valuestring), *alias = NULL, *port = NULL;
		unsigned long v;
		char *end;

		d->text = dup(ps, e->valuestring);
		if (!copy || !d->text)
			return oom(ps);
		ret = split_dst(copy, &alias, &port);
		if (ret == 1)
			return fail(ps, e, "test dst=\"%s\": missing port", d->text);
		if (ret == 2)
			return fail(ps, e, "test dst=\"%s\": an IPv6 address needs brackets",
				    d->text);
		v = strtoul(port, &end, 10);
		if (!*port || *end || v > 65535 || (port[0] == '0' && port[1]) ||
		    !(port[0] >= '0' && port[0] <= '9'))
			return fail(ps, e, "test dst=\"%s\": invalid port \"%s\"", d->text, port);
		d->port = (uint16_t)v;
		ret = parse_test_alias(ps, e, alias, &d->alias, "dst");
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_test(struct parser *ps, const cJSON *obj, struct policy_case *c)
{
	static const char *const keys[] = {"src", "proto", "accept", "deny", NULL};
	const cJSON *src, *proto, *accept, *deny;
	char why[WHY_MAX];
	char *s;
	int ret;

	if (!cJSON_IsObject(obj))
		return fail(ps, obj, "each entry of \"tests\" must be an object");
	hujson_pos(ps->doc, obj, &c->line, &c->col);
	ret = check_keys(ps, obj, keys, NULL);
	ret = ret ? ret : string_member(ps, obj, "src", &src);
	ret = ret ? ret : string_member(ps, obj, "proto", &proto);
	ret = ret ? ret : string_array(ps, obj, "accept", false, &accept);
	ret = ret ? ret : string_array(ps, obj, "deny", false, &deny);
	if (ret)
		return ret;
	if (!src)
		return fail(ps, obj, "\"src\" is required");
	s = dup(ps, src->valuestring);
	c->proto_text = dup(ps, proto ? proto->valuestring : "tcp");
	if (!s || !c->proto_text)
		return oom(ps);
	c->src_text = s;
	ret = parse_test_alias(ps, src, s, &c->src, "src");
	if (ret)
		return ret;
	if (policy_proto_parse(c->proto_text, &c->proto, why, sizeof(why)))
		return fail(ps, proto, "%s", why);
	ret = parse_test_dsts(ps, accept, &c->accept, &c->n_accept);
	return ret ? ret : parse_test_dsts(ps, deny, &c->deny, &c->n_deny);
}

static int parse_tests(struct parser *ps, const cJSON *tests)
{
	struct policy *p = ps->p;
	const cJSON *t;
	size_t i = 0;
	int ret;

	if (!cJSON_IsArray(tests))
		return fail(ps, tests, "\"tests\" must be an array");
	p->n_cases = (size_t)cJSON_GetArraySize(tests);
	p->cases = array(ps, p->n_cases, sizeof(*p->cases));
	if (!p->cases)
		return oom(ps);
	cJSON_ArrayForEach (t, tests) {
		ret = parse_test(ps, t, &p->cases[i++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_root(struct parser *ps, const cJSON *root)
{
	static const char *const keys[] = {"acls",	    "groups", "tagOwners", "hosts",
					   "autoApprovers", "tests",  NULL};
	static const char *const unsupported[] = {
		"grants",
		"ssh",
		"sshTests",
		"nodeAttrs",
		"postures",
		"ipsets",
		"derpMap",
		"defaultSrcPosture",
		"randomizeClientPort",
		"disableIPv4",
		"OneCGNATRoute",
		NULL,
	};
	static const struct {
		const char *key;
		int (*parse)(struct parser *ps, const cJSON *section);
	} sections[] = {
		{"groups", parse_groups},
		{"tagOwners", parse_tag_owners},
		{"hosts", parse_hosts},
		{"acls", parse_acls},
		{"autoApprovers", parse_auto_approvers},
		{"tests", parse_tests},
	};
	int ret;

	if (!cJSON_IsObject(root))
		return fail(ps, root, "the policy must be a JSON object");
	ret = check_keys(ps, root, keys, unsupported);
	if (ret)
		return ret;
	/* Dependency order: what the later sections refer to comes first. */
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		const cJSON *s = cJSON_GetObjectItem(root, sections[i].key);

		if (!s)
			continue;
		ret = sections[i].parse(ps, s);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_doc(struct policy **out, const struct hujson_doc *doc, struct policy_error *err)
{
	struct parser ps = {.doc = doc, .err = err};
	int ret;

	ps.p = calloc(1, sizeof(*ps.p));
	if (!ps.p)
		return oom(&ps);
	ret = parse_root(&ps, hujson_root(doc));
	if (ret) {
		policy_free(ps.p);
		return ret;
	}
	*out = ps.p;
	return 0;
}

static void copy_hujson_error(struct policy_error *err, const struct hujson_error *herr)
{
	if (!err)
		return;
	err->line = herr->line;
	err->col = herr->col;
	snprintf(err->msg, sizeof(err->msg), "%s", herr->msg);
}

int policy_parse(struct policy **out, const char *text, size_t len, struct policy_error *err)
{
	struct hujson_error herr = {0};
	struct hujson_doc *doc = NULL;
	int ret;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	ret = hujson_parse(&doc, text, len, 0, &herr);
	if (ret) {
		copy_hujson_error(err, &herr);
		return ret;
	}
	ret = parse_doc(out, doc, err);
	hujson_free(doc);
	return ret;
}

int policy_parse_file(struct policy **out, const char *path, struct policy_error *err)
{
	struct hujson_error herr = {0};
	struct hujson_doc *doc = NULL;
	int ret;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	ret = hujson_parse_file(&doc, path, 0, &herr);
	if (ret) {
		copy_hujson_error(err, &herr);
		return ret;
	}
	ret = parse_doc(out, doc, err);
	hujson_free(doc);
	return ret;
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	policy_arena_destroy(p->arena);
	free(p);
}

bool policy_allows_all(const struct policy *p)
{
	return !p || !p->has_acls;
}

size_t policy_test_count(const struct policy *p)
{
	return p ? p->n_cases : 0;
}
