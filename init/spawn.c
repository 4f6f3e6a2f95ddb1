/* SPDX-License-Identifier: MIT */
/*
 * Starting one server instance: fork + exec with a close-on-exec error pipe
 * (the child writes {stage, errno} if setup or exec fails, so "exec failed"
 * is told apart from "running" without waiting on the server), and the log
 * pipes that feed the server's ring.
 *
 * The child gets exactly: fd 0 /dev/null, fds 1/2 log pipes, fd 3 its bus
 * channel; everything else is closed on exec. Environment: MHCL_SERVER_NAME,
 * MHCL_POLICY, MHCL_STORED_FDS, MHCL_ISOLATED=1 when init runs isolated (plus the
 * sanitizer options of a development build).
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "server.h" /* SRV_ENV_ISOLATED */

struct logpipe {
	uv_poll_t poll;
	struct child *srv;
	int fd;
	uint8_t stream;
	bool closing;
	size_t len;
	char line[LOGRING_LINE_MAX];
};

enum spawn_stage {
	STAGE_SETUP,
	STAGE_FDS,
	STAGE_RLIMIT,
	STAGE_UNSHARE,
	STAGE_PRIVILEGES,
	STAGE_NO_NEW_PRIVS,
	STAGE_EXEC,
};

static const char *const stage_names[] = {
    [STAGE_SETUP] = "setup",
    [STAGE_FDS] = "fd setup",
    [STAGE_RLIMIT] = "rlimits",
    [STAGE_UNSHARE] = "unshare",
    [STAGE_PRIVILEGES] = "identity and capabilities",
    [STAGE_NO_NEW_PRIVS] = "no_new_privs",
    [STAGE_EXEC] = "exec",
};

struct spawn_err {
	int stage;
	int err;
};

static void emit(struct logpipe *p, const char *text, size_t len)
{
	/* Output of an earlier instance still draining keeps its server name. */
	init_log_line(p->srv, p->stream, text, len);
}

static void feed(struct logpipe *p, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = buf[i];
		if (c == '\n') {
			emit(p, p->line, p->len);
			p->len = 0;
			continue;
		}
		p->line[p->len++] = c;
		if (p->len == sizeof(p->line)) {
			emit(p, p->line, p->len);
			p->len = 0;
		}
	}
}

static void logpipe_close_cb(uv_handle_t *h)
{
	struct logpipe *p = container_of(h, struct logpipe, poll);
	close(p->fd);
	free(p);
}

static void logpipe_close(struct logpipe *p)
{
	if (p->closing)
		return;
	p->closing = true;
	if (p->len) {
		emit(p, p->line, p->len);
		p->len = 0;
	}
	if (p->srv->out == p)
		p->srv->out = NULL;
	if (p->srv->err == p)
		p->srv->err = NULL;
	if (p->srv->standby.out == p)
		p->srv->standby.out = NULL;
	if (p->srv->standby.err == p)
		p->srv->standby.err = NULL;
	uv_poll_stop(&p->poll);
	uv_close((uv_handle_t *)&p->poll, logpipe_close_cb);
}

/* Reads what is there; bounded so a chatty server cannot starve the loop.
 * Returns true at EOF or error. */
static bool logpipe_read(struct logpipe *p, int max_reads)
{
	char buf[4096];

	for (int i = 0; i < max_reads; i++) {
		ssize_t n = read(p->fd, buf, sizeof(buf));
		if (n > 0) {
			feed(p, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		return true;
	}
	return false;
}

static void logpipe_cb(uv_poll_t *h, int status, int events)
{
	struct logpipe *p = container_of(h, struct logpipe, poll);

	if (status < 0 || logpipe_read(p, 16))
		logpipe_close(p);
}

struct logpipe *logpipe_open(struct child *s, int fd, uint8_t stream)
{
	struct logpipe *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->srv = s;
	p->fd = fd;
	p->stream = stream;
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (uv_poll_init(s->init->loop, &p->poll, fd) < 0) {
		free(p);
		return NULL;
	}
	(void)uv_poll_start(&p->poll, UV_READABLE | UV_DISCONNECT, logpipe_cb);
	return p;
}

void logpipe_drain_close(struct logpipe *p)
{
	if (!p)
		return;
	/* What the instance wrote before it died, in order, then close. */
	(void)logpipe_read(p, 64);
	logpipe_close(p);
}

/* Finds conf->binary in the colon-separated libexec dirs. */
static int resolve_binary(struct child *s)
{
	const char *dirs = s->init->libexec;

	while (dirs && *dirs) {
		size_t l = strcspn(dirs, ":");
		if (l > 0 && l < sizeof(s->path) - MANIFEST_STR_MAX - 2) {
			snprintf(s->path, sizeof(s->path), "%.*s/%s", (int)l, dirs,
				 s->conf->binary);
			if (access(s->path, X_OK) == 0)
				return 0;
		}
		dirs += l;
		if (*dirs == ':')
			dirs++;
	}
	s->path[0] = '\0';
	return -ENOENT;
}

static _Noreturn void child_fail(int fd, int stage, int err)
{
	struct spawn_err e = {stage, err};
	(void)!write(fd, &e, sizeof(e));
	_exit(stage == STAGE_EXEC ? MHCL_EXIT_EXEC : MHCL_EXIT_SYSCALL);
}

static void cloexec_from(int first)
{
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) == 0)
		return;
#endif
	struct rlimit rl;
	int max = 4096;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
		max = (int)rl.rlim_cur;
	for (int fd = first; fd < max; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static _Noreturn void child_exec(const struct child *s, int bus, int out, int err, int epipe,
				 char *const argv[], char *const envp[])
{
	const struct srv_conf *c = s->conf;

	/* Default dispositions first: init's handlers must not run here. */
	struct sigaction sa = {0};
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);

	/* Lift every source fd above the targets, then place them. */
	int fds[4] = {-1, out, err, bus};
	fds[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fds[0] < 0)
		child_fail(epipe, STAGE_FDS, errno);
	int ep = fcntl(epipe, F_DUPFD_CLOEXEC, 10);
	if (ep < 0)
		child_fail(epipe, STAGE_FDS, errno);
	epipe = ep;
	for (int i = 0; i < 4; i++) {
		fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10);
		if (fds[i] < 0)
			child_fail(epipe, STAGE_FDS, errno);
	}
	for (int i = 0; i < 4; i++)
		if (dup2(fds[i], i) < 0)
			child_fail(epipe, STAGE_FDS, errno);
	cloexec_from(4); /* granted capabilities would start at 4 */

	struct rlimit rl = {c->rlimit_nofile, c->rlimit_nofile};
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		struct rlimit cur;
		if (getrlimit(RLIMIT_NOFILE, &cur) < 0)
			child_fail(epipe, STAGE_RLIMIT, errno);
		rl.rlim_max = cur.rlim_max;
		rl.rlim_cur = MIN((rlim_t)c->rlimit_nofile, cur.rlim_max);
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			child_fail(epipe, STAGE_RLIMIT, errno);
	}

	if (c->namespaces && unshare((int)c->namespaces) < 0) {
		int e = errno;
		if (!((e == EPERM || e == EINVAL) && geteuid() != 0))
			child_fail(epipe, STAGE_UNSHARE, e);
		static const char msg[] =
		    "mhcl-init: unable to unshare namespaces (not root), ignoring\n";
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	}

	int e = privileges_drop(c);
	if (e)
		child_fail(epipe, STAGE_PRIVILEGES, e);
	/* A change of credentials clears the parent-death signal: set it again. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(epipe, STAGE_NO_NEW_PRIVS, errno);

	execve(s->path, argv, envp);
	child_fail(epipe, STAGE_EXEC, errno);
}

int spawn_server(struct child *s)
{
	const struct srv_conf *c = s->conf;
	int bus[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, ep[2] = {-1, -1};
	int r;

	r = resolve_binary(s);
	if (r < 0) {
		init_log(s, "unable to find %s in %s", c->binary, s->init->libexec);
		snprintf(s->last_exit, sizeof(s->last_exit), "binary %.100s not found", c->binary);
		return r;
	}

	/* argv and envp are built before fork: the child only execs. */
	char *argv[MANIFEST_ARGS_MAX + 2];
	argv[0] = s->path;
	for (size_t i = 0; i < c->nargs; i++)
		argv[i + 1] = c->args[i];
	argv[c->nargs + 1] = NULL;

	char env_name[64], env_policy[64];
	char *envp[9];
	size_t ne = 0;
	snprintf(env_name, sizeof(env_name), "MHCL_SERVER_NAME=%s", c->name);
	snprintf(env_policy, sizeof(env_policy), "MHCL_POLICY=%s", c->policy);
	envp[ne++] = env_name;
	envp[ne++] = env_policy;
	/* What the READY reply will hand back, known before the jail: a server that adopts a
	 * device from the store must not open (and so attach) a fresh one first. */
	char env_stored[32 + FDSTORE_MAX * FDSTORE_NAME_MAX];
	size_t at = (size_t)snprintf(env_stored, sizeof(env_stored), "MHCL_STORED_FDS=");
	for (size_t i = 0; i < s->fdstore.n; i++)
		at += (size_t)snprintf(env_stored + at, sizeof(env_stored) - at, "%s%s",
				       i ? " " : "", s->fdstore.names[i]);
	envp[ne++] = env_stored;
	/* Isolation reaches the servers from init alone (the manifest sets no
	 * environment): diagd refuses unauthenticated network listeners on it. */
	if (s->init->isolated)
		envp[ne++] = (char *)SRV_ENV_ISOLATED "=1";
	/* Development builds: keep sanitizer settings so a server fails like its tests. */
	static const char *const pass[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
	char pass_buf[3][512];
	for (size_t i = 0; i < ARRAY_SIZE(pass); i++) {
		const char *v = getenv(pass[i]);
		if (v && strlen(v) < 400) {
			snprintf(pass_buf[i], sizeof(pass_buf[i]), "%s=%s", pass[i], v);
			envp[ne++] = pass_buf[i];
		}
	}
	envp[ne] = NULL;

	privileges_grant_devices(s);
	r = ipc_socketpair(bus);
	if (r < 0)
		goto err_resources;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		r = -errno;
		goto err_resources;
	}

	pid_t pid = fork();
	if (pid < 0) {
		r = -errno;
		goto err_resources;
	}
	if (pid == 0)
		child_exec(s, bus[1], out[1], err[1], ep[1], argv, envp);

	(void)setpgid(pid, pid);
	close(take_fd(&bus[1]));
	close(take_fd(&out[1]));
	close(take_fd(&err[1]));
	close(take_fd(&ep[1]));

	/* EOF: exec succeeded. A record: setup or exec failed, the child exits. */
	struct spawn_err se;
	ssize_t n;
	do
		n = read(ep[0], &se, sizeof(se));
	while (n < 0 && errno == EINTR);
	close(take_fd(&ep[0]));
	if (n == (ssize_t)sizeof(se)) {
		int st;
		(void)waitpid(pid, &st, 0);
		int stage = se.stage >= 0 && se.stage <= STAGE_EXEC ? se.stage : STAGE_SETUP;
		snprintf(s->last_exit, sizeof(s->last_exit), "%s failed: %s", stage_names[stage],
			 strerror(se.err));
		init_log(s, "unable to start %s: %s failed: %s", s->path, stage_names[stage],
			 strerror(se.err));
		r = se.err > 0 ? -se.err : -EIO;
		goto err_close;
	}

	s->pid = pid;
	s->chan_gen = ++s->gen_seq;
	s->exited = false;
	s->jail_nr = -1;
	s->start_ms = init_now_ms();
	r = ipc_chan_open(s->init->loop, take_fd(&bus[0]), IPC_TRANSPORT_SEQPACKET,
			  &server_chan_ops, s, &s->chan);
	if (r < 0) {
		s->chan = NULL;
		init_log(s, "unable to open bus channel: %s", strerror(-r));
		(void)kill(pid, SIGKILL);
	}
	s->out = logpipe_open(s, out[0], LOGRING_STDOUT);
	if (!s->out)
		close(out[0]);
	s->err = logpipe_open(s, err[0], LOGRING_STDERR);
	if (!s->err)
		close(err[0]);
	init_log(s, "started pid %d", (int)pid);
	return 0;

err_resources:
	snprintf(s->last_exit, sizeof(s->last_exit), "spawn failed: %s", strerror(-r));
	init_log(s, "unable to spawn: %s", strerror(-r));
err_close:
	for (int i = 0; i < 2; i++) {
		if (bus[i] >= 0)
			close(bus[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	return r;
}
