/* SPDX-License-Identifier: MIT */
/*
 * init's control API: requests from a server whose manifest entry has
 * `control` (diag). Everything a client sends is validated here; a request
 * that names another server is routed to that server's bus and its answer
 * relayed, bounded by INIT_INSPECT_TIMEOUT_MS.
 */
#include "init.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "diag.pb-c.h"
#include "inspect.h"
#include "procstat.h"
#include "sidecar.pb-c.h"
#include "net.pb-c.h"
#include "storage.pb-c.h"
#include "vmbus.pb-c.h"

#define CTL_PATH_MAX 512
#define CTL_LOGS_DEFAULT 200
#define CTL_LOGS_MAX 1000
#define CTL_LOGS_BYTES (64u * 1024u) /* text per LOGS reply, below IPC_BODY_MAX */
/* The whole-tree view puts each server's tree one level down, and diagd and the
 * CLI check it with IPC_DECODE_DEPTH_MAX: a server's tree gets one level less. */
#define CTL_INSPECT_DEPTH_MAX (IPC_DECODE_DEPTH_MAX - 1)

/* ---- ps ---- */

/* The /proc figures of process `which` ("self" or a pid) into si. */
static void fill_procstat(const char *which, Mhcl__ServerInfo *si)
{
	struct procstat ps;

	procstat_read(which, &ps);
	si->cpu_user_ms = ps.cpu_user_ms;
	si->cpu_sys_ms = ps.cpu_sys_ms;
	si->rss_bytes = ps.rss_bytes;
	si->pss_bytes = ps.pss_bytes;
	si->uss_bytes = ps.uss_bytes;
	si->guest_ram_bytes = ps.guest_ram_bytes;
}

static void ctl_ps(struct child *req, struct ipc_msg *msg)
{
	struct init *in = req->init;
	Mhcl__ServerInfo *infos = calloc(in->nservers ? in->nservers : 1, sizeof(*infos));
	Mhcl__ServerInfo **ptrs = calloc(in->nservers ? in->nservers : 1, sizeof(*ptrs));
	uint64_t now = init_now_ms();

	if (!infos || !ptrs) {
		(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, -ENOMEM,
					   "out of memory");
		goto out;
	}
	for (size_t i = 0; i < in->nservers; i++) {
		struct child *s = &in->servers[i];
		Mhcl__ServerInfo *si = &infos[i];
		*si = (Mhcl__ServerInfo)MHCL__SERVER_INFO__INIT;
		si->name = (char *)s->conf->name;
		si->pid = s->pid > 0 && !s->exited ? s->pid : 0;
		si->state = (char *)srv_state_name(s->state);
		si->uptime_ms = si->pid ? now - s->start_ms : 0;
		si->restarts = s->restarts;
		si->last_exit = s->last_exit;
		si->policy = (char *)s->conf->policy;
		if (si->pid) {
			char pid[16];
			snprintf(pid, sizeof(pid), "%d", (int)si->pid);
			fill_procstat(pid, si);
		}
		ptrs[i] = si;
	}
	/* init's own line: "self", since in a PID namespace our pid may not be
	 * what names us in the /proc we see. */
	Mhcl__ServerInfo self = MHCL__SERVER_INFO__INIT;
	self.name = "init";
	self.pid = getpid();
	self.state = in->shutting_down ? "stopping" : "running";
	self.uptime_ms = now - in->start_ms;
	fill_procstat("self", &self);
	Mhcl__PsReply rep = MHCL__PS_REPLY__INIT;
	rep.n_servers = in->nservers;
	rep.servers = ptrs;
	rep.init = &self;
	(void)ipc_chan_reply(req->chan, msg->request_id, msg->type, &rep.base, NULL, 0);
out:
	free(infos);
	free(ptrs);
}

/* ---- inspect ---- */

void control_fill_inspect(struct init *in, void *tree, void *rootp)
{
	struct inspect_tree *t = tree;
	Mhcl__Node *root = rootp;
	uint64_t now = init_now_ms();

	inspect_i64(t, root, "pid", getpid());
	inspect_str(t, root, "mode", in->pid1 ? "pid1" : "hosted");
	inspect_bool(t, root, "isolated", in->isolated);
	inspect_u64(t, root, "uptime_ms", now - in->start_ms);
	inspect_str(t, root, "run_dir", in->run_dir);
	inspect_u64(t, root, "log_seq", in->log_seq);
	inspect_u64(t, root, "orphans_reaped", in->orphans_reaped);
	inspect_str(t, root, "mounted", in->mounted);
	inspect_u64(t, root, "echo_dropped", in->echo_dropped);
	inspect_bool(t, root, "shutting_down", in->shutting_down);
	/* What the paravisor's memory holds (bench/memory.sh): MemTotal - MemAvailable
	 * counts the guest's RAM too (shared memory), which ps reports apart. */
	struct procstat_meminfo mi;
	if (procstat_read_meminfo(&mi) == 0) {
		Mhcl__Node *m = inspect_dir(t, root, "memory");
		inspect_u64(t, m, "total_bytes", mi.total);
		inspect_u64(t, m, "available_bytes", mi.available);
		inspect_u64(t, m, "in_use_bytes",
			    mi.total > mi.available ? mi.total - mi.available : 0);
		inspect_u64(t, m, "shmem_bytes", mi.shmem);
		inspect_u64(t, m, "slab_unreclaimable_bytes", mi.slab_unreclaimable);
		inspect_u64(t, m, "page_tables_bytes", mi.page_tables);
		inspect_u64(t, m, "kvm_page_tables_bytes", mi.sec_page_tables);
		inspect_u64(t, m, "kernel_stack_bytes", mi.kernel_stack);
		inspect_u64(t, m, "vmalloc_bytes", mi.vmalloc);
		inspect_u64(t, m, "percpu_bytes", mi.percpu);
		/* Which slab caches hold it (root reads /proc/slabinfo). */
		struct procstat_slab top[PROCSTAT_SLAB_TOP];
		int ns = procstat_read_slabinfo(top);
		Mhcl__Node *sl = ns > 0 ? inspect_dir(t, m, "slab_top") : NULL;
		for (int i = 0; i < ns; i++)
			inspect_u64(t, sl, top[i].name, top[i].bytes);
	}
	Mhcl__Node *ss = inspect_dir(t, root, "servers");
	for (size_t i = 0; i < in->nservers; i++) {
		struct child *s = &in->servers[i];
		Mhcl__Node *n = inspect_dir(t, ss, s->conf->name);
		inspect_str(t, n, "state", srv_state_name(s->state));
		inspect_i64(t, n, "pid", s->pid);
		inspect_u64(t, n, "restarts", s->restarts);
		inspect_str(t, n, "last_exit", s->last_exit);
		inspect_str(t, n, "policy", s->conf->policy);
		/* Who it runs as (policy/README.md): uid 0 when the manifest names no user. */
		inspect_u64(t, n, "uid", s->conf->have_user ? s->conf->uid : 0);
		char caps[640] = "";
		for (unsigned cap = 0, at = 0; cap < 64 && at < sizeof(caps); cap++)
			if (s->conf->caps & (1ull << cap))
				at += (unsigned)snprintf(caps + at, sizeof(caps) - at, "%s%s",
							 at ? " " : "", config_cap_name(cap));
		inspect_str(t, n, "capabilities", caps);
		inspect_str(t, n, "restart", restart_policy_name(s->conf->restart));
		inspect_u64(t, n, "start_order", s->conf->start_order);
		inspect_bool(t, n, "control", s->conf->control);
		inspect_u64(t, n, "next_delay_ms", s->delay_ms);
		inspect_u64(t, n, "recent_failures", s->fail_count);
		inspect_u64(t, n, "log_lines", logring_count(s->log));
		inspect_u64(t, n, "log_dropped", logring_dropped(s->log));
	}
}

struct inspect_job;

struct inspect_part {
	struct inspect_job *job;
	struct child *target;
	Mhcl__InspectReply *reply;
	char *orig_name; /* the reply root's own name while it is spliced in */
	char error[160];
};

struct inspect_job {
	struct child *requester;
	uint64_t gen;
	uint32_t request_id;
	bool single; /* relay one server's answer as is */
	size_t nparts, pending;
	struct inspect_part parts[MANIFEST_SERVERS_MAX];
};

static void job_finish(struct inspect_job *job)
{
	struct child *req = job->requester;
	struct ipc_chan *ch = req->chan && req->chan_gen == job->gen ? req->chan : NULL;
	struct init *in = req->init;

	if (ch && job->single) {
		struct inspect_part *p = &job->parts[0];
		if (p->reply) {
			(void)ipc_chan_reply(ch, job->request_id, IPC_MSG_DIAG_INSPECT,
					     &p->reply->base, NULL, 0);
		} else {
			int err = -EIO;
			const char *m = p->error;
			if (strncmp(m, "errno ", 6) == 0) {
				err = -atoi(m + 6);
				m = strchr(m, ':') ? strchr(m, ':') + 2 : m;
			}
			(void)ipc_chan_reply_error(ch, job->request_id, IPC_MSG_DIAG_INSPECT, err,
						   "%s", m);
		}
	} else if (ch) {
		struct inspect_tree *t = inspect_tree_new("mhcl");
		Mhcl__Node *root = inspect_tree_root(t);
		control_fill_inspect(in, t, inspect_dir(t, root, "init"));
		for (size_t i = 0; i < job->nparts; i++) {
			struct inspect_part *p = &job->parts[i];
			if (p->reply && p->reply->root) {
				p->orig_name = p->reply->root->name;
				p->reply->root->name = (char *)p->target->conf->name;
				(void)inspect_attach(t, root, p->reply->root);
			} else {
				inspect_strf(t, root, p->target->conf->name, "error: %s", p->error);
			}
		}
		Mhcl__InspectReply rep = MHCL__INSPECT_REPLY__INIT;
		rep.root = root;
		int r = t ? ipc_chan_reply(ch, job->request_id, IPC_MSG_DIAG_INSPECT, &rep.base,
					   NULL, 0)
			  : -ENOMEM;
		if (r < 0)
			(void)ipc_chan_reply_error(ch, job->request_id, IPC_MSG_DIAG_INSPECT, r,
						   "unable to send the inspect tree");
		/* The spliced roots belong to the unpacked replies: restore names. */
		for (size_t i = 0; i < job->nparts; i++)
			if (job->parts[i].reply && job->parts[i].reply->root &&
			    job->parts[i].orig_name)
				job->parts[i].reply->root->name = job->parts[i].orig_name;
		inspect_tree_free(t);
	}
	for (size_t i = 0; i < job->nparts; i++)
		if (job->parts[i].reply)
			protobuf_c_message_free_unpacked(&job->parts[i].reply->base, NULL);
	free(job);
}

static void part_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct inspect_part *p = opaque;
	const char *name = p->target->conf->name;
	char buf[128];

	if (status == 0 && reply) {
		/* A refused reply closes the server's bus: init replaces it. */
		int r = ipc_msg_decode(ch, reply, &mhcl__inspect_reply__descriptor,
				       CTL_INSPECT_DEPTH_MAX, (ProtobufCMessage **)&p->reply);
		if (r < 0)
			snprintf(p->error, sizeof(p->error),
				 "errno %d: %s's inspect reply refused: %s", EBADMSG, name,
				 ipc_body_strerror(r));
	} else if (status == -EREMOTEIO && reply) {
		int e = ipc_msg_error(reply, buf, sizeof(buf));
		snprintf(p->error, sizeof(p->error), "errno %d: %s", e < 0 ? -e : EIO, buf);
	} else if (status == -ETIMEDOUT) {
		snprintf(p->error, sizeof(p->error), "errno %d: %s did not answer within %u ms",
			 ETIMEDOUT, name, INIT_INSPECT_TIMEOUT_MS);
	} else {
		snprintf(p->error, sizeof(p->error), "errno %d: %s went away (%s)",
			 status < 0 ? -status : EIO, name, strerror(status < 0 ? -status : EIO));
	}
	if (--p->job->pending == 0)
		job_finish(p->job);
}

static void ctl_inspect(struct child *req, struct ipc_msg *msg)
{
	struct init *in = req->init;
	Mhcl__DiagInspectRequest *rq = (Mhcl__DiagInspectRequest *)ipc_msg_unpack(
	    req->chan, msg, &mhcl__diag_inspect_request__descriptor);
	if (!rq)
		return;
	char server[MANIFEST_NAME_MAX + 1] = "", path[CTL_PATH_MAX];
	size_t sl = strlen(rq->server), pl = strlen(rq->path);
	if (sl >= sizeof(server) || pl >= sizeof(path)) {
		(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, -ENAMETOOLONG,
					   "server name or path too long");
		goto out;
	}
	memcpy(server, rq->server, sl + 1);
	memcpy(path, rq->path, pl + 1);
	if (!server[0] && path[0]) {
		/* "name/rest" on the whole tree is "rest" on server name. */
		const char *p = path;
		while (*p == '/')
			p++;
		size_t l = strcspn(p, "/");
		if (l >= sizeof(server)) {
			(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, -ENOENT,
						   "no node '%s'", path);
			goto out;
		}
		memcpy(server, p, l);
		server[l] = '\0';
		memmove(path, p + l, strlen(p + l) + 1);
	}

	if (strcmp(server, "init") == 0) {
		struct inspect_tree *t = inspect_tree_new("init");
		control_fill_inspect(in, t, inspect_tree_root(t));
		Mhcl__Node *n = inspect_find(inspect_tree_root(t), path);
		if (!n) {
			(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, -ENOENT,
						   "no node '%s' in init", path);
		} else {
			Mhcl__InspectReply rep = MHCL__INSPECT_REPLY__INIT;
			rep.root = n;
			(void)ipc_chan_reply(req->chan, msg->request_id, msg->type, &rep.base, NULL,
					     0);
		}
		inspect_tree_free(t);
		goto out;
	}

	struct inspect_job *job = calloc(1, sizeof(*job));
	if (!job) {
		(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, -ENOMEM,
					   "out of memory");
		goto out;
	}
	job->requester = req;
	job->gen = req->chan_gen;
	job->request_id = msg->request_id;
	if (server[0]) {
		struct child *t = init_find_server(in, server);
		if (!t || !t->chan) {
			(void)ipc_chan_reply_error(
			    req->chan, msg->request_id, msg->type, t ? -ESRCH : -ENOENT,
			    t ? "server '%s' is not running" : "no server '%s'", server);
			free(job);
			goto out;
		}
		job->single = true;
		job->parts[job->nparts++].target = t;
	} else {
		for (size_t i = 0; i < in->nservers; i++)
			if (in->servers[i].chan)
				job->parts[job->nparts++].target = &in->servers[i];
	}
	Mhcl__InspectRequest ir = MHCL__INSPECT_REQUEST__INIT;
	ir.path = path;
	job->pending = job->nparts + 1; /* held until every request is out */
	for (size_t i = 0; i < job->nparts; i++) {
		struct inspect_part *p = &job->parts[i];
		p->job = job;
		int r = ipc_chan_request(p->target->chan, IPC_MSG_INSPECT, &ir.base, NULL, 0,
					 INIT_INSPECT_TIMEOUT_MS, part_reply, p);
		if (r < 0) {
			snprintf(p->error, sizeof(p->error), "errno %d: unable to ask %s: %s", -r,
				 p->target->conf->name, strerror(-r));
			job->pending--;
		}
	}
	if (--job->pending == 0)
		job_finish(job);
out:
	protobuf_c_message_free_unpacked(&rq->base, NULL);
}

/* ---- restart, kill ---- */

static void ctl_restart(struct child *req, struct ipc_msg *msg)
{
	Mhcl__RestartRequest *rq = (Mhcl__RestartRequest *)ipc_msg_unpack(
	    req->chan, msg, &mhcl__restart_request__descriptor);
	if (!rq)
		return;
	struct child *t = init_find_server(req->init, rq->server);
	int r;
	if (t && t == req) {
		/* The requester restarts itself: its channel ends with this
		 * instance, so acknowledge now (pid 0 = "under way"); the
		 * completion reply is dropped as stale (chan_gen). */
		Mhcl__RestartReply rr = MHCL__RESTART_REPLY__INIT;
		(void)ipc_chan_reply(req->chan, msg->request_id, msg->type, &rr.base, NULL, 0);
		r = supervise_restart(t, req, msg->request_id);
		if (r < 0)
			init_log(t, "unable to restart itself: %s", strerror(-r));
		goto out;
	}
	r = t ? supervise_restart(t, req, msg->request_id) : -ENOENT;
	if (r < 0)
		(void)ipc_chan_reply_error(
		    req->chan, msg->request_id, msg->type, r,
		    r == -ENOENT ? "no server '%.64s'" : "unable to restart '%.64s'", rq->server);
out:
	protobuf_c_message_free_unpacked(&rq->base, NULL);
}

static void fault_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
}

/* A server that asks init to signal itself (diag relaying `mhcl kill diag`)
 * must get the reply out to its client first; the signal follows shortly. */
#define SELF_KILL_DELAY_MS 200

struct self_kill {
	uv_timer_t timer;
	struct child *s;
	pid_t pid;
	int sig;
};

static void self_kill_closed(uv_handle_t *h)
{
	free(container_of((uv_timer_t *)h, struct self_kill, timer));
}

static void self_kill_fire(uv_timer_t *t)
{
	struct self_kill *k = container_of(t, struct self_kill, timer);

	/* Only the instance that asked: it may have died and been replaced. */
	if (k->s->pid == k->pid && !k->s->exited && kill(k->pid, k->sig) < 0)
		init_log(k->s, "kill failed: %s", strerror(errno));
	uv_close((uv_handle_t *)&k->timer, self_kill_closed);
}

static int self_kill_schedule(struct child *s, int sig)
{
	struct self_kill *k = calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	*k = (struct self_kill){.s = s, .pid = s->pid, .sig = sig};
	uv_timer_init(s->init->loop, &k->timer);
	uv_timer_start(&k->timer, self_kill_fire, SELF_KILL_DELAY_MS, 0);
	return 0;
}

static void ctl_kill(struct child *req, struct ipc_msg *msg)
{
	Mhcl__KillRequest *rq =
	    (Mhcl__KillRequest *)ipc_msg_unpack(req->chan, msg, &mhcl__kill_request__descriptor);
	if (!rq)
		return;
	struct child *t = init_find_server(req->init, rq->server);
	int sig = rq->signal ? rq->signal : SIGKILL;
	int r = 0;
	const char *why = "";

	if (!t) {
		r = -ENOENT;
		why = "no such server";
	} else if (t->pid <= 0 || t->exited) {
		r = -ESRCH;
		why = "not running";
	} else if (rq->fault != MHCL__FAULT_KIND__FAULT_NONE) {
		if (req->init->isolated) {
			r = -EPERM;
			why = "fault injection is refused in isolated mode";
			init_log(t, "fault injection by %s refused: isolated", req->conf->name);
		} else if (rq->fault < 0 || rq->fault > MHCL__FAULT_KIND__FAULT_HANG) {
			r = -EINVAL;
			why = "unknown fault kind";
		} else if (!t->chan) {
			r = -ESRCH;
			why = "no bus";
		} else {
			Mhcl__FaultRequest fr = MHCL__FAULT_REQUEST__INIT;
			fr.kind = rq->fault;
			r = ipc_chan_request(t->chan, IPC_MSG_FAULT, &fr.base, NULL, 0,
					     INIT_INSPECT_TIMEOUT_MS, fault_reply, NULL);
			why = "unable to send the fault request";
			if (r == 0)
				init_log(t, "fault injection %d requested by %s", rq->fault,
					 req->conf->name);
		}
	} else if (sig < 1 || sig >= NSIG) {
		r = -EINVAL;
		why = "bad signal number";
	} else if (t == req) {
		/* Signalling the requester: answer first, or the reply dies with it. */
		r = self_kill_schedule(t, sig);
		why = "unable to schedule the signal";
		if (r == 0)
			init_log(t, "signal %d requested by itself", sig);
	} else {
		init_log(t, "signal %d requested by %s", sig, req->conf->name);
		r = kill(t->pid, sig) < 0 ? -errno : 0;
		why = "kill failed";
	}
	if (r < 0) {
		(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, r, "%.64s: %s",
					   rq->server, why);
	} else {
		Mhcl__Empty e = MHCL__EMPTY__INIT;
		(void)ipc_chan_reply(req->chan, msg->request_id, msg->type, &e.base, NULL, 0);
	}
	protobuf_c_message_free_unpacked(&rq->base, NULL);
}

/* ---- logs, config ---- */

static void ctl_logs(struct child *req, struct ipc_msg *msg)
{
	struct init *in = req->init;
	Mhcl__LogsRequest *rq =
	    (Mhcl__LogsRequest *)ipc_msg_unpack(req->chan, msg, &mhcl__logs_request__descriptor);
	if (!rq)
		return;
	struct child *only = NULL;
	if (rq->server[0]) {
		only = init_find_server(in, rq->server);
		if (!only) {
			(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, -ENOENT,
						   "no server '%.64s'", rq->server);
			protobuf_c_message_free_unpacked(&rq->base, NULL);
			return;
		}
	}
	size_t max = rq->max_lines ? MIN(rq->max_lines, CTL_LOGS_MAX) : CTL_LOGS_DEFAULT;
	uint64_t since = rq->since_seq;
	protobuf_c_message_free_unpacked(&rq->base, NULL);

	Mhcl__LogLine *lines = calloc(max, sizeof(*lines));
	Mhcl__LogLine **ptrs = calloc(max, sizeof(*ptrs));
	char *text = malloc(CTL_LOGS_BYTES + max);
	size_t n = 0, used = 0;
	bool cut = false;
	if (!lines || !ptrs || !text) {
		(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, -ENOMEM,
					   "out of memory");
		goto out;
	}
	/* Merge the rings by sequence number. */
	uint64_t cursor = since;
	for (;;) {
		struct logring_line best = {0}, l;
		struct child *from = NULL;
		for (size_t i = 0; i < in->nservers; i++) {
			struct child *s = &in->servers[i];
			if (only && s != only)
				continue;
			if (logring_find(s->log, cursor, &l) && (!from || l.seq < best.seq)) {
				best = l;
				from = s;
			}
		}
		if (!from)
			break;
		if (n == max || used + best.len + 1 > CTL_LOGS_BYTES) {
			cut = true;
			break;
		}
		Mhcl__LogLine *ll = &lines[n];
		*ll = (Mhcl__LogLine)MHCL__LOG_LINE__INIT;
		ll->seq = best.seq;
		ll->time_ns = best.time_ns;
		ll->server = (char *)from->conf->name;
		ll->stream = best.stream;
		memcpy(text + used, best.text, best.len);
		text[used + best.len] = '\0';
		ll->text = text + used;
		used += best.len + 1;
		ptrs[n++] = ll;
		cursor = best.seq + 1;
	}
	Mhcl__LogsReply rep = MHCL__LOGS_REPLY__INIT;
	rep.n_lines = n;
	rep.lines = ptrs;
	rep.next_seq = cut ? cursor : MAX(in->log_seq, since);
	(void)ipc_chan_reply(req->chan, msg->request_id, msg->type, &rep.base, NULL, 0);
out:
	free(lines);
	free(ptrs);
	free(text);
}

static void ctl_config(struct child *req, struct ipc_msg *msg)
{
	Mhcl__ConfigReply rep = MHCL__CONFIG_REPLY__INIT;
	rep.dtb.data = req->init->manifest->dtb;
	rep.dtb.len = req->init->manifest->dtb_len;
	(void)ipc_chan_reply(req->chan, msg->request_id, msg->type, &rep.base, NULL, 0);
}

/* ---- requests served by a named server ---- */

/*
 * Some diag requests belong to one server rather than to init. The route is
 * fixed here, by type: the client names no server, so it can reach only what
 * this table lists (a capability per type). init re-packs the request it
 * unpacked, sends it to that server under the same type and relays the
 * answer or error, bounded by the route's timeout.
 */
#define CTL_FORWARD_TIMEOUT_MS 8000 /* below diagd's 10 s relay timeout */

struct ctl_route {
	uint16_t type;
	const char *server;
	const ProtobufCMessageDescriptor *request, *reply;
	const char *isolated_refusal; /* non-NULL: refused in isolated mode, with this reason */
};

static const struct ctl_route ctl_routes[] = {
    {IPC_MSG_SIDECAR_ONLINE, "sidecar", &mhcl__sidecar_online_request__descriptor,
     &mhcl__sidecar_online_reply__descriptor, NULL},
    /* A checksum reads reserved (shim) memory through /dev/mem. */
    {IPC_MSG_SIDECAR_CHECKSUM, "sidecar", &mhcl__sidecar_checksum_request__descriptor,
     &mhcl__sidecar_checksum_reply__descriptor, "sidecar checksum reads reserved memory"},
    /* The shutdown integration component is served by mhcl-icd. */
    {IPC_MSG_GUEST_SHUTDOWN, "ic", &mhcl__vmbus__guest_shutdown_request__descriptor,
     &mhcl__vmbus__guest_shutdown_reply__descriptor, NULL},
    /* LUN attach and detach are served by mhcl-storaged. */
    {IPC_MSG_STORAGE_LUN, "storage", &mhcl__storage__storage_lun_request__descriptor,
     &mhcl__storage__storage_lun_reply__descriptor, NULL},
    /* Packet capture is served by mhcl-netd. */
    {IPC_MSG_NET_CAPTURE, "net", &mhcl__net__net_capture_request__descriptor,
     &mhcl__net__net_capture_reply__descriptor, NULL},
};

struct ctl_forward {
	struct child *requester;
	uint64_t gen;
	uint32_t request_id;
	const struct ctl_route *route;
};

static void forward_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct ctl_forward *f = opaque;
	struct child *req = f->requester;
	struct ipc_chan *rc = req->chan && req->chan_gen == f->gen ? req->chan : NULL;
	const char *name = f->route->server;
	char buf[160];

	if (!rc)
		goto out;
	if (status == 0 && reply) {
		ProtobufCMessage *m;
		int r = ipc_body_unpack(f->route->reply, reply->body, reply->body_len,
					IPC_DECODE_DEPTH_MAX, &m);
		if (r == 0) {
			(void)ipc_chan_reply(rc, f->request_id, f->route->type, m, NULL, 0);
			protobuf_c_message_free_unpacked(m, NULL);
		} else {
			(void)ipc_chan_reply_error(rc, f->request_id, f->route->type, -EBADMSG,
						   "%s's reply refused: %s", name,
						   ipc_body_strerror(r));
		}
	} else if (status == -EREMOTEIO && reply) {
		int e = ipc_msg_error(reply, buf, sizeof(buf));
		(void)ipc_chan_reply_error(rc, f->request_id, f->route->type, e < 0 ? e : -EIO,
					   "%s", e < 0 ? buf : "bad error reply");
	} else if (status == -ETIMEDOUT) {
		(void)ipc_chan_reply_error(rc, f->request_id, f->route->type, -ETIMEDOUT,
					   "%s did not answer within %u ms", name,
					   CTL_FORWARD_TIMEOUT_MS);
	} else {
		(void)ipc_chan_reply_error(rc, f->request_id, f->route->type,
					   status < 0 ? status : -EIO, "%s went away", name);
	}
out:
	free(f);
}

static bool ctl_forward(struct child *req, struct ipc_msg *msg)
{
	const struct ctl_route *route = NULL;

	for (size_t i = 0; i < sizeof(ctl_routes) / sizeof(ctl_routes[0]); i++)
		if (ctl_routes[i].type == msg->type)
			route = &ctl_routes[i];
	if (!route)
		return false;
	if (route->isolated_refusal && req->init->isolated) {
		(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, -EPERM,
					   "%s: refused in isolated mode", route->isolated_refusal);
		return true;
	}
	ProtobufCMessage *m = ipc_msg_unpack(req->chan, msg, route->request);
	if (!m)
		return true;
	struct child *t = init_find_server(req->init, route->server);
	struct ctl_forward *f = NULL;
	int r;
	if (!t || !t->chan) {
		(void)ipc_chan_reply_error(
		    req->chan, msg->request_id, msg->type, t ? -ESRCH : -ENOENT,
		    t ? "server '%s' is not running" : "no server '%s'", route->server);
		goto out;
	}
	f = malloc(sizeof(*f));
	if (!f) {
		(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, -ENOMEM,
					   "out of memory");
		goto out;
	}
	*f = (struct ctl_forward){req, req->chan_gen, msg->request_id, route};
	r = ipc_chan_request(t->chan, msg->type, m, NULL, 0, CTL_FORWARD_TIMEOUT_MS, forward_reply,
			     f);
	if (r < 0) {
		free(f);
		(void)ipc_chan_reply_error(req->chan, msg->request_id, msg->type, r,
					   "unable to ask %s", route->server);
	}
out:
	protobuf_c_message_free_unpacked(m, NULL);
	return true;
}

void control_request(struct child *s, struct ipc_msg *msg)
{
	if (!s->conf->control) {
		(void)ipc_chan_reply_error(s->chan, msg->request_id, msg->type, -EPERM,
					   "%s may not use init's control API", s->conf->name);
		return;
	}
	switch (msg->type) {
	case IPC_MSG_PS:
		ctl_ps(s, msg);
		break;
	case IPC_MSG_DIAG_INSPECT:
		ctl_inspect(s, msg);
		break;
	case IPC_MSG_RESTART:
		ctl_restart(s, msg);
		break;
	case IPC_MSG_KILL:
		ctl_kill(s, msg);
		break;
	case IPC_MSG_LOGS:
		ctl_logs(s, msg);
		break;
	case IPC_MSG_CONFIG:
		ctl_config(s, msg);
		break;
	default:
		if (ctl_forward(s, msg))
			break;
		(void)ipc_chan_reply_error(s->chan, msg->request_id, msg->type, -EOPNOTSUPP,
					   "unknown control request %u", msg->type);
	}
}
