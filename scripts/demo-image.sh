#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The mhcl image runs the guest (the centrepiece of `make demo`; alone: `make demo-image`):
#   1. takes the image `make image` left in MHCL_IMAGE_DIR when that is set; else builds
#      the initrd (image/mkinitrd.sh, manifest dts/image.dts) and the image (mhcl-image
#      build) from BUILD_DIR; the userspace is static musl when .cache/musl/sysroot exists
#      (scripts/musl-deps.sh; built in MHCL_MUSL_BUILD, default BUILD_DIR-musl), else
#      BUILD_DIR's dynamic binaries with their shared libraries;
#   2. makes the guest disk the host hands the image: an ext2 file system labelled
#      mhcl-guest holding the unmodified Debian kernel, an initramfs with the Hyper-V guest
#      modules (hv_vmbus, hv_utils) and the guest's command line;
#   3. boots the PVH form under qemu-system-x86_64 -accel tcg -cpu max -smp 8 with the
#      guest disk, user-mode networking and diag's TCP port forwarded to the host; waits
#      (polling from the host) until the guest's shutdown channel is ready;
#   4. prints the boot stages with their timestamps from the serial log: the shim's own
#      (seconds since TSC 0), Linux's printk times, and for every line the host's time of
#      arrival (seconds since QEMU started), through the guest's VMBus connection;
#   5. from the host: mhcl ps, mhcl sidecar (CPU 1 was handed to Linux when the worker
#      started the guest's 2 VPs) and sidecar online 3 (a parked CPU handed to Linux by
#      hand), the guest's VMBus channels and heartbeat, mhcl restart ic and mhcl kill ic
#      while the guest runs (the heartbeat climbs, the channels are adopted);
#   6. mhcl guest shutdown: the guest powers off, the VP worker's exit stops every server
#      and init powers the image off by itself; then what the guest itself printed.
# With MHCL_IMAGE_GUEST=0 there is no guest disk: step 5 stops at the sidecar and step 6
# powers the image off with Ctrl-Alt-Del through the QEMU monitor (SIGINT to init).
# Exits non-zero when a step fails (77 when QEMU, dtc, mke2fs or the kernel package are
# missing).
#
#   usage: scripts/demo-image.sh BUILD_DIR
#   env:   MHCL_IMAGE_DIR         boot the image in this directory (scripts/make-image.sh's
#                                 output, e.g. build/deploy) instead of building one; BUILD_DIR
#                                 then only gives the host's mhcl CLI
#          MHCL_IMAGE_USER_BUILD  take the userspace from this build directory instead
#          MHCL_MUSL_BUILD        the static musl build directory (default BUILD_DIR-musl)
#          MHCL_IMAGE_SMP         CPUs (default 8: the boot CPU and 7 in the sidecar)
#          MHCL_IMAGE_MEM         the VM's memory in MiB (default 1536; the guest's 256 are in it)
#          MHCL_IMAGE_GUEST       0: boot without a guest disk
#          MHCL_IMAGE_GUEST_MEM   the guest's memory in MiB, in the host tree (default 256)
#          MHCL_IMAGE_NVME        1: a q35 VM with an IOMMU (firmware qboot) and a 32 MiB
#                                 QEMU NVMe namespace the host tree names (/guest nvme), which
#                                 preinit binds to vfio-pci and storaged serves the guest as a
#                                 third SCSI disk through its own driver, adopting the
#                                 controller live across the restart and the kill (not the
#                                 default: in 2 of 8 runs here nested TCG faulted, the image
#                                 reset or a guest VP triple-faulted, around storaged's DMA
#                                 mapping of guest RAM through the emulated IOMMU)
#          MHCL_IMAGE_NICS        the guest's NICs the host tree names (1 or 2, default 2): a
#                                 netd and a TAP each in the image
#          MHCL_IMAGE_ACCEL       QEMU's -accel (default tcg; e.g. tcg,thread=single)
#          MHCL_IMAGE_WORK        keep the work files (initrd, image, serial log) there
#          MHCL_IMAGE_INIT_ARGS   extra mhcl-init arguments (e.g. -v; not with MHCL_IMAGE_DIR)
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/vm/vmlib.sh
. "$SRC/tests/vm/vmlib.sh"
SMP=${MHCL_IMAGE_SMP:-8}
ONLINE_CPU=3 # handed to Linux by hand, when there is one (bench/memory.sh boots 2 CPUs)

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
PREBUILT=${MHCL_IMAGE_DIR:-}
GUEST=${MHCL_IMAGE_GUEST:-1}
NVME=${MHCL_IMAGE_NVME:-0}
NICS=${MHCL_IMAGE_NICS:-2}
ACCEL=${MHCL_IMAGE_ACCEL:-tcg}
case $NICS in 1 | 2) ;; *) echo "MHCL_IMAGE_NICS: 1 or 2" >&2; exit 2 ;; esac
tools="qemu-system-x86_64 python3"
[ -n "$PREBUILT" ] || tools="$tools dtc cpio gzip"
[ "$GUEST" = 0 ] || tools="$tools mke2fs cpio gzip dtc"
for t in $tools; do
	command -v "$t" >/dev/null || { echo "demo-image: $t not found, skipping"; exit 77; }
done
SHIM=$B/boot/mhcl-shim.elf
IMG=$B/tools/mhcl-image/mhcl-image
MHCL=$B/tools/mhcl
need="$MHCL"
{ [ -z "$PREBUILT" ] || [ "$GUEST" != 0 ]; } && vm_kernel
[ "$GUEST" = 0 ] || vm_require_tools
[ -n "$PREBUILT" ] || need="$need $SHIM $IMG"
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
	for f in mhcl-shim.elf mhcl-payload.bin mhcl.igvm initrd.cpio.xz initrd.txt mhcl-payload.txt; do
		[ -f "$d/$f" ] || fail "$d/$f missing (scripts/make-image.sh writes it)"
	done
	cp "$d/mhcl-shim.elf" "$W/image.elf"
	cp "$d/mhcl-payload.bin" "$W/payload.bin"
	cp "$d/mhcl.igvm" "$W/image.igvm"
	cp "$d/initrd.cpio.xz" "$W/initrd.cpio.xz"
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
			servers/storage/mhcl-storaged servers/net/mhcl-netd \
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
		--cmdline "$(grep -v '^#' "$SRC/image/cmdline")" --manifest "$W/manifest.dtb" \
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

# ---- 2. the guest disk
# What the host hands the image: the guest's kernel, initramfs and command line on an ext2
# file system labelled mhcl-guest (image/preinit.c mounts it for mhcl-vp --guest-dir).
QDISK=()
if [ "$GUEST" != 0 ]; then
	step "the guest disk: the unmodified Debian kernel with hv_vmbus, hv_utils and hv_storvsc;"
	echo "and a data disk whose two partitions the image's storaged serves the guest as two SCSI disks"
	# The guest's own steps before it reports ready: on each SCSI disk, a line with its
	# size and model; on the second (8 MiB), a 1 MiB pattern written and read back; on
	# the first (64 MiB), a 4 MiB pattern written to it and read back, then a loop writing
	# the same pattern at 4 MiB in 256 KiB chunks, each synced, round after round (the
	# host restarts and kills storaged under it, and checks every copy on the data disk's
	# partitions after the guest powered off).
	rm -rf "$W/l2-extra" && mkdir -p "$W/l2-extra"
	cat >"$W/l2-extra/l2-tail.sh" <<'SH'
d= d2= d3=
for i in $(seq 1 60); do
	for b in /sys/block/sd*; do
		[ -e "$b" ] || continue
		case $(cat $b/size) in 131072) d=${b##*/} ;; 16384) d2=${b##*/} ;; 65536) d3=${b##*/} ;; esac
	done
	[ -n "$d" ] && [ -n "$d2" ] && { [ -n "$d3" ] || [ ! -e /nvme ]; } && break
	sleep 1
done
for x in $d3 $d2 $d; do
	echo "L2: disk $x: $(cat /sys/block/$x/size) sectors, $(cat /sys/block/$x/device/vendor | tr -s ' ') $(cat /sys/block/$x/device/model | tr -s ' ')"
done
# pattern DISK TAG COUNT: COUNT x 64 KiB of random bytes (/tmp/TAG) written to DISK at 0,
# synced, read back past the page cache; "L2: TAG pattern MD5 read back MD5".
pattern() {
	dd if=/dev/urandom of=/tmp/$2 bs=64k count=$3 2>/dev/null
	dd if=/tmp/$2 of=/dev/$1 bs=64k conv=fsync 2>/dev/null || echo "L2: disk write error ($2)"
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/$1 of=/tmp/$2.back bs=64k count=$3 2>/dev/null
	echo "L2: $2 pattern $(md5sum </tmp/$2 | cut -d' ' -f1) read back $(md5sum </tmp/$2.back | cut -d' ' -f1)"
}
[ -z "$d2" ] || pattern $d2 disk2 16
[ -z "$d3" ] || pattern $d3 disk3 16
if [ -n "$d" ]; then
	pattern $d disk 64
	(
		pass=0
		while :; do
			for c in $(seq 0 15); do
				dd if=/tmp/disk of=/dev/$d bs=256k count=1 skip=$c seek=$((16 + c)) conv=fsync 2>/dev/null ||
					echo "L2: disk write error (pass $pass chunk $c)"
			done
			pass=$((pass + 1))
			echo "L2: disk pass $pass"
		done
	) &
else
	echo "L2: no SCSI disk"
fi
# The NICs, a netd each in the image, each from its own TAP there. NIC N (netd's --index:
# the second field of its VMBus instance GUID, which names the device in sysfs) is on
# 10.0.(3+N).0/24 with the image at .1, and pings it: NIC 0 every 0.2 s, counted every 10
# ("net pings"), the others every second, counted every 5 ("netN pings"). Every ping is
# interrupts for the guest, and under nested TCG every interrupt a chance of the fault the
# README describes (an interrupt delivered twice).
want=$(cat /nics 2>/dev/null || echo 1)
for i in $(seq 1 30); do
	[ "$(ls -d /sys/class/net/eth* 2>/dev/null | wc -l)" -ge "$want" ] && break
	sleep 1
done
nics=0
for dev in /sys/class/net/eth*; do
	[ -e "$dev" ] || continue
	ifc=${dev##*/}
	guid=$(basename "$(readlink "$dev/device")")
	n=$(printf '%d' "0x$(echo "$guid" | cut -d- -f2)" 2>/dev/null) || continue
	ip addr add 10.0.$((3 + n)).2/24 dev "$ifc"
	ip link set "$ifc" up
	echo "L2: nic $ifc $(cat "$dev/address") instance $guid"
	label=net$n every=5 pause=1
	[ "$n" = 0 ] && label=net every=10 pause=0.2
	(
		ok=0 k=0
		while :; do
			ping -c 1 -W 2 10.0.$((3 + n)).1 >/dev/null 2>&1 && ok=$((ok + 1))
			k=$((k + 1))
			[ $((k % every)) = 0 ] && echo "L2: $label pings $k answered $ok"
			sleep $pause
		done
	) &
	nics=$((nics + 1))
done
[ "$nics" = 0 ] && echo "L2: no NIC"
SH
	[ "$NVME" = 0 ] || touch "$W/l2-extra/nvme" # the guest waits for a third disk
	echo "$NICS" >"$W/l2-extra/nics" # the guest waits for as many NICs
	vm_l2_initramfs "$W" drivers/hv/hv_vmbus drivers/hv/hv_utils drivers/scsi/scsi_common \
		drivers/scsi/scsi_mod drivers/scsi/scsi_transport_fc drivers/scsi/sd_mod \
		drivers/scsi/hv_storvsc drivers/net/hyperv/hv_netvsc
	rm -rf "$W/guest" && mkdir -p "$W/guest"
	cp "$VM_VMLINUZ" "$W/guest/vmlinuz"
	cp "$W/l2.cpio.gz" "$W/guest/initrd"
	echo "console=ttyS0 reboot=k panic=-1 quiet mhcl.wait_shutdown=1" >"$W/guest/cmdline"
	rm -f "$W/guest.img"
	mke2fs -q -t ext2 -L mhcl-guest -d "$W/guest" "$W/guest.img" >/dev/null \
		"$(($(du -sk "$W/guest" | cut -f1) + 2048))k" || fail "mke2fs of the guest disk"
	echo "guest.img: $(du -k "$W/guest.img" | cut -f1) KiB: vmlinuz ($(basename "$VM_VMLINUZ")," \
		"$(stat -c %s "$W/guest/vmlinuz") bytes), initrd ($(stat -c %s "$W/guest/initrd") bytes)," \
		"cmdline \"$(cat "$W/guest/cmdline")\""
	# The host decides in its host tree (boot/README.md): the guest's VPs and memory, the
	# block devices behind its data disks and its NICs' MACs. The shim checks /guest and
	# hands it to init, which puts it in the worker's --cpus and --mem, storaged's --disk
	# (one per data disk) and device files, and starts a netd per NIC with its --mac
	# (net, net1; preinit made a TAP for each). The data disks are the two
	# partitions of the host's first disk (vda1, 64 MiB, and vda2, 8 MiB; preinit finds
	# the guest disk, vdb, by its label), so only the host tree can have picked them: the
	# manifest's default is vdb. (More virtio disks would do too, but with a third SeaBIOS
	# reserves memory where QEMU put the PVH payload, which the shim refuses.)
	GMEM=${MHCL_IMAGE_GUEST_MEM:-256}
	NVME_PROP=
	[ "$NVME" = 0 ] || NVME_PROP=' nvme = "0000:00:05.0";'
	MACS="02 6d 68 63 6c 0a"
	[ "$NICS" = 1 ] || MACS="$MACS 02 6d 68 63 6c 0b"
	GUEST_NODE="guest { vps = <2>; memory-mib = <$GMEM>; data-disk = \"vda1\", \"vda2\";$NVME_PROP nic-mac = [$MACS]; };"
	printf '/dts-v1/;\n/ {\n\tcompatible = "mhcl,host-v1";\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n\t%s\n};\n' \
		"$GUEST_NODE" >"$W/host.dts"
	dtc -q -I dts -O dtb -o "$W/host.dtb" "$W/host.dts" || fail "dtc of the host tree"
	echo "host tree (fw_cfg opt/mhcl/host.dtb): $GUEST_NODE"
	rm -f "$W/data.img"
	truncate -s 80M "$W/data.img"
	# An MBR with two primary partitions: 64 MiB at 1 MiB and 8 MiB at 65 MiB (type 0x83).
	python3 - "$W/data.img" <<'PY'
import struct, sys
mbr = bytearray(512)
for i, (start, count) in enumerate([(2048, 131072), (133120, 16384)]):
    mbr[446 + 16 * i:462 + 16 * i] = struct.pack("<B3sB3sII", 0, b"\xff\xff\xff", 0x83,
                                                 b"\xff\xff\xff", start, count)
mbr[510:512] = b"\x55\xaa"
with open(sys.argv[1], "r+b") as f:
    f.write(mbr)
PY
	QDISK=(-drive "file=$W/data.img,format=raw,if=virtio"
		-drive "file=$W/guest.img,format=raw,if=virtio,readonly=on"
		-fw_cfg "name=opt/mhcl/host.dtb,file=$W/host.dtb")
	if [ "$NVME" != 0 ]; then
		# A 32 MiB NVMe namespace behind an IOMMU (q35's intel-iommu: the image's kernel
		# has no other) for storaged's own driver; qboot as the firmware, since SeaBIOS
		# drives the NVMe at boot from memory where QEMU then puts the PVH payload, which
		# the shim refuses.
		rm -f "$W/nvme.img"
		truncate -s 32M "$W/nvme.img"
		QDISK+=(-bios qboot.rom -machine q35 -device intel-iommu,intremap=on
			-drive "file=$W/nvme.img,if=none,id=nv0,format=raw"
			-device "nvme,serial=MHCLNVME01,drive=nv0,bus=pcie.0,addr=0x5")
	fi
fi

# ---- 3. boot
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
step "booting: qemu-system-x86_64 -accel $ACCEL -cpu max -smp $SMP (diag forwarded to 127.0.0.1:$PORT)"
T0=$(date +%s.%N)
qemu-system-x86_64 -accel "$ACCEL" -cpu max -smp "$SMP" -m "${MHCL_IMAGE_MEM:-1536}" -display none -no-reboot \
	-kernel "$W/image.elf" -initrd "$W/payload.bin" -append "console=ttyS0" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:5555" -device virtio-net-pci,netdev=n0 \
	"${QDISK[@]}" -serial "file:$W/serial.fifo" -monitor "unix:$W/mon.sock,server,nowait" </dev/null &
QPID=$!
M=("$MHCL" --tcp "127.0.0.1:$PORT" --timeout 20000)
since() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$T0" "$(date +%s.%N)"; }

# The image's own kernel saying it is stuck (a soft lockup, an RCU stall, a panic): no
# point waiting out the limits below, which only bound a machine that never gets there.
wedged() {
	local l
	[ -f "$W/serial.log" ] || return 0 # the serial reader has not made it yet
	l=$(tr -d '\r' <"$W/serial.log" | grep -a -m1 -E \
		'^(\[ *[0-9.]+\] )?(watchdog: BUG: soft lockup|rcu: INFO: rcu_[a-z]+ (self-)?detected stall|Kernel panic)') ||
		return 0
	fail "the image's kernel is stuck: $l"
}

# Ready when `mhcl ps` answers from the host and lists the sidecar server running (it
# finishes its start-up after diag). The limit only bounds a machine that never gets there.
ok=
for _ in $(seq 1 600); do
	kill -0 "$QPID" 2>/dev/null || fail "QEMU exited before diag answered"
	wedged
	if "$MHCL" --tcp "127.0.0.1:$PORT" --timeout 2000 ps >"$W/ps.txt" 2>"$W/ps.err" &&
		grep -Eq '^ *sidecar +[0-9]+ +running' "$W/ps.txt"; then
		ok=1
		break
	fi
	sleep 0.5
done
[ -n "$ok" ] || fail "no running sidecar in mhcl ps from the host: $(cat "$W/ps.err" "$W/ps.txt")"
echo "diag answered from the host with every server running $(since) s after QEMU started"
if [ "$GUEST" != 0 ]; then
	# The guest is up once hv_utils opened the shutdown channel icd serves.
	ok=
	for _ in $(seq 1 900); do
		kill -0 "$QPID" 2>/dev/null || fail "QEMU exited before the guest was ready"
		wedged
		grep -a -q '^vp \[init\]: pid [0-9]* exited' "$W/serial.log" &&
			fail "the VP worker exited before the guest was ready"
		if "$MHCL" --tcp "127.0.0.1:$PORT" --timeout 2000 inspect ic/shutdown/state \
			>"$W/state.txt" 2>&1 && grep -q ready "$W/state.txt" &&
			grep -a -q '^vp: L2: ready' "$W/serial.log"; then
			ok=1
			break
		fi
		sleep 1
	done
	[ -n "$ok" ] || fail "the guest's shutdown channel never became ready: $(cat "$W/state.txt")"
	echo "the guest is up on VMBus $(since) s after QEMU started"
	# For bench/memory.sh: every process's memory and the machine's, the guest running.
	"${M[@]}" --json ps >"$W/ps.json" 2>&1 || fail "mhcl --json ps: $(cat "$W/ps.json")"
	"${M[@]}" inspect init/memory >"$W/memory.txt" 2>&1 ||
		fail "mhcl inspect init/memory: $(cat "$W/memory.txt")"
fi

# machine_ended SECONDS WHAT: waits (bounded) for QEMU to end by itself after WHAT, then
# for the serial reader.
machine_ended() {
	local _
	for _ in $(seq 1 $(($1 * 2))); do
		kill -0 "$QPID" 2>/dev/null || break
		sleep 0.5
	done
	kill -0 "$QPID" 2>/dev/null && fail "machine still running $1 s after $2"
	wait "$QPID" || true
	QPID=
	wait "$TPID" || true
	TPID=
}

# ---- 4. the boot stages
step "boot stages (serial log; host = seconds since QEMU started, then the line's own time)"
python3 - "$W/serial.times" "$GUEST" <<'PY' || fail "a boot stage is missing from the serial log"
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
if sys.argv[2] != "0":
    stages += [
        ("vmbusd ready", r"^vmbus \[init\]: ready \(pid"),
        ("icd ready", r"^ic \[init\]: ready \(pid"),
        ("host sizes the guest", r"^mhcl-init: info: the host's guest: "),
        ("worker loads guest", r"^vp: mhcl-vp: info: guest from"),
        ("guest VPs started", r"^vp \[init\]: ready \(pid"),
        ("guest on VMBus", r"^vmbus: .*VMBus connected: protocol"),
        ("guest ready", r"^vp: L2: ready"),
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

# ---- 5. the CLI from the host
run() { printf '$ mhcl --tcp 127.0.0.1:%s %s\n' "$PORT" "$*"; "${M[@]}" "$@"; }
step "mhcl ps (from the host, through the forwarded port)"
run ps | tee "$W/ps.txt" || fail "mhcl ps"
grep -Eq '^ *diag +[0-9]+ +running' "$W/ps.txt" || fail "diag not running"
"${M[@]}" inspect init >"$W/init.txt" 2>&1 || fail "mhcl inspect init: $(cat "$W/init.txt")"
echo "init:$(grep -E '(^|[^_a-z])(pid|mode)[": =]' "$W/init.txt" | head -n 2 | tr -s ' \n' ' ')"

# Linux boots on CPU 0; the VP worker's 2 VPs (dts/image.dts) got CPU 1 handed over.
LINUX=1
[ "$GUEST" = 0 ] || LINUX=2
step "mhcl sidecar: the CPUs the shim parked, less those handed to Linux for the guest's VPs"
run sidecar | tee "$W/sidecar1.txt" || fail "mhcl sidecar"
grep -q "sidecar: $SMP cpus, $((SMP - LINUX)) in the sidecar" "$W/sidecar1.txt" ||
	fail "expected $((SMP - LINUX)) sidecar CPUs"
if [ "$GUEST" != 0 ]; then
	grep -a -E '^(vp|sidecar)( \[init\])?: .*(asked for [0-9]+ CPUs|Linux runs [0-9]+ CPUs)' \
		"$W/serial.log" | tr -d '\r' | sed 's/^/  /'
fi

if [ "$SMP" -gt "$ONLINE_CPU" ]; then
	step "mhcl sidecar online $ONLINE_CPU: hand the CPU to Linux"
	run sidecar online "$ONLINE_CPU" 2>&1 | tee "$W/online.txt"
	[ "${PIPESTATUS[0]}" = 0 ] || fail "mhcl sidecar online $ONLINE_CPU"
	grep -q "cpu $ONLINE_CPU .*is now owned by linux" "$W/online.txt" || fail "CPU $ONLINE_CPU not handed over"
	run sidecar | tee "$W/sidecar2.txt" || fail "mhcl sidecar (after online)"
	grep -q "sidecar: $SMP cpus, $((SMP - LINUX - 1)) in the sidecar" "$W/sidecar2.txt" ||
		fail "expected $((SMP - LINUX - 1)) sidecar CPUs after the hand-off"
	grep -Eq "^ *$ONLINE_CPU +[0-9]+ +[0-9]+ +linux .*online" "$W/sidecar2.txt" ||
		fail "CPU $ONLINE_CPU is not linux-owned and online in the listing"
	echo "Linux's log:"
	grep -a -E "(Processor|CPU) ?${ONLINE_CPU}[^0-9]" "$W/serial.times" | sed 's/^/  /' || true
	run inspect "sidecar/cpus/$ONLINE_CPU" | tee "$W/cpu.txt" || fail "mhcl inspect sidecar/cpus/$ONLINE_CPU"
	grep -Eq 'owner.*linux' "$W/cpu.txt" || fail "inspect: CPU $ONLINE_CPU not owned by linux"
	grep -Eq 'linux_online.*true' "$W/cpu.txt" || fail "inspect: Linux does not have CPU $ONLINE_CPU online"
fi

if [ "$GUEST" != 0 ]; then
	step "the guest's VMBus: channels vmbusd gave it, the heartbeat icd serves"
	run inspect vmbus/devices | tee "$W/devices.txt" || fail "mhcl inspect vmbus/devices"
	"${M[@]}" inspect ic >"$W/ic1.txt" 2>&1 || fail "mhcl inspect ic: $(cat "$W/ic1.txt")"
	# The guest's own counters: icd's heartbeat sequence (in an inspect file), the rounds
	# of the guest's disk writes, and its pings the image answered.
	heartbeat() { sed -n 's/^ *sequence: //p' "$1" | head -n 1; }
	disk_rounds() { tr -d '\r' <"$W/serial.log" | sed -n 's/^vp: L2: disk pass //p' | tail -n 1; }
	pings() { tr -d '\r' <"$W/serial.log" | sed -n 's/^vp: L2: net pings [0-9]* answered //p' | tail -n 1; }
	pings1() { tr -d '\r' <"$W/serial.log" | sed -n 's/^vp: L2: net1 pings [0-9]* answered //p' | tail -n 1; }
	echo "heartbeat sequence: $(heartbeat "$W/ic1.txt")"

	# op_under_guest SERVER OP COUNTER DELTA WHAT: `mhcl OP SERVER` while the guest uses it,
	# then waits (bounded) until the next instance adopted the state and COUNTER grew by
	# DELTA; SERVER's inspect is kept in SERVER-OP.txt.
	op_under_guest() {
		local srv=$1 op=$2 counter=$3 delta=$4 what=$5 before now= _
		before=$($counter "$W/$srv-before.txt")
		[ -n "$before" ] || fail "$what: nothing counted yet"
		run "$op" "$srv" || fail "mhcl $op $srv"
		for _ in $(seq 1 240); do
			"${M[@]}" inspect "$srv" >"$W/$srv-$op.txt" 2>&1 || true
			now=$($counter "$W/$srv-$op.txt")
			grep -q 'adopted_state: true' "$W/$srv-$op.txt" && [ -n "$now" ] &&
				[ "$now" -ge $((before + delta)) ] && break
			sleep 1
		done
		grep -q 'adopted_state: true' "$W/$srv-$op.txt" ||
			fail "the next $srv did not adopt the state after $op"
		[ -n "$now" ] && [ "$now" -ge $((before + delta)) ] ||
			fail "$what did not go on after $op ($before -> $now)"
		echo "$what: $before -> $now; the next $srv adopted the state"
	}
	cp "$W/ic1.txt" "$W/ic-before.txt"
	step "mhcl restart ic while the guest runs: state saved, next instance adopts the channels"
	op_under_guest ic restart heartbeat 1 "heartbeat sequence"
	cp "$W/ic-restart.txt" "$W/ic-before.txt"
	step "mhcl kill ic (SIGKILL) while the guest runs: init revives it, it adopts the channels"
	op_under_guest ic kill heartbeat 1 "heartbeat sequence"

	grep -a -E '^vp: L2: disk2? ' "$W/serial.log" | tr -d '\r' | head -n 4 | sed 's/^/  /'
	for op in restart kill; do
		step "mhcl $op storage while the guest writes its SCSI disk (synced 256 KiB writes)"
		op_under_guest storage "$op" disk_rounds 2 "the guest's rounds of writes"
	done
	grep -a -E '^vp: L2: nic ' "$W/serial.log" | tr -d '\r' | sed 's/^/  /'
	for op in restart kill; do
		step "mhcl $op net while the guest pings the image through its NIC"
		op_under_guest net "$op" pings 10 "the guest's pings answered"
	done
	if [ "$NICS" = 2 ]; then
		step "mhcl restart net1: the second NIC's own server, while the guest pings over both"
		before0=$(pings)
		op_under_guest net1 restart pings1 5 "the guest's pings over the second NIC answered"
		echo "over the first NIC meanwhile: $before0 -> $(pings) answered (its server untouched)"
	fi
	run ps | tee "$W/ps2.txt" || fail "mhcl ps"

	step "mhcl guest shutdown: the guest powers off, the worker's exit stops every server and"
	echo "init powers the image off"
	run guest shutdown | tee "$W/shutdown.txt" || fail "mhcl guest shutdown"
	machine_ended 300 "the guest shutdown"
	sed -n '/ vp: L2: poweroff: /,$p' "$W/serial.times" | grep -a -v ' vmbus: \| ic: ' | sed 's/^/  /'
	step "what the guest itself printed (its console, relayed by the VP worker)"
	sed -n 's/^vp: L2: //p' "$W/serial.log" | tr -d '\r' | grep -v '^disk pass\|^net[0-9]* pings' | sed 's/^/  /'
	echo "  (and \"disk pass N\" up to $(disk_rounds): its rounds of writes; \"net pings\" up to" \
		"$(tr -d '\r' <"$W/serial.log" | sed -n 's/^vp: L2: net pings //p' | tail -n 1))"
	grep -a -q '^vp \[init\]: done: stopping every server' "$W/serial.log" ||
		fail "the worker's exit did not stop the servers"
	step "the data disk, read by the host: every copy of the guest's patterns"
	want=$(tr -d '\r' <"$W/serial.log" | sed -n 's/^vp: L2: disk pattern \([0-9a-f]*\) .*/\1/p' | head -n 1)
	want2=$(tr -d '\r' <"$W/serial.log" | sed -n 's/^vp: L2: disk2 pattern \([0-9a-f]*\) .*/\1/p' | head -n 1)
	first=$(dd if="$W/data.img" bs=1M skip=1 count=4 status=none | md5sum | cut -d' ' -f1)
	second=$(dd if="$W/data.img" bs=1M skip=5 count=4 status=none | md5sum | cut -d' ' -f1)
	third=$(dd if="$W/data.img" bs=1M skip=65 count=1 status=none | md5sum | cut -d' ' -f1)
	{
		echo "guest's pattern $want; the disk at 0: $first, at 4 MiB: $second"
		echo "guest's second pattern $want2; the second disk at 0: $third"
	} | tee "$W/data.txt"
	[ -n "$want" ] && [ "$first" = "$want" ] && [ "$second" = "$want" ] &&
		[ -n "$want2" ] && [ "$third" = "$want2" ] ||
		fail "the data disks do not hold what the guest wrote"
	if [ "$NVME" != 0 ]; then
		want3=$(tr -d '\r' <"$W/serial.log" | sed -n 's/^vp: L2: disk3 pattern \([0-9a-f]*\) .*/\1/p' | head -n 1)
		fourth=$(dd if="$W/nvme.img" bs=1M count=1 status=none | md5sum | cut -d' ' -f1)
		echo "guest's third pattern $want3; the NVMe namespace at 0: $fourth" | tee -a "$W/data.txt"
		[ -n "$want3" ] && [ "$fourth" = "$want3" ] || fail "the NVMe namespace does not hold what the guest wrote"
	fi
	grep -a -q 'powering off' "$W/serial.log" || fail "init did not power off"
	grep -a -q 'reboot: Power down' "$W/serial.log" || fail "kernel did not power down"
	echo "machine ended $(since) s after QEMU started ($USERSPACE)"
	exit 0
fi

# ---- 6. the end
step "power off: Ctrl-Alt-Del -> SIGINT to init (PID 1) -> servers stopped -> ACPI power off"
python3 - "$W/mon.sock" <<'PY' || fail "unable to reach the QEMU monitor"
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"sendkey ctrl-alt-delete\n")
time.sleep(0.5)
s.close()
PY
machine_ended 120 "Ctrl-Alt-Del"
sed -n '/ mhcl-init: .*signal [0-9]*: stopping/,$p' "$W/serial.times" | sed 's/^/  /'
grep -a -q 'powering off' "$W/serial.log" || fail "init did not power off"
grep -a -q 'reboot: Power down' "$W/serial.log" || fail "kernel did not power down"
echo "machine ended $(since) s after QEMU started ($USERSPACE)"
