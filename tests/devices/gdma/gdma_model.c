/* SPDX-License-Identifier: MIT */
/*
 * GDMA test device model (a TEST DEVICE, never part of the image): the PCI function
 * (config space, BAR0 register map), the shared-memory channel and the public entry
 * points. BAR0 layout: register map at 0, SMC aperture at GDMA_MODEL_SHM_OFFSET, one
 * doorbell page (id 0) at GDMA_MODEL_DB_PAGE_OFFSET.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gdma_model_internal.h"

static_assert(GDMA_MODEL_SHM_OFFSET >= GDMA_REG_MAP_SIZE, "SMC after the register map");
static_assert(GDMA_MODEL_SHM_OFFSET + GDMA_SMC_SIZE <= GDMA_MODEL_DB_PAGE_OFFSET, "SMC size");
static_assert(GDMA_MODEL_DB_PAGE_OFFSET + GDMA_MODEL_DB_PAGE_SIZE <= GDMA_MODEL_BAR0_SIZE,
	      "doorbell page inside BAR0");

#define DEFAULT_MAX_QUEUES 4u
#define DEFAULT_MSIX 8u
#define MODEL_VERSION 0x01000001u /* major 1, minor 0, micro 1 */

struct gdma_model *gdma_model_new(const struct gdma_model_config *cfg,
				  const struct gdma_model_ops *ops, void *ctx)
{
	struct gdma_model *m;

	if (!cfg || !ops || !ops->dma_ptr || !ops->irq || !ops->frame_out)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->cfg = *cfg;
	if (m->cfg.max_queues == 0)
		m->cfg.max_queues = DEFAULT_MAX_QUEUES;
	if (m->cfg.msix_count == 0)
		m->cfg.msix_count = DEFAULT_MSIX;
	if (m->cfg.max_queues > GDMA_MODEL_MAX_QUEUES || m->cfg.msix_count < 2 ||
	    m->cfg.msix_count > GDMA_MODEL_MSIX_MAX) {
		free(m);
		return NULL;
	}
	m->ops = *ops;
	m->ctx = ctx;
	gdma_model_reset(m);
	return m;
}

struct gdma_model *gdma_model_free(struct gdma_model *m)
{
	if (!m)
		return NULL;
	gdma__queues_reset(m);
	free(m);
	return NULL;
}

void gdma_model_reset(struct gdma_model *m)
{
	gdma__queues_reset(m);
	gdma__mana_reset(m);
	memset(m->smc, 0, sizeof(m->smc));
	m->hwc_up = false;
	m->next_handle = 0x100;
}

void gdma_model_get_stats(const struct gdma_model *m, struct gdma_model_stats *ret)
{
	*ret = m->stats;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

int gdma_model_config_read(struct gdma_model *m, uint64_t off, void *buf, size_t len)
{
	uint8_t cs[GDMA_MODEL_CONFIG_SIZE] = {0};
	const uint8_t msix_cap = 0x40;

	memset(buf, 0, len);
	if (len == 0 || off >= sizeof(cs) || len > sizeof(cs) - off) {
		m->stats.bad_bar_accesses++;
		return -EINVAL;
	}
	put16(cs + 0x00, GDMA_PCI_VENDOR_MICROSOFT);
	put16(cs + 0x02, GDMA_PCI_DEVICE_MANA_VF);
	put16(cs + 0x06, 0x0010); /* status: capability list */
	cs[0x0B] = 0x02;	  /* class: network controller, Ethernet */
	put32(cs + 0x10, 0x4);	  /* BAR0: 64-bit memory */
	put32(cs + 0x20, 0x4);	  /* BAR4: 64-bit memory, MSI-X table and PBA */
	put16(cs + 0x2C, GDMA_PCI_VENDOR_MICROSOFT);
	put16(cs + 0x2E, GDMA_PCI_DEVICE_MANA_VF);
	cs[0x34] = msix_cap;
	cs[msix_cap] = 0x11; /* MSI-X */
	put16(cs + msix_cap + 2, (uint16_t)(m->cfg.msix_count - 1));
	put32(cs + msix_cap + 4, GDMA_MODEL_MSIX_TABLE_OFFSET | GDMA_MODEL_MSIX_BAR);
	put32(cs + msix_cap + 8, GDMA_MODEL_MSIX_PBA_OFFSET | GDMA_MODEL_MSIX_BAR);
	memcpy(buf, cs + off, len);
	return 0;
}

static bool bar_access_ok(struct gdma_model *m, uint64_t off, size_t len)
{
	if (len == 0 || len > 8 || off >= GDMA_MODEL_BAR0_SIZE ||
	    len > GDMA_MODEL_BAR0_SIZE - off) {
		m->stats.bad_bar_accesses++;
		return false;
	}
	return true;
}

int gdma_model_bar_read(struct gdma_model *m, uint64_t off, void *buf, size_t len)
{
	uint8_t regs[GDMA_REG_MAP_SIZE] = {0};
	uint8_t *out = buf;

	memset(buf, 0, len);
	if (!bar_access_ok(m, off, len))
		return -EINVAL;
	put32(regs + GDMA_REG_VERSION, MODEL_VERSION);
	put64(regs + GDMA_REG_DB_PAGE_OFFSET, GDMA_MODEL_DB_PAGE_OFFSET);
	put32(regs + GDMA_REG_DB_PAGE_SIZE, GDMA_MODEL_DB_PAGE_SIZE);
	put64(regs + GDMA_REG_SHM_OFFSET, GDMA_MODEL_SHM_OFFSET);
	put32(regs + GDMA_REG_SHM_SIZE, GDMA_SMC_SIZE);
	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;

		if (o < GDMA_REG_MAP_SIZE)
			out[i] = regs[o];
		else if (o >= GDMA_MODEL_SHM_OFFSET && o < GDMA_MODEL_SHM_OFFSET + GDMA_SMC_SIZE)
			out[i] = m->smc[o - GDMA_MODEL_SHM_OFFSET];
	}
	return 0;
}

/*
 * Runs the SMC message the driver just completed by writing the header dword and
 * answers in place: same type and version, direction = response, a status byte, and
 * owner_is_pf clear (the driver owns the aperture again).
 */
static void smc_run(struct gdma_model *m)
{
	uint32_t hdr;
	uint8_t status = 1;

	memcpy(&hdr, m->smc + GDMA_SMC_HDR_OFFSET, sizeof(hdr));
	if (hdr & GDMA_SMC_HDR_RESPONSE)
		return; /* a response is not a request */
	if (hdr & GDMA_SMC_HDR_RESET_VF) {
		gdma__queues_reset(m);
		gdma__mana_reset(m);
		m->hwc_up = false;
	}
	switch (GDMA_SMC_HDR_TYPE(hdr)) {
	case GDMA_SMC_MSG_ESTABLISH_HWC:
		status = gdma__hwc_establish(m);
		break;
	case GDMA_SMC_MSG_DESTROY_HWC:
		gdma__hwc_destroy(m);
		status = 0;
		break;
	}
	hdr = GDMA_SMC_HDR(GDMA_SMC_HDR_TYPE(hdr), GDMA_SMC_HDR_VERSION(hdr)) |
	      GDMA_SMC_HDR_RESPONSE | ((uint32_t)status << GDMA_SMC_HDR_STATUS_SHIFT);
	memcpy(m->smc + GDMA_SMC_HDR_OFFSET, &hdr, sizeof(hdr));
}

int gdma_model_bar_write(struct gdma_model *m, uint64_t off, const void *buf, size_t len)
{
	const uint64_t smc_end = GDMA_MODEL_SHM_OFFSET + GDMA_SMC_SIZE;
	const uint8_t *in = buf;
	bool smc_hdr_written = false;
	uint64_t val;

	if (!bar_access_ok(m, off, len))
		return -EINVAL;
	if (off >= GDMA_MODEL_DB_PAGE_OFFSET) {
		if (len != sizeof(val) ||
		    off + len > GDMA_MODEL_DB_PAGE_OFFSET + GDMA_MODEL_DB_PAGE_SIZE) {
			m->stats.bad_doorbells++;
			return 0;
		}
		memcpy(&val, buf, sizeof(val));
		gdma__doorbell(m, (uint32_t)(off - GDMA_MODEL_DB_PAGE_OFFSET), val);
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		uint64_t o = off + i;

		if (o < GDMA_MODEL_SHM_OFFSET || o >= smc_end)
			continue; /* registers are read-only */
		m->smc[o - GDMA_MODEL_SHM_OFFSET] = in[i];
		/* The header's top byte completes the message (Linux writes dwords in order). */
		if (o == smc_end - 1)
			smc_hdr_written = true;
	}
	if (smc_hdr_written)
		smc_run(m);
	return 0;
}
