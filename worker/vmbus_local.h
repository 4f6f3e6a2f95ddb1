/* SPDX-License-Identifier: MIT */
/*
 * The VMBus control plane (servers/vmbus library) run inside the worker, fed straight from
 * the SynIC: guest HvPostMessage on the VMBus message connections goes to
 * vmbus_server_post, and the library's host->guest messages go to the VP's SIMP slot.
 * This is mhcl-vp --vmbus, a debugging mode without mhcl-init; normally the control plane
 * runs in mhcl-vmbusd and reaches the same hv_synic ports over the bus (vp_bus.h). The
 * library and the SynIC path are the same either way.
 */
#ifndef MHCL_WORKER_VMBUS_LOCAL_H
#define MHCL_WORKER_VMBUS_LOCAL_H

#include <stdint.h>

#include "guestmem.h"
#include "synic.h"

struct vmbus_local;

/* synic and ram are borrowed and must outlive the result. Registers the message ports
 * (connection ids 1 and 4). */
int vmbus_local_new(struct hv_synic *synic, const struct guestmem *ram, uint32_t vp_count,
		    struct vmbus_local **ret);
/* Accepts NULL; returns NULL. The VPs must be stopped. */
struct vmbus_local *vmbus_local_free(struct vmbus_local *l);

#endif
