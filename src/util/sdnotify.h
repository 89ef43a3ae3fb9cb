/* SPDX-License-Identifier: MIT */
/*
 * The systemd readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram to the AF_UNIX socket named by $NOTIFY_SOCKET. Outside systemd
 * (no variable) every call is a successful no-op.
 */
#ifndef MESH_UTIL_SDNOTIFY_H
#define MESH_UTIL_SDNOTIFY_H

/**
 * Send @state (e.g. "READY=1", "STOPPING=1", "STATUS=Running") to the
 * service manager. Returns 0 (also when not under systemd) or a negative
 * errno.
 */
int sd_notify_state(const char *state);

#endif
