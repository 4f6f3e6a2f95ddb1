/* SPDX-License-Identifier: MIT */
/*
 * lib/guestmem: layouts from peers (refusals), the sealed-memfd check and mapping,
 * translation at every range edge and overflow, copies across ranges, PFN lists to pages
 * and iovecs; the creator's mapping asks for huge pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guestmem.h"
#include "test.h"

#define PG GUESTMEM_PAGE_SIZE

static int unsealed_memfd(uint64_t size)
{
	int fd = (int)syscall(SYS_memfd_create, "t", 0x0001U | 0x0002U);
	ASSERT_GE(fd, 0);
	ASSERT_OK(ftruncate(fd, (off_t)size));
	return fd;
}

static int memfd_sealed(uint64_t size, int seals)
{
	int fd = unsealed_memfd(size);
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, seals));
	return fd;
}

static void test_layout_refusals(void)
{
	const char *why = "";
	uint64_t need;
	struct guestmem_layout l = {.nranges = 0};

	ASSERT_EQ(guestmem_layout_check(&l, &need, &why), -EINVAL);
	l.nranges = GUESTMEM_MAX_RANGES + 1;
	ASSERT_EQ(guestmem_layout_check(&l, &need, &why), -EINVAL);

	l.nranges = 1;
	l.ranges[0] = (struct guestmem_range){.gpa = 0, .size = 0};
	ASSERT_EQ(guestmem_layout_check(&l, &need, &why), -EINVAL);
	l.ranges[0] = (struct guestmem_range){.gpa = 1, .size = PG};
	ASSERT_EQ(guestmem_layout_check(&l, &need, &why), -EINVAL);
	l.ranges[0] = (struct guestmem_range){.gpa = UINT64_MAX - PG + 1 - PG, .size = 2 * PG};
	ASSERT_EQ(guestmem_layout_check(&l, &need, &why), -EINVAL);
	l.ranges[0] =
	    (struct guestmem_range){.gpa = 0, .size = PG, .memfd_offset = UINT64_MAX - PG + 1};
	ASSERT_EQ(guestmem_layout_check(&l, &need, &why), -EINVAL);

	l.nranges = 2;
	l.ranges[0] = (struct guestmem_range){.gpa = 0, .size = 4 * PG};
	l.ranges[1] = (struct guestmem_range){.gpa = 3 * PG, .size = PG, .memfd_offset = 4 * PG};
	ASSERT_EQ(guestmem_layout_check(&l, &need, &why), -EINVAL);
	ASSERT_STREQ(why, "two RAM ranges overlap");

	l.ranges[1].gpa = 16 * PG;
	ASSERT_OK(guestmem_layout_check(&l, &need, &why));
	ASSERT_UEQ(need, 5 * PG);
	ASSERT_TRUE(guestmem_layout_contains(&l, 3 * PG, PG));
	ASSERT_FALSE(guestmem_layout_contains(&l, 3 * PG, PG + 1));
	ASSERT_FALSE(guestmem_layout_contains(&l, 4 * PG, 1));
	ASSERT_TRUE(guestmem_layout_contains(&l, 16 * PG, PG));
	ASSERT_FALSE(guestmem_layout_contains(&l, 16 * PG, 0));
	ASSERT_FALSE(guestmem_layout_contains(&l, UINT64_MAX, 2));
}

/* Two ranges: gpa [0, 4 pages) at memfd 0 and gpa [16, 18 pages) at memfd 4 pages. */
static void map_two(struct guestmem *gm, int fd)
{
	struct guestmem_layout l = {.nranges = 2};
	const char *why = "";

	l.ranges[0] = (struct guestmem_range){.gpa = 0, .size = 4 * PG};
	l.ranges[1] =
	    (struct guestmem_range){.gpa = 16 * PG, .size = 2 * PG, .memfd_offset = 4 * PG};
	ASSERT_OK(guestmem_map(gm, fd, &l, &why));
}

static void test_map_needs_seals(void)
{
	struct guestmem gm, owner;
	struct guestmem_layout l = {.nranges = 1};
	const char *why = "";
	int fd = unsealed_memfd(4 * PG);

	l.ranges[0] = (struct guestmem_range){.gpa = 0, .size = 4 * PG};
	ASSERT_EQ(guestmem_map(&gm, fd, &l, &why), -EINVAL);
	ASSERT_STREQ(why, "the memfd is not sealed against shrinking");
	close(fd);
	fd = memfd_sealed(4 * PG, F_SEAL_SHRINK | F_SEAL_GROW);
	ASSERT_EQ(guestmem_map(&gm, fd, &l, &why), -EINVAL);
	ASSERT_STREQ(why, "the memfd's seals are not final (no F_SEAL_SEAL)");
	ASSERT_OK(fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
	ASSERT_OK(guestmem_map(&gm, fd, &l, &why)); /* takes fd */
	guestmem_release(&gm);

	ASSERT_OK(guestmem_create(6 * PG, &owner));
	l.ranges[0].size = 8 * PG;
	ASSERT_EQ(guestmem_map(&gm, owner.memfd, &l, &why), -EINVAL);
	ASSERT_STREQ(why, "the memfd is smaller than the RAM ranges");
	ASSERT_EQ(ftruncate(owner.memfd, PG), -1); /* sealed */
	guestmem_release(&owner);
	ASSERT_EQ(owner.memfd, -1);
	guestmem_release(&owner); /* twice is harmless */
}

/* The one check every mapper makes: a memfd sealed for good against shrinking, as big as
 * what it maps. */
static void test_memfd_check(void)
{
	const char *why = "";
	int fd, p[2];

	fd = memfd_sealed(4 * PG, F_SEAL_SHRINK); /* the worker could still add seals */
	ASSERT_EQ(guestmem_memfd_check(fd, 4 * PG, &why), -EINVAL);
	ASSERT_STREQ(why, "the memfd's seals are not final (no F_SEAL_SEAL)");
	close(fd);

	fd = memfd_sealed(4 * PG, F_SEAL_SEAL); /* sealed shut, but shrinkable */
	ASSERT_EQ(guestmem_memfd_check(fd, 4 * PG, &why), -EINVAL);
	ASSERT_STREQ(why, "the memfd is not sealed against shrinking");
	close(fd);

	fd = memfd_sealed(4 * PG, F_SEAL_SHRINK | F_SEAL_SEAL);
	ASSERT_OK(guestmem_memfd_check(fd, 4 * PG, &why));
	ASSERT_OK(guestmem_memfd_check(fd, 3 * PG, &why));
	ASSERT_EQ(guestmem_memfd_check(fd, 4 * PG + 1, &why), -EINVAL);
	ASSERT_STREQ(why, "the memfd is smaller than the RAM ranges");
	close(fd);

	/* A memfd made without MFD_ALLOW_SEALING can never be sealed. */
	fd = (int)syscall(SYS_memfd_create, "t", 0x0001U);
	ASSERT_GE(fd, 0);
	ASSERT_OK(ftruncate(fd, 4 * PG));
	ASSERT_EQ(guestmem_memfd_check(fd, PG, &why), -EINVAL);
	close(fd);

	ASSERT_OK(pipe(p)); /* not a file at all */
	ASSERT_EQ(guestmem_memfd_check(p[0], PG, &why), -EINVAL);
	ASSERT_STREQ(why, "guest RAM is not a memfd");
	close(p[0]);
	close(p[1]);
}

static void test_translate(void)
{
	struct guestmem owner, gm;
	uint8_t buf[3 * PG], back[3 * PG];
	uint64_t len;

	ASSERT_OK(guestmem_create(6 * PG, &owner));
	map_two(&gm, dup(owner.memfd));

	len = 2 * PG;
	uint8_t *p = guestmem_gpa_to_va(&gm, 3 * PG, &len);
	ASSERT_TRUE(p == gm.base + 3 * PG);
	ASSERT_UEQ(len, PG); /* shortened to what is contiguous */
	len = 10;
	ASSERT_TRUE(guestmem_gpa_to_va(&gm, 17 * PG + 5, &len) == gm.base + 5 * PG + 5);
	ASSERT_UEQ(len, 10);
	len = 1;
	ASSERT_TRUE(guestmem_gpa_to_va(&gm, 4 * PG, &len) == NULL);
	len = 0;
	ASSERT_TRUE(guestmem_gpa_to_va(&gm, 0, &len) == NULL);
	len = UINT64_MAX;
	ASSERT_TRUE(guestmem_gpa_to_va(&gm, 0, &len) != NULL);
	ASSERT_UEQ(len, 4 * PG);

	ASSERT_TRUE(guestmem_ptr(&gm, 0, 4 * PG) != NULL);
	ASSERT_TRUE(guestmem_ptr(&gm, 1, 4 * PG) == NULL);
	ASSERT_TRUE(guestmem_ptr(&gm, 18 * PG - 1, 1) != NULL);
	ASSERT_TRUE(guestmem_ptr(&gm, 18 * PG - 1, 2) == NULL);
	ASSERT_TRUE(guestmem_ptr(&gm, UINT64_MAX, 1) == NULL);

	/* Copies stay inside one range or fail; the mapping is shared with the owner. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	ASSERT_OK(guestmem_write(&gm, PG, buf, sizeof(buf)));
	ASSERT_EQ(memcmp(owner.base + PG, buf, sizeof(buf)), 0);
	ASSERT_OK(guestmem_read(&owner, PG, back, sizeof(back)));
	ASSERT_EQ(memcmp(back, buf, sizeof(buf)), 0);
	ASSERT_EQ(guestmem_write(&gm, 2 * PG, buf, sizeof(buf)), -EFAULT);
	ASSERT_EQ(guestmem_read(&gm, 16 * PG, back, sizeof(back)), -EFAULT);
	ASSERT_OK(guestmem_read(&gm, 16 * PG, back, 2 * PG));

	guestmem_release(&gm);
	guestmem_release(&owner);
}

static void test_pages_and_iov(void)
{
	struct guestmem owner, gm;
	uint8_t *pages[4];
	struct iovec iov[4];
	size_t bad = 99;

	ASSERT_OK(guestmem_create(6 * PG, &owner));
	map_two(&gm, dup(owner.memfd));

	const uint64_t pfns[] = {2, 3, 16, 0};
	ASSERT_OK(guestmem_pages(&gm, pfns, 4, pages, &bad));
	ASSERT_TRUE(pages[2] == gm.base + 4 * PG);
	const uint64_t badpfns[] = {2, 5, 0};
	ASSERT_EQ(guestmem_pages(&gm, badpfns, 3, pages, &bad), -EFAULT);
	ASSERT_EQ(bad, 1);
	const uint64_t hugepfn[] = {UINT64_MAX};
	ASSERT_EQ(guestmem_pages(&gm, hugepfn, 1, pages, &bad), -EFAULT);

	/* pfns 2,3 are adjacent in the mapping (one entry); 16 is too (memfd page 4). */
	ASSERT_EQ(guestmem_iov(&gm, pfns, 4, 100, 2 * PG, iov, 4), 1);
	ASSERT_TRUE(iov[0].iov_base == gm.base + 2 * PG + 100);
	ASSERT_EQ(iov[0].iov_len, 2 * PG);
	ASSERT_EQ(guestmem_iov(&gm, pfns, 4, PG, 3 * PG, iov, 4), 2);
	ASSERT_EQ(iov[0].iov_len, 2 * PG);
	ASSERT_TRUE(iov[1].iov_base == gm.base);
	ASSERT_EQ(guestmem_iov(&gm, pfns, 4, PG, 3 * PG, iov, 1), -ENOBUFS);
	ASSERT_EQ(guestmem_iov(&gm, pfns, 4, 4 * PG, 1, iov, 4), -ERANGE);
	ASSERT_EQ(guestmem_iov(&gm, pfns, 4, 1, UINT64_MAX, iov, 4), -ERANGE);
	ASSERT_EQ(guestmem_iov(&gm, badpfns, 3, PG, 1, iov, 4), -EFAULT);
	ASSERT_EQ(guestmem_iov(&gm, pfns, 4, 0, 0, iov, 4), 0);

	guestmem_release(&gm);
	guestmem_release(&owner);
}

/* The VmFlags of the mapping that starts at p, from /proc/self/smaps ("" if none). */
static void vm_flags_of(const void *p, char *out, size_t len)
{
	char line[512], want[32];
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	ASSERT_TRUE(f != NULL);
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)p);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') > strchr(line, '-'))
			in = strncmp(line, want, strlen(want)) == 0;
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(out, len, "%s", line + 8);
			break;
		}
	}
	fclose(f);
}

/* Guest RAM's creator asks for 2 MiB pages (MADV_HUGEPAGE: "hg"); the shmem policy the
 * image sets decides whether it gets them. */
static void test_create_asks_huge_pages(void)
{
	struct guestmem gm;
	char flags[512];

	ASSERT_OK(guestmem_create(512 * PG, &gm));
	vm_flags_of(gm.base, flags, sizeof(flags));
	ASSERT_TRUE(strstr(flags, " hg") != NULL);
	guestmem_release(&gm);
}

int main(void)
{
	test_layout_refusals();
	test_map_needs_seals();
	test_memfd_check();
	test_translate();
	test_pages_and_iov();
	test_create_asks_huge_pages();
	return 0;
}
