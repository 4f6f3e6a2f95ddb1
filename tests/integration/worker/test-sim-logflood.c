/* SPDX-License-Identifier: MIT */
/*
 * A guest cannot flood the logs: through the sim backend against the real servers
 * (mhcl-init, mhcl-vmbusd, mhcl-icd, mhcl-diagd, mhcl-vp-sim), the test plays a guest that
 * posts thousands of messages the control plane drops (an unknown VMBus type) and
 * thousands the SynIC refuses (message type 0). Valid posts are not logged at all (no
 * per-message trace by default); each refusal is counted, but only a burst of lines and a
 * few more a second reach the log: every refusal is either a log line or counted as
 * suppressed in `mhcl inspect`, exactly, and the lines stay within what the rate allows
 * for the time the flood took. The heartbeat channel works afterwards.
 *
 * Usage: test-sim-logflood INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC DIAGD_DIR MHCL
 */
#include "sim_env.h"

#include "log_limit.h"

#define FLOOD 3000u

static const char *mhcl_cli;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* `mhcl inspect PATH`, the value of `name` in it. */
static uint64_t inspect_u64(struct sim_env *e, const char *path, const char *name)
{
	char out[16384], key[64];

	ASSERT_EQ(sim_env_mhcl(e, mhcl_cli, out, sizeof(out), "inspect", path, (char *)NULL), 0);
	snprintf(key, sizeof(key), "%s: ", name);
	const char *s = strstr(out, key);
	if (!s)
		TEST_FAIL_("no '%s' in `mhcl inspect %s`: %s", name, path, out);
	return strtoull(s + strlen(key), NULL, 10);
}

/* The most lines one limiter lets through in elapsed_ms. */
static uint64_t allowed(uint64_t elapsed_ms)
{
	return LOG_LIMIT_BURST + LOG_LIMIT_PER_SEC * (elapsed_ms / 1000u + 1);
}

/* vmbusd logs this (not rate limited: no guest can cause it) when a second worker
 * connects. Everything vmbusd logged before it is in the log once it is there. */
static void vmbusd_log_barrier(struct sim_env *e, off_t mark)
{
	char path[160];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	snprintf(path, sizeof(path), "%s/vmbus.sock", e->dir);
	ASSERT_LT(strlen(path), sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ASSERT_GE(fd, 0);
	ASSERT_OK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	sim_log_wait(mark, "a second worker connected; refusing it");
	close(fd);
}

static void test_flood(void)
{
	struct sim_env e;
	uint8_t junk[16] = {99}; /* VMBus message type 99: unknown, dropped by vmbusd */
	unsigned posted = 0, refused = 0;

	sim_env_start(&e);
	uint64_t vmbusd_seen = inspect_u64(&e, "vmbus/worker", "guest_messages");
	uint64_t vmbusd_held = inspect_u64(&e, "vmbus/guest_log", "refused_suppressed");
	uint64_t vp_held = inspect_u64(&e, "vp/guest_log", "vps_suppressed");
	uint64_t vmbusd_dropped = inspect_u64(&e, "vmbus/frame/log", "dropped");
	uint64_t vp_dropped = inspect_u64(&e, "vp/frame/log", "dropped");
	off_t mark = sim_log_mark();
	uint64_t start = now_ms();

	while (posted < FLOOD) {
		int st = sim_guest_post(e.g, junk, sizeof(junk));
		if (st == HV_STATUS_SUCCESS)
			posted++;
		else
			ASSERT_EQ(st, HV_STATUS_INSUFFICIENT_BUFFERS); /* vmbusd behind: again */
		st = sim_guest_post_raw(e.g, e.g->msg_conn_id, 0, sizeof(junk), junk, sizeof(junk));
		ASSERT_EQ(st, HV_STATUS_INVALID_PARAMETER);
		refused++;
	}
	/* The worker refused synchronously; vmbusd has taken every post once it counted them. */
	uint64_t vp_ms = now_ms() - start;
	uint64_t vp_suppressed = inspect_u64(&e, "vp/guest_log", "vps_suppressed") - vp_held;
	for (int i = 0; inspect_u64(&e, "vmbus/worker", "guest_messages") < vmbusd_seen + posted;
	     i++) {
		ASSERT_LT(i, 20000);
		nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
	}
	uint64_t vmbusd_ms = now_ms() - start;
	uint64_t vmbusd_suppressed =
	    inspect_u64(&e, "vmbus/guest_log", "refused_suppressed") - vmbusd_held;
	/* The counters include every suppressed line; none was lost to a full log pipe. */
	ASSERT_UEQ(inspect_u64(&e, "vmbus/frame/log", "dropped"), vmbusd_dropped);
	ASSERT_UEQ(inspect_u64(&e, "vp/frame/log", "dropped"), vp_dropped);
	ASSERT_GE(inspect_u64(&e, "vmbus/frame/log", "suppressed"), vmbusd_suppressed);
	vmbusd_log_barrier(&e, mark);

	/* The channel path still works. */
	sim_env_hb_alive(&e, SIM_GUEST_PFN_FREE);
	/* init has copied every server's last line into the log once it has stopped. */
	sim_env_stop(&e);

	uint64_t vmbusd_lines = sim_log_count(mark, "dropped message type 99 (unknown), 16 bytes");
	uint64_t vp_lines = sim_log_count(mark, "HvPostMessage refused with status 0x5");
	fprintf(stderr,
		"vmbusd: %u posts dropped, %llu logged, %llu suppressed (%llu ms); worker: %u "
		"refused, %llu logged, %llu suppressed (%llu ms)\n",
		posted, (unsigned long long)vmbusd_lines, (unsigned long long)vmbusd_suppressed,
		(unsigned long long)vmbusd_ms, refused, (unsigned long long)vp_lines,
		(unsigned long long)vp_suppressed, (unsigned long long)vp_ms);
	ASSERT_UEQ(vmbusd_lines + vmbusd_suppressed, posted);
	ASSERT_LE(vmbusd_lines, allowed(vmbusd_ms));
	ASSERT_GE(vmbusd_lines, LOG_LIMIT_BURST); /* nothing used this limiter before */
	ASSERT_GT(vmbusd_suppressed, 0);
	ASSERT_UEQ(vp_lines + vp_suppressed, refused);
	ASSERT_LE(vp_lines, allowed(vp_ms));
	ASSERT_GT(vp_lines, 0); /* VP 0's "SynIC enabled" took one of its burst */
	ASSERT_GT(vp_suppressed, 0);
	/* Valid posts are not traced unless asked. */
	ASSERT_EQ(sim_log_count(mark, "HvPostMessage VP"), 0);
	/* A line that passes after some were held back says how many. */
	if (vmbusd_lines > LOG_LIMIT_BURST || vp_lines > LOG_LIMIT_BURST)
		ASSERT_TRUE(sim_log_has(mark, "lines suppressed (rate limit)"));
}

int main(int argc, char **argv)
{
	char servers[256], libexec[1024];

	if (argc != 8) {
		fprintf(stderr, "usage: %s INIT VMBUSD_DIR ICD_DIR VP_SIM_DIR DTC DIAGD_DIR MHCL\n",
			argv[0]);
		return 2;
	}
	mhcl_cli = argv[7];
	snprintf(libexec, sizeof(libexec), "%s", argv[6]);
	snprintf(servers, sizeof(servers),
		 "diag { binary = \"mhcl-diagd\"; args = \"--unix\", \"${RUN}/diag.sock\";"
		 " policy = \"diagd\"; restart = \"never\"; start-order = <5>; control; };\n");
	sim_env_extra_servers = servers;
	sim_env_extra_libexec = libexec;
	sim_env_init(argv + 1);
	test_flood();
	fprintf(stderr, "sim log flood: all passed\n");
	return 0;
}
