/* SPDX-License-Identifier: MIT */
/*
 * Supervision end to end: mhcl-init runs mhcl-testd instances and the test
 * drives init's control API through the relay. Covers crash -> restart
 * with growing backoff -> crash loop -> failed; ready timeout; ordered start
 * and stop (with a stop timeout); planned restart handing saved state over;
 * crash restart losing it; control permission; routed inspect errors.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "itest.h"

static const char manifest[] = MANIFEST_HEAD CTL_SERVER
    /* exits 3 after each READY: backoff 20, 40, 80 ms, then the crash loop */
    "crashy { binary = \"mhcl-testd\"; args = \"--exit-after-ms\", \"30\", \"--exit-code\", \"3\";"
    " policy = \"diagd\"; start-order = <2>; restart = \"always\"; restart-delay-ms = <20>;"
    " restart-delay-max-ms = <1000>; crash-loop-limit = <4>; crash-loop-window-ms = <600000>; };\n"
    /* never READY */
    "sleepy { binary = \"mhcl-testd\"; args = \"--no-ready\"; policy = \"diagd\";"
    " start-order = <3>; restart = \"never\"; ready-timeout-ms = <100>; };\n"
    /* a well-behaved one for planned restarts */
    "keeper { binary = \"mhcl-testd\"; args = \"--fd-store\"; policy = \"diagd\"; start-order = "
    "<4>;"
    " restart-delay-ms = <20>; };\n"
    /* hands over at bus close, then takes 3 s to exit */
    "lingerer { binary = \"mhcl-testd\"; args = \"--handover\", \"--linger-ms\", \"3000\";"
    " policy = \"diagd\"; start-order = <4>; stop-timeout-ms = <10000>; };\n"
    /* prestarted: its next instance is held at READY until it has handed over */
    "early { binary = \"mhcl-testd\"; args = \"--handover\", \"--fail-once-file\","
    " \"${RUN}/early-fail\", \"--slow-once-file\", \"${RUN}/early-slow\"; policy = \"diagd\";"
    " start-order = <4>; prestart; };\n"
    /* a relay without `control`: init must refuse it */
    "plain { binary = \"mhcl-testd\"; args = \"--relay\", \"${RUN}/plain.sock\";"
    " policy = \"diagd\"; start-order = <5>; };\n"
    /* ignores STOP: shutdown must SIGKILL it after stop-timeout-ms */
    "stubborn { binary = \"mhcl-testd\"; args = \"--ignore-stop\"; policy = \"diagd\";"
    " start-order = <6>; stop-timeout-ms = <100>; };\n"
    /* exits 125: "do not restart me", even with restart = always */
    "quitter { binary = \"mhcl-testd\"; args = \"--exit-after-ms\", \"10\", \"--exit-code\","
    " \"125\"; policy = \"diagd\"; start-order = <8>; restart = \"always\";"
    " namespaces = \"ipc\", \"uts\"; };\n"
    /* does not exist: spawn fails, counted as failures */
    "ghost { binary = \"mhcl-no-such-binary\"; policy = \"diagd\"; start-order = <7>;"
    " restart-delay-ms = <10>; crash-loop-limit = <2>; };\n" MANIFEST_TAIL;

static void check_crash_loop(struct ctl *c)
{
	ASSERT_TRUE(ctl_wait_state(c, "crashy", "failed", -1));
	Mhcl__PsReply *ps = ctl_ps(c);
	const Mhcl__ServerInfo *si = ctl_ps_find(ps, "crashy");
	ASSERT_TRUE(si);
	ASSERT_EQ(si->restarts, 3);
	ASSERT_EQ(si->pid, 0);
	ASSERT_STREQ(si->last_exit, "exited 3");
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	/* The delay doubled each time and the loop was reported. */
	const char *const order[] = {
	    "crashy [init]: restarting in 20 ms", "crashy [init]: restarting in 40 ms",
	    "crashy [init]: restarting in 80 ms", "crashy [init]: crash loop: 4 failures", NULL};
	ASSERT_TRUE(init_proc_log_order(&itest_proc, order));
	ASSERT_TRUE(ctl_logs_contain(c, "crashy", "crash loop"));
	ASSERT_TRUE(ctl_logs_contain(c, "crashy", "exiting with 3 as asked"));
}

static void check_ready_timeout(struct ctl *c)
{
	ASSERT_TRUE(ctl_wait_state(c, "sleepy", "failed", -1));
	Mhcl__PsReply *ps = ctl_ps(c);
	const Mhcl__ServerInfo *si = ctl_ps_find(ps, "sleepy");
	ASSERT_STREQ(si->last_exit, "ready timeout");
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	ASSERT_TRUE(ctl_logs_contain(c, "sleepy", "not ready after 100 ms, killing"));
}

static void check_ordered_start(void)
{
	/* Each server starts only once the one before it is ready (or gave up). */
	const char *const order[] = {"ctl [init]: ready",
				     "crashy [init]: started",
				     "crashy [init]: ready",
				     "sleepy [init]: started",
				     "sleepy [init]: not ready",
				     "keeper [init]: started",
				     "keeper [init]: ready",
				     "plain [init]: started",
				     "plain [init]: ready",
				     "stubborn [init]: started",
				     "stubborn [init]: ready",
				     "ghost [init]: unable to find",
				     NULL};
	ASSERT_TRUE(init_proc_log_order(&itest_proc, order));
}

/* A planned restart through the control API; returns the new instance's pid. */
static int restart(struct ctl *c, const char *name, int old_pid)
{
	Mhcl__RestartRequest rq = MHCL__RESTART_REQUEST__INIT;
	rq.server = (char *)name;
	ProtobufCMessage *m = NULL;
	char err[256];
	ASSERT_OK(ctl_call(c, IPC_MSG_RESTART, &rq.base, &mhcl__restart_reply__descriptor, &m, err,
			   sizeof(err)));
	int new_pid = ((Mhcl__RestartReply *)m)->pid;
	protobuf_c_message_free_unpacked(m, NULL);
	ASSERT_GT(new_pid, 0);
	ASSERT_NE(new_pid, old_pid);
	return new_pid;
}

static void check_planned_restart(struct ctl *c)
{
	ASSERT_TRUE(ctl_wait_state(c, "keeper", "running", -1));
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "testd/generation"), 1);
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "testd/lives"), 1);
	int old_pid = ctl_pid(c, "keeper");
	restart(c, "keeper", old_pid);
	ProtobufCMessage *m = NULL;
	char err[256];
	/* The reply comes once the new instance is ready, with the state handed over. */
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "testd/generation"), 2);
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "frame/restarts"), 1);
	ASSERT_TRUE(ctl_logs_contain(c, "keeper", "saved 8 bytes of state"));
	/* init's fd store handed the memfd to the new instance, and the spare the first one
	 * kept, which this one asked init to forget. */
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "testd/lives"), 2);
	ASSERT_TRUE(ctl_logs_contain(c, "keeper", "2 stored fds"));
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "testd/spare_back"), 1);
	/* Without handover the next instance starts only once the old one is gone. */
	ASSERT_TRUE(kill(old_pid, 0) < 0 && errno == ESRCH);
	/* Too many fds and a bad name were refused, and nothing of them was kept. */
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "testd/fdstore_refused"), 2);

	/* A crash loses it: SIGKILL, restart, generation starts over. */
	Mhcl__KillRequest kq = MHCL__KILL_REQUEST__INIT;
	kq.server = (char *)"keeper";
	ASSERT_OK(
	    ctl_call(c, IPC_MSG_KILL, &kq.base, &mhcl__empty__descriptor, &m, err, sizeof(err)));
	protobuf_c_message_free_unpacked(m, NULL);
	ASSERT_TRUE(ctl_wait_state(c, "keeper", "running", 2));
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "testd/generation"), 1);
	/* What lives in the fd store survives the crash; what was forgotten is gone. */
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "testd/lives"), 3);
	ASSERT_EQ(ctl_inspect_u64(c, "keeper", "testd/spare_back"), 0);
	ASSERT_TRUE(ctl_logs_contain(c, "keeper", "restarts 2, 1 stored fds"));
	Mhcl__PsReply *ps = ctl_ps(c);
	ASSERT_STREQ(ctl_ps_find(ps, "keeper")->last_exit, "killed by SIGKILL");
	protobuf_c_message_free_unpacked(&ps->base, NULL);
}

/* A server that hands over at bus close: its next instance is ready while the old one is
 * still exiting, and the old one is reaped afterwards. */
static void check_handover(struct ctl *c)
{
	ASSERT_TRUE(ctl_wait_state(c, "lingerer", "running", -1));
	int old_pid = ctl_pid(c, "lingerer");
	int new_pid = restart(c, "lingerer", old_pid);
	/* Ready while the previous instance still lingers (3 s) after closing its bus. */
	ASSERT_OK(kill(old_pid, 0));
	ASSERT_TRUE(ctl_logs_contain(c, "lingerer", "handed over; starting the next instance"));
	char want[96];
	snprintf(want, sizeof(want), "previous pid %d exited (status 0)", old_pid);
	bool reaped = false;
	for (int i = 0; i < 500 && !reaped; i++) {
		reaped = ctl_logs_contain(c, "lingerer", want);
		if (!reaped)
			usleep(20000);
	}
	ASSERT_TRUE(reaped);
	ASSERT_TRUE(kill(old_pid, 0) < 0 && errno == ESRCH);
	ASSERT_EQ(ctl_pid(c, "lingerer"), new_pid);
	ASSERT_EQ(ctl_inspect_u64(c, "lingerer", "frame/restarts"), 1);
}

/* Field 19 of /proc/PID/stat. */
static int nice_of(int pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_TRUE(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
	const char *p = strrchr(buf, ')');
	ASSERT_TRUE(p != NULL);
	int nice = 99;
	ASSERT_EQ(sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %d",
			 &nice),
		  1);
	return nice;
}

static bool init_log_has(const char *text)
{
	const char *const one[] = {text, NULL};
	return init_proc_log_order(&itest_proc, one);
}

/* A prestarted next instance: ready before the running one is told to stop, the state
 * handed over; one that fails while prestarted leaves the restart to the usual way. */
static void check_prestart(struct ctl *c)
{
	ASSERT_TRUE(ctl_wait_state(c, "early", "running", -1));
	ASSERT_EQ(ctl_inspect_u64(c, "early", "testd/generation"), 1);
	int old_pid = ctl_pid(c, "early");
	int new_pid = restart(c, "early", old_pid);
	char started[96], ready[96], over[96];
	snprintf(started, sizeof(started), "early [init]: prestarted pid %d; pid %d serves",
		 new_pid, old_pid);
	snprintf(ready, sizeof(ready), "early [init]: next instance pid %d ready after", new_pid);
	snprintf(over, sizeof(over), "early [init]: pid %d takes over", new_pid);
	const char *const order[] = {started,
				     ready,
				     "early [init]: planned restart: saving state and stopping",
				     "early [init]: saved 8 bytes of state",
				     over,
				     NULL};
	ASSERT_TRUE(init_proc_log_order(&itest_proc, order));
	ASSERT_EQ(ctl_inspect_u64(c, "early", "testd/generation"), 2);
	ASSERT_EQ(ctl_inspect_u64(c, "early", "frame/restarts"), 1);
	/* It runs at the usual priority (a lowered one waits after taking over). */
	ASSERT_EQ(nice_of(new_pid), 0);

	/* The next instance fails before READY: the running one is stopped only then, and
	 * a fresh instance still gets its state. */
	char path[160];
	snprintf(path, sizeof(path), "%s/early-fail", itest_proc.dir);
	FILE *f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fclose(f);
	int third = restart(c, "early", new_pid);
	ASSERT_TRUE(access(path, F_OK) < 0);
	ASSERT_TRUE(init_log_has("restarting the usual way"));
	ASSERT_EQ(ctl_inspect_u64(c, "early", "testd/generation"), 3);
	/* The failed one is no restart. */
	ASSERT_EQ(ctl_inspect_u64(c, "early", "frame/restarts"), 2);
	ASSERT_EQ(ctl_pid(c, "early"), third);

	/* Slow to be ready (1.5 s): the running one serves until it is, then it takes over. */
	snprintf(path, sizeof(path), "%s/early-slow", itest_proc.dir);
	f = fopen(path, "w");
	ASSERT_TRUE(f != NULL);
	fclose(f);
	int fourth = restart(c, "early", third);
	ASSERT_TRUE(access(path, F_OK) < 0);
	char slow_ready[96];
	snprintf(slow_ready, sizeof(slow_ready), "early [init]: next instance pid %d ready after",
		 fourth);
	const char *const slow[] = {slow_ready, "early [init]: planned restart: saving state",
				    NULL};
	ASSERT_TRUE(init_proc_log_order(&itest_proc, slow));
	ASSERT_EQ(ctl_inspect_u64(c, "early", "testd/generation"), 4);
	ASSERT_EQ(nice_of(fourth), 0);

	/* A crash: the next instance starts as the backoff begins and takes over at its
	 * end, with the usual priority. */
	Mhcl__KillRequest kq = MHCL__KILL_REQUEST__INIT;
	kq.server = (char *)"early";
	ProtobufCMessage *m = NULL;
	char err[256];
	ASSERT_OK(
	    ctl_call(c, IPC_MSG_KILL, &kq.base, &mhcl__empty__descriptor, &m, err, sizeof(err)));
	protobuf_c_message_free_unpacked(m, NULL);
	ASSERT_TRUE(ctl_wait_state(c, "early", "running", 4));
	int fifth = ctl_pid(c, "early");
	ASSERT_NE(fifth, fourth);
	char killed[96], during[96], took[96];
	snprintf(killed, sizeof(killed), "early [init]: pid %d killed by SIGKILL", fourth);
	snprintf(during, sizeof(during), "early [init]: prestarted pid %d during the backoff",
		 fifth);
	snprintf(took, sizeof(took), "early [init]: pid %d takes over", fifth);
	const char *const crash[] = {killed, "early [init]: restarting in", during, took, NULL};
	ASSERT_TRUE(init_proc_log_order(&itest_proc, crash));
	ASSERT_EQ(nice_of(fifth), 0);
}

static void check_errors(struct ctl *c)
{
	char err[256];
	ProtobufCMessage *m = NULL;

	/* Unknown server: ENOENT, for inspect, restart and kill alike. */
	Mhcl__DiagInspectRequest iq = MHCL__DIAG_INSPECT_REQUEST__INIT;
	iq.server = (char *)"nobody";
	ASSERT_EQ(ctl_call(c, IPC_MSG_DIAG_INSPECT, &iq.base, &mhcl__inspect_reply__descriptor, &m,
			   err, sizeof(err)),
		  -ENOENT);
	Mhcl__RestartRequest rq = MHCL__RESTART_REQUEST__INIT;
	rq.server = (char *)"nobody";
	ASSERT_EQ(ctl_call(c, IPC_MSG_RESTART, &rq.base, &mhcl__restart_reply__descriptor, &m, err,
			   sizeof(err)),
		  -ENOENT);
	/* A missing path inside a server: ENOENT from the server itself. */
	iq.server = (char *)"keeper";
	iq.path = (char *)"no/such/node";
	ASSERT_EQ(ctl_call(c, IPC_MSG_DIAG_INSPECT, &iq.base, &mhcl__inspect_reply__descriptor, &m,
			   err, sizeof(err)),
		  -ENOENT);
	/* The whole tree: init's node plus every running server. */
	ASSERT_EQ(ctl_inspect_u64(c, "", "keeper/testd/generation"), 1);
	ASSERT_GE(ctl_inspect_u64(c, "", "init/log_seq"), 1);
	char *st = ctl_inspect_str(c, "init", "servers/crashy/state");
	ASSERT_STREQ(st, "failed");
	free(st);
	/* CONFIG returns the manifest we wrote. */
	Mhcl__ConfigRequest cq = MHCL__CONFIG_REQUEST__INIT;
	ASSERT_OK(ctl_call(c, IPC_MSG_CONFIG, &cq.base, &mhcl__config_reply__descriptor, &m, err,
			   sizeof(err)));
	ASSERT_GT(((Mhcl__ConfigReply *)m)->dtb.len, 40);
	ASSERT_UEQ(((const uint8_t *)((Mhcl__ConfigReply *)m)->dtb.data)[0], 0xd0);
	protobuf_c_message_free_unpacked(m, NULL);

	/* A server without `control` is refused. */
	struct ctl *plain = NULL;
	ASSERT_OK(ctl_connect(strcat(strcpy(err, itest_proc.dir), "/plain.sock"), &plain));
	Mhcl__PsRequest pq = MHCL__PS_REQUEST__INIT;
	ASSERT_EQ(ctl_call(plain, IPC_MSG_PS, &pq.base, &mhcl__ps_reply__descriptor, &m, err,
			   sizeof(err)),
		  -EPERM);
	ctl_close(plain);

	/* A server that stops answering: routed inspect ends in ETIMEDOUT, and
	 * the whole tree still comes back with an error node for it. */
	Mhcl__KillRequest kq = MHCL__KILL_REQUEST__INIT;
	kq.server = (char *)"stubborn";
	kq.fault = MHCL__FAULT_KIND__FAULT_HANG;
	ASSERT_OK(
	    ctl_call(c, IPC_MSG_KILL, &kq.base, &mhcl__empty__descriptor, &m, err, sizeof(err)));
	protobuf_c_message_free_unpacked(m, NULL);
	iq.server = (char *)"stubborn";
	iq.path = (char *)"";
	ASSERT_EQ(ctl_call(c, IPC_MSG_DIAG_INSPECT, &iq.base, &mhcl__inspect_reply__descriptor, &m,
			   err, sizeof(err)),
		  -ETIMEDOUT);
	iq.server = (char *)"";
	ASSERT_OK(ctl_call(c, IPC_MSG_DIAG_INSPECT, &iq.base, &mhcl__inspect_reply__descriptor, &m,
			   err, sizeof(err)));
	Mhcl__Node *root = ((Mhcl__InspectReply *)m)->root, *hung = NULL, *keeper = NULL;
	for (size_t i = 0; root && i < root->n_children; i++) {
		if (strcmp(root->children[i]->name, "stubborn") == 0)
			hung = root->children[i];
		if (strcmp(root->children[i]->name, "keeper") == 0)
			keeper = root->children[i];
	}
	ASSERT_TRUE(hung && hung->value_case == MHCL__NODE__VALUE_STR);
	ASSERT_TRUE(strstr(hung->str, "did not answer"));
	ASSERT_TRUE(keeper && keeper->n_children > 0);
	protobuf_c_message_free_unpacked(m, NULL);
}

int main(void)
{
	struct ctl *c = NULL;

	itest_start(manifest, NULL, NULL);
	ASSERT_OK(ctl_connect(itest_proc.sock, &c));
	check_crash_loop(c);
	check_ready_timeout(c);
	ASSERT_TRUE(ctl_wait_state(c, "ghost", "failed", -1));
	ASSERT_TRUE(ctl_logs_contain(c, "ghost", "unable to find mhcl-no-such-binary"));
	ASSERT_TRUE(ctl_wait_last_exit(c, "quitter", "exited 125"));
	Mhcl__PsReply *ps = ctl_ps(c);
	ASSERT_STREQ(ctl_ps_find(ps, "quitter")->state, "stopped");
	ASSERT_EQ(ctl_ps_find(ps, "quitter")->restarts, 0);
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	ASSERT_TRUE(ctl_logs_contain(c, "quitter", "asked not to be restarted"));
	check_ordered_start();
	check_planned_restart(c);
	check_handover(c);
	check_prestart(c);
	check_errors(c);
	ctl_close(c);

	/* Ordered stop: reverse start order; stubborn is killed after its timeout. */
	int st = init_proc_stop(&itest_proc);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	const char *const order[] = {
	    "stubborn [init]: stopping", "stubborn [init]: did not stop within 100 ms, killing",
	    "stubborn [init]: stopped",	 "plain [init]: stopping",
	    "plain [init]: stopped",	 "keeper [init]: stopped",
	    "ctl [init]: stopping",	 "ctl [init]: stopped",
	    "all servers stopped",	 NULL};
	ASSERT_TRUE(init_proc_log_order(&itest_proc, order));
	itest_pass();
	return 0;
}
