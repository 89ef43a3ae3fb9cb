#!/bin/bash
# SPDX-License-Identifier: MIT
#
# control_admin.sh: meshcontrol's admin side end to end, on the real binary: configtest, serve,
# users, auth keys (single-use, reusable, expired), nodes and routes, the policy text, a restart
# that must lose nothing, a second server refused, the admin socket's permissions, and SIGTERM
# ending the server with exit code 0 and no socket left behind. No network: the admin socket and
# the database live in a temporary directory. Nodes register over the HTTP control API, which is
# not part of this test: node rows are written into the stopped server's database the way a
# registration would write them (that step is marked below).

set -euo pipefail

build=${MESH_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
mc=$build/src/server/meshcontrol
[[ -x $mc ]] || mc=$(find "$build" -name meshcontrol -type f -perm -u+x -print -quit)
if [[ ! -x $mc ]]; then
	echo "control_admin: meshcontrol is not built in $build" >&2
	exit 1
fi
if ! command -v python3 >/dev/null; then
	echo "control_admin: SKIP: python3 is needed to check JSON and seed node rows" >&2
	exit 77
fi

tmp=$(mktemp -d /tmp/control_admin.XXXXXX)
cfg=$tmp/meshcontrol.json
sock=$tmp/run/admin.sock
db=$tmp/state/db.sqlite
log=$tmp/serve.log
server_pid=
passed=0

cleanup() {
	local rc=$?

	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if ((rc != 0)) && [[ -f $log ]]; then
		echo "--- last lines of the server log" >&2
		tail -n 30 "$log" >&2
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

# Runs meshcontrol; its stdout in $out, stderr in $err, exit code in $rc. Never fails itself.
run() {
	set +e
	out=$("$mc" --config "$cfg" "$@" 2>"$tmp/stderr")
	rc=$?
	set -e
	err=$(cat "$tmp/stderr")
}

expect_ok() {
	run "$@"
	((rc == 0)) || fail "meshcontrol $* exited $rc: $err"
}

expect_fail() {
	local want_rc=$1 want_err=$2

	shift 2
	run "$@"
	((rc == want_rc)) || fail "meshcontrol $* exited $rc, want $want_rc ($err)"
	[[ $err == *"$want_err"* ]] || fail "meshcontrol $*: stderr '$err' lacks '$want_err'"
}

# json EXPR: evaluates the python expression EXPR with j = the JSON in $out; prints the result.
json() {
	python3 -c 'import json, sys; j = json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' \
		"$1" <<<"$out"
}

expect_json() {
	local got

	got=$(json "$1") || fail "not JSON or no $1: $out"
	[[ $got == "$2" ]] || fail "$1 is '$got', want '$2'"
}

# poll SECONDS CMD...: runs CMD every 0.1 s until it succeeds; fails the test on timeout.
poll() {
	local deadline=$((SECONDS + $1))

	shift
	until "$@"; do
		((SECONDS < deadline)) || fail "timed out waiting for: $*"
		sleep 0.1
	done
}

start_server() {
	"$mc" serve --config "$cfg" >>"$log" 2>&1 &
	server_pid=$!
	poll 10 socket_answers
}

socket_answers() {
	[[ -S $sock ]] && "$mc" --config "$cfg" users list >/dev/null 2>&1
}

stop_server() {
	local status=0

	kill -TERM "$server_pid"
	wait "$server_pid" || status=$?
	server_pid=
	((status == 0)) || fail "meshcontrol serve exited $status on SIGTERM"
	[[ ! -e $sock ]] || fail "the admin socket is still there after SIGTERM"
}

cat >"$cfg" <<EOF
// meshcontrol for control_admin.sh
{
	"server_url": "http://127.0.0.1:8080",
	"listen": "127.0.0.1:0",
	"database": {"type": "sqlite", "path": "$db"},
	"admin_socket": "$sock",
	"base_domain": "mesh.test",
	"relay": {"stun_listen": "127.0.0.1:0"}, // no fixed port: tests may run side by side
	"ephemeral_inactivity_timeout": "30m", // trailing comma next
}
EOF

# --- the config -------------------------------------------------------------------------------
run configtest
[[ $rc == 0 && $out == "$cfg: ok" ]] || fail "configtest: rc=$rc out='$out' err='$err'"
pass "configtest accepts the config"
printf '{\n  "server_url": "https://m.example",\n  "lisen": "0.0.0.0:443"\n}\n' >"$tmp/bad.json"
set +e
bad_err=$("$mc" configtest --config "$tmp/bad.json" 2>&1 >/dev/null)
bad_rc=$?
set -e
((bad_rc == 78)) || fail "configtest of a bad config exited $bad_rc, want 78"
[[ $bad_err == "$tmp/bad.json:3: unknown key \"lisen\" (did you mean \"listen\"?)" ]] ||
	fail "configtest said: $bad_err"
pass "configtest refuses an unknown key with file:line and exit code 78"

# --- no server yet ----------------------------------------------------------------------------
expect_fail 1 "cannot reach the server at $sock: is 'meshcontrol serve' running?" users list
pass "the CLI says clearly that no server is running"
expect_fail 2 "unknown command" nodes frobnicate
expect_ok nodes --help
[[ $out == *"nodes list [--json]"* ]] || fail "nodes --help: $out"
pass "usage errors exit 2, --help exits 0"

# --- serve ------------------------------------------------------------------------------------
start_server
[[ $(stat -c %a "$sock") == 600 ]] || fail "admin socket mode $(stat -c %a "$sock")"
[[ $(stat -c %a "$db") == 600 ]] || fail "database mode $(stat -c %a "$db")"
[[ $(stat -c %a "$(dirname "$db")") == 700 ]] || fail "state directory not 0700"
pass "serve listens on a 0600 admin socket; the database is 0600 in a 0700 directory"
grep -q 'server key created public=\[' "$log" || fail "no server key line in the log"
pass "the server key is created on first start"

set +e
"$mc" serve --config "$cfg" >"$tmp/second.log" 2>&1
second_rc=$?
set -e
((second_rc == 1)) || fail "a second server exited $second_rc"
grep -q "another meshcontrol is already serving on $sock" "$tmp/second.log" ||
	fail "second server said: $(cat "$tmp/second.log")"
[[ -S $sock ]] && socket_answers || fail "the second server broke the first one's socket"
pass "a second server on the same socket is refused and the first keeps serving"

# --- users ------------------------------------------------------------------------------------
expect_ok users create alice
[[ $out == "created user alice (id 1)" ]] || fail "users create: $out"
expect_ok users create bob
expect_fail 1 "user alice already exists" users create alice
expect_fail 1 "invalid user name" users create "no spaces"
expect_ok users list --json
expect_json 'sorted(u["name"] for u in j)' "['alice', 'bob']"
expect_ok users list
[[ $(head -n1 <<<"$out") =~ ^ID\ +NAME\ +CREATED$ ]] || fail "users table header: $out"
pass "users create/list, duplicates and bad names refused"

# --- auth keys --------------------------------------------------------------------------------
key_re='^mskey-[0-9a-f]{12}-[0-9a-f]{48}$'
expect_ok authkeys create --user alice
single=$(tail -n1 <<<"$out")
[[ $single =~ $key_re ]] || fail "single-use key on the last line: '$out'"
[[ $(wc -l <<<"$out") == 1 ]] || fail "authkeys create printed more than the key: $out"
expect_ok authkeys create --user bob --reusable --ephemeral --tags tag:ci,tag:web --expiration 90d
reusable=$(tail -n1 <<<"$out")
[[ $reusable =~ $key_re ]] || fail "reusable key: '$out'"
expect_ok authkeys create --user alice --expiration 1s
[[ $(tail -n1 <<<"$out") =~ $key_re ]] || fail "short-lived key: '$out'"
expect_fail 1 "no user named carol" authkeys create --user carol
expect_fail 2 "needs --user" authkeys create --reusable
expect_fail 2 "--expiration 3 days" authkeys create --user alice --expiration "3 days"
expect_fail 1 "invalid tag" authkeys create --user alice --tags server
sleep 1.2
expect_ok authkeys list --json
expect_json 'len(j)' 3
expect_json '[k["state"] for k in j]' "['valid', 'valid', 'expired']"
expect_json 'j[1]["tags"]' "['tag:ci', 'tag:web']"
expect_json 'j[1]["reusable"] and j[1]["ephemeral"] and not j[0]["reusable"]' True
expect_json 'any("key" in k or "hash" in k for k in j)' False
prefix=$(json 'j[0]["prefix"]')
[[ $single == "mskey-$prefix-"* ]] || fail "listed prefix $prefix is not the key's"
pass "auth keys: single-use, reusable+ephemeral+tags, expired; the secret is never listed"
! grep -qF "${single#mskey-*-}" "$log" || fail "the secret of a key appears in the log"
pass "auth key secrets never reach the log"
expect_ok authkeys revoke "$prefix"
expect_ok authkeys list --json
expect_json 'j[0]["state"]' revoked

# --- policy -----------------------------------------------------------------------------------
expect_fail 1 "no policy is set" policy get
printf '{\n  // everyone\n  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},],\n}\n' \
	>"$tmp/policy.hujson"
expect_ok policy set "$tmp/policy.hujson"
expect_ok policy get
[[ $out == "$(cat "$tmp/policy.hujson")" ]] || fail "policy get: $out"
printf '{"acls": [\n  {"action": "accept",,}]}\n' >"$tmp/bad.hujson"
expect_fail 1 "policy:2:23:" policy set "$tmp/bad.hujson"
expect_ok policy get
[[ $out == "$(cat "$tmp/policy.hujson")" ]] || fail "a refused policy replaced the good one"
pass "policy set/get round-trips HuJSON; invalid HuJSON is refused with line:col"

expect_ok nodes list --json
expect_json 'j' '[]'
expect_ok routes list --json
expect_json 'j' '[]'
pass "nodes list --json and routes list --json parse (empty)"

# --- restart: nothing lost --------------------------------------------------------------------
stop_server
pass "SIGTERM: exit code 0, admin socket removed"

# Seed two registered nodes as a registration writes them (the HTTP API is not under test here).
now=$(date +%s)
python3 - "$db" "$now" <<'EOF'
import sqlite3, sys
db, now = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
c.execute("PRAGMA foreign_keys = ON")
alice = c.execute("SELECT id FROM users WHERE name = 'alice'").fetchone()[0]
rows = [
    (1, "laptop", alice, "[]", "100.64.0.1", "fd7a:115c:a1e0::1", now + 180 * 86400),
    (2, "server", None, '["tag:ci","tag:web"]', "100.64.0.2", "fd7a:115c:a1e0::2", 0),
]
for i, name, user, tags, v4, v6, expiry in rows:
    c.execute("INSERT INTO nodes (machine_key, node_key, disco_key, hostname, name, os, ipv4,"
              " ipv6, user_id, tags, ephemeral, expiry, last_seen, endpoints, created)"
              " VALUES (?, ?, ?, ?, ?, 'linux', ?, ?, ?, ?, 0, ?, ?, '[]', ?)",
              (("%02x" % i) * 32, ("%02x" % (i + 16)) * 32, ("%02x" % (i + 32)) * 32,
               name, name, v4, v6, user, tags, expiry, now, now))
c.execute("INSERT INTO routes (node_id, prefix, advertised, approved)"
          " SELECT id, '10.1.0.0/24', 1, 0 FROM nodes WHERE name = 'server'")
c.commit()
EOF

start_server
expect_ok users list --json
expect_json 'sorted(u["name"] for u in j)' "['alice', 'bob']"
expect_ok authkeys list --json
expect_json '[k["state"] for k in j]' "['revoked', 'valid', 'expired']"
expect_ok policy get
[[ $out == "$(cat "$tmp/policy.hujson")" ]] || fail "policy lost in the restart"
grep -q 'server key loaded public=\[' "$log" || fail "the server key was not reused"
[[ $(grep -o 'server key [a-z]* public=\[[0-9a-f]*\]' "$log" | sed 's/.*=//' | sort -u |
	wc -l) == 1 ]] || fail "the server key changed across the restart"
pass "restart: users, keys, policy and the server key survive"

# --- nodes and routes -------------------------------------------------------------------------
expect_ok nodes list --json
expect_json 'len(j)' 2
expect_json 'set(["id", "name", "fqdn", "user", "tags", "addresses", "online", "last_seen",
 "expiry", "routes"]) <= set(j[0].keys())' True
expect_json 'j[0]["name"], j[0]["fqdn"], j[0]["user"], j[0]["tags"]' \
	"('laptop', 'laptop.mesh.test', 'alice', [])"
expect_json 'j[0]["addresses"]' "['100.64.0.1', 'fd7a:115c:a1e0::1']"
expect_json 'j[0]["online"], j[0]["expiry"] is not None, j[0]["last_seen"] is not None' \
	"(False, True, True)"
expect_json 'j[1]["user"], j[1]["tags"], j[1]["expiry"]' "(None, ['tag:ci', 'tag:web'], None)"
expect_json 'j[1]["routes"]' "{'advertised': ['10.1.0.0/24'], 'approved': []}"
pass "nodes list --json has design.md's shape (user null for a tagged node)"
expect_ok nodes list
[[ $(sed -n 2p <<<"$out") =~ ^1\ +laptop\ +alice\ +100\.64\.0\.1,fd7a:115c:a1e0::1\ +no ]] ||
	fail "nodes table: $out"
pass "nodes list prints an aligned table"

expect_ok routes approve server 10.1.0.0/24
expect_ok routes list --json
expect_json 'j' "[{'node': 'server', 'node_id': 2, 'prefix': '10.1.0.0/24', 'advertised': True, 'approved': True}]"
expect_fail 1 "has host bits set (did you mean 10.1.0.0/24?)" routes approve server 10.1.0.1/24
expect_fail 1 "no node named nosuch" routes approve nosuch 10.1.0.0/24
expect_ok routes unapprove server 10.1.0.0/24
expect_ok nodes list --json
expect_json 'j[1]["routes"]["approved"]' '[]'
pass "routes approve/unapprove, bad prefixes and nodes refused"

expect_ok nodes rename laptop work
expect_fail 1 "is taken" nodes rename work server
expect_fail 1 "invalid name" nodes rename work Not_Valid
expect_ok nodes expire work
expect_ok nodes list --json
expect_json 'j[0]["name"], j[0]["expired"]' "('work', True)"
expect_fail 1 "still owns 1 node" users delete alice
expect_ok nodes delete work.mesh.test
expect_ok nodes delete 2
expect_ok nodes list --json
expect_json 'j' '[]'
expect_ok users delete alice
expect_fail 1 "no pending registration" nodes register --user bob 0123456789abcdef01234567
pass "nodes rename/expire/delete; a user with nodes cannot be deleted"

# --- who may use the socket -------------------------------------------------------------------
if ((EUID == 0)) && command -v setpriv >/dev/null; then
	# Open every door: with the socket file writable by all, SO_PEERCRED alone keeps others out.
	chmod 0711 "$tmp" "$tmp/run"
	chmod 0644 "$cfg"
	chmod 0666 "$sock"
	set +e
	other=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$mc" --config "$cfg" users list 2>&1)
	other_rc=$?
	set -e
	chmod 0600 "$sock" "$cfg"
	chmod 0700 "$tmp" "$tmp/run"
	((other_rc == 1)) || fail "another user got exit code $other_rc: $other"
	[[ $other == *"permission denied"* ]] || fail "another user was told: $other"
	grep -q 'refused connection uid=65534' "$log" || fail "the refusal is not logged"
	pass "SO_PEERCRED refuses other users even on a world-writable socket"
else
	echo "[~] not root: skipping the other-user check"
fi

stop_server
grep -q 'shutting down reason=SIGTERM' "$log" || fail "no shutdown line in the log"
pass "SIGTERM again: exit code 0, socket removed, shutdown logged"
echo "control_admin: $passed passed, 0 failed"
