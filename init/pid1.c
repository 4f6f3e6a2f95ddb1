/* SPDX-License-Identifier: MIT */
/*
 * What init does only as PID 1: mount the basic filesystems, set limits and
 * the environment, and power off at the end (only as the machine's real
 * PID 1). Also the --pidns re-exec that makes a hosted init PID 1 of a new
 * PID and mount namespace.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "defs/exit_codes.h"

/* Inode of the initial PID namespace (include/linux/proc_ns.h PROC_PID_INIT_INO). */
#define PROC_PID_INIT_INO 0xEFFFFFFCu

static bool is_mount_point(const char *path)
{
	struct stat st, parent;
	char up[PATH_MAX];

	if (stat(path, &st) < 0)
		return false;
	snprintf(up, sizeof(up), "%s/..", path);
	if (stat(up, &parent) < 0)
		return false;
	return st.st_dev != parent.st_dev || st.st_ino == parent.st_ino;
}

/* /proc must show our own PID namespace, even where a /proc is mounted. */
static bool proc_is_ours(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return atoi(buf) == getpid();
}

static void mount_one(struct init *in, const char *src, const char *dst, const char *type,
		      unsigned long flags, const char *data, bool force)
{
	if (!force && is_mount_point(dst))
		return;
	(void)mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data) < 0) {
		log_warn("unable to mount %s on %s: %m, ignoring", type, dst);
		return;
	}
	size_t l = strlen(in->mounted);
	snprintf(in->mounted + l, sizeof(in->mounted) - l, "%s%s", l ? " " : "", dst);
}

int pid1_setup(struct init *in)
{
	struct stat st;

	in->initial_pidns = stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == PROC_PID_INIT_INO;
	if (!in->initial_pidns) {
		/* Our mounts must not leak into the parent namespace. */
		(void)mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	}
	mount_one(in, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
		  !proc_is_ours());
	if (stat("/proc/self/ns/pid", &st) == 0)
		in->initial_pidns = st.st_ino == PROC_PID_INIT_INO;
	/*
	 * The machine's own PID 1 sets up the rest. In a PID namespace on a
	 * developer's machine the other filesystems are the host's, shared on
	 * purpose (binaries, run dir): only /proc must be ours.
	 */
	if (in->initial_pidns) {
		mount_one(in, "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
			  false);
		mount_one(in, "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755", false);
		mount_one(in, "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755", false);
		mount_one(in, "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777", false);
	}

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = MIN(rl.rlim_max, (rlim_t)65536);
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	rl.rlim_cur = rl.rlim_max = 0;
	(void)setrlimit(RLIMIT_CORE, &rl);

	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	setenv("HOME", "/", 0);
	setenv("TERM", "linux", 0);
	(void)umask(022);
	(void)chdir("/");
	return 0;
}

void pid1_finish(struct init *in)
{
	if (!in->pid1)
		return;
	sync();
	if (in->initial_pidns) {
		log_info("powering off");
		(void)reboot(RB_POWER_OFF);
		/* Still here: nothing else to do but wait for the end. */
		for (;;)
			pause();
	}
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int r = n < 0 ? -errno : 0;
	close(fd);
	return r;
}

static volatile pid_t pidns_child;

static void forward_signal(int sig)
{
	if (pidns_child > 0)
		(void)kill(pidns_child, sig);
}

int pidns_reexec(int argc, char **argv)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return log_error_errno(-errno, "unable to find my own binary: %m");
	exe[n] = '\0';

	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0) {
		int e = errno;
		if (e != EPERM || uid == 0)
			return log_error_errno(-e, "unable to create PID namespace: %m");
		/* Unprivileged: a user namespace makes us root inside it. */
		if (unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS) < 0)
			return log_error_errno(-errno, "unable to create user+PID namespace: %m");
		char map[64];
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		(void)write_file("/proc/self/setgroups", "deny");
		if (write_file("/proc/self/uid_map", map) < 0) {
			log_error("unable to write uid_map: %m");
			_exit(MHCL_EXIT_SYSCALL);
		}
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if (write_file("/proc/self/gid_map", map) < 0) {
			log_error("unable to write gid_map: %m");
			_exit(MHCL_EXIT_SYSCALL);
		}
	}

	/* From here on the namespaces exist: failing means exiting. */
	char **nargv = calloc((size_t)argc + 1, sizeof(*nargv));
	if (!nargv)
		_exit(MHCL_EXIT_SYSCALL);
	int k = 0;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--pidns") != 0)
			nargv[k++] = argv[i];
	nargv[k] = NULL;

	pid_t pid = fork();
	if (pid < 0) {
		log_error("unable to fork into the PID namespace: %m");
		_exit(MHCL_EXIT_SYSCALL);
	}
	if (pid == 0) {
		/* The namespace lives only as long as the process that made it. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(exe, nargv);
		log_error("unable to exec %s: %m", exe);
		_exit(MHCL_EXIT_EXEC);
	}
	free(nargv);
	pidns_child = pid;
	struct sigaction sa = {0};
	sa.sa_handler = forward_signal;
	sigemptyset(&sa.sa_mask);
	for (int sig = SIGHUP; sig <= SIGTERM; sig++)
		if (sig == SIGHUP || sig == SIGINT || sig == SIGTERM || sig == SIGQUIT ||
		    sig == SIGUSR2)
			(void)sigaction(sig, &sa, NULL);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			log_error("unable to wait for init: %m");
			_exit(MHCL_EXIT_SYSCALL);
		}
	/* _exit: after unshare(CLONE_NEWPID) our new children would land in a
	 * namespace whose PID 1 is gone, so exit-time helpers (sanitizers) cannot
	 * fork any more. */
	fflush(NULL);
	if (WIFEXITED(st))
		_exit(WEXITSTATUS(st));
	_exit(128 + WTERMSIG(st));
}
