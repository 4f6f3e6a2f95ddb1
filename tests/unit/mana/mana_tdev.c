/* SPDX-License-Identifier: MIT */
#include "mana_tdev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "macros.h"
#include "mana_internal.h"
#include "test.h"

static const uint8_t model_mac[6] = {0x00, 0x15, 0x5d, 0x12, 0x34, 0x56};

static struct tdev *to_t(struct devaccess *d)
{
	return container_of(d, struct tdev, da);
}

/* ---- the model's host interface ---- */

static void *model_dma_ptr(void *ctx, uint64_t iova, size_t len)
{
	struct tdev *t = ctx;

	for (unsigned i = 0; i < t->nmaps; i++) {
		struct tdev_map *m = &t->maps[i];

		if (iova >= m->iova && len <= m->len && iova - m->iova <= m->len - len)
			return m->va + (iova - m->iova);
	}
	return NULL;
}

static void model_irq(void *ctx, uint32_t vector)
{
	struct tdev *t = ctx;
	uint64_t one = 1;

	if (vector < t->nirq && t->irq_fds[vector] >= 0)
		(void)!write(t->irq_fds[vector], &one, sizeof(one));
}

static void model_frame_out(void *ctx, const void *data, size_t len)
{
	struct tdev *t = ctx;

	ASSERT_LE(len, MANA_BUF_SIZE);
	if (t->nout < TDEV_MAX_OUT) {
		memcpy(t->out[t->nout], data, len);
		t->out_len[t->nout++] = len;
	}
}

/* ---- the transport ---- */

static int t_bar_read(struct devaccess *d, unsigned bar, uint64_t off, void *buf, size_t len)
{
	if (bar != 0)
		return -EINVAL;
	return gdma_model_bar_read(to_t(d)->m, off, buf, len);
}

static int t_bar_write(struct devaccess *d, unsigned bar, uint64_t off, const void *buf, size_t len)
{
	struct tdev *t = to_t(d);
	uint64_t val = 0;
	int r;

	if (bar != 0)
		return -EINVAL;
	t->bar_writes++;
	if (t->drop_doorbells && off >= GDMA_MODEL_DB_PAGE_OFFSET)
		return 0;
	r = gdma_model_bar_write(t->m, off, buf, len);
	memcpy(&val, buf, len < 8 ? len : 8);
	/* The model answered the HWC request synchronously: rewrite the answer's type. */
	if (t->tamper_hwc_type && off == GDMA_MODEL_DB_PAGE_OFFSET + GDMA_DB_OFF_SQ &&
	    GDMA_DB_ID(val) == t->drv->hwc_sq.id) {
		uint32_t type;

		memcpy(&type, t->drv->hwc_resp + offsetof(struct gdma_msg_hdr, msg_type), 4);
		type++;
		memcpy(t->drv->hwc_resp + offsetof(struct gdma_msg_hdr, msg_type), &type, 4);
		t->tamper_hwc_type = false;
	}
	return r;
}

static int t_config_read(struct devaccess *d, uint32_t off, void *buf, size_t len)
{
	return gdma_model_config_read(to_t(d)->m, off, buf, len);
}

static int t_config_write(struct devaccess *d, uint32_t off, const void *buf, size_t len)
{
	(void)d, (void)off, (void)buf, (void)len;
	return 0;
}

static bool overlaps(const struct tdev *t, uint64_t iova, uint64_t len)
{
	for (unsigned i = 0; i < t->nmaps; i++)
		if (iova < t->maps[i].iova + t->maps[i].len && t->maps[i].iova < iova + len)
			return true;
	return false;
}

/* lib/mana always names its memory by fd, which the device maps (below). */
static int t_dma_map(struct devaccess *d, void *va, uint64_t iova, uint64_t len)
{
	(void)d, (void)va;
	TEST_FAIL_("DMA map of %#" PRIx64 "+%#" PRIx64 " without an fd: lib/mana names its "
		   "memory by fd",
		   iova, len);
}

/* Like a vfio-user emulator: the device maps the fd itself, so the pages stay reachable
 * after the driver unmapped them or died. */
static int t_dma_map_fd(struct devaccess *d, int fd, uint64_t fd_offset, void *va, uint64_t iova,
			uint64_t len)
{
	struct tdev *t = to_t(d);
	void *p;

	(void)va;
	if (overlaps(t, iova, len))
		return -EEXIST;
	if (t->nmaps == TDEV_MAX_MAPS)
		return -ENOSPC;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)fd_offset);
	if (p == MAP_FAILED)
		return -errno;
	t->maps[t->nmaps++] = (struct tdev_map){.va = p, .iova = iova, .len = len};
	return 0;
}

static int t_dma_unmap(struct devaccess *d, uint64_t iova, uint64_t len)
{
	struct tdev *t = to_t(d);

	for (unsigned i = 0; i < t->nmaps; i++) {
		if (t->maps[i].iova == iova && t->maps[i].len == len) {
			munmap(t->maps[i].va, len);
			t->maps[i] = t->maps[--t->nmaps];
			return 0;
		}
	}
	return -ENOENT;
}

static void close_irqs(struct tdev *t)
{
	for (unsigned i = 0; i < t->nirq; i++)
		if (t->irq_fds[i] >= 0)
			close(t->irq_fds[i]);
	t->nirq = 0;
}

static int t_irq_set(struct devaccess *d, const int *fds, unsigned n)
{
	struct tdev *t = to_t(d);

	close_irqs(t);
	for (unsigned i = 0; i < n; i++)
		t->irq_fds[i] = fds[i] >= 0 ? dup(fds[i]) : -1;
	t->nirq = n;
	t->irq_sets++;
	return 0;
}

static int t_iova_ranges(struct devaccess *d, struct devaccess_iova_range *r, unsigned max,
			 unsigned *ret_n)
{
	(void)d, (void)r, (void)max;
	*ret_n = 0;
	return 0;
}

static unsigned t_kept_fds(struct devaccess *d, int *fds, unsigned max)
{
	(void)d, (void)fds, (void)max;
	return 0;
}

void tdev_forget(struct tdev *t)
{
	for (unsigned i = 0; i < t->nmaps; i++)
		munmap(t->maps[i].va, t->maps[i].len);
	t->nmaps = 0;
	close_irqs(t);
}

static void t_destroy(struct devaccess *d)
{
	struct tdev *t = to_t(d);

	tdev_forget(t);
	gdma_model_free(t->m);
	free(t);
}

static const struct devaccess_ops t_ops = {
    .kind = "test",
    .bar_read = t_bar_read,
    .bar_write = t_bar_write,
    .config_read = t_config_read,
    .config_write = t_config_write,
    .dma_map = t_dma_map,
    .dma_map_fd = t_dma_map_fd,
    .dma_unmap = t_dma_unmap,
    .irq_set = t_irq_set,
    .iova_ranges = t_iova_ranges,
    .kept_fds = t_kept_fds,
    .destroy = t_destroy,
};

static const struct gdma_model_ops model_ops = {
    .dma_ptr = model_dma_ptr, .irq = model_irq, .frame_out = model_frame_out};

struct tdev *tdev_new(void)
{
	struct gdma_model_config cfg = {.max_queues = 2, .msix_count = 8};
	struct tdev *t = calloc(1, sizeof(*t));

	ASSERT_TRUE(t);
	memcpy(cfg.mac, model_mac, sizeof(model_mac));
	t->m = gdma_model_new(&cfg, &model_ops, t);
	ASSERT_TRUE(t->m);
	t->da.ops = &t_ops;
	t->da.bars[0].size = GDMA_MODEL_BAR0_SIZE;
	t->da.irq_count = cfg.msix_count;
	ASSERT_OK(devaccess__read_pci_id(&t->da));
	ASSERT_EQ(t->da.id.device, GDMA_PCI_DEVICE_MANA_VF);
	return t;
}

struct mana_opts tdev_opts(unsigned nq)
{
	return (struct mana_opts){.nr_queues = nq, .mem_iova = TDEV_MEM_IOVA, .timeout_ms = 2000};
}

struct tdev *tdev_bring_up(unsigned nq)
{
	struct tdev *t = tdev_new();
	struct mana_opts o = tdev_opts(nq);

	ASSERT_OK(mana_dev_init(&t->da, &o, &t->drv));
	return t;
}

void tdev_free(struct tdev *t)
{
	mana_dev_close(t->drv);
	devaccess_close(&t->da);
}

void tdev_make_frame(uint8_t *f, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
	memcpy(f, model_mac, 6);
	f[12] = 0x08; /* IPv4 */
	f[13] = 0x00;
}

void tdev_assert_device_clean(struct tdev *t)
{
	struct gdma_model_stats ms;

	gdma_model_get_stats(t->m, &ms);
	ASSERT_UEQ(ms.hwc_errors, 0);
	ASSERT_UEQ(ms.hwc_dropped, 0);
	ASSERT_UEQ(ms.bad_doorbells, 0);
	ASSERT_UEQ(ms.bad_wqes, 0);
	ASSERT_UEQ(ms.dma_errors, 0);
	ASSERT_UEQ(ms.tx_errors, 0);
}

void tdev_assert_driver_clean(struct tdev *t)
{
	struct mana_stats s;

	mana_dev_stats(t->drv, &s);
	ASSERT_UEQ(s.bad_owner, 0);
	ASSERT_UEQ(s.bad_eqes, 0);
	ASSERT_UEQ(s.bad_cqes, 0);
	ASSERT_UEQ(s.bad_hwc_responses, 0);
	ASSERT_UEQ(s.hwc_errors, 0);
}
