/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target 'ipc-body': the body check every decoder of peer bytes runs
 * (ipc_body_check, ipc_body_unpack). Input: a byte choosing the message
 * (InspectReply and other nesting or repeated peer messages), a byte
 * choosing the nesting bound, then the body. Oracles: no crash, no stack
 * overflow in protobuf-c (sanitizers); only the documented errors; a looser
 * bound never refuses what a tighter one took; ipc_body_unpack agrees with
 * the check; and what protobuf-c unpacked re-packs to a body that passes the
 * check again under the same bound.
 */
#include <errno.h>
#include <stdlib.h>

#include "bus.pb-c.h"
#include "diag.pb-c.h"
#include "ipc.h"
#include "vmbus.pb-c.h"

#define CHECK(e)                                                                                   \
	do {                                                                                       \
		if (!(e))                                                                          \
			abort();                                                                   \
	} while (0)

static const ProtobufCMessageDescriptor *const descs[] = {
    &mhcl__inspect_reply__descriptor,
    &mhcl__node__descriptor,
    &mhcl__error_reply__descriptor,
    &mhcl__ps_reply__descriptor,
    &mhcl__logs_reply__descriptor,
    &mhcl__fd_store_request__descriptor,
    &mhcl__vmbus__worker_partition__descriptor,
    &mhcl__vmbus__vmbusd_channel_open__descriptor,
    &mhcl__vmbus__vmbusd_gpadl_add__descriptor,
};

static bool known_error(int r)
{
	return r == -EBADMSG || r == -ELOOP || r == -E2BIG;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t repacked[2 * IPC_BODY_MAX];
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage *m = NULL;
	unsigned depth_max;
	size_t n;
	int r, u;

	if (size < 2)
		return 0;
	desc = descs[data[0] % (sizeof(descs) / sizeof(descs[0]))];
	/* 0..IPC_DECODE_DEPTH_MAX + 1: the top one must be capped. */
	depth_max = data[1] % (IPC_DECODE_DEPTH_MAX + 2);
	data += 2;
	size -= 2;

	r = ipc_body_check(desc, data, size, depth_max);
	CHECK(r == 0 || known_error(r));
	if (r == 0)
		CHECK(ipc_body_check(desc, data, size, IPC_DECODE_DEPTH_MAX) == 0);
	if (r == -EBADMSG || r == -E2BIG) /* found before any nesting bound */
		CHECK(ipc_body_check(desc, data, size, 0) != 0);

	u = ipc_body_unpack(desc, data, size, depth_max, &m);
	if (size > IPC_BODY_MAX) {
		CHECK(u == -EMSGSIZE && !m);
		return 0;
	}
	if (r < 0) {
		CHECK(u == r && !m);
		return 0;
	}
	CHECK(u == 0 || u == -EBADMSG);
	if (u < 0) {
		CHECK(!m);
		return 0;
	}
	/* Merged duplicates and packed arrays only shrink a message. */
	n = protobuf_c_message_get_packed_size(m);
	CHECK(n <= sizeof(repacked));
	protobuf_c_message_pack(m, repacked);
	CHECK(ipc_body_check(desc, repacked, n, depth_max) == 0);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
