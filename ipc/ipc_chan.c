/* SPDX-License-Identifier: MIT */
/* Bus channels on libuv. FIXME: first cut so dependants link; the channel
 * implementation lands next. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "ipc.h"

int ipc_chan_open(uv_loop_t *loop, int fd, enum ipc_transport transport,
		  const struct ipc_chan_ops *ops, void *opaque, struct ipc_chan **ret_ch)
{
	close(fd);
	return -ENOSYS;
}
void ipc_chan_close(struct ipc_chan *ch) {}
void *ipc_chan_opaque(struct ipc_chan *ch) { return NULL; }
void ipc_chan_set_opaque(struct ipc_chan *ch, void *opaque) {}
int ipc_chan_peer_pid(struct ipc_chan *ch, int *ret_pid) { return -ENOSYS; }
int ipc_chan_request(struct ipc_chan *ch, uint16_t type, const ProtobufCMessage *body,
		     const int *fds, size_t nfds, uint32_t timeout_ms,
		     ipc_reply_fn reply_fn, void *opaque) { return -ENOSYS; }
int ipc_chan_reply(struct ipc_chan *ch, uint32_t request_id, uint16_t type,
		   const ProtobufCMessage *body, const int *fds, size_t nfds) { return -ENOSYS; }
int ipc_chan_reply_error(struct ipc_chan *ch, uint32_t request_id, uint16_t type, int err,
			 const char *fmt, ...) { return -ENOSYS; }
int ipc_chan_notify(struct ipc_chan *ch, uint16_t type, const ProtobufCMessage *body,
		    const int *fds, size_t nfds) { return -ENOSYS; }
int ipc_msg_error(const struct ipc_msg *msg, char *buf, size_t buf_len) { return -ENOSYS; }
void ipc_chan_get_stats(struct ipc_chan *ch, struct ipc_chan_stats *ret_stats) {}
