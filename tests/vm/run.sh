#!/usr/bin/env bash
# Boots an unmodified Debian guest (L2) on mhcl-vp inside an L1 KVM under TCG (L0) and
# checks that it reaches hv_vmbus: Hyper-V detected, SynIC enabled, and its VMBus
# INITIATE_CONTACT arriving at the worker as an HvPostMessage hypercall, answered by the
# VMBus control plane through the guest's SynIC message page (VERSION_RESPONSE).
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
vm_l2_initramfs "$WORK" drivers/hv/hv_vmbus drivers/hv/hv_utils

QUIET=quiet
[ "${MHCL_VM_VERBOSE:-0}" = 1 ] && QUIET=
cat >"$WORK/l1-tail.sh" <<SH
echo "L1: starting mhcl-vp"
mhcl-vp $([ -n "${MHCL_VM_DEBUG:-}" ] && echo --debug) --vmbus --cpus ${MHCL_VM_CPUS:-2} --kernel /vmlinuz --initrd /l2.cpio.gz --mem 256 \\
	--cmdline "console=ttyS0 reboot=k panic=-1 nokaslr $QUIET" && echo "L1: mhcl-vp exited 0" ||
	echo "L1: mhcl-vp exited \$?"
SH
vm_l1_initramfs "$WORK" "$BUILD" "$WORK/l1-tail.sh"

LOG=$WORK/console.log
start=$(date +%s)
rc=0
vm_run_l1 "$WORK" "$LIMIT" "$LOG" || rc=$?
echo "vm: L0 run took $(($(date +%s) - start)) s (qemu rc $rc); log: $LOG"
tr -d '\r' <"$LOG" | grep -a -E '^(L1|L2): |mhcl-vp: ' || true

fail=0
expect() {
	if tr -d '\r' <"$LOG" | grep -a -q -E "$2"; then
		echo "PASS: $1"
	else
		echo "FAIL: $1 (no line matching /$2/)"
		fail=1
	fi
}
expect "L2 detected Hyper-V" '^L2: .*Hyper-V: privilege flags'
expect "L2 loaded hv_vmbus" '^L2: .*hv_vmbus'
expect "worker saw SynIC enabled" 'mhcl-vp: .*SynIC enabled on VP 0'
expect "worker got INITIATE_CONTACT" 'mhcl-vp: .*HvPostMessage .*INITIATE_CONTACT'
expect "worker answered: VMBus connected" 'mhcl-vp: .*VMBus connected: protocol'
expect "L2 negotiated VMBus" '^L2: .*hv_vmbus: Vmbus version:'
expect "L2 hv_utils bound the heartbeat channel" '^L2: .*Heartbeat IC version'
expect "L2 lists the VMBus device" '^L2: vmbus device '
expect "worker: guest answered a heartbeat over the ring" 'mhcl-vp: .*heartbeat IC .*guest answered sequence'
expect "L2 init finished" '^L2: done$'
expect "worker exited cleanly" '^L1: mhcl-vp exited 0'
exit $fail
