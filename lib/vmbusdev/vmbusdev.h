/* SPDX-License-Identifier: MIT */
/*
 * The device half of VMBus channels, for device servers (mhcl-icd today; storage and
 * net next). One struct vmbusdev is a server's connection to mhcl-vmbusd's device
 * socket; each struct vmbusdev_chan is one channel offer on it.
 *
 *   vmbusdev_connect()      before the jail: connect to vmbusd
 *   vmbusdev_chan_new()     describe a channel (DeviceOffer fields) and its callbacks
 *   vmbusdev_register()     after READY's restore: send every offer to vmbusd
 *
 * When the guest opens a channel, vmbusd sends VmbusdChannelOpen: the ring's PFNs, guest RAM
 * (memfd + layout, mapped through lib/guestmem, which refuses unsealed memfds), the
 * doorbell eventfd the partition signals on the guest's HvSignalEvent, and the target
 * VP's SINT irqfd with its SIEFP page. The library checks every PFN, builds the ring
 * pair (lib/ring), watches the doorbell on the server's libuv loop and calls ops->open;
 * a device interrupts the guest with vmbusdev_chan_signal() (relid's flag in the SIEFP
 * page, then the irqfd). VmbusdChannelClose calls ops->close and is answered once the rings
 * are no longer used. The guest's MODIFYCHANNEL arrives as VmbusdChannelModify with the new
 * target VP's irqfd; vmbusdev_chan_signal() uses it from then on.
 *
 * Restart: after this server restarts, vmbusd hands each channel that was open to the
 * new instance as VmbusdChannelOpen{resume}: the rings are adopted as they stand in guest RAM
 * (ops->open with resume = true) and nothing is renegotiated. Whatever the device needs
 * beyond the rings must be in crash-consistent memory (see srv_fd_store()).
 */
#ifndef MHCL_LIB_VMBUSDEV_H
#define MHCL_LIB_VMBUSDEV_H

#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "guestmem.h"
#include "inspect.h"
#include "vmbus.pb-c.h"
#include "vmbus_ring.h"

#define VMBUSDEV_MAX_CHANNELS 64u
#define VMBUSDEV_MAX_RING_PAGES 1024u
#define VMBUSDEV_MAX_VPS 64u
#define VMBUSDEV_MAX_GPADLS 32u		/* per channel */
#define VMBUSDEV_MAX_GPADL_PAGES 16384u /* 64 MiB, as vmbusd allows */

struct vmbusdev;
struct vmbusdev_chan;

struct vmbusdev_chan_ops {
	/* The rings are ready: the guest opened the channel (resume = false) or an open
	 * channel is handed to this instance (resume = true: do not start the protocol
	 * anew). Return 0, or -errno with *why set to refuse (the guest's open fails). */
	int (*open)(struct vmbusdev_chan *c, bool resume, void *opaque, const char **why);
	/* The guest signalled the channel (also called once right after open). */
	void (*signaled)(struct vmbusdev_chan *c, void *opaque);
	/* Stop using the rings (guest close, rescind, the partition went away). */
	void (*close)(struct vmbusdev_chan *c, void *opaque);
	/* Optional. GPADL id goes away: stop using its pages before returning. */
	void (*gpadl_removed)(struct vmbusdev_chan *c, uint32_t id, void *opaque);
};

/* A GPADL of a channel, as vmbusd described it (the PFNs are checked when mapped). */
struct vmbusdev_gpadl {
	uint32_t id;
	uint32_t byte_offset, byte_count; /* its one range (Linux and Windows use one) */
	uint32_t npfns;
	uint64_t *pfns;
};

/* vmbusd went away (lost = true) or the connection was closed on request. */
typedef void (*vmbusdev_lost_fn)(struct vmbusdev *v, int reason, void *opaque);

/* A vmbusd that is restarting (its socket refused or not there yet) is waited for up to
 * VMBUSDEV_CONNECT_WAIT_MS: a device server restarted with it would otherwise exit at
 * once, and a loaded machine's few refused tries count towards init's crash loop. */
#define VMBUSDEV_CONNECT_WAIT_MS 3000
int vmbusdev_connect(uv_loop_t *loop, const char *path, vmbusdev_lost_fn lost, void *opaque,
		     struct vmbusdev **ret);
/* As vmbusdev_connect() on an already connected SOCK_SEQPACKET fd (taken in every case). */
int vmbusdev_attach(uv_loop_t *loop, int fd, vmbusdev_lost_fn lost, void *opaque,
		    struct vmbusdev **ret);
/* Stops every channel and closes the connection; v is freed once the loop has run
 * the close (call it before the last uv_run). */
void vmbusdev_free(struct vmbusdev *v);
/* The same, but the guest RAM mapping moves to *ret, for the caller to release with
 * guestmem_release(): a server that hands over to its next instance unmaps after that
 * (tens of ms for a large guest) instead of before. */
void vmbusdev_free_keep_ram(struct vmbusdev *v, struct guestmem *ret);

/* Describes one channel; offer is copied (offer_id is assigned here). After
 * vmbusdev_register() the offer goes to vmbusd at once: sub-channels a guest asks for. */
int vmbusdev_chan_new(struct vmbusdev *v, const Mhcl__Vmbus__DeviceOffer *offer,
		      const struct vmbusdev_chan_ops *ops, void *opaque,
		      struct vmbusdev_chan **ret);
/* Sends every described offer to vmbusd (once). */
int vmbusdev_register(struct vmbusdev *v);

bool vmbusdev_chan_is_open(const struct vmbusdev_chan *c);
struct vmbus_ring *vmbusdev_chan_in(struct vmbusdev_chan *c);
struct vmbus_ring *vmbusdev_chan_out(struct vmbusdev_chan *c);
uint32_t vmbusdev_chan_relid(const struct vmbusdev_chan *c);
/* Guest RAM as the channel's open mapped it (valid while the channel is open): what a
 * device reads and writes for GPA-direct packets (storvsc's data buffers). */
const struct guestmem *vmbusdev_chan_guestmem(const struct vmbusdev_chan *c);
/* Interrupts the guest for this channel. 0 or -errno (counted either way). */
int vmbusdev_chan_signal(struct vmbusdev_chan *c);

/* The channel's GPADL id (beyond the ring: netvsc's buffers), or NULL. */
const struct vmbusdev_gpadl *vmbusdev_chan_gpadl(const struct vmbusdev_chan *c, uint32_t id);
/* An iovec for bytes [offset, offset + len) of GPADL g in guest RAM (see guestmem_iov:
 * every page checked). Returns the entries used or -errno. */
int vmbusdev_gpadl_iov(const struct vmbusdev_chan *c, const struct vmbusdev_gpadl *g,
		       uint64_t offset, uint64_t len, struct iovec *iov, size_t max);

void vmbusdev_inspect(const struct vmbusdev *v, struct inspect_tree *t, Mhcl__Node *dir);
void vmbusdev_chan_inspect(const struct vmbusdev_chan *c, struct inspect_tree *t, Mhcl__Node *dir);

#endif
