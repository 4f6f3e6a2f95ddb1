/* SPDX-License-Identifier: MIT */
/*
 * Keepalive: taking over a function that a previous instance of the process left running
 * (mana_state.h). The state page is our own earlier writing but came through other
 * processes and may have been cut off anywhere: it is copied out once, checked field by
 * field (mana__state_check), and only the checked copy is used (and written back, so the
 * commits that follow start from it).
 *
 * Nothing is sent to the HWC. The vectors get this process's eventfds, the DMA part is
 * mapped again (a vfio-user device that lost the client's maps gets them back; a VFIO
 * container kept them), every doorbell is rung with the committed positions (delivering
 * posts a kill kept from the device, harmless for the rest), the CQs and EQs are armed,
 * and each queue's eventfd is signalled once so the caller drains what came meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devaccess.h"
#include "mana_internal.h"

/* Maps the memfd (borrowed until success) and checks a private copy of its state. */
static int map_state(struct mana_dev *d, int fd, const struct mana_opts *o,
		     struct mana_state *ret_copy)
{
	uint64_t size = mana__layout_size(o->nr_queues);
	struct mana_state_limits lim;
	struct stat st;
	int seals, r;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* Without the shrink seal anyone holding the fd could truncate it under us. */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != size)
		return -ESTALE;
	r = mana__mem_map(d, fd, size);
	if (r < 0)
		return r;
	memcpy(ret_copy, d->st, sizeof(*ret_copy));
	lim = (struct mana_state_limits){
	    .fd_size = (uint64_t)st.st_size,
	    .mem_iova = o->mem_iova,
	    .nr_queues = o->nr_queues,
	    .irq_count = d->da->irq_count,
	    .db_pages = d->db_pages,
	};
	return mana__state_check(ret_copy, &lim);
}

static void load_queue(struct mana_dev *d, struct mana_queue *q, const struct mana_qstate *s)
{
	uint32_t tx_done = MANA_POS_DONE(s->tx_pos), rx_done = MANA_POS_DONE(s->rx_pos);
	unsigned i = q->index;

	mana__queue_place(d, q);
	q->st = &d->st->q[i];
	mana__cq_init(&q->eq, mana__mem_va(d, mana__queue_off(i, MANA_PART_EQ)), MANA_QUEUE_BYTES,
		      true);
	q->eq.id = s->eq_id;
	q->eq.head = s->eq_head;
	mana__cq_init(&q->tx_cq, mana__mem_va(d, mana__queue_off(i, MANA_PART_TX_CQ)),
		      MANA_QUEUE_BYTES, false);
	q->tx_cq.id = s->tx_cq_id;
	q->tx_cq.head = MANA_POS_HEAD(s->tx_pos);
	mana__cq_init(&q->rx_cq, mana__mem_va(d, mana__queue_off(i, MANA_PART_RX_CQ)),
		      MANA_QUEUE_BYTES, false);
	q->rx_cq.id = s->rx_cq_id;
	q->rx_cq.head = MANA_POS_HEAD(s->rx_pos);
	q->eq.db_page = q->tx_cq.db_page = q->rx_cq.db_page = d->db_id;
	/* WQ positions follow from the counters (mana_state.h). */
	q->sq = (struct mana_wq){.va = mana__mem_va(d, mana__queue_off(i, MANA_PART_SQ)),
				 .size = MANA_QUEUE_BYTES,
				 .tail = s->tx_posted * d->tx_wqe_size,
				 .head = tx_done * d->tx_wqe_size,
				 .id = s->sq_id,
				 .db_page = d->db_id,
				 .is_sq = true};
	q->rq = (struct mana_wq){.va = mana__mem_va(d, mana__queue_off(i, MANA_PART_RQ)),
				 .size = MANA_QUEUE_BYTES,
				 .tail = (rx_done + MANA_QUEUE_DEPTH) * MANA_RX_WQE_SIZE,
				 .head = rx_done * MANA_RX_WQE_SIZE,
				 .id = s->rq_id,
				 .db_page = d->db_id};
	q->sq_obj = s->sq_obj;
	q->rq_obj = s->rq_obj;
	q->tx_posted = s->tx_posted;
	q->tx_done = tx_done;
	q->tx_stale_end = s->tx_posted;
	q->rx_done = rx_done;
	d->stats.adopt_tx_in_flight += s->tx_posted - tx_done;
}

void mana__state_load(struct mana_dev *d, const struct mana_state *s)
{
	d->nq_alloc = s->nq_alloc;
	d->nq = d->max_queues = s->nq;
	d->pdid = s->pdid;
	d->gpa_mkey = s->gpa_mkey;
	d->db_id = s->db_id;
	d->vport = s->vport;
	d->tx_vport_offset = s->tx_vport_offset;
	d->tx_short_form = s->tx_short_form;
	d->tx_wqe_size =
	    mana__wqe_size(d->tx_short_form ? GDMA_INLINE_OOB_SMALL : GDMA_INLINE_OOB_LARGE);
	memcpy(d->mac, s->mac, sizeof(d->mac));
	d->mtu = s->mtu;
	for (unsigned i = 0; i < d->nq; i++) {
		d->q[i].index = i;
		load_queue(d, &d->q[i], &s->q[i]);
	}
}

/* Hands the device every committed position and arms every queue. */
static void resume_queue(struct mana_dev *d, struct mana_queue *q)
{
	const uint64_t one = 1;

	d->stats.adopt_rx_pending += mana__cq_pending(&q->rx_cq);
	mana__wq_doorbell(d, &q->sq);
	mana__wq_doorbell(d, &q->rq);
	mana__cq_doorbell(d, &q->tx_cq, true);
	mana__cq_doorbell(d, &q->rx_cq, true);
	mana__cq_doorbell(d, &q->eq, true);
	/* Interrupts raised while nobody listened are lost: look once in any case. */
	(void)!write(q->efd, &one, sizeof(one));
}

static int resume(struct mana_dev *d, int fd, const struct mana_opts *o)
{
	struct mana_state copy;
	int r;

	r = mana__read_registers(d);
	if (r < 0)
		return r;
	r = map_state(d, fd, o, &copy);
	if (r < 0)
		return r;
	memcpy(d->st, &copy, sizeof(copy));
	/* The HWC's vector gets an eventfd too, though nothing waits on it. */
	r = mana__setup_irqs(d, copy.nq + 1);
	if (r < 0)
		return r;
	mana__state_load(d, &copy);
	r = mana__mem_dma_map(d, true);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < d->nq; i++)
		resume_queue(d, &d->q[i]);
	return 0;
}

int mana_dev_adopt(struct devaccess *da, int mem_fd, const struct mana_opts *o,
		   struct mana_dev **ret)
{
	struct mana_dev *d;
	int r;

	if (mem_fd < 0)
		return -EBADF;
	r = mana__dev_new(da, o, &d);
	if (r < 0)
		return r;
	r = resume(d, mem_fd, o);
	if (r < 0) {
		/* Nothing of the function is undone: it stays as the last instance left it. */
		d->mem_fd = -1; /* still the caller's */
		d->ready = true;
		mana_dev_close(d);
		return r;
	}
	d->ready = true;
	d->adopted = true;
	*ret = d;
	return 0;
}
