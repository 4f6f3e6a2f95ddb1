#!/bin/sh
# `make demo`: one story, each step saying what it shows.
#   1. the mhcl image runs the guest (scripts/demo-image.sh): the image (boot shim, sidecar,
#      Linux, mhcl-init as PID 1) boots under QEMU TCG with the host's guest disk; its
#      boot stages with their times; the unmodified Debian guest comes up on the image's
#      own VP worker, vmbusd and icd (CPU 1 handed from the sidecar to Linux for its
#      VPs), its two SCSI disks from storaged and its NIC from netd; mhcl ps, sidecar and
#      the guest's VMBus from the host; icd, storaged and netd restarted and killed under
#      the guest, which notices nothing; `mhcl guest shutdown`, and the image powers
#      itself off; then what the guest printed (MHCL_IMAGE_NVME=1 adds an NVMe disk);
#   2. the guest's SCSI disks served by mhcl-storaged (files, a block device, and QEMU's
#      NVMe through mhcl's own userspace driver over VFIO) in the L0 TCG / L1 KVM / L2
#      topology: ext4 and fio with verification while storaged is restarted and killed
#      (tests/vm/storage/storage-boot.sh);
#   3. the guest's NIC served by mhcl-netd from a TAP, then through mhcl's MANA driver and
#      the GDMA/MANA test device: ping and iperf3 both ways while netd is restarted and
#      killed (tests/vm/net/net-boot.sh).
# Steps 2 and 3 show what the image's default run does not (NVMe, ext4 and fio, MANA, iperf3)
# with the servers in the test topology's L1. Refusals, fallbacks and the hosted supervision tests are in
# `make test`. MHCL_DEMO_IMAGE, MHCL_DEMO_STORAGE, MHCL_DEMO_NET = 0 leave a step out.
set -eu
B=$(cd "${1:-build}" && pwd)
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
command -v qemu-system-x86_64 >/dev/null || { echo "demo: qemu-system-x86_64 not found"; exit 1; }

if [ "${MHCL_DEMO_IMAGE:-1}" != 0 ]; then
	step "1. the mhcl image runs an unmodified Linux guest (QEMU TCG -smp 8, about a minute)"
	rc=0
	scripts/demo-image.sh "$B" || rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
fi

if [ "${MHCL_DEMO_STORAGE:-1}" != 0 ]; then
	step "2. the guest's SCSI disks served by mhcl-storaged: a file, a block device and an NVMe"
	echo "namespace (QEMU's NVMe via VFIO, driven by mhcl's own driver); L2 makes ext4 on two of"
	echo "them and runs fio with crc32c verification while storaged is restarted and killed,"
	echo "twice each; the NVMe controller is adopted live every time (about 3 minutes under TCG)"
	rc=0
	tests/vm/storage/storage-boot.sh "$B" || rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
fi

if [ "${MHCL_DEMO_NET:-1}" != 0 ]; then
	step "3. the guest's NIC served by mhcl-netd from a TAP interface in L1: L2 pings L1 and"
	echo "runs iperf3 both ways while netd is restarted and killed, three times each; the"
	echo "guest's link stays up and its TCP connections carry on (about 2 minutes under TCG)"
	rc=0
	tests/vm/net/net-boot.sh "$B" || rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
	step "3b. the same guest's NIC through MANA: mhcl-netd drives the GDMA/MANA test device"
	echo "(mhcl-gdma-emu in L1, its vPort on the TAP) with mhcl's own MANA driver over"
	echo "vfio-user; the guest pings and runs iperf3 both ways through it (about a minute)"
	rc=0
	MHCL_NET_BACKEND=mana tests/vm/net/net-boot.sh "$B" || rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
fi
