/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'mana-cqe': what a hostile GDMA device writes, fed to lib/mana's checks.
 * Byte 0 picks the consumer, bytes 1..4 the queue id the driver expects, the rest is the
 * device's data: an HWC completion, an HWC response, an RX or TX completion, an EQE, or
 * a whole one-page CQ ring read with the owner-bit reader. Every accepted entry must
 * satisfy what its consumer relies on (ids match, lengths inside the buffer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mana_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ring(const uint8_t *data, size_t size, bool is_eq)
{
	static uint8_t page[MANA_QUEUE_BYTES];
	struct mana_cq q;
	uint8_t entry[GDMA_CQE_SIZE];
	unsigned n = 0;

	memset(page, 0, sizeof(page));
	memcpy(page, data, size < sizeof(page) ? size : sizeof(page));
	mana__cq_init(&q, page, sizeof(page), is_eq);
	/* Every entry is new at most once per pass: the reader stops within one ring. */
	while (mana__cq_next(&q, entry) == 1) {
		if (++n > q.entries)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gdma_cqe cqe = {0};
	struct gdma_eqe eqe = {0};
	struct mana_hwc_done hd;
	struct mana_rx_done rd;
	uint32_t id, type;

	if (size < 5)
		return 0;
	memcpy(&id, data + 1, sizeof(id));
	id &= 0xffffffu;
	memcpy(&cqe, data + 5, size - 5 < sizeof(cqe) ? size - 5 : sizeof(cqe));
	memcpy(&eqe, data + 5, size - 5 < sizeof(eqe) ? size - 5 : sizeof(eqe));
	switch (data[0] % 6) {
	case 0:
		if (mana__hwc_cqe_check(&cqe, id, id + 1, 0x20, MANA_HWC_MSG_SIZE, &hd) == 0 &&
		    !hd.is_sq &&
		    (hd.resp_len < sizeof(struct gdma_resp_hdr) || hd.resp_len > MANA_HWC_MSG_SIZE))
			abort();
		break;
	case 1:
		if (mana__hwc_resp_check(data + 5, (uint32_t)(size - 5), id, (uint16_t)id, 40) ==
		    0) {
			struct gdma_resp_hdr h;

			memcpy(&h, data + 5, sizeof(h));
			if (h.response.msg_type != id || h.response.msg_size > size - 5 ||
			    h.response.msg_size < 40)
				abort();
		}
		break;
	case 2:
		if (mana__rx_cqe_check(&cqe, id, &rd) == 0 && !rd.fence &&
		    (rd.len == 0 || rd.len > MANA_BUF_SIZE || GDMA_CQE_WQ_NUM(cqe.info) != id))
			abort();
		break;
	case 3:
		if (mana__tx_cqe_check(&cqe, id, &type) == 0 &&
		    (!(cqe.info & GDMA_CQE_IS_SQ) || GDMA_CQE_WQ_NUM(cqe.info) != id))
			abort();
		break;
	case 4:
		(void)mana__eqe_check(&eqe, &id, 1);
		break;
	case 5:
		ring(data + 5, size - 5, data[1] & 1);
		break;
	}
	return 0;
}
