/* SPDX-License-Identifier: MIT */
/* lib/nvme/identify.c: Identify Controller, Identify Namespace and the active namespace
 * list, from pages built here; what is taken, what is cleaned up, what is refused. */
#include <errno.h>

#include "nvme_internal.h"
#include "test.h"

static void test_ctrl(void)
{
	struct nvme_id_ctrl id = {0};
	struct nvme_ctrl_info info;

	memset(id.mn, ' ', sizeof(id.mn));
	memcpy(id.mn, "QEMU NVMe Ctrl\x01", 15);
	memcpy(id.sn, "serial-1", 8); /* NUL padded: NULs read as spaces, then trimmed */
	id.mdts = 7;
	id.sqes = 0x66;
	id.cqes = 0x44;
	id.nn = 3;
	id.oncs = NVME_ONCS_DSM;
	id.vwc = 1;
	ASSERT_OK(nvme_parse_id_ctrl(&id, &info));
	ASSERT_STREQ(info.model, "QEMU NVMe Ctrl?");
	ASSERT_STREQ(info.serial, "serial-1");
	ASSERT_STREQ(info.firmware, "");
	ASSERT_EQ(info.mdts_bytes, 512 * 1024);
	ASSERT_EQ(info.nn, 3);
	ASSERT_TRUE(info.vwc);
	ASSERT_TRUE(info.dsm);

	id.mdts = 0;
	id.sqes = 0;
	id.oncs = 0;
	ASSERT_OK(nvme_parse_id_ctrl(&id, &info));
	ASSERT_EQ(info.mdts_bytes, 0);
	ASSERT_FALSE(info.dsm);
	id.mdts = 25; /* beyond 2 GiB: no limit of the controller's */
	ASSERT_OK(nvme_parse_id_ctrl(&id, &info));
	ASSERT_EQ(info.mdts_bytes, 0);

	id.sqes = 0x77; /* 128-byte entries at least: not ours */
	ASSERT_EQ(nvme_parse_id_ctrl(&id, &info), -EPROTO);
	id.sqes = 0x66;
	id.cqes = 0x55;
	ASSERT_EQ(nvme_parse_id_ctrl(&id, &info), -EPROTO);
}

static void test_ns(void)
{
	struct nvme_id_ns id = {0};
	struct nvme_ns_info ns;

	ASSERT_EQ(nvme_parse_id_ns(&id, 1, &ns), -ENXIO);
	id.nsze = 1000;
	id.nlbaf = 1;
	id.lbaf[0].lbads = 9;
	id.lbaf[1].lbads = 12;
	id.flbas = 1;
	id.eui64[7] = 0x42;
	ASSERT_OK(nvme_parse_id_ns(&id, 7, &ns));
	ASSERT_EQ(ns.nsid, 7);
	ASSERT_EQ(ns.nblocks, 1000);
	ASSERT_EQ(ns.block_size, 4096);
	ASSERT_EQ(ns.id_len, 8);
	ASSERT_EQ(ns.id[7], 0x42);
	id.nguid[0] = 1;
	ASSERT_OK(nvme_parse_id_ns(&id, 7, &ns));
	ASSERT_EQ(ns.id_len, 16);

	id.flbas = 2; /* beyond nlbaf */
	ASSERT_EQ(nvme_parse_id_ns(&id, 7, &ns), -EPROTO);
	id.flbas = 0;
	id.lbaf[0].ms = 8;
	ASSERT_EQ(nvme_parse_id_ns(&id, 7, &ns), -ENOTSUP);
	id.lbaf[0].ms = 0;
	id.lbaf[0].lbads = 13;
	ASSERT_EQ(nvme_parse_id_ns(&id, 7, &ns), -ENOTSUP);
	id.lbaf[0].lbads = 0;
	ASSERT_EQ(nvme_parse_id_ns(&id, 7, &ns), -ENOTSUP);
	id.lbaf[0].lbads = 9;
	id.nsze = UINT64_MAX >> 8;
	ASSERT_EQ(nvme_parse_id_ns(&id, 7, &ns), -EPROTO);
}

static void test_ns_list(void)
{
	uint32_t page[NVME_NSLIST_MAX] = {1, 2, 5, 0, 9};
	uint32_t ids[2];

	ASSERT_EQ(nvme_parse_ns_list(page, 8, ids, 2), 2);
	ASSERT_EQ(ids[1], 2);
	ASSERT_EQ(nvme_parse_ns_list(page, 4, ids, 2), -EPROTO);
	page[1] = 1;
	ASSERT_EQ(nvme_parse_ns_list(page, 8, ids, 2), -EPROTO);
	for (unsigned i = 0; i < NVME_NSLIST_MAX; i++)
		page[i] = i + 1;
	ASSERT_EQ(nvme_parse_ns_list(page, 0, ids, 2), 2);
}

int main(void)
{
	test_ctrl();
	test_ns();
	test_ns_list();
	return 0;
}
