/* SPDX-License-Identifier: MIT */
/*
 * meshd's persisted state: <state-dir>/meshd.state, one JSON object holding
 * the machine and node private keys, the prefs and what the control server
 * last told the node about itself, so a restarted meshd comes back as the
 * same node without a human.
 *
 *   {"version": 1, "machine_key": HEX, "node_key": HEX, "old_node_key": HEX|null,
 *    "prefs": {...}, "node": {"id", "name", "addresses", "user", "key_expiry"}|null,
 *    "server_key": HEX|null, "login_server": "URL"}
 *
 * The file is mode 0600 and replaced atomically (temp file in the same
 * directory, fsync, rename, fsync of the directory). A file that exists but
 * cannot be read or understood is never overwritten: losing the keys would
 * turn the node into a new one, so meshd refuses to start instead. Private
 * keys are wiped from memory when the state is freed and never logged.
 */
#ifndef MESH_DAEMON_STATE_H
#define MESH_DAEMON_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/keys.h"
#include "daemon/prefs.h"
#include "util/ipaddr.h"

enum state_limits {
	STATE_VERSION = 1,
	STATE_FILE_MAX = 1 << 20, /* a bigger file is not ours */
	STATE_PATH_MAX = 4096,
	STATE_NAME_MAX = 253,
	STATE_USER_MAX = 255,
	STATE_ADDRS_MAX = 8,
	STATE_ERROR_MAX = 512, /* a good size for the error buffers below */
};

/* This node as the control server last described it. */
struct state_node {
	int64_t id;
	char name[STATE_NAME_MAX + 1];
	size_t naddresses;
	struct ip_addr addresses[STATE_ADDRS_MAX];
	char user[STATE_USER_MAX + 1]; /* "" for a tagged node */
	int64_t key_expiry;	       /* Unix seconds; 0 = never */
};

struct state {
	char path[STATE_PATH_MAX]; /* <state-dir>/meshd.state */
	uint8_t machine_key[KEY_LEN];
	uint8_t node_key[KEY_LEN];
	bool has_old_node_key; /* the key a renewal replaces, until the server confirms */
	uint8_t old_node_key[KEY_LEN];
	struct prefs prefs;
	bool has_node;
	struct state_node node;
	bool has_server_key;
	uint8_t server_key[KEY_LEN];	      /* the control server's public key */
	char login_server[PREFS_URL_MAX + 1]; /* the server the node is registered with */
};

/**
 * Load <@dir>/meshd.state into a new *@out. A missing file (and a missing
 * @dir, created 0700) gives a fresh state: new machine and node keys, default
 * prefs, no node; it is saved at once so the keys are durable before anyone
 * sees them, and *@created (if not NULL) is set. A file readable by group or
 * others is chmod'ed to 0600 with a warning. Returns 0; -EINVAL with "state
 * file PATH is corrupt (...); refusing to start ..." in @err for a file that
 * cannot be understood (it is left exactly as it was); or another negative
 * errno with a message in @err. sodium_init() must have succeeded.
 */
int state_load(struct state **out, const char *dir, bool *created, char *err, size_t errlen);

/**
 * Write @st to st->path atomically with mode 0600: a temp file in the same
 * directory, fsync, rename, fsync of the directory. If writing or renaming
 * fails, the previous file is intact and no temp file is left; if only the
 * final directory sync fails, the new file is in place but may not survive a
 * crash. Returns 0 or a negative errno with a message in @err.
 */
int state_save(const struct state *st, char *err, size_t errlen);

/** Wipe the keys of @st and free it. NULL is allowed. */
void state_free(struct state *st);

#endif
