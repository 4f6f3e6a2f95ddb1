/* SPDX-License-Identifier: MIT */
/*
 * A live channel in a private loop fed hostile bytes through the other end
 * of its socket, then run until idle. It must never crash, leak memory or
 * fds, or send anything that is not a valid frame.
 *
 * Input:
 *   byte 0     bit 0: STREAM (else SEQPACKET); bit 1: the channel first
 *              sends two requests of its own (ids 4096 and 1, so seeds can
 *              answer them); bit 2: the raw end closes without reading
 *   records    ctl u8, len u16 (little-endian), then up to len bytes
 *              ctl bits 0-3: fds to attach (a pipe end, repeated)
 *              ctl bit 4:    run the loop once before sending this record
 *              ctl bit 5:    pad the packet past the largest frame
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "ipc.h"

#define CHECK(e)                                                                                   \
	do {                                                                                       \
		if (!(e))                                                                          \
			abort();                                                                   \
	} while (0)

#define FRAME_MAX (sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX)

struct state {
	bool stream;
	bool closed;
	int close_reason;
	unsigned replies;
	/* What the raw end has read back, for stream reassembly. */
	uint8_t in[2 * FRAME_MAX];
	size_t in_len;
};

static uint8_t pkt[FRAME_MAX + 64];

static void on_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	Mhcl__Ping *p, reply = MHCL__PING__INIT;

	/* Keep one fd now and then, as a handler may. */
	if (msg->nfds && (msg->request_id & 1)) {
		int fd = msg->fds[0];
		msg->fds[0] = -1;
		close(fd);
	}
	if (msg->type != IPC_MSG_PING) {
		(void)ipc_chan_reply_error(ch, msg->request_id, msg->type, -EOPNOTSUPP, "type %u",
					   msg->type);
		return;
	}
	p = (Mhcl__Ping *)ipc_msg_unpack(ch, msg, &mhcl__ping__descriptor);
	if (!p)
		return;
	reply.cookie = p->cookie;
	protobuf_c_message_free_unpacked(&p->base, NULL);
	(void)ipc_chan_reply(ch, msg->request_id, IPC_MSG_PING, &reply.base, NULL, 0);
	/* A handler that closes its channel when asked. */
	if (reply.cookie == 0xdead)
		ipc_chan_close(ch);
}

static void on_notify(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	Mhcl__Ping *p = (Mhcl__Ping *)ipc_msg_unpack(ch, msg, &mhcl__ping__descriptor);

	if (p)
		protobuf_c_message_free_unpacked(&p->base, NULL);
}

static void on_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct state *st = opaque;

	CHECK(!st->closed);
	CHECK(reason <= 0);
	st->closed = true;
	st->close_reason = reason;
}

static const struct ipc_chan_ops ops = {
    .on_request = on_request,
    .on_notify = on_notify,
    .on_close = on_close,
};

static void on_reply(struct ipc_chan *ch, int status, struct ipc_msg *msg, void *opaque)
{
	struct state *st = opaque;
	char text[64];

	st->replies++;
	CHECK(status <= 0);
	CHECK((msg != NULL) == (status == 0 || status == -EREMOTEIO));
	if (status == -EREMOTEIO) {
		int r = ipc_msg_error(msg, text, sizeof(text));
		CHECK(r < 0);
	}
}

/* Reads what the channel sent to the raw end; everything must be a valid frame. */
static void drain(struct state *st, int raw)
{
	for (;;) {
		struct ipc_frame_hdr h;
		size_t space = sizeof(st->in) - st->in_len;
		ssize_t n = recv(raw, st->in + st->in_len, space, MSG_DONTWAIT);

		if (n < 0 && errno == ECONNRESET)
			continue;
		if (n <= 0)
			return;
		if (!st->stream) {
			/* The channel never sends fds here, so the count must be 0. */
			CHECK(ipc_frame_decode(st->in, (size_t)n, 0, false, &h) == 0);
			continue;
		}
		st->in_len += (size_t)n;
		for (;;) {
			int r = ipc_frame_decode(st->in, st->in_len, 0, true, &h);
			if (r == -EAGAIN)
				break;
			CHECK(r == 0);
			memmove(st->in, st->in + sizeof(h) + h.body_len,
				st->in_len - sizeof(h) - h.body_len);
			st->in_len -= sizeof(h) + h.body_len;
		}
	}
}

static void send_record(struct state *st, uv_loop_t *loop, int raw, const uint8_t *buf, size_t len,
			unsigned nfds)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int) * 15)];
	} cbuf;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int pfd[2] = {-1, -1};

	if (nfds && pipe2(pfd, O_CLOEXEC) == 0) {
		struct cmsghdr *c;
		int fds[15];

		for (unsigned i = 0; i < nfds; i++)
			fds[i] = pfd[1];
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	/* The channel may have closed already: then the send fails, which is fine. */
	for (int tries = 0; tries < 1000; tries++) {
		ssize_t n = sendmsg(raw, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		drain(st, raw);
		uv_run(loop, UV_RUN_NOWAIT);
	}
	if (pfd[0] >= 0) {
		close(pfd[0]);
		close(pfd[1]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state st;
	uv_loop_t loop;
	struct ipc_chan *ch;
	int fds[2], probe_before, probe_after, raw;
	bool unread;
	size_t pos = 1;

	if (size < 1)
		return 0;
	probe_before = dup(2);
	close(probe_before);

	memset(&st, 0, sizeof(st));
	st.stream = data[0] & 1;
	unread = data[0] & 4;
	CHECK(socketpair(AF_UNIX, (st.stream ? SOCK_STREAM : SOCK_SEQPACKET) | SOCK_CLOEXEC, 0,
			 fds) == 0);
	raw = fds[0];
	CHECK(uv_loop_init(&loop) == 0);
	CHECK(ipc_chan_open(&loop, fds[1],
			    st.stream ? IPC_TRANSPORT_STREAM : IPC_TRANSPORT_SEQPACKET, &ops, &st,
			    &ch) == 0);
	if (data[0] & 2) {
		Mhcl__Ping p = MHCL__PING__INIT;
		p.cookie = 7;
		CHECK(ipc_chan_request(ch, IPC_MSG_PING, &p.base, NULL, 0, 60000, on_reply, &st) ==
		      0);
		CHECK(ipc_chan_request(ch, IPC_MSG_STOP, NULL, NULL, 0, 60000, on_reply, &st) == 0);
	}

	while (pos + 3 <= size) {
		uint8_t ctl = data[pos];
		size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		memcpy(pkt, data + pos, len);
		pos += len;
		if (ctl & 0x20) {
			memset(pkt + len, 0, sizeof(pkt) - len);
			len = sizeof(pkt);
		}
		if (ctl & 0x10)
			uv_run(&loop, UV_RUN_NOWAIT);
		send_record(&st, &loop, raw, pkt, len, ctl & 0x0f);
		if (!unread)
			drain(&st, raw);
	}

	/* Hang up and let the channel wind down; nothing may stay in the loop. */
	if (!unread)
		drain(&st, raw);
	close(raw);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(st.closed);
	if (data[0] & 2)
		CHECK(st.replies == 2);
	CHECK(uv_loop_close(&loop) == 0);

	/* No fd left open behind. */
	probe_after = dup(2);
	close(probe_after);
	CHECK(probe_after == probe_before);
	return 0;
}
