/* SPDX-License-Identifier: MIT */
/*
 * Packet capture for `mhcl net capture`: armed by one request, it records the next frames
 * the guest sends or receives as pcap packet records (cut to a snap length) and answers
 * the request when enough were seen or its time is up. Off, the data path pays one test
 * of a pointer per frame.
 */
#ifndef MHCL_NET_NET_CAPTURE_H
#define MHCL_NET_NET_CAPTURE_H

#include "log.h" /* before uv.h: sys/param.h guards its MIN/MAX */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <uv.h>

#include "ipc.h"

/* One reply's records stay well inside a bus frame (96 KiB bodies). */
#define NET_CAPTURE_BYTES_MAX (64u * 1024u)

struct net_capture;

int net_capture_new(uv_loop_t *loop, struct net_capture **ret);
void net_capture_free(struct net_capture *c);

/* IPC_MSG_NET_CAPTURE on ch: arms the capture (a second request while armed is refused)
 * and answers later. */
void net_capture_request(struct net_capture *c, struct ipc_chan *ch, struct ipc_msg *msg);

/* Whether frames should be handed to net_capture_frame now. */
bool net_capture_armed(const struct net_capture *c);
/* Records one frame of len bytes held in iov. */
void net_capture_frame(struct net_capture *c, const struct iovec *iov, int iovcnt, uint32_t len);

#endif
