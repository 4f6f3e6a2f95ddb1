/* SPDX-License-Identifier: MIT */
#include "disk_internal.h"

#include <errno.h>

static bool blocks_inside(const struct disk *d, uint64_t lba, uint32_t nblocks)
{
	return nblocks <= d->info.nblocks && lba <= d->info.nblocks - nblocks;
}

int disk__req_check(const struct disk *d, const struct disk_req *r, uint64_t *ret_bytes)
{
	uint64_t need, sum = 0;

	switch (r->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		if (!blocks_inside(d, r->lba, r->nblocks) || (r->iovcnt && !r->iov))
			return -EINVAL;
		need = (uint64_t)r->nblocks * d->info.block_size;
		/* Each step is bounded by what is still missing, so the sum cannot wrap. */
		for (unsigned i = 0; i < r->iovcnt; i++) {
			if (r->iov[i].iov_len > need - sum)
				return -EINVAL;
			sum += r->iov[i].iov_len;
		}
		if (sum != need)
			return -EINVAL;
		*ret_bytes = need;
		return 0;
	case DISK_OP_FLUSH:
		*ret_bytes = 0;
		return 0;
	case DISK_OP_DISCARD:
		if (r->nranges > DISK_MAX_DISCARD_RANGES || (r->nranges && !r->ranges))
			return -EINVAL;
		for (uint32_t i = 0; i < r->nranges; i++)
			if (!blocks_inside(d, r->ranges[i].lba, r->ranges[i].nblocks))
				return -EINVAL;
		*ret_bytes = 0;
		return 0;
	}
	return -EINVAL;
}

void disk__stats_inspect(struct disk_stats *shared, struct inspect_tree *t, Mhcl__Node *dir)
{
	inspect_u64(t, dir, "requests", __atomic_load_n(&shared->requests, __ATOMIC_RELAXED));
	inspect_u64(t, dir, "bytes", __atomic_load_n(&shared->bytes, __ATOMIC_RELAXED));
	inspect_u64(t, dir, "errors", __atomic_load_n(&shared->errors, __ATOMIC_RELAXED));
}
