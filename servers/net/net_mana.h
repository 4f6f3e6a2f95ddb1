/* SPDX-License-Identifier: MIT */
/*
 * The MANA backend: mhcl's own MANA driver (lib/mana) on a device reached through
 * lib/devaccess, queue i serving channel i. Set up before the jail.
 *
 * SPEC names the device: `vfio-user:PATH` (a device in another process; on these
 * machines the GDMA/MANA test device, tests/devices/gdma/mhcl-gdma-emu) or a PCI address
 * bound to vfio-pci (no MANA hardware here: not exercised).
 *
 * Frames are copied through the driver's bounce buffers (the guest's pages are not
 * mapped for this device). Checksum offload goes to the device; segmentation offload is
 * not offered to the guest with this backend. No keepalive yet: lib/mana cannot adopt a
 * running function, so a restarted netd cannot serve a MANA backend again.
 */
#ifndef MHCL_NET_NET_MANA_H
#define MHCL_NET_NET_MANA_H

#include "net_backend.h"

struct net_mana;

/* Opens and brings up the device with up to nqueues queue pairs (the device may grant
 * fewer: see the backend's nqueues). 0 or -errno. */
int net_mana_open(const char *spec, unsigned nqueues, struct net_mana **ret);
struct net_backend *net_mana_backend(struct net_mana *m);
/* The MAC the device reports. */
void net_mana_mac(const struct net_mana *m, uint8_t mac[6]);
void net_mana_free(struct net_mana *m);

#endif
