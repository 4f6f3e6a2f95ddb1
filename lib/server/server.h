/* SPDX-License-Identifier: MIT */
/*
 * The frame every mhcl server is built on. init starts a server with:
 *   fd 3                 its bus channel to init (SOCK_SEQPACKET)
 *   fds 4..              the capabilities its manifest entry grants, in order
 *   MHCL_SERVER_NAME     its name in the manifest
 *   MHCL_POLICY          the seccomp profile to enter (lib/jail)
 *   stdout/stderr        pipes into init's per-server log ring
 *
 * srv_start() adopts fd 3 and answers init's supervision messages (PING,
 * INSPECT, STOP, FAULT); srv_enter_jail() installs the seccomp allow-list
 * (after the server has opened everything it needs); srv_ready() sends the
 * READY handshake, whose reply carries any state the previous instance saved.
 */
#ifndef MHCL_SERVER_H
#define MHCL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "inspect.h"
#include "ipc.h"

#define SRV_BUS_FD 3
#define SRV_FIRST_CAP_FD 4

struct srv;

struct srv_ops {
	/* Fill root with this server's values; path is what the client asked
	 * for (the frame cuts the subtree out, so filling all is fine). */
	void (*inspect)(struct srv *s, struct inspect_tree *t, Mhcl__Node *root, void *opaque);
	/* Planned restart: quiesce and serialize state into a malloc'd buffer
	 * (*ret_buf may stay NULL for "nothing to save"). Return 0 or -errno. */
	int (*save)(struct srv *s, uint8_t **ret_buf, size_t *ret_len, void *opaque);
	/* Called from srv_ready() with what the previous instance saved
	 * (len 0 if none); crash is true when it died without saving. */
	int (*restore)(struct srv *s, const uint8_t *buf, size_t len, bool crash, void *opaque);
	/* Server-specific bus requests (types >= 32, and the diag types from
	 * IPC_MSG_SIDECAR_ONLINE on that init forwards); NULL = -EOPNOTSUPP. */
	ipc_msg_fn on_request;
	/* Called when init asks the server to stop, after save; the server
	 * should close its handles so uv_run() returns. NULL = uv_stop(). */
	void (*stop)(struct srv *s, void *opaque);
};

/* Adopts the bus fd and environment. ops borrowed. Exits the process with
 * MHCL_EXIT_USAGE if not started by init (no bus fd). Makes stderr, the log
 * pipe, non-blocking (log_set_nonblocking): a full pipe drops lines, counted
 * in the frame's inspect node (frame/log/dropped), rather than blocking. */
int srv_start(uv_loop_t *loop, const struct srv_ops *ops, void *opaque, struct srv **ret_srv);

/* Installs the seccomp allow-list named by MHCL_POLICY (or `policy` if
 * non-NULL) with no_new_privs; a forbidden syscall reports JailViolation on
 * the bus and exits MHCL_EXIT_JAIL. First it drops every capability the manifest
 * granted (they serve set-up: opening /dev/mem, attaching TAP queues), unless the
 * server called srv_keep_capabilities. Call it before starting threads: capabilities
 * belong to each thread. Fails closed: exits on error. */
void srv_enter_jail(struct srv *s, const char *policy);
/* A planned restart may start the next instance as soon as this one closes its bus
 * (srv_finish sends IPC_MSG_HANDOVER first), before it has exited: call it, before
 * srv_finish, when nothing after srv_finish touches what the instances share (rings,
 * devices, state memfds, I/O still in flight), only the server's own fds and mappings. */
void srv_handover_at_bus_close(struct srv *s);
/* The server needs its granted capabilities while it serves (storaged: ipc_lock, as
 * VFIO pins guest RAM at each channel open); the jail is entered with them. */
void srv_keep_capabilities(struct srv *s);

/* Readiness handshake; calls ops->restore with the reply. */
int srv_ready(struct srv *s);

/*
 * init's fd store: srv_fd_store() asks init to keep a duplicate of fd under name (1..31
 * printable bytes; the same name replaces) for every later instance of this server;
 * srv_stored_fd() takes one the READY reply handed back (from ops->restore on), or
 * returns -ENOENT. What a restart must not lose lives there (see init/fdstore.h).
 */
int srv_fd_store(struct srv *s, const char *name, int fd);
int srv_stored_fd(struct srv *s, const char *name);
/* Asks init to forget (and close) what it keeps under name, so later instances start
 * without it. 0 or -errno (the request could not be sent). */
int srv_fd_remove(struct srv *s, const char *name);
/* Whether the READY reply will hand back an fd stored under name (init says so when it
 * starts the server): known before the jail, while the server can still open things. */
bool srv_stored_pending(const char *name);

/* Set (to "1") in a server's environment by init when the boot tree says the
 * machine is isolated: no fault injection, no memory reads for diag, no
 * unauthenticated network listeners. */
#define SRV_ENV_ISOLATED "MHCL_ISOLATED"
/* Whether init runs isolated; any value counts (fails closed). */
bool srv_isolated(void);

const char *srv_name(struct srv *s);
/* The seccomp profile the server runs (or will run) under: MHCL_POLICY, or what
 * srv_enter_jail() was given. */
const char *srv_policy(struct srv *s);
struct ipc_chan *srv_bus(struct srv *s);
uv_loop_t *srv_loop(struct srv *s);

/* Sets the code srv_finish() returns (default 0). */
void srv_set_exit_code(struct srv *s, int code);

/* Frees the frame after uv_run() returns; returns the exit code to use. */
int srv_finish(struct srv *s);

#endif
