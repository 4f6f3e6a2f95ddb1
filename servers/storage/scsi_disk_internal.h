/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the SCSI disk emulation share: one command being executed, and the
 * helpers that finish it. scsi_disk.c dispatches; scsi_inquiry.c and scsi_mode.c answer
 * INQUIRY and MODE SENSE/SELECT.
 */
#ifndef MHCL_STORAGE_SCSI_DISK_INTERNAL_H
#define MHCL_STORAGE_SCSI_DISK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "defs/scsi_defs.h"
#include "scsi_disk.h"

/* The most bytes an immediate command builds before it is cut to the allocation length. */
#define SCSI_REPLY_MAX 128u
static_assert(SCSI_REPLY_MAX <= SCSI_DATA_IN_MAX, "a whole reply fits the caller's buffer");

/* One command: scsi_disk_exec()'s arguments. cdb holds at least its group's length. */
struct scsi_cmd {
	const struct scsi_disk *d;
	const uint8_t *cdb;
	uint32_t xfer_len;
	const uint8_t *params;
	size_t params_len;
	void *buf;
	size_t buf_len;
	struct scsi_exec *out;
};

/* GOOD, nothing moved. */
void scsi__good(struct scsi_exec *out);

/* CHECK CONDITION, ILLEGAL REQUEST with asc/00. */
void scsi__illegal(struct scsi_exec *out, uint8_t asc);

/* GOOD, with the first min(len, alloc_len, xfer_len, buf_len) bytes of data as DATA-IN. */
void scsi__reply(const struct scsi_cmd *c, const void *data, size_t len, uint32_t alloc_len);

/* Writes src (at most src_size bytes, up to a NUL) as dst_len bytes of printable ASCII,
 * space padded; returns the bytes of src used. */
size_t scsi__ascii(char *dst, size_t dst_len, const char *src, size_t src_size);

void scsi__inquiry(const struct scsi_cmd *c);
void scsi__mode_sense(const struct scsi_cmd *c);
void scsi__mode_select(const struct scsi_cmd *c);

#endif
