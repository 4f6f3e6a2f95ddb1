#!/bin/sh
# mhcl-netd's efficiency, hosted (no VM), in a private network namespace: a load generator
# playing hv_netvsc on the rings against mhcl-netd and its TAP (under mhcl-init, with
# mhcl-vmbusd and the sim worker), 64 B and 1514 B UDP frames each way, beside one process
# writing and reading a second TAP directly in the same run; then the longest gap in a 1 ms
# datagram stream to the guest across `mhcl restart net` and `mhcl kill net`. Prints
# markdown tables. Needs root (network namespace, /dev/net/tun).
# Usage: bench/net.sh [BUILD_DIR] [SECONDS per row, default 2]
# Use an optimized build without sanitizers (the default build/) for figures worth quoting.
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
[ $# -gt 0 ] && shift
[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
ninja -C "$B" bench/net/net-bench init/mhcl-init servers/vmbus/mhcl-vmbusd \
	servers/ic/mhcl-icd tests/sim/mhcl-vp-sim servers/net/mhcl-netd \
	servers/diag/mhcl-diagd tools/mhcl >/dev/null
. bench/shmem-thp.sh
"$B/bench/net/net-bench" "$B/init/mhcl-init" "$B/servers/vmbus" "$B/servers/ic" \
	"$B/tests/sim" "$(command -v dtc)" "$B/servers/net" "$B/servers/diag" "$B/tools/mhcl" \
	"$@" 2>/dev/null
