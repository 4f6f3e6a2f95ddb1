/* SPDX-License-Identifier: MIT */
/*
 * The raw end of a SOCK_SEQPACKET pair, for fuzz targets that play the untrusted peer of
 * a bus channel: frames are built and read here byte by byte, not through lib/ipc, so
 * the target can send what a well-behaved peer never would and check every frame the
 * code under test sends back.
 */
#ifndef MHCL_FUZZ_PEER_H
#define MHCL_FUZZ_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "defs/ipc_frame.h"

#define CHECK(e)                                                                                   \
	do {                                                                                       \
		if (!(e))                                                                          \
			abort();                                                                   \
	} while (0)

/* Most fds one test frame carries: more than IPC_FDS_MAX, to send too many. */
#define FUZZ_PEER_FDS_MAX 12

struct fuzz_frame {
	struct ipc_frame_hdr h;
	const uint8_t *body; /* valid until the next fuzz_peer_recv() */
	int fds[FUZZ_PEER_FDS_MAX];
	size_t nfds;
};

/* Sends one frame whose header says nfds fds (borrowed) are attached. 0 or -errno
 * (the other end may have hung up). */
int fuzz_peer_send(int sock, uint16_t type, uint16_t flags, uint32_t id, const void *body,
		   size_t len, const int *fds, size_t nfds);

/* Takes one frame without blocking: 1 one arrived (aborts unless it is a valid frame
 * with as many fds as its header says, and an error answer carries an ErrorReply with a
 * reason), 0 none waiting, -EPIPE the other end hung up. The caller owns f->fds. */
int fuzz_peer_recv(int sock, struct fuzz_frame *f);
void fuzz_frame_close_fds(struct fuzz_frame *f);

/* The number of fds this process has open (for leak checks before and after). */
int fuzz_open_fds(void);

#endif
