// SPDX-License-Identifier: MIT
/*
 * IP address, prefix and endpoint values: strict parsing on top of inet_pton,
 * RFC 5952 formatting done here (glibc's inet_ntop picks mixed notation for
 * more than the IPv4-mapped range), and bit-prefix arithmetic.
 */
#include "util/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

enum ipaddr_limits {
	/* Longest text inet_pton accepts: six 4-digit groups and a dotted quad. */
	ADDR_TEXT_MAX = 45,
	PORT_MAX = 65535,
};

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void set_why(const char **why, const char *reason)
{
	if (why)
		*why = reason;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static size_t addr_len(const struct ip_addr *a)
{
	return a->family == IP_FAMILY_V4 ? 4 : a->family == IP_FAMILY_V6 ? 16 : 0;
}

void ip_addr_set_v4(struct ip_addr *a, const uint8_t b[4])
{
	memset(a, 0, sizeof(*a));
	a->family = IP_FAMILY_V4;
	memcpy(a->bytes, b, 4);
}

void ip_addr_set_v6(struct ip_addr *a, const uint8_t b[16])
{
	memset(a, 0, sizeof(*a));
	a->family = IP_FAMILY_V6;
	memcpy(a->bytes, b, 16);
}

unsigned int ip_addr_bits(const struct ip_addr *a)
{
	return (unsigned int)addr_len(a) * 8;
}

bool ip_addr_is_v4_mapped(const struct ip_addr *a)
{
	return a->family == IP_FAMILY_V6 &&
	       !memcmp(a->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix));
}

void ip_addr_unmap(struct ip_addr *a)
{
	uint8_t v4[4];

	if (!ip_addr_is_v4_mapped(a))
		return;
	memcpy(v4, a->bytes + 12, 4);
	ip_addr_set_v4(a, v4);
}

/*
 * Parse exactly @n bytes at @s (not necessarily NUL-terminated) as an address.
 * The prefix and endpoint parsers call this on their address part.
 */
static int parse_addr(struct ip_addr *out, const char *s, size_t n, const char **why)
{
	char text[ADDR_TEXT_MAX + 1];
	struct ip_addr a = {0};

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		set_why(why, "empty address");
		return -EINVAL;
	}
	if (is_space(s[0]) || is_space(s[n - 1])) {
		set_why(why, "leading or trailing white space");
		return -EINVAL;
	}
	if (memchr(s, '%', n)) {
		set_why(why, "zone ids are not allowed");
		return -EINVAL;
	}
	if (n > ADDR_TEXT_MAX) {
		set_why(why, "address too long");
		return -EINVAL;
	}
	memcpy(text, s, n);
	text[n] = '\0';

	if (memchr(text, ':', n)) {
		if (inet_pton(AF_INET6, text, a.bytes) != 1) {
			set_why(why, "invalid IPv6 address");
			return -EINVAL;
		}
		a.family = IP_FAMILY_V6;
		if (ip_addr_is_v4_mapped(&a)) {
			set_why(why, "IPv4-mapped IPv6 address: write it as IPv4");
			return -EINVAL;
		}
	} else {
		if (inet_pton(AF_INET, text, a.bytes) != 1) {
			set_why(why, memchr(text, '.', n) ? "invalid IPv4 address"
							  : "not an IP address");
			return -EINVAL;
		}
		a.family = IP_FAMILY_V4;
	}
	*out = a;
	return 0;
}

enum decimal_result {
	DECIMAL_OK,
	DECIMAL_MISSING,
	DECIMAL_NOT_DIGITS,
	DECIMAL_LEADING_ZERO,
	DECIMAL_RANGE,
};

/* Parse @n bytes of decimal digits, no sign or leading zeros, at most @max, into *@out. */
static enum decimal_result parse_decimal(const char *s, size_t n, unsigned int max,
					 unsigned int *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0)
		return DECIMAL_MISSING;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return DECIMAL_NOT_DIGITS;
	}
	if (s[0] == '0' && n > 1)
		return DECIMAL_LEADING_ZERO;
	for (i = 0; i < n; i++) {
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return DECIMAL_RANGE;
	}
	*out = (unsigned int)v;
	return DECIMAL_OK;
}

int ip_addr_parse(struct ip_addr *out, const char *s, const char **why)
{
	if (!s) {
		memset(out, 0, sizeof(*out));
		set_why(why, "empty address");
		return -EINVAL;
	}
	return parse_addr(out, s, strlen(s), why);
}

int ip_prefix_parse(struct ip_prefix *out, const char *s, const char **why)
{
	static const char *const bits_why[] = {
		[DECIMAL_MISSING] = "missing prefix length (ADDR/N)",
		[DECIMAL_NOT_DIGITS] = "prefix length is not a decimal number",
		[DECIMAL_LEADING_ZERO] = "prefix length has a leading zero",
		[DECIMAL_RANGE] = "prefix length out of range",
	};
	enum decimal_result res;
	const char *slash;
	unsigned int bits = 0;
	size_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		set_why(why, "empty prefix");
		return -EINVAL;
	}
	n = strlen(s);
	if (is_space(s[0]) || is_space(s[n - 1])) {
		set_why(why, "leading or trailing white space");
		return -EINVAL;
	}
	slash = strrchr(s, '/');
	if (!slash) {
		set_why(why, bits_why[DECIMAL_MISSING]);
		return -EINVAL;
	}
	ret = parse_addr(&out->addr, s, (size_t)(slash - s), why);
	if (ret)
		return ret;
	res = parse_decimal(slash + 1, strlen(slash + 1), ip_addr_bits(&out->addr), &bits);
	if (res != DECIMAL_OK) {
		memset(out, 0, sizeof(*out));
		set_why(why, bits_why[res]);
		return -EINVAL;
	}
	out->bits = (uint8_t)bits;
	return 0;
}

static int parse_port(uint16_t *port, const char *s, const char **why)
{
	static const char *const port_why[] = {
		[DECIMAL_MISSING] = "missing port",
		[DECIMAL_NOT_DIGITS] = "port is not a decimal number",
		[DECIMAL_LEADING_ZERO] = "port has a leading zero",
		[DECIMAL_RANGE] = "port out of range (0-65535)",
	};
	enum decimal_result res;
	unsigned int v = 0;

	res = parse_decimal(s, strlen(s), PORT_MAX, &v);
	if (res != DECIMAL_OK) {
		set_why(why, port_why[res]);
		return -EINVAL;
	}
	*port = (uint16_t)v;
	return 0;
}

int ip_endpoint_parse(struct ip_endpoint *out, const char *s, const char **why)
{
	const char *close, *colon;
	size_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!s || !*s) {
		set_why(why, "empty endpoint");
		return -EINVAL;
	}
	n = strlen(s);
	if (is_space(s[0]) || is_space(s[n - 1])) {
		set_why(why, "leading or trailing white space");
		return -EINVAL;
	}
	if (s[0] == '[') {
		close = strchr(s, ']');
		if (!close) {
			set_why(why, "missing ']' after IPv6 address");
			return -EINVAL;
		}
		ret = parse_addr(&out->addr, s + 1, (size_t)(close - s - 1), why);
		if (ret)
			goto out_clear;
		if (out->addr.family != IP_FAMILY_V6) {
			set_why(why, "brackets are only for IPv6 addresses");
			ret = -EINVAL;
			goto out_clear;
		}
		if (close[1] != ':') {
			set_why(why, close[1] ? "expected ':' after ']'" : "missing port");
			ret = -EINVAL;
			goto out_clear;
		}
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon) {
			set_why(why, "missing port (ADDR:PORT)");
			return -EINVAL;
		}
		if (memchr(s, ':', (size_t)(colon - s))) {
			set_why(why, "IPv6 endpoint needs brackets: [ADDR]:PORT");
			return -EINVAL;
		}
		ret = parse_addr(&out->addr, s, (size_t)(colon - s), why);
		if (ret)
			goto out_clear;
	}
	ret = parse_port(&out->port, colon + 1, why);
	if (ret)
		goto out_clear;
	return 0;

out_clear:
	memset(out, 0, sizeof(*out));
	return ret;
}

static char *copy_out(char *buf, size_t len, const char *text)
{
	size_t n = strlen(text);

	if (len == 0)
		return buf;
	if (n >= len)
		n = len - 1;
	memcpy(buf, text, n);
	buf[n] = '\0';
	return buf;
}

/* RFC 5952 text of an IPv6 address into @text (at least IP_ADDR_STRLEN bytes). */
static void format_v6(const uint8_t b[16], char *text)
{
	unsigned int words[8];
	int best = -1, best_len = 0, run = -1, run_len = 0, i;
	char *p = text;

	if (!memcmp(b, v4_mapped_prefix, sizeof(v4_mapped_prefix))) {
		sprintf(text, "::ffff:%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
		return;
	}
	for (i = 0; i < 8; i++) {
		words[i] = (unsigned int)b[2 * i] << 8 | b[2 * i + 1];
		if (words[i]) {
			run = -1;
			continue;
		}
		if (run < 0) {
			run = i;
			run_len = 0;
		}
		/* Strictly longer wins, so the first of equal runs is kept. */
		if (++run_len > best_len) {
			best = run;
			best_len = run_len;
		}
	}
	if (best_len < 2)
		best = -1;

	for (i = 0; i < 8; i++) {
		if (i == best) {
			*p++ = ':';
			*p++ = ':';
			i += best_len - 1;
			continue;
		}
		if (i > 0 && i != best + best_len)
			*p++ = ':';
		p += sprintf(p, "%x", words[i]);
	}
	*p = '\0';
}

static void format_addr(const struct ip_addr *a, char *text)
{
	const uint8_t *b = a->bytes;

	if (a->family == IP_FAMILY_V4)
		sprintf(text, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
	else if (a->family == IP_FAMILY_V6)
		format_v6(b, text);
	else
		strcpy(text, "unset");
}

char *ip_addr_format(const struct ip_addr *a, char *buf, size_t len)
{
	char text[IP_ADDR_STRLEN];

	format_addr(a, text);
	return copy_out(buf, len, text);
}

char *ip_prefix_format(const struct ip_prefix *p, char *buf, size_t len)
{
	char text[IP_PREFIX_STRLEN];
	size_t n;

	format_addr(&p->addr, text);
	n = strlen(text);
	snprintf(text + n, sizeof(text) - n, "/%u", p->bits);
	return copy_out(buf, len, text);
}

char *ip_endpoint_format(const struct ip_endpoint *e, char *buf, size_t len)
{
	char addr[IP_ADDR_STRLEN], text[IP_ENDPOINT_STRLEN];

	format_addr(&e->addr, addr);
	if (e->addr.family == IP_FAMILY_V6)
		snprintf(text, sizeof(text), "[%s]:%u", addr, e->port);
	else
		snprintf(text, sizeof(text), "%s:%u", addr, e->port);
	return copy_out(buf, len, text);
}

bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && !memcmp(a->bytes, b->bytes, addr_len(a));
}

int ip_addr_compare(const struct ip_addr *a, const struct ip_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, addr_len(a));
}

bool ip_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->bits == b->bits && ip_addr_equal(&a->addr, &b->addr);
}

/* True if the first @bits bits of @x and @y agree (@bits <= 128). */
static bool same_leading_bits(const uint8_t *x, const uint8_t *y, unsigned int bits)
{
	unsigned int whole = bits / 8, rest = bits % 8;
	uint8_t mask;

	if (memcmp(x, y, whole))
		return false;
	if (!rest)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return !((x[whole] ^ y[whole]) & mask);
}

bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a)
{
	if (p->addr.family == IP_FAMILY_UNSET || p->addr.family != a->family ||
	    p->bits > ip_addr_bits(a))
		return false;
	return same_leading_bits(p->addr.bytes, a->bytes, p->bits);
}

bool ip_prefix_overlaps(const struct ip_prefix *a, const struct ip_prefix *b)
{
	unsigned int max = ip_addr_bits(&a->addr);

	if (!max || a->addr.family != b->addr.family || a->bits > max || b->bits > max)
		return false;
	return same_leading_bits(a->addr.bytes, b->addr.bytes,
				 a->bits < b->bits ? a->bits : b->bits);
}

void ip_prefix_mask(struct ip_prefix *p)
{
	unsigned int whole = p->bits / 8, rest = p->bits % 8;

	if (whole >= sizeof(p->addr.bytes))
		return;
	if (rest)
		p->addr.bytes[whole++] &= (uint8_t)(0xff << (8 - rest));
	memset(p->addr.bytes + whole, 0, sizeof(p->addr.bytes) - whole);
}

bool ip_prefix_is_canonical(const struct ip_prefix *p)
{
	struct ip_prefix masked = *p;
	unsigned int max = ip_addr_bits(&p->addr);

	if (!max || p->bits > max)
		return false;
	ip_prefix_mask(&masked);
	return !memcmp(masked.addr.bytes, p->addr.bytes, sizeof(p->addr.bytes));
}

int ip_endpoint_to_sockaddr(const struct ip_endpoint *e, struct sockaddr_storage *ss,
			    socklen_t *len)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(ss, 0, sizeof(*ss));
	switch (e->addr.family) {
	case IP_FAMILY_V4:
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(e->port);
		memcpy(&sin.sin_addr, e->addr.bytes, 4);
		memcpy(ss, &sin, sizeof(sin));
		if (len)
			*len = sizeof(sin);
		return 0;
	case IP_FAMILY_V6:
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(e->port);
		memcpy(&sin6.sin6_addr, e->addr.bytes, 16);
		memcpy(ss, &sin6, sizeof(sin6));
		if (len)
			*len = sizeof(sin6);
		return 0;
	default:
		return -EAFNOSUPPORT;
	}
}

int ip_endpoint_from_sockaddr(struct ip_endpoint *e, const struct sockaddr *sa)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(e, 0, sizeof(*e));
	switch (sa->sa_family) {
	case AF_INET:
		memcpy(&sin, sa, sizeof(sin));
		ip_addr_set_v4(&e->addr, (const uint8_t *)&sin.sin_addr);
		e->port = ntohs(sin.sin_port);
		return 0;
	case AF_INET6:
		memcpy(&sin6, sa, sizeof(sin6));
		ip_addr_set_v6(&e->addr, sin6.sin6_addr.s6_addr);
		ip_addr_unmap(&e->addr);
		e->port = ntohs(sin6.sin6_port);
		return 0;
	default:
		return -EAFNOSUPPORT;
	}
}
