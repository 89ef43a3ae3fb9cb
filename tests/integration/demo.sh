#!/bin/bash
# SPDX-License-Identifier: MIT
#
# demo.sh: runs the README's first command, `packaging/demo.sh --no-wait`, with the binaries of
# this build, and checks what it shows (relay then direct pongs, ssh by MagicDNS name, the LAN
# through the subnet router, the web host's view before and after the exit node) and that it
# leaves no namespace, /etc/netns entry, interface socket or process behind.
# Needs root (exit 77 otherwise).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${MESH_SOURCE_DIR:-$here/../..}
build=${MESH_BUILD_DIR:-$src/build}
[[ $(id -u) == 0 ]] || exit 77
for c in ip ssh sshd socat iptables python3; do
	command -v "$c" >/dev/null || [[ -x /usr/sbin/$c ]] || {
		echo "demo: missing $c" >&2
		[[ ${MESH_NETNS_STRICT:-0} == 1 ]] && exit 1
		exit 77
	}
done

before_ns=$(ip netns list | awk '{print $1}' | sort)
before_etc=$(ls /etc/netns 2>/dev/null | sort || true)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() { echo "demo: FAIL $*" >&2; sed 's/^/    | /' "$out" | tail -60 >&2; exit 1; }
pass() { echo "demo: PASS $*"; passed=$((passed + 1)); }
passed=0

DEMO_BUILD_DIR=$build timeout 400 bash "$src/packaging/demo.sh" --no-wait >"$out" 2>&1 ||
	fail "packaging/demo.sh --no-wait exited with $?"
pass "packaging/demo.sh --no-wait ran to the end"

check() { grep -Eq "$2" "$out" || fail "$1 (no line matching /$2/)"; pass "$1"; }
check "status lists the three peers" '^100\.64\.0\.[0-9]+ +server +alice'
# The first pong usually comes over the relay; on a fast run the direct path may win the race.
if grep -Eq 'pong from server \(100\.64\.0\.[0-9]+\) via relay\(home\) in [0-9.]+ms' "$out"; then
	pass "a pong over the relay"
else
	echo "demo: note: the direct path was ready before the first pong"
fi
check "then a direct pong" 'pong from server \(100\.64\.0\.[0-9]+\) via 198\.18\.0\.[0-9]+:[0-9]+ in [0-9.]+ms'
check "ssh server by name lands on the server" 'hello from mesh[0-9a-f]+ .*100\.64\.0\.[0-9]+/32'
check "the printer sees the subnet router (SNAT)" 'printer says: you are 192\.168\.50\.1 '
check "the web host sees the home NAT first" 'before: you are 198\.18\.0\.2 '
check "then the exit node" 'after: +you are 203\.0\.113\.20 '

# Other tests may run beside this one: only names of the demo's own hosts count.
demo_names='-(cloud|laptop|server|subnetrt|exit|web|printer|homenat|officenat|inet)$'
after_ns=$(ip netns list | awk '{print $1}' | sort)
after_etc=$(ls /etc/netns 2>/dev/null | sort || true)
left=$(comm -13 <(echo "$before_ns") <(echo "$after_ns") | grep -E "$demo_names" || true)
[[ -z $left ]] || fail "namespaces left behind: $(echo "$left" | tr '\n' ' ')"
pass "no namespace left behind"
left=$(comm -13 <(echo "$before_etc") <(echo "$after_etc") | grep -E "$demo_names" || true)
[[ -z $left ]] || fail "/etc/netns entries left behind: $left"
pass "no /etc/netns entry left behind"
if pgrep -f "$build/src/daemon/meshd --state-dir /tmp/m" >/dev/null ||
	pgrep -f "$build/src/server/meshcontrol serve --config /tmp/m" >/dev/null; then
	fail "demo processes still running"
fi
pass "no demo process left running"
echo "demo: $passed passed, 0 failed"
