#!/usr/bin/env bash
# The one test command (README, CI): install what is missing, configure,
# build with -Werror, run ctest (unit + integration + interop + fuzz corpora;
# benchmarks are excluded). Exit status is ctest's.
#
#   sudo tests/run.sh                 normal build in build/
#   sudo tests/run.sh --sanitize      ASan + UBSan (+ LeakSanitizer) in build-sanitize/
#   sudo tests/run.sh [--] ARGS...    extra arguments go to ctest (e.g. -L unit, -R wg)
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$src/build"
cmake_args=(-DMESH_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
ctest_args=()

while [ $# -gt 0 ]; do
	case "$1" in
	--sanitize)
		build="$src/build-sanitize"
		cmake_args+=(-DMESH_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug)
		;;
	--) shift; ctest_args+=("$@"); break ;;
	-h|--help)
		sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) ctest_args+=("$1") ;;
	esac
	shift
done

# Build dependencies and the programs the interop/integration tests drive.
packages=(
	build-essential cmake pkg-config git
	libsodium-dev libuv1-dev libcjson-dev libsqlite3-dev libmbedtls-dev
	libhttp-parser-dev libmnl-dev libnftables-dev libcmocka-dev
	clang libclang-rt-14-dev
	iproute2 iputils-ping iptables nftables conntrack procps psmisc kmod util-linux
	wireguard-go wireguard-tools iperf3 dnsutils dnsmasq-base stun-client
	openssh-server openssh-client socat netcat-openbsd curl openssl python3
	scdoc lintian zsh bash-completion man-db systemd jq
)

install_packages() {
	local missing=() p
	for p in "${packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "run.sh: missing packages (run as root to install): ${missing[*]}" >&2
		return 0
	fi
	echo "run.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# No recommends: wireguard-tools would otherwise pull in a kernel image.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_packages

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$src" -B "$build" "${cmake_args[@]}"
cmake --build "$build" --parallel "$jobs"

# As root, a missing tool fails a namespace test instead of skipping it, so a
# missing install step cannot hide behind a green run.
if [ "$(id -u)" -eq 0 ]; then
	export MESH_NETNS_STRICT=1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec ctest --test-dir "$build" --output-on-failure --parallel "$jobs" -LE bench "${ctest_args[@]}"
