/* SPDX-License-Identifier: MIT */
/*
 * The memory backend: a mapping of anonymous memory or of a memfd (which storaged keeps in
 * init's fd store, so the disk outlives a restart or a crash of the server), and the
 * baseline the storage benchmarks
 * measure the rest of the server against, so its per-request cost is a bounds check, a
 * memcpy and a store. submit carries the request out at once and queues its done; one
 * uv_idle per queue delivers the whole batch on the loop's next iteration. No allocation
 * and no system call per request (a DISCARD of whole pages is the exception: madvise hands
 * them back to the kernel, so a guest that unmaps the disk does not make us touch it all).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "disk.h"
#include "disk_internal.h"
#include "unmap_steps.h"

/* Completions waiting for the idle callback; more in flight on one queue is -EAGAIN. */
#define MEM_QUEUE_DEPTH 1024u

struct mem_disk {
	struct disk d;
	uint8_t *base; /* owned: size bytes of anonymous memory or of the memfd */
	size_t size;
	size_t page_size;
	bool shared; /* a memfd: a dropped page must be punched out of the file */
	struct disk_stats stats;
};

struct mem_queue {
	struct disk_queue q;
	uv_idle_t idle; /* active while pending[] is not empty */
	bool closed;	/* queue_close ran: deliver nothing more, the close callback frees */
	uint32_t head, count;
	struct disk_stats local;
	struct disk_req *pending[MEM_QUEUE_DEPTH]; /* a ring: head is the oldest */
};

static struct mem_disk *mem_disk_of(struct disk *d)
{
	return container_of(d, struct mem_disk, d);
}

static struct mem_queue *mem_queue_of(struct disk_queue *q)
{
	return container_of(q, struct mem_queue, q);
}

static void copy_out(const uint8_t *src, const struct iovec *iov, unsigned iovcnt)
{
	for (unsigned i = 0; i < iovcnt; i++) {
		memcpy(iov[i].iov_base, src, iov[i].iov_len);
		src += iov[i].iov_len;
	}
}

static void copy_in(uint8_t *dst, const struct iovec *iov, unsigned iovcnt)
{
	for (unsigned i = 0; i < iovcnt; i++) {
		memcpy(dst, iov[i].iov_base, iov[i].iov_len);
		dst += iov[i].iov_len;
	}
}

/* Zeroes [off, off + len): the whole pages inside by dropping them (they read back as
 * zeroes from a private anonymous mapping, or from a memfd once punched out), the edges
 * by memset. */
static void zero_range(struct mem_disk *md, size_t off, size_t len)
{
	size_t first = (off + md->page_size - 1) & ~(md->page_size - 1);
	size_t end = (off + len) & ~(md->page_size - 1);
	int advice = md->shared ? MADV_REMOVE : MADV_DONTNEED;

	if (first < end && madvise(md->base + first, end - first, advice) == 0) {
		memset(md->base + off, 0, first - off);
		memset(md->base + end, 0, off + len - end);
		return;
	}
	memset(md->base + off, 0, len);
}

static uint64_t req_bytes(const struct disk_req *r, uint32_t block_size)
{
	return r->op == DISK_OP_READ || r->op == DISK_OP_WRITE ? (uint64_t)r->nblocks * block_size
							       : 0;
}

static void mem_deliver(uv_idle_t *h)
{
	struct mem_queue *q = container_of(h, struct mem_queue, idle);
	struct mem_disk *md = mem_disk_of(q->q.disk);
	/* Only what was queued before this call: requests that done callbacks submit wait
	 * for the next iteration, so a busy queue cannot keep the loop here. */
	uint32_t n = q->count;

	while (n--) {
		struct disk_req *r = q->pending[q->head];

		q->head = (q->head + 1) % MEM_QUEUE_DEPTH;
		q->count--;
		disk_stats_count(&q->local, 0, req_bytes(r, md->d.info.block_size));
		r->done(r, 0);
		if (q->closed)
			return; /* done closed the queue: the rest is abandoned */
	}
	disk_stats_flush(&md->stats, &q->local);
	if (!q->count)
		uv_idle_stop(h);
}

static int mem_submit(struct disk_queue *dq, struct disk_req *r)
{
	struct mem_queue *q = mem_queue_of(dq);
	struct mem_disk *md = mem_disk_of(dq->disk);
	uint32_t bs = md->d.info.block_size;
	uint64_t bytes;
	int err;

	if (q->count == MEM_QUEUE_DEPTH)
		return -EAGAIN;
	err = disk__req_check(&md->d, r, &bytes);
	if (err)
		return err;
	switch (r->op) {
	case DISK_OP_READ:
		copy_out(md->base + r->lba * bs, r->iov, r->iovcnt);
		break;
	case DISK_OP_WRITE:
		copy_in(md->base + r->lba * bs, r->iov, r->iovcnt);
		break;
	case DISK_OP_FLUSH:
		break; /* nothing volatile: memory is all there is */
	case DISK_OP_DISCARD:
		for (uint32_t i = 0; i < r->nranges; i++)
			zero_range(md, r->ranges[i].lba * bs, (size_t)r->ranges[i].nblocks * bs);
		break;
	}
	q->pending[(q->head + q->count) % MEM_QUEUE_DEPTH] = r;
	if (q->count++ == 0)
		uv_idle_start(&q->idle, mem_deliver);
	return 0;
}

static int mem_queue_open(struct disk *d, uv_loop_t *loop, struct disk_queue **ret)
{
	struct mem_queue *q = calloc(1, sizeof(*q));
	int err;

	if (!q)
		return -ENOMEM;
	err = uv_idle_init(loop, &q->idle);
	if (err) {
		free(q);
		return err;
	}
	q->q.disk = d;
	q->q.loop = loop;
	*ret = &q->q;
	return 0;
}

static void mem_queue_free(uv_handle_t *h)
{
	free(container_of(h, struct mem_queue, idle));
}

static void mem_queue_close(struct disk_queue *dq)
{
	struct mem_queue *q = mem_queue_of(dq);

	/* The last time the queue touches its disk, which may be closed right after. */
	disk_stats_flush(&mem_disk_of(dq->disk)->stats, &q->local);
	q->closed = true;
	uv_close((uv_handle_t *)&q->idle, mem_queue_free);
}

static void mem_inspect(struct disk *d, struct inspect_tree *t, Mhcl__Node *dir)
{
	struct mem_disk *md = mem_disk_of(d);

	inspect_u64(t, dir, "size", md->size);
	inspect_u64(t, dir, "block_size", md->d.info.block_size);
	disk__stats_inspect(&md->stats, t, dir);
}

static void mem_close(struct disk *d)
{
	struct mem_disk *md = mem_disk_of(d);

	unmap_steps(md->base, md->size);
	free(md);
}

static const struct disk_ops mem_ops = {
    .kind = "memory",
    .queue_open = mem_queue_open,
    .submit = mem_submit,
    .queue_close = mem_queue_close,
    .inspect = mem_inspect,
    .close = mem_close,
};

static int mem_open(int fd, uint64_t size, uint32_t block_size, struct disk **ret)
{
	struct mem_disk *md;

	if ((block_size != 512 && block_size != 4096) || !size || size % block_size ||
	    size > SIZE_MAX)
		return -EINVAL;
	if (fd >= 0) {
		/* The fd comes back from init's store: it must be what we made. */
		struct stat st;
		if (fstat(fd, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
			return -EBADFD;
	}
	md = calloc(1, sizeof(*md));
	if (!md)
		return -ENOMEM;
	/* NORESERVE: a large benchmark disk is mostly never written, so it should not
	 * count against the commit limit (a memfd is not charged either). */
	md->shared = fd >= 0;
	md->base =
	    mmap(NULL, size, PROT_READ | PROT_WRITE,
		 md->shared ? MAP_SHARED : MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, fd, 0);
	if (md->base == MAP_FAILED) {
		int err = -errno;

		free(md);
		return err;
	}
	/* As guest RAM (lib/guestmem): 2 MiB pages where the shmem policy allows, so the
	 * next instance's first touches and a crashed one's teardown are 512 times fewer. */
	(void)madvise(md->base, size, MADV_HUGEPAGE);
	md->size = size;
	md->page_size = (size_t)sysconf(_SC_PAGESIZE);
	md->d.ops = &mem_ops;
	md->d.info = (struct disk_info){
	    .nblocks = size / block_size,
	    .block_size = block_size,
	    .can_discard = true,
	};
	*ret = &md->d;
	return 0;
}

int disk_mem_open(uint64_t size, uint32_t block_size, struct disk **ret)
{
	return mem_open(-1, size, block_size, ret);
}

int disk_mem_open_fd(int fd, uint64_t size, uint32_t block_size, struct disk **ret)
{
	return fd < 0 ? -EBADF : mem_open(fd, size, block_size, ret);
}
