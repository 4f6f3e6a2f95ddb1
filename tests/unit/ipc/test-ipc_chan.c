/* SPDX-License-Identifier: MIT */
/*
 * Channels over SOCK_SEQPACKET: request/response, notifications, fd passing,
 * many requests in flight, timeouts, close semantics, peer death and hostile
 * frames (each closing only its own channel).
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "ipc-test.h"

struct pair {
	uv_loop_t loop;
	struct endpoint a, b;
};

static void pair_open(struct pair *p)
{
	int fds[2];

	ASSERT_OK(uv_loop_init(&p->loop));
	ASSERT_OK(ipc_socketpair(fds));
	ep_open(&p->loop, &p->a, fds[0], IPC_TRANSPORT_SEQPACKET);
	ep_open(&p->loop, &p->b, fds[1], IPC_TRANSPORT_SEQPACKET);
}

static void pair_close(struct pair *p)
{
	if (p->a.ch)
		ipc_chan_close(p->a.ch);
	if (p->b.ch)
		ipc_chan_close(p->b.ch);
	loop_finish(&p->loop);
	ASSERT_TRUE(p->a.closed && p->b.closed);
}

static void test_roundtrip(void)
{
	struct pair p;
	struct reply r;
	struct ipc_chan_stats st;

	pair_open(&p);
	ASSERT_OK(send_ping(p.a.ch, 0x1122334455667788ull, 0, &r));
	run_until(&p.loop, &r.done);
	ASSERT_OK(r.status);
	ASSERT_UEQ(r.cookie, 0x1122334455667788ull);
	ASSERT_EQ(r.flags, IPC_F_RESPONSE);

	/* Both directions on the same channel. */
	ASSERT_OK(send_ping(p.b.ch, 42, 0, &r));
	run_until(&p.loop, &r.done);
	ASSERT_UEQ(r.cookie, 42);

	/* Empty body: a Ping with every field default packs to 0 bytes. */
	ASSERT_OK(send_ping(p.a.ch, 0, 0, &r));
	run_until(&p.loop, &r.done);
	ASSERT_OK(r.status);
	ASSERT_UEQ(r.cookie, 0);

	/* A type nobody answers gets an error response; the channel stays. */
	memset(&r, 0, sizeof(r));
	ASSERT_OK(ipc_chan_request(p.a.ch, IPC_MSG_INSPECT, NULL, NULL, 0, 0, reply_done, &r));
	run_until(&p.loop, &r.done);
	ASSERT_EQ(r.status, -EREMOTEIO);
	ASSERT_EQ(r.err, -EOPNOTSUPP);
	ASSERT_STREQ(r.text, "type 4");

	/* Notifications. */
	Mhcl__Ping n = MHCL__PING__INIT;
	n.cookie = 99;
	ASSERT_OK(ipc_chan_notify(p.a.ch, IPC_MSG_PING, &n.base, NULL, 0));
	ASSERT_OK(send_ping(p.a.ch, 1, 0, &r));
	run_until(&p.loop, &r.done);
	ASSERT_EQ(p.b.notifies, 1);
	ASSERT_UEQ(p.b.last_notify_cookie, 99);

	ipc_chan_get_stats(p.a.ch, &st);
	ASSERT_UEQ(st.frames_out, 6);
	ASSERT_UEQ(st.frames_in, 5);
	ASSERT_UEQ(st.bad_frames, 0);
	ASSERT_UEQ(st.requests_pending, 0);
	ASSERT_FALSE(p.a.closed || p.b.closed);

	/* Bad arguments never reach the wire. */
	ASSERT_EQ(ipc_chan_request(p.a.ch, IPC_MSG_INVALID, NULL, NULL, 0, 0, reply_done, &r),
		  -EINVAL);
	ASSERT_EQ(ipc_chan_request(p.a.ch, _IPC_MSG_MAX, NULL, NULL, 0, 0, reply_done, &r),
		  -EINVAL);
	ASSERT_EQ(ipc_chan_reply(p.a.ch, 0, IPC_MSG_PING, NULL, NULL, 0), -EINVAL);
	int bad_fd = -1;
	ASSERT_EQ(ipc_chan_notify(p.a.ch, IPC_MSG_PING, NULL, &bad_fd, 1), -EBADF);
	ASSERT_EQ(ipc_chan_notify(p.a.ch, IPC_MSG_PING, NULL, &bad_fd, IPC_FDS_MAX + 1), -EINVAL);

	/* A body over IPC_BODY_MAX is refused by the sender. */
	Mhcl__StopReply big = MHCL__STOP_REPLY__INIT;
	big.saved_state.len = IPC_BODY_MAX;
	big.saved_state.data = calloc(1, IPC_BODY_MAX);
	ASSERT_EQ(ipc_chan_notify(p.a.ch, IPC_MSG_STOP, &big.base, NULL, 0), -EMSGSIZE);
	free(big.saved_state.data);

	int pid = 0;
	ASSERT_OK(ipc_chan_peer_pid(p.a.ch, &pid));
	ASSERT_EQ(pid, getpid());

	pair_close(&p);
	ASSERT_EQ(p.a.close_reason, 0);
	ASSERT_EQ(p.b.close_reason, 0);
}

/* Large bodies at the limit, through the send queue when the socket fills. */
static void test_large(void)
{
	struct pair p;
	struct reply r[8];
	Mhcl__StopReply big = MHCL__STOP_REPLY__INIT;
	size_t max = IPC_BODY_MAX - 8;

	pair_open(&p);
	big.saved_state.len = max;
	big.saved_state.data = malloc(max);
	for (size_t i = 0; i < max; i++)
		big.saved_state.data[i] = (uint8_t)(i * 7);
	ASSERT_EQ(protobuf_c_message_get_packed_size(&big.base) <= IPC_BODY_MAX, 1);
	for (int i = 0; i < 16; i++)
		ASSERT_OK(ipc_chan_notify(p.a.ch, IPC_MSG_STOP, &big.base, NULL, 0));
	for (int i = 0; i < 8; i++)
		ASSERT_OK(send_ping(p.a.ch, (uint64_t)i, 0, &r[i]));
	run_until(&p.loop, &r[7].done);
	for (int i = 0; i < 8; i++) {
		ASSERT_TRUE(r[i].done);
		ASSERT_UEQ(r[i].cookie, (uint64_t)i);
	}
	/* Frames arrive in order: every notification came before the replies. */
	ASSERT_EQ(p.b.notifies, 16);
	ASSERT_UEQ(p.b.last_notify_cookie, max);
	free(big.saved_state.data);
	pair_close(&p);
}

/*
 * A peer that does not read: frames queue up (fds duplicated while they
 * wait) until the queue limit, then drain in order with their fds when the
 * peer reads.
 */
static void test_send_queue(void)
{
	uv_loop_t loop;
	struct endpoint a;
	Mhcl__StopReply sr = MHCL__STOP_REPLY__INIT;
	static uint8_t in[sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX];
	int fds[2], pfd[2], raw, rc;
	unsigned n = 0, got = 0, fds_got = 0;
	char c;

	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(ipc_socketpair(fds));
	ep_open(&loop, &a, fds[0], IPC_TRANSPORT_SEQPACKET);
	raw = fds[1];
	ASSERT_OK(pipe2(pfd, O_CLOEXEC));
	sr.saved_state.len = 60000;
	sr.saved_state.data = calloc(1, sr.saved_state.len);
	for (;;) {
		memcpy(sr.saved_state.data, &n, sizeof(n));
		rc = ipc_chan_notify(a.ch, IPC_MSG_STOP, &sr.base, &pfd[1], n % 3 == 0 ? 1 : 0);
		if (rc < 0)
			break;
		n++;
	}
	ASSERT_EQ(rc, -ENOBUFS);
	ASSERT_GT(n, 20);
	free(sr.saved_state.data);
	/* Queued frames hold their own copies of the fd. */
	close(pfd[1]);

	while (got < n) {
		union {
			struct cmsghdr h;
			uint8_t b[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
		} cbuf;
		struct iovec iov = {.iov_base = in, .iov_len = sizeof(in)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = cbuf.b,
				    .msg_controllen = sizeof(cbuf.b)};
		struct ipc_frame_hdr hdr;
		unsigned idx;
		ssize_t len = recvmsg(raw, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (len < 0 && errno == EAGAIN) {
			uv_run(&loop, UV_RUN_NOWAIT);
			continue;
		}
		ASSERT_GT(len, 0);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		ASSERT_OK(ipc_frame_decode(in, (size_t)len, cm ? 1 : 0, false, &hdr));
		Mhcl__StopReply *m = mhcl__stop_reply__unpack(NULL, hdr.body_len, in + sizeof(hdr));
		ASSERT_TRUE(m != NULL);
		memcpy(&idx, m->saved_state.data, sizeof(idx));
		mhcl__stop_reply__free_unpacked(m, NULL);
		ASSERT_EQ(idx, got);
		ASSERT_EQ(hdr.nfds, got % 3 == 0 ? 1 : 0);
		if (cm) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
			ASSERT_EQ(write(fd, "x", 1), 1);
			close(fd);
			fds_got++;
		}
		got++;
	}
	ASSERT_EQ(fds_got, (n + 2) / 3);
	/* Every copy is closed: the read end sees all bytes, then EOF. */
	for (unsigned i = 0; i < fds_got; i++)
		ASSERT_EQ(read(pfd[0], &c, 1), 1);
	ASSERT_EQ(read(pfd[0], &c, 1), 0);
	close(pfd[0]);

	/* Room again; the peer then closes with that frame unread. */
	ASSERT_OK(ipc_chan_notify(a.ch, IPC_MSG_PING, NULL, NULL, 0));
	close(raw);
	run_until(&loop, &a.closed);
	ASSERT_EQ(a.close_reason, -ECONNRESET);
	loop_finish(&loop);
}

/* fds both ways: a memfd and a pipe travel with a request, a pipe end with the reply. */
struct fd_server {
	struct endpoint ep;
	int seen_fds;
};

static void fd_on_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct fd_server *s = opaque;
	char buf[16] = "";
	int pfd[2];
	int memfd = msg->fds[0], wr = msg->fds[1];

	s->seen_fds = (int)msg->nfds;
	ASSERT_EQ(msg->nfds, 2);
	/* Received fds are close-on-exec. */
	ASSERT_TRUE(fcntl(memfd, F_GETFD) & FD_CLOEXEC);
	ASSERT_TRUE(fcntl(wr, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(pread(memfd, buf, 5, 0), 5);
	ASSERT_STREQ(buf, "hello");
	ASSERT_EQ(write(wr, "world", 5), 5);
	/* Not taken: closed by the library after we return. */

	ASSERT_OK(pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(write(pfd[1], "reply", 5), 5);
	close(pfd[1]);
	ASSERT_OK(ipc_chan_reply(ch, msg->request_id, msg->type, NULL, &pfd[0], 1));
	close(pfd[0]);
}

static void fd_on_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct fd_server *s = opaque;
	s->ep.closed = true;
	s->ep.close_reason = reason;
	s->ep.ch = NULL;
}

static const struct ipc_chan_ops fd_ops = {.on_request = fd_on_request, .on_close = fd_on_close};

static void test_fd_passing(void)
{
	uv_loop_t loop;
	struct endpoint a;
	struct fd_server s = {0};
	struct reply r = {0};
	int fds[2], pfd[2], memfd, pass[2];
	char buf[16] = "";

	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(ipc_socketpair(fds));
	ep_open(&loop, &a, fds[0], IPC_TRANSPORT_SEQPACKET);
	ASSERT_OK(ipc_chan_open(&loop, fds[1], IPC_TRANSPORT_SEQPACKET, &fd_ops, &s, &s.ep.ch));

	memfd = memfd_create("ipc-test", MFD_CLOEXEC);
	ASSERT_GE(memfd, 0);
	ASSERT_EQ(write(memfd, "hello", 5), 5);
	ASSERT_OK(pipe2(pfd, O_CLOEXEC));
	pass[0] = memfd;
	pass[1] = pfd[1];
	ASSERT_OK(ipc_chan_request(a.ch, IPC_MSG_INSPECT, NULL, pass, 2, 0, reply_done, &r));
	/* Borrowed: ours to close right away. */
	close(memfd);
	close(pfd[1]);
	run_until(&loop, &r.done);
	ASSERT_OK(r.status);
	ASSERT_EQ(s.seen_fds, 2);

	ASSERT_EQ(read(pfd[0], buf, 5), 5);
	ASSERT_STREQ(buf, "world");
	/* The server's copy of the write end was closed after its callback. */
	ASSERT_EQ(read(pfd[0], buf, 5), 0);
	close(pfd[0]);

	ASSERT_GE(r.fd, 0);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(read(r.fd, buf, sizeof(buf)), 5);
	ASSERT_STREQ(buf, "reply");
	close(r.fd);

	ipc_chan_close(a.ch);
	ipc_chan_close(s.ep.ch);
	loop_finish(&loop);
}

/* Many requests in flight, answered in reverse order. */
#define NCONC 1000

static void test_concurrent(void)
{
	struct pair p;
	static struct reply r[NCONC];
	Mhcl__Ping pong = MHCL__PING__INIT;
	struct ipc_chan_stats st;

	pair_open(&p);
	reply_counter = 0;
	for (unsigned i = 0; i < NCONC; i++) {
		Mhcl__Ping ping = MHCL__PING__INIT;
		memset(&r[i], 0, sizeof(r[i]));
		ping.cookie = 1000 + i;
		/* STOP requests are held by the peer until we answer them below. */
		ASSERT_OK(ipc_chan_request(p.a.ch, IPC_MSG_STOP, &ping.base, NULL, 0, 60000,
					   reply_done, &r[i]));
	}
	ipc_chan_get_stats(p.a.ch, &st);
	ASSERT_UEQ(st.requests_pending, NCONC);
	while (p.b.nheld < NCONC)
		uv_run(&p.loop, UV_RUN_ONCE);

	/* Reverse order, each answer carrying its position so the matching is checked. */
	for (size_t k = 0; k < NCONC; k++) {
		size_t i = NCONC - 1 - k;
		pong.cookie = 1000 + i;
		ASSERT_OK(
		    ipc_chan_reply(p.b.ch, p.b.held_ids[i], IPC_MSG_PING, &pong.base, NULL, 0));
	}
	run_until(&p.loop, &r[0].done);
	for (unsigned i = 0; i < NCONC; i++) {
		ASSERT_TRUE(r[i].done);
		ASSERT_OK(r[i].status);
		ASSERT_UEQ(r[i].cookie, 1000 + i);
		ASSERT_EQ(r[i].order, NCONC - 1 - i);
	}
	ipc_chan_get_stats(p.a.ch, &st);
	ASSERT_UEQ(st.requests_pending, 0);

	/* Ids are unique among pending requests. */
	for (size_t i = 1; i < NCONC; i++)
		ASSERT_NE(p.b.held_ids[i], p.b.held_ids[i - 1]);
	pair_close(&p);
}

/* The per-channel request limit. */
static void test_request_limit(void)
{
	struct pair p;
	static struct reply r[4097];
	int rc = 0;
	unsigned n;

	pair_open(&p);
	for (n = 0; n < 4097; n++) {
		memset(&r[n], 0, sizeof(r[n]));
		rc =
		    ipc_chan_request(p.a.ch, IPC_MSG_STOP, NULL, NULL, 0, 60000, reply_done, &r[n]);
		if (rc < 0)
			break;
	}
	ASSERT_EQ(rc, -ENOBUFS);
	ASSERT_EQ(n, 4096);
	/* A local close cancels every one of them. */
	ipc_chan_close(p.a.ch);
	run_until(&p.loop, &p.a.closed);
	for (unsigned i = 0; i < n; i++) {
		ASSERT_TRUE(r[i].done);
		ASSERT_EQ(r[i].status, -ECANCELED);
	}
	ASSERT_EQ(p.a.close_reason, 0);
	/* b sees a's hang-up. */
	run_until(&p.loop, &p.b.closed);
	ASSERT_EQ(p.b.close_reason, -EPIPE);
	loop_finish(&p.loop);
}

static void test_timeout(void)
{
	struct pair p;
	struct reply r, r2;
	Mhcl__Ping pong = MHCL__PING__INIT;
	struct ipc_chan_stats st;

	pair_open(&p);
	memset(&r, 0, sizeof(r));
	ASSERT_OK(ipc_chan_request(p.a.ch, IPC_MSG_STOP, NULL, NULL, 0, 20, reply_done, &r));
	run_until(&p.loop, &r.done);
	ASSERT_EQ(r.status, -ETIMEDOUT);
	ASSERT_EQ(p.b.nheld, 1);

	/* The late answer is dropped; the channel keeps working. */
	ASSERT_OK(ipc_chan_reply(p.b.ch, p.b.held_ids[0], IPC_MSG_STOP, &pong.base, NULL, 0));
	ASSERT_OK(send_ping(p.a.ch, 5, 0, &r2));
	run_until(&p.loop, &r2.done);
	ASSERT_OK(r2.status);
	ASSERT_UEQ(r2.cookie, 5);
	ASSERT_FALSE(p.a.closed);
	ipc_chan_get_stats(p.a.ch, &st);
	ASSERT_UEQ(st.bad_frames, 0);

	/* A second late answer to the same id is a protocol error. */
	ASSERT_OK(ipc_chan_reply(p.b.ch, p.b.held_ids[0], IPC_MSG_STOP, &pong.base, NULL, 0));
	run_until(&p.loop, &p.a.closed);
	ASSERT_EQ(p.a.close_reason, -EPROTO);
	pair_close(&p);
}

/* ---- close semantics ---- */

struct close_order {
	struct endpoint ep;
	unsigned step;
	unsigned cancelled_at, closed_at;
};

static void co_reply(struct ipc_chan *ch, int status, struct ipc_msg *msg, void *opaque)
{
	struct close_order *co = opaque;
	ASSERT_EQ(status, -ECANCELED);
	ASSERT_TRUE(msg == NULL);
	co->cancelled_at = ++co->step;
	/* Nothing can be sent any more, and closing again is harmless. */
	ASSERT_EQ(send_ping(ch, 1, 0, &(struct reply){0}), -ENOTCONN);
	ipc_chan_close(ch);
}

static void co_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct close_order *co = opaque;
	ASSERT_EQ(reason, 0);
	co->closed_at = ++co->step;
	co->ep.closed = true;
	ipc_chan_close(ch);
}

static const struct ipc_chan_ops co_ops = {.on_close = co_close};

static void test_close_pending(void)
{
	uv_loop_t loop;
	struct close_order co = {0};
	struct endpoint b;
	int fds[2];

	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(ipc_socketpair(fds));
	ASSERT_OK(ipc_chan_open(&loop, fds[0], IPC_TRANSPORT_SEQPACKET, &co_ops, &co, &co.ep.ch));
	ep_open(&loop, &b, fds[1], IPC_TRANSPORT_SEQPACKET);
	ASSERT_OK(ipc_chan_request(co.ep.ch, IPC_MSG_STOP, NULL, NULL, 0, 0, co_reply, &co));
	ipc_chan_close(co.ep.ch);
	ASSERT_TRUE(ipc_chan_is_closing(co.ep.ch));
	/* Completion is deferred to the loop: nothing ran yet. */
	ASSERT_EQ(co.step, 0);
	ASSERT_EQ(send_ping(co.ep.ch, 1, 0, &(struct reply){0}), -ENOTCONN);
	run_until(&loop, &co.ep.closed);
	ASSERT_EQ(co.cancelled_at, 1);
	ASSERT_EQ(co.closed_at, 2);
	run_until(&loop, &b.closed);
	ASSERT_EQ(b.close_reason, -EPIPE);
	loop_finish(&loop);
}

/* Closing from inside every kind of callback. */
struct reent {
	struct endpoint ep;
	int mode;
	int reply_status;
	bool replied;
};

static void reent_request(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	struct reent *re = opaque;
	/* Answer, then close at once: the answer still goes out. */
	ASSERT_OK(ipc_chan_reply(ch, msg->request_id, msg->type, NULL, NULL, 0));
	ipc_chan_close(ch);
	ipc_chan_close(ch);
	(void)re;
}

static void reent_notify(struct ipc_chan *ch, struct ipc_msg *msg, void *opaque)
{
	ipc_chan_abort(ch, -EBADMSG);
}

static void reent_close(struct ipc_chan *ch, int reason, void *opaque)
{
	struct reent *re = opaque;
	re->ep.closed = true;
	re->ep.close_reason = reason;
}

static const struct ipc_chan_ops reent_ops = {
    .on_request = reent_request,
    .on_notify = reent_notify,
    .on_close = reent_close,
};

static void reent_reply(struct ipc_chan *ch, int status, struct ipc_msg *msg, void *opaque)
{
	struct reent *re = opaque;
	re->replied = true;
	re->reply_status = status;
	if (status == 0)
		ipc_chan_close(ch);
}

static void test_close_in_callbacks(void)
{
	uv_loop_t loop;
	struct reent srv = {0}, cli = {0};
	int fds[2];

	ASSERT_OK(uv_loop_init(&loop));

	/* Server closes inside on_request after replying; client closes in its reply callback. */
	ASSERT_OK(ipc_socketpair(fds));
	ASSERT_OK(
	    ipc_chan_open(&loop, fds[0], IPC_TRANSPORT_SEQPACKET, &reent_ops, &srv, &srv.ep.ch));
	ASSERT_OK(
	    ipc_chan_open(&loop, fds[1], IPC_TRANSPORT_SEQPACKET, &reent_ops, &cli, &cli.ep.ch));
	ASSERT_OK(ipc_chan_request(cli.ep.ch, IPC_MSG_PING, NULL, NULL, 0, 0, reent_reply, &cli));
	/* A second request after it: the server closes before answering it. */
	struct reent second = {0};
	ASSERT_OK(
	    ipc_chan_request(cli.ep.ch, IPC_MSG_PING, NULL, NULL, 0, 0, reent_reply, &second));
	run_until(&loop, &cli.ep.closed);
	run_until(&loop, &srv.ep.closed);
	ASSERT_TRUE(cli.replied);
	ASSERT_OK(cli.reply_status);
	ASSERT_TRUE(second.replied);
	ASSERT_EQ(second.reply_status, -ECANCELED);
	ASSERT_EQ(cli.ep.close_reason, 0);
	ASSERT_EQ(srv.ep.close_reason, 0);

	/* Abort from inside on_notify. */
	struct reent n1 = {0};
	struct endpoint other;
	ASSERT_OK(ipc_socketpair(fds));
	ASSERT_OK(
	    ipc_chan_open(&loop, fds[0], IPC_TRANSPORT_SEQPACKET, &reent_ops, &n1, &n1.ep.ch));
	ep_open(&loop, &other, fds[1], IPC_TRANSPORT_SEQPACKET);
	ASSERT_OK(ipc_chan_notify(other.ch, IPC_MSG_PING, NULL, NULL, 0));
	ASSERT_OK(ipc_chan_notify(other.ch, IPC_MSG_PING, NULL, NULL, 0));
	run_until(&loop, &n1.ep.closed);
	ASSERT_EQ(n1.ep.close_reason, -EBADMSG);
	run_until(&loop, &other.closed);
	/* n1 closed with the second notification unread: a reset, not a plain hang-up. */
	ASSERT_EQ(other.close_reason, -ECONNRESET);
	loop_finish(&loop);
}

/* ---- peer death ---- */

static void test_peer_close(void)
{
	struct pair p;
	struct reply r;

	pair_open(&p);
	memset(&r, 0, sizeof(r));
	ASSERT_OK(ipc_chan_request(p.a.ch, IPC_MSG_STOP, NULL, NULL, 0, 0, reply_done, &r));
	while (p.b.nheld < 1)
		uv_run(&p.loop, UV_RUN_ONCE);
	ipc_chan_close(p.b.ch);
	run_until(&p.loop, &p.a.closed);
	ASSERT_EQ(p.a.close_reason, -EPIPE);
	ASSERT_TRUE(r.done);
	ASSERT_EQ(r.status, -EPIPE);
	pair_close(&p);
}

/* The peer is a child process that is killed while a request is pending. */
static void test_peer_killed(void)
{
	uv_loop_t loop;
	struct endpoint a;
	struct reply r1, r2;
	int fds[2], status;
	pid_t child;

	ASSERT_OK(ipc_socketpair(fds));
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0) {
		uv_loop_t cl;
		struct endpoint ce;
		close(fds[0]);
		if (uv_loop_init(&cl) < 0)
			_exit(1);
		ep_open(&cl, &ce, fds[1], IPC_TRANSPORT_SEQPACKET);
		uv_run(&cl, UV_RUN_DEFAULT);
		_exit(0);
	}
	close(fds[1]);
	ASSERT_OK(uv_loop_init(&loop));
	ep_open(&loop, &a, fds[0], IPC_TRANSPORT_SEQPACKET);

	/* The child answers... */
	ASSERT_OK(send_ping(a.ch, 77, 0, &r1));
	run_until(&loop, &r1.done);
	ASSERT_UEQ(r1.cookie, 77);
	/* A socketpair's credentials are its creator's, taken before the fork. */
	int pid = 0;
	ASSERT_OK(ipc_chan_peer_pid(a.ch, &pid));
	ASSERT_EQ(pid, getpid());

	/* ...holds this one, and dies. */
	memset(&r2, 0, sizeof(r2));
	ASSERT_OK(ipc_chan_request(a.ch, IPC_MSG_STOP, NULL, NULL, 0, 60000, reply_done, &r2));
	ASSERT_OK(send_ping(a.ch, 78, 0, &r1));
	run_until(&loop, &r1.done);
	ASSERT_OK(kill(child, SIGKILL));
	ASSERT_EQ(waitpid(child, &status, 0), child);
	ASSERT_TRUE(WIFSIGNALED(status));
	run_until(&loop, &a.closed);
	ASSERT_EQ(a.close_reason, -EPIPE);
	ASSERT_TRUE(r2.done);
	ASSERT_EQ(r2.status, -EPIPE);
	loop_finish(&loop);
}

/* ---- hostile input ---- */

/*
 * A victim channel whose peer is a raw socket, next to a healthy pair in
 * the same loop. send_bad writes the bad input; the victim must close with
 * want_reason, answer error_id (if nonzero) with want_reason, and the
 * healthy pair must keep working.
 */
struct hostile {
	uv_loop_t loop;
	struct endpoint victim;
	int raw;
	struct endpoint h1, h2;
};

static void hostile_open(struct hostile *h)
{
	int fds[2];

	ASSERT_OK(uv_loop_init(&h->loop));
	ASSERT_OK(ipc_socketpair(fds));
	ep_open(&h->loop, &h->victim, fds[0], IPC_TRANSPORT_SEQPACKET);
	h->raw = fds[1];
	ASSERT_OK(ipc_socketpair(fds));
	ep_open(&h->loop, &h->h1, fds[0], IPC_TRANSPORT_SEQPACKET);
	ep_open(&h->loop, &h->h2, fds[1], IPC_TRANSPORT_SEQPACKET);
}

static void hostile_check(struct hostile *h, int want_reason, uint32_t error_id)
{
	struct reply r;
	struct ipc_chan_stats st;

	run_until(&h->loop, &h->victim.closed);
	ASSERT_EQ(h->victim.close_reason, want_reason);
	if (error_id)
		ASSERT_TRUE(raw_read_error(h->raw, error_id, want_reason));
	else
		ASSERT_FALSE(raw_read_error(h->raw, 0, 0));

	/* The other channel in the same loop is untouched. */
	ASSERT_OK(send_ping(h->h1.ch, 123, 0, &r));
	run_until(&h->loop, &r.done);
	ASSERT_OK(r.status);
	ASSERT_UEQ(r.cookie, 123);
	ipc_chan_get_stats(h->h1.ch, &st);
	ASSERT_UEQ(st.bad_frames, 0);
	ASSERT_FALSE(h->h1.closed || h->h2.closed);

	close(h->raw);
	ipc_chan_close(h->h1.ch);
	ipc_chan_close(h->h2.ch);
	loop_finish(&h->loop);
}

static uint8_t frame[2 * (sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX)];

static void test_bad_short(void)
{
	struct hostile h;

	hostile_open(&h);
	raw_send(h.raw, "\x01\x00\x00\x00\x01", 5, NULL, 0);
	hostile_check(&h, -EBADMSG, 0);
}

static void test_bad_version(void)
{
	struct hostile h;
	size_t n;

	hostile_open(&h);
	n = raw_frame(frame, 0, IPC_VERSION + 1, IPC_MSG_PING, 7, IPC_F_REQUEST, 0, NULL, 0);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EPROTONOSUPPORT, 7);
}

static void test_bad_body_len(void)
{
	struct hostile h;
	size_t n;

	/* Header says 10 body bytes, the packet has 4. */
	hostile_open(&h);
	n = raw_frame(frame, 10, IPC_VERSION, IPC_MSG_PING, 8, IPC_F_REQUEST, 0, "\x08\x01\x08\x01",
		      4);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EBADMSG, 8);

	/* And the other way: trailing bytes after the body. */
	hostile_open(&h);
	n = raw_frame(frame, 2, IPC_VERSION, IPC_MSG_PING, 9, IPC_F_REQUEST, 0, "\x08\x01\x08\x01",
		      4);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EBADMSG, 9);
}

static void test_bad_oversized(void)
{
	struct hostile h;
	size_t n;
	int sz = 4 * (int)sizeof(frame);

	/* A packet bigger than any frame: cut by the kernel (MSG_TRUNC). */
	hostile_open(&h);
	ASSERT_OK(setsockopt(h.raw, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)));
	n = raw_frame(frame, IPC_BODY_MAX + 100, IPC_VERSION, IPC_MSG_PING, 10, IPC_F_REQUEST, 0,
		      NULL, 0);
	raw_send(h.raw, frame, n + IPC_BODY_MAX + 100, NULL, 0);
	hostile_check(&h, -EMSGSIZE, 10);

	/* A small packet whose header claims more than the limit. */
	hostile_open(&h);
	n = raw_frame(frame, IPC_BODY_MAX + 1, IPC_VERSION, IPC_MSG_PING, 11, IPC_F_REQUEST, 0,
		      NULL, 0);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EMSGSIZE, 11);
}

static void test_bad_flags(void)
{
	struct hostile h;
	size_t n;

	hostile_open(&h);
	n = raw_frame(frame, 0, IPC_VERSION, IPC_MSG_PING, 12, IPC_F_REQUEST | 0x100, 0, NULL, 0);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EBADMSG, 12);

	/* Two kinds at once. */
	hostile_open(&h);
	n = raw_frame(frame, 0, IPC_VERSION, IPC_MSG_PING, 13, IPC_F_REQUEST | IPC_F_NOTIFY, 0,
		      NULL, 0);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EBADMSG, 0);

	/* A notification with a request id. */
	hostile_open(&h);
	n = raw_frame(frame, 0, IPC_VERSION, IPC_MSG_PING, 14, IPC_F_NOTIFY, 0, NULL, 0);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EBADMSG, 0);

	/* A type outside the table. */
	hostile_open(&h);
	n = raw_frame(frame, 0, IPC_VERSION, 200, 15, IPC_F_REQUEST, 0, NULL, 0);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EBADMSG, 15);
}

/* Checks that fd was closed by the channel: the pipe's read end sees EOF. */
static void assert_pipe_closed(int rd)
{
	char c;
	ASSERT_EQ(read(rd, &c, 1), 0);
	close(rd);
}

static void test_bad_nfds(void)
{
	struct hostile h;
	size_t n;
	int pfd[2], pass[IPC_FDS_MAX + 2];

	/* Header promises one fd, none arrives. */
	hostile_open(&h);
	n = raw_frame(frame, 0, IPC_VERSION, IPC_MSG_PING, 16, IPC_F_REQUEST, 1, NULL, 0);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EBADMSG, 16);

	/* Two fds arrive, the header says none: both are closed, not leaked. */
	hostile_open(&h);
	ASSERT_OK(pipe2(pfd, O_CLOEXEC));
	pass[0] = pass[1] = pfd[1];
	n = raw_frame(frame, 0, IPC_VERSION, IPC_MSG_PING, 17, IPC_F_REQUEST, 0, NULL, 0);
	raw_send(h.raw, frame, n, pass, 2);
	close(pfd[1]);
	hostile_check(&h, -EBADMSG, 17);
	assert_pipe_closed(pfd[0]);

	/* More fds than any frame may carry (cmsg truncated). */
	hostile_open(&h);
	ASSERT_OK(pipe2(pfd, O_CLOEXEC));
	for (int i = 0; i < IPC_FDS_MAX + 2; i++)
		pass[i] = pfd[1];
	n = raw_frame(frame, 0, IPC_VERSION, IPC_MSG_PING, 18, IPC_F_REQUEST, IPC_FDS_MAX, NULL, 0);
	raw_send(h.raw, frame, n, pass, IPC_FDS_MAX + 2);
	close(pfd[1]);
	hostile_check(&h, -EBADMSG, 18);
	assert_pipe_closed(pfd[0]);

	/* fds on a notification whose handler ignores them are closed too. */
	hostile_open(&h);
	ASSERT_OK(pipe2(pfd, O_CLOEXEC));
	n = raw_frame(frame, 0, IPC_VERSION, IPC_MSG_PING, 0, IPC_F_NOTIFY, 1, NULL, 0);
	raw_send(h.raw, frame, n, &pfd[1], 1);
	close(pfd[1]);
	n = raw_frame(frame, 0, IPC_VERSION + 3, IPC_MSG_PING, 0, IPC_F_NOTIFY, 0, NULL, 0);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EPROTONOSUPPORT, 0);
	ASSERT_EQ(h.victim.notifies, 1);
	assert_pipe_closed(pfd[0]);
}

static void test_bad_body(void)
{
	struct hostile h;
	size_t n;

	/* A valid envelope whose body is not a Ping: the handler's
	 * ipc_msg_unpack() fails, answers -EBADMSG and closes the channel. */
	hostile_open(&h);
	n = raw_frame(frame, 3, IPC_VERSION, IPC_MSG_PING, 19, IPC_F_REQUEST, 0, "\xff\xff\xff", 3);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EBADMSG, 19);
}

static void test_bad_response_id(void)
{
	struct hostile h;
	size_t n;

	hostile_open(&h);
	n = ping_frame(frame, 0x12345, IPC_F_RESPONSE, 1);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EPROTO, 0);

	/* An error response to nothing. */
	hostile_open(&h);
	n = raw_frame(frame, 0, IPC_VERSION, IPC_MSG_PING, 1, IPC_F_RESPONSE | IPC_F_ERROR, 0, NULL,
		      0);
	raw_send(h.raw, frame, n, NULL, 0);
	hostile_check(&h, -EPROTO, 0);
}

/* Good frames before the bad one are handled; nothing after it is. */
static void test_bad_after_good(void)
{
	struct hostile h;
	size_t n;

	hostile_open(&h);
	n = ping_frame(frame, 1, IPC_F_REQUEST, 50);
	raw_send(h.raw, frame, n, NULL, 0);
	raw_send(h.raw, "xx", 2, NULL, 0);
	n = ping_frame(frame, 2, IPC_F_REQUEST, 51);
	raw_send(h.raw, frame, n, NULL, 0);
	run_until(&h.loop, &h.victim.closed);
	ASSERT_EQ(h.victim.requests, 1);
	/* The answer to the first request went out before the close. */
	n = (size_t)raw_recv(h.raw, frame, sizeof(frame));
	struct ipc_frame_hdr hdr;
	ASSERT_OK(ipc_frame_decode(frame, n, 0, false, &hdr));
	ASSERT_EQ(hdr.flags, IPC_F_RESPONSE);
	ASSERT_UEQ(hdr.request_id, 1);
	hostile_check(&h, -EBADMSG, 0);
}

/* No handlers at all: requests get -EOPNOTSUPP, notifications are dropped. */
static void test_no_handler(void)
{
	uv_loop_t loop;
	struct endpoint a;
	struct ipc_chan *bare;
	struct reply r;
	int fds[2];
	static const struct ipc_chan_ops none = {0};

	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(ipc_socketpair(fds));
	ep_open(&loop, &a, fds[0], IPC_TRANSPORT_SEQPACKET);
	ASSERT_OK(ipc_chan_open(&loop, fds[1], IPC_TRANSPORT_SEQPACKET, &none, NULL, &bare));
	ASSERT_OK(ipc_chan_notify(a.ch, IPC_MSG_PING, NULL, NULL, 0));
	ASSERT_OK(send_ping(a.ch, 3, 0, &r));
	run_until(&loop, &r.done);
	ASSERT_EQ(r.status, -EREMOTEIO);
	ASSERT_EQ(r.err, -EOPNOTSUPP);
	ASSERT_FALSE(a.closed);
	ASSERT_TRUE(ipc_chan_opaque(bare) == NULL);
	ipc_chan_set_opaque(bare, &a);
	ASSERT_TRUE(ipc_chan_opaque(bare) == &a);
	ipc_chan_close(bare);
	run_until(&loop, &a.closed);
	ASSERT_EQ(a.close_reason, -EPIPE);
	loop_finish(&loop);
}

static void test_open_errors(void)
{
	uv_loop_t loop;
	struct ipc_chan *ch = NULL;
	int pfd[2];

	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_EQ(ipc_chan_open(&loop, -1, IPC_TRANSPORT_SEQPACKET, &ep_ops, NULL, &ch), -EINVAL);
	/* The fd is taken on failure too. */
	ASSERT_OK(pipe2(pfd, O_CLOEXEC));
	ASSERT_EQ(ipc_chan_open(&loop, pfd[1], 7, &ep_ops, NULL, &ch), -EINVAL);
	assert_pipe_closed(pfd[0]);
	ASSERT_TRUE(ch == NULL);
	loop_finish(&loop);
}

static const struct test_case tests[] = {
    {"roundtrip", test_roundtrip},
    {"large", test_large},
    {"send-queue", test_send_queue},
    {"fd-passing", test_fd_passing},
    {"concurrent", test_concurrent},
    {"request-limit", test_request_limit},
    {"timeout", test_timeout},
    {"close-pending", test_close_pending},
    {"close-in-callbacks", test_close_in_callbacks},
    {"peer-close", test_peer_close},
    {"peer-killed", test_peer_killed},
    {"bad-short", test_bad_short},
    {"bad-version", test_bad_version},
    {"bad-body-len", test_bad_body_len},
    {"bad-oversized", test_bad_oversized},
    {"bad-flags", test_bad_flags},
    {"bad-nfds", test_bad_nfds},
    {"bad-body", test_bad_body},
    {"bad-response-id", test_bad_response_id},
    {"bad-after-good", test_bad_after_good},
    {"no-handler", test_no_handler},
    {"open-errors", test_open_errors},
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return test_run_cases(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
