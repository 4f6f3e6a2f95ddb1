/* SPDX-License-Identifier: MIT */
/* mhcl ps: one line per supervised server. */
#include <stdio.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "json.h"
#include "mhcl.h"
#include "util.h"

static void print_json(const Mhcl__PsReply *r)
{
	struct json_writer w;

	json_init(&w, stdout, false);
	json_obj_begin(&w);
	json_key(&w, "servers");
	json_arr_begin(&w);
	for (size_t i = 0; i < r->n_servers; i++) {
		const Mhcl__ServerInfo *s = r->servers[i];
		json_obj_begin(&w);
		json_key(&w, "name");
		json_str(&w, s->name);
		json_key(&w, "pid");
		json_i64(&w, s->pid);
		json_key(&w, "state");
		json_str(&w, s->state);
		json_key(&w, "uptime_ms");
		json_u64(&w, s->uptime_ms);
		json_key(&w, "restarts");
		json_u64(&w, s->restarts);
		json_key(&w, "rss_bytes");
		json_u64(&w, s->rss_bytes);
		json_key(&w, "cpu_user_ms");
		json_u64(&w, s->cpu_user_ms);
		json_key(&w, "cpu_sys_ms");
		json_u64(&w, s->cpu_sys_ms);
		json_key(&w, "last_exit");
		json_str(&w, s->last_exit);
		json_key(&w, "policy");
		json_str(&w, s->policy);
		json_obj_end(&w);
	}
	json_arr_end(&w);
	json_obj_end(&w);
	json_finish(&w);
}

static void print_table(const Mhcl__PsReply *r)
{
	int nw = 4, sw = 5;

	for (size_t i = 0; i < r->n_servers; i++) {
		int n = (int)strlen(r->servers[i]->name), s = (int)strlen(r->servers[i]->state);
		nw = n > nw ? (n > 64 ? 64 : n) : nw;
		sw = s > sw ? (s > 16 ? 16 : s) : sw;
	}
	printf("%-*s %7s %-*s %8s %8s %7s %8s  %s\n", nw, "NAME", "PID", sw, "STATE", "UPTIME",
	       "RESTARTS", "RSS", "CPU", "LAST-EXIT");
	for (size_t i = 0; i < r->n_servers; i++) {
		const Mhcl__ServerInfo *s = r->servers[i];
		char pid[16], up[24], rss[24], cpu[24];
		int pad;

		snprintf(pid, sizeof(pid), "%d", (int)s->pid);
		if (s->pid <= 0)
			snprintf(pid, sizeof(pid), "-");
		mhcl_fmt_duration(up, sizeof(up), s->uptime_ms);
		if (s->pid <= 0)
			snprintf(up, sizeof(up), "-");
		mhcl_fmt_bytes(rss, sizeof(rss), s->rss_bytes);
		mhcl_fmt_duration(cpu, sizeof(cpu), s->cpu_user_ms + s->cpu_sys_ms);
		mhcl_put_safe(stdout, s->name);
		pad = nw - (int)strlen(s->name);
		printf("%*s %7s ", pad > 0 ? pad : 0, "", pid);
		mhcl_put_safe(stdout, s->state);
		pad = sw - (int)strlen(s->state);
		printf("%*s %8s %8u %7s %8s  ", pad > 0 ? pad : 0, "", up, s->restarts, rss, cpu);
		mhcl_put_safe(stdout, s->last_exit && s->last_exit[0] ? s->last_exit : "-");
		putchar('\n');
	}
}

int cmd_ps(struct mhcl_ctx *c)
{
	Mhcl__PsRequest req = MHCL__PS_REQUEST__INIT;
	ProtobufCMessage *m;
	int r;

	r = mhcl_call(c, IPC_MSG_PS, &req.base, &mhcl__ps_reply__descriptor, &m);
	if (r != MHCL_CLI_OK)
		return r;
	if (c->args->json)
		print_json((Mhcl__PsReply *)m);
	else
		print_table((Mhcl__PsReply *)m);
	protobuf_c_message_free_unpacked(m, NULL);
	return MHCL_CLI_OK;
}
