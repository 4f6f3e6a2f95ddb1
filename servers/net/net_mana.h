/* SPDX-License-Identifier: MIT */
/*
 * The MANA backend: mhcl's own MANA driver (lib/mana) on a device reached through
 * lib/devaccess, queue i serving channel i.
 *
 * SPEC names the device: `vfio-user:PATH` (a device in another process; on these
 * machines the GDMA/MANA test device, tests/devices/gdma/mhcl-gdma-emu) or a PCI address
 * bound to vfio-pci (no MANA hardware here: not exercised).
 *
 * Frames are copied through the driver's bounce buffers (the guest's pages are not
 * mapped for this device). Checksum offload goes to the device; segmentation offload is
 * not offered to the guest with this backend.
 *
 * Keepalive. The driver's memfd (its state page and every byte the device uses) lives in
 * init's fd store as "mana-mem"; with VFIO the container, group and device fds too
 * ("mana-ctr", "mana-grp", "mana-dev": vfio-pci resets the function when the last device
 * fd closes), when the jail allows adopting them. A vfio-user socket is not kept: each instance connects afresh (a socket a
 * killed predecessor left mid-request would answer it with a stale reply) and the device
 * keeps its state while no client is there. The next netd adopts the running function
 * (mana_dev_adopt: no HWC command, no reset) instead of bringing it up. A kept state that
 * does not adopt is dropped from the store and netd exits: the instance after it brings
 * the function up afresh.
 */
#ifndef MHCL_NET_NET_MANA_H
#define MHCL_NET_NET_MANA_H

#include <stdbool.h>

#include "inspect.h"
#include "net_backend.h"

struct net_mana;
struct srv;

/* Before the jail: connects to the device, and brings it up unless init keeps the state
 * of a function an earlier instance left running (net_mana_attach adopts that one). Up to
 * nqueues queue pairs (the device may grant fewer: see the backend's nqueues). A VFIO
 * function is kept only with vfio_keepalive (the jail allows what adopting it takes:
 * VFIO ioctls and config-space reads); without, each instance brings it up again. */
int net_mana_open(const char *spec, unsigned nqueues, bool vfio_keepalive, struct net_mana **ret);
/* From ops->restore (init's fd store is there): adopts the kept function, or hands the
 * fresh one's memfd (and VFIO fds) to the store. 0 or -errno (logged). */
int net_mana_attach(struct net_mana *m, struct srv *s);
struct net_backend *net_mana_backend(struct net_mana *m);
/* The MAC the device reports. */
void net_mana_mac(const struct net_mana *m, uint8_t mac[6]);
bool net_mana_adopted(const struct net_mana *m);
/* mana/: adopted_live, the driver's counters. */
void net_mana_inspect(const struct net_mana *m, struct inspect_tree *t, Mhcl__Node *dir);
void net_mana_free(struct net_mana *m);

#endif
