// SPDX-License-Identifier: MIT
/*
 * mesh_policy_check: `meshcontrol policy check` as a program of its own, for
 * CI jobs that check a policy file without installing the server.
 */
#include "server/policy/check.h"

int main(int argc, char **argv)
{
	return policy_check_cli(argc, argv);
}
