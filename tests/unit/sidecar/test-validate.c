/* SPDX-License-Identifier: MIT */
/* diagd's checks on the sidecar requests (lib/diagproto/validate.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "diag_validate.h"
#include "sidecar.pb-c.h"
#include "test.h"

static int check(uint16_t type, const ProtobufCMessage *m)
{
	uint8_t buf[256];
	char why[160] = "";
	ProtobufCMessage *out = NULL;
	size_t len = protobuf_c_message_pack(m, buf);
	int r = diag_request_parse(type, buf, len, why, sizeof(why), &out);

	if (out)
		protobuf_c_message_free_unpacked(out, NULL);
	if (r < 0)
		printf("type %u refused: %s\n", type, why);
	return r;
}

int main(void)
{
	Mhcl__SidecarOnlineRequest on = MHCL__SIDECAR_ONLINE_REQUEST__INIT;
	Mhcl__SidecarChecksumRequest ck = MHCL__SIDECAR_CHECKSUM_REQUEST__INIT;

	on.cpu = 3;
	ASSERT_OK(check(IPC_MSG_SIDECAR_ONLINE, &on.base));
	on.cpu = 0; /* the boot CPU is Linux's */
	ASSERT_EQ(check(IPC_MSG_SIDECAR_ONLINE, &on.base), -EINVAL);
	on.cpu = 256;
	ASSERT_EQ(check(IPC_MSG_SIDECAR_ONLINE, &on.base), -EINVAL);

	ck.cpu = 2;
	ASSERT_OK(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base)); /* default range */
	ck.addr = 0x800000;
	ck.len = 4096;
	ASSERT_OK(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base));
	ck.len = 3 * 4096;
	ASSERT_OK(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base));
	/* Byte-sized or unaligned ranges would read memory a byte at a time. */
	ck.len = 1;
	ASSERT_EQ(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base), -EINVAL);
	ck.len = 4095;
	ASSERT_EQ(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base), -EINVAL);
	ck.len = 4096 + 1;
	ASSERT_EQ(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base), -EINVAL);
	ck.addr = 0x800001;
	ck.len = 4096;
	ASSERT_EQ(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base), -EINVAL);
	ck.addr = 0x800000;
	ck.len = 2 * 1024 * 1024;
	ASSERT_EQ(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base), -EINVAL);
	ck.len = 0; /* address without length */
	ASSERT_EQ(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base), -EINVAL);
	ck.addr = UINT64_MAX - 4095; /* aligned, but wraps */
	ck.len = 8192;
	ASSERT_EQ(check(IPC_MSG_SIDECAR_CHECKSUM, &ck.base), -EINVAL);

	/* A body that does not unpack is refused. */
	uint8_t junk[] = {0xff, 0xff, 0xff};
	char why[160];
	ProtobufCMessage *out = NULL;
	ASSERT_EQ(diag_request_parse(IPC_MSG_SIDECAR_ONLINE, junk, sizeof(junk), why, sizeof(why),
				     &out),
		  -EBADMSG);
	ASSERT_STREQ(diag_type_name(IPC_MSG_SIDECAR_ONLINE), "sidecar-online");
	ASSERT_TRUE(diag_reply_descriptor(IPC_MSG_SIDECAR_CHECKSUM) ==
		    &mhcl__sidecar_checksum_reply__descriptor);
	printf("sidecar diag validation: ok\n");
	return 0;
}
