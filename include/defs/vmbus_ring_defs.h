/* SPDX-License-Identifier: MIT */
/*
 * VMBus ring buffer wire layout (REFERENCES.md section 3).
 *
 * A ring is one 4 KiB control page followed by N data pages. Indices in the
 * control page are byte offsets into the data area (page 1 onwards), 8-byte
 * aligned and below the data size. A packet is a 16-byte descriptor, an
 * optional type-specific header, the payload padded to 8 bytes, then an
 * 8-byte trailer whose upper 32 bits hold the packet's start offset. len8 and
 * offset8 count 8-byte units from the packet start; len8 excludes the trailer.
 *
 * All fields are little-endian. Header-only: layouts and static_asserts, no code.
 */
#ifndef MHCL_DEFS_VMBUS_RING_DEFS_H
#define MHCL_DEFS_VMBUS_RING_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* Hyper-V page size; also the ring page size on every architecture. */
#define VMBUS_RING_PAGE_SIZE 4096u
#define VMBUS_RING_PAGE_SHIFT 12u

/* Bytes after each packet: u64 whose upper 32 bits are the packet start offset. */
#define VMBUS_RING_TRAILER_SIZE 8u

/* feature_bits bit 0: the reader honours pending_send_sz. */
#define VMBUS_RING_FEAT_PENDING_SEND_SZ (1u << 0)

/* Control page (page 0 of every ring). */
struct vmbus_ring_control {
	uint32_t write_index;     /* next byte the writer fills; written by the writer only */
	uint32_t read_index;      /* next byte the reader consumes; written by the reader only */
	uint32_t interrupt_mask;  /* reader: 1 = do not signal me on empty -> non-empty */
	uint32_t pending_send_sz; /* writer: signal me when free space exceeds this (0 = off) */
	uint32_t reserved1[12];
	uint32_t feature_bits;    /* VMBUS_RING_FEAT_* */
	uint8_t reserved2[VMBUS_RING_PAGE_SIZE - 68];
};
static_assert(sizeof(struct vmbus_ring_control) == VMBUS_RING_PAGE_SIZE,
	      "ring control is exactly one page");
static_assert(offsetof(struct vmbus_ring_control, write_index) == 0, "write_index at 0");
static_assert(offsetof(struct vmbus_ring_control, read_index) == 4, "read_index at 4");
static_assert(offsetof(struct vmbus_ring_control, interrupt_mask) == 8, "interrupt_mask at 8");
static_assert(offsetof(struct vmbus_ring_control, pending_send_sz) == 12, "pending_send_sz at 12");
static_assert(offsetof(struct vmbus_ring_control, reserved1) == 16, "reserved1 at 16");
static_assert(offsetof(struct vmbus_ring_control, feature_bits) == 64, "feature_bits at 64");
static_assert(offsetof(struct vmbus_ring_control, reserved2) == 68, "reserved2 at 68");

/* Packet types (descriptor .type). Only INBAND, XFER_PAGES, GPA_DIRECT and COMP occur. */
enum vmbus_packet_type {
	VMBUS_PKT_INVALID = 0x0,
	VMBUS_PKT_SYNCH = 0x1,
	VMBUS_PKT_ADD_XFER_PAGESET = 0x2,
	VMBUS_PKT_RM_XFER_PAGESET = 0x3,
	VMBUS_PKT_ESTABLISH_GPADL = 0x4,
	VMBUS_PKT_TEARDOWN_GPADL = 0x5,
	VMBUS_PKT_DATA_INBAND = 0x6,
	VMBUS_PKT_DATA_USING_XFER_PAGES = 0x7,
	VMBUS_PKT_DATA_USING_GPADL = 0x8,
	VMBUS_PKT_DATA_USING_GPA_DIRECT = 0x9,
	VMBUS_PKT_CANCEL_REQUEST = 0xA,
	VMBUS_PKT_COMP = 0xB,
	VMBUS_PKT_DATA_USING_ADDITIONAL_PKT = 0xC,
	VMBUS_PKT_ADDITIONAL_DATA = 0xD,
};

/* Descriptor flags: bit 0 is the only defined one. */
#define VMBUS_PKT_FLAG_COMPLETION_REQUESTED (1u << 0)
#define VMBUS_PKT_FLAGS_KNOWN VMBUS_PKT_FLAG_COMPLETION_REQUESTED

/* The descriptor at the start of every packet. */
struct vmbus_packet_desc {
	uint16_t type;     /* enum vmbus_packet_type */
	uint16_t offset8;  /* payload start, in 8-byte units from the packet start */
	uint16_t len8;     /* packet length without the trailer, in 8-byte units */
	uint16_t flags;    /* VMBUS_PKT_FLAG_* */
	uint64_t trans_id; /* echoed in the completion */
};
static_assert(sizeof(struct vmbus_packet_desc) == 16, "packet descriptor is 16 bytes");
static_assert(offsetof(struct vmbus_packet_desc, type) == 0, "type at 0");
static_assert(offsetof(struct vmbus_packet_desc, offset8) == 2, "offset8 at 2");
static_assert(offsetof(struct vmbus_packet_desc, len8) == 4, "len8 at 4");
static_assert(offsetof(struct vmbus_packet_desc, flags) == 6, "flags at 6");
static_assert(offsetof(struct vmbus_packet_desc, trans_id) == 8, "trans_id at 8");

/*
 * GPA direct (type 9): after the descriptor, this header, then range_count
 * ranges, each a vmbus_gpa_range followed by
 * ceil((byte_offset + byte_count) / 4096) u64 page numbers. offset8 points
 * past the last range to the inband payload.
 */
struct vmbus_gpa_direct_hdr {
	uint32_t reserved; /* senders write 0; receivers ignore it */
	uint32_t range_count;
};
static_assert(sizeof(struct vmbus_gpa_direct_hdr) == 8, "gpa direct header is 8 bytes");
static_assert(offsetof(struct vmbus_gpa_direct_hdr, reserved) == 0, "reserved at 0");
static_assert(offsetof(struct vmbus_gpa_direct_hdr, range_count) == 4, "range_count at 4");

struct vmbus_gpa_range {
	uint32_t byte_count;  /* bytes described by this range, >= 1 */
	uint32_t byte_offset; /* offset into the first page, < 4096 */
	uint64_t pfn_array[]; /* guest page numbers */
};
static_assert(sizeof(struct vmbus_gpa_range) == 8, "gpa range header is 8 bytes");
static_assert(offsetof(struct vmbus_gpa_range, byte_count) == 0, "byte_count at 0");
static_assert(offsetof(struct vmbus_gpa_range, byte_offset) == 4, "byte_offset at 4");
static_assert(offsetof(struct vmbus_gpa_range, pfn_array) == 8, "pfn_array at 8");

/*
 * Transfer pages (type 7, host -> guest netvsc): after the descriptor, this
 * header, then range_count ranges relative to the GPADL registered under
 * xfer_pageset_id.
 */
struct vmbus_xfer_page_hdr {
	uint16_t xfer_pageset_id;
	uint8_t sender_owns_set;
	uint8_t reserved;
	uint32_t range_count;
};
static_assert(sizeof(struct vmbus_xfer_page_hdr) == 8, "transfer page header is 8 bytes");
static_assert(offsetof(struct vmbus_xfer_page_hdr, xfer_pageset_id) == 0, "pageset id at 0");
static_assert(offsetof(struct vmbus_xfer_page_hdr, sender_owns_set) == 2, "sender_owns_set at 2");
static_assert(offsetof(struct vmbus_xfer_page_hdr, reserved) == 3, "reserved at 3");
static_assert(offsetof(struct vmbus_xfer_page_hdr, range_count) == 4, "range_count at 4");

struct vmbus_xfer_page_range {
	uint32_t byte_count;
	uint32_t byte_offset;
};
static_assert(sizeof(struct vmbus_xfer_page_range) == 8, "transfer page range is 8 bytes");
static_assert(offsetof(struct vmbus_xfer_page_range, byte_count) == 0, "byte_count at 0");
static_assert(offsetof(struct vmbus_xfer_page_range, byte_offset) == 4, "byte_offset at 4");

/* The trailer value for a packet that starts at ring offset `start`. */
#define VMBUS_RING_TRAILER(start) ((uint64_t)(uint32_t)(start) << 32)

#endif
