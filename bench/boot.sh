#!/usr/bin/env bash
# Boot-time benchmark (QEMU TCG): power-on to "all CPUs ready" with the sidecar versus
# Linux onlining every CPU itself, at 8, 32 and 64 vCPUs, same image, same run.
#   usage: [MHCL_BENCH_REPS=N] bench/boot.sh [BUILD_DIR] [CPU_COUNTS]   (defaults: 1, build, 8,32,64)
# Needs qemu-system-x86_64, busybox-static and the Debian cloud kernel (tests/vm/vmlib.sh
# fetches it). Prints a markdown table on stdout; per-boot details on stderr.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:-$HERE/../build}
CPUS=${2:-8,32,64}
# shellcheck source=../tests/vm/vmlib.sh
. "$HERE/../tests/vm/vmlib.sh"
vm_require_tools
vm_kernel
SHIM=$BUILD/boot/mhcl-shim.elf
[ -f "$SHIM" ] || vm_die "$SHIM not built (ninja -C $BUILD)"

W=$(mktemp -d /tmp/mhcl-boot-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/root/bin" "$W/root/proc" "$W/root/sys"
cp /bin/busybox "$W/root/bin/"
cat >"$W/root/init" <<'SH'
#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
echo "BENCH userspace cpus=$($B cat /sys/devices/system/cpu/online)"
$B poweroff -f
SH
chmod +x "$W/root/init"
vm_cpio "$W/root" "$W/initrd.gz"
python3 "$VM_ROOT/boot/mkpayload.py" -k "$VM_VMLINUZ" -i "$W/initrd.gz" -o "$W/payload.bin"
echo "host: $(nproc) CPUs, $(qemu-system-x86_64 --version | head -1), kernel $VM_KVER" >&2
python3 "$HERE/boot/boot-bench.py" --shim "$SHIM" --payload "$W/payload.bin" --cpus "$CPUS" \
	--reps "${MHCL_BENCH_REPS:-1}"
