/* SPDX-License-Identifier: MIT */
/*
 * The MANA function over the HWC (REFERENCES.md section 10, Linux 6.1 order):
 * QUERY_DEV_CONFIG, QUERY_VPORT_CONFIG (MAC, queue limits), CONFIG_VPORT_TX, per queue
 * pair a TX SQ/CQ and an RX RQ/CQ (two DMA regions + CREATE_WQ_OBJ each), RX buffers
 * posted and CQs armed, then CONFIG_VPORT_RX with RSS over the RX objects.
 */
#include <errno.h>
#include <string.h>

#include "devaccess.h"
#include "mana_internal.h"

/* A fixed Toeplitz key: RSS only spreads flows; nothing depends on which queue. */
static const uint8_t rss_key[MANA_HASH_KEY_SIZE] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

static int query_dev_config(struct mana_dev *d)
{
	struct mana_query_device_cfg_req req = {0};
	struct mana_query_device_cfg_resp resp;
	int r;

	mana__req_init(d, &req.hdr, MANA_QUERY_DEV_CONFIG, sizeof(req), sizeof(resp));
	req.proto_major_ver = MANA_MAJOR_VERSION;
	req.proto_minor_ver = MANA_MINOR_VERSION;
	req.proto_micro_ver = MANA_MICRO_VERSION;
	r = mana__hwc_call(d, &req, sizeof(req), &resp, sizeof(resp),
			   MANA_QUERY_DEV_CONFIG_RESP_V1_SIZE);
	if (r < 0)
		return r;
	if (resp.max_num_vports == 0)
		return -ENOTSUP;
	d->mtu = resp.adapter_mtu; /* 0 unless the device answered v2 or later */
	return 0;
}

int mana__query_vport(struct mana_dev *d)
{
	struct mana_query_vport_cfg_req req = {0};
	struct mana_query_vport_cfg_resp resp;
	int r;

	mana__req_init(d, &req.hdr, MANA_QUERY_VPORT_CONFIG, sizeof(req), sizeof(resp));
	req.vport_index = 0;
	r = mana__hwc_call(d, &req, sizeof(req), &resp, sizeof(resp), sizeof(resp));
	if (r < 0)
		return r;
	if (resp.max_num_sq == 0 || resp.max_num_rq == 0 || resp.vport == MANA_INVALID_HANDLE)
		return -EPROTO;
	memcpy(d->mac, resp.mac_addr, sizeof(d->mac));
	d->vport = resp.vport;
	if (d->max_queues > resp.max_num_sq)
		d->max_queues = resp.max_num_sq;
	if (d->max_queues > resp.max_num_rq)
		d->max_queues = resp.max_num_rq;
	return 0;
}

static int config_vport_tx(struct mana_dev *d)
{
	struct mana_config_vport_req req = {0};
	struct mana_config_vport_resp resp;
	int r;

	mana__req_init(d, &req.hdr, MANA_CONFIG_VPORT_TX, sizeof(req), sizeof(resp));
	req.vport = d->vport;
	req.pdid = d->pdid;
	req.doorbell_pageid = d->db_id;
	r = mana__hwc_call(d, &req, sizeof(req), &resp, sizeof(resp), sizeof(resp));
	if (r < 0)
		return r;
	if (resp.tx_vport_offset > 0xfffu)
		return -EPROTO; /* the long OOB has 12 bits for it */
	d->tx_vport_offset = resp.tx_vport_offset;
	d->tx_short_form = resp.short_form_allowed && resp.tx_vport_offset <= 0xffu;
	d->tx_wqe_size =
	    mana__wqe_size(d->tx_short_form ? GDMA_INLINE_OOB_SMALL : GDMA_INLINE_OOB_LARGE);
	return 0;
}

/* One WQ object: the WQ and its CQ, each a one-page queue in its own DMA region. */
static int create_wq_obj(struct mana_dev *d, struct mana_queue *q, bool is_sq)
{
	struct mana_create_wqobj_req req = {0};
	struct mana_create_wqobj_resp resp;
	struct mana_wq *wq = is_sq ? &q->sq : &q->rq;
	struct mana_cq *cq = is_sq ? &q->tx_cq : &q->rx_cq;
	uint64_t wq_off, cq_off, wq_iova, cq_iova, wq_region, cq_region;
	uint8_t *wq_va, *cq_va;
	int r;

	wq_off = mana__queue_off(q->index, is_sq ? MANA_PART_SQ : MANA_PART_RQ);
	cq_off = mana__queue_off(q->index, is_sq ? MANA_PART_TX_CQ : MANA_PART_RX_CQ);
	wq_va = mana__mem_va(d, wq_off);
	wq_iova = mana__mem_iova(d, wq_off);
	cq_va = mana__mem_va(d, cq_off);
	cq_iova = mana__mem_iova(d, cq_off);
	r = mana__dma_region(d, wq_iova, MANA_QUEUE_BYTES, &wq_region);
	if (r == 0)
		r = mana__dma_region(d, cq_iova, MANA_QUEUE_BYTES, &cq_region);
	if (r < 0)
		return r;
	mana__req_init(d, &req.hdr, MANA_CREATE_WQ_OBJ, sizeof(req), sizeof(resp));
	req.vport = d->vport;
	req.wq_type = is_sq ? GDMA_QUEUE_SQ : GDMA_QUEUE_RQ;
	req.wq_gdma_region = wq_region;
	req.cq_gdma_region = cq_region;
	req.wq_size = MANA_QUEUE_BYTES;
	req.cq_size = MANA_QUEUE_BYTES;
	req.cq_parent_qid = q->eq.id;
	r = mana__hwc_call(d, &req, sizeof(req), &resp, sizeof(resp), sizeof(resp));
	if (r < 0)
		return r;
	if (resp.wq_id >= MANA_WQ_ID_LIMIT || resp.cq_id >= MANA_WQ_ID_LIMIT ||
	    resp.wq_obj == MANA_INVALID_HANDLE)
		return -EPROTO;
	*wq = (struct mana_wq){.va = wq_va,
			       .size = MANA_QUEUE_BYTES,
			       .id = resp.wq_id,
			       .db_page = d->db_id,
			       .is_sq = is_sq};
	mana__cq_init(cq, cq_va, MANA_QUEUE_BYTES, false);
	cq->id = resp.cq_id;
	cq->db_page = d->db_id;
	if (is_sq)
		q->sq_obj = resp.wq_obj;
	else
		q->rq_obj = resp.wq_obj;
	return 0;
}

static int post_rx(struct mana_queue *q, uint32_t buf)
{
	uint8_t oob[GDMA_INLINE_OOB_SMALL] = {0};
	struct gdma_sge sge = {.address = q->rx_buf_iova + (uint64_t)buf * MANA_BUF_SIZE,
			       .mem_key = q->dev->gpa_mkey,
			       .size = MANA_BUF_SIZE};
	int r = mana__wq_post(&q->rq, oob, sizeof(oob), &sge);

	return r < 0 ? r : 0;
}

int mana__rx_repost(struct mana_queue *q)
{
	int r = post_rx(q, q->rx_done % MANA_QUEUE_DEPTH);

	q->rx_done++;
	q->rq.head += MANA_RX_WQE_SIZE;
	return r;
}

static int queue_setup(struct mana_dev *d, struct mana_queue *q)
{
	int r;

	r = create_wq_obj(d, q, true);
	if (r == 0)
		r = create_wq_obj(d, q, false);
	if (r < 0)
		return r;
	if (q->tx_cq.id == q->rx_cq.id)
		return -EPROTO; /* completions would be ambiguous */
	for (uint32_t i = 0; i < MANA_QUEUE_DEPTH && r == 0; i++)
		r = post_rx(q, i);
	if (r < 0)
		return r;
	mana__wq_doorbell(d, &q->rq);
	mana__cq_doorbell(d, &q->tx_cq, true);
	mana__cq_doorbell(d, &q->rx_cq, true);
	mana__cq_doorbell(d, &q->eq, true);
	return 0;
}

static int config_vport_rx(struct mana_dev *d)
{
	struct {
		struct mana_cfg_rx_steer_req req;
		uint64_t table[MANA_INDIRECT_TABLE_SIZE];
	} m = {0};
	struct gdma_general_resp resp;

	mana__req_init(d, &m.req.hdr, MANA_CONFIG_VPORT_RX, sizeof(m), sizeof(resp));
	m.req.vport = d->vport;
	m.req.num_indir_entries = MANA_INDIRECT_TABLE_SIZE;
	m.req.indir_tab_offset = sizeof(m.req);
	m.req.rx_enable = 1;
	m.req.rss_enable = 1;
	m.req.update_default_rxobj = 1;
	m.req.update_hashkey = 1;
	m.req.update_indir_tab = 1;
	m.req.default_rxobj = d->q[0].rq_obj;
	memcpy(m.req.hashkey, rss_key, sizeof(rss_key));
	for (unsigned i = 0; i < MANA_INDIRECT_TABLE_SIZE; i++)
		m.table[i] = d->q[i % d->nq].rq_obj;
	return mana__hwc_call(d, &m, sizeof(m), &resp, sizeof(resp), sizeof(resp));
}

int mana__vport_setup(struct mana_dev *d)
{
	int r = query_dev_config(d);

	if (r == 0)
		r = mana__query_vport(d);
	if (r == 0)
		r = config_vport_tx(d);
	if (r < 0)
		return r;
	d->nq = d->max_queues;
	for (unsigned i = 0; i < d->nq; i++) {
		r = queue_setup(d, &d->q[i]);
		if (r < 0)
			return r;
	}
	return config_vport_rx(d);
}
