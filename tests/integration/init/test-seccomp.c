/* SPDX-License-Identifier: MIT */
/*
 * The jail end to end: a FAULT_FORBIDDEN_SYSCALL request makes mhcl-testd
 * call ptrace inside its seccomp profile. Exactly that server dies with
 * MHCL_EXIT_JAIL; init names the syscall in its log and in ps last_exit,
 * restarts it, and the other server keeps running and answering throughout.
 */
#include <errno.h>
#include <string.h>
#include <sys/wait.h>

#include "itest.h"

static const char manifest[] = MANIFEST_HEAD CTL_SERVER
    "victim { binary = \"mhcl-testd\"; policy = \"diagd\"; start-order = <2>;"
    " restart-delay-ms = <20>; };\n"
    "bystander { binary = \"mhcl-testd\"; policy = \"diagd\"; start-order = <3>; "
    "};\n" MANIFEST_TAIL;

int main(void)
{
	struct ctl *c = NULL;
	ProtobufCMessage *m = NULL;
	char err[256];

	itest_start(manifest, NULL, NULL);
	ASSERT_OK(ctl_connect(itest_proc.sock, &c));
	ASSERT_TRUE(ctl_wait_state(c, "bystander", "running", -1));
	int victim = ctl_pid(c, "victim"), bystander = ctl_pid(c, "bystander");
	ASSERT_GT(victim, 0);

	Mhcl__KillRequest kq = MHCL__KILL_REQUEST__INIT;
	kq.server = (char *)"victim";
	kq.fault = MHCL__FAULT_KIND__FAULT_FORBIDDEN_SYSCALL;
	ASSERT_OK(
	    ctl_call(c, IPC_MSG_KILL, &kq.base, &mhcl__empty__descriptor, &m, err, sizeof(err)));
	protobuf_c_message_free_unpacked(m, NULL);

	/* It comes back (restart policy), with the reason on record. */
	ASSERT_TRUE(ctl_wait_state(c, "victim", "running", 1));
	Mhcl__PsReply *ps = ctl_ps(c);
	ASSERT_STREQ(ctl_ps_find(ps, "victim")->last_exit, "seccomp: ptrace");
	ASSERT_NE(ctl_ps_find(ps, "victim")->pid, victim);
	/* Nobody else was touched. */
	ASSERT_EQ(ctl_ps_find(ps, "bystander")->pid, bystander);
	ASSERT_EQ(ctl_ps_find(ps, "bystander")->restarts, 0);
	ASSERT_STREQ(ctl_ps_find(ps, "bystander")->state, "running");
	ASSERT_EQ(ctl_ps_find(ps, "ctl")->restarts, 0);
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	ASSERT_TRUE(ctl_logs_contain(c, "victim", "seccomp: forbidden syscall ptrace (101)"));
	ASSERT_TRUE(ctl_logs_contain(c, "victim", "exited with 253"));
	/* abort() is allowed inside the jail (signals to itself only). */
	kq.fault = MHCL__FAULT_KIND__FAULT_ABORT;
	ASSERT_OK(
	    ctl_call(c, IPC_MSG_KILL, &kq.base, &mhcl__empty__descriptor, &m, err, sizeof(err)));
	protobuf_c_message_free_unpacked(m, NULL);
	ASSERT_TRUE(ctl_wait_last_exit(c, "victim", "killed by SIGABRT"));
	ASSERT_TRUE(ctl_wait_state(c, "victim", "running", 2));
	ASSERT_GE(ctl_inspect_u64(c, "bystander", "testd/ticks"), 0);
	ASSERT_GE(ctl_inspect_u64(c, "bystander", "frame/inspects"), 1);
	ctl_close(c);

	int st = init_proc_stop(&itest_proc);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	itest_pass();
	return 0;
}
