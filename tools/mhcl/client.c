/* SPDX-License-Identifier: MIT */
/*
 * The diag client: one blocking stream socket, one request in flight, every
 * wait bounded by --timeout. Frames are defs/ipc_frame.h envelopes encoded
 * and checked with the ipc codec; bodies are protobuf-c. What the remote
 * sends is bounded (IPC_BODY_MAX) before it is read and unpacked before use.
 */
#include "macros.h" /* before uv.h (via ipc.h): sys/param.h guards MIN/MAX */

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "bus.pb-c.h"
#include "diag_auth.h"
#include "diag_validate.h"
#include "ipc.h"
#include "mhcl.h"

/* One frame each way; static so a reply never costs an allocation. */
static uint8_t send_buf[sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX];
static uint8_t recv_buf[sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX];

volatile sig_atomic_t mhcl_interrupted;

int mhcl_fail(const struct mhcl_ctx *c, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "mhcl: %s%s%s\n", c && c->cmd ? c->cmd : "", c && c->cmd ? ": " : "", msg);
	return code;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int authenticate(struct mhcl_ctx *c, int fd);

int mhcl_connect(struct mhcl_ctx *c)
{
	const struct mhcl_target *t = &c->args->target;
	char where[300];
	int fd;

	if (c->fd >= 0)
		return MHCL_CLI_OK;
	switch (t->kind) {
	case MHCL_TRANSPORT_UNIX:
		fd = ipc_connect_unix(t->addr, SOCK_STREAM);
		break;
	case MHCL_TRANSPORT_TCP:
		fd = ipc_connect_tcp(t->addr, c->args->timeout_ms);
		break;
	case MHCL_TRANSPORT_VSOCK:
		fd = ipc_connect_vsock(t->cid, t->port, c->args->timeout_ms);
		break;
	default:
		fd = -EINVAL;
	}
	if (fd < 0) {
		mhcl_target_format(t, where, sizeof(where));
		return mhcl_fail(c, MHCL_CLI_UNREACHABLE, "diag unreachable at %s: %s", where,
				 strerror(-fd));
	}
	/* Network transports answer the challenge of a diagd with a secret; unix
	 * clients are never asked. */
	if (t->kind != MHCL_TRANSPORT_UNIX && c->args->secret_file) {
		int r = authenticate(c, fd);
		if (r != MHCL_CLI_OK) {
			close(fd);
			return r;
		}
	}
	c->fd = fd;
	return MHCL_CLI_OK;
}

void mhcl_disconnect(struct mhcl_ctx *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Waits for fd to become ready for events until deadline. 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = now_ms();
		struct pollfd p = {.fd = fd, .events = events};
		int r;

		if (now >= deadline)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)MIN(deadline - now, (uint64_t)INT32_MAX));
		if (r < 0 && errno == EINTR) {
			if (mhcl_interrupted)
				return -EINTR;
			continue;
		}
		if (r < 0)
			return -errno;
		if (r > 0)
			return 0;
	}
}

static int write_all(int fd, const uint8_t *p, size_t len, uint64_t deadline)
{
	while (len) {
		int r = wait_fd(fd, POLLOUT, deadline);
		ssize_t n;

		if (r < 0)
			return r;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly len bytes; -EPIPE when the peer closed first. */
static int read_all(int fd, uint8_t *p, size_t len, uint64_t deadline)
{
	while (len) {
		int r = wait_fd(fd, POLLIN, deadline);
		ssize_t n;

		if (r < 0)
			return r;
		n = recv(fd, p, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int io_fail(struct mhcl_ctx *c, int err, const char *what)
{
	if (err == -ETIMEDOUT)
		return mhcl_fail(c, MHCL_CLI_TIMEOUT, "timed out after %u ms %s",
				 c->args->timeout_ms, what);
	if (err == -EINTR) /* the command asked for it (Ctrl-C): no message */
		return MHCL_CLI_UNREACHABLE;
	if (err == -EPIPE || err == -ECONNRESET)
		return mhcl_fail(c, MHCL_CLI_UNREACHABLE,
				 "diag closed the connection %s (too many clients, or diag "
				 "restarting?)",
				 what);
	return mhcl_fail(c, MHCL_CLI_UNREACHABLE, "connection to diag lost %s: %s", what,
			 strerror(-err));
}

/*
 * The challenge-response (defs/diag_auth.h): read diagd's challenge, answer
 * with HMAC-SHA256(secret, challenge), read the verdict. Every read is
 * bounded by --timeout and every byte checked before use.
 */
static int authenticate(struct mhcl_ctx *c, int fd)
{
	uint64_t deadline = now_ms() + c->args->timeout_ms;
	struct diag_auth_challenge chal;
	struct diag_auth_proof proof;
	struct diag_secret secret;
	uint8_t buf[sizeof(chal)];
	uint32_t status;
	char why[320];
	int r;

	r = diag_secret_load(c->args->secret_file, &secret, why, sizeof(why));
	if (r < 0)
		return mhcl_fail(c, MHCL_CLI_USAGE, "--secret-file: %s", why);
	r = read_all(fd, buf, sizeof(buf), deadline);
	if (r == -ETIMEDOUT) {
		diag_secret_wipe(&secret);
		return mhcl_fail(c, MHCL_CLI_AUTH,
				 "no challenge from diag within %u ms (a diagd without "
				 "--secret-file does not ask; drop --secret-file)",
				 c->args->timeout_ms);
	}
	if (r < 0) {
		diag_secret_wipe(&secret);
		return io_fail(c, r, "waiting for the challenge");
	}
	r = diag_auth_challenge_parse(buf, sizeof(buf), &chal);
	if (r < 0) {
		diag_secret_wipe(&secret);
		return mhcl_fail(c, MHCL_CLI_AUTH, "diag sent no valid challenge: %s",
				 strerror(-r));
	}
	diag_auth_proof_make(&secret, &chal, &proof);
	diag_secret_wipe(&secret);
	r = write_all(fd, (const uint8_t *)&proof, sizeof(proof), deadline);
	if (r < 0)
		return io_fail(c, r, "answering the challenge");
	r = read_all(fd, buf, sizeof(struct diag_auth_verdict), deadline);
	if (r == -EPIPE || r == -ECONNRESET)
		return mhcl_fail(c, MHCL_CLI_AUTH, "diag closed the connection on our proof");
	if (r < 0)
		return io_fail(c, r, "waiting for the verdict");
	if (diag_auth_verdict_parse(buf, sizeof(struct diag_auth_verdict), &status) < 0)
		return mhcl_fail(c, MHCL_CLI_AUTH, "diag sent no valid verdict");
	if (status != DIAG_AUTH_ACCEPTED)
		return mhcl_fail(c, MHCL_CLI_AUTH, "diag refused the secret (wrong secret file?)");
	return MHCL_CLI_OK;
}

/* Maps an error response from the remote to an exit code and prints it. */
static int remote_error(struct mhcl_ctx *c, const uint8_t *body, size_t len)
{
	Mhcl__ErrorReply *e;
	int code, err;

	if (ipc_body_unpack(&mhcl__error_reply__descriptor, body, len, IPC_DECODE_DEPTH_MAX,
			    (ProtobufCMessage **)&e) < 0)
		return mhcl_fail(c, MHCL_CLI_REMOTE, "remote error (undecodable)");
	err = e->errno_code < 0 ? -e->errno_code : e->errno_code;
	code = err == ENOENT	  ? MHCL_CLI_NO_SERVER
	       : err == ETIMEDOUT ? MHCL_CLI_TIMEOUT
				  : MHCL_CLI_REMOTE;
	if (e->message && e->message[0])
		mhcl_fail(c, code, "%s (%s)", e->message, err ? strerror(err) : "error");
	else
		mhcl_fail(c, code, "%s", err ? strerror(err) : "remote error");
	mhcl__error_reply__free_unpacked(e, NULL);
	return code;
}

int mhcl_call(struct mhcl_ctx *c, uint16_t type, const ProtobufCMessage *req,
	      const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **ret_reply)
{
	uint64_t deadline;
	struct ipc_frame_hdr hdr;
	size_t len;
	uint32_t id;
	ProtobufCMessage *reply;
	int r;

	r = mhcl_connect(c);
	if (r != MHCL_CLI_OK)
		return r;
	deadline = now_ms() + c->args->timeout_ms;

	len = req ? protobuf_c_message_get_packed_size(req) : 0;
	if (len > IPC_BODY_MAX)
		return mhcl_fail(c, MHCL_CLI_USAGE, "request too large");
	if (req)
		protobuf_c_message_pack(req, send_buf + sizeof(hdr));
	id = ++c->next_id;
	if (id == 0)
		id = ++c->next_id;
	ipc_frame_encode(&hdr, type, IPC_F_REQUEST, id, (uint32_t)len, 0);
	memcpy(send_buf, &hdr, sizeof(hdr));
	r = write_all(c->fd, send_buf, sizeof(hdr) + len, deadline);
	if (r < 0)
		return io_fail(c, r, "sending the request");

	r = read_all(c->fd, recv_buf, sizeof(hdr), deadline);
	if (r < 0)
		return io_fail(c, r, "waiting for the reply");
	/* A diagd with a secret speaks first; we sent a request instead. */
	if (diag_auth_is_challenge(recv_buf, sizeof(hdr)))
		return mhcl_fail(c, MHCL_CLI_AUTH,
				 "diag requires authentication: give --secret-file PATH or set "
				 "$MHCL_DIAG_SECRET_FILE");
	/* The header alone: validates it, -EAGAIN means a body follows. */
	r = ipc_frame_decode(recv_buf, sizeof(hdr), 0, true, &hdr);
	if (r < 0 && r != -EAGAIN)
		return mhcl_fail(c, MHCL_CLI_REMOTE, "bad reply frame: %s", strerror(-r));
	memcpy(&hdr, recv_buf, sizeof(hdr));
	if (hdr.body_len > IPC_BODY_MAX)
		return mhcl_fail(c, MHCL_CLI_REMOTE, "bad reply frame: body too large");
	r = read_all(c->fd, recv_buf + sizeof(hdr), hdr.body_len, deadline);
	if (r < 0)
		return io_fail(c, r, "reading the reply");
	r = ipc_frame_decode(recv_buf, sizeof(hdr) + hdr.body_len, 0, true, &hdr);
	if (r < 0)
		return mhcl_fail(c, MHCL_CLI_REMOTE, "bad reply frame: %s", strerror(-r));
	if (!(hdr.flags & IPC_F_RESPONSE) || hdr.request_id != id)
		return mhcl_fail(c, MHCL_CLI_REMOTE, "reply does not answer request %u", id);
	if (hdr.flags & IPC_F_ERROR)
		return remote_error(c, recv_buf + sizeof(hdr), hdr.body_len);
	if (hdr.type != type)
		return mhcl_fail(c, MHCL_CLI_REMOTE, "reply of type %u to a request of type %u",
				 hdr.type, type);
	/* Inspect trees nest and protobuf-c recurses per level: bounded on the wire first. */
	r = ipc_body_unpack(reply_desc, recv_buf + sizeof(hdr), hdr.body_len, IPC_DECODE_DEPTH_MAX,
			    &reply);
	if (r < 0)
		return mhcl_fail(c, MHCL_CLI_REMOTE, "reply refused: %s", ipc_body_strerror(r));
	*ret_reply = reply;
	return MHCL_CLI_OK;
}
