#!/bin/sh
# Builds every fuzz target with clang + libFuzzer into build-fuzz/ and runs
# each for FUZZ_SECONDS (default 30) over a copy of its corpus.
set -eu
cd "$(dirname "$0")/.."
B=build-fuzz
[ -f "$B/build.ninja" ] || CC=clang meson setup "$B" -Dfuzz=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug >/dev/null
ninja -C "$B" >/dev/null
for f in "$B"/tests/fuzz/fuzz-*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	name=${f##*/fuzz-}
	work=$(mktemp -d)
	cp -r tests/fuzz/corpus/"$name"/. "$work"/ 2>/dev/null || true
	echo "== fuzz-$name (${FUZZ_SECONDS:-30}s)"
	"$f" -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=1 "$work" 2>&1 | tail -3
	rm -rf "$work"
done
