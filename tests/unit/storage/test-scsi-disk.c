/* SPDX-License-Identifier: MIT */
/*
 * servers/storage/scsi_disk.c: every command against a few disks, each refusal with its
 * exact sense key/ASC/ASCQ, allocation-length truncation, READ(6) 0 = 256 blocks, LBA
 * boundaries and 64-bit overflow, the UNMAP and MODE SELECT parsers against lying lengths,
 * and the bytes of INQUIRY, VPD, READ CAPACITY and MODE SENSE data.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defs/scsi_defs.h"
#include "scsi_disk.h"
#include "test.h"

/* Big-endian bytes, to write CDBs and parameter lists as literals. */
#define BE16(x) (uint8_t)((x) >> 8), (uint8_t)(x)
#define BE32(x) BE16((uint32_t)(x) >> 16), BE16(x)
#define BE64(x) BE32((uint64_t)(x) >> 32), BE32(x)

/* A: thin, cached, 1000 x 512 B, at most 128 blocks per transfer. */
static const struct scsi_disk disk_a = {
    .nblocks = 1000,
    .block_size = 512,
    .max_transfer_blocks = 128,
    .can_unmap = true,
    .write_cache = true,
    .vendor = "Msft",
    .product = "Virtual Disk",
    .revision = "1.0",
    .serial = "SER123",
    .naa = {0x60, 0x02, 0x24, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
    .naa_len = 16,
};
/* B: read only, 2^33 x 4 KiB (too big for READ CAPACITY(10)), no limit, no unmap. */
static const struct scsi_disk disk_b = {
    .nblocks = 1ull << 33,
    .block_size = 4096,
    .read_only = true,
    .vendor = "mhcl",
    .product = "ro",
    .revision = "2",
    .serial = "B",
};
/* C: 300 x 512 B, no limit, no unmap, no cache, no serial. */
static const struct scsi_disk disk_c = {
    .nblocks = 300,
    .block_size = 512,
    .vendor = "mhcl",
    .product = "c",
    .revision = "3",
};
/* D: A, but read only. */
static const struct scsi_disk disk_d = {
    .nblocks = 1000,
    .block_size = 512,
    .max_transfer_blocks = 128,
    .read_only = true,
    .can_unmap = true,
    .vendor = "Msft",
};
/* E: thin and huge, for the UNMAP block limit. */
static const struct scsi_disk disk_e = {
    .nblocks = 1ull << 40,
    .block_size = 4096,
    .can_unmap = true,
    .vendor = "mhcl",
};

/* An expected outcome: key/ASC/ASCQ packed, 0 = GOOD. */
#define SK(key, asc, ascq) ((key) << 16 | (asc) << 8 | (ascq))
#define GOOD 0
#define BAD_OPCODE SK(5, 0x20, 0)
#define BAD_CDB SK(5, 0x24, 0)
#define BAD_LBA SK(5, 0x21, 0)
#define BAD_PARAM SK(5, 0x26, 0)
#define BAD_PLEN SK(5, 0x1A, 0)
#define NO_SAVE SK(5, 0x39, 0)
#define WP SK(7, 0x27, 0)
#define ANY_LEN -1

struct tcase {
	const char *name;
	const struct scsi_disk *d;
	uint8_t cdb[16];
	uint8_t cdb_len; /* 0: the opcode's group length */
	uint32_t xfer_len;
	const uint8_t *params;
	size_t params_len;
	uint32_t sense; /* for DONE */
	int64_t data_len;
	/* SCSI_EXEC_IO when io is set */
	bool io;
	enum disk_op op;
	uint64_t lba;
	uint32_t nblocks;
	bool fua;
	uint32_t nranges;
	struct disk_range ranges[2];
};

#define PARAMS(...)                                                                                \
	.params = (const uint8_t[]){__VA_ARGS__},                                                  \
	.params_len = sizeof((const uint8_t[]){__VA_ARGS__})
#define IO_RW(o, l, n, f) .io = true, .op = (o), .lba = (l), .nblocks = (n), .fua = (f)
#define IO_FLUSH .io = true, .op = DISK_OP_FLUSH
#define IO_DISCARD1(l, n) .io = true, .op = DISK_OP_DISCARD, .nranges = 1, .ranges = {{(l), (n)}}

/* UNMAP parameter list pieces: header (data length, descriptor length), descriptor. */
#define UHDR(dl, bdl) BE16(dl), BE16(bdl), 0, 0, 0, 0
#define UDESC(lba, n) BE64(lba), BE32(n), 0, 0, 0, 0

/* MODE SELECT pieces for disk A: headers, short and long block descriptors, its pages. */
#define MH6(bdl) 0, 0, 0, (bdl)
#define MH10(longlba, bdl) 0, 0, 0, 0, (longlba), 0, BE16(bdl)
#define BD_A BE32(1000), 0, 0, 2, 0
#define BDL_A BE64(1000), 0, 0, 0, 0, BE32(512)
#define CACHING(flags2) 0x08, 0x12, (flags2), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
#define CONTROL 0x0A, 0x0A, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0

/* clang-format off */
#define UNMAP_CDB(pll) {SCSI_OP_UNMAP, 0, 0, 0, 0, 0, 0, BE16(pll), 0}
#define MSEL6(pll) {SCSI_OP_MODE_SELECT_6, SCSI_MSEL_PF, 0, 0, (pll), 0}
#define MSEL10(pll) {SCSI_OP_MODE_SELECT_10, SCSI_MSEL_PF, 0, 0, 0, 0, 0, BE16(pll), 0}
#define WS16(flags, lba, n) {SCSI_OP_WRITE_SAME_16, (flags), BE64(lba), BE32(n), 0, 0}
#define RW10(op, flags, lba, n) {(op), (flags), BE32(lba), 0, BE16(n), 0}
#define RW16(op, flags, lba, n) {(op), (flags), BE64(lba), BE32(n), 0, 0}
#define INQ(evpd, page, alloc) {SCSI_OP_INQUIRY, (evpd), (page), BE16(alloc), 0}
#define RC16(sa, lba, alloc) {SCSI_OP_SERVICE_ACTION_IN_16, (sa), BE64(lba), BE32(alloc), 0, 0}

static const struct tcase cases[] = {
    /* Dispatch: opcode, CDB length, NACA. */
    {"empty cdb", &disk_a, {0}, .cdb_len = 0xFF, .sense = BAD_OPCODE},
    {"unknown opcode", &disk_a, {0xFF}, .cdb_len = 16, .sense = BAD_OPCODE},
    {"persistent reserve in", &disk_a, {0x5E, 0, 0, 0, 0, 0, 0, 0, 24, 0}, .sense = BAD_OPCODE},
    {"write same(10)", &disk_a, {SCSI_OP_WRITE_SAME_10, 8, 0, 0, 0, 0, 0, 0, 1, 0},
     .sense = BAD_OPCODE},
    {"report supported opcodes", &disk_a,
     {SCSI_OP_MAINTENANCE_IN, SCSI_MI_REPORT_SUPPORTED_OPCODES, 0, 0, 0, 0, BE32(512), 0, 0},
     .xfer_len = 512, .sense = BAD_OPCODE},
    {"report luns is the caller's", &disk_a, {SCSI_OP_REPORT_LUNS, 0, 0, 0, 0, 0, BE32(4096)},
     .xfer_len = 4096, .sense = BAD_OPCODE},
    {"read(10) cdb too short", &disk_a, RW10(SCSI_OP_READ_10, 0, 0, 1), .cdb_len = 9,
     .xfer_len = 512, .sense = BAD_CDB},
    {"read(16) in 10 bytes", &disk_a, RW16(SCSI_OP_READ_16, 0, 0, 1), .cdb_len = 10,
     .xfer_len = 512, .sense = BAD_CDB},
    {"tur naca", &disk_a, {SCSI_OP_TEST_UNIT_READY, 0, 0, 0, 0, SCSI_CONTROL_NACA},
     .sense = BAD_CDB},
    {"read(10) naca", &disk_a, {SCSI_OP_READ_10, 0, BE32(0), 0, BE16(1), SCSI_CONTROL_NACA},
     .xfer_len = 512, .sense = BAD_CDB},
    {"read(16) naca", &disk_a, {SCSI_OP_READ_16, 0, BE64(0), BE32(1), 0, SCSI_CONTROL_NACA},
     .xfer_len = 512, .sense = BAD_CDB},
    {"cdb longer than its group is fine", &disk_a, {SCSI_OP_TEST_UNIT_READY}, .cdb_len = 16,
     .sense = GOOD},
    {"unmap without thin provisioning", &disk_c, UNMAP_CDB(24), .xfer_len = 24,
     .sense = BAD_OPCODE},
    {"unmap unsupported beats short cdb", &disk_c, {SCSI_OP_UNMAP}, .cdb_len = 1,
     .sense = BAD_OPCODE},
    {"write same(16) without thin provisioning", &disk_c, WS16(SCSI_WS_UNMAP, 0, 1),
     .xfer_len = 512, .sense = BAD_OPCODE},

    /* No-ops. */
    {"test unit ready", &disk_a, {SCSI_OP_TEST_UNIT_READY}, .sense = GOOD},
    {"start stop unit", &disk_a, {SCSI_OP_START_STOP_UNIT, 0, 0, 0, 1, 0}, .sense = GOOD},
    {"prevent allow", &disk_b, {SCSI_OP_PREVENT_ALLOW_MEDIUM_REMOVAL, 0, 0, 0, 1, 0},
     .sense = GOOD},

    /* READ/WRITE(10). */
    {"read(10)", &disk_a, RW10(SCSI_OP_READ_10, 0, 0, 8), .xfer_len = 4096,
     IO_RW(DISK_OP_READ, 0, 8, false)},
    {"read(10) fua is no write", &disk_a, RW10(SCSI_OP_READ_10, SCSI_RW_FUA, 5, 1),
     .xfer_len = 512, IO_RW(DISK_OP_READ, 5, 1, false)},
    {"read(10) last block", &disk_a, RW10(SCSI_OP_READ_10, 0, 999, 1), .xfer_len = 512,
     IO_RW(DISK_OP_READ, 999, 1, false)},
    {"read(10) one past", &disk_a, RW10(SCSI_OP_READ_10, 0, 1000, 1), .xfer_len = 512,
     .sense = BAD_LBA},
    {"read(10) runs past", &disk_a, RW10(SCSI_OP_READ_10, 0, 999, 2), .xfer_len = 1024,
     .sense = BAD_LBA},
    {"read(10) max transfer", &disk_a, RW10(SCSI_OP_READ_10, 0, 0, 128), .xfer_len = 65536,
     IO_RW(DISK_OP_READ, 0, 128, false)},
    {"read(10) over max transfer", &disk_a, RW10(SCSI_OP_READ_10, 0, 0, 129),
     .xfer_len = 129 * 512, .sense = BAD_CDB},
    {"read(10) xfer short", &disk_a, RW10(SCSI_OP_READ_10, 0, 0, 8), .xfer_len = 4095,
     .sense = BAD_CDB},
    {"read(10) xfer long", &disk_a, RW10(SCSI_OP_READ_10, 0, 0, 8), .xfer_len = 4097,
     .sense = BAD_CDB},
    {"read(10) zero blocks", &disk_a, RW10(SCSI_OP_READ_10, 0, 7, 0), .sense = GOOD},
    {"read(10) zero blocks at the end", &disk_a, RW10(SCSI_OP_READ_10, 0, 1000, 0),
     .sense = GOOD},
    {"read(10) zero blocks past the end", &disk_a, RW10(SCSI_OP_READ_10, 0, 1001, 0),
     .sense = BAD_LBA},
    {"read(10) zero blocks with data", &disk_a, RW10(SCSI_OP_READ_10, 0, 0, 0), .xfer_len = 512,
     .sense = BAD_CDB},
    {"read(10) rdprotect", &disk_a, RW10(SCSI_OP_READ_10, 0x20, 0, 1), .xfer_len = 512,
     .sense = BAD_CDB},
    {"write(10) fua", &disk_a, RW10(SCSI_OP_WRITE_10, SCSI_RW_FUA, 10, 2), .xfer_len = 1024,
     IO_RW(DISK_OP_WRITE, 10, 2, true)},
    {"write(10) dpo only", &disk_a, RW10(SCSI_OP_WRITE_10, SCSI_RW_DPO, 10, 2), .xfer_len = 1024,
     IO_RW(DISK_OP_WRITE, 10, 2, false)},
    {"write(10) wrprotect", &disk_a, RW10(SCSI_OP_WRITE_10, 0x40, 0, 1), .xfer_len = 512,
     .sense = BAD_CDB},
    {"write(10) read only", &disk_b, RW10(SCSI_OP_WRITE_10, 0, 0, 1), .xfer_len = 4096,
     .sense = WP},
    {"write(10) read only, zero blocks", &disk_b, RW10(SCSI_OP_WRITE_10, 0, 0, 0), .sense = WP},
    {"write(10) read only, range first", &disk_d, RW10(SCSI_OP_WRITE_10, 0, 999, 2),
     .xfer_len = 1024, .sense = BAD_LBA},
    {"read(10) read only", &disk_b, RW10(SCSI_OP_READ_10, 0, 0xFFFFFFFF, 2), .xfer_len = 8192,
     IO_RW(DISK_OP_READ, 0xFFFFFFFF, 2, false)},

    /* READ/WRITE(6): 21-bit LBA, 0 blocks = 256. */
    {"read(6) 0 is 256", &disk_c, {SCSI_OP_READ_6, 0, 0, 0, 0, 0}, .xfer_len = 256 * 512,
     IO_RW(DISK_OP_READ, 0, 256, false)},
    {"read(6) 256 to the last block", &disk_c, {SCSI_OP_READ_6, 0, 0, 44, 0, 0},
     .xfer_len = 256 * 512, IO_RW(DISK_OP_READ, 44, 256, false)},
    {"read(6) 256 one past", &disk_c, {SCSI_OP_READ_6, 0, 0, 45, 0, 0}, .xfer_len = 256 * 512,
     .sense = BAD_LBA},
    {"read(6) 0 with no data", &disk_c, {SCSI_OP_READ_6, 0, 0, 0, 0, 0}, .sense = BAD_CDB},
    {"read(6) 256 over max transfer", &disk_a, {SCSI_OP_READ_6, 0, 0, 0, 0, 0},
     .xfer_len = 256 * 512, .sense = BAD_CDB},
    {"read(6) 21-bit lba, lun bits ignored", &disk_b, {SCSI_OP_READ_6, 0xFF, 0xFF, 0xFF, 1, 0},
     .xfer_len = 4096, IO_RW(DISK_OP_READ, 0x1FFFFF, 1, false)},
    {"write(6)", &disk_c, {SCSI_OP_WRITE_6, 0, 1, 2, 3, 0}, .xfer_len = 3 * 512,
     IO_RW(DISK_OP_WRITE, 0x102, 3, false)},
    {"write(6) read only", &disk_b, {SCSI_OP_WRITE_6, 0, 0, 0, 1, 0}, .xfer_len = 4096,
     .sense = WP},

    /* READ/WRITE(12). */
    {"read(12)", &disk_a, {SCSI_OP_READ_12, 0, BE32(10), BE32(2), 0, 0}, .xfer_len = 1024,
     IO_RW(DISK_OP_READ, 10, 2, false)},
    {"write(12) fua", &disk_a, {SCSI_OP_WRITE_12, SCSI_RW_FUA, BE32(10), BE32(2), 0, 0},
     .xfer_len = 1024, IO_RW(DISK_OP_WRITE, 10, 2, true)},
    {"read(12) huge count", &disk_a, {SCSI_OP_READ_12, 0, BE32(0), BE32(0x10000000), 0, 0},
     .sense = BAD_CDB},

    /* READ/WRITE(16): 64-bit LBAs, and lba + count that wraps. */
    {"read(16) last block of 2^33", &disk_b, RW16(SCSI_OP_READ_16, 0, (1ull << 33) - 1, 1),
     .xfer_len = 4096, IO_RW(DISK_OP_READ, (1ull << 33) - 1, 1, false)},
    {"read(16) one past 2^33", &disk_b, RW16(SCSI_OP_READ_16, 0, 1ull << 33, 1),
     .xfer_len = 4096, .sense = BAD_LBA},
    {"read(16) lba+count wraps", &disk_a, RW16(SCSI_OP_READ_16, 0, UINT64_MAX, 2),
     .xfer_len = 1024, .sense = BAD_LBA},
    {"read(16) lba+count wraps to small", &disk_a, RW16(SCSI_OP_READ_16, 0, UINT64_MAX - 1, 4),
     .xfer_len = 2048, .sense = BAD_LBA},
    {"read(16) byte count past 32 bits", &disk_b, RW16(SCSI_OP_READ_16, 0, 0, 1u << 20),
     .sense = BAD_CDB},
    {"write(16) fua", &disk_a, RW16(SCSI_OP_WRITE_16, SCSI_RW_FUA, 998, 2), .xfer_len = 1024,
     IO_RW(DISK_OP_WRITE, 998, 2, true)},
    {"write(16) read only", &disk_b, RW16(SCSI_OP_WRITE_16, 0, 0, 1), .xfer_len = 4096,
     .sense = WP},

    /* READ CAPACITY (contents: test_read_capacity). */
    {"read capacity(10)", &disk_a, {SCSI_OP_READ_CAPACITY_10}, .xfer_len = 8, .sense = GOOD,
     .data_len = 8},
    {"read capacity(10) lba without pmi", &disk_a, {SCSI_OP_READ_CAPACITY_10, 0, BE32(1)},
     .xfer_len = 8, .sense = BAD_CDB},
    {"read capacity(10) lba with pmi", &disk_a,
     {SCSI_OP_READ_CAPACITY_10, 0, BE32(1), 0, 0, SCSI_RC10_PMI, 0}, .xfer_len = 8,
     .sense = GOOD, .data_len = 8},
    {"read capacity(16)", &disk_a, RC16(SCSI_SAI_READ_CAPACITY_16, 0, 32), .xfer_len = 32,
     .sense = GOOD, .data_len = 32},
    {"read capacity(16) short allocation", &disk_a, RC16(SCSI_SAI_READ_CAPACITY_16, 0, 12),
     .xfer_len = 32, .sense = GOOD, .data_len = 12},
    {"read capacity(16) short transfer", &disk_a, RC16(SCSI_SAI_READ_CAPACITY_16, 0, 32),
     .xfer_len = 16, .sense = GOOD, .data_len = 16},
    {"read capacity(16) lba without pmi", &disk_a, RC16(SCSI_SAI_READ_CAPACITY_16, 1, 32),
     .xfer_len = 32, .sense = BAD_CDB},
    {"get lba status", &disk_a, RC16(0x12, 0, 32), .xfer_len = 32, .sense = BAD_CDB},

    /* SYNCHRONIZE CACHE. */
    {"sync cache(10)", &disk_a, {SCSI_OP_SYNCHRONIZE_CACHE_10}, IO_FLUSH},
    {"sync cache(10) immed, range", &disk_a,
     RW10(SCSI_OP_SYNCHRONIZE_CACHE_10, SCSI_SYNC_IMMED, 10, 990), IO_FLUSH},
    {"sync cache(10) from the end", &disk_a, RW10(SCSI_OP_SYNCHRONIZE_CACHE_10, 0, 1000, 0),
     IO_FLUSH},
    {"sync cache(10) past the end", &disk_a, RW10(SCSI_OP_SYNCHRONIZE_CACHE_10, 0, 1001, 0),
     .sense = BAD_LBA},
    {"sync cache(16) runs past", &disk_a, RW16(SCSI_OP_SYNCHRONIZE_CACHE_16, 0, 0, 1001),
     .sense = BAD_LBA},
    {"sync cache(16)", &disk_e, RW16(SCSI_OP_SYNCHRONIZE_CACHE_16, 0, 1ull << 39, 0), IO_FLUSH},
    {"sync cache read only", &disk_b, {SCSI_OP_SYNCHRONIZE_CACHE_10}, .sense = GOOD},

    /* VERIFY. */
    {"verify(10) whole disk", &disk_a, RW10(SCSI_OP_VERIFY_10, 0, 0, 1000), .sense = GOOD},
    {"verify(10) past", &disk_a, RW10(SCSI_OP_VERIFY_10, 0, 0, 1001), .sense = BAD_LBA},
    {"verify(10) bytchk", &disk_a, RW10(SCSI_OP_VERIFY_10, 0x02, 0, 1), .xfer_len = 512,
     .sense = BAD_CDB},
    {"verify(16) wraps", &disk_a, RW16(SCSI_OP_VERIFY_16, 0, UINT64_MAX, 1), .sense = BAD_LBA},
    {"verify(16) vrprotect", &disk_a, RW16(SCSI_OP_VERIFY_16, 0x20, 0, 1), .sense = BAD_CDB},

    /* REQUEST SENSE (contents: test_request_sense). */
    {"request sense", &disk_a, {SCSI_OP_REQUEST_SENSE, 0, 0, 0, 252, 0}, .xfer_len = 252,
     .sense = GOOD, .data_len = 18},
    {"request sense short", &disk_a, {SCSI_OP_REQUEST_SENSE, 0, 0, 0, 8, 0}, .xfer_len = 252,
     .sense = GOOD, .data_len = 8},
    {"request sense descriptor format", &disk_a,
     {SCSI_OP_REQUEST_SENSE, SCSI_REQUEST_SENSE_DESC, 0, 0, 252, 0}, .xfer_len = 252,
     .sense = BAD_CDB},

    /* INQUIRY (contents: test_inquiry_standard, test_vpd). */
    {"inquiry 36", &disk_a, INQ(0, 0, 36), .xfer_len = 36, .sense = GOOD, .data_len = 36},
    {"inquiry all", &disk_a, INQ(0, 0, 255), .xfer_len = 255, .sense = GOOD, .data_len = 96},
    {"inquiry 5", &disk_a, INQ(0, 0, 5), .xfer_len = 255, .sense = GOOD, .data_len = 5},
    {"inquiry xfer below allocation", &disk_a, INQ(0, 0, 96), .xfer_len = 20, .sense = GOOD,
     .data_len = 20},
    {"inquiry allocation 0", &disk_a, INQ(0, 0, 0), .xfer_len = 96, .sense = GOOD},
    {"inquiry page without evpd", &disk_a, INQ(0, 0x80, 255), .xfer_len = 255, .sense = BAD_CDB},
    {"inquiry cmddt", &disk_a, INQ(0x02, 0, 255), .xfer_len = 255, .sense = BAD_CDB},
    {"vpd 00", &disk_a, INQ(1, 0x00, 255), .xfer_len = 255, .sense = GOOD, .data_len = 10},
    {"vpd b0", &disk_a, INQ(1, 0xB0, 255), .xfer_len = 255, .sense = GOOD, .data_len = 64},
    {"vpd b0 short", &disk_a, INQ(1, 0xB0, 16), .xfer_len = 255, .sense = GOOD, .data_len = 16},
    {"vpd b1", &disk_c, INQ(1, 0xB1, 255), .xfer_len = 255, .sense = GOOD, .data_len = 64},
    {"vpd b2", &disk_a, INQ(1, 0xB2, 255), .xfer_len = 255, .sense = GOOD, .data_len = 8},
    {"vpd b2 without unmap", &disk_c, INQ(1, 0xB2, 255), .xfer_len = 255, .sense = BAD_CDB},
    {"vpd 89 (ata)", &disk_a, INQ(1, 0x89, 255), .xfer_len = 255, .sense = BAD_CDB},
    {"vpd b9", &disk_a, INQ(1, 0xB9, 255), .xfer_len = 255, .sense = BAD_CDB},

    /* MODE SENSE refusals and lengths (contents: test_mode_sense). */
    {"mode sense saved", &disk_a, {SCSI_OP_MODE_SENSE_6, 0, 0xC8, 0, 255, 0}, .xfer_len = 255,
     .sense = NO_SAVE},
    {"mode sense(10) saved", &disk_a, {SCSI_OP_MODE_SENSE_10, 0, 0xFF, 0, 0, 0, 0, BE16(255)},
     .xfer_len = 255, .sense = NO_SAVE},
    {"mode sense unknown page", &disk_a, {SCSI_OP_MODE_SENSE_6, 0, 0x1C, 0, 255, 0},
     .xfer_len = 255, .sense = BAD_CDB},
    {"mode sense subpage", &disk_a, {SCSI_OP_MODE_SENSE_6, 0, 0x08, 1, 255, 0}, .xfer_len = 255,
     .sense = BAD_CDB},
    {"mode sense all subpages of one page", &disk_a, {SCSI_OP_MODE_SENSE_6, 0, 0x08, 0xFF, 255},
     .xfer_len = 255, .sense = BAD_CDB},
    {"mode sense all pages and subpages", &disk_a, {SCSI_OP_MODE_SENSE_6, 0, 0x3F, 0xFF, 255},
     .xfer_len = 255, .sense = GOOD, .data_len = 44},
    {"mode sense default values", &disk_a, {SCSI_OP_MODE_SENSE_6, 0, 0xBF, 0, 255},
     .xfer_len = 255, .sense = GOOD, .data_len = 44},

    /* MODE SELECT against disk A: only its current values pass. */
    {"mode select nothing", &disk_a, MSEL6(0), .sense = GOOD},
    {"mode select save pages", &disk_a, {SCSI_OP_MODE_SELECT_6, SCSI_MSEL_PF | SCSI_MSEL_SP},
     .sense = BAD_CDB},
    {"mode select header only", &disk_a, MSEL6(4), .xfer_len = 4, PARAMS(MH6(0)), .sense = GOOD},
    {"mode select same values", &disk_a, MSEL6(32), .xfer_len = 32,
     PARAMS(MH6(8), BD_A, CACHING(SCSI_CACHING_WCE)), .sense = GOOD},
    {"mode select ps bit ignored", &disk_a, MSEL6(24), .xfer_len = 24,
     PARAMS(MH6(0), 0x88, 0x12, SCSI_CACHING_WCE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0), .sense = GOOD},
    {"mode select wce off", &disk_a, MSEL6(24), .xfer_len = 24, PARAMS(MH6(0), CACHING(0)),
     .sense = BAD_PARAM},
    {"mode select rcd on", &disk_a, MSEL6(24), .xfer_len = 24,
     PARAMS(MH6(0), CACHING(SCSI_CACHING_WCE | SCSI_CACHING_RCD)), .sense = BAD_PARAM},
    {"mode select block size", &disk_a, MSEL6(12), .xfer_len = 12,
     PARAMS(MH6(8), BE32(1000), 0, 0, 0x10, 0), .sense = BAD_PARAM},
    {"mode select 0 blocks = unchanged", &disk_a, MSEL6(12), .xfer_len = 12,
     PARAMS(MH6(8), BE32(0), 0, 0, 2, 0), .sense = GOOD},
    {"mode select other block count", &disk_a, MSEL6(12), .xfer_len = 12,
     PARAMS(MH6(8), BE32(999), 0, 0, 2, 0), .sense = BAD_PARAM},
    {"mode select odd descriptor length", &disk_a, MSEL6(8), .xfer_len = 8,
     PARAMS(MH6(4), 0, 0, 0, 0), .sense = BAD_PARAM},
    {"mode select descriptor cut short", &disk_a, MSEL6(8), .xfer_len = 8,
     PARAMS(MH6(8), 0, 0, 0, 0), .sense = BAD_PLEN},
    {"mode select page cut short", &disk_a, MSEL6(14), .xfer_len = 14,
     PARAMS(MH6(0), 0x08, 0x12, 4, 0, 0, 0, 0, 0, 0, 0), .sense = BAD_PLEN},
    {"mode select one stray byte", &disk_a, MSEL6(17), .xfer_len = 17,
     PARAMS(MH6(0), CONTROL, 0x08), .sense = BAD_PLEN},
    {"mode select unknown page", &disk_a, MSEL6(8), .xfer_len = 8,
     PARAMS(MH6(0), 0x1C, 0x02, 0, 0), .sense = BAD_PARAM},
    {"mode select subpage format", &disk_a, MSEL6(16), .xfer_len = 16,
     PARAMS(MH6(0), 0x4A, 0x0A, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0), .sense = BAD_PARAM},
    {"mode select medium type", &disk_a, MSEL6(4), .xfer_len = 4, PARAMS(0, 1, 0, 0),
     .sense = BAD_PARAM},
    {"mode select header cut short", &disk_a, MSEL6(3), .xfer_len = 3, PARAMS(0, 0, 0),
     .sense = BAD_PLEN},
    {"mode select list missing", &disk_a, MSEL6(4), .xfer_len = 4, .sense = BAD_PLEN},
    {"mode select(10) long descriptor and control", &disk_a, MSEL10(36), .xfer_len = 36,
     PARAMS(MH10(SCSI_MODE_LONGLBA, 16), BDL_A, CONTROL), .sense = GOOD},
    {"mode select(10) long length without longlba", &disk_a, MSEL10(24), .xfer_len = 24,
     PARAMS(MH10(0, 16), BDL_A), .sense = BAD_PARAM},
    {"mode select(10) control changed", &disk_a, MSEL10(20), .xfer_len = 20,
     PARAMS(MH10(0, 0), 0x0A, 0x0A, 0x04, 0x10, 0, 0, 0, 0, 0, 0, 0, 0), .sense = BAD_PARAM},
    {"mode select(10) header cut short", &disk_a, MSEL10(5), .xfer_len = 5,
     PARAMS(0, 0, 0, 0, 0), .sense = BAD_PLEN},

    /* UNMAP against disk A (1000 blocks): lengths that lie, ranges at the edge. */
    {"unmap one", &disk_a, UNMAP_CDB(24), .xfer_len = 24, PARAMS(UHDR(22, 16), UDESC(100, 8)),
     IO_DISCARD1(100, 8)},
    {"unmap skips empty descriptors", &disk_a, UNMAP_CDB(56), .xfer_len = 56,
     PARAMS(UHDR(54, 48), UDESC(5, 0), UDESC(999, 1), UDESC(UINT64_MAX, 0)),
     IO_DISCARD1(999, 1)},
    {"unmap only empty descriptors", &disk_a, UNMAP_CDB(24), .xfer_len = 24,
     PARAMS(UHDR(22, 16), UDESC(5000, 0)), .sense = GOOD},
    {"unmap no descriptors", &disk_a, UNMAP_CDB(8), .xfer_len = 8, PARAMS(UHDR(6, 0)),
     .sense = GOOD},
    {"unmap no list", &disk_a, UNMAP_CDB(0), .sense = GOOD},
    {"unmap list under 8 bytes", &disk_a, UNMAP_CDB(4), .xfer_len = 4, PARAMS(0, 22, 0, 16),
     .sense = BAD_PLEN},
    {"unmap list missing", &disk_a, UNMAP_CDB(24), .xfer_len = 24, .sense = BAD_PLEN},
    {"unmap list shorter than the cdb says", &disk_a, UNMAP_CDB(24), .xfer_len = 7,
     PARAMS(0, 22, 0, 16, 0, 0, 0), .sense = BAD_PLEN},
    {"unmap data length lies", &disk_a, UNMAP_CDB(24), .xfer_len = 24,
     PARAMS(UHDR(100, 16), UDESC(0, 1)), .sense = BAD_PARAM},
    {"unmap descriptor length lies", &disk_a, UNMAP_CDB(24), .xfer_len = 24,
     PARAMS(UHDR(22, 32), UDESC(0, 1)), .sense = BAD_PARAM},
    {"unmap descriptors beyond data length", &disk_a, UNMAP_CDB(40), .xfer_len = 40,
     PARAMS(UHDR(22, 32), UDESC(0, 1), UDESC(1, 1)), .sense = BAD_PARAM},
    {"unmap cdb length below the header's", &disk_a, UNMAP_CDB(24), .xfer_len = 40,
     PARAMS(UHDR(38, 32), UDESC(0, 1), UDESC(1, 1)), .sense = BAD_PARAM},
    {"unmap partial descriptor ignored", &disk_a, UNMAP_CDB(30), .xfer_len = 30,
     PARAMS(UHDR(28, 22), UDESC(7, 3), 0, 0, 0, 0, 0, 9), IO_DISCARD1(7, 3)},
    {"unmap cdb length above the list", &disk_a, UNMAP_CDB(100), .xfer_len = 24,
     PARAMS(UHDR(22, 16), UDESC(1, 1)), IO_DISCARD1(1, 1)},
    {"unmap whole disk", &disk_a, UNMAP_CDB(24), .xfer_len = 24,
     PARAMS(UHDR(22, 16), UDESC(0, 1000)), IO_DISCARD1(0, 1000)},
    {"unmap one past", &disk_a, UNMAP_CDB(24), .xfer_len = 24,
     PARAMS(UHDR(22, 16), UDESC(999, 2)), .sense = BAD_LBA},
    {"unmap wraps", &disk_a, UNMAP_CDB(24), .xfer_len = 24,
     PARAMS(UHDR(22, 16), UDESC(UINT64_MAX, 1)), .sense = BAD_LBA},
    {"unmap second descriptor out of range", &disk_a, UNMAP_CDB(40), .xfer_len = 40,
     PARAMS(UHDR(38, 32), UDESC(0, 1), UDESC(1000, 1)), .sense = BAD_LBA},
    {"unmap anchor", &disk_a, {SCSI_OP_UNMAP, SCSI_UNMAP_ANCHOR, 0, 0, 0, 0, 0, BE16(24), 0},
     .xfer_len = 24, PARAMS(UHDR(22, 16), UDESC(0, 1)), .sense = BAD_CDB},
    {"unmap read only", &disk_d, UNMAP_CDB(24), .xfer_len = 24,
     PARAMS(UHDR(22, 16), UDESC(0, 1)), .sense = WP},
    {"unmap block limit", &disk_e, UNMAP_CDB(40), .xfer_len = 40,
     PARAMS(UHDR(38, 32), UDESC(0, SCSI_MAX_UNMAP_BLOCKS - 1), UDESC(1ull << 39, 1)),
     .io = true, .op = DISK_OP_DISCARD, .nranges = 2,
     .ranges = {{0, SCSI_MAX_UNMAP_BLOCKS - 1}, {1ull << 39, 1}}},
    {"unmap over the block limit", &disk_e, UNMAP_CDB(40), .xfer_len = 40,
     PARAMS(UHDR(38, 32), UDESC(0, SCSI_MAX_UNMAP_BLOCKS), UDESC(1ull << 39, 1)),
     .sense = BAD_PARAM},

    /* WRITE SAME(16): only with UNMAP. */
    {"write same unmap", &disk_a, WS16(SCSI_WS_UNMAP, 10, 20), .xfer_len = 512,
     IO_DISCARD1(10, 20)},
    {"write same unmap ndob", &disk_a, WS16(SCSI_WS_UNMAP | SCSI_WS_NDOB, 10, 20),
     IO_DISCARD1(10, 20)},
    {"write same ndob with data", &disk_a, WS16(SCSI_WS_UNMAP | SCSI_WS_NDOB, 10, 20),
     .xfer_len = 512, .sense = BAD_CDB},
    {"write same without data", &disk_a, WS16(SCSI_WS_UNMAP, 10, 20), .sense = BAD_CDB},
    {"write same pattern", &disk_a, WS16(0, 10, 20), .xfer_len = 512, .sense = BAD_CDB},
    {"write same zero blocks", &disk_a, WS16(SCSI_WS_UNMAP, 10, 0), .xfer_len = 512,
     .sense = BAD_CDB},
    {"write same anchor", &disk_a, WS16(SCSI_WS_UNMAP | SCSI_WS_ANCHOR, 10, 1), .xfer_len = 512,
     .sense = BAD_CDB},
    {"write same wrprotect", &disk_a, WS16(SCSI_WS_UNMAP | 0x20, 10, 1), .xfer_len = 512,
     .sense = BAD_CDB},
    {"write same to the last block", &disk_a, WS16(SCSI_WS_UNMAP, 990, 10), .xfer_len = 512,
     IO_DISCARD1(990, 10)},
    {"write same one past", &disk_a, WS16(SCSI_WS_UNMAP, 990, 11), .xfer_len = 512,
     .sense = BAD_LBA},
    {"write same wraps", &disk_a, WS16(SCSI_WS_UNMAP, UINT64_MAX, 1), .xfer_len = 512,
     .sense = BAD_LBA},
    {"write same over the block limit", &disk_e,
     WS16(SCSI_WS_UNMAP, 0, SCSI_MAX_UNMAP_BLOCKS + 1), .xfer_len = 4096, .sense = BAD_CDB},
    {"write same read only", &disk_d, WS16(SCSI_WS_UNMAP, 0, 1), .xfer_len = 512, .sense = WP},
};
/* clang-format on */

#define CASE_FAIL(t, fmt, ...)                                                                     \
	do {                                                                                       \
		fprintf(stderr, "case \"%s\": " fmt "\n", (t)->name, __VA_ARGS__);                 \
		exit(1);                                                                           \
	} while (0)

static void check_sense(const char *name, const struct scsi_exec *out, uint32_t want)
{
	const struct tcase t = {.name = name};
	uint8_t key = (uint8_t)(want >> 16), asc = (uint8_t)(want >> 8), ascq = (uint8_t)want;

	if (out->kind != SCSI_EXEC_DONE)
		CASE_FAIL(&t, "kind %d, want DONE", out->kind);
	if (want == GOOD) {
		if (out->status != SCSI_STATUS_GOOD || out->sense_len != 0)
			CASE_FAIL(&t, "status %#x sense %02x/%02x/%02x, want GOOD", out->status,
				  out->sense[2], out->sense[12], out->sense[13]);
		return;
	}
	if (out->status != SCSI_STATUS_CHECK_CONDITION || out->sense_len != SCSI_SENSE_LEN ||
	    out->sense[0] != 0x70 || out->sense[7] != 10 || out->data_len != 0)
		CASE_FAIL(&t, "status %#x sense_len %u data_len %u, want CHECK CONDITION",
			  out->status, out->sense_len, out->data_len);
	if (out->sense[2] != key || out->sense[12] != asc || out->sense[13] != ascq)
		CASE_FAIL(&t, "sense %x/%02x/%02x, want %x/%02x/%02x", out->sense[2],
			  out->sense[12], out->sense[13], key, asc, ascq);
}

static void run_case(const struct tcase *t)
{
	static uint8_t buf[SCSI_DATA_IN_MAX];
	struct scsi_exec out;
	size_t cdb_len = t->cdb_len == 0xFF ? 0
			 : t->cdb_len	    ? t->cdb_len
					    : scsi_cdb_group_len(t->cdb[0]);

	/* Garbage first: exec must set everything the outcome needs. */
	memset(&out, 0xA5, sizeof(out));
	scsi_disk_exec(t->d, t->cdb, cdb_len, t->xfer_len, t->params, t->params_len, buf,
		       sizeof(buf), &out);
	if (!t->io) {
		check_sense(t->name, &out, t->sense);
		if (t->sense == GOOD &&
		    out.data_len != (t->data_len == ANY_LEN ? out.data_len : (uint32_t)t->data_len))
			CASE_FAIL(t, "data_len %u, want %" PRId64, out.data_len, t->data_len);
		return;
	}
	if (out.kind != SCSI_EXEC_IO || out.status != SCSI_STATUS_GOOD || out.sense_len != 0)
		CASE_FAIL(t, "kind %d status %#x sense %x/%02x/%02x, want IO", out.kind, out.status,
			  out.sense[2], out.sense[12], out.sense[13]);
	if (out.op != t->op)
		CASE_FAIL(t, "op %d, want %d", out.op, t->op);
	switch (t->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		if (out.lba != t->lba || out.nblocks != t->nblocks || out.fua != t->fua ||
		    out.data_len != t->xfer_len)
			CASE_FAIL(t, "lba %" PRIu64 " n %u fua %d data_len %u", out.lba,
				  out.nblocks, out.fua, out.data_len);
		break;
	case DISK_OP_DISCARD:
		if (out.nranges != t->nranges)
			CASE_FAIL(t, "nranges %u, want %u", out.nranges, t->nranges);
		for (uint32_t i = 0; i < t->nranges; i++)
			if (out.ranges[i].lba != t->ranges[i].lba ||
			    out.ranges[i].nblocks != t->ranges[i].nblocks)
				CASE_FAIL(t, "range %u: %" PRIu64 "+%u", i, out.ranges[i].lba,
					  out.ranges[i].nblocks);
		break;
	case DISK_OP_FLUSH:
		break;
	}
	if (t->op != DISK_OP_READ && t->op != DISK_OP_WRITE && out.data_len != 0)
		CASE_FAIL(t, "data_len %u, want 0", out.data_len);
}

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* Runs a data-in cdb with a generous buffer; returns data_len (asserts GOOD). */
static uint32_t data_in(const struct scsi_disk *d, const uint8_t *cdb, size_t cdb_len, uint8_t *buf,
			size_t buf_len)
{
	struct scsi_exec out;

	memset(buf, 0xEE, buf_len);
	scsi_disk_exec(d, cdb, cdb_len, (uint32_t)buf_len, NULL, 0, buf, buf_len, &out);
	ASSERT_EQ(out.kind, SCSI_EXEC_DONE);
	ASSERT_EQ(out.status, SCSI_STATUS_GOOD);
	ASSERT_EQ(out.sense_len, 0);
	return out.data_len;
}

static uint32_t vpd(const struct scsi_disk *d, uint8_t page, uint8_t *buf)
{
	const uint8_t cdb[6] = {SCSI_OP_INQUIRY, SCSI_INQ_EVPD, page, BE16(255), 0};
	uint32_t n = data_in(d, cdb, sizeof(cdb), buf, 255);

	ASSERT_EQ(buf[0], 0);
	ASSERT_EQ(buf[1], page);
	ASSERT_EQ(scsi_get_be16(buf + 2) + 4, n);
	return n;
}

static void test_inquiry_standard(void)
{
	const uint8_t cdb[6] = {SCSI_OP_INQUIRY, 0, 0, BE16(255), 0};
	uint8_t b[255];

	ASSERT_EQ(data_in(&disk_a, cdb, sizeof(cdb), b, sizeof(b)), 96);
	ASSERT_EQ(b[0], 0x00); /* connected direct-access device */
	ASSERT_EQ(b[1], 0x00); /* not removable */
	ASSERT_EQ(b[2], 0x06); /* SPC-4 */
	ASSERT_EQ(b[3], 0x12); /* HiSup, response data format 2 */
	ASSERT_EQ(b[4], 91);
	ASSERT_EQ(b[7], 0x02); /* CmdQue */
	ASSERT_OK(memcmp(b + 8, "Msft    Virtual Disk    1.0 ", 28));
	ASSERT_EQ(scsi_get_be16(b + 58), 0x00A0);
	ASSERT_EQ(scsi_get_be16(b + 60), 0x0460);
	ASSERT_EQ(scsi_get_be16(b + 62), 0x04C0);
	ASSERT_EQ(scsi_get_be16(b + 64), 0);
	ASSERT_EQ(b[95], 0);
	ASSERT_EQ(b[96], 0xEE); /* nothing past the data */

	/* Names are trusted but still made printable, and a full field has no NUL. */
	struct scsi_disk odd = disk_a;
	memcpy(odd.vendor, "ABCDEFGHI", 9);
	memcpy(odd.product, "tab\there\x80", 10);
	memset(odd.revision, 'R', sizeof(odd.revision));
	ASSERT_EQ(data_in(&odd, cdb, sizeof(cdb), b, sizeof(b)), 96);
	ASSERT_OK(memcmp(b + 8, "ABCDEFGH", 8));
	ASSERT_OK(memcmp(b + 16, "tab here        ", 16));
	ASSERT_OK(memcmp(b + 32, "RRRR", 4));

	/* Truncated by the caller's buffer, never past it. */
	struct scsi_exec out;
	memset(b, 0xEE, sizeof(b));
	scsi_disk_exec(&disk_a, cdb, sizeof(cdb), 255, NULL, 0, b, 10, &out);
	ASSERT_EQ(out.data_len, 10);
	ASSERT_EQ(b[10], 0xEE);
	scsi_disk_exec(&disk_a, cdb, sizeof(cdb), 255, NULL, 0, NULL, 255, &out);
	ASSERT_EQ(out.status, SCSI_STATUS_GOOD);
	ASSERT_EQ(out.data_len, 0);
}

static void test_vpd(void)
{
	uint8_t b[255];

	/* 00: B2 only with thin provisioning, ascending. */
	ASSERT_EQ(vpd(&disk_a, 0x00, b), 10);
	ASSERT_OK(memcmp(b + 4, "\x00\x80\x83\xB0\xB1\xB2", 6));
	ASSERT_EQ(vpd(&disk_c, 0x00, b), 9);
	ASSERT_OK(memcmp(b + 4, "\x00\x80\x83\xB0\xB1", 5));

	/* 80: the serial, unpadded; none is an empty page. */
	ASSERT_EQ(vpd(&disk_a, 0x80, b), 10);
	ASSERT_OK(memcmp(b + 4, "SER123", 6));
	ASSERT_EQ(vpd(&disk_c, 0x80, b), 4);
	struct scsi_disk longserial = disk_a;
	memset(longserial.serial, 'S', sizeof(longserial.serial));
	ASSERT_EQ(vpd(&longserial, 0x80, b), 44);

	/* 83: NAA (binary, LU, type 3) then T10 vendor ID (ASCII, LU, type 1). */
	ASSERT_EQ(vpd(&disk_a, 0x83, b), 4 + 20 + 4 + 14);
	ASSERT_OK(memcmp(b + 4, "\x01\x03\x00\x10", 4));
	ASSERT_OK(memcmp(b + 8, disk_a.naa, 16));
	ASSERT_OK(memcmp(b + 24, "\x02\x01\x00\x0E", 4));
	ASSERT_OK(memcmp(b + 28, "Msft    SER123", 14));
	ASSERT_EQ(vpd(&disk_c, 0x83, b), 4 + 4 + 8);
	ASSERT_OK(memcmp(b + 4, "\x02\x01\x00\x08mhcl    ", 12));
	struct scsi_disk naa8 = disk_c;
	naa8.naa_len = 8;
	memcpy(naa8.naa, "\x50\x01\x02\x03\x04\x05\x06\x07", 8);
	ASSERT_EQ(vpd(&naa8, 0x83, b), 4 + 12 + 4 + 8);
	ASSERT_OK(memcmp(b + 4, "\x01\x03\x00\x08\x50\x01\x02\x03\x04\x05\x06\x07", 12));
	naa8.naa_len = 12; /* not an NAA length: left out */
	ASSERT_EQ(vpd(&naa8, 0x83, b), 4 + 4 + 8);

	/* B0 */
	ASSERT_EQ(vpd(&disk_a, 0xB0, b), 64);
	ASSERT_EQ(b[3], 0x3C);
	ASSERT_EQ(b[4], 0x01);		      /* WSNZ */
	ASSERT_EQ(scsi_get_be16(b + 6), 8);   /* 4 KiB of 512 B blocks */
	ASSERT_EQ(scsi_get_be32(b + 8), 128); /* max transfer */
	ASSERT_EQ(scsi_get_be32(b + 12), 0);  /* optimal transfer: not reported */
	ASSERT_EQ(scsi_get_be32(b + 20), SCSI_MAX_UNMAP_BLOCKS);
	ASSERT_EQ(scsi_get_be32(b + 24), 255); /* descriptors that fit 4 KiB */
	ASSERT_EQ(scsi_get_be32(b + 28), 8);
	ASSERT_UEQ(scsi_get_be64(b + 36), SCSI_MAX_UNMAP_BLOCKS);
	ASSERT_EQ(vpd(&disk_b, 0xB0, b), 64);
	ASSERT_EQ(scsi_get_be16(b + 6), 1);
	ASSERT_EQ(scsi_get_be32(b + 8), 0); /* no limit */
	ASSERT_EQ(scsi_get_be32(b + 20), 0);
	ASSERT_EQ(scsi_get_be32(b + 24), 0);
	ASSERT_UEQ(scsi_get_be64(b + 36), 0);

	/* B1: non-rotating. */
	ASSERT_EQ(vpd(&disk_a, 0xB1, b), 64);
	ASSERT_EQ(scsi_get_be16(b + 4), 1);
	ASSERT_EQ(b[7], 0);

	/* B2: LBPU and LBPWS, thin. */
	ASSERT_EQ(vpd(&disk_a, 0xB2, b), 8);
	ASSERT_EQ(b[5], 0xC0);
	ASSERT_EQ(b[6] & 7, 2);
}

static void test_read_capacity(void)
{
	const uint8_t rc10[10] = {SCSI_OP_READ_CAPACITY_10};
	const uint8_t rc16[16] = {
	    SCSI_OP_SERVICE_ACTION_IN_16, SCSI_SAI_READ_CAPACITY_16, BE64(0), BE32(32), 0, 0};
	uint8_t b[64];

	ASSERT_EQ(data_in(&disk_a, rc10, sizeof(rc10), b, 8), 8);
	ASSERT_EQ(scsi_get_be32(b), 999);
	ASSERT_EQ(scsi_get_be32(b + 4), 512);
	ASSERT_EQ(data_in(&disk_b, rc10, sizeof(rc10), b, 8), 8);
	ASSERT_UEQ(scsi_get_be32(b), 0xFFFFFFFF);
	ASSERT_EQ(scsi_get_be32(b + 4), 4096);
	/* Exactly 2^32 blocks: the last LBA 0xFFFFFFFF is "too big" too. */
	struct scsi_disk edge = disk_c;
	edge.nblocks = 1ull << 32;
	ASSERT_EQ(data_in(&edge, rc10, sizeof(rc10), b, 8), 8);
	ASSERT_UEQ(scsi_get_be32(b), 0xFFFFFFFF);
	edge.nblocks = 0xFFFFFFFF;
	ASSERT_EQ(data_in(&edge, rc10, sizeof(rc10), b, 8), 8);
	ASSERT_UEQ(scsi_get_be32(b), 0xFFFFFFFE);

	ASSERT_EQ(data_in(&disk_b, rc16, sizeof(rc16), b, sizeof(b)), 32);
	ASSERT_UEQ(scsi_get_be64(b), (1ull << 33) - 1);
	ASSERT_EQ(scsi_get_be32(b + 8), 4096);
	ASSERT_EQ(b[12], 0); /* no protection */
	ASSERT_EQ(b[13], 0); /* one logical block per physical */
	ASSERT_EQ(b[14], 0); /* no LBPME, LBPRZ */
	ASSERT_EQ(b[32], 0xEE);
	ASSERT_EQ(data_in(&disk_a, rc16, sizeof(rc16), b, sizeof(b)), 32);
	ASSERT_UEQ(scsi_get_be64(b), 999);
	ASSERT_EQ(b[14], 0x80); /* LBPME, not LBPRZ */
	ASSERT_EQ(b[15], 0);
}

static void test_request_sense(void)
{
	const uint8_t cdb[6] = {SCSI_OP_REQUEST_SENSE, 0, 0, 0, 255, 0};
	uint8_t b[255];

	ASSERT_EQ(data_in(&disk_a, cdb, sizeof(cdb), b, sizeof(b)), 18);
	ASSERT_EQ(b[0], 0x70);
	ASSERT_EQ(b[2], 0); /* NO SENSE */
	ASSERT_EQ(b[7], 10);
	ASSERT_EQ(b[12], 0);
	ASSERT_EQ(b[13], 0);
}

static uint32_t mode_sense6(const struct scsi_disk *d, uint8_t flags, uint8_t page, uint8_t alloc,
			    uint8_t *b)
{
	const uint8_t cdb[6] = {SCSI_OP_MODE_SENSE_6, flags, page, 0, alloc, 0};

	return data_in(d, cdb, sizeof(cdb), b, 255);
}

static void test_mode_sense(void)
{
	uint8_t b[255];

	/* All pages with a block descriptor: header, descriptor, caching, control. */
	ASSERT_EQ(mode_sense6(&disk_a, 0, 0x3F, 255, b), 4 + 8 + 20 + 12);
	ASSERT_EQ(b[0], 43);
	ASSERT_EQ(b[1], 0);
	ASSERT_EQ(b[2], 0x10); /* DPOFUA, not write protected */
	ASSERT_EQ(b[3], 8);
	ASSERT_EQ(scsi_get_be32(b + 4), 1000);
	ASSERT_EQ(scsi_get_be32(b + 8) & 0xFFFFFF, 512);
	ASSERT_OK(memcmp(b + 12, "\x08\x12\x04", 3)); /* caching, WCE */
	ASSERT_EQ(b[32], 0x0A);			      /* control */
	ASSERT_EQ(b[33], 0x0A);
	ASSERT_EQ(b[35], 0x10); /* unrestricted reordering, QERR 0 */
	ASSERT_EQ(b[44], 0xEE);

	/* What Linux asks first: 4 bytes of everything; the length is still the whole. */
	ASSERT_EQ(mode_sense6(&disk_a, 0, 0x3F, 4, b), 4);
	ASSERT_EQ(b[0], 43);
	ASSERT_EQ(b[4], 0xEE);

	/* Read only, no write cache, no descriptor. */
	ASSERT_EQ(mode_sense6(&disk_b, SCSI_MS_DBD, 0x08, 255, b), 4 + 20);
	ASSERT_EQ(b[0], 23);
	ASSERT_EQ(b[2], 0x90); /* WP, DPOFUA */
	ASSERT_EQ(b[3], 0);
	ASSERT_OK(memcmp(b + 4, "\x08\x12\x00", 3));

	/* A short descriptor cannot count 2^33 blocks. */
	ASSERT_EQ(mode_sense6(&disk_b, 0, 0x0A, 255, b), 4 + 8 + 12);
	ASSERT_UEQ(scsi_get_be32(b + 4), 0xFFFFFFFF);
	ASSERT_EQ(scsi_get_be32(b + 8) & 0xFFFFFF, 4096);
	ASSERT_EQ(b[12], 0x0A);

	/* Changeable values: nothing. */
	ASSERT_EQ(mode_sense6(&disk_a, SCSI_MS_DBD, 0x48, 255, b), 4 + 20);
	ASSERT_OK(memcmp(b + 4, "\x08\x12\x00", 3));

	/* MODE SENSE(10): a long descriptor only when asked for. */
	const uint8_t ms10_long[10] = {
	    SCSI_OP_MODE_SENSE_10, SCSI_MS_LLBAA, 0x08, 0, 0, 0, 0, BE16(255), 0};
	ASSERT_EQ(data_in(&disk_b, ms10_long, sizeof(ms10_long), b, 255), 8 + 16 + 20);
	ASSERT_EQ(scsi_get_be16(b), 42);
	ASSERT_EQ(b[3], 0x90);
	ASSERT_EQ(b[4], 0x01); /* LONGLBA */
	ASSERT_EQ(scsi_get_be16(b + 6), 16);
	ASSERT_UEQ(scsi_get_be64(b + 8), 1ull << 33);
	ASSERT_EQ(scsi_get_be32(b + 20), 4096);
	ASSERT_EQ(b[24], 0x08);
	const uint8_t ms10[10] = {SCSI_OP_MODE_SENSE_10, 0, 0x3F, 0, 0, 0, 0, BE16(255), 0};
	ASSERT_EQ(data_in(&disk_a, ms10, sizeof(ms10), b, 255), 8 + 8 + 20 + 12);
	ASSERT_EQ(scsi_get_be16(b), 46);
	ASSERT_EQ(b[4], 0);
	ASSERT_EQ(scsi_get_be16(b + 6), 8);
	ASSERT_EQ(b[16], 0x08);
	ASSERT_EQ(b[36], 0x0A);
}

/* The biggest lists: SCSI_MAX_UNMAP_DESCRIPTORS pass, one more is refused. */
static void test_unmap_many(void)
{
	static uint8_t p[8 + 16 * 256];
	static struct scsi_exec out;
	uint32_t max = SCSI_MAX_UNMAP_DESCRIPTORS;

	for (uint32_t ndesc = max; ndesc <= max + 1; ndesc++) {
		size_t len = 8 + 16 * ndesc;
		const uint8_t cdb[10] = {SCSI_OP_UNMAP, 0, 0, 0, 0, 0, 0, BE16(len), 0};
		memset(p, 0, sizeof(p));
		scsi_put_be16(p, (uint16_t)(len - 2));
		scsi_put_be16(p + 2, (uint16_t)(16 * ndesc));
		for (uint32_t i = 0; i < ndesc; i++) {
			scsi_put_be64(p + 8 + 16 * i, 2 * i);
			scsi_put_be32(p + 8 + 16 * i + 8, 1);
		}
		scsi_disk_exec(&disk_a, cdb, sizeof(cdb), (uint32_t)len, p, len, NULL, 0, &out);
		if (ndesc == max) {
			ASSERT_EQ(out.kind, SCSI_EXEC_IO);
			ASSERT_EQ(out.op, DISK_OP_DISCARD);
			ASSERT_EQ(out.nranges, max);
			ASSERT_UEQ(out.ranges[max - 1].lba, 2 * (max - 1));
		} else {
			check_sense("unmap too many descriptors", &out, BAD_PARAM);
		}
	}
}

/* The hot path writes only what it returns: ranges[] is left alone. */
static void test_read_touches_no_ranges(void)
{
	const uint8_t cdb[10] = {SCSI_OP_READ_10, 0, BE32(1), 0, BE16(1), 0};
	static struct scsi_exec out;

	memset(&out, 0x5A, sizeof(out));
	scsi_disk_exec(&disk_a, cdb, sizeof(cdb), 512, NULL, 0, NULL, 0, &out);
	ASSERT_EQ(out.kind, SCSI_EXEC_IO);
	for (size_t i = 0; i < sizeof(out.ranges); i++)
		ASSERT_EQ(((const uint8_t *)out.ranges)[i], 0x5A);
	ASSERT_UEQ(out.nranges, 0x5A5A5A5A);
}

static void test_io_done(void)
{
	static const struct {
		enum disk_op op;
		int err;
		uint32_t sense;
	} t[] = {
	    {DISK_OP_READ, -EIO, SK(3, 0x11, 0)},
	    {DISK_OP_WRITE, -EIO, SK(3, 0x0C, 0)},
	    {DISK_OP_FLUSH, -EIO, SK(3, 0x0C, 0)},
	    {DISK_OP_DISCARD, -EIO, SK(3, 0x0C, 0)},
	    {DISK_OP_WRITE, -EROFS, SK(7, 0x27, 0)},
	    {DISK_OP_WRITE, -ENOSPC, SK(7, 0x27, 7)},
	    {DISK_OP_DISCARD, -ENOSPC, SK(7, 0x27, 7)},
	    {DISK_OP_READ, -ENOMEM, SK(4, 0x44, 0)},
	    {DISK_OP_WRITE, -EINVAL, SK(4, 0x44, 0)},
	    {DISK_OP_FLUSH, -EAGAIN, SK(4, 0x44, 0)},
	    {DISK_OP_READ, 0, GOOD},
	};
	struct scsi_exec out;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&out, 0xA5, sizeof(out));
		out.kind = SCSI_EXEC_IO;
		out.status = SCSI_STATUS_GOOD;
		out.sense_len = 0;
		out.op = t[i].op;
		out.data_len = 4096;
		scsi_disk_io_done(&out, t[i].err);
		check_sense("io_done", &out, t[i].sense);
		ASSERT_EQ(out.data_len, t[i].sense == GOOD ? 4096 : 0);
	}
}

static void test_exec_sense(void)
{
	struct scsi_exec out;

	memset(&out, 0xA5, sizeof(out));
	scsi_exec_sense(&out, 0x15, 0x25, 0x01); /* the key is 4 bits */
	ASSERT_EQ(out.kind, SCSI_EXEC_DONE);
	ASSERT_EQ(out.status, SCSI_STATUS_CHECK_CONDITION);
	ASSERT_EQ(out.sense_len, 18);
	ASSERT_EQ(out.data_len, 0);
	const uint8_t want[18] = {0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x25, 0x01, 0, 0, 0, 0};
	ASSERT_OK(memcmp(out.sense, want, 18));
}

static void test_cdb_dir(void)
{
	static const struct {
		uint8_t op;
		enum scsi_dir dir;
		bool params;
	} t[] = {
	    {SCSI_OP_READ_6, SCSI_DIR_IN, false},
	    {SCSI_OP_READ_10, SCSI_DIR_IN, false},
	    {SCSI_OP_READ_12, SCSI_DIR_IN, false},
	    {SCSI_OP_READ_16, SCSI_DIR_IN, false},
	    {SCSI_OP_WRITE_6, SCSI_DIR_OUT, false},
	    {SCSI_OP_WRITE_10, SCSI_DIR_OUT, false},
	    {SCSI_OP_WRITE_12, SCSI_DIR_OUT, false},
	    {SCSI_OP_WRITE_16, SCSI_DIR_OUT, false},
	    {SCSI_OP_WRITE_SAME_16, SCSI_DIR_OUT, false},
	    {SCSI_OP_UNMAP, SCSI_DIR_OUT, true},
	    {SCSI_OP_MODE_SELECT_6, SCSI_DIR_OUT, true},
	    {SCSI_OP_MODE_SELECT_10, SCSI_DIR_OUT, true},
	    {SCSI_OP_INQUIRY, SCSI_DIR_IN, false},
	    {SCSI_OP_MODE_SENSE_6, SCSI_DIR_IN, false},
	    {SCSI_OP_MODE_SENSE_10, SCSI_DIR_IN, false},
	    {SCSI_OP_READ_CAPACITY_10, SCSI_DIR_IN, false},
	    {SCSI_OP_SERVICE_ACTION_IN_16, SCSI_DIR_IN, false},
	    {SCSI_OP_REQUEST_SENSE, SCSI_DIR_IN, false},
	    {SCSI_OP_REPORT_LUNS, SCSI_DIR_IN, false},
	    {SCSI_OP_TEST_UNIT_READY, SCSI_DIR_NONE, false},
	    {SCSI_OP_SYNCHRONIZE_CACHE_10, SCSI_DIR_NONE, false},
	    {SCSI_OP_SYNCHRONIZE_CACHE_16, SCSI_DIR_NONE, false},
	    {SCSI_OP_VERIFY_10, SCSI_DIR_NONE, false},
	    {SCSI_OP_START_STOP_UNIT, SCSI_DIR_NONE, false},
	    {0xFF, SCSI_DIR_NONE, false},
	    {SCSI_OP_MAINTENANCE_IN, SCSI_DIR_NONE, false},
	};
	bool params = true;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ASSERT_EQ(scsi_cdb_dir(&t[i].op, 1, &params), t[i].dir);
		ASSERT_EQ(params, t[i].params);
		params = !t[i].params;
	}
	params = true;
	ASSERT_EQ(scsi_cdb_dir(NULL, 0, &params), SCSI_DIR_NONE);
	ASSERT_FALSE(params);
}

int main(void)
{
	test_table();
	test_inquiry_standard();
	test_vpd();
	test_read_capacity();
	test_request_sense();
	test_mode_sense();
	test_unmap_many();
	test_read_touches_no_ranges();
	test_io_done();
	test_exec_sense();
	test_cdb_dir();
	return 0;
}
