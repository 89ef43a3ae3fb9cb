#!/bin/bash
# SPDX-License-Identifier: MIT
#
# package.sh: the .deb, built and checked without ever installing it on this system.
#
#  1. configure a throwaway build dir (prefix /usr, Debian's hardening flags), build, cpack -G DEB;
#  2. dpkg-deb -I: name, section, Depends derived by dpkg-shlibdeps, maintainer scripts, conffiles;
#  3. dpkg-deb -c: every file in its Debian place, owned by root, nothing under /usr/local or /usr/etc;
#  4. dpkg -x into a temp root: man pages gzip -9n and rendering without warnings, the programs
#     run, the example config passes configtest, systemd-analyze verify on the units (in a private
#     mount namespace where the temp root's /usr is overlaid on ours);
#  5. the completion scripts, with a stub meshctl/meshcontrol answering the name lookups;
#  6. the maintainer scripts: against the temp root through $DPKG_ROOT with the real
#     deb-systemd-helper and systemd-sysusers, and on the live paths inside a private mount
#     namespace whose /run and /var/lib are tmpfs, with every system command stubbed;
#  7. lintian, if installed: its tags are printed; errors fail, warnings do not;
#  8. docs/man/regen.sh --check, if scdoc is installed.
# Exit 77 (skip) without cmake/cpack/dpkg-deb/dpkg-shlibdeps.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${MESH_SOURCE_DIR:-$(cd "$here/../.." && pwd)}

for tool in cmake cpack dpkg-deb dpkg-shlibdeps dpkg-buildflags gzip; do
	command -v "$tool" >/dev/null || {
		echo "package: $tool not installed, skipping"
		exit 77
	}
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mesh-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
pass() { checks=$((checks + 1)); echo "ok   $*"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $*"; }
check() { # check DESCRIPTION COMMAND...: pass if the command succeeds
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
has_line() { grep -qxF -- "$1" "$2"; }

# ---- 1. build ----------------------------------------------------------------------------
build=$tmp/build
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
echo "== building in a throwaway dir (Release, prefix /usr)"
if ! CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)" \
	LDFLAGS="$(dpkg-buildflags --get LDFLAGS)" \
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
	-DBUILD_TESTING=OFF >"$tmp/configure.log" 2>&1; then
	cat "$tmp/configure.log"
	echo "FAIL cmake configure"
	exit 1
fi
if ! cmake --build "$build" --parallel "$(nproc)" >"$tmp/build.log" 2>&1; then
	tail -50 "$tmp/build.log"
	echo "FAIL build"
	exit 1
fi
if ! (cd "$build" && cpack -G DEB) >"$tmp/cpack.log" 2>&1; then
	cat "$tmp/cpack.log"
	echo "FAIL cpack -G DEB"
	exit 1
fi
arch=$(dpkg --print-architecture)
version=$(sed -n 's/^project(meshd VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
deb=$build/meshd_${version}-1_${arch}.deb
check "cpack made $(basename "$deb")" test -f "$deb"
[[ -f $deb ]] || exit 1

# A /usr/local build must be refused rather than packaged with /usr/local/etc.
if (cd "$build" && cpack -G DEB -D CPACK_MESH_INSTALL_PREFIX=/usr/local) >"$tmp/refuse.log" 2>&1; then
	fail "cpack refuses a build whose install prefix is not /usr"
else
	check "cpack refuses a build whose install prefix is not /usr" \
		grep -q 'needs a build configured with -DCMAKE_INSTALL_PREFIX=/usr' "$tmp/refuse.log"
fi

# ---- 2. control ---------------------------------------------------------------------------
dpkg-deb -I "$deb" >"$tmp/info"
field() { dpkg-deb -f "$deb" "$1"; }
check "Package: meshd" test "$(field Package)" = meshd
check "Version: ${version}-1" test "$(field Version)" = "${version}-1"
check "Architecture: $arch" test "$(field Architecture)" = "$arch"
check "Section: net" test "$(field Section)" = net
check "Maintainer is set" grep -q '<.*@.*>' <<<"$(field Maintainer)"
depends=$(field Depends)
echo "     Depends: $depends"
# Each library the programs link must appear, versioned: dpkg-shlibdeps wrote it, not a list.
for lib in libc6 libsodium23 libuv1 libcjson1 libsqlite3-0 libmbedtls14 libhttp-parser2.9 \
	libmnl0 libnftables1; do
	check "Depends has $lib (>= ...) from dpkg-shlibdeps" \
		grep -Eq "(^|, )$lib \(>= [^)]+\)(,|$)" <<<"$depends"
done
for member in postinst prerm postrm conffiles md5sums; do
	check "control member $member" grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines .* $member( |$)" "$tmp/info"
done
ctl=$tmp/control
dpkg-deb -e "$deb" "$ctl"
for script in postinst prerm postrm; do
	check "$script is mode 0755" test "$(stat -c %a "$ctl/$script")" = 755
	check "$script is valid POSIX sh" sh -n "$ctl/$script"
done
check "conffiles is mode 0644" test "$(stat -c %a "$ctl/conffiles")" = 644
check "conffiles lists exactly /etc/default/meshd and /etc/default/meshrelay" \
	test "$(sort "$ctl/conffiles" | tr '\n' ' ')" = "/etc/default/meshd /etc/default/meshrelay "

# ---- 3. contents ---------------------------------------------------------------------------
dpkg-deb -c "$deb" >"$tmp/contents"
awk '{ sub(/^\./, "", $6); print $6 }' "$tmp/contents" | sed 's|/$||' | grep . >"$tmp/paths"
for f in /usr/sbin/meshd /usr/bin/meshctl /usr/bin/meshcontrol /usr/bin/meshrelay \
	/lib/systemd/system/meshd.service /lib/systemd/system/meshcontrol.service \
	/lib/systemd/system/meshrelay.service /usr/lib/sysusers.d/meshcontrol.conf \
	/etc/default/meshd /etc/default/meshrelay \
	/usr/share/man/man1/meshctl.1.gz /usr/share/man/man8/meshd.8.gz \
	/usr/share/man/man8/meshcontrol.8.gz /usr/share/man/man8/meshrelay.8.gz \
	/usr/share/bash-completion/completions/meshctl \
	/usr/share/bash-completion/completions/meshcontrol \
	/usr/share/zsh/vendor-completions/_meshctl /usr/share/zsh/vendor-completions/_meshcontrol \
	/usr/share/doc/meshd/copyright /usr/share/doc/meshd/changelog.Debian.gz \
	/usr/share/doc/meshd/examples/meshcontrol.example.json; do
	check "ships $f" has_line "$f" "$tmp/paths"
done
while read -r f; do
	check "conffile $f is in the package" has_line "$f" "$tmp/paths"
done <"$ctl/conffiles"
check "nothing under /usr/local, /usr/etc or /usr/lib/systemd" \
	bash -c "! grep -Eq '^/usr/(local|etc)(/|$)|^/usr/lib/systemd/system' '$tmp/paths'"
check "every file is owned by root/root" \
	bash -c "awk '{print \$2}' '$tmp/contents' | sort -u | grep -qx root/root && \
		test \"\$(awk '{print \$2}' '$tmp/contents' | sort -u | wc -l)\" = 1"
check "the programs are executable (0755)" \
	bash -c "grep -E '/(s?bin)/mesh' '$tmp/contents' | awk '{print \$1}' | sort -u | grep -qx -- -rwxr-xr-x"

# ---- 4. the files themselves -----------------------------------------------------------------
root=$tmp/root
mkdir -p "$root"
dpkg -x "$deb" "$root"
for page in man1/meshctl.1 man8/meshd.8 man8/meshcontrol.8 man8/meshrelay.8 \
	../doc/meshd/changelog.Debian; do
	gz=$root/usr/share/man/$page.gz
	# gzip header: FLG (byte 3) without FNAME (0x08), MTIME (bytes 4-7) zero, XFL (byte 8) 2 = -9.
	hdr=$(od -An -tu1 -N9 "$gz" | tr -s ' ')
	check "${page##*/}.gz is gzip -9n (header:$hdr)" \
		bash -c "set -- $hdr; [[ \$1 == 31 && \$2 == 139 && \$((\$4 & 8)) == 0 && \
			\$5\$6\$7\$8 == 0000 && \$9 == 2 ]]"
done
if command -v man >/dev/null; then
	for page in "$root"/usr/share/man/man*/*.gz; do
		warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || echo "man failed")
		check "man -l ${page##*/} renders without warnings${warnings:+: $warnings}" test -z "$warnings"
		for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" FILES EXAMPLES "SEE ALSO"; do
			MANWIDTH=80 man -l "$page" 2>/dev/null | grep -qx "$section" ||
				fail "${page##*/} has no $section section"
		done
	done
fi
for prog in usr/sbin/meshd usr/bin/meshctl usr/bin/meshcontrol usr/bin/meshrelay; do
	check "/$prog --version runs" \
		bash -c "'$root/$prog' --version | grep -qx '${prog##*/} $version'"
done
example=$root/usr/share/doc/meshd/examples/meshcontrol.example.json
check "the example config passes meshcontrol configtest" \
	"$root/usr/bin/meshcontrol" configtest --config "$example"
sed 's/"listen"/"lisen"/' "$example" >"$tmp/bad.json"
code=0
"$root/usr/bin/meshcontrol" configtest --config "$tmp/bad.json" >/dev/null 2>&1 || code=$?
check "a misspelt key in it makes configtest exit 78" test "$code" = 78
check "/etc/default/meshrelay sets FLAGS and is valid sh" sh -n "$root/etc/default/meshrelay"
check "/etc/default/meshd sets PORT" grep -q '^PORT=' "$root/etc/default/meshd"

if command -v systemd-analyze >/dev/null && unshare -m --propagation private true 2>/dev/null; then
	# Overlay the package's /usr on ours, in a mount namespace of our own: systemd-analyze
	# then finds the ExecStart binaries, and man (via MANPATH) the Documentation= pages.
	# shellcheck disable=SC2016 # $1 is expanded by the inner sh
	if out=$(unshare -m --propagation private sh -c '
		mount -t overlay overlay -o "lowerdir=$1/usr:/usr" /usr || exit 99
		MANPATH=$1/usr/share/man: systemd-analyze verify \
			"$1"/lib/systemd/system/meshd.service \
			"$1"/lib/systemd/system/meshcontrol.service \
			"$1"/lib/systemd/system/meshrelay.service' sh "$root" 2>&1); then
		pass "systemd-analyze verify: the three units"
	elif [[ $out == *"exit 99"* ]] || ! grep -q . <<<"$out"; then
		echo "skip systemd-analyze verify (no overlayfs here)"
	else
		fail "systemd-analyze verify: $out"
	fi
else
	echo "skip systemd-analyze verify (no systemd-analyze or no mount namespaces)"
fi

# ---- 5. completion --------------------------------------------------------------------------
stubs=$tmp/stubs
mkdir -p "$stubs"
cat >"$stubs/meshctl" <<'EOF'
#!/bin/sh
# stub: the status object of a node with two peers
echo '{"backend_state":"Running","self":{"name":"laptop","addresses":["100.64.0.1"]},"peers":[{"name":"server","addresses":["100.64.0.2","fd7a:115c:a1e0::2"]},{"name":"router","addresses":["100.64.0.3"]}]}'
EOF
cat >"$stubs/meshcontrol" <<'EOF'
#!/bin/sh
# stub: "users list --json" and "nodes list --json", wherever --config is
for a; do
	case $a in
	users) echo '[{"id": 1, "name": "alice"}, {"id": 2, "name": "bob"}]'; exit 0 ;;
	nodes) echo '[{"id": 1, "name": "laptop"}, {"id": 2, "name": "server"}]'; exit 0 ;;
	esac
done
exit 1
EOF
chmod +x "$stubs/meshctl" "$stubs/meshcontrol"
# bash_complete FILE FUNC WORD...: the completions bash offers when the cursor ends the last word.
bash_complete() {
	PATH=$stubs:$PATH bash -c '
		source "$1"; func=$2; shift 2
		COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
		$func
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' sh "$@"
}
bc=$root/usr/share/bash-completion/completions
expect_bash() { # expect_bash WANT FILE FUNC WORD...
	local want=$1 got
	shift
	got=$(bash_complete "$@")
	if [[ $got == "$want" ]]; then pass "bash: ${*:3} -> $want"; else fail "bash: ${*:3}: got '$got', want '$want'"; fi
}
check "bash -n meshctl completion" bash -n "$bc/meshctl"
check "bash -n meshcontrol completion" bash -n "$bc/meshcontrol"
expect_bash "set status " "$bc/meshctl" _meshctl meshctl s
expect_bash "--exit-node --exit-node-allow-lan-access " "$bc/meshctl" _meshctl meshctl up --ex
expect_bash "false true " "$bc/meshctl" _meshctl meshctl set --accept-dns = ""
expect_bash "router server " "$bc/meshctl" _meshctl meshctl ping ""
expect_bash "server " "$bc/meshctl" _meshctl meshctl --socket /x ip -4 s
expect_bash "router server " "$bc/meshctl" _meshctl meshctl up --exit-node ""
expect_bash "100.64.0.2 100.64.0.3 fd7a:115c:a1e0::2 " "$bc/meshctl" _meshctl meshctl whois ""
expect_bash "--help --json --socket " "$bc/meshctl" _meshctl meshctl status --
expect_bash "delete expire list register rename " "$bc/meshcontrol" _meshcontrol meshcontrol nodes ""
expect_bash "laptop server " "$bc/meshcontrol" _meshcontrol meshcontrol -c /x routes approve ""
expect_bash "alice bob " "$bc/meshcontrol" _meshcontrol meshcontrol authkeys create --user ""
expect_bash "--config --help --json " "$bc/meshcontrol" _meshcontrol meshcontrol users list --

if command -v zsh >/dev/null && zsh -fc 'zmodload zsh/zpty' 2>/dev/null; then
	check "zsh -n _meshctl" zsh -n "$root/usr/share/zsh/vendor-completions/_meshctl"
	check "zsh -n _meshcontrol" zsh -n "$root/usr/share/zsh/vendor-completions/_meshcontrol"
	# Drive an interactive zsh in a pty: complete the line, print the candidates.
	cat >"$tmp/capture.zsh" <<'EOF'
zmodload zsh/zpty
fpathdir=$1; shift
zpty z zsh -f -i
zpty -w z "PROMPT= RPROMPT=; fpath=($fpathdir \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' list-separator ''"
# The markers are spelt so that the typed (and echoed) lines never contain them.
zpty -w z "zstyle ':completion:*:default' list-colors 'no=<'C'>' 'lc=' 'rc=' 'ec=</'C'>'"
zpty -w z "zstyle ':completion:*:messages' format ''; zstyle ':completion:*:descriptions' format ''"
zpty -w z "zstyle ':completion:*' verbose no; zstyle ':completion:*' insert-tab false"
zpty -w z "comppostfuncs=(_cap); _cap() { compstate[list]='list force'; compstate[insert]=''; compstate[list_max]=1000 }"
zpty -w z "print -r -- '<BEG'IN'>'"
zpty -w z "$*"$'\t'
out=
integer n=0
while (( n++ < 200 )); do
	if zpty -r -t z line; then out+=$line; else sleep 0.05; fi
	if [[ $out == *'<BEGIN>'*'</C>'* ]]; then
		sleep 0.3
		while zpty -r -t z line; do out+=$line; done
		break
	fi
done
zpty -d z
out=${out#*<BEGIN>}
print -rl -- ${(M)${(f)${out//<\/C>/$'\n'}}:#*<C>*} | sed -e 's/.*<C>//' -e 's/[[:space:]]*$//' | sort -u | tr '\n' ' '
EOF
	expect_zsh() { # expect_zsh WANT LINE
		local got
		got=$(cd "$tmp" && PATH=$stubs:$PATH timeout 30 zsh -f "$tmp/capture.zsh" \
			"$root/usr/share/zsh/vendor-completions" "$2" 2>/dev/null) || true
		if [[ $got == "$1" ]]; then pass "zsh: '$2' -> $1"; else fail "zsh: '$2': got '$got', want '$1'"; fi
	}
	expect_zsh "down help ip logout netcheck ping set status up version whois " "meshctl "
	expect_zsh "--exit-node --exit-node-allow-lan-access " "meshctl up --ex"
	expect_zsh "false true " "meshctl set --accept-dns="
	expect_zsh "router server " "meshctl ping "
	expect_zsh "delete expire list register rename " "meshcontrol --config /x nodes "
	expect_zsh "laptop server " "meshcontrol routes approve "
else
	echo "skip zsh completion (zsh with zsh/zpty not installed)"
fi

# ---- 6. maintainer scripts ----------------------------------------------------------------------
passwd_before=$(sha256sum /etc/passwd /etc/group)
# 6a. Against the temp root, the way dpkg --root runs them: $DPKG_ROOT set, real helpers.
if command -v deb-systemd-helper >/dev/null; then
	log=$tmp/calls.log
	mkdir -p "$tmp/dpkgroot-stubs"
	for cmd in systemctl deb-systemd-invoke; do
		printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$cmd" "$log" >"$tmp/dpkgroot-stubs/$cmd"
		chmod +x "$tmp/dpkgroot-stubs/$cmd"
	done
	run_script() { # run_script SCRIPT ARGS...
		DPKG_ROOT=$root PATH=$tmp/dpkgroot-stubs:$PATH DPKG_MAINTSCRIPT_PACKAGE=meshd \
			sh "$ctl/$1" "${@:2}"
	}
	wants=$root/etc/systemd/system/multi-user.target.wants
	check "DPKG_ROOT: postinst configure succeeds" run_script postinst configure
	check "DPKG_ROOT: meshd.service is enabled" test -L "$wants/meshd.service"
	check "DPKG_ROOT: meshcontrol.service is not enabled" test ! -e "$wants/meshcontrol.service"
	check "DPKG_ROOT: meshrelay.service is not enabled" test ! -e "$wants/meshrelay.service"
	if command -v systemd-sysusers >/dev/null; then
		check "DPKG_ROOT: the meshcontrol system user exists, with no login shell" \
			grep -Eq '^meshcontrol:x:[0-9]+:[0-9]+:[^:]*:/var/lib/meshcontrol:/(usr/)?s?bin/nologin$' \
			"$root/etc/passwd"
		uid=$(awk -F: '$1 == "meshcontrol" { print $3 }' "$root/etc/passwd")
		check "DPKG_ROOT: it is a system user (uid $uid < 1000)" test "${uid:-1000}" -lt 1000
	fi
	check "DPKG_ROOT: no service was started or restarted (no systemd there)" test ! -s "$log"
	# The administrator enables meshcontrol; an upgrade keeps it enabled, meshd stays enabled.
	ln -s /lib/systemd/system/meshcontrol.service "$wants/meshcontrol.service"
	DPKG_ROOT=$root DPKG_MAINTSCRIPT_PACKAGE=meshd deb-systemd-helper update-state meshcontrol.service
	check "DPKG_ROOT: postinst configure on upgrade succeeds" run_script postinst configure 0.0.9-1
	check "DPKG_ROOT: upgrade keeps meshd.service enabled" test -L "$wants/meshd.service"
	check "DPKG_ROOT: upgrade keeps meshcontrol.service enabled" test -L "$wants/meshcontrol.service"
	check "DPKG_ROOT: postinst again on a configured root succeeds (user exists)" \
		run_script postinst configure 0.1.0-1
	mkdir -p "$root/var/lib/meshd" "$root/var/lib/meshcontrol"
	echo '{}' >"$root/var/lib/meshd/meshd.state"
	echo db >"$root/var/lib/meshcontrol/db.sqlite"
	check "DPKG_ROOT: prerm remove succeeds" run_script prerm remove
	check "DPKG_ROOT: postrm remove succeeds" run_script postrm remove
	check "DPKG_ROOT: remove keeps the node state" test -f "$root/var/lib/meshd/meshd.state"
	check "DPKG_ROOT: remove keeps the server database" test -f "$root/var/lib/meshcontrol/db.sqlite"
	check "DPKG_ROOT: postrm purge succeeds" run_script postrm purge
	check "DPKG_ROOT: purge removes /var/lib/meshd" test ! -e "$root/var/lib/meshd"
	check "DPKG_ROOT: purge removes /var/lib/meshcontrol" test ! -e "$root/var/lib/meshcontrol"
	check "DPKG_ROOT: purge removes the enablement symlinks" \
		bash -c "! ls '$wants'/mesh*.service 2>/dev/null | grep -q ."
else
	echo "skip maintainer scripts with DPKG_ROOT (no deb-systemd-helper)"
fi

# 6b. On the live paths, as on a machine running systemd: in a private mount namespace with
# tmpfs on /run and /var/lib, every command that could change the system stubbed.
if unshare -m --propagation private true 2>/dev/null; then
	live=$tmp/live
	mkdir -p "$live/bin"
	for cmd in systemctl deb-systemd-invoke deb-systemd-helper systemd-sysusers useradd; do
		cat >"$live/bin/$cmd" <<EOF
#!/bin/sh
echo "$cmd \$*" >>"$live/calls"
# deb-systemd-helper: was-enabled is true and debian-installed false, as on a first install.
[ "$cmd \$1" = "deb-systemd-helper debian-installed" ] && exit 1
exit 0
EOF
		chmod +x "$live/bin/$cmd"
	done
	cat >"$live/run.sh" <<'EOF'
set -e
ctl=$1 live=$2
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/lib
mkdir -p /run/systemd/system /var/lib/meshd /var/lib/meshcontrol
echo x >/var/lib/meshd/meshd.state
export PATH=$live/bin:$PATH
step() { echo "== $*" >>"$live/calls"; sh "$ctl/$1" "${@:2}"; }
step postinst configure
step postinst configure 0.0.9-1
step prerm remove
step postrm remove
[ -f /var/lib/meshd/meshd.state ] && echo "state kept after remove" >>"$live/calls"
step postrm purge
[ ! -e /var/lib/meshd ] && [ ! -e /var/lib/meshcontrol ] && echo "state gone after purge" >>"$live/calls"
EOF
	if unshare -m --propagation private bash "$live/run.sh" "$ctl" "$live" 2>"$live/err"; then
		calls=$live/calls
		section() { awk -v s="== $1" '$0 == s { on = 1; next } /^== / { on = 0 } on' "$calls"; }
		section "postinst configure" >"$live/install"
		section "postinst configure 0.0.9-1" >"$live/upgrade"
		section "prerm remove" >"$live/prerm"
		section "postrm remove" >"$live/remove"
		section "postrm purge" >"$live/purge"
		check "live: install creates the user with systemd-sysusers" \
			has_line "systemd-sysusers meshcontrol.conf" "$live/install"
		check "live: install enables meshd.service" \
			has_line "deb-systemd-helper enable meshd.service" "$live/install"
		check "live: install does not enable meshcontrol or meshrelay" \
			bash -c "! grep -Eq 'enable mesh(control|relay)' '$live/install'"
		check "live: install reloads systemd" has_line "systemctl --system daemon-reload" "$live/install"
		check "live: install starts meshd.service" \
			has_line "deb-systemd-invoke start meshd.service" "$live/install"
		check "live: upgrade restarts meshd.service" \
			has_line "deb-systemd-invoke restart meshd.service" "$live/upgrade"
		check "live: upgrade restarts meshcontrol/meshrelay only if running" \
			has_line "deb-systemd-invoke try-restart meshcontrol.service meshrelay.service" \
			"$live/upgrade"
		check "live: prerm remove stops the three services" \
			has_line "deb-systemd-invoke stop meshd.service meshcontrol.service meshrelay.service" \
			"$live/prerm"
		check "live: postrm remove masks the units" \
			has_line "deb-systemd-helper mask meshd.service" "$live/remove"
		check "live: remove keeps the state" has_line "state kept after remove" "$calls"
		check "live: postrm purge purges the units' state" \
			has_line "deb-systemd-helper purge meshcontrol.service" "$live/purge"
		check "live: purge removes /var/lib/meshd and /var/lib/meshcontrol" \
			has_line "state gone after purge" "$calls"
	else
		fail "live maintainer script run: $(cat "$live/err") $(tail -n 3 "$live/calls" 2>/dev/null | tr "\n" " ")"
	fi
else
	echo "skip maintainer scripts on live paths (no mount namespaces)"
fi
check "/etc/passwd and /etc/group of this system are unchanged" \
	test "$(sha256sum /etc/passwd /etc/group)" = "$passwd_before"
check "nothing was installed here: dpkg does not know meshd" \
	bash -c "! dpkg-query -W -f='\${Status}' meshd 2>/dev/null | grep -q installed"

# ---- 7. lintian ------------------------------------------------------------------------------
if command -v lintian >/dev/null; then
	lintian --tag-display-limit 0 -I -E --pedantic "$deb" >"$tmp/lintian" 2>/dev/null || true
	echo "     lintian tags:"
	sed 's/^/       /' "$tmp/lintian"
	errors=$(grep -c '^E:' "$tmp/lintian" || true)
	check "lintian reports no errors ($errors)" test "$errors" = 0
else
	echo "skip lintian (not installed)"
fi

# ---- 8. man pages up to date with their scdoc sources -------------------------------------------
if command -v scdoc >/dev/null; then
	check "docs/man roff pages match their .scd sources" "$src/docs/man/regen.sh" --check
else
	echo "skip docs/man/regen.sh --check (scdoc not installed)"
fi

echo "$((checks - failures)) passed, $failures failed"
((failures == 0))
