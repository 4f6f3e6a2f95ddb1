/* SPDX-License-Identifier: MIT */
/*
 * One synthetic NIC: its VMBus channels (the primary and the vRSS sub-channels the guest
 * asked for), the NVSP/RNDIS protocol state, the guest's receive and send buffers, and
 * the data path between the channels and the backend's queues (channel i sends on queue
 * i; queue i receives into channel i, or into the primary while channel i is not open).
 *
 * Everything a restart must not lose lives in struct net_state (net_state.h), in the
 * memfd init keeps; the backend's queues live in init's fd store too.
 */
#ifndef MHCL_NET_NET_NIC_H
#define MHCL_NET_NET_NIC_H

#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "busy_poll.h"
#include "inspect.h"
#include "net_capture.h"
#include "net_state.h"
#include "net_backend.h"
#include "rndis.h"
#include "vmbusdev.h"

struct net_nic_config {
	struct rndis_config rndis;
	unsigned index;		  /* the NIC's number (its instance GUID derives from it) */
	unsigned max_subchannels; /* vRSS sub-channels granted at most */
	unsigned rx_batch;	  /* frames per backend read at most (1..NET_RX_BATCH_MAX) */
};

struct net_nic;

/* A NIC over backend be (borrowed) with state st (fresh: zeroed; adopted: as the last
 * instance left it), its channels polled while busy through poll (borrowed). Offers
 * nothing yet. */
int net_nic_new(struct vmbusdev *v, uv_loop_t *loop, struct busy_poll *poll,
		const struct net_nic_config *cfg, struct net_state *st, struct net_backend *be,
		struct net_nic **ret);
/* Describes the primary channel and every sub-channel the state says was granted
 * (before vmbusdev_register, so vmbusd hands open ones back). */
int net_nic_offer(struct net_nic *n);
/* Frames both ways are offered to c while it is armed (NULL: never). */
void net_nic_set_capture(struct net_nic *n, struct net_capture *c);
/* Stops moving packets (a planned stop): frames wait in the backend's queues and guest
 * packets in the rings for the next instance. */
void net_nic_quiesce(struct net_nic *n);
void net_nic_inspect(const struct net_nic *n, struct inspect_tree *t, Mhcl__Node *dir);
/* The channels must be closed (vmbusdev_free ran) or never opened. */
void net_nic_free(struct net_nic *n);

#endif
