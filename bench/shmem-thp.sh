# Sourced by the hosted benchmarks: run under the shmem huge-page policy the mhcl image
# sets at boot (image/preinit.c: "advise", so the memfds mhcl madvises for, guest RAM
# and memory disks, get 2 MiB pages), and put the machine's own policy back afterwards.
# A machine where it cannot be set is measured as it is, and the tables say which.
THP_KNOB=/sys/kernel/mm/transparent_hugepage/shmem_enabled
THP_WAS=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$THP_KNOB" 2>/dev/null || true)
thp_restore() {
	[ -n "$THP_WAS" ] && [ "$THP_WAS" != advise ] && echo "$THP_WAS" >"$THP_KNOB" 2>/dev/null
	return 0
}
if [ -n "$THP_WAS" ] && [ "$THP_WAS" != advise ] && echo advise >"$THP_KNOB" 2>/dev/null; then
	trap thp_restore EXIT INT TERM
	echo "shmem huge pages: advise for this run, as the image sets them (this machine: $THP_WAS)"
else
	echo "shmem huge pages: ${THP_WAS:-unknown} (this machine's policy)"
fi
echo
