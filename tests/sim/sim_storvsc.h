/* SPDX-License-Identifier: MIT */
/*
 * The guest side of a VMBus SCSI channel, as Linux's hv_storvsc drives it, on a sim guest
 * (sim_guest.h): the init sequence, SRBs with their data buffer as one GPA range, and
 * completions matched by transaction id. Used by the storage integration tests and the
 * storage benchmark's load generator; raw packets stay possible for hostile tests.
 */
#ifndef MHCL_TEST_SIM_STORVSC_H
#define MHCL_TEST_SIM_STORVSC_H

#include <stdbool.h>
#include <stdint.h>

#include "defs/storvsp_defs.h"
#include "sim_guest.h"

struct sim_stor {
	struct sim_guest *g;
	struct sim_guest_chan ch;
	uint16_t version;
	struct storvsp_properties props;
};

/* Opens the channel of offer on ring pages [first_pfn, first_pfn + npages), send_pages of
 * them guest->host. */
int sim_stor_open(struct sim_guest *g, const struct vmbus_msg_offer_channel *offer,
		  uint64_t first_pfn, uint32_t npages, uint32_t send_pages, struct sim_stor *s);
/* Sends one control packet (trans_id as Linux's init id) and waits for its answer: the
 * answer's status, or -errno. ans may be NULL. */
int sim_stor_control(struct sim_stor *s, const struct storvsp_packet *req,
		     struct storvsp_packet *ans);
/* Linux's init: BEGIN, versions 6.2/6.0/5.1 until one is taken, QUERY_PROPERTIES, END.
 * Returns the version taken or -errno. */
int sim_stor_init(struct sim_stor *s);

/* An SRB; data: one GPA range (byte_offset into pfns[0], len bytes), or len 0. */
struct sim_srb {
	uint8_t cdb[16];
	uint8_t cdb_len;
	uint8_t lun;
	uint8_t data_in; /* STORVSP_DATA_* */
	uint32_t len;
	uint32_t byte_offset;
	const uint64_t *pfns;
	uint32_t npfns;
};

/* Sends an SRB with trans_id (no wait). -EAGAIN when the ring is full. */
int sim_stor_send(struct sim_stor *s, uint64_t trans_id, const struct sim_srb *srb);
/* Sends raw bytes as an in-band packet. */
int sim_stor_send_raw(struct sim_stor *s, uint64_t trans_id, const void *data, uint32_t len);
/* The next completion (waits); its trans_id and packet. 0 or -errno. */
int sim_stor_recv(struct sim_stor *s, uint64_t *trans_id, struct storvsp_packet *ans);
/* As sim_stor_recv without waiting: -EAGAIN when none is there. */
int sim_stor_try_recv(struct sim_stor *s, uint64_t *trans_id, struct storvsp_packet *ans);
/* Sends and waits for the answer to that SRB (others must not be in flight). */
int sim_stor_exec(struct sim_stor *s, uint64_t trans_id, const struct sim_srb *srb,
		  struct storvsp_packet *ans);

/* CDB builders. */
void sim_srb_rw16(struct sim_srb *srb, bool write, uint64_t lba, uint32_t nblocks);
void sim_srb_cdb(struct sim_srb *srb, const uint8_t *cdb, uint8_t len, uint8_t data_in);



/* CREATE_SUB_CHANNELS(n) on the primary, then the n sub-channel offers vmbusd sends
 * (sub_channel_index 1..n). 0 or -errno. */
int sim_stor_subchannels(struct sim_stor *primary, uint16_t n,
			 struct vmbus_msg_offer_channel *ret_offers);

#endif
