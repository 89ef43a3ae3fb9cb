// SPDX-License-Identifier: MIT
/*
 * meshd's nftables table: the script is built as text here (pure, unit
 * tested) and handed to libnftables, which parses it like `nft -f` and sends
 * it to the kernel as one batch.
 */
#include "router/router_nft.h"

#include <errno.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TABLE "inet " ROUTER_NFT_TABLE

struct script {
	char *buf;
	size_t len, used;
	bool overflow;
};

static void emit(struct script *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(struct script *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->used, s->len - s->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= s->len - s->used) {
		s->overflow = true;
		return;
	}
	s->used += (size_t)n;
}

/* Names go inside nft double quotes: no quotes, backslashes or '*' (a wildcard there). */
static bool ifname_ok(const char *name)
{
	size_t n = strnlen(name, IFNAMSIZ);

	if (n == 0 || n >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '@' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

static bool prefix_ok(const struct ip_prefix *p, uint8_t family)
{
	return p->addr.family == IP_FAMILY_UNSET ||
	       (p->addr.family == family && p->bits <= ip_addr_bits(&p->addr));
}

int router_nft_build(const struct router_nft_config *cfg, char *buf, size_t len)
{
	struct script s = {.buf = buf, .len = len};
	char v4[IP_PREFIX_STRLEN] = "", v6[IP_PREFIX_STRLEN] = "";
	const char *ifn = cfg->ifname;
	struct ip_prefix p;

	if (!ifname_ok(ifn) || !prefix_ok(&cfg->mesh_v4, IP_FAMILY_V4) ||
	    !prefix_ok(&cfg->mesh_v6, IP_FAMILY_V6))
		return -EINVAL;
	if (!buf || !len)
		return -ENOSPC;
	buf[0] = '\0';
	if (cfg->mesh_v4.addr.family) {
		p = cfg->mesh_v4;
		ip_prefix_mask(&p);
		ip_prefix_format(&p, v4, sizeof(v4));
	}
	if (cfg->mesh_v6.addr.family) {
		p = cfg->mesh_v6;
		ip_prefix_mask(&p);
		ip_prefix_format(&p, v6, sizeof(v6));
	}

	/* "add" makes the "delete" succeed when the table is new; the three are one batch. */
	emit(&s, "add table %s\ndelete table %s\ntable %s {\n", TABLE, TABLE, TABLE);
	emit(&s, "\tchain input {\n"
		 "\t\ttype filter hook input priority filter; policy accept;\n"
		 "\t}\n");
	emit(&s, "\tchain forward {\n"
		 "\t\ttype filter hook forward priority filter; policy accept;\n");
	emit(&s, "\t\tiifname \"%s\" accept\n", ifn);
	if (v4[0])
		emit(&s, "\t\toifname \"%s\" ip saddr %s drop\n", ifn, v4);
	if (v6[0])
		emit(&s, "\t\toifname \"%s\" ip6 saddr %s drop\n", ifn, v6);
	emit(&s, "\t\toifname \"%s\" accept\n\t}\n", ifn);
	if (cfg->snat && (v4[0] || v6[0])) {
		emit(&s, "\tchain postrouting {\n"
			 "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
		/* "fib saddr type != local": forwarded packets, not this host's own. */
		if (v4[0])
			emit(&s,
			     "\t\toifname != \"%s\" ip saddr %s fib saddr type != local "
			     "masquerade\n",
			     ifn, v4);
		if (v6[0])
			emit(&s,
			     "\t\toifname != \"%s\" ip6 saddr %s fib saddr type != local "
			     "masquerade\n",
			     ifn, v6);
		emit(&s, "\t}\n");
	}
	emit(&s, "}\n");
	if (s.overflow) {
		buf[0] = '\0';
		return -ENOSPC;
	}
	return (int)s.used;
}

/* The first line of nft's error output, and an errno for it. */
static int nft_error(const char *text, char *err, size_t errlen)
{
	size_t n;

	if (!text)
		text = "";
	if (err && errlen) {
		n = strcspn(text, "\n");
		if (n >= errlen)
			n = errlen - 1;
		memcpy(err, text, n);
		err[n] = '\0';
	}
	if (strstr(text, "Operation not permitted"))
		return -EPERM;
	if (strstr(text, "not supported") || strstr(text, "No such file or directory"))
		return -EOPNOTSUPP; /* a missing kernel module or expression */
	return -EIO;
}

static int run(const char *script, char *err, size_t errlen)
{
	struct nft_ctx *ctx;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (nft_run_cmd_from_buffer(ctx, script) != 0)
		ret = nft_error(nft_ctx_get_error_buffer(ctx), err, errlen);
out_free:
	nft_ctx_free(ctx);
	return ret;
}

int router_nft_apply(const struct router_nft_config *cfg, char *err, size_t errlen)
{
	char script[ROUTER_NFT_SCRIPT_MAX];
	int ret;

	if (err && errlen)
		err[0] = '\0';
	ret = router_nft_build(cfg, script, sizeof(script));
	if (ret < 0)
		return ret;
	return run(script, err, errlen);
}

int router_nft_cleanup(char *err, size_t errlen)
{
	return run("add table " TABLE "\ndelete table " TABLE "\n", err, errlen);
}
