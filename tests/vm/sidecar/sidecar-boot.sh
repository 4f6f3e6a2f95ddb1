#!/usr/bin/env bash
# The sidecar from Linux user space, end to end: boots the shim + the Debian cloud kernel
# under QEMU TCG -smp 8 with an initramfs holding mhcl-init, mhcl-diagd, mhcl-sidecard and
# mhcl (dynamically linked, their shared libraries copied in). Its /init starts mhcl-init
# (hosted, with the image manifest dts/image.dts: diag and sidecar), then runs the CLI over diag's unix socket:
#   mhcl sidecar              7 sidecar CPUs, all idle, CPU 0 Linux's
#   mhcl sidecar checksum 2   a work item on CPU 2, checked against /dev/mem
#   mhcl sidecar online 3     hand-off; Linux lists CPU 3 online, the sidecar shows it linux-owned
# then powers off.
#   usage: sidecar-boot.sh SHIM_ELF MHCL_INIT MHCL_DIAGD MHCL_SIDECARD MHCL IMAGE_MANIFEST_DTB
# Exit 77 (skip) when QEMU, dtc, busybox-static or the kernel package are unavailable.
set -euo pipefail
SHIM=${1:?shim ELF}
INIT=${2:?mhcl-init}
DIAGD=${3:?mhcl-diagd}
SIDECARD=${4:?mhcl-sidecard}
CLI=${5:?mhcl}
MANIFEST=${6:?image manifest DTB (build/dts/image.dtb)}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../vmlib.sh
. "$HERE/../vmlib.sh"
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not found, skipping"; exit 77; }
command -v dtc >/dev/null || { echo "dtc not found, skipping"; exit 77; }
vm_require_tools
vm_kernel

W=$(mktemp -d /tmp/mhcl-sidecar-test.XXXXXX)
QPID=
cleanup() { [ -n "$QPID" ] && kill "$QPID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

R=$W/root
mkdir -p "$R/bin" "$R/proc" "$R/sys" "$R/dev" "$R/run" "$R/tmp" "$R/etc/mhcl"
cp /bin/busybox "$R/bin/"
for b in "$INIT" "$DIAGD" "$SIDECARD" "$CLI"; do vm_copy_with_libs "$b" "$R"; done
cp "$MANIFEST" "$R/etc/mhcl/manifest.dtb"
cat >"$R/init" <<'SH'
#!/bin/busybox sh
B=/bin/busybox
$B --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /run/mhcl
# The sanitizer runtimes' leak checker needs ptrace, which the jails refuse.
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1
echo "T: cpus online before: $(cat /sys/devices/system/cpu/online)"
echo "T: iomem: $(grep -i -m3 reserved /proc/iomem | tr '\n' ';')"
mhcl-init --dtb /etc/mhcl/manifest.dtb --libexec /usr/bin --run-dir /run/mhcl >/tmp/init.log 2>&1 &
M="mhcl --socket /run/mhcl/diag.sock --timeout 20000"
i=0
while [ $i -lt 600 ]; do
	$M ps 2>/dev/null | grep -q 'sidecar.*running' && break
	i=$((i + 1)); sleep 0.2
done
$M ps | sed 's/^/T: ps: /'
$M sidecar | sed 's/^/T: list1: /'
$M sidecar checksum 2 2>&1 | sed 's/^/T: checksum: /'
$M sidecar online 3 2>&1 | sed 's/^/T: online: /'
echo "T: online rc done"
echo "T: cpus online after: $(cat /sys/devices/system/cpu/online)"
echo "T: cpu3 apicid: $(awk '/^processor/{p=$3} /^apicid/{if (p==3) print $3}' /proc/cpuinfo)"
$M sidecar | sed 's/^/T: list2: /'
$M sidecar online 3 2>&1 | sed 's/^/T: again: /'
$M sidecar online 0 2>&1 | sed 's/^/T: cpu0: /'
$M inspect sidecar/stats | sed 's/^/T: stats: /'
grep -v -e 'runtime error' -e '^sidecar:  ' /tmp/init.log | sed 's/^/T: init.log: /' | tail -n 40
echo "T: done"
poweroff -f
SH
chmod +x "$R/init"
vm_cpio "$R" "$W/initrd.gz"
python3 "$VM_ROOT/boot/mkpayload.py" -k "$VM_VMLINUZ" -i "$W/initrd.gz" -o "$W/payload.bin"

LOG=$W/serial.log
vm_qemu_until_end "$LOG" "${MHCL_VM_TIMEOUT:-400}" 'reboot: Power down|; halting|Kernel panic' \
	-accel tcg -cpu max -smp 8 -m 1536 -display none -no-reboot -monitor none \
	-kernel "$SHIM" -initrd "$W/payload.bin" -append "console=ttyS0 panic=-1"

expect=("sidecar CPUs ready: 7"
	"T: cpus online before: 0"
	"T: list1: sidecar: 8 cpus, 7 in the sidecar (7 idle), 1 owned by Linux"
	"(verified)"
	"T: online: cpu 3 (APIC ID 3) is now owned by linux"
	"T: cpus online after: 0,3"
	"T: cpu3 apicid: 3"
	"T: list2: sidecar: 8 cpus, 6 in the sidecar (6 idle), 2 owned by Linux"
	"T: again: mhcl: sidecar: cpu 3 is owned by Linux"
	"T: cpu0: mhcl: sidecar: online wants a CPU number 1..255"
	"T: done")
fail=0
for e in "${expect[@]}"; do
	grep -a -q -F -- "$e" "$LOG" || { echo "MISSING: $e"; fail=1; }
done
# CPU 3's row after the hand-off: owned by Linux, online there.
grep -a -q -E '^T: list2: 3 +3 +0 +linux +removed .*online' "$LOG" ||
	{ echo "MISSING: cpu 3 row linux/removed/online in the second listing"; fail=1; }
grep -a -E '^T: |sidecar CPUs|Kernel panic' "$LOG" | tr -d '\r' || true
if [ $fail != 0 ]; then
	echo "---- serial log (tail) ----"
	tail -n 80 "$LOG" | tr -d '\r'
	exit 1
fi
echo "sidecar VM test: ok"
