/* SPDX-License-Identifier: MIT */
/*
 * mhcl's userspace NVMe driver (REFERENCES.md sections 7 and 10), over lib/devaccess.
 *
 *   nvme_ctrl_init      brings a controller up from scratch: disable, admin queue, enable,
 *                       Identify, Number of Queues, I/O queue pairs (one MSI-X vector
 *                       each), namespaces
 *   nvme_ctrl_adopt     resumes a controller a previous instance of the process left
 *                       running (keepalive): no reset, no Identify, no queue creation
 *   nvme_qpair_submit   read/write (FUA), flush, deallocate, from a list of page IOVAs
 *   nvme_qpair_process  completions, on the queue's eventfd or by polling
 *
 * Keepalive. All driver memory (queues, PRP list pages, identify buffers) and all driver
 * state (per queue: tail, heads, phase, every command in flight with its full SQE;
 * identify data; namespaces; controller configuration) live in one memfd the driver
 * creates, part of which is DMA-mapped at the IOVA the caller picks. The state is kept
 * crash-consistent: a command is recorded before its doorbell rings, a completion is
 * recorded as consumed before its CID is freed. A process that dies (or execs) with the
 * VFIO fds and that memfd kept elsewhere leaves a controller that the next process adopts.
 * Commands in flight at that moment are "stale": their completions are consumed and
 * counted (and passed to nvme_adopt_opts.stale_fn), never confused with new commands,
 * because their CIDs stay reserved until they complete. The caller replays the requests
 * itself; nvme_ctrl_adopt waits (bounded) for the stale ones to drain.
 *
 * Trust. Everything the device writes (completions, identify data) is untrusted: a bad
 * completion fails at most the command it names, or is dropped and counted; it never
 * crashes the process or completes a command twice. A controller that reports a fatal
 * status (CSTS.CFS) or stops answering is marked failed and every pending command fails.
 *
 * Threads: any thread may submit, process or check; each queue pair has its own locks.
 * Callbacks run on the thread that called nvme_qpair_process, nvme_qpair_check_timeouts or
 * nvme_ctrl_check_health, one queue pair's at a time: they may submit (to any queue pair)
 * but must not process, check timeouts or forget on their own queue pair.
 * Errors are negative errno values.
 */
#ifndef MHCL_LIB_NVME_H
#define MHCL_LIB_NVME_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/nvme_defs.h"

struct devaccess;
struct nvme_ctrl;
struct nvme_qpair;

#define NVME_MAX_IO_QUEUES 16u
#define NVME_MAX_NS 16u
#define NVME_MAX_QUEUE_DEPTH 1024u
/* The driver's own transfer cap: one PRP list page per command covers it. */
#define NVME_MAX_TRANSFER (2u << 20)
#define NVME_DEFAULT_TIMEOUT_MS 30000u

struct nvme_opts {
	unsigned nr_io_queues;	 /* wanted (1..NVME_MAX_IO_QUEUES); may be granted fewer */
	unsigned io_queue_depth; /* entries per I/O queue (2..), capped by CAP.MQES */
	uint64_t state_iova;	 /* page aligned; where the driver's DMA memory goes */
	unsigned cmd_timeout_ms; /* 0: NVME_DEFAULT_TIMEOUT_MS */
};

/* Called once for each stale command (in flight when the previous instance stopped) as
 * its completion arrives: sqe is the command as submitted, err as for nvme_done_fn. */
typedef void (*nvme_stale_fn)(void *opaque, uint16_t qid, const struct nvme_sqe *sqe, int err);

struct nvme_adopt_opts {
	nvme_stale_fn stale_fn; /* may be NULL: stale completions are only counted */
	void *opaque;
	unsigned drain_timeout_ms; /* how long adopt waits for stale commands; 0 = not at all */
};

struct nvme_ctrl_info {
	char model[41]; /* printable ASCII, trailing spaces removed */
	char serial[21];
	char firmware[9];
	uint16_t vid;
	uint32_t ver;
	uint32_t nn;
	uint32_t mdts_bytes; /* 0: the controller sets no limit */
	bool vwc;	     /* volatile write cache: flush means something */
	bool dsm;	     /* Dataset Management (deallocate) */
};

struct nvme_ns_info {
	uint32_t nsid;
	uint64_t nblocks;
	uint32_t block_size; /* 512 .. 4096 */
	uint8_t id[16];	     /* NGUID, else EUI-64 */
	uint8_t id_len;	     /* 16, 8 or 0 */
};

struct nvme_ctrl_stats {
	uint64_t admin_submitted; /* by this instance, every opcode */
	uint64_t admin_aborts;	  /* by this instance, Abort only */
	uint64_t stale_at_adopt;  /* commands in flight when adopted */
	uint64_t stale_completed; /* of those, completed since */
	uint64_t bad_completions; /* dropped: unknown CID, wrong SQ, not in flight */
	uint64_t timeouts;	  /* commands that hit their deadline */
	bool failed;
};

/* Brings the controller behind da up (borrowed; it must outlive the controller). The
 * state memfd is created here; nvme_ctrl_state_fd() names it for the caller to keep.
 * -ENODEV when the device does not answer, -ETIMEDOUT when it never gets ready,
 * -ENOTSUP for a controller without the NVM command set or 4 KiB pages. */
int nvme_ctrl_init(struct devaccess *da, const struct nvme_opts *o, struct nvme_ctrl **ret);

/* Resumes the controller a previous instance left running: da built from its kept fds,
 * state_fd its state memfd (ownership taken on success). Requires CSTS.RDY = 1 and a
 * state that matches the device; issues no Identify, no queue creation, no reset. Waits
 * up to o->drain_timeout_ms for stale commands. -ESTALE when the state is not usable
 * (another layout, never finished bring-up), -EIO when the controller is not ready. */
int nvme_ctrl_adopt(struct devaccess *da, int state_fd, const struct nvme_adopt_opts *o,
		    struct nvme_ctrl **ret);

/* Frees what this process holds; the controller keeps running and its DMA mappings stay
 * (for the next instance). Callbacks of pending commands are never called. Accepts NULL. */
void nvme_ctrl_close(struct nvme_ctrl *c);

/* Orderly end: shuts the controller down (CC.SHN), disables it, unmaps the driver's
 * memory, then closes. Pending commands are failed with -ECANCELED first. */
int nvme_ctrl_shutdown(struct nvme_ctrl *c);

/* Borrowed: the state memfd, for the caller's fd store. */
int nvme_ctrl_state_fd(const struct nvme_ctrl *c);
const struct nvme_ctrl_info *nvme_ctrl_info(const struct nvme_ctrl *c);
unsigned nvme_ctrl_ns_count(const struct nvme_ctrl *c);
const struct nvme_ns_info *nvme_ctrl_ns(const struct nvme_ctrl *c, unsigned i);
const struct nvme_ns_info *nvme_ctrl_ns_find(const struct nvme_ctrl *c, uint32_t nsid);
/* Bytes one read or write may move (MDTS and the driver's cap). */
uint32_t nvme_ctrl_max_transfer(const struct nvme_ctrl *c);
unsigned nvme_ctrl_qpair_count(const struct nvme_ctrl *c);
struct nvme_qpair *nvme_ctrl_qpair(struct nvme_ctrl *c, unsigned i);
void nvme_ctrl_stats(struct nvme_ctrl *c, struct nvme_ctrl_stats *ret);

/* The admin queue's eventfd (MSI-X vector 0), -1 when polled; and its processing. */
int nvme_ctrl_admin_eventfd(const struct nvme_ctrl *c);
int nvme_ctrl_process_admin(struct nvme_ctrl *c);

/* Reads CSTS: on CFS or a device that reads all ones, marks the controller failed and
 * fails every pending command with -EIO. Returns 0, or -EIO when failed. */
int nvme_ctrl_check_health(struct nvme_ctrl *c);
bool nvme_ctrl_failed(const struct nvme_ctrl *c);

/* Periodic work (the caller's timer, every second or so): admin completions and
 * timeouts, health, and the timeouts of every I/O queue pair. */
int nvme_ctrl_tick(struct nvme_ctrl *c, uint64_t now_ns);

enum nvme_io_op {
	NVME_IO_READ,
	NVME_IO_WRITE,
	NVME_IO_FLUSH,
	NVME_IO_DEALLOCATE,
	_NVME_IO_OP_MAX,
	_NVME_IO_OP_INVALID = -EINVAL,
};

struct nvme_io_range {
	uint64_t slba;
	uint32_t nblocks;
};

struct nvme_io {
	enum nvme_io_op op;
	uint32_t nsid;
	/* READ, WRITE: nblocks * block_size bytes starting byte_offset (a multiple of 4) into
	 * pages[0]; pages[] are the IOVAs of 4 KiB pages, page aligned. */
	uint64_t slba;
	uint32_t nblocks;
	bool fua;
	uint32_t byte_offset;
	const uint64_t *pages;
	uint32_t npages;
	/* DEALLOCATE: 1..NVME_DSM_MAX_RANGES ranges */
	const struct nvme_io_range *ranges;
	uint32_t nranges;
};

/* err: 0, or -EIO (media or device error), -EINVAL (LBA out of range, invalid field),
 * -ENOSPC (capacity exceeded), -EROFS (write protected), -ENXIO (no such namespace),
 * -ETIMEDOUT (timed out and aborted), -ECANCELED (shut down). status is the device's
 * SCT << 8 | SC, 0xffff when the driver failed the command itself. */
typedef void (*nvme_done_fn)(void *opaque, int err, uint16_t status);

/* Queues one command; fn is called exactly once later (never from inside submit) unless
 * this returns an error. -EAGAIN queue full, -E2BIG more than nvme_ctrl_max_transfer
 * bytes, -EINVAL bad pages/range/offset, -ENXIO unknown nsid, -EOPNOTSUPP a flush
 * without a volatile cache or a deallocate the controller lacks, -EIO failed controller. */
int nvme_qpair_submit(struct nvme_qpair *qp, const struct nvme_io *io, nvme_done_fn fn,
		      void *opaque);

/* Consumes up to budget completions (0: the queue's depth), calls their callbacks,
 * returns how many commands completed. Drains the eventfd first when there is one. */
int nvme_qpair_process(struct nvme_qpair *qp, unsigned budget);

/* Aborts commands past their deadline (Admin Abort); those the device does not finish
 * within another timeout complete with -ETIMEDOUT and keep their CID reserved until the
 * device answers. Returns how many timed out now. */
int nvme_qpair_check_timeouts(struct nvme_qpair *qp, uint64_t now_ns);

/* Drops the callbacks of this queue pair's in-flight commands whose opaque lies in
 * [lo, hi) (a caller's request pool that is going away); the commands stay in flight and
 * their completions are swallowed. On return no such callback runs or will run. */
unsigned nvme_qpair_forget(struct nvme_qpair *qp, const void *lo, const void *hi);

int nvme_qpair_eventfd(const struct nvme_qpair *qp); /* -1 when polled */
uint32_t nvme_qpair_depth(const struct nvme_qpair *qp);
uint16_t nvme_qpair_qid(const struct nvme_qpair *qp);
unsigned nvme_qpair_inflight(struct nvme_qpair *qp);
/* Stale commands (see above) not yet completed; 0 once drained. */
unsigned nvme_qpair_stale(struct nvme_qpair *qp);

/* errno for a completion status (SCT << 8 | SC). */
int nvme_status_to_errno(uint16_t status);

#endif
