#!/bin/sh
# mhcl-storaged in the L0/L1/L2 topology: 4 KiB random reads at QD 32 (fio, libaio, 15 s)
# by the unmodified guest through hv_storvsc and mhcl-storaged, on a file LUN and on an
# NVMe LUN (mhcl's own NVMe driver over VFIO), against L1 itself reading the same file
# and, through its own kernel nvme driver, the same namespace, in the same run
# (tests/vm/storage/storage-boot.sh with MHCL_VM_BENCH=1). Absolute figures are TCG
# figures; quote the ratios. Usage: bench/storage-vm.sh [BUILD_DIR]
set -eu
cd "$(dirname "$0")/.."
B=${1:-build}
[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
ninja -C "$B" >/dev/null
LOG=$(mktemp)
rc=0
MHCL_VM_BENCH=1 tests/vm/storage/storage-boot.sh "$B" >"$LOG" 2>&1 || rc=$?
[ $rc = 77 ] && { echo "skipped (no QEMU or kernel package)"; exit 0; }
iops() { sed -n "s/^$1: bench $2 read_iops \([0-9]*\).*/\1/p" "$LOG" | head -1; }
echo "| backend | guest through mhcl-storaged (IOPS) | L1 directly (IOPS) | ratio |"
echo "|---|---|---|---|"
for k in file nvme; do
	g=$(iops 'vp: L2' $k)
	h=$(iops L1 $k)
	r=$(awk -v g="${g:-0}" -v h="${h:-0}" 'BEGIN { if (h > 0) printf "%.2f", g / h; else print "-" }')
	name=$k
	[ $k = file ] && name="file in L1 (tmpfs; L1 reads it through its page cache)"
	[ $k = nvme ] && name="QEMU NVMe namespace (L1: kernel nvme driver)"
	echo "| $name | ${g:-?} | ${h:-?} | $r |"
done
[ $rc = 0 ] || echo "(the run also reported failures: $LOG)"
