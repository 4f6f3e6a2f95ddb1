#!/bin/sh
# `make demo`: mhcl end to end on its built-in default manifest.
#   1. hosted: mhcl-init supervises the servers of dts/default.dts; the mhcl CLI
#      lists them, inspects them, restarts one, kills one and watches init revive
#      it, then init stops everything in order.
#   2. guest (when qemu-system-x86_64 is present and MHCL_DEMO_VM != 0): an
#      unmodified Linux guest boots on mhcl-vp inside the L0 TCG / L1 KVM
#      topology and connects to mhcl's VMBus; icd and vmbusd are restarted and killed
#      under it without the guest noticing (tests/vm/run.sh).
#   3. storage (when qemu-system-x86_64 is present and MHCL_DEMO_STORAGE != 0): the guest's
#      hv_storvsc gets SCSI disks from mhcl-storaged (files, a block device, and QEMU's NVMe
#      through mhcl's own userspace driver over VFIO), makes ext4 and runs fio with
#      verification while storaged is restarted and killed (tests/vm/storage/storage-boot.sh).
#   4. network (when qemu-system-x86_64 is present and MHCL_DEMO_NET != 0): the guest's
#      hv_netvsc gets its NIC from mhcl-netd over a TAP in L1; ping and iperf3 both ways
#      while netd is restarted and killed (tests/vm/net/net-boot.sh).
#   5. image (when qemu-system-x86_64 is present and MHCL_DEMO_IMAGE != 0): the mhcl image
#      (shim, sidecar, Linux, mhcl-init) boots under QEMU TCG -smp 8; boot stages with
#      timestamps, mhcl ps / sidecar / sidecar online 3 from the host, power off
#      (scripts/demo-image.sh).
set -eu
B=$(cd "${1:-build}" && pwd)
cd "$(dirname "$0")/.."
RUN=$(mktemp -d /tmp/mhcl-demo.XXXXXX)
MHCL="$B/tools/mhcl"
export MHCL_DIAG="unix:$RUN/diag.sock"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

cleanup() {
	[ -n "${INIT_PID:-}" ] && kill "$INIT_PID" 2>/dev/null && wait "$INIT_PID" 2>/dev/null
	rm -rf "$RUN"
}
trap cleanup EXIT INT TERM

step "starting mhcl-init (hosted) with the default manifest"
echo "$ mhcl-init --dtb $B/dts/default.dtb --run-dir $RUN"
"$B/init/mhcl-init" --dtb "$B/dts/default.dtb" --libexec "$B/servers/diag:$B/servers/vmbus:$B/worker/bin" \
	--run-dir "$RUN" >"$RUN/init.log" 2>&1 &
INIT_PID=$!

# Readiness: poll the diag socket instead of sleeping a fixed time.
i=0
until "$MHCL" --timeout 500 ps >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "diag did not come up"; cat "$RUN/init.log"; exit 1; }
	sleep 0.1
done

wait_running() { # SERVER OLD_PID: wait until SERVER runs with a pid other than OLD_PID
	i=0
	while :; do
		line=$("$MHCL" --timeout 500 ps 2>/dev/null | awk -v s="$1" '$1 == s')
		pid=$(echo "$line" | awk '{print $2}')
		state=$(echo "$line" | awk '{print $3}')
		[ "$state" = running ] && [ "$pid" != "$2" ] && return 0
		i=$((i + 1))
		[ $i -lt 150 ] || { echo "$1 did not come back"; return 1; }
		sleep 0.1
	done
}
pid_of() { "$MHCL" ps | awk -v s="$1" '$1 == s {print $2}'; }

step "the servers init supervises"
run "$MHCL" ps

step "inspect: every server answers with a tree of typed values"
run "$MHCL" inspect
run "$MHCL" inspect init/servers/diag/state

step "planned restart: the server saves its state, init starts a new instance"
old=$(pid_of diag)
run "$MHCL" restart diag || true
wait_running diag "$old"
run "$MHCL" ps

step "fault injection: SIGKILL, and init revives the server after its backoff"
old=$(pid_of diag)
run "$MHCL" kill diag || true
wait_running diag "$old"
run "$MHCL" ps

step "seccomp: the server makes a forbidden syscall; only it dies, init says which syscall"
old=$(pid_of diag)
run "$MHCL" kill diag --fault syscall || true
wait_running diag "$old"
run "$MHCL" ps

step "what init logged about the servers"
run "$MHCL" logs

step "the effective manifest"
run "$MHCL" config

step "orderly stop (SIGTERM to init)"
kill "$INIT_PID"
wait "$INIT_PID" || true
INIT_PID=
tail -n 4 "$RUN/init.log"

if [ "${MHCL_DEMO_VM:-1}" != 0 ] && command -v qemu-system-x86_64 >/dev/null; then
	step "an unmodified Linux guest on mhcl-vp connects to mhcl's VMBus (L0 TCG -> L1 KVM -> L2);"
	echo "mhcl-icd and mhcl-vmbusd are restarted and killed under it, twice each, and the guest"
	echo "notices nothing: the heartbeat climbs, no device is rescinded, each IC negotiated once"
	echo "(builds the L1/L2 images from Debian packages on first use; about a minute under TCG)"
	tests/vm/run.sh "$B"
fi

if [ "${MHCL_DEMO_STORAGE:-1}" != 0 ] && command -v qemu-system-x86_64 >/dev/null; then
	step "the guest's SCSI disks served by mhcl-storaged: a file, a block device and an NVMe"
	echo "namespace (QEMU's NVMe via VFIO, driven by mhcl's own driver); L2 makes ext4 on two of"
	echo "them and runs fio with crc32c verification while storaged is restarted and killed,"
	echo "twice each; the NVMe controller is adopted live every time (about 3 minutes under TCG)"
	rc=0
	tests/vm/storage/storage-boot.sh "$B" || rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
fi

if [ "${MHCL_DEMO_NET:-1}" != 0 ] && command -v qemu-system-x86_64 >/dev/null; then
	step "the guest's NIC served by mhcl-netd from a TAP interface in L1: L2 pings L1 and"
	echo "runs iperf3 both ways while netd is restarted and killed, three times each; the"
	echo "guest's link stays up and its TCP connections carry on (about 2 minutes under TCG)"
	rc=0
	tests/vm/net/net-boot.sh "$B" || rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
	step "the same guest's NIC through MANA: mhcl-netd drives the GDMA/MANA test device"
	echo "(mhcl-gdma-emu in L1, its vPort on the TAP) with mhcl's own MANA driver over"
	echo "vfio-user; the guest pings and runs iperf3 both ways through it (about a minute)"
	rc=0
	MHCL_NET_BACKEND=mana tests/vm/net/net-boot.sh "$B" || rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
fi

if [ "${MHCL_DEMO_IMAGE:-1}" != 0 ] && command -v qemu-system-x86_64 >/dev/null; then
	step "the mhcl image under QEMU TCG -smp 8: boot stages, sidecar CPUs driven from the host"
	rc=0
	scripts/demo-image.sh "$B" || rc=$?
	[ $rc = 0 ] || [ $rc = 77 ] || exit $rc
fi
