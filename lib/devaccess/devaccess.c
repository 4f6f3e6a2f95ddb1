/* SPDX-License-Identifier: MIT */
/* The transport-independent half of device access: register accessors, identity, bus
 * mastering, IOVA range checks. */
#include <errno.h>
#include <string.h>

#include "devaccess.h"

#define PCI_CFG_VENDOR 0x00u
#define PCI_CFG_COMMAND 0x04u
#define PCI_CFG_REVISION 0x08u
#define PCI_CFG_SUBSYS_VENDOR 0x2cu
#define PCI_COMMAND_MEMORY (1u << 1)
#define PCI_COMMAND_MASTER (1u << 2)

/* A mapped BAR is reached with single loads and stores of the access width: the device
 * decodes each access, so the compiler must neither split nor merge them. */
static bool bar_mapped(struct devaccess *d, unsigned bar, uint64_t off, size_t len)
{
	const struct devaccess_bar *b;

	if (bar >= DEVACCESS_NBARS)
		return false;
	b = &d->bars[bar];
	return b->map && off <= b->size && len <= b->size - off;
}

uint32_t devaccess_read32(struct devaccess *d, unsigned bar, uint64_t off)
{
	uint32_t v;

	if (bar_mapped(d, bar, off, 4))
		return *(volatile uint32_t *)(d->bars[bar].map + off);
	if (d->ops->bar_read(d, bar, off, &v, sizeof(v)) < 0)
		return UINT32_MAX;
	return v;
}

void devaccess_write32(struct devaccess *d, unsigned bar, uint64_t off, uint32_t val)
{
	if (bar_mapped(d, bar, off, 4)) {
		*(volatile uint32_t *)(d->bars[bar].map + off) = val;
		return;
	}
	/* A lost write shows up as the device not doing what was asked; the driver's
	 * timeouts and status checks catch that. */
	(void)d->ops->bar_write(d, bar, off, &val, sizeof(val));
}

uint64_t devaccess_read64(struct devaccess *d, unsigned bar, uint64_t off)
{
	uint64_t lo = devaccess_read32(d, bar, off);
	uint64_t hi = devaccess_read32(d, bar, off + 4);

	return lo | hi << 32;
}

void devaccess_write64(struct devaccess *d, unsigned bar, uint64_t off, uint64_t val)
{
	devaccess_write32(d, bar, off, (uint32_t)val);
	devaccess_write32(d, bar, off + 4, (uint32_t)(val >> 32));
}

int devaccess_dma_map(struct devaccess *d, void *va, uint64_t iova, uint64_t len)
{
	if (!len || ((uintptr_t)va | iova | len) & 4095u || iova + len - 1 < iova)
		return -EINVAL;
	return d->ops->dma_map(d, va, iova, len);
}

int devaccess_dma_map_fd(struct devaccess *d, int fd, uint64_t fd_offset, void *va, uint64_t iova,
			 uint64_t len)
{
	if (fd < 0)
		return -EBADF;
	if (fd_offset & 4095u || fd_offset + len < fd_offset)
		return -EINVAL;
	if (!d->ops->dma_map_fd)
		return devaccess_dma_map(d, va, iova, len);
	if (!len || ((uintptr_t)va | iova | len) & 4095u || iova + len - 1 < iova)
		return -EINVAL;
	return d->ops->dma_map_fd(d, fd, fd_offset, va, iova, len);
}

int devaccess_dma_unmap(struct devaccess *d, uint64_t iova, uint64_t len)
{
	if (!len || (iova | len) & 4095u)
		return -EINVAL;
	return d->ops->dma_unmap(d, iova, len);
}

int devaccess_irq_set(struct devaccess *d, const int *fds, unsigned n)
{
	if (n > d->irq_count)
		return -EINVAL;
	return d->ops->irq_set(d, fds, n);
}

int devaccess_bus_master(struct devaccess *d, bool on)
{
	uint16_t cmd, want;
	int r;

	r = d->ops->config_read(d, PCI_CFG_COMMAND, &cmd, sizeof(cmd));
	if (r < 0)
		return r;
	want = on ? cmd | PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY
		  : cmd & (uint16_t)~PCI_COMMAND_MASTER;
	if (want == cmd)
		return 0;
	return d->ops->config_write(d, PCI_CFG_COMMAND, &want, sizeof(want));
}

int devaccess_iova_ranges(struct devaccess *d, struct devaccess_iova_range *r, unsigned max,
			  unsigned *ret_n)
{
	unsigned n = 0;
	int ret;

	if (!max)
		return -EINVAL;
	if (d->ops->iova_ranges) {
		ret = d->ops->iova_ranges(d, r, max, &n);
		if (ret < 0)
			return ret;
	}
	if (!n) {
		r[0] = (struct devaccess_iova_range){0, UINT64_MAX};
		n = 1;
	}
	*ret_n = n;
	return 0;
}

bool devaccess_iova_allowed(struct devaccess *d, uint64_t iova, uint64_t len)
{
	struct devaccess_iova_range r[DEVACCESS_MAX_IOVA_RANGES];
	unsigned n;

	if (!len || iova + len - 1 < iova)
		return false;
	if (devaccess_iova_ranges(d, r, DEVACCESS_MAX_IOVA_RANGES, &n) < 0)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (iova >= r[i].start && iova + len - 1 <= r[i].last)
			return true;
	return false;
}

unsigned devaccess_kept_fds(struct devaccess *d, int *fds, unsigned max)
{
	return d->ops->kept_fds ? d->ops->kept_fds(d, fds, max) : 0;
}

int devaccess__read_pci_id(struct devaccess *d)
{
	uint8_t cfg[0x30];
	int r;

	r = d->ops->config_read(d, 0, cfg, sizeof(cfg));
	if (r < 0)
		return r;
	memcpy(&d->id.vendor, cfg + PCI_CFG_VENDOR, 2);
	memcpy(&d->id.device, cfg + PCI_CFG_VENDOR + 2, 2);
	d->id.revision = cfg[PCI_CFG_REVISION];
	d->id.class_code = (uint32_t)cfg[0x0b] << 16 | (uint32_t)cfg[0x0a] << 8 | cfg[0x09];
	memcpy(&d->id.subsys_vendor, cfg + PCI_CFG_SUBSYS_VENDOR, 2);
	memcpy(&d->id.subsys_device, cfg + PCI_CFG_SUBSYS_VENDOR + 2, 2);
	if (d->id.vendor == 0xffff)
		return -ENODEV;
	return 0;
}

void devaccess_close(struct devaccess *d)
{
	if (d)
		d->ops->destroy(d);
}
