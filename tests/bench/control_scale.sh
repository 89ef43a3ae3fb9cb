#!/bin/bash
# SPDX-License-Identifier: MIT
#
# control_scale.sh: meshcontrol under many nodes, on loopback. One process (mesh_control_tool
# scale) simulates every node with its own machine key and control client: it registers 1,000
# nodes, opens a map stream for each, then moves one node's endpoint and times how long the
# patch takes to reach every stream; then the same with 10,000 nodes (BENCH_STREAMS streams,
# default 1,000: the client decodes every full map of 10,000 peers, which is what limits the
# run, not the server). Each run starts from an empty database.
#
# Reported per run: registration rate, the server's CPU time per phase, the server's RSS,
# the size of a full map and of the delta one endpoint change makes, and the time until the
# first and the last stream had that delta. A benchmark, not a pass/fail test: it fails only
# if a run fails, or if the change takes more than a second to reach every stream (the
# server's promise). BENCH_NODES overrides the list of network sizes ("1000 10000").
# Label "bench": not part of the default run.

set -euo pipefail

build=${MESH_BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}
mc=$build/src/server/meshcontrol
tool=$build/tests/integration/mesh_control_tool
for bin in "$mc" "$tool"; do
	if [[ ! -x $bin ]]; then
		echo "control_scale: $bin is not built" >&2
		exit 1
	fi
done
if ! command -v python3 >/dev/null; then
	echo "control_scale: SKIP: python3 is needed" >&2
	exit 77
fi
SIZES=${BENCH_NODES:-1000 10000}
STREAMS=${BENCH_STREAMS:-1000}
# Each stream is a connection in the tool and one in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

tmp=$(mktemp -d /tmp/control_scale.XXXXXX)
server_pid=

cleanup() {
	local rc=$?

	if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if ((rc != 0)) && [[ -f $tmp/serve.log ]]; then
		echo "--- last lines of the server log" >&2
		tail -n 20 "$tmp/serve.log" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT INT TERM HUP

run() {
	local nodes=$1 streams=$2 dir=$tmp/$1 cfg port key deadline

	mkdir -p "$dir"
	cfg=$dir/meshcontrol.json
	cat >"$cfg" <<EOF
{
	"server_url": "http://127.0.0.1:8080",
	"listen": "127.0.0.1:0",
	"database": {"path": "$dir/db.sqlite"},
	"admin_socket": "$dir/admin.sock",
	"relay": {"stun_listen": "127.0.0.1:0"}
}
EOF
	: >"$tmp/serve.log"
	"$mc" serve --config "$cfg" >>"$tmp/serve.log" 2>&1 &
	server_pid=$!
	deadline=$((SECONDS + 10))
	until port=$(sed -n 's/.*control API listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' \
		"$tmp/serve.log") && [[ -n $port ]]; do
		((SECONDS < deadline)) || {
			echo "control_scale: the server did not start" >&2
			exit 1
		}
		sleep 0.1
	done
	"$mc" --config "$cfg" users create bench >/dev/null
	key=$("$mc" --config "$cfg" authkeys create --user bench --reusable --expiration 24h 2>/dev/null |
		tail -n 1)
	"$tool" scale --server "http://127.0.0.1:$port" --auth-key "$key" --nodes "$nodes" \
		--streams "$streams" --server-pid "$server_pid" --timeout 1500 >"$tmp/result.json"
	kill -TERM "$server_pid"
	wait "$server_pid" || {
		echo "control_scale: the server did not stop cleanly" >&2
		exit 1
	}
	server_pid=
	cat "$tmp/result.json"
	python3 - "$tmp/result.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
cpu = r["server_cpu_seconds"]
rss = r["server_rss_kib"]
print(f"  nodes {r['nodes']}, streams {r['streams']}")
print(f"  registration: {r['register_per_second']:.0f} nodes/s "
      f"({r['register_seconds']:.2f} s; server CPU {cpu['register']:.2f} s, "
      f"{cpu['register'] * 1e6 / r['nodes']:.0f} us per node)")
print(f"  streams: {r['streams']} full maps of {r['full_map_peers']} peers, "
      f"{r['full_map_bytes']} bytes each, in {r['streams_seconds']:.1f} s "
      f"(server CPU {cpu['streams']:.2f} s)")
print(f"  one endpoint change: delta of {r['delta_bytes']} bytes; first stream after "
      f"{r['change_first_ms']:.1f} ms, all {r['streams']} after {r['change_all_ms']:.1f} ms")
print(f"  server RSS: {rss['registered'] / 1024:.0f} MiB registered, "
      f"{rss['streaming'] / 1024:.0f} MiB with every stream open")
if r["change_all_ms"] > 1000:
    sys.exit("the endpoint change took more than a second to reach every stream")
EOF
}

for n in $SIZES; do
	echo "control_scale: $n nodes"
	run "$n" "$((n < STREAMS ? n : STREAMS))"
done
