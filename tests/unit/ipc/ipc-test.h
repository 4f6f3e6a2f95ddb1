/* SPDX-License-Identifier: MIT */
/* Shared pieces of the ipc unit tests: an echo endpoint, loop helpers, raw frames. */
#ifndef MHCL_IPC_TEST_H
#define MHCL_IPC_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "ipc.h"
#include "test.h"

/* One end of a channel under test and what happened to it. */
struct endpoint {
	struct ipc_chan *ch;
	bool closed;
	int close_reason;
	unsigned requests, notifies;
	/* Requests of type IPC_MSG_STOP are held here unanswered. */
	uint32_t held_ids[4096];
	size_t nheld;
	uint64_t last_notify_cookie;
};

/* Answers PING with the same cookie, holds STOP, counts notifies. */
static inline void ep_on_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct endpoint *ep = opaque;
	Mhcl__Ping *ping, reply = MHCL__PING__INIT;

	ep->requests++;
	switch (msg->type) {
	case IPC_MSG_PING:
		ping = (Mhcl__Ping *)ipc_msg_unpack(ch, msg, &mhcl__ping__descriptor);
		if (!ping)
			return;
		reply.cookie = ping->cookie;
		protobuf_c_message_free_unpacked(&ping->base, NULL);
		ASSERT_OK(ipc_chan_reply(ch, msg->request_id, IPC_MSG_PING, &reply.base, NULL, 0));
		break;
	case IPC_MSG_STOP:
		ASSERT_LT(ep->nheld, sizeof(ep->held_ids) / sizeof(ep->held_ids[0]));
		ep->held_ids[ep->nheld++] = msg->request_id;
		break;
	default:
		ASSERT_OK(ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP,
					       "type %u", msg->type));
		break;
	}
}

/* PING notifies record their cookie; STOP notifies carry a StopReply whose
 * bytes follow the pattern i * 7, and record its length. */
static inline void ep_on_notify(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct endpoint *ep = opaque;
	Mhcl__Ping *ping;

	if (msg->type == IPC_MSG_STOP) {
		Mhcl__StopReply *sr =
		    (Mhcl__StopReply *)ipc_msg_unpack(ch, msg, &mhcl__stop_reply__descriptor);
		if (!sr)
			return;
		for (size_t i = 0; i < sr->saved_state.len; i++)
			ASSERT_EQ(sr->saved_state.data[i], (uint8_t)(i * 7));
		ep->notifies++;
		ep->last_notify_cookie = sr->saved_state.len;
		protobuf_c_message_free_unpacked(&sr->base, NULL);
		return;
	}
	ping = (Mhcl__Ping *)ipc_msg_unpack(ch, msg, &mhcl__ping__descriptor);
	if (!ping)
		return;
	ep->notifies++;
	ep->last_notify_cookie = ping->cookie;
	protobuf_c_message_free_unpacked(&ping->base, NULL);
}

static inline void ep_on_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct endpoint *ep = opaque;

	ASSERT_FALSE(ep->closed);
	ASSERT_TRUE(ep->ch == ch);
	ep->closed = true;
	ep->close_reason = reason;
	ep->ch = NULL;
}

static const struct ipc_chan_ops ep_ops = {
    .on_request = ep_on_request,
    .on_notify = ep_on_notify,
    .on_close = ep_on_close,
};

static inline void ep_open(uv_loop_t *loop, struct endpoint *ep, int fd,
			   enum ipc_transport transport)
{
	memset(ep, 0, sizeof(*ep));
	ASSERT_OK(ipc_chan_open(loop, fd, transport, &ep_ops, ep, &ep->ch));
}

/* Runs the loop until *flag is set. A test that never gets there hangs and
 * is stopped by the meson timeout. */
static inline void run_until(uv_loop_t *loop, const bool *flag)
{
	while (!*flag)
		uv_run(loop, UV_RUN_ONCE);
}

/* Runs the loop until nothing is left in it, then closes it (leaks show). */
static inline void loop_finish(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_DEFAULT);
	ASSERT_OK(uv_loop_close(loop));
}

/* The result of one request. */
struct reply {
	bool done;
	int status;
	uint64_t cookie;
	uint16_t flags;
	int err; /* decoded ErrorReply for -EREMOTEIO */
	char text[128];
	int fd;		/* first fd of the reply, taken */
	unsigned order; /* completion order */
};

static unsigned reply_counter;

static inline void reply_done(struct ipc_chan *ch, int status, struct ipc_msg *msg, void *opaque)
{
	struct reply *r = opaque;

	ASSERT_FALSE(r->done);
	r->done = true;
	r->status = status;
	r->fd = -1;
	r->order = reply_counter++;
	if (!msg) {
		ASSERT_TRUE(status < 0 && status != -EREMOTEIO);
		return;
	}
	r->flags = msg->flags;
	if (status == -EREMOTEIO) {
		ASSERT_TRUE(msg->flags & IPC_F_ERROR);
		r->err = ipc_msg_error(msg, r->text, sizeof(r->text));
		return;
	}
	ASSERT_OK(status);
	if (msg->type == IPC_MSG_PING) {
		Mhcl__Ping *p = mhcl__ping__unpack(NULL, msg->body_len, msg->body);
		ASSERT_TRUE(p != NULL);
		r->cookie = p->cookie;
		mhcl__ping__free_unpacked(p, NULL);
	}
	if (msg->nfds) {
		r->fd = msg->fds[0];
		msg->fds[0] = -1;
	}
}

static inline int send_ping(struct ipc_chan *ch, uint64_t cookie, uint32_t timeout_ms,
			    struct reply *r)
{
	Mhcl__Ping p = MHCL__PING__INIT;

	memset(r, 0, sizeof(*r));
	p.cookie = cookie;
	return ipc_chan_request(ch, IPC_MSG_PING, &p.base, NULL, 0, timeout_ms, reply_done, r);
}

/* Builds a raw frame: header fields as given, then body. Returns its length. */
static inline size_t raw_frame(uint8_t *buf, uint32_t body_len, uint16_t version, uint16_t type,
			       uint32_t request_id, uint16_t flags, uint16_t nfds, const void *body,
			       size_t body_bytes)
{
	struct ipc_frame_hdr hdr = {
	    .body_len = body_len,
	    .version = version,
	    .type = type,
	    .request_id = request_id,
	    .flags = flags,
	    .nfds = nfds,
	};

	memcpy(buf, &hdr, sizeof(hdr));
	if (body_bytes)
		memcpy(buf + sizeof(hdr), body, body_bytes);
	return sizeof(hdr) + body_bytes;
}

/* A packed Ping frame (request unless flags says otherwise). */
static inline size_t ping_frame(uint8_t *buf, uint32_t request_id, uint16_t flags, uint64_t cookie)
{
	Mhcl__Ping p = MHCL__PING__INIT;
	uint8_t body[32];
	size_t n;

	p.cookie = cookie;
	n = mhcl__ping__pack(&p, body);
	return raw_frame(buf, (uint32_t)n, IPC_VERSION, IPC_MSG_PING, request_id, flags, 0, body,
			 n);
}

/* Sends buf with fds over a raw socket, blocking. */
static inline void raw_send(int fd, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int) * 16)];
	} cbuf;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	ASSERT_LE(nfds, 16);
	if (nfds) {
		struct cmsghdr *c;
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ASSERT_EQ(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* recv() without blocking on a raw end. A peer that closed with frames of
 * ours unread makes the first recv fail with ECONNRESET ahead of the frames
 * it sent: skip that. */
static inline ssize_t raw_recv(int fd, void *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);

	if (n < 0 && errno == ECONNRESET)
		n = recv(fd, buf, len, MSG_DONTWAIT);
	return n;
}

/*
 * Reads one frame sent to a raw SEQPACKET end without blocking and checks
 * it is an error response to request_id carrying err. Returns false when
 * nothing is waiting.
 */
static inline bool raw_read_error(int fd, uint32_t request_id, int err)
{
	static uint8_t buf[sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX];
	struct ipc_frame_hdr hdr;
	struct ipc_msg msg = {0};
	ssize_t n = raw_recv(fd, buf, sizeof(buf));

	if ((n < 0 && errno == EAGAIN) || n == 0)
		return false;
	ASSERT_GT(n, 0);
	ASSERT_OK(ipc_frame_decode(buf, (size_t)n, 0, false, &hdr));
	ASSERT_EQ(hdr.flags, IPC_F_RESPONSE | IPC_F_ERROR);
	ASSERT_UEQ(hdr.request_id, request_id);
	msg.body = buf + sizeof(hdr);
	msg.body_len = hdr.body_len;
	msg.flags = hdr.flags;
	ASSERT_EQ(ipc_msg_error(&msg, NULL, 0), err);
	return true;
}

#endif
