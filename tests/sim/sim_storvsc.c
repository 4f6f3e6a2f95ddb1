/* SPDX-License-Identifier: MIT */
#include "sim_storvsc.h"

#include <errno.h>
#include <string.h>

#include "defs/hv_defs.h"
#include "defs/vmbus_ring_defs.h"

#define SIM_STOR_INIT_ID (UINT64_MAX - 2) /* Linux's VMBUS_RQST_INIT */

int sim_stor_open(struct sim_guest *g, const struct vmbus_msg_offer_channel *offer,
		  uint64_t first_pfn, uint32_t npages, uint32_t send_pages, struct sim_stor *s)
{
	memset(s, 0, sizeof(*s));
	s->g = g;
	return sim_guest_chan_open(g, offer, first_pfn, npages, send_pages, &s->ch);
}

static int signal_host(struct sim_stor *s, int r)
{
	if (r == 1) {
		r = sim_guest_signal(s->g, s->ch.conn_id);
		if (r != HV_STATUS_SUCCESS)
			return r < 0 ? r : -EIO;
	}
	return r < 0 ? r : 0;
}

int sim_stor_send_raw(struct sim_stor *s, uint64_t trans_id, const void *data, uint32_t len)
{
	return signal_host(s,
			   vmbus_ring_send_inband(&s->ch.out, trans_id,
						  VMBUS_PKT_FLAG_COMPLETION_REQUESTED, data, len));
}

static uint32_t pkt_size(const struct sim_stor *s)
{
	return s->version ? storvsp_packet_size(s->version)
			  : (uint32_t)sizeof(struct storvsp_packet);
}

int sim_stor_try_recv(struct sim_stor *s, uint64_t *trans_id, struct storvsp_packet *ans)
{
	struct vmbus_pkt pkt;
	int r = vmbus_ring_recv(&s->ch.in, s->ch.pkt, sizeof(s->ch.pkt), &pkt);
	if (r < 0)
		return r;
	r = signal_host(s, vmbus_ring_recv_commit(&s->ch.in));
	if (r < 0)
		return r;
	if (pkt.type != VMBUS_PKT_COMP)
		return -EBADMSG;
	memset(ans, 0, sizeof(*ans));
	memcpy(ans, pkt.payload, pkt.payload_len < sizeof(*ans) ? pkt.payload_len : sizeof(*ans));
	*trans_id = pkt.trans_id;
	return 0;
}

int sim_stor_recv(struct sim_stor *s, uint64_t *trans_id, struct storvsp_packet *ans)
{
	for (;;) {
		int r = sim_stor_try_recv(s, trans_id, ans);
		if (r != -EAGAIN)
			return r;
		if (vmbus_ring_unmask_interrupts(&s->ch.in) == 1)
			continue;
		r = sim_guest_wait_sint(s->g);
		if (r < 0)
			return r;
	}
}

int sim_stor_control(struct sim_stor *s, const struct storvsp_packet *req,
		     struct storvsp_packet *ans)
{
	struct storvsp_packet tmp;
	uint64_t id;
	int r = sim_stor_send_raw(s, SIM_STOR_INIT_ID, req, pkt_size(s));
	if (r < 0)
		return r;
	if (!ans)
		ans = &tmp;
	r = sim_stor_recv(s, &id, ans);
	if (r < 0)
		return r;
	if (id != SIM_STOR_INIT_ID || ans->operation != STORVSP_OP_COMPLETE_IO)
		return -EBADMSG;
	return (int)ans->status;
}

int sim_stor_init(struct sim_stor *s)
{
	static const uint16_t versions[] = {STORVSP_VERSION_WIN10, STORVSP_VERSION_WIN8_1,
					    STORVSP_VERSION_WIN8};
	struct storvsp_packet p = {.operation = STORVSP_OP_BEGIN_INITIALIZATION,
				   .flags = STORVSP_FLAG_REQUEST_COMPLETION};
	struct storvsp_packet ans;
	int r = sim_stor_control(s, &p, NULL);
	if (r != 0)
		return r < 0 ? r : -EPROTO;
	for (unsigned i = 0;; i++) {
		if (i == sizeof(versions) / sizeof(versions[0]))
			return -EPROTONOSUPPORT;
		p = (struct storvsp_packet){.operation = STORVSP_OP_QUERY_PROTOCOL_VERSION,
					    .flags = STORVSP_FLAG_REQUEST_COMPLETION};
		p.version.major_minor = versions[i];
		r = sim_stor_control(s, &p, NULL);
		if (r < 0)
			return r;
		if (r == 0) {
			s->version = versions[i];
			break;
		}
	}
	p = (struct storvsp_packet){.operation = STORVSP_OP_QUERY_PROPERTIES,
				    .flags = STORVSP_FLAG_REQUEST_COMPLETION};
	r = sim_stor_control(s, &p, &ans);
	if (r != 0)
		return r < 0 ? r : -EPROTO;
	s->props = ans.props;
	p = (struct storvsp_packet){.operation = STORVSP_OP_END_INITIALIZATION,
				    .flags = STORVSP_FLAG_REQUEST_COMPLETION};
	r = sim_stor_control(s, &p, NULL);
	if (r != 0)
		return r < 0 ? r : -EPROTO;
	return s->version;
}

int sim_stor_send(struct sim_stor *s, uint64_t trans_id, const struct sim_srb *srb)
{
	struct storvsp_packet p = {.operation = STORVSP_OP_EXECUTE_SRB,
				   .flags = STORVSP_FLAG_REQUEST_COMPLETION};
	p.srb.length = sizeof(p.srb);
	p.srb.lun = srb->lun;
	p.srb.cdb_length = srb->cdb_len;
	p.srb.sense_info_length = STORVSP_SENSE_MAX;
	p.srb.data_in = srb->data_in;
	p.srb.data_transfer_length = srb->len;
	p.srb.time_out_value = 60;
	memcpy(p.srb.cdb, srb->cdb, srb->cdb_len);
	if (!srb->len)
		return sim_stor_send_raw(s, trans_id, &p, pkt_size(s));
	struct vmbus_ring_gpa range = {.byte_count = srb->len,
				       .byte_offset = srb->byte_offset,
				       .pfn_count = srb->npfns,
				       .pfns = srb->pfns};
	return signal_host(s, vmbus_ring_send_gpa_direct(&s->ch.out, trans_id,
							 VMBUS_PKT_FLAG_COMPLETION_REQUESTED,
							 &range, 1, &p, pkt_size(s)));
}

int sim_stor_exec(struct sim_stor *s, uint64_t trans_id, const struct sim_srb *srb,
		  struct storvsp_packet *ans)
{
	uint64_t id;
	int r = sim_stor_send(s, trans_id, srb);
	if (r < 0)
		return r;
	r = sim_stor_recv(s, &id, ans);
	if (r < 0)
		return r;
	return id == trans_id ? 0 : -EBADMSG;
}

void sim_srb_cdb(struct sim_srb *srb, const uint8_t *cdb, uint8_t len, uint8_t data_in)
{
	memset(srb->cdb, 0, sizeof(srb->cdb));
	memcpy(srb->cdb, cdb, len);
	srb->cdb_len = len;
	srb->data_in = data_in;
}

void sim_srb_rw16(struct sim_srb *srb, bool write, uint64_t lba, uint32_t nblocks)
{
	uint8_t c[16] = {write ? 0x8A : 0x88};
	for (int i = 0; i < 8; i++)
		c[2 + i] = (uint8_t)(lba >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		c[10 + i] = (uint8_t)(nblocks >> (24 - 8 * i));
	sim_srb_cdb(srb, c, 16, write ? STORVSP_DATA_WRITE : STORVSP_DATA_READ);
}

int sim_stor_subchannels(struct sim_stor *primary, uint16_t n,
			 struct vmbus_msg_offer_channel *ret_offers)
{
	struct storvsp_packet p = {.operation = STORVSP_OP_CREATE_SUB_CHANNELS,
				   .flags = STORVSP_FLAG_REQUEST_COMPLETION};
	p.sub_channel_count = n;
	int r = sim_stor_control(primary, &p, NULL);
	if (r != 0)
		return r < 0 ? r : -EPROTO;
	for (uint16_t i = 0; i < n; i++) {
		struct vmbus_msg_offer_channel m;
		r = sim_guest_expect_msg(primary->g, VMBUS_MSG_OFFERCHANNEL, &m, sizeof(m));
		if (r < 0)
			return r;
		if ((size_t)r < sizeof(m) || m.sub_channel_index == 0)
			return -EPROTO;
		ret_offers[m.sub_channel_index - 1 < n ? m.sub_channel_index - 1 : i] = m;
	}
	return 0;
}
