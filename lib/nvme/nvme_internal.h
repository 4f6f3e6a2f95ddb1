/* SPDX-License-Identifier: MIT */
/* lib/nvme's private declarations: the queue pair, the controller, and the pure parts
 * (PRP building, completion parsing, Identify parsing) the tests and fuzz targets reach. */
#ifndef MHCL_LIB_NVME_INTERNAL_H
#define MHCL_LIB_NVME_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "nvme.h"
#include "nvme_state.h"

/* The caller's side of a CID: process memory, lost with the process (stale commands
 * have none). */
struct nvme_cmd_ctx {
	nvme_done_fn fn;
	void *opaque;
	uint32_t *ret_dw0; /* the driver's own admin commands: where DW0 goes */
};

/* A completion taken from the ring under the lock, reported after it is dropped. */
struct nvme_done {
	nvme_done_fn fn;
	void *opaque;
	int err;
	uint16_t status;
	uint16_t cid;
	uint32_t flags; /* the slot's NVME_SLOT_* at completion */
	struct nvme_sqe sqe;
};

/* What nvme_qpair__check_timeouts found: an abort to send, or a caller to fail. */
struct nvme_timeout {
	uint16_t cid;
	bool send_abort;
	struct nvme_done done; /* !send_abort */
};

struct nvme_qpair {
	struct nvme_ctrl *ctrl;
	struct nvme_qstate *st;	     /* in the state memfd */
	struct nvme_cid_slot *slots; /* depth of them, in the state memfd */
	uint8_t *sq;		     /* DMA: depth SQEs */
	uint8_t *cq;		     /* DMA: depth CQEs, written by the device */
	uint8_t *prp;		     /* DMA: prp_pages per CID */
	uint64_t prp_iova;
	uint32_t depth;
	uint16_t qid;
	uint32_t sq_db; /* doorbell register offsets */
	uint32_t cq_db;
	int efd;
	struct nvme_cmd_ctx *ctx; /* depth of them */
	uint16_t *free_cids;	  /* stack */
	uint32_t nfree;
	uint32_t nstale;
	uint32_t timeout_ms;
	pthread_mutex_t lock;	   /* the ring, the slots, the CIDs */
	pthread_mutex_t reap_lock; /* held while completions are taken and reported: once
				    * nvme_qpair_forget returns, no callback of what it forgot
				    * is running or will run */
};

struct nvme_ctrl {
	struct devaccess *da;
	int state_fd;
	uint8_t *state; /* the whole memfd, mapped shared */
	size_t state_size;
	struct nvme_state_hdr *hdr;
	struct nvme_ctrl_info info;
	struct nvme_ns_info ns[NVME_MAX_NS];
	unsigned nns;
	struct nvme_qpair admin;
	struct nvme_qpair io[NVME_MAX_IO_QUEUES];
	unsigned nio;
	int efds[NVME_MAX_QUEUES];
	unsigned nefds;
	uint32_t dstrd;
	bool dma_mapped;
	bool failed;
	nvme_stale_fn stale_fn;
	void *stale_opaque;
	/* Counters of this instance (atomic: any thread may bump them). */
	uint64_t admin_submitted;
	uint64_t admin_aborts;
	uint64_t stale_at_adopt;
	uint64_t stale_completed;
	uint64_t timeouts;
};

/* ---- prp.c ---- */

/* PRP entries for len bytes starting byte_offset (dword aligned) into pages[0]; pages are
 * 4 KiB-aligned IOVAs, at least as many as the bytes span. When more than two pages are
 * spanned, PRP2 points to a list written into list_pages pages at list (IOVA list_iova,
 * contiguous), chained through the last entry of each full page. -EINVAL for a bad
 * offset, length or page, -E2BIG when the list pages are too few. */
int nvme_prp_build(uint32_t byte_offset, uint64_t len, const uint64_t *pages, uint32_t npages,
		   uint64_t *list, uint64_t list_iova, uint32_t list_pages, uint64_t *ret_prp1,
		   uint64_t *ret_prp2);

/* List pages a transfer spanning npages needs (0 for one or two pages). */
uint32_t nvme_prp_list_pages(uint32_t npages);

/* ---- identify.c ---- */

/* Parses an Identify Controller page (any bytes). -EPROTO when it is unusable: the
 * driver's 64/16-byte entries not supported, no namespace. */
int nvme_parse_id_ctrl(const void *page, struct nvme_ctrl_info *ret);

/* Parses an Identify Namespace page for nsid. -ENOTSUP for a format the driver does not
 * do (metadata, a block size outside 512..4096), -EPROTO for nonsense (no such format,
 * zero or overflowing size), -ENXIO for an inactive namespace (size 0). */
int nvme_parse_id_ns(const void *page, uint32_t nsid, struct nvme_ns_info *ret);

/* Active namespace list: up to max IDs, ascending, each 1..nn. -EPROTO when the list is
 * not ascending or names an ID out of range. Returns the count. */
int nvme_parse_ns_list(const void *page, uint32_t nn, uint32_t *ids, unsigned max);

/* ---- queue.c: the queue pair's ring logic, no device access ---- */

/* Sets up qp over its state, slots and rings (all already placed); fresh: resets the
 * state to an empty queue. Returns -ENOMEM. */
int nvme_qpair__init(struct nvme_qpair *qp, bool fresh);
void nvme_qpair__fini(struct nvme_qpair *qp);

/* Records and queues sqe (its CID is filled in) under the lock held by the caller.
 * Returns the CID, or -EAGAIN when the ring or the CIDs are full. Fills *ret_tail with
 * the doorbell value. */
int nvme_qpair__push(struct nvme_qpair *qp, struct nvme_sqe *sqe, uint32_t flags,
		     uint64_t deadline_ns, const struct nvme_cmd_ctx *ctx, uint32_t *ret_tail);
/* The CID nvme_qpair__push will take next, without taking it (-EAGAIN when none); for
 * callers that need it to place data before pushing. */
int nvme_qpair__peek_cid(struct nvme_qpair *qp);

/* Consumes up to max completions from the ring (lock held) into out[]. Returns how many
 * entries of out[] were filled; *ret_consumed says how many ring entries were taken
 * (dropped ones included), so the caller rings the CQ doorbell when it is nonzero. */
unsigned nvme_qpair__reap(struct nvme_qpair *qp, struct nvme_done *out, unsigned max,
			  unsigned *ret_consumed);

/* Lock held: marks every committed in-flight slot stale, frees uncommitted and DONE ones
 * (DONE ones are reported in out[], up to max). Returns how many were reported. */
unsigned nvme_qpair__adopt(struct nvme_qpair *qp, struct nvme_done *out, unsigned max);

/* Lock held: slots past their deadline at now_ns. Returns how many went into out[]. */
unsigned nvme_qpair__check_timeouts(struct nvme_qpair *qp, uint64_t now_ns,
				    struct nvme_timeout *out, unsigned max);

/* Lock held: fails every in-flight slot (caller callbacks into out[], up to max);
 * slots stay reserved. */
unsigned nvme_qpair__fail_all(struct nvme_qpair *qp, int err, struct nvme_done *out, unsigned max);

/* Lock held: drops the callbacks of in-flight commands whose opaque lies in [lo, hi);
 * their CIDs stay reserved until the device completes them. Returns how many. */
unsigned nvme_qpair__forget(struct nvme_qpair *qp, const void *lo, const void *hi);

/* Calls the callbacks of completions reaped under the lock (reap_lock held). */
void nvme_qpair__report(struct nvme_qpair *qp, const struct nvme_done *d, unsigned n);

uint32_t nvme_qpair__sq_tail(const struct nvme_qpair *qp);

/* ---- ctrl.c / adopt.c shared ---- */
int nvme_ctrl__map_state(struct nvme_ctrl *c, const struct nvme_layout *l);
void nvme_ctrl__place_queues(struct nvme_ctrl *c, const struct nvme_layout *l);
int nvme_ctrl__set_irqs(struct nvme_ctrl *c);
int nvme_ctrl__admin_submit(struct nvme_ctrl *c, struct nvme_sqe *sqe, uint32_t flags,
			    nvme_done_fn fn, void *opaque);
void nvme_ctrl__ring(struct nvme_ctrl *c, uint32_t db, uint32_t val);
int nvme_ctrl__wait_csts(struct nvme_ctrl *c, uint32_t mask, uint32_t want, uint64_t cap);
uint64_t nvme_now_ns(void);
void nvme_ctrl__free(struct nvme_ctrl *c);

#endif
