#!/usr/bin/env bash
# Boots an unmodified Debian guest (L2) on mhcl-vp inside an L1 KVM under TCG (L0) and
# checks that it reaches hv_vmbus: Hyper-V detected, SynIC enabled, and its VMBus
# INITIATE_CONTACT arriving at the worker as an HvPostMessage hypercall, answered by the
# VMBus control plane through the guest's SynIC message page (VERSION_RESPONSE), up to
# hv_utils binding a heartbeat channel served over the VMBus data path. One L1 boot runs
# the guest twice: first on a worker with no VMBus server (the guest must fall back through
# every protocol version and give up cleanly), then with the in-process control plane.
# Usage: tests/vm/run.sh [BUILD_DIR]   (exit 0 pass, 1 fail, 77 skip)
# Env: MHCL_VM_TIMEOUT (seconds for the whole L1 run, default 540), MHCL_VM_WORK
# (work folder, default BUILD_DIR/vm-boot), MHCL_VM_VERBOSE=1 (full L2 kernel log),
# MHCL_VM_CPUS (guest VPs, default 2), MHCL_VM_DEBUG=1 (worker debug log).
set -euo pipefail
. "$(dirname "$0")/vmlib.sh"

BUILD=$(cd "${1:-$VM_ROOT/build}" && pwd)
WORK=${MHCL_VM_WORK:-$BUILD/vm-boot}
LIMIT=${MHCL_VM_TIMEOUT:-540}
mkdir -p "$WORK"

vm_require_tools
vm_kernel
# The Hyper-V guest drivers and what hv_storvsc needs, in load order; with no storage or
# network channel offered, hv_storvsc and hv_netvsc just register.
vm_l2_initramfs "$WORK" drivers/hv/hv_vmbus drivers/hv/hv_utils drivers/scsi/scsi_common \
	drivers/scsi/scsi_mod drivers/scsi/scsi_transport_fc drivers/scsi/sd_mod drivers/scsi/hv_storvsc \
	drivers/net/hyperv/hv_netvsc

QUIET=quiet
[ "${MHCL_VM_VERBOSE:-0}" = 1 ] && QUIET=
DBG=
[ -n "${MHCL_VM_DEBUG:-}" ] && DBG=--debug
CMDLINE="console=ttyS0 reboot=k panic=-1 $QUIET"
cat >"$WORK/l1-tail.sh" <<SH
echo "L1: phase no-vmbus"
mhcl-vp $DBG --cpus 1 --kernel /vmlinuz --initrd /l2.cpio.gz --mem 256 --cmdline "$CMDLINE" &&
	echo "L1: mhcl-vp exited 0" || echo "L1: mhcl-vp exited \$?"
echo "L1: phase vmbus"
mhcl-vp $DBG --vmbus --cpus ${MHCL_VM_CPUS:-2} --kernel /vmlinuz --initrd /l2.cpio.gz --mem 256 \\
	--cmdline "$CMDLINE" && echo "L1: mhcl-vp exited 0" || echo "L1: mhcl-vp exited \$?"
echo "L1: phases done"
SH
vm_l1_initramfs "$WORK" "$BUILD" "$WORK/l1-tail.sh"

LOG=$WORK/console.log
start=$(date +%s)
rc=0
vm_run_l1 "$WORK" "$LIMIT" "$LOG" || rc=$?
echo "vm: L0 run took $(($(date +%s) - start)) s (qemu rc $rc); log: $LOG"
tr -d '\r' <"$LOG" | grep -a -E '^(L1|L2): |mhcl-vp: ' || true

fail=0
phase() { tr -d '\r' <"$LOG" | sed -n "/L1: phase $1\$/,/^L1: phase/p"; }
expect() {
	if phase "$1" | grep -a -E "$3" >/dev/null; then
		echo "PASS: [$1] $2"
	else
		echo "FAIL: [$1] $2 (no line matching /$3/)"
		fail=1
	fi
}
expect no-vmbus "worker got INITIATE_CONTACT 5.3 and refused it" 'mhcl-vp: .*HvPostMessage .*INITIATE_CONTACT version 5\.3 -> status 0x12'
expect no-vmbus "guest fell back to the oldest version" 'mhcl-vp: .*HvPostMessage .*INITIATE_CONTACT version 2\.4 -> status 0x12'
expect no-vmbus "L2 hv_vmbus gave up cleanly" '^L2: .*hv_vmbus: Unable to connect'
expect no-vmbus "L2 init finished" '^L2: done$'
expect no-vmbus "worker exited cleanly" '^L1: mhcl-vp exited 0'
expect vmbus "L2 detected Hyper-V" '^L2: .*Hyper-V: privilege flags'
expect vmbus "worker saw SynIC enabled" 'mhcl-vp: .*SynIC enabled on VP 0'
expect vmbus "worker got INITIATE_CONTACT" 'mhcl-vp: .*HvPostMessage .*INITIATE_CONTACT version'
expect vmbus "worker answered: VMBus connected" 'mhcl-vp: .*VMBus connected: protocol'
expect vmbus "L2 negotiated VMBus" '^L2: .*hv_vmbus: Vmbus version:'
expect vmbus "L2 hv_utils bound the heartbeat channel" '^L2: .*Heartbeat IC version'
expect vmbus "L2 lists the VMBus device" '^L2: vmbus device '
expect vmbus "worker: guest answered a heartbeat over the ring" 'mhcl-vp: .*heartbeat IC .*guest answered sequence'
expect vmbus "L2 registered hv_storvsc and hv_netvsc" '^L2: .*registering driver hv_storvsc'
expect vmbus "L2 init finished" '^L2: done$'
expect vmbus "worker exited cleanly" '^L1: mhcl-vp exited 0'
exit $fail
