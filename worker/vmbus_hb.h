/* SPDX-License-Identifier: MIT */
/*
 * A heartbeat integration-component channel served inside the worker, so the whole VMBus
 * data path (ring GPADL, OPENCHANNEL, HvSignalEvent through a partition eventfd, host
 * signals through SIEFP + SINT) runs against the real guest driver (hv_utils) until
 * device servers attach over the bus. After opening: one negotiation, then one heartbeat
 * exchange. A device thread of its own waits on the channel's eventfd.
 */
#ifndef MHCL_WORKER_VMBUS_HB_H
#define MHCL_WORKER_VMBUS_HB_H

#include <stdint.h>

#include "synic.h"

#define VMBUS_HB_MAX_PAGES 64

struct vmbus_hb;

/* synic is borrowed and must outlive the device. */
int vmbus_hb_new(struct hv_synic *synic, struct vmbus_hb **ret);
struct vmbus_hb *vmbus_hb_free(struct vmbus_hb *hb);
/* pages[0, npages): the ring GPADL mapped in the worker (borrowed until close); pages
 * [0, downstream_page) are the guest->host ring. Returns 0 or -errno (-EBUSY if open). */
int vmbus_hb_open(struct vmbus_hb *hb, uint32_t relid, void *const *pages, uint32_t npages,
		  uint32_t downstream_page, uint32_t event_conn_id, uint32_t target_vp);
void vmbus_hb_close(struct vmbus_hb *hb);

#endif
