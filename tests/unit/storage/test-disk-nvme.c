/* SPDX-License-Identifier: MIT */
/*
 * servers/storage/disk_nvme.c against the test device (fake_nvme.c) with real libuv
 * loops: guest RAM mapped at IOVA = GPA + base, reads and writes from guest pages,
 * flush (sent or not needed), discard, completions routed to the loop of the queue that
 * submitted them when another queue processed the shared queue pair, refusals (pages
 * outside RAM, read-only), a queue closed with requests in flight, and the mapping a
 * restarted instance finds already in place.
 */
#include <errno.h>
#include <stdlib.h>

#include "disk_nvme.h"
#include "fake_nvme.h"
#include "nvme.h"
#include "test.h"
#include "test_guestmem.h"

#define STATE_IOVA 0x100000000ull
#define GUEST_BASE 0x80000000ull
#define GUEST_SIZE (1u << 20)
#define NBLOCKS 4096u

struct req {
	struct disk_req r;
	uint64_t pfns[8];
	int calls;
	int err;
	bool in_submit;
};

static void req_done(struct disk_req *r, int err)
{
	struct req *q = r->opaque;

	ASSERT_FALSE(q->in_submit);
	q->calls++;
	q->err = err;
}

static int submit(struct disk_queue *dq, struct req *q)
{
	int r;

	q->r.done = req_done;
	q->r.opaque = q;
	q->r.pfns = q->pfns;
	q->in_submit = true;
	r = disk_submit(dq, &q->r);
	q->in_submit = false;
	return r;
}

/* A read or write of nblocks at lba from guest pages first.. (reverse order), offset off. */
static void rw(struct req *q, enum disk_op op, uint64_t lba, uint32_t nblocks, uint32_t off,
	       uint64_t first)
{
	uint32_t n = (off + nblocks * 512 + 4095) / 4096;

	memset(q, 0, sizeof(*q));
	q->r.op = op;
	q->r.lba = lba;
	q->r.nblocks = nblocks;
	q->r.byte_offset = off;
	q->r.npfns = n;
	for (uint32_t i = 0; i < n; i++)
		q->pfns[i] = first + n - 1 - i;
}

static void run_until(uv_loop_t *loop, const struct req *q)
{
	for (int i = 0; i < 1000 && !q->calls; i++)
		uv_run(loop, UV_RUN_NOWAIT);
	ASSERT_EQ(q->calls, 1);
}

struct env {
	struct fake_nvme *f;
	struct nvme_ctrl *c;
	struct guestmem gm;
	struct disk *d;
};

static void env_open(struct env *e, bool vwc, bool read_only)
{
	struct nvme_opts o = {.nr_io_queues = 1, .io_queue_depth = 16, .state_iova = STATE_IOVA};

	e->f = fake_nvme_new(NBLOCKS, 512);
	ASSERT_TRUE(e->f);
	e->f->vwc = vwc;
	ASSERT_OK(nvme_ctrl_init(&e->f->da, &o, &e->c));
	ASSERT_OK(guestmem_create(GUEST_SIZE, &e->gm));
	struct disk_nvme_opts d = {.ctrl = e->c,
				   .da = &e->f->da,
				   .nsid = 1,
				   .guest_iova_base = GUEST_BASE,
				   .read_only = read_only};
	ASSERT_OK(disk_nvme_open(&d, &e->d));
}

static void env_close(struct env *e)
{
	disk_close(e->d);
	nvme_ctrl_close(e->c);
	guestmem_release(&e->gm);
	fake_nvme_free(e->f);
}

static void close_loop(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_NOWAIT);
	ASSERT_OK(uv_loop_close(loop));
}

static void test_io(void)
{
	struct env e;
	uv_loop_t loop;
	struct disk_queue *q;
	struct req w, r, fl, dc;
	struct disk_range ranges[2] = {{40, 8}, {100, 2}};
	uint8_t data[8192 + 512], back[8192];

	env_open(&e, true, false);
	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_EQ(e.d->info.nblocks, NBLOCKS);
	ASSERT_EQ(e.d->info.block_size, 512);
	ASSERT_EQ(e.d->info.max_transfer, 512 * 1024);
	ASSERT_TRUE(e.d->info.can_discard);
	ASSERT_TRUE(e.d->info.volatile_cache);
	ASSERT_EQ(e.d->info.id_len, 16);
	ASSERT_STREQ(e.d->ops->kind, "nvme");
	ASSERT_OK(disk_queue_open(e.d, &loop, &q));

	/* Nothing can be DMA'd before guest RAM is mapped. */
	rw(&w, DISK_OP_WRITE, 8, 16, 512, 10);
	ASSERT_EQ(submit(q, &w), -EINVAL);
	ASSERT_OK(disk_map_guest(e.d, &e.gm));
	ASSERT_EQ(e.f->nmaps, 2);
	ASSERT_EQ(e.f->maps[1].iova, GUEST_BASE);
	ASSERT_OK(disk_map_guest(e.d, &e.gm)); /* the same layout again: nothing changes */
	ASSERT_EQ(e.f->nmaps, 2);

	/* 16 blocks at offset 512 of three guest pages, in reverse physical order. */
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (unsigned p = 0; p < 3; p++) {
		uint32_t skip = p ? 0 : 512, len = p == 2 ? 512 : 4096 - skip;
		uint32_t pos = p ? 4096 * p - 512 : 0;
		memcpy(test_gm_ptr(&e.gm, (w.pfns[p] << 12) + skip, len), data + pos, len);
	}
	ASSERT_OK(submit(q, &w));
	ASSERT_EQ(w.calls, 0);
	run_until(&loop, &w);
	ASSERT_EQ(w.err, 0);
	ASSERT_EQ(memcmp(e.f->disk + 8 * 512, data, 8192), 0);

	rw(&r, DISK_OP_READ, 8, 16, 0, 100);
	ASSERT_OK(submit(q, &r));
	run_until(&loop, &r);
	ASSERT_EQ(r.err, 0);
	memcpy(back, test_gm_ptr(&e.gm, r.pfns[0] << 12, 4096), 4096);
	memcpy(back + 4096, test_gm_ptr(&e.gm, r.pfns[1] << 12, 4096), 4096);
	ASSERT_EQ(memcmp(back, data, 8192), 0);

	memset(&fl, 0, sizeof(fl));
	fl.r.op = DISK_OP_FLUSH;
	ASSERT_OK(submit(q, &fl));
	run_until(&loop, &fl);
	ASSERT_EQ(e.f->flushes, 1);

	memset(&dc, 0, sizeof(dc));
	dc.r.op = DISK_OP_DISCARD;
	dc.r.ranges = ranges;
	dc.r.nranges = 2;
	ASSERT_OK(submit(q, &dc));
	run_until(&loop, &dc);
	ASSERT_EQ(dc.err, 0);
	ASSERT_EQ(e.f->deallocated_blocks, 10);

	/* Refusals: outside the disk, a page outside RAM, a page number that would land on
	 * the driver's own memory, more than the controller moves at once. */
	rw(&r, DISK_OP_READ, NBLOCKS - 1, 2, 0, 0);
	ASSERT_EQ(submit(q, &r), -EINVAL);
	rw(&r, DISK_OP_READ, 0, 1, 0, GUEST_SIZE / 4096);
	ASSERT_EQ(submit(q, &r), -EINVAL);
	rw(&r, DISK_OP_READ, 0, 1, 0, (STATE_IOVA - GUEST_BASE) >> 12);
	ASSERT_EQ(submit(q, &r), -EINVAL);
	rw(&r, DISK_OP_READ, 0, 1, 0, UINT64_MAX >> 4);
	ASSERT_EQ(submit(q, &r), -EINVAL);
	rw(&r, DISK_OP_READ, 0, 1, 0, 0);
	r.r.nblocks = 1025;
	ASSERT_EQ(submit(q, &r), -E2BIG);
	rw(&r, DISK_OP_READ, 0, 16, 0, 0);
	r.r.npfns = 1; /* fewer pages than the bytes span */
	ASSERT_EQ(submit(q, &r), -EINVAL);
	ASSERT_EQ(e.f->dma_errors, 0);

	disk_queue_close(q);
	close_loop(&loop);
	env_close(&e);
}

static void test_no_cache_read_only(void)
{
	struct env e;
	uv_loop_t loop;
	struct disk_queue *q;
	struct req fl, w;

	env_open(&e, false, true);
	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(disk_map_guest(e.d, &e.gm));
	ASSERT_FALSE(e.d->info.volatile_cache);
	ASSERT_FALSE(e.d->info.can_discard);
	ASSERT_OK(disk_queue_open(e.d, &loop, &q));
	/* Nothing to flush: done with success, but not from inside submit. */
	memset(&fl, 0, sizeof(fl));
	fl.r.op = DISK_OP_FLUSH;
	ASSERT_OK(submit(q, &fl));
	ASSERT_EQ(fl.calls, 0);
	run_until(&loop, &fl);
	ASSERT_EQ(fl.err, 0);
	ASSERT_EQ(e.f->flushes, 0);
	rw(&w, DISK_OP_WRITE, 0, 1, 0, 0);
	ASSERT_EQ(submit(q, &w), -EROFS);
	disk_queue_close(q);
	close_loop(&loop);
	env_close(&e);
}

/* Two queues on two loops share the controller's only queue pair. */
static void test_routing_and_close(void)
{
	struct env e;
	uv_loop_t l1, l2;
	struct disk_queue *q1, *q2, *q3;
	struct req a, b, c;

	env_open(&e, true, false);
	ASSERT_OK(uv_loop_init(&l1));
	ASSERT_OK(uv_loop_init(&l2));
	ASSERT_OK(disk_map_guest(e.d, &e.gm));
	ASSERT_OK(disk_queue_open(e.d, &l1, &q1));
	ASSERT_OK(disk_queue_open(e.d, &l2, &q2));
	e.f->io_manual = true;
	rw(&a, DISK_OP_READ, 0, 1, 0, 1);
	rw(&b, DISK_OP_READ, 1, 1, 0, 2);
	ASSERT_OK(submit(q1, &a));
	ASSERT_OK(submit(q2, &b));
	ASSERT_EQ(fake_nvme_run(e.f), 2);
	/* Loop 1 processes the pair: its own request completes there, the other waits
	 * for loop 2. */
	run_until(&l1, &a);
	ASSERT_EQ(b.calls, 0);
	run_until(&l2, &b);

	/* A queue closed with a request in flight: its done never runs, and the late
	 * completion, processed through the other queue, touches nothing freed. */
	rw(&c, DISK_OP_READ, 2, 1, 0, 3);
	ASSERT_OK(submit(q2, &c));
	disk_queue_close(q2);
	close_loop(&l2);
	ASSERT_EQ(fake_nvme_run(e.f), 1);
	for (int i = 0; i < 20; i++)
		uv_run(&l1, UV_RUN_NOWAIT);
	ASSERT_EQ(c.calls, 0);
	ASSERT_EQ(nvme_qpair_inflight(nvme_ctrl_qpair(e.c, 0)), 0);

	/* Round robin over one pair: a third queue works as well. */
	ASSERT_OK(uv_loop_init(&l2));
	ASSERT_OK(disk_queue_open(e.d, &l2, &q3));
	e.f->io_manual = false;
	rw(&c, DISK_OP_READ, 2, 1, 0, 3);
	ASSERT_OK(submit(q3, &c));
	run_until(&l2, &c);
	disk_queue_close(q3);
	disk_queue_close(q1);
	close_loop(&l1);
	close_loop(&l2);
	env_close(&e);
}

/* A restarted instance maps guest RAM where the container still has it mapped. */
static void test_adopted_mapping(void)
{
	struct env e;
	struct disk *again;
	struct disk_nvme_opts o;

	env_open(&e, true, false);
	ASSERT_OK(disk_map_guest(e.d, &e.gm));
	o = (struct disk_nvme_opts){
	    .ctrl = e.c, .da = &e.f->da, .nsid = 1, .guest_iova_base = GUEST_BASE};
	ASSERT_OK(disk_nvme_open(&o, &again));
	ASSERT_EQ(disk_map_guest(again, &e.gm), -EEXIST);
	disk_close(again);
	o.adopted = true;
	ASSERT_OK(disk_nvme_open(&o, &again));
	ASSERT_OK(disk_map_guest(again, &e.gm));
	disk_close(again);
	/* Namespaces the controller does not have. */
	o.nsid = 2;
	ASSERT_EQ(disk_nvme_open(&o, &again), -ENXIO);
	disk_close(e.d);
	e.d = NULL;
	nvme_ctrl_close(e.c);
	guestmem_release(&e.gm);
	fake_nvme_free(e.f);
}

int main(void)
{
	test_io();
	test_no_cache_read_only();
	test_routing_and_close();
	test_adopted_mapping();
	return 0;
}
