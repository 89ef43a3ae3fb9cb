#!/bin/bash
# SPDX-License-Identifier: MIT
#
# control_api.sh: meshcontrol's HTTP(S) control API end to end, on the real binary and a test
# client built on the node's control client (mesh_control_tool), on loopback only:
#  - GET /key and /health; registration with a reusable key (two nodes), a single-use key
#    refused the second time, an expired key refused, an interactive login approved with
#    `meshcontrol nodes register`, key renewal and logout;
#  - the map stream: the second node reaches the first one's stream when it registers, an
#    endpoint change and `nodes delete` within a second, `nodes expire` ends the node's own
#    stream after an "expired" self node, keep-alives;
#  - bad input: garbage and oversized HTTP, a body sealed to the wrong key, truncated JSON,
#    an unknown machine, 1,000 idle connections: errors for them, service for the others;
#  - a restart keeps every node with its addresses and keys;
#  - the same registration and stream over HTTPS with a CA the test makes, and a clear
#    refusal for a client that trusts another CA.

set -euo pipefail

build=${MESH_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
mc=$build/src/server/meshcontrol
tool=$build/tests/integration/mesh_control_tool
for bin in "$mc" "$tool"; do
	if [[ ! -x $bin ]]; then
		echo "control_api: $bin is not built" >&2
		exit 1
	fi
done
for cmd in python3 openssl curl; do
	if ! command -v "$cmd" >/dev/null; then
		echo "control_api: SKIP: $cmd is needed" >&2
		exit 77
	fi
done

tmp=$(mktemp -d /tmp/control_api.XXXXXX)
cfg=$tmp/meshcontrol.json
log=$tmp/serve.log
server_pid=
url=
bg_pids=()
passed=0

cleanup() {
	local rc=$? pid

	for pid in "${bg_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if ((rc != 0)) && [[ -f $log ]]; then
		echo "--- last lines of the server log" >&2
		tail -n 40 "$log" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT INT TERM HUP

pass() {
	passed=$((passed + 1))
	echo "[+] $*"
}

fail() {
	echo "[-] FAIL: $*" >&2
	exit 1
}

# poll SECONDS CMD...: runs CMD every 0.05 s until it succeeds; fails the test on timeout.
poll() {
	local secs=$1 deadline=$((${EPOCHREALTIME/./} + $1 * 1000000))

	shift
	until "$@"; do
		((${EPOCHREALTIME/./} < deadline)) || fail "timed out after ${secs}s waiting for: $*"
		sleep 0.05
	done
}

now_us() {
	echo "${EPOCHREALTIME/./}"
}

# arrival NAME EXPR: when (unix microseconds) the first frame f of stream NAME with EXPR true
# arrived, from the stream's --times file.
arrival() {
	python3 - "$tmp/$1.frames" "$tmp/$1.times" "$2" <<'EOF'
import json, sys
times = {}
for line in open(sys.argv[2]):
    seq, us = line.split()
    times[int(seq)] = int(us)
for line in open(sys.argv[1]):
    f = json.loads(line)
    if eval("(" + sys.argv[3] + ")"):
        print(times[f["seq"]])
        sys.exit(0)
sys.exit(1)
EOF
}

# within_1s START_US NAME EXPR WHAT: poll for the frame, then check it came within a second.
within_1s() {
	local at took

	poll 3 frames "$tmp/$2.frames" "$3"
	at=$(arrival "$2" "$3") || fail "no arrival time for $4"
	took=$(((at - $1) / 1000))
	((took <= 1000)) || fail "$4 took ${took} ms (limit 1000 ms)"
	echo "${took}"
}

admin() {
	"$mc" --config "$cfg" "$@"
}

# py EXPR: evaluates EXPR with j = the JSON text on stdin; prints the result.
py() {
	python3 -c 'import json, sys; j = json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1"
}

# frames FILE EXPR: true if some JSON line f of FILE makes EXPR true.
frames() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    f = json.loads(line)
    if eval("(" + sys.argv[2] + ")"):
        sys.exit(0)
sys.exit(1)
EOF
}

write_config() {
	local extra=${2:-}

	cat >"$1" <<EOF
// meshcontrol for control_api.sh
{
	"server_url": "http://127.0.0.1:8080",
	"listen": "127.0.0.1:0",
	"database": {"path": "$tmp/$3/db.sqlite"},
	"admin_socket": "$tmp/$3/admin.sock",
	"base_domain": "mesh.test",
	"relay": {"stun_listen": "127.0.0.1:0"},
	$extra
}
EOF
}

listening() {
	grep -q "control API listening on" "$log"
}

start_server() {
	local scheme=${1:-http} host=${2:-127.0.0.1} port

	: >"$log"
	"$mc" serve --config "$cfg" >>"$log" 2>&1 &
	server_pid=$!
	poll 10 listening
	port=$(sed -n 's/.*control API listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
	[[ -n $port ]] || fail "no port in the server log"
	url=$scheme://$host:$port
}

stop_server() {
	local status=0

	kill -TERM "$server_pid"
	wait "$server_pid" || status=$?
	server_pid=
	((status == 0)) || fail "meshcontrol serve exited $status on SIGTERM"
}

# register STATE [ARGS...]: runs the tool; JSON answer(s) in $out, stderr in $err, code in $rc.
register() {
	local state=$1

	shift
	set +e
	out=$("$tool" register --server "$url" --state "$tmp/$state.state" "$@" 2>"$tmp/stderr")
	rc=$?
	set -e
	err=$(cat "$tmp/stderr")
}

# stream NAME STATE [ARGS...]: a map stream in the background, frames in $tmp/NAME.frames.
stream() {
	local name=$1 state=$2

	shift 2
	: >"$tmp/$name.frames"
	"$tool" map --server "$url" --state "$tmp/$state.state" --count 100000 --timeout 280 \
		--times "$tmp/$name.times" "$@" >"$tmp/$name.frames" 2>"$tmp/$name.err" &
	bg_pids+=($!)
	eval "${name}_pid=$!"
}

http_status() {
	curl -s -o "$tmp/body" -w '%{http_code}' "$@" || true
}

# ---------------------------------------------------------------------------------------------
mkdir -p "$tmp/s1"
write_config "$cfg" '"ephemeral_inactivity_timeout": "1s",' s1
start_server
[[ $(stat -c %a "$tmp/s1/db.sqlite") == 600 ]] || fail "the database is not 0600"
pass "serve listens on $url"

[[ $(http_status "$url/key") == 200 ]] || fail "GET /key"
py 'j["public_key"].startswith("mkey:") and len(j["public_key"]) == 69 and j["version"] == 1' \
	<"$tmp/body" | grep -qx True || fail "GET /key: $(cat "$tmp/body")"
[[ $(http_status "$url/health") == 200 ]] || fail "GET /health"
py 'j["status"]' <"$tmp/body" | grep -qx ok || fail "health: $(cat "$tmp/body")"
[[ $(http_status -X POST "$url/key") == 405 ]] || fail "POST /key is not 405"
[[ $(http_status "$url/nope") == 404 ]] || fail "an unknown path is not 404"
pass "GET /key gives the server key, /health answers, wrong methods and paths are refused"

admin users create alice >/dev/null
reusable=$(admin authkeys create --user alice --reusable | tail -n 1)
single=$(admin authkeys create --user alice | tail -n 1)
short=$(admin authkeys create --user alice --reusable --expiration 1s | tail -n 1)

register a --auth-key "$reusable" --hostname alpha --endpoints 192.0.2.1:41641
((rc == 0)) || fail "register a: $err"
[[ $(py 'j["authorized"], j["name"], j["user"], j["addresses"]' <<<"$out") == \
	"(True, 'alpha', 'alice', ['100.64.0.1/32', 'fd7a:115c:a1e0::1/128'])" ]] ||
	fail "register a: $out"
a_id=$(py 'j["node_id"]' <<<"$out")

stream amap a --endpoints 192.0.2.1:41641
poll 5 frames "$tmp/amap.frames" '"peers" in f and f["node"]["name"] == "alpha"'
frames "$tmp/amap.frames" 'f["seq"] == 1 and f["peers"] == [] and f["packet_filter"] and
	f["dns"]["domain"] == "mesh.test" and f["relay_map"]["regions"][0]["region_id"] == 900' ||
	fail "a's full map: $(head -c 600 "$tmp/amap.frames")"
pass "a registered (alpha, 100.64.0.1) and its stream starts with a full map"

register b --auth-key "$reusable" --hostname beta --routes 10.1.0.0/16
start=$(now_us)
((rc == 0)) || fail "register b: $err"
b_id=$(py 'j["node_id"]' <<<"$out")
[[ $(py 'j["name"], j["addresses"][0]' <<<"$out") == "('beta', '100.64.0.2/32')" ]] ||
	fail "register b: $out"
took=$(within_1s "$start" amap "any(p['id'] == $b_id for p in f.get('peers_changed', []))" \
	"the new node reaching a's stream")
frames "$tmp/amap.frames" "any(p['id'] == $b_id and p['fqdn'] == 'beta.mesh.test' and
	p['allowed_ips'] == ['100.64.0.2/32', 'fd7a:115c:a1e0::2/128']
	for p in f.get('peers_changed', []))" || fail "b as a's peer: $(tail -n 2 "$tmp/amap.frames")"
pass "the reusable key registers a second node; a's stream has it after ${took} ms"

register c --auth-key "$single" --hostname gamma
((rc == 0)) || fail "register c with the single-use key: $err"
c_id=$(py 'j["node_id"]' <<<"$out")
register c --auth-key "$single" --hostname gamma
((rc == 0)) || fail "the same machine retrying with its single-use key was refused: $out $err"
register d --auth-key "$single" --hostname delta
((rc == 1)) || fail "a single-use key registered a second machine"
[[ $(py 'j["authorized"], "has already been used" in j["error"]' <<<"$out") == \
	"(False, True)" ]] || fail "single-use refusal: $out"
register d --auth-key "mskey-000000000000-000000000000000000000000000000000000000000000000" \
	--hostname delta
((rc == 1)) && [[ $(py 'j["error"]' <<<"$out") == "invalid auth key" ]] ||
	fail "an unknown key: $out"
expired_refused() {
	register d --auth-key "$short" --hostname delta
	((rc == 1)) && [[ $out == *"expired at"* ]]
}
poll 5 expired_refused
pass "a single-use key is refused the second time, unknown and expired keys are refused"

# Interactive: pending, then approved by an admin while the node waits on its follow-up.
"$tool" register --server "$url" --state "$tmp/e.state" --hostname epsilon --timeout 60 \
	>"$tmp/e.out" 2>"$tmp/e.err" &
e_pid=$!
bg_pids+=("$e_pid")
has_pending() { grep -q pending_id "$tmp/e.out"; }
poll 5 has_pending
pending=$(head -n 1 "$tmp/e.out" | py 'j["pending_id"]')
[[ $pending =~ ^[0-9a-f]{24}$ ]] || fail "pending id: $(cat "$tmp/e.out")"
sleep 0.3 # the follow-up is now held open by the server
admin nodes register --user alice "$pending" >/dev/null
wait "$e_pid" || fail "the waiting registration ended with an error: $(cat "$tmp/e.err")"
[[ $(tail -n 1 "$tmp/e.out" | py 'j["authorized"], j["name"]') == "(True, 'epsilon')" ]] ||
	fail "after approval: $(cat "$tmp/e.out")"
e_id=$(tail -n 1 "$tmp/e.out" | py 'j["node_id"]')
register e --hostname epsilon
[[ $(py 'j["authorized"], j["node_id"]' <<<"$out") == "(True, $e_id)" ]] ||
	fail "an approved node asking again is not simply authorized: $out"
pass "an interactive login waits on its follow-up until 'nodes register' approves it"

start=$(now_us)
"$tool" update --server "$url" --state "$tmp/b.state" --endpoints 198.51.100.4:41641,[2001:db8::4]:41641 >/dev/null ||
	fail "endpoint update"
took=$(within_1s "$start" amap "any(p['id'] == $b_id and p.get('endpoints') ==
	['198.51.100.4:41641', '[2001:db8::4]:41641'] for p in f.get('peers_patch', []))" \
	"an endpoint change reaching a's stream")
pass "b's endpoint change reaches a's stream as a patch after ${took} ms"

admin routes approve beta 10.1.0.0/16
poll 2 frames "$tmp/amap.frames" "any(p['id'] == $b_id and '10.1.0.0/16' in p['allowed_ips']
	for p in f.get('peers_changed', []))"
pass "an approved route reaches a's stream in b's allowed IPs"

# The embedded relay on the same port: registered nodes only.
relay_tool=$build/tests/integration/mesh_relay_tool
if [[ -x $relay_tool ]]; then
	a_priv=$(sed -n 's/^node_private=//p' "$tmp/a.state")
	b_priv=$(sed -n 's/^node_private=//p' "$tmp/b.state")
	a_pub=$("$relay_tool" pubkey "$a_priv")
	"$relay_tool" listen --url "$url" --key "$a_priv" --count 1 --timeout 10 >"$tmp/ra.out" 2>&1 &
	ra_pid=$!
	bg_pids+=("$ra_pid")
	relay_connected() { grep -q '^connected$' "$tmp/ra.out"; }
	poll 5 relay_connected
	"$relay_tool" send --url "$url" --key "$b_priv" --to "$a_pub" --message "via meshcontrol" \
		--timeout 10 >/dev/null || fail "b cannot send through the embedded relay"
	wait "$ra_pid" || fail "a did not receive through the relay: $(cat "$tmp/ra.out")"
	grep -q "via meshcontrol" "$tmp/ra.out" || fail "relay message: $(cat "$tmp/ra.out")"
	rc=0
	err=$("$relay_tool" send --url "$url" --key "$("$relay_tool" genkey)" --to "$a_pub" \
		--message x --timeout 10 2>&1) || rc=$?
	((rc == 1)) && [[ $err == *"refused by the relay"* ]] || fail "an unknown key on the relay: $err"
	pass "the embedded relay on /relay forwards between registered nodes and refuses others"
else
	echo "[ ] mesh_relay_tool is not built: embedded relay not checked"
fi

stream cmap c --exit-on-close
poll 5 frames "$tmp/cmap.frames" '"peers" in f'
start=$(now_us)
admin nodes expire gamma
took=$(within_1s "$start" amap "$c_id in f.get('peers_removed', [])" \
	"an expired node leaving a's map")
poll 3 frames "$tmp/cmap.frames" "f.get('node', {}).get('expired') is True"
c_rc=0
wait "$cmap_pid" || c_rc=$?
((c_rc == 4)) || fail "c's stream did not end after its key expired (tool exit $c_rc)"
got=$("$tool" raw --kind map --server "$url" --state "$tmp/c.state")
[[ $got == '403 {"error":"the node key has expired: register again"}' ]] ||
	fail "an expired node's map request: $got"
pass "nodes expire: gone from a's map after ${took} ms, c's stream gets expired and ends, 403 after"

start=$(now_us)
admin nodes delete beta
took=$(within_1s "$start" amap "$b_id in f.get('peers_removed', [])" \
	"a deleted node leaving a's map")
pass "nodes delete: b is removed from a's stream after ${took} ms"

register e --renew --hostname epsilon
[[ $(py 'j["authorized"], j["node_id"]' <<<"$out") == "(True, $e_id)" ]] || fail "renewal: $out $err"
"$tool" map --server "$url" --state "$tmp/e.state" --count 1 --timeout 5 >"$tmp/e.map" ||
	fail "a map stream with the renewed key"
[[ $(py 'j["node"]["id"], j["node"]["addresses"][0]' <"$tmp/e.map") == "($e_id, '100.64.0.4/32')" ]] ||
	fail "renewed node's map: $(head -c 300 "$tmp/e.map")"
register e --logout
((rc == 0)) && [[ $(py 'j["node_key_expired"]' <<<"$out") == True ]] || fail "logout: $out $err"
got=$("$tool" raw --kind map --server "$url" --state "$tmp/e.state")
[[ $got == 403* ]] || fail "a map request after logout: $got"
got=$("$tool" raw --kind map --server "$url" --state "$tmp/a.state")
[[ $got == "200 ("*" bytes of application/x-mesh-frames)" ]] || fail "a one-shot map: $got"
pass "key renewal keeps the node; logout expires it (403 on the next map request)"

# An ephemeral node: once its stream is gone, the next housekeeping round (every 15 s) deletes
# it, and that reaches a's stream like any deletion. Checked after the bad input below.
ephemeral=$(admin authkeys create --user alice --ephemeral | tail -n 1)
register f --auth-key "$ephemeral" --hostname phi
((rc == 0)) || fail "register an ephemeral node: $err"
f_id=$(py 'j["node_id"]' <<<"$out")
"$tool" map --server "$url" --state "$tmp/f.state" --count 1 --timeout 10 >/dev/null ||
	fail "the ephemeral node's stream"

# --- bad input ---------------------------------------------------------------------------------
raw() {
	"$tool" raw --server "$url" --state "$tmp/a.state" --kind "$1"
}
[[ $(raw garbage) == "400 {\"error\":\"bad request: "* ]] || fail "garbage body: $(raw garbage)"
[[ $(raw wrong-key) == *"400 {\"error\":\"the request is not sealed to this server's key"* ]] ||
	fail "wrong key: $(raw wrong-key)"
[[ $(raw truncated) == "400 {\"error\":\"bad request: "* ]] || fail "truncated JSON: $(raw truncated)"
[[ $(raw unknown-node) == "403 {\"error\":\"this node key is not registered"* ]] ||
	fail "unknown machine: $(raw unknown-node)"
[[ $(raw oversized) == 413* ]] || fail "oversized body: $(raw oversized)"
python3 - "${url#http://}" <<'EOF' || fail "garbage HTTP"
import socket, sys
host, port = sys.argv[1].split(":")
def ask(data):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(data)
    reply = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        reply += chunk
    s.close()
    return reply.split(b"\r\n")[0]
assert ask(b"\x16\x03\x01garbage that is not HTTP\r\n\r\n").startswith(b"HTTP/1.1 400"), "garbage"
assert ask(b"GET /key HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n").startswith(
    b"HTTP/1.1 431"), "huge header"
assert ask(b"POST /machine/map HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n").startswith(
    b"HTTP/1.1 413"), "huge content-length"
EOF
kill -0 "$server_pid" || fail "the server died on bad input"
pass "bad input gets 400/403/413/431 answers (JSON for the API's own refusals)"

poll 25 frames "$tmp/amap.frames" "$f_id in f.get('peers_removed', [])"
grep -q "node deleted id=$f_id name=phi reason=ephemeral-offline" "$log" ||
	fail "the ephemeral node was not deleted for being offline"
pass "an ephemeral node offline past its timeout is deleted, and a's stream hears of it"

python3 - "${url#http://}" "$tool" "$url" "$tmp" <<'EOF' || fail "1,000 idle connections"
import socket, subprocess, sys, time, urllib.request
host, port = sys.argv[1].split(":")
tool, url, tmp = sys.argv[2], sys.argv[3], sys.argv[4]
idle = [socket.create_connection((host, int(port)), timeout=30) for _ in range(1000)]
# The others are still served while 1,000 connections sit there saying nothing.
h = urllib.request.urlopen(url + "/health", timeout=5).read()
assert b'"status":"ok"' in h, h
out = subprocess.run([tool, "map", "--server", url, "--state", tmp + "/a.state", "--count", "1",
                      "--timeout", "10"], capture_output=True, timeout=20)
assert out.returncode == 0, out.stderr
# The server closes them once the header deadline (10 s) has passed.
deadline = time.time() + 20
closed = 0
for s in idle:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        closed += s.recv(1) == b""
    except ConnectionResetError:
        closed += 1
    except socket.timeout:
        pass
    s.close()
assert closed == 1000, "%d of 1000 idle connections closed by the server" % closed
EOF
[[ $(http_status "$url/health") == 200 ]] || fail "health after idle connections"
py 'j["nodes"]' <"$tmp/body" | grep -qx 3 || fail "nodes lost: $(cat "$tmp/body")"
pass "1,000 idle connections: the others are served, the idle ones are closed, nothing is lost"

keepalive_seen() { frames "$tmp/amap.frames" 'f.get("keep_alive") is True'; }
# The first keep-alive is due 30 s after the last frame on a's stream, which is in the past.
poll 32 keepalive_seen
pass "an idle stream gets keep-alives"
kill "$amap_pid" 2>/dev/null || true

# --- restart -----------------------------------------------------------------------------------
admin nodes list --json >"$tmp/before.json"
stop_server
start_server
admin nodes list --json >"$tmp/after.json"
python3 - "$tmp/before.json" "$tmp/after.json" <<'EOF' || fail "nodes changed across a restart"
import json, sys
keep = ("id", "name", "fqdn", "addresses", "node_key", "expiry", "user", "routes")
before, after = (json.load(open(p)) for p in sys.argv[1:3])
assert len(before) == 3, before
assert [{k: n[k] for k in keep} for n in before] == [{k: n[k] for k in keep} for n in after]
EOF
"$tool" map --server "$url" --state "$tmp/a.state" --count 1 --timeout 10 >"$tmp/a.map" ||
	fail "a's stream after the restart"
[[ $(py 'j["node"]["id"], [p["name"] for p in j["peers"]]' <"$tmp/a.map") == "($a_id, [])" ]] ||
	fail "a's map after the restart: $(head -c 400 "$tmp/a.map")"
register a --hostname alpha
[[ $(py 'j["authorized"], j["node_id"]' <<<"$out") == "(True, $a_id)" ]] || fail "a after restart: $out"
pass "a restart keeps every node, its addresses and keys; a streams again with its old keys"
stop_server

# --- HTTPS -------------------------------------------------------------------------------------
make_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$2" -keyout "$tmp/$1.key" -out "$tmp/$1.pem" 2>/dev/null
}
make_ca ca "control_api test CA"
make_ca otherca "another CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
	-keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' >"$tmp/san.ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
	-CAcreateserial -days 2 -extfile "$tmp/san.ext" -out "$tmp/server.pem" 2>/dev/null
mkdir -p "$tmp/s2"
write_config "$cfg" "\"tls\": {\"cert\": \"$tmp/server.pem\", \"key\": \"$tmp/server.key\"}," s2
start_server https localhost
grep -q "(https)" "$log" || fail "not serving HTTPS"
admin users create bob >/dev/null
tkey=$(admin authkeys create --user bob --reusable | tail -n 1)
register ta --auth-key "$tkey" --hostname tls-a --tls-ca "$tmp/ca.pem"
[[ $(py 'j["authorized"], j["name"]' <<<"$out") == "(True, 'tls-a')" ]] || fail "HTTPS register: $out $err"
stream tamap ta --tls-ca "$tmp/ca.pem"
poll 5 frames "$tmp/tamap.frames" '"peers" in f'
register tb --auth-key "$tkey" --hostname tls-b --tls-ca "$tmp/ca.pem"
((rc == 0)) || fail "HTTPS register b: $err"
poll 2 frames "$tmp/tamap.frames" "any(p['name'] == 'tls-b' for p in f.get('peers_changed', []))"
pass "over HTTPS: registration and the map stream work with the test CA"

register tc --auth-key "$tkey" --hostname tls-c --tls-ca "$tmp/otherca.pem"
((rc == 1)) && [[ $err == *"certificate verify failed for localhost"* ]] ||
	fail "a client trusting another CA: rc=$rc err=$err"
pass "a client that does not trust the server's CA is refused: ${err#*register: }"
stop_server

echo "control_api: all $passed checks passed"
