/* SPDX-License-Identifier: MIT */
/*
 * lib/mana's keepalive against the GDMA/MANA device model (mana_tdev.h): a driver is
 * closed with work in flight (as a killed process leaves it) and the next one adopts the
 * function from the memfd:
 *   - resume: TX completions left unreaped come back as stale, RX frames left waiting
 *     come out once, both ways go on across several adoptions and ring wraps, and the
 *     device sees no HWC request;
 *   - a kill between a commit and its doorbell: adoption rings it, the frame leaves once
 *     and the RQ gets its buffer back;
 *   - a kill before a commit: the received frame is handed out again (the first hand-out
 *     never returned), the unposted TX frame never leaves;
 *   - a transport that lost the client's maps and vectors (vfio-user reconnect);
 *   - hostile states: every field out of range, configurations that differ, an unsealed
 *     or resized memfd: each refused with -ESTALE before the device is touched, and the
 *     untouched state still adopts afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macros.h"
#include "mana.h"
#include "mana_internal.h"
#include "mana_tdev.h"
#include "test.h"

#define NQ 2u
#define RQ 0u /* the model delivers every frame to the default RX object: queue 0's */

static int adopt(struct tdev *t, int fd)
{
	struct mana_opts o = tdev_opts(NQ);

	return mana_dev_adopt(&t->da, fd, &o, &t->drv);
}

/* Closes the driver as a killed process leaves it; returns its memfd (a copy of it). */
static int leave(struct tdev *t)
{
	int fd = dup(mana_dev_mem_fd(t->drv));

	ASSERT_GE(fd, 0);
	mana_dev_close(t->drv);
	t->drv = NULL;
	return fd;
}

/* Leaves and adopts again; the new driver must say so. */
static void restart(struct tdev *t)
{
	struct mana_info info;
	int fd = leave(t);

	ASSERT_OK(adopt(t, fd));
	mana_dev_info(t->drv, &info);
	ASSERT_TRUE(info.adopted);
	ASSERT_EQ(info.nr_queues, NQ);
}

static uint64_t hwc_requests(struct tdev *t)
{
	struct gdma_model_stats ms;

	gdma_model_get_stats(t->m, &ms);
	return ms.hwc_requests;
}

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1;
}

static void send_frame(struct tdev *t, unsigned q, size_t len, uint8_t seed)
{
	uint8_t f[MANA_BUF_SIZE];
	struct iovec iov = {f, len};
	unsigned before = t->nout;

	tdev_make_frame(f, len, seed);
	ASSERT_OK(mana_tx(mana_dev_queue(t->drv, q), &iov, 1, NULL));
	if (!t->drop_doorbells) {
		ASSERT_EQ(t->nout, before + 1);
		ASSERT_EQ(t->out_len[before], len);
		ASSERT_TRUE(memcmp(t->out[before], f, len) == 0);
		t->nout = 0;
	}
}

/* The next frame on queue q is the one made from (len, seed). */
static void expect_frame(struct tdev *t, unsigned q, size_t len, uint8_t seed)
{
	uint8_t want[MANA_BUF_SIZE], got[MANA_BUF_SIZE];
	struct iovec iov = {got, sizeof(got)};
	size_t n = 0;

	tdev_make_frame(want, len, seed);
	ASSERT_OK(mana_rx(mana_dev_queue(t->drv, q), &iov, 1, &n, NULL));
	ASSERT_EQ(n, len);
	ASSERT_TRUE(memcmp(got, want, len) == 0);
}

static void expect_no_frame(struct tdev *t, unsigned q)
{
	uint8_t got[MANA_BUF_SIZE];
	struct iovec iov = {got, sizeof(got)};
	size_t n;

	ASSERT_EQ(mana_rx(mana_dev_queue(t->drv, q), &iov, 1, &n, NULL), -EAGAIN);
}

static void frame_in(struct tdev *t, size_t len, uint8_t seed)
{
	uint8_t f[MANA_BUF_SIZE];

	tdev_make_frame(f, len, seed);
	ASSERT_OK(gdma_model_frame_in(t->m, f, len));
}

static void test_resume(void)
{
	struct tdev *t = tdev_bring_up(NQ);
	uint64_t hwc = hwc_requests(t);
	struct mana_stats s;
	struct mana_queue *q;

	/* Three TX completions, one reaped; three frames received, one taken. */
	for (unsigned i = 0; i < 3; i++)
		send_frame(t, 0, 60 + i, (uint8_t)i);
	ASSERT_EQ(mana_tx_reap(mana_dev_queue(t->drv, 0)), 3);
	for (unsigned i = 0; i < 3; i++)
		send_frame(t, 0, 60 + i, (uint8_t)i);
	ASSERT_OK(mana_queue_arm(mana_dev_queue(t->drv, 0)));
	for (unsigned i = 0; i < 3; i++)
		frame_in(t, 100 + i, (uint8_t)(10 + i));
	expect_frame(t, RQ, 100, 10);

	restart(t);
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.adopt_tx_in_flight, 3);
	ASSERT_UEQ(s.adopt_rx_pending, 2);
	/* Each queue looks once, whatever the device signalled while nobody listened. */
	for (unsigned i = 0; i < NQ; i++)
		ASSERT_TRUE(readable(mana_queue_fd(mana_dev_queue(t->drv, i))));
	q = mana_dev_queue(t->drv, 0);
	ASSERT_EQ(mana_tx_reap(q), 3);
	ASSERT_EQ(mana_tx_reap(q), 0);
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.stale_tx_completions, 3);
	expect_frame(t, RQ, 101, 11);
	expect_frame(t, RQ, 102, 12);
	expect_no_frame(t, RQ);

	/* Several adoptions with traffic that wraps every ring (and its owner bits). */
	for (unsigned round = 0; round < 4; round++) {
		for (unsigned i = 0; i < 3 * MANA_QUEUE_DEPTH / 2; i++) {
			uint8_t seed = (uint8_t)(round * 50 + i);

			send_frame(t, i % NQ, 64 + i % 200, seed);
			if (i % 5 == 0) {
				ASSERT_GT(mana_tx_reap(mana_dev_queue(t->drv, 0)) +
					      mana_tx_reap(mana_dev_queue(t->drv, 1)),
					  0);
			}
			frame_in(t, 90 + i % 300, seed);
			expect_frame(t, RQ, 90 + i % 300, seed);
			if (i % 7 == 0)
				for (unsigned k = 0; k < NQ; k++)
					ASSERT_OK(mana_queue_arm(mana_dev_queue(t->drv, k)));
		}
		restart(t);
		mana_dev_stats(t->drv, &s);
		ASSERT_LE(s.adopt_tx_in_flight, 2u * MANA_QUEUE_DEPTH);
		for (unsigned k = 0; k < NQ; k++) {
			(void)mana_tx_reap(mana_dev_queue(t->drv, k));
			ASSERT_OK(mana_queue_arm(mana_dev_queue(t->drv, k)));
		}
		mana_dev_stats(t->drv, &s);
		ASSERT_UEQ(s.stale_tx_completions, s.adopt_tx_in_flight);
	}
	ASSERT_UEQ(hwc_requests(t), hwc);
	tdev_assert_device_clean(t);
	tdev_assert_driver_clean(t);
	tdev_free(t);
}

static void test_lost_doorbells(void)
{
	struct tdev *t = tdev_bring_up(NQ);
	unsigned accepted = 0;

	/* Committed, but the kill came before the doorbells reached the device. */
	t->drop_doorbells = true;
	send_frame(t, 1, 200, 77);
	ASSERT_EQ(t->nout, 0);
	frame_in(t, 150, 5);
	expect_frame(t, RQ, 150, 5);
	t->drop_doorbells = false;

	restart(t);
	/* The SQ doorbell again: the frame leaves, once. */
	ASSERT_EQ(t->nout, 1);
	{
		uint8_t f[200];

		tdev_make_frame(f, sizeof(f), 77);
		ASSERT_EQ(t->out_len[0], sizeof(f));
		ASSERT_TRUE(memcmp(t->out[0], f, sizeof(f)) == 0);
	}
	t->nout = 0;
	ASSERT_EQ(mana_tx_reap(mana_dev_queue(t->drv, 1)), 1);
	/* The RQ doorbell again: every buffer is the device's. */
	for (unsigned i = 0; i < MANA_QUEUE_DEPTH + 1; i++) {
		uint8_t f[80];

		tdev_make_frame(f, sizeof(f), (uint8_t)i);
		if (gdma_model_frame_in(t->m, f, sizeof(f)) == 0)
			accepted++;
	}
	ASSERT_EQ(accepted, MANA_QUEUE_DEPTH);
	for (unsigned i = 0; i < MANA_QUEUE_DEPTH; i++)
		expect_frame(t, RQ, 80, (uint8_t)i);
	expect_no_frame(t, RQ);
	tdev_assert_device_clean(t);
	tdev_assert_driver_clean(t);
	tdev_free(t);
}

/* A copy of the state page, to play a kill that came before a commit. */
static void state_save(struct tdev *t, uint8_t *page)
{
	memcpy(page, t->drv->st, MANA_STATE_BYTES);
}

static void state_restore(struct tdev *t, const uint8_t *page)
{
	memcpy(t->drv->st, page, MANA_STATE_BYTES);
}

static void test_uncommitted(void)
{
	static uint8_t page[MANA_STATE_BYTES];
	struct tdev *t = tdev_bring_up(NQ);
	struct mana_stats s;

	/* RX: the frame was copied out, the kill came before the commit (and so before the
	 * repost's doorbell): the caller never got it, the next instance hands it out. */
	frame_in(t, 300, 9);
	state_save(t, page);
	t->drop_doorbells = true;
	expect_frame(t, RQ, 300, 9);
	t->drop_doorbells = false;
	state_restore(t, page);
	restart(t);
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.adopt_rx_pending, 1);
	expect_frame(t, RQ, 300, 9);
	expect_no_frame(t, RQ);

	/* TX: frame and WQE written, the kill came before the commit: it never leaves, and
	 * the next frame takes its place. */
	state_save(t, page);
	t->drop_doorbells = true;
	send_frame(t, 0, 120, 1);
	t->drop_doorbells = false;
	state_restore(t, page);
	restart(t);
	ASSERT_EQ(t->nout, 0);
	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.adopt_tx_in_flight, 0);
	send_frame(t, 0, 130, 2);
	ASSERT_EQ(mana_tx_reap(mana_dev_queue(t->drv, 0)), 1);
	tdev_assert_device_clean(t);
	tdev_assert_driver_clean(t);
	tdev_free(t);
}

static void test_reconnect(void)
{
	struct tdev *t = tdev_bring_up(NQ);
	int fd = leave(t);

	/* A vfio-user client that left: the emulator dropped its maps and eventfds. */
	tdev_forget(t);
	ASSERT_OK(adopt(t, fd));
	ASSERT_EQ(t->nmaps, 1);
	ASSERT_EQ(t->nirq, NQ + 1);
	send_frame(t, 1, 70, 3);
	frame_in(t, 71, 4);
	expect_frame(t, RQ, 71, 4);
	tdev_assert_device_clean(t);
	tdev_free(t);
}

/* ---- hostile states ---- */

typedef void (*mutate_fn)(struct mana_state *s);

#define MUTATION(name, stmt)                                                                       \
	static void name(struct mana_state *s)                                                     \
	{                                                                                          \
		stmt;                                                                              \
	}

MUTATION(bad_magic, s->magic ^= 1)
MUTATION(bad_version, s->version++)
MUTATION(not_ready, s->flags = 0)
MUTATION(unknown_flag, s->flags |= 2)
MUTATION(bad_size, s->size += GDMA_PAGE_SIZE)
MUTATION(no_queues_laid_out, s->nq_alloc = 0)
MUTATION(too_many_laid_out, s->nq_alloc = MANA_MAX_QUEUES + 1)
MUTATION(other_layout, s->nq_alloc = 1)
MUTATION(no_queues, s->nq = 0)
MUTATION(more_queues_than_laid_out, s->nq = NQ + 1)
MUTATION(other_iova, s->mem_iova += GDMA_PAGE_SIZE)
MUTATION(unaligned_iova, s->mem_iova += 8)
MUTATION(db_outside_bar, s->db_id = 1000)
MUTATION(no_vport, s->vport = MANA_INVALID_HANDLE)
MUTATION(vport_offset_too_big, s->tx_vport_offset = 0x1000)
MUTATION(short_form_too_far, (s->tx_short_form = 1, s->tx_vport_offset = 0x100))
MUTATION(short_form_not_bool, s->tx_short_form = 2)
MUTATION(reserved_set, s->reserved1[4] = 1)
MUTATION(vector_wrong, s->q[1].msix = 1)
MUTATION(vector_missing, s->q[1].msix = 8)
MUTATION(eq_id_too_big, s->q[0].eq_id = 0x10000)
MUTATION(sq_id_too_big, s->q[0].sq_id = 0x1000000)
MUTATION(rq_id_too_big, s->q[1].rq_id = 0xffffffff)
MUTATION(cq_id_too_big, s->q[1].rx_cq_id = 0x1000000)
MUTATION(cqs_shared, s->q[0].rx_cq_id = s->q[0].tx_cq_id)
MUTATION(no_sq_object, s->q[0].sq_obj = MANA_INVALID_HANDLE)
MUTATION(no_rq_object, s->q[1].rq_obj = MANA_INVALID_HANDLE)
MUTATION(too_many_in_flight,
	 s->q[0].tx_posted = MANA_POS_DONE(s->q[0].tx_pos) + MANA_QUEUE_DEPTH + 1)
MUTATION(done_past_posted, s->q[1].tx_pos = MANA_POS(0, s->q[1].tx_posted + 1))
MUTATION(queue_reserved_set, s->q[1].reserved[0] = 1)

static const struct {
	const char *name;
	mutate_fn fn;
} mutations[] = {
#define M(n)                                                                                       \
	{                                                                                          \
#n, n                                                                              \
	}
    M(bad_magic),
    M(bad_version),
    M(not_ready),
    M(unknown_flag),
    M(bad_size),
    M(no_queues_laid_out),
    M(too_many_laid_out),
    M(other_layout),
    M(no_queues),
    M(more_queues_than_laid_out),
    M(other_iova),
    M(unaligned_iova),
    M(db_outside_bar),
    M(no_vport),
    M(vport_offset_too_big),
    M(short_form_too_far),
    M(short_form_not_bool),
    M(reserved_set),
    M(vector_wrong),
    M(vector_missing),
    M(eq_id_too_big),
    M(sq_id_too_big),
    M(rq_id_too_big),
    M(cq_id_too_big),
    M(cqs_shared),
    M(no_sq_object),
    M(no_rq_object),
    M(too_many_in_flight),
    M(done_past_posted),
    M(queue_reserved_set),
#undef M
};

/* adopt must refuse, with nothing written to the device or the memfd. */
static void assert_refused(struct tdev *t, int fd, const struct mana_opts *o, const char *why)
{
	static uint8_t before[MANA_STATE_BYTES], after[MANA_STATE_BYTES];
	unsigned writes = t->bar_writes, sets = t->irq_sets, maps = t->nmaps;
	struct mana_dev *d = NULL;
	int r;

	ASSERT_EQ(pread(fd, before, sizeof(before), 0), (ssize_t)sizeof(before));
	r = mana_dev_adopt(&t->da, fd, o, &d);
	if (r != -ESTALE)
		TEST_FAIL_("%s: adopt gave %d", why, r);
	ASSERT_TRUE(d == NULL);
	ASSERT_EQ(t->bar_writes, writes);
	ASSERT_EQ(t->irq_sets, sets);
	ASSERT_EQ(t->nmaps, maps);
	ASSERT_EQ(pread(fd, after, sizeof(after), 0), (ssize_t)sizeof(after));
	ASSERT_TRUE(memcmp(before, after, sizeof(before)) == 0);
	ASSERT_GE(fcntl(fd, F_GETFD), 0); /* still open: still the caller's */
}

/* A copy of fd's bytes in a new memfd with the given seals and size. */
static int copy_memfd(int fd, size_t size, bool seal)
{
	static uint8_t buf[1 << 16];
	int c = memfd_create("copy", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ssize_t n;
	off_t at = 0;

	ASSERT_GE(c, 0);
	ASSERT_OK(ftruncate(c, (off_t)size));
	while ((size_t)at < size &&
	       (n = pread(fd, buf, MIN(sizeof(buf), size - (size_t)at), at)) > 0) {
		ASSERT_EQ(pwrite(c, buf, (size_t)n, at), n);
		at += n;
	}
	if (seal)
		ASSERT_OK(fcntl(c, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	return c;
}

static void test_hostile_state(void)
{
	struct tdev *t = tdev_bring_up(NQ);
	struct mana_opts o = tdev_opts(NQ);
	struct mana_state good, *s;
	int fd = leave(t), c;
	size_t size = (size_t)mana__layout_size(NQ);

	s = mmap(NULL, MANA_STATE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_TRUE(s != MAP_FAILED);
	memcpy(&good, s, sizeof(good));
	for (size_t i = 0; i < ARRAY_SIZE(mutations); i++) {
		mutations[i].fn(s);
		assert_refused(t, fd, &o, mutations[i].name);
		memcpy(s, &good, sizeof(good));
	}
	/* The caller's configuration changed. */
	o.nr_queues = 1;
	assert_refused(t, fd, &o, "fewer queues asked for");
	o = tdev_opts(NQ);
	o.mem_iova += 1ull << 30;
	assert_refused(t, fd, &o, "another IOVA");
	o = tdev_opts(NQ);
	/* The memfd itself: not sealed, or of another size. */
	c = copy_memfd(fd, size, false);
	assert_refused(t, c, &o, "unsealed memfd");
	close(c);
	c = copy_memfd(fd, size + GDMA_PAGE_SIZE, true);
	assert_refused(t, c, &o, "memfd too long");
	close(c);
	c = copy_memfd(fd, MANA_STATE_BYTES, true);
	assert_refused(t, c, &o, "memfd too short");
	close(c);
	ASSERT_EQ(mana_dev_adopt(&t->da, -1, &o, &t->drv), -EBADF);

	/* Untouched by all that, the state adopts and the function works. */
	munmap(s, MANA_STATE_BYTES);
	ASSERT_OK(adopt(t, fd));
	send_frame(t, 0, 99, 42);
	frame_in(t, 98, 43);
	expect_frame(t, RQ, 98, 43);
	tdev_assert_device_clean(t);
	tdev_assert_driver_clean(t);
	tdev_free(t);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
	    {"resume", test_resume},
	    {"lost_doorbells", test_lost_doorbells},
	    {"uncommitted", test_uncommitted},
	    {"reconnect", test_reconnect},
	    {"hostile_state", test_hostile_state},
	};

	return test_run_cases(cases, ARRAY_SIZE(cases), argc, argv);
}
