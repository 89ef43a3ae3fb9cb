/* SPDX-License-Identifier: MIT */
/*
 * The DNS wire format, defined once: header layout and flags (RFC 1035
 * §4.1.1), the record types and classes we know by name, response codes
 * (RFC 1035, RFC 6891 extended), EDNS0's OPT pseudo-record (RFC 6891 §6.1)
 * and the size limits every parser and builder in src/dns/ enforces.
 *
 * All multi-byte fields are big-endian. Offsets are from the start of the
 * message (for UDP: the UDP payload; for TCP: after the 2-byte length).
 */
#ifndef MESH_DNS_DNS_PROTO_H
#define MESH_DNS_DNS_PROTO_H

#include <stdint.h>

enum dns_wire {
	DNS_HEADER_LEN = 12,
	DNS_OFF_ID = 0,
	DNS_OFF_FLAGS = 2,
	DNS_OFF_QDCOUNT = 4,
	DNS_OFF_ANCOUNT = 6,
	DNS_OFF_NSCOUNT = 8,
	DNS_OFF_ARCOUNT = 10,
	/* After an RR's owner name: type, class, TTL, RDLENGTH. */
	DNS_RR_FIXED_LEN = 10,
	/* After a question's name: type, class. */
	DNS_QUESTION_FIXED_LEN = 4,
	DNS_LABEL_MAX = 63,
	/* A whole name on the wire, length bytes and root label included. */
	DNS_NAME_MAX = 255,
	/* Presentation text of the longest name, every byte escaped as \DDD, plus NUL. */
	DNS_NAME_TEXT_MAX = 4 * DNS_NAME_MAX + 1,
	/* A compression pointer: top two bits set, 14-bit offset. */
	DNS_PTR_MASK = 0xc0,
	DNS_PTR_OFFSET_MAX = 0x3fff,
	DNS_MSG_MAX = 65535,
	/* RFC 1035 §4.2.1: the UDP payload a client without EDNS accepts. */
	DNS_UDP_CLASSIC_MAX = 512,
	/* DNS flag day 2020: an EDNS size that avoids fragmentation everywhere. */
	DNS_UDP_SAFE_MAX = 1232,
	DNS_PORT = 53,
};

/* The 16-bit flags word (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD and CD). */
enum dns_flags {
	DNS_FLAG_QR = 0x8000,
	DNS_FLAG_OPCODE_MASK = 0x7800,
	DNS_FLAG_OPCODE_SHIFT = 11,
	DNS_FLAG_AA = 0x0400,
	DNS_FLAG_TC = 0x0200,
	DNS_FLAG_RD = 0x0100,
	DNS_FLAG_RA = 0x0080,
	DNS_FLAG_Z = 0x0040,
	DNS_FLAG_AD = 0x0020,
	DNS_FLAG_CD = 0x0010,
	DNS_FLAG_RCODE_MASK = 0x000f,
};

enum dns_opcode {
	DNS_OPCODE_QUERY = 0,
	DNS_OPCODE_IQUERY = 1,
	DNS_OPCODE_STATUS = 2,
	DNS_OPCODE_NOTIFY = 4,
	DNS_OPCODE_UPDATE = 5,
};

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	/* Extended (RFC 6891): the upper 8 bits travel in the OPT record's TTL. */
	DNS_RCODE_BADVERS = 16,
};

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_AXFR = 252,
	DNS_TYPE_ANY = 255,
};

enum dns_class {
	DNS_CLASS_IN = 1,
	DNS_CLASS_CH = 3,
	DNS_CLASS_ANY = 255,
};

/* EDNS0 (RFC 6891 §6.1.3): the OPT record's TTL field is ext-rcode, version, flags. */
enum dns_edns {
	DNS_EDNS_VERSION = 0,
	DNS_EDNS_FLAG_DO = 0x8000,
	/* Sizes below 512 are treated as 512 (RFC 6891 §6.2.5). */
	DNS_EDNS_MIN_UDP = DNS_UDP_CLASSIC_MAX,
	/* Owner (root, 1 byte) + fixed part: an OPT with no options. */
	DNS_OPT_RR_LEN = 1 + DNS_RR_FIXED_LEN,
};

/* RDATA lengths of the fixed-size types. */
enum dns_rdata_len {
	DNS_A_LEN = 4,
	DNS_AAAA_LEN = 16,
	/* SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM after the two names. */
	DNS_SOA_FIXED_LEN = 20,
};

_Static_assert(DNS_HEADER_LEN == 6 * sizeof(uint16_t), "DNS header is six 16-bit words");
_Static_assert(DNS_RR_FIXED_LEN == 2 + 2 + 4 + 2, "type, class, TTL, RDLENGTH");
_Static_assert(DNS_NAME_MAX <= DNS_PTR_OFFSET_MAX, "a name fits before any pointer target");
_Static_assert((DNS_FLAG_OPCODE_MASK >> DNS_FLAG_OPCODE_SHIFT) == 0xf, "4-bit opcode");

#endif
