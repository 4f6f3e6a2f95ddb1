/* SPDX-License-Identifier: MIT */
/*
 * The sim backend with a well-behaved guest: the worker's real VP loop, SynIC and
 * in-process VMBus control plane, driven over the sim protocol the way Linux drives them
 * (SynIC set-up, INITIATE_CONTACT with fallback, offers, GPADL, open, heartbeat).
 */
#include "test-sim-util.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include "sim_backend.h"

/* MSRs and hypercalls as the partition answers them, before any VMBus. */
static void test_vp_basics(void)
{
	struct sim_worker *w;
	struct sim_guest *g;
	uint64_t v = 0;
	int sock;

	ASSERT_OK(sim_worker_start(SIM_TEST_RAM, 2, false, &w));
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

/* The whole Linux path: connect, offers, open, heartbeat; close and open again. */
static void test_heartbeat(void)
{
	struct sim_env e;
	struct sim_guest_chan c;
	off_t mark = sim_log_mark();

	sim_env_start(&e);
	ASSERT_TRUE(sim_log_has(mark, "VMBus connected: protocol 5.3"));
	ASSERT_EQ(e.hb->child_relid != 0, 1);
	sim_env_open_hb(&e, SIM_GUEST_PFN_FREE, &c);
	ASSERT_TRUE(sim_log_has(mark, "heartbeat IC on relid"));
	sim_env_heartbeat(&e, &c);
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
	struct sim_worker *w;
	struct sim_guest *g;

	ASSERT_OK(sim_worker_start(SIM_TEST_RAM, 1, true, &w));
	ASSERT_OK(sim_guest_new(sim_worker_guest_socket(w, 0), &g));
	ASSERT_OK(sim_guest_synic_enable(g));
	ASSERT_EQ(sim_guest_vmbus_connect(g, versions, 2), VMBUS_VERSION_WIN10_V4_1);
	ASSERT_EQ(g->msg_conn_id, VMBUS_CONNID_MESSAGE);
	ASSERT_GE(sim_guest_request_offers(g), 1);
	/* Stop the machine before the guest hangs up (that would be a shutdown). */
	bool clean = false;
	w = sim_worker_stop(w, &clean);
	g = sim_guest_free(g);
	ASSERT_TRUE(clean);
}

/* The guest in its own process (re-executed test binary): the memfd crosses the process
 * boundary with SCM_RIGHTS, the rings live in the mapping both processes share. Reports
 * its result on result_fd, then stays until the worker hangs up. */
static int guest_process(int sock, int result_fd)
{
	static const struct hv_guid hb_type = HV_GUID_IC_HEARTBEAT;
	struct sim_guest *g;
	struct sim_guest_chan c;
	uint64_t seq = 0;
	uint8_t ok = 0;

	ASSERT_OK(sim_guest_new(sock, &g));
	ASSERT_OK(sim_guest_synic_enable(g));
	ASSERT_EQ(sim_guest_vmbus_connect_linux(g), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_GE(sim_guest_request_offers(g), 1);
	const struct vmbus_msg_offer_channel *hb = sim_guest_find_offer(g, &hb_type);
	ASSERT_TRUE(hb);
	ASSERT_OK(sim_guest_chan_open(g, hb, SIM_GUEST_PFN_FREE, 8, 4, &c));
	ASSERT_EQ(sim_guest_ic_answer(g, &c, NULL), IC_MSG_NEGOTIATE);
	ASSERT_EQ(sim_guest_ic_answer(g, &c, &seq), IC_MSG_HEARTBEAT);
	ASSERT_UEQ(seq, 1);
	ok = 1;
	ASSERT_EQ(write(result_fd, &ok, 1), 1);
	/* Until the worker closes its end: this guest never hangs up first. */
	char b[64];
	while (recv(g->sock, b, sizeof(b), 0) > 0)
		;
	vmbus_ring_fini(&c.in);
	vmbus_ring_fini(&c.out);
	sim_guest_free(g);
	return 0;
}

static void test_cross_process(const char *self)
{
	struct sim_worker *w;
	int sock, pfd[2];
	off_t mark = sim_log_mark();
	char sock_arg[16], pipe_arg[16];
	uint8_t ok = 0;
	pid_t pid;

	ASSERT_OK(sim_worker_start(SIM_TEST_RAM, 1, true, &w));
	sock = sim_worker_guest_socket(w, 0);
	ASSERT_GE(sock, 0);
	ASSERT_OK(pipe(pfd));
	snprintf(sock_arg, sizeof(sock_arg), "%d", sock);
	snprintf(pipe_arg, sizeof(pipe_arg), "%d", pfd[1]);
	ASSERT_OK(fcntl(sock, F_SETFD, 0));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		execl(self, self, "--guest", sock_arg, pipe_arg, (char *)NULL);
		_exit(127);
	}
	close(sock);
	close(pfd[1]);
	ASSERT_EQ(read(pfd[0], &ok, 1), 1);
	ASSERT_EQ(ok, 1);
	close(pfd[0]);
	sim_log_wait(mark, "guest answered sequence 1");
	bool clean = false;
	w = sim_worker_stop(w, &clean);
	ASSERT_TRUE(clean);
	int status = 0;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--guest"))
		return guest_process(atoi(argv[2]), atoi(argv[3]));
	sim_log_capture();
	test_vp_basics();
	test_heartbeat();
	test_version_fallback();
	test_cross_process("/proc/self/exe");
	fprintf(stderr, "sim guest: all passed\n");
	return 0;
}
