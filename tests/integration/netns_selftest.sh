#!/bin/bash
# SPDX-License-Identifier: MIT
#
# netns_selftest.sh: proves tests/lib/netns.sh: names, polling, LANs, the three NAT kinds and
# double NAT, and a teardown (at exit, on SIGTERM and on demand) that leaves namespaces, root
# interfaces and /etc/netns exactly as they were and no started process behind. Needs root
# (exit 77 otherwise). The parent process only observes; the scenarios run as child processes
# so their teardown really goes through the library's exit and signal traps.

# Many functions here are only called through ns_assert, ns_poll or ns_defer.
# shellcheck disable=SC2317
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"
NS_TEST_NAME=${NS_TEST_NAME:-netns_selftest}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"

SRV=203.0.113.10	# public host on the "internet" router's second network
SRV2=203.0.113.20	# second public host: the other destination for NAT mapping checks
SPORT=40000		# inside UDP source port used towards both destinations
# Echo servers answer with the source address and port they saw. (socat splits address
# parameters at ':', so the reply separates them with a space; the askers turn it into a:p.)
# The request line is read first: socat fails the exchange if the command exits before it could
# write the request to it.
# shellcheck disable=SC2016 # expanded by the shell socat runs
ECHO_PEER='SYSTEM:read -r req; echo $SOCAT_PEERADDR $SOCAT_PEERPORT'

# Runs "$@" in a subshell, so an ns_fail inside it ends only the subshell.
sub()
{
	("$@")
}

# Records the PID ns_start just started, with its start time, for the parent to check.
track()
{
	echo "$NS_PID ${NS__PSTART[$NS_PID]:-}" >>"$STATE/pids"
}

# running PID [STARTTIME]: PID exists, is no zombie, and (if given) started at STARTTIME.
running()
{
	local f
	read -r -a f 2>/dev/null <<<"$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)" || return 1
	((${#f[@]} > 19)) || return 1
	[[ ${f[0]} != Z && ${f[0]} != X ]] || return 1
	[[ -z ${2:-} || ${f[19]} == "$2" ]]
}

ms_since()
{
	local now=${EPOCHREALTIME//[!0-9]/}
	echo $(((10#$now - 10#$1) / 1000))
}

lo_up()
{
	ns_exec "$1" ip -o link show dev lo | grep -q '<LOOPBACK,UP'
}

root_veths()
{
	ip -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort
}

# Root-namespace interfaces of this run: named with its tag, or veths whose peer is in one of its
# namespaces (shown by name or by the root's id for that namespace).
root_links_ours()
{
	local ids line
	ids=$(ip netns list | sed -n "s/^$NS_TAG-[^ ]* (id: \([0-9]*\))$/\1/p")
	while IFS= read -r line; do
		if [[ $line =~ ^[0-9]+:\ $NS_TAG || $line =~ link-netns\ $NS_TAG- ]]; then
			echo "$line"
		elif [[ $line =~ link-netnsid\ ([0-9]+) ]] &&
			grep -qx "${BASH_REMATCH[1]}" <<<"$ids"; then
			echo "$line"
		fi
	done < <(ip -o link show)
}

# tcp_ask NAME DST: the public host's TCP echo prints the source address:port it saw.
tcp_ask()
{
	ns_exec "$1" socat -T 3 - "TCP:$2:7000,connect-timeout=2" </dev/null | tr ' ' :
}

# udp_ask NAME DST SPORT: one datagram from SPORT to DST:7001; prints the reply (source seen).
udp_ask()
{
	echo ping | ns_exec "$1" socat -t 1 -T 3 - "UDP:$2:7001,sourceport=$3,reuseaddr" | tr ' ' :
}

# Outside ports the NAT in NAME holds for inside UDP source port SPORT (conntrack reply dport).
nat_ports()
{
	ns_exec "$1" conntrack -L -p udp --orig-port-src "$2" 2>/dev/null |
		sed -n 's/.*src=.* dport=.* src=.* dport=\([0-9]*\) .*/\1/p' | sort
}

# udp_count NAME SRC: UDP datagrams from SRC that reached NAME's port 7001 (counting rule).
udp_count()
{
	ns_exec "$1" iptables-save -c -t filter |
		sed -n "s|^\[\([0-9]*\):[0-9]*\] -A INPUT -s $2/32 -p udp .*|\1|p"
}

forwarding()
{
	ns_exec "$1" sysctl -n net.ipv4.ip_forward
}

# --------------------------------------------------------------------------------------------
# Scenario 1: library behaviour, then the full topology. Teardown through the EXIT trap.

scenario_names()
{
	ns_assert_fails "a 16-character name is refused" sub ns_host abcdefghijklmnop
	ns_assert_fails "the reserved name lo is refused" sub ns_host lo
	ns_assert_fails "a name with / is refused" sub ns_host a/b
	ns_assert "a 15-character name is accepted" ns_host abcdefghijklmno
	ns_assert_eq "its namespace carries the run tag" "$(ns_name abcdefghijklmno)" \
		"$NS_TAG-abcdefghijklmno"
	ns_assert "loopback is up in a new namespace" lo_up abcdefghijklmno
	ns_assert_fails "ns_exec refuses a namespace it did not make" sub ns_exec nosuch true
	# Names that are also ip(8) keywords or their abbreviations must still work.
	ns_link a dev 10.9.2.1/30 10.9.2.2/30
	ns_assert_ping a 10.9.2.2
	ns_assert_eq "the ends are named after the other side" \
		"$(ns_exec a ip -o -4 addr show dev dev | awk '{ print $4 }')" 10.9.2.1/30
}

scenario_polling()
{
	local t0 rc ms

	t0=${EPOCHREALTIME//[!0-9]/}
	rc=0
	ns_poll 1 false || rc=$?
	ms=$(ms_since "$t0")
	ns_assert_eq "ns_poll on a false condition returns 1" "$rc" 1
	((ms >= 900 && ms < 1900)) || ns_fail "ns_poll 1 false took ${ms} ms"
	ns_pass "ns_poll 1 false gave up after ${ms} ms (within its timeout)"

	t0=${EPOCHREALTIME//[!0-9]/}
	rc=0
	sub ns_wait 0.5 false 2>"$NS_TMP/wait.err" || rc=$?
	ms=$(ms_since "$t0")
	ns_assert_eq "ns_wait on a false condition fails the test" "$rc" 1
	ns_assert_match "ns_wait says what it waited for" "$(<"$NS_TMP/wait.err")" \
		'timed out after 0\.5s waiting for: false'
	((ms >= 400 && ms < 1500)) || ns_fail "ns_wait 0.5 false took ${ms} ms"
	ns_pass "ns_wait 0.5 false failed after ${ms} ms"

	t0=${EPOCHREALTIME//[!0-9]/}
	(sleep 0.3 && : >"$NS_TMP/flag") &
	ns_assert "ns_poll sees a condition that becomes true" ns_poll 5 test -e "$NS_TMP/flag"
	ms=$(ms_since "$t0")
	wait
	((ms >= 250 && ms < 1500)) || ns_fail "ns_poll returned ${ms} ms after start, flag at 300"
	ns_pass "ns_poll returned ${ms} ms after start (flag set at 300 ms): polling, not sleeping"
}

scenario_explicit_cleanup()
{
	local pid stime bg full

	ns_link abcdefghijklmno probe 10.9.0.1/30 10.9.0.2/30
	ns_assert_ping abcdefghijklmno 10.9.0.2
	ns_start probe "$NS_TMP/probe.log" sleep 1000
	pid=$NS_PID stime=${NS__PSTART[$NS_PID]}
	track
	ns_assert "the started process runs" ns_alive "$pid"
	full=$(ns_name probe)
	# Not through the ns_exec function: a backgrounded function is a subshell that would
	# report its child's death ("Terminated").
	ip netns exec "$full" sleep 1000 &
	bg=$!
	ns_resolv probe 192.0.2.53 >/dev/null
	ns_assert "/etc/netns/<ns>/resolv.conf exists" test -f "/etc/netns/$full/resolv.conf"

	ns_cleanup
	ns_assert_fails "ns_cleanup deleted this run's namespaces" \
		grep -q "^$NS_TAG-" <(ip netns list)
	ns_assert_fails "ns_cleanup stopped the started process" running "$pid" "$stime"
	ns_assert_fails "ns_cleanup stopped a process left inside its namespace" running "$bg"
	ns_assert_fails "ns_cleanup removed /etc/netns/<ns>" test -e "/etc/netns/$full"
	ns_assert_fails "the namespace is forgotten" sub ns_exec probe true
	ns_assert "NS_TMP is usable again" test -d "$NS_TMP" -a -w "$NS_TMP"
}

scenario_topology()
{
	local r r2 a b p1 p2 resolv_sum tcp_pid

	resolv_sum=$(cksum </etc/resolv.conf)

	# The "internet": router inet joins the NAT boxes' WAN network and the servers' network.
	ns_router inet
	ns_lan wan inet 198.18.0.1/15 nata natb natc dn1
	ns_lan pub inet 203.0.113.1/24 srv=$SRV srv2=$SRV2
	ns_lan lana nata 10.1.0.1/24 a1 a2
	ns_nat nata cone
	ns_lan lanb natb 10.2.0.1/24 b1
	ns_nat natb symmetric
	ns_lan lanc natc 10.3.0.1/24 c1
	ns_nat natc udp_block
	ns_lan mid dn1 172.16.0.1/24 dn2
	ns_nat dn1 cone
	ns_lan land dn2 10.4.0.1/24 d1
	ns_nat dn2 cone

	ns_assert_eq "no root interface is tagged or peers into this run's namespaces" \
		"$(root_links_ours)" ""
	ns_assert_eq "addresses are assigned in order" "$(ns_addr a1) $(ns_addr a2 lana)" \
		"10.1.0.2 10.1.0.3"
	ns_assert_eq "explicit addresses are kept" "$(ns_addr srv pub)" "$SRV"
	ns_assert_eq "forwarding is on in the routers" "$(forwarding inet) $(forwarding nata)" "1 1"
	ns_assert_eq "forwarding stays off in hosts" "$(forwarding a1) $(forwarding srv)" "0 0"

	ns_start srv "$NS_TMP/srv-tcp.log" socat -T 5 TCP-LISTEN:7000,fork,reuseaddr "$ECHO_PEER"
	tcp_pid=$NS_PID
	track
	ns_start srv "$NS_TMP/srv-udp.log" socat -T 5 UDP-RECVFROM:7001,fork "$ECHO_PEER"
	track
	ns_start srv2 "$NS_TMP/srv2-udp.log" socat -T 5 UDP-RECVFROM:7001,fork "$ECHO_PEER"
	track
	for r in nata natc; do
		ns_exec srv iptables -w -A INPUT -p udp -s "$(ns_addr $r wan)" --dport 7001
	done
	ns_wait 5 ns_listening srv tcp 7000
	ns_wait 5 ns_listening srv udp 7001
	ns_wait 5 ns_listening srv2 udp 7001
	ns_pass "echo servers listen on $SRV and $SRV2"

	ns_assert_ping a2 10.1.0.2
	ns_assert_ping a1 $SRV
	ns_assert_ping b1 $SRV

	r=$(tcp_ask a1 $SRV)
	ns_assert_match "cone: TCP from a1 arrives from the NAT's public address" "$r" \
		"^$(ns_addr nata wan):[0-9]+$"
	r=$(tcp_ask b1 $SRV)
	ns_assert_match "symmetric: TCP from b1 arrives from the NAT's public address" "$r" \
		"^$(ns_addr natb wan):[0-9]+$"
	ns_assert_no_ping srv 10.1.0.2

	# Cone: one inside port, two destinations, one outside port.
	r=$(udp_ask a1 $SRV $SPORT)
	r2=$(udp_ask a1 $SRV2 $SPORT)
	ns_assert_match "cone: UDP reply from $SRV" "$r" "^$(ns_addr nata wan):[0-9]+$"
	ns_assert_match "cone: UDP reply from $SRV2" "$r2" "^$(ns_addr nata wan):[0-9]+$"
	ns_assert_eq "cone: both destinations see the same outside port" "${r##*:}" "${r2##*:}"
	p1=$(nat_ports nata $SPORT | sort -u | xargs)
	ns_assert_eq "cone: conntrack holds that single outside port" "$p1" "${r##*:}"

	# Symmetric: one inside port, two destinations, two outside ports.
	r=$(udp_ask b1 $SRV $SPORT)
	r2=$(udp_ask b1 $SRV2 $SPORT)
	ns_assert_match "symmetric: UDP reply from $SRV" "$r" "^$(ns_addr natb wan):[0-9]+$"
	ns_assert_match "symmetric: UDP reply from $SRV2" "$r2" "^$(ns_addr natb wan):[0-9]+$"
	a=${r##*:} b=${r2##*:}
	ns_assert_ne "symmetric: the destinations see different outside ports" "$a" "$b"
	p2=$(nat_ports natb $SPORT | xargs)
	ns_assert_eq "symmetric: conntrack holds exactly those two outside ports" "$p2" \
		"$(printf '%s\n' "$a" "$b" | sort | xargs)"

	# UDP-blocking NAT: TCP and ICMP pass, UDP does not.
	ns_assert_ping c1 $SRV
	r=$(tcp_ask c1 $SRV)
	ns_assert_match "udp_block: TCP passes" "$r" "^$(ns_addr natc wan):[0-9]+$"
	r=$(udp_ask c1 $SRV $SPORT || true)
	ns_assert_eq "udp_block: no UDP reply" "$r" ""
	ns_assert_eq "udp_block: the server got no datagram from that NAT" \
		"$(udp_count srv "$(ns_addr natc wan)")" 0
	ns_assert_match "(while it counted the cone NAT's)" \
		"$(udp_count srv "$(ns_addr nata wan)")" '^[1-9][0-9]*$'
	ns_assert_eq "udp_block: the NAT mapped no UDP flow" "$(nat_ports natc $SPORT)" ""

	# Double NAT: d1 behind dn2 behind dn1.
	ns_assert_ping d1 $SRV
	r=$(tcp_ask d1 $SRV)
	ns_assert_match "double NAT: TCP from d1 arrives from the outer NAT's address" "$r" \
		"^$(ns_addr dn1 wan):[0-9]+$"
	r=$(udp_ask d1 $SRV $SPORT)
	ns_assert_match "double NAT: UDP round trip" "$r" "^$(ns_addr dn1 wan):[0-9]+$"

	ns_resolv a1 198.18.0.53 "search mesh.test" >/dev/null
	ns_assert "ns_resolv: the namespace sees its resolv.conf" \
		grep -qx 'nameserver 198.18.0.53' <(ns_exec a1 cat /etc/resolv.conf)
	ns_assert_eq "ns_resolv: the root /etc/resolv.conf is untouched" \
		"$(cksum </etc/resolv.conf)" "$resolv_sum"

	ns_stop "$tcp_pid"
	ns_assert_fails "ns_stop stopped the TCP echo server" ns_alive "$tcp_pid"
	ns_assert_fails "nothing listens on TCP 7000 any more" ns_listening srv tcp 7000
}

scenario()
{
	echo "$NS_TAG" >>"$STATE/tags"
	scenario_names
	scenario_polling
	scenario_explicit_cleanup
	scenario_topology
	ns_done
}

# --------------------------------------------------------------------------------------------
# Scenario 2: interrupted mid-run by SIGTERM; the signal trap must tear down.

interrupted()
{
	echo "$NS_TAG" >>"$STATE/tags"
	ns_link x1 x2 10.9.1.1/30 10.9.1.2/30
	ns_resolv x1 192.0.2.53 >/dev/null
	ns_start x2 "$NS_TMP/x2.log" sleep 1000
	track
	ns_start x1 "$NS_TMP/x1.log" socat UDP-RECVFROM:7001,fork SYSTEM:cat
	track
	ns_wait 5 ns_listening x1 udp 7001
	: >"$STATE/ready"
	ns_poll 60 false || true
	ns_fail "was not interrupted"
}

# --------------------------------------------------------------------------------------------
# The observer.

snap_netns()
{
	ip netns list | awk '{ print $1 }' | sort
}

snap_etc()
{
	if [[ -d /etc/netns ]]; then
		echo "<dir>"
		find /etc/netns -mindepth 1 -maxdepth 1 -printf '%f\n' | sort
	else
		echo "<absent>"
	fi
}

# ERE alternation of the tags of the runs this test made.
our_tags()
{
	paste -sd '|' "$STATE/tags"
}

# same_or_foreign WHAT BEFORE AFTER: sorted lists. Equal passes. Otherwise no difference may name
# this test's runs; the rest is other work on the machine (other tests, other runs of the
# library), which comes and goes on its own and is only reported.
same_or_foreign()
{
	local what=$1 before=$2 after=$3 gone new re
	re=$(our_tags)
	if [[ $before == "$after" ]]; then
		ns_pass "$what: exactly as before"
		return 0
	fi
	gone=$(comm -23 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | xargs)
	new=$(comm -13 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | xargs)
	if [[ " $gone $new" =~ \ ($re)- ]]; then
		ns_fail "$what: entries of this test changed: gone [$gone] new [$new]"
	fi
	ns_info "$what: changed by other activity on this machine only: gone [$gone] new [$new]"
	ns_pass "$what: nothing of this test's runs left, nothing else removed by them"
}

check_clean()
{
	local what=$1 re etc pid stime

	re=$(our_tags)
	ns_assert_eq "$what: no namespace of this test's runs remains" \
		"$(snap_netns | grep -E "^($re)-" || true)" ""
	ns_assert_eq "$what: no /etc/netns entry of this test's runs remains" \
		"$(snap_etc | grep -E "^($re)-" || true)" ""
	ns_assert_eq "$what: no root interface of this test's runs" \
		"$(ip -o link show | grep -E "^[0-9]+: ($re)|link-netns ($re)-" || true)" ""
	same_or_foreign "$what: ip netns list" "$NETNS_BEFORE" "$(snap_netns)"
	same_or_foreign "$what: root veth interfaces" "$VETHS_BEFORE" "$(root_veths)"
	etc=$(snap_etc)
	if [[ $etc == "<dir>" && $ETC_BEFORE == "<absent>" ]]; then
		ns_fail "$what: an empty /etc/netns was left behind"
	fi
	same_or_foreign "$what: /etc/netns" "$ETC_BEFORE" "$etc"
	ns_assert_eq "$what: the root namespace's ip_forward is unchanged" \
		"$(cat /proc/sys/net/ipv4/ip_forward)" "$FWD_BEFORE"
	while read -r pid stime; do
		! running "$pid" "$stime" || ns_fail "$what: started PID $pid still runs"
	done <"$STATE/pids"
	ns_pass "$what: all $(wc -l <"$STATE/pids") started PIDs are gone"
}

# At teardown, if this test failed before reaping the interrupted run: stop it (it is our
# unreaped child, so the PID is still its own).
stop_child()
{
	[[ -n ${CHILD:-} ]] || return 0
	kill -TERM "$CHILD" 2>/dev/null
	wait "$CHILD" 2>/dev/null
}

main()
{
	local rc child tag

	ns_require_root
	ns_require_cmd ip ss iptables conntrack socat ping setsid sysctl
	STATE="$NS_TMP/state"
	mkdir "$STATE"
	: >"$STATE/pids"
	: >"$STATE/tags"
	export STATE

	NETNS_BEFORE=$(snap_netns)
	ETC_BEFORE=$(snap_etc)
	VETHS_BEFORE=$(root_veths)
	FWD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)

	rc=0
	NS_TEST_NAME="netns_selftest/scenario" bash "$self" --scenario || rc=$?
	ns_assert_eq "scenario passed and tore down through the exit trap" "$rc" 0
	check_clean "after exit"

	NS_TEST_NAME="netns_selftest/interrupted" bash "$self" --interrupted &
	child=$!
	CHILD=$child
	ns_defer stop_child
	ns_wait 30 test -e "$STATE/ready"
	tag=$(tail -n 1 "$STATE/tags")
	ns_assert "(the interrupted run has its namespaces)" grep -qx "$tag-x1" <(snap_netns)
	ns_assert "(the interrupted run has its /etc/netns entry)" test -d "/etc/netns/$tag-x1"
	kill -TERM "$child"
	rc=0
	wait "$child" || rc=$?
	CHILD=
	ns_assert_eq "SIGTERM ends a run with status 143" "$rc" 143
	check_clean "after SIGTERM"

	ns_done
}

case ${1:-} in
--scenario) scenario ;;
--interrupted) interrupted ;;
"") main ;;
*)
	echo "usage: $0" >&2
	exit 2
	;;
esac
