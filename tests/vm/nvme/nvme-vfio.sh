#!/usr/bin/env bash
# lib/nvme over lib/devaccess against a real NVMe controller: L0 QEMU (TCG, q35) gives L1 an
# NVMe function (backed by a 64 MiB file made per run) behind an emulated Intel IOMMU with
# interrupt remapping; L1 (the Debian cloud kernel, intel_iommu=on) binds it to vfio-pci and
# runs mhcl-nvme-check (tests/vm/nvme/mhcl-nvme-check.c): bring-up, Identify, I/O with PRP
# lists, flush, deallocate, then keepalive across an exec and across a SIGKILL'ed process.
#   usage: nvme-vfio.sh MHCL_NVME_CHECK
# Exit 77 (skip) when QEMU, busybox-static or the kernel package are unavailable.
set -euo pipefail
CHECK=${1:?mhcl-nvme-check}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../vmlib.sh
. "$HERE/../vmlib.sh"
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not found, skipping"; exit 77; }
vm_require_tools
vm_kernel

W=$(mktemp -d /tmp/mhcl-nvme-test.XXXXXX)
QPID=
cleanup() { [ -n "$QPID" ] && kill "$QPID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

R=$W/root
mkdir -p "$R/bin" "$R/mod" "$R/proc" "$R/sys" "$R/dev" "$R/tmp"
cp /bin/busybox "$R/bin/"
vm_copy_with_libs "$CHECK" "$R"
for m in virt/lib/irqbypass drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 \
	drivers/vfio/vfio_virqfd drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci; do
	cp "$VM_MOD/$m.ko" "$R/mod/"
done
cat >"$R/init" <<'SH'
#!/bin/busybox sh
B=/bin/busybox
$B --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# A sanitizer build's leak checker would report what the exec'ed image inherits.
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1
for m in irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci; do
	insmod /mod/$m.ko || echo "T: insmod $m failed"
done
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/class)" = 0x010802 ] || continue
	b=$(basename $d)
	[ -e $d/driver ] && echo $b >$d/driver/unbind
	echo vfio-pci >$d/driver_override
	echo $b >/sys/bus/pci/drivers_probe
	echo "T: nvme $b bound to $(basename $(readlink $d/driver)), iommu group $(basename $(readlink $d/iommu_group))"
	mhcl-nvme-check run $b 2>&1 | sed 's/^/T: /'
done
echo "T: done"
poweroff -f
SH
chmod +x "$R/init"
vm_cpio "$R" "$W/initrd.gz"
truncate -s 64M "$W/nvme.img"

LOG=$W/serial.log
vm_qemu_until_end "$LOG" "${MHCL_VM_TIMEOUT:-240}" 'T: done|Kernel panic' \
	-accel tcg -cpu max -machine q35 -smp 1 -m 1024 -display none -no-reboot -monitor none \
	-device intel-iommu,intremap=on \
	-drive file="$W/nvme.img",if=none,id=d0,format=raw \
	-device nvme,serial=mhcl0001,drive=d0 \
	-kernel "$VM_VMLINUZ" -initrd "$W/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 intel_iommu=on"

io="one-page two-pages prp-list-offset prp-list-256k max-transfer flush deallocate mdts-refused"
expect="bring-up identify msix-interrupts exec-msix-interrupts crash-msix-interrupts guest-remap exec-still-ready exec-adopt exec-drained exec-batch-landed
	exec-no-admin-commands crash-child-killed crash-still-ready crash-adopt crash-drained
	crash-batch-landed crash-no-admin-commands shutdown no-adopt-after-shutdown"
for t in $io; do expect="$expect io-$t exec-io-$t crash-io-$t"; done
fail=0
tr -d '\r' <"$LOG" | grep -a '^T: ' || true
for e in $expect; do
	grep -a -q "^T: PASS $e\$" <(tr -d '\r' <"$LOG") || { echo "MISSING: PASS $e"; fail=1; }
done
if grep -a -q '^T: FAIL' "$LOG"; then
	fail=1
fi
grep -a -q 'T: NVME-CHECK END failures=0' "$LOG" || { echo "MISSING: NVME-CHECK END failures=0"; fail=1; }
if [ $fail != 0 ]; then
	echo "---- serial log (tail) ----"
	tail -n 60 "$LOG" | tr -d '\r'
	exit 1
fi
echo "nvme VM test: ok"
