/* SPDX-License-Identifier: MIT */
/*
 * The hardware channel (REFERENCES.md section 6): four one-page queues handed to the
 * device through the shared-memory channel (SMC ESTABLISH_HWC), the INIT EQEs that name
 * them, then one request at a time: the request goes out as an SQ entry with an HWC TX
 * OOB and one SGE, the answer lands in the one posted RQ buffer and is completed on the
 * HWC CQ with an HWC RX OOB (its offset and length).
 *
 * The HWC is synchronous: a request waits (bounded) for its answer. An answer to an
 * earlier request that timed out carries an older hwc_msg_id and is skipped.
 *
 * Only bring-up talks to the HWC. An adopted function has none in this process (its
 * state is not kept across instances): mana__hwc_call gives -ENOTCONN there.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "devaccess.h"
#include "mana_internal.h"

#define SMC_POLL_NS 100000L
#define HWC_INIT_MAX_EQES 64u
#define HWC_RQ_BUF_ALIGN 16u

static uint64_t smc_pfn(uint64_t iova)
{
	return iova >> GDMA_PAGE_SHIFT;
}

static void smc_put_pfn(uint8_t dst[6], uint16_t *high4, unsigned idx, uint64_t pfn)
{
	for (unsigned i = 0; i < 6; i++)
		dst[i] = (uint8_t)(pfn >> (8 * i));
	*high4 |= (uint16_t)(((pfn >> GDMA_SMC_PFN_H4_SHIFT) & 0xfu) << (4 * idx));
}

/* Runs one SMC message: eight dwords, the header last, then polls for the answer. */
static int smc_run(struct mana_dev *d, const struct gdma_smc_establish_hwc *msg)
{
	uint32_t dw[GDMA_SMC_SIZE / 4], hdr;
	uint64_t deadline = mana__deadline(d);
	struct timespec ts = {.tv_nsec = SMC_POLL_NS};

	hdr = devaccess_read32(d->da, 0, d->shm_off + GDMA_SMC_HDR_OFFSET);
	if (hdr == GDMA_SMC_RESET_STATE)
		return -ENODEV;
	memcpy(dw, msg, sizeof(dw));
	for (unsigned i = 0; i < GDMA_SMC_SIZE / 4; i++)
		devaccess_write32(d->da, 0, d->shm_off + 4u * i, dw[i]);
	for (;;) {
		hdr = devaccess_read32(d->da, 0, d->shm_off + GDMA_SMC_HDR_OFFSET);
		if (hdr == GDMA_SMC_RESET_STATE)
			return -ENODEV;
		if ((hdr & GDMA_SMC_HDR_RESPONSE) && !(hdr & GDMA_SMC_HDR_OWNER_IS_PF))
			break;
		if (mana__now_ms() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
	if (GDMA_SMC_HDR_TYPE(hdr) != GDMA_SMC_HDR_TYPE(msg->hdr))
		return -EPROTO;
	return GDMA_SMC_HDR_STATUS(hdr) == 0 ? 0 : -EIO;
}

struct hwc_init {
	bool have_eq;
	uint32_t db_page;
	uint32_t cq_id, rq_id, sq_id;
	uint32_t depth, max_req, max_resp;
	uint32_t seen; /* bit per INIT_DATA type */
};

/* One INIT EQE; 1 when INIT_DONE came, 0 to go on, -EPROTO for an EQE out of place. */
static int hwc_init_eqe(struct mana_dev *d, const struct gdma_eqe *e, struct hwc_init *in)
{
	uint32_t v = e->details[0], type = GDMA_HWC_INIT_DATA_TYPE(v);

	switch (GDMA_EQE_TYPE(e->info)) {
	case GDMA_EQE_HWC_INIT_EQ_ID_DB:
		d->hwc_eq.id = v & 0xffffu;
		in->db_page = v >> 16;
		in->have_eq = true;
		d->hwc_eq.db_page = in->db_page;
		return 0;
	case GDMA_EQE_HWC_INIT_DATA:
		v = GDMA_HWC_INIT_DATA_VALUE(v);
		if (type < 32)
			in->seen |= 1u << type;
		switch (type) {
		case GDMA_HWC_INIT_DATA_CQID:
			in->cq_id = v;
			break;
		case GDMA_HWC_INIT_DATA_RQID:
			in->rq_id = v;
			break;
		case GDMA_HWC_INIT_DATA_SQID:
			in->sq_id = v;
			break;
		case GDMA_HWC_INIT_DATA_QUEUE_DEPTH:
			in->depth = v;
			break;
		case GDMA_HWC_INIT_DATA_MAX_REQUEST:
			in->max_req = v;
			break;
		case GDMA_HWC_INIT_DATA_MAX_RESPONSE:
			in->max_resp = v;
			break;
		case GDMA_HWC_INIT_DATA_GPA_MKEY:
			d->hwc_mkey = v;
			break;
		}
		return 0;
	case GDMA_EQE_HWC_INIT_DONE:
		return 1;
	}
	d->stats.bad_eqes++;
	return 0;
}

static int hwc_wait_init(struct mana_dev *d, struct hwc_init *in)
{
	const uint32_t need = 1u << GDMA_HWC_INIT_DATA_CQID | 1u << GDMA_HWC_INIT_DATA_RQID |
			      1u << GDMA_HWC_INIT_DATA_SQID | 1u << GDMA_HWC_INIT_DATA_MAX_REQUEST |
			      1u << GDMA_HWC_INIT_DATA_MAX_RESPONSE;
	uint64_t deadline = mana__deadline(d);
	unsigned n = 0;
	struct gdma_eqe e;
	int r;

	for (;;) {
		r = mana__cq_next(&d->hwc_eq, &e);
		if (r < 0) {
			d->stats.bad_owner++;
			return -EPROTO;
		}
		if (r == 1) {
			if (++n > HWC_INIT_MAX_EQES)
				return -EPROTO;
			r = hwc_init_eqe(d, &e, in);
			if (r == 1)
				break;
			continue;
		}
		/* The EQ starts armed; once its id is known, re-arm it before sleeping. */
		if (in->have_eq)
			mana__cq_doorbell(d, &d->hwc_eq, true);
		r = mana__wait_irq(d, d->efds[0], deadline);
		if (r < 0)
			return r;
	}
	if (!in->have_eq || (in->seen & need) != need || in->db_page >= d->db_pages)
		return -EPROTO;
	if (in->max_req < sizeof(struct gdma_req_hdr) ||
	    in->max_resp < sizeof(struct gdma_resp_hdr))
		return -EPROTO;
	return 0;
}

/* Posts the response buffer as one RQ entry and remembers its offset. */
static int hwc_post_rq(struct mana_dev *d)
{
	uint8_t oob[GDMA_INLINE_OOB_SMALL] = {0};
	struct gdma_sge sge = {
	    .address = d->hwc_resp_iova, .mem_key = d->hwc_mkey, .size = d->hwc_max_resp};
	uint32_t at = d->hwc_rq.tail;
	int r = mana__wq_post(&d->hwc_rq, oob, sizeof(oob), &sge);

	if (r < 0)
		return r;
	d->hwc_rq_off = at & (d->hwc_rq.size - 1);
	mana__wq_doorbell(d, &d->hwc_rq);
	return 0;
}

int mana__hwc_create(struct mana_dev *d)
{
	struct gdma_smc_establish_hwc msg = {0};
	struct hwc_init in = {0};
	uint8_t *va[6];
	uint64_t iova[6];
	int r;

	static_assert(MANA_HWC_PAGES == 6, "HWC pages: EQ, CQ, RQ, SQ, request, response");
	for (unsigned i = 0; i < MANA_HWC_PAGES; i++) {
		va[i] = mana__mem_va(d, (uint64_t)i * GDMA_PAGE_SIZE);
		iova[i] = mana__mem_iova(d, (uint64_t)i * GDMA_PAGE_SIZE);
	}
	mana__cq_init(&d->hwc_eq, va[0], GDMA_PAGE_SIZE, true);
	mana__cq_init(&d->hwc_cq, va[1], GDMA_PAGE_SIZE, false);
	d->hwc_rq = (struct mana_wq){.va = va[2], .size = GDMA_PAGE_SIZE};
	d->hwc_sq = (struct mana_wq){.va = va[3], .size = GDMA_PAGE_SIZE, .is_sq = true};
	d->hwc_req = va[4];
	d->hwc_req_iova = iova[4];
	d->hwc_resp = va[5];
	d->hwc_resp_iova = iova[5];

	smc_put_pfn(msg.eq_pfn, &msg.pfn_high4, 0, smc_pfn(iova[0]));
	smc_put_pfn(msg.cq_pfn, &msg.pfn_high4, 1, smc_pfn(iova[1]));
	smc_put_pfn(msg.rq_pfn, &msg.pfn_high4, 2, smc_pfn(iova[2]));
	smc_put_pfn(msg.sq_pfn, &msg.pfn_high4, 3, smc_pfn(iova[3]));
	msg.msix_index = 0;
	msg.hdr = GDMA_SMC_HDR(GDMA_SMC_MSG_ESTABLISH_HWC, GDMA_SMC_ESTABLISH_HWC_VERSION);
	r = smc_run(d, &msg);
	if (r < 0)
		return r;
	r = hwc_wait_init(d, &in);
	if (r < 0)
		return r;
	d->hwc_cq.id = in.cq_id;
	d->hwc_cq.db_page = in.db_page;
	d->hwc_rq.id = in.rq_id;
	d->hwc_rq.db_page = in.db_page;
	d->hwc_sq.id = in.sq_id;
	d->hwc_sq.db_page = in.db_page;
	/* One request at a time whatever depth the device offers; our buffers are a page. */
	d->hwc_max_req = in.max_req < MANA_HWC_MSG_SIZE ? in.max_req : MANA_HWC_MSG_SIZE;
	d->hwc_max_resp = in.max_resp < MANA_HWC_MSG_SIZE ? in.max_resp : MANA_HWC_MSG_SIZE;
	r = hwc_post_rq(d);
	if (r < 0)
		return r;
	mana__cq_doorbell(d, &d->hwc_cq, true);
	mana__cq_doorbell(d, &d->hwc_eq, true);
	d->hwc_up = true;
	return 0;
}

void mana__req_init(struct mana_dev *d, struct gdma_req_hdr *h, uint32_t code, uint32_t req_len,
		    uint32_t resp_len)
{
	memset(h, 0, sizeof(*h));
	h->req = (struct gdma_msg_hdr){.hdr_type = GDMA_STANDARD_HEADER_TYPE,
				       .msg_type = code,
				       .msg_version = GDMA_MESSAGE_V1,
				       .msg_size = req_len};
	h->resp = (struct gdma_msg_hdr){.hdr_type = GDMA_STANDARD_HEADER_TYPE,
					.msg_type = code,
					.msg_version = GDMA_MESSAGE_V1,
					.msg_size = resp_len};
	h->dev_id = d->mana_id;
}

/* Consumes the HWC EQ's entries and arms the CQ and EQ, so the next completion wakes us. */
static void hwc_rearm(struct mana_dev *d)
{
	struct gdma_eqe e;
	int r;

	while ((r = mana__cq_next(&d->hwc_eq, &e)) == 1)
		if (mana__eqe_check(&e, &d->hwc_cq.id, 1) < 0)
			d->stats.bad_eqes++;
	if (r < 0)
		d->stats.bad_owner++;
	mana__cq_doorbell(d, &d->hwc_cq, true);
	mana__cq_doorbell(d, &d->hwc_eq, true);
}

/* Takes one HWC completion: 1 when it was the answer (in resp_copy, resp_len set). */
static int hwc_take(struct mana_dev *d, const struct gdma_cqe *cqe, uint32_t *ret_len)
{
	struct mana_hwc_done done;
	int r;

	if (mana__hwc_cqe_check(cqe, d->hwc_sq.id, d->hwc_rq.id, d->hwc_rq_off, d->hwc_max_resp,
				&done) < 0) {
		d->stats.bad_hwc_responses++;
		return 0;
	}
	/* One request at a time: any completion means the device read what was posted. */
	d->hwc_sq.head = d->hwc_sq.tail;
	if (done.is_sq)
		return 0;
	memcpy(d->resp_copy, d->hwc_resp, done.resp_len);
	d->hwc_rq.head = d->hwc_rq.tail;
	r = hwc_post_rq(d);
	if (r < 0)
		return r;
	*ret_len = done.resp_len;
	return 1;
}

int mana__hwc_call(struct mana_dev *d, void *req, uint32_t req_len, void *resp, uint32_t resp_len,
		   uint32_t min_len)
{
	struct gdma_req_hdr *h = req;
	struct gdma_hwc_tx_oob oob = {
	    .vrq = d->hwc_rq.id, .vrcq = d->hwc_cq.id, .vscq = d->hwc_cq.id, .vsq = d->hwc_sq.id};
	struct gdma_sge sge = {.address = d->hwc_req_iova, .mem_key = d->hwc_mkey, .size = req_len};
	uint64_t deadline;
	uint32_t len = 0;
	struct gdma_cqe cqe;
	int r;

	if (d->failed)
		return -EIO;
	if (!d->hwc_up)
		return -ENOTCONN;
	if (req_len < sizeof(*h) || req_len > d->hwc_max_req || resp_len > sizeof(d->resp_copy))
		return -EINVAL;
	h->req.hwc_msg_id = ++d->hwc_msg_id;
	memcpy(d->hwc_req, req, req_len);
	r = mana__wq_post(&d->hwc_sq, &oob, sizeof(oob), &sge);
	if (r < 0)
		return -EBUSY;
	mana__wq_doorbell(d, &d->hwc_sq);
	deadline = mana__deadline(d);
	for (;;) {
		r = mana__cq_next(&d->hwc_cq, &cqe);
		if (r < 0)
			d->stats.bad_owner++;
		if (r == 1) {
			r = hwc_take(d, &cqe, &len);
			if (r < 0)
				return r;
			if (r == 0)
				continue;
			r = mana__hwc_resp_check(d->resp_copy, len, h->req.msg_type,
						 h->req.hwc_msg_id, min_len);
			if (r == -ESTALE || r == -EPROTO)
				d->stats.bad_hwc_responses++;
			if (r == -ESTALE)
				continue;
			if (r == -EIO || r == -EOPNOTSUPP)
				d->stats.hwc_errors++;
			if (r < 0)
				return r;
			/* Only what the header claims (checked against what arrived). */
			memcpy(&len, d->resp_copy + offsetof(struct gdma_msg_hdr, msg_size),
			       sizeof(len));
			memset(resp, 0, resp_len);
			memcpy(resp, d->resp_copy, len < resp_len ? len : resp_len);
			return 0;
		}
		hwc_rearm(d);
		r = mana__wait_irq(d, d->efds[0], deadline);
		if (r < 0)
			return r;
	}
}
