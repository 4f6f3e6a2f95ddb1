/* SPDX-License-Identifier: MIT */
/*
 * The VMBus control plane's state as an inspect tree (lib/server/inspect.h),
 * for the server's InspectRequest handler and `mhcl inspect vmbus`:
 *
 *   connection/{state, version, target_vp, offers_requested, channels, gpadls,
 *               messages_in, messages_out, dropped, last_error}
 *   channels/<relid>/{class, instance, subchannel, state, offered, rescinded,
 *                     target_vp, ring_gpadl, event_conn_id, last_error,
 *                     counters/{messages, opens, ...}}
 *   gpadls/<id in hex>/{relid, state, ranges, pages, ring_in_use}
 */
#ifndef MHCL_VMBUS_INSPECT_H
#define MHCL_VMBUS_INSPECT_H

#include "inspect.h"
#include "vmbus.h"

/* Adds the three directories under parent (NULL = the tree root). Nodes are
 * owned by the tree; s is only read. */
void vmbus_host_inspect_tree(const struct vmbus_host *s, struct inspect_tree *t,
			     Mhcl__Node *parent);

#endif
