/* SPDX-License-Identifier: MIT */
/*
 * ICMP / ICMPv6 echo packets as meshd's own pings send them through the
 * tunnel (`meshctl ping`): build a request from our mesh address, recognise
 * the peer kernel's reply by its identifier. Pure functions over bytes.
 */
#ifndef MESH_DAEMON_ICMP_H
#define MESH_DAEMON_ICMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/ipaddr.h"

enum icmp_limits {
	ICMP_ECHO_PAYLOAD = 16,
	ICMP_ECHO_MAX = 40 + 8 + ICMP_ECHO_PAYLOAD, /* IPv6 header + echo + payload */
};

/**
 * Build an echo request from @src to @dst (same family) with @id and @seq
 * into @buf. Returns its length, or 0 if @cap is too small or the families
 * differ.
 */
size_t icmp_build_echo(uint8_t *buf, size_t cap, const struct ip_addr *src,
		       const struct ip_addr *dst, uint16_t id, uint16_t seq);

/**
 * True if @pkt is a well-formed echo reply with identifier @id (checksums
 * verified); then *@from is its source and *@seq its sequence number.
 */
bool icmp_parse_echo_reply(const uint8_t *pkt, size_t len, uint16_t id, struct ip_addr *from,
			   uint16_t *seq);

/** The Internet checksum (RFC 1071) of @len bytes, continuing from @sum. */
uint16_t icmp_checksum(const uint8_t *p, size_t len, uint32_t sum);

#endif
