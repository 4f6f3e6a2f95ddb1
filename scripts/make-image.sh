#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make image`: the deployable mhcl image, its userspace static musl, in one directory.
#   1. the C libraries for musl (scripts/musl-deps.sh into .cache/musl), when missing;
#   2. the shim and mhcl-image in BUILD_DIR (native); the userspace in the musl build
#      directory (meson setup once, then ninja, which is incremental);
#   3. the initrd (image/mkinitrd.sh: binaries stripped, a dynamic one fails the run), the
#      image in both forms (mhcl-image build) and their listings (mhcl-image dump), only
#      when an input changed: OUT_DIR/.inputs holds the inputs' hashes;
#   4. prints every artifact's size.
#
#   usage: scripts/make-image.sh [BUILD_DIR [OUT_DIR]]     (defaults: build, BUILD_DIR/deploy)
#   env:   MHCL_MUSL_BUILD     the musl build directory (default BUILD_DIR-musl)
#          MHCL_MUSL_CACHE     the musl libraries (default .cache/musl, scripts/musl-deps.sh)
#          MHCL_IMAGE_CMDLINE  the kernel command line (default: image/cmdline's, which says why)
#          MHCL_IMAGE_NET, MHCL_IMAGE_INIT_ARGS, MHCL_IMAGE_BUSYBOX   as image/mkinitrd.sh
#          JOBS                ninja's -j (default 2)
#
# OUT_DIR afterwards:
#   mhcl.igvm           the IGVM form (Hyper-V, VSM isolation, VTL2)
#   mhcl-shim.elf       the PVH form's kernel (QEMU -kernel): the shim ELF
#   mhcl-payload.bin    the PVH form's module (QEMU -initrd): kernel, initrd, manifest
#   initrd.cpio.xz      the initrd inside both
#   mhcl.igvm.txt, mhcl-payload.txt   mhcl-image dump of each form
#   initrd.txt          "userspace: static" and the archive's listing
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
# Paths as the caller gave them, relative to the caller's directory.
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
B=$(abs "${1:-build}")
OUT=$(abs "${2:-$B/deploy}")
MB=$(abs "${MHCL_MUSL_BUILD:-$B-musl}")
cd "$SRC"
JOBS=${JOBS:-2}
CMDLINE=${MHCL_IMAGE_CMDLINE:-$(grep -v '^#' image/cmdline)}
MUSL=${MHCL_MUSL_CACHE:-$SRC/.cache/musl}
export MHCL_MUSL_CACHE=$MUSL
USER_BINS="init/mhcl-init servers/diag/mhcl-diagd servers/sidecar/mhcl-sidecard
	   servers/vmbus/mhcl-vmbusd servers/ic/mhcl-icd servers/storage/mhcl-storaged
	   servers/net/mhcl-netd
	   worker/bin/mhcl-vp tools/mhcl
	   image/mhcl-preinit image/mhcl-box"
NATIVE_BINS="boot/mhcl-shim.elf tools/mhcl-image/mhcl-image"

step() { printf '== [%3d s] %s\n' "$(($(date +%s) - T0))" "$*"; }
die() { echo "make-image: $*" >&2; exit 1; }
# quiet LOG CMD...: runs CMD with its output in LOG, shown (tail) only when it fails.
quiet() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 || { tail -n 40 "$log" >&2; die "failed: $* (log: $log)"; }
}
for t in musl-gcc cpio gzip xz dtc strip readelf sha256sum; do
	command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh image installs it)"
done
T0=$(date +%s)
mkdir -p "$SRC/.cache"

# ---- 1. musl libraries (built once; musl-deps.sh rebuilds only what is missing)
have_sysroot=1
for a in libuv libprotobuf-c libseccomp libfdt liburing; do
	[ -f "$MUSL/sysroot/lib/$a.a" ] || have_sysroot=0
done
[ -f "$MUSL/sysroot.ini" ] || have_sysroot=0
if [ "$have_sysroot" = 0 ]; then
	step "musl libraries from Debian's sources (once; .cache/musl)"
	mkdir -p "$MUSL"
	quiet "$MUSL/musl-deps.log" scripts/musl-deps.sh
fi

# ---- 2. builds
step "native build ($B): shim, mhcl-image"
[ -f "$B/build.ninja" ] || quiet "$SRC/.cache/meson-setup-$(basename "$B").log" meson setup "$B"
# shellcheck disable=SC2086
quiet "$B/meson-logs/make-image-ninja.log" ninja -C "$B" -j "$JOBS" $NATIVE_BINS
step "static musl build ($MB): the image's userspace"
if [ ! -f "$MB/build.ninja" ]; then
	quiet "$SRC/.cache/meson-setup-$(basename "$MB").log" meson setup "$MB" \
		--cross-file "$MUSL/sysroot.ini" --cross-file cross/musl-x86_64.ini \
		-Ddefault_library=static
fi
# shellcheck disable=SC2086
quiet "$MB/meson-logs/make-image-ninja.log" ninja -C "$MB" -j "$JOBS" $USER_BINS

# ---- 3. initrd and image, when an input changed
# shellcheck source=tests/vm/vmlib.sh
. tests/vm/vmlib.sh
vm_kernel
KMOD=$VM_KDIR/lib/modules/$VM_KVER
inputs() {
	local f
	for f in $USER_BINS; do sha256sum "$MB/$f"; done
	for f in $NATIVE_BINS; do sha256sum "$B/$f"; done
	sha256sum dts/image.dts image/mkinitrd.sh scripts/make-image.sh "$VM_VMLINUZ"
	echo "kernel modules: $KMOD"
	echo "cmdline: $CMDLINE"
	# mkinitrd.sh's settings from the environment.
	echo "net: ${MHCL_IMAGE_NET:-default}"
	echo "init args: ${MHCL_IMAGE_INIT_ARGS:-}"
	echo "busybox: ${MHCL_IMAGE_BUSYBOX:-0}"
}
mkdir -p "$OUT"
rm -f "$OUT/initrd.cpio.gz" # the name before the initrd became xz
IMG=$B/tools/mhcl-image/mhcl-image
ARTIFACTS="mhcl.igvm mhcl-shim.elf mhcl-payload.bin initrd.cpio.xz"
LISTINGS="mhcl.igvm.txt mhcl-payload.txt initrd.txt"
inputs >"$OUT/.inputs.new"
current=1
cmp -s "$OUT/.inputs" "$OUT/.inputs.new" || current=0
for f in $ARTIFACTS $LISTINGS; do [ -f "$OUT/$f" ] || current=0; done
if [ "$current" = 1 ]; then
	rm -f "$OUT/.inputs.new"
	step "image up to date ($OUT)"
else
	step "initrd and image ($OUT)"
	rm -f "$OUT/.inputs"
	W=$(mktemp -d /tmp/mhcl-make-image.XXXXXX)
	trap 'rm -rf "$W"' EXIT
	MHCL_IMAGE_STRIP=1 MHCL_IMAGE_STATIC=1 MHCL_IMAGE_KMOD_DIR=$KMOD \
		quiet "$W/mkinitrd.log" image/mkinitrd.sh "$MB" "$W/initrd.cpio.xz"
	grep -qx 'userspace: static' "$W/mkinitrd.log" || die "the initrd's userspace is not static"
	{
		echo "userspace: static"
		echo "kernel modules: $VM_KVER"
		xz -dc "$W/initrd.cpio.xz" | cpio -itv --quiet 2>/dev/null
	} >"$W/initrd.txt"
	dtc -q -I dts -O dtb -o "$W/manifest.dtb" dts/image.dts
	quiet "$W/build.log" "$IMG" build --shim "$B/boot/mhcl-shim.elf" \
		--kernel "$VM_VMLINUZ" --initrd "$W/initrd.cpio.xz" --cmdline "$CMDLINE" \
		--manifest "$W/manifest.dtb" --pvh "$W/mhcl-shim.elf" \
		--payload "$W/mhcl-payload.bin" --igvm "$W/mhcl.igvm"
	# Relative names: the listings name the files as they are shipped.
	(cd "$W" && "$IMG" dump mhcl.igvm >mhcl.igvm.txt &&
		"$IMG" dump mhcl-payload.bin >mhcl-payload.txt)
	for f in $ARTIFACTS $LISTINGS; do mv "$W/$f" "$OUT/$f"; done
	# Written last: an interrupted run leaves no stamp and so is redone.
	mv "$OUT/.inputs.new" "$OUT/.inputs"
fi

# ---- 4. sizes
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
step "artifacts in $OUT"
for f in $ARTIFACTS; do
	n=$(stat -c %s "$OUT/$f")
	printf '  %-18s %10d bytes  %s\n' "$f" "$n" "$(mib "$n")"
done
n=$(stat -c %s "$OUT/initrd.cpio.xz")
u=$(xz -dc "$OUT/initrd.cpio.xz" | wc -c)
over=
[ "$n" -le 2000000 ] || over=" OVER THE TARGET"
echo "initrd: $n bytes compressed ($(mib "$n"); target at most 2 MB$over), $u bytes as cpio," \
	"every binary static and stripped"
echo "make image: $(($(date +%s) - T0)) s"
