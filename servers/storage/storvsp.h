/* SPDX-License-Identifier: MIT */
/*
 * The storage protocol's pure part: parsing a guest packet into a validated request, the
 * initialization state machine, and building answers. No rings, no guest memory, no
 * backends: stor_chan.c does the I/O. The fuzz target storvsp-packet drives this file.
 *
 * Initialization (on the primary channel): BEGIN_INITIALIZATION -> QUERY_PROTOCOL_VERSION
 * (until one is accepted) -> QUERY_PROPERTIES -> END_INITIALIZATION -> CREATE_SUB_CHANNELS
 * (optional; also accepted before END, as Windows may send it). Accepted versions: 6.2,
 * 6.0, 5.1 (Linux 6.1 and Windows 8 and later) and 4.2, 2.0 (older Windows, with the
 * shorter SCSI request). SRBs before END_INITIALIZATION, or init operations on a
 * sub-channel, are refused with INVALID_DEVICE_STATE.
 */
#ifndef MHCL_STORAGE_STORVSP_H
#define MHCL_STORAGE_STORVSP_H

#include <stdbool.h>
#include <stdint.h>

#include "defs/storvsp_defs.h"
#include "stor_state.h"
#include "vmbus_ring.h"

enum stor_init {
	STOR_INIT_NONE = 0,    /* waiting for BEGIN_INITIALIZATION */
	STOR_INIT_BEGUN = 1,   /* waiting for an acceptable version */
	STOR_INIT_VERSION = 2, /* version agreed */
	STOR_INIT_DONE = 3,    /* END_INITIALIZATION seen: SRBs flow */
};

/* A guest packet, parsed. */
struct storvsp_req {
	uint64_t trans_id;
	uint32_t op;		   /* enum storvsp_op */
	uint32_t size;		   /* bytes of the storvsp packet the guest sent (48 or 64) */
	struct storvsp_packet pkt; /* copy, zero padded to 64 bytes */
	/* EXECUTE_SRB data buffer: one GPA range, or none (byte_count 0). */
	uint32_t byte_offset, byte_count, npfns;
	const uint64_t *pfns; /* into the caller's packet buffer */
};

/*
 * Parses pkt (already validated as a VMBus packet by lib/ring). version is the
 * controller's negotiated version (0 before). Returns 0, or -EBADMSG (a packet type
 * storage does not use, too short, more than one GPA range), -E2BIG (a buffer over
 * STOR_MAX_TRANSFER), with *why set; the caller answers with an error where it can.
 */
int storvsp_parse(const struct vmbus_pkt *pkt, uint16_t version, struct storvsp_req *req,
		  const char **why);

/* What an init operation answers. */
struct storvsp_init_answer {
	uint32_t status;	    /* NTSTATUS */
	bool props;		    /* QUERY_PROPERTIES: fill pkt.props */
	uint16_t grant_subchannels; /* CREATE_SUB_CHANNELS: offer this many more */
};

/*
 * Advances the controller's init state for a non-SRB operation on the primary channel
 * (primary = false: a sub-channel, where only resets are accepted). rec->version and
 * rec->init_state are updated. max_subchannels: what QUERY_PROPERTIES advertised.
 */
void storvsp_init_op(struct stor_ctrl_rec *rec, const struct storvsp_req *req, bool primary,
		     uint16_t max_subchannels, struct storvsp_init_answer *ans);

/* Fills props for QUERY_PROPERTIES. */
void storvsp_properties(struct storvsp_properties *props, uint16_t max_subchannels);

/*
 * Builds the answer to req into out (64 bytes; send storvsp_answer_size() of them):
 * operation COMPLETE_IO, the status, and for SRBs the request's SRB with the results.
 */
void storvsp_answer(const struct storvsp_req *req, uint32_t status, struct storvsp_packet *out);
uint32_t storvsp_answer_size(const struct storvsp_req *req, uint16_t version);

/* The SRB results. sense/sense_len only with CHECK CONDITION. */
void storvsp_srb_result(struct storvsp_packet *out, uint8_t srb_status, uint8_t scsi_status,
			const uint8_t *sense, uint32_t sense_len, uint32_t xfer, uint16_t version);

const char *storvsp_op_name(uint32_t op);

#endif
