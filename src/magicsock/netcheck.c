// SPDX-License-Identifier: MIT
/*
 * netcheck runs (see netcheck.h): probes with retries, the answers matched
 * by transaction id and source address, and the report built at the end.
 */
#include "magicsock/netcheck.h"

#include <string.h>

static const uint64_t retry_delay_us[NETCHECK_TRIES] = {0, NETCHECK_RETRY1_US, NETCHECK_RETRY2_US};

_Static_assert(NETCHECK_TRIES == 3, "retry_delay_us has one entry per try");

static bool endpoint_equal(const struct ip_endpoint *a, const struct ip_endpoint *b)
{
	return a->port == b->port && ip_addr_equal(&a->addr, &b->addr);
}

void netcheck_init(struct netcheck *nc, const struct netcheck_ops *ops, void *ctx)
{
	memset(nc, 0, sizeof(*nc));
	nc->ops = ops;
	nc->ctx = ctx;
}

static void send_try(struct netcheck *nc, struct netcheck_probe *p, unsigned int k, uint64_t now)
{
	uint8_t buf[STUN_HEADER_LEN + 8];
	size_t len;

	nc->ops->random(nc->ctx, p->txids[k], STUN_TXID_LEN);
	p->sent_us[k] = now;
	len = stun_build_binding_request(buf, sizeof(buf), p->txids[k], true);
	if (len)
		(void)nc->ops->send(nc->ctx, &p->server.addr, buf, len);
}

static struct netcheck_region_result *region_slot(struct netcheck_report *r,
						  const struct netcheck_server *s)
{
	struct netcheck_region_result *res;

	for (unsigned int i = 0; i < r->nregions; i++)
		if (r->regions[i].region_id == s->region_id)
			return &r->regions[i];
	if (r->nregions == NETCHECK_MAX_REGIONS)
		return NULL;
	res = &r->regions[r->nregions++];
	memset(res, 0, sizeof(*res));
	res->region_id = s->region_id;
	if (s->region_code) {
		strncpy(res->code, s->region_code, NETCHECK_CODE_LEN);
		res->code[NETCHECK_CODE_LEN] = '\0';
	}
	return res;
}

static void finish(struct netcheck *nc, uint64_t now)
{
	struct netcheck_report *r = &nc->report;
	const struct netcheck_probe *fast4 = NULL, *fast6 = NULL, *first4 = NULL;
	unsigned int n4 = 0;

	r->duration_us = now - nc->start_us;
	for (unsigned int i = 0; i < nc->nprobes; i++) {
		const struct netcheck_probe *p = &nc->probes[i];
		struct netcheck_region_result *res = region_slot(r, &p->server);
		bool v6 = p->server.addr.addr.family == IP_FAMILY_V6;

		if (!res || !p->answered)
			continue;
		r->udp = true;
		if (!res->latency_us || p->latency_us < res->latency_us)
			res->latency_us = p->latency_us;
		if (v6) {
			res->v6 = r->ipv6 = true;
			if (!fast6 || p->latency_us < fast6->latency_us)
				fast6 = p;
			continue;
		}
		res->v4 = r->ipv4 = true;
		if (!fast4 || p->latency_us < fast4->latency_us)
			fast4 = p;
		/* Hard NAT: two IPv4 servers saw us at different addresses. */
		if (!first4) {
			first4 = p;
		} else if (!endpoint_equal(&p->server.addr, &first4->server.addr)) {
			n4++;
			if (!endpoint_equal(&p->mapped, &first4->mapped))
				r->mapping_varies = true;
		}
	}
	r->mapping_varies_known = n4 > 0;
	if (fast4) {
		r->has_global_v4 = true;
		r->global_v4 = fast4->mapped;
	}
	if (fast6) {
		r->has_global_v6 = true;
		r->global_v6 = fast6->mapped;
	}
	nc->running = false;
	if (nc->ops->done)
		nc->ops->done(nc->ctx, r);
}

int netcheck_start(struct netcheck *nc, uint64_t now, const struct netcheck_server *servers,
		   size_t n)
{
	nc->running = true;
	nc->start_us = now;
	nc->end_us = now + NETCHECK_TIMEOUT_US;
	nc->nprobes = nc->nanswered = 0;
	memset(&nc->report, 0, sizeof(nc->report));
	for (size_t i = 0; i < n && nc->nprobes < NETCHECK_MAX_SERVERS; i++) {
		struct netcheck_probe *p;

		if (servers[i].addr.addr.family == IP_FAMILY_UNSET)
			continue;
		p = &nc->probes[nc->nprobes++];
		memset(p, 0, sizeof(*p));
		p->server = servers[i];
		/* Every region appears in the report, answered or not, in map order. */
		region_slot(&nc->report, &p->server);
	}
	/* The pointer is not kept: the report holds a copy. */
	for (unsigned int i = 0; i < nc->nprobes; i++)
		nc->probes[i].server.region_code = NULL;
	if (!nc->nprobes) {
		finish(nc, now);
		return 0;
	}
	for (unsigned int i = 0; i < nc->nprobes; i++)
		send_try(nc, &nc->probes[i], 0, now);
	return 0;
}

bool netcheck_handle_stun(struct netcheck *nc, uint64_t now, const struct stun_message *msg,
			  const struct ip_endpoint *src)
{
	const struct ip_endpoint *mapped;
	uint64_t grace;

	if (!nc->running || msg->type != STUN_BINDING_SUCCESS)
		return false;
	mapped = msg->has_xor_mapped ? &msg->xor_mapped : msg->has_mapped ? &msg->mapped : NULL;
	for (unsigned int i = 0; i < nc->nprobes; i++) {
		struct netcheck_probe *p = &nc->probes[i];

		for (unsigned int k = 0; k < NETCHECK_TRIES; k++) {
			if (!p->sent_us[k] || memcmp(p->txids[k], msg->txid, STUN_TXID_LEN))
				continue;
			/* Our txid from somewhere else is not an answer (spoofed or reflected). */
			if (!endpoint_equal(src, &p->server.addr) || !mapped) {
				nc->stray++;
				return false;
			}
			if (p->answered)
				return true; /* a retry's answer: the first one counted */
			p->answered = true;
			p->latency_us = now > p->sent_us[k] ? (uint32_t)(now - p->sent_us[k]) : 1;
			p->mapped = *mapped;
			if (nc->nanswered++ == 0) {
				grace = 3 * (uint64_t)p->latency_us;
				if (grace < NETCHECK_GRACE_MIN_US)
					grace = NETCHECK_GRACE_MIN_US;
				if (now + grace < nc->end_us)
					nc->end_us = now + grace;
			}
			if (nc->nanswered == nc->nprobes)
				finish(nc, now);
			return true;
		}
	}
	nc->stray++;
	return false;
}

void netcheck_tick(struct netcheck *nc, uint64_t now)
{
	if (!nc->running)
		return;
	if (now >= nc->end_us) {
		finish(nc, now);
		return;
	}
	for (unsigned int i = 0; i < nc->nprobes; i++) {
		struct netcheck_probe *p = &nc->probes[i];

		if (p->answered)
			continue;
		for (unsigned int k = 1; k < NETCHECK_TRIES; k++)
			if (!p->sent_us[k] && now >= nc->start_us + retry_delay_us[k])
				send_try(nc, p, k, now);
	}
}

uint64_t netcheck_deadline(const struct netcheck *nc)
{
	uint64_t next;

	if (!nc->running)
		return 0;
	next = nc->end_us;
	for (unsigned int k = 1; k < NETCHECK_TRIES; k++) {
		uint64_t due = nc->start_us + retry_delay_us[k];
		bool pending = false;

		for (unsigned int i = 0; i < nc->nprobes && !pending; i++)
			pending = !nc->probes[i].answered && !nc->probes[i].sent_us[k];
		if (pending && due < next)
			next = due;
	}
	return next;
}

const struct netcheck_region_result *netcheck_region(const struct netcheck_report *r,
						     uint32_t region_id)
{
	for (unsigned int i = 0; i < r->nregions; i++)
		if (r->regions[i].region_id == region_id)
			return &r->regions[i];
	return NULL;
}

uint32_t netcheck_pick_home(const struct netcheck_report *r, uint32_t old_home)
{
	const struct netcheck_region_result *best = NULL, *old;

	for (unsigned int i = 0; i < r->nregions; i++) {
		const struct netcheck_region_result *res = &r->regions[i];

		if (res->latency_us && (!best || res->latency_us < best->latency_us))
			best = res;
	}
	if (!best)
		return old_home;
	old = old_home ? netcheck_region(r, old_home) : NULL;
	if (old && old != best && old->latency_us) {
		uint64_t o = old->latency_us, b = best->latency_us;

		if (o - b < NETCHECK_HOME_ABS_DIFF_US || b * 3 > o * 2)
			return old_home;
	}
	return best->region_id;
}
