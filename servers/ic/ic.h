/* SPDX-License-Identifier: MIT */
/*
 * Host side of the integration components (heartbeat, shutdown) as pure
 * functions over in-band packet payloads (include/defs/ic_defs.h). The ring
 * I/O is the caller's: it sends what the build functions write and hands
 * every packet the guest returns to vmbus_ic_receive(). No allocation.
 *
 * Exchange on an IC channel: host NEGOTIATE request -> guest answer with one
 * framework and one message version -> then requests (heartbeat with a
 * sequence number the guest returns + 1; shutdown with flags the guest
 * accepts or refuses through the header status).
 */
#ifndef MHCL_VMBUS_IC_H
#define MHCL_VMBUS_IC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "defs/ic_defs.h"
#include "defs/vmbus_defs.h"

enum vmbus_ic_kind {
	VMBUS_IC_HEARTBEAT,
	VMBUS_IC_SHUTDOWN,
	_VMBUS_IC_KIND_MAX,
	_VMBUS_IC_KIND_INVALID = -22,
};

enum vmbus_ic_state {
	VMBUS_IC_IDLE,	      /* nothing sent yet */
	VMBUS_IC_NEGOTIATING, /* NEGOTIATE sent */
	VMBUS_IC_READY,	      /* versions agreed */
	VMBUS_IC_FAILED,      /* no common version; the channel is useless */
	_VMBUS_IC_STATE_MAX,
	_VMBUS_IC_STATE_INVALID = -22,
};

/* What a received packet meant. */
enum vmbus_ic_event {
	VMBUS_IC_EV_NEGOTIATED,	   /* versions agreed */
	VMBUS_IC_EV_HEARTBEAT,	   /* the guest answered the outstanding heartbeat */
	VMBUS_IC_EV_SHUTDOWN_OK,   /* the guest accepted the shutdown request */
	VMBUS_IC_EV_SHUTDOWN_FAIL, /* the guest refused it (status in last_status) */
	_VMBUS_IC_EV_MAX,
	_VMBUS_IC_EV_INVALID = -22,
};

/* Caller-allocated state of one IC channel (embed it). */
struct vmbus_ic {
	enum vmbus_ic_kind kind;
	enum vmbus_ic_state state;
	struct ic_version framework; /* agreed versions, valid when READY */
	struct ic_version message;
	uint64_t seq;	      /* heartbeat: last sequence number sent */
	bool outstanding;     /* a request waits for its answer */
	uint8_t pending_type; /* enum ic_msg_type of the outstanding request */
	uint32_t last_status; /* status of the last answer */
	uint64_t heartbeats;  /* answered heartbeats */
	uint64_t bad_packets; /* refused guest packets */
};

void vmbus_ic_init(struct vmbus_ic *ic, enum vmbus_ic_kind kind);

/*
 * Writes the NEGOTIATE request into buf (cap bytes) and moves to
 * NEGOTIATING. Returns the packet length or -ENOBUFS.
 */
ssize_t vmbus_ic_negotiate_request(struct vmbus_ic *ic, void *buf, size_t cap);
/* Heartbeat request with the next sequence number. -EAGAIN if one is
 * outstanding, -ENOTCONN before negotiation, -EINVAL for a non-heartbeat IC. */
ssize_t vmbus_ic_heartbeat_request(struct vmbus_ic *ic, void *buf, size_t cap);
/*
 * Shutdown request: flags IC_SHUTDOWN_F_* (restart needs message version
 * 3.1, hibernate 3.2: else -EOPNOTSUPP), reason code, timeout, message
 * (copied, truncated to 2047 bytes; may be NULL).
 */
ssize_t vmbus_ic_shutdown_request(struct vmbus_ic *ic, void *buf, size_t cap, uint32_t flags,
				  uint32_t reason, uint32_t timeout_s, const char *message);
/*
 * Handles one packet payload from the guest (borrowed; copied before use).
 * Returns an enum vmbus_ic_event, or -EBADMSG (malformed: counted, state
 * unchanged), -EPROTO (an answer nobody asked for, a wrong heartbeat
 * sequence, or no common version: then state FAILED).
 */
int vmbus_ic_receive(struct vmbus_ic *ic, const void *buf, size_t len);

struct vmbus_offer;
/*
 * Fills *ret with the offer of an IC channel: class GUID of `kind`, the given
 * instance (copied), message-mode pipe (flags ENUMERATE_DEVICE_INTERFACE |
 * NAMED_PIPE_MODE, pipe type MESSAGE), as Hyper-V offers its ICs.
 */
void vmbus_ic_offer(enum vmbus_ic_kind kind, const struct hv_guid *instance,
		    struct vmbus_offer *ret);

/* Lower-level helpers, also used by tests and the fuzz target. */

/* Checks pipe and icmsg headers; copies the header to *ret_hdr and gives
 * the body length (msgsize, checked to fit in len). */
int vmbus_ic_parse_hdr(const void *buf, size_t len, struct ic_msg_hdr *ret_hdr,
		       size_t *ret_body_len);

#endif
