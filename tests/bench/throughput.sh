#!/bin/bash
# SPDX-License-Identifier: MIT
#
# throughput.sh: TCP throughput and ping latency through wireguard-go <-> wireguard-go and
# through meshd <-> meshd, on one veth pair between two namespaces, in one run. Both tunnels
# exist side by side (different interfaces, ports and inner subnets); iperf3 runs alternate
# between them, BENCH_ROUNDS rounds (default 3) of BENCH_SECONDS (default 5) each, so both see
# the same machine state. Prints each round, the medians, the ratio meshd/wireguard-go and the
# average ping RTT through each. A benchmark, not a pass/fail test: it fails only if a run
# fails, or if BENCH_MIN_RATIO is set and the median ratio is below it.
# Needs root (exit 77 otherwise). Label "bench": not part of the default run.

# shellcheck disable=SC2317 # helpers below run through ns_wait / ns_assert
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_TEST_NAME=${NS_TEST_NAME:-throughput}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"

ns_require_root
ns_require_cmd wireguard-go wg iperf3 ping python3

MESHD=${MESH_BUILD_DIR:-$here/../../build}/src/daemon/meshd
[[ -x $MESHD ]] || ns_skip "meshd not built at $MESHD"
ROUNDS=${BENCH_ROUNDS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
SOCKDIR=/var/run/wireguard

sfx=$(printf '%06x%02x' $(($$ & 0xffffff)) $((RANDOM & 0xff)))
declare -A IFL=([wggo]=bg$sfx [meshd]=bm$sfx)  # interface in namespace "left"
declare -A IFR=([wggo]=cg$sfx [meshd]=cm$sfx)  # interface in namespace "right"
declare -A NET=([wggo]=10.10.1 [meshd]=10.10.2) # inner /24 per implementation
declare -A PORT=([wggo]=52000 [meshd]=52100)
declare -A IPORT=([wggo]=5201 [meshd]=5202)	# iperf3 server port
for impl in wggo meshd; do
	ns_defer rm -f "$SOCKDIR/${IFL[$impl]}.sock" "$SOCKDIR/${IFR[$impl]}.sock"
done

ns_link left right 192.0.2.1/24 192.0.2.2/24

key()
{
	(umask 077 && wg genkey >"$NS_TMP/$1.key")
	wg pubkey <"$NS_TMP/$1.key" >"$NS_TMP/$1.pub"
}

sock_up()
{
	[[ -S $SOCKDIR/$1.sock ]] && ns_exec "$2" wg show "$1" >/dev/null 2>&1
}

# start IMPL NS IFACE: the engine for IFACE in namespace NS.
start()
{
	local impl=$1 ns=$2 ifc=$3
	if [[ $impl == wggo ]]; then
		ns_start "$ns" "$NS_TMP/$ifc.log" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$ifc"
	else
		ns_start "$ns" "$NS_TMP/$ifc.log" "$MESHD" wireguard -f "$ifc"
	fi
	ns_wait 10 sock_up "$ifc" "$ns"
}

# tunnel IMPL: a configured tunnel left.1 <-> right.2 through IMPL on both sides.
tunnel()
{
	local impl=$1 l=${IFL[$1]} r=${IFR[$1]} net=${NET[$1]} port=${PORT[$1]}
	key "$l"
	key "$r"
	start "$impl" left "$l"
	start "$impl" right "$r"
	ns_exec left wg set "$l" private-key "$NS_TMP/$l.key" listen-port "$port" \
		peer "$(cat "$NS_TMP/$r.pub")" allowed-ips "$net.2/32" endpoint "192.0.2.2:$((port + 1))"
	ns_exec right wg set "$r" private-key "$NS_TMP/$r.key" listen-port "$((port + 1))" \
		peer "$(cat "$NS_TMP/$l.pub")" allowed-ips "$net.1/32" endpoint "192.0.2.1:$port"
	ns_exec left ip addr add "$net.1/24" dev "$l"
	ns_exec left ip link set dev "$l" up
	ns_exec right ip addr add "$net.2/24" dev "$r"
	ns_exec right ip link set dev "$r" up
	ns_assert_ping left "$net.2"
}

# iperf IMPL: one TCP run left -> right through IMPL; prints Mbit/s received.
iperf()
{
	local net=${NET[$1]}
	ns_exec left iperf3 -c "$net.2" -p "${IPORT[$1]}" -t "$SECONDS_PER_RUN" -O 1 -J \
		>"$NS_TMP/iperf.json" ||
		ns_fail "iperf3 through $1: $(tail -c 300 "$NS_TMP/iperf.json")"
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(round(d["end"]["sum_received"]["bits_per_second"] / 1e6))' "$NS_TMP/iperf.json"
}

median()
{
	printf '%s\n' "$@" | sort -n |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

rtt()
{
	ns_exec left ping -n -q -c 50 -i 0.02 "${NET[$1]}.2" |
		awk -F/ '/^rtt/ { printf "%.3f", $5 }'
}

tunnel wggo
tunnel meshd
for impl in wggo meshd; do
	ns_start right "$NS_TMP/iperf-$impl.log" iperf3 -s -B "${NET[$impl]}.2" -p "${IPORT[$impl]}"
	ns_wait 5 ns_listening right tcp "${IPORT[$impl]}"
done

declare -a G=() M=()
ns_info "$(nproc) cores, $ROUNDS rounds of ${SECONDS_PER_RUN}s, iperf3 TCP left -> right"
for ((i = 1; i <= ROUNDS; i++)); do
	g=$(iperf wggo)
	m=$(iperf meshd)
	G+=("$g")
	M+=("$m")
	ns_info "round $i: wireguard-go $g Mbit/s, meshd $m Mbit/s"
done
mg=$(median "${G[@]}")
mm=$(median "${M[@]}")
ratio=$(awk -v m="$mm" -v g="$mg" 'BEGIN { printf "%.2f", (g > 0) ? m / g : 0 }')
rg=$(rtt wggo)
rm_=$(rtt meshd)

echo "throughput (median of $ROUNDS): wireguard-go $mg Mbit/s, meshd $mm Mbit/s," \
	"ratio meshd/wireguard-go $ratio"
echo "ping rtt (avg of 50): wireguard-go $rg ms, meshd $rm_ ms"
if [[ -n ${BENCH_MIN_RATIO:-} ]]; then
	awk -v r="$ratio" -v min="$BENCH_MIN_RATIO" 'BEGIN { exit !(r >= min) }' ||
		ns_fail "ratio $ratio below BENCH_MIN_RATIO=$BENCH_MIN_RATIO"
	ns_pass "ratio $ratio >= $BENCH_MIN_RATIO"
fi
ns_done
