/* SPDX-License-Identifier: MIT */
/* The test device described in fake_nvme.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "defs/nvme_defs.h"
#include "fake_nvme.h"
#include "macros.h"

#define BAR0_SIZE 0x2000u

static struct fake_nvme *to_fake(struct devaccess *d)
{
	return container_of(d, struct fake_nvme, da);
}

/* ---- DMA: IOVA -> this process's memory, within one mapping ---- */

static uint8_t *dma_ptr(struct fake_nvme *f, uint64_t iova, uint64_t len)
{
	for (unsigned i = 0; i < f->nmaps; i++) {
		struct fake_nvme_map *m = &f->maps[i];
		if (iova >= m->iova && len <= m->len && iova - m->iova <= m->len - len)
			return m->va + (iova - m->iova);
	}
	f->dma_errors++;
	return NULL;
}

static bool dma_read(struct fake_nvme *f, uint64_t iova, void *buf, uint64_t len)
{
	uint8_t *p = dma_ptr(f, iova, len);
	if (p)
		memcpy(buf, p, len);
	return p != NULL;
}

static bool dma_write(struct fake_nvme *f, uint64_t iova, const void *buf, uint64_t len)
{
	uint8_t *p = dma_ptr(f, iova, len);
	if (p)
		memcpy(p, buf, len);
	return p != NULL;
}

/* ---- Queues ---- */

static void post(struct fake_nvme *f, uint16_t cqid, uint32_t dw0, uint16_t sqhd, uint16_t sqid,
		 uint16_t cid, uint16_t sc)
{
	struct fake_nvme_q *cq = &f->cq[cqid];
	struct nvme_cqe e = {.dw0 = dw0, .sqhd = sqhd, .sqid = sqid, .cid = cid};
	uint64_t at;

	if (cqid >= FAKE_NVME_MAX_Q || !cq->live)
		return;
	at = cq->iova + (uint64_t)cq->tail * sizeof(e);
	e.status = (uint16_t)(sc << 1 | cq->phase);
	/* Everything but the status word first, as hardware does. */
	if (!dma_write(f, at, &e, 14) || !dma_write(f, at + 14, &e.status, 2))
		return;
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1u;
	}
	if (cq->ien && cq->iv < f->nirq && f->irq_fds[cq->iv] >= 0) {
		uint64_t one = 1;
		(void)!write(f->irq_fds[cq->iv], &one, sizeof(one));
	}
}

void fake_nvme_post_raw(struct fake_nvme *f, uint16_t qid, uint32_t dw0, uint16_t sqhd,
			uint16_t sqid, uint16_t cid, uint16_t status)
{
	post(f, qid, dw0, sqhd, sqid, cid, status);
}

/* Calls fn for each (IOVA, length) piece of a PRP-described buffer; false on a bad PRP. */
static bool prp_walk(struct fake_nvme *f, uint64_t prp1, uint64_t prp2, uint64_t bytes,
		     bool (*fn)(struct fake_nvme *f, uint64_t iova, uint64_t len, void *arg),
		     void *arg)
{
	uint64_t first = MIN(bytes, NVME_PAGE_SIZE - (prp1 & (NVME_PAGE_SIZE - 1)));
	uint64_t rem = bytes - first, list, entry;
	unsigned idx;

	if (!fn(f, prp1, first, arg))
		return false;
	if (!rem)
		return true;
	if (rem <= NVME_PAGE_SIZE)
		return !(prp2 & (NVME_PAGE_SIZE - 1)) && fn(f, prp2, rem, arg);
	list = prp2 & ~(uint64_t)(NVME_PAGE_SIZE - 1);
	idx = (unsigned)((prp2 & (NVME_PAGE_SIZE - 1)) / 8);
	while (rem) {
		if (!dma_read(f, list + idx * 8u, &entry, 8))
			return false;
		if (idx == NVME_PRPS_PER_PAGE - 1 && rem > NVME_PAGE_SIZE) {
			list = entry;
			idx = 0;
			continue;
		}
		if (entry & (NVME_PAGE_SIZE - 1))
			return false;
		if (!fn(f, entry, MIN(rem, NVME_PAGE_SIZE), arg))
			return false;
		rem -= MIN(rem, NVME_PAGE_SIZE);
		idx++;
	}
	return true;
}

struct xfer {
	uint8_t *disk;
	bool to_disk;
};

static bool xfer_piece(struct fake_nvme *f, uint64_t iova, uint64_t len, void *arg)
{
	struct xfer *x = arg;
	bool ok = x->to_disk ? dma_read(f, iova, x->disk, len) : dma_write(f, iova, x->disk, len);

	x->disk += len;
	return ok;
}

static void make_id_ctrl(struct fake_nvme *f, struct nvme_id_ctrl *id)
{
	memset(id, 0, sizeof(*id));
	id->vid = 0x1b36;
	memset(id->sn, ' ', sizeof(id->sn));
	memcpy(id->sn, "FAKE0001", 8);
	memset(id->mn, ' ', sizeof(id->mn));
	memcpy(id->mn, "mhcl test nvme", 14);
	memset(id->fr, ' ', sizeof(id->fr));
	memcpy(id->fr, "1.0", 3);
	id->mdts = f->mdts;
	id->ver = 0x10400;
	id->sqes = 0x66;
	id->cqes = 0x44;
	id->nn = 1;
	id->oncs = f->dsm ? NVME_ONCS_DSM : 0;
	id->vwc = f->vwc ? NVME_VWC_PRESENT : 0;
}

static void make_id_ns(struct fake_nvme *f, struct nvme_id_ns *id)
{
	memset(id, 0, sizeof(*id));
	id->nsze = id->ncap = id->nuse = f->nblocks;
	id->lbaf[0].lbads = (uint8_t)__builtin_ctz(f->block_size);
	for (unsigned i = 0; i < sizeof(id->nguid); i++)
		id->nguid[i] = (uint8_t)(0xa0 + i);
}

static uint16_t exec_admin(struct fake_nvme *f, const struct nvme_sqe *e, uint32_t *dw0)
{
	uint8_t op = NVME_SQE_OPCODE(e->cdw0);
	uint16_t qid = (uint16_t)e->cdw10;
	uint32_t size = (e->cdw10 >> 16) + 1u;
	uint8_t page[NVME_ID_PAGE_SIZE];

	f->admin_count[op]++;
	switch (op) {
	case NVME_ADMIN_IDENTIFY:
		memset(page, 0, sizeof(page));
		if ((e->cdw10 & 0xff) == NVME_CNS_CONTROLLER) {
			make_id_ctrl(f, (struct nvme_id_ctrl *)page);
		} else if ((e->cdw10 & 0xff) == NVME_CNS_NAMESPACE) {
			if (e->nsid != 1)
				return NVME_SC_INVALID_NS;
			make_id_ns(f, (struct nvme_id_ns *)page);
		} else if ((e->cdw10 & 0xff) == NVME_CNS_ACTIVE_NSLIST) {
			uint32_t one = 1;
			memcpy(page, &one, sizeof(one));
		} else {
			return NVME_SC_INVALID_FIELD;
		}
		return dma_write(f, e->prp1, page, sizeof(page)) ? 0 : 0x004;
	case NVME_ADMIN_SET_FEATURES:
		if ((e->cdw10 & 0xff) == NVME_FEAT_NUM_QUEUES) {
			uint32_t want = MIN((e->cdw11 & 0xffffu) + 1u, (e->cdw11 >> 16) + 1u);
			uint32_t g = MIN(want, f->max_queues);
			*dw0 = (g - 1u) | (g - 1u) << 16;
			return 0;
		}
		return NVME_SC_INVALID_FIELD;
	case NVME_ADMIN_CREATE_CQ:
		if (!qid || qid >= FAKE_NVME_MAX_Q || f->cq[qid].live || !(e->cdw11 & NVME_CQ_PC))
			return 0x101;
		f->cq[qid] = (struct fake_nvme_q){.live = true,
						  .iova = e->prp1,
						  .size = size,
						  .phase = 1,
						  .ien = e->cdw11 & NVME_CQ_IEN,
						  .iv = (uint16_t)(e->cdw11 >> 16)};
		return 0;
	case NVME_ADMIN_CREATE_SQ: {
		uint16_t cqid = (uint16_t)(e->cdw11 >> 16);
		if (!qid || qid >= FAKE_NVME_MAX_Q || f->sq[qid].live)
			return 0x101;
		if (cqid >= FAKE_NVME_MAX_Q || !f->cq[cqid].live)
			return 0x100;
		f->sq[qid] =
		    (struct fake_nvme_q){.live = true, .iova = e->prp1, .size = size, .cqid = cqid};
		return 0;
	}
	case NVME_ADMIN_DELETE_SQ:
	case NVME_ADMIN_DELETE_CQ:
		if (!qid || qid >= FAKE_NVME_MAX_Q)
			return 0x101;
		(op == NVME_ADMIN_DELETE_SQ ? f->sq : f->cq)[qid].live = false;
		return 0;
	case NVME_ADMIN_ABORT:
		*dw0 = 1; /* not aborted */
		for (unsigned i = 0; i < f->nheld; i++) {
			struct fake_nvme_held h = f->held[i];
			if (h.sqid != qid || h.cid != (uint16_t)(e->cdw10 >> 16))
				continue;
			f->held[i] = f->held[--f->nheld];
			post(f, f->sq[h.sqid].cqid, 0, h.sqhd, h.sqid, h.cid,
			     NVME_SC_ABORT_REQUESTED);
			*dw0 = 0;
			break;
		}
		return 0;
	default:
		return NVME_SC_INVALID_OPCODE;
	}
}

static uint16_t exec_io(struct fake_nvme *f, const struct nvme_sqe *e)
{
	uint8_t op = NVME_SQE_OPCODE(e->cdw0);
	uint64_t slba = e->cdw10 | (uint64_t)e->cdw11 << 32;
	uint32_t nlb = (e->cdw12 & 0xffffu) + 1u;
	struct nvme_dsm_range r[NVME_DSM_MAX_RANGES];
	struct xfer x;
	uint32_t nr;

	f->io_count[op]++;
	if (e->nsid != 1)
		return NVME_SC_INVALID_NS;
	switch (op) {
	case NVME_CMD_READ:
	case NVME_CMD_WRITE:
		if (slba >= f->nblocks || nlb > f->nblocks - slba)
			return NVME_SC_LBA_RANGE;
		if (f->mdts && (uint64_t)nlb * f->block_size > (uint64_t)NVME_PAGE_SIZE << f->mdts)
			return NVME_SC_INVALID_FIELD;
		x = (struct xfer){f->disk + slba * f->block_size, op == NVME_CMD_WRITE};
		if (!prp_walk(f, e->prp1, e->prp2, (uint64_t)nlb * f->block_size, xfer_piece, &x))
			return 0x004; /* data transfer error */
		return 0;
	case NVME_CMD_FLUSH:
		f->flushes++;
		return 0;
	case NVME_CMD_DSM:
		nr = (e->cdw10 & 0xffu) + 1u;
		if (!dma_read(f, e->prp1, r, nr * sizeof(r[0])))
			return 0x004;
		for (uint32_t i = 0; i < nr && (e->cdw11 & NVME_DSM_AD); i++) {
			if (r[i].slba >= f->nblocks || r[i].nlb > f->nblocks - r[i].slba)
				return NVME_SC_LBA_RANGE;
			memset(f->disk + r[i].slba * f->block_size, 0,
			       (size_t)r[i].nlb * f->block_size);
			f->deallocated_blocks += r[i].nlb;
		}
		return 0;
	default:
		return NVME_SC_INVALID_OPCODE;
	}
}

static unsigned process_sq(struct fake_nvme *f, uint16_t qid)
{
	struct fake_nvme_q *sq = &f->sq[qid];
	unsigned n = 0;

	while (sq->live && sq->head != sq->tail && n < sq->size) {
		struct nvme_sqe e;
		uint32_t dw0 = 0;
		uint16_t sc;

		if (!dma_read(f, sq->iova + (uint64_t)sq->head * sizeof(e), &e, sizeof(e)))
			break;
		sq->head = (sq->head + 1u) % sq->size;
		n++;
		if (qid && f->hold_io && f->nheld < FAKE_NVME_MAX_HELD) {
			f->io_count[NVME_SQE_OPCODE(e.cdw0)]++;
			f->held[f->nheld++] = (struct fake_nvme_held){
			    qid, NVME_SQE_CID(e.cdw0), (uint16_t)sq->head, NVME_SQE_OPCODE(e.cdw0)};
			continue;
		}
		sc = qid ? exec_io(f, &e) : exec_admin(f, &e, &dw0);
		post(f, sq->cqid, dw0, (uint16_t)sq->head, qid, NVME_SQE_CID(e.cdw0), sc);
	}
	return n;
}

unsigned fake_nvme_run(struct fake_nvme *f)
{
	unsigned n = 0;

	for (uint16_t q = 1; q < FAKE_NVME_MAX_Q; q++)
		n += process_sq(f, q);
	return n;
}

void fake_nvme_release(struct fake_nvme *f)
{
	while (f->nheld) {
		struct fake_nvme_held h = f->held[--f->nheld];
		post(f, f->sq[h.sqid].cqid, 0, h.sqhd, h.sqid, h.cid, 0);
	}
}

/* ---- Registers ---- */

static void write_cc(struct fake_nvme *f, uint32_t v)
{
	uint32_t old = f->cc;

	f->cc = v;
	if (!(old & NVME_CC_EN) && (v & NVME_CC_EN)) {
		f->enables++;
		f->sq[0] = (struct fake_nvme_q){
		    .live = true, .iova = f->asq, .size = (f->aqa & 0xfffu) + 1u};
		f->cq[0] = (struct fake_nvme_q){.live = true,
						.iova = f->acq,
						.size = ((f->aqa >> 16) & 0xfffu) + 1u,
						.phase = 1,
						.ien = true};
		f->csts = NVME_CSTS_RDY;
	} else if ((old & NVME_CC_EN) && !(v & NVME_CC_EN)) {
		f->disables++;
		memset(f->sq, 0, sizeof(f->sq));
		memset(f->cq, 0, sizeof(f->cq));
		f->nheld = 0;
		f->csts = 0;
	}
	if ((v & NVME_CC_SHN_MASK) == NVME_CC_SHN_NORMAL)
		f->csts = (f->csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_DONE;
}

static void doorbell(struct fake_nvme *f, uint64_t off, uint32_t v)
{
	uint64_t idx = (off - NVME_REG_DBS) / 4;
	uint16_t qid = (uint16_t)(idx / 2);

	if (qid >= FAKE_NVME_MAX_Q)
		return;
	if (idx & 1) {
		f->cq[qid].head = v;
		return;
	}
	f->sq[qid].tail = v;
	if (!qid || !f->io_manual)
		process_sq(f, qid);
}

static int fake_bar_read(struct devaccess *d, unsigned bar, uint64_t off, void *buf, size_t len)
{
	struct fake_nvme *f = to_fake(d);
	uint32_t v = 0;

	if (bar || len != 4)
		return -EINVAL;
	switch (off) {
	case NVME_REG_CAP:
		v = (uint32_t)f->cap;
		break;
	case NVME_REG_CAP + 4:
		v = (uint32_t)(f->cap >> 32);
		break;
	case NVME_REG_VS:
		v = 0x10400;
		break;
	case NVME_REG_CC:
		v = f->cc;
		break;
	case NVME_REG_CSTS:
		v = f->csts;
		break;
	case NVME_REG_AQA:
		v = f->aqa;
		break;
	case NVME_REG_ASQ:
		v = (uint32_t)f->asq;
		break;
	case NVME_REG_ASQ + 4:
		v = (uint32_t)(f->asq >> 32);
		break;
	case NVME_REG_ACQ:
		v = (uint32_t)f->acq;
		break;
	case NVME_REG_ACQ + 4:
		v = (uint32_t)(f->acq >> 32);
		break;
	default:
		break;
	}
	memcpy(buf, &v, 4);
	return 0;
}

static int fake_bar_write(struct devaccess *d, unsigned bar, uint64_t off, const void *buf,
			  size_t len)
{
	struct fake_nvme *f = to_fake(d);
	uint32_t v;

	if (bar || len != 4)
		return -EINVAL;
	memcpy(&v, buf, 4);
	if (off >= NVME_REG_DBS) {
		doorbell(f, off, v);
		return 0;
	}
	switch (off) {
	case NVME_REG_CC:
		write_cc(f, v);
		break;
	case NVME_REG_AQA:
		f->aqa = v;
		break;
	case NVME_REG_ASQ:
		f->asq = (f->asq & ~0xffffffffull) | v;
		break;
	case NVME_REG_ASQ + 4:
		f->asq = (f->asq & 0xffffffffull) | (uint64_t)v << 32;
		break;
	case NVME_REG_ACQ:
		f->acq = (f->acq & ~0xffffffffull) | v;
		break;
	case NVME_REG_ACQ + 4:
		f->acq = (f->acq & 0xffffffffull) | (uint64_t)v << 32;
		break;
	default:
		break;
	}
	return 0;
}

static int fake_config_read(struct devaccess *d, uint32_t off, void *buf, size_t len)
{
	struct fake_nvme *f = to_fake(d);
	uint8_t cfg[256] = {0x36, 0x1b, 0x10, 0x00};

	if (off > sizeof(cfg) || len > sizeof(cfg) - off)
		return -EINVAL;
	cfg[4] = f->bus_master ? 0x06 : 0x00;
	cfg[0x09] = 0x02; /* NVMe: class 01, subclass 08, prog-if 02 */
	cfg[0x0a] = 0x08;
	cfg[0x0b] = 0x01;
	memcpy(buf, cfg + off, len);
	return 0;
}

static int fake_config_write(struct devaccess *d, uint32_t off, const void *buf, size_t len)
{
	struct fake_nvme *f = to_fake(d);
	uint16_t cmd;

	if (off == 4 && len == 2) {
		memcpy(&cmd, buf, 2);
		f->bus_master = cmd & 0x04;
	}
	return 0;
}

static int fake_dma_map(struct devaccess *d, void *va, uint64_t iova, uint64_t len)
{
	struct fake_nvme *f = to_fake(d);
	void *dup;

	for (unsigned i = 0; i < f->nmaps; i++)
		if (iova < f->maps[i].iova + f->maps[i].len && f->maps[i].iova < iova + len)
			return -EEXIST;
	if (f->nmaps == FAKE_NVME_MAX_MAPS)
		return -ENOSPC;
	/* An IOMMU keeps the pages, not the process's mapping of them: take a mapping of our
	 * own of shared memory, so the device reaches it after the driver unmapped it (as
	 * the next instance of a restarted driver relies on). Private memory is used as is. */
	dup = mremap(va, 0, len, MREMAP_MAYMOVE);
	f->maps[f->nmaps++] =
	    (struct fake_nvme_map){dup != MAP_FAILED ? dup : va, iova, len, dup != MAP_FAILED};
	return 0;
}

static int fake_dma_unmap(struct devaccess *d, uint64_t iova, uint64_t len)
{
	struct fake_nvme *f = to_fake(d);

	for (unsigned i = 0; i < f->nmaps; i++) {
		if (f->maps[i].iova == iova && f->maps[i].len == len) {
			if (f->maps[i].owned)
				munmap(f->maps[i].va, len);
			f->maps[i] = f->maps[--f->nmaps];
			return 0;
		}
	}
	return -ENOENT;
}

static int fake_irq_set(struct devaccess *d, const int *fds, unsigned n)
{
	struct fake_nvme *f = to_fake(d);

	for (unsigned i = 0; i < f->nirq; i++)
		closep(&f->irq_fds[i]);
	for (unsigned i = 0; i < n; i++)
		f->irq_fds[i] = fds[i] >= 0 ? dup(fds[i]) : -1;
	f->nirq = n;
	return 0;
}

static int fake_iova_ranges(struct devaccess *d, struct devaccess_iova_range *r, unsigned max,
			    unsigned *ret_n)
{
	static const struct devaccess_iova_range ranges[] = {
	    {0, 0xfedfffffull},
	    {0xfef00000ull, (1ull << 39) - 1},
	};
	unsigned n = MIN(max, ARRAY_SIZE(ranges));

	memcpy(r, ranges, n * sizeof(*r));
	*ret_n = n;
	return 0;
}

static void fake_destroy(struct devaccess *d)
{
	/* The test owns the device: fake_nvme_free. */
}

static const struct devaccess_ops fake_ops = {
    .kind = "test",
    .bar_read = fake_bar_read,
    .bar_write = fake_bar_write,
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .dma_map = fake_dma_map,
    .dma_unmap = fake_dma_unmap,
    .irq_set = fake_irq_set,
    .iova_ranges = fake_iova_ranges,
    .destroy = fake_destroy,
};

struct fake_nvme *fake_nvme_new(uint64_t nblocks, uint32_t block_size)
{
	struct fake_nvme *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->disk = calloc(nblocks, block_size);
	if (!f->disk) {
		free(f);
		return NULL;
	}
	f->da.ops = &fake_ops;
	f->da.bars[0].size = BAR0_SIZE;
	f->da.irq_count = FAKE_NVME_MAX_Q;
	/* MQES 2047, CQR, TO 10 (5 s), DSTRD 0, CSS NVM, MPSMIN 0 */
	f->cap = 0x7ffull | 1ull << 16 | 10ull << 24 | 1ull << 37;
	f->mdts = 7;
	f->vwc = f->dsm = true;
	f->max_queues = 16;
	f->nblocks = nblocks;
	f->block_size = block_size;
	for (unsigned i = 0; i < FAKE_NVME_MAX_Q; i++)
		f->irq_fds[i] = -1;
	(void)devaccess__read_pci_id(&f->da);
	return f;
}

void fake_nvme_free(struct fake_nvme *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->nirq; i++)
		closep(&f->irq_fds[i]);
	for (unsigned i = 0; i < f->nmaps; i++)
		if (f->maps[i].owned)
			munmap(f->maps[i].va, f->maps[i].len);
	free(f->disk);
	free(f);
}
