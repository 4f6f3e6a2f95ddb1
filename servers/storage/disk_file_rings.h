/* SPDX-License-Identifier: MIT */
/*
 * The file backend's io_uring rings (disk_file.c), all made when the disk opens, before the
 * server enters its jail, which then has no io_uring_setup. seccomp cannot see what a ring
 * does, so each one is locked down before it is enabled: it runs only the opcodes of
 * FILE_RING_OPS, and only on the disk's own files, registered as fixed files (every SQE
 * must carry IOSQE_FIXED_FILE and no other flag); every io_uring_register after enabling
 * is refused. Its eventfd is registered before that too.
 *
 * A queue borrows a ring for its life and gives it back once the kernel has returned all
 * it took, so the next borrower starts on empty rings. The set lives until the disk and
 * every borrower have let go of it: a queue still draining may outlive its disk.
 */
#ifndef MHCL_STORAGE_DISK_FILE_RINGS_H
#define MHCL_STORAGE_DISK_FILE_RINGS_H

#include <liburing.h>
#include <stdbool.h>

/* The fixed-file indexes every SQE names. */
enum {
	FILE_RING_FD_BUFFERED = 0,
	FILE_RING_FD_DIRECT = 1, /* registered only when the disk has a direct fd */
};

/* What the backend submits; anything else completes with -EACCES. */
#define FILE_RING_OPS                                                                              \
	{                                                                                          \
		IORING_OP_NOP, IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,                 \
		    IORING_OP_FALLOCATE                                                            \
	}

#define FILE_RINGS_MAX 1024u

struct file_ring {
	struct io_uring ring;
	int efd;   /* registered with the ring: raised by every CQE */
	bool lent; /* atomic: a queue has it */
	bool dead; /* destroyed: never lent again */
};

struct file_rings;

/*
 * n rings (1..FILE_RINGS_MAX) of depth SQEs each, restricted to the nfds (1 or 2) files in
 * fds (borrowed: the rings keep their own references), indexed as FILE_RING_FD_*. 0, or
 * -errno with *why (when why is not NULL) saying what failed.
 */
int file_rings_new(unsigned n, unsigned depth, const int *fds, unsigned nfds,
		   struct file_rings **ret, const char **why);

/* An idle ring, or NULL when all are lent (or dead). Any thread. */
struct file_ring *file_rings_take(struct file_rings *set);

/*
 * Gives r back: reusable when the borrower left nothing in its rings (every submitted SQE
 * reaped, nothing prepared left); otherwise, or when the rings are not empty after all, r
 * is destroyed and the set has one ring less for good. Any thread.
 */
void file_rings_give(struct file_rings *set, struct file_ring *r, bool reusable);

/* The disk lets go; the set goes with the last ring given back. */
void file_rings_put(struct file_rings *set);

/* Rings still lendable (neither dead nor destroyed), for inspect. */
unsigned file_rings_count(const struct file_rings *set);

struct disk_queue;
/* For tests: the ring a file queue borrowed (disk_file.c). */
struct io_uring *disk_file__queue_ring(struct disk_queue *q);

#endif
