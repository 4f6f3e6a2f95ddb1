/* SPDX-License-Identifier: MIT */
/*
 * SCSI disk emulation: the opcode table, the block commands (READ/WRITE, capacity, cache,
 * UNMAP, VERIFY) and the status and sense every command ends with. INQUIRY and the mode
 * pages live in scsi_inquiry.c and scsi_mode.c.
 */
#include <errno.h>
#include <string.h>

#include "scsi_disk_internal.h"

static_assert(SCSI_MAX_UNMAP_RANGES == DISK_MAX_DISCARD_RANGES, "one UNMAP is one DISCARD");
static_assert(SCSI_MAX_UNMAP_DESCRIPTORS <= SCSI_MAX_UNMAP_RANGES, "descriptors fit ranges");
static_assert(sizeof(struct scsi_sense_fixed) == SCSI_SENSE_LEN, "we produce fixed sense");

void scsi_exec_sense(struct scsi_exec *out, uint8_t key, uint8_t asc, uint8_t ascq)
{
	const struct scsi_sense_fixed s = {
	    .response_code = SCSI_SENSE_FIXED_CURRENT,
	    .key = key & SCSI_SENSE_KEY_MASK,
	    .additional_len = SCSI_SENSE_FIXED_ADDITIONAL_LEN,
	    .asc = asc,
	    .ascq = ascq,
	};

	memcpy(out->sense, &s, sizeof(s));
	out->kind = SCSI_EXEC_DONE;
	out->status = SCSI_STATUS_CHECK_CONDITION;
	out->sense_len = sizeof(s);
	out->data_len = 0;
}

void scsi__good(struct scsi_exec *out)
{
	out->kind = SCSI_EXEC_DONE;
	out->status = SCSI_STATUS_GOOD;
	out->sense_len = 0;
	out->data_len = 0;
}

void scsi__illegal(struct scsi_exec *out, uint8_t asc)
{
	scsi_exec_sense(out, SCSI_SENSE_ILLEGAL_REQUEST, asc, 0);
}

static void write_protected(struct scsi_exec *out)
{
	scsi_exec_sense(out, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED, 0);
}

void scsi__reply(const struct scsi_cmd *c, const void *data, size_t len, uint32_t alloc_len)
{
	size_t n = len;

	if (n > alloc_len)
		n = alloc_len;
	if (n > c->xfer_len)
		n = c->xfer_len;
	if (n > c->buf_len)
		n = c->buf_len;
	scsi__good(c->out);
	if (n)
		memcpy(c->buf, data, n);
	c->out->data_len = (uint32_t)n;
}

size_t scsi__ascii(char *dst, size_t dst_len, const char *src, size_t src_size)
{
	size_t n = strnlen(src, src_size);

	if (n > dst_len)
		n = dst_len;
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7F ? src[i] : ' ';
	memset(dst + n, ' ', dst_len - n);
	return n;
}

/* GOOD so far; the caller runs op. Only the fields op uses are written after this. */
static void start_io(struct scsi_exec *out, enum disk_op op, uint32_t data_len)
{
	out->kind = SCSI_EXEC_IO;
	out->status = SCSI_STATUS_GOOD;
	out->sense_len = 0;
	out->data_len = data_len;
	out->op = op;
}

/* [lba, lba + n) inside the disk, without overflowing. */
static bool in_range(const struct scsi_disk *d, uint64_t lba, uint64_t n)
{
	return lba <= d->nblocks && n <= d->nblocks - lba;
}

/* ---- READ / WRITE ---- */

static void rw(const struct scsi_cmd *c, bool write, uint64_t lba, uint32_t n, uint8_t flags)
{
	const struct scsi_disk *d = c->d;
	struct scsi_exec *out = c->out;

	/* No protection information: any xxPROTECT value asks for checks we cannot do. */
	if ((flags & SCSI_RW_PROTECT_MASK) ||
	    (d->max_transfer_blocks && n > d->max_transfer_blocks) ||
	    (uint64_t)n * d->block_size != c->xfer_len) {
		scsi__illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	if (!in_range(d, lba, n)) {
		scsi__illegal(out, SCSI_ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (write && d->read_only) {
		write_protected(out);
		return;
	}
	if (n == 0) {
		scsi__good(out);
		return;
	}
	start_io(out, write ? DISK_OP_WRITE : DISK_OP_READ, c->xfer_len);
	out->lba = lba;
	out->nblocks = n;
	out->fua = write && (flags & SCSI_RW_FUA);
}

static void exec_rw6(const struct scsi_cmd *c)
{
	const struct scsi_cdb_rw6 *cdb = (const void *)c->cdb;
	uint32_t lba = (uint32_t)cdb->lba[0] << 16 | (uint32_t)cdb->lba[1] << 8 | cdb->lba[2];

	/* The 6-byte forms count 0 as 256 blocks (SBC-3), unlike every other form. */
	rw(c, cdb->opcode == SCSI_OP_WRITE_6, lba & SCSI_RW6_LBA_MASK,
	   cdb->length ? cdb->length : 256u, 0);
}

static void exec_rw10(const struct scsi_cmd *c)
{
	const struct scsi_cdb_lba10 *cdb = (const void *)c->cdb;

	rw(c, cdb->opcode == SCSI_OP_WRITE_10, scsi_get_be32(cdb->lba), scsi_get_be16(cdb->length),
	   cdb->flags);
}

static void exec_rw12(const struct scsi_cmd *c)
{
	const struct scsi_cdb_lba12 *cdb = (const void *)c->cdb;

	rw(c, cdb->opcode == SCSI_OP_WRITE_12, scsi_get_be32(cdb->lba), scsi_get_be32(cdb->length),
	   cdb->flags);
}

static void exec_rw16(const struct scsi_cmd *c)
{
	const struct scsi_cdb_lba16 *cdb = (const void *)c->cdb;

	rw(c, cdb->opcode == SCSI_OP_WRITE_16, scsi_get_be64(cdb->lba), scsi_get_be32(cdb->length),
	   cdb->flags);
}

/* ---- Capacity ---- */

static void exec_read_capacity10(const struct scsi_cmd *c)
{
	const struct scsi_cdb_read_capacity10 *cdb = (const void *)c->cdb;
	const struct scsi_disk *d = c->d;
	struct scsi_read_capacity10_data data;
	uint64_t last = d->nblocks ? d->nblocks - 1 : 0;

	/* The LBA field is obsolete and must be 0 without PMI (SBC-3). */
	if (!(cdb->pmi & SCSI_RC10_PMI) && scsi_get_be32(cdb->lba)) {
		scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	/* 0xFFFFFFFF sends the initiator to READ CAPACITY(16). */
	scsi_put_be32(data.last_lba, last >= UINT32_MAX ? UINT32_MAX : (uint32_t)last);
	scsi_put_be32(data.block_len, d->block_size);
	scsi__reply(c, &data, sizeof(data), sizeof(data));
}

static void read_capacity16(const struct scsi_cmd *c)
{
	const struct scsi_cdb_read_capacity16 *cdb = (const void *)c->cdb;
	const struct scsi_disk *d = c->d;
	struct scsi_read_capacity16_data data = {0};

	if (!(cdb->pmi & SCSI_RC10_PMI) && scsi_get_be64(cdb->lba)) {
		scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}
	scsi_put_be64(data.last_lba, d->nblocks ? d->nblocks - 1 : 0);
	scsi_put_be32(data.block_len, d->block_size);
	/* One logical block per physical block, LBA 0 aligned; unmapped blocks may read back
	 * as old data (a DISCARD promises no zeroes), so LBPRZ stays 0. */
	data.lbp[0] = d->can_unmap ? SCSI_RC16_LBPME : 0;
	scsi__reply(c, &data, sizeof(data), scsi_get_be32(cdb->alloc_len));
}

static void exec_service_action_in16(const struct scsi_cmd *c)
{
	if ((c->cdb[1] & SCSI_SA_MASK) == SCSI_SAI_READ_CAPACITY_16)
		read_capacity16(c);
	else
		scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
}

/* ---- Cache, verify, no-ops ---- */

static void sync_cache(const struct scsi_cmd *c, uint64_t lba, uint32_t n)
{
	struct scsi_exec *out = c->out;

	/* n == 0 means "to the last block": only the LBA must be inside. */
	if (!in_range(c->d, lba, n)) {
		scsi__illegal(out, SCSI_ASC_LBA_OUT_OF_RANGE);
		return;
	}
	/* A read-only disk has nothing to make durable. */
	if (c->d->read_only) {
		scsi__good(out);
		return;
	}
	/* The whole cache is flushed whatever the range: backends have no ranged flush. */
	start_io(out, DISK_OP_FLUSH, 0);
}

static void exec_sync_cache10(const struct scsi_cmd *c)
{
	const struct scsi_cdb_lba10 *cdb = (const void *)c->cdb;

	sync_cache(c, scsi_get_be32(cdb->lba), scsi_get_be16(cdb->length));
}

static void exec_sync_cache16(const struct scsi_cmd *c)
{
	const struct scsi_cdb_lba16 *cdb = (const void *)c->cdb;

	sync_cache(c, scsi_get_be64(cdb->lba), scsi_get_be32(cdb->length));
}

static void verify(const struct scsi_cmd *c, uint8_t flags, uint64_t lba, uint32_t n)
{
	/* BYTCHK would compare DATA-OUT with the medium: not offered. The medium is as
	 * readable as the backend, so a plain verify only checks the range. */
	if (flags & (SCSI_RW_PROTECT_MASK | SCSI_VERIFY_BYTCHK_MASK))
		scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
	else if (!in_range(c->d, lba, n))
		scsi__illegal(c->out, SCSI_ASC_LBA_OUT_OF_RANGE);
	else
		scsi__good(c->out);
}

static void exec_verify10(const struct scsi_cmd *c)
{
	const struct scsi_cdb_lba10 *cdb = (const void *)c->cdb;

	verify(c, cdb->flags, scsi_get_be32(cdb->lba), scsi_get_be16(cdb->length));
}

static void exec_verify16(const struct scsi_cmd *c)
{
	const struct scsi_cdb_lba16 *cdb = (const void *)c->cdb;

	verify(c, cdb->flags, scsi_get_be64(cdb->lba), scsi_get_be32(cdb->length));
}

static void exec_good(const struct scsi_cmd *c)
{
	scsi__good(c->out);
}

static void exec_request_sense(const struct scsi_cmd *c)
{
	const struct scsi_cdb_request_sense *cdb = (const void *)c->cdb;
	/* Sense always travels with its CHECK CONDITION (autosense): none is ever pending. */
	const struct scsi_sense_fixed none = {
	    .response_code = SCSI_SENSE_FIXED_CURRENT,
	    .additional_len = SCSI_SENSE_FIXED_ADDITIONAL_LEN,
	};

	if (cdb->flags & SCSI_REQUEST_SENSE_DESC)
		scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
	else
		scsi__reply(c, &none, sizeof(none), cdb->alloc_len);
}

/* ---- UNMAP, WRITE SAME ---- */

static void discard(struct scsi_exec *out, uint32_t nranges)
{
	if (nranges == 0) {
		scsi__good(out);
		return;
	}
	start_io(out, DISK_OP_DISCARD, 0);
	out->nranges = nranges;
}

/*
 * Copies the UNMAP parameter list's non-empty descriptors into out->ranges. The list is the
 * guest's: both header lengths must agree with each other and with the bytes that arrived,
 * or it is refused rather than guessed at. Returns 0, or the ASC of an ILLEGAL REQUEST.
 */
static uint8_t parse_unmap(const struct scsi_cmd *c, size_t avail, uint32_t *ret_n)
{
	const struct scsi_unmap_param_hdr *hdr = (const void *)c->params;
	struct scsi_exec *out = c->out;

	if (avail > c->params_len)
		avail = c->params_len;
	if (avail < sizeof(*hdr))
		return SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR;
	size_t data_len = scsi_get_be16(hdr->data_len);
	size_t desc_len = scsi_get_be16(hdr->block_desc_len);
	if (data_len + 2 > avail || desc_len + sizeof(*hdr) > data_len + 2)
		return SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST;
	/* A partial last descriptor is ignored (SBC-3). */
	size_t ndesc = desc_len / sizeof(struct scsi_unmap_block_desc);
	if (ndesc > SCSI_MAX_UNMAP_DESCRIPTORS)
		return SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST;

	const struct scsi_unmap_block_desc *desc = (const void *)(hdr + 1);
	uint64_t total = 0;
	uint32_t n = 0;
	for (size_t i = 0; i < ndesc; i++) {
		uint64_t lba = scsi_get_be64(desc[i].lba);
		uint32_t nblocks = scsi_get_be32(desc[i].nblocks);
		if (nblocks == 0)
			continue;
		if (!in_range(c->d, lba, nblocks))
			return SCSI_ASC_LBA_OUT_OF_RANGE;
		total += nblocks;
		if (total > SCSI_MAX_UNMAP_BLOCKS)
			return SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST;
		out->ranges[n].lba = lba;
		out->ranges[n].nblocks = nblocks;
		n++;
	}
	*ret_n = n;
	return 0;
}

static void exec_unmap(const struct scsi_cmd *c)
{
	const struct scsi_cdb_unmap *cdb = (const void *)c->cdb;
	size_t param_len = scsi_get_be16(cdb->param_len);
	uint32_t n = 0;
	uint8_t asc;

	if (cdb->flags & SCSI_UNMAP_ANCHOR)
		scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
	else if (c->d->read_only)
		write_protected(c->out);
	else if (param_len == 0) /* "no data": not an error (SBC-3) */
		scsi__good(c->out);
	else if ((asc = parse_unmap(c, param_len, &n)))
		scsi__illegal(c->out, asc);
	else
		discard(c->out, n);
}

/*
 * Only the UNMAP form, as one DISCARD: the data block is not read, since with LBPRZ 0 an
 * unmapped block may read back as anything. Writing a pattern over a range is refused
 * (24/00), which makes Linux turn WRITE SAME off for the disk.
 */
static void exec_write_same16(const struct scsi_cmd *c)
{
	const struct scsi_cdb_lba16 *cdb = (const void *)c->cdb;
	struct scsi_exec *out = c->out;
	uint64_t lba = scsi_get_be64(cdb->lba);
	uint32_t n = scsi_get_be32(cdb->length);
	uint32_t block = cdb->flags & SCSI_WS_NDOB ? 0 : c->d->block_size;

	/* n == 0 ("to the last block") is refused: WSNZ in VPD 0xB0 says so. */
	if (!(cdb->flags & SCSI_WS_UNMAP) ||
	    (cdb->flags & (SCSI_RW_PROTECT_MASK | SCSI_WS_ANCHOR)) || n == 0 ||
	    n > SCSI_MAX_UNMAP_BLOCKS || c->xfer_len != block) {
		scsi__illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
	} else if (!in_range(c->d, lba, n)) {
		scsi__illegal(out, SCSI_ASC_LBA_OUT_OF_RANGE);
	} else if (c->d->read_only) {
		write_protected(out);
	} else {
		out->lba = lba;
		out->nblocks = n;
		out->ranges[0].lba = lba;
		out->ranges[0].nblocks = n;
		discard(out, 1);
	}
}

/* ---- Dispatch ---- */

struct scsi_op {
	void (*exec)(const struct scsi_cmd *c); /* NULL: the caller's (REPORT LUNS) */
	uint8_t dir;				/* enum scsi_dir */
	bool needs_params;
	bool needs_unmap; /* exists only on a disk that can unmap */
};

#define OP(code, fn, d) [code] = {.exec = fn, .dir = SCSI_DIR_##d}

static const struct scsi_op ops[256] = {
    OP(SCSI_OP_READ_10, exec_rw10, IN),
    OP(SCSI_OP_WRITE_10, exec_rw10, OUT),
    OP(SCSI_OP_READ_16, exec_rw16, IN),
    OP(SCSI_OP_WRITE_16, exec_rw16, OUT),
    OP(SCSI_OP_READ_12, exec_rw12, IN),
    OP(SCSI_OP_WRITE_12, exec_rw12, OUT),
    OP(SCSI_OP_READ_6, exec_rw6, IN),
    OP(SCSI_OP_WRITE_6, exec_rw6, OUT),
    OP(SCSI_OP_SYNCHRONIZE_CACHE_10, exec_sync_cache10, NONE),
    OP(SCSI_OP_SYNCHRONIZE_CACHE_16, exec_sync_cache16, NONE),
    [SCSI_OP_UNMAP] = {.exec = exec_unmap,
		       .dir = SCSI_DIR_OUT,
		       .needs_params = true,
		       .needs_unmap = true},
    [SCSI_OP_WRITE_SAME_16] = {.exec = exec_write_same16, .dir = SCSI_DIR_OUT, .needs_unmap = true},
    OP(SCSI_OP_TEST_UNIT_READY, exec_good, NONE),
    OP(SCSI_OP_INQUIRY, scsi__inquiry, IN),
    OP(SCSI_OP_READ_CAPACITY_10, exec_read_capacity10, IN),
    OP(SCSI_OP_SERVICE_ACTION_IN_16, exec_service_action_in16, IN),
    OP(SCSI_OP_MODE_SENSE_6, scsi__mode_sense, IN),
    OP(SCSI_OP_MODE_SENSE_10, scsi__mode_sense, IN),
    [SCSI_OP_MODE_SELECT_6] = {.exec = scsi__mode_select,
			       .dir = SCSI_DIR_OUT,
			       .needs_params = true},
    [SCSI_OP_MODE_SELECT_10] = {.exec = scsi__mode_select,
				.dir = SCSI_DIR_OUT,
				.needs_params = true},
    OP(SCSI_OP_REQUEST_SENSE, exec_request_sense, IN),
    OP(SCSI_OP_START_STOP_UNIT, exec_good, NONE),
    OP(SCSI_OP_PREVENT_ALLOW_MEDIUM_REMOVAL, exec_good, NONE),
    OP(SCSI_OP_VERIFY_10, exec_verify10, NONE),
    OP(SCSI_OP_VERIFY_16, exec_verify16, NONE),
    OP(SCSI_OP_REPORT_LUNS, NULL, IN),
};

enum scsi_dir scsi_cdb_dir(const uint8_t *cdb, size_t cdb_len, bool *needs_params)
{
	if (cdb_len == 0) {
		*needs_params = false;
		return SCSI_DIR_NONE;
	}
	const struct scsi_op *op = &ops[cdb[0]];
	*needs_params = op->needs_params;
	return (enum scsi_dir)op->dir;
}

void scsi_disk_exec(const struct scsi_disk *d, const uint8_t *cdb, size_t cdb_len,
		    uint32_t xfer_len, const void *params, size_t params_len, void *buf,
		    size_t buf_len, struct scsi_exec *out)
{
	const struct scsi_op *op = cdb_len ? &ops[cdb[0]] : NULL;
	if (!op || !op->exec || (op->needs_unmap && !d->can_unmap)) {
		scsi__illegal(out, SCSI_ASC_INVALID_COMMAND_OPCODE);
		return;
	}
	/* Every opcode in the table has a fixed length; its last byte is the control byte. */
	size_t len = scsi_cdb_group_len(cdb[0]);
	if (cdb_len < len || (cdb[len - 1] & SCSI_CONTROL_NACA)) {
		scsi__illegal(out, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}

	const struct scsi_cmd c = {
	    .d = d,
	    .cdb = cdb,
	    .xfer_len = xfer_len,
	    .params = params,
	    .params_len = params ? params_len : 0,
	    .buf = buf,
	    .buf_len = buf ? buf_len : 0,
	    .out = out,
	};
	op->exec(&c);
}

void scsi_disk_io_done(struct scsi_exec *out, int err)
{
	switch (err) {
	case 0:
		out->kind = SCSI_EXEC_DONE;
		out->status = SCSI_STATUS_GOOD;
		out->sense_len = 0;
		break;
	case -EIO:
		scsi_exec_sense(out, SCSI_SENSE_MEDIUM_ERROR,
				out->op == DISK_OP_READ ? SCSI_ASC_UNRECOVERED_READ_ERROR
							: SCSI_ASC_WRITE_ERROR,
				0);
		break;
	case -EROFS:
		write_protected(out);
		break;
	case -ENOSPC:
		scsi_exec_sense(out, SCSI_SENSE_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED,
				SCSI_ASCQ_SPACE_ALLOC_FAILED_WRITE_PROTECT);
		break;
	default:
		scsi_exec_sense(out, SCSI_SENSE_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE,
				0);
		break;
	}
}
