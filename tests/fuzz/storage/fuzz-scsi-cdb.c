/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'scsi-cdb': a guest's CDB, transfer length and parameter list run against
 * the SCSI disk emulation on four disks. Whatever the input, the outcome must be one the
 * caller can act on without further checks: DATA-IN within min(buf_len, xfer_len), sense
 * present exactly with CHECK CONDITION, and every I/O inside the disk, within the limits,
 * allowed on it, and moving exactly xfer_len bytes.
 *
 * Input layout (little-endian):
 *   0  u8  cdb_len (mod 17)
 *   1  u8  bit 0: hand over the parameter list even when not asked; bits 5-7: io error
 *   2  u32 xfer_len
 *   6  u16 buf_len (mod SCSI_DATA_IN_MAX + 1)
 *   8  16 bytes of CDB
 *   24..   parameter list bytes (what the guest's DATA-OUT buffer holds)
 * The buffer and the parameter list are heap blocks of exactly their sizes, so ASan
 * catches any access past them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scsi_disk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR 24u

static const struct scsi_disk disks[] = {
    /* thin and cached, with a transfer limit */
    {.nblocks = 1000,
     .block_size = 512,
     .max_transfer_blocks = 128,
     .can_unmap = true,
     .write_cache = true,
     .vendor = "Msft",
     .product = "Virtual Disk",
     .revision = "1.0",
     .serial = "fuzz",
     .naa = {0x60, 1, 2, 3, 4, 5, 6, 7},
     .naa_len = 8},
    /* read only and huge */
    {.nblocks = 1ull << 33, .block_size = 4096, .read_only = true, .vendor = "mhcl"},
    /* as large as a disk can say: every lba + count must be checked without wrapping */
    {.nblocks = UINT64_MAX, .block_size = 512, .can_unmap = true, .vendor = "mhcl"},
    /* one block */
    {.nblocks = 1,
     .block_size = 4096,
     .max_transfer_blocks = 1,
     .can_unmap = true,
     .vendor = "mhcl"},
};

static const int io_errors[8] = {0, -EIO, -EROFS, -ENOSPC, -EINVAL, -ENOMEM, -EAGAIN, 0};

static bool in_disk(const struct scsi_disk *d, uint64_t lba, uint64_t n)
{
	return lba <= d->nblocks && n <= d->nblocks - lba;
}

/* DONE: GOOD with at most limit bytes (DATA-IN only when the command is IN), or CHECK
 * CONDITION with fixed sense and nothing moved. */
static void check_done(const struct scsi_exec *out, bool data_in, size_t limit)
{
	if (out->kind != SCSI_EXEC_DONE)
		abort();
	if (out->status == SCSI_STATUS_GOOD) {
		if (out->sense_len != 0 || out->data_len > limit || (out->data_len && !data_in))
			abort();
		return;
	}
	if (out->status != SCSI_STATUS_CHECK_CONDITION || out->sense_len != SCSI_SENSE_LEN ||
	    out->data_len != 0 || out->sense[0] != 0x70 || out->sense[7] != 10 ||
	    (out->sense[2] & 0xF0) || out->sense[2] == 0 || out->sense[12] == 0)
		abort();
}

static void check_io(const struct scsi_disk *d, const struct scsi_exec *out, enum scsi_dir dir,
		     uint32_t xfer_len)
{
	if (out->status != SCSI_STATUS_GOOD || out->sense_len != 0)
		abort();
	switch (out->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		if (out->nblocks == 0 || !in_disk(d, out->lba, out->nblocks) ||
		    (d->max_transfer_blocks && out->nblocks > d->max_transfer_blocks) ||
		    (uint64_t)out->nblocks * d->block_size != xfer_len || out->data_len != xfer_len)
			abort();
		if (out->op == DISK_OP_WRITE ? d->read_only || dir != SCSI_DIR_OUT
					     : out->fua || dir != SCSI_DIR_IN)
			abort();
		break;
	case DISK_OP_FLUSH:
		if (d->read_only || out->data_len != 0)
			abort();
		break;
	case DISK_OP_DISCARD: {
		uint64_t total = 0;
		if (!d->can_unmap || d->read_only || out->data_len != 0 || out->nranges == 0 ||
		    out->nranges > SCSI_MAX_UNMAP_RANGES)
			abort();
		for (uint32_t i = 0; i < out->nranges; i++) {
			if (out->ranges[i].nblocks == 0 ||
			    !in_disk(d, out->ranges[i].lba, out->ranges[i].nblocks))
				abort();
			total += out->ranges[i].nblocks;
		}
		if (total > SCSI_MAX_UNMAP_BLOCKS)
			abort();
		break;
	}
	default:
		abort();
	}
}

static void run(const struct scsi_disk *d, const uint8_t *cdb, size_t cdb_len, uint32_t xfer_len,
		const uint8_t *list, size_t list_len, bool force_params, size_t buf_len, int io_err)
{
	bool needs_params;
	enum scsi_dir dir = scsi_cdb_dir(cdb, cdb_len, &needs_params);
	/* What storvsp copies in: at most the transfer and SCSI_PARAM_MAX. */
	size_t params_len = 0;
	uint8_t *params = NULL;
	if (needs_params || force_params) {
		params_len = list_len;
		if (params_len > xfer_len)
			params_len = xfer_len;
		if (params_len > SCSI_PARAM_MAX)
			params_len = SCSI_PARAM_MAX;
		params = malloc(params_len ? params_len : 1);
		memcpy(params, list, params_len);
	}
	uint8_t *buf = buf_len ? malloc(buf_len) : NULL;
	struct scsi_exec *out = malloc(sizeof(*out));
	memset(out, 0xA5, sizeof(*out));

	scsi_disk_exec(d, cdb, cdb_len, xfer_len, params, params_len, buf, buf_len, out);
	if (out->kind == SCSI_EXEC_IO) {
		check_io(d, out, dir, xfer_len);
		uint32_t moved = out->data_len;
		scsi_disk_io_done(out, io_err);
		check_done(out, true, moved);
		if (out->status == SCSI_STATUS_GOOD ? io_err != 0 || out->data_len != moved
						    : io_err == 0)
			abort();
	} else {
		check_done(out, dir == SCSI_DIR_IN, buf_len < xfer_len ? buf_len : xfer_len);
	}

	free(out);
	free(buf);
	free(params);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;

	size_t cdb_len = data[0] % 17u;
	bool force_params = data[1] & 1u;
	int io_err = io_errors[data[1] >> 5];
	uint32_t xfer_len;
	uint16_t buf16;
	memcpy(&xfer_len, data + 2, 4);
	memcpy(&buf16, data + 6, 2);
	size_t buf_len = buf16 % (SCSI_DATA_IN_MAX + 1u);
	/* The CDB is its own block too, so a read past cdb_len is caught. */
	uint8_t *cdb = malloc(cdb_len ? cdb_len : 1);
	memcpy(cdb, data + 8, cdb_len);

	for (size_t i = 0; i < sizeof(disks) / sizeof(disks[0]); i++)
		run(&disks[i], cdb, cdb_len, xfer_len, data + HDR, size - HDR, force_params,
		    buf_len, io_err);
	free(cdb);
	return 0;
}
