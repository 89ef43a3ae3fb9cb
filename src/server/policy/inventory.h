/* SPDX-License-Identifier: MIT */
/*
 * Node inventories for checking a policy offline: a JSON (or HuJSON) array of
 * {"name", "user" (null for tagged), "ip", "ipv6", "tags": [], "routes":
 * [approved prefixes], "exit_node": bool}. The array `meshcontrol nodes list
 * --json` prints is accepted too ("addresses": [...], "routes": {"approved":
 * [...]}); other keys are ignored. docs/policy.md defines the format.
 */
#ifndef MESH_SERVER_POLICY_INVENTORY_H
#define MESH_SERVER_POLICY_INVENTORY_H

#include <stddef.h>

#include "server/policy/policy.h"

struct policy_arena;

struct policy_inventory {
	struct policy_node *nodes;
	size_t n;
	struct policy_arena *arena; /* owns every node string and array */
};

/**
 * Parse @len bytes of inventory JSON into *@out. Returns 0, -EINVAL with @err
 * set (line and column of the offending item), or -ENOMEM.
 */
int policy_inventory_parse(struct policy_inventory **out, const char *text, size_t len,
			   struct policy_error *err);

/** Read and parse the inventory file @path; I/O errors return their negative errno, line 0. */
int policy_inventory_load(struct policy_inventory **out, const char *path,
			  struct policy_error *err);

/** Free an inventory. NULL is allowed. */
void policy_inventory_free(struct policy_inventory *inv);

#endif
