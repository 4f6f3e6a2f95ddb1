/* SPDX-License-Identifier: MIT */
/*
 * mhcl-storaged's NVMe controllers: brought up once, then kept alive across every restart
 * of the server.
 *
 *   stor_nvme_open     before the jail: opens the function through VFIO. If it can, nobody
 *                      holds the controller: it is brought up from scratch (reset,
 *                      Identify, queues). If its IOMMU group is busy, the previous instance's
 *                      fds are in init's fd store: adopt it after READY.
 *   stor_nvme_attach   after READY: adopts the controller from init's fd store (no reset,
 *                      no Identify, no queue creation; commands the last instance left in
 *                      flight drain first), or hands a fresh one's fds to the store.
 *   stor_nvme_disk     a disk.h backend for one of its namespaces.
 *
 * The store holds, per controller, the VFIO container, group and device fds (vfio-pci
 * resets the function only when the last device fd closes) and the driver's state memfd.
 * Guest RAM is mapped for the device at IOVA = GPA + STOR_NVME_GUEST_IOVA; the driver's own
 * memory at STOR_NVME_STATE_IOVA.
 */
#ifndef MHCL_STORAGE_STOR_NVME_H
#define MHCL_STORAGE_STOR_NVME_H

#include <stdbool.h>
#include <stdint.h>

#include "disk.h"
#include "inspect.h"
#include "server.h"

#define STOR_NVME_GUEST_IOVA 0x1000000000ull /* 64 GiB: guest physical 0 */
#define STOR_NVME_STATE_IOVA 0x4000000000ull /* 256 GiB, inside a 39-bit IOMMU */
#define STOR_NVME_QUEUE_DEPTH 256u

struct stor_nvme;

/* pci: "0000:00:04.0"; index: its number in this server (fd store names);
 * nqueues: I/O queue pairs wanted. */
int stor_nvme_open(const char *pci, unsigned index, unsigned nqueues, struct stor_nvme **ret);
int stor_nvme_attach(struct stor_nvme *n, struct srv *s);
/* A disk on namespace nsid; ro forces read only. */
int stor_nvme_disk(struct stor_nvme *n, uint32_t nsid, bool ro, struct disk **ret);
const char *stor_nvme_pci(const struct stor_nvme *n);
void stor_nvme_inspect(struct stor_nvme *n, struct inspect_tree *t, Mhcl__Node *dir);
/* Lets go of the controller: it keeps running for the next instance. */
void stor_nvme_close(struct stor_nvme *n);

#endif
