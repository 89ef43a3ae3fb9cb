#!/bin/bash
# SPDX-License-Identifier: MIT
#
# router.sh: the router module (src/router/) against a real kernel, in network namespaces,
# driven through mesh_router_tool:
#  1. netlink primitives on a TUN: link up/MTU, addresses, routes and rules, each added twice
#     (idempotent) and deleted twice, with the kernel's error text surfaced;
#  2. the facade: a second apply with the same config makes no change at all (no rtnetlink
#     event, same nftables handles), a changed config removes what it no longer wants, a
#     route switching to a throw route (and back) is converted in place, a recreated interface
#     gets its state back;
#  3. crash cleanup from a fresh process that knows only the ids, leaving other ids' tables
#     and rules, a foreign rule in our priority range, a foreign nft table and foreign
#     addresses alone;
#  4. the nftables table: applied twice it is the same ruleset; removed, the foreign one stays;
#  5. forwarding and masquerade for real: a host behind the namespace router reaches a LAN
#     host, which sees the router's address (IPv4 and IPv6); with SNAT off it sees the mesh
#     address; a packet from the LAN claiming a mesh source is dropped.
# Needs root (exit 77 otherwise).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_TEST_NAME=${NS_TEST_NAME:-router}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"
ns_require_root
ns_require_cmd ip nft socat ping grep sed

TOOL=${MESH_BUILD_DIR:-$here/../../build}/tests/integration/mesh_router_tool
[[ -x $TOOL ]] || ns_fail "$TOOL is missing: build the tree first"

V4=100.64.0.1/32
V6=fd7a:115c:a1e0::1/128
# The facade's config in the first scenario: addresses, mesh prefixes and a subnet route into
# the mesh, the LAN kept off it, an MTU, the firewall table and forwarding.
CFG1=(--addr "$V4" --addr "$V6" --route 100.64.0.0/10 --route fd7a:115c:a1e0::/48
	--route 10.1.0.0/24 --local 192.168.1.0/24 --mtu 1280 --firewall --forwarding)

# rt NAME ARGS...: the tool inside namespace NAME.
rt()
{
	ns_exec "$1" "$TOOL" "${@:2}"
}

# count PATTERN TEXT: lines of TEXT matching the fixed string PATTERN.
count()
{
	grep -cF -- "$1" <<<"$2" || true
}

# Our state in namespace n, and what must never change under us; nft with handles, so a
# table that was rebuilt differs.
snapshot()
{
	ns_exec "$1" sh -c 'ip -o addr show; ip route show table all; ip -6 route show table all;
		ip rule; ip -6 rule; nft -a list ruleset' 2>&1
}

# The table as JSON without its handles: the same ruleset compares equal after a rebuild.
nft_json()
{
	ns_exec "$1" nft -j list table inet meshd | sed -E 's/"handle": [0-9]+(, )?//g'
}

rule_lines()
{
	ns_exec "$1" sh -c 'ip rule; ip -6 rule' | grep -cF 'proto 109' || true
}

# --------------------------------------------------------------------------------------------
# 1. Netlink primitives

scenario_netlink()
{
	local out

	ns_host n
	ns_exec n ip tuntap add mode tun name mesh0 || ns_fail "tuntap in n"
	out=$(rt n link mesh0)
	ns_assert_match "link: the TUN is found, down" "$out" '^ifindex=[0-9]+ mtu=1500 up=0 name=mesh0$'
	ns_assert "link-up" rt n link-up mesh0
	ns_assert_match "ip link shows it up" "$(ns_exec n ip -o link show dev mesh0)" '[<,]UP[,>]'
	ns_assert "link-mtu 1280" rt n link-mtu mesh0 1280
	ns_assert_match "ip link shows MTU 1280" "$(ns_exec n ip -o link show dev mesh0)" ' mtu 1280 '
	out=$(rt n link-mtu mesh0 10 2>&1 || true)
	ns_assert_match "a bad MTU fails with the kernel's reason" "$out" 'Invalid argument \(kernel: .*mtu'
	ns_assert_fails "link of a missing interface fails" rt n link nosuch0

	ns_assert "addr-add v4+v6" rt n addr-add mesh0 $V4 $V6
	ns_assert "addr-add v4+v6 again (idempotent)" rt n addr-add mesh0 $V4 $V6
	out=$(ns_exec n ip -o addr show dev mesh0)
	ns_assert_eq "the IPv4 address is there once" "$(count " inet $V4 " "$out")" 1
	ns_assert_eq "the IPv6 address is there once" "$(count " inet6 $V6 " "$out")" 1
	ns_assert_eq "the IPv6 address skipped DAD" "$(count tentative "$out")" 0
	ns_assert_eq "addr-list lists both, as the kernel has them" "$(rt n addr-list mesh0 | sort)" \
		"$(printf '%s\n%s' $V4 $V6)"
	ns_assert "addr-del v4" rt n addr-del mesh0 $V4
	ns_assert "addr-del v4 again (idempotent)" rt n addr-del mesh0 $V4
	ns_assert_eq "only the IPv6 address is left" "$(rt n addr-list mesh0)" "$V6"

	ns_assert "route-add v4" rt n route-add 64 100.64.0.0/10 dev mesh0
	ns_assert "route-add v4 again (idempotent)" rt n route-add 64 100.64.0.0/10 dev mesh0
	ns_assert "route-add v6" rt n route-add 64 fd7a:115c:a1e0::/48 dev mesh0
	ns_assert "route-add v6 again (idempotent)" rt n route-add 64 fd7a:115c:a1e0::/48 dev mesh0
	ns_assert "route-add throw" rt n route-add 64 192.168.1.0/24 type throw
	out=$(ns_exec n ip route show table 64)
	ns_assert_eq "table 64 holds the v4 route once, ours" \
		"$(count '100.64.0.0/10 dev mesh0 proto 109' "$out")" 1
	ns_assert_eq "table 64 holds the throw route" "$(count 'throw 192.168.1.0/24 proto 109' "$out")" 1
	ns_assert_eq "table 64 holds the v6 route once" \
		"$(ns_exec n ip -6 route show table 64 | grep -cF 'fd7a:115c:a1e0::/48 dev mesh0 proto 109')" 1
	ns_assert_eq "main table untouched" "$(ns_exec n ip route show | grep -c 100.64 || true)" 0
	ns_assert_eq "route-list shows the three" "$(rt n route-list 64 | wc -l)" 3
	out=$(rt n route-add 64 10.0.0.0/8 via 203.0.113.1 2>&1 || true)
	ns_assert_match "an unreachable gateway fails with the kernel's reason" "$out" 'kernel: '
	ns_assert "route-del v4" rt n route-del 64 100.64.0.0/10 dev mesh0
	ns_assert "route-del v4 again (idempotent)" rt n route-del 64 100.64.0.0/10 dev mesh0
	ns_assert_eq "the v4 route is gone" "$(ns_exec n ip route show table 64 | grep -c 100.64 || true)" 0
	# Another program's route with the same destination is not ours to delete...
	ns_exec n ip route add 100.64.0.0/10 dev mesh0 table 64 proto static
	ns_assert "route-del of a foreign route is a no-op" rt n route-del 64 100.64.0.0/10 dev mesh0
	ns_assert_eq "the foreign route stays" \
		"$(ns_exec n ip route show table 64 | grep -cF '100.64.0.0/10 dev mesh0 proto static')" 1
	# ... but the table is: a flush empties it.
	out=$(rt n route-flush 64)
	ns_assert_eq "route-flush removes all three routes of table 64, the foreign one too" "$out" 3
	ns_assert_eq "table 64 is empty" "$(ns_exec n sh -c 'ip route show table 64; ip -6 route show table 64')" ""

	ns_assert "rule-add lookup 64" rt n rule-add 5370 table 64
	ns_assert "rule-add lookup 64 again (idempotent)" rt n rule-add 5370 table 64
	ns_assert "rule-add v6 fwmark unreachable" \
		rt n rule-add 5350 unreachable fwmark 0x08000000/0x0f000000 -6
	ns_assert "rule-add v6 fwmark unreachable again (idempotent)" \
		rt n rule-add 5350 unreachable fwmark 0x08000000/0x0f000000 -6
	ns_assert_eq "ip rule shows our rule once" \
		"$(ns_exec n ip rule | grep -cxF '5370:	from all lookup 64 proto 109')" 1
	ns_assert_eq "ip -6 rule shows the mark rule once" \
		"$(ns_exec n ip -6 rule | grep -cxF '5350:	from all fwmark 0x8000000/0xf000000 unreachable proto 109')" 1
	ns_assert "rule-del" rt n rule-del 5370 table 64
	ns_assert "rule-del again (idempotent)" rt n rule-del 5370 table 64
	ns_assert_eq "the rule is gone" "$(ns_exec n ip rule | grep -c 5370 || true)" 0
	ns_exec n ip rule add pref 5360 table 100
	ns_assert "rule-add 5370 once more" rt n rule-add 5370 table 64
	ns_assert_eq "rule-flush 5300..5399 removes our two" "$(rt n rule-flush 5300 5399)" 2
	ns_assert_eq "a foreign rule inside the range stays" \
		"$(ns_exec n ip rule | grep -cxF '5360:	from all lookup 100')" 1
	ns_exec n ip rule del pref 5360 table 100
	ns_exec n ip addr flush dev mesh0
}

# --------------------------------------------------------------------------------------------
# 2. The facade, one process across several applies

SRV_OUT=
srv()
{
	printf '%s\n' "$*" >&"${SRV[1]}"
	IFS= read -r -t 20 SRV_OUT <&"${SRV[0]}" || ns_fail "no answer from the router to: $*"
}

# monitor_mark add|del: adds or deletes the marker address 127.0.0.9/32 on lo and waits until
# the ip monitor log shows it, so the monitor is live and has read every earlier event.
monitor_mark()
{
	ns_exec n ip addr "$1" 127.0.0.9/32 dev lo
	if [[ $1 == add ]]; then
		ns_wait 5 grep -qF 127.0.0.9 "$NS_TMP/monitor.log"
	else
		ns_wait 5 grep -qE 'Deleted.* 127\.0\.0\.9/32' "$NS_TMP/monitor.log"
	fi
}

# one_route DESC TEXT ERE: TEXT is a single line matching ERE.
one_route()
{
	ns_assert_eq "$1: one route" "$(wc -l <<<"$2")" 1
	ns_assert_match "$1" "$2" "$3"
}

scenario_facade()
{
	local before after lines mon_pid out

	ns_start n "$NS_TMP/monitor.log" stdbuf -oL ip -o monitor link address route rule
	mon_pid=$NS_PID
	coproc SRV { ip netns exec "$(ns_name n)" "$TOOL" serve mesh0 2>>"$NS_TMP/serve.log"; }

	srv apply "${CFG1[@]}"
	ns_assert_match "first apply makes changes" "$SRV_OUT" '^ok [1-9][0-9]*$'
	out=$(ns_exec n ip -o addr show dev mesh0)
	ns_assert_eq "v4 address in place" "$(count " inet $V4 " "$out")" 1
	ns_assert_eq "v6 address in place" "$(count " inet6 $V6 " "$out")" 1
	ns_assert_match "interface up with MTU 1280" "$(ns_exec n ip -o link show dev mesh0)" 'UP.* mtu 1280 '
	out=$(ns_exec n ip route show table 64)
	ns_assert_eq "mesh route in table 64" "$(count '100.64.0.0/10 dev mesh0 proto 109' "$out")" 1
	ns_assert_eq "subnet route in table 64" "$(count '10.1.0.0/24 dev mesh0 proto 109' "$out")" 1
	ns_assert_eq "LAN throw route in table 64" "$(count 'throw 192.168.1.0/24 proto 109' "$out")" 1
	ns_assert_eq "v6 mesh route in table 64" \
		"$(ns_exec n ip -6 route show table 64 | grep -cF 'fd7a:115c:a1e0::/48 dev mesh0 proto 109')" 1
	out=$(ns_exec n ip rule)
	ns_assert_eq "rule 5310: bypass mark -> main" \
		"$(count '5310:	from all fwmark 0x8000000/0xf000000 lookup main proto 109' "$out")" 1
	ns_assert_eq "rule 5330: bypass mark -> default" \
		"$(count '5330:	from all fwmark 0x8000000/0xf000000 lookup default proto 109' "$out")" 1
	ns_assert_eq "rule 5350: bypass mark -> unreachable" \
		"$(count '5350:	from all fwmark 0x8000000/0xf000000 unreachable proto 109' "$out")" 1
	ns_assert_eq "rule 5370: everything -> table 64" "$(count '5370:	from all lookup 64 proto 109' "$out")" 1
	ns_assert_eq "four IPv6 rules as well (eight in all)" "$(rule_lines n)" 8
	ns_assert "the nft table exists" ns_exec n nft list table inet meshd
	ns_assert_eq "forwarding is on" "$(rt n forwarding)" "ipv4=1 ipv6=1"

	# The same config again: not one kernel object may change.
	before=$(snapshot n)
	monitor_mark add
	srv apply "${CFG1[@]}"
	monitor_mark del
	ns_assert_eq "second apply reports no change" "$SRV_OUT" "ok 0"
	after=$(snapshot n)
	ns_assert_eq "second apply: same addresses, routes, rules and nft handles" "$after" "$before"
	lines=$(sed -n '/127.0.0.9/,$p' "$NS_TMP/monitor.log" | grep -vF 127.0.0.9 | grep -v '^$' || true)
	ns_assert_eq "second apply: no rtnetlink event at all" "$lines" ""
	ns_stop "$mon_pid"

	# A changed config: another subnet route, no IPv6 address, no LAN throw, SNAT off.
	srv apply --addr $V4 --route 100.64.0.0/10 --route fd7a:115c:a1e0::/48 --route 10.2.0.0/24 \
		--mtu 1280 --firewall --forwarding --no-snat
	ns_assert_match "changed config applied" "$SRV_OUT" '^ok [1-9][0-9]*$'
	out=$(ns_exec n ip route show table 64)
	ns_assert_eq "the old subnet route is gone" "$(count 10.1.0.0/24 "$out")" 0
	ns_assert_eq "the new subnet route is there" "$(count '10.2.0.0/24 dev mesh0' "$out")" 1
	ns_assert_eq "the throw route is gone" "$(count throw "$out")" 0
	ns_assert_eq "the mesh route is still there" "$(count '100.64.0.0/10 dev mesh0' "$out")" 1
	ns_assert_eq "the IPv6 address is gone" "$(ns_exec n ip -o -6 addr show dev mesh0 | grep -c fd7a || true)" 0
	ns_assert_eq "the IPv4 address stays" "$(rt n addr-list mesh0)" "$V4"
	ns_assert_eq "SNAT off: no postrouting chain" \
		"$(ns_exec n nft list table inet meshd | grep -c postrouting || true)" 0

	# A prefix moving from the mesh to the LAN (and back) is converted, never lost or doubled.
	srv apply --addr $V4 --route 192.168.7.0/24 --route fd00:7::/64
	srv apply --addr $V4 --local 192.168.7.0/24 --local fd00:7::/64
	one_route "unicast -> throw (v4)" "$(ns_exec n ip route show table 64 192.168.7.0/24)" \
		'^throw 192\.168\.7\.0/24 proto 109'
	one_route "unicast -> throw (v6)" "$(ns_exec n ip -6 route show table 64 fd00:7::/64)" \
		'^throw fd00:7::/64 .*proto 109'
	srv apply --addr $V4 --route 192.168.7.0/24 --route fd00:7::/64
	one_route "throw -> unicast (v4)" "$(ns_exec n ip route show table 64 192.168.7.0/24)" \
		'^192\.168\.7\.0/24 dev mesh0 proto 109'
	one_route "throw -> unicast (v6)" "$(ns_exec n ip -6 route show table 64 fd00:7::/64)" \
		'^fd00:7::/64 dev mesh0 proto 109'
	ns_assert_eq "the firewall is off when not asked for" \
		"$(ns_exec n nft list tables | grep -c meshd || true)" 0

	# The interface recreated under us (meshd restarted its TUN): state comes back.
	ns_exec n ip tuntap del mode tun name mesh0
	ns_exec n ip tuntap add mode tun name mesh0
	srv apply --addr $V4 --route 192.168.7.0/24 --route fd00:7::/64
	ns_assert_match "apply after the interface came back changes things" "$SRV_OUT" '^ok [1-9]'
	ns_assert_eq "the address is back" "$(rt n addr-list mesh0)" "$V4"
	ns_assert_eq "the routes are back" "$(rt n route-list 64 | wc -l)" 2

	srv cleanup
	ns_assert_match "cleanup removes things" "$SRV_OUT" '^ok [1-9][0-9]*$'
	srv cleanup
	ns_assert_eq "a second cleanup has nothing left to do" "$SRV_OUT" "ok 0"
	printf 'quit\n' >&"${SRV[1]}"
	wait "$SRV_PID" || ns_fail "the router process failed"
	ns_assert_eq "no address left on mesh0" "$(rt n addr-list mesh0)" ""
	ns_assert_eq "table 64 is empty" "$(rt n route-list 64)" ""
	ns_assert_eq "no rule of ours left" "$(rule_lines n)" 0
}

# --------------------------------------------------------------------------------------------
# 3. Crash cleanup from a fresh process

scenario_crash_cleanup()
{
	local foreign_before out

	# Someone else's things, some deliberately close to ours.
	ns_exec n ip rule add pref 1000 table 100
	ns_exec n ip rule add pref 5360 table 100 # inside our range, not ours
	ns_exec n ip addr add 192.0.2.1/32 dev mesh0
	ns_exec n nft -f - <<-'EOF'
		table inet foreign {
			chain forward {
				type filter hook forward priority 10; policy accept;
				iifname "mesh0" counter
			}
		}
	EOF
	foreign_before=$(ns_exec n sh -c 'ip rule; nft list table inet foreign')

	# A meshd that "crashed": each apply is its own process and exits without cleaning up.
	ns_assert "apply, then the process exits" rt n apply mesh0 "${CFG1[@]}"
	ns_assert "apply with other ids (table 70, rules at 6000)" \
		rt n apply mesh0 --table 70 --priority 6000 --route 10.70.0.0/16
	ns_assert_eq "both tables have routes" "$(rt n route-list 64 | wc -l)/$(rt n route-list 70 | wc -l)" "4/1"

	out=$(rt n cleanup mesh0)
	ns_assert_match "a fresh process cleans up by ids alone" "$out" '^ok [1-9][0-9]*$'
	ns_assert_eq "our table is empty" "$(rt n route-list 64)" ""
	ns_assert_eq "no rule of ours at 5300..5399 left" \
		"$(ns_exec n sh -c 'ip rule; ip -6 rule' | grep -cE '^53[0-9]{2}:.*proto 109' || true)" 0
	ns_assert_eq "our addresses are gone, the foreign one stays" "$(rt n addr-list mesh0)" 192.0.2.1/32
	ns_assert_fails "our nft table is gone" ns_exec n nft list table inet meshd
	ns_assert_eq "foreign rules and nft table are untouched" \
		"$(ns_exec n sh -c 'ip rule; nft list table inet foreign' | grep -vE '^60[0-9]0:')" \
		"$(grep -vE '^60[0-9]0:' <<<"$foreign_before")"
	ns_assert_eq "other ids' table is not ours to clean" "$(rt n route-list 70 | wc -l)" 1
	ns_assert_eq "forwarding stays on (never turned off)" "$(rt n forwarding)" "ipv4=1 ipv6=1"
	ns_assert "cleanup with the other ids" rt n cleanup mesh0 --table 70 --priority 6000
	ns_assert_eq "table 70 is empty now" "$(rt n route-list 70)" ""
	ns_assert_eq "no rule of ours left anywhere" "$(rule_lines n)" 0
	ns_assert_eq "a cleanup of nothing is fine" "$(rt n cleanup mesh0)" "ok 0"
	ns_assert_eq "the foreign rule at 5360 survived every cleanup" \
		"$(ns_exec n ip rule | grep -cxF '5360:	from all lookup 100')" 1
}

# --------------------------------------------------------------------------------------------
# 4. The nftables table by itself

scenario_nft()
{
	local first second foreign

	foreign=$(ns_exec n nft -a list table inet foreign)
	ns_assert "nft-apply" rt n nft-apply mesh0
	first=$(nft_json n)
	ns_assert "nft-apply again" rt n nft-apply mesh0
	second=$(nft_json n)
	ns_assert_eq "applied twice: the same ruleset" "$second" "$first"
	ns_assert_match "it masquerades the mesh prefixes" "$first" '"masquerade"'
	ns_assert_eq "the script is what the kernel lists" \
		"$(ns_exec n nft list table inet meshd | grep -c 'fib saddr type != local masquerade')" 2
	ns_assert "nft-apply --no-snat" rt n nft-apply mesh0 --no-snat
	ns_assert_eq "no masquerade with SNAT off" "$(nft_json n | grep -c masquerade || true)" 0
	ns_assert "nft-cleanup" rt n nft-cleanup
	ns_assert "nft-cleanup again (idempotent)" rt n nft-cleanup
	ns_assert_fails "the table is gone" ns_exec n nft list table inet meshd
	ns_assert_eq "the foreign table is untouched, handles and all" \
		"$(ns_exec n nft -a list table inet foreign)" "$foreign"
	ns_assert_fails "a name that would be an nft wildcard is refused" rt n nft-apply 'mesh*'
}

# --------------------------------------------------------------------------------------------
# 5. Forwarding and masquerade for real: c (a mesh peer) -- r (subnet router) -- f (LAN host)

# ask NAME SOCAT-ADDRESS: f's echo service answers with the client address it saw (socat
# writes IPv6 addresses in full, bracketed: [fd00:0050:0000:0000:0000:0000:0000:0001]).
ask()
{
	ns_exec "$1" socat -T 3 - "$2,connect-timeout=2" </dev/null
}

scenario_masquerade()
{
	ns_host r
	ns_link c r 100.64.0.2/10 100.64.0.1/10 r mesh0
	ns_link f r 192.168.50.2/24 192.168.50.1/24 r f
	ns_exec c ip addr add fd7a:115c:a1e0::2/64 dev r nodad
	ns_exec r ip addr add fd7a:115c:a1e0::1/64 dev mesh0 nodad
	ns_exec f ip addr add fd00:50::2/64 dev r nodad
	ns_exec r ip addr add fd00:50::1/64 dev f nodad
	ns_exec c ip route add default via 100.64.0.1
	ns_exec c ip -6 route add default via fd7a:115c:a1e0::1
	# The LAN can route back to the mesh, so a mesh source seen there means no SNAT happened.
	ns_exec f ip route add 100.64.0.0/10 via 192.168.50.1
	ns_exec f ip -6 route add fd7a:115c:a1e0::/48 via fd00:50::1
	# shellcheck disable=SC2016 # expanded by the shell socat runs
	ns_start f "$NS_TMP/echo4.log" socat TCP4-LISTEN:7000,fork,reuseaddr 'SYSTEM:echo $SOCAT_PEERADDR'
	# shellcheck disable=SC2016
	ns_start f "$NS_TMP/echo6.log" socat TCP6-LISTEN:7001,fork,reuseaddr,ipv6only=1 'SYSTEM:echo $SOCAT_PEERADDR'
	ns_wait 5 ns_listening f tcp 7000
	ns_wait 5 ns_listening f tcp 7001

	ns_assert_eq "r does not forward yet" "$(rt r forwarding)" "ipv4=0 ipv6=0"
	ns_assert_no_ping c 192.168.50.2
	ns_assert "subnet router on: forwarding and firewall with SNAT" \
		rt r apply mesh0 --firewall --forwarding
	ns_assert_eq "r forwards now" "$(rt r forwarding)" "ipv4=1 ipv6=1"
	ns_assert_ping c 192.168.50.2
	ns_assert_eq "SNAT: the LAN host sees the router's IPv4 address" \
		"$(ask c TCP4:192.168.50.2:7000)" 192.168.50.1
	ns_assert_eq "SNAT: the LAN host sees the router's IPv6 address" \
		"$(ask c 'TCP6:[fd00:50::2]:7001')" "[fd00:0050:0000:0000:0000:0000:0000:0001]"
	ns_assert_eq "r's own traffic from its mesh address is not masqueraded" \
		"$(ask r TCP4:192.168.50.2:7000,bind=100.64.0.1)" 100.64.0.1

	ns_assert "SNAT off" rt r apply mesh0 --firewall --forwarding --no-snat
	ns_assert_eq "no SNAT: the LAN host sees the mesh IPv4 address" \
		"$(ask c TCP4:192.168.50.2:7000)" 100.64.0.2
	ns_assert_eq "no SNAT: the LAN host sees the mesh IPv6 address" \
		"$(ask c 'TCP6:[fd00:50::2]:7001')" "[fd7a:115c:a1e0:0000:0000:0000:0000:0002]"

	# A LAN host claiming a mesh source towards the mesh is dropped by our forward chain...
	ns_exec f ip addr add 100.64.9.9/32 dev r
	ns_exec f ip route add 100.64.0.2/32 via 192.168.50.1 src 100.64.9.9
	ns_exec c ip route add 100.64.9.9/32 via 100.64.0.1
	ns_exec r ip route add 100.64.9.9/32 via 192.168.50.2
	ns_assert_no_ping f 100.64.0.2
	# ... and only by it: without our table the same packet goes through.
	ns_assert "nft-cleanup on r" rt r nft-cleanup
	ns_assert_ping f 100.64.0.2
	ns_assert_fails "r's nft table is gone" ns_exec r nft list table inet meshd
}

scenario_netlink
scenario_facade
scenario_crash_cleanup
scenario_nft
scenario_masquerade
ns_done
