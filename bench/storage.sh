#!/bin/sh
# mhcl-storaged's efficiency, hosted (no VM): a load generator playing hv_storvsc on the
# rings against mhcl-storaged with a memory disk (under mhcl-init, with mhcl-vmbusd and the
# sim worker), 4 KiB random reads and writes at QD 1, 32 and 128 on 1 and 2 channels, beside
# the memory backend driven directly in the same run; then the longest I/O pause and the
# failed I/Os through `mhcl restart storage` and a SIGKILL. Prints markdown tables.
# Usage: bench/storage.sh [BUILD_DIR] [SECONDS per row, default 2]
# Use an optimized build without sanitizers (the default build/) for figures worth quoting.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
[ $# -gt 0 ] && shift
[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
ninja -C "$B" bench/storage/storage-bench init/mhcl-init servers/vmbus/mhcl-vmbusd \
	servers/ic/mhcl-icd tests/sim/mhcl-vp-sim servers/storage/mhcl-storaged \
	servers/diag/mhcl-diagd tools/mhcl >/dev/null
. bench/shmem-thp.sh
"$B/bench/storage/storage-bench" "$B/init/mhcl-init" "$B/servers/vmbus" "$B/servers/ic" \
	"$B/tests/sim" "$(command -v dtc)" "$B/servers/storage" "$B/servers/diag" "$B/tools/mhcl" \
	"$@" 2>"${MHCL_BENCH_STDERR:-/dev/null}"
