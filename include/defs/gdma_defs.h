/* SPDX-License-Identifier: MIT */
/*
 * GDMA wire layouts shared by mhcl's MANA driver and the test device model: BAR0
 * registers, the shared-memory channel (SMC) that bootstraps the hardware channel
 * (HWC), doorbells, work queue entries, completion and event entries, and the HWC
 * request/response messages with the GDMA core requests (REFERENCES.md sections 6
 * and 10; Linux include/net/mana/{gdma.h,hw_channel.h}, mana/shm_channel.c).
 *
 * All fields are little-endian. Bit fields are masks and shifts, not C bitfields.
 * Header-only: layouts, constants and static_asserts, no code.
 */
#ifndef MHCL_DEFS_GDMA_DEFS_H
#define MHCL_DEFS_GDMA_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* PCI identity of the virtual function (the PF is 0x00B9; mhcl sees only VFs). */
#define GDMA_PCI_VENDOR_MICROSOFT 0x1414u
#define GDMA_PCI_DEVICE_MANA_VF 0x00BAu
#define GDMA_PCI_DEVICE_MANA_PF 0x00B9u

/* All GDMA queue memory and DMA regions are built from 4 KiB pages. */
#define GDMA_PAGE_SHIFT 12u
#define GDMA_PAGE_SIZE (1u << GDMA_PAGE_SHIFT)

/*
 * BAR0 registers of a VF. The driver reads the doorbell-page zone offset (u64), the
 * doorbell page size (low 16 bits of a u32 read) and the SMC offset (u64), all
 * relative to BAR0. A PF has them at 0xC8/0xD0/0x70 (below a SR-IOV base).
 */
#define GDMA_REG_VERSION 0x00u	      /* micro u16, minor u8, major u8 */
#define GDMA_REG_DB_PAGE_OFFSET 0x08u /* u64 */
#define GDMA_REG_DB_PAGE_SIZE 0x10u   /* u16 in a u32 */
#define GDMA_REG_SHM_OFFSET 0x18u     /* u64 */
#define GDMA_REG_SHM_SIZE 0x20u	      /* u16 in a u32 */
#define GDMA_REG_MAP_SIZE 0x28u	      /* bytes of the register map */

#define GDMA_PF_REG_DB_PAGE_OFF 0xC8u
#define GDMA_PF_REG_DB_PAGE_SIZE 0xD0u
#define GDMA_PF_REG_SHM_OFF 0x70u

/*
 * Doorbells: 64-bit writes at db_base + db_id * db_page_size + one of these. A WQ
 * doorbell's tail is the running byte offset of the producer (head in 32-byte basic
 * units times 32); a CQ/EQ doorbell's tail is the consumer index modulo
 * (entries << 3), i.e. index plus three wrap bits.
 */
#define GDMA_DB_OFF_SQ 0x000u
#define GDMA_DB_OFF_RQ 0x400u
#define GDMA_DB_OFF_RQ_CLIENT_DATA 0x408u
#define GDMA_DB_OFF_CQ 0x800u
#define GDMA_DB_OFF_EQ 0xFF8u

#define GDMA_DB_ID_MASK 0xffffffu /* bits 23:0 (the EQ form uses 15:0) */
#define GDMA_DB_EQ_ID_MASK 0xffffu
#define GDMA_DB_WQE_CNT_SHIFT 24u /* RQ: 31:24, 0 per the HW spec */
#define GDMA_DB_WQE_CNT_MASK 0xffu
#define GDMA_DB_TAIL_SHIFT 32u
#define GDMA_DB_WQ_TAIL_MASK 0xffffffffu /* SQ/RQ: 63:32 */
#define GDMA_DB_CQ_TAIL_MASK 0x7fffffffu /* CQ/EQ: 62:32 */
#define GDMA_DB_ARM (1ull << 63)	 /* CQ/EQ */

#define GDMA_DB_ID(v) ((uint32_t)((v)&GDMA_DB_ID_MASK))
#define GDMA_DB_WQ_TAIL(v) ((uint32_t)(((v) >> GDMA_DB_TAIL_SHIFT) & GDMA_DB_WQ_TAIL_MASK))
#define GDMA_DB_CQ_TAIL(v) ((uint32_t)(((v) >> GDMA_DB_TAIL_SHIFT) & GDMA_DB_CQ_TAIL_MASK))
#define GDMA_DB_IS_ARMED(v) (((v)&GDMA_DB_ARM) != 0)

#define GDMA_DB_WQ(id, tail)                                                                       \
	(((uint64_t)(id)&GDMA_DB_ID_MASK) | ((uint64_t)(uint32_t)(tail) << GDMA_DB_TAIL_SHIFT))
#define GDMA_DB_CQ(id, tail, arm)                                                                  \
	(((uint64_t)(id)&GDMA_DB_ID_MASK) |                                                        \
	 (((uint64_t)(tail)&GDMA_DB_CQ_TAIL_MASK) << GDMA_DB_TAIL_SHIFT) |                         \
	 ((arm) ? GDMA_DB_ARM : 0))
#define GDMA_DB_EQ(id, tail, arm) GDMA_DB_CQ((uint32_t)(id)&GDMA_DB_EQ_ID_MASK, tail, arm)

/*
 * Shared-memory channel: a 32-byte aperture at BAR0 + SHM offset. The driver writes
 * eight dwords; writing the last one (the header) hands the aperture to the device
 * (owner_is_pf reads as 1), which answers in place with direction = response and a
 * status, then clears owner_is_pf. ESTABLISH_HWC carries the page frame numbers of
 * the HWC EQ, CQ, RQ and SQ: the low 48 bits each at byte 0/6/12/18, the high 4 bits
 * of each in one u16 (EQ in bits 3:0, CQ 7:4, RQ 11:8, SQ 15:12), then the EQ's MSI-X
 * vector. Each HWC queue is one physically contiguous page-aligned buffer.
 */
#define GDMA_SMC_SIZE 32u
#define GDMA_SMC_HDR_OFFSET 28u /* the last dword */

#define GDMA_SMC_MSG_ESTABLISH_HWC 1u
#define GDMA_SMC_MSG_DESTROY_HWC 2u
#define GDMA_SMC_MSG_REPORT_HWC_TIMEOUT 4u
#define GDMA_SMC_ESTABLISH_HWC_VERSION 0u
#define GDMA_SMC_DESTROY_HWC_VERSION 0u

#define GDMA_SMC_HDR_TYPE(h) ((h)&0x7u)		    /* 2:0 */
#define GDMA_SMC_HDR_VERSION(h) (((h) >> 3) & 0x7u) /* 5:3 */
#define GDMA_SMC_HDR_RESPONSE (1u << 7)		    /* direction: 1 = device to driver */
#define GDMA_SMC_HDR_STATUS(h) (((h) >> 8) & 0xffu) /* 15:8, 0 = success */
#define GDMA_SMC_HDR_STATUS_SHIFT 8u
#define GDMA_SMC_HDR_RESET_VF (1u << 24)
#define GDMA_SMC_HDR_OWNER_IS_PF (1u << 31)
#define GDMA_SMC_HDR(type, version) (((uint32_t)(type)&0x7u) | (((uint32_t)(version)&0x7u) << 3))
/* The aperture reads as all ones while the function resets. */
#define GDMA_SMC_RESET_STATE 0xffffffffu

#define GDMA_SMC_PFN_L48_MASK 0xffffffffffffull
#define GDMA_SMC_PFN_H4_SHIFT 48u

struct gdma_smc_establish_hwc {
	uint8_t eq_pfn[6];
	uint8_t cq_pfn[6];
	uint8_t rq_pfn[6];
	uint8_t sq_pfn[6];
	uint16_t pfn_high4; /* high 4 bits of each PFN, EQ first */
	uint16_t msix_index;
	uint32_t hdr;
};
static_assert(sizeof(struct gdma_smc_establish_hwc) == GDMA_SMC_SIZE, "SMC message");
static_assert(offsetof(struct gdma_smc_establish_hwc, cq_pfn) == 6, "SMC CQ PFN");
static_assert(offsetof(struct gdma_smc_establish_hwc, rq_pfn) == 12, "SMC RQ PFN");
static_assert(offsetof(struct gdma_smc_establish_hwc, sq_pfn) == 18, "SMC SQ PFN");
static_assert(offsetof(struct gdma_smc_establish_hwc, pfn_high4) == 24, "SMC high bits");
static_assert(offsetof(struct gdma_smc_establish_hwc, msix_index) == 26, "SMC MSI-X");
static_assert(offsetof(struct gdma_smc_establish_hwc, hdr) == GDMA_SMC_HDR_OFFSET, "SMC hdr");

/* Queue types (GDMA_CREATE_QUEUE, DISABLE_QUEUE, MANA CREATE_WQ_OBJ wq_type). */
#define GDMA_QUEUE_SQ 1u
#define GDMA_QUEUE_RQ 2u
#define GDMA_QUEUE_CQ 3u
#define GDMA_QUEUE_EQ 4u

/*
 * Work queue entry: an 8-byte header, the inline client OOB (8, 24 or 32 bytes),
 * then the SGL starting on a 16-byte boundary, the whole rounded up to 32-byte basic
 * units; an entry may wrap around the end of the queue. RQ entries carry an 8-byte
 * zero OOB. Linux caps SQ entries at 512 bytes and RQ entries at 256.
 */
#define GDMA_WQE_BU_SIZE 32u
#define GDMA_MAX_SQE_SIZE 512u
#define GDMA_MAX_RQE_SIZE 256u

struct gdma_wqe_hdr {
	uint8_t reserved[3];
	uint8_t last_vbytes;
	uint32_t params;
};
static_assert(sizeof(struct gdma_wqe_hdr) == 8, "WQE header");
static_assert(offsetof(struct gdma_wqe_hdr, params) == 4, "WQE params");

#define GDMA_WQE_NUM_SGE(p) ((p)&0xffu) /* 7:0 */
#define GDMA_WQE_OOB_SIZE_SHIFT 8u	/* 10:8, encoded below */
#define GDMA_WQE_OOB_SIZE_CODE(p) (((p) >> 8) & 0x7u)
#define GDMA_WQE_CLIENT_OOB_IN_SGL (1u << 11)
#define GDMA_WQE_CLIENT_DATA_UNIT(p) (((p) >> 16) & 0x3fffu) /* 29:16 */
#define GDMA_WQE_SGL_DIRECT (1u << 31)
/* Inline OOB size codes (size / 4, except 32 bytes which is 7). */
#define GDMA_WQE_OOB_CODE_8 2u
#define GDMA_WQE_OOB_CODE_24 6u
#define GDMA_WQE_OOB_CODE_32 7u
#define GDMA_INLINE_OOB_SMALL 8u
#define GDMA_INLINE_OOB_LARGE 24u
#define GDMA_INLINE_OOB_MAX 32u
#define GDMA_WQE_PARAMS(num_sge, oob_code)                                                         \
	(((uint32_t)(num_sge)&0xffu) | (((uint32_t)(oob_code)&0x7u) << GDMA_WQE_OOB_SIZE_SHIFT))

struct gdma_sge {
	uint64_t address;
	uint32_t mem_key;
	uint32_t size;
};
static_assert(sizeof(struct gdma_sge) == 16, "SGE");
static_assert(offsetof(struct gdma_sge, mem_key) == 8, "SGE mem_key");

/*
 * Completion entry (64 bytes) and event entry (16 bytes). The device writes the
 * owner bits last: owner = (producer index / entries + 1) & 7, so the first pass
 * writes 1 and a zeroed queue reads as empty. The consumer sees a new entry when the
 * owner bits differ from ((head / entries) - 1) & 7.
 */
#define GDMA_CQE_SIZE 64u
#define GDMA_EQE_SIZE 16u
#define GDMA_CQE_DATA_SIZE 60u
#define GDMA_EQE_DATA_SIZE 12u
#define GDMA_OWNER_BITS 3u
#define GDMA_OWNER_MASK 0x7u

struct gdma_cqe {
	uint8_t data[GDMA_CQE_DATA_SIZE];
	uint32_t info;
};
static_assert(sizeof(struct gdma_cqe) == GDMA_CQE_SIZE, "CQE");
static_assert(offsetof(struct gdma_cqe, info) == 60, "CQE info");

#define GDMA_CQE_WQ_NUM(i) ((i)&0xffffffu) /* 23:0 */
#define GDMA_CQE_IS_SQ (1u << 24)
#define GDMA_CQE_OWNER_SHIFT 29u
#define GDMA_CQE_OWNER(i) (((i) >> GDMA_CQE_OWNER_SHIFT) & GDMA_OWNER_MASK)

struct gdma_eqe {
	uint32_t details[GDMA_EQE_DATA_SIZE / 4];
	uint32_t info;
};
static_assert(sizeof(struct gdma_eqe) == GDMA_EQE_SIZE, "EQE");
static_assert(offsetof(struct gdma_eqe, info) == 12, "EQE info");

#define GDMA_EQE_TYPE(i) ((i)&0xffu)		   /* 7:0 */
#define GDMA_EQE_CLIENT_ID(i) (((i) >> 16) & 0x3u) /* 17:16 */
#define GDMA_EQE_OWNER_SHIFT 29u
#define GDMA_EQE_OWNER(i) (((i) >> GDMA_EQE_OWNER_SHIFT) & GDMA_OWNER_MASK)

/* Event types. A completion event's details[0] bits 23:0 name the CQ. */
#define GDMA_EQE_COMPLETION 3u
#define GDMA_EQE_TEST_EVENT 64u
#define GDMA_EQE_HWC_INIT_EQ_ID_DB 129u
#define GDMA_EQE_HWC_INIT_DATA 130u
#define GDMA_EQE_HWC_INIT_DONE 131u
#define GDMA_EQE_HWC_SOC_RECONFIG 132u
#define GDMA_EQE_HWC_SOC_RECONFIG_DATA 133u

/* HWC_INIT_EQ_ID_DB details[0]: EQ id 15:0, doorbell page 31:16. */
#define GDMA_HWC_EQ_ID_DB(eq_id, db) (((uint32_t)(eq_id)&0xffffu) | ((uint32_t)(db) << 16))
/* HWC_INIT_DATA details[0]: value 23:0, type 31:24. */
#define GDMA_HWC_INIT_DATA(type, value) (((uint32_t)(value)&0xffffffu) | ((uint32_t)(type) << 24))
#define GDMA_HWC_INIT_DATA_VALUE(d) ((d)&0xffffffu)
#define GDMA_HWC_INIT_DATA_TYPE(d) (((d) >> 24) & 0xffu)

#define GDMA_HWC_INIT_DATA_CQID 1u
#define GDMA_HWC_INIT_DATA_RQID 2u
#define GDMA_HWC_INIT_DATA_SQID 3u
#define GDMA_HWC_INIT_DATA_QUEUE_DEPTH 4u
#define GDMA_HWC_INIT_DATA_MAX_REQUEST 5u
#define GDMA_HWC_INIT_DATA_MAX_RESPONSE 6u
#define GDMA_HWC_INIT_DATA_MAX_NUM_CQS 7u
#define GDMA_HWC_INIT_DATA_PDID 8u
#define GDMA_HWC_INIT_DATA_GPA_MKEY 9u
#define GDMA_HWC_INIT_DATA_PF_DEST_RQ_ID 10u
#define GDMA_HWC_INIT_DATA_PF_DEST_CQ_ID 11u

/* What Linux asks of the HWC: depth 1, 4 KiB requests and responses. */
#define GDMA_HWC_MAX_REQUEST_SIZE 0x1000u
#define GDMA_HWC_MAX_RESPONSE_SIZE 0x1000u
#define GDMA_HWC_BOOTSTRAP_QUEUE_DEPTH 1u

/* Inline OOB of an HWC SQ entry (24 bytes, OOB code 6). */
struct gdma_hwc_tx_oob {
	uint32_t reserved1;
	uint32_t reserved2;
	uint32_t vrq;  /* vrq_id 23:0, dest_vfid 31:24 */
	uint32_t vrcq; /* vrcq_id 23:0 */
	uint32_t vscq; /* vscq_id 23:0, loopback 24, lso_override 25, dest_pf 26 */
	uint32_t vsq;  /* vsq_id 23:0 */
};
static_assert(sizeof(struct gdma_hwc_tx_oob) == GDMA_INLINE_OOB_LARGE, "HWC TX OOB");
static_assert(offsetof(struct gdma_hwc_tx_oob, vrq) == 8, "HWC TX OOB vrq");
static_assert(offsetof(struct gdma_hwc_tx_oob, vsq) == 20, "HWC TX OOB vsq");

#define GDMA_HWC_TX_OOB_ID(v) ((v)&0xffffffu)

/*
 * Data of an HWC CQE. For an RQ completion, wqe_offset is the byte offset of the
 * consumed RQ entry in the RQ and tx_oob_data_size the length of the response
 * written into its buffer.
 */
struct gdma_hwc_rx_oob {
	uint32_t flags; /* type 5:0, eom 6, som 7, vendor_err 15:8 */
	uint32_t src;	/* src_virt_wq 23:0, src_vfid 31:24 */
	uint32_t reserved2;
	uint32_t wqe_offset; /* or wqe_addr_low */
	uint32_t wqe_addr_high;
	uint32_t client_data_unit; /* 13:0 */
	uint32_t tx_oob_data_size;
	uint32_t chunk_offset; /* 20:0 */
};
static_assert(sizeof(struct gdma_hwc_rx_oob) == 32, "HWC RX OOB");
static_assert(offsetof(struct gdma_hwc_rx_oob, wqe_offset) == 12, "HWC RX OOB wqe_offset");
static_assert(offsetof(struct gdma_hwc_rx_oob, tx_oob_data_size) == 24, "HWC RX OOB size");

#define GDMA_HWC_RX_OOB_EOM (1u << 6)
#define GDMA_HWC_RX_OOB_SOM (1u << 7)

/* HWC messages. Every request and response starts with these headers. */
#define GDMA_STANDARD_HEADER_TYPE 0u
#define GDMA_MESSAGE_V1 1u
#define GDMA_MESSAGE_V2 2u
#define GDMA_MESSAGE_V3 3u

struct gdma_msg_hdr {
	uint32_t hdr_type;
	uint32_t msg_type;
	uint16_t msg_version;
	uint16_t hwc_msg_id;
	uint32_t msg_size;
};
static_assert(sizeof(struct gdma_msg_hdr) == 16, "GDMA msg hdr");
static_assert(offsetof(struct gdma_msg_hdr, hwc_msg_id) == 10, "GDMA hwc_msg_id");

/* Device identity: type 15:0, instance 31:16 as one u32. */
struct gdma_dev_id {
	uint16_t type;
	uint16_t instance;
};
static_assert(sizeof(struct gdma_dev_id) == 4, "GDMA dev id");

#define GDMA_DEVICE_NONE 0u
#define GDMA_DEVICE_HWC 1u
#define GDMA_DEVICE_MANA 2u
#define GDMA_DEVICE_MANA_IB 3u

struct gdma_req_hdr {
	struct gdma_msg_hdr req;
	struct gdma_msg_hdr resp; /* what the driver expects back */
	struct gdma_dev_id dev_id;
	uint32_t activity_id;
};
static_assert(sizeof(struct gdma_req_hdr) == 40, "GDMA req hdr");
static_assert(offsetof(struct gdma_req_hdr, dev_id) == 32, "GDMA req dev_id");

struct gdma_resp_hdr {
	struct gdma_msg_hdr response;
	struct gdma_dev_id dev_id;
	uint32_t activity_id;
	uint32_t status;
	uint32_t reserved;
};
static_assert(sizeof(struct gdma_resp_hdr) == 32, "GDMA resp hdr");
static_assert(offsetof(struct gdma_resp_hdr, status) == 24, "GDMA resp status");

/* Response status: 0 success; Linux maps CMD_UNSUPPORTED to -EOPNOTSUPP. */
#define GDMA_STATUS_SUCCESS 0u
#define GDMA_STATUS_MORE_ENTRIES 0x105u
#define GDMA_STATUS_CMD_UNSUPPORTED 0xffffffffu

/* GDMA core request codes (msg_type >> 16 == 0). */
#define GDMA_VERIFY_VF_DRIVER_VERSION 1u
#define GDMA_QUERY_MAX_RESOURCES 2u
#define GDMA_LIST_DEVICES 3u
#define GDMA_REGISTER_DEVICE 4u
#define GDMA_DEREGISTER_DEVICE 5u
#define GDMA_GENERATE_TEST_EQE 10u
#define GDMA_CREATE_QUEUE 12u
#define GDMA_DISABLE_QUEUE 13u
#define GDMA_ALLOCATE_RESOURCE_RANGE 22u
#define GDMA_DESTROY_RESOURCE_RANGE 24u
#define GDMA_CREATE_DMA_REGION 25u
#define GDMA_DMA_REGION_ADD_PAGES 26u
#define GDMA_DESTROY_DMA_REGION 27u
#define GDMA_CREATE_PD 29u
#define GDMA_DESTROY_PD 30u
#define GDMA_CREATE_MR 31u
#define GDMA_DESTROY_MR 32u
#define GDMA_CHANGE_MSIX_FOR_EQ 81u
#define GDMA_QUERY_HWC_TIMEOUT 84u

/* Requests with nothing past the header, and responses with nothing past theirs. */
struct gdma_general_req {
	struct gdma_req_hdr hdr;
};
struct gdma_general_resp {
	struct gdma_resp_hdr hdr;
};

/* GDMA_VERIFY_VF_DRIVER_VERSION */
#define GDMA_PROTOCOL_V1 1u
#define GDMA_DRV_CAP_FLAG_1_EQ_SHARING_MULTI_VPORT (1ull << 0)
#define GDMA_DRV_CAP_FLAG_1_NAPI_WKDONE_FIX (1ull << 2)
#define GDMA_DRV_CAP_FLAG_1_HWC_TIMEOUT_RECONFIG (1ull << 3)
#define GDMA_DRV_CAP_FLAG_1_VARIABLE_INDIRECTION_TABLE_SUPPORT (1ull << 5)
#define GDMA_OS_TYPE_LINUX 0x10u

struct gdma_verify_ver_req {
	struct gdma_req_hdr hdr;
	uint64_t protocol_ver_min;
	uint64_t protocol_ver_max;
	uint64_t drv_cap_flags1;
	uint64_t drv_cap_flags2;
	uint64_t drv_cap_flags3;
	uint64_t drv_cap_flags4;
	uint64_t drv_ver;
	uint32_t os_type;
	uint32_t reserved;
	uint32_t os_ver_major;
	uint32_t os_ver_minor;
	uint32_t os_ver_build;
	uint32_t os_ver_platform;
	uint64_t reserved_2;
	uint8_t os_ver_str1[128];
	uint8_t os_ver_str2[128];
	uint8_t os_ver_str3[128];
	uint8_t os_ver_str4[128];
};
static_assert(sizeof(struct gdma_verify_ver_req) == 640, "verify ver req");
static_assert(offsetof(struct gdma_verify_ver_req, drv_ver) == 88, "verify ver drv_ver");
static_assert(offsetof(struct gdma_verify_ver_req, os_ver_str1) == 128, "verify ver strings");

struct gdma_verify_ver_resp {
	struct gdma_resp_hdr hdr;
	uint64_t gdma_protocol_ver;
	uint64_t pf_cap_flags1;
	uint64_t pf_cap_flags2;
	uint64_t pf_cap_flags3;
	uint64_t pf_cap_flags4;
};
static_assert(sizeof(struct gdma_verify_ver_resp) == 72, "verify ver resp");

/* GDMA_QUERY_MAX_RESOURCES (general request) */
struct gdma_query_max_resources_resp {
	struct gdma_resp_hdr hdr;
	uint32_t status;
	uint32_t max_sq;
	uint32_t max_rq;
	uint32_t max_cq;
	uint32_t max_eq;
	uint32_t max_db;
	uint32_t max_mst;
	uint32_t max_cq_mod_ctx;
	uint32_t max_mod_cq;
	uint32_t max_msix;
};
static_assert(sizeof(struct gdma_query_max_resources_resp) == 72, "query max resources resp");
static_assert(offsetof(struct gdma_query_max_resources_resp, max_msix) == 68, "max_msix");

/* GDMA_LIST_DEVICES (general request) */
#define GDMA_DEV_LIST_SIZE 64u
struct gdma_list_devices_resp {
	struct gdma_resp_hdr hdr;
	uint32_t num_of_devs;
	uint32_t reserved;
	struct gdma_dev_id devs[GDMA_DEV_LIST_SIZE];
};
static_assert(sizeof(struct gdma_list_devices_resp) == 296, "list devices resp");
static_assert(offsetof(struct gdma_list_devices_resp, devs) == 40, "list devices devs");

/* GDMA_REGISTER_DEVICE (general request, hdr.dev_id names the device) */
struct gdma_register_device_resp {
	struct gdma_resp_hdr hdr;
	uint32_t pdid;
	uint32_t gpa_mkey;
	uint32_t db_id;
};
static_assert(sizeof(struct gdma_register_device_resp) == 44, "register device resp");

/* GDMA_GENERATE_TEST_EQE: the device posts a TEST_EVENT EQE on that EQ. */
struct gdma_generate_test_event_req {
	struct gdma_req_hdr hdr;
	uint32_t queue_index;
};
static_assert(sizeof(struct gdma_generate_test_event_req) == 44, "test eqe req");

/* GDMA_CREATE_QUEUE (Linux creates only EQs this way; queue_size in bytes) */
struct gdma_create_queue_req {
	struct gdma_req_hdr hdr;
	uint32_t type;
	uint32_t reserved1;
	uint32_t pdid;
	uint32_t doorbell_id;
	uint64_t gdma_region;
	uint32_t reserved2;
	uint32_t queue_size;
	uint32_t log2_throttle_limit;
	uint32_t eq_pci_msix_index;
	uint32_t cq_mod_ctx_id;
	uint32_t cq_parent_eq_id;
	uint8_t rq_drop_on_overrun;
	uint8_t rq_err_on_wqe_overflow;
	uint8_t rq_chain_rec_wqes;
	uint8_t sq_hw_db;
	uint32_t reserved3;
};
static_assert(sizeof(struct gdma_create_queue_req) == 96, "create queue req");
static_assert(offsetof(struct gdma_create_queue_req, gdma_region) == 56, "create queue region");
static_assert(offsetof(struct gdma_create_queue_req, queue_size) == 68, "create queue size");
static_assert(offsetof(struct gdma_create_queue_req, eq_pci_msix_index) == 76, "create queue msix");
static_assert(offsetof(struct gdma_create_queue_req, rq_drop_on_overrun) == 88, "create queue rq");

struct gdma_create_queue_resp {
	struct gdma_resp_hdr hdr;
	uint32_t queue_index;
};
static_assert(sizeof(struct gdma_create_queue_resp) == 36, "create queue resp");

/* GDMA_DISABLE_QUEUE */
struct gdma_disable_queue_req {
	struct gdma_req_hdr hdr;
	uint32_t type;
	uint32_t queue_index;
	uint32_t alloc_res_id_on_creation;
};
static_assert(sizeof(struct gdma_disable_queue_req) == 52, "disable queue req");

/*
 * GDMA_CREATE_DMA_REGION: a page list the device later resolves queue memory
 * through. page_addr_list_len entries follow; if fewer than page_count, the rest
 * come with DMA_REGION_ADD_PAGES. Handle 0 is invalid.
 */
#define GDMA_PAGE_TYPE_4K 0u
#define GDMA_INVALID_DMA_REGION 0ull

struct gdma_create_dma_region_req {
	struct gdma_req_hdr hdr;
	uint64_t length;
	uint32_t offset_in_page;
	uint32_t gdma_page_type;
	uint32_t page_count;
	uint32_t page_addr_list_len;
	uint64_t page_addr_list[];
};
static_assert(sizeof(struct gdma_create_dma_region_req) == 64, "create dma region req");
static_assert(offsetof(struct gdma_create_dma_region_req, page_count) == 56, "region count");

struct gdma_create_dma_region_resp {
	struct gdma_resp_hdr hdr;
	uint64_t dma_region_handle;
};
static_assert(sizeof(struct gdma_create_dma_region_resp) == 40, "create dma region resp");

struct gdma_dma_region_add_pages_req {
	struct gdma_req_hdr hdr;
	uint64_t dma_region_handle;
	uint32_t page_addr_list_len;
	uint32_t reserved3;
	uint64_t page_addr_list[];
};
static_assert(sizeof(struct gdma_dma_region_add_pages_req) == 56, "add pages req");

struct gdma_destroy_dma_region_req {
	struct gdma_req_hdr hdr;
	uint64_t dma_region_handle;
};
static_assert(sizeof(struct gdma_destroy_dma_region_req) == 48, "destroy dma region req");

/* GDMA_CHANGE_MSIX_FOR_EQ (openvmm's emulator answers it; Linux does not send it) */
struct gdma_change_msix_for_eq_req {
	struct gdma_req_hdr hdr;
	uint32_t queue_index;
	uint32_t msix;
	uint32_t reserved1;
	uint32_t reserved2;
};
static_assert(sizeof(struct gdma_change_msix_for_eq_req) == 56, "change msix req");

/* GDMA_QUERY_HWC_TIMEOUT (sent when the device sets HWC_TIMEOUT_RECONFIG) */
struct gdma_query_hwc_timeout_req {
	struct gdma_req_hdr hdr;
	uint32_t timeout_ms;
	uint32_t reserved;
};
static_assert(sizeof(struct gdma_query_hwc_timeout_req) == 48, "hwc timeout req");

struct gdma_query_hwc_timeout_resp {
	struct gdma_resp_hdr hdr;
	uint32_t timeout_ms;
	uint32_t reserved;
};
static_assert(sizeof(struct gdma_query_hwc_timeout_resp) == 40, "hwc timeout resp");

#endif
