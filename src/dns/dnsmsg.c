// SPDX-License-Identifier: MIT
/*
 * DNS message codec. The parser never reads past the length it is given:
 * every field read goes through need(), names through read_name(), whose
 * pointer rule (strictly before everything read so far) makes loops
 * impossible. The builder rolls a record back entirely when it does not fit,
 * so a response can always be finished, truncated, with what fitted.
 */
#include "dns/dnsmsg.h"

#include <errno.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* True if @n bytes starting at @off lie inside @len (no overflow). */
static bool need(size_t len, size_t off, size_t n)
{
	return off <= len && n <= len - off;
}

int dnsmsg_parse_header(const uint8_t *buf, size_t len, struct dns_header *h)
{
	if (!need(len, 0, DNS_HEADER_LEN))
		return -EBADMSG;
	h->id = get16(buf + DNS_OFF_ID);
	h->flags = get16(buf + DNS_OFF_FLAGS);
	h->qdcount = get16(buf + DNS_OFF_QDCOUNT);
	h->ancount = get16(buf + DNS_OFF_ANCOUNT);
	h->nscount = get16(buf + DNS_OFF_NSCOUNT);
	h->arcount = get16(buf + DNS_OFF_ARCOUNT);
	return 0;
}

int dnsmsg_read_name(const uint8_t *buf, size_t len, size_t off, struct dns_name *out, size_t *next)
{
	size_t pos = off, lowest = off, o = 0;
	unsigned int hops = 0;
	bool jumped = false;

	out->len = 1;
	out->labels = 0;
	out->wire[0] = 0;
	for (;;) {
		uint8_t c;

		if (!need(len, pos, 1))
			return -EBADMSG;
		c = buf[pos];
		if ((c & DNS_PTR_MASK) == DNS_PTR_MASK) {
			size_t target;

			if (!need(len, pos, 2))
				return -EBADMSG;
			target = (size_t)(c & ~DNS_PTR_MASK) << 8 | buf[pos + 1];
			if (!jumped && next)
				*next = pos + 2;
			jumped = true;
			/* Strictly backwards of all we read: the walk cannot revisit a byte. */
			if (target >= lowest || ++hops > DNSMSG_PTR_HOPS_MAX)
				return -EBADMSG;
			pos = lowest = target;
			continue;
		}
		if (c & DNS_PTR_MASK)
			return -EBADMSG; /* 0x40/0x80: extended label types (RFC 6891 §5) */
		if (c == 0)
			break;
		/* The label, plus the root byte still to come, must fit in 255. */
		if (!need(len, pos + 1, c) || o + 1 + c + 1 > DNS_NAME_MAX)
			return -EBADMSG;
		memcpy(out->wire + o, buf + pos, 1 + (size_t)c);
		o += 1 + (size_t)c;
		out->labels++;
		pos += 1 + (size_t)c;
	}
	out->wire[o++] = 0;
	out->len = (uint8_t)o;
	if (!jumped && next)
		*next = pos + 1;
	return 0;
}

int dnsmsg_read_rr(const uint8_t *buf, size_t len, size_t *off, struct dnsmsg_rr *rr)
{
	size_t pos;

	if (dnsmsg_read_name(buf, len, *off, &rr->name, &pos) < 0 ||
	    !need(len, pos, DNS_RR_FIXED_LEN))
		return -EBADMSG;
	rr->type = get16(buf + pos);
	rr->rclass = get16(buf + pos + 2);
	rr->ttl = get32(buf + pos + 4);
	rr->rdlen = get16(buf + pos + 8);
	rr->rdata_off = pos + DNS_RR_FIXED_LEN;
	if (!need(len, rr->rdata_off, rr->rdlen))
		return -EBADMSG;
	*off = rr->rdata_off + rr->rdlen;
	return 0;
}

/* Read a name that lies inside RDATA starting at @off (pointers may go before it). */
static int rdata_read_name(const uint8_t *buf, const struct dnsmsg_rr *rr, size_t off,
			   struct dns_name *out, size_t *next)
{
	return dnsmsg_read_name(buf, rr->rdata_off + rr->rdlen, off, out, next);
}

int dnsmsg_rdata_name(const uint8_t *buf, size_t len, const struct dnsmsg_rr *rr,
		      struct dns_name *out)
{
	size_t next;

	if (rr->type != DNS_TYPE_NS && rr->type != DNS_TYPE_CNAME && rr->type != DNS_TYPE_PTR)
		return -EINVAL;
	if (!need(len, rr->rdata_off, rr->rdlen) ||
	    rdata_read_name(buf, rr, rr->rdata_off, out, &next) < 0 ||
	    next != rr->rdata_off + rr->rdlen)
		return -EBADMSG;
	return 0;
}

int dnsmsg_rdata_soa(const uint8_t *buf, size_t len, const struct dnsmsg_rr *rr,
		     struct dns_soa *soa)
{
	size_t p;

	if (rr->type != DNS_TYPE_SOA)
		return -EINVAL;
	if (!need(len, rr->rdata_off, rr->rdlen) ||
	    rdata_read_name(buf, rr, rr->rdata_off, &soa->mname, &p) < 0 ||
	    rdata_read_name(buf, rr, p, &soa->rname, &p) < 0 ||
	    rr->rdata_off + rr->rdlen - p != DNS_SOA_FIXED_LEN)
		return -EBADMSG;
	soa->serial = get32(buf + p);
	soa->refresh = get32(buf + p + 4);
	soa->retry = get32(buf + p + 8);
	soa->expire = get32(buf + p + 12);
	soa->minimum = get32(buf + p + 16);
	return 0;
}

/* EDNS options are TLVs: code, length, data; they must fill RDATA exactly. */
static int check_opt_options(const uint8_t *buf, const struct dnsmsg_rr *rr)
{
	size_t p = rr->rdata_off, end = rr->rdata_off + rr->rdlen;

	while (p < end) {
		if (!need(end, p, 4) || !need(end, p + 4, get16(buf + p + 2)))
			return -EBADMSG;
		p += 4 + (size_t)get16(buf + p + 2);
	}
	return 0;
}

/* Check the RDATA of the types we interpret; others are opaque. */
static int check_rdata(const uint8_t *buf, size_t len, const struct dnsmsg_rr *rr)
{
	struct dns_name name;
	struct dns_soa soa;
	size_t next;

	switch (rr->type) {
	case DNS_TYPE_A:
		return rr->rclass != DNS_CLASS_IN || rr->rdlen == DNS_A_LEN ? 0 : -EBADMSG;
	case DNS_TYPE_AAAA:
		return rr->rclass != DNS_CLASS_IN || rr->rdlen == DNS_AAAA_LEN ? 0 : -EBADMSG;
	case DNS_TYPE_NS:
	case DNS_TYPE_CNAME:
	case DNS_TYPE_PTR:
		return dnsmsg_rdata_name(buf, len, rr, &name);
	case DNS_TYPE_SOA:
		return dnsmsg_rdata_soa(buf, len, rr, &soa);
	case DNS_TYPE_MX:
		if (rr->rdlen < 3 ||
		    rdata_read_name(buf, rr, rr->rdata_off + 2, &name, &next) < 0 ||
		    next != rr->rdata_off + rr->rdlen)
			return -EBADMSG;
		return 0;
	case DNS_TYPE_OPT:
		return check_opt_options(buf, rr);
	default:
		return 0;
	}
}

int dnsmsg_parse(const uint8_t *buf, size_t len, struct dnsmsg *msg)
{
	size_t pos = DNS_HEADER_LEN;
	unsigned int nrr;

	memset(msg, 0, sizeof(*msg));
	if (dnsmsg_parse_header(buf, len, &msg->hdr) < 0)
		return -EBADMSG;
	for (unsigned int i = 0; i < msg->hdr.qdcount; i++) {
		struct dns_name name;

		if (dnsmsg_read_name(buf, len, pos, &name, &pos) < 0 ||
		    !need(len, pos, DNS_QUESTION_FIXED_LEN))
			return -EBADMSG;
		if (i == 0) {
			msg->has_question = true;
			msg->qname = name;
			msg->qtype = get16(buf + pos);
			msg->qclass = get16(buf + pos + 2);
		}
		pos += DNS_QUESTION_FIXED_LEN;
	}
	msg->question_end = pos;
	nrr = (unsigned int)msg->hdr.ancount + msg->hdr.nscount + msg->hdr.arcount;
	for (unsigned int i = 0; i < nrr; i++) {
		size_t start = pos;
		struct dnsmsg_rr rr;

		if (i == msg->hdr.ancount)
			msg->authority_off = pos;
		if (i == (unsigned int)msg->hdr.ancount + msg->hdr.nscount)
			msg->additional_off = pos;
		if (dnsmsg_read_rr(buf, len, &pos, &rr) < 0 || check_rdata(buf, len, &rr) < 0)
			return -EBADMSG;
		if (rr.type != DNS_TYPE_OPT)
			continue;
		/* RFC 6891 §6.1.1: one OPT, owner root, in the additional section. */
		if (msg->has_opt || rr.name.labels != 0 ||
		    i < (unsigned int)msg->hdr.ancount + msg->hdr.nscount)
			return -EBADMSG;
		msg->has_opt = true;
		msg->opt_off = start;
		msg->opt_len = pos - start;
		msg->udp_size = rr.rclass;
		msg->ext_rcode = (uint8_t)(rr.ttl >> 24);
		msg->edns_version = (uint8_t)(rr.ttl >> 16);
		msg->edns_flags = (uint16_t)rr.ttl;
	}
	if (msg->hdr.ancount == nrr)
		msg->authority_off = pos;
	if ((unsigned int)msg->hdr.ancount + msg->hdr.nscount == nrr)
		msg->additional_off = pos;
	msg->end = pos;
	msg->trailing = len - pos;
	return 0;
}

unsigned int dnsmsg_rcode(const struct dnsmsg *msg)
{
	return (unsigned int)msg->ext_rcode << 4 | (msg->hdr.flags & DNS_FLAG_RCODE_MASK);
}

size_t dnsmsg_udp_limit(const struct dnsmsg *msg)
{
	if (!msg->has_opt || msg->udp_size < DNS_EDNS_MIN_UDP)
		return DNS_UDP_CLASSIC_MAX;
	return msg->udp_size;
}

/* ---------------------------------------------------------------------------------------- */
/* Builder */

void dnsmsg_builder_init(struct dnsmsg_builder *b, uint8_t *buf, size_t cap, uint16_t id,
			 uint16_t flags)
{
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
	b->flags = flags;
	if (cap < DNS_HEADER_LEN)
		return;
	memset(buf, 0, DNS_HEADER_LEN);
	put16(buf + DNS_OFF_ID, id);
	b->len = DNS_HEADER_LEN;
}

/* Find an earlier name equal to the suffix of @name at wire offset @off. */
static int comp_find(const struct dnsmsg_builder *b, const struct dns_name *name, size_t off)
{
	struct dns_name suffix, prev;
	size_t slen = name->len - off;

	memcpy(suffix.wire, name->wire + off, slen);
	suffix.len = (uint8_t)slen;
	suffix.labels = 0;
	for (size_t i = 0; i < slen && suffix.wire[i]; i += 1 + suffix.wire[i])
		suffix.labels++;
	for (unsigned int i = 0; i < b->ncomp; i++) {
		if (b->comp[i].len != slen)
			continue;
		/* Our own output: always readable, pointers only backwards. */
		if (dnsmsg_read_name(b->buf, b->len, b->comp[i].off, &prev, NULL) == 0 &&
		    dns_name_equal(&prev, &suffix))
			return (int)b->comp[i].off;
	}
	return -ENOENT;
}

/*
 * Write @name at b->len with compression: the longest suffix already in
 * the message becomes a pointer. New label positions become targets.
 */
static int put_name(struct dnsmsg_builder *b, const struct dns_name *name)
{
	size_t off = 0, start = b->len;
	unsigned int ncomp = b->ncomp;
	int target = -ENOENT;

	while (off < name->len && name->wire[off]) {
		target = comp_find(b, name, off);
		if (target >= 0)
			break;
		off += 1 + (size_t)name->wire[off];
	}
	if (!need(b->cap, b->len, off + (target >= 0 ? 2 : 1)))
		return -EMSGSIZE;
	memcpy(b->buf + b->len, name->wire, off);
	/* Remember the labels just written (before the pointer) as future targets. */
	for (size_t o = 0; o < off; o += 1 + (size_t)name->wire[o]) {
		if (ncomp < DNSMSG_COMPRESS_MAX && start + o <= DNS_PTR_OFFSET_MAX) {
			b->comp[ncomp].off = (uint16_t)(start + o);
			b->comp[ncomp].len = (uint8_t)(name->len - o);
			ncomp++;
		}
	}
	b->len += off;
	if (target >= 0) {
		put16(b->buf + b->len, (uint16_t)(DNS_PTR_MASK << 8 | (unsigned int)target));
		b->len += 2;
	} else {
		b->buf[b->len++] = 0;
	}
	b->ncomp = ncomp;
	return 0;
}

struct builder_mark {
	size_t len;
	unsigned int ncomp;
};

static struct builder_mark mark(const struct dnsmsg_builder *b)
{
	return (struct builder_mark){.len = b->len, .ncomp = b->ncomp};
}

static int rollback(struct dnsmsg_builder *b, struct builder_mark m, int err)
{
	b->len = m.len;
	b->ncomp = m.ncomp;
	return err;
}

static int enter_section(struct dnsmsg_builder *b, enum dnsmsg_section s)
{
	if (b->len < DNS_HEADER_LEN)
		return -EMSGSIZE;
	if (s < b->section || s >= DNSMSG_SECTIONS || b->counts[s] == UINT16_MAX)
		return -EINVAL;
	return 0;
}

int dnsmsg_add_question(struct dnsmsg_builder *b, const struct dns_name *name, uint16_t type,
			uint16_t qclass)
{
	struct builder_mark m = mark(b);
	int ret = enter_section(b, DNSMSG_QUESTION);

	if (ret < 0)
		return ret;
	ret = put_name(b, name);
	if (ret < 0)
		return rollback(b, m, ret);
	if (!need(b->cap, b->len, DNS_QUESTION_FIXED_LEN))
		return rollback(b, m, -EMSGSIZE);
	put16(b->buf + b->len, type);
	put16(b->buf + b->len + 2, qclass);
	b->len += DNS_QUESTION_FIXED_LEN;
	b->counts[DNSMSG_QUESTION]++;
	return 0;
}

/* Owner and fixed part; RDLENGTH is patched by end_rr(). Returns the RDLENGTH offset. */
static int begin_rr(struct dnsmsg_builder *b, enum dnsmsg_section s, const struct dns_name *name,
		    uint16_t type, uint16_t rclass, uint32_t ttl, size_t *rdlen_off)
{
	int ret = enter_section(b, s);

	if (ret < 0)
		return ret;
	ret = put_name(b, name);
	if (ret < 0)
		return ret;
	if (!need(b->cap, b->len, DNS_RR_FIXED_LEN))
		return -EMSGSIZE;
	put16(b->buf + b->len, type);
	put16(b->buf + b->len + 2, rclass);
	put32(b->buf + b->len + 4, ttl);
	*rdlen_off = b->len + 8;
	b->len += DNS_RR_FIXED_LEN;
	return 0;
}

static void end_rr(struct dnsmsg_builder *b, enum dnsmsg_section s, size_t rdlen_off)
{
	put16(b->buf + rdlen_off, (uint16_t)(b->len - rdlen_off - 2));
	b->section = s;
	b->counts[s]++;
}

int dnsmsg_add_rr(struct dnsmsg_builder *b, enum dnsmsg_section section,
		  const struct dns_name *name, uint16_t type, uint16_t rclass, uint32_t ttl,
		  const uint8_t *rdata, size_t rdlen)
{
	struct builder_mark m = mark(b);
	size_t rdlen_off;
	int ret;

	if (section == DNSMSG_QUESTION || rdlen > UINT16_MAX)
		return -EINVAL;
	ret = begin_rr(b, section, name, type, rclass, ttl, &rdlen_off);
	if (ret < 0)
		return rollback(b, m, ret);
	if (!need(b->cap, b->len, rdlen))
		return rollback(b, m, -EMSGSIZE);
	if (rdlen)
		memcpy(b->buf + b->len, rdata, rdlen);
	b->len += rdlen;
	end_rr(b, section, rdlen_off);
	return 0;
}

int dnsmsg_add_addr(struct dnsmsg_builder *b, enum dnsmsg_section section,
		    const struct dns_name *name, uint32_t ttl, const struct ip_addr *addr)
{
	if (addr->family == IP_FAMILY_V4)
		return dnsmsg_add_rr(b, section, name, DNS_TYPE_A, DNS_CLASS_IN, ttl, addr->bytes,
				     DNS_A_LEN);
	if (addr->family == IP_FAMILY_V6)
		return dnsmsg_add_rr(b, section, name, DNS_TYPE_AAAA, DNS_CLASS_IN, ttl,
				     addr->bytes, DNS_AAAA_LEN);
	return -EINVAL;
}

int dnsmsg_add_name_rr(struct dnsmsg_builder *b, enum dnsmsg_section section,
		       const struct dns_name *name, uint16_t type, uint32_t ttl,
		       const struct dns_name *target)
{
	struct builder_mark m = mark(b);
	size_t rdlen_off;
	int ret;

	if (section == DNSMSG_QUESTION ||
	    (type != DNS_TYPE_NS && type != DNS_TYPE_CNAME && type != DNS_TYPE_PTR))
		return -EINVAL;
	ret = begin_rr(b, section, name, type, DNS_CLASS_IN, ttl, &rdlen_off);
	if (ret == 0)
		ret = put_name(b, target);
	if (ret < 0)
		return rollback(b, m, ret);
	end_rr(b, section, rdlen_off);
	return 0;
}

int dnsmsg_add_soa(struct dnsmsg_builder *b, enum dnsmsg_section section,
		   const struct dns_name *name, uint32_t ttl, const struct dns_soa *soa)
{
	struct builder_mark m = mark(b);
	size_t rdlen_off;
	int ret;

	if (section == DNSMSG_QUESTION)
		return -EINVAL;
	ret = begin_rr(b, section, name, DNS_TYPE_SOA, DNS_CLASS_IN, ttl, &rdlen_off);
	if (ret == 0)
		ret = put_name(b, &soa->mname);
	if (ret == 0)
		ret = put_name(b, &soa->rname);
	if (ret == 0 && !need(b->cap, b->len, DNS_SOA_FIXED_LEN))
		ret = -EMSGSIZE;
	if (ret < 0)
		return rollback(b, m, ret);
	put32(b->buf + b->len, soa->serial);
	put32(b->buf + b->len + 4, soa->refresh);
	put32(b->buf + b->len + 8, soa->retry);
	put32(b->buf + b->len + 12, soa->expire);
	put32(b->buf + b->len + 16, soa->minimum);
	b->len += DNS_SOA_FIXED_LEN;
	end_rr(b, section, rdlen_off);
	return 0;
}

int dnsmsg_add_opt(struct dnsmsg_builder *b, uint16_t udp_size, uint8_t ext_rcode,
		   uint16_t edns_flags)
{
	static const struct dns_name root = {.len = 1};
	uint32_t ttl = (uint32_t)ext_rcode << 24 | (uint32_t)DNS_EDNS_VERSION << 16 | edns_flags;

	return dnsmsg_add_rr(b, DNSMSG_ADDITIONAL, &root, DNS_TYPE_OPT, udp_size, ttl, NULL, 0);
}

size_t dnsmsg_builder_finish(struct dnsmsg_builder *b)
{
	if (b->len < DNS_HEADER_LEN)
		return 0;
	put16(b->buf + DNS_OFF_FLAGS, b->flags);
	put16(b->buf + DNS_OFF_QDCOUNT, b->counts[DNSMSG_QUESTION]);
	put16(b->buf + DNS_OFF_ANCOUNT, b->counts[DNSMSG_ANSWER]);
	put16(b->buf + DNS_OFF_NSCOUNT, b->counts[DNSMSG_AUTHORITY]);
	put16(b->buf + DNS_OFF_ARCOUNT, b->counts[DNSMSG_ADDITIONAL]);
	return b->len;
}

int dnsmsg_build_error(const uint8_t *query, size_t qlen, unsigned int rcode, uint16_t udp_size,
		       uint8_t *out, size_t cap)
{
	struct dns_header h;
	struct dnsmsg q;
	struct dnsmsg_builder b;
	bool parsed;
	uint16_t flags;
	size_t n;

	if (dnsmsg_parse_header(query, qlen, &h) < 0 || (h.flags & DNS_FLAG_QR))
		return -EBADMSG;
	parsed = dnsmsg_parse(query, qlen, &q) == 0;
	flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA | (rcode & DNS_FLAG_RCODE_MASK) |
			   (h.flags & (DNS_FLAG_OPCODE_MASK | DNS_FLAG_RD | DNS_FLAG_CD)));
	dnsmsg_builder_init(&b, out, cap, h.id, flags);
	if (parsed && q.hdr.qdcount == 1 &&
	    dnsmsg_add_question(&b, &q.qname, q.qtype, q.qclass) == -EMSGSIZE)
		return -EMSGSIZE;
	/* An OPT if the query had one, or if the rcode needs the extended bits. */
	if ((parsed && q.has_opt) || rcode > DNS_FLAG_RCODE_MASK) {
		uint16_t dobit = parsed && q.has_opt ? q.edns_flags & DNS_EDNS_FLAG_DO : 0;

		if (dnsmsg_add_opt(&b, udp_size, (uint8_t)(rcode >> 4), dobit) < 0)
			return -EMSGSIZE;
	}
	n = dnsmsg_builder_finish(&b);
	return n ? (int)n : -EMSGSIZE;
}

int dnsmsg_truncate(const uint8_t *in, size_t len, uint8_t *out, size_t limit)
{
	struct dnsmsg m;
	size_t n;
	uint16_t flags;

	if (dnsmsg_parse(in, len, &m) < 0)
		return -EBADMSG;
	if (len <= limit) {
		memmove(out, in, len);
		return (int)len;
	}
	n = m.question_end;
	if (n > limit)
		n = DNS_HEADER_LEN; /* only with many questions: keep the header alone */
	memmove(out, in, n);
	if (n == DNS_HEADER_LEN)
		put16(out + DNS_OFF_QDCOUNT, 0);
	put16(out + DNS_OFF_ANCOUNT, 0);
	put16(out + DNS_OFF_NSCOUNT, 0);
	put16(out + DNS_OFF_ARCOUNT, 0);
	/* The OPT lies after the question section: moving it down never overlaps badly. */
	if (m.has_opt && n + m.opt_len <= limit) {
		memmove(out + n, in + m.opt_off, m.opt_len);
		n += m.opt_len;
		put16(out + DNS_OFF_ARCOUNT, 1);
	}
	flags = (uint16_t)(get16(out + DNS_OFF_FLAGS) | DNS_FLAG_TC);
	put16(out + DNS_OFF_FLAGS, flags);
	return (int)n;
}
