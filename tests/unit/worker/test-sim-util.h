/* SPDX-License-Identifier: MIT */
/*
 * Shared by the sim-backend tests: a worker on the sim backend with the in-process VMBus
 * control plane, one sim guest on VP 0, and the worker's log captured (stderr goes to a
 * memfd; the whole log is echoed to the real stderr at exit, so failures show it).
 */
#ifndef MHCL_TEST_SIM_UTIL_H
#define MHCL_TEST_SIM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "defs/ic_defs.h"
#include "sim_guest.h"
#include "sim_worker.h"
#include "test.h"

#define SIM_TEST_RAM (16ull << 20)

static int sim_log_fd = -1, sim_real_stderr = -1;

static void sim_log_dump(void)
{
	char buf[4096];
	ssize_t n;
	off_t off = 0;

	if (sim_log_fd < 0 || sim_real_stderr < 0)
		return;
	while ((n = pread(sim_log_fd, buf, sizeof(buf), off)) > 0) {
		(void)!write(sim_real_stderr, buf, (size_t)n);
		off += n;
	}
}

/* From here on everything written to stderr lands in the capture. */
static inline void sim_log_capture(void)
{
	sim_real_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	sim_log_fd = (int)syscall(SYS_memfd_create, "sim-log", 0);
	ASSERT_GE(sim_log_fd, 0);
	ASSERT_GE(sim_real_stderr, 0);
	/* Append mode, shared with the stderr dup below: a memfd is not opened through a
	 * path, so the kernel does not serialize its file offset, and two threads logging at
	 * once (a VP and a device thread) could both write at the same offset, one line
	 * overwriting the other. O_APPEND places every write at the end under the inode lock. */
	ASSERT_OK(fcntl(sim_log_fd, F_SETFL, O_APPEND));
	ASSERT_GE(dup2(sim_log_fd, STDERR_FILENO), 0);
	atexit(sim_log_dump);
}

/* Offset where the log ends now: later searches can start there. */
static inline off_t sim_log_mark(void)
{
	return lseek(sim_log_fd, 0, SEEK_END);
}

/* Whether the log from `from` on contains `what` (all of it is read; logs stay small). */
static inline bool sim_log_has(off_t from, const char *what)
{
	off_t end = lseek(sim_log_fd, 0, SEEK_END);
	bool found = false;
	char *buf;

	if (end <= from)
		return false;
	buf = malloc((size_t)(end - from) + 1);
	ASSERT_TRUE(buf);
	ssize_t n = pread(sim_log_fd, buf, (size_t)(end - from), from);
	ASSERT_GE(n, 0);
	buf[n] = 0;
	found = strstr(buf, what) != NULL;
	free(buf);
	return found;
}

/* How often `what` occurs in the log from `from` on. */
static inline unsigned sim_log_count(off_t from, const char *what)
{
	off_t end = lseek(sim_log_fd, 0, SEEK_END);
	unsigned n = 0;
	char *buf;

	if (end <= from)
		return 0;
	buf = malloc((size_t)(end - from) + 1);
	ASSERT_TRUE(buf);
	ssize_t len = pread(sim_log_fd, buf, (size_t)(end - from), from);
	ASSERT_GE(len, 0);
	buf[len] = 0;
	for (const char *p = buf; (p = strstr(p, what)); p += strlen(what))
		n++;
	free(buf);
	return n;
}

/* Waits for a line logged by another thread; the bound only keeps a broken test from
 * hanging. */
static inline void sim_log_wait(off_t from, const char *what)
{
	for (int i = 0; i < 20000; i++) {
		if (sim_log_has(from, what))
			return;
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	TEST_FAIL_("the log never said \"%s\"", what);
}

struct sim_env {
	struct sim_worker *w;
	struct sim_guest *g;
	const struct vmbus_msg_offer_channel *hb; /* the heartbeat offer */
};

/* Worker with VMBus, guest on VP 0 with its SynIC enabled, connected (Linux's version
 * list) and offers collected. */
static inline void sim_env_start(struct sim_env *e)
{
	static const struct hv_guid hb_type = HV_GUID_IC_HEARTBEAT;
	int r, sock;

	memset(e, 0, sizeof(*e));
	r = sim_worker_start(SIM_TEST_RAM, 1, true, &e->w);
	if (r == -EOPNOTSUPP)
		TEST_SKIP("built without the in-process VMBus control plane");
	ASSERT_OK(r);
	sock = sim_worker_guest_socket(e->w, 0);
	ASSERT_GE(sock, 0);
	ASSERT_OK(sim_guest_new(sock, &e->g));
	ASSERT_UEQ(e->g->ram.map_len, SIM_TEST_RAM);
	ASSERT_OK(sim_guest_synic_enable(e->g));
	ASSERT_EQ(sim_guest_vmbus_connect_linux(e->g), VMBUS_VERSION_WIN10_V5_3);
	ASSERT_GE(sim_guest_request_offers(e->g), 1);
	e->hb = sim_guest_find_offer(e->g, &hb_type);
	ASSERT_TRUE(e->hb);
}

/* Opens the heartbeat channel on ring pages from first_pfn (8 pages, 4 each way). */
static inline void sim_env_open_hb(struct sim_env *e, uint64_t first_pfn, struct sim_guest_chan *c)
{
	ASSERT_OK(sim_guest_chan_open(e->g, e->hb, first_pfn, 8, 4, c));
}

/* One full heartbeat exchange on a freshly opened channel: the host negotiates, the guest
 * answers, the host sends heartbeat 1, the guest returns 2 and the host logs it. */
static inline void sim_env_heartbeat(struct sim_env *e, struct sim_guest_chan *c)
{
	uint64_t seq = 0;
	off_t mark = sim_log_mark();

	ASSERT_EQ(sim_guest_ic_answer(e->g, c, NULL), IC_MSG_NEGOTIATE);
	ASSERT_EQ(sim_guest_ic_answer(e->g, c, &seq), IC_MSG_HEARTBEAT);
	ASSERT_UEQ(seq, 1);
	sim_log_wait(mark, "guest answered sequence 1");
}

/* The liveness probe after hostile input: the heartbeat channel opens (again) on fresh
 * pages and answers, and the VPs still run. */
static inline void sim_env_hb_alive(struct sim_env *e, uint64_t first_pfn)
{
	struct sim_guest_chan c;

	sim_env_open_hb(e, first_pfn, &c);
	sim_env_heartbeat(e, &c);
	ASSERT_OK(sim_guest_chan_close(e->g, &c));
	ASSERT_TRUE(sim_worker_running(e->w));
}

static inline void sim_env_stop(struct sim_env *e)
{
	bool clean = false;

	e->w = sim_worker_stop(e->w, &clean);
	e->g = sim_guest_free(e->g);
	ASSERT_TRUE(clean);
}

#endif
