#!/bin/bash
# SPDX-License-Identifier: MIT
#
# magicsock.sh: NAT traversal with the real magicsock, WireGuard engine and meshrelay. Pairs of
# mesh_magicsock_tool nodes (a device on magicsock with an in-memory TUN, sending a numbered
# packet every 100 ms and printing the path each received one took) sit behind the NAT kinds of
# tests/lib/netns.sh; their endpoints and home region reach each other through files, as a
# netmap would carry them. One meshrelay region ("home") relays and answers STUN, a second
# STUN-only server lets netcheck see whether a NAT maps per destination.
#
#   cone    <-> cone       direct within 2 s through both NATs; UDP between the NATs dropped ->
#                          the relay carries the traffic within 7 s; allowed again -> direct
#   same LAN (one NAT)     direct on the LAN addresses
#   double NAT <-> cone    direct
#   public  <-> symmetric  direct (the symmetric side is learned from its pings)
#   cone    <-> symmetric  relay or direct, traffic flows both ways
#   UDP blocked <-> cone   relay only (over TCP), traffic flows, ping says relay(home)
#
# Times from start to first delivery and to the first direct path go to the log.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_TEST_NAME=${NS_TEST_NAME:-magicsock}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"

BUILD=${MESH_BUILD_DIR:-$here/../../build}
RELAY=$BUILD/src/relay/meshrelay
TOOL=$BUILD/tests/integration/mesh_magicsock_tool
RELAY_IP=203.0.113.10
STUN2_IP=203.0.113.20
RPORT=8080
SPORT=3478

ns_require_root
ns_require_cmd iptables ss sha256sum
[[ -x $RELAY && -x $TOOL ]] || ns_fail "build meshrelay and mesh_magicsock_tool first ($BUILD)"
cd "$NS_TMP"

# --- the internet, the relay region and a second STUN server ---
ns_router inet
ns_lan pub inet 203.0.113.1/24 relay=$RELAY_IP stun2=$STUN2_IP pubh=203.0.113.30
ns_start relay "$NS_TMP/relay.log" "$RELAY" --listen "$RELAY_IP:$RPORT" \
	--stun-listen "$RELAY_IP:$SPORT"
RELAY_PID=$NS_PID
ns_start stun2 "$NS_TMP/stun2.log" "$RELAY" --listen "$STUN2_IP:$RPORT" \
	--stun-listen "$STUN2_IP:$SPORT"
ns_wait 5 ns_listening relay tcp $RPORT
ns_wait 5 ns_listening relay udp $SPORT
ns_wait 5 ns_listening stun2 udp $SPORT
ns_pass "meshrelay (region home) and a second STUN server are up"

# --- NAT boxes on one WAN, their LANs and hosts ---
ns_lan wan inet 198.18.0.1/15 cone1 cone2 sym udpb outer
ns_lan lan1 cone1 10.1.0.1/24 a1 a2 a3
ns_nat cone1 cone
ns_lan lan2 cone2 10.2.0.1/24 b1 b2 b3 b4
ns_nat cone2 cone
ns_lan lan3 sym 10.3.0.1/24 s1 s2
ns_nat sym symmetric
ns_lan lan4 udpb 10.4.0.1/24 u1
ns_nat udpb udp_block
ns_lan lan5 outer 10.5.0.1/24 inner
ns_nat outer cone
ns_lan lan6 inner 10.6.0.1/24 d1
ns_nat inner cone
# Like a home router, each NAT box drops what arrives unasked on its WAN side for itself. Without
# that, Linux conntrack records a peer's first punch packet as a connection to the box, and the
# box then maps our own packet to that peer from another port: simultaneous open never works.
for nat in cone1 cone2 sym udpb outer inner; do
	wanif=wan
	[[ $nat == inner ]] && wanif=lan5
	ns_exec $nat iptables -w -A INPUT -i $wanif -m conntrack --ctstate NEW -j DROP ||
		ns_fail "WAN firewall on $nat"
done
ns_assert_ping a1 $RELAY_IP
ns_assert_ping d1 $RELAY_IP
ns_assert_ping s1 $STUN2_IP
CONE2_WAN=$(ns_addr cone2 wan)

key()
{
	printf '%s' "$1" | sha256sum | cut -c1-64
}

pub()
{
	"$TOOL" pubkey "$(key "$1")"
}

# run NAME PEER INNER PEER_INNER [EXTRA...]: NAME's tool, talking to PEER's.
declare -A PID=()
run()
{
	local name=$1 peer=$2 addr=$3 peer_addr=$4
	shift 4
	ns_start "$name" "$NS_TMP/$name.out" "$TOOL" run \
		--key "$(key "$name-node")" --disco-key "$(key "$name-disco")" \
		--peer "$(pub "$peer-node")" --peer-disco "$(pub "$peer-disco")" \
		--addr "$addr" --peer-addr "$peer_addr" \
		--relay "900,home,$RELAY_IP,$RPORT,$SPORT" --relay "901,stun,$STUN2_IP,0,$SPORT" \
		--state "$NS_TMP/$name.state" --peer-state "$NS_TMP/$peer.state" "$@"
	PID[$name]=$NS_PID
}

# pair A B [EXTRA_FOR_A...]: two tools that talk to each other.
pair()
{
	run "$1" "$2" 10.99.0.1 10.99.0.2 "${@:3}"
	run "$2" "$1" 10.99.0.2 10.99.0.1
}

# first_ms NAME ERE [FROM_LINE]: t= of NAME's first output line matching ERE (empty: none).
first_ms()
{
	{ tail -n "+${3:-1}" "$NS_TMP/$1.out" | grep -E "$2" || true; } | head -n1 |
		sed -E 's/^t=([0-9]+) .*/\1/'
}

has()
{
	grep -qE "$2" "$NS_TMP/$1.out"
}

# has_after NAME LINE ERE: a line after line LINE of NAME's output matches ERE.
has_after()
{
	tail -n "+$(($2 + 1))" "$NS_TMP/$1.out" | grep -qE "$3"
}

# max_gap NAME FROM_MS: the longest time between received packets from FROM_MS on.
max_gap()
{
	awk -v from="$2" '/ rx seq=/ { t = substr($1, 3) + 0; if (t < from) next;
		if (last && t - last > gap) gap = t - last; last = t }
		END { print gap + 0 }' "$NS_TMP/$1.out"
}

last_path()
{
	{ grep -E '^t=[0-9]+ path ' "$NS_TMP/$1.out" || true; } | tail -n1 | cut -d' ' -f3-
}

lines()
{
	wc -l <"$NS_TMP/$1.out"
}

both_direct()
{
	has "$1" '^t=[0-9]+ path direct ' && has "$2" '^t=[0-9]+ path direct '
}

both_receive()
{
	has "$1" ' rx seq=' && has "$2" ' rx seq='
}

alive()
{
	local n
	for n in "$@"; do
		ns_alive "${PID[$n]}" || return 1
	done
}

# report NAME WHAT: log the times from start to the first delivery and to a direct path.
report()
{
	local rx direct
	rx=$(first_ms "$1" ' rx seq=')
	direct=$(first_ms "$1" ' path direct ')
	ns_info "$2: $1 got its first packet after ${rx:-(never)} ms," \
		"direct after ${direct:-(never)} ms $(first_path "$1")"
}

first_path()
{
	{ grep -E '^t=[0-9]+ path direct ' "$NS_TMP/$1.out" || true; } | head -n1 | cut -d' ' -f4
}

now_ms()
{
	local t=${EPOCHREALTIME/./}
	echo $((10#$t / 1000))
}

# --- every pair starts at once ---
pair a1 b1 --ping-interval 1000 # cone <-> cone
pair a2 a3                      # same LAN
pair d1 b2                      # double NAT <-> cone
pair pubh s1                    # public <-> symmetric
pair s2 b3                      # symmetric <-> cone
pair u1 b4 --ping-interval 1000 # UDP blocked <-> cone

ns_wait 10 both_direct a1 b1
for n in a1 b1; do
	report $n "cone<->cone"
	ms=$(first_ms $n ' path direct ')
	((ms <= 2000)) || ns_fail "$n: direct only after $ms ms (want <= 2000)"
	ms=$(first_ms $n ' rx seq=')
	((ms <= 2000)) || ns_fail "$n: first packet only after $ms ms (want <= 2000)"
done
ns_pass "cone <-> cone: first packets and a direct path within 2 s"
ns_assert_match "the direct path goes through b1's NAT" "$(last_path a1)" \
	"^direct $CONE2_WAN:[0-9]+\$"
ns_wait 5 has a1 ' rx seq=[0-9]+ via=198\.18\.'
ns_wait 5 has a1 ' pong via 198\.18\.[0-9.]+:[0-9]+ in [0-9.]+ms$'
ns_pass "a1's ping reports the direct address"
ns_wait 5 has a1 ' netcheck udp=yes v4=198\.18\.[0-9.]+:[0-9]+ varies=no home=home$'
ns_pass "netcheck behind a cone NAT: UDP, the NAT's address, one mapping, home region"

ns_wait 5 both_direct a2 a3
report a2 "same LAN"
ns_assert_match "same LAN: direct on the LAN address" "$(last_path a2)" '^direct 10\.1\.0\.[0-9]+:'

ns_wait 5 both_direct d1 b2
report d1 "double NAT<->cone"
ns_pass "double NAT <-> cone: direct"

ns_wait 5 both_direct pubh s1
report pubh "public<->symmetric"
report s1 "public<->symmetric"
ns_assert_match "the public node reaches the symmetric one at a port learned from its pings" \
	"$(last_path pubh)" '^direct 198\.18\.'
ns_wait 5 has s1 ' netcheck udp=yes v4=198\.18\.[0-9.]+:[0-9]+ varies=yes home=home$'
ns_pass "netcheck behind a symmetric NAT: the mapping varies by destination"

ns_wait 5 both_receive s2 b3
report s2 "symmetric<->cone"
ns_info "symmetric<->cone ends up: $(last_path s2) / $(last_path b3)"
ns_pass "symmetric <-> cone: traffic flows both ways"

ns_wait 5 both_receive u1 b4
report u1 "UDP blocked<->cone"
ns_wait 5 has u1 ' pong via relay\(home\) in [0-9.]+ms$'
ns_wait 5 has u1 ' netcheck udp=no v4=none varies=unknown home=home$'
sleep 3 # give a direct path every chance to (wrongly) appear
ns_assert_fails "UDP blocked: never direct" has u1 ' path direct '
ns_assert_fails "UDP blocked: the peer never direct either" has b4 ' path direct '
ns_assert "UDP blocked: all packets come through the relay" \
	bash -c "! grep ' rx seq=' '$NS_TMP/u1.out' | grep -qv 'via=relay'"
ns_assert_match "UDP blocked: the path is the relay" "$(last_path u1)" '^relay home$'

# --- break the direct path between the cone NATs, then mend it ---
ns_assert "every node is still running" alive a1 b1 a2 a3 d1 b2 pubh s1 s2 b3 u1 b4
mark_a=$(lines a1)
mark_b=$(lines b1)
cut_at=$(now_ms)
ns_exec cone1 iptables -w -I FORWARD -p udp -d "$CONE2_WAN" -j DROP
ns_exec cone1 iptables -w -I FORWARD -p udp -s "$CONE2_WAN" -j DROP
ns_wait 10 has_after a1 "$mark_a" ' path relay home$'
ns_wait 10 has_after b1 "$mark_b" ' path relay home$'
took=$(($(now_ms) - cut_at))
ns_info "UDP between the NATs dropped: both on the relay after $took ms"
((took <= 7500)) || ns_fail "falling back took $took ms (want <= 7 s)"
ns_wait 3 has_after b1 "$(($(lines b1) - 1))" ' rx seq=[0-9]+ via=relay$'
gap=$(max_gap b1 "$(first_ms b1 '.' "$mark_b")")
ns_info "longest gap between packets at b1 across the switch: $gap ms"
((gap <= 7500)) || ns_fail "b1 went $gap ms without a packet"
ns_pass "no direct path: the relay carries the traffic within 7 s, without a longer outage"

mark_a=$(lines a1)
mark_b=$(lines b1)
mend_at=$(now_ms)
ns_exec cone1 iptables -w -D FORWARD -p udp -d "$CONE2_WAN" -j DROP
ns_exec cone1 iptables -w -D FORWARD -p udp -s "$CONE2_WAN" -j DROP
ns_wait 15 has_after a1 "$mark_a" ' path direct '
ns_wait 15 has_after b1 "$mark_b" ' path direct '
ns_info "UDP allowed again: both direct after $(($(now_ms) - mend_at)) ms"
ns_wait 3 has_after b1 "$(($(lines b1) - 1))" ' rx seq=[0-9]+ via=198\.18\.'
ns_pass "the direct path comes back"

# --- the relay goes away: direct paths do not care ---
mark_a=$(lines a1)
ns_stop "$RELAY_PID"
mark_b=$(lines b1)
sleep 2
ns_wait 3 has_after b1 "$mark_b" ' rx seq=[0-9]+ via=198\.18\.'
ns_assert_fails "without the relay, the direct path stays" has_after a1 "$mark_a" ' path relay'
ns_assert "every node is still running" alive a1 b1 a2 a3 d1 b2 pubh s1 s2 b3 u1 b4
ns_done
