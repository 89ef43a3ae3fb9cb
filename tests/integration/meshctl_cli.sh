#!/bin/bash
# SPDX-License-Identifier: MIT
#
# meshctl_cli.sh: meshctl's user contract (design.md §6) against fake_localapi.py, a MOCK of
# meshd's local API on a Unix socket in a temp dir: every command's output format, the requests
# it sends, --json output that parses, exit codes 0/1/2, errors when the socket is missing, and
# --help everywhere. No root or namespace needed; the only process started is the mock, and
# only it is stopped.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${MESH_BUILD_DIR:?MESH_BUILD_DIR must point at the build directory}
MESHCTL=$BUILD/cli/meshctl
[[ -x $MESHCTL ]] || { echo "meshctl_cli: $MESHCTL not built" >&2; exit 1; }
command -v python3 >/dev/null || { echo "meshctl_cli: python3 missing: skipped" >&2; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshctl_cli.XXXXXX")
SOCK=$tmp/meshd.sock
mock_pid=
cleanup()
{
	if [[ -n $mock_pid ]]; then
		kill "$mock_pid" 2>/dev/null || true
		wait "$mock_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
checks=0
fail()
{
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# run ARGS...: meshctl with the mock's socket; sets $rc, $out, $err.
run()
{
	checks=$((checks + 1))
	set +e
	MESHD_SOCKET=$SOCK "$MESHCTL" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
	last_cmd="meshctl $*"
}

expect_rc()
{
	[[ $rc == "$1" ]] || fail "$last_cmd: exit $rc, want $1 (stderr: $err)"
}

expect_out()
{
	[[ $out == "$1" ]] || fail "$last_cmd: stdout"$'\n'"$out"$'\n'"want"$'\n'"$1"
}

expect_err()
{
	[[ $err == "$1" ]] || fail "$last_cmd: stderr"$'\n'"$err"$'\n'"want"$'\n'"$1"
}

expect_out_has()
{
	[[ $out == *"$1"* ]] || fail "$last_cmd: stdout lacks \"$1\":"$'\n'"$out"
}

expect_err_has()
{
	[[ $err == *"$1"* ]] || fail "$last_cmd: stderr lacks \"$1\":"$'\n'"$err"
}

scenario()
{
	echo "$1" >"$tmp/scenario.json"
}

# The requests the mock saw since the last call, one "METHOD PATH BODY" a line.
requests()
{
	if [[ -f $tmp/requests.log ]]; then
		python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["method"], r["path"], r["body"])' "$tmp/requests.log"
		rm -f "$tmp/requests.log"
	fi
}

expect_requests()
{
	local got
	got=$(requests)
	[[ $got == "$1" ]] || fail "$last_cmd: requests"$'\n'"$got"$'\n'"want"$'\n'"$1"
}

# json_check PYTHON-EXPR: evaluates with j = stdout parsed as JSON; must be true.
json_check()
{
	python3 -c '
import json, sys
j = json.loads(sys.argv[2])
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" "$out" || fail "$last_cmd: JSON check failed: $1"$'\n'"$out"
}

# ---- Without a daemon ---------------------------------------------------------------------

run --socket "$tmp/none.sock" status
expect_rc 1
expect_out ""
expect_err "meshctl: cannot connect to meshd at $tmp/none.sock: No such file or directory (is meshd running?)"

checks=$((checks + 1))
set +e
MESHD_SOCKET=$tmp/env.sock "$MESHCTL" down >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
[[ $rc == 1 ]] || fail "MESHD_SOCKET: exit $rc"
grep -qxF "meshctl: cannot connect to meshd at $tmp/env.sock: No such file or directory (is meshd running?)" \
	"$tmp/err" || fail "MESHD_SOCKET is not used: $(cat "$tmp/err")"

if [[ ! -e /run/meshd/meshd.sock ]]; then
	checks=$((checks + 1))
	set +e
	env -u MESHD_SOCKET "$MESHCTL" status >"$tmp/out" 2>"$tmp/err"
	rc=$?
	set -e
	[[ $rc == 1 && $(cat "$tmp/err") == "meshctl: cannot connect to meshd at /run/meshd/meshd.sock: No such file or directory (is meshd running?)" ]] ||
		fail "default socket: exit $rc, $(cat "$tmp/err")"
fi

# version needs no daemon: the client line alone, exit 0.
run --socket "$tmp/none.sock" version
expect_rc 0
[[ $out =~ ^meshctl\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "version without meshd: $out"

# ---- Usage, --help, exit code 2 -----------------------------------------------------------

run
expect_rc 2
expect_out ""
expect_err_has "usage: meshctl [--socket PATH] COMMAND"

for h in --help -h help; do
	run $h
	expect_rc 0
	expect_out_has "usage: meshctl [--socket PATH] COMMAND"
	expect_err ""
done

run frobnicate
expect_rc 2
expect_err_has 'meshctl: unknown command "frobnicate"'
run --bogus status
expect_rc 2
expect_err_has "meshctl: unknown flag --bogus"

for cmd in up set down logout status ip ping netcheck whois version; do
	for h in --help -h; do
		run "$cmd" $h
		expect_rc 0
		[[ $out == "usage: meshctl $cmd"* ]] || fail "$cmd $h: stdout is not its usage: $out"
		expect_err ""
	done
done

# Each usage error: exit 2, one "meshctl CMD: why" line, then the command's usage on stderr.
usage_error()
{
	local why=$1
	shift
	run "$@"
	expect_rc 2
	expect_out ""
	[[ $(head -n1 <<<"$err") == "meshctl $1: $why" ]] ||
		fail "$last_cmd: first stderr line: $(head -n1 <<<"$err"), want meshctl $1: $why"
	expect_err_has "usage: meshctl $1"
}

usage_error 'unexpected argument "extra"' status extra
usage_error 'unknown flag --bogus' up --bogus
usage_error 'unknown flag -hostname (did you mean --hostname?)' up -hostname x
usage_error 'flag --hostname needs a value' up --hostname
usage_error 'invalid value "maybe" for --accept-dns: want true or false' up --accept-dns=maybe
usage_error 'unexpected argument "false" (write --shields-up=false)' up --shields-up false
usage_error 'invalid value "5x" for --timeout: want a duration such as 30s, 2m or 1h' up --timeout 5x
usage_error 'unknown flag --auth-key' set --auth-key k
usage_error 'unknown flag --reset' set --reset
usage_error 'no settings given' set
usage_error 'unexpected argument "now"' down now
usage_error 'unexpected argument "x"' logout x
usage_error '-4 and -6 cannot be used together' ip -4 -6
usage_error 'unexpected argument "b"' ip a b
usage_error 'missing PEER' ping
usage_error '-c must be between 1 and 1000000' ping -c 0 server
usage_error 'invalid value "abc" for -c: want a number' ping -c abc server
usage_error 'unknown flag --c (did you mean -c?)' ping --c 3 server
usage_error 'missing IP' whois
usage_error '"server" is not an IP address' whois server
usage_error 'unexpected argument "x"' netcheck x
usage_error 'unexpected argument "x"' version x

# ---- With the mock ------------------------------------------------------------------------

python3 "$here/fake_localapi.py" "$SOCK" "$tmp" &
mock_pid=$!
for _ in $(seq 100); do
	[[ -S $SOCK ]] && break
	sleep 0.05
done
[[ -S $SOCK ]] || { echo "FAIL: the mock did not start" >&2; exit 1; }
scenario '{}'

# Flag values are checked with meshd's own rules before anything is sent: exit 1, no request.
value_error()
{
	local want=$1
	shift
	run "$@"
	expect_rc 1
	expect_out ""
	expect_err "$want"
	expect_requests ""
}

value_error "meshctl: --advertise-routes: 192.168.1.1/24 has host bits set; did you mean 192.168.1.0/24?" \
	up --advertise-routes 192.168.1.1/24
value_error 'meshctl: --advertise-routes: "10.0.0.0" is not an IP prefix: missing prefix length (ADDR/N)' \
	set --advertise-routes 10.0.0.0/8,10.0.0.0
value_error 'meshctl: --advertise-tags: "server" is not a valid tag; did you mean tag:server?' \
	set --advertise-tags server
value_error 'meshctl: --login-server: "mesh.example.com" is not a URL: it must start with https:// or http://' \
	up --login-server mesh.example.com
value_error "meshctl: --hostname: \"my_host\" is not a valid host name: use letters, digits and '-' (not at either end), at most 63 characters" \
	set --hostname my_host
value_error 'meshctl: --exit-node: cannot use an exit node while advertising this node as one' \
	set --exit-node 100.64.0.5 --advertise-exit-node
value_error "meshctl: --auth-key: cannot read $tmp/nokey: No such file or directory" \
	up --auth-key "file:$tmp/nokey"

# status: self first, then the peers by name, in aligned columns.
run status
expect_rc 0
expect_err ""
expect_out "100.64.0.1  laptop   alice           linux    -
100.64.0.3  nas      tagged-devices  linux    active; relay \"home\", tx 100 rx 200
100.64.0.4  phone    alice           android  offline, last seen 3m ago
100.64.0.5  printer  alice           linux    idle, tx 20 rx 10
100.64.0.2  server   alice           linux    active; direct 198.51.100.7:41641, tx 1234 rx 5678"
expect_requests "GET /localapi/v0/status "

# --socket also works after the command.
checks=$((checks + 1))
"$MESHCTL" status --socket "$SOCK" >"$tmp/out2" 2>&1 || fail "status --socket PATH after the command"
requests >/dev/null

# status --json: only JSON on stdout, the daemon's object, whatever the HTTP framing.
for framing in length chunked eof; do
	scenario "{\"framing\": \"$framing\"}"
	run status --json
	expect_rc 0
	expect_err ""
	json_check 'j["backend_state"] == "Running" and j["self"]["addresses"] == ["100.64.0.1", "fd7a:115c:a1e0::1"]'
	json_check '[p["name"] for p in j["peers"]] == ["server", "nas", "phone", "printer"]'
	json_check 'j["peers"][0]["path"] == "direct" and j["peers"][0]["endpoint"] == "198.51.100.7:41641"'
	json_check 'all(k in p for p in j["peers"] for k in ("name", "fqdn", "addresses", "online", "path", "endpoint", "relay", "rx_bytes", "tx_bytes", "last_handshake"))'
done
requests >/dev/null

scenario '{"framing": "cut"}'
run status --json
expect_rc 1
expect_out ""
expect_err "meshctl: meshd closed the connection in mid-answer"
requests >/dev/null

scenario '{"garbage": true}'
run status
expect_rc 1
expect_err "meshctl: meshd sent a status that is not a JSON object"
run status --json
expect_rc 1
expect_out ""

# Not running: a sentence, exit 1.
scenario '{"state": "Stopped"}'
run status
expect_rc 1
expect_out "meshd is stopped; run 'meshctl up' to connect."
scenario '{"state": "NeedsLogin"}'
run status
expect_rc 1
expect_out "Logged out.
Log in at: https://mesh.example.com/register/abc"
run status --json
expect_rc 0
json_check 'j["backend_state"] == "NeedsLogin"'
run ip
expect_rc 1
expect_out ""
expect_err "meshctl: this node has no mesh address (meshd is NeedsLogin)"
requests >/dev/null

# ip
scenario '{}'
run ip
expect_rc 0
expect_out "100.64.0.1
fd7a:115c:a1e0::1"
run ip -4
expect_out "100.64.0.1"
run ip -6
expect_out "fd7a:115c:a1e0::1"
run ip server
expect_out "100.64.0.2
fd7a:115c:a1e0::2"
run ip -6 server.mesh.internal.
expect_out "fd7a:115c:a1e0::2"
run ip -4 fd7a:115c:a1e0::3
expect_rc 0
expect_out "100.64.0.3"
run ip NAS
expect_out_has "100.64.0.3"
run ip nosuch
expect_rc 1
expect_out ""
expect_err "meshctl: no peer called nosuch"
requests >/dev/null

# up from NeedsLogin: watch first, then POST /up with only the named prefs; exit 0 on Running.
scenario '{"state": "NeedsLogin", "up": "running"}'
run up --auth-key tskey-1 --hostname laptop --accept-routes \
	--advertise-routes "10.0.0.0/8, 192.168.0.0/16" --accept-dns=false
expect_rc 0
expect_out ""
expect_err ""
expect_requests 'GET /localapi/v0/status 
GET /localapi/v0/watch 
POST /localapi/v0/up {"prefs":{"hostname":"laptop","advertise_routes":["10.0.0.0/8","192.168.0.0/16"],"accept_routes":true,"accept_dns":false},"auth_key":"tskey-1","reset":false}'

echo "tskey-from-file" >"$tmp/key"
run up --auth-key "file:$tmp/key" --reset --shields-up --timeout 30s
expect_rc 0
expect_requests 'GET /localapi/v0/status 
GET /localapi/v0/watch 
POST /localapi/v0/up {"prefs":{"shields_up":true},"auth_key":"tskey-from-file","reset":true}'

# Interactive login: the URL, then Success.
scenario '{"state": "NeedsLogin", "up": "auth"}'
run up --login-server https://mesh.example.com
expect_rc 0
expect_err ""
expect_out "To authenticate, visit:

	https://mesh.example.com/register/XYZ

Success."
requests >/dev/null

run up --json
expect_rc 0
expect_err ""
[[ $(wc -l <<<"$out") == 2 ]] || fail "up --json: want two lines: $out"
checks=$((checks + 1))
while read -r line; do
	python3 -c 'import json, sys; json.loads(sys.argv[1])' "$line" || fail "up --json: not JSON: $line"
done <<<"$out"
[[ $(head -n1 <<<"$out") == '{"auth_url":"https://mesh.example.com/register/XYZ","register_id":"XYZ"}' ]] ||
	fail "up --json: first line: $out"
[[ $(tail -n1 <<<"$out") == '{"backend_state":"Running"}' ]] || fail "up --json: last line: $out"
requests >/dev/null

# An error event: exit 1 with its text.
scenario '{"state": "NeedsLogin", "up": "error"}'
run up --auth-key expired
expect_rc 1
expect_out ""
expect_err "meshctl: auth key expired"
requests >/dev/null

# Nothing happens: --timeout gives up with the last state seen.
scenario '{"state": "NeedsLogin", "up": "silent"}'
run up --timeout 500ms
expect_rc 1
expect_err "meshctl: timed out after 500ms waiting for the node to come up (state: NeedsLogin)"
requests >/dev/null

# Already Running, no new login: only the named prefs change (PATCH), nothing to wait for.
scenario '{"state": "Running"}'
run up --hostname newname --exit-node=server
expect_rc 0
expect_out ""
expect_requests 'GET /localapi/v0/status 
PATCH /localapi/v0/prefs {"want_running":true,"hostname":"newname","exit_node":"server"}'
run up --login-server https://mesh.example.com --json
expect_rc 0
expect_out '{"backend_state":"Running"}'
expect_requests 'GET /localapi/v0/status 
GET /localapi/v0/prefs 
PATCH /localapi/v0/prefs {"want_running":true,"login_server":"https://mesh.example.com"}'

# Running and a new login asked for: the Running the watch starts with does not count.
scenario '{"state": "Running", "up": "auth"}'
run up --auth-key tskey-2
expect_rc 0
expect_out_has "https://mesh.example.com/register/XYZ"
expect_requests 'GET /localapi/v0/status 
GET /localapi/v0/watch 
POST /localapi/v0/up {"prefs":{},"auth_key":"tskey-2","reset":false}'

# set: PATCH with exactly the named prefs.
scenario '{}'
run set --shields-up --exit-node 100.64.0.5 --accept-dns=false --advertise-routes= --snat-subnet-routes=false
expect_rc 0
expect_out ""
expect_err ""
expect_requests 'PATCH /localapi/v0/prefs {"advertise_routes":[],"accept_dns":false,"exit_node":"100.64.0.5","shields_up":true,"snat_subnet_routes":false}'
run set --advertise-tags tag:a,tag:b --advertise-exit-node=true --exit-node-allow-lan-access=false
expect_rc 0
expect_requests 'PATCH /localapi/v0/prefs {"advertise_exit_node":true,"advertise_tags":["tag:a","tag:b"],"exit_node_allow_lan_access":false}'

# down, logout
run down
expect_rc 0
expect_out ""
expect_requests "POST /localapi/v0/down "
run logout
expect_rc 0
expect_requests "POST /localapi/v0/logout "

# A caller who may only read: writes are refused with the daemon's reason and a hint.
scenario '{"readonly": true}'
for args in down logout "set --shields-up" "up --hostname x"; do
	# shellcheck disable=SC2086 # split on purpose
	run $args
	expect_rc 1
	expect_out ""
	expect_err "meshctl: access denied: this uid may only read status (run as root, or start meshd with --operator=USER)"
done
run status
expect_rc 0
requests >/dev/null

# ping: relay pongs, then the first direct pong ends it (the line after is never printed).
scenario '{}'
run ping server
expect_rc 0
expect_err ""
expect_out "pong from server (100.64.0.2) via relay(home) in 23ms
pong from server (100.64.0.2) via relay(home) in 21ms
pong from server (100.64.0.2) via 198.51.100.7:41641 in 2ms"
expect_requests 'POST /localapi/v0/ping {"peer":"server","count":10}'

scenario '{"ping": "relay_only"}'
run ping -c 2 100.64.0.2
expect_rc 0
expect_out "pong from server (100.64.0.2) via relay(home) in 30ms
pong from server (100.64.0.2) via relay(home) in 31ms"
expect_requests 'POST /localapi/v0/ping {"peer":"100.64.0.2","count":2}'

scenario '{"ping": "timeouts"}'
run ping -c 3 server
expect_rc 1
expect_out "timeout waiting for pong from server (100.64.0.2)
timeout waiting for pong from server (100.64.0.2)
timeout waiting for pong from server (100.64.0.2)"
expect_err "meshctl: no reply from server (100.64.0.2)"

scenario '{"ping": "notfound"}'
run ping nosuch
expect_rc 1
expect_out ""
expect_err "meshctl: no peer called nosuch"

scenario '{"ping": "error"}'
run ping server
expect_rc 1
expect_out "pong from server (100.64.0.2) via relay(home) in 5ms"
expect_err "meshctl: peer went away"
requests >/dev/null

# whois
scenario '{}'
run whois 100.64.0.2
expect_rc 0
expect_out "Machine:
  Name:      server.mesh.internal
  ID:        2
  Addresses: 100.64.0.2, fd7a:115c:a1e0::2
  OS:        linux
User:
  Name:      alice"
expect_requests "GET /localapi/v0/whois?addr=100.64.0.2 "
run whois fd7a:115c:a1e0::2
expect_rc 0
expect_out_has "Name:      server.mesh.internal"
run whois 100.64.0.99
expect_rc 1
expect_out ""
expect_err "meshctl: no node in the mesh has address 100.64.0.99"
requests >/dev/null

# netcheck
run netcheck
expect_rc 0
expect_out "
Report:
	* UDP: true
	* IPv4: yes, 203.0.113.5:41641
	* IPv6: no
	* MappingVariesByDestIP: false
	* Nearest relay: home
	* captive_portal: false
	* Relay latency:
		- home: 12.3ms (Home)"

# version, with a daemon to ask
run version
expect_rc 0
version_re=$'^meshctl [0-9.]+\nmeshd 9\\.9\\.9$'
[[ $out =~ $version_re ]] || fail "version: $out"

echo "meshctl_cli: $checks commands checked, $failures failures"
[[ $failures == 0 ]]
