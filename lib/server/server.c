/* SPDX-License-Identifier: MIT */
/*
 * The server frame: adopts the bus fd init passed, answers init's
 * supervision requests, enters the jail and performs the READY handshake.
 */
#include "log.h" /* before system headers: sys/param.h guards its MIN/MAX */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "defs/exit_codes.h"
#include "jail.h"
#include "log_limit.h"

#define SRV_NAME_MAX 64

struct srv {
	uv_loop_t *loop;
	const struct srv_ops *ops;
	void *opaque;
	struct ipc_chan *bus;
	char name[SRV_NAME_MAX];
	char policy[SRV_NAME_MAX];
	uv_timer_t fault_timer;
	int fault_kind;
	bool hang; /* FAULT_HANG: requests are no longer answered */
	bool stopping;
	bool ready_sent;
	bool keep_caps;
	bool handover_at_bus_close;
	int exit_code;
	uint32_t restarts;
	uint64_t pings, inspects;
	/* What init's fd store handed back with READY, until taken. */
	char stored_names[IPC_FDS_MAX][SRV_NAME_MAX];
	int stored_fds[IPC_FDS_MAX];
	size_t nstored;
};

static void srv_do_stop(struct srv *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	if (s->ops && s->ops->stop)
		s->ops->stop(s, s->opaque);
	else
		uv_stop(s->loop);
}

static void on_ping(struct srv *s, struct ipc_msg *msg)
{
	Mhcl__Ping *p = (Mhcl__Ping *)ipc_msg_unpack(s->bus, msg, &mhcl__ping__descriptor);
	if (!p)
		return;
	s->pings++;
	Mhcl__Ping out = MHCL__PING__INIT;
	out.cookie = p->cookie;
	protobuf_c_message_free_unpacked(&p->base, NULL);
	(void)ipc_chan_reply(s->bus, msg->request_id, IPC_MSG_PING, &out.base, NULL, 0);
}

static void fill_frame_node(struct srv *s, struct inspect_tree *t, Mhcl__Node *root)
{
	struct ipc_chan_stats st = {0};
	Mhcl__Node *f = inspect_dir(t, root, "frame");

	inspect_str(t, f, "name", s->name);
	inspect_str(t, f, "policy", s->policy);
	inspect_i64(t, f, "pid", getpid());
	inspect_u64(t, f, "restarts", s->restarts);
	inspect_u64(t, f, "pings", s->pings);
	inspect_u64(t, f, "inspects", s->inspects);
	Mhcl__Node *l = inspect_dir(t, f, "log");
	inspect_u64(t, l, "dropped", log_dropped());
	inspect_u64(t, l, "suppressed", log_limit_suppressed_total());
	if (s->bus) {
		ipc_chan_get_stats(s->bus, &st);
		Mhcl__Node *b = inspect_dir(t, f, "bus");
		inspect_u64(t, b, "frames_in", st.frames_in);
		inspect_u64(t, b, "frames_out", st.frames_out);
		inspect_u64(t, b, "bytes_in", st.bytes_in);
		inspect_u64(t, b, "bytes_out", st.bytes_out);
		inspect_u64(t, b, "bad_frames", st.bad_frames);
	}
}

static void on_inspect(struct srv *s, struct ipc_msg *msg)
{
	Mhcl__InspectRequest *rq =
	    (Mhcl__InspectRequest *)ipc_msg_unpack(s->bus, msg, &mhcl__inspect_request__descriptor);
	if (!rq)
		return;
	s->inspects++;
	struct inspect_tree *t = inspect_tree_new(s->name);
	if (!t) {
		(void)ipc_chan_reply_error(s->bus, msg->request_id, IPC_MSG_INSPECT, -ENOMEM,
					   "out of memory");
		goto out;
	}
	Mhcl__Node *root = inspect_tree_root(t);
	fill_frame_node(s, t, root);
	if (s->ops && s->ops->inspect)
		s->ops->inspect(s, t, root, s->opaque);
	Mhcl__Node *n = inspect_find(root, rq->path);
	if (!n) {
		(void)ipc_chan_reply_error(s->bus, msg->request_id, IPC_MSG_INSPECT, -ENOENT,
					   "no node '%s' in %s", rq->path, s->name);
	} else {
		Mhcl__InspectReply rep = MHCL__INSPECT_REPLY__INIT;
		rep.root = n;
		int r =
		    ipc_chan_reply(s->bus, msg->request_id, IPC_MSG_INSPECT, &rep.base, NULL, 0);
		if (r < 0)
			(void)ipc_chan_reply_error(s->bus, msg->request_id, IPC_MSG_INSPECT, r,
						   "unable to send inspect reply");
	}
	inspect_tree_free(t);
out:
	protobuf_c_message_free_unpacked(&rq->base, NULL);
}

static void on_stop(struct srv *s, struct ipc_msg *msg)
{
	Mhcl__StopRequest *rq =
	    (Mhcl__StopRequest *)ipc_msg_unpack(s->bus, msg, &mhcl__stop_request__descriptor);
	if (!rq)
		return;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (rq->save && s->ops && s->ops->save) {
		int r = s->ops->save(s, &buf, &len, s->opaque);
		if (r < 0) {
			log_warn_errno(r, "unable to save state: %m, stopping without it");
			free(buf);
			buf = NULL;
			len = 0;
		}
	}
	protobuf_c_message_free_unpacked(&rq->base, NULL);
	Mhcl__StopReply rep = MHCL__STOP_REPLY__INIT;
	rep.saved_state.data = buf;
	rep.saved_state.len = len;
	(void)ipc_chan_reply(s->bus, msg->request_id, IPC_MSG_STOP, &rep.base, NULL, 0);
	free(buf);
	srv_do_stop(s);
}

static void fault_cb(uv_timer_t *t)
{
	struct srv *s = container_of(t, struct srv, fault_timer);

	switch (s->fault_kind) {
	case MHCL__FAULT_KIND__FAULT_FORBIDDEN_SYSCALL:
		/* ptrace is in no profile; an invalid request is harmless unjailed. */
		(void)syscall(SYS_ptrace, -1L, 0L, 0L, 0L);
		log_error("forbidden syscall returned: the jail is not active");
		break;
	case MHCL__FAULT_KIND__FAULT_ABORT:
		abort();
	default:
		break;
	}
}

bool srv_isolated(void)
{
	return getenv(SRV_ENV_ISOLATED) != NULL;
}

static void on_fault(struct srv *s, struct ipc_msg *msg)
{
	Mhcl__FaultRequest *rq =
	    (Mhcl__FaultRequest *)ipc_msg_unpack(s->bus, msg, &mhcl__fault_request__descriptor);
	if (!rq)
		return;
	int kind = rq->kind;
	protobuf_c_message_free_unpacked(&rq->base, NULL);
	if (kind <= MHCL__FAULT_KIND__FAULT_NONE || kind > MHCL__FAULT_KIND__FAULT_HANG) {
		(void)ipc_chan_reply_error(s->bus, msg->request_id, IPC_MSG_FAULT, -EINVAL,
					   "unknown fault kind %d", kind);
		return;
	}
	/* init refuses first; this holds whoever asks. */
	if (srv_isolated()) {
		(void)ipc_chan_reply_error(s->bus, msg->request_id, IPC_MSG_FAULT, -EPERM,
					   "fault injection is refused in isolated mode");
		return;
	}
	Mhcl__Empty e = MHCL__EMPTY__INIT;
	(void)ipc_chan_reply(s->bus, msg->request_id, IPC_MSG_FAULT, &e.base, NULL, 0);
	log_warn("fault injection: %s",
		 protobuf_c_enum_descriptor_get_value(&mhcl__fault_kind__descriptor, kind)->name);
	if (kind == MHCL__FAULT_KIND__FAULT_HANG) {
		s->hang = true;
		return;
	}
	/* Fault from the loop, after the reply went out. */
	s->fault_kind = kind;
	(void)uv_timer_start(&s->fault_timer, fault_cb, 0, 0);
}

static void bus_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct srv *s = opaque;

	if (s->hang)
		return; /* FAULT_HANG: the requester's timeout answers for us */
	switch (msg->type) {
	case IPC_MSG_PING:
		on_ping(s, msg);
		return;
	case IPC_MSG_INSPECT:
		on_inspect(s, msg);
		return;
	case IPC_MSG_STOP:
		on_stop(s, msg);
		return;
	case IPC_MSG_FAULT:
		on_fault(s, msg);
		return;
	default:
		break;
	}
	/* Server-specific: 32.. and the diag types init forwards to the server
	 * that owns them (IPC_MSG_SIDECAR_*). */
	if (msg->type >= IPC_MSG_SIDECAR_ONLINE && s->ops && s->ops->on_request) {
		s->ops->on_request(ch, msg, s->opaque);
		return;
	}
	(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
				   "message type %u not supported by %s", msg->type, s->name);
}

static void bus_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct srv *s = opaque;

	s->bus = NULL;
	if (!s->stopping) {
		log_warn_errno(reason, "bus to init closed: %m, stopping");
		s->exit_code = MHCL_EXIT_FAILURE;
		srv_do_stop(s);
	}
}

static const struct ipc_chan_ops bus_ops = {
    .on_request = bus_request,
    .on_close = bus_close,
};

int srv_start(uv_loop_t *loop, const struct srv_ops *ops, void *opaque, struct srv **ret_srv)
{
	int type = 0, r;
	socklen_t tl = sizeof(type);

	if (fcntl(SRV_BUS_FD, F_GETFD) < 0 ||
	    getsockopt(SRV_BUS_FD, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET) {
		fprintf(stderr, "not started by mhcl-init: fd %d is not a bus channel\n",
			SRV_BUS_FD);
		exit(MHCL_EXIT_USAGE);
	}
	(void)fcntl(SRV_BUS_FD, F_SETFD, FD_CLOEXEC);

	struct srv *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->ops = ops;
	s->opaque = opaque;
	const char *e = getenv("MHCL_SERVER_NAME");
	snprintf(s->name, sizeof(s->name), "%s", e && *e ? e : "server");
	e = getenv("MHCL_POLICY");
	snprintf(s->policy, sizeof(s->policy), "%s", e ? e : "");
	log_set_ident(s->name);
	/* Our stderr is a pipe into init's log ring: a full one must cost lines, not stall
	 * the loop (or a VP thread) until init reads. */
	r = log_set_nonblocking();
	if (r < 0 && r != -ENOTSUP)
		log_warn_errno(r, "unable to make the log pipe non-blocking: %m, ignoring");
	/* A peer that vanished must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	r = ipc_chan_open(loop, SRV_BUS_FD, IPC_TRANSPORT_SEQPACKET, &bus_ops, s, &s->bus);
	if (r < 0) {
		free(s);
		return r;
	}
	uv_timer_init(loop, &s->fault_timer);
	uv_unref((uv_handle_t *)&s->fault_timer);
	*ret_srv = s;
	return 0;
}

void srv_handover_at_bus_close(struct srv *s)
{
	s->handover_at_bus_close = true;
}

void srv_keep_capabilities(struct srv *s)
{
	s->keep_caps = true;
}

/* Empties the permitted, effective and inheritable sets (the ambient set follows). */
static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct none[2] = {0};

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    syscall(SYS_capset, &hdr, none) < 0)
		return -errno;
	return 0;
}

void srv_enter_jail(struct srv *s, const char *policy)
{
	const char *p = policy ? policy : s->policy;

	if (!s->keep_caps) {
		int r = drop_capabilities();
		if (r < 0) {
			log_error_errno(r, "unable to drop capabilities before the jail: %m");
			_exit(MHCL_EXIT_JAIL);
		}
	}

	if (!p || !*p) {
		log_error("no seccomp policy given (MHCL_POLICY), refusing to run unjailed");
		_exit(MHCL_EXIT_JAIL);
	}
	int r = jail_enter(p, SRV_BUS_FD);
	if (r < 0) {
		log_error_errno(r, "unable to enter jail '%s': %m", p);
		_exit(MHCL_EXIT_JAIL);
	}
	snprintf(s->policy, sizeof(s->policy), "%s", p);
}

static void ready_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct srv *s = opaque;
	char err[256];

	if (status == -EREMOTEIO && reply) {
		int e = ipc_msg_error(reply, err, sizeof(err));
		log_error_errno(e, "init refused READY: %s", err);
		s->exit_code = MHCL_EXIT_FAILURE;
		srv_do_stop(s);
		return;
	}
	if (status < 0 || !reply) {
		log_error_errno(status, "READY failed: %m");
		s->exit_code = MHCL_EXIT_FAILURE;
		srv_do_stop(s);
		return;
	}
	Mhcl__ReadyReply *rr =
	    (Mhcl__ReadyReply *)ipc_msg_unpack(ch, reply, &mhcl__ready_reply__descriptor);
	if (!rr)
		return; /* channel closes: bus_close stops us */
	s->restarts = rr->restarts;
	for (size_t i = 0; i < rr->n_stored_fds && i < reply->nfds && s->nstored < IPC_FDS_MAX;
	     i++) {
		if (!rr->stored_fds[i] || reply->fds[i] < 0)
			continue;
		snprintf(s->stored_names[s->nstored], SRV_NAME_MAX, "%s", rr->stored_fds[i]);
		s->stored_fds[s->nstored++] = reply->fds[i];
		reply->fds[i] = -1;
	}
	if (rr->name && *rr->name)
		snprintf(s->name, sizeof(s->name), "%s", rr->name);
	int r = 0;
	if (s->ops && s->ops->restore)
		r = s->ops->restore(s, rr->saved_state.data, rr->saved_state.len, rr->crash_restart,
				    s->opaque);
	protobuf_c_message_free_unpacked(&rr->base, NULL);
	if (r < 0) {
		log_error_errno(r, "unable to restore state: %m");
		s->exit_code = MHCL_EXIT_FAILURE;
		srv_do_stop(s);
	}
}

/* A prestarted instance's READY is held while the running one stops (its stop-timeout-ms,
 * at most 600 s): init answers or kills long before this. */
#define SRV_READY_TIMEOUT_MS (15u * 60u * 1000u)

int srv_ready(struct srv *s)
{
	if (!s->bus)
		return -EPIPE;
	if (s->ready_sent)
		return -EALREADY;
	Mhcl__Ready rd = MHCL__READY__INIT;
	rd.pid = (uint32_t)getpid();
	rd.version = (char *)"0.1.0";
	int r = ipc_chan_request(s->bus, IPC_MSG_READY, &rd.base, NULL, 0, SRV_READY_TIMEOUT_MS,
				 ready_reply, s);
	if (r == 0)
		s->ready_sent = true;
	return r;
}

bool srv_stored_pending(const char *name)
{
	const char *list = getenv("MHCL_STORED_FDS");
	size_t len = strlen(name);

	while (list && *list) {
		const char *end = strchr(list, ' ');
		size_t n = end ? (size_t)(end - list) : strlen(list);
		if (n == len && !memcmp(list, name, len))
			return true;
		list = end ? end + 1 : NULL;
	}
	return false;
}

int srv_stored_fd(struct srv *s, const char *name)
{
	for (size_t i = 0; i < s->nstored; i++) {
		if (s->stored_fds[i] >= 0 && !strcmp(s->stored_names[i], name)) {
			int fd = s->stored_fds[i];
			s->stored_fds[i] = -1;
			return fd;
		}
	}
	return -ENOENT;
}

static void fd_store_reply(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	char why[160] = "";

	(void)ch;
	if (status == -EREMOTEIO && reply)
		status = ipc_msg_error(reply, why, sizeof(why));
	if (status < 0)
		log_warn_errno(status, "init did not %s an fd: %s: %m", (const char *)opaque, why);
}

int srv_fd_store(struct srv *s, const char *name, int fd)
{
	Mhcl__FdStoreRequest m = MHCL__FD_STORE_REQUEST__INIT;
	char *names[1] = {(char *)name};

	if (!s->bus)
		return -EPIPE;
	m.n_names = 1;
	m.names = names;
	return ipc_chan_request(s->bus, IPC_MSG_FD_STORE, &m.base, &fd, 1, 0, fd_store_reply,
				(void *)"keep");
}

int srv_fd_remove(struct srv *s, const char *name)
{
	Mhcl__FdStoreRemove m = MHCL__FD_STORE_REMOVE__INIT;
	char *names[1] = {(char *)name};

	if (!s->bus)
		return -EPIPE;
	m.n_names = 1;
	m.names = names;
	return ipc_chan_request(s->bus, IPC_MSG_FD_STORE_REMOVE, &m.base, NULL, 0, 0,
				fd_store_reply, (void *)"forget");
}

const char *srv_name(struct srv *s)
{
	return s->name;
}

const char *srv_policy(struct srv *s)
{
	return s->policy;
}

struct ipc_chan *srv_bus(struct srv *s)
{
	return s->bus;
}

uv_loop_t *srv_loop(struct srv *s)
{
	return s->loop;
}

void srv_set_exit_code(struct srv *s, int code)
{
	s->exit_code = code;
}

int srv_finish(struct srv *s)
{
	if (!s)
		return MHCL_EXIT_FAILURE;
	int code = s->exit_code;
	for (size_t i = 0; i < s->nstored; i++)
		if (s->stored_fds[i] >= 0)
			close(s->stored_fds[i]);
	bool handed_over = s->bus && s->stopping && s->handover_at_bus_close;
	if (handed_over) {
		/* What is left (unmapping guest RAM and disks, the exit) is nobody's hurry: on
		 * the CPU the next instance, init and vmbusd want, run only when it is idle.
		 * Lowered before the handover is said, and the CPU yielded after it: init
		 * already woke for the stop's reply without taking the CPU (a waking task need
		 * not preempt), so lowering alone would leave it waiting for the next tick,
		 * and every millisecond of that is the guest's pause. The raw call: musl's
		 * sched_setscheduler() is a stub. */
		struct sched_param idle = {0};
		if (syscall(SYS_sched_setscheduler, 0, SCHED_IDLE, &idle) < 0)
			log_warn_errno(-errno, "unable to lower my priority: %m");
		Mhcl__Empty e = MHCL__EMPTY__INIT;
		(void)ipc_chan_notify(s->bus, IPC_MSG_HANDOVER, &e.base, NULL, 0);
	}
	/* The server has torn down what its stop would touch: closing the bus here must not
	 * call ops->stop (a server that ends because a peer went away is not stopping). */
	s->stopping = true;
	if (s->bus)
		ipc_chan_close(s->bus);
	if (handed_over)
		sched_yield();
	uv_close((uv_handle_t *)&s->fault_timer, NULL);
	/* Let the close callbacks run; the server closed its own handles. */
	for (int i = 0; i < 16 && uv_run(s->loop, UV_RUN_NOWAIT); i++)
		;
	free(s);
	return code;
}
