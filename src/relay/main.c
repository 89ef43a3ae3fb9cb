// SPDX-License-Identifier: MIT
/*
 * meshrelay: the stand-alone relay + STUN server. One libuv loop hosts an
 * HTTP(S) server whose "/relay" upgrades to the relay protocol and whose
 * "/health" says how it is, and the STUN server. SIGTERM (or SIGINT) tells
 * clients the relay is restarting, closes everything and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>
#include <uv.h>

#include "mesh/version.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/tls.h"
#include "relay/relay_server.h"
#include "relay/stun_server.h"
#include "util/encoding.h"
#include "util/ipaddr.h"
#include "util/log.h"
#include "util/sdnotify.h"

enum exit_codes {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_CONFIG = 78,
};

enum relay_main_limits {
	VERIFY_TIMEOUT_MS = 5000,
	VERIFY_MAX_BODY = 4096,
	/* What Restarting tells clients on shutdown. */
	RESTART_IN_MS = 2000,
	RESTART_TRY_FOR_MS = 60 * 1000,
	ERRLEN = 512,
};

static const char *const LOG_COMP = "meshrelay";

struct options {
	const char *listen;
	const char *tls_cert;
	const char *tls_key;
	const char *stun_listen;
	const char *verify_url;
	const char *verify_ca;
	bool verbose;
};

struct verify_req;

struct app {
	uv_loop_t *loop;
	uv_signal_t sigterm, sigint;
	struct tls_config *server_tls;
	struct tls_config *verify_tls;
	const char *verify_url;
	struct http_server *http;
	struct relay_server *relay;
	struct stun_server *stun;
	struct verify_req *verifies; /* in flight */
	bool stopping;
};

struct verify_req {
	struct verify_req *prev, *next;
	struct app *app;
	struct relay_verify *v;
	struct http_client_req *req;
	char key[sizeof("nodekey:") + ENC_KEY_HEX_LEN];
};

static void usage(FILE *f)
{
	fprintf(f, "usage: meshrelay --listen ADDR [--tls-cert FILE --tls-key FILE]"
		   " --stun-listen ADDR\n"
		   "                 [--verify-url URL [--verify-ca FILE]] [--verbose]\n"
		   "       meshrelay --version\n"
		   "\n"
		   "  --listen ADDR       serve /relay and /health on ADDR (\"0.0.0.0:443\", "
		   "\"[::]:443\")\n"
		   "  --tls-cert FILE     PEM certificate chain: serve HTTPS (with --tls-key)\n"
		   "  --tls-key FILE      PEM private key of the certificate\n"
		   "  --stun-listen ADDR  answer STUN Binding requests on UDP ADDR "
		   "(\"0.0.0.0:3478\")\n"
		   "  --verify-url URL    admit only node keys this URL allows (POST, JSON)\n"
		   "  --verify-ca FILE    extra CA certificates to trust for --verify-url\n"
		   "  --verbose           log debug messages\n");
}

static void unlink_verify(struct verify_req *vr)
{
	if (vr->prev)
		vr->prev->next = vr->next;
	else
		vr->app->verifies = vr->next;
	if (vr->next)
		vr->next->prev = vr->prev;
}

/* The verifier's answer: 200 with {"allow": true} admits, anything else refuses. */
static void on_verify_done(struct http_client_req *req, int err, const char *errmsg,
			   const struct http_response *resp, void *arg)
{
	struct verify_req *vr = arg;
	const cJSON *allow;
	cJSON *json = NULL;
	bool ok = false;

	(void)req;
	if (err < 0) {
		log_warn(LOG_COMP, "verify request failed, refusing key=%s: %s", vr->key, errmsg);
	} else if (resp->status != 200) {
		log_info(LOG_COMP, "verify-url refused key=%s: HTTP %d", vr->key, resp->status);
	} else {
		json = cJSON_ParseWithLength((const char *)resp->body, resp->body_len);
		allow = cJSON_GetObjectItemCaseSensitive(json, "allow");
		ok = cJSON_IsTrue(allow);
		if (!cJSON_IsBool(allow))
			log_warn(LOG_COMP,
				 "verify-url answer without a boolean \"allow\", refusing "
				 "key=%s",
				 vr->key);
		else if (!ok)
			log_info(LOG_COMP, "verify-url refused key=%s", vr->key);
		cJSON_Delete(json);
	}
	unlink_verify(vr);
	relay_verify_done(vr->v, ok);
	free(vr);
}

static void verify_key(struct relay_verify *v, const uint8_t key[RELAY_KEY_LEN], const char *peer,
		       void *arg)
{
	static const struct http_header accept = {"Accept", "application/json"};
	struct app *app = arg;
	struct http_client_options o = {
		.method = "POST",
		.url = app->verify_url,
		.headers = &accept,
		.nheaders = 1,
		.content_type = "application/json",
		.tls = app->verify_tls,
		.timeout_ms = VERIFY_TIMEOUT_MS,
		.max_body_size = VERIFY_MAX_BODY,
		.on_done = on_verify_done,
	};
	struct verify_req *vr = calloc(1, sizeof(*vr));
	cJSON *json = cJSON_CreateObject();
	char *body = NULL;
	int ret = -ENOMEM;

	if (!vr || !json)
		goto err_refuse;
	memcpy(vr->key, "nodekey:", 8);
	enc_key_to_hex(vr->key + 8, key);
	if (!cJSON_AddStringToObject(json, "node_key", vr->key) ||
	    !cJSON_AddStringToObject(json, "source", peer))
		goto err_refuse;
	body = cJSON_PrintUnformatted(json);
	if (!body)
		goto err_refuse;
	o.body = body;
	o.body_len = strlen(body);
	o.arg = vr;
	ret = http_client_request(&vr->req, app->loop, &o);
	if (ret < 0)
		goto err_refuse;
	vr->app = app;
	vr->v = v;
	vr->next = app->verifies;
	if (app->verifies)
		app->verifies->prev = vr;
	app->verifies = vr;
	free(body);
	cJSON_Delete(json);
	return;

err_refuse:
	log_warn(LOG_COMP, "cannot ask verify-url (%s): refusing", uv_strerror(ret));
	free(body);
	cJSON_Delete(json);
	free(vr);
	relay_verify_done(v, false);
}

static void on_health(struct http_exchange *ex, const struct http_request *req, void *arg)
{
	struct app *app = arg;
	struct relay_server_stats st;
	char text[256];

	(void)req;
	relay_server_get_stats(app->relay, &st);
	snprintf(text, sizeof(text), "ok clients=%llu connections=%llu\n",
		 (unsigned long long)st.clients, (unsigned long long)st.connections);
	http_exchange_respond_text(ex, app->stopping ? 503 : 200,
				   app->stopping ? "stopping\n" : text);
}

static void stop(struct app *app)
{
	struct verify_req *vr;

	if (app->stopping)
		return;
	app->stopping = true;
	log_info(LOG_COMP, "shutting down");
	sd_notify_state("STOPPING=1");
	while ((vr = app->verifies)) {
		unlink_verify(vr);
		http_client_cancel(vr->req);
		relay_verify_done(vr->v, false);
		free(vr);
	}
	relay_server_close(app->relay, RESTART_IN_MS, RESTART_TRY_FOR_MS, NULL, NULL);
	http_server_close(app->http, NULL, NULL);
	if (app->stun)
		stun_server_close(app->stun, NULL, NULL);
	uv_close((uv_handle_t *)&app->sigterm, NULL);
	uv_close((uv_handle_t *)&app->sigint, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
	(void)signum;
	stop(s->data);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_LISTEN = 256, OPT_CERT, OPT_KEY, OPT_STUN, OPT_VURL, OPT_VCA, OPT_VERBOSE };
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"tls-cert", required_argument, NULL, OPT_CERT},
		{"tls-key", required_argument, NULL, OPT_KEY},
		{"stun-listen", required_argument, NULL, OPT_STUN},
		{"verify-url", required_argument, NULL, OPT_VURL},
		{"verify-ca", required_argument, NULL, OPT_VCA},
		{"verbose", no_argument, NULL, OPT_VERBOSE},
		{NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			o->listen = optarg;
			break;
		case OPT_CERT:
			o->tls_cert = optarg;
			break;
		case OPT_KEY:
			o->tls_key = optarg;
			break;
		case OPT_STUN:
			o->stun_listen = optarg;
			break;
		case OPT_VURL:
			o->verify_url = optarg;
			break;
		case OPT_VCA:
			o->verify_ca = optarg;
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			break;
		default:
			fprintf(stderr, "meshrelay: unknown or incomplete option \"%s\"\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "meshrelay: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->listen || !o->stun_listen) {
		fprintf(stderr, "meshrelay: --listen and --stun-listen are required\n");
		return -EINVAL;
	}
	if (!o->tls_cert != !o->tls_key) {
		fprintf(stderr, "meshrelay: --tls-cert and --tls-key go together\n");
		return -EINVAL;
	}
	if (o->verify_ca && !o->verify_url) {
		fprintf(stderr, "meshrelay: --verify-ca needs --verify-url\n");
		return -EINVAL;
	}
	return 0;
}

/* @endpoint with the port actually bound, for the log. */
static const char *bound(const char *endpoint, uint16_t port, char *buf, size_t len)
{
	struct ip_endpoint ep;

	if (ip_endpoint_parse(&ep, endpoint, NULL) < 0)
		return endpoint;
	ep.port = port;
	return ip_endpoint_format(&ep, buf, len);
}

static int setup(struct app *app, const struct options *o)
{
	struct relay_server_config rcfg = {0};
	char err[ERRLEN], where[IP_ENDPOINT_STRLEN];
	uint16_t port = 0, stun_port = 0;
	int ret;

	if (o->tls_cert) {
		ret = tls_config_new_server(&app->server_tls, o->tls_cert, o->tls_key, err,
					    sizeof(err));
		if (ret < 0) {
			log_error(LOG_COMP, "TLS: %s", err);
			return EXIT_CONFIG;
		}
	}
	if (o->verify_url) {
		app->verify_url = o->verify_url;
		if (!strncmp(o->verify_url, "https://", 8)) {
			ret = tls_config_new_client(&app->verify_tls, true, o->verify_ca, err,
						    sizeof(err));
			if (ret < 0) {
				log_error(LOG_COMP, "TLS for --verify-url: %s", err);
				return EXIT_CONFIG;
			}
		}
		rcfg.verify = verify_key;
		rcfg.verify_arg = app;
	}
	if (relay_server_new(&app->relay, app->loop, &rcfg) < 0 ||
	    http_server_new(&app->http, app->loop, NULL) < 0) {
		log_error(LOG_COMP, "out of memory");
		return EXIT_FAIL;
	}
	if (http_server_route(app->http, "GET", RELAY_HTTP_PATH, HTTP_MATCH_EXACT,
			      relay_server_http_handler, app->relay) < 0 ||
	    http_server_route(app->http, "GET", "/health", HTTP_MATCH_EXACT, on_health, app) < 0) {
		log_error(LOG_COMP, "out of memory");
		return EXIT_FAIL;
	}
	ret = http_server_listen(app->http, o->listen, app->server_tls, &port);
	if (ret < 0) {
		log_error(LOG_COMP, "cannot listen on %s: %s", o->listen, uv_strerror(ret));
		return ret == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	ret = stun_server_new(&app->stun, app->loop, o->stun_listen, &stun_port);
	if (ret < 0) {
		log_error(LOG_COMP, "cannot serve STUN on %s: %s", o->stun_listen,
			  uv_strerror(ret));
		return ret == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	log_info(LOG_COMP, "relay listening on %s (%s)",
		 bound(o->listen, port, where, sizeof(where)), app->server_tls ? "https" : "http");
	log_info(LOG_COMP, "stun listening on %s",
		 bound(o->stun_listen, stun_port, where, sizeof(where)));
	return EXIT_OK;
}

static void teardown(struct app *app)
{
	/* Run the close callbacks of whatever setup() got to. */
	if (!app->stopping) {
		app->stopping = true;
		if (app->relay)
			relay_server_close(app->relay, 0, 0, NULL, NULL);
		if (app->http)
			http_server_close(app->http, NULL, NULL);
		if (app->stun)
			stun_server_close(app->stun, NULL, NULL);
		uv_close((uv_handle_t *)&app->sigterm, NULL);
		uv_close((uv_handle_t *)&app->sigint, NULL);
	}
	uv_run(app->loop, UV_RUN_DEFAULT);
	tls_config_free(app->server_tls);
	tls_config_free(app->verify_tls);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct app app = {0};
	int ret;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("meshrelay %s\n", MESH_VERSION);
		return EXIT_OK;
	}
	if (parse_options(argc, argv, &o) < 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.verbose)
		log_set_level(LOG_DEBUG);
	if (sodium_init() < 0) {
		log_error(LOG_COMP, "libsodium failed to initialise");
		return EXIT_FAIL;
	}
	/* A client that vanishes mid-write must not kill the relay. */
	signal(SIGPIPE, SIG_IGN);
	app.loop = uv_default_loop();
	uv_signal_init(app.loop, &app.sigterm);
	uv_signal_init(app.loop, &app.sigint);
	app.sigterm.data = &app;
	app.sigint.data = &app;
	ret = setup(&app, &o);
	if (ret != EXIT_OK) {
		teardown(&app);
		uv_loop_close(app.loop);
		return ret;
	}
	uv_signal_start(&app.sigterm, on_signal, SIGTERM);
	uv_signal_start(&app.sigint, on_signal, SIGINT);
	sd_notify_state("READY=1");
	uv_run(app.loop, UV_RUN_DEFAULT);
	teardown(&app);
	ret = uv_loop_close(app.loop);
	if (ret < 0)
		log_warn(LOG_COMP, "loop closed with handles open: %s", uv_strerror(ret));
	return EXIT_OK;
}
