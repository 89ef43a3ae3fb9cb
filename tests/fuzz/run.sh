#!/usr/bin/env bash
# Run a libFuzzer campaign on one fuzz target.
#
#   tests/fuzz/run.sh TARGET SECONDS [libFuzzer flags...]
#   tests/fuzz/run.sh --list
#
# Configures build-fuzz/ (clang, MESH_FUZZ=ON, ASan + UBSan) if it is not
# configured that way yet, builds fuzz_TARGET, and fuzzes for SECONDS with a
# writable corpus in build-fuzz/fuzz-corpus/TARGET (kept between runs) plus
# the committed seeds in tests/fuzz/corpus/TARGET (read only). The full log
# goes to build-fuzz/fuzz-logs/TARGET.log; the final coverage line (cov, ft,
# exec/s) and libFuzzer's final stats are printed at the end.
#
# Any crash, leak, timeout or out-of-memory input is copied to
# tests/fuzz/crashes/TARGET/, which ctest does not replay. Fix the bug, then
# move the input to tests/fuzz/corpus/TARGET/ so the replay test guards it.
# Exit status: libFuzzer's (0 = nothing found).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${MESH_FUZZ_BUILD:-$src/build-fuzz}
# Every fuzz_NAME.c here is a target (fuzz_common.c is shared code).
targets=()
for f in "$src"/tests/fuzz/fuzz_*.c; do
	name=${f##*/fuzz_}
	name=${name%.c}
	[ "$name" = common ] || targets+=("$name")
done

usage() {
	sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

if [ "${1:-}" = "--list" ]; then
	printf '%s\n' "${targets[@]}"
	exit 0
fi
[ $# -ge 2 ] || usage
target=$1
seconds=$2
shift 2
[[ "$seconds" =~ ^[0-9]+$ ]] || usage
if [[ ! " ${targets[*]} " =~ " $target " ]]; then
	echo "run.sh: unknown target '$target' (known: ${targets[*]})" >&2
	exit 2
fi

# Coverage instrumentation alone misses memory errors in the libraries: always ASan + UBSan.
cache="$build/CMakeCache.txt"
if ! grep -qs '^MESH_FUZZ:BOOL=ON' "$cache" || ! grep -qs '^MESH_SANITIZE:.*address' "$cache"; then
	cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DMESH_FUZZ=ON \
		-DMESH_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" --target "fuzz_$target" --parallel "$(nproc 2>/dev/null || echo 2)"

corpus="$build/fuzz-corpus/$target"
artifacts="$build/fuzz-artifacts/$target"
log="$build/fuzz-logs/$target.log"
seeds="$src/tests/fuzz/corpus/$target"
mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
# Findings of earlier runs were copied out then; report only this run's.
rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*

args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10
	-artifact_prefix="$artifacts/")
if [ -f "$src/tests/fuzz/dict/$target.dict" ]; then
	args+=(-dict="$src/tests/fuzz/dict/$target.dict")
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "run.sh: fuzzing $target for ${seconds}s (log: $log)"
set +e
"$build/tests/fuzz/fuzz_$target" "${args[@]}" "$@" "$corpus" "$seeds" 2>&1 |
	tee "$log" | grep --line-buffered -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE)'
status=${PIPESTATUS[0]}
set -e

echo "run.sh: $target final:"
grep -E '^#[0-9]+[[:space:]].*cov:' "$log" | tail -n 1 || true
grep -E '^stat::' "$log" || true

shopt -s nullglob
found=("$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*)
if [ ${#found[@]} -gt 0 ]; then
	mkdir -p "$src/tests/fuzz/crashes/$target"
	cp "${found[@]}" "$src/tests/fuzz/crashes/$target/"
	echo "run.sh: ${#found[@]} input(s) copied to tests/fuzz/crashes/$target/;" \
		"reproduce with: $build/tests/fuzz/fuzz_$target FILE"
fi
exit "$status"
