/* SPDX-License-Identifier: MIT */
/*
 * Bring-up and teardown (REFERENCES.md section 6(c)): BAR0 registers, the DMA memfd,
 * MSI-X eventfds, the HWC, the GDMA handshake, one EQ per queue pair, the vPort.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devaccess.h"
#include "macros.h"
#include "mana_internal.h"

/* HWC: four queue pages and the request and response pages. */
#define HWC_PAGES 6u
/* Per queue pair: EQ, SQ, TX CQ, RQ, RX CQ, and the bounce buffers both ways. */
#define QUEUE_BYTES (5u * MANA_QUEUE_BYTES + 2u * MANA_QUEUE_DEPTH * MANA_BUF_SIZE)

static_assert(MANA_QUEUE_DEPTH * MANA_TX_WQE_MAX <= MANA_QUEUE_BYTES, "SQ holds every TX WQE");
static_assert(MANA_QUEUE_DEPTH * GDMA_CQE_SIZE <= MANA_QUEUE_BYTES, "a CQ cannot overflow");
static_assert(MANA_BUF_SIZE <= 0xffffu, "RX lengths are 16 bits");

static int read_registers(struct mana_dev *d)
{
	struct devaccess *da = d->da;
	uint64_t bar = da->bars[0].size;
	uint32_t v = devaccess_read32(da, 0, GDMA_REG_DB_PAGE_SIZE);

	if (v == UINT32_MAX || bar == 0)
		return -ENODEV;
	d->db_page_size = v & 0xffffu;
	d->db_base = devaccess_read64(da, 0, GDMA_REG_DB_PAGE_OFFSET);
	d->shm_off = devaccess_read64(da, 0, GDMA_REG_SHM_OFFSET);
	/* A doorbell page must hold the EQ doorbell at 0xFF8; everything inside BAR0. */
	if (d->db_page_size < GDMA_DB_OFF_EQ + 8 || d->db_base >= bar ||
	    d->db_page_size > bar - d->db_base || d->shm_off > bar - GDMA_SMC_SIZE ||
	    (d->shm_off & 3))
		return -ENODEV;
	d->db_pages = (uint32_t)MIN((bar - d->db_base) / d->db_page_size, (uint64_t)UINT32_MAX);
	return 0;
}

static int setup_memory(struct mana_dev *d, unsigned nq, uint64_t iova)
{
	d->mem_size = (size_t)HWC_PAGES * GDMA_PAGE_SIZE + (size_t)nq * QUEUE_BYTES;
	d->mem_fd = memfd_create("mhcl-mana-mem", MFD_CLOEXEC);
	if (d->mem_fd < 0)
		return -errno;
	if (ftruncate(d->mem_fd, (off_t)d->mem_size) < 0)
		return -errno;
	d->mem = mmap(NULL, d->mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->mem_fd, 0);
	if (d->mem == MAP_FAILED) {
		d->mem = NULL;
		return -errno;
	}
	d->mem_iova = iova;
	if (!devaccess_iova_allowed(d->da, iova, d->mem_size))
		return -EINVAL;
	int r = devaccess_dma_map_fd(d->da, d->mem_fd, 0, d->mem, iova, d->mem_size);
	if (r < 0)
		return r;
	d->mem_mapped = true;
	return 0;
}

static int setup_irqs(struct mana_dev *d, unsigned nq)
{
	unsigned n = MIN(d->da->irq_count, nq + 1);

	if (n < 2)
		return -ENOTSUP;
	for (unsigned i = 0; i < n; i++) {
		d->efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->efds[i] < 0)
			return -errno;
		d->nefds = i + 1;
	}
	return devaccess_irq_set(d->da, d->efds, n);
}

int mana_dev_init(struct devaccess *da, const struct mana_opts *o, struct mana_dev **ret)
{
	struct mana_dev *d;
	int r;

	if (!o || o->nr_queues == 0 || o->nr_queues > MANA_MAX_QUEUES ||
	    (o->mem_iova & (GDMA_PAGE_SIZE - 1)))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->da = da;
	d->mem_fd = -1;
	d->timeout_ms = o->timeout_ms ? o->timeout_ms : MANA_DEFAULT_TIMEOUT_MS;
	for (unsigned i = 0; i < ARRAY_SIZE(d->efds); i++)
		d->efds[i] = -1;
	r = read_registers(d);
	if (r == 0)
		r = setup_memory(d, o->nr_queues, o->mem_iova);
	if (r == 0)
		r = setup_irqs(d, o->nr_queues);
	if (r == 0)
		r = mana__hwc_create(d);
	d->max_queues = o->nr_queues;
	if (r == 0)
		r = mana__gdma_setup(d);
	for (unsigned i = 0; r == 0 && i < d->max_queues; i++) {
		struct mana_queue *q = &d->q[i];

		q->dev = d;
		q->index = i;
		q->msix = i + 1;
		q->efd = d->efds[i + 1];
		r = mana__eq_create(d, q);
	}
	if (r == 0)
		r = mana__vport_setup(d);
	if (r < 0) {
		mana_dev_close(d);
		return r;
	}
	*ret = d;
	return 0;
}

void mana_dev_close(struct mana_dev *d)
{
	if (!d)
		return;
	if (d->nefds)
		(void)devaccess_irq_set(d->da, NULL, 0);
	for (unsigned i = 0; i < d->nefds; i++)
		close(d->efds[i]);
	if (d->mem_mapped)
		(void)devaccess_dma_unmap(d->da, d->mem_iova, d->mem_size);
	if (d->mem)
		munmap(d->mem, d->mem_size);
	if (d->mem_fd >= 0)
		close(d->mem_fd);
	free(d);
}

void mana_dev_info(const struct mana_dev *d, struct mana_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->mac, d->mac, sizeof(ret->mac));
	ret->nr_queues = d->nq;
	ret->mtu = d->mtu;
}

void mana_dev_stats(const struct mana_dev *d, struct mana_stats *ret)
{
	*ret = d->stats;
}

int mana_dev_mem_fd(const struct mana_dev *d)
{
	return d->mem_fd;
}

struct mana_queue *mana_dev_queue(struct mana_dev *d, unsigned i)
{
	return i < d->nq ? &d->q[i] : NULL;
}
