#!/bin/bash
# SPDX-License-Identifier: MIT
#
# policy_check.sh: drives mesh_policy_check (the code behind `meshcontrol policy check`) over the
# sample files in tests/policy: a valid policy whose tests hold offline, against an inventory and
# against `meshcontrol nodes list --json` output; a policy with failing tests; one invalid policy
# per error message (each file's first line says the expected "LINE:COL: message"); bad
# inventories and bad command lines. Checks exit codes and the exact --json output. No root, no
# network. Needs jq (exit 77 without it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${MESH_SOURCE_DIR:-$here/../..}
build=${MESH_BUILD_DIR:-$src/build}
bin=$build/src/server/policy/mesh_policy_check
cd "$src/tests/policy"

command -v jq >/dev/null || { echo "policy_check: jq not installed, skipping"; exit 77; }
[[ -x $bin ]] || { echo "policy_check: $bin not built" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

# expect CODE DESCRIPTION -- ARGS...: run the checker, keep stdout and stderr, compare the exit code.
expect() {
	local want=$1 what=$2 code=0
	shift 3
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
	if [[ $code == "$want" ]]; then pass "$what (exit $code)"; else fail "$what: exit $code, want $want"; cat "$tmp/out" "$tmp/err"; fi
}
# holds DESCRIPTION COMMAND...: the command (jq -e, grep -q) succeeds.
holds() {
	local what=$1
	shift
	if "$@" >/dev/null; then pass "$what"; else fail "$what: $(cat "$tmp/out")"; fi
}
# same STRING FILE DESCRIPTION: the file holds exactly STRING (plus a newline).
same() {
	if [[ $(cat "$2") == "$1" ]]; then pass "$3"; else fail "$3: got '$(cat "$2")', want '$1'"; fi
}

# A valid policy; its 20 assertions hold offline (stand-in devices), against an inventory, and
# against the shape `meshcontrol nodes list --json` prints.
expect 0 "valid policy, offline" -- ok.hujson
same "ok.hujson: policy is valid; 20 assertions passed" "$tmp/out" "human summary"
same "" "$tmp/err" "nothing on stderr"
expect 0 "valid policy, --json" -- ok.hujson --json
same '{"valid":true,"error":null,"assertions":20,"failed":[]}' "$tmp/out" "json verdict"
expect 0 "valid policy, --nodes inventory.json" -- ok.hujson --nodes inventory.json --json
same '{"valid":true,"error":null,"assertions":20,"failed":[]}' "$tmp/out" "json verdict with inventory"
expect 0 "valid policy, --nodes=nodes-list.json" -- --json --nodes=nodes-list.json ok.hujson
holds "json verdict with nodes list" \
	jq -e '.valid == true and .error == null and .assertions == 20 and .failed == []' "$tmp/out"

# Failing tests: exit 1, every failed assertion listed, the JSON exactly as the contract says.
expect 1 "failing tests" -- failing.hujson
holds "failure names the test's line" \
	grep -q '^failing.hujson:7:3: test failed: alice@ -> bob@:80 (tcp): expected accept' "$tmp/out"
holds "failure summary" grep -q '^failing.hujson: policy is valid; 2 of 4 assertions failed$' "$tmp/out"
expect 1 "failing tests, --json" -- failing.hujson --json
same '{"valid":true,"error":null,"assertions":4,"failed":[{"src":"alice@","dst":"bob@:80","proto":"tcp","expected":"accept"},{"src":"alice@","dst":"bob@:0","proto":"icmp","expected":"accept"}]}' \
	"$tmp/out" "json failures"
holds "jq reads it" jq -e '.failed | length == 2' "$tmp/out"

# Every invalid policy: exit 1 and exactly the message its first line announces.
for f in invalid/*.hujson; do
	want=$(head -1 "$f" | sed 's,^// expect: ,,')
	expect 1 "$f refused" -- "$f"
	same "$f:$want" "$tmp/err" "$f: message"
	same "" "$tmp/out" "$f: nothing on stdout"
	expect 1 "$f refused, --json" -- "$f" --json
	# shellcheck disable=SC2016 # $e is jq's variable
	holds "$f: json error" jq -e --arg e "$f:$want" \
		'.valid == false and .error == $e and .assertions == 0 and .failed == []' "$tmp/out"
done

# Inventories and files that cannot be used.
expect 1 "inventory with a shared address" -- ok.hujson --nodes bad-inventory.json
same "bad-inventory.json:3:2: node \"b\": address 100.64.0.1 is also node \"a\"'s" "$tmp/err" "inventory error"
expect 1 "inventory that is missing" -- ok.hujson --nodes "$tmp/none.json"
expect 1 "policy that is missing" -- "$tmp/none.hujson" --json
holds "missing file in json" \
	jq -e '.valid == false and (.error | endswith("No such file or directory"))' "$tmp/out"

# Usage: exit 2.
expect 2 "no file" --
expect 2 "two files" -- ok.hujson failing.hujson
expect 2 "unknown option" -- ok.hujson --verbose
expect 2 "--nodes without a file" -- ok.hujson --nodes
expect 0 "--help" -- --help
holds "usage text" grep -q '^usage: meshcontrol policy check FILE' "$tmp/out"

# The same code behind meshcontrol's own command line.
mc=$build/src/server/meshcontrol
if [[ -x $mc ]]; then
	if "$mc" policy check ok.hujson >"$tmp/out" 2>&1 && grep -q 'policy is valid' "$tmp/out"; then
		pass "meshcontrol policy check ok.hujson"
	else
		fail "meshcontrol policy check ok.hujson: $(cat "$tmp/out")"
	fi
	if "$mc" policy check failing.hujson >"$tmp/out" 2>&1; then
		fail "meshcontrol policy check failing.hujson exited 0"
	else
		pass "meshcontrol policy check failing.hujson exits non-zero"
	fi
fi

if ((failures)); then
	echo "policy_check: $failures failed"
	exit 1
fi
echo "policy_check: all passed"
