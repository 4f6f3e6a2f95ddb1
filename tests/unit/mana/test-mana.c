/* SPDX-License-Identifier: MIT */
/*
 * lib/mana against the GDMA/MANA device model behind the in-process "test" transport
 * (mana_tdev.h). Bring-up to a vPort with 2 queue pairs, TX and RX of exact bytes, and a
 * hostile device (bad WQ numbers, a wrong HWC msg type, an EQE with stale owner bits)
 * whose lies are refused and counted.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macros.h"
#include "mana.h"
#include "mana_internal.h"
#include "mana_tdev.h"
#include "test.h"

static const uint8_t mac[6] = {0x00, 0x15, 0x5d, 0x12, 0x34, 0x56};

static struct tdev *bring_up(unsigned nq)
{
	return tdev_bring_up(nq);
}

/* Closing the driver leaves the function up, its DMA mapping kept for a next instance. */
static void tear_down(struct tdev *t)
{
	mana_dev_close(t->drv);
	t->drv = NULL;
	ASSERT_EQ(t->nmaps, 1);
	tdev_free(t);
}

static void assert_clean(struct tdev *t)
{
	tdev_assert_driver_clean(t);
}

static void make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	tdev_make_frame(f, len, seed);
}

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static void drain_fd(int fd)
{
	uint64_t v;

	(void)!read(fd, &v, sizeof(v));
}

/* ---- cases ---- */

static void test_bring_up(void)
{
	struct tdev *t = bring_up(4);
	struct mana_info info;

	mana_dev_info(t->drv, &info);
	/* Four wanted; the model's vPort has two. */
	ASSERT_EQ(info.nr_queues, 2);
	ASSERT_TRUE(memcmp(info.mac, mac, 6) == 0);
	ASSERT_TRUE(mana_dev_queue(t->drv, 1) != NULL);
	ASSERT_TRUE(mana_dev_queue(t->drv, 2) == NULL);
	ASSERT_NE(mana_queue_fd(mana_dev_queue(t->drv, 0)),
		  mana_queue_fd(mana_dev_queue(t->drv, 1)));
	tdev_assert_device_clean(t);
	assert_clean(t);
	tear_down(t);
}

static void test_tx(void)
{
	struct tdev *t = bring_up(2);
	uint8_t f[300];
	struct iovec iov[2] = {{f, 100}, {f + 100, sizeof(f) - 100}};
	struct mana_offload off = {.flags = MANA_OFFLOAD_CSUM, .csum_start = 34, .csum_offset = 16};
	struct mana_stats s;

	for (unsigned q = 0; q < 2; q++) {
		struct mana_queue *mq = mana_dev_queue(t->drv, q);

		make_frame(f, sizeof(f), (uint8_t)q);
		ASSERT_OK(mana_tx(mq, iov, 2, q ? &off : NULL));
		ASSERT_EQ(t->nout, q + 1);
		ASSERT_EQ(t->out_len[q], sizeof(f));
		if (!q) {
			ASSERT_TRUE(memcmp(t->out[q], f, sizeof(f)) == 0);
		} else {
			/* The device filled the TCP checksum (bytes 50-51) from the seed the
			 * driver left there (a real frame's pseudo-header sum): the rest is
			 * the frame as sent, and the transport bytes plus the seed sum to all
			 * ones, as a receiver adding the pseudo header finds. */
			ASSERT_TRUE(memcmp(t->out[q], f, 50) == 0);
			ASSERT_TRUE(memcmp(t->out[q] + 52, f + 52, sizeof(f) - 52) == 0);
			uint32_t sum = (uint32_t)f[50] << 8 | f[51];
			for (size_t i = 34; i < sizeof(f); i += 2)
				sum += (uint32_t)t->out[q][i] << 8 | t->out[q][i + 1];
			while (sum >> 16)
				sum = (sum & 0xffffu) + (sum >> 16);
			ASSERT_UEQ(sum, 0xffff);
		}
		ASSERT_EQ(mana_tx_reap(mq), 1);
		ASSERT_EQ(mana_tx_reap(mq), 0);
		ASSERT_OK(mana_queue_arm(mq));
	}
	/* Refused before anything is posted. */
	ASSERT_EQ(mana_tx(mana_dev_queue(t->drv, 0), iov, 1, &(struct mana_offload){.gso_type = 1}),
		  -EOPNOTSUPP);
	iov[0].iov_len = 10;
	ASSERT_EQ(mana_tx(mana_dev_queue(t->drv, 0), iov, 1, NULL), -EMSGSIZE);
	ASSERT_EQ(t->nout, 2);
	/* More than the queue depth in flight: the bounce buffers run out, then come back. */
	iov[0].iov_len = 64;
	for (unsigned i = 0; i < MANA_QUEUE_DEPTH; i++)
		ASSERT_OK(mana_tx(mana_dev_queue(t->drv, 1), iov, 1, NULL));
	ASSERT_EQ(mana_tx(mana_dev_queue(t->drv, 1), iov, 1, NULL), -EAGAIN);
	ASSERT_EQ(mana_tx_reap(mana_dev_queue(t->drv, 1)), MANA_QUEUE_DEPTH);
	ASSERT_OK(mana_tx(mana_dev_queue(t->drv, 1), iov, 1, NULL));
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.tx_frames, 2 + MANA_QUEUE_DEPTH + 1);
	ASSERT_UEQ(s.tx_errors, 0);
	assert_clean(t);
	tear_down(t);
}

static void test_rx(void)
{
	struct tdev *t = bring_up(2);
	struct mana_queue *q = mana_dev_queue(t->drv, 0);
	uint8_t f[1514], got[MANA_BUF_SIZE];
	struct iovec iov = {got, sizeof(got)};
	struct mana_offload off;
	size_t len = 0;

	ASSERT_EQ(mana_rx(q, &iov, 1, &len, &off), -EAGAIN);
	/* More frames than RX buffers: every buffer is reposted after use. */
	for (unsigned i = 0; i < 2 * MANA_QUEUE_DEPTH + 3; i++) {
		size_t n = 60 + (i * 37) % (sizeof(f) - 60);

		make_frame(f, n, (uint8_t)i);
		ASSERT_OK(gdma_model_frame_in(t->m, f, n));
		ASSERT_TRUE(readable(mana_queue_fd(q)));
		drain_fd(mana_queue_fd(q));
		memset(got, 0, sizeof(got));
		ASSERT_OK(mana_rx(q, &iov, 1, &len, &off));
		ASSERT_EQ(len, n);
		ASSERT_TRUE(memcmp(got, f, n) == 0);
		ASSERT_EQ(mana_rx(q, &iov, 1, &len, &off), -EAGAIN);
		ASSERT_OK(mana_queue_arm(q));
	}
	/* A buffer too small drops that frame only. */
	make_frame(f, 200, 1);
	ASSERT_OK(gdma_model_frame_in(t->m, f, 200));
	iov.iov_len = 100;
	ASSERT_EQ(mana_rx(q, &iov, 1, &len, &off), -EMSGSIZE);
	iov.iov_len = sizeof(got);
	ASSERT_OK(gdma_model_frame_in(t->m, f, 150));
	ASSERT_OK(mana_rx(q, &iov, 1, &len, &off));
	ASSERT_EQ(len, 150);
	assert_clean(t);
	tear_down(t);
}

/* The next entry the driver will read on cq (the model wrote it already). */
static struct gdma_cqe *cq_head(struct mana_cq *cq)
{
	return (struct gdma_cqe *)(cq->va +
				   (size_t)(cq->head & (cq->entries - 1)) * cq->entry_size);
}

static void test_hostile_rx_cqe(void)
{
	struct tdev *t = bring_up(2);
	struct mana_queue *q = mana_dev_queue(t->drv, 0);
	uint8_t a[100], b[120], got[MANA_BUF_SIZE];
	struct iovec iov = {got, sizeof(got)};
	struct gdma_cqe *cqe;
	struct mana_stats s;
	size_t len;

	make_frame(a, sizeof(a), 1);
	make_frame(b, sizeof(b), 2);
	ASSERT_OK(gdma_model_frame_in(t->m, a, sizeof(a)));
	cqe = cq_head(&q->rx_cq);
	/* Another WQ's number, owner bits untouched. */
	cqe->info = (cqe->info & ~0xffffffu) | ((q->rq.id + 5) & 0xffffffu);
	ASSERT_EQ(mana_rx(q, &iov, 1, &len, NULL), -EAGAIN);
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.bad_cqes, 1);
	ASSERT_UEQ(s.rx_dropped, 1);
	ASSERT_UEQ(s.rx_frames, 0);
	/* The ring stays in step: the next frame comes out whole. */
	ASSERT_OK(gdma_model_frame_in(t->m, b, sizeof(b)));
	ASSERT_OK(mana_rx(q, &iov, 1, &len, NULL));
	ASSERT_EQ(len, sizeof(b));
	ASSERT_TRUE(memcmp(got, b, sizeof(b)) == 0);
	/* A length over the buffer is dropped, never copied. */
	ASSERT_OK(gdma_model_frame_in(t->m, a, sizeof(a)));
	cqe = cq_head(&q->rx_cq);
	((struct mana_rxcomp_oob *)cqe->data)->ppi[0].pkt_len = MANA_BUF_SIZE + 1;
	ASSERT_EQ(mana_rx(q, &iov, 1, &len, NULL), -EAGAIN);
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.rx_dropped, 2);
	tear_down(t);
}

static void test_hostile_tx_cqe(void)
{
	struct tdev *t = bring_up(2);
	struct mana_queue *q = mana_dev_queue(t->drv, 1);
	uint8_t f[64];
	struct iovec iov = {f, sizeof(f)};
	struct gdma_cqe *cqe;
	struct mana_stats s;

	make_frame(f, sizeof(f), 3);
	ASSERT_OK(mana_tx(q, &iov, 1, NULL));
	cqe = cq_head(&q->tx_cq);
	cqe->info = (cqe->info & ~0xffffffu) | ((q->sq.id + 1) & 0xffffffu);
	ASSERT_EQ(mana_tx_reap(q), 1);
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.bad_cqes, 1);
	ASSERT_UEQ(s.tx_errors, 1);
	/* A completion with nothing in flight is refused too. */
	ASSERT_OK(mana_tx(q, &iov, 1, NULL));
	ASSERT_EQ(mana_tx_reap(q), 1);
	*cq_head(&q->tx_cq) = *(cq_head(&q->tx_cq) - 1);
	cq_head(&q->tx_cq)->info =
	    (cq_head(&q->tx_cq)->info & ~(7u << GDMA_CQE_OWNER_SHIFT)) |
	    (((q->tx_cq.head >> q->tx_cq.shift) & 7u) << GDMA_CQE_OWNER_SHIFT);
	ASSERT_EQ(mana_tx_reap(q), 0);
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.bad_cqes, 2);
	tear_down(t);
}

static void test_hostile_hwc_msg_type(void)
{
	struct tdev *t = bring_up(2);
	struct mana_stats s;

	t->tamper_hwc_type = true;
	ASSERT_EQ(mana__query_vport(t->drv), -EPROTO);
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.bad_hwc_responses, 1);
	/* The channel goes on: its RQ buffer was reposted. */
	ASSERT_OK(mana__query_vport(t->drv));
	tear_down(t);
}

static void test_hostile_eqe_owner(void)
{
	struct tdev *t = bring_up(2);
	struct mana_queue *q = mana_dev_queue(t->drv, 0);
	struct gdma_eqe *slot;
	uint32_t cur = (q->eq.head >> q->eq.shift) & 7u;
	uint8_t f[80], got[MANA_BUF_SIZE];
	struct iovec iov = {got, sizeof(got)};
	struct mana_stats s;
	size_t len;

	slot = (struct gdma_eqe *)(q->eq.va + (size_t)(q->eq.head & (q->eq.entries - 1)) * 16);
	/* Owner bits of a pass that is neither this one nor the last. */
	slot->info = GDMA_EQE_COMPLETION | (((cur + 2) & 7u) << GDMA_EQE_OWNER_SHIFT);
	slot->details[0] = q->rx_cq.id;
	ASSERT_OK(mana_queue_arm(q));
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.bad_owner, 1);
	/* The last pass's owner reads as empty: not consumed, not counted. */
	slot->info = GDMA_EQE_COMPLETION | (((cur - 1) & 7u) << GDMA_EQE_OWNER_SHIFT);
	ASSERT_OK(mana_queue_arm(q));
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.bad_owner, 1);
	ASSERT_UEQ(s.bad_eqes, 0);
	/* An EQE naming someone else's CQ is consumed and counted. */
	slot->info = GDMA_EQE_COMPLETION | (cur << GDMA_EQE_OWNER_SHIFT);
	slot->details[0] = 0x777;
	ASSERT_OK(mana_queue_arm(q));
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.bad_eqes, 1);
	/* Frames still flow: completions are read from the CQ, the EQ only wakes. */
	make_frame(f, sizeof(f), 9);
	ASSERT_OK(gdma_model_frame_in(t->m, f, sizeof(f)));
	ASSERT_OK(mana_rx(q, &iov, 1, &len, NULL));
	ASSERT_EQ(len, sizeof(f));
	tear_down(t);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
	    {"bring_up", test_bring_up},
	    {"tx", test_tx},
	    {"rx", test_rx},
	    {"hostile_rx_cqe", test_hostile_rx_cqe},
	    {"hostile_tx_cqe", test_hostile_tx_cqe},
	    {"hostile_hwc_msg_type", test_hostile_hwc_msg_type},
	    {"hostile_eqe_owner", test_hostile_eqe_owner},
	};

	return test_run_cases(cases, ARRAY_SIZE(cases), argc, argv);
}
