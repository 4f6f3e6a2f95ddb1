/* SPDX-License-Identifier: MIT */
/* Integration tests that run real servers under a hosted mhcl-init of their own. */
#ifndef MHCL_TEST_INIT_H
#define MHCL_TEST_INIT_H

#include <fcntl.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* Writes DIR/m.dts, a manifest holding `servers` (device-tree nodes, one per server),
 * compiles it with dtc and starts mhcl-init on it (run dir DIR, servers looked up in
 * LIBEXEC, a colon-separated list), its stdout and stderr on log_fd (borrowed). Returns
 * init's pid. */
static inline pid_t test_init_start(const char *init, const char *dtc, const char *dir,
				    const char *libexec, const char *servers, int log_fd)
{
	char dts[256], dtb[256];
	pid_t pid;
	int st;
	FILE *f;

	snprintf(dts, sizeof(dts), "%s/m.dts", dir);
	snprintf(dtb, sizeof(dtb), "%s/m.dtb", dir);
	f = fopen(dts, "w");
	ASSERT_TRUE(f != NULL);
	fprintf(
	    f, "/dts-v1/;\n/ { mhcl { manifest {\ncompatible = \"mhcl,manifest-v1\";\n%s}; }; };\n",
	    servers);
	fclose(f);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		execl(dtc, "dtc", "-q", "-I", "dts", "-O", "dtb", "-o", dtb, dts, (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		dup2(log_fd, 1);
		dup2(log_fd, 2);
		execl(init, "mhcl-init", "--dtb", dtb, "--run-dir", dir, "--libexec", libexec,
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

#endif
