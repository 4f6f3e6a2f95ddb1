/* SPDX-License-Identifier: MIT */
/*
 * Identify data (NVMe Base 1.4, 5.15) is the device's word: each page is copied into a
 * private struct first, then every field the driver uses is checked against what the
 * driver can do.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "nvme_internal.h"

/* ASCII fields are space padded; anything unprintable becomes '?', so the strings are
 * always safe to log. */
static void copy_ascii(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t n = srclen < dstlen - 1 ? srclen : dstlen - 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[i] = ch == 0 ? ' ' : (ch < 0x20 || ch > 0x7e) ? '?' : (char)ch;
	}
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

/* Entry sizes are log2 minimum (3:0) and maximum (7:4); 0 means the field is not
 * reported (early controllers), which only the fixed sizes can be. */
static bool entry_size_ok(uint8_t f, unsigned want)
{
	unsigned lo = f & 0xfu, hi = f >> 4;

	return f == 0 || (lo <= want && want <= hi);
}

int nvme_parse_id_ctrl(const void *page, struct nvme_ctrl_info *ret)
{
	struct nvme_id_ctrl id;
	struct nvme_ctrl_info info = {0};

	memcpy(&id, page, sizeof(id));
	if (!entry_size_ok(id.sqes, NVME_SQES_LOG2) || !entry_size_ok(id.cqes, NVME_CQES_LOG2))
		return -EPROTO;
	copy_ascii(info.model, sizeof(info.model), id.mn, sizeof(id.mn));
	copy_ascii(info.serial, sizeof(info.serial), id.sn, sizeof(id.sn));
	copy_ascii(info.firmware, sizeof(info.firmware), id.fr, sizeof(id.fr));
	info.vid = le16toh(id.vid);
	info.ver = le32toh(id.ver);
	info.nn = le32toh(id.nn);
	/* In units of the minimum page size, which the driver requires to be 4 KiB; a
	 * limit beyond 2 GiB is no limit for us. */
	info.mdts_bytes =
	    id.mdts && id.mdts < 32 - NVME_PAGE_SHIFT ? 1u << (id.mdts + NVME_PAGE_SHIFT) : 0;
	info.vwc = id.vwc & NVME_VWC_PRESENT;
	info.dsm = le16toh(id.oncs) & NVME_ONCS_DSM;
	*ret = info;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int nvme_parse_id_ns(const void *page, uint32_t nsid, struct nvme_ns_info *ret)
{
	struct nvme_id_ns id;
	struct nvme_ns_info info = {.nsid = nsid};
	struct nvme_lbaf f;
	unsigned fmt;
	uint64_t nsze;

	memcpy(&id, page, sizeof(id));
	nsze = le64toh(id.nsze);
	if (!nsze)
		return -ENXIO;
	fmt = NVME_FLBAS_FORMAT(id.flbas);
	if (fmt > id.nlbaf || fmt >= NVME_MAX_LBAF)
		return -EPROTO;
	f = id.lbaf[fmt];
	if (le16toh(f.ms))
		return -ENOTSUP;
	if (f.lbads < 9 || f.lbads > NVME_PAGE_SHIFT)
		return -ENOTSUP;
	if (nsze > UINT64_MAX >> f.lbads)
		return -EPROTO;
	info.nblocks = nsze;
	info.block_size = 1u << f.lbads;
	if (!all_zero(id.nguid, sizeof(id.nguid))) {
		memcpy(info.id, id.nguid, sizeof(id.nguid));
		info.id_len = sizeof(id.nguid);
	} else if (!all_zero(id.eui64, sizeof(id.eui64))) {
		memcpy(info.id, id.eui64, sizeof(id.eui64));
		info.id_len = sizeof(id.eui64);
	}
	*ret = info;
	return 0;
}

int nvme_parse_ns_list(const void *page, uint32_t nn, uint32_t *ids, unsigned max)
{
	uint32_t prev = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < NVME_NSLIST_MAX; i++) {
		uint32_t id;

		memcpy(&id, (const uint8_t *)page + i * sizeof(id), sizeof(id));
		id = le32toh(id);
		if (!id)
			break;
		if (id <= prev || (nn && id > nn) || id == UINT32_MAX)
			return -EPROTO;
		prev = id;
		if (n < max)
			ids[n++] = id;
	}
	return (int)n;
}
