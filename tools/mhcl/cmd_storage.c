/* SPDX-License-Identifier: MIT */
/*
 * mhcl storage attach [CONTROLLER:]LUN   make a declared LUN present (the guest finds it)
 * mhcl storage detach [CONTROLLER:]LUN   take it away (the guest removes it)
 *
 * IPC_MSG_STORAGE_LUN: diagd validates it, init forwards it to the server named "storage"
 * (mhcl-storaged), which asks the guest to rescan the controller's bus.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "json.h"
#include "mhcl.h"
#include "storage.pb-c.h"
#include "util.h"

static int parse_lun(const char *s, uint32_t *ctrl, uint32_t *lun)
{
	char *end;
	unsigned long a = strtoul(s, &end, 10);
	if (end == s)
		return -1;
	if (*end == ':') {
		const char *l = end + 1;
		unsigned long b = strtoul(l, &end, 10);
		if (end == l || *end || a > 255 || b > 255)
			return -1;
		*ctrl = (uint32_t)a;
		*lun = (uint32_t)b;
		return 0;
	}
	if (*end || a > 255)
		return -1;
	*ctrl = 0;
	*lun = (uint32_t)a;
	return 0;
}

int cmd_storage(struct mhcl_ctx *c)
{
	const struct mhcl_args *a = c->args;
	Mhcl__Storage__StorageLunRequest req = MHCL__STORAGE__STORAGE_LUN_REQUEST__INIT;
	ProtobufCMessage *m;
	int r;

	if (a->npos != 2 || (strcmp(a->pos[0], "attach") && strcmp(a->pos[0], "detach")) ||
	    parse_lun(a->pos[1], &req.controller, &req.lun) < 0)
		return mhcl_fail(c, MHCL_CLI_USAGE,
				 "usage: mhcl storage attach|detach [CONTROLLER:]LUN");
	req.present = strcmp(a->pos[0], "attach") == 0;
	r = mhcl_call(c, IPC_MSG_STORAGE_LUN, &req.base,
		      &mhcl__storage__storage_lun_reply__descriptor, &m);
	if (r != MHCL_CLI_OK)
		return r;
	const Mhcl__Storage__StorageLunReply *rep = (const Mhcl__Storage__StorageLunReply *)m;
	if (a->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		json_obj_begin(&w);
		json_key(&w, "changed");
		json_bool(&w, rep->changed);
		json_key(&w, "rescan");
		json_bool(&w, rep->rescan);
		json_obj_end(&w);
		json_finish(&w);
	} else {
		printf("controller %u LUN %u %s%s\n", req.controller, req.lun,
		       !rep->changed ? "was already " : "", req.present ? "attached" : "detached");
		if (rep->changed)
			printf(rep->rescan ? "the guest was asked to rescan its bus\n"
					   : "the guest has not opened the controller yet\n");
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return MHCL_CLI_OK;
}
