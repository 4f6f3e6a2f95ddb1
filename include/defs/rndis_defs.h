/* SPDX-License-Identifier: MIT */
/*
 * RNDIS as Hyper-V's netvsc speaks it (REFERENCES.md section 5), and the NDIS objects its
 * OIDs carry.
 *
 * Every RNDIS message is {u32 type, u32 length (of the whole message)} and a body. Offsets
 * inside QUERY/SET/their completions and inside a PACKET count from the start of the body
 * (after the 8-byte header); offsets inside an NDIS object count from the object's start.
 * Per-packet info (PPI) entries are {size (incl. their 12-byte header), type (bit 31 =
 * internal), offset of the data inside the entry}. The PPI values and NDIS capability
 * words are bit fields on the wire; they are spelled here as masks and shifts.
 *
 * All fields are little-endian. Header-only: layouts and static_asserts, no code.
 */
#ifndef MHCL_DEFS_RNDIS_DEFS_H
#define MHCL_DEFS_RNDIS_DEFS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Messages ------------------------------------------------------------ */

#define RNDIS_MSG_PACKET 0x00000001u
#define RNDIS_MSG_INIT 0x00000002u
#define RNDIS_MSG_HALT 0x00000003u
#define RNDIS_MSG_QUERY 0x00000004u
#define RNDIS_MSG_SET 0x00000005u
#define RNDIS_MSG_RESET 0x00000006u
#define RNDIS_MSG_INDICATE 0x00000007u /* INDICATE_STATUS, host -> guest */
#define RNDIS_MSG_KEEPALIVE 0x00000008u
#define RNDIS_MSG_COMPLETION 0x80000000u
#define RNDIS_MSG_INIT_C (RNDIS_MSG_COMPLETION | RNDIS_MSG_INIT)
#define RNDIS_MSG_QUERY_C (RNDIS_MSG_COMPLETION | RNDIS_MSG_QUERY)
#define RNDIS_MSG_SET_C (RNDIS_MSG_COMPLETION | RNDIS_MSG_SET)
#define RNDIS_MSG_RESET_C (RNDIS_MSG_COMPLETION | RNDIS_MSG_RESET)
#define RNDIS_MSG_KEEPALIVE_C (RNDIS_MSG_COMPLETION | RNDIS_MSG_KEEPALIVE)

#define RNDIS_MAJOR_VERSION 1u
#define RNDIS_MINOR_VERSION 0u
#define RNDIS_DF_CONNECTIONLESS 0x1u /* INIT_C.device_flags */
#define RNDIS_MEDIUM_802_3 0u
/* OID_GEN_MEDIA_CONNECT_STATUS values: connected is 0. */
#define RNDIS_MEDIA_STATE_CONNECTED 0u
#define RNDIS_MEDIA_STATE_DISCONNECTED 1u

/* ---- Status codes (NDIS_STATUS_*) ---------------------------------------- */

#define RNDIS_STATUS_SUCCESS 0x00000000u
#define RNDIS_STATUS_FAILURE 0xC0000001u
#define RNDIS_STATUS_NOT_SUPPORTED 0xC00000BBu
#define RNDIS_STATUS_BAD_VERSION 0xC0010004u
#define RNDIS_STATUS_INVALID_LENGTH 0xC0010014u
#define RNDIS_STATUS_INVALID_DATA 0xC0010015u
#define RNDIS_STATUS_BUFFER_TOO_SHORT 0xC0010016u
#define RNDIS_STATUS_BUFFER_OVERFLOW 0x80000005u
/* Indications (INDICATE_STATUS.status) */
#define RNDIS_STATUS_MEDIA_CONNECT 0x4001000Bu
#define RNDIS_STATUS_MEDIA_DISCONNECT 0x4001000Cu
#define RNDIS_STATUS_LINK_SPEED_CHANGE 0x40010013u
#define RNDIS_STATUS_NETWORK_CHANGE 0x40010018u

/* ---- OIDs ---------------------------------------------------------------- */

#define RNDIS_OID_GEN_SUPPORTED_LIST 0x00010101u
#define RNDIS_OID_GEN_HARDWARE_STATUS 0x00010102u
#define RNDIS_OID_GEN_MEDIA_SUPPORTED 0x00010103u
#define RNDIS_OID_GEN_MEDIA_IN_USE 0x00010104u
#define RNDIS_OID_GEN_MAXIMUM_LOOKAHEAD 0x00010105u
#define RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE 0x00010106u /* the IP MTU */
#define RNDIS_OID_GEN_LINK_SPEED 0x00010107u	     /* in 100 bps */
#define RNDIS_OID_GEN_TRANSMIT_BLOCK_SIZE 0x0001010Au
#define RNDIS_OID_GEN_RECEIVE_BLOCK_SIZE 0x0001010Bu
#define RNDIS_OID_GEN_VENDOR_ID 0x0001010Cu
#define RNDIS_OID_GEN_VENDOR_DESCRIPTION 0x0001010Du
#define RNDIS_OID_GEN_CURRENT_PACKET_FILTER 0x0001010Eu
#define RNDIS_OID_GEN_CURRENT_LOOKAHEAD 0x0001010Fu
#define RNDIS_OID_GEN_DRIVER_VERSION 0x00010110u
#define RNDIS_OID_GEN_MAXIMUM_TOTAL_SIZE 0x00010111u
#define RNDIS_OID_GEN_MAC_OPTIONS 0x00010113u
#define RNDIS_OID_GEN_MEDIA_CONNECT_STATUS 0x00010114u
#define RNDIS_OID_GEN_MAXIMUM_SEND_PACKETS 0x00010115u
#define RNDIS_OID_GEN_VENDOR_DRIVER_VERSION 0x00010116u
#define RNDIS_OID_GEN_NETWORK_LAYER_ADDRESSES 0x00010118u
#define RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES 0x00010203u
#define RNDIS_OID_GEN_RECEIVE_SCALE_PARAMETERS 0x00010204u
#define RNDIS_OID_GEN_RNDIS_CONFIG_PARAMETER 0x0001021Bu
#define RNDIS_OID_GEN_XMIT_OK 0x00020101u
#define RNDIS_OID_GEN_RCV_OK 0x00020102u
#define RNDIS_OID_GEN_XMIT_ERROR 0x00020103u
#define RNDIS_OID_GEN_RCV_ERROR 0x00020104u
#define RNDIS_OID_GEN_RCV_NO_BUFFER 0x00020105u
#define RNDIS_OID_GEN_FRIENDLY_NAME 0x00020216u
#define RNDIS_OID_802_3_PERMANENT_ADDRESS 0x01010101u
#define RNDIS_OID_802_3_CURRENT_ADDRESS 0x01010102u
#define RNDIS_OID_802_3_MULTICAST_LIST 0x01010103u
#define RNDIS_OID_802_3_MAXIMUM_LIST_SIZE 0x01010104u
#define RNDIS_OID_OFFLOAD_ENCAPSULATION 0x0101010Au
#define RNDIS_OID_TCP_OFFLOAD_CURRENT_CONFIG 0xFC01020Bu
#define RNDIS_OID_TCP_OFFLOAD_PARAMETERS 0xFC01020Cu
#define RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES 0xFC01020Du

/* OID_GEN_CURRENT_PACKET_FILTER bits */
#define NDIS_PACKET_TYPE_DIRECTED 0x00000001u
#define NDIS_PACKET_TYPE_MULTICAST 0x00000002u
#define NDIS_PACKET_TYPE_ALL_MULTICAST 0x00000004u
#define NDIS_PACKET_TYPE_BROADCAST 0x00000008u
#define NDIS_PACKET_TYPE_PROMISCUOUS 0x00000020u

/* ---- Message bodies ------------------------------------------------------ */

struct rndis_header {
	uint32_t type;
	uint32_t len; /* of the whole message, header included */
} __attribute__((packed));
static_assert(sizeof(struct rndis_header) == 8, "RNDIS header is 8 bytes");
#define RNDIS_HEADER_SIZE 8u

struct rndis_init_req {
	uint32_t req_id;
	uint32_t major;
	uint32_t minor;
	uint32_t max_transfer_size;
} __attribute__((packed));
static_assert(sizeof(struct rndis_init_req) == 16, "INIT is 16 bytes");

struct rndis_init_cmplt {
	uint32_t req_id;
	uint32_t status;
	uint32_t major;
	uint32_t minor;
	uint32_t device_flags;
	uint32_t medium;
	uint32_t max_packets_per_message;
	uint32_t max_transfer_size;
	uint32_t packet_alignment_factor; /* the guest aligns to 1 << this */
	uint32_t af_list_offset;
	uint32_t af_list_size;
} __attribute__((packed));
static_assert(sizeof(struct rndis_init_cmplt) == 44, "INIT_C is 44 bytes");
static_assert(offsetof(struct rndis_init_cmplt, packet_alignment_factor) == 32, "align at 32");

/* HALT and KEEPALIVE requests: just the request id. RESET: one reserved word. */
struct rndis_req_id {
	uint32_t req_id;
} __attribute__((packed));
static_assert(sizeof(struct rndis_req_id) == 4, "request id is 4 bytes");

/* QUERY and SET requests (info_offset from the body's start). */
struct rndis_oid_req {
	uint32_t req_id;
	uint32_t oid;
	uint32_t info_len;
	uint32_t info_offset;
	uint32_t vc_handle;
} __attribute__((packed));
static_assert(sizeof(struct rndis_oid_req) == 20, "QUERY/SET are 20 bytes");

struct rndis_query_cmplt {
	uint32_t req_id;
	uint32_t status;
	uint32_t info_len;
	uint32_t info_offset; /* Linux wants >= 16 (this struct) when it succeeds */
} __attribute__((packed));
static_assert(sizeof(struct rndis_query_cmplt) == 16, "QUERY_C is 16 bytes");

/* SET_C and KEEPALIVE_C */
struct rndis_status_cmplt {
	uint32_t req_id;
	uint32_t status;
} __attribute__((packed));
static_assert(sizeof(struct rndis_status_cmplt) == 8, "SET_C is 8 bytes");

struct rndis_reset_cmplt {
	uint32_t status;
	uint32_t addressing_reset;
} __attribute__((packed));
static_assert(sizeof(struct rndis_reset_cmplt) == 8, "RESET_C is 8 bytes");

struct rndis_indicate {
	uint32_t status;
	uint32_t buf_len;
	uint32_t buf_offset;
} __attribute__((packed));
static_assert(sizeof(struct rndis_indicate) == 12, "INDICATE_STATUS is 12 bytes");

/* PACKET (offsets from the body's start) */
struct rndis_packet {
	uint32_t data_offset;
	uint32_t data_len;
	uint32_t oob_offset;
	uint32_t oob_len;
	uint32_t num_oob;
	uint32_t ppi_offset;
	uint32_t ppi_len;
	uint32_t vc_handle;
	uint32_t reserved;
} __attribute__((packed));
static_assert(sizeof(struct rndis_packet) == 36, "PACKET is 36 bytes");
static_assert(offsetof(struct rndis_packet, ppi_offset) == 20, "ppi_offset at 20");

/* ---- Per-packet info ----------------------------------------------------- */

struct rndis_ppi {
	uint32_t size;	 /* this header included */
	uint32_t type;	 /* RNDIS_PPI_*, | RNDIS_PPI_INTERNAL */
	uint32_t offset; /* of the data, from this header's start */
} __attribute__((packed));
static_assert(sizeof(struct rndis_ppi) == 12, "PPI header is 12 bytes");

#define RNDIS_PPI_INTERNAL 0x80000000u
#define RNDIS_PPI_TYPE_MASK 0x7FFFFFFFu
#define RNDIS_PPI_TCPIP_CHKSUM 0u
#define RNDIS_PPI_IPSEC 1u
#define RNDIS_PPI_LSO 2u
#define RNDIS_PPI_CLASSIFICATION_HANDLE 3u
#define RNDIS_PPI_SG_LIST 5u
#define RNDIS_PPI_IEEE_8021Q 6u
#define RNDIS_PPI_ORIGINAL 7u
#define RNDIS_PPI_NBL_HASH_VALUE 8u
/* Internal types (with RNDIS_PPI_INTERNAL) */
#define RNDIS_PPI_INTERNAL_PKTINFO_ID 1u /* RSC fragments (v61) */

/* TCPIP_CHKSUM, guest -> host: what to compute. */
#define RNDIS_CSUM_TX_IPV4 (1u << 0)
#define RNDIS_CSUM_TX_IPV6 (1u << 1)
#define RNDIS_CSUM_TX_TCP (1u << 2)
#define RNDIS_CSUM_TX_UDP (1u << 3)
#define RNDIS_CSUM_TX_IP_HEADER (1u << 4)
#define RNDIS_CSUM_TX_TCP_OFFSET_SHIFT 16 /* transport header offset in the frame */
#define RNDIS_CSUM_TX_TCP_OFFSET_MASK 0x3FFu
/* TCPIP_CHKSUM, host -> guest: what was checked. */
#define RNDIS_CSUM_RX_TCP_FAILED (1u << 0)
#define RNDIS_CSUM_RX_UDP_FAILED (1u << 1)
#define RNDIS_CSUM_RX_IP_FAILED (1u << 2)
#define RNDIS_CSUM_RX_TCP_SUCCEEDED (1u << 3)
#define RNDIS_CSUM_RX_UDP_SUCCEEDED (1u << 4)
#define RNDIS_CSUM_RX_IP_SUCCEEDED (1u << 5)
#define RNDIS_CSUM_RX_LOOPBACK (1u << 6)
#define RNDIS_CSUM_RX_TCP_VALUE_INVALID (1u << 7)
#define RNDIS_CSUM_RX_IP_VALUE_INVALID (1u << 8)

/* LSO (LSOv2 transmit): with IPv4 Linux zeroes tot_len and the header checksum, with
 * IPv6 payload_len; the host fills them in. */
#define RNDIS_LSO_MSS_MASK 0xFFFFFu
#define RNDIS_LSO_TCP_OFFSET_SHIFT 20
#define RNDIS_LSO_TCP_OFFSET_MASK 0x3FFu
#define RNDIS_LSO_TYPE_V2 (1u << 30)
#define RNDIS_LSO_IPV6 (1u << 31)

/* IEEE_8021Q */
#define RNDIS_VLAN_PRI_MASK 0x7u
#define RNDIS_VLAN_CFI (1u << 3)
#define RNDIS_VLAN_ID_SHIFT 4
#define RNDIS_VLAN_ID_MASK 0xFFFu

/* ---- OID_GEN_RNDIS_CONFIG_PARAMETER --------------------------------------- */

/* Offsets from this struct's start; the name and a string value are UTF-16LE. */
struct rndis_config_param {
	uint32_t name_offset;
	uint32_t name_len; /* bytes */
	uint32_t type;	   /* RNDIS_CONFIG_PARAM_* */
	uint32_t value_offset;
	uint32_t value_len; /* bytes */
} __attribute__((packed));
static_assert(sizeof(struct rndis_config_param) == 20, "config parameter is 20 bytes");
#define RNDIS_CONFIG_PARAM_INTEGER 0u
#define RNDIS_CONFIG_PARAM_STRING 2u

/* ---- NDIS objects -------------------------------------------------------- */

struct ndis_object_header {
	uint8_t type;
	uint8_t revision;
	uint16_t size;
};
static_assert(sizeof(struct ndis_object_header) == 4, "NDIS object header is 4 bytes");

#define NDIS_OBJECT_TYPE_DEFAULT 0x80u
#define NDIS_OBJECT_TYPE_RSS_CAPABILITIES 0x88u
#define NDIS_OBJECT_TYPE_RSS_PARAMETERS 0x89u
#define NDIS_OBJECT_TYPE_OFFLOAD 0xA7u

/* OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES: NDIS_OFFLOAD (natural alignment, no packing). */
struct ndis_csum_offload {
	uint32_t ip4_tx_encap;
	uint32_t ip4_tx_csum; /* NDIS_TXCSUM_CAP_* */
	uint32_t ip4_rx_encap;
	uint32_t ip4_rx_csum;
	uint32_t ip6_tx_encap;
	uint32_t ip6_tx_csum;
	uint32_t ip6_rx_encap;
	uint32_t ip6_rx_csum;
};
static_assert(sizeof(struct ndis_csum_offload) == 32, "checksum offload is 32 bytes");

/* Each capability is a 2-bit field whose value 1 means "supported". */
#define NDIS_CSUM_CAP_IP4_OPTIONS 0x001u
#define NDIS_CSUM_CAP_IP6_EXT_HEADERS 0x001u
#define NDIS_CSUM_CAP_TCP_OPTIONS 0x004u
#define NDIS_CSUM_CAP_TCP 0x010u
#define NDIS_CSUM_CAP_UDP 0x040u
#define NDIS_CSUM_CAP_IP4 0x100u

#define NDIS_OFFLOAD_ENCAP_8023 0x2u

struct ndis_lsov1_offload {
	uint32_t encap;
	uint32_t max_size;
	uint32_t min_segments;
	uint32_t options;
};
static_assert(sizeof(struct ndis_lsov1_offload) == 16, "LSOv1 offload is 16 bytes");

struct ndis_ipsecv1_offload {
	uint32_t encap;
	uint32_t ah_esp;
	uint32_t transport_tunnel;
	uint32_t ip4_options;
	uint32_t flags;
	uint32_t ip4_ah;
	uint32_t ip4_esp;
};
static_assert(sizeof(struct ndis_ipsecv1_offload) == 28, "IPsecv1 offload is 28 bytes");

struct ndis_lsov2_offload {
	uint32_t ip4_encap;
	uint32_t ip4_max_size;
	uint32_t ip4_min_segments;
	uint32_t ip6_encap;
	uint32_t ip6_max_size;
	uint32_t ip6_min_segments;
	uint32_t ip6_options; /* NDIS_LSOV2_CAP_*: Linux needs both for TSO6 */
};
static_assert(sizeof(struct ndis_lsov2_offload) == 28, "LSOv2 offload is 28 bytes");
#define NDIS_LSOV2_CAP_IP6_EXT_HEADERS 0x001u
#define NDIS_LSOV2_CAP_TCP_OPTIONS 0x004u

struct ndis_ipsecv2_offload {
	uint32_t encap;
	uint8_t ip6;
	uint8_t ip4_options;
	uint8_t ip6_ext_headers;
	uint8_t ah;
	uint8_t esp;
	uint8_t ah_esp;
	uint8_t transport;
	uint8_t tunnel;
	uint8_t transport_tunnel;
	uint8_t lso;
	uint8_t extended_sequence;
	uint8_t reserved;
	uint32_t udp_esp;
	uint32_t auth;
	uint32_t crypto;
	uint32_t sa_caps;
};
static_assert(sizeof(struct ndis_ipsecv2_offload) == 32, "IPsecv2 offload is 32 bytes");

struct ndis_rsc_offload {
	uint8_t ip4;
	uint8_t ip6;
	uint8_t reserved[2];
};

struct ndis_encap_offload {
	uint32_t flags;
	uint32_t max_header;
};

struct ndis_offload {
	struct ndis_object_header header; /* NDIS_OBJECT_TYPE_OFFLOAD */
	struct ndis_csum_offload csum;
	struct ndis_lsov1_offload lsov1;
	struct ndis_ipsecv1_offload ipsecv1;
	struct ndis_lsov2_offload lsov2;
	uint32_t flags;
	/* NDIS 6.1 */
	struct ndis_ipsecv2_offload ipsecv2;
	/* NDIS 6.30 */
	struct ndis_rsc_offload rsc;
	struct ndis_encap_offload encap_gre;
};
#define NDIS_OFFLOAD_SIZE 156u
#define NDIS_OFFLOAD_SIZE_6_0 112u /* revision 1 */
#define NDIS_OFFLOAD_SIZE_6_1 144u /* revision 2 */
#define NDIS_OFFLOAD_REVISION_1 1u
#define NDIS_OFFLOAD_REVISION_2 2u
#define NDIS_OFFLOAD_REVISION_3 3u
static_assert(sizeof(struct ndis_offload) == NDIS_OFFLOAD_SIZE, "NDIS_OFFLOAD is 156 bytes");
static_assert(offsetof(struct ndis_offload, csum) == 4, "csum at 4");
static_assert(offsetof(struct ndis_offload, lsov2) == 80, "lsov2 at 80");
static_assert(offsetof(struct ndis_offload, ipsecv2) == NDIS_OFFLOAD_SIZE_6_0, "6.0 size");
static_assert(offsetof(struct ndis_offload, rsc) == NDIS_OFFLOAD_SIZE_6_1, "6.1 size");
static_assert(offsetof(struct ndis_offload, encap_gre) == 148, "encap_gre at 148");

/* OID_TCP_OFFLOAD_PARAMETERS (set): NDIS_OFFLOAD_PARAMETERS. Linux sends 28 bytes from
 * NVSP 5 on, 22 before. */
struct ndis_offload_params {
	struct ndis_object_header header; /* NDIS_OBJECT_TYPE_DEFAULT */
	uint8_t ip4_csum;		  /* NDIS_OFFLOAD_PARAMS_* */
	uint8_t tcp4_csum;
	uint8_t udp4_csum;
	uint8_t tcp6_csum;
	uint8_t udp6_csum;
	uint8_t lsov1;
	uint8_t ipsecv1;
	uint8_t lsov2_ip4; /* NDIS_OFFLOAD_PARAMS_LSOV2_* */
	uint8_t lsov2_ip6;
	uint8_t tcp_connection_ip4;
	uint8_t tcp_connection_ip6;
	uint8_t reserved;
	uint32_t flags;
	uint8_t ipsecv2;
	uint8_t ipsecv2_ip4;
	uint8_t rsc_ip4;
	uint8_t rsc_ip6;
	uint8_t encap_task_offload;
	uint8_t encap_types;
	uint8_t reserved2[2];
};
static_assert(sizeof(struct ndis_offload_params) == 28, "offload parameters are 28 bytes");
static_assert(offsetof(struct ndis_offload_params, lsov2_ip6) == 12, "lsov2_ip6 at 12");
static_assert(offsetof(struct ndis_offload_params, flags) == 16, "flags at 16");
static_assert(offsetof(struct ndis_offload_params, rsc_ip4) == 22, "v4 size ends at rsc");
#define NDIS_OFFLOAD_PARAMS_SIZE_V4 22u
/* The shortest accepted: through lsov2_ip6, the last field mhcl reads. */
#define NDIS_OFFLOAD_PARAMS_SIZE_MIN 13u

#define NDIS_OFFLOAD_PARAMS_NO_CHANGE 0u
#define NDIS_OFFLOAD_PARAMS_TX_RX_DISABLED 1u
#define NDIS_OFFLOAD_PARAMS_TX_ENABLED_RX_DISABLED 2u
#define NDIS_OFFLOAD_PARAMS_RX_ENABLED_TX_DISABLED 3u
#define NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED 4u
#define NDIS_OFFLOAD_PARAMS_LSOV2_DISABLED 1u
#define NDIS_OFFLOAD_PARAMS_LSOV2_ENABLED 2u

/* OID_GEN_RECEIVE_SCALE_CAPABILITIES (query): packed, 18 bytes in revision 2. */
struct ndis_recv_scale_cap {
	struct ndis_object_header header; /* RSS_CAPABILITIES, revision 2, size 18 */
	uint32_t cap_flags;		  /* NDIS_RSS_CAPS_* */
	uint32_t num_int_msgs;
	uint32_t num_recv_queues; /* Linux: < 2 means a single queue */
	uint16_t num_indirection_entries;
} __attribute__((packed));
static_assert(sizeof(struct ndis_recv_scale_cap) == 18, "RSS capabilities are 18 bytes");
#define NDIS_RSS_CAPS_REVISION_2 2u
#define NDIS_RSS_CAPS_CLASSIFICATION_AT_DPC 0x04000000u
#define NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV4 0x00000100u
#define NDIS_RSS_CAPS_HASH_TYPE_TCP_IPV6 0x00000200u

/* OID_GEN_RECEIVE_SCALE_PARAMETERS (set): offsets from this struct's start. Linux sends
 * revision 2 (40 bytes), a table of 128 u32 queue numbers (table_size is in bytes) and a
 * 40-byte Toeplitz key. */
struct ndis_recv_scale_param {
	struct ndis_object_header header; /* RSS_PARAMETERS */
	uint16_t flags;			  /* NDIS_RSS_PARAM_FLAG_* */
	uint16_t base_cpu;
	uint32_t hash_info; /* NDIS_HASH_* */
	uint16_t table_size;
	uint16_t reserved;
	uint32_t table_offset;
	uint16_t key_size;
	uint16_t reserved1;
	uint32_t key_offset;
	/* revision 2 */
	uint32_t processor_masks_offset;
	uint32_t num_processor_masks;
	uint32_t processor_masks_entry_size;
};
static_assert(sizeof(struct ndis_recv_scale_param) == 40, "RSS parameters are 40 bytes");
static_assert(offsetof(struct ndis_recv_scale_param, table_offset) == 16, "table at 16");
static_assert(offsetof(struct ndis_recv_scale_param, key_offset) == 24, "key at 24");
#define NDIS_RSS_PARAMS_SIZE_REVISION_1 28u
#define NDIS_RSS_PARAMS_REVISION_2 2u
#define NDIS_RSS_TABLE_ENTRY_SIZE 4u

#define NDIS_RSS_PARAM_FLAG_BASE_CPU_UNCHANGED 0x0001u
#define NDIS_RSS_PARAM_FLAG_HASH_INFO_UNCHANGED 0x0002u
#define NDIS_RSS_PARAM_FLAG_ITABLE_UNCHANGED 0x0004u
#define NDIS_RSS_PARAM_FLAG_HASH_KEY_UNCHANGED 0x0008u
#define NDIS_RSS_PARAM_FLAG_DISABLE_RSS 0x0010u

#define NDIS_HASH_FUNC_TOEPLITZ 0x00000001u
#define NDIS_HASH_IPV4 0x00000100u
#define NDIS_HASH_TCP_IPV4 0x00000200u
#define NDIS_HASH_IPV6 0x00000400u
#define NDIS_HASH_IPV6_EX 0x00000800u
#define NDIS_HASH_TCP_IPV6 0x00001000u
#define NDIS_HASH_TCP_IPV6_EX 0x00002000u

#endif
