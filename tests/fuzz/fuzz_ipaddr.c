// SPDX-License-Identifier: MIT
/*
 * Fuzz target for util/ipaddr: the input, as a NUL-terminated string (cut at
 * its first NUL), goes to the address, prefix and endpoint parsers.
 *
 * Properties checked besides memory safety:
 *  - a failed parse leaves *out zeroed and gives a reason;
 *  - whatever parses formats to text that parses back to the same value,
 *    and that text is a fixed point of format(parse(.)) (RFC 5952 canonical);
 *  - the address grammar is inet_pton's: ip_addr_parse() accepts exactly
 *    what inet_pton() accepts, minus IPv4-mapped IPv6, with the same bytes;
 *  - masking a prefix makes it canonical, and a prefix contains its address.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util/ipaddr.h"

static bool all_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* What glibc's inet_pton makes of @s: 4, 6, or 0 (rejected). */
static int pton(const char *s, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	memset(out, 0, 16);
	if (inet_pton(AF_INET6, s, out) == 1)
		return 6;
	return 0;
}

static void check_addr(const char *s)
{
	char text[IP_ADDR_STRLEN], again_text[IP_ADDR_STRLEN];
	struct ip_addr a, again;
	const char *why = NULL;
	uint8_t ref[16];
	int fam = pton(s, ref);

	if (ip_addr_parse(&a, s, &why)) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(all_zero(&a, sizeof(a)));
		/* inet_pton may accept it only as an IPv4-mapped IPv6 address. */
		if (fam == 6) {
			struct ip_addr m;

			ip_addr_set_v6(&m, ref);
			FUZZ_CHECK(ip_addr_is_v4_mapped(&m));
		} else {
			FUZZ_CHECK(fam == 0);
		}
		return;
	}
	FUZZ_CHECK(a.family == fam);
	FUZZ_CHECK(memcmp(a.bytes, ref, 16) == 0);
	FUZZ_CHECK(!ip_addr_is_v4_mapped(&a));

	ip_addr_format(&a, text, sizeof(text));
	FUZZ_CHECK(ip_addr_parse(&again, text, NULL) == 0);
	FUZZ_CHECK(ip_addr_equal(&a, &again));
	FUZZ_CHECK(ip_addr_compare(&a, &again) == 0);
	ip_addr_format(&again, again_text, sizeof(again_text));
	FUZZ_CHECK(strcmp(text, again_text) == 0);
}

static void check_prefix(const char *s)
{
	char text[IP_PREFIX_STRLEN];
	struct ip_prefix p, again;
	const char *why = NULL;

	if (ip_prefix_parse(&p, s, &why)) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(all_zero(&p, sizeof(p)));
		return;
	}
	FUZZ_CHECK(p.bits <= ip_addr_bits(&p.addr));
	ip_prefix_format(&p, text, sizeof(text));
	FUZZ_CHECK(ip_prefix_parse(&again, text, NULL) == 0);
	FUZZ_CHECK(ip_prefix_equal(&p, &again));
	FUZZ_CHECK(ip_prefix_contains(&p, &p.addr));
	FUZZ_CHECK(ip_prefix_overlaps(&p, &again));

	again = p;
	ip_prefix_mask(&again);
	FUZZ_CHECK(ip_prefix_is_canonical(&again));
	FUZZ_CHECK(ip_prefix_contains(&again, &p.addr));
	FUZZ_CHECK(ip_prefix_is_canonical(&p) == ip_prefix_equal(&p, &again));
}

static void check_endpoint(const char *s)
{
	char text[IP_ENDPOINT_STRLEN];
	struct ip_endpoint e, again;
	struct sockaddr_storage ss;
	const char *why = NULL;
	socklen_t sl;

	if (ip_endpoint_parse(&e, s, &why)) {
		FUZZ_CHECK(why != NULL);
		FUZZ_CHECK(all_zero(&e, sizeof(e)));
		return;
	}
	ip_endpoint_format(&e, text, sizeof(text));
	FUZZ_CHECK(ip_endpoint_parse(&again, text, NULL) == 0);
	FUZZ_CHECK(again.port == e.port && ip_addr_equal(&again.addr, &e.addr));

	/* Through a sockaddr and back. */
	FUZZ_CHECK(ip_endpoint_to_sockaddr(&e, &ss, &sl) == 0);
	FUZZ_CHECK(ip_endpoint_from_sockaddr(&again, (struct sockaddr *)&ss) == 0);
	FUZZ_CHECK(again.port == e.port && ip_addr_equal(&again.addr, &e.addr));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_addr(s);
	check_prefix(s);
	check_endpoint(s);
	free(s);
	return 0;
}
