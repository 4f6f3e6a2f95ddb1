/* SPDX-License-Identifier: MIT */
#include "sim_netvsc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "defs/hv_defs.h"
#include "defs/vmbus_ring_defs.h"

#define SIM_NET_REQ_ID 0x4E000000ull /* trans_ids of sim_net_request */
#define NVSP_ACK_LEN 8u		     /* type + status: what Linux's ack carries */

int sim_net_open(struct sim_guest *g, const struct vmbus_msg_offer_channel *offer,
		 uint64_t first_pfn, uint32_t npages, uint32_t send_pages, struct sim_net *n)
{
	memset(n, 0, sizeof(*n));
	n->g = g;
	n->queue = calloc(SIM_NET_QUEUE, sizeof(*n->queue));
	if (!n->queue)
		return -ENOMEM;
	int r = sim_guest_chan_open(g, offer, first_pfn, npages, send_pages, &n->ch[0]);
	if (r != 0) {
		free(n->queue);
		n->queue = NULL;
		return r;
	}
	n->nchans = 1;
	return 0;
}

void sim_net_close(struct sim_net *n)
{
	for (unsigned i = n->nchans; i-- > 0;)
		if (n->ch[i].relid)
			(void)sim_guest_chan_close(n->g, &n->ch[i]);
	free(n->queue);
	n->queue = NULL;
}

static int signal_host(struct sim_net *n, unsigned c, int r)
{
	if (r == 1) {
		r = sim_guest_signal(n->g, n->ch[c].conn_id);
		if (r != HV_STATUS_SUCCESS)
			return r < 0 ? r : -EIO;
	}
	return r < 0 ? r : 0;
}

static void pause_us(long us)
{
	nanosleep(&(struct timespec){.tv_nsec = us * 1000}, NULL);
}

/* Retries a send the ring has no room for yet: the host drains it on its own. */
#define RETRY_FULL(expr)                                                                           \
	({                                                                                         \
		int r_;                                                                            \
		for (int i_ = 0; (r_ = (expr)) == -EAGAIN && i_ < SIM_GUEST_WAIT_MS * 10; i_++)    \
			pause_us(100);                                                             \
		r_;                                                                                \
	})

int sim_net_send_raw(struct sim_net *n, unsigned c, uint64_t trans_id, bool want_completion,
		     const void *msg, uint32_t len)
{
	if (c >= n->nchans)
		return -EINVAL;
	return signal_host(
	    n, c,
	    vmbus_ring_send_inband(&n->ch[c].out, trans_id,
				   want_completion ? VMBUS_PKT_FLAG_COMPLETION_REQUESTED : 0, msg,
				   len));
}

int sim_net_send_ack(struct sim_net *n, unsigned c, uint64_t trans_id, uint32_t status)
{
	struct netvsp_message m = {.type = NETVSP_MSG_SEND_RNDIS_PKT_COMPLETE};
	m.rndis_pkt_complete.status = status;
	if (c >= n->nchans)
		return -EINVAL;
	return signal_host(
	    n, c,
	    RETRY_FULL(vmbus_ring_send_completion(&n->ch[c].out, trans_id, &m, NVSP_ACK_LEN)));
}

int sim_net_send_gpa(struct sim_net *n, unsigned c, uint64_t trans_id, const void *msg,
		     uint32_t len, const struct vmbus_ring_gpa *ranges, uint32_t nranges)
{
	if (c >= n->nchans)
		return -EINVAL;
	return signal_host(n, c,
			   vmbus_ring_send_gpa_direct(&n->ch[c].out, trans_id,
						      VMBUS_PKT_FLAG_COMPLETION_REQUESTED, ranges,
						      nranges, msg, len));
}

/* ---- receiving ---- */

static void section_done(struct sim_net *n, const struct sim_net_msg *m)
{
	uint64_t idx = m->trans_id - SIM_NET_SECTION_ID;
	if (m->trans_id < SIM_NET_SECTION_ID || idx >= n->sections || !n->section_busy[idx])
		return;
	n->section_busy[idx] = false;
	n->sections_busy--;
	n->last_comp_status = m->nvsp.rndis_pkt_complete.status;
	if (n->last_comp_status != NETVSP_STATUS_SUCCESS)
		n->failed_sends++;
}

/* Copies a transfer-page packet's RNDIS message out of the receive buffer. */
static int take_xfer(struct sim_net *n, const struct vmbus_pkt *pkt, struct sim_net_msg *m)
{
	struct vmbus_xfer_page_range range;
	uint64_t size = (uint64_t)n->recv_pages * HV_PAGE_SIZE;

	if (pkt->xfer_pageset_id != NETVSP_RECV_BUF_ID || pkt->range_count != 1)
		return -EPROTO;
	memcpy(&range, pkt->xfer_ranges, sizeof(range));
	if (range.byte_offset > size || range.byte_count > size - range.byte_offset ||
	    range.byte_count > sizeof(m->data))
		return -EPROTO;
	const void *p = sim_guest_mem(n->g, (n->recv_pfn << HV_PAGE_SHIFT) + range.byte_offset,
				      range.byte_count);
	if (!p)
		return -EFAULT;
	memcpy(m->data, p, range.byte_count);
	m->len = range.byte_count;
	m->offset = range.byte_offset;
	return 0;
}

int sim_net_poll(struct sim_net *n, unsigned c, bool wait, struct sim_net_msg *m)
{
	struct sim_guest_chan *ch = &n->ch[c];
	struct vmbus_pkt pkt;
	int r;

	if (c >= n->nchans)
		return -EINVAL;
	for (;;) {
		r = vmbus_ring_recv(&ch->in, ch->pkt, sizeof(ch->pkt), &pkt);
		if (r != -EAGAIN)
			break;
		if (!wait)
			return -EAGAIN;
		if (vmbus_ring_unmask_interrupts(&ch->in) == 1)
			continue;
		r = sim_guest_wait_sint(n->g);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	memset(&m->nvsp, 0, sizeof(m->nvsp));
	memcpy(&m->nvsp, pkt.payload,
	       pkt.payload_len < sizeof(m->nvsp) ? pkt.payload_len : sizeof(m->nvsp));
	m->chan = c;
	m->trans_id = pkt.trans_id;
	m->len = 0;
	int bad = 0;
	switch (pkt.type) {
	case VMBUS_PKT_COMP:
		m->kind = SIM_NET_COMPLETION;
		break;
	case VMBUS_PKT_DATA_USING_XFER_PAGES:
		m->kind = SIM_NET_RNDIS;
		bad = take_xfer(n, &pkt, m);
		break;
	default:
		m->kind = SIM_NET_INBAND;
		break;
	}
	r = signal_host(n, c, vmbus_ring_recv_commit(&ch->in));
	if (r < 0)
		return r;
	if (m->kind == SIM_NET_COMPLETION)
		section_done(n, m);
	if (m->kind == SIM_NET_RNDIS && !n->no_ack) {
		r = sim_net_send_ack(n, c, m->trans_id, NETVSP_STATUS_SUCCESS);
		if (r < 0)
			return r;
	}
	return bad;
}

int sim_net_wait(struct sim_net *n)
{
	for (unsigned c = 0; c < n->nchans; c++) {
		int r = vmbus_ring_unmask_interrupts(&n->ch[c].in);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	return sim_guest_wait_sint(n->g);
}

/* The next packet on any channel. */
static int pump(struct sim_net *n, bool wait, struct sim_net_msg *m)
{
	for (;;) {
		for (unsigned c = 0; c < n->nchans; c++) {
			int r = sim_net_poll(n, c, false, m);
			if (r != -EAGAIN)
				return r;
		}
		if (!wait)
			return -EAGAIN;
		int r = sim_net_wait(n);
		if (r < 0)
			return r;
	}
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* A received RNDIS data message as a frame; false if it is none (or lies). */
static bool to_frame(const struct sim_net_msg *m, struct sim_net_frame *f)
{
	struct rndis_header h;
	struct rndis_packet p;

	if (m->len < sizeof(h) + sizeof(p))
		return false;
	memcpy(&h, m->data, sizeof(h));
	memcpy(&p, m->data + sizeof(h), sizeof(p));
	if (h.type != RNDIS_MSG_PACKET || h.len > m->len)
		return false;
	uint32_t blen = h.len - RNDIS_HEADER_SIZE;
	if (p.data_offset > blen || p.data_len > blen - p.data_offset ||
	    p.data_len > sizeof(f->data))
		return false;
	f->chan = m->chan;
	f->len = p.data_len;
	f->csum_info = 0;
	memcpy(f->data, m->data + RNDIS_HEADER_SIZE + p.data_offset, p.data_len);
	if (p.ppi_offset <= blen && p.ppi_len <= blen - p.ppi_offset) {
		const uint8_t *ppi = m->data + RNDIS_HEADER_SIZE + p.ppi_offset;
		for (uint32_t pos = 0; pos + sizeof(struct rndis_ppi) <= p.ppi_len;) {
			struct rndis_ppi e;
			memcpy(&e, ppi + pos, sizeof(e));
			if (e.size < sizeof(e) || e.size > p.ppi_len - pos)
				break;
			if (e.type == RNDIS_PPI_TCPIP_CHKSUM && e.offset + 4 <= e.size)
				f->csum_info = get32(ppi + pos + e.offset);
			pos += e.size;
		}
	}
	return true;
}

/* Something arrived while a helper waits for another thing: keep frames, count
 * indications. */
static void set_aside(struct sim_net *n, const struct sim_net_msg *m)
{
	if (m->kind != SIM_NET_RNDIS)
		return;
	if (m->len >= 4 && get32(m->data) == RNDIS_MSG_INDICATE) {
		n->indications++;
		return;
	}
	if (n->qlen == SIM_NET_QUEUE) {
		n->dropped++;
		return;
	}
	if (to_frame(m, &n->queue[(n->qhead + n->qlen) % SIM_NET_QUEUE]))
		n->qlen++;
}

int sim_net_request(struct sim_net *n, unsigned c, const struct netvsp_message *req,
		    struct netvsp_message *ans)
{
	static uint64_t next_id = SIM_NET_REQ_ID;
	struct sim_net_msg *m = &n->scratch;
	uint64_t id = next_id++;
	int r = sim_net_send_raw(n, c, id, true, req, sizeof(*req));
	if (r < 0)
		return r;
	for (;;) {
		r = sim_net_poll(n, c, true, m);
		if (r < 0)
			return r;
		if (m->kind == SIM_NET_COMPLETION && m->trans_id == id)
			break;
		set_aside(n, m);
	}
	if (ans)
		*ans = m->nvsp;
	return 0;
}

/* ---- NVSP ---- */

static int buffer(struct sim_net *n, uint32_t type, uint16_t id, uint64_t pfn, uint32_t pages,
		  uint32_t *gpadl, struct netvsp_message *ans)
{
	uint64_t *pfns = calloc(pages, sizeof(*pfns));
	if (!pfns)
		return -ENOMEM;
	for (uint32_t i = 0; i < pages; i++)
		pfns[i] = pfn + i;
	int r = sim_guest_gpadl(n->g, n->ch[0].relid, pfns, pages, gpadl);
	free(pfns);
	if (r != 0)
		return r < 0 ? r : -EIO;
	struct netvsp_message req = {.type = type};
	req.send_buf.gpadl = *gpadl;
	req.send_buf.id = id;
	return sim_net_request(n, 0, &req, ans);
}

int sim_net_init_nvsp(struct sim_net *n, uint64_t recv_pfn, uint32_t recv_pages, uint64_t send_pfn,
		      uint32_t send_pages)
{
	static const uint32_t versions[] = {NETVSP_VERSION_61, NETVSP_VERSION_6, NETVSP_VERSION_5,
					    NETVSP_VERSION_4,  NETVSP_VERSION_2, NETVSP_VERSION_1};
	struct netvsp_message req, ans;
	int r;

	for (unsigned i = 0;; i++) {
		if (i == sizeof(versions) / sizeof(versions[0]))
			return -EPROTONOSUPPORT;
		req = (struct netvsp_message){.type = NETVSP_MSG_INIT};
		req.init.min_version = req.init.max_version = versions[i];
		r = sim_net_request(n, 0, &req, &ans);
		if (r < 0)
			return r;
		if (ans.type != NETVSP_MSG_INIT_COMPLETE)
			return -EPROTO;
		if (ans.init_complete.status == NETVSP_STATUS_SUCCESS) {
			n->nvsp_version = versions[i];
			break;
		}
	}
	if (n->nvsp_version >= NETVSP_VERSION_2) {
		req = (struct netvsp_message){.type = NETVSP_MSG_SEND_NDIS_CONFIG};
		req.ndis_config.mtu = 1500 + 14;
		req.ndis_config.capabilities = NETVSP_CAP_IEEE8021Q;
		if (n->nvsp_version >= NETVSP_VERSION_5)
			req.ndis_config.capabilities |= NETVSP_CAP_TEAMING;
		if (n->nvsp_version >= NETVSP_VERSION_61)
			req.ndis_config.capabilities |= NETVSP_CAP_RSC;
		r = sim_net_send_raw(n, 0, 0, false, &req, sizeof(req));
		if (r < 0)
			return r;
	}
	req = (struct netvsp_message){.type = NETVSP_MSG_SEND_NDIS_VER};
	req.ndis_version.major = 6;
	req.ndis_version.minor = n->nvsp_version <= NETVSP_VERSION_4 ? 1 : 30;
	r = sim_net_send_raw(n, 0, 0, false, &req, sizeof(req));
	if (r < 0)
		return r;

	n->recv_pfn = recv_pfn;
	n->recv_pages = recv_pages;
	r = buffer(n, NETVSP_MSG_SEND_RECV_BUF, NETVSP_RECV_BUF_ID, recv_pfn, recv_pages,
		   &n->recv_gpadl, &ans);
	if (r < 0)
		return r;
	const struct netvsp_recv_buf_section *s = &ans.recv_buf_complete.section;
	if (ans.type != NETVSP_MSG_SEND_RECV_BUF_COMPLETE ||
	    ans.recv_buf_complete.status != NETVSP_STATUS_SUCCESS ||
	    ans.recv_buf_complete.num_sections != 1 || s->offset != 0 || s->sub_alloc_size < 68 ||
	    (uint64_t)s->sub_alloc_size * s->num_sub_allocs > (uint64_t)recv_pages * HV_PAGE_SIZE)
		return -EPROTO;
	n->sub_alloc_size = s->sub_alloc_size;
	n->num_sub_allocs = s->num_sub_allocs;

	n->send_pfn = send_pfn;
	n->send_pages = send_pages;
	r = buffer(n, NETVSP_MSG_SEND_SEND_BUF, NETVSP_SEND_BUF_ID, send_pfn, send_pages,
		   &n->send_gpadl, &ans);
	if (r < 0)
		return r;
	if (ans.type != NETVSP_MSG_SEND_SEND_BUF_COMPLETE ||
	    ans.send_buf_complete.status != NETVSP_STATUS_SUCCESS ||
	    ans.send_buf_complete.section_size < 68)
		return -EPROTO;
	n->section_size = ans.send_buf_complete.section_size;
	n->sections = send_pages * HV_PAGE_SIZE / n->section_size;
	if (n->sections > SIM_NET_MAX_SECTIONS)
		n->sections = SIM_NET_MAX_SECTIONS;
	return (int)n->nvsp_version;
}

/* ---- RNDIS ---- */

int sim_net_send_rndis_pkt(struct sim_net *n, unsigned c, uint64_t trans_id, uint32_t channel_type,
			   uint32_t index, uint32_t size)
{
	struct netvsp_message m = {.type = NETVSP_MSG_SEND_RNDIS_PKT};
	m.rndis_pkt.channel_type = channel_type;
	m.rndis_pkt.section_index = index;
	m.rndis_pkt.section_size = size;
	return sim_net_send_raw(n, c, trans_id, true, &m, sizeof(m));
}

int sim_net_send_section(struct sim_net *n, unsigned c, uint32_t channel_type, const void *msg,
			 uint32_t len)
{
	uint32_t idx = n->next_section;

	if (len > n->section_size)
		return -EMSGSIZE;
	if (n->sections_busy == n->sections)
		return -EAGAIN;
	while (n->section_busy[idx])
		idx = (idx + 1) % n->sections;
	void *p = sim_guest_mem(
	    n->g, (n->send_pfn << HV_PAGE_SHIFT) + (uint64_t)idx * n->section_size, len);
	if (!p)
		return -EFAULT;
	memcpy(p, msg, len);
	int r = sim_net_send_rndis_pkt(n, c, SIM_NET_SECTION_ID + idx, channel_type, idx, len);
	if (r < 0)
		return r;
	n->section_busy[idx] = true;
	n->sections_busy++;
	n->next_section = (idx + 1) % n->sections;
	return (int)idx;
}

int sim_net_rndis_request(struct sim_net *n, void *req, uint32_t len, uint8_t *ans,
			  uint32_t ans_cap)
{
	struct sim_net_msg *m = &n->scratch;
	uint32_t id = ++n->req_id;
	int r;

	if (len < 12)
		return -EINVAL;
	memcpy((uint8_t *)req + RNDIS_HEADER_SIZE, &id, sizeof(id));
	while ((r = sim_net_send_section(n, 0, NETVSP_CHANNEL_CONTROL, req, len)) == -EAGAIN) {
		r = pump(n, true, m);
		if (r < 0)
			return r;
		set_aside(n, m);
	}
	if (r < 0)
		return r;
	uint32_t section = (uint32_t)r;
	for (;;) {
		r = sim_net_poll(n, 0, true, m);
		if (r < 0)
			return r;
		if (m->kind == SIM_NET_COMPLETION && m->trans_id == SIM_NET_SECTION_ID + section &&
		    n->last_comp_status != NETVSP_STATUS_SUCCESS)
			return -EREMOTEIO; /* refused: no answer follows */
		if (m->kind == SIM_NET_RNDIS && m->len >= 12 &&
		    (get32(m->data) & RNDIS_MSG_COMPLETION) && get32(m->data + 8) == id) {
			if (m->len > ans_cap)
				return -EMSGSIZE;
			memcpy(ans, m->data, m->len);
			return (int)m->len;
		}
		set_aside(n, m);
	}
}

int sim_net_query(struct sim_net *n, uint32_t oid, void *info, uint32_t cap, uint32_t *info_len)
{
	struct {
		struct rndis_header h;
		struct rndis_oid_req q;
	} __attribute__((packed)) req = {{RNDIS_MSG_QUERY, sizeof(req)}, {.oid = oid}};
	uint8_t ans[SIM_NET_FRAME_MAX];
	struct rndis_query_cmplt c;

	int r = sim_net_rndis_request(n, &req, sizeof(req), ans, sizeof(ans));
	if (r < 0)
		return r;
	if ((uint32_t)r < RNDIS_HEADER_SIZE + sizeof(c) || get32(ans) != RNDIS_MSG_QUERY_C)
		return -EPROTO;
	memcpy(&c, ans + RNDIS_HEADER_SIZE, sizeof(c));
	if (c.status != RNDIS_STATUS_SUCCESS)
		return (int)c.status;
	uint32_t blen = (uint32_t)r - RNDIS_HEADER_SIZE;
	if (c.info_offset < sizeof(c) || c.info_offset > blen || c.info_len > blen - c.info_offset)
		return -EPROTO;
	*info_len = c.info_len;
	memcpy(info, ans + RNDIS_HEADER_SIZE + c.info_offset, c.info_len < cap ? c.info_len : cap);
	return 0;
}

int sim_net_set(struct sim_net *n, uint32_t oid, const void *info, uint32_t len)
{
	struct {
		struct rndis_header h;
		struct rndis_oid_req q;
		uint8_t info[1024];
	} __attribute__((packed)) req = {{RNDIS_MSG_SET, 0}, {.oid = oid}, {0}};
	uint8_t ans[256];
	struct rndis_status_cmplt c;
	uint32_t total = RNDIS_HEADER_SIZE + sizeof(req.q) + len;

	if (len > sizeof(req.info))
		return -EMSGSIZE;
	req.h.len = total;
	req.q.info_len = len;
	req.q.info_offset = sizeof(req.q);
	memcpy(req.info, info, len);
	int r = sim_net_rndis_request(n, &req, total, ans, sizeof(ans));
	if (r < 0)
		return r;
	if ((uint32_t)r < RNDIS_HEADER_SIZE + sizeof(c) || get32(ans) != RNDIS_MSG_SET_C)
		return -EPROTO;
	memcpy(&c, ans + RNDIS_HEADER_SIZE, sizeof(c));
	return (int)c.status;
}

int sim_net_init_rndis(struct sim_net *n)
{
	struct {
		struct rndis_header h;
		struct rndis_init_req i;
	} __attribute__((packed)) init = {{RNDIS_MSG_INIT, sizeof(init)},
					  {.major = RNDIS_MAJOR_VERSION,
					   .minor = RNDIS_MINOR_VERSION,
					   .max_transfer_size = 0x4000}};
	uint8_t ans[256], info[512];
	struct rndis_init_cmplt ic;
	uint32_t len = 0;

	int r = sim_net_rndis_request(n, &init, sizeof(init), ans, sizeof(ans));
	if (r < 0)
		return r;
	if ((uint32_t)r < RNDIS_HEADER_SIZE + sizeof(ic) || get32(ans) != RNDIS_MSG_INIT_C)
		return -EPROTO;
	memcpy(&ic, ans + RNDIS_HEADER_SIZE, sizeof(ic));
	if (ic.status != RNDIS_STATUS_SUCCESS || ic.medium != RNDIS_MEDIUM_802_3)
		return -EPROTO;
	if (sim_net_query(n, RNDIS_OID_GEN_MAXIMUM_FRAME_SIZE, info, sizeof(info), &len) != 0 ||
	    len != 4)
		return -EPROTO;
	n->max_frame = get32(info);
	if (sim_net_query(n, RNDIS_OID_802_3_PERMANENT_ADDRESS, info, sizeof(info), &len) != 0 ||
	    len != 6)
		return -EPROTO;
	memcpy(n->mac, info, 6);
	(void)sim_net_query(n, RNDIS_OID_GEN_FRIENDLY_NAME, info, sizeof(info), &len);
	if (sim_net_query(n, RNDIS_OID_TCP_OFFLOAD_HARDWARE_CAPABILITIES, info, sizeof(info),
			  &len) != 0 ||
	    len < NDIS_OFFLOAD_SIZE_6_0)
		return -EPROTO;
	memset(&n->hwcaps, 0, sizeof(n->hwcaps));
	memcpy(&n->hwcaps, info, len < sizeof(n->hwcaps) ? len : sizeof(n->hwcaps));
	n->hwcaps_len = len;
	if (n->hwcaps.header.type != NDIS_OBJECT_TYPE_OFFLOAD || n->hwcaps.header.revision < 1 ||
	    n->hwcaps.header.size < NDIS_OFFLOAD_SIZE_6_0 || n->hwcaps.header.size > len)
		return -EPROTO;
	struct ndis_offload_params op = {
	    .header = {NDIS_OBJECT_TYPE_DEFAULT, 2, sizeof(op)},
	    .ip4_csum = NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED,
	    .tcp4_csum = NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED,
	    .udp4_csum = NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED,
	    .tcp6_csum = NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED,
	    .udp6_csum = NDIS_OFFLOAD_PARAMS_TX_RX_ENABLED,
	    .lsov2_ip4 = NDIS_OFFLOAD_PARAMS_LSOV2_ENABLED,
	    .lsov2_ip6 = NDIS_OFFLOAD_PARAMS_LSOV2_ENABLED,
	};
	if (sim_net_set(n, RNDIS_OID_TCP_OFFLOAD_PARAMETERS, &op, sizeof(op)) != 0)
		return -EPROTO;
	(void)sim_net_query(n, RNDIS_OID_GEN_MEDIA_CONNECT_STATUS, info, sizeof(info), &len);
	if (n->nvsp_version >= NETVSP_VERSION_5) {
		if (sim_net_query(n, RNDIS_OID_GEN_LINK_SPEED, info, sizeof(info), &len) != 0 ||
		    len != 4)
			return -EPROTO;
		n->link_speed = get32(info);
		struct ndis_recv_scale_cap cap;
		if (sim_net_query(n, RNDIS_OID_GEN_RECEIVE_SCALE_CAPABILITIES, info, sizeof(info),
				  &len) == 0 &&
		    len >= sizeof(cap)) {
			memcpy(&cap, info, sizeof(cap));
			n->rss_queues = cap.num_recv_queues;
		}
	}
	uint32_t filter =
	    NDIS_PACKET_TYPE_DIRECTED | NDIS_PACKET_TYPE_ALL_MULTICAST | NDIS_PACKET_TYPE_BROADCAST;
	return sim_net_set(n, RNDIS_OID_GEN_CURRENT_PACKET_FILTER, &filter, sizeof(filter)) == 0
		   ? 0
		   : -EPROTO;
}

/* ---- sub-channels ---- */

int sim_net_subchannels(struct sim_net *n, uint32_t num, struct vmbus_msg_offer_channel *ret_offers)
{
	struct netvsp_message req = {.type = NETVSP_MSG_SUBCHANNEL}, ans;
	req.subchannel.op_or_status = NETVSP_SUBCHANNEL_ALLOCATE;
	req.subchannel.num = num;
	int r = sim_net_request(n, 0, &req, &ans);
	if (r < 0)
		return r;
	if (ans.type != NETVSP_MSG_SUBCHANNEL ||
	    ans.subchannel.op_or_status != NETVSP_STATUS_SUCCESS || ans.subchannel.num > num)
		return -EPROTO;
	for (uint32_t i = 0; i < ans.subchannel.num; i++) {
		struct vmbus_msg_offer_channel m;
		r = sim_guest_expect_msg(n->g, VMBUS_MSG_OFFERCHANNEL, &m, sizeof(m));
		if (r < 0)
			return r;
		if ((size_t)r < sizeof(m) || m.sub_channel_index == 0 ||
		    m.sub_channel_index > ans.subchannel.num)
			return -EPROTO;
		ret_offers[m.sub_channel_index - 1] = m;
	}
	return (int)ans.subchannel.num;
}

int sim_net_open_sub(struct sim_net *n, const struct vmbus_msg_offer_channel *offer,
		     uint64_t first_pfn, uint32_t npages, uint32_t send_pages)
{
	unsigned idx = offer->sub_channel_index;
	if (idx == 0 || idx >= SIM_NET_MAX_CHANS)
		return -ERANGE;
	int r = sim_guest_chan_open(n->g, offer, first_pfn, npages, send_pages, &n->ch[idx]);
	if (r == 0 && idx >= n->nchans)
		n->nchans = idx + 1;
	return r;
}

/* ---- frames ---- */

static uint32_t put_ppi(uint8_t *at, uint32_t type, uint32_t v)
{
	struct rndis_ppi p = {.size = sizeof(p) + 4, .type = type, .offset = sizeof(p)};
	memcpy(at, &p, sizeof(p));
	memcpy(at + sizeof(p), &v, 4);
	return p.size;
}

int sim_net_build_packet(uint8_t *out, uint32_t cap, const void *frame, uint32_t len,
			 const struct sim_net_tx *tx)
{
	uint8_t ppi[64];
	uint32_t ppi_len = 0;

	if (tx && tx->csum)
		ppi_len += put_ppi(ppi + ppi_len, RNDIS_PPI_TCPIP_CHKSUM, tx->csum_v);
	if (tx && tx->lso)
		ppi_len += put_ppi(ppi + ppi_len, RNDIS_PPI_LSO, tx->lso_v);
	struct rndis_packet p = {.data_offset = sizeof(p) + ppi_len,
				 .data_len = len,
				 .ppi_offset = ppi_len ? sizeof(p) : 0,
				 .ppi_len = ppi_len};
	struct rndis_header h = {RNDIS_MSG_PACKET,
				 RNDIS_HEADER_SIZE + (uint32_t)sizeof(p) + ppi_len + len};
	if (h.len > cap)
		return -EMSGSIZE;
	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), &p, sizeof(p));
	memcpy(out + sizeof(h) + sizeof(p), ppi, ppi_len);
	memcpy(out + sizeof(h) + sizeof(p) + ppi_len, frame, len);
	return (int)h.len;
}

int sim_net_send_frame(struct sim_net *n, unsigned c, const void *frame, uint32_t len,
		       const struct sim_net_tx *tx)
{
	uint8_t msg[8192];
	int r = sim_net_build_packet(msg, sizeof(msg), frame, len, tx);
	if (r < 0)
		return r;
	return sim_net_send_section(n, c, NETVSP_CHANNEL_DATA, msg, (uint32_t)r);
}

int sim_net_send_frame_gpa(struct sim_net *n, unsigned c, uint64_t trans_id, uint64_t pfn,
			   const void *frame, uint32_t len, const struct sim_net_tx *tx)
{
	enum { MAX_PAGES = 20 };
	uint64_t pfns[MAX_PAGES];
	struct vmbus_ring_gpa ranges[MAX_PAGES];
	uint32_t cap = MAX_PAGES * HV_PAGE_SIZE;
	uint8_t *msg = sim_guest_mem(n->g, pfn << HV_PAGE_SHIFT, cap);
	if (!msg)
		return -EFAULT;
	int r = sim_net_build_packet(msg, cap, frame, len, tx);
	if (r < 0)
		return r;
	uint32_t total = (uint32_t)r, npages = (total + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE;
	for (uint32_t i = 0; i < npages; i++) {
		pfns[i] = pfn + i;
		ranges[i] = (struct vmbus_ring_gpa){
		    .byte_count = i + 1 < npages ? HV_PAGE_SIZE : total - i * HV_PAGE_SIZE,
		    .pfn_count = 1,
		    .pfns = &pfns[i]};
	}
	struct netvsp_message m = {.type = NETVSP_MSG_SEND_RNDIS_PKT};
	m.rndis_pkt.channel_type = NETVSP_CHANNEL_DATA;
	m.rndis_pkt.section_index = NETVSP_NO_SECTION;
	return sim_net_send_gpa(n, c, trans_id, &m, sizeof(m), ranges, npages);
}

int sim_net_flush(struct sim_net *n)
{
	uint32_t failed = n->failed_sends;
	while (n->sections_busy) {
		int r = pump(n, true, &n->scratch);
		if (r < 0)
			return r;
		set_aside(n, &n->scratch);
	}
	return (int)(n->failed_sends - failed);
}

int sim_net_recv_frame(struct sim_net *n, bool wait, struct sim_net_frame *f)
{
	for (;;) {
		if (n->qlen) {
			*f = n->queue[n->qhead];
			n->qhead = (n->qhead + 1) % SIM_NET_QUEUE;
			n->qlen--;
			return 0;
		}
		int r = pump(n, wait, &n->scratch);
		if (r < 0)
			return r;
		set_aside(n, &n->scratch);
	}
}

/* ---- frame builders ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t sim_net_udp_frame(uint8_t *f, const struct sim_net_udp *u, const void *data, uint32_t len,
			   bool csum_partial)
{
	uint8_t *ip = f + 14, *udp = f + 34;
	memcpy(f, u->dst, 6);
	memcpy(f + 6, u->src, 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, 28);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(28 + len));
	ip[8] = 64;
	ip[9] = 17;
	put16(ip + 12, (uint16_t)(u->sip >> 16));
	put16(ip + 14, (uint16_t)u->sip);
	put16(ip + 16, (uint16_t)(u->dip >> 16));
	put16(ip + 18, (uint16_t)u->dip);
	put16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
	put16(udp, u->sport);
	put16(udp + 2, u->dport);
	put16(udp + 4, (uint16_t)(8 + len));
	memmove(udp + 8, data, len);
	uint32_t pseudo = sum16(ip + 12, 8, 0) + 17 + 8 + len;
	if (csum_partial)
		put16(udp + 6, fold(pseudo));
	else
		put16(udp + 6, (uint16_t)~fold(sum16(udp, 8 + len, pseudo)));
	return 42 + len;
}
