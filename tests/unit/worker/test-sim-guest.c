/* SPDX-License-Identifier: MIT */
/*
 * The sim backend with a well-behaved guest and no VMBus: the worker's real VP loop and
 * SynIC in this process, driven over the sim protocol (MSRs, hypercalls, SynIC set-up).
 * The VMBus path against the real servers is tests/integration/worker/test-sim-guest.c.
 */
#include "sim_env.h"

/* MSRs and hypercalls as the partition answers them, before any VMBus. */
static void test_vp_basics(void)
{
	struct sim_worker *w;
	struct sim_guest *g;
	uint64_t v = 0;
	int sock;

	ASSERT_OK(sim_worker_new(SIM_TEST_RAM, 2, &w));
	ASSERT_OK(sim_worker_start(w));
	sock = sim_worker_guest_socket(w, 1);
	ASSERT_GE(sock, 0);
	ASSERT_EQ(sim_worker_guest_socket(w, 1), -EBUSY);
	ASSERT_OK(sim_guest_new(sock, &g));
	ASSERT_EQ(g->vp, 1);
	ASSERT_OK(sim_guest_rdmsr(g, HV_MSR_VP_INDEX, &v));
	ASSERT_UEQ(v, 1);
	/* SINTs start masked; the guest's value reads back. */
	ASSERT_OK(sim_guest_rdmsr(g, HV_MSR_SINT0 + 2, &v));
	ASSERT_TRUE(v & (1ull << 16));
	ASSERT_OK(sim_guest_synic_enable(g));
	ASSERT_OK(sim_guest_rdmsr(g, HV_MSR_SINT0 + 2, &v));
	ASSERT_UEQ(v, SIM_GUEST_SINT_VECTOR);
	/* An MSR nobody emulates faults (the VP loop's answer), the VP keeps running. */
	ASSERT_EQ(sim_guest_wrmsr(g, 0x12345678, 1), -EIO);
	ASSERT_EQ(sim_guest_rdmsr(g, 0x12345678, &v), -EIO);
	/* No VMBus: HvPostMessage finds no port, HvSignalEvent no route. */
	uint8_t msg[16] = {14};
	ASSERT_EQ(sim_guest_post_raw(g, 1, 1, sizeof(msg), msg, sizeof(msg)),
		  HV_STATUS_INVALID_CONNECTION_ID);
	ASSERT_EQ(sim_guest_signal(g, 0x2001), HV_STATUS_INVALID_CONNECTION_ID);
	/* Unknown hypercall code, misaligned input block, bad message type. */
	ASSERT_EQ(sim_guest_hypercall(g, 0x7777, 0, 0), HV_STATUS_INVALID_HYPERCALL_CODE);
	ASSERT_EQ(sim_guest_hypercall(g, HV_HCALL_POST_MESSAGE, 0x12004, 0), HV_STATUS_INVALID_ALIGNMENT);
	ASSERT_EQ(sim_guest_hypercall(g, HV_HCALL_POST_MESSAGE, SIM_TEST_RAM, 0),
		  HV_STATUS_INVALID_PARAMETER);
	ASSERT_EQ(sim_guest_post_raw(g, 1, 0, 8, msg, 8), HV_STATUS_INVALID_PARAMETER);
	ASSERT_TRUE(sim_worker_running(w));
	/* Stop the machine before the guest hangs up (that would be a shutdown). */
	bool clean = false;
	w = sim_worker_stop(w, &clean);
	g = sim_guest_free(g);
	ASSERT_TRUE(clean);
}

int main(void)
{
	sim_log_capture();
	test_vp_basics();
	fprintf(stderr, "sim guest: all passed\n");
	return 0;
}
