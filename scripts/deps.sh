#!/bin/sh
# Installs the Debian 12 packages a target needs, only those missing.
# Usage: scripts/deps.sh build|test|vm|image
set -eu
build="meson ninja-build pkg-config gcc libc6-dev libuv1-dev libprotobuf-c-dev protobuf-c-compiler
       libseccomp-dev libfdt-dev device-tree-compiler liburing-dev"
# make test runs the VM topology tests too, so it needs QEMU and the initramfs tools.
test="$build clang libclang-rt-14-dev python3 iproute2 util-linux qemu-system-x86 busybox-static cpio kmod gzip fio e2fsprogs iperf3 iputils-ping"
vm="$test"
# make image: the native build (shim, mhcl-image), musl-gcc, what scripts/musl-deps.sh needs to
# fetch and build Debian's sources (dpkg-source, cmake, make, gperf), and the initrd's tools.
image="$build musl-tools cmake make dpkg-dev gperf binutils cpio gzip"
case "${1:-build}" in
	build) want=$build ;;
	test) want=$test ;;
	vm) want=$vm ;;
	image) want=$image ;;
	*) echo "usage: $0 build|test|vm|image" >&2; exit 100 ;;
esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
	$SUDO apt-get update >/dev/null
	$SUDO apt-get install -y --no-install-recommends $missing >/dev/null
}
