/* SPDX-License-Identifier: MIT */
/*
 * mhcl guest shutdown [REASON]   ask the guest to power off (shutdown IC)
 * mhcl guest reboot [REASON]     ask the guest to restart
 *
 * IPC_MSG_GUEST_SHUTDOWN: diagd validates it, init forwards it to the server named
 * "ic" (mhcl-icd), which sends the request over the guest's shutdown channel and
 * answers once the guest accepted or refused it.
 */
#include <stdio.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "json.h"
#include "mhcl.h"
#include "util.h"
#include "vmbus.pb-c.h"

int cmd_guest(struct mhcl_ctx *c)
{
	const struct mhcl_args *a = c->args;
	Mhcl__Vmbus__GuestShutdownRequest req = MHCL__VMBUS__GUEST_SHUTDOWN_REQUEST__INIT;
	ProtobufCMessage *m;
	int r;

	if (a->npos < 1 || (strcmp(a->pos[0], "shutdown") && strcmp(a->pos[0], "reboot")) ||
	    a->npos > 2)
		return mhcl_fail(c, MHCL_CLI_USAGE, "usage: mhcl guest shutdown|reboot [REASON]");
	req.reboot = strcmp(a->pos[0], "reboot") == 0;
	req.reason = (char *)(a->npos == 2 ? a->pos[1] : "mhcl guest shutdown");
	r = mhcl_call(c, IPC_MSG_GUEST_SHUTDOWN, &req.base,
		      &mhcl__vmbus__guest_shutdown_reply__descriptor, &m);
	if (r != MHCL_CLI_OK)
		return r;
	const Mhcl__Vmbus__GuestShutdownReply *rep = (const Mhcl__Vmbus__GuestShutdownReply *)m;
	uint32_t status = rep->status;
	if (a->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		json_obj_begin(&w);
		json_key(&w, "accepted");
		json_bool(&w, status == 0);
		json_key(&w, "status");
		json_u64(&w, status);
		json_obj_end(&w);
		json_finish(&w);
	} else if (status == 0) {
		printf("the guest accepted the %s request\n", req.reboot ? "restart" : "shutdown");
	} else {
		printf("the guest refused the %s request (status %#x)\n",
		       req.reboot ? "restart" : "shutdown", status);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return status == 0 ? MHCL_CLI_OK : MHCL_CLI_REMOTE;
}
