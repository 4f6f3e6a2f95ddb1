/* SPDX-License-Identifier: MIT */
/*
 * GDMA rings: consuming EQ/CQ entries by their owner bits, posting WQEs, doorbells.
 *
 * Owner bits (REFERENCES.md section 6): the device writes entry i of pass p with owner
 * (p + 1) & 7, the owner byte last with release order. The consumer index starts at
 * `entries`, so (head >> shift) & 7 is the owner a new entry carries and one less the
 * owner of the previous pass (an entry not written yet). Anything else means the device
 * overran the ring or is lying; the entry is not consumed.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devaccess.h"
#include "mana_internal.h"

void mana__cq_init(struct mana_cq *q, uint8_t *va, uint32_t bytes, bool is_eq)
{
	q->va = va;
	q->is_eq = is_eq;
	q->entry_size = is_eq ? GDMA_EQE_SIZE : GDMA_CQE_SIZE;
	q->entries = bytes / q->entry_size;
	q->shift = (uint32_t)__builtin_ctz(q->entries);
	q->head = q->entries;
}

int mana__owner_check(uint32_t info, uint32_t head, uint32_t shift)
{
	uint32_t owner = (info >> GDMA_CQE_OWNER_SHIFT) & GDMA_OWNER_MASK;
	uint32_t cur = (head >> shift) & GDMA_OWNER_MASK;

	if (owner == cur)
		return 1;
	if (owner == ((cur - 1) & GDMA_OWNER_MASK))
		return 0;
	return -EPROTO;
}

int mana__cq_next(struct mana_cq *q, void *ret_entry)
{
	uint8_t *e = q->va + (size_t)(q->head & (q->entries - 1)) * q->entry_size;
	uint32_t info;
	int r;

	/* Pairs with the device's release store of the owner byte: the rest of the entry is
	 * read after the owner bits, and only once, into the caller's copy. */
	info = (uint32_t)__atomic_load_n(&e[q->entry_size - 1], __ATOMIC_ACQUIRE) << 24;
	r = mana__owner_check(info, q->head, q->shift);
	if (r <= 0)
		return r;
	memcpy(ret_entry, e, q->entry_size);
	/* The copy's owner bits are the ones checked, whatever the device wrote since. */
	((uint8_t *)ret_entry)[q->entry_size - 1] = (uint8_t)(info >> 24);
	q->head++;
	return 1;
}

unsigned mana__cq_pending(const struct mana_cq *q)
{
	unsigned n = 0;

	for (uint32_t head = q->head; n < q->entries; head++, n++) {
		const uint8_t *e = q->va + (size_t)(head & (q->entries - 1)) * q->entry_size;
		uint32_t info = (uint32_t)__atomic_load_n(&e[q->entry_size - 1], __ATOMIC_ACQUIRE)
				<< 24;

		if (mana__owner_check(info, head, q->shift) != 1)
			break;
	}
	return n;
}

void mana__doorbell(struct mana_dev *d, uint32_t page, uint32_t off, uint64_t val)
{
	struct devaccess *da = d->da;
	uint64_t at = d->db_base + (uint64_t)page * d->db_page_size + off;

	/* Doorbells are single 64-bit writes (devaccess_write64 splits them). */
	if (da->bars[0].map && at + 8 <= da->bars[0].size) {
		__atomic_thread_fence(__ATOMIC_RELEASE);
		*(volatile uint64_t *)(da->bars[0].map + at) = val;
		return;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	(void)da->ops->bar_write(da, 0, at, &val, sizeof(val));
}

void mana__cq_doorbell(struct mana_dev *d, const struct mana_cq *q, bool arm)
{
	uint32_t tail = q->head & ((q->entries << GDMA_OWNER_BITS) - 1);

	if (q->is_eq)
		mana__doorbell(d, q->db_page, GDMA_DB_OFF_EQ, GDMA_DB_EQ(q->id, tail, arm));
	else
		mana__doorbell(d, q->db_page, GDMA_DB_OFF_CQ, GDMA_DB_CQ(q->id, tail, arm));
}

void mana__wq_doorbell(struct mana_dev *d, const struct mana_wq *q)
{
	mana__doorbell(d, q->db_page, q->is_sq ? GDMA_DB_OFF_SQ : GDMA_DB_OFF_RQ,
		       GDMA_DB_WQ(q->id, q->tail));
}

/* Copies len bytes into the ring at running offset off, wrapping at its end. */
static void wq_write(struct mana_wq *q, uint32_t off, const void *src, uint32_t len)
{
	uint32_t at = off & (q->size - 1);
	uint32_t first = len < q->size - at ? len : q->size - at;

	memcpy(q->va + at, src, first);
	memcpy(q->va, (const uint8_t *)src + first, len - first);
}

/* The SGL starts on a 16-byte boundary after the header and the inline OOB. */
static uint32_t sgl_offset(uint32_t oob_len)
{
	return (uint32_t)(sizeof(struct gdma_wqe_hdr) + oob_len + 15u) & ~15u;
}

uint32_t mana__wqe_size(uint32_t oob_len)
{
	return (sgl_offset(oob_len) + (uint32_t)sizeof(struct gdma_sge) + GDMA_WQE_BU_SIZE - 1) &
	       ~(GDMA_WQE_BU_SIZE - 1);
}

int mana__wq_post(struct mana_wq *q, const void *oob, uint32_t oob_len, const struct gdma_sge *sge)
{
	uint8_t wqe[MANA_TX_WQE_MAX] = {0};
	struct gdma_wqe_hdr hdr = {0};
	uint32_t sgl_off = sgl_offset(oob_len);
	uint32_t size = mana__wqe_size(oob_len);

	if (size > q->size - (q->tail - q->head))
		return -EAGAIN;
	hdr.params = GDMA_WQE_PARAMS(1, oob_len == GDMA_INLINE_OOB_LARGE ? GDMA_WQE_OOB_CODE_24
									 : GDMA_WQE_OOB_CODE_8);
	memcpy(wqe, &hdr, sizeof(hdr));
	memcpy(wqe + sizeof(hdr), oob, oob_len);
	memcpy(wqe + sgl_off, sge, sizeof(*sge));
	wq_write(q, q->tail, wqe, size);
	q->tail += size;
	return (int)size;
}

uint64_t mana__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t mana__deadline(const struct mana_dev *d)
{
	return mana__now_ms() + d->timeout_ms;
}

int mana__wait_irq(struct mana_dev *d, int efd, uint64_t deadline_ms)
{
	struct pollfd p = {.fd = efd, .events = POLLIN};
	uint64_t now = mana__now_ms(), count;
	int r;

	(void)d;
	if (now >= deadline_ms)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)(deadline_ms - now));
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return -ETIMEDOUT;
	(void)!read(efd, &count, sizeof(count));
	return 0;
}
