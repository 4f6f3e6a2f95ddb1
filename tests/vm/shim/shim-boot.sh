#!/usr/bin/env bash
# Boots mhcl's PVH shim under QEMU TCG (-smp 8) and checks its serial output.
#   usage: shim-boot.sh SHIM_ELF CASE
# Cases: numa hostdt garbage dupcpu outside overlap-isolated isolated-cmdline isolated-hostdt
#        allcpus fault nosidecar
# Each boots the Debian cloud kernel (tests/vm/vmlib.sh fetches it into .cache/vm) with a
# busybox initramfs whose init prints "init reached", the online CPUs and what it sees of
# the shim's device tree in /sys/kernel/boot_params/setup_data, then powers off.
# The init also prints that tree as base64 ("dtb begin SIZE SHA256", "dtb64 ..." lines,
# "dtb end"); the host decodes it, runs dtc -I dtb -O dts (no error or warning allowed)
# and fdtdump on it, and dt-check.py compares its CPUs, NUMA nodes, memory, sidecar
# nodes and /chosen with the host tree or QEMU's -smp/-numa options. MHCL_VM_KEEP_DTB=DIR
# keeps linux.dtb and linux.dts there.
# Exit 77 (skip) when QEMU, busybox-static or the kernel package are unavailable.
set -euo pipefail
SHIM=${1:?shim ELF}
CASE=${2:?case}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../vmlib.sh
. "$HERE/../vmlib.sh"
command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 not found, skipping"; exit 77; }
command -v dtc >/dev/null || { echo "dtc not found, skipping"; exit 77; }
vm_require_tools
vm_kernel

W=$(mktemp -d /tmp/mhcl-shim-test.XXXXXX)
QPID=
cleanup() { [ -n "$QPID" ] && kill "$QPID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

mkdir -p "$W/root/bin" "$W/root/proc" "$W/root/sys" "$W/root/dev"
cp /bin/busybox "$W/root/bin/"
cat >"$W/root/init" <<'SH'
#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
echo "init reached"
echo "cpus online: $($B cat /sys/devices/system/cpu/online)"
for d in /sys/kernel/boot_params/setup_data/*; do
	[ -f "$d/data" ] || continue
	magic=$($B od -A n -t x1 -N 4 "$d/data" | $B tr -d ' ')
	echo "setup_data type $($B cat "$d/type") magic $magic"
	# The blob holds NUL-terminated strings: one per line after tr.
	echo "dt sidecar nodes: $($B tr '\0' '\n' <"$d/data" | $B grep -c '^mhcl,sidecar$')"
	echo "dt isolated: $($B tr '\0' '\n' <"$d/data" | $B grep -c '^mhcl,isolated$')"
	echo "dt manifest: $($B tr '\0' '\n' <"$d/data" | $B grep -c '^manifest$')"
	# The whole blob for the host: size and SHA-256, then base64 lines, each tagged so
	# that kernel messages on the same console cannot be mistaken for data.
	if [ "$($B cat "$d/type")" = 0x2 ]; then
		echo "dtb begin $($B wc -c <"$d/data") $($B sha256sum <"$d/data" | $B cut -d' ' -f1)"
		$B base64 -w 64 "$d/data" | while read -r l; do echo "dtb64 $l"; done
		echo "dtb end"
	fi
done
$B poweroff -f
SH
chmod +x "$W/root/init"
vm_cpio "$W/root" "$W/initrd.gz"

NUMA=(-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M
      -numa node,nodeid=0,memdev=m0,cpus=0-3 -numa node,nodeid=1,memdev=m1,cpus=4-7)
QARGS=()
APPEND="console=ttyS0 panic=-1"
HOSTDT=
MEM=1024
PAYLOAD_CMDLINE=
MANIFEST=
expect=()
forbid=()
DTARGS=()
LINUX=1
case $CASE in
numa)
	# The image's own command line and a manifest travel in the payload.
	QARGS=("${NUMA[@]}")
	PAYLOAD_CMDLINE="mhcl.boot_cpus=2"
	MANIFEST=1
	DTARGS=(--smp 8 --numa "0-3,4-7" --boot-cpus 2)
	expect=("cmdline 16 bytes, manifest "
		"dt manifest: 1"
		"command line: isolated=no sidecar=on boot_cpus=2"
		"host device tree: none (fw_cfg opt/mhcl/host.dtb absent)"
		"topology: 8 cpus in 2 NUMA node(s) from ACPI MADT+SRAT"
		", 2 node(s), memory"
		"sidecar CPUs ready: 7"
		"sidecar status: 7/7 CPUs answered with their APIC ID"
		"sidecar work items: 7/7 checksums match; out-of-range request refused"
		"sidecar CPUs handed to Linux: 1; parked in the sidecar: 6"
		"device tree built:" "8 cpus, 2 sidecar node(s)"
		"Command line: console=ttyS0 panic=-1 maxcpus=2"
		"cpus online: 0-1" "dt sidecar nodes: 2")
	;;
hostdt)
	QARGS=("${NUMA[@]}")
	HOSTDT=host-good.dts
	DTARGS=(--host "$W/host.dtb" --host-memory --boot-cpus 1)
	expect=("bytes accepted: 8 cpus, 3 memory ranges"
		"topology: 8 cpus in 2 NUMA node(s) from host device tree"
		"sidecar CPUs ready: 7" "sidecar work items: 7/7 checksums match"
		"cpus online: 0" "dt sidecar nodes: 2")
	;;
garbage)
	HOSTDT=garbage
	DTARGS=(--smp 8 --boot-cpus 1)
	expect=("host device tree rejected: not a valid flattened device tree (FDT_ERR_BADMAGIC); falling back to ACPI"
		"topology: 8 cpus in 1 NUMA node(s) from ACPI MADT"
		"sidecar CPUs ready: 7" "dt sidecar nodes: 1")
	;;
dupcpu)
	HOSTDT=host-dup-cpu.dts
	DTARGS=(--smp 8 --boot-cpus 1)
	expect=("host device tree rejected: duplicate cpu APIC ID 3; falling back to ACPI"
		"topology: 8 cpus in 1 NUMA node(s) from ACPI MADT" "sidecar CPUs ready: 7")
	;;
outside)
	HOSTDT=host-outside.dts
	DTARGS=(--smp 8 --boot-cpus 1)
	expect=("host device tree memory ignored: memory [0x100000, 0x80000000) is not RAM in the firmware map; using the firmware map"
		"sidecar CPUs ready: 7")
	;;
overlap-isolated)
	HOSTDT=host-overlap.dts
	LINUX=0
	expect=("host device tree requests isolated mode"
		"PANIC: refusing to boot: host device tree memory (isolated): memory [0x8000000, 0x18000000) overlaps [0x100000, 0x10100000); halting")
	forbid=("entering Linux" "sidecar CPUs ready")
	;;
isolated-cmdline | isolated-hostdt)
	# Isolation from the command line, or only from the host tree (with a fault request
	# that must not fire). The image's own line carries the console; from the host only
	# panic=-1 is on the allow-list. Every other host parameter, written the ways Linux
	# still reads it (quoted, with dashes), is dropped, counted and named.
	PAYLOAD_CMDLINE="console=ttyS0"
	BYPASS='"init=/bin/sh" "rdinit=/bin/sh" "kgdboc=ttyS0" ignore-loglevel initcall-debug'
	BYPASS="$BYPASS sysrq-always-enabled \"ekgdboc=ttyS0\" kgdbcon kgdb-wait"
	BYPASS="$BYPASS earlycon=uart8250,io,0x3f8 earlyprintk=ttyS0 mhcl.diag=1"
	names="console init rdinit kgdboc ignore_loglevel initcall_debug sysrq_always_enabled"
	names="$names ekgdboc kgdbcon kgdb_wait earlycon earlyprintk mhcl.diag"
	if [ "$CASE" = isolated-cmdline ]; then
		APPEND="$APPEND mhcl.isolated $BYPASS"
		expect=("command line: isolated=yes sidecar=on boot_cpus=1")
	else
		HOSTDT=host-isolated.dts
		APPEND="$APPEND $BYPASS mhcl.debug.fault=pf"
		names="$names mhcl.debug.fault"
		expect=("host device tree requests isolated mode"
			"command line: isolated=yes sidecar=on boot_cpus=1"
			"host device tree: " "bytes accepted: 0 cpus, 0 memory ranges"
			"topology: 8 cpus in 1 NUMA node(s) from ACPI MADT")
		forbid=("debug: raising")
	fi
	ndropped=$(echo "$names" | wc -w)
	DTARGS=(--smp 8 --boot-cpus 1 --isolated --cmdline-dropped "$ndropped"
		--cmdline-dropped-names "$names")
	expect+=("command line: $ndropped parameter(s) dropped (isolated): $names"
		"Command line: console=ttyS0 panic=-1 maxcpus=1" "dt isolated: 1")
	forbid+=("init=/bin/sh" "kgdboc=" "ignore-loglevel" "initcall-debug" "sysrq-always"
		"kgdb-wait" "earlycon=" "earlyprintk=" "mhcl.diag=1")
	;;
allcpus)
	# RAM above 4 GiB (the payload lands above 2 GiB) and every CPU handed to Linux.
	MEM=4096
	APPEND="$APPEND mhcl.boot_cpus=8"
	DTARGS=(--smp 8 --boot-cpus 8)
	expect=("sidecar CPUs ready: 7" "sidecar CPUs handed to Linux: 7; parked in the sidecar: 0"
		"e820 [0x000100000000, 0x000140000000) RAM" "maxcpus=8" "cpus online: 0-7")
	;;
fault)
	APPEND="$APPEND mhcl.debug.fault=pf"
	LINUX=0
	expect=("debug: raising #PF on purpose (mhcl.debug.fault)"
		"EXCEPTION vector 14 (#PF page fault) error 0x0 on APIC 0"
		"cr2 0000123456789000" "  rip " "  rax " "  r13 " "halted")
	forbid=("entering Linux")
	;;
nosidecar)
	APPEND="$APPEND mhcl.sidecar=off mhcl.boot_cpus=3"
	DTARGS=(--smp 8 --boot-cpus 3 --sidecar off)
	expect=("sidecar: not started (mhcl.sidecar=off)" "cpus online: 0-2" "dt sidecar nodes: 0")
	forbid=("sidecar CPUs ready")
	;;
*)
	echo "unknown case $CASE" >&2
	exit 2
	;;
esac
if [ "$LINUX" = 1 ]; then
	expect=("] entry: image" "start info: " "payload: kernel " "kernel loaded: protocol"
		"boot_params ready:" "entering Linux at" "init reached"
		"setup_data type 0x2 magic d00dfeed" "${expect[@]}")
fi

FWCFG=()
if [ "$HOSTDT" = garbage ]; then
	printf 'this is not a device tree %.0s' $(seq 40) >"$W/host.dtb"
	FWCFG=(-fw_cfg "name=opt/mhcl/host.dtb,file=$W/host.dtb")
elif [ -n "$HOSTDT" ]; then
	dtc -q -I dts -O dtb -o "$W/host.dtb" "$HERE/$HOSTDT"
	FWCFG=(-fw_cfg "name=opt/mhcl/host.dtb,file=$W/host.dtb")
fi

PAYLOAD_ARGS=()
[ -n "$PAYLOAD_CMDLINE" ] && PAYLOAD_ARGS+=(-c "$PAYLOAD_CMDLINE")
if [ -n "$MANIFEST" ]; then
	echo '/dts-v1/; / { compatible = "mhcl,manifest-v1"; };' | dtc -q -I dts -O dtb -o "$W/manifest.dtb" -
	PAYLOAD_ARGS+=(-m "$W/manifest.dtb")
fi
python3 "$VM_ROOT/boot/mkpayload.py" -k "$VM_VMLINUZ" -i "$W/initrd.gz" "${PAYLOAD_ARGS[@]}" \
	-o "$W/payload.bin"

LOG=$W/serial.log
# Runs until an end marker (power-off, halt after a refusal, panic) or the time limit.
vm_qemu_until_end "$LOG" "${MHCL_VM_TIMEOUT:-240}" 'reboot: Power down|; halting|\] halted|Kernel panic' \
	-accel tcg -cpu max -smp 8 -m "$MEM" -display none -no-reboot -monitor none \
	"${QARGS[@]}" "${FWCFG[@]}" -kernel "$SHIM" -initrd "$W/payload.bin" -append "$APPEND"

# dtb_recover: decodes the "dtb64" lines into $W/linux.dtb, checks size and SHA-256
# against the "dtb begin" line, then runs dtc, fdtdump and dt-check.py on it.
dtb_recover() {
	local size sum got
	read -r _ _ size sum < <(grep -a '^dtb begin ' "$LOG" | tail -n 1 | tr -d '\r')
	grep -a -q '^dtb end' "$LOG" || { echo "DTB: no 'dtb end' line on the console"; return 1; }
	sed -n 's/^dtb64 \([A-Za-z0-9+/=]*\)\r*$/\1/p' "$LOG" | base64 -d >"$W/linux.dtb" ||
		{ echo "DTB: base64 from the console does not decode"; return 1; }
	got=$(stat -c %s "$W/linux.dtb")
	[ "$got" = "$size" ] || { echo "DTB: $got bytes recovered, guest said $size"; return 1; }
	got=$(sha256sum "$W/linux.dtb" | cut -d' ' -f1)
	[ "$got" = "$sum" ] || { echo "DTB: sha256 $got recovered, guest said $sum"; return 1; }
	echo "dtb recovered: $size bytes, sha256 matches"
	if ! dtc -I dtb -O dts -o "$W/linux.dts" "$W/linux.dtb" 2>"$W/dtc.err" || [ -s "$W/dtc.err" ]; then
		echo "DTB: dtc -I dtb -O dts failed or warned:"
		cat "$W/dtc.err"
		return 1
	fi
	echo "dtc -I dtb -O dts: ok ($(wc -l <"$W/linux.dts") lines)"
	if command -v fdtdump >/dev/null; then
		fdtdump "$W/linux.dtb" >"$W/fdtdump.out" 2>&1 || { echo "DTB: fdtdump failed:"; cat "$W/fdtdump.out"; return 1; }
		echo "fdtdump: ok"
	fi
	[ -n "${MHCL_VM_KEEP_DTB:-}" ] && cp -f "$W/linux.dtb" "$W/linux.dts" "$MHCL_VM_KEEP_DTB/"
	python3 "$HERE/dt-check.py" "$W/linux.dtb" --mem-mib "$MEM" "${DTARGS[@]}" || return 1
	return 0
}

fail=0
for e in "${expect[@]}"; do
	grep -a -q -F -- "$e" "$LOG" || { echo "MISSING: $e"; fail=1; }
done
for f in "${forbid[@]}"; do
	if grep -a -q -F -- "$f" "$LOG"; then echo "UNEXPECTED: $f"; fail=1; fi
done
# The device tree Linux was handed: recovered from the console, checked with dtc and
# fdtdump, then compared with what the host tree or QEMU's ACPI tables said.
if [ "$LINUX" = 1 ]; then
	if ! grep -a -q '^dtb begin ' "$LOG"; then
		echo "DTB: no 'dtb begin' line on the console"
		fail=1
	elif ! dtb_recover; then
		fail=1
	fi
fi
grep -a -E '^\[(shim|sidecar) ' "$LOG" | tr -d '\r' || true
grep -a -E 'init reached|cpus online|setup_data|dt (sidecar|isolated)|Kernel panic' "$LOG" | tr -d '\r' || true
if [ $fail != 0 ]; then
	echo "---- serial log (tail) ----"
	tail -n 60 "$LOG" | tr -d '\r'
	exit 1
fi
echo "case $CASE: ok"
