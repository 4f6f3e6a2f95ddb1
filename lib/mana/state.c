/* SPDX-License-Identifier: MIT */
/*
 * The state page (mana_state.h): written whole once bring-up is done, then kept current
 * by one release store per step; and the check a copy of it passes before adoption uses
 * it (a pure function: the fuzz target's entry point).
 */
#include <errno.h>
#include <string.h>

#include "mana_internal.h"

static void store32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void store64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

void mana__commit_tx_posted(struct mana_queue *q)
{
	store32(&q->st->tx_posted, q->tx_posted);
}

void mana__commit_tx(struct mana_queue *q)
{
	store64(&q->st->tx_pos, MANA_POS(q->tx_cq.head, q->tx_done));
}

void mana__commit_rx(struct mana_queue *q)
{
	store64(&q->st->rx_pos, MANA_POS(q->rx_cq.head, q->rx_done));
}

void mana__commit_eq(struct mana_queue *q)
{
	store32(&q->st->eq_head, q->eq.head);
}

void mana__state_publish(struct mana_dev *d)
{
	struct mana_state *s = d->st;

	/* Not adoptable while it is being written (a kill here leaves it unready). */
	store32(&s->flags, 0);
	s->magic = MANA_STATE_MAGIC;
	s->version = MANA_STATE_VERSION;
	s->size = d->map_size;
	s->mem_iova = d->mem_iova;
	s->nq_alloc = d->nq_alloc;
	s->nq = d->nq;
	s->pdid = d->pdid;
	s->gpa_mkey = d->gpa_mkey;
	s->db_id = d->db_id;
	s->tx_vport_offset = d->tx_vport_offset;
	s->tx_short_form = d->tx_short_form;
	s->vport = d->vport;
	memcpy(s->mac, d->mac, sizeof(s->mac));
	s->mtu = d->mtu;
	for (unsigned i = 0; i < d->nq; i++) {
		struct mana_queue *q = &d->q[i];

		q->st = &s->q[i];
		*q->st = (struct mana_qstate){
		    .msix = q->msix,
		    .eq_id = q->eq.id,
		    .sq_id = q->sq.id,
		    .tx_cq_id = q->tx_cq.id,
		    .rq_id = q->rq.id,
		    .rx_cq_id = q->rx_cq.id,
		    .sq_obj = q->sq_obj,
		    .rq_obj = q->rq_obj,
		    .eq_head = q->eq.head,
		    .tx_posted = q->tx_posted,
		    .tx_pos = MANA_POS(q->tx_cq.head, q->tx_done),
		    .rx_pos = MANA_POS(q->rx_cq.head, q->rx_done),
		};
	}
	store32(&s->flags, MANA_STATE_READY);
}

static bool qstate_ok(const struct mana_qstate *q, unsigned i, const struct mana_state_limits *l)
{
	uint32_t tx_done = MANA_POS_DONE(q->tx_pos);

	for (unsigned k = 0; k < sizeof(q->reserved) / sizeof(q->reserved[0]); k++)
		if (q->reserved[k])
			return false;
	/* A CQ serves one WQ: completions must be unambiguous, as bring-up required. The
	 * CQ and EQ heads and the done counters run free: any value indexes its ring
	 * masked, and the owner bits follow from it; what must hold is that no more is in
	 * flight than the bounce slots and the SQ hold. */
	return q->msix == i + 1 && q->msix < l->irq_count && q->eq_id < MANA_EQ_ID_LIMIT &&
	       q->sq_id < MANA_WQ_ID_LIMIT && q->rq_id < MANA_WQ_ID_LIMIT &&
	       q->tx_cq_id < MANA_WQ_ID_LIMIT && q->rx_cq_id < MANA_WQ_ID_LIMIT &&
	       q->tx_cq_id != q->rx_cq_id && q->sq_obj != MANA_INVALID_HANDLE &&
	       q->rq_obj != MANA_INVALID_HANDLE && q->tx_posted - tx_done <= MANA_QUEUE_DEPTH;
}

int mana__state_check(const struct mana_state *s, const struct mana_state_limits *l)
{
	uint64_t size = mana__layout_size(s->nq_alloc);

	if (s->magic != MANA_STATE_MAGIC || s->version != MANA_STATE_VERSION ||
	    s->flags != MANA_STATE_READY)
		return -ESTALE;
	if (!size || s->size != size || l->fd_size != size || s->nq_alloc != l->nr_queues ||
	    s->mem_iova != l->mem_iova || (s->mem_iova & (GDMA_PAGE_SIZE - 1)) ||
	    s->mem_iova + (size - MANA_STATE_BYTES) - 1 < s->mem_iova)
		return -ESTALE;
	if (s->nq == 0 || s->nq > s->nq_alloc || s->db_id >= l->db_pages ||
	    s->vport == MANA_INVALID_HANDLE || s->tx_vport_offset > 0xfffu ||
	    s->tx_short_form > 1 || (s->tx_short_form && s->tx_vport_offset > 0xffu) ||
	    s->reserved0)
		return -ESTALE;
	for (unsigned k = 0; k < sizeof(s->reserved1) / sizeof(s->reserved1[0]); k++)
		if (s->reserved1[k])
			return -ESTALE;
	for (unsigned i = 0; i < s->nq; i++)
		if (!qstate_ok(&s->q[i], i, l))
			return -ESTALE;
	return 0;
}
