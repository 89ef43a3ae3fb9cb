/* SPDX-License-Identifier: MIT */
/* Small language helpers shared by every module. */
#ifndef MESH_UTIL_COMPILER_H
#define MESH_UTIL_COMPILER_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Recover the owner of an embedded member (libuv handles live inside their owner). */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define likely(x)			__builtin_expect(!!(x), 1)
#define unlikely(x)			__builtin_expect(!!(x), 0)

#define MESH_UNUSED			__attribute__((unused))
#define MESH_MUST_CHECK			__attribute__((warn_unused_result))

#endif
