#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Regenerate the roff man pages beside their scdoc sources (meshctl.1.scd ->
# meshctl.1), or with --check only report the pages that are out of date and
# exit 1. The roff pages are committed so that a build needs no scdoc; run
# this after editing a .scd file. scdoc comes from Debian's package "scdoc".
#
# The date in a page's .TH line and roff comments are not compared: a page is rewritten only when
# its text changes, and then dated SOURCE_DATE_EPOCH (or today), so an
# unchanged page keeps its date.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
check=0
case "${1:-}" in
--check) check=1 ;;
"") ;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac
command -v scdoc >/dev/null || {
	echo "regen.sh: scdoc not found (apt-get install scdoc)" >&2
	exit 77
}

# A page without its date and comment lines (which name the scdoc version).
body() { grep -v -e '^\.TH ' -e '^\.\\"' "$1"; }

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
stale=0
for scd in "$here"/*.scd; do
	page=${scd%.scd}
	scdoc <"$scd" >"$tmp"
	if [[ -f $page ]] && diff -q <(body "$tmp") <(body "$page") >/dev/null; then
		continue
	fi
	if ((check)); then
		echo "regen.sh: ${page##*/} is out of date with ${scd##*/}; run docs/man/regen.sh" >&2
		[[ -f $page ]] && diff -u <(body "$page") <(body "$tmp") | head -40 >&2
		stale=1
	else
		cp "$tmp" "$page"
		chmod 0644 "$page"
		echo "regen.sh: wrote ${page##*/}"
	fi
done
# A roff page without a source is left over from a removed one.
for page in "$here"/*.[1-8]; do
	[[ -f $page.scd ]] && continue
	echo "regen.sh: ${page##*/} has no ${page##*/}.scd source" >&2
	stale=1
done
exit "$stale"
