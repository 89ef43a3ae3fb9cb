// SPDX-License-Identifier: MIT
/*
 * Map streams (server/sessions.c) on a real loop, HTTP server and sqlite
 * registry, with short timers: the full map first, deltas as the registry
 * changes, keep-alives when nothing happens, one stream per node (a newer
 * one ends the older), a deleted node's stream ended, online state, and a
 * client that stops reading cut off once it is a bounded amount behind
 * instead of being buffered for without limit.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <sodium.h>
#include <uv.h>

#include "control/seal.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "server/netmap.h"
#include "server/registry.h"
#include "server/sessions.h"
#include "server/store_sqlite.h"

enum {
	NODES = 40,
	KEEPALIVE_MS = 200,
	MIN_BACKLOG = 64 * 1024,
	STALLED_MAX = 8 * 1024 * 1024, /* socket buffers (a few MiB at most) + MIN_BACKLOG */
};

struct client {
	struct fixture *f;
	struct http_client_req *req;
	struct ctl_frame_reader reader;
	struct ctl_box box;
	unsigned int frames, full_maps, keepalives, patches, removed;
	uint64_t bytes; /* received, HTTP framing removed */
	uint64_t last_seq;
	bool done;
	int status;
};

struct fixture {
	char dir[64];
	char path[128];
	uv_loop_t loop;
	struct store *st;
	struct registry *reg;
	struct netmap *nm;
	struct sessions *sessions;
	struct http_server *http;
	uint16_t port;
	uint8_t server_priv[CTL_KEY_LEN], server_pub[CTL_KEY_LEN];
	uint8_t machine_priv[NODES][CTL_KEY_LEN];
	struct store_node nodes[NODES];
	uv_timer_t churn;
	unsigned int round;
};

static int64_t clock_now(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

/* POST /stream?N: node N's map stream, as the control API would start it. */
static void on_stream(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct fixture *f = arg;
	int i = atoi(req->query);
	uint8_t pub[CTL_KEY_LEN];
	struct ctl_box box;

	crypto_scalarmult_base(pub, f->machine_priv[i]);
	assert_int_equal(ctl_box_init(&box, f->server_priv, pub), 0);
	assert_int_equal(sessions_stream(f->sessions, ex, f->nodes[i].id, pub, &box), 0);
}

static void register_nodes(struct fixture *f)
{
	struct registry_authkey_request kr = {
		.user = "alice", .reusable = true, .expiration = 3600};
	char key[AUTHKEY_STR_LEN + 1], host[32];
	struct registry_error err;

	assert_int_equal(registry_user_create(f->reg, "alice", NULL, &err), 0);
	assert_int_equal(registry_authkey_create(f->reg, &kr, key, NULL, &err), 0);
	for (int i = 0; i < NODES; i++) {
		struct registry_request r = {.os = "linux"};
		uint8_t priv[CTL_KEY_LEN];

		randombytes_buf(f->machine_priv[i], CTL_KEY_LEN);
		crypto_scalarmult_base(r.machine_key, f->machine_priv[i]);
		crypto_box_keypair(r.node_key, priv);
		crypto_box_keypair(r.disco_key, priv);
		snprintf(host, sizeof(host), "n%d", i);
		r.hostname = host;
		if (registry_register_authkey(f->reg, &r, key, &f->nodes[i], &err))
			fail_msg("register: %s", err.msg);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct registry_options ropt = {
		.base_domain = "mesh.test",
		.node_key_expiry = 86400,
		.ephemeral_timeout = 600,
		.now = clock_now,
	};
	struct netmap_options nopt = {.base_domain = "mesh.test", .now = clock_now};
	struct http_server_config hcfg = {.max_write_queue = 256 * 1024 * 1024};
	struct sessions_options sopt = {
		.keepalive_ms = KEEPALIVE_MS,
		.urgent_ms = 2,
		.lazy_ms = 20,
		.min_backlog = MIN_BACKLOG,
	};

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_sessions.XXXXXX");
	if (!mkdtemp(f->dir) || uv_loop_init(&f->loop))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/db.sqlite", f->dir);
	ip_prefix_parse(&ropt.prefix_v4, "100.64.0.0/10", NULL);
	ip_prefix_parse(&ropt.prefix_v6, "fd7a:115c:a1e0::/48", NULL);
	if (store_sqlite_open(&f->st, f->path, NULL))
		return -1;
	ropt.store = f->st;
	if (registry_create(&f->reg, &ropt))
		return -1;
	register_nodes(f);
	crypto_box_keypair(f->server_pub, f->server_priv);
	if (netmap_create(&f->nm, &nopt))
		return -1;
	sopt.loop = &f->loop;
	sopt.reg = f->reg;
	sopt.nm = f->nm;
	/* The HTTP layer's own bound far away: the sessions' bound must be what acts. */
	if (sessions_create(&f->sessions, &sopt) || http_server_new(&f->http, &f->loop, &hcfg) ||
	    http_server_route(f->http, "POST", "/stream", HTTP_MATCH_EXACT, on_stream, f) ||
	    http_server_listen(f->http, "127.0.0.1:0", NULL, &f->port))
		return -1;
	uv_timer_init(&f->loop, &f->churn);
	f->churn.data = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	sessions_close(f->sessions);
	http_server_close(f->http, NULL, NULL);
	uv_close((uv_handle_t *)&f->churn, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	netmap_destroy(f->nm);
	registry_destroy(f->reg);
	store_close(f->st);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- a reading client ---- */

static void on_data(struct http_client_req *req, const uint8_t *data, size_t len, void *arg)
{
	struct client *c = arg;
	const uint8_t *payload;
	size_t plen;

	(void)req;
	c->bytes += len;
	assert_int_equal(ctl_frame_reader_feed(&c->reader, data, len), 0);
	while (ctl_frame_reader_next(&c->reader, &payload, &plen) > 0) {
		struct ctl_map_response m;
		struct ctl_err e = {{0}};

		if (ctl_map_response_open(&m, &c->box, payload, plen, &e))
			fail_msg("bad frame: %s", e.msg);
		assert_true(m.has_seq);
		assert_int_equal(m.seq, c->last_seq + 1);
		c->last_seq = m.seq;
		c->frames++;
		c->full_maps += m.has_peers;
		c->keepalives += m.keep_alive;
		c->patches += (unsigned int)m.npeers_patch;
		c->removed += (unsigned int)m.npeers_removed;
		ctl_map_response_free(&m);
	}
}

static void on_done(struct http_client_req *req, int err, const char *errmsg,
		    const struct http_response *resp, void *arg)
{
	struct client *c = arg;

	(void)req;
	(void)errmsg;
	c->req = NULL;
	c->done = true;
	c->status = err ? err : resp->status;
}

static void client_start(struct fixture *f, struct client *c, int node)
{
	char url[64];
	struct http_client_options o = {
		.method = "POST",
		.url = url,
		.body = "x",
		.body_len = 1,
		.on_data = on_data,
		.on_done = on_done,
		.arg = c,
	};
	memset(c, 0, sizeof(*c));
	c->f = f;
	assert_int_equal(ctl_box_init(&c->box, f->machine_priv[node], f->server_pub), 0);
	ctl_frame_reader_init(&c->reader);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/stream?%d", f->port, node);
	assert_int_equal(http_client_request(&c->req, &f->loop, &o), 0);
}

static void client_stop(struct client *c)
{
	if (c->req)
		http_client_cancel(c->req);
	c->req = NULL;
	ctl_frame_reader_free(&c->reader);
}

/* Run the loop until @cond(@arg) or @ms pass; returns whether it came true. */
static bool run_until(struct fixture *f, bool (*cond)(void *arg), void *arg, uint64_t ms)
{
	uint64_t deadline = uv_now(&f->loop) + ms;

	while (!cond(arg)) {
		if (uv_now(&f->loop) >= deadline)
			return false;
		uv_run(&f->loop, UV_RUN_ONCE);
		uv_update_time(&f->loop);
	}
	return true;
}

static void wake(uv_timer_t *t)
{
	(void)t;
}

/* Run the loop for @ms no matter what. */
static void run_for(struct fixture *f, uint64_t ms)
{
	uv_timer_t t;

	uv_timer_init(&f->loop, &t);
	uv_timer_start(&t, wake, ms, 0);
	while (uv_is_active((uv_handle_t *)&t))
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT);
}

static bool has_full_map(void *arg)
{
	return ((struct client *)arg)->full_maps > 0;
}

static bool has_keepalive(void *arg)
{
	return ((struct client *)arg)->keepalives > 0;
}

static bool is_done(void *arg)
{
	return ((struct client *)arg)->done;
}

static bool has_patch(void *arg)
{
	return ((struct client *)arg)->patches > 0;
}

static bool has_removal(void *arg)
{
	return ((struct client *)arg)->removed > 0;
}

static void report_endpoints(struct fixture *f, int node, unsigned int round, unsigned int n)
{
	struct registry_report r = {0};
	struct registry_error err;
	char json[STORE_ENDPOINTS_MAX];
	size_t o = 0;

	o += (size_t)snprintf(json + o, sizeof(json) - o, "[");
	for (unsigned int i = 0; i < n; i++)
		o += (size_t)snprintf(json + o, sizeof(json) - o, "%s\"198.51.100.%u:%u\"",
				      i ? "," : "", i + 1, 1000 + round % 60000);
	snprintf(json + o, sizeof(json) - o, "]");
	r.endpoints = json;
	if (registry_node_report(f->reg, f->nodes[node].id, &r, NULL, &err))
		fail_msg("report: %s", err.msg);
}

static void test_stream_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct sessions_stats st;
	struct client a, a2;
	struct registry_error err;
	char ref[24];

	client_start(f, &a, 0);
	assert_true(run_until(f, has_full_map, &a, 2000));
	assert_int_equal(a.frames, 1);
	assert_true(registry_node_online(f->reg, f->nodes[0].id));

	/* A change of another node arrives as a patch. */
	report_endpoints(f, 1, 1, 2);
	assert_true(run_until(f, has_patch, &a, 2000));

	/* Silence brings keep-alives. */
	assert_true(run_until(f, has_keepalive, &a, KEEPALIVE_MS * 5));

	/* A second stream of the same node ends the first; the node stays online. */
	client_start(f, &a2, 0);
	assert_true(run_until(f, is_done, &a, 2000));
	assert_int_equal(a.status, 200);
	assert_true(run_until(f, has_full_map, &a2, 2000));
	assert_true(registry_node_online(f->reg, f->nodes[0].id));
	sessions_get_stats(f->sessions, &st);
	assert_int_equal(st.streams, 1);

	/* Deleting another node reaches the stream; deleting its own node ends it. */
	snprintf(ref, sizeof(ref), "%lld", (long long)f->nodes[2].id);
	assert_int_equal(registry_node_delete(f->reg, ref, &err), 0);
	assert_true(run_until(f, has_removal, &a2, 2000));
	snprintf(ref, sizeof(ref), "%lld", (long long)f->nodes[0].id);
	assert_int_equal(registry_node_delete(f->reg, ref, &err), 0);
	assert_true(run_until(f, is_done, &a2, 2000));
	sessions_get_stats(f->sessions, &st);
	assert_int_equal(st.streams, 0);
	client_stop(&a);
	client_stop(&a2);

	/* A client that leaves takes its node offline. */
	client_start(f, &a, 3);
	assert_true(run_until(f, has_full_map, &a, 2000));
	assert_true(registry_node_online(f->reg, f->nodes[3].id));
	client_stop(&a);
	run_for(f, 100);
	assert_false(registry_node_online(f->reg, f->nodes[3].id));
}

/* Every node moves all its endpoints, each round: big deltas for the stalled stream. */
static void on_churn(uv_timer_t *t)
{
	struct fixture *f = t->data;

	f->round++;
	for (int i = 1; i < NODES; i++)
		report_endpoints(f, i, f->round, 40);
}

static bool slow_closed(void *arg)
{
	struct sessions_stats st;

	sessions_get_stats(arg, &st);
	return st.slow_closed > 0;
}

static void test_slow_stream_is_cut_off(void **state)
{
	static const char head[] =
		"POST /stream?0 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx";
	struct fixture *f = *state;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sessions_stats st;
	struct client b;
	int fd, small = 4096;
	uint64_t sent_before;

	/* A client that asks for a stream and never reads a byte. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	sin.sin_port = htons(f->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(send(fd, head, sizeof(head) - 1, 0), (ssize_t)(sizeof(head) - 1));
	/* And a good one, which must keep getting everything. */
	client_start(f, &b, 1);
	assert_true(run_until(f, has_full_map, &b, 2000));
	uv_timer_start(&f->churn, on_churn, 5, 5);
	assert_true(run_until(f, slow_closed, f->sessions, 30000));
	uv_timer_stop(&f->churn);
	sessions_get_stats(f->sessions, &st);
	assert_int_equal(st.slow_closed, 1);
	assert_int_equal(st.streams, 1); /* the reading client is still there */
	assert_false(registry_node_online(f->reg, f->nodes[0].id));
	/*
	 * What was written for the stalled stream (all minus what the reading one got)
	 * is bounded by the kernel's socket buffers plus the sessions' bound, however
	 * much more the churn produced.
	 */
	sent_before = st.bytes;
	if (sent_before - b.bytes > STALLED_MAX)
		fail_msg("%llu bytes were queued for a client that reads nothing",
			 (unsigned long long)(sent_before - b.bytes));
	assert_true(f->round > 10);
	report_endpoints(f, 2, 999999, 1);
	assert_true(run_until(f, has_patch, &b, 2000));
	run_for(f, 50);
	sessions_get_stats(f->sessions, &st);
	assert_true(st.bytes > sent_before);
	assert_false(b.done);
	client_stop(&b);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stream_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_stream_is_cut_off, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
