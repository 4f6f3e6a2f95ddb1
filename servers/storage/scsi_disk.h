/* SPDX-License-Identifier: MIT */
/*
 * SCSI block-disk emulation (SBC-3/SPC-4 subset) as pure functions: a CDB in, either an
 * immediate answer (status, sense, DATA-IN bytes) or one backend I/O out. No guest memory,
 * no backend calls here: storvsp (the caller) copies parameter data out of the guest
 * before, moves DATA-IN bytes into the guest after, and runs the I/O on the LUN's disk.
 *
 * Commands: INQUIRY (standard; VPD 0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2), REPORT LUNS is the
 * caller's (it knows the LUNs), TEST UNIT READY, READ CAPACITY 10/16, READ/WRITE
 * 6/10/12/16, SYNCHRONIZE CACHE 10/16, UNMAP, WRITE SAME 16 with UNMAP, MODE SENSE 6/10
 * (caching, control, write protect), REQUEST SENSE, START STOP UNIT, VERIFY 10/16,
 * PERSISTENT... not. Anything else: CHECK CONDITION, ILLEGAL REQUEST, INVALID COMMAND
 * OPERATION CODE. Every CDB field, transfer length and LBA is checked here.
 */
#ifndef MHCL_STORAGE_SCSI_DISK_H
#define MHCL_STORAGE_SCSI_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk.h"

#define SCSI_SENSE_LEN 18u	  /* fixed-format sense, what we produce */
#define SCSI_PARAM_MAX 4096u	  /* most parameter-list bytes a command may send */
#define SCSI_DATA_IN_MAX 4096u	  /* most bytes an immediate command returns */
#define SCSI_MAX_UNMAP_RANGES 256u /* == DISK_MAX_DISCARD_RANGES */

/* SAM status codes. */
#define SCSI_STATUS_GOOD 0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02
#define SCSI_STATUS_BUSY 0x08

/* What the manifest and the backend say about one disk. */
struct scsi_disk {
	uint64_t nblocks;
	uint32_t block_size; /* 512 or 4096 */
	uint32_t max_transfer_blocks;
	bool read_only;
	bool can_unmap;
	bool write_cache; /* WCE: the guest sends SYNCHRONIZE CACHE */
	char vendor[9];	  /* space padded on the wire */
	char product[17];
	char revision[5];
	char serial[41];  /* VPD 0x80 */
	uint8_t naa[16];  /* VPD 0x83: NAA designator (naa_len 8 or 16 bytes, 0 = none) */
	uint8_t naa_len;
};

/* The direction the command moves data, from the guest's side. */
enum scsi_dir {
	SCSI_DIR_NONE,
	SCSI_DIR_IN,  /* device to guest (READ, INQUIRY, ...) */
	SCSI_DIR_OUT, /* guest to device (WRITE, UNMAP parameter list, ...) */
};

enum scsi_exec_kind {
	SCSI_EXEC_DONE, /* answer now: status, sense, data_len */
	SCSI_EXEC_IO,	/* run io on the disk, then scsi_disk_io_done() */
};

struct scsi_exec {
	enum scsi_exec_kind kind;
	uint8_t status; /* SCSI_STATUS_* */
	uint8_t sense[SCSI_SENSE_LEN];
	uint8_t sense_len; /* 0 unless CHECK CONDITION */
	uint32_t data_len; /* DONE: DATA-IN bytes written to the caller's buffer */
	/* IO: op, lba, nblocks, fua; DISCARD: ranges[0 .. nranges) */
	enum disk_op op;
	uint64_t lba;
	uint32_t nblocks;
	bool fua;
	uint32_t nranges;
	struct disk_range ranges[SCSI_MAX_UNMAP_RANGES];
};

/*
 * Which way the command moves data, and whether it needs its parameter list (DATA-OUT
 * bytes that the emulation itself reads: UNMAP, MODE SELECT) copied in before exec.
 * Unknown opcodes: SCSI_DIR_NONE, false.
 */
enum scsi_dir scsi_cdb_dir(const uint8_t *cdb, size_t cdb_len, bool *needs_params);

/*
 * Executes cdb against d. xfer_len is the transfer length the initiator gave (the SRB's
 * data_transfer_length; a READ/WRITE whose CDB asks for a different byte count is refused).
 * params/params_len: the parameter list when scsi_cdb_dir() asked for it (else NULL, 0).
 * buf/buf_len: where DATA-IN bytes go (at most min(buf_len, xfer_len) are written).
 */
void scsi_disk_exec(const struct scsi_disk *d, const uint8_t *cdb, size_t cdb_len,
		    uint32_t xfer_len, const void *params, size_t params_len, void *buf,
		    size_t buf_len, struct scsi_exec *out);

/* The backend finished out's I/O with err (0 or -errno): sets status and sense (medium
 * error, write protected, ...) and kind = SCSI_EXEC_DONE. */
void scsi_disk_io_done(struct scsi_exec *out, int err);

/* Fills fixed-format sense: key, asc, ascq. Sets status CHECK CONDITION. */
void scsi_exec_sense(struct scsi_exec *out, uint8_t key, uint8_t asc, uint8_t ascq);

#endif
