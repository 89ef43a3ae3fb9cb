/* SPDX-License-Identifier: MIT */
/*
 * `meshd wireguard [-f|--foreground] [--verbose] IFACE`: the bare WireGuard
 * engine on TUN interface IFACE, configured by `wg` over the UAPI socket
 * /var/run/wireguard/IFACE.sock, like `wireguard-go IFACE`.
 */
#ifndef MESH_DAEMON_WIREGUARD_H
#define MESH_DAEMON_WIREGUARD_H

/**
 * Run the bare engine; @argv[0] is "wireguard". Stays in the foreground
 * (-f is accepted for wireguard-go compatibility) and logs to stderr. Returns
 * the exit code: 0 after SIGINT/SIGTERM, removal of the interface or of the
 * socket file; 1 if it cannot start; 2 on a usage error.
 */
int wireguard_main(int argc, char **argv);

#endif
