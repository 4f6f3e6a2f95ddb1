/* SPDX-License-Identifier: MIT */
/*
 * GDMA test device model (a TEST DEVICE, never part of the image): driver memory,
 * DMA regions, the four queue types, entry posting with owner bits and arming, WQE
 * parsing and doorbells.
 *
 * Arming follows the hardware: a CQ or EQ starts armed; posting to an armed CQ
 * sends one COMPLETION EQE to its parent EQ and disarms it; posting to an armed EQ
 * raises its MSI-X and disarms it. A doorbell with the arm bit re-arms when the
 * driver has consumed everything, and notifies at once otherwise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gdma_model_internal.h"

void *gdma__dma(struct gdma_model *m, uint64_t iova, size_t len)
{
	void *p = NULL;

	if (len > 0 && len <= GDMA_PAGE_SIZE && iova + len > iova)
		p = m->ops.dma_ptr(m->ctx, iova, len);
	if (!p)
		m->stats.dma_errors++;
	return p;
}

/* Byte cursor over [iova, iova + len), one page-bounded piece per dma_ptr call. */
static int dma_copy(struct gdma_model *m, uint64_t iova, uint8_t *buf, size_t len, bool to_device)
{
	while (len > 0) {
		size_t chunk = GDMA_PAGE_SIZE - (size_t)(iova & (GDMA_PAGE_SIZE - 1));
		void *p;

		if (chunk > len)
			chunk = len;
		p = gdma__dma(m, iova, chunk);
		if (!p)
			return -EFAULT;
		if (to_device)
			memcpy(p, buf, chunk);
		else
			memcpy(buf, p, chunk);
		iova += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int gdma__dma_read(struct gdma_model *m, uint64_t iova, void *buf, size_t len)
{
	return dma_copy(m, iova, buf, len, false);
}

int gdma__dma_write(struct gdma_model *m, uint64_t iova, const void *buf, size_t len)
{
	return dma_copy(m, iova, (uint8_t *)buf, len, true);
}

/* Reads queue bytes from offset @off, wrapping at the end of the queue. */
int gdma__mem_read(struct gdma_model *m, const struct gdma_mem *mem, uint32_t off, void *buf,
		   size_t len)
{
	uint8_t *cursor = buf;

	off &= mem->size - 1;
	while (len > 0) {
		uint32_t in_page = off & (GDMA_PAGE_SIZE - 1);
		size_t chunk = GDMA_PAGE_SIZE - in_page;
		void *p;

		if (chunk > len)
			chunk = len;
		p = gdma__dma(m, mem->pages[off >> GDMA_PAGE_SHIFT] + in_page, chunk);
		if (!p)
			return -EFAULT;
		memcpy(cursor, p, chunk);
		cursor += chunk;
		len -= chunk;
		off = (off + (uint32_t)chunk) & (mem->size - 1);
	}
	return 0;
}

void gdma__mem_free(struct gdma_mem *mem)
{
	free(mem->pages);
	*mem = (struct gdma_mem){0};
}

struct gdma_region *gdma__region_find(struct gdma_model *m, uint64_t handle)
{
	if (handle == GDMA_INVALID_DMA_REGION)
		return NULL;
	for (size_t i = 0; i < GDMA_MODEL_MAX_REGIONS; i++)
		if (m->regions[i].used && m->regions[i].handle == handle)
			return &m->regions[i];
	return NULL;
}

void gdma__region_free(struct gdma_region *r)
{
	gdma__mem_free(&r->mem);
	*r = (struct gdma_region){0};
}

static bool valid_queue_size(uint32_t size)
{
	return size >= GDMA_PAGE_SIZE && (size & (size - 1)) == 0;
}

/*
 * A queue takes its region over: Linux forgets the handle once the queue exists, so
 * the region leaves the table and its pages move into the queue.
 */
int gdma__region_take(struct gdma_model *m, uint64_t handle, uint32_t size,
		      struct gdma_mem *ret_mem)
{
	struct gdma_region *r = gdma__region_find(m, handle);

	if (!r || r->pages_filled != r->mem.page_count)
		return -ENOENT;
	if (!valid_queue_size(size) || r->length != size)
		return -EINVAL;
	*ret_mem = r->mem;
	ret_mem->size = size;
	r->mem = (struct gdma_mem){0};
	gdma__region_free(r);
	return 0;
}

static int cqeq_init(struct gdma_cqeq *q, struct gdma_mem *mem, uint32_t entry_size)
{
	if (q->used || !valid_queue_size(mem->size))
		return -EINVAL;
	*q = (struct gdma_cqeq){.used = true, .mem = *mem, .entry_size = entry_size};
	*mem = (struct gdma_mem){0};
	q->entries = q->mem.size / entry_size;
	q->shift = (uint32_t)__builtin_ctz(q->entries);
	q->tail = q->entries;
	q->armed = true;
	return 0;
}

int gdma__eq_create(struct gdma_model *m, uint32_t id, struct gdma_mem *mem, uint32_t msix)
{
	int r;

	if (id >= GDMA_MODEL_MAX_EQS || msix >= m->cfg.msix_count)
		return -EINVAL;
	r = cqeq_init(&m->eqs[id], mem, GDMA_EQE_SIZE);
	if (r == 0)
		m->eqs[id].msix = msix;
	return r;
}

int gdma__cq_create(struct gdma_model *m, uint32_t id, struct gdma_mem *mem, uint32_t parent_eq)
{
	int r;

	if (id >= GDMA_MODEL_MAX_CQS || (parent_eq != MANA_CQ_NO_EQ && !gdma__eq(m, parent_eq)))
		return -EINVAL;
	r = cqeq_init(&m->cqs[id], mem, GDMA_CQE_SIZE);
	if (r == 0)
		m->cqs[id].parent_eq = parent_eq;
	return r;
}

int gdma__wq_create(struct gdma_model *m, bool is_send, uint32_t id, struct gdma_mem *mem,
		    uint32_t cq_id)
{
	struct gdma_wq *q = is_send ? &m->sqs[0] : &m->rqs[0];

	if (id >= GDMA_MODEL_MAX_WQS || !valid_queue_size(mem->size) || !gdma__cq(m, cq_id))
		return -EINVAL;
	q += id;
	if (q->used)
		return -EINVAL;
	*q = (struct gdma_wq){.used = true, .mem = *mem, .cq_id = cq_id};
	*mem = (struct gdma_mem){0};
	return 0;
}

/* The lowest free id of @type above the HWC's 0, or -ENOSPC. */
int gdma__alloc_id(const struct gdma_model *m, uint32_t type)
{
	switch (type) {
	case GDMA_QUEUE_EQ:
		for (int i = 1; i < (int)GDMA_MODEL_MAX_EQS; i++)
			if (!m->eqs[i].used)
				return i;
		break;
	case GDMA_QUEUE_CQ:
		for (int i = 1; i < (int)GDMA_MODEL_MAX_CQS; i++)
			if (!m->cqs[i].used)
				return i;
		break;
	case GDMA_QUEUE_SQ:
	case GDMA_QUEUE_RQ:
		for (int i = 1; i < (int)GDMA_MODEL_MAX_WQS; i++)
			if (!(type == GDMA_QUEUE_SQ ? m->sqs : m->rqs)[i].used)
				return i;
		break;
	}
	return -ENOSPC;
}

void gdma__cqeq_free(struct gdma_cqeq *q)
{
	gdma__mem_free(&q->mem);
	*q = (struct gdma_cqeq){0};
}

void gdma__wq_free(struct gdma_wq *q)
{
	gdma__mem_free(&q->mem);
	*q = (struct gdma_wq){0};
}

struct gdma_cqeq *gdma__eq(struct gdma_model *m, uint32_t id)
{
	return id < GDMA_MODEL_MAX_EQS && m->eqs[id].used ? &m->eqs[id] : NULL;
}

struct gdma_cqeq *gdma__cq(struct gdma_model *m, uint32_t id)
{
	return id < GDMA_MODEL_MAX_CQS && m->cqs[id].used ? &m->cqs[id] : NULL;
}

struct gdma_wq *gdma__sq(struct gdma_model *m, uint32_t id)
{
	return id < GDMA_MODEL_MAX_WQS && m->sqs[id].used ? &m->sqs[id] : NULL;
}

struct gdma_wq *gdma__rq(struct gdma_model *m, uint32_t id)
{
	return id < GDMA_MODEL_MAX_WQS && m->rqs[id].used ? &m->rqs[id] : NULL;
}

/*
 * Writes one entry whose last dword holds the owner bits, and returns whether the
 * queue was armed. The owner byte goes last with release order, so a driver that
 * sees the new owner bits (and then issues its read barrier) sees the whole entry.
 */
static bool cqeq_post(struct gdma_model *m, struct gdma_cqeq *q, const uint8_t *entry)
{
	uint32_t off = (q->tail & (q->entries - 1)) * q->entry_size;
	uint8_t *p = gdma__dma(
	    m, q->mem.pages[off >> GDMA_PAGE_SHIFT] + (off & (GDMA_PAGE_SIZE - 1)), q->entry_size);
	bool was_armed = q->armed;

	if (p) {
		memcpy(p, entry, q->entry_size - 1);
		__atomic_store_n(&p[q->entry_size - 1], entry[q->entry_size - 1], __ATOMIC_RELEASE);
	}
	q->tail++;
	q->armed = false;
	return was_armed;
}

static uint32_t owner_bits(const struct gdma_cqeq *q)
{
	return (q->tail >> q->shift) & GDMA_OWNER_MASK;
}

static void eq_notify(struct gdma_model *m, const struct gdma_cqeq *eq)
{
	m->stats.irqs++;
	m->ops.irq(m->ctx, eq->msix);
}

void gdma__post_eqe(struct gdma_model *m, uint32_t eq_id, uint32_t type, const uint32_t details[3])
{
	struct gdma_cqeq *eq = gdma__eq(m, eq_id);
	struct gdma_eqe eqe = {0};

	if (!eq)
		return;
	if (details)
		memcpy(eqe.details, details, sizeof(eqe.details));
	eqe.info = (type & 0xffu) | (owner_bits(eq) << GDMA_EQE_OWNER_SHIFT);
	if (cqeq_post(m, eq, (const uint8_t *)&eqe))
		eq_notify(m, eq);
}

static void cq_notify(struct gdma_model *m, uint32_t cq_id, const struct gdma_cqeq *cq)
{
	uint32_t details[3] = {cq_id, 0, 0};

	if (cq->parent_eq != MANA_CQ_NO_EQ)
		gdma__post_eqe(m, cq->parent_eq, GDMA_EQE_COMPLETION, details);
}

void gdma__post_cqe(struct gdma_model *m, uint32_t cq_id, const void *data, size_t len,
		    uint32_t wq_num, bool is_sq)
{
	struct gdma_cqeq *cq = gdma__cq(m, cq_id);
	struct gdma_cqe cqe = {0};

	if (!cq)
		return;
	memcpy(cqe.data, data, len < sizeof(cqe.data) ? len : sizeof(cqe.data));
	cqe.info = GDMA_CQE_WQ_NUM(wq_num) | (is_sq ? GDMA_CQE_IS_SQ : 0) |
		   (owner_bits(cq) << GDMA_CQE_OWNER_SHIFT);
	if (cqeq_post(m, cq, (const uint8_t *)&cqe))
		cq_notify(m, cq_id, cq);
}

static uint32_t oob_size_of(uint32_t code)
{
	switch (code) {
	case GDMA_WQE_OOB_CODE_8:
		return GDMA_INLINE_OOB_SMALL;
	case GDMA_WQE_OOB_CODE_24:
		return GDMA_INLINE_OOB_LARGE;
	case GDMA_WQE_OOB_CODE_32:
		return GDMA_INLINE_OOB_MAX;
	}
	return 0;
}

/*
 * Copies the next posted WQE out of @wq and checks it. The header is read once and
 * decides the size; the OOB and SGL come from one copy of the whole entry. A WQE
 * that cannot be parsed breaks the queue: its size is unknowable, so nothing after
 * it can be found. Returns 0, -ENOENT when nothing is posted, -EIO if broken,
 * -EBADMSG for a bad entry, -EFAULT if queue memory is unreachable (also breaks).
 */
int gdma__wqe_next(struct gdma_model *m, struct gdma_wq *wq, bool is_send,
		   struct gdma_wqe_copy *ret_wqe)
{
	uint32_t avail = wq->tail - wq->head;
	uint32_t max = is_send ? GDMA_MAX_SQE_SIZE : GDMA_MAX_RQE_SIZE;
	uint8_t raw[GDMA_MODEL_MAX_WQE];
	struct gdma_wqe_hdr hdr;
	uint32_t sgl_off, size, num_sge, oob;

	if (wq->broken)
		return -EIO;
	if (avail == 0)
		return -ENOENT;
	if (gdma__mem_read(m, &wq->mem, wq->head, &hdr, sizeof(hdr)) != 0)
		goto err_fault;
	num_sge = GDMA_WQE_NUM_SGE(hdr.params);
	oob = oob_size_of(GDMA_WQE_OOB_SIZE_CODE(hdr.params));
	if (num_sge == 0 || oob == 0)
		goto err_bad;
	sgl_off = (uint32_t)(sizeof(hdr) + oob + 15u) & ~15u;
	size = (sgl_off + num_sge * (uint32_t)sizeof(struct gdma_sge) + GDMA_WQE_BU_SIZE - 1) &
	       ~(GDMA_WQE_BU_SIZE - 1);
	if (size > max || size > avail)
		goto err_bad;
	if (gdma__mem_read(m, &wq->mem, wq->head, raw, size) != 0)
		goto err_fault;

	ret_wqe->offset = wq->head & (wq->mem.size - 1);
	ret_wqe->size = size;
	ret_wqe->params = hdr.params;
	ret_wqe->oob_size = oob;
	ret_wqe->num_sge = num_sge;
	memcpy(ret_wqe->oob, raw + sizeof(hdr), oob);
	memcpy(ret_wqe->sgl, raw + sgl_off, num_sge * sizeof(struct gdma_sge));
	wq->head += size;
	return 0;

err_bad:
	m->stats.bad_wqes++;
	wq->broken = true;
	return -EBADMSG;
err_fault:
	wq->broken = true;
	return -EFAULT;
}

/*
 * CQ/EQ doorbell. @tail is the driver's consumer index modulo (entries << 3); the
 * distance to ours says how many entries it has not consumed yet.
 */
static bool cqeq_doorbell(struct gdma_model *m, struct gdma_cqeq *q, uint32_t tail, bool arm)
{
	uint32_t pending = (q->tail - tail) & ((q->entries << GDMA_OWNER_BITS) - 1);

	if (!arm) {
		q->armed = false;
		return false;
	}
	if (pending == 0) {
		q->armed = true;
		return false;
	}
	if (pending <= q->entries) {
		q->armed = false;
		return true;
	}
	/* The driver claims to have consumed entries we never wrote. */
	m->stats.bad_doorbells++;
	return false;
}

/* WQ doorbell: @tail is the running byte offset just past the last posted entry. */
static bool wq_doorbell(struct gdma_model *m, struct gdma_wq *wq, uint32_t tail)
{
	uint32_t old_len = wq->tail - wq->head;
	uint32_t new_len = tail - wq->head;

	if ((tail & (GDMA_WQE_BU_SIZE - 1)) != 0 || new_len > wq->mem.size || new_len < old_len) {
		m->stats.bad_doorbells++;
		return false;
	}
	wq->tail = tail;
	return new_len != old_len;
}

void gdma__doorbell(struct gdma_model *m, uint32_t off, uint64_t val)
{
	uint32_t id = GDMA_DB_ID(val);
	struct gdma_cqeq *q;
	struct gdma_wq *wq;

	switch (off) {
	case GDMA_DB_OFF_SQ:
		wq = gdma__sq(m, id);
		if (!wq)
			break;
		if (wq_doorbell(m, wq, GDMA_DB_WQ_TAIL(val))) {
			if (id == 0)
				gdma__hwc_sq_run(m);
			else
				gdma__mana_sq_run(m, id);
		}
		return;
	case GDMA_DB_OFF_RQ:
		wq = gdma__rq(m, id);
		if (!wq)
			break;
		(void)wq_doorbell(m, wq, GDMA_DB_WQ_TAIL(val));
		return;
	case GDMA_DB_OFF_CQ:
		q = gdma__cq(m, id);
		if (!q)
			break;
		if (cqeq_doorbell(m, q, GDMA_DB_CQ_TAIL(val), GDMA_DB_IS_ARMED(val)))
			cq_notify(m, id, q);
		return;
	case GDMA_DB_OFF_EQ:
		q = gdma__eq(m, val & GDMA_DB_EQ_ID_MASK);
		if (!q)
			break;
		if (cqeq_doorbell(m, q, GDMA_DB_CQ_TAIL(val), GDMA_DB_IS_ARMED(val)))
			eq_notify(m, q);
		return;
	}
	m->stats.bad_doorbells++;
}

void gdma__queues_reset(struct gdma_model *m)
{
	for (size_t i = 0; i < GDMA_MODEL_MAX_REGIONS; i++)
		gdma__region_free(&m->regions[i]);
	for (size_t i = 0; i < GDMA_MODEL_MAX_EQS; i++)
		gdma__cqeq_free(&m->eqs[i]);
	for (size_t i = 0; i < GDMA_MODEL_MAX_CQS; i++)
		gdma__cqeq_free(&m->cqs[i]);
	for (size_t i = 0; i < GDMA_MODEL_MAX_WQS; i++) {
		gdma__wq_free(&m->sqs[i]);
		gdma__wq_free(&m->rqs[i]);
	}
}
