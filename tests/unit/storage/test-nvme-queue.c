/* SPDX-License-Identifier: MIT */
/*
 * lib/nvme/queue.c over plain memory (the test plays the device by writing CQEs): CIDs,
 * out-of-order completions, phase wrap, hostile entries (unknown CID, wrong SQ, twice
 * the same CID, a head outside the ring), queue full, the crash windows adoption must
 * close, timeouts and failing everything.
 */
#include <errno.h>
#include <stdlib.h>

#include "macros.h"
#include "nvme_internal.h"
#include "test.h"

struct rec {
	int calls;
	int err;
	uint16_t status;
};

struct tq {
	struct nvme_qpair qp;
	struct nvme_qstate st;
	struct nvme_ctrl ctrl;
	uint32_t tail, phase; /* the device's CQ position */
	unsigned stale_calls;
	int stale_err;
};

static void done_cb(void *opaque, int err, uint16_t status)
{
	struct rec *r = opaque;

	r->calls++;
	r->err = err;
	r->status = status;
}

static void stale_cb(void *opaque, uint16_t qid, const struct nvme_sqe *sqe, int err)
{
	struct tq *t = opaque;

	t->stale_calls++;
	t->stale_err = err;
}

static void tq_init(struct tq *t, uint32_t depth, uint16_t qid)
{
	memset(t, 0, sizeof(*t));
	t->qp.st = &t->st;
	t->qp.slots = calloc(depth, sizeof(struct nvme_cid_slot));
	t->qp.sq = calloc(depth, sizeof(struct nvme_sqe));
	t->qp.cq = calloc(depth, sizeof(struct nvme_cqe));
	t->qp.depth = depth;
	t->qp.qid = qid;
	t->qp.efd = -1;
	t->qp.timeout_ms = 1000;
	t->qp.ctrl = &t->ctrl;
	t->ctrl.stale_fn = stale_cb;
	t->ctrl.stale_opaque = t;
	t->phase = 1;
	ASSERT_OK(nvme_qpair__init(&t->qp, true));
}

static void tq_fini(struct tq *t)
{
	nvme_qpair__fini(&t->qp);
	free(t->qp.slots);
	free(t->qp.sq);
	free(t->qp.cq);
}

static int push(struct tq *t, struct rec *r, uint64_t deadline)
{
	struct nvme_sqe sqe = {.cdw0 = NVME_CMD_READ, .nsid = 1};
	struct nvme_cmd_ctx ctx = {done_cb, r, NULL};
	uint32_t tail = UINT32_MAX;
	int cid = nvme_qpair__push(&t->qp, &sqe, 0, deadline, &ctx, &tail);

	if (cid >= 0) {
		ASSERT_EQ(tail, nvme_qpair__sq_tail(&t->qp));
		ASSERT_EQ(
		    NVME_SQE_CID(
			((struct nvme_sqe *)t->qp.sq)[(tail + t->qp.depth - 1) % t->qp.depth].cdw0),
		    cid);
	}
	return cid;
}

/* The device writes one entry. */
static void post(struct tq *t, uint16_t cid, uint16_t sqid, uint16_t sqhd, uint16_t sc)
{
	struct nvme_cqe *e = (struct nvme_cqe *)t->qp.cq + t->tail;

	*e = (struct nvme_cqe){
	    .sqhd = sqhd, .sqid = sqid, .cid = cid, .status = (uint16_t)(sc << 1 | t->phase)};
	if (++t->tail == t->qp.depth) {
		t->tail = 0;
		t->phase ^= 1;
	}
}

static unsigned reap(struct tq *t, unsigned *ret_taken)
{
	struct nvme_done d[64];
	unsigned taken, n = nvme_qpair__reap(&t->qp, d, ARRAY_SIZE(d), &taken);

	nvme_qpair__report(&t->qp, d, n);
	if (ret_taken)
		*ret_taken = taken;
	return n;
}

static void test_out_of_order(void)
{
	struct tq t;
	struct rec r[3] = {0};
	int cid[3];

	tq_init(&t, 8, 1);
	for (int i = 0; i < 3; i++)
		cid[i] = push(&t, &r[i], UINT64_MAX);
	ASSERT_EQ(cid[0], 0);
	ASSERT_EQ(cid[1], 1);
	ASSERT_EQ(cid[2], 2);
	post(&t, 1, 1, 2, 0);
	post(&t, 0, 1, 1, 0);
	post(&t, 2, 1, 3, NVME_SC_LBA_RANGE);
	ASSERT_EQ(reap(&t, NULL), 3);
	ASSERT_EQ(r[0].calls, 1);
	ASSERT_EQ(r[1].calls, 1);
	ASSERT_EQ(r[2].calls, 1);
	ASSERT_EQ(r[0].err, 0);
	ASSERT_EQ(r[2].err, -EINVAL);
	ASSERT_EQ(r[2].status, NVME_SC_LBA_RANGE);
	ASSERT_EQ(NVME_CQ_HEAD(t.st.cq_pos), 3);
	/* The SQ head never goes backwards: 1 after 2 was ignored. */
	ASSERT_EQ(t.st.sq_head, 3);
	ASSERT_EQ(reap(&t, NULL), 0);
	tq_fini(&t);
}

static void test_phase_wrap(void)
{
	struct tq t;
	struct rec r[3];

	tq_init(&t, 4, 2);
	for (int round = 0; round < 10; round++) {
		int cid[3];

		memset(r, 0, sizeof(r));
		for (int i = 0; i < 3; i++) {
			cid[i] = push(&t, &r[i], UINT64_MAX);
			ASSERT_GE(cid[i], 0);
		}
		/* 3 CIDs for a ring of 4: the fourth is refused. */
		ASSERT_EQ(push(&t, &r[0], UINT64_MAX), -EAGAIN);
		for (int i = 2; i >= 0; i--)
			post(&t, (uint16_t)cid[i], 2, (uint16_t)nvme_qpair__sq_tail(&t.qp), 0);
		ASSERT_EQ(reap(&t, NULL), 3);
		for (int i = 0; i < 3; i++)
			ASSERT_EQ(r[i].calls, 1);
	}
	/* 30 entries on a ring of 4: head 2, phase flipped 7 times from 1. */
	ASSERT_EQ(NVME_CQ_HEAD(t.st.cq_pos), 30 % 4);
	ASSERT_EQ(NVME_CQ_PHASE(t.st.cq_pos), 0);
	tq_fini(&t);
}

static void test_hostile_entries(void)
{
	struct tq t;
	struct rec r[2] = {0};
	unsigned taken;

	tq_init(&t, 8, 1);
	ASSERT_EQ(push(&t, &r[0], UINT64_MAX), 0);
	ASSERT_EQ(push(&t, &r[1], UINT64_MAX), 1);
	post(&t, 5, 1, 1, 0);	   /* free CID */
	post(&t, 7, 1, 1, 0);	   /* the CID never handed out (depth - 1) */
	post(&t, 0xffff, 1, 1, 0); /* far out of range */
	post(&t, 0, 3, 1, 0);	   /* another SQ's */
	post(&t, 0, 1, 6, 0);	   /* SQ head past the tail: completion taken, head not */
	post(&t, 0, 1, 1, 0);	   /* CID 0 again */
	ASSERT_EQ(reap(&t, &taken), 1);
	ASSERT_EQ(taken, 6);
	ASSERT_EQ(t.st.dropped, 5);
	ASSERT_EQ(r[0].calls, 1);
	ASSERT_EQ(r[1].calls, 0);
	/* Only heads inside [head, tail] of entries for this SQ were taken. */
	ASSERT_EQ(t.st.sq_head, 1);
	post(&t, 1, 1, 2, 0);
	ASSERT_EQ(reap(&t, NULL), 1);
	ASSERT_EQ(r[1].calls, 1);
	ASSERT_EQ(t.st.sq_head, 2);
	tq_fini(&t);
}

static void test_sq_full(void)
{
	struct tq t;
	struct rec r[4] = {0};

	/* A device that completes without moving its SQ head: the ring fills though CIDs
	 * are free. */
	tq_init(&t, 4, 1);
	for (int i = 0; i < 3; i++) {
		int cid = push(&t, &r[i], UINT64_MAX);
		ASSERT_GE(cid, 0);
		post(&t, (uint16_t)cid, 1, 0, 0);
		ASSERT_EQ(reap(&t, NULL), 1);
	}
	ASSERT_EQ(push(&t, &r[3], UINT64_MAX), -EAGAIN);
	/* Once it reports progress, the ring takes commands again. */
	ASSERT_EQ(push(&t, &r[3], UINT64_MAX), -EAGAIN);
	t.qp.st->sq_head = 3;
	ASSERT_GE(push(&t, &r[3], UINT64_MAX), 0);
	tq_fini(&t);
}

static void test_adopt_windows(void)
{
	struct tq t;
	struct rec r[4] = {0}, fresh = {0};
	struct nvme_done d[8];
	int c0, c1, c2, c3;

	tq_init(&t, 8, 1);
	c0 = push(&t, &r[0], UINT64_MAX); /* in flight, committed */
	c1 = push(&t, &r[1], UINT64_MAX); /* completion consumed, not freed (DONE) */
	c2 = push(&t, &r[2], UINT64_MAX); /* completion marked DONE, head not advanced */
	post(&t, (uint16_t)c1, 1, 2, 0);
	post(&t, (uint16_t)c2, 1, 3, 0);
	t.qp.slots[c1].state = NVME_SLOT_DONE;
	t.st.cq_pos = NVME_CQ_POS(1, 1);
	t.qp.slots[c2].state = NVME_SLOT_DONE;
	/* Filled but never committed: the process died before the tail moved. */
	c3 = push(&t, &r[3], UINT64_MAX);
	t.st.submitted--;

	/* The next instance: no caller contexts survive. */
	nvme_qpair__fini(&t.qp);
	ASSERT_OK(nvme_qpair__init(&t.qp, false));
	ASSERT_EQ(nvme_qpair__adopt(&t.qp, d, ARRAY_SIZE(d)), 2);
	nvme_qpair__report(&t.qp, d, 2);
	ASSERT_EQ(t.stale_calls, 2);
	ASSERT_EQ(t.qp.nstale, 1);
	ASSERT_EQ(t.qp.slots[c3].state, NVME_SLOT_FREE);
	ASSERT_EQ(t.qp.slots[c0].flags & NVME_SLOT_STALE, NVME_SLOT_STALE);

	/* c2's entry is still at the head: it is not in flight any more, so it is dropped. */
	ASSERT_EQ(reap(&t, NULL), 0);
	ASSERT_EQ(t.st.dropped, 1);

	/* New commands never get the stale CID; its completion goes to the stale path. */
	for (int i = 0; i < 6; i++) {
		int cid = push(&t, &fresh, UINT64_MAX);
		ASSERT_GE(cid, 0);
		ASSERT_NE(cid, c0);
	}
	ASSERT_EQ(push(&t, &fresh, UINT64_MAX), -EAGAIN);
	post(&t, (uint16_t)c0, 1, 3, 0);
	ASSERT_EQ(reap(&t, NULL), 1);
	ASSERT_EQ(fresh.calls, 0);
	ASSERT_EQ(t.stale_calls, 3);
	ASSERT_EQ(t.qp.nstale, 0);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(r[i].calls, 0);
	tq_fini(&t);
}

static void test_timeouts(void)
{
	struct tq t;
	struct rec r[2] = {0};
	struct nvme_timeout to[4];
	uint64_t t_ns = 1000ull * 1000000u; /* the queue's timeout */
	unsigned nfree;
	int c0;

	tq_init(&t, 8, 1);
	c0 = push(&t, &r[0], 100);
	ASSERT_EQ(nvme_qpair__check_timeouts(&t.qp, 50, to, 4), 0);
	ASSERT_EQ(nvme_qpair__check_timeouts(&t.qp, 150, to, 4), 1);
	ASSERT_TRUE(to[0].send_abort);
	ASSERT_EQ(to[0].cid, c0);
	ASSERT_EQ(nvme_qpair__check_timeouts(&t.qp, 151, to, 4), 0);
	/* The abort did not help within another timeout: fail it, keep the CID. */
	nfree = t.qp.nfree;
	ASSERT_EQ(nvme_qpair__check_timeouts(&t.qp, 151 + t_ns, to, 4), 1);
	ASSERT_FALSE(to[0].send_abort);
	nvme_qpair__report(&t.qp, &to[0].done, 1);
	ASSERT_EQ(r[0].calls, 1);
	ASSERT_EQ(r[0].err, -ETIMEDOUT);
	ASSERT_EQ(t.qp.nfree, nfree);
	ASSERT_EQ(nvme_qpair__check_timeouts(&t.qp, UINT64_MAX, to, 4), 0);
	/* A late completion frees the CID and calls nobody. */
	post(&t, (uint16_t)c0, 1, 1, NVME_SC_ABORT_REQUESTED);
	ASSERT_EQ(reap(&t, NULL), 1);
	ASSERT_EQ(r[0].calls, 1);
	ASSERT_EQ(t.qp.nfree, nfree + 1);
	ASSERT_EQ(push(&t, &r[1], UINT64_MAX), c0);
	tq_fini(&t);
}

static void test_fail_all(void)
{
	struct tq t;
	struct rec r[2] = {0};
	struct nvme_done d[8];
	unsigned n;

	tq_init(&t, 8, 1);
	push(&t, &r[0], UINT64_MAX);
	push(&t, &r[1], UINT64_MAX);
	n = nvme_qpair__fail_all(&t.qp, -EIO, d, ARRAY_SIZE(d));
	ASSERT_EQ(n, 2);
	nvme_qpair__report(&t.qp, d, n);
	ASSERT_EQ(r[0].err, -EIO);
	ASSERT_EQ(r[1].calls, 1);
	ASSERT_EQ(nvme_qpair__fail_all(&t.qp, -EIO, d, ARRAY_SIZE(d)), 0);
	post(&t, 0, 1, 1, 0);
	ASSERT_EQ(reap(&t, NULL), 1);
	ASSERT_EQ(r[0].calls, 1);
	tq_fini(&t);
}

static void test_status_errno(void)
{
	ASSERT_EQ(nvme_status_to_errno(0), 0);
	ASSERT_EQ(nvme_status_to_errno(0x281), -EIO);
	ASSERT_EQ(nvme_status_to_errno(NVME_SC_CAP_EXCEEDED), -ENOSPC);
	ASSERT_EQ(nvme_status_to_errno(NVME_SC_NS_WRITE_PROTECTED), -EROFS);
	ASSERT_EQ(nvme_status_to_errno(NVME_SC_INVALID_NS), -ENXIO);
	ASSERT_EQ(nvme_status_to_errno(NVME_SC_ABORT_REQUESTED), -ETIMEDOUT);
}

int main(void)
{
	test_out_of_order();
	test_phase_wrap();
	test_hostile_entries();
	test_sq_full();
	test_adopt_windows();
	test_timeouts();
	test_fail_all();
	test_status_errno();
	return 0;
}
