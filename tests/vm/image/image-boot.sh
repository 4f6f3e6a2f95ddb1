#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Image boot test: runs the image demo (scripts/demo-image.sh) on a build directory and
# checks what it left behind. The demo builds the image (image/mkinitrd.sh with the image
# manifest dts/image.dts, mhcl-image build), boots its PVH form (shim ELF + payload) under
# QEMU TCG -smp 8 with user-mode networking and reaches mhcl-diagd from the host through a
# hostfwd port with the mhcl CLI. Checked here, from the files it keeps:
#   - the PVH ELF is the shim, the IGVM file reads back, the shim saw the payload's manifest;
#   - init (no --dtb) took that manifest from the boot device tree (SETUP_DTB, /dev/mem);
#   - mhcl ps lists diag and sidecar running; init is PID 1 in pid1 mode;
#   - mhcl sidecar lists 8 CPUs, 7 of them idle in the sidecar;
#   - mhcl sidecar online 3 hands CPU 3 (APIC ID 3) to Linux: Linux boots it, the listing
#     shows it linux-owned and online, inspect shows linux_online: true;
#   - Ctrl-Alt-Del (preinit routes it to init as SIGINT): init stops its servers, powers
#     off, the kernel powers down and QEMU ends.
#
#   usage: image-boot.sh BUILD_DIR
#
# The userspace comes from BUILD_DIR, or from MHCL_MUSL_BUILD (a build configured with
# cross/musl-x86_64.ini) when that names a directory with the binaries; the log says
# "userspace: static" or "userspace: dynamic". With MHCL_IMAGE_DIR (`make image`'s output,
# e.g. build/deploy) the demo boots that image instead, and its userspace must be static.
# Exit 77 (skip) when QEMU, dtc or the kernel package are unavailable.
set -euo pipefail
BUILD=$(cd "${1:?build dir}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../../.." && pwd)
IMG=$BUILD/tools/mhcl-image/mhcl-image

USER_BUILD=$BUILD
if [ -n "${MHCL_MUSL_BUILD:-}" ] && [ -x "$MHCL_MUSL_BUILD/init/mhcl-init" ]; then
	USER_BUILD=$(cd "$MHCL_MUSL_BUILD" && pwd)
fi

W=$(mktemp -d /tmp/mhcl-image-test.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() {
	echo "FAIL: $*"
	echo "---- serial log (tail) ----"
	tail -n 80 "$W/serial.log" 2>/dev/null | tr -d '\r' || true
	exit 1
}

rc=0
MHCL_IMAGE_USER_BUILD=$USER_BUILD MHCL_IMAGE_WORK=$W MHCL_IMAGE_SMP=8 MHCL_IMAGE_INIT_ARGS=-v \
	"$SRC/scripts/demo-image.sh" "$BUILD" || rc=$?
[ "$rc" = 77 ] && exit 77
[ "$rc" = 0 ] || fail "scripts/demo-image.sh exited $rc"

echo "---- checks ----"
has() { # FILE WHAT PATTERN (extended regex)
	grep -a -Eq -- "$3" "$1" || fail "$2 (no /$3/ in $(basename "$1"))"
	echo "ok: $2"
}
if [ -n "${MHCL_IMAGE_DIR:-}" ]; then
	"$IMG" dump "$W/image.elf" >"$W/elf.txt" || fail "the PVH ELF does not read back"
	has "$W/elf.txt" "the PVH ELF reads back" 'PVH ELF, entry 0x'
	has "$W/mkinitrd.log" "make image's userspace is static" '^userspace: static$'
else
	cmp -s "$BUILD/boot/mhcl-shim.elf" "$W/image.elf" || fail "PVH ELF differs from the shim"
fi
"$IMG" dump "$W/image.igvm" >"$W/igvm.txt" || fail "the IGVM file does not read back"
has "$W/serial.log" "the shim saw the payload's manifest" 'cmdline [0-9]+ bytes, manifest [1-9]'
has "$W/serial.log" "7 CPUs parked in the sidecar at boot" 'sidecar CPUs ready: 7'
has "$W/serial.log" "init read the payload's manifest through the boot device tree" \
	'manifest from the boot device tree \([1-9][0-9]* bytes at 0x[0-9a-f]+\)'
has "$W/ps.txt" "diag running" '^ *diag +[0-9]+ +running'
has "$W/ps.txt" "sidecar running" '^ *sidecar +[0-9]+ +running'
has "$W/init.txt" "init in pid1 mode" 'mode.*pid1'
has "$W/init.txt" "init is PID 1" '(^|[^0-9_a-z])pid[": =]+1([^0-9]|$)'
has "$W/sidecar1.txt" "8 CPUs, 7 idle in the sidecar" '^sidecar: 8 cpus, 7 in the sidecar \(7 idle\), 1 owned by Linux$'
[ "$(grep -Ec '^ *[1-7] +[1-7] +[0-9]+ +sidecar +idle ' "$W/sidecar1.txt")" = 7 ] ||
	fail "not 7 idle sidecar rows for CPUs 1..7"
echo "ok: 7 idle sidecar rows"
has "$W/online.txt" "online 3 answered" '^cpu 3 \(APIC ID 3\) is now owned by linux'
has "$W/serial.log" "Linux booted CPU 3" 'smpboot: Booting Node 0 Processor 3 APIC 0x3'
has "$W/sidecar2.txt" "6 left in the sidecar" '^sidecar: 8 cpus, 6 in the sidecar \(6 idle\), 2 owned by Linux$'
has "$W/sidecar2.txt" "CPU 3 linux-owned and online" '^3 +3 +[0-9]+ +linux +removed .*online'
has "$W/cpu.txt" "inspect: owner linux" 'owner: "linux"'
has "$W/cpu.txt" "inspect: Linux has CPU 3 online" 'linux_online: true'
has "$W/serial.log" "sidecard stopped cleanly" '^sidecar \[init\]: pid [0-9]+ exited with 0 '
has "$W/serial.log" "diagd stopped cleanly" '^diag \[init\]: pid [0-9]+ exited with 0 '
has "$W/serial.log" "init stopped its servers" 'all servers stopped'
has "$W/serial.log" "init powered off" 'powering off'
has "$W/serial.log" "the kernel powered down" 'reboot: Power down'
echo "PASS ($(grep -o 'userspace: [a-z]*' "$W/mkinitrd.log"))"
