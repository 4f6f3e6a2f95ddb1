/* SPDX-License-Identifier: MIT */
/*
 * Socket helpers and the STREAM transport: TCP loopback and unix stream
 * round trips, frames split across reads, hostile stream input, stale unix
 * socket files, address parsing and vsock (where the kernel has it).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ipc-test.h"

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ipc-test-XXXXXX");
	ASSERT_TRUE(mkdtemp(tmpdir) != NULL);
}

static void remove_tmpdir(const char *file)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, file);
	(void)unlink(p);
	ASSERT_OK(rmdir(tmpdir));
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	ASSERT_OK(getsockname(fd, (struct sockaddr *)&ss, &len));
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Accepts one connection on a non-blocking listener, waiting for it. */
static int accept_one(int lfd)
{
	int fd;

	for (;;) {
		fd = ipc_accept(lfd);
		if (fd != -EAGAIN)
			break;
		usleep(1000);
	}
	ASSERT_GE(fd, 0);
	return fd;
}

/*
 * Round trips over two STREAM channels: pings both ways, many in flight,
 * bodies near the limit (several partial writes each), then a hang-up.
 */
static void stream_exercise(int cfd, int sfd, bool unix_peer)
{
	uv_loop_t loop;
	struct endpoint c, s;
	static struct reply r[300];
	struct reply one;
	Mhcl__StopReply big = MHCL__STOP_REPLY__INIT;
	size_t max = IPC_BODY_MAX - 8;
	int pid = 0;

	ASSERT_OK(uv_loop_init(&loop));
	ep_open(&loop, &c, cfd, IPC_TRANSPORT_STREAM);
	ep_open(&loop, &s, sfd, IPC_TRANSPORT_STREAM);

	ASSERT_OK(send_ping(c.ch, 1, 0, &one));
	run_until(&loop, &one.done);
	ASSERT_OK(one.status);
	ASSERT_UEQ(one.cookie, 1);
	ASSERT_OK(send_ping(s.ch, 2, 0, &one));
	run_until(&loop, &one.done);
	ASSERT_UEQ(one.cookie, 2);

	big.saved_state.len = max;
	big.saved_state.data = malloc(max);
	for (size_t i = 0; i < max; i++)
		big.saved_state.data[i] = (uint8_t)(i * 7);
	for (int i = 0; i < 20; i++)
		ASSERT_OK(ipc_chan_notify(c.ch, IPC_MSG_STOP, &big.base, NULL, 0));
	free(big.saved_state.data);
	for (unsigned i = 0; i < 300; i++)
		ASSERT_OK(send_ping(c.ch, 100 + i, 0, &r[i]));
	run_until(&loop, &r[299].done);
	for (unsigned i = 0; i < 300; i++) {
		ASSERT_TRUE(r[i].done);
		ASSERT_UEQ(r[i].cookie, 100 + i);
	}
	ASSERT_EQ(s.notifies, 20);
	ASSERT_UEQ(s.last_notify_cookie, max);

	/* fds do not travel on streams. */
	int fd0 = 0;
	ASSERT_EQ(ipc_chan_notify(c.ch, IPC_MSG_PING, NULL, &fd0, 1), -EINVAL);

	if (unix_peer) {
		ASSERT_OK(ipc_chan_peer_pid(c.ch, &pid));
		ASSERT_EQ(pid, getpid());
	} else {
		ASSERT_EQ(ipc_chan_peer_pid(c.ch, &pid), -ENOTSUP);
	}

	/* Hang-up with nothing unread on either side. */
	ipc_chan_close(c.ch);
	run_until(&loop, &s.closed);
	ASSERT_EQ(s.close_reason, -EPIPE);
	ASSERT_EQ(c.close_reason, 0);
	loop_finish(&loop);
}

static void test_tcp_stream(void)
{
	char addr[64];
	int lfd, cfd, sfd;

	lfd = ipc_listen_tcp("127.0.0.1:0");
	ASSERT_GE(lfd, 0);
	ASSERT_TRUE(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", local_port(lfd));
	cfd = ipc_connect_tcp(addr, 0);
	ASSERT_GE(cfd, 0);
	ASSERT_TRUE(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
	sfd = accept_one(lfd);
	close(lfd);
	stream_exercise(cfd, sfd, false);

	/* Nobody listening any more. */
	ASSERT_EQ(ipc_connect_tcp(addr, 0), -ECONNREFUSED);
}

static void test_unix_stream(void)
{
	char path[128];
	int lfd, cfd, sfd;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/diag.sock", tmpdir);
	lfd = ipc_listen_unix(path, SOCK_STREAM);
	ASSERT_GE(lfd, 0);
	cfd = ipc_connect_unix(path, SOCK_STREAM);
	ASSERT_GE(cfd, 0);
	sfd = accept_one(lfd);
	close(lfd);
	stream_exercise(cfd, sfd, true);
	remove_tmpdir("diag.sock");
}

/* Reads one whole frame from a non-blocking raw stream end, running the loop while waiting. */
static size_t raw_stream_frame(uv_loop_t *loop, int fd, uint8_t *buf, size_t size,
			       struct ipc_frame_hdr *hdr)
{
	size_t len = 0;

	for (;;) {
		ssize_t n;
		int r = ipc_frame_decode(buf, len, 0, true, hdr);
		if (r == 0)
			return len;
		ASSERT_EQ(r, -EAGAIN);
		n = read(fd, buf + len, 1);
		if (n < 0 && errno == EAGAIN) {
			uv_run(loop, UV_RUN_NOWAIT);
			continue;
		}
		ASSERT_EQ(n, 1);
		len++;
		ASSERT_LT(len, size);
	}
}

/* A request written byte by byte and frames back to back in one write. */
static void split_exercise(int raw, int chfd)
{
	uv_loop_t loop;
	struct endpoint s;
	uint8_t out[256], in[256];
	struct ipc_frame_hdr hdr;
	size_t n, total;
	struct ipc_msg msg = {0};

	ASSERT_OK(uv_loop_init(&loop));
	ep_open(&loop, &s, chfd, IPC_TRANSPORT_STREAM);
	ASSERT_OK(fcntl(raw, F_SETFL, fcntl(raw, F_GETFL) | O_NONBLOCK));

	n = ping_frame(out, 41, IPC_F_REQUEST, 0xdeadbeefcafeull);
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(write(raw, out + i, 1), 1);
		uv_run(&loop, UV_RUN_NOWAIT);
		ASSERT_EQ(s.requests, i + 1 == n ? 1 : 0);
	}
	n = raw_stream_frame(&loop, raw, in, sizeof(in), &hdr);
	ASSERT_EQ(hdr.flags, IPC_F_RESPONSE);
	ASSERT_UEQ(hdr.request_id, 41);
	Mhcl__Ping *p = mhcl__ping__unpack(NULL, hdr.body_len, in + sizeof(hdr));
	ASSERT_TRUE(p != NULL);
	ASSERT_UEQ(p->cookie, 0xdeadbeefcafeull);
	mhcl__ping__free_unpacked(p, NULL);

	/* Two and a half frames in one write, the rest later. */
	total = ping_frame(out, 42, IPC_F_REQUEST, 1);
	total += ping_frame(out + total, 43, IPC_F_REQUEST, 2);
	n = ping_frame(out + total, 44, IPC_F_REQUEST, 3);
	ASSERT_EQ(write(raw, out, total + n / 2), (ssize_t)(total + n / 2));
	for (uint32_t id = 42; id <= 43; id++) {
		raw_stream_frame(&loop, raw, in, sizeof(in), &hdr);
		ASSERT_UEQ(hdr.request_id, id);
	}
	ASSERT_EQ(s.requests, 3);
	ASSERT_EQ(write(raw, out + total + n / 2, n - n / 2), (ssize_t)(n - n / 2));
	raw_stream_frame(&loop, raw, in, sizeof(in), &hdr);
	ASSERT_UEQ(hdr.request_id, 44);

	/* An error response comes back whole too. */
	n = raw_frame(out, 0, IPC_VERSION, IPC_MSG_LOGS, 45, IPC_F_REQUEST, 0, NULL, 0);
	ASSERT_EQ(write(raw, out, n), (ssize_t)n);
	n = raw_stream_frame(&loop, raw, in, sizeof(in), &hdr);
	ASSERT_EQ(hdr.flags, IPC_F_RESPONSE | IPC_F_ERROR);
	msg.body = in + sizeof(hdr);
	msg.body_len = hdr.body_len;
	ASSERT_EQ(ipc_msg_error(&msg, NULL, 0), -EOPNOTSUPP);

	/* A hang-up in the middle of a frame. */
	ASSERT_EQ(write(raw, out, 5), 5);
	close(raw);
	run_until(&loop, &s.closed);
	ASSERT_EQ(s.close_reason, -EPIPE);
	loop_finish(&loop);
}

static void test_stream_split(void)
{
	char addr[64];
	int fds[2], lfd, cfd;

	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
	split_exercise(fds[0], fds[1]);

	lfd = ipc_listen_tcp("127.0.0.1:0");
	ASSERT_GE(lfd, 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", local_port(lfd));
	cfd = ipc_connect_tcp(addr, 1000);
	ASSERT_GE(cfd, 0);
	split_exercise(cfd, accept_one(lfd));
	close(lfd);
}

/* Hostile stream input closes only its channel; a healthy pair keeps going. */
static void stream_bad(const void *data, size_t len, int want_reason, uint32_t error_id)
{
	uv_loop_t loop;
	struct endpoint victim, h1, h2;
	int fds[2];
	struct reply r;
	uint8_t in[512];
	struct ipc_frame_hdr hdr;
	struct ipc_msg msg = {0};

	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
	ep_open(&loop, &victim, fds[1], IPC_TRANSPORT_STREAM);
	int raw = fds[0];
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
	ep_open(&loop, &h1, fds[0], IPC_TRANSPORT_STREAM);
	ep_open(&loop, &h2, fds[1], IPC_TRANSPORT_STREAM);

	ASSERT_EQ(write(raw, data, len), (ssize_t)len);
	run_until(&loop, &victim.closed);
	ASSERT_EQ(victim.close_reason, want_reason);
	ssize_t n = raw_recv(raw, in, sizeof(in));
	if (error_id) {
		ASSERT_GE(n, (ssize_t)sizeof(hdr));
		ASSERT_OK(ipc_frame_decode(in, (size_t)n, 0, false, &hdr));
		ASSERT_UEQ(hdr.request_id, error_id);
		msg.body = in + sizeof(hdr);
		msg.body_len = hdr.body_len;
		ASSERT_EQ(ipc_msg_error(&msg, NULL, 0), want_reason);
	} else {
		ASSERT_EQ(n, 0);
	}

	ASSERT_OK(send_ping(h1.ch, 9, 0, &r));
	run_until(&loop, &r.done);
	ASSERT_UEQ(r.cookie, 9);
	close(raw);
	ipc_chan_close(h1.ch);
	ipc_chan_close(h2.ch);
	loop_finish(&loop);
}

static void test_stream_bad(void)
{
	uint8_t f[128];
	size_t n;

	/* A length over the limit is refused from the header, before the body. */
	n = raw_frame(f, IPC_BODY_MAX + 1, IPC_VERSION, IPC_MSG_PS, 21, IPC_F_REQUEST, 0, NULL, 0);
	stream_bad(f, n, -EMSGSIZE, 21);
	n = raw_frame(f, 0xffffffffu, IPC_VERSION, IPC_MSG_PS, 22, IPC_F_REQUEST, 0, NULL, 0);
	stream_bad(f, n, -EMSGSIZE, 22);
	n = raw_frame(f, 0, 9, IPC_MSG_PS, 23, IPC_F_REQUEST, 0, NULL, 0);
	stream_bad(f, n, -EPROTONOSUPPORT, 23);
	/* A header that claims fds. */
	n = raw_frame(f, 0, IPC_VERSION, IPC_MSG_PS, 24, IPC_F_REQUEST, 1, NULL, 0);
	stream_bad(f, n, -EBADMSG, 24);
	/* Garbage after a good frame: the good one is answered first. */
	n = ping_frame(f, 25, IPC_F_REQUEST, 5);
	memcpy(f + n, "garbage garbage!", 16);
	{
		uv_loop_t loop;
		struct endpoint victim;
		int fds[2];
		uint8_t in[512];
		struct ipc_frame_hdr hdr;

		ASSERT_OK(uv_loop_init(&loop));
		ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
		ep_open(&loop, &victim, fds[1], IPC_TRANSPORT_STREAM);
		ASSERT_EQ(write(fds[0], f, n + 16), (ssize_t)(n + 16));
		run_until(&loop, &victim.closed);
		ASSERT_EQ(victim.close_reason, -EPROTONOSUPPORT);
		ASSERT_EQ(victim.requests, 1);
		ssize_t got = raw_recv(fds[0], in, sizeof(in));
		ASSERT_GT(got, 0);
		ASSERT_OK(ipc_frame_decode(in, (size_t)got, 0, true, &hdr));
		ASSERT_UEQ(hdr.request_id, 25);
		close(fds[0]);
		loop_finish(&loop);
	}
}

static void test_stream_no_fds(void)
{
	uv_loop_t loop;
	struct endpoint victim;
	int fds[2], pfd[2];
	uint8_t f[64];
	size_t n;
	char c;

	ASSERT_OK(uv_loop_init(&loop));
	ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds));
	ep_open(&loop, &victim, fds[1], IPC_TRANSPORT_STREAM);
	ASSERT_OK(pipe2(pfd, O_CLOEXEC));
	n = ping_frame(f, 30, IPC_F_REQUEST, 1);
	raw_send(fds[0], f, n, &pfd[1], 1);
	close(pfd[1]);
	run_until(&loop, &victim.closed);
	ASSERT_EQ(victim.close_reason, -EBADMSG);
	ASSERT_EQ(victim.requests, 0);
	/* The fd that arrived was closed, not kept. */
	ASSERT_EQ(read(pfd[0], &c, 1), 0);
	close(pfd[0]);
	close(fds[0]);
	loop_finish(&loop);
}

static void test_unix_stale(void)
{
	char path[128];
	int fd, fd2;
	struct stat st;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/s", tmpdir);

	/* A listener that died without unlinking leaves a stale socket file. */
	fd = ipc_listen_unix(path, SOCK_STREAM);
	ASSERT_GE(fd, 0);
	close(fd);
	ASSERT_OK(lstat(path, &st));
	fd = ipc_listen_unix(path, SOCK_STREAM);
	ASSERT_GE(fd, 0);

	/* A live listener is left alone. */
	ASSERT_EQ(ipc_listen_unix(path, SOCK_STREAM), -EADDRINUSE);
	fd2 = ipc_connect_unix(path, SOCK_STREAM);
	ASSERT_GE(fd2, 0);
	close(fd2);
	close(fd);
	ASSERT_OK(unlink(path));

	/* Something that is not a socket is never removed. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT_GE(fd, 0);
	close(fd);
	ASSERT_EQ(ipc_listen_unix(path, SOCK_STREAM), -EADDRINUSE);
	ASSERT_OK(lstat(path, &st));
	ASSERT_TRUE(S_ISREG(st.st_mode));
	remove_tmpdir("s");

	/* Bad arguments. */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	ASSERT_EQ(ipc_listen_unix(longp, SOCK_STREAM), -ENAMETOOLONG);
	ASSERT_EQ(ipc_connect_unix(longp, SOCK_STREAM), -ENAMETOOLONG);
	ASSERT_EQ(ipc_listen_unix("", SOCK_STREAM), -EINVAL);
	ASSERT_EQ(ipc_listen_unix("/tmp/x", SOCK_DGRAM), -EINVAL);
	ASSERT_EQ(ipc_connect_unix("/nonexistent/ipc-test.sock", SOCK_STREAM), -ENOENT);
}

/* A SEQPACKET listener (the form init could offer) carries fds. */
static void test_unix_seqpacket_listen(void)
{
	char path[128];
	uv_loop_t loop;
	struct endpoint c, s;
	struct reply r;
	int lfd, pfd[2];

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/bus", tmpdir);
	lfd = ipc_listen_unix(path, SOCK_SEQPACKET);
	ASSERT_GE(lfd, 0);
	ASSERT_OK(uv_loop_init(&loop));
	ep_open(&loop, &c, ipc_connect_unix(path, SOCK_SEQPACKET), IPC_TRANSPORT_SEQPACKET);
	ep_open(&loop, &s, accept_one(lfd), IPC_TRANSPORT_SEQPACKET);
	close(lfd);

	ASSERT_OK(pipe2(pfd, O_CLOEXEC));
	Mhcl__Ping p = MHCL__PING__INIT;
	p.cookie = 8;
	ASSERT_OK(ipc_chan_notify(c.ch, IPC_MSG_PING, &p.base, &pfd[1], 1));
	close(pfd[1]);
	ASSERT_OK(send_ping(c.ch, 7, 0, &r));
	run_until(&loop, &r.done);
	ASSERT_UEQ(r.cookie, 7);
	ASSERT_EQ(s.notifies, 1);
	ASSERT_UEQ(s.last_notify_cookie, 8);
	/* The notification's fd was not taken, so it was closed. */
	char ch;
	ASSERT_EQ(read(pfd[0], &ch, 1), 0);
	close(pfd[0]);

	int pid = 0;
	ASSERT_OK(ipc_chan_peer_pid(s.ch, &pid));
	ASSERT_EQ(pid, getpid());
	ipc_chan_close(c.ch);
	run_until(&loop, &s.closed);
	ASSERT_EQ(s.close_reason, -EPIPE);
	loop_finish(&loop);
	remove_tmpdir("bus");
}

static void test_tcp_parse(void)
{
	static const char *bad[] = {
	    "",		  "nohostport", "1.2.3.4", "1.2.3.4:",	  "1.2.3.4:99999", "1.2.3.4:12a",
	    "1.2.3.4:-1", "[::1]80",	"[::1",	   "1.2.3.4: 80",
	};
	int fd;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(ipc_listen_tcp(bad[i]), -EINVAL);
		ASSERT_EQ(ipc_connect_tcp(bad[i], 100), -EINVAL);
	}
	ASSERT_EQ(ipc_listen_tcp(NULL), -EINVAL);

	/* Any address, ephemeral port. */
	fd = ipc_listen_tcp(":0");
	ASSERT_GE(fd, 0);
	ASSERT_GT(local_port(fd), 0);
	close(fd);
	fd = ipc_listen_tcp("*:0");
	ASSERT_GE(fd, 0);
	close(fd);

	/* IPv6 loopback, where the host has IPv6. */
	fd = ipc_listen_tcp("[::1]:0");
	if (fd >= 0) {
		char addr[64];
		int c;
		snprintf(addr, sizeof(addr), "[::1]:%u", local_port(fd));
		c = ipc_connect_tcp(addr, 1000);
		ASSERT_GE(c, 0);
		close(c);
		close(fd);
	} else {
		ASSERT_TRUE(fd == -EADDRNOTAVAIL || fd == -EAFNOSUPPORT);
	}
}

static void test_vsock(void)
{
	uint32_t port = 0x4d48434c; /* "MHCL" */
	int lfd, cfd;

	lfd = ipc_listen_vsock(port);
	if (lfd < 0) {
		ASSERT_TRUE(lfd == -EAFNOSUPPORT || lfd == -ENODEV || lfd == -EADDRNOTAVAIL ||
			    lfd == -EPERM || lfd == -EACCES || lfd == -EADDRINUSE);
		TEST_SKIP("no vsock here: %s", strerror(-lfd));
	}
	ASSERT_TRUE(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	/* The local loopback transport (CID 1) may be missing. */
	cfd = ipc_connect_vsock(1, port, 1000);
	if (cfd < 0) {
		close(lfd);
		TEST_SKIP("no vsock loopback: %s", strerror(-cfd));
	}
	stream_exercise(cfd, accept_one(lfd), false);
	close(lfd);
}

static const struct test_case tests[] = {
    {"tcp-stream", test_tcp_stream},
    {"unix-stream", test_unix_stream},
    {"stream-split", test_stream_split},
    {"stream-bad", test_stream_bad},
    {"stream-no-fds", test_stream_no_fds},
    {"unix-stale", test_unix_stale},
    {"unix-seqpacket-listen", test_unix_seqpacket_listen},
    {"tcp-parse", test_tcp_parse},
    {"vsock", test_vsock},
};

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	return test_run_cases(tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
}
