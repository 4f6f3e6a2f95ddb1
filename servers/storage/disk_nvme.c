/* SPDX-License-Identifier: MIT */
/*
 * disk.h over lib/nvme (see disk_nvme.h).
 *
 * Completion routing: a queue pair may be shared by queues on different loops, and
 * whichever thread processes the pair runs the callbacks of every request on it. The
 * callback therefore only moves the request to its own queue's done list; the queue
 * drains that list on its loop (at once when it was the one processing, else woken by
 * its uv_async). This is also how completions that need no device (a flush without a
 * volatile cache) reach the caller: never from inside submit.
 *
 * Requests come from a per-queue pool (no allocation per I/O). A closing queue tells
 * lib/nvme to forget its pool's requests (nvme_qpair_forget): they stay in flight on the
 * device, keep their CIDs, and complete into nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devaccess.h"
#include "disk_nvme.h"
#include "macros.h"
#include "nvme.h"

#define POOL_SIZE NVME_MAX_QUEUE_DEPTH
#define MAX_PAGES (NVME_MAX_TRANSFER / GUESTMEM_PAGE_SIZE + 1u)
#define TICK_MS 1000u
#define POLL_MS 1u /* a queue pair without an interrupt vector */

struct nvme_disk {
	struct disk disk;
	struct nvme_ctrl *ctrl;
	struct devaccess *da;
	uint32_t nsid;
	uint64_t base;
	bool adopted;
	pthread_rwlock_t map_lock; /* mapped: written by map_guest, read by every submit */
	struct guestmem_layout mapped;
	bool have_mapping;
	unsigned next_pair; /* atomic */
	unsigned nqueues;   /* atomic */
};

struct nvme_req {
	struct nvme_queue *q;
	struct disk_req *r;
	int err;
	struct nvme_req *next;
};

struct nvme_queue {
	struct disk_queue dq;
	struct nvme_disk *d;
	struct nvme_qpair *qp;
	uv_poll_t poll;
	uv_timer_t timer;
	uv_async_t async;
	bool have_poll;
	bool counted;
	unsigned open_handles;
	pthread_mutex_t lock; /* done list: any thread appends, the loop takes */
	struct nvme_req *done_head;
	struct nvme_req **done_tail;
	struct nvme_req *free; /* the loop's own */
	struct nvme_req pool[POOL_SIZE];
	uint64_t pages[MAX_PAGES];
	struct nvme_io_range ranges[DISK_MAX_DISCARD_RANGES];
};

/* The queue whose loop is processing on this thread, so its own completions skip the
 * wake-up. */
static __thread struct nvme_queue *processing;

static struct nvme_disk *to_disk(struct disk *d)
{
	return container_of(d, struct nvme_disk, disk);
}

static struct nvme_queue *to_queue(struct disk_queue *q)
{
	return container_of(q, struct nvme_queue, dq);
}

static void finish(struct nvme_queue *q, struct nvme_req *req, int err, bool wake)
{
	req->err = err;
	req->next = NULL;
	pthread_mutex_lock(&q->lock);
	*q->done_tail = req;
	q->done_tail = &req->next;
	pthread_mutex_unlock(&q->lock);
	if (wake)
		uv_async_send(&q->async);
}

/* lib/nvme's callback, on whatever thread processed the queue pair. */
static void req_done(void *opaque, int err, uint16_t status)
{
	struct nvme_req *req = opaque;

	finish(req->q, req, err, processing != req->q);
}

/* On the queue's loop: every finished request to its caller. */
static void drain(struct nvme_queue *q)
{
	struct nvme_req *list;

	pthread_mutex_lock(&q->lock);
	list = q->done_head;
	q->done_head = NULL;
	q->done_tail = &q->done_head;
	pthread_mutex_unlock(&q->lock);
	while (list) {
		struct nvme_req *req = list;
		struct disk_req *r = req->r;
		int err = req->err;

		list = req->next;
		/* Back in the pool first: done may submit the next request at once. */
		req->r = NULL;
		req->next = q->free;
		q->free = req;
		r->done(r, err);
	}
}

static void process(struct nvme_queue *q)
{
	processing = q;
	nvme_qpair_process(q->qp, 0);
	processing = NULL;
	drain(q);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	process(h->data);
}

static void on_async(uv_async_t *h)
{
	drain(h->data);
}

static void on_timer(uv_timer_t *h)
{
	struct nvme_queue *q = h->data;
	struct nvme_ctrl *c = q->d->ctrl;

	processing = q;
	nvme_ctrl_process_admin(c);
	(void)nvme_ctrl_check_health(c);
	nvme_qpair_check_timeouts(q->qp, (uint64_t)uv_hrtime());
	processing = NULL;
	process(q);
}

/* Guest pages to IOVAs, each inside the mapped RAM. Map lock held for reading. */
static int pages_to_iovas(struct nvme_queue *q, const struct disk_req *r, uint32_t *ret_n)
{
	struct nvme_disk *d = q->d;
	uint64_t bytes = (uint64_t)r->nblocks * d->disk.info.block_size;
	uint64_t n;

	if (!r->nblocks || r->byte_offset >= GUESTMEM_PAGE_SIZE || !r->pfns)
		return -EINVAL;
	if (bytes > d->disk.info.max_transfer)
		return -E2BIG;
	n = (r->byte_offset + bytes + GUESTMEM_PAGE_SIZE - 1) / GUESTMEM_PAGE_SIZE;
	if (n > r->npfns || n > MAX_PAGES || !d->have_mapping)
		return -EINVAL;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pfn = r->pfns[i], gpa;

		if (pfn > UINT64_MAX >> GUESTMEM_PAGE_SHIFT)
			return -EINVAL;
		gpa = pfn << GUESTMEM_PAGE_SHIFT;
		if (!guestmem_layout_contains(&d->mapped, gpa, GUESTMEM_PAGE_SIZE) ||
		    gpa > UINT64_MAX - d->base)
			return -EINVAL;
		q->pages[i] = d->base + gpa;
	}
	*ret_n = (uint32_t)n;
	return 0;
}

static int build(struct nvme_queue *q, struct disk_req *r, struct nvme_io *io, bool *ret_no_op)
{
	struct nvme_disk *d = q->d;
	uint32_t npages;
	int ret;

	*ret_no_op = false;
	switch (r->op) {
	case DISK_OP_WRITE:
		if (d->disk.info.read_only)
			return -EROFS;
		/* fall through */
	case DISK_OP_READ:
		pthread_rwlock_rdlock(&d->map_lock);
		ret = pages_to_iovas(q, r, &npages);
		pthread_rwlock_unlock(&d->map_lock);
		if (ret < 0)
			return ret;
		io->op = r->op == DISK_OP_READ ? NVME_IO_READ : NVME_IO_WRITE;
		io->slba = r->lba;
		io->nblocks = r->nblocks;
		io->fua = r->op == DISK_OP_WRITE && r->fua;
		io->byte_offset = r->byte_offset;
		io->pages = q->pages;
		io->npages = npages;
		return 0;
	case DISK_OP_FLUSH:
		/* Without a volatile cache every completed write is already durable. */
		*ret_no_op = !d->disk.info.volatile_cache;
		io->op = NVME_IO_FLUSH;
		return 0;
	case DISK_OP_DISCARD:
		if (d->disk.info.read_only)
			return -EROFS;
		if (!d->disk.info.can_discard)
			return -EOPNOTSUPP;
		if (!r->nranges || r->nranges > DISK_MAX_DISCARD_RANGES || !r->ranges)
			return -EINVAL;
		for (uint32_t i = 0; i < r->nranges; i++)
			q->ranges[i] =
			    (struct nvme_io_range){r->ranges[i].lba, r->ranges[i].nblocks};
		io->op = NVME_IO_DEALLOCATE;
		io->ranges = q->ranges;
		io->nranges = r->nranges;
		return 0;
	default:
		return -EINVAL;
	}
}

static int nvme_disk_submit(struct disk_queue *dq, struct disk_req *r)
{
	struct nvme_queue *q = to_queue(dq);
	struct nvme_io io = {.nsid = q->d->nsid};
	struct nvme_req *req = q->free;
	bool no_op;
	int ret;

	if (!req)
		return -EAGAIN;
	ret = build(q, r, &io, &no_op);
	if (ret < 0)
		return ret;
	q->free = req->next;
	req->q = q;
	req->r = r;
	if (no_op) {
		finish(q, req, 0, true);
		return 0;
	}
	ret = nvme_qpair_submit(q->qp, &io, req_done, req);
	if (ret < 0) {
		req->r = NULL;
		req->next = q->free;
		q->free = req;
	}
	return ret;
}

static void nvme_disk_queue_close(struct disk_queue *dq);

static void queue_free(struct nvme_queue *q)
{
	pthread_mutex_destroy(&q->lock);
	free(q);
}

static void on_close(uv_handle_t *h)
{
	struct nvme_queue *q = h->data;

	if (--q->open_handles == 0)
		queue_free(q);
}

static int nvme_disk_queue_open(struct disk *disk, uv_loop_t *loop, struct disk_queue **ret)
{
	struct nvme_disk *d = to_disk(disk);
	unsigned npairs = nvme_ctrl_qpair_count(d->ctrl);
	struct nvme_queue *q;
	unsigned interval;
	int efd, r;

	if (!npairs)
		return -ENODEV;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->dq = (struct disk_queue){.disk = disk, .loop = loop};
	q->d = d;
	q->qp = nvme_ctrl_qpair(d->ctrl,
				__atomic_fetch_add(&d->next_pair, 1, __ATOMIC_RELAXED) % npairs);
	q->done_tail = &q->done_head;
	pthread_mutex_init(&q->lock, NULL);
	for (unsigned i = POOL_SIZE; i-- > 0;) {
		q->pool[i].next = q->free;
		q->free = &q->pool[i];
	}
	r = uv_async_init(loop, &q->async, on_async);
	if (r < 0) {
		queue_free(q);
		return r;
	}
	q->async.data = q;
	q->timer.data = q;
	q->poll.data = q;
	q->open_handles = 2;
	uv_timer_init(loop, &q->timer);
	/* Housekeeping: neither keeps the loop alive on its own. */
	uv_unref((uv_handle_t *)&q->async);
	uv_unref((uv_handle_t *)&q->timer);
	efd = nvme_qpair_eventfd(q->qp);
	if (efd >= 0) {
		r = uv_poll_init(loop, &q->poll, efd);
		if (r == 0) {
			q->have_poll = true;
			q->open_handles++;
			r = uv_poll_start(&q->poll, UV_READABLE, on_poll);
		}
	}
	/* A pair without an interrupt vector is polled. */
	interval = efd >= 0 ? TICK_MS : POLL_MS;
	if (r == 0)
		r = uv_timer_start(&q->timer, on_timer, interval, interval);
	if (r < 0) {
		nvme_disk_queue_close(&q->dq);
		return r;
	}
	q->counted = true;
	__atomic_add_fetch(&d->nqueues, 1, __ATOMIC_RELAXED);
	*ret = &q->dq;
	return 0;
}

static void nvme_disk_queue_close(struct disk_queue *dq)
{
	struct nvme_queue *q = to_queue(dq);

	/* After this no thread runs a callback with one of our requests; finished ones
	 * still on the done list are abandoned with the rest. */
	nvme_qpair_forget(q->qp, q->pool, q->pool + POOL_SIZE);
	if (q->counted)
		__atomic_sub_fetch(&q->d->nqueues, 1, __ATOMIC_RELAXED);
	if (q->have_poll)
		uv_close((uv_handle_t *)&q->poll, on_close);
	uv_close((uv_handle_t *)&q->timer, on_close);
	uv_close((uv_handle_t *)&q->async, on_close);
}

static bool same_layout(const struct guestmem_layout *a, const struct guestmem_layout *b)
{
	if (a->nranges != b->nranges)
		return false;
	for (unsigned i = 0; i < a->nranges; i++)
		if (a->ranges[i].gpa != b->ranges[i].gpa || a->ranges[i].size != b->ranges[i].size)
			return false;
	return true;
}

static void unmap_ranges(struct nvme_disk *d, const struct guestmem_layout *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		(void)devaccess_dma_unmap(d->da, d->base + l->ranges[i].gpa, l->ranges[i].size);
}

static int map_ranges(struct nvme_disk *d, const struct guestmem *gm)
{
	const struct guestmem_layout *l = &gm->layout;

	for (unsigned i = 0; i < l->nranges; i++) {
		const struct guestmem_range *g = &l->ranges[i];
		uint64_t iova = d->base + g->gpa;
		int r;

		if (g->gpa > UINT64_MAX - d->base || !devaccess_iova_allowed(d->da, iova, g->size))
			r = -ERANGE;
		else
			r = devaccess_dma_map(d->da, gm->base + g->memfd_offset, iova, g->size);
		/* The previous instance's mapping of the same pages, kept by the container. */
		if (r == -EEXIST && d->adopted)
			continue;
		if (r < 0) {
			unmap_ranges(d, l, i);
			return r;
		}
	}
	return 0;
}

static int nvme_disk_map_guest(struct disk *disk, const struct guestmem *gm)
{
	struct nvme_disk *d = to_disk(disk);
	const char *why;
	uint64_t need;
	int r = 0;

	if (!guestmem_is_mapped(gm) || guestmem_layout_check(&gm->layout, &need, &why) < 0)
		return -EINVAL;
	pthread_rwlock_wrlock(&d->map_lock);
	/* The same RAM mapped again (the worker re-sent it): the IOMMU maps the memfd's
	 * pages, not our address for them, so nothing changes. */
	if (d->have_mapping && same_layout(&d->mapped, &gm->layout))
		goto out;
	if (d->have_mapping) {
		unmap_ranges(d, &d->mapped, d->mapped.nranges);
		d->have_mapping = false;
	}
	r = map_ranges(d, gm);
	if (r == 0) {
		d->mapped = gm->layout;
		d->have_mapping = true;
	}
out:
	pthread_rwlock_unlock(&d->map_lock);
	return r;
}

static void nvme_disk_inspect(struct disk *disk, struct inspect_tree *t, Mhcl__Node *dir)
{
	struct nvme_disk *d = to_disk(disk);
	const struct nvme_ctrl_info *ci = nvme_ctrl_info(d->ctrl);
	struct nvme_ctrl_stats s;

	nvme_ctrl_stats(d->ctrl, &s);
	inspect_str(t, dir, "model", ci->model);
	inspect_str(t, dir, "serial", ci->serial);
	inspect_u64(t, dir, "nsid", d->nsid);
	inspect_u64(t, dir, "queue_pairs", nvme_ctrl_qpair_count(d->ctrl));
	inspect_u64(t, dir, "queues", __atomic_load_n(&d->nqueues, __ATOMIC_RELAXED));
	inspect_u64(t, dir, "guest_ranges_mapped", d->have_mapping ? d->mapped.nranges : 0);
	inspect_bool(t, dir, "failed", s.failed);
	inspect_u64(t, dir, "timeouts", s.timeouts);
	inspect_u64(t, dir, "bad_completions", s.bad_completions);
	inspect_u64(t, dir, "stale_at_adopt", s.stale_at_adopt);
	inspect_u64(t, dir, "stale_completed", s.stale_completed);
}

static void nvme_disk_close(struct disk *disk)
{
	struct nvme_disk *d = to_disk(disk);

	/* Guest RAM stays mapped for the device: commands the next instance adopts may still
	 * be moving data, and the container (in init's fd store) keeps the mapping. */
	pthread_rwlock_destroy(&d->map_lock);
	free(d);
}

static const struct disk_ops nvme_disk_ops = {
    .kind = "nvme",
    .queue_open = nvme_disk_queue_open,
    .submit = nvme_disk_submit,
    .queue_close = nvme_disk_queue_close,
    .map_guest = nvme_disk_map_guest,
    .inspect = nvme_disk_inspect,
    .close = nvme_disk_close,
};

int disk_nvme_open(const struct disk_nvme_opts *o, struct disk **ret)
{
	const struct nvme_ns_info *ns;
	const struct nvme_ctrl_info *ci;
	struct nvme_disk *d;

	if (!o->ctrl || !o->da || o->guest_iova_base & (GUESTMEM_PAGE_SIZE - 1))
		return -EINVAL;
	ns = nvme_ctrl_ns_find(o->ctrl, o->nsid);
	if (!ns)
		return -ENXIO;
	if (ns->block_size != 512 && ns->block_size != 4096)
		return -ENOTSUP;
	ci = nvme_ctrl_info(o->ctrl);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->disk.ops = &nvme_disk_ops;
	d->disk.info = (struct disk_info){
	    .nblocks = ns->nblocks,
	    .block_size = ns->block_size,
	    .max_transfer = nvme_ctrl_max_transfer(o->ctrl),
	    .read_only = o->read_only,
	    .can_discard = ci->dsm && !o->read_only,
	    .volatile_cache = ci->vwc,
	    .id_len = ns->id_len,
	};
	memcpy(d->disk.info.id, ns->id, sizeof(d->disk.info.id));
	d->ctrl = o->ctrl;
	d->da = o->da;
	d->nsid = o->nsid;
	d->base = o->guest_iova_base;
	d->adopted = o->adopted;
	pthread_rwlock_init(&d->map_lock, NULL);
	*ret = &d->disk;
	return 0;
}
