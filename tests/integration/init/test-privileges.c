/* SPDX-License-Identifier: MIT */
/*
 * Least privilege end to end: servers run as the uid, gid and groups their
 * manifest entry names, with exactly the capabilities it names (none by default,
 * also for a server left as root), before and after a restart; a server enters its
 * jail without them unless it asks to keep them (storaged's ipc_lock); init hands
 * the named device files to the server's uid and the run dir to the run group.
 * Read from /proc/PID/status of the running servers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

static char devdir[64];
static char libexec[64], testd_copy[96];

/*
 * The servers here run as uids 4242 and 4244, which must reach mhcl-testd: a checkout
 * under a private directory (a 0700 home, mktemp -d) would stop them at exec. The test
 * runs a copy from a directory anyone can search.
 */
static void libexec_for_all(void)
{
	char src[512];
	const char *dir = getenv("MHCL_LIBEXEC");
	ASSERT_TRUE(dir != NULL);
	snprintf(src, sizeof(src), "%s/mhcl-testd", dir);
	snprintf(libexec, sizeof(libexec), "/tmp/mhcl-libexec-XXXXXX");
	ASSERT_TRUE(mkdtemp(libexec));
	ASSERT_OK(chmod(libexec, 0755));
	snprintf(testd_copy, sizeof(testd_copy), "%s/mhcl-testd", libexec);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(testd_copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	ASSERT_GE(in, 0);
	ASSERT_GE(out, 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ASSERT_EQ(write(out, buf, (size_t)n), n);
	ASSERT_EQ(n, 0);
	close(in);
	ASSERT_OK(close(out));
	ASSERT_OK(setenv("MHCL_LIBEXEC", libexec, 1));
}

static void libexec_remove(void)
{
	if (testd_copy[0])
		(void)unlink(testd_copy);
	if (libexec[0])
		(void)rmdir(libexec);
}

/* The value of "Key:" in /proc/PID/status, whitespace squeezed to one space. */
static void status_field(int pid, const char *key, char *out, size_t out_len)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	ASSERT_TRUE(f);
	out[0] = '\0';
	size_t kl = strlen(key);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, kl) != 0 || line[kl] != ':')
			continue;
		size_t o = 0;
		bool space = true;
		for (const char *p = line + kl + 1; *p && *p != '\n' && o + 1 < out_len; p++) {
			bool s = *p == ' ' || *p == '\t';
			if (s && space)
				continue;
			out[o++] = s ? ' ' : *p;
			space = s;
		}
		while (o && out[o - 1] == ' ')
			o--;
		out[o] = '\0';
	}
	fclose(f);
}

static void expect_status(int pid, const char *key, const char *want)
{
	char got[256];
	status_field(pid, key, got, sizeof(got));
	if (strcmp(got, want) != 0)
		TEST_FAIL_("pid %d %s: want '%s', got '%s'", pid, key, want, got);
}

/* CAP_NET_BIND_SERVICE (10) and CAP_NET_RAW (13). */
#define CONFINED_CAPS "0000000000002400"
#define NO_CAPS "0000000000000000"

static void check_confined(int pid)
{
	expect_status(pid, "Uid", "4242 4242 4242 4242");
	expect_status(pid, "Gid", "4243 4243 4243 4243");
	expect_status(pid, "Groups", "4300 4301");
	expect_status(pid, "CapEff", CONFINED_CAPS);
	expect_status(pid, "CapPrm", CONFINED_CAPS);
	expect_status(pid, "CapAmb", CONFINED_CAPS);
	expect_status(pid, "CapBnd", CONFINED_CAPS);
	expect_status(pid, "NoNewPrivs", "1");
}

int main(void)
{
	struct ctl *c = NULL;
	ProtobufCMessage *m = NULL;
	char err[256], path[128];

	libexec_for_all();
	atexit(libexec_remove);
	snprintf(devdir, sizeof(devdir), "/tmp/mhcl-devfiles-XXXXXX");
	ASSERT_TRUE(mkdtemp(devdir));
	static const char *const files[] = {"dev0", "dev1", "other"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", devdir, files[i]);
		FILE *f = fopen(path, "w");
		ASSERT_TRUE(f);
		fclose(f);
	}

	static char manifest[2048];
	snprintf(manifest, sizeof(manifest),
		 MANIFEST_HEAD "run-group = <4300>;\n" CTL_SERVER
			       "confined { binary = \"mhcl-testd\"; args = \"--keep-caps\";"
			       " policy = \"diagd\";"
			       " start-order = <2>; restart-delay-ms = <20>; user = <4242>;"
			       " group = <4243>; groups = <4300 4301>;"
			       " capabilities = \"net_bind_service\", \"net_raw\";"
			       " device-files = \"%s/dev*\"; };\n"
			       "plain { binary = \"mhcl-testd\"; policy = \"diagd\";"
			       " start-order = <3>; user = <4244>; groups = <4300>;"
			       " capabilities = \"net_raw\"; };\n"
			       "rootish { binary = \"mhcl-testd\"; policy = \"diagd\";"
			       " start-order = <4>; };\n" MANIFEST_TAIL,
		 devdir);

	itest_start(manifest, NULL, NULL);
	ASSERT_OK(ctl_connect(itest_proc.sock, &c));
	ASSERT_TRUE(ctl_wait_state(c, "rootish", "running", -1));
	int confined = ctl_pid(c, "confined"), plain = ctl_pid(c, "plain"),
	    rootish = ctl_pid(c, "rootish");
	ASSERT_GT(confined, 0);
	check_confined(confined);
	expect_status(plain, "Uid", "4244 4244 4244 4244");
	expect_status(plain, "Gid", "4244 4244 4244 4244");
	expect_status(plain, "Groups", "4300");
	/* Granted net_raw for its set-up, it entered its jail without it. */
	expect_status(plain, "CapEff", NO_CAPS);
	expect_status(plain, "CapPrm", NO_CAPS);
	expect_status(plain, "CapAmb", NO_CAPS);
	expect_status(plain, "CapBnd", "0000000000002000");
	/* Left as root by its manifest: still without a single capability. */
	expect_status(rootish, "Uid", "0 0 0 0");
	expect_status(rootish, "CapEff", NO_CAPS);
	expect_status(rootish, "CapPrm", NO_CAPS);
	expect_status(rootish, "CapBnd", NO_CAPS);

	/* The device files the glob names are the confined server's, nothing else. */
	struct stat st;
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/dev%d", devdir, i);
		ASSERT_OK(stat(path, &st));
		ASSERT_EQ(st.st_uid, 4242);
	}
	snprintf(path, sizeof(path), "%s/other", devdir);
	ASSERT_OK(stat(path, &st));
	ASSERT_EQ(st.st_uid, 0);
	ASSERT_TRUE(ctl_logs_contain(c, "confined", "handed "));
	/* Who each runs as, in init's inspect tree. */
	ASSERT_EQ(ctl_inspect_u64(c, "init", "servers/confined/uid"), 4242);
	char *caps = ctl_inspect_str(c, "init", "servers/confined/capabilities");
	ASSERT_STREQ(caps, "net_bind_service net_raw");
	free(caps);
	caps = ctl_inspect_str(c, "init", "servers/rootish/capabilities");
	ASSERT_STREQ(caps, "");
	free(caps);
	ASSERT_EQ(ctl_inspect_u64(c, "init", "servers/rootish/uid"), 0);
	/* The run dir: the run group's, setgid and sticky, listable by nobody else. */
	ASSERT_OK(stat(itest_proc.dir, &st));
	ASSERT_EQ(st.st_gid, 4300);
	ASSERT_EQ(st.st_mode & 07777, 03771);

	/* A restarted instance comes back with the same identity. */
	Mhcl__KillRequest kq = MHCL__KILL_REQUEST__INIT;
	kq.server = (char *)"confined";
	kq.fault = MHCL__FAULT_KIND__FAULT_ABORT;
	ASSERT_OK(
	    ctl_call(c, IPC_MSG_KILL, &kq.base, &mhcl__empty__descriptor, &m, err, sizeof(err)));
	protobuf_c_message_free_unpacked(m, NULL);
	ASSERT_TRUE(ctl_wait_state(c, "confined", "running", 1));
	int again = ctl_pid(c, "confined");
	ASSERT_NE(again, confined);
	check_confined(again);
	ctl_close(c);

	int st2 = init_proc_stop(&itest_proc);
	ASSERT_TRUE(WIFEXITED(st2));
	ASSERT_EQ(WEXITSTATUS(st2), 0);
	snprintf(path, sizeof(path), "rm -rf %s", devdir);
	(void)!system(path);
	itest_pass();
	return 0;
}
