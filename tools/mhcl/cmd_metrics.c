/* SPDX-License-Identifier: MIT */
/* mhcl metrics: ps and every server's inspect counters for Prometheus (rules in metrics.h). */
#include <stdio.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "metrics.h"
#include "mhcl.h"

int cmd_metrics(struct mhcl_ctx *c)
{
	Mhcl__PsRequest ps_req = MHCL__PS_REQUEST__INIT;
	Mhcl__DiagInspectRequest in_req = MHCL__DIAG_INSPECT_REQUEST__INIT;
	ProtobufCMessage *ps = NULL, *tree = NULL;
	struct metrics m = {0};
	int r;

	/* Both answers before any output: a scrape is whole or fails. */
	r = mhcl_call(c, IPC_MSG_PS, &ps_req.base, &mhcl__ps_reply__descriptor, &ps);
	if (r != MHCL_CLI_OK)
		return r;
	in_req.server = "";
	in_req.path = "";
	r = mhcl_call(c, IPC_MSG_DIAG_INSPECT, &in_req.base, &mhcl__inspect_reply__descriptor,
		      &tree);
	if (r != MHCL_CLI_OK)
		goto out;
	if (metrics_add_ps(&m, (Mhcl__PsReply *)ps) < 0 ||
	    metrics_add_inspect(&m, ((Mhcl__InspectReply *)tree)->root) < 0) {
		r = mhcl_fail(c, MHCL_CLI_REMOTE, "out of memory");
		goto out;
	}
	metrics_finish(&m);
	if (c->args->json)
		metrics_print_json(&m, stdout);
	else
		metrics_print_text(&m, stdout);
out:
	metrics_free(&m);
	if (tree)
		protobuf_c_message_free_unpacked(tree, NULL);
	protobuf_c_message_free_unpacked(ps, NULL);
	return r;
}
