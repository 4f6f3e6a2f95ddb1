/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'rndis-packet': a hostile guest's data packets through rndis_parse_packet,
 * with the bytes copied and the bytes that exist chosen by the input; the IP header fixes
 * run over the frame's start, and a receive header built from the result parses back.
 * Invariants: the frame lies within msg_avail; a checksum request lies within the frame;
 * a frame is no longer than max_frame, or NET_MAX_GSO_FRAME with LSO.
 *
 * Input: u16 head_len, u32 msg_avail, u8 flags (bit 0: rx_csum, bit 1: max_frame 9230),
 * then the message bytes (head_len is cut to them).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rndis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rndis_state st = {0};
	struct rndis_tx tx;
	const char *why = NULL;
	uint32_t head_len, msg_avail, max_frame, len;
	uint8_t *msg;

	if (size < 7)
		return 0;
	head_len = (uint32_t)(data[0] | data[1] << 8);
	memcpy(&msg_avail, data + 2, 4);
	st.rx_csum = data[6] & 1 ? NET_OFFLOAD_CAP_RX_CSUM : 0;
	max_frame = data[6] & 2 ? NET_MAX_FRAME : 1514;
	data += 7;
	size -= 7;
	len = size > 70000 ? 70000 : (uint32_t)size;
	if (head_len > len)
		head_len = len;
	/* Exactly head_len bytes: ASan catches any read past what the caller copied. */
	msg = malloc(head_len ? head_len : 1);
	if (!msg)
		abort();
	memcpy(msg, data, head_len);

	int r = rndis_parse_packet(msg, head_len, msg_avail, max_frame, &st, &tx, &why);
	free(msg);
	if (r < 0) {
		if (!why || (r != -EBADMSG && r != -EMSGSIZE))
			abort();
		return 0;
	}
	if ((uint64_t)tx.frame_offset + tx.frame_len > msg_avail)
		abort();
	if (tx.frame_len > (tx.offload.gso_type ? NET_MAX_GSO_FRAME : max_frame))
		abort();
	if ((tx.offload.flags & NET_OFFLOAD_CSUM) &&
	    (uint32_t)tx.offload.csum_start + tx.offload.csum_offset + 2 > tx.frame_len)
		abort();
	if (tx.offload.gso_type && (!tx.offload.gso_size || !(tx.offload.flags & NET_OFFLOAD_CSUM)))
		abort();

	/* The frame's first bytes, where the input has them, in a private copy. */
	uint8_t hdr[128] = {0};
	uint32_t hdr_len = 0;
	if (tx.frame_offset < len) {
		hdr_len = len - tx.frame_offset;
		if (hdr_len > sizeof(hdr))
			hdr_len = sizeof(hdr);
		memcpy(hdr, data + tx.frame_offset, hdr_len);
	}
	if (rndis_tx_fix_headers(hdr, hdr_len, &tx, &why) < 0 && !why)
		abort();

	/* What the host would send back for the same frame. */
	struct rndis_rx_info info = {.offload = tx.offload,
				     .has_vlan = tx.has_vlan,
				     .vlan_tci = tx.vlan_tci,
				     .has_hash = true,
				     .hash = tx.frame_len};
	uint8_t *rx = malloc(RNDIS_RX_HEADER_MAX);
	if (!rx)
		abort();
	uint32_t n = rndis_rx_header(rx, tx.frame_len, &st, &info);
	if (n > RNDIS_RX_HEADER_MAX || rndis_msg_type(rx, n) != RNDIS_MSG_PACKET)
		abort();
	struct rndis_tx back;
	st.rx_csum = 0; /* the receive checksum bits mean something else on transmit */
	n = rndis_rx_header(rx, tx.frame_len, &st, &info);
	if (rndis_parse_packet(rx, n, n + tx.frame_len, NET_MAX_GSO_FRAME, &st, &back, &why) < 0 ||
	    back.frame_offset != n || back.frame_len != tx.frame_len ||
	    back.has_vlan != tx.has_vlan || (tx.has_vlan && back.vlan_tci != tx.vlan_tci))
		abort();
	free(rx);
	return 0;
}
