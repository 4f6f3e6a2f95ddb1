/* SPDX-License-Identifier: MIT */
/* Unit tests for init/procstat.c: the /proc parsers behind ps's CPU, PSS and USS. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"
#include "test.h"

/* A kernel's smaps_rollup (6.x), range header included. */
static const char rollup[] =
    "5569e12ea000-7ffff6019000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:                1740 kB\n"
    "Pss:                 260 kB\n"
    "Pss_Dirty:           112 kB\n"
    "Pss_Anon:            112 kB\n"
    "Shared_Clean:       1592 kB\n"
    "Private_Clean:        36 kB\n"
    "Private_Dirty:       112 kB\n"
    "Swap:                  0 kB\n";

static int parse(const char *text, uint64_t *pss, uint64_t *uss)
{
	return procstat_parse_smaps_rollup(text, strlen(text), pss, uss);
}

static void test_rollup(void)
{
	uint64_t pss = 1, uss = 1;

	ASSERT_OK(parse(rollup, &pss, &uss));
	ASSERT_UEQ(pss, 260 * 1024);
	ASSERT_UEQ(uss, (36 + 112) * 1024);
	/* No trailing newline, other order, tabs. */
	ASSERT_OK(parse("Private_Dirty:\t4 kB\nPss: 8 kB\nPrivate_Clean: 0 kB", &pss, &uss));
	ASSERT_UEQ(pss, 8 * 1024);
	ASSERT_UEQ(uss, 4 * 1024);
	/* The largest value that still fits in bytes. */
	char big[160];
	snprintf(big, sizeof(big), "Pss: %llu kB\nPrivate_Clean: 0 kB\nPrivate_Dirty: 0 kB\n",
		 (unsigned long long)(UINT64_MAX / 1024));
	ASSERT_OK(parse(big, &pss, &uss));
	ASSERT_UEQ(pss, UINT64_MAX / 1024 * 1024);
}

static void test_rollup_refused(void)
{
	uint64_t pss = 7, uss = 7;
	static const char *const bad[] = {
	    "",
	    "Pss: 1 kB\nPrivate_Clean: 1 kB\n", /* Private_Dirty missing */
	    "Pss_Anon: 1 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n",	/* no Pss itself */
	    "Pss: 1 MB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n",		/* unit */
	    "Pss: -1 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n",		/* sign */
	    "Pss: 1 kB x\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n",		/* trailing */
	    "Pss: kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n",		/* no number */
	    "Pss: 1 kB\nPss: 2 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n", /* twice */
	    "Pss: 18014398509481984 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n", /* *1024 */
	    "Pss: 99999999999999999999999 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1 kB\n",
	    "Pss: 1 kB\nPrivate_Clean: 1 kB\nPrivate_Dirty: 1", /* cut short */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &pss, &uss) != -EBADMSG) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			ASSERT_TRUE(false);
		}
	}
	/* Private_Clean + Private_Dirty overflowing. */
	char sum[200];
	snprintf(sum, sizeof(sum), "Pss: 1 kB\nPrivate_Clean: %llu kB\nPrivate_Dirty: %llu kB\n",
		 (unsigned long long)(UINT64_MAX / 1024), (unsigned long long)(UINT64_MAX / 1024));
	ASSERT_EQ(parse(sum, &pss, &uss), -EBADMSG);
	/* Outputs untouched on failure. */
	ASSERT_UEQ(pss, 7);
	ASSERT_UEQ(uss, 7);
	/* Bounded by len: the NUL is not what ends it. */
	ASSERT_EQ(procstat_parse_smaps_rollup(rollup, 40, &pss, &uss), -EBADMSG);
}

static void test_stat(void)
{
	/* comm with blanks and ')' in it: fields count after the last ')'. */
	static const char st[] = "4757 (a) b) c) R 4754 4754 5393 0 -1 4194304 100 0 0 0 "
				 "250 31 0 0 20 0 1 0 3186217 3133440 411\n";
	uint64_t ut = 0, sys = 0;

	ASSERT_OK(procstat_parse_stat(st, strlen(st), &ut, &sys));
	ASSERT_UEQ(ut, 250);
	ASSERT_UEQ(sys, 31);
	ASSERT_EQ(procstat_parse_stat("4757 (cat R 1 2", 15, &ut, &sys), -EBADMSG);
	ASSERT_EQ(procstat_parse_stat("1 (x) R 1 2 3 4 5 6 7 8 9 10", 28, &ut, &sys), -EBADMSG);
	ASSERT_EQ(procstat_parse_stat("1 (x) R 1 2 3 4 5 6 7 8 9 x 1", 29, &ut, &sys), -EBADMSG);
}

/* This process reads itself as init reads its servers. */
static void test_read_self(void)
{
	struct procstat ps;
	char pid[16];

	procstat_read("self", &ps);
	ASSERT_GT(ps.rss_bytes, 0);
	ASSERT_GT(ps.pss_bytes, 0);
	ASSERT_GT(ps.uss_bytes, 0);
	ASSERT_LE(ps.uss_bytes, ps.pss_bytes);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	procstat_read(pid, &ps);
	ASSERT_GT(ps.pss_bytes, 0);
	/* A pid that is not there: every figure stays 0. */
	procstat_read("0", &ps);
	ASSERT_UEQ(ps.rss_bytes + ps.pss_bytes + ps.uss_bytes + ps.cpu_user_ms, 0);
}

/* Lines of a worker's smaps: guest RAM (the memfd, mapped twice) and other mappings. */
static const char *const smaps[] = {
    "7f0000000000-7f0010000000 rw-s 00000000 00:01 1234                       "
    "/memfd:mhcl-guest-ram (deleted)",
    "Size:             262144 kB",
    "Rss:               81920 kB",
    "Pss:               40960 kB",
    "Shared_Dirty:      81920 kB",
    "Private_Clean:         0 kB",
    "Private_Dirty:         8 kB",
    "VmFlags: rd wr sh mr mw me ms sd",
    "55d0c0000000-55d0c0021000 rw-p 00000000 00:00 0                          [heap]",
    "Rss:                 132 kB",
    "Pss:                 132 kB",
    "Private_Dirty:       132 kB",
    /* a name that only starts like guest RAM is not guest RAM */
    "7f2000000000-7f2000001000 rw-s 00000000 00:01 99 /memfd:mhcl-guest-ramdisk (deleted)",
    "Rss:                   4 kB",
    "Pss:                   4 kB",
    "7f1000000000-7f1000100000 rw-s 00000000 00:01 1234 /memfd:mhcl-guest-ram (deleted)",
    "Rss:                1024 kB",
    "Pss:                 512 kB",
    "Private_Clean:         0 kB",
    "Private_Dirty:         0 kB",
};

static void test_smaps_guest(void)
{
	struct procstat_guest g = {0};

	for (size_t i = 0; i < sizeof(smaps) / sizeof(smaps[0]); i++)
		ASSERT_OK(procstat_smaps_guest_line(&g, smaps[i], strlen(smaps[i])));
	ASSERT_UEQ(g.rss, (81920 + 1024) * 1024ull);
	ASSERT_UEQ(g.pss, (40960 + 512) * 1024ull);
	ASSERT_UEQ(g.private_bytes, 8 * 1024ull);
	/* A malformed figure inside guest RAM is refused; outside it, not looked at. */
	struct procstat_guest h = {0};
	ASSERT_OK(procstat_smaps_guest_line(&h, smaps[0], strlen(smaps[0])));
	ASSERT_EQ(procstat_smaps_guest_line(&h, "Pss: lots kB", 12), -EBADMSG);
	ASSERT_EQ(procstat_smaps_guest_line(&h, "Rss: 99999999999999999999 kB", 28), -EBADMSG);
	ASSERT_OK(procstat_smaps_guest_line(&h, smaps[8], strlen(smaps[8])));
	ASSERT_OK(procstat_smaps_guest_line(&h, "Pss: lots kB", 12));
}

static void test_meminfo(void)
{
	struct procstat_meminfo m;
	const char text[] = "MemTotal:        1476296 kB\nMemFree:  100 kB\n"
			    "MemAvailable:    1203340 kB\nShmem:  262144 kB\n"
			    "SecPageTables:      2048 kB\n";
	ASSERT_OK(procstat_parse_meminfo(text, sizeof(text) - 1, &m));
	ASSERT_UEQ(m.total, 1476296 * 1024ull);
	ASSERT_UEQ(m.available, 1203340 * 1024ull);
	ASSERT_UEQ(m.shmem, 262144 * 1024ull);
	ASSERT_UEQ(m.sec_page_tables, 2048 * 1024ull);
	ASSERT_UEQ(m.page_tables, 0); /* not said */
	const char *const bad[] = {
	    "MemTotal: 1 kB\nMemAvailable: 1 kB\n",
	    "MemTotal: 1 kB\nMemTotal: 1 kB\nMemAvailable: 1 kB\nShmem: 0 kB",
	    "MemTotal: 1 MB\nMemAvailable: 1 kB\nShmem: 0 kB",
	    "MemTotal: x kB\nMemAvailable: 1 kB\nShmem: 0 kB"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(procstat_parse_meminfo(bad[i], strlen(bad[i]), &m), -EBADMSG);
	ASSERT_OK(procstat_read_meminfo(&m));
	ASSERT_TRUE(m.total > 0 && m.available <= m.total);
}

static void test_slabinfo(void)
{
	struct procstat_slab top[PROCSTAT_SLAB_TOP];
	const char text[] =
	    "slabinfo - version: 2.1\n"
	    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>\n"
	    "kmalloc-1k           100    128   1024    8    2 : tunables 0 0 0 : slabdata 16 16 0\n"
	    "skbuff_head_cache   9000  10000    256   16    1 : tunables 0 0 0 : slabdata 1 1 0\n"
	    "a 1 1 8 1 1\nb 1 2 8 1 1\nc 1 3 8 1 1\nd 1 4 8 1 1\nbroken x y z\n";
	ASSERT_EQ(procstat_parse_slabinfo(text, sizeof(text) - 1, top), PROCSTAT_SLAB_TOP);
	ASSERT_STREQ(top[0].name, "skbuff_head_cache");
	ASSERT_UEQ(top[0].bytes, 10000 * 256ull);
	ASSERT_STREQ(top[1].name, "kmalloc-1k");
	ASSERT_STREQ(top[2].name, "d");
	ASSERT_STREQ(top[4].name, "b");
	ASSERT_EQ(procstat_parse_slabinfo("slabinfo - version: 2.1\n", 24, top), -EBADMSG);
}

int main(void)
{
	test_slabinfo();
	test_meminfo();
	test_smaps_guest();
	test_rollup();
	test_rollup_refused();
	test_stat();
	test_read_self();
	return 0;
}
