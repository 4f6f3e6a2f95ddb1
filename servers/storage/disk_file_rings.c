/* SPDX-License-Identifier: MIT */
#include "disk_file_rings.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "macros.h"
#include "uring_lockdown.h"

struct file_rings {
	unsigned refs; /* atomic: the disk, and one per lent ring */
	unsigned n;
	struct file_ring rings[];
};

static int fail(const char **why, const char *what, int err)
{
	if (why)
		*why = what;
	return err;
}

/* One ring, disabled until everything it may do is fixed. */
static int ring_new(struct file_ring *r, unsigned depth, const int *fds, unsigned nfds,
		    const char **why)
{
	/* SUBMIT_ALL (Linux 5.18) keeps one bad SQE from holding back the rest of a batch;
	 * without it, a short submit leaves the rest in the SQ for the next one. */
	static const uint8_t ops[] = FILE_RING_OPS;
	struct io_uring_params p = {.flags = IORING_SETUP_R_DISABLED | IORING_SETUP_SUBMIT_ALL};
	const char *what;
	int err;

	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0)
		return fail(why, "unable to create an eventfd", -errno);
	err = io_uring_queue_init_params(depth, &r->ring, &p);
	if (err == -EINVAL) {
		p = (struct io_uring_params){.flags = IORING_SETUP_R_DISABLED};
		err = io_uring_queue_init_params(depth, &r->ring, &p);
	}
	if (err) {
		close(r->efd);
		return fail(why, "unable to create a disabled io_uring (Linux 5.10 or later)", err);
	}
	what = "unable to register the disk's files with io_uring";
	err = io_uring_register_files(&r->ring, fds, nfds);
	if (err)
		goto fail_ring;
	what = "unable to register an eventfd with io_uring";
	err = io_uring_register_eventfd(&r->ring, r->efd);
	if (err)
		goto fail_ring;
	what = "unable to restrict and enable an io_uring";
	err = uring_lock_down(&r->ring, ops, ARRAY_SIZE(ops));
	if (err)
		goto fail_ring;
	return 0;

fail_ring:
	io_uring_queue_exit(&r->ring);
	close(r->efd);
	return fail(why, what, err);
}

static void ring_destroy(struct file_ring *r)
{
	io_uring_queue_exit(&r->ring);
	close(r->efd);
	__atomic_store_n(&r->dead, true, __ATOMIC_RELAXED); /* and lent stays set */
}

static void set_free(struct file_rings *set)
{
	for (unsigned i = 0; i < set->n; i++)
		if (!set->rings[i].dead)
			ring_destroy(&set->rings[i]);
	free(set);
}

static void set_unref(struct file_rings *set)
{
	if (__atomic_sub_fetch(&set->refs, 1, __ATOMIC_ACQ_REL) == 0)
		set_free(set);
}

int file_rings_new(unsigned n, unsigned depth, const int *fds, unsigned nfds,
		   struct file_rings **ret, const char **why)
{
	struct file_rings *set;
	int err;

	if (!n || n > FILE_RINGS_MAX || !nfds || nfds > 2)
		return fail(why, "bad number of queues", -EINVAL);
	set = calloc(1, sizeof(*set) + n * sizeof(set->rings[0]));
	if (!set)
		return fail(why, "out of memory", -ENOMEM);
	set->refs = 1;
	for (; set->n < n; set->n++) {
		err = ring_new(&set->rings[set->n], depth, fds, nfds, why);
		if (err) {
			set_free(set);
			return err;
		}
	}
	*ret = set;
	return 0;
}

struct file_ring *file_rings_take(struct file_rings *set)
{
	for (unsigned i = 0; i < set->n; i++) {
		struct file_ring *r = &set->rings[i];

		if (__atomic_exchange_n(&r->lent, true, __ATOMIC_ACQUIRE))
			continue;
		__atomic_add_fetch(&set->refs, 1, __ATOMIC_RELAXED);
		return r;
	}
	return NULL;
}

void file_rings_give(struct file_rings *set, struct file_ring *r, bool reusable)
{
	eventfd_t ignored;

	/* An SQE left in the SQ would run for the next borrower, with the old one's
	 * pointers; a CQE left in the CQ would complete one of its slots. */
	if (reusable && (io_uring_sq_ready(&r->ring) || io_uring_cq_ready(&r->ring))) {
		log_warn("an io_uring came back with %u SQEs and %u CQEs in it: destroyed",
			 io_uring_sq_ready(&r->ring), io_uring_cq_ready(&r->ring));
		reusable = false;
	}
	if (reusable) {
		(void)eventfd_read(r->efd, &ignored); /* no stale wakeup for the next one */
		__atomic_store_n(&r->lent, false, __ATOMIC_RELEASE);
	} else {
		ring_destroy(r);
	}
	set_unref(set);
}

void file_rings_put(struct file_rings *set)
{
	if (set)
		set_unref(set);
}

unsigned file_rings_count(const struct file_rings *set)
{
	unsigned n = 0;

	for (unsigned i = 0; i < set->n; i++)
		n += !__atomic_load_n(&set->rings[i].dead, __ATOMIC_RELAXED);
	return n;
}
