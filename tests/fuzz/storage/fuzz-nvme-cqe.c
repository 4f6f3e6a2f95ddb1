/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'nvme-cqe': a hostile controller's completion entries fed to lib/nvme's
 * completion parser over queue memory of the exact size (heap blocks, so ASan sees any
 * access outside them), interleaved with submissions, timeouts and adoptions.
 * Invariants: a callback only ever runs for a command in flight and at most once; a
 * stale command is reported at most once; the free CIDs are distinct and free.
 *
 * Input: byte 0 = queue depth - 2 (mod 31), then operations:
 *   0 + 16 bytes   a raw CQE at the device's next slot; its phase bit taken as given
 *   1 + 16 bytes   the same with the phase bit the driver expects
 *   2              reap            3   submit one command
 *   4 + 1 byte     check timeouts at that many timeout units
 *   5              adopt (a restart: callbacks of commands in flight are lost)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nvme_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECS 512u

enum rec_state { REC_INFLIGHT = 1, REC_DONE, REC_LOST };

struct rec {
	enum rec_state state;
	uint16_t cid;
};

struct harness {
	struct nvme_qpair qp;
	struct nvme_qstate st;
	struct nvme_ctrl ctrl;
	struct rec recs[MAX_RECS];
	unsigned nrecs;
	uint32_t tail, phase;
	uint8_t stale_seen[NVME_MAX_QUEUE_DEPTH]; /* per CID, since the last adoption */
	uint8_t stale_at[NVME_MAX_QUEUE_DEPTH];
};

static void done_cb(void *opaque, int err, uint16_t status)
{
	struct rec *r = opaque;

	if (r->state != REC_INFLIGHT)
		abort(); /* completed twice, or after it was lost */
	r->state = REC_DONE;
}

static void stale_cb(void *opaque, uint16_t qid, const struct nvme_sqe *sqe, int err)
{
	struct harness *h = opaque;
	uint16_t cid = NVME_SQE_CID(sqe->cdw0);

	if (cid >= h->qp.depth || !h->stale_at[cid] || h->stale_seen[cid])
		abort();
	h->stale_seen[cid] = 1;
}

static void reap(struct harness *h)
{
	struct nvme_done d[8];
	unsigned taken, n;

	do {
		n = nvme_qpair__reap(&h->qp, d, 8, &taken);
		nvme_qpair__report(&h->qp, d, n);
	} while (taken);
}

static void submit(struct harness *h)
{
	struct nvme_sqe sqe = {.cdw0 = NVME_CMD_WRITE, .nsid = 1};
	struct rec *r;
	struct nvme_cmd_ctx ctx;
	uint32_t tail;
	int cid;

	if (h->nrecs == MAX_RECS)
		return;
	r = &h->recs[h->nrecs];
	ctx = (struct nvme_cmd_ctx){done_cb, r, NULL};
	cid = nvme_qpair__push(&h->qp, &sqe, 0, (uint64_t)h->nrecs * 1000000u, &ctx, &tail);
	if (cid < 0)
		return;
	/* No record still in flight may hold the same CID. */
	for (unsigned i = 0; i < h->nrecs; i++)
		if (h->recs[i].state == REC_INFLIGHT && h->recs[i].cid == cid)
			abort();
	r->state = REC_INFLIGHT;
	r->cid = (uint16_t)cid;
	h->nrecs++;
}

static void adopt(struct harness *h)
{
	struct nvme_done d[NVME_MAX_QUEUE_DEPTH];
	unsigned n;

	memset(h->stale_seen, 0, sizeof(h->stale_seen));
	memset(h->stale_at, 0, sizeof(h->stale_at));
	for (uint32_t cid = 0; cid < h->qp.depth; cid++)
		if (h->qp.slots[cid].state != NVME_SLOT_FREE)
			h->stale_at[cid] = 1;
	for (unsigned i = 0; i < h->nrecs; i++)
		if (h->recs[i].state == REC_INFLIGHT)
			h->recs[i].state = REC_LOST;
	nvme_qpair__fini(&h->qp);
	if (nvme_qpair__init(&h->qp, false) < 0)
		abort();
	n = nvme_qpair__adopt(&h->qp, d, h->qp.depth);
	nvme_qpair__report(&h->qp, d, n);
}

static void check_free_list(struct harness *h)
{
	uint8_t seen[NVME_MAX_QUEUE_DEPTH] = {0};

	if (h->qp.nfree > h->qp.depth - 1)
		abort();
	for (uint32_t i = 0; i < h->qp.nfree; i++) {
		uint16_t cid = h->qp.free_cids[i];
		if (cid >= h->qp.depth - 1 || seen[cid] || h->qp.slots[cid].state != NVME_SLOT_FREE)
			abort();
		seen[cid] = 1;
	}
}

static void post(struct harness *h, const uint8_t *raw, bool fix_phase)
{
	struct nvme_cqe *e = (struct nvme_cqe *)h->qp.cq + h->tail;

	memcpy(e, raw, sizeof(*e));
	if (fix_phase)
		e->status = (uint16_t)((e->status & ~1u) | h->phase);
	if (++h->tail == h->qp.depth) {
		h->tail = 0;
		h->phase ^= 1u;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct harness *h;
	size_t i = 1;

	if (size < 1)
		return 0;
	h = calloc(1, sizeof(*h));
	h->qp.depth = 2u + data[0] % 31u;
	h->qp.st = &h->st;
	h->qp.slots = calloc(h->qp.depth, sizeof(struct nvme_cid_slot));
	h->qp.sq = malloc((size_t)h->qp.depth * sizeof(struct nvme_sqe));
	h->qp.cq = malloc((size_t)h->qp.depth * sizeof(struct nvme_cqe));
	h->qp.qid = 1;
	h->qp.efd = -1;
	h->qp.timeout_ms = 1;
	h->qp.ctrl = &h->ctrl;
	h->ctrl.stale_fn = stale_cb;
	h->ctrl.stale_opaque = h;
	h->phase = 1;
	if (nvme_qpair__init(&h->qp, true) < 0)
		abort();

	while (i < size) {
		uint8_t op = data[i++] % 6u;

		switch (op) {
		case 0:
		case 1:
			if (size - i < sizeof(struct nvme_cqe)) {
				i = size;
				break;
			}
			post(h, data + i, op == 1);
			i += sizeof(struct nvme_cqe);
			break;
		case 2:
			reap(h);
			break;
		case 3:
			submit(h);
			break;
		case 4: {
			struct nvme_timeout t[8];
			uint64_t now = i < size ? (uint64_t)data[i++] * 1000000u : UINT64_MAX;
			unsigned n = nvme_qpair__check_timeouts(&h->qp, now, t, 8);
			for (unsigned k = 0; k < n; k++)
				if (!t[k].send_abort)
					nvme_qpair__report(&h->qp, &t[k].done, 1);
			break;
		}
		default:
			adopt(h);
			break;
		}
		check_free_list(h);
	}
	reap(h);
	check_free_list(h);

	nvme_qpair__fini(&h->qp);
	free(h->qp.slots);
	free(h->qp.sq);
	free(h->qp.cq);
	free(h);
	return 0;
}
