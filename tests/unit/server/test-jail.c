/* SPDX-License-Identifier: MIT */
/*
 * lib/jail in a child process: allowed calls work, open fails with ENOENT,
 * an executable mapping or ptrace traps, and the SIGSYS handler sends a
 * well-formed JailViolation notify frame before exiting MHCL_EXIT_JAIL. The
 * storaged profile drives rings it has but cannot make one. Every product profile
 * allows exactly its own device's ioctls: another device's request kills it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "defs/exit_codes.h"
#include "defs/ipc_frame.h"
#include "jail.h"
#include "test.h"

enum {
	DO_NOTHING,
	DO_PTRACE,
	DO_EXEC_MAP,
	DO_SOCKET,
	DO_URING_ENTER,
	DO_URING_SETUP,
	DO_IOCTL, /* ioctl_request on fd -1: EBADF when allowed */
	/* The same with the request sign-extended into the register, as musl's ioctl()
	 * (int request) passes one with bit 31 set: the kernel reads 32 bits. */
	DO_IOCTL_SIGNED,
	DO_FSYNC, /* fsync(-1): EBADF when allowed */
};

static unsigned long ioctl_request;

/* Runs `what` jailed in profile in a child; returns its wait status and what it sent. */
static int run_jailed(const char *profile, int what, uint8_t *frame, ssize_t *frame_len)
{
	int sv[2];
	ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
	pid_t pid = fork();
	ASSERT_TRUE(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		if (jail_enter(profile, sv[1]) < 0)
			_exit(2);
		/* Allowed: write to a held fd, getpid, a plain mapping. */
		if (write(STDERR_FILENO, "", 0) < 0 || getpid() <= 0)
			_exit(3);
		void *p =
		    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(4);
		/* Opening by path is refused quietly. */
		if (open("/etc/hostname", O_RDONLY) >= 0 || errno != ENOENT)
			_exit(5);
		switch (what) {
		case DO_PTRACE:
			syscall(SYS_ptrace, -1L, 0L, 0L, 0L);
			break;
		case DO_EXEC_MAP:
			mprotect(p, 4096, PROT_READ | PROT_EXEC);
			break;
		case DO_SOCKET:
			socket(AF_INET, SOCK_STREAM, 0);
			break;
		case DO_URING_ENTER:
			/* Allowed: no ring behind fd -1. */
			if (syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0) >= 0 ||
			    errno != EBADF)
				_exit(6);
			break;
		case DO_FSYNC:
			if (fsync(-1) >= 0 || errno != EBADF)
				_exit(8);
			break;
		case DO_IOCTL:
			if (ioctl(-1, ioctl_request, 0) >= 0 || errno != EBADF)
				_exit(7);
			break;
		case DO_IOCTL_SIGNED:
			if (syscall(SYS_ioctl, -1, (long)(int)(unsigned)ioctl_request, 0L) >= 0 ||
			    errno != EBADF)
				_exit(7);
			break;
		case DO_URING_SETUP: {
			struct io_uring_params params = {0};
			syscall(SYS_io_uring_setup, 1, &params);
			break;
		}
		}
		_exit(0);
	}
	close(sv[1]);
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	*frame_len = recv(sv[0], frame, 256, MSG_DONTWAIT);
	close(sv[0]);
	return st;
}

static void expect_violation(const char *profile, int what, int nr)
{
	uint8_t frame[256];
	ssize_t n;
	int st = run_jailed(profile, what, frame, &n);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), MHCL_EXIT_JAIL);
	ASSERT_GE(n, (ssize_t)sizeof(struct ipc_frame_hdr));
	struct ipc_frame_hdr h;
	memcpy(&h, frame, sizeof(h));
	ASSERT_EQ(h.version, IPC_VERSION);
	ASSERT_EQ(h.type, IPC_MSG_JAIL_VIOLATION);
	ASSERT_EQ(h.flags, IPC_F_NOTIFY);
	ASSERT_EQ(h.request_id, 0);
	ASSERT_EQ(h.nfds, 0);
	ASSERT_EQ(h.body_len, (uint32_t)n - sizeof(h));
	Mhcl__JailViolation *jv = mhcl__jail_violation__unpack(NULL, h.body_len, frame + sizeof(h));
	ASSERT_TRUE(jv);
	ASSERT_EQ(jv->syscall_nr, nr);
	ASSERT_EQ(jv->arch, 0xc000003eu); /* AUDIT_ARCH_X86_64 */
	char name[64];
	jail_syscall_name(jv->syscall_nr, jv->arch, name, sizeof(name));
	fprintf(stderr, "trapped: %s\n", name);
	mhcl__jail_violation__free_unpacked(jv, NULL);
}

int main(void)
{
	char name[64];

	ASSERT_EQ(jail_enter("no-such-profile", -1), -ENOENT);
	ASSERT_GE(jail_profile_find("diagd"), 0);
	/* The test servers use the product's profiles: none exists for tests only. */
	ASSERT_EQ(jail_profile_find("testd"), -ENOENT);
	ASSERT_TRUE(jail_profile_name(jail_profile_find("diagd")) != NULL);
	ASSERT_TRUE(jail_profile_name(1000) == NULL);
	ASSERT_TRUE(jail_group_name(JAIL_GROUP_BASIC_IO) != NULL);
	ASSERT_STREQ(jail_syscall_name(SYS_ptrace, 0, name, sizeof(name)), "ptrace");
	ASSERT_STREQ(jail_syscall_name(99999, 0, name, sizeof(name)), "syscall-99999");

	uint8_t frame[256];
	ssize_t n;
	int st = run_jailed("diagd", DO_NOTHING, frame, &n);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	ASSERT_LE(n, 0); /* nothing reported: EOF */
	st = run_jailed("storaged", DO_URING_ENTER, frame, &n);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);

	expect_violation("diagd", DO_PTRACE, SYS_ptrace);
	expect_violation("diagd", DO_EXEC_MAP, SYS_mprotect);
	expect_violation("diagd", DO_SOCKET, SYS_socket);
	expect_violation("storaged", DO_URING_SETUP, SYS_io_uring_setup);

	/* Only storaged syncs and allocates files (its disks); the sidecar client does not. */
	st = run_jailed("storaged", DO_FSYNC, frame, &n);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	expect_violation("sidecard", DO_FSYNC, SYS_fsync);

	/* Per profile: its own device's ioctl passes the filter (EBADF on fd -1), the other
	 * devices' requests kill it; the profiles without a device allow none. */
	static const struct {
		const char *profile;
		unsigned long allowed[2]; /* 0: none */
	} dev[] = {
	    {"vp", {KVM_GET_API_VERSION, KVM_CREATE_VM}},
	    {"storaged", {VFIO_GET_API_VERSION}},
	    {"netd", {TUNGETIFF, VFIO_GET_API_VERSION}}, /* TAP queues, or a MANA function */
	    {"vmbusd", {0}},
	    {"icd", {0}},
	    {"diagd", {0}},
	    {"sidecard", {0}},
	};
	static const unsigned long foreign[] = {KVM_CREATE_VM, VFIO_GET_API_VERSION, TUNSETIFF,
						TUNGETIFF};
	for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++) {
		for (size_t a = 0; a < 2 && dev[i].allowed[a]; a++) {
			ioctl_request = dev[i].allowed[a];
			st = run_jailed(dev[i].profile, DO_IOCTL, frame, &n);
			ASSERT_TRUE(WIFEXITED(st));
			ASSERT_EQ(WEXITSTATUS(st), 0);
			st = run_jailed(dev[i].profile, DO_IOCTL_SIGNED, frame, &n);
			ASSERT_TRUE(WIFEXITED(st));
			ASSERT_EQ(WEXITSTATUS(st), 0);
		}
		for (size_t k = 0; k < sizeof(foreign) / sizeof(foreign[0]); k++) {
			if (foreign[k] == dev[i].allowed[0] || foreign[k] == dev[i].allowed[1])
				continue;
			ioctl_request = foreign[k];
			fprintf(stderr, "%s: ioctl 0x%lx\n", dev[i].profile, foreign[k]);
			expect_violation(dev[i].profile, DO_IOCTL, SYS_ioctl);
		}
		expect_violation(dev[i].profile, DO_PTRACE, SYS_ptrace);
	}
	return 0;
}
