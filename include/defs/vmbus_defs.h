/* SPDX-License-Identifier: MIT */
/*
 * VMBus channel-management messages: the control protocol a guest's VMBus
 * driver (Linux hv_vmbus, Windows vmbus.sys) and the host exchange through
 * HvPostMessage (guest -> host) and the SynIC message page, SINT 2
 * (host -> guest). Every message is an 8-byte header plus a body, at most
 * 240 bytes in all (one hv_message payload). All fields are little-endian.
 *
 * Layouts follow Linux include/linux/hyperv.h (6.1) and the host-side
 * description in openvmm vmbus_core/src/protocol.rs (REFERENCES.md section 2).
 * Header-only: no functions, no allocation.
 */
#ifndef MHCL_DEFS_VMBUS_DEFS_H
#define MHCL_DEFS_VMBUS_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "vmbus_ring_defs.h"

/* ---- GUIDs ------------------------------------------------------------ */

/*
 * A GUID as it travels on the wire: 16 bytes, the first three fields
 * little-endian (Windows GUID layout, Linux guid_t). Compare with memcmp.
 */
struct hv_guid {
	uint8_t b[16];
};
static_assert(sizeof(struct hv_guid) == 16, "GUID is 16 bytes");

/* Builds the wire bytes of {a-b-c-d0d1-d2..d7}, e.g.
 * HV_GUID_INIT(0xba6163d9, 0x04a1, 0x4d29, 0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f). */
#define HV_GUID_INIT(a, b_, c, d0, d1, d2, d3, d4, d5, d6, d7)                                     \
	((struct hv_guid){{(uint8_t)(a), (uint8_t)((a) >> 8), (uint8_t)((a) >> 16),                \
			   (uint8_t)((a) >> 24), (uint8_t)(b_), (uint8_t)((b_) >> 8),              \
			   (uint8_t)(c), (uint8_t)((c) >> 8), (d0), (d1), (d2), (d3), (d4), (d5),  \
			   (d6), (d7)}})

/* Device class GUIDs (if_type of an offer). */
#define HV_GUID_SCSI                                                                               \
	HV_GUID_INIT(0xba6163d9, 0x04a1, 0x4d29, 0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f)
#define HV_GUID_NET                                                                                \
	HV_GUID_INIT(0xf8615163, 0xdf3e, 0x46c5, 0x91, 0x3f, 0xf2, 0xd2, 0xf9, 0x65, 0xed, 0x0e)
#define HV_GUID_IC_SHUTDOWN                                                                        \
	HV_GUID_INIT(0x0e0b6031, 0x5213, 0x4934, 0x81, 0x8b, 0x38, 0xd9, 0x0c, 0xed, 0x39, 0xdb)
#define HV_GUID_IC_HEARTBEAT                                                                       \
	HV_GUID_INIT(0x57164f39, 0x9115, 0x4e78, 0xab, 0x55, 0x38, 0x2f, 0x3b, 0xd5, 0x42, 0x2d)
#define HV_GUID_IC_TIMESYNC                                                                        \
	HV_GUID_INIT(0x9527e630, 0xd0ae, 0x497b, 0xad, 0xce, 0xe8, 0x0a, 0xb0, 0x17, 0x5c, 0xaf)
#define HV_GUID_IC_KVP                                                                             \
	HV_GUID_INIT(0xa9a0f4e7, 0x5a45, 0x4d96, 0xb8, 0x27, 0x8a, 0x84, 0x1e, 0x8c, 0x03, 0xe6)

/* ---- Sizes, connection ids, versions ----------------------------------- */

#define VMBUS_MSG_MAX 240u    /* hv_message payload bytes */
#define VMBUS_PAGE_SIZE 4096u /* Hyper-V page, also on arm64 */
#define VMBUS_PAGE_SHIFT 12
#define VMBUS_MESSAGE_SINT 2u	     /* SynIC SINT for channel messages and events */
#define VMBUS_HV_MSG_TYPE_CHANNEL 1u /* SynIC message type of every host->guest message */

/*
 * Connection ids a guest posts to. Before protocol 5.0 everything goes to
 * MESSAGE (1). From 5.0 on INITIATE_CONTACT goes to MESSAGE_4 and every
 * later message to the id the host returned in VERSION_RESPONSE.
 */
#define VMBUS_CONNID_MESSAGE 1u
#define VMBUS_CONNID_EVENT 2u
#define VMBUS_CONNID_MONITOR 3u
#define VMBUS_CONNID_MESSAGE_4 4u
#define VMBUS_CONNID_MAX 0xffffffu /* connection ids are 24 bits */

#define VMBUS_MAKE_VERSION(maj, min) (((uint32_t)(maj) << 16) | (uint32_t)(min))
#define VMBUS_VERSION_WS2008 VMBUS_MAKE_VERSION(0, 13)
#define VMBUS_VERSION_WIN7 VMBUS_MAKE_VERSION(1, 1)
#define VMBUS_VERSION_WIN8 VMBUS_MAKE_VERSION(2, 4)
#define VMBUS_VERSION_WIN8_1 VMBUS_MAKE_VERSION(3, 0)
#define VMBUS_VERSION_WIN10 VMBUS_MAKE_VERSION(4, 0)
#define VMBUS_VERSION_WIN10_V4_1 VMBUS_MAKE_VERSION(4, 1)
#define VMBUS_VERSION_WIN10_V5 VMBUS_MAKE_VERSION(5, 0)
#define VMBUS_VERSION_WIN10_V5_1 VMBUS_MAKE_VERSION(5, 1)
#define VMBUS_VERSION_WIN10_V5_2 VMBUS_MAKE_VERSION(5, 2)
#define VMBUS_VERSION_WIN10_V5_3 VMBUS_MAKE_VERSION(5, 3)
#define VMBUS_VERSION_COPPER VMBUS_MAKE_VERSION(6, 0) /* adds feature flags; not in Linux 6.1 */

#define VMBUS_RELID_MAX 2047u /* Linux sizes its relid table to 2048; relid 0 is never used */
#define VMBUS_USER_DEF_BYTES 120u

/* NTSTATUS values carried in OPEN_RESULT / GPADL_CREATED / TL_CONNECT_RESULT. */
#define VMBUS_STATUS_SUCCESS 0u
#define VMBUS_STATUS_UNSUCCESSFUL 0xc0000001u
#define VMBUS_STATUS_CONNECTION_REFUSED 0xc0000236u

/* VERSION_RESPONSE connection_state. */
#define VMBUS_CONN_STATE_SUCCESSFUL 0u
#define VMBUS_CONN_STATE_FAILED_LOW_RESOURCES 1u
#define VMBUS_CONN_STATE_FAILED_UNKNOWN 2u

/* OFFERCHANNEL chn_flags. */
#define VMBUS_OFFER_F_ENUMERATE_DEVICE_INTERFACE 0x0001u
#define VMBUS_OFFER_F_NAMED_PIPE_MODE 0x0010u
#define VMBUS_OFFER_F_TLNPI_PROVIDER 0x2000u
/* Pipe-mode offers: user_def bytes 0..3 hold the pipe type (u32). */
#define VMBUS_PIPE_TYPE_BYTE 0u
#define VMBUS_PIPE_TYPE_MESSAGE 4u

enum vmbus_msg_type {
	VMBUS_MSG_INVALID = 0,
	VMBUS_MSG_OFFERCHANNEL = 1,
	VMBUS_MSG_RESCIND_CHANNELOFFER = 2,
	VMBUS_MSG_REQUESTOFFERS = 3,
	VMBUS_MSG_ALLOFFERS_DELIVERED = 4,
	VMBUS_MSG_OPENCHANNEL = 5,
	VMBUS_MSG_OPENCHANNEL_RESULT = 6,
	VMBUS_MSG_CLOSECHANNEL = 7,
	VMBUS_MSG_GPADL_HEADER = 8,
	VMBUS_MSG_GPADL_BODY = 9,
	VMBUS_MSG_GPADL_CREATED = 10,
	VMBUS_MSG_GPADL_TEARDOWN = 11,
	VMBUS_MSG_GPADL_TORNDOWN = 12,
	VMBUS_MSG_RELID_RELEASED = 13,
	VMBUS_MSG_INITIATE_CONTACT = 14,
	VMBUS_MSG_VERSION_RESPONSE = 15,
	VMBUS_MSG_UNLOAD = 16,
	VMBUS_MSG_UNLOAD_RESPONSE = 17,
	VMBUS_MSG_OPEN_RESERVED_CHANNEL = 18,  /* not used by Linux */
	VMBUS_MSG_CLOSE_RESERVED_CHANNEL = 19, /* not used by Linux */
	VMBUS_MSG_CLOSE_RESERVED_RESPONSE = 20,
	VMBUS_MSG_TL_CONNECT_REQUEST = 21,
	VMBUS_MSG_MODIFYCHANNEL = 22,
	VMBUS_MSG_TL_CONNECT_RESULT = 23,
	VMBUS_MSG_MODIFYCHANNEL_RESPONSE = 24,
	_VMBUS_MSG_MAX,
	_VMBUS_MSG_INVALID = -22, /* -EINVAL */
};

/* ---- Messages --------------------------------------------------------- */

struct vmbus_msg_hdr {
	uint32_t msgtype; /* enum vmbus_msg_type */
	uint32_t padding;
};
static_assert(sizeof(struct vmbus_msg_hdr) == 8, "header is 8 bytes");

/* guest -> host: version proposal. */
struct vmbus_msg_initiate_contact {
	struct vmbus_msg_hdr hdr;
	uint32_t version_requested;
	uint32_t target_vcpu; /* VP index that receives host messages (>= 3.0) */
	/*
	 * < 5.0: GPA of the legacy interrupt page. >= 5.0: byte 0 = msg_sint,
	 * byte 1 = msg_vtl, bytes 4..7 = feature flags (6.0 only).
	 */
	uint64_t interrupt_page_or_target;
	uint64_t monitor_page1; /* parent -> child */
	uint64_t monitor_page2; /* child -> parent */
};
static_assert(sizeof(struct vmbus_msg_initiate_contact) == 40, "INITIATE_CONTACT is 40 bytes");
static_assert(offsetof(struct vmbus_msg_initiate_contact, version_requested) == 8, "version at 8");
static_assert(offsetof(struct vmbus_msg_initiate_contact, target_vcpu) == 12, "vcpu at 12");
static_assert(offsetof(struct vmbus_msg_initiate_contact, interrupt_page_or_target) == 16, "@16");
static_assert(offsetof(struct vmbus_msg_initiate_contact, monitor_page1) == 24, "monitor1 at 24");
static_assert(offsetof(struct vmbus_msg_initiate_contact, monitor_page2) == 32, "monitor2 at 32");

/* host -> guest. */
struct vmbus_msg_version_response {
	struct vmbus_msg_hdr hdr;
	uint8_t version_supported; /* nonzero = accepted */
	uint8_t connection_state;  /* VMBUS_CONN_STATE_* */
	uint16_t padding;
	uint32_t msg_conn_id; /* >= 5.0: where the guest posts from now on */
};
static_assert(sizeof(struct vmbus_msg_version_response) == 16, "VERSION_RESPONSE is 16 bytes");
static_assert(offsetof(struct vmbus_msg_version_response, version_supported) == 8, "@8");
static_assert(offsetof(struct vmbus_msg_version_response, connection_state) == 9, "@9");
static_assert(offsetof(struct vmbus_msg_version_response, msg_conn_id) == 12, "@12");

/* host -> guest, accepting a version >= 6.0: adds the feature flags the host
 * grants out of those the guest asked for (INITIATE_CONTACT bytes 20..23). */
struct vmbus_msg_version_response2 {
	struct vmbus_msg_version_response v1;
	uint32_t supported_features;
};
static_assert(sizeof(struct vmbus_msg_version_response2) == 20, "VERSION_RESPONSE 6.0 is 20");
static_assert(offsetof(struct vmbus_msg_version_response2, supported_features) == 16, "@16");

/* guest -> host, header only: REQUESTOFFERS, UNLOAD. host -> guest, header
 * only: ALLOFFERS_DELIVERED, UNLOAD_RESPONSE. */

/* host -> guest: one device channel. */
struct vmbus_msg_offer_channel {
	struct vmbus_msg_hdr hdr;
	struct hv_guid if_type;
	struct hv_guid if_instance;
	uint8_t reserved[16]; /* bytes, not u64s: keeps the 196-byte size unpadded */
	uint16_t chn_flags;
	uint16_t mmio_megabytes;
	uint8_t user_def[VMBUS_USER_DEF_BYTES];
	uint16_t sub_channel_index;
	uint16_t mmio_megabytes_optional;
	uint32_t child_relid;
	uint8_t monitorid;
	uint8_t monitor_allocated;	 /* bit 0; mhcl has no MNF and sends 0 */
	uint16_t is_dedicated_interrupt; /* bit 0; always 1 */
	uint32_t connection_id;		 /* what the guest signals with (HvSignalEvent), 24 bits */
};
static_assert(sizeof(struct vmbus_msg_offer_channel) == 196, "OFFERCHANNEL is 196 bytes");
static_assert(offsetof(struct vmbus_msg_offer_channel, if_type) == 8, "if_type at 8");
static_assert(offsetof(struct vmbus_msg_offer_channel, if_instance) == 24, "if_instance at 24");
static_assert(offsetof(struct vmbus_msg_offer_channel, chn_flags) == 56, "chn_flags at 56");
static_assert(offsetof(struct vmbus_msg_offer_channel, mmio_megabytes) == 58, "mmio at 58");
static_assert(offsetof(struct vmbus_msg_offer_channel, user_def) == 60, "user_def at 60");
static_assert(offsetof(struct vmbus_msg_offer_channel, sub_channel_index) == 180, "@180");
static_assert(offsetof(struct vmbus_msg_offer_channel, mmio_megabytes_optional) == 182, "@182");
static_assert(offsetof(struct vmbus_msg_offer_channel, child_relid) == 184, "relid at 184");
static_assert(offsetof(struct vmbus_msg_offer_channel, monitorid) == 188, "monitorid at 188");
static_assert(offsetof(struct vmbus_msg_offer_channel, monitor_allocated) == 189, "@189");
static_assert(offsetof(struct vmbus_msg_offer_channel, is_dedicated_interrupt) == 190, "@190");
static_assert(offsetof(struct vmbus_msg_offer_channel, connection_id) == 192, "connid at 192");

/* host -> guest: RESCIND_CHANNELOFFER. guest -> host: RELID_RELEASED, CLOSECHANNEL.
 * All three are {hdr, child_relid}. */
struct vmbus_msg_relid {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
};
static_assert(sizeof(struct vmbus_msg_relid) == 12, "relid-only messages are 12 bytes");
static_assert(offsetof(struct vmbus_msg_relid, child_relid) == 8, "relid at 8");

/* guest -> host. */
struct vmbus_msg_open_channel {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t openid; /* echoed in OPEN_RESULT; Linux uses the relid */
	uint32_t ringbuffer_gpadl;
	uint32_t target_vp; /* VP index for host->guest interrupts */
	/* Pages [0, offset) of the ring GPADL are guest->host, [offset, end) host->guest. */
	uint32_t downstream_ringbuffer_pageoffset;
	uint8_t userdata[VMBUS_USER_DEF_BYTES];
};
static_assert(sizeof(struct vmbus_msg_open_channel) == 148, "OPENCHANNEL is 148 bytes");
static_assert(offsetof(struct vmbus_msg_open_channel, child_relid) == 8, "relid at 8");
static_assert(offsetof(struct vmbus_msg_open_channel, openid) == 12, "openid at 12");
static_assert(offsetof(struct vmbus_msg_open_channel, ringbuffer_gpadl) == 16, "gpadl at 16");
static_assert(offsetof(struct vmbus_msg_open_channel, target_vp) == 20, "target_vp at 20");
static_assert(offsetof(struct vmbus_msg_open_channel, downstream_ringbuffer_pageoffset) == 24,
	      "@24");
static_assert(offsetof(struct vmbus_msg_open_channel, userdata) == 28, "userdata at 28");

/* host -> guest. */
struct vmbus_msg_open_result {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t openid;
	uint32_t status; /* 0 = opened */
};
static_assert(sizeof(struct vmbus_msg_open_result) == 20, "OPEN_RESULT is 20 bytes");
static_assert(offsetof(struct vmbus_msg_open_result, status) == 16, "status at 16");

/* GPADL ranges use struct vmbus_gpa_range (vmbus_ring_defs.h): {byte_count u32,
 * byte_offset u32} then ceil((byte_offset + byte_count) / 4096) PFNs. */

/* guest -> host: starts a GPADL. u64 data (range headers and PFNs) follows. */
struct vmbus_msg_gpadl_header {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint16_t range_buflen; /* bytes of all ranges (headers + PFNs), over header and bodies */
	uint16_t rangecount;
};
static_assert(sizeof(struct vmbus_msg_gpadl_header) == 20, "GPADL_HEADER fixed part is 20 bytes");
static_assert(offsetof(struct vmbus_msg_gpadl_header, child_relid) == 8, "relid at 8");
static_assert(offsetof(struct vmbus_msg_gpadl_header, gpadl) == 12, "gpadl at 12");
static_assert(offsetof(struct vmbus_msg_gpadl_header, range_buflen) == 16, "range_buflen at 16");
static_assert(offsetof(struct vmbus_msg_gpadl_header, rangecount) == 18, "rangecount at 18");

/* guest -> host: continues a GPADL. u64 PFNs follow. */
struct vmbus_msg_gpadl_body {
	struct vmbus_msg_hdr hdr;
	uint32_t msgnumber; /* Linux leaves 0; ignored */
	uint32_t gpadl;
};
static_assert(sizeof(struct vmbus_msg_gpadl_body) == 16, "GPADL_BODY fixed part is 16 bytes");
static_assert(offsetof(struct vmbus_msg_gpadl_body, gpadl) == 12, "gpadl at 12");

/* u64 values that fit after the fixed parts: 27 in a header (26 PFNs after one
 * range header), 28 in a body. */
#define VMBUS_GPADL_HEADER_MAX_U64 ((VMBUS_MSG_MAX - sizeof(struct vmbus_msg_gpadl_header)) / 8)
#define VMBUS_GPADL_BODY_MAX_U64 ((VMBUS_MSG_MAX - sizeof(struct vmbus_msg_gpadl_body)) / 8)
static_assert(VMBUS_GPADL_HEADER_MAX_U64 == 27, "26 PFNs + 1 range header fit in GPADL_HEADER");
static_assert(VMBUS_GPADL_BODY_MAX_U64 == 28, "28 PFNs fit in GPADL_BODY");

/* host -> guest. */
struct vmbus_msg_gpadl_created {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t gpadl;
	uint32_t creation_status; /* 0 = created */
};
static_assert(sizeof(struct vmbus_msg_gpadl_created) == 20, "GPADL_CREATED is 20 bytes");
static_assert(offsetof(struct vmbus_msg_gpadl_created, creation_status) == 16, "status at 16");

/* guest -> host. */
struct vmbus_msg_gpadl_teardown {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t gpadl;
};
static_assert(sizeof(struct vmbus_msg_gpadl_teardown) == 16, "GPADL_TEARDOWN is 16 bytes");
static_assert(offsetof(struct vmbus_msg_gpadl_teardown, gpadl) == 12, "gpadl at 12");

/* host -> guest. */
struct vmbus_msg_gpadl_torndown {
	struct vmbus_msg_hdr hdr;
	uint32_t gpadl;
};
static_assert(sizeof(struct vmbus_msg_gpadl_torndown) == 12, "GPADL_TORNDOWN is 12 bytes");
static_assert(offsetof(struct vmbus_msg_gpadl_torndown, gpadl) == 8, "gpadl at 8");

/* guest -> host (>= 4.1). */
struct vmbus_msg_modify_channel {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t target_vp;
};
static_assert(sizeof(struct vmbus_msg_modify_channel) == 16, "MODIFYCHANNEL is 16 bytes");
static_assert(offsetof(struct vmbus_msg_modify_channel, target_vp) == 12, "target_vp at 12");

/* host -> guest (>= 5.3; Linux waits for it). */
struct vmbus_msg_modify_channel_response {
	struct vmbus_msg_hdr hdr;
	uint32_t child_relid;
	uint32_t status;
};
static_assert(sizeof(struct vmbus_msg_modify_channel_response) == 16, "MODIFY response is 16");
static_assert(offsetof(struct vmbus_msg_modify_channel_response, status) == 12, "status at 12");

/* guest -> host: hv_sock connect (>= 4.0). */
struct vmbus_msg_tl_connect_request {
	struct vmbus_msg_hdr hdr;
	struct hv_guid guest_endpoint_id;
	struct hv_guid host_service_id;
};
static_assert(sizeof(struct vmbus_msg_tl_connect_request) == 40, "TL_CONNECT_REQUEST is 40");
static_assert(offsetof(struct vmbus_msg_tl_connect_request, host_service_id) == 24, "@24");

/* host -> guest (>= 4.1): refusal of a TL connect. */
struct vmbus_msg_tl_connect_result {
	struct vmbus_msg_hdr hdr;
	struct hv_guid guest_endpoint_id;
	struct hv_guid host_service_id;
	uint32_t status;
};
static_assert(sizeof(struct vmbus_msg_tl_connect_result) == 44, "TL_CONNECT_RESULT is 44");
static_assert(offsetof(struct vmbus_msg_tl_connect_result, status) == 40, "status at 40");

#endif
