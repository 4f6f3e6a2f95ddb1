/* SPDX-License-Identifier: MIT */
/* The driver's DMA memory: one memfd, mapped at mem_iova, handed out in whole pages. */
#include <errno.h>

#include "mana_internal.h"

int mana__mem_alloc(struct mana_dev *d, size_t size, uint8_t **ret_va, uint64_t *ret_iova)
{
	size = (size + GDMA_PAGE_SIZE - 1) & ~(size_t)(GDMA_PAGE_SIZE - 1);
	if (size == 0 || size > d->mem_size - d->mem_used)
		return -ENOMEM;
	*ret_va = d->mem + d->mem_used;
	*ret_iova = d->mem_iova + d->mem_used;
	d->mem_used += size;
	return 0;
}

uint64_t mana__iova(const struct mana_dev *d, const void *va)
{
	return d->mem_iova + (uint64_t)((const uint8_t *)va - d->mem);
}
