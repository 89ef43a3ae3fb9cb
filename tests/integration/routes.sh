#!/bin/bash
# SPDX-License-Identifier: MIT
#
# routes.sh: subnet routers and exit nodes with the real binaries.
#   cloud  meshcontrol                      192.0.2.100
#   c1     a client ("laptop")              192.0.2.1
#   r1     subnet router for 192.168.50.0/24 192.0.2.2, LAN 192.168.50.1
#   e1     exit node                        192.0.2.3
#   lanhost                                 192.168.50.10 (behind r1 only)
#   web    an "internet" host               203.0.113.80, behind the router inet (192.0.2.254)
# Checks: an advertised route does nothing until approved; once approved, c1 with
# --accept-routes reaches the LAN host, which sees r1's LAN address (SNAT); without
# --accept-routes nothing is routed; the web host sees c1's own address, then e1's once
# c1 picks e1 as exit node (after approval), and c1's again when it stops; an exit node that
# does not offer itself is refused with a clear error.
# Needs root (exit 77 otherwise).

# shellcheck disable=SC2317
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_TEST_NAME=${NS_TEST_NAME:-routes}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"

ns_require_root
ns_require_cmd python3 ping socat

BUILD=${MESH_BUILD_DIR:-$here/../../build}
MESHD=$BUILD/src/daemon/meshd
MESHCTL=$BUILD/cli/meshctl
MESHCONTROL=$BUILD/src/server/meshcontrol
for p in "$MESHD" "$MESHCTL" "$MESHCONTROL"; do
	[[ -x $p ]] || ns_skip "not built: $p"
done

sfx=$(printf '%05x' $((($$ ^ RANDOM) & 0xfffff)))
NODES=(c1 r1 e1)
declare -A TUN ADDR SOCK
i=1
for n in "${NODES[@]}"; do
	TUN[$n]=rt${sfx}$i
	ADDR[$n]=192.0.2.$i
	SOCK[$n]=$NS_TMP/$n.sock
	ns_defer rm -f "/var/run/wireguard/${TUN[$n]}.sock"
	i=$((i + 1))
done

# The underlay: one bridge in "sw" joining cloud, the nodes and the internet router.
ns_router sw
ns_host cloud
ns_link cloud sw 192.0.2.100/24 -
for n in "${NODES[@]}"; do
	ns_host "$n"
	ns_link "$n" sw "${ADDR[$n]}/24" -
done
ns_router inet
ns_link inet sw 192.0.2.254/24 -
ns_exec sw ip link add br0 type bridge
ns_exec sw ip link set br0 up
for h in cloud "${NODES[@]}" inet; do
	ns_exec sw ip link set "$h" master br0
done
ns_host web
ns_link web inet 203.0.113.80/24 203.0.113.254/24
ns_exec web ip route add default via 203.0.113.254
for h in cloud "${NODES[@]}"; do
	ns_exec "$h" ip route add default via 192.0.2.254
done
# The LAN behind r1 (no route to it from anywhere but r1).
ns_host lanhost
ns_link lanhost r1 192.168.50.10/24 192.168.50.1/24
ns_exec lanhost ip route add default via 192.168.50.1

# "Who are you?" servers: they answer with the address they saw.
for h in web lanhost; do
	ns_start "$h" "$NS_TMP/$h.whoami.log" socat TCP-LISTEN:80,fork,reuseaddr \
		'SYSTEM:read -r req; echo $SOCAT_PEERADDR'
	ns_wait 5 ns_listening "$h" tcp 80
done
whoami() { echo hi | ns_exec "$1" timeout 3 socat - "TCP:$2:80" 2>/dev/null; }

# ---- meshcontrol and the nodes --------------------------------------------------------------
URL=http://192.0.2.100:8080
cat >"$NS_TMP/control.json" <<EOF
{
	"server_url": "$URL",
	"listen": "192.0.2.100:8080",
	"database": {"type": "sqlite", "path": "$NS_TMP/control/db.sqlite"},
	"admin_socket": "$NS_TMP/control/admin.sock",
	"relay": {"enabled": false},
}
EOF
mc() { "$MESHCONTROL" --config "$NS_TMP/control.json" "$@"; }
ns_start cloud "$NS_TMP/control.log" "$MESHCONTROL" serve --config "$NS_TMP/control.json"
ns_wait 10 test -S "$NS_TMP/control/admin.sock"
ns_wait 10 ns_exec cloud python3 -c 'import socket; socket.create_connection(("192.0.2.100", 8080), 1)'
mc users create alice >/dev/null
KEY=$(mc authkeys create --user alice --reusable | tail -n 1)

ctl() { local n=$1; shift; ns_exec "$n" "$MESHCTL" --socket "${SOCK[$n]}" "$@"; }
st() { ctl "$1" status --json | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }

declare -A UPFLAGS=(
	[c1]="--accept-routes"
	[r1]="--advertise-routes 192.168.50.0/24"
	[e1]="--advertise-exit-node"
)
for n in "${NODES[@]}"; do
	# meshd points the resolver at MagicDNS: give each node its own resolv.conf
	# (ip netns exec bind-mounts it) so the host's is never touched.
	ns_resolv "$n" 192.0.2.53 >/dev/null
	ns_start "$n" "$NS_TMP/$n.log" "$MESHD" --state-dir "$NS_TMP/$n.state" \
		--socket "${SOCK[$n]}" --tun "${TUN[$n]}" --port 41641
	ns_wait 10 test -S "${SOCK[$n]}"
	# shellcheck disable=SC2086
	ctl "$n" up --login-server "$URL" --auth-key "$KEY" --hostname "$n" ${UPFLAGS[$n]} --timeout 20s
done
for n in "${NODES[@]}"; do
	ns_wait 10 eval '[[ $(st '"$n"' "len(d[\"peers\"])") == 2 ]]'
done
ns_pass "three nodes up, each seeing two peers"
ns_assert_match "c1 reaches the web host directly at first" "$(whoami c1 203.0.113.80)" '^192\.0\.2\.1$'

# ---- subnet router -------------------------------------------------------------------------
routes=$(mc routes list --json)
ns_assert_match "r1's route is advertised, not approved" "$routes" '192\.168\.50\.0/24'
ns_assert_fails "the LAN is unreachable before approval" whoami c1 192.168.50.10
mc routes approve r1 192.168.50.0/24
ns_wait 10 eval '[[ $(whoami c1 192.168.50.10) == 192.168.50.1 ]]'
ns_pass "after approval c1 reaches the LAN host, which sees r1's LAN address (SNAT)"
ctl c1 set --accept-routes=false
ns_wait 5 eval '! whoami c1 192.168.50.10 >/dev/null'
ns_pass "without --accept-routes the subnet is not routed"
ctl c1 set --accept-routes=true
ns_wait 10 eval '[[ $(whoami c1 192.168.50.10) == 192.168.50.1 ]]'
ns_pass "--accept-routes again: reachable again"

# ---- exit node -----------------------------------------------------------------------------
if ctl c1 set --exit-node r1 >"$NS_TMP/badexit" 2>&1; then
	ns_fail "r1 accepted as exit node although it does not offer it"
fi
ns_assert_match "a peer that is no exit node is refused clearly" "$(cat "$NS_TMP/badexit")" 'not a peer offering'
mc routes approve e1 0.0.0.0/0 ::/0
ns_wait 10 eval 'ctl c1 set --exit-node e1 --exit-node-allow-lan-access 2>/dev/null'
ns_wait 10 eval '[[ $(whoami c1 203.0.113.80) == 192.0.2.3 ]]'
ns_pass "through exit node e1 the web host sees e1's address"
ns_assert "c1 still reaches meshcontrol on its LAN" ns_exec c1 python3 -c \
	'import socket; socket.create_connection(("192.0.2.100", 8080), 2)'
ctl c1 set --exit-node=
ns_wait 10 eval '[[ $(whoami c1 203.0.113.80) == 192.0.2.1 ]]'
ns_pass "without the exit node the web host sees c1 again"
ns_done
