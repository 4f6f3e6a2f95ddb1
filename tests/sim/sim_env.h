/* SPDX-License-Identifier: MIT */
/*
 * Shared by the sim-backend tests.
 *
 * The log: sim_log_capture() sends this process's stderr to a memfd (a worker in this
 * process); sim_env_start() instead reads the log mhcl-init writes for its servers. The
 * whole log is echoed to the real stderr at exit, so failures show it.
 *
 * The environment (sim_env_start): mhcl-init runs mhcl-vmbusd, mhcl-icd (heartbeat and
 * shutdown) and mhcl-vp-sim (mhcl-vp on the sim backend, relaying VMBus to vmbusd) from a
 * manifest; this process is the guest, over the VP sockets mhcl-vp-sim hands it. The
 * test's main calls sim_env_init() with the paths meson passes.
 */
#ifndef MHCL_TEST_SIM_ENV_H
#define MHCL_TEST_SIM_ENV_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "defs/hv_defs.h"
#include "defs/ic_defs.h"
#include "sim_guest.h"
#include "sim_worker.h"
#include "test.h"
#include "test_init.h"

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

/* ---- mhcl-init with mhcl-vmbusd, mhcl-icd and mhcl-vp-sim; this process is the guest ---- */

struct sim_env_paths {
	const char *init, *vmbusd_dir, *icd_dir, *vp_dir, *dtc;
	char base[64]; /* one run directory per environment below it */
	unsigned runs;
};
static struct sim_env_paths sim_paths;
/* init restarts vmbusd (and icd) when they die, as a deployment would. */
static bool sim_env_restarts;
/* More manifest entries (servers started after vmbusd, before the worker: start-order
 * 20..29) and the folders their binaries are in (":"-separated), or NULL. */
static const char *sim_env_extra_servers, *sim_env_extra_libexec;

struct sim_env {
	char dir[96];
	pid_t init;
	int ctl;		      /* mhcl-vp-sim's connection: ends when it does */
	struct sim_guest *g;	      /* VP 0 */
	int socks[SIM_GUEST_MAX_VPS]; /* the other VPs' guest sockets (owned until taken) */
	uint32_t nvp;
	const struct vmbus_msg_offer_channel *hb; /* the heartbeat offer */
};

static int sim_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	(void)remove(path);
	return 0;
}

static void sim_env_cleanup(void)
{
	if (sim_paths.base[0])
		(void)nftw(sim_paths.base, sim_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* argv: INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC (what meson passes). Opens the log every
 * environment's init appends to. */
static inline void sim_env_init(char **argv)
{
	char log[128];

	sim_paths.init = argv[0];
	sim_paths.vmbusd_dir = argv[1];
	sim_paths.icd_dir = argv[2];
	sim_paths.vp_dir = argv[3];
	sim_paths.dtc = argv[4];
	signal(SIGPIPE, SIG_IGN);
	snprintf(sim_paths.base, sizeof(sim_paths.base), "/tmp/mhcl-sim-XXXXXX");
	ASSERT_TRUE(mkdtemp(sim_paths.base) != NULL);
	atexit(sim_env_cleanup);
	snprintf(log, sizeof(log), "%s/log", sim_paths.base);
	sim_log_fd = open(log, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	sim_real_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	ASSERT_GE(sim_log_fd, 0);
	ASSERT_GE(sim_real_stderr, 0);
	atexit(sim_log_dump);
}

/* init with vmbusd, icd and mhcl-vp-sim (nvp VPs); the VP sockets taken, VP 0's guest
 * said hello (its RAM is mapped). Nothing else yet. */
static inline void sim_env_boot(struct sim_env *e, uint32_t nvp)
{
	char servers[4096], gsock[128], libexec[2048],
	    cbuf[CMSG_SPACE(sizeof(int) * SIM_GUEST_MAX_VPS)];
	uint32_t n = 0;
	struct iovec iov = {&n, sizeof(n)};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	int lfd;

	ASSERT_TRUE(nvp >= 1 && nvp <= SIM_GUEST_MAX_VPS);
	memset(e, 0, sizeof(*e));
	e->ctl = -1;
	e->nvp = nvp;
	for (uint32_t i = 0; i < SIM_GUEST_MAX_VPS; i++)
		e->socks[i] = -1;
	snprintf(e->dir, sizeof(e->dir), "%s/%u", sim_paths.base, sim_paths.runs++);
	ASSERT_OK(mkdir(e->dir, 0700));
	snprintf(gsock, sizeof(gsock), "%s/guest.sock", e->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ASSERT_LT(strlen(gsock), sizeof(sa.sun_path));
	strcpy(sa.sun_path, gsock);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ASSERT_GE(lfd, 0);
	ASSERT_OK(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_OK(listen(lfd, 1));

	snprintf(servers, sizeof(servers),
		 "vmbus { binary = \"mhcl-vmbusd\"; args = \"--vp-socket\", \"${RUN}/vmbus.sock\","
		 " \"--device-socket\", \"${RUN}/dev.sock\"; policy = \"vmbusd\";"
		 " restart = \"%s\"; restart-delay-ms = <10>; crash-loop-limit = <32>;"
		 " start-order = <10>; };\n"
		 "ic { binary = \"mhcl-icd\"; args = \"--vmbus-socket\", \"${RUN}/dev.sock\";"
		 " policy = \"icd\"; restart = \"%s\"; restart-delay-ms = <10>;"
		 " crash-loop-limit = <32>;"
		 " start-order = <20>; };\n%s"
		 "vp { binary = \"mhcl-vp-sim\"; args = \"--vmbusd\", \"${RUN}/vmbus.sock\","
		 " \"--guest\", \"%s\", \"--cpus\", \"%u\", \"--mem\", \"%llu\"; policy = \"vp\";"
		 " restart = \"never\"; start-order = <30>; };\n",
		 sim_env_restarts ? "always" : "never", sim_env_restarts ? "always" : "never",
		 sim_env_extra_servers ? sim_env_extra_servers : "", gsock, nvp,
		 SIM_TEST_RAM >> 20);
	snprintf(libexec, sizeof(libexec), "%s:%s:%s%s%s", sim_paths.vmbusd_dir, sim_paths.icd_dir,
		 sim_paths.vp_dir, sim_env_extra_libexec ? ":" : "",
		 sim_env_extra_libexec ? sim_env_extra_libexec : "");
	e->init =
	    test_init_start(sim_paths.init, sim_paths.dtc, e->dir, libexec, servers, sim_log_fd);

	struct pollfd p = {lfd, POLLIN, 0};
	if (poll(&p, 1, SIM_GUEST_WAIT_MS) != 1)
		TEST_FAIL_("mhcl-vp-sim never connected to %s", gsock);
	e->ctl = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_GE(e->ctl, 0);
	close(lfd);
	ASSERT_EQ(recvmsg(e->ctl, &mh, MSG_CMSG_CLOEXEC), (ssize_t)sizeof(n));
	ASSERT_EQ(n, nvp);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	ASSERT_TRUE(c && c->cmsg_type == SCM_RIGHTS);
	ASSERT_EQ(c->cmsg_len, CMSG_LEN(sizeof(int) * nvp));
	memcpy(e->socks, CMSG_DATA(c), sizeof(int) * nvp);
	ASSERT_OK(sim_guest_new(e->socks[0], &e->g));
	e->socks[0] = -1;
	ASSERT_UEQ(e->g->ram.map_len, SIM_TEST_RAM);
}

/* Pins the calling thread (and what it forks or spawns later) to one CPU. False when the
 * machine has no such CPU or refuses. The benchmarks keep the path measured on CPU 0 and
 * its load on CPU 1. */
static inline bool sim_env_pin(unsigned cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0;
}

/* Pins every thread of pid (and what they spawn later) to one CPU. False if any refuses. */
static inline bool sim_env_pin_pid(pid_t pid, unsigned cpu)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return false;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	bool ok = true;
	struct dirent *de;
	int tid;
	while ((de = readdir(dir)))
		if (sscanf(de->d_name, "%d", &tid) == 1 &&
		    sched_setaffinity(tid, sizeof(set), &set) < 0)
			ok = false;
	closedir(dir);
	return ok;
}

/* CPU seconds pid has used (utime + stime). */
static inline double sim_env_cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	ASSERT_TRUE(f != NULL);
	ASSERT_TRUE(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
	const char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	ASSERT_TRUE(p != NULL);
	ASSERT_EQ(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st),
		  2);
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The pid of init's child running `comm` (mhcl-vmbusd), or -1. */
static inline pid_t sim_env_child(pid_t parent, const char *comm)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	pid_t found = -1;

	ASSERT_TRUE(dir != NULL);
	while (found < 0 && (de = readdir(dir))) {
		char path[64], buf[512], name[32];
		int pid, ppid;
		FILE *f;

		if (sscanf(de->d_name, "%d", &pid) != 1)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(buf, sizeof(buf), f) &&
		    sscanf(buf, "%*d (%31[^)]) %*c %d", name, &ppid) == 2 && ppid == parent &&
		    !strcmp(name, comm))
			found = pid;
		fclose(f);
	}
	closedir(dir);
	return found;
}

/* The guest socket of VP vp (1 .. nvp - 1), once. */
static inline int sim_env_take_socket(struct sim_env *e, uint32_t vp)
{
	int fd = e->socks[vp];
	e->socks[vp] = -1;
	ASSERT_GE(fd, 0);
	return fd;
}

/* Whether mhcl-vp-sim still runs: its connection has not ended. */
static inline bool sim_env_running(struct sim_env *e)
{
	struct pollfd p = {e->ctl, POLLIN, 0};
	return poll(&p, 1, 0) == 0;
}

/* Waits (bounded) until mhcl-vp-sim has ended. */
static inline void sim_env_wait_exit(struct sim_env *e)
{
	struct pollfd p = {e->ctl, POLLIN, 0};
	ASSERT_EQ(poll(&p, 1, SIM_GUEST_WAIT_MS), 1);
}

/* Booted, guest on VP 0 with its SynIC enabled, connected (Linux's version list) and
 * offers collected (icd's heartbeat and shutdown). */
static inline void sim_env_start(struct sim_env *e)
{
	static const struct hv_guid hb_type = HV_GUID_IC_HEARTBEAT;

	sim_env_boot(e, 1);
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

/* One full heartbeat exchange on a freshly opened channel: icd negotiates, the guest
 * answers, icd sends a heartbeat (sequence 1 on the channel's first open; icd carries it
 * on across opens) and the guest returns it + 1. icd's next heartbeat (within its 1 s
 * period) carries that + 1 and shows it has handled the answer, and the log that it
 * refused nothing. The next one stays unanswered, so icd sends no more on this channel.
 * Returns the sequence of the first heartbeat. */
static inline uint64_t sim_env_heartbeat(struct sim_env *e, struct sim_guest_chan *c)
{
	struct vmbus_pkt pkt;
	struct ic_msg_hdr h;
	uint64_t seq = 0, next = 0;
	off_t mark = sim_log_mark();

	ASSERT_EQ(sim_guest_ic_answer(e->g, c, NULL), IC_MSG_NEGOTIATE);
	ASSERT_EQ(sim_guest_ic_answer(e->g, c, &seq), IC_MSG_HEARTBEAT);
	ASSERT_GE(seq, 1);
	ASSERT_OK(sim_guest_chan_recv(e->g, c, &pkt));
	ASSERT_GE(pkt.payload_len, IC_BODY_OFFSET + sizeof(next));
	memcpy(&h, (const uint8_t *)pkt.payload + sizeof(struct ic_pipe_hdr), sizeof(h));
	ASSERT_EQ(h.msgtype, IC_MSG_HEARTBEAT);
	memcpy(&next, (const uint8_t *)pkt.payload + IC_BODY_OFFSET, sizeof(next));
	ASSERT_UEQ(next, seq + 1);
	ASSERT_FALSE(sim_log_has(mark, "refused a guest packet"));
	return seq;
}

/* The liveness probe after hostile input: the heartbeat channel opens (again) on fresh
 * pages and answers, and the worker still runs. */
static inline void sim_env_hb_alive(struct sim_env *e, uint64_t first_pfn)
{
	struct sim_guest_chan c;

	sim_env_open_hb(e, first_pfn, &c);
	sim_env_heartbeat(e, &c);
	ASSERT_OK(sim_guest_chan_close(e->g, &c));
	ASSERT_TRUE(sim_env_running(e));
}

/* Stops init (an orderly stop of every server) and frees the guest. Returns whether
 * mhcl-vp-sim was still running until then (no VP failed). */
static inline bool sim_env_halt(struct sim_env *e)
{
	bool running = sim_env_running(e);
	int st;

	ASSERT_OK(kill(e->init, SIGTERM));
	ASSERT_EQ(waitpid(e->init, &st, 0), e->init);
	e->g = sim_guest_free(e->g);
	for (uint32_t i = 0; i < SIM_GUEST_MAX_VPS; i++)
		if (e->socks[i] >= 0)
			close(e->socks[i]);
	close(e->ctl);
	return running;
}

static inline void sim_env_stop(struct sim_env *e)
{
	ASSERT_TRUE(sim_env_halt(e));
}

/* Runs the mhcl CLI at `cli` with the arguments after `cap` (up to 14, then NULL) against
 * e's diagd, which the test's extra servers listen on ${RUN}/diag.sock. Its stdout goes to
 * out (cap bytes, NUL-terminated), or to /dev/null when out is NULL. Returns its exit
 * status. */
static inline int sim_env_mhcl(struct sim_env *e, const char *cli, char *out, size_t cap, ...)
{
	const char *argv[16] = {"mhcl"};
	size_t argc = 1, off = 0;
	va_list ap;
	ssize_t n;
	int p[2], st;

	va_start(ap, cap);
	while ((argv[argc] = va_arg(ap, const char *)) && argc < sizeof(argv) / sizeof(argv[0]) - 1)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	ASSERT_OK(pipe2(p, O_CLOEXEC));
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char env[160];
		snprintf(env, sizeof(env), "MHCL_DIAG=unix:%s/diag.sock", e->dir);
		putenv(env);
		dup2(out ? p[1] : open("/dev/null", O_WRONLY | O_CLOEXEC), STDOUT_FILENO);
		execv(cli, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	while (out && off + 1 < cap && (n = read(p[0], out + off, cap - 1 - off)) > 0)
		off += (size_t)n;
	if (out)
		out[off] = 0;
	close(p[0]);
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The sum of every "key: N" line of an inspect dump (key at the end of a name). */
static inline unsigned long long sim_inspect_sum(const char *out, const char *key)
{
	unsigned long long sum = 0, v;
	size_t klen = strlen(key);
	for (const char *p = strstr(out, key); p; p = strstr(p + klen, key))
		if (p[klen] == ':' && sscanf(p + klen + 1, " %llu", &v) == 1)
			sum += v;
	return sum;
}

#endif
