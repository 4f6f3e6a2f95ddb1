/* SPDX-License-Identifier: MIT */
#include "stor_ctrl.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "defs/scsi_defs.h"
#include "macros.h"
#include "storvsp.h"
#include "vmbus_ring.h"

#define STOR_PKT_BUF 8192u   /* largest guest packet read; bigger ones break the ring */
#define STOR_LAT_BUCKETS 24u /* latency histogram: bucket i holds [2^i, 2^(i+1)) us */
#define STOR_NO_SLOT 0xFFFFu

struct stor_chan;

/* The live half of a slot (the record half is in the crash-consistent state). */
struct stor_slot {
	struct stor_chan *ch;
	struct stor_slot_rec *rec;
	uint16_t idx;
	uint16_t next; /* free list or backlog link */
	bool busy;     /* taken, not yet answered */
	bool io;       /* a backend request is in flight */
	struct stor_lun *lun;
	uint64_t t0; /* busy_poll_clock when taken */
	/* The answer. */
	uint8_t srb_status, scsi_status, sense_len;
	uint8_t sense[SCSI_SENSE_LEN];
	uint32_t xfer;
	uint32_t want; /* the transfer length the SRB asked for (0 without data) */
	enum disk_op op;
	struct disk_req req;
	struct disk_range *ranges;   /* DISCARD: owned copy */
	struct stor_slot *wait_next; /* waiting for its LUN's guest RAM mapping */
	struct iovec iov[STOR_MAX_PFNS];
};

struct stor_chan {
	struct stor_ctrl *ctrl;
	unsigned index; /* 0 = primary */
	struct vmbusdev_chan *dev;
	struct stor_chan_rec *rec;
	bool open;
	bool throttled; /* stopped reading: no free slot, or completions wait for ring space */
	uint32_t relid;
	struct vmbus_ring *in, *out;
	const struct guestmem *gm;
	struct busy_poll_entry poll; /* polled (guest signals masked) while busy */
	struct disk_queue *queues[STOR_MAX_LUNS];
	/*
	 * Slots are set up when first taken, and free ones are a stack of indices, the last
	 * freed on top: a channel reuses the few slots its queue depth needs, and the rest
	 * of this third of a MiB is never touched. A restarted instance so touches for the
	 * first time (a page fault each, costly in a guest) only what the guest's queue
	 * needs, inside the guest's pause.
	 */
	struct stor_slot slots[STOR_QUEUE_DEPTH];
	uint16_t free_stack[STOR_QUEUE_DEPTH];
	unsigned nfree;
	uint64_t busy_mask[STOR_QUEUE_DEPTH / 64u]; /* slots[i].busy, kept beside them */
	unsigned nbusy; /* taken and not yet answered (what a planned stop waits for) */
	uint16_t backlog_head, backlog_tail; /* answered, waiting for ring space */
	uint16_t sent_head; /* completions written but not yet published: still busy */
	/* Counters, kept across opens. */
	uint64_t requests, reads, writes, read_bytes, write_bytes, flushes, discards, errors;
	uint64_t refused_packets, replayed, dropped_duplicates, signals, signal_failures;
	uint64_t ring_full, max_inflight, batches;
	uint64_t lat[STOR_LAT_BUCKETS];
	const char *last_error;
	struct scsi_exec exec;		  /* scratch for one command at a time */
	uint8_t data[SCSI_DATA_IN_MAX];	  /* parameter lists copied from the guest */
	uint8_t answer[SCSI_DATA_IN_MAX]; /* immediate DATA-IN bytes for the guest */
	uint64_t pktbuf[STOR_PKT_BUF / 8];
};

/* Mapping guest RAM for a disk's DMA can take seconds (every page is pinned, and an
 * emulated IOMMU is slow): it runs on a thread, so channel opens answer at once, and I/O
 * to that LUN waits for it. */
enum lun_map_state { LUN_MAP_NONE, LUN_MAP_RUNNING, LUN_MAP_DONE, LUN_MAP_FAILED };

struct lun_map {
	enum lun_map_state state;
	const uint8_t *base; /* the guest RAM mapping it was made for */
	const struct guestmem *gm;
	pthread_t thread;
	int result;    /* written by the thread */
	bool finished; /* atomic: the thread is done */
	struct stor_slot *wait;
	struct stor_ctrl *c;
	struct stor_lun *lun;
};

struct stor_ctrl {
	struct vmbusdev *v;
	uv_loop_t *loop;
	struct busy_poll *poll;
	unsigned index;
	struct hv_guid instance;
	struct stor_ctrl_rec *rec;
	uint16_t max_subchannels;
	struct stor_lun *luns[STOR_MAX_LUNS];
	unsigned nluns;
	struct stor_chan *chans[STOR_MAX_CHANNELS];
	unsigned nchans; /* described to vmbusdev */
	bool quiescing;
	struct lun_map maps[STOR_MAX_LUNS];
	uv_async_t map_async;
	/* Completions are published once per loop turn, before the loop waits (prepare) or
	 * after I/O callbacks wrote some (check): one write_index store, fence and signal
	 * decision per channel and turn instead of per request. */
	uv_prepare_t publish_prep;
	uv_check_t publish_check;
	uint32_t unpublished; /* bit per channel with a batch open */
	unsigned handles;     /* libuv handles still to close before the free */
	void (*idle_fn)(void *opaque);
	void *idle_opaque;
};

static void chan_drain(struct stor_chan *ch);
static void slot_run(struct stor_slot *s);
static void submit_io(struct stor_slot *s);

/* ---- slots ---- */

static_assert(STOR_QUEUE_DEPTH % 64u == 0, "busy_mask holds whole words");

static bool slot_busy(const struct stor_chan *ch, unsigned i)
{
	return (ch->busy_mask[i / 64u] >> (i % 64u)) & 1u;
}

static void set_busy(struct stor_slot *s, bool busy)
{
	uint64_t bit = 1ull << (s->idx % 64u);
	uint64_t *w = &s->ch->busy_mask[s->idx / 64u];
	*w = busy ? *w | bit : *w & ~bit;
	s->busy = busy;
}

/* Slot i with its header set (see slots in struct stor_chan). */
static struct stor_slot *slot_at(struct stor_chan *ch, unsigned i)
{
	struct stor_slot *s = &ch->slots[i];
	s->ch = ch;
	s->rec = &ch->rec->slots[i];
	s->idx = (uint16_t)i;
	return s;
}

static void slot_free(struct stor_slot *s)
{
	struct stor_chan *ch = s->ch;

	free(s->ranges);
	s->ranges = NULL;
	set_busy(s, false);
	s->io = false;
	stor_publish(&s->rec->state, (uint32_t)STOR_SLOT_FREE);
	ch->free_stack[ch->nfree++] = s->idx;
	ch->nbusy--;
	if (ch->ctrl->quiescing && ch->ctrl->idle_fn && stor_ctrl_inflight(ch->ctrl) == 0)
		ch->ctrl->idle_fn(ch->ctrl->idle_opaque);
}

/* s (off the free list) now holds a request not yet answered. */
static void slot_begin(struct stor_slot *s)
{
	struct stor_chan *ch = s->ch;
	ch->nbusy++;
	if (ch->nbusy > ch->max_inflight)
		ch->max_inflight = ch->nbusy;
	set_busy(s, true);
	s->io = false;
	s->srb_status = STORVSP_SRB_SUCCESS;
	s->scsi_status = SCSI_STATUS_GOOD;
	s->sense_len = 0;
	s->xfer = 0;
	s->lun = NULL;
	s->t0 = busy_poll_clock(ch->ctrl->poll);
}

static struct stor_slot *slot_take(struct stor_chan *ch)
{
	if (ch->nfree == 0)
		return NULL;
	struct stor_slot *s = slot_at(ch, ch->free_stack[--ch->nfree]);
	slot_begin(s);
	return s;
}

static void signal_guest(struct stor_chan *ch)
{
	int r = vmbusdev_chan_signal(ch->dev);
	ch->signals++;
	if (r < 0)
		ch->signal_failures++;
}

/* ---- publishing completions ---- */

static void publish_chan(struct stor_chan *ch)
{
	struct stor_ctrl *c = ch->ctrl;
	bool starved = ch->nfree == 0;

	c->unpublished &= ~(1u << ch->index);
	int r = vmbus_ring_batch_end(ch->out);
	ch->batches++;
	/* Seen by the guest (or never to be: a broken ring), so no longer owed. */
	while (ch->sent_head != STOR_NO_SLOT) {
		struct stor_slot *s = &ch->slots[ch->sent_head];
		ch->sent_head = s->next;
		slot_free(s);
	}
	if (r == 1)
		signal_guest(ch);
	/* Requests left in the ring for want of a slot can be taken now. */
	if (starved && ch->open && !c->quiescing)
		chan_drain(ch);
}

static void publish_all(struct stor_ctrl *c)
{
	while (c->unpublished)
		publish_chan(c->chans[__builtin_ctz(c->unpublished)]);
	uv_prepare_stop(&c->publish_prep);
	uv_check_stop(&c->publish_check);
}

static void publish_prep_cb(uv_prepare_t *h)
{
	publish_all(h->data);
}

static void publish_check_cb(uv_check_t *h)
{
	publish_all(h->data);
}

/* Completions written from here on wait for publish_all. The record says where the batch
 * starts: a completion past it that write_index has not reached was never seen. */
static void batch_open(struct stor_chan *ch)
{
	struct stor_ctrl *c = ch->ctrl;

	if (vmbus_ring_batch_open(ch->out))
		return;
	stor_publish(&ch->rec->batch_start, vmbus_ring_published(ch->out));
	vmbus_ring_batch_begin(ch->out);
	if (!c->unpublished) {
		(void)uv_prepare_start(&c->publish_prep, publish_prep_cb);
		(void)uv_check_start(&c->publish_check, publish_check_cb);
	}
	c->unpublished |= 1u << ch->index;
}

static void count_latency(struct stor_chan *ch, uint64_t t0)
{
	uint64_t now = busy_poll_clock(ch->ctrl->poll);
	uint64_t us = now > t0 ? (now - t0) / 1000u : 0;
	unsigned b = 0;
	while (us > 1 && b + 1 < STOR_LAT_BUCKETS) {
		us >>= 1;
		b++;
	}
	ch->lat[b]++;
}

static void backlog_push(struct stor_chan *ch, struct stor_slot *s)
{
	s->next = STOR_NO_SLOT;
	if (ch->backlog_tail == STOR_NO_SLOT)
		ch->backlog_head = s->idx;
	else
		ch->slots[ch->backlog_tail].next = s->idx;
	ch->backlog_tail = s->idx;
	ch->throttled = true;
}

/*
 * Writes s's completion. Returns 0 (sent, or nobody to send to) or -EAGAIN (no room: the
 * caller keeps it in the backlog and asks the guest to signal once there is).
 */
static int slot_send(struct stor_slot *s)
{
	struct stor_chan *ch = s->ch;
	struct stor_slot_rec *rec = s->rec;
	uint16_t version = (uint16_t)ch->ctrl->rec->version;
	struct storvsp_req req = {.trans_id = rec->trans_id, .pkt = rec->pkt, .size = 64};
	struct storvsp_packet ans;
	int r;

	if (!ch->open) {
		slot_free(s);
		return 0;
	}
	storvsp_answer(&req, STORVSP_STATUS_SUCCESS, &ans);
	storvsp_srb_result(&ans, s->srb_status, s->scsi_status, s->sense_len ? s->sense : NULL,
			   s->sense_len, s->xfer, version);
	uint32_t len = storvsp_answer_size(&req, version);
	batch_open(ch);
	rec->out_at = vmbus_ring_write_pos(ch->out);
	rec->out_len = vmbus_ring_inband_size(len);
	stor_publish(&rec->state, (uint32_t)STOR_SLOT_COMPLETING);
	r = vmbus_ring_send_completion(ch->out, rec->trans_id, &ans, len);
	if (r == -EAGAIN) {
		stor_publish(&rec->state, (uint32_t)STOR_SLOT_TAKEN);
		return r;
	}
	count_latency(ch, s->t0);
	if (r < 0) {
		/* The guest broke its ring: nothing more reaches it on this channel. */
		ch->last_error = vmbus_ring_broken_reason(ch->out);
		log_warn_errno(r, "storage channel relid %u: unable to complete a request: %m",
			       ch->relid);
		slot_free(s);
		return 0;
	}
	s->next = ch->sent_head;
	ch->sent_head = s->idx;
	return 0;
}

/* Sends what waits for ring space, in order; 0 when the backlog is empty. */
static int backlog_flush(struct stor_chan *ch)
{
	while (ch->backlog_head != STOR_NO_SLOT) {
		struct stor_slot *s = &ch->slots[ch->backlog_head];
		uint16_t next = s->next;
		if (slot_send(s) == -EAGAIN) {
			ch->ring_full++;
			int r = vmbus_ring_set_pending_send(ch->out, s->rec->out_len);
			if (r == 1)
				continue; /* room appeared meanwhile */
			return -EAGAIN;
		}
		ch->backlog_head = next;
		if (next == STOR_NO_SLOT)
			ch->backlog_tail = STOR_NO_SLOT;
	}
	(void)vmbus_ring_set_pending_send(ch->out, 0);
	return 0;
}

static void slot_complete(struct stor_slot *s)
{
	struct stor_chan *ch = s->ch;
	bool was_throttled = ch->throttled;

	if (s->srb_status != STORVSP_SRB_SUCCESS || s->scsi_status != SCSI_STATUS_GOOD)
		ch->errors++;
	if (ch->backlog_head != STOR_NO_SLOT || slot_send(s) == -EAGAIN) {
		if (ch->open) {
			backlog_push(ch, s);
			(void)backlog_flush(ch);
			return;
		}
	}
	if (was_throttled && ch->open && !ch->ctrl->quiescing) {
		ch->throttled = false;
		chan_drain(ch);
	}
}

static void slot_fail(struct stor_slot *s, uint8_t srb_status)
{
	s->srb_status = srb_status;
	s->scsi_status = SCSI_STATUS_GOOD;
	s->sense_len = 0;
	s->xfer = 0;
	slot_complete(s);
}

/* The SCSI answer in ch->exec becomes s's answer. */
static void slot_take_exec(struct stor_slot *s, const struct scsi_exec *e, uint32_t xfer)
{
	s->scsi_status = e->status;
	if (e->status == SCSI_STATUS_GOOD) {
		s->srb_status = STORVSP_SRB_SUCCESS;
		s->xfer = xfer;
		s->sense_len = 0;
	} else {
		s->srb_status = STORVSP_SRB_ERROR;
		s->xfer = 0;
		s->sense_len = e->sense_len;
		memcpy(s->sense, e->sense, e->sense_len);
	}
}

/* ---- executing one SRB ---- */

/* s's backend I/O could not run: the SCSI answer for err (sense from scsi_disk_io_done). */
static void slot_fail_io(struct stor_slot *s, int err)
{
	struct scsi_exec *e = &s->ch->exec;
	e->kind = SCSI_EXEC_IO;
	e->op = s->op;
	scsi_disk_io_done(e, err);
	slot_take_exec(s, e, 0);
	slot_complete(s);
}

static void io_done(struct disk_req *r, int err)
{
	struct stor_slot *s = r->opaque;
	struct stor_chan *ch = s->ch;
	struct scsi_exec *e = &ch->exec;

	s->io = false;
	e->kind = SCSI_EXEC_IO;
	e->op = s->op;
	scsi_disk_io_done(e, err);
	if (err == 0) {
		uint64_t bytes = (uint64_t)r->nblocks * s->lun->scsi.block_size;
		if (s->op == DISK_OP_READ) {
			ch->reads++;
			ch->read_bytes += bytes;
		} else if (s->op == DISK_OP_WRITE) {
			ch->writes++;
			ch->write_bytes += bytes;
		}
	}
	slot_take_exec(s, e, err == 0 ? s->want : 0);
	slot_complete(s);
}

/* Copies len bytes between buf and s's guest buffer (to_guest: DATA-IN, else the
 * parameter list coming out); 0 or -EFAULT. */
static int copy_guest(struct stor_slot *s, void *buf, uint32_t len, bool to_guest)
{
	const struct stor_slot_rec *rec = s->rec;
	int n = guestmem_iov(s->ch->gm, rec->pfns, rec->npfns, rec->byte_offset, len, s->iov,
			     STOR_MAX_PFNS);
	if (n < 0)
		return n;
	uint8_t *p = buf;
	for (int i = 0; i < n; i++) {
		if (to_guest)
			memcpy(s->iov[i].iov_base, p, s->iov[i].iov_len);
		else
			memcpy(p, s->iov[i].iov_base, s->iov[i].iov_len);
		p += s->iov[i].iov_len;
	}
	return 0;
}

/* INQUIRY data for a LUN that is not there: peripheral qualifier 3 ("not connected"),
 * which is what makes Linux skip it (it forces every INQUIRY to success). */
static uint32_t absent_lun_inquiry(uint8_t *buf)
{
	memset(buf, 0, 36);
	buf[0] = 0x7F;
	buf[2] = 0x06; /* SPC-4 */
	buf[3] = 0x02; /* response data format */
	buf[4] = 31;   /* additional length */
	memcpy(buf + 8, "Msft    Virtual Disk    1.0 ", 28);
	return 36;
}

/* The LUN the guest can see at index i (declared and attached), or NULL. */
static struct stor_lun *lun_at(const struct stor_ctrl *c, unsigned i)
{
	if (i >= STOR_MAX_LUNS || (c->rec->lun_absent >> i) & 1)
		return NULL;
	return c->luns[i];
}

/* REPORT LUNS data for c's LUNs (c NULL: none). */
static uint32_t report_luns(const struct stor_ctrl *c, uint8_t *buf)
{
	uint32_t n = 0;
	memset(buf, 0, 8);
	for (unsigned i = 0; c && i < STOR_MAX_LUNS; i++) {
		if (!lun_at(c, i))
			continue;
		uint8_t *e = buf + 8 + 8 * n++;
		memset(e, 0, 8);
		e[1] = (uint8_t)i; /* peripheral device addressing, bus 0 */
	}
	uint32_t len = 8 * n;
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	return 8 + len;
}

static uint32_t cdb_alloc_len(const uint8_t *cdb)
{
	/* REPORT LUNS: allocation length in bytes 6..9. */
	return (uint32_t)cdb[6] << 24 | (uint32_t)cdb[7] << 16 | (uint32_t)cdb[8] << 8 | cdb[9];
}

/* Answers with an immediate command's DATA-IN bytes. */
static void answer_data(struct stor_slot *s, const uint8_t *src, uint32_t have, uint32_t xfer)
{
	uint32_t n = have < xfer ? have : xfer;
	if (n && copy_guest(s, (void *)src, n, true) < 0) {
		slot_fail(s, STORVSP_SRB_ERROR);
		return;
	}
	s->srb_status = STORVSP_SRB_SUCCESS;
	s->scsi_status = SCSI_STATUS_GOOD;
	s->xfer = n;
	slot_complete(s);
}

/* Runs the SRB in s->rec (fresh from the ring, or replayed after a restart). */
static void slot_run(struct stor_slot *s)
{
	struct stor_chan *ch = s->ch;
	struct stor_ctrl *c = ch->ctrl;
	const struct stor_slot_rec *rec = s->rec;
	const struct storvsp_srb *srb = &rec->pkt.srb;
	struct scsi_exec *e = &ch->exec;
	uint32_t xfer = srb->data_transfer_length;
	bool needs_params = false;

	ch->requests++;
	if (srb->cdb_length == 0 || srb->cdb_length > STORVSP_CDB_MAX ||
	    srb->data_in > STORVSP_DATA_NONE) {
		slot_fail(s, STORVSP_SRB_INVALID_REQUEST);
		return;
	}
	if (srb->data_in == STORVSP_DATA_NONE)
		xfer = 0;
	if (xfer > rec->byte_count || xfer > STOR_MAX_TRANSFER) {
		/* The SRB claims more than the buffer the packet described. */
		slot_fail(s, STORVSP_SRB_INVALID_REQUEST);
		return;
	}
	const uint8_t *cdb = srb->cdb;
	struct stor_lun *lun =
	    srb->path_id == 0 && srb->target_id == 0 ? lun_at(c, srb->lun) : NULL;
	if (cdb[0] == SCSI_OP_REPORT_LUNS) {
		/* Every (channel, target) Linux scans answers, the empty ones with no LUNs:
		 * a failed REPORT LUNS would make it remove devices (below) or probe LUN by
		 * LUN. */
		uint32_t alloc = cdb_alloc_len(cdb);
		bool ours = srb->path_id == 0 && srb->target_id == 0;
		uint32_t have = report_luns(ours ? c : NULL, ch->answer);
		answer_data(s, ch->answer, have < alloc ? have : alloc, xfer);
		return;
	}
	if (!lun) {
		if (cdb[0] == SCSI_OP_INQUIRY) {
			answer_data(s, ch->answer, absent_lun_inquiry(ch->answer), xfer);
			return;
		}
		if (srb->path_id == 0) {
			/* INVALID_LUN makes Linux remove the device at (channel 0, target, lun):
			 * right only on channel 0. */
			slot_fail(s, STORVSP_SRB_INVALID_LUN);
			return;
		}
		e->kind = SCSI_EXEC_DONE;
		scsi_exec_sense(e, SCSI_SENSE_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED, 0);
		slot_take_exec(s, e, 0);
		slot_complete(s);
		return;
	}
	s->lun = lun;
	enum scsi_dir dir = scsi_cdb_dir(cdb, srb->cdb_length, &needs_params);
	if (xfer && ((dir == SCSI_DIR_IN && srb->data_in != STORVSP_DATA_READ) ||
		     (dir == SCSI_DIR_OUT && srb->data_in != STORVSP_DATA_WRITE))) {
		slot_fail(s, STORVSP_SRB_INVALID_REQUEST);
		return;
	}
	const void *params = NULL;
	uint32_t plen = 0;
	if (needs_params && xfer) {
		plen = xfer < SCSI_PARAM_MAX ? xfer : SCSI_PARAM_MAX;
		if (copy_guest(s, ch->data, plen, false) < 0) {
			slot_fail(s, STORVSP_SRB_ERROR);
			return;
		}
		params = ch->data;
	}
	s->want = xfer;
	scsi_disk_exec(&lun->scsi, cdb, srb->cdb_length, xfer, params, plen, ch->answer,
		       sizeof(ch->answer), e);
	if (e->kind == SCSI_EXEC_DONE) {
		if (e->status != SCSI_STATUS_GOOD) {
			slot_take_exec(s, e, 0);
			slot_complete(s);
			return;
		}
		answer_data(s, ch->answer, e->data_len, xfer);
		return;
	}
	/* Backend I/O. */
	struct disk_req *r = &s->req;
	memset(r, 0, sizeof(*r));
	s->op = e->op;
	r->op = e->op;
	r->lba = e->lba;
	r->nblocks = e->nblocks;
	r->fua = e->fua;
	r->done = io_done;
	r->opaque = s;
	if (e->op == DISK_OP_READ || e->op == DISK_OP_WRITE) {
		uint64_t bytes = (uint64_t)e->nblocks * lun->scsi.block_size;
		int n = guestmem_iov(ch->gm, rec->pfns, rec->npfns, rec->byte_offset, bytes, s->iov,
				     STOR_MAX_PFNS);
		if (n < 0) {
			/* A buffer outside guest RAM. */
			slot_fail(s, STORVSP_SRB_ERROR);
			return;
		}
		r->iov = s->iov;
		r->iovcnt = (unsigned)n;
		r->pfns = rec->pfns;
		r->npfns = rec->npfns;
		r->byte_offset = rec->byte_offset;
	} else if (e->op == DISK_OP_DISCARD) {
		s->ranges = malloc(sizeof(*s->ranges) * (e->nranges ? e->nranges : 1));
		if (!s->ranges) {
			slot_fail(s, STORVSP_SRB_INTERNAL_ERROR);
			return;
		}
		memcpy(s->ranges, e->ranges, sizeof(*s->ranges) * e->nranges);
		r->ranges = s->ranges;
		r->nranges = e->nranges;
		ch->discards++;
	} else if (e->op == DISK_OP_FLUSH) {
		ch->flushes++;
	}
	struct lun_map *m = &c->maps[lun->lun];
	if (m->state == LUN_MAP_RUNNING) {
		s->wait_next = m->wait;
		m->wait = s;
		s->io = true;
		return;
	}
	if (m->state == LUN_MAP_FAILED) {
		slot_fail_io(s, -ENXIO);
		return;
	}
	submit_io(s);
}

/* Hands s's request (built by slot_run) to its LUN's disk on its channel's queue. */
static void submit_io(struct stor_slot *s)
{
	struct stor_chan *ch = s->ch;
	struct disk_req *r = &s->req;
	struct disk_queue *q = ch->queues[s->lun->lun];
	int rc = q ? disk_submit(q, r) : -ENODEV;
	if (rc < 0) {
		/* The backend refused outright (-EAGAIN: its queue is full, which our depth
		 * should prevent): the guest retries a BUSY. */
		if (rc == -EAGAIN) {
			s->srb_status = STORVSP_SRB_ERROR;
			s->scsi_status = SCSI_STATUS_BUSY;
			s->sense_len = 0;
			s->xfer = 0;
			slot_complete(s);
			return;
		}
		slot_fail_io(s, rc);
		return;
	}
	s->io = true;
}

/* ---- guest RAM mapped for DMA (on a thread) ---- */

static void *map_thread(void *arg)
{
	struct lun_map *m = arg;
	m->result = disk_map_guest(m->lun->disk, m->gm);
	__atomic_store_n(&m->finished, true, __ATOMIC_RELEASE);
	uv_async_send(&m->c->map_async);
	return NULL;
}

static void map_done_cb(uv_async_t *a)
{
	struct stor_ctrl *c = a->data;
	for (unsigned i = 0; i < STOR_MAX_LUNS; i++) {
		struct lun_map *m = &c->maps[i];
		if (m->state != LUN_MAP_RUNNING || !__atomic_load_n(&m->finished, __ATOMIC_ACQUIRE))
			continue;
		pthread_join(m->thread, NULL);
		m->state = m->result == 0 ? LUN_MAP_DONE : LUN_MAP_FAILED;
		if (m->result == 0)
			log_info("controller %u LUN %u: guest RAM mapped for the device", c->index,
				 i);
		else
			log_error_errno(m->result,
					"controller %u LUN %u: unable to map guest RAM for "
					"the device: its I/O fails: %m",
					c->index, i);
		struct stor_slot *s = m->wait;
		m->wait = NULL;
		while (s) {
			struct stor_slot *next = s->wait_next;
			s->io = false;
			if (m->state == LUN_MAP_DONE) {
				submit_io(s);
			} else {
				slot_fail_io(s, -ENXIO);
			}
			s = next;
		}
	}
}

/* Starts mapping gm for LUN i's disk unless that is done or under way. */
static int start_map(struct stor_ctrl *c, unsigned i, const struct guestmem *gm)
{
	struct lun_map *m = &c->maps[i];
	if (!c->luns[i]->disk->ops->map_guest) {
		m->state = LUN_MAP_DONE;
		return 0;
	}
	if (m->state == LUN_MAP_RUNNING || (m->state == LUN_MAP_DONE && m->base == gm->base))
		return 0;
	m->c = c;
	m->lun = c->luns[i];
	m->gm = gm;
	m->base = gm->base;
	m->finished = false;
	m->state = LUN_MAP_RUNNING;
	int r = pthread_create(&m->thread, NULL, map_thread, m);
	if (r != 0) {
		m->state = LUN_MAP_FAILED;
		return -r;
	}
	return 0;
}

/* Forgets ch's slots that wait for a mapping (the channel closed). */
static void unwait_channel(struct stor_ctrl *c, const struct stor_chan *ch)
{
	for (unsigned i = 0; i < STOR_MAX_LUNS; i++) {
		struct stor_slot **pp = &c->maps[i].wait;
		while (*pp) {
			if ((*pp)->ch == ch)
				*pp = (*pp)->wait_next;
			else
				pp = &(*pp)->wait_next;
		}
	}
}

/* ---- the ring ---- */

/* Answers a non-SRB packet at once. */
static void answer_now(struct stor_chan *ch, const struct storvsp_req *req, uint32_t status,
		       const struct storvsp_properties *props)
{
	struct storvsp_packet ans;
	uint16_t version = (uint16_t)ch->ctrl->rec->version;

	storvsp_answer(req, status, &ans);
	if (props)
		ans.props = *props;
	if (req->op == STORVSP_OP_EXECUTE_SRB) /* what Linux looks at for an SRB */
		storvsp_srb_result(&ans, STORVSP_SRB_INVALID_REQUEST, SCSI_STATUS_GOOD, NULL, 0, 0,
				   version);
	int r = vmbus_ring_send_completion(ch->out, req->trans_id, &ans,
					   storvsp_answer_size(req, version));
	if (r < 0) {
		ch->last_error = "unable to answer a control packet";
		log_warn_errno(r, "storage channel relid %u: unable to answer %s: %m", ch->relid,
			       storvsp_op_name(req->op));
	} else if (r == 1) {
		signal_guest(ch);
	}
}

static int grant_subchannels(struct stor_ctrl *c, unsigned n);

static void control_packet(struct stor_chan *ch, const struct storvsp_req *req)
{
	struct stor_ctrl *c = ch->ctrl;
	struct storvsp_init_answer ans;
	struct storvsp_properties props;

	storvsp_init_op(c->rec, req, ch->index == 0, c->max_subchannels, &ans);
	if (ans.grant_subchannels && grant_subchannels(c, ans.grant_subchannels) < 0)
		ans.status = STORVSP_STATUS_UNSUCCESSFUL;
	if (ans.props)
		storvsp_properties(&props, c->max_subchannels);
	log_debug("storage channel relid %u: %s -> %#x", ch->relid, storvsp_op_name(req->op),
		  ans.status);
	if (req->op == STORVSP_OP_QUERY_PROTOCOL_VERSION && ans.status == 0)
		log_info("controller %u: protocol %u.%u", c->index, c->rec->version >> 8,
			 c->rec->version & 0xff);
	if (req->op == STORVSP_OP_END_INITIALIZATION && ans.status == 0)
		log_info("controller %u: initialized (%u LUNs, up to %u sub-channels)", c->index,
			 c->nluns, c->max_subchannels);
	answer_now(ch, req, ans.status, ans.props ? &props : NULL);
}

/* Takes one SRB: into a slot, then the ring's read index moves past it (stor_state.h). */
static void take_srb(struct stor_chan *ch, const struct storvsp_req *req, uint32_t start)
{
	struct stor_slot *s = slot_take(ch);
	struct stor_slot_rec *rec = s->rec;

	rec->ring_start = start;
	rec->ring_end = vmbus_ring_read_pos(ch->in);
	rec->trans_id = req->trans_id;
	rec->pkt = req->pkt;
	rec->byte_offset = req->byte_offset;
	rec->byte_count = req->byte_count;
	rec->npfns = req->npfns;
	if (req->npfns)
		memcpy(rec->pfns, req->pfns, sizeof(uint64_t) * req->npfns);
	stor_publish(&ch->rec->pending, (uint32_t)s->idx + 1);
	stor_publish(&rec->state, (uint32_t)STOR_SLOT_TAKEN);
	if (vmbus_ring_recv_commit(ch->in) == 1)
		signal_guest(ch);
	stor_publish(&ch->rec->pending, 0u);
	slot_run(s);
}

static void refuse_packet(struct stor_chan *ch, const struct storvsp_req *req, uint32_t status,
			  const char *why)
{
	ch->refused_packets++;
	ch->last_error = why;
	log_warn("storage channel relid %u: refused a packet: %s", ch->relid, why);
	if (req->size) /* else too short to echo: Linux would not match an answer either */
		answer_now(ch, req, status, NULL);
}

static void chan_drain(struct stor_chan *ch)
{
	struct stor_ctrl *c = ch->ctrl;
	struct vmbus_pkt pkt;
	int r;

	for (;;) {
		bool worked = false;
		vmbus_ring_mask_interrupts(ch->in);
		for (;;) {
			if (!ch->open || c->quiescing) {
				busy_poll_stop(c->poll, &ch->poll);
				return;
			}
			if (ch->nfree == 0 || ch->backlog_head != STOR_NO_SLOT) {
				/* Leave the rest in the ring (masked): a completion drains again.
				 * Polling goes on for its window (the completion may come from
				 * the backend's next turn). */
				ch->throttled = true;
				(void)busy_poll_keep(c->poll, &ch->poll, worked);
				return;
			}
			uint32_t start = vmbus_ring_read_pos(ch->in);
			r = vmbus_ring_recv(ch->in, ch->pktbuf, sizeof(ch->pktbuf), &pkt);
			if (r < 0)
				break;
			worked = true;
			struct storvsp_req req;
			const char *why = NULL;
			int pr = storvsp_parse(&pkt, (uint16_t)c->rec->version, &req, &why);
			if (pr < 0) {
				refuse_packet(ch, &req, STORVSP_STATUS_INVALID_PARAMETER, why);
			} else if (req.op == STORVSP_OP_EXECUTE_SRB) {
				if (c->rec->init_state != STOR_INIT_DONE) {
					refuse_packet(ch, &req, STORVSP_STATUS_INVALID_DEVICE_STATE,
						      "an SRB before initialization");
				} else {
					take_srb(ch, &req, start);
					continue; /* committed already */
				}
			} else {
				control_packet(ch, &req);
			}
			if (vmbus_ring_recv_commit(ch->in) == 1)
				signal_guest(ch);
		}
		if (r != -EAGAIN) {
			ch->last_error = vmbus_ring_broken_reason(ch->in);
			log_warn_errno(r, "storage channel relid %u: guest->host ring broken (%s)",
				       ch->relid, ch->last_error ? ch->last_error : "?");
			return;
		}
		if (vmbus_ring_recv_commit(ch->in) == 1)
			signal_guest(ch);
		if (busy_poll_keep(c->poll, &ch->poll, worked))
			return; /* masked: the next turn of the loop looks again */
		if (vmbus_ring_unmask_interrupts(ch->in) != 1)
			return;
	}
}

/* What a doorbell and a polling turn both do: send what waits for ring space, then take
 * new requests. False when there is still no room towards the guest (its signal, once it
 * has read, comes back here). */
static bool flush_and_drain(struct stor_chan *ch)
{
	if (backlog_flush(ch) < 0)
		return false;
	ch->throttled = false;
	chan_drain(ch);
	return true;
}

static void chan_poll(struct busy_poll_entry *e)
{
	struct stor_chan *ch = container_of(e, struct stor_chan, poll);
	if (!ch->open || ch->ctrl->quiescing)
		busy_poll_stop(ch->ctrl->poll, e);
	else if (!flush_and_drain(ch))
		(void)busy_poll_keep(ch->ctrl->poll, e, false);
}

/* ---- channel lifecycle ---- */

static void close_queues(struct stor_chan *ch)
{
	for (unsigned i = 0; i < STOR_MAX_LUNS; i++) {
		disk_queue_close(ch->queues[i]);
		ch->queues[i] = NULL;
	}
}

static int open_queues(struct stor_chan *ch, const char **why)
{
	struct stor_ctrl *c = ch->ctrl;
	for (unsigned i = 0; i < STOR_MAX_LUNS; i++) {
		if (!c->luns[i] || ch->queues[i])
			continue;
		int r = start_map(c, i, ch->gm);
		if (r == 0)
			r = disk_queue_open(c->luns[i]->disk, c->loop, &ch->queues[i]);
		if (r < 0) {
			*why = "a disk refused a queue";
			close_queues(ch);
			return r;
		}
	}
	return 0;
}

/* Settles the slots an earlier instance left (stor_state.h) and runs the ones it owed. */
static unsigned adopt_slots(struct stor_chan *ch)
{
	struct stor_chan_rec *crec = ch->rec;
	uint32_t pending = crec->pending;
	uint32_t rd = vmbus_ring_shared_read_index(ch->in);
	uint32_t wr = vmbus_ring_shared_write_index(ch->out);
	uint16_t replay[STOR_QUEUE_DEPTH];
	unsigned n = 0;

	for (unsigned i = 0; i < STOR_QUEUE_DEPTH; i++) {
		struct stor_slot_rec *rec = &crec->slots[i];
		if (slot_busy(ch, i)) {
			/* Still answering a request of this instance: not the record's to settle.
			 */
			continue;
		}
		if (rec->state == STOR_SLOT_TAKEN && pending == i + 1 && rd == rec->ring_start) {
			/* Taken, but the ring never learned: it delivers the packet again. */
			ch->dropped_duplicates++;
			rec->state = STOR_SLOT_FREE;
		}
		if (rec->state == STOR_SLOT_COMPLETING)
			rec->state = stor_completion_seen(ch->out->size, crec->batch_start, wr,
							  rec->out_at, rec->out_len)
					 ? STOR_SLOT_FREE
					 : STOR_SLOT_TAKEN;
		if (rec->state == STOR_SLOT_TAKEN)
			replay[n++] = (uint16_t)i;
		else
			rec->state = STOR_SLOT_FREE;
	}
	stor_publish(&crec->pending, 0u);
	/* Rebuild the free stack without the slots to replay, the lowest on top. */
	ch->nfree = 0;
	for (unsigned i = STOR_QUEUE_DEPTH; i-- > 0;) {
		if (slot_busy(ch, i) || crec->slots[i].state == STOR_SLOT_TAKEN)
			continue;
		ch->free_stack[ch->nfree++] = (uint16_t)i;
	}
	for (unsigned k = 0; k < n; k++)
		slot_begin(slot_at(ch, replay[k]));
	for (unsigned k = 0; k < n; k++) {
		ch->replayed++;
		slot_run(&ch->slots[replay[k]]);
	}
	return n;
}

static void reset_slots(struct stor_chan *ch)
{
	ch->nfree = 0;
	stor_publish(&ch->rec->pending, 0u);
	for (unsigned i = STOR_QUEUE_DEPTH; i-- > 0;) {
		if (slot_busy(ch, i))
			continue; /* still answering: freed when it completes */
		stor_publish(&ch->rec->slots[i].state, (uint32_t)STOR_SLOT_FREE);
		ch->free_stack[ch->nfree++] = (uint16_t)i;
	}
}

static int chan_open(struct vmbusdev_chan *dev, bool resume, void *opaque, const char **why)
{
	struct stor_chan *ch = opaque;
	struct stor_ctrl *c = ch->ctrl;
	int r;

	if (ch->open) {
		*why = "the channel is already open";
		return -EBUSY;
	}
	ch->dev = dev;
	ch->in = vmbusdev_chan_in(dev);
	ch->out = vmbusdev_chan_out(dev);
	ch->relid = vmbusdev_chan_relid(dev);
	ch->gm = vmbusdev_chan_guestmem(dev);
	r = open_queues(ch, why);
	if (r < 0)
		return r;
	ch->open = true;
	ch->throttled = false;
	ch->backlog_head = ch->backlog_tail = STOR_NO_SLOT;
	ch->sent_head = STOR_NO_SLOT;
	if (resume) {
		unsigned n = adopt_slots(ch);
		log_info("controller %u channel %u (relid %u) adopted: %u requests to finish",
			 c->index, ch->index, ch->relid, n);
		return 0;
	}
	if (ch->index == 0) {
		/* A fresh open of the primary: the guest starts the protocol over. */
		c->rec->version = 0;
		stor_publish(&c->rec->init_state, (uint32_t)STOR_INIT_NONE);
	}
	reset_slots(ch);
	log_info("controller %u channel %u opened on relid %u", c->index, ch->index, ch->relid);
	return 0;
}

static void chan_signaled(struct vmbusdev_chan *dev, void *opaque)
{
	struct stor_chan *ch = opaque;
	(void)dev;
	if (ch->open)
		(void)flush_and_drain(ch);
}

static void chan_close(struct vmbusdev_chan *dev, void *opaque)
{
	struct stor_chan *ch = opaque;
	(void)dev;
	if (!ch->open)
		return;
	ch->open = false;
	busy_poll_stop(ch->ctrl->poll, &ch->poll);
	if (ch->ctrl->unpublished & (1u << ch->index)) {
		/* What was written goes out; its slots are dropped with the rest (their
		 * records say where the completions went). */
		ch->ctrl->unpublished &= ~(1u << ch->index);
		(void)vmbus_ring_batch_end(ch->out);
	}
	ch->sent_head = STOR_NO_SLOT;
	/* Requests still at the backend finish into nothing; the rest are dropped. The
	 * records are kept: if this is vmbusd handing the channel to our next instance
	 * it is not a close (we are going away then), and a guest close starts afresh. */
	for (unsigned i = 0; i < STOR_QUEUE_DEPTH; i++) {
		if (!slot_busy(ch, i))
			continue;
		struct stor_slot *s = &ch->slots[i];
		/* The queue closes below: a done callback still due never comes. */
		ch->nbusy--;
		set_busy(s, false);
		s->io = false;
		free(s->ranges);
		s->ranges = NULL;
	}
	ch->backlog_head = ch->backlog_tail = STOR_NO_SLOT;
	unwait_channel(ch->ctrl, ch);
	close_queues(ch);
	ch->in = ch->out = NULL;
	ch->dev = NULL;
	log_info("controller %u channel %u (relid %u) closed", ch->ctrl->index, ch->index,
		 ch->relid);
}

static const struct vmbusdev_chan_ops chan_ops = {
    .open = chan_open,
    .signaled = chan_signaled,
    .close = chan_close,
};

/* Mapped, not malloc'ed: zero and untouched until used (see slots in struct stor_chan),
 * whatever the allocator would do with a third of a MiB. */
static struct stor_chan *chan_alloc(void)
{
	void *p = mmap(NULL, sizeof(struct stor_chan), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void chan_free(struct stor_chan *ch)
{
	munmap(ch, sizeof(*ch));
}

static int describe_channel(struct stor_ctrl *c, unsigned index)
{
	Mhcl__Vmbus__DeviceOffer m = MHCL__VMBUS__DEVICE_OFFER__INIT;
	struct hv_guid type = STORVSP_SCSI_CLASS;
	uint8_t user_def[VMBUS_USER_DEF_BYTES] = {0};
	struct stor_chan *ch;
	int r;

	if (index >= STOR_MAX_CHANNELS || c->chans[index])
		return -EINVAL;
	ch = chan_alloc();
	if (!ch)
		return -ENOMEM;
	ch->ctrl = c;
	ch->index = index;
	ch->rec = &c->rec->chan[index];
	ch->poll.poll = chan_poll;
	ch->backlog_head = ch->backlog_tail = STOR_NO_SLOT;
	ch->sent_head = STOR_NO_SLOT;
	m.if_type = (ProtobufCBinaryData){sizeof(type), type.b};
	m.if_instance = (ProtobufCBinaryData){sizeof(c->instance), c->instance.b};
	m.user_def = (ProtobufCBinaryData){sizeof(user_def), user_def};
	m.sub_channel_index = index;
	r = vmbusdev_chan_new(c->v, &m, &chan_ops, ch, &ch->dev);
	if (r < 0) {
		chan_free(ch);
		return r;
	}
	ch->dev = NULL; /* set on open */
	c->chans[index] = ch;
	c->nchans++;
	return 0;
}

static int grant_subchannels(struct stor_ctrl *c, unsigned n)
{
	unsigned have = c->rec->subchannels;
	for (unsigned i = 1; i <= n; i++) {
		/* Recorded first: a restart in between offers it again rather than never. */
		stor_publish(&c->rec->subchannels, have + i);
		int r = describe_channel(c, have + i);
		if (r < 0)
			return log_warn_errno(r,
					      "controller %u: unable to offer sub-channel %u: %m",
					      c->index, have + i);
	}
	log_info("controller %u: offered %u sub-channels", c->index, n);
	return 0;
}

/* ---- controller ---- */

int stor_ctrl_new(struct vmbusdev *v, uv_loop_t *loop, struct busy_poll *poll, unsigned index,
		  struct stor_ctrl_rec *rec, uint16_t max_subchannels, struct stor_ctrl **ret)
{
	struct stor_ctrl *c;

	if (index >= 0x10000 || max_subchannels >= STOR_MAX_CHANNELS)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->v = v;
	c->loop = loop;
	c->poll = poll;
	c->index = index;
	c->rec = rec;
	c->max_subchannels = max_subchannels;
	int r = uv_async_init(loop, &c->map_async, map_done_cb);
	if (r < 0) {
		free(c);
		return r;
	}
	c->map_async.data = c;
	uv_unref((uv_handle_t *)&c->map_async);
	(void)uv_prepare_init(loop, &c->publish_prep);
	(void)uv_check_init(loop, &c->publish_check);
	c->publish_prep.data = c->publish_check.data = c;
	c->handles = 3;
	/* Stable per controller number, so the guest sees the same controller every boot. */
	c->instance = (struct hv_guid)HV_GUID_INIT(0x6d686332, (uint16_t)index, 0x5343, 0x80, 0x00,
						   0x73, 0x63, 0x73, 0x69, 0x00, 0x01);
	*ret = c;
	return 0;
}

int stor_ctrl_add_lun(struct stor_ctrl *c, const struct stor_lun *l)
{
	if (l->lun >= STOR_MAX_LUNS || c->luns[l->lun] || c->nchans)
		return -EINVAL;
	struct stor_lun *n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	*n = *l;
	c->luns[l->lun] = n;
	c->nluns++;
	return 0;
}

int stor_ctrl_set_present(struct stor_ctrl *c, unsigned lun, bool present, bool *changed,
			  bool *rescan)
{
	struct stor_chan *ch = c->chans[0];

	*changed = *rescan = false;
	if (lun >= STOR_MAX_LUNS || !c->luns[lun])
		return -ENOENT;
	uint64_t bit = 1ull << lun, was = c->rec->lun_absent;
	uint64_t now = present ? was & ~bit : was | bit;
	if (now == was)
		return 0;
	stor_publish(&c->rec->lun_absent, now);
	*changed = true;
	log_info("controller %u LUN %u %s", c->index, lun, present ? "attached" : "detached");
	if (!ch || !ch->open || c->rec->init_state != STOR_INIT_DONE)
		return 0;
	/* Unsolicited (transaction id 0, no completion): Linux rescans; a detached LUN then
	 * answers INVALID_LUN to its TEST UNIT READY and Linux removes it. */
	struct storvsp_packet p = {.operation = STORVSP_OP_ENUMERATE_BUS};
	int r = vmbus_ring_send_inband(ch->out, 0, 0, &p,
				       storvsp_packet_size((uint16_t)c->rec->version));
	if (r < 0)
		return log_warn_errno(r, "controller %u: unable to ask the guest to rescan: %m",
				      c->index);
	if (r == 1)
		signal_guest(ch);
	*rescan = true;
	return 0;
}

int stor_ctrl_offer(struct stor_ctrl *c)
{
	if (!c->rec->luns_set) {
		/* A fresh state: the manifest says which LUNs start detached. */
		uint64_t absent = 0;
		for (unsigned i = 0; i < STOR_MAX_LUNS; i++)
			if (c->luns[i] && c->luns[i]->absent)
				absent |= 1ull << i;
		stor_publish(&c->rec->lun_absent, absent);
		stor_publish(&c->rec->luns_set, 1u);
	}
	unsigned subs = c->rec->subchannels;
	if (subs > c->max_subchannels)
		subs = c->max_subchannels;
	for (unsigned i = 0; i <= subs; i++) {
		int r = describe_channel(c, i);
		if (r < 0)
			return r;
	}
	return 0;
}

void stor_ctrl_quiesce(struct stor_ctrl *c)
{
	c->quiescing = true;
}

unsigned stor_ctrl_inflight(const struct stor_ctrl *c)
{
	unsigned n = 0;
	for (unsigned i = 0; i < STOR_MAX_CHANNELS; i++)
		if (c->chans[i])
			n += c->chans[i]->nbusy;
	return n;
}

void stor_ctrl_on_idle(struct stor_ctrl *c, void (*fn)(void *opaque), void *opaque)
{
	c->idle_fn = fn;
	c->idle_opaque = opaque;
}

static void inspect_chan(const struct stor_chan *ch, struct inspect_tree *t, Mhcl__Node *n)
{
	inspect_bool(t, n, "open", ch->open);
	inspect_u64(t, n, "relid", ch->relid);
	inspect_u64(t, n, "in_flight", ch->nbusy);
	inspect_u64(t, n, "max_in_flight", ch->max_inflight);
	inspect_u64(t, n, "requests", ch->requests);
	inspect_u64(t, n, "reads", ch->reads);
	inspect_u64(t, n, "writes", ch->writes);
	inspect_u64(t, n, "read_bytes", ch->read_bytes);
	inspect_u64(t, n, "write_bytes", ch->write_bytes);
	inspect_u64(t, n, "flushes", ch->flushes);
	inspect_u64(t, n, "discards", ch->discards);
	inspect_u64(t, n, "errors", ch->errors);
	inspect_u64(t, n, "refused_packets", ch->refused_packets);
	inspect_u64(t, n, "replayed", ch->replayed);
	inspect_u64(t, n, "dropped_duplicates", ch->dropped_duplicates);
	inspect_u64(t, n, "ring_full", ch->ring_full);
	inspect_u64(t, n, "batches", ch->batches);
	inspect_u64(t, n, "interrupts", ch->signals);
	inspect_u64(t, n, "interrupt_failures", ch->signal_failures);
	if (ch->last_error)
		inspect_str(t, n, "last_error", ch->last_error);
	Mhcl__Node *h = inspect_dir(t, n, "latency_us");
	for (unsigned b = 0; b < STOR_LAT_BUCKETS; b++) {
		if (!ch->lat[b])
			continue;
		char name[32];
		snprintf(name, sizeof(name), "lt_%llu", 2ull << b);
		inspect_u64(t, h, name, ch->lat[b]);
	}
	if (ch->dev)
		vmbusdev_chan_inspect(ch->dev, t, inspect_dir(t, n, "vmbus"));
}

void stor_ctrl_inspect(const struct stor_ctrl *c, struct inspect_tree *t, Mhcl__Node *dir)
{
	static const char *const init_names[] = {"none", "begun", "version", "ready"};
	uint32_t st = c->rec->init_state;

	inspect_strf(t, dir, "protocol", "%u.%u", c->rec->version >> 8, c->rec->version & 0xff);
	inspect_str(t, dir, "state", st < 4 ? init_names[st] : "?");
	inspect_u64(t, dir, "subchannels", c->rec->subchannels);
	inspect_u64(t, dir, "max_subchannels", c->max_subchannels);
	Mhcl__Node *luns = inspect_dir(t, dir, "luns");
	for (unsigned i = 0; i < STOR_MAX_LUNS; i++) {
		const struct stor_lun *l = c->luns[i];
		if (!l)
			continue;
		char name[16];
		snprintf(name, sizeof(name), "%u", i);
		Mhcl__Node *n = inspect_dir(t, luns, name);
		inspect_bool(t, n, "attached", lun_at(c, i) != NULL);
		inspect_str(t, n, "backend", l->backend);
		inspect_str(t, n, "kind", l->disk->ops->kind);
		inspect_u64(t, n, "blocks", l->scsi.nblocks);
		inspect_u64(t, n, "block_size", l->scsi.block_size);
		inspect_bool(t, n, "read_only", l->scsi.read_only);
		inspect_str(t, n, "vendor", l->scsi.vendor);
		inspect_str(t, n, "product", l->scsi.product);
		inspect_str(t, n, "serial", l->scsi.serial);
		if (l->disk->ops->inspect)
			l->disk->ops->inspect(l->disk, t, inspect_dir(t, n, "disk"));
	}
	Mhcl__Node *chans = inspect_dir(t, dir, "channels");
	for (unsigned i = 0; i < STOR_MAX_CHANNELS; i++) {
		if (!c->chans[i])
			continue;
		char name[16];
		snprintf(name, sizeof(name), "%u", i);
		inspect_chan(c->chans[i], t, inspect_dir(t, chans, name));
	}
}

static void free_ctrl(uv_handle_t *h)
{
	struct stor_ctrl *c = h->data;
	if (--c->handles == 0)
		free(c);
}

void stor_ctrl_free(struct stor_ctrl *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < STOR_MAX_CHANNELS; i++) {
		struct stor_chan *ch = c->chans[i];
		if (!ch)
			continue;
		busy_poll_stop(c->poll, &ch->poll);
		close_queues(ch);
		for (unsigned k = 0; k < STOR_QUEUE_DEPTH; k++)
			if (slot_busy(ch, k)) /* a free slot's ranges are freed with it */
				free(ch->slots[k].ranges);
		chan_free(ch);
	}
	for (unsigned i = 0; i < STOR_MAX_LUNS; i++) {
		if (c->maps[i].state == LUN_MAP_RUNNING)
			pthread_join(c->maps[i].thread, NULL);
		free(c->luns[i]);
	}
	/* Freed once libuv lets the handles go (the caller runs the loop). */
	uv_close((uv_handle_t *)&c->map_async, free_ctrl);
	uv_close((uv_handle_t *)&c->publish_prep, free_ctrl);
	uv_close((uv_handle_t *)&c->publish_check, free_ctrl);
}
