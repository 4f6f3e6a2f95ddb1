#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Composes the mhcl image's initrd (gzip'd newc cpio) from a build directory.
#
#   usage: image/mkinitrd.sh BUILD_DIR OUT.cpio.gz|OUT.cpio.xz
#
# Layout of the archive:
#   /init                        mhcl-preinit: loads the modules, configures the
#                                interface, mounts the host's guest disk, execs mhcl-init
#                                (PID 1)   (image/preinit.c)
#   /usr/libexec/mhcl/mhcl-box   init, the servers and the VP worker in one binary
#                                (image/box.c), which the paths below link to
#   /usr/sbin/mhcl-init          init, PID 1
#   /usr/libexec/mhcl/           servers: mhcl-diagd, mhcl-sidecard, mhcl-vmbusd, mhcl-icd,
#                                mhcl-storaged, mhcl-netd, mhcl-vp
#   /usr/bin/mhcl                the CLI
#   /etc/mhcl/manifest.dtb       dts/image.dts (the image manifest) compiled with dtc: what
#                                init reads when the boot tree names it (/mhcl/manifest-path,
#                                a payload without a manifest item)
#   /etc/mhcl/{init,modules,net,tap,guest} what preinit reads
#   /lib/modules/<kver>/...      virtio-net, virtio-blk (the guest disk) and KVM (the VP
#                                worker's backend) from the kernel package
#   /mnt/guest                   where preinit mounts the guest disk (label mhcl-guest)
#   /bin/busybox                 optional (MHCL_IMAGE_BUSYBOX=1 and busybox-static present)
#   /dev/console                 so the kernel gives /init its stdio
#
# Static (musl) binaries are copied as they are; dynamically linked ones get their shared
# libraries and loader copied to the same paths (the development fallback). The script
# prints "userspace: static" or "userspace: dynamic" so callers can say which they used.
#
# Environment:
#   MHCL_IMAGE_KMOD_DIR   .../lib/modules/<kver> of the kernel the image boots; without it
#                         no modules go in (a kernel with virtio-net built in needs none)
#   MHCL_IMAGE_NET        "address/prefix gateway" (default "10.0.2.15/24 10.0.2.2", QEMU
#                         user-mode networking); "none" for no network configuration
#   MHCL_IMAGE_BUSYBOX    1 to add /bin/busybox (debugging)
#   MHCL_IMAGE_INIT_ARGS  extra mhcl-init arguments, space separated (e.g. "-v")
#   MHCL_IMAGE_STRIP      1 to strip mhcl's binaries in the archive (the build's keep symbols)
#   MHCL_IMAGE_STATIC     1 to refuse a dynamically linked binary instead of adding its
#                         libraries (`make image`: the production initrd is static only)
set -euo pipefail

BUILD=${1:?usage: mkinitrd.sh BUILD_DIR OUT.cpio.gz}
OUT=${2:?usage: mkinitrd.sh BUILD_DIR OUT.cpio.gz}
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$BUILD" && pwd)

die() { echo "mkinitrd: $*" >&2; exit 1; }
for t in cpio gzip dtc; do command -v "$t" >/dev/null || die "$t not found"; done

declare -A BIN=(
	[init]=init/mhcl-init
	[diagd]=servers/diag/mhcl-diagd
	[sidecard]=servers/sidecar/mhcl-sidecard
	[vp]=worker/bin/mhcl-vp
	[vmbusd]=servers/vmbus/mhcl-vmbusd
	[icd]=servers/ic/mhcl-icd
	[storaged]=servers/storage/mhcl-storaged
	[netd]=servers/net/mhcl-netd
	[cli]=tools/mhcl
	[preinit]=image/mhcl-preinit
	[box]=image/mhcl-box
)
for k in "${!BIN[@]}"; do [ -x "$BUILD/${BIN[$k]}" ] || die "$BUILD/${BIN[$k]} not built"; done

ROOT=$(mktemp -d /tmp/mhcl-initrd.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{usr/sbin,usr/bin,usr/libexec/mhcl,etc/mhcl,proc,sys,dev,run,tmp,bin,mnt/guest}
# mktemp's 0700 would become the image's "/": the servers run as their own uids.
chmod 0755 "$ROOT"
chmod 1777 "$ROOT/tmp"

# Static: no program interpreter and no shared library needed.
is_static() {
	LC_ALL=C readelf -h "$1" >/dev/null 2>&1 || return 1
	! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'INTERP' &&
		! LC_ALL=C readelf -d "$1" 2>/dev/null | grep -q '(NEEDED)'
}
MODE=static
# copy BINARY DIR: the binary into ROOT/DIR, plus its shared libraries when dynamic.
copy() {
	local bin=$1 dir=$2 l
	cp -L "$bin" "$ROOT/$dir/"
	[ "${MHCL_IMAGE_STRIP:-0}" = 1 ] && strip --strip-all "$ROOT/$dir/$(basename "$bin")"
	is_static "$bin" && return 0
	[ "${MHCL_IMAGE_STATIC:-0}" = 1 ] && die "$bin is dynamically linked (MHCL_IMAGE_STATIC=1)"
	MODE=dynamic
	for l in $(ldd "$bin" 2>/dev/null | awk '/=>/{print $3} /ld-linux/{print $1}'); do
		[ -f "$l" ] || continue
		mkdir -p "$ROOT$(dirname "$l")"
		cp -L "$l" "$ROOT$l"
	done
}
copy "$BUILD/${BIN[preinit]}" .
mv "$ROOT/mhcl-preinit" "$ROOT/init"
# One binary for init, the servers and the worker (image/box.c says why); each program's
# path is a symbolic link to it, whose name picks the program (and names the process).
copy "$BUILD/${BIN[box]}" usr/libexec/mhcl
ln -s ../libexec/mhcl/mhcl-box "$ROOT/usr/sbin/mhcl-init"
for k in diagd sidecard vp vmbusd icd storaged netd; do
	ln -s mhcl-box "$ROOT/usr/libexec/mhcl/$(basename "${BIN[$k]}")"
done
copy "$BUILD/${BIN[cli]}" usr/bin

dtc -q -I dts -O dtb -o "$ROOT/etc/mhcl/manifest.dtb" "$HERE/../dts/image.dts"
# A manifest init refuses would only show at boot; check it here when init can run here.
"$BUILD/${BIN[init]}" --check --dtb "$ROOT/etc/mhcl/manifest.dtb" >"$ROOT/check.log" 2>&1 ||
	{ cat "$ROOT/check.log" >&2; die "manifest refused by mhcl-init --check"; }
rm -f "$ROOT/check.log"

# No --dtb: as PID 1 init reads the manifest the shim's device tree names (the payload's
# manifest item, or manifest-path = /etc/mhcl/manifest.dtb when the payload has none).
{
	echo /usr/sbin/mhcl-init
	echo --libexec
	echo /usr/libexec/mhcl
	for a in ${MHCL_IMAGE_INIT_ARGS:-}; do echo "$a"; done
} >"$ROOT/etc/mhcl/init"

# virtio-net, virtio-blk, KVM and VFIO (for the NVMe functions preinit binds to
# vfio-pci) with what they depend on, in load order (modinfo: depends). kvm-amd and kvm-intel both go in: the one without its hardware fails to load
# and preinit says so.
: >"$ROOT/etc/mhcl/modules"
if [ -n "${MHCL_IMAGE_KMOD_DIR:-}" ]; then
	kver=$(basename "$MHCL_IMAGE_KMOD_DIR")
	for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
		drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci net/core/failover \
		drivers/net/net_failover drivers/net/virtio_net drivers/block/virtio_blk drivers/net/tun \
		virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd arch/x86/kvm/kvm-intel \
		drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 drivers/vfio/vfio_virqfd \
		drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci; do
		f=$MHCL_IMAGE_KMOD_DIR/kernel/$m.ko
		[ -f "$f" ] || continue  # built in
		mkdir -p "$ROOT/lib/modules/$kver/kernel/$(dirname "$m")"
		cp "$f" "$ROOT/lib/modules/$kver/kernel/$m.ko"
		echo "/lib/modules/$kver/kernel/$m.ko" >>"$ROOT/etc/mhcl/modules"
	done
fi

NET=${MHCL_IMAGE_NET:-10.0.2.15/24 10.0.2.2}
if [ "$NET" != none ]; then
	read -r cidr gw <<<"$NET"
	printf 'iface eth0\naddress %s\nprefix %s\n' "${cidr%/*}" "${cidr#*/}" >"$ROOT/etc/mhcl/net"
	[ -n "${gw:-}" ] && echo "gateway $gw" >>"$ROOT/etc/mhcl/net"
fi

printf 'label mhcl-guest\nmount /mnt/guest\n' >"$ROOT/etc/mhcl/guest"
# The guest's link: netd (uid 407, dts/image.dts) serves the guest's NIC from it.
printf 'name mhcl\nowner 407\naddress 10.0.3.1\nprefix 24\n' >"$ROOT/etc/mhcl/tap"

if [ "${MHCL_IMAGE_BUSYBOX:-0}" = 1 ] && [ -x /bin/busybox ]; then
	cp /bin/busybox "$ROOT/bin/busybox"
fi
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$ROOT/dev/console" c 5 1
fi

# OUT.xz: xz with CRC32 (the kernel's decoder takes no other check); its 64 MiB window
# finds what the static binaries share (libc, libuv, protobuf-c), which gzip's 32 KiB
# window cannot: about half the size. Anything else: gzip, faster for development.
case $OUT in
*.xz) compress() { xz --check=crc32 -9e -T1; } ;;
*) compress() { gzip -9; } ;;
esac
(cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | compress >"$OUT.tmp")
mv "$OUT.tmp" "$OUT"
echo "userspace: $MODE"
