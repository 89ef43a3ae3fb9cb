#!/usr/bin/env bash
# The main job in one command: build meshd and show a tailnet working.
#
# Today this script builds the project and tells you what the demo will show;
# the live tailnet in network namespaces arrives with the daemon, NAT
# traversal, MagicDNS and routing work (see docs/architecture.md for what is
# built so far). It does not pretend: nothing below is simulated.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root (sudo packaging/demo.sh): it creates network namespaces" >&2
	exit 1
fi

deps=(build-essential cmake pkg-config libsodium-dev libuv1-dev libcjson-dev libsqlite3-dev
	libmbedtls-dev libhttp-parser-dev libmnl-dev libnftables-dev libcmocka-dev iproute2)
missing=()
for p in "${deps[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "==> installing build dependencies: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "==> building (Release) in $src/build-demo"
cmake -S "$src" -B "$src/build-demo" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$src/build-demo" --parallel "$(nproc)" >/dev/null
for p in meshd meshctl meshcontrol meshrelay; do
	printf '    %-12s %s\n' "$p" "$("$src/build-demo/$(find "$src/build-demo" -name "$p" -type f -perm -u+x -printf '%P\n' | head -1)" --version 2>/dev/null || echo built)"
done

cat <<'PLAN'

==> what the demo will show once the daemon lands (not yet runnable):
    a control server (meshcontrol, sqlite, embedded relay + STUN) in a "cloud" namespace;
    a laptop and a server behind two different NATs; a subnet router in front of a LAN;
    an exit node and an "internet" web host. Then: meshctl status, meshctl ping showing
    relay-then-direct, ssh by MagicDNS name, a request to the LAN through the subnet route,
    and the web host's view of the laptop before and after choosing the exit node.

    Available today: the build, the test suite (sudo tests/run.sh) and, as each piece lands,
    the programs above. Nothing was started and nothing needs tearing down.
PLAN
