/* SPDX-License-Identifier: MIT */
/*
 * PRP entries for a transfer (NVMe Base 1.4, 4.3; REFERENCES.md section 7 "PRP"):
 * PRP1 is the first page plus the byte offset; a transfer that ends in the next page puts
 * that page in PRP2; a longer one puts a list pointer in PRP2, whose page-aligned entries
 * name the second page onwards, the last slot of a full list page pointing to the next
 * list page when more entries remain.
 */
#include <endian.h>
#include <errno.h>

#include "nvme_internal.h"

uint32_t nvme_prp_list_pages(uint32_t npages)
{
	uint64_t entries;

	if (npages <= 2)
		return 0;
	entries = npages - 1u;
	if (entries <= NVME_PRPS_PER_PAGE)
		return 1;
	/* Every page but the last gives one slot to the chain pointer. */
	return 1u + (uint32_t)((entries - NVME_PRPS_PER_PAGE + NVME_PRPS_PER_PAGE - 2u) /
			       (NVME_PRPS_PER_PAGE - 1u));
}

int nvme_prp_build(uint32_t byte_offset, uint64_t len, const uint64_t *pages, uint32_t npages,
		   uint64_t *list, uint64_t list_iova, uint32_t list_pages, uint64_t *ret_prp1,
		   uint64_t *ret_prp2)
{
	uint64_t span, n;
	uint32_t slot = 0, page = 0;

	if (!len || byte_offset >= NVME_PAGE_SIZE || byte_offset & 3u)
		return -EINVAL;
	if (len > (uint64_t)npages * NVME_PAGE_SIZE)
		return -EINVAL;
	span = byte_offset + len;
	n = (span + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE;
	if (n > npages)
		return -EINVAL;
	for (uint64_t i = 0; i < n; i++)
		if (pages[i] & (NVME_PAGE_SIZE - 1))
			return -EINVAL;
	if (nvme_prp_list_pages((uint32_t)n) > list_pages)
		return -E2BIG;
	if (n > 2 && list_iova & (NVME_PAGE_SIZE - 1))
		return -EINVAL;

	*ret_prp1 = pages[0] + byte_offset;
	if (n == 1) {
		*ret_prp2 = 0;
		return 0;
	}
	if (n == 2) {
		*ret_prp2 = pages[1];
		return 0;
	}
	for (uint64_t i = 1; i < n; i++) {
		if (slot == NVME_PRPS_PER_PAGE - 1 && n - i > 1) {
			page++;
			list[(uint64_t)(page - 1) * NVME_PRPS_PER_PAGE + slot] =
			    htole64(list_iova + (uint64_t)page * NVME_PAGE_SIZE);
			slot = 0;
		}
		list[(uint64_t)page * NVME_PRPS_PER_PAGE + slot++] = htole64(pages[i]);
	}
	*ret_prp2 = list_iova;
	return 0;
}
