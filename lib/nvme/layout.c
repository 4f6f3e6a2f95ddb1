/* SPDX-License-Identifier: MIT */
/* Where everything sits in the state memfd (nvme_state.h): a function of the queue count
 * and depths alone, so an adopting instance can recompute and compare it. */
#include <errno.h>
#include <string.h>

#include "nvme_state.h"

static uint64_t page_align(uint64_t v)
{
	return (v + NVME_PAGE_SIZE - 1) & ~(uint64_t)(NVME_PAGE_SIZE - 1);
}

int nvme_layout_compute(unsigned nq_alloc, unsigned admin_depth, unsigned io_depth,
			struct nvme_layout *ret)
{
	struct nvme_layout l;
	uint64_t off;

	if (nq_alloc < 2 || nq_alloc > NVME_MAX_QUEUES || admin_depth < 2 ||
	    admin_depth > NVME_ADMIN_DEPTH || io_depth < 2 || io_depth > NVME_MAX_QUEUE_DEPTH)
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	off = page_align(sizeof(struct nvme_state_hdr));
	l.id_ctrl_off = off;
	off += NVME_ID_PAGE_SIZE;
	for (unsigned q = 0; q < nq_alloc; q++) {
		l.depth[q] = q ? io_depth : admin_depth;
		l.slots_off[q] = off;
		off += page_align((uint64_t)l.depth[q] * sizeof(struct nvme_cid_slot));
	}
	/* Everything from here on is the device's to read and write. */
	l.dma_off = off;
	l.id_buf_off = off;
	off += NVME_ID_PAGE_SIZE;
	for (unsigned q = 0; q < nq_alloc; q++) {
		l.sq_off[q] = off;
		off += page_align((uint64_t)l.depth[q] * sizeof(struct nvme_sqe));
		l.cq_off[q] = off;
		off += page_align((uint64_t)l.depth[q] * sizeof(struct nvme_cqe));
		/* Admin commands carry no PRP lists; Identify lands in id_buf. */
		l.prp_pages[q] = q ? 1u : 0u;
		l.prp_off[q] = off;
		off += (uint64_t)l.depth[q] * l.prp_pages[q] * NVME_PAGE_SIZE;
	}
	l.dma_len = off - l.dma_off;
	l.size = off;
	*ret = l;
	return 0;
}
