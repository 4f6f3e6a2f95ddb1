/* SPDX-License-Identifier: MIT */
#include "jail.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <linux/vfio.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "defs/exit_codes.h"
#include "defs/ipc_frame.h"

#define G(x) (1u << (x))

static const char *const group_names[_JAIL_GROUP_MAX] = {
    [JAIL_GROUP_BASE] = "base",
    [JAIL_GROUP_BASIC_IO] = "basic-io",
    [JAIL_GROUP_EVENT_LOOP] = "event-loop",
    [JAIL_GROUP_MEMORY] = "memory",
    [JAIL_GROUP_PROCESS] = "process",
    [JAIL_GROUP_SIGNALS] = "signals",
    [JAIL_GROUP_IPC] = "ipc",
    [JAIL_GROUP_NETWORK_SERVER] = "network-server",
    [JAIL_GROUP_THREADS] = "threads",
    [JAIL_GROUP_POSITIONAL_IO] = "positional-io",
    [JAIL_GROUP_FILE_SYNC] = "file-sync",
    [JAIL_GROUP_KVM_IOCTL] = "kvm-ioctl",
    [JAIL_GROUP_VFIO_IOCTL] = "vfio-ioctl",
    [JAIL_GROUP_UNIX_CLIENT] = "unix-client",
    [JAIL_GROUP_IO_URING] = "io-uring",
    [JAIL_GROUP_TUN_QUERY] = "tun-query",
};

/* Syscalls a group allows without conditions. NULL-terminated; names the
 * running arch does not know are skipped. Conditional rules are in
 * add_conditional(). */
static const char *const group_syscalls[_JAIL_GROUP_MAX][40] = {
    [JAIL_GROUP_BASE] = {"exit", "exit_group", "rt_sigreturn", "restart_syscall", "sendto", "write",
			 "getpid", "gettid", NULL},
    [JAIL_GROUP_BASIC_IO] = {"read", "readv", "writev", "close", "lseek", "fstat", "newfstatat",
			     "statx", "fcntl", "dup", "dup3", "pipe2", NULL},
    [JAIL_GROUP_EVENT_LOOP] = {"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
			       "epoll_pwait2", "eventfd2", "timerfd_create", "timerfd_settime",
			       "timerfd_gettime", "poll", "ppoll", "clock_gettime", "clock_getres",
			       "clock_nanosleep", "nanosleep", "gettimeofday", NULL},
    [JAIL_GROUP_MEMORY] = {"brk", "munmap", "mremap", "madvise", "mincore", NULL},
    [JAIL_GROUP_PROCESS] = {"getppid",	 "getuid",	    "geteuid",		 "getgid",
			    "getegid",	 "getresuid",	    "getresgid",	 "uname",
			    "getrandom", "futex",	    "set_robust_list",	 "get_robust_list",
			    "rseq",	 "sched_yield",	    "sched_getaffinity", "getrlimit",
			    "getrusage", "set_tid_address", "getpgrp",		 NULL},
    [JAIL_GROUP_SIGNALS] = {"rt_sigaction", "rt_sigprocmask", "sigaltstack", "rt_sigpending",
			    "rt_sigtimedwait", NULL},
    [JAIL_GROUP_IPC] = {"sendmsg", "recvmsg", "recvfrom", "shutdown", "getsockopt", "getsockname",
			"getpeername", NULL},
    [JAIL_GROUP_NETWORK_SERVER] = {"accept", "accept4", "setsockopt", NULL},
    [JAIL_GROUP_THREADS] = {"set_robust_list", "madvise", NULL},
    [JAIL_GROUP_POSITIONAL_IO] = {"pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
				  NULL},
    [JAIL_GROUP_FILE_SYNC] = {"fsync", "fdatasync", "fallocate", NULL},
    [JAIL_GROUP_UNIX_CLIENT] = {"connect", NULL},
    /* No io_uring_setup: seccomp cannot see what a ring does, so a jailed server uses only
     * rings it made (and restricted) before entry. */
    [JAIL_GROUP_IO_URING] = {"io_uring_enter", "io_uring_register", NULL},
};

struct jail_profile {
	const char *name;
	uint32_t groups;
};

#define COMMON_GROUPS                                                                              \
	(G(JAIL_GROUP_BASE) | G(JAIL_GROUP_BASIC_IO) | G(JAIL_GROUP_EVENT_LOOP) |                  \
	 G(JAIL_GROUP_MEMORY) | G(JAIL_GROUP_PROCESS) | G(JAIL_GROUP_SIGNALS) | G(JAIL_GROUP_IPC))

static const struct jail_profile profiles[] = {
    {"diagd", COMMON_GROUPS | G(JAIL_GROUP_NETWORK_SERVER)},
    /* mhcl-vmbusd: accepts mhcl-vp and device servers on its held listeners. */
    {"vmbusd", COMMON_GROUPS | G(JAIL_GROUP_NETWORK_SERVER)},
    /* mhcl-icd: connected to vmbusd before entry; maps the guest RAM memfd, eventfds. */
    {"icd", COMMON_GROUPS},
    /* mhcl-storaged: a ring per channel queue of each disk, all made and restricted
     * before entry. */
    {"storaged", COMMON_GROUPS | G(JAIL_GROUP_POSITIONAL_IO) | G(JAIL_GROUP_FILE_SYNC) |
		     G(JAIL_GROUP_VFIO_IOCTL) | G(JAIL_GROUP_THREADS) | G(JAIL_GROUP_IO_URING)},
    /* mhcl-netd: reads and writes its TAP queues, attached before entry, or adopted from
     * init's fd store after it (checked with two read-only TUN ioctls); or adopts a kept
     * MANA function inside the jail (VFIO ioctls, config-space preads). Its TAP ring, made
     * before entry, is armed on the queues inside it (io_uring_register). */
    {"netd", COMMON_GROUPS | G(JAIL_GROUP_TUN_QUERY) | G(JAIL_GROUP_VFIO_IOCTL) |
		 G(JAIL_GROUP_POSITIONAL_IO) | G(JAIL_GROUP_IO_URING)},
    /* mhcl-vp: reconnects to a restarted vmbusd (unix sockets only). */
    {"vp",
     COMMON_GROUPS | G(JAIL_GROUP_KVM_IOCTL) | G(JAIL_GROUP_THREADS) | G(JAIL_GROUP_UNIX_CLIENT)},
    /* mhcl-sidecard: pread/pwrite on /dev/mem and cpuN/online, opened before the jail. */
    {"sidecard", COMMON_GROUPS | G(JAIL_GROUP_POSITIONAL_IO)},
};

const char *jail_group_name(enum jail_group g)
{
	if ((int)g < 0 || g >= _JAIL_GROUP_MAX)
		return NULL;
	return group_names[g];
}

int jail_profile_find(const char *name)
{
	if (!name)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (strcmp(profiles[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

const char *jail_profile_name(int idx)
{
	if (idx < 0 || (size_t)idx >= sizeof(profiles) / sizeof(profiles[0]))
		return NULL;
	return profiles[idx].name;
}

uint32_t jail_profile_groups(int idx)
{
	if (idx < 0 || (size_t)idx >= sizeof(profiles) / sizeof(profiles[0]))
		return 0;
	return profiles[idx].groups;
}

static int allow(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return 0; /* not on this arch */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
}

/* One argument comparison, every field spelled out (the SCMP_A* macros leave
 * datum_b implicit, which some compilers warn about). */
static struct scmp_arg_cmp cmp(unsigned int arg, enum scmp_compare op, scmp_datum_t a,
			       scmp_datum_t b)
{
	return (struct scmp_arg_cmp){.arg = arg, .op = op, .datum_a = a, .datum_b = b};
}

/* ioctl's request as the kernel reads it: an unsigned int. musl's ioctl() takes an int
 * and sign-extends it into the register the filter sees (TUNGETIFF has bit 31 set), so
 * only the low 32 bits are compared. */
static struct scmp_arg_cmp ioctl_is(unsigned long req)
{
	return cmp(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, (scmp_datum_t)(uint32_t)req);
}

static int add_conditional(scmp_filter_ctx ctx, enum jail_group g)
{
	int r = 0;

	switch (g) {
	case JAIL_GROUP_BASE:
		/* Nothing is opened by path inside the jail; probes fail quietly. */
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(openat), 0);
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(open), 0);
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(readlink), 0);
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(readlinkat), 0);
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(access), 0);
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(faccessat), 0);
		break;
	case JAIL_GROUP_BASIC_IO: {
		/* Only the ioctls libc and libuv use on plain fds. */
		static const unsigned long ok[] = {FIONBIO, FIOCLEX,	FIONCLEX,
						   TCGETS,  TIOCGWINSZ, FIONREAD};
		for (size_t i = 0; !r && i < sizeof(ok) / sizeof(ok[0]); i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					     ioctl_is(ok[i]));
		break;
	}
	case JAIL_GROUP_KVM_IOCTL:
		/* Any KVM request (the number's type byte), nothing else: a jailed worker's
		 * other fds are sockets, eventfds and memfds. */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     cmp(1, SCMP_CMP_MASKED_EQ, 0xff00u, (scmp_datum_t)KVMIO << 8));
		break;
	case JAIL_GROUP_VFIO_IOCTL:
		r = seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    cmp(1, SCMP_CMP_MASKED_EQ, 0xff00u, (scmp_datum_t)VFIO_TYPE << 8));
		if (!r) /* UNMAP on a block device (fallocate does not reach every driver) */
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					     ioctl_is(BLKDISCARD));
		break;
	case JAIL_GROUP_TUN_QUERY: {
		static const unsigned long ok[] = {TUNGETIFF, TUNGETVNETHDRSZ};
		for (size_t i = 0; !r && i < sizeof(ok) / sizeof(ok[0]); i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					     ioctl_is(ok[i]));
		break;
	}
	case JAIL_GROUP_MEMORY:
		/* No executable mappings (crosvm common_device.policy). */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
					     cmp(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
		break;
	case JAIL_GROUP_PROCESS: {
		/* Read our own limits only. */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2,
				     cmp(0, SCMP_CMP_EQ, 0, 0), cmp(2, SCMP_CMP_EQ, 0, 0));
		static const unsigned long pr_ok[] = {PR_GET_NAME, PR_SET_NAME, PR_GET_DUMPABLE,
						      PR_GET_NO_NEW_PRIVS};
		for (size_t i = 0; !r && i < sizeof(pr_ok) / sizeof(pr_ok[0]); i++)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
					     cmp(0, SCMP_CMP_EQ, pr_ok[i], 0));
		/* Lowering ourselves to the idle class once handed over (srv_finish). */
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sched_setscheduler), 2,
					     cmp(0, SCMP_CMP_EQ, 0, 0),
					     cmp(1, SCMP_CMP_EQ, SCHED_IDLE, 0));
		break;
	}
	case JAIL_GROUP_SIGNALS: {
		/* Signals to ourselves only (abort(), raise()). */
		scmp_datum_t self = (scmp_datum_t)getpid();
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				     cmp(0, SCMP_CMP_EQ, self, 0));
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
					     cmp(0, SCMP_CMP_EQ, self, 0));
		/* musl's raise() and pthread_kill() use tkill, whose thread id the filter
		 * cannot tie to this process; the kernel still allows only our own uid,
		 * and every server has its own. */
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tkill), 0);
		break;
	}
	case JAIL_GROUP_THREADS:
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				     cmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
		/* clone3 args live in memory the filter cannot read: make libc fall back. */
		if (!r)
			r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
		break;
	case JAIL_GROUP_UNIX_CLIENT:
		/* AF_UNIX only: no network and no netlink. */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     cmp(0, SCMP_CMP_EQ, AF_UNIX, 0));
		break;
	default:
		break;
	}
	return r;
}

/* State for the SIGSYS reporter: written before the filter is loaded, read
 * only by the handler. */
static volatile int report_fd = -1;

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		p[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

/* Async-signal-safe: hand-encodes JailViolation{syscall_nr, arch} behind a
 * NOTIFY frame header, one send(), then _exit. */
static void sigsys_handler(int sig, siginfo_t *info, void *uctx)
{
	uint8_t buf[sizeof(struct ipc_frame_hdr) + 32];
	uint8_t *body = buf + sizeof(struct ipc_frame_hdr);
	size_t n = 0;
	int nr = info->si_syscall;
	uint32_t arch = info->si_arch;

	if (nr) {
		body[n++] = 0x08; /* field 1, varint */
		n += put_varint(body + n, (uint64_t)(int64_t)nr);
	}
	if (arch) {
		body[n++] = 0x10; /* field 2, varint */
		n += put_varint(body + n, arch);
	}
	struct ipc_frame_hdr hdr = {
	    .body_len = (uint32_t)n,
	    .version = IPC_VERSION,
	    .type = IPC_MSG_JAIL_VIOLATION,
	    .request_id = 0,
	    .flags = IPC_F_NOTIFY,
	    .nfds = 0,
	};
	memcpy(buf, &hdr, sizeof(hdr));
	if (report_fd >= 0)
		(void)!send(report_fd, buf, sizeof(hdr) + n, MSG_NOSIGNAL | MSG_DONTWAIT);
	_exit(MHCL_EXIT_JAIL);
}

/* Defined by the LeakSanitizer runtime in sanitized builds, absent otherwise. */
extern void __lsan_do_leak_check(void) __attribute__((weak));

int jail_enter(const char *name, int fd)
{
	int idx = jail_profile_find(name);
	if (idx < 0)
		return idx;
	uint32_t groups = profiles[idx].groups | G(JAIL_GROUP_BASE);

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	int r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!r)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	for (int g = 0; !r && g < _JAIL_GROUP_MAX; g++) {
		if (!(groups & G(g)))
			continue;
		for (size_t i = 0; !r && group_syscalls[g][i]; i++)
			r = allow(ctx, group_syscalls[g][i]);
		if (!r)
			r = add_conditional(ctx, (enum jail_group)g);
	}
	if (r) {
		seccomp_release(ctx);
		return r;
	}

	report_fd = fd;
	struct sigaction sa = {0};
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		r = -errno;
		seccomp_release(ctx);
		return r;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);

	/*
	 * The leak checker stops the world with ptrace, which no profile allows:
	 * run it now (leaks up to here still fail the process) and it is then
	 * off for the jailed lifetime.
	 */
	if (__lsan_do_leak_check)
		__lsan_do_leak_check();

	r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

const char *jail_syscall_name(int nr, uint32_t arch, char *buf, size_t len)
{
	char *s = seccomp_syscall_resolve_num_arch(arch ? arch : SCMP_ARCH_NATIVE, nr);
	if (s) {
		snprintf(buf, len, "%s", s);
		free(s);
	} else {
		snprintf(buf, len, "syscall-%d", nr);
	}
	return buf;
}
