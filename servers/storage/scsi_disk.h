/* SPDX-License-Identifier: MIT */
/*
 * SCSI block-disk emulation (SBC-3/SPC-4 subset) as pure functions: a CDB in, either an
 * immediate answer (status, sense, DATA-IN bytes) or one backend I/O out. No guest memory,
 * no backend calls here: storvsp (the caller) copies parameter data out of the guest
 * before, moves DATA-IN bytes into the guest after, and runs the I/O on the LUN's disk.
 *
 * Commands: INQUIRY (standard; VPD 0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2 when can_unmap),
 * TEST UNIT READY, READ CAPACITY 10/16, READ/WRITE 6/10/12/16, SYNCHRONIZE CACHE 10/16,
 * UNMAP and WRITE SAME(16) with UNMAP (when can_unmap), MODE SENSE 6/10 (caching, control,
 * write protect), MODE SELECT 6/10 (only values equal to the current ones: nothing is
 * changeable), REQUEST SENSE, START STOP UNIT, VERIFY 10/16 (no byte compare), PREVENT ALLOW
 * MEDIUM REMOVAL. REPORT LUNS is the caller's (it knows the LUNs). Anything else, REPORT
 * SUPPORTED OPERATION CODES and PERSISTENT RESERVE included: CHECK CONDITION, ILLEGAL
 * REQUEST, INVALID COMMAND OPERATION CODE. Every CDB field, transfer length and LBA is
 * checked here.
 *
 * Checks run in this order, so each refusal is predictable: opcode known (20/00), CDB as
 * long as its group (24/00), NACA clear (24/00), the command's own fields (24/00), for
 * READ/WRITE the block count against max_transfer_blocks and the byte count against
 * xfer_len (24/00), the LBA range (21/00), write protection (27/00), then zero blocks
 * answer GOOD without I/O.
 */
#ifndef MHCL_STORAGE_SCSI_DISK_H
#define MHCL_STORAGE_SCSI_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "disk.h"

#define SCSI_SENSE_LEN 18u	   /* fixed-format sense, what we produce */
#define SCSI_PARAM_MAX 4096u	   /* most parameter-list bytes a command may send */
#define SCSI_DATA_IN_MAX 4096u	   /* most bytes an immediate command returns */
#define SCSI_MAX_UNMAP_RANGES 256u /* == DISK_MAX_DISCARD_RANGES */
/* UNMAP descriptors per command (VPD 0xB0): as many as fit in SCSI_PARAM_MAX after the
 * 8-byte header, so a list we advertise always arrives whole. */
#define SCSI_MAX_UNMAP_DESCRIPTORS                                                                 \
	((SCSI_PARAM_MAX - 8u) / 16u < SCSI_MAX_UNMAP_RANGES ? (SCSI_PARAM_MAX - 8u) / 16u         \
							     : SCSI_MAX_UNMAP_RANGES)
/* Blocks one UNMAP or WRITE SAME may discard, all descriptors together: bounds how long a
 * single command holds the backend (Linux caps itself at 0x7FFFFF anyway). */
#define SCSI_MAX_UNMAP_BLOCKS 0x800000u

/* SAM status codes. */
#define SCSI_STATUS_GOOD 0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02
#define SCSI_STATUS_BUSY 0x08

/* What the manifest and the backend say about one disk. */
struct scsi_disk {
	uint64_t nblocks;
	uint32_t block_size;	      /* 512 or 4096 */
	uint32_t max_transfer_blocks; /* per READ/WRITE; 0 = no limit */
	bool read_only;
	bool can_unmap;
	bool write_cache; /* WCE: the guest sends SYNCHRONIZE CACHE */
	char vendor[9];	  /* ASCII, NUL-terminated or full; space padded on the wire */
	char product[17];
	char revision[5];
	char serial[41]; /* VPD 0x80 */
	uint8_t naa[16]; /* VPD 0x83: NAA designator (naa_len 8 or 16 bytes, 0 = none) */
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
	/* DONE: DATA-IN bytes written to the caller's buffer. IO: READ/WRITE the bytes the I/O
	 * moves (nblocks * block_size == xfer_len), else 0; kept by io_done on success. */
	uint32_t data_len;
	/* IO: op, lba, nblocks, fua (WRITE only); DISCARD: ranges[0 .. nranges), each inside
	 * the disk and non-empty; FLUSH: nothing. Only the fields of the op are written. */
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
 * WRITE SAME(16) moves one block OUT that is never read; REPORT LUNS (the caller's) is IN.
 * It looks only at the opcode, so it holds even for a CDB that exec will refuse.
 * Unknown opcodes (and cdb_len 0): SCSI_DIR_NONE, false.
 */
enum scsi_dir scsi_cdb_dir(const uint8_t *cdb, size_t cdb_len, bool *needs_params);

/*
 * Executes cdb against d (borrowed, read only; every input is untrusted except d).
 * xfer_len is the transfer length the initiator gave (the SRB's data_transfer_length; a
 * READ/WRITE whose CDB asks for a different byte count is refused). params/params_len: the
 * parameter list when scsi_cdb_dir() asked for it, min(xfer_len, SCSI_PARAM_MAX) bytes
 * copied out of the guest (else NULL, 0); a list shorter than its own lengths say is
 * refused. buf/buf_len: where DATA-IN bytes go (at most min(buf_len, xfer_len) are written;
 * SCSI_DATA_IN_MAX is always enough). Fills *out completely for DONE; for IO see above.
 */
void scsi_disk_exec(const struct scsi_disk *d, const uint8_t *cdb, size_t cdb_len,
		    uint32_t xfer_len, const void *params, size_t params_len, void *buf,
		    size_t buf_len, struct scsi_exec *out);

/* The backend finished out's I/O with err (0 or -errno): sets status and sense and kind =
 * SCSI_EXEC_DONE. 0: GOOD; -EIO: MEDIUM ERROR, 11/00 for a READ, 0C/00 otherwise; -EROFS:
 * DATA PROTECT 27/00; -ENOSPC: DATA PROTECT 27/07; anything else: HARDWARE ERROR 44/00. */
void scsi_disk_io_done(struct scsi_exec *out, int err);

/* Fills fixed-format sense: key, asc, ascq. Sets status CHECK CONDITION, sense_len
 * SCSI_SENSE_LEN, data_len 0 and kind SCSI_EXEC_DONE (the caller may use it too, e.g. for
 * LUN NOT SUPPORTED). */
void scsi_exec_sense(struct scsi_exec *out, uint8_t key, uint8_t asc, uint8_t ascq);

#endif
