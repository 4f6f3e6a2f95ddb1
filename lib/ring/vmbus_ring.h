/* SPDX-License-Identifier: MIT */
/*
 * VMBus ring buffers in shared memory (guest RAM mapped from a memfd).
 *
 * One struct vmbus_ring is one direction: a control page plus N data pages
 * that the caller has mapped. The pages need not be virtually contiguous;
 * wrapped packets are copied in two (or more) parts, so no double mapping is
 * needed. The same code serves both ends: the host reads the guest->host ring
 * and writes the host->guest ring; a guest (tests, the sim guest, benchmarks)
 * does the opposite.
 *
 * Everything in the shared pages is untrusted. Each index is read once into a
 * local and validated; a packet is copied into the caller's buffer and then
 * validated there, never re-read from the ring. A ring whose other side wrote
 * nonsense is marked broken (sticky, with a reason) and every later call fails
 * with -EPROTO; nothing outside the ring is ever read or written.
 *
 * Not thread-safe: one reader and one writer per ring, each using its own
 * struct vmbus_ring (or the same one from one thread).
 *
 * A reader woken by its eventfd:
 *
 *	for (;;) {
 *		vmbus_ring_mask_interrupts(in);
 *		while ((r = vmbus_ring_recv(in, buf, sizeof(buf), &pkt)) == 0)
 *			handle(&pkt);                  (may send on `out`; signal if it returns 1)
 *		if (r != -EAGAIN)
 *			close the channel: vmbus_ring_broken_reason(in) says why
 *		if (vmbus_ring_recv_commit(in) == 1)
 *			signal the peer                (it was waiting for space)
 *		if (vmbus_ring_unmask_interrupts(in) == 0)
 *			break;                         (empty: the next packet will signal)
 *	}
 *
 * A writer that gets -EAGAIN calls vmbus_ring_set_pending_send(out,
 * vmbus_ring_inband_size(len)); on 1 it retries at once, on 0 it retries
 * after the peer's next signal; after a successful send it sets 0 again.
 *
 * Return values: 0 or a positive count on success, -errno on failure:
 *   -EAGAIN    ring empty (read) or not enough free space (write); not an error state
 *   -EPROTO    corrupt index, or the ring was already broken
 *   -EBADMSG   corrupt packet (lengths, type, flags, ranges)
 *   -EMSGSIZE  a packet larger than the caller's buffer (read: the ring breaks)
 *              or than the ring can ever hold (write: the ring stays usable)
 *   -EINVAL    bad arguments (our own bug)
 */
#ifndef MHCL_RING_VMBUS_RING_H
#define MHCL_RING_VMBUS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "defs/vmbus_ring_defs.h"

/* Largest data area accepted (indices must stay far from u32 overflow). */
#define VMBUS_RING_MAX_DATA_PAGES 32768u /* 128 MiB */
/* Most ranges accepted in one GPA-direct packet (netvsc uses <= 32, storvsc 1). */
#define VMBUS_RING_MAX_GPA_RANGES 64u
/* Most ranges accepted in one transfer-page packet. */
#define VMBUS_RING_MAX_XFER_RANGES 1024u
/* Largest packet len8 can describe, without the trailer. */
#define VMBUS_RING_MAX_PACKET (0xFFFFu * 8u)

/*
 * One ring direction. Callers embed it and treat every field as private; it
 * borrows the control page and data pages (which must outlive it) and owns
 * only a copy of the page-pointer array.
 */
struct vmbus_ring {
	struct vmbus_ring_control *ctl; /* borrowed, shared */
	uint8_t **pages;                /* owned copy of the data page pointers */
	uint8_t *flat;                  /* data area when the pages are contiguous, else NULL */
	uint32_t size;                  /* data bytes = npages * 4096 */
	uint32_t npages;
	/* Reader state: private cursors; the shared read_index is only written. */
	uint32_t rd_next;      /* next packet to parse */
	uint32_t rd_committed; /* last value published to read_index */
	uint32_t rd_cached_wr; /* write_index snapshot, validated */
	/* Writer state: private cursor; the shared write_index is only written. */
	uint32_t wr_next;
	uint32_t wr_cached_rd; /* read_index snapshot, validated: reloaded only when short of room */
	bool wr_batching;      /* sends are written but not published (vmbus_ring_batch_begin) */
	uint32_t wr_published; /* the write_index the reader sees while batching */
	bool broken;
	const char *broken_reason; /* static string, NULL while healthy */
};

/*
 * A received packet, validated. All pointers point into the buffer given to
 * vmbus_ring_recv(), which must stay alive and unmodified while they are used.
 */
struct vmbus_pkt {
	uint16_t type;  /* VMBUS_PKT_DATA_INBAND, _XFER_PAGES, _GPA_DIRECT or _COMP */
	uint16_t flags; /* VMBUS_PKT_FLAG_* */
	uint64_t trans_id;
	const void *payload; /* offset8 * 8 .. len8 * 8 (includes the sender's padding) */
	uint32_t payload_len;
	uint32_t total_len; /* len8 * 8 */
	/* GPA direct: range_count validated ranges in [ranges, ranges + ranges_len). */
	uint32_t range_count;
	const void *ranges;
	uint32_t ranges_len;
	/* Transfer pages: xfer_ranges[0 .. range_count). */
	uint16_t xfer_pageset_id;
	uint8_t sender_owns_set;
	const struct vmbus_xfer_page_range *xfer_ranges;
};

/* One GPA range as a sender describes it (pfn_count must match offset + count). */
struct vmbus_ring_gpa {
	uint32_t byte_count;
	uint32_t byte_offset; /* < 4096 */
	uint32_t pfn_count;   /* == ceil((byte_offset + byte_count) / 4096) */
	const uint64_t *pfns; /* borrowed */
};

/* A walk over the ranges of a validated GPA-direct packet. */
struct vmbus_gpa_iter {
	const struct vmbus_pkt *pkt;
	uint32_t index;
	uint32_t pos;
};

/*
 * Attaches to a ring whose control page is `control` and whose data pages are
 * data_pages[0 .. npages) (copied; the pages themselves are borrowed). Reads
 * write_index and read_index once to place the private cursors. Returns 0, or
 * -EINVAL for bad geometry, -ENOMEM, or -EPROTO for corrupt indices (the ring
 * is then not initialised and needs no vmbus_ring_fini()).
 */
int vmbus_ring_init(struct vmbus_ring *r, void *control, void *const *data_pages, uint32_t npages);

/* As vmbus_ring_init() for a contiguous mapping: control page, then data pages. */
int vmbus_ring_init_flat(struct vmbus_ring *r, void *base, size_t total_len);

/* Releases what init allocated. Accepts a zeroed or already finished ring. */
void vmbus_ring_fini(struct vmbus_ring *r);

/*
 * Sets up a fresh ring pair laid out the way a guest hands it over: a GPADL of
 * npages pages where pages [0, h2g_offset) are the guest->host ring and the
 * rest the host->guest ring, each starting with its control page. `host` picks
 * the side: true gives ret_in = guest->host, ret_out = host->guest. Borrows
 * pages; both rings need vmbus_ring_fini() on success.
 */
int vmbus_ring_pair_init(struct vmbus_ring *ret_in, struct vmbus_ring *ret_out, void *const *pages,
			 uint32_t npages, uint32_t h2g_offset, bool host);

/*
 * Guest-side setup of a new ring: zeroes indices, mask and pending_send_sz and
 * sets feature_bits (as Linux does before handing the ring over), then resets
 * the private cursors. Never used on a ring the other side may be using.
 */
void vmbus_ring_reset(struct vmbus_ring *r);

/* --- Reading ------------------------------------------------------------- */

/*
 * Copies the next packet into buf (8-byte aligned, buflen = the largest packet
 * accepted) and validates it. The read is not visible to the writer until
 * vmbus_ring_recv_commit(); a batch commits once. Returns 0 and fills
 * *ret_pkt, -EAGAIN when empty, or -EPROTO/-EBADMSG/-EMSGSIZE (ring broken).
 */
int vmbus_ring_recv(struct vmbus_ring *r, void *buf, size_t buflen, struct vmbus_pkt *ret_pkt);

/*
 * Publishes the read cursor to read_index. Returns 1 when the writer must be
 * signalled (it asked with pending_send_sz and free space crossed it), 0 when
 * not, -EPROTO when broken.
 */
int vmbus_ring_recv_commit(struct vmbus_ring *r);

/* Reader: asks the writer not to signal while we drain (interrupt_mask = 1). */
void vmbus_ring_mask_interrupts(struct vmbus_ring *r);

/*
 * Reader: clears interrupt_mask, then re-checks. Returns 1 if data arrived in
 * between (drain again: no signal will come for it), 0 if the ring is empty
 * and the next write will signal, -EPROTO if broken.
 */
int vmbus_ring_unmask_interrupts(struct vmbus_ring *r);

/* Reader: the offset of the next packet to parse (private cursor; after a packet was
 * received and before its commit this is where it ends). */
uint32_t vmbus_ring_read_pos(const struct vmbus_ring *r);
/* The shared read_index / write_index as they are now (one relaxed load; untrusted). */
uint32_t vmbus_ring_shared_read_index(const struct vmbus_ring *r);
uint32_t vmbus_ring_shared_write_index(const struct vmbus_ring *r);

/* Bytes not yet parsed by this reader (0 when empty or broken). */
uint32_t vmbus_ring_bytes_to_read(struct vmbus_ring *r);

/* First/next range of a GPA-direct packet: 1 and the range, or 0 at the end. */
void vmbus_gpa_iter_init(struct vmbus_gpa_iter *it, const struct vmbus_pkt *pkt);
int vmbus_gpa_iter_next(struct vmbus_gpa_iter *it, uint32_t *ret_byte_count,
			uint32_t *ret_byte_offset, const uint64_t **ret_pfns, uint32_t *ret_pfn_count);

/* --- Writing ------------------------------------------------------------- */

/*
 * Each send copies the packet into the ring and publishes write_index. Returns
 * 1 when the reader must be signalled (the ring was empty and the reader's
 * interrupt_mask is 0), 0 when not, -EAGAIN when the ring lacks space (use
 * vmbus_ring_set_pending_send()), -EMSGSIZE when the packet can never fit,
 * -EINVAL for bad arguments, -EPROTO when broken. Payloads are copied.
 */
int vmbus_ring_send_inband(struct vmbus_ring *r, uint64_t trans_id, uint16_t flags,
			   const void *data, uint32_t len);
int vmbus_ring_send_inbandv(struct vmbus_ring *r, uint64_t trans_id, uint16_t flags,
			    const struct iovec *iov, int iovcnt);
/* A completion (type 0xB) answering the packet that carried trans_id. */
int vmbus_ring_send_completion(struct vmbus_ring *r, uint64_t trans_id, const void *data,
			       uint32_t len);
int vmbus_ring_send_gpa_direct(struct vmbus_ring *r, uint64_t trans_id, uint16_t flags,
			       const struct vmbus_ring_gpa *ranges, uint32_t nranges,
			       const void *data, uint32_t len);
int vmbus_ring_send_xfer_pages(struct vmbus_ring *r, uint64_t trans_id, uint16_t flags,
			       uint16_t pageset_id, bool sender_owns_set,
			       const struct vmbus_xfer_page_range *ranges, uint32_t nranges,
			       const void *data, uint32_t len);

/*
 * Writer batching: after vmbus_ring_batch_begin() the sends above copy their packets in but
 * do not publish them (they return 0, never 1); vmbus_ring_batch_end() publishes them all
 * with one write_index store and one fence, and returns 1 when the reader must be
 * signalled (it had read everything before the batch and has not masked interrupts), 0
 * when not, -EPROTO when broken. A batch costs the reader nothing until it ends: end it
 * before waiting for anything, space included. vmbus_ring_published() is the write_index
 * the reader sees (the batch's start while one is open).
 */
void vmbus_ring_batch_begin(struct vmbus_ring *r);
int vmbus_ring_batch_end(struct vmbus_ring *r);
bool vmbus_ring_batch_open(const struct vmbus_ring *r);
uint32_t vmbus_ring_published(const struct vmbus_ring *r);

/* Writer: the offset the next packet will be written at (private cursor). */
uint32_t vmbus_ring_write_pos(const struct vmbus_ring *r);
/* Writer: where a packet of `bytes` ring bytes written at pos ends (wrapping). */
uint32_t vmbus_ring_advance(const struct vmbus_ring *r, uint32_t pos, uint32_t bytes);

/* Ring bytes (trailer included) an inband or completion packet of len bytes takes. */
uint32_t vmbus_ring_inband_size(uint32_t len);
/* Ring bytes a transfer-page packet of nranges ranges and len inband bytes takes. */
uint32_t vmbus_ring_xfer_size(uint32_t nranges, uint32_t len);

/*
 * Writer: asks the reader to signal once more than `bytes` are free (0 turns
 * it off). Returns 1 if that much is already free (clear it again and retry
 * at once), 0 to wait for the signal, -EOPNOTSUPP when the reader does not
 * advertise the feature, -EPROTO when broken. Inside a batch it asks for the
 * unpublished bytes too (the reader cannot see them; see the .c).
 */
int vmbus_ring_set_pending_send(struct vmbus_ring *r, uint32_t bytes);

/* Free bytes as the writer sees them now (0 when broken). */
uint32_t vmbus_ring_bytes_to_write(struct vmbus_ring *r);
/* Writer side: the reader has consumed everything written (false when broken). */
bool vmbus_ring_peer_drained(struct vmbus_ring *r);

/* --- State --------------------------------------------------------------- */

/* What diag inspect shows for a ring: the shared words as last seen, and ours. */
struct vmbus_ring_info {
	uint32_t size; /* data bytes */
	uint32_t write_index, read_index, interrupt_mask, pending_send_sz, feature_bits;
	uint32_t rd_next;      /* reader: next packet to parse */
	uint32_t rd_committed; /* reader: last published read_index */
	uint32_t wr_next;      /* writer: next byte to fill */
	bool broken;
	const char *broken_reason;
};

/* Snapshots the ring's state (one relaxed load per shared word); never fails. */
void vmbus_ring_get_info(const struct vmbus_ring *r, struct vmbus_ring_info *ret_info);

bool vmbus_ring_is_broken(const struct vmbus_ring *r);
/* Why the ring broke (static string), or NULL while healthy. */
const char *vmbus_ring_broken_reason(const struct vmbus_ring *r);

#endif
