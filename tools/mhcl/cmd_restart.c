/* SPDX-License-Identifier: MIT */
/* mhcl restart SERVER: planned restart; prints the new pid. */
#include <stdio.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "json.h"
#include "mhcl.h"

int cmd_restart(struct mhcl_ctx *c)
{
	Mhcl__RestartRequest req = MHCL__RESTART_REQUEST__INIT;
	const char *name = c->args->pos[0];
	ProtobufCMessage *m;
	int r, pid;

	if (!diag_name_valid(name, strlen(name)))
		return mhcl_fail(c, MHCL_CLI_USAGE, "invalid server name '%s'", name);
	req.server = (char *)name;
	r = mhcl_call(c, IPC_MSG_RESTART, &req.base, &mhcl__restart_reply__descriptor, &m);
	if (r != MHCL_CLI_OK)
		return r;
	pid = ((Mhcl__RestartReply *)m)->pid;
	protobuf_c_message_free_unpacked(m, NULL);
	if (c->args->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		json_obj_begin(&w);
		json_key(&w, "server");
		json_str(&w, name);
		json_key(&w, "pid");
		json_i64(&w, pid);
		json_obj_end(&w);
		json_finish(&w);
	} else {
		if (pid > 0)
			printf("restarted %s: pid %d\n", name, pid);
		else /* diag restarting itself answers before it goes */
			printf("restarting %s: under way (this connection ends with it)\n", name);
	}
	return MHCL_CLI_OK;
}
