#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The main job in one command: build meshd and bring up a small tailnet in network
# namespaces on this machine, with the real programs, then show it at work.
#
#   sudo packaging/demo.sh            run the demo, then wait (Ctrl-C tears it down)
#   sudo packaging/demo.sh --no-wait  run the demo and tear it down at once
#
# Nothing leaves the namespaces it creates: the "internet" is made of documentation
# address ranges that exist only inside them.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wait_at_end=1
case "${1:-}" in
--no-wait) wait_at_end=0 ;;
"") ;;
-h | --help)
	sed -n '4,11p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "usage: sudo packaging/demo.sh [--no-wait]" >&2
	exit 2
	;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: run as root (sudo packaging/demo.sh): it creates network namespaces" >&2
	exit 1
fi

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# ---- build ----------------------------------------------------------------------------------
deps=(build-essential cmake pkg-config libsodium-dev libuv1-dev libcjson-dev libsqlite3-dev
	libmbedtls-dev libhttp-parser-dev libmnl-dev libnftables-dev iproute2 iptables
	iputils-ping socat openssh-server openssh-client python3 procps)
missing=()
for p in "${deps[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing what the demo needs: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
build=${DEMO_BUILD_DIR:-$src/build-demo}
if [ -z "${DEMO_BUILD_DIR:-}" ]; then
	say "building meshd (Release) in $build"
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	cmake --build "$build" --parallel "$(nproc)" >/dev/null
fi
MESHD=$build/src/daemon/meshd
MESHCTL=$build/cli/meshctl
MESHCONTROL=$build/src/server/meshcontrol

# ---- the network ----------------------------------------------------------------------------
NS_TEST_NAME=demo
# shellcheck source=../tests/lib/netns.sh
. "$src/tests/lib/netns.sh"

say "building the network (network namespaces; nothing here reaches the real internet)"
ns_router inet
ns_lan wan inet 198.18.0.1/15 homenat officenat
ns_lan pub inet 203.0.113.1/24 cloud=203.0.113.10 exit=203.0.113.20 web=203.0.113.80
ns_lan home homenat 10.1.0.1/24 laptop
ns_nat homenat cone
ns_lan office officenat 10.2.0.1/24 server subnetrt
ns_nat officenat cone
ns_lan printers subnetrt 192.168.50.1/24 printer=192.168.50.50
# Like real home routers: the NAT boxes refuse new connections to themselves from outside
# (without this, a peer's first hole-punching packet is taken as addressed to the box).
for nat in homenat officenat; do
	ns_exec "$nat" iptables -w -A INPUT -i wan -m conntrack --ctstate NEW -j DROP
done
note "laptop 10.1.0.2 behind the home NAT; server 10.2.0.2 and a subnet router 10.2.0.3"
note "behind the office NAT; a printer LAN 192.168.50.0/24 behind the subnet router;"
note "an exit node, the control server and a web host on the public side (203.0.113.0/24)."

sfx=$(printf '%04x' $((($$ ^ RANDOM) & 0xffff)))
NODES=(laptop server subnetrt exit)
declare -A SOCK TUN
i=0
for n in "${NODES[@]}"; do
	i=$((i + 1))
	SOCK[$n]=$NS_TMP/$n.sock
	TUN[$n]=mesh$sfx$i
	ns_defer rm -f "/var/run/wireguard/${TUN[$n]}.sock"
done
ctl() { local n=$1; shift; ns_exec "$n" "$MESHCTL" --socket "${SOCK[$n]}" "$@"; }
whoami() { echo hi | ns_exec "$1" timeout 3 socat - "TCP:$2:80" 2>/dev/null; }

# "Who are you?" web servers on the web host and the printer.
for h in web printer; do
	ns_start "$h" "$NS_TMP/$h.log" socat TCP-LISTEN:80,fork,reuseaddr \
		'SYSTEM:read -r req; echo "you are $SOCAT_PEERADDR"'
done

say "starting meshcontrol in the cloud (coordination server with an embedded relay and STUN)"
URL=http://203.0.113.10:8080
cat >"$NS_TMP/control.json" <<EOF
{
	"server_url": "$URL",
	"listen": "203.0.113.10:8080",
	"database": {"type": "sqlite", "path": "$NS_TMP/control/db.sqlite"},
	"admin_socket": "$NS_TMP/control/admin.sock",
	"base_domain": "mesh.internal",
	"relay": {"enabled": true, "region_id": 900, "region_code": "home",
		  "stun_listen": "203.0.113.10:3478"},
}
EOF
mc() { "$MESHCONTROL" --config "$NS_TMP/control.json" "$@"; }
ns_start cloud "$NS_TMP/control.log" "$MESHCONTROL" serve --config "$NS_TMP/control.json"
ns_wait 10 test -S "$NS_TMP/control/admin.sock"
mc users create alice >/dev/null
KEY=$(mc authkeys create --user alice --reusable | tail -n 1)
note "user alice, reusable auth key ${KEY:0:18}..."

say "starting meshd on the laptop, the server, the subnet router and the exit node"
declare -A FLAGS=(
	[laptop]="--accept-routes"
	[server]=""
	[subnetrt]="--advertise-routes 192.168.50.0/24"
	[exit]="--advertise-exit-node"
)
for n in "${NODES[@]}"; do
	ns_resolv "$n" 203.0.113.53 >/dev/null
	ns_start "$n" "$NS_TMP/$n.log" "$MESHD" --state-dir "$NS_TMP/$n.state" \
		--socket "${SOCK[$n]}" --tun "${TUN[$n]}"
	ns_wait 10 test -S "${SOCK[$n]}"
	# shellcheck disable=SC2086
	ctl "$n" up --login-server "$URL" --auth-key "$KEY" --hostname "$n" ${FLAGS[$n]} --timeout 30s
	note "$n: meshctl up ${FLAGS[$n]} -> $(ctl "$n" ip -4)"
done
mc routes approve subnetrt 192.168.50.0/24 >/dev/null
mc routes approve exit 0.0.0.0/0 ::/0 >/dev/null
note "approved: 192.168.50.0/24 via subnetrt, exit node 'exit'"

say "meshctl status (on the laptop)"
ns_wait 20 sh -c "ip netns exec $(ns_name laptop) $MESHCTL --socket ${SOCK[laptop]} status --json | python3 -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)[\"peers\"]) == 3 else 1)'"
ctl laptop status

say "meshctl netcheck (on the laptop): what its NAT looks like from outside"
ctl laptop netcheck || true

say "meshctl ping server: the first pongs may come through the relay, then directly"
ctl laptop ping -c 20 server || true

say "ssh server, by its MagicDNS name"
ssh-keygen -q -t ed25519 -N '' -f "$NS_TMP/id" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$NS_TMP/host" >/dev/null
cp "$NS_TMP/id.pub" "$NS_TMP/authorized_keys"
mkdir -p /run/sshd
cat >"$NS_TMP/sshd_config" <<EOF
Port 22
HostKey $NS_TMP/host
AuthorizedKeysFile $NS_TMP/authorized_keys
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $NS_TMP/sshd.pid
EOF
ns_start server "$NS_TMP/sshd.log" /usr/sbin/sshd -D -e -f "$NS_TMP/sshd_config"
ns_wait 5 ns_listening server tcp 22
note "\$ ssh server 'echo hello from \$(ip -4 -brief addr show ${TUN[server]})'"
ns_wait 20 ns_exec laptop ssh -i "$NS_TMP/id" -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=3 root@server \
	"echo hello from \$(ip -4 -brief addr show ${TUN[server]})"
ns_exec laptop ssh -i "$NS_TMP/id" -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@server \
	"echo hello from \$(ip -4 -brief addr show ${TUN[server]})"

say "the printer on the office LAN, through the subnet router (192.168.50.50)"
ns_wait 20 sh -c "echo hi | ip netns exec $(ns_name laptop) timeout 3 socat - TCP:192.168.50.50:80 >/dev/null 2>&1"
note "printer says: $(whoami laptop 192.168.50.50)   (the subnet router's LAN address: SNAT)"

say "the web host's view of the laptop, before and after choosing the exit node"
note "before: $(whoami laptop 203.0.113.80)   (the home NAT's address)"
ctl laptop set --exit-node exit
ns_wait 20 sh -c "echo hi | ip netns exec $(ns_name laptop) timeout 3 socat - TCP:203.0.113.80:80 2>/dev/null | grep -q 203.0.113.20"
note "after:  $(whoami laptop 203.0.113.80)   (the exit node's address)"
ctl laptop set --exit-node=

say "done"
if [ "$wait_at_end" = 1 ]; then
	note "The tailnet stays up. In another terminal, enter a node and try things:"
	note "  sudo ip netns exec $(ns_name laptop) bash"
	note "  then: $MESHCTL --socket ${SOCK[laptop]} status"
	note "Press Ctrl-C here to tear everything down."
	while :; do sleep 3600; done
fi
note "tearing down (--no-wait)"
