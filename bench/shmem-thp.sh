# Sourced by the hosted benchmarks. MHCL_BENCH_THP=1 runs them under the shmem huge-page
# policy "advise" (guest RAM and memory disks, which mhcl madvises for, then get 2 MiB
# pages) and puts the machine's own policy back afterwards; by default the machine's
# policy stands. The first line says which.
THP_KNOB=/sys/kernel/mm/transparent_hugepage/shmem_enabled
THP_WAS=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$THP_KNOB" 2>/dev/null || true)
thp_restore() {
	[ -n "$THP_WAS" ] && [ "$THP_WAS" != advise ] && echo "$THP_WAS" >"$THP_KNOB" 2>/dev/null
	return 0
}
if [ "${MHCL_BENCH_THP:-0}" = 1 ] && [ -n "$THP_WAS" ] && [ "$THP_WAS" != advise ] &&
	echo advise >"$THP_KNOB" 2>/dev/null; then
	trap thp_restore EXIT INT TERM
	echo "shmem huge pages: advise for this run (MHCL_BENCH_THP=1; this machine: $THP_WAS)"
else
	echo "shmem huge pages: ${THP_WAS:-unknown} (this machine's policy)"
fi
echo
