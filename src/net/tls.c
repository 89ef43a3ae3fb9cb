// SPDX-License-Identifier: MIT
/*
 * mbedTLS glue. Each session talks to mbedTLS through two memory queues (the
 * "BIO" callbacks below): bio_recv() hands mbedTLS the ciphertext fed so far
 * and says WANT_READ when it runs dry, bio_send() appends records to the
 * output queue and never blocks. So a handshake or read simply stops at
 * -EAGAIN and resumes when the caller feeds more bytes.
 *
 * This file is the translation boundary for mbedTLS: MBEDTLS_ERR_* values are
 * turned into a negative errno plus a reason string here and never returned.
 */
#include "net/tls.h"

#include "net/netbuf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

enum tls_limits {
	TLS_ERR_LEN = 256,
	/* Records are at most 16 KiB + overhead; we never need more queued input than a few. */
	TLS_MAX_INPUT = 256 * 1024,
};

struct tls_config {
	bool server;
	mbedtls_ssl_config conf;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt ca;	/* client: trust anchors */
	mbedtls_x509_crt chain; /* server: our certificate chain */
	mbedtls_pk_context key; /* server: our private key */
};

struct tls_session {
	mbedtls_ssl_context ssl;
	struct tls_config *cfg;
	struct net_buf in;  /* ciphertext received, not yet read by mbedTLS */
	struct net_buf out; /* ciphertext produced, not yet taken by the caller */
	int failed;	    /* sticky fatal error (negative errno) or 0 */
	char err[TLS_ERR_LEN];
	char name[256]; /* client: the name the certificate must match */
};

static const char personalization[] = "meshd tls";

static void format_mbed_error(char *buf, size_t len, const char *what, const char *arg, int ret)
{
	char m[128];

	mbedtls_strerror(ret, m, sizeof(m));
	if (arg)
		snprintf(buf, len, "%s %s: %s", what, arg, m);
	else
		snprintf(buf, len, "%s: %s", what, m);
}

/* Turn mbedTLS's multi-line verify report into one line: "a; b; c". */
static void format_verify_error(char *buf, size_t len, const char *name, uint32_t flags)
{
	char info[512];
	size_t n;
	char *p;

	if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0 || !info[0])
		snprintf(info, sizeof(info), "unknown reason (flags 0x%x)", (unsigned int)flags);
	n = strlen(info);
	while (n && info[n - 1] == '\n')
		info[--n] = '\0';
	for (p = info; (p = strchr(p, '\n'));) {
		*p = ';';
		p++;
	}
	snprintf(buf, len, "certificate verify failed for %s: %s", name ? name : "server", info);
}

static int count_certs(const mbedtls_x509_crt *c)
{
	int n = 0;

	for (; c && c->raw.len; c = c->next)
		n++;
	return n;
}

static int config_common(struct tls_config *cfg, int endpoint, char *err, size_t errlen)
{
	int ret;

	mbedtls_ssl_config_init(&cfg->conf);
	mbedtls_entropy_init(&cfg->entropy);
	mbedtls_ctr_drbg_init(&cfg->drbg);
	mbedtls_x509_crt_init(&cfg->ca);
	mbedtls_x509_crt_init(&cfg->chain);
	mbedtls_pk_init(&cfg->key);

	ret = mbedtls_ctr_drbg_seed(&cfg->drbg, mbedtls_entropy_func, &cfg->entropy,
				    (const unsigned char *)personalization,
				    sizeof(personalization) - 1);
	if (ret) {
		format_mbed_error(err, errlen, "tls: seeding the random generator", NULL, ret);
		return -EIO;
	}
	ret = mbedtls_ssl_config_defaults(&cfg->conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
					  MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret) {
		format_mbed_error(err, errlen, "tls: default configuration", NULL, ret);
		return -EPROTO;
	}
	mbedtls_ssl_conf_rng(&cfg->conf, mbedtls_ctr_drbg_random, &cfg->drbg);
	/* TLS 1.2 at least: nothing we talk to needs older versions. */
	mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	return 0;
}

int tls_config_new_server(struct tls_config **out, const char *cert_file, const char *key_file,
			  char *err, size_t errlen)
{
	struct tls_config *cfg;
	int ret;

	*out = NULL;
	if (!cert_file || !key_file) {
		snprintf(err, errlen, "tls: a certificate and a key file are required");
		return -EINVAL;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		snprintf(err, errlen, "tls: out of memory");
		return -ENOMEM;
	}
	cfg->server = true;
	ret = config_common(cfg, MBEDTLS_SSL_IS_SERVER, err, errlen);
	if (ret)
		goto err_free_config;

	ret = mbedtls_x509_crt_parse_file(&cfg->chain, cert_file);
	if (ret) {
		if (ret > 0)
			snprintf(err, errlen,
				 "tls: certificate file %s: %d certificates did not parse",
				 cert_file, ret);
		else
			format_mbed_error(err, errlen, "tls: certificate file", cert_file, ret);
		ret = -EINVAL;
		goto err_free_config;
	}
	ret = mbedtls_pk_parse_keyfile(&cfg->key, key_file, NULL);
	if (ret) {
		format_mbed_error(err, errlen, "tls: key file", key_file, ret);
		ret = -EINVAL;
		goto err_free_config;
	}
	ret = mbedtls_pk_check_pair(&cfg->chain.pk, &cfg->key);
	if (ret) {
		snprintf(err, errlen, "tls: key file %s does not match the certificate in %s",
			 key_file, cert_file);
		ret = -EINVAL;
		goto err_free_config;
	}
	ret = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->chain, &cfg->key);
	if (ret) {
		format_mbed_error(err, errlen, "tls: certificate", cert_file, ret);
		ret = -EINVAL;
		goto err_free_config;
	}
	/* Servers do not ask for client certificates: nodes prove themselves in the protocol. */
	mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_NONE);
	*out = cfg;
	return 0;

err_free_config:
	tls_config_free(cfg);
	return ret;
}

/*
 * Debian's update-ca-certificates writes every trusted certificate (local
 * additions included) both as single files and as one bundle; loading the
 * bundle alone gives the same anchors at a third of the parse time and memory
 * of walking the directory, which holds each certificate three times over
 * (file, hash link, bundle). Other layouts fall back to the directory walk.
 */
static void load_system_store(struct tls_config *cfg)
{
	static const char bundle[] = TLS_SYSTEM_CA_DIR "/ca-certificates.crt";

	if (access(bundle, R_OK) == 0 && mbedtls_x509_crt_parse_file(&cfg->ca, bundle) >= 0 &&
	    count_certs(&cfg->ca) > 0)
		return;
	/* A positive result counts certificates that failed: the others still load. */
	(void)mbedtls_x509_crt_parse_path(&cfg->ca, TLS_SYSTEM_CA_DIR);
}

int tls_config_new_client(struct tls_config **out, bool system_ca, const char *extra_ca_file,
			  char *err, size_t errlen)
{
	struct tls_config *cfg;
	int ret;

	*out = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		snprintf(err, errlen, "tls: out of memory");
		return -ENOMEM;
	}
	ret = config_common(cfg, MBEDTLS_SSL_IS_CLIENT, err, errlen);
	if (ret)
		goto err_free_config;
	if (system_ca)
		load_system_store(cfg);
	if (extra_ca_file) {
		int before = count_certs(&cfg->ca);

		ret = mbedtls_x509_crt_parse_file(&cfg->ca, extra_ca_file);
		if (ret || count_certs(&cfg->ca) == before) {
			if (ret < 0)
				format_mbed_error(err, errlen, "tls: CA file", extra_ca_file, ret);
			else
				snprintf(err, errlen, "tls: CA file %s: no usable certificate",
					 extra_ca_file);
			ret = -EINVAL;
			goto err_free_config;
		}
	}
	if (count_certs(&cfg->ca) == 0) {
		snprintf(err, errlen, "tls: no trusted CA certificates (system store %s%s)",
			 system_ca ? "empty" : "disabled", extra_ca_file ? "" : ", no CA file");
		ret = -ENOENT;
		goto err_free_config;
	}
	mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, NULL);
	*out = cfg;
	return 0;

err_free_config:
	tls_config_free(cfg);
	return ret;
}

void tls_config_free(struct tls_config *cfg)
{
	if (!cfg)
		return;
	mbedtls_ssl_config_free(&cfg->conf);
	mbedtls_ctr_drbg_free(&cfg->drbg);
	mbedtls_entropy_free(&cfg->entropy);
	mbedtls_x509_crt_free(&cfg->ca);
	mbedtls_x509_crt_free(&cfg->chain);
	mbedtls_pk_free(&cfg->key); /* zeroizes the private key */
	free(cfg);
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_session *s = ctx;

	if (len > INT_MAX)
		len = INT_MAX;
	if (net_buf_append(&s->out, buf, len, 0))
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls_session *s = ctx;
	size_t avail = net_buf_len(&s->in);

	if (!avail)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (len > avail)
		len = avail;
	if (len > INT_MAX)
		len = INT_MAX;
	memcpy(buf, net_buf_head(&s->in), len);
	net_buf_consume(&s->in, len);
	return (int)len;
}

int tls_session_new(struct tls_session **out, struct tls_config *cfg, const char *server_name)
{
	struct tls_session *s;
	int ret;

	*out = NULL;
	if (!cfg->server && (!server_name || !server_name[0]))
		return -EINVAL; /* never connect without a name to verify */
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = cfg;
	mbedtls_ssl_init(&s->ssl);
	ret = mbedtls_ssl_setup(&s->ssl, &cfg->conf);
	if (ret)
		goto err_free_session;
	if (!cfg->server) {
		size_t n = strlen(server_name);

		if (n >= sizeof(s->name)) {
			ret = MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
			goto err_free_session;
		}
		memcpy(s->name, server_name, n + 1);
		ret = mbedtls_ssl_set_hostname(&s->ssl, server_name);
		if (ret)
			goto err_free_session;
	}
	mbedtls_ssl_set_bio(&s->ssl, s, bio_send, bio_recv, NULL);
	*out = s;
	return 0;

err_free_session:
	tls_session_free(s);
	return ret == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : -EINVAL;
}

void tls_session_free(struct tls_session *s)
{
	if (!s)
		return;
	mbedtls_ssl_free(&s->ssl); /* zeroizes the session keys */
	net_buf_free(&s->in);
	net_buf_free(&s->out);
	free(s);
}

int tls_session_feed(struct tls_session *s, const uint8_t *buf, size_t len)
{
	int ret = net_buf_append(&s->in, buf, len, TLS_MAX_INPUT);

	if (ret == -EMSGSIZE) {
		snprintf(s->err, sizeof(s->err), "tls: peer sent more than we can buffer");
		s->failed = -EPROTO;
		return -EPROTO;
	}
	return ret;
}

/* Record a fatal mbedTLS error once and map it to an errno. */
static int fail(struct tls_session *s, int ret, const char *what)
{
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return -EAGAIN;
	if (s->failed)
		return s->failed;
	if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		format_verify_error(s->err, sizeof(s->err), s->name,
				    mbedtls_ssl_get_verify_result(&s->ssl));
		s->failed = -EKEYREJECTED;
	} else if (ret == MBEDTLS_ERR_SSL_ALLOC_FAILED) {
		snprintf(s->err, sizeof(s->err), "tls: out of memory");
		s->failed = -ENOMEM;
	} else {
		format_mbed_error(s->err, sizeof(s->err), what, NULL, ret);
		s->failed = -EPROTO;
	}
	return s->failed;
}

int tls_session_handshake(struct tls_session *s)
{
	int ret;

	if (s->failed)
		return s->failed;
	ret = mbedtls_ssl_handshake(&s->ssl);
	if (ret == 0)
		return 0;
	return fail(s, ret, "tls handshake");
}

ssize_t tls_session_read(struct tls_session *s, uint8_t *buf, size_t len)
{
	int ret;

	if (s->failed)
		return s->failed;
	if (len > INT_MAX)
		len = INT_MAX;
	ret = mbedtls_ssl_read(&s->ssl, buf, len);
	if (ret > 0)
		return ret;
	if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	return fail(s, ret, "tls read");
}

int tls_session_write(struct tls_session *s, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int ret;

	if (s->failed)
		return s->failed;
	while (off < len) {
		ret = mbedtls_ssl_write(&s->ssl, buf + off, len - off);
		if (ret <= 0) {
			/* Output never blocks (bio_send queues), so WANT_* cannot loop here. */
			ret = fail(s, ret ? ret : MBEDTLS_ERR_SSL_INTERNAL_ERROR, "tls write");
			return ret == -EAGAIN ? -EPROTO : ret;
		}
		off += (size_t)ret;
	}
	return 0;
}

int tls_session_close_notify(struct tls_session *s)
{
	int ret;

	if (s->failed)
		return s->failed;
	ret = mbedtls_ssl_close_notify(&s->ssl);
	return ret ? fail(s, ret, "tls close") : 0;
}

bool tls_session_has_input(const struct tls_session *s)
{
	return net_buf_len(&s->in) > 0 || mbedtls_ssl_get_bytes_avail(&s->ssl) > 0 ||
	       mbedtls_ssl_check_pending(&s->ssl);
}

uint8_t *tls_session_take_output(struct tls_session *s, size_t *len)
{
	uint8_t *p;

	*len = net_buf_len(&s->out);
	if (!*len)
		return NULL;
	if (s->out.off)
		memmove(s->out.data, s->out.data + s->out.off, *len);
	p = s->out.data;
	s->out.data = NULL;
	s->out.off = 0;
	s->out.len = 0;
	s->out.cap = 0;
	return p;
}

const char *tls_session_error(const struct tls_session *s)
{
	return s->err;
}
