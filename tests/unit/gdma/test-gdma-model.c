/* SPDX-License-Identifier: MIT */
/*
 * The GDMA/MANA test device model driven in-process by a minimal driver written here
 * from the wire definitions: plain memory stands for DMA (iova = offset into it),
 * the BAR is reached through gdma_model_bar_read/write, interrupts and transmitted
 * frames are recorded. The driver follows Linux's order: SMC ESTABLISH_HWC, INIT
 * EQEs, GDMA core requests, an EQ with a test event, MANA vPort commands, WQ objects,
 * then RX and TX; hostile cases check that bad driver values are refused or dropped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "defs/gdma_defs.h"
#include "defs/mana_defs.h"
#include "gdma_model.h"
#include "test.h"

#define MEM_SIZE (4u << 20)
#define PAGE GDMA_PAGE_SIZE

static const uint8_t test_mac[6] = {0x00, 0x15, 0x5d, 0x12, 0x34, 0x56};

/* The host side: memory, interrupts, the wire. */
static struct {
	uint8_t *mem;
	uint64_t next_free;
	uint32_t irqs[GDMA_MODEL_MSIX_MAX];
	uint32_t irq_total;
	uint8_t frame[GDMA_MODEL_MAX_FRAME + 4];
	size_t frame_len;
	uint32_t frames;
} host;

static void *host_dma_ptr(void *ctx, uint64_t iova, size_t len)
{
	(void)ctx;
	if (iova > MEM_SIZE || len > MEM_SIZE - iova)
		return NULL;
	return host.mem + iova;
}

static void host_irq(void *ctx, uint32_t vector)
{
	(void)ctx;
	ASSERT_LT(vector, GDMA_MODEL_MSIX_MAX);
	host.irqs[vector]++;
	host.irq_total++;
}

static void host_frame_out(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	ASSERT_LE(len, sizeof(host.frame));
	memcpy(host.frame, data, len);
	host.frame_len = len;
	host.frames++;
}

static uint64_t alloc_pages(uint32_t bytes)
{
	uint64_t iova = host.next_free;

	host.next_free += (bytes + PAGE - 1) & ~(PAGE - 1);
	ASSERT_LE(host.next_free, MEM_SIZE);
	memset(host.mem + iova, 0, bytes);
	return iova;
}

/* A queue as the driver sees it: CQ/EQ head counts entries from `entries`, WQ head is bytes. */
struct dq {
	uint64_t iova;
	uint32_t size;
	uint32_t id;
	uint32_t head;
};

struct drv {
	struct gdma_model *m;
	uint64_t db_base;
	uint64_t shm;
	struct dq eq, cq, rq, sq; /* HWC */
	uint64_t req_buf, resp_buf;
	uint16_t msg_id;
	uint32_t pdid, mkey;
	/* MANA */
	struct dq mana_eq, tx_sq, tx_cq, rx_rq, rx_cq;
	uint64_t vport, tx_obj, rx_obj;
};

static void bar_w64(struct drv *d, uint64_t off, uint64_t v)
{
	ASSERT_OK(gdma_model_bar_write(d->m, off, &v, sizeof(v)));
}

static uint64_t bar_r64(struct drv *d, uint64_t off)
{
	uint64_t v;

	ASSERT_OK(gdma_model_bar_read(d->m, off, &v, sizeof(v)));
	return v;
}

static void ring(struct drv *d, uint32_t off, uint64_t val)
{
	bar_w64(d, d->db_base + off, val);
}

static void dq_init(struct dq *q, uint32_t size, uint32_t entry_size)
{
	q->iova = alloc_pages(size);
	q->size = size;
	q->head = entry_size ? size / entry_size : 0;
}

/* Linux's owner-bit check: new entry iff owner != ((head / n) - 1) & 7. */
static bool poll_entry(struct dq *q, uint32_t entry_size, void *ret, uint32_t owner_shift)
{
	uint32_t n = q->size / entry_size;
	uint8_t *p = host.mem + q->iova + (q->head % n) * entry_size;
	uint32_t info, owner;

	memcpy(&info, p + entry_size - 4, sizeof(info));
	owner = (info >> owner_shift) & GDMA_OWNER_MASK;
	if (owner == ((q->head / n - 1) & GDMA_OWNER_MASK))
		return false;
	ASSERT_EQ(owner, (q->head / n) & GDMA_OWNER_MASK); /* no overflow */
	memcpy(ret, p, entry_size);
	q->head++;
	return true;
}

static bool poll_eqe(struct dq *q, struct gdma_eqe *ret)
{
	return poll_entry(q, GDMA_EQE_SIZE, ret, GDMA_EQE_OWNER_SHIFT);
}

static bool poll_cqe(struct dq *q, struct gdma_cqe *ret)
{
	return poll_entry(q, GDMA_CQE_SIZE, ret, GDMA_CQE_OWNER_SHIFT);
}

static void arm_eq(struct drv *d, struct dq *q)
{
	ring(d, GDMA_DB_OFF_EQ, GDMA_DB_EQ(q->id, q->head % ((q->size / 16) << 3), true));
}

static void arm_cq(struct drv *d, struct dq *q)
{
	ring(d, GDMA_DB_OFF_CQ, GDMA_DB_CQ(q->id, q->head % ((q->size / 64) << 3), true));
}

/* Writes a WQE at the producer offset, wrapping at the end of the queue. */
static uint32_t wq_post(struct dq *wq, const void *oob, uint32_t oob_size,
			const struct gdma_sge *sgl, uint32_t n)
{
	uint8_t buf[GDMA_MAX_SQE_SIZE] = {0};
	struct gdma_wqe_hdr hdr = {0};
	uint32_t code = oob_size == 8	 ? GDMA_WQE_OOB_CODE_8
			: oob_size == 24 ? GDMA_WQE_OOB_CODE_24
					 : GDMA_WQE_OOB_CODE_32;
	uint32_t sgl_off = (8 + oob_size + 15) & ~15u;
	uint32_t size = (sgl_off + n * 16 + 31) & ~31u;
	uint32_t offset = wq->head & (wq->size - 1);

	ASSERT_LE(size, sizeof(buf));
	hdr.params = GDMA_WQE_PARAMS(n, code);
	memcpy(buf, &hdr, sizeof(hdr));
	if (oob)
		memcpy(buf + 8, oob, oob_size);
	memcpy(buf + sgl_off, sgl, n * sizeof(*sgl));
	for (uint32_t i = 0; i < size; i++)
		host.mem[wq->iova + ((wq->head + i) & (wq->size - 1))] = buf[i];
	wq->head += size;
	return offset;
}

/* One completion event on @eq naming @cq_id, then re-armed. */
static void expect_completion(struct drv *d, struct dq *eq, uint32_t cq_id)
{
	struct gdma_eqe eqe;

	ASSERT_TRUE(poll_eqe(eq, &eqe));
	ASSERT_EQ(GDMA_EQE_TYPE(eqe.info), GDMA_EQE_COMPLETION);
	ASSERT_EQ(eqe.details[0] & 0xffffff, cq_id);
	ASSERT_FALSE(poll_eqe(eq, &eqe));
	arm_eq(d, eq);
}

/*
 * Sends one HWC request the way Linux does (post the RQ buffer, then the SQ entry
 * with an hwc_tx_oob) and collects the response. @sge_len overrides the SGE length
 * when non-zero. Returns the response status.
 */
static uint32_t hwc_call_sge(struct drv *d, void *req, uint32_t req_len, uint32_t sge_len,
			     void *resp, uint32_t resp_cap)
{
	struct gdma_req_hdr *h = req;
	struct gdma_hwc_tx_oob oob = {0};
	struct gdma_sge rsge = {d->resp_buf, d->mkey, GDMA_HWC_MAX_RESPONSE_SIZE};
	struct gdma_sge ssge = {d->req_buf, d->mkey, sge_len ? sge_len : req_len};
	struct gdma_hwc_rx_oob rx_oob;
	struct gdma_resp_hdr rh;
	struct gdma_cqe cqe;
	uint32_t irqs = host.irqs[0], rq_off;

	h->req.hwc_msg_id = d->msg_id;
	memset(host.mem + d->resp_buf, 0xEE, GDMA_HWC_MAX_RESPONSE_SIZE);
	rq_off = wq_post(&d->rq, NULL, 8, &rsge, 1);
	ring(d, GDMA_DB_OFF_RQ, GDMA_DB_WQ(d->rq.id, d->rq.head));
	memcpy(host.mem + d->req_buf, req, req_len);
	oob.vscq = d->cq.id;
	oob.vsq = d->sq.id;
	wq_post(&d->sq, &oob, sizeof(oob), &ssge, 1);
	ring(d, GDMA_DB_OFF_SQ, GDMA_DB_WQ(d->sq.id, d->sq.head));

	/* One interrupt: the CQ and EQ were armed, the second CQE finds the CQ disarmed. */
	ASSERT_EQ(host.irqs[0], irqs + 1);
	expect_completion(d, &d->eq, d->cq.id);
	ASSERT_TRUE(poll_cqe(&d->cq, &cqe));
	ASSERT_TRUE(cqe.info & GDMA_CQE_IS_SQ);
	ASSERT_EQ(GDMA_CQE_WQ_NUM(cqe.info), d->sq.id);
	ASSERT_TRUE(poll_cqe(&d->cq, &cqe));
	ASSERT_FALSE(cqe.info & GDMA_CQE_IS_SQ);
	ASSERT_EQ(GDMA_CQE_WQ_NUM(cqe.info), d->rq.id);
	ASSERT_FALSE(poll_cqe(&d->cq, &cqe));
	arm_cq(d, &d->cq);

	memcpy(&rx_oob, cqe.data, sizeof(rx_oob));
	ASSERT_EQ(rx_oob.wqe_offset, rq_off);
	ASSERT_GE(rx_oob.tx_oob_data_size, sizeof(rh));
	ASSERT_LE(rx_oob.tx_oob_data_size, GDMA_HWC_MAX_RESPONSE_SIZE);
	memcpy(&rh, host.mem + d->resp_buf, sizeof(rh));
	ASSERT_EQ(rh.response.hwc_msg_id, d->msg_id);
	ASSERT_EQ(rh.response.msg_type, h->req.msg_type);
	ASSERT_EQ(rh.response.msg_size, rx_oob.tx_oob_data_size);
	ASSERT_EQ(rh.activity_id, h->activity_id);
	ASSERT_EQ(rh.dev_id.type, h->dev_id.type);
	ASSERT_GE(rh.response.msg_version, GDMA_MESSAGE_V1);
	if (resp) {
		memset(resp, 0, resp_cap);
		memcpy(resp, host.mem + d->resp_buf,
		       rx_oob.tx_oob_data_size < resp_cap ? rx_oob.tx_oob_data_size : resp_cap);
	}
	d->msg_id = (uint16_t)((d->msg_id + 1) & 7);
	return rh.status;
}

static uint32_t hwc_call(struct drv *d, void *req, uint32_t req_len, void *resp, uint32_t resp_cap)
{
	return hwc_call_sge(d, req, req_len, 0, resp, resp_cap);
}

static void init_hdr(struct gdma_req_hdr *h, uint32_t code, uint32_t req_len, uint32_t resp_len,
		     uint16_t dev_type)
{
	static uint32_t activity;

	h->req.hdr_type = GDMA_STANDARD_HEADER_TYPE;
	h->req.msg_type = code;
	h->req.msg_version = GDMA_MESSAGE_V1;
	h->req.msg_size = req_len;
	h->resp.msg_type = code;
	h->resp.msg_version = GDMA_MESSAGE_V1;
	h->resp.msg_size = resp_len;
	h->dev_id.type = dev_type;
	h->activity_id = ++activity;
}

static struct drv *drv_new(void)
{
	struct gdma_model_config cfg = {.max_queues = 4, .msix_count = 8};
	struct gdma_model_ops ops = {host_dma_ptr, host_irq, host_frame_out};
	struct drv *d = calloc(1, sizeof(*d));

	ASSERT_TRUE(d);
	if (!host.mem) {
		host.mem = aligned_alloc(PAGE, MEM_SIZE);
		ASSERT_TRUE(host.mem);
	}
	memset(host.irqs, 0, sizeof(host.irqs));
	host.irq_total = 0;
	host.frames = 0;
	host.next_free = PAGE; /* iova 0 stays unused */
	memcpy(cfg.mac, test_mac, sizeof(cfg.mac));
	d->m = gdma_model_new(&cfg, &ops, NULL);
	ASSERT_TRUE(d->m);
	return d;
}

static void drv_free(struct drv *d)
{
	gdma_model_free(d->m);
	free(d);
}

static void smc_write(struct drv *d, const void *msg)
{
	uint32_t dw[8];

	memcpy(dw, msg, sizeof(dw));
	for (unsigned int i = 0; i < 8; i++)
		ASSERT_OK(gdma_model_bar_write(d->m, d->shm + 4 * i, &dw[i], 4));
}

static void pack_pfn(uint8_t dst[6], uint16_t *high, unsigned int index, uint64_t iova)
{
	uint64_t pfn = iova >> GDMA_PAGE_SHIFT;

	for (unsigned int i = 0; i < 6; i++)
		dst[i] = (uint8_t)(pfn >> (8 * i));
	*high |= (uint16_t)(((pfn >> 48) & 0xf) << (4 * index));
}

/* Registers, SMC ESTABLISH_HWC and the INIT EQEs. */
static void hwc_establish(struct drv *d)
{
	struct gdma_smc_establish_hwc msg = {0};
	uint32_t hdr, seen_data = 0;
	struct gdma_eqe eqe;
	uint16_t id16;

	ASSERT_OK(gdma_model_config_read(d->m, 0, &id16, 2));
	ASSERT_EQ(id16, GDMA_PCI_VENDOR_MICROSOFT);
	ASSERT_OK(gdma_model_config_read(d->m, 2, &id16, 2));
	ASSERT_EQ(id16, GDMA_PCI_DEVICE_MANA_VF);
	d->db_base = bar_r64(d, GDMA_REG_DB_PAGE_OFFSET);
	ASSERT_EQ(bar_r64(d, GDMA_REG_DB_PAGE_SIZE) & 0xffff, 0x1000);
	d->shm = bar_r64(d, GDMA_REG_SHM_OFFSET);
	ASSERT_LE(d->shm + GDMA_SMC_SIZE, GDMA_MODEL_BAR0_SIZE);

	dq_init(&d->eq, PAGE, GDMA_EQE_SIZE);
	dq_init(&d->cq, PAGE, GDMA_CQE_SIZE);
	dq_init(&d->rq, PAGE, 0);
	dq_init(&d->sq, PAGE, 0);
	d->req_buf = alloc_pages(PAGE);
	d->resp_buf = alloc_pages(PAGE);
	pack_pfn(msg.eq_pfn, &msg.pfn_high4, 0, d->eq.iova);
	pack_pfn(msg.cq_pfn, &msg.pfn_high4, 1, d->cq.iova);
	pack_pfn(msg.rq_pfn, &msg.pfn_high4, 2, d->rq.iova);
	pack_pfn(msg.sq_pfn, &msg.pfn_high4, 3, d->sq.iova);
	msg.msix_index = 0;
	msg.hdr = GDMA_SMC_HDR(GDMA_SMC_MSG_ESTABLISH_HWC, GDMA_SMC_ESTABLISH_HWC_VERSION);
	smc_write(d, &msg);
	ASSERT_OK(gdma_model_bar_read(d->m, d->shm + GDMA_SMC_HDR_OFFSET, &hdr, 4));
	ASSERT_FALSE(hdr & GDMA_SMC_HDR_OWNER_IS_PF);
	ASSERT_TRUE(hdr & GDMA_SMC_HDR_RESPONSE);
	ASSERT_EQ(GDMA_SMC_HDR_TYPE(hdr), GDMA_SMC_MSG_ESTABLISH_HWC);
	ASSERT_EQ(GDMA_SMC_HDR_STATUS(hdr), 0);

	/* One interrupt for the batch: the EQ disarms on the first entry. */
	ASSERT_EQ(host.irqs[0], 1);
	ASSERT_TRUE(poll_eqe(&d->eq, &eqe));
	ASSERT_EQ(GDMA_EQE_TYPE(eqe.info), GDMA_EQE_HWC_INIT_EQ_ID_DB);
	d->eq.id = eqe.details[0] & 0xffff;
	ASSERT_EQ(eqe.details[0] >> 16, 0); /* doorbell page */
	for (;;) {
		uint32_t type, value;

		ASSERT_TRUE(poll_eqe(&d->eq, &eqe));
		if (GDMA_EQE_TYPE(eqe.info) == GDMA_EQE_HWC_INIT_DONE)
			break;
		ASSERT_EQ(GDMA_EQE_TYPE(eqe.info), GDMA_EQE_HWC_INIT_DATA);
		type = GDMA_HWC_INIT_DATA_TYPE(eqe.details[0]);
		value = GDMA_HWC_INIT_DATA_VALUE(eqe.details[0]);
		ASSERT_EQ(type, seen_data + 1); /* in order, 1..9 */
		seen_data++;
		switch (type) {
		case GDMA_HWC_INIT_DATA_CQID:
			d->cq.id = value;
			break;
		case GDMA_HWC_INIT_DATA_RQID:
			d->rq.id = value;
			break;
		case GDMA_HWC_INIT_DATA_SQID:
			d->sq.id = value;
			break;
		case GDMA_HWC_INIT_DATA_QUEUE_DEPTH:
			ASSERT_GE(value, 1);
			break;
		case GDMA_HWC_INIT_DATA_MAX_REQUEST:
		case GDMA_HWC_INIT_DATA_MAX_RESPONSE:
			ASSERT_EQ(value, 0x1000);
			break;
		case GDMA_HWC_INIT_DATA_MAX_NUM_CQS:
			ASSERT_GT(value, d->cq.id);
			break;
		case GDMA_HWC_INIT_DATA_PDID:
			d->pdid = value;
			break;
		case GDMA_HWC_INIT_DATA_GPA_MKEY:
			d->mkey = value;
			break;
		}
	}
	ASSERT_EQ(seen_data, 9);
	ASSERT_FALSE(poll_eqe(&d->eq, &eqe));
	arm_eq(d, &d->eq);
	ASSERT_EQ(host.irqs[0], 1);
}

static void gdma_core(struct drv *d)
{
	struct gdma_verify_ver_req ver = {0};
	struct gdma_verify_ver_resp ver_resp;
	struct gdma_general_req gen = {0};
	struct gdma_query_max_resources_resp res;
	struct gdma_list_devices_resp list;
	struct gdma_register_device_resp reg;
	bool mana = false;

	init_hdr(&ver.hdr, GDMA_VERIFY_VF_DRIVER_VERSION, sizeof(ver), sizeof(ver_resp), 0);
	ver.protocol_ver_min = GDMA_PROTOCOL_V1;
	ver.protocol_ver_max = GDMA_PROTOCOL_V1;
	ver.os_type = GDMA_OS_TYPE_LINUX;
	ASSERT_EQ(hwc_call(d, &ver, sizeof(ver), &ver_resp, sizeof(ver_resp)), 0);
	ASSERT_EQ(ver_resp.gdma_protocol_ver, GDMA_PROTOCOL_V1);

	init_hdr(&gen.hdr, GDMA_QUERY_MAX_RESOURCES, sizeof(gen), sizeof(res), 0);
	ASSERT_EQ(hwc_call(d, &gen, sizeof(gen), &res, sizeof(res)), 0);
	ASSERT_EQ(res.max_msix, 8);
	ASSERT_EQ(res.max_sq, 4);
	ASSERT_EQ(res.max_rq, 4);
	ASSERT_GE(res.max_eq, 1);

	init_hdr(&gen.hdr, GDMA_LIST_DEVICES, sizeof(gen), sizeof(list), 0);
	ASSERT_EQ(hwc_call(d, &gen, sizeof(gen), &list, sizeof(list)), 0);
	ASSERT_LE(list.num_of_devs, GDMA_DEV_LIST_SIZE);
	for (uint32_t i = 0; i < list.num_of_devs; i++)
		mana |= list.devs[i].type == GDMA_DEVICE_MANA && list.devs[i].instance == 0;
	ASSERT_TRUE(mana);

	init_hdr(&gen.hdr, GDMA_REGISTER_DEVICE, sizeof(gen), sizeof(reg), GDMA_DEVICE_MANA);
	ASSERT_EQ(hwc_call(d, &gen, sizeof(gen), &reg, sizeof(reg)), 0);
	ASSERT_EQ(reg.db_id, 0);
	d->pdid = reg.pdid;
	d->mkey = reg.gpa_mkey;
}

/* CREATE_DMA_REGION over the pages of @q; returns the handle. */
static uint64_t create_region(struct drv *d, const struct dq *q)
{
	uint8_t buf[sizeof(struct gdma_create_dma_region_req) + 16 * sizeof(uint64_t)] = {0};
	struct gdma_create_dma_region_req *req = (void *)buf;
	struct gdma_create_dma_region_resp resp;
	uint32_t pages = q->size / PAGE;
	uint32_t len = (uint32_t)(sizeof(*req) + pages * sizeof(uint64_t));

	ASSERT_LE(pages, 16);
	init_hdr(&req->hdr, GDMA_CREATE_DMA_REGION, len, sizeof(resp), GDMA_DEVICE_MANA);
	req->length = q->size;
	req->gdma_page_type = GDMA_PAGE_TYPE_4K;
	req->page_count = pages;
	req->page_addr_list_len = pages;
	for (uint32_t i = 0; i < pages; i++)
		req->page_addr_list[i] = q->iova + (uint64_t)i * PAGE;
	ASSERT_EQ(hwc_call(d, req, len, &resp, sizeof(resp)), 0);
	ASSERT_NE(resp.dma_region_handle, GDMA_INVALID_DMA_REGION);
	return resp.dma_region_handle;
}

static void create_mana_eq(struct drv *d)
{
	struct gdma_create_queue_req req = {0};
	struct gdma_create_queue_resp resp;
	struct gdma_generate_test_event_req test = {0};
	struct gdma_eqe eqe;

	dq_init(&d->mana_eq, 2 * PAGE, GDMA_EQE_SIZE);
	init_hdr(&req.hdr, GDMA_CREATE_QUEUE, sizeof(req), sizeof(resp), GDMA_DEVICE_MANA);
	req.type = GDMA_QUEUE_EQ;
	req.pdid = d->pdid;
	req.gdma_region = create_region(d, &d->mana_eq);
	req.queue_size = d->mana_eq.size;
	req.log2_throttle_limit = 3;
	req.eq_pci_msix_index = 1;
	ASSERT_EQ(hwc_call(d, &req, sizeof(req), &resp, sizeof(resp)), 0);
	d->mana_eq.id = resp.queue_index;
	ASSERT_NE(d->mana_eq.id, d->eq.id);

	init_hdr(&test.hdr, GDMA_GENERATE_TEST_EQE, sizeof(test), sizeof(struct gdma_general_resp),
		 GDMA_DEVICE_MANA);
	test.queue_index = d->mana_eq.id;
	ASSERT_EQ(hwc_call(d, &test, sizeof(test), NULL, 0), 0);
	ASSERT_EQ(host.irqs[1], 1);
	ASSERT_TRUE(poll_eqe(&d->mana_eq, &eqe));
	ASSERT_EQ(GDMA_EQE_TYPE(eqe.info), GDMA_EQE_TEST_EVENT);
	ASSERT_FALSE(poll_eqe(&d->mana_eq, &eqe));
	arm_eq(d, &d->mana_eq);
}

static void mana_config(struct drv *d)
{
	struct mana_query_device_cfg_req dev = {0};
	struct mana_query_device_cfg_resp dev_resp;
	struct mana_query_vport_cfg_req vq = {0};
	struct mana_query_vport_cfg_resp vresp;
	struct mana_config_vport_req cfg = {0};
	struct mana_config_vport_resp cresp;

	init_hdr(&dev.hdr, MANA_QUERY_DEV_CONFIG, sizeof(dev), sizeof(dev_resp), GDMA_DEVICE_MANA);
	dev.hdr.resp.msg_version = GDMA_MESSAGE_V3;
	dev.proto_major_ver = MANA_MAJOR_VERSION;
	dev.proto_minor_ver = MANA_MINOR_VERSION;
	dev.proto_micro_ver = MANA_MICRO_VERSION;
	ASSERT_EQ(hwc_call(d, &dev, sizeof(dev), &dev_resp, sizeof(dev_resp)), 0);
	ASSERT_EQ(dev_resp.hdr.response.msg_version, GDMA_MESSAGE_V3);
	ASSERT_GE(dev_resp.hdr.response.msg_size, sizeof(dev_resp));
	ASSERT_EQ(dev_resp.max_num_vports, 1);
	ASSERT_EQ(dev_resp.adapter_mtu, 1514);

	init_hdr(&vq.hdr, MANA_QUERY_VPORT_CONFIG, sizeof(vq), sizeof(vresp), GDMA_DEVICE_MANA);
	vq.vport_index = 0;
	ASSERT_EQ(hwc_call(d, &vq, sizeof(vq), &vresp, sizeof(vresp)), 0);
	ASSERT_TRUE(memcmp(vresp.mac_addr, test_mac, 6) == 0);
	ASSERT_EQ(vresp.max_num_sq, 4);
	ASSERT_NE(vresp.vport, MANA_INVALID_HANDLE);
	d->vport = vresp.vport;

	init_hdr(&cfg.hdr, MANA_CONFIG_VPORT_TX, sizeof(cfg), sizeof(cresp), GDMA_DEVICE_MANA);
	cfg.vport = d->vport;
	cfg.pdid = d->pdid;
	cfg.doorbell_pageid = 0;
	ASSERT_EQ(hwc_call(d, &cfg, sizeof(cfg), &cresp, sizeof(cresp)), 0);
	ASSERT_EQ(cresp.short_form_allowed, 1);
}

static uint32_t create_wq_obj(struct drv *d, uint32_t type, struct dq *wq, struct dq *cq,
			      uint64_t *ret_obj)
{
	struct mana_create_wqobj_req req = {0};
	struct mana_create_wqobj_resp resp;
	uint32_t status;

	init_hdr(&req.hdr, MANA_CREATE_WQ_OBJ, sizeof(req), sizeof(resp), GDMA_DEVICE_MANA);
	req.vport = d->vport;
	req.wq_type = type;
	req.wq_gdma_region = create_region(d, wq);
	req.cq_gdma_region = create_region(d, cq);
	req.wq_size = wq->size;
	req.cq_size = cq->size;
	req.cq_parent_qid = d->mana_eq.id;
	status = hwc_call(d, &req, sizeof(req), &resp, sizeof(resp));
	if (status == 0) {
		wq->id = resp.wq_id;
		cq->id = resp.cq_id;
		*ret_obj = resp.wq_obj;
		ASSERT_NE(resp.wq_obj, MANA_INVALID_HANDLE);
	}
	return status;
}

static void create_data_queues(struct drv *d)
{
	dq_init(&d->tx_sq, PAGE, 0);
	dq_init(&d->tx_cq, PAGE, GDMA_CQE_SIZE);
	dq_init(&d->rx_rq, PAGE, 0);
	dq_init(&d->rx_cq, PAGE, GDMA_CQE_SIZE);
	ASSERT_EQ(create_wq_obj(d, GDMA_QUEUE_SQ, &d->tx_sq, &d->tx_cq, &d->tx_obj), 0);
	ASSERT_EQ(create_wq_obj(d, GDMA_QUEUE_RQ, &d->rx_rq, &d->rx_cq, &d->rx_obj), 0);
	ASSERT_NE(d->tx_cq.id, d->rx_cq.id);
}

static struct drv *bring_up(void)
{
	struct drv *d = drv_new();

	hwc_establish(d);
	gdma_core(d);
	create_mana_eq(d);
	mana_config(d);
	create_data_queues(d);
	return d;
}

static void fill_frame(uint8_t *f, size_t len, uint8_t seed)
{
	memset(f, 0xff, 6); /* broadcast */
	memcpy(f + 6, test_mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
}

/* Posts one RX buffer of @len bytes at @iova; returns the entry's offset. */
static uint32_t post_rx(struct drv *d, uint64_t iova, uint32_t len)
{
	struct gdma_sge sge = {iova, d->mkey, len};
	uint32_t off = wq_post(&d->rx_rq, NULL, 8, &sge, 1);

	ring(d, GDMA_DB_OFF_RQ, GDMA_DB_WQ(d->rx_rq.id, d->rx_rq.head));
	return off;
}

static void tx_post(struct drv *d, const struct gdma_sge *sgl, uint32_t n)
{
	struct mana_tx_short_oob oob = {0};

	oob.w0 = MANA_SHORT_PKT_FMT | (d->tx_cq.id << 8);
	wq_post(&d->tx_sq, &oob, sizeof(oob), sgl, n);
	ring(d, GDMA_DB_OFF_SQ, GDMA_DB_WQ(d->tx_sq.id, d->tx_sq.head));
}

static void expect_tx_cqe(struct drv *d, uint32_t cqe_type)
{
	struct mana_tx_comp_oob comp;
	struct gdma_cqe cqe;

	expect_completion(d, &d->mana_eq, d->tx_cq.id);
	ASSERT_TRUE(poll_cqe(&d->tx_cq, &cqe));
	ASSERT_TRUE(cqe.info & GDMA_CQE_IS_SQ);
	ASSERT_EQ(GDMA_CQE_WQ_NUM(cqe.info), d->tx_sq.id);
	memcpy(&comp, cqe.data, sizeof(comp));
	ASSERT_EQ(MANA_CQE_HDR_CLIENT_TYPE(comp.cqe_hdr), MANA_CQE_COMPLETION);
	ASSERT_EQ(MANA_CQE_HDR_TYPE(comp.cqe_hdr), cqe_type);
	ASSERT_FALSE(poll_cqe(&d->tx_cq, &cqe));
	arm_cq(d, &d->tx_cq);
}

static struct mana_rxcomp_oob expect_rx_cqe(struct drv *d, uint32_t cqe_type)
{
	struct mana_rxcomp_oob oob;
	struct gdma_cqe cqe;

	expect_completion(d, &d->mana_eq, d->rx_cq.id);
	ASSERT_TRUE(poll_cqe(&d->rx_cq, &cqe));
	ASSERT_FALSE(cqe.info & GDMA_CQE_IS_SQ);
	ASSERT_EQ(GDMA_CQE_WQ_NUM(cqe.info), d->rx_rq.id);
	memcpy(&oob, cqe.data, sizeof(oob));
	ASSERT_EQ(MANA_CQE_HDR_CLIENT_TYPE(oob.cqe_hdr), MANA_CQE_COMPLETION);
	ASSERT_EQ(MANA_CQE_HDR_TYPE(oob.cqe_hdr), cqe_type);
	ASSERT_FALSE(poll_cqe(&d->rx_cq, &cqe));
	arm_cq(d, &d->rx_cq);
	return oob;
}

static void test_bring_up_and_data_path(void)
{
	struct drv *d = bring_up();
	struct gdma_model_stats st;
	uint8_t frame[60], big[300];
	uint64_t rx0 = alloc_pages(PAGE), rx1 = alloc_pages(PAGE), tx = alloc_pages(PAGE);
	struct mana_rxcomp_oob oob;
	uint32_t off0, off1, irq1;

	/* RX: two buffers posted, two frames land in order with their lengths. */
	ASSERT_TRUE(gdma_model_rx_full(d->m));
	off0 = post_rx(d, rx0, 2048);
	ASSERT_FALSE(gdma_model_rx_full(d->m));
	off1 = post_rx(d, rx1, 2048);
	fill_frame(frame, sizeof(frame), 1);
	irq1 = host.irqs[1];
	ASSERT_OK(gdma_model_frame_in(d->m, frame, sizeof(frame)));
	ASSERT_EQ(host.irqs[1], irq1 + 1);
	oob = expect_rx_cqe(d, MANA_CQE_RX_OKAY);
	ASSERT_EQ(MANA_RXCOMP_PKT_LEN(oob.ppi[0].pkt_len), sizeof(frame));
	ASSERT_EQ(oob.rx_wqe_offset, off0);
	ASSERT_TRUE(memcmp(host.mem + rx0, frame, sizeof(frame)) == 0);

	fill_frame(big, sizeof(big), 9);
	ASSERT_OK(gdma_model_frame_in(d->m, big, sizeof(big)));
	oob = expect_rx_cqe(d, MANA_CQE_RX_OKAY);
	ASSERT_EQ(MANA_RXCOMP_PKT_LEN(oob.ppi[0].pkt_len), sizeof(big));
	ASSERT_EQ(oob.rx_wqe_offset, off1);
	ASSERT_TRUE(memcmp(host.mem + rx1, big, sizeof(big)) == 0);

	/* No buffer left: a host whose wire can wait is told so; a frame anyway is dropped
	 * and counted, no completion. */
	ASSERT_TRUE(gdma_model_rx_full(d->m));
	ASSERT_EQ(gdma_model_frame_in(d->m, frame, sizeof(frame)), -ENOBUFS);

	/* TX: a frame in two SGEs leaves whole, then a TX CQE. */
	fill_frame(host.mem + tx, sizeof(big), 3);
	{
		struct gdma_sge sgl[2] = {{tx, d->mkey, 14}, {tx + 14, d->mkey, sizeof(big) - 14}};

		tx_post(d, sgl, 2);
	}
	ASSERT_EQ(host.frames, 1);
	ASSERT_EQ(host.frame_len, sizeof(big));
	ASSERT_TRUE(memcmp(host.frame, host.mem + tx, sizeof(big)) == 0);
	expect_tx_cqe(d, MANA_CQE_TX_OKAY);

	gdma_model_get_stats(d->m, &st);
	ASSERT_EQ(st.tx_frames, 1);
	ASSERT_EQ(st.rx_frames, 2);
	ASSERT_EQ(st.rx_dropped_no_wqe, 1);
	ASSERT_EQ(st.dma_errors, 0);
	ASSERT_EQ(st.bad_doorbells, 0);
	ASSERT_EQ(st.bad_wqes, 0);
	ASSERT_EQ(st.hwc_errors, 0);
	ASSERT_EQ(st.hwc_dropped, 0);
	drv_free(d);
}

/* Enough HWC round trips to wrap the CQ many times (owner bits past 7) and the WQs. */
static void test_owner_bits_wrap(void)
{
	struct drv *d = drv_new();
	struct gdma_general_req gen = {0};
	struct gdma_query_max_resources_resp res;

	hwc_establish(d);
	for (unsigned int i = 0; i < 600; i++) {
		init_hdr(&gen.hdr, GDMA_QUERY_MAX_RESOURCES, sizeof(gen), sizeof(res), 0);
		ASSERT_EQ(hwc_call(d, &gen, sizeof(gen), &res, sizeof(res)), 0);
		ASSERT_EQ(res.max_msix, 8);
	}
	ASSERT_GT(d->cq.head / (d->cq.size / GDMA_CQE_SIZE), 8);
	drv_free(d);
}

static void test_hostile_doorbells(void)
{
	struct drv *d = bring_up();
	struct gdma_model_stats before, st;
	uint64_t v = 0;
	uint32_t v32 = 0, frames = host.frames;

	gdma_model_get_stats(d->m, &before);
	ring(d, GDMA_DB_OFF_SQ, GDMA_DB_WQ(99, 64));		    /* no such SQ */
	ring(d, GDMA_DB_OFF_RQ, GDMA_DB_WQ(0xffffff, 32));	    /* no such RQ */
	ring(d, GDMA_DB_OFF_CQ, GDMA_DB_CQ(1000, 0, true));	    /* no such CQ */
	ring(d, GDMA_DB_OFF_EQ, GDMA_DB_EQ(77, 0, true));	    /* no such EQ */
	ring(d, 0x200, 0);					    /* no doorbell there */
	ASSERT_OK(gdma_model_bar_write(d->m, d->db_base, &v32, 4)); /* not 64-bit */
	/* A tail past the queue size, and one not on a 32-byte unit. */
	ring(d, GDMA_DB_OFF_SQ, GDMA_DB_WQ(d->tx_sq.id, d->tx_sq.head + d->tx_sq.size + 32));
	ring(d, GDMA_DB_OFF_SQ, GDMA_DB_WQ(d->tx_sq.id, d->tx_sq.head + 8));
	/* The driver claims to have consumed CQEs never written. */
	ring(d, GDMA_DB_OFF_CQ, GDMA_DB_CQ(d->tx_cq.id, d->tx_cq.head + 100, true));
	gdma_model_get_stats(d->m, &st);
	ASSERT_EQ(st.bad_doorbells, before.bad_doorbells + 9);
	ASSERT_EQ(host.frames, frames);

	/* Outside BAR0. */
	ASSERT_EQ(gdma_model_bar_write(d->m, GDMA_MODEL_BAR0_SIZE, &v, 8), -EINVAL);
	ASSERT_EQ(gdma_model_bar_read(d->m, GDMA_MODEL_BAR0_SIZE - 4, &v, 8), -EINVAL);
	ASSERT_EQ(gdma_model_bar_read(d->m, UINT64_MAX - 2, &v, 8), -EINVAL);

	/* The device still works. */
	{
		struct gdma_general_req gen = {0};
		struct gdma_query_max_resources_resp res;

		init_hdr(&gen.hdr, GDMA_QUERY_MAX_RESOURCES, sizeof(gen), sizeof(res), 0);
		ASSERT_EQ(hwc_call(d, &gen, sizeof(gen), &res, sizeof(res)), 0);
	}
	drv_free(d);
}

static void test_hostile_sges_and_wqes(void)
{
	struct drv *d = bring_up();
	struct gdma_model_stats before, st;
	struct mana_rxcomp_oob oob;
	uint8_t frame[64];
	uint64_t tx = alloc_pages(PAGE);

	gdma_model_get_stats(d->m, &before);
	/* TX SGE running off the end of mapped memory: error CQE, nothing sent. */
	{
		struct gdma_sge sgl[2] = {{tx, d->mkey, 14}, {MEM_SIZE - 10, d->mkey, 100}};

		tx_post(d, sgl, 2);
	}
	ASSERT_EQ(host.frames, 0);
	expect_tx_cqe(d, MANA_CQE_TX_HDR_PROCESSING_ERROR);
	/* An SGE address that wraps the 64-bit space. */
	{
		struct gdma_sge sgl[1] = {{UINT64_MAX - 4, d->mkey, 64}};

		tx_post(d, sgl, 1);
	}
	expect_tx_cqe(d, MANA_CQE_TX_HDR_PROCESSING_ERROR);
	/* More than the largest frame. */
	{
		struct gdma_sge sgl[2] = {{tx, d->mkey, GDMA_MODEL_MAX_FRAME},
					  {tx, d->mkey, 0xffffffff}};

		tx_post(d, sgl, 2);
	}
	expect_tx_cqe(d, MANA_CQE_TX_MTU_DROP);
	ASSERT_EQ(host.frames, 0);

	/* RX buffer outside mapped memory: the entry completes as truncated. */
	post_rx(d, MEM_SIZE + PAGE, 2048);
	fill_frame(frame, sizeof(frame), 5);
	ASSERT_OK(gdma_model_frame_in(d->m, frame, sizeof(frame)));
	oob = expect_rx_cqe(d, MANA_CQE_RX_TRUNCATED);
	ASSERT_EQ(oob.ppi[0].pkt_len, 0);
	/* A buffer too small for the frame. */
	post_rx(d, tx, 16);
	ASSERT_OK(gdma_model_frame_in(d->m, frame, sizeof(frame)));
	expect_rx_cqe(d, MANA_CQE_RX_TRUNCATED);
	ASSERT_EQ(gdma_model_frame_in(d->m, frame, 0), -EMSGSIZE);
	ASSERT_EQ(gdma_model_frame_in(d->m, frame, GDMA_MODEL_MAX_FRAME + 1), -EMSGSIZE);

	gdma_model_get_stats(d->m, &st);
	ASSERT_EQ(st.tx_errors, before.tx_errors + 3);
	ASSERT_EQ(st.rx_truncated, before.rx_truncated + 2);
	ASSERT_GT(st.dma_errors, before.dma_errors);

	/* A WQE with no SGE cannot be sized: the SQ breaks and later entries are ignored. */
	{
		struct gdma_wqe_hdr hdr = {.params = GDMA_WQE_PARAMS(0, GDMA_WQE_OOB_CODE_8)};
		struct gdma_sge sgl[1] = {{tx, d->mkey, 60}};

		memcpy(host.mem + d->tx_sq.iova + (d->tx_sq.head & (d->tx_sq.size - 1)), &hdr,
		       sizeof(hdr));
		d->tx_sq.head += 32;
		ring(d, GDMA_DB_OFF_SQ, GDMA_DB_WQ(d->tx_sq.id, d->tx_sq.head));
		tx_post(d, sgl, 1);
	}
	gdma_model_get_stats(d->m, &st);
	ASSERT_EQ(st.bad_wqes, before.bad_wqes + 1);
	ASSERT_EQ(host.frames, 0);
	drv_free(d);
}

static void test_hostile_requests(void)
{
	struct drv *d = bring_up();
	struct gdma_general_req gen = {0};
	struct gdma_create_queue_req cq = {0};
	struct gdma_generate_test_event_req test = {0};
	uint8_t buf[sizeof(struct gdma_create_dma_region_req) + 8] = {0};
	struct gdma_create_dma_region_req *reg = (void *)buf;
	struct mana_create_wqobj_req wq = {0};
	struct gdma_model_stats st;
	struct dq q;

	/* Oversize: the SGEs carry more than the HWC's maximum request. */
	init_hdr(&gen.hdr, GDMA_QUERY_MAX_RESOURCES, sizeof(gen), 72, 0);
	ASSERT_EQ(hwc_call_sge(d, &gen, sizeof(gen), 2 * GDMA_HWC_MAX_REQUEST_SIZE, NULL, 0),
		  GDMA_MODEL_STATUS_INVALID_PARAMETER);
	/* msg_size claims more than was sent, or less than a header. */
	init_hdr(&gen.hdr, GDMA_QUERY_MAX_RESOURCES, 4000, 72, 0);
	ASSERT_EQ(hwc_call(d, &gen, sizeof(gen), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);
	init_hdr(&gen.hdr, GDMA_QUERY_MAX_RESOURCES, 8, 72, 0);
	ASSERT_EQ(hwc_call(d, &gen, sizeof(gen), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);
	/* Unknown codes, GDMA and MANA. */
	init_hdr(&gen.hdr, 0x77, sizeof(gen), 32, 0);
	ASSERT_EQ(hwc_call(d, &gen, sizeof(gen), NULL, 0), GDMA_STATUS_CMD_UNSUPPORTED);
	init_hdr(&gen.hdr, 0x2ffff, sizeof(gen), 32, GDMA_DEVICE_MANA);
	ASSERT_EQ(hwc_call(d, &gen, sizeof(gen), NULL, 0), GDMA_STATUS_CMD_UNSUPPORTED);
	/* A request shorter than its struct. */
	init_hdr(&test.hdr, GDMA_GENERATE_TEST_EQE, sizeof(test.hdr), 32, 0);
	ASSERT_EQ(hwc_call(d, &test, sizeof(test.hdr), NULL, 0),
		  GDMA_MODEL_STATUS_INVALID_PARAMETER);
	/* Test event on an EQ that does not exist. */
	init_hdr(&test.hdr, GDMA_GENERATE_TEST_EQE, sizeof(test), 32, 0);
	test.queue_index = 9999;
	ASSERT_EQ(hwc_call(d, &test, sizeof(test), NULL, 0), GDMA_MODEL_STATUS_NOT_FOUND);

	/* A region whose page list runs past the message. */
	init_hdr(&reg->hdr, GDMA_CREATE_DMA_REGION, sizeof(buf), 40, GDMA_DEVICE_MANA);
	reg->length = 1000 * PAGE;
	reg->page_count = 1000;
	reg->page_addr_list_len = 1000;
	ASSERT_EQ(hwc_call(d, reg, sizeof(buf), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);
	/* Length and page count that disagree, a misaligned page. */
	reg->length = PAGE;
	reg->page_count = 2;
	reg->page_addr_list_len = 1;
	ASSERT_EQ(hwc_call(d, reg, sizeof(buf), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);
	reg->page_count = 1;
	reg->page_addr_list[0] = 0x1234;
	ASSERT_EQ(hwc_call(d, reg, sizeof(buf), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);

	/* CREATE_QUEUE with a made-up region, a bad vector, a non-EQ type. */
	init_hdr(&cq.hdr, GDMA_CREATE_QUEUE, sizeof(cq), 36, GDMA_DEVICE_MANA);
	cq.type = GDMA_QUEUE_EQ;
	cq.gdma_region = 0xdead;
	cq.queue_size = PAGE;
	ASSERT_EQ(hwc_call(d, &cq, sizeof(cq), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);
	dq_init(&q, PAGE, GDMA_EQE_SIZE);
	cq.gdma_region = create_region(d, &q);
	cq.eq_pci_msix_index = 8;
	ASSERT_EQ(hwc_call(d, &cq, sizeof(cq), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);
	cq.eq_pci_msix_index = 1;
	cq.queue_size = 2 * PAGE; /* not the region's size */
	ASSERT_EQ(hwc_call(d, &cq, sizeof(cq), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);
	cq.type = GDMA_QUEUE_CQ;
	cq.queue_size = PAGE;
	ASSERT_EQ(hwc_call(d, &cq, sizeof(cq), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);

	/* CREATE_WQ_OBJ: wrong vPort, one region for both, a size that does not match. */
	init_hdr(&wq.hdr, MANA_CREATE_WQ_OBJ, sizeof(wq), 48, GDMA_DEVICE_MANA);
	wq.vport = d->vport + 1;
	wq.wq_type = GDMA_QUEUE_SQ;
	wq.wq_gdma_region = cq.gdma_region;
	wq.cq_gdma_region = cq.gdma_region;
	wq.wq_size = PAGE;
	wq.cq_size = PAGE;
	wq.cq_parent_qid = d->mana_eq.id;
	ASSERT_EQ(hwc_call(d, &wq, sizeof(wq), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);
	wq.vport = d->vport;
	ASSERT_EQ(hwc_call(d, &wq, sizeof(wq), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);
	/* A MANA command for a device that is not MANA. */
	wq.hdr.dev_id.type = GDMA_DEVICE_HWC;
	ASSERT_EQ(hwc_call(d, &wq, sizeof(wq), NULL, 0), GDMA_MODEL_STATUS_INVALID_PARAMETER);

	gdma_model_get_stats(d->m, &st);
	ASSERT_EQ(st.hwc_errors, 17);
	ASSERT_EQ(st.hwc_dropped, 0);
	drv_free(d);
}

/* ESTABLISH_HWC naming memory the driver never mapped, or a vector the function lacks. */
static void test_hostile_smc(void)
{
	struct drv *d = drv_new();
	struct gdma_smc_establish_hwc msg = {0};
	uint32_t hdr;

	d->shm = bar_r64(d, GDMA_REG_SHM_OFFSET);
	pack_pfn(msg.eq_pfn, &msg.pfn_high4, 0, 0xfffffull << 32);
	pack_pfn(msg.cq_pfn, &msg.pfn_high4, 1, PAGE);
	pack_pfn(msg.rq_pfn, &msg.pfn_high4, 2, PAGE);
	pack_pfn(msg.sq_pfn, &msg.pfn_high4, 3, PAGE);
	msg.hdr = GDMA_SMC_HDR(GDMA_SMC_MSG_ESTABLISH_HWC, 0);
	smc_write(d, &msg);
	ASSERT_OK(gdma_model_bar_read(d->m, d->shm + GDMA_SMC_HDR_OFFSET, &hdr, 4));
	ASSERT_TRUE(hdr & GDMA_SMC_HDR_RESPONSE);
	ASSERT_NE(GDMA_SMC_HDR_STATUS(hdr), 0);

	memset(&msg, 0, sizeof(msg));
	pack_pfn(msg.eq_pfn, &msg.pfn_high4, 0, PAGE);
	msg.msix_index = 8;
	msg.hdr = GDMA_SMC_HDR(GDMA_SMC_MSG_ESTABLISH_HWC, 0);
	smc_write(d, &msg);
	ASSERT_OK(gdma_model_bar_read(d->m, d->shm + GDMA_SMC_HDR_OFFSET, &hdr, 4));
	ASSERT_NE(GDMA_SMC_HDR_STATUS(hdr), 0);

	msg.hdr = GDMA_SMC_HDR(7, 0); /* unknown message */
	smc_write(d, &msg);
	ASSERT_OK(gdma_model_bar_read(d->m, d->shm + GDMA_SMC_HDR_OFFSET, &hdr, 4));
	ASSERT_NE(GDMA_SMC_HDR_STATUS(hdr), 0);
	ASSERT_EQ(host.irq_total, 0);

	/* After all that, and after a reset, a proper bring-up still works. */
	gdma_model_reset(d->m);
	hwc_establish(d);
	gdma_core(d);
	drv_free(d);
}

/* Fixed-seed LCG (Knuth's MMIX constants): the same garbage on every run. */
static uint64_t rng(void)
{
	static uint64_t state = 1;

	state = state * 6364136223846793005ull + 1442695040888963407ull;
	return state >> 17;
}

/*
 * Garbage everywhere the driver writes: queue memory, doorbells with live ids and
 * random tails, random BAR0 writes (which may run SMC messages naming random pages).
 * The model must survive it (ASan/UBSan builds check the memory side) and count.
 */
static void test_random_garbage(void)
{
	struct drv *d = bring_up();
	static const uint32_t db_offs[] = {GDMA_DB_OFF_SQ, GDMA_DB_OFF_RQ, GDMA_DB_OFF_CQ,
					   GDMA_DB_OFF_EQ};
	const struct dq *qs[] = {&d->sq, &d->rq, &d->tx_sq, &d->rx_rq, &d->tx_cq, &d->rx_cq};
	uint8_t frame[128] = {0};
	struct gdma_model_stats st;

	for (unsigned int round = 0; round < 2000; round++) {
		const struct dq *q = qs[rng() % (sizeof(qs) / sizeof(qs[0]))];
		uint64_t v = rng();
		uint32_t id = (uint32_t)(rng() % 4);

		for (unsigned int i = 0; i < 16; i++)
			host.mem[q->iova + rng() % q->size] = (uint8_t)rng();
		if (round % 3 == 0)
			ring(d, db_offs[rng() % 4], (v & ~(uint64_t)GDMA_DB_ID_MASK) | id);
		else if (round % 3 == 1)
			(void)gdma_model_bar_write(d->m, rng() % GDMA_MODEL_BAR0_SIZE, &v,
						   1 + rng() % 8);
		else
			(void)gdma_model_frame_in(d->m, frame, 1 + rng() % sizeof(frame));
	}
	gdma_model_get_stats(d->m, &st);
	ASSERT_GT(st.bad_doorbells + st.bad_wqes + st.dma_errors, 0);
	drv_free(d);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
	    {"bring-up-and-data-path", test_bring_up_and_data_path},
	    {"owner-bits-wrap", test_owner_bits_wrap},
	    {"hostile-doorbells", test_hostile_doorbells},
	    {"hostile-sges-and-wqes", test_hostile_sges_and_wqes},
	    {"hostile-requests", test_hostile_requests},
	    {"hostile-smc", test_hostile_smc},
	    {"random-garbage", test_random_garbage},
	};
	int r = test_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);

	free(host.mem);
	return r;
}
