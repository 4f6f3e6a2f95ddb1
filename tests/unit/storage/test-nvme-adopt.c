/* SPDX-License-Identifier: MIT */
/*
 * lib/nvme/adopt.c against the test device: an instance brings the controller up, leaves
 * writes in flight and goes away (nvme_ctrl_close, as a process that dies or execs); the
 * next adopts it from the same device and the state memfd. Checked: no admin command and
 * no reset, stale completions drained and reported once, never confused with new
 * commands, doorbells re-rung, interrupts re-routed, the timeout path for stale commands
 * the device sits on, and the states adoption must refuse.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macros.h"
#include "nvme_internal.h"
#include "nvme_test.h"

static uint8_t *guest;

struct stale_log {
	unsigned calls;
	unsigned writes;
	int last_err;
	uint64_t lbas;
};

static void stale_cb(void *opaque, uint16_t qid, const struct nvme_sqe *sqe, int err)
{
	struct stale_log *l = opaque;

	l->calls++;
	l->last_err = err;
	if (NVME_SQE_OPCODE(sqe->cdw0) == NVME_CMD_WRITE) {
		l->writes++;
		l->lbas += sqe->cdw10;
	}
}

/* n writes of one block each (LBA 10 * i, pattern i) on queue pair q. */
static void submit_writes(struct nvme_ctrl *c, unsigned q, unsigned n, struct nvme_test_rec *r)
{
	static uint64_t pages[16];

	for (unsigned i = 0; i < n; i++) {
		struct nvme_io io = {.op = NVME_IO_WRITE,
				     .nsid = 1,
				     .slba = 10 * (i + 1),
				     .nblocks = 1,
				     .pages = &pages[i],
				     .npages = 1};

		pages[i] = NVME_TEST_GUEST_BASE + (uint64_t)i * 4096;
		memset(guest + i * 4096, 0x30 + (int)i, 512);
		ASSERT_OK(nvme_qpair_submit(nvme_ctrl_qpair(c, q), &io, nvme_test_done, &r[i]));
	}
}

static unsigned admin_total(const struct fake_nvme *f)
{
	unsigned n = 0;

	for (unsigned i = 0; i < 256; i++)
		n += f->admin_count[i];
	return n;
}

/* The previous instance goes away; the state memfd survives in a copy. */
static int leave(struct nvme_ctrl *c)
{
	int fd = fcntl(nvme_ctrl_state_fd(c), F_DUPFD_CLOEXEC, 3);

	ASSERT_GE(fd, 0);
	nvme_ctrl_close(c);
	return fd;
}

static void test_adopt_drains(void)
{
	struct fake_nvme *f = nvme_test_device(guest, 64 * 4096);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 2, 8);
	struct nvme_test_rec r[8] = {0}, fresh = {0};
	struct stale_log log = {0};
	struct nvme_adopt_opts ao = {
	    .stale_fn = stale_cb, .opaque = &log, .drain_timeout_ms = 1000};
	struct nvme_ctrl_stats s;
	unsigned admin_before, enables_before;
	int fd;

	f->io_manual = true;
	submit_writes(c, 0, 3, r);
	submit_writes(c, 1, 2, r + 3);
	admin_before = admin_total(f);
	enables_before = f->enables;
	fd = leave(c);
	/* While no process runs, the device does the writes. */
	ASSERT_EQ(fake_nvme_run(f), 5);

	ASSERT_OK(nvme_ctrl_adopt(&f->da, fd, &ao, &c));
	nvme_ctrl_stats(c, &s);
	ASSERT_EQ(s.stale_at_adopt, 5);
	ASSERT_EQ(s.stale_completed, 5);
	ASSERT_EQ(log.calls, 5);
	ASSERT_EQ(log.writes, 5);
	ASSERT_EQ(log.lbas, 10 + 20 + 30 + 10 + 20);
	ASSERT_EQ(log.last_err, 0);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(r[i].calls, 0); /* their callers went away with the old instance */
	ASSERT_EQ(nvme_qpair_stale(nvme_ctrl_qpair(c, 0)), 0);
	ASSERT_EQ(f->disk[30 * 512], 0x32);
	/* Nothing was asked of the controller. */
	ASSERT_EQ(admin_total(f), admin_before);
	ASSERT_EQ(s.admin_submitted, 0);
	ASSERT_EQ(f->enables, enables_before);
	ASSERT_EQ(f->disables, 0);
	ASSERT_STREQ(nvme_ctrl_info(c)->model, "mhcl test nvme");
	ASSERT_EQ(nvme_ctrl_ns(c, 0)->nblocks, NVME_TEST_NBLOCKS);
	ASSERT_EQ(nvme_ctrl_qpair_count(c), 2);

	/* New I/O goes on, its interrupt on the eventfd registered at adoption. */
	f->io_manual = false;
	submit_writes(c, 1, 1, &fresh);
	{
		struct pollfd p = {.fd = nvme_qpair_eventfd(nvme_ctrl_qpair(c, 1)),
				   .events = POLLIN};
		ASSERT_EQ(poll(&p, 1, 0), 1);
	}
	ASSERT_EQ(nvme_qpair_process(nvme_ctrl_qpair(c, 1), 0), 1);
	ASSERT_EQ(fresh.calls, 1);
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_stale_not_confused(void)
{
	struct fake_nvme *f = nvme_test_device(guest, 64 * 4096);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 2, 8);
	struct nvme_test_rec r[8] = {0}, fresh[8] = {0};
	struct stale_log log = {0};
	struct nvme_adopt_opts ao = {.stale_fn = stale_cb, .opaque = &log};
	struct nvme_qpair *qp;
	int fd;

	f->io_manual = true;
	submit_writes(c, 0, 4, r);
	fd = leave(c);
	ASSERT_OK(nvme_ctrl_adopt(&f->da, fd, &ao, &c));
	qp = nvme_ctrl_qpair(c, 0);
	ASSERT_EQ(nvme_qpair_stale(qp), 4);
	/* 7 CIDs, 4 reserved: only 3 new commands fit. */
	submit_writes(c, 0, 3, fresh);
	{
		uint64_t page = NVME_TEST_GUEST_BASE;
		struct nvme_io io = {
		    .op = NVME_IO_READ, .nsid = 1, .nblocks = 1, .pages = &page, .npages = 1};
		ASSERT_EQ(nvme_qpair_submit(qp, &io, nvme_test_done, &fresh[3]), -EAGAIN);
	}
	ASSERT_EQ(fake_nvme_run(f), 7);
	ASSERT_EQ(nvme_qpair_process(qp, 0), 7);
	ASSERT_EQ(log.calls, 4);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(fresh[i].calls, 1);
	ASSERT_EQ(nvme_qpair_stale(qp), 0);
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_doorbell_rerung(void)
{
	struct fake_nvme *f = nvme_test_device(guest, 64 * 4096);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 2, 8);
	struct nvme_test_rec r[2] = {0};
	struct stale_log log = {0};
	struct nvme_adopt_opts ao = {
	    .stale_fn = stale_cb, .opaque = &log, .drain_timeout_ms = 1000};
	uint32_t tail_before;
	int fd;

	f->io_manual = true;
	submit_writes(c, 0, 1, r);
	tail_before = f->sq[1].tail;
	submit_writes(c, 0, 1, r + 1);
	/* The process died between recording the command and ringing its doorbell. */
	f->sq[1].tail = tail_before;
	fd = leave(c);
	f->io_manual = false;
	ASSERT_OK(nvme_ctrl_adopt(&f->da, fd, &ao, &c));
	ASSERT_EQ(f->sq[1].tail, tail_before + 1);
	ASSERT_EQ(log.calls, 2);
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_stale_timeout(void)
{
	struct fake_nvme *f = nvme_test_device(guest, 64 * 4096);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 2, 8);
	struct nvme_test_rec r[1] = {0};
	struct stale_log log = {0};
	struct nvme_adopt_opts ao = {.stale_fn = stale_cb, .opaque = &log, .drain_timeout_ms = 1};
	int fd;

	f->hold_io = true;
	submit_writes(c, 1, 1, r);
	fd = leave(c);
	ASSERT_OK(nvme_ctrl_adopt(&f->da, fd, &ao, &c));
	ASSERT_EQ(nvme_qpair_stale(nvme_ctrl_qpair(c, 1)), 1);
	/* Its deadline came with it: the Abort goes out, the device gives it back. */
	ASSERT_OK(nvme_ctrl_tick(c, nvme_now_ns() + 2000000000ull));
	ASSERT_EQ(f->admin_count[NVME_ADMIN_ABORT], 1);
	nvme_qpair_process(nvme_ctrl_qpair(c, 1), 0);
	ASSERT_EQ(log.calls, 1);
	ASSERT_EQ(log.last_err, -ETIMEDOUT);
	ASSERT_EQ(nvme_qpair_stale(nvme_ctrl_qpair(c, 1)), 0);
	nvme_ctrl_close(c);
	fake_nvme_free(f);
}

static void test_refusals(void)
{
	struct fake_nvme *f = nvme_test_device(guest, 64 * 4096);
	struct nvme_ctrl *c = nvme_test_bring_up(f, 2, 8), *c2 = NULL;
	struct nvme_state_hdr *h;
	uint64_t asq;
	int fd, bad;

	fd = leave(c);
	h = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(h != MAP_FAILED);

	/* A controller that is not ready, or was reset (its admin queue elsewhere). */
	f->csts = 0;
	ASSERT_EQ(nvme_ctrl_adopt(&f->da, fd, NULL, &c2), -EIO);
	f->csts = NVME_CSTS_RDY;
	asq = f->asq;
	f->asq = 0;
	ASSERT_EQ(nvme_ctrl_adopt(&f->da, fd, NULL, &c2), -ESTALE);
	f->asq = asq;

	/* States that are not ours, or that we would misread. */
	h->q[1].depth = 9;
	ASSERT_EQ(nvme_ctrl_adopt(&f->da, fd, NULL, &c2), -ESTALE);
	h->q[1].depth = 8;
	h->q[1].cq_pos = NVME_CQ_POS(8, 1);
	ASSERT_EQ(nvme_ctrl_adopt(&f->da, fd, NULL, &c2), -ESTALE);
	h->q[1].cq_pos = NVME_CQ_POS(0, 1);
	h->nq = 7;
	ASSERT_EQ(nvme_ctrl_adopt(&f->da, fd, NULL, &c2), -ESTALE);
	h->nq = 3;
	h->magic ^= 1;
	ASSERT_EQ(nvme_ctrl_adopt(&f->da, fd, NULL, &c2), -ESTALE);
	h->magic ^= 1;
	bad = memfd_create("unsealed", MFD_CLOEXEC);
	ASSERT_OK(ftruncate(bad, 4096));
	ASSERT_EQ(nvme_ctrl_adopt(&f->da, bad, NULL, &c2), -ESTALE);
	close(bad);

	/* All fields back: it adopts; after an orderly shutdown it never does again. */
	ASSERT_OK(nvme_ctrl_adopt(&f->da, fd, NULL, &c2));
	fd = fcntl(nvme_ctrl_state_fd(c2), F_DUPFD_CLOEXEC, 3);
	ASSERT_OK(nvme_ctrl_shutdown(c2));
	f->csts = NVME_CSTS_RDY;
	ASSERT_EQ(nvme_ctrl_adopt(&f->da, fd, NULL, &c2), -ESTALE);
	munmap(h, 4096);
	close(fd);
	fake_nvme_free(f);
}

int main(void)
{
	guest = aligned_alloc(4096, 64 * 4096);
	ASSERT_TRUE(guest);
	test_adopt_drains();
	test_stale_not_confused();
	test_doorbell_rerung();
	test_stale_timeout();
	test_refusals();
	free(guest);
	return 0;
}
