#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Image boot smoke test: builds the mhcl image from a build directory (image/mkinitrd.sh +
# mhcl-image build), boots its PVH form (shim ELF + payload) under QEMU TCG -smp 4 with
# user-mode networking, reaches mhcl-diagd from the host through a hostfwd port with the
# mhcl CLI, checks diag runs and init is PID 1 in pid1 mode, then stops the machine through
# init's own stop path (Ctrl-Alt-Del, which preinit routes to init as SIGINT) and checks
# init stopped its servers and powered off.
#
#   usage: image-boot.sh BUILD_DIR
#
# The userspace comes from BUILD_DIR, or from MHCL_MUSL_BUILD (a build configured with
# cross/musl-x86_64.ini) when that names a directory with the binaries; the log says
# "userspace: static" or "userspace: dynamic". Exit 77 (skip) when QEMU, dtc or the kernel
# package are unavailable.
set -euo pipefail
BUILD=$(cd "${1:?build dir}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../../.." && pwd)
# shellcheck source=../vmlib.sh
. "$HERE/../vmlib.sh"
for t in qemu-system-x86_64 dtc cpio gzip python3; do
	command -v "$t" >/dev/null || { echo "$t not found, skipping"; exit 77; }
done
vm_kernel
SHIM=$BUILD/boot/mhcl-shim.elf
IMG=$BUILD/tools/mhcl-image/mhcl-image
MHCL=$BUILD/tools/mhcl
for f in "$SHIM" "$IMG" "$MHCL"; do [ -x "$f" ] || [ -f "$f" ] || { echo "$f not built"; exit 1; }; done

USER_BUILD=$BUILD
if [ -n "${MHCL_MUSL_BUILD:-}" ] && [ -x "$MHCL_MUSL_BUILD/init/mhcl-init" ]; then
	USER_BUILD=$(cd "$MHCL_MUSL_BUILD" && pwd)
fi
echo "userspace from: $USER_BUILD"

W=$(mktemp -d /tmp/mhcl-image-test.XXXXXX)
QPID=
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "---- serial log (tail) ----"
	tail -n 80 "$W/serial.log" 2>/dev/null || true
	exit 1
}

MHCL_IMAGE_KMOD_DIR=$VM_KDIR/lib/modules/$VM_KVER MHCL_IMAGE_INIT_ARGS=-v \
	"$SRC/image/mkinitrd.sh" "$USER_BUILD" "$W/initrd.cpio.gz" | tee "$W/mkinitrd.log"
dtc -q -I dts -O dtb -o "$W/manifest.dtb" "$SRC/image/manifest.dts"
"$IMG" build --shim "$SHIM" --kernel "$VM_VMLINUZ" --initrd "$W/initrd.cpio.gz" \
	--cmdline "console=ttyS0 panic=-1" --manifest "$W/manifest.dtb" \
	--pvh "$W/image.elf" --payload "$W/payload.bin" --igvm "$W/image.igvm"
"$IMG" dump "$W/payload.bin"
"$IMG" dump "$W/image.igvm" | head -n 12
cmp -s "$SHIM" "$W/image.elf" || fail "PVH ELF differs from the shim"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
qemu-system-x86_64 -accel tcg -cpu max -smp 4 -m 1024 -display none -no-reboot \
	-kernel "$W/image.elf" -initrd "$W/payload.bin" -append "console=ttyS0" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:5555" -device virtio-net-pci,netdev=n0 \
	-serial "file:$W/serial.log" -monitor "unix:$W/mon.sock,server,nowait" </dev/null &
QPID=$!

# Diag is up when `mhcl ps` answers; the limit only bounds a machine that never gets there.
ok=
for _ in $(seq 1 600); do
	kill -0 "$QPID" 2>/dev/null || fail "QEMU exited before diag answered"
	if "$MHCL" --tcp "127.0.0.1:$PORT" ps >"$W/ps.txt" 2>"$W/ps.err"; then ok=1; break; fi
	sleep 0.5
done
[ -n "$ok" ] || fail "diag did not answer on the forwarded port: $(cat "$W/ps.err")"
echo "---- mhcl ps ----"
cat "$W/ps.txt"
grep -Eq '^ *diag +.*running' "$W/ps.txt" || grep -Eq 'diag.*running' "$W/ps.txt" ||
	fail "diag not running in mhcl ps"
"$MHCL" --tcp "127.0.0.1:$PORT" inspect init >"$W/init.txt" 2>&1 || fail "inspect init failed: $(cat "$W/init.txt")"
echo "---- mhcl inspect init ----"
cat "$W/init.txt"
grep -Eq 'mode.*pid1' "$W/init.txt" || fail "init not in pid1 mode"
grep -Eq '(^|[^0-9])pid[": =]+1([^0-9]|$)' "$W/init.txt" || fail "init does not report PID 1"

# Orderly stop: Ctrl-Alt-Del -> SIGINT to PID 1 -> init stops diag, syncs, powers off.
python3 - "$W/mon.sock" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"sendkey ctrl-alt-delete\n")
time.sleep(0.5)
s.close()
PY
for _ in $(seq 1 240); do
	kill -0 "$QPID" 2>/dev/null || break
	sleep 0.5
done
if kill -0 "$QPID" 2>/dev/null; then fail "machine still running after Ctrl-Alt-Del"; fi
wait "$QPID" || true
QPID=
grep -q 'powering off' "$W/serial.log" || fail "init did not power off"
grep -q 'reboot: Power down' "$W/serial.log" || fail "kernel did not power down"
grep -q 'cmdline [0-9]* bytes, manifest ' "$W/serial.log" ||
	fail "the shim did not see the payload's manifest"
echo "---- serial log (init) ----"
grep -E 'mhcl-preinit|init|diag' "$W/serial.log" | tail -n 30
echo "PASS ($(grep -o 'userspace: [a-z]*' "$W/mkinitrd.log"))"
