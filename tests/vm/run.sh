#!/usr/bin/env bash
# Boots an unmodified Debian guest (L2) on mhcl-vp inside an L1 KVM under TCG (L0). One L1
# boot runs the guest twice:
#   no-vmbus: mhcl-vp alone, no VMBus server: the guest's INITIATE_CONTACT reaches the
#             worker as an HvPostMessage hypercall, is refused, and the guest falls back
#             through every protocol version and gives up cleanly;
#   init:     mhcl-init in L1 starts mhcl-diagd, mhcl-vmbusd, the device server mhcl-icd
#             and mhcl-vp from a manifest. The guest connects to VMBus through vmbusd
#             (relayed by the worker), lists the heartbeat and shutdown devices icd
#             registered with their class GUIDs, answers heartbeats whose sequence climbs
#             in two `mhcl inspect ic` outputs (channels and counters in `mhcl inspect
#             vmbus`), and powers off cleanly on `mhcl guest shutdown` (diag -> init -> icd
#             -> shutdown IC -> hv_utils -> ACPI S5), after which mhcl-vp exits 0;
#   init-stop: the same servers, stopped by init (SIGTERM) while the guest runs: mhcl-vp
#             stops its VPs and exits 0.
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
command -v dtc >/dev/null 2>&1 || { echo "vm: dtc not found, skipping"; exit 77; }
vm_kernel
# The Hyper-V guest drivers and what hv_storvsc needs, in load order; with no storage or
# network channel offered, hv_storvsc and hv_netvsc just register.
vm_l2_initramfs "$WORK" drivers/hv/hv_vmbus drivers/hv/hv_utils drivers/scsi/scsi_common \
	drivers/scsi/scsi_mod drivers/scsi/scsi_transport_fc drivers/scsi/sd_mod drivers/scsi/hv_storvsc \
	drivers/net/hyperv/hv_netvsc

QUIET=quiet
[ "${MHCL_VM_VERBOSE:-0}" = 1 ] && QUIET=
DBG=
[ -n "${MHCL_VM_DEBUG:-}" ] && DBG='"--debug", '
CMDLINE="console=ttyS0 reboot=k panic=-1 $QUIET"

# The L1 manifest: diag, then vmbusd, then icd, then the worker (each starts when the one
# before is ready). diag and the worker never restart: a crash must show up as a failure.
rm -rf "$WORK/l1-extra" && mkdir -p "$WORK/l1-extra"
{
	vm_manifest_head
	cat <<DTS
	vp {
		binary = "mhcl-vp";
		args = $DBG"--vmbusd", "\${RUN}/vmbus.sock", "--cpus", "${MHCL_VM_CPUS:-2}", "--mem", "256",
			"--kernel", "/vmlinuz", "--initrd", "/l2.cpio.gz",
			"--cmdline", "$CMDLINE mhcl.wait_shutdown=1";
		policy = "vp";
		$VM_ID_VP
		restart = "never";
		start-order = <30>;
		ready-timeout-ms = <30000>;
		stop-timeout-ms = <5000>;
	};
}; }; };
DTS
} >"$WORK/l1-manifest.dts"
dtc -q -I dts -O dtb -o "$WORK/l1-extra/l1-manifest.dtb" "$WORK/l1-manifest.dts"

# no-vmbus traces the guest's posts: its checks read the HvPostMessage lines, which are
# not logged by default.
cat >"$WORK/l1-tail.sh" <<SH
echo "L1: phase no-vmbus"
mhcl-vp ${DBG:+--debug} --trace-guest-messages --cpus 1 --kernel /vmlinuz --initrd /l2.cpio.gz --mem 256 --cmdline "$CMDLINE" &&
	echo "L1: mhcl-vp exited 0" || echo "L1: mhcl-vp exited \$?"
echo "L1: phase init"
mkdir -p /run/mhcl
export MHCL_DIAG=unix:/run/mhcl/diag.sock
# Server output goes to a file (init echoes every server line to its stderr), printed at
# the end, so a slow console never drops a line.
mhcl-init --dtb /l1-manifest.dtb --run-dir /run/mhcl --libexec /usr/bin >/tmp/init.log 2>&1 &
INIT=\$!
# Bounded waits (no timing assertions): the guest has opened the shutdown channel and
# printed its devices.
ready=0
for i in \$(seq 1 240); do
	if grep -q '^vp: L2: ready' /tmp/init.log && mhcl inspect ic/shutdown/state 2>/dev/null | grep -q ready; then
		ready=1
		break
	fi
	grep -q '^vp \[init\]: pid .* exited' /tmp/init.log && break
	sleep 1
done
echo "L1: guest ready: \$ready"
mhcl inspect vmbus >/tmp/inspect1 2>&1 || echo "L1: inspect1 failed: \$?"
mhcl inspect ic >/tmp/ic1 2>&1 || echo "L1: ic1 failed: \$?"
s1=\$(sed -n 's/^ *sequence: //p' /tmp/ic1)
for i in \$(seq 1 60); do
	mhcl inspect ic >/tmp/ic2 2>&1 || echo "L1: ic2 failed: \$?"
	s2=\$(sed -n 's/^ *sequence: //p' /tmp/ic2)
	[ -n "\$s2" ] && [ "\$s2" != "\$s1" ] && break
	sleep 1
done
mhcl inspect vmbus >/tmp/inspect2 2>&1 || echo "L1: inspect2 failed: \$?"
# icd restarted (planned) and killed, twice each, while the guest runs: the next instance
# adopts the open channels and the heartbeat sequence keeps climbing.
prev=\$s2
for op in restart kill restart kill; do
	mhcl \$op ic >/dev/null 2>&1
	echo "L1: \$op ic rc \$?"
	now=
	for i in \$(seq 1 60); do
		mhcl inspect ic >/tmp/icr 2>&1
		now=\$(sed -n 's/^ *sequence: //p' /tmp/icr)
		grep -q 'adopted_state: true' /tmp/icr && [ -n "\$now" ] && [ "\$now" -gt "\$prev" ] && break
		sleep 1
	done
	echo "L1: after \$op ic: sequence \$prev -> \$now, adopted \$(grep -c 'adopted_state: true' /tmp/icr)"
	prev=\$now
done
mhcl inspect vmbus/devices | sed 's/^/L1: devices: /'
# vmbusd restarted (planned) and killed, twice each: the worker reattaches, the next vmbusd
# takes the recorded VMBus state over, icd adopts the channels again.
for op in restart kill restart kill; do
	mhcl \$op vmbus >/dev/null 2>&1
	echo "L1: \$op vmbus rc \$?"
	now=
	restores=
	for i in \$(seq 1 60); do
		mhcl inspect ic >/tmp/icr 2>&1
		now=\$(sed -n 's/^ *sequence: //p' /tmp/icr)
		restores=\$(mhcl inspect vmbus/state 2>/dev/null | sed -n 's/^ *restores: //p')
		[ "\$restores" = 1 ] && grep -q 'adopted_state: true' /tmp/icr && [ -n "\$now" ] &&
			[ "\$now" -gt "\$prev" ] && break
		sleep 1
	done
	resc=\$(mhcl inspect vmbus/devices 2>/dev/null | sed -n 's/^ *rescinds: //p')
	echo "L1: after \$op vmbus: sequence \$prev -> \$now, restored \$restores, rescinds \$resc"
	prev=\$now
done
sed 's/^/L1: inspect1: /' /tmp/inspect1
sed 's/^/L1: inspect2: /' /tmp/inspect2
sed 's/^/L1: ic1: /' /tmp/ic1
sed 's/^/L1: ic2: /' /tmp/ic2
mhcl inspect vp | sed 's/^/L1: inspect vp: /'
. /ident.sh # after the restarts: who each instance runs as
rc=0
mhcl guest shutdown >/tmp/shutdown 2>&1 || rc=\$?
sed 's/^/L1: guest shutdown: /' /tmp/shutdown
echo "L1: guest shutdown rc \$rc"
for i in \$(seq 1 120); do
	grep -q '^vp \[init\]: pid .* exited' /tmp/init.log && break
	sleep 1
done
mhcl ps | sed 's/^/L1: ps: /'
kill -TERM \$INIT
wait \$INIT && echo "L1: mhcl-init exited 0" || echo "L1: mhcl-init exited \$?"
cat /tmp/init.log
echo "L1: phase init-stop"
# The guest only has to be up for this phase. A guest that printed nothing at all in 240 s
# (seen once under nested TCG, L1 itself alive) is booted once more; the checks then apply
# to that second boot.
for attempt in 1 2; do
	mhcl-init --dtb /l1-manifest.dtb --run-dir /run/mhcl --libexec /usr/bin >/tmp/init2.log 2>&1 &
	INIT=\$!
	# As long as the first phase waits: a loaded CI host was seen to need more than 120 s here.
	for i in \$(seq 1 240); do
		grep -q '^vp: L2: ready' /tmp/init2.log && break
		grep -q '^vp \[init\]: pid .* exited' /tmp/init2.log && break
		sleep 1
	done
	kill -TERM \$INIT
	for i in \$(seq 1 60); do kill -0 \$INIT 2>/dev/null || break; sleep 1; done
	kill -0 \$INIT 2>/dev/null && { echo "L1: mhcl-init still runs, killing it"; kill -KILL \$INIT; }
	wait \$INIT && echo "L1: mhcl-init exited 0" || echo "L1: mhcl-init exited \$?"
	if [ \$attempt = 1 ] && ! grep -q '^vp: L2: ' /tmp/init2.log; then
		echo "L1: init-stop: the guest printed nothing in 240 s; booting it once more"
		sed 's/^/L1: init-stop first boot: /' /tmp/init2.log
		continue
	fi
	break
done
cat /tmp/init2.log
echo "L1: phases done"
SH
vm_l1_initramfs "$WORK" "$BUILD" "$WORK/l1-tail.sh" worker/bin/mhcl-vp init/mhcl-init \
	servers/diag/mhcl-diagd servers/vmbus/mhcl-vmbusd servers/ic/mhcl-icd tools/mhcl

LOG=$WORK/console.log
start=$(date +%s)
rc=0
# Two CPUs: L1 keeps one for its own userspace while a KVM guest runs on the other (with
# one, L1 was seen to stall for minutes once its guest started, under TCG's nested SVM).
VM_L1_SMP=2 VM_L1_DONE_MARK='^L1: phases done' vm_run_l1 "$WORK" "$LIMIT" "$LOG" || rc=$?
echo "vm: L0 run took $(($(date +%s) - start)) s (qemu rc $rc); log: $LOG"
tr -d '\r' <"$LOG" | grep -a -E '^(L1|L2): |^(vp|vmbus|ic|diag)( \[init\])?: |mhcl-vp: ' || true

fail=0
phase() { tr -d '\r' <"$LOG" | sed -n "/L1: phase $1\$/,/^L1: phase/p"; }
pass() { echo "PASS: [$1] $2"; }
flunk() { echo "FAIL: [$1] $2"; fail=1; }
expect() {
	if phase "$1" | grep -a -E "$3" >/dev/null; then
		pass "$1" "$2"
	else
		flunk "$1" "$2 (no line matching /$3/)"
	fi
}
reject() {
	if phase "$1" | grep -a -E "$3" >/dev/null; then
		flunk "$1" "$2 (a line matches /$3/)"
	else
		pass "$1" "$2"
	fi
}
expect no-vmbus "worker got INITIATE_CONTACT 5.3 and refused it" 'mhcl-vp: .*HvPostMessage .*INITIATE_CONTACT version 5\.3 -> status 0x12'
expect no-vmbus "guest fell back to the oldest version" 'mhcl-vp: .*HvPostMessage .*INITIATE_CONTACT version 2\.4 -> status 0x12'
expect no-vmbus "L2 hv_vmbus gave up cleanly" '^L2: .*hv_vmbus: Unable to connect'
expect no-vmbus "L2 init finished" '^L2: done$'
# KVM's XSAVE area size (CPUID 0xD.0 EBX) agrees with the components the guest enables, so
# Linux keeps XSAVE on instead of warning and turning it off.
for G in no-vmbus init; do
	expect $G "L2 enabled XSAVE" 'L2: .*x86/fpu: Enabled xstate features'
	reject $G "no XSAVE consistency warning in L2" 'L2: .*(XSAVE consistency problem|WARNING: .*fpu/xstate\.c)'
done
expect no-vmbus "worker exited cleanly" '^L1: mhcl-vp exited 0'

G=init
expect $G "init started diag, vmbus, ic and vp" '^vp \[init\]: ready'
expect $G "icd registered the heartbeat offer" '^ic: .*registered offer 1 with vmbusd'
expect $G "icd registered the shutdown offer" '^ic: .*registered offer 2 with vmbusd'
expect $G "the worker attached its partition to vmbusd" '^vmbus: .*partition attached'
expect $G "L2 detected Hyper-V" '^vp: L2: .*Hyper-V: privilege flags'
# The version vmbusd negotiated is the one the guest reports.
host_v=$(phase $G | sed -n 's/^vmbus: .*VMBus connected: protocol \([0-9]*\.[0-9]*\).*/\1/p' | head -1)
guest_v=$(phase $G | sed -n 's/^vp: L2: .*hv_vmbus: Vmbus version:\([0-9]*\.[0-9]*\).*/\1/p' | head -1)
if [ -n "$host_v" ] && [ "$host_v" = "$guest_v" ]; then
	pass $G "VMBus connected: vmbusd and L2 agree on version $host_v"
else
	flunk $G "VMBus version: vmbusd '$host_v', L2 '$guest_v'"
fi
expect $G "doorbells routed to the device's eventfds" '^vp: .*event connection 0x[0-9a-f]+ now signals vmbusd'
expect $G "icd got the opened heartbeat channel" '^ic: .*heartbeat IC on relid [0-9]+ opened'
expect $G "icd got the opened shutdown channel" '^ic: .*shutdown IC on relid [0-9]+ opened'
expect $G "L2 hv_utils bound the heartbeat channel" '^vp: L2: .*Heartbeat IC version'
expect $G "L2 hv_utils bound the shutdown channel" '^vp: L2: .*Shutdown IC version'
expect $G "L2 lists the heartbeat device (class 57164f39-...)" '^vp: L2: vmbus device .* class_id=\{57164f39-9115-4e78-ab55-382f3bd5422d\} device_id=\{'
expect $G "L2 lists the shutdown device (class 0e0b6031-...)" '^vp: L2: vmbus device .* class_id=\{0e0b6031-5213-4934-818b-38d90ced39db\} device_id=\{'
expect $G "the guest was ready for the host" '^L1: guest ready: 1'
# Two `mhcl inspect vmbus` outputs (channels, counters) and two `mhcl inspect ic` outputs
# (the device's data path) from inside L1.
for n in 1 2; do
	expect $G "inspect$n: protocol version" "^L1: inspect$n:   protocol_version: \"[1-9][0-9]*\.[0-9]+\""
	expect $G "inspect$n: connection state" "^L1: inspect$n: +state: \"connected\""
	expect $G "inspect$n: an open channel" "^L1: inspect$n: +state: \"open\""
	expect $G "inspect$n: a ring GPADL in use" "^L1: inspect$n: +ring_in_use: true"
	expect $G "inspect$n: per-channel counters" "^L1: inspect$n: +opens: [1-9]"
	expect $G "ic$n: guest doorbells reached icd" "^L1: ic$n: +doorbells: [1-9]"
	expect $G "ic$n: icd interrupted the guest" "^L1: ic$n: +interrupts: [1-9]"
done
s1=$(phase $G | sed -n 's/^L1: ic1: *sequence: \([0-9]*\)$/\1/p' | head -1)
s2=$(phase $G | sed -n 's/^L1: ic2: *sequence: \([0-9]*\)$/\1/p' | head -1)
if [ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" -gt 0 ] && [ "$s2" -gt "$s1" ]; then
	pass $G "heartbeat sequence climbs: $s1 -> $s2"
else
	flunk $G "heartbeat sequence did not climb: '$s1' -> '$s2'"
fi
# Restarts the guest does not notice: every one adopted, the sequence climbing, no rescind,
# and the guest lists the same devices at the end as at the start.
# check_restarts WHO TAIL WHAT: the four "L1: after OP WHO: sequence A -> B, TAIL" lines,
# in order restart kill restart kill, each with B > A.
check_restarts() {
	ops=$(phase $G | sed -n "s/^L1: after \([a-z]*\) $1: .*/\1/p" | tr '\n' ' ')
	[ "$ops" = "restart kill restart kill " ] && pass $G "$3 restarted and killed twice each" ||
		flunk $G "$3 restarts: '$ops'"
	phase $G | grep "^L1: after [a-z]* $1: " >"$WORK/restarts-$1"
	while read -r line; do
		a=$(echo "$line" | sed -n "s/.*sequence \([0-9]*\) -> \([0-9]*\), $2\$/\1/p")
		b=$(echo "$line" | sed -n "s/.*sequence \([0-9]*\) -> \([0-9]*\), $2\$/\2/p")
		if [ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ]; then
			pass $G "${line#L1: }"
		else
			flunk $G "$3 not taken over, rescinding or no heartbeat: '$line'"
		fi
	done <"$WORK/restarts-$1"
}
check_restarts ic "adopted 1" icd
check_restarts vmbus "restored 1, rescinds 0" vmbusd
# At least once per restart (a connect that reached a vmbusd on its way out is retried).
n=$(phase $G | sed -n 's/^L1: inspect vp: *vmbusd_reconnects: \([0-9]*\)$/\1/p' | head -1)
[ -n "$n" ] && [ "$n" -ge 4 ] && pass $G "the worker reattached to every new vmbusd ($n connects)" ||
	flunk $G "the worker reattached $n times"
# The guest never saw a device go or come: hv_utils negotiated each IC once.
for ic in Heartbeat Shutdown; do
	n=$(phase $G | grep -c "^vp: L2: final: .*$ic IC version" || true)
	[ "$n" = 1 ] && pass $G "L2 negotiated the $ic IC once" ||
		flunk $G "L2 negotiated the $ic IC $n times"
done
expect $G "vmbusd rescinded nothing" '^L1: devices:   rescinds: 0$'
expect $G "vmbusd takes offers only from the uids and GUIDs --device-allow names" '^L1: devices:   offers_restricted: true$'
expect $G "vmbusd handed 8 open channels over" '^L1: devices:   channels_resumed: 8$'
before=$(phase $G | sed -n 's/^vp: L2: vmbus device .* device_id=\(.*\)$/\1/p' | sort | tr '\n' ' ')
after=$(phase $G | sed -n 's/^vp: L2: final vmbus device .* device_id=\(.*\)$/\1/p' | sort | tr '\n' ' ')
if [ -n "$before" ] && [ "$before" = "$after" ]; then
	pass $G "L2 lists the same devices after the restarts: $after"
else
	flunk $G "L2 devices changed: '$before' -> '$after'"
fi
expect $G "mhcl guest shutdown: accepted" '^L1: guest shutdown: the guest accepted the shutdown request'
expect $G "mhcl guest shutdown exited 0" '^L1: guest shutdown rc 0$'
expect $G "L2 hv_utils got the shutdown request" '^vp: L2: .*hv_utils: Shutdown request received'
expect $G "L2 ran its poweroff" '^vp: L2: poweroff: the host asked for a shutdown'
reject $G "L2 did not time out waiting" '^vp: L2: (no shutdown request|done)'
expect $G "L2 kernel powered down" '^vp: .*reboot: Power down'
expect $G "the worker saw the guest power off (ACPI S5)" '^vp: .*guest requested a power off \(port 0x600\)'
expect $G "the worker stopped the partition" '^vp: .*partition stopped: guest power off'
expect $G "mhcl-vp exited 0" '^vp \[init\]: pid [0-9]+ exited with 0 '
expect $G "mhcl-vmbusd stopped cleanly" '^vmbus \[init\]: pid [0-9]+ exited with 0 '
expect $G "mhcl-icd stopped cleanly" '^ic \[init\]: pid [0-9]+ exited with 0 '
reject $G "no seccomp violation" '\[init\]: seccomp: forbidden'
while read -r comm uid caps; do
	expect $G "$comm ran as uid $uid with capabilities $caps" "$(vm_ident_re "$comm" "$uid" "$caps")"
done < <(vm_idents)
expect $G "mhcl-init stopped cleanly" '^L1: mhcl-init exited 0'

# init stops everything while the guest runs: mhcl-vp stops its VPs and exits 0.
G=init-stop
expect $G "the guest was running" '^vp: L2: ready'
expect $G "mhcl-vp stopped its partition on init's request" '^vp: .*partition stopped: stopped by init'
expect $G "mhcl-vp exited 0" '^vp \[init\]: pid [0-9]+ exited with 0 '
expect $G "mhcl-vmbusd exited 0" '^vmbus \[init\]: pid [0-9]+ exited with 0 '
expect $G "mhcl-icd exited 0" '^ic \[init\]: pid [0-9]+ exited with 0 '
reject $G "no seccomp violation" '\[init\]: seccomp: forbidden'
expect $G "mhcl-init stopped cleanly" '^L1: mhcl-init exited 0'
exit $fail
