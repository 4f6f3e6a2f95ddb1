/* SPDX-License-Identifier: MIT */
/*
 * One synthetic SCSI controller: its VMBus channels (the primary and the sub-channels the
 * guest asked for), its LUNs, and every request in flight.
 *
 * Each channel takes requests from its own ring into its own slots, runs them on its own
 * queue of each LUN's disk and completes them on the ring they came from; channels share
 * nothing but the LUN table (read only) and counters. The slots live in the
 * crash-consistent state (stor_state.h), so a restarted server finishes what the last
 * one took.
 */
#ifndef MHCL_STORAGE_STOR_CTRL_H
#define MHCL_STORAGE_STOR_CTRL_H

#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "busy_poll.h"
#include "defs/vmbus_defs.h"
#include "disk.h"
#include "inspect.h"
#include "scsi_disk.h"
#include "stor_state.h"
#include "vmbusdev.h"

#define STOR_MAX_LUNS 64u

/* A LUN: a disk and what the guest is told about it. */
struct stor_lun {
	uint8_t lun;
	struct disk *disk; /* owned by the caller */
	struct scsi_disk scsi;
	char backend[128]; /* what it is served from, for inspect */
	bool absent;	   /* declared detached (used when the state is fresh) */
};

struct stor_ctrl;

/*
 * A controller numbered index (its instance GUID derives from it) with the state record
 * rec (fresh: zeroed; adopted: as the last instance left it). Offers nothing yet. Its
 * channels are polled through poll (the server's one per loop) while busy.
 */
int stor_ctrl_new(struct vmbusdev *v, uv_loop_t *loop, struct busy_poll *poll, unsigned index,
		  struct stor_ctrl_rec *rec, uint16_t max_subchannels, struct stor_ctrl **ret);
/* Adds a LUN (before stor_ctrl_offer). l is copied. */
int stor_ctrl_add_lun(struct stor_ctrl *c, const struct stor_lun *l);
/* Describes the primary channel and every sub-channel the record says was granted to
 * lib/vmbusdev (before vmbusdev_register, so vmbusd hands open ones back). */
int stor_ctrl_offer(struct stor_ctrl *c);
/* Attaches (present) or detaches a declared LUN and asks the guest to rescan the bus (on
 * the primary channel, once initialized). -ENOENT for a LUN not declared. */
int stor_ctrl_set_present(struct stor_ctrl *c, unsigned lun, bool present, bool *changed,
			  bool *rescan);
/* Stop taking requests (a planned stop); in-flight ones still complete. */
void stor_ctrl_quiesce(struct stor_ctrl *c);
/* Requests taken and not yet completed to the guest. */
unsigned stor_ctrl_inflight(const struct stor_ctrl *c);
/* Called once inflight drops to 0 after stor_ctrl_quiesce. */
void stor_ctrl_on_idle(struct stor_ctrl *c, void (*fn)(void *opaque), void *opaque);
void stor_ctrl_inspect(const struct stor_ctrl *c, struct inspect_tree *t, Mhcl__Node *dir);
/* The channels must be closed (vmbusdev_free ran) or never opened. */
void stor_ctrl_free(struct stor_ctrl *c);

#endif
