#!/bin/bash
# SPDX-License-Identifier: MIT
#
# wg_flood.sh: a burst of 10,000 handshake initiations, each with a valid mac1 (anyone who
# knows meshd's public key can make those), sent from a third namespace at `meshd wireguard`
# while an established wireguard-go peer keeps pinging through the tunnel. The engine must
# answer the flood with cookie replies instead of spending CPU on Diffie-Hellman, keep
# serving the real peer, and report the cookies in its exit statistics.
# Needs root (exit 77 otherwise).

# shellcheck disable=SC2317
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NS_TEST_NAME=${NS_TEST_NAME:-wg_flood}
# shellcheck source=../lib/netns.sh
. "${MESH_SOURCE_DIR:-$here/../..}/tests/lib/netns.sh"

ns_require_root
ns_require_cmd wireguard-go wg ping python3

MESHD=${MESH_BUILD_DIR:-$here/../../build}/src/daemon/meshd
[[ -x $MESHD ]] || ns_skip "meshd not built at $MESHD"

SOCKDIR=/var/run/wireguard
sfx=$(printf '%06x%02x' $(($$ & 0xffffff)) $((RANDOM & 0xff)))
IFM=fm$sfx
IFG=fg$sfx
for i in "$IFM" "$IFG"; do
	ns_defer rm -f "$SOCKDIR/$i.sock"
done

# mesh (meshd) -- sw -- wggo (wireguard-go), attacker
ns_host mesh
ns_host wggo
ns_host attacker
ns_router sw
ns_link mesh sw 192.0.2.1/24 192.0.2.254/24
ns_link wggo sw 198.51.100.1/24 198.51.100.254/24
ns_link attacker sw 203.0.113.66/24 203.0.113.254/24
ns_exec mesh ip route add default via 192.0.2.254
ns_exec wggo ip route add default via 198.51.100.254
ns_exec attacker ip route add default via 203.0.113.254

for k in mesh wggo; do
	(umask 077 && wg genkey >"$NS_TMP/$k.key")
	wg pubkey <"$NS_TMP/$k.key" >"$NS_TMP/$k.pub"
done

ns_start mesh "$NS_TMP/meshd.log" "$MESHD" wireguard -f "$IFM"
MESHD_PID=$NS_PID
ns_wait 5 test -S "$SOCKDIR/$IFM.sock"
ns_exec mesh wg set "$IFM" private-key "$NS_TMP/mesh.key" listen-port 51820 \
	peer "$(cat "$NS_TMP/wggo.pub")" allowed-ips 10.9.0.2/32
ns_exec mesh ip addr add 10.9.0.1/24 dev "$IFM"
ns_exec mesh ip link set "$IFM" up

ns_start wggo "$NS_TMP/wggo.log" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$IFG"
ns_wait 5 test -S "$SOCKDIR/$IFG.sock"
ns_exec wggo wg set "$IFG" private-key "$NS_TMP/wggo.key" \
	peer "$(cat "$NS_TMP/mesh.pub")" allowed-ips 10.9.0.1/32 endpoint 192.0.2.1:51820
ns_exec wggo ip addr add 10.9.0.2/24 dev "$IFG"
ns_exec wggo ip link set "$IFG" up
ns_assert_ping wggo 10.9.0.1

# The flood: python3's hashlib has BLAKE2s, which is all a valid mac1 needs.
cat >"$NS_TMP/flood.py" <<'PY'
import base64, hashlib, os, socket, sys, time
pub = base64.b64decode(open(sys.argv[1]).read().strip())
key = hashlib.blake2s(b"mac1----" + pub).digest()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
start = time.monotonic()
for i in range(10000):
    body = b"\x01\x00\x00\x00" + os.urandom(112)
    mac1 = hashlib.blake2s(body, digest_size=16, key=key).digest()
    s.sendto(body + mac1 + b"\x00" * 16, ("192.0.2.1", 51820))
    if i % 500 == 0:
        time.sleep(0.005)  # a burst, not a kernel-buffer overflow test
elapsed = time.monotonic() - start
s.settimeout(0.5)
cookies = 0
try:
    while True:
        d = s.recv(2048)
        if len(d) == 64 and d[0] == 3:
            cookies += 1
except socket.timeout:
    pass
print(f"sent=10000 seconds={elapsed:.2f} cookie_replies_received={cookies}")
PY
ns_exec wggo ping -q -i 0.05 -c 200 10.9.0.1 >"$NS_TMP/ping.out" 2>&1 &
PING_PID=$!
ns_exec attacker python3 "$NS_TMP/flood.py" "$NS_TMP/mesh.pub" >"$NS_TMP/flood.out"
cat "$NS_TMP/flood.out"
ns_assert_match "the attacker got cookie replies" "$(cat "$NS_TMP/flood.out")" \
	'cookie_replies_received=[1-9][0-9]*'
wait "$PING_PID" || true
cat "$NS_TMP/ping.out"
loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$NS_TMP/ping.out")
ns_assert "the established peer kept working during the flood (loss ${loss}%)" \
	python3 -c "import sys; sys.exit(0 if float('$loss') <= 10 else 1)"
ns_assert_ping wggo 10.9.0.1
ns_assert "meshd is still alive" ns_alive "$MESHD_PID"

kill -TERM "$MESHD_PID"
ns_wait 5 eval '! ns_alive '"$MESHD_PID"
stats=$(grep -o 'cookie_replies=[0-9]*' "$NS_TMP/meshd.log" | tail -1)
ns_assert_match "meshd counted its cookie replies ($stats)" "$stats" 'cookie_replies=[1-9][0-9]*'
ns_done
