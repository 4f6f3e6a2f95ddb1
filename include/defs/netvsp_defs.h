/* SPDX-License-Identifier: MIT */
/*
 * The VMBus network protocol's NVSP layer (netvsp/netvsc) wire layout (REFERENCES.md
 * section 5).
 *
 * Every NVSP message is a u32 type followed by a union of bodies. Linux always sends the
 * whole 40-byte nvsp_message and drops host completions shorter than it expects, so the
 * host pads its messages to 40 bytes too. RNDIS messages travel inside NVSP: the guest's
 * in a send-buffer section or in the packet's GPA ranges, the host's in transfer-page
 * ranges of the receive buffer, whose transfer-page set ID must be NETVSP_RECV_BUF_ID.
 *
 * All fields are little-endian. Header-only: layouts and static_asserts, no code.
 */
#ifndef MHCL_DEFS_NETVSP_DEFS_H
#define MHCL_DEFS_NETVSP_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus_defs.h"

/* Channel class: "f8615163-df3e-46c5-913f-f2d2f965ed0e" (synthetic network adapter). */
#define NETVSP_CLASS                                                                               \
	HV_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e)

/* Protocol versions; the guest proposes one per INIT (min == max), newest first. */
#define NETVSP_VERSION_1 0x00002u
#define NETVSP_VERSION_2 0x30002u
#define NETVSP_VERSION_4 0x40000u
#define NETVSP_VERSION_5 0x50000u
#define NETVSP_VERSION_6 0x60000u
#define NETVSP_VERSION_61 0x60001u

enum netvsp_msg_type {
	NETVSP_MSG_INIT = 1,
	NETVSP_MSG_INIT_COMPLETE = 2,
	/* Version 1 */
	NETVSP_MSG_SEND_NDIS_VER = 100,
	NETVSP_MSG_SEND_RECV_BUF = 101,
	NETVSP_MSG_SEND_RECV_BUF_COMPLETE = 102,
	NETVSP_MSG_REVOKE_RECV_BUF = 103,
	NETVSP_MSG_SEND_SEND_BUF = 104,
	NETVSP_MSG_SEND_SEND_BUF_COMPLETE = 105,
	NETVSP_MSG_REVOKE_SEND_BUF = 106,
	NETVSP_MSG_SEND_RNDIS_PKT = 107,
	NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE = 108,
	/* Version 2 (109..124 are chimney and VMQ messages nobody sends any more) */
	NETVSP_MSG_SEND_NDIS_CONFIG = 125,
	/* Version 4 */
	NETVSP_MSG_SEND_VF_ASSOCIATION = 128,
	NETVSP_MSG_SWITCH_DATA_PATH = 129,
	/* Version 5 */
	NETVSP_MSG_OID_QUERY_EX = 131,
	NETVSP_MSG_OID_QUERY_EX_COMPLETE = 132,
	NETVSP_MSG_SUBCHANNEL = 133,
	NETVSP_MSG_SEND_INDIRECTION_TABLE = 134,
};

/* Completion status (Linux's enum nvsp_status). */
#define NETVSP_STATUS_NONE 0u
#define NETVSP_STATUS_SUCCESS 1u
#define NETVSP_STATUS_FAILURE 2u
#define NETVSP_STATUS_PROTOCOL_TOO_NEW 3u
#define NETVSP_STATUS_PROTOCOL_TOO_OLD 4u
#define NETVSP_STATUS_INVALID_RNDIS_PKT 5u
#define NETVSP_STATUS_BUSY 6u
#define NETVSP_STATUS_PROTOCOL_UNSUPPORTED 7u

/* SEND_RNDIS_PKT.section_index when the message is not in the send buffer. */
#define NETVSP_NO_SECTION 0xFFFFFFFFu
/* The IDs the guest gives its buffers; host->guest transfer pages must name the first. */
#define NETVSP_RECV_BUF_ID 0xCAFEu
#define NETVSP_SEND_BUF_ID 0u

/* SEND_RNDIS_PKT.channel_type */
#define NETVSP_CHANNEL_DATA 0u
#define NETVSP_CHANNEL_CONTROL 1u

/* SUBCHANNEL.op */
#define NETVSP_SUBCHANNEL_ALLOCATE 1u

/* SEND_NDIS_CONFIG.capabilities bits. */
#define NETVSP_CAP_VMQ (1ull << 0)
#define NETVSP_CAP_CHIMNEY (1ull << 1)
#define NETVSP_CAP_SRIOV (1ull << 2)
#define NETVSP_CAP_IEEE8021Q (1ull << 3)
#define NETVSP_CAP_CORRELATION_ID (1ull << 4)
#define NETVSP_CAP_TEAMING (1ull << 5)
#define NETVSP_CAP_VSUBNETID (1ull << 6)
#define NETVSP_CAP_RSC (1ull << 7)

/* Entries of the host->guest send indirection table (SEND_INDIRECTION_TABLE). */
#define NETVSP_INDIRECTION_TABLE_SIZE 16u

/* INIT (guest) */
struct netvsp_init {
	uint32_t min_version;
	uint32_t max_version;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_init) == 8, "init is 8 bytes");

/* INIT_COMPLETE (host) */
struct netvsp_init_complete {
	uint32_t negotiated_version;
	uint32_t max_mdl_chain_len;
	uint32_t status;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_init_complete) == 12, "init complete is 12 bytes");

/* SEND_NDIS_VER (guest, no completion) */
struct netvsp_ndis_version {
	uint32_t major;
	uint32_t minor;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_ndis_version) == 8, "NDIS version is 8 bytes");

/* SEND_NDIS_CONFIG (guest, v2+, no completion) */
struct netvsp_ndis_config {
	uint32_t mtu; /* the frame: IP MTU + 14 */
	uint32_t reserved;
	uint64_t capabilities; /* NETVSP_CAP_* */
} __attribute__((packed));
static_assert(sizeof(struct netvsp_ndis_config) == 16, "NDIS config is 16 bytes");
static_assert(offsetof(struct netvsp_ndis_config, capabilities) == 8, "capabilities at 8");

/* SEND_RECV_BUF and SEND_SEND_BUF (guest) */
struct netvsp_send_buf {
	uint32_t gpadl;
	uint16_t id;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_send_buf) == 6, "buffer message is 6 bytes");

struct netvsp_recv_buf_section {
	uint32_t offset;
	uint32_t sub_alloc_size;
	uint32_t num_sub_allocs;
	uint32_t end_offset;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_recv_buf_section) == 16, "section is 16 bytes");

/* SEND_RECV_BUF_COMPLETE (host): Linux requires exactly one section at offset 0. */
struct netvsp_recv_buf_complete {
	uint32_t status;
	uint32_t num_sections;
	struct netvsp_recv_buf_section section;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_recv_buf_complete) == 24, "recv buf complete is 24 bytes");
static_assert(offsetof(struct netvsp_recv_buf_complete, section) == 8, "section at 8");

/* SEND_SEND_BUF_COMPLETE (host) */
struct netvsp_send_buf_complete {
	uint32_t status;
	uint32_t section_size;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_send_buf_complete) == 8, "send buf complete is 8 bytes");

/* REVOKE_RECV_BUF and REVOKE_SEND_BUF (guest) */
struct netvsp_revoke_buf {
	uint16_t id;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_revoke_buf) == 2, "revoke is 2 bytes");

/* SEND_RNDIS_PKT (both ways) */
struct netvsp_rndis_pkt {
	uint32_t channel_type;	/* NETVSP_CHANNEL_* */
	uint32_t section_index; /* NETVSP_NO_SECTION: in the packet's GPA ranges */
	uint32_t section_size;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_rndis_pkt) == 12, "RNDIS packet message is 12 bytes");

/* SEND_RNDIS_PKT_COMPLETE (both ways) */
struct netvsp_rndis_pkt_complete {
	uint32_t status;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_rndis_pkt_complete) == 4, "RNDIS completion is 4 bytes");

/* SEND_VF_ASSOCIATION (host, v4+) */
struct netvsp_vf_association {
	uint32_t allocated;
	uint32_t serial;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_vf_association) == 8, "VF association is 8 bytes");

/* SWITCH_DATA_PATH (guest, v4+): 0 synthetic, 1 VF */
struct netvsp_switch_data_path {
	uint32_t active_datapath;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_switch_data_path) == 4, "switch data path is 4 bytes");

/* SUBCHANNEL request (guest) and completion (host), v5+ */
struct netvsp_subchannel {
	uint32_t op_or_status; /* request: NETVSP_SUBCHANNEL_ALLOCATE; completion: status */
	uint32_t num;	       /* requested; completion: allocated (never more) */
} __attribute__((packed));
static_assert(sizeof(struct netvsp_subchannel) == 8, "subchannel message is 8 bytes");

/* SEND_INDIRECTION_TABLE (host, v5+): count u32 channel numbers at offset from the start
 * of the NVSP message. */
struct netvsp_indirection_table {
	uint32_t count;
	uint32_t offset;
} __attribute__((packed));
static_assert(sizeof(struct netvsp_indirection_table) == 8, "indirection table is 8 bytes");

#define NETVSP_MSG_HEADER 4u
#define NETVSP_MSG_BODY 36u

/* The whole message as Linux sends it: type + 36-byte union. */
struct netvsp_message {
	uint32_t type; /* enum netvsp_msg_type */
	union {
		struct netvsp_init init;
		struct netvsp_init_complete init_complete;
		struct netvsp_ndis_version ndis_version;
		struct netvsp_ndis_config ndis_config;
		struct netvsp_send_buf send_buf;
		struct netvsp_recv_buf_complete recv_buf_complete;
		struct netvsp_send_buf_complete send_buf_complete;
		struct netvsp_revoke_buf revoke_buf;
		struct netvsp_rndis_pkt rndis_pkt;
		struct netvsp_rndis_pkt_complete rndis_pkt_complete;
		struct netvsp_vf_association vf_association;
		struct netvsp_switch_data_path switch_data_path;
		struct netvsp_subchannel subchannel;
		struct netvsp_indirection_table indirection_table;
		uint8_t raw[NETVSP_MSG_BODY];
	};
} __attribute__((packed));
static_assert(sizeof(struct netvsp_message) == 40, "NVSP message is 40 bytes");
static_assert(offsetof(struct netvsp_message, init) == NETVSP_MSG_HEADER, "body at 4");

/* Linux drops host completions shorter than this (openvmm's PACKET_SIZE_V1). */
#define NETVSP_MSG_SIZE_V1 28u

#endif
