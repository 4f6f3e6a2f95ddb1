/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'mana-state': the state page a previous netd left in lib/mana's memfd
 * (mana_state.h), as mana_dev_adopt reads it. Bytes 0..11 give what the state is checked
 * against (queues asked for, vectors, doorbell pages, the IOVA), the rest is the page.
 * A state the check accepts is loaded into a driver whose memory is a buffer of the
 * layout's size: every queue must land inside it, with ids and positions the rings and
 * the doorbells can carry.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mana_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 12u

static void check_loaded(const struct mana_dev *d, const struct mana_state_limits *lim,
			 size_t mem_size)
{
	if (d->nq == 0 || d->nq > lim->nr_queues || d->db_id >= lim->db_pages)
		abort();
	for (unsigned i = 0; i < d->nq; i++) {
		const struct mana_queue *q = &d->q[i];
		const uint8_t *end = d->mem + mem_size;

		if (q->msix >= lim->irq_count || q->eq.id >= MANA_EQ_ID_LIMIT ||
		    q->sq.id >= MANA_WQ_ID_LIMIT || q->rq.id >= MANA_WQ_ID_LIMIT ||
		    q->tx_cq.id == q->rx_cq.id)
			abort();
		/* Posted work never exceeds what the rings hold. */
		if (q->tx_posted - q->tx_done > MANA_QUEUE_DEPTH ||
		    q->sq.tail - q->sq.head > q->sq.size || q->rq.tail - q->rq.head > q->rq.size)
			abort();
		if (q->sq.va + q->sq.size > end || q->rq.va + q->rq.size > end ||
		    q->eq.va + MANA_QUEUE_BYTES > end || q->tx_cq.va + MANA_QUEUE_BYTES > end ||
		    q->rx_cq.va + MANA_QUEUE_BYTES > end || q->rx_buf + MANA_BUFS_BYTES > end ||
		    q->tx_buf + MANA_BUFS_BYTES > end)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t page[MANA_STATE_BYTES];
	static struct mana_dev d;
	struct mana_state s = {0};
	struct mana_state_limits lim;
	uint16_t db_pages;
	uint64_t iova;
	size_t mem_size;

	if (size < HDR)
		return 0;
	memcpy(&db_pages, data + 2, sizeof(db_pages));
	memcpy(&iova, data + 4, sizeof(iova));
	lim = (struct mana_state_limits){
	    .nr_queues = data[0] % (MANA_MAX_QUEUES + 1),
	    .irq_count = data[1],
	    .db_pages = db_pages,
	    .mem_iova = iova,
	};
	lim.fd_size = mana__layout_size(lim.nr_queues);
	memcpy(&s, data + HDR, size - HDR < sizeof(s) ? size - HDR : sizeof(s));
	if (mana__state_check(&s, &lim) < 0)
		return 0;
	if (s.nq > s.nq_alloc || s.nq_alloc != lim.nr_queues || s.size != lim.fd_size)
		abort();
	mem_size = (size_t)(lim.fd_size - MANA_STATE_BYTES);
	memset(&d, 0, sizeof(d));
	d.mem = malloc(mem_size);
	if (!d.mem)
		abort();
	d.st = (struct mana_state *)page;
	d.mem_size = mem_size;
	d.mem_iova = s.mem_iova;
	for (unsigned i = 0; i < MANA_MAX_QUEUES + 1; i++)
		d.efds[i] = -1;
	mana__state_load(&d, &s);
	check_loaded(&d, &lim, mem_size);
	free(d.mem);
	return 0;
}
