/* SPDX-License-Identifier: MIT */
/*
 * init/config.c: good manifests parse to the values written (and defaults),
 * malformed ones fail with a message naming the node and the property.
 * Manifests are compiled with dtc at test time; a few byte-level corruptions
 * are made on the compiled tree.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "test.h"

static char tmpdir[64];

static size_t compile(const char *dts, uint8_t *buf, size_t len)
{
	char src[128], dst[128], cmd[512];
	const char *dtc = getenv("MHCL_DTC") ? getenv("MHCL_DTC") : "dtc";

	snprintf(src, sizeof(src), "%s/m.dts", tmpdir);
	snprintf(dst, sizeof(dst), "%s/m.dtb", tmpdir);
	FILE *f = fopen(src, "w");
	ASSERT_TRUE(f);
	fputs(dts, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s -q -I dts -O dtb -o %s %s", dtc, dst, src);
	ASSERT_OK(system(cmd));
	f = fopen(dst, "rb");
	ASSERT_TRUE(f);
	size_t n = fread(buf, 1, len, f);
	fclose(f);
	return n;
}

#define HEAD "/dts-v1/; / { mhcl { manifest { compatible = \"mhcl,manifest-v1\";\n"
#define TAIL "}; }; };\n"

static int parse(const char *dts, struct manifest **ret, char *err, size_t err_len)
{
	static uint8_t buf[MANIFEST_DTB_MAX];
	size_t n = compile(dts, buf, sizeof(buf));
	return manifest_parse(buf, n, "/run/x", ret, err, err_len);
}

static void expect_error(const char *dts, int code, const char *needle1, const char *needle2)
{
	struct manifest *m = NULL;
	char err[512] = "";
	int r = parse(dts, &m, err, sizeof(err));
	if (r != code || !strstr(err, needle1) || (needle2 && !strstr(err, needle2)))
		TEST_FAIL_("want %d mentioning '%s'/'%s', got %d: %s\nfor:\n%s", code, needle1,
			   needle2 ? needle2 : "", r, err, dts);
	ASSERT_TRUE(m == NULL);
}

static void test_good(void)
{
	struct manifest *m = NULL;
	char err[512] = "";
	int r =
	    parse(HEAD "b { binary = \"mhcl-diagd\"; args = \"--unix\", \"${RUN}/diag.sock\", \"\","
		       " \"a${RUN}b${RUN}\"; policy = \"diagd\"; restart = \"always\";"
		       " start-order = <10>; control; namespaces = \"ipc\", \"uts\";"
		       " rlimit-nofile = <64>; ready-timeout-ms = <100>; restart-delay-ms = <20>;"
		       " restart-delay-max-ms = <400>; crash-loop-limit = <3>;"
		       " crash-loop-window-ms = <1000>; stop-timeout-ms = <50>; };\n"
		       "a { binary = \"mhcl-testd\"; policy = \"diagd\"; };\n"
		       "c { binary = \"x\"; policy = \"diagd\"; start-order = <5>;"
		       " restart = \"never\"; restart-delay-ms = <5000>; };\n" TAIL,
		  &m, err, sizeof(err));
	if (r < 0)
		TEST_FAIL_("parse failed: %s", err);
	ASSERT_EQ(m->nservers, 3);
	/* Sorted by start-order: c (5), b (10), a (default 100). */
	ASSERT_STREQ(m->servers[0].name, "c");
	ASSERT_STREQ(m->servers[1].name, "b");
	ASSERT_STREQ(m->servers[2].name, "a");
	const struct srv_conf *b = &m->servers[1];
	ASSERT_STREQ(b->binary, "mhcl-diagd");
	ASSERT_EQ(b->nargs, 4);
	ASSERT_STREQ(b->args[1], "/run/x/diag.sock");
	ASSERT_STREQ(b->args[2], "");
	ASSERT_STREQ(b->args[3], "a/run/xb/run/x");
	ASSERT_TRUE(b->args[4] == NULL);
	ASSERT_STREQ(b->policy, "diagd");
	ASSERT_EQ(b->restart, RESTART_ALWAYS);
	ASSERT_TRUE(b->control);
	ASSERT_EQ(b->rlimit_nofile, 64);
	ASSERT_EQ(b->ready_timeout_ms, 100);
	ASSERT_EQ(b->restart_delay_ms, 20);
	ASSERT_EQ(b->restart_delay_max_ms, 400);
	ASSERT_EQ(b->crash_loop_limit, 3);
	ASSERT_EQ(b->crash_loop_window_ms, 1000);
	ASSERT_EQ(b->stop_timeout_ms, 50);
	ASSERT_TRUE(b->namespaces != 0);
	const struct srv_conf *a = &m->servers[2];
	ASSERT_FALSE(a->control);
	ASSERT_EQ(a->nargs, 0);
	ASSERT_EQ(a->restart, RESTART_ON_FAILURE);
	ASSERT_EQ(a->start_order, 100);
	ASSERT_EQ(a->ready_timeout_ms, 5000);
	ASSERT_EQ(a->crash_loop_limit, 5);
	/* A delay above the default maximum lifts the maximum with it. */
	ASSERT_EQ(m->servers[0].restart_delay_max_ms, 30000);
	ASSERT_EQ(m->servers[0].restart, RESTART_NEVER);
	ASSERT_TRUE(m->dtb && m->dtb_len > 0);
	manifest_free(m);

	/* An empty manifest is valid. */
	ASSERT_OK(parse(HEAD TAIL, &m, err, sizeof(err)));
	ASSERT_EQ(m->nservers, 0);
	manifest_free(m);
}

/* Hosted init reads isolation from its --dtb's /chosen, like the boot tree's. */
static void test_isolated(void)
{
	struct manifest *m = NULL;
	char err[512] = "";

	ASSERT_OK(parse(HEAD "a { binary = \"mhcl-testd\"; policy = \"diagd\"; };\n" TAIL, &m, err,
			sizeof(err)));
	ASSERT_FALSE(m->isolated);
	manifest_free(m);
	m = NULL;
	ASSERT_OK(parse("/dts-v1/; / { chosen { mhcl,isolated; }; mhcl { manifest {"
			" compatible = \"mhcl,manifest-v1\";"
			" a { binary = \"mhcl-testd\"; policy = \"diagd\"; };\n" TAIL,
			&m, err, sizeof(err)));
	ASSERT_TRUE(m->isolated);
	manifest_free(m);
}

/* user, group, groups, capabilities, device-files and the run group. */
static void test_identity(void)
{
	struct manifest *m = NULL;
	char err[512] = "";

	ASSERT_OK(parse(HEAD
			"run-group = <400>;\n"
			"a { binary = \"mhcl-testd\"; policy = \"diagd\"; user = <410>;"
			" groups = <400 401>; capabilities = \"ipc_lock\", \"net_admin\";"
			" device-files = \"/dev/kvm\", \"${RUN}/d*\", \"pci:0000:00:05.0\"; };\n"
			"b { binary = \"mhcl-testd\"; policy = \"diagd\"; group = <412>;"
			" user = <411>; };\n"
			"c { binary = \"mhcl-testd\"; policy = \"diagd\"; };\n" TAIL,
			&m, err, sizeof(err)));
	ASSERT_TRUE(m->have_run_group);
	ASSERT_EQ(m->run_group, 400);
	const struct srv_conf *a = &m->servers[0], *b = &m->servers[1], *c = &m->servers[2];
	ASSERT_TRUE(a->have_user);
	ASSERT_EQ(a->uid, 410);
	ASSERT_EQ(a->gid, 410); /* defaults to the uid */
	ASSERT_EQ(a->ngroups, 2);
	ASSERT_EQ(a->groups[1], 401);
	ASSERT_EQ(a->caps, (1ull << 14) | (1ull << 12)); /* CAP_IPC_LOCK, CAP_NET_ADMIN */
	ASSERT_EQ(a->ndevice_files, 3);
	ASSERT_STREQ(a->device_files[1], "/run/x/d*");
	ASSERT_STREQ(a->device_files[2], "pci:0000:00:05.0");
	ASSERT_EQ(b->uid, 411);
	ASSERT_EQ(b->gid, 412); /* 'group' wins whatever the order */
	ASSERT_FALSE(c->have_user);
	ASSERT_EQ(c->caps, 0);
	manifest_free(m);

#define SRV(props) HEAD "a { binary = \"mhcl-testd\"; policy = \"diagd\"; " props " };\n" TAIL
	expect_error(SRV("user = <0>;"), -EINVAL, "'user'", "[1, 65534]");
	expect_error(SRV("user = <65535>;"), -EINVAL, "'user'", NULL);
	expect_error(SRV("user = <1 2>;"), -EINVAL, "'user'", NULL);
	expect_error(SRV("user = \"root\";"), -EINVAL, "'user'", NULL);
	expect_error(SRV("user = <5>; groups = <1 2 3 4 5 6 7 8 9>;"), -EINVAL, "'groups'", NULL);
	expect_error(SRV("user = <5>; capabilities = \"cap_sys_admin\";"), -EINVAL,
		     "unknown capability 'cap_sys_admin'", NULL);
	expect_error(SRV("user = <5>; device-files = \"dev/kvm\";"), -EINVAL, "'dev/kvm'", NULL);
	expect_error(SRV("user = <5>; device-files = \"/dev/../etc/shadow\";"), -EINVAL,
		     "'device-files'", NULL);
	expect_error(SRV("user = <5>; device-files = \"pci:0000:00:05\";"), -EINVAL,
		     "pci:DDDD:BB:DD.F", NULL);
	expect_error(SRV("group = <5>;"), -EINVAL, "need 'user'", NULL);
	expect_error(SRV("device-files = \"/dev/kvm\";"), -EINVAL, "need 'user'", NULL);
	expect_error(HEAD "run-group = <0>;\n" TAIL, -EINVAL, "'run-group'", NULL);
#undef SRV
}

static void test_bad(void)
{
	expect_error("/dts-v1/; / { };", -EINVAL, "/mhcl/manifest", NULL);
	expect_error("/dts-v1/; / { mhcl { manifest { compatible = \"other\"; }; }; };", -EINVAL,
		     "compatible", NULL);
	expect_error(HEAD "x = <1>;" TAIL, -EINVAL, "unknown property 'x'", NULL);
	expect_error(HEAD "s { policy = \"diagd\"; };" TAIL, -EINVAL, "s:", "'binary' is missing");
	expect_error(HEAD "s { binary = \"b\"; };" TAIL, -EINVAL, "s:", "'policy' is missing");
	expect_error(HEAD "s { binary = \"b\"; policy = \"nope\"; };" TAIL, -EINVAL,
		     "s:", "no seccomp profile 'nope'");
	expect_error(HEAD "s { binary = \"../b\"; policy = \"diagd\"; };" TAIL, -EINVAL, "'binary'",
		     NULL);
	expect_error(HEAD "s { binary = \"b\", \"c\"; policy = \"diagd\"; };" TAIL, -EINVAL,
		     "'binary'", NULL);
	expect_error(HEAD "s { binary = <1>; policy = \"diagd\"; };" TAIL, -EINVAL, "'binary'",
		     NULL);
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; bogus; };" TAIL, -EINVAL,
		     "s: unknown property 'bogus'", NULL);
	expect_error(HEAD
		     "s { binary = \"b\"; policy = \"diagd\"; restart = \"sometimes\"; };" TAIL,
		     -EINVAL, "s:", "'restart'");
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; start-order = \"1\"; };" TAIL,
		     -EINVAL, "s:", "'start-order'");
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; start-order = <1 2>; };" TAIL,
		     -EINVAL, "s:", "'start-order'");
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; crash-loop-limit = <0>; };" TAIL,
		     -EINVAL, "'crash-loop-limit' = 0 is out of range", NULL);
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; restart-delay-ms = <1>; };" TAIL,
		     -EINVAL, "'restart-delay-ms'", NULL);
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; restart-delay-ms = <500>;"
			  " restart-delay-max-ms = <100>; };" TAIL,
		     -EINVAL, "'restart-delay-max-ms' is below", NULL);
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; control = <1>; };" TAIL, -EINVAL,
		     "'control' takes no value", NULL);
	expect_error(HEAD
		     "s { binary = \"b\"; policy = \"diagd\"; stop-all-on-exit = \"y\"; };" TAIL,
		     -EINVAL, "'stop-all-on-exit' takes no value", NULL);
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; namespaces = \"pid\"; };" TAIL,
		     -EINVAL, "unknown namespace 'pid'", NULL);
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; args = \"a\\tb\"; };" TAIL,
		     -EINVAL, "'args'", NULL);
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; sub { }; };" TAIL, -EINVAL,
		     "s: unexpected subnode 'sub'", NULL);
	expect_error(HEAD "Bad { binary = \"b\"; policy = \"diagd\"; };" TAIL, -EINVAL,
		     "'Bad' is invalid", NULL);
	expect_error(HEAD "init { binary = \"b\"; policy = \"diagd\"; };" TAIL, -EINVAL, "reserved",
		     NULL);

	/* Too many args: 33 strings. */
	char dts[4096] = HEAD "s { binary = \"b\"; policy = \"diagd\"; args = \"0\"";
	for (int i = 1; i <= MANIFEST_ARGS_MAX; i++)
		strcat(dts, ", \"a\"");
	strcat(dts, "; };" TAIL);
	expect_error(dts, -EINVAL, "'args' must be a list of at most", NULL);

	/* Too many servers. */
	char *many = malloc(64 * 1024);
	strcpy(many, HEAD);
	for (int i = 0; i <= MANIFEST_SERVERS_MAX; i++)
		sprintf(many + strlen(many), "s%d { binary = \"b\"; policy = \"diagd\"; };\n", i);
	strcat(many, TAIL);
	expect_error(many, -E2BIG, "servers, at most", NULL);
	free(many);
}

static void test_corrupt(void)
{
	static uint8_t buf[MANIFEST_DTB_MAX];
	struct manifest *m = NULL;
	char err[256];
	size_t n =
	    compile(HEAD "s { binary = \"b\"; policy = \"diagd\"; };" TAIL, buf, sizeof(buf));

	ASSERT_EQ(manifest_parse(buf, 10, "/r", &m, err, sizeof(err)), -E2BIG);
	ASSERT_EQ(manifest_parse(buf, MANIFEST_DTB_MAX + 1, "/r", &m, err, sizeof(err)), -E2BIG);
	/* Truncated: the header's totalsize no longer fits. */
	ASSERT_EQ(manifest_parse(buf, n - 8, "/r", &m, err, sizeof(err)), -EBADMSG);
	ASSERT_TRUE(strstr(err, "not a valid device tree"));
	/* Bad magic. */
	buf[0] ^= 0xff;
	ASSERT_EQ(manifest_parse(buf, n, "/r", &m, err, sizeof(err)), -EBADMSG);
	buf[0] ^= 0xff;
	/* A property value's terminating NUL overwritten: unterminated string. */
	uint8_t *v = memmem(buf, n, "diagd", 6);
	ASSERT_TRUE(v);
	v[5] = 'x';
	ASSERT_EQ(manifest_parse(buf, n, "/r", &m, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strstr(err, "'policy'"));
	ASSERT_TRUE(m == NULL);
}

/* ${GUEST_VPS} and ${GUEST_MEMORY_MIB} in args: the host's value, else the default;
 * ${GUEST_DATA_DISK} once per data disk. */
static void test_vars(void)
{
	static uint8_t buf[MANIFEST_DTB_MAX];
	struct manifest *m = NULL;
	char err[512] = "";
	size_t n =
	    compile(HEAD "vp { binary = \"b\"; policy = \"vp\"; args = \"--cpus\", "
			 "\"${GUEST_VPS:-2}\", \"${GUEST_MEMORY_MIB:-256}M\", \"${RUN}\"; };" TAIL,
		    buf, sizeof(buf));
	ASSERT_OK(manifest_parse(buf, n, "/run/x", &m, err, sizeof(err)));
	ASSERT_STREQ(m->servers[0].args[1], "2");
	ASSERT_STREQ(m->servers[0].args[2], "256M");
	ASSERT_STREQ(m->servers[0].args[3], "/run/x");
	manifest_free(m);
	const struct manifest_vars v = {.guest_vps = 8, .guest_memory_mib = 1024};
	ASSERT_OK(manifest_parse_vars(buf, n, "/run/x", &v, &m, err, sizeof(err)));
	ASSERT_STREQ(m->servers[0].args[1], "8");
	ASSERT_STREQ(m->servers[0].args[2], "1024M");
	manifest_free(m);

	/* Four data disks: each string naming the disk is there four times; args that
	 * would then pass 32 strings, or device files 16, are refused, not cut short. */
	const struct manifest_vars d = {.guest_data_disks = {"vda", "vdb", "vdc", "vdd"},
					.nguest_data_disks = 4};
	char text[2048];
	int o = snprintf(text, sizeof(text),
			 HEAD "s { binary = \"b\"; policy = \"storaged\"; args = \"-x\"");
	for (int i = 0; i < 7; i++)
		o += snprintf(text + o, sizeof(text) - (size_t)o,
			      ", \"--disk=/dev/${GUEST_DATA_DISK}\"");
	snprintf(text + o, sizeof(text) - (size_t)o,
		 "; user = <406>; device-files = \"/dev/${GUEST_DATA_DISK}\"; };" TAIL);
	n = compile(text, buf, sizeof(buf));
	if (manifest_parse_vars(buf, n, "/run/x", &d, &m, err, sizeof(err)) < 0)
		TEST_FAIL_("four data disks: %s", err);
	ASSERT_EQ(m->servers[0].nargs, 29);
	ASSERT_STREQ(m->servers[0].args[1], "--disk=/dev/vda");
	ASSERT_STREQ(m->servers[0].args[4], "--disk=/dev/vdd");
	ASSERT_STREQ(m->servers[0].args[28], "--disk=/dev/vdd");
	ASSERT_EQ(m->servers[0].ndevice_files, 4);
	ASSERT_STREQ(m->servers[0].device_files[3], "/dev/vdd");
	manifest_free(m);
	snprintf(text + o, sizeof(text) - (size_t)o,
		 ", \"--disk=/dev/${GUEST_DATA_DISK}\"; };" TAIL);
	n = compile(text, buf, sizeof(buf));
	m = NULL;
	ASSERT_EQ(manifest_parse_vars(buf, n, "/run/x", &d, &m, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strstr(err, "no room for 4 strings, one per value of its list"));
	ASSERT_TRUE(m == NULL);

	/* A list the host left empty: the string's default once, or nothing without one;
	 * two lists in one string are refused. */
	n = compile(
	    HEAD "s { binary = \"b\"; policy = \"storaged\"; args = \"-x\", "
		 "\"--disk=nvme=${GUEST_NVME},nsid=1\", \"--disk=/dev/${GUEST_DATA_DISK:-vdb}\", "
		 "\"-y\"; user = <406>; device-files = \"pci:${GUEST_NVME}\"; };" TAIL,
	    buf, sizeof(buf));
	m = NULL;
	ASSERT_OK(manifest_parse(buf, n, "/run/x", &m, err, sizeof(err)));
	ASSERT_EQ(m->servers[0].nargs, 3);
	ASSERT_STREQ(m->servers[0].args[1], "--disk=/dev/vdb");
	ASSERT_STREQ(m->servers[0].args[2], "-y");
	ASSERT_EQ(m->servers[0].ndevice_files, 0);
	manifest_free(m);
	const struct manifest_vars nv = {.guest_nvme = {"0000:00:05.0", "0000:01:00.0"},
					 .nguest_nvme = 2};
	m = NULL;
	ASSERT_OK(manifest_parse_vars(buf, n, "/run/x", &nv, &m, err, sizeof(err)));
	ASSERT_EQ(m->servers[0].nargs, 5);
	ASSERT_STREQ(m->servers[0].args[1], "--disk=nvme=0000:00:05.0,nsid=1");
	ASSERT_STREQ(m->servers[0].args[2], "--disk=nvme=0000:01:00.0,nsid=1");
	ASSERT_STREQ(m->servers[0].args[3], "--disk=/dev/vdb");
	ASSERT_EQ(m->servers[0].ndevice_files, 2);
	ASSERT_STREQ(m->servers[0].device_files[1], "pci:0000:01:00.0");
	manifest_free(m);
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; "
			  "args = \"${GUEST_NVME}${GUEST_DATA_DISK}\"; };" TAIL,
		     -EINVAL, "names two lists, ${GUEST_NVME} and ${GUEST_DATA_DISK}", NULL);

	expect_error(HEAD
		     "s { binary = \"b\"; policy = \"diagd\"; args = \"${GUEST_VPS}\"; };" TAIL,
		     -EINVAL, "${GUEST_VPS} is not set and has no default", NULL);
	expect_error(HEAD "s { binary = \"b\"; policy = \"diagd\"; args = \"${HOME:-/}\"; };" TAIL,
		     -EINVAL, "unknown variable '${HOME}'", NULL);
	/* A NIC's number exists only in a per-nic server, whose name leaves room for it. */
	expect_error(HEAD
		     "s { binary = \"b\"; policy = \"diagd\"; args = \"${NIC_INDEX}\"; };" TAIL,
		     -EINVAL, "${NIC_INDEX} is not set and has no default", NULL);
	struct manifest_vars two = {.nguest_nic_macs = 2};
	n = compile(HEAD "abcdefghijklmnopqrstuvwxyz01234 { binary = \"b\"; policy = \"diagd\"; "
			 "per-nic; };" TAIL,
		    buf, sizeof(buf));
	ASSERT_EQ(manifest_parse_vars(buf, n, "/run/x", &two, &m, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strstr(err, "too long a name for a per-nic server"));
	/* Each server its own uid: two sharing one are refused, and so is a per-nic server
	 * whose second NIC's uid (user + 1) is another's. */
	expect_error(HEAD "a { binary = \"b\"; policy = \"diagd\"; user = <410>; };\n"
			  "b { binary = \"b\"; policy = \"diagd\"; user = <410>; };" TAIL,
		     -EINVAL, "a and b are both user 410 (each needs its own)", NULL);
	n = compile(HEAD "net { binary = \"b\"; policy = \"netd\"; user = <407>; per-nic; };\n"
			 "other { binary = \"b\"; policy = \"diagd\"; user = <408>; };" TAIL,
		    buf, sizeof(buf));
	ASSERT_OK(manifest_parse(buf, n, "/run/x", &m, err, sizeof(err))); /* one NIC */
	manifest_free(m);
	ASSERT_EQ(manifest_parse_vars(buf, n, "/run/x", &two, &m, err, sizeof(err)), -EINVAL);
	ASSERT_TRUE(strstr(err, "both user 408"));
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mhcl-config-XXXXXX");
	ASSERT_TRUE(mkdtemp(tmpdir));
	test_good();
	test_isolated();
	test_identity();
	test_bad();
	test_corrupt();
	test_vars();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)!system(cmd);
	return 0;
}
