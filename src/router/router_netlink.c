// SPDX-License-Identifier: MIT
/*
 * rtnetlink I/O for the router: one blocking libmnl socket, request/ack
 * exchanges bounded by a deadline, dumps collected whole (and rerun when the
 * kernel flags them interrupted) before anything acts on them, because a
 * request cannot be sent on the socket while a dump is still streaming in.
 */
#include "router/router_netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* A request buffer aligned for the header it starts with. */
#define REQ_BUF(name) _Alignas(struct nlmsghdr) char name[ROUTER_MSG_MAX]

typedef int (*msg_fn)(const struct nlmsghdr *nlh, void *data);

/* Messages of one dump, copied back to back (each at an aligned offset). */
struct msg_list {
	char *data;
	size_t len, cap;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int router_nl_open(struct router_nl *nl)
{
	int one = 1, ret;

	memset(nl, 0, sizeof(*nl));
	nl->buf = malloc(ROUTER_NL_RECV_SIZE);
	if (!nl->buf)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock) {
		ret = -errno;
		goto err_free;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto err_close;
	}
	/* Both are optional (older kernels): without them errors just carry no text. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	nl->timeout_ms = ROUTER_NL_TIMEOUT_MS;
	return 0;

err_close:
	mnl_socket_close(nl->sock);
	nl->sock = NULL;
err_free:
	free(nl->buf);
	nl->buf = NULL;
	return ret;
}

void router_nl_close(struct router_nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
	free(nl->buf);
	nl->buf = NULL;
}

const char *router_nl_error(const struct router_nl *nl)
{
	return nl->err;
}

static int set_timeout(struct router_nl *nl, int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/* The error an NLMSG_DONE carries (a dump that failed part way), 0 if none. */
static int done_error(const struct nlmsghdr *nlh)
{
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(err))
		return 0;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	return err < 0 && err >= -4095 ? err : 0;
}

/*
 * Sends @req and reads until its ack (NLMSG_ERROR) or, for a @dump, its
 * NLMSG_DONE. (Whether @req is a dump cannot be told from its flags: a
 * create's NLM_F_EXCL is a dump's NLM_F_MATCH.) Data messages of this request
 * go to @fn (may be NULL); replies to earlier requests that timed out are
 * recognised by their sequence number and skipped. Returns the kernel's
 * result, @fn's first error, -EINTR for a dump the kernel marked
 * inconsistent, or -ETIMEDOUT.
 */
static int transact(struct router_nl *nl, struct nlmsghdr *req, bool dump, msg_fn fn, void *data)
{
	bool intr = false;
	int64_t deadline, left;
	int ret = 0, fn_ret = 0;
	uint32_t seq;

	nl->err[0] = '\0';
	if (!nl->sock)
		return -EBADF;
	seq = ++nl->seq;
	req->nlmsg_seq = seq;
	if (!dump)
		req->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	deadline = now_ms() + nl->timeout_ms;
	for (;;) {
		const struct nlmsghdr *msg;
		ssize_t n;
		int len;

		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		ret = set_timeout(nl, left);
		if (ret)
			return ret;
		n = mnl_socket_recvfrom(nl->sock, nl->buf, ROUTER_NL_RECV_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		len = (int)n;
		for (msg = (const void *)nl->buf; mnl_nlmsg_ok(msg, len);
		     msg = mnl_nlmsg_next(msg, &len)) {
			if (msg->nlmsg_seq != seq ||
			    (msg->nlmsg_pid && msg->nlmsg_pid != nl->portid))
				continue;
			if (msg->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			switch (msg->nlmsg_type) {
			case NLMSG_NOOP:
				break;
			case NLMSG_DONE:
				ret = done_error(msg);
				goto out;
			case NLMSG_ERROR:
				if (router_msg_parse_error(msg, msg->nlmsg_len, &ret, nl->err,
							   sizeof(nl->err)))
					ret = -EPROTO;
				goto out;
			default:
				if (fn && !fn_ret)
					fn_ret = fn(msg, data);
				break;
			}
		}
	}
out:
	if (!ret)
		ret = fn_ret;
	if (!ret && dump && intr)
		ret = -EINTR;
	return ret;
}

static int collect(const struct nlmsghdr *nlh, void *data)
{
	struct msg_list *l = data;
	size_t need = MNL_ALIGN(nlh->nlmsg_len);

	if (l->cap - l->len < need) {
		size_t cap = l->cap ? l->cap : 8192;
		char *p;

		while (cap - l->len < need)
			cap *= 2;
		p = realloc(l->data, cap);
		if (!p)
			return -ENOMEM;
		l->data = p;
		l->cap = cap;
	}
	memset(l->data + l->len, 0, need);
	memcpy(l->data + l->len, nlh, nlh->nlmsg_len);
	l->len += need;
	return 0;
}

/* Runs a dump of @type (both families) into @l, again if the kernel says it was interrupted. */
static int dump(struct router_nl *nl, uint16_t type, struct msg_list *l)
{
	REQ_BUF(buf);
	struct nlmsghdr *req;
	int ret = -EINTR;

	for (int i = 0; i < ROUTER_NL_DUMP_RETRIES && ret == -EINTR; i++) {
		l->len = 0;
		req = router_msg_dump(buf, sizeof(buf), type);
		if (!req)
			return -EINVAL;
		ret = transact(nl, req, true, collect, l);
	}
	return ret;
}

static struct nlmsghdr *list_next(const struct msg_list *l, size_t *off)
{
	struct nlmsghdr *nlh;

	if (*off >= l->len)
		return NULL;
	nlh = (void *)(l->data + *off);
	*off += MNL_ALIGN(nlh->nlmsg_len);
	return nlh;
}

static int simple(struct router_nl *nl, struct nlmsghdr *req)
{
	if (!req)
		return -EINVAL;
	return transact(nl, req, false, NULL, NULL);
}

/* --- links ------------------------------------------------------------------------------ */

static int take_link(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	return router_msg_parse_link(nlh, nlh->nlmsg_len, data) ? -EPROTO : 0;
}

int router_nl_link_get(struct router_nl *nl, const char *name, struct router_link *out)
{
	REQ_BUF(buf);
	struct router_link link = {0};
	struct nlmsghdr *req;
	int ret;

	req = router_msg_link_get(buf, sizeof(buf), name);
	if (!req)
		return -EINVAL;
	ret = transact(nl, req, false, take_link, &link);
	if (ret)
		return ret;
	if (link.ifindex <= 0)
		return -ENODEV;
	if (out)
		*out = link;
	return link.ifindex;
}

int router_nl_link_index(struct router_nl *nl, const char *name)
{
	return router_nl_link_get(nl, name, NULL);
}

int router_nl_link_set_up(struct router_nl *nl, int ifindex, bool up)
{
	REQ_BUF(buf);

	return simple(nl, router_msg_link_set(buf, sizeof(buf), ifindex, up ? 1 : 0, 0));
}

int router_nl_link_set_mtu(struct router_nl *nl, int ifindex, unsigned int mtu)
{
	REQ_BUF(buf);

	if (mtu == 0)
		return -EINVAL;
	return simple(nl, router_msg_link_set(buf, sizeof(buf), ifindex, -1, mtu));
}

/* --- addresses -------------------------------------------------------------------------- */

int router_nl_addr_add(struct router_nl *nl, int ifindex, const struct ip_prefix *p)
{
	REQ_BUF(buf);
	int ret;

	ret = simple(nl, router_msg_addr(buf, sizeof(buf), true, ifindex, p));
	return ret == -EEXIST ? 0 : ret;
}

int router_nl_addr_del(struct router_nl *nl, int ifindex, const struct ip_prefix *p)
{
	REQ_BUF(buf);
	int ret;

	ret = simple(nl, router_msg_addr(buf, sizeof(buf), false, ifindex, p));
	if (ret == -EADDRNOTAVAIL || ret == -ENOENT || ret == -ENODEV)
		return 0;
	return ret;
}

int router_nl_addr_list(struct router_nl *nl, int ifindex, struct ip_prefix *out, size_t max)
{
	struct msg_list l = {0};
	struct nlmsghdr *nlh;
	struct ip_prefix p;
	size_t off = 0, n = 0;
	int ret, idx;

	ret = dump(nl, RTM_GETADDR, &l);
	if (ret)
		goto out;
	while ((nlh = list_next(&l, &off))) {
		ret = router_msg_parse_addr(nlh, nlh->nlmsg_len, &idx, &p);
		if (ret == -EAFNOSUPPORT)
			continue;
		if (ret) {
			ret = -EPROTO;
			goto out;
		}
		if (ifindex && idx != ifindex)
			continue;
		if (n < max)
			out[n] = p;
		n++;
	}
	ret = n > INT32_MAX ? -EOVERFLOW : (int)n;
out:
	free(l.data);
	return ret;
}

/* --- routes ----------------------------------------------------------------------------- */

int router_nl_route_add(struct router_nl *nl, const struct router_route *r)
{
	REQ_BUF(buf);

	return simple(nl, router_msg_route(buf, sizeof(buf), true, r));
}

int router_nl_route_del(struct router_nl *nl, const struct router_route *r)
{
	REQ_BUF(buf);
	int ret;

	ret = simple(nl, router_msg_route(buf, sizeof(buf), false, r));
	/* IPv4 and IPv6 say "no such route" with ESRCH; a gone interface took its routes along. */
	if (ret == -ESRCH || ret == -ENOENT || ret == -ENODEV)
		return 0;
	return ret;
}

int router_nl_route_list(struct router_nl *nl, uint32_t table, struct router_route *out, size_t max)
{
	struct msg_list l = {0};
	struct router_route r;
	struct nlmsghdr *nlh;
	size_t off = 0, n = 0;
	int ret;

	ret = dump(nl, RTM_GETROUTE, &l);
	if (ret)
		goto out;
	while ((nlh = list_next(&l, &off))) {
		ret = router_msg_parse_route(nlh, nlh->nlmsg_len, &r);
		if (ret == -EAFNOSUPPORT)
			continue;
		if (ret) {
			ret = -EPROTO;
			goto out;
		}
		if (r.table != table)
			continue;
		if (n < max)
			out[n] = r;
		n++;
	}
	ret = n > INT32_MAX ? -EOVERFLOW : (int)n;
out:
	free(l.data);
	return ret;
}

int router_nl_route_flush_table(struct router_nl *nl, uint32_t table)
{
	struct msg_list l = {0};
	struct router_route r;
	struct nlmsghdr *nlh;
	size_t off = 0;
	int ret, removed = 0;

	if (table == 0 || table == ROUTER_TABLE_MAIN || table == ROUTER_TABLE_DEFAULT ||
	    table == ROUTER_TABLE_LOCAL)
		return -EINVAL;
	ret = dump(nl, RTM_GETROUTE, &l);
	if (ret)
		goto out;
	while ((nlh = list_next(&l, &off))) {
		if (router_msg_parse_route(nlh, nlh->nlmsg_len, &r) || r.table != table)
			continue;
		/* Sent back as a delete, a dumped route names exactly itself (`ip route flush`). */
		nlh->nlmsg_type = RTM_DELROUTE;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		ret = transact(nl, nlh, false, NULL, NULL);
		if (ret == -ESRCH || ret == -ENOENT)
			continue; /* gone meanwhile */
		if (ret)
			goto out;
		removed++;
	}
	ret = removed;
out:
	free(l.data);
	return ret;
}

/* --- rules ------------------------------------------------------------------------------ */

int router_nl_rule_add(struct router_nl *nl, const struct router_rule *r)
{
	REQ_BUF(buf);
	int ret;

	ret = simple(nl, router_msg_rule(buf, sizeof(buf), true, r));
	return ret == -EEXIST ? 0 : ret;
}

int router_nl_rule_del(struct router_nl *nl, const struct router_rule *r)
{
	REQ_BUF(buf);
	int ret;

	ret = simple(nl, router_msg_rule(buf, sizeof(buf), false, r));
	return ret == -ENOENT ? 0 : ret;
}

int router_nl_rule_flush(struct router_nl *nl, uint32_t prio_min, uint32_t prio_max)
{
	struct msg_list l = {0};
	struct router_rule r;
	struct nlmsghdr *nlh;
	size_t off = 0;
	int ret, removed = 0;

	if (prio_min > prio_max)
		return -EINVAL;
	ret = dump(nl, RTM_GETRULE, &l);
	if (ret)
		goto out;
	while ((nlh = list_next(&l, &off))) {
		if (router_msg_parse_rule(nlh, nlh->nlmsg_len, &r))
			continue;
		if (r.protocol != ROUTER_PROTO || r.priority < prio_min || r.priority > prio_max)
			continue;
		nlh->nlmsg_type = RTM_DELRULE;
		nlh->nlmsg_flags = NLM_F_REQUEST;
		ret = transact(nl, nlh, false, NULL, NULL);
		if (ret == -ENOENT)
			continue;
		if (ret)
			goto out;
		removed++;
	}
	ret = removed;
out:
	free(l.data);
	return ret;
}
