/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'vmbus-ic': guest answers to the host side of the heartbeat
 * and shutdown integration components. Byte 0 picks the IC (bit 0) and the
 * shutdown flags (bits 1-3); the rest is a sequence of packets, each
 * {len u16 little-endian, bytes}. Before each packet the host sends what its
 * state allows (negotiate, heartbeat or shutdown), then the packet is fed
 * back as the guest's answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[IC_MSG_MAX];
	struct vmbus_ic ic;
	size_t i = 1;

	if (size < 1)
		return 0;
	vmbus_ic_init(&ic, data[0] & 1 ? VMBUS_IC_SHUTDOWN : VMBUS_IC_HEARTBEAT);
	while (i + 2 <= size) {
		size_t len = (size_t)data[i] | (size_t)data[i + 1] << 8;
		ssize_t n = 0;

		i += 2;
		if (len > size - i)
			len = size - i;
		if (ic.state == VMBUS_IC_IDLE)
			n = vmbus_ic_negotiate_request(&ic, out, sizeof(out));
		else if (ic.state == VMBUS_IC_READY && ic.kind == VMBUS_IC_HEARTBEAT)
			n = vmbus_ic_heartbeat_request(&ic, out, sizeof(out));
		else if (ic.state == VMBUS_IC_READY)
			n = vmbus_ic_shutdown_request(&ic, out, sizeof(out), (data[0] >> 1) & 7, 0,
						      0, "fuzz");
		if (n > (ssize_t)sizeof(out))
			abort();

		int r = vmbus_ic_receive(&ic, data + i, len);
		if (r >= _VMBUS_IC_EV_MAX || (r < 0 && r != -EBADMSG && r != -EPROTO))
			abort();
		if ((unsigned)ic.state >= _VMBUS_IC_STATE_MAX)
			abort();
		struct ic_msg_hdr h;
		size_t body;
		if (vmbus_ic_parse_hdr(data + i, len, &h, &body) == 0 &&
		    body > len - IC_BODY_OFFSET)
			abort();
		i += len;
	}
	return 0;
}
