// SPDX-License-Identifier: MIT
/*
 * The backend-independent half of the store: the public wrappers, and the
 * operations built from smaller ones (advertised route sets, the server key)
 * so every backend gets them right once.
 */
#include "server/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util/log.h"

void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

int store_begin(struct store *st)
{
	return st->ops->begin(st);
}

int store_commit(struct store *st)
{
	return st->ops->commit(st);
}

int store_rollback(struct store *st)
{
	return st->ops->rollback(st);
}

int store_end(struct store *st, int ret)
{
	if (ret) {
		store_rollback(st);
		return ret;
	}
	return store_commit(st);
}

int store_schema_version(struct store *st, int *version)
{
	return st->ops->schema_version(st, version);
}

int store_user_insert(struct store *st, struct store_user *u)
{
	return st->ops->user_insert(st, u);
}

int store_user_get(struct store *st, int64_t id, const char *name, struct store_user *out)
{
	return st->ops->user_get(st, id, name, out);
}

int store_user_list(struct store *st, struct store_user **out, size_t *n)
{
	return st->ops->user_list(st, out, n);
}

int store_user_delete(struct store *st, int64_t id)
{
	return st->ops->user_delete(st, id);
}

int store_node_insert(struct store *st, struct store_node *n)
{
	return st->ops->node_insert(st, n);
}

int store_node_update(struct store *st, const struct store_node *n)
{
	return st->ops->node_update(st, n);
}

int store_node_get(struct store *st, enum store_node_by by, int64_t id, const void *key,
		   struct store_node *out)
{
	return st->ops->node_get(st, by, id, key, out);
}

int store_node_list(struct store *st, struct store_node **out, size_t *n)
{
	return st->ops->node_list(st, out, n);
}

int store_node_delete(struct store *st, int64_t id)
{
	return st->ops->node_delete(st, id);
}

int store_node_count_for_user(struct store *st, int64_t user_id, size_t *n)
{
	return st->ops->node_count_for_user(st, user_id, n);
}

int store_authkey_insert(struct store *st, struct store_authkey *k)
{
	return st->ops->authkey_insert(st, k);
}

int store_authkey_get(struct store *st, int64_t id, const char *prefix, struct store_authkey *out)
{
	return st->ops->authkey_get(st, id, prefix, out);
}

int store_authkey_list(struct store *st, struct store_authkey **out, size_t *n)
{
	return st->ops->authkey_list(st, out, n);
}

int store_authkey_update(struct store *st, const struct store_authkey *k)
{
	return st->ops->authkey_update(st, k);
}

int store_route_list(struct store *st, int64_t node_id, struct store_route **out, size_t *n)
{
	return st->ops->route_list(st, node_id, out, n);
}

int store_route_put(struct store *st, const struct store_route *r)
{
	return st->ops->route_put(st, r);
}

int store_policy_get(struct store *st, char **text, int64_t *updated)
{
	return st->ops->policy_get(st, text, updated);
}

int store_policy_set(struct store *st, const char *text, int64_t updated)
{
	return st->ops->policy_set(st, text, updated);
}

int store_server_key_get(struct store *st, const char *name, uint8_t pub[STORE_KEY_LEN],
			 uint8_t priv[STORE_KEY_LEN])
{
	return st->ops->server_key_get(st, name, pub, priv);
}

int store_server_key_put(struct store *st, const char *name, const uint8_t pub[STORE_KEY_LEN],
			 const uint8_t priv[STORE_KEY_LEN], int64_t created)
{
	return st->ops->server_key_put(st, name, pub, priv, created);
}

static bool listed(const char *const *prefixes, size_t n, const char *prefix)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(prefixes[i], prefix))
			return true;
	return false;
}

int store_routes_set_advertised(struct store *st, int64_t node_id, const char *const *prefixes,
				size_t n)
{
	struct store_route *old = NULL, r;
	size_t nold = 0, i;
	int ret;

	ret = store_begin(st);
	if (ret)
		return ret;
	ret = store_route_list(st, node_id, &old, &nold);
	if (ret)
		goto out_end;
	/* Withdraw what is no longer advertised (approvals stay for a comeback). */
	for (i = 0; i < nold && !ret; i++) {
		if (!old[i].advertised || listed(prefixes, n, old[i].prefix))
			continue;
		old[i].advertised = false;
		ret = store_route_put(st, &old[i]);
	}
	for (i = 0; i < n && !ret; i++) {
		size_t j;

		memset(&r, 0, sizeof(r));
		r.node_id = node_id;
		r.advertised = true;
		if (strlen(prefixes[i]) >= sizeof(r.prefix)) {
			ret = -EINVAL;
			break;
		}
		strcpy(r.prefix, prefixes[i]);
		for (j = 0; j < nold; j++)
			if (!strcmp(old[j].prefix, r.prefix))
				r.approved = old[j].approved;
		ret = store_route_put(st, &r);
	}
	free(old);
out_end:
	return store_end(st, ret);
}

int store_server_key_ensure(struct store *st, const char *name, int64_t now,
			    uint8_t pub[STORE_KEY_LEN], uint8_t priv[STORE_KEY_LEN], bool *created)
{
	int ret;

	*created = false;
	ret = store_server_key_get(st, name, pub, priv);
	if (ret != -ENOENT)
		return ret;
	if (crypto_box_keypair(pub, priv)) {
		sodium_memzero(priv, STORE_KEY_LEN);
		return -EIO;
	}
	ret = store_server_key_put(st, name, pub, priv, now);
	if (ret == -EEXIST) {
		/* Another process made one first: use theirs, never two keys. */
		sodium_memzero(priv, STORE_KEY_LEN);
		return store_server_key_get(st, name, pub, priv);
	}
	if (ret) {
		sodium_memzero(priv, STORE_KEY_LEN);
		return ret;
	}
	*created = true;
	return 0;
}

bool store_tags_has(const char *tags, const char *tag)
{
	size_t n = strlen(tag);
	const char *p = tags;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && !memcmp(p, tag, n))
			return true;
		if (!end)
			break;
		p = end + 1;
	}
	return false;
}
