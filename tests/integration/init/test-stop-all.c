/* SPDX-License-Identifier: MIT */
/*
 * stop-all-on-exit: a server so marked (the image's VP worker, whose clean exit means
 * the guest powered off) ends init when it exits 0: every other server is stopped in
 * reverse start order and init exits 0 by itself. Such a server failing, or asking not
 * to be restarted (125, an image without a guest), ends nothing.
 */
#include <string.h>
#include <sys/wait.h>

#include "itest.h"

static const char manifest[] = MANIFEST_HEAD CTL_SERVER
    "bystander { binary = \"mhcl-testd\"; policy = \"diagd\"; start-order = <2>; };\n"
    /* asks not to be restarted: no guest, nothing ends */
    "noguest { binary = \"mhcl-testd\"; args = \"--exit-after-ms\", \"10\", \"--exit-code\","
    " \"125\"; policy = \"diagd\"; start-order = <3>; restart = \"never\"; stop-all-on-exit; };\n"
    /* fails: nothing ends */
    "crasher { binary = \"mhcl-testd\"; args = \"--exit-after-ms\", \"10\", \"--exit-code\","
    " \"3\"; policy = \"diagd\"; start-order = <4>; restart = \"never\"; stop-all-on-exit; };\n"
    /* exits 0 later: ends init */
    "guest { binary = \"mhcl-testd\"; args = \"--exit-after-ms\", \"3000\", \"--exit-code\","
    " \"0\"; policy = \"diagd\"; start-order = <5>; restart = \"never\"; stop-all-on-exit; "
    "};\n" MANIFEST_TAIL;

int main(void)
{
	struct ctl *c = NULL;

	itest_start(manifest, NULL, NULL);
	ASSERT_OK(ctl_connect(itest_proc.sock, &c));
	ASSERT_TRUE(ctl_wait_last_exit(c, "noguest", "exited 125"));
	ASSERT_TRUE(ctl_wait_last_exit(c, "crasher", "exited 3"));
	ASSERT_TRUE(ctl_wait_state(c, "guest", "running", -1));
	/* Neither ended init: the bystander still runs while the guest does. */
	Mhcl__PsReply *ps = ctl_ps(c);
	ASSERT_STREQ(ctl_ps_find(ps, "bystander")->state, "running");
	ASSERT_STREQ(ctl_ps_find(ps, "guest")->state, "running");
	protobuf_c_message_free_unpacked(&ps->base, NULL);
	ctl_close(c);

	/* The guest's clean exit stops everything; init ends by itself. */
	int st = init_proc_wait_exit(&itest_proc);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	const char *const order[] = {"noguest [init]: asked not to be restarted",
				     "guest [init]: done: stopping every server (stop-all-on-exit)",
				     "bystander [init]: stopping",
				     "bystander [init]: stopped",
				     "ctl [init]: stopped",
				     "all servers stopped",
				     NULL};
	ASSERT_TRUE(init_proc_log_order(&itest_proc, order));
	itest_pass();
	return 0;
}
