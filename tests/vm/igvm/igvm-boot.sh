#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The mhcl image in its IGVM form, loaded by mhcl-vp the way a host loads IGVM:
#   L0 QEMU TCG -> L1 (Debian kernel, kvm-amd) runs `mhcl-vp --igvm image.igvm` ->
#   L2 = the mhcl image: boot shim (IGVM entry) -> Debian kernel -> a busybox initrd.
# The image is built here with mhcl-image (shim ELF + the Debian cloud kernel + an initrd
# whose init prints "IGVM-L2: userspace reached" and reboots). Checked on the serial log:
#   - mhcl-vp validated and placed the file (pages, 3 parameter areas, VP 0 at the
#     shim's IGVM entry with EBX = the info page);
#   - the shim came in through its IGVM entry, read the memory map, command line and
#     device tree the loader filled ("IGVM parameters: ...", "host device tree: ...
#     accepted"), then ran its stages (payload, command line with the host's
#     mhcl.boot_cpus=1 seen, topology from the host device tree, kernel loaded, entering
#     Linux);
#   - Linux reached userspace and saw the command line the loader passed (igvm.marker=);
#   - the guest's reboot ended mhcl-vp with exit 0;
#   - with --cpus 2 the shim parks VP 1 in the sidecar (ready, status, checksum work
#     item) before Linux reaches userspace;
#   - an image whose info page names a memory-map area overlapping the shim (the file
#     data patched; the IGVM headers and checksum stay valid, so the loader places it)
#     is refused by the shim with a one-line PANIC, and nothing of Linux runs;
#   - a second run with --mem 128 is refused before anything runs (the image requires RAM
#     up to the payload's end at 128 MiB + its size).
#   usage: igvm-boot.sh BUILD_DIR       (exit 0 pass, 1 fail, 77 skip)
# Env: MHCL_VM_TIMEOUT (seconds for the L1 run, default 600), MHCL_VM_WORK (work folder,
# default BUILD_DIR/vm-igvm).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../vmlib.sh
. "$HERE/../vmlib.sh"

BUILD=$(cd "${1:-$VM_ROOT/build}" && pwd)
WORK=${MHCL_VM_WORK:-$BUILD/vm-igvm}
LIMIT=${MHCL_VM_TIMEOUT:-600}
IMG=$BUILD/tools/mhcl-image/mhcl-image
SHIM=$BUILD/boot/mhcl-shim.elf
mkdir -p "$WORK"

vm_require_tools
vm_kernel
if [ ! -x "$IMG" ] || [ ! -f "$SHIM" ]; then vm_die "mhcl-image or the shim is not built in $BUILD"; fi

# The image's initrd: prints the marker and what it got, then reboots (reboot=k: the
# keyboard-controller reset ends the partition, and mhcl-vp exits 0).
rm -rf "$WORK/l2" && mkdir -p "$WORK/l2/bin" "$WORK/l2/proc" "$WORK/l2/sys" "$WORK/l2/dev"
cp /bin/busybox "$WORK/l2/bin/"
cat >"$WORK/l2/init" <<'SH'
#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
echo "IGVM-L2: userspace reached"
echo "IGVM-L2: cmdline: $($B cat /proc/cmdline)"
echo "IGVM-L2: mem: $($B grep MemTotal /proc/meminfo)"
ls /sys/kernel/boot_params/setup_data/ >/dev/null 2>&1 && echo "IGVM-L2: shim device tree present"
echo "IGVM-L2: done"
$B reboot -f
SH
chmod +x "$WORK/l2/init"
vm_cpio "$WORK/l2" "$WORK/l2.cpio.gz"

"$IMG" build --shim "$SHIM" --kernel "$VM_VMLINUZ" --initrd "$WORK/l2.cpio.gz" \
	--cmdline "console=ttyS0 reboot=k panic=-1" --igvm "$WORK/image.igvm" >"$WORK/build.log" 2>&1 ||
	{ cat "$WORK/build.log"; vm_die "mhcl-image build failed"; }
"$IMG" dump "$WORK/image.igvm" >"$WORK/dump.txt" || vm_die "the IGVM file does not read back"

rm -rf "$WORK/l1-extra" && mkdir -p "$WORK/l1-extra"
cp "$WORK/image.igvm" "$WORK/l1-extra/image.igvm"
# The bad image: the info page is the first "MHCLIGV1" in the file data (page data in the
# order the image adds it: the info page before the shim); version 1 and size 80 follow it.
off=$(grep -obUa MHCLIGV1 "$WORK/image.igvm" | head -1 | cut -d: -f1)
if [ -z "$off" ] || [ "$(od -An -tx1 -j $((off + 8)) -N 8 "$WORK/image.igvm" | tr -d ' \n')" != 0100000050000000 ]; then
	vm_die "no info page in $WORK/image.igvm"
fi
cp "$WORK/image.igvm" "$WORK/l1-extra/bad.igvm"
printf '\000\000\020\000' | dd of="$WORK/l1-extra/bad.igvm" bs=1 seek=$((off + 48)) conv=notrunc 2>/dev/null
"$IMG" dump "$WORK/l1-extra/bad.igvm" >/dev/null || vm_die "the patched IGVM file does not read back"
cat >"$WORK/l1-tail.sh" <<'SH'
echo "L1: phase igvm"
mhcl-vp --igvm /image.igvm --mem 512 --cpus 1 --cmdline "mhcl.boot_cpus=1 igvm.marker=42" &&
	echo "L1: mhcl-vp exited 0" || echo "L1: mhcl-vp exited $?"
echo "L1: phase igvm-2cpu"
mhcl-vp --igvm /image.igvm --mem 512 --cpus 2 --cmdline "igvm.marker=2cpu" &&
	echo "L1: mhcl-vp exited 0" || echo "L1: mhcl-vp exited $?"
echo "L1: phase igvm-bad"
# The shim halts its CPU after the refusal and the VP just sits there, so stop
# mhcl-vp as soon as the refusal is printed (120 s only bounds a broken run).
mhcl-vp --igvm /bad.igvm --mem 512 --cpus 1 >/tmp/bad.log 2>&1 &
vp=$!
i=0
while kill -0 $vp 2>/dev/null && [ $i -lt 240 ] && ! grep -q 'refusing to boot' /tmp/bad.log; do
	sleep 0.5
	i=$((i + 1))
done
kill $vp 2>/dev/null
wait $vp
rc=$?
cat /tmp/bad.log
[ $rc = 0 ] && echo "L1: mhcl-vp exited 0" || echo "L1: mhcl-vp exited $rc"
echo "L1: phase igvm-small"
mhcl-vp --igvm /image.igvm --mem 128 --cpus 1 &&
	echo "L1: mhcl-vp exited 0" || echo "L1: mhcl-vp exited $?"
echo "L1: phase end"
SH
vm_l1_initramfs "$WORK" "$BUILD" "$WORK/l1-tail.sh" worker/bin/mhcl-vp

LOG=$WORK/serial.log
rc=0
vm_run_l1 "$WORK" "$LIMIT" "$LOG" || rc=$?
[ "$rc" = 124 ] && echo "vm: L1 timed out after ${LIMIT}s"
tr -d '\r' <"$LOG" | grep -a -E '^(L1|IGVM-L2): |^\[shim|mhcl-vp: |PANIC|Kernel panic|Run /init' || true

fail=0
phase() { tr -d '\r' <"$LOG" | sed -n "/L1: phase $1\$/,/L1: phase/p"; }
expect() { # PHASE WHAT REGEX
	if phase "$1" | grep -a -E -- "$3" >/dev/null; then
		echo "PASS: [$1] $2"
	else
		echo "FAIL: [$1] $2 (no /$3/)"
		fail=1
	fi
}
expect igvm "mhcl-vp placed the IGVM file" 'mhcl-vp: .*IGVM /image.igvm: [0-9]+ pages .*3 parameter areas with 3 parameters, VP 0 at 0x100000 .*RBX 0x6000'
expect igvm "shim entered through its IGVM entry" '\[shim +[0-9.]+\] entry: image .*IGVM entry$'
expect igvm "shim read the loader's parameters" '\[shim +[0-9.]+\] IGVM parameters: 3 memory map entries \(51[01] MiB RAM\), command line at 0x10000, device tree area at 0x20000, payload \[0x8000000, '
expect igvm "shim found the payload" '\[shim +[0-9.]+\] payload: kernel [1-9][0-9]* bytes, initrd [1-9]'
expect igvm "shim parsed the joined command line" '\[shim +[0-9.]+\] command line: isolated=no sidecar=on boot_cpus=1'
expect igvm "shim accepted the loader's device tree" '\[shim +[0-9.]+\] host device tree: [0-9]+ bytes accepted: 1 cpus, 0 memory ranges'
expect igvm "shim took the topology from it" '\[shim +[0-9.]+\] topology: 1 cpus in 1 NUMA node\(s\) from host device tree'
expect igvm "shim loaded the kernel" '\[shim +[0-9.]+\] kernel loaded'
expect igvm "shim entered Linux" '\[shim +[0-9.]+\] entering Linux'
expect igvm "Linux reached userspace" '^IGVM-L2: userspace reached'
expect igvm "Linux got the loader's command line" '^IGVM-L2: cmdline: .*console=ttyS0.*igvm\.marker=42'
expect igvm "Linux got the shim's device tree" '^IGVM-L2: shim device tree present'
expect igvm "the guest's reboot ended mhcl-vp cleanly" '^L1: mhcl-vp exited 0$'
expect igvm-2cpu "two VPs from the host device tree" '\[shim +[0-9.]+\] topology: 2 cpus in 1 NUMA node\(s\) from host device tree'
expect igvm-2cpu "VP 1 parked in the sidecar" '\[shim +[0-9.]+\] sidecar CPUs ready: 1$'
expect igvm-2cpu "VP 1 answered with its APIC ID" '\[shim +[0-9.]+\] sidecar status: 1/1 CPUs answered'
expect igvm-2cpu "VP 1 ran a work item" '\[shim +[0-9.]+\] sidecar work items: 1/1 checksums match'
expect igvm-2cpu "Linux reached userspace" '^IGVM-L2: cmdline: .*igvm\.marker=2cpu'
expect igvm-2cpu "the guest's reboot ended mhcl-vp cleanly" '^L1: mhcl-vp exited 0$'
expect igvm-bad "the loader placed the patched file" 'mhcl-vp: .*IGVM /bad.igvm: [0-9]+ pages'
expect igvm-bad "the shim came in through its IGVM entry" '\[shim +[0-9.]+\] entry: image .*IGVM entry$'
expect igvm-bad "the shim refused the memory-map area" 'PANIC: refusing to boot: IGVM memory map area \[0x100000, \+0x4000\) is not a valid area'
if phase igvm-bad | grep -a -E 'IGVM parameters:|entering Linux|Linux version' >/dev/null; then
	echo "FAIL: [igvm-bad] the shim went on after the refusal"
	fail=1
else
	echo "PASS: [igvm-bad] nothing ran after the refusal"
fi
expect igvm-small "too little RAM is refused" 'mhcl-vp: .*unable to load IGVM file /image.igvm: .*raise --mem'
expect igvm-small "and mhcl-vp exits with the usage code" '^L1: mhcl-vp exited 100$'
if [ "$fail" != 0 ]; then
	echo "---- serial log (tail) ----"
	tr -d '\r' <"$LOG" | tail -n 60
	exit 1
fi
echo "PASS"
