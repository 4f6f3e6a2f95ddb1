/* SPDX-License-Identifier: MIT */
/* Renders vmbus_host_inspect() reports as an inspect tree (vmbus_inspect.h). */
#include <stdio.h>

#include "vmbus_inspect.h"

struct tree_ctx {
	struct inspect_tree *t;
	Mhcl__Node *conn, *chans, *gpadls;
};

static void put_conn(void *ctx, const struct vmbus_conn_report *r)
{
	struct tree_ctx *c = ctx;
	struct inspect_tree *t = c->t;

	inspect_str(t, c->conn, "state", vmbus_conn_state_to_string(r->state));
	inspect_strf(t, c->conn, "version", "%u.%u", r->version >> 16, r->version & 0xffff);
	inspect_u64(t, c->conn, "target_vp", r->target_vp);
	inspect_bool(t, c->conn, "offers_requested", r->offers_requested);
	inspect_u64(t, c->conn, "channels", r->channels);
	inspect_u64(t, c->conn, "gpadls", r->gpadls);
	inspect_u64(t, c->conn, "messages_in", r->messages_in);
	inspect_u64(t, c->conn, "messages_out", r->messages_out);
	inspect_u64(t, c->conn, "dropped", r->dropped);
	inspect_str(t, c->conn, "last_error", r->last_error);
}

static void put_chan(void *ctx, const struct vmbus_chan_report *r)
{
	struct tree_ctx *c = ctx;
	struct inspect_tree *t = c->t;
	char name[16], guid[VMBUS_GUID_STRING_MAX];
	Mhcl__Node *n, *k;

	snprintf(name, sizeof(name), "%u", r->relid);
	n = inspect_dir(t, c->chans, name);
	inspect_str(t, n, "class", vmbus_guid_to_string(&r->if_type, guid));
	inspect_str(t, n, "instance", vmbus_guid_to_string(&r->if_instance, guid));
	inspect_u64(t, n, "subchannel", r->sub_channel_index);
	inspect_str(t, n, "state", vmbus_chan_state_to_string(r->state));
	inspect_bool(t, n, "offered", r->offered);
	inspect_bool(t, n, "rescinded", r->rescinded);
	inspect_u64(t, n, "target_vp", r->target_vp);
	inspect_u64(t, n, "ring_gpadl", r->ring_gpadl);
	inspect_u64(t, n, "event_conn_id", r->event_conn_id);
	inspect_str(t, n, "last_error", r->last_error);
	k = inspect_dir(t, n, "counters");
	inspect_u64(t, k, "messages", r->counters.messages);
	inspect_u64(t, k, "opens", r->counters.opens);
	inspect_u64(t, k, "open_failures", r->counters.open_failures);
	inspect_u64(t, k, "closes", r->counters.closes);
	inspect_u64(t, k, "gpadls_created", r->counters.gpadls_created);
	inspect_u64(t, k, "gpadl_failures", r->counters.gpadl_failures);
	inspect_u64(t, k, "gpadls_torn_down", r->counters.gpadls_torn_down);
	inspect_u64(t, k, "modifies", r->counters.modifies);
	inspect_u64(t, k, "errors", r->counters.errors);
}

static void put_gpadl(void *ctx, const struct vmbus_gpadl_report *r)
{
	struct tree_ctx *c = ctx;
	struct inspect_tree *t = c->t;
	char name[16];
	Mhcl__Node *n;

	snprintf(name, sizeof(name), "%#x", r->gpadl_id);
	n = inspect_dir(t, c->gpadls, name);
	inspect_u64(t, n, "relid", r->relid);
	inspect_str(t, n, "state", vmbus_gpadl_state_to_string(r->state));
	inspect_u64(t, n, "ranges", r->range_count);
	inspect_u64(t, n, "pages", r->page_count);
	inspect_bool(t, n, "ring_in_use", r->ring_in_use);
}

void vmbus_host_inspect_tree(const struct vmbus_host *s, struct inspect_tree *t, Mhcl__Node *parent)
{
	static const struct vmbus_inspect_ops ops = {put_conn, put_chan, put_gpadl};
	struct tree_ctx c = {.t = t};

	if (!parent)
		parent = inspect_tree_root(t);
	c.conn = inspect_dir(t, parent, "connection");
	c.chans = inspect_dir(t, parent, "channels");
	c.gpadls = inspect_dir(t, parent, "gpadls");
	vmbus_host_inspect(s, &ops, &c);
}
