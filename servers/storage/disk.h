/* SPDX-License-Identifier: MIT */
/*
 * One block device behind a LUN, as mhcl-storaged's SCSI emulation drives it: an
 * asynchronous, scatter-gather interface with one queue per VMBus channel, so channels
 * never share a lock or a submission queue.
 *
 *   disk_mem_open()        memory (tests and benchmarks)                 disk_mem.c
 *   disk_file_open()       a file or block device through io_uring      disk_file.c
 *   disk_nvme_open()       an NVMe namespace through lib/nvme over VFIO  disk_nvme.c
 *
 * A request names its data twice: as mapped memory (iov, what a file backend reads into)
 * and as guest-physical pages (pfns, what a DMA backend puts in PRPs: IOVA = GPA once
 * disk_map_guest() has mapped guest RAM for the device). The caller fills both; each
 * backend uses the one it needs. Requests complete on the loop of the queue they were
 * submitted to, by calling req->done exactly once, never from inside submit.
 */
#ifndef MHCL_STORAGE_DISK_H
#define MHCL_STORAGE_DISK_H

#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <uv.h>

#include "guestmem.h"
#include "inspect.h"

#define DISK_MAX_DISCARD_RANGES 256u

enum disk_op {
	DISK_OP_READ,
	DISK_OP_WRITE,
	DISK_OP_FLUSH,	 /* everything completed before is durable */
	DISK_OP_DISCARD, /* ranges[] may read back as zeroes or old data */
};

struct disk_range {
	uint64_t lba;
	uint32_t nblocks;
};

struct disk_req {
	enum disk_op op;
	/* READ, WRITE: blocks [lba, lba + nblocks), checked against the disk by the caller. */
	uint64_t lba;
	uint32_t nblocks;
	bool fua; /* WRITE: durable before done */
	/* READ, WRITE: nblocks * block_size bytes, as mapped memory ... */
	const struct iovec *iov;
	unsigned iovcnt;
	/* ... and as guest pages: the data starts byte_offset into pfns[0]. */
	const uint64_t *pfns;
	uint32_t npfns;
	uint32_t byte_offset;
	/* DISCARD */
	const struct disk_range *ranges;
	uint32_t nranges;
	/* 0, or -errno: -EIO a medium error, -ENOSPC out of space, -EROFS read only, others a
	 * device failure. Called on the queue's loop, exactly once, never from submit. */
	void (*done)(struct disk_req *r, int err);
	void *opaque;
};
/* The backend borrows the request and what it points to (iov, pfns, ranges) from a
 * successful submit until done is called, or until its queue is closed (see queue_close
 * for the data buffers). */

/* What a backend reports about itself. */
struct disk_info {
	uint64_t nblocks;
	uint32_t block_size;   /* 512 or 4096 */
	uint32_t max_transfer; /* bytes per request, 0 = no limit of its own */
	bool read_only;
	bool can_discard;
	bool volatile_cache; /* a FLUSH is needed for durability */
	/* A stable identity of the medium when the backend has one (NVMe: the namespace's
	 * NGUID or EUI-64), for deriving serial and WWN; id_len 0 when none. */
	uint8_t id[16];
	uint8_t id_len;
};

struct disk;
struct disk_queue;

struct disk_ops {
	const char *kind; /* "memory", "file", "nvme" */
	/* A queue whose completions run on loop. -EBUSY when the backend has no more. */
	int (*queue_open)(struct disk *d, uv_loop_t *loop, struct disk_queue **ret);
	/* 0 (req->done will be called) or -errno (it will not): -EAGAIN when the queue is
	 * full, -EINVAL for a request outside the disk. */
	int (*submit)(struct disk_queue *q, struct disk_req *r);
	/* Requests still in flight are abandoned: their done is never called. The device
	 * may still move their data until the queue's loop has reaped what the kernel took,
	 * so their buffers must stay mapped; the queue's memory and handles go from its
	 * loop's close callbacks (keep running the loop). Close every queue of a disk
	 * before the disk. */
	void (*queue_close)(struct disk_queue *q);
	/* Optional: guest RAM is (re)mapped; DMA backends map it for the device. */
	int (*map_guest)(struct disk *d, const struct guestmem *gm);
	/* Optional: backend-specific values under dir. */
	void (*inspect)(struct disk *d, struct inspect_tree *t, Mhcl__Node *dir);
	void (*close)(struct disk *d);
};

/* Every backend embeds this first. */
struct disk {
	const struct disk_ops *ops;
	struct disk_info info;
};

static inline int disk_queue_open(struct disk *d, uv_loop_t *loop, struct disk_queue **ret)
{
	return d->ops->queue_open(d, loop, ret);
}
static inline int disk_map_guest(struct disk *d, const struct guestmem *gm)
{
	return d->ops->map_guest ? d->ops->map_guest(d, gm) : 0;
}
static inline void disk_close(struct disk *d)
{
	if (d)
		d->ops->close(d);
}

/* Every queue embeds this first. */
struct disk_queue {
	struct disk *disk;
	uv_loop_t *loop;
};

static inline int disk_submit(struct disk_queue *q, struct disk_req *r)
{
	return q->disk->ops->submit(q, r);
}
static inline void disk_queue_close(struct disk_queue *q)
{
	if (q)
		q->disk->ops->queue_close(q);
}

/* Memory: size bytes (a multiple of block_size), zeroed. */
int disk_mem_open(uint64_t size, uint32_t block_size, struct disk **ret);
/* Memory kept in fd, a memfd of exactly size bytes (-EBADFD otherwise), mapped shared:
 * what was written stays in the memfd after the disk closes. fd stays the caller's. */
int disk_mem_open_fd(int fd, uint64_t size, uint32_t block_size, struct disk **ret);

/* A file or block device: O_DIRECT where the backing allows it, io_uring for I/O, fdatasync
 * for FLUSH, fallocate(PUNCH_HOLE) or BLKDISCARD for DISCARD. path is copied; the disk keeps
 * its fds open (close-on-exec) until disk_close. Every io_uring the disk will use is made
 * here, one per queue for max_queues queues open at once (a closed queue counts until the
 * kernel has returned what it took), so that nothing needs io_uring_setup later (the jail
 * has none); queue_open says -EBUSY past them. *why says what failed. */
int disk_file_open(const char *path, bool read_only, unsigned max_queues, struct disk **ret,
		   const char **why);

#endif
