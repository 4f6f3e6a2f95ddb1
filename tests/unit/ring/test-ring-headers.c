/* SPDX-License-Identifier: MIT */
/* Each ring header compiles on its own (this file includes nothing before them). */
#include "defs/vmbus_ring_defs.h"
#include "vmbus_ring.h"
#include "defs/vmbus_ring_defs.h"

int main(void)
{
	/* The wire layout as seen from C, beside the header's own static_asserts. */
	struct vmbus_ring_control c = {.feature_bits = VMBUS_RING_FEAT_PENDING_SEND_SZ};
	const uint8_t *b = (const uint8_t *)&c;
	if (b[64] != 1 || sizeof(struct vmbus_packet_desc) != 16 ||
	    offsetof(struct vmbus_ring_control, pending_send_sz) != 12)
		return 1;
	return 0;
}
