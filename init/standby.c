/* SPDX-License-Identifier: MIT */
/*
 * The prestarted next instance of a planned restart (manifest `prestart`).
 *
 * Without it the guest's pause is the old instance's handover plus the next one's fork,
 * exec, loading, start-up to the jail and adoption. With it, the next instance is spawned
 * while the current one still serves; it does its start-up and sends READY, which init
 * holds unanswered. Only then is the current one told to save and stop; once it has
 * handed over, the held READY is answered with its state and fds, and the pause is the
 * handover and the adoption alone.
 *
 * The standby runs at the usual priority. It used to start at nice 19, to keep its
 * start-up off the CPU the running instance polls the guest's rings on; but the
 * scheduler then counts the start-up against it many times over (at nice 19 a
 * millisecond of CPU is 68 of virtual time), and once it takes over with its priority
 * back it still waits for the others to catch up, inside the guest's pause. Measured,
 * nice 0 shortened storaged's planned-restart pause by 0.4 ms (median, interleaved).
 *
 * Nothing here is shared with the running instance before READY is answered: the
 * standby gets no fd-store or control request through, and a server may declare
 * `prestart` only if it opens nothing exclusive before READY. If the standby fails
 * (exits, closes its bus, is not ready in time), it is discarded and the restart goes
 * the usual way; the guest loses nothing but the head start.
 *
 * After a crash the next instance is prestarted the same way as the backoff begins, and
 * takes over when it ends: its start-up overlaps the backoff instead of following it.
 */
#include "init.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "bus.pb-c.h"

/* No standby (its timer handle stays). */
static void clear(struct standby *sb)
{
	*sb = (struct standby){.jail_nr = -1, .timer = sb->timer};
}

/* Closes its bus and log pipes; kills its process group unless it is already reaped. */
static void release(struct child *s, bool kill_it)
{
	struct standby *sb = &s->standby;

	uv_timer_stop(&sb->timer);
	sb->discarded = true;
	sb->ready = false;
	if (kill_it)
		(void)kill(-sb->pid, SIGKILL);
	struct ipc_chan *ch = sb->chan;
	sb->chan = NULL; /* its on_close finds no owner */
	if (ch)
		ipc_chan_close(ch);
	logpipe_drain_close(sb->out);
	logpipe_drain_close(sb->err);
	sb->out = sb->err = NULL;
}

static void standby_failed(struct child *s, const char *why, bool reaped)
{
	init_log(s, "next instance pid %d %s: restarting the usual way", (int)s->standby.pid, why);
	release(s, !reaped);
	if (reaped)
		clear(&s->standby);
	supervise_event(s, EV_NEXT_READY); /* stops the current one, if it still runs */
}

static void ready_timeout_cb(uv_timer_t *t)
{
	struct child *s = t->data;
	char why[64];

	snprintf(why, sizeof(why), "not ready after %u ms", s->conf->ready_timeout_ms);
	standby_failed(s, why, false);
}

bool standby_pending(const struct child *s)
{
	return s->standby.pid > 0 && !s->standby.discarded;
}

bool standby_owns(const struct child *s, const struct ipc_chan *ch)
{
	return ch && s->standby.chan == ch;
}

/* spawn_server fills in the running instance's fields: swap them around it. */
bool standby_start(struct child *s)
{
	struct standby *sb = &s->standby;

	if (sb->pid > 0)
		return false; /* a discarded one not reaped yet */
	pid_t pid = s->pid;
	struct ipc_chan *chan = s->chan;
	uint64_t gen = s->chan_gen, start_ms = s->start_ms;
	struct logpipe *out = s->out, *err = s->err;
	bool exited = s->exited;
	int jail_nr = s->jail_nr;

	s->out = s->err = NULL;
	int r = spawn_server(s);
	if (r == 0) {
		*sb = (struct standby){
		    .pid = s->pid,
		    .chan = s->chan,
		    .chan_gen = s->chan_gen,
		    .out = s->out,
		    .err = s->err,
		    .start_ms = s->start_ms,
		    .jail_nr = -1,
		    .timer = sb->timer,
		};
	}
	s->pid = pid;
	s->chan = chan;
	s->chan_gen = gen;
	s->start_ms = start_ms;
	s->out = out;
	s->err = err;
	s->exited = exited;
	s->jail_nr = jail_nr;
	if (r < 0) {
		init_log(s, "unable to prestart the next instance: %s; restarting the usual way",
			 strerror(-r));
		return false;
	}
	if (!sb->chan) { /* spawn_server killed it: no bus */
		release(s, true);
		return false;
	}
	if (pid > 0)
		init_log(s, "prestarted pid %d; pid %d serves until it is ready", (int)sb->pid,
			 (int)pid);
	else
		init_log(s, "prestarted pid %d during the backoff", (int)sb->pid);
	(void)uv_timer_start(&sb->timer, ready_timeout_cb, s->conf->ready_timeout_ms, 0);
	return true;
}

void standby_request(struct child *s, struct ipc_chan *ch, struct ipc_msg *msg)
{
	struct standby *sb = &s->standby;

	if (msg->type != IPC_MSG_READY || sb->ready) {
		/* The store and the control API belong to the running instance until this one
		 * takes over. */
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EAGAIN,
					   "held at READY until the running instance hands over");
		return;
	}
	Mhcl__Ready *rd = (Mhcl__Ready *)ipc_msg_unpack(ch, msg, &mhcl__ready__descriptor);
	if (!rd)
		return; /* the channel closes: standby_closed */
	protobuf_c_message_free_unpacked(&rd->base, NULL);
	uv_timer_stop(&sb->timer);
	sb->ready = true;
	sb->ready_request_id = msg->request_id;
	init_log(s, "next instance pid %d ready after %llu ms", (int)sb->pid,
		 (unsigned long long)(init_now_ms() - sb->start_ms));
	supervise_event(s, EV_NEXT_READY);
}

void standby_notify(struct child *s, struct ipc_msg *msg)
{
	struct standby *sb = &s->standby;

	if (msg->type == IPC_MSG_JAIL_VIOLATION)
		supervise_jail_violation(s, sb->chan, msg, "next instance: ", &sb->jail_nr,
					 &sb->jail_arch);
}

void standby_closed(struct child *s)
{
	s->standby.chan = NULL;
	if (standby_pending(s))
		standby_failed(s, "closed its bus", false);
}

bool standby_reaped(struct child *s, pid_t pid, int status)
{
	struct standby *sb = &s->standby;

	if (pid <= 0 || sb->pid != pid)
		return false;
	if (sb->discarded) {
		clear(sb);
		return true;
	}
	char why[64];
	snprintf(why, sizeof(why), "exited (%s %d)", WIFEXITED(status) ? "status" : "signal",
		 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	standby_failed(s, why, true);
	return true;
}

bool standby_promote(struct child *s, bool *held)
{
	struct standby *sb = &s->standby;

	if (!standby_pending(s))
		return false;
	uv_timer_stop(&sb->timer);
	s->pid = sb->pid;
	s->chan = sb->chan;
	s->chan_gen = sb->chan_gen;
	s->out = sb->out;
	s->err = sb->err;
	s->start_ms = sb->start_ms;
	s->exited = false;
	s->jail_nr = sb->jail_nr;
	s->jail_arch = sb->jail_arch;
	s->ready_request_id = sb->ready_request_id;
	*held = sb->ready;
	init_log(s, "pid %d takes over", (int)sb->pid);
	clear(sb);
	return true;
}

/* Kills it; it is reaped by standby_reaped. */
void standby_discard(struct child *s, const char *why)
{
	if (!standby_pending(s))
		return;
	init_log(s, "next instance pid %d discarded: %s", (int)s->standby.pid, why);
	release(s, true);
}
