/* SPDX-License-Identifier: MIT */
/* mhcl-vmbusd's state: one worker connection (the partition), the VMBus control plane on
 * top of it, and the device servers that own its channels. See main.c for the split. */
#ifndef MHCL_VMBUSD_H
#define MHCL_VMBUSD_H

#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <uv.h>

#include "ipc.h"
#include "server.h"

struct vmbusd;

/* listen_fd: a listening SOCK_SEQPACKET unix socket for mhcl-vp; dev_listen_fd: one for
 * device servers (both taken). Both -1: no listeners, peers come only through
 * vmbusd_attach_*() (the fuzz target). srv may be NULL. */
int vmbusd_new(uv_loop_t *loop, struct srv *srv, int listen_fd, int dev_listen_fd,
	       struct vmbusd **ret);
void vmbusd_free(struct vmbusd *d);
/* Starts taking the worker and devices on the listeners, once the state an earlier
 * vmbusd recorded is in (a worker that reattaches first would find none). */
int vmbusd_listen(struct vmbusd *d);

/* How long a device server that left keeps its channels (offered and open in the
 * guest) for its next instance to adopt; 0 rescinds them at once. */
void vmbusd_set_device_grace(struct vmbusd *d, uint32_t ms);

/* What each device server may offer, by its connection's peer uid (copied; the default
 * is unrestricted with VMBUSD_DEFAULT_OFFER_QUOTA). Set before vmbusd_listen(). */
struct vmbusd_policy;
void vmbusd_set_policy(struct vmbusd *d, const struct vmbusd_policy *p);
/* --trace-guest-messages: logs every message the guest posts (with the status it got) and
 * every message vmbusd sends it, rate limited generously. Off by default. */
void vmbusd_set_trace(struct vmbusd *d, bool on);

/* Where vmbusd records its state after every change (taken; made before the jail). */
struct vmbusd_store;
void vmbusd_set_store(struct vmbusd *d, struct vmbusd_store *st);
/* The store an earlier vmbusd left in init's fd store (fd taken): it replaces the fresh
 * one, and its record is taken over when the worker reattaches. */
int vmbusd_adopt_store(struct vmbusd *d, int fd);

/* Takes a connected SOCK_SEQPACKET fd (taken in every case) as the worker, or as one
 * more device server: what the listeners do after accept(). -EBUSY: a worker is already
 * attached; -ENOSPC: the device table is full; -EPERM: the policy names uids and not the
 * device's peer uid (or it has none). */
int vmbusd_attach_worker(struct vmbusd *d, int fd);
int vmbusd_attach_device(struct vmbusd *d, int fd);

/* srv_ops hooks. */
void vmbusd_inspect(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque);
void vmbusd_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque);
void vmbusd_stop(struct srv *s, void *opaque);

#endif
