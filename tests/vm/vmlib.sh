# shellcheck shell=bash
# Shared pieces of the QEMU L0/L1/L2 topology (DESIGN.md "The test topology"):
#   L0 = qemu-system-x86_64 -accel tcg -cpu max (TCG exposes SVM)
#   L1 = stock Debian cloud kernel + kvm-amd, running mhcl's binaries
#   L2 = the same unmodified kernel as the VTL0 guest, with the Hyper-V guest modules.
# Packages come from apt (apt-get download + dpkg-deb -x) into a cache folder and are
# never committed. Sourced by tests/vm/*.sh; every function prints its result path.

VM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM_CACHE=${MHCL_VM_CACHE:-$VM_ROOT/.cache/vm}

vm_die() { echo "vm: $*" >&2; exit 1; }

# Skips (exit 77, the meson/automake skip code) when the topology cannot run here.
vm_require_tools() {
	local t
	for t in qemu-system-x86_64 cpio gzip depmod; do
		command -v "$t" >/dev/null 2>&1 || { echo "vm: $t not found, skipping"; exit 77; }
	done
	[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep 'statically linked' >/dev/null ||
		{ echo "vm: static /bin/busybox (busybox-static) not found, skipping"; exit 77; }
}

# Downloads and unpacks the kernel package once; sets VM_KVER, VM_KDIR, VM_VMLINUZ, VM_MOD.
vm_kernel() {
	mkdir -p "$VM_CACHE"
	local pkg
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		awk '/Depends: linux-image-/ && !p {p = $2} END {print p}') || pkg=
	[ -n "$pkg" ] || pkg=$(cd "$VM_CACHE" && ls -d kernel-* 2>/dev/null | head -1 | sed 's/^kernel-//')
	[ -n "$pkg" ] || { echo "vm: no linux-image-cloud-amd64 package known to apt, skipping"; exit 77; }
	VM_KDIR=$VM_CACHE/kernel-$pkg
	if [ ! -d "$VM_KDIR/lib/modules" ]; then
		(cd "$VM_CACHE" && ls "$pkg"_*.deb >/dev/null 2>&1 || apt-get download "$pkg" >/dev/null 2>&1) ||
			{ echo "vm: unable to download $pkg, skipping"; exit 77; }
		rm -rf "$VM_KDIR.tmp"
		dpkg-deb -x "$VM_CACHE/$pkg"_*.deb "$VM_KDIR.tmp" || vm_die "unable to unpack $pkg"
		mv "$VM_KDIR.tmp" "$VM_KDIR"
	fi
	VM_KVER=$(ls "$VM_KDIR/lib/modules" | head -1)
	VM_VMLINUZ=$VM_KDIR/boot/vmlinuz-$VM_KVER
	VM_MOD=$VM_KDIR/lib/modules/$VM_KVER/kernel
}

# vm_copy_with_libs BINARY ROOT: copies a dynamically linked binary to ROOT/usr/bin and its
# shared libraries (and the dynamic loader) to the same paths under ROOT.
vm_copy_with_libs() {
	local bin=$1 root=$2 l
	mkdir -p "$root/usr/bin"
	cp -L "$bin" "$root/usr/bin/"
	for l in $(ldd "$bin" 2>/dev/null | awk '/=>/{print $3} /ld-linux/{print $1}'); do
		[ -f "$l" ] || continue
		mkdir -p "$root$(dirname "$l")"
		cp -L "$l" "$root$l"
	done
}

# vm_cpio DIR OUT: packs DIR as a gzip'd newc initramfs.
vm_cpio() {
	(cd "$1" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$2")
}

# vm_l2_initramfs WORK MODULES...: the guest. Its init loads the Hyper-V guest modules (in the
# background: hv_vmbus may wait on a host that never answers), then prints the kernel log
# lines about Hyper-V, VMBus and the FPU's XSAVE setup, and the VMBus devices with their class
# and instance GUIDs.
# Without mhcl.wait_shutdown=1 on its command line it then marks its end and reboots (which
# the worker sees as a keyboard-controller reset and turns into its exit). With it, it
# prints "L2: ready" and waits for the host: hv_utils' shutdown channel makes the kernel run
# /sbin/poweroff, which prints the guest's shutdown lines, syncs and powers off (ACPI S5
# through the FADT sleep control register, which ends the partition). If no request comes,
# the guest gives up after a while with "L2: no shutdown request", which checks catch.
vm_l2_initramfs() {
	local work=$1 m
	shift
	rm -rf "$work/l2" && mkdir -p "$work/l2/bin" "$work/l2/sbin" "$work/l2/mod" "$work/l2/proc" "$work/l2/sys" "$work/l2/dev"
	cp /bin/busybox "$work/l2/bin/"
	for m in "$@"; do cp "$VM_MOD/$m.ko" "$work/l2/mod/"; done
	cat >"$work/l2/init" <<'SH'
#!/bin/busybox sh
B=/bin/busybox
$B --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /tmp
echo "L2: init running"
report() {
	dmesg | grep -E 'Hyper-V|hv_vmbus|hv_utils|hv_storvsc|hv_netvsc|vmbus|x86/fpu|XSAVE|xstate' | sed 's/^/L2: /'
	for d in /sys/bus/vmbus/devices/*; do
		[ -e "$d" ] || continue
		echo "L2: vmbus device $(basename $d) class_id=$(cat $d/class_id 2>/dev/null) device_id=$(cat $d/device_id 2>/dev/null)"
	done
}
# Watchdog: a module that never finishes loading still gets the guest reported and reset.
(
	sleep 25
	[ -e /tmp/modules-loaded ] && exit 0
	echo "L2: modules still loading after 25s"
	for p in /proc/[0-9]*; do
		case "$(cat $p/comm 2>/dev/null)" in insmod) sed 's/^/L2: insmod stack: /' $p/stack ;; esac
	done
	report
	echo "L2: done (timeout)"
	reboot -f
) &
for m in $(cat /mod/order); do
	echo "L2: insmod $m"
	insmod /mod/$m.ko || echo "L2: insmod $m failed"
done
touch /tmp/modules-loaded
report
# A test's own guest steps (vm_l2_initramfs copies WORK/l2-extra in).
[ -f /l2-tail.sh ] && . /l2-tail.sh
if grep -q 'mhcl.wait_shutdown=1' /proc/cmdline; then
	echo "L2: ready"
	sleep 300
	echo "L2: no shutdown request"
fi
echo "L2: done"
reboot -f
SH
	# What the kernel runs when hv_utils gets a shutdown request (orderly_poweroff).
	cat >"$work/l2/sbin/poweroff" <<'SH'
#!/bin/busybox sh
B=/bin/busybox
exec >/dev/console 2>&1
$B dmesg | $B grep -E "hv_utils:" | $B sed 's/^/L2: final: /'
# The guest's own count of the echo requests it took and answered (tests that ping it
# tell a reply the guest did not send from one lost on the way).
echo "L2: final icmp $($B awk '/^Icmp:/ { if (!h) { split($0, k); h = 1 } else for (i = 2; i <= NF; i++) if (k[i] ~ /^(InEchos|OutEchoReps|OutErrors|OutRateLimit)/) printf "%s %s ", k[i], $i }' /proc/net/snmp)"
for d in /sys/bus/vmbus/devices/*; do
	[ -e "$d" ] || continue
	echo "L2: final vmbus device $($B basename $d) class_id=$($B cat $d/class_id) device_id=$($B cat $d/device_id)"
done
echo "L2: poweroff: the host asked for a shutdown; syncing and powering off"
$B sync
# The serial port drains slowly under nested TCG: what it still holds at power-off is
# lost, or cut by the kernel's last line.
$B sleep 2
$B poweroff -f
SH
	chmod +x "$work/l2/init" "$work/l2/sbin/poweroff"
	[ -d "$work/l2-extra" ] && cp -a "$work/l2-extra/." "$work/l2/"
	for m in "$@"; do basename "$m"; done >"$work/l2/mod/order"
	vm_cpio "$work/l2" "$work/l2.cpio.gz"
}

# The identities of the L1 servers (policy/README.md): each its own uid, all in the run
# group that owns init's run dir and vmbusd's sockets; capabilities only where named.
VM_RUN_GROUP=400
VM_ID_DIAG="user = <401>; groups = <400>;"
VM_ID_VMBUS="user = <403>; groups = <400>;"
VM_ID_IC="user = <404>; groups = <400>;"
VM_ID_VP="user = <405>; groups = <400>; device-files = \"/dev/kvm\";"
VM_ID_STORAGE="user = <406>; groups = <400>; capabilities = \"ipc_lock\";"
VM_ID_NET="user = <407>; groups = <400>; capabilities = \"net_admin\";"

# vmbusd's --device-allow for each device server: the VMBus instance GUIDs its uid may
# offer (icd's heartbeat and shutdown; storage controller 0; NIC 0).
VM_ALLOW_IC='"--device-allow", "404=6d686331-0001-4862-8000-686561727401,6d686331-0002-5368-8000-736875746401"'
VM_ALLOW_STORAGE='"--device-allow", "406=6d686332-0000-5343-8000-736373690001"'
VM_ALLOW_NET='"--device-allow", "407=6d686333-0000-4e49-8000-6e6574767370"'

# vm_manifest_head [ALLOW...]: the start of an L1 manifest up to and including diag, vmbusd
# and icd (diag never restarts: a crash must show up as a failure); ALLOW: the
# VM_ALLOW_* of the test's other device servers. The caller adds its servers and closes
# with "}; }; };".
vm_manifest_head() {
	local allow=$VM_ALLOW_IC a
	for a in "$@"; do allow="$allow, $a"; done
	cat <<DTS
/dts-v1/;
/ { mhcl { manifest {
	compatible = "mhcl,manifest-v1";
	run-group = <$VM_RUN_GROUP>;
	diag { binary = "mhcl-diagd"; args = "--unix", "\${RUN}/diag.sock"; policy = "diagd";
		restart = "never"; start-order = <10>; control; $VM_ID_DIAG };
	vmbus { binary = "mhcl-vmbusd";
		args = "--vp-socket", "\${RUN}/vmbus.sock", "--device-socket", "\${RUN}/vmbus-dev.sock",
			$allow;
		policy = "vmbusd"; restart = "always"; restart-delay-ms = <100>; start-order = <20>;
		$VM_ID_VMBUS };
	ic { binary = "mhcl-icd"; args = "--vmbus-socket", "\${RUN}/vmbus-dev.sock"; policy = "icd";
		restart = "always"; restart-delay-ms = <100>; start-order = <25>; prestart; $VM_ID_IC };
DTS
}

# VM_L1_IDENT (/ident.sh in L1): L1 shell that prints "L1: ident COMM uid=UID caps=CAPEFF" for every running
# mhcl server, so a test checks who each one runs as.
VM_L1_IDENT='for p in /proc/[0-9]*; do
	case "$(cat $p/comm 2>/dev/null)" in mhcl-init|mhcl) ;; mhcl-*)
		echo "L1: ident $(cat $p/comm) uid=$(awk '"'"'/^Uid:/ {print $2}'"'"' $p/status) caps=$(awk '"'"'/^CapEff:/ {print $2}'"'"' $p/status)" ;;
	esac
done'

# vm_ident_re COMM UID CAPEFF: the line VM_L1_IDENT prints for that server.
vm_ident_re() { echo "^L1: ident $1 uid=$2 caps=$3\$"; }
# vm_idents: "COMM UID CAPEFF" of the servers of vm_manifest_head and the worker.
vm_idents() {
	printf '%s\n' "mhcl-diagd 401 0000000000000000" "mhcl-vmbusd 403 0000000000000000" \
		"mhcl-icd 404 0000000000000000" "mhcl-vp 405 0000000000000000"
}

# vm_l1_initramfs WORK BUILD_DIR L1_SCRIPT [BINARY...]: L1 with kvm-amd, mhcl's binaries from
# BUILD_DIR (default worker/bin/mhcl-vp; with their shared libraries), everything under
# WORK/l1-extra (copied to /), the L2 kernel and initramfs; L1_SCRIPT is the tail of its init.
vm_l1_initramfs() {
	local work=$1 build=$2 script=$3 m b
	shift 3
	local bins="$*"
	[ -n "$bins" ] || bins=worker/bin/mhcl-vp
	rm -rf "$work/l1" && mkdir -p "$work/l1/bin" "$work/l1/mod" "$work/l1/proc" "$work/l1/sys" "$work/l1/dev" "$work/l1/tmp"
	cp /bin/busybox "$work/l1/bin/"
	for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do cp "$VM_MOD/$m.ko" "$work/l1/mod/"; done
	for b in $bins; do
		[ -x "$build/$b" ] || vm_die "$build/$b not built"
		vm_copy_with_libs "$build/$b" "$work/l1"
	done
	[ -d "$work/l1-extra" ] && cp -a "$work/l1-extra/." "$work/l1/"
	printf '%s\n' "$VM_L1_IDENT" >"$work/l1/ident.sh"
	cp "$VM_VMLINUZ" "$work/l1/vmlinuz"
	cp "$work/l2.cpio.gz" "$work/l1/l2.cpio.gz"
	{
		cat <<'SH'
#!/bin/busybox sh
B=/bin/busybox
$B --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in irqbypass kvm kvm-amd; do $B insmod /mod/$m.ko || echo "L1: insmod $m failed"; done
[ -e /dev/kvm ] || echo "L1: no /dev/kvm"
# mhcl-init's log as it grows, on the second serial port (LOG.live on the host): the
# tests read it from the console at the end, but a run that hangs shows here how far
# it got.
( while [ ! -e /tmp/init.log ]; do sleep 1; done; exec tail -n +1 -f /tmp/init.log ) >/dev/ttyS1 2>&1 &
# A heartbeat on the third serial port (LOG.beat): when it stops, L1 itself froze (the
# nested-TCG freeze), which the host side tells apart from a quiet mhcl in VM_L1_FROZEN s.
( while :; do echo "beat $(cut -d' ' -f1 /proc/uptime)"; sleep 5; done ) >/dev/ttyS2 2>&1 &
# When that log stops growing for 120 s (the guest and every server quiet), every
# server's inspect tree goes there too, once: ring indices and pending bytes say
# whether a doorbell or an interrupt went missing.
(
	last=-1 idle=0
	while sleep 10; do
		s=$(wc -c </tmp/init.log 2>/dev/null || echo 0)
		if [ "$s" = "$last" ]; then idle=$((idle + 10)); else idle=0 last=$s; fi
		[ $idle = 120 ] || continue
		echo "L1 watchdog: mhcl-init's log has not grown for 120 s; every server's inspect:"
		MHCL_DIAG=unix:/run/mhcl/diag.sock mhcl inspect 2>&1
		echo "L1 watchdog: end of inspect"
	done
) >/dev/ttyS1 2>&1 &
SH
		cat "$script"
		echo '$B poweroff -f'
	} >"$work/l1/init"
	chmod +x "$work/l1/init"
	vm_cpio "$work/l1" "$work/l1.cpio.gz"
}

# vm_run_l1 WORK TIMEOUT LOG: boots L1 under TCG; everything L1 and L2 print goes to LOG.
# VM_L1_QEMU (array) adds QEMU arguments (devices), VM_L1_APPEND kernel parameters,
# VM_L1_SMP the CPUs L1 gets (default 1), VM_L1_MEM its memory in MiB (default 2048).
# VM_L1_DONE_MARK (a grep -E pattern the L1 script prints at its very end): when a run
# fails in one of the ways TCG's nested SVM fails on its own, it is repeated, saying so,
# up to VM_L1_TRIES runs in all (default 3). Those ways: L1 froze (its heartbeat stopped
# for VM_L1_FROZEN s; seen in about one run in six of the long tests, at any point: as
# its guest boots, mid-test, once right after a kill), L1 reset as its guest booted (no
# panic, no mhcl line: L0 ends it), L1 printed nothing for VM_L1_STALL s (default 300),
# an L2 VP triple-faulted with two L1 CPUs (mhcl-vp: "VP n shut down (triple fault ...";
# L1 is stopped as soon as that shows, since the run can no longer pass), or a CPU stuck
# for minutes (L1's own soft-lockup report, seen in mhcl-vp's KVM_RUN; or the guest's,
# seen inside a module load while the other CPU starved its RCU thread). A fault of
# mhcl's shows again in the next run; a repeated run keeps the earlier log as LOG.1, .2.
# A failed or repeated run ends with the last lines of the log and of LOG.live
# (mhcl-init's log as it grew: the L1 init prelude).
vm_run_l1() {
	local work=$1 limit=$2 log=$3 rc=0 why= try=1 tries=${VM_L1_TRIES:-3}
	while :; do
		rc=0
		vm_run_l1_once "$work" "$limit" "$log" || rc=$?
		why=
		if [ -n "${VM_L1_DONE_MARK:-}" ]; then
			if { [ $rc = 0 ] || [ $rc = 125 ]; } &&
				! tr -d '\r' <"$log" | grep -a -q -E "$VM_L1_DONE_MARK"; then
				why=$([ $rc = 0 ] && echo "ended before its last step" ||
					echo "froze or printed nothing for long")
			elif [ $rc = 126 ]; then
				why="reported one of its own CPUs stuck for minutes"
			elif [ $rc = 127 ] || { [ $rc = 0 ] && tr -d '\r' <"$log" | grep -a -q -E '^vp: vp: error: VP [0-9]+ shut down \(triple fault'; }; then
				why="saw its guest (L2) triple-fault"
			elif [ $rc = 0 ] && tr -d '\r' <"$log" | grep -a -q -E '^vp: \[ *[0-9.]+\] watchdog: BUG: soft lockup'; then
				why="saw its guest (L2) report a soft lockup"
			fi
		fi
		[ -n "$why" ] && [ $try -lt "$tries" ] || break
		mv "$log" "$log.$try"
		mv "$log.live" "$log.live.$try" 2>/dev/null || true
		mv "$log.freeze" "$log.freeze.$try" 2>/dev/null || true
		echo "vm: L1 $why (run $try of at most $tries, kept in $log.$try); running it again" >&2
		vm_tail_live "$log.live.$try"
		try=$((try + 1))
	done
	if [ $rc != 0 ] || [ -n "$why" ]; then
		echo "vm: L1 run $try failed (rc $rc${why:+; L1 $why}); its last lines:" >&2
		tr -d '\r' <"$log" | tail -n 40 | sed 's/^/  | /' >&2
		vm_tail_live "$log.live"
	fi
	return $rc
}

# vm_tail_live FILE: the last lines of mhcl-init's log as L1 mirrored it (if any).
vm_tail_live() {
	[ -s "$1" ] || return 0
	echo "vm: the last lines of mhcl-init's log in that run:" >&2
	tr -d '\r' <"$1" | sed '/^L1 watchdog: mhcl-init/,$d' | tail -n 30 | sed 's/^/  ~ /' >&2
	grep -a -q '^L1 watchdog: mhcl-init' "$1" || return 0
	echo "vm: what the servers' inspect said once the log had been quiet for 120 s:" >&2
	tr -d '\r' <"$1" | sed -n '/^L1 watchdog: mhcl-init/,/^L1 watchdog: end/p' | head -n 400 | sed 's/^/  ~ /' >&2
}

# vm_monitor SOCKET COMMAND...: runs HMP commands in one session of QEMU's monitor at
# SOCKET, the answers on stdout; says so when QEMU itself does not answer.
vm_monitor() {
	python3 - "$@" <<'PY'
import socket, sys, time
out = b""
try:
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(1)
    s.connect(sys.argv[1])
    for cmd in [""] + sys.argv[2:]:
        if cmd:
            s.sendall(cmd.encode() + b"\n")
        end = time.time() + 3
        while time.time() < end:
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            if not d:
                break
            out += d
    s.close()
except OSError as e:
    out += b"QEMU monitor: %s\n" % str(e).encode()
if b"(qemu)" not in out:
    out += b"QEMU monitor: no answer (QEMU itself hung?)\n"
# The prompt's line editing is escape sequences: keep the answers' lines.
text = out.decode(errors="replace").replace("\r", "")
sys.stdout.write("".join(l + "\n" for l in text.split("\n") if "\x1b" not in l))
PY
}

# vm_freeze_dump SOCKET: a frozen L1's registers twice, a second apart (does it move?),
# and the instructions at each CPU's RIP (Debian's System.map is a placeholder, so no
# names: an L1 address is a nokaslr one, L2's are randomized).
vm_freeze_dump() {
	vm_monitor "$1" "info registers -a" "x/4i \$pc" "cpu 1" "x/4i \$pc" "cpu 0"
	sleep 1
	vm_monitor "$1" "info registers -a"
}

# vm_run_l1_once WORK TIMEOUT LOG: one L1 run; rc 124 when TIMEOUT passed, 125 when L1
# printed nothing for VM_L1_STALL seconds or its heartbeat (LOG.beat, written by
# vm_l1_initramfs's prelude) stopped for VM_L1_FROZEN seconds (default 90), 126 when L1's kernel saw a CPU stuck for
# minutes, 127 when (with VM_L1_DONE_MARK) its L2 guest triple-faulted, else QEMU's.
vm_run_l1_once() {
	local work=$1 limit=$2 log=$3 stall=${VM_L1_STALL:-300} frozen=${VM_L1_FROZEN:-90} qpid
	local size=-1 now quiet=0 gap=0 beat=0 still=0 rc=0
	: >"$log.live"
	: >"$log.beat"
	timeout "$limit" qemu-system-x86_64 -accel tcg -cpu max -smp "${VM_L1_SMP:-1}" -m "${VM_L1_MEM:-2048}" -nographic -no-reboot \
		-serial mon:stdio -serial "file:$log.live" -serial "file:$log.beat" \
		-monitor "unix:$log.mon,server=on,wait=off" \
		-kernel "$VM_VMLINUZ" -initrd "$work/l1.cpio.gz" "${VM_L1_QEMU[@]}" \
		-append "console=ttyS0 quiet panic=-1 nokaslr ${VM_L1_APPEND:-}" </dev/null >"$log" 2>&1 &
	qpid=$!
	while kill -0 "$qpid" 2>/dev/null; do
		sleep 5
		# Quiet: neither the console nor mhcl-init's log grew.
		now=$(($(stat -c %s "$log" 2>/dev/null || echo 0) + $(stat -c %s "$log.live" 2>/dev/null || echo 0)))
		if [ "$now" = "$size" ]; then
			quiet=$((quiet + 5))
		else
			size=$now
			quiet=0
		fi
		[ $quiet -gt $gap ] && gap=$quiet
		# Frozen: the heartbeat began and then stopped (a quiet mhcl still beats).
		now=$(stat -c %s "$log.beat" 2>/dev/null || echo 0)
		if [ "$now" = "$beat" ]; then
			[ "$beat" = 0 ] || still=$((still + 5))
		else
			beat=$now
			still=0
		fi
		if [ $still -ge "$frozen" ]; then
			vm_freeze_dump "$log.mon" >"$log.freeze" 2>&1
			# Diagnosis: does an NMI (a VM exit L1's lost timer interrupt did not
			# cause) wake it? The run is repeated either way: its guest's clock jumped.
			vm_monitor "$log.mon" nmi
			local woke=no
			for _ in 1 2 3 4 5 6; do
				sleep 5
				[ "$(stat -c %s "$log.beat" 2>/dev/null || echo 0)" = "$beat" ] || { woke=yes; break; }
			done
			kill "$qpid" 2>/dev/null || true
			wait "$qpid" 2>/dev/null || true
			echo "vm: L1 froze (its heartbeat stopped for $still s, at uptime $(tail -n 1 "$log.beat" | tr -d '\r' | cut -d' ' -f2) s; an NMI woke it: $woke); stopped it; where its CPUs were:" >&2
			grep -a -E '^(CPU#|RIP|EIP|RFL|CR0|EFER|QEMU monitor)|^0x' "$log.freeze" | sed 's/^/  @ /' >&2
			return 125
		fi
		if [ $quiet -ge "$stall" ]; then
			kill "$qpid" 2>/dev/null || true
			wait "$qpid" 2>/dev/null || true
			echo "vm: L1 printed nothing for $quiet s; stopped it" >&2
			return 125
		fi
		# L1's own kernel (its lines carry no "vp:" or "L2:" prefix) saw a CPU stuck for
		# 100 s or more: the nested-TCG freeze again, talking this time.
		if tr -d '\r' <"$log" | grep -a -q -E '^\[ *[0-9.]+\] watchdog: BUG: soft lockup - CPU#[0-9]+ stuck for [0-9]{3,}s'; then
			kill "$qpid" 2>/dev/null || true
			wait "$qpid" 2>/dev/null || true
			echo "vm: L1's kernel reports a CPU stuck for minutes; stopped it" >&2
			return 126
		fi
		# With a VM_L1_DONE_MARK (the runs that repeat): the L2 guest triple-faulted. No
		# later step can pass, and waiting for the timeout would leave no time to repeat.
		if [ -n "${VM_L1_DONE_MARK:-}" ] && cat "$log" "$log.live" 2>/dev/null | tr -d '\r' |
			grep -a -q -E '^vp: vp: error: VP [0-9]+ shut down \(triple fault'; then
			kill "$qpid" 2>/dev/null || true
			wait "$qpid" 2>/dev/null || true
			echo "vm: L1's guest (L2) triple-faulted; stopped it" >&2
			return 127
		fi
	done
	wait "$qpid" || rc=$?
	echo "vm: L1's longest quiet stretch: about $gap s" >&2
	return $rc
}
VM_L1_QEMU=()

# vm_qemu_until_end LOG LIMIT_S END_REGEX QEMU_ARGS...: runs qemu-system-x86_64 with its
# serial port in LOG (emptied first) until a line matches END_REGEX (then one more second
# for trailing lines), QEMU exits, or LIMIT_S seconds pass; QEMU is then stopped. QPID holds
# its pid meanwhile, so a caller's EXIT trap can kill it.
vm_qemu_until_end() {
	local log=$1 limit=$2 end=$3 deadline
	shift 3
	: >"$log"
	qemu-system-x86_64 -serial "file:$log" "$@" &
	QPID=$!
	deadline=$((SECONDS + limit))
	while kill -0 "$QPID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
		if grep -a -q -E "$end" "$log"; then
			sleep 1
			break
		fi
		sleep 0.5
	done
	kill "$QPID" 2>/dev/null || true
	wait "$QPID" 2>/dev/null || true
	QPID=
}
