/* SPDX-License-Identifier: MIT */
/*
 * The partition side of the Hyper-V SynIC, and the worker's interface for the VMBus
 * control plane (vmbusd) and device servers.
 *
 * Guest -> host messages: HvPostMessage(connection_id) reaches the handler registered for
 * that connection id (hv_synic_add_message_port), after the 256-byte input block was
 * copied out of guest RAM and validated. No handler: HV_STATUS_INVALID_CONNECTION_ID,
 * which is what a guest sees from a host without that service.
 *
 * Host -> guest messages: hv_synic_post_message queues a message for (vp, sint) and writes
 * it into the VP's SIMP slot when that slot is free (message_type 0). While messages wait,
 * the busy slot carries msg_pending so the guest writes EOM after consuming it; the SINT's
 * acknowledgement (EOM or EOI) wakes the delivery thread, which retries.
 *
 * Events: HvSignalEvent(connection_id) signals the eventfd registered with
 * hv_synic_add_event_port inside the partition (no exit); the host signals a channel by
 * hv_synic_signal_event (set the flag in the VP's SIEFP page, then raise the SINT).
 *
 * Logging: a guest chooses how often it calls, so nothing it can repeat is logged without a
 * per-VP rate limit, and a valid post is not logged at all unless traced.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef MHCL_WORKER_SYNIC_H
#define MHCL_WORKER_SYNIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend.h"
#include "guestmem.h"

#define HV_SYNIC_VMBUS_SINT 2
#define HV_SYNIC_QUEUE_LEN 64 /* messages waiting per (vp, sint), allocated up front */
#define HV_SYNIC_MAX_PORTS 64

struct hv_synic;

/* Called on a VP thread for each valid guest PostMessage to connection_id. payload (len
 * <= 240 bytes) is a private copy that lives until the call returns. Returns an
 * HV_STATUS_* value for the guest. */
typedef uint16_t (*hv_message_port_fn)(void *opaque, uint32_t vp, uint32_t connection_id,
				       uint32_t message_type, const uint8_t *payload, uint32_t len);

/* ops/p/ram are borrowed and must outlive the synic. Creates the SINT irqfds of the
 * VMBus SINT on every VP and starts the delivery thread. */
int hv_synic_new(const struct backend_ops *ops, struct partition *p, const struct guestmem *ram,
		 uint32_t vp_count, struct hv_synic **ret);
struct hv_synic *hv_synic_free(struct hv_synic *s);

int hv_synic_add_message_port(struct hv_synic *s, uint32_t connection_id, hv_message_port_fn fn,
			      void *opaque);
/* Returns -ENOENT if connection_id has no handler. */
int hv_synic_remove_message_port(struct hv_synic *s, uint32_t connection_id);
/* fd is borrowed (the partition takes its own reference). */
int hv_synic_add_event_port(struct hv_synic *s, uint32_t connection_id, int fd);

/* Removes the HvSignalEvent route of connection_id. */
int hv_synic_remove_event_port(struct hv_synic *s, uint32_t connection_id);

/* Copies the message. Returns -EAGAIN if the queue is full, -EINVAL for bad arguments. */
int hv_synic_post_message(struct hv_synic *s, uint32_t vp, uint8_t sint, uint32_t message_type,
			  const void *payload, size_t len);
/* Returns how many more messages (vp, sint) can queue. */
int hv_synic_queue_free(struct hv_synic *s, uint32_t vp, uint8_t sint);
/* Sets flag in SIEFP[sint] of vp and raises the SINT. -ENXIO if SIEFP is not enabled. */
int hv_synic_signal_event(struct hv_synic *s, uint32_t vp, uint8_t sint, uint32_t flag);

/* Borrowed irqfd that raises the VMBus SINT on vp (for handing to vmbusd with SCM_RIGHTS,
 * which duplicates it). -EINVAL for a bad vp. */
int hv_synic_sint_irqfd(struct hv_synic *s, uint32_t vp, int *ret_fd);

/* Called on the writing VP's thread after the guest wrote a SynIC MSR, with the pages now
 * in use (gpa 0 = disabled; both checked against guest RAM). Not under the synic lock. */
typedef void (*hv_synic_pages_fn)(void *opaque, uint32_t vp, bool enabled, uint64_t simp_gpa,
				  uint64_t siefp_gpa);
/* Sets the listener (one; NULL removes it). Set it before the VPs start. */
void hv_synic_set_pages_listener(struct hv_synic *s, hv_synic_pages_fn fn, void *opaque);

/* VP-loop hooks. */
uint16_t hv_synic_hypercall(struct hv_synic *s, uint32_t vp, uint64_t control, uint64_t input,
			    uint64_t output);
void hv_synic_msr_written(struct hv_synic *s, uint32_t vp, uint32_t msr, uint64_t control,
			  uint64_t siefp, uint64_t simp);

/* --trace-guest-messages: log every HvPostMessage (connection, type, the payload's first
 * bytes, the status the guest got), rate limited generously. Off by default: a guest
 * decides how often it posts. Set before the VPs start. */
void hv_synic_set_trace(struct hv_synic *s, bool on);
/* Log lines the guest's VPs triggered that their rate limits held back (refused
 * hypercalls, SynIC set-up, traces). */
uint64_t hv_synic_log_suppressed(const struct hv_synic *s);

/* Validates a copied HvPostMessage input block. Returns HV_STATUS_SUCCESS or the status
 * the hypercall fails with. */
uint16_t hv_post_message_validate(const void *input, size_t len);

#endif
