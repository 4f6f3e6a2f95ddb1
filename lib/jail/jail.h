/* SPDX-License-Identifier: MIT */
/*
 * Seccomp allow-lists for mhcl servers, built with libseccomp from named
 * syscall groups (basic-io, event-loop, memory, ...). Each server has a
 * profile: a list of groups. Anything outside the profile traps: the SIGSYS
 * handler sends a JailViolation notify frame on the server's bus fd and
 * _exits with MHCL_EXIT_JAIL, so init can name the syscall.
 *
 * The lists also cover what libuv and the ASan/UBSan runtimes need while a
 * server runs; exec, ptrace, mount, module loading, namespaces, new sockets
 * and executable mappings stay closed. open/openat fail with ENOENT instead
 * of trapping: a jailed server opens nothing by path, and libc or the
 * sanitizers may probe files (/proc/self/maps) harmlessly.
 */
#ifndef MHCL_JAIL_H
#define MHCL_JAIL_H

#include <stddef.h>
#include <stdint.h>

enum jail_group {
	JAIL_GROUP_BASE,	   /* exit, signal return, report path: every profile has it */
	JAIL_GROUP_BASIC_IO,	   /* read/write/close/fstat/fcntl/lseek on held fds */
	JAIL_GROUP_EVENT_LOOP,	   /* epoll, eventfd, timerfd, poll, clocks, sleeps */
	JAIL_GROUP_MEMORY,	   /* mmap/mprotect without PROT_EXEC, brk, madvise */
	JAIL_GROUP_PROCESS,	   /* ids, futex, rlimits (read), getrandom, sched_yield */
	JAIL_GROUP_SIGNALS,	   /* sigaction/sigprocmask/sigaltstack, kill self */
	JAIL_GROUP_IPC,		   /* sendmsg/recvmsg on held sockets */
	JAIL_GROUP_NETWORK_SERVER, /* accept and socket options on held listeners */
	JAIL_GROUP_THREADS,	   /* clone of threads only (CLONE_THREAD) */
	JAIL_GROUP_POSITIONAL_IO,  /* pread/pwrite/preadv/pwritev on held fds */
	JAIL_GROUP_FILE_SYNC,	   /* fsync/fdatasync/fallocate: disks' backing files */
	JAIL_GROUP_KVM_IOCTL,	   /* KVM's ioctls (type 0xAE) on held KVM fds: the worker */
	JAIL_GROUP_VFIO_IOCTL,	   /* VFIO's ioctls (type ';') and BLKDISCARD: storage */
	JAIL_GROUP_UNIX_CLIENT,	   /* new AF_UNIX sockets and connect (reconnect to a peer) */
	JAIL_GROUP_IO_URING,	   /* enter/register on rings made before entry; no setup */
	JAIL_GROUP_TUN_QUERY,	   /* TUNGETIFF/TUNGETVNETHDRSZ: checking adopted TAP queues */
	_JAIL_GROUP_MAX,
};

/* Name of a group ("basic-io"), or NULL when out of range. */
const char *jail_group_name(enum jail_group g);

/* Looks a profile up by name; returns its index or -ENOENT. */
int jail_profile_find(const char *name);
/* Name of profile idx, or NULL past the last one (for listing). */
const char *jail_profile_name(int idx);
/* Groups of profile idx as a bitmask of 1u << enum jail_group; 0 if unknown. */
uint32_t jail_profile_groups(int idx);

/*
 * Enters profile `name` in the calling process: sets no_new_privs, installs
 * the SIGSYS reporter (which writes to report_fd, borrowed; -1 = no report)
 * and loads the filter for all threads. Returns 0 or -errno; the caller must
 * not continue unjailed on failure (srv_enter_jail exits MHCL_EXIT_JAIL).
 */
int jail_enter(const char *name, int report_fd);

/* Resolves a syscall number for messages: "ptrace" or "syscall-NNN".
 * arch is an AUDIT_ARCH_* value (0 = native). Writes into buf, returns buf. */
const char *jail_syscall_name(int nr, uint32_t arch, char *buf, size_t len);

#endif
