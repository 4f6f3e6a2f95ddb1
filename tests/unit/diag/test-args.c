/* SPDX-License-Identifier: MIT */
/* Unit tests for tools/mhcl/args.c: transports, options, signals, faults, SERVER/PATH. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "diag.pb-c.h"
#include "macros.h"
#include "mhcl.h"
#include "test.h"

static char errbuf[512];

/* Parses a NULL-terminated vector (argv[0] = "mhcl" is added). */
#define PARSE(env, a, ...)                                                              \
	({                                                                              \
		char *v_[] = {"mhcl", __VA_ARGS__, NULL};                               \
		mhcl_args_parse((int)ARRAY_SIZE(v_) - 1, v_, (env), (a), errbuf,        \
				sizeof(errbuf));                                        \
	})

static void test_targets(void)
{
	struct mhcl_target t;
	char buf[300];

	ASSERT_OK(mhcl_target_parse("unix:/run/mhcl/diag.sock", &t));
	ASSERT_EQ(t.kind, MHCL_TRANSPORT_UNIX);
	ASSERT_STREQ(t.addr, "/run/mhcl/diag.sock");
	ASSERT_OK(mhcl_target_parse("/tmp/x.sock", &t));
	ASSERT_EQ(t.kind, MHCL_TRANSPORT_UNIX);
	ASSERT_OK(mhcl_target_parse("tcp:127.0.0.1:5555", &t));
	ASSERT_EQ(t.kind, MHCL_TRANSPORT_TCP);
	ASSERT_STREQ(t.addr, "127.0.0.1:5555");
	ASSERT_OK(mhcl_target_parse("tcp:[::1]:80", &t));
	ASSERT_STREQ(t.addr, "[::1]:80");
	ASSERT_OK(mhcl_target_parse("vsock:3:5000", &t));
	ASSERT_EQ(t.kind, MHCL_TRANSPORT_VSOCK);
	ASSERT_EQ(t.cid, 3);
	ASSERT_EQ(t.port, 5000);
	mhcl_target_format(&t, buf, sizeof(buf));
	ASSERT_STREQ(buf, "vsock:3:5000");

	ASSERT_EQ(mhcl_target_parse("", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("unix:", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("http://x", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("tcp:127.0.0.1", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("tcp::80", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("tcp:h:0", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("tcp:h:65536", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("tcp:h:-1", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("tcp:h:80x", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("vsock:3", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("vsock:x:1", &t), -EINVAL);
	ASSERT_EQ(mhcl_target_parse("vsock:3:4294967296", &t), -EINVAL);
	{
		char longp[200] = "unix:/";
		memset(longp + 6, 'a', 150);
		ASSERT_EQ(mhcl_target_parse(longp, &t), -ENAMETOOLONG);
	}
}

static void test_globals(void)
{
	struct mhcl_args a;

	/* Defaults: env target, else the built-in one. */
	ASSERT_OK(PARSE(NULL, &a, "ps"));
	ASSERT_STREQ(a.cmd, "ps");
	ASSERT_EQ(a.target.kind, MHCL_TRANSPORT_UNIX);
	ASSERT_STREQ(a.target.addr, "/run/mhcl/diag.sock");
	ASSERT_EQ(a.timeout_ms, MHCL_DEFAULT_TIMEOUT_MS);
	ASSERT_FALSE(a.json);
	ASSERT_OK(PARSE("tcp:127.0.0.1:5555", &a, "ps"));
	ASSERT_EQ(a.target.kind, MHCL_TRANSPORT_TCP);
	ASSERT_EQ(PARSE("bogus", &a, "ps"), -EINVAL);

	/* Options before and after the command; --opt=value and --opt value. */
	ASSERT_OK(PARSE("bogus", &a, "--json", "--socket", "/tmp/s", "inspect", "--timeout=250",
			"diagd/conns"));
	ASSERT_TRUE(a.json);
	ASSERT_EQ(a.timeout_ms, 250);
	ASSERT_STREQ(a.target.addr, "/tmp/s");
	ASSERT_EQ(a.npos, 1);
	ASSERT_STREQ(a.pos[0], "diagd/conns");
	ASSERT_OK(PARSE(NULL, &a, "-j", "-t", "5", "--tcp", "localhost:1", "ps"));
	ASSERT_TRUE(a.json);
	ASSERT_EQ(a.timeout_ms, 5);
	ASSERT_EQ(a.target.kind, MHCL_TRANSPORT_TCP);
	ASSERT_OK(PARSE(NULL, &a, "--vsock", "2:5000", "ps"));
	ASSERT_EQ(a.target.kind, MHCL_TRANSPORT_VSOCK);
	ASSERT_EQ(a.target.cid, 2);

	/* Errors. */
	ASSERT_EQ(PARSE(NULL, &a, "--socket", "/a", "--tcp", "h:1", "ps"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "--timeout", "0", "ps"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "--timeout", "abc", "ps"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "ps", "--timeout"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "--bogus", "ps"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "-x", "ps"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "--json=1", "ps"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "--tcp", "nope", "ps"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "ps", "1", "2", "3", "4", "5"), -EINVAL);
	ASSERT_TRUE(strstr(errbuf, "too many"));

	/* "--" ends options; "-" alone is positional. */
	ASSERT_OK(PARSE(NULL, &a, "inspect", "--", "--json"));
	ASSERT_FALSE(a.json);
	ASSERT_STREQ(a.pos[0], "--json");
	ASSERT_OK(PARSE(NULL, &a, "help"));
	ASSERT_OK(PARSE(NULL, &a, "-h"));
	ASSERT_TRUE(a.help);
	ASSERT_TRUE(a.cmd == NULL);
}

static void test_command_options(void)
{
	struct mhcl_args a;

	ASSERT_OK(PARSE(NULL, &a, "kill", "testd", "--signal", "TERM"));
	ASSERT_EQ(a.signal, SIGTERM);
	ASSERT_OK(mhcl_args_check(&a, MHCL_OPT_SIGNAL | MHCL_OPT_FAULT, 1, 1, errbuf,
				  sizeof(errbuf)));
	ASSERT_EQ(mhcl_args_check(&a, 0, 1, 1, errbuf, sizeof(errbuf)), -EINVAL);
	ASSERT_TRUE(strstr(errbuf, "--signal"));
	ASSERT_OK(PARSE(NULL, &a, "kill", "--fault", "syscall", "testd"));
	ASSERT_EQ(a.fault, MHCL__FAULT_KIND__FAULT_FORBIDDEN_SYSCALL);
	ASSERT_OK(PARSE(NULL, &a, "kill", "--fault=hang", "testd"));
	ASSERT_EQ(a.fault, MHCL__FAULT_KIND__FAULT_HANG);
	ASSERT_EQ(PARSE(NULL, &a, "kill", "--fault", "none", "testd"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "kill", "-s", "NOPE", "testd"), -EINVAL);

	ASSERT_OK(PARSE(NULL, &a, "logs", "-f", "-n", "20", "testd"));
	ASSERT_TRUE(a.follow);
	ASSERT_EQ(a.lines, 20);
	ASSERT_OK(PARSE(NULL, &a, "logs", "-n5"));
	ASSERT_EQ(a.lines, 5);
	ASSERT_EQ(PARSE(NULL, &a, "logs", "-n", "0"), -EINVAL);
	ASSERT_EQ(PARSE(NULL, &a, "logs", "-fx"), -EINVAL);
	ASSERT_OK(PARSE(NULL, &a, "logs", "--interval", "50"));
	ASSERT_EQ(a.interval_ms, 50);

	/* Positional counts. */
	ASSERT_OK(PARSE(NULL, &a, "restart"));
	ASSERT_EQ(mhcl_args_check(&a, 0, 1, 1, errbuf, sizeof(errbuf)), -EINVAL);
	ASSERT_TRUE(strstr(errbuf, "missing"));
	ASSERT_OK(PARSE(NULL, &a, "ps", "extra"));
	ASSERT_EQ(mhcl_args_check(&a, 0, 0, 0, errbuf, sizeof(errbuf)), -EINVAL);
	ASSERT_TRUE(strstr(errbuf, "extra"));
}

static void test_signals(void)
{
	int s = 0;

	ASSERT_OK(mhcl_signal_parse("KILL", &s));
	ASSERT_EQ(s, SIGKILL);
	ASSERT_OK(mhcl_signal_parse("sigterm", &s));
	ASSERT_EQ(s, SIGTERM);
	ASSERT_OK(mhcl_signal_parse("SIGUSR1", &s));
	ASSERT_EQ(s, SIGUSR1);
	ASSERT_OK(mhcl_signal_parse("15", &s));
	ASSERT_EQ(s, 15);
	ASSERT_OK(mhcl_signal_parse("64", &s));
	ASSERT_EQ(mhcl_signal_parse("0", &s), -EINVAL);
	ASSERT_EQ(mhcl_signal_parse("65", &s), -EINVAL);
	ASSERT_EQ(mhcl_signal_parse("SIG", &s), -EINVAL);
	ASSERT_EQ(mhcl_signal_parse("", &s), -EINVAL);
	ASSERT_EQ(mhcl_signal_parse("-9", &s), -EINVAL);
	ASSERT_STREQ(mhcl_signal_name(SIGSEGV), "SEGV");
	ASSERT_TRUE(mhcl_signal_name(0) == NULL);
	ASSERT_TRUE(mhcl_signal_name(40) == NULL);
	ASSERT_STREQ(mhcl_fault_name(MHCL__FAULT_KIND__FAULT_ABORT), "abort");
}

static void test_server_path(void)
{
	char server[DIAG_NAME_MAX + 1];
	const char *path;
	char longname[80];

	ASSERT_OK(mhcl_server_path_parse("testd", server, &path));
	ASSERT_STREQ(server, "testd");
	ASSERT_STREQ(path, "");
	ASSERT_OK(mhcl_server_path_parse("diag_d-2/conns/total", server, &path));
	ASSERT_STREQ(server, "diag_d-2");
	ASSERT_STREQ(path, "conns/total");
	ASSERT_EQ(mhcl_server_path_parse("", server, &path), -EINVAL);
	ASSERT_EQ(mhcl_server_path_parse("/x", server, &path), -EINVAL);
	ASSERT_EQ(mhcl_server_path_parse("Testd", server, &path), -EINVAL);
	ASSERT_EQ(mhcl_server_path_parse("a b", server, &path), -EINVAL);
	ASSERT_EQ(mhcl_server_path_parse("a//x", server, &path), -EINVAL);
	ASSERT_EQ(mhcl_server_path_parse("a/\x01", server, &path), -EINVAL);
	memset(longname, 'a', 64);
	longname[64] = '\0';
	ASSERT_OK(mhcl_server_path_parse(longname, server, &path));
	longname[64] = 'a';
	longname[65] = '\0';
	ASSERT_EQ(mhcl_server_path_parse(longname, server, &path), -EINVAL);
}

int main(void)
{
	test_targets();
	test_globals();
	test_command_options();
	test_signals();
	test_server_path();
	return 0;
}
