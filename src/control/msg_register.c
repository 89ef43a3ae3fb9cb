// SPDX-License-Identifier: MIT
/*
 * JSON codec for the node's side of the conversation: the server key
 * answer, hostinfo, register request and response, map request.
 */
#include "control/msg.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum {
	VERSION_MAX = 65535,
	PENDING_ID_MAX = 128,
};

static int read_version(struct ctl_json_ctx *ctx, const cJSON *root, uint32_t *out)
{
	uint64_t v = 0;
	int ret = ctl_json_uint(ctx, root, "version", true, 1, VERSION_MAX, &v, NULL);

	*out = (uint32_t)v;
	return ret;
}

static void put_time(int *err, cJSON *obj, const char *field, int64_t t)
{
	if (t < 0 && !*err)
		*err = -EINVAL;
	else if (t > 0)
		ctl_json_put_uint(err, obj, field, (uint64_t)t);
}

/* Start a message object with its type (and version, when nonzero). */
static cJSON *start(int *err, const char *type, uint32_t version)
{
	cJSON *root = cJSON_CreateObject();

	if (!root) {
		*err = -ENOMEM;
		return NULL;
	}
	ctl_json_put_string(err, root, "type", type, CTL_TEXT_TOKEN, 64);
	if (version)
		ctl_json_put_uint(err, root, "version", version);
	return root;
}

/* Parse, check it is an object of @type. */
static int begin(struct ctl_json_ctx *ctx, cJSON **root, const uint8_t *buf, size_t len, size_t max,
		 const char *type)
{
	int ret = ctl_json_parse(root, buf, len, max, ctx);

	if (!ret)
		ret = ctl_json_object(ctx, *root, NULL);
	if (!ret)
		ret = ctl_json_type(ctx, *root, type);
	return ret;
}

int ctl_server_key_encode(const struct ctl_server_key *m, char **out, size_t *len)
{
	int err = 0;
	cJSON *root = start(&err, "server_key", m->version ? m->version : CTL_PROTOCOL_VERSION);

	ctl_json_put_key(&err, root, "public_key", CTL_KEY_MACHINE, m->public_key);
	return ctl_json_finish(err, root, CTL_MAX_REQUEST_JSON, out, len);
}

int ctl_server_key_decode(struct ctl_server_key *m, const uint8_t *buf, size_t len,
			  struct ctl_err *err)
{
	struct ctl_json_ctx ctx = {.err = err};
	cJSON *root = NULL;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = begin(&ctx, &root, buf, len, CTL_MAX_REQUEST_JSON, "server_key");
	if (!ret)
		ret = read_version(&ctx, root, &m->version);
	if (!ret)
		ret = ctl_json_key(&ctx, root, "public_key", true, CTL_KEY_MACHINE, m->public_key,
				   NULL);
	cJSON_Delete(root);
	return ret;
}

void ctl_hostinfo_encode(int *err, cJSON *obj, const struct ctl_hostinfo *h)
{
	ctl_json_put_string(err, obj, "hostname", h->hostname, CTL_TEXT_PRINTABLE,
			    CTL_HOSTNAME_MAX);
	ctl_json_put_string(err, obj, "os", h->os, CTL_TEXT_PRINTABLE, CTL_OS_MAX);
	if (h->os_version)
		ctl_json_put_string(err, obj, "os_version", h->os_version, CTL_TEXT_PRINTABLE,
				    CTL_OS_VERSION_MAX);
	if (h->nroutes)
		ctl_json_put_prefixes(err, obj, "routes", h->routes, h->nroutes, CTL_MAX_ROUTES,
				      true);
	if (h->ntags)
		ctl_json_put_strings(err, obj, "tags", h->tags, h->ntags, CTL_MAX_TAGS,
				     CTL_TEXT_TAG, CTL_TAG_MAX);
}

int ctl_hostinfo_decode(struct ctl_json_ctx *ctx, const cJSON *obj, struct ctl_hostinfo *h)
{
	int ret = ctl_json_object(ctx, obj, NULL);

	if (!ret)
		ret = ctl_json_string(ctx, obj, "hostname", true, CTL_TEXT_PRINTABLE,
				      CTL_HOSTNAME_MAX, &h->hostname);
	if (!ret)
		ret = ctl_json_string(ctx, obj, "os", true, CTL_TEXT_PRINTABLE, CTL_OS_MAX, &h->os);
	if (!ret)
		ret = ctl_json_string(ctx, obj, "os_version", false, CTL_TEXT_PRINTABLE,
				      CTL_OS_VERSION_MAX, &h->os_version);
	if (!ret)
		ret = ctl_json_prefixes(ctx, obj, "routes", false, true, CTL_MAX_ROUTES, &h->routes,
					&h->nroutes);
	if (!ret)
		ret = ctl_json_strings(ctx, obj, "tags", CTL_MAX_TAGS, CTL_TEXT_TAG, CTL_TAG_MAX,
				       &h->tags, &h->ntags);
	return ret;
}

void ctl_hostinfo_free(struct ctl_hostinfo *h)
{
	free(h->hostname);
	free(h->os);
	free(h->os_version);
	free(h->routes);
	ctl_json_free_strings(h->tags, h->ntags);
	memset(h, 0, sizeof(*h));
}

/* Decode the object member @field into @h with the path pointing inside it. */
static int hostinfo_member(struct ctl_json_ctx *ctx, const cJSON *root, bool required,
			   struct ctl_hostinfo *h, bool *present)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(root, "hostinfo");
	size_t mark;
	int ret;

	if (present)
		*present = obj && !cJSON_IsNull(obj);
	if (!obj || cJSON_IsNull(obj))
		return required ? ctl_json_fail(ctx, "hostinfo", "missing") : 0;
	mark = ctl_json_push(ctx, "hostinfo", -1);
	ret = ctl_hostinfo_decode(ctx, obj, h);
	ctl_json_pop(ctx, mark);
	return ret;
}

int ctl_register_request_encode(const struct ctl_register_request *m, char **out, size_t *len)
{
	int err = 0;
	cJSON *root = start(&err, "register_request", m->version);

	if (!m->version)
		err = -EINVAL;
	ctl_json_put_key(&err, root, "node_key", CTL_KEY_NODE, m->node_key);
	if (m->has_old_node_key)
		ctl_json_put_key(&err, root, "old_node_key", CTL_KEY_NODE, m->old_node_key);
	ctl_json_put_key(&err, root, "disco_key", CTL_KEY_DISCO, m->disco_key);
	ctl_hostinfo_encode(&err, ctl_json_put_object(&err, root, "hostinfo"), &m->hostinfo);
	if (m->auth_key)
		ctl_json_put_string(&err, root, "auth_key", m->auth_key, CTL_TEXT_TOKEN,
				    CTL_TOKEN_MAX);
	if (m->followup)
		ctl_json_put_string(&err, root, "followup", m->followup, CTL_TEXT_TOKEN,
				    PENDING_ID_MAX);
	if (m->nendpoints)
		ctl_json_put_endpoints(&err, root, "endpoints", m->endpoints, m->nendpoints,
				       CTL_MAX_ENDPOINTS);
	if (m->logout)
		ctl_json_put_bool(&err, root, "logout", true);
	/* The text holds the auth key in clear: the caller wipes it (ctl_register_request_seal does). */
	return ctl_json_finish_secret(err, root, CTL_MAX_REQUEST_JSON, "auth_key", out, len);
}

int ctl_register_request_decode(struct ctl_register_request *m, const uint8_t *buf, size_t len,
				struct ctl_err *err)
{
	struct ctl_json_ctx ctx = {.err = err};
	cJSON *root = NULL;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = begin(&ctx, &root, buf, len, CTL_MAX_REQUEST_JSON, "register_request");
	if (!ret)
		ret = read_version(&ctx, root, &m->version);
	if (!ret)
		ret = ctl_json_key(&ctx, root, "node_key", true, CTL_KEY_NODE, m->node_key, NULL);
	if (!ret)
		ret = ctl_json_key(&ctx, root, "old_node_key", false, CTL_KEY_NODE, m->old_node_key,
				   &m->has_old_node_key);
	if (!ret)
		ret = ctl_json_key(&ctx, root, "disco_key", true, CTL_KEY_DISCO, m->disco_key,
				   NULL);
	if (!ret)
		ret = hostinfo_member(&ctx, root, true, &m->hostinfo, NULL);
	if (!ret)
		ret = ctl_json_string(&ctx, root, "auth_key", false, CTL_TEXT_TOKEN, CTL_TOKEN_MAX,
				      &m->auth_key);
	if (!ret)
		ret = ctl_json_string(&ctx, root, "followup", false, CTL_TEXT_TOKEN, PENDING_ID_MAX,
				      &m->followup);
	if (!ret)
		ret = ctl_json_endpoints(&ctx, root, "endpoints", CTL_MAX_ENDPOINTS, &m->endpoints,
					 &m->nendpoints);
	if (!ret)
		ret = ctl_json_bool(&ctx, root, "logout", false, &m->logout, NULL);
	if (!ret && m->has_old_node_key &&
	    !sodium_memcmp(m->old_node_key, m->node_key, CTL_KEY_LEN))
		ret = ctl_json_fail(&ctx, "old_node_key", "equals node_key");
	/* cJSON's copy of the auth key dies with the tree; ours is wiped by _free. */
	if (root)
		ctl_json_wipe_member(root, "auth_key");
	cJSON_Delete(root);
	return ret;
}

void ctl_register_request_free(struct ctl_register_request *m)
{
	if (m->auth_key) {
		sodium_memzero(m->auth_key, strlen(m->auth_key));
		free(m->auth_key);
	}
	free(m->followup);
	free(m->endpoints);
	ctl_hostinfo_free(&m->hostinfo);
	memset(m, 0, sizeof(*m));
}

/* What makes a register response coherent, checked on both sides. */
static const char *register_response_problem(const struct ctl_register_response *m)
{
	if (m->authorized && m->error)
		return "authorized with an error";
	if (m->authorized && (!m->node_id || !m->name || !m->naddresses))
		return "authorized without node_id, name and addresses";
	if (!m->authorized && !m->error && !m->pending_id)
		return "neither authorized, nor an error, nor a pending id";
	if (m->auth_url && !m->pending_id)
		return "auth_url without pending_id";
	return NULL;
}

int ctl_register_response_encode(const struct ctl_register_response *m, char **out, size_t *len)
{
	int err = 0;
	cJSON *root = start(&err, "register_response", 0);

	if (register_response_problem(m))
		err = -EINVAL;
	ctl_json_put_bool(&err, root, "authorized", m->authorized);
	if (m->node_key_expired)
		ctl_json_put_bool(&err, root, "node_key_expired", true);
	if (m->error)
		ctl_json_put_string(&err, root, "error", m->error, CTL_TEXT_PRINTABLE,
				    CTL_ERROR_MAX);
	if (m->pending_id)
		ctl_json_put_string(&err, root, "pending_id", m->pending_id, CTL_TEXT_TOKEN,
				    PENDING_ID_MAX);
	if (m->auth_url)
		ctl_json_put_string(&err, root, "auth_url", m->auth_url, CTL_TEXT_PRINTABLE,
				    CTL_URL_MAX);
	if (m->node_id)
		ctl_json_put_uint(&err, root, "node_id", m->node_id);
	if (m->name)
		ctl_json_put_string(&err, root, "name", m->name, CTL_TEXT_LABEL, CTL_NAME_MAX);
	if (m->user)
		ctl_json_put_string(&err, root, "user", m->user, CTL_TEXT_PRINTABLE, CTL_USER_MAX);
	if (m->ntags)
		ctl_json_put_strings(&err, root, "tags", m->tags, m->ntags, CTL_MAX_TAGS,
				     CTL_TEXT_TAG, CTL_TAG_MAX);
	if (m->naddresses)
		ctl_json_put_prefixes(&err, root, "addresses", m->addresses, m->naddresses,
				      CTL_MAX_ADDRESSES, true);
	put_time(&err, root, "key_expiry", m->key_expiry);
	return ctl_json_finish(err, root, CTL_MAX_MESSAGE_JSON, out, len);
}

int ctl_register_response_decode(struct ctl_register_response *m, const uint8_t *buf, size_t len,
				 struct ctl_err *err)
{
	struct ctl_json_ctx ctx = {.err = err};
	cJSON *root = NULL;
	const char *problem;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = begin(&ctx, &root, buf, len, CTL_MAX_MESSAGE_JSON, "register_response");
	if (!ret)
		ret = ctl_json_bool(&ctx, root, "authorized", true, &m->authorized, NULL);
	if (!ret)
		ret = ctl_json_bool(&ctx, root, "node_key_expired", false, &m->node_key_expired,
				    NULL);
	if (!ret)
		ret = ctl_json_string(&ctx, root, "error", false, CTL_TEXT_PRINTABLE, CTL_ERROR_MAX,
				      &m->error);
	if (!ret)
		ret = ctl_json_string(&ctx, root, "pending_id", false, CTL_TEXT_TOKEN,
				      PENDING_ID_MAX, &m->pending_id);
	if (!ret)
		ret = ctl_json_string(&ctx, root, "auth_url", false, CTL_TEXT_PRINTABLE,
				      CTL_URL_MAX, &m->auth_url);
	if (!ret)
		ret = ctl_json_uint(&ctx, root, "node_id", false, 1, UINT64_MAX, &m->node_id, NULL);
	if (!ret)
		ret = ctl_json_string(&ctx, root, "name", false, CTL_TEXT_LABEL, CTL_NAME_MAX,
				      &m->name);
	if (!ret)
		ret = ctl_json_string(&ctx, root, "user", false, CTL_TEXT_PRINTABLE, CTL_USER_MAX,
				      &m->user);
	if (!ret)
		ret = ctl_json_strings(&ctx, root, "tags", CTL_MAX_TAGS, CTL_TEXT_TAG, CTL_TAG_MAX,
				       &m->tags, &m->ntags);
	if (!ret)
		ret = ctl_json_prefixes(&ctx, root, "addresses", false, true, CTL_MAX_ADDRESSES,
					&m->addresses, &m->naddresses);
	if (!ret)
		ret = ctl_json_time(&ctx, root, "key_expiry", &m->key_expiry, NULL);
	if (!ret && (problem = register_response_problem(m)))
		ret = ctl_json_fail(&ctx, NULL, "%s", problem);
	cJSON_Delete(root);
	return ret;
}

void ctl_register_response_free(struct ctl_register_response *m)
{
	free(m->error);
	free(m->pending_id);
	free(m->auth_url);
	free(m->name);
	free(m->user);
	ctl_json_free_strings(m->tags, m->ntags);
	free(m->addresses);
	memset(m, 0, sizeof(*m));
}

int ctl_map_request_encode(const struct ctl_map_request *m, char **out, size_t *len)
{
	int err = 0;
	cJSON *root = start(&err, "map_request", m->version);

	if (!m->version || (m->stream && m->omit_peers))
		err = -EINVAL;
	ctl_json_put_key(&err, root, "node_key", CTL_KEY_NODE, m->node_key);
	ctl_json_put_key(&err, root, "disco_key", CTL_KEY_DISCO, m->disco_key);
	if (m->nendpoints)
		ctl_json_put_endpoints(&err, root, "endpoints", m->endpoints, m->nendpoints,
				       CTL_MAX_ENDPOINTS);
	if (m->stream)
		ctl_json_put_bool(&err, root, "stream", true);
	if (m->omit_peers)
		ctl_json_put_bool(&err, root, "omit_peers", true);
	if (m->has_hostinfo)
		ctl_hostinfo_encode(&err, ctl_json_put_object(&err, root, "hostinfo"),
				    &m->hostinfo);
	return ctl_json_finish(err, root, CTL_MAX_REQUEST_JSON, out, len);
}

int ctl_map_request_decode(struct ctl_map_request *m, const uint8_t *buf, size_t len,
			   struct ctl_err *err)
{
	struct ctl_json_ctx ctx = {.err = err};
	cJSON *root = NULL;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = begin(&ctx, &root, buf, len, CTL_MAX_REQUEST_JSON, "map_request");
	if (!ret)
		ret = read_version(&ctx, root, &m->version);
	if (!ret)
		ret = ctl_json_key(&ctx, root, "node_key", true, CTL_KEY_NODE, m->node_key, NULL);
	if (!ret)
		ret = ctl_json_key(&ctx, root, "disco_key", true, CTL_KEY_DISCO, m->disco_key,
				   NULL);
	if (!ret)
		ret = ctl_json_endpoints(&ctx, root, "endpoints", CTL_MAX_ENDPOINTS, &m->endpoints,
					 &m->nendpoints);
	if (!ret)
		ret = ctl_json_bool(&ctx, root, "stream", false, &m->stream, NULL);
	if (!ret)
		ret = ctl_json_bool(&ctx, root, "omit_peers", false, &m->omit_peers, NULL);
	if (!ret)
		ret = hostinfo_member(&ctx, root, false, &m->hostinfo, &m->has_hostinfo);
	if (!ret && m->stream && m->omit_peers)
		ret = ctl_json_fail(&ctx, "omit_peers", "not allowed on a stream");
	cJSON_Delete(root);
	return ret;
}

void ctl_map_request_free(struct ctl_map_request *m)
{
	free(m->endpoints);
	ctl_hostinfo_free(&m->hostinfo);
	memset(m, 0, sizeof(*m));
}
