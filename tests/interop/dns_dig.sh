#!/bin/bash
# SPDX-License-Identifier: MIT
#
# dns_dig.sh: MagicDNS answered by BIND's dig (and glibc's stub resolver), clients nobody here
# wrote. mesh_dns_tool serves MagicDNS on a TUN device exactly as meshd does (packets to
# 100.100.100.100 / fd7a:115c:a1e0::53 routed into the TUN, answered in-process, UDP and TCP),
# forwarding other names to stand-in upstream resolvers in another namespace:
#  - A, AAAA over IPv4 and IPv6, PTR (v4 and v6), an extra record, mixed case;
#  - NXDOMAIN and no data with the SOA, an unknown type, a local-only split route;
#  - EDNS0: the OPT echoed, no OPT without EDNS; a large answer truncated (TC) over UDP and
#    fetched over TCP by dig's own fallback; +tcp for everything;
#  - forwarding: the default upstream, a split-DNS route, over UDP and TCP, and SERVFAIL within
#    the timeout when the upstream is silent or gone (no hang); with dnsmasq installed (Debian
#    dnsmasq-base), a split route to it serving a test zone;
#  - glibc: getent with the namespace's resolv.conf pointing at 100.100.100.100 and the search
#    domain, so single-label names resolve;
#  - the same resolver on a plain UDP socket (mesh_dns_tool serve --udp).
# Needs root (exit 77 otherwise) and dig (Debian package dnsutils / bind9-dnsutils).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_TEST_NAME=${NS_TEST_NAME:-dns_dig}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"
ns_require_root
ns_require_cmd ip dig getent grep

TOOL=${MESH_BUILD_DIR:-$here/../../build}/tests/integration/mesh_dns_tool
[[ -x $TOOL ]] || ns_fail "$TOOL is missing: build the tree first"

# The node "n" and, on a link, the upstream resolvers in "up".
ns_host n
ns_host up
ns_link n up 10.9.0.1/24 10.9.0.2/24

big=()
for i in $(seq 1 60); do
	big+=("\"fd7a:115c:a1e0:1::$(printf '%x' "$i")\"")
done
cat >"$NS_TMP/records.json" <<EOF
{
  "base_domain": "mesh.test",
  "hosts": [
    {"name": "server", "addresses": ["100.64.0.1", "fd7a:115c:a1e0::1"]},
    {"name": "laptop", "addresses": ["100.64.0.2", "fd7a:115c:a1e0::2"]},
    {"name": "phone", "addresses": ["100.64.0.3"]},
    {"name": "big", "addresses": [$(IFS=,; echo "${big[*]}")]}
  ],
  "extra_records": [{"name": "grafana.mesh.test", "type": "A", "value": "100.64.0.1"}],
  "routes": {"corp.test": ["10.9.0.2:5354"], "dead.test": ["10.9.0.2:5355"],
             "gone.test": ["10.9.0.2:5356"], "zone.test": ["10.9.0.2:5357"], "local.test": []},
  "nameservers": ["10.9.0.2:53"]
}
EOF

ns_start up "$NS_TMP/up53.log" "$TOOL" fake-upstream 10.9.0.2:53 --answer 192.0.2.77
ns_start up "$NS_TMP/up5354.log" "$TOOL" fake-upstream 10.9.0.2:5354 --answer 198.51.100.7
ns_start up "$NS_TMP/up5355.log" "$TOOL" fake-upstream 10.9.0.2:5355 --silent
ns_wait 5 ns_listening up udp 53
ns_wait 5 ns_listening up udp 5354
ns_wait 5 ns_listening up udp 5355
# A real resolver nobody here wrote, when installed: dnsmasq serving a small test zone.
have_dnsmasq=0
if command -v dnsmasq >/dev/null 2>&1; then
	have_dnsmasq=1
	ns_start up "$NS_TMP/dnsmasq.log" dnsmasq --keep-in-foreground --conf-file=/dev/null \
		--no-resolv --no-hosts --pid-file= --user=root --bind-interfaces \
		--listen-address=10.9.0.2 --port=5357 --local=/zone.test/ \
		--host-record=www.zone.test,203.0.113.5,2001:db8::5
	ns_wait 5 ns_listening up udp 5357
else
	ns_info "dnsmasq is not installed (Debian: dnsmasq-base): skipping the real-upstream part"
fi

ns_start n "$NS_TMP/serve.log" "$TOOL" serve --tun mesh0 "$NS_TMP/records.json" \
	--timeout-ms 400
ns_wait 5 grep -q serving "$NS_TMP/serve.log"
ns_exec n ip link set mesh0 up
ns_exec n ip addr add 100.64.0.2/32 dev mesh0
ns_exec n ip -6 addr add fd7a:115c:a1e0::2/128 dev mesh0 nodad
ns_exec n ip route add 100.100.100.100/32 dev mesh0
ns_exec n ip -6 route add fd7a:115c:a1e0::53/128 dev mesh0

# q ARGS...: dig against the IPv4 service address from the node, short timeouts.
q()
{
	ns_exec n dig @100.100.100.100 +time=3 +tries=1 "$@"
}

q6()
{
	ns_exec n dig @fd7a:115c:a1e0::53 +time=3 +tries=1 "$@"
}

ns_assert_eq "A" "$(q +short server.mesh.test A)" "100.64.0.1"
ns_assert_eq "AAAA" "$(q +short server.mesh.test AAAA)" "fd7a:115c:a1e0::1"
ns_assert_eq "A over IPv6" "$(q6 +short laptop.mesh.test A)" "100.64.0.2"
ns_assert_eq "AAAA over IPv6" "$(q6 +short laptop.mesh.test AAAA)" "fd7a:115c:a1e0::2"
ns_assert_eq "extra record" "$(q +short grafana.mesh.test)" "100.64.0.1"
ns_assert_eq "PTR v4 (the node, not the extra record)" "$(q +short -x 100.64.0.1)" \
	"server.mesh.test."
ns_assert_eq "PTR v6" "$(q6 +short -x fd7a:115c:a1e0::2)" "laptop.mesh.test."

out=$(q SeRvEr.MeSh.TeSt A)
ns_assert_match "mixed case: answered" "$out" "status: NOERROR"
ns_assert_match "mixed case: the question as asked" "$out" \
	$'SeRvEr\\.MeSh\\.TeSt\\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+100\\.64\\.0\\.1'
ns_assert_match "authoritative, TTL 5" "$out" "flags: qr aa rd ra;.*"$'\n'
ns_assert_match "TTL 5" "$out" $'SeRvEr\\.MeSh\\.TeSt\\.[[:space:]]+5[[:space:]]'

out=$(q nope.mesh.test A)
ns_assert_match "unknown name: NXDOMAIN" "$out" "status: NXDOMAIN"
ns_assert_match "with the zone's SOA" "$out" $'mesh\\.test\\.[[:space:]]+10[[:space:]]+IN[[:space:]]+SOA'
out=$(q phone.mesh.test AAAA)
ns_assert_match "missing type: NOERROR" "$out" "status: NOERROR"
ns_assert_match "no answer, SOA in authority" "$out" "ANSWER: 0, AUTHORITY: 1"
out=$(q server.mesh.test TYPE65)
ns_assert_match "unknown type: no data" "$out" "status: NOERROR.*"$'\n'".*ANSWER: 0, AUTHORITY: 1"
out=$(q -x 100.64.99.99)
ns_assert_match "unknown mesh address: NXDOMAIN" "$out" "status: NXDOMAIN"
out=$(q x.local.test)
ns_assert_match "local-only split route: NXDOMAIN" "$out" "status: NXDOMAIN"

# EDNS0
out=$(q +bufsize=4096 server.mesh.test)
ns_assert_match "EDNS: OPT in the answer" "$out" "EDNS: version: 0, flags:; udp: 1232"
out=$(q +noedns server.mesh.test)
ns_assert_eq "no EDNS: no OPT" "$(grep -c 'OPT PSEUDOSECTION' <<<"$out" || true)" "0"
ns_assert_match "no EDNS: answered" "$out" "ANSWER: 1,"
out=$(q +dnssec server.mesh.test)
ns_assert_match "DO bit echoed" "$out" "EDNS: version: 0, flags: do;"

# Truncation and TCP: 60 AAAA records do not fit 1232 bytes.
out=$(q +ignore +bufsize=4096 big.mesh.test AAAA)
ns_assert_match "large answer over UDP: TC" "$out" "flags: qr aa tc rd ra;"
ns_assert_match "large answer over UDP: no records" "$out" "ANSWER: 0,"
out=$(q +bufsize=4096 big.mesh.test AAAA)
ns_assert_match "dig retried over TCP by itself" "$out" "Truncated, retrying in TCP mode"
ns_assert_match "and got all 60 records" "$out" "ANSWER: 60,"
ns_assert_eq "+tcp A" "$(q +tcp +short server.mesh.test)" "100.64.0.1"
ns_assert_eq "+tcp over IPv6" "$(q6 +tcp +short -x fd7a:115c:a1e0::1)" "server.mesh.test."
out=$(q +tcp big.mesh.test AAAA)
ns_assert_match "+tcp large answer" "$out" "ANSWER: 60,"
out=$(q +tcp +keepopen server.mesh.test laptop.mesh.test phone.mesh.test)
ns_assert_eq "+tcp +keepopen: three answers on one connection" \
	"$(grep -c 'status: NOERROR' <<<"$out")" "3"

# Forwarding
ns_assert_eq "forwarded to the default upstream" "$(q +short example.org)" "192.0.2.77"
ns_assert_eq "forwarded over IPv6 transport" "$(q6 +short example.org)" "192.0.2.77"
ns_assert_eq "split route to its own resolver" "$(q +short www.corp.test)" "198.51.100.7"
ns_assert_eq "forwarded over TCP" "$(q +tcp +short example.org)" "192.0.2.77"
out=$(q example.org AAAA)
ns_assert_match "forwarded no-data relayed" "$out" "status: NOERROR"
start=$EPOCHREALTIME
out=$(ns_exec n dig @100.100.100.100 +time=5 +tries=1 x.dead.test || true)
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%d", (b - a) * 1000 }')
ns_assert_match "silent upstream: SERVFAIL" "$out" "status: SERVFAIL"
ns_assert "within the forwarder's timeout (2 x 400 ms), not dig's 5 s" test "$elapsed" -lt 3000
out=$(q x.gone.test || true)
ns_assert_match "upstream port closed: SERVFAIL" "$out" "status: SERVFAIL"
if ((have_dnsmasq)); then
	ns_assert_eq "dnsmasq upstream: A" "$(q +short www.zone.test)" "203.0.113.5"
	ns_assert_eq "dnsmasq upstream: AAAA over TCP" "$(q +tcp +short www.zone.test AAAA)" \
		"2001:db8::5"
	out=$(q nope.zone.test)
	ns_assert_match "dnsmasq upstream: its NXDOMAIN relayed" "$out" "status: NXDOMAIN"
	ns_assert_match "dnsmasq upstream: not authoritative here" "$out" "flags: qr rd ra;"
fi

# glibc's stub resolver through the namespace's resolv.conf, single-label names via search.
ns_resolv n 100.100.100.100 "search mesh.test" >/dev/null
ns_assert_match "getent, full name" "$(ns_exec n getent hosts server.mesh.test)" \
	'^(100\.64\.0\.1|fd7a:115c:a1e0::1)[[:space:]]+server\.mesh\.test'
ns_assert_match "getent, short name via the search domain" \
	"$(ns_exec n getent ahostsv4 laptop)" '^100\.64\.0\.2[[:space:]]'
ns_assert_fails "getent, unknown name in the zone" ns_exec n getent hosts nope.mesh.test

# The same resolver on a plain UDP socket.
ns_start n "$NS_TMP/serve-udp.log" "$TOOL" serve --udp 127.0.0.1:5399 "$NS_TMP/records.json"
ns_wait 5 ns_listening n udp 5399
ns_assert_eq "UDP socket: A" \
	"$(ns_exec n dig @127.0.0.1 -p 5399 +time=3 +tries=1 +short server.mesh.test)" "100.64.0.1"
ns_assert_eq "UDP socket: forwarded" \
	"$(ns_exec n dig @127.0.0.1 -p 5399 +time=3 +tries=1 +short example.org)" "192.0.2.77"
out=$(ns_exec n dig @127.0.0.1 -p 5399 +time=3 +tries=1 +ignore big.mesh.test AAAA)
ns_assert_match "UDP socket: TC" "$out" " tc "

ns_done
