/* SPDX-License-Identifier: MIT */
/*
 * DNS messages (RFC 1035, AAAA from RFC 3596, EDNS0 from RFC 6891): a
 * validating parser over (buf, len), a builder with name compression, and
 * the domain-name helpers MagicDNS needs. No allocation, no I/O.
 *
 * Names are kept in wire form (struct dns_name: uncompressed label
 * sequence, root label included), which represents every legal name
 * exactly, dots and odd bytes in labels too. Comparisons ignore ASCII case
 * (RFC 4343) and keep the bytes as they were: a name read from a query is
 * echoed with the client's case.
 *
 * The parser is strict, because its input comes from anyone who can send a
 * packet to 100.100.100.100: every read is checked against the length, a
 * name may be at most 255 bytes, labels 63, compression pointers must point
 * strictly before everything read so far for that name (so a loop cannot
 * exist) and at most DNSMSG_PTR_HOPS_MAX of them are followed, extended
 * label types are rejected, and the RDATA of the types we interpret (A,
 * AAAA, NS, CNAME, PTR, SOA, MX, OPT) must have exactly their shape. Other
 * types are carried opaquely. Bytes after the last record are tolerated
 * (and counted in dnsmsg.trailing), as most resolvers do.
 */
#ifndef MESH_DNS_DNSMSG_H
#define MESH_DNS_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns_proto.h"
#include "dns/dnsname.h"
#include "util/ipaddr.h"

enum dnsmsg_limits {
	/* More pointers than any legal name can need (a name has at most 127 labels). */
	DNSMSG_PTR_HOPS_MAX = 128,
	/* Names (and their suffixes) the builder remembers as compression targets. */
	DNSMSG_COMPRESS_MAX = 64,
};

enum dnsmsg_section {
	DNSMSG_QUESTION = 0,
	DNSMSG_ANSWER = 1,
	DNSMSG_AUTHORITY = 2,
	DNSMSG_ADDITIONAL = 3,
	DNSMSG_SECTIONS = 4,
};

struct dns_header {
	uint16_t id;
	uint16_t flags; /* enum dns_flags */
	uint16_t qdcount, ancount, nscount, arcount;
};

/* What dnsmsg_parse() found: the header, the first question, EDNS and where the sections are. */
struct dnsmsg {
	struct dns_header hdr;
	bool has_question; /* qdcount > 0: qname/qtype/qclass are the first question */
	struct dns_name qname;
	uint16_t qtype, qclass;
	size_t question_end; /* offset after the question section (where answers start) */
	size_t authority_off, additional_off;
	size_t end;	 /* offset after the last record */
	size_t trailing; /* bytes after @end */
	bool has_opt;	 /* an OPT record in the additional section (at most one is valid) */
	size_t opt_off, opt_len;
	uint16_t udp_size; /* the OPT's CLASS: the sender's UDP payload size, as sent */
	uint8_t ext_rcode; /* upper 8 bits of the 12-bit rcode */
	uint8_t edns_version;
	uint16_t edns_flags; /* DNS_EDNS_FLAG_DO, ... */
};

/* One resource record read by dnsmsg_read_rr(). */
struct dnsmsg_rr {
	struct dns_name name;
	uint16_t type, rclass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdata_off; /* offset of RDATA in the message (names in it may point backwards) */
};

/* SOA RDATA fields (RFC 1035 §3.3.13). */
struct dns_soa {
	struct dns_name mname, rname;
	uint32_t serial, refresh, retry, expire, minimum;
};

/* Builds a message front to back; see dnsmsg_builder_init(). */
struct dnsmsg_builder {
	uint8_t *buf;
	size_t cap, len;
	uint16_t flags;
	enum dnsmsg_section section; /* records are added in section order */
	uint16_t counts[DNSMSG_SECTIONS];
	unsigned int ncomp;
	struct {
		uint16_t off; /* where a name (or suffix) starts in buf */
		uint8_t len;  /* its expanded length */
	} comp[DNSMSG_COMPRESS_MAX];
};

/** Read the 12-byte header of @buf/@len into @h. Returns 0 or -EBADMSG if too short. */
int dnsmsg_parse_header(const uint8_t *buf, size_t len, struct dns_header *h);

/**
 * Parse and validate a whole message: header, every question and record
 * with the rules atop this header, and the EDNS OPT record (owner root,
 * additional section only, at most one, well-formed options). Fills @msg.
 * Returns 0 or -EBADMSG.
 */
int dnsmsg_parse(const uint8_t *buf, size_t len, struct dnsmsg *msg);

/**
 * Read the possibly compressed name at @off of the message @buf/@len into
 * @out, and set *@next (if not NULL) to the offset just after it in place
 * (after the first pointer, if any). Returns 0 or -EBADMSG.
 */
int dnsmsg_read_name(const uint8_t *buf, size_t len, size_t off, struct dns_name *out,
		     size_t *next);

/**
 * Read the resource record at *@off into @rr and advance *@off past it.
 * Checks the name and that RDATA lies inside the message; its contents are
 * checked by dnsmsg_parse(), not here. Returns 0 or -EBADMSG.
 */
int dnsmsg_read_rr(const uint8_t *buf, size_t len, size_t *off, struct dnsmsg_rr *rr);

/**
 * Decode the single name forming the RDATA of an NS, CNAME or PTR record
 * @rr of @buf/@len. Returns 0, -EBADMSG (it does not fill RDATA exactly)
 * or -EINVAL for another type.
 */
int dnsmsg_rdata_name(const uint8_t *buf, size_t len, const struct dnsmsg_rr *rr,
		      struct dns_name *out);

/** Decode the RDATA of the SOA record @rr into @soa. Returns 0, -EBADMSG or -EINVAL. */
int dnsmsg_rdata_soa(const uint8_t *buf, size_t len, const struct dnsmsg_rr *rr,
		     struct dns_soa *soa);

/** The full response code of @msg: header RCODE plus the OPT's extended bits. */
unsigned int dnsmsg_rcode(const struct dnsmsg *msg);

/**
 * The largest UDP response the sender of @msg accepts: 512 without EDNS,
 * else its advertised size (at least 512).
 */
size_t dnsmsg_udp_limit(const struct dnsmsg *msg);

/**
 * Start a message in @buf (@cap bytes) with @id and @flags; the counts are
 * written by dnsmsg_builder_finish(). If @cap is below DNS_HEADER_LEN
 * every later call fails with -EMSGSIZE.
 */
void dnsmsg_builder_init(struct dnsmsg_builder *b, uint8_t *buf, size_t cap, uint16_t id,
			 uint16_t flags);

/** Add a question (@name, @type, @qclass). Returns 0, -EMSGSIZE or -EINVAL (after records). */
int dnsmsg_add_question(struct dnsmsg_builder *b, const struct dns_name *name, uint16_t type,
			uint16_t qclass);

/**
 * Add a record with opaque RDATA to @section (sections must come in order:
 * going back fails with -EINVAL). The owner is compressed against names
 * written before. On -EMSGSIZE the builder is left as it was before the
 * call, so the caller can still finish a truncated message.
 */
int dnsmsg_add_rr(struct dnsmsg_builder *b, enum dnsmsg_section section,
		  const struct dns_name *name, uint16_t type, uint16_t rclass, uint32_t ttl,
		  const uint8_t *rdata, size_t rdlen);

/** Add an A or AAAA record (by @addr's family) of class IN. Returns as dnsmsg_add_rr(). */
int dnsmsg_add_addr(struct dnsmsg_builder *b, enum dnsmsg_section section,
		    const struct dns_name *name, uint32_t ttl, const struct ip_addr *addr);

/**
 * Add an NS, CNAME or PTR record (@type) of class IN whose RDATA is the
 * name @target, compressed (RFC 3597 §4 allows it for these well-known
 * types). Returns as dnsmsg_add_rr(), or -EINVAL for another @type.
 */
int dnsmsg_add_name_rr(struct dnsmsg_builder *b, enum dnsmsg_section section,
		       const struct dns_name *name, uint16_t type, uint32_t ttl,
		       const struct dns_name *target);

/** Add an SOA record of class IN with owner @name. Returns as dnsmsg_add_rr(). */
int dnsmsg_add_soa(struct dnsmsg_builder *b, enum dnsmsg_section section,
		   const struct dns_name *name, uint32_t ttl, const struct dns_soa *soa);

/**
 * Add the EDNS0 OPT record (to the additional section, no options):
 * our UDP payload size @udp_size, the upper 8 bits of the rcode in
 * @ext_rcode, version 0 and @edns_flags (DNS_EDNS_FLAG_DO). Returns as
 * dnsmsg_add_rr().
 */
int dnsmsg_add_opt(struct dnsmsg_builder *b, uint16_t udp_size, uint8_t ext_rcode,
		   uint16_t edns_flags);

/** Write the flags and counts into the header. Returns the message length (0 if @cap was too small). */
size_t dnsmsg_builder_finish(struct dnsmsg_builder *b);

/**
 * Build in @out (@cap bytes) the reply to @query/@qlen with response code
 * @rcode (extended codes go into an OPT record): the query's id, opcode,
 * RD and CD, its question section if it parses, and an OPT if it had one.
 * For SERVFAIL after a failed forward, FORMERR, NOTIMP, REFUSED. Returns the
 * length, or -EBADMSG if @query has no complete header or is itself a
 * response, or -EMSGSIZE.
 */
int dnsmsg_build_error(const uint8_t *query, size_t qlen, unsigned int rcode, uint16_t udp_size,
		       uint8_t *out, size_t cap);

/**
 * Copy the valid message @in/@len to @out truncated so that it fits @limit
 * bytes (at least 512; @out has room for @limit bytes and may be @in):
 * the header and question section, every record but the OPT dropped (which
 * is kept if it fits), TC set. A message that fits is copied unchanged.
 * Returns the new length, or -EBADMSG if @in does not parse.
 */
int dnsmsg_truncate(const uint8_t *in, size_t len, uint8_t *out, size_t limit);

#endif
