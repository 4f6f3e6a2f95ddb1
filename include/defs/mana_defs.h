/* SPDX-License-Identifier: MIT */
/*
 * MANA (the Ethernet function on a GDMA device) wire layouts: the HWC commands for
 * device and vPort configuration and WQ objects, the TX inline OOB and the TX/RX
 * completion OOBs written into CQEs (REFERENCES.md sections 6 and 10; Linux
 * include/net/mana/mana.h, mana/mana_en.c).
 *
 * MANA commands travel over the HWC like GDMA core requests (defs/gdma_defs.h) with
 * hdr.dev_id = the MANA device from LIST_DEVICES. Every response must echo the
 * request's msg_type, dev_id and activity_id, have msg_version >= 1 and msg_size >=
 * the size of the response struct the driver expects.
 *
 * All fields are little-endian; bit fields are masks and shifts. Header-only.
 */
#ifndef MHCL_DEFS_MANA_DEFS_H
#define MHCL_DEFS_MANA_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "defs/gdma_defs.h"

/* The MANA protocol version Linux announces in QUERY_DEV_CONFIG. */
#define MANA_MAJOR_VERSION 0u
#define MANA_MINOR_VERSION 1u
#define MANA_MICRO_VERSION 1u

/* Objects (vPorts, WQ objects) are named by 64-bit handles; all ones is invalid. */
#define MANA_INVALID_HANDLE UINT64_MAX

#define MANA_INDIRECT_TABLE_SIZE 64u /* Linux 6.1; newer drivers ask the vPort */
#define MANA_INDIRECT_TABLE_MAX_SIZE 512u
#define MANA_HASH_KEY_SIZE 40u
#define MANA_MAX_FRAME_SIZE 1514u /* ADAPTER_MTU_SIZE 1500 + Ethernet header */
#define MANA_CQ_NO_EQ 0xffffu	  /* a CQ created without a parent EQ */

/* MANA command codes */
#define MANA_QUERY_DEV_CONFIG 0x20001u
#define MANA_QUERY_GF_STAT 0x20002u
#define MANA_CONFIG_VPORT_TX 0x20003u
#define MANA_CREATE_WQ_OBJ 0x20004u
#define MANA_DESTROY_WQ_OBJ 0x20005u
#define MANA_FENCE_RQ 0x20006u
#define MANA_CONFIG_VPORT_RX 0x20007u
#define MANA_QUERY_VPORT_CONFIG 0x20008u
#define MANA_REGISTER_FILTER 0x28000u /* PF only */
#define MANA_DEREGISTER_FILTER 0x28001u
#define MANA_REGISTER_HW_PORT 0x28003u
#define MANA_DEREGISTER_HW_PORT 0x28004u

/* MANA_QUERY_DEV_CONFIG */
struct mana_query_device_cfg_req {
	struct gdma_req_hdr hdr;
	uint64_t mn_drv_cap_flags1;
	uint64_t mn_drv_cap_flags2;
	uint64_t mn_drv_cap_flags3;
	uint64_t mn_drv_cap_flags4;
	uint32_t proto_major_ver;
	uint32_t proto_minor_ver;
	uint32_t proto_micro_ver;
	uint32_t reserved;
};
static_assert(sizeof(struct mana_query_device_cfg_req) == 88, "query dev cfg req");
static_assert(offsetof(struct mana_query_device_cfg_req, proto_major_ver) == 72, "proto ver");

/* Response v1 ends at max_num_eqs (72 bytes); v2 adds the MTU, v3 the host mode. */
struct mana_query_device_cfg_resp {
	struct gdma_resp_hdr hdr;
	uint64_t pf_cap_flags1;
	uint64_t pf_cap_flags2;
	uint64_t pf_cap_flags3;
	uint64_t pf_cap_flags4;
	uint16_t max_num_vports;
	uint8_t bm_hostmode; /* v3 */
	uint8_t reserved;
	uint32_t max_num_eqs;
	uint16_t adapter_mtu; /* v2 */
	uint16_t reserved2;
	uint32_t reserved3;
};
static_assert(sizeof(struct mana_query_device_cfg_resp) == 80, "query dev cfg resp");
static_assert(offsetof(struct mana_query_device_cfg_resp, max_num_vports) == 64, "vports");
static_assert(offsetof(struct mana_query_device_cfg_resp, max_num_eqs) == 68, "max eqs");
static_assert(offsetof(struct mana_query_device_cfg_resp, adapter_mtu) == 72, "adapter mtu");
#define MANA_QUERY_DEV_CONFIG_RESP_V1_SIZE 72u

/* MANA_QUERY_VPORT_CONFIG */
struct mana_query_vport_cfg_req {
	struct gdma_req_hdr hdr;
	uint32_t vport_index;
};
static_assert(sizeof(struct mana_query_vport_cfg_req) == 44, "query vport req");

struct mana_query_vport_cfg_resp {
	struct gdma_resp_hdr hdr;
	uint32_t max_num_sq;
	uint32_t max_num_rq;
	uint32_t num_indirection_ent;
	uint32_t reserved1;
	uint8_t mac_addr[6];
	uint8_t reserved2[2];
	uint64_t vport; /* handle */
};
static_assert(sizeof(struct mana_query_vport_cfg_resp) == 64, "query vport resp");
static_assert(offsetof(struct mana_query_vport_cfg_resp, mac_addr) == 48, "vport mac");
static_assert(offsetof(struct mana_query_vport_cfg_resp, vport) == 56, "vport handle");

/* MANA_CONFIG_VPORT_TX */
struct mana_config_vport_req {
	struct gdma_req_hdr hdr;
	uint64_t vport;
	uint32_t pdid;
	uint32_t doorbell_pageid;
};
static_assert(sizeof(struct mana_config_vport_req) == 56, "config vport req");

struct mana_config_vport_resp {
	struct gdma_resp_hdr hdr;
	uint16_t tx_vport_offset;
	uint8_t short_form_allowed;
	uint8_t reserved;
};
static_assert(sizeof(struct mana_config_vport_resp) == 36, "config vport resp");

/*
 * MANA_CREATE_WQ_OBJ: one SQ or RQ (wq_type GDMA_QUEUE_SQ/RQ) and its CQ, each in a
 * DMA region made before; sizes in bytes; cq_parent_qid is the EQ the CQ reports to.
 */
struct mana_create_wqobj_req {
	struct gdma_req_hdr hdr;
	uint64_t vport;
	uint32_t wq_type;
	uint32_t reserved;
	uint64_t wq_gdma_region;
	uint64_t cq_gdma_region;
	uint32_t wq_size;
	uint32_t cq_size;
	uint32_t cq_moderation_ctx_id;
	uint32_t cq_parent_qid;
};
static_assert(sizeof(struct mana_create_wqobj_req) == 88, "create wqobj req");
static_assert(offsetof(struct mana_create_wqobj_req, wq_gdma_region) == 56, "wq region");
static_assert(offsetof(struct mana_create_wqobj_req, wq_size) == 72, "wq size");
static_assert(offsetof(struct mana_create_wqobj_req, cq_parent_qid) == 84, "cq parent");

struct mana_create_wqobj_resp {
	struct gdma_resp_hdr hdr;
	uint32_t wq_id;
	uint32_t cq_id;
	uint64_t wq_obj;
};
static_assert(sizeof(struct mana_create_wqobj_resp) == 48, "create wqobj resp");

/* MANA_DESTROY_WQ_OBJ */
struct mana_destroy_wqobj_req {
	struct gdma_req_hdr hdr;
	uint32_t wq_type;
	uint32_t reserved;
	uint64_t wq_obj_handle;
};
static_assert(sizeof(struct mana_destroy_wqobj_req) == 56, "destroy wqobj req");

/* MANA_FENCE_RQ: the device answers, then posts a CQE_RX_OBJECT_FENCE on the RQ's CQ. */
struct mana_fence_rq_req {
	struct gdma_req_hdr hdr;
	uint64_t wq_obj_handle;
};
static_assert(sizeof(struct mana_fence_rq_req) == 48, "fence rq req");

/*
 * MANA_CONFIG_VPORT_RX. v1 (Linux 6.1) ends after the hash key; v2 adds the CQE
 * coalescing byte and puts num_indir_entries RX object handles at indir_tab_offset
 * (120 when they follow the struct).
 */
struct mana_cfg_rx_steer_req {
	struct gdma_req_hdr hdr;
	uint64_t vport;
	uint16_t num_indir_entries;
	uint16_t indir_tab_offset;
	uint32_t rx_enable;
	uint32_t rss_enable;
	uint8_t update_default_rxobj;
	uint8_t update_hashkey;
	uint8_t update_indir_tab;
	uint8_t reserved;
	uint64_t default_rxobj;
	uint8_t hashkey[MANA_HASH_KEY_SIZE];
};
static_assert(sizeof(struct mana_cfg_rx_steer_req) == 112, "rx steer req v1");
static_assert(offsetof(struct mana_cfg_rx_steer_req, num_indir_entries) == 48, "rx steer ent");
static_assert(offsetof(struct mana_cfg_rx_steer_req, default_rxobj) == 64, "rx steer default");
static_assert(offsetof(struct mana_cfg_rx_steer_req, hashkey) == 72, "rx steer key");

struct mana_cfg_rx_steer_req_v2 {
	struct mana_cfg_rx_steer_req v1;
	uint8_t cqe_coalescing_enable;
	uint8_t reserved2[7];
};
static_assert(sizeof(struct mana_cfg_rx_steer_req_v2) == 120, "rx steer req v2");

/*
 * TX inline OOB: the 8-byte short form (OOB code 2) or short + long = 24 bytes
 * (code 6) when the vPort offset exceeds 255 or a VLAN tag is injected.
 */
#define MANA_SHORT_PKT_FMT 0u
#define MANA_LONG_PKT_FMT 1u

struct mana_tx_short_oob {
	/* pkt_fmt 1:0, is_outer_ipv4 2, is_outer_ipv6 3, comp_iphdr_csum 4,
	 * comp_tcp_csum 5, comp_udp_csum 6, suppress_txcqe_gen 7, vcq_num 31:8 */
	uint32_t w0;
	/* trans_off 9:0, vsq_frame 23:10, short_vp_offset 31:24 */
	uint32_t w1;
};
static_assert(sizeof(struct mana_tx_short_oob) == 8, "TX short OOB");

#define MANA_TX_OOB_PKT_FMT(w0) ((w0)&0x3u)
#define MANA_TX_OOB_IS_OUTER_IPV4 (1u << 2)
#define MANA_TX_OOB_IS_OUTER_IPV6 (1u << 3)
#define MANA_TX_OOB_COMP_IPHDR_CSUM (1u << 4)
#define MANA_TX_OOB_COMP_TCP_CSUM (1u << 5)
#define MANA_TX_OOB_COMP_UDP_CSUM (1u << 6)
#define MANA_TX_OOB_SUPPRESS_TXCQE (1u << 7)
#define MANA_TX_OOB_VCQ_NUM(w0) (((w0) >> 8) & 0xffffffu)
#define MANA_TX_OOB_TRANS_OFF(w1) ((w1)&0x3ffu)
#define MANA_TX_OOB_VSQ_FRAME(w1) (((w1) >> 10) & 0x3fffu)
#define MANA_TX_OOB_SHORT_VP_OFFSET(w1) (((w1) >> 24) & 0xffu)

struct mana_tx_long_oob {
	/* is_encap 0, inner_is_ipv6 1, inner_tcp_opt 2, inject_vlan_pri_tag 3,
	 * pcp 18:16, dei 19, vlan_id 31:20 */
	uint32_t w0;
	/* inner_frame_offset 9:0, inner_ip_rel_offset 15:10, long_vp_offset 27:16 */
	uint32_t w1;
	uint32_t reserved3;
	uint32_t reserved4;
};
static_assert(sizeof(struct mana_tx_long_oob) == 16, "TX long OOB");

#define MANA_TX_LONG_OOB_INJECT_VLAN (1u << 3)
#define MANA_TX_LONG_OOB_PCP(w0) (((w0) >> 16) & 0x7u)
#define MANA_TX_LONG_OOB_DEI(w0) (((w0) >> 19) & 0x1u)
#define MANA_TX_LONG_OOB_VLAN_ID(w0) (((w0) >> 20) & 0xfffu)
#define MANA_TX_LONG_OOB_VP_OFFSET(w1) (((w1) >> 16) & 0xfffu)

struct mana_tx_oob {
	struct mana_tx_short_oob s_oob;
	struct mana_tx_long_oob l_oob;
};
static_assert(sizeof(struct mana_tx_oob) == GDMA_INLINE_OOB_LARGE, "TX OOB");

/* CQE OOB header: cqe_type 5:0, client_type 7:6 (MANA_CQE_COMPLETION), vendor_err 31:8. */
#define MANA_CQE_COMPLETION 1u
#define MANA_CQE_HDR(type) (((uint32_t)(type)&0x3fu) | (MANA_CQE_COMPLETION << 6))
#define MANA_CQE_HDR_TYPE(h) ((h)&0x3fu)
#define MANA_CQE_HDR_CLIENT_TYPE(h) (((h) >> 6) & 0x3u)

#define MANA_CQE_INVALID 0u
#define MANA_CQE_RX_OKAY 1u
#define MANA_CQE_RX_COALESCED_4 2u
#define MANA_CQE_RX_OBJECT_FENCE 3u
#define MANA_CQE_RX_TRUNCATED 4u
#define MANA_CQE_TX_OKAY 32u
#define MANA_CQE_TX_SA_DROP 33u
#define MANA_CQE_TX_MTU_DROP 34u
#define MANA_CQE_TX_INVALID_OOB 35u
#define MANA_CQE_TX_INVALID_ETH_TYPE 36u
#define MANA_CQE_TX_HDR_PROCESSING_ERROR 37u
#define MANA_CQE_TX_VF_DISABLED 38u
#define MANA_CQE_TX_VPORT_IDX_OUT_OF_RANGE 39u
#define MANA_CQE_TX_VPORT_DISABLED 40u
#define MANA_CQE_TX_VLAN_TAGGING_VIOLATION 41u

/* NDIS hash types in rx_hashtype */
#define MANA_NDIS_HASH_IPV4 (1u << 0)
#define MANA_NDIS_HASH_TCP_IPV4 (1u << 1)
#define MANA_NDIS_HASH_UDP_IPV4 (1u << 2)
#define MANA_NDIS_HASH_IPV6 (1u << 3)
#define MANA_NDIS_HASH_TCP_IPV6 (1u << 4)
#define MANA_NDIS_HASH_UDP_IPV6 (1u << 5)
#define MANA_NDIS_HASH_IPV6_EX (1u << 6)
#define MANA_NDIS_HASH_TCP_IPV6_EX (1u << 7)
#define MANA_NDIS_HASH_UDP_IPV6_EX (1u << 8)

struct mana_rxcomp_perpkt_info {
	uint32_t pkt_len; /* 15:0 */
	uint32_t reserved2;
	uint32_t pkt_hash;
};
static_assert(sizeof(struct mana_rxcomp_perpkt_info) == 12, "RX per-packet info");

#define MANA_RXCOMP_OOB_NUM_PPI 4u
#define MANA_RXCOMP_PKT_LEN(v) ((v)&0xffffu)

/* RX completion OOB, the 60 data bytes of an RX CQE. */
struct mana_rxcomp_oob {
	uint32_t cqe_hdr;
	/* rx_vlan_id 11:0, vlantag_present 12, outer_iphdr_csum_succeed 13,
	 * outer_iphdr_csum_fail 14, rx_hashtype 24:16, iphdr_csum_succeed 25,
	 * iphdr_csum_fail 26, tcp_csum_succeed 27, tcp_csum_fail 28,
	 * udp_csum_succeed 29, udp_csum_fail 30 */
	uint32_t flags;
	struct mana_rxcomp_perpkt_info ppi[MANA_RXCOMP_OOB_NUM_PPI];
	uint32_t rx_wqe_offset;
};
static_assert(sizeof(struct mana_rxcomp_oob) == GDMA_CQE_DATA_SIZE, "RX comp OOB");
static_assert(offsetof(struct mana_rxcomp_oob, ppi) == 8, "RX comp ppi");
static_assert(offsetof(struct mana_rxcomp_oob, rx_wqe_offset) == 56, "RX comp wqe offset");

#define MANA_RXCOMP_VLAN_ID(f) ((f)&0xfffu)
#define MANA_RXCOMP_VLANTAG_PRESENT (1u << 12)
#define MANA_RXCOMP_OUTER_IPHDR_CSUM_OK (1u << 13)
#define MANA_RXCOMP_OUTER_IPHDR_CSUM_FAIL (1u << 14)
#define MANA_RXCOMP_HASHTYPE_SHIFT 16u
#define MANA_RXCOMP_HASHTYPE(f) (((f) >> 16) & 0x1ffu)
#define MANA_RXCOMP_IPHDR_CSUM_OK (1u << 25)
#define MANA_RXCOMP_IPHDR_CSUM_FAIL (1u << 26)
#define MANA_RXCOMP_TCP_CSUM_OK (1u << 27)
#define MANA_RXCOMP_TCP_CSUM_FAIL (1u << 28)
#define MANA_RXCOMP_UDP_CSUM_OK (1u << 29)
#define MANA_RXCOMP_UDP_CSUM_FAIL (1u << 30)

/* TX completion OOB, the 60 data bytes of a TX CQE. */
struct mana_tx_comp_oob {
	uint32_t cqe_hdr;
	uint32_t tx_data_offset;
	uint32_t tx_offsets; /* tx_sgl_offset 4:0, tx_wqe_offset 31:5 */
	uint32_t reserved[12];
};
static_assert(sizeof(struct mana_tx_comp_oob) == GDMA_CQE_DATA_SIZE, "TX comp OOB");

#define MANA_TX_COMP_WQE_OFFSET_SHIFT 5u

#endif
