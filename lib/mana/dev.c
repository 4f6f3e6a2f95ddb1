/* SPDX-License-Identifier: MIT */
/*
 * Bring-up and teardown (REFERENCES.md section 6(c)): BAR0 registers, the DMA memfd,
 * MSI-X eventfds, the HWC, the GDMA handshake, one EQ per queue pair, the vPort; then the
 * state page is published for a later instance (mana_state.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "devaccess.h"
#include "macros.h"
#include "mana_internal.h"

int mana__read_registers(struct mana_dev *d)
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

int mana__setup_irqs(struct mana_dev *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		d->efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->efds[i] < 0)
			return -errno;
		d->nefds = i + 1;
	}
	return devaccess_irq_set(d->da, d->efds, n);
}

int mana__dev_new(struct devaccess *da, const struct mana_opts *o, struct mana_dev **ret)
{
	struct mana_dev *d;

	if (!o || o->nr_queues == 0 || o->nr_queues > MANA_MAX_QUEUES ||
	    (o->mem_iova & (GDMA_PAGE_SIZE - 1)))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->da = da;
	d->mem_fd = -1;
	d->mem_iova = o->mem_iova;
	d->timeout_ms = o->timeout_ms ? o->timeout_ms : MANA_DEFAULT_TIMEOUT_MS;
	for (unsigned i = 0; i < ARRAY_SIZE(d->efds); i++)
		d->efds[i] = -1;
	*ret = d;
	return 0;
}

/* Queue pair i's place in memory and its vector; its ids come from the device. */
void mana__queue_place(struct mana_dev *d, struct mana_queue *q)
{
	unsigned i = q->index;

	q->dev = d;
	q->msix = i + 1;
	q->efd = d->efds[i + 1];
	q->tx_buf = mana__mem_va(d, mana__queue_off(i, MANA_PART_TX_BUF));
	q->tx_buf_iova = mana__mem_iova(d, mana__queue_off(i, MANA_PART_TX_BUF));
	q->rx_buf = mana__mem_va(d, mana__queue_off(i, MANA_PART_RX_BUF));
	q->rx_buf_iova = mana__mem_iova(d, mana__queue_off(i, MANA_PART_RX_BUF));
}

int mana_dev_init(struct devaccess *da, const struct mana_opts *o, struct mana_dev **ret)
{
	struct mana_dev *d;
	int r;

	r = mana__dev_new(da, o, &d);
	if (r < 0)
		return r;
	r = mana__read_registers(d);
	if (r == 0 && MIN(da->irq_count, o->nr_queues + 1) < 2)
		r = -ENOTSUP;
	if (r == 0)
		r = mana__mem_create(d, o->nr_queues);
	if (r == 0)
		r = mana__mem_dma_map(d, false);
	if (r == 0)
		r = mana__setup_irqs(d, MIN(da->irq_count, o->nr_queues + 1));
	if (r == 0)
		r = mana__hwc_create(d);
	d->max_queues = o->nr_queues;
	if (r == 0)
		r = mana__gdma_setup(d);
	for (unsigned i = 0; r == 0 && i < d->max_queues; i++) {
		struct mana_queue *q = &d->q[i];

		q->index = i;
		mana__queue_place(d, q);
		r = mana__eq_create(d, q);
	}
	if (r == 0)
		r = mana__vport_setup(d);
	if (r < 0) {
		mana_dev_close(d);
		return r;
	}
	mana__state_publish(d);
	d->ready = true;
	*ret = d;
	return 0;
}

void mana_dev_close(struct mana_dev *d)
{
	if (!d)
		return;
	/* A function left running keeps its vectors routed (the transport holds the
	 * eventfds; nobody reads them) until the next instance routes its own. */
	if (d->nefds && !d->ready)
		(void)devaccess_irq_set(d->da, NULL, 0);
	for (unsigned i = 0; i < d->nefds; i++)
		close(d->efds[i]);
	mana__mem_free(d);
	free(d);
}

void mana_dev_info(const struct mana_dev *d, struct mana_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->mac, d->mac, sizeof(ret->mac));
	ret->nr_queues = d->nq;
	ret->mtu = d->mtu;
	ret->adopted = d->adopted;
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
