/* SPDX-License-Identifier: MIT */
/*
 * The layout of the driver's memfd: what a restarted process needs to go on driving a
 * function its predecessor left running (mana_dev_adopt).
 *
 *   [state page]       struct mana_state: the function's handles and ids, per queue pair
 *                      its ids and the positions below (never mapped for the device)
 *   ---- DMA part (mapped for the device at mana_state.mem_iova) ----
 *   [HWC]              EQ, CQ, RQ, SQ, request and response pages
 *   per queue pair i:  EQ, SQ, TX CQ, RQ, RX CQ pages, then the TX and RX bounce buffers
 *
 * Offsets follow from nq_alloc alone (mana__layout_size), so adoption recomputes them and
 * refuses a memfd of any other size. The device cannot write the state page.
 *
 * Crash consistency (the process may die between any two stores; the memfd keeps every
 * store that was made). Everything but the positions is written during bring-up, then
 * MANA_STATE_READY, last. After that each step commits with one aligned store, so no
 * prefix of a step is ever seen half done and no second slot is needed:
 *   TX post:    frame into its bounce slot and WQE into the SQ past the committed tail,
 *               then tx_posted (the commit), then the SQ doorbell.
 *   TX reap:    CQE copied and checked, then tx_pos = CQ head | tx_done << 32.
 *   RX:         CQE copied and checked, frame copied out, the buffer's WQE written again
 *               past the committed RQ tail, then rx_pos = CQ head | rx_done << 32, then
 *               the RQ doorbell. A frame is handed to the caller only by a call that
 *               commits it, so the next process never hands it out again; one whose
 *               commit a kill cut off is handed out (once) by the next process.
 *   EQ:         eq_head after the entries are consumed, before the doorbells.
 * Every WQ position follows from these counters: TX WQEs all have one size (the TX OOB
 * form is fixed at bring-up), the RQ always holds MANA_QUEUE_DEPTH entries of
 * MANA_RX_WQE_SIZE bytes. On adoption every doorbell is rung again with the committed
 * values: the device ignores a tail it already has and takes one a kill kept from it.
 */
#ifndef MHCL_LIB_MANA_STATE_H
#define MHCL_LIB_MANA_STATE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/gdma_defs.h"
#include "mana.h"

#define MANA_STATE_MAGIC 0x616e616d6c63686dull /* "mhclmana" */
#define MANA_STATE_VERSION 1u
#define MANA_STATE_BYTES GDMA_PAGE_SIZE
#define MANA_STATE_READY (1u << 0) /* bring-up finished: adoptable */

/* One queue pair. ids as the device gave them; positions as committed (see above). */
struct mana_qstate {
	uint32_t msix; /* the EQ's vector: always index + 1 */
	uint32_t eq_id;
	uint32_t sq_id;
	uint32_t tx_cq_id;
	uint32_t rq_id;
	uint32_t rx_cq_id;
	uint64_t sq_obj;
	uint64_t rq_obj;
	uint32_t eq_head;
	uint32_t tx_posted;
	uint64_t tx_pos; /* TX CQ head | tx_done << 32 */
	uint64_t rx_pos; /* RX CQ head | rx_done << 32 */
	uint64_t reserved[4];
};
static_assert(sizeof(struct mana_qstate) == 96, "qstate is 96 bytes");
static_assert(offsetof(struct mana_qstate, eq_head) == 40, "eq_head at 40");
static_assert(offsetof(struct mana_qstate, tx_pos) % 8 == 0, "tx_pos is one aligned store");
static_assert(offsetof(struct mana_qstate, rx_pos) % 8 == 0, "rx_pos is one aligned store");

#define MANA_POS(head, done) ((uint64_t)(uint32_t)(head) | (uint64_t)(uint32_t)(done) << 32)
#define MANA_POS_HEAD(pos) ((uint32_t)(pos))
#define MANA_POS_DONE(pos) ((uint32_t)((pos) >> 32))

struct mana_state {
	uint64_t magic;
	uint32_t version;
	uint32_t flags;	   /* MANA_STATE_* */
	uint64_t size;	   /* of the memfd */
	uint64_t mem_iova; /* where the DMA part is mapped */
	uint32_t nq_alloc; /* queue pairs laid out: the nr_queues asked for */
	uint32_t nq;	   /* queue pairs in service */
	uint32_t pdid;
	uint32_t gpa_mkey;
	uint32_t db_id; /* the doorbell page of every queue */
	uint16_t tx_vport_offset;
	uint8_t tx_short_form;
	uint8_t reserved0;
	uint64_t vport;
	uint8_t mac[6];
	uint16_t mtu;
	uint64_t reserved1[5];
	struct mana_qstate q[MANA_MAX_QUEUES];
};
static_assert(sizeof(struct mana_state) <= MANA_STATE_BYTES, "the state fits its page");
static_assert(offsetof(struct mana_state, nq_alloc) == 32, "nq_alloc at 32");
static_assert(offsetof(struct mana_state, vport) == 56, "vport at 56");
static_assert(offsetof(struct mana_state, reserved1) == 72, "no hole before reserved1");
static_assert(offsetof(struct mana_state, q) == 112, "queue states at 112");

/* What the state is checked against: the device as it reads now and the caller's
 * configuration. */
struct mana_state_limits {
	uint64_t fd_size;   /* the memfd's size */
	uint64_t mem_iova;  /* the caller's, which the state must repeat */
	unsigned nr_queues; /* the caller's, which must equal nq_alloc */
	unsigned irq_count; /* vectors the function has */
	uint32_t db_pages;  /* doorbell pages in BAR0 */
};

/* Bytes of the memfd for nq_alloc queue pairs (state page included); 0 when out of range. */
uint64_t mana__layout_size(unsigned nq_alloc);

/*
 * Checks a private copy of a state (untrusted: a crash may have left anything, and the fd
 * came through another process): version, READY, sizes, every id and handle in the range
 * the device can have given, every position consistent. 0 or -ESTALE.
 */
int mana__state_check(const struct mana_state *s, const struct mana_state_limits *lim);

#endif
