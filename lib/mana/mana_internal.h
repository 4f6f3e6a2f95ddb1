/* SPDX-License-Identifier: MIT */
/* lib/mana's private declarations: queues, the device, and the pure completion and
 * response checks the tests and the fuzz target reach. */
#ifndef MHCL_LIB_MANA_INTERNAL_H
#define MHCL_LIB_MANA_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "defs/gdma_defs.h"
#include "defs/mana_defs.h"
#include "mana.h"
#include "mana_state.h"

#define MANA_QUEUE_BYTES GDMA_PAGE_SIZE /* every queue: one page */
#define MANA_HWC_MSG_SIZE GDMA_HWC_MAX_REQUEST_SIZE
#define MANA_TX_WQE_MAX 64u /* header + 24-byte OOB + one SGE, rounded */
#define MANA_RX_WQE_SIZE 32u
#define MANA_EQ_ID_LIMIT 0x10000u   /* the EQ doorbell carries 16 bits of id */
#define MANA_WQ_ID_LIMIT 0x1000000u /* CQE wq numbers and doorbell ids are 24 bits */

/* The DMA part of the memfd (mana_state.h): the HWC's pages, then one area per queue
 * pair holding its rings and bounce buffers, in this order. */
#define MANA_HWC_PAGES 6u
#define MANA_HWC_BYTES ((uint64_t)MANA_HWC_PAGES * GDMA_PAGE_SIZE)
#define MANA_BUFS_BYTES ((uint64_t)MANA_QUEUE_DEPTH * MANA_BUF_SIZE)
#define MANA_QUEUE_AREA (5u * (uint64_t)MANA_QUEUE_BYTES + 2u * MANA_BUFS_BYTES)

enum mana_part {
	MANA_PART_EQ,
	MANA_PART_SQ,
	MANA_PART_TX_CQ,
	MANA_PART_RQ,
	MANA_PART_RX_CQ,
	MANA_PART_TX_BUF,
	MANA_PART_RX_BUF,
};

/* An EQ or CQ: the device produces, the driver consumes. */
struct mana_cq {
	uint8_t *va;
	uint32_t entry_size;
	uint32_t entries; /* a power of two */
	uint32_t shift;	  /* log2(entries) */
	uint32_t head;	  /* consumer index; starts at entries so the first pass has owner 1 */
	uint32_t id;
	uint32_t db_page;
	bool is_eq;
};

/* An SQ or RQ: the driver produces, the device consumes. Offsets are running bytes. */
struct mana_wq {
	uint8_t *va;
	uint32_t size;
	uint32_t tail; /* end of what was posted */
	uint32_t head; /* start of what the device has not completed */
	uint32_t id;
	uint32_t db_page;
	bool is_sq;
};

struct mana_queue {
	struct mana_dev *dev;
	struct mana_qstate *st; /* its committed positions, in the state page */
	unsigned index;
	int efd;
	uint32_t msix;
	struct mana_cq eq;
	struct mana_wq sq;
	struct mana_cq tx_cq;
	uint64_t sq_obj;
	struct mana_wq rq;
	struct mana_cq rx_cq;
	uint64_t rq_obj;
	uint8_t *tx_buf; /* MANA_QUEUE_DEPTH slots of MANA_BUF_SIZE */
	uint64_t tx_buf_iova;
	uint32_t tx_posted; /* running counts: slot = count % depth */
	uint32_t tx_done;
	uint32_t tx_stale_end; /* tx_posted when adopted: completions before it are stale */
	uint8_t *rx_buf;
	uint64_t rx_buf_iova;
	uint32_t rx_done; /* buffer of the oldest posted RQ entry = rx_done % depth */
};

struct mana_dev {
	struct devaccess *da;
	unsigned timeout_ms;
	struct mana_stats stats;
	bool failed;

	/* One memfd (mana_state.h): the state page, then the DMA part at mem_iova. */
	int mem_fd;
	uint8_t *map;
	size_t map_size;
	struct mana_state *st;
	uint8_t *mem; /* the DMA part */
	size_t mem_size;
	uint64_t mem_iova;
	bool mem_mapped;
	unsigned nq_alloc;
	bool ready; /* brought up (and published) or adopted: close keeps the function */
	bool adopted;
	bool hwc_up; /* this process set the HWC up: an adopted device has none */

	uint64_t db_base;
	uint32_t db_page_size;
	uint32_t db_pages;
	uint64_t shm_off;
	int efds[MANA_MAX_QUEUES + 1]; /* vector 0: HWC */
	unsigned nefds;

	/* the hardware channel */
	struct mana_cq hwc_eq;
	struct mana_cq hwc_cq;
	struct mana_wq hwc_rq;
	struct mana_wq hwc_sq;
	uint8_t *hwc_req;
	uint64_t hwc_req_iova;
	uint8_t *hwc_resp;
	uint64_t hwc_resp_iova;
	uint32_t hwc_rq_off; /* offset of the one posted RQ entry */
	uint32_t hwc_max_req;
	uint32_t hwc_max_resp;
	uint32_t hwc_mkey;
	uint16_t hwc_msg_id;
	uint8_t resp_copy[MANA_HWC_MSG_SIZE]; /* the response, out of DMA memory */

	/* GDMA and MANA */
	struct gdma_dev_id mana_id;
	uint32_t pdid;
	uint32_t gpa_mkey;
	uint32_t db_id;
	uint32_t max_queues;
	uint64_t vport;
	uint8_t mac[6];
	uint16_t mtu;
	uint16_t tx_vport_offset;
	bool tx_short_form;
	uint32_t tx_wqe_size; /* every TX WQE: the OOB form is fixed */
	unsigned nq;
	struct mana_queue q[MANA_MAX_QUEUES];
};

/* mem.c: the memfd and its layout */
/* A sealed memfd of mana__layout_size(nq_alloc) bytes, mapped at d->map. */
int mana__mem_create(struct mana_dev *d, unsigned nq_alloc);
/* Maps [0, size) of an existing memfd (borrowed until success) at d->map. */
int mana__mem_map(struct mana_dev *d, int fd, size_t size);
/* Maps the DMA part for the device at d->mem_iova; adopting, -EEXIST is taken as the
 * mapping the transport kept. */
int mana__mem_dma_map(struct mana_dev *d, bool adopting);
void mana__mem_free(struct mana_dev *d);
uint64_t mana__queue_off(unsigned i, enum mana_part part);
uint8_t *mana__mem_va(const struct mana_dev *d, uint64_t off);
uint64_t mana__mem_iova(const struct mana_dev *d, uint64_t off);
/* state.c: writes the whole state from the driver's view and sets READY last. */
void mana__state_publish(struct mana_dev *d);
/* Commits (one release store each: see mana_state.h). */
void mana__commit_tx_posted(struct mana_queue *q);
void mana__commit_tx(struct mana_queue *q);
void mana__commit_rx(struct mana_queue *q);
void mana__commit_eq(struct mana_queue *q);

/* queue.c: rings and doorbells */
void mana__cq_init(struct mana_cq *q, uint8_t *va, uint32_t bytes, bool is_eq);
/*
 * Copies the next entry of q into ret_entry (q->entry_size bytes) and advances. 1: an
 * entry, 0: empty, -EPROTO: owner bits neither old nor new (counted by the caller; the
 * queue does not move).
 */
int mana__cq_next(struct mana_cq *q, void *ret_entry);
/* How many entries from the head carry the owner bits of new ones (none consumed). */
unsigned mana__cq_pending(const struct mana_cq *q);
/* The pure owner check on a copied last dword: 1 new, 0 old, -EPROTO. */
int mana__owner_check(uint32_t info, uint32_t head, uint32_t shift);
void mana__cq_doorbell(struct mana_dev *d, const struct mana_cq *q, bool arm);
/* Bytes of a WQE with an inline OOB of oob_len (8 or 24) and one SGE. */
uint32_t mana__wqe_size(uint32_t oob_len);
/* Writes a WQE (hdr, inline OOB of oob_len 8 or 24 bytes, one SGE) at the tail; returns
 * its size, -EAGAIN when the queue has no room. */
int mana__wq_post(struct mana_wq *q, const void *oob, uint32_t oob_len, const struct gdma_sge *sge);
void mana__wq_doorbell(struct mana_dev *d, const struct mana_wq *q);
void mana__doorbell(struct mana_dev *d, uint32_t page, uint32_t off, uint64_t val);
/* Waits for vector's eventfd up to the deadline (ms on CLOCK_MONOTONIC); -ETIMEDOUT. */
int mana__wait_irq(struct mana_dev *d, int efd, uint64_t deadline_ms);
uint64_t mana__deadline(const struct mana_dev *d);
uint64_t mana__now_ms(void);

/* check.c: pure checks of what the device wrote (the fuzz target's entry points) */
struct mana_hwc_done {
	bool is_sq;
	uint32_t resp_len;
};
int mana__hwc_cqe_check(const struct gdma_cqe *cqe, uint32_t sq_id, uint32_t rq_id, uint32_t rq_off,
			uint32_t buf_size, struct mana_hwc_done *ret);
int mana__hwc_resp_check(const void *resp, uint32_t len, uint32_t msg_type, uint16_t msg_id,
			 uint32_t min_size);
struct mana_rx_done {
	uint32_t len;
	uint32_t flags; /* mana_rxcomp_oob flags */
	bool fence;
};
int mana__rx_cqe_check(const struct gdma_cqe *cqe, uint32_t rq_id, struct mana_rx_done *ret);
int mana__tx_cqe_check(const struct gdma_cqe *cqe, uint32_t sq_id, uint32_t *ret_type);
int mana__eqe_check(const struct gdma_eqe *eqe, const uint32_t *cq_ids, unsigned n);

/* hwc.c */
int mana__hwc_create(struct mana_dev *d);
void mana__req_init(struct mana_dev *d, struct gdma_req_hdr *h, uint32_t code, uint32_t req_len,
		    uint32_t resp_len);
/* Sends req (req_len bytes, header filled by mana__req_init) and copies at most resp_len
 * bytes of the answer into resp (zero-filled past what came); the answer must be at least
 * min_len bytes. */
int mana__hwc_call(struct mana_dev *d, void *req, uint32_t req_len, void *resp, uint32_t resp_len,
		   uint32_t min_len);

/* adopt.c: the driver's view from a checked state (d->mem and d->st set). */
void mana__state_load(struct mana_dev *d, const struct mana_state *s);

/* dev.c */
int mana__read_registers(struct mana_dev *d);
int mana__setup_irqs(struct mana_dev *d, unsigned n);
/* A device for da (borrowed) with the caller's options checked; -EINVAL, -ENOMEM. */
int mana__dev_new(struct devaccess *da, const struct mana_opts *o, struct mana_dev **ret);
/* Where queue pair q's rings and buffers are (q->index set), before ids are known. */
void mana__queue_place(struct mana_dev *d, struct mana_queue *q);

/* gdma.c */
int mana__gdma_setup(struct mana_dev *d);
int mana__dma_region(struct mana_dev *d, uint64_t iova, uint32_t len, uint64_t *ret_handle);
int mana__eq_create(struct mana_dev *d, struct mana_queue *q);

/* vport.c */
int mana__query_vport(struct mana_dev *d);
int mana__vport_setup(struct mana_dev *d);
/* Reposts the oldest RX buffer (its entry was completed) at the RQ tail. */
int mana__rx_repost(struct mana_queue *q);

#endif
