/* SPDX-License-Identifier: MIT */
/*
 * The NVMe backend of disk.h: one namespace of a controller lib/nvme drives.
 *
 * Each disk_queue submits to one of the controller's I/O queue pairs (round robin when
 * there are more disk queues than pairs; a pair may then serve several queues, of this
 * disk or others on the same controller, on any loops). Guest data moves by DMA straight
 * from and to guest RAM: disk_map_guest() maps every RAM range at IOVA = GPA + base, and
 * requests go to the device as their guest pages (disk_req.pfns), each checked against
 * the mapped layout, so a guest page number can never reach the driver's own memory.
 */
#ifndef MHCL_STORAGE_DISK_NVME_H
#define MHCL_STORAGE_DISK_NVME_H

#include <stdbool.h>
#include <stdint.h>

#include "disk.h"

struct devaccess;
struct nvme_ctrl;

struct disk_nvme_opts {
	struct nvme_ctrl *ctrl; /* borrowed: outlives the disk */
	struct devaccess *da;	/* borrowed: guest RAM is mapped for DMA through it */
	uint32_t nsid;
	uint64_t guest_iova_base; /* IOVA of guest physical 0; page aligned */
	bool read_only;
	/* After a restart: the container still holds the previous instance's mapping of
	 * guest RAM, with the same layout, so an existing mapping (-EEXIST) is taken as it. */
	bool adopted;
};

/* A disk on namespace o->nsid. -ENXIO when the controller has no such namespace. */
int disk_nvme_open(const struct disk_nvme_opts *o, struct disk **ret);

#endif
