/* SPDX-License-Identifier: MIT */
/* mhcl kill SERVER [--signal SIG] [--fault syscall|abort|hang]: signals or fault injection. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "json.h"
#include "mhcl.h"

int cmd_kill(struct mhcl_ctx *c)
{
	const struct mhcl_args *a = c->args;
	Mhcl__KillRequest req = MHCL__KILL_REQUEST__INIT;
	const char *name = a->pos[0];
	ProtobufCMessage *m;
	int r, sig;

	if (!diag_name_valid(name, strlen(name)))
		return mhcl_fail(c, MHCL_CLI_USAGE, "invalid server name '%s'", name);
	if ((a->opts_seen & MHCL_OPT_SIGNAL) && (a->opts_seen & MHCL_OPT_FAULT))
		return mhcl_fail(c, MHCL_CLI_USAGE, "--signal and --fault are exclusive");
	req.server = (char *)name;
	req.signal = a->signal;
	req.fault = (Mhcl__FaultKind)a->fault;
	r = mhcl_call(c, IPC_MSG_KILL, &req.base, &mhcl__empty__descriptor, &m);
	if (r != MHCL_CLI_OK)
		return r;
	protobuf_c_message_free_unpacked(m, NULL);
	sig = a->signal ? a->signal : SIGKILL;
	if (a->json) {
		struct json_writer w;
		json_init(&w, stdout, false);
		json_obj_begin(&w);
		json_key(&w, "server");
		json_str(&w, name);
		if (a->fault) {
			json_key(&w, "fault");
			json_str(&w, mhcl_fault_name(a->fault));
		} else {
			json_key(&w, "signal");
			json_i64(&w, sig);
		}
		json_obj_end(&w);
		json_finish(&w);
	} else if (a->fault) {
		printf("asked %s to fault: %s\n", name, mhcl_fault_name(a->fault));
	} else {
		const char *sn = mhcl_signal_name(sig);
		if (sn)
			printf("sent SIG%s to %s\n", sn, name);
		else
			printf("sent signal %d to %s\n", sig, name);
	}
	return MHCL_CLI_OK;
}
