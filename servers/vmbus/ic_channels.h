/* SPDX-License-Identifier: MIT */
/*
 * One integration component (heartbeat, shutdown) served over its ring on a libuv loop;
 * mhcl-icd (servers/ic) runs one per component. The caller supplies what vmbusd's
 * ChannelOpen handed it: the ring pages (mapped from the guest RAM memfd), the doorbell
 * eventfd the partition signals on the guest's HvSignalEvent, and a way to interrupt the
 * guest (ic_signal_fn: set the relid's flag in the target VP's SIEFP page and write that
 * VP's SINT irqfd). The ring protocol is vmbus_ic_* (ic.h) over lib/ring.
 */
#ifndef MHCL_VMBUS_IC_CHANNELS_H
#define MHCL_VMBUS_IC_CHANNELS_H

#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <stdint.h>
#include <uv.h>

#include "ic.h"
#include "inspect.h"

#define IC_CHAN_MAX_PAGES 64

struct ic_chan;

/* Interrupts the guest for relid on VP vp. Returns 0 or -errno. */
typedef int (*ic_signal_fn)(void *opaque, uint32_t vp, uint32_t relid);
/* The shutdown IC got the guest's answer to ic_chan_shutdown() (status 0 = accepted), or
 * the channel closed first (status -ECONNRESET). */
typedef void (*ic_shutdown_done_fn)(void *opaque, int status, uint32_t guest_status);

struct ic_chan_open {
	uint32_t relid, target_vp;
	void *pages[IC_CHAN_MAX_PAGES]; /* the ring GPADL, borrowed until ic_chan_close */
	uint32_t npages, downstream_page;
	int doorbell_fd; /* taken (closed by the channel) */
};

int ic_chan_new(uv_loop_t *loop, enum vmbus_ic_kind kind, ic_signal_fn signal,
		ic_shutdown_done_fn shutdown_done, void *opaque, struct ic_chan **ret);
/* Closes an open channel; the object is freed once libuv released its handles. */
void ic_chan_free(struct ic_chan *c);

/* Starts serving the channel: negotiation first. Returns 0 or -errno (-EBUSY if open);
 * the doorbell fd is taken either way. */
int ic_chan_open(struct ic_chan *c, const struct ic_chan_open *o);
/* Stops using the rings (guest close, rescind, or the worker went away). */
void ic_chan_close(struct ic_chan *c);

bool ic_chan_is_open(const struct ic_chan *c);
const struct vmbus_ic *ic_chan_state(const struct ic_chan *c);

/* Heartbeat: sends the next request if negotiated and none is outstanding. 0, -EAGAIN or
 * -ENOTCONN. */
int ic_chan_heartbeat(struct ic_chan *c);
/* Shutdown: asks the guest to power off (or restart). 0 (answer through shutdown_done),
 * -ENOTCONN before negotiation, -EBUSY while a request waits, -EOPNOTSUPP. */
int ic_chan_shutdown(struct ic_chan *c, bool reboot, const char *message);

void ic_chan_inspect(const struct ic_chan *c, struct inspect_tree *t, Mhcl__Node *dir);

#endif
