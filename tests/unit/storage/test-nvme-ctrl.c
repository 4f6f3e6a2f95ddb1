/* SPDX-License-Identifier: MIT */
/*
 * lib/nvme/ctrl.c and io.c against the test device (fake_nvme.c): bring-up (the admin
 * commands it sends), identify results, I/O with multi-page PRP lists from "guest" pages
 * mapped at IOVA = GPA + base, flush and deallocate, refusals, timeouts with Abort, a
 * controller fatal status, hostile completions and shutdown.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "macros.h"
#include "nvme_internal.h"
#include "nvme_test.h"

#define GUEST_PAGES 256u

static uint8_t *guest;

/* IOVAs of guest pages first..first+n-1, in reverse: the data must follow the list, not
 * guest-physical order. */
static void page_list(uint64_t *pages, unsigned first, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		pages[i] = NVME_TEST_GUEST_BASE + (uint64_t)(first + n - 1 - i) * 4096u;
}

/* One block at LBA 0 from guest page 0. */
static struct nvme_io one_block(enum nvme_io_op op, uint64_t *page)
{
	page_list(page, 0, 1);
	return (struct nvme_io){.op = op, .nsid = 1, .nblocks = 1, .pages = page, .npages = 1};
}

static void guest_bytes(const uint64_t *pages, uint32_t off, uint8_t *buf, size_t len, bool put)
{
	for (size_t done = 0; done < len;) {
		uint64_t pos = off + done;
		uint8_t *p = guest + (pages[pos / 4096] - NVME_TEST_GUEST_BASE) + pos % 4096;
		size_t n = MIN(len - done, 4096 - pos % 4096);

		if (put)
			memcpy(p, buf + done, n);
		else
			memcpy(buf + done, p, n);
		done += n;
	}
}

static int io_sync(struct nvme_qpair *qp, const struct nvme_io *io)
{
	struct nvme_test_rec r = {0};
	int ret = nvme_qpair_submit(qp, io, nvme_test_done, &r);

	if (ret < 0)
		return ret;
	ASSERT_EQ(r.calls, 0); /* never from inside submit */
	nvme_qpair_process(qp, 0);
	ASSERT_EQ(r.calls, 1);
	return r.err;
}

static void test_bring_up(void)
{
	struct fake_nvme *f = nvme_test_device(guest, GUEST_PAGES * 4096ull);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 2, 16);
	const struct nvme_ns_info *ns;

	ASSERT_STREQ(nvme_ctrl_info(c)->model, "mhcl test nvme");
	ASSERT_STREQ(nvme_ctrl_info(c)->serial, "FAKE0001");
	ASSERT_EQ(nvme_ctrl_ns_count(c), 1);
	ns = nvme_ctrl_ns(c, 0);
	ASSERT_EQ(ns->nsid, 1);
	ASSERT_EQ(ns->nblocks, NVME_TEST_NBLOCKS);
	ASSERT_EQ(ns->block_size, 512);
	ASSERT_EQ(ns->id_len, 16);
	ASSERT_EQ(ns->id[0], 0xa0);
	ASSERT_EQ(nvme_ctrl_qpair_count(c), 2);
	ASSERT_EQ(nvme_ctrl_max_transfer(c), 512 * 1024);
	ASSERT_EQ(f->enables, 1);
	ASSERT_TRUE(f->bus_master);
	ASSERT_EQ(f->admin_count[NVME_ADMIN_IDENTIFY], 3);
	ASSERT_EQ(f->admin_count[NVME_ADMIN_SET_FEATURES], 1);
	ASSERT_EQ(f->admin_count[NVME_ADMIN_CREATE_CQ], 2);
	ASSERT_EQ(f->admin_count[NVME_ADMIN_CREATE_SQ], 2);
	/* Each I/O CQ has its own vector: queue 2 on vector 2. */
	ASSERT_TRUE(f->cq[2].ien);
	ASSERT_EQ(f->cq[2].iv, 2);
	ASSERT_EQ(f->nirq, 3);
	ASSERT_GE(nvme_qpair_eventfd(nvme_ctrl_qpair(c, 1)), 0);
	ASSERT_EQ(f->cap, devaccess_read64(&f->da, 0, NVME_REG_CAP));
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_read_write(void)
{
	struct fake_nvme *f = nvme_test_device(guest, GUEST_PAGES * 4096ull);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 2, 16);
	struct nvme_qpair *qp = nvme_ctrl_qpair(c, 1);
	static uint8_t pattern[64 * 4096], back[64 * 4096];
	uint64_t wpages[64], rpages[64];
	struct pollfd p = {.fd = nvme_qpair_eventfd(qp), .events = POLLIN};
	struct nvme_io io;

	for (size_t i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 13 + i / 4096);
	/* 40 blocks at offset 512 in the first page: 6 pages, a PRP list. */
	page_list(wpages, 10, 6);
	guest_bytes(wpages, 512, pattern, 40 * 512, true);
	io = (struct nvme_io){.op = NVME_IO_WRITE,
			      .nsid = 1,
			      .slba = 100,
			      .nblocks = 40,
			      .fua = true,
			      .byte_offset = 512,
			      .pages = wpages,
			      .npages = 6};
	ASSERT_OK(io_sync(qp, &io));
	ASSERT_EQ(memcmp(f->disk + 100 * 512, pattern, 40 * 512), 0);

	/* Read it back elsewhere with another offset (1024: 7 pages), the vector signalled. */
	page_list(rpages, 50, 7);
	io = (struct nvme_io){.op = NVME_IO_READ,
			      .nsid = 1,
			      .slba = 100,
			      .nblocks = 40,
			      .byte_offset = 1024,
			      .pages = rpages,
			      .npages = 7};
	ASSERT_OK(io_sync(qp, &io));
	ASSERT_EQ(poll(&p, 1, 0), 0); /* the pass drained the eventfd */
	guest_bytes(rpages, 1024, back, 40 * 512, false);
	ASSERT_EQ(memcmp(back, pattern, 40 * 512), 0);

	/* One page and two pages. */
	io = (struct nvme_io){.op = NVME_IO_READ,
			      .nsid = 1,
			      .slba = 100,
			      .nblocks = 1,
			      .byte_offset = 3584,
			      .pages = rpages,
			      .npages = 1};
	ASSERT_OK(io_sync(qp, &io));
	io.nblocks = 2;
	io.npages = 2;
	ASSERT_OK(io_sync(qp, &io));
	guest_bytes(rpages, 3584, back, 1024, false);
	ASSERT_EQ(memcmp(back, pattern, 1024), 0);

	/* The largest transfer MDTS allows (512 KiB) with an offset: 129 pages. */
	page_list(wpages, 100, 64);
	io = (struct nvme_io){.op = NVME_IO_WRITE,
			      .nsid = 1,
			      .slba = 0,
			      .nblocks = 1024,
			      .byte_offset = 4,
			      .pages = wpages,
			      .npages = 64};
	ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, NULL), -EINVAL); /* 64 pages too few */
	{
		static uint64_t big[129];
		page_list(big, 100, 129);
		io.pages = big;
		io.npages = 129;
		ASSERT_OK(io_sync(qp, &io));
		io.nblocks = 1025;
		ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, NULL), -E2BIG);
	}
	ASSERT_EQ(f->dma_errors, 0);
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_flush_deallocate(void)
{
	struct fake_nvme *f = nvme_test_device(guest, GUEST_PAGES * 4096ull);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 1, 16);
	struct nvme_qpair *qp = nvme_ctrl_qpair(c, 0);
	struct nvme_io_range ranges[2] = {{10, 4}, {200, 8}};
	struct nvme_io io = {.op = NVME_IO_FLUSH, .nsid = 1};

	ASSERT_OK(io_sync(qp, &io));
	ASSERT_EQ(f->flushes, 1);
	memset(f->disk, 0x5a, 512 * 300);
	io = (struct nvme_io){.op = NVME_IO_DEALLOCATE, .nsid = 1, .ranges = ranges, .nranges = 2};
	ASSERT_OK(io_sync(qp, &io));
	ASSERT_EQ(f->deallocated_blocks, 12);
	ASSERT_EQ(f->disk[10 * 512], 0);
	ASSERT_EQ(f->disk[207 * 512 + 511], 0);
	ASSERT_EQ(f->disk[9 * 512], 0x5a);
	ranges[1].nblocks = NVME_TEST_NBLOCKS;
	ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, NULL), -EINVAL);
	nvme_ctrl_close(c);
	fake_nvme_free(f);

	/* Without a volatile cache or DSM the commands are refused, not sent. */
	f = nvme_test_device(guest, GUEST_PAGES * 4096ull);
	f->vwc = f->dsm = false;
	c = nvme_test_bring_up(f, 1, 16);
	qp = nvme_ctrl_qpair(c, 0);
	io = (struct nvme_io){.op = NVME_IO_FLUSH, .nsid = 1};
	ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, NULL), -EOPNOTSUPP);
	io = (struct nvme_io){.op = NVME_IO_DEALLOCATE, .nsid = 1, .ranges = ranges, .nranges = 1};
	ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, NULL), -EOPNOTSUPP);
	ASSERT_EQ(f->io_count[NVME_CMD_FLUSH] + f->io_count[NVME_CMD_DSM], 0);
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_refusals(void)
{
	struct fake_nvme *f = nvme_test_device(guest, GUEST_PAGES * 4096ull);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 1, 16);
	struct nvme_qpair *qp = nvme_ctrl_qpair(c, 0);
	struct nvme_test_rec r[16] = {0};
	uint64_t pages[1];
	struct nvme_io io = {.op = NVME_IO_READ,
			     .nsid = 1,
			     .slba = NVME_TEST_NBLOCKS - 1,
			     .nblocks = 2,
			     .pages = pages,
			     .npages = 1};

	page_list(pages, 0, 1);
	ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, &r[0]), -EINVAL);
	io.slba = UINT64_MAX;
	io.nblocks = 1;
	ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, &r[0]), -EINVAL);
	io.slba = 0;
	io.nsid = 2;
	ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, &r[0]), -ENXIO);
	io.nsid = 1;
	io.byte_offset = 2;
	ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, &r[0]), -EINVAL);
	io.byte_offset = 0;

	/* 15 CIDs on a ring of 16, then full until completions are taken. */
	f->io_manual = true;
	for (int i = 0; i < 15; i++)
		ASSERT_OK(nvme_qpair_submit(qp, &io, nvme_test_done, &r[i]));
	ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, &r[15]), -EAGAIN);
	ASSERT_EQ(nvme_qpair_inflight(qp), 15);
	ASSERT_EQ(fake_nvme_run(f), 15);
	ASSERT_EQ(nvme_qpair_process(qp, 0), 15);
	for (int i = 0; i < 15; i++)
		ASSERT_EQ(r[i].calls, 1);
	ASSERT_OK(nvme_qpair_submit(qp, &io, nvme_test_done, &r[15]));
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_timeouts(void)
{
	struct fake_nvme *f = nvme_test_device(guest, GUEST_PAGES * 4096ull);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 1, 16);
	struct nvme_qpair *qp = nvme_ctrl_qpair(c, 0);
	struct nvme_ctrl_stats s;
	struct nvme_test_rec r[2] = {0};
	uint64_t page, t0, sec = 1000000000ull;
	struct nvme_io io = one_block(NVME_IO_WRITE, &page);

	/* A command the device fetched and sits on: the Abort gets it back. */
	f->hold_io = true;
	t0 = nvme_now_ns();
	ASSERT_OK(nvme_qpair_submit(qp, &io, nvme_test_done, &r[0]));
	ASSERT_EQ(f->nheld, 1);
	ASSERT_OK(nvme_ctrl_tick(c, t0));
	ASSERT_EQ(r[0].calls, 0);
	ASSERT_OK(nvme_ctrl_tick(c, t0 + 2 * sec));
	ASSERT_EQ(f->admin_count[NVME_ADMIN_ABORT], 1);
	nvme_qpair_process(qp, 0);
	ASSERT_EQ(r[0].calls, 1);
	ASSERT_EQ(r[0].err, -ETIMEDOUT);

	/* A command the device never fetched: the Abort finds nothing; a timeout later
	 * the caller gets -ETIMEDOUT, and the late completion is swallowed. */
	f->hold_io = false;
	f->io_manual = true;
	t0 = nvme_now_ns();
	ASSERT_OK(nvme_qpair_submit(qp, &io, nvme_test_done, &r[1]));
	ASSERT_OK(nvme_ctrl_tick(c, t0 + 2 * sec));
	ASSERT_EQ(f->admin_count[NVME_ADMIN_ABORT], 2);
	ASSERT_EQ(r[1].calls, 0);
	ASSERT_OK(nvme_ctrl_tick(c, t0 + 4 * sec));
	ASSERT_EQ(r[1].calls, 1);
	ASSERT_EQ(r[1].err, -ETIMEDOUT);
	ASSERT_EQ(nvme_qpair_inflight(qp), 1); /* its CID stays reserved */
	ASSERT_EQ(fake_nvme_run(f), 1);
	nvme_qpair_process(qp, 0);
	ASSERT_EQ(r[1].calls, 1);
	ASSERT_EQ(nvme_qpair_inflight(qp), 0);
	nvme_ctrl_stats(c, &s);
	ASSERT_EQ(s.timeouts, 2);
	ASSERT_EQ(s.admin_aborts, 2);
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_fatal_status(void)
{
	struct fake_nvme *f = nvme_test_device(guest, GUEST_PAGES * 4096ull);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 2, 16);
	struct nvme_test_rec r[3] = {0};
	uint64_t page;
	struct nvme_io io = one_block(NVME_IO_READ, &page);

	f->io_manual = true;
	ASSERT_OK(nvme_qpair_submit(nvme_ctrl_qpair(c, 0), &io, nvme_test_done, &r[0]));
	ASSERT_OK(nvme_qpair_submit(nvme_ctrl_qpair(c, 1), &io, nvme_test_done, &r[1]));
	ASSERT_OK(nvme_ctrl_check_health(c));
	f->csts |= NVME_CSTS_CFS;
	ASSERT_EQ(nvme_ctrl_check_health(c), -EIO);
	ASSERT_TRUE(nvme_ctrl_failed(c));
	ASSERT_EQ(r[0].err, -EIO);
	ASSERT_EQ(r[1].err, -EIO);
	ASSERT_EQ(nvme_qpair_submit(nvme_ctrl_qpair(c, 0), &io, nvme_test_done, &r[2]), -EIO);
	/* Completions arriving after all: no second call. */
	fake_nvme_run(f);
	nvme_qpair_process(nvme_ctrl_qpair(c, 0), 0);
	ASSERT_EQ(r[0].calls, 1);
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_hostile_completions(void)
{
	struct fake_nvme *f = nvme_test_device(guest, GUEST_PAGES * 4096ull);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 1, 16);
	struct nvme_qpair *qp = nvme_ctrl_qpair(c, 0);
	struct nvme_ctrl_stats s;
	struct nvme_test_rec r = {0};
	uint64_t page;
	struct nvme_io io = one_block(NVME_IO_READ, &page);

	f->io_manual = true;
	ASSERT_OK(nvme_qpair_submit(qp, &io, nvme_test_done, &r));
	fake_nvme_post_raw(f, 1, 0, 0, 1, 9, 0);      /* a CID not in flight */
	fake_nvme_post_raw(f, 1, 0, 0, 1, 0xfff0, 0); /* out of range */
	fake_nvme_post_raw(f, 1, 0, 0, 0, 0, 0);      /* the admin SQ's ID */
	ASSERT_EQ(nvme_qpair_process(qp, 0), 0);
	nvme_ctrl_stats(c, &s);
	ASSERT_EQ(s.bad_completions, 3);
	ASSERT_EQ(r.calls, 0);
	fake_nvme_run(f);
	ASSERT_EQ(nvme_qpair_process(qp, 0), 1);
	ASSERT_EQ(r.err, 0);
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_shutdown(void)
{
	struct fake_nvme *f = nvme_test_device(guest, GUEST_PAGES * 4096ull);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 1, 16);
	struct nvme_test_rec r = {0};
	uint64_t page;
	struct nvme_io io = one_block(NVME_IO_READ, &page);

	f->io_manual = true;
	ASSERT_OK(nvme_qpair_submit(nvme_ctrl_qpair(c, 0), &io, nvme_test_done, &r));
	ASSERT_EQ(f->nmaps, 2);
	ASSERT_OK(nvme_ctrl_shutdown(c));
	ASSERT_EQ(r.err, -ECANCELED);
	ASSERT_EQ(f->disables, 1);
	ASSERT_EQ(f->nmaps, 1); /* only the guest's left */
	fake_nvme_free(f);
}

int main(void)
{
	guest = aligned_alloc(4096, GUEST_PAGES * 4096ull);
	ASSERT_TRUE(guest);
	test_bring_up();
	test_read_write();
	test_flush_deallocate();
	test_refusals();
	test_timeouts();
	test_fatal_status();
	test_hostile_completions();
	test_shutdown();
	free(guest);
	return 0;
}
