/* SPDX-License-Identifier: MIT */
/* mhcl-init internals shared by its source files (one job each). */
#ifndef MHCL_INIT_INIT_H
#define MHCL_INIT_INIT_H

#include "log.h" /* first: sys/param.h guards its MIN/MAX, ours do not */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "config.h"
#include "fdstore.h"
#include "ipc.h"
#include "logring.h"

#define INIT_LOG_LINES 512
#define INIT_LOG_BYTES (64u * 1024u)
#define INIT_REAP_GRACE_MS 500	     /* wait this long for the bus to drain after an exit */
#define INIT_INSPECT_TIMEOUT_MS 3000 /* bound on a server answering a routed inspect */
#define INIT_RESTART_WAITERS 8

enum srv_state {
	SRV_STARTING,
	SRV_RUNNING,
	SRV_STOPPING,
	SRV_BACKOFF,
	SRV_FAILED,
	SRV_STOPPED,
	_SRV_STATE_MAX,
};

enum srv_event {
	EV_START, /* boot or an explicit start */
	EV_READY, /* READY arrived on the bus */
	EV_READY_TIMEOUT,
	EV_EXIT, /* the process is gone and its bus drained */
	EV_STOP, /* shutdown */
	EV_STOP_TIMEOUT,
	EV_BACKOFF_DONE,
	EV_RESTART,	/* planned restart (control API) */
	EV_HANDED_OVER, /* a planned restart's instance closed its bus and shares nothing more */
	EV_NEXT_READY,	/* a prestarted next instance is held at READY, or gave up: stop this one */
	_EV_MAX,
};

struct init;
struct logpipe;

/* Someone waiting for a planned restart to finish (a control request). */
struct restart_waiter {
	struct child *requester;
	uint64_t chan_gen;
	uint32_t request_id;
};

/* A planned restart's next instance, started while the current one still serves (manifest
 * `prestart`) and held at READY until that one has handed over (standby.c). */
struct standby {
	pid_t pid; /* 0: none */
	struct ipc_chan *chan;
	uint64_t chan_gen;
	struct logpipe *out, *err;
	uint64_t start_ms;
	int jail_nr;
	uint32_t jail_arch;
	bool ready; /* its READY is held, unanswered */
	uint32_t ready_request_id;
	bool discarded;	  /* killed, waiting to be reaped */
	uv_timer_t timer; /* its ready timeout */
};

/* One supervised child: a manifest entry and its running instance (not to be confused
 * with lib/server's struct srv, the frame a server process runs on). */
struct child {
	struct init *init;
	const struct srv_conf *conf;
	size_t index;
	enum srv_state state;
	char path[4096]; /* resolved binary */

	/* The running instance. */
	pid_t pid;
	struct ipc_chan *chan; /* init's end of the bus; NULL once closed */
	uint64_t chan_gen;     /* unique per instance: stale replies are dropped */
	uint64_t gen_seq;      /* the last chan_gen given out */
	struct logpipe *out, *err;
	uint64_t start_ms; /* monotonic */
	bool exited;	   /* reaped, waiting for the bus to drain */
	int bus_close_reason;
	uint32_t ready_request_id; /* the READY being answered by EV_READY */
	int wait_status;
	uv_timer_t timer;     /* ready/stop timeout, backoff, reap grace */
	uv_timer_t bus_timer; /* bus gone but process not reaped yet */
	/* A planned restart's previous instance, still exiting after it handed over
	 * (IPC_MSG_HANDOVER, then its bus closed); killed if it lingers. */
	bool handover;
	pid_t draining_pid;
	uv_timer_t drain_timer;

	/* Supervision. */
	uint32_t restarts;
	uint32_t delay_ms;    /* next backoff */
	uint64_t fail_ms[64]; /* failure times (ring) for the crash-loop tally */
	uint32_t fail_head, fail_count;
	bool stop_requested; /* shutdown or stop: do not restart */
	bool planned;	     /* planned restart in progress */
	bool have_saved;
	uint8_t *saved_state;
	size_t saved_len;
	bool crash_restart; /* the previous instance died without saving */
	bool ready_timed_out;
	bool handshake_failed; /* READY could not be answered */
	bool started_once;
	char last_exit[160];
	int jail_nr; /* JailViolation of this instance, -1 if none */
	uint32_t jail_arch;
	struct restart_waiter waiters[INIT_RESTART_WAITERS];
	size_t nwaiters;

	struct standby standby;

	struct logring *log;
	struct fdstore fdstore; /* kept across instances; handed over with READY */
};

struct init {
	uv_loop_t *loop;
	struct manifest *manifest;
	struct child *servers;
	size_t nservers;
	const char *libexec;
	const char *run_dir;
	bool pid1;
	bool isolated;	    /* /chosen/mhcl,isolated: no faults, no memory reads through diag */
	bool initial_pidns; /* the real PID 1 of the machine: power off at the end */
	bool verbose;
	uint64_t log_seq; /* next global log sequence number */
	uint64_t start_ms;
	size_t boot_next; /* next server index to start in order */
	bool shutting_down;
	size_t shutdown_next; /* servers above this index are down */
	int exit_code;
	uv_signal_t sig_chld, sig_term, sig_int, sig_pwr, sig_usr2;
	uint64_t orphans_reaped;
	char mounted[128];     /* what pid1_setup mounted, space-separated */
	int echo_fd;	       /* non-blocking view of stderr for server lines */
	uint64_t echo_dropped; /* lines not echoed because stderr was full */
};

/* logging about a server: to its ring (stream 3) and to init's stderr. */
void init_log(struct child *s, const char *fmt, ...) _printf_(2, 3);
void init_log_line(struct child *s, uint8_t stream, const char *text, size_t len);
uint64_t init_now_ms(void);

/* supervise.c: callbacks of init's end of every server's bus channel. */
extern const struct ipc_chan_ops server_chan_ops;

/* spawn.c */
struct logpipe *logpipe_open(struct child *s, int fd, uint8_t stream);
void logpipe_drain_close(struct logpipe *p);
int spawn_server(struct child *s);

/* privileges.c: the server's identity (manifest: user, group, groups, capabilities,
 * device-files, run-group). grant_devices runs in init before each start; drop runs in
 * the child between fork and exec and returns 0 or an errno. */
void privileges_grant_devices(struct child *s);
int privileges_drop(const struct srv_conf *c);
int privileges_prepare_run_dir(const struct init *in);

/* supervise.c */
void supervise_event(struct child *s, enum srv_event ev);
void supervise_child_exit(struct init *in, pid_t pid, int status);
void supervise_boot(struct init *in);
void supervise_shutdown(struct init *in);
void supervise_state_changed(struct child *s);
const char *srv_state_name(enum srv_state st);
struct child *init_find_server(struct init *in, const char *name);
int supervise_restart(struct child *s, struct child *requester, uint32_t request_id);
/* A JailViolation notification: recorded in *nr and *arch and logged, who first. */
void supervise_jail_violation(struct child *s, struct ipc_chan *ch, struct ipc_msg *msg,
			      const char *who, int *nr, uint32_t *arch);

/* standby.c: the prestarted next instance of a planned restart. */
bool standby_start(struct child *s); /* false: none (restart the usual way) */
bool standby_pending(const struct child *s);
bool standby_owns(const struct child *s, const struct ipc_chan *ch);
void standby_request(struct child *s, struct ipc_chan *ch, struct ipc_msg *msg);
void standby_notify(struct child *s, struct ipc_msg *msg);
void standby_closed(struct child *s);
bool standby_reaped(struct child *s, pid_t pid, int status); /* true: it was the standby */
/* Makes the standby the running instance; *held: its READY waits for an answer. */
bool standby_promote(struct child *s, bool *held);
void standby_discard(struct child *s, const char *why);

/* control.c */
void control_request(struct child *s, struct ipc_msg *msg);

/* cpus.c: IPC_MSG_CPUS, parked CPUs handed to Linux through the sidecar server. */
void cpus_request(struct child *s, struct ipc_msg *msg);
/* Parses a kernel CPU list ("0-3,5
") into a bitmap of max bits; returns the number of
 * CPUs set, or -EINVAL. Exposed for the unit test. */
int cpus_parse_list(const char *s, uint8_t *bits, unsigned max);
void control_fill_inspect(struct init *in, void *tree, void *root);

/* pid1.c */
int pid1_setup(struct init *in);
int pidns_reexec(int argc, char **argv);
void pid1_finish(struct init *in);

#endif
