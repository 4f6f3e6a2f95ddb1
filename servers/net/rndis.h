/* SPDX-License-Identifier: MIT */
/*
 * RNDIS over NVSP, pure: control messages (INITIALIZE, QUERY, SET, RESET, HALT,
 * KEEPALIVE) answered from the NIC's configuration and state, the guest's data packets
 * parsed into a frame location and its offload requests, and the headers of what the
 * host sends (received frames, status indications). No I/O: net_chan.c moves the bytes.
 * Fuzz targets rndis-control and rndis-packet drive this file. Wire layout:
 * include/defs/rndis_defs.h.
 *
 * Every offset and length inside an RNDIS message is guest data: each is checked against
 * the message and the bytes actually available before anything is read through it.
 */
#ifndef MHCL_NET_RNDIS_H
#define MHCL_NET_RNDIS_H

#include <stdbool.h>
#include <stdint.h>

#include "defs/rndis_defs.h"
#include "net_backend.h"

/* The largest control answer rndis_control() builds (QUERY answers included). */
#define RNDIS_MAX_RESPONSE 512u
/* The largest header rndis_rx_header() writes before a received frame. */
#define RNDIS_RX_HEADER_MAX 128u
#define RNDIS_RSS_TABLE_MAX 128u
#define RNDIS_RSS_KEY_MAX 40u

/* What the NIC is (from the manifest and the backend); constant while the server runs. */
struct rndis_config {
	uint8_t mac[6];
	uint32_t mtu;		 /* IP MTU, 1500 default; frames are mtu + 14 */
	uint64_t link_speed_bps; /* OID_GEN_LINK_SPEED answers this / 100 */
	uint32_t max_queues;	 /* RSS receive queues offered (1 = no vRSS) */
	uint32_t offload_caps;	 /* NET_OFFLOAD_CAP_* the backend can do */
	char friendly_name[32];	 /* OID_GEN_FRIENDLY_NAME, NUL terminated */
};

/* Offload capabilities (rndis_config.offload_caps). */
#define NET_OFFLOAD_CAP_TX_CSUM 0x1u /* IPv4 header, TCP and UDP checksums, v4 and v6 */
#define NET_OFFLOAD_CAP_TX_LSO 0x2u  /* TCP segmentation, v4 and v6 */
#define NET_OFFLOAD_CAP_RX_CSUM 0x4u /* the host may mark received checksums valid */

/*
 * What the guest has set. Plain data with no pointers: it lives in the server's
 * crash-consistent state memfd, so a restarted server answers as its predecessor did.
 */
struct rndis_state {
	uint32_t initialized;	/* INITIALIZE answered, no HALT since */
	uint32_t packet_filter; /* OID_GEN_CURRENT_PACKET_FILTER */
	uint32_t tx_csum;	/* NET_OFFLOAD_CAP_TX_CSUM if the guest turned it on */
	uint32_t tx_lso;	/* NET_OFFLOAD_CAP_TX_LSO if the guest turned it on */
	uint32_t rx_csum;	/* NET_OFFLOAD_CAP_RX_CSUM if the guest turned it on */
	uint32_t rss_enabled;
	uint32_t rss_hash_info;
	uint32_t rss_table_size; /* entries used in rss_table */
	uint32_t rss_key_size;
	uint32_t has_mac_override; /* a SET of NetworkAddress changed the MAC */
	uint8_t mac_override[8];
	uint16_t rss_table[RNDIS_RSS_TABLE_MAX]; /* queue per hash bucket */
	uint8_t rss_key[RNDIS_RSS_KEY_MAX];
};

/* A control message, copied out and validated (info points into the caller's copy). */
struct rndis_ctl {
	uint32_t type; /* RNDIS_MSG_INIT, _HALT, _QUERY, _SET, _RESET, _KEEPALIVE */
	uint32_t request_id;
	uint32_t major, minor, max_transfer; /* INIT */
	uint32_t oid;			     /* QUERY, SET */
	const uint8_t *info;		     /* QUERY, SET: the information buffer */
	uint32_t info_len;
};

/* Parses a control message of len bytes. 0, or -EBADMSG with *why. */
int rndis_parse_ctl(const uint8_t *msg, uint32_t len, struct rndis_ctl *c, const char **why);

/*
 * Answers c from cfg and st (SET updates st) into out[RNDIS_MAX_RESPONSE]. Returns the
 * answer's length, or 0 when the message gets no answer (HALT). Refusals are answers
 * (RNDIS_STATUS_NOT_SUPPORTED, _INVALID_DATA, ...); *note (may be NULL) names what was
 * refused or changed, for the log. The OIDs Linux's rndis_filter and Windows' netvsc use
 * are answered: see rndis.c for the table.
 */
uint32_t rndis_control(const struct rndis_config *cfg, struct rndis_state *st,
		       const struct rndis_ctl *c, uint8_t *out, const char **note);

/* The MAC the guest uses now (the override if it set one). */
const uint8_t *rndis_mac(const struct rndis_config *cfg, const struct rndis_state *st);

/* A guest data packet (RNDIS_MSG_PACKET) with its per-packet info, validated. */
struct rndis_tx {
	uint32_t frame_offset; /* of the Ethernet frame, from the start of the RNDIS message */
	uint32_t frame_len;
	struct net_offload offload; /* what the guest asks the host to finish (csum, LSO) */
	bool has_vlan;
	uint16_t vlan_tci;
	bool ip_hdr_csum; /* the guest asks the host for the IPv4 header checksum too */
};

/*
 * Parses one data packet. head: the first head_len bytes of the message (at least the
 * header and every per-packet info, or -EBADMSG); msg_avail: the bytes of the message
 * that exist in the buffer or ranges it came in (frame_offset + frame_len must fit, and
 * so must the message's own length). Returns 0, or -EBADMSG / -EMSGSIZE (frame over
 * max_frame) with *why. st says which offloads the guest may ask for.
 */
int rndis_parse_packet(const uint8_t *head, uint32_t head_len, uint32_t msg_avail,
		       uint32_t max_frame, const struct rndis_state *st, struct rndis_tx *tx,
		       const char **why);

/*
 * Finishes the IP header of a parsed frame before it goes to the backend, in hdr, the
 * caller's private copy of the frame's first hdr_len bytes (Ethernet + IP header at
 * least). With LSO the guest leaves IPv4 tot_len / IPv6 payload_len and the IPv4 header
 * checksum zero; tx->ip_hdr_csum asks for that checksum. Returns 0 (also when nothing was
 * needed), or -EBADMSG with *why when hdr holds no IP header to finish.
 */
int rndis_tx_fix_headers(uint8_t *hdr, uint32_t hdr_len, const struct rndis_tx *tx,
			 const char **why);

/* The message type of an RNDIS message (its first u32), or 0 if len < 8. */
uint32_t rndis_msg_type(const uint8_t *msg, uint32_t len);

/* What the host knows about a frame it passes to the guest. */
struct rndis_rx_info {
	struct net_offload offload; /* from the backend (NET_OFFLOAD_CSUM_VALID, ...) */
	bool has_vlan;
	uint16_t vlan_tci;
	bool has_hash;
	uint32_t hash, hash_info;
};

/*
 * Writes the RNDIS_MSG_PACKET header and per-packet info for a received frame of
 * frame_len bytes into out[RNDIS_RX_HEADER_MAX]; the frame follows at the returned
 * offset (the header's length; the message's total is that plus frame_len).
 */
uint32_t rndis_rx_header(uint8_t *out, uint32_t frame_len, const struct rndis_state *st,
			 const struct rndis_rx_info *info);

/* An RNDIS_MSG_INDICATE_STATUS (RNDIS_STATUS_MEDIA_CONNECT, ...) into out (32 bytes);
 * returns its length. */
uint32_t rndis_build_indicate(uint8_t *out, uint32_t status);

const char *rndis_msg_name(uint32_t type);
const char *rndis_oid_name(uint32_t oid);

#endif
