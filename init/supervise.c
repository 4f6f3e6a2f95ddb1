/* SPDX-License-Identifier: MIT */
/*
 * Supervision, s6 style: every transition of a server is one entry of
 * supervise_actions[state][event]; nop entries are written out so the whole
 * machine can be reviewed here.
 *
 * Readiness is the server's READY request on its bus. A process exit is
 * handled once the process is reaped *and* its bus has drained (so a
 * JailViolation sent just before dying is seen first), bounded by
 * INIT_REAP_GRACE_MS. Failures restart with exponential backoff; N failures
 * within the crash-loop window make the server "failed" for good.
 */
#include "init.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "diag.pb-c.h"
#include "defs/exit_codes.h"
#include "jail.h"

static const char *const state_names[_SRV_STATE_MAX] = {
    [SRV_STARTING] = "starting", [SRV_RUNNING] = "running", [SRV_STOPPING] = "stopping",
    [SRV_BACKOFF] = "backoff",	 [SRV_FAILED] = "failed",   [SRV_STOPPED] = "stopped",
};

const char *srv_state_name(enum srv_state st)
{
	return (int)st >= 0 && st < _SRV_STATE_MAX ? state_names[st] : "invalid";
}

uint64_t init_now_ms(void)
{
	return uv_hrtime() / 1000000u;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void init_log_line(struct child *s, uint8_t stream, const char *text, size_t len)
{
	struct init *in = s->init;
	char buf[LOGRING_LINE_MAX + 96];

	char clean[LOGRING_LINE_MAX];

	/* A line's CRLF ending (a guest's serial console relayed by the worker) is
	 * still one line end, not a control character to show. */
	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (len > LOGRING_LINE_MAX)
		len = LOGRING_LINE_MAX;
	/* Server output is untrusted: no control characters (terminal escapes,
	 * NULs that would cut the line) reach the ring, the echo or a client. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		clean[i] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
	}
	logring_append(s->log, in->log_seq++, realtime_ns(), stream, clean, len);
	int n = snprintf(buf, sizeof(buf), "%s%s: %.*s\n", s->conf->name,
			 stream == LOGRING_INIT ? " [init]" : "", (int)len, clean);
	/* Never block on a slow console or reader: drop the echo instead (the
	 * ring keeps the line). Lines are shorter than PIPE_BUF: all or nothing. */
	if (n > 0 && write(in->echo_fd, buf, MIN((size_t)n, sizeof(buf) - 1)) < 0)
		in->echo_dropped++;
}

void init_log(struct child *s, const char *fmt, ...)
{
	char buf[LOGRING_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	init_log_line(s, LOGRING_INIT, buf, MIN((size_t)n, sizeof(buf) - 1));
}

struct child *init_find_server(struct init *in, const char *name)
{
	for (size_t i = 0; i < in->nservers; i++)
		if (strcmp(in->servers[i].conf->name, name) == 0)
			return &in->servers[i];
	return NULL;
}

static void set_state(struct child *s, enum srv_state st)
{
	if (s->state == st)
		return;
	if (s->init->verbose)
		init_log(s, "state %s -> %s", state_names[s->state], state_names[st]);
	s->state = st;
}

static void timer_start(struct child *s, uv_timer_cb cb, uint64_t ms)
{
	uv_timer_stop(&s->timer);
	(void)uv_timer_start(&s->timer, cb, ms, 0);
}

static void ready_timeout_cb(uv_timer_t *t)
{
	supervise_event(container_of(t, struct child, timer), EV_READY_TIMEOUT);
}

static void stop_timeout_cb(uv_timer_t *t)
{
	supervise_event(container_of(t, struct child, timer), EV_STOP_TIMEOUT);
}

static void backoff_cb(uv_timer_t *t)
{
	supervise_event(container_of(t, struct child, timer), EV_BACKOFF_DONE);
}

static void reap_grace_cb(uv_timer_t *t)
{
	struct child *s = container_of(t, struct child, timer);
	/* The bus did not drain (a descendant holds it): stop waiting. */
	if (s->chan)
		ipc_chan_close(s->chan); /* on_close dispatches EV_EXIT */
}

/* ---- restart waiters (control RESTART requests) ---- */

static struct ipc_chan *requester_chan(struct child *req, uint64_t gen)
{
	return req && req->chan && req->chan_gen == gen ? req->chan : NULL;
}

static void answer_waiters(struct child *s, int err)
{
	for (size_t i = 0; i < s->nwaiters; i++) {
		struct restart_waiter *w = &s->waiters[i];
		struct ipc_chan *ch = requester_chan(w->requester, w->chan_gen);
		if (!ch)
			continue;
		if (err) {
			(void)ipc_chan_reply_error(ch, w->request_id, IPC_MSG_RESTART, err,
						   "%s did not come back: %s", s->conf->name,
						   s->last_exit);
		} else {
			Mhcl__RestartReply rep = MHCL__RESTART_REPLY__INIT;
			rep.pid = s->pid;
			(void)ipc_chan_reply(ch, w->request_id, IPC_MSG_RESTART, &rep.base, NULL,
					     0);
		}
	}
	s->nwaiters = 0;
}

/* ---- actions ---- */

typedef void (*action_fn)(struct child *s);

static void nop(struct child *s)
{
}

static void clear_saved(struct child *s)
{
	free(s->saved_state);
	s->saved_state = NULL;
	s->saved_len = 0;
	s->have_saved = false;
}

static void fail_start(struct child *s, int r);
static void act_ready(struct child *s);

static void act_spawn(struct child *s)
{
	uv_timer_stop(&s->timer);
	if (s->started_once)
		s->restarts++;
	s->started_once = true;
	s->ready_timed_out = false;
	s->handshake_failed = false;
	s->handover = false;
	bool held;
	if (standby_promote(s, &held)) {
		set_state(s, SRV_STARTING);
		if (held)
			act_ready(s);
		else
			timer_start(s, ready_timeout_cb, s->conf->ready_timeout_ms);
		return;
	}
	int r = spawn_server(s);
	if (r < 0) {
		fail_start(s, r);
		return;
	}
	set_state(s, SRV_STARTING);
	timer_start(s, ready_timeout_cb, s->conf->ready_timeout_ms);
}

static void act_spawn_reset(struct child *s)
{
	s->fail_count = 0;
	s->delay_ms = s->conf->restart_delay_ms;
	s->stop_requested = false;
	act_spawn(s);
}

static uint32_t next_delay(struct child *s)
{
	uint32_t d = s->delay_ms ? s->delay_ms : s->conf->restart_delay_ms;
	uint64_t n = (uint64_t)d * 2;
	s->delay_ms = (uint32_t)MIN(n, (uint64_t)s->conf->restart_delay_max_ms);
	return d;
}

/* Records one failure; true when the crash-loop limit is reached. */
static bool count_failure(struct child *s)
{
	uint64_t now = init_now_ms();
	uint32_t limit = s->conf->crash_loop_limit, n = 0;

	s->fail_ms[s->fail_head] = now;
	s->fail_head = (s->fail_head + 1) % limit;
	if (s->fail_count < limit)
		s->fail_count++;
	for (uint32_t i = 0; i < s->fail_count; i++)
		if (now - s->fail_ms[i] <= s->conf->crash_loop_window_ms)
			n++;
	return n >= limit;
}

/* After a failure: back off and restart, or give up. */
static void failed_instance(struct child *s)
{
	if (s->conf->restart == RESTART_NEVER) {
		set_state(s, SRV_FAILED);
		init_log(s, "failed (restart = never)");
		return;
	}
	if (count_failure(s)) {
		set_state(s, SRV_FAILED);
		init_log(s, "crash loop: %u failures within %u ms, giving up",
			 s->conf->crash_loop_limit, s->conf->crash_loop_window_ms);
		return;
	}
	uint32_t d = next_delay(s);
	init_log(s, "restarting in %u ms", d);
	set_state(s, SRV_BACKOFF);
	timer_start(s, backoff_cb, d);
}

static void fail_start(struct child *s, int r)
{
	s->crash_restart = true;
	clear_saved(s);
	s->planned = false;
	if (s->stop_requested) {
		set_state(s, SRV_STOPPED);
	} else {
		failed_instance(s);
	}
	if (s->state != SRV_BACKOFF && s->state != SRV_STARTING)
		answer_waiters(s, -ECHILD);
}

static void act_ready_again(struct child *s);

static void act_ready_timeout(struct child *s)
{
	init_log(s, "not ready after %u ms, killing", s->conf->ready_timeout_ms);
	s->ready_timed_out = true;
	if (s->pid > 0)
		(void)kill(-s->pid, SIGKILL);
}

struct stop_ctx {
	struct child *s;
	uint64_t gen;
};

static void stop_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct stop_ctx *c = opaque;
	struct child *s = c->s;
	bool current = s->chan == ch && s->chan_gen == c->gen;

	free(c);
	if (!current || status < 0 || !reply)
		return;
	Mhcl__StopReply *rep =
	    (Mhcl__StopReply *)ipc_msg_unpack(ch, reply, &mhcl__stop_reply__descriptor);
	if (!rep)
		return;
	if (s->planned) {
		clear_saved(s);
		if (rep->saved_state.len) {
			s->saved_state = malloc(rep->saved_state.len);
			if (s->saved_state) {
				memcpy(s->saved_state, rep->saved_state.data, rep->saved_state.len);
				s->saved_len = rep->saved_state.len;
			}
		}
		s->have_saved = true;
		init_log(s, "saved %zu bytes of state", s->saved_len);
	}
	protobuf_c_message_free_unpacked(&rep->base, NULL);
}

static void send_stop(struct child *s, bool save)
{
	set_state(s, SRV_STOPPING);
	timer_start(s, stop_timeout_cb, s->conf->stop_timeout_ms);
	if (s->chan) {
		Mhcl__StopRequest rq = MHCL__STOP_REQUEST__INIT;
		rq.save = save;
		struct stop_ctx *c = malloc(sizeof(*c));
		if (c) {
			c->s = s;
			c->gen = s->chan_gen;
			if (ipc_chan_request(s->chan, IPC_MSG_STOP, &rq.base, NULL, 0,
					     s->conf->stop_timeout_ms, stop_reply, c) == 0)
				return;
			free(c);
		}
	}
	if (s->pid > 0)
		(void)kill(s->pid, SIGTERM);
}

static void act_stop(struct child *s)
{
	standby_discard(s, "stopping");
	s->stop_requested = true;
	init_log(s, "stopping");
	send_stop(s, false);
}

static void act_planned_stop(struct child *s)
{
	s->planned = true;
	init_log(s, "planned restart: saving state and stopping");
	send_stop(s, true);
}

/* A planned restart: the next instance first, if the server allows it. */
static void act_restart(struct child *s)
{
	if (s->conf->prestart && standby_start(s))
		return; /* EV_NEXT_READY stops this one once the next is ready or gave up */
	act_planned_stop(s);
}

static void act_kill(struct child *s)
{
	init_log(s, "did not stop within %u ms, killing", s->conf->stop_timeout_ms);
	if (s->pid > 0)
		(void)kill(-s->pid, SIGKILL);
}

static void act_cancel(struct child *s)
{
	standby_discard(s, "stopping");
	uv_timer_stop(&s->timer);
	s->stop_requested = true;
	set_state(s, SRV_STOPPED);
}

/* sigabbrev_np() is glibc-only; the signals a server dies of, by name. */
static const char *sig_name(int sig, char *buf, size_t len)
{
	static const struct {
		int sig;
		const char *name;
	} names[] = {
	    {SIGHUP, "SIGHUP"},	  {SIGINT, "SIGINT"},	{SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
	    {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
	    {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
	    {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"}, {SIGSYS, "SIGSYS"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].sig == sig)
			return names[i].name;
	snprintf(buf, len, "signal %d", sig);
	return buf;
}

static void describe_exit(struct child *s, int st)
{
	char name[64];

	if (s->jail_nr >= 0) {
		jail_syscall_name(s->jail_nr, s->jail_arch, name, sizeof(name));
		snprintf(s->last_exit, sizeof(s->last_exit), "seccomp: %s", name);
	} else if (s->handshake_failed) {
		snprintf(s->last_exit, sizeof(s->last_exit), "READY handshake failed");
	} else if (s->ready_timed_out) {
		snprintf(s->last_exit, sizeof(s->last_exit), "ready timeout");
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == MHCL_EXIT_JAIL) {
		snprintf(s->last_exit, sizeof(s->last_exit), "jail failure (exit %d)",
			 MHCL_EXIT_JAIL);
	} else if (WIFEXITED(st)) {
		snprintf(s->last_exit, sizeof(s->last_exit), "exited %d", WEXITSTATUS(st));
	} else if (WIFSIGNALED(st)) {
		snprintf(s->last_exit, sizeof(s->last_exit), "killed by %s",
			 sig_name(WTERMSIG(st), name, sizeof(name)));
	} else {
		snprintf(s->last_exit, sizeof(s->last_exit), "status 0x%x", st);
	}
}

static void act_exit(struct child *s)
{
	int st = s->wait_status;
	uint64_t ran_ms = init_now_ms() - s->start_ms;

	uv_timer_stop(&s->timer);
	uv_timer_stop(&s->bus_timer);
	describe_exit(s, st);
	if (WIFEXITED(st))
		init_log(s, "pid %d exited with %d (%s) after %llu ms", (int)s->pid,
			 WEXITSTATUS(st), s->last_exit, (unsigned long long)ran_ms);
	else
		init_log(s, "pid %d %s after %llu ms", (int)s->pid, s->last_exit,
			 (unsigned long long)ran_ms);
	logpipe_drain_close(s->out);
	logpipe_drain_close(s->err);
	s->pid = 0;
	s->exited = false;

	/* A long healthy run forgets earlier trouble. */
	if (ran_ms >= s->conf->crash_loop_window_ms)
		s->delay_ms = s->conf->restart_delay_ms;

	if (s->stop_requested) {
		standby_discard(s, "stopping");
		s->planned = false;
		clear_saved(s);
		set_state(s, SRV_STOPPED);
		init_log(s, "stopped");
		answer_waiters(s, -ECANCELED);
		return;
	}
	if (s->planned) {
		s->planned = false;
		/* No StopReply (the server hung and was killed): nothing saved. */
		s->crash_restart = !s->have_saved;
		act_spawn(s);
		return;
	}
	s->crash_restart = true;
	clear_saved(s);
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 && !s->ready_timed_out;
	if (WIFEXITED(st) && WEXITSTATUS(st) == MHCL_EXIT_NO_RESTART) {
		init_log(s, "asked not to be restarted (exit %d)", MHCL_EXIT_NO_RESTART);
		set_state(s, SRV_STOPPED);
	} else if (ok && s->conf->restart != RESTART_ALWAYS) {
		set_state(s, SRV_STOPPED);
		if (s->conf->stop_all_on_exit && !s->init->shutting_down) {
			standby_discard(s, "the server is not restarted");
			init_log(s, "done: stopping every server (stop-all-on-exit)");
			answer_waiters(s, -ECHILD);
			supervise_shutdown(s->init);
			return;
		}
	} else if (ok) {
		uint32_t d = s->conf->restart_delay_ms;
		init_log(s, "restarting in %u ms", d);
		set_state(s, SRV_BACKOFF);
		timer_start(s, backoff_cb, d);
	} else {
		failed_instance(s);
	}
	/* A crash while a next instance was being prestarted: it takes over after the
	 * backoff, as a crash restart. Anything else has no use for it. A server that may
	 * be prestarted has its next instance start now, so that its start-up overlaps
	 * the backoff rather than following it: the guest's I/O waits for both. */
	if (s->state != SRV_BACKOFF)
		standby_discard(s, "the server is not restarted");
	else if (s->conf->prestart && !standby_pending(s))
		(void)standby_start(s);
	answer_waiters(s, -ECHILD);
}

static const action_fn supervise_actions[_SRV_STATE_MAX][_EV_MAX] = {
    [SRV_STARTING] =
	{
	    [EV_START] = nop,
	    [EV_READY] = act_ready,
	    [EV_READY_TIMEOUT] = act_ready_timeout,
	    [EV_EXIT] = act_exit,
	    [EV_STOP] = act_stop,
	    [EV_STOP_TIMEOUT] = nop,
	    [EV_BACKOFF_DONE] = nop,
	    [EV_RESTART] = nop,
	    [EV_HANDED_OVER] = nop,
	    [EV_NEXT_READY] = nop,
	},
    [SRV_RUNNING] =
	{
	    [EV_START] = nop,
	    [EV_READY] = act_ready_again,
	    [EV_READY_TIMEOUT] = nop,
	    [EV_EXIT] = act_exit,
	    [EV_STOP] = act_stop,
	    [EV_STOP_TIMEOUT] = nop,
	    [EV_BACKOFF_DONE] = nop,
	    [EV_RESTART] = act_restart,
	    [EV_HANDED_OVER] = nop,
	    [EV_NEXT_READY] = act_planned_stop,
	},
    [SRV_STOPPING] =
	{
	    [EV_START] = nop,
	    [EV_READY] = act_ready_again,
	    [EV_READY_TIMEOUT] = nop,
	    [EV_EXIT] = act_exit,
	    [EV_STOP] = nop,
	    [EV_STOP_TIMEOUT] = act_kill,
	    [EV_BACKOFF_DONE] = nop,
	    [EV_RESTART] = nop,
	    [EV_HANDED_OVER] = act_spawn,
	    [EV_NEXT_READY] = nop,
	},
    [SRV_BACKOFF] =
	{
	    [EV_START] = act_spawn,
	    [EV_READY] = nop,
	    [EV_READY_TIMEOUT] = nop,
	    [EV_EXIT] = nop,
	    [EV_STOP] = act_cancel,
	    [EV_STOP_TIMEOUT] = nop,
	    [EV_BACKOFF_DONE] = act_spawn,
	    [EV_RESTART] = act_spawn,
	    [EV_HANDED_OVER] = nop,
	    [EV_NEXT_READY] = nop,
	},
    [SRV_FAILED] =
	{
	    [EV_START] = act_spawn_reset,
	    [EV_READY] = nop,
	    [EV_READY_TIMEOUT] = nop,
	    [EV_EXIT] = nop,
	    [EV_STOP] = nop,
	    [EV_STOP_TIMEOUT] = nop,
	    [EV_BACKOFF_DONE] = nop,
	    [EV_RESTART] = act_spawn_reset,
	    [EV_HANDED_OVER] = nop,
	    [EV_NEXT_READY] = nop,
	},
    [SRV_STOPPED] =
	{
	    [EV_START] = act_spawn_reset,
	    [EV_READY] = nop,
	    [EV_READY_TIMEOUT] = nop,
	    [EV_EXIT] = nop,
	    [EV_STOP] = nop,
	    [EV_STOP_TIMEOUT] = nop,
	    [EV_BACKOFF_DONE] = nop,
	    [EV_RESTART] = act_spawn_reset,
	    [EV_HANDED_OVER] = nop,
	    [EV_NEXT_READY] = nop,
	},
};

static void act_ready(struct child *s)
{
	Mhcl__ReadyReply rep = MHCL__READY_REPLY__INIT;

	uv_timer_stop(&s->timer);
	rep.name = (char *)s->conf->name;
	rep.restarts = s->restarts;
	rep.crash_restart = s->restarts > 0 && s->crash_restart;
	if (s->have_saved) {
		rep.saved_state.data = s->saved_state;
		rep.saved_state.len = s->saved_len;
	}
	char *names[FDSTORE_MAX];
	for (size_t i = 0; i < s->fdstore.n; i++)
		names[i] = s->fdstore.names[i];
	rep.n_stored_fds = s->fdstore.n;
	rep.stored_fds = names;
	int r = ipc_chan_reply(s->chan, s->ready_request_id, IPC_MSG_READY, &rep.base,
			       s->fdstore.fds, s->fdstore.n);
	if (r < 0) {
		/* The handshake cannot complete (state too large for a frame, bus
		 * full): this instance is not ready and will not become so. */
		init_log(s, "unable to answer READY: %s, killing", strerror(-r));
		clear_saved(s);
		s->ready_timed_out = true;
		s->handshake_failed = true;
		if (s->pid > 0)
			(void)kill(-s->pid, SIGKILL);
		return;
	}
	init_log(s, "ready (pid %d, restarts %u%s, %zu stored fds)", (int)s->pid, s->restarts,
		 s->have_saved ? ", state handed over" : "", s->fdstore.n);
	clear_saved(s);
	set_state(s, SRV_RUNNING);
	answer_waiters(s, 0);
}

static void act_ready_again(struct child *s)
{
	(void)ipc_chan_reply_error(s->chan, s->ready_request_id, IPC_MSG_READY, -EALREADY,
				   "READY already received");
}

void supervise_event(struct child *s, enum srv_event ev)
{
	enum srv_state before = s->state;

	supervise_actions[s->state][ev](s);
	if (s->state != before)
		supervise_state_changed(s);
}

/* ---- ordered start and stop ---- */

static void boot_advance(struct init *in)
{
	while (!in->shutting_down && in->boot_next < in->nservers) {
		struct child *s = &in->servers[in->boot_next];
		if (!s->started_once && s->state == SRV_STOPPED)
			supervise_event(s, EV_START);
		if (s->state == SRV_STARTING)
			return; /* the next one starts when this one is ready or gave up */
		in->boot_next++;
	}
}

static void shutdown_advance(struct init *in)
{
	while (in->shutdown_next > 0) {
		struct child *s = &in->servers[in->shutdown_next - 1];
		s->stop_requested = true;
		if (s->state != SRV_STOPPED && s->state != SRV_FAILED)
			supervise_event(s, EV_STOP);
		if (s->state != SRV_STOPPED && s->state != SRV_FAILED)
			return;
		in->shutdown_next--;
	}
	uv_stop(in->loop);
}

void supervise_state_changed(struct child *s)
{
	struct init *in = s->init;

	if (in->shutting_down)
		shutdown_advance(in);
	else
		boot_advance(in);
}

void supervise_boot(struct init *in)
{
	in->boot_next = 0;
	boot_advance(in);
}

void supervise_shutdown(struct init *in)
{
	if (in->shutting_down) {
		/* Second request: no more waiting. */
		for (size_t i = 0; i < in->nservers; i++) {
			if (in->servers[i].pid > 0)
				(void)kill(-in->servers[i].pid, SIGKILL);
			standby_discard(&in->servers[i], "shutting down");
		}
		return;
	}
	in->shutting_down = true;
	in->shutdown_next = in->nservers;
	shutdown_advance(in);
}

int supervise_restart(struct child *s, struct child *requester, uint32_t request_id)
{
	if (s->state == SRV_STOPPING && !s->planned)
		return -EBUSY;
	if (s->nwaiters >= INIT_RESTART_WAITERS)
		return -EBUSY;
	if (s->init->shutting_down)
		return -ESHUTDOWN;
	s->waiters[s->nwaiters++] = (struct restart_waiter){
	    .requester = requester,
	    .chan_gen = requester->chan_gen,
	    .request_id = request_id,
	};
	/* Joining a restart already under way just waits for it. */
	if (standby_pending(s))
		return 0;
	if (s->state == SRV_RUNNING || s->state == SRV_BACKOFF || s->state == SRV_FAILED ||
	    s->state == SRV_STOPPED)
		supervise_event(s, EV_RESTART);
	return 0;
}

/* ---- exits ---- */

void supervise_child_exit(struct init *in, pid_t pid, int status)
{
	for (size_t i = 0; i < in->nservers; i++) {
		struct child *s = &in->servers[i];
		if (standby_reaped(s, pid, status))
			return;
		if (s->draining_pid == pid) {
			uv_timer_stop(&s->drain_timer);
			s->draining_pid = 0;
			init_log(s, "previous pid %d exited (%s %d)", (int)pid,
				 WIFEXITED(status) ? "status" : "signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			return;
		}
		if (s->pid != pid || s->exited)
			continue;
		s->exited = true;
		s->wait_status = status;
		if (!s->chan)
			supervise_event(s, EV_EXIT);
		else
			timer_start(s, reap_grace_cb, INIT_REAP_GRACE_MS);
		return;
	}
	in->orphans_reaped++;
	if (in->verbose)
		log_info("reaped orphan pid %d", (int)pid);
}

/* ---- init's end of each bus channel ---- */

static void chan_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct child *s = opaque;

	if (standby_owns(s, ch)) {
		standby_request(s, ch, msg);
		return;
	}
	if (s->chan != ch) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -ESTALE,
					   "instance is gone");
		return;
	}
	if (msg->type == IPC_MSG_READY) {
		Mhcl__Ready *rd = (Mhcl__Ready *)ipc_msg_unpack(ch, msg, &mhcl__ready__descriptor);
		if (!rd)
			return;
		protobuf_c_message_free_unpacked(&rd->base, NULL);
		s->ready_request_id = msg->request_id;
		supervise_event(s, EV_READY);
		return;
	}
	if (msg->type == IPC_MSG_FD_STORE || msg->type == IPC_MSG_FD_STORE_REMOVE) {
		fdstore_request(&s->fdstore, ch, msg);
		return;
	}
	if (msg->type == IPC_MSG_CPUS) {
		cpus_request(s, msg);
		return;
	}
	if ((msg->type >= IPC_MSG_PS && msg->type <= IPC_MSG_NET_CAPTURE) ||
	    msg->type == IPC_MSG_GUEST_SHUTDOWN) {
		control_request(s, msg);
		return;
	}
	(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
				   "init does not handle message type %u", msg->type);
}

static void chan_notify(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct child *s = opaque;

	if (standby_owns(s, ch)) {
		standby_notify(s, msg);
		return;
	}
	if (s->chan != ch)
		return;
	if (msg->type == IPC_MSG_HANDOVER) {
		/* Only a planned restart waits on it; a plain stop or a crash does not. */
		s->handover = s->planned && s->state == SRV_STOPPING;
		return;
	}
	if (msg->type == IPC_MSG_JAIL_VIOLATION)
		supervise_jail_violation(s, ch, msg, "", &s->jail_nr, &s->jail_arch);
}

void supervise_jail_violation(struct child *s, struct ipc_chan *ch, struct ipc_msg *msg,
			      const char *who, int *nr, uint32_t *arch)
{
	char name[64];
	Mhcl__JailViolation *jv =
	    (Mhcl__JailViolation *)ipc_msg_unpack(ch, msg, &mhcl__jail_violation__descriptor);
	if (!jv)
		return;
	*nr = jv->syscall_nr;
	*arch = jv->arch;
	protobuf_c_message_free_unpacked(&jv->base, NULL);
	init_log(s, "%sseccomp: forbidden syscall %s (%d)", who,
		 jail_syscall_name(*nr, *arch, name, sizeof(name)), *nr);
}

static void drain_timeout_cb(uv_timer_t *t)
{
	struct child *s = container_of(t, struct child, drain_timer);

	if (s->draining_pid > 0) {
		init_log(s, "previous pid %d still exiting after %u ms, killing",
			 (int)s->draining_pid, s->conf->stop_timeout_ms);
		(void)kill(-s->draining_pid, SIGKILL);
	}
}

/*
 * A planned restart whose server said it shares nothing with the next instance once its
 * bus is closed: the next instance starts now, while this one finishes exiting (unmapping
 * guest RAM can take longer than the whole restart otherwise would). It is reaped as
 * draining_pid.
 */
static void hand_over(struct child *s)
{
	init_log(s, "pid %d handed over; starting the next instance while it exits", (int)s->pid);
	uv_timer_stop(&s->timer);
	uv_timer_stop(&s->bus_timer);
	logpipe_drain_close(s->out);
	logpipe_drain_close(s->err);
	s->out = s->err = NULL;
	s->draining_pid = s->pid;
	/* Its teardown (freeing a disk's or guest RAM's mappings, tens of ms under load) then
	 * runs only on CPU time the next instance and the rest do not want. A lib/server
	 * server has lowered itself already (srv_finish), before it began; this covers one
	 * that did not. */
	struct sched_param idle = {0};
	if (sched_setscheduler(s->pid, SCHED_IDLE, &idle) < 0)
		init_log(s, "unable to lower pid %d's priority: %s", (int)s->pid, strerror(errno));
	s->pid = 0;
	s->planned = false;
	s->crash_restart = false;
	(void)uv_timer_start(&s->drain_timer, drain_timeout_cb, s->conf->stop_timeout_ms, 0);
	supervise_event(s, EV_HANDED_OVER);
}

static void bus_lost_cb(uv_timer_t *t)
{
	struct child *s = container_of(t, struct child, bus_timer);

	if (s->pid > 0 && !s->exited && !s->chan) {
		init_log(s, "bus closed (%s) but pid %d still runs, killing",
			 strerror(-s->bus_close_reason), (int)s->pid);
		(void)kill(-s->pid, SIGKILL);
	}
}

static void chan_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct child *s = opaque;

	if (standby_owns(s, ch)) {
		standby_closed(s);
		return;
	}
	if (s->chan != ch)
		return;
	s->chan = NULL;
	if (s->exited) {
		supervise_event(s, EV_EXIT);
		return;
	}
	if (s->state == SRV_STOPPING && s->planned && s->handover && s->pid > 0 &&
	    !s->draining_pid) {
		hand_over(s);
		return;
	}
	/* Usually the process is exiting and SIGCHLD is on its way; if it is
	 * not, a server without its bus cannot be supervised: replace it. */
	if (s->pid > 0 && s->state != SRV_STOPPING) {
		s->bus_close_reason = reason;
		(void)uv_timer_start(&s->bus_timer, bus_lost_cb, INIT_REAP_GRACE_MS, 0);
	}
}

const struct ipc_chan_ops server_chan_ops = {
    .on_request = chan_request,
    .on_notify = chan_notify,
    .on_close = chan_close,
};
