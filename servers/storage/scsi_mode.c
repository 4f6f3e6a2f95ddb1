/* SPDX-License-Identifier: MIT */
/*
 * MODE SENSE and MODE SELECT (6 and 10): the caching page (WCE), the control page, and the
 * write-protect bit of the header, which is where Linux's sd learns that a disk is read
 * only. Nothing is changeable and nothing can be saved, so MODE SELECT accepts a parameter
 * list only when every value in it equals the current one (SPC-4: a differing value of a
 * field that cannot change is an INVALID FIELD IN PARAMETER LIST).
 */
#include <string.h>

#include "macros.h"
#include "scsi_disk_internal.h"

/* The pages of "all pages", in page-code order. */
static const uint8_t all_pages[] = {SCSI_MODE_PAGE_CACHING, SCSI_MODE_PAGE_CONTROL};

/*
 * Writes the page code's values for page control pc (changeable: a mask, all zero) at p;
 * returns its length, 0 for a page we do not have. Default values are the current ones.
 */
static size_t mode_page(const struct scsi_disk *d, uint8_t code, unsigned pc, uint8_t *p)
{
	bool current = pc != SCSI_PC_CHANGEABLE;

	switch (code) {
	case SCSI_MODE_PAGE_CACHING: {
		struct scsi_mode_page_caching pg = {.page_code = code, .page_len = sizeof(pg) - 2};
		if (current && d->write_cache)
			pg.flags2 = SCSI_CACHING_WCE;
		memcpy(p, &pg, sizeof(pg));
		return sizeof(pg);
	}
	case SCSI_MODE_PAGE_CONTROL: {
		/* Fixed sense, commands may be reordered, no ACA (QERR 0). */
		struct scsi_mode_page_control pg = {.page_code = code, .page_len = sizeof(pg) - 2};
		if (current)
			pg.flags3 = SCSI_CONTROL_QAM_UNRESTRICTED;
		memcpy(p, &pg, sizeof(pg));
		return sizeof(pg);
	}
	default:
		return 0;
	}
}

static void put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

/* The block descriptor's block count: the short form says 0xFFFFFFFF when it cannot. */
static uint32_t short_nblocks(const struct scsi_disk *d)
{
	return d->nblocks > UINT32_MAX ? UINT32_MAX : (uint32_t)d->nblocks;
}

static size_t block_desc(const struct scsi_disk *d, bool longlba, uint8_t *p)
{
	if (longlba) {
		struct scsi_mode_block_desc_long bd = {0};
		scsi_put_be64(bd.nblocks, d->nblocks);
		scsi_put_be32(bd.block_len, d->block_size);
		memcpy(p, &bd, sizeof(bd));
		return sizeof(bd);
	}
	struct scsi_mode_block_desc bd = {0};
	scsi_put_be32(bd.nblocks, short_nblocks(d));
	put_be24(bd.block_len, d->block_size);
	memcpy(p, &bd, sizeof(bd));
	return sizeof(bd);
}

/* Header, block descriptor, both pages: the longest answer. */
static_assert(sizeof(struct scsi_mode_hdr10) + sizeof(struct scsi_mode_block_desc_long) +
		      sizeof(struct scsi_mode_page_caching) +
		      sizeof(struct scsi_mode_page_control) <=
		  SCSI_REPLY_MAX,
	      "MODE SENSE fits");

void scsi__mode_sense(const struct scsi_cmd *c)
{
	const struct scsi_disk *d = c->d;
	bool ten = c->cdb[0] == SCSI_OP_MODE_SENSE_10;
	const struct scsi_cdb_mode_sense6 *cdb6 = (const void *)c->cdb;
	const struct scsi_cdb_mode_sense10 *cdb10 = (const void *)c->cdb;
	/* Flags, page and subpage sit at the same offsets in both forms. */
	uint8_t flags = cdb6->flags, code = cdb6->page & SCSI_MODE_PAGE_CODE_MASK;
	unsigned pc = cdb6->page >> SCSI_PC_SHIFT;
	uint32_t alloc_len = ten ? scsi_get_be16(cdb10->alloc_len) : cdb6->alloc_len;
	uint8_t buf[SCSI_REPLY_MAX] = {0};

	if (pc == SCSI_PC_SAVED) {
		scsi_exec_sense(c->out, SCSI_SENSE_ILLEGAL_REQUEST,
				SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED, 0);
		return;
	}
	/* We have no subpages; "all pages and subpages" is all pages. */
	if (cdb6->subpage &&
	    !(code == SCSI_MODE_PAGE_ALL && cdb6->subpage == SCSI_MODE_SUBPAGE_ALL)) {
		scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
		return;
	}

	size_t hdr_len = ten ? sizeof(struct scsi_mode_hdr10) : sizeof(struct scsi_mode_hdr6);
	bool longlba = ten && (flags & SCSI_MS_LLBAA);
	size_t bd_len = flags & SCSI_MS_DBD ? 0 : block_desc(d, longlba, buf + hdr_len);
	size_t len = hdr_len + bd_len;
	if (code == SCSI_MODE_PAGE_ALL) {
		for (size_t i = 0; i < ARRAY_SIZE(all_pages); i++)
			len += mode_page(d, all_pages[i], pc, buf + len);
	} else {
		size_t n = mode_page(d, code, pc, buf + len);
		if (n == 0) {
			scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
			return;
		}
		len += n;
	}

	/* DPOFUA: Linux sends FUA writes only to a disk that sets it. */
	uint8_t dsp = SCSI_MODE_DSP_DPOFUA | (d->read_only ? SCSI_MODE_DSP_WP : 0);
	if (ten) {
		struct scsi_mode_hdr10 *h = (void *)buf;
		scsi_put_be16(h->data_len, (uint16_t)(len - sizeof(h->data_len)));
		h->device_specific = dsp;
		h->longlba =
		    bd_len == sizeof(struct scsi_mode_block_desc_long) ? SCSI_MODE_LONGLBA : 0;
		scsi_put_be16(h->block_desc_len, (uint16_t)bd_len);
	} else {
		struct scsi_mode_hdr6 *h = (void *)buf;
		h->data_len = (uint8_t)(len - sizeof(h->data_len));
		h->device_specific = dsp;
		h->block_desc_len = (uint8_t)bd_len;
	}
	scsi__reply(c, buf, len, alloc_len);
}

/* A block descriptor may only restate the geometry; 0 blocks means "unchanged". */
static bool block_desc_matches(const struct scsi_disk *d, const uint8_t *p, bool longlba)
{
	if (longlba) {
		const struct scsi_mode_block_desc_long *bd = (const void *)p;
		uint64_t n = scsi_get_be64(bd->nblocks);
		return (n == 0 || n == d->nblocks) && scsi_get_be32(bd->block_len) == d->block_size;
	}
	const struct scsi_mode_block_desc *bd = (const void *)p;
	uint32_t n = scsi_get_be32(bd->nblocks);
	uint32_t block_len =
	    (uint32_t)bd->block_len[0] << 16 | (uint32_t)bd->block_len[1] << 8 | bd->block_len[2];
	return (n == 0 || n == short_nblocks(d)) && block_len == d->block_size;
}

/* Checks a MODE SELECT parameter list of len bytes; returns 0 or an ILLEGAL REQUEST ASC. */
static uint8_t check_select(const struct scsi_disk *d, const uint8_t *p, size_t len, bool ten)
{
	size_t hdr_len = ten ? sizeof(struct scsi_mode_hdr10) : sizeof(struct scsi_mode_hdr6);
	if (len < hdr_len)
		return SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR;

	/* The mode data length is reserved in MODE SELECT, and so are WP and DPOFUA. */
	const struct scsi_mode_hdr6 *h6 = (const void *)p;
	const struct scsi_mode_hdr10 *h10 = (const void *)p;
	uint8_t medium = ten ? h10->medium_type : h6->medium_type;
	size_t bd_len = ten ? scsi_get_be16(h10->block_desc_len) : h6->block_desc_len;
	bool longlba = ten && (h10->longlba & SCSI_MODE_LONGLBA);
	size_t want_bd = longlba ? sizeof(struct scsi_mode_block_desc_long)
				 : sizeof(struct scsi_mode_block_desc);
	if (medium != 0 || (bd_len != 0 && bd_len != want_bd))
		return SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST;
	if (bd_len > len - hdr_len)
		return SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR;
	if (bd_len && !block_desc_matches(d, p + hdr_len, longlba))
		return SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST;

	for (size_t pos = hdr_len + bd_len; pos < len;) {
		uint8_t cur[SCSI_REPLY_MAX];
		if (len - pos < 2 || (size_t)p[pos + 1] + 2 > len - pos)
			return SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR;
		size_t page_len = (size_t)p[pos + 1] + 2;
		/* No subpages here; PS is reserved in MODE SELECT. */
		size_t n =
		    p[pos] & SCSI_MODE_PAGE_SPF
			? 0
			: mode_page(d, p[pos] & SCSI_MODE_PAGE_CODE_MASK, SCSI_PC_CURRENT, cur);
		if (n == 0 || n != page_len || (p[pos] & ~SCSI_MODE_PAGE_PS) != cur[0] ||
		    memcmp(p + pos + 1, cur + 1, n - 1) != 0)
			return SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST;
		pos += page_len;
	}
	return 0;
}

void scsi__mode_select(const struct scsi_cmd *c)
{
	bool ten = c->cdb[0] == SCSI_OP_MODE_SELECT_10;
	const struct scsi_cdb_mode_select6 *cdb6 = (const void *)c->cdb;
	const struct scsi_cdb_mode_select10 *cdb10 = (const void *)c->cdb;
	size_t param_len = ten ? scsi_get_be16(cdb10->param_len) : cdb6->param_len;
	size_t avail = param_len < c->params_len ? param_len : c->params_len;
	uint8_t asc;

	/* SP asks us to save the pages, which we cannot (SPC-4: INVALID FIELD IN CDB). */
	if (cdb6->flags & SCSI_MSEL_SP)
		scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
	else if (param_len == 0) /* "no data": not an error */
		scsi__good(c->out);
	else if ((asc = check_select(c->d, c->params, avail, ten)))
		scsi__illegal(c->out, asc);
	else
		scsi__good(c->out);
}
