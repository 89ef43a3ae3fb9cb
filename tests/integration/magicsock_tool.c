// SPDX-License-Identifier: MIT
/*
 * mesh_magicsock_tool: one node of tests/integration/magicsock.sh. A real
 * WireGuard device on a real magicsock, with an in-memory TUN: every
 * --interval it sends a numbered packet to its peer and prints each one it
 * receives with the path it came by. The "control server" is a pair of
 * files: the tool writes its endpoints and home region to --state and reads
 * the peer's from --peer-state, as a netmap would deliver them.
 *
 * Output (stdout, one line per event, "t=MS" since start first):
 *   ready port=P
 *   endpoints A B ... / home ID
 *   netcheck udp=yes|no v4=IP:PORT|none varies=yes|no|unknown home=CODE
 *   path direct IP:PORT | path relay CODE | path none
 *   rx seq=N via=relay|IP:PORT
 *   pong via relay(CODE) in 3.1ms | pong via IP:PORT in 0.4ms | pong error ...
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include "control/msg.h"
#include "magicsock/magicsock.h"
#include "util/encoding.h"
#include "util/log.h"
#include "wg/device.h"

enum tool_limits {
	MAX_RELAYS = 8,
	MAX_PEER_EPS = 16,
	PACKET_LEN = 64,
	STATE_POLL_MS = 100,
	PATH_POLL_MS = 50,
};

struct tool {
	uv_loop_t *loop;
	uv_signal_t sigterm, sigint;
	uv_timer_t send_timer, poll_timer, ping_timer;
	struct magicsock *ms;
	struct wg_device *dev;
	struct wg_peer *peer;
	uint8_t priv[32], dpriv[32], peer_pub[32], peer_disco[32];
	bool have_peer_disco;
	struct ip_addr addr, peer_addr;
	struct ctl_relay_region regions[MAX_RELAYS];
	struct ctl_relay_node nodes[MAX_RELAYS];
	size_t nregions;
	const char *state_path, *peer_state_path;
	char *peer_state; /* last content read */
	unsigned int interval_ms, ping_ms;
	uint64_t start_ms;
	uint32_t seq;
	const char *via; /* the path of the packet being handed to the device */
	char via_buf[IP_ENDPOINT_STRLEN];
	char last_path[128];
	bool stopping;
};

static struct tool T;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	printf("t=%llu ", (unsigned long long)(uv_now(T.loop) - T.start_ms));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mesh_magicsock_tool pubkey HEX\n"
		   "       mesh_magicsock_tool run --key HEX --disco-key HEX --peer HEX "
		   "[--peer-disco HEX]\n"
		   "           --addr IP --peer-addr IP --relay ID,CODE,IP,RELAYPORT,STUNPORT...\n"
		   "           --state FILE --peer-state FILE [--port N] [--interval MS]\n"
		   "           [--ping-interval MS] [--verbose]\n");
}

/* ---- the device's inside ---- */

static void tun_write(void *ctx, struct pktbuf *const *bufs, unsigned int n)
{
	(void)ctx;
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = bufs[i]->data;
		uint32_t seq;

		if (bufs[i]->len < PACKET_LEN)
			continue;
		seq = (uint32_t)p[28] << 24 | (uint32_t)p[29] << 16 | (uint32_t)p[30] << 8 | p[31];
		say("rx seq=%u via=%s", seq, T.via ? T.via : "?");
	}
}

static const struct wg_tun_ops tun_ops = {.write = tun_write};

/* One packet at a time, so the TUN write above knows the path its packet took. */
static void sink_input(void *ctx, struct pktbuf **bufs, unsigned int n)
{
	(void)ctx;
	for (unsigned int i = 0; i < n; i++) {
		if (magicsock_is_pseudo_endpoint(&bufs[i]->endpoint))
			T.via = "relay";
		else
			T.via = ip_endpoint_format(&bufs[i]->endpoint, T.via_buf,
						   sizeof(T.via_buf));
		wg_device_net_input(T.dev, &bufs[i], 1);
	}
	T.via = NULL;
}

static void send_one(uv_timer_t *t)
{
	struct pktbuf *b = pktbuf_get(wg_device_pool(T.dev));
	uint8_t *p;

	(void)t;
	if (!b)
		return;
	p = b->data;
	memset(p, 0, PACKET_LEN);
	p[0] = 0x45;
	p[3] = PACKET_LEN;
	p[8] = 64;
	p[9] = 17;
	memcpy(p + 12, T.addr.bytes, 4);
	memcpy(p + 16, T.peer_addr.bytes, 4);
	p[21] = 9, p[23] = 9, p[25] = PACKET_LEN - 20;
	T.seq++;
	p[28] = (uint8_t)(T.seq >> 24), p[29] = (uint8_t)(T.seq >> 16);
	p[30] = (uint8_t)(T.seq >> 8), p[31] = (uint8_t)T.seq;
	b->len = PACKET_LEN;
	wg_device_tun_input(T.dev, &b, 1);
}

/* ---- the file "control server" ---- */

static void write_state(void)
{
	struct ip_endpoint eps[MAGICSOCK_MAX_LOCAL_ENDPOINTS];
	unsigned int n = magicsock_local_endpoints(T.ms, eps, MAGICSOCK_MAX_LOCAL_ENDPOINTS);
	char tmp[4096], line[512] = "";
	size_t off = 0;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", T.state_path);
	f = fopen(tmp, "w");
	if (!f) {
		say("error cannot write %s", tmp);
		return;
	}
	fprintf(f, "home %u\n", magicsock_home_region(T.ms));
	for (unsigned int i = 0; i < n; i++) {
		char buf[IP_ENDPOINT_STRLEN];

		fprintf(f, "endpoint %s\n", ip_endpoint_format(&eps[i], buf, sizeof(buf)));
		off += (size_t)snprintf(line + off, sizeof(line) - off, " %s", buf);
	}
	fclose(f);
	rename(tmp, T.state_path);
	say("endpoints%s", line);
	say("home %u", magicsock_home_region(T.ms));
}

static void on_change(struct magicsock *ms, void *arg)
{
	(void)ms;
	(void)arg;
	write_state();
}

static void read_peer_state(void)
{
	struct ip_endpoint eps[MAX_PEER_EPS];
	struct magicsock_peer p = {.node_key = T.peer_pub,
				   .disco_key = T.have_peer_disco ? T.peer_disco : NULL};
	char buf[4096], *line, *save = NULL;
	size_t len;
	FILE *f = fopen(T.peer_state_path, "r");

	if (!f)
		return;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if (T.peer_state && !strcmp(T.peer_state, buf))
		return;
	free(T.peer_state);
	T.peer_state = strdup(buf);
	p.endpoints = eps;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "home ", 5))
			p.home_region = (uint32_t)strtoul(line + 5, NULL, 10);
		else if (!strncmp(line, "endpoint ", 9) && p.nendpoints < MAX_PEER_EPS &&
			 ip_endpoint_parse(&eps[p.nendpoints], line + 9, NULL) == 0)
			p.nendpoints++;
	}
	if (magicsock_upsert_peer(T.ms, &p) < 0)
		say("error cannot update the peer");
	else
		say("peer home=%u endpoints=%zu", p.home_region, p.nendpoints);
}

static void poll_tick(uv_timer_t *t)
{
	static uint64_t next_state;
	struct magicsock_path_info pi;
	char now[128], buf[IP_ENDPOINT_STRLEN];

	(void)t;
	if (uv_now(T.loop) >= next_state) {
		read_peer_state();
		next_state = uv_now(T.loop) + STATE_POLL_MS;
	}
	if (magicsock_peer_path(T.ms, T.peer_pub, &pi) < 0)
		return;
	if (pi.path == MAGICSOCK_PATH_DIRECT)
		snprintf(now, sizeof(now), "direct %s",
			 ip_endpoint_format(&pi.endpoint, buf, sizeof(buf)));
	else if (pi.path == MAGICSOCK_PATH_RELAY)
		snprintf(now, sizeof(now), "relay %s", pi.region_code);
	else
		snprintf(now, sizeof(now), "none");
	if (strcmp(now, T.last_path)) {
		snprintf(T.last_path, sizeof(T.last_path), "%s", now);
		say("path %s", now);
	}
}

static void on_pong(void *arg, const struct magicsock_ping_result *r)
{
	char buf[IP_ENDPOINT_STRLEN];

	(void)arg;
	if (r->err)
		say("pong error %s", uv_strerror(r->err));
	else if (r->direct)
		say("pong via %s in %.1fms", ip_endpoint_format(&r->endpoint, buf, sizeof(buf)),
		    r->latency_us / 1000.0);
	else
		say("pong via relay(%s) in %.1fms", r->region_code, r->latency_us / 1000.0);
}

static void ping_tick(uv_timer_t *t)
{
	int ret;

	(void)t;
	ret = magicsock_ping(T.ms, T.peer_pub, on_pong, NULL);
	if (ret < 0)
		say("ping error %s", uv_strerror(ret));
}

static void on_netcheck(void *arg, const struct netcheck_report *r)
{
	const struct netcheck_region_result *home = netcheck_region(r, r->preferred_region);
	char v4[IP_ENDPOINT_STRLEN] = "none";

	(void)arg;
	if (r->has_global_v4)
		ip_endpoint_format(&r->global_v4, v4, sizeof(v4));
	say("netcheck udp=%s v4=%s varies=%s home=%s", r->udp ? "yes" : "no", v4,
	    !r->mapping_varies_known ? "unknown"
	    : r->mapping_varies	     ? "yes"
				     : "no",
	    home ? home->code : "none");
	for (unsigned int i = 0; i < r->nregions; i++)
		say("netcheck region %s latency=%.2fms", r->regions[i].code,
		    r->regions[i].latency_us / 1000.0);
}

/* ---- lifetime ---- */

static void on_signal(uv_signal_t *s, int signum)
{
	(void)s;
	(void)signum;
	if (T.stopping)
		return;
	T.stopping = true;
	uv_close((uv_handle_t *)&T.send_timer, NULL);
	uv_close((uv_handle_t *)&T.poll_timer, NULL);
	uv_close((uv_handle_t *)&T.ping_timer, NULL);
	uv_close((uv_handle_t *)&T.sigterm, NULL);
	uv_close((uv_handle_t *)&T.sigint, NULL);
	magicsock_free(T.ms);
	wg_device_destroy(T.dev);
}

static int parse_relay(const char *spec)
{
	char buf[256], *f[5], *save = NULL;
	struct ctl_relay_region *r = &T.regions[T.nregions];
	struct ctl_relay_node *n = &T.nodes[T.nregions];
	int i = 0;

	if (T.nregions == MAX_RELAYS || strlen(spec) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, spec);
	for (char *tok = strtok_r(buf, ",", &save); tok && i < 5; tok = strtok_r(NULL, ",", &save))
		f[i++] = tok;
	if (i != 5 || ip_addr_parse(&n->ipv4, f[2], NULL) || n->ipv4.family != IP_FAMILY_V4)
		return -EINVAL;
	n->has_ipv4 = true;
	n->name = strdup(f[1]);
	n->host_name = strdup(f[2]);
	n->relay_port = (uint16_t)atoi(f[3]);
	n->stun_port = (uint16_t)atoi(f[4]);
	r->region_id = (uint32_t)atoi(f[0]);
	r->region_code = strdup(f[1]);
	r->nodes = n;
	r->nnodes = 1;
	if (!n->name || !n->host_name || !r->region_code || !r->region_id)
		return -EINVAL;
	T.nregions++;
	return 0;
}

static int cmd_pubkey(const char *hex)
{
	uint8_t priv[32], pub[32];
	char out[65];

	if (enc_key_from_hex(priv, hex) < 0 || crypto_scalarmult_base(pub, priv)) {
		fprintf(stderr, "error: bad key\n");
		return 2;
	}
	enc_key_to_hex(out, pub);
	printf("%s\n", out);
	sodium_memzero(priv, sizeof(priv));
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"disco-key", required_argument, NULL, 'd'},
		{"peer", required_argument, NULL, 'p'},
		{"peer-disco", required_argument, NULL, 'D'},
		{"addr", required_argument, NULL, 'a'},
		{"peer-addr", required_argument, NULL, 'A'},
		{"relay", required_argument, NULL, 'r'},
		{"state", required_argument, NULL, 's'},
		{"peer-state", required_argument, NULL, 'S'},
		{"port", required_argument, NULL, 'P'},
		{"interval", required_argument, NULL, 'i'},
		{"ping-interval", required_argument, NULL, 'I'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	struct ctl_relay_map map;
	struct magicsock_config cfg = {.on_change = on_change};
	struct magicsock_sink sink = {.input = sink_input};
	struct ip_prefix pfx;
	struct ip_endpoint pseudo;
	bool have[4] = {false};
	int c, ret;

	T.interval_ms = 100;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			have[0] = enc_key_from_hex(T.priv, optarg) == 0;
			break;
		case 'd':
			have[1] = enc_key_from_hex(T.dpriv, optarg) == 0;
			break;
		case 'p':
			have[2] = enc_key_from_hex(T.peer_pub, optarg) == 0;
			break;
		case 'D':
			T.have_peer_disco = enc_key_from_hex(T.peer_disco, optarg) == 0;
			break;
		case 'a':
			have[3] = ip_addr_parse(&T.addr, optarg, NULL) == 0;
			break;
		case 'A':
			if (ip_addr_parse(&T.peer_addr, optarg, NULL))
				return 2;
			break;
		case 'r':
			if (parse_relay(optarg)) {
				fprintf(stderr, "error: bad --relay %s\n", optarg);
				return 2;
			}
			break;
		case 's':
			T.state_path = optarg;
			break;
		case 'S':
			T.peer_state_path = optarg;
			break;
		case 'P':
			cfg.port = (uint16_t)atoi(optarg);
			break;
		case 'i':
			T.interval_ms = (unsigned int)atoi(optarg);
			break;
		case 'I':
			T.ping_ms = (unsigned int)atoi(optarg);
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!have[0] || !have[1] || !have[2] || !have[3] || !T.state_path || !T.peer_state_path ||
	    T.addr.family != IP_FAMILY_V4 || T.peer_addr.family != IP_FAMILY_V4 || !T.interval_ms) {
		usage(stderr);
		return 2;
	}
	T.loop = uv_default_loop();
	T.start_ms = uv_now(T.loop);
	cfg.node_private_key = T.priv;
	cfg.disco_private_key = T.dpriv;
	ret = magicsock_new(&T.ms, T.loop, &cfg);
	if (!ret)
		ret = wg_device_create(&T.dev, T.loop, &magicsock_net_ops, T.ms, &tun_ops, NULL);
	if (!ret) {
		sink.pool = wg_device_pool(T.dev);
		ret = magicsock_set_sink(T.ms, &sink);
	}
	if (!ret)
		ret = wg_device_set_listen_port(T.dev, cfg.port);
	if (!ret)
		ret = wg_device_set_private_key(T.dev, T.priv);
	if (!ret)
		ret = wg_device_peer_create(T.dev, T.peer_pub, &T.peer);
	pfx = (struct ip_prefix){.addr = T.peer_addr, .bits = 32};
	if (!ret)
		ret = wg_peer_add_allowed_ip(T.peer, &pfx);
	if (!ret)
		ret = magicsock_upsert_peer(
			T.ms, &(struct magicsock_peer){
				      .node_key = T.peer_pub,
				      .disco_key = T.have_peer_disco ? T.peer_disco : NULL,
			      });
	if (!ret)
		ret = magicsock_peer_pseudo_endpoint(T.ms, T.peer_pub, &pseudo);
	if (ret) {
		fprintf(stderr, "error: setup failed: %s\n", uv_strerror(ret));
		return 1;
	}
	wg_peer_set_endpoint(T.peer, &pseudo);
	wg_device_set_up(T.dev, true);
	map = (struct ctl_relay_map){.regions = T.regions, .nregions = T.nregions};
	magicsock_set_relay_map(T.ms, &map);
	magicsock_netcheck(T.ms, on_netcheck, NULL);
	say("ready port=%u", magicsock_port(T.ms));

	uv_timer_init(T.loop, &T.send_timer);
	uv_timer_start(&T.send_timer, send_one, T.interval_ms, T.interval_ms);
	uv_timer_init(T.loop, &T.poll_timer);
	uv_timer_start(&T.poll_timer, poll_tick, 0, PATH_POLL_MS);
	uv_timer_init(T.loop, &T.ping_timer);
	if (T.ping_ms)
		uv_timer_start(&T.ping_timer, ping_tick, T.ping_ms, T.ping_ms);
	uv_signal_init(T.loop, &T.sigterm);
	uv_signal_start(&T.sigterm, on_signal, SIGTERM);
	uv_signal_init(T.loop, &T.sigint);
	uv_signal_start(&T.sigint, on_signal, SIGINT);
	uv_run(T.loop, UV_RUN_DEFAULT);
	say("bye");
	uv_loop_close(T.loop);
	for (size_t i = 0; i < T.nregions; i++) {
		free(T.nodes[i].name);
		free(T.nodes[i].host_name);
		free(T.regions[i].region_code);
	}
	free(T.peer_state);
	sodium_memzero(T.priv, sizeof(T.priv));
	sodium_memzero(T.dpriv, sizeof(T.dpriv));
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && !strcmp(argv[1], "pubkey"))
		return cmd_pubkey(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	usage(stderr);
	return 2;
}
