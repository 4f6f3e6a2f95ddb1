/* SPDX-License-Identifier: MIT */
/*
 * init's fd store: fds a server asks init to keep so that its next instance (after a
 * planned restart or a crash) gets them back with the READY reply, the way systemd's
 * FDSTORE works. What lives here is what a restart must not lose: a crash-consistent
 * state memfd, and later VFIO device fds (closing the last one resets the function)
 * and TAP queues. Each server has at most IPC_FDS_MAX, so they all fit one reply.
 */
#ifndef MHCL_INIT_FDSTORE_H
#define MHCL_INIT_FDSTORE_H

#include <stddef.h>

#include "defs/ipc_frame.h"
#include "ipc.h"

#define FDSTORE_MAX IPC_FDS_MAX
#define FDSTORE_NAME_MAX 32 /* with the NUL */

struct fdstore {
	char names[FDSTORE_MAX][FDSTORE_NAME_MAX];
	int fds[FDSTORE_MAX];
	size_t n;
	uint64_t stored, removed, refused;
};

void fdstore_init(struct fdstore *st);
/* Closes every fd (the server is gone for good, or init is leaving). */
void fdstore_clear(struct fdstore *st);

/*
 * Handles IPC_MSG_FD_STORE / IPC_MSG_FD_STORE_REMOVE from the server on ch: validates
 * names and counts before anything changes (all or nothing), answers the request.
 */
void fdstore_request(struct fdstore *st, struct ipc_chan *ch, struct ipc_msg *msg);

#endif
