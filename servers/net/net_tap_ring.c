/* SPDX-License-Identifier: MIT */
#include "net_tap_ring.h"

#include <assert.h>
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>

#include "macros.h"
#include "uring_lockdown.h"

/* A batch, its cancel, and a cancel again for a read that parked after it. */
#define RING_DEPTH 64u
static_assert(RING_DEPTH >= NET_TAP_RING_BATCH + 2u, "a batch and its cancels fit");
#define CANCEL_TAG UINT64_MAX
/* How long a read may still be running after its batch's cancel before it is cancelled
 * again (it was woken, found its frame gone to a later read, and parked anew). */
#define RECANCEL_NS 100000

struct net_tap_ring {
	struct io_uring ring;
	unsigned nfiles;
	bool armed;
	bool broken; /* an SQE may be stuck in the SQ, or cancels fail: never submit again */
};

static int fail(const char **why, const char *what, int err)
{
	if (why)
		*why = what;
	return err;
}

int net_tap_ring_new(struct net_tap_ring **ret, const char **why)
{
	struct net_tap_ring *r = calloc(1, sizeof(*r));
	if (!r)
		return fail(why, "out of memory", -ENOMEM);
	/* SUBMIT_ALL (Linux 5.18): one refused SQE does not hold back the rest of a batch. */
	struct io_uring_params p = {.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL};
	int err = io_uring_queue_init_params(RING_DEPTH, &r->ring, &p);
	if (err) {
		free(r);
		return fail(why, "unable to create a disabled io_uring (Linux 5.18 or later)", err);
	}
	/* Without EXT_ARG (Linux 5.11) a timed wait would submit a TIMEOUT, which the lock-down
	 * refuses. */
	if (!(r->ring.features & IORING_FEAT_EXT_ARG)) {
		net_tap_ring_free(r);
		return fail(why, "io_uring has no timed wait (Linux 5.11 or later)", -EOPNOTSUPP);
	}
	*ret = r;
	return 0;
}

int net_tap_ring_arm(struct net_tap_ring *r, const int *fds, unsigned n, const char **why)
{
	static const uint8_t ops[] = {IORING_OP_READV, IORING_OP_ASYNC_CANCEL};

	if (r->armed || n == 0)
		return fail(why, "armed already, or no queues", -EINVAL);
	int err = io_uring_register_files(&r->ring, fds, n);
	if (err)
		return fail(why, "unable to register the TAP queues with io_uring", err);
	err = uring_lock_down(&r->ring, ops, ARRAY_SIZE(ops));
	if (err)
		return fail(why, "unable to restrict and enable an io_uring", err);
	r->nfiles = n;
	r->armed = true;
	return 0;
}

bool net_tap_ring_armed(const struct net_tap_ring *r)
{
	return r && r->armed && !r->broken;
}

/* Cancels every read still parked (CANCEL_ANY, Linux 5.19). */
static void queue_cancel(struct net_tap_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	sqe->flags = IOSQE_FIXED_FILE; /* the lock-down wants it on every SQE; unused here */
	sqe->user_data = CANCEL_TAG;
}

/* Pushes every prepared SQE to the kernel. A submit that takes nothing leaves them in the
 * SQ, where they must never run later with stale buffers: the ring is then broken. */
static int submit_all(struct net_tap_ring *r)
{
	for (int tries = 0; io_uring_sq_ready(&r->ring) > 0; tries++) {
		int s = io_uring_submit(&r->ring);
		if (s < 0 && s != -EINTR && (s != -EAGAIN || tries >= 3)) {
			r->broken = true;
			return s;
		}
	}
	return 0;
}

int net_tap_ring_readv(struct net_tap_ring *r, unsigned idx, const struct iovec *const *vecs,
		       const unsigned *cnts, unsigned n, int *res, uint8_t *order)
{
	if (!net_tap_ring_armed(r))
		return -ENODEV;
	if (n == 0 || n > NET_TAP_RING_BATCH || idx >= r->nfiles)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (cnts[i] == 0 || cnts[i] > NET_TAP_RING_IOV)
			return -EINVAL;
	}
	/* The SQ is empty here (every call submits all it prepared), so these cannot fail. */
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
		io_uring_prep_readv(sqe, (int)idx, vecs[i], cnts[i], 0);
		sqe->flags = IOSQE_FIXED_FILE;
		sqe->user_data = i;
		res[i] = -ECANCELED;
	}
	queue_cancel(r);
	int err = submit_all(r);
	/* What went in completes; what is stuck in a broken ring's SQ never runs. */
	unsigned pending = n + 1u - io_uring_sq_ready(&r->ring);
	if (err < 0 && pending == 0)
		return err;

	unsigned k = 0;
	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&r->ring, head, cqe)
		{
			seen++;
			if (cqe->user_data == CANCEL_TAG) {
				pending--;
				/* A kernel without CANCEL_ANY: parked reads finish only with
				 * frames. Wait for them this once; no more batches. */
				if (cqe->res == -EINVAL)
					r->broken = true;
				continue;
			}
			if (cqe->user_data >= n)
				continue; /* not ours: cannot happen, the SQ was empty */
			unsigned i = (unsigned)cqe->user_data;
			pending--;
			res[i] = cqe->res;
			if (res[i] != -EAGAIN && res[i] != -ECANCELED)
				order[k++] = (uint8_t)i;
		}
		io_uring_cq_advance(&r->ring, seen);
		if (pending == 0)
			return k;

		struct __kernel_timespec ts = {.tv_nsec = RECANCEL_NS};
		int w = io_uring_wait_cqe_timeout(&r->ring, &cqe, r->broken ? NULL : &ts);
		if (w == -ETIME && !r->broken) {
			queue_cancel(r);
			if (submit_all(r) == 0)
				pending++; /* else broken now: the parked reads end with frames */
		}
	}
}

struct io_uring *net_tap_ring__ring(struct net_tap_ring *r)
{
	return &r->ring;
}

struct net_tap_ring *net_tap_ring_free(struct net_tap_ring *r)
{
	if (!r)
		return NULL;
	io_uring_queue_exit(&r->ring);
	free(r);
	return NULL;
}
