/* SPDX-License-Identifier: MIT */
/*
 * What the backends behind disk.h share: the request check every submit runs first, and
 * the counters inspect shows. Not for the SCSI layer.
 */
#ifndef MHCL_STORAGE_DISK_INTERNAL_H
#define MHCL_STORAGE_DISK_INTERNAL_H

#include <stdint.h>

#include "disk.h"

/*
 * Checks r against d (borrowed, nothing kept): a known op; READ/WRITE inside the disk with
 * an iov of exactly nblocks * block_size bytes; DISCARD with at most DISK_MAX_DISCARD_RANGES
 * ranges, each inside the disk. Stores the data bytes (0 but for READ/WRITE) in *ret_bytes.
 * Returns 0 or -EINVAL.
 */
int disk__req_check(const struct disk *d, const struct disk_req *r, uint64_t *ret_bytes);

/*
 * Completion counters. A queue counts into its own copy on its loop (no atomics per
 * request) and adds that copy to the disk's shared one once per batch, since a disk's
 * queues may run on different threads while inspect reads from yet another.
 */
struct disk_stats {
	uint64_t requests; /* completed: done called */
	uint64_t bytes;	   /* of READ and WRITE requests that succeeded */
	uint64_t errors;   /* completed with err != 0 */
};

static inline void disk_stats_count(struct disk_stats *local, int err, uint64_t bytes)
{
	local->requests++;
	if (err)
		local->errors++;
	else
		local->bytes += bytes;
}

/* Adds local to shared and clears local. */
static inline void disk_stats_flush(struct disk_stats *shared, struct disk_stats *local)
{
	if (!local->requests)
		return;
	__atomic_fetch_add(&shared->requests, local->requests, __ATOMIC_RELAXED);
	__atomic_fetch_add(&shared->bytes, local->bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&shared->errors, local->errors, __ATOMIC_RELAXED);
	*local = (struct disk_stats){0};
}

/* requests, bytes and errors under dir. */
void disk__stats_inspect(struct disk_stats *shared, struct inspect_tree *t, Mhcl__Node *dir);

#endif
