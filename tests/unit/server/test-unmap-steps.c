/* SPDX-License-Identifier: MIT */
/* lib/common/unmap_steps.c: a mapping torn down in steps is gone whole, its last, partial
 * step included, and nothing beside it is touched. mincore() tells a mapped page (0)
 * from an unmapped one (ENOMEM). */
#include "unmap_steps.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macros.h"
#include "test.h"

static bool mapped(const uint8_t *p, size_t page)
{
	unsigned char v;
	return mincore((void *)p, page, &v) == 0;
}

static void check_steps(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	/* One page of guard on each side, kept mapped, to see that only the middle goes. */
	uint8_t *all = mmap(NULL, len + 2 * page, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(all != MAP_FAILED);
	memset(all, 0x5a, len + 2 * page);
	uint8_t *mid = all + page;

	unmap_steps(mid, len);
	for (size_t off = 0; off < len; off += page)
		ASSERT_FALSE(mapped(mid + off, page));
	ASSERT_TRUE(mapped(all, page));
	ASSERT_TRUE(mapped(mid + len, page));
	ASSERT_EQ(all[0], 0x5a);
	ASSERT_EQ(mid[len], 0x5a);
	munmap(all, page);
	munmap(mid + len, page);
}

static void test_whole_steps(void)
{
	check_steps(3u * UNMAP_STEP_BYTES);
}

static void test_partial_last_step(void)
{
	check_steps(2u * UNMAP_STEP_BYTES + 5u * (size_t)sysconf(_SC_PAGESIZE));
}

static void test_smaller_than_a_step(void)
{
	check_steps(7u * (size_t)sysconf(_SC_PAGESIZE));
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
	    {"whole_steps", test_whole_steps},
	    {"partial_last_step", test_partial_last_step},
	    {"smaller_than_a_step", test_smaller_than_a_step},
	};
	return test_run_cases(cases, ARRAY_SIZE(cases), argc, argv);
}
