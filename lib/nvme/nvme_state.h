/* SPDX-License-Identifier: MIT */
/*
 * The layout of the driver's state memfd: what survives a restart of the process.
 *
 *   [header pages]        struct nvme_state_hdr: configuration, namespaces, queue states
 *   [identify page]       the Identify Controller data as the device gave it
 *   [CID tables]          per queue, one struct nvme_cid_slot per command ID
 *   ---- DMA region (mapped for the device at hdr.dma_iova) ----
 *   [identify buffer]     where Identify commands land
 *   per queue: [SQ ring] [CQ ring] [PRP list pages: one per CID, I/O queues only]
 *
 * Only the DMA region is visible to the device: a device cannot scribble on the CID
 * tables or the header. Offsets follow from (queues allocated, depths) alone, so adoption
 * recomputes the layout and refuses a memfd that does not match it.
 *
 * Crash consistency (the process may die between any two stores; the memory keeps every
 * store that was made):
 *   submit:   slot filled (SQE, seq = q.submitted) and marked INFLIGHT; SQE copied into
 *             the ring; then q.submitted += 1 (the commit: tail = submitted % depth);
 *             then the doorbell. A slot whose seq >= q.submitted was never committed.
 *   complete: slot marked DONE (with the CQE); then q.cq_pos advanced (head and phase in
 *             one store); then the slot freed. A DONE slot is done whatever the ring says.
 * On adoption the doorbells are rung again with the recorded tail and head (the same
 * values are harmless if they had already been written).
 */
#ifndef MHCL_LIB_NVME_STATE_H
#define MHCL_LIB_NVME_STATE_H

#include <assert.h>
#include <stdint.h>

#include "defs/nvme_defs.h"
#include "nvme.h"

#define NVME_STATE_MAGIC 0x656d766e6c63686dull /* "mhclnvme" */
#define NVME_STATE_VERSION 1u

#define NVME_STATE_READY (1u << 0)  /* bring-up finished: adoptable */
#define NVME_STATE_FAILED (1u << 1) /* controller failed: not adoptable */

#define NVME_ADMIN_DEPTH 32u
#define NVME_MAX_QUEUES (NVME_MAX_IO_QUEUES + 1u)
#define NVME_NO_VECTOR 0xffffu

enum nvme_slot_state {
	NVME_SLOT_FREE = 0,
	NVME_SLOT_INFLIGHT = 1,
	NVME_SLOT_DONE = 2,
};

#define NVME_SLOT_STALE (1u << 0)    /* in flight when this instance adopted the queue */
#define NVME_SLOT_ABORTING (1u << 1) /* past its deadline; an Abort was sent */
#define NVME_SLOT_ORPHAN (1u << 2)   /* already failed to the caller; CID still reserved */
#define NVME_SLOT_INTERNAL (1u << 3) /* the driver's own (Abort); no caller callback */

struct nvme_cid_slot {
	uint32_t state;	      /* enum nvme_slot_state */
	uint32_t flags;	      /* NVME_SLOT_* */
	uint64_t seq;	      /* q.submitted when it was queued */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC: the same clock in every process */
	uint64_t reserved;
	struct nvme_cqe cqe; /* DONE: the completion taken */
	uint8_t reserved2[16];
	struct nvme_sqe sqe; /* the command as submitted */
};
static_assert(sizeof(struct nvme_cid_slot) == 128, "slot is 128 bytes");
static_assert(offsetof(struct nvme_cid_slot, sqe) == 64, "sqe at 64");

struct nvme_qstate {
	uint16_t qid;
	uint16_t vector; /* MSI-X vector, NVME_NO_VECTOR when polled */
	uint32_t depth;
	uint64_t submitted; /* commit counter; SQ tail = submitted % depth */
	uint32_t sq_head;   /* from the last valid CQE's sqhd */
	uint32_t cq_pos;    /* CQ head | phase << 31 */
	/* Offsets in the memfd (recomputed and compared on adoption). */
	uint64_t slots_off;
	uint64_t sq_off;
	uint64_t cq_off;
	uint64_t prp_off;
	uint32_t prp_pages; /* per CID */
	uint32_t reserved;
	uint64_t completed;
	uint64_t dropped;
	uint64_t reserved2[4];
};
static_assert(sizeof(struct nvme_qstate) == 112, "qstate is 112 bytes");

#define NVME_CQ_POS(head, phase) ((uint32_t)(head) | ((uint32_t)(phase) << 31))
#define NVME_CQ_HEAD(pos) ((pos)&0x7fffffffu)
#define NVME_CQ_PHASE(pos) ((pos) >> 31)

struct nvme_ns_state {
	uint32_t nsid;
	uint32_t block_size;
	uint64_t nblocks;
	uint8_t id[16];
	uint8_t id_len;
	uint8_t reserved[7];
};
static_assert(sizeof(struct nvme_ns_state) == 40, "ns state is 40 bytes");

struct nvme_state_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t flags; /* NVME_STATE_* */
	uint64_t size;	/* of the memfd */
	uint64_t dma_off;
	uint64_t dma_len;
	uint64_t dma_iova;
	uint64_t id_ctrl_off; /* the saved Identify Controller page */
	uint64_t id_buf_off;  /* in the DMA region */
	uint64_t cap;
	uint32_t cc;
	uint32_t nvec;	   /* MSI-X vectors set up (0: every queue polled) */
	uint32_t nq_alloc; /* queue states laid out, admin included */
	uint32_t nq;	   /* queues created, admin included */
	uint32_t io_depth;
	uint32_t timeout_ms;
	uint32_t max_transfer;
	uint32_t nns;
	uint32_t admin_depth;
	uint32_t reserved0;
	uint64_t reserved[5];
	struct nvme_ns_state ns[NVME_MAX_NS];
	struct nvme_qstate q[NVME_MAX_QUEUES];
};
static_assert(sizeof(struct nvme_state_hdr) <= NVME_PAGE_SIZE, "header fits one page");

/* The layout for nq_alloc queues (admin included): the admin queue of admin_depth
 * entries, the others of io_depth. */
struct nvme_layout {
	uint64_t size;
	uint64_t dma_off;
	uint64_t dma_len;
	uint64_t id_ctrl_off;
	uint64_t id_buf_off;
	uint64_t slots_off[NVME_MAX_QUEUES];
	uint64_t sq_off[NVME_MAX_QUEUES];
	uint64_t cq_off[NVME_MAX_QUEUES];
	uint64_t prp_off[NVME_MAX_QUEUES];
	uint32_t depth[NVME_MAX_QUEUES];
	uint32_t prp_pages[NVME_MAX_QUEUES];
};

/* Computes it; -EINVAL for counts or depths out of bounds. */
int nvme_layout_compute(unsigned nq_alloc, unsigned admin_depth, unsigned io_depth,
			struct nvme_layout *ret);

#endif
