/* SPDX-License-Identifier: MIT */
/*
 * lib/nvme/prp.c: PRP1/PRP2 and PRP lists for one page, two pages, a list, a chained list
 * and an offset into the first page, each checked by walking the result the way a
 * controller does (the walker here is the test's own), plus the refusals.
 */
#include <errno.h>
#include <stdlib.h>

#include "macros.h"
#include "nvme_internal.h"
#include "test.h"

#define LIST_IOVA 0x7000000ull
#define MAX_LIST_PAGES 4u

static uint64_t list_mem[MAX_LIST_PAGES * NVME_PRPS_PER_PAGE];
static uint64_t pages[2048];

/* Scattered, descending IOVAs: an index mix-up cannot go unnoticed. */
static void make_pages(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(pages); i++)
		pages[i] = 0x40000000ull - (uint64_t)i * 3 * NVME_PAGE_SIZE;
}

/* The list page holding list IOVA iova, from the test's buffer. */
static const uint64_t *list_at(uint64_t iova)
{
	ASSERT_GE(iova, LIST_IOVA);
	ASSERT_LT(iova, LIST_IOVA + MAX_LIST_PAGES * NVME_PAGE_SIZE);
	ASSERT_EQ(iova % NVME_PAGE_SIZE, 0);
	return list_mem + (iova - LIST_IOVA) / 8;
}

/* Walks prp1/prp2 for len bytes as a controller would and checks every piece against
 * pages[] with offset off. */
static void walk_and_check(uint32_t off, uint64_t len, uint64_t prp1, uint64_t prp2)
{
	uint64_t rem, n = (off + len + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE;
	const uint64_t *list;
	unsigned idx = 0;

	ASSERT_UEQ(prp1, pages[0] + off);
	if (n == 1) {
		ASSERT_UEQ(prp2, 0);
		return;
	}
	if (n == 2) {
		ASSERT_UEQ(prp2, pages[1]);
		return;
	}
	list = list_at(prp2);
	rem = off + len - NVME_PAGE_SIZE;
	for (uint64_t i = 1; i < n; i++) {
		if (idx == NVME_PRPS_PER_PAGE - 1 && rem > NVME_PAGE_SIZE) {
			list = list_at(list[idx]);
			idx = 0;
		}
		ASSERT_UEQ(list[idx], pages[i]);
		idx++;
		rem -= rem < NVME_PAGE_SIZE ? rem : NVME_PAGE_SIZE;
	}
	ASSERT_UEQ(rem, 0);
}

static void check(uint32_t off, uint64_t len, uint32_t list_pages)
{
	uint64_t prp1 = 0, prp2 = 0;
	uint32_t n = (uint32_t)((off + len + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE);

	memset(list_mem, 0xee, sizeof(list_mem));
	ASSERT_OK(
	    nvme_prp_build(off, len, pages, n, list_mem, LIST_IOVA, list_pages, &prp1, &prp2));
	walk_and_check(off, len, prp1, prp2);
}

static void test_one_page(void)
{
	check(0, 4096, 0);
	check(512, 512, 0);
	check(4092, 4, 0);
}

static void test_two_pages(void)
{
	check(0, 8192, 0);
	check(3072, 2048, 0);
	check(4, 4096, 0);
}

static void test_list(void)
{
	check(0, 3 * 4096, 1);
	check(512, 4 * 4096, 1);
	check(0, 128 * 4096, 1);
	/* 513 pages: 512 list entries fill the page exactly, nothing chains. */
	check(0, 513 * 4096, 1);
	check(2048, 512 * 4096, 1);
	ASSERT_EQ(list_mem[NVME_PRPS_PER_PAGE - 1], pages[512]);
}

static void test_chained_list(void)
{
	uint64_t prp1, prp2;

	/* 514 pages: 511 entries, a chain pointer, then 2 entries on the second page. */
	check(0, 514 * 4096, 2);
	ASSERT_UEQ(list_mem[NVME_PRPS_PER_PAGE - 1], LIST_IOVA + NVME_PAGE_SIZE);
	ASSERT_UEQ(list_mem[NVME_PRPS_PER_PAGE], pages[512]);
	ASSERT_UEQ(list_mem[NVME_PRPS_PER_PAGE + 1], pages[513]);
	check(1024, 1100 * 4096, 3);
	ASSERT_EQ(nvme_prp_build(0, 514 * 4096, pages, 514, list_mem, LIST_IOVA, 1, &prp1, &prp2),
		  -E2BIG);
}

static void test_list_pages_needed(void)
{
	ASSERT_EQ(nvme_prp_list_pages(1), 0);
	ASSERT_EQ(nvme_prp_list_pages(2), 0);
	ASSERT_EQ(nvme_prp_list_pages(3), 1);
	ASSERT_EQ(nvme_prp_list_pages(513), 1);
	ASSERT_EQ(nvme_prp_list_pages(514), 2);
	ASSERT_EQ(nvme_prp_list_pages(1024), 2);
	ASSERT_EQ(nvme_prp_list_pages(1025), 3);
}

static void test_refusals(void)
{
	uint64_t prp1 = 0, prp2 = 0, saved = pages[1];

	ASSERT_EQ(nvme_prp_build(2, 512, pages, 1, list_mem, LIST_IOVA, 1, &prp1, &prp2), -EINVAL);
	ASSERT_EQ(nvme_prp_build(4096, 512, pages, 2, list_mem, LIST_IOVA, 1, &prp1, &prp2),
		  -EINVAL);
	ASSERT_EQ(nvme_prp_build(0, 0, pages, 1, list_mem, LIST_IOVA, 1, &prp1, &prp2), -EINVAL);
	/* More bytes than the pages given. */
	ASSERT_EQ(nvme_prp_build(512, 4096, pages, 1, list_mem, LIST_IOVA, 1, &prp1, &prp2),
		  -EINVAL);
	pages[1] += 8;
	ASSERT_EQ(nvme_prp_build(0, 8192, pages, 2, list_mem, LIST_IOVA, 1, &prp1, &prp2), -EINVAL);
	pages[1] = saved;
	ASSERT_EQ(nvme_prp_build(0, 3 * 4096, pages, 3, list_mem, LIST_IOVA, 0, &prp1, &prp2),
		  -E2BIG);
	ASSERT_EQ(nvme_prp_build(0, 3 * 4096, pages, 3, list_mem, LIST_IOVA + 8, 1, &prp1, &prp2),
		  -EINVAL);
	/* Outputs untouched by refusals. */
	ASSERT_UEQ(prp1, 0);
	ASSERT_UEQ(prp2, 0);
}

int main(void)
{
	make_pages();
	test_one_page();
	test_two_pages();
	test_list();
	test_chained_list();
	test_list_pages_needed();
	test_refusals();
	return 0;
}
