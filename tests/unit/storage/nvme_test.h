/* SPDX-License-Identifier: MIT */
/* What the lib/nvme tests over the test device share: a completion recorder, a device
 * with the test's "guest RAM" mapped at NVME_TEST_GUEST_BASE, a controller brought up. */
#ifndef MHCL_TESTS_NVME_TEST_H
#define MHCL_TESTS_NVME_TEST_H

#include "fake_nvme.h"
#include "nvme.h"
#include "test.h"

#define NVME_TEST_STATE_IOVA 0x100000000ull
#define NVME_TEST_GUEST_BASE 0x10000000ull /* IOVA of guest physical 0 */
#define NVME_TEST_NBLOCKS 4096u

struct nvme_test_rec {
	int calls;
	int err;
};

static inline void nvme_test_done(void *opaque, int err, uint16_t status)
{
	struct nvme_test_rec *r = opaque;

	r->calls++;
	r->err = err;
}

/* A device with a disk of NVME_TEST_NBLOCKS 512-byte blocks; guest (len bytes) mapped. */
static inline struct fake_nvme *nvme_test_device(void *guest, uint64_t len)
{
	struct fake_nvme *f = fake_nvme_new(NVME_TEST_NBLOCKS, 512);

	ASSERT_TRUE(f);
	ASSERT_OK(devaccess_dma_map(&f->da, guest, NVME_TEST_GUEST_BASE, len));
	return f;
}

static inline struct nvme_ctrl *nvme_test_bring_up(struct fake_nvme *f, unsigned nq, unsigned depth)
{
	struct nvme_opts o = {.nr_io_queues = nq,
			      .io_queue_depth = depth,
			      .state_iova = NVME_TEST_STATE_IOVA,
			      .cmd_timeout_ms = 1000};
	struct nvme_ctrl *c = NULL;

	ASSERT_OK(nvme_ctrl_init(&f->da, &o, &c));
	return c;
}

#endif
