#!/bin/sh
# VMBus ring (lib/ring, memfd + eventfds, two processes) against a unix
# SOCK_SEQPACKET pair: round trips/s, RTT p50/p99 and streaming packets/s for
# 64 B .. 4 KiB packets, as a markdown table. Usage: bench/ring.sh [BUILD_DIR]
# (default: build). Extra arguments go to ring-bench (-r ITERS, -s ITERS,
# -k REPEATS: each figure is the median of REPEATS runs, default 3).
# Use an optimized build without sanitizers for figures worth quoting.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
[ $# -gt 0 ] && shift
[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
ninja -C "$B" bench/ring/ring-bench >/dev/null
exec "$B/bench/ring/ring-bench" "$@"
