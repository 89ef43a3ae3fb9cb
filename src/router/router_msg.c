// SPDX-License-Identifier: MIT
/*
 * rtnetlink request builders and reply parsers (no I/O), on libmnl's message
 * helpers. Every attribute put is bounds-checked against the caller's buffer;
 * every attribute read is length-checked before its payload is touched.
 */
#include "router/router_msg.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <limits.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>

/* Largest attribute type any parser below looks at, so one table size fits all. */
enum msg_attr_limits {
	ATTR_TABLE_SIZE = 64,
};

_Static_assert((int)RTA_MAX < (int)ATTR_TABLE_SIZE && (int)IFA_MAX < (int)ATTR_TABLE_SIZE &&
		       (int)FRA_MAX < (int)ATTR_TABLE_SIZE &&
		       (int)NLMSGERR_ATTR_MAX < (int)ATTR_TABLE_SIZE &&
		       (int)IFLA_MTU < (int)ATTR_TABLE_SIZE &&
		       (int)IFLA_IFNAME < (int)ATTR_TABLE_SIZE,
	       "attribute table too small");

static int family_to_af(uint8_t family)
{
	switch (family) {
	case IP_FAMILY_V4:
		return AF_INET;
	case IP_FAMILY_V6:
		return AF_INET6;
	default:
		return AF_UNSPEC;
	}
}

static uint8_t af_to_family(int af)
{
	switch (af) {
	case AF_INET:
		return IP_FAMILY_V4;
	case AF_INET6:
		return IP_FAMILY_V6;
	default:
		return IP_FAMILY_UNSET;
	}
}

static size_t family_len(uint8_t family)
{
	return family == IP_FAMILY_V4 ? 4 : family == IP_FAMILY_V6 ? 16 : 0;
}

/* A request header plus a zeroed family header of @extra bytes, or NULL if it does not fit. */
static struct nlmsghdr *put_header(void *buf, size_t size, uint16_t type, uint16_t flags,
				   size_t extra)
{
	struct nlmsghdr *nlh;

	if (!buf || size < MNL_NLMSG_HDRLEN + MNL_ALIGN(extra))
		return NULL;
	memset(buf, 0, MNL_NLMSG_HDRLEN + MNL_ALIGN(extra));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	mnl_nlmsg_put_extra_header(nlh, extra);
	return nlh;
}

static bool put_u32(struct nlmsghdr *nlh, size_t size, uint16_t type, uint32_t v)
{
	return mnl_attr_put_u32_check(nlh, size, type, v);
}

static bool put_addr(struct nlmsghdr *nlh, size_t size, uint16_t type, const struct ip_addr *a)
{
	return mnl_attr_put_check(nlh, size, type, family_len(a->family), a->bytes);
}

struct nlmsghdr *router_msg_link_get(void *buf, size_t size, const char *name)
{
	struct nlmsghdr *nlh;

	if (!name || !name[0] || strnlen(name, IFNAMSIZ) >= IFNAMSIZ)
		return NULL;
	nlh = put_header(buf, size, RTM_GETLINK, 0, sizeof(struct ifinfomsg));
	if (!nlh || !mnl_attr_put_strz_check(nlh, size, IFLA_IFNAME, name))
		return NULL;
	return nlh;
}

struct nlmsghdr *router_msg_link_set(void *buf, size_t size, int ifindex, int up, unsigned int mtu)
{
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (ifindex <= 0)
		return NULL;
	nlh = put_header(buf, size, RTM_NEWLINK, 0, sizeof(*ifi));
	if (!nlh)
		return NULL;
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (up >= 0) {
		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = up ? IFF_UP : 0;
	}
	if (mtu && !put_u32(nlh, size, IFLA_MTU, mtu))
		return NULL;
	return nlh;
}

struct nlmsghdr *router_msg_addr(void *buf, size_t size, bool add, int ifindex,
				 const struct ip_prefix *p)
{
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	uint32_t flags = 0;

	if (ifindex <= 0 || !p || !family_len(p->addr.family) || p->bits > ip_addr_bits(&p->addr))
		return NULL;
	nlh = put_header(buf, size, add ? RTM_NEWADDR : RTM_DELADDR,
			 add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*ifa));
	if (!nlh)
		return NULL;
	if (p->addr.family == IP_FAMILY_V6)
		flags |= IFA_F_NODAD;
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_family = (uint8_t)family_to_af(p->addr.family);
	ifa->ifa_prefixlen = p->bits;
	ifa->ifa_flags = (uint8_t)flags;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	if (!put_addr(nlh, size, IFA_LOCAL, &p->addr) ||
	    !put_addr(nlh, size, IFA_ADDRESS, &p->addr))
		return NULL;
	if (add && !put_u32(nlh, size, IFA_FLAGS, flags))
		return NULL;
	return nlh;
}

static const uint8_t route_types[] = {
	[ROUTER_ROUTE_UNICAST] = RTN_UNICAST,
	[ROUTER_ROUTE_THROW] = RTN_THROW,
	[ROUTER_ROUTE_BLACKHOLE] = RTN_BLACKHOLE,
	[ROUTER_ROUTE_UNREACHABLE] = RTN_UNREACHABLE,
};

static bool route_valid(const struct router_route *r)
{
	uint8_t fam = r->dst.addr.family;

	if (!family_len(fam) || !ip_prefix_is_canonical(&r->dst) || !r->table)
		return false;
	if (r->type > ROUTER_ROUTE_UNREACHABLE || r->ifindex < 0)
		return false;
	if (r->gateway.family && r->gateway.family != fam)
		return false;
	if (r->src.family && r->src.family != fam)
		return false;
	/* Only a unicast route has a next hop; the others must not name one. */
	if (r->type == ROUTER_ROUTE_UNICAST)
		return r->ifindex || r->gateway.family;
	return !r->ifindex && !r->gateway.family;
}

struct nlmsghdr *router_msg_route(void *buf, size_t size, bool add, const struct router_route *r)
{
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!r || !route_valid(r))
		return NULL;
	nlh = put_header(buf, size, add ? RTM_NEWROUTE : RTM_DELROUTE,
			 add ? NLM_F_CREATE | NLM_F_REPLACE : 0, sizeof(*rtm));
	if (!nlh)
		return NULL;
	rtm = mnl_nlmsg_get_payload(nlh);
	rtm->rtm_family = (uint8_t)family_to_af(r->dst.addr.family);
	rtm->rtm_dst_len = r->dst.bits;
	rtm->rtm_table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	rtm->rtm_protocol = ROUTER_PROTO;
	rtm->rtm_type = route_types[r->type];
	/* A delete names no scope (RT_SCOPE_NOWHERE: any); a device route is link-scoped. */
	if (!add)
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	else if (r->type == ROUTER_ROUTE_UNICAST && !r->gateway.family)
		rtm->rtm_scope = RT_SCOPE_LINK;
	else
		rtm->rtm_scope = RT_SCOPE_UNIVERSE;
	if (!put_u32(nlh, size, RTA_TABLE, r->table) || !put_addr(nlh, size, RTA_DST, &r->dst.addr))
		return NULL;
	if (r->ifindex && !put_u32(nlh, size, RTA_OIF, (uint32_t)r->ifindex))
		return NULL;
	if (r->gateway.family && !put_addr(nlh, size, RTA_GATEWAY, &r->gateway))
		return NULL;
	if (r->src.family && !put_addr(nlh, size, RTA_PREFSRC, &r->src))
		return NULL;
	if (r->metric && !put_u32(nlh, size, RTA_PRIORITY, r->metric))
		return NULL;
	return nlh;
}

struct nlmsghdr *router_msg_rule(void *buf, size_t size, bool add, const struct router_rule *r)
{
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;

	if (!r || !family_len(r->family) || r->action > ROUTER_RULE_UNREACHABLE)
		return NULL;
	if (r->action == ROUTER_RULE_LOOKUP && !r->table)
		return NULL;
	if (r->fwmark & ~r->fwmask)
		return NULL; /* bits outside the mask can never match */
	nlh = put_header(buf, size, add ? RTM_NEWRULE : RTM_DELRULE,
			 add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*frh));
	if (!nlh)
		return NULL;
	frh = mnl_nlmsg_get_payload(nlh);
	frh->family = (uint8_t)family_to_af(r->family);
	if (r->action == ROUTER_RULE_LOOKUP) {
		frh->action = FR_ACT_TO_TBL;
		frh->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	} else {
		frh->action = FR_ACT_UNREACHABLE;
	}
	if (!put_u32(nlh, size, FRA_PRIORITY, r->priority))
		return NULL;
	if (r->action == ROUTER_RULE_LOOKUP && !put_u32(nlh, size, FRA_TABLE, r->table))
		return NULL;
	if (r->fwmask && (!put_u32(nlh, size, FRA_FWMARK, r->fwmark) ||
			  !put_u32(nlh, size, FRA_FWMASK, r->fwmask)))
		return NULL;
	if (!mnl_attr_put_check(nlh, size, FRA_PROTOCOL, 1, &(uint8_t){ROUTER_PROTO}))
		return NULL;
	return nlh;
}

struct nlmsghdr *router_msg_dump(void *buf, size_t size, uint16_t type)
{
	size_t extra;

	switch (type) {
	case RTM_GETLINK:
		extra = sizeof(struct ifinfomsg);
		break;
	case RTM_GETADDR:
		extra = sizeof(struct ifaddrmsg);
		break;
	case RTM_GETROUTE:
		extra = sizeof(struct rtmsg);
		break;
	case RTM_GETRULE:
		extra = sizeof(struct fib_rule_hdr);
		break;
	default:
		return NULL;
	}
	/* The zeroed family header asks for AF_UNSPEC: every family. */
	return put_header(buf, size, type, NLM_F_DUMP, extra);
}

/* --- parsing ---------------------------------------------------------------------------- */

/* The attribute at @off of the @end bytes at @base, if a whole one starts there; else NULL. */
static const struct nlattr *attr_at(const void *base, size_t off, size_t end)
{
	const struct nlattr *attr;

	if (off >= end || end - off < sizeof(*attr) || end - off > INT_MAX)
		return NULL;
	attr = (const void *)((const char *)base + off);
	return mnl_attr_ok(attr, (int)(end - off)) ? attr : NULL;
}

/* One whole message in @len bytes (mnl_nlmsg_ok() casts nlmsg_len to int: 2^31 and up pass). */
static bool msg_ok(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;

	return buf && len >= MNL_NLMSG_HDRLEN && nlh->nlmsg_len >= MNL_NLMSG_HDRLEN &&
	       nlh->nlmsg_len <= len;
}

/*
 * Checks that @buf holds one whole message of @type with a family header of
 * @extra bytes and fills @tb with its attributes (later duplicates win, as in
 * the kernel; unknown types are ignored).
 */
static const struct nlmsghdr *msg_check(const void *buf, size_t len, uint16_t type, size_t extra,
					const struct nlattr **tb)
{
	const struct nlmsghdr *nlh = buf;
	const struct nlattr *attr;
	size_t off;

	memset(tb, 0, sizeof(*tb) * ATTR_TABLE_SIZE);
	if (!msg_ok(buf, len))
		return NULL;
	if (nlh->nlmsg_type != type || nlh->nlmsg_len < MNL_NLMSG_HDRLEN + MNL_ALIGN(extra))
		return NULL;
	off = MNL_NLMSG_HDRLEN + MNL_ALIGN(extra);
	for (; (attr = attr_at(nlh, off, nlh->nlmsg_len)); off += MNL_ALIGN(attr->nla_len)) {
		uint16_t t = mnl_attr_get_type(attr);

		if (t < ATTR_TABLE_SIZE)
			tb[t] = attr;
	}
	return nlh;
}

static int attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (mnl_attr_get_payload_len(a) != sizeof(*v))
		return -EINVAL;
	*v = mnl_attr_get_u32(a);
	return 0;
}

static int attr_addr(const struct nlattr *a, uint8_t family, struct ip_addr *out)
{
	size_t n = family_len(family);

	if (!n || mnl_attr_get_payload_len(a) != n)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->bytes, mnl_attr_get_payload(a), n);
	return 0;
}

int router_msg_parse_link(const void *buf, size_t len, struct router_link *out)
{
	const struct nlattr *tb[ATTR_TABLE_SIZE];
	const struct nlmsghdr *nlh;
	const struct ifinfomsg *ifi;
	const char *name;
	uint16_t n;

	nlh = msg_check(buf, len, RTM_NEWLINK, sizeof(*ifi), tb);
	if (!nlh)
		return -EINVAL;
	ifi = mnl_nlmsg_get_payload(nlh);
	memset(out, 0, sizeof(*out));
	if (ifi->ifi_index <= 0)
		return -EINVAL;
	out->ifindex = ifi->ifi_index;
	out->up = ifi->ifi_flags & IFF_UP;
	if (tb[IFLA_MTU] && attr_u32(tb[IFLA_MTU], &out->mtu))
		return -EINVAL;
	if (tb[IFLA_IFNAME]) {
		name = mnl_attr_get_payload(tb[IFLA_IFNAME]);
		n = mnl_attr_get_payload_len(tb[IFLA_IFNAME]);
		/* The kernel sends the name with its NUL: refuse any without one in IFNAMSIZ. */
		if (n == 0 || strnlen(name, n) >= n || strnlen(name, n) >= IFNAMSIZ)
			return -EINVAL;
		memcpy(out->name, name, strnlen(name, n));
	}
	return 0;
}

int router_msg_parse_addr(const void *buf, size_t len, int *ifindex, struct ip_prefix *out)
{
	const struct nlattr *tb[ATTR_TABLE_SIZE];
	const struct nlmsghdr *nlh;
	const struct ifaddrmsg *ifa;
	const struct nlattr *a;
	uint8_t family;

	nlh = msg_check(buf, len, RTM_NEWADDR, sizeof(*ifa), tb);
	if (!nlh)
		return -EINVAL;
	ifa = mnl_nlmsg_get_payload(nlh);
	memset(out, 0, sizeof(*out));
	family = af_to_family(ifa->ifa_family);
	if (!family)
		return -EAFNOSUPPORT;
	if (ifa->ifa_index == 0 || ifa->ifa_index > INT_MAX)
		return -EINVAL;
	if (ifa->ifa_prefixlen > family_len(family) * 8)
		return -EINVAL;
	/* IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || attr_addr(a, family, &out->addr))
		return -EINVAL;
	out->bits = ifa->ifa_prefixlen;
	*ifindex = (int)ifa->ifa_index;
	return 0;
}

static uint8_t route_type_from_kernel(uint8_t t)
{
	switch (t) {
	case RTN_UNICAST:
		return ROUTER_ROUTE_UNICAST;
	case RTN_THROW:
		return ROUTER_ROUTE_THROW;
	case RTN_BLACKHOLE:
		return ROUTER_ROUTE_BLACKHOLE;
	case RTN_UNREACHABLE:
		return ROUTER_ROUTE_UNREACHABLE;
	default:
		return ROUTER_ROUTE_OTHER;
	}
}

/* The first hop of an RTA_MULTIPATH attribute: its interface and gateway. */
static int parse_first_hop(const struct nlattr *mp, struct router_route *out)
{
	const struct rtnexthop *nh = mnl_attr_get_payload(mp);
	uint16_t len = mnl_attr_get_payload_len(mp);
	const struct nlattr *attr;
	size_t off;

	if (len < sizeof(*nh) || nh->rtnh_len < sizeof(*nh) || nh->rtnh_len > len)
		return -EINVAL;
	out->ifindex = nh->rtnh_ifindex;
	off = MNL_ALIGN(sizeof(*nh));
	/* Attributes of the hop follow its header, inside rtnh_len. */
	for (; (attr = attr_at(nh, off, nh->rtnh_len)); off += MNL_ALIGN(attr->nla_len)) {
		if (mnl_attr_get_type(attr) == RTA_GATEWAY &&
		    attr_addr(attr, out->dst.addr.family, &out->gateway))
			return -EINVAL;
	}
	return 0;
}

int router_msg_parse_route(const void *buf, size_t len, struct router_route *out)
{
	const struct nlattr *tb[ATTR_TABLE_SIZE];
	const struct nlmsghdr *nlh;
	const struct rtmsg *rtm;
	uint32_t oif;
	uint8_t family;

	nlh = msg_check(buf, len, RTM_NEWROUTE, sizeof(*rtm), tb);
	if (!nlh)
		return -EINVAL;
	rtm = mnl_nlmsg_get_payload(nlh);
	memset(out, 0, sizeof(*out));
	family = af_to_family(rtm->rtm_family);
	if (!family)
		return -EAFNOSUPPORT;
	if (rtm->rtm_dst_len > family_len(family) * 8)
		return -EINVAL;
	out->dst.addr.family = family;
	out->dst.bits = rtm->rtm_dst_len;
	out->type = route_type_from_kernel(rtm->rtm_type);
	out->protocol = rtm->rtm_protocol;
	out->table = rtm->rtm_table;
	if (tb[RTA_TABLE] && attr_u32(tb[RTA_TABLE], &out->table))
		return -EINVAL;
	if (tb[RTA_DST] && attr_addr(tb[RTA_DST], family, &out->dst.addr))
		return -EINVAL;
	if (tb[RTA_OIF]) {
		if (attr_u32(tb[RTA_OIF], &oif) || oif > INT_MAX)
			return -EINVAL;
		out->ifindex = (int)oif;
	}
	if (tb[RTA_GATEWAY] && attr_addr(tb[RTA_GATEWAY], family, &out->gateway))
		return -EINVAL;
	if (tb[RTA_PREFSRC] && attr_addr(tb[RTA_PREFSRC], family, &out->src))
		return -EINVAL;
	if (tb[RTA_PRIORITY] && attr_u32(tb[RTA_PRIORITY], &out->metric))
		return -EINVAL;
	if (tb[RTA_MULTIPATH] && !out->ifindex && parse_first_hop(tb[RTA_MULTIPATH], out))
		return -EINVAL;
	return 0;
}

int router_msg_parse_rule(const void *buf, size_t len, struct router_rule *out)
{
	const struct nlattr *tb[ATTR_TABLE_SIZE];
	const struct nlmsghdr *nlh;
	const struct fib_rule_hdr *frh;

	nlh = msg_check(buf, len, RTM_NEWRULE, sizeof(*frh), tb);
	if (!nlh)
		return -EINVAL;
	frh = mnl_nlmsg_get_payload(nlh);
	memset(out, 0, sizeof(*out));
	out->family = af_to_family(frh->family);
	if (!out->family)
		return -EAFNOSUPPORT;
	out->action = frh->action == FR_ACT_TO_TBL	  ? ROUTER_RULE_LOOKUP
		      : frh->action == FR_ACT_UNREACHABLE ? ROUTER_RULE_UNREACHABLE
							  : ROUTER_RULE_OTHER;
	out->table = frh->table;
	if (tb[FRA_TABLE] && attr_u32(tb[FRA_TABLE], &out->table))
		return -EINVAL;
	if (tb[FRA_PRIORITY] && attr_u32(tb[FRA_PRIORITY], &out->priority))
		return -EINVAL;
	if (tb[FRA_FWMARK]) {
		if (attr_u32(tb[FRA_FWMARK], &out->fwmark))
			return -EINVAL;
		out->fwmask = UINT32_MAX; /* the kernel's default when no mask is given */
	}
	if (tb[FRA_FWMASK] && attr_u32(tb[FRA_FWMASK], &out->fwmask))
		return -EINVAL;
	if (tb[FRA_PROTOCOL]) {
		if (mnl_attr_get_payload_len(tb[FRA_PROTOCOL]) != 1)
			return -EINVAL;
		out->protocol = mnl_attr_get_u8(tb[FRA_PROTOCOL]);
	}
	return 0;
}

int router_msg_parse_error(const void *buf, size_t len, int *error, char *msg, size_t msglen)
{
	const struct nlmsghdr *nlh = buf;
	const struct nlmsgerr *e;
	const struct nlattr *attr;
	size_t payload, off;
	const char *text;
	uint16_t n;

	if (msg && msglen)
		msg[0] = '\0';
	if (!msg_ok(buf, len))
		return -EINVAL;
	if (nlh->nlmsg_type != NLMSG_ERROR)
		return -EINVAL;
	payload = mnl_nlmsg_get_payload_len(nlh);
	if (payload < sizeof(*e))
		return -EINVAL;
	e = mnl_nlmsg_get_payload(nlh);
	if (e->error > 0 || e->error < -4095)
		return -EINVAL;
	*error = e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return 0;
	/*
	 * The TLVs follow the echoed request: only its header when the ack was
	 * capped (NETLINK_CAP_ACK, or always for a success), else all of it.
	 */
	if (nlh->nlmsg_flags & NLM_F_CAPPED) {
		off = sizeof(*e);
	} else {
		if (e->msg.nlmsg_len < MNL_NLMSG_HDRLEN)
			return -EINVAL;
		off = offsetof(struct nlmsgerr, msg) + MNL_ALIGN((size_t)e->msg.nlmsg_len);
	}
	if (off > payload)
		return -EINVAL;
	for (; (attr = attr_at(e, off, payload)); off += MNL_ALIGN(attr->nla_len)) {
		if (mnl_attr_get_type(attr) != NLMSGERR_ATTR_MSG)
			continue;
		text = mnl_attr_get_payload(attr);
		n = mnl_attr_get_payload_len(attr);
		if (msg && msglen) {
			size_t tl = strnlen(text, n);

			if (tl >= msglen)
				tl = msglen - 1;
			memcpy(msg, text, tl);
			msg[tl] = '\0';
		}
	}
	return 0;
}
