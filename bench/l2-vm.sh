#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The unmodified L2 guest through mhcl against the same guest through QEMU's virtio devices,
# in one L1 boot (the L0/L1/L2 topology of tests/vm/vmlib.sh), one phase after the other:
#   (a) mhcl: mhcl-init runs diagd, vmbusd, icd, storaged (LUN 0: the file /data/bench.img)
#       and netd (TAP mhcl0, 4 queues); mhcl-vp boots L2 (2 VPs, 512 MiB) with the Hyper-V
#       drivers (hv_storvsc, hv_netvsc); L1 is 10.0.2.1, L2 10.0.2.2.
#   (b) QEMU inside L1 with KVM (-cpu host, 2 vCPUs, 512 MiB) boots the same kernel with
#       virtio_blk on the same file and virtio_net on the TAP qv0 with vhost off, so both
#       device models run in L1's user space; L1 is 10.0.3.1, L2 10.0.3.2.
# In both, L2's init runs the same fio and iperf3 binaries with the same parameters: 4 KiB
# random reads at QD 32 (libaio, direct, 15 s) on the whole disk, then iperf3 to L1 for
# 15 s and from L1 (-R) for 15 s, prints "L2: bench <mhcl|qemu> <key> <value>" lines,
# and resets (the worker and QEMU's -no-reboot turn that into their exit).
# The disk is a 256 MiB file in L1's tmpfs (written full, so every block is a real page):
# both backends then read the same memory and the figure is the device path, not L0's
# emulated disk under TCG, which would dominate both. tmpfs on Linux 6.1 refuses O_DIRECT,
# so storaged opens it buffered (its fallback) and QEMU gets cache=writeback (cache=none
# needs O_DIRECT) with aio=io_uring, the engine storaged uses.
# With MHCL_BENCH_ROUNDS=N the boot runs N rounds, the phases in ABBA order (mhcl, QEMU,
# QEMU, mhcl, ...) so a drift in the shared machine's load weighs on both alike, and each
# figure is the median over the rounds.
# Prints two markdown tables with the ratio mhcl / QEMU; the absolute figures are nested
# TCG figures and swing with the machine's load, so quote the ratio. Nothing asserts on
# time: each phase is bounded (600 s in L1), and one that produced no figure prints '-'
# and is named below the tables. Exits non-zero only when the run cannot be set up.
# Usage: bench/l2-vm.sh [BUILD_DIR]. Env: MHCL_BENCH_ROUNDS (default 1), MHCL_VM_TIMEOUT
# (seconds, default 300 + 900 per round), MHCL_VM_WORK (default BUILD_DIR/vm-l2bench),
# VM_L1_MEM (MiB, default 3072 here), VM_L1_SMP (L1's CPUs, default 1: both device models
# and both guests' two vCPUs share it).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/vm/vmlib.sh

B=${1:-build}
[ -f "$B/build.ninja" ] || meson setup "$B" >/dev/null
ninja -C "$B" >/dev/null
BUILD=$(cd "$B" && pwd)
WORK=${MHCL_VM_WORK:-$BUILD/vm-l2bench}
ROUNDS=${MHCL_BENCH_ROUNDS:-1}
LIMIT=${MHCL_VM_TIMEOUT:-$((300 + 900 * ROUNDS))}
mkdir -p "$WORK"

vm_require_tools
for t in dtc fio iperf3; do
	command -v $t >/dev/null 2>&1 || vm_die "$t not found"
done
vm_kernel
QEMU=$(command -v qemu-system-x86_64)
FW=()
for f in bios-256k.bin kvmvapic.bin linuxboot_dma.bin; do
	p=
	for d in $("$QEMU" -L help); do [ -z "$p" ] && [ -f "$d/$f" ] && p=$d/$f; done
	[ -n "$p" ] || vm_die "QEMU firmware $f not found"
	FW+=("$p")
done

# The guest's steps, the same in both phases; the phase's name and addresses come on the
# kernel command line.
rm -rf "$WORK/l2-common" && mkdir -p "$WORK/l2-common"
vm_copy_with_libs "$(command -v fio)" "$WORK/l2-common"
vm_copy_with_libs "$(command -v iperf3)" "$WORK/l2-common"
cat >"$WORK/l2-common/l2-tail.sh" <<'SH'
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^bench\.$1=//p"; }
tag=$(arg tag) ip=$(arg ip) peer=$(arg peer)
d=
for i in $(seq 1 150); do
	d=$(ls /sys/block | grep -E '^(sd|vd)[a-z]$' | head -1)
	[ -n "$d" ] && [ -b /dev/$d ] && break
	sleep 0.2
done
echo "L2: bench $tag cpus $(nproc) $(grep MemTotal /proc/meminfo | tr -s ' ') disk ${d:-none} sectors $(cat /sys/block/$d/size 2>/dev/null)"
if [ -n "$d" ]; then
	/usr/bin/fio --name=b --filename=/dev/$d --direct=1 --ioengine=libaio --iodepth=32 \
		--rw=randread --bs=4k --time_based --runtime=15 --minimal >/tmp/fio 2>&1
	echo "L2: bench $tag fio rc $?"
	echo "L2: bench $tag read_iops $(cut -d';' -f8 /tmp/fio)"
fi
for i in $(seq 1 150); do [ -e /sys/class/net/eth0 ] && break; sleep 0.2; done
ip link set eth0 up
ip addr add $ip/24 dev eth0
for i in $(seq 1 150); do [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" = 1 ] && break; sleep 0.2; done
echo "L2: bench $tag eth0 driver $(basename $(readlink /sys/class/net/eth0/device/driver) 2>/dev/null) rx queues $(ls -d /sys/class/net/eth0/queues/rx-* | wc -l)"
# L1's iperf3 server is up before the guest boots; wait for the link to carry a ping.
for i in $(seq 1 60); do ping -c 1 -W 1 $peer >/dev/null 2>&1 && break; done
mbps() { # FILE: the receiver's rate of the summary
	awk '/receiver/ { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }' $1
}
/usr/bin/iperf3 -c $peer -t 15 -f m >/tmp/tx 2>&1
echo "L2: bench $tag iperf tx rc $?"
echo "L2: bench $tag tx_mbps $(mbps /tmp/tx)"
/usr/bin/iperf3 -c $peer -t 15 -f m -R >/tmp/rx 2>&1
echo "L2: bench $tag iperf rx rc $?"
echo "L2: bench $tag rx_mbps $(mbps /tmp/rx)"
grep -iE 'error|unable' /tmp/fio /tmp/tx /tmp/rx | sed "s/^/L2: bench $tag error: /"
echo "L2: bench $tag end"
SH

# (a) the Hyper-V drivers; (b) virtio and what virtio_blk and virtio_net depend on
# (modinfo -F depends).
rm -rf "$WORK/l2-extra" && cp -a "$WORK/l2-common" "$WORK/l2-extra"
vm_l2_initramfs "$WORK" drivers/hv/hv_vmbus drivers/hv/hv_utils drivers/scsi/scsi_common \
	drivers/scsi/scsi_mod drivers/scsi/scsi_transport_fc drivers/scsi/sd_mod \
	drivers/scsi/hv_storvsc drivers/net/hyperv/hv_netvsc
mkdir -p "$WORK/virtio"
rm -rf "$WORK/virtio/l2-extra" && cp -a "$WORK/l2-common" "$WORK/virtio/l2-extra"
vm_l2_initramfs "$WORK/virtio" drivers/virtio/virtio_ring drivers/virtio/virtio \
	drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci_modern_dev \
	drivers/virtio/virtio_pci drivers/block/virtio_blk net/core/failover \
	drivers/net/net_failover drivers/net/virtio_net

CMDLINE="console=ttyS0 reboot=k panic=-1 quiet"
rm -rf "$WORK/l1-extra" && mkdir -p "$WORK/l1-extra/mod" "$WORK/l1-extra/data" "$WORK/l1-extra/usr/share/qemu"
cp "$VM_MOD/drivers/net/tun.ko" "$WORK/l1-extra/mod/"
vm_copy_with_libs "$(command -v iperf3)" "$WORK/l1-extra"
vm_copy_with_libs "$QEMU" "$WORK/l1-extra"
cp "${FW[@]}" "$WORK/l1-extra/usr/share/qemu/"
cp "$WORK/virtio/l2.cpio.gz" "$WORK/l1-extra/l2v.cpio.gz"
{
	vm_manifest_head "$VM_ALLOW_STORAGE" "$VM_ALLOW_NET"
	cat <<DTS
	storage { binary = "mhcl-storaged";
		args = "--vmbus-socket", "\${RUN}/vmbus-dev.sock", "--disk", "file=/data/bench.img,lun=0";
		policy = "storaged"; $VM_ID_STORAGE
		device-files = "/data/bench.img"; restart = "always"; restart-delay-ms = <100>; start-order = <27>; prestart; };
	net { binary = "mhcl-netd";
		args = "--vmbus-socket", "\${RUN}/vmbus-dev.sock", "--tap", "mhcl0", "--queues", "4",
			"--mac", "02:6d:68:63:6c:01";
		policy = "netd"; $VM_ID_NET device-files = "/dev/net/tun"; restart = "always"; restart-delay-ms = <100>; start-order = <28>; prestart; };
	vp { binary = "mhcl-vp";
		args = "--vmbusd", "\${RUN}/vmbus.sock", "--cpus", "2", "--mem", "512",
			"--kernel", "/vmlinuz", "--initrd", "/l2.cpio.gz",
			"--cmdline", "$CMDLINE bench.tag=mhcl bench.ip=10.0.2.2 bench.peer=10.0.2.1";
		policy = "vp"; $VM_ID_VP restart = "never"; start-order = <30>; ready-timeout-ms = <30000>;
		stop-timeout-ms = <5000>; };
}; }; };
DTS
} >"$WORK/l1-manifest.dts"
dtc -q -I dts -O dtb -o "$WORK/l1-extra/l1-manifest.dtb" "$WORK/l1-manifest.dts"

cat >"$WORK/l1-tail.sh" <<SH
QEMU_CMDLINE="$CMDLINE bench.tag=qemu bench.ip=10.0.3.2 bench.peer=10.0.3.1"
ROUNDS=$ROUNDS
SH
cat >>"$WORK/l1-tail.sh" <<'SH'
insmod /mod/tun.ko || echo "L1: insmod tun failed"
mkdir -p /data
dd if=/dev/zero of=/data/bench.img bs=1M count=256 2>/dev/null
echo "L1: bench.img $(stat -c %s /data/bench.img) bytes on $(stat -f -c %T /data)"
/usr/bin/iperf3 -s >/tmp/iperf-server 2>&1 &
up() { # IF ADDR: the TAP its device model creates, once it exists
	for i in $(seq 1 300); do [ -e /sys/class/net/$1 ] && break; sleep 0.2; done
	ip addr add $2/24 dev $1
	ip link set $1 up
	echo "L1: $1 $2 up: $(cat /sys/class/net/$1/operstate 2>/dev/null)"
}

phase_mhcl() {
	echo "L1: phase mhcl start"
	rm -rf /run/mhcl && mkdir -p /run/mhcl
	export MHCL_DIAG=unix:/run/mhcl/diag.sock
	mhcl-init --dtb /l1-manifest.dtb --run-dir /run/mhcl --libexec /usr/bin >/tmp/init.log 2>&1 &
	INIT=$!
	up mhcl0 10.0.2.1
	end=$(($(date +%s) + 600))
	while [ $(date +%s) -lt $end ]; do
		grep -q '^vp \[init\]: pid .* exited' /tmp/init.log && break
		sleep 1
	done
	kill -TERM $INIT
	wait $INIT; echo "L1: mhcl-init exited $?"
	cat /tmp/init.log
	echo "L1: phase mhcl end"
}
phase_qemu() {
	echo "L1: phase qemu start"
	: >/tmp/qemu-l2.log
	qemu-system-x86_64 -L /usr/share/qemu -enable-kvm -cpu host -smp 2 -m 512 \
		-nodefaults -no-user-config -vga none -display none -no-reboot \
		-chardev file,id=s0,path=/tmp/qemu-l2.log,append=on -serial chardev:s0 \
		-kernel /vmlinuz -initrd /l2v.cpio.gz -append "$QEMU_CMDLINE" \
		-drive file=/data/bench.img,if=virtio,format=raw,cache=writeback,aio=io_uring \
		-netdev tap,id=n0,ifname=qv0,script=no,downscript=no,vhost=off \
		-device virtio-net-pci,netdev=n0,romfile= >/tmp/qemu.out 2>&1 &
	QPID=$!
	# The guest's console as it comes (a guest that stops shows where).
	tail -f /tmp/qemu-l2.log | while IFS= read -r l; do echo "qemu: $l"; done &
	TAIL=$!
	up qv0 10.0.3.1
	end=$(($(date +%s) + 600))
	while [ $(date +%s) -lt $end ]; do kill -0 $QPID 2>/dev/null || break; sleep 1; done
	kill $QPID 2>/dev/null && echo "L1: QEMU still running after 600 s, stopped"
	wait $QPID; echo "L1: QEMU exited $?"
	sleep 1
	kill $TAIL
	sed 's/^/qemu: /' /tmp/qemu.out
	echo "L1: phase qemu end"
}
# ABBA order over rounds: a drift in the machine's load weighs on both alike.
for r in $(seq 1 $ROUNDS); do
	echo "L1: round $r"
	if [ $((r % 2)) = 1 ]; then phase_mhcl; phase_qemu; else phase_qemu; phase_mhcl; fi
done
echo "L1: phases done"
SH
vm_l1_initramfs "$WORK" "$BUILD" "$WORK/l1-tail.sh" worker/bin/mhcl-vp init/mhcl-init \
	servers/diag/mhcl-diagd servers/vmbus/mhcl-vmbusd servers/ic/mhcl-icd \
	servers/storage/mhcl-storaged servers/net/mhcl-netd tools/mhcl

LOG=$WORK/console.log
start=$(date +%s)
rc=0
VM_L1_MEM=${VM_L1_MEM:-3072} vm_run_l1 "$WORK" "$LIMIT" "$LOG" || rc=$?
echo "L0 run took $(($(date +%s) - start)) s (qemu rc $rc); log: $LOG"
echo

# fig PHASE KEY: the figure the guest printed (the median over rounds), or '-'.
fig() {
	local v
	v=$(tr -d '\r' <"$LOG" | sed -n "s/.*L2: bench $1 $2 \([0-9][0-9.]*\).*/\1/p" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
	echo "${v:--}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2f", a / b; else print "-" }'; }
si=$(fig mhcl read_iops) qi=$(fig qemu read_iops)
st=$(fig mhcl tx_mbps) qt=$(fig qemu tx_mbps)
sr=$(fig mhcl rx_mbps) qr=$(fig qemu rx_mbps)
echo "| storage: 4 KiB random read, QD 32, fio libaio direct, 15 s | mhcl (hv_storvsc, mhcl-storaged) | QEMU virtio-blk (KVM in L1) | mhcl / QEMU |"
echo "|---|---|---|---|"
echo "| IOPS, 256 MiB file in L1's tmpfs | $si | $qi | $(ratio "$si" "$qi") |"
echo
echo "| network: iperf3 TCP, 15 s | mhcl (hv_netvsc, mhcl-netd, TAP) | QEMU virtio-net (TAP, vhost off) | mhcl / QEMU |"
echo "|---|---|---|---|"
echo "| L2 to L1 (Mbit/s) | $st | $qt | $(ratio "$st" "$qt") |"
echo "| L1 to L2, -R (Mbit/s) | $sr | $qr | $(ratio "$sr" "$qr") |"
[ "$ROUNDS" = 1 ] || echo "(each figure: the median of $ROUNDS rounds, phases in ABBA order)"
for p in mhcl qemu; do
	for k in read_iops tx_mbps rx_mbps; do
		n=$(tr -d '\r' <"$LOG" | grep -a -c "L2: bench $p $k [0-9]" || true)
		[ "$n" = "$ROUNDS" ] || echo "(phase $p gave $n of $ROUNDS $k figures: see $LOG)"
	done
done
grep -a -q '^L1: phases done' "$LOG" || echo "(L1 did not finish its phases: stalled or timed out, see $LOG)"
exit 0
