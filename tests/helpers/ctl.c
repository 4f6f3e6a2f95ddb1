/* SPDX-License-Identifier: MIT */
#include "log.h"

#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "ipc.h"

#define WAIT_BOUND_MS 60000

struct ctl {
	uv_loop_t loop;
	struct ipc_chan *ch;
	bool closed;
};

struct call {
	bool done;
	int status;
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage *reply;
	char *err;
	size_t err_len;
};

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void on_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct ctl *c = opaque;
	c->closed = true;
	c->ch = NULL;
}

static const struct ipc_chan_ops ctl_ops = {.on_close = on_close};

int ctl_connect(const char *path, struct ctl **ret)
{
	int fd = -1;
	for (int i = 0; i < WAIT_BOUND_MS / 20; i++) {
		fd = ipc_connect_unix(path, SOCK_SEQPACKET);
		if (fd >= 0)
			break;
		sleep_ms(20);
	}
	if (fd < 0)
		return fd;
	struct ctl *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	uv_loop_init(&c->loop);
	int r = ipc_chan_open(&c->loop, fd, IPC_TRANSPORT_SEQPACKET, &ctl_ops, c, &c->ch);
	if (r < 0) {
		uv_loop_close(&c->loop);
		free(c);
		return r;
	}
	*ret = c;
	return 0;
}

void ctl_close(struct ctl *c)
{
	if (!c)
		return;
	if (c->ch)
		ipc_chan_close(c->ch);
	uv_run(&c->loop, UV_RUN_DEFAULT);
	uv_loop_close(&c->loop);
	free(c);
}

static void call_done(struct ipc_chan *ch, int status, struct ipc_msg *reply, void *opaque)
{
	struct call *k = opaque;
	k->done = true;
	k->status = status;
	if (status == 0 && reply) {
		k->reply = protobuf_c_message_unpack(k->desc, NULL, reply->body_len, reply->body);
		if (!k->reply)
			k->status = -EBADMSG;
	} else if (status == -EREMOTEIO && reply) {
		k->status = ipc_msg_error(reply, k->err, k->err_len);
	}
}

int ctl_call(struct ctl *c, uint16_t type, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *rep_desc, ProtobufCMessage **ret, char *err,
	     size_t err_len)
{
	char dummy[8];
	struct call k = {
	    .desc = rep_desc, .err = err ? err : dummy, .err_len = err ? err_len : sizeof(dummy)};
	k.err[0] = '\0';
	if (!c->ch)
		return -EPIPE;
	int r = ipc_chan_request(c->ch, type, req, NULL, 0, 20000, call_done, &k);
	if (r < 0)
		return r;
	while (!k.done)
		uv_run(&c->loop, UV_RUN_ONCE);
	if (k.status == 0)
		*ret = k.reply;
	else if (k.reply)
		protobuf_c_message_free_unpacked(k.reply, NULL);
	return k.status;
}

Mhcl__PsReply *ctl_ps(struct ctl *c)
{
	Mhcl__PsRequest rq = MHCL__PS_REQUEST__INIT;
	ProtobufCMessage *m = NULL;
	if (ctl_call(c, IPC_MSG_PS, &rq.base, &mhcl__ps_reply__descriptor, &m, NULL, 0) < 0)
		return NULL;
	return (Mhcl__PsReply *)m;
}

const Mhcl__ServerInfo *ctl_ps_find(const Mhcl__PsReply *ps, const char *name)
{
	for (size_t i = 0; ps && i < ps->n_servers; i++)
		if (strcmp(ps->servers[i]->name, name) == 0)
			return ps->servers[i];
	return NULL;
}

int ctl_pid(struct ctl *c, const char *name)
{
	Mhcl__PsReply *ps = ctl_ps(c);
	const Mhcl__ServerInfo *si = ctl_ps_find(ps, name);
	int pid = si ? si->pid : -1;
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	return pid;
}

bool ctl_wait_state(struct ctl *c, const char *name, const char *state, int min_restarts)
{
	for (int i = 0; i < WAIT_BOUND_MS / 20; i++) {
		Mhcl__PsReply *ps = ctl_ps(c);
		const Mhcl__ServerInfo *si = ctl_ps_find(ps, name);
		bool ok = si && strcmp(si->state, state) == 0 &&
			  (min_restarts < 0 || si->restarts >= (uint32_t)min_restarts);
		if (ps)
			protobuf_c_message_free_unpacked(&ps->base, NULL);
		if (ok)
			return true;
		sleep_ms(20);
	}
	fprintf(stderr, "timed out waiting for %s to be %s\n", name, state);
	return false;
}

bool ctl_wait_last_exit(struct ctl *c, const char *name, const char *last_exit)
{
	for (int i = 0; i < WAIT_BOUND_MS / 20; i++) {
		Mhcl__PsReply *ps = ctl_ps(c);
		const Mhcl__ServerInfo *si = ctl_ps_find(ps, name);
		bool ok = si && strcmp(si->last_exit, last_exit) == 0;
		if (ps)
			protobuf_c_message_free_unpacked(&ps->base, NULL);
		if (ok)
			return true;
		sleep_ms(20);
	}
	fprintf(stderr, "timed out waiting for %s to have last_exit '%s'\n", name, last_exit);
	return false;
}

int64_t ctl_inspect_u64(struct ctl *c, const char *server, const char *path)
{
	Mhcl__DiagInspectRequest rq = MHCL__DIAG_INSPECT_REQUEST__INIT;
	rq.server = (char *)server;
	rq.path = (char *)path;
	ProtobufCMessage *m = NULL;
	if (ctl_call(c, IPC_MSG_DIAG_INSPECT, &rq.base, &mhcl__inspect_reply__descriptor, &m, NULL,
		     0) < 0)
		return -1;
	Mhcl__InspectReply *rep = (Mhcl__InspectReply *)m;
	int64_t v = -1;
	if (rep->root && rep->root->value_case == MHCL__NODE__VALUE_U64)
		v = (int64_t)rep->root->u64;
	protobuf_c_message_free_unpacked(m, NULL);
	return v;
}

bool ctl_logs_contain(struct ctl *c, const char *server, const char *needle)
{
	uint64_t since = 0;
	for (int round = 0; round < 100; round++) {
		Mhcl__LogsRequest rq = MHCL__LOGS_REQUEST__INIT;
		rq.server = (char *)server;
		rq.since_seq = since;
		rq.max_lines = 1000;
		ProtobufCMessage *m = NULL;
		if (ctl_call(c, IPC_MSG_LOGS, &rq.base, &mhcl__logs_reply__descriptor, &m, NULL,
			     0) < 0)
			return false;
		Mhcl__LogsReply *rep = (Mhcl__LogsReply *)m;
		bool found = false;
		for (size_t i = 0; i < rep->n_lines; i++)
			if (strstr(rep->lines[i]->text, needle))
				found = true;
		size_t n = rep->n_lines;
		since = rep->next_seq;
		protobuf_c_message_free_unpacked(m, NULL);
		if (found)
			return true;
		if (n == 0)
			return false;
	}
	return false;
}

const char *test_bin(const char *env)
{
	const char *v = getenv(env);
	if (!v || !*v) {
		fprintf(stderr, "environment variable %s is not set (run through meson test)\n",
			env);
		exit(1);
	}
	return v;
}

int init_proc_start(struct init_proc *p, const char *dts, const char *const *wrapper,
		    const char *const *extra)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "/tmp/mhcl-test-XXXXXX");
	if (!mkdtemp(p->dir))
		return -errno;
	char dts_path[128];
	snprintf(dts_path, sizeof(dts_path), "%s/manifest.dts", p->dir);
	snprintf(p->dtb, sizeof(p->dtb), "%s/manifest.dtb", p->dir);
	snprintf(p->sock, sizeof(p->sock), "%s/ctl.sock", p->dir);
	FILE *f = fopen(dts_path, "w");
	if (!f)
		return -errno;
	fputs(dts, f);
	fclose(f);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s -q -I dts -O dtb -o %s %s", test_bin("MHCL_DTC"), p->dtb,
		 dts_path);
	if (system(cmd) != 0) {
		fprintf(stderr, "dtc failed on:\n%s\n", dts);
		return -EINVAL;
	}

	const char *argv[32];
	size_t n = 0;
	for (size_t i = 0; wrapper && wrapper[i] && n < 16; i++)
		argv[n++] = wrapper[i];
	argv[n++] = test_bin("MHCL_INIT");
	argv[n++] = "--dtb";
	argv[n++] = p->dtb;
	argv[n++] = "--libexec";
	argv[n++] = test_bin("MHCL_LIBEXEC");
	argv[n++] = "--run-dir";
	argv[n++] = p->dir;
	for (size_t i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Dies with the test, whatever happens to it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char log[160];
		snprintf(log, sizeof(log), "%s/init.log", p->dir);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], (char *const *)argv);
		perror(argv[0]);
		_exit(127);
	}
	p->pid = pid;
	p->wrapped = wrapper && wrapper[0];
	return 0;
}

int init_proc_stop(struct init_proc *p)
{
	int st = -1;
	if (p->pid <= 0)
		return st;
	pid_t target = p->pid;
	if (p->wrapped) {
		/* unshare --fork does not forward signals: find its child. */
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)p->pid, (int)p->pid);
		FILE *f = fopen(path, "r");
		int child = 0;
		if (f) {
			if (fscanf(f, "%d", &child) != 1)
				child = 0;
			fclose(f);
		}
		if (child > 0)
			target = child;
	}
	kill(target, SIGTERM);
	return init_proc_wait_exit(p);
}

int init_proc_wait_exit(struct init_proc *p)
{
	int st = -1;
	if (p->pid <= 0)
		return st;
	for (int i = 0; i < WAIT_BOUND_MS / 20; i++) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);
		if (r == p->pid) {
			p->pid = 0;
			return st;
		}
		sleep_ms(20);
	}
	fprintf(stderr, "init did not stop, killing\n");
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &st, 0);
	p->pid = 0;
	return -1;
}

void init_proc_dump(const struct init_proc *p)
{
	char log[160], buf[4096];
	snprintf(log, sizeof(log), "%s/init.log", p->dir);
	FILE *f = fopen(log, "r");
	if (!f)
		return;
	fprintf(stderr, "---- %s ----\n", log);
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
	fprintf(stderr, "---- end ----\n");
}

bool init_proc_log_order(const struct init_proc *p, const char *const *needles)
{
	char log[160], line[2048];
	snprintf(log, sizeof(log), "%s/init.log", p->dir);
	FILE *f = fopen(log, "r");
	if (!f)
		return false;
	size_t i = 0;
	while (needles[i] && fgets(line, sizeof(line), f))
		if (strstr(line, needles[i]))
			i++;
	fclose(f);
	return needles[i] == NULL;
}

char *ctl_inspect_str(struct ctl *c, const char *server, const char *path)
{
	Mhcl__DiagInspectRequest rq = MHCL__DIAG_INSPECT_REQUEST__INIT;
	rq.server = (char *)server;
	rq.path = (char *)path;
	ProtobufCMessage *m = NULL;
	if (ctl_call(c, IPC_MSG_DIAG_INSPECT, &rq.base, &mhcl__inspect_reply__descriptor, &m, NULL,
		     0) < 0)
		return NULL;
	Mhcl__InspectReply *rep = (Mhcl__InspectReply *)m;
	char *v = NULL;
	if (rep->root && rep->root->value_case == MHCL__NODE__VALUE_STR)
		v = strdup(rep->root->str);
	protobuf_c_message_free_unpacked(m, NULL);
	return v;
}

void init_proc_cleanup(struct init_proc *p)
{
	if (p->pid > 0)
		init_proc_stop(p);
	if (p->dir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", p->dir);
		(void)!system(cmd);
	}
}
