/* SPDX-License-Identifier: MIT */
/*
 * mhcl's userspace MANA driver (REFERENCES.md sections 6 and 10), over lib/devaccess: the
 * Ethernet function of a GDMA device serving mhcl-netd's backend queues.
 *
 *   mana_dev_init    brings the function up from scratch: BAR0 registers, MSI-X, the
 *                    hardware channel (HWC) through the shared-memory channel, the GDMA
 *                    handshake, one EQ per queue pair, the vPort with a TX SQ/CQ and an
 *                    RX RQ/CQ per queue pair, RSS over the RX queues
 *   mana_dev_adopt   takes over a function a previous instance of the process left
 *                    running (keepalive): no HWC command, no reset
 *   mana_tx          copies a frame into the queue's TX bounce buffer and posts it
 *   mana_tx_reap     consumes TX completions (frees bounce slots)
 *   mana_rx          takes the next received frame and reposts its buffer
 *   mana_queue_fd    the eventfd of the queue's EQ (its MSI-X vector)
 *   mana_queue_arm   re-arms the queue once it has been drained
 *   mana_queue_arm_tx  re-arms for TX completions only (RX left to the caller's pace)
 *
 * Memory. Everything the device reads or writes (HWC queues and message buffers, the
 * queues and the TX/RX bounce buffers) lives in one memfd the driver creates and maps at
 * the IOVA the caller picks (devaccess_dma_map_fd, so a vfio-user device can share it),
 * after a state page the device never sees (mana_state.h). Frames are always copied: the
 * guest's pages are not mapped for this device, so neither TX nor RX is zero-copy.
 *
 * Trust. Everything the device writes (EQEs, CQEs, HWC responses, registers) is
 * untrusted: entries are copied out of the ring once (owner bits read first with acquire
 * order), then checked (owner bits, queue ids, WQ numbers, entry types, lengths, response
 * msg_type/id/version/size/status). A bad HWC response fails that command; a bad
 * completion is dropped and counted in mana_stats. Completions are matched to work by
 * position (a CQ serves exactly one WQ and the device completes in order), never by an
 * offset the device names, so a lying device can cost frames but never makes the driver
 * touch memory outside its own buffers.
 *
 * Keepalive. The memfd holds every byte the device uses and, in its state page, what a
 * later process needs to drive the function on: layout version, vPort handle, pdid, mkey,
 * doorbell page, per queue pair its ids, WQ object handles and the committed positions
 * (CQ/EQ heads, TX posted and completed, RX buffers completed; owner phases and WQ
 * offsets follow from them). It is crash-consistent: each step commits with one store,
 * made before the doorbell that hands the step to the device (mana_state.h). A process
 * that dies (kill -9 included) with the memfd, and for VFIO the device's fds, kept
 * elsewhere leaves a function the next process adopts with mana_dev_adopt: the memfd's
 * state is checked as untrusted input, the DMA part mapped again, the vectors routed to
 * new eventfds, every doorbell rung again with the committed positions, and no HWC
 * command is sent. TX frames that were in flight are reaped by their completions (counted
 * as stale); received frames the last process had not committed are handed out by this
 * one, exactly once. Not detectable without an HWC command: a function reset behind the
 * driver's back (its queues are then gone and frames simply stop).
 *
 * Threads: set-up and teardown from one thread; each queue is used by one thread at a
 * time (netd serves a queue from one loop). Errors are negative errno values.
 */
#ifndef MHCL_LIB_MANA_H
#define MHCL_LIB_MANA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct devaccess;
struct mana_dev;
struct mana_queue;

#define MANA_MAX_QUEUES 8u
#define MANA_QUEUE_DEPTH 64u /* frames in flight per direction per queue */
#define MANA_BUF_SIZE 2048u  /* one bounce buffer: the largest frame either way */
#define MANA_DEFAULT_TIMEOUT_MS 5000u

struct mana_opts {
	unsigned nr_queues;  /* wanted (1..MANA_MAX_QUEUES); may be granted fewer */
	uint64_t mem_iova;   /* page aligned; where the driver's DMA memory goes */
	unsigned timeout_ms; /* per HWC command and event wait; 0: MANA_DEFAULT_TIMEOUT_MS */
};

/*
 * Offload metadata with a frame, in the shape of netd's struct net_offload.
 *   tx: MANA_OFFLOAD_CSUM asks the device to fill the TCP or UDP checksum: csum_start is
 *       the L4 header offset, csum_offset 16 (TCP) or 6 (UDP). No segmentation offload:
 *       gso_type other than 0 gives -EOPNOTSUPP.
 *   rx: MANA_OFFLOAD_CSUM_VALID when the device checked the TCP or UDP checksum.
 */
#define MANA_OFFLOAD_CSUM 0x1u
#define MANA_OFFLOAD_CSUM_VALID 0x2u

struct mana_offload {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

struct mana_info {
	uint8_t mac[6];
	unsigned nr_queues;
	uint16_t mtu; /* 0: the device did not say */
	bool adopted; /* taken over from a previous instance (mana_dev_adopt) */
};

/* What the driver refused or dropped; cumulative. */
struct mana_stats {
	uint64_t bad_owner;	    /* an entry whose owner bits are neither old nor new */
	uint64_t bad_eqes;	    /* wrong type or CQ id */
	uint64_t bad_cqes;	    /* wrong WQ number or direction, unknown type */
	uint64_t bad_hwc_responses; /* wrong msg type/id/version/size, short or stray */
	uint64_t hwc_errors;	    /* commands the device answered with a failure status */
	uint64_t tx_frames;
	uint64_t tx_errors; /* TX completions that were not TX_OKAY */
	uint64_t rx_frames;
	uint64_t rx_dropped; /* truncated, zero or oversized lengths, bad CQEs */
	/* Adoption: TX frames the last instance left in flight, their completions reaped by
	 * this one, and RX completions waiting when it took over. */
	uint64_t adopt_tx_in_flight;
	uint64_t stale_tx_completions;
	uint64_t adopt_rx_pending;
};

/*
 * Brings the function behind da up (borrowed; it must outlive the device): -ENODEV when
 * BAR0 reads all ones or the registers make no sense, -ETIMEDOUT when the device does
 * not answer in time, -EPROTO for an answer that breaks the protocol, -EIO for a command
 * the device refused, -ENOTSUP without 2 MSI-X vectors or a MANA device.
 */
int mana_dev_init(struct devaccess *da, const struct mana_opts *o, struct mana_dev **ret);

/*
 * Takes over the function behind da that an earlier instance left running: mem_fd is its
 * mana_dev_mem_fd() (ownership taken on success only), o the options it was brought up
 * with (nr_queues and mem_iova must be the same). Sends no HWC command. -ESTALE when the
 * memfd's state is not usable (another layout or configuration, bring-up never finished,
 * a value out of range), -ENODEV when BAR0 makes no sense; the function is left as it was.
 */
int mana_dev_adopt(struct devaccess *da, int mem_fd, const struct mana_opts *o,
		   struct mana_dev **ret);

/* Frees what this process holds (the memfd, eventfds). A function that is up stays up,
 * with its DMA mapping and vectors, for mana_dev_adopt (the caller keeps the memfd and the
 * transport's fds, or resets the function). Accepts NULL. */
void mana_dev_close(struct mana_dev *d);

void mana_dev_info(const struct mana_dev *d, struct mana_info *ret);
void mana_dev_stats(const struct mana_dev *d, struct mana_stats *ret);
/* The memfd holding the driver's state and DMA memory (borrowed), for a caller that
 * keeps it for mana_dev_adopt (init's fd store). */
int mana_dev_mem_fd(const struct mana_dev *d);

/* Queue pair i (< nr_queues), or NULL. */
struct mana_queue *mana_dev_queue(struct mana_dev *d, unsigned i);

/*
 * Copies the frame (iovcnt pieces, borrowed for the call) into a free TX bounce buffer
 * and posts it. -EAGAIN when all MANA_QUEUE_DEPTH buffers are in flight (reap first),
 * -EMSGSIZE for a frame under 14 bytes or over MANA_BUF_SIZE, -EOPNOTSUPP for an offload
 * the driver cannot express, -EIO once the device failed.
 */
int mana_tx(struct mana_queue *q, const struct iovec *iov, int iovcnt,
	    const struct mana_offload *offload);

/* Consumes TX completions; returns how many frames completed (0: none). */
int mana_tx_reap(struct mana_queue *q);

/*
 * Copies the next received frame into iov (borrowed) and reposts its buffer. Returns 0
 * with *ret_len and *ret_offload set, -EAGAIN when nothing is pending, -EMSGSIZE (frame
 * dropped) when iov is too small. Bad completions are dropped, counted and skipped.
 */
int mana_rx(struct mana_queue *q, const struct iovec *iov, int iovcnt, size_t *ret_len,
	    struct mana_offload *ret_offload);

/* The eventfd to wait on (borrowed): readable when the queue's EQ fired. The caller reads
 * it, drains mana_rx/mana_tx_reap, then calls mana_queue_arm. */
int mana_queue_fd(const struct mana_queue *q);

/* Consumes the queue's EQ entries and arms its CQs and EQ; the device signals the
 * eventfd at once if completions arrived meanwhile. */
int mana_queue_arm(struct mana_queue *q);

/* As mana_queue_arm, but the RX CQ stays as it is: for a caller that waits for TX room
 * while it leaves received frames pending (arming their CQ would signal at once). */
int mana_queue_arm_tx(struct mana_queue *q);

#endif
