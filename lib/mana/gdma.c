/* SPDX-License-Identifier: MIT */
/*
 * The GDMA core handshake over the HWC (REFERENCES.md sections 6(c) and 10):
 * VERIFY_VF_DRIVER_VERSION, QUERY_MAX_RESOURCES, LIST_DEVICES (a MANA device must be
 * there), REGISTER_DEVICE; DMA regions; one EQ per queue pair, proven with a test event.
 */
#include <errno.h>
#include <string.h>

#include "devaccess.h"
#include "mana_internal.h"

#define MAX_REGION_PAGES 16u

static int verify_version(struct mana_dev *d)
{
	struct gdma_verify_ver_req req = {0};
	struct gdma_verify_ver_resp resp;
	int r;

	mana__req_init(d, &req.hdr, GDMA_VERIFY_VF_DRIVER_VERSION, sizeof(req), sizeof(resp));
	req.protocol_ver_min = GDMA_PROTOCOL_V1;
	req.protocol_ver_max = GDMA_PROTOCOL_V1;
	req.os_type = GDMA_OS_TYPE_LINUX;
	memcpy(req.os_ver_str1, "mhcl", 4);
	r = mana__hwc_call(d, &req, sizeof(req), &resp, sizeof(resp),
			   offsetof(struct gdma_verify_ver_resp, pf_cap_flags1));
	if (r < 0)
		return r;
	return resp.gdma_protocol_ver == GDMA_PROTOCOL_V1 ? 0 : -EPROTO;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static int query_max_resources(struct mana_dev *d, unsigned wanted)
{
	struct gdma_general_req req;
	struct gdma_query_max_resources_resp resp;
	uint32_t n;
	int r;

	mana__req_init(d, &req.hdr, GDMA_QUERY_MAX_RESOURCES, sizeof(req), sizeof(resp));
	r = mana__hwc_call(d, &req, sizeof(req), &resp, sizeof(resp), sizeof(resp));
	if (r < 0)
		return r;
	/* One EQ and vector per queue pair besides the HWC's vector 0 (Linux: msix - 1). */
	if (resp.max_msix < 2)
		return -ENOTSUP;
	n = min_u32(wanted, d->nefds - 1);
	n = min_u32(n, resp.max_msix - 1);
	n = min_u32(n, resp.max_eq);
	n = min_u32(n, resp.max_sq);
	n = min_u32(n, resp.max_rq);
	n = min_u32(n, resp.max_cq / 2);
	if (n == 0)
		return -ENOTSUP;
	d->max_queues = n;
	return 0;
}

static int list_devices(struct mana_dev *d)
{
	struct gdma_general_req req;
	struct gdma_list_devices_resp resp;
	uint32_t n;
	int r;

	mana__req_init(d, &req.hdr, GDMA_LIST_DEVICES, sizeof(req), sizeof(resp));
	r = mana__hwc_call(d, &req, sizeof(req), &resp, sizeof(resp),
			   offsetof(struct gdma_list_devices_resp, devs));
	if (r < 0)
		return r;
	n = min_u32(resp.num_of_devs, GDMA_DEV_LIST_SIZE);
	for (uint32_t i = 0; i < n; i++) {
		if (resp.devs[i].type == GDMA_DEVICE_MANA) {
			d->mana_id = resp.devs[i];
			return 0;
		}
	}
	return -ENOTSUP;
}

static int register_device(struct mana_dev *d)
{
	struct gdma_general_req req;
	struct gdma_register_device_resp resp;
	int r;

	mana__req_init(d, &req.hdr, GDMA_REGISTER_DEVICE, sizeof(req), sizeof(resp));
	r = mana__hwc_call(d, &req, sizeof(req), &resp, sizeof(resp), sizeof(resp));
	if (r < 0)
		return r;
	if (resp.db_id >= d->db_pages)
		return -EPROTO;
	d->pdid = resp.pdid;
	d->gpa_mkey = resp.gpa_mkey;
	d->db_id = resp.db_id;
	return 0;
}

int mana__gdma_setup(struct mana_dev *d)
{
	int r = verify_version(d);

	if (r == 0)
		r = query_max_resources(d, d->max_queues);
	if (r == 0)
		r = list_devices(d);
	if (r == 0)
		r = register_device(d);
	return r;
}

int mana__dma_region(struct mana_dev *d, uint64_t iova, uint32_t len, uint64_t *ret_handle)
{
	struct {
		struct gdma_create_dma_region_req req;
		uint64_t pages[MAX_REGION_PAGES];
	} m = {0};
	struct gdma_create_dma_region_resp resp;
	uint32_t npages = len / GDMA_PAGE_SIZE;
	uint32_t size = (uint32_t)(sizeof(m.req) + npages * sizeof(uint64_t));
	int r;

	if (npages == 0 || npages > MAX_REGION_PAGES || len % GDMA_PAGE_SIZE)
		return -EINVAL;
	mana__req_init(d, &m.req.hdr, GDMA_CREATE_DMA_REGION, size, sizeof(resp));
	m.req.length = len;
	m.req.gdma_page_type = GDMA_PAGE_TYPE_4K;
	m.req.page_count = npages;
	m.req.page_addr_list_len = npages;
	for (uint32_t i = 0; i < npages; i++)
		m.pages[i] = iova + (uint64_t)i * GDMA_PAGE_SIZE;
	r = mana__hwc_call(d, &m, size, &resp, sizeof(resp), sizeof(resp));
	if (r < 0)
		return r;
	if (resp.dma_region_handle == GDMA_INVALID_DMA_REGION)
		return -EPROTO;
	*ret_handle = resp.dma_region_handle;
	return 0;
}

/* Waits for the TEST_EVENT the device was asked to post on q's EQ. */
static int wait_test_event(struct mana_dev *d, struct mana_queue *q)
{
	uint64_t deadline = mana__deadline(d);
	struct gdma_eqe e;
	int r;

	for (;;) {
		r = mana__cq_next(&q->eq, &e);
		if (r < 0) {
			d->stats.bad_owner++;
			return -EPROTO;
		}
		if (r == 1) {
			if (GDMA_EQE_TYPE(e.info) == GDMA_EQE_TEST_EVENT)
				return 0;
			d->stats.bad_eqes++;
			continue;
		}
		mana__cq_doorbell(d, &q->eq, true);
		r = mana__wait_irq(d, q->efd, deadline);
		if (r < 0)
			return r;
	}
}

int mana__eq_create(struct mana_dev *d, struct mana_queue *q)
{
	struct gdma_create_queue_req req = {0};
	struct gdma_create_queue_resp resp;
	struct gdma_generate_test_event_req test = {0};
	struct gdma_general_resp test_resp;
	uint64_t iova, region;
	uint8_t *va;
	int r;

	va = mana__mem_va(d, mana__queue_off(q->index, MANA_PART_EQ));
	iova = mana__mem_iova(d, mana__queue_off(q->index, MANA_PART_EQ));
	mana__cq_init(&q->eq, va, MANA_QUEUE_BYTES, true);
	q->eq.db_page = d->db_id;
	r = mana__dma_region(d, iova, MANA_QUEUE_BYTES, &region);
	if (r < 0)
		return r;
	mana__req_init(d, &req.hdr, GDMA_CREATE_QUEUE, sizeof(req), sizeof(resp));
	req.type = GDMA_QUEUE_EQ;
	req.pdid = d->pdid;
	req.doorbell_id = d->db_id;
	req.gdma_region = region;
	req.queue_size = MANA_QUEUE_BYTES;
	req.log2_throttle_limit = 16;
	req.eq_pci_msix_index = q->msix;
	r = mana__hwc_call(d, &req, sizeof(req), &resp, sizeof(resp), sizeof(resp));
	if (r < 0)
		return r;
	if (resp.queue_index >= MANA_EQ_ID_LIMIT)
		return -EPROTO;
	q->eq.id = resp.queue_index;

	mana__req_init(d, &test.hdr, GDMA_GENERATE_TEST_EQE, sizeof(test), sizeof(test_resp));
	test.queue_index = q->eq.id;
	r = mana__hwc_call(d, &test, sizeof(test), &test_resp, sizeof(test_resp),
			   sizeof(test_resp));
	if (r < 0)
		return r;
	return wait_test_event(d, q);
}
