/* SPDX-License-Identifier: MIT */
/*
 * Test-side helpers: run mhcl-init on a manifest written as .dts text, and
 * talk to init's control API through mhcl-testd's --relay socket with
 * blocking calls. Waits poll a condition with a generous bound; tests never
 * assert on time.
 */
#ifndef MHCL_TEST_CTL_H
#define MHCL_TEST_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus.pb-c.h"
#include "defs/ipc_frame.h"
#include "diag.pb-c.h"

struct ctl;

/* Connects to a relay socket, retrying until it exists (bounded). */
int ctl_connect(const char *path, struct ctl **ret);
void ctl_close(struct ctl *c);

/* One request; *ret is the unpacked reply (free with
 * protobuf_c_message_free_unpacked). A remote error returns its -errno and
 * the message in err. */
int ctl_call(struct ctl *c, uint16_t type, const ProtobufCMessage *req,
	     const ProtobufCMessageDescriptor *rep_desc, ProtobufCMessage **ret, char *err,
	     size_t err_len);

Mhcl__PsReply *ctl_ps(struct ctl *c);
/* The entry for name in a ps reply, or NULL. */
const Mhcl__ServerInfo *ctl_ps_find(const Mhcl__PsReply *ps, const char *name);
/* The pid of server name from a fresh ps, or -1. */
int ctl_pid(struct ctl *c, const char *name);
/* Polls ps until name's state is `state` (and, if min_restarts >= 0, its
 * restarts are at least that); returns false after the bound. */
bool ctl_wait_state(struct ctl *c, const char *name, const char *state, int min_restarts);
/* Polls ps until name's last_exit is exactly last_exit. */
bool ctl_wait_last_exit(struct ctl *c, const char *name, const char *last_exit);
/* Inspect value (u64) at server/path, or -1. */
int64_t ctl_inspect_u64(struct ctl *c, const char *server, const char *path);
/* True if any log line of server (or all, "") contains needle. */
bool ctl_logs_contain(struct ctl *c, const char *server, const char *needle);

/* A running mhcl-init. */
struct init_proc {
	pid_t pid;
	char dir[64]; /* temporary run dir, removed by init_proc_cleanup */
	char dtb[128];
	char sock[128]; /* relay socket: ${RUN}/ctl.sock */
	bool wrapped;	/* runs under a wrapper: signal the wrapper's child */
};

/* Compiles dts (text; "${RUN}" stays for init to substitute) with dtc and
 * starts init on it. extra: NULL-terminated extra args (e.g. "--pidns"),
 * wrapper: NULL or a NULL-terminated command to run init under (unshare). */
int init_proc_start(struct init_proc *p, const char *dts, const char *const *wrapper,
		    const char *const *extra);
/* SIGTERM, then waits; returns the wait status. */
int init_proc_stop(struct init_proc *p);
/* Waits (bounded) for init to end by itself; returns the wait status, or -1 after
 * killing it when it did not. */
int init_proc_wait_exit(struct init_proc *p);
void init_proc_cleanup(struct init_proc *p);
/* Copies init's captured output (stdout+stderr) to our stderr. */
void init_proc_dump(const struct init_proc *p);
/* True if init's output has lines containing needles[0], needles[1], ...
 * in that order (NULL-terminated). */
bool init_proc_log_order(const struct init_proc *p, const char *const *needles);
/* Inspect string value at server/path (malloc'd), or NULL. */
char *ctl_inspect_str(struct ctl *c, const char *server, const char *path);
/* Paths of the built binaries (from the environment meson sets). */
const char *test_bin(const char *env);

#endif
