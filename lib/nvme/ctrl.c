/* SPDX-License-Identifier: MIT */
/*
 * Controller bring-up and teardown (REFERENCES.md section 7 (c)): disable, wait for
 * CSTS.RDY = 0, program the admin queue, enable, wait for RDY = 1, Identify Controller,
 * Set Features (Number of Queues), create I/O CQ/SQ pairs (CQ first, one MSI-X vector
 * each), then the active namespace list and Identify Namespace for each.
 *
 * Bring-up runs synchronously (the caller is starting up): admin commands are polled on
 * the admin queue with a deadline. Afterwards the admin queue carries only Aborts.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devaccess.h"
#include "macros.h"
#include "nvme_internal.h"

uint64_t nvme_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t reg32(struct nvme_ctrl *c, uint32_t off)
{
	return devaccess_read32(c->da, 0, off);
}

void nvme_ctrl__ring(struct nvme_ctrl *c, uint32_t db, uint32_t val)
{
	/* Ring entries and the state records are written before the device may look. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	devaccess_write32(c->da, 0, db, val);
}

/* Waits for the controller's answer on the admin vector, at most ms. */
static void admin_wait(struct nvme_ctrl *c, int ms)
{
	struct pollfd p = {.fd = c->admin.efd, .events = POLLIN};

	if (p.fd >= 0)
		(void)poll(&p, 1, ms);
	else
		(void)usleep((useconds_t)ms * 1000u);
}

/* Polls CSTS until (CSTS & mask) == want, for the controller's own CAP.TO bound. */
int nvme_ctrl__wait_csts(struct nvme_ctrl *c, uint32_t mask, uint32_t want, uint64_t cap)
{
	uint64_t to_ms = (uint64_t)MAX(NVME_CAP_TO(cap), 1u) * 500u;
	uint64_t deadline = nvme_now_ns() + to_ms * 1000000u;

	for (;;) {
		uint32_t csts = reg32(c, NVME_REG_CSTS);

		if (csts == UINT32_MAX)
			return -ENODEV;
		if ((csts & mask) == want)
			return 0;
		if (csts & NVME_CSTS_CFS && want)
			return -EIO;
		if (nvme_now_ns() > deadline)
			return -ETIMEDOUT;
		(void)usleep(1000);
	}
}

int nvme_ctrl__admin_submit(struct nvme_ctrl *c, struct nvme_sqe *sqe, uint32_t flags,
			    nvme_done_fn fn, void *opaque)
{
	struct nvme_cmd_ctx ctx = {fn, opaque, NULL};
	uint64_t deadline = nvme_now_ns() + (uint64_t)c->admin.timeout_ms * 1000000u;
	uint32_t tail;
	int cid;

	if (c->failed)
		return -EIO;
	pthread_mutex_lock(&c->admin.lock);
	cid = nvme_qpair__push(&c->admin, sqe, flags, deadline, &ctx, &tail);
	if (cid >= 0)
		nvme_ctrl__ring(c, c->admin.sq_db, tail);
	pthread_mutex_unlock(&c->admin.lock);
	if (cid >= 0)
		__atomic_add_fetch(&c->admin_submitted, 1, __ATOMIC_RELAXED);
	return cid;
}

struct sync_wait {
	bool done;
	int err;
};

static void sync_done(void *opaque, int err, uint16_t status)
{
	struct sync_wait *w = opaque;

	w->err = err;
	w->done = true;
}

/* One admin command, waited for. On a timeout the CID is given up (its completion, if
 * it ever comes, is dropped) since w lives on this stack. */
static int admin_sync(struct nvme_ctrl *c, struct nvme_sqe *sqe, uint32_t *ret_dw0)
{
	struct sync_wait w = {0};
	struct nvme_cmd_ctx ctx = {sync_done, &w, ret_dw0};
	uint64_t deadline = nvme_now_ns() + (uint64_t)c->admin.timeout_ms * 1000000u;
	uint32_t tail;
	int cid;

	pthread_mutex_lock(&c->admin.lock);
	cid = nvme_qpair__push(&c->admin, sqe, 0, deadline, &ctx, &tail);
	if (cid >= 0)
		nvme_ctrl__ring(c, c->admin.sq_db, tail);
	pthread_mutex_unlock(&c->admin.lock);
	if (cid < 0)
		return cid;
	__atomic_add_fetch(&c->admin_submitted, 1, __ATOMIC_RELAXED);
	while (!w.done) {
		uint32_t csts;

		admin_wait(c, 1);
		nvme_ctrl_process_admin(c);
		if (w.done)
			break;
		csts = reg32(c, NVME_REG_CSTS);
		if (csts == UINT32_MAX || csts & NVME_CSTS_CFS || nvme_now_ns() > deadline) {
			/* After this, no reporter can still hold w's address. */
			nvme_qpair_forget(&c->admin, &w, &w + 1);
			if (!w.done)
				return csts == UINT32_MAX     ? -ENODEV
				       : csts & NVME_CSTS_CFS ? -EIO
							      : -ETIMEDOUT;
		}
	}
	return w.err;
}

static int identify(struct nvme_ctrl *c, uint8_t cns, uint32_t nsid, void *out)
{
	struct nvme_sqe sqe = {
	    .cdw0 = NVME_SQE_CDW0(NVME_ADMIN_IDENTIFY, 0),
	    .nsid = nsid,
	    .prp1 = c->hdr->dma_iova + (c->hdr->id_buf_off - c->hdr->dma_off),
	    .cdw10 = cns,
	};
	uint8_t *buf = c->state + c->hdr->id_buf_off;
	int r;

	memset(buf, 0, NVME_ID_PAGE_SIZE);
	r = admin_sync(c, &sqe, NULL);
	if (r < 0)
		return r;
	/* Copied out once; the parsers only ever see the copy. */
	memcpy(out, buf, NVME_ID_PAGE_SIZE);
	return 0;
}

static int set_num_queues(struct nvme_ctrl *c, unsigned want, unsigned *ret_granted)
{
	struct nvme_sqe sqe = {
	    .cdw0 = NVME_SQE_CDW0(NVME_ADMIN_SET_FEATURES, 0),
	    .cdw10 = NVME_FEAT_NUM_QUEUES,
	    .cdw11 = (want - 1u) | (want - 1u) << 16,
	};
	uint32_t dw0 = 0;
	unsigned nsq, ncq;
	int r;

	r = admin_sync(c, &sqe, &dw0);
	if (r < 0)
		return r;
	nsq = (dw0 & 0xffffu) + 1u;
	ncq = (dw0 >> 16) + 1u;
	*ret_granted = MIN(want, MIN(nsq, ncq));
	return 0;
}

static int create_io_queue(struct nvme_ctrl *c, struct nvme_qpair *qp)
{
	uint64_t base = c->hdr->dma_iova - c->hdr->dma_off;
	uint32_t cq_flags = NVME_CQ_PC;
	struct nvme_sqe cq = {
	    .cdw0 = NVME_SQE_CDW0(NVME_ADMIN_CREATE_CQ, 0),
	    .prp1 = base + qp->st->cq_off,
	    .cdw10 = NVME_CREATE_Q_CDW10(qp->qid, qp->depth),
	};
	struct nvme_sqe sq = {
	    .cdw0 = NVME_SQE_CDW0(NVME_ADMIN_CREATE_SQ, 0),
	    .prp1 = base + qp->st->sq_off,
	    .cdw10 = NVME_CREATE_Q_CDW10(qp->qid, qp->depth),
	    .cdw11 = NVME_SQ_PC | NVME_SQ_CQID(qp->qid),
	};
	int r;

	if (qp->st->vector != NVME_NO_VECTOR)
		cq_flags |= NVME_CQ_IEN | NVME_CQ_IV(qp->st->vector);
	cq.cdw11 = cq_flags;
	r = admin_sync(c, &cq, NULL);
	if (r < 0)
		return r;
	return admin_sync(c, &sq, NULL);
}

static int read_namespaces(struct nvme_ctrl *c)
{
	_cleanup_free_ uint8_t *page = malloc(NVME_ID_PAGE_SIZE);
	uint32_t ids[NVME_MAX_NS];
	int n, r;

	if (!page)
		return -ENOMEM;
	r = identify(c, NVME_CNS_ACTIVE_NSLIST, 0, page);
	if (r == 0) {
		n = nvme_parse_ns_list(page, c->info.nn, ids, NVME_MAX_NS);
		if (n < 0)
			return n;
	} else if (r == -EINVAL) {
		/* NVMe 1.0 has no active list: every ID up to NN. */
		n = (int)MIN(c->info.nn, NVME_MAX_NS);
		for (int i = 0; i < n; i++)
			ids[i] = (uint32_t)i + 1u;
	} else {
		return r;
	}
	c->nns = 0;
	for (int i = 0; i < n; i++) {
		struct nvme_ns_info ns;

		r = identify(c, NVME_CNS_NAMESPACE, ids[i], page);
		if (r < 0)
			return r;
		/* Inactive namespaces and formats the driver cannot do are skipped. */
		if (nvme_parse_id_ns(page, ids[i], &ns) < 0)
			continue;
		c->ns[c->nns++] = ns;
	}
	return 0;
}

/* Saves what adoption needs beyond the queue states. */
static void save_namespaces(struct nvme_ctrl *c)
{
	c->hdr->nns = c->nns;
	for (unsigned i = 0; i < c->nns; i++) {
		struct nvme_ns_state *s = &c->hdr->ns[i];

		s->nsid = c->ns[i].nsid;
		s->block_size = c->ns[i].block_size;
		s->nblocks = c->ns[i].nblocks;
		memcpy(s->id, c->ns[i].id, sizeof(s->id));
		s->id_len = c->ns[i].id_len;
	}
}

int nvme_ctrl__map_state(struct nvme_ctrl *c, const struct nvme_layout *l)
{
	void *p = mmap(NULL, l->size, PROT_READ | PROT_WRITE, MAP_SHARED, c->state_fd, 0);

	if (p == MAP_FAILED)
		return -errno;
	c->state = p;
	c->state_size = l->size;
	c->hdr = p;
	return 0;
}

void nvme_ctrl__place_queues(struct nvme_ctrl *c, const struct nvme_layout *l)
{
	uint32_t stride = 4u << c->dstrd;

	for (unsigned q = 0; q < c->hdr->nq_alloc; q++) {
		struct nvme_qpair *qp = q ? &c->io[q - 1] : &c->admin;

		qp->ctrl = c;
		qp->st = &c->hdr->q[q];
		qp->slots = (struct nvme_cid_slot *)(c->state + l->slots_off[q]);
		qp->sq = c->state + l->sq_off[q];
		qp->cq = c->state + l->cq_off[q];
		qp->prp = c->state + l->prp_off[q];
		qp->prp_iova = c->hdr->dma_iova + (l->prp_off[q] - l->dma_off);
		qp->depth = l->depth[q];
		qp->qid = (uint16_t)q;
		qp->sq_db = NVME_REG_DBS + (2u * q) * stride;
		qp->cq_db = NVME_REG_DBS + (2u * q + 1u) * stride;
		qp->efd = q < c->nefds ? c->efds[q] : -1;
		qp->timeout_ms = c->hdr->timeout_ms;
	}
}

/* One eventfd per vector; vector q serves queue q. */
int nvme_ctrl__set_irqs(struct nvme_ctrl *c)
{
	unsigned n = c->hdr->nvec;

	for (unsigned i = 0; i < n; i++) {
		c->efds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->efds[i] < 0)
			return -errno;
		c->nefds = i + 1;
	}
	return n ? devaccess_irq_set(c->da, c->efds, n) : 0;
}

static int create_state(struct nvme_ctrl *c, const struct nvme_layout *l)
{
	int r;

	c->state_fd = memfd_create("mhcl-nvme-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->state_fd < 0)
		return -errno;
	if (ftruncate(c->state_fd, (off_t)l->size) < 0 ||
	    fcntl(c->state_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return -errno;
	r = nvme_ctrl__map_state(c, l);
	if (r < 0)
		return r;
	memset(c->state, 0, l->size);
	return 0;
}

static void fill_header(struct nvme_ctrl *c, const struct nvme_layout *l, const struct nvme_opts *o,
			uint64_t cap, unsigned nq_alloc, unsigned admin_depth, unsigned io_depth)
{
	struct nvme_state_hdr *h = c->hdr;

	h->version = NVME_STATE_VERSION;
	h->size = l->size;
	h->dma_off = l->dma_off;
	h->dma_len = l->dma_len;
	h->dma_iova = o->state_iova;
	h->id_ctrl_off = l->id_ctrl_off;
	h->id_buf_off = l->id_buf_off;
	h->cap = cap;
	h->nq_alloc = nq_alloc;
	h->nq = 1;
	h->admin_depth = admin_depth;
	h->io_depth = io_depth;
	h->timeout_ms = o->cmd_timeout_ms ? o->cmd_timeout_ms : NVME_DEFAULT_TIMEOUT_MS;
	h->nvec = MIN(c->da->irq_count, nq_alloc);
	for (unsigned q = 0; q < nq_alloc; q++) {
		struct nvme_qstate *s = &h->q[q];

		s->qid = (uint16_t)q;
		s->vector = q < h->nvec ? (uint16_t)q : NVME_NO_VECTOR;
		s->depth = l->depth[q];
		s->slots_off = l->slots_off[q];
		s->sq_off = l->sq_off[q];
		s->cq_off = l->cq_off[q];
		s->prp_off = l->prp_off[q];
		s->prp_pages = l->prp_pages[q];
	}
	/* The magic goes in last: a half-written header is never taken for a state. */
	__atomic_store_n(&h->magic, NVME_STATE_MAGIC, __ATOMIC_RELEASE);
}

static int enable(struct nvme_ctrl *c, uint64_t cap)
{
	uint64_t base = c->hdr->dma_iova - c->hdr->dma_off;
	uint32_t cc = NVME_CC_IOCQES(NVME_CQES_LOG2) | NVME_CC_IOSQES(NVME_SQES_LOG2) |
		      NVME_CC_MPS(0) | NVME_CC_CSS_NVM | NVME_CC_AMS_RR;
	int r;

	devaccess_write32(c->da, 0, NVME_REG_AQA, NVME_AQA(c->admin.depth, c->admin.depth));
	devaccess_write64(c->da, 0, NVME_REG_ASQ, base + c->admin.st->sq_off);
	devaccess_write64(c->da, 0, NVME_REG_ACQ, base + c->admin.st->cq_off);
	devaccess_write32(c->da, 0, NVME_REG_CC, cc);
	devaccess_write32(c->da, 0, NVME_REG_CC, cc | NVME_CC_EN);
	r = nvme_ctrl__wait_csts(c, NVME_CSTS_RDY, NVME_CSTS_RDY, cap);
	if (r < 0)
		return r;
	c->hdr->cc = cc | NVME_CC_EN;
	return 0;
}

static int disable(struct nvme_ctrl *c, uint64_t cap)
{
	uint32_t cc = reg32(c, NVME_REG_CC);

	if (cc == UINT32_MAX)
		return -ENODEV;
	if (cc & NVME_CC_EN)
		devaccess_write32(c->da, 0, NVME_REG_CC, cc & ~(NVME_CC_EN | NVME_CC_SHN_MASK));
	return nvme_ctrl__wait_csts(c, NVME_CSTS_RDY, 0, cap);
}

static int bring_up(struct nvme_ctrl *c, const struct nvme_opts *o)
{
	_cleanup_free_ uint8_t *page = NULL;
	struct nvme_layout l;
	unsigned io_depth, admin_depth, nq_alloc, granted;
	uint64_t cap;
	int r;

	r = devaccess_bus_master(c->da, true);
	if (r < 0)
		return r;
	cap = devaccess_read64(c->da, 0, NVME_REG_CAP);
	if (cap == UINT64_MAX)
		return -ENODEV;
	if (!NVME_CAP_CSS_NVM(cap) || NVME_CAP_MPSMIN(cap) != 0)
		return -ENOTSUP;
	c->dstrd = NVME_CAP_DSTRD(cap);
	io_depth = MIN(o->io_queue_depth, MIN(NVME_CAP_MQES(cap) + 1u, NVME_MAX_QUEUE_DEPTH));
	admin_depth = MIN(NVME_ADMIN_DEPTH, NVME_CAP_MQES(cap) + 1u);
	nq_alloc = o->nr_io_queues + 1u;
	r = nvme_layout_compute(nq_alloc, admin_depth, io_depth, &l);
	if (r < 0)
		return r;
	if (!devaccess_iova_allowed(c->da, o->state_iova, l.dma_len))
		return -ERANGE;

	r = disable(c, cap);
	if (r < 0)
		return r;
	r = create_state(c, &l);
	if (r < 0)
		return r;
	fill_header(c, &l, o, cap, nq_alloc, admin_depth, io_depth);
	r = devaccess_dma_map(c->da, c->state + l.dma_off, o->state_iova, l.dma_len);
	if (r < 0)
		return r;
	c->dma_mapped = true;
	r = nvme_ctrl__set_irqs(c);
	if (r < 0)
		return r;
	nvme_ctrl__place_queues(c, &l);
	r = nvme_qpair__init(&c->admin, true);
	if (r < 0)
		return r;
	r = enable(c, cap);
	if (r < 0)
		return r;

	page = malloc(NVME_ID_PAGE_SIZE);
	if (!page)
		return -ENOMEM;
	r = identify(c, NVME_CNS_CONTROLLER, 0, page);
	if (r < 0)
		return r;
	r = nvme_parse_id_ctrl(page, &c->info);
	if (r < 0)
		return r;
	memcpy(c->state + l.id_ctrl_off, page, NVME_ID_PAGE_SIZE);
	c->hdr->max_transfer =
	    c->info.mdts_bytes ? MIN(c->info.mdts_bytes, NVME_MAX_TRANSFER) : NVME_MAX_TRANSFER;

	r = set_num_queues(c, o->nr_io_queues, &granted);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < granted; i++) {
		r = nvme_qpair__init(&c->io[i], true);
		if (r < 0)
			return r;
		c->nio = i + 1;
		r = create_io_queue(c, &c->io[i]);
		if (r < 0)
			return r;
		c->hdr->nq = 2u + i;
	}
	r = read_namespaces(c);
	if (r < 0)
		return r;
	save_namespaces(c);
	__atomic_or_fetch(&c->hdr->flags, NVME_STATE_READY, __ATOMIC_RELEASE);
	return 0;
}

int nvme_ctrl_init(struct devaccess *da, const struct nvme_opts *o, struct nvme_ctrl **ret)
{
	struct nvme_ctrl *c;
	int r;

	if (!o->nr_io_queues || o->nr_io_queues > NVME_MAX_IO_QUEUES || o->io_queue_depth < 2 ||
	    o->state_iova & (NVME_PAGE_SIZE - 1))
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->da = da;
	c->state_fd = -1;
	r = bring_up(c, o);
	if (r < 0) {
		/* Leave the controller disabled: its queues point into memory we free. */
		if (c->dma_mapped) {
			devaccess_write32(da, 0, NVME_REG_CC, 0);
			if (nvme_ctrl__wait_csts(c, NVME_CSTS_RDY, 0, c->hdr->cap) == 0)
				(void)devaccess_dma_unmap(da, o->state_iova, c->hdr->dma_len);
		}
		nvme_ctrl__free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void nvme_ctrl__free(struct nvme_ctrl *c)
{
	nvme_qpair__fini(&c->admin);
	for (unsigned i = 0; i < NVME_MAX_IO_QUEUES; i++)
		nvme_qpair__fini(&c->io[i]);
	for (unsigned i = 0; i < c->nefds; i++)
		closep(&c->efds[i]);
	if (c->state)
		munmap(c->state, c->state_size);
	closep(&c->state_fd);
	free(c);
}

void nvme_ctrl_close(struct nvme_ctrl *c)
{
	if (c)
		nvme_ctrl__free(c);
}

static void fail_queue(struct nvme_qpair *qp, int err)
{
	struct nvme_done d[32];
	unsigned n;

	pthread_mutex_lock(&qp->reap_lock);
	do {
		pthread_mutex_lock(&qp->lock);
		n = nvme_qpair__fail_all(qp, err, d, ARRAY_SIZE(d));
		pthread_mutex_unlock(&qp->lock);
		nvme_qpair__report(qp, d, n);
	} while (n == ARRAY_SIZE(d));
	pthread_mutex_unlock(&qp->reap_lock);
}

static void fail_all_queues(struct nvme_ctrl *c, int err)
{
	fail_queue(&c->admin, err);
	for (unsigned i = 0; i < c->nio; i++)
		fail_queue(&c->io[i], err);
}

int nvme_ctrl_shutdown(struct nvme_ctrl *c)
{
	int r;

	if (!c)
		return 0;
	__atomic_and_fetch(&c->hdr->flags, ~NVME_STATE_READY, __ATOMIC_RELEASE);
	c->failed = true;
	fail_all_queues(c, -ECANCELED);
	devaccess_write32(c->da, 0, NVME_REG_CC, c->hdr->cc | NVME_CC_SHN_NORMAL);
	r = nvme_ctrl__wait_csts(c, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_DONE, c->hdr->cap);
	if (r == 0)
		r = disable(c, c->hdr->cap);
	/* The device may still hold addresses into the memory only after a failed disable. */
	if (r == 0) {
		(void)devaccess_irq_set(c->da, NULL, 0);
		(void)devaccess_dma_unmap(c->da, c->hdr->dma_iova, c->hdr->dma_len);
	}
	nvme_ctrl__free(c);
	return r;
}

int nvme_ctrl_check_health(struct nvme_ctrl *c)
{
	uint32_t csts;

	if (c->failed)
		return -EIO;
	csts = reg32(c, NVME_REG_CSTS);
	if (csts != UINT32_MAX && !(csts & NVME_CSTS_CFS) && csts & NVME_CSTS_RDY)
		return 0;
	c->failed = true;
	__atomic_or_fetch(&c->hdr->flags, NVME_STATE_FAILED, __ATOMIC_RELEASE);
	fail_all_queues(c, -EIO);
	return -EIO;
}

bool nvme_ctrl_failed(const struct nvme_ctrl *c)
{
	return c->failed;
}

int nvme_ctrl_process_admin(struct nvme_ctrl *c)
{
	return nvme_qpair_process(&c->admin, 0);
}

int nvme_ctrl_tick(struct nvme_ctrl *c, uint64_t now_ns)
{
	int r;

	nvme_ctrl_process_admin(c);
	r = nvme_ctrl_check_health(c);
	if (r < 0)
		return r;
	nvme_qpair_check_timeouts(&c->admin, now_ns);
	for (unsigned i = 0; i < c->nio; i++) {
		nvme_qpair_process(&c->io[i], 0);
		nvme_qpair_check_timeouts(&c->io[i], now_ns);
	}
	return 0;
}

int nvme_ctrl_state_fd(const struct nvme_ctrl *c)
{
	return c->state_fd;
}

const struct nvme_ctrl_info *nvme_ctrl_info(const struct nvme_ctrl *c)
{
	return &c->info;
}

unsigned nvme_ctrl_ns_count(const struct nvme_ctrl *c)
{
	return c->nns;
}

const struct nvme_ns_info *nvme_ctrl_ns(const struct nvme_ctrl *c, unsigned i)
{
	return i < c->nns ? &c->ns[i] : NULL;
}

const struct nvme_ns_info *nvme_ctrl_ns_find(const struct nvme_ctrl *c, uint32_t nsid)
{
	for (unsigned i = 0; i < c->nns; i++)
		if (c->ns[i].nsid == nsid)
			return &c->ns[i];
	return NULL;
}

uint32_t nvme_ctrl_max_transfer(const struct nvme_ctrl *c)
{
	return c->hdr->max_transfer;
}

unsigned nvme_ctrl_qpair_count(const struct nvme_ctrl *c)
{
	return c->nio;
}

struct nvme_qpair *nvme_ctrl_qpair(struct nvme_ctrl *c, unsigned i)
{
	return i < c->nio ? &c->io[i] : NULL;
}

int nvme_ctrl_admin_eventfd(const struct nvme_ctrl *c)
{
	return c->admin.efd;
}

void nvme_ctrl_stats(struct nvme_ctrl *c, struct nvme_ctrl_stats *ret)
{
	struct nvme_ctrl_stats s = {
	    .admin_submitted = __atomic_load_n(&c->admin_submitted, __ATOMIC_RELAXED),
	    .admin_aborts = __atomic_load_n(&c->admin_aborts, __ATOMIC_RELAXED),
	    .stale_at_adopt = c->stale_at_adopt,
	    .stale_completed = __atomic_load_n(&c->stale_completed, __ATOMIC_RELAXED),
	    .timeouts = __atomic_load_n(&c->timeouts, __ATOMIC_RELAXED),
	    .failed = c->failed,
	};

	for (unsigned q = 0; q < c->hdr->nq && q < NVME_MAX_QUEUES; q++)
		s.bad_completions += c->hdr->q[q].dropped;
	*ret = s;
}
