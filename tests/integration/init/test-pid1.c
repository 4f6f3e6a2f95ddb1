/* SPDX-License-Identifier: MIT */
/*
 * mhcl-init as PID 1 of a fresh PID + mount namespace, both ways: under
 * `unshare --pid --mount --fork` and through its own --pidns re-exec. It
 * must mount /proc for its namespace, spawn, reap orphans reparented to it,
 * and stop cleanly on SIGTERM (exit 0). As root both ways; unprivileged only
 * --pidns (through a user namespace); skips when neither is possible.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

static const char manifest[] = MANIFEST_HEAD CTL_SERVER
    "orphaner { binary = \"mhcl-testd\"; args = \"--spawn-orphan\"; policy = \"diagd\";"
    " start-order = <2>; };\n" MANIFEST_TAIL;

static void run(const char *const *wrapper, const char *const *extra)
{
	struct ctl *c = NULL;

	itest_passed = 0;
	itest_start(manifest, wrapper, extra);
	ASSERT_OK(ctl_connect(itest_proc.sock, &c));
	ASSERT_TRUE(ctl_wait_state(c, "orphaner", "running", -1));
	char *mode = ctl_inspect_str(c, "init", "mode");
	ASSERT_STREQ(mode, "pid1");
	free(mode);
	/* /proc was mounted for the new namespace: ps figures come from it. */
	char *mounted = ctl_inspect_str(c, "init", "mounted");
	ASSERT_TRUE(mounted && strstr(mounted, "/proc"));
	free(mounted);
	Mhcl__PsReply *ps = ctl_ps(c);
	/* pids are those of the new namespace (init is 1, its first child 2). */
	ASSERT_GT(ctl_ps_find(ps, "ctl")->pid, 1);
	ASSERT_LT(ctl_ps_find(ps, "ctl")->pid, 50);
	ASSERT_GT(ctl_ps_find(ps, "orphaner")->rss_bytes, 0);
	ASSERT_GT(ctl_ps_find(ps, "orphaner")->pss_bytes, 0);
	ASSERT_GT(ctl_ps_find(ps, "orphaner")->uss_bytes, 0);
	/* init's own line reads /proc/self: right whatever pid /proc knows it by. */
	ASSERT_TRUE(ps->init);
	ASSERT_EQ(ps->init->pid, 1);
	ASSERT_GT(ps->init->pss_bytes, 0);
	ASSERT_GT(ps->init->uss_bytes, 0);
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	/* The orphan's grandchild was reparented to init and reaped there. */
	bool reaped = false;
	for (int i = 0; i < 3000 && !reaped; i++) {
		reaped = ctl_inspect_u64(c, "init", "orphans_reaped") >= 1;
		if (!reaped)
			usleep(20000);
	}
	ASSERT_TRUE(reaped);
	ctl_close(c);

	int st = init_proc_stop(&itest_proc);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	const char *const order[] = {"orphaner [init]: stopped", "ctl [init]: stopped",
				     "all servers stopped", NULL};
	ASSERT_TRUE(init_proc_log_order(&itest_proc, order));
	itest_passed = 1;
	init_proc_cleanup(&itest_proc);
	memset(&itest_proc, 0, sizeof(itest_proc));
}

/* Whether this kernel lets us create a user namespace (for --pidns unprivileged). */
static bool userns_works(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS) == 0 ? 0 : 1);
	int st;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(void)
{
	const char *const pidns[] = {"--pidns", NULL};

	if (geteuid() != 0) {
		/* Unprivileged: only --pidns, through a user namespace. */
		if (!userns_works())
			TEST_SKIP("needs root or user namespaces");
		run(NULL, pidns);
		itest_pass();
		return 0;
	}
	const char *const wrapper[] = {"unshare", "--pid",	  "--mount",
				       "--fork",  "--kill-child", NULL};
	run(wrapper, NULL);
	run(NULL, pidns);
	itest_pass();
	return 0;
}
