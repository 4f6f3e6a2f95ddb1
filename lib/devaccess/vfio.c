/* SPDX-License-Identifier: MIT */
/*
 * The VFIO transport (Linux 6.1: container and group API, type1v2 IOMMU; REFERENCES.md
 * section 10 "NVMe through VFIO").
 *
 * Opening: the function's IOMMU group comes from sysfs; the group joins a fresh container,
 * which gets the type1v2 IOMMU; the device fd comes from the group. Getting the device fd
 * is what makes vfio-pci enable and reset the function, so adoption never does it: it
 * checks the three inherited fds and only reads region and interrupt information.
 *
 * BARs that allow it are mmap'ed (uncached: each load or store is one MMIO access); the
 * rest go through pread/pwrite on the device fd at the region's offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devaccess.h"
#include "macros.h"

struct vfio_dev {
	struct devaccess da;
	int container;
	int group;
	int device;
	uint64_t bar_off[DEVACCESS_NBARS];
	uint64_t cfg_off;
	uint64_t cfg_size;
	struct devaccess_iova_range ranges[DEVACCESS_MAX_IOVA_RANGES];
	unsigned nranges;
};

static struct vfio_dev *to_vfio(struct devaccess *d)
{
	return container_of(d, struct vfio_dev, da);
}

static int rw_region(int fd, uint64_t base, uint64_t size, uint64_t off, void *buf, size_t len,
		     bool write)
{
	ssize_t n;

	if (off > size || len > size - off)
		return -ERANGE;
	if (write)
		n = pwrite(fd, buf, len, (off_t)(base + off));
	else
		n = pread(fd, buf, len, (off_t)(base + off));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int vfio_bar_read(struct devaccess *d, unsigned bar, uint64_t off, void *buf, size_t len)
{
	struct vfio_dev *v = to_vfio(d);

	if (bar >= DEVACCESS_NBARS)
		return -EINVAL;
	return rw_region(v->device, v->bar_off[bar], d->bars[bar].size, off, buf, len, false);
}

static int vfio_bar_write(struct devaccess *d, unsigned bar, uint64_t off, const void *buf,
			  size_t len)
{
	struct vfio_dev *v = to_vfio(d);

	if (bar >= DEVACCESS_NBARS)
		return -EINVAL;
	return rw_region(v->device, v->bar_off[bar], d->bars[bar].size, off, (void *)buf, len,
			 true);
}

static int vfio_config_read(struct devaccess *d, uint32_t off, void *buf, size_t len)
{
	struct vfio_dev *v = to_vfio(d);

	return rw_region(v->device, v->cfg_off, v->cfg_size, off, buf, len, false);
}

static int vfio_config_write(struct devaccess *d, uint32_t off, const void *buf, size_t len)
{
	struct vfio_dev *v = to_vfio(d);

	return rw_region(v->device, v->cfg_off, v->cfg_size, off, (void *)buf, len, true);
}

static int vfio_dma_map(struct devaccess *d, void *va, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_map m = {
	    .argsz = sizeof(m),
	    .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	    .vaddr = (uintptr_t)va,
	    .iova = iova,
	    .size = len,
	};

	return ioctl(to_vfio(d)->container, VFIO_IOMMU_MAP_DMA, &m) < 0 ? -errno : 0;
}

static int vfio_dma_unmap(struct devaccess *d, uint64_t iova, uint64_t len)
{
	struct vfio_iommu_type1_dma_unmap u = {
	    .argsz = sizeof(u),
	    .iova = iova,
	    .size = len,
	};

	return ioctl(to_vfio(d)->container, VFIO_IOMMU_UNMAP_DMA, &u) < 0 ? -errno : 0;
}

static int set_msix(int device, const int *fds, unsigned n)
{
	size_t sz = sizeof(struct vfio_irq_set) + n * sizeof(int32_t);
	_cleanup_free_ struct vfio_irq_set *s = calloc(1, sz);

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)sz;
	s->flags =
	    VFIO_IRQ_SET_ACTION_TRIGGER | (n ? VFIO_IRQ_SET_DATA_EVENTFD : VFIO_IRQ_SET_DATA_NONE);
	s->index = VFIO_PCI_MSIX_IRQ_INDEX;
	s->start = 0;
	s->count = n;
	for (unsigned i = 0; i < n; i++) {
		int32_t fd = fds[i];
		memcpy(s->data + i * sizeof(fd), &fd, sizeof(fd));
	}
	return ioctl(device, VFIO_DEVICE_SET_IRQS, s) < 0 ? -errno : 0;
}

static int vfio_irq_set(struct devaccess *d, const int *fds, unsigned n)
{
	struct vfio_dev *v = to_vfio(d);
	int r = set_msix(v->device, fds, n);

	/* Linux 6.1 sizes the MSI-X block once, when it is enabled: a block set up with fewer
	 * vectors (by a previous instance) must be torn down and set again. The device's
	 * interrupts meanwhile are lost, which the driver covers by polling its queues. */
	if (r == -EINVAL && n) {
		r = set_msix(v->device, NULL, 0);
		if (r == 0)
			r = set_msix(v->device, fds, n);
	}
	return r;
}

static int vfio_iova_ranges(struct devaccess *d, struct devaccess_iova_range *r, unsigned max,
			    unsigned *ret_n)
{
	struct vfio_dev *v = to_vfio(d);
	unsigned n = MIN(max, v->nranges);

	memcpy(r, v->ranges, n * sizeof(*r));
	*ret_n = n;
	return 0;
}

static unsigned vfio_kept_fds(struct devaccess *d, int *fds, unsigned max)
{
	struct vfio_dev *v = to_vfio(d);
	int all[DEVACCESS_VFIO_NFDS] = {v->container, v->group, v->device};
	unsigned n = MIN(max, DEVACCESS_VFIO_NFDS);

	memcpy(fds, all, n * sizeof(int));
	return n;
}

static void vfio_destroy(struct devaccess *d)
{
	struct vfio_dev *v = to_vfio(d);

	for (unsigned i = 0; i < DEVACCESS_NBARS; i++)
		if (d->bars[i].map)
			munmap((void *)d->bars[i].map, d->bars[i].size);
	/* Device first: the group cannot leave its container while a device fd is open. */
	closep(&v->device);
	closep(&v->group);
	closep(&v->container);
	free(v);
}

static const struct devaccess_ops vfio_ops = {
    .kind = "vfio",
    .bar_read = vfio_bar_read,
    .bar_write = vfio_bar_write,
    .config_read = vfio_config_read,
    .config_write = vfio_config_write,
    .dma_map = vfio_dma_map,
    .dma_unmap = vfio_dma_unmap,
    .irq_set = vfio_irq_set,
    .iova_ranges = vfio_iova_ranges,
    .kept_fds = vfio_kept_fds,
    .destroy = vfio_destroy,
};

/* Walks the VFIO_IOMMU_GET_INFO capability chain (kernel data, but still bounded: offsets
 * inside the buffer, a fixed number of hops) for the IOVA range list. */
static void read_iova_ranges(struct vfio_dev *v)
{
	struct vfio_iommu_type1_info probe = {.argsz = sizeof(probe)};
	_cleanup_free_ uint8_t *buf = NULL;
	struct vfio_iommu_type1_info *info;
	uint32_t off, size;

	v->nranges = 0;
	if (ioctl(v->container, VFIO_IOMMU_GET_INFO, &probe) < 0)
		return;
	if (!(probe.flags & VFIO_IOMMU_INFO_CAPS) || probe.argsz <= sizeof(probe) ||
	    probe.argsz > 65536)
		return;
	size = probe.argsz;
	buf = calloc(1, size);
	if (!buf)
		return;
	info = (struct vfio_iommu_type1_info *)buf;
	info->argsz = size;
	if (ioctl(v->container, VFIO_IOMMU_GET_INFO, info) < 0 || !info->cap_offset)
		return;
	off = info->cap_offset;
	for (int hops = 0; hops < 32 && off; hops++) {
		struct vfio_info_cap_header h;

		if (off < sizeof(*info) || off > size || size - off < sizeof(h))
			return;
		memcpy(&h, buf + off, sizeof(h));
		if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range c;
			uint32_t n;

			if (size - off < sizeof(c))
				return;
			memcpy(&c, buf + off, sizeof(c));
			n = c.nr_iovas;
			if (n > (size - off - sizeof(c)) / sizeof(struct vfio_iova_range))
				return;
			for (uint32_t i = 0; i < n && v->nranges < DEVACCESS_MAX_IOVA_RANGES; i++) {
				struct vfio_iova_range r;

				memcpy(&r, buf + off + sizeof(c) + i * sizeof(r), sizeof(r));
				if (r.end < r.start)
					continue;
				v->ranges[v->nranges++] =
				    (struct devaccess_iova_range){r.start, r.end};
			}
			return;
		}
		off = h.next;
	}
}

static void map_bar(struct vfio_dev *v, unsigned i, const struct vfio_region_info *ri)
{
	void *p;

	if (!(ri->flags & VFIO_REGION_INFO_FLAG_MMAP) || ri->size & 4095u || ri->size > SIZE_MAX)
		return;
	p = mmap(NULL, ri->size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device, (off_t)ri->offset);
	/* A BAR whose MSI-X table may not be mapped (sparse mmap) stays on pread/pwrite. */
	if (p != MAP_FAILED)
		v->da.bars[i].map = p;
}

/* Everything after the fds are known: regions, BAR mappings, interrupts, IOVA ranges. */
static int vfio_setup(struct vfio_dev *v)
{
	struct vfio_device_info di = {.argsz = sizeof(di)};
	struct vfio_irq_info ii = {.argsz = sizeof(ii), .index = VFIO_PCI_MSIX_IRQ_INDEX};
	struct vfio_region_info ri;

	if (ioctl(v->device, VFIO_DEVICE_GET_INFO, &di) < 0)
		return -errno;
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) || di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return -EINVAL;
	ri = (struct vfio_region_info){.argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX};
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0)
		return -errno;
	v->cfg_off = ri.offset;
	v->cfg_size = ri.size;
	for (unsigned i = 0; i < DEVACCESS_NBARS; i++) {
		ri = (struct vfio_region_info){.argsz = sizeof(ri),
					       .index = VFIO_PCI_BAR0_REGION_INDEX + i};
		if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &ri) < 0 || !ri.size)
			continue;
		v->bar_off[i] = ri.offset;
		v->da.bars[i].size = ri.size;
		map_bar(v, i, &ri);
	}
	if (di.num_irqs > VFIO_PCI_MSIX_IRQ_INDEX &&
	    ioctl(v->device, VFIO_DEVICE_GET_IRQ_INFO, &ii) == 0 &&
	    (ii.flags & VFIO_IRQ_INFO_EVENTFD))
		v->da.irq_count = ii.count;
	read_iova_ranges(v);
	return devaccess__read_pci_id(&v->da);
}

static struct vfio_dev *vfio_dev_new(void)
{
	struct vfio_dev *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->da.ops = &vfio_ops;
	v->container = v->group = v->device = -1;
	return v;
}

/* "dddd:bb:dd.f", lower or upper case hex: the only shape that goes into a sysfs path. */
static bool pci_addr_valid(const char *a)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (strlen(a) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'x' ? !strchr("0123456789abcdefABCDEF", a[i]) || !a[i]
				    : a[i] != shape[i])
			return false;
	}
	return true;
}

static int iommu_group_of(const char *pci_addr, unsigned *ret)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	char *end;
	unsigned long g;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", pci_addr);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	errno = 0;
	g = strtoul(base, &end, 10);
	if (errno || end == base || *end || g > INT_MAX)
		return -EINVAL;
	*ret = (unsigned)g;
	return 0;
}

int devaccess_vfio_open(const char *pci_addr, struct devaccess **ret)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	char path[64];
	struct vfio_dev *v;
	unsigned group;
	int r;

	if (!pci_addr_valid(pci_addr))
		return -EINVAL;
	r = iommu_group_of(pci_addr, &group);
	if (r < 0)
		return r;
	v = vfio_dev_new();
	if (!v)
		return -ENOMEM;
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		r = -errno;
		goto err_free;
	}
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		r = -ENOTSUP;
		goto err_free;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	v->group = open(path, O_RDWR | O_CLOEXEC);
	if (v->group < 0) {
		r = -errno;
		goto err_free;
	}
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &st) < 0) {
		r = -errno;
		goto err_free;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		r = -EBUSY;
		goto err_free;
	}
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0 ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		r = -errno;
		goto err_free;
	}
	/* This is where vfio-pci enables the function and resets it (first open). */
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, pci_addr);
	if (v->device < 0) {
		r = -errno;
		goto err_free;
	}
	(void)fcntl(v->device, F_SETFD, FD_CLOEXEC);
	r = vfio_setup(v);
	if (r < 0)
		goto err_free;
	*ret = &v->da;
	return 0;

err_free:
	vfio_destroy(&v->da);
	return r;
}

int devaccess_vfio_adopt(int container_fd, int group_fd, int device_fd, struct devaccess **ret)
{
	struct vfio_group_status st = {.argsz = sizeof(st)};
	struct vfio_dev *v;
	int r;

	if (container_fd < 0 || group_fd < 0 || device_fd < 0)
		return -EBADF;
	if (ioctl(container_fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return -EINVAL;
	if (ioctl(group_fd, VFIO_GROUP_GET_STATUS, &st) < 0)
		return errno == ENOTTY ? -EINVAL : -errno;
	if ((st.flags & (VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET)) !=
	    (VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET))
		return -EINVAL;
	v = vfio_dev_new();
	if (!v)
		return -ENOMEM;
	v->container = container_fd;
	v->group = group_fd;
	v->device = device_fd;
	v->da.adopted = true;
	r = vfio_setup(v);
	if (r < 0) {
		/* Not ours to close on failure. */
		v->container = v->group = v->device = -1;
		vfio_destroy(&v->da);
		return r;
	}
	(void)fcntl(container_fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(group_fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(device_fd, F_SETFD, FD_CLOEXEC);
	*ret = &v->da;
	return 0;
}
