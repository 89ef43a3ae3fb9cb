#!/bin/bash
# SPDX-License-Identifier: MIT
#
# mesh_basic.sh: the whole system on one flat network. meshcontrol in a "cloud" namespace,
# three meshd nodes, each joined with `meshctl up --auth-key`. Checks: every node sees the
# two others in `meshctl status`; every pair pings by mesh IPv4 and IPv6; TCP between two
# nodes; `meshctl ping` prints the contract's line; `meshcontrol nodes delete` makes the
# others drop that node within seconds; a restarted meshd comes back with the same address
# and traffic resumes; with meshcontrol stopped the tunnels keep working, and after its
# restart the nodes reconnect; the local API refuses a write from an unprivileged user and
# allows a read; SIGTERM takes the interface, addresses and rules away.
# Needs root (exit 77 otherwise).

# shellcheck disable=SC2317
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_TEST_NAME=${NS_TEST_NAME:-mesh_basic}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"

ns_require_root
ns_require_cmd python3 ping socat setpriv

BUILD=${MESH_BUILD_DIR:-$here/../../build}
MESHD=$BUILD/src/daemon/meshd
MESHCTL=$BUILD/cli/meshctl
MESHCONTROL=$BUILD/src/server/meshcontrol
for p in "$MESHD" "$MESHCTL" "$MESHCONTROL"; do
	[[ -x $p ]] || ns_skip "not built: $p"
done

# The engine's UAPI socket directory is host-wide: interface names unique to this run.
sfx=$(printf '%05x' $((($$ ^ RANDOM) & 0xfffff)))
NODES=(n1 n2 n3)
declare -A TUN ADDR SOCK PID
# Sockets where an unprivileged user can reach them (the temp dir itself is 0700).
chmod o+x "$NS_TMP"
mkdir -m 0755 "$NS_TMP/run"
i=1
for n in "${NODES[@]}"; do
	TUN[$n]=mb${sfx}$i
	ADDR[$n]=192.0.2.$i
	SOCK[$n]=$NS_TMP/run/$n.sock
	ns_defer rm -f "/var/run/wireguard/${TUN[$n]}.sock"
	i=$((i + 1))
done

ns_router sw
ns_host cloud
ns_link cloud sw 192.0.2.100/24 -
for n in "${NODES[@]}"; do
	ns_host "$n"
	ns_link "$n" sw "${ADDR[$n]}/24" -
done
# sw is a router; put its ports on one bridge so the four hosts share a LAN.
ns_exec sw ip link add br0 type bridge
ns_exec sw ip link set br0 up
for h in cloud "${NODES[@]}"; do
	ns_exec sw ip link set "$h" master br0
done

# ---- meshcontrol --------------------------------------------------------------------------
URL=http://192.0.2.100:8080
cat >"$NS_TMP/control.json" <<EOF
{
	// the coordination server of this test
	"server_url": "$URL",
	"listen": "192.0.2.100:8080",
	"database": {"type": "sqlite", "path": "$NS_TMP/control/db.sqlite"},
	"admin_socket": "$NS_TMP/control/admin.sock",
	"base_domain": "mesh.internal",
	"relay": {"enabled": false},
}
EOF
mc() { "$MESHCONTROL" --config "$NS_TMP/control.json" "$@"; }

start_control()
{
	ns_start cloud "$NS_TMP/control.log" "$MESHCONTROL" serve --config "$NS_TMP/control.json"
	CONTROL_PID=$NS_PID
	ns_wait 10 test -S "$NS_TMP/control/admin.sock"
	ns_wait 10 ns_exec cloud python3 -c 'import socket; socket.create_connection(("192.0.2.100", 8080), 1)'
}
start_control
mc users create alice >/dev/null
KEY=$(mc authkeys create --user alice --reusable | tail -n 1)
ns_assert_match "auth key printed on the last line" "$KEY" '^[[:graph:]]{20,}$'

# ---- meshd on every node ------------------------------------------------------------------
start_meshd()
{
	local n=$1
	# meshd points the resolver at MagicDNS: give each node its own resolv.conf
	# (ip netns exec bind-mounts it) so the host's is never touched.
	ns_resolv "$n" 192.0.2.53 >/dev/null
	ns_start "$n" "$NS_TMP/$n.log" "$MESHD" --state-dir "$NS_TMP/$n.state" \
		--socket "${SOCK[$n]}" --tun "${TUN[$n]}" --port 41641 ${MESHD_FLAGS:-}
	PID[$n]=$NS_PID
	ns_wait 10 test -S "${SOCK[$n]}"
}

ctl() { local n=$1; shift; ns_exec "$n" "$MESHCTL" --socket "${SOCK[$n]}" "$@"; }

status_json() { ctl "$1" status --json; }

# jq-free JSON reads: py EXPR against the status of node N.
st() { status_json "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }

npeers_is() { [[ $(st "$1" 'len(d["peers"])') == "$2" ]]; }

for n in "${NODES[@]}"; do
	start_meshd "$n"
	ctl "$n" up --login-server "$URL" --auth-key "$KEY" --hostname "$n" --timeout 20s
	ns_pass "$n: meshctl up returned"
done
for n in "${NODES[@]}"; do
	ns_assert_eq "$n is Running" "$(st "$n" 'd["backend_state"]')" Running
	ns_wait 10 npeers_is "$n" 2
	ns_pass "$n sees two peers"
done

declare -A V4 V6
for n in "${NODES[@]}"; do
	V4[$n]=$(ctl "$n" ip -4)
	V6[$n]=$(ctl "$n" ip -6)
	ns_assert_match "$n has a mesh IPv4" "${V4[$n]}" '^100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.'
	ns_assert_match "$n has a mesh IPv6" "${V6[$n]}" '^fd7a:115c:a1e0:'
	ns_assert "$n's interface carries its address" \
		sh -c "ip netns exec $(ns_name "$n") ip -4 addr show dev ${TUN[$n]} | grep -q '${V4[$n]}/32'"
done

for a in "${NODES[@]}"; do
	for b in "${NODES[@]}"; do
		[[ $a == "$b" ]] && continue
		ns_wait 10 ns_ping "$a" "${V4[$b]}"
		ns_wait 10 ns_exec "$a" ping -6 -c 1 -W 1 "${V6[$b]}" >/dev/null
		ns_pass "$a reaches $b over the mesh (IPv4 and IPv6)"
	done
done

# TCP through the tunnel.
ns_start n2 "$NS_TMP/socat.log" socat -u "TCP-LISTEN:7777,bind=${V4[n2]},reuseaddr" "OPEN:$NS_TMP/received,creat,trunc"
ns_wait 5 ns_listening n2 tcp 7777
head -c 200000 /dev/urandom >"$NS_TMP/sent"
ns_exec n1 socat -u "OPEN:$NS_TMP/sent" "TCP:${V4[n2]}:7777"
ns_wait 5 cmp -s "$NS_TMP/sent" "$NS_TMP/received"
ns_pass "200 kB over TCP from n1 to n2, byte for byte"

out=$(ctl n1 ping -c 3 n2)
echo "$out"
ns_assert_match "meshctl ping prints the contract's line" "$out" \
	"pong from n2 \(${V4[n2]//./\\.}\) via 192\.0\.2\.2:41641 in [0-9.]+ms"

# A read from an unprivileged user works; a write is refused.
ns_assert "status readable as nobody" ns_exec n1 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$MESHCTL" --socket "${SOCK[n1]}" status --json
if ns_exec n1 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$MESHCTL" --socket "${SOCK[n1]}" down >"$NS_TMP/nobody.out" 2>&1; then
	ns_fail "meshctl down as nobody succeeded"
fi
ns_assert_match "down as nobody is refused" "$(cat "$NS_TMP/nobody.out")" 'access denied'
ns_assert_eq "n1 still Running" "$(st n1 'd["backend_state"]')" Running

# ---- deleting a node ----------------------------------------------------------------------
n3id=$(mc nodes list --json | python3 -c 'import json,sys; print([n["id"] for n in json.load(sys.stdin) if n["name"] == "n3"][0])')
mc nodes delete "$n3id" >/dev/null
ns_wait 5 npeers_is n1 1
ns_wait 5 npeers_is n2 1
ns_pass "n1 and n2 dropped n3 after nodes delete"
ns_assert_fails "n1 no longer reaches n3" ns_exec n1 ping -c 1 -W 1 "${V4[n3]}"

# ---- restarting a node keeps its address ----------------------------------------------------
kill -TERM "${PID[n2]}"
ns_wait 10 eval '! ns_alive '"${PID[n2]}"
ns_assert_fails "n2's interface is gone after SIGTERM" ns_exec n2 ip link show dev "${TUN[n2]}"
start_meshd n2
ns_wait 20 eval '[[ $(st n2 "d[\"backend_state\"]") == Running ]]'
ns_assert_eq "n2 came back with the same IPv4" "$(ctl n2 ip -4)" "${V4[n2]}"
ns_wait 10 ns_ping n1 "${V4[n2]}"
ns_pass "traffic between n1 and n2 resumed after the restart"

# ---- the control server is not in the data path ---------------------------------------------
kill -TERM "$CONTROL_PID"
ns_wait 10 eval '! ns_alive '"$CONTROL_PID"
ns_wait 5 ns_ping n1 "${V4[n2]}"
ns_wait 5 ns_ping n2 "${V4[n1]}"
ns_pass "with meshcontrol down, n1 and n2 still reach each other"
start_control
ns_wait 40 eval '[[ $(st n1 "d[\"self\"][\"online\"]") == True ]]'
ns_pass "n1 reconnected to the restarted meshcontrol"
ns_wait 5 ns_ping n1 "${V4[n2]}"

# ---- down removes addresses and routes ------------------------------------------------------
ctl n1 down
ns_wait 5 eval '[[ $(st n1 "d[\"backend_state\"]") == Stopped ]]'
ns_assert_fails "n1's interface is gone after down" ns_exec n1 ip link show dev "${TUN[n1]}"
ns_assert_fails "n1 has no rule for table 64 left" sh -c \
	"ip netns exec $(ns_name n1) ip rule | grep -q 'lookup 64'"
ns_done
