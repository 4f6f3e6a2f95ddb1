/* SPDX-License-Identifier: MIT */
/*
 * A queue pair's ring logic: CIDs, submission records, completion parsing, timeouts. It
 * touches only memory (the state memfd and the rings), never the device, so tests and
 * fuzz targets drive it over plain buffers; the caller rings doorbells and holds the
 * lock.
 *
 * Completion entries are untrusted (NVMe Base 1.4, 4.6): each one is read once (phase
 * first, then the whole entry after an acquire fence, its phase checked again in the
 * copy) and the copy is validated: its SQ ID must be this queue's, its CID one this queue
 * has in flight; otherwise the entry is consumed, dropped and counted. The SQ head it
 * reports is taken only when it lies between the current head and the tail.
 *
 * CIDs 0..depth-2 are handed out: with at most depth-1 commands outstanding the CQ (of
 * depth entries) can never overflow, whatever the device does with the SQ.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvme_internal.h"

static uint32_t ncids(const struct nvme_qpair *qp)
{
	return qp->depth - 1;
}

static void free_list_rebuild(struct nvme_qpair *qp)
{
	qp->nfree = 0;
	qp->nstale = 0;
	/* Pushed high to low so that low CIDs are taken first (easier to read in traces). */
	for (uint32_t cid = ncids(qp); cid-- > 0;) {
		const struct nvme_cid_slot *s = &qp->slots[cid];
		if (s->state == NVME_SLOT_FREE)
			qp->free_cids[qp->nfree++] = (uint16_t)cid;
		else if (s->state == NVME_SLOT_INFLIGHT && (s->flags & NVME_SLOT_STALE) &&
			 !(s->flags & NVME_SLOT_ORPHAN))
			qp->nstale++;
	}
}

int nvme_qpair__init(struct nvme_qpair *qp, bool fresh)
{
	if (qp->depth < 2 || qp->depth > NVME_MAX_QUEUE_DEPTH)
		return -EINVAL;
	qp->ctx = calloc(qp->depth, sizeof(*qp->ctx));
	qp->free_cids = calloc(qp->depth, sizeof(*qp->free_cids));
	if (!qp->ctx || !qp->free_cids) {
		nvme_qpair__fini(qp);
		return -ENOMEM;
	}
	if (fresh) {
		memset(qp->slots, 0, (size_t)qp->depth * sizeof(*qp->slots));
		memset(qp->cq, 0, (size_t)qp->depth * sizeof(struct nvme_cqe));
		qp->st->submitted = 0;
		qp->st->sq_head = 0;
		qp->st->cq_pos = NVME_CQ_POS(0, 1); /* the phase tag starts at 1 */
	}
	pthread_mutex_init(&qp->lock, NULL);
	pthread_mutex_init(&qp->reap_lock, NULL);
	free_list_rebuild(qp);
	return 0;
}

void nvme_qpair__fini(struct nvme_qpair *qp)
{
	if (qp->ctx) {
		pthread_mutex_destroy(&qp->lock);
		pthread_mutex_destroy(&qp->reap_lock);
	}
	free(qp->ctx);
	free(qp->free_cids);
	qp->ctx = NULL;
	qp->free_cids = NULL;
	qp->nfree = 0;
}

uint32_t nvme_qpair__sq_tail(const struct nvme_qpair *qp)
{
	return (uint32_t)(__atomic_load_n(&qp->st->submitted, __ATOMIC_RELAXED) % qp->depth);
}

int nvme_qpair__peek_cid(struct nvme_qpair *qp)
{
	return qp->nfree ? qp->free_cids[qp->nfree - 1] : -EAGAIN;
}

int nvme_qpair__push(struct nvme_qpair *qp, struct nvme_sqe *sqe, uint32_t flags,
		     uint64_t deadline_ns, const struct nvme_cmd_ctx *ctx, uint32_t *ret_tail)
{
	uint64_t submitted = qp->st->submitted;
	uint32_t tail = (uint32_t)(submitted % qp->depth);
	struct nvme_cid_slot *s;
	uint16_t cid;

	if ((tail + 1) % qp->depth == qp->st->sq_head || !qp->nfree)
		return -EAGAIN;
	cid = qp->free_cids[--qp->nfree];
	s = &qp->slots[cid];
	sqe->cdw0 = (sqe->cdw0 & 0xffffu) | (uint32_t)cid << 16;
	s->sqe = *sqe;
	s->seq = submitted;
	s->deadline_ns = deadline_ns;
	s->flags = flags;
	memset(&s->cqe, 0, sizeof(s->cqe));
	__atomic_store_n(&s->state, NVME_SLOT_INFLIGHT, __ATOMIC_RELEASE);
	memcpy(qp->sq + (size_t)tail * sizeof(*sqe), sqe, sizeof(*sqe));
	qp->ctx[cid] = ctx ? *ctx : (struct nvme_cmd_ctx){0};
	/* The commit point: everything above is in place before the tail moves. */
	__atomic_store_n(&qp->st->submitted, submitted + 1, __ATOMIC_RELEASE);
	*ret_tail = (tail + 1) % qp->depth;
	return cid;
}

/* The device's SQ head, accepted only inside [head, tail]. */
static void take_sq_head(struct nvme_qpair *qp, uint16_t sqhd)
{
	uint32_t d = qp->depth, head = qp->st->sq_head, tail = nvme_qpair__sq_tail(qp);

	if (sqhd >= d)
		return;
	if ((sqhd + d - head) % d <= (tail + d - head) % d)
		qp->st->sq_head = sqhd;
}

int nvme_status_to_errno(uint16_t status)
{
	if (status == NVME_SC_SUCCESS)
		return 0;
	switch (status) {
	case NVME_SC_ABORT_REQUESTED:
		/* The driver aborts only commands past their deadline. */
		return -ETIMEDOUT;
	case NVME_SC_INVALID_NS:
		return -ENXIO;
	case NVME_SC_NS_WRITE_PROTECTED:
		return -EROFS;
	case NVME_SC_LBA_RANGE:
	case NVME_SC_INVALID_FIELD:
		return -EINVAL;
	case NVME_SC_INVALID_OPCODE:
		return -EOPNOTSUPP;
	case NVME_SC_CAP_EXCEEDED:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

static void read_cqe(const uint8_t *slot, struct nvme_cqe *c)
{
	const volatile struct nvme_cqe *e = (const volatile struct nvme_cqe *)slot;

	c->dw0 = e->dw0;
	c->dw1 = e->dw1;
	c->sqhd = e->sqhd;
	c->sqid = e->sqid;
	c->cid = e->cid;
	c->status = e->status;
}

/* Takes the slot's caller context into d and frees the CID (lock held). */
static void slot_release(struct nvme_qpair *qp, uint16_t cid, uint32_t dw0, struct nvme_done *d)
{
	struct nvme_cid_slot *s = &qp->slots[cid];

	d->cid = cid;
	d->flags = s->flags;
	d->fn = NULL;
	d->opaque = NULL;
	if (!(s->flags & (NVME_SLOT_STALE | NVME_SLOT_ORPHAN | NVME_SLOT_INTERNAL))) {
		d->fn = qp->ctx[cid].fn;
		d->opaque = qp->ctx[cid].opaque;
		if (qp->ctx[cid].ret_dw0)
			*qp->ctx[cid].ret_dw0 = dw0;
	}
	if (s->flags & NVME_SLOT_STALE) {
		d->sqe = s->sqe;
		if (!(s->flags & NVME_SLOT_ORPHAN) && qp->nstale)
			qp->nstale--;
	}
	qp->ctx[cid] = (struct nvme_cmd_ctx){0};
	__atomic_store_n(&s->state, NVME_SLOT_FREE, __ATOMIC_RELEASE);
	qp->free_cids[qp->nfree++] = cid;
}

unsigned nvme_qpair__reap(struct nvme_qpair *qp, struct nvme_done *out, unsigned max,
			  unsigned *ret_consumed)
{
	uint32_t pos = qp->st->cq_pos;
	uint32_t head = NVME_CQ_HEAD(pos), phase = NVME_CQ_PHASE(pos);
	unsigned n = 0, taken = 0;

	while (taken < qp->depth && n < max) {
		const uint8_t *e = qp->cq + (size_t)head * sizeof(struct nvme_cqe);
		uint16_t st = ((const volatile struct nvme_cqe *)e)->status;
		struct nvme_cid_slot *s = NULL;
		struct nvme_cqe c;

		if (NVME_CQE_PHASE(st) != phase)
			break;
		/* Pairs with the device's write of the entry before its phase bit. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		read_cqe(e, &c);
		if (NVME_CQE_PHASE(c.status) != phase)
			break;
		taken++;
		if (c.sqid == qp->qid && c.cid < ncids(qp) &&
		    __atomic_load_n(&qp->slots[c.cid].state, __ATOMIC_ACQUIRE) ==
			NVME_SLOT_INFLIGHT) {
			s = &qp->slots[c.cid];
			s->cqe = c;
			__atomic_store_n(&s->state, NVME_SLOT_DONE, __ATOMIC_RELEASE);
		}
		if (++head == qp->depth) {
			head = 0;
			phase ^= 1u;
		}
		/* Consumed before the CID is freed: a restart never takes it twice. */
		__atomic_store_n(&qp->st->cq_pos, NVME_CQ_POS(head, phase), __ATOMIC_RELEASE);
		if (c.sqid == qp->qid)
			take_sq_head(qp, c.sqhd);
		if (!s) {
			qp->st->dropped++;
			continue;
		}
		out[n].status = NVME_CQE_STATUS(c.status);
		out[n].err = nvme_status_to_errno(out[n].status);
		slot_release(qp, c.cid, c.dw0, &out[n]);
		qp->st->completed++;
		n++;
	}
	*ret_consumed = taken;
	return n;
}

unsigned nvme_qpair__adopt(struct nvme_qpair *qp, struct nvme_done *out, unsigned max)
{
	unsigned n = 0;

	for (uint32_t cid = 0; cid < ncids(qp); cid++) {
		struct nvme_cid_slot *s = &qp->slots[cid];

		qp->ctx[cid] = (struct nvme_cmd_ctx){0};
		switch (s->state) {
		case NVME_SLOT_FREE:
			break;
		case NVME_SLOT_DONE:
			/* Completed but not yet freed when the last instance stopped. */
			s->flags |= NVME_SLOT_STALE;
			if (n < max) {
				out[n].status = NVME_CQE_STATUS(s->cqe.status);
				out[n].err = nvme_status_to_errno(out[n].status);
				out[n].cid = (uint16_t)cid;
				out[n].flags = s->flags;
				out[n].fn = NULL;
				out[n].sqe = s->sqe;
				n++;
			}
			s->state = NVME_SLOT_FREE;
			break;
		case NVME_SLOT_INFLIGHT:
			if (s->seq >= qp->st->submitted) {
				/* Never committed: the device cannot have seen it. */
				s->state = NVME_SLOT_FREE;
				break;
			}
			s->flags |= NVME_SLOT_STALE;
			break;
		default:
			/* Unknown: keep the CID out of use until the device answers for it. */
			s->state = NVME_SLOT_INFLIGHT;
			s->flags |= NVME_SLOT_STALE;
			break;
		}
	}
	free_list_rebuild(qp);
	return n;
}

/* Fails an in-flight command to its caller (into d, when given) without freeing its CID:
 * the device may still complete it, and that completion must find the CID taken. */
static void give_up(struct nvme_qpair *qp, uint32_t cid, int err, struct nvme_done *d)
{
	struct nvme_cid_slot *s = &qp->slots[cid];

	if (d) {
		*d = (struct nvme_done){
		    .err = err, .status = 0xffff, .cid = (uint16_t)cid, .flags = s->flags};
		if (!(s->flags & (NVME_SLOT_STALE | NVME_SLOT_INTERNAL))) {
			d->fn = qp->ctx[cid].fn;
			d->opaque = qp->ctx[cid].opaque;
		}
		if (s->flags & NVME_SLOT_STALE) {
			d->sqe = s->sqe;
			if (qp->nstale)
				qp->nstale--;
		}
	}
	qp->ctx[cid] = (struct nvme_cmd_ctx){0};
	s->flags |= NVME_SLOT_ORPHAN;
	s->deadline_ns = UINT64_MAX;
}

unsigned nvme_qpair__check_timeouts(struct nvme_qpair *qp, uint64_t now_ns,
				    struct nvme_timeout *out, unsigned max)
{
	uint64_t timeout_ns = (uint64_t)qp->timeout_ms * 1000000u;
	unsigned n = 0;

	for (uint32_t cid = 0; cid < ncids(qp) && n < max; cid++) {
		struct nvme_cid_slot *s = &qp->slots[cid];
		struct nvme_timeout *t = &out[n];

		if (s->state != NVME_SLOT_INFLIGHT || now_ns < s->deadline_ns ||
		    (s->flags & NVME_SLOT_ORPHAN))
			continue;
		memset(t, 0, sizeof(*t));
		t->cid = (uint16_t)cid;
		if (!(s->flags & (NVME_SLOT_ABORTING | NVME_SLOT_INTERNAL))) {
			s->flags |= NVME_SLOT_ABORTING;
			s->deadline_ns = now_ns + timeout_ns;
			t->send_abort = true;
			n++;
			continue;
		}
		/* The abort did not help: fail it to the caller now, but keep the CID until
		 * the device answers, so a late completion cannot hit a new command. */
		give_up(qp, cid, -ETIMEDOUT, &t->done);
		n++;
	}
	return n;
}

unsigned nvme_qpair__forget(struct nvme_qpair *qp, const void *lo, const void *hi)
{
	unsigned n = 0;

	for (uint32_t cid = 0; cid < ncids(qp); cid++) {
		struct nvme_cid_slot *s = &qp->slots[cid];
		const char *o = qp->ctx[cid].opaque;

		if (s->state != NVME_SLOT_INFLIGHT || !qp->ctx[cid].fn || o < (const char *)lo ||
		    o >= (const char *)hi)
			continue;
		give_up(qp, cid, 0, NULL);
		n++;
	}
	return n;
}

unsigned nvme_qpair__fail_all(struct nvme_qpair *qp, int err, struct nvme_done *out, unsigned max)
{
	unsigned n = 0;

	for (uint32_t cid = 0; cid < ncids(qp) && n < max; cid++) {
		struct nvme_cid_slot *s = &qp->slots[cid];

		if (s->state != NVME_SLOT_INFLIGHT || (s->flags & NVME_SLOT_ORPHAN))
			continue;
		give_up(qp, cid, err, &out[n]);
		n++;
	}
	return n;
}

void nvme_qpair__report(struct nvme_qpair *qp, const struct nvme_done *d, unsigned n)
{
	struct nvme_ctrl *c = qp->ctrl;

	for (unsigned i = 0; i < n; i++) {
		if (d[i].flags & NVME_SLOT_STALE) {
			if (d[i].flags & NVME_SLOT_ORPHAN)
				continue; /* reported when it was given up on */
			if (!c)
				continue;
			__atomic_add_fetch(&c->stale_completed, 1, __ATOMIC_RELAXED);
			if (c->stale_fn)
				c->stale_fn(c->stale_opaque, qp->qid, &d[i].sqe, d[i].err);
		} else if (d[i].fn) {
			d[i].fn(d[i].opaque, d[i].err, d[i].status);
		}
	}
}
