/* SPDX-License-Identifier: MIT */
/* `meshd` (the node daemon) entry point: see daemon.c. */
#ifndef MESH_DAEMON_DAEMON_H
#define MESH_DAEMON_DAEMON_H

/** Run the node daemon with meshd's command line; returns the exit code. */
int daemon_main(int argc, char **argv);

#endif
