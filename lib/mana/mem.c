/* SPDX-License-Identifier: MIT */
/*
 * The driver's memfd (mana_state.h): created sealed at bring-up, mapped again on
 * adoption, its DMA part mapped for the device; and where each ring and buffer sits in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devaccess.h"
#include "mana_internal.h"

static_assert(MANA_QUEUE_DEPTH * MANA_TX_WQE_MAX <= MANA_QUEUE_BYTES, "SQ holds every TX WQE");
static_assert(MANA_QUEUE_DEPTH * GDMA_CQE_SIZE <= MANA_QUEUE_BYTES, "a CQ cannot overflow");
static_assert(MANA_BUF_SIZE <= 0xffffu, "RX lengths are 16 bits");

uint64_t mana__layout_size(unsigned nq_alloc)
{
	if (nq_alloc == 0 || nq_alloc > MANA_MAX_QUEUES)
		return 0;
	return MANA_STATE_BYTES + MANA_HWC_BYTES + (uint64_t)nq_alloc * MANA_QUEUE_AREA;
}

uint64_t mana__queue_off(unsigned i, enum mana_part part)
{
	uint64_t base = MANA_HWC_BYTES + (uint64_t)i * MANA_QUEUE_AREA;

	if (part <= MANA_PART_RX_CQ)
		return base + (uint64_t)part * MANA_QUEUE_BYTES;
	base += 5u * (uint64_t)MANA_QUEUE_BYTES;
	return part == MANA_PART_TX_BUF ? base : base + MANA_BUFS_BYTES;
}

uint8_t *mana__mem_va(const struct mana_dev *d, uint64_t off)
{
	return d->mem + off;
}

uint64_t mana__mem_iova(const struct mana_dev *d, uint64_t off)
{
	return d->mem_iova + off;
}

int mana__mem_map(struct mana_dev *d, int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	d->mem_fd = fd;
	d->map = p;
	d->map_size = size;
	d->st = p;
	d->mem = d->map + MANA_STATE_BYTES;
	d->mem_size = size - MANA_STATE_BYTES;
	return 0;
}

int mana__mem_create(struct mana_dev *d, unsigned nq_alloc)
{
	uint64_t size = mana__layout_size(nq_alloc);
	int fd, r;

	if (!size)
		return -EINVAL;
	fd = memfd_create("mhcl-mana-mem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Sealed against resizing: whoever holds the fd next (init's store, the next
	 * instance) cannot truncate it under a mapping. */
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = mana__mem_map(d, fd, size);
	if (r < 0) {
		close(fd);
		return r;
	}
	d->nq_alloc = nq_alloc;
	return 0;
}

int mana__mem_dma_map(struct mana_dev *d, bool adopting)
{
	int r;

	if (!devaccess_iova_allowed(d->da, d->mem_iova, d->mem_size))
		return -EINVAL;
	r = devaccess_dma_map_fd(d->da, d->mem_fd, MANA_STATE_BYTES, d->mem, d->mem_iova,
				 d->mem_size);
	/* Adopting, the pages may still be mapped: a VFIO container keeps its mappings
	 * (and the pages pinned) while init holds its fd. A fresh function must not find
	 * anything there. */
	if (r < 0 && !(adopting && r == -EEXIST))
		return r;
	d->mem_mapped = true;
	return 0;
}

void mana__mem_free(struct mana_dev *d)
{
	/* A function that stays up keeps its mapping: the next instance adopts it. */
	if (d->mem_mapped && !d->ready)
		(void)devaccess_dma_unmap(d->da, d->mem_iova, d->mem_size);
	if (d->map)
		munmap(d->map, d->map_size);
	if (d->mem_fd >= 0)
		close(d->mem_fd);
	d->map = d->mem = NULL;
	d->st = NULL;
	d->mem_fd = -1;
}
