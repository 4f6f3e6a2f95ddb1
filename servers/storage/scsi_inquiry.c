/* SPDX-License-Identifier: MIT */
/*
 * INQUIRY: the standard data and the VPD pages Linux's sd reads. Linux asks for page 0x00
 * first and reads 0xB0, 0xB1 and 0xB2 only when it lists them, so the list and the pages
 * come from one table and cannot disagree.
 */
#include <string.h>

#include "macros.h"
#include "scsi_disk_internal.h"

#define INQ_CMDDT 0x02 /* obsolete: asks for command support data */
#define SERIAL_MAX 40u /* struct scsi_disk's serial without its NUL */

/* The longest pages: block limits, and device identification with both designators. */
static_assert(sizeof(struct scsi_vpd_block_limits) <= SCSI_REPLY_MAX, "B0 fits");
static_assert(sizeof(struct scsi_vpd_hdr) + 2 * sizeof(struct scsi_vpd_designator_hdr) + 16 +
		      SCSI_DESIG_T10_VENDOR_LEN + SERIAL_MAX <=
		  SCSI_REPLY_MAX,
	      "83 fits");
static_assert(sizeof(struct scsi_inquiry_data) <= SCSI_REPLY_MAX, "standard data fits");

static void standard(const struct scsi_cmd *c, uint32_t alloc_len)
{
	static const uint16_t versions[] = {SCSI_VERSION_DESC_SAM5, SCSI_VERSION_DESC_SPC4,
					    SCSI_VERSION_DESC_SBC3};
	const struct scsi_disk *d = c->d;
	struct scsi_inquiry_data inq = {
	    .peripheral = SCSI_PDT_DISK,
	    .version = SCSI_VERSION_SPC4,
	    .format = SCSI_INQ_HISUP | SCSI_INQ_RESPONSE_FORMAT,
	    .additional_len = sizeof(inq) - offsetof(struct scsi_inquiry_data, additional_len) - 1,
	    .flags7 = SCSI_INQ_CMDQUE,
	};

	scsi__ascii(inq.vendor, sizeof(inq.vendor), d->vendor, sizeof(d->vendor));
	scsi__ascii(inq.product, sizeof(inq.product), d->product, sizeof(d->product));
	scsi__ascii(inq.revision, sizeof(inq.revision), d->revision, sizeof(d->revision));
	for (size_t i = 0; i < ARRAY_SIZE(versions); i++)
		scsi_put_be16(inq.version_desc[i], versions[i]);
	scsi__reply(c, &inq, sizeof(inq), alloc_len);
}

/*
 * Each builder writes its page body after the 4-byte header into a zeroed p of
 * SCSI_REPLY_MAX bytes and returns the page's whole length.
 */
typedef size_t (*vpd_build_fn)(const struct scsi_disk *d, uint8_t *p);

static size_t vpd_supported(const struct scsi_disk *d, uint8_t *p);

static size_t vpd_serial(const struct scsi_disk *d, uint8_t *p)
{
	size_t hdr = sizeof(struct scsi_vpd_hdr);

	return hdr + scsi__ascii((char *)p + hdr, SERIAL_MAX, d->serial, sizeof(d->serial));
}

static size_t designator(uint8_t *p, uint8_t codeset, uint8_t type, const void *id, size_t len)
{
	const struct scsi_vpd_designator_hdr h = {
	    .codeset = codeset,
	    .type = SCSI_DESIG_ASSOC_LU | type,
	    .len = (uint8_t)len,
	};

	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), id, len);
	return sizeof(h) + len;
}

/* The NAA name when there is one, and always a T10 vendor ID: vendor, then serial. */
static size_t vpd_device_id(const struct scsi_disk *d, uint8_t *p)
{
	char t10[SCSI_DESIG_T10_VENDOR_LEN + SERIAL_MAX];
	size_t pos = sizeof(struct scsi_vpd_hdr);

	if (d->naa_len == 8 || d->naa_len == 16)
		pos += designator(p + pos, SCSI_DESIG_CODESET_BINARY, SCSI_DESIG_TYPE_NAA, d->naa,
				  d->naa_len);
	scsi__ascii(t10, SCSI_DESIG_T10_VENDOR_LEN, d->vendor, sizeof(d->vendor));
	size_t n =
	    scsi__ascii(t10 + SCSI_DESIG_T10_VENDOR_LEN, SERIAL_MAX, d->serial, sizeof(d->serial));
	pos += designator(p + pos, SCSI_DESIG_CODESET_ASCII, SCSI_DESIG_TYPE_T10, t10,
			  SCSI_DESIG_T10_VENDOR_LEN + n);
	return pos;
}

/* Backends (NVMe, files on 4 KiB filesystems) work in 4 KiB: smaller I/O costs them a
 * read-modify-write, so that is the granularity we ask for. */
static uint32_t granularity(const struct scsi_disk *d)
{
	return d->block_size && d->block_size < 4096 ? 4096 / d->block_size : 1;
}

static size_t vpd_block_limits(const struct scsi_disk *d, uint8_t *p)
{
	struct scsi_vpd_block_limits *bl = (void *)p;

	bl->wsnz = SCSI_BL_WSNZ;
	scsi_put_be16(bl->opt_xfer_granularity, (uint16_t)granularity(d));
	scsi_put_be32(bl->max_xfer_len, d->max_transfer_blocks);
	if (d->can_unmap) {
		scsi_put_be32(bl->max_unmap_lba_count, SCSI_MAX_UNMAP_BLOCKS);
		scsi_put_be32(bl->max_unmap_desc_count, SCSI_MAX_UNMAP_DESCRIPTORS);
		scsi_put_be32(bl->opt_unmap_granularity, granularity(d));
		scsi_put_be64(bl->max_write_same_len, SCSI_MAX_UNMAP_BLOCKS);
	}
	return sizeof(*bl);
}

static size_t vpd_block_dev_chars(const struct scsi_disk *d, uint8_t *p)
{
	struct scsi_vpd_block_dev_chars *bc = (void *)p;

	/* Non-rotating: Linux then skips seek-avoiding I/O scheduling. */
	scsi_put_be16(bc->rotation_rate, SCSI_ROTATION_NON_ROTATING);
	return sizeof(*bc);
}

static size_t vpd_lb_provisioning(const struct scsi_disk *d, uint8_t *p)
{
	struct scsi_vpd_lb_provisioning *lbp = (void *)p;

	lbp->flags = SCSI_LBP_LBPU | SCSI_LBP_LBPWS;
	lbp->type = SCSI_LBP_TYPE_THIN;
	return sizeof(*lbp);
}

static const struct {
	uint8_t code;
	bool needs_unmap; /* listed and answered only on a disk that can unmap */
	vpd_build_fn build;
} vpd_pages[] = {
    {SCSI_VPD_SUPPORTED_PAGES, false, vpd_supported},
    {SCSI_VPD_UNIT_SERIAL, false, vpd_serial},
    {SCSI_VPD_DEVICE_ID, false, vpd_device_id},
    {SCSI_VPD_BLOCK_LIMITS, false, vpd_block_limits},
    {SCSI_VPD_BLOCK_DEV_CHARS, false, vpd_block_dev_chars},
    {SCSI_VPD_LB_PROVISIONING, true, vpd_lb_provisioning},
};

static size_t vpd_supported(const struct scsi_disk *d, uint8_t *p)
{
	size_t pos = sizeof(struct scsi_vpd_hdr);

	for (size_t i = 0; i < ARRAY_SIZE(vpd_pages); i++)
		if (!vpd_pages[i].needs_unmap || d->can_unmap)
			p[pos++] = vpd_pages[i].code;
	return pos;
}

static void vpd(const struct scsi_cmd *c, uint8_t code, uint32_t alloc_len)
{
	uint8_t page[SCSI_REPLY_MAX] = {0};

	for (size_t i = 0; i < ARRAY_SIZE(vpd_pages); i++) {
		if (vpd_pages[i].code != code || (vpd_pages[i].needs_unmap && !c->d->can_unmap))
			continue;
		size_t len = vpd_pages[i].build(c->d, page);
		struct scsi_vpd_hdr *hdr = (void *)page;
		hdr->peripheral = SCSI_PDT_DISK;
		hdr->page_code = code;
		scsi_put_be16(hdr->page_len, (uint16_t)(len - sizeof(*hdr)));
		scsi__reply(c, page, len, alloc_len);
		return;
	}
	/* Linux rewrites this to GOOD; the caller then reports no data. */
	scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
}

void scsi__inquiry(const struct scsi_cmd *c)
{
	const struct scsi_cdb_inquiry *cdb = (const void *)c->cdb;
	uint32_t alloc_len = scsi_get_be16(cdb->alloc_len);

	if ((cdb->flags & INQ_CMDDT) || (!(cdb->flags & SCSI_INQ_EVPD) && cdb->page_code))
		scsi__illegal(c->out, SCSI_ASC_INVALID_FIELD_IN_CDB);
	else if (cdb->flags & SCSI_INQ_EVPD)
		vpd(c, cdb->page_code, alloc_len);
	else
		standard(c, alloc_len);
}
