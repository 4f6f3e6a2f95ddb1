/* SPDX-License-Identifier: MIT */
/*
 * A well-behaved guest through the sim backend against the real servers (sim_env.h:
 * mhcl-init, mhcl-vmbusd, mhcl-icd, mhcl-vp-sim): the path Linux's hv_vmbus and hv_utils
 * take (SynIC set-up, INITIATE_CONTACT with fallback, offers, GPADL, open, heartbeat,
 * close, open again). Guest RAM is mhcl-vp-sim's memfd, mapped here: the rings are shared
 * across three processes (this guest, the worker, icd).
 *
 * Usage: test-sim-guest INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC
 */
#include "sim_env.h"

/* The whole Linux path: connect, offers, open, heartbeat; close and open again. */
static void test_heartbeat(void)
{
	struct sim_env e;
	struct sim_guest_chan c;
	off_t mark = sim_log_mark();

	sim_env_start(&e);
	sim_log_wait(mark, "VMBus connected: protocol 5.3");
	ASSERT_EQ(e.hb->child_relid != 0, 1);
	sim_env_open_hb(&e, SIM_GUEST_PFN_FREE, &c);
	sim_log_wait(mark, "heartbeat IC on relid");
	ASSERT_UEQ(sim_env_heartbeat(&e, &c), 1);
	ASSERT_GT(e.g->sints, 0);
	ASSERT_OK(sim_guest_chan_close(e.g, &c));
	sim_log_wait(mark, "closed");
	/* Same pages again, then other pages. */
	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE);
	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE + 0x100);
	sim_env_stop(&e);
}

/* Version fallback: a version the host does not know is refused, the next one taken. */
static void test_version_fallback(void)
{
	static const uint32_t versions[] = {VMBUS_MAKE_VERSION(9, 9), VMBUS_VERSION_WIN10_V4_1};
	struct sim_env e;

	sim_env_boot(&e, 1);
	ASSERT_OK(sim_guest_synic_enable(e.g));
	ASSERT_EQ(sim_guest_vmbus_connect(e.g, versions, 2), VMBUS_VERSION_WIN10_V4_1);
	ASSERT_EQ(e.g->msg_conn_id, VMBUS_CONNID_MESSAGE);
	ASSERT_GE(sim_guest_request_offers(e.g), 1);
	/* Stop the machine before the guest hangs up (that would be a shutdown). */
	sim_env_stop(&e);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC\n", argv[0]);
		return 2;
	}
	sim_env_init(argv + 1);
	test_heartbeat();
	test_version_fallback();
	fprintf(stderr, "sim guest: all passed\n");
	return 0;
}
