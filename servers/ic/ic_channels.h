/* SPDX-License-Identifier: MIT */
/*
 * One integration component (heartbeat, shutdown) over a channel of lib/vmbusdev:
 * mhcl-icd runs one per component. The protocol state (struct vmbus_ic: negotiated
 * versions, heartbeat sequence, the request in flight) lives where the caller puts it:
 * in icd's crash-consistent state memfd, so that a restarted icd adopts an open channel
 * without negotiating again and the heartbeat sequence keeps climbing. The ring protocol
 * is vmbus_ic_* (ic.h) over lib/ring.
 */
#ifndef MHCL_IC_IC_CHANNELS_H
#define MHCL_IC_IC_CHANNELS_H

#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <stdint.h>
#include <uv.h>

#include "ic.h"
#include "inspect.h"

/* Heartbeats an adopted request may go unanswered before it is given up. */
#define IC_CHAN_STALE_BEATS 5u

struct ic_chan;
struct vmbusdev_chan;

/* The shutdown IC got the guest's answer to ic_chan_shutdown() (status 0 = accepted), or
 * the channel closed first (status -ECONNRESET). */
typedef void (*ic_shutdown_done_fn)(void *opaque, int status, uint32_t guest_status);

/* state: borrowed, must outlive the channel (crash-consistent memory). */
int ic_chan_new(enum vmbus_ic_kind kind, struct vmbus_ic *state, ic_shutdown_done_fn shutdown_done,
		void *opaque, struct ic_chan **ret);
void ic_chan_free(struct ic_chan *c);

/* lib/vmbusdev callbacks: the rings are ready (resume: adopt, else negotiate), the guest
 * signalled, the channel closed. */
int ic_chan_opened(struct ic_chan *c, struct vmbusdev_chan *dev, bool resume);
void ic_chan_signaled(struct ic_chan *c);
void ic_chan_closed(struct ic_chan *c);

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
