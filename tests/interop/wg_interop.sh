#!/bin/bash
# SPDX-License-Identifier: MIT
#
# wg_interop.sh: `meshd wireguard` against Debian's wireguard-go, both configured with wg(8), in
# two namespaces on a veth pair; then meshd against meshd. Covers: meshd as responder and as
# initiator, ping both ways (IPv4 and IPv6 inside), iperf3 TCP both directions, a preshared key
# (and a mismatched one), a wrong public key (no handshake, no crash, meshd keeps serving),
# roaming of the wireguard-go side to a new address, `wg show` handshake time and transfer
# counters matching wireguard-go's, `wg setconf`/`showconf`, and the engine's lifecycle: exit on
# SIGTERM, on deletion of its interface and of its UAPI socket, each time cleaning up.
# Needs root (exit 77 otherwise).

# shellcheck disable=SC2317 # helpers below run through ns_wait / ns_assert
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_TEST_NAME=${NS_TEST_NAME:-wg_interop}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"

ns_require_root
ns_require_cmd wireguard-go wg iperf3 ping python3

MESHD=${MESH_BUILD_DIR:-$here/../../build}/src/daemon/meshd
[[ -x $MESHD ]] || ns_skip "meshd not built at $MESHD"

SOCKDIR=/var/run/wireguard
# Sockets live in one host-wide directory: interface names must be unique to this run.
sfx=$(printf '%06x%02x' $(($$ & 0xffffff)) $((RANDOM & 0xff)))
IFM=wm$sfx	# meshd's interface
IFG=wg$sfx	# wireguard-go's interface
IFP=wp$sfx	# the second meshd's interface (meshd <-> meshd)
for i in "$IFM" "$IFG" "$IFP"; do
	ns_defer rm -f "$SOCKDIR/$i.sock"
done

PORT_M=51820
PORT_G=51821

# ---------------------------------------------------------------------------------------------
# helpers

key()
{
	(umask 077 && wg genkey >"$NS_TMP/$1.key")
	wg pubkey <"$NS_TMP/$1.key" >"$NS_TMP/$1.pub"
}

pub()
{
	cat "$NS_TMP/$1.pub"
}

# wgshow NS IFACE WHAT PEER: one field of `wg show IFACE WHAT` for PEER ("rx tx" for transfer).
wgshow()
{
	ns_exec "$1" wg show "$2" "$3" | awk -v k="$4" '$1 == k { $1 = ""; sub(/^ /, ""); print }'
}

# handshake_since NS IFACE PEER T: the latest handshake with PEER is at or after unix time T.
handshake_since()
{
	local t
	t=$(wgshow "$1" "$2" latest-handshakes "$3")
	[[ -n $t ]] && ((t >= $4))
}

endpoint_is()
{
	[[ $(wgshow "$1" "$2" endpoints "$3") == "$4" ]]
}

sock_up()
{
	[[ -S $SOCKDIR/$1.sock ]] && ns_exec "$2" wg show "$1" >/dev/null 2>&1
}

# counters_match: meshd's rx/tx for wireguard-go equal wireguard-go's tx/rx within a few packets
# (a keepalive or handshake may be in flight while the two are read).
counters_match()
{
	local m g mrx mtx grx gtx slack=300
	m=$(wgshow mesh "$IFM" transfer "$(pub wggo)")
	g=$(wgshow wggo "$IFG" transfer "$(pub mesh)")
	read -r mrx mtx <<<"$m"
	read -r grx gtx <<<"$g"
	echo "meshd rx=$mrx tx=$mtx wireguard-go rx=$grx tx=$gtx"
	((mrx > 0 && mtx > 0)) || return 1
	((mrx - gtx <= slack && gtx - mrx <= slack && mtx - grx <= slack && grx - mtx <= slack))
}

# iperf NS SERVER_ADDR [-R]: a 3 s TCP run; prints the received rate in Mbit/s.
iperf()
{
	local ns=$1 addr=$2
	shift 2
	ns_exec "$ns" iperf3 -c "$addr" -t 3 -J "$@" >"$NS_TMP/iperf.json" || return 1
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(int(d["end"]["sum_received"]["bits_per_second"] / 1e6))' "$NS_TMP/iperf.json"
}

assert_iperf()
{
	local desc=$1 rate
	shift
	rate=$(iperf "$@") || ns_fail "$desc: iperf3 failed ($(tail -c 300 "$NS_TMP/iperf.json"))"
	((rate >= 20)) || ns_fail "$desc: only $rate Mbit/s"
	ns_pass "$desc: $rate Mbit/s"
}

# exited_cleanly PID IFACE NS: the engine exits with status 0, its socket and interface gone.
exited_cleanly()
{
	local pid=$1 ifc=$2 ns=$3 rc=0
	ns_wait 5 eval '! ns_alive '"$pid"
	wait "$pid" || rc=$?
	ns_assert_eq "engine on $ifc exited with status 0" "$rc" 0
	ns_assert "socket of $ifc removed" test ! -e "$SOCKDIR/$ifc.sock"
	ns_assert_fails "interface $ifc removed" ns_exec "$ns" ip link show dev "$ifc"
}

# ---------------------------------------------------------------------------------------------
# meshd <-> wireguard-go

ns_link mesh wggo 192.0.2.1/24 192.0.2.2/24
key mesh
key wggo
key wrong
key mesh2

ns_start mesh "$NS_TMP/meshd.log" "$MESHD" wireguard -f "$IFM"
PID_M=$NS_PID
ns_start wggo "$NS_TMP/wggo.log" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$IFG"
PID_G=$NS_PID
ns_wait 10 sock_up "$IFM" mesh
ns_pass "meshd serves the UAPI at $SOCKDIR/$IFM.sock"
ns_wait 10 sock_up "$IFG" wggo
ns_assert_match "meshd listens on a random port before configuration" \
	"$(ns_exec mesh wg show "$IFM" listen-port)" '^[1-9][0-9]*$'

ns_exec mesh ip addr add 10.9.0.1/24 dev "$IFM"
ns_exec mesh ip addr add fd00:9::1/64 dev "$IFM" nodad
ns_exec mesh ip link set dev "$IFM" up
ns_exec wggo ip addr add 10.9.0.2/24 dev "$IFG"
ns_exec wggo ip addr add fd00:9::2/64 dev "$IFG" nodad
ns_exec wggo ip link set dev "$IFG" up
ns_assert_eq "TUN MTU is 1420" "$(ns_exec mesh cat "/sys/class/net/$IFM/mtu")" 1420

# --- meshd as responder: only wireguard-go knows an endpoint.
t0=$(date +%s)
ns_assert "configure meshd (wg set)" ns_exec mesh wg set "$IFM" private-key "$NS_TMP/mesh.key" \
	listen-port $PORT_M peer "$(pub wggo)" allowed-ips 10.9.0.2/32,fd00:9::2/128
ns_assert "configure wireguard-go (wg set)" ns_exec wggo wg set "$IFG" \
	private-key "$NS_TMP/wggo.key" listen-port $PORT_G peer "$(pub mesh)" \
	allowed-ips 10.9.0.1/32,fd00:9::1/128 endpoint 192.0.2.1:$PORT_M
ns_assert_eq "wg show reports meshd's public key" "$(ns_exec mesh wg show "$IFM" public-key)" \
	"$(pub mesh)"
ns_assert_eq "wg show reports the listen port" "$(ns_exec mesh wg show "$IFM" listen-port)" \
	$PORT_M
ns_assert_ping wggo 10.9.0.1
ns_wait 5 handshake_since mesh "$IFM" "$(pub wggo)" "$t0"
ns_pass "meshd as responder: handshake recorded by meshd"
ns_wait 5 handshake_since wggo "$IFG" "$(pub mesh)" "$t0"
ns_pass "meshd as responder: handshake recorded by wireguard-go"
ns_wait 5 endpoint_is mesh "$IFM" "$(pub wggo)" 192.0.2.2:$PORT_G
ns_pass "meshd learned wireguard-go's endpoint from the handshake"
ns_assert_ping mesh 10.9.0.2
ns_assert_ping mesh fd00:9::2
ns_assert_ping wggo fd00:9::1

# --- meshd as initiator: fresh peers, now only meshd knows an endpoint (wg setconf on meshd).
cat >"$NS_TMP/mesh.conf" <<EOF
[Interface]
PrivateKey = $(cat "$NS_TMP/mesh.key")
ListenPort = $PORT_M

[Peer]
PublicKey = $(pub wggo)
AllowedIPs = 10.9.0.2/32, fd00:9::2/128
Endpoint = 192.0.2.2:$PORT_G
EOF
ns_assert "wireguard-go forgets meshd" ns_exec wggo wg set "$IFG" peer "$(pub mesh)" remove
ns_assert "wireguard-go re-adds meshd without endpoint" ns_exec wggo wg set "$IFG" \
	peer "$(pub mesh)" allowed-ips 10.9.0.1/32,fd00:9::1/128
ns_assert "meshd: wg setconf" ns_exec mesh wg setconf "$IFM" "$NS_TMP/mesh.conf"
ns_assert_eq "fresh peer on meshd has no handshake" \
	"$(wgshow mesh "$IFM" latest-handshakes "$(pub wggo)")" 0
ns_assert_eq "wg showconf round-trips through meshd" \
	"$(ns_exec mesh wg showconf "$IFM" | grep -c -e "^PrivateKey = $(cat "$NS_TMP/mesh.key")\$" \
		-e "^ListenPort = $PORT_M\$" -e "^Endpoint = 192.0.2.2:$PORT_G\$" \
		-e "^PublicKey = $(pub wggo)\$" -e '^AllowedIPs = 10.9.0.2/32, fd00:9::2/128$')" 5
t0=$(date +%s)
ns_assert_ping mesh 10.9.0.2
ns_wait 5 handshake_since wggo "$IFG" "$(pub mesh)" "$t0"
ns_pass "meshd as initiator: handshake recorded by wireguard-go"
ns_wait 5 endpoint_is wggo "$IFG" "$(pub mesh)" 192.0.2.1:$PORT_M
ns_pass "wireguard-go learned meshd's endpoint (meshd initiated)"
ns_assert_ping wggo 10.9.0.1
ns_assert_ping mesh fd00:9::2

ns_assert "100 pings meshd -> wireguard-go" ns_exec mesh ping -q -c 100 -i 0.01 -W 2 10.9.0.2
ns_assert "100 pings wireguard-go -> meshd" ns_exec wggo ping -q -c 100 -i 0.01 -W 2 10.9.0.1
ns_wait 5 counters_match
ns_pass "wg show transfer counters agree: $NS_POLL_OUT"
hs=$(wgshow mesh "$IFM" latest-handshakes "$(pub wggo)")
((hs >= t0 && hs <= $(date +%s))) || ns_fail "meshd's latest handshake $hs is not recent"
ns_pass "meshd's latest handshake is recent ($(($(date +%s) - hs)) s ago)"

# --- iperf3 TCP both directions.
ns_start wggo "$NS_TMP/iperf-wggo.log" iperf3 -s -B 10.9.0.2
PID_IPERF_G=$NS_PID
ns_wait 5 ns_listening wggo tcp 5201
assert_iperf "iperf3 meshd -> wireguard-go" mesh 10.9.0.2
assert_iperf "iperf3 wireguard-go -> meshd (reverse)" mesh 10.9.0.2 -R
ns_stop "$PID_IPERF_G"
ns_assert "meshd still alive after iperf3" ns_alive "$PID_M"

# --- preshared key: matching on both sides, fresh handshake.
(umask 077 && wg genpsk >"$NS_TMP/psk" && wg genpsk >"$NS_TMP/psk2")
ns_exec wggo wg set "$IFG" peer "$(pub mesh)" remove
ns_exec mesh wg set "$IFM" peer "$(pub wggo)" remove
ns_assert "meshd: peer with preshared key" ns_exec mesh wg set "$IFM" peer "$(pub wggo)" \
	preshared-key "$NS_TMP/psk" allowed-ips 10.9.0.2/32 endpoint 192.0.2.2:$PORT_G
ns_assert "wireguard-go: peer with preshared key" ns_exec wggo wg set "$IFG" \
	peer "$(pub mesh)" preshared-key "$NS_TMP/psk" allowed-ips 10.9.0.1/32
ns_assert_eq "meshd reports the preshared key" \
	"$(wgshow mesh "$IFM" preshared-keys "$(pub wggo)")" "$(cat "$NS_TMP/psk")"
t0=$(date +%s)
ns_assert_ping mesh 10.9.0.2
ns_wait 5 handshake_since mesh "$IFM" "$(pub wggo)" "$t0"
ns_pass "handshake with a preshared key"
ns_assert_ping wggo 10.9.0.1

# A mismatched preshared key: the handshake cannot complete.
ns_exec wggo wg set "$IFG" peer "$(pub mesh)" remove
ns_exec mesh wg set "$IFM" peer "$(pub wggo)" remove
ns_exec mesh wg set "$IFM" peer "$(pub wggo)" preshared-key "$NS_TMP/psk" \
	allowed-ips 10.9.0.2/32 endpoint 192.0.2.2:$PORT_G
ns_exec wggo wg set "$IFG" peer "$(pub mesh)" preshared-key "$NS_TMP/psk2" allowed-ips 10.9.0.1/32
ns_assert_no_ping mesh 10.9.0.2
ns_assert_no_ping mesh 10.9.0.2
ns_assert_eq "no handshake with a mismatched preshared key" \
	"$(wgshow mesh "$IFM" latest-handshakes "$(pub wggo)")" 0

# --- a wrong public key: meshd's peer is not wireguard-go's key.
ns_exec wggo wg set "$IFG" peer "$(pub mesh)" remove
ns_exec mesh wg set "$IFM" peer "$(pub wggo)" remove
ns_exec mesh wg set "$IFM" peer "$(pub wrong)" allowed-ips 10.9.0.2/32,fd00:9::2/128 \
	endpoint 192.0.2.2:$PORT_G
ns_exec wggo wg set "$IFG" peer "$(pub mesh)" allowed-ips 10.9.0.1/32,fd00:9::1/128 \
	endpoint 192.0.2.1:$PORT_M
ns_assert_no_ping mesh 10.9.0.2
ns_assert_no_ping wggo 10.9.0.1
ns_assert_eq "no handshake with a wrong public key" \
	"$(wgshow mesh "$IFM" latest-handshakes "$(pub wrong)")" 0
ns_assert "meshd still alive with a wrong public key" ns_alive "$PID_M"
ns_assert "meshd still answers wg show" ns_exec mesh wg show "$IFM"
ns_assert "meshd: replace the wrong key" ns_exec mesh wg set "$IFM" peer "$(pub wrong)" remove \
	peer "$(pub wggo)" allowed-ips 10.9.0.2/32,fd00:9::2/128 endpoint 192.0.2.2:$PORT_G
ns_assert_ping mesh 10.9.0.2
ns_pass "meshd serves again once the key is right"

# --- roaming: wireguard-go moves to a new address and port; meshd follows once it hears from it.
# (wireguard-go keeps sending from its cached source address until its socket is rebound or a
# handshake times out; the new port rebinds it at once, like a NAT mapping changing.)
ns_exec wggo ip addr del 192.0.2.2/24 dev mesh
ns_exec wggo ip addr add 192.0.2.3/24 dev mesh
ns_exec wggo wg set "$IFG" listen-port $((PORT_G + 1))
ns_assert_ping wggo 10.9.0.1
ns_wait 5 endpoint_is mesh "$IFM" "$(pub wggo)" 192.0.2.3:$((PORT_G + 1))
ns_pass "meshd roamed to wireguard-go's new address"
ns_assert_ping mesh 10.9.0.2
ns_assert_ping mesh fd00:9::2

# --- clean exit on SIGTERM, for both implementations.
kill -TERM "$PID_M"
exited_cleanly "$PID_M" "$IFM" mesh
ns_stop "$PID_G"

# ---------------------------------------------------------------------------------------------
# meshd <-> meshd, with an IPv6 outer path

ns_exec mesh ip addr add 2001:db8:9::1/64 dev wggo nodad
ns_exec wggo ip addr add 2001:db8:9::2/64 dev mesh nodad
ns_start mesh "$NS_TMP/meshd-a.log" "$MESHD" wireguard "$IFM"
PID_M=$NS_PID
ns_start wggo "$NS_TMP/meshd-b.log" "$MESHD" wireguard --foreground "$IFP"
PID_P=$NS_PID
ns_wait 10 sock_up "$IFM" mesh
ns_wait 10 sock_up "$IFP" wggo
ns_exec mesh ip addr add 10.9.0.1/24 dev "$IFM"
ns_exec mesh ip link set dev "$IFM" up
ns_exec wggo ip addr add 10.9.0.2/24 dev "$IFP"
ns_exec wggo ip link set dev "$IFP" up
ns_assert "meshd A configured" ns_exec mesh wg set "$IFM" private-key "$NS_TMP/mesh.key" \
	listen-port $PORT_M peer "$(pub mesh2)" allowed-ips 10.9.0.2/32 \
	endpoint "[2001:db8:9::2]:$PORT_G" persistent-keepalive 25
ns_assert "meshd B configured" ns_exec wggo wg set "$IFP" private-key "$NS_TMP/mesh2.key" \
	listen-port $PORT_G peer "$(pub mesh)" allowed-ips 10.9.0.1/32
ns_assert_eq "keepalive interval reported" \
	"$(wgshow mesh "$IFM" persistent-keepalive "$(pub mesh2)")" 25
# The persistent keepalive alone brings the session up.
ns_wait 10 handshake_since wggo "$IFP" "$(pub mesh)" 1
ns_pass "meshd <-> meshd handshake over IPv6 (persistent keepalive)"
ns_assert_eq "B sees A's IPv6 endpoint" "$(wgshow wggo "$IFP" endpoints "$(pub mesh)")" \
	"[2001:db8:9::1]:$PORT_M"
ns_assert_ping mesh 10.9.0.2
ns_assert_ping wggo 10.9.0.1
ns_start wggo "$NS_TMP/iperf-p.log" iperf3 -s -B 10.9.0.2
ns_wait 5 ns_listening wggo tcp 5201
assert_iperf "iperf3 meshd A -> meshd B" mesh 10.9.0.2
assert_iperf "iperf3 meshd B -> meshd A (reverse)" mesh 10.9.0.2 -R

# --- the engine exits when its interface is deleted, and when its socket file is.
ns_exec wggo ip link del dev "$IFP"
exited_cleanly "$PID_P" "$IFP" wggo
rm -f "$SOCKDIR/$IFM.sock"
exited_cleanly "$PID_M" "$IFM" mesh

ns_done
