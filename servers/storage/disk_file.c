/* SPDX-License-Identifier: MIT */
/*
 * The file backend: a regular file or a block device, moved through one io_uring per queue.
 *
 * Direct or buffered. The disk is opened O_DIRECT where the filesystem allows it (the guest
 * caches what it reads; a second copy in our page cache only costs memory), buffered for
 * good where open refuses O_DIRECT with EINVAL. O_DIRECT also wants each transfer aligned:
 * the file offset and every segment's length to dio_offset_align, every segment's address
 * to dio_mem_align (statx STATX_DIOALIGN, else the logical block size of a block device,
 * else 512). A transfer that is not (a guest buffer at an odd offset, the rest of a short
 * transfer) goes through a second, buffered fd of the same file rather than a bounce
 * buffer: no allocation or copy, and no memory of ours the kernel could still be writing
 * after a queue is gone. The kernel keeps the page cache coherent around direct I/O to the
 * same file (it writes back and drops the range first), and fdatasync covers both fds.
 * A direct transfer that still gets EINVAL (an alignment the kernel did not report) is
 * retried through the buffered fd.
 *
 * Rings. Every ring the disk will ever use is made by disk_file_open, before the jail, and
 * locked to the disk's files and our opcodes (disk_file_rings.h); a queue borrows one.
 *
 * Batching. submit only prepares SQEs; a uv_prepare handle hands them all to the kernel
 * with one io_uring_enter just before the loop polls. Completions raise an eventfd that is
 * registered with the ring and watched by a uv_poll; its callback reaps every CQE.
 *
 * A request has at most one SQE in the rings at a time and moves on from its completion
 * (the rest of a short transfer, the next IOV_MAX segments, the next discard range), so a
 * queue of FILE_QUEUE_DEPTH requests cannot overfill the SQ (as large) or the CQ (twice).
 * Synchronous work (BLKDISCARD) and answers known at submit (-EROFS) complete through a NOP,
 * so done always comes from the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "disk.h"
#include "disk_file_probe.h"
#include "disk_file_rings.h"
#include "disk_internal.h"

#define FILE_QUEUE_DEPTH 256u

enum step_kind {
	STEP_RW,	/* READV or WRITEV of the request's next bytes */
	STEP_FSYNC,	/* FLUSH */
	STEP_FALLOCATE, /* DISCARD of a file: one range at a time */
	STEP_NOP,	/* done(result), decided at submit */
};

struct file_disk {
	struct disk d;
	int fd;	       /* owned, buffered */
	int fd_direct; /* owned, the same file with O_DIRECT; -1 when the disk is buffered */
	bool blockdev;
	uint32_t mem_align, offset_align; /* what O_DIRECT wants; powers of two */
	char *path;
	struct file_rings *rings; /* a reference: draining queues may hold more */
	unsigned max_queues;
	struct disk_stats stats;
	uint64_t rerouted; /* transfers that went buffered on a direct disk */
};

/* One request in flight; at most one SQE of it is in the rings. */
struct file_slot {
	struct disk_req *r; /* NULL when free */
	enum step_kind kind;
	bool buffered; /* RW: through the buffered fd from now on */
	int result;    /* NOP: what done gets */
	uint64_t pos;  /* RW: file offset of the next byte */
	uint64_t left; /* RW: bytes still to move */
	unsigned idx;  /* RW: the next byte is r->iov[idx] + iov_off */
	size_t iov_off;
	struct iovec part;	  /* RW: the rest of r->iov[idx] while iov_off != 0 */
	uint32_t range;		  /* DISCARD: the range being punched */
	struct io_uring_sqe *sqe; /* while its SQE is prepared and not submitted */
	uint32_t next_free;
};

struct file_queue {
	struct disk_queue q;
	struct file_rings *rings;   /* the disk's, and ... */
	struct file_ring *borrowed; /* ... the one lent to us until the handles close */
	struct io_uring *ring;	    /* borrowed's */
	int efd;		    /* borrowed's; registered with the ring */
	uv_poll_t poll;		    /* efd; referenced while SQEs are in the kernel */
	uv_prepare_t prepare;	    /* active while prepared SQEs wait for io_uring_enter */
	bool direct;		    /* FILE_RING_FD_DIRECT is registered */
	uint32_t mem_align, offset_align, block_size;
	bool closed;	    /* queue_close ran: reap without done, then give the ring back */
	bool torn_down;	    /* the handles are closing */
	int broken;	    /* io_uring_enter failed for good: every new request fails */
	int handles;	    /* uv handles not closed yet */
	uint32_t in_kernel; /* submitted SQEs whose CQE is not reaped */
	/* Slots whose SQE is prepared but not submitted, in SQ order. */
	uint32_t ready[FILE_QUEUE_DEPTH];
	uint32_t ready_head, nready;
	uint32_t free_head; /* FILE_QUEUE_DEPTH: none free */
	struct disk_stats local;
	uint64_t rerouted;
	struct file_slot slots[FILE_QUEUE_DEPTH];
};

static struct file_disk *file_disk_of(struct disk *d)
{
	return container_of(d, struct file_disk, d);
}

static struct file_queue *file_queue_of(struct disk_queue *q)
{
	return container_of(q, struct file_queue, q);
}

/* Wakes the queue's poll callback on the next iteration, even with nothing in flight. */
static void poke(struct file_queue *q)
{
	(void)eventfd_write(q->efd, 1);
}

static void flush_stats(struct file_queue *q)
{
	struct file_disk *fdisk = file_disk_of(q->q.disk);

	disk_stats_flush(&fdisk->stats, &q->local);
	if (q->rerouted) {
		__atomic_fetch_add(&fdisk->rerouted, q->rerouted, __ATOMIC_RELAXED);
		q->rerouted = 0;
	}
}

static void on_prepare(uv_prepare_t *h);

/* ---- the steps of one request ---- */

static bool direct_aligned(const struct file_queue *q, uint64_t pos, const struct iovec *iov,
			   unsigned cnt)
{
	if (pos & (q->offset_align - 1))
		return false;
	for (unsigned i = 0; i < cnt; i++)
		if (((uintptr_t)iov[i].iov_base & (q->mem_align - 1)) ||
		    (iov[i].iov_len & (q->offset_align - 1)))
			return false;
	return true;
}

static void prep_rw(struct file_queue *q, struct file_slot *s, struct io_uring_sqe *sqe)
{
	const struct disk_req *r = s->r;
	const struct iovec *iov = &r->iov[s->idx];
	unsigned cnt = MIN(r->iovcnt - s->idx, (unsigned)IOV_MAX);
	int fd;

	if (s->iov_off) {
		s->part.iov_base = (uint8_t *)iov->iov_base + s->iov_off;
		s->part.iov_len = iov->iov_len - s->iov_off;
		iov = &s->part;
		cnt = 1;
	}
	if (q->direct && !s->buffered && !direct_aligned(q, s->pos, iov, cnt)) {
		s->buffered = true;
		q->rerouted++;
	}
	fd = q->direct && !s->buffered ? FILE_RING_FD_DIRECT : FILE_RING_FD_BUFFERED;
	if (r->op == DISK_OP_READ)
		io_uring_prep_readv(sqe, fd, iov, cnt, s->pos);
	else
		io_uring_prep_writev2(sqe, fd, iov, cnt, s->pos, r->fua ? RWF_DSYNC : 0);
}

/* Queues s's next step, on the ring's fixed files (the only ones it takes). 0, or -errno
 * when the ring is broken (or, against the sizing above, full). */
static int step_prep(struct file_queue *q, struct file_slot *s)
{
	struct io_uring_sqe *sqe;
	const struct disk_range *rg;

	if (q->broken)
		return q->broken;
	sqe = io_uring_get_sqe(q->ring);
	if (!sqe)
		return -EAGAIN;
	switch (s->kind) {
	case STEP_RW:
		prep_rw(q, s, sqe);
		break;
	case STEP_FSYNC:
		io_uring_prep_fsync(sqe, FILE_RING_FD_BUFFERED, IORING_FSYNC_DATASYNC);
		break;
	case STEP_FALLOCATE:
		rg = &s->r->ranges[s->range];
		io_uring_prep_fallocate(
		    sqe, FILE_RING_FD_BUFFERED, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    (off_t)(rg->lba * q->block_size), (off_t)rg->nblocks * q->block_size);
		break;
	case STEP_NOP:
		io_uring_prep_nop(sqe);
		break;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, (uint64_t)(s - q->slots));
	s->sqe = sqe;
	q->ready[(q->ready_head + q->nready++) % FILE_QUEUE_DEPTH] = (uint32_t)(s - q->slots);
	if (!uv_is_active((uv_handle_t *)&q->prepare))
		uv_prepare_start(&q->prepare, on_prepare);
	return 0;
}

/* Moves the RW cursor n bytes on (n <= s->left). */
static void advance(struct file_slot *s, uint64_t n)
{
	const struct iovec *iov = s->r->iov;

	s->pos += n;
	s->left -= n;
	while (n) {
		size_t room = iov[s->idx].iov_len - s->iov_off;

		if (n < room) {
			s->iov_off += n;
			return;
		}
		n -= room;
		s->idx++;
		s->iov_off = 0;
	}
}

/* A read hit the end of a file shorter than the disk: the rest reads as zeroes. */
static void zero_rest(struct file_slot *s)
{
	const struct iovec *iov = s->r->iov;

	for (unsigned i = s->idx; i < s->r->iovcnt; i++) {
		size_t off = i == s->idx ? s->iov_off : 0;

		memset((uint8_t *)iov[i].iov_base + off, 0, iov[i].iov_len - off);
	}
}

/* The next non-empty discard range from s->range on; false when there is none. */
static bool discard_range_next(struct file_slot *s)
{
	while (s->range < s->r->nranges && !s->r->ranges[s->range].nblocks)
		s->range++;
	return s->range < s->r->nranges;
}

/* What a CQE of res means for s: the request's result (0 or -errno), or 1 when its next
 * step is queued. */
static int step_done(struct file_queue *q, struct file_slot *s, int res)
{
	int err;

	switch (s->kind) {
	case STEP_NOP:
		return s->result;
	case STEP_FSYNC:
		return res < 0 ? res : 0;
	case STEP_FALLOCATE:
		/* DISCARD is a hint: a filesystem that cannot punch holes still succeeds. */
		if (res < 0 && res != -EOPNOTSUPP)
			return res;
		s->range++;
		if (!discard_range_next(s))
			return 0;
		break;
	case STEP_RW:
		if (res == -EINVAL && q->direct && !s->buffered) {
			s->buffered = true;
			q->rerouted++;
			break;
		}
		if (res < 0)
			return res;
		if ((uint64_t)res > s->left)
			return -EIO; /* more than asked: do not trust the buffer */
		if (res == 0) {
			if (s->r->op == DISK_OP_WRITE)
				return -EIO; /* no progress and no error: give up */
			zero_rest(s);
			return 0;
		}
		advance(s, (uint64_t)res);
		if (!s->left)
			return 0;
		break;
	}
	err = step_prep(q, s);
	return err ? err : 1;
}

static void slot_free(struct file_queue *q, struct file_slot *s)
{
	s->r = NULL;
	s->next_free = q->free_head;
	q->free_head = (uint32_t)(s - q->slots);
}

/* Frees s, then calls done: done may submit into s again, or close the queue. */
static void finish(struct file_queue *q, struct file_slot *s, int err)
{
	struct disk_req *r = s->r;
	uint64_t bytes = r->op == DISK_OP_READ || r->op == DISK_OP_WRITE
			     ? (uint64_t)r->nblocks * q->block_size
			     : 0;

	slot_free(q, s);
	disk_stats_count(&q->local, err, bytes);
	r->done(r, err);
}

/* ---- the queue's loop side ---- */

/* The last handle is closed, so nothing watches the eventfd any more: the ring goes back
 * (or, broken, away: SQEs may still sit in its SQ). */
static void handle_closed(uv_handle_t *h)
{
	struct file_queue *q = h->data;

	if (--q->handles)
		return;
	file_rings_give(q->rings, q->borrowed, !q->broken);
	free(q);
}

/* The kernel holds nothing of the queue any more and the SQ is empty: the handles go,
 * then the ring. */
static void teardown(struct file_queue *q)
{
	q->torn_down = true;
	uv_close((uv_handle_t *)&q->prepare, handle_closed);
	uv_close((uv_handle_t *)&q->poll, handle_closed);
}

static void reap(struct file_queue *q)
{
	struct io_uring_cqe *cqe;

	while (io_uring_peek_cqe(q->ring, &cqe) == 0) {
		uint64_t idx = io_uring_cqe_get_data64(cqe);
		int res = cqe->res, ret;
		struct file_slot *s;

		io_uring_cqe_seen(q->ring, cqe);
		q->in_kernel--;
		if (q->closed || idx >= FILE_QUEUE_DEPTH)
			continue; /* abandoned, or no SQE of ours */
		s = &q->slots[idx];
		if (!s->r)
			continue; /* failed already when the ring broke */
		ret = step_done(q, s, res);
		if (ret <= 0)
			finish(q, s, ret);
	}
	if (q->closed) {
		if (!q->in_kernel && (!q->nready || q->broken) && !q->torn_down)
			teardown(q);
		return;
	}
	flush_stats(q);
	if (!q->in_kernel)
		uv_unref((uv_handle_t *)&q->poll);
}

static void on_eventfd(uv_poll_t *p, int status, int events)
{
	struct file_queue *q = p->data;
	eventfd_t n;

	/* Clear the counter before reaping: a CQE posted after this raises it again. */
	(void)eventfd_read(q->efd, &n);
	reap(q);
}

/* Fails the requests whose SQEs never reached the kernel; the others still complete. Once
 * closed, there is nobody to tell: the reap tears down. */
static void break_ring(struct file_queue *q, int err)
{
	q->broken = err;
	if (q->closed) {
		q->nready = 0;
		poke(q);
		return;
	}
	while (q->nready) {
		struct file_slot *s = &q->slots[q->ready[q->ready_head]];

		q->ready_head = (q->ready_head + 1) % FILE_QUEUE_DEPTH;
		q->nready--;
		finish(q, s, err);
		if (q->closed)
			return;
	}
	flush_stats(q);
}

/* Once per loop iteration, before the poll: every SQE prepared since, in one syscall. */
static void on_prepare(uv_prepare_t *h)
{
	struct file_queue *q = h->data;
	int n;

	while (q->nready) {
		n = io_uring_submit(q->ring);
		if (n == -EINTR)
			continue;
		if (n == -EAGAIN || n == -EBUSY) {
			/* Out of kernel resources for now: try again next iteration, which
			 * the poke makes come even with nothing in flight. */
			poke(q);
			return;
		}
		if (n <= 0) {
			uv_prepare_stop(h);
			break_ring(q, n < 0 ? n : -EIO);
			return;
		}
		n = (int)MIN((uint32_t)n, q->nready);
		q->ready_head = (q->ready_head + (uint32_t)n) % FILE_QUEUE_DEPTH;
		q->nready -= (uint32_t)n;
		q->in_kernel += (uint32_t)n;
	}
	uv_prepare_stop(h);
	if (q->in_kernel)
		uv_ref((uv_handle_t *)&q->poll);
}

/* ---- disk_ops ---- */

/* BLKDISCARD has no io_uring form before Linux 6.12 (a uring_cmd), so it runs here and
 * blocks the loop for as long as the device takes. FIXME: issue it as
 * IORING_OP_URING_CMD where the kernel has it. */
static int discard_blockdev(const struct file_disk *fdisk, const struct disk_req *r)
{
	for (uint32_t i = 0; i < r->nranges; i++) {
		uint64_t range[2] = {r->ranges[i].lba * fdisk->d.info.block_size,
				     (uint64_t)r->ranges[i].nblocks * fdisk->d.info.block_size};

		if (!range[1])
			continue;
		/* A hint: a device that cannot discard still succeeds. */
		if (ioctl(fdisk->fd, BLKDISCARD, range) < 0 && errno != EOPNOTSUPP)
			return -errno;
	}
	return 0;
}

static int file_submit(struct disk_queue *dq, struct disk_req *r)
{
	struct file_queue *q = file_queue_of(dq);
	struct file_disk *fdisk = file_disk_of(dq->disk);
	struct file_slot *s;
	uint64_t bytes;
	int err;

	if (q->broken)
		return -EIO;
	err = disk__req_check(dq->disk, r, &bytes);
	if (err)
		return err;
	if (q->free_head == FILE_QUEUE_DEPTH)
		return -EAGAIN;
	s = &q->slots[q->free_head];
	*s = (struct file_slot){.r = r, .kind = STEP_NOP, .next_free = s->next_free};
	switch (r->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		if (r->op == DISK_OP_WRITE && fdisk->d.info.read_only)
			s->result = -EROFS;
		else if (bytes) {
			s->kind = STEP_RW;
			s->pos = r->lba * q->block_size;
			s->left = bytes;
		}
		break;
	case DISK_OP_FLUSH:
		if (!fdisk->d.info.read_only)
			s->kind = STEP_FSYNC;
		break;
	case DISK_OP_DISCARD:
		if (fdisk->d.info.read_only)
			s->result = -EROFS;
		else if (fdisk->blockdev)
			s->result = discard_blockdev(fdisk, r);
		else if (discard_range_next(s))
			s->kind = STEP_FALLOCATE;
		break;
	}
	err = step_prep(q, s);
	if (err) {
		s->r = NULL;
		return err;
	}
	q->free_head = s->next_free;
	return 0;
}

static int file_queue_open(struct disk *d, uv_loop_t *loop, struct disk_queue **ret)
{
	struct file_disk *fdisk = file_disk_of(d);
	struct file_queue *q = calloc(1, sizeof(*q));
	int err;

	if (!q)
		return -ENOMEM;
	q->borrowed = file_rings_take(fdisk->rings);
	if (!q->borrowed) {
		free(q);
		log_warn("%s: all %u io_uring rings are taken (made before the jail, one per "
			 "channel, counting closed ones still draining): no queue for this one",
			 fdisk->path, file_rings_count(fdisk->rings));
		return -EBUSY;
	}
	q->rings = fdisk->rings;
	q->ring = &q->borrowed->ring;
	q->efd = q->borrowed->efd;
	err = uv_poll_init(loop, &q->poll, q->efd);
	if (err) {
		file_rings_give(q->rings, q->borrowed, true);
		free(q);
		return err;
	}
	q->poll.data = q;
	q->handles++;
	err = uv_prepare_init(loop, &q->prepare);
	if (err) {
		/* The poll handle is open: closing it gives the ring back and frees q. */
		uv_close((uv_handle_t *)&q->poll, handle_closed);
		return err;
	}
	q->prepare.data = q;
	q->handles++;
	(void)uv_poll_start(&q->poll, UV_READABLE, on_eventfd);
	uv_unref((uv_handle_t *)&q->poll);

	q->q.disk = d;
	q->q.loop = loop;
	q->direct = fdisk->fd_direct >= 0;
	q->mem_align = fdisk->mem_align;
	q->offset_align = fdisk->offset_align;
	q->block_size = d->info.block_size;
	for (uint32_t i = 0; i < FILE_QUEUE_DEPTH; i++)
		q->slots[i].next_free = i + 1;
	*ret = &q->q;
	return 0;
}

/*
 * No done is called any more. The ring stays with the queue until the kernel has
 * completed every SQE it took, since those may still write the caller's buffers (and our
 * slots), and until the SQ is empty: the SQEs prepared but not taken yet become NOPs that
 * still go in, so the next borrower of the ring never runs them. The poke makes the poll
 * callback run once, which tears down at once when nothing is in the kernel.
 */
static void file_queue_close(struct disk_queue *dq)
{
	struct file_queue *q = file_queue_of(dq);

	flush_stats(q); /* the last time the queue touches its disk */
	q->closed = true;
	for (uint32_t i = 0; i < q->nready; i++) {
		struct io_uring_sqe *sqe =
		    q->slots[q->ready[(q->ready_head + i) % FILE_QUEUE_DEPTH]].sqe;

		io_uring_prep_nop(sqe);
		sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(sqe, UINT64_MAX); /* no slot: reaped and dropped */
	}
	uv_ref((uv_handle_t *)&q->poll);
	poke(q);
}

static void file_inspect(struct disk *d, struct inspect_tree *t, Mhcl__Node *dir)
{
	struct file_disk *fdisk = file_disk_of(d);

	inspect_str(t, dir, "path", fdisk->path);
	inspect_str(t, dir, "type", fdisk->blockdev ? "block device" : "file");
	inspect_str(t, dir, "mode", fdisk->fd_direct >= 0 ? "direct" : "buffered");
	inspect_u64(t, dir, "block_size", d->info.block_size);
	inspect_u64(t, dir, "nblocks", d->info.nblocks);
	inspect_bool(t, dir, "read_only", d->info.read_only);
	if (fdisk->fd_direct >= 0) {
		inspect_u64(t, dir, "dio_mem_align", fdisk->mem_align);
		inspect_u64(t, dir, "dio_offset_align", fdisk->offset_align);
		inspect_u64(t, dir, "rerouted_buffered",
			    __atomic_load_n(&fdisk->rerouted, __ATOMIC_RELAXED));
	}
	inspect_u64(t, dir, "max_queues", fdisk->max_queues);
	inspect_u64(t, dir, "io_uring_rings", file_rings_count(fdisk->rings));
	disk__stats_inspect(&fdisk->stats, t, dir);
}

static void file_close(struct disk *d)
{
	struct file_disk *fdisk = file_disk_of(d);

	if (fdisk->fd_direct >= 0)
		close(fdisk->fd_direct);
	close(fdisk->fd);
	file_rings_put(fdisk->rings);
	free(fdisk->path);
	free(fdisk);
}

static const struct disk_ops file_ops = {
    .kind = "file",
    .queue_open = file_queue_open,
    .submit = file_submit,
    .queue_close = file_queue_close,
    .inspect = file_inspect,
    .close = file_close,
};

int disk_file_open(const char *path, bool read_only, unsigned max_queues, struct disk **ret,
		   const char **why)
{
	struct file_probe p;
	struct file_disk *fdisk;
	int fds[2], err;

	if (!max_queues || max_queues > FILE_RINGS_MAX) {
		if (why)
			*why = "bad number of queues";
		return -EINVAL;
	}
	err = disk_file__probe(path, read_only, &p, why);
	if (err)
		return err;
	fdisk = calloc(1, sizeof(*fdisk));
	if (fdisk)
		fdisk->path = strdup(path);
	if (!fdisk || !fdisk->path) {
		if (why)
			*why = "out of memory";
		err = -ENOMEM;
	} else {
		fds[FILE_RING_FD_BUFFERED] = p.fd;
		fds[FILE_RING_FD_DIRECT] = p.fd_direct;
		err = file_rings_new(max_queues, FILE_QUEUE_DEPTH, fds, p.fd_direct >= 0 ? 2 : 1,
				     &fdisk->rings, why);
	}
	if (err) {
		if (fdisk)
			free(fdisk->path);
		free(fdisk);
		if (p.fd_direct >= 0)
			close(p.fd_direct);
		close(p.fd);
		return err;
	}
	fdisk->d.ops = &file_ops;
	fdisk->d.info = (struct disk_info){
	    .nblocks = p.nblocks,
	    .block_size = p.block_size,
	    .read_only = read_only,
	    .can_discard = !read_only,
	    .volatile_cache = true, /* the page cache, or the device's own write cache */
	};
	fdisk->fd = p.fd;
	fdisk->fd_direct = p.fd_direct;
	fdisk->blockdev = p.blockdev;
	fdisk->mem_align = p.mem_align;
	fdisk->offset_align = p.offset_align;
	fdisk->max_queues = max_queues;
	*ret = &fdisk->d;
	return 0;
}

struct io_uring *disk_file__queue_ring(struct disk_queue *dq)
{
	return file_queue_of(dq)->ring;
}
