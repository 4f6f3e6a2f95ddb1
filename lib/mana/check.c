/* SPDX-License-Identifier: MIT */
/*
 * Checks of what the device wrote, on private copies: HWC completions and responses,
 * TX/RX completions, EQ entries. Pure functions (no device, no memory but the copy), so
 * the fuzz target drives them directly.
 */
#include <errno.h>
#include <string.h>

#include "mana_internal.h"

int mana__hwc_cqe_check(const struct gdma_cqe *cqe, uint32_t sq_id, uint32_t rq_id, uint32_t rq_off,
			uint32_t buf_size, struct mana_hwc_done *ret)
{
	struct gdma_hwc_rx_oob oob;
	bool is_sq = (cqe->info & GDMA_CQE_IS_SQ) != 0;
	uint32_t wq = GDMA_CQE_WQ_NUM(cqe->info);

	memcpy(&oob, cqe->data, sizeof(oob));
	if (is_sq) {
		if (wq != sq_id)
			return -EPROTO;
		*ret = (struct mana_hwc_done){.is_sq = true};
		return 0;
	}
	if (wq != rq_id || oob.wqe_offset != rq_off ||
	    oob.tx_oob_data_size < sizeof(struct gdma_resp_hdr) || oob.tx_oob_data_size > buf_size)
		return -EPROTO;
	*ret = (struct mana_hwc_done){.resp_len = oob.tx_oob_data_size};
	return 0;
}

/*
 * A response answers the request in flight when it echoes its msg_type and hwc_msg_id,
 * claims a size it actually delivered, and is at least as long as the caller needs.
 * Returns 0, -EPROTO for a response that breaks those rules, -ESTALE for one that answers
 * another (earlier) request, -EOPNOTSUPP/-EIO for a failure status.
 */
int mana__hwc_resp_check(const void *resp, uint32_t len, uint32_t msg_type, uint16_t msg_id,
			 uint32_t min_size)
{
	struct gdma_resp_hdr h;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, resp, sizeof(h));
	if (h.response.hwc_msg_id != msg_id)
		return -ESTALE;
	if (h.response.msg_type != msg_type || h.response.hdr_type != GDMA_STANDARD_HEADER_TYPE ||
	    h.response.msg_version < GDMA_MESSAGE_V1 || h.response.msg_size < sizeof(h) ||
	    h.response.msg_size > len)
		return -EPROTO;
	if (h.status == GDMA_STATUS_CMD_UNSUPPORTED)
		return -EOPNOTSUPP;
	if (h.status != GDMA_STATUS_SUCCESS)
		return -EIO;
	if (h.response.msg_size < min_size)
		return -EPROTO;
	return 0;
}

int mana__rx_cqe_check(const struct gdma_cqe *cqe, uint32_t rq_id, struct mana_rx_done *ret)
{
	struct mana_rxcomp_oob oob;
	uint32_t len;

	memcpy(&oob, cqe->data, sizeof(oob));
	if ((cqe->info & GDMA_CQE_IS_SQ) || GDMA_CQE_WQ_NUM(cqe->info) != rq_id ||
	    MANA_CQE_HDR_CLIENT_TYPE(oob.cqe_hdr) != MANA_CQE_COMPLETION)
		return -EPROTO;
	switch (MANA_CQE_HDR_TYPE(oob.cqe_hdr)) {
	case MANA_CQE_RX_OKAY:
		break;
	case MANA_CQE_RX_OBJECT_FENCE:
		*ret = (struct mana_rx_done){.fence = true};
		return 0;
	case MANA_CQE_RX_TRUNCATED:
		return -EMSGSIZE;
	default:
		return -EPROTO;
	}
	len = MANA_RXCOMP_PKT_LEN(oob.ppi[0].pkt_len);
	if (len == 0 || len > MANA_BUF_SIZE)
		return -EMSGSIZE;
	*ret = (struct mana_rx_done){.len = len, .flags = oob.flags};
	return 0;
}

int mana__tx_cqe_check(const struct gdma_cqe *cqe, uint32_t sq_id, uint32_t *ret_type)
{
	struct mana_tx_comp_oob oob;
	uint32_t type;

	memcpy(&oob, cqe->data, sizeof(oob));
	if (!(cqe->info & GDMA_CQE_IS_SQ) || GDMA_CQE_WQ_NUM(cqe->info) != sq_id ||
	    MANA_CQE_HDR_CLIENT_TYPE(oob.cqe_hdr) != MANA_CQE_COMPLETION)
		return -EPROTO;
	type = MANA_CQE_HDR_TYPE(oob.cqe_hdr);
	if (type < MANA_CQE_TX_OKAY || type > MANA_CQE_TX_VLAN_TAGGING_VIOLATION)
		return -EPROTO;
	*ret_type = type;
	return 0;
}

/* A queue pair's EQ carries completion events for its own CQs (and test events). */
int mana__eqe_check(const struct gdma_eqe *eqe, const uint32_t *cq_ids, unsigned n)
{
	uint32_t cq;

	switch (GDMA_EQE_TYPE(eqe->info)) {
	case GDMA_EQE_TEST_EVENT:
		return 0;
	case GDMA_EQE_COMPLETION:
		cq = eqe->details[0] & 0xffffffu;
		for (unsigned i = 0; i < n; i++)
			if (cq_ids[i] == cq)
				return 0;
		return -EPROTO;
	}
	return -EPROTO;
}
