/* SPDX-License-Identifier: MIT */
/*
 * The /proc figures `mhcl ps` shows for a process: CPU time, RSS, PSS and USS.
 * The parsers take the file's text and touch nothing else, so they can be
 * tested on crafted input; procstat_read() does the reading.
 */
#ifndef MHCL_INIT_PROCSTAT_H
#define MHCL_INIT_PROCSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct procstat {
	uint64_t cpu_user_ms, cpu_sys_ms;
	uint64_t rss_bytes;
	/* Both without the guest's RAM (it is the guest's memory, not the paravisor's): */
	uint64_t pss_bytes;	  /* proportional: each shared page split among its users */
	uint64_t uss_bytes;	  /* unique: Private_Clean + Private_Dirty */
	uint64_t guest_ram_bytes; /* resident guest RAM this process maps */
};

/* /proc/meminfo, the figures that say how much memory the paravisor holds. */
struct procstat_meminfo {
	uint64_t total, available, shmem; /* bytes */
	/* The kernel's own (0 when the kernel does not say): */
	uint64_t slab_unreclaimable, page_tables, sec_page_tables, kernel_stack, vmalloc, percpu;
};

/* Parses /proc/meminfo text buf[0..len): MemTotal, MemAvailable and Shmem, each once as
 * "<digits> kB". Returns 0, or -EBADMSG when one is missing or malformed. */
int procstat_parse_meminfo(const char *buf, size_t len, struct procstat_meminfo *ret);
/* The largest slab caches (/proc/slabinfo: objects times object size), largest first. */
#define PROCSTAT_SLAB_TOP 5
struct procstat_slab {
	char name[32];
	uint64_t bytes;
};
/* Parses /proc/slabinfo text buf[0..len) into top[0..PROCSTAT_SLAB_TOP); returns how many
 * it filled, or -EBADMSG when no line reads as a cache. */
int procstat_parse_slabinfo(const char *buf, size_t len, struct procstat_slab *top);
/* Reads /proc/slabinfo (root only) and parses it. */
int procstat_read_slabinfo(struct procstat_slab *top);

/* Reads and parses /proc/meminfo; 0 or a negative errno. */
int procstat_read_meminfo(struct procstat_meminfo *ret);

/* The guest RAM memfd (lib/guestmem) as /proc/PID/smaps names its mappings. */
#define PROCSTAT_GUEST_RAM_NAME "/memfd:mhcl-guest-ram"

/* The guest-RAM mappings' share of a process, summed over /proc/PID/smaps lines. */
struct procstat_guest {
	bool in_guest; /* the current mapping is guest RAM */
	uint64_t rss, pss, private_bytes;
};

/*
 * Reads /proc/<which>/{stat,statm,smaps_rollup}; which is "self" or a
 * decimal pid (borrowed). A figure whose file cannot be read or parsed stays
 * 0 (smaps_rollup needs ptrace read access: init has it as root, or as the
 * servers' own user). Always fills *ret.
 */
void procstat_read(const char *which, struct procstat *ret);

/*
 * Parses /proc/PID/stat text buf[0..len) (no NUL needed): utime and stime
 * in clock ticks. Returns 0, or -EBADMSG if the text is not one.
 */
int procstat_parse_stat(const char *buf, size_t len, uint64_t *ret_utime, uint64_t *ret_stime);

/*
 * Parses /proc/PID/smaps_rollup text buf[0..len) (no NUL needed): the
 * "Pss:" line and the sum of "Private_Clean:" and "Private_Dirty:", in
 * bytes. Lines it does not know, including the range header, are skipped; a
 * known line must read "<digits> kB". Returns 0, or -EBADMSG if a line it
 * wants is missing, malformed or overflows.
 */
int procstat_parse_smaps_rollup(const char *buf, size_t len, uint64_t *ret_pss, uint64_t *ret_uss);

/*
 * Takes one line of /proc/PID/smaps (line[0..len), no newline) into g: a mapping's
 * header line says whether what follows is guest RAM; its Rss, Pss, Private_Clean and
 * Private_Dirty lines are then added. Returns 0, or -EBADMSG for a wanted line that is
 * malformed or overflows (g is then unreliable).
 */
int procstat_smaps_guest_line(struct procstat_guest *g, const char *line, size_t len);

#endif
