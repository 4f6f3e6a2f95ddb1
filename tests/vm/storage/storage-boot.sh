#!/usr/bin/env bash
# The storage server against the real client: an unmodified Debian guest (L2, hv_storvsc
# and sd_mod) on mhcl-vp inside an L1 KVM under TCG (L0), with mhcl-init running diag,
# vmbusd, icd, mhcl-storaged and the worker. storaged serves three LUNs on one controller:
#   LUN 0  a file in L1 (64 MiB), with the manifest's vendor, product, serial and WWN;
#          L2 makes an ext4 file system on it, writes a tree of files, syncs, mounts it
#          again and checks their hashes; after the guest powered off, L1 reads the same
#          files out of the image (debugfs) and checks the hashes again;
#   LUN 1  L1's /dev/vda (a block device: QEMU virtio-blk from L0), read only: an ext4
#          image holding Debian's fio and mkfs.ext4 with their libraries, which L2 runs;
#   LUN 2  a file in L1 (64 MiB) that fio hammers raw;
#   LUN 3  namespace 1 of QEMU's NVMe controller (L0 gives L1 `-device nvme` behind an
#          emulated IOMMU with interrupt remapping; L1 binds it to vfio-pci), served by
#          mhcl's own userspace NVMe driver: its first half gets the same ext4 tree as
#          LUN 0 (read back in L1 through the kernel's nvme driver afterwards), its second
#          half fio.
# fio: random 4 KiB writes with crc32c verification on LUN 2 and on LUN 3, two jobs each
# (so both channels carry I/O: L2 has 2 VPs and asks for a sub-channel), five rounds,
# while L1 runs `mhcl restart storage`, `mhcl kill storage`, `mhcl restart storage`,
# `mhcl kill storage`, one per round; after each, inspect must say the NVMe controller
# was adopted live (no reset, no Identify).
# Then L1 attaches LUN 4 (a memory disk the manifest declares absent) with `mhcl storage
# attach 0:4`: the guest rescans and finds it; `mhcl storage detach 0:4`: the guest
# removes it.
# Passes when every fio round verifies, L2's kernel log has no SCSI error, abort, reset or
# timeout, storaged adopted its state after each restart, and the data is where the guest
# put it. Usage: tests/vm/storage/storage-boot.sh BUILD_DIR   (exit 0 pass, 1 fail, 77 skip)
# Env: MHCL_VM_TIMEOUT (seconds, default 840), MHCL_VM_WORK (default BUILD_DIR/vm-storage).
set -euo pipefail
. "$(dirname "$0")/../vmlib.sh"

BUILD=$(cd "${1:-$VM_ROOT/build}" && pwd)
WORK=${MHCL_VM_WORK:-$BUILD/vm-storage}
LIMIT=${MHCL_VM_TIMEOUT:-840}
mkdir -p "$WORK"

vm_require_tools
for t in dtc fio mkfs.ext4 debugfs; do
	command -v $t >/dev/null 2>&1 || { echo "vm: $t not found, skipping"; exit 77; }
done
vm_kernel

# The tools disk: fio and mkfs.ext4 with their libraries, as an ext4 image (made once).
TOOLS=$WORK/tools.img
if [ ! -f "$TOOLS" ]; then
	rm -rf "$WORK/tools"
	mkdir -p "$WORK/tools"
	vm_copy_with_libs "$(command -v fio)" "$WORK/tools"
	vm_copy_with_libs "$(command -v mkfs.ext4)" "$WORK/tools"
	kb=$(du -sk "$WORK/tools" | cut -f1)
	mkfs.ext4 -q -F -L tools -d "$WORK/tools" "$TOOLS.tmp" $((kb * 13 / 10 + 8192))K
	mv "$TOOLS.tmp" "$TOOLS"
fi

# L2: the Hyper-V guest drivers and the SCSI disk driver; its own steps in l2-tail.sh.
rm -rf "$WORK/l2-extra" && mkdir -p "$WORK/l2-extra/tools" "$WORK/l2-extra/mnt"
cat >"$WORK/l2-extra/l2-tail.sh" <<'SH'
# Runs inside L2's init after the modules are loaded. sd names disks in the order their
# probes finish, so each LUN's block device is looked up in sysfs.
dev_of() { ls /sys/bus/scsi/devices/0:0:0:$1/block 2>/dev/null; }
for i in $(seq 1 100); do
	n=0
	for l in 0 1 2 3; do [ -n "$(dev_of $l)" ] && [ -b /dev/$(dev_of $l) ] && n=$((n + 1)); done
	[ $n = 4 ] && break
	sleep 0.2
done
for l in 0 1 2 3; do
	d=$(dev_of $l)
	s=/sys/block/$d
	echo "L2: lun $l size $(cat $s/size) vendor '$(cat $s/device/vendor)' model '$(cat $s/device/model)' wwid '$(cat $s/device/wwid 2>/dev/null)' ro $(cat $s/ro) serial '$(dd if=$s/device/vpd_pg80 bs=1 skip=4 2>/dev/null | tr -d '\000')'"
done
echo "L2: channels $(ls -d /sys/bus/vmbus/devices/*/channels/* 2>/dev/null | wc -l)"
FS=/dev/$(dev_of 0) TOOLS=/dev/$(dev_of 1) FIO=/dev/$(dev_of 2) NV=/dev/$(dev_of 3)
mount -o ro $TOOLS /tools && echo "L2: tools mounted"
LD=/tools/lib64/ld-linux-x86-64.so.2
LP=/tools/lib/x86_64-linux-gnu:/tools/usr/lib/x86_64-linux-gnu:/tools/usr/lib/x86_64-linux-gnu/ceph
run() { $LD --library-path $LP "$@"; }
# A file system on LUN 0 and on the NVMe LUN's first 32 MiB (a partition-free ext4 of
# that size): a tree of files, synced, mounted again and checked.
fs_test() { # DEV BLOCKS NAME
	run /tools/usr/bin/mkfs.ext4 -q -F -L mhcl $1 $2 && echo "L2: $3 mkfs ok"
	mount $1 /mnt && mkdir -p /mnt/tree
	for n in 1 2 3 4 5 6; do
		dd if=/dev/urandom of=/mnt/tree/f$n bs=1k count=$((n * 97)) 2>/dev/null
	done
	(cd /mnt/tree && md5sum f*) >/tmp/sums
	sync && umount /mnt && echo "L2: $3 unmounted"
	mount $1 /mnt && (cd /mnt/tree && md5sum -c /tmp/sums >/dev/null) && echo "L2: $3 tree verified after remount"
	sed "s/^/L2: $3 hash /" /tmp/sums
	umount /mnt
}
fs_test $FS 65536 file
fs_test $NV 32768 nvme
# fio on LUN 2 and on the NVMe LUN's second half while the host restarts and kills
# storaged.
for r in 1 2 3 4 5; do
	echo "L2: fio round $r"
	run /tools/usr/bin/fio --direct=1 --ioengine=libaio --iodepth=8 --rw=randwrite --bs=4k \
		--size=8m --numjobs=2 --offset_increment=16m --verify=crc32c --verify_fatal=1 \
		--do_verify=1 --group_reporting --output=/tmp/fio.$r \
		--name=file --filename=$FIO --name=nvme --filename=$NV --offset=32m \
		>/dev/null 2>&1
	rc=$?
	echo "L2: fio round $r rc $rc: $(grep -E 'err=|WRITE:|READ:' /tmp/fio.$r | tr -s ' ' | tr '\n' ';')"
done
dmesg | grep -iE 'sd [0-9:]+|scsi|storvsc|I/O error|blk_update' | sed 's/^/L2: kmsg: /'
# Hot plug: the host attaches LUN 4, then detaches it.
dmesg -c >/dev/null
echo "L2: hotplug waiting"
for i in $(seq 1 300); do [ -n "$(dev_of 4)" ] && [ -b /dev/$(dev_of 4) ] && break; sleep 0.2; done
d=$(dev_of 4)
echo "L2: hotplug lun 4 ${d:+appeared as $d, $(cat /sys/block/$d/size) blocks}"
[ -n "$d" ] && dd if=/dev/$d of=/dev/null bs=4k count=16 2>/dev/null && echo "L2: hotplug lun 4 read ok"
for i in $(seq 1 300); do [ -e /sys/bus/scsi/devices/0:0:0:4 ] || break; sleep 0.2; done
[ -e /sys/bus/scsi/devices/0:0:0:4 ] && echo "L2: hotplug lun 4 still there" || echo "L2: hotplug lun 4 removed"
# (shown apart: what removal logs, e.g. the cache flush a gone LUN refuses, is expected)
dmesg | grep -iE 'sd [0-9:]+|scsi' | sed 's/^/L2: hotplug kmsg: /'
# bench/storage-vm.sh: 4 KiB random reads at QD 32 through mhcl, on the file LUN and on
# the NVMe LUN; L1 runs the same on the same file and, through its own nvme driver, on
# the same namespace after the guest is gone.
if grep -q 'mhcl.bench=1' /proc/cmdline; then
	for t in file:$FIO nvme:$NV; do
		run /tools/usr/bin/fio --name=b --filename=${t#*:} --direct=1 --ioengine=libaio \
			--iodepth=32 --rw=randread --bs=4k --size=32m --offset=32m --time_based \
			--runtime=15 --minimal >/tmp/b 2>/dev/null
		echo "L2: bench ${t%%:*} read_iops $(cut -d';' -f8 /tmp/b)"
	done
fi
SH
vm_l2_initramfs "$WORK" drivers/hv/hv_vmbus drivers/hv/hv_utils drivers/scsi/scsi_common \
	drivers/scsi/scsi_mod drivers/scsi/scsi_transport_fc drivers/scsi/sd_mod drivers/scsi/hv_storvsc

CMDLINE="console=ttyS0 reboot=k panic=-1 quiet"
rm -rf "$WORK/l1-extra" && mkdir -p "$WORK/l1-extra/mod" "$WORK/l1-extra/data"
for m in drivers/virtio/virtio drivers/virtio/virtio_ring drivers/virtio/virtio_pci_legacy_dev \
	drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk \
	drivers/vfio/vfio drivers/vfio/vfio_iommu_type1 drivers/vfio/vfio_virqfd \
	drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci; do
	cp "$VM_MOD/$m.ko" "$WORK/l1-extra/mod/"
done
vm_copy_with_libs "$(command -v debugfs)" "$WORK/l1-extra"
{
	vm_manifest_head "$VM_ALLOW_STORAGE"
	cat <<DTS
	storage { binary = "mhcl-storaged";
		args = "--vmbus-socket", "\${RUN}/vmbus-dev.sock",
			"--disk", "file=/data/fs.img,lun=0,vendor=MHCL,product=FS Disk,serial=MHCLFS0001,wwn=0x5000c0ffee000001",
			"--disk", "file=/dev/vda,lun=1,ro,product=Tools",
			"--disk", "file=/data/fio.img,lun=2",
			"--disk", "nvme=0000:00:05.0,nsid=1,lun=3,product=NVMe Disk",
			"--disk", "memory=16M,lun=4,absent,product=Hotplug";
		policy = "storaged"; $VM_ID_STORAGE
		device-files = "/data/fs.img", "/data/fio.img", "/dev/vda", "pci:0000:00:05.0";
		restart = "always"; restart-delay-ms = <100>; start-order = <27>; prestart; };
	vp { binary = "mhcl-vp";
		args = "--vmbusd", "\${RUN}/vmbus.sock", "--cpus", "2", "--mem", "512",
			"--kernel", "/vmlinuz", "--initrd", "/l2.cpio.gz",
			"--cmdline", "$CMDLINE mhcl.wait_shutdown=1${MHCL_VM_BENCH:+ mhcl.bench=1}";
		policy = "vp"; $VM_ID_VP restart = "never"; start-order = <30>; ready-timeout-ms = <30000>;
		stop-timeout-ms = <5000>; };
}; }; };
DTS
} >"$WORK/l1-manifest.dts"
dtc -q -I dts -O dtb -o "$WORK/l1-extra/l1-manifest.dtb" "$WORK/l1-manifest.dts"

cat >"$WORK/l1-tail.sh" <<'SH'
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk \
	vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci; do
	insmod /mod/$m.ko || echo "L1: insmod $m failed"
done
for i in $(seq 1 50); do [ -b /dev/vda ] && break; sleep 0.2; done
# QEMU's NVMe: from the kernel's nvme driver to vfio-pci, for mhcl's driver.
NVME=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/class)" = "0x010802" ] || continue
	NVME=$(basename $d)
	[ -e $d/driver ] && echo $NVME >$d/driver/unbind
	echo vfio-pci >$d/driver_override
	echo $NVME >/sys/bus/pci/drivers_probe
	echo "L1: NVMe $NVME bound to $(basename $(readlink $d/driver))"
done
truncate -s 64M /data/fs.img /data/fio.img
mkdir -p /run/mhcl
export MHCL_DIAG=unix:/run/mhcl/diag.sock
mhcl-init --dtb /l1-manifest.dtb --run-dir /run/mhcl --libexec /usr/bin >/tmp/init.log 2>&1 &
INIT=$!
# One operation per fio round, a second into it (bounded waits; nothing asserts on time).
n=0
for op in restart kill restart kill; do
	n=$((n + 1))
	for i in $(seq 1 600); do
		# (init's log shows the guest console's carriage return as "?")
		grep -qE "^vp: L2: fio round $n\\??\$" /tmp/init.log && break
		grep -q '^vp \[init\]: pid .* exited' /tmp/init.log && break
		sleep 0.5
	done
	sleep 1
	mhcl $op storage >/dev/null 2>&1
	echo "L1: $op storage rc $?"
	# The next instance is up (init counts the restart) and has adopted the state.
	for i in $(seq 1 120); do
		r=$(mhcl ps 2>/dev/null | awk '$1 == "storage" && $3 == "running" {print $5}')
		[ "$r" = "$n" ] && mhcl inspect storage >/tmp/st 2>/dev/null &&
			grep -q 'adopted_state: true' /tmp/st && break
		sleep 0.5
	done
	echo "L1: after $op storage: restarts $r, adopted $(grep -c 'adopted_state: true' /tmp/st), nvme adopted_live $(grep -c 'adopted_live: true' /tmp/st)"
done
# Hot plug, when the guest is ready for it.
for i in $(seq 1 600); do
	grep -q '^vp: L2: hotplug waiting' /tmp/init.log && break
	grep -q '^vp \[init\]: pid .* exited' /tmp/init.log && break
	sleep 0.5
done
mhcl storage attach 0:4 | sed 's/^/L1: attach: /'
for i in $(seq 1 120); do
	grep -q '^vp: L2: hotplug lun 4 appeared' /tmp/init.log && break
	sleep 0.5
done
mhcl storage detach 0:4 | sed 's/^/L1: detach: /'
for i in $(seq 1 900); do
	grep -q '^vp: L2: ready' /tmp/init.log && break
	grep -q '^vp \[init\]: pid .* exited' /tmp/init.log && break
	sleep 0.5
done
mhcl inspect storage | sed 's/^/L1: inspect: /'
. /ident.sh # after the restarts: who each instance runs as
mhcl guest shutdown >/dev/null 2>&1; echo "L1: guest shutdown rc $?"
for i in $(seq 1 120); do
	grep -q '^vp \[init\]: pid .* exited' /tmp/init.log && break
	sleep 1
done
kill -TERM $INIT
wait $INIT && echo "L1: mhcl-init exited 0" || echo "L1: mhcl-init exited $?"
cat /tmp/init.log
# The guest's files, read from the image it wrote and from the NVMe namespace (handed
# back to the kernel's nvme driver: init has closed the VFIO fds it kept).
for n in 1 2 3 4 5 6; do
	echo "L1: file hash $(debugfs -R "cat /tree/f$n" /data/fs.img 2>/dev/null | md5sum | cut -d' ' -f1)  f$n"
done
d=/sys/bus/pci/devices/$NVME
echo $NVME >$d/driver/unbind
echo nvme >$d/driver_override
echo $NVME >/sys/bus/pci/drivers_probe
for i in $(seq 1 50); do [ -b /dev/nvme0n1 ] && break; sleep 0.2; done
for n in 1 2 3 4 5 6; do
	echo "L1: nvme hash $(debugfs -R "cat /tree/f$n" /dev/nvme0n1 2>/dev/null | md5sum | cut -d' ' -f1)  f$n"
done
if [ -f /bench ]; then
	mkdir -p /tools && mount -o ro /dev/vda /tools
	LD=/tools/lib64/ld-linux-x86-64.so.2
	LP=/tools/lib/x86_64-linux-gnu:/tools/usr/lib/x86_64-linux-gnu:/tools/usr/lib/x86_64-linux-gnu/ceph
	# (tmpfs has no O_DIRECT on Linux 6.1: L1 reads the file through its page cache,
	# which is where the file lives anyway)
	for t in file:/data/fio.img:0 nvme:/dev/nvme0n1:1; do
		f=${t#*:}
		$LD --library-path $LP /tools/usr/bin/fio --name=b --filename=${f%:*} --direct=${f##*:} \
			--ioengine=libaio --iodepth=32 --rw=randread --bs=4k --size=32m --offset=32m \
			--time_based --runtime=15 --minimal >/tmp/b 2>/dev/null
		echo "L1: bench ${t%%:*} read_iops $(cut -d';' -f8 /tmp/b)"
	done
fi
echo "L1: phases done"
SH
[ -n "${MHCL_VM_BENCH:-}" ] && touch "$WORK/l1-extra/bench"
vm_l1_initramfs "$WORK" "$BUILD" "$WORK/l1-tail.sh" worker/bin/mhcl-vp init/mhcl-init \
	servers/diag/mhcl-diagd servers/vmbus/mhcl-vmbusd servers/ic/mhcl-icd \
	servers/storage/mhcl-storaged tools/mhcl

LOG=$WORK/console.log
# q35 with an emulated IOMMU (interrupt remapping: VFIO needs it), the tools disk, and the
# NVMe controller at a fixed address (the manifest names it).
truncate -s 64M "$WORK/nvme.img"
VM_L1_QEMU=(-machine q35 -device intel-iommu,intremap=on
	-drive "file=$TOOLS,if=virtio,format=raw,readonly=on"
	-drive "file=$WORK/nvme.img,if=none,id=nv0,format=raw"
	-device "nvme,serial=MHCLNVME01,drive=nv0,bus=pcie.0,addr=0x5")
VM_L1_APPEND=intel_iommu=on
start=$(date +%s)
rc=0
VM_L1_DONE_MARK='^L1: phases done' vm_run_l1 "$WORK" "$LIMIT" "$LOG" || rc=$?
echo "vm: L0 run took $(($(date +%s) - start)) s (qemu rc $rc); log: $LOG"
tr -d '\r' <"$LOG" | grep -a -E '^(L1|L2): |^(vp|vmbus|ic|storage|diag)( \[init\])?: ' || true

fail=0
out() { tr -d '\r' <"$LOG"; }
pass() { echo "PASS: $1"; }
flunk() { echo "FAIL: $1"; fail=1; }
expect() { if out | grep -a -E "$2" >/dev/null; then pass "$1"; else flunk "$1 (no line matching /$2/)"; fi; }
reject() { if out | grep -a -E "$2" >/dev/null; then flunk "$1 (a line matches /$2/)"; else pass "$1"; fi; }

# Each server as its own uid, after the restarts; storaged keeps ipc_lock while it serves
# (VFIO pins guest RAM at each channel open), the others have no capability.
while read -r comm uid caps; do
	expect "$comm ran as uid $uid with capabilities $caps" "$(vm_ident_re "$comm" "$uid" "$caps")"
done < <(vm_idents; echo "mhcl-storaged 406 0000000000004000")
expect "storaged registered its controller" '^storage: .*registered offer 1 with vmbusd'
expect "L2 negotiated the storage protocol" '^storage: .*controller 0: protocol 6\.2'
expect "L2 opened a sub-channel" '^storage: .*controller 0 channel 1 opened'
expect "LUN 0: size, vendor, model, WWN and serial from the manifest" \
	"^vp: L2: lun 0 size 131072 vendor 'MHCL *' model 'FS Disk *' wwid 'naa.5000c0ffee000001' ro 0 serial 'MHCLFS0001'"
expect "LUN 1: the read-only block device" "^vp: L2: lun 1 size [0-9]+ vendor 'MHCL *' model 'Tools *' .* ro 1 "
expect "LUN 2: 64 MiB" "^vp: L2: lun 2 size 131072 "
expect "LUN 3: the NVMe namespace (64 MiB)" "^vp: L2: lun 3 size 131072 vendor 'MHCL *' model 'NVMe Disk *' "
expect "storaged brought the NVMe controller up through VFIO" '^storage: .*NVMe 0000:00:05\.0: brought up'
expect "each restart adopted the NVMe controller live" '^storage: .*NVMe 0000:00:05\.0: adopted live \(no reset\)'
for k in file nvme; do
	expect "$k: L2 ran mkfs.ext4 from the tools disk" "^vp: L2: $k mkfs ok"
	expect "$k: L2's tree verified after a remount" "^vp: L2: $k tree verified after remount"
done
for r in 1 2 3 4 5; do
	# (one group: both disks' two jobs, four in all)
	expect "fio round $r verified with no error on both disks" "^vp: L2: fio round $r rc 0: .*jobs=4\): err= *0:"
done
n=$(out | grep -c '^L1: after [a-z]* storage: .*nvme adopted_live 1' || true)
[ "$n" = 4 ] && pass "inspect said the NVMe controller was adopted live after every restart" ||
	flunk "inspect: NVMe adopted live after $n of 4 restarts"
ops=$(out | sed -n 's/^L1: after \([a-z]*\) storage: restarts [1-4], adopted 1,.*/\1/p' | tr '\n' ' ')
[ "$ops" = "restart kill restart kill " ] && pass "storaged restarted and killed twice each, state adopted each time" ||
	flunk "storaged restarts: '$ops'"
expect "a planned restart found nothing to replay" '^storage: .*adopted the storage state of the previous instance \(planned restart\)'
expect "a crash left requests that the next instance finished" '^storage: .*adopted the storage state of the previous instance \(it crashed\)'
expect "hot plug: mhcl storage attach asked the guest to rescan" '^L1: attach: the guest was asked to rescan its bus'
expect "hot plug: the guest found the attached LUN (16 MiB)" '^vp: L2: hotplug lun 4 appeared as sd[a-z]+, 32768 blocks'
expect "hot plug: the guest read from it" '^vp: L2: hotplug lun 4 read ok'
expect "hot plug: mhcl storage detach asked the guest to rescan" '^L1: detach: the guest was asked to rescan its bus'
expect "hot plug: the guest removed the detached LUN" '^vp: L2: hotplug lun 4 removed'
reject "no SCSI error, abort, reset or timeout in L2" '^vp: L2: kmsg: .*(abort|reset|timed out|timeout|I/O error|FAILED|Sense Key|hostbyte|blk_update)'
reject "no seccomp violation" '\[init\]: seccomp: forbidden'
expect "the guest powered off" '^vp \[init\]: pid [0-9]+ exited with 0 '
# The hashes the guest printed are the hashes of the files L1 reads from the backends.
for k in file nvme; do
	g=$(out | sed -n "s/^vp: L2: $k hash \([0-9a-f]*\)  \(f[0-9]\)?*\$/\2 \1/p" | sort | tr '\n' ' ')
	h=$(out | sed -n "s/^L1: $k hash \([0-9a-f]*\)  \(f[0-9]\)\$/\2 \1/p" | sort | tr '\n' ' ')
	if [ -n "$g" ] && [ "$g" = "$h" ] && [ "$(echo "$g" | wc -w)" = 12 ]; then
		pass "$k: L1 reads the guest's six files from the backend with the same hashes"
	else
		flunk "$k hashes: guest '$g', backend '$h'"
	fi
done
exit $fail
