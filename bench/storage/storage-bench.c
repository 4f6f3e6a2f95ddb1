/* SPDX-License-Identifier: MIT */
/*
 * storage-bench: mhcl-storaged's efficiency, hosted (no VM). A load generator plays
 * hv_storvsc on the rings (tests/sim: mhcl-init, mhcl-vmbusd, mhcl-icd, mhcl-vp-sim and
 * mhcl-storaged with a memory disk; this process is the guest) and keeps QD 4 KiB random
 * reads or writes in flight on 1 or 2 channels. Beside it, in the same run, the memory
 * backend driven directly (no VMBus, no server) at the same queue depths.
 *
 * Figures: IOPS; the server's CPU time (utime + stime of mhcl-storaged from /proc) and
 * IOPS per server core; p50 and p99 latency from submit to completion as the guest sees
 * it. Printed as a markdown table.
 *
 * Restart blackout: the same load (QD 32 random reads, one channel) through
 * `mhcl restart storage` (planned) and SIGKILL (crash): the longest time no I/O
 * completed across the event (a pause that began between the event and 200 ms after the
 * restart command returned, or after the kill), and how many I/Os failed. Beside it, the
 * longest pause in the rest of the row after that, and before the event (a third of the
 * row): what this machine does to the load by itself (its host takes its CPUs away for
 * milliseconds at times: steal time), so a pause the event did not cause is told apart.
 *
 * Usage: storage-bench INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC STORAGED_DIR DIAGD_DIR MHCL
 *        [SECONDS]
 * Bench programs may use the test harness (tests/sim): they are not product code.
 */
#include "sim_env.h"
#include "sim_storvsc.h"

#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"

#define RING_PFN (SIM_GUEST_PFN_FREE + 0x20)
#define RING_PAGES 64u /* 128 KiB each way, as Linux's default */
#define DATA_PFN 0x800u
#define MAX_QD 128u
#define MAX_CH 2u
#define DISK_BLOCKS ((256u << 20) / 512u)
#define MAX_SAMPLES (1u << 22)

static double secs = 2.0;
static uint32_t *samples; /* latencies in ns */
static size_t nsamples;

/*
 * A guest's vCPUs are not the paravisor's CPUs. With two or more CPUs here, init and
 * every server run on CPU 0 and this process (the guest) on CPU 1 with the sim worker
 * (its interrupt relay stands in for the VPs and KVM's irqfd), so the figures are the
 * server's on a CPU of its own, shared only with the rest of the paravisor (init,
 * vmbusd) and, for the restart rows, the `mhcl` client.
 */
static bool pinned;

static void pin_to(unsigned cpu)
{
	if (sim_env_pin(cpu))
		pinned = true;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void sample(uint64_t ns)
{
	if (nsamples < MAX_SAMPLES)
		samples[nsamples++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	if (!nsamples)
		return 0;
	qsort(samples, nsamples, sizeof(*samples), cmp_u32);
	return samples[(size_t)(p * (double)(nsamples - 1))] / 1000.0;
}

static double self_cpu(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void row(const char *path, unsigned nch, unsigned qd, bool write, double ios, double wall,
		double cpu)
{
	double p50 = pct(0.50), p99 = pct(0.99);
	printf("| %s | %u | %u | %s | %.0f | %.2f | %.0f | %.1f | %.1f |\n", path, nch, qd,
	       write ? "randwrite" : "randread", ios / wall, cpu / wall, cpu > 0 ? ios / cpu : 0,
	       p50, p99);
	fflush(stdout);
}

/* ---- through mhcl-storaged ---- */

struct chan_load {
	struct sim_stor s;
	unsigned inflight;
	uint64_t sent_at[MAX_QD];
	bool busy[MAX_QD];
};

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static int send_one(struct chan_load *c, unsigned ci, unsigned slot, bool write)
{
	struct sim_srb srb;
	uint64_t pfn = DATA_PFN + ci * MAX_QD + slot;
	uint64_t lba = (rnd() % (DISK_BLOCKS / 8)) * 8;
	sim_srb_rw16(&srb, write, lba, 8);
	srb.len = 4096;
	srb.byte_offset = 0;
	srb.pfns = &pfn;
	srb.npfns = 1;
	srb.lun = 0;
	c->sent_at[slot] = now_ns();
	int r = sim_stor_send(&c->s, (uint64_t)ci << 16 | (slot + 1), &srb);
	if (r == 0) {
		c->busy[slot] = true;
		c->inflight++;
	}
	return r;
}

/* Blackout runs: the event and when it fires. */
enum event { EV_NONE, EV_RESTART, EV_KILL };
static const char *mhcl_cli;
static uint64_t max_gap_ns, max_gap_start_ns, quiet_gap_ns, later_gap_ns, failed_ios;
/* A pause that begins this long after the restart command returned (or the kill) is no
 * longer the event's own. */
#define EVENT_WINDOW_NS 200000000ull

/* Whether a pause that began at start is the event's: it began before the restart
 * command returned or less than EVENT_WINDOW_NS after (after the kill, for a kill). */
static bool event_own(uint64_t start, uint64_t fire_at, pid_t helper, uint64_t returned_at)
{
	if (helper > 0 && !returned_at)
		return true;
	return start < (returned_at ? returned_at : fire_at) + EVENT_WINDOW_NS;
}

static pid_t fire(struct sim_env *e, enum event ev)
{
	if (ev == EV_KILL) {
		pid_t pid = sim_env_child(e->init, "mhcl-storaged");
		ASSERT_GT(pid, 0);
		ASSERT_OK(kill(pid, SIGKILL));
		return -1;
	}
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		char env[160];
		snprintf(env, sizeof(env), "MHCL_DIAG=unix:%s/diag.sock", e->dir);
		putenv(env);
		int nul = open("/dev/null", O_WRONLY);
		dup2(nul, 1);
		dup2(nul, 2);
		if (pinned)
			pin_to(0);
		execl(mhcl_cli, "mhcl", "restart", "storage", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* poll: the guest polls its completions (its ring's interrupts masked, as a polling
 * driver would) instead of waiting for the SINT the sim transport relays. A guest's vCPU
 * is not the paravisor's CPU, but here they share two cores: once nothing has completed
 * for STALL_NS the polling guest sleeps between polls (POLL_NAP_NS), so that a restart's
 * init, CLI and next server get a CPU as they would on a host. */
#define STALL_NS 200000u
#define POLL_NAP_NS 20000u
#define GIVEN_UP_NS 5000000000ull
static void run_vmbus_ev(struct sim_env *e, struct chan_load *ch, unsigned nch, unsigned qd,
			 bool write, pid_t server, enum event ev, bool poll)
{
	uint64_t ios = 0, last_done = 0, fire_at = 0, returned_at = 0, checked_at = 0;
	pid_t helper = -1;
	int helper_st = 0;
	bool fired = ev == EV_NONE;
	max_gap_ns = quiet_gap_ns = later_gap_ns = failed_ios = 0;
	nsamples = 0;
	double c0 = ev == EV_NONE ? sim_env_cpu_seconds(server) : 0;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9);
	fire_at = t0 + (uint64_t)(secs * 1e9 / 3);
	last_done = t0;
	for (;;) {
		uint64_t t = now_ns();
		bool stop = t >= end;
		if (!fired && t >= fire_at) {
			helper = fire(e, ev);
			fired = true;
		}
		/* When `mhcl restart` returned: the next instance had taken over. */
		if (helper > 0 && !returned_at && t - checked_at > 200000u) {
			checked_at = t;
			if (waitpid(helper, &helper_st, WNOHANG) == helper)
				returned_at = t;
		}
		for (unsigned c = 0; c < nch && !stop; c++)
			for (unsigned k = 0; k < qd && ch[c].inflight < qd; k++)
				if (!ch[c].busy[k] && send_one(&ch[c], c, k, write) < 0)
					break;
		unsigned got = 0, left = 0;
		for (unsigned c = 0; c < nch; c++) {
			uint64_t id;
			struct storvsp_packet a;
			while (sim_stor_try_recv(&ch[c].s, &id, &a) == 0) {
				unsigned slot = (unsigned)(id & 0xffff) - 1;
				ASSERT_TRUE(slot < MAX_QD && ch[c].busy[slot]);
				if (a.srb.srb_status != STORVSP_SRB_SUCCESS)
					failed_ios++;
				ch[c].busy[slot] = false;
				ch[c].inflight--;
				uint64_t done = now_ns();
				uint64_t gap = done - last_done;
				if (!fired) {
					/* Before the event: the machine's own pauses. */
					if (gap > quiet_gap_ns)
						quiet_gap_ns = gap;
				} else if (!event_own(last_done, fire_at, helper, returned_at)) {
					if (gap > later_gap_ns)
						later_gap_ns = gap;
				} else if (gap > max_gap_ns) {
					max_gap_ns = gap;
					max_gap_start_ns = last_done;
				}
				last_done = done;
				sample(done - ch[c].sent_at[slot]);
				ios++;
				got++;
			}
			left += ch[c].inflight;
		}
		if (stop && left == 0)
			break;
		if (got)
			continue;
		if (poll) {
			uint64_t idle = now_ns() - last_done;
			/* Killed again and again, storaged backs off longer each time and is
			 * then given up (crash-loop-limit): say so instead of waiting for good. */
			if (idle > GIVEN_UP_NS) {
				fprintf(stderr,
					"storage-bench: no I/O completed for %u s: is "
					"mhcl-storaged still running (crash-loop limit)?\n",
					(unsigned)(GIVEN_UP_NS / 1000000000u));
				exit(1);
			}
			if (idle > STALL_NS) {
				struct timespec nap = {0, POLL_NAP_NS};
				nanosleep(&nap, NULL);
			}
			continue;
		}
		bool more = false;
		for (unsigned c = 0; c < nch; c++)
			more |= vmbus_ring_unmask_interrupts(&ch[c].s.ch.in) == 1;
		if (!more)
			ASSERT_GE(sim_guest_wait_sint(e->g), 0);
	}
	if (helper > 0 && !returned_at) {
		ASSERT_EQ(waitpid(helper, &helper_st, 0), helper);
		returned_at = now_ns();
	}
	if (helper > 0)
		ASSERT_TRUE(WIFEXITED(helper_st) && WEXITSTATUS(helper_st) == 0);
	double wall = (double)(now_ns() - t0) / 1e9;
	if (ev == EV_NONE) {
		row(poll ? "mhcl-storaged (VMBus, memory disk), guest polls"
			 : "mhcl-storaged (VMBus, memory disk), guest takes interrupts",
		    nch, qd, write, (double)ios, wall, sim_env_cpu_seconds(server) - c0);
	} else {
		printf("| %s | %.1f | %.1f | %.1f | %llu | %llu |\n",
		       ev == EV_RESTART ? "`mhcl restart storage` (planned)" : "SIGKILL (crash)",
		       (double)max_gap_ns / 1e6, (double)later_gap_ns / 1e6,
		       (double)quiet_gap_ns / 1e6, (unsigned long long)failed_ios,
		       (unsigned long long)ios);
		fflush(stdout);
		/* For a trace of the handover: where the pause fell, on CLOCK_MONOTONIC. */
		fprintf(stderr, "event at %.6f s, longest pause from %.6f to %.6f s",
			(double)fire_at / 1e9, (double)max_gap_start_ns / 1e9,
			(double)(max_gap_start_ns + max_gap_ns) / 1e9);
		if (returned_at)
			fprintf(stderr, ", command returned at %.6f s", (double)returned_at / 1e9);
		fprintf(stderr, "\n");
	}
}

static void run_vmbus(struct sim_env *e, struct chan_load *ch, unsigned nch, unsigned qd,
		      bool write, pid_t server, bool poll)
{
	for (unsigned c = 0; c < nch; c++) {
		if (poll)
			vmbus_ring_mask_interrupts(&ch[c].s.ch.in);
		else
			(void)vmbus_ring_unmask_interrupts(&ch[c].s.ch.in);
	}
	run_vmbus_ev(e, ch, nch, qd, write, server, EV_NONE, poll);
}

/* ---- the memory backend driven directly ---- */

struct direct {
	struct disk_queue *q;
	struct disk_req req[MAX_QD];
	struct iovec iov[MAX_QD];
	uint64_t sent_at[MAX_QD];
	uint64_t end, ios;
	bool write;
	uint8_t *buf;
};

static void direct_submit(struct direct *d, unsigned k);

static void precondition_done(struct disk_req *r, int err)
{
	ASSERT_EQ(err, 0);
	*(bool *)r->opaque = true;
}

static void direct_done(struct disk_req *r, int err)
{
	struct direct *d = r->opaque;
	unsigned k = (unsigned)(r - d->req);
	ASSERT_EQ(err, 0);
	sample(now_ns() - d->sent_at[k]);
	d->ios++;
	if (now_ns() < d->end)
		direct_submit(d, k);
}

static void direct_submit(struct direct *d, unsigned k)
{
	struct disk_req *r = &d->req[k];
	d->iov[k] = (struct iovec){d->buf + (size_t)k * 4096, 4096};
	*r = (struct disk_req){.op = d->write ? DISK_OP_WRITE : DISK_OP_READ,
			       .lba = (rnd() % (DISK_BLOCKS / 8)) * 8,
			       .nblocks = 8,
			       .iov = &d->iov[k],
			       .iovcnt = 1,
			       .done = direct_done,
			       .opaque = d};
	d->sent_at[k] = now_ns();
	ASSERT_OK(disk_submit(d->q, r));
}

static void run_direct(struct disk *disk, unsigned qd, bool write)
{
	uv_loop_t loop;
	struct direct d = {.write = write};
	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(disk_queue_open(disk, &loop, &d.q));
	d.buf = aligned_alloc(4096, MAX_QD * 4096);
	ASSERT_TRUE(d.buf != NULL);
	nsamples = 0;
	double c0 = self_cpu();
	uint64_t t0 = now_ns();
	d.end = t0 + (uint64_t)(secs * 1e9);
	for (unsigned k = 0; k < qd; k++)
		direct_submit(&d, k);
	uv_run(&loop, UV_RUN_DEFAULT);
	double wall = (double)(now_ns() - t0) / 1e9;
	row("memory backend, direct (baseline)", 1, qd, write, (double)d.ios, wall,
	    self_cpu() - c0);
	disk_queue_close(d.q);
	uv_run(&loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&loop);
	free(d.buf);
}

/* Writes every block once, so no measured write is the memory disk's first touch of a
 * page (the page fault and zeroing would be measured instead of the I/O path). */
static void precondition_direct(struct disk *disk)
{
	uv_loop_t loop;
	struct disk_queue *q;
	struct disk_req r;
	struct iovec iov;
	uint8_t *buf = calloc(1, 256 * 1024);
	bool done = false;
	ASSERT_TRUE(buf != NULL);
	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(disk_queue_open(disk, &loop, &q));
	for (uint64_t lba = 0; lba < DISK_BLOCKS; lba += 512) {
		iov = (struct iovec){buf, 256 * 1024};
		r = (struct disk_req){.op = DISK_OP_WRITE,
				      .lba = lba,
				      .nblocks = 512,
				      .iov = &iov,
				      .iovcnt = 1,
				      .done = precondition_done,
				      .opaque = &done};
		done = false;
		ASSERT_OK(disk_submit(q, &r));
		while (!done)
			uv_run(&loop, UV_RUN_ONCE);
	}
	disk_queue_close(q);
	uv_run(&loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&loop);
	free(buf);
}

static void precondition_vmbus(struct sim_stor *s)
{
	uint64_t pfns[64];
	struct sim_srb srb;
	struct storvsp_packet a;
	for (unsigned i = 0; i < 64; i++)
		pfns[i] = DATA_PFN + i;
	for (uint64_t lba = 0; lba < DISK_BLOCKS; lba += 512) {
		sim_srb_rw16(&srb, true, lba, 512);
		srb.len = 256 * 1024;
		srb.byte_offset = 0;
		srb.pfns = pfns;
		srb.npfns = 64;
		srb.lun = 0;
		ASSERT_OK(sim_stor_exec(s, 1, &srb, &a));
		ASSERT_EQ(a.srb.srb_status, STORVSP_SRB_SUCCESS);
	}
}

int main(int argc, char **argv)
{
	static const unsigned qds[] = {1, 32, 128};
	static char servers[1024];
	struct sim_env e;
	struct chan_load *ch;

	if (argc < 9 || argc > 10) {
		fprintf(
		    stderr,
		    "usage: %s INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC STORAGED_DIR DIAGD_DIR MHCL "
		    "[SECONDS]\n",
		    argv[0]);
		return 2;
	}
	if (argc == 10)
		secs = atof(argv[9]);
	mhcl_cli = argv[8];
	static char libexec[1024];
	snprintf(libexec, sizeof(libexec), "%s:%s", argv[6], argv[7]);
	samples = malloc(sizeof(*samples) * MAX_SAMPLES);
	ch = calloc(MAX_CH, sizeof(*ch));
	ASSERT_TRUE(samples && ch);
	sim_env_init(argv + 1);
	snprintf(
	    servers, sizeof(servers),
	    "storage { binary = \"mhcl-storaged\"; args = \"--vmbus-socket\","
	    " \"${RUN}/dev.sock\", \"--disk\", \"memory=256M\"; policy = \"storaged\";"
	    " restart = \"always\"; restart-delay-ms = <10>; start-order = <25>; prestart; };\n"
	    "diag { binary = \"mhcl-diagd\"; args = \"--unix\", \"${RUN}/diag.sock\";"
	    " policy = \"diagd\"; restart = \"never\"; start-order = <5>; control; };\n");
	sim_env_extra_servers = servers;
	sim_env_extra_libexec = libexec;

	printf("| path | channels | QD | workload | IOPS | server CPU (cores) | IOPS per server "
	       "core | p50 us | p99 us |\n|---|---|---|---|---|---|---|---|---|\n");
	struct disk *mem;
	ASSERT_OK(disk_mem_open(256u << 20, 512, &mem));
	precondition_direct(mem);
	for (unsigned w = 0; w < 2 && !getenv("MHCL_BENCH_ROW"); w++)
		for (unsigned i = 0; i < 3; i++)
			run_direct(mem, qds[i], w == 1);
	disk_close(mem);

	static const struct hv_guid type = STORVSP_SCSI_CLASS;
	bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	if (two)
		pin_to(0); /* init and the servers inherit it */
	sim_env_start(&e);
	if (two) {
		pin_to(1);
		/* The sim worker relays interrupts for the worker's VPs and KVM's irqfd, which
		 * run on the guest's CPUs: it joins the guest. */
		(void)sim_env_pin_pid(sim_env_child(e.init, "mhcl-vp-sim"), 1);
	}
	const struct vmbus_msg_offer_channel *o = sim_guest_find_offer(e.g, &type);
	ASSERT_TRUE(o != NULL);
	ASSERT_OK(sim_stor_open(e.g, o, RING_PFN, 2 * RING_PAGES, RING_PAGES, &ch[0].s));
	ASSERT_EQ(sim_stor_init(&ch[0].s), STORVSP_VERSION_WIN10);
	struct vmbus_msg_offer_channel sub;
	ASSERT_OK(sim_stor_subchannels(&ch[0].s, 1, &sub));
	ASSERT_OK(sim_stor_open(e.g, &sub, RING_PFN + 2 * RING_PAGES, 2 * RING_PAGES, RING_PAGES,
				&ch[1].s));
	ch[1].s.version = ch[0].s.version;
	precondition_vmbus(&ch[0].s);
	pid_t server = sim_env_child(e.init, "mhcl-storaged");
	ASSERT_GT(server, 0);
	/* MHCL_BENCH_ROW=read|write:CHANNELS:QD runs that one polling row alone (for a
	 * profiler), SECONDS long; =restart:N or =kill:N runs that event's row N times (the kills
	 * one after another: storaged backs off longer each time, 10 ms doubling, and is given up
	 * after its crash-loop-limit, 5). */
	const char *only = getenv("MHCL_BENCH_ROW");
	unsigned times;
	char ev[8];
	if (only && sscanf(only, "%7[a-z]:%u", ev, &times) == 2 && times >= 1 &&
	    (strcmp(ev, "restart") == 0 || strcmp(ev, "kill") == 0)) {
		vmbus_ring_mask_interrupts(&ch[0].s.ch.in);
		for (unsigned i = 0; i < times; i++)
			run_vmbus_ev(&e, ch, 1, 32, false, server,
				     ev[0] == 'r' ? EV_RESTART : EV_KILL, true);
		sim_env_stop(&e);
		return 0;
	}
	if (only) {
		char op[8];
		unsigned n, qd;
		ASSERT_EQ(sscanf(only, "%7[a-z]:%u:%u", op, &n, &qd), 3);
		ASSERT_TRUE(n >= 1 && n <= MAX_CH && qd >= 1 && qd <= MAX_QD);
		run_vmbus(&e, ch, n, qd, strcmp(op, "write") == 0, server, true);
		sim_env_stop(&e);
		return 0;
	}
	for (unsigned w = 0; w < 2; w++)
		for (unsigned n = 1; n <= MAX_CH; n++)
			for (unsigned i = 0; i < 3; i++)
				run_vmbus(&e, ch, n, qds[i], w == 1, server, true);
	/* What the sim transport's interrupt relay (two processes and a socket) adds. */
	for (unsigned i = 0; i < 3; i++)
		run_vmbus(&e, ch, 1, qds[i], false, server, false);
	printf("\n| event during QD 32 random reads (guest polls) | longest I/O pause across the "
	       "event (ms) | longest pause later in the row (ms) | longest pause before the event "
	       "(ms) | failed I/Os | I/Os completed |\n|---|---|---|---|---|---|\n");
	vmbus_ring_mask_interrupts(&ch[0].s.ch.in);
	run_vmbus_ev(&e, ch, 1, 32, false, server, EV_RESTART, true);
	run_vmbus_ev(&e, ch, 1, 32, false, server, EV_KILL, true);
	sim_env_stop(&e);
	return 0;
}
