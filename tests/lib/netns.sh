# SPDX-License-Identifier: MIT
#
# netns.sh: network-namespace helpers for the integration, interop and bench tests.
#
# Source it from a bash test (after `set -euo pipefail`, which it is safe under):
#
#	. "${MESH_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/netns.sh"
#	ns_require_root
#
# Every namespace this file makes is named "$NS_TAG-NAME", where NS_TAG is unique to the run
# ("m<pid>x<4 hex>"), so parallel runs never collide. Interfaces are created directly inside their
# namespaces (never in the root namespace), so their names only have to be unique within one
# namespace; they default to the logical name of the other side, which is why logical names are
# limited to 15 characters (IFNAMSIZ - 1). Sourcing installs an EXIT/INT/TERM/HUP trap that runs
# the teardown: it kills only the processes started with ns_start (and their process groups),
# then whatever is still inside namespaces this run made, deletes those namespaces, the
# /etc/netns/<ns> directories it made and its temporary directory.
#
# Addresses: the "internet" uses documentation ranges (192.0.2.0/24, 198.51.100.0/24,
# 203.0.113.0/24, 198.18.0.0/15), LANs private ranges. Forwarding is only ever enabled inside
# router namespaces; nothing host-wide is changed. See tests/lib/README.md for the function list.

# Globals named NS_* (no double underscore) are for the tests that source this file.
# shellcheck disable=SC2034
[[ -n ${NS__LOADED:-} ]] && return 0
NS__LOADED=1

if ((BASH_VERSINFO[0] < 5)); then
	echo "netns.sh: needs bash >= 5" >&2
	exit 1
fi

NS_TAG="m${BASHPID}x$(printf '%04x' $((RANDOM & 0xffff)))"
NS_TAG_RE='m[0-9]+x[0-9a-f]{4}-'
NS_TEST_NAME=${NS_TEST_NAME:-$(basename "${0%.sh}")}
NS_PID=
NS_PASSED=0

declare -ga NS_HOSTS=()		# logical names of the namespaces made, in order
declare -gA NS__FULL=()		# logical name -> namespace name
declare -gA NS_ADDR=()		# "NAME" and "NAME@IFNAME" -> IPv4 address (no prefix)
declare -gA NS_NAT_KIND=()	# NAT box -> cone|symmetric|udp_block
declare -gA NS__LAN=()		# LAN -> "router network prefixlen router_address"
declare -gA NS__LANUSED=()	# LAN -> " used addresses "
declare -ga NS__PROCS=()	# PIDs started with ns_start and not yet stopped
declare -ga NS_STARTED=()	# every PID ever started with ns_start in this run
declare -gA NS__PSTART=()	# PID -> start time (clock ticks since boot), guards against reuse
declare -gA NS__PLOG=()		# PID -> log file
declare -gA NS__PDESC=()	# PID -> "NAME: command"
declare -ga NS__ETCDIRS=()	# /etc/netns/<ns> directories this run made
declare -ga NS__DEFERRED=()	# commands run first at teardown (last registered runs first)
NS__ETC_OWNED=0			# this teardown may remove an emptied /etc/netns
NS__FAILED=0
NS__ERRCMD=
NS__ERRLINE=

if [[ -t 1 ]]; then
	NS__CG=$'\e[32;1m' NS__CR=$'\e[31;1m' NS__CY=$'\e[33;1m' NS__CB=$'\e[36m' NS__C0=$'\e[0m'
else
	NS__CG='' NS__CR='' NS__CY='' NS__CB='' NS__C0=''
fi

NS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$NS_TAG.XXXXXX")

# ---------------------------------------------------------------------------------------------
# Output and assertions

ns_info()
{
	printf '%s[*] %s:%s %s\n' "$NS__CB" "$NS_TEST_NAME" "$NS__C0" "$*"
}

ns_pass()
{
	NS_PASSED=$((NS_PASSED + 1))
	printf '%s[+] %s: PASS%s %s\n' "$NS__CG" "$NS_TEST_NAME" "$NS__C0" "$*"
}

ns_fail()
{
	NS__FAILED=1
	printf '%s[!] %s: FAIL%s %s\n' "$NS__CR" "$NS_TEST_NAME" "$NS__C0" "$*" >&2
	exit 1
}

ns_skip()
{
	printf '%s[-] %s: SKIP%s %s\n' "$NS__CY" "$NS_TEST_NAME" "$NS__C0" "$*"
	exit 77
}

# Prints the closing "N passed, 0 failed" line and exits 0 (the teardown runs from the trap).
ns_done()
{
	printf '%s: %d passed, 0 failed\n' "$NS_TEST_NAME" "$NS_PASSED"
	exit 0
}

# Shows the tail of a command's output after a failed assertion.
ns__show_output()
{
	[[ -s $1 ]] || return 0
	echo "    --- output (last 20 lines) ---" >&2
	tail -n 20 "$1" | sed 's/^/    | /' >&2
}

# ns_assert DESC CMD...: CMD must succeed. Runs in this shell (side effects stay), output hidden
# unless it fails.
ns_assert()
{
	local desc=$1 out="$NS_TMP/.assert.out" rc=0
	shift
	"$@" >"$out" 2>&1 || rc=$?
	if ((rc != 0)); then
		ns__show_output "$out"
		ns_fail "$desc (exit $rc: $*)"
	fi
	ns_pass "$desc"
}

# ns_assert_fails DESC CMD...: CMD must fail.
ns_assert_fails()
{
	local desc=$1 out="$NS_TMP/.assert.out" rc=0
	shift
	"$@" >"$out" 2>&1 || rc=$?
	if ((rc == 0)); then
		ns__show_output "$out"
		ns_fail "$desc (unexpectedly succeeded: $*)"
	fi
	ns_pass "$desc"
}

ns_assert_eq()
{
	[[ $2 == "$3" ]] || ns_fail "$1 (got '$2', want '$3')"
	ns_pass "$1"
}

ns_assert_ne()
{
	[[ $2 != "$3" ]] || ns_fail "$1 (both are '$2')"
	ns_pass "$1"
}

# ns_assert_match DESC STRING ERE
ns_assert_match()
{
	[[ $2 =~ $3 ]] || ns_fail "$1 ('$2' does not match /$3/)"
	ns_pass "$1"
}

# ---------------------------------------------------------------------------------------------
# Requirements

ns__unmet()
{
	if [[ ${MESH_NETNS_STRICT:-0} == 1 ]]; then
		ns_fail "$* (MESH_NETNS_STRICT=1)"
	fi
	ns_skip "$*"
}

ns__pkg_of()
{
	case $1 in
	ip | ss | bridge) echo iproute2 ;;
	iptables | ip6tables) echo iptables ;;
	nft) echo nftables ;;
	conntrack) echo conntrack ;;
	socat) echo socat ;;
	nc) echo netcat-openbsd ;;
	ping) echo iputils-ping ;;
	setsid) echo util-linux ;;
	sysctl | pgrep) echo procps ;;
	*) echo "$1" ;;
	esac
}

# ns_require_cmd CMD...: skip (exit 77) naming the missing commands and their Debian packages.
ns_require_cmd()
{
	local c missing=()
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c ($(ns__pkg_of "$c"))")
	done
	((${#missing[@]} == 0)) || ns__unmet "missing commands: ${missing[*]}"
}

# ns_require_root: skip unless root and `ip netns` really works here.
ns_require_root()
{
	local probe="$NS_TAG-probe"
	((EUID == 0)) || ns__unmet "needs root for network namespaces"
	ns_require_cmd ip setsid sysctl
	if ! ip netns add "$probe" >/dev/null 2>&1; then
		ns__unmet "ip netns is unusable here"
	fi
	if ! ip netns exec "$probe" ip link set dev lo up >/dev/null 2>&1; then
		ip netns del "$probe" >/dev/null 2>&1 || true
		ns__unmet "ip netns exec is unusable here"
	fi
	ip netns del "$probe" || ns_fail "cannot delete probe namespace $probe"
}

# ---------------------------------------------------------------------------------------------
# Namespaces and links

ns__check_name()
{
	[[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,14}$ ]] ||
		ns_fail "bad name '$1': 1-15 characters of [A-Za-z0-9_-], not starting with - or _"
	case $1 in
	lo | all | default) ns_fail "bad name '$1': reserved interface name" ;;
	esac
}

ns__known()
{
	[[ -n ${NS__FULL[$1]+x} ]] || ns_fail "unknown namespace '$1' (make it with ns_host first)"
}

# ns_name NAME: prints the real namespace name (for `ip netns exec`, nsenter, logs).
ns_name()
{
	ns__known "$1"
	printf '%s\n' "${NS__FULL[$1]}"
}

# ns_host NAME: makes namespace NAME (no-op if this run made it already), loopback up.
ns_host()
{
	local full
	ns__check_name "$1"
	[[ -z ${NS__FULL[$1]+x} ]] || return 0
	full="$NS_TAG-$1"
	ip netns add "$full" || ns_fail "ip netns add $full"
	NS__FULL[$1]=$full
	NS_HOSTS+=("$1")
	ip -n "$full" link set dev lo up || ns_fail "loopback up in $full"
}

# ns_exec NAME CMD...: runs CMD inside namespace NAME (CMD must be a program, not a function).
ns_exec()
{
	ns__known "$1"
	ip netns exec "${NS__FULL[$1]}" "${@:2}"
}

# ns_sysctl NAME KEY=VALUE...: sets sysctls inside namespace NAME only.
ns_sysctl()
{
	ns__known "$1"
	ip netns exec "${NS__FULL[$1]}" sysctl -qw "${@:2}" || ns_fail "sysctl ${*:2} in $1"
}

# ns_router NAME: ns_host plus forwarding (IPv4 and IPv6) inside NAME; bridged frames are not
# passed to iptables there (the LAN bridge is a plain switch).
ns_router()
{
	ns_host "$1"
	ns_sysctl "$1" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# Only present when br_netfilter is loaded; per-namespace.
	ip netns exec "${NS__FULL[$1]}" sysctl -qew net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 \
		>/dev/null 2>&1 || true
}

ns__addr_add()
{
	local name=$1 ifname=$2 addr=$3 extra=()
	[[ $addr == */* ]] || ns_fail "address '$addr' needs a /prefix"
	[[ $addr == *:* ]] && extra=(nodad)
	ip -n "${NS__FULL[$name]}" addr add "$addr" dev "$ifname" "${extra[@]}" ||
		ns_fail "ip addr add $addr dev $ifname in $name"
	if [[ $addr != *:* ]]; then
		NS_ADDR[$name@$ifname]=${addr%/*}
		[[ -n ${NS_ADDR[$name]+x} ]] || NS_ADDR[$name]=${addr%/*}
	fi
}

# ns_link A B [ADDR_A/PFX|-] [ADDR_B/PFX|-] [IF_A] [IF_B]: a veth pair between namespaces A and B
# (made if missing), created directly inside them and brought up. The end in A is named IF_A
# (default B), the end in B is named IF_B (default A).
ns_link()
{
	local a=$1 b=$2 addr_a=${3:--} addr_b=${4:--} if_a=${5:-$2} if_b=${6:-$1}
	[[ $a != "$b" ]] || ns_fail "ns_link $a $b: both ends in one namespace"
	ns__check_name "$if_a"
	ns__check_name "$if_b"
	ns_host "$a"
	ns_host "$b"
	ip -n "${NS__FULL[$a]}" link add name "$if_a" type veth \
		peer name "$if_b" netns "${NS__FULL[$b]}" ||
		ns_fail "veth $a:$if_a <-> $b:$if_b"
	[[ $addr_a == - ]] || ns__addr_add "$a" "$if_a" "$addr_a"
	[[ $addr_b == - ]] || ns__addr_add "$b" "$if_b" "$addr_b"
	ip -n "${NS__FULL[$a]}" link set dev "$if_a" up || ns_fail "link up $a:$if_a"
	ip -n "${NS__FULL[$b]}" link set dev "$if_b" up || ns_fail "link up $b:$if_b"
}

# ns_addr NAME [IFNAME]: prints NAME's IPv4 address on IFNAME (a LAN name for ns_lan members), or
# its first IPv4 address.
ns_addr()
{
	local key=$1${2:+@$2}
	[[ -n ${NS_ADDR[$key]+x} ]] || ns_fail "no IPv4 address recorded for $key"
	printf '%s\n' "${NS_ADDR[$key]}"
}

ns__ip2int()
{
	local IFS=. o1 o2 o3 o4
	[[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || ns_fail "bad IPv4 address '$1'"
	read -r o1 o2 o3 o4 <<<"$1"
	o1=$((10#$o1)) o2=$((10#$o2)) o3=$((10#$o3)) o4=$((10#$o4))
	((o1 < 256 && o2 < 256 && o3 < 256 && o4 < 256)) || ns_fail "bad IPv4 address '$1'"
	NS__INT=$(((o1 << 24) | (o2 << 16) | (o3 << 8) | o4))
}

ns__int2ip()
{
	NS__IP="$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"
}

# ns_lan LAN ROUTER ADDR/PFX [HOST[=ADDR]]...: a LAN: bridge LAN inside ROUTER (made a router if
# needed) holding ADDR/PFX, then ns_lan_add for each HOST.
ns_lan()
{
	local lan=$1 router=$2 cidr=$3 raddr pfx mask net
	shift 3
	ns__check_name "$lan"
	[[ -z ${NS__LAN[$lan]+x} ]] || ns_fail "LAN $lan exists already"
	[[ $cidr == */* ]] || ns_fail "ns_lan $lan: '$cidr' needs a /prefix"
	raddr=${cidr%/*} pfx=${cidr#*/}
	if ! [[ $pfx =~ ^[0-9]+$ ]] || ((pfx < 8 || pfx > 30)); then
		ns_fail "ns_lan $lan: prefix /$pfx (8..30)"
	fi
	ns__ip2int "$raddr"
	mask=$(((0xffffffff << (32 - pfx)) & 0xffffffff))
	net=$((NS__INT & mask))
	ns_router "$router"
	ip -n "${NS__FULL[$router]}" link add name "$lan" type bridge ||
		ns_fail "bridge $lan in $router"
	ns__addr_add "$router" "$lan" "$cidr"
	ip -n "${NS__FULL[$router]}" link set dev "$lan" up || ns_fail "bridge $lan up"
	NS__LAN[$lan]="$router $net $pfx $raddr"
	NS__LANUSED[$lan]=" $NS__INT "
	(($# == 0)) || ns_lan_add "$lan" "$@"
}

# ns_lan_add LAN HOST[=ADDR]...: plugs hosts (made if missing) into LAN. A host's interface is
# named LAN, its router-side port HOST; without =ADDR it gets the next free address after the
# router's. A host with no default route yet gets one via the router.
ns_lan_add()
{
	local lan=$1 spec host addr router net pfx raddr a bcast
	shift
	[[ -n ${NS__LAN[$lan]+x} ]] || ns_fail "unknown LAN '$lan'"
	read -r router net pfx raddr <<<"${NS__LAN[$lan]}"
	bcast=$((net | (0xffffffff >> pfx)))
	for spec in "$@"; do
		host=${spec%%=*}
		ns__check_name "$host"
		[[ $host != "$lan" && $host != "$router" ]] ||
			ns_fail "ns_lan_add $lan: bad host '$host'"
		if [[ $spec == *=* ]]; then
			ns__ip2int "${spec#*=}"
			a=$NS__INT
		else
			ns__ip2int "$raddr"
			a=$NS__INT
			while [[ ${NS__LANUSED[$lan]} == *" $a "* ]]; do
				a=$((a + 1))
			done
		fi
		ns__int2ip "$a"
		addr=$NS__IP
		((a > net && a < bcast)) || ns_fail "LAN $lan: $addr is outside its hosts' range"
		[[ ${NS__LANUSED[$lan]} != *" $a "* ]] || ns_fail "LAN $lan: $addr is taken"
		NS__LANUSED[$lan]+="$a "
		ns_link "$host" "$router" "$addr/$pfx" - "$lan" "$host"
		ip -n "${NS__FULL[$router]}" link set dev "$host" master "$lan" ||
			ns_fail "enslave $host to $lan in $router"
		if [[ -z $(ip -n "${NS__FULL[$host]}" -4 route show default) ]]; then
			ip -n "${NS__FULL[$host]}" route add default via "$raddr" ||
				ns_fail "default route of $host via $raddr"
		fi
	done
}

# ns_nat NAME KIND [WANIF]: makes router NAME a NAT towards WANIF (default: the interface of its
# default route). KIND: cone (MASQUERADE: endpoint-independent mapping, source port kept when
# free), symmetric (MASQUERADE --random-fully: a new random port per destination), udp_block
# (cone, and every UDP packet forwarded through WANIF is dropped). Double NAT: two NAT boxes,
# the inner one a host on the outer one's LAN.
ns_nat()
{
	local name=$1 kind=$2 wan=${3:-} dflt ipt
	ns_router "$name"
	if [[ -z $wan ]]; then
		dflt=$(ip -n "${NS__FULL[$name]}" -4 route show default)
		[[ $dflt =~ dev\ ([^ ]+) ]] ||
			ns_fail "ns_nat $name: no default route to find the WAN by"
		wan=${BASH_REMATCH[1]}
	fi
	ip -n "${NS__FULL[$name]}" link show dev "$wan" >/dev/null 2>&1 ||
		ns_fail "ns_nat $name: no interface $wan"
	ipt=(ip netns exec "${NS__FULL[$name]}" iptables -w)
	case $kind in
	cone | udp_block)
		"${ipt[@]}" -t nat -A POSTROUTING -o "$wan" -j MASQUERADE ||
			ns_fail "MASQUERADE in $name"
		;;
	symmetric)
		"${ipt[@]}" -t nat -A POSTROUTING -o "$wan" -j MASQUERADE --random-fully ||
			ns_fail "MASQUERADE --random-fully in $name"
		;;
	*)
		ns_fail "ns_nat $name: unknown kind '$kind' (cone, symmetric, udp_block)"
		;;
	esac
	if [[ $kind == udp_block ]]; then
		"${ipt[@]}" -A FORWARD -o "$wan" -p udp -j DROP || ns_fail "UDP drop out in $name"
		"${ipt[@]}" -A FORWARD -i "$wan" -p udp -j DROP || ns_fail "UDP drop in in $name"
	fi
	NS_NAT_KIND[$name]=$kind
}

# ns_resolv NAME [NAMESERVER|"LINE WITH SPACES"]...: writes /etc/netns/<ns>/resolv.conf, which
# `ip netns exec` (so ns_exec and ns_start) binds over /etc/resolv.conf. Plain arguments become
# "nameserver ARG", others (e.g. "search mesh.test") are written as they are. Prints the path.
ns_resolv()
{
	local name=$1 dir arg e
	shift
	ns__known "$name"
	dir=/etc/netns/${NS__FULL[$name]}
	if [[ ! -d /etc/netns ]]; then
		mkdir /etc/netns 2>/dev/null && NS__ETC_OWNED=1
		[[ -d /etc/netns ]] || ns_fail "cannot make /etc/netns"
	elif ((NS__ETC_OWNED == 0 && ${#NS__ETCDIRS[@]} == 0)); then
		# Ours to remove once empty only if all it holds is other runs' namespaces.
		NS__ETC_OWNED=1
		for e in /etc/netns/* /etc/netns/.[!.]*; do
			[[ -e $e ]] || continue
			[[ ${e#/etc/netns/} =~ ^$NS_TAG_RE ]] || NS__ETC_OWNED=0
		done
		[[ -n $(ls -A /etc/netns) ]] || NS__ETC_OWNED=0
	fi
	if [[ ! -d $dir ]]; then
		mkdir "$dir" || ns_fail "mkdir $dir"
		NS__ETCDIRS+=("$dir")
	fi
	{
		echo "# $NS_TEST_NAME: resolver of namespace $name"
		for arg in "$@"; do
			if [[ $arg == *' '* ]]; then
				printf '%s\n' "$arg"
			else
				printf 'nameserver %s\n' "$arg"
			fi
		done
	} >"$dir/resolv.conf" || ns_fail "write $dir/resolv.conf"
	printf '%s\n' "$dir/resolv.conf"
}

# ---------------------------------------------------------------------------------------------
# Processes and polling

# Sets NS__STATE, NS__PGRP, NS__STIME from /proc/PID/stat; returns 1 if there is no such process.
ns__procinfo()
{
	local stat f
	NS__STATE='' NS__PGRP='' NS__STIME=''
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	read -r -a f <<<"${stat##*) }"
	NS__STATE=${f[0]} NS__PGRP=${f[2]} NS__STIME=${f[19]}
}

# True when PID is the very process ns_start started (same start time), zombie or not.
ns__ours()
{
	ns__procinfo "$1" || return 1
	[[ -n ${NS__PSTART[$1]:-} && ${NS__PSTART[$1]} == "$NS__STIME" ]]
}

# ns_alive PID: true while PID (started by ns_start) runs: it exists, is the same process (start
# time) as the one started, and is not a zombie.
ns_alive()
{
	ns__ours "$1" || return 1
	[[ $NS__STATE != Z && $NS__STATE != X ]]
}

# ns_start NAME LOGFILE CMD...: runs CMD inside NAME in the background, in its own session and
# process group, stdin from /dev/null, stdout+stderr to LOGFILE. The PID is left in NS_PID (call
# it directly, not in $(...)). Logs are shown when the test fails.
ns_start()
{
	local name=$1 log=$2
	shift 2
	ns__known "$name"
	(($# > 0)) || ns_fail "ns_start $name: no command"
	: >"$log" || ns_fail "ns_start $name: cannot write $log"
	if [[ $- == *m* ]]; then
		# Job control already puts each job in its own process group.
		ip netns exec "${NS__FULL[$name]}" "$@" </dev/null >"$log" 2>&1 &
	else
		# Not a group leader, so setsid(1) calls setsid() itself instead of forking: $! is
		# the program (ip netns exec execs it).
		setsid ip netns exec "${NS__FULL[$name]}" "$@" </dev/null >"$log" 2>&1 &
	fi
	NS_PID=$!
	NS__PROCS+=("$NS_PID")
	NS_STARTED+=("$NS_PID")
	NS__PLOG[$NS_PID]=$log
	NS__PDESC[$NS_PID]="$name: $*"
	if ns__procinfo "$NS_PID"; then
		NS__PSTART[$NS_PID]=$NS__STIME
	fi
}

# Sends SIG to PID's process group when PID leads one (as ns_start arranges), else to PID. Only
# while PID is still the process we started (running or an unreaped zombie): then its number,
# and so the group's id, cannot have been reused.
ns__signal()
{
	local pid=$1 sig=$2
	ns__ours "$pid" || return 0
	if [[ $NS__PGRP == "$pid" ]]; then
		kill -s "$sig" -- "-$pid" 2>/dev/null || true
	elif [[ $NS__STATE != Z ]]; then
		kill -s "$sig" "$pid" 2>/dev/null || true
	fi
}

# Polls (0.1 s) up to $2 tenths of a second for PID to stop running.
ns__gone_within()
{
	local pid=$1 n=$2
	while ((n-- > 0)); do
		ns_alive "$pid" || return 0
		sleep 0.1
	done
	! ns_alive "$pid"
}

# Sets NS__MEMBERS to "pid:starttime" of every process in process group $1.
ns__group_members()
{
	local d stat f
	NS__MEMBERS=()
	for d in /proc/[0-9]*; do
		read -r stat 2>/dev/null <"$d/stat" || continue
		read -r -a f <<<"${stat##*) }"
		[[ ${f[2]} == "$1" ]] && NS__MEMBERS+=("${d#/proc/}:${f[19]}")
	done
	return 0
}

# ns_stop PID [SIGNAL]: stops a process started with ns_start: SIGNAL (default TERM) to its group,
# up to 5 s to exit, then KILL to whatever of the group is left; reaps it. Only acts on PIDs
# ns_start recorded.
ns_stop()
{
	local pid=$1 sig=${2:-TERM} p m keep=()
	[[ -n ${NS__PDESC[$pid]+x} ]] || ns_fail "ns_stop: $pid was not started by ns_start"
	NS__MEMBERS=()
	if ns__ours "$pid" && [[ $NS__PGRP == "$pid" ]]; then
		ns__group_members "$pid"
	fi
	ns__signal "$pid" "$sig"
	ns__gone_within "$pid" 50 || true
	ns__signal "$pid" KILL
	# Group members seen before the signal, checked by start time (the leader may be reaped).
	for m in "${NS__MEMBERS[@]}"; do
		p=${m%%:*}
		if ns__procinfo "$p" && [[ $NS__STIME == "${m#*:}" && $NS__STATE != Z ]]; then
			kill -s KILL "$p" 2>/dev/null || true
		fi
	done
	ns__gone_within "$pid" 20 ||
		echo "netns.sh: PID $pid (${NS__PDESC[$pid]}) survived KILL" >&2
	wait "$pid" 2>/dev/null || true
	for p in "${NS__PROCS[@]}"; do
		[[ $p == "$pid" ]] || keep+=("$p")
	done
	NS__PROCS=("${keep[@]}")
}

ns__now_us()
{
	local t=${EPOCHREALTIME//[!0-9]/}
	NS__NOW=$((10#$t))
}

# ns_poll TIMEOUT CMD...: runs CMD every 0.1 s until it succeeds (return 0) or TIMEOUT seconds
# (fractions allowed) have passed (return 1). Keep each try short (e.g. ping -c1 -W1). CMD's
# output is kept in NS_POLL_OUT (last try) rather than printed.
ns_poll()
{
	local timeout=$1 i f deadline out="$NS_TMP/.poll.out"
	shift
	[[ $timeout =~ ^([0-9]+)(\.([0-9]+))?$ ]] || ns_fail "ns_poll: bad timeout '$timeout'"
	i=${BASH_REMATCH[1]} f=${BASH_REMATCH[3]}000000
	ns__now_us
	deadline=$((NS__NOW + 10#$i * 1000000 + 10#${f:0:6}))
	while :; do
		if "$@" >"$out" 2>&1; then
			NS_POLL_OUT=$(<"$out")
			return 0
		fi
		ns__now_us
		if ((NS__NOW >= deadline)); then
			NS_POLL_OUT=$(<"$out")
			return 1
		fi
		sleep 0.1
	done
}

# ns_wait TIMEOUT CMD...: ns_poll, and on timeout fail the test naming CMD and its last output.
ns_wait()
{
	local timeout=$1
	if ! ns_poll "$@"; then
		if [[ -n $NS_POLL_OUT ]]; then
			echo "    --- last try's output ---" >&2
			tail -n 10 <<<"$NS_POLL_OUT" | sed 's/^/    | /' >&2
		fi
		ns_fail "timed out after ${timeout}s waiting for: ${*:2}"
	fi
}

# ns_listening NAME tcp|udp PORT: true when something inside NAME listens on / is bound to PORT.
ns_listening()
{
	local opt=-Hltn
	[[ $2 == udp ]] && opt=-Hlun
	[[ -n $(ns_exec "$1" ss "$opt" "sport = :$3") ]]
}

# ns_ping NAME DEST: one ping from NAME, 1 s timeout (DEST may be IPv4 or IPv6).
ns_ping()
{
	ns_exec "$1" ping -n -q -c 1 -W 1 "$2" >/dev/null 2>&1
}

ns_assert_ping()
{
	ns_wait 5 ns_ping "$1" "$2"
	ns_pass "$1 reaches $2 (ping)"
}

ns_assert_no_ping()
{
	ns_assert_fails "$1 cannot reach $2 (ping)" ns_ping "$1" "$2"
}

# ---------------------------------------------------------------------------------------------
# Teardown

# ns_defer CMD...: runs CMD at teardown, before processes are stopped (last registered first).
ns_defer()
{
	local q
	printf -v q '%q ' "$@"
	NS__DEFERRED+=("$q")
}

ns__dump_logs()
{
	local pid log
	for pid in "${NS_STARTED[@]}"; do
		log=${NS__PLOG[$pid]:-}
		[[ -s $log ]] || continue
		echo "    --- log of PID $pid (${NS__PDESC[$pid]}): $log (last 30 lines) ---" >&2
		tail -n 30 "$log" | sed 's/^/    | /' >&2
	done
}

ns__teardown()
{
	local - i pid name full pids more left dir link links
	set +e
	for ((i = ${#NS__DEFERRED[@]} - 1; i >= 0; i--)); do
		eval "${NS__DEFERRED[i]}"
	done
	NS__DEFERRED=()
	for ((i = ${#NS__PROCS[@]} - 1; i >= 0; i--)); do
		ns_stop "${NS__PROCS[i]}"
	done
	# Anything still inside our namespaces was started by this run (e.g. `ns_exec X cmd &`).
	pids=()
	for name in "${NS_HOSTS[@]}"; do
		mapfile -t more < <(ip netns pids "${NS__FULL[$name]}" 2>/dev/null)
		pids+=("${more[@]}")
	done
	if ((${#pids[@]} > 0)); then
		kill -s TERM "${pids[@]}" 2>/dev/null
		for ((i = 0; i < 30; i++)); do
			left=()
			for pid in "${pids[@]}"; do
				ns__procinfo "$pid" && [[ $NS__STATE != Z ]] && left+=("$pid")
			done
			((${#left[@]} == 0)) && break
			sleep 0.1
		done
		((${#left[@]} == 0)) || kill -s KILL "${left[@]}" 2>/dev/null
	fi
	for ((i = ${#NS_HOSTS[@]} - 1; i >= 0; i--)); do
		full=${NS__FULL[${NS_HOSTS[i]}]}
		ip netns del "$full" 2>/dev/null ||
			echo "netns.sh: could not delete namespace $full" >&2
	done
	for dir in "${NS__ETCDIRS[@]}"; do
		[[ $dir == /etc/netns/"$NS_TAG"-* ]] && rm -rf -- "$dir"
	done
	((NS__ETC_OWNED)) && rmdir /etc/netns 2>/dev/null
	# We never make interfaces in the root namespace; remove any that carry our tag anyway.
	mapfile -t links < <(ip -o link show 2>/dev/null |
		awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')
	for link in "${links[@]}"; do
		[[ $link == "$NS_TAG"* ]] && ip link del dev "$link" 2>/dev/null
	done
	NS_HOSTS=() NS__PROCS=() NS__ETCDIRS=() NS__ETC_OWNED=0
	NS__FULL=() NS_ADDR=() NS_NAT_KIND=() NS__LAN=() NS__LANUSED=()
	return 0
}

# ns_cleanup: tears down everything this run made so far (also run automatically on exit). The
# library stays usable afterwards (a fresh NS_TMP is made).
ns_cleanup()
{
	ns__teardown
	rm -rf -- "$NS_TMP"
	NS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$NS_TAG.XXXXXX")
}

ns__on_exit()
{
	local rc=$?
	trap - EXIT INT TERM HUP ERR
	if ((rc != 0 && rc != 77 && NS__FAILED == 0)); then
		printf '%s[!] %s: FAIL%s exit status %d%s\n' "$NS__CR" "$NS_TEST_NAME" "$NS__C0" \
			"$rc" "${NS__ERRCMD:+ after line $NS__ERRLINE: $NS__ERRCMD}" >&2
	fi
	ns__teardown
	((rc == 0 || rc == 77)) || ns__dump_logs
	[[ -n ${NS_KEEP_TMP:-} ]] || rm -rf -- "$NS_TMP"
	exit "$rc"
}

ns__on_signal()
{
	trap - INT TERM HUP
	echo "[!] $NS_TEST_NAME: interrupted (signal), cleaning up" >&2
	NS__FAILED=1
	exit "$1"
}

ns__on_err()
{
	NS__ERRLINE=$1 NS__ERRCMD=$2
}

trap ns__on_exit EXIT
trap 'ns__on_signal 130' INT
trap 'ns__on_signal 143' TERM
trap 'ns__on_signal 129' HUP
trap 'ns__on_err "$LINENO" "$BASH_COMMAND"' ERR
