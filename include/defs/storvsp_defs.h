/* SPDX-License-Identifier: MIT */
/*
 * The VMBus storage protocol (storvsp/storvsc) wire layout (REFERENCES.md section 4).
 *
 * Every packet on a storage channel carries one vstor_packet: operation, flags, an
 * NTSTATUS and a 52-byte union. Before protocol 5.1 (Windows 8) the SCSI request lacked
 * its last 16 bytes, so the guest's packets are 16 bytes shorter (storvsp_packet_size()).
 * Data moves through the guest's own pages: an EXECUTE_SRB that moves data arrives as a
 * GPA-direct VMBus packet whose one range describes the buffer.
 *
 * All fields are little-endian. Header-only: layouts and static_asserts, no code.
 */
#ifndef MHCL_DEFS_STORVSP_DEFS_H
#define MHCL_DEFS_STORVSP_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus_defs.h"

/* Channel class: "ba6163d9-04a1-4d29-b605-72e2ffb1dc7f" (synthetic SCSI controller). */
#define STORVSP_SCSI_CLASS                                                                         \
	HV_GUID_INIT(0xba6163d9, 0x04a1, 0x4d29, 0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f)

/* Versions are (major << 8) | minor. */
#define STORVSP_VERSION(major, minor) ((uint16_t)(((major) << 8) | (minor)))
#define STORVSP_VERSION_WIN6 STORVSP_VERSION(2, 0)
#define STORVSP_VERSION_WIN7 STORVSP_VERSION(4, 2)
#define STORVSP_VERSION_WIN8 STORVSP_VERSION(5, 1)
#define STORVSP_VERSION_WIN8_1 STORVSP_VERSION(6, 0)
#define STORVSP_VERSION_WIN10 STORVSP_VERSION(6, 2)

enum storvsp_op {
	STORVSP_OP_COMPLETE_IO = 1,
	STORVSP_OP_REMOVE_DEVICE = 2,
	STORVSP_OP_EXECUTE_SRB = 3,
	STORVSP_OP_RESET_LUN = 4,
	STORVSP_OP_RESET_ADAPTER = 5,
	STORVSP_OP_RESET_BUS = 6,
	STORVSP_OP_BEGIN_INITIALIZATION = 7,
	STORVSP_OP_END_INITIALIZATION = 8,
	STORVSP_OP_QUERY_PROTOCOL_VERSION = 9,
	STORVSP_OP_QUERY_PROPERTIES = 10,
	STORVSP_OP_ENUMERATE_BUS = 11,
	STORVSP_OP_FCHBA_DATA = 12,
	STORVSP_OP_CREATE_SUB_CHANNELS = 13,
};

/* vstor_packet.flags */
#define STORVSP_FLAG_REQUEST_COMPLETION 0x1u

/* NTSTATUS values the protocol uses. */
#define STORVSP_STATUS_SUCCESS 0x00000000u
#define STORVSP_STATUS_REVISION_MISMATCH 0xC0000059u
#define STORVSP_STATUS_INVALID_PARAMETER 0xC000000Du
#define STORVSP_STATUS_INVALID_DEVICE_STATE 0xC0000184u
#define STORVSP_STATUS_UNSUCCESSFUL 0xC0000001u

/* SRB status: low 6 bits, plus flags. */
#define STORVSP_SRB_SUCCESS 0x01u
#define STORVSP_SRB_ABORTED 0x02u
#define STORVSP_SRB_ERROR 0x04u
#define STORVSP_SRB_INVALID_REQUEST 0x06u
#define STORVSP_SRB_DATA_OVERRUN 0x12u
#define STORVSP_SRB_INVALID_LUN 0x20u
#define STORVSP_SRB_INTERNAL_ERROR 0x30u
#define STORVSP_SRB_AUTOSENSE_VALID 0x80u
#define STORVSP_SRB_QUEUE_FROZEN 0x40u

/* vmscsi_request.data_in */
#define STORVSP_DATA_WRITE 0u
#define STORVSP_DATA_READ 1u
#define STORVSP_DATA_NONE 2u

#define STORVSP_CDB_MAX 16u
#define STORVSP_SENSE_MAX 20u /* Windows 8 and later */
#define STORVSP_SENSE_MAX_PRE_WIN8 18u

/* The SCSI request block (vmscsi_request); 52 bytes, 36 before Windows 8. */
struct storvsp_srb {
	uint16_t length;
	uint8_t srb_status;
	uint8_t scsi_status;
	uint8_t port;
	uint8_t path_id; /* SCSI channel */
	uint8_t target_id;
	uint8_t lun;
	uint8_t cdb_length;
	uint8_t sense_info_length;
	uint8_t data_in;
	uint8_t reserved;
	uint32_t data_transfer_length;
	union {
		uint8_t cdb[STORVSP_CDB_MAX];
		uint8_t sense[STORVSP_SENSE_MAX];
	};
	/* Windows 8 and later */
	uint16_t reserve;
	uint8_t queue_tag;
	uint8_t queue_action;
	uint32_t srb_flags;
	uint32_t time_out_value;
	uint32_t queue_sort_key;
} __attribute__((packed));
static_assert(sizeof(struct storvsp_srb) == 0x34, "SRB is 52 bytes");
static_assert(offsetof(struct storvsp_srb, data_transfer_length) == 12, "length at 12");
static_assert(offsetof(struct storvsp_srb, cdb) == 16, "cdb at 16");
static_assert(offsetof(struct storvsp_srb, reserve) == 36, "win8 extension at 36");
static_assert(offsetof(struct storvsp_srb, srb_flags) == 40, "srb_flags at 40");
#define STORVSP_SRB_SIZE_PRE_WIN8 36u

/* QUERY_PROPERTIES answer. */
struct storvsp_properties {
	uint32_t reserved;
	uint16_t max_channel_count; /* sub-channels the host allows */
	uint16_t reserved1;
	uint32_t flags; /* STORVSP_PROP_MULTI_CHANNEL */
	uint32_t max_transfer_bytes;
	uint64_t reserved2;
} __attribute__((packed));
static_assert(sizeof(struct storvsp_properties) == 24, "properties are 24 bytes");
#define STORVSP_PROP_MULTI_CHANNEL 0x1u

/* QUERY_PROTOCOL_VERSION */
struct storvsp_version {
	uint16_t major_minor;
	uint16_t revision;
} __attribute__((packed));
static_assert(sizeof(struct storvsp_version) == 4, "version is 4 bytes");

struct storvsp_packet {
	uint32_t operation;
	uint32_t flags;
	uint32_t status;
	union {
		struct storvsp_srb srb;
		struct storvsp_properties props;
		struct storvsp_version version;
		uint16_t sub_channel_count;
		uint8_t buffer[0x34];
	};
} __attribute__((packed));
static_assert(sizeof(struct storvsp_packet) == 64, "vstor packet is 64 bytes");
static_assert(offsetof(struct storvsp_packet, srb) == 12, "union at 12");
#define STORVSP_PACKET_HEADER 12u

/* The bytes a packet has under a protocol version (what the guest sends and expects). */
static inline uint32_t storvsp_packet_size(uint16_t version)
{
	return version >= STORVSP_VERSION_WIN8 ? (uint32_t)sizeof(struct storvsp_packet)
					       : STORVSP_PACKET_HEADER + STORVSP_SRB_SIZE_PRE_WIN8;
}

/* The channel-open user data storvsc sends (24 zero bytes), and the offer's own. */
#define STORVSP_OPEN_USERDATA_SIZE 24u

#endif
