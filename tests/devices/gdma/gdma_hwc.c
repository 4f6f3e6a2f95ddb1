/* SPDX-License-Identifier: MIT */
/*
 * GDMA test device model (a TEST DEVICE, never part of the image): the hardware
 * channel and the GDMA core commands.
 *
 * ESTABLISH_HWC gives four one-page queues (EQ, CQ, RQ, SQ); the model makes them
 * queue 0 of each type and reports that on the EQ: HWC_INIT_EQ_ID_DB, then one
 * HWC_INIT_DATA per value, then HWC_INIT_DONE. A request is an SQ entry with a
 * 24-byte hwc_tx_oob and SGEs holding the message; the model copies the message out,
 * completes the SQ entry, answers into the buffer of the next posted RQ entry, and
 * completes that with an hwc_rx_oob naming the entry's offset and the response size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gdma_model_internal.h"

#define HWC_ID 0u
#define HWC_MAX_NUM_CQS GDMA_MODEL_MAX_CQS

void gdma__msg_copy(const struct gdma_msg *msg, void *dst, size_t size)
{
	memset(dst, 0, size);
	memcpy(dst, msg->req, msg->req_len < size ? msg->req_len : size);
}

static int hwc_page(struct gdma_model *m, uint64_t pfn, struct gdma_mem *ret_mem)
{
	uint64_t *pages;

	/* Check once that the page is reachable; posting checks again each time. */
	if (!gdma__dma(m, pfn << GDMA_PAGE_SHIFT, GDMA_PAGE_SIZE))
		return -EFAULT;
	pages = malloc(sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	pages[0] = pfn << GDMA_PAGE_SHIFT;
	*ret_mem = (struct gdma_mem){.pages = pages, .page_count = 1, .size = GDMA_PAGE_SIZE};
	return 0;
}

static uint64_t smc_pfn(const uint8_t low48[6], uint16_t high4, unsigned int index)
{
	uint64_t pfn = 0;

	for (unsigned int i = 0; i < 6; i++)
		pfn |= (uint64_t)low48[i] << (8 * i);
	return pfn | ((uint64_t)((high4 >> (4 * index)) & 0xfu) << GDMA_SMC_PFN_H4_SHIFT);
}

void gdma__hwc_destroy(struct gdma_model *m)
{
	gdma__cqeq_free(&m->eqs[HWC_ID]);
	gdma__cqeq_free(&m->cqs[HWC_ID]);
	gdma__wq_free(&m->sqs[HWC_ID]);
	gdma__wq_free(&m->rqs[HWC_ID]);
	m->hwc_up = false;
}

static void post_init_data(struct gdma_model *m, uint32_t type, uint32_t value)
{
	uint32_t details[3] = {GDMA_HWC_INIT_DATA(type, value), 0, 0};

	gdma__post_eqe(m, HWC_ID, GDMA_EQE_HWC_INIT_DATA, details);
}

/* Returns the SMC status byte: 0 on success. */
uint8_t gdma__hwc_establish(struct gdma_model *m)
{
	struct gdma_smc_establish_hwc msg;
	const uint8_t *low48[4];
	struct gdma_mem mem[4] = {0};
	uint32_t details[3] = {GDMA_HWC_EQ_ID_DB(HWC_ID, 0), 0, 0};
	int r = 0;

	memcpy(&msg, m->smc, sizeof(msg));
	low48[0] = msg.eq_pfn;
	low48[1] = msg.cq_pfn;
	low48[2] = msg.rq_pfn;
	low48[3] = msg.sq_pfn;
	if (msg.msix_index >= m->cfg.msix_count)
		return 1;
	gdma__hwc_destroy(m);
	for (unsigned int i = 0; i < 4 && r == 0; i++)
		r = hwc_page(m, smc_pfn(low48[i], msg.pfn_high4, i), &mem[i]);
	if (r == 0)
		r = gdma__eq_create(m, HWC_ID, &mem[0], msg.msix_index);
	if (r == 0)
		r = gdma__cq_create(m, HWC_ID, &mem[1], HWC_ID);
	if (r == 0)
		r = gdma__wq_create(m, false, HWC_ID, &mem[2], HWC_ID);
	if (r == 0)
		r = gdma__wq_create(m, true, HWC_ID, &mem[3], HWC_ID);
	for (unsigned int i = 0; i < 4; i++)
		gdma__mem_free(&mem[i]); /* what no queue took */
	if (r != 0) {
		gdma__hwc_destroy(m);
		return 1;
	}
	m->hwc_up = true;

	gdma__post_eqe(m, HWC_ID, GDMA_EQE_HWC_INIT_EQ_ID_DB, details);
	post_init_data(m, GDMA_HWC_INIT_DATA_CQID, HWC_ID);
	post_init_data(m, GDMA_HWC_INIT_DATA_RQID, HWC_ID);
	post_init_data(m, GDMA_HWC_INIT_DATA_SQID, HWC_ID);
	post_init_data(m, GDMA_HWC_INIT_DATA_QUEUE_DEPTH, GDMA_HWC_BOOTSTRAP_QUEUE_DEPTH);
	post_init_data(m, GDMA_HWC_INIT_DATA_MAX_REQUEST, GDMA_HWC_MAX_REQUEST_SIZE);
	post_init_data(m, GDMA_HWC_INIT_DATA_MAX_RESPONSE, GDMA_HWC_MAX_RESPONSE_SIZE);
	post_init_data(m, GDMA_HWC_INIT_DATA_MAX_NUM_CQS, HWC_MAX_NUM_CQS);
	post_init_data(m, GDMA_HWC_INIT_DATA_PDID, GDMA_MODEL_HWC_PDID);
	post_init_data(m, GDMA_HWC_INIT_DATA_GPA_MKEY, GDMA_MODEL_HWC_GPA_MKEY);
	gdma__post_eqe(m, HWC_ID, GDMA_EQE_HWC_INIT_DONE, NULL);
	return 0;
}

/* GDMA core commands */

static uint32_t verify_version(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_verify_ver_req req;
	struct gdma_verify_ver_resp *resp = (void *)msg->resp;

	(void)m;
	gdma__msg_copy(msg, &req, sizeof(req));
	if (req.protocol_ver_min > GDMA_PROTOCOL_V1 || req.protocol_ver_max < GDMA_PROTOCOL_V1)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	resp->gdma_protocol_ver = GDMA_PROTOCOL_V1;
	msg->resp_len = sizeof(*resp);
	return 0;
}

static uint32_t query_max_resources(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_query_max_resources_resp *resp = (void *)msg->resp;

	resp->max_sq = m->cfg.max_queues;
	resp->max_rq = m->cfg.max_queues;
	resp->max_cq = 2 * m->cfg.max_queues;
	resp->max_eq = m->cfg.max_queues;
	resp->max_db = 1;
	resp->max_msix = m->cfg.msix_count;
	msg->resp_len = sizeof(*resp);
	return 0;
}

static uint32_t list_devices(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_list_devices_resp *resp = (void *)msg->resp;

	(void)m;
	resp->num_of_devs = 2;
	resp->devs[0] = (struct gdma_dev_id){.type = GDMA_DEVICE_HWC};
	resp->devs[1] = (struct gdma_dev_id){.type = GDMA_DEVICE_MANA};
	msg->resp_len = sizeof(*resp);
	return 0;
}

static bool is_mana(struct gdma_dev_id id)
{
	return id.type == GDMA_DEVICE_MANA && id.instance == 0;
}

static uint32_t register_device(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_register_device_resp *resp = (void *)msg->resp;

	if (!is_mana(msg->dev_id))
		return GDMA_MODEL_STATUS_NOT_FOUND;
	m->mana_registered = true;
	resp->pdid = GDMA_MODEL_MANA_PDID;
	resp->gpa_mkey = GDMA_MODEL_MANA_GPA_MKEY;
	resp->db_id = 0;
	msg->resp_len = sizeof(*resp);
	return 0;
}

static uint32_t deregister_device(struct gdma_model *m, struct gdma_msg *msg)
{
	if (!is_mana(msg->dev_id) || !m->mana_registered)
		return GDMA_MODEL_STATUS_NOT_FOUND;
	m->mana_registered = false;
	return 0;
}

static uint32_t generate_test_eqe(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_generate_test_event_req req;

	gdma__msg_copy(msg, &req, sizeof(req));
	if (!gdma__eq(m, req.queue_index))
		return GDMA_MODEL_STATUS_NOT_FOUND;
	gdma__post_eqe(m, req.queue_index, GDMA_EQE_TEST_EVENT, NULL);
	return 0;
}

/* Linux creates only EQs with CREATE_QUEUE; CQs and WQs come from MANA CREATE_WQ_OBJ. */
static uint32_t create_queue(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_create_queue_resp *resp = (void *)msg->resp;
	struct gdma_create_queue_req req;
	struct gdma_mem mem;
	int id;

	gdma__msg_copy(msg, &req, sizeof(req));
	if (req.type != GDMA_QUEUE_EQ || req.doorbell_id != 0 ||
	    req.eq_pci_msix_index >= m->cfg.msix_count)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	id = gdma__alloc_id(m, GDMA_QUEUE_EQ);
	if (id < 0)
		return GDMA_MODEL_STATUS_NO_RESOURCES;
	if (gdma__region_take(m, req.gdma_region, req.queue_size, &mem) != 0)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	if (gdma__eq_create(m, (uint32_t)id, &mem, req.eq_pci_msix_index) != 0) {
		gdma__mem_free(&mem);
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	}
	resp->queue_index = (uint32_t)id;
	msg->resp_len = sizeof(*resp);
	return 0;
}

static uint32_t disable_queue(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_disable_queue_req req;

	gdma__msg_copy(msg, &req, sizeof(req));
	if (req.type != GDMA_QUEUE_EQ || req.queue_index == HWC_ID || !gdma__eq(m, req.queue_index))
		return GDMA_MODEL_STATUS_NOT_FOUND;
	gdma__cqeq_free(&m->eqs[req.queue_index]);
	/* CQs still naming it must not report to a later EQ that reuses the id. */
	for (size_t i = 0; i < GDMA_MODEL_MAX_CQS; i++)
		if (m->cqs[i].used && m->cqs[i].parent_eq == req.queue_index)
			m->cqs[i].parent_eq = MANA_CQ_NO_EQ;
	return 0;
}

/* Appends @count page addresses from the request at @list_off to @r. */
static uint32_t region_add(struct gdma_region *r, const struct gdma_msg *msg, uint32_t list_off,
			   uint32_t count)
{
	if (count > r->mem.page_count - r->pages_filled ||
	    (uint64_t)list_off + (uint64_t)count * sizeof(uint64_t) > msg->req_len)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t addr;

		memcpy(&addr, msg->req + list_off + i * sizeof(addr), sizeof(addr));
		if (addr & (GDMA_PAGE_SIZE - 1))
			return GDMA_MODEL_STATUS_INVALID_PARAMETER;
		r->mem.pages[r->pages_filled + i] = addr;
	}
	r->pages_filled += count;
	return 0;
}

static uint32_t create_dma_region(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_create_dma_region_resp *resp = (void *)msg->resp;
	struct gdma_create_dma_region_req req;
	struct gdma_region *r = NULL;
	uint32_t status;

	gdma__msg_copy(msg, &req, sizeof(req));
	/* Queue memory only: whole pages from offset 0, at most a u32 of bytes. */
	if (req.gdma_page_type != GDMA_PAGE_TYPE_4K || req.offset_in_page != 0 || req.length == 0 ||
	    req.length > UINT32_MAX || req.page_count == 0 ||
	    req.page_count > GDMA_MODEL_MAX_REGION_PAGES ||
	    req.page_count != (req.length + GDMA_PAGE_SIZE - 1) / GDMA_PAGE_SIZE)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	for (size_t i = 0; i < GDMA_MODEL_MAX_REGIONS && !r; i++)
		if (!m->regions[i].used)
			r = &m->regions[i];
	if (!r)
		return GDMA_MODEL_STATUS_NO_RESOURCES;
	r->mem.pages = calloc(req.page_count, sizeof(uint64_t));
	if (!r->mem.pages)
		return GDMA_MODEL_STATUS_NO_RESOURCES;
	r->mem.page_count = req.page_count;
	r->mem.size = (uint32_t)req.length;
	r->length = req.length;
	status = region_add(r, msg, sizeof(req), req.page_addr_list_len);
	if (status != 0) {
		gdma__region_free(r);
		return status;
	}
	r->used = true;
	r->handle = m->next_handle++;
	resp->dma_region_handle = r->handle;
	msg->resp_len = sizeof(*resp);
	return 0;
}

static uint32_t dma_region_add_pages(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_dma_region_add_pages_req req;
	struct gdma_region *r;

	gdma__msg_copy(msg, &req, sizeof(req));
	r = gdma__region_find(m, req.dma_region_handle);
	if (!r)
		return GDMA_MODEL_STATUS_NOT_FOUND;
	return region_add(r, msg, sizeof(req), req.page_addr_list_len);
}

static uint32_t destroy_dma_region(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_destroy_dma_region_req req;
	struct gdma_region *r;

	gdma__msg_copy(msg, &req, sizeof(req));
	r = gdma__region_find(m, req.dma_region_handle);
	if (!r)
		return GDMA_MODEL_STATUS_NOT_FOUND;
	gdma__region_free(r);
	return 0;
}

static uint32_t change_msix_for_eq(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_change_msix_for_eq_req req;
	struct gdma_cqeq *eq;

	gdma__msg_copy(msg, &req, sizeof(req));
	eq = gdma__eq(m, req.queue_index);
	if (!eq || req.msix >= m->cfg.msix_count)
		return GDMA_MODEL_STATUS_INVALID_PARAMETER;
	eq->msix = req.msix;
	return 0;
}

static uint32_t query_hwc_timeout(struct gdma_model *m, struct gdma_msg *msg)
{
	struct gdma_query_hwc_timeout_resp *resp = (void *)msg->resp;
	struct gdma_query_hwc_timeout_req req;

	(void)m;
	gdma__msg_copy(msg, &req, sizeof(req));
	resp->timeout_ms = req.timeout_ms;
	msg->resp_len = sizeof(*resp);
	return 0;
}

#define REQ_HDR sizeof(struct gdma_req_hdr)

static const struct gdma_msg_handler gdma_handlers[] = {
    {GDMA_VERIFY_VF_DRIVER_VERSION, offsetof(struct gdma_verify_ver_req, drv_cap_flags1),
     verify_version},
    {GDMA_QUERY_MAX_RESOURCES, REQ_HDR, query_max_resources},
    {GDMA_LIST_DEVICES, REQ_HDR, list_devices},
    {GDMA_REGISTER_DEVICE, REQ_HDR, register_device},
    {GDMA_DEREGISTER_DEVICE, REQ_HDR, deregister_device},
    {GDMA_GENERATE_TEST_EQE, sizeof(struct gdma_generate_test_event_req), generate_test_eqe},
    {GDMA_CREATE_QUEUE, sizeof(struct gdma_create_queue_req), create_queue},
    {GDMA_DISABLE_QUEUE, offsetof(struct gdma_disable_queue_req, alloc_res_id_on_creation),
     disable_queue},
    {GDMA_CREATE_DMA_REGION, sizeof(struct gdma_create_dma_region_req), create_dma_region},
    {GDMA_DMA_REGION_ADD_PAGES, sizeof(struct gdma_dma_region_add_pages_req), dma_region_add_pages},
    {GDMA_DESTROY_DMA_REGION, sizeof(struct gdma_destroy_dma_region_req), destroy_dma_region},
    {GDMA_CHANGE_MSIX_FOR_EQ, offsetof(struct gdma_change_msix_for_eq_req, reserved1),
     change_msix_for_eq},
    {GDMA_QUERY_HWC_TIMEOUT, offsetof(struct gdma_query_hwc_timeout_req, reserved),
     query_hwc_timeout},
};

static const struct gdma_msg_handler *find_handler(uint32_t code)
{
	if (code >> 16)
		return gdma__mana_handler(code);
	for (size_t i = 0; i < sizeof(gdma_handlers) / sizeof(gdma_handlers[0]); i++)
		if (gdma_handlers[i].code == code)
			return &gdma_handlers[i];
	return NULL;
}

/*
 * Answers the request in m->hwc_req (@len bytes were sent, @total claimed by the
 * SGEs) into m->hwc_resp and returns the response length.
 */
static uint32_t hwc_execute(struct gdma_model *m, uint32_t len, uint64_t total)
{
	struct gdma_resp_hdr *rh = (void *)m->hwc_resp;
	const struct gdma_msg_handler *h;
	struct gdma_req_hdr hdr;
	struct gdma_msg msg = {
	    .req = m->hwc_req,
	    .resp = m->hwc_resp,
	    .resp_len = sizeof(struct gdma_resp_hdr),
	    .version = GDMA_MESSAGE_V1,
	};
	uint32_t status;

	memcpy(&hdr, m->hwc_req, sizeof(hdr));
	memset(m->hwc_resp, 0, sizeof(m->hwc_resp));
	msg.dev_id = hdr.dev_id;
	h = find_handler(hdr.req.msg_type);
	if (total > GDMA_HWC_MAX_REQUEST_SIZE || hdr.req.msg_size > len ||
	    hdr.req.msg_size < sizeof(hdr) || hdr.req.hdr_type != GDMA_STANDARD_HEADER_TYPE)
		status = GDMA_MODEL_STATUS_INVALID_PARAMETER;
	else if (!h)
		status = GDMA_STATUS_CMD_UNSUPPORTED;
	else if (hdr.req.msg_size < h->min_req_len)
		status = GDMA_MODEL_STATUS_INVALID_PARAMETER;
	else {
		msg.req_len = hdr.req.msg_size;
		status = h->fn(m, &msg);
	}
	if (status != 0) {
		/* Nothing past the header: a handler may have written a partial body. */
		memset(m->hwc_resp, 0, sizeof(m->hwc_resp));
		msg.resp_len = sizeof(*rh);
		msg.version = GDMA_MESSAGE_V1;
		m->stats.hwc_errors++;
	}
	rh->response.hdr_type = GDMA_STANDARD_HEADER_TYPE;
	rh->response.msg_type = hdr.req.msg_type;
	rh->response.msg_version = msg.version;
	rh->response.hwc_msg_id = hdr.req.hwc_msg_id;
	rh->response.msg_size = msg.resp_len;
	rh->dev_id = hdr.dev_id;
	rh->activity_id = hdr.activity_id;
	rh->status = status;
	m->stats.hwc_requests++;
	return msg.resp_len;
}

/* Writes the response into the next posted HWC RQ entry and completes it. */
static void hwc_respond(struct gdma_model *m, uint32_t len)
{
	struct gdma_hwc_rx_oob oob = {.flags = GDMA_HWC_RX_OOB_SOM | GDMA_HWC_RX_OOB_EOM};
	struct gdma_wqe_copy wqe;
	uint32_t done = 0;

	if (gdma__wqe_next(m, &m->rqs[HWC_ID], false, &wqe) != 0) {
		m->stats.hwc_dropped++;
		return;
	}
	for (uint32_t i = 0; i < wqe.num_sge && done < len; i++) {
		uint32_t chunk = len - done;

		if (chunk > wqe.sgl[i].size)
			chunk = wqe.sgl[i].size;
		if (gdma__dma_write(m, wqe.sgl[i].address, m->hwc_resp + done, chunk) != 0)
			break;
		done += chunk;
	}
	if (done < len)
		m->stats.hwc_dropped++; /* the driver's buffer was short or unreachable */
	oob.wqe_offset = wqe.offset;
	oob.tx_oob_data_size = done;
	gdma__post_cqe(m, HWC_ID, &oob, sizeof(oob), HWC_ID, false);
}

/* Gathers one request from the SGEs of an HWC SQ entry and answers it. */
static void hwc_request(struct gdma_model *m, const struct gdma_wqe_copy *wqe)
{
	struct gdma_hwc_rx_oob sq_oob = {.flags = GDMA_HWC_RX_OOB_SOM | GDMA_HWC_RX_OOB_EOM};
	uint64_t total = 0;
	uint32_t len = 0;
	bool fault = false;

	for (uint32_t i = 0; i < wqe->num_sge; i++) {
		uint32_t chunk = wqe->sgl[i].size;

		total += chunk;
		if (chunk > sizeof(m->hwc_req) - len)
			chunk = (uint32_t)(sizeof(m->hwc_req) - len);
		if (chunk && gdma__dma_read(m, wqe->sgl[i].address, m->hwc_req + len, chunk) != 0) {
			fault = true;
			break;
		}
		len += chunk;
	}
	sq_oob.wqe_offset = wqe->offset;
	gdma__post_cqe(m, HWC_ID, &sq_oob, sizeof(sq_oob), HWC_ID, true);

	/* Without a readable header there is no message id to answer to. */
	if (fault || wqe->oob_size != sizeof(struct gdma_hwc_tx_oob) ||
	    len < sizeof(struct gdma_req_hdr)) {
		m->stats.hwc_dropped++;
		return;
	}
	hwc_respond(m, hwc_execute(m, len, total));
}

void gdma__hwc_sq_run(struct gdma_model *m)
{
	struct gdma_wqe_copy wqe;

	if (!m->hwc_up)
		return;
	while (gdma__wqe_next(m, &m->sqs[HWC_ID], true, &wqe) == 0)
		hwc_request(m, &wqe);
}
