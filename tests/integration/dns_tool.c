// SPDX-License-Identifier: MIT
/*
 * mesh_dns_tool: a command-line driver of src/dns/ for the namespace tests
 * (not installed). It applies and restores the host DNS configuration the
 * way meshd does, serves MagicDNS on a TUN device (packets in, packets out,
 * UDP and TCP, exactly meshd's path) or on a plain UDP socket, and runs a
 * stand-in upstream resolver.
 *
 *   osconfig-apply   --state-dir DIR [--resolv FILE] [--ifname IF] [--nameserver IP]...
 *                    [--search DOMAIN]... [--match DOMAIN]... [--direct] [--hold]
 *   osconfig-restore --state-dir DIR [--resolv FILE]
 *   osconfig-upstreams --state-dir DIR [--resolv FILE]
 *   serve (--tun IFNAME | --udp ADDR:PORT) RECORDS.json [--timeout-ms N]
 *   fake-upstream ADDR:PORT [--answer IPV4] [--silent]
 *
 * RECORDS.json: {"base_domain": "mesh.test",
 *   "hosts": [{"name": "server", "addresses": ["100.64.0.1", "fd7a:115c:a1e0::1"]}],
 *   "extra_records": [{"name": "grafana.mesh.test", "value": "100.64.0.1"}],
 *   "routes": {"corp.test": ["192.0.2.53:53"], "local.test": []},
 *   "nameservers": ["127.0.0.1:5300"]}
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "dns/dnsmsg.h"
#include "dns/forward.h"
#include "dns/magicdns.h"
#include "dns/osconfig.h"
#include "tun/tun.h"
#include "util/compiler.h"
#include "util/log.h"

enum tool_limits {
	MAX_ITEMS = 64,
	MAX_ADDRS = 256,
	EXIT_USAGE = 2,
	PKT_MAX = 65536,
};

static const char usage_text[] =
	"usage: mesh_dns_tool COMMAND ...\n"
	"  osconfig-apply --state-dir DIR [--resolv FILE] [--ifname IF] [--nameserver IP]...\n"
	"                 [--search DOMAIN]... [--match DOMAIN]... [--direct] [--hold]\n"
	"  osconfig-restore --state-dir DIR [--resolv FILE]\n"
	"  osconfig-upstreams --state-dir DIR [--resolv FILE]\n"
	"  serve (--tun IFNAME | --udp ADDR:PORT) RECORDS.json [--timeout-ms N]\n"
	"  fake-upstream ADDR:PORT [--answer IPV4] [--silent]\n";

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "mesh_dns_tool: %s\n", why);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* ---------------------------------------------------------------------------------------- */
/* osconfig */

static int wait_for_signal(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return sigwait(&set, &sig);
}

static int cmd_osconfig(int argc, char **argv)
{
	static const char *const mode_names[] = {"none", "direct", "resolved"};
	struct ip_addr ns[MAX_ITEMS];
	const char *search[MAX_ITEMS], *match[MAX_ITEMS];
	struct osconfig_params p = {
		.nameservers = ns, .search_domains = search, .match_domains = match};
	const char *cmd = argv[0];
	bool hold = false;
	enum osconfig_mode mode;
	int ret;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--direct")) {
			p.direct_only = true;
			continue;
		}
		if (!strcmp(a, "--hold")) {
			hold = true;
			continue;
		}
		if (!v)
			return usage("missing value");
		i++;
		if (!strcmp(a, "--state-dir")) {
			p.state_dir = v;
		} else if (!strcmp(a, "--resolv")) {
			p.resolv_conf = v;
		} else if (!strcmp(a, "--ifname")) {
			p.ifname = v;
		} else if (!strcmp(a, "--nameserver") && p.nnameservers < MAX_ITEMS) {
			if (ip_addr_parse(&ns[p.nnameservers++], v, NULL) < 0)
				return usage("bad --nameserver");
		} else if (!strcmp(a, "--search") && p.nsearch_domains < MAX_ITEMS) {
			search[p.nsearch_domains++] = v;
		} else if (!strcmp(a, "--match") && p.nmatch_domains < MAX_ITEMS) {
			match[p.nmatch_domains++] = v;
		} else {
			return usage("unknown option");
		}
	}
	if (!p.state_dir)
		return usage("--state-dir is required");
	if (!strcmp(cmd, "osconfig-restore")) {
		ret = osconfig_restore(&p);
		if (ret < 0)
			fprintf(stderr, "mesh_dns_tool: restore: %s\n", strerror(-ret));
		return ret < 0;
	}
	if (!strcmp(cmd, "osconfig-upstreams")) {
		struct ip_endpoint ups[MAX_ITEMS];
		char buf[IP_ENDPOINT_STRLEN];
		size_t n;

		ret = osconfig_base_nameservers(&p, ups, MAX_ITEMS, &n);
		for (size_t i = 0; ret == 0 && i < n; i++)
			printf("%s\n", ip_endpoint_format(&ups[i], buf, sizeof(buf)));
		return ret < 0;
	}
	if (!p.nnameservers) {
		magicdns_service_addr(&ns[0], false);
		p.nnameservers = 1;
	}
	ret = osconfig_apply(&p, &mode);
	if (ret < 0) {
		fprintf(stderr, "mesh_dns_tool: apply: %s\n", strerror(-ret));
		return 1;
	}
	printf("applied mode=%s\n", mode_names[mode]);
	fflush(stdout);
	if (!hold)
		return 0;
	/* Like meshd: configured while running, restored on a clean stop. */
	wait_for_signal();
	ret = osconfig_restore(&p);
	printf("restored\n");
	return ret < 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Records */

struct records {
	struct magicdns_host hosts[MAX_ITEMS];
	struct magicdns_record extra[MAX_ITEMS];
	struct magicdns_route routes[MAX_ITEMS];
	struct ip_addr addrs[MAX_ADDRS];
	struct ip_endpoint eps[MAX_ADDRS];
	size_t naddrs, neps;
	struct magicdns_config cfg;
	cJSON *json;
};

static int parse_eps(struct records *r, const cJSON *arr, const struct ip_endpoint **out, size_t *n)
{
	const cJSON *it;

	*out = r->eps + r->neps;
	*n = 0;
	cJSON_ArrayForEach (it, arr) {
		if (!cJSON_IsString(it) || r->neps == MAX_ADDRS ||
		    ip_endpoint_parse(&r->eps[r->neps], it->valuestring, NULL) < 0)
			return -EINVAL;
		r->neps++;
		(*n)++;
	}
	return 0;
}

static int load_records(struct records *r, const char *path)
{
	const cJSON *it, *a;
	char *text;
	long len;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)len + 1);
	if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(text);
		return -EIO;
	}
	fclose(f);
	r->json = cJSON_Parse(text);
	free(text);
	if (!r->json)
		return -EINVAL;
	it = cJSON_GetObjectItem(r->json, "base_domain");
	r->cfg.base_domain = cJSON_IsString(it) ? it->valuestring : NULL;
	cJSON_ArrayForEach (it, cJSON_GetObjectItem(r->json, "hosts")) {
		struct magicdns_host *h = &r->hosts[r->cfg.nhosts];

		if (r->cfg.nhosts == MAX_ITEMS || !cJSON_IsString(cJSON_GetObjectItem(it, "name")))
			return -EINVAL;
		h->name = cJSON_GetObjectItem(it, "name")->valuestring;
		h->addrs = r->addrs + r->naddrs;
		cJSON_ArrayForEach (a, cJSON_GetObjectItem(it, "addresses")) {
			if (!cJSON_IsString(a) || r->naddrs == MAX_ADDRS ||
			    ip_addr_parse(&r->addrs[r->naddrs++], a->valuestring, NULL) < 0)
				return -EINVAL;
			h->naddrs++;
		}
		r->cfg.nhosts++;
	}
	cJSON_ArrayForEach (it, cJSON_GetObjectItem(r->json, "extra_records")) {
		struct magicdns_record *x = &r->extra[r->cfg.nrecords];
		const cJSON *n = cJSON_GetObjectItem(it, "name"),
			    *v = cJSON_GetObjectItem(it, "value");

		if (r->cfg.nrecords == MAX_ITEMS || !cJSON_IsString(n) || !cJSON_IsString(v) ||
		    ip_addr_parse(&x->addr, v->valuestring, NULL) < 0)
			return -EINVAL;
		x->name = n->valuestring;
		r->cfg.nrecords++;
	}
	cJSON_ArrayForEach (it, cJSON_GetObjectItem(r->json, "routes")) {
		struct magicdns_route *rt = &r->routes[r->cfg.nroutes];

		if (r->cfg.nroutes == MAX_ITEMS ||
		    parse_eps(r, it, &rt->resolvers, &rt->nresolvers) < 0)
			return -EINVAL;
		rt->domain = it->string;
		r->cfg.nroutes++;
	}
	if (parse_eps(r, cJSON_GetObjectItem(r->json, "nameservers"), &r->cfg.upstreams,
		      &r->cfg.nupstreams) < 0)
		return -EINVAL;
	r->cfg.hosts = r->hosts;
	r->cfg.records = r->extra;
	r->cfg.routes = r->routes;
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* serve */

struct server {
	uv_loop_t *loop;
	struct magicdns *md;
	struct dns_forward *fwd;
	struct tun_device tun;
	uv_poll_t poll;
	uv_udp_t udp;
	uv_timer_t tick;
	uv_signal_t sigterm, sigint;
	bool use_tun;
	uint8_t pkt[PKT_MAX];
	uint8_t out[MAGICDNS_OUT_BUF];
};

/* One forwarded query: whom to answer and, for a SERVFAIL, the question. */
struct pending {
	struct server *s;
	struct magicdns_client client;
	struct sockaddr_storage from; /* --udp mode */
	size_t len;
	uint8_t query[];
};

static uint64_t now_ms(struct server *s)
{
	return uv_now(s->loop);
}

static void write_packets(struct server *s, const struct magicdns_output *o)
{
	for (unsigned int i = 0; i < o->npackets; i++) {
		if (write(s->tun.fd, o->packets[i].data, o->packets[i].len) < 0)
			log_warn("dns_tool", "tun write failed err=%s", strerror(errno));
	}
}

static void udp_send(struct server *s, const struct sockaddr *to, const uint8_t *buf, size_t len)
{
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned int)len);

	if (uv_udp_try_send(&s->udp, &b, 1, to) < 0)
		log_warn("dns_tool", "udp send failed");
}

static void on_forwarded(void *ctx, int status, const uint8_t *reply, size_t len)
{
	struct pending *p = ctx;
	struct server *s = p->s;
	uint8_t err[512], cut[DNS_MSG_MAX];
	struct magicdns_output o;
	int n;

	if (status == -ECANCELED)
		goto out_free;
	if (status < 0) {
		/* No upstream answered: SERVFAIL, so the client does not hang. */
		n = dnsmsg_build_error(p->query, p->len, DNS_RCODE_SERVFAIL, 1232, err,
				       sizeof(err));
		if (n < 0)
			goto out_free;
		reply = err;
		len = (size_t)n;
	}
	if (s->use_tun) {
		magicdns_output_init(&o, s->out, sizeof(s->out));
		magicdns_handle_reply(s->md, &p->client, reply, len, now_ms(s), &o);
		write_packets(s, &o);
	} else {
		n = dnsmsg_truncate(reply, len, cut, p->client.udp_limit);
		if (n > 0)
			udp_send(s, (const struct sockaddr *)&p->from, cut, (size_t)n);
	}
out_free:
	free(p);
}

static void forward(struct server *s, const struct magicdns_client *client, const uint8_t *q,
		    size_t len, const struct magicdns_upstreams *up, const struct sockaddr *from)
{
	struct pending *p = malloc(sizeof(*p) + len);

	if (!p)
		return;
	p->s = s;
	p->client = *client;
	if (from)
		memcpy(&p->from, from, sizeof(struct sockaddr_storage));
	p->len = len;
	memcpy(p->query, q, len);
	if (dns_forward_query(s->fwd, q, len, up->addrs, up->n, on_forwarded, p, NULL) < 0)
		on_forwarded(p, -EAGAIN, NULL, 0);
}

static void on_tun(uv_poll_t *h, int status, int events)
{
	struct server *s = container_of(h, struct server, poll);
	struct magicdns_output o;
	ssize_t n;

	(void)status;
	(void)events;
	while ((n = read(s->tun.fd, s->pkt, sizeof(s->pkt))) > 0) {
		if (!magicdns_is_service_packet(s->pkt, (size_t)n))
			continue;
		magicdns_output_init(&o, s->out, sizeof(s->out));
		if (magicdns_handle_packet(s->md, s->pkt, (size_t)n, now_ms(s), &o) < 0)
			continue;
		write_packets(s, &o);
		for (unsigned int i = 0; i < o.nforwards; i++)
			forward(s, &o.forwards[i].client, o.forwards[i].query, o.forwards[i].len,
				&o.forwards[i].upstreams, NULL);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct server *s = container_of((uv_udp_t *)h, struct server, udp);

	(void)suggested;
	*buf = uv_buf_init((char *)s->pkt, sizeof(s->pkt));
}

static void on_udp(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
		   unsigned int flags)
{
	struct server *s = container_of(h, struct server, udp);
	uint8_t resp[MAGICDNS_RESPONSE_MAX];
	struct magicdns_upstreams up;
	struct magicdns_client client = {.ipproto = 17};
	size_t n;
	int v;

	(void)flags;
	if (nread <= 0 || !from)
		return;
	v = magicdns_answer(s->md, (const uint8_t *)buf->base, (size_t)nread, false, resp,
			    sizeof(resp), &n, &up, &client.udp_limit);
	if (v == MAGICDNS_ANSWERED)
		udp_send(s, from, resp, n);
	else if (v == MAGICDNS_FORWARD)
		forward(s, &client, (const uint8_t *)buf->base, (size_t)nread, &up, from);
}

static void on_tick(uv_timer_t *t)
{
	struct server *s = container_of(t, struct server, tick);

	magicdns_expire(s->md, now_ms(s));
}

static void on_signal(uv_signal_t *h, int sig)
{
	(void)sig;
	uv_stop(h->loop);
}

static int cmd_serve(int argc, char **argv)
{
	struct server *s = calloc(1, sizeof(*s));
	struct dns_forward_config fc = {0};
	struct records *r = calloc(1, sizeof(*r));
	const char *tun = NULL, *udp = NULL, *file = NULL;
	struct ip_endpoint bind_ep;
	struct sockaddr_storage ss;
	int ret = 1;

	if (!s || !r)
		return 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--tun") && i + 1 < argc)
			tun = argv[++i];
		else if (!strcmp(argv[i], "--udp") && i + 1 < argc)
			udp = argv[++i];
		else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			fc.timeout_ms = (unsigned int)atoi(argv[++i]);
		else if (argv[i][0] != '-' && !file)
			file = argv[i];
		else
			return usage("bad serve arguments");
	}
	if (!file || !!tun == !!udp)
		return usage("serve needs RECORDS.json and one of --tun, --udp");
	if (load_records(r, file) < 0) {
		fprintf(stderr, "mesh_dns_tool: cannot load %s\n", file);
		return 1;
	}
	s->loop = uv_default_loop();
	if (magicdns_new(&s->md, NULL) < 0 || magicdns_set_records(s->md, &r->cfg) < 0 ||
	    dns_forward_new(&s->fwd, s->loop, &fc) < 0) {
		fprintf(stderr, "mesh_dns_tool: bad records\n");
		return 1;
	}
	if (tun) {
		s->use_tun = true;
		ret = tun_open(&s->tun, tun, 1280);
		if (ret < 0) {
			fprintf(stderr, "mesh_dns_tool: tun %s: %s\n", tun, strerror(-ret));
			return 1;
		}
		uv_poll_init(s->loop, &s->poll, s->tun.fd);
		uv_poll_start(&s->poll, UV_READABLE, on_tun);
	} else {
		if (ip_endpoint_parse(&bind_ep, udp, NULL) < 0 ||
		    ip_endpoint_to_sockaddr(&bind_ep, &ss, NULL) < 0)
			return usage("bad --udp address");
		uv_udp_init(s->loop, &s->udp);
		ret = uv_udp_bind(&s->udp, (const struct sockaddr *)&ss, 0);
		if (ret < 0) {
			fprintf(stderr, "mesh_dns_tool: bind %s: %s\n", udp, uv_strerror(ret));
			return 1;
		}
		uv_udp_recv_start(&s->udp, on_alloc, on_udp);
	}
	uv_timer_init(s->loop, &s->tick);
	uv_timer_start(&s->tick, on_tick, 1000, 1000);
	uv_signal_init(s->loop, &s->sigterm);
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_signal_init(s->loop, &s->sigint);
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	printf("serving\n");
	fflush(stdout);
	uv_run(s->loop, UV_RUN_DEFAULT);
	/* Shutting down: the process exits, the kernel takes the TUN and sockets. */
	dns_forward_free(s->fwd);
	magicdns_free(s->md);
	tun_close(&s->tun);
	cJSON_Delete(r->json);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* fake-upstream: answers A queries with one address, everything else with no data. */

struct fake {
	uv_udp_t udp;
	struct ip_addr answer;
	bool silent;
	uint8_t buf[4096];
};

static void fake_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct fake *f = container_of((uv_udp_t *)h, struct fake, udp);

	(void)suggested;
	*buf = uv_buf_init((char *)f->buf, sizeof(f->buf));
}

static void fake_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
		      unsigned int flags)
{
	struct fake *f = container_of(h, struct fake, udp);
	uint8_t out[1024];
	struct dnsmsg q;
	struct dnsmsg_builder b;
	uv_buf_t ob;

	(void)flags;
	if (nread <= 0 || !from || f->silent ||
	    dnsmsg_parse((const uint8_t *)buf->base, (size_t)nread, &q) < 0 || !q.has_question)
		return;
	dnsmsg_builder_init(&b, out, sizeof(out), q.hdr.id,
			    DNS_FLAG_QR | DNS_FLAG_AA | DNS_FLAG_RA | (q.hdr.flags & DNS_FLAG_RD));
	dnsmsg_add_question(&b, &q.qname, q.qtype, q.qclass);
	if (q.qtype == DNS_TYPE_A)
		dnsmsg_add_addr(&b, DNSMSG_ANSWER, &q.qname, 30, &f->answer);
	if (q.has_opt)
		dnsmsg_add_opt(&b, 1232, 0, 0);
	ob = uv_buf_init((char *)out, (unsigned int)dnsmsg_builder_finish(&b));
	uv_udp_try_send(h, &ob, 1, from);
}

static int cmd_fake(int argc, char **argv)
{
	static struct fake f;
	struct ip_endpoint e;
	struct sockaddr_storage ss;
	uv_signal_t sig;
	uv_loop_t *loop = uv_default_loop();

	if (argc < 2 || ip_endpoint_parse(&e, argv[1], NULL) < 0 ||
	    ip_endpoint_to_sockaddr(&e, &ss, NULL) < 0)
		return usage("fake-upstream needs ADDR:PORT");
	ip_addr_parse(&f.answer, "192.0.2.1", NULL);
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--silent"))
			f.silent = true;
		else if (!strcmp(argv[i], "--answer") && i + 1 < argc &&
			 ip_addr_parse(&f.answer, argv[i + 1], NULL) == 0 &&
			 f.answer.family == IP_FAMILY_V4)
			i++;
		else
			return usage("bad fake-upstream arguments");
	}
	uv_udp_init(loop, &f.udp);
	if (uv_udp_bind(&f.udp, (const struct sockaddr *)&ss, 0) < 0) {
		fprintf(stderr, "mesh_dns_tool: cannot bind %s\n", argv[1]);
		return 1;
	}
	uv_udp_recv_start(&f.udp, fake_alloc, fake_recv);
	uv_signal_init(loop, &sig);
	uv_signal_start(&sig, on_signal, SIGTERM);
	printf("listening\n");
	fflush(stdout);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(NULL);
	if (!strncmp(argv[1], "osconfig-", 9))
		return cmd_osconfig(argc - 1, argv + 1);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "fake-upstream"))
		return cmd_fake(argc - 1, argv + 1);
	return usage("unknown command");
}
