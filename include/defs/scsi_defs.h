/* SPDX-License-Identifier: MIT */
/*
 * SCSI wire definitions for a direct-access block device (SAM-5, SPC-4, SBC-3): operation
 * codes, sense keys and additional sense codes, VPD and mode page codes, and the layouts of
 * the CDBs and data the disk emulation parses or builds.
 *
 * Every multi-byte field is big-endian on the wire, so the layouts hold byte arrays that are
 * read with scsi_get_be*() and written with scsi_put_be*(); every struct has alignment 1 and
 * may be laid over any byte buffer of its size. Header-only.
 */
#ifndef MHCL_DEFS_SCSI_DEFS_H
#define MHCL_DEFS_SCSI_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* Operation codes (byte 0 of every CDB). */
#define SCSI_OP_TEST_UNIT_READY 0x00
#define SCSI_OP_REQUEST_SENSE 0x03
#define SCSI_OP_READ_6 0x08
#define SCSI_OP_WRITE_6 0x0A
#define SCSI_OP_INQUIRY 0x12
#define SCSI_OP_MODE_SELECT_6 0x15
#define SCSI_OP_MODE_SENSE_6 0x1A
#define SCSI_OP_START_STOP_UNIT 0x1B
#define SCSI_OP_PREVENT_ALLOW_MEDIUM_REMOVAL 0x1E
#define SCSI_OP_READ_CAPACITY_10 0x25
#define SCSI_OP_READ_10 0x28
#define SCSI_OP_WRITE_10 0x2A
#define SCSI_OP_VERIFY_10 0x2F
#define SCSI_OP_SYNCHRONIZE_CACHE_10 0x35
#define SCSI_OP_WRITE_SAME_10 0x41
#define SCSI_OP_UNMAP 0x42
#define SCSI_OP_MODE_SELECT_10 0x55
#define SCSI_OP_MODE_SENSE_10 0x5A
#define SCSI_OP_READ_16 0x88
#define SCSI_OP_WRITE_16 0x8A
#define SCSI_OP_VERIFY_16 0x8F
#define SCSI_OP_SYNCHRONIZE_CACHE_16 0x91
#define SCSI_OP_WRITE_SAME_16 0x93
#define SCSI_OP_SERVICE_ACTION_IN_16 0x9E
#define SCSI_OP_REPORT_LUNS 0xA0
#define SCSI_OP_MAINTENANCE_IN 0xA3
#define SCSI_OP_READ_12 0xA8
#define SCSI_OP_WRITE_12 0xAA

/* Service actions (bits 4:0 of byte 1). */
#define SCSI_SA_MASK 0x1F
#define SCSI_SAI_READ_CAPACITY_16 0x10	      /* under SERVICE ACTION IN(16) */
#define SCSI_MI_REPORT_SUPPORTED_OPCODES 0x0C /* under MAINTENANCE IN */

/*
 * The CDB length follows from the opcode's group (bits 7:5): 6, 10, 10, reserved, 16, 12,
 * then two vendor-specific groups. 0 = no fixed length.
 */
static inline unsigned scsi_cdb_group_len(uint8_t opcode)
{
	static const uint8_t len[8] = {6, 10, 10, 0, 16, 12, 0, 0};
	return len[opcode >> 5];
}

/* The last byte of every CDB. NACA asks for ACA, which needs NormACA in INQUIRY. */
#define SCSI_CONTROL_NACA 0x04

/* Sense keys. */
#define SCSI_SENSE_NO_SENSE 0x0
#define SCSI_SENSE_RECOVERED_ERROR 0x1
#define SCSI_SENSE_NOT_READY 0x2
#define SCSI_SENSE_MEDIUM_ERROR 0x3
#define SCSI_SENSE_HARDWARE_ERROR 0x4
#define SCSI_SENSE_ILLEGAL_REQUEST 0x5
#define SCSI_SENSE_UNIT_ATTENTION 0x6
#define SCSI_SENSE_DATA_PROTECT 0x7
#define SCSI_SENSE_ABORTED_COMMAND 0xB

/* Additional sense codes (ASC) and their qualifiers (ASCQ, 0 unless named). */
#define SCSI_ASC_NO_ADDITIONAL_SENSE 0x00
#define SCSI_ASC_WRITE_ERROR 0x0C
#define SCSI_ASC_UNRECOVERED_READ_ERROR 0x11
#define SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR 0x1A
#define SCSI_ASC_INVALID_COMMAND_OPCODE 0x20
#define SCSI_ASC_LBA_OUT_OF_RANGE 0x21
#define SCSI_ASC_INVALID_FIELD_IN_CDB 0x24
#define SCSI_ASC_LUN_NOT_SUPPORTED 0x25
#define SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST 0x26
#define SCSI_ASC_WRITE_PROTECTED 0x27
#define SCSI_ASCQ_SPACE_ALLOC_FAILED_WRITE_PROTECT 0x07
#define SCSI_ASC_CAPACITY_CHANGED 0x2A
#define SCSI_ASCQ_CAPACITY_DATA_CHANGED 0x09
#define SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED 0x39
#define SCSI_ASC_TARGET_CHANGED 0x3F
#define SCSI_ASCQ_REPORTED_LUNS_DATA_CHANGED 0x0E
#define SCSI_ASC_INTERNAL_TARGET_FAILURE 0x44

/* VPD page codes (INQUIRY with EVPD). */
#define SCSI_VPD_SUPPORTED_PAGES 0x00
#define SCSI_VPD_UNIT_SERIAL 0x80
#define SCSI_VPD_DEVICE_ID 0x83
#define SCSI_VPD_BLOCK_LIMITS 0xB0
#define SCSI_VPD_BLOCK_DEV_CHARS 0xB1
#define SCSI_VPD_LB_PROVISIONING 0xB2

/* Mode pages, and the page control field (bits 7:6 of the MODE SENSE page byte). */
#define SCSI_MODE_PAGE_CACHING 0x08
#define SCSI_MODE_PAGE_CONTROL 0x0A
#define SCSI_MODE_PAGE_ALL 0x3F
#define SCSI_MODE_SUBPAGE_ALL 0xFF
#define SCSI_MODE_PAGE_CODE_MASK 0x3F
#define SCSI_MODE_PAGE_PS 0x80	/* parameters saveable; reserved in MODE SELECT */
#define SCSI_MODE_PAGE_SPF 0x40 /* sub-page format */
#define SCSI_PC_SHIFT 6
#define SCSI_PC_CURRENT 0
#define SCSI_PC_CHANGEABLE 1
#define SCSI_PC_DEFAULT 2
#define SCSI_PC_SAVED 3

/* Peripheral device type 0 (direct access block device), qualifier 0 (connected). */
#define SCSI_PDT_DISK 0x00
#define SCSI_VERSION_SPC4 0x06

static inline uint16_t scsi_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t scsi_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t scsi_get_be64(const uint8_t *p)
{
	return (uint64_t)scsi_get_be32(p) << 32 | scsi_get_be32(p + 4);
}
static inline void scsi_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void scsi_put_be32(uint8_t *p, uint32_t v)
{
	scsi_put_be16(p, (uint16_t)(v >> 16));
	scsi_put_be16(p + 2, (uint16_t)v);
}
static inline void scsi_put_be64(uint8_t *p, uint64_t v)
{
	scsi_put_be32(p, (uint32_t)(v >> 32));
	scsi_put_be32(p + 4, (uint32_t)v);
}

/* ---- CDBs ---- */

/* READ(6), WRITE(6): a 21-bit LBA; a length of 0 means 256 blocks. */
struct scsi_cdb_rw6 {
	uint8_t opcode;
	uint8_t lba[3]; /* bits 4:0 of lba[0] are the top bits */
	uint8_t length;
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_rw6) == 6, "READ(6) CDB is 6 bytes");
#define SCSI_RW6_LBA_MASK 0x1FFFFFu

/* Byte 1 of READ/WRITE/VERIFY 10/12/16 and WRITE SAME(16). */
#define SCSI_RW_PROTECT_MASK 0xE0 /* RDPROTECT/WRPROTECT/VRPROTECT */
#define SCSI_RW_DPO 0x10
#define SCSI_RW_FUA 0x08
#define SCSI_VERIFY_BYTCHK_MASK 0x06
#define SCSI_SYNC_IMMED 0x02
#define SCSI_WS_ANCHOR 0x10
#define SCSI_WS_UNMAP 0x08
#define SCSI_WS_NDOB 0x01

/* READ/WRITE(10), VERIFY(10), SYNCHRONIZE CACHE(10). */
struct scsi_cdb_lba10 {
	uint8_t opcode;
	uint8_t flags;
	uint8_t lba[4];
	uint8_t group;
	uint8_t length[2];
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_lba10) == 10, "10-byte LBA CDB");
static_assert(offsetof(struct scsi_cdb_lba10, length) == 7, "length at 7");

/* READ/WRITE(12). */
struct scsi_cdb_lba12 {
	uint8_t opcode;
	uint8_t flags;
	uint8_t lba[4];
	uint8_t length[4];
	uint8_t group;
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_lba12) == 12, "12-byte LBA CDB");

/* READ/WRITE(16), VERIFY(16), SYNCHRONIZE CACHE(16), WRITE SAME(16). */
struct scsi_cdb_lba16 {
	uint8_t opcode;
	uint8_t flags;
	uint8_t lba[8];
	uint8_t length[4];
	uint8_t group;
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_lba16) == 16, "16-byte LBA CDB");
static_assert(offsetof(struct scsi_cdb_lba16, length) == 10, "length at 10");

#define SCSI_INQ_EVPD 0x01
struct scsi_cdb_inquiry {
	uint8_t opcode;
	uint8_t flags; /* SCSI_INQ_EVPD */
	uint8_t page_code;
	uint8_t alloc_len[2];
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_inquiry) == 6, "INQUIRY CDB is 6 bytes");

#define SCSI_REQUEST_SENSE_DESC 0x01
struct scsi_cdb_request_sense {
	uint8_t opcode;
	uint8_t flags; /* SCSI_REQUEST_SENSE_DESC */
	uint8_t reserved[2];
	uint8_t alloc_len;
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_request_sense) == 6, "REQUEST SENSE CDB is 6 bytes");

#define SCSI_RC10_PMI 0x01
struct scsi_cdb_read_capacity10 {
	uint8_t opcode;
	uint8_t reserved1;
	uint8_t lba[4]; /* obsolete: 0 unless PMI */
	uint8_t reserved6[2];
	uint8_t pmi;
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_read_capacity10) == 10, "READ CAPACITY(10) CDB");

/* SERVICE ACTION IN(16) / READ CAPACITY(16). */
struct scsi_cdb_read_capacity16 {
	uint8_t opcode;
	uint8_t service_action;
	uint8_t lba[8]; /* obsolete: 0 unless PMI */
	uint8_t alloc_len[4];
	uint8_t pmi;
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_read_capacity16) == 16, "READ CAPACITY(16) CDB");
static_assert(offsetof(struct scsi_cdb_read_capacity16, alloc_len) == 10, "alloc_len at 10");

#define SCSI_UNMAP_ANCHOR 0x01
struct scsi_cdb_unmap {
	uint8_t opcode;
	uint8_t flags; /* SCSI_UNMAP_ANCHOR */
	uint8_t reserved[4];
	uint8_t group;
	uint8_t param_len[2];
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_unmap) == 10, "UNMAP CDB is 10 bytes");

#define SCSI_MS_LLBAA 0x10 /* MODE SENSE(10): a long LBA block descriptor is welcome */
#define SCSI_MS_DBD 0x08   /* no block descriptors */
struct scsi_cdb_mode_sense6 {
	uint8_t opcode;
	uint8_t flags;
	uint8_t page; /* PC 7:6, page code 5:0 */
	uint8_t subpage;
	uint8_t alloc_len;
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_mode_sense6) == 6, "MODE SENSE(6) CDB is 6 bytes");

struct scsi_cdb_mode_sense10 {
	uint8_t opcode;
	uint8_t flags;
	uint8_t page;
	uint8_t subpage;
	uint8_t reserved[3];
	uint8_t alloc_len[2];
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_mode_sense10) == 10, "MODE SENSE(10) CDB is 10 bytes");

#define SCSI_MSEL_PF 0x10 /* pages follow the SPC format */
#define SCSI_MSEL_SP 0x01 /* save pages */
struct scsi_cdb_mode_select6 {
	uint8_t opcode;
	uint8_t flags;
	uint8_t reserved[2];
	uint8_t param_len;
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_mode_select6) == 6, "MODE SELECT(6) CDB is 6 bytes");

struct scsi_cdb_mode_select10 {
	uint8_t opcode;
	uint8_t flags;
	uint8_t reserved[5];
	uint8_t param_len[2];
	uint8_t control;
};
static_assert(sizeof(struct scsi_cdb_mode_select10) == 10, "MODE SELECT(10) CDB is 10 bytes");

/* ---- Data ---- */

/* Fixed-format sense data (response code 0x70: current error). */
#define SCSI_SENSE_FIXED_CURRENT 0x70
#define SCSI_SENSE_FIXED_ADDITIONAL_LEN 10
#define SCSI_SENSE_KEY_MASK 0x0F
struct scsi_sense_fixed {
	uint8_t response_code; /* bit 7 VALID: information is meaningful */
	uint8_t obsolete;
	uint8_t key; /* FILEMARK, EOM, ILI, SDAT_OVFL in 7:4, sense key in 3:0 */
	uint8_t information[4];
	uint8_t additional_len; /* bytes after this one: 10 */
	uint8_t cmd_specific[4];
	uint8_t asc;
	uint8_t ascq;
	uint8_t fru;
	uint8_t sense_key_specific[3];
};
static_assert(sizeof(struct scsi_sense_fixed) == 18, "fixed sense is 18 bytes");
static_assert(offsetof(struct scsi_sense_fixed, additional_len) == 7, "additional_len at 7");
static_assert(sizeof(struct scsi_sense_fixed) == 8 + SCSI_SENSE_FIXED_ADDITIONAL_LEN,
	      "additional_len counts the bytes after it");
static_assert(offsetof(struct scsi_sense_fixed, asc) == 12, "asc at 12");
static_assert(offsetof(struct scsi_sense_fixed, ascq) == 13, "ascq at 13");

/* Standard INQUIRY data: the 36 mandatory bytes plus the version descriptors. */
#define SCSI_INQ_RMB 0x80
#define SCSI_INQ_HISUP 0x10
#define SCSI_INQ_RESPONSE_FORMAT 0x02
#define SCSI_INQ_CMDQUE 0x02
#define SCSI_VERSION_DESC_SAM5 0x00A0
#define SCSI_VERSION_DESC_SPC4 0x0460
#define SCSI_VERSION_DESC_SBC3 0x04C0
struct scsi_inquiry_data {
	uint8_t peripheral;	/* qualifier 7:5, device type 4:0 */
	uint8_t rmb;		/* SCSI_INQ_RMB */
	uint8_t version;	/* SCSI_VERSION_SPC4 */
	uint8_t format;		/* NormACA 5, HiSup 4, response data format 3:0 */
	uint8_t additional_len; /* bytes after this one */
	uint8_t flags5;		/* SCCS, ACC, TPGS, 3PC, PROTECT */
	uint8_t flags6;		/* ENCSERV, MULTIP */
	uint8_t flags7;		/* CMDQUE */
	char vendor[8];		/* ASCII, space padded */
	char product[16];
	char revision[4];
	uint8_t vendor_specific[20];
	uint8_t flags56;
	uint8_t reserved57;
	uint8_t version_desc[8][2];
	uint8_t reserved74[22];
};
static_assert(sizeof(struct scsi_inquiry_data) == 96, "standard INQUIRY data is 96 bytes");
static_assert(offsetof(struct scsi_inquiry_data, vendor) == 8, "vendor at 8");
static_assert(offsetof(struct scsi_inquiry_data, product) == 16, "product at 16");
static_assert(offsetof(struct scsi_inquiry_data, revision) == 32, "revision at 32");
static_assert(offsetof(struct scsi_inquiry_data, version_desc) == 58, "version descriptors at 58");

/* Every VPD page starts with this. */
struct scsi_vpd_hdr {
	uint8_t peripheral;
	uint8_t page_code;
	uint8_t page_len[2]; /* bytes after this header */
};
static_assert(sizeof(struct scsi_vpd_hdr) == 4, "VPD header is 4 bytes");

/* Device identification (0x83): a list of designators, each behind this header. */
#define SCSI_DESIG_CODESET_BINARY 0x1
#define SCSI_DESIG_CODESET_ASCII 0x2
#define SCSI_DESIG_ASSOC_LU 0x00 /* bits 5:4 of type: the logical unit */
#define SCSI_DESIG_TYPE_T10 0x1
#define SCSI_DESIG_TYPE_NAA 0x3
#define SCSI_DESIG_T10_VENDOR_LEN 8
struct scsi_vpd_designator_hdr {
	uint8_t codeset; /* protocol identifier 7:4, code set 3:0 */
	uint8_t type;	 /* PIV 7, association 5:4, designator type 3:0 */
	uint8_t reserved;
	uint8_t len; /* designator bytes after this header */
};
static_assert(sizeof(struct scsi_vpd_designator_hdr) == 4, "designator header is 4 bytes");

/* Block limits (0xB0). */
#define SCSI_BL_WSNZ 0x01 /* WRITE SAME with 0 blocks is refused, not "to the end" */
#define SCSI_BL_UGAVALID 0x80000000u
struct scsi_vpd_block_limits {
	struct scsi_vpd_hdr hdr; /* page_len 0x3C */
	uint8_t wsnz;
	uint8_t max_compare_write_len;
	uint8_t opt_xfer_granularity[2];
	uint8_t max_xfer_len[4];
	uint8_t opt_xfer_len[4];
	uint8_t max_prefetch_len[4];
	uint8_t max_unmap_lba_count[4];
	uint8_t max_unmap_desc_count[4];
	uint8_t opt_unmap_granularity[4];
	uint8_t unmap_granularity_align[4]; /* SCSI_BL_UGAVALID | alignment */
	uint8_t max_write_same_len[8];
	uint8_t max_atomic_xfer_len[4];
	uint8_t atomic_alignment[4];
	uint8_t atomic_xfer_granularity[4];
	uint8_t reserved[8];
};
static_assert(sizeof(struct scsi_vpd_block_limits) == 64, "block limits VPD is 64 bytes");
static_assert(offsetof(struct scsi_vpd_block_limits, max_xfer_len) == 8, "max transfer at 8");
static_assert(offsetof(struct scsi_vpd_block_limits, max_unmap_lba_count) == 20, "unmap at 20");
static_assert(offsetof(struct scsi_vpd_block_limits, max_write_same_len) == 36, "WS at 36");

/* Block device characteristics (0xB1). */
#define SCSI_ROTATION_NON_ROTATING 0x0001
struct scsi_vpd_block_dev_chars {
	struct scsi_vpd_hdr hdr; /* page_len 0x3C */
	uint8_t rotation_rate[2];
	uint8_t product_type;
	uint8_t form_factor; /* WABEREQ 7:6, WACEREQ 5:4, nominal form factor 3:0 */
	uint8_t flags8;	     /* FUAB, VBULS */
	uint8_t reserved[55];
};
static_assert(sizeof(struct scsi_vpd_block_dev_chars) == 64, "characteristics VPD is 64 bytes");

/* Logical block provisioning (0xB2), without provisioning group descriptor. */
#define SCSI_LBP_LBPU 0x80    /* UNMAP */
#define SCSI_LBP_LBPWS 0x40   /* WRITE SAME(16) with UNMAP */
#define SCSI_LBP_LBPWS10 0x20 /* WRITE SAME(10) with UNMAP */
#define SCSI_LBP_TYPE_THIN 0x02
struct scsi_vpd_lb_provisioning {
	struct scsi_vpd_hdr hdr; /* page_len 4 */
	uint8_t threshold_exponent;
	uint8_t flags; /* SCSI_LBP_* , LBPRZ 4:2, ANC_SUP 1, DP 0 */
	uint8_t type;  /* minimum percentage 7:3, provisioning type 2:0 */
	uint8_t threshold_percentage;
};
static_assert(sizeof(struct scsi_vpd_lb_provisioning) == 8, "provisioning VPD is 8 bytes");

/* READ CAPACITY(10) data. */
struct scsi_read_capacity10_data {
	uint8_t last_lba[4]; /* 0xFFFFFFFF: too big, use READ CAPACITY(16) */
	uint8_t block_len[4];
};
static_assert(sizeof(struct scsi_read_capacity10_data) == 8, "READ CAPACITY(10) data");

/* READ CAPACITY(16) data. */
#define SCSI_RC16_LBPME 0x80 /* logical block provisioning (UNMAP) enabled */
#define SCSI_RC16_LBPRZ 0x40 /* unmapped blocks read as zeroes */
struct scsi_read_capacity16_data {
	uint8_t last_lba[8];
	uint8_t block_len[4];
	uint8_t protection; /* P_TYPE 3:1, PROT_EN 0 */
	uint8_t exponents;  /* P_I_EXPONENT 7:4, logical blocks per physical block 3:0 */
	uint8_t lbp[2];	    /* LBPME, LBPRZ, lowest aligned LBA 13:0 */
	uint8_t reserved[16];
};
static_assert(sizeof(struct scsi_read_capacity16_data) == 32, "READ CAPACITY(16) data");
static_assert(offsetof(struct scsi_read_capacity16_data, lbp) == 14, "LBPME at 14");

/* UNMAP parameter list: a header and then block descriptors. */
struct scsi_unmap_param_hdr {
	uint8_t data_len[2];	   /* bytes after this field */
	uint8_t block_desc_len[2]; /* bytes of descriptors after the header */
	uint8_t reserved[4];
};
static_assert(sizeof(struct scsi_unmap_param_hdr) == 8, "UNMAP parameter header is 8 bytes");

struct scsi_unmap_block_desc {
	uint8_t lba[8];
	uint8_t nblocks[4];
	uint8_t reserved[4];
};
static_assert(sizeof(struct scsi_unmap_block_desc) == 16, "UNMAP descriptor is 16 bytes");

/* Mode parameter headers (MODE SENSE/SELECT 6 and 10). */
#define SCSI_MODE_DSP_WP 0x80	  /* device-specific parameter: write protected */
#define SCSI_MODE_DSP_DPOFUA 0x10 /* DPO and FUA are understood */
#define SCSI_MODE_LONGLBA 0x01
struct scsi_mode_hdr6 {
	uint8_t data_len; /* bytes after this field */
	uint8_t medium_type;
	uint8_t device_specific;
	uint8_t block_desc_len;
};
static_assert(sizeof(struct scsi_mode_hdr6) == 4, "mode header (6) is 4 bytes");

struct scsi_mode_hdr10 {
	uint8_t data_len[2];
	uint8_t medium_type;
	uint8_t device_specific;
	uint8_t longlba; /* SCSI_MODE_LONGLBA */
	uint8_t reserved;
	uint8_t block_desc_len[2];
};
static_assert(sizeof(struct scsi_mode_hdr10) == 8, "mode header (10) is 8 bytes");

/* Direct-access block descriptors: short (8 bytes) and long LBA (16 bytes). */
struct scsi_mode_block_desc {
	uint8_t nblocks[4]; /* 0xFFFFFFFF when larger */
	uint8_t reserved;
	uint8_t block_len[3];
};
static_assert(sizeof(struct scsi_mode_block_desc) == 8, "short block descriptor is 8 bytes");

struct scsi_mode_block_desc_long {
	uint8_t nblocks[8];
	uint8_t reserved[4];
	uint8_t block_len[4];
};
static_assert(sizeof(struct scsi_mode_block_desc_long) == 16, "long block descriptor");

/* Caching mode page (0x08). */
#define SCSI_CACHING_WCE 0x04 /* write cache enabled */
#define SCSI_CACHING_RCD 0x01 /* read cache disabled */
struct scsi_mode_page_caching {
	uint8_t page_code; /* PS 7, SPF 6, page code 5:0 */
	uint8_t page_len;  /* 0x12 */
	uint8_t flags2;	   /* IC, ABPF, CAP, DISC, SIZE, WCE, MF, RCD */
	uint8_t retention; /* demand read / write retention priority */
	uint8_t disable_prefetch_len[2];
	uint8_t min_prefetch[2];
	uint8_t max_prefetch[2];
	uint8_t max_prefetch_ceiling[2];
	uint8_t flags12; /* FSW, LBCSS, DRA, NV_DIS */
	uint8_t cache_segments;
	uint8_t cache_segment_size[2];
	uint8_t reserved16;
	uint8_t obsolete[3];
};
static_assert(sizeof(struct scsi_mode_page_caching) == 20, "caching page is 20 bytes");

/* Control mode page (0x0A). */
#define SCSI_CONTROL_QAM_UNRESTRICTED 0x10 /* queue algorithm modifier 1 */
struct scsi_mode_page_control {
	uint8_t page_code;
	uint8_t page_len; /* 0x0A */
	uint8_t flags2;	  /* TST 7:5, TMF_ONLY, DPICZ, D_SENSE, GLTSD, RLEC */
	uint8_t flags3;	  /* queue algorithm modifier 7:4, NUAR, QERR 2:1 */
	uint8_t flags4;	  /* VS, RAC, UA_INTLCK_CTRL, SWP */
	uint8_t flags5;	  /* ATO, TAS, ATMPE, RWWP, autoload mode */
	uint8_t obsolete[2];
	uint8_t busy_timeout[2];
	uint8_t self_test_time[2];
};
static_assert(sizeof(struct scsi_mode_page_control) == 12, "control page is 12 bytes");

#endif
