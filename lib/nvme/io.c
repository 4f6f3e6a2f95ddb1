/* SPDX-License-Identifier: MIT */
/*
 * The I/O path: NVM commands built from the caller's page list (PRPs in the CID's own
 * list page, so nothing is allocated per command), completions, timeouts and aborts.
 *
 * The doorbell is rung under the queue's lock: two threads that each moved the tail must
 * not ring in the opposite order, or the device would see the tail go backwards.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "macros.h"
#include "nvme_internal.h"

static int check_blocks(const struct nvme_ns_info *ns, uint64_t slba, uint32_t nblocks)
{
	if (!nblocks || slba >= ns->nblocks || nblocks > ns->nblocks - slba)
		return -EINVAL;
	return 0;
}

static int build_rw(struct nvme_qpair *qp, const struct nvme_ns_info *ns, const struct nvme_io *io,
		    int cid, struct nvme_sqe *sqe)
{
	uint64_t bytes = (uint64_t)io->nblocks * ns->block_size;
	uint64_t *list = (uint64_t *)(qp->prp + (size_t)cid * qp->st->prp_pages * NVME_PAGE_SIZE);
	uint64_t list_iova = qp->prp_iova + (uint64_t)cid * qp->st->prp_pages * NVME_PAGE_SIZE;
	int r;

	r = nvme_prp_build(io->byte_offset, bytes, io->pages, io->npages, list, list_iova,
			   qp->st->prp_pages, &sqe->prp1, &sqe->prp2);
	if (r < 0)
		return r;
	sqe->cdw0 = io->op == NVME_IO_READ ? NVME_CMD_READ : NVME_CMD_WRITE;
	sqe->nsid = ns->nsid;
	sqe->cdw10 = (uint32_t)io->slba;
	sqe->cdw11 = (uint32_t)(io->slba >> 32);
	sqe->cdw12 = NVME_RW_NLB(io->nblocks);
	if (io->op == NVME_IO_WRITE && io->fua)
		sqe->cdw12 |= NVME_RW_FUA;
	return 0;
}

/* The ranges travel in the CID's list page, which Dataset Management uses as its data. */
static int build_dsm(struct nvme_qpair *qp, const struct nvme_ns_info *ns, const struct nvme_io *io,
		     int cid, struct nvme_sqe *sqe)
{
	struct nvme_dsm_range *r =
	    (struct nvme_dsm_range *)(qp->prp + (size_t)cid * qp->st->prp_pages * NVME_PAGE_SIZE);

	for (uint32_t i = 0; i < io->nranges; i++) {
		if (check_blocks(ns, io->ranges[i].slba, io->ranges[i].nblocks) < 0)
			return -EINVAL;
		r[i] = (struct nvme_dsm_range){
		    .cattr = 0,
		    .nlb = io->ranges[i].nblocks,
		    .slba = io->ranges[i].slba,
		};
	}
	sqe->cdw0 = NVME_CMD_DSM;
	sqe->nsid = ns->nsid;
	sqe->prp1 = qp->prp_iova + (uint64_t)cid * qp->st->prp_pages * NVME_PAGE_SIZE;
	sqe->cdw10 = io->nranges - 1u;
	sqe->cdw11 = NVME_DSM_AD;
	return 0;
}

/* What can be refused before taking the lock. */
static int check_io(struct nvme_ctrl *c, const struct nvme_io *io, const struct nvme_ns_info **ret)
{
	const struct nvme_ns_info *ns = nvme_ctrl_ns_find(c, io->nsid);

	if (!ns)
		return -ENXIO;
	switch (io->op) {
	case NVME_IO_READ:
	case NVME_IO_WRITE:
		if (io->nblocks > NVME_RW_MAX_BLOCKS ||
		    (uint64_t)io->nblocks * ns->block_size > c->hdr->max_transfer)
			return -E2BIG;
		if (check_blocks(ns, io->slba, io->nblocks) < 0 || !io->pages)
			return -EINVAL;
		break;
	case NVME_IO_FLUSH:
		if (!c->info.vwc)
			return -EOPNOTSUPP;
		break;
	case NVME_IO_DEALLOCATE:
		if (!c->info.dsm)
			return -EOPNOTSUPP;
		if (!io->nranges || io->nranges > NVME_DSM_MAX_RANGES || !io->ranges)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	*ret = ns;
	return 0;
}

int nvme_qpair_submit(struct nvme_qpair *qp, const struct nvme_io *io, nvme_done_fn fn,
		      void *opaque)
{
	struct nvme_ctrl *c = qp->ctrl;
	const struct nvme_ns_info *ns;
	struct nvme_cmd_ctx ctx = {fn, opaque, NULL};
	struct nvme_sqe sqe = {0};
	uint64_t deadline;
	uint32_t tail;
	int cid, r;

	if (!fn)
		return -EINVAL;
	if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED))
		return -EIO;
	r = check_io(c, io, &ns);
	if (r < 0)
		return r;
	deadline = nvme_now_ns() + (uint64_t)qp->timeout_ms * 1000000u;

	pthread_mutex_lock(&qp->lock);
	cid = nvme_qpair__peek_cid(qp);
	if (cid < 0) {
		r = cid;
		goto out_unlock;
	}
	switch (io->op) {
	case NVME_IO_READ:
	case NVME_IO_WRITE:
		r = build_rw(qp, ns, io, cid, &sqe);
		break;
	case NVME_IO_DEALLOCATE:
		r = build_dsm(qp, ns, io, cid, &sqe);
		break;
	default:
		sqe.cdw0 = NVME_CMD_FLUSH;
		sqe.nsid = ns->nsid;
		r = 0;
		break;
	}
	if (r < 0)
		goto out_unlock;
	r = nvme_qpair__push(qp, &sqe, 0, deadline, &ctx, &tail);
	if (r >= 0) {
		nvme_ctrl__ring(c, qp->sq_db, tail);
		r = 0;
	}
out_unlock:
	pthread_mutex_unlock(&qp->lock);
	return r;
}

int nvme_qpair_process(struct nvme_qpair *qp, unsigned budget)
{
	struct nvme_done done[32];
	unsigned total = 0, taken_total = 0;

	if (!budget)
		budget = qp->depth;
	if (qp->efd >= 0) {
		uint64_t v;
		/* Cleared first, so an interrupt for an entry this pass misses signals again. */
		(void)!read(qp->efd, &v, sizeof(v));
	}
	pthread_mutex_lock(&qp->reap_lock);
	/* Bounded even against a device that keeps writing entries. */
	while (total < budget && taken_total < 2u * qp->depth) {
		unsigned n, taken;

		pthread_mutex_lock(&qp->lock);
		n = nvme_qpair__reap(qp, done, MIN(ARRAY_SIZE(done), budget - total), &taken);
		if (taken)
			nvme_ctrl__ring(qp->ctrl, qp->cq_db, NVME_CQ_HEAD(qp->st->cq_pos));
		pthread_mutex_unlock(&qp->lock);
		nvme_qpair__report(qp, done, n);
		total += n;
		taken_total += taken;
		if (!taken)
			break;
	}
	pthread_mutex_unlock(&qp->reap_lock);
	return (int)total;
}

static void send_abort(struct nvme_qpair *qp, uint16_t cid)
{
	struct nvme_ctrl *c = qp->ctrl;
	struct nvme_sqe sqe = {
	    .cdw0 = NVME_SQE_CDW0(NVME_ADMIN_ABORT, 0),
	    .cdw10 = NVME_ABORT_CDW10(qp->qid, cid),
	};

	/* If the admin queue is full the command is given up at its next deadline. */
	if (nvme_ctrl__admin_submit(c, &sqe, NVME_SLOT_INTERNAL, NULL, NULL) >= 0)
		__atomic_add_fetch(&c->admin_aborts, 1, __ATOMIC_RELAXED);
}

int nvme_qpair_check_timeouts(struct nvme_qpair *qp, uint64_t now_ns)
{
	struct nvme_timeout t[16];
	unsigned n;
	int count = 0;

	pthread_mutex_lock(&qp->reap_lock);
	do {
		pthread_mutex_lock(&qp->lock);
		n = nvme_qpair__check_timeouts(qp, now_ns, t, ARRAY_SIZE(t));
		pthread_mutex_unlock(&qp->lock);
		for (unsigned i = 0; i < n; i++) {
			if (t[i].send_abort) {
				count++;
				__atomic_add_fetch(&qp->ctrl->timeouts, 1, __ATOMIC_RELAXED);
				/* Abort commands themselves are never aborted. */
				if (qp->qid)
					send_abort(qp, t[i].cid);
			} else {
				nvme_qpair__report(qp, &t[i].done, 1);
			}
		}
	} while (n == ARRAY_SIZE(t));
	pthread_mutex_unlock(&qp->reap_lock);
	return count;
}

unsigned nvme_qpair_forget(struct nvme_qpair *qp, const void *lo, const void *hi)
{
	unsigned n;

	pthread_mutex_lock(&qp->reap_lock);
	pthread_mutex_lock(&qp->lock);
	n = nvme_qpair__forget(qp, lo, hi);
	pthread_mutex_unlock(&qp->lock);
	pthread_mutex_unlock(&qp->reap_lock);
	return n;
}

uint32_t nvme_qpair_depth(const struct nvme_qpair *qp)
{
	return qp->depth;
}

int nvme_qpair_eventfd(const struct nvme_qpair *qp)
{
	return qp->efd;
}

uint16_t nvme_qpair_qid(const struct nvme_qpair *qp)
{
	return qp->qid;
}

unsigned nvme_qpair_inflight(struct nvme_qpair *qp)
{
	unsigned n;

	pthread_mutex_lock(&qp->lock);
	n = qp->depth - 1u - qp->nfree;
	pthread_mutex_unlock(&qp->lock);
	return n;
}

unsigned nvme_qpair_stale(struct nvme_qpair *qp)
{
	unsigned n;

	pthread_mutex_lock(&qp->lock);
	n = qp->nstale;
	pthread_mutex_unlock(&qp->lock);
	return n;
}
