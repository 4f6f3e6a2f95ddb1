/* SPDX-License-Identifier: MIT */
/*
 * IPC_MSG_CPUS: a server (the VP worker) asks for CPUs for its threads. Linux boots on
 * one CPU and the shim parks the others in the sidecar; as OpenHCL does for a VP's CPU,
 * init has the sidecar server hand parked CPUs to Linux (SidecarOnlineRequest, one at a
 * time, lowest first) until Linux runs as many as asked, then answers. The rest stay
 * parked. A CPU the sidecar refuses is skipped; running short is said in the reply, not
 * an error, so the guest still starts.
 */
#include "init.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpulist.h"
#include "log.h"
#include "sidecar.pb-c.h"

#define CPU_SYSFS "/sys/devices/system/cpu"
#define CPUS_HANDOFF_TIMEOUT_MS 8000 /* one CPU: the sidecar's hand-off and Linux's online */

struct cpu_grant {
	struct child *req;
	uint64_t gen;
	uint32_t request_id;
	uint32_t want, online;
	unsigned next; /* the next CPU to look at */
	uint32_t handed[64];
	size_t nhanded;
	struct cpulist present, up;
	char error[160];
};

static void grant_next(struct cpu_grant *g);

static void grant_finish(struct cpu_grant *g)
{
	struct child *s = g->req;
	Mhcl__CpusReply rep = MHCL__CPUS_REPLY__INIT;

	if (s->chan && s->chan_gen == g->gen) {
		rep.online = g->online;
		rep.handed = g->handed;
		rep.n_handed = g->nhanded;
		rep.error = g->error;
		init_log(s, "asked for %u CPUs: Linux runs %u (%zu handed over by the sidecar)%s%s",
			 g->want, g->online, g->nhanded, g->error[0] ? ": " : "", g->error);
		(void)ipc_chan_reply(s->chan, g->request_id, IPC_MSG_CPUS, &rep.base, NULL, 0);
	}
	free(g);
}

static void online_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct cpu_grant *g = opaque;
	unsigned cpu = g->next - 1;
	char msg[128] = "";

	(void)ch;
	if (status == 0) {
		if (g->nhanded < ARRAY_SIZE(g->handed))
			g->handed[g->nhanded++] = cpu;
		g->online++;
	} else {
		if (status == -EREMOTEIO && reply)
			(void)ipc_msg_error(reply, msg, sizeof(msg));
		snprintf(g->error, sizeof(g->error), "cpu %u: %s", cpu,
			 msg[0] ? msg : strerror(status < 0 ? -status : EIO));
	}
	grant_next(g);
}

static void grant_next(struct cpu_grant *g)
{
	struct child *sc = init_find_server(g->req->init, "sidecar");
	Mhcl__SidecarOnlineRequest rq = MHCL__SIDECAR_ONLINE_REQUEST__INIT;

	while (g->online < g->want && g->next < CPULIST_MAX) {
		unsigned cpu = g->next++;
		if (!cpulist_has(&g->present, cpu) || cpulist_has(&g->up, cpu))
			continue;
		if (!sc || !sc->chan) {
			snprintf(g->error, sizeof(g->error), "no sidecar server running");
			break;
		}
		rq.cpu = cpu;
		int r = ipc_chan_request(sc->chan, IPC_MSG_SIDECAR_ONLINE, &rq.base, NULL, 0,
					 CPUS_HANDOFF_TIMEOUT_MS, online_reply, g);
		if (r == 0)
			return;
		snprintf(g->error, sizeof(g->error), "unable to ask the sidecar: %s", strerror(-r));
		break;
	}
	if (g->online < g->want && !g->error[0])
		snprintf(g->error, sizeof(g->error), "no more parked CPUs");
	grant_finish(g);
}

void cpus_request(struct child *s, struct ipc_msg *msg)
{
	if (!s->conf->request_cpus) {
		(void)ipc_chan_reply_error(s->chan, msg->request_id, msg->type, -EPERM,
					   "%s may not ask for CPUs (no request-cpus)",
					   s->conf->name);
		return;
	}
	Mhcl__CpusRequest *rq =
	    (Mhcl__CpusRequest *)ipc_msg_unpack(s->chan, msg, &mhcl__cpus_request__descriptor);
	if (!rq)
		return;
	struct cpu_grant *g = calloc(1, sizeof(*g));
	if (!g) {
		(void)ipc_chan_reply_error(s->chan, msg->request_id, msg->type, -ENOMEM,
					   "out of memory");
		protobuf_c_message_free_unpacked(&rq->base, NULL);
		return;
	}
	*g = (struct cpu_grant){.req = s,
				.gen = s->chan_gen,
				.request_id = msg->request_id,
				.want = rq->count < CPULIST_MAX ? rq->count : CPULIST_MAX};
	protobuf_c_message_free_unpacked(&rq->base, NULL);
	int r = cpulist_read(CPU_SYSFS "/present", &g->present);
	int n = r < 0 ? r : cpulist_read(CPU_SYSFS "/online", &g->up);
	if (r < 0 || n < 0) {
		(void)ipc_chan_reply_error(s->chan, msg->request_id, msg->type, r < 0 ? r : n,
					   "unable to read the kernel's CPU lists");
		free(g);
		return;
	}
	g->online = (uint32_t)n;
	grant_next(g);
}
