/* SPDX-License-Identifier: MIT */
/*
 * Bus channels: one connected socket watched by a uv_poll_t.
 *
 * Receive: SEQPACKET reads one packet per recvmsg() with its SCM_RIGHTS fds
 * (close-on-exec); STREAM reassembles frames from the byte stream in the
 * same fixed buffer. Both buffers are allocated when the channel opens.
 *
 * Send: a frame is packed into the channel's send buffer and written at
 * once; only when the socket is full (EAGAIN) is it copied to a send queue
 * (fds duplicated) and written when the socket turns writable.
 *
 * Requests: each outstanding request holds a slot with its own uv_timer.
 * Slots live in fixed chunks (handles never move) and are reused FIFO. The
 * request id carries the slot index in its low bits and a per-slot sequence
 * above, so a response is matched in O(1) and a stale or forged id is
 * recognised.
 *
 * Lifetime: closing stops the poll and closes every handle; the last close
 * callback completes the pending requests, calls on_close and frees the
 * channel. Nothing is freed while a callback of ours is on the stack, so
 * every entry point may be called from any callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"
/* <sys/param.h> (through uv.h) defines MIN/MAX too; use macros.h's. */
#undef MIN
#undef MAX
#include "macros.h"
#include "bus.pb-c.h"

#define FRAME_MAX (sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX)

/* Request slots: REQ_CHUNK per allocation, at most REQ_MAX per channel. The
 * request id is (sequence << REQ_IDX_BITS) | slot index. */
#define REQ_IDX_BITS 12
#define REQ_MAX (1u << REQ_IDX_BITS)
#define REQ_CHUNK 64u
#define REQ_NCHUNKS (REQ_MAX / REQ_CHUNK)
#define REQ_NONE UINT32_MAX

/* Bytes the send queue may hold before sends fail with -ENOBUFS. */
#define SENDQ_MAX (4u * 1024u * 1024u)
/* Frames handled per readable event before yielding to the loop. */
#define RECV_BUDGET 64

enum req_state {
	REQ_FREE,
	REQ_PENDING,
};

struct ipc_req {
	uv_timer_t timer;
	struct ipc_chan *ch;
	ipc_reply_fn fn;
	void *opaque;
	uint32_t id;	     /* current id while pending */
	uint32_t expired_id; /* id of the last request that timed out here */
	uint32_t seq;
	uint32_t next_free;
	enum req_state state;
};

struct ipc_out {
	struct ipc_out *next;
	size_t len, off;
	int fds[IPC_FDS_MAX];
	size_t nfds;
	uint8_t data[];
};

struct ipc_chan {
	uv_loop_t *loop;
	uv_poll_t poll;
	int fd;
	enum ipc_transport transport;
	const struct ipc_chan_ops *ops;
	void *opaque;

	int poll_events;
	bool closing;
	bool reset_seen;
	int close_reason;
	unsigned handles_open;

	uint8_t *rbuf; /* FRAME_MAX bytes */
	size_t rlen;   /* stream: bytes buffered */
	uint8_t *tbuf; /* FRAME_MAX bytes */

	struct ipc_out *outq, **outq_tail;
	size_t outq_bytes;

	struct ipc_req *chunks[REQ_NCHUNKS];
	unsigned nchunks;
	uint32_t free_head, free_tail;
	uint32_t pending;

	struct ipc_chan_stats stats;
};

static void chan_abort(struct ipc_chan *ch, int reason);
static void on_poll(uv_poll_t *p, int status, int events);

static struct ipc_req *req_at(struct ipc_chan *ch, uint32_t idx)
{
	return &ch->chunks[idx / REQ_CHUNK][idx % REQ_CHUNK];
}

static void free_push(struct ipc_chan *ch, uint32_t idx)
{
	req_at(ch, idx)->next_free = REQ_NONE;
	if (ch->free_tail == REQ_NONE)
		ch->free_head = idx;
	else
		req_at(ch, ch->free_tail)->next_free = idx;
	ch->free_tail = idx;
}

static int chunk_add(struct ipc_chan *ch)
{
	struct ipc_req *chunk;
	uint32_t base;

	if (ch->nchunks == REQ_NCHUNKS)
		return -ENOBUFS;
	chunk = calloc(REQ_CHUNK, sizeof(*chunk));
	if (!chunk)
		return -ENOMEM;
	base = ch->nchunks * REQ_CHUNK;
	ch->chunks[ch->nchunks++] = chunk;
	for (uint32_t i = 0; i < REQ_CHUNK; i++) {
		chunk[i].ch = ch;
		chunk[i].state = REQ_FREE;
		(void)uv_timer_init(ch->loop, &chunk[i].timer);
		chunk[i].timer.data = ch;
		free_push(ch, base + i);
	}
	return 0;
}

static int req_alloc(struct ipc_chan *ch, struct ipc_req **ret_req)
{
	struct ipc_req *req;
	uint32_t idx;
	int r;

	if (ch->free_head == REQ_NONE) {
		r = chunk_add(ch);
		if (r < 0)
			return r;
	}
	idx = ch->free_head;
	req = req_at(ch, idx);
	ch->free_head = req->next_free;
	if (ch->free_head == REQ_NONE)
		ch->free_tail = REQ_NONE;

	/* Id 0 means "no request": slot 0 skips sequence 0. */
	req->id = (req->seq << REQ_IDX_BITS) | idx;
	if (req->id == 0) {
		req->seq++;
		req->id = (req->seq << REQ_IDX_BITS) | idx;
	}
	req->seq = (req->seq + 1) & ((1u << (32 - REQ_IDX_BITS)) - 1);
	req->state = REQ_PENDING;
	ch->pending++;
	*ret_req = req;
	return 0;
}

static void req_release(struct ipc_chan *ch, struct ipc_req *req)
{
	(void)uv_timer_stop(&req->timer);
	req->state = REQ_FREE;
	req->fn = NULL;
	req->opaque = NULL;
	ch->pending--;
	free_push(ch, req->id & (REQ_MAX - 1));
}

/* Finds the pending request a response answers; NULL for an unknown id. */
static struct ipc_req *req_find(struct ipc_chan *ch, uint32_t id)
{
	uint32_t idx = id & (REQ_MAX - 1);
	struct ipc_req *req;

	if (idx >= ch->nchunks * REQ_CHUNK)
		return NULL;
	req = req_at(ch, idx);
	if (req->state != REQ_PENDING || req->id != id)
		return NULL;
	return req;
}

static void close_fds(int *fds, size_t nfds)
{
	for (size_t i = 0; i < nfds; i++)
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
}

static void out_free(struct ipc_out *o)
{
	close_fds(o->fds, o->nfds);
	free(o);
}

static void update_poll(struct ipc_chan *ch)
{
	int events = UV_READABLE | (ch->outq ? UV_WRITABLE : 0);

	if (ch->closing || events == ch->poll_events)
		return;
	ch->poll_events = events;
	(void)uv_poll_start(&ch->poll, events, on_poll);
}

/*
 * One sendmsg() without blocking. Returns bytes written or -errno; a
 * SEQPACKET frame is all or nothing.
 */
static ssize_t send_raw(struct ipc_chan *ch, const uint8_t *buf, size_t len, const int *fds,
			size_t nfds)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
	} cbuf;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

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
	do
		n = sendmsg(ch->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Writes queued frames until the queue is empty or the socket is full. */
static int flush_queue(struct ipc_chan *ch)
{
	struct ipc_out *o;
	ssize_t n;

	while ((o = ch->outq)) {
		/* fds travel with the first byte of their frame. */
		n = send_raw(ch, o->data + o->off, o->len - o->off, o->off ? NULL : o->fds,
			     o->off ? 0 : o->nfds);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return 0;
		if (n < 0)
			return (int)n;
		ch->stats.bytes_out += (uint64_t)n;
		o->off += (size_t)n;
		close_fds(o->fds, o->nfds);
		if (o->off < o->len)
			continue;
		ch->stats.frames_out++;
		ch->outq = o->next;
		if (!ch->outq)
			ch->outq_tail = &ch->outq;
		ch->outq_bytes -= o->len;
		free(o);
	}
	return 0;
}

static int enqueue(struct ipc_chan *ch, const uint8_t *buf, size_t len, size_t off, const int *fds,
		   size_t nfds)
{
	struct ipc_out *o;

	if (ch->outq_bytes + len > SENDQ_MAX)
		return -ENOBUFS;
	o = malloc(sizeof(*o) + len);
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = len;
	o->off = off;
	o->nfds = 0;
	/* The caller's fds are borrowed: keep our own copies until sent. */
	if (off == 0)
		for (size_t i = 0; i < nfds; i++) {
			int fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
			if (fd < 0) {
				int r = -errno;
				out_free(o);
				return r;
			}
			o->fds[o->nfds++] = fd;
		}
	memcpy(o->data, buf, len);
	*ch->outq_tail = o;
	ch->outq_tail = &o->next;
	ch->outq_bytes += len;
	update_poll(ch);
	return 0;
}

/*
 * Frames and sends one message, or queues it when the socket is full.
 * Returns 0 or -errno; the message was not sent on error.
 */
static int chan_send(struct ipc_chan *ch, uint16_t type, uint16_t flags, uint32_t request_id,
		     const ProtobufCMessage *body, const int *fds, size_t nfds)
{
	struct ipc_frame_hdr hdr;
	size_t body_len = 0, len;
	ssize_t n;

	if (ch->closing)
		return -ENOTCONN;
	if (type == IPC_MSG_INVALID || type >= _IPC_MSG_MAX)
		return -EINVAL;
	if (nfds > IPC_FDS_MAX || (nfds && !fds))
		return -EINVAL;
	if (nfds && ch->transport != IPC_TRANSPORT_SEQPACKET)
		return -EINVAL;
	for (size_t i = 0; i < nfds; i++)
		if (fds[i] < 0)
			return -EBADF;
	if (body) {
		body_len = protobuf_c_message_get_packed_size(body);
		if (body_len > IPC_BODY_MAX)
			return -EMSGSIZE;
		if (protobuf_c_message_pack(body, ch->tbuf + sizeof(hdr)) != body_len)
			return -EINVAL;
	}
	ipc_frame_encode(&hdr, type, flags, request_id, (uint32_t)body_len, (uint16_t)nfds);
	memcpy(ch->tbuf, &hdr, sizeof(hdr));
	len = sizeof(hdr) + body_len;

	/* Keep frames in order behind anything already queued. */
	if (ch->outq)
		return enqueue(ch, ch->tbuf, len, 0, fds, nfds);

	n = send_raw(ch, ch->tbuf, len, fds, nfds);
	if (n == -EAGAIN || n == -EWOULDBLOCK)
		return enqueue(ch, ch->tbuf, len, 0, fds, nfds);
	if (n < 0)
		return (int)n;
	ch->stats.bytes_out += (uint64_t)n;
	if ((size_t)n < len)
		/* Stream sockets may take part of a frame; the fds (none on
		 * stream) went with the first byte. */
		return enqueue(ch, ch->tbuf, len, (size_t)n, NULL, 0);
	ch->stats.frames_out++;
	return 0;
}

static int send_error(struct ipc_chan *ch, uint32_t request_id, uint16_t type, int err,
		      const char *text)
{
	Mhcl__ErrorReply er = MHCL__ERROR_REPLY__INIT;

	if (err >= 0 || err < -4095)
		return -EINVAL;
	er.errno_code = -err;
	er.message = (char *)text;
	if (type == IPC_MSG_INVALID || type >= _IPC_MSG_MAX)
		type = IPC_MSG_ERROR;
	return chan_send(ch, type, IPC_F_RESPONSE | IPC_F_ERROR, request_id, &er.base, NULL, 0);
}

static void on_handle_closed(uv_handle_t *h);

/*
 * The last handle closed: nothing of ours is on the stack any more. Complete
 * what is pending, tell the owner, free.
 */
static void chan_finish(struct ipc_chan *ch)
{
	int reason = ch->close_reason;
	int status = reason ? reason : -ECANCELED;

	for (uint32_t i = 0; i < ch->nchunks * REQ_CHUNK; i++) {
		struct ipc_req *req = req_at(ch, i);
		ipc_reply_fn fn = req->fn;
		void *opaque = req->opaque;

		if (req->state != REQ_PENDING)
			continue;
		req->state = REQ_FREE;
		ch->pending--;
		fn(ch, status, NULL, opaque);
	}
	if (ch->ops && ch->ops->on_close)
		ch->ops->on_close(ch, reason, ch->opaque);

	while (ch->outq) {
		struct ipc_out *o = ch->outq;
		ch->outq = o->next;
		out_free(o);
	}
	close(ch->fd);
	for (unsigned i = 0; i < ch->nchunks; i++)
		free(ch->chunks[i]);
	free(ch->rbuf);
	free(ch->tbuf);
	free(ch);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct ipc_chan *ch = h->data;

	if (--ch->handles_open == 0)
		chan_finish(ch);
}

/*
 * Starts closing: no more I/O or callbacks except the final ones from the
 * loop. A frame already queued gets one last non-blocking try, so a reply
 * or error response sent just before closing usually still goes out.
 */
static void chan_abort(struct ipc_chan *ch, int reason)
{
	if (ch->closing)
		return;
	if (ch->outq)
		(void)flush_queue(ch);
	ch->closing = true;
	ch->close_reason = reason;
	/* The peer sees the end now, not when the loop gets round to closing the fd: a
	 * server handing over to its next instance has closed its connections when it
	 * says so. */
	(void)shutdown(ch->fd, SHUT_RDWR);

	ch->poll.data = ch;
	ch->handles_open++;
	uv_close((uv_handle_t *)&ch->poll, on_handle_closed);
	for (uint32_t i = 0; i < ch->nchunks * REQ_CHUNK; i++) {
		struct ipc_req *req = req_at(ch, i);
		ch->handles_open++;
		uv_close((uv_handle_t *)&req->timer, on_handle_closed);
	}
}

/*
 * Bad peer input: answer a request whose id could be read, then close the
 * channel with reason. Only this channel is affected.
 */
static void chan_bad_input(struct ipc_chan *ch, const uint8_t *buf, size_t len, int reason)
{
	struct ipc_frame_hdr hdr;

	ch->stats.bad_frames++;
	if (len >= sizeof(hdr)) {
		memcpy(&hdr, buf, sizeof(hdr));
		if ((hdr.flags & IPC_F_KIND_MASK) == IPC_F_REQUEST && hdr.request_id != 0) {
			char text[96];
			snprintf(text, sizeof(text), "bad frame: %s", strerror(-reason));
			(void)send_error(ch, hdr.request_id, hdr.type, reason, text);
		}
	}
	chan_abort(ch, reason);
}

static void on_req_timeout(uv_timer_t *t)
{
	struct ipc_req *req = container_of(t, struct ipc_req, timer);
	struct ipc_chan *ch = req->ch;
	ipc_reply_fn fn = req->fn;
	void *opaque = req->opaque;

	if (ch->closing || req->state != REQ_PENDING)
		return;
	/* A late response to this id is dropped instead of failing the
	 * channel, as long as the slot has not been reused. */
	req->expired_id = req->id;
	req_release(ch, req);
	fn(ch, -ETIMEDOUT, NULL, opaque);
}

/* Dispatches one validated frame; body points into the receive buffer. */
static void dispatch(struct ipc_chan *ch, const struct ipc_frame_hdr *hdr, const uint8_t *body,
		     int *fds, size_t nfds)
{
	struct ipc_msg msg = {
	    .type = hdr->type,
	    .flags = hdr->flags,
	    .request_id = hdr->request_id,
	    .body = body,
	    .body_len = hdr->body_len,
	    .nfds = nfds,
	};

	for (size_t i = 0; i < IPC_FDS_MAX; i++)
		msg.fds[i] = i < nfds ? fds[i] : -1;
	ch->stats.frames_in++;

	switch (hdr->flags & IPC_F_KIND_MASK) {
	case IPC_F_REQUEST:
		if (ch->ops && ch->ops->on_request)
			ch->ops->on_request(ch, &msg, ch->opaque);
		else
			(void)send_error(ch, hdr->request_id, hdr->type, -EOPNOTSUPP,
					 "no handler for this message type");
		break;
	case IPC_F_NOTIFY:
		if (ch->ops && ch->ops->on_notify)
			ch->ops->on_notify(ch, &msg, ch->opaque);
		break;
	case IPC_F_RESPONSE: {
		struct ipc_req *req = req_find(ch, hdr->request_id);
		ipc_reply_fn fn;
		void *opaque;

		if (!req) {
			uint32_t idx = hdr->request_id & (REQ_MAX - 1);
			if (idx < ch->nchunks * REQ_CHUNK &&
			    req_at(ch, idx)->expired_id == hdr->request_id) {
				req_at(ch, idx)->expired_id = 0;
				break;
			}
			ch->stats.bad_frames++;
			chan_abort(ch, -EPROTO);
			break;
		}
		fn = req->fn;
		opaque = req->opaque;
		req_release(ch, req);
		fn(ch, (hdr->flags & IPC_F_ERROR) ? -EREMOTEIO : 0, &msg, opaque);
		break;
	}
	}
	/* fds the callback did not take. */
	close_fds(msg.fds, IPC_FDS_MAX);
}

/* Returns 1 when a packet was handled, 0 when the socket is empty, <0 to stop. */
static int recv_one(struct ipc_chan *ch)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
	} cbuf;
	bool stream = ch->transport == IPC_TRANSPORT_STREAM;
	struct iovec iov = {
	    .iov_base = ch->rbuf + (stream ? ch->rlen : 0),
	    .iov_len = FRAME_MAX - (stream ? ch->rlen : 0),
	};
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cbuf.buf,
	    .msg_controllen = sizeof(cbuf.buf),
	};
	int fds[IPC_FDS_MAX];
	size_t nfds = 0;
	bool surplus = false;
	ssize_t n;
	int r;

	do
		n = recvmsg(ch->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		r = -errno;
		/* A unix socket reports the peer's reset (it closed with our
		 * frames unread) before the frames it sent: read those first.
		 * The end of the stream follows them. */
		if (r == -ECONNRESET && !ch->reset_seen) {
			ch->reset_seen = true;
			return 1;
		}
		chan_abort(ch, r);
		return r;
	}

	/* Take every fd that arrived before judging anything, so none leaks. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t cnt;
		int *data;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		data = (int *)(void *)CMSG_DATA(c);
		for (size_t i = 0; i < cnt; i++) {
			int fd;
			memcpy(&fd, &data[i], sizeof(fd));
			if (nfds < IPC_FDS_MAX) {
				fds[nfds++] = fd;
			} else {
				close(fd);
				surplus = true;
			}
		}
	}

	if (n == 0) {
		close_fds(fds, nfds);
		chan_abort(ch, ch->reset_seen ? -ECONNRESET : -EPIPE);
		return -EPIPE;
	}
	ch->stats.bytes_in += (uint64_t)n;

	if (stream) {
		if (nfds || surplus || (mh.msg_flags & MSG_CTRUNC)) {
			/* fds are not part of the stream protocol. */
			close_fds(fds, nfds);
			chan_bad_input(ch, ch->rbuf, ch->rlen + (size_t)n, -EBADMSG);
			return -EBADMSG;
		}
		ch->rlen += (size_t)n;
		return 1;
	}

	if (mh.msg_flags & MSG_TRUNC) {
		close_fds(fds, nfds);
		chan_bad_input(ch, ch->rbuf, (size_t)n, -EMSGSIZE);
		return -EMSGSIZE;
	}
	if (surplus || (mh.msg_flags & MSG_CTRUNC)) {
		close_fds(fds, nfds);
		chan_bad_input(ch, ch->rbuf, (size_t)n, -EBADMSG);
		return -EBADMSG;
	}

	struct ipc_frame_hdr hdr;
	r = ipc_frame_decode(ch->rbuf, (size_t)n, nfds, false, &hdr);
	if (r < 0) {
		close_fds(fds, nfds);
		chan_bad_input(ch, ch->rbuf, (size_t)n, r);
		return r;
	}
	dispatch(ch, &hdr, ch->rbuf + sizeof(hdr), fds, nfds);
	return 1;
}

/* Dispatches every complete frame in the stream buffer. */
static int stream_parse(struct ipc_chan *ch)
{
	size_t pos = 0;
	int r = 0;

	while (!ch->closing) {
		struct ipc_frame_hdr hdr;

		r = ipc_frame_decode(ch->rbuf + pos, ch->rlen - pos, 0, true, &hdr);
		if (r == -EAGAIN) {
			r = 0;
			break;
		}
		if (r < 0) {
			chan_bad_input(ch, ch->rbuf + pos, ch->rlen - pos, r);
			return r;
		}
		dispatch(ch, &hdr, ch->rbuf + pos + sizeof(hdr), NULL, 0);
		pos += sizeof(hdr) + hdr.body_len;
	}
	if (ch->closing)
		return -ECANCELED;
	if (pos) {
		memmove(ch->rbuf, ch->rbuf + pos, ch->rlen - pos);
		ch->rlen -= pos;
	}
	return r;
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct ipc_chan *ch = container_of(p, struct ipc_chan, poll);
	int r;

	if (ch->closing)
		return;
	if (status < 0) {
		/* The socket has an error (libuv reports POLLERR as UV_EBADF and
		 * stops the handle). A peer that closed with our frames unread
		 * leaves ECONNRESET behind frames it sent before: read those,
		 * then close with the socket's error. */
		int err = 0;
		socklen_t len = sizeof(err);

		while (!ch->closing && recv_one(ch) > 0)
			if (ch->transport == IPC_TRANSPORT_STREAM && stream_parse(ch) < 0)
				break;
		if (ch->closing)
			return;
		if (getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err == 0)
			err = EPIPE;
		chan_abort(ch, -err);
		return;
	}
	if (events & UV_WRITABLE) {
		r = flush_queue(ch);
		if (r < 0) {
			chan_abort(ch, r == -ECONNRESET ? -ECONNRESET : -EPIPE);
			return;
		}
		update_poll(ch);
	}
	if (events & (UV_READABLE | UV_DISCONNECT)) {
		for (int i = 0; i < RECV_BUDGET && !ch->closing; i++) {
			r = recv_one(ch);
			if (r <= 0)
				break;
			if (ch->transport == IPC_TRANSPORT_STREAM && stream_parse(ch) < 0)
				break;
		}
	}
}

int ipc_chan_open(uv_loop_t *loop, int fd, enum ipc_transport transport,
		  const struct ipc_chan_ops *ops, void *opaque, struct ipc_chan **ret_ch)
{
	_cleanup_close_ int owned = fd;
	struct ipc_chan *ch;
	int flags, r;

	if (!loop || fd < 0 || !ret_ch ||
	    (transport != IPC_TRANSPORT_SEQPACKET && transport != IPC_TRANSPORT_STREAM))
		return -EINVAL;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	flags = fcntl(fd, F_GETFD);
	if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
		return -errno;
	if (transport == IPC_TRANSPORT_STREAM) {
		int one = 1;
		/* TCP only; other stream sockets refuse it, which is fine. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}

	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	ch->rbuf = malloc(FRAME_MAX);
	ch->tbuf = malloc(FRAME_MAX);
	if (!ch->rbuf || !ch->tbuf) {
		r = -ENOMEM;
		goto err_free;
	}
	ch->loop = loop;
	ch->transport = transport;
	ch->ops = ops;
	ch->opaque = opaque;
	ch->outq_tail = &ch->outq;
	ch->free_head = ch->free_tail = REQ_NONE;

	r = uv_poll_init(loop, &ch->poll, fd);
	if (r < 0)
		goto err_free;
	ch->fd = take_fd(&owned);
	ch->poll_events = UV_READABLE;
	r = uv_poll_start(&ch->poll, UV_READABLE, on_poll);
	if (r < 0) {
		/* The poll handle is registered with the loop: close it the
		 * normal way, without telling an owner who never saw it. */
		ch->ops = NULL;
		chan_abort(ch, r);
		return r;
	}
	*ret_ch = ch;
	return 0;

err_free:
	free(ch->rbuf);
	free(ch->tbuf);
	free(ch);
	return r;
}

void ipc_chan_close(struct ipc_chan *ch)
{
	if (ch)
		chan_abort(ch, 0);
}

void ipc_chan_abort(struct ipc_chan *ch, int reason)
{
	if (ch)
		chan_abort(ch, reason < 0 ? reason : -EPROTO);
}

bool ipc_chan_is_closing(struct ipc_chan *ch)
{
	return ch->closing;
}

void *ipc_chan_opaque(struct ipc_chan *ch)
{
	return ch->opaque;
}

void ipc_chan_set_opaque(struct ipc_chan *ch, void *opaque)
{
	ch->opaque = opaque;
}

bool ipc_chan_peer_hung_up(struct ipc_chan *ch)
{
	struct pollfd p = {.fd = ch->fd, .events = POLLRDHUP};
	if (ch->closing)
		return true;
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

int ipc_chan_peer_pid(struct ipc_chan *ch, int *ret_pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int domain;
	socklen_t dlen = sizeof(domain);

	if (getsockopt(ch->fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0)
		return -errno;
	if (domain != AF_UNIX)
		return -ENOTSUP;
	if (getsockopt(ch->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (cred.pid <= 0)
		return -ENOTSUP;
	*ret_pid = cred.pid;
	return 0;
}

int ipc_chan_request(struct ipc_chan *ch, uint16_t type, const ProtobufCMessage *body,
		     const int *fds, size_t nfds, uint32_t timeout_ms, ipc_reply_fn reply_fn,
		     void *opaque)
{
	struct ipc_req *req;
	int r;

	if (!reply_fn)
		return -EINVAL;
	if (ch->closing)
		return -ENOTCONN;
	r = req_alloc(ch, &req);
	if (r < 0)
		return r;
	r = chan_send(ch, type, IPC_F_REQUEST, req->id, body, fds, nfds);
	if (r < 0) {
		req_release(ch, req);
		return r;
	}
	req->fn = reply_fn;
	req->opaque = opaque;
	(void)uv_timer_start(&req->timer, on_req_timeout,
			     timeout_ms ? timeout_ms : IPC_DEFAULT_TIMEOUT_MS, 0);
	return 0;
}

int ipc_chan_reply(struct ipc_chan *ch, uint32_t request_id, uint16_t type,
		   const ProtobufCMessage *body, const int *fds, size_t nfds)
{
	if (request_id == 0)
		return -EINVAL;
	return chan_send(ch, type, IPC_F_RESPONSE, request_id, body, fds, nfds);
}

int ipc_chan_reply_error(struct ipc_chan *ch, uint32_t request_id, uint16_t type, int err,
			 const char *fmt, ...)
{
	char text[256] = "";
	va_list ap;

	if (request_id == 0)
		return -EINVAL;
	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
	}
	return send_error(ch, request_id, type, err, text);
}

int ipc_chan_notify(struct ipc_chan *ch, uint16_t type, const ProtobufCMessage *body,
		    const int *fds, size_t nfds)
{
	return chan_send(ch, type, IPC_F_NOTIFY, 0, body, fds, nfds);
}

int ipc_msg_error(const struct ipc_msg *msg, char *buf, size_t buf_len)
{
	Mhcl__ErrorReply *er;
	int err;

	if (ipc_body_unpack(&mhcl__error_reply__descriptor, msg->body, msg->body_len,
			    IPC_DECODE_DEPTH_MAX, (ProtobufCMessage **)&er) < 0)
		return -EBADMSG;
	if (er->errno_code <= 0 || er->errno_code > 4095) {
		mhcl__error_reply__free_unpacked(er, NULL);
		return -EBADMSG;
	}
	err = -er->errno_code;
	if (buf && buf_len)
		snprintf(buf, buf_len, "%s", er->message ? er->message : "");
	mhcl__error_reply__free_unpacked(er, NULL);
	return err;
}

int ipc_msg_decode(struct ipc_chan *ch, const struct ipc_msg *msg,
		   const ProtobufCMessageDescriptor *desc, unsigned depth_max,
		   ProtobufCMessage **ret_msg)
{
	int r = ipc_body_unpack(desc, msg->body, msg->body_len, depth_max, ret_msg);

	if (r == 0)
		return 0;
	ch->stats.bad_frames++;
	if ((msg->flags & IPC_F_KIND_MASK) == IPC_F_REQUEST)
		(void)send_error(ch, msg->request_id, msg->type, -EBADMSG,
				 r == -EBADMSG ? "undecodable body" : ipc_body_strerror(r));
	chan_abort(ch, -EBADMSG);
	return r;
}

ProtobufCMessage *ipc_msg_unpack(struct ipc_chan *ch, const struct ipc_msg *msg,
				 const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m;

	return ipc_msg_decode(ch, msg, desc, IPC_DECODE_DEPTH_MAX, &m) == 0 ? m : NULL;
}

void ipc_chan_get_stats(struct ipc_chan *ch, struct ipc_chan_stats *ret_stats)
{
	*ret_stats = ch->stats;
	ret_stats->requests_pending = ch->pending;
}
