/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'nvme-identify': arbitrary 4096-byte pages (shorter inputs are zero
 * padded) parsed as Identify Controller, Identify Namespace and an active namespace list.
 * Whatever a parser accepts must be within what the driver relies on: strings terminated
 * and printable, block sizes a power of two in 512..4096, capacities that fit in bytes,
 * namespace IDs ascending and in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nvme_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
	if (n && s[n - 1] == ' ')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *page = calloc(1, NVME_ID_PAGE_SIZE);
	struct nvme_ctrl_info ci;
	struct nvme_ns_info ns;
	uint32_t ids[NVME_MAX_NS];
	int n;

	memcpy(page, data, size < NVME_ID_PAGE_SIZE ? size : NVME_ID_PAGE_SIZE);

	if (nvme_parse_id_ctrl(page, &ci) == 0) {
		check_str(ci.model, sizeof(ci.model));
		check_str(ci.serial, sizeof(ci.serial));
		check_str(ci.firmware, sizeof(ci.firmware));
		if (ci.mdts_bytes &&
		    (ci.mdts_bytes < NVME_PAGE_SIZE || (ci.mdts_bytes & (ci.mdts_bytes - 1))))
			abort();
	}
	if (nvme_parse_id_ns(page, 1, &ns) == 0) {
		if (ns.block_size < 512 || ns.block_size > 4096 ||
		    (ns.block_size & (ns.block_size - 1)) || !ns.nblocks ||
		    ns.nblocks > UINT64_MAX / ns.block_size || ns.nsid != 1)
			abort();
		if (ns.id_len != 0 && ns.id_len != 8 && ns.id_len != 16)
			abort();
	}
	n = nvme_parse_ns_list(page, 1000, ids, NVME_MAX_NS);
	if (n > (int)NVME_MAX_NS)
		abort();
	for (int i = 0; i < n; i++)
		if (!ids[i] || ids[i] > 1000 || (i && ids[i] <= ids[i - 1]))
			abort();
	free(page);
	return 0;
}
