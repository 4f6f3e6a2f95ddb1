/* SPDX-License-Identifier: MIT */
/* mhcl config: the effective manifest, printed as device-tree source. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "dts.h"
#include "json.h"
#include "mhcl.h"

int cmd_config(struct mhcl_ctx *c)
{
	Mhcl__ConfigRequest req = MHCL__CONFIG_REQUEST__INIT;
	Mhcl__ConfigReply *reply;
	ProtobufCMessage *m;
	int r;

	r = mhcl_call(c, IPC_MSG_CONFIG, &req.base, &mhcl__config_reply__descriptor, &m);
	if (r != MHCL_CLI_OK)
		return r;
	reply = (Mhcl__ConfigReply *)m;
	if (c->args->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		r = dts_print_json(&w, reply->dtb.data, reply->dtb.len);
		if (r == 0)
			json_finish(&w);
	} else {
		r = dts_print(stdout, reply->dtb.data, reply->dtb.len);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	if (r < 0)
		return mhcl_fail(c, MHCL_CLI_REMOTE, "the manifest is not a valid device tree: %s",
				 strerror(-r));
	return MHCL_CLI_OK;
}
