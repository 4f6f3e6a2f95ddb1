#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The mhcl image end to end (the image part of `make demo`; alone: `make demo-image`):
#   1. takes the image `make image` left in MHCL_IMAGE_DIR when that is set; else builds
#      the initrd (image/mkinitrd.sh, manifest dts/image.dts: diag + sidecar) and the image
#      (mhcl-image build) from BUILD_DIR; the userspace is static musl when
#      .cache/musl/sysroot exists (scripts/musl-deps.sh; built in MHCL_MUSL_BUILD, default
#      BUILD_DIR-musl), else BUILD_DIR's dynamic binaries with their shared libraries;
#   2. boots the PVH form under qemu-system-x86_64 -accel tcg -cpu max -smp 8 with user-mode
#      networking, diag's TCP port forwarded to the host, and waits (polling) until
#      `mhcl ps` answers from the host with the sidecar server running;
#   3. prints the boot stages with their timestamps from the serial log: the shim's own
#      (seconds since TSC 0), Linux's printk times, and for every line the host's time of
#      arrival (seconds since QEMU started; init's lines carry no time of their own);
#   4. from the host: mhcl ps, mhcl sidecar, mhcl sidecar online 3, mhcl sidecar again
#      (CPU 3 linux-owned) and mhcl inspect sidecar/cpus/3 (Linux has it online);
#   5. powers the image off the way image-boot does (Ctrl-Alt-Del through the QEMU monitor:
#      init stops its servers and powers off) and checks that the machine ended.
# Exits non-zero when a step fails (77 when QEMU, dtc or the kernel package are missing).
#
#   usage: scripts/demo-image.sh BUILD_DIR
#   env:   MHCL_IMAGE_DIR         boot the image in this directory (scripts/make-image.sh's
#                                 output, e.g. build/deploy) instead of building one; BUILD_DIR
#                                 then only gives the host's mhcl CLI
#          MHCL_IMAGE_USER_BUILD  take the userspace from this build directory instead
#          MHCL_MUSL_BUILD        the static musl build directory (default BUILD_DIR-musl)
#          MHCL_IMAGE_SMP         CPUs (default 8: the boot CPU and 7 in the sidecar)
#          MHCL_IMAGE_WORK        keep the work files (initrd, image, serial log) there
#          MHCL_IMAGE_INIT_ARGS   extra mhcl-init arguments (e.g. -v; not with MHCL_IMAGE_DIR)
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/vm/vmlib.sh
. "$SRC/tests/vm/vmlib.sh"
SMP=${MHCL_IMAGE_SMP:-8}
ONLINE_CPU=3
[ "$SMP" -gt "$ONLINE_CPU" ] || { echo "demo-image: MHCL_IMAGE_SMP must be above $ONLINE_CPU"; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
PREBUILT=${MHCL_IMAGE_DIR:-}
tools="qemu-system-x86_64 python3"
[ -n "$PREBUILT" ] || tools="$tools dtc cpio gzip"
for t in $tools; do
	command -v "$t" >/dev/null || { echo "demo-image: $t not found, skipping"; exit 77; }
done
SHIM=$B/boot/mhcl-shim.elf
IMG=$B/tools/mhcl-image/mhcl-image
MHCL=$B/tools/mhcl
need="$MHCL"
[ -n "$PREBUILT" ] || { vm_kernel; need="$need $SHIM $IMG"; }
for f in $need; do [ -f "$f" ] || { echo "demo-image: $f not built"; exit 1; }; done

if [ -n "${MHCL_IMAGE_WORK:-}" ]; then
	mkdir -p "$MHCL_IMAGE_WORK"
	W=$(cd "$MHCL_IMAGE_WORK" && pwd)
	KEEP=1
else
	W=$(mktemp -d /tmp/mhcl-demo-image.XXXXXX)
	KEEP=0
fi
QPID=
TPID=
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null && wait "$TPID" 2>/dev/null
	[ "$KEEP" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() {
	echo "demo-image: FAIL: $*"
	echo "---- serial log (tail) ----"
	tail -n 60 "$W/serial.log" 2>/dev/null | tr -d '\r' || true
	exit 1
}

# ---- 1. userspace, initrd, image
# image_from DIR: make image's artifacts, under the names image_build gives its files.
image_from() {
	local d f
	d=$(cd "$1" && pwd) || fail "no image directory $1"
	step "the image from $d (make image)"
	for f in mhcl-shim.elf mhcl-payload.bin mhcl.igvm initrd.cpio.gz initrd.txt mhcl-payload.txt; do
		[ -f "$d/$f" ] || fail "$d/$f missing (scripts/make-image.sh writes it)"
	done
	cp "$d/mhcl-shim.elf" "$W/image.elf"
	cp "$d/mhcl-payload.bin" "$W/payload.bin"
	cp "$d/mhcl.igvm" "$W/image.igvm"
	cp "$d/initrd.cpio.gz" "$W/initrd.cpio.gz"
	cp "$d/mhcl-payload.txt" "$W/payload.dump"
	grep -E '^(userspace|kernel modules): ' "$d/initrd.txt" >"$W/mkinitrd.log" || true
	grep '^kernel' "$W/mkinitrd.log" || true
	[ -z "${MHCL_IMAGE_INIT_ARGS:-}" ] || echo "(MHCL_IMAGE_INIT_ARGS ignored: the initrd is prebuilt)"
}

# image_build: the initrd and the image from BUILD_DIR (the userspace as the header says).
image_build() {
	step "building the image from $B"
	if [ -n "${MHCL_IMAGE_USER_BUILD:-}" ]; then
		USER_BUILD=$(cd "$MHCL_IMAGE_USER_BUILD" && pwd)
		echo "userspace from MHCL_IMAGE_USER_BUILD=$USER_BUILD"
	elif [ -f "$SRC/.cache/musl/sysroot.ini" ] && command -v musl-gcc >/dev/null; then
		USER_BUILD=${MHCL_MUSL_BUILD:-$B-musl}
		echo "static musl userspace (.cache/musl/sysroot found), built in $USER_BUILD"
		if [ ! -f "$USER_BUILD/build.ninja" ]; then
			meson setup "$USER_BUILD" --cross-file "$SRC/.cache/musl/sysroot.ini" \
				--cross-file "$SRC/cross/musl-x86_64.ini" -Ddefault_library=static \
				>"$W/musl-setup.log" 2>&1 ||
				{ cat "$W/musl-setup.log"; fail "meson setup of $USER_BUILD"; }
		fi
		ninja -C "$USER_BUILD" -j2 init/mhcl-init servers/diag/mhcl-diagd \
			servers/sidecar/mhcl-sidecard servers/vmbus/mhcl-vmbusd servers/ic/mhcl-icd \
			tools/mhcl worker/bin/mhcl-vp image/mhcl-preinit \
			>"$W/musl-build.log" 2>&1 ||
			{ tail -n 40 "$W/musl-build.log"; fail "musl build in $USER_BUILD"; }
		USER_BUILD=$(cd "$USER_BUILD" && pwd)
	else
		USER_BUILD=$B
		echo "dynamic userspace from $B with its shared libraries" \
			"(no .cache/musl/sysroot: scripts/musl-deps.sh builds it)"
	fi
	MHCL_IMAGE_KMOD_DIR=$VM_KDIR/lib/modules/$VM_KVER "$SRC/image/mkinitrd.sh" "$USER_BUILD" \
		"$W/initrd.cpio.gz" >"$W/mkinitrd.log" 2>&1 || { cat "$W/mkinitrd.log"; fail "mkinitrd"; }
	dtc -q -I dts -O dtb -o "$W/manifest.dtb" "$SRC/dts/image.dts"
	"$IMG" build --shim "$SHIM" --kernel "$VM_VMLINUZ" --initrd "$W/initrd.cpio.gz" \
		--cmdline "console=ttyS0 panic=-1" --manifest "$W/manifest.dtb" \
		--pvh "$W/image.elf" --payload "$W/payload.bin" --igvm "$W/image.igvm" \
		>"$W/mhcl-image.log" 2>&1 || { cat "$W/mhcl-image.log"; fail "mhcl-image build"; }
	"$IMG" dump "$W/payload.bin" >"$W/payload.dump" 2>&1 ||
		{ cat "$W/payload.dump"; fail "mhcl-image dump"; }
	echo "kernel: $VM_VMLINUZ"
}

if [ -n "$PREBUILT" ]; then
	image_from "$PREBUILT"
else
	image_build
fi
USERSPACE=$(grep -o 'userspace: [a-z]*' "$W/mkinitrd.log") || fail "mkinitrd did not say which userspace"
echo "$USERSPACE"
sed 's/^/  /' "$W/payload.dump"

# ---- 2. boot
# The serial port goes through a FIFO to a reader that keeps the raw log (serial.log) and
# the same lines with the host's time of arrival (serial.times).
rm -f "$W/serial.fifo" "$W/serial.log" "$W/serial.times"
mkfifo "$W/serial.fifo"
python3 -u - "$W/serial.fifo" "$W/serial.log" "$W/serial.times" <<'PY' &
import sys, time
t0 = time.monotonic()
src = open(sys.argv[1], "rb", buffering=0)
raw = open(sys.argv[2], "wb", buffering=0)
tl = open(sys.argv[3], "w", buffering=1)
pend = b""
while True:
    b = src.read(4096)
    if not b:
        break
    raw.write(b)
    pend += b
    while b"\n" in pend:
        line, pend = pend.split(b"\n", 1)
        tl.write("%8.3f %s\n" % (time.monotonic() - t0,
                 line.rstrip(b"\r").decode("utf-8", "replace")))
if pend:
    tl.write("%8.3f %s\n" % (time.monotonic() - t0, pend.decode("utf-8", "replace")))
PY
TPID=$!
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "booting: qemu-system-x86_64 -accel tcg -cpu max -smp $SMP (diag forwarded to 127.0.0.1:$PORT)"
T0=$(date +%s.%N)
qemu-system-x86_64 -accel tcg -cpu max -smp "$SMP" -m 1536 -display none -no-reboot \
	-kernel "$W/image.elf" -initrd "$W/payload.bin" -append "console=ttyS0" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:5555" -device virtio-net-pci,netdev=n0 \
	-serial "file:$W/serial.fifo" -monitor "unix:$W/mon.sock,server,nowait" </dev/null &
QPID=$!
M=("$MHCL" --tcp "127.0.0.1:$PORT" --timeout 20000)
since() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$T0" "$(date +%s.%N)"; }

# Ready when `mhcl ps` answers from the host and lists the sidecar server running (it
# finishes its start-up after diag). The limit only bounds a machine that never gets there.
ok=
for _ in $(seq 1 600); do
	kill -0 "$QPID" 2>/dev/null || fail "QEMU exited before diag answered"
	if "$MHCL" --tcp "127.0.0.1:$PORT" --timeout 2000 ps >"$W/ps.txt" 2>"$W/ps.err" &&
		grep -Eq '^ *sidecar +[0-9]+ +running' "$W/ps.txt"; then
		ok=1
		break
	fi
	sleep 0.5
done
[ -n "$ok" ] || fail "no running sidecar in mhcl ps from the host: $(cat "$W/ps.err" "$W/ps.txt")"
echo "diag answered from the host with every server running $(since) s after QEMU started"

# ---- 3. the boot stages
step "boot stages (serial log; host = seconds since QEMU started, then the line's own time)"
python3 - "$W/serial.times" <<'PY' || fail "a boot stage is missing from the serial log"
import re, sys
stages = [
    ("shim entry", r"\[shim +[0-9.]+\] entry:"),
    ("device tree built", r"\[shim +[0-9.]+\] device tree built:"),
    ("sidecar CPUs ready", r"\[shim +[0-9.]+\] sidecar CPUs ready:"),
    ("shim enters Linux", r"\[shim +[0-9.]+\] entering Linux"),
    ("Linux start", r"\] Linux version "),
    ("Linux SMP up", r"\] smp: Brought up "),
    ("Linux runs /init", r"\] Run /init as init process"),
    ("preinit (eth0 up)", r"^mhcl-preinit: .*eth0"),
    ("init (PID 1)", r"^mhcl-init: "),
    ("diag ready", r"diag.*: ready \(pid"),
    ("sidecar ready", r"sidecar.*: ready \(pid"),
]
lines = []
for l in open(sys.argv[1], encoding="utf-8", errors="replace"):
    host, _, text = l.rstrip("\n").lstrip().partition(" ")
    lines.append((host, text.strip()))
missing = 0
hits = []
for name, pat in stages:
    rx = re.compile(pat)
    hit = next((i for i, (h, t) in enumerate(lines) if rx.search(t)), None)
    if hit is None:
        print("  %-20s MISSING (%s)" % (name, pat))
        missing += 1
    else:
        hits.append((hit, name))
# In the order the lines came (the shim starts the sidecar before it builds the tree).
for i, name in sorted(hits):
    host, text = lines[i]
    own = re.match(r"\[(?:shim +)?\s*([0-9]+\.[0-9]+)\]", text)
    print("  %-20s host %7.3f s  %-14s %s" % (name, float(host),
          ("own %s s" % own.group(1)) if own else "", text[:110]))
sys.exit(1 if missing else 0)
PY

# ---- 4. the CLI from the host
run() { printf '$ mhcl --tcp 127.0.0.1:%s %s\n' "$PORT" "$*"; "${M[@]}" "$@"; }
step "mhcl ps (from the host, through the forwarded port)"
run ps | tee "$W/ps.txt" || fail "mhcl ps"
grep -Eq '^ *diag +[0-9]+ +running' "$W/ps.txt" || fail "diag not running"
"${M[@]}" inspect init >"$W/init.txt" 2>&1 || fail "mhcl inspect init: $(cat "$W/init.txt")"
echo "init:$(grep -E '(^|[^_a-z])(pid|mode)[": =]' "$W/init.txt" | head -n 2 | tr -s ' \n' ' ')"

step "mhcl sidecar: the CPUs the shim parked ($((SMP - 1)) expected)"
run sidecar | tee "$W/sidecar1.txt" || fail "mhcl sidecar"
grep -q "sidecar: $SMP cpus, $((SMP - 1)) in the sidecar" "$W/sidecar1.txt" ||
	fail "expected $((SMP - 1)) sidecar CPUs"

step "mhcl sidecar online $ONLINE_CPU: hand the CPU to Linux"
run sidecar online "$ONLINE_CPU" 2>&1 | tee "$W/online.txt"
[ "${PIPESTATUS[0]}" = 0 ] || fail "mhcl sidecar online $ONLINE_CPU"
grep -q "cpu $ONLINE_CPU .*is now owned by linux" "$W/online.txt" || fail "CPU $ONLINE_CPU not handed over"
run sidecar | tee "$W/sidecar2.txt" || fail "mhcl sidecar (after online)"
grep -q "sidecar: $SMP cpus, $((SMP - 2)) in the sidecar" "$W/sidecar2.txt" ||
	fail "expected $((SMP - 2)) sidecar CPUs after the hand-off"
grep -Eq "^ *$ONLINE_CPU +[0-9]+ +[0-9]+ +linux .*online" "$W/sidecar2.txt" ||
	fail "CPU $ONLINE_CPU is not linux-owned and online in the listing"
echo "Linux's log:"
grep -a -E "(Processor|CPU) ?${ONLINE_CPU}[^0-9]" "$W/serial.times" | sed 's/^/  /' || true
run inspect "sidecar/cpus/$ONLINE_CPU" | tee "$W/cpu.txt" || fail "mhcl inspect sidecar/cpus/$ONLINE_CPU"
grep -Eq 'owner.*linux' "$W/cpu.txt" || fail "inspect: CPU $ONLINE_CPU not owned by linux"
grep -Eq 'linux_online.*true' "$W/cpu.txt" || fail "inspect: Linux does not have CPU $ONLINE_CPU online"

# ---- 5. power off through init
step "power off: Ctrl-Alt-Del -> SIGINT to init (PID 1) -> servers stopped -> ACPI power off"
python3 - "$W/mon.sock" <<'PY' || fail "unable to reach the QEMU monitor"
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
kill -0 "$QPID" 2>/dev/null && fail "machine still running 120 s after Ctrl-Alt-Del"
wait "$QPID" || true
QPID=
wait "$TPID" || true
TPID=
sed -n '/ mhcl-init: .*signal [0-9]*: stopping/,$p' "$W/serial.times" | sed 's/^/  /'
grep -a -q 'powering off' "$W/serial.log" || fail "init did not power off"
grep -a -q 'reboot: Power down' "$W/serial.log" || fail "kernel did not power down"
echo "machine ended $(since) s after QEMU started ($USERSPACE)"
