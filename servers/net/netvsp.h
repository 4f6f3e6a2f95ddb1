/* SPDX-License-Identifier: MIT */
/*
 * The network protocol's NVSP layer, pure: parsing a guest's NVSP message into a
 * validated struct and building the host's NVSP messages. No rings, no guest memory, no
 * state: net_chan.c runs the initialization state machine and the data path. The fuzz
 * target nvsp-message drives this file. Wire layout: include/defs/netvsp_defs.h.
 *
 * Every NVSP message is a u32 type and a union; Linux always sends 40 bytes, and the host's
 * messages are padded to NETVSP_MSG_SIZE (Linux drops completions under 28 bytes).
 */
#ifndef MHCL_NET_NETVSP_H
#define MHCL_NET_NETVSP_H

#include <stdbool.h>
#include <stdint.h>

#include "defs/netvsp_defs.h"

/* What the host sends: every message built here is this long. */
#define NETVSP_MSG_SIZE 40u

/* A guest NVSP message, copied out and validated. Only the fields of msg.type are set. */
struct netvsp_msg {
	uint32_t type; /* enum netvsp_msg_type */
	union {
		struct { /* INIT */
			uint32_t min_version, max_version;
		} init;
		struct { /* SEND_NDIS_VER */
			uint32_t major, minor;
		} ndis_ver;
		struct { /* SEND_NDIS_CONFIG */
			uint32_t mtu;
			uint64_t capabilities;
		} ndis_config;
		struct { /* SEND_RECV_BUF, SEND_SEND_BUF */
			uint32_t gpadl;
			uint16_t id;
		} buf;
		struct { /* REVOKE_RECV_BUF, REVOKE_SEND_BUF */
			uint16_t id;
		} revoke;
		struct {			/* SEND_RNDIS_PKT */
			uint32_t channel_type;	/* 0 data, 1 control */
			uint32_t section_index; /* NETVSP_NO_SECTION: the RNDIS message is in the
						   packet's GPA ranges */
			uint32_t section_size;
		} rndis;
		struct { /* SEND_RNDIS_PKT_COMPLETE (the guest acks a receive) */
			uint32_t status;
		} rndis_complete;
		struct {	     /* SUBCHANNEL */
			uint32_t op; /* 1 = allocate */
			uint32_t num;
		} subchannel;
		struct { /* SEND_VF_ASSOCIATION, SWITCH_DATA_PATH: the raw words */
			uint32_t a, b;
		} vf;
	} u;
};

/*
 * Parses an NVSP message (the inband payload of a guest packet, len bytes). Returns 0, or
 * -EBADMSG with *why set (too short for its type, unknown type). Values are not judged
 * here (a version mhcl cannot honour is still parsed): the state machine decides.
 */
int netvsp_parse(const void *payload, uint32_t len, struct netvsp_msg *m, const char **why);

/* The NVSP versions mhcl honours, newest first (NETVSP_VERSION_61 .. NETVSP_VERSION_1). */
bool netvsp_version_supported(uint32_t version);

/* The host's messages. Each fills out[NETVSP_MSG_SIZE] (zero padded) and returns
 * NETVSP_MSG_SIZE. status is NETVSP_STATUS_*. */
uint32_t netvsp_build_init_complete(uint8_t *out, uint32_t status, uint32_t negotiated_version);
/* One section at offset 0: sub_alloc_size x num_sub_allocs bytes of the receive buffer. */
uint32_t netvsp_build_recv_buf_complete(uint8_t *out, uint32_t status, uint32_t sub_alloc_size,
					uint32_t num_sub_allocs);
uint32_t netvsp_build_send_buf_complete(uint8_t *out, uint32_t status, uint32_t section_size);
uint32_t netvsp_build_rndis_complete(uint8_t *out, uint32_t status);
uint32_t netvsp_build_subchannel_complete(uint8_t *out, uint32_t status, uint32_t num_allocated);
/* The inband part of a host->guest transfer-page packet: SEND_RNDIS_PKT{channel_type}. */
uint32_t netvsp_build_rndis_pkt(uint8_t *out, uint32_t channel_type);

const char *netvsp_msg_name(uint32_t type);

#endif
