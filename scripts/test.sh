#!/bin/sh
# Builds with ASan+UBSan into build-test/, runs every meson test and ends with
# one line: "N passed, N failed[, N skipped]". Extra args go to meson test.
set -u
cd "$(dirname "$0")/.."
B=${TEST_BUILD:-build-test}
if [ ! -f "$B/build.ninja" ]; then
	meson setup "$B" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug \
		>"$B.setup.log" 2>&1 || { cat "$B.setup.log"; echo "0 passed, 1 failed"; exit 1; }
fi
if ! ninja -C "$B" >"$B.build.log" 2>&1; then
	cat "$B.build.log"
	echo "0 passed, 1 failed"
	exit 1
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
meson test -C "$B" --print-errorlogs --num-processes 2 "$@" | tee "$B.test.log"
rc=$?
ok=$(awk '/^Ok:/{print $2}' "$B.test.log")
fail=$(awk '/^Fail:/{f+=$2} /^Timeout:/{f+=$2} /^Unexpected Pass:/{f+=$2} END{print f+0}' "$B.test.log")
skip=$(awk '/^Skipped:/{print $2}' "$B.test.log")
ok=${ok:-0}
line="$ok passed, $fail failed"
[ "${skip:-0}" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
[ "$rc" -eq 0 ] && [ "$fail" -eq 0 ]
