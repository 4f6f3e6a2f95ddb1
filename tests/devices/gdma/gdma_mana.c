/* SPDX-License-Identifier: MIT */
/*
 * GDMA test device model (a TEST DEVICE, never part of the image): the MANA function
 * with one vPort. Its commands arrive over the HWC (gdma_hwc.c); TX walks SQ entries
 * (inline TX OOB + SGEs), gathers the frame and hands it to frame_out(); RX fills the
 * next posted RQ entry of the vPort's default RX object (else its first RQ).
 *
 * Not modelled: RSS hashing (every frame goes to one RQ), checksum offload (the flags
 * are accepted, nothing is computed or reported), LSO, CQE coalescing, statistics
 * commands.
 */
#include <errno.h>
#include <string.h>

#include "gdma_model_internal.h"

#define ETH_HDR_LEN 14u
#define ETH_ADDRS_LEN 12u
#define VLAN_TPID 0x8100u

void gdma__mana_reset(struct gdma_model *m)
{
	m->mana_registered = false;
	m->vport_tx_configured = false;
	m->vport_rx_configured = false;
	m->vport_rx_enabled = false;
	m->default_rxobj = MANA_INVALID_HANDLE;
}

static bool mana_ready(const struct gdma_model *m, const struct gdma_msg *msg)
{
	return m->mana_registered && msg->dev_id.type == GDMA_DEVICE_MANA &&
	       msg->dev_id.instance == 0;
}

static struct gdma_wq *wq_by_handle(struct gdma_model *m, bool is_send, uint64_t handle,
				    uint32_t *ret_id)
{
	struct gdma_wq *wqs = is_send ? m->sqs : m->rqs;

	/* Index 0 is the HWC's, which has no object handle. */
	for (uint32_t i = 1; i < GDMA_MODEL_MAX_WQS; i++) {
		if (wqs[i].used && wqs[i].obj_handle == handle) {
			if (ret_id)
				*ret_id = i;
			return &wqs[i];
		}
	}
	return NULL;
}

static uint32_t count_wqs(const struct gdma_wq *wqs)
{
	uint32_t n = 0;

	for (uint32_t i = 1; i < GDMA_MODEL_MAX_WQS; i++)
		n += wqs[i].used;
	return n;
}

static uint32_t query_dev_config(struct gdma_model *m, struct gdma_msg *msg)
{
	struct mana_query_device_cfg_resp *resp = (void *)msg->resp;
	struct gdma_req_hdr hdr;

	/* Newer Linux asks before REGISTER_DEVICE (from mana_gd_query_max_resources). */
	(void)m;
	memcpy(&hdr, msg->req, sizeof(hdr));
	resp->max_num_vports = 1;
	resp->max_num_eqs = m->cfg.max_queues;
	resp->adapter_mtu = MANA_MAX_FRAME_SIZE;
	/* Answer in the newest layout the driver asked for that the model knows. */
	msg->version = hdr.resp.msg_version > GDMA_MESSAGE_V3	? GDMA_MESSAGE_V3
		       : hdr.resp.msg_version < GDMA_MESSAGE_V1 ? GDMA_MESSAGE_V1
								: hdr.resp.msg_version;
	msg->resp_len =
	    msg->version == GDMA_MESSAGE_V1 ? MANA_QUERY_DEV_CONFIG_RESP_V1_SIZE : sizeof(*resp);
	return 0;
}

static uint32_t query_vport_config(struct gdma_model *m, struct gdma_msg *msg)
{
	struct mana_query_vport_cfg_resp *resp = (void *)msg->resp;
	struct mana_query_vport_cfg_req req;

	gdma__msg_copy(msg, &req, sizeof(req));
	if (!mana_ready(m, msg) || req.vport_index != 0)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	resp->max_num_sq = m->cfg.max_queues;
	resp->max_num_rq = m->cfg.max_queues;
	resp->num_indirection_ent = MANA_INDIRECT_TABLE_SIZE;
	memcpy(resp->mac_addr, m->cfg.mac, sizeof(resp->mac_addr));
	resp->vport = GDMA_MODEL_VPORT_HANDLE;
	msg->resp_len = sizeof(*resp);
	return 0;
}

static uint32_t config_vport_tx(struct gdma_model *m, struct gdma_msg *msg)
{
	struct mana_config_vport_resp *resp = (void *)msg->resp;
	struct mana_config_vport_req req;

	gdma__msg_copy(msg, &req, sizeof(req));
	if (!mana_ready(m, msg) || req.vport != GDMA_MODEL_VPORT_HANDLE ||
	    req.pdid != GDMA_MODEL_MANA_PDID || req.doorbell_pageid != 0)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	m->vport_tx_configured = true;
	resp->tx_vport_offset = 0;
	resp->short_form_allowed = 1;
	msg->resp_len = sizeof(*resp);
	return 0;
}

/* A region the WQ object may take: present, complete, exactly @size bytes. */
static bool region_fits(struct gdma_model *m, uint64_t handle, uint32_t size)
{
	struct gdma_region *r = gdma__region_find(m, handle);

	return r && r->pages_filled == r->mem.page_count && r->length == size &&
	       size >= GDMA_PAGE_SIZE && (size & (size - 1)) == 0;
}

static uint32_t create_wq_obj(struct gdma_model *m, struct gdma_msg *msg)
{
	struct mana_create_wqobj_resp *resp = (void *)msg->resp;
	struct mana_create_wqobj_req req;
	struct gdma_mem wq_mem = {0}, cq_mem = {0};
	bool is_send;
	int wq_id, cq_id;

	gdma__msg_copy(msg, &req, sizeof(req));
	if (!mana_ready(m, msg) || req.vport != GDMA_MODEL_VPORT_HANDLE ||
	    (req.wq_type != GDMA_QUEUE_SQ && req.wq_type != GDMA_QUEUE_RQ) ||
	    req.wq_gdma_region == req.cq_gdma_region ||
	    !region_fits(m, req.wq_gdma_region, req.wq_size) ||
	    !region_fits(m, req.cq_gdma_region, req.cq_size) ||
	    (req.cq_parent_qid != MANA_CQ_NO_EQ && !gdma__eq(m, req.cq_parent_qid)))
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	is_send = req.wq_type == GDMA_QUEUE_SQ;
	wq_id = gdma__alloc_id(m, req.wq_type);
	cq_id = gdma__alloc_id(m, GDMA_QUEUE_CQ);
	if (wq_id < 0 || cq_id < 0 || count_wqs(is_send ? m->sqs : m->rqs) >= m->cfg.max_queues)
		return GDMA_MODEL_STATUS_NO_RESOURCES;

	/* Both regions were checked above, so neither take nor create can fail now. */
	if (gdma__region_take(m, req.wq_gdma_region, req.wq_size, &wq_mem) != 0)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	if (gdma__region_take(m, req.cq_gdma_region, req.cq_size, &cq_mem) != 0 ||
	    gdma__cq_create(m, (uint32_t)cq_id, &cq_mem, req.cq_parent_qid) != 0 ||
	    gdma__wq_create(m, is_send, (uint32_t)wq_id, &wq_mem, (uint32_t)cq_id) != 0) {
		gdma__mem_free(&wq_mem);
		gdma__mem_free(&cq_mem);
		gdma__cqeq_free(&m->cqs[cq_id]);
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	}
	(is_send ? m->sqs : m->rqs)[wq_id].obj_handle = m->next_handle++;
	resp->wq_id = (uint32_t)wq_id;
	resp->cq_id = (uint32_t)cq_id;
	resp->wq_obj = (is_send ? m->sqs : m->rqs)[wq_id].obj_handle;
	msg->resp_len = sizeof(*resp);
	return 0;
}

static uint32_t destroy_wq_obj(struct gdma_model *m, struct gdma_msg *msg)
{
	struct mana_destroy_wqobj_req req;
	struct gdma_wq *wq;

	gdma__msg_copy(msg, &req, sizeof(req));
	if (!mana_ready(m, msg) || (req.wq_type != GDMA_QUEUE_SQ && req.wq_type != GDMA_QUEUE_RQ))
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	wq = wq_by_handle(m, req.wq_type == GDMA_QUEUE_SQ, req.wq_obj_handle, NULL);
	if (!wq)
		return GDMA_MODEL_STATUS_NOT_FOUND;
	if (m->default_rxobj == req.wq_obj_handle)
		m->default_rxobj = MANA_INVALID_HANDLE;
	gdma__cqeq_free(&m->cqs[wq->cq_id]);
	gdma__wq_free(wq);
	return 0;
}

/* The fence completes with a CQE_RX_OBJECT_FENCE once everything before it is done. */
static uint32_t fence_rq(struct gdma_model *m, struct gdma_msg *msg)
{
	struct mana_rxcomp_oob oob = {.cqe_hdr = MANA_CQE_HDR(MANA_CQE_RX_OBJECT_FENCE)};
	struct mana_fence_rq_req req;
	struct gdma_wq *rq;
	uint32_t rq_id;

	gdma__msg_copy(msg, &req, sizeof(req));
	if (!mana_ready(m, msg))
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	rq = wq_by_handle(m, false, req.wq_obj_handle, &rq_id);
	if (!rq)
		return GDMA_MODEL_STATUS_NOT_FOUND;
	gdma__post_cqe(m, rq->cq_id, &oob, sizeof(oob), rq_id, false);
	return 0;
}

static uint32_t config_vport_rx(struct gdma_model *m, struct gdma_msg *msg)
{
	struct mana_cfg_rx_steer_req req;
	uint64_t end;

	gdma__msg_copy(msg, &req, sizeof(req));
	if (!mana_ready(m, msg) || req.vport != GDMA_MODEL_VPORT_HANDLE)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	if (req.update_default_rxobj && !wq_by_handle(m, false, req.default_rxobj, NULL))
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	if (req.update_indir_tab) {
		/* Checked, not used: without RSS every frame goes to the default object. */
		end = (uint64_t)req.indir_tab_offset + (uint64_t)req.num_indir_entries * 8u;
		if (req.num_indir_entries > MANA_INDIRECT_TABLE_MAX_SIZE ||
		    req.indir_tab_offset < sizeof(req) || end > msg->req_len)
			return GDMA_MODEL_STATUS_INVALID_PARAMETER;
		for (uint32_t i = 0; i < req.num_indir_entries; i++) {
			uint64_t h;

			memcpy(&h, msg->req + req.indir_tab_offset + i * 8u, sizeof(h));
			if (!wq_by_handle(m, false, h, NULL))
				return GDMA_MODEL_STATUS_INVALID_PARAMETER;
		}
	}
	if (req.update_default_rxobj)
		m->default_rxobj = req.default_rxobj;
	m->vport_rx_configured = true;
	m->vport_rx_enabled = req.rx_enable != 0;
	return 0;
}

#define REQ_HDR sizeof(struct gdma_req_hdr)

static const struct gdma_msg_handler mana_handlers[] = {
    {MANA_QUERY_DEV_CONFIG, REQ_HDR, query_dev_config},
    {MANA_QUERY_VPORT_CONFIG, sizeof(struct mana_query_vport_cfg_req), query_vport_config},
    {MANA_CONFIG_VPORT_TX, sizeof(struct mana_config_vport_req), config_vport_tx},
    {MANA_CREATE_WQ_OBJ, sizeof(struct mana_create_wqobj_req), create_wq_obj},
    {MANA_DESTROY_WQ_OBJ, sizeof(struct mana_destroy_wqobj_req), destroy_wq_obj},
    {MANA_FENCE_RQ, sizeof(struct mana_fence_rq_req), fence_rq},
    {MANA_CONFIG_VPORT_RX, sizeof(struct mana_cfg_rx_steer_req), config_vport_rx},
};

const struct gdma_msg_handler *gdma__mana_handler(uint32_t code)
{
	for (size_t i = 0; i < sizeof(mana_handlers) / sizeof(mana_handlers[0]); i++)
		if (mana_handlers[i].code == code)
			return &mana_handlers[i];
	return NULL;
}

/*
 * The checksum offload of the short OOB, done as the hardware does it: the TCP or UDP
 * checksum field holds the pseudo-header sum (the driver's partial checksum); the device
 * sums from the transport header to the end and stores the complement there.
 */
static bool tx_checksum(uint8_t *frame, uint32_t len, uint32_t w0, uint32_t w1)
{
	uint32_t start = MANA_TX_OOB_TRANS_OFF(w1), at, sum = 0;

	if (w0 & MANA_TX_OOB_COMP_TCP_CSUM)
		at = start + 16u;
	else if (w0 & MANA_TX_OOB_COMP_UDP_CSUM)
		at = start + 6u;
	else
		return true;
	if (start < ETH_HDR_LEN || at + 2u > len)
		return false;
	for (uint32_t i = start; i < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | (i + 1 < len ? frame[i + 1] : 0u);
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	uint16_t c = (uint16_t)~sum;
	if (c == 0 && (w0 & MANA_TX_OOB_COMP_UDP_CSUM))
		c = 0xffff; /* UDP sends 0 as "no checksum" */
	frame[at] = (uint8_t)(c >> 8);
	frame[at + 1] = (uint8_t)c;
	return true;
}

/* Gathers one TX entry into m->frame and sends it; returns the TX CQE type. */
static uint32_t tx_one(struct gdma_model *m, const struct gdma_wqe_copy *wqe)
{
	struct mana_tx_oob oob = {0};
	uint32_t len = 0, hdr = 0;
	uint8_t *frame = m->frame;

	if (wqe->oob_size != sizeof(oob.s_oob) && wqe->oob_size != sizeof(oob))
		return MANA_CQE_TX_INVALID_OOB;
	memcpy(&oob, wqe->oob, wqe->oob_size);
	if (MANA_TX_OOB_PKT_FMT(oob.s_oob.w0) == MANA_LONG_PKT_FMT && wqe->oob_size != sizeof(oob))
		return MANA_CQE_TX_INVALID_OOB;
	/* Leave room to insert a VLAN tag after the addresses. */
	if (oob.l_oob.w0 & MANA_TX_LONG_OOB_INJECT_VLAN)
		hdr = 4;
	for (uint32_t i = 0; i < wqe->num_sge; i++) {
		uint32_t size = wqe->sgl[i].size;

		if (size > GDMA_MODEL_MAX_FRAME - len)
			return MANA_CQE_TX_MTU_DROP;
		if (size && gdma__dma_read(m, wqe->sgl[i].address, frame + hdr + len, size) != 0)
			return MANA_CQE_TX_HDR_PROCESSING_ERROR;
		len += size;
	}
	if (len < ETH_HDR_LEN)
		return MANA_CQE_TX_HDR_PROCESSING_ERROR;
	if (!tx_checksum(frame + hdr, len, oob.s_oob.w0, oob.s_oob.w1))
		return MANA_CQE_TX_HDR_PROCESSING_ERROR;
	if (hdr) {
		uint16_t tci = (uint16_t)(MANA_TX_LONG_OOB_VLAN_ID(oob.l_oob.w0) |
					  MANA_TX_LONG_OOB_DEI(oob.l_oob.w0) << 12 |
					  MANA_TX_LONG_OOB_PCP(oob.l_oob.w0) << 13);

		memmove(frame, frame + hdr, ETH_ADDRS_LEN);
		frame[12] = VLAN_TPID >> 8;
		frame[13] = VLAN_TPID & 0xff;
		frame[14] = (uint8_t)(tci >> 8);
		frame[15] = (uint8_t)tci;
		len += hdr;
	}
	m->ops.frame_out(m->ctx, frame, len);
	m->stats.tx_frames++;
	return MANA_CQE_TX_OKAY;
}

void gdma__mana_sq_run(struct gdma_model *m, uint32_t sq_id)
{
	struct gdma_wq *sq = gdma__sq(m, sq_id);
	struct gdma_wqe_copy wqe;

	while (sq && gdma__wqe_next(m, sq, true, &wqe) == 0) {
		struct mana_tx_comp_oob comp = {0};
		uint32_t type = tx_one(m, &wqe);
		uint32_t w0;

		memcpy(&w0, wqe.oob, sizeof(w0));
		if (type != MANA_CQE_TX_OKAY)
			m->stats.tx_errors++;
		else if (w0 & MANA_TX_OOB_SUPPRESS_TXCQE)
			continue;
		comp.cqe_hdr = MANA_CQE_HDR(type);
		comp.tx_offsets = wqe.offset << MANA_TX_COMP_WQE_OFFSET_SHIFT;
		gdma__post_cqe(m, sq->cq_id, &comp, sizeof(comp), sq_id, true);
	}
}

static struct gdma_wq *rx_queue(struct gdma_model *m, uint32_t *ret_id)
{
	if (m->default_rxobj != MANA_INVALID_HANDLE)
		return wq_by_handle(m, false, m->default_rxobj, ret_id);
	for (uint32_t i = 1; i < GDMA_MODEL_MAX_WQS; i++) {
		if (m->rqs[i].used) {
			*ret_id = i;
			return &m->rqs[i];
		}
	}
	return NULL;
}

bool gdma_model_rx_full(struct gdma_model *m)
{
	uint32_t rq_id;
	struct gdma_wq *rq = rx_queue(m, &rq_id);

	if (!rq || rq->broken || (m->vport_rx_configured && !m->vport_rx_enabled))
		return false;
	return rq->tail == rq->head;
}

int gdma_model_frame_in(struct gdma_model *m, const void *data, size_t len)
{
	struct mana_rxcomp_oob oob = {0};
	struct gdma_wqe_copy wqe;
	struct gdma_wq *rq;
	uint32_t rq_id = 0, done = 0;
	int r;

	if (len == 0 || len > GDMA_MODEL_MAX_FRAME)
		return -EMSGSIZE;
	rq = rx_queue(m, &rq_id);
	if (!rq || (m->vport_rx_configured && !m->vport_rx_enabled)) {
		m->stats.rx_dropped_no_rq++;
		return -ENODEV;
	}
	r = gdma__wqe_next(m, rq, false, &wqe);
	if (r == -ENOENT) {
		m->stats.rx_dropped_no_wqe++;
		return -ENOBUFS;
	}
	if (r != 0)
		return -EIO;
	for (uint32_t i = 0; i < wqe.num_sge && done < len; i++) {
		uint32_t chunk = (uint32_t)len - done;

		if (chunk > wqe.sgl[i].size)
			chunk = wqe.sgl[i].size;
		if (gdma__dma_write(m, wqe.sgl[i].address, (const uint8_t *)data + done, chunk) !=
		    0)
			break;
		done += chunk;
	}
	if (done < len) {
		/* Short or unreachable buffers: the driver drops it and reposts the entry. */
		m->stats.rx_truncated++;
		oob.cqe_hdr = MANA_CQE_HDR(MANA_CQE_RX_TRUNCATED);
	} else {
		m->stats.rx_frames++;
		oob.cqe_hdr = MANA_CQE_HDR(MANA_CQE_RX_OKAY);
	}
	oob.ppi[0].pkt_len = done;
	oob.rx_wqe_offset = wqe.offset;
	gdma__post_cqe(m, rq->cq_id, &oob, sizeof(oob), rq_id, false);
	return 0;
}
