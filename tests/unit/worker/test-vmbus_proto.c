/* SPDX-License-Identifier: MIT */
/* proto/vmbus.proto: the worker's bus messages round-trip through protobuf-c. */
#include <stdbool.h>

#include "test.h"
#include "vmbus.pb-c.h"

int main(void)
{
	uint8_t payload[240], wire[512];
	Mhcl__Vmbus__WorkerGuestMessage m = MHCL__VMBUS__WORKER_GUEST_MESSAGE__INIT, *out;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	m.vp = 3;
	m.connection_id = 4;
	m.message_type = 1;
	m.payload.data = payload;
	m.payload.len = sizeof(payload);
	size_t n = mhcl__vmbus__worker_guest_message__get_packed_size(&m);
	ASSERT_LE(n, sizeof(wire));
	ASSERT_EQ(mhcl__vmbus__worker_guest_message__pack(&m, wire), n);
	out = mhcl__vmbus__worker_guest_message__unpack(NULL, n, wire);
	ASSERT_TRUE(out != NULL);
	ASSERT_EQ(out->vp, 3);
	ASSERT_EQ(out->connection_id, 4);
	ASSERT_EQ(out->payload.len, sizeof(payload));
	ASSERT_TRUE(memcmp(out->payload.data, payload, sizeof(payload)) == 0);
	mhcl__vmbus__worker_guest_message__free_unpacked(out, NULL);
	/* Truncated input is refused. */
	ASSERT_TRUE(mhcl__vmbus__worker_guest_message__unpack(NULL, n - 1, wire) == NULL);

	Mhcl__Vmbus__WorkerSynicPages p = MHCL__VMBUS__WORKER_SYNIC_PAGES__INIT, *po;
	p.vp = 1;
	p.enabled = true;
	p.siefp_gpa = 0x5420000;
	n = mhcl__vmbus__worker_synic_pages__pack(&p, wire);
	po = mhcl__vmbus__worker_synic_pages__unpack(NULL, n, wire);
	ASSERT_TRUE(po != NULL);
	ASSERT_UEQ(po->siefp_gpa, 0x5420000);
	ASSERT_TRUE(po->enabled);
	mhcl__vmbus__worker_synic_pages__free_unpacked(po, NULL);
	return 0;
}
