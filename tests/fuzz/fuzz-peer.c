/* SPDX-License-Identifier: MIT */
#include "fuzz-peer.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.pb-c.h"
#include "ipc.h"

int fuzz_peer_send(int sock, uint16_t type, uint16_t flags, uint32_t id, const void *body,
		   size_t len, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int) * FUZZ_PEER_FDS_MAX)];
	} cbuf;
	struct ipc_frame_hdr h;
	struct iovec iov[2] = {{.iov_base = &h, .iov_len = sizeof(h)},
			       {.iov_base = (void *)body, .iov_len = len}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};

	CHECK(nfds <= FUZZ_PEER_FDS_MAX);
	ipc_frame_encode(&h, type, flags, id, (uint32_t)len, (uint16_t)nfds);
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
	return sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 ? -errno : 0;
}

int fuzz_peer_recv(int sock, struct fuzz_frame *f)
{
	static uint8_t pkt[sizeof(struct ipc_frame_hdr) + IPC_BODY_MAX];
	union {
		struct cmsghdr hdr;
		uint8_t buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
	} cbuf;
	struct iovec iov = {.iov_base = pkt, .iov_len = sizeof(pkt)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	do {
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0)
		return -EPIPE;
	CHECK(!(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)));
	f->nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t j = 0; j < k; j++) {
			CHECK(f->nfds < FUZZ_PEER_FDS_MAX);
			memcpy(&f->fds[f->nfds++], CMSG_DATA(c) + j * sizeof(int), sizeof(int));
		}
	}
	CHECK(ipc_frame_decode(pkt, (size_t)n, f->nfds, false, &f->h) == 0);
	f->body = pkt + sizeof(f->h);
	if ((f->h.flags & IPC_F_RESPONSE) && (f->h.flags & IPC_F_ERROR)) {
		Mhcl__ErrorReply *e = mhcl__error_reply__unpack(NULL, f->h.body_len, f->body);
		CHECK(e);
		CHECK(e->errno_code > 0 && e->errno_code <= 4095);
		CHECK(e->message && e->message[0]);
		mhcl__error_reply__free_unpacked(e, NULL);
	}
	return 1;
}

void fuzz_frame_close_fds(struct fuzz_frame *f)
{
	for (size_t i = 0; i < f->nfds; i++)
		if (f->fds[i] >= 0)
			close(f->fds[i]);
	f->nfds = 0;
}

int fuzz_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}
