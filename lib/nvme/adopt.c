/* SPDX-License-Identifier: MIT */
/*
 * Keepalive: resuming a controller that a previous instance of the process left running
 * (REFERENCES.md section 10 "Keepalive"). The state memfd is our own earlier writing but
 * is still checked field by field before use (a crash may have left anything, and the
 * fd came through another process). The device must still be the one the state
 * describes: ready, same CAP and CC, its admin queue at our addresses.
 *
 * Nothing is sent to the controller: no reset, no Identify, no queue creation. The
 * doorbells are written again with the recorded SQ tail and CQ head (a no-op for values
 * already written; it delivers commands whose doorbell a crash cut off).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "devaccess.h"
#include "macros.h"
#include "nvme_internal.h"

static bool qstate_ok(const struct nvme_state_hdr *h, const struct nvme_layout *l, unsigned q)
{
	const struct nvme_qstate *s = &h->q[q];
	uint16_t vector = q < h->nvec ? (uint16_t)q : NVME_NO_VECTOR;

	return s->qid == q && s->vector == vector && s->depth == l->depth[q] &&
	       s->slots_off == l->slots_off[q] && s->sq_off == l->sq_off[q] &&
	       s->cq_off == l->cq_off[q] && s->prp_off == l->prp_off[q] &&
	       s->prp_pages == l->prp_pages[q] && s->sq_head < s->depth &&
	       NVME_CQ_HEAD(s->cq_pos) < s->depth;
}

static bool ns_ok(const struct nvme_ns_state *s)
{
	return s->nsid && s->nblocks && s->block_size >= 512 && s->block_size <= NVME_PAGE_SIZE &&
	       !(s->block_size & (s->block_size - 1)) && s->nblocks <= UINT64_MAX / s->block_size &&
	       (s->id_len == 0 || s->id_len == 8 || s->id_len == 16);
}

/* The header against the layout its own parameters give. */
static int check_header(const struct nvme_state_hdr *h, uint64_t fd_size, unsigned irq_count,
			struct nvme_layout *ret)
{
	struct nvme_layout l;

	if (h->magic != NVME_STATE_MAGIC || h->version != NVME_STATE_VERSION)
		return -ESTALE;
	if (!(h->flags & NVME_STATE_READY) || h->flags & NVME_STATE_FAILED)
		return -ESTALE;
	if (nvme_layout_compute(h->nq_alloc, h->admin_depth, h->io_depth, &l) < 0)
		return -ESTALE;
	if (h->size != fd_size || l.size != fd_size || h->dma_off != l.dma_off ||
	    h->dma_len != l.dma_len || h->id_ctrl_off != l.id_ctrl_off ||
	    h->id_buf_off != l.id_buf_off || h->dma_iova & (NVME_PAGE_SIZE - 1) ||
	    h->dma_iova + h->dma_len < h->dma_iova)
		return -ESTALE;
	if (h->nq < 2 || h->nq > h->nq_alloc || h->nvec > h->nq_alloc || h->nvec > irq_count ||
	    h->nns > NVME_MAX_NS || !h->timeout_ms || !h->max_transfer ||
	    h->max_transfer > NVME_MAX_TRANSFER || !(h->cc & NVME_CC_EN))
		return -ESTALE;
	for (unsigned q = 0; q < h->nq; q++)
		if (!qstate_ok(h, &l, q))
			return -ESTALE;
	for (unsigned i = 0; i < h->nns; i++)
		if (!ns_ok(&h->ns[i]))
			return -ESTALE;
	*ret = l;
	return 0;
}

/* The controller must be running, with the configuration and admin queue we gave it:
 * a reset (or another device) would show in CSTS, CC, ASQ or ACQ. */
static int check_device(struct nvme_ctrl *c)
{
	struct nvme_state_hdr *h = c->hdr;
	uint64_t base = h->dma_iova - h->dma_off;
	uint32_t csts = devaccess_read32(c->da, 0, NVME_REG_CSTS);

	if (csts == UINT32_MAX)
		return -ENODEV;
	if (!(csts & NVME_CSTS_RDY) || csts & NVME_CSTS_CFS)
		return -EIO;
	if (devaccess_read64(c->da, 0, NVME_REG_CAP) != h->cap ||
	    devaccess_read32(c->da, 0, NVME_REG_CC) != h->cc ||
	    devaccess_read64(c->da, 0, NVME_REG_ASQ) != base + h->q[0].sq_off ||
	    devaccess_read64(c->da, 0, NVME_REG_ACQ) != base + h->q[0].cq_off)
		return -ESTALE;
	return 0;
}

static void load_namespaces(struct nvme_ctrl *c)
{
	c->nns = c->hdr->nns;
	for (unsigned i = 0; i < c->nns; i++) {
		const struct nvme_ns_state *s = &c->hdr->ns[i];

		c->ns[i] = (struct nvme_ns_info){
		    .nsid = s->nsid,
		    .nblocks = s->nblocks,
		    .block_size = s->block_size,
		    .id_len = s->id_len,
		};
		memcpy(c->ns[i].id, s->id, sizeof(s->id));
	}
}

/* Marks in-flight commands stale, reports those that had completed, and hands the device
 * the recorded doorbell values. */
static int resume_queue(struct nvme_ctrl *c, struct nvme_qpair *qp)
{
	_cleanup_free_ struct nvme_done *d = calloc(qp->depth, sizeof(*d));
	unsigned n;
	int r;

	if (!d)
		return -ENOMEM;
	r = nvme_qpair__init(qp, false);
	if (r < 0)
		return r;
	pthread_mutex_lock(&qp->lock);
	n = nvme_qpair__adopt(qp, d, qp->depth);
	c->stale_at_adopt += qp->nstale + n;
	nvme_ctrl__ring(c, qp->sq_db, nvme_qpair__sq_tail(qp));
	nvme_ctrl__ring(c, qp->cq_db, NVME_CQ_HEAD(qp->st->cq_pos));
	pthread_mutex_unlock(&qp->lock);
	pthread_mutex_lock(&qp->reap_lock);
	nvme_qpair__report(qp, d, n);
	pthread_mutex_unlock(&qp->reap_lock);
	return 0;
}

static unsigned stale_left(struct nvme_ctrl *c)
{
	unsigned n = nvme_qpair_stale(&c->admin);

	for (unsigned i = 0; i < c->nio; i++)
		n += nvme_qpair_stale(&c->io[i]);
	return n;
}

/* Bounded wait for the stale commands; the timeout path takes over for the rest. */
static void drain(struct nvme_ctrl *c, unsigned timeout_ms)
{
	uint64_t deadline = nvme_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct pollfd p[NVME_MAX_QUEUES];

	for (unsigned i = 0; i < c->nefds; i++)
		p[i] = (struct pollfd){.fd = c->efds[i], .events = POLLIN};
	for (;;) {
		nvme_ctrl_process_admin(c);
		for (unsigned i = 0; i < c->nio; i++)
			nvme_qpair_process(&c->io[i], 0);
		if (!stale_left(c) || nvme_now_ns() >= deadline)
			return;
		if (nvme_ctrl_check_health(c) < 0)
			return;
		/* Interrupts wake us early; the timeout covers polled queues. */
		(void)poll(p, c->nefds, 1);
	}
}

static int map_fd(struct nvme_ctrl *c, int state_fd, struct nvme_layout *l)
{
	struct nvme_state_hdr hdr;
	struct stat st;
	int seals;
	ssize_t n;

	if (fstat(state_fd, &st) < 0)
		return -errno;
	/* Without the shrink seal anyone holding the fd could truncate it under us. */
	seals = fcntl(state_fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || !S_ISREG(st.st_mode))
		return -ESTALE;
	n = pread(state_fd, &hdr, sizeof(hdr), 0);
	if (n != (ssize_t)sizeof(hdr))
		return -ESTALE;
	/* Checked on a private copy; the mapping is checked again below (nothing else
	 * writes it, but the copy is what decided the size we map). */
	if (check_header(&hdr, (uint64_t)st.st_size, c->da->irq_count, l) < 0)
		return -ESTALE;
	c->state_fd = state_fd;
	return nvme_ctrl__map_state(c, l);
}

static int resume(struct nvme_ctrl *c, int state_fd)
{
	struct nvme_layout l;
	int r;

	r = map_fd(c, state_fd, &l);
	if (r < 0)
		return r;
	r = check_header(c->hdr, l.size, c->da->irq_count, &l);
	if (r < 0)
		return r;
	c->dstrd = NVME_CAP_DSTRD(c->hdr->cap);
	r = check_device(c);
	if (r < 0)
		return r;
	r = nvme_parse_id_ctrl(c->state + c->hdr->id_ctrl_off, &c->info);
	if (r < 0)
		return -ESTALE;
	load_namespaces(c);
	/* The container kept the mapping (and the pinned pages) across our restart. */
	r = devaccess_dma_map(c->da, c->state + l.dma_off, c->hdr->dma_iova, l.dma_len);
	if (r < 0 && r != -EEXIST)
		return r;
	r = devaccess_bus_master(c->da, true);
	if (r < 0)
		return r;
	r = nvme_ctrl__set_irqs(c);
	if (r < 0)
		return r;
	nvme_ctrl__place_queues(c, &l);
	c->nio = c->hdr->nq - 1u;
	r = resume_queue(c, &c->admin);
	for (unsigned i = 0; r == 0 && i < c->nio; i++)
		r = resume_queue(c, &c->io[i]);
	return r;
}

int nvme_ctrl_adopt(struct devaccess *da, int state_fd, const struct nvme_adopt_opts *o,
		    struct nvme_ctrl **ret)
{
	struct nvme_ctrl *c;
	int r;

	if (state_fd < 0)
		return -EBADF;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->da = da;
	c->state_fd = -1;
	if (o) {
		c->stale_fn = o->stale_fn;
		c->stale_opaque = o->opaque;
	}
	r = resume(c, state_fd);
	if (r < 0) {
		c->state_fd = -1; /* still the caller's */
		nvme_ctrl__free(c);
		return r;
	}
	if (o && o->drain_timeout_ms)
		drain(c, o->drain_timeout_ms);
	*ret = c;
	return 0;
}
