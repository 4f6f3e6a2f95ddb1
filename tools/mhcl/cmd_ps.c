/* SPDX-License-Identifier: MIT */
/*
 * mhcl ps: one line per supervised server, then init's own, then a total of
 * PSS and USS (memory each process has to itself, or its share of what it
 * shares: summing RSS would count shared pages once per user).
 */
#include <stdio.h>
#include <string.h>

#include "defs/ipc_frame.h"
#include "diag.pb-c.h"
#include "json.h"
#include "mhcl.h"
#include "util.h"

/* Adds b to *sum, saturating: the figures come from the remote. */
static void add_sat(uint64_t *sum, uint64_t b)
{
	*sum = *sum > UINT64_MAX - b ? UINT64_MAX : *sum + b;
}

static void ps_total(const Mhcl__PsReply *r, uint64_t *ret_pss, uint64_t *ret_uss)
{
	uint64_t pss = 0, uss = 0;

	for (size_t i = 0; i < r->n_servers; i++) {
		add_sat(&pss, r->servers[i]->pss_bytes);
		add_sat(&uss, r->servers[i]->uss_bytes);
	}
	if (r->init) {
		add_sat(&pss, r->init->pss_bytes);
		add_sat(&uss, r->init->uss_bytes);
	}
	*ret_pss = pss;
	*ret_uss = uss;
}

static void json_info(struct json_writer *w, const Mhcl__ServerInfo *s)
{
	json_obj_begin(w);
	json_key(w, "name");
	json_str(w, s->name);
	json_key(w, "pid");
	json_i64(w, s->pid);
	json_key(w, "state");
	json_str(w, s->state);
	json_key(w, "uptime_ms");
	json_u64(w, s->uptime_ms);
	json_key(w, "restarts");
	json_u64(w, s->restarts);
	json_key(w, "rss_bytes");
	json_u64(w, s->rss_bytes);
	json_key(w, "pss_bytes");
	json_u64(w, s->pss_bytes);
	json_key(w, "uss_bytes");
	json_u64(w, s->uss_bytes);
	json_key(w, "guest_ram_bytes");
	json_u64(w, s->guest_ram_bytes);
	json_key(w, "cpu_user_ms");
	json_u64(w, s->cpu_user_ms);
	json_key(w, "cpu_sys_ms");
	json_u64(w, s->cpu_sys_ms);
	json_key(w, "last_exit");
	json_str(w, s->last_exit);
	json_key(w, "policy");
	json_str(w, s->policy);
	json_obj_end(w);
}

static void print_json(const Mhcl__PsReply *r)
{
	struct json_writer w;
	uint64_t pss, uss;

	ps_total(r, &pss, &uss);
	json_init(&w, stdout, false);
	json_obj_begin(&w);
	json_key(&w, "servers");
	json_arr_begin(&w);
	for (size_t i = 0; i < r->n_servers; i++)
		json_info(&w, r->servers[i]);
	json_arr_end(&w);
	if (r->init) {
		json_key(&w, "init");
		json_info(&w, r->init);
	}
	json_key(&w, "total");
	json_obj_begin(&w);
	json_key(&w, "pss_bytes");
	json_u64(&w, pss);
	json_key(&w, "uss_bytes");
	json_u64(&w, uss);
	json_obj_end(&w);
	json_obj_end(&w);
	json_finish(&w);
}

struct widths {
	int name, state;
};

static void print_row(const struct widths *wd, const Mhcl__ServerInfo *s, bool is_init)
{
	char pid[16] = "-", up[24] = "-", restarts[16] = "-", rss[24], pss[24], uss[24], cpu[24];
	int pad;

	if (s->pid > 0) {
		snprintf(pid, sizeof(pid), "%d", (int)s->pid);
		mhcl_fmt_duration(up, sizeof(up), s->uptime_ms);
	}
	if (!is_init)
		snprintf(restarts, sizeof(restarts), "%u", s->restarts);
	mhcl_fmt_bytes(rss, sizeof(rss), s->rss_bytes);
	mhcl_fmt_bytes(pss, sizeof(pss), s->pss_bytes);
	mhcl_fmt_bytes(uss, sizeof(uss), s->uss_bytes);
	mhcl_fmt_duration(cpu, sizeof(cpu), s->cpu_user_ms + s->cpu_sys_ms);
	mhcl_put_safe(stdout, s->name);
	pad = wd->name - (int)strlen(s->name);
	printf("%*s %7s ", pad > 0 ? pad : 0, "", pid);
	mhcl_put_safe(stdout, s->state);
	pad = wd->state - (int)strlen(s->state);
	printf("%*s %8s %8s %7s %7s %7s %8s  ", pad > 0 ? pad : 0, "", up, restarts, rss, pss, uss,
	       cpu);
	mhcl_put_safe(stdout, s->last_exit && s->last_exit[0] ? s->last_exit : "-");
	putchar('\n');
}

static void widen(struct widths *wd, const Mhcl__ServerInfo *s)
{
	int n = (int)strlen(s->name), st = (int)strlen(s->state);

	wd->name = n > wd->name ? (n > 64 ? 64 : n) : wd->name;
	wd->state = st > wd->state ? (st > 16 ? 16 : st) : wd->state;
}

static void print_table(const Mhcl__PsReply *r)
{
	struct widths wd = {.name = 5, .state = 5};
	char pss[24], uss[24];
	uint64_t tp, tu;

	for (size_t i = 0; i < r->n_servers; i++)
		widen(&wd, r->servers[i]);
	if (r->init)
		widen(&wd, r->init);
	printf("%-*s %7s %-*s %8s %8s %7s %7s %7s %8s  %s\n", wd.name, "NAME", "PID", wd.state,
	       "STATE", "UPTIME", "RESTARTS", "RSS", "PSS", "USS", "CPU", "LAST-EXIT");
	for (size_t i = 0; i < r->n_servers; i++)
		print_row(&wd, r->servers[i], false);
	if (r->init)
		print_row(&wd, r->init, true);
	/* RSS has no total: it counts a shared page in every process mapping it. */
	ps_total(r, &tp, &tu);
	mhcl_fmt_bytes(pss, sizeof(pss), tp);
	mhcl_fmt_bytes(uss, sizeof(uss), tu);
	printf("%-*s %7s %-*s %8s %8s %7s %7s %7s %8s  %s\n", wd.name, "total", "-", wd.state, "-",
	       "-", "-", "-", pss, uss, "-", "-");
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
